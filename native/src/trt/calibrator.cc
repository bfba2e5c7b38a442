#include "trt/calibrator.h"

#include <cstdio>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <utility>

#include <unistd.h>

namespace trtd {
namespace trt {

EntropyCalibrator::EntropyCalibrator(std::vector<std::string> files, size_t inputFloats, std::string cachePath)
    : files_(std::move(files)), inputFloats_(inputFloats), cachePath_(std::move(cachePath)) {}

EntropyCalibrator::~EntropyCalibrator() {
  if (host_) cudaFreeHost(host_);
  if (device_) cudaFree(device_);
}

bool EntropyCalibrator::getBatch(void* bindings[], char const* names[], int32_t nbBindings) noexcept {
  (void)names;
  if (next_ >= files_.size() || nbBindings < 1 || !error_.empty()) return false;
  const size_t bytes = inputFloats_ * sizeof(float);
  if (!host_ && cudaMallocHost(reinterpret_cast<void**>(&host_), bytes) != cudaSuccess) {
    error_ = "calibration: cannot allocate pinned host memory";
    return false;
  }
  if (!device_ && cudaMalloc(&device_, bytes) != cudaSuccess) {
    error_ = "calibration: cannot allocate device memory";
    return false;
  }
  const std::string& file = files_[next_++];
  std::FILE* f = std::fopen(file.c_str(), "rb");
  if (!f) {
    error_ = "calibration: cannot read " + file;
    return false;
  }
  const size_t got = std::fread(host_, 1, bytes, f);
  const bool extra = std::fgetc(f) != EOF;
  std::fclose(f);
  if (got != bytes || extra) {
    error_ = "calibration: " + file + " is not a " + std::to_string(bytes) + "-byte input tensor";
    return false;
  }
  if (cudaMemcpy(device_, host_, bytes, cudaMemcpyHostToDevice) != cudaSuccess) {
    error_ = "calibration: copy to the GPU failed";
    return false;
  }
  bindings[0] = device_;
  return true;
}

void const* EntropyCalibrator::readCalibrationCache(std::size_t& length) noexcept {
  length = 0;
  if (cachePath_.empty()) return nullptr;
  try {
    std::ifstream in(cachePath_, std::ios::binary);
    if (!in) return nullptr;
    cache_.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  } catch (...) {
    return nullptr;
  }
  length = cache_.size();
  return cache_.empty() ? nullptr : cache_.data();
}

void EntropyCalibrator::writeCalibrationCache(void const* ptr, std::size_t length) noexcept {
  if (cachePath_.empty() || !ptr) return;
  try {
    const std::string tmp = cachePath_ + ".tmp." + std::to_string(::getpid());
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out.write(static_cast<const char*>(ptr), static_cast<std::streamsize>(length));
      if (!out) throw std::runtime_error("write");
    }
    if (std::rename(tmp.c_str(), cachePath_.c_str()) != 0) throw std::runtime_error("rename");
  } catch (...) {
    cacheError_ = "calibration: cannot write the cache " + cachePath_ + " (check the folder exists and is writable)";
  }
}

}  // namespace trt
}  // namespace trtd
