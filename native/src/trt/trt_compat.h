// TensorRT version switches. One code path where the APIs agree; the differences are:
//   TRTD_NAMED_TENSORS  8.5+: named I/O tensors, setTensorAddress, enqueueV3 (8.2: bindings, enqueueV2)
//   TRTD_MEMORY_POOLS   8.4+: setMemoryPoolLimit (8.2: setMaxWorkspaceSize)
//   TRTD_PROGRESS       10.0+: IProgressMonitor (8.x: a heartbeat from the builder's log)
//   TRTD_IMPLICIT_BATCH <10: engines with an implicit batch dimension exist (TAO/tlt-converter SSD
//                       engines with the NMS plugin on JetPack 4.6); they run with enqueue(1, ...)
#pragma once

// The version first: headers of a TensorRT this code is not written for end the compilation with
// one message (the #error, and the missing include after it stops the compiler), not with a wall
// of template errors from the API differences. CMake (tensorrt.cmake) refuses them before that.
#include <NvInferVersion.h>
#if NV_TENSORRT_MAJOR < 8 || NV_TENSORRT_MAJOR >= 11
// one line, so that the compiler prints the whole message as it is
// clang-format off
#error "trt-detect supports TensorRT 8.0 to 10.x (JetPack 4.6: 8.2); these NvInferVersion.h headers are another major version: build against TensorRT 8-10, or without the TensorRT backend (-DTRT_DETECT_TENSORRT=OFF)"
#include <trt-detect-stops-here/unsupported-tensorrt-version>
// clang-format on
#endif

#include <NvInfer.h>

#if NV_TENSORRT_MAJOR > 8 || (NV_TENSORRT_MAJOR == 8 && NV_TENSORRT_MINOR >= 5)
#define TRTD_NAMED_TENSORS 1
#else
#define TRTD_NAMED_TENSORS 0
#endif

#if NV_TENSORRT_MAJOR > 8 || (NV_TENSORRT_MAJOR == 8 && NV_TENSORRT_MINOR >= 4)
#define TRTD_MEMORY_POOLS 1
#else
#define TRTD_MEMORY_POOLS 0
#endif

#if NV_TENSORRT_MAJOR >= 10
#define TRTD_PROGRESS 1
#define TRTD_IMPLICIT_BATCH 0
#else
#define TRTD_PROGRESS 0
#define TRTD_IMPLICIT_BATCH 1
#endif

// Calls to APIs deprecated in newer TensorRT that we still need for older engines/versions.
#if defined(__GNUC__)
#define TRTD_ALLOW_DEPRECATED_BEGIN \
  _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wdeprecated-declarations\"")
#define TRTD_ALLOW_DEPRECATED_END _Pragma("GCC diagnostic pop")
#else
#define TRTD_ALLOW_DEPRECATED_BEGIN
#define TRTD_ALLOW_DEPRECATED_END
#endif

#include <memory>
#include <string>

namespace trtd {
namespace trt {

// TensorRT 8.0+ objects have public destructors: std::unique_ptr's default delete works for 8.x and 10.
template <typename T>
using Ptr = std::unique_ptr<T>;

// "8.2.1" from the headers this was compiled with.
inline std::string compiledVersion() {
  return std::to_string(NV_TENSORRT_MAJOR) + "." + std::to_string(NV_TENSORRT_MINOR) + "." +
         std::to_string(NV_TENSORRT_PATCH);
}

}  // namespace trt
}  // namespace trtd
