// The TensorRT logger: keeps the last error for the one-line message a user sees, forwards
// warnings to a sink (the daemon's log), and turns builder messages into progress lines on
// TensorRT 8.x, where there is no IProgressMonitor.
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "trt/trt_compat.h"

namespace trtd {
namespace trt {

class Logger : public nvinfer1::ILogger {
 public:
  // level: "error" | "warning" | "info"; called from TensorRT's threads.
  using Sink = std::function<void(const std::string& level, const std::string& message)>;

  void log(Severity severity, nvinfer1::AsciiChar const* msg) noexcept override;

  void setSink(Sink sink);
  // The last error TensorRT reported (empty when none), cleared by takeLastError().
  std::string takeLastError();
  // Warnings collected since the last call (at most 20 distinct ones).
  std::vector<std::string> takeWarnings();

 private:
  std::mutex mutex_;
  Sink sink_;
  std::string lastError_;
  std::vector<std::string> warnings_;
};

// The process-wide logger (TensorRT wants one that outlives every runtime and builder).
Logger& logger();

}  // namespace trt
}  // namespace trtd
