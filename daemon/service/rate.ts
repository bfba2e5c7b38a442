/** Events per second over a sliding window (frames/s for stats and status). */
export class RateMeter {
  private readonly stamps: number[] = [];
  constructor(private readonly windowMs = 5000) {}

  tick(now = Date.now()): void {
    this.stamps.push(now);
    this.trim(now);
  }

  rate(now = Date.now()): number {
    this.trim(now);
    if (this.stamps.length < 2) return 0;
    const span = (now - this.stamps[0]) / 1000;
    return span > 0 ? Number(((this.stamps.length - 1) / Math.max(span, 1e-3)).toFixed(2)) : 0;
  }

  private trim(now: number): void {
    while (this.stamps.length > 0 && now - this.stamps[0] > this.windowMs) this.stamps.shift();
  }
}

/** Upper bounds (ms) of the cumulative latency histogram every LatencyStats keeps (/metrics). */
export const LATENCY_BUCKETS_MS: readonly number[] = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

/** A cumulative histogram since start (Prometheus semantics): counts[i] = samples <= bounds[i]. */
export interface LatencyHistogram {
  bounds_ms: readonly number[];
  counts: number[];
  count: number;
  sum_ms: number;
}

/**
 * Latency samples (ms) of one stage: mean and histogram over every sample, p50/p99 over the newest
 * `cap` samples, kept in a ring allocated once (its memory does not grow or churn with the run).
 */
export class LatencyStats {
  private readonly ring: Float64Array;
  /** samples in the ring (at most cap) */
  private kept = 0;
  /** where the next sample goes */
  private next = 0;
  count = 0;
  private sum = 0;
  /** per-bucket (not cumulative) counts over LATENCY_BUCKETS_MS, plus one overflow slot */
  private readonly buckets = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  constructor(cap = 8192) {
    this.ring = new Float64Array(Math.max(1, Math.floor(cap)));
  }

  add(v: number): void {
    this.count++;
    this.sum += v;
    let b = 0;
    while (b < LATENCY_BUCKETS_MS.length && v > LATENCY_BUCKETS_MS[b]) b++;
    this.buckets[b]++;
    this.ring[this.next] = v;
    this.next = (this.next + 1) % this.ring.length;
    if (this.kept < this.ring.length) this.kept++;
  }

  get mean(): number {
    return this.count ? Number((this.sum / this.count).toFixed(2)) : 0;
  }

  percentile(p: number): number {
    if (!this.kept) return 0;
    const sorted = this.ring.slice(0, this.kept).sort();
    const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
    return Number(sorted[i].toFixed(2));
  }

  /** Every sample since start, bucketed (cumulative counts, as Prometheus histograms are). */
  histogram(): LatencyHistogram {
    const counts: number[] = [];
    let acc = 0;
    for (let i = 0; i < LATENCY_BUCKETS_MS.length; i++) counts.push((acc += this.buckets[i]));
    return { bounds_ms: LATENCY_BUCKETS_MS, counts, count: this.count, sum_ms: this.sum };
  }

  /** Forgets every sample (`trt-detect bench` discards its warm-up this way). */
  reset(): void {
    this.kept = 0;
    this.next = 0;
    this.count = 0;
    this.sum = 0;
    this.buckets.fill(0);
  }

  summary(): { mean_ms: number; p50_ms: number; p99_ms: number; count: number } {
    return { mean_ms: this.mean, p50_ms: this.percentile(50), p99_ms: this.percentile(99), count: this.count };
  }
}

/** One LatencyStats per pipeline stage, as the camera pipeline and `trt-detect bench` keep them. */
export function stageTimings() {
  return {
    decode: new LatencyStats(),
    preprocess: new LatencyStats(),
    inference: new LatencyStats(),
    postprocess: new LatencyStats(),
    /** the tracker's update or prediction for a frame (cameras.<name>.track) */
    track: new LatencyStats(),
    draw: new LatencyStats(),
    encode: new LatencyStats(),
    publish: new LatencyStats(),
  };
}
