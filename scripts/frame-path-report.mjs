#!/usr/bin/env node
// Turns the frame-path section of scripts/bench (--only frame-path) into FRAME-PATH.md: the video
// outputs (bench --outputs), ONNX Runtime before and after the one-call change (the daemon of the
// commit before it against this tree, alternately), and the memory step of the real daemon, each
// beside its "before". Self-contained, no dependencies.
//
//   node scripts/frame-path-report.mjs DATA_DIR OUT_DIR
//
// DATA_DIR holds frame-outputs.json, frame-before-<N>.json and frame-after-<N>.json, frame-memory.json,
// frame-revs.json, frame-load.txt, meta.json (and memory-before-*.json: the memory step of the trees
// before the memory fixes, run by hand, each with its label, when kept). Any of them may be missing: the report says so.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const read = (dir, name) => {
  const f = join(dir, name);
  if (!existsSync(f)) return null;
  try {
    return JSON.parse(readFileSync(f, 'utf8'));
  } catch {
    return null;
  }
};
const num = (v, digits = 2) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : 'n/a');
const mean = (v) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : null);
const RSS_LIMIT_MB = 400;

/** What each mode of bench --outputs is; a mode not named here (one added later) shows under its own key. */
const OUTPUT_MODES = {
  record: 'recording alone',
  all: 'recording + RTSP out (one client) + one live viewer, one encode',
  two_encodes: 'recording + RTSP out with a second encoder (the design before one encode)',
  raw: 'recording raw (stream copy of the camera’s own stream)',
};

/** The modes of an outputs object: every member that is a measured run (has cpu_ms_per_frame), in the order above, then the others. */
export function outputModes(outputs) {
  const runs = Object.entries(outputs ?? {}).filter(([, v]) => v && typeof v === 'object' && 'cpu_ms_per_frame' in v);
  const order = Object.keys(OUTPUT_MODES);
  const rank = (k) => (order.includes(k) ? order.indexOf(k) : order.length);
  return runs.sort((a, b) => rank(a[0]) - rank(b[0])).map(([key, run]) => ({ key, label: OUTPUT_MODES[key] ?? key.replace(/_/g, ' '), run }));
}

function machineLine(m) {
  if (!m) return 'machine: n/a';
  return `${m.device_model ?? m.cpu_model}, ${m.cores} cores, ${m.memory_gb} GB, ${m.os}, ${m.arch}; Node ${m.node}, ONNX Runtime ${m.onnxruntime ?? 'n/a'}, ffmpeg ${m.ffmpeg ?? 'n/a'}`;
}

/** The rounds of one side (before or after): frame-<side>-<N>.json in N order. */
function rounds(dir, side) {
  return readdirSync(dir)
    .map((f) => new RegExp(`^frame-${side}-(\\d+)\\.json$`).exec(f))
    .filter(Boolean)
    .sort((a, b) => Number(a[1]) - Number(b[1]))
    .map((m) => ({ n: Number(m[1]), r: read(dir, m[0]) }))
    .filter((x) => x.r);
}

/** The figures of one bench run the before/after table shows. */
function oneCall(r) {
  return {
    infer: r.stages?.inference?.mean_ms ?? null,
    pre: r.stages?.preprocess?.mean_ms ?? null,
    post: r.stages?.postprocess?.mean_ms ?? null,
    fps: r.fps ?? null,
    alone: r.inference_fps ?? null,
    aloneInfer: r.inference_only?.stages?.inference?.mean_ms ?? null,
    cpu: r.cpu_ms_per_frame ?? null,
  };
}

function memoryCells(m) {
  const t = m.trend;
  return {
    range: `${num(t.min_mb, 1)}..${num(t.max_mb, 1)} MB`,
    max: `${num(m.max_rss_mb, 1)} MB`,
    slope: `${num(t.slope_mb_per_min, 2)} ± ${num(t.slope_ci95_mb_per_min, 2)} MB/min`,
    peaks: (t.minute_peaks_mb ?? []).map((p) => num(p, 1)).join(', ') || 'n/a',
  };
}

export function buildFramePathReport(dataDir, outDir) {
  const L = [];
  const meta = read(dataDir, 'meta.json')?.runs?.['frame-path'] ?? null;
  const outputs = read(dataDir, 'frame-outputs.json');
  const before = rounds(dataDir, 'before');
  const after = rounds(dataDir, 'after');
  const mem = read(dataDir, 'frame-memory.json');
  // every memory-before-*.json kept (the trees before each memory fix), oldest run first
  const memBefore = readdirSync(dataDir)
    .filter((f) => /^memory-before-.*\.json$/.test(f))
    .map((f) => read(dataDir, f))
    .filter((m) => m?.memory)
    .sort((a, b) => String(a.date ?? '').localeCompare(String(b.date ?? '')));
  const revs = read(dataDir, 'frame-revs.json');
  const machine = outputs?.machine ?? after[0]?.r.machine ?? mem?.machine ?? null;
  const loadFile = join(dataDir, 'frame-load.txt');
  const load = existsSync(loadFile)
    ? readFileSync(loadFile, 'utf8')
        .trim()
        .split('\n')
        .map((l) => l.trim().split(/\s+/).map(Number))
        .filter((v) => v.length >= 2 && v.every(Number.isFinite))
    : [];

  L.push('# The frame path: one encode, one native call per frame, memory', '');
  L.push(
    'Measured by `scripts/bench --only frame-path` in one run on one machine, each figure beside the one before the change. Regenerate with the same command (`--minutes M` for the memory step, `--seconds N` per bench phase).',
    '',
  );
  L.push(`- Machine: ${machineLine(machine)}.`);
  if (meta)
    L.push(
      `- Run: \`${meta.command}\`, started ${meta.date}; load average (1, 5, 15 min) ${meta.load_at_start} at the start, ${meta.load_at_end ?? 'n/a'} at the end.`,
    );
  if (load.length) {
    const one = load.map((v) => v[1]);
    L.push(
      `- Load over the run (1-minute load average every 30 s, ${load.length} readings): ${num(Math.min(...one))} to ${num(Math.max(...one))}, mean ${num(mean(one))} on ${machine?.cores ?? '?'} cores. The bench's own processes (daemon, ffmpeg, viewers) count in it, and so does any other work on the machine: wall-clock figures (FPS, ms) move with the load; CPU time per frame and RSS much less.`,
    );
  }
  const model = outputs?.model ?? after[0]?.r.model ?? mem?.memory?.model ?? null;
  if (model) L.push(`- Model: \`${model.replace(/^.*\/models\//, 'models/')}\` (ONNX Runtime on the CPU).`);
  L.push('');

  // (a) outputs
  L.push('## Video outputs: one encode per camera', '');
  const modes = outputModes(outputs?.outputs);
  if (!modes.length) L.push('Not measured in this run (frame-outputs.json missing).', '');
  else {
    const base = modes.find((m) => m.key === 'record')?.run.cpu_ms_per_frame ?? null;
    L.push(
      `\`trt-detect bench --outputs\` on \`${outputs.input?.file?.replace(/^.*\//, '') ?? 'the 720p clip'}\` (${outputs.input?.width}x${outputs.input?.height}, ${num(outputs.input?.fps, 0)} FPS), 1 camera, interval ${outputs.interval}, ${outputs.seconds ? `${num(outputs.seconds, 0)} s` : ''} per mode. CPU time (the daemon process and its ffmpeg children, the RTSP client's own not counted) per end-to-end frame, and its ratio to recording alone; the target is at most 1.10 with RTSP out and a live viewer on one encode.`,
      '',
      '| mode | CPU ms per frame | × recording alone | FPS | encode ms |',
      '|---|---|---|---|---|',
    );
    for (const { key, label, run } of modes) {
      const ratio = base && run.cpu_ms_per_frame != null ? run.cpu_ms_per_frame / base : null;
      L.push(
        `| ${label}${key === 'two_encodes' ? ' (before)' : ''} | ${num(run.cpu_ms_per_frame, 1)} | ${key === 'record' ? '1' : num(ratio)} | ${num(run.fps, 1)} | ${num(run.encode_ms, 1)} |`,
      );
    }
    L.push('');
  }

  // (b) one call
  L.push('## ONNX Runtime: one native call per frame', '');
  if (!before.length || !after.length) L.push('Not measured in this run (frame-before-N.json / frame-after-N.json missing).', '');
  else {
    const b = before.map((x) => oneCall(x.r));
    const a = after.map((x) => oneCall(x.r));
    const r0 = after[0].r;
    L.push(
      `\`trt-detect bench\`, 1 camera, interval 0, recording and MQTT on, on \`${r0.input?.file?.replace(/^.*\//, '') ?? 'the 720p clip'}\` (${r0.input?.width}x${r0.input?.height}), ${num(r0.seconds, 0)} s per phase. **Before**: the daemon of ${revs?.before ? `\`${revs.before.commit.slice(0, 7)}\`, ` : ''}the commit before the one-call change (082198d^: pre-processing and decoding as separate addon calls on the main thread around the inference thread's run, the output tensors sent back to it), built in a temporary worktree. **After**: this tree${revs?.after ? ` (\`${revs.after.commit.slice(0, 7)}\`${revs.after.dirty ? ', with uncommitted changes' : ''})` : ''}: one message per frame to the inference thread, which preprocesses into the input tensor, runs with preallocated outputs and decodes in C++. Runs alternated: ${before.map((x) => `before ${x.n}, after ${x.n}`).join(', ')}.`,
      '',
      '| run | inference ms (pipelined) | preprocess ms | postprocess ms | end-to-end FPS | detector alone FPS | detector alone inference ms | CPU ms per frame |',
      '|---|---|---|---|---|---|---|---|',
    );
    const row = (name, v) =>
      `| ${name} | ${num(v.infer, 1)} | ${num(v.pre, 2)} | ${num(v.post, 2)} | ${num(v.fps, 1)} | ${num(v.alone, 1)} | ${num(v.aloneInfer, 1)} | ${num(v.cpu, 1)} |`;
    for (let i = 0; i < Math.max(b.length, a.length); i++) {
      if (b[i]) L.push(row(`before ${before[i].n}`, b[i]));
      if (a[i]) L.push(row(`after ${after[i].n}`, a[i]));
    }
    const avg = (list, k) => mean(list.map((x) => x[k]).filter((x) => x != null));
    const keys = ['infer', 'pre', 'post', 'fps', 'alone', 'aloneInfer', 'cpu'];
    const mb = Object.fromEntries(keys.map((k) => [k, avg(b, k)]));
    const ma = Object.fromEntries(keys.map((k) => [k, avg(a, k)]));
    L.push(row('**before, mean**', mb), row('**after, mean**', ma), '');
    const change = (x, y) => (x && y != null ? `${y >= x ? '+' : ''}${num(((y - x) / x) * 100, 0)}%` : 'n/a');
    L.push(
      `After against before (means): inference ${num(mb.infer, 1)} → ${num(ma.infer, 1)} ms (${change(mb.infer, ma.infer)}), end-to-end ${num(mb.fps, 1)} → ${num(ma.fps, 1)} FPS (${change(mb.fps, ma.fps)}), detector alone ${num(mb.alone, 1)} → ${num(ma.alone, 1)} FPS (${change(mb.alone, ma.alone)}), CPU per frame ${num(mb.cpu, 1)} → ${num(ma.cpu, 1)} ms (${change(mb.cpu, ma.cpu)}). The spread between the two runs of one side is the noise on these differences on a shared machine.`,
      '',
    );
  }

  // (c) memory
  L.push('## Memory of the daemon', '');
  if (!mem?.memory) L.push('Not measured in this run (frame-memory.json missing).', '');
  else {
    const d = mem.memory;
    const c = memoryCells(d);
    const lv = d.live_viewer;
    L.push(
      `\`trt-detect bench --daemon-memory\`: the real daemon (\`trt-detect run\`) with ${d.parts.join(', ')}, on the ${d.input?.replace?.(/^.*\//, '') ?? '1080p clip'} (1080p) for ${num(d.minutes, 1)} min, its RSS from /proc every ${d.every_s} s (${d.samples.length} samples, ${d.frames ?? 'n/a'} frames processed). The first third is warm-up; the slope is a least-squares line through ${num(d.trend.block_s, 0)} s means after it, with its 95% interval. The target: RSS flat and under ${RSS_LIMIT_MB} MB over 15 minutes.`,
      '',
      '| | RSS after the first third | max over the run | slope | per-minute peaks |',
      '|---|---|---|---|---|',
    );
    for (const b of memBefore) {
      const p = memoryCells(b.memory);
      L.push(
        `| before (${b.label ?? 'the tree before the memory fixes'}, ${num(b.memory.minutes, 0)} min) | ${p.range} | ${p.max} | ${p.slope} | ${p.peaks} |`,
      );
    }
    L.push(`| this run (${num(d.minutes, 0)} min) | ${c.range} | ${c.max} | ${c.slope} | ${c.peaks} |`, '');
    const flat = d.trend.slope_mb_per_min - d.trend.slope_ci95_mb_per_min <= 0;
    L.push(
      `Verdict: maximum ${num(d.max_rss_mb, 1)} MB, ${d.max_rss_mb < RSS_LIMIT_MB ? 'under' : '**over**'} ${RSS_LIMIT_MB} MB; slope ${flat ? 'not significantly above 0 (flat)' : '**significantly above 0 (growing)**'}. Its ffmpeg children held at most ${num(d.max_children_rss_mb, 0)} MB on top (not counted).`,
    );
    const pt = d.parts_trend;
    if (pt)
      L.push(
        '',
        `The RSS in its two parts after the warm-up (/proc status): anonymous memory (heaps, malloc arenas, frame buffers: what a leak grows) ${num(pt.anon.min_mb, 1)}..${num(pt.anon.max_mb, 1)} MB, slope ${num(pt.anon.slope_mb_per_min, 2)} ± ${num(pt.anon.slope_ci95_mb_per_min, 2)} MB/min; file-backed pages (the program and its libraries, paged in as their code first runs) ${num(pt.file.min_mb, 1)}..${num(pt.file.max_mb, 1)} MB, slope ${num(pt.file.slope_mb_per_min, 2)} ± ${num(pt.file.slope_ci95_mb_per_min, 2)} MB/min.`,
      );
    const settled = d.samples.filter((s) => s.t_s >= (d.minutes * 60) / 3);
    const heap = settled.map((s) => s.heap_used_mb).filter((x) => x != null);
    const ab = settled.map((s) => s.array_buffers_mb).filter((x) => x != null);
    if (heap.length)
      L.push(
        '',
        `The daemon's main thread after the warm-up (/metrics): V8 heap in use ${num(Math.min(...heap), 1)}..${num(Math.max(...heap), 1)} MB, ArrayBuffers (frame buffers, snapshot copies, encoded video) ${num(Math.min(...ab), 1)}..${num(Math.max(...ab), 1)} MB.`,
      );
    if (lv)
      L.push(
        '',
        `The live viewer (the web UI's WebSocket, logged in as the page does) read ${lv.fragments} fragments (${lv.init_segments} init segment${lv.init_segments === 1 ? '' : 's'}, ${lv.messages} messages, ${num(lv.bytes / 1048576, 1)} MB) in ${lv.connections} connection${lv.connections === 1 ? '' : 's'}${lv.drops?.length ? `, dropped ${lv.drops.length} time(s) (${lv.drops.slice(-3).join('; ')})` : ', never dropped'}${lv.bad_messages ? `; ${lv.bad_messages} messages were not MP4` : ''}; the RTSP client ${d.viewer_running ? 'was still watching at the end' : 'was not watching at the end'}${d.viewer_exits?.length ? ` (its connection ended ${d.viewer_exits.length} time(s))` : ''}.`,
      );
    L.push('');
  }
  L.push(
    '## What changed for memory',
    '',
    "- Snapshots kept a copy of a whole frame for every followed object (up to `events.max_objects`, 100) and made a new frame-sized copy every time an object's score rose (about five a second at 1080p with the COCO model): 40–80 MB of frames held and 16 MB/s of garbage, which RSS followed up. They now copy into reused buffers (25 MB at most: 8 frames at 1080p), an object keeps its frame only until it is encoded, and when all are held, events already snapshotted and then objects that are not events yet give theirs up first (daemon/events/snapshots.ts).",
    "- glibc's malloc gave threads new arenas (up to 8 per core) that each kept their peak pages, so RSS kept creeping for tens of minutes after the snapshot fix (+1.6 ± 0.8 MB/min, 348–361 MB in a 10-minute run on a loaded machine; on this one 322–333 MB, its per-minute peaks rising from 330.9 to 333.2 MB). Loading the addon now caps the arenas at 2 (`mallopt(M_ARENA_MAX)`, native/src/addon.cc; `MALLOC_ARENA_MAX` in the environment wins), and the daemon loads it before the detector's threads start; /metrics shows `trt_detect_malloc_arenas`.",
    '',
  );
  writeFileSync(join(outDir, 'FRAME-PATH.md'), L.join('\n'));
  return join(outDir, 'FRAME-PATH.md');
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (isMain) {
  const [dataDir, outDir] = process.argv.slice(2);
  if (!dataDir || !outDir) {
    process.stderr.write('usage: node scripts/frame-path-report.mjs DATA_DIR OUT_DIR\n');
    process.exit(2);
  }
  try {
    process.stdout.write(`${buildFramePathReport(dataDir, outDir)}\n`);
  } catch (err) {
    process.stderr.write(`frame-path-report: ${err instanceof Error ? err.message : err}\n`);
    process.exit(1);
  }
}
