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

/** Running mean of a latency (ms). */
export class MeanMeter {
  count = 0;
  private sum = 0;
  add(v: number): void {
    this.count++;
    this.sum += v;
  }
  get mean(): number {
    return this.count ? Number((this.sum / this.count).toFixed(2)) : 0;
  }
}
