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

inline size_t frameBytes(FrameFormat f, int width, int height) {
  const size_t pixels = static_cast<size_t>(width) * static_cast<size_t>(height);
  if (f == FrameFormat::I420) return pixels + 2 * static_cast<size_t>(chromaSize(width)) * static_cast<size_t>(chromaSize(height));
  return pixels * (f == FrameFormat::Rgba ? 4 : 3);
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

TRTD_HOST_DEVICE inline uint8_t clampByte(int v) { return static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v)); }

// ITU-R BT.601 limited range (what ffmpeg's and the hardware decoders' SD/HD output uses), integer
// arithmetic so the GPU and the CPU agree to the last bit.
TRTD_HOST_DEVICE inline void yuvToRgb(int y, int u, int v, uint8_t* rgb) {
  const int c = 298 * (y - 16) + 128;
  const int d = u - 128;
  const int e = v - 128;
  // a negative sum clamps to 0 however the division rounds it
  rgb[0] = clampByte((c + 409 * e) / 256);
  rgb[1] = clampByte((c - 100 * d - 208 * e) / 256);
  rgb[2] = clampByte((c + 516 * d) / 256);
}

// The same in float without rounding, for values already blended from several samples (the bilinear
// resize samples Y, U and V and converts once); clamped to 0..255.
// Branch-free (|x| is a bit mask), the same arithmetic on the CPU and the GPU: branches mispredict
// on noisy chroma, and GCC keeps them for the usual min/max forms.
TRTD_HOST_DEVICE inline float clampUnit255(float v) {
  v = 0.5f * (v + std::fabs(v));                    // max(v, 0)
  return 255.f - 0.5f * ((255.f - v) + std::fabs(255.f - v));  // min(v, 255)
}

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

// One pixel of a planar 4:2:0 image (the chroma of the 2x2 block it is in).
TRTD_HOST_DEVICE inline void i420Pixel(const uint8_t* yPlane, size_t yPitch, const uint8_t* uPlane, const uint8_t* vPlane,
                                       size_t uvPitch, int x, int y, uint8_t* rgb) {
  const size_t c = static_cast<size_t>(y / 2) * uvPitch + static_cast<size_t>(x / 2);
  yuvToRgb(yPlane[static_cast<size_t>(y) * yPitch + x], uPlane[c], vPlane[c], rgb);
}

// Host reference: a whole packed I420 frame to RGB24 (width*height*3 bytes).
inline void i420ToRgb24(const uint8_t* frame, int width, int height, uint8_t* rgb) {
  const I420Planes p = i420Planes(frame, width, height);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      i420Pixel(p.y, static_cast<size_t>(width), p.u, p.v, static_cast<size_t>(p.chromaWidth), x, y,
                rgb + (static_cast<size_t>(y) * width + x) * 3);
    }
  }
}

}  // namespace trtd
