#include "notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

namespace trtd {

std::string sendNotify(const std::string& socketPath, const std::string& state) {
  sockaddr_un addr;
  std::memset(&addr, 0, sizeof(addr));
  addr.sun_family = AF_UNIX;
  if (socketPath.size() < 2 || (socketPath[0] != '/' && socketPath[0] != '@')) {
    return "NOTIFY_SOCKET \"" + socketPath + "\" is neither an absolute path nor an abstract '@' name";
  }
  if (socketPath.size() >= sizeof(addr.sun_path)) {
    return "NOTIFY_SOCKET \"" + socketPath + "\" is longer than a unix socket path may be";
  }
  std::memcpy(addr.sun_path, socketPath.data(), socketPath.size());
  if (socketPath[0] == '@') addr.sun_path[0] = '\0';  // abstract namespace
  const socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socketPath.size());

  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::string("socket(AF_UNIX) failed: ") + std::strerror(errno);
  const ssize_t sent = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr), len);
  const int err = errno;
  ::close(fd);
  if (sent < 0) return "sending to NOTIFY_SOCKET " + socketPath + " failed: " + std::strerror(err);
  if (static_cast<size_t>(sent) != state.size()) return "sending to NOTIFY_SOCKET " + socketPath + " was cut short";
  return std::string();
}

}  // namespace trtd
