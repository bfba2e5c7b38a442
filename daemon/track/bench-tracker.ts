import { performance } from 'node:perf_hooks';
import type { Detection } from '../core/detection.js';
import { Tracker } from './tracker.js';

/** The length of an appearance feature (native/src/appearance.h kAppearanceDims). */
const FEATURE_DIMS = 128;

/**
 * The mean time of one `Tracker.update` in milliseconds, for `n` objects (one class, the costliest
 * case for the matching) moving steadily on a grid for `frames` frames, each with an appearance
 * feature of its own (as the detector gives them with track.appearance; `appearance` false: none,
 * IoU only); only the updates are timed, not making the detections. For a benchmark to call; the
 * tests only check it runs.
 */
export function benchTracker(n: number, frames: number, appearance = true): number {
  const tracker = new Tracker({ appearance });
  const columns = Math.ceil(Math.sqrt(n));
  // a feature per object: a few bins of each of its two stripes, unit length
  const features = Array.from({ length: n }, (_, k) => {
    const f = new Float32Array(FEATURE_DIMS);
    for (const bin of [k % 64, (7 * k + 3) % 64, 64 + ((5 * k) % 64), 64 + ((11 * k + 1) % 64)]) f[bin] += 0.5;
    return f;
  });
  let total = 0;
  for (let f = 0; f < frames; f++) {
    const detections: Detection[] = [];
    for (let k = 0; k < n; k++) {
      // 40×80 boxes 100 px apart on a grid; each row moves right at its own speed (1–3 px per
      // frame) and each column up or down by half a pixel, so that no two boxes ever overlap (a
      // benchmark of the tracker, not of id switches); scores on both sides of highScore
      const row = Math.floor(k / columns);
      const col = k % columns;
      const x = 100 * col + f * (1 + (row % 3));
      const y = 100 * row + f * ((col % 2) - 0.5);
      const d: Detection = { label: 'person', class_id: 1, score: 0.3 + ((3 * k + f) % 7) / 10, box: { x1: x, y1: y, x2: x + 40, y2: y + 80 } };
      if (appearance) d.appearance = features[k];
      detections.push(d);
    }
    const start = performance.now();
    tracker.update(detections, f);
    total += performance.now() - start;
  }
  return frames > 0 ? total / frames : 0;
}
