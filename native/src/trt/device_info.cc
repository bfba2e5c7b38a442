#include "trt/device_info.h"

#include <cuda_runtime_api.h>

#include <stdexcept>

#include "trt/logger.h"
#include "trt/trt_compat.h"

namespace trtd {
namespace trt {

std::string versionString(int v) {
  int major, minor, patch;
  if (v < 10000) {
    major = v / 1000;
    minor = (v / 100) % 10;
    patch = v % 100;
  } else {
    major = v / 10000;
    minor = (v / 100) % 100;
    patch = v % 100;
  }
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

DeviceInfo queryDevice() {
  DeviceInfo info;
  info.tensorrtVersion = versionString(getInferLibVersion());
  info.compiledVersion = compiledVersion();
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess || count == 0) {
    throw std::runtime_error(std::string("no CUDA GPU available (") +
                             (err != cudaSuccess ? cudaGetErrorString(err) : "0 devices") +
                             "): TensorRT needs the GPU; check the NVIDIA driver / JetPack install and that the user "
                             "may open /dev/nvhost-* or /dev/nvidia*");
  }
  if (cudaGetDevice(&info.device) != cudaSuccess) info.device = 0;
  cudaDeviceProp prop;
  if (cudaGetDeviceProperties(&prop, info.device) != cudaSuccess)
    throw std::runtime_error("cannot read the GPU's properties");
  info.gpuName = prop.name;
  info.ccMajor = prop.major;
  info.ccMinor = prop.minor;
  info.totalMemory = prop.totalGlobalMem;
  Ptr<nvinfer1::IBuilder> builder(nvinfer1::createInferBuilder(logger()));
  if (!builder) throw std::runtime_error("TensorRT could not create a builder: " + logger().takeLastError());
  TRTD_ALLOW_DEPRECATED_BEGIN
  info.fastFp16 = builder->platformHasFastFp16();
  info.fastInt8 = builder->platformHasFastInt8();
  TRTD_ALLOW_DEPRECATED_END
  return info;
}

}  // namespace trt
}  // namespace trtd
