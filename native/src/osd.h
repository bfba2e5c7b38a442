// On-screen display: boxes and labels drawn in place on an RGB24, RGBA or I420 frame.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "frame_format.h"

namespace trtd {

struct DrawBox {
  double x1, y1, x2, y2;  // source-frame pixels; may reach outside the frame
  int classId;
  std::string text;  // label text ("vehicle 0.91"); empty = no label
};

struct Rgb {
  uint8_t r, g, b;
};

struct OsdStyle {
  int thickness;  // box line width in pixels
  int fontScale;  // each font pixel becomes fontScale x fontScale pixels
  int padding;    // space around the text inside the label background
};

// 2 px lines and 1x text up to 720p-ish frames, thicker lines and larger text above.
OsdStyle osdStyleFor(int width, int height);

// Colour of a class id (fixed palette, repeats after its length).
Rgb classColour(int classId);

// Draws every box (clipped to the frame) and its label, which always stays inside the frame:
// above the box when there is room, else just inside its top edge.
// RGBA: the fourth byte is left as it is. I420: colours in BT.601 (frame_format.h); text changes
// only the luma, so it keeps the label's colour.
void drawBoxes(uint8_t* pixels, int width, int height, const std::vector<DrawBox>& boxes,
               FrameFormat format = FrameFormat::Rgb24);

}  // namespace trtd
