#include "appearance.h"

#include <algorithm>
#include <cmath>

namespace trtd {

namespace {

// Bin of a value in lo..hi (luma 16..235, chroma 16..240), values outside clamped to the end bins.
inline int binOf(int value, int lo, int hi, int bins) {
  const int b = (value - lo) * bins / (hi - lo + 1);
  return b < 0 ? 0 : (b >= bins ? bins - 1 : b);
}

// The bins of each byte value as a part of the joint bin: luma bin * chroma bins^2, U bin *
// chroma bins, V bin (a table: no division per sample).
struct BinTables {
  uint8_t y[256], u[256], v[256];
  BinTables() {
    for (int i = 0; i < 256; ++i) {
      y[i] =
          static_cast<uint8_t>(binOf(i, 16, 235, kAppearanceLumaBins) * kAppearanceChromaBins * kAppearanceChromaBins);
      u[i] = static_cast<uint8_t>(binOf(i, 16, 240, kAppearanceChromaBins) * kAppearanceChromaBins);
      v[i] = static_cast<uint8_t>(binOf(i, 16, 240, kAppearanceChromaBins));
    }
  }
};
const BinTables kBins;

// The joint bin of a BT.601 limited-range Y, U, V triple.
inline int yuvBin(uint8_t y, uint8_t u, uint8_t v) { return kBins.y[y] + kBins.u[u] + kBins.v[v]; }

// Reads the frame's pixels as joint Y/U/V bins (I420 as it is, RGB converted as frame_format.h does).
class BinReader {
 public:
  BinReader(const uint8_t* pixels, int width, int height, FrameFormat format)
      : pixels_(pixels), width_(width), format_(format), planes_(i420Planes(pixels, width, height)) {}

  int at(int x, int y) const {
    if (format_ == FrameFormat::I420) {
      const size_t c = static_cast<size_t>(y / 2) * planes_.chromaWidth + static_cast<size_t>(x / 2);
      return yuvBin(planes_.y[static_cast<size_t>(y) * width_ + x], planes_.u[c], planes_.v[c]);
    }
    const uint8_t* px = pixels_ + (static_cast<size_t>(y) * width_ + x) * packedBytesPerPixel(format_);
    uint8_t yuv[3];
    rgbToYuv(px[0], px[1], px[2], yuv);
    return yuvBin(yuv[0], yuv[1], yuv[2]);
  }

 private:
  const uint8_t* pixels_;
  int width_;
  FrameFormat format_;
  I420Planes planes_;
};

}  // namespace

std::vector<float> appearanceFeatures(const uint8_t* pixels, int width, int height, FrameFormat format,
                                      const std::vector<RawDetection>& boxes) {
  constexpr int kStripeBins = kAppearanceLumaBins * kAppearanceChromaBins * kAppearanceChromaBins;
  std::vector<float> out(boxes.size() * kAppearanceDims, 0.f);
  const float stripeScale = 1.f / std::sqrt(static_cast<float>(kAppearanceStripes));
  const BinReader reader(pixels, width, height, format);
  int columns[kAppearanceSamples];
  for (size_t i = 0; i < boxes.size(); ++i) {
    const RawDetection& b = boxes[i];
    const double bw = b.x2 - b.x1;
    const double bh = b.y2 - b.y1;
    // inner part: 20% off each side, 10% off the top and 5% off the bottom
    const int x0 = std::max(0, static_cast<int>(std::floor(b.x1 + 0.2 * bw)));
    const int x1 = std::min(width, static_cast<int>(std::ceil(b.x2 - 0.2 * bw)));
    const int y0 = std::max(0, static_cast<int>(std::floor(b.y1 + 0.1 * bh)));
    const int y1 = std::min(height, static_cast<int>(std::ceil(b.y2 - 0.05 * bh)));
    if (x1 <= x0 || y1 <= y0) continue;
    // the sample points: the centres of nx (ny) equal cells across the inner part (its stripe)
    const int nx = std::min(kAppearanceSamples, x1 - x0);
    for (int c = 0; c < nx; ++c)
      columns[c] = x0 + static_cast<int>((static_cast<long>(2 * c + 1) * (x1 - x0)) / (2L * nx));
    float* feature = &out[i * kAppearanceDims];
    for (int s = 0; s < kAppearanceStripes; ++s) {
      const int sy0 = y0 + (y1 - y0) * s / kAppearanceStripes;
      const int sy1 = y0 + (y1 - y0) * (s + 1) / kAppearanceStripes;
      if (sy1 <= sy0) continue;
      const int ny = std::min(kAppearanceSamples, sy1 - sy0);
      int counts[kStripeBins] = {0};
      for (int r = 0; r < ny; ++r) {
        const int y = sy0 + static_cast<int>((static_cast<long>(2 * r + 1) * (sy1 - sy0)) / (2L * ny));
        for (int c = 0; c < nx; ++c) ++counts[reader.at(columns[c], y)];
      }
      float* hist = feature + static_cast<std::ptrdiff_t>(s) * kStripeBins;
      const float total = static_cast<float>(nx * ny);
      for (int k = 0; k < kStripeBins; ++k)
        hist[k] = counts[k] ? std::sqrt(static_cast<float>(counts[k]) / total) * stripeScale : 0.f;
    }
  }
  return out;
}

}  // namespace trtd
