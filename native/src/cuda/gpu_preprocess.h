// Host side of the GPU pre-processing and box drawing: computes the resize taps exactly as the CPU
// preprocess does (preprocess.cc), keeps them on the device while the frame size and spec stay the
// same, and launches the kernels on a caller's stream. Device buffers grow once, never per frame.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "cuda/kernels.h"
#include "osd.h"
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

// Box outlines on the GPU (labels are drawn by the CPU osd).
class GpuBoxDrawer {
 public:
  GpuBoxDrawer() = default;
  ~GpuBoxDrawer();
  GpuBoxDrawer(const GpuBoxDrawer&) = delete;
  GpuBoxDrawer& operator=(const GpuBoxDrawer&) = delete;

  // Same geometry, thickness and colours as trtd::drawBoxes (osd.cc) without the labels.
  void draw(uint8_t* devImage, int width, int height, size_t pitch, int channels, const std::vector<DrawBox>& boxes,
            cudaStream_t stream);

 private:
  DeviceBox* devBoxes_ = nullptr;
  DeviceBox* hostBoxes_ = nullptr;  // pinned staging
  size_t capacity_ = 0;
};

// Throws std::runtime_error("<what>: <CUDA error string>") when err is not cudaSuccess.
void check(cudaError_t err, const char* what);

}  // namespace cuda
}  // namespace trtd
