// Host side of the GPU pre-processing: computes the resize taps exactly as the CPU preprocess does
// (preprocess.cc), keeps them on the device while the frame size and spec stay the same, and
// launches the kernel on a caller's stream. Device buffers grow once, never per frame.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "cuda/kernels.h"
#include "preprocess.h"

namespace trtd {
namespace cuda {

// The tensor size and the CPU's channelNormalization() of a spec, for the kernel.
NormalizeParams normalizeParams(const PreprocessSpec& spec);

class GpuPreprocessor {
 public:
  GpuPreprocessor() = default;
  ~GpuPreprocessor();
  GpuPreprocessor(const GpuPreprocessor&) = delete;
  GpuPreprocessor& operator=(const GpuPreprocessor&) = delete;

  // Writes the 3 x spec.height x spec.width tensor to devOut (device) on `stream`; returns the
  // same transform the CPU preprocess returns. Throws std::runtime_error on a CUDA error.
  InputTransform run(const DeviceImage& src, const PreprocessSpec& spec, float* devOut, cudaStream_t stream);

 private:
  void prepare(int srcW, int srcH, const PreprocessSpec& spec);

  AxisTap* devTaps_ = nullptr;  // xs then ys
  size_t tapCapacity_ = 0;
  bool prepared_ = false;
  int srcW_ = 0, srcH_ = 0;
  PreprocessSpec spec_;
  InputTransform transform_;
  NormalizeParams params_{};
};

// Throws std::runtime_error("<what>: <CUDA error string>") when err is not cudaSuccess.
void check(cudaError_t err, const char* what);

}  // namespace cuda
}  // namespace trtd
