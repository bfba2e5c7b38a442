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

/** Latency samples (ms) of one stage: mean, p50, p99. Keeps the newest `cap` samples. */
export class LatencyStats {
  private samples: number[] = [];
  count = 0;
  private sum = 0;
  constructor(private readonly cap = 20_000) {}

  add(v: number): void {
    this.count++;
    this.sum += v;
    this.samples.push(v);
    if (this.samples.length > this.cap) this.samples = this.samples.slice(-Math.floor(this.cap / 2));
  }

  get mean(): number {
    return this.count ? Number((this.sum / this.count).toFixed(2)) : 0;
  }

  percentile(p: number): number {
    if (!this.samples.length) return 0;
    const sorted = [...this.samples].sort((a, b) => a - b);
    const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
    return Number(sorted[i].toFixed(2));
  }

  summary(): { mean_ms: number; p50_ms: number; p99_ms: number; count: number } {
    return { mean_ms: this.mean, p50_ms: this.percentile(50), p99_ms: this.percentile(99), count: this.count };
  }
}
