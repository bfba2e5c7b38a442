#include "trt/logger.h"

#include <algorithm>
#include <utility>

namespace trtd {
namespace trt {

void Logger::log(Severity severity, nvinfer1::AsciiChar const* msg) noexcept {
  try {
    const std::string text = msg ? msg : "";
    const char* level = nullptr;
    Sink sink;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (severity == Severity::kINTERNAL_ERROR || severity == Severity::kERROR) {
        lastError_ = text;
        level = "error";
      } else if (severity == Severity::kWARNING) {
        if (warnings_.size() < 20 && std::find(warnings_.begin(), warnings_.end(), text) == warnings_.end()) {
          warnings_.push_back(text);
        }
        level = "warning";
      } else if (severity == Severity::kINFO) {
        level = "info";
      }
      sink = sink_;
    }
    if (level && sink) sink(level, text);
  } catch (...) {
    // a logger must not throw into TensorRT
  }
}

void Logger::setSink(Sink sink) {
  std::lock_guard<std::mutex> lock(mutex_);
  sink_ = std::move(sink);
}

std::string Logger::takeLastError() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string e;
  e.swap(lastError_);
  return e;
}

std::vector<std::string> Logger::takeWarnings() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> w;
  w.swap(warnings_);
  return w;
}

Logger& logger() {
  static Logger instance;
  return instance;
}

}  // namespace trt
}  // namespace trtd
