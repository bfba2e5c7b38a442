/**
 * Whether an object stands still: its box keeps an IoU of at least `minIou` with where it was
 * when it stopped moving, for `seconds` of stream time. A box that moves away (IoU below) starts
 * over from its new place.
 */
import { iou, type Box } from '../core/box.js';

export class StationaryDetector {
  private ref: Box | null = null;
  private since = 0;
  stationary = false;

  constructor(
    private readonly seconds: number,
    private readonly minIou: number,
  ) {}

  /** Takes the object's box at stream time `t`; returns whether it is stationary now. */
  update(box: Box, t: number): boolean {
    if (this.ref === null || iou(box, this.ref) < this.minIou) {
      this.ref = { ...box };
      this.since = t;
      this.stationary = false;
    } else if (t - this.since >= this.seconds) {
      this.stationary = true;
    }
    return this.stationary;
  }
}
