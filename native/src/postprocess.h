// Decoding of SSD detector outputs (three layouts), per-class greedy NMS, and mapping of boxes
// back to source-frame pixels. Pure C++: shared by every backend (ONNX Runtime, TensorRT).
#pragma once

#include <cstdint>
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

// rows [K,7] = image_id, label, conf, x1, y1, x2, y2 (normalised), already NMSed by the model.
// Rows with image_id < 0 or label < 0 are padding and skipped.
std::vector<RawDetection> decodeNms7(const float* rows, int count, const PostprocessOptions& o);

// EfficientNMS outputs: the first numDets rows of boxes [maxDets,4] (x1,y1,x2,y2, normalised or
// model-input pixels), scores [maxDets], classes [maxDets] as float or int32 (exactly one non-null).
std::vector<RawDetection> decodeEfficientNms(int numDets, const float* boxes, const float* scores,
                                             const float* classesF, const int32_t* classesI, bool normalized,
                                             const PostprocessOptions& o);

// Intersection over union of two boxes (0 when either is empty).
double boxIou(const RawDetection& a, const RawDetection& b);

}  // namespace trtd
