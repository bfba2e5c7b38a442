#include "postprocess.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>
#include <string>

namespace trtd {

namespace {

bool contains(const std::vector<int>& v, int x) { return std::find(v.begin(), v.end(), x) != v.end(); }

int nmsGroup(int classId, const PostprocessOptions& o) {
  return classId >= 0 && static_cast<size_t>(classId) < o.nmsGroups.size() ? o.nmsGroups[static_cast<size_t>(classId)]
                                                                           : classId;
}

bool classWanted(int classId, const PostprocessOptions& o) {
  if (contains(o.ignoreClasses, classId)) return false;
  return o.classes.empty() || contains(o.classes, classId);
}

// Model-input pixels -> source pixels, clipped. Returns false for a degenerate (or NaN) box.
bool mapToSource(double ix1, double iy1, double ix2, double iy2, const PostprocessOptions& o, RawDetection& d) {
  const InputTransform& t = o.transform;
  const double w = o.srcWidth;
  const double h = o.srcHeight;
  auto clip = [](double v, double hi) { return std::min(std::max(v, 0.0), hi); };
  d.x1 = clip((ix1 - t.padX) / t.scaleX, w);
  d.y1 = clip((iy1 - t.padY) / t.scaleY, h);
  d.x2 = clip((ix2 - t.padX) / t.scaleX, w);
  d.y2 = clip((iy2 - t.padY) / t.scaleY, h);
  return d.x2 > d.x1 && d.y2 > d.y1;  // also false for NaN
}

// Sort by score, highest first; equal scores keep their input order.
void sortByScore(std::vector<RawDetection>& v) {
  std::stable_sort(v.begin(), v.end(), [](const RawDetection& a, const RawDetection& b) { return a.score > b.score; });
}

void cutToTopK(std::vector<RawDetection>& v, int topK) {
  if (topK > 0 && v.size() > static_cast<size_t>(topK)) v.resize(static_cast<size_t>(topK));
}

// Share of box b's area that lies inside box a.
double insideShare(const RawDetection& a, const RawDetection& b) {
  const double iw = std::min(a.x2, b.x2) - std::max(a.x1, b.x1);
  const double ih = std::min(a.y2, b.y2) - std::max(a.y1, b.y1);
  const double area = (b.x2 - b.x1) * (b.y2 - b.y1);
  return iw > 0 && ih > 0 && area > 0 ? iw * ih / area : 0.0;
}

// Drops group boxes: a box that holds two or more better-scored boxes of its NMS group, each
// at least 80 % inside it (SSD's coarse anchors fire on a crowd or a row of cars as one object).
// `v` is sorted by score, highest first.
void dropGroupBoxes(std::vector<RawDetection>& v, const PostprocessOptions& o) {
  std::vector<RawDetection> kept;
  kept.reserve(v.size());
  for (const RawDetection& d : v) {
    int members = 0;
    for (const RawDetection& k : kept) {
      if (nmsGroup(k.classId, o) == nmsGroup(d.classId, o) && insideShare(d, k) >= 0.8) ++members;
    }
    if (members < 2) kept.push_back(d);
  }
  v.swap(kept);
}

// The end of every decode: sorted by score, group boxes dropped when asked, cut to topK.
void finish(std::vector<RawDetection>& v, const PostprocessOptions& o) {
  sortByScore(v);
  if (o.dropGroupBoxes) dropGroupBoxes(v, o);
  cutToTopK(v, o.topK);
}

// Filters, maps and keeps one already-decoded detection (model-input pixels).
void addCandidate(std::vector<RawDetection>& out, int classId, float score, double ix1, double iy1, double ix2,
                  double iy2, const PostprocessOptions& o) {
  if (!(score >= o.threshold)) return;  // also drops NaN
  if (!classWanted(classId, o)) return;
  RawDetection d{classId, score, 0, 0, 0, 0};
  if (mapToSource(ix1, iy1, ix2, iy2, o, d)) out.push_back(d);
}

bool candidateBefore(const ScoreCandidate& a, const ScoreCandidate& b) {
  return a.classId != b.classId ? a.classId < b.classId : a.box < b.box;
}

}  // namespace

double boxIou(const RawDetection& a, const RawDetection& b) {
  const double iw = std::min(a.x2, b.x2) - std::max(a.x1, b.x1);
  const double ih = std::min(a.y2, b.y2) - std::max(a.y1, b.y1);
  if (iw <= 0 || ih <= 0) return 0.0;
  const double inter = iw * ih;
  const double uni = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter;
  return uni > 0 ? inter / uni : 0.0;
}

std::vector<ScoreCandidate> scoreCandidates(const float* scores, int numBoxes, int numClasses,
                                            const PostprocessOptions& o) {
  std::vector<ScoreCandidate> out;
  for (int c = 0; c < numClasses; ++c) {
    if (!classWanted(c, o)) continue;
    for (int i = 0; i < numBoxes; ++i) {
      const float score = scores[static_cast<size_t>(i) * numClasses + c];
      if (score >= o.threshold) out.push_back(ScoreCandidate{i, c, score});  // also drops NaN
    }
  }
  return out;
}

std::vector<bool> wantedClasses(int numClasses, const PostprocessOptions& o) {
  std::vector<bool> v(static_cast<size_t>(numClasses > 0 ? numClasses : 0));
  for (int c = 0; c < numClasses; ++c) v[static_cast<size_t>(c)] = classWanted(c, o);
  return v;
}

std::vector<RawDetection> decodeScoresBoxes(const float* scores, const float* boxes, int numBoxes, int numClasses,
                                            const PostprocessOptions& o, BoxOrder order) {
  const std::vector<ScoreCandidate> cand = scoreCandidates(scores, numBoxes, numClasses, o);
  return decodeScoreCandidates(cand.data(), cand.size(), boxes, numBoxes, o, order);
}

std::vector<RawDetection> decodeScoreCandidates(const ScoreCandidate* candidates, size_t count, const float* boxes,
                                                int numBoxes, const PostprocessOptions& o, BoxOrder order) {
  // The CPU's order (class, then box): a GPU filter hands them over in any order.
  std::vector<ScoreCandidate> cand(candidates, candidates + count);
  if (!std::is_sorted(cand.begin(), cand.end(), candidateBefore)) std::sort(cand.begin(), cand.end(), candidateBefore);
  // Candidates grouped per NMS group (the class, or the classes reported under one label), boxes
  // in source pixels (NMS runs on the boxes we report).
  std::map<int, std::vector<RawDetection>> perGroup;
  const double iw = o.inputWidth;
  const double ih = o.inputHeight;
  const int xi = order == BoxOrder::YXYX ? 1 : 0;  // index of x1 in a box (x2 is xi + 2)
  const int yi = 1 - xi;
  for (const ScoreCandidate& k : cand) {
    if (k.box < 0 || k.box >= numBoxes || !(k.score >= o.threshold) || !classWanted(k.classId, o)) continue;
    const float* b = boxes + static_cast<size_t>(k.box) * 4;
    RawDetection d{k.classId, k.score, 0, 0, 0, 0};
    if (!mapToSource(b[xi] * iw, b[yi] * ih, b[xi + 2] * iw, b[yi + 2] * ih, o, d)) continue;
    perGroup[nmsGroup(k.classId, o)].push_back(d);
  }

  std::vector<RawDetection> kept;
  for (auto& group : perGroup) {
    std::vector<RawDetection>& cands = group.second;
    sortByScore(cands);
    const size_t firstOfClass = kept.size();
    for (const RawDetection& d : cands) {
      bool suppressed = false;
      for (size_t k = firstOfClass; k < kept.size(); ++k) {
        if (boxIou(kept[k], d) > o.nmsIou) {
          suppressed = true;
          break;
        }
      }
      if (!suppressed) {
        kept.push_back(d);
        // No group can contribute more than topK boxes to the final list.
        if (o.topK > 0 && kept.size() - firstOfClass >= static_cast<size_t>(o.topK)) break;
      }
    }
  }
  finish(kept, o);
  return kept;
}

std::vector<RawDetection> decodeNms7(const float* rows, int count, const PostprocessOptions& o) {
  std::vector<RawDetection> out;
  const double iw = o.inputWidth;
  const double ih = o.inputHeight;
  for (int i = 0; i < count; ++i) {
    const float* r = rows + static_cast<size_t>(i) * 7;
    if (!(r[0] >= 0.f) || !(r[1] >= 0.f)) continue;  // padding rows (-1) and NaN
    const int classId = static_cast<int>(std::lround(r[1]));
    addCandidate(out, classId, r[2], r[3] * iw, r[4] * ih, r[5] * iw, r[6] * ih, o);
  }
  finish(out, o);
  return out;
}

std::vector<RawDetection> decodeEfficientNms(int numDets, const float* boxes, const float* scores,
                                             const float* classesF, const int32_t* classesI, bool normalized,
                                             const PostprocessOptions& o) {
  std::vector<RawDetection> out;
  const double sx = normalized ? o.inputWidth : 1.0;
  const double sy = normalized ? o.inputHeight : 1.0;
  for (int i = 0; i < numDets; ++i) {
    int classId;
    if (classesI) {
      classId = classesI[i];
    } else {
      const float c = classesF[i];
      if (!(c >= 0.f)) continue;
      classId = static_cast<int>(std::lround(c));
    }
    if (classId < 0) continue;
    const float* b = boxes + static_cast<size_t>(i) * 4;
    addCandidate(out, classId, scores[i], b[0] * sx, b[1] * sy, b[2] * sx, b[3] * sy, o);
  }
  finish(out, o);
  return out;
}

namespace {

double scalarAt(const OutputView& v, size_t i) {
  switch (v.kind) {
    case ElementKind::Int32:
      return static_cast<const int32_t*>(v.data)[i];
    case ElementKind::Int64:
      return static_cast<double>(static_cast<const int64_t*>(v.data)[i]);
    case ElementKind::Float32:
    default:
      return static_cast<const float*>(v.data)[i];
  }
}

const float* floats(const OutputView& v) { return static_cast<const float*>(v.data); }

std::string role(const char* name, int index, const std::vector<OutputView>& outputs, size_t want, bool floatOnly,
                 bool atLeast = false) {
  if (index < 0 || static_cast<size_t>(index) >= outputs.size())
    return std::string("the ") + name + " output is missing (index " + std::to_string(index) + " of " +
           std::to_string(outputs.size()) + ")";
  const OutputView& v = outputs[static_cast<size_t>(index)];
  if (!v.data) return std::string("the ") + name + " output has no data";
  if (floatOnly && v.kind != ElementKind::Float32) return std::string("the ") + name + " output must be float32";
  if (atLeast ? v.elements < want : v.elements != want)
    return std::string("the ") + name + " output has " + std::to_string(v.elements) + " elements, expected " +
           (atLeast ? "at least " : "") + std::to_string(want);
  return "";
}

}  // namespace

std::string checkOutputs(const LayoutSpec& s, const std::vector<OutputView>& outputs) {
  std::string e;
  switch (s.layout) {
    case OutputLayout::ScoresBoxes:
      if (s.numBoxes < 0 || s.numClasses < 1) return "scores_boxes: numBoxes/numClasses out of range";
      e = role("scores", s.scores, outputs, static_cast<size_t>(s.numBoxes) * static_cast<size_t>(s.numClasses), true);
      if (e.empty()) e = role("boxes", s.boxes, outputs, static_cast<size_t>(s.numBoxes) * 4, true);
      return e;
    case OutputLayout::Nms7:
      if (s.count < 0) return "nms7: count out of range";
      e = role("detections", s.detections, outputs, static_cast<size_t>(s.count) * 7, true);
      if (e.empty() && s.keepCount >= 0) e = role("keep count", s.keepCount, outputs, 1, false, true);
      return e;
    case OutputLayout::EfficientNms: {
      e = role("boxes", s.boxes, outputs, 0, true, true);
      if (!e.empty()) return e;
      const size_t boxes = outputs[static_cast<size_t>(s.boxes)].elements;
      if (boxes % 4 != 0) return "the boxes output is not a multiple of 4 elements";
      e = role("scores", s.scores, outputs, boxes / 4, true);
      if (e.empty()) e = role("classes", s.classes, outputs, boxes / 4, false);
      if (e.empty()) e = role("num_dets", s.numDets, outputs, 1, false, true);
      if (e.empty() && outputs[static_cast<size_t>(s.classes)].kind == ElementKind::Int64)
        e = "the classes output must be float32 or int32";
      return e;
    }
  }
  return "unknown layout";
}

std::vector<RawDetection> decodeOutputs(const LayoutSpec& s, const std::vector<OutputView>& outputs,
                                        const PostprocessOptions& o) {
  const std::string problem = checkOutputs(s, outputs);
  if (!problem.empty()) throw std::runtime_error(problem);
  auto at = [&](int i) -> const OutputView& { return outputs[static_cast<size_t>(i)]; };
  switch (s.layout) {
    case OutputLayout::ScoresBoxes:
      return decodeScoresBoxes(floats(at(s.scores)), floats(at(s.boxes)), s.numBoxes, s.numClasses, o, s.boxOrder);
    case OutputLayout::Nms7: {
      int n = s.count;
      if (s.keepCount >= 0) {
        const double keep = std::round(scalarAt(at(s.keepCount), 0));
        if (keep >= 0 && keep < n) n = static_cast<int>(keep);
        if (!(keep >= 0)) n = 0;
      }
      return decodeNms7(floats(at(s.detections)), n, o);
    }
    case OutputLayout::EfficientNms: {
      const OutputView& boxes = at(s.boxes);
      const size_t maxDets = boxes.elements / 4;
      const double nd = std::round(scalarAt(at(s.numDets), 0));
      const int numDets = nd > 0 ? static_cast<int>(std::min<double>(nd, static_cast<double>(maxDets))) : 0;
      float max = 0.f;
      for (size_t i = 0; i < boxes.elements; ++i) max = std::max(max, floats(boxes)[i]);
      const OutputView& classes = at(s.classes);
      const bool intClasses = classes.kind == ElementKind::Int32;
      return decodeEfficientNms(numDets, floats(boxes), floats(at(s.scores)), intClasses ? nullptr : floats(classes),
                                intClasses ? static_cast<const int32_t*>(classes.data) : nullptr, max <= 1.5f, o);
    }
  }
  return {};
}

}  // namespace trtd
