/**
 * Frame time to wall time for the events. Everything the events decide (max age, the update
 * throttle, stationary and loitering times) runs on the stream's own time, the frames' pts, so a
 * file processed faster than real time behaves as it would live. The times in the events are wall
 * times, seconds since the epoch: the moment the first frame was taken plus its pts.
 *
 * - files: the wall time at the first frame, plus pts; never re-anchored, so an object's
 *   `end_time - start_time` is its time in the video (a file decoded faster than real time gives
 *   times ahead of the clock);
 * - live sources: the same, re-anchored when the stream's clock and the wall clock part by more
 *   than `maxDriftSeconds` (a reconnect that restarts pts, a camera clock that drifts).
 */
export class StreamClock {
  private anchor: number | null = null;

  constructor(
    private readonly live: boolean,
    private readonly now: () => number = () => Date.now() / 1000,
    private readonly maxDriftSeconds = 5,
  ) {}

  /** Seconds since the epoch of the frame at `pts` (seconds from the start of the source). */
  wall(pts: number): number {
    const now = this.now();
    if (this.anchor === null || (this.live && Math.abs(this.anchor + pts - now) > this.maxDriftSeconds)) this.anchor = now - pts;
    return Math.round((this.anchor + pts) * 1000) / 1000;
  }
}
