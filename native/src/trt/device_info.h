// What the engine cache key and the precision decision need to know about this host:
// TensorRT version (compiled and loaded), GPU name, compute capability, fast FP16/INT8.
#pragma once

#include <cstddef>
#include <string>

namespace trtd {
namespace trt {

struct DeviceInfo {
  std::string tensorrtVersion;  // of the loaded libnvinfer ("8.2.1")
  std::string compiledVersion;  // of the headers the addon was built with
  int device = 0;
  std::string gpuName;  // "NVIDIA Tegra X1"
  int ccMajor = 0;
  int ccMinor = 0;
  size_t totalMemory = 0;
  bool fastFp16 = false;  // IBuilder::platformHasFastFp16
  bool fastInt8 = false;  // IBuilder::platformHasFastInt8
};

// Throws std::runtime_error with a one-line reason when there is no usable GPU.
DeviceInfo queryDevice();

// "8.2.1" from getInferLibVersion()'s number v (8.x: M*1000+m*100+p; 10.x: (M*100+m)*100+p).
std::string versionString(int v);

}  // namespace trt
}  // namespace trtd
