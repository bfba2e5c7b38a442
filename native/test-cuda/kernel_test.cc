// Compares the CUDA pre-processing kernel with the CPU implementation (preprocess.cc) over many
// random frames, sizes, formats and specs, then measures the kernel's throughput. Prints one line
// per case group and a summary; exits 1 on any mismatch.
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
  std::printf("SUMMARY: %d preprocess cases, max abs err %.3g (tolerance %.0e), %d failures\n", all.cases, all.maxErr,
              kTolerance, failures);
  return failures ? 1 : 0;
}
