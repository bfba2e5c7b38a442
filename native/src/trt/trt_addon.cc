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

// Holds an engine between JS calls; `busy` guards against a second call while a worker uses it.
struct EngineHolder {
  std::unique_ptr<Engine> engine;
  std::atomic<bool> busy{false};
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
            if (!h->busy.load()) delete h;
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
  if (!h->engine) fail(env, std::string(fn) + ": the engine is closed");
  bool expected = false;
  if (!h->busy.compare_exchange_strong(expected, true))
    fail(env, std::string(fn) + ": the engine is busy (calls must be serialised)");
  return h;
}

// ---- infer(handle, frame, width, height, spec, outputs, format?) -> {scaleX..padY, preprocessMs, inferenceMs}

class InferWorker : public TrtWorker {
 public:
  InferWorker(Napi::Env env, EngineHolder* h) : TrtWorker(env, "trt-detect:tensorrt-infer"), holder_(h) {}
  const uint8_t* pixels = nullptr;
  int w = 0, h = 0;
  FrameFormat format = FrameFormat::Rgb24;
  PreprocessSpec spec;
  std::vector<void*> outputs;

 protected:
  void Run() override { transform_ = holder_->engine->infer(pixels, w, h, format, spec, outputs, &timings_); }
  void Done() override { holder_->busy.store(false); }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = napi::transformObject(env, transform_);
    o.Set("preprocessMs", static_cast<double>(timings_.preprocessMs));
    o.Set("inferenceMs", static_cast<double>(timings_.inferenceMs));
    return o;
  }

 private:
  EngineHolder* holder_;
  InputTransform transform_;
  InferTimings timings_;
};

Napi::Value InferFn(const Napi::CallbackInfo& info) {
  return napi::startWorker(info, [&](Napi::Env env) -> TrtWorker* {
    // all checks before taking the engine, so a bad argument never leaves it marked busy
    const napi::FrameArg frame = napi::frameArg(env, info, "infer", 1, 6);
    const PreprocessSpec spec = napi::preprocessSpecArg(env, info[4], "infer");
    if (!info[5].IsArray()) fail(env, "infer: outputs must be an array of typed arrays");
    const Napi::Array outs = info[5].As<Napi::Array>();
    // take the engine first (a close() in flight cannot free it under us), give it back on a bad argument
    EngineHolder* holder = holderArg(env, info[0], "infer");
    struct Release {
      EngineHolder* h;
      bool armed;
      ~Release() {
        if (armed) h->busy.store(false);
      }
    } release{holder, true};
    std::vector<const TensorInfo*> wanted;
    for (const TensorInfo& t : holder->engine->tensors()) {
      if (!t.input) wanted.push_back(&t);
    }
    if (outs.Length() != wanted.size())
      fail(env, "infer: outputs must hold " + std::to_string(wanted.size()) + " typed arrays");
    std::vector<void*> ptrs;
    std::vector<Napi::Value> keep;
    for (uint32_t i = 0; i < outs.Length(); ++i) {
      const Napi::Value v = outs.Get(i);
      const TensorInfo& t = *wanted[i];
      const napi_typedarray_type want = t.type == ElementType::Int32 ? napi_int32_array : napi_float32_array;
      if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != want ||
          v.As<Napi::TypedArray>().ElementLength() != t.elements) {
        fail(env, "infer: outputs[" + std::to_string(i) + "] must be a " +
                      (want == napi_int32_array ? "Int32Array" : "Float32Array") + " of " + std::to_string(t.elements) +
                      " elements (tensor " + t.name + ")");
      }
      const Napi::TypedArray ta = v.As<Napi::TypedArray>();
      ptrs.push_back(static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset());
      keep.push_back(v);
    }
    auto* worker = new InferWorker(env, holder);
    release.armed = false;  // the worker gives the engine back when it is done
    worker->pixels = frame.data.Data();
    worker->format = frame.format;
    worker->w = frame.width;
    worker->h = frame.height;
    worker->spec = spec;
    worker->outputs = std::move(ptrs);
    worker->Keep(frame.data);
    worker->Keep(info[0].As<Napi::Object>());
    for (const Napi::Value& v : keep) worker->Keep(v);
    return worker;
  });
}

// ---- closeEngine(handle) ------------------------------------------------------------------------

class CloseWorker : public TrtWorker {
 public:
  CloseWorker(Napi::Env env, EngineHolder* h) : TrtWorker(env, "trt-detect:tensorrt-close"), holder_(h) {}

 protected:
  void Run() override { holder_->engine.reset(); }
  void Done() override { holder_->busy.store(false); }
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
  t.Set("infer", Napi::Function::New(env, InferFn, "infer"));
  t.Set("closeEngine", Napi::Function::New(env, CloseEngineFn, "closeEngine"));
  t.Set("compiledVersion", compiledVersion());
  exports.Set("tensorrt", t);
}

}  // namespace trt
}  // namespace trtd
