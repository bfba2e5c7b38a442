// Compares the CUDA kernels with the CPU implementation over many random cases: the pre-processing
// kernel with preprocess.cc (frames, sizes, formats, specs; also two frames at once on two streams
// from pinned staging buffers, as the TensorRT engine's double buffering runs them) and the score
// filter of the decode with postprocess.cc (candidate sets and the final boxes after NMS, bit for
// bit). Then measures throughput. Prints one line per case group and a summary; exits 1 on any
// mismatch.
//
//   native/test-cuda/run.sh [CASES [nobench]]   build + run (needs nvcc and a GPU)
//   native/test-cuda/run.sh --compile  build only
#include <cuda_runtime_api.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "cuda/gpu_preprocess.h"
#include "cuda/kernels.h"
#include "cuda/pixel_formats.h"
#include "postprocess.h"
#include "preprocess.h"

using trtd::ChannelOrder;
using trtd::InputTransform;
using trtd::PreprocessSpec;
using trtd::ResizeMode;
using trtd::cuda::DeviceImage;
using trtd::cuda::GpuPreprocessor;
using trtd::cuda::PixelFormat;

namespace {

constexpr double kTolerance = 1e-3;

void ok(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    std::fprintf(stderr, "CUDA error in %s: %s\n", what, cudaGetErrorString(e));
    std::exit(2);
  }
}

const char* formatName(PixelFormat f) {
  return f == PixelFormat::Nv12   ? "nv12"
         : f == PixelFormat::I420 ? "i420"
                                  : (f == PixelFormat::Rgba32 ? "rgba" : "rgb24");
}

// A random frame in `format` plus what the CPU preprocess reads: for RGB24/RGBA its RGB24
// equivalent, for the YUV formats the same frame as packed I420 (the CPU blends Y, U, V and
// converts once, as the GPU).
struct HostFrame {
  std::vector<uint8_t> bytes;  // rgb24/rgba packed, or Y plane then UV plane(s) (packed pitches)
  size_t pitch = 0, uvPitch = 0, uvOffset = 0;
  std::vector<uint8_t> rgb;   // packed formats
  std::vector<uint8_t> i420;  // YUV formats
};

HostFrame makeFrame(std::mt19937& rng, PixelFormat format, int w, int h) {
  std::uniform_int_distribution<int> byte(0, 255);
  HostFrame f;
  // smooth gradients plus noise: bilinear weights matter, not only flat areas
  const int gx = byte(rng), gy = byte(rng);
  auto value = [&](int x, int y, int c) { return (x * (c + 1) * 7 + y * 5 + gx + gy * c + byte(rng) / 4) & 255; };
  if (format == PixelFormat::Nv12) {
    const int cw = (w + 1) / 2, ch = (h + 1) / 2;
    f.pitch = static_cast<size_t>(w);
    f.uvPitch = static_cast<size_t>(cw) * 2;
    f.uvOffset = f.pitch * h;
    f.bytes.resize(f.uvOffset + f.uvPitch * ch);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) f.bytes[static_cast<size_t>(y) * f.pitch + x] = static_cast<uint8_t>(value(x, y, 0));
    for (size_t i = f.uvOffset; i < f.bytes.size(); ++i) f.bytes[i] = static_cast<uint8_t>(byte(rng));
    // the same picture as I420: Y as it is, U and V taken out of the interleaved plane
    f.i420.assign(f.bytes.begin(), f.bytes.begin() + static_cast<std::ptrdiff_t>(f.uvOffset));
    f.i420.resize(trtd::frameBytes(trtd::FrameFormat::I420, w, h));
    const size_t chroma = static_cast<size_t>(cw) * ch;
    for (size_t i = 0; i < chroma; ++i) {
      f.i420[f.uvOffset + i] = f.bytes[f.uvOffset + 2 * i];
      f.i420[f.uvOffset + chroma + i] = f.bytes[f.uvOffset + 2 * i + 1];
    }
    return f;
  }
  if (format == PixelFormat::I420) {
    // packed as ffmpeg's yuv420p rawvideo: Y, then U, then V (the layout preprocessI420 reads)
    f.pitch = static_cast<size_t>(w);
    f.uvPitch = static_cast<size_t>(trtd::chromaSize(w));
    f.uvOffset = f.pitch * h;
    f.bytes.resize(trtd::frameBytes(trtd::FrameFormat::I420, w, h));
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) f.bytes[static_cast<size_t>(y) * f.pitch + x] = static_cast<uint8_t>(value(x, y, 0));
    for (size_t i = f.uvOffset; i < f.bytes.size(); ++i) f.bytes[i] = static_cast<uint8_t>(byte(rng));
    f.i420 = f.bytes;
    return f;
  }
  const int bpp = format == PixelFormat::Rgba32 ? 4 : 3;
  f.rgb.resize(static_cast<size_t>(w) * h * 3);
  f.pitch = static_cast<size_t>(w) * bpp;
  f.bytes.resize(f.pitch * h);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < bpp; ++c) {
        const uint8_t v = static_cast<uint8_t>(value(x, y, c));
        f.bytes[static_cast<size_t>(y) * f.pitch + static_cast<size_t>(x) * bpp + c] = v;
        if (c < 3) f.rgb[(static_cast<size_t>(y) * w + x) * 3 + c] = v;
      }
  return f;
}

// Uploads with a padded pitch (as decoders hand out), returns the device image.
DeviceImage upload(const HostFrame& f, PixelFormat format, int w, int h, std::vector<void*>& allocations) {
  DeviceImage d;
  d.format = format;
  d.width = w;
  d.height = h;
  const size_t rowBytes = f.pitch;
  uint8_t* dev = nullptr;
  size_t pitch = 0;
  ok(cudaMallocPitch(reinterpret_cast<void**>(&dev), &pitch, rowBytes, static_cast<size_t>(h)), "cudaMallocPitch");
  allocations.push_back(dev);
  ok(cudaMemcpy2D(dev, pitch, f.bytes.data(), f.pitch, rowBytes, static_cast<size_t>(h), cudaMemcpyHostToDevice),
     "upload");
  d.data = dev;
  d.pitch = pitch;
  if (format == PixelFormat::Nv12) {
    const int ch = (h + 1) / 2;
    uint8_t* uv = nullptr;
    size_t uvPitch = 0;
    ok(cudaMallocPitch(reinterpret_cast<void**>(&uv), &uvPitch, f.uvPitch, static_cast<size_t>(ch)),
       "cudaMallocPitch uv");
    allocations.push_back(uv);
    ok(cudaMemcpy2D(uv, uvPitch, f.bytes.data() + f.uvOffset, f.uvPitch, f.uvPitch, static_cast<size_t>(ch),
                    cudaMemcpyHostToDevice),
       "upload uv");
    d.uv = uv;
    d.uvPitch = uvPitch;
  }
  if (format == PixelFormat::I420) {
    const int ch = trtd::chromaSize(h);
    const size_t planeBytes = f.uvPitch * static_cast<size_t>(ch);
    uint8_t* planes[2] = {nullptr, nullptr};
    size_t uvPitch = 0;
    for (int k = 0; k < 2; ++k) {
      ok(cudaMallocPitch(reinterpret_cast<void**>(&planes[k]), &uvPitch, f.uvPitch, static_cast<size_t>(ch)),
         "cudaMallocPitch u/v");
      allocations.push_back(planes[k]);
      ok(cudaMemcpy2D(planes[k], uvPitch, f.bytes.data() + f.uvOffset + k * planeBytes, f.uvPitch, f.uvPitch,
                      static_cast<size_t>(ch), cudaMemcpyHostToDevice),
         "upload u/v");
    }
    d.uv = planes[0];
    d.v = planes[1];
    d.uvPitch = uvPitch;
  }
  return d;
}

struct Stats {
  int cases = 0;
  int failures = 0;
  double maxErr = 0;
};

int runPreprocessCases(std::mt19937& rng, int count, Stats& all) {
  std::uniform_int_distribution<int> side(1, 1400);
  std::uniform_int_distribution<int> tensorSide(8, 640);
  std::uniform_real_distribution<float> meanDist(0.f, 0.7f), stdDist(0.1f, 1.2f);
  GpuPreprocessor gpu;  // reused across cases: exercises the tap cache and its refresh
  const PixelFormat formats[] = {PixelFormat::Rgb24, PixelFormat::Rgba32, PixelFormat::Nv12, PixelFormat::I420};
  constexpr int kFormats = sizeof(formats) / sizeof(formats[0]);
  Stats per[kFormats][2];
  for (int i = 0; i < count; ++i) {
    const PixelFormat format = formats[i % kFormats];
    const ResizeMode mode = (i / kFormats) % 2 ? ResizeMode::Letterbox : ResizeMode::Stretch;
    // a few fixed camera sizes, the rest random (odd sizes included)
    static const int fixed[][2] = {{1920, 1080}, {1280, 720}, {1248, 384}, {641, 479}, {1, 1}, {3, 7}};
    int w, h;
    if (i < 24) {
      w = fixed[i % 6][0];
      h = fixed[i % 6][1];
    } else {
      w = side(rng);
      h = side(rng);
    }
    PreprocessSpec spec;
    spec.width = i % 4 == 0 ? 300 : tensorSide(rng);
    spec.height = i % 4 == 0 ? 300 : tensorSide(rng);
    spec.resize = mode;
    spec.color = i % 5 == 0 ? ChannelOrder::Bgr : ChannelOrder::Rgb;
    for (int c = 0; c < 3; ++c) {
      spec.mean[c] = meanDist(rng);
      spec.std[c] = stdDist(rng);
    }
    const HostFrame f = makeFrame(rng, format, w, h);
    const size_t n = static_cast<size_t>(3) * spec.width * spec.height;
    std::vector<float> cpu(n), gpuOut(n);
    const InputTransform tc = f.i420.empty() ? trtd::preprocessRgb24(f.rgb.data(), w, h, spec, cpu.data())
                                             : trtd::preprocessI420(f.i420.data(), w, h, spec, cpu.data());

    std::vector<void*> allocations;
    const DeviceImage d = upload(f, format, w, h, allocations);
    float* devOut = nullptr;
    ok(cudaMalloc(reinterpret_cast<void**>(&devOut), n * sizeof(float)), "cudaMalloc out");
    const InputTransform tg = gpu.run(d, spec, devOut, nullptr);
    ok(cudaMemcpy(gpuOut.data(), devOut, n * sizeof(float), cudaMemcpyDeviceToHost), "download");
    cudaFree(devOut);
    for (void* p : allocations) cudaFree(p);

    double err = 0;
    for (size_t k = 0; k < n; ++k) err = std::max(err, static_cast<double>(std::fabs(cpu[k] - gpuOut[k])));
    const bool sameTransform =
        tc.scaleX == tg.scaleX && tc.scaleY == tg.scaleY && tc.padX == tg.padX && tc.padY == tg.padY;
    Stats& s = per[i % kFormats][mode == ResizeMode::Letterbox ? 1 : 0];
    s.cases++;
    s.maxErr = std::max(s.maxErr, err);
    if (err > kTolerance || !sameTransform) {
      s.failures++;
      if (s.failures <= 5)
        std::printf("FAIL preprocess %s %s %dx%d -> %dx%d: max abs err %.3g%s\n", formatName(format),
                    mode == ResizeMode::Letterbox ? "letterbox" : "stretch", w, h, spec.width, spec.height, err,
                    sameTransform ? "" : " (transform differs)");
    }
  }
  for (int fi = 0; fi < kFormats; ++fi)
    for (int m = 0; m < 2; ++m) {
      const Stats& s = per[fi][m];
      std::printf("preprocess %-5s %-9s cases %3d  failures %d  max abs err %.3g\n", formatName(formats[fi]),
                  m ? "letterbox" : "stretch", s.cases, s.failures, s.maxErr);
      all.cases += s.cases;
      all.failures += s.failures;
      all.maxErr = std::max(all.maxErr, s.maxErr);
    }
  return all.failures;
}

// Two frames at once, as Engine::detect runs them: each slot copies its frame into pinned staging,
// uploads it on its own stream and pre-processes it there, both streams in flight together.
int runDoubleBufferedCases(std::mt19937& rng, int rounds) {
  struct Slot {
    cudaStream_t stream = nullptr;
    uint8_t* host = nullptr;
    uint8_t* dev = nullptr;
    float* out = nullptr;
    size_t capacity = 0;
    GpuPreprocessor gpu;
  } slots[2];
  PreprocessSpec spec;
  spec.width = 300;
  spec.height = 300;
  for (int c = 0; c < 3; ++c) spec.mean[c] = spec.std[c] = 0.5f;
  const size_t n = static_cast<size_t>(3) * spec.width * spec.height;
  for (Slot& s : slots) {
    ok(cudaStreamCreateWithFlags(&s.stream, cudaStreamNonBlocking), "stream");
    ok(cudaMalloc(reinterpret_cast<void**>(&s.out), n * sizeof(float)), "malloc out");
  }
  int failures = 0;
  double maxErr = 0;
  std::uniform_int_distribution<int> side(16, 1920);
  for (int r = 0; r < rounds; ++r) {
    HostFrame frames[2];
    int ws[2], hs[2];
    std::vector<float> cpu[2];
    InputTransform tc[2], tg[2];
    for (int k = 0; k < 2; ++k) {
      ws[k] = r < 2 ? 1920 : side(rng);
      hs[k] = r < 2 ? 1080 : side(rng);
      spec.resize = (r + k) % 2 ? ResizeMode::Letterbox : ResizeMode::Stretch;
      frames[k] = makeFrame(rng, PixelFormat::I420, ws[k], hs[k]);
      cpu[k].resize(n);
      tc[k] = trtd::preprocessI420(frames[k].i420.data(), ws[k], hs[k], spec, cpu[k].data());
      Slot& s = slots[k];
      const size_t bytes = frames[k].bytes.size();
      if (bytes > s.capacity) {
        if (s.host) cudaFreeHost(s.host);
        if (s.dev) cudaFree(s.dev);
        ok(cudaHostAlloc(reinterpret_cast<void**>(&s.host), bytes, cudaHostAllocWriteCombined), "cudaHostAlloc");
        ok(cudaMalloc(reinterpret_cast<void**>(&s.dev), bytes), "cudaMalloc frame");
        s.capacity = bytes;
      }
      std::memcpy(s.host, frames[k].bytes.data(), bytes);
      ok(cudaMemcpyAsync(s.dev, s.host, bytes, cudaMemcpyHostToDevice, s.stream), "upload");
      const trtd::I420Planes planes = trtd::i420Planes(s.dev, ws[k], hs[k]);
      DeviceImage d;
      d.format = PixelFormat::I420;
      d.width = ws[k];
      d.height = hs[k];
      d.data = s.dev;
      d.pitch = static_cast<size_t>(ws[k]);
      d.uv = planes.u;
      d.v = planes.v;
      d.uvPitch = static_cast<size_t>(planes.chromaWidth);
      tg[k] = s.gpu.run(d, spec, s.out, s.stream);  // both slots in flight before either is read
    }
    for (int k = 0; k < 2; ++k) {
      std::vector<float> got(n);
      ok(cudaMemcpyAsync(got.data(), slots[k].out, n * sizeof(float), cudaMemcpyDeviceToHost, slots[k].stream),
         "download");
      ok(cudaStreamSynchronize(slots[k].stream), "sync");
      double err = 0;
      for (size_t i = 0; i < n; ++i) err = std::max(err, static_cast<double>(std::fabs(cpu[k][i] - got[i])));
      maxErr = std::max(maxErr, err);
      const bool same = tc[k].scaleX == tg[k].scaleX && tc[k].scaleY == tg[k].scaleY && tc[k].padX == tg[k].padX &&
                        tc[k].padY == tg[k].padY;
      if (err > kTolerance || !same) {
        if (++failures <= 5)
          std::printf("FAIL double-buffered slot %d %dx%d: max abs err %.3g%s\n", k, ws[k], hs[k], err,
                      same ? "" : " (transform differs)");
      }
    }
  }
  for (Slot& s : slots) {
    cudaFree(s.out);
    if (s.host) cudaFreeHost(s.host);
    if (s.dev) cudaFree(s.dev);
    cudaStreamDestroy(s.stream);
  }
  std::printf("double-buffered i420 (2 streams, pinned staging) rounds %3d  frames %d  failures %d  max abs err %.3g\n",
              rounds, 2 * rounds, failures, maxErr);
  return failures;
}

bool sameDetections(const std::vector<trtd::RawDetection>& a, const std::vector<trtd::RawDetection>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].classId != b[i].classId || a[i].score != b[i].score || a[i].x1 != b[i].x1 || a[i].y1 != b[i].y1 ||
        a[i].x2 != b[i].x2 || a[i].y2 != b[i].y2)
      return false;
  }
  return true;
}

uint32_t bits(float v) {
  uint32_t u = 0;
  std::memcpy(&u, &v, sizeof u);
  return u;
}

bool candidateLess(const trtd::ScoreCandidate& a, const trtd::ScoreCandidate& b) {
  return a.classId != b.classId ? a.classId < b.classId : a.box < b.box;
}

// The GPU score filter against the CPU's first decode half (scoreCandidates), and the decode from
// the GPU's candidates against the whole CPU decode (decodeScoresBoxes): both bit for bit.
struct FilterStats {
  int cases = 0, failures = 0, overflows = 0;
  size_t maxCandidates = 0, totalDetections = 0;
};

int runScoreFilterCases(std::mt19937& rng, int count, FilterStats& st) {
  constexpr int kCapacity = 4096;  // Engine::kCandidateCapacity
  std::uniform_int_distribution<int> boxesDist(1, 3000), classesDist(2, 100), pick(0, 999);
  std::uniform_real_distribution<float> unit(0.f, 1.f);
  trtd::ScoreCandidate* devOut = nullptr;
  int* devCount = nullptr;
  uint8_t* devWanted = nullptr;
  ok(cudaMalloc(reinterpret_cast<void**>(&devOut), kCapacity * sizeof(trtd::ScoreCandidate)), "malloc candidates");
  ok(cudaMalloc(reinterpret_cast<void**>(&devCount), sizeof(int)), "malloc count");
  ok(cudaMalloc(reinterpret_cast<void**>(&devWanted), 1024), "malloc classes");
  for (int i = 0; i < count; ++i) {
    // SSD-MobileNet COCO's head (1917 x 91) often, the rest random
    const int n = i % 3 == 0 ? 1917 : boxesDist(rng);
    const int c = i % 3 == 0 ? 91 : classesDist(rng);
    std::vector<float> scores(static_cast<size_t>(n) * c), boxes(static_cast<size_t>(n) * 4);
    // mostly low scores (sigmoid-like), a few high, some NaN; exact ties at the threshold
    const float threshold = i % 10 == 9 ? 0.f : (i % 7 == 0 ? 0.05f : 0.2f + 0.6f * unit(rng));
    for (float& v : scores) {
      const int p = pick(rng);
      v = p < 2 ? std::nanf("") : (p < 5 ? threshold : (p < 8 ? 0.5f + 0.5f * unit(rng) : 0.15f * unit(rng)));
      // (about 0.6 % pass a threshold of 0.2 or more: a few thousand at most, under the GPU filter's capacity)
    }
    for (int b = 0; b < n; ++b) {
      const float x = unit(rng), y = unit(rng), w = 0.02f + 0.3f * unit(rng), h = 0.02f + 0.3f * unit(rng);
      float* q = &boxes[static_cast<size_t>(b) * 4];
      q[0] = y - h / 2;  // ymin xmin ymax xmax or x1 y1 x2 y2: both orders are used below
      q[1] = x - w / 2;
      q[2] = y + h / 2;
      q[3] = x + w / 2;
    }
    trtd::PostprocessOptions o;
    o.inputWidth = 300;
    o.inputHeight = 300;
    o.srcWidth = i % 2 ? 1920 : 1280;
    o.srcHeight = i % 2 ? 1080 : 720;
    o.transform = trtd::computeInputTransform(o.srcWidth, o.srcHeight, [&] {
      PreprocessSpec sp;
      sp.width = 300;
      sp.height = 300;
      sp.resize = i % 4 < 2 ? ResizeMode::Stretch : ResizeMode::Letterbox;
      return sp;
    }());
    o.threshold = threshold;
    o.nmsIou = 0.3 + 0.4 * unit(rng);
    o.topK = i % 5 == 0 ? 0 : 1 + pick(rng) % 100;
    o.ignoreClasses = {0};
    if (i % 4 == 1) o.classes = {1, 2, 3, c - 1};
    o.dropGroupBoxes = i % 2 == 0;
    if (i % 6 == 2) {
      o.nmsGroups.resize(static_cast<size_t>(c));
      for (int k = 0; k < c; ++k) o.nmsGroups[static_cast<size_t>(k)] = k % 3;
    }
    const trtd::BoxOrder order = i % 2 ? trtd::BoxOrder::YXYX : trtd::BoxOrder::XYXY;

    const std::vector<trtd::ScoreCandidate> cpuCand = trtd::scoreCandidates(scores.data(), n, c, o);
    const std::vector<trtd::RawDetection> cpuDet = trtd::decodeScoresBoxes(scores.data(), boxes.data(), n, c, o, order);

    float* devScores = nullptr;
    ok(cudaMalloc(reinterpret_cast<void**>(&devScores), scores.size() * sizeof(float)), "malloc scores");
    ok(cudaMemcpy(devScores, scores.data(), scores.size() * sizeof(float), cudaMemcpyHostToDevice), "upload scores");
    const std::vector<bool> wanted = trtd::wantedClasses(c, o);
    const std::vector<uint8_t> wantedBytes(wanted.begin(), wanted.end());
    ok(cudaMemcpy(devWanted, wantedBytes.data(), wantedBytes.size(), cudaMemcpyHostToDevice), "upload classes");
    ok(trtd::cuda::launchScoreFilter(devScores, n, c, threshold, devWanted, devOut, kCapacity, devCount, nullptr),
       "score filter");
    int passed = 0;
    ok(cudaMemcpy(&passed, devCount, sizeof(int), cudaMemcpyDeviceToHost), "download count");
    std::vector<trtd::ScoreCandidate> gpuCand(static_cast<size_t>(std::min(passed, kCapacity)));
    ok(cudaMemcpy(gpuCand.data(), devOut, gpuCand.size() * sizeof(trtd::ScoreCandidate), cudaMemcpyDeviceToHost),
       "download candidates");
    cudaFree(devScores);

    st.cases++;
    bool good = static_cast<size_t>(passed) == cpuCand.size();
    std::string why = good ? "" : "count " + std::to_string(passed) + " vs CPU " + std::to_string(cpuCand.size());
    if (passed > kCapacity) {
      st.overflows++;  // the engine decodes the whole tensor on the CPU then: the count is what matters
    } else if (good) {
      std::vector<trtd::ScoreCandidate> sorted = gpuCand;
      std::sort(sorted.begin(), sorted.end(), candidateLess);
      for (size_t k = 0; k < sorted.size() && good; ++k) {
        good = sorted[k].box == cpuCand[k].box && sorted[k].classId == cpuCand[k].classId &&
               bits(sorted[k].score) == bits(cpuCand[k].score);
        if (!good) why = "candidate " + std::to_string(k) + " differs";
      }
      const std::vector<trtd::RawDetection> gpuDet =
          trtd::decodeScoreCandidates(gpuCand.data(), gpuCand.size(), boxes.data(), n, o, order);
      if (good && !sameDetections(gpuDet, cpuDet)) {
        good = false;
        why = "final boxes differ (" + std::to_string(gpuDet.size()) + " vs CPU " + std::to_string(cpuDet.size()) + ")";
      }
      st.maxCandidates = std::max(st.maxCandidates, gpuCand.size());
      st.totalDetections += cpuDet.size();
    }
    if (!good) {
      st.failures++;
      if (st.failures <= 5) std::printf("FAIL score filter %dx%d threshold %.3f: %s\n", n, c, threshold, why.c_str());
    }
  }
  cudaFree(devOut);
  cudaFree(devCount);
  cudaFree(devWanted);
  std::printf(
      "score filter + decode  cases %3d  failures %d  (over capacity: %d, count checked; most candidates %zu; %zu "
      "final "
      "boxes compared)\n",
      st.cases, st.failures, st.overflows, st.maxCandidates, st.totalDetections);
  return st.failures;
}

void benchmarkScoreFilter(int iterations) {
  const int n = 1917, c = 91;
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> unit(0.f, 1.f);
  std::vector<float> scores(static_cast<size_t>(n) * c);
  for (float& v : scores) v = unit(rng) < 0.001f ? 0.9f : 0.2f * unit(rng);
  trtd::PostprocessOptions o;
  o.threshold = 0.5f;
  o.ignoreClasses = {0};
  float* devScores = nullptr;
  trtd::ScoreCandidate* devOut = nullptr;
  int* devCount = nullptr;
  uint8_t* devWanted = nullptr;
  ok(cudaMalloc(reinterpret_cast<void**>(&devScores), scores.size() * sizeof(float)), "malloc");
  ok(cudaMalloc(reinterpret_cast<void**>(&devOut), 4096 * sizeof(trtd::ScoreCandidate)), "malloc");
  ok(cudaMalloc(reinterpret_cast<void**>(&devCount), sizeof(int)), "malloc");
  ok(cudaMalloc(reinterpret_cast<void**>(&devWanted), c), "malloc");
  ok(cudaMemcpy(devScores, scores.data(), scores.size() * sizeof(float), cudaMemcpyHostToDevice), "upload");
  const std::vector<bool> wanted = trtd::wantedClasses(c, o);
  const std::vector<uint8_t> wb(wanted.begin(), wanted.end());
  ok(cudaMemcpy(devWanted, wb.data(), wb.size(), cudaMemcpyHostToDevice), "upload");
  cudaStream_t stream;
  ok(cudaStreamCreate(&stream), "stream");
  for (int i = 0; i < 20; ++i)
    trtd::cuda::launchScoreFilter(devScores, n, c, 0.5f, devWanted, devOut, 4096, devCount, stream);
  cudaEvent_t start, stop;
  ok(cudaEventCreate(&start), "event");
  ok(cudaEventCreate(&stop), "event");
  ok(cudaEventRecord(start, stream), "record");
  for (int i = 0; i < iterations; ++i)
    trtd::cuda::launchScoreFilter(devScores, n, c, 0.5f, devWanted, devOut, 4096, devCount, stream);
  ok(cudaEventRecord(stop, stream), "record");
  ok(cudaEventSynchronize(stop), "sync");
  float ms = 0;
  ok(cudaEventElapsedTime(&ms, start, stop), "elapsed");
  const int cpuIters = 50;
  size_t sink = 0;
  const auto c0 = std::chrono::steady_clock::now();
  for (int i = 0; i < cpuIters; ++i) sink += trtd::scoreCandidates(scores.data(), n, c, o).size();
  const float cpuMs = std::chrono::duration<float, std::milli>(std::chrono::steady_clock::now() - c0).count();
  std::printf(
      "throughput score filter 1917x91 (SSD-MobileNet COCO) threshold 0.5  GPU %.4f ms/frame  CPU %.3f ms/frame (%zu "
      "candidates)\n",
      ms / static_cast<float>(iterations), cpuMs / static_cast<float>(cpuIters), sink / cpuIters);
  cudaFree(devScores);
  cudaFree(devOut);
  cudaFree(devCount);
  cudaFree(devWanted);
  cudaStreamDestroy(stream);
}

void benchmark(PixelFormat format, int w, int h, const PreprocessSpec& spec, int iterations) {
  std::mt19937 rng(7);
  const HostFrame f = makeFrame(rng, format, w, h);
  std::vector<void*> allocations;
  const DeviceImage d = upload(f, format, w, h, allocations);
  float* devOut = nullptr;
  ok(cudaMalloc(reinterpret_cast<void**>(&devOut), static_cast<size_t>(3) * spec.width * spec.height * sizeof(float)),
     "malloc");
  GpuPreprocessor gpu;
  cudaStream_t stream;
  ok(cudaStreamCreate(&stream), "stream");
  for (int i = 0; i < 20; ++i) gpu.run(d, spec, devOut, stream);  // warm-up
  cudaEvent_t start, stop;
  ok(cudaEventCreate(&start), "event");
  ok(cudaEventCreate(&stop), "event");
  ok(cudaEventRecord(start, stream), "record");
  for (int i = 0; i < iterations; ++i) gpu.run(d, spec, devOut, stream);
  ok(cudaEventRecord(stop, stream), "record");
  ok(cudaEventSynchronize(stop), "sync");
  float ms = 0;
  ok(cudaEventElapsedTime(&ms, start, stop), "elapsed");
  // the CPU implementation on the same frame (one core), for scale
  std::vector<float> cpu(static_cast<size_t>(3) * spec.width * spec.height);
  const int cpuIters = 20;
  const auto c0 = std::chrono::steady_clock::now();
  for (int i = 0; i < cpuIters; ++i) {
    if (f.i420.empty()) {
      trtd::preprocessRgb24(f.rgb.data(), w, h, spec, cpu.data());
    } else {
      trtd::preprocessI420(f.i420.data(), w, h, spec, cpu.data());
    }
  }
  const float cpuMs = std::chrono::duration<float, std::milli>(std::chrono::steady_clock::now() - c0).count();
  std::printf("throughput %-5s %4dx%-4d -> %dx%d %-9s  GPU %.4f ms/frame (%.0f frames/s)  CPU %.3f ms/frame\n",
              formatName(format), w, h, spec.width, spec.height,
              spec.resize == ResizeMode::Letterbox ? "letterbox" : "stretch", ms / static_cast<float>(iterations),
              1000.0 * iterations / ms, cpuMs / static_cast<float>(cpuIters));
  cudaFree(devOut);
  for (void* p : allocations) cudaFree(p);
  cudaStreamDestroy(stream);
}

}  // namespace

int main(int argc, char** argv) {
  const int cases = argc > 1 ? std::atoi(argv[1]) : 300;
  const bool bench = !(argc > 2 && std::strcmp(argv[2], "nobench") == 0);
  int deviceCount = 0;
  if (cudaGetDeviceCount(&deviceCount) != cudaSuccess || deviceCount == 0) {
    std::printf("SKIP: no CUDA device\n");
    return 77;
  }
  cudaDeviceProp prop;
  ok(cudaGetDeviceProperties(&prop, 0), "properties");
  std::printf("device: %s (sm_%d%d), CUDA runtime %d\n", prop.name, prop.major, prop.minor, CUDART_VERSION);
  std::mt19937 rng(12345);
  Stats all;
  int failures = runPreprocessCases(rng, cases, all);
  const int doubleBuffered = runDoubleBufferedCases(rng, std::max(4, cases / 20));
  FilterStats filter;
  const int filterFailures = runScoreFilterCases(rng, std::max(30, cases / 2), filter);
  failures += doubleBuffered + filterFailures;
  PreprocessSpec spec;
  spec.width = 300;
  spec.height = 300;
  for (int c = 0; c < 3; ++c) spec.mean[c] = spec.std[c] = 0.5f;
  for (ResizeMode mode : {ResizeMode::Stretch, ResizeMode::Letterbox}) {
    if (!bench) break;
    spec.resize = mode;
    benchmark(PixelFormat::Nv12, 1920, 1080, spec, 500);
    benchmark(PixelFormat::I420, 1920, 1080, spec, 500);
    benchmark(PixelFormat::Rgb24, 1920, 1080, spec, 500);
    benchmark(PixelFormat::Rgba32, 1280, 720, spec, 500);
  }
  if (bench) benchmarkScoreFilter(500);
  std::printf(
      "SUMMARY: %d preprocess cases, max abs err %.3g (tolerance %.0e); double-buffered %d failures; %d score filter + "
      "decode cases (bit for bit), %d failures; %d failures in all\n",
      all.cases, all.maxErr, kTolerance, doubleBuffered, filter.cases, filterFailures, failures);
  return failures ? 1 : 0;
}
