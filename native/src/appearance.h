// Appearance of detected objects for the tracker: a small colour histogram per box, computed from
// the frame's pixels (RGB24, RGBA or I420) on the thread that decoded the detections.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "frame_format.h"
#include "postprocess.h"

namespace trtd {

// The box is cut into kAppearanceStripes horizontal stripes (upper and lower body, roof and
// wheels); each stripe gets a joint histogram of BT.601 Y, U and V with kAppearanceLumaBins x
// kAppearanceChromaBins x kAppearanceChromaBins bins.
constexpr int kAppearanceStripes = 2;
constexpr int kAppearanceLumaBins = 4;
constexpr int kAppearanceChromaBins = 4;
constexpr int kAppearanceDims =
    kAppearanceStripes * kAppearanceLumaBins * kAppearanceChromaBins * kAppearanceChromaBins;

// One feature vector of kAppearanceDims floats per box, in the boxes' order, all in one vector:
// each stripe's histogram normalised to sum 1, square-rooted and scaled by 1/sqrt(stripes), so
// that the dot product of two features is the mean Bhattacharyya coefficient of their stripes
// (1: same colours, 0: none in common). Only the inner part of the box is read (a margin on each
// side keeps out most of the background), on a grid of at most kAppearanceSamples x
// kAppearanceSamples points per stripe, so a box costs the same whatever its size. A box with no
// pixel inside the frame gets all zeros.
constexpr int kAppearanceSamples = 24;
std::vector<float> appearanceFeatures(const uint8_t* pixels, int width, int height, FrameFormat format,
                                      const std::vector<RawDetection>& boxes);

}  // namespace trtd
