// RGB24, RGBA or I420 frame -> normalised NCHW float32 tensor (bilinear resize, stretch or letterbox).
// Pure C++: no Node-API types, so a CUDA/TensorRT path and plain C++ tests can reuse it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "frame_format.h"

namespace trtd {

enum class ResizeMode { Stretch, Letterbox };
enum class ChannelOrder { Rgb, Bgr };

struct PreprocessSpec {
  int width = 0;                    // model input width
  int height = 0;                   // model input height
  float mean[3] = {0.f, 0.f, 0.f};  // per tensor channel, in the tensor's channel order
  float std[3] = {1.f, 1.f, 1.f};
  ChannelOrder color = ChannelOrder::Rgb;  // channel order of the tensor (frames are RGB24, RGBA or I420)
  ResizeMode resize = ResizeMode::Stretch;
};

// input_px = src_px * scale + pad, per axis (continuous pixel-edge coordinates).
struct InputTransform {
  double scaleX = 1.0;
  double scaleY = 1.0;
  double padX = 0.0;
  double padY = 0.0;
};

// Grey level (0..255) of letterbox padding, before normalisation.
constexpr float kLetterboxPadValue = 127.5f;

// One output index of a resize axis for bilinear sampling: source indices i0 and i1, the weight
// w1 of i1; inside == 0 marks letterbox padding. Output index o samples source position
// (o - pad + 0.5) / scale - 0.5. A plain struct the CUDA kernels read as it is.
struct ResizeTap {
  int i0;
  int i1;
  float w1;
  int inside;
};

// The taps of one axis: outLen outputs from srcLen inputs.
std::vector<ResizeTap> resizeTaps(int outLen, int srcLen, double scale, double pad);

// value(c) = sample(srcChannel[c]) * gain[c] + offset[c] for tensor channel c; padding writes
// padValue[c]. The same numbers on the CPU and on the GPU.
struct ChannelNormalization {
  float gain[3];
  float offset[3];
  int srcChannel[3];
  float padValue[3];
};

ChannelNormalization channelNormalization(const PreprocessSpec& spec);

// Where a srcW x srcH frame lands in the model input. Letterbox keeps the aspect ratio,
// centres the picture (integer padding) and pads the rest.
InputTransform computeInputTransform(int srcW, int srcH, const PreprocessSpec& spec);

// Writes 3 * spec.width * spec.height floats to `out` (NCHW, batch 1) and returns the transform.
// `src` holds srcW * srcH * bytesPerPixel bytes, rows packed: 3 = RGB24, 4 = RGBA (or RGBx; the
// fourth byte is ignored). Sizes must already be validated (> 0).
// value = ((px / 255) - mean[c]) / std[c]
InputTransform preprocessPacked(const uint8_t* src, int srcW, int srcH, int bytesPerPixel, const PreprocessSpec& spec,
                                float* out);

// The same from an I420 frame (frame_format.h): Y, U and V are blended from the four taps (each
// tap's chroma is that of its 2x2 block), then converted to RGB (BT.601, float, clamped). For
// colours inside the RGB cube this equals converting the frame to RGB24 first, without the rounding.
InputTransform preprocessI420(const uint8_t* src, int srcW, int srcH, const PreprocessSpec& spec, float* out);

// Any FrameFormat.
InputTransform preprocessFrame(const uint8_t* src, int srcW, int srcH, FrameFormat format, const PreprocessSpec& spec,
                               float* out);

inline InputTransform preprocessRgb24(const uint8_t* src, int srcW, int srcH, const PreprocessSpec& spec, float* out) {
  return preprocessPacked(src, srcW, srcH, 3, spec, out);
}

}  // namespace trtd
