// The score filter of the scores_boxes decode on the GPU: the scores tensor ([N,C], 1917x91 floats
// for SSD-MobileNet COCO, about 700 KB) stays on the device and only the few candidates that pass
// the threshold come back to the host, where decodeScoreCandidates (postprocess.cc) maps and NMSes
// them exactly as the CPU decode does. CUDA C++14 (CUDA 10.2 on JetPack 4.6 and newer).
#include "cuda/kernels.h"

namespace trtd {
namespace cuda {

namespace {

// One thread per score, consecutive threads on consecutive floats (coalesced reads).
__global__ void scoreFilterKernel(const float* scores, int numBoxes, int numClasses, float threshold,
                                  const uint8_t* classWanted, ScoreCandidate* out, int capacity, int* count) {
  const size_t total = static_cast<size_t>(numBoxes) * static_cast<size_t>(numClasses);
  const size_t stride = static_cast<size_t>(gridDim.x) * blockDim.x;
  for (size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
    const int c = static_cast<int>(i % static_cast<size_t>(numClasses));
    const float s = scores[i];
    if (!classWanted[c] || !(s >= threshold)) continue;  // the CPU's comparison: NaN never passes
    const int slot = atomicAdd(count, 1);
    if (slot < capacity) {
      ScoreCandidate k;
      k.box = static_cast<int>(i / static_cast<size_t>(numClasses));
      k.classId = c;
      k.score = s;
      out[slot] = k;
    }
  }
}

}  // namespace

cudaError_t launchScoreFilter(const float* devScores, int numBoxes, int numClasses, float threshold,
                              const uint8_t* devClassWanted, ScoreCandidate* devOut, int capacity, int* devCount,
                              cudaStream_t stream) {
  cudaError_t e = cudaMemsetAsync(devCount, 0, sizeof(int), stream);
  if (e != cudaSuccess) return e;
  const size_t total = static_cast<size_t>(numBoxes) * static_cast<size_t>(numClasses);
  if (total == 0) return cudaSuccess;
  const int block = 256;
  size_t blocks = (total + block - 1) / block;
  if (blocks > 1024) blocks = 1024;  // grid-stride beyond: enough for any SSD head
  scoreFilterKernel<<<static_cast<unsigned>(blocks), block, 0, stream>>>(devScores, numBoxes, numClasses, threshold,
                                                                         devClassWanted, devOut, capacity, devCount);
  return cudaGetLastError();
}

}  // namespace cuda
}  // namespace trtd
