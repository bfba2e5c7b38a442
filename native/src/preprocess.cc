#include "preprocess.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace trtd {

InputTransform computeInputTransform(int srcW, int srcH, const PreprocessSpec& spec) {
  InputTransform t;
  if (spec.resize == ResizeMode::Stretch) {
    t.scaleX = static_cast<double>(spec.width) / srcW;
    t.scaleY = static_cast<double>(spec.height) / srcH;
    return t;
  }
  const double s = std::min(static_cast<double>(spec.width) / srcW, static_cast<double>(spec.height) / srcH);
  const int newW = std::max(1, std::min(spec.width, static_cast<int>(std::lround(srcW * s))));
  const int newH = std::max(1, std::min(spec.height, static_cast<int>(std::lround(srcH * s))));
  t.scaleX = static_cast<double>(newW) / srcW;
  t.scaleY = static_cast<double>(newH) / srcH;
  const int padX = (spec.width - newW) / 2;  // whole pixels: the image starts on a pixel boundary
  const int padY = (spec.height - newH) / 2;
  t.padX = padX;
  t.padY = padY;
  return t;
}

std::vector<ResizeTap> resizeTaps(int outLen, int srcLen, double scale, double pad) {
  std::vector<ResizeTap> taps(static_cast<size_t>(outLen));
  const int begin = static_cast<int>(pad);
  const int end = begin + static_cast<int>(std::lround(srcLen * scale));
  for (int o = 0; o < outLen; ++o) {
    ResizeTap& tap = taps[static_cast<size_t>(o)];
    tap.inside = o >= begin && o < end ? 1 : 0;
    double pos = (o - pad + 0.5) / scale - 0.5;
    pos = std::min(std::max(pos, 0.0), static_cast<double>(srcLen - 1));
    tap.i0 = static_cast<int>(std::floor(pos));
    tap.i1 = std::min(tap.i0 + 1, srcLen - 1);
    tap.w1 = static_cast<float>(pos - tap.i0);
  }
  return taps;
}

ChannelNormalization channelNormalization(const PreprocessSpec& spec) {
  ChannelNormalization n{};
  for (int c = 0; c < 3; ++c) {
    n.gain[c] = 1.0f / (255.0f * spec.std[c]);
    n.offset[c] = -spec.mean[c] / spec.std[c];
    n.srcChannel[c] = spec.color == ChannelOrder::Rgb ? c : 2 - c;
    n.padValue[c] = (kLetterboxPadValue / 255.0f - spec.mean[c]) / spec.std[c];
  }
  return n;
}

namespace {

// Blends the four taps of one output pixel, per channel, in the kernels' order.
inline float blend(float p00, float p01, float p10, float p11, float wx0, float wx1, float wy0, float wy1) {
  const float top = p00 * wx0 + p01 * wx1;
  const float bottom = p10 * wx0 + p11 * wx1;
  return top * wy0 + bottom * wy1;
}

// RGB24/RGBA: the taps' bytes blended per channel.
class PackedSampler {
 public:
  PackedSampler(const uint8_t* src, int width, int bytesPerPixel)
      : src_(src), bpp_(static_cast<size_t>(bytesPerPixel)), stride_(static_cast<size_t>(width) * bpp_) {}
  void select(int row0, int row1) {
    r0_ = src_ + static_cast<size_t>(row0) * stride_;
    r1_ = src_ + static_cast<size_t>(row1) * stride_;
  }
  void sample(const ResizeTap& tx, float wy0, float wy1, float* rgb) const {
    const uint8_t* p00 = r0_ + static_cast<size_t>(tx.i0) * bpp_;
    const uint8_t* p01 = r0_ + static_cast<size_t>(tx.i1) * bpp_;
    const uint8_t* p10 = r1_ + static_cast<size_t>(tx.i0) * bpp_;
    const uint8_t* p11 = r1_ + static_cast<size_t>(tx.i1) * bpp_;
    const float wx1 = tx.w1;
    const float wx0 = 1.0f - wx1;
    for (int k = 0; k < 3; ++k) rgb[k] = blend(p00[k], p01[k], p10[k], p11[k], wx0, wx1, wy0, wy1);
  }

 private:
  const uint8_t* src_;
  size_t bpp_;
  size_t stride_;
  const uint8_t* r0_ = nullptr;
  const uint8_t* r1_ = nullptr;
};

// I420: Y blended from the four taps, U and V from the chroma of the 2x2 block each tap is in, then
// converted to RGB once (BT.601), as the CUDA kernel does.
class I420Sampler {
 public:
  I420Sampler(const uint8_t* src, int width, int height) : p_(i420Planes(src, width, height)), width_(width) {}
  void select(int row0, int row1) {
    y0_ = p_.y + static_cast<size_t>(row0) * width_;
    y1_ = p_.y + static_cast<size_t>(row1) * width_;
    c0_ = static_cast<size_t>(row0 / 2) * p_.chromaWidth;
    c1_ = static_cast<size_t>(row1 / 2) * p_.chromaWidth;
  }
  void sample(const ResizeTap& tx, float wy0, float wy1, float* rgb) const {
    const float wx1 = tx.w1;
    const float wx0 = 1.0f - wx1;
    const size_t cx0 = static_cast<size_t>(tx.i0 / 2);
    const size_t cx1 = static_cast<size_t>(tx.i1 / 2);
    const float y = blend(y0_[tx.i0], y0_[tx.i1], y1_[tx.i0], y1_[tx.i1], wx0, wx1, wy0, wy1);
    const float u = blend(p_.u[c0_ + cx0], p_.u[c0_ + cx1], p_.u[c1_ + cx0], p_.u[c1_ + cx1], wx0, wx1, wy0, wy1);
    const float v = blend(p_.v[c0_ + cx0], p_.v[c0_ + cx1], p_.v[c1_ + cx0], p_.v[c1_ + cx1], wx0, wx1, wy0, wy1);
    yuvToRgbFloat(y, u, v, rgb);
  }

 private:
  I420Planes p_;
  int width_;
  const uint8_t* y0_ = nullptr;
  const uint8_t* y1_ = nullptr;
  size_t c0_ = 0;
  size_t c1_ = 0;
};

// Bilinear resize and normalisation, the same for every frame layout: `sampler` gives the RGB of
// one output pixel.
template <typename Sampler>
InputTransform resizeNormalize(Sampler sampler, int srcW, int srcH, const PreprocessSpec& spec, float* out) {
  const InputTransform t = computeInputTransform(srcW, srcH, spec);
  const int W = spec.width;
  const int H = spec.height;
  const size_t plane = static_cast<size_t>(W) * H;
  const std::vector<ResizeTap> xs = resizeTaps(W, srcW, t.scaleX, t.padX);
  const std::vector<ResizeTap> ys = resizeTaps(H, srcH, t.scaleY, t.padY);

  // value = px * gain[c] + offset[c]; c is the tensor channel, srcChannel[c] the RGB byte it reads.
  const ChannelNormalization n = channelNormalization(spec);
  const float* gain = n.gain;
  const float* offset = n.offset;
  const int* srcChannel = n.srcChannel;
  const float* padValue = n.padValue;

  for (int y = 0; y < H; ++y) {
    const ResizeTap& ty = ys[static_cast<size_t>(y)];
    sampler.select(ty.i0, ty.i1);
    const float wy1 = ty.w1;
    const float wy0 = 1.0f - wy1;
    float* o0 = out + static_cast<size_t>(y) * W;
    float* o1 = o0 + plane;
    float* o2 = o1 + plane;
    for (int x = 0; x < W; ++x) {
      const ResizeTap& tx = xs[static_cast<size_t>(x)];
      if (!ty.inside || !tx.inside) {
        o0[x] = padValue[0];
        o1[x] = padValue[1];
        o2[x] = padValue[2];
        continue;
      }
      float rgb[3];
      sampler.sample(tx, wy0, wy1, rgb);
      o0[x] = rgb[srcChannel[0]] * gain[0] + offset[0];
      o1[x] = rgb[srcChannel[1]] * gain[1] + offset[1];
      o2[x] = rgb[srcChannel[2]] * gain[2] + offset[2];
    }
  }
  return t;
}

}  // namespace

InputTransform preprocessPacked(const uint8_t* src, int srcW, int srcH, int bytesPerPixel, const PreprocessSpec& spec,
                                float* out) {
  return resizeNormalize(PackedSampler(src, srcW, bytesPerPixel), srcW, srcH, spec, out);
}

InputTransform preprocessI420(const uint8_t* src, int srcW, int srcH, const PreprocessSpec& spec, float* out) {
  return resizeNormalize(I420Sampler(src, srcW, srcH), srcW, srcH, spec, out);
}

InputTransform preprocessFrame(const uint8_t* src, int srcW, int srcH, FrameFormat format, const PreprocessSpec& spec,
                               float* out) {
  if (format == FrameFormat::I420) return preprocessI420(src, srcW, srcH, spec, out);
  return preprocessPacked(src, srcW, srcH, packedBytesPerPixel(format), spec, out);
}

}  // namespace trtd
