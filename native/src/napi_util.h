// What every Node-API entry point of the addon shares (addon.cc and, when built, trt/trt_addon.cc):
// argument helpers that throw a TypeError naming the argument, what it wants and what it got, and
// the Promise-returning AsyncWorker that runs the work off the event loop.
#pragma once

#include <napi.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <exception>
#include <initializer_list>
#include <string>
#include <vector>

#include "appearance.h"
#include "postprocess.h"
#include "preprocess.h"

namespace trtd {
namespace napi {

constexpr int kMaxSide = 16384;  // frame and model sides above this are surely a mistake

// A short description of a JS value for error messages: 3, "abc", undefined, an array, ...
inline std::string describe(const Napi::Value& v) {
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsNumber()) {
    const double d = v.As<Napi::Number>().DoubleValue();
    if (std::isnan(d)) return "NaN";
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.10g", d);
    return buf;
  }
  if (v.IsString()) return "\"" + v.As<Napi::String>().Utf8Value() + "\"";
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? "true" : "false";
  if (v.IsTypedArray())
    return "a typed array of " + std::to_string(v.As<Napi::TypedArray>().ElementLength()) + " elements";
  if (v.IsArray()) return "an array";
  if (v.IsFunction()) return "a function";
  return "an object";
}

[[noreturn]] inline void fail(const Napi::Env& env, const std::string& message) {
  throw Napi::TypeError::New(env, message);
}

inline Napi::Object objectArg(const Napi::Env& env, const Napi::Value& v, const std::string& name) {
  if (!v.IsObject() || v.IsArray()) fail(env, name + " must be an object (got " + describe(v) + ")");
  return v.As<Napi::Object>();
}

inline std::string stringArg(const Napi::Env& env, const Napi::Value& v, const std::string& name) {
  if (!v.IsString()) fail(env, name + " must be a string (got " + describe(v) + ")");
  return v.As<Napi::String>().Utf8Value();
}

inline double numberArg(const Napi::Env& env, const Napi::Value& v, const std::string& name) {
  if (!v.IsNumber()) fail(env, name + " must be a number (got " + describe(v) + ")");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d)) fail(env, name + " must be a finite number (got " + describe(v) + ")");
  return d;
}

inline int intArg(const Napi::Env& env, const Napi::Value& v, const std::string& name, int lo, int hi) {
  const bool isInt = v.IsNumber() && std::isfinite(v.As<Napi::Number>().DoubleValue()) &&
                     std::floor(v.As<Napi::Number>().DoubleValue()) == v.As<Napi::Number>().DoubleValue();
  const double d = isInt ? v.As<Napi::Number>().DoubleValue() : 0;
  if (!isInt || d < lo || d > hi) {
    fail(env, name + " must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi) + " (got " +
                  describe(v) + ")");
  }
  return static_cast<int>(d);
}

// One of `choices` (a string), returned as it is.
inline std::string choiceArg(const Napi::Env& env, const Napi::Value& v, const std::string& name,
                             std::initializer_list<const char*> choices) {
  std::string list;
  for (const char* c : choices) {
    if (v.IsString() && v.As<Napi::String>().Utf8Value() == c) return c;
    list += (list.empty() ? "\"" : ", \"") + std::string(c) + "\"";
  }
  fail(env, name + " must be one of " + list + " (got " + describe(v) + ")");
}

inline bool boolArg(const Napi::Env& env, const Napi::Value& v, const std::string& name) {
  if (!v.IsBoolean()) fail(env, name + " must be true or false (got " + describe(v) + ")");
  return v.As<Napi::Boolean>().Value();
}

// An optional array of class ids (undefined or null: empty).
inline std::vector<int> intListArg(const Napi::Env& env, const Napi::Value& v, const std::string& name) {
  std::vector<int> out;
  if (v.IsUndefined() || v.IsNull()) return out;
  if (!v.IsArray()) fail(env, name + " must be an array of class ids (got " + describe(v) + ")");
  const Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); ++i) {
    out.push_back(intArg(env, a.Get(i), name + "[" + std::to_string(i) + "]", 0, 1 << 30));
  }
  return out;
}

// An array of 3 finite numbers (mean, std).
inline void tripleArg(const Napi::Env& env, const Napi::Value& v, const std::string& name, float out[3]) {
  if (!v.IsArray() || v.As<Napi::Array>().Length() != 3) {
    fail(env, name + " must be an array of 3 numbers (got " + describe(v) + ")");
  }
  const Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < 3; ++i)
    out[i] = static_cast<float>(numberArg(env, a.Get(i), name + "[" + std::to_string(i) + "]"));
}

inline const char* typedArrayName(napi_typedarray_type t) {
  switch (t) {
    case napi_uint8_array:
      return "Uint8Array";
    case napi_float32_array:
      return "Float32Array";
    case napi_int32_array:
      return "Int32Array";
    case napi_bigint64_array:
      return "BigInt64Array";
    default:
      return "another typed array";
  }
}

// A typed array of one of `types`.
inline Napi::TypedArray typedArrayArg(const Napi::Env& env, const Napi::Value& v, const std::string& name,
                                      std::initializer_list<napi_typedarray_type> types) {
  std::string want;
  for (napi_typedarray_type t : types) want += (want.empty() ? "" : " or ") + std::string(typedArrayName(t));
  if (!v.IsTypedArray()) fail(env, name + " must be a " + want + " (got " + describe(v) + ")");
  const Napi::TypedArray a = v.As<Napi::TypedArray>();
  for (napi_typedarray_type t : types) {
    if (a.TypedArrayType() == t) return a;
  }
  fail(env, name + " must be a " + want + " (got a " + typedArrayName(a.TypedArrayType()) + ")");
}

inline void expectLength(const Napi::Env& env, const Napi::TypedArray& a, const std::string& name, size_t want,
                         const std::string& why) {
  if (a.ElementLength() != want) {
    fail(env, name + " has " + std::to_string(a.ElementLength()) + " elements but " + why + " needs " +
                  std::to_string(want));
  }
}

// The pre-processing spec object {width, height, mean, std, color, resize} of `fn` (preprocess,
// infer): every field checked, messages "<fn>: spec.<field> ...".
inline PreprocessSpec preprocessSpecArg(const Napi::Env& env, const Napi::Value& v, const std::string& fn) {
  const Napi::Object s = objectArg(env, v, fn + ": spec");
  PreprocessSpec spec;
  spec.width = intArg(env, s.Get("width"), fn + ": spec.width", 1, kMaxSide);
  spec.height = intArg(env, s.Get("height"), fn + ": spec.height", 1, kMaxSide);
  tripleArg(env, s.Get("mean"), fn + ": spec.mean", spec.mean);
  tripleArg(env, s.Get("std"), fn + ": spec.std", spec.std);
  for (int c = 0; c < 3; ++c) {
    if (spec.std[c] == 0.f) fail(env, fn + ": spec.std[" + std::to_string(c) + "] must not be 0");
  }
  spec.color = choiceArg(env, s.Get("color"), fn + ": spec.color", {"rgb", "bgr"}) == "bgr" ? ChannelOrder::Bgr
                                                                                            : ChannelOrder::Rgb;
  spec.resize = choiceArg(env, s.Get("resize"), fn + ": spec.resize", {"stretch", "letterbox"}) == "letterbox"
                    ? ResizeMode::Letterbox
                    : ResizeMode::Stretch;
  return spec;
}

// The layout of a frame argument: `format` ("rgb24", "rgba" or "i420") when it is given, else the
// byte length says (width*height*3 RGB24, width*height*4 RGBA). A TypeError names `fn` when the
// length does not fit.
inline FrameFormat frameFormatArg(const Napi::Env& env, const Napi::Value& format, size_t byteLength, int width,
                                  int height, const std::string& fn) {
  const std::string size = std::to_string(width) + "x" + std::to_string(height);
  if (format.IsUndefined() || format.IsNull()) {
    if (byteLength == frameBytes(FrameFormat::Rgb24, width, height)) return FrameFormat::Rgb24;
    if (byteLength == frameBytes(FrameFormat::Rgba, width, height)) return FrameFormat::Rgba;
    fail(env, fn + ": frame is " + std::to_string(byteLength) + " bytes but a " + size + " RGB24 frame is " +
                  std::to_string(frameBytes(FrameFormat::Rgb24, width, height)) +
                  " (width*height*3) and an RGBA frame " +
                  std::to_string(frameBytes(FrameFormat::Rgba, width, height)) +
                  " (width*height*4); pass the format for I420");
  }
  const std::string name = format.IsString() ? format.As<Napi::String>().Utf8Value() : "";
  if (name != "rgb24" && name != "rgba" && name != "i420") {
    fail(env, fn + ": format must be \"rgb24\", \"rgba\" or \"i420\" (got " + describe(format) + ")");
  }
  const FrameFormat f = name == "i420" ? FrameFormat::I420 : name == "rgba" ? FrameFormat::Rgba : FrameFormat::Rgb24;
  const size_t want = frameBytes(f, width, height);
  if (byteLength != want) {
    fail(env, fn + ": frame is " + std::to_string(byteLength) + " bytes but a " + size + " " + name + " frame is " +
                  std::to_string(want));
  }
  return f;
}

// A frame argument: the Uint8Array info[first], its width and height (info[first + 1],
// info[first + 2]) and its layout (info[formatIndex], see frameFormatArg). Messages "<fn>: ...".
struct FrameArg {
  Napi::Uint8Array data;
  int width = 0;
  int height = 0;
  FrameFormat format = FrameFormat::Rgb24;
};

inline FrameArg frameArg(const Napi::Env& env, const Napi::CallbackInfo& info, const std::string& fn, size_t first,
                         size_t formatIndex) {
  FrameArg f;
  f.data = typedArrayArg(env, info[first], fn + ": frame", {napi_uint8_array}).As<Napi::Uint8Array>();
  f.width = intArg(env, info[first + 1], fn + ": width", 1, kMaxSide);
  f.height = intArg(env, info[first + 2], fn + ": height", 1, kMaxSide);
  f.format = frameFormatArg(env, info[formatIndex], f.data.ByteLength(), f.width, f.height, fn);
  return f;
}

// The post-processing options object of `fn` (postprocess, decodeSync, tensorrt.detect): messages
// "<fn>: options.<field> ...".
inline PostprocessOptions postprocessOptionsArg(const Napi::Env& env, const Napi::Value& v, const std::string& fn,
                                                bool withGeometry = true) {
  const Napi::Object o = objectArg(env, v, fn + ": options");
  PostprocessOptions p;
  if (withGeometry) {  // tensorrt.detect: from the engine and the frame
    p.inputWidth = intArg(env, o.Get("inputWidth"), fn + ": options.inputWidth", 1, kMaxSide);
    p.inputHeight = intArg(env, o.Get("inputHeight"), fn + ": options.inputHeight", 1, kMaxSide);
    p.srcWidth = intArg(env, o.Get("srcWidth"), fn + ": options.srcWidth", 1, kMaxSide);
    p.srcHeight = intArg(env, o.Get("srcHeight"), fn + ": options.srcHeight", 1, kMaxSide);
    const Napi::Object t = objectArg(env, o.Get("transform"), fn + ": options.transform");
    p.transform.scaleX = numberArg(env, t.Get("scaleX"), fn + ": options.transform.scaleX");
    p.transform.scaleY = numberArg(env, t.Get("scaleY"), fn + ": options.transform.scaleY");
    p.transform.padX = numberArg(env, t.Get("padX"), fn + ": options.transform.padX");
    p.transform.padY = numberArg(env, t.Get("padY"), fn + ": options.transform.padY");
    if (p.transform.scaleX <= 0 || p.transform.scaleY <= 0) {
      fail(env, fn + ": options.transform.scaleX and scaleY must be > 0 (got " + describe(t.Get("scaleX")) + ", " +
                    describe(t.Get("scaleY")) + ")");
    }
  }
  p.threshold = static_cast<float>(numberArg(env, o.Get("threshold"), fn + ": options.threshold"));
  p.nmsIou = numberArg(env, o.Get("nmsIou"), fn + ": options.nmsIou");
  if (p.nmsIou < 0 || p.nmsIou > 1)
    fail(env, fn + ": options.nmsIou must be from 0 to 1 (got " + describe(o.Get("nmsIou")) + ")");
  p.topK = intArg(env, o.Get("topK"), fn + ": options.topK", 0, 1 << 30);
  p.classes = intListArg(env, o.Get("classes"), fn + ": options.classes");
  p.ignoreClasses = intListArg(env, o.Get("ignoreClasses"), fn + ": options.ignoreClasses");
  p.nmsGroups = intListArg(env, o.Get("nmsGroups"), fn + ": options.nmsGroups");
  const Napi::Value groups = o.Get("dropGroupBoxes");
  p.dropGroupBoxes = !groups.IsUndefined() && boolArg(env, groups, fn + ": options.dropGroupBoxes");
  return p;
}

// options.appearance of decodeSync and tensorrt.detect: whether each detection also gets its
// appearance feature (appearance.h); absent = false.
inline bool appearanceOptionArg(const Napi::Env& env, const Napi::Value& options, const std::string& fn) {
  const Napi::Value v = options.As<Napi::Object>().Get("appearance");
  return !v.IsUndefined() && boolArg(env, v, fn + ": options.appearance");
}

// A list of output tensors (Float32Array, Int32Array or BigInt64Array) as host views.
inline std::vector<OutputView> outputViewsArg(const Napi::Env& env, const Napi::Value& v, const std::string& name) {
  if (!v.IsArray()) fail(env, name + " must be an array of typed arrays (got " + describe(v) + ")");
  const Napi::Array a = v.As<Napi::Array>();
  std::vector<OutputView> out;
  for (uint32_t i = 0; i < a.Length(); ++i) {
    const Napi::TypedArray t = typedArrayArg(env, a.Get(i), name + "[" + std::to_string(i) + "]",
                                             {napi_float32_array, napi_int32_array, napi_bigint64_array});
    OutputView o;
    void* data = nullptr;  // also for views of a SharedArrayBuffer (ArrayBuffer() refuses those)
    if (napi_get_typedarray_info(env, t, nullptr, nullptr, &data, nullptr, nullptr) != napi_ok)
      fail(env, name + "[" + std::to_string(i) + "]: cannot read the typed array");
    o.data = data;
    o.elements = t.ElementLength();
    o.kind = t.TypedArrayType() == napi_float32_array ? ElementKind::Float32
             : t.TypedArrayType() == napi_int32_array ? ElementKind::Int32
                                                      : ElementKind::Int64;
    out.push_back(o);
  }
  return out;
}

// The layout object the backends build from their LayoutBinding (daemon/detect/native-layout.ts):
// {layout, scores, boxes, numBoxes, numClasses, boxOrder} | {layout, detections, keepCount, count}
// | {layout, numDets, boxes, scores, classes}, the roles as indices into the outputs list.
inline LayoutSpec layoutSpecArg(const Napi::Env& env, const Napi::Value& v, const std::string& name) {
  const Napi::Object o = objectArg(env, v, name);
  LayoutSpec s;
  const std::string layout =
      choiceArg(env, o.Get("layout"), name + ".layout", {"scores_boxes", "nms7", "efficient_nms"});
  auto index = [&](const char* key, bool optional) {
    const Napi::Value x = o.Get(key);
    if (optional && (x.IsUndefined() || x.IsNull())) return -1;
    return intArg(env, x, name + "." + key, 0, 1 << 16);
  };
  if (layout == "scores_boxes") {
    s.layout = OutputLayout::ScoresBoxes;
    s.scores = index("scores", false);
    s.boxes = index("boxes", false);
    s.numBoxes = intArg(env, o.Get("numBoxes"), name + ".numBoxes", 0, 1 << 24);
    s.numClasses = intArg(env, o.Get("numClasses"), name + ".numClasses", 1, 1 << 16);
    const Napi::Value order = o.Get("boxOrder");
    s.boxOrder = !order.IsUndefined() && choiceArg(env, order, name + ".boxOrder", {"xyxy", "yxyx"}) == "yxyx"
                     ? BoxOrder::YXYX
                     : BoxOrder::XYXY;
  } else if (layout == "nms7") {
    s.layout = OutputLayout::Nms7;
    s.detections = index("detections", false);
    s.keepCount = index("keepCount", true);
    s.count = intArg(env, o.Get("count"), name + ".count", 0, 1 << 24);
  } else {
    s.layout = OutputLayout::EfficientNms;
    s.numDets = index("numDets", false);
    s.boxes = index("boxes", false);
    s.scores = index("scores", false);
    s.classes = index("classes", false);
  }
  return s;
}

// Detections as [{classId, score, x1, y1, x2, y2}].
// With `appearance` (kAppearanceDims floats per detection, appearanceFeatures), each detection
// also gets its own Float32Array `appearance`.
inline Napi::Array detectionsArray(Napi::Env env, const std::vector<RawDetection>& v,
                                   const std::vector<float>* appearance = nullptr) {
  Napi::Array arr = Napi::Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    const RawDetection& d = v[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("classId", d.classId);
    o.Set("score", static_cast<double>(d.score));
    o.Set("x1", d.x1);
    o.Set("y1", d.y1);
    o.Set("x2", d.x2);
    o.Set("y2", d.y2);
    if (appearance && appearance->size() >= (i + 1) * kAppearanceDims) {
      Napi::Float32Array f = Napi::Float32Array::New(env, kAppearanceDims);
      std::copy(appearance->begin() + static_cast<std::ptrdiff_t>(i * kAppearanceDims),
                appearance->begin() + static_cast<std::ptrdiff_t>((i + 1) * kAppearanceDims), f.Data());
      o.Set("appearance", f);
    }
    arr.Set(static_cast<uint32_t>(i), o);
  }
  return arr;
}

// {scaleX, scaleY, padX, padY}: where the frame landed in the model input.
inline Napi::Object transformObject(Napi::Env env, const InputTransform& t) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("scaleX", t.scaleX);
  o.Set("scaleY", t.scaleY);
  o.Set("padX", t.padX);
  o.Set("padY", t.padY);
  return o;
}

// One call's worker: Run() on a libuv worker thread (no JS values in there), Result() back on the
// JS thread resolves the Promise; an exception from Run() rejects it with its message. Done() runs
// on the JS thread before either (release what Run() held).
class PromiseWorker : public Napi::AsyncWorker {
 public:
  PromiseWorker(Napi::Env env, const char* name)
      : Napi::AsyncWorker(env, name), deferred_(Napi::Promise::Deferred::New(env)) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

  // Keeps a JS object (a frame buffer, a tensor) alive until the worker is done with it.
  void Keep(const Napi::Value& v) { kept_.push_back(Napi::Persistent(v.As<Napi::Object>())); }

 protected:
  virtual void Run() = 0;
  virtual Napi::Value Result(Napi::Env env) = 0;
  virtual void Done() {}

 private:
  void Execute() final {
    try {
      Run();
    } catch (const std::exception& e) {
      SetError(e.what());
    } catch (...) {
      SetError("unexpected error in the native addon");
    }
  }
  void OnOK() final {
    Done();
    deferred_.Resolve(Result(Env()));
  }
  void OnError(const Napi::Error& e) final {
    Done();
    deferred_.Reject(e.Value());
  }

  Napi::Promise::Deferred deferred_;
  std::vector<Napi::ObjectReference> kept_;
};

// Runs `build` (argument checks + worker creation) and queues the worker; an argument error or any
// other exception becomes a rejected Promise instead of a throw.
template <typename Build>
Napi::Value startWorker(const Napi::CallbackInfo& info, Build build) {
  Napi::Env env = info.Env();
  try {
    PromiseWorker* worker = build(env);
    Napi::Promise promise = worker->Promise();
    worker->Queue();
    return promise;
  } catch (const Napi::Error& e) {
    Napi::Promise::Deferred d = Napi::Promise::Deferred::New(env);
    d.Reject(e.Value());
    return d.Promise();
  } catch (const std::exception& e) {
    Napi::Promise::Deferred d = Napi::Promise::Deferred::New(env);
    d.Reject(Napi::Error::New(env, e.what()).Value());
    return d.Promise();
  }
}

}  // namespace napi
}  // namespace trtd
