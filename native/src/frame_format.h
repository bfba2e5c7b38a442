// Frame layouts the addon reads and draws on, and the BT.601 YUV <-> RGB arithmetic shared by the
// CPU code and the CUDA kernels (so both produce the same bytes). Compiles as host C++ and as CUDA
// C++14.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#ifdef __CUDACC__
#define TRTD_HOST_DEVICE __host__ __device__
#else
#define TRTD_HOST_DEVICE
#endif

namespace trtd {

// Rows and planes packed, no padding:
//  Rgb24  3 bytes a pixel, R G B;
//  Rgba   4 bytes a pixel, R G B and a byte nobody reads;
//  I420   the Y plane (width x height), then U and V at half size each way, rounded up
//         (what ffmpeg's yuv420p rawvideo output holds).
enum class FrameFormat { Rgb24, Rgba, I420 };

TRTD_HOST_DEVICE inline int chromaSize(int lumaSize) { return (lumaSize + 1) / 2; }

// Bytes a pixel of a packed layout (Rgb24 or Rgba).
inline int packedBytesPerPixel(FrameFormat f) { return f == FrameFormat::Rgba ? 4 : 3; }

inline size_t frameBytes(FrameFormat f, int width, int height) {
  const size_t pixels = static_cast<size_t>(width) * static_cast<size_t>(height);
  if (f == FrameFormat::I420)
    return pixels + 2 * static_cast<size_t>(chromaSize(width)) * static_cast<size_t>(chromaSize(height));
  return pixels * static_cast<size_t>(packedBytesPerPixel(f));
}

// The three planes of an I420 frame held in one buffer.
struct I420Planes {
  const uint8_t* y;
  const uint8_t* u;
  const uint8_t* v;
  int chromaWidth;
};

inline I420Planes i420Planes(const uint8_t* frame, int width, int height) {
  const size_t lumaBytes = static_cast<size_t>(width) * height;
  const size_t chromaBytes = static_cast<size_t>(chromaSize(width)) * chromaSize(height);
  return {frame, frame + lumaBytes, frame + lumaBytes + chromaBytes, chromaSize(width)};
}

inline uint8_t clampByte(int v) { return static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v)); }

// Clamped to 0..255. Branch-free (|x| is a bit mask), the same arithmetic on the CPU and the GPU:
// branches mispredict on noisy chroma, and GCC keeps them for the usual min/max forms.
TRTD_HOST_DEVICE inline float clampUnit255(float v) {
  v = 0.5f * (v + std::fabs(v));                               // max(v, 0)
  return 255.f - 0.5f * ((255.f - v) + std::fabs(255.f - v));  // min(v, 255)
}

// ITU-R BT.601 limited range (what ffmpeg's and the hardware decoders' SD/HD output uses), in float
// without rounding: the bilinear resize blends Y, U and V from its taps and converts once.
TRTD_HOST_DEVICE inline void yuvToRgbFloat(float y, float u, float v, float* rgb) {
  const float c = (298.f / 256.f) * (y - 16.f);
  const float d = u - 128.f;
  const float e = v - 128.f;
  rgb[0] = clampUnit255(c + (409.f / 256.f) * e);
  rgb[1] = clampUnit255(c - (100.f / 256.f) * d - (208.f / 256.f) * e);
  rgb[2] = clampUnit255(c + (516.f / 256.f) * d);
}

// The inverse, for drawing colours on YUV frames.
inline void rgbToYuv(int r, int g, int b, uint8_t* yuv) {
  yuv[0] = clampByte(((66 * r + 129 * g + 25 * b + 128) >> 8) + 16);
  yuv[1] = clampByte(((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128);
  yuv[2] = clampByte(((112 * r - 94 * g - 18 * b + 128) >> 8) + 128);
}

}  // namespace trtd
