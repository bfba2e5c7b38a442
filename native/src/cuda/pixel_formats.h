// Pixel formats the GPU pre-processing reads, and the NV12 -> RGB conversion shared by the CUDA
// kernels and the CPU (so both sides produce the same bytes). Compiles as CUDA C++14 and host C++.
#pragma once

#include <cstddef>
#include <cstdint>

#ifdef __CUDACC__
#define TRTD_HOST_DEVICE __host__ __device__
#else
#define TRTD_HOST_DEVICE
#endif

namespace trtd {
namespace cuda {

enum class PixelFormat { Rgb24, Rgba32, Nv12 };

// ITU-R BT.601 limited range (what hardware decoders emit for SD/HD camera streams), integer
// arithmetic so the GPU and the CPU agree to the last bit.
TRTD_HOST_DEVICE inline uint8_t clampByte(int v) { return static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v)); }

TRTD_HOST_DEVICE inline void yuvToRgb(int y, int u, int v, uint8_t* rgb) {
  const int c = 298 * (y - 16) + 128;
  const int d = u - 128;
  const int e = v - 128;
  // a negative sum clamps to 0 however the division rounds it
  rgb[0] = clampByte((c + 409 * e) / 256);
  rgb[1] = clampByte((c - 100 * d - 208 * e) / 256);
  rgb[2] = clampByte((c + 516 * d) / 256);
}

// One pixel of an NV12 image: Y plane (pitch yPitch), then interleaved U,V at half resolution.
TRTD_HOST_DEVICE inline void nv12Pixel(const uint8_t* yPlane, size_t yPitch, const uint8_t* uvPlane, size_t uvPitch,
                                       int x, int y, uint8_t* rgb) {
  const int Y = yPlane[static_cast<size_t>(y) * yPitch + x];
  const uint8_t* uv = uvPlane + static_cast<size_t>(y / 2) * uvPitch + static_cast<size_t>(x / 2) * 2;
  yuvToRgb(Y, uv[0], uv[1], rgb);
}

// Host reference: a whole NV12 frame to packed RGB24 (width*height*3 bytes).
inline void nv12ToRgb24(const uint8_t* yPlane, size_t yPitch, const uint8_t* uvPlane, size_t uvPitch, int width,
                        int height, uint8_t* rgb) {
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      nv12Pixel(yPlane, yPitch, uvPlane, uvPitch, x, y, rgb + (static_cast<size_t>(y) * width + x) * 3);
    }
  }
}

}  // namespace cuda
}  // namespace trtd
