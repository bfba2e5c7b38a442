import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/** Event-loop delay (ms): max and p99 since start and since the last `window()` call. */
export class LoopDelayMonitor {
  private readonly total: IntervalHistogram;
  private readonly recent: IntervalHistogram;

  constructor(resolutionMs = 10) {
    this.total = monitorEventLoopDelay({ resolution: resolutionMs });
    this.recent = monitorEventLoopDelay({ resolution: resolutionMs });
    this.total.enable();
    this.recent.enable();
  }

  private static read(h: IntervalHistogram) {
    const ms = (ns: number) => Number((ns / 1e6).toFixed(1));
    return { max_ms: h.count ? ms(h.max) : 0, p99_ms: h.count ? ms(h.percentile(99)) : 0, mean_ms: h.count ? ms(h.mean) : 0 };
  }

  /** Delay since the previous window() (then reset). */
  window() {
    const r = LoopDelayMonitor.read(this.recent);
    this.recent.reset();
    return r;
  }

  /** Forgets everything measured so far (start-up work such as loading the model is not steady state). */
  reset(): void {
    this.total.reset();
    this.recent.reset();
  }

  /** Delay since start (or the last reset()). */
  overall() {
    return LoopDelayMonitor.read(this.total);
  }

  stop(): void {
    this.total.disable();
    this.recent.disable();
  }
}
