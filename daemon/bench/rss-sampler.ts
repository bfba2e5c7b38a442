import { performance } from 'node:perf_hooks';
import { childrenRssMb } from './process-usage.js';

/**
 * One memory sample: seconds since the sampler started; this process's RSS, V8 heap in use, the
 * heap V8 has reserved (it grows its heap in the first minutes and keeps what it grew) and memory
 * outside the heap (Buffers: the frames); the children's RSS (MB).
 */
export interface RssSample {
  t_s: number;
  rss_mb: number;
  heap_used_mb: number;
  heap_total_mb: number;
  external_mb: number;
  children_rss_mb: number | null;
}

export interface RssTrend {
  /** samples before this many seconds are warm-up and left out of the fit */
  warmup_s: number;
  samples_used: number;
  /** least-squares slope of this process's RSS after warm-up, MB per minute */
  slope_mb_per_min: number;
  /** half-width of the slope's 95% confidence interval, MB per minute (garbage collection makes RSS saw-tooth) */
  slope_ci95_mb_per_min: number;
  /** the fitted line's rise over the measured span (slope x span), MB */
  growth_mb: number;
  min_mb: number;
  max_mb: number;
  /** the highest RSS in each whole minute after warm-up: a leak makes these climb */
  minute_peaks_mb: number[];
  /** slopes of the V8 heap in use, of the heap V8 reserved and of the memory outside it (Buffers), MB per minute */
  heap_slope_mb_per_min: number;
  heap_total_slope_mb_per_min: number;
  /** when V8's reserved heap last grew, seconds from the start (its own warm-up) */
  heap_total_settled_s: number;
  external_slope_mb_per_min: number;
}

const mb = (bytes: number) => Number((bytes / 1048576).toFixed(1));

export interface LineFit {
  slope: number;
  /** half-width of the 95% confidence interval of the slope (normal approximation); 0 below 3 points */
  ci95: number;
}

/** Least-squares line through points: slope and the 95% interval of the slope. */
export function fitLine(points: ReadonlyArray<readonly [number, number]>): LineFit {
  const n = points.length;
  if (n < 2) return { slope: 0, ci95: 0 };
  let sx = 0;
  let sy = 0;
  for (const [x, y] of points) {
    sx += x;
    sy += y;
  }
  const mx = sx / n;
  const my = sy / n;
  let sxy = 0;
  let sxx = 0;
  for (const [x, y] of points) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) * (x - mx);
  }
  if (sxx <= 0) return { slope: 0, ci95: 0 };
  const k = sxy / sxx;
  if (n < 3) return { slope: k, ci95: 0 };
  let sse = 0;
  for (const [x, y] of points) {
    const r = y - (my + k * (x - mx));
    sse += r * r;
  }
  return { slope: k, ci95: 1.96 * Math.sqrt(sse / (n - 2) / sxx) };
}

/** Least-squares slope of y over x; 0 with fewer than two distinct x. */
export function slope(points: ReadonlyArray<readonly [number, number]>): number {
  return fitLine(points).slope;
}

/** The time of the last sample in which V8's reserved heap reached a new high (0 without samples). */
export function heapSettled(samples: ReadonlyArray<Pick<RssSample, 't_s' | 'heap_total_mb'>>): number {
  let high = -Infinity;
  let at = 0;
  for (const s of samples) {
    if (s.heap_total_mb > high) {
      high = s.heap_total_mb;
      at = s.t_s;
    }
  }
  return at;
}

/**
 * Samples memory on a timer. `maxMb` follows this process every 250 ms; `samples` keeps one entry
 * every `everySeconds` (with the children's RSS) for the memory-flatness trend.
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
    const m = process.memoryUsage();
    this.maxBytes = Math.max(this.maxBytes, m.rss);
    const t = (performance.now() - this.t0) / 1000;
    if (t - this.lastKept >= this.everySeconds - 0.125) {
      this.lastKept = t;
      this.samples.push({ t_s: Number(t.toFixed(2)), rss_mb: mb(m.rss), heap_used_mb: mb(m.heapUsed), heap_total_mb: mb(m.heapTotal), external_mb: mb(m.external), children_rss_mb: childrenRssMb(this.exclude) });
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

  /** Memory trend after `warmupSeconds`: slope (with its 95% interval), range and per-minute peaks of this process's RSS. */
  trend(warmupSeconds: number): RssTrend {
    const used = this.samples.filter((s) => s.t_s >= warmupSeconds);
    const fit = fitLine(used.map((s) => [s.t_s / 60, s.rss_mb] as const));
    const span = used.length > 1 ? (used[used.length - 1].t_s - used[0].t_s) / 60 : 0;
    const values = used.map((s) => s.rss_mb);
    const peaks: number[] = [];
    for (const s of used) {
      const i = Math.floor((s.t_s - warmupSeconds) / 60);
      peaks[i] = Math.max(peaks[i] ?? 0, s.rss_mb);
    }
    // only whole minutes: a last partial minute has fewer chances to reach its peak
    const whole = Math.floor(span + 1e-9);
    const r3 = (v: number) => Number(v.toFixed(3));
    const slopeOf = (mbOf: (s: RssSample) => number) => r3(fitLine(used.map((s) => [s.t_s / 60, mbOf(s)] as const)).slope);
    return {
      warmup_s: Number(warmupSeconds.toFixed(1)),
      samples_used: used.length,
      slope_mb_per_min: r3(fit.slope),
      slope_ci95_mb_per_min: r3(fit.ci95),
      growth_mb: Number((fit.slope * span).toFixed(1)),
      min_mb: values.length ? Math.min(...values) : 0,
      max_mb: values.length ? Math.max(...values) : 0,
      minute_peaks_mb: peaks.slice(0, whole).map((p) => p ?? 0),
      heap_slope_mb_per_min: slopeOf((s) => s.heap_used_mb),
      heap_total_slope_mb_per_min: slopeOf((s) => s.heap_total_mb),
      heap_total_settled_s: heapSettled(this.samples),
      external_slope_mb_per_min: slopeOf((s) => s.external_mb),
    };
  }
}
