// Decoding of SSD detector outputs (three layouts), per-class greedy NMS, and mapping of boxes
// back to source-frame pixels. Pure C++: shared by every backend (ONNX Runtime, TensorRT).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "preprocess.h"

namespace trtd {

struct PostprocessOptions {
  int inputWidth = 0;  // model input size
  int inputHeight = 0;
  int srcWidth = 0;  // source frame size
  int srcHeight = 0;
  InputTransform transform;        // from preprocess
  float threshold = 0.f;           // keep score >= threshold
  double nmsIou = 0.5;             // suppress IoU > nmsIou (scores_boxes only)
  int topK = 0;                    // at most topK results; 0 = no limit
  std::vector<int> classes;        // keep only these ids; empty = all
  std::vector<int> ignoreClasses;  // never reported (background ids)
  bool dropGroupBoxes = false;     // drop a box holding >= 2 better boxes of its group (a crowd as one)
  // NMS group per class id (scores_boxes; group boxes): classes reported under one label (car, bus,
  // truck -> vehicle) suppress each other. Class ids past the end are groups of their own.
  std::vector<int> nmsGroups;
};

// Source-frame pixels, clipped to [0,w]x[0,h], x1<x2, y1<y2.
struct RawDetection {
  int classId;
  float score;
  double x1, y1, x2, y2;
};

// Corner order of a scores_boxes model's boxes: x1,y1,x2,y2 (PyTorch SSD exports) or y1,x1,y2,x2
// (TensorFlow SSD exports).
enum class BoxOrder { XYXY, YXYX };

// scores [N,C] probabilities, boxes [N,4] normalised corners of the model input in `order`.
// Per-class greedy NMS, then all classes merged, sorted by score (desc), cut to topK.
std::vector<RawDetection> decodeScoresBoxes(const float* scores, const float* boxes, int numBoxes, int numClasses,
                                            const PostprocessOptions& o, BoxOrder order = BoxOrder::XYXY);

// One (box, class) score that passed the threshold and the class filter: the first half of
// decodeScoresBoxes, which the CUDA score filter (cuda/decode_kernels.cu) does on the GPU. A plain
// struct the kernel writes as it is.
struct ScoreCandidate {
  int box;
  int classId;
  float score;
};

// The candidates of scores [N,C] in the CPU's order (class, then box).
std::vector<ScoreCandidate> scoreCandidates(const float* scores, int numBoxes, int numClasses,
                                            const PostprocessOptions& o);

// Per class id: does the threshold/class filter keep it (ignoreClasses and classes applied).
std::vector<bool> wantedClasses(int numClasses, const PostprocessOptions& o);

// The second half of decodeScoresBoxes: candidates in any order (sorted here), boxes [N,4].
// decodeScoresBoxes(s, b, ...) == decodeScoreCandidates(scoreCandidates(s, ...), b, ...).
std::vector<RawDetection> decodeScoreCandidates(const ScoreCandidate* candidates, size_t count, const float* boxes,
                                                int numBoxes, const PostprocessOptions& o,
                                                BoxOrder order = BoxOrder::XYXY);

// rows [K,7] = image_id, label, conf, x1, y1, x2, y2 (normalised), already NMSed by the model.
// Rows with image_id < 0 or label < 0 are padding and skipped.
std::vector<RawDetection> decodeNms7(const float* rows, int count, const PostprocessOptions& o);

// EfficientNMS outputs: the first numDets rows of boxes [maxDets,4] (x1,y1,x2,y2, normalised or
// model-input pixels), scores [maxDets], classes [maxDets] as float or int32 (exactly one non-null).
std::vector<RawDetection> decodeEfficientNms(int numDets, const float* boxes, const float* scores,
                                             const float* classesF, const int32_t* classesI, bool normalized,
                                             const PostprocessOptions& o);

// A model's outputs by role, as the backends bind them (daemon/detect/layouts.ts): indices into
// the list of output tensors handed to decodeOutputs, -1 when absent.
enum class OutputLayout { ScoresBoxes, Nms7, EfficientNms };
struct LayoutSpec {
  OutputLayout layout = OutputLayout::ScoresBoxes;
  int scores = -1, boxes = -1;          // scores_boxes, efficient_nms
  int detections = -1, keepCount = -1;  // nms7
  int numDets = -1, classes = -1;       // efficient_nms
  int numBoxes = 0, numClasses = 0;     // scores_boxes
  int count = 0;                        // nms7 rows
  BoxOrder boxOrder = BoxOrder::XYXY;   // scores_boxes
};

enum class ElementKind { Float32, Int32, Int64 };
// One output tensor in host memory.
struct OutputView {
  const void* data = nullptr;
  size_t elements = 0;
  ElementKind kind = ElementKind::Float32;
};

// Checks that the views fit the spec (roles present, types and sizes); "" when they do, else
// one line naming the problem.
std::string checkOutputs(const LayoutSpec& spec, const std::vector<OutputView>& outputs);

// Decodes any layout from host tensors (checkOutputs first; throws std::runtime_error when they
// do not fit). efficient_nms boxes count as normalised when no coordinate exceeds 1.5.
std::vector<RawDetection> decodeOutputs(const LayoutSpec& spec, const std::vector<OutputView>& outputs,
                                        const PostprocessOptions& o);

// Intersection over union of two boxes (0 when either is empty).
double boxIou(const RawDetection& a, const RawDetection& b);

}  // namespace trtd
