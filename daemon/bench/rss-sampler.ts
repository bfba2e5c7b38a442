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
  /** seconds from the first to the last sample after warm-up */
  span_s: number;
  /**
   * least-squares slope of this process's RSS after warm-up, MB per minute, fitted to the means of
   * consecutive blocks (`block_s` long) rather than to every sample: garbage collection makes RSS
   * saw-tooth over tens of seconds, so successive samples are not independent and a fit to all of
   * them gives an interval far too narrow
   */
  slope_mb_per_min: number;
  /** half-width of the slope's 95% confidence interval (Student's t over the block means), MB per minute */
  slope_ci95_mb_per_min: number;
  /** length of the blocks averaged for the slope: a minute, or an eighth of a shorter span */
  block_s: number;
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
  /** half-width of the 95% confidence interval of the slope (Student's t, n - 2 degrees of freedom); 0 below 3 points */
  ci95: number;
}

// two-sided 95% quantiles of Student's t for 1..30 degrees of freedom
const T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

/** The two-sided 95% quantile of Student's t with `df` degrees of freedom (a table to 30, then the Cornish-Fisher series). */
export function t95(df: number): number {
  if (df < 1) return Infinity;
  if (df <= T95.length) return T95[Math.floor(df) - 1];
  const z = 1.959964;
  return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df ** 2);
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
  return { slope: k, ci95: t95(n - 2) * Math.sqrt(sse / (n - 2) / sxx) };
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
    return rssTrend(this.samples, warmupSeconds);
  }
}

/**
 * The means of `value` over consecutive whole blocks of `blockSeconds` from `from` on, as
 * (minutes, mean) points; a last partial block and empty blocks are left out.
 */
export function blockMeans<T extends { t_s: number }>(samples: readonly T[], from: number, blockSeconds: number, value: (s: T) => number): Array<[number, number]> {
  if (!samples.length || !(blockSeconds > 0)) return [];
  const whole = Math.floor((samples[samples.length - 1].t_s - from) / blockSeconds + 1e-9);
  const sums: Array<{ t: number; v: number; n: number }> = [];
  for (const s of samples) {
    const i = Math.floor((s.t_s - from) / blockSeconds);
    if (i < 0 || i >= whole) continue;
    const b = (sums[i] ??= { t: 0, v: 0, n: 0 });
    b.t += s.t_s;
    b.v += value(s);
    b.n++;
  }
  return sums.filter((b) => b && b.n > 0).map((b) => [b.t / b.n / 60, b.v / b.n]);
}

/** Memory trend of `samples` after `warmupSeconds` (see RssTrend). */
export function rssTrend(samples: readonly RssSample[], warmupSeconds: number): RssTrend {
  const used = samples.filter((s) => s.t_s >= warmupSeconds);
  const spanS = used.length > 1 ? used[used.length - 1].t_s - used[0].t_s : 0;
  const span = spanS / 60;
  const blockS = Math.min(60, spanS / 8);
  const fit = fitLine(blockMeans(used, warmupSeconds, blockS, (s) => s.rss_mb));
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
    span_s: Number(spanS.toFixed(1)),
    slope_mb_per_min: r3(fit.slope),
    slope_ci95_mb_per_min: r3(fit.ci95),
    block_s: Number(blockS.toFixed(1)),
    growth_mb: Number((fit.slope * span).toFixed(1)),
    min_mb: values.length ? Math.min(...values) : 0,
    max_mb: values.length ? Math.max(...values) : 0,
    minute_peaks_mb: peaks.slice(0, whole).map((p) => p ?? 0),
    heap_slope_mb_per_min: slopeOf((s) => s.heap_used_mb),
    heap_total_slope_mb_per_min: slopeOf((s) => s.heap_total_mb),
    heap_total_settled_s: heapSettled(samples),
    external_slope_mb_per_min: slopeOf((s) => s.external_mb),
  };
}
