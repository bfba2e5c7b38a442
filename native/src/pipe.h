// An anonymous pipe for a child process's frame output, sized for frames.
#pragma once

#include <string>

namespace trtd {

struct PipeFds {
  int read = -1;
  int write = -1;
  int capacity = 0;  // bytes the pipe holds (what the kernel granted; 0 when unknown)
};

// pipe2 with close-on-exec on both ends (a child gets the write end through dup2, which clears the
// flag on its copy, so no other child inherits it), then asks the kernel for `capacityBytes` of
// buffer (Linux F_SETPIPE_SZ, capped at /proc/sys/fs/pipe-max-size; best effort: the default
// stays when refused). Returns an empty string on success, else what went wrong.
std::string openPipe(int capacityBytes, PipeFds* out);

}  // namespace trtd
