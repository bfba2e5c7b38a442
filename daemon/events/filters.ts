/**
 * Object filters per label (cameras.<name>.filters.<label>), as Frigate has them: a detection
 * whose box is too small or too large, too narrow or too wide, or scored below min_score is not
 * counted for its object; an object becomes an event only once the median of its scores reaches
 * `threshold`. Areas below 1 are fractions of the frame's area, from 1 up pixels.
 */
import { area, type Box } from '../core/box.js';
import type { FilterSettings } from '../config/types.js';

/** The scores the median is taken over: the latest ones (Frigate keeps the same window). */
export const SCORE_HISTORY = 10;

export class ObjectFilters {
  private readonly frameArea: number;

  constructor(
    private readonly filters: Readonly<Record<string, FilterSettings>>,
    width: number,
    height: number,
  ) {
    this.frameArea = width * height;
  }

  private pixels(v: number): number {
    return v < 1 ? v * this.frameArea : v;
  }

  /** Whether a detection of `label` counts for its object. */
  accepts(label: string, score: number, box: Box): boolean {
    const f = this.filters[label];
    if (!f) return true;
    if (score < f.min_score) return false;
    const a = area(box);
    if (a < this.pixels(f.min_area)) return false;
    if (f.max_area !== null && a > this.pixels(f.max_area)) return false;
    const h = box.y2 - box.y1;
    const ratio = h > 0 ? (box.x2 - box.x1) / h : Infinity;
    if (ratio < f.min_ratio) return false;
    if (f.max_ratio !== null && ratio > f.max_ratio) return false;
    return true;
  }

  /** Whether an object of `label` with these scores (the latest SCORE_HISTORY) is a true one. */
  passes(label: string, scores: readonly number[]): boolean {
    const f = this.filters[label];
    return !f || f.threshold === 0 || median(scores) >= f.threshold;
  }
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
