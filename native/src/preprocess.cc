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
  t.padX = (spec.width - newW) / 2;
  t.padY = (spec.height - newH) / 2;
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

InputTransform preprocessPacked(const uint8_t* src, int srcW, int srcH, int bytesPerPixel, const PreprocessSpec& spec,
                                float* out) {
  const size_t bpp = static_cast<size_t>(bytesPerPixel);
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

  const size_t stride = static_cast<size_t>(srcW) * bpp;
  for (int y = 0; y < H; ++y) {
    const ResizeTap& ty = ys[static_cast<size_t>(y)];
    const uint8_t* row0 = src + static_cast<size_t>(ty.i0) * stride;
    const uint8_t* row1 = src + static_cast<size_t>(ty.i1) * stride;
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
      const uint8_t* p00 = row0 + static_cast<size_t>(tx.i0) * bpp;
      const uint8_t* p01 = row0 + static_cast<size_t>(tx.i1) * bpp;
      const uint8_t* p10 = row1 + static_cast<size_t>(tx.i0) * bpp;
      const uint8_t* p11 = row1 + static_cast<size_t>(tx.i1) * bpp;
      const float wx1 = tx.w1;
      const float wx0 = 1.0f - wx1;
      float rgb[3];
      for (int k = 0; k < 3; ++k) {
        const float top = p00[k] * wx0 + p01[k] * wx1;
        const float bottom = p10[k] * wx0 + p11[k] * wx1;
        rgb[k] = top * wy0 + bottom * wy1;
      }
      o0[x] = rgb[srcChannel[0]] * gain[0] + offset[0];
      o1[x] = rgb[srcChannel[1]] * gain[1] + offset[1];
      o2[x] = rgb[srcChannel[2]] * gain[2] + offset[2];
    }
  }
  return t;
}

}  // namespace trtd
