// Node-API bindings of the TensorRT backend, registered by addon.cc as `exports.tensorrt` when the
// addon is built with TensorRT.
#pragma once

#include <napi.h>

namespace trtd {
namespace trt {

// exports.tensorrt = { deviceInfo(), inspectOnnx(path), buildEngine(options, onProgress?), openEngine(path),
//                      infer(handle, frame, width, height, spec, outputs), closeEngine(handle) }
void registerTensorRt(Napi::Env env, Napi::Object exports);

}  // namespace trt
}  // namespace trtd
