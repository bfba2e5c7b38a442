#include "cuda/gpu_preprocess.h"

#include <stdexcept>
#include <string>
#include <vector>

namespace trtd {
namespace cuda {

void check(cudaError_t err, const char* what) {
  if (err != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(err));
}

NormalizeParams normalizeParams(const PreprocessSpec& spec) {
  NormalizeParams p{};
  p.width = spec.width;
  p.height = spec.height;
  const ChannelNormalization n = channelNormalization(spec);
  for (int c = 0; c < 3; ++c) {
    p.gain[c] = n.gain[c];
    p.offset[c] = n.offset[c];
    p.srcChannel[c] = n.srcChannel[c];
    p.padValue[c] = n.padValue[c];
  }
  return p;
}

namespace {

bool sameSpec(const PreprocessSpec& a, const PreprocessSpec& b) {
  for (int c = 0; c < 3; ++c) {
    if (a.mean[c] != b.mean[c] || a.std[c] != b.std[c]) return false;
  }
  return a.width == b.width && a.height == b.height && a.color == b.color && a.resize == b.resize;
}

}  // namespace

GpuPreprocessor::~GpuPreprocessor() {
  if (devTaps_) cudaFree(devTaps_);
}

void GpuPreprocessor::prepare(int srcW, int srcH, const PreprocessSpec& spec) {
  if (prepared_ && srcW == srcW_ && srcH == srcH_ && sameSpec(spec, spec_)) return;
  transform_ = computeInputTransform(srcW, srcH, spec);
  std::vector<AxisTap> taps = resizeTaps(spec.width, srcW, transform_.scaleX, transform_.padX);
  const std::vector<AxisTap> ys = resizeTaps(spec.height, srcH, transform_.scaleY, transform_.padY);
  taps.insert(taps.end(), ys.begin(), ys.end());
  if (taps.size() > tapCapacity_) {
    if (devTaps_) cudaFree(devTaps_);
    devTaps_ = nullptr;
    tapCapacity_ = 0;
    check(cudaMalloc(reinterpret_cast<void**>(&devTaps_), taps.size() * sizeof(AxisTap)), "cudaMalloc (resize taps)");
    tapCapacity_ = taps.size();
  }
  // Rare (new frame size or spec): a synchronous copy keeps the host vector's lifetime simple.
  check(cudaMemcpy(devTaps_, taps.data(), taps.size() * sizeof(AxisTap), cudaMemcpyHostToDevice),
        "cudaMemcpy (resize taps)");
  params_ = normalizeParams(spec);
  srcW_ = srcW;
  srcH_ = srcH;
  spec_ = spec;
  prepared_ = true;
}

InputTransform GpuPreprocessor::run(const DeviceImage& src, const PreprocessSpec& spec, float* devOut,
                                    cudaStream_t stream) {
  if (src.width <= 0 || src.height <= 0 || spec.width <= 0 || spec.height <= 0) {
    throw std::runtime_error("GPU preprocess: empty frame or tensor size");
  }
  prepare(src.width, src.height, spec);
  check(launchPreprocess(src, devTaps_, devTaps_ + spec.width, params_, devOut, stream), "GPU preprocess kernel");
  return transform_;
}

}  // namespace cuda
}  // namespace trtd
