// Node-API face of the TensorRT backend. Same rules as addon.cc: argument checks here, every
// TensorRT/CUDA call on a worker thread (Napi::AsyncWorker), every failure one rejected Promise
// with a one-line message; JS buffers used in place, kept alive while a worker runs.
#include "trt/trt_addon.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "napi_util.h"
#include "trt/builder.h"
#include "trt/device_info.h"
#include "trt/engine.h"

namespace trtd {
namespace trt {

namespace {

using napi::fail;
using napi::intArg;
using napi::kMaxSide;
using napi::stringArg;
using TrtWorker = napi::PromiseWorker;

// Holds an engine between JS calls. detect() calls may overlap (the engine has Engine::kSlots
// buffer sets); `inFlight` counts them, and close() refuses while any runs. All of these fields
// change on the JS thread only (argument checks and Done()).
struct EngineHolder {
  std::unique_ptr<Engine> engine;
  std::atomic<int> inFlight{0};
  std::atomic<bool> closing{false};
};

// ---- deviceInfo() -------------------------------------------------------------------------------

class DeviceInfoWorker : public TrtWorker {
 public:
  using TrtWorker::TrtWorker;

 protected:
  void Run() override { info_ = queryDevice(); }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("tensorrtVersion", info_.tensorrtVersion);
    o.Set("compiledVersion", info_.compiledVersion);
    o.Set("gpuName", info_.gpuName);
    o.Set("computeCapability", std::to_string(info_.ccMajor) + "." + std::to_string(info_.ccMinor));
    o.Set("totalMemory", static_cast<double>(info_.totalMemory));
    o.Set("fastFp16", info_.fastFp16);
    o.Set("fastInt8", info_.fastInt8);
    return o;
  }

 private:
  DeviceInfo info_;
};

Napi::Value DeviceInfoFn(const Napi::CallbackInfo& info) {
  return napi::startWorker(
      info, [&](Napi::Env env) -> TrtWorker* { return new DeviceInfoWorker(env, "trt-detect:tensorrt-device"); });
}

// ---- buildEngine(options, onProgress?) ----------------------------------------------------------

class BuildWorker : public TrtWorker {
 public:
  BuildWorker(Napi::Env env, BuildOptions o, Napi::Value onProgress)
      : TrtWorker(env, "trt-detect:tensorrt-build"), options_(std::move(o)) {
    if (onProgress.IsFunction()) {
      tsfn_ = Napi::ThreadSafeFunction::New(env, onProgress.As<Napi::Function>(), "trt-detect:build-progress", 0, 1);
      hasTsfn_ = true;
      Napi::ThreadSafeFunction tsfn = tsfn_;
      options_.progress = [tsfn](const std::string& line) mutable {
        auto* copy = new std::string(line);
        const napi_status s = tsfn.BlockingCall(copy, [](Napi::Env env, Napi::Function fn, std::string* text) {
          fn.Call({Napi::String::New(env, *text)});
          delete text;
        });
        if (s != napi_ok) delete copy;
      };
    }
  }

 protected:
  void Run() override { result_ = buildEngine(options_); }
  void Done() override {
    if (hasTsfn_) {
      tsfn_.Release();
      hasTsfn_ = false;
    }
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("precision", result_.precision);
    o.Set("engineBytes", static_cast<double>(result_.engineBytes));
    o.Set("seconds", result_.seconds);
    o.Set("calibrationBatches", static_cast<double>(result_.calibrationBatches));
    Napi::Array w = Napi::Array::New(env, result_.warnings.size());
    for (size_t i = 0; i < result_.warnings.size(); ++i) w.Set(static_cast<uint32_t>(i), result_.warnings[i]);
    o.Set("warnings", w);
    return o;
  }

 private:
  BuildOptions options_;
  BuildResult result_;
  Napi::ThreadSafeFunction tsfn_;
  bool hasTsfn_ = false;
};

Napi::Value BuildEngineFn(const Napi::CallbackInfo& info) {
  return napi::startWorker(info, [&](Napi::Env env) -> TrtWorker* {
    const Napi::Object o = napi::objectArg(env, info[0], "buildEngine: options");
    BuildOptions b;
    b.onnxPath = stringArg(env, o.Get("onnxPath"), "buildEngine: options.onnxPath");
    b.enginePath = stringArg(env, o.Get("enginePath"), "buildEngine: options.enginePath");
    b.precision = napi::choiceArg(env, o.Get("precision"), "buildEngine: options.precision", {"int8", "fp16", "fp32"});
    const Napi::Value files = o.Get("calibrationFiles");
    if (files.IsArray()) {
      const Napi::Array a = files.As<Napi::Array>();
      for (uint32_t i = 0; i < a.Length(); ++i) {
        b.calibrationFiles.push_back(
            stringArg(env, a.Get(i), "buildEngine: options.calibrationFiles[" + std::to_string(i) + "]"));
      }
    }
    const Napi::Value cache = o.Get("calibrationCache");
    if (cache.IsString()) b.calibrationCache = cache.As<Napi::String>().Utf8Value();
    const Napi::Value tc = o.Get("timingCache");
    if (tc.IsString()) b.timingCache = tc.As<Napi::String>().Utf8Value();
    const Napi::Value ws = o.Get("workspaceMb");
    if (!ws.IsUndefined())
      b.workspaceBytes = static_cast<size_t>(intArg(env, ws, "buildEngine: options.workspaceMb", 16, 1 << 20)) << 20;
    const Napi::Value iw = o.Get("inputWidth");
    if (!iw.IsUndefined() && !iw.IsNull())
      b.inputWidth = intArg(env, iw, "buildEngine: options.inputWidth", 1, kMaxSide);
    const Napi::Value ih = o.Get("inputHeight");
    if (!ih.IsUndefined() && !ih.IsNull())
      b.inputHeight = intArg(env, ih, "buildEngine: options.inputHeight", 1, kMaxSide);
    return new BuildWorker(env, std::move(b), info[1]);
  });
}

// ---- inspectOnnx(path) -> [{name, input, shape}] -------------------------------------------------

class InspectWorker : public TrtWorker {
 public:
  InspectWorker(Napi::Env env, std::string path)
      : TrtWorker(env, "trt-detect:tensorrt-inspect"), path_(std::move(path)) {}

 protected:
  void Run() override { tensors_ = inspectOnnx(path_); }
  Napi::Value Result(Napi::Env env) override {
    Napi::Array arr = Napi::Array::New(env, tensors_.size());
    for (size_t i = 0; i < tensors_.size(); ++i) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("name", tensors_[i].name);
      o.Set("input", tensors_[i].input);
      Napi::Array shape = Napi::Array::New(env, tensors_[i].shape.size());
      for (size_t k = 0; k < tensors_[i].shape.size(); ++k)
        shape.Set(static_cast<uint32_t>(k), static_cast<double>(tensors_[i].shape[k]));
      o.Set("shape", shape);
      arr.Set(static_cast<uint32_t>(i), o);
    }
    return arr;
  }

 private:
  std::string path_;
  std::vector<OnnxTensor> tensors_;
};

Napi::Value InspectOnnxFn(const Napi::CallbackInfo& info) {
  return napi::startWorker(info, [&](Napi::Env env) -> TrtWorker* {
    return new InspectWorker(env, stringArg(env, info[0], "inspectOnnx: path"));
  });
}

// ---- openEngine(path) -> { handle, tensors, gpuPreprocess, deviceMemoryBytes } -----------------

const char* typeName(ElementType t) {
  return t == ElementType::Float32 ? "float32" : (t == ElementType::Int32 ? "int32" : "unsupported");
}

class OpenWorker : public TrtWorker {
 public:
  OpenWorker(Napi::Env env, std::string path) : TrtWorker(env, "trt-detect:tensorrt-open"), path_(std::move(path)) {}

 protected:
  void Run() override { engine_ = Engine::load(path_); }
  Napi::Value Result(Napi::Env env) override {
    auto* holder = new EngineHolder();
    holder->engine = std::move(engine_);
    const Engine& e = *holder->engine;
    Napi::Object o = Napi::Object::New(env);
    Napi::Array tensors = Napi::Array::New(env, e.tensors().size());
    for (size_t i = 0; i < e.tensors().size(); ++i) {
      const TensorInfo& t = e.tensors()[i];
      Napi::Object to = Napi::Object::New(env);
      to.Set("name", t.name);
      to.Set("input", t.input);
      Napi::Array shape = Napi::Array::New(env, t.shape.size());
      for (size_t k = 0; k < t.shape.size(); ++k) shape.Set(static_cast<uint32_t>(k), static_cast<double>(t.shape[k]));
      to.Set("shape", shape);
      to.Set("type", typeName(t.type));
      to.Set("elements", static_cast<double>(t.elements));
      tensors.Set(static_cast<uint32_t>(i), to);
    }
    o.Set("tensors", tensors);
    o.Set("gpuPreprocess", Engine::gpuPreprocess());
    o.Set("deviceMemoryBytes", static_cast<double>(e.deviceMemoryBytes()));
    o.Set("handle", Napi::External<EngineHolder>::New(env, holder, [](Napi::Env, EngineHolder* h) {
            // garbage-collected without close(): free it unless a worker still runs (then it leaks
            // rather than crashing; close() is the documented way)
            if (h->inFlight.load() == 0 && !h->closing.load()) delete h;
          }));
    return o;
  }

 private:
  std::string path_;
  std::unique_ptr<Engine> engine_;
};

Napi::Value OpenEngineFn(const Napi::CallbackInfo& info) {
  return napi::startWorker(info, [&](Napi::Env env) -> TrtWorker* {
    return new OpenWorker(env, stringArg(env, info[0], "openEngine: path"));
  });
}

EngineHolder* holderArg(const Napi::Env& env, const Napi::Value& v, const char* fn) {
  if (!v.IsExternal()) fail(env, std::string(fn) + ": handle must be the handle openEngine returned");
  EngineHolder* h = v.As<Napi::External<EngineHolder>>().Data();
  if (!h->engine || h->closing.load()) fail(env, std::string(fn) + ": the engine is closed");
  return h;
}

// ---- detect(handle, frame, width, height, format, spec, layout, options) -------------------------
// -> {detections, scaleX..padY, preprocessMs, inferenceMs, postprocessMs, gpuDecode, slot}
// One call per frame: upload, pre-processing, inference, decode and NMS in the engine, only the
// final boxes back. Up to Engine::kSlots calls overlap (double buffering); more wait for a slot.

class DetectWorker : public TrtWorker {
 public:
  DetectWorker(Napi::Env env, EngineHolder* h) : TrtWorker(env, "trt-detect:tensorrt-detect"), holder_(h) {
    holder_->inFlight.fetch_add(1);
  }
  const uint8_t* pixels = nullptr;
  int w = 0, h = 0;
  FrameFormat format = FrameFormat::Rgb24;
  PreprocessSpec spec;
  LayoutSpec layout;
  PostprocessOptions options;
  bool appearance = false;

 protected:
  void Run() override {
    result_ = holder_->engine->detect(pixels, w, h, format, spec, layout, options);
    // the final boxes' appearance features, from the host frame, on this worker thread
    if (appearance) features_ = appearanceFeatures(pixels, w, h, format, result_.detections);
  }
  void Done() override { holder_->inFlight.fetch_sub(1); }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = napi::transformObject(env, result_.transform);
    o.Set("detections", napi::detectionsArray(env, result_.detections, appearance ? &features_ : nullptr));
    o.Set("preprocessMs", static_cast<double>(result_.timings.preprocessMs));
    o.Set("inferenceMs", static_cast<double>(result_.timings.inferenceMs));
    o.Set("postprocessMs", static_cast<double>(result_.timings.postprocessMs));
    o.Set("gpuDecode", result_.timings.gpuDecode);
    o.Set("slot", result_.timings.slot);
    return o;
  }

 private:
  EngineHolder* holder_;
  DetectResult result_;
  std::vector<float> features_;
};

Napi::Value DetectFn(const Napi::CallbackInfo& info) {
  return napi::startWorker(info, [&](Napi::Env env) -> TrtWorker* {
    // every check before the worker exists, so a bad argument never counts as in flight
    EngineHolder* holder = holderArg(env, info[0], "detect");
    const napi::FrameArg frame = napi::frameArg(env, info, "detect", 1, 4);
    const PreprocessSpec spec = napi::preprocessSpecArg(env, info[5], "detect");
    const LayoutSpec layout = napi::layoutSpecArg(env, info[6], "detect: layout");
    const PostprocessOptions options = napi::postprocessOptionsArg(env, info[7], "detect", false);
    const bool appearance = napi::appearanceOptionArg(env, info[7], "detect");
    size_t outputs = 0;
    for (const TensorInfo& t : holder->engine->tensors()) outputs += t.input ? 0 : 1;
    for (int index :
         {layout.scores, layout.boxes, layout.detections, layout.keepCount, layout.numDets, layout.classes}) {
      if (index >= static_cast<int>(outputs))
        fail(env, "detect: layout names output " + std::to_string(index) + " but the engine has " +
                      std::to_string(outputs) + " outputs");
    }
    auto* worker = new DetectWorker(env, holder);
    worker->pixels = frame.data.Data();
    worker->format = frame.format;
    worker->w = frame.width;
    worker->h = frame.height;
    worker->spec = spec;
    worker->layout = layout;
    worker->options = options;
    worker->appearance = appearance;
    worker->Keep(frame.data);
    worker->Keep(info[0].As<Napi::Object>());
    return worker;
  });
}

// ---- closeEngine(handle) ------------------------------------------------------------------------

class CloseWorker : public TrtWorker {
 public:
  CloseWorker(Napi::Env env, EngineHolder* h) : TrtWorker(env, "trt-detect:tensorrt-close"), holder_(h) {}

 protected:
  void Run() override { holder_->engine.reset(); }
  void Done() override { holder_->closing.store(false); }
  Napi::Value Result(Napi::Env env) override { return env.Undefined(); }

 private:
  EngineHolder* holder_;
};

Napi::Value CloseEngineFn(const Napi::CallbackInfo& info) {
  return napi::startWorker(info, [&](Napi::Env env) -> TrtWorker* {
    if (info[0].IsExternal() && !info[0].As<Napi::External<EngineHolder>>().Data()->engine) {
      // closing twice is harmless
      struct Noop : TrtWorker {
        using TrtWorker::TrtWorker;
        void Run() override {}
        Napi::Value Result(Napi::Env e) override { return e.Undefined(); }
      };
      return new Noop(env, "trt-detect:tensorrt-close");
    }
    EngineHolder* holder = holderArg(env, info[0], "closeEngine");
    if (holder->inFlight.load() > 0)
      fail(env, "closeEngine: detect calls are still running (wait for them before closing)");
    holder->closing.store(true);
    auto* worker = new CloseWorker(env, holder);
    worker->Keep(info[0].As<Napi::Object>());
    return worker;
  });
}

}  // namespace

void registerTensorRt(Napi::Env env, Napi::Object exports) {
  Napi::Object t = Napi::Object::New(env);
  t.Set("deviceInfo", Napi::Function::New(env, DeviceInfoFn, "deviceInfo"));
  t.Set("buildEngine", Napi::Function::New(env, BuildEngineFn, "buildEngine"));
  t.Set("inspectOnnx", Napi::Function::New(env, InspectOnnxFn, "inspectOnnx"));
  t.Set("openEngine", Napi::Function::New(env, OpenEngineFn, "openEngine"));
  t.Set("detect", Napi::Function::New(env, DetectFn, "detect"));
  t.Set("closeEngine", Napi::Function::New(env, CloseEngineFn, "closeEngine"));
  t.Set("compiledVersion", compiledVersion());
  exports.Set("tensorrt", t);
}

}  // namespace trt
}  // namespace trtd
