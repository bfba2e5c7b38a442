// Box outlines drawn on the GPU, in place on an RGB24/RGBA frame in device memory (labels with text
// stay on the CPU: osd.cc). One thread per pixel; the last box covering a pixel wins, as on the CPU.
#include "cuda/kernels.h"

namespace trtd {
namespace cuda {

namespace {

__device__ inline bool onOutline(const DeviceBox& b, int x, int y) {
  if (x < b.left || x >= b.right || y < b.top || y >= b.bottom) return false;
  return y < b.top + b.thickness || y >= b.bottom - b.thickness || x < b.left + b.thickness ||
         x >= b.right - b.thickness;
}

__global__ void drawBoxesKernel(uint8_t* image, int width, int height, size_t pitch, int channels,
                                const DeviceBox* boxes, int count) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= width || y >= height) return;
  int hit = -1;
  for (int i = 0; i < count; ++i) {
    if (onOutline(boxes[i], x, y)) hit = i;
  }
  if (hit < 0) return;
  uint8_t* p = image + static_cast<size_t>(y) * pitch + static_cast<size_t>(x) * channels;
  p[0] = boxes[hit].r;
  p[1] = boxes[hit].g;
  p[2] = boxes[hit].b;
}

}  // namespace

cudaError_t launchDrawBoxes(uint8_t* devImage, int width, int height, size_t pitch, int channels,
                            const DeviceBox* devBoxes, int count, cudaStream_t stream) {
  if (count <= 0) return cudaSuccess;
  const dim3 block(32, 8);
  const dim3 grid((width + block.x - 1) / block.x, (height + block.y - 1) / block.y);
  drawBoxesKernel<<<grid, block, 0, stream>>>(devImage, width, height, pitch, channels, devBoxes, count);
  return cudaGetLastError();
}

}  // namespace cuda
}  // namespace trtd
