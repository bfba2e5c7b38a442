// Node-API bindings only: argument checks, one AsyncWorker per call, results back to JS.
// The pixel work lives in preprocess/postprocess/osd (pure C++). JS buffers are used in place;
// a persistent reference keeps each one alive while its worker runs. Every argument error and
// every C++ exception becomes a rejected Promise with a one-line message.
#include <napi.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "napi_util.h"
#include "notify.h"
#include "osd.h"
#include "pipe.h"
#include "postprocess.h"
#include "preprocess.h"

#ifndef TRT_DETECT_VERSION
#define TRT_DETECT_VERSION "0.0.0"
#endif
#ifndef TRT_DETECT_HAVE_TENSORRT
#define TRT_DETECT_HAVE_TENSORRT 0
#endif
#ifndef TRT_DETECT_HAVE_CUDA
#define TRT_DETECT_HAVE_CUDA 0
#endif

#if TRT_DETECT_HAVE_TENSORRT
#include "trt/trt_addon.h"
#endif

namespace {

using trtd::DrawBox;
using trtd::FrameFormat;
using trtd::InputTransform;
using trtd::PostprocessOptions;
using trtd::PreprocessSpec;
using trtd::RawDetection;
using trtd::napi::choiceArg;
using trtd::napi::describe;
using trtd::napi::expectLength;
using trtd::napi::fail;
using trtd::napi::FrameArg;
using trtd::napi::frameArg;
using trtd::napi::intArg;
using trtd::napi::numberArg;
using trtd::napi::objectArg;
using trtd::napi::PromiseWorker;
using trtd::napi::startWorker;
using trtd::napi::typedArrayArg;

// ---- preprocess(frame, width, height, spec, out, format?) -> Promise<InputTransform> -------------

class PreprocessWorker : public PromiseWorker {
 public:
  PreprocessWorker(Napi::Env env, const uint8_t* src, int w, int h, FrameFormat format, const PreprocessSpec& spec,
                   float* out, bool timed)
      : PromiseWorker(env, "trt-detect:preprocess"),
        src_(src),
        w_(w),
        h_(h),
        format_(format),
        spec_(spec),
        out_(out),
        timed_(timed) {}

 protected:
  void Run() override {
    const auto t0 = std::chrono::steady_clock::now();
    transform_ = trtd::preprocessFrame(src_, w_, h_, format_, spec_, out_);
    ms_ = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  }
  Napi::Value Result(Napi::Env env) override {
    if (!timed_) return trtd::napi::transformObject(env, transform_);
    Napi::Object o = Napi::Object::New(env);
    o.Set("transform", trtd::napi::transformObject(env, transform_));
    o.Set("ms", ms_);
    return o;
  }

 private:
  const uint8_t* src_;
  int w_, h_;
  FrameFormat format_;
  PreprocessSpec spec_;
  float* out_;
  bool timed_;
  InputTransform transform_;
  double ms_ = 0;
};

Napi::Value PreprocessWith(const Napi::CallbackInfo& info, const char* name, bool timed) {
  return startWorker(info, [&](Napi::Env env) -> PromiseWorker* {
    const FrameArg frame = frameArg(env, info, name, 0, 5);
    const PreprocessSpec spec = trtd::napi::preprocessSpecArg(env, info[3], name);
    const Napi::TypedArray out = typedArrayArg(env, info[4], std::string(name) + ": out", {napi_float32_array});
    expectLength(env, out, std::string(name) + ": out", static_cast<size_t>(3) * spec.width * spec.height,
                 "a 3x" + std::to_string(spec.height) + "x" + std::to_string(spec.width) + " tensor");
    auto* worker = new PreprocessWorker(env, frame.data.Data(), frame.width, frame.height, frame.format, spec,
                                        out.As<Napi::Float32Array>().Data(), timed);
    worker->Keep(frame.data);
    worker->Keep(out);
    return worker;
  });
}

Napi::Value Preprocess(const Napi::CallbackInfo& info) { return PreprocessWith(info, "preprocess", false); }

// ---- preprocessTimed(...) -> Promise<{transform, ms}>: the same, with the time the work took on its
// worker thread (the Promise settles later when the calling thread is busy).
Napi::Value PreprocessTimed(const Napi::CallbackInfo& info) { return PreprocessWith(info, "preprocessTimed", true); }

// ---- postprocess(input, options) -> Promise<RawDetection[]> --------------------------------------

class PostprocessWorker : public PromiseWorker {
 public:
  enum class Layout { ScoresBoxes, Nms7, EfficientNms };

  PostprocessWorker(Napi::Env env, Layout layout, const PostprocessOptions& o)
      : PromiseWorker(env, "trt-detect:postprocess"), layout_(layout), options_(o) {}

  // scores_boxes: a = scores, b = boxes; nms7: a = rows; efficient_nms: a = scores, b = boxes.
  const float* a = nullptr;
  const float* b = nullptr;
  const float* classesF = nullptr;
  const int32_t* classesI = nullptr;
  int n = 0;  // boxes / rows / detections
  int numClasses = 0;
  trtd::BoxOrder boxOrder = trtd::BoxOrder::XYXY;
  bool normalized = true;

 protected:
  void Run() override {
    switch (layout_) {
      case Layout::ScoresBoxes:
        result_ = trtd::decodeScoresBoxes(a, b, n, numClasses, options_, boxOrder);
        break;
      case Layout::Nms7:
        result_ = trtd::decodeNms7(a, n, options_);
        break;
      case Layout::EfficientNms:
        result_ = trtd::decodeEfficientNms(n, b, a, classesF, classesI, normalized, options_);
        break;
    }
  }
  Napi::Value Result(Napi::Env env) override { return trtd::napi::detectionsArray(env, result_); }

 private:
  Layout layout_;
  PostprocessOptions options_;
  std::vector<RawDetection> result_;
};

// A count read from a model output (keep count, num_dets): a number rounded to an integer.
int countArg(const Napi::Env& env, const Napi::Value& v, const std::string& name, int hi) {
  const double d = numberArg(env, v, name);
  const long long n = std::llround(d);
  if (n < 0 || n > hi) fail(env, name + " must be from 0 to " + std::to_string(hi) + " (got " + describe(v) + ")");
  return static_cast<int>(n);
}

constexpr int kMaxRows = 1 << 24;

Napi::Value Postprocess(const Napi::CallbackInfo& info) {
  return startWorker(info, [&](Napi::Env env) -> PromiseWorker* {
    const Napi::Object in = objectArg(env, info[0], "postprocess: input");
    const PostprocessOptions options = trtd::napi::postprocessOptionsArg(env, info[1], "postprocess");
    const std::string layout =
        choiceArg(env, in.Get("layout"), "postprocess: input.layout", {"scores_boxes", "nms7", "efficient_nms"});
    using Layout = PostprocessWorker::Layout;

    if (layout == "scores_boxes") {
      const int n = intArg(env, in.Get("numBoxes"), "postprocess: input.numBoxes", 0, kMaxRows);
      const int c = intArg(env, in.Get("numClasses"), "postprocess: input.numClasses", 1, 1 << 16);
      const Napi::TypedArray scores =
          typedArrayArg(env, in.Get("scores"), "postprocess: input.scores", {napi_float32_array});
      const Napi::TypedArray boxes =
          typedArrayArg(env, in.Get("boxes"), "postprocess: input.boxes", {napi_float32_array});
      expectLength(env, scores, "postprocess: input.scores", static_cast<size_t>(n) * c,
                   "numBoxes*numClasses (" + std::to_string(n) + "*" + std::to_string(c) + ")");
      expectLength(env, boxes, "postprocess: input.boxes", static_cast<size_t>(n) * 4,
                   "numBoxes*4 (" + std::to_string(n) + "*4)");
      const Napi::Value orderArg = in.Get("boxOrder");
      const trtd::BoxOrder order =
          !orderArg.IsUndefined() && choiceArg(env, orderArg, "postprocess: input.boxOrder", {"xyxy", "yxyx"}) == "yxyx"
              ? trtd::BoxOrder::YXYX
              : trtd::BoxOrder::XYXY;
      auto* w = new PostprocessWorker(env, Layout::ScoresBoxes, options);
      w->a = scores.As<Napi::Float32Array>().Data();
      w->b = boxes.As<Napi::Float32Array>().Data();
      w->n = n;
      w->numClasses = c;
      w->boxOrder = order;
      w->Keep(scores);
      w->Keep(boxes);
      return w;
    }

    if (layout == "nms7") {
      const int count = intArg(env, in.Get("count"), "postprocess: input.count", 0, kMaxRows);
      const Napi::TypedArray rows =
          typedArrayArg(env, in.Get("detections"), "postprocess: input.detections", {napi_float32_array});
      expectLength(env, rows, "postprocess: input.detections", static_cast<size_t>(count) * 7,
                   "count*7 (" + std::to_string(count) + "*7)");
      int n = count;
      const Napi::Value keep = in.Get("keepCount");
      if (!keep.IsUndefined() && !keep.IsNull())
        n = std::min(count, countArg(env, keep, "postprocess: input.keepCount", kMaxRows));
      auto* w = new PostprocessWorker(env, Layout::Nms7, options);
      w->a = rows.As<Napi::Float32Array>().Data();
      w->n = n;
      w->Keep(rows);
      return w;
    }

    // efficient_nms
    const Napi::TypedArray boxes =
        typedArrayArg(env, in.Get("boxes"), "postprocess: input.boxes", {napi_float32_array});
    if (boxes.ElementLength() % 4 != 0) {
      fail(env, "postprocess: input.boxes has " + std::to_string(boxes.ElementLength()) +
                    " elements, not a multiple of 4 (x1,y1,x2,y2 per detection)");
    }
    const size_t maxDets = boxes.ElementLength() / 4;
    const Napi::TypedArray scores =
        typedArrayArg(env, in.Get("scores"), "postprocess: input.scores", {napi_float32_array});
    const Napi::TypedArray classes =
        typedArrayArg(env, in.Get("classes"), "postprocess: input.classes", {napi_float32_array, napi_int32_array});
    expectLength(env, scores, "postprocess: input.scores", maxDets, "one score per box (boxes.length/4)");
    expectLength(env, classes, "postprocess: input.classes", maxDets, "one class per box (boxes.length/4)");
    const int numDets = countArg(env, in.Get("numDets"), "postprocess: input.numDets", static_cast<int>(maxDets));
    const Napi::Value norm = in.Get("normalized");
    if (!norm.IsBoolean())
      fail(env, "postprocess: input.normalized must be true or false (got " + describe(norm) + ")");
    auto* w = new PostprocessWorker(env, Layout::EfficientNms, options);
    w->a = scores.As<Napi::Float32Array>().Data();
    w->b = boxes.As<Napi::Float32Array>().Data();
    if (classes.TypedArrayType() == napi_int32_array) {
      w->classesI = classes.As<Napi::Int32Array>().Data();
    } else {
      w->classesF = classes.As<Napi::Float32Array>().Data();
    }
    w->n = numDets;
    w->normalized = norm.As<Napi::Boolean>().Value();
    w->Keep(boxes);
    w->Keep(scores);
    w->Keep(classes);
    return w;
  });
}

// ---- draw(frame, width, height, boxes, format?) -> Promise<void> ---------------------------------

class DrawWorker : public PromiseWorker {
 public:
  DrawWorker(Napi::Env env, uint8_t* pixels, int w, int h, FrameFormat format, std::vector<DrawBox> boxes)
      : PromiseWorker(env, "trt-detect:draw"), px_(pixels), w_(w), h_(h), format_(format), boxes_(std::move(boxes)) {}

 protected:
  void Run() override { trtd::drawBoxes(px_, w_, h_, boxes_, format_); }
  Napi::Value Result(Napi::Env env) override { return env.Undefined(); }

 private:
  uint8_t* px_;
  int w_, h_;
  FrameFormat format_;
  std::vector<DrawBox> boxes_;
};

// Label text as printable ASCII: any other character becomes '?'.
std::string asciiText(const Napi::Value& v, const std::string& name, const Napi::Env& env) {
  if (v.IsUndefined() || v.IsNull()) return std::string();
  if (!v.IsString()) fail(env, name + " must be a string (got " + describe(v) + ")");
  const std::u16string s = v.As<Napi::String>().Utf16Value();
  std::string out;
  out.reserve(s.size());
  for (char16_t ch : s) {
    if (ch >= 0xDC00 && ch <= 0xDFFF) continue;  // second half of a surrogate pair: one '?' per character
    out.push_back(ch >= 32 && ch <= 126 ? static_cast<char>(ch) : '?');
  }
  return out;
}

Napi::Value Draw(const Napi::CallbackInfo& info) {
  return startWorker(info, [&](Napi::Env env) -> PromiseWorker* {
    FrameArg frame = frameArg(env, info, "draw", 0, 4);  // drawn in place
    if (!info[3].IsArray()) fail(env, "draw: boxes must be an array (got " + describe(info[3]) + ")");
    const Napi::Array arr = info[3].As<Napi::Array>();
    std::vector<DrawBox> boxes;
    boxes.reserve(arr.Length());
    for (uint32_t i = 0; i < arr.Length(); ++i) {
      const std::string name = "draw: boxes[" + std::to_string(i) + "]";
      const Napi::Object b = objectArg(env, arr.Get(i), name);
      DrawBox d;
      d.x1 = numberArg(env, b.Get("x1"), name + ".x1");
      d.y1 = numberArg(env, b.Get("y1"), name + ".y1");
      d.x2 = numberArg(env, b.Get("x2"), name + ".x2");
      d.y2 = numberArg(env, b.Get("y2"), name + ".y2");
      d.classId = intArg(env, b.Get("classId"), name + ".classId", 0, 1 << 30);
      d.text = asciiText(b.Get("text"), name + ".text", env);
      boxes.push_back(std::move(d));
    }
    auto* worker = new DrawWorker(env, frame.data.Data(), frame.width, frame.height, frame.format, std::move(boxes));
    worker->Keep(frame.data);
    return worker;
  });
}

// ---- sdNotify(socketPath, state) -> true (synchronous: one tiny syscall) -------------------------

Napi::Value SdNotify(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) fail(env, "sdNotify: socket path must be a string (got " + describe(info[0]) + ")");
  if (!info[1].IsString()) fail(env, "sdNotify: state must be a string (got " + describe(info[1]) + ")");
  const std::string error =
      trtd::sendNotify(info[0].As<Napi::String>().Utf8Value(), info[1].As<Napi::String>().Utf8Value());
  if (!error.empty()) throw Napi::Error::New(env, "sd_notify: " + error);
  return Napi::Boolean::New(env, true);
}

// ---- openPipe(capacityBytes) -> {read, write, capacity} (synchronous: a few syscalls) -------------

Napi::Value OpenPipe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int capacity = intArg(env, info[0], "openPipe: capacity", 0, 1 << 30);
  trtd::PipeFds fds;
  const std::string error = trtd::openPipe(capacity, &fds);
  if (!error.empty()) throw Napi::Error::New(env, "openPipe: " + error);
  Napi::Object out = Napi::Object::New(env);
  out.Set("read", fds.read);
  out.Set("write", fds.write);
  out.Set("capacity", fds.capacity);
  return out;
}

// ---- preprocessSync(frame, width, height, spec, out, format?) -> InputTransform ------------------
// The same as preprocess, on the calling thread: for worker threads (the ONNX Runtime thread),
// never the event loop.

Napi::Value PreprocessSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const FrameArg frame = frameArg(env, info, "preprocessSync", 0, 5);
  const PreprocessSpec spec = trtd::napi::preprocessSpecArg(env, info[3], "preprocessSync");
  const Napi::TypedArray out = typedArrayArg(env, info[4], "preprocessSync: out", {napi_float32_array});
  expectLength(env, out, "preprocessSync: out", static_cast<size_t>(3) * spec.width * spec.height,
               "a 3x" + std::to_string(spec.height) + "x" + std::to_string(spec.width) + " tensor");
  const InputTransform t = trtd::preprocessFrame(frame.data.Data(), frame.width, frame.height, frame.format, spec,
                                                 out.As<Napi::Float32Array>().Data());
  return trtd::napi::transformObject(env, t);
}

// ---- decodeSync(outputs, layout, options, frame?, width?, height?, format?) -> RawDetection[] ------
// Decodes a model's output tensors (typed arrays, in the order layout's indices name) on the
// calling thread: for worker threads (the ONNX Runtime thread), never the event loop. With
// options.appearance, the frame the outputs are of comes too, and each detection gets its
// appearance feature (appearance.h) from the frame's pixels, in the same call.

Napi::Value DecodeSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::vector<trtd::OutputView> outputs = trtd::napi::outputViewsArg(env, info[0], "decodeSync: outputs");
  const trtd::LayoutSpec layout = trtd::napi::layoutSpecArg(env, info[1], "decodeSync: layout");
  const PostprocessOptions options = trtd::napi::postprocessOptionsArg(env, info[2], "decodeSync");
  const bool appearance = trtd::napi::appearanceOptionArg(env, info[2], "decodeSync");
  const std::string problem = trtd::checkOutputs(layout, outputs);
  if (!problem.empty()) fail(env, "decodeSync: " + problem);
  if (!appearance) return trtd::napi::detectionsArray(env, trtd::decodeOutputs(layout, outputs, options));
  const FrameArg frame = frameArg(env, info, "decodeSync", 3, 6);
  if (frame.width != options.srcWidth || frame.height != options.srcHeight)
    fail(env, "decodeSync: the frame is " + std::to_string(frame.width) + "x" + std::to_string(frame.height) +
                  " but options.srcWidth x srcHeight is " + std::to_string(options.srcWidth) + "x" +
                  std::to_string(options.srcHeight));
  const std::vector<RawDetection> detections = trtd::decodeOutputs(layout, outputs, options);
  const std::vector<float> features =
      trtd::appearanceFeatures(frame.data.Data(), frame.width, frame.height, frame.format, detections);
  return trtd::napi::detectionsArray(env, detections, &features);
}

// glibc gives a thread that finds the arenas busy a new one, up to 8 per core, and an arena keeps
// the pages its peak needed: with the inference thread, libuv's pool and the addon's workers taking
// turns at frame-sized and small allocations, the daemon's RSS crept up by a few MB a minute for
// tens of minutes as arenas were added and fragmented (bench --daemon-memory at 1080p: +1.6 MB/min,
// 360 MB after 10 min; with 2 arenas +0.35 MB/min, 331 MB). The cap applies to arenas made after
// the addon loads, so the daemon loads it first. MALLOC_ARENA_MAX in the environment wins.
constexpr int kMallocArenaMax = 2;

Napi::Value MallocArenaMax(Napi::Env env) {
#if defined(__GLIBC__)
  const char* fromEnv = std::getenv("MALLOC_ARENA_MAX");
  if (fromEnv != nullptr && *fromEnv != '\0') return Napi::Number::New(env, std::atoi(fromEnv));
  static const bool applied = mallopt(M_ARENA_MAX, kMallocArenaMax) == 1;
  if (applied) return Napi::Number::New(env, kMallocArenaMax);
#endif
  return env.Null();  // not glibc (or mallopt refused): the C library's own policy
}

// The number of malloc arenas the process has now (glibc's malloc_info), null elsewhere.
Napi::Value MallocArenas(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
#if defined(__GLIBC__)
  char* text = nullptr;
  size_t size = 0;
  FILE* out = open_memstream(&text, &size);
  if (out == nullptr) return env.Null();
  const bool ok = malloc_info(0, out) == 0;
  std::fclose(out);
  int heaps = 0;
  for (const char* p = text; ok && p != nullptr && (p = std::strstr(p, "<heap nr=")) != nullptr; p += 9) ++heaps;
  std::free(text);
  if (ok) return Napi::Number::New(env, heaps);
#endif
  return env.Null();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("preprocess", Napi::Function::New(env, Preprocess, "preprocess"));
  exports.Set("postprocess", Napi::Function::New(env, Postprocess, "postprocess"));
  exports.Set("preprocessTimed", Napi::Function::New(env, PreprocessTimed, "preprocessTimed"));
  exports.Set("preprocessSync", Napi::Function::New(env, PreprocessSync, "preprocessSync"));
  exports.Set("decodeSync", Napi::Function::New(env, DecodeSync, "decodeSync"));
  exports.Set("draw", Napi::Function::New(env, Draw, "draw"));
  exports.Set("sdNotify", Napi::Function::New(env, SdNotify, "sdNotify"));
  exports.Set("openPipe", Napi::Function::New(env, OpenPipe, "openPipe"));
  exports.Set("mallocArenas", Napi::Function::New(env, MallocArenas, "mallocArenas"));
  Napi::Object info = Napi::Object::New(env);
  info.Set("version", TRT_DETECT_VERSION);
  info.Set("tensorrt", Napi::Boolean::New(env, TRT_DETECT_HAVE_TENSORRT != 0));
  info.Set("cuda", Napi::Boolean::New(env, TRT_DETECT_HAVE_CUDA != 0));
  // No GStreamer code in the addon (the daemon runs gst-launch-1.0); daemon/native.ts AddonInfo and
  // the bench machine facts still read info.gstreamer.
  info.Set("gstreamer", Napi::Boolean::New(env, false));
  // the malloc arenas the process may have (number), null where the C library decides
  info.Set("mallocArenaMax", MallocArenaMax(env));
  exports.Set("info", info);
#if TRT_DETECT_HAVE_TENSORRT
  trtd::trt::registerTensorRt(env, exports);  // exports.tensorrt
#endif
  return exports;
}

}  // namespace

NODE_API_MODULE(trt_detect, Init)
