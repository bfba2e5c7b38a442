# CMake toolchain file: cross-compiles the addon for linux-arm64 (aarch64) on an x86-64 host.
#
#   npm run build:arm64     (= cmake-js compile -d native -O build/native-arm64 -a arm64
#                               --CDCMAKE_TOOLCHAIN_FILE=<this file> ...)
#   -> build/native-arm64/Release/trt_detect.node
#
# Debian/Ubuntu: apt-get install g++-aarch64-linux-gnu libc6-dev-arm64-cross
# Node-API headers are the same for every architecture, so the host's node-addon-api and
# node-api-headers are used as they are. Only the CPU core is built: the TensorRT, CUDA and GStreamer
# parts need the Jetson's own SDKs and are built on the device (see README, Jetson Nano).
#
# Overrides (environment variables, read on every configure):
#   TRT_DETECT_CROSS_PREFIX  compiler prefix, default "aarch64-linux-gnu-" (e.g. a Linaro GCC 7's
#                            full path prefix, to match JetPack 4.6's compiler)
#   TRT_DETECT_SYSROOT       target root for headers/libraries, default /usr/aarch64-linux-gnu
#                            (Debian's cross libc); a copy of a Jetson's rootfs also works
#
# The result needs the glibc and libstdc++ of the toolchain it was built with (Debian 12: glibc
# 2.36, GCC 12), newer than JetPack 4.6's (glibc 2.27, GCC 7). It is for checking the arm64 build
# and running it on a current arm64 distribution or under qemu (test/platform/arm64.test.ts); on a
# Jetson Nano the addon is built on the device itself (README, Jetson Nano).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(_trt_prefix "aarch64-linux-gnu-")
if(DEFINED ENV{TRT_DETECT_CROSS_PREFIX} AND NOT "$ENV{TRT_DETECT_CROSS_PREFIX}" STREQUAL "")
  set(_trt_prefix "$ENV{TRT_DETECT_CROSS_PREFIX}")
endif()
set(_trt_sysroot "/usr/aarch64-linux-gnu")
if(DEFINED ENV{TRT_DETECT_SYSROOT} AND NOT "$ENV{TRT_DETECT_SYSROOT}" STREQUAL "")
  set(_trt_sysroot "$ENV{TRT_DETECT_SYSROOT}")
endif()

find_program(_trt_cxx NAMES ${_trt_prefix}g++ NO_CMAKE_FIND_ROOT_PATH)
find_program(_trt_cc NAMES ${_trt_prefix}gcc NO_CMAKE_FIND_ROOT_PATH)
if(NOT _trt_cxx OR NOT _trt_cc)
  message(FATAL_ERROR
    "aarch64 cross compiler ${_trt_prefix}g++ not found: install it with "
    "'apt-get install g++-aarch64-linux-gnu libc6-dev-arm64-cross' "
    "(or set TRT_DETECT_CROSS_PREFIX to another aarch64 toolchain's prefix)")
endif()
if(NOT EXISTS "${_trt_sysroot}")
  message(FATAL_ERROR
    "aarch64 target root ${_trt_sysroot} not found: install libc6-dev-arm64-cross "
    "(or set TRT_DETECT_SYSROOT to an aarch64 root file system)")
endif()

set(CMAKE_C_COMPILER "${_trt_cc}")
set(CMAKE_CXX_COMPILER "${_trt_cxx}")

# Headers, libraries and CMake packages come from the target root only; programs (node for
# node-addon-api's include path, pkg-config) from the host.
set(CMAKE_FIND_ROOT_PATH "${_trt_sysroot}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config (GStreamer) must not hand the host's x86-64 libraries to the aarch64 link.
set(ENV{PKG_CONFIG_LIBDIR} "${_trt_sysroot}/lib/pkgconfig:${_trt_sysroot}/share/pkgconfig")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "")

# try_run and tests run under user-mode emulation when qemu is installed.
find_program(_trt_qemu NAMES qemu-aarch64-static qemu-aarch64 NO_CMAKE_FIND_ROOT_PATH)
if(_trt_qemu)
  set(CMAKE_CROSSCOMPILING_EMULATOR "${_trt_qemu};-L;${_trt_sysroot}")
endif()

