#include "trt/builder.h"

#include <NvInferPlugin.h>
#include <NvOnnxParser.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "trt/calibrator.h"
#include "trt/logger.h"
#include "trt/trt_compat.h"

namespace trtd {
namespace trt {

void initPlugins() {
  static std::once_flag once;
  std::call_once(once, [] { initLibNvInferPlugins(&logger(), ""); });
}

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

#if TRTD_PROGRESS
// TensorRT 10: the builder reports its phases and steps.
class ProgressMonitor : public nvinfer1::IProgressMonitor {
 public:
  explicit ProgressMonitor(std::function<void(const std::string&)> out) : out_(std::move(out)) {}
  void phaseStart(char const* phaseName, char const* parentPhase, int32_t nbSteps) noexcept override {
    emit(std::string(parentPhase ? "  " : "") + (phaseName ? phaseName : "phase") + " (" + std::to_string(nbSteps) +
         " steps)");
  }
  bool stepComplete(char const* phaseName, int32_t step) noexcept override {
    // at most one line every 5 s per phase: tactic timing has thousands of steps
    const auto now = Clock::now();
    if (now - last_ > std::chrono::seconds(5)) {
      last_ = now;
      emit(std::string("  ") + (phaseName ? phaseName : "phase") + ": step " + std::to_string(step + 1));
    }
    return true;  // never cancel
  }
  void phaseFinish(char const* phaseName) noexcept override { (void)phaseName; }

 private:
  void emit(const std::string& line) noexcept {
    try {
      if (out_) out_(line);
    } catch (...) {
    }
  }
  std::function<void(const std::string&)> out_;
  Clock::time_point last_ = Clock::now();
};
#endif

// TensorRT 8.x has no progress callback: a heartbeat line every 15 s while the build runs.
class Heartbeat {
 public:
  Heartbeat(std::function<void(const std::string&)> out, Clock::time_point t0) : out_(std::move(out)), t0_(t0) {
    if (out_) thread_ = std::thread([this] { loop(); });
  }
  ~Heartbeat() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  void setStage(const std::string& stage) {
    std::lock_guard<std::mutex> lock(mutex_);
    stage_ = stage;
  }

 private:
  void loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!cv_.wait_for(lock, std::chrono::seconds(15), [this] { return done_; })) {
      char line[160];
      std::snprintf(line, sizeof(line), "%s: %.0f s elapsed", stage_.c_str(), secondsSince(t0_));
      const std::string copy(line);
      lock.unlock();
      try {
        out_(copy);
      } catch (...) {
      }
      lock.lock();
    }
  }
  std::function<void(const std::string&)> out_;
  Clock::time_point t0_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  std::string stage_ = "building";
  std::thread thread_;
};

// Installs a logger sink for the duration of a build that turns milestone INFO lines into progress.
class LogProgress {
 public:
  LogProgress(const std::function<void(const std::string&)>& out, Heartbeat& heartbeat) : heartbeat_(heartbeat) {
    if (!out) return;
    Heartbeat* hb = &heartbeat_;
    logger().setSink([out, hb](const std::string& level, const std::string& msg) {
      if (level != "info") return;
      auto starts = [&msg](const char* p) { return msg.compare(0, std::char_traits<char>::length(p), p) == 0; };
      if (starts("Starting Calibration")) {
        hb->setStage("calibrating");
        out("INT8 calibration started");
      } else if (starts("  Calibrated batch ") || starts("Calibrated batch ")) {
        const size_t at = msg.find("batch ") + 6;
        const long n = std::strtol(msg.c_str() + at, nullptr, 10);
        if ((n + 1) % 50 == 0) out("calibrated " + std::to_string(n + 1) + " images");
      } else if (starts("Calibration completed") || starts("Post Processing Calibration")) {
        hb->setStage("building");
        out(msg);
      } else if (starts("Detected ") || starts("Engine generation completed") || starts("Total Activation Memory")) {
        out(msg);
      }
    });
  }
  ~LogProgress() { logger().setSink(nullptr); }

 private:
  Heartbeat& heartbeat_;
};

std::vector<char> readFile(const std::string& path) {
  std::vector<char> out;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return out;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) out.insert(out.end(), buf, buf + n);
  std::fclose(f);
  return out;
}

bool writeFileAtomically(const std::string& path, const void* data, size_t size) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) return false;
  const bool wrote = std::fwrite(data, 1, size, f) == size;
  const bool closed = std::fclose(f) == 0;
  if (!wrote || !closed || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return false;
  }
  return true;
}

void say(const BuildOptions& o, const std::string& line) {
  if (o.progress) o.progress(line);
}

std::string dimsString(const nvinfer1::Dims& d) {
  std::string s = "[";
  for (int32_t i = 0; i < d.nbDims; ++i) s += (i ? "," : "") + std::to_string(d.d[i]);
  return s + "]";
}

// One build at a time: the logger's error/warning capture is process-wide.
std::mutex& buildMutex() {
  static std::mutex m;
  return m;
}

}  // namespace

std::vector<OnnxTensor> inspectOnnx(const std::string& onnxPath) {
  std::lock_guard<std::mutex> one(buildMutex());
  initPlugins();
  logger().takeLastError();
  Ptr<nvinfer1::IBuilder> builder(nvinfer1::createInferBuilder(logger()));
  if (!builder)
    throw std::runtime_error(onnxPath + ": TensorRT could not create a builder (" + logger().takeLastError() + ")");
#if NV_TENSORRT_MAJOR >= 10
  const nvinfer1::NetworkDefinitionCreationFlags flags = 0;
#else
  const nvinfer1::NetworkDefinitionCreationFlags flags =
      1U << static_cast<uint32_t>(nvinfer1::NetworkDefinitionCreationFlag::kEXPLICIT_BATCH);
#endif
  Ptr<nvinfer1::INetworkDefinition> network(builder->createNetworkV2(flags));
  Ptr<nvonnxparser::IParser> parser(network ? nvonnxparser::createParser(*network, logger()) : nullptr);
  if (!parser) throw std::runtime_error(onnxPath + ": TensorRT could not create the ONNX parser");
  if (!parser->parseFromFile(onnxPath.c_str(), static_cast<int>(nvinfer1::ILogger::Severity::kWARNING))) {
    const std::string first = parser->getNbErrors() > 0 ? parser->getError(0)->desc() : "unknown error";
    throw std::runtime_error(onnxPath + ": not an ONNX model TensorRT can parse: " + first);
  }
  std::vector<OnnxTensor> out;
  auto add = [&out](nvinfer1::ITensor* t, bool input) {
    OnnxTensor o;
    o.name = t->getName();
    o.input = input;
    const nvinfer1::Dims d = t->getDimensions();
    for (int32_t i = 0; i < d.nbDims; ++i) o.shape.push_back(d.d[i]);
    out.push_back(o);
  };
  for (int32_t i = 0; i < network->getNbInputs(); ++i) add(network->getInput(i), true);
  for (int32_t i = 0; i < network->getNbOutputs(); ++i) add(network->getOutput(i), false);
  return out;
}

BuildResult buildEngine(const BuildOptions& o) {
  std::lock_guard<std::mutex> one(buildMutex());
  const Clock::time_point t0 = Clock::now();
  initPlugins();
  logger().takeLastError();
  logger().takeWarnings();
  const std::string where = o.onnxPath + ": ";
  auto fail = [&](const std::string& what) -> std::runtime_error {
    const std::string trt = logger().takeLastError();
    return std::runtime_error(where + what + (trt.empty() ? "" : " (TensorRT: " + trt + ")"));
  };

  Ptr<nvinfer1::IBuilder> builder(nvinfer1::createInferBuilder(logger()));
  if (!builder) throw fail("TensorRT could not create a builder");
#if NV_TENSORRT_MAJOR >= 10
  const nvinfer1::NetworkDefinitionCreationFlags flags = 0;  // explicit batch is the only mode
#else
  const nvinfer1::NetworkDefinitionCreationFlags flags =
      1U << static_cast<uint32_t>(nvinfer1::NetworkDefinitionCreationFlag::kEXPLICIT_BATCH);
#endif
  Ptr<nvinfer1::INetworkDefinition> network(builder->createNetworkV2(flags));
  if (!network) throw fail("TensorRT could not create a network");
  Ptr<nvonnxparser::IParser> parser(nvonnxparser::createParser(*network, logger()));
  if (!parser) throw fail("TensorRT could not create the ONNX parser");
  say(o, "parsing " + o.onnxPath);
  if (!parser->parseFromFile(o.onnxPath.c_str(), static_cast<int>(nvinfer1::ILogger::Severity::kWARNING))) {
    std::string first = parser->getNbErrors() > 0 ? parser->getError(0)->desc() : "unknown error";
    throw fail("not an ONNX model TensorRT can parse: " + first);
  }
  if (network->getNbInputs() != 1) {
    throw fail("expected one image input, the model has " + std::to_string(network->getNbInputs()));
  }

  Ptr<nvinfer1::IBuilderConfig> config(builder->createBuilderConfig());
  if (!config) throw fail("TensorRT could not create a builder config");
#if TRTD_MEMORY_POOLS
  config->setMemoryPoolLimit(nvinfer1::MemoryPoolType::kWORKSPACE, o.workspaceBytes);
#else
  config->setMaxWorkspaceSize(o.workspaceBytes);
#endif

  // Dynamic input dimensions: one optimisation profile pinned to batch 1 and the given size.
  nvinfer1::ITensor* input = network->getInput(0);
  nvinfer1::Dims dims = input->getDimensions();
  bool dynamic = false;
  for (int32_t i = 0; i < dims.nbDims; ++i) dynamic = dynamic || dims.d[i] < 0;
  nvinfer1::IOptimizationProfile* profile = nullptr;
  if (dynamic) {
    if (dims.nbDims != 4)
      throw fail("input " + std::string(input->getName()) + " has shape " + dimsString(dims) + ", expected [N,3,H,W]");
    nvinfer1::Dims fixed = dims;
    if (fixed.d[0] < 0) fixed.d[0] = 1;
    if (fixed.d[1] < 0) fixed.d[1] = 3;
    if (fixed.d[2] < 0) fixed.d[2] = o.inputHeight;
    if (fixed.d[3] < 0) fixed.d[3] = o.inputWidth;
    if (fixed.d[2] <= 0 || fixed.d[3] <= 0) {
      throw fail("input " + std::string(input->getName()) + " has a dynamic size " + dimsString(dims) +
                 " (set model.input.width and model.input.height)");
    }
    profile = builder->createOptimizationProfile();
    for (auto sel :
         {nvinfer1::OptProfileSelector::kMIN, nvinfer1::OptProfileSelector::kOPT, nvinfer1::OptProfileSelector::kMAX}) {
      profile->setDimensions(input->getName(), sel, fixed);
    }
    config->addOptimizationProfile(profile);
    dims = fixed;
    say(o, "dynamic input " + std::string(input->getName()) + " fixed to " + dimsString(fixed));
  }
  size_t inputFloats = 1;
  for (int32_t i = 0; i < dims.nbDims; ++i) inputFloats *= static_cast<size_t>(dims.d[i]);

  BuildResult result;
  result.precision = o.precision;
  std::unique_ptr<EntropyCalibrator> calibrator;
  TRTD_ALLOW_DEPRECATED_BEGIN
  if (o.precision == "fp16") {
    config->setFlag(nvinfer1::BuilderFlag::kFP16);
  } else if (o.precision == "int8") {
    config->setFlag(nvinfer1::BuilderFlag::kINT8);
    if (builder->platformHasFastFp16()) config->setFlag(nvinfer1::BuilderFlag::kFP16);  // layers INT8 cannot run
    calibrator = std::make_unique<EntropyCalibrator>(o.calibrationFiles, inputFloats, o.calibrationCache);
    config->setInt8Calibrator(calibrator.get());
    if (profile) config->setCalibrationProfile(profile);
    say(o, "INT8 calibration: " + std::to_string(o.calibrationFiles.size()) + " images" +
               (o.calibrationCache.empty() ? "" : ", cache " + o.calibrationCache));
  } else if (o.precision != "fp32") {
    throw std::runtime_error(where + "unknown precision \"" + o.precision + "\" (expected int8, fp16 or fp32)");
  }
  TRTD_ALLOW_DEPRECATED_END

  // Timing cache: a rebuild (new model version, other precision) skips the tactic timing TensorRT
  // already did on this GPU. A cache from another GPU/TensorRT is rejected by TensorRT: start empty.
  Ptr<nvinfer1::ITimingCache> timing;
  if (!o.timingCache.empty()) {
    std::vector<char> blob = readFile(o.timingCache);
    timing.reset(config->createTimingCache(blob.empty() ? nullptr : blob.data(), blob.size()));
    if (timing && !config->setTimingCache(*timing, false)) {
      timing.reset(config->createTimingCache(nullptr, 0));
      if (timing) config->setTimingCache(*timing, false);
    }
    if (!blob.empty()) say(o, "timing cache " + o.timingCache + (timing ? "" : " unusable, starting empty"));
    logger().takeLastError();  // a rejected (foreign) cache is not this build's error
  }

#if TRTD_PROGRESS
  ProgressMonitor monitor(o.progress);
  if (o.progress) config->setProgressMonitor(&monitor);
#endif
  say(o, "building the " + o.precision + " engine (this takes minutes on a Jetson)");
  Ptr<nvinfer1::IHostMemory> plan;
  {
#if TRTD_PROGRESS
    Heartbeat heartbeat(nullptr, t0);
#else
    Heartbeat heartbeat(o.progress, t0);
#endif
    // The builder's own milestones from its log (all TensorRT versions; on 8.x the only progress
    // there is besides the heartbeat): calibration start/end, every 50th calibration batch, done.
    LogProgress forward(o.progress, heartbeat);
    plan.reset(builder->buildSerializedNetwork(*network, *config));
  }
  if (calibrator) {
    result.calibrationBatches = calibrator->batchesRead();
    if (!calibrator->error().empty()) throw std::runtime_error(where + calibrator->error());
  }
  if (!plan || plan->size() == 0) throw fail("TensorRT could not build the engine");

  if (!writeFileAtomically(o.enginePath, plan->data(), plan->size())) {
    throw std::runtime_error(o.enginePath +
                             ": cannot write the engine (check the folder exists, is writable and has space)");
  }
  if (timing) {
    Ptr<nvinfer1::IHostMemory> data(config->getTimingCache()->serialize());
    if (!data || !writeFileAtomically(o.timingCache, data->data(), data->size())) {
      result.warnings.push_back("cannot write the timing cache " + o.timingCache);
    }
  }
  result.engineBytes = plan->size();
  result.seconds = secondsSince(t0);
  {
    std::vector<std::string> trtWarnings = logger().takeWarnings();
    result.warnings.insert(result.warnings.begin(), trtWarnings.begin(), trtWarnings.end());
  }
  if (calibrator && !calibrator->cacheError().empty()) result.warnings.push_back(calibrator->cacheError());
  return result;
}

}  // namespace trt
}  // namespace trtd
