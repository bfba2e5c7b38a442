// Pixel formats the GPU pre-processing reads, and the NV12 -> RGB conversion shared by the CUDA
// kernels and the CPU (so both sides produce the same bytes; the BT.601 arithmetic is in
// frame_format.h). Compiles as CUDA C++14 and host C++.
#pragma once

#include <cstddef>
#include <cstdint>

#include "frame_format.h"

namespace trtd {
namespace cuda {

enum class PixelFormat { Rgb24, Rgba32, Nv12, I420 };

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
