// Resize (bilinear, stretch or letterbox through precomputed axis taps) + normalise into the NCHW
// float input tensor, reading RGB24, RGBA, NV12 or I420 straight from device memory. CUDA C++14
// (CUDA 10.2 on JetPack 4.6 and newer). One thread per output pixel.
#include "cuda/kernels.h"

namespace trtd {
namespace cuda {

namespace {

__device__ inline bool isYuv(const DeviceImage& s) {
  return s.format == PixelFormat::Nv12 || s.format == PixelFormat::I420;
}

// The three channel values of one source pixel: R G B, or for NV12/I420 Y U V (the chroma of the
// 2x2 block the pixel is in). YUV is converted once, after the blend, as the CPU does.
__device__ inline void fetch(const DeviceImage& s, int x, int y, float* c) {
  if (isYuv(s)) {
    const size_t chroma = static_cast<size_t>(y / 2) * s.uvPitch;
    c[0] = s.data[static_cast<size_t>(y) * s.pitch + x];
    if (s.format == PixelFormat::Nv12) {
      const uint8_t* uv = s.uv + chroma + static_cast<size_t>(x / 2) * 2;
      c[1] = uv[0];
      c[2] = uv[1];
    } else {
      c[1] = s.uv[chroma + x / 2];
      c[2] = s.v[chroma + x / 2];
    }
    return;
  }
  const int bpp = s.format == PixelFormat::Rgba32 ? 4 : 3;
  const uint8_t* p = s.data + static_cast<size_t>(y) * s.pitch + static_cast<size_t>(x) * bpp;
  c[0] = p[0];
  c[1] = p[1];
  c[2] = p[2];
}

__global__ void preprocessKernel(DeviceImage src, const AxisTap* xs, const AxisTap* ys, NormalizeParams p, float* out) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= p.width || y >= p.height) return;
  const size_t plane = static_cast<size_t>(p.width) * p.height;
  const size_t idx = static_cast<size_t>(y) * p.width + x;
  const AxisTap tx = xs[x];
  const AxisTap ty = ys[y];
  if (!tx.inside || !ty.inside) {
    out[idx] = p.padValue[0];
    out[idx + plane] = p.padValue[1];
    out[idx + 2 * plane] = p.padValue[2];
    return;
  }
  float p00[3], p01[3], p10[3], p11[3];
  fetch(src, tx.i0, ty.i0, p00);
  fetch(src, tx.i1, ty.i0, p01);
  fetch(src, tx.i0, ty.i1, p10);
  fetch(src, tx.i1, ty.i1, p11);
  const float wx1 = tx.w1;
  const float wx0 = 1.0f - wx1;
  const float wy1 = ty.w1;
  const float wy0 = 1.0f - wy1;
  float rgb[3];
  for (int k = 0; k < 3; ++k) {
    const float top = p00[k] * wx0 + p01[k] * wx1;
    const float bottom = p10[k] * wx0 + p11[k] * wx1;
    rgb[k] = top * wy0 + bottom * wy1;
  }
  if (isYuv(src)) yuvToRgbFloat(rgb[0], rgb[1], rgb[2], rgb);
  for (int c = 0; c < 3; ++c) out[idx + c * plane] = rgb[p.srcChannel[c]] * p.gain[c] + p.offset[c];
}

}  // namespace

cudaError_t launchPreprocess(const DeviceImage& src, const AxisTap* devXs, const AxisTap* devYs,
                             const NormalizeParams& params, float* devOut, cudaStream_t stream) {
  const dim3 block(32, 8);
  const dim3 grid((params.width + block.x - 1) / block.x, (params.height + block.y - 1) / block.y);
  preprocessKernel<<<grid, block, 0, stream>>>(src, devXs, devYs, params, devOut);
  return cudaGetLastError();
}

}  // namespace cuda
}  // namespace trtd
