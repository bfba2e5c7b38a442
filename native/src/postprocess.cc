#include "postprocess.h"

#include <algorithm>
#include <cmath>
#include <map>

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

}  // namespace

double boxIou(const RawDetection& a, const RawDetection& b) {
  const double iw = std::min(a.x2, b.x2) - std::max(a.x1, b.x1);
  const double ih = std::min(a.y2, b.y2) - std::max(a.y1, b.y1);
  if (iw <= 0 || ih <= 0) return 0.0;
  const double inter = iw * ih;
  const double uni = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter;
  return uni > 0 ? inter / uni : 0.0;
}

std::vector<RawDetection> decodeScoresBoxes(const float* scores, const float* boxes, int numBoxes, int numClasses,
                                            const PostprocessOptions& o, BoxOrder order) {
  // Candidates grouped per NMS group (the class, or the classes reported under one label), boxes
  // in source pixels (NMS runs on the boxes we report).
  std::map<int, std::vector<RawDetection>> perGroup;
  const double iw = o.inputWidth;
  const double ih = o.inputHeight;
  const int xi = order == BoxOrder::YXYX ? 1 : 0;  // index of x1 in a box (x2 is xi + 2)
  const int yi = 1 - xi;
  for (int c = 0; c < numClasses; ++c) {
    if (!classWanted(c, o)) continue;
    std::vector<RawDetection>* bucket = nullptr;
    for (int i = 0; i < numBoxes; ++i) {
      const float score = scores[static_cast<size_t>(i) * numClasses + c];
      if (!(score >= o.threshold)) continue;
      const float* b = boxes + static_cast<size_t>(i) * 4;
      RawDetection d{c, score, 0, 0, 0, 0};
      if (!mapToSource(b[xi] * iw, b[yi] * ih, b[xi + 2] * iw, b[yi + 2] * ih, o, d)) continue;
      if (!bucket) bucket = &perGroup[nmsGroup(c, o)];
      bucket->push_back(d);
    }
  }

  std::vector<RawDetection> kept;
  for (auto& group : perGroup) {
    std::vector<RawDetection>& cand = group.second;
    sortByScore(cand);
    const size_t firstOfClass = kept.size();
    for (const RawDetection& d : cand) {
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

}  // namespace trtd
