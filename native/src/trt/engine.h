// A deserialized TensorRT engine ready to run one frame at a time: CUDA stream, device buffers and
// pinned host buffers allocated once at load (the frame staging buffer grows with the largest
// frame seen), pre-processing on the GPU when the CUDA kernels are built, on the CPU otherwise.
// Not thread-safe: the caller serialises infer() calls (the JS backend chains them).
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "preprocess.h"
#include "trt/trt_compat.h"

#ifndef TRT_DETECT_HAVE_CUDA
#define TRT_DETECT_HAVE_CUDA 0
#endif

#if TRT_DETECT_HAVE_CUDA
#include "cuda/gpu_preprocess.h"
#endif

namespace trtd {
namespace trt {

enum class ElementType { Float32, Int32, Unsupported };

struct TensorInfo {
  std::string name;
  bool input = false;
  std::vector<int64_t> shape;  // batch dimension included (1), also for implicit-batch engines
  ElementType type = ElementType::Unsupported;
  std::string typeName;  // "float32", "int32", "float16", ...
  size_t elements = 0;
};

struct InferTimings {
  float preprocessMs = 0;  // frame upload + resize/normalise (+ input upload on the CPU path)
  float inferenceMs = 0;   // enqueue .. outputs on the host
};

class Engine {
 public:
  // Throws std::runtime_error with one line naming the file and the cause.
  static std::unique_ptr<Engine> load(const std::string& path);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  // Pre-processing on the GPU: built with the CUDA kernels (the same for every engine).
  static constexpr bool gpuPreprocess() { return TRT_DETECT_HAVE_CUDA != 0; }
  size_t deviceMemoryBytes() const { return deviceBytes_; }

  // pixels: frameBytes(format, w, h) bytes (RGBA as nvvidconv hands it over, RGB24 or I420 from
  // ffmpeg); spec.width/height must match the input tensor. outputs: one host pointer per output
  // tensor, in tensors() order of the outputs, each elements*4 bytes.
  InputTransform infer(const uint8_t* pixels, int w, int h, FrameFormat format, const PreprocessSpec& spec,
                       const std::vector<void*>& outputs, InferTimings* timings);

 private:
  Engine() = default;
  void describe();
  void allocate();
  void ensureFrameStaging(size_t bytes);

  std::string path_;
  Ptr<nvinfer1::IRuntime> runtime_;
  Ptr<nvinfer1::ICudaEngine> engine_;
  Ptr<nvinfer1::IExecutionContext> context_;
  cudaStream_t stream_ = nullptr;
  cudaEvent_t events_[4] = {nullptr, nullptr, nullptr, nullptr};
  bool implicitBatch_ = false;
  std::vector<TensorInfo> tensors_;
  std::vector<int> bindingIndex_;  // per tensor: its binding slot (legacy enqueue paths)
  std::vector<void*> device_;      // per tensor
  std::vector<void*> host_;        // per tensor, pinned
  std::vector<void*> bindings_;    // by binding slot
  int input_ = -1;
  size_t deviceBytes_ = 0;
  uint8_t* frameHost_ = nullptr;  // pinned staging for the RGB frame (GPU path)
  uint8_t* frameDevice_ = nullptr;
  size_t frameCapacity_ = 0;
#if TRT_DETECT_HAVE_CUDA
  std::unique_ptr<cuda::GpuPreprocessor> gpu_;
#endif
};

}  // namespace trt
}  // namespace trtd
