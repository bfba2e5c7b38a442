#include "trt/engine.h"

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
  e->context_.reset(e->engine_->createExecutionContext());
  if (!e->context_)
    throw std::runtime_error(path + ": TensorRT could not create an execution context (out of GPU memory?)");
  e->describe();
  e->allocate();
  return e;
}

void Engine::describe() {
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
      if (!context_->setInputShape(name, dims))
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
      if (!context_->setBindingDimensions(i, dims))
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
      t.shape = toShape(context_->getTensorShape(t.name.c_str()), implicitBatch_);
#else
      t.shape = toShape(context_->getBindingDimensions(static_cast<int32_t>(i)), implicitBatch_);
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
}

void Engine::allocate() {
  cudaCheck(cudaStreamCreate(&stream_), path_ + ": cudaStreamCreate");
  for (cudaEvent_t& ev : events_) cudaCheck(cudaEventCreate(&ev), path_ + ": cudaEventCreate");
  device_.assign(tensors_.size(), nullptr);
  host_.assign(tensors_.size(), nullptr);
  bindings_.assign(tensors_.size(), nullptr);
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const size_t bytes = tensors_[i].elements * 4;
    cudaCheck(cudaMalloc(&device_[i], bytes), path_ + ": cudaMalloc for " + tensors_[i].name + " (out of GPU memory?)");
    cudaCheck(cudaMallocHost(&host_[i], bytes), path_ + ": cudaMallocHost for " + tensors_[i].name);
    deviceBytes_ += bytes;
    bindings_[static_cast<size_t>(bindingIndex_[i])] = device_[i];
#if TRTD_NAMED_TENSORS
    // implicit-batch engines (8.5/8.6) run through the bindings array, not named addresses
    if (!implicitBatch_ && !context_->setTensorAddress(tensors_[i].name.c_str(), device_[i])) {
      throw std::runtime_error(path_ + ": cannot bind tensor " + tensors_[i].name);
    }
#endif
  }
#if TRT_DETECT_HAVE_CUDA
  gpu_.reset(new cuda::GpuPreprocessor());
#endif
}

void Engine::ensureFrameStaging(size_t bytes) {
  if (bytes <= frameCapacity_) return;
  if (frameHost_) cudaFreeHost(frameHost_);
  if (frameDevice_) cudaFree(frameDevice_);
  frameHost_ = nullptr;
  frameDevice_ = nullptr;
  frameCapacity_ = 0;
  cudaCheck(cudaMallocHost(reinterpret_cast<void**>(&frameHost_), bytes), path_ + ": cudaMallocHost for the frame");
  cudaCheck(cudaMalloc(reinterpret_cast<void**>(&frameDevice_), bytes), path_ + ": cudaMalloc for the frame");
  frameCapacity_ = bytes;
}

Engine::~Engine() {
  if (stream_) cudaStreamSynchronize(stream_);
#if TRT_DETECT_HAVE_CUDA
  gpu_.reset();
#endif
  context_.reset();
  engine_.reset();
  runtime_.reset();
  for (void* p : device_) {
    if (p) cudaFree(p);
  }
  for (void* p : host_) {
    if (p) cudaFreeHost(p);
  }
  if (frameHost_) cudaFreeHost(frameHost_);
  if (frameDevice_) cudaFree(frameDevice_);
  for (cudaEvent_t ev : events_) {
    if (ev) cudaEventDestroy(ev);
  }
  if (stream_) cudaStreamDestroy(stream_);
}

InputTransform Engine::infer(const uint8_t* pixels, int w, int h, FrameFormat format, const PreprocessSpec& spec,
                             const std::vector<void*>& outputs, InferTimings* timings) {
  const TensorInfo& in = tensors_[static_cast<size_t>(input_)];
  if (spec.height != in.shape[2] || spec.width != in.shape[3]) {
    throw std::runtime_error(path_ + ": pre-processing size " + std::to_string(spec.width) + "x" +
                             std::to_string(spec.height) + " does not match the engine input " + shapeString(in.shape));
  }
  size_t nOutputs = 0;
  for (const TensorInfo& t : tensors_) nOutputs += t.input ? 0 : 1;
  if (outputs.size() != nOutputs)
    throw std::runtime_error(path_ + ": expected " + std::to_string(nOutputs) + " output buffers");

  float* devInput = static_cast<float*>(device_[static_cast<size_t>(input_)]);
  InputTransform transform;
  cudaCheck(cudaEventRecord(events_[0], stream_), "cudaEventRecord");
#if TRT_DETECT_HAVE_CUDA
  const size_t bytes = frameBytes(format, w, h);
  ensureFrameStaging(bytes);
  std::memcpy(frameHost_, pixels, bytes);
  cudaCheck(cudaMemcpyAsync(frameDevice_, frameHost_, bytes, cudaMemcpyHostToDevice, stream_),
            path_ + ": frame upload");
  cuda::DeviceImage img;
  img.data = frameDevice_;
  img.width = w;
  img.height = h;
  if (format == FrameFormat::I420) {
    const I420Planes planes = i420Planes(frameDevice_, w, h);
    img.format = cuda::PixelFormat::I420;
    img.pitch = static_cast<size_t>(w);
    img.uv = planes.u;
    img.v = planes.v;
    img.uvPitch = static_cast<size_t>(planes.chromaWidth);
  } else {
    img.format = format == FrameFormat::Rgba ? cuda::PixelFormat::Rgba32 : cuda::PixelFormat::Rgb24;
    img.pitch = static_cast<size_t>(w) * static_cast<size_t>(packedBytesPerPixel(format));
  }
  transform = gpu_->run(img, spec, devInput, stream_);
#else
  float* hostInput = static_cast<float*>(host_[static_cast<size_t>(input_)]);
  transform = preprocessFrame(pixels, w, h, format, spec, hostInput);
  cudaCheck(cudaMemcpyAsync(devInput, hostInput, in.elements * 4, cudaMemcpyHostToDevice, stream_),
            path_ + ": input upload");
#endif
  cudaCheck(cudaEventRecord(events_[1], stream_), "cudaEventRecord");

  bool ok;
  TRTD_ALLOW_DEPRECATED_BEGIN
#if TRTD_IMPLICIT_BATCH
  if (implicitBatch_) {
    ok = context_->enqueue(1, bindings_.data(), stream_, nullptr);
  } else
#endif
  {
#if TRTD_NAMED_TENSORS
    ok = context_->enqueueV3(stream_);
#else
    ok = context_->enqueueV2(bindings_.data(), stream_, nullptr);
#endif
  }
  TRTD_ALLOW_DEPRECATED_END
  if (!ok) {
    cudaStreamSynchronize(stream_);
    const std::string trt = logger().takeLastError();
    throw std::runtime_error(path_ + ": inference failed" + (trt.empty() ? "" : " (TensorRT: " + trt + ")"));
  }
  size_t k = 0;
  for (size_t i = 0; i < tensors_.size(); ++i) {
    if (tensors_[i].input) continue;
    cudaCheck(cudaMemcpyAsync(host_[i], device_[i], tensors_[i].elements * 4, cudaMemcpyDeviceToHost, stream_),
              path_ + ": output download");
    ++k;
  }
  cudaCheck(cudaEventRecord(events_[2], stream_), "cudaEventRecord");
  cudaCheck(cudaStreamSynchronize(stream_), path_ + ": inference");
  k = 0;
  for (size_t i = 0; i < tensors_.size(); ++i) {
    if (tensors_[i].input) continue;
    std::memcpy(outputs[k++], host_[i], tensors_[i].elements * 4);
  }
  if (timings) {
    cudaEventElapsedTime(&timings->preprocessMs, events_[0], events_[1]);
    cudaEventElapsedTime(&timings->inferenceMs, events_[1], events_[2]);
  }
  return transform;
}

}  // namespace trt
}  // namespace trtd
