// Pixel formats the GPU pre-processing reads (the BT.601 arithmetic it shares with the CPU is in
// frame_format.h). Compiles as CUDA C++14 and host C++.
#pragma once

#include "frame_format.h"

namespace trtd {
namespace cuda {

enum class PixelFormat { Rgb24, Rgba32, Nv12, I420 };

}  // namespace cuda
}  // namespace trtd
