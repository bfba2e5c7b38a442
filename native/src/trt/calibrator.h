// INT8 entropy calibrator (IInt8EntropyCalibrator2). The daemon decodes and pre-processes the
// calibration images exactly as at inference time and hands over raw float32 NCHW tensor files
// (one image each, 3*H*W floats); this class feeds them to TensorRT one batch of 1 at a time.
// The calibration cache is TensorRT's own format, read and written unchanged, so a TAO `cal.bin`
// works as a cache and a cache written here works with trtexec/tao-converter.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <string>
#include <vector>

#include "trt/trt_compat.h"

namespace trtd {
namespace trt {

class EntropyCalibrator : public nvinfer1::IInt8EntropyCalibrator2 {
 public:
  // inputFloats: 3*H*W of the network input; files: tensor files (may be empty when the cache
  // exists); cachePath: read when it exists, written after calibration ("" = no cache).
  EntropyCalibrator(std::vector<std::string> files, size_t inputFloats, std::string cachePath);
  ~EntropyCalibrator() override;
  EntropyCalibrator(const EntropyCalibrator&) = delete;
  EntropyCalibrator& operator=(const EntropyCalibrator&) = delete;

  int32_t getBatchSize() const noexcept override { return 1; }
  bool getBatch(void* bindings[], char const* names[], int32_t nbBindings) noexcept override;
  void const* readCalibrationCache(std::size_t& length) noexcept override;
  void writeCalibrationCache(void const* ptr, std::size_t length) noexcept override;

  size_t batchesRead() const { return next_; }
  // First problem met while feeding batches (empty when none): the build fails.
  const std::string& error() const { return error_; }
  // The cache could not be written (empty when fine): the engine is still good, a warning.
  const std::string& cacheError() const { return cacheError_; }

 private:
  std::vector<std::string> files_;
  size_t inputFloats_;
  std::string cachePath_;
  size_t next_ = 0;
  float* host_ = nullptr;   // pinned
  void* device_ = nullptr;  // one input tensor
  std::vector<char> cache_;
  std::string error_;
  std::string cacheError_;
};

}  // namespace trt
}  // namespace trtd
