#include "pipe.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace trtd {

namespace {

// The most an unprivileged process may ask for (1 MiB by default).
int pipeMaxSize() {
  int value = 1 << 20;
  if (FILE* f = std::fopen("/proc/sys/fs/pipe-max-size", "r")) {
    int v = 0;
    if (std::fscanf(f, "%d", &v) == 1 && v > 0) value = v;
    std::fclose(f);
  }
  return value;
}

}  // namespace

std::string openPipe(int capacityBytes, PipeFds* out) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return std::string("pipe2 failed: ") + std::strerror(errno);
  out->read = fds[0];
  out->write = fds[1];
  out->capacity = 0;
#ifdef F_SETPIPE_SZ
  if (capacityBytes > 0) {
    const int most = pipeMaxSize();
    const int want = capacityBytes < most ? capacityBytes : most;
    ::fcntl(fds[1], F_SETPIPE_SZ, want);  // refused: the default size stays
  }
#else
  (void)capacityBytes;
#endif
#ifdef F_GETPIPE_SZ
  const int size = ::fcntl(fds[1], F_GETPIPE_SZ);
  if (size > 0) out->capacity = size;
#endif
  return std::string();
}

}  // namespace trtd
