// sd_notify without libsystemd: one datagram to $NOTIFY_SOCKET.
#pragma once

#include <string>

namespace trtd {

// Sends `state` as one datagram to the unix socket `socketPath` (a filesystem path, or an abstract
// name written with a leading '@'). Returns an empty string on success, else what went wrong.
std::string sendNotify(const std::string& socketPath, const std::string& state);

}  // namespace trtd
