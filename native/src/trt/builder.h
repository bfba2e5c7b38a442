// ONNX -> serialized TensorRT engine (nvonnxparser + IBuilder::buildSerializedNetwork, TensorRT 8.0+).
// The caller decides the precision (fallback and strictness are the daemon's policy); this
// builds exactly what it is asked for and reports progress while TensorRT times its tactics.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace trtd {
namespace trt {

struct BuildOptions {
  std::string onnxPath;
  std::string enginePath;                     // written atomically (temp file + rename)
  std::string precision;                      // "fp32" | "fp16" | "int8"
  std::vector<std::string> calibrationFiles;  // int8: raw float32 NCHW tensors (one image each)
  std::string calibrationCache;               // int8: read when present, written after calibration
  std::string timingCache;                    // tactic timings: read when valid for this GPU, written after ("" = none)
  size_t workspaceBytes = size_t(256) << 20;  // the Nano shares 4 GB between CPU and GPU
  int inputWidth = 0;                         // for ONNX inputs with dynamic H/W (0 = take them from the model)
  int inputHeight = 0;
  std::function<void(const std::string&)> progress;  // one line per event, from the build thread
};

struct BuildResult {
  std::string precision;
  size_t engineBytes = 0;
  double seconds = 0;
  size_t calibrationBatches = 0;
  std::vector<std::string> warnings;  // distinct TensorRT warnings
};

// Throws std::runtime_error with one line (the file and TensorRT's/the parser's first error).
BuildResult buildEngine(const BuildOptions& options);

struct OnnxTensor {
  std::string name;
  bool input = false;
  std::vector<int64_t> shape;  // -1 for dynamic dimensions
};

// Parses the ONNX model (nothing is built) and lists its network inputs and outputs.
std::vector<OnnxTensor> inspectOnnx(const std::string& onnxPath);

// Makes sure initLibNvInferPlugins has run (NMS / EfficientNMS plugins of TAO and exported SSDs).
void initPlugins();

}  // namespace trt
}  // namespace trtd
