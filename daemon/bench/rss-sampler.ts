import { performance } from 'node:perf_hooks';
import { childrenRssMb } from './process-usage.js';

/** One RSS sample: seconds since the sampler started, this process's RSS and its children's (MB). */
export interface RssSample {
  t_s: number;
  rss_mb: number;
  children_rss_mb: number | null;
}

export interface RssTrend {
  /** samples before this many seconds are warm-up and left out of the slope */
  warmup_s: number;
  samples_used: number;
  /** least-squares slope of this process's RSS after warm-up, MB per minute */
  slope_mb_per_min: number;
  /** the fitted line's rise over the measured span (slope x span), MB */
  growth_mb: number;
  min_mb: number;
  max_mb: number;
}

const mb = (bytes: number) => Number((bytes / 1048576).toFixed(1));

/** Least-squares slope of y over x; 0 with fewer than two distinct x. */
export function slope(points: ReadonlyArray<readonly [number, number]>): number {
  const n = points.length;
  if (n < 2) return 0;
  let sx = 0;
  let sy = 0;
  for (const [x, y] of points) {
    sx += x;
    sy += y;
  }
  const mx = sx / n;
  const my = sy / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) * (x - mx);
  }
  return den > 0 ? num / den : 0;
}

/**
 * Samples RSS on a timer. `max` follows this process every 250 ms; `samples` keeps one entry every
 * `everySeconds` (with the children's RSS) for the memory-flatness trend.
 */
export class RssSampler {
  private maxBytes = 0;
  readonly samples: RssSample[] = [];
  private readonly t0 = performance.now();
  private lastKept = -Infinity;
  private readonly timer: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly everySeconds = 5,
    private readonly exclude: ReadonlySet<number> = new Set(),
  ) {
    this.tick();
    this.timer = setInterval(() => this.tick(), 250);
  }

  private tick(): void {
    const rss = process.memoryUsage().rss;
    this.maxBytes = Math.max(this.maxBytes, rss);
    const t = (performance.now() - this.t0) / 1000;
    if (t - this.lastKept >= this.everySeconds - 0.125) {
      this.lastKept = t;
      this.samples.push({ t_s: Number(t.toFixed(2)), rss_mb: mb(rss), children_rss_mb: childrenRssMb(this.exclude) });
    }
  }

  /** the highest RSS of this process seen so far, MB */
  get maxMb(): number {
    return mb(this.maxBytes);
  }

  /** highest children's RSS among the kept samples, MB */
  get maxChildrenMb(): number | null {
    const v = this.samples.map((s) => s.children_rss_mb).filter((x): x is number => x !== null);
    return v.length ? Math.max(...v) : null;
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    this.tick();
  }

  /** RSS trend after `warmupSeconds`: slope and range of this process's RSS. */
  trend(warmupSeconds: number): RssTrend {
    const used = this.samples.filter((s) => s.t_s >= warmupSeconds);
    const k = slope(used.map((s) => [s.t_s / 60, s.rss_mb] as const));
    const span = used.length > 1 ? (used[used.length - 1].t_s - used[0].t_s) / 60 : 0;
    const values = used.map((s) => s.rss_mb);
    return {
      warmup_s: Number(warmupSeconds.toFixed(1)),
      samples_used: used.length,
      slope_mb_per_min: Number(k.toFixed(3)),
      growth_mb: Number((k * span).toFixed(1)),
      min_mb: values.length ? Math.min(...values) : 0,
      max_mb: values.length ? Math.max(...values) : 0,
    };
  }
}
