#include "trt/engine.h"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "trt/builder.h"
#include "trt/device_info.h"
#include "trt/logger.h"

namespace trtd {
namespace trt {

namespace {

void cudaCheck(cudaError_t err, const std::string& what) {
  if (err != cudaSuccess) throw std::runtime_error(what + ": " + cudaGetErrorString(err));
}

ElementType elementType(nvinfer1::DataType t, std::string& name) {
  switch (t) {
    case nvinfer1::DataType::kFLOAT:
      name = "float32";
      return ElementType::Float32;
    case nvinfer1::DataType::kINT32:
      name = "int32";
      return ElementType::Int32;
    case nvinfer1::DataType::kHALF:
      name = "float16";
      return ElementType::Unsupported;
    case nvinfer1::DataType::kINT8:
      name = "int8";
      return ElementType::Unsupported;
    case nvinfer1::DataType::kBOOL:
      name = "bool";
      return ElementType::Unsupported;
    default:
      name = "type " + std::to_string(static_cast<int>(t));
      return ElementType::Unsupported;
  }
}

std::string shapeString(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? "," : "") + std::to_string(s[i]);
  return out + "]";
}

std::vector<int64_t> toShape(const nvinfer1::Dims& d, bool prependBatch) {
  std::vector<int64_t> s;
  if (prependBatch) s.push_back(1);
  for (int32_t i = 0; i < d.nbDims; ++i) s.push_back(d.d[i]);
  return s;
}

bool hasDynamic(const nvinfer1::Dims& d) {
  for (int32_t i = 0; i < d.nbDims; ++i) {
    if (d.d[i] < 0) return true;
  }
  return false;
}

}  // namespace

// One set of buffers: a frame goes through it from upload to boxes.
struct Engine::Slot {
  Ptr<nvinfer1::IExecutionContext> context;
  cudaStream_t stream = nullptr;
  cudaEvent_t start = nullptr, uploaded = nullptr, preprocessed = nullptr, inferred = nullptr;
  cudaEvent_t done = nullptr;    // blocking sync: the waiting thread sleeps instead of spinning
  std::vector<void*> device;     // per tensor
  std::vector<void*> host;       // per tensor, pinned
  std::vector<void*> bindings;   // by binding slot
  uint8_t* frameHost = nullptr;  // pinned staging for the frame (GPU pre-processing)
  uint8_t* frameDevice = nullptr;
  size_t frameCapacity = 0;
  // GPU score filter: [count, candidates...] on the device and pinned on the host
  void* filterDevice = nullptr;
  void* filterHost = nullptr;
  uint8_t* classWantedDevice = nullptr;
  std::vector<uint8_t> classWanted;  // what classWantedDevice holds
  bool busy = false;
#if TRT_DETECT_HAVE_CUDA
  std::unique_ptr<cuda::GpuPreprocessor> gpu;
#endif
};

std::unique_ptr<Engine> Engine::load(const std::string& path) {
  initPlugins();  // TAO/tlt-converter SSD engines use the NMS plugin; EfficientNMS exports too
  logger().takeLastError();
  std::vector<char> blob;
  {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error(path + ": cannot read the engine file");
    blob.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  if (blob.empty()) throw std::runtime_error(path + ": the engine file is empty");
  std::unique_ptr<Engine> e(new Engine());
  e->path_ = path;
  e->runtime_.reset(nvinfer1::createInferRuntime(logger()));
  if (!e->runtime_)
    throw std::runtime_error(path + ": TensorRT could not create a runtime (" + logger().takeLastError() + ")");
  e->engine_.reset(e->runtime_->deserializeCudaEngine(blob.data(), blob.size()));
  if (!e->engine_) {
    const std::string trt = logger().takeLastError();
    throw std::runtime_error(path + ": TensorRT " + versionString(getInferLibVersion()) +
                             " cannot load this engine (built with another TensorRT version or GPU, or not an engine: "
                             "rebuild it on this device with trt-detect build-engine)" +
                             (trt.empty() ? "" : " (TensorRT: " + trt + ")"));
  }
  Ptr<nvinfer1::IExecutionContext> first(e->engine_->createExecutionContext());
  if (!first) throw std::runtime_error(path + ": TensorRT could not create an execution context (out of GPU memory?)");
  e->describe(first.get());
  e->slots_.emplace_back(new Slot());
  e->slots_.back()->context = std::move(first);
  for (int k = 1; k < kSlots; ++k) {
    // one context per stream, as TensorRT asks: two frames may run at once
    Ptr<nvinfer1::IExecutionContext> c(e->engine_->createExecutionContext());
    if (!c) throw std::runtime_error(path + ": TensorRT could not create an execution context (out of GPU memory?)");
    e->configure(c.get());
    e->slots_.emplace_back(new Slot());
    e->slots_.back()->context = std::move(c);
  }
  e->allocate();
  return e;
}

void Engine::describe(nvinfer1::IExecutionContext* context) {
  TRTD_ALLOW_DEPRECATED_BEGIN
#if TRTD_IMPLICIT_BATCH
  implicitBatch_ = engine_->hasImplicitBatchDimension();
#endif
#if TRTD_NAMED_TENSORS
  const int32_t n = engine_->getNbIOTensors();
#else
  const int32_t n = engine_->getNbBindings();
#endif
  for (int32_t i = 0; i < n; ++i) {
    TensorInfo t;
#if TRTD_NAMED_TENSORS
    const char* name = engine_->getIOTensorName(i);
    t.name = name;
    t.input = engine_->getTensorIOMode(name) == nvinfer1::TensorIOMode::kINPUT;
    nvinfer1::Dims dims = engine_->getTensorShape(name);
    t.type = elementType(engine_->getTensorDataType(name), t.typeName);
    bindingIndex_.push_back(i);
#if TRTD_IMPLICIT_BATCH
    if (implicitBatch_) bindingIndex_.back() = engine_->getBindingIndex(name);
#endif
    if (t.input && hasDynamic(dims)) {
      dims = engine_->getProfileShape(name, 0, nvinfer1::OptProfileSelector::kOPT);
      if (!context->setInputShape(name, dims))
        throw std::runtime_error(path_ + ": cannot set the input shape of " + t.name);
    }
#else
    t.name = engine_->getBindingName(i);
    t.input = engine_->bindingIsInput(i);
    nvinfer1::Dims dims = engine_->getBindingDimensions(i);
    t.type = elementType(engine_->getBindingDataType(i), t.typeName);
    bindingIndex_.push_back(i);
    if (t.input && hasDynamic(dims)) {
      dims = engine_->getProfileDimensions(i, 0, nvinfer1::OptProfileSelector::kOPT);
      if (!context->setBindingDimensions(i, dims))
        throw std::runtime_error(path_ + ": cannot set the input shape of " + t.name);
    }
#endif
    t.shape = toShape(dims, implicitBatch_);
    tensors_.push_back(t);
  }
  // output shapes once the input shapes are known
  // NOLINTNEXTLINE(modernize-loop-convert): i is the binding index on TensorRT 8.x
  for (size_t i = 0; i < tensors_.size(); ++i) {
    TensorInfo& t = tensors_[i];
    if (!t.input) {
#if TRTD_NAMED_TENSORS
      t.shape = toShape(context->getTensorShape(t.name.c_str()), implicitBatch_);
#else
      t.shape = toShape(context->getBindingDimensions(static_cast<int32_t>(i)), implicitBatch_);
#endif
    }
    t.elements = 1;
    for (int64_t d : t.shape) {
      if (d < 0)
        throw std::runtime_error(path_ + ": tensor " + t.name + " has a dynamic shape " + shapeString(t.shape) +
                                 " (rebuild the engine with a fixed input size)");
      t.elements *= static_cast<size_t>(d);
    }
  }
  TRTD_ALLOW_DEPRECATED_END

  int inputs = 0;
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const TensorInfo& t = tensors_[i];
    if (t.input) {
      ++inputs;
      input_ = static_cast<int>(i);
      if (t.type != ElementType::Float32 || t.shape.size() != 4 || t.shape[0] != 1 || t.shape[1] != 3) {
        throw std::runtime_error(path_ + ": input " + t.name + " is " + t.typeName + " " + shapeString(t.shape) +
                                 ", expected float32 [1,3,H,W] (an NCHW RGB image, batch 1)");
      }
    } else if (t.type == ElementType::Unsupported) {
      throw std::runtime_error(
          path_ + ": output " + t.name + " is " + t.typeName +
          " (only float32 and int32 outputs are supported: rebuild the engine with float32 outputs)");
    }
  }
  if (inputs != 1)
    throw std::runtime_error(path_ + ": expected one image input, the engine has " + std::to_string(inputs));
  for (size_t i = 0; i < tensors_.size(); ++i) {
    if (!tensors_[i].input) outputTensor_.push_back(static_cast<int>(i));
  }
}

// A further context: the input shapes describe() chose for the first.
void Engine::configure(nvinfer1::IExecutionContext* context) {
  TRTD_ALLOW_DEPRECATED_BEGIN
  const TensorInfo& in = tensors_[static_cast<size_t>(input_)];
  nvinfer1::Dims dims{};
  const size_t skip = implicitBatch_ ? 1 : 0;
  dims.nbDims = static_cast<int32_t>(in.shape.size() - skip);
  for (int32_t k = 0; k < dims.nbDims; ++k) dims.d[k] = static_cast<int32_t>(in.shape[static_cast<size_t>(k) + skip]);
#if TRTD_NAMED_TENSORS
  if (!implicitBatch_ && hasDynamic(engine_->getTensorShape(in.name.c_str())) &&
      !context->setInputShape(in.name.c_str(), dims))
    throw std::runtime_error(path_ + ": cannot set the input shape of " + in.name);
#else
  const int32_t b = bindingIndex_[static_cast<size_t>(input_)];
  if (hasDynamic(engine_->getBindingDimensions(b)) && !context->setBindingDimensions(b, dims))
    throw std::runtime_error(path_ + ": cannot set the input shape of " + in.name);
#endif
  TRTD_ALLOW_DEPRECATED_END
}

namespace {

// The filter buffer: the count, padded to the candidates' alignment, then the candidates.
constexpr size_t kFilterHeader = 16;
size_t filterBytes() {
  return kFilterHeader + sizeof(ScoreCandidate) * static_cast<size_t>(Engine::kCandidateCapacity);
}

float elapsed(cudaEvent_t a, cudaEvent_t b) {
  float ms = 0;
  return cudaEventElapsedTime(&ms, a, b) == cudaSuccess ? ms : 0.f;
}

}  // namespace

void Engine::allocate() {
  for (auto& owned : slots_) {
    Slot& s = *owned;
    cudaCheck(cudaStreamCreateWithFlags(&s.stream, cudaStreamNonBlocking), path_ + ": cudaStreamCreate");
    for (cudaEvent_t* ev : {&s.start, &s.uploaded, &s.preprocessed, &s.inferred})
      cudaCheck(cudaEventCreate(ev), path_ + ": cudaEventCreate");
    cudaCheck(cudaEventCreateWithFlags(&s.done, cudaEventBlockingSync), path_ + ": cudaEventCreate");
    s.device.assign(tensors_.size(), nullptr);
    s.host.assign(tensors_.size(), nullptr);
    s.bindings.assign(tensors_.size(), nullptr);
    for (size_t i = 0; i < tensors_.size(); ++i) {
      const size_t bytes = tensors_[i].elements * 4;
      cudaCheck(cudaMalloc(&s.device[i], bytes),
                path_ + ": cudaMalloc for " + tensors_[i].name + " (out of GPU memory?)");
      cudaCheck(cudaHostAlloc(&s.host[i], bytes, cudaHostAllocDefault),
                path_ + ": cudaHostAlloc for " + tensors_[i].name);
      deviceBytes_ += bytes;
      s.bindings[static_cast<size_t>(bindingIndex_[i])] = s.device[i];
#if TRTD_NAMED_TENSORS
      // implicit-batch engines (8.5/8.6) run through the bindings array, not named addresses
      if (!implicitBatch_ && !s.context->setTensorAddress(tensors_[i].name.c_str(), s.device[i])) {
        throw std::runtime_error(path_ + ": cannot bind tensor " + tensors_[i].name);
      }
#endif
    }
#if TRT_DETECT_HAVE_CUDA
    cudaCheck(cudaMalloc(&s.filterDevice, filterBytes()), path_ + ": cudaMalloc for the score filter");
    cudaCheck(cudaHostAlloc(&s.filterHost, filterBytes(), cudaHostAllocDefault),
              path_ + ": cudaHostAlloc for the score filter");
    deviceBytes_ += filterBytes();
    s.gpu.reset(new cuda::GpuPreprocessor());
#endif
  }
}

void Engine::ensureFrameStaging(Slot& s, size_t bytes) {
  if (bytes <= s.frameCapacity) return;
  if (s.frameHost) cudaFreeHost(s.frameHost);
  if (s.frameDevice) cudaFree(s.frameDevice);
  s.frameHost = nullptr;
  s.frameDevice = nullptr;
  s.frameCapacity = 0;
  cudaCheck(cudaHostAlloc(reinterpret_cast<void**>(&s.frameHost), bytes, cudaHostAllocWriteCombined),
            path_ + ": cudaHostAlloc for the frame");
  cudaCheck(cudaMalloc(reinterpret_cast<void**>(&s.frameDevice), bytes), path_ + ": cudaMalloc for the frame");
  s.frameCapacity = bytes;
}

Engine::~Engine() {
  for (auto& owned : slots_) {
    Slot& s = *owned;
    if (s.stream) cudaStreamSynchronize(s.stream);
#if TRT_DETECT_HAVE_CUDA
    s.gpu.reset();
#endif
    s.context.reset();
    for (void* p : s.device) {
      if (p) cudaFree(p);
    }
    for (void* p : s.host) {
      if (p) cudaFreeHost(p);
    }
    if (s.frameHost) cudaFreeHost(s.frameHost);
    if (s.frameDevice) cudaFree(s.frameDevice);
    if (s.filterDevice) cudaFree(s.filterDevice);
    if (s.filterHost) cudaFreeHost(s.filterHost);
    if (s.classWantedDevice) cudaFree(s.classWantedDevice);
    for (cudaEvent_t ev : {s.start, s.uploaded, s.preprocessed, s.inferred, s.done}) {
      if (ev) cudaEventDestroy(ev);
    }
    if (s.stream) cudaStreamDestroy(s.stream);
  }
  slots_.clear();
  engine_.reset();
  runtime_.reset();
}

Engine::Slot& Engine::acquire() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    for (auto& s : slots_) {
      if (!s->busy) {
        s->busy = true;
        return *s;
      }
    }
    freed_.wait(lock);
  }
}

void Engine::release(Slot& s) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    s.busy = false;
  }
  freed_.notify_one();
}

void Engine::enqueue(Slot& s) {
  bool ok;
  TRTD_ALLOW_DEPRECATED_BEGIN
#if TRTD_IMPLICIT_BATCH
  if (implicitBatch_) {
    ok = s.context->enqueue(1, s.bindings.data(), s.stream, nullptr);
  } else
#endif
  {
#if TRTD_NAMED_TENSORS
    ok = s.context->enqueueV3(s.stream);
#else
    ok = s.context->enqueueV2(s.bindings.data(), s.stream, nullptr);
#endif
  }
  TRTD_ALLOW_DEPRECATED_END
  if (!ok) {
    cudaStreamSynchronize(s.stream);
    const std::string trt = logger().takeLastError();
    throw std::runtime_error(path_ + ": inference failed" + (trt.empty() ? "" : " (TensorRT: " + trt + ")"));
  }
}

std::vector<OutputView> Engine::hostOutputs(const Slot& s) const {
  std::vector<OutputView> v;
  for (int i : outputTensor_) {
    const TensorInfo& t = tensors_[static_cast<size_t>(i)];
    OutputView o;
    o.data = s.host[static_cast<size_t>(i)];
    o.elements = t.elements;
    o.kind = t.type == ElementType::Int32 ? ElementKind::Int32 : ElementKind::Float32;
    v.push_back(o);
  }
  return v;
}

DetectResult Engine::detect(const uint8_t* pixels, int w, int h, FrameFormat format, const PreprocessSpec& spec,
                            const LayoutSpec& layout, PostprocessOptions options) {
  const TensorInfo& in = tensors_[static_cast<size_t>(input_)];
  if (spec.height != in.shape[2] || spec.width != in.shape[3]) {
    throw std::runtime_error(path_ + ": pre-processing size " + std::to_string(spec.width) + "x" +
                             std::to_string(spec.height) + " does not match the engine input " + shapeString(in.shape));
  }
  {
    // the layout against the engine's outputs (types and sizes), before any GPU work
    std::vector<OutputView> shapes;
    for (int i : outputTensor_) {
      const TensorInfo& t = tensors_[static_cast<size_t>(i)];
      static const float kShapeOnly = 0.f;  // checkOutputs reads sizes and types only
      shapes.push_back(OutputView{&kShapeOnly, t.elements,
                                  t.type == ElementType::Int32 ? ElementKind::Int32 : ElementKind::Float32});
    }
    const std::string problem = checkOutputs(layout, shapes);
    if (!problem.empty()) throw std::runtime_error(path_ + ": " + problem);
  }
  Slot& s = acquire();
  struct Release {
    Engine* e;
    Slot& s;
    ~Release() { e->release(s); }
  } release{this, s};

  DetectResult r;
  for (size_t k = 0; k < slots_.size(); ++k) {
    if (slots_[k].get() == &s) r.timings.slot = static_cast<int>(k);
  }
  float* devInput = static_cast<float*>(s.device[static_cast<size_t>(input_)]);
  const auto t0 = std::chrono::steady_clock::now();
  // 1. upload + pre-processing on this slot's stream
#if TRT_DETECT_HAVE_CUDA
  const size_t bytes = frameBytes(format, w, h);
  ensureFrameStaging(s, bytes);
  std::memcpy(s.frameHost, pixels, bytes);  // pinned: the upload below is a real async DMA
  const float stagingMs = std::chrono::duration<float, std::milli>(std::chrono::steady_clock::now() - t0).count();
  cudaCheck(cudaEventRecord(s.start, s.stream), "cudaEventRecord");
  cudaCheck(cudaMemcpyAsync(s.frameDevice, s.frameHost, bytes, cudaMemcpyHostToDevice, s.stream),
            path_ + ": frame upload");
  cudaCheck(cudaEventRecord(s.uploaded, s.stream), "cudaEventRecord");
  cuda::DeviceImage img;
  img.data = s.frameDevice;
  img.width = w;
  img.height = h;
  if (format == FrameFormat::I420) {
    const I420Planes planes = i420Planes(s.frameDevice, w, h);
    img.format = cuda::PixelFormat::I420;
    img.pitch = static_cast<size_t>(w);
    img.uv = planes.u;
    img.v = planes.v;
    img.uvPitch = static_cast<size_t>(planes.chromaWidth);
  } else {
    img.format = format == FrameFormat::Rgba ? cuda::PixelFormat::Rgba32 : cuda::PixelFormat::Rgb24;
    img.pitch = static_cast<size_t>(w) * static_cast<size_t>(packedBytesPerPixel(format));
  }
  r.transform = s.gpu->run(img, spec, devInput, s.stream);
#else
  float* hostInput = static_cast<float*>(s.host[static_cast<size_t>(input_)]);
  r.transform = preprocessFrame(pixels, w, h, format, spec, hostInput);
  const float stagingMs = std::chrono::duration<float, std::milli>(std::chrono::steady_clock::now() - t0).count();
  cudaCheck(cudaEventRecord(s.start, s.stream), "cudaEventRecord");
  cudaCheck(cudaMemcpyAsync(devInput, hostInput, in.elements * 4, cudaMemcpyHostToDevice, s.stream),
            path_ + ": input upload");
  cudaCheck(cudaEventRecord(s.uploaded, s.stream), "cudaEventRecord");
#endif
  cudaCheck(cudaEventRecord(s.preprocessed, s.stream), "cudaEventRecord");

  // 2. inference: this slot's own context, so the other slot's frame can be in flight meanwhile
  enqueue(s);
  cudaCheck(cudaEventRecord(s.inferred, s.stream), "cudaEventRecord");

  // 3. decode: the score filter on the GPU (scores_boxes), or every output to the host
  options.inputWidth = spec.width;
  options.inputHeight = spec.height;
  options.srcWidth = w;
  options.srcHeight = h;
  options.transform = r.transform;
  bool gpuFilter = false;
#if TRT_DETECT_HAVE_CUDA
  gpuFilter = layout.layout == OutputLayout::ScoresBoxes;
  size_t scoresTensor = 0, boxesTensor = 0;
  if (gpuFilter) {
    scoresTensor = static_cast<size_t>(outputTensor_[static_cast<size_t>(layout.scores)]);
    boxesTensor = static_cast<size_t>(outputTensor_[static_cast<size_t>(layout.boxes)]);
    std::vector<bool> wanted = wantedClasses(layout.numClasses, options);
    std::vector<uint8_t> bytesWanted(wanted.begin(), wanted.end());
    if (bytesWanted != s.classWanted) {
      if (s.classWantedDevice && s.classWanted.size() < bytesWanted.size()) {
        cudaFree(s.classWantedDevice);
        s.classWantedDevice = nullptr;
      }
      if (!s.classWantedDevice)
        cudaCheck(cudaMalloc(reinterpret_cast<void**>(&s.classWantedDevice), bytesWanted.size()),
                  path_ + ": cudaMalloc for the class filter");
      // rare (the detect options changed): a synchronous copy keeps the host vector's lifetime simple
      cudaCheck(cudaMemcpy(s.classWantedDevice, bytesWanted.data(), bytesWanted.size(), cudaMemcpyHostToDevice),
                path_ + ": class filter upload");
      s.classWanted = bytesWanted;
    }
    auto* count = static_cast<int*>(s.filterDevice);
    auto* cands = reinterpret_cast<ScoreCandidate*>(static_cast<uint8_t*>(s.filterDevice) + kFilterHeader);
    cudaCheck(
        cuda::launchScoreFilter(static_cast<const float*>(s.device[scoresTensor]), layout.numBoxes, layout.numClasses,
                                options.threshold, s.classWantedDevice, cands, kCandidateCapacity, count, s.stream),
        path_ + ": score filter kernel");
    cudaCheck(cudaMemcpyAsync(s.filterHost, s.filterDevice, filterBytes(), cudaMemcpyDeviceToHost, s.stream),
              path_ + ": candidates download");
    cudaCheck(cudaMemcpyAsync(s.host[boxesTensor], s.device[boxesTensor], tensors_[boxesTensor].elements * 4,
                              cudaMemcpyDeviceToHost, s.stream),
              path_ + ": boxes download");
  }
#endif
  if (!gpuFilter) {
    for (int i : outputTensor_) {
      const size_t k = static_cast<size_t>(i);
      cudaCheck(cudaMemcpyAsync(s.host[k], s.device[k], tensors_[k].elements * 4, cudaMemcpyDeviceToHost, s.stream),
                path_ + ": output download");
    }
  }
  cudaCheck(cudaEventRecord(s.done, s.stream), "cudaEventRecord");
  cudaCheck(cudaEventSynchronize(s.done), path_ + ": inference");
  const auto t1 = std::chrono::steady_clock::now();
#if TRT_DETECT_HAVE_CUDA
  if (gpuFilter) {
    const int passed = *static_cast<const int*>(s.filterHost);
    if (passed <= kCandidateCapacity) {
      const auto* cands =
          reinterpret_cast<const ScoreCandidate*>(static_cast<const uint8_t*>(s.filterHost) + kFilterHeader);
      r.detections =
          decodeScoreCandidates(cands, static_cast<size_t>(passed), static_cast<const float*>(s.host[boxesTensor]),
                                layout.numBoxes, options, layout.boxOrder);
      r.timings.gpuDecode = true;
    } else {
      // a very low threshold: the whole scores tensor, decoded on the CPU
      cudaCheck(cudaMemcpyAsync(s.host[scoresTensor], s.device[scoresTensor], tensors_[scoresTensor].elements * 4,
                                cudaMemcpyDeviceToHost, s.stream),
                path_ + ": scores download");
      cudaCheck(cudaStreamSynchronize(s.stream), path_ + ": scores download");
      gpuFilter = false;
    }
  }
#endif
  if (!gpuFilter) r.detections = decodeOutputs(layout, hostOutputs(s), options);
  const float hostDecodeMs = std::chrono::duration<float, std::milli>(std::chrono::steady_clock::now() - t1).count();
  r.timings.preprocessMs = stagingMs + elapsed(s.start, s.preprocessed);
  r.timings.inferenceMs = elapsed(s.preprocessed, s.inferred);
  r.timings.postprocessMs = elapsed(s.inferred, s.done) + hostDecodeMs;
  return r;
}

}  // namespace trt
}  // namespace trtd
