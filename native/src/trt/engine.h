// A deserialized TensorRT engine that detects on one frame per call: upload, pre-processing (CUDA
// kernels when built, else the CPU), inference, decode and NMS, returning only the final boxes.
// Double-buffered: kSlots frames can be in flight at once, each slot with its own CUDA stream,
// execution context, pinned host buffers and device buffers, so frame N+1 is uploaded and
// pre-processed while frame N runs. Everything is allocated at load (the frame staging buffers
// grow with the largest frame seen).
#pragma once

#include <cuda_runtime_api.h>

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "postprocess.h"
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

struct DetectTimings {
  float preprocessMs = 0;   // staging copy + upload + resize/normalise (or the CPU pre-processing + upload)
  float inferenceMs = 0;    // enqueue .. the network done (GPU time)
  float postprocessMs = 0;  // score filter + download + decode/NMS on the host
  bool gpuDecode = false;   // the score filter ran on the GPU (scores_boxes)
  int slot = 0;             // which buffer set ran it
};

struct DetectResult {
  std::vector<RawDetection> detections;
  InputTransform transform;
  DetectTimings timings;
};

class Engine {
 public:
  static constexpr int kSlots = 2;
  // Score candidates the GPU filter can hand back per frame; more fall back to the CPU decode.
  static constexpr int kCandidateCapacity = 4096;

  // Throws std::runtime_error with one line naming the file and the cause.
  static std::unique_ptr<Engine> load(const std::string& path);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  // Pre-processing on the GPU: built with the CUDA kernels (the same for every engine).
  static constexpr bool gpuPreprocess() { return TRT_DETECT_HAVE_CUDA != 0; }
  size_t deviceMemoryBytes() const { return deviceBytes_; }

  // One frame, start to end. pixels: frameBytes(format, w, h) bytes (RGBA as nvvidconv hands it
  // over, RGB24 or I420 from ffmpeg); spec.width/height must match the input tensor; layout's
  // indices count the outputs in tensors() order; options: threshold, classes, NMS (its geometry
  // is filled in here). Thread-safe: up to kSlots callers run at once, more wait for a slot.
  DetectResult detect(const uint8_t* pixels, int w, int h, FrameFormat format, const PreprocessSpec& spec,
                      const LayoutSpec& layout, PostprocessOptions options);

 private:
  struct Slot;
  Engine() = default;
  void describe(nvinfer1::IExecutionContext* context);
  void configure(nvinfer1::IExecutionContext* context);
  void allocate();
  Slot& acquire();
  void release(Slot& slot);
  void ensureFrameStaging(Slot& slot, size_t bytes);
  void enqueue(Slot& slot);
  std::vector<OutputView> hostOutputs(const Slot& slot) const;

  std::string path_;
  Ptr<nvinfer1::IRuntime> runtime_;
  Ptr<nvinfer1::ICudaEngine> engine_;
  bool implicitBatch_ = false;
  std::vector<TensorInfo> tensors_;
  std::vector<int> bindingIndex_;  // per tensor: its binding slot (legacy enqueue paths)
  std::vector<int> outputTensor_;  // output k -> index into tensors_
  int input_ = -1;
  size_t deviceBytes_ = 0;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::mutex mutex_;
  std::condition_variable freed_;
};

}  // namespace trt
}  // namespace trtd
