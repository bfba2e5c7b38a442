#!/usr/bin/env node
// Turns the JSON files of `trt-detect bench` runs (written by scripts/bench) into bench/REPORT.md
// and four SVG plots. Self-contained: a few small SVG chart functions, no dependencies.
//
//   node scripts/bench-plot.mjs DATA_DIR OUT_DIR
//
// DATA_DIR holds c1-i0.json (1 camera, interval 0, with --sequential), c1-i2.json (interval 2),
// c<N>-i0.json (N cameras), memory.json (--loop-minutes), daemon-memory.json (--daemon-memory) and meta.json (how the run was made);
// any of them may be missing: the report then says so.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { X264_PRESETS } from '../dist/daemon/media/x264.js';

// ---------------------------------------------------------------------------------------------
// SVG charts

const FONT = 'font-family="DejaVu Sans, Helvetica, Arial, sans-serif"';
const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b'];

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const fmt = (v) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2)).replace(/\.?0+$/, (m) => (m.includes('.') ? '' : m));

/** A "nice" axis maximum and step for values up to `max`. */
export function niceScale(max, ticks = 5) {
  if (!(max > 0)) return { max: 1, step: 0.2 };
  const raw = max / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw);
  return { max: Math.ceil(max / step - 1e-9) * step, step };
}

function svgOpen(width, height, title) {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>`,
  ];
}

function legend(items, x, y) {
  const out = [];
  items.forEach((it, i) => {
    const yy = y + i * 18;
    out.push(
      it.dash || it.line
        ? `<line x1="${x}" y1="${yy + 5}" x2="${x + 14}" y2="${yy + 5}" stroke="${it.color}" stroke-width="2"${it.dash ? ' stroke-dasharray="5,3"' : ''}/>`
        : `<rect x="${x}" y="${yy}" width="14" height="10" fill="${it.color}"/>`,
    );
    out.push(`<text x="${x + 20}" y="${yy + 10}">${esc(it.name)}</text>`);
  });
  return out;
}

/**
 * Vertical grouped bars. categories: labels on x; series: [{name, values, color}]; lines:
 * horizontal reference lines [{name, value, color}]. Values are printed above the bars.
 */
export function barChart({ title, categories, series, yLabel, lines = [], width = 720, height = 420 }) {
  const m = { l: 70, r: 220, t: 40, b: 60 };
  const w = width - m.l - m.r;
  const h = height - m.t - m.b;
  const all = [...series.flatMap((s) => s.values.filter((v) => v != null)), ...lines.map((l) => l.value)];
  const { max, step } = niceScale(Math.max(...all, 0) * 1.08);
  const y = (v) => m.t + h - (v / max) * h;
  const out = svgOpen(width, height, title);
  for (let v = 0; v <= max + 1e-9; v += step) {
    out.push(`<line x1="${m.l}" y1="${y(v)}" x2="${m.l + w}" y2="${y(v)}" stroke="#e0e0e0"/>`);
    out.push(`<text x="${m.l - 8}" y="${y(v) + 4}" text-anchor="end">${fmt(v)}</text>`);
  }
  out.push(`<text transform="translate(18,${m.t + h / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`);
  const group = w / categories.length;
  const bw = Math.min(60, (group * 0.75) / series.length);
  categories.forEach((c, i) => {
    const gx = m.l + i * group + (group - bw * series.length) / 2;
    series.forEach((s, j) => {
      const v = s.values[i];
      if (v == null) return;
      const x = gx + j * bw;
      out.push(
        `<rect x="${x.toFixed(1)}" y="${y(v).toFixed(1)}" width="${(bw - 2).toFixed(1)}" height="${(m.t + h - y(v)).toFixed(1)}" fill="${s.color}"><title>${esc(`${s.name}, ${c}: ${v}`)}</title></rect>`,
      );
      out.push(`<text x="${(x + bw / 2 - 1).toFixed(1)}" y="${(y(v) - 4).toFixed(1)}" text-anchor="middle" font-size="11">${fmt(v)}</text>`);
    });
    out.push(`<text x="${(m.l + i * group + group / 2).toFixed(1)}" y="${m.t + h + 18}" text-anchor="middle">${esc(c)}</text>`);
  });
  for (const l of lines) {
    out.push(`<line x1="${m.l}" y1="${y(l.value)}" x2="${m.l + w}" y2="${y(l.value)}" stroke="${l.color}" stroke-width="2" stroke-dasharray="5,3"/>`);
  }
  out.push(`<line x1="${m.l}" y1="${m.t + h}" x2="${m.l + w}" y2="${m.t + h}" stroke="#333"/>`);
  out.push(
    ...legend(
      [...series.map((s) => ({ name: s.name, color: s.color })), ...lines.map((l) => ({ name: `${l.name} (${fmt(l.value)})`, color: l.color, dash: true }))],
      m.l + w + 16,
      m.t + 4,
    ),
  );
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/**
 * Horizontal bars per stage: the mean as a bar, p50 as a tick, p99 as a whisker, for each series
 * ([{name, color, stages: {stage: {mean_ms, p50_ms, p99_ms}}}]).
 */
export function stageChart({ title, stages, series, width = 760 }) {
  const rowH = 16 * series.length + 14;
  const m = { l: 100, r: 190, t: 44, b: 46 };
  const height = m.t + m.b + rowH * stages.length;
  const w = width - m.l - m.r;
  const vals = series.flatMap((s) => stages.map((st) => s.stages[st]?.p99_ms ?? 0));
  const { max, step } = niceScale(Math.max(...vals, 0) * 1.05);
  const x = (v) => m.l + (v / max) * w;
  const out = svgOpen(width, height, title);
  for (let v = 0; v <= max + 1e-9; v += step) {
    out.push(`<line x1="${x(v)}" y1="${m.t}" x2="${x(v)}" y2="${m.t + rowH * stages.length}" stroke="#e0e0e0"/>`);
    out.push(`<text x="${x(v)}" y="${m.t + rowH * stages.length + 16}" text-anchor="middle">${fmt(v)}</text>`);
  }
  out.push(`<text x="${m.l + w / 2}" y="${height - 10}" text-anchor="middle">milliseconds per frame (bar: mean, tick: p50, whisker: p99)</text>`);
  stages.forEach((st, i) => {
    const y0 = m.t + i * rowH + 7;
    out.push(`<text x="${m.l - 8}" y="${y0 + (16 * series.length) / 2 + 4}" text-anchor="end">${esc(st)}</text>`);
    series.forEach((s, j) => {
      const v = s.stages[st];
      if (!v) return;
      const y = y0 + j * 16;
      out.push(
        `<rect x="${m.l}" y="${y}" width="${Math.max(0.5, x(v.mean_ms) - m.l).toFixed(1)}" height="12" fill="${s.color}"><title>${esc(`${s.name} ${st}: mean ${v.mean_ms} ms, p50 ${v.p50_ms} ms, p99 ${v.p99_ms} ms`)}</title></rect>`,
      );
      out.push(`<line x1="${x(v.mean_ms).toFixed(1)}" y1="${y + 6}" x2="${x(v.p99_ms).toFixed(1)}" y2="${y + 6}" stroke="#333"/>`);
      out.push(`<line x1="${x(v.p99_ms).toFixed(1)}" y1="${y + 1}" x2="${x(v.p99_ms).toFixed(1)}" y2="${y + 11}" stroke="#333"/>`);
      out.push(`<line x1="${x(v.p50_ms).toFixed(1)}" y1="${y - 1}" x2="${x(v.p50_ms).toFixed(1)}" y2="${y + 13}" stroke="#000" stroke-width="2"/>`);
      out.push(`<text x="${(x(v.p99_ms) + 5).toFixed(1)}" y="${y + 10}" font-size="10" fill="#555">${fmt(v.mean_ms)}</text>`);
    });
  });
  out.push(
    ...legend(
      series.map((s) => ({ name: s.name, color: s.color })),
      m.l + w + 16,
      m.t + 4,
    ),
  );
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** Lines over x: series [{name, color, points: [[x, y]]}], hlines [{name, value, color}], shade {from, to, name}. */
export function lineChart({ title, series, xLabel, yLabel, hlines = [], shade = null, yMin = 0, width = 760, height = 420 }) {
  const m = { l: 70, r: 200, t: 40, b: 56 };
  const w = width - m.l - m.r;
  const h = height - m.t - m.b;
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = [...series.flatMap((s) => s.points.map((p) => p[1])), ...hlines.map((l) => l.value)];
  const xScale = niceScale(Math.max(...xs, 1e-3));
  const yScale = niceScale(Math.max(...ys, 1) * 1.05);
  const x = (v) => m.l + (v / xScale.max) * w;
  const y = (v) => m.t + h - ((v - yMin) / (yScale.max - yMin)) * h;
  const out = svgOpen(width, height, title);
  if (shade) {
    out.push(`<rect x="${x(shade.from)}" y="${m.t}" width="${Math.max(0, x(shade.to) - x(shade.from))}" height="${h}" fill="#f2f2f2"/>`);
    out.push(`<text x="${x(shade.from) + 4}" y="${m.t + 14}" font-size="11" fill="#777">${esc(shade.name)}</text>`);
  }
  for (let v = yMin; v <= yScale.max + 1e-9; v += yScale.step) {
    out.push(`<line x1="${m.l}" y1="${y(v)}" x2="${m.l + w}" y2="${y(v)}" stroke="#e0e0e0"/>`);
    out.push(`<text x="${m.l - 8}" y="${y(v) + 4}" text-anchor="end">${fmt(v)}</text>`);
  }
  for (let v = 0; v <= xScale.max + 1e-9; v += xScale.step) {
    out.push(`<text x="${x(v)}" y="${m.t + h + 18}" text-anchor="middle">${fmt(v)}</text>`);
  }
  out.push(`<text x="${m.l + w / 2}" y="${height - 12}" text-anchor="middle">${esc(xLabel)}</text>`);
  out.push(`<text transform="translate(18,${m.t + h / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`);
  for (const l of hlines)
    out.push(`<line x1="${m.l}" y1="${y(l.value)}" x2="${m.l + w}" y2="${y(l.value)}" stroke="${l.color}" stroke-width="2" stroke-dasharray="5,3"/>`);
  for (const s of series) {
    if (!s.points.length) continue;
    const d = s.points.map((p, i) => `${i ? 'L' : 'M'}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(' ');
    out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
    if (s.points.length <= 12) for (const p of s.points) out.push(`<circle cx="${x(p[0]).toFixed(1)}" cy="${y(p[1]).toFixed(1)}" r="3.5" fill="${s.color}"/>`);
  }
  out.push(`<line x1="${m.l}" y1="${m.t + h}" x2="${m.l + w}" y2="${m.t + h}" stroke="#333"/>`);
  out.push(`<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${m.t + h}" stroke="#333"/>`);
  out.push(
    ...legend(
      [
        ...series.map((s) => ({ name: s.name, color: s.color, line: true })),
        ...hlines.map((l) => ({ name: `${l.name} (${fmt(l.value)})`, color: l.color, dash: true })),
      ],
      m.l + w + 16,
      m.t + 4,
    ),
  );
  out.push('</svg>');
  return out.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
// The report

const STAGES = ['decode', 'preprocess', 'inference', 'postprocess', 'track', 'draw', 'encode', 'publish'];
const RSS_LIMIT_MB = 350;
/** "flat": the last whole minute's RSS peak at most this fraction above the first's */
const PEAK_RISE = 0.05;

/** the least span of a memory run measured after its warm-up, seconds ("over ≥ 5 minutes") */
const MIN_SPAN_S = 300;

/**
 * Flat: no statistically significant growth (the slope's 95% interval reaches 0 or below), the
 * last whole minute's RSS peak at most 5% above the first's, over at least five minutes after the
 * warm-up (one sample interval short is enough).
 */
function flatVerdict(trend, everyS) {
  const peaks = trend.minute_peaks_mb ?? [];
  const noTrend = trend.slope_mb_per_min - (trend.slope_ci95_mb_per_min ?? 0) <= 0;
  const peaksOk = peaks.length < 2 || peaks[peaks.length - 1] <= peaks[0] * (1 + PEAK_RISE);
  return noTrend && peaksOk && (trend.span_s ?? 0) + everyS >= MIN_SPAN_S;
}

/** "slope ± interval MB/min over N min after a W s warm-up; peaks ..." for the targets table */
const trendCell = (t) =>
  `${num(t.slope_mb_per_min, 2)} ± ${num(t.slope_ci95_mb_per_min, 2)} MB/min over ${num(t.span_s / 60, 1)} min after a ${num(t.warmup_s, 0)} s warm-up; peaks ${(t.minute_peaks_mb ?? []).map((p) => num(p, 0)).join(', ')} MB`;

const read = (dir, name) => {
  const file = join(dir, name);
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : null;
};
const num = (v, d = 2) => (v == null || Number.isNaN(v) ? 'n/a' : Number(v).toFixed(d));
const verdict = (ok) => (ok == null ? 'not measured' : ok ? '**met**' : '**not met**');

function machineTable(r) {
  const m = r.machine;
  const rows = [
    ['CPU', `${m.cpu_model}, ${m.cores} cores`],
    ...(m.device_model ? [['Device', m.device_model]] : []),
    ['Memory', `${m.memory_gb} GB`],
    ['OS', `${m.os}, ${m.arch}`],
    ['Node', m.node],
    ['Detector backend', `${m.backend}${m.onnxruntime ? ` (onnxruntime-node ${m.onnxruntime}, CPU)` : ''}`],
    [
      'Addon',
      m.addon ? `TensorRT ${m.addon.tensorrt ? 'yes' : 'no'}, CUDA ${m.addon.cuda ? 'yes' : 'no'}, GStreamer ${m.addon.gstreamer ? 'yes' : 'no'}` : 'n/a',
    ],
    ['ffmpeg', m.ffmpeg ?? 'n/a'],
  ];
  return ['| | |', '|---|---|', ...rows.map(([k, v]) => `| ${k} | ${v} |`)].join('\n');
}

function stageTable(columns) {
  const head = `| stage | ${columns.map((c) => `${c.name} mean / p50 / p99 ms`).join(' | ')} |`;
  const sep = `|---|${columns.map(() => '---:').join('|')}|`;
  const rows = STAGES.map(
    (st) =>
      `| ${st} | ${columns.map((c) => (c.stages?.[st] ? `${num(c.stages[st].mean_ms)} / ${num(c.stages[st].p50_ms)} / ${num(c.stages[st].p99_ms)}` : '–')).join(' | ')} |`,
  );
  return [head, sep, ...rows].join('\n');
}

/**
 * Whether the 1.5 × classic-loop target and the 2.5 × interval-2 target can both be met on this
 * machine by making the per-frame video work dearer, as arithmetic on the measured figures; '' when
 * a run is missing. Reaching 1.5 × with the pipeline's pace unchanged needs the classic loop to
 * take 1.5 pipelined frame times; the extra time would be per-frame work (decode, draw, encode),
 * which the interval-2 run does on every frame too, as CPU time.
 */
export function targetsTradeOff(base, i2) {
  if (!base?.fps || !base.sequential_fps || !i2?.fps || !i2.cpu_ms_per_frame || !i2.cpu?.total_percent || !base.machine?.cores) return '';
  const pipeMs = 1000 / base.fps;
  const loopMs = 1000 / base.sequential_fps;
  const extra = 1.5 * pipeMs - loopMs;
  if (extra <= 0) return '';
  const cpu = i2.cpu_ms_per_frame + extra;
  const atSame = (i2.cpu.total_percent * 10) / cpu;
  const atFull = (base.machine.cores * 1000) / cpu;
  const need = 2.5 * base.fps;
  const both = atFull >= need;
  return `For 1.5 × at this pace the classic loop would have to take ${num(1.5 * pipeMs, 1)} ms a frame; it takes ${num(loopMs, 1)}. The ${num(extra, 1)} ms more would have to come from work done on every frame (decoding, drawing, encoding; a slower detector would slow the pipeline as much), and the interval-2 engine does that work on every frame too: ${num(i2.cpu_ms_per_frame, 1)} + ${num(extra, 1)} = ${num(cpu, 1)} ms of CPU a frame, so at most ${num(atSame, 1)} FPS with the ${num(i2.cpu.total_percent, 0)}% of a core that run kept busy and ${num(atFull, 1)} FPS with all ${base.machine.cores} cores busy, against the ${num(need, 1)} FPS that 2.5 × interval 0 needs. ${both ? 'On this machine both targets could be met with that much more video work.' : "On this machine the two targets cannot both be met by making the video work dearer. The limit comes from the inference and the video work sharing the CPU; it does not apply where the inference runs elsewhere (a Jetson's GPU)."}`;
}

export function buildReport(dataDir, outDir) {
  mkdirSync(outDir, { recursive: true });
  const meta = read(dataDir, 'meta.json') ?? {};
  const base = read(dataDir, 'c1-i0.json');
  const i2 = read(dataDir, 'c1-i2.json');
  // the same with ONNX Runtime on every physical core instead of model.threads auto
  const t1 = read(dataDir, 'c1-i0-threads.json');
  const t1i2 = read(dataDir, 'c1-i2-threads.json');
  const threadsName = (r) => (r?.model_threads ? `model.threads: ${r.model_threads}` : 'model.threads: ONNX Runtime default');
  const autoName = base?.model_threads ? `model.threads: auto (${base.model_threads} here)` : 'model.threads: auto';
  const n0 = read(dataDir, 'c1-i0-n0.json');
  // the recording at another libx264 preset than the default (c1-i0-<preset>.json, c1-i2-<preset>.json)
  const altPreset = X264_PRESETS.find((name) => name !== base?.record_preset && existsSync(join(dataDir, `c1-i0-${name}.json`)));
  const alt = altPreset ? read(dataDir, `c1-i0-${altPreset}.json`) : null;
  const altI2 = altPreset ? read(dataDir, `c1-i2-${altPreset}.json`) : null;
  const presets = read(dataDir, 'presets.json');
  const mem = read(dataDir, 'memory.json');
  const daemonMem = read(dataDir, 'daemon-memory.json');
  const multi = readdirSync(dataDir)
    .map((f) => /^c(\d+)-i0\.json$/.exec(f))
    .filter(Boolean)
    .map((mm) => ({ n: Number(mm[1]), r: read(dataDir, mm[0]) }))
    .sort((a, b) => a.n - b.n);
  const any = base ?? i2 ?? mem ?? multi[0]?.r;
  if (!any) throw new Error(`${dataDir}: no bench results (c1-i0.json, c1-i2.json, c<N>-i0.json, memory.json)`);
  // the recording's preset in the default scenarios
  const defaultPreset = base?.record_preset ?? any.record_preset;
  const rel = (f) => relative(outDir, join(outDir, f));
  const plots = [];

  // pipelined vs sequential (and the detector alone, and interval 2)
  if (base) {
    const cats = ['sequential loop', 'sequential, ffmpeg free', 'pipelined', 'detector alone'];
    const values = [base.sequential_fps ?? null, base.sequential_overlapped_fps ?? null, base.fps, base.inference_fps];
    if (i2) {
      cats.splice(2, 0, 'pipelined, interval 2');
      values.splice(2, 0, i2.fps);
    }
    writeFileSync(
      join(outDir, 'pipelined-vs-sequential.svg'),
      barChart({
        title: `End-to-end FPS, 1 camera, ${base.input.width}x${base.input.height}, recording + MQTT on`,
        categories: cats,
        series: [
          { name: t1 ? autoName : 'frames per second', values: values.map((v) => (v == null ? null : Number(v))), color: COLORS[0] },
          ...(t1
            ? [
                {
                  name: threadsName(t1),
                  values: cats.map(
                    (c) =>
                      ({
                        'sequential loop': t1.sequential_fps,
                        'sequential, ffmpeg free': t1.sequential_overlapped_fps,
                        pipelined: t1.fps,
                        'pipelined, interval 2': t1i2?.fps,
                        'detector alone': t1.inference_fps,
                      })[c] ?? null,
                  ),
                  color: COLORS[1],
                },
              ]
            : []),
        ],
        yLabel: 'frames per second',
        width: 760,
      }),
    );
    plots.push('pipelined-vs-sequential.svg');
    writeFileSync(
      join(outDir, 'stage-latency.svg'),
      stageChart({
        title: `Stage latency per frame, 1 camera, ${base.input.width}x${base.input.height}`,
        stages: STAGES,
        series: [
          { name: 'pipelined', color: COLORS[0], stages: base.stages },
          ...(base.sequential ? [{ name: 'sequential loop', color: COLORS[1], stages: base.sequential.stages }] : []),
          { name: 'detector alone', color: COLORS[2], stages: base.inference_only.stages },
        ],
      }),
    );
    plots.push('stage-latency.svg');
  }

  // FPS vs cameras
  const camRuns = multi.length ? multi : [];
  if (camRuns.length) {
    writeFileSync(
      join(outDir, 'fps-vs-cameras.svg'),
      barChart({
        title: `FPS vs number of cameras (one shared detector, ${any.input.width}x${any.input.height}, interval 0)`,
        categories: camRuns.map((c) => `${c.n} camera${c.n > 1 ? 's' : ''}`),
        series: [
          { name: 'total FPS', values: camRuns.map((c) => c.r.fps), color: COLORS[0] },
          { name: 'FPS per camera', values: camRuns.map((c) => c.r.fps_per_camera), color: COLORS[1] },
        ],
        lines: [{ name: 'detector alone', value: camRuns[0].r.inference_fps, color: COLORS[3] }],
        yLabel: 'frames per second',
        width: 760,
      }),
    );
    plots.push('fps-vs-cameras.svg');
  }

  // RSS over time
  if (mem?.memory) {
    const s = mem.memory.samples;
    const series = [{ name: 'trt-detect process RSS', color: COLORS[0], points: s.map((p) => [p.t_s / 60, p.rss_mb]) }];
    if (s.some((p) => p.heap_total_mb != null))
      series.push({ name: 'V8 heap reserved', color: COLORS[5], points: s.filter((p) => p.heap_total_mb != null).map((p) => [p.t_s / 60, p.heap_total_mb]) });
    if (s.some((p) => p.heap_used_mb != null)) series.push({ name: 'V8 heap used', color: COLORS[2], points: s.map((p) => [p.t_s / 60, p.heap_used_mb]) });
    if (s.some((p) => p.external_mb != null))
      series.push({ name: 'outside the heap (Buffers)', color: COLORS[4], points: s.map((p) => [p.t_s / 60, p.external_mb]) });
    if (s.some((p) => p.children_rss_mb != null))
      series.push({
        name: 'ffmpeg children RSS',
        color: COLORS[1],
        points: s.filter((p) => p.children_rss_mb != null).map((p) => [p.t_s / 60, p.children_rss_mb]),
      });
    writeFileSync(
      join(outDir, 'rss-over-time.svg'),
      lineChart({
        title: `RSS over ${num(mem.memory.minutes, 1)} min, 1 camera ${mem.input.width}x${mem.input.height} looping`,
        series,
        xLabel: 'minutes',
        yLabel: 'MB',
        hlines: [{ name: 'process limit', value: RSS_LIMIT_MB, color: COLORS[3] }],
        shade: { from: 0, to: mem.memory.trend.warmup_s / 60, name: 'warm-up' },
      }),
    );
    plots.push('rss-over-time.svg');
  }

  // targets
  const r1 = base ? base.fps / base.inference_fps : null;
  const r2 = base && base.sequential_fps ? base.fps / base.sequential_fps : null;
  const r2free = base && base.sequential_overlapped_fps ? base.fps / base.sequential_overlapped_fps : null;
  const r3 = base && i2 ? i2.fps / base.fps : null;
  const maxRss = mem ? mem.rss_mb : null;

  const L = [];
  L.push('# trt-detect benchmark report', '');
  const runs = meta.runs ?? {};
  const parts = Object.entries(runs);
  L.push(
    `Measured${parts.length ? '' : ` ${any.date.slice(0, 16).replace('T', ' ')} UTC`} on **${any.machine.device_model ?? any.machine.cpu_model}** (${any.machine.cores} cores), model \`${basename(any.model)}\` on ${any.backend}.`,
  );
  const command = parts.length ? [...new Set(parts.map(([, r]) => r.command))].map((c) => `\`${c}\``).join(' and ') : '`scripts/bench`';
  L.push(`Made by ${command}; the raw results are in [data/](data/).`, '');
  const input = parts.map(([, r]) => r.input).find(Boolean);
  if (input)
    L.push(
      `Input: \`${input}\`, looping; the timing scenarios use it at ${base ? `${base.input.width}x${base.input.height}` : '720p'}, the memory run at ${mem ? `${mem.input.width}x${mem.input.height}` : '1080p'} (scaled by ffmpeg when the clip has another size).`,
      '',
    );
  const inputNote = parts.map(([, r]) => r.input_note).find(Boolean);
  if (inputNote) L.push(`> **Input:** ${inputNote}`, '');
  for (const [name, r] of parts) {
    if (r.load_at_start)
      L.push(
        `- ${name} runs started ${String(r.date).slice(0, 16).replace('T', ' ')} UTC; load average (1, 5, 15 min) ${r.load_at_start} at the start${r.load_at_end ? `, ${r.load_at_end} at the end` : ''}, on ${any.machine.cores} cores.`,
      );
  }
  if (parts.length)
    L.push(
      '',
      "The load average counts the benchmark's own threads and ffmpeg processes too. Other work on the machine shows up as noise in the FPS and latency figures; CPU time per frame is the least affected.",
      '',
    );
  L.push('## Machine', '', machineTable(any), '');
  L.push('## Targets, ratios from one run', '');
  L.push('| target | measured | |', '|---|---:|---|');
  const spans = (r) =>
    r?.inference_only?.spans_fps?.length > 1
      ? `; detector alone before / after the other phases: ${r.inference_only.spans_fps.map((v) => num(v)).join(' / ')}`
      : '';
  L.push(
    `| pipelined FPS ≥ 0.9 × detector-alone FPS (720p, recording + MQTT) | ${num(r1)} (${num(base?.fps)} / ${num(base?.inference_fps)} FPS${spans(base)}) | ${verdict(r1 == null ? null : r1 >= 0.9)} |`,
  );
  L.push(
    `| pipelined ≥ 1.5 × sequential loop (the classic loop: stages strictly one after another) | ${num(r2)} (${num(base?.fps)} / ${num(base?.sequential_fps)} FPS) | ${verdict(r2 == null ? null : r2 >= 1.5)} |`,
  );
  if (r2free != null)
    L.push(
      `| for comparison: pipelined / the same loop with its ffmpeg decoder and encoder running free (they overlap the detector) | ${num(r2free)} (${num(base.fps)} / ${num(base.sequential_overlapped_fps)} FPS) | |`,
    );
  if (alt?.sequential_fps) {
    // the first two at the other preset: a slower encoder lengthens the classic loop more than the pipeline
    const q1 = alt.fps / alt.inference_fps;
    const q2 = alt.fps / alt.sequential_fps;
    L.push(
      `| the first two with the recording at \`record.preset: ${altPreset}\` instead of ${base?.record_preset ?? 'the default'} | ${num(q1)} (${num(alt.fps)} / ${num(alt.inference_fps)}${spans(alt)}) and ${num(q2)} (${num(alt.fps)} / ${num(alt.sequential_fps)}) | ${verdict(q1 >= 0.9)} / ${verdict(q2 >= 1.5)} |`,
    );
  }
  if (t1) {
    const q1 = t1.fps / t1.inference_fps;
    const q2 = t1.sequential_fps ? t1.fps / t1.sequential_fps : null;
    const q2free = t1.sequential_overlapped_fps ? ` (${num(t1.fps / t1.sequential_overlapped_fps)} against the loop with ffmpeg running free)` : '';
    L.push(
      `| the same two with ONNX Runtime on every core (\`${threadsName(t1)}\` instead of auto's ${base?.model_threads ?? 'choice'}) | ${num(q1)} (${num(t1.fps)} / ${num(t1.inference_fps)}${spans(t1)}) and ${num(q2)} (${num(t1.fps)} / ${num(t1.sequential_fps)})${q2free} | ${verdict(q1 >= 0.9)} / ${verdict(q2 == null ? null : q2 >= 1.5)} |`,
    );
  }
  if (n0) {
    const q = n0.fps / n0.inference_fps;
    L.push(
      `| the first with the decoders and encoders at the detector's priority (\`media.nice: 0\` instead of ${base?.media_nice ?? 10}) | ${num(q)} (${num(n0.fps)} / ${num(n0.inference_fps)}${spans(n0)}) | ${verdict(q >= 0.9)} |`,
    );
  }
  L.push(`| interval 2 ≥ 2.5 × interval 0 | ${num(r3)} (${num(i2?.fps)} / ${num(base?.fps)} FPS) | ${verdict(r3 == null ? null : r3 >= 2.5)} |`);
  if (alt && altI2) {
    const size =
      base?.recording_kb_per_frame && alt.recording_kb_per_frame
        ? `; the recording ${num(alt.recording_kb_per_frame / base.recording_kb_per_frame, 2)} × as big: ${num(alt.recording_kb_per_frame, 1)} against ${num(base.recording_kb_per_frame, 1)} KiB a frame`
        : '';
    L.push(
      `| the same with the recording at \`record.preset: ${altPreset}\` instead of ${base?.record_preset ?? 'the default'} | ${num(altI2.fps / alt.fps)} (${num(altI2.fps)} / ${num(alt.fps)} FPS${size}; against the default's interval 0: ${num(base?.fps ? altI2.fps / base.fps : null)}) | ${verdict(altI2.fps / alt.fps >= 2.5)} |`,
    );
  }
  if (t1 && t1i2)
    L.push(
      `| the same with \`${threadsName(t1)}\` | ${num(t1i2.fps / t1.fps)} (${num(t1i2.fps)} / ${num(t1.fps)} FPS) | ${verdict(t1i2.fps / t1.fps >= 2.5)} |`,
    );
  // one encode per camera (bench --outputs): CPU per frame with recording + RTSP + a live viewer against recording alone
  for (const [label, r] of [
    ['interval 0', base],
    ['interval 2', i2],
  ]) {
    const o = r?.outputs;
    if (!o) continue;
    L.push(
      `| ${label}: CPU per frame with recording + RTSP out (one client) + one live viewer ≤ 1.10 × recording alone (one encode) | ${num(o.all_vs_record)} (${num(o.all.cpu_ms_per_frame, 1)} / ${num(o.record.cpu_ms_per_frame, 1)} ms; before, a second encoder for RTSP: ${num(o.two_encodes_vs_record)}, ${num(o.two_encodes.cpu_ms_per_frame, 1)} ms) | ${verdict(o.all_vs_record == null ? null : o.all_vs_record <= 1.1)} |`,
    );
  }
  const tr = mem?.memory?.trend;
  const early = mem?.memory?.early_trend;
  L.push(
    `| RSS flat after warm-up (the first third of the run) over ≥ 5 min (no significant slope of the per-minute means, per-minute peak not rising > ${PEAK_RISE * 100}%) | ${tr ? trendCell(tr) : 'n/a'} | ${verdict(tr ? flatVerdict(tr, mem.memory.every_s) : null)} |`,
  );
  if (tr && early && early.warmup_s < tr.warmup_s)
    L.push(
      `| for comparison: the same after a ${num(early.warmup_s, 0)} s warm-up | ${trendCell(early)} | ${verdict(flatVerdict(early, mem.memory.every_s))} |`,
    );
  L.push(
    `| RSS < ${RSS_LIMIT_MB} MB, one ${mem ? `${mem.input.width}x${mem.input.height}` : '1080p'} camera, bundled model on CPU | ${maxRss == null ? 'n/a' : `${num(maxRss, 1)} MB max`} | ${verdict(maxRss == null ? null : maxRss < RSS_LIMIT_MB)} |`,
  );
  L.push('');
  // every 720p scenario measures the detector alone with the same settings (but the -threads ones): their spread is the noise on the ratios
  const aloneRuns = [base, n0, i2, ...camRuns.filter((c) => c.n > 1).map((c) => c.r)].filter((r) => r?.inference_fps);
  if (aloneRuns.length > 1) {
    const v = aloneRuns.map((r) => r.inference_fps);
    L.push(
      `The detector alone, same model and settings, measured ${num(Math.min(...v))} to ${num(Math.max(...v))} FPS in this run's scenarios (${v.map((x) => num(x)).join(', ')}): a spread of ${num(((Math.max(...v) - Math.min(...v)) / Math.min(...v)) * 100, 0)}% on an otherwise idle machine, which is the uncertainty of every ratio above.`,
      '',
    );
  }
  if (base) {
    L.push('## Pipelined vs sequential', '', `![pipelined vs sequential](${rel('pipelined-vs-sequential.svg')})`, '');
    const cpuCell = (c) => `${num(c.total_percent, 0)} (${num(c.process_percent, 0)} + ${num(c.children_percent, 0)})`;
    L.push('| run | FPS | CPU % of one core (process + ffmpeg) | CPU ms per frame | RSS MB |', '|---|---:|---:|---:|---:|');
    L.push(`| detector alone | ${num(base.inference_fps)} | ${cpuCell(base.inference_only.cpu)} | ${num(base.inference_only.cpu_ms_per_frame, 1)} | |`);
    L.push(`| pipelined, interval 0 | ${num(base.fps)} | ${cpuCell(base.cpu)} | ${num(base.cpu_ms_per_frame, 1)} | ${num(base.rss_mb, 0)} |`);
    if (base.sequential)
      L.push(`| sequential loop, interval 0 | ${num(base.sequential_fps)} | ${cpuCell(base.sequential.cpu)} | ${num(base.sequential.cpu_ms_per_frame, 1)} | |`);
    if (base.sequential_overlapped)
      L.push(
        `| sequential loop, ffmpeg running free | ${num(base.sequential_overlapped_fps)} | ${cpuCell(base.sequential_overlapped.cpu)} | ${num(base.sequential_overlapped.cpu_ms_per_frame, 1)} | |`,
      );
    if (n0)
      L.push(
        `| pipelined, interval 0, media.nice: 0 (detector alone in that run: ${num(n0.inference_fps)}) | ${num(n0.fps)} | ${cpuCell(n0.cpu)} | ${num(n0.cpu_ms_per_frame, 1)} | ${num(n0.rss_mb, 0)} |`,
      );
    if (i2)
      L.push(
        `| pipelined, interval 2 (detector alone in that run: ${num(i2.inference_fps)}) | ${num(i2.fps)} | ${cpuCell(i2.cpu)} | ${num(i2.cpu_ms_per_frame, 1)} | ${num(i2.rss_mb, 0)} |`,
      );
    if (alt)
      L.push(
        `| pipelined, interval 0, record.preset: ${altPreset} | ${num(alt.fps)} | ${cpuCell(alt.cpu)} | ${num(alt.cpu_ms_per_frame, 1)} | ${num(alt.rss_mb, 0)} |`,
      );
    if (alt?.sequential)
      L.push(
        `| sequential loop, record.preset: ${altPreset} | ${num(alt.sequential_fps)} | ${cpuCell(alt.sequential.cpu)} | ${num(alt.sequential.cpu_ms_per_frame, 1)} | |`,
      );
    if (altI2)
      L.push(
        `| pipelined, interval 2, record.preset: ${altPreset} | ${num(altI2.fps)} | ${cpuCell(altI2.cpu)} | ${num(altI2.cpu_ms_per_frame, 1)} | ${num(altI2.rss_mb, 0)} |`,
      );
    if (t1) {
      const tn = threadsName(t1);
      L.push(`| detector alone, ${tn} | ${num(t1.inference_fps)} | ${cpuCell(t1.inference_only.cpu)} | ${num(t1.inference_only.cpu_ms_per_frame, 1)} | |`);
      L.push(`| pipelined, ${tn} | ${num(t1.fps)} | ${cpuCell(t1.cpu)} | ${num(t1.cpu_ms_per_frame, 1)} | ${num(t1.rss_mb, 0)} |`);
      if (t1.sequential)
        L.push(`| sequential loop, ${tn} | ${num(t1.sequential_fps)} | ${cpuCell(t1.sequential.cpu)} | ${num(t1.sequential.cpu_ms_per_frame, 1)} | |`);
      if (t1.sequential_overlapped)
        L.push(
          `| sequential loop, ffmpeg running free, ${tn} | ${num(t1.sequential_overlapped_fps)} | ${cpuCell(t1.sequential_overlapped.cpu)} | ${num(t1.sequential_overlapped.cpu_ms_per_frame, 1)} | |`,
        );
      if (t1i2)
        L.push(`| pipelined, interval 2, ${tn} | ${num(t1i2.fps)} | ${cpuCell(t1i2.cpu)} | ${num(t1i2.cpu_ms_per_frame, 1)} | ${num(t1i2.rss_mb, 0)} |`);
    }
    L.push('');
    const det = (st) => ['preprocess', 'inference', 'postprocess'].reduce((a, k) => a + (st?.[k]?.mean_ms ?? 0), 0);
    if (base.stages?.inference && base.inference_only.stages?.inference) {
      const cores = base.machine.cores;
      const alone = det(base.inference_only.stages);
      const inPipe = det(base.stages);
      const busy = (inPipe * base.fps) / 1000;
      const pc = base.cpu.children_percent != null ? (base.cpu.children_percent * 10) / base.fps : null;
      const aloneCores = base.inference_only.cpu.total_percent / 100;
      L.push('### Where the time goes', '');
      L.push(
        `Alone, the detector needs **${num(alone, 1)} ms** per frame (preprocess + inference + postprocess, ${num(base.inference_only.cpu_ms_per_frame, 1)} ms of CPU). In the pipelined run it needed **${num(inPipe, 1)} ms** per frame and was busy ${num(Math.min(1, busy) * 100, 0)}% of the time${busy >= 0.85 ? ': the detector is the bottleneck, as intended,' : ','} but it ran ${num(inPipe / alone, 1)} × slower than alone because the same ${cores} cores also decode and encode the video${pc != null ? ` (the ffmpeg processes used ${num(pc, 1)} ms of CPU per frame)` : ''}, and this process copies frames in and out of the ffmpeg pipes and draws the boxes. ${aloneCores >= cores * 0.8 ? `Alone, the detector kept ${num(aloneCores, 1)} of the ${cores} cores busy (ONNX Runtime spreads the inference over all of them); in the pipeline it shares them with everything else, so on this machine pipelining can only hide the work that leaves cores idle.` : `Alone, the detector kept ${num(aloneCores, 1)} of the ${cores} cores busy (ONNX Runtime on ${base.model_threads ? `${base.model_threads} thread${base.model_threads > 1 ? 's' : ''}` : 'fewer threads than there are cores'}: \`model.threads\` auto leaves a core to the video work), so the video work has a core of its own and the detector slows down only by what it shares: memory bandwidth, caches and the moments the decoder or encoder needs both cores.`} On a Jetson the inference runs on the GPU and decoding/encoding can use the video hardware, which is the situation the 0.9 target describes.`,
        '',
      );
      if (base.sequential?.stages) {
        const st = base.sequential.stages;
        const sum = STAGES.reduce((a, k) => a + (st[k]?.mean_ms ?? 0), 0);
        const video = ['decode', 'draw', 'encode'].reduce((a, k) => a + (st[k]?.mean_ms ?? 0), 0);
        // the pipeline overlaps pre- and post-processing with the inference too: the inference alone sets its pace
        const inferMs = base.inference_only.stages?.inference?.mean_ms ?? det(base.inference_only.stages);
        const ceiling = sum / inferMs;
        const rest = sum - inferMs;
        const free = base.sequential_overlapped;
        const freeText = free
          ? ` The same loop with its ffmpeg processes running free ran ${num(base.sequential_overlapped_fps)} FPS: the decoder reads ahead and the encoder works through earlier frames while the detector runs, on the other cores, so that loop already overlaps the video work with inference (${num(free.cpu.machine_percent, 0)}% of the machine busy against ${num(base.sequential.cpu.machine_percent, 0)}% for the classic loop), and against it the pipelined engine gains ${num(r2free)} ×.`
          : '';
        L.push(
          `The classic loop spends, one after another, ${num(st.decode?.mean_ms, 1)} ms decoding, ${num(det(st), 1)} ms detecting, ${num(st.draw?.mean_ms, 1)} ms drawing, ${num(st.encode?.mean_ms, 1)} ms encoding and ${num(st.publish?.mean_ms, 1)} ms publishing: ${num(sum, 1)} ms a frame, ${num(1000 / sum, 1)} FPS (measured ${num(base.sequential_fps)}). The pipelined engine runs those stages at once on different frames (pre-processing the next frame and post-processing the last one while one is inferred), so its pace is set by its longest stage, the inference (${num(inferMs, 1)} ms alone): at best ${num(ceiling)} × the classic loop on this machine. That ceiling is (all stages) / inference: ≥ 1.5 × needs the other stages (${num(rest, 1)} ms here, ${num(video, 1)} of them decoding, drawing and encoding) to take at least half as long as the inference, and the inference not to slow down when it shares the cores with them (in the pipelined run it took ${num(base.stages?.inference?.mean_ms, 1)} ms).${freeText}${t1 ? ` With ONNX Runtime on every core (\`${threadsName(t1)}\`) the detector alone is faster (${num(t1.inference_fps)} FPS against ${num(base.inference_fps)}), but in the pipeline it takes the cores the video work needs: pipelined ${num(t1.fps)} FPS (auto: ${num(base.fps)}) at ${num(t1.cpu_ms_per_frame, 1)} ms of CPU per frame (auto: ${num(base.cpu_ms_per_frame, 1)}), against ${num(t1.sequential_fps)} for the classic loop (${num(t1.sequential_fps ? t1.fps / t1.sequential_fps : null)} ×)${t1.sequential_overlapped_fps ? ` and ${num(t1.sequential_overlapped_fps)} for the loop with ffmpeg running free (${num(t1.fps / t1.sequential_overlapped_fps)} ×)` : ''}, ${num(t1.fps / t1.inference_fps)} × its detector alone.` : ''}`,
          '',
        );
        const tradeOff = targetsTradeOff(base, i2);
        if (tradeOff) L.push(tradeOff, '');
      }
    }
    if (n0?.stages?.inference && base.stages?.inference) {
      L.push(
        `With the decoders and encoders at the detector's own priority (\`media.nice: 0\`; the daemon's default runs them ${base.media_nice ?? 10} steps nicer) the detector needed ${num(det(n0.stages), 1)} ms per frame in the pipeline instead of ${num(det(base.stages), 1)} and the engine ran ${num(n0.fps)} instead of ${num(base.fps)} FPS (${num(n0.fps / n0.inference_fps)} instead of ${num(base.fps / base.inference_fps)} × the detector alone). At equal priority the detector, woken by a new frame, waits in the run queue behind ffmpeg's threads although the machine is not fully busy; nicer video work yields the core to it and catches up while the detector waits for the next frame.`,
        '',
      );
    }
    L.push('## Stage latency', '', `![stage latency](${rel('stage-latency.svg')})`, '');
    L.push(
      stageTable([
        { name: 'pipelined', stages: base.stages },
        ...(base.sequential ? [{ name: 'sequential', stages: base.sequential.stages }] : []),
        { name: 'detector alone', stages: base.inference_only.stages },
      ]),
      '',
    );
  }
  if (camRuns.length) {
    L.push('## FPS vs number of cameras', '', `![fps vs cameras](${rel('fps-vs-cameras.svg')})`, '');
    L.push('| cameras | total FPS | FPS per camera | detector alone FPS | CPU % of one core | RSS MB |', '|---:|---:|---:|---:|---:|---:|');
    for (const c of camRuns)
      L.push(
        `| ${c.n} | ${num(c.r.fps)} | ${num(c.r.fps_per_camera)} | ${num(c.r.inference_fps)} | ${num(c.r.cpu.total_percent, 0)} | ${num(c.r.rss_mb, 0)} |`,
      );
    L.push('');
  }
  if (Array.isArray(presets) && presets.length) {
    const def = presets.find((x) => x.preset === defaultPreset) ?? presets[0];
    L.push('## Recording presets', '');
    L.push(
      `libx264 alone on the first ${presets[0].frames} frames of the ${base ? `${base.input.width}x${base.input.height} ` : ''}clip, with the recorder's settings (crf ${presets[0].crf}, a keyframe a second, no B-frames): CPU per frame (user + system, median of three runs), size per frame, and the quality of the result against its input. \`record.preset\` trades the first for the second; the daemon's default is **${def.preset}**.`,
      '',
    );
    L.push('| preset | CPU ms per frame | × default | KiB per frame | × default | SSIM | PSNR dB |', '|---|---:|---:|---:|---:|---:|---:|');
    for (const x of presets)
      L.push(
        `| ${x.preset}${x === def ? ' (default)' : ''} | ${num(x.cpu_ms_per_frame, 1)} | ${num(x.cpu_ms_per_frame / def.cpu_ms_per_frame, 2)} | ${num(x.kib_per_frame, 1)} | ${num(x.kib_per_frame / def.kib_per_frame, 2)} | ${x.ssim == null ? 'n/a' : x.ssim.toFixed(4)} | ${num(x.psnr_db, 1)} |`,
      );
    L.push(
      '',
      'At one crf the presets do not give one quality: compare the SSIM and PSNR columns too. On a machine without a hardware encoder the recording competes with the detector for the CPU, which is why the default is the cheapest preset; where disk space is scarcer than CPU, a slower preset makes smaller files at about the same quality.',
      '',
    );
  }
  if (mem?.memory) {
    const t = mem.memory.trend;
    L.push('## Memory over a long run', '', `![rss over time](${rel('rss-over-time.svg')})`, '');
    L.push(
      `One camera, ${mem.input.width}x${mem.input.height} file looping for ${num(mem.memory.minutes, 1)} min with recording and MQTT on (${num(mem.fps)} FPS, ${mem.frames} frames).`,
    );
    const e = mem.memory.early_trend;
    L.push(
      `RSS sampled every ${mem.memory.every_s} s. The first third of the run (${num(t.warmup_s, 0)} s) is warm-up: V8 sizes its heap and the allocator settles over the first minutes (below). After it the slope, a least-squares line through the means of each ${num(t.block_s, 0)} s, is **${num(t.slope_mb_per_min, 2)} ± ${num(t.slope_ci95_mb_per_min, 2)} MB/min** (95% interval, Student's t; fitted rise ${num(t.growth_mb, 1)} MB over ${num(t.span_s / 60, 1)} min). The means, not every sample, are fitted because garbage collection makes RSS saw-tooth over tens of seconds: successive samples are not independent, and a line through all of them claims an interval several times too narrow.${e && e.warmup_s < t.warmup_s ? ` After a ${num(e.warmup_s, 0)} s warm-up instead, the slope is ${num(e.slope_mb_per_min, 2)} ± ${num(e.slope_ci95_mb_per_min, 2)} MB/min.` : ''} RSS moved between ${num(t.min_mb, 1)} and ${num(t.max_mb, 1)} MB; the peak of each whole minute was ${(t.minute_peaks_mb ?? []).map((p) => num(p, 1)).join(', ')} MB. The V8 heap in use changed by ${num(t.heap_slope_mb_per_min, 2)} MB/min and the memory outside it (Buffers) by ${num(t.external_slope_mb_per_min, 2)} MB/min.${t.heap_total_settled_s != null ? ` The heap V8 reserved (which it grows as the run starts and keeps) last grew ${num(t.heap_total_settled_s, 0)} s into the run, and changed by ${num(t.heap_total_slope_mb_per_min, 2)} MB/min after the warm-up.` : ''} Maximum RSS over the whole run: ${num(mem.rss_mb, 1)} MB. The ffmpeg decoder and encoder processes held at most ${num(mem.children_rss_mb, 0)} MB on top.`,
      '',
    );
  }
  if (daemonMem?.memory) {
    const d = daemonMem.memory;
    const t = d.trend;
    L.push(
      '## Memory of the daemon itself',
      '',
      `\`trt-detect bench --daemon-memory\`: the real daemon (\`trt-detect run\`) with ${d.parts.join(', ')}, on \`${d.input}\` for ${num(d.minutes, 1)} min, RSS from /proc every ${d.every_s} s (${d.samples.length} samples, ${d.frames ?? 'n/a'} frames processed). After the first third: the daemon's RSS ${num(t.min_mb, 1)}..${num(t.max_mb, 1)} MB, slope **${num(t.slope_mb_per_min, 2)} ± ${num(t.slope_ci95_mb_per_min, 2)} MB/min** (95%, over ${num(t.block_s, 0)} s means), per-minute peaks ${(t.minute_peaks_mb ?? []).map((p) => num(p, 1)).join(', ') || 'n/a'} MB; maximum over the run **${num(d.max_rss_mb, 1)} MB** (${d.max_rss_mb < 400 ? 'under' : 'over'} 400 MB). Its ffmpeg decoder and encoder held at most ${num(d.max_children_rss_mb, 0)} MB on top; the RTSP viewer is not counted.`,
      '',
    );
  }
  L.push('## How it is measured', '');
  L.push(
    '- `trt-detect bench` runs every phase on the same detector and input in one process, each after a warm-up that is discarded (a fifth of the phase, 0.5–5 s).',
  );
  L.push(
    '- **Detector alone** (`inference_fps`): `detector.infer()` on one decoded frame, back to back: preprocess (addon) + inference + postprocess (addon). Measured in two halves, one before the pipelined phase and one after the sequential one, and counted together, so a machine whose speed drifts during the scenario biases the ratio less.',
  );
  L.push(
    `- **Pipelined** (\`fps\`): the daemon's \`CameraPipeline\` (decode → detect → publish/draw/encode, three concurrent stages with bounded queues) on the file looping, recording every frame to an H.264 MP4 (libx264${defaultPreset ? ` ${defaultPreset}` : ''}, the daemon's default \`record.preset\`, unless the scenario says otherwise) and publishing every inferred frame to a real MQTT broker (a private mosquitto unless \`--mqtt URL\`). The ffmpeg decoder and encoder run ${base?.media_nice ?? any.media_nice ?? 10} nice steps below the detector (\`media.nice\`, as the daemon runs them). With N cameras, N pipelines decode the same file and share one detector.`,
  );
  L.push(
    "- **Sequential loop** (`sequential_fps`): the classic loop on the same stages, one frame at a time and strictly one after another: read a frame, preprocess + infer + postprocess, publish, draw, encode, then the next frame. Its ffmpeg decoder and encoder are separate processes, which would otherwise keep working on other frames while the detector runs; the loop holds each one stopped (SIGSTOP) outside its own stage and lets it run (SIGCONT) inside it: the decoder until the next frame has arrived, the encoder from the moment it is handed the frame until every one of its threads sleeps, waiting for input (read from `/proc/<pid>/task/*/stat`). That is the loop of a program that decodes and encodes in-process, one call after another (OpenCV's `VideoCapture.read` and `VideoWriter.write`, the classic Python loop); each codec may still use several threads inside its stage.",
  );
  L.push(
    '- **Sequential loop, ffmpeg running free** (`sequential_overlapped_fps`): the same loop without holding the ffmpeg processes, so the decoder reads ahead and the encoder works through earlier frames while the detector runs: a loop that already overlaps the video work with inference, shown for comparison.',
  );
  L.push(
    '- Stage times: decode = wait for the next decoded frame; encode = handing the frame to the ffmpeg encoder until its pipe has taken it (includes back-pressure), in the classic loop until the encoder has done what the frame gave it; publish = building and queueing the MQTT message. Percentiles over the measured span of the first camera.',
  );
  L.push(
    "- CPU: `process.cpuUsage()` of the Node process (all threads) plus the ffmpeg children from `/proc/<pid>/stat` (and reaped children's time), as % of one core; the private broker is left out. RSS: the Node process (sampled every 250 ms, maximum reported); children separately.",
  );
  L.push('');
  L.push(
    'Reproduce: `scripts/bench` (options: `--seconds N` per phase, `--minutes M` for the memory run, `--max-cameras N`, `-m MODEL`, `--out DIR`). On a Jetson with TensorRT: `scripts/bench -m model.engine --out bench/jetson-nano`.',
    '',
  );
  writeFileSync(join(outDir, 'REPORT.md'), L.join('\n'));
  return { plots, report: join(outDir, 'REPORT.md') };
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (isMain) {
  const [dataDir, outDir] = process.argv.slice(2);
  if (!dataDir || !outDir) {
    process.stderr.write('usage: node scripts/bench-plot.mjs DATA_DIR OUT_DIR\n');
    process.exit(2);
  }
  try {
    const { plots, report } = buildReport(dataDir, outDir);
    process.stdout.write(`${report}\n${plots.map((p) => join(outDir, p)).join('\n')}\n`);
  } catch (err) {
    process.stderr.write(`bench-plot: ${err instanceof Error ? err.message : err}\n`);
    process.exit(1);
  }
}
