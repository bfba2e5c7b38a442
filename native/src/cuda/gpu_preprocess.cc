#include "cuda/gpu_preprocess.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

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
  return a.width == b.width && a.height == b.height && a.color == b.color && a.resize == b.resize &&
         std::memcmp(a.mean, b.mean, sizeof(a.mean)) == 0 && std::memcmp(a.std, b.std, sizeof(a.std)) == 0;
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
  check(cudaMemcpy(devTaps_, taps.data(), taps.size() * sizeof(AxisTap), cudaMemcpyHostToDevice), "cudaMemcpy (resize taps)");
  params_ = normalizeParams(spec);
  srcW_ = srcW;
  srcH_ = srcH;
  spec_ = spec;
  prepared_ = true;
}

InputTransform GpuPreprocessor::run(const DeviceImage& src, const PreprocessSpec& spec, float* devOut, cudaStream_t stream) {
  if (src.width <= 0 || src.height <= 0 || spec.width <= 0 || spec.height <= 0) {
    throw std::runtime_error("GPU preprocess: empty frame or tensor size");
  }
  prepare(src.width, src.height, spec);
  check(launchPreprocess(src, devTaps_, devTaps_ + spec.width, params_, devOut, stream), "GPU preprocess kernel");
  return transform_;
}

GpuBoxDrawer::~GpuBoxDrawer() {
  if (devBoxes_) cudaFree(devBoxes_);
  if (hostBoxes_) cudaFreeHost(hostBoxes_);
}

void GpuBoxDrawer::draw(uint8_t* devImage, int width, int height, size_t pitch, int channels,
                        const std::vector<DrawBox>& boxes, cudaStream_t stream) {
  if (boxes.empty()) return;
  if (boxes.size() > capacity_) {
    // Before growing, the previous launch must be done with the old staging buffer.
    check(cudaStreamSynchronize(stream), "cudaStreamSynchronize (box drawing)");
    if (devBoxes_) cudaFree(devBoxes_);
    if (hostBoxes_) cudaFreeHost(hostBoxes_);
    devBoxes_ = nullptr;
    hostBoxes_ = nullptr;
    capacity_ = 0;
    const size_t cap = std::max<size_t>(64, boxes.size());
    check(cudaMalloc(reinterpret_cast<void**>(&devBoxes_), cap * sizeof(DeviceBox)), "cudaMalloc (boxes)");
    check(cudaMallocHost(reinterpret_cast<void**>(&hostBoxes_), cap * sizeof(DeviceBox)), "cudaMallocHost (boxes)");
    capacity_ = cap;
  }
  const OsdStyle style = osdStyleFor(width, height);
  int n = 0;
  for (const DrawBox& b : boxes) {
    if (!std::isfinite(b.x1) || !std::isfinite(b.y1) || !std::isfinite(b.x2) || !std::isfinite(b.y2)) continue;
    const double lo = -1e6, hi = 1e6;  // as osd.cc: clamp before the int conversion
    DeviceBox d{};
    d.left = std::max(static_cast<int>(std::floor(std::min(std::max(std::min(b.x1, b.x2), lo), hi))), 0);
    d.right = std::min(static_cast<int>(std::ceil(std::min(std::max(std::max(b.x1, b.x2), lo), hi))), width);
    d.top = std::max(static_cast<int>(std::floor(std::min(std::max(std::min(b.y1, b.y2), lo), hi))), 0);
    d.bottom = std::min(static_cast<int>(std::ceil(std::min(std::max(std::max(b.y1, b.y2), lo), hi))), height);
    if (d.right <= d.left || d.bottom <= d.top) continue;
    d.thickness = style.thickness;
    const Rgb c = classColour(b.classId);
    d.r = c.r;
    d.g = c.g;
    d.b = c.b;
    hostBoxes_[n++] = d;
  }
  if (n == 0) return;
  check(cudaMemcpyAsync(devBoxes_, hostBoxes_, static_cast<size_t>(n) * sizeof(DeviceBox), cudaMemcpyHostToDevice, stream),
        "cudaMemcpyAsync (boxes)");
  check(launchDrawBoxes(devImage, width, height, pitch, channels, devBoxes_, n, stream), "GPU box drawing kernel");
}

}  // namespace cuda
}  // namespace trtd
