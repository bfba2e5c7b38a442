// Launcher of the CUDA pre-processing kernel (preprocess_kernels.cu). Plain host C++ API:
// every pointer named dev* is device memory; nothing here allocates or synchronises.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "cuda/pixel_formats.h"
#include "postprocess.h"
#include "preprocess.h"

namespace trtd {
namespace cuda {

// One output index of a resize axis, computed by the CPU code (preprocess.h) and read as it is.
using AxisTap = trtd::ResizeTap;

// A source image in device memory. Rgb24/Rgba32: `data` with `pitch` bytes per row.
// Nv12: `data` is the Y plane (pitch), `uv` the interleaved chroma plane (uvPitch).
// I420: `data` is the Y plane (pitch), `uv` the U plane and `v` the V plane (uvPitch each).
struct DeviceImage {
  const uint8_t* data = nullptr;
  size_t pitch = 0;
  const uint8_t* uv = nullptr;
  const uint8_t* v = nullptr;
  size_t uvPitch = 0;
  int width = 0;
  int height = 0;
  PixelFormat format = PixelFormat::Rgb24;
};

// value(c) = sample(srcChannel[c]) * gain[c] + offset[c]; padding writes padValue[c].
struct NormalizeParams {
  int width;   // tensor width
  int height;  // tensor height
  float gain[3];
  float offset[3];
  int srcChannel[3];
  float padValue[3];
};

// NCHW float tensor (batch 1) from `src`; xs has params.width taps, ys params.height.
cudaError_t launchPreprocess(const DeviceImage& src, const AxisTap* devXs, const AxisTap* devYs,
                             const NormalizeParams& params, float* devOut, cudaStream_t stream);

// The score filter of a scores_boxes model's decode (decodeScoresBoxes' first half) on the GPU:
// every (box, class) with classWanted[class] != 0 and score >= threshold (NaN never) is appended to
// devOut in any order. *devCount ends as the number that passed, which can exceed capacity (only
// the first `capacity` are written: the caller falls back to the CPU decode then). devCount is
// zeroed on `stream` first. devClassWanted holds numClasses bytes.
cudaError_t launchScoreFilter(const float* devScores, int numBoxes, int numClasses, float threshold,
                              const uint8_t* devClassWanted, ScoreCandidate* devOut, int capacity, int* devCount,
                              cudaStream_t stream);

}  // namespace cuda
}  // namespace trtd
