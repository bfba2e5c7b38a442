import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CpuMeter } from '../../daemon/bench/process-usage.js';
import { blockMeans, fitLine, heapSettled, rssTrend, slope, t95 } from '../../daemon/bench/rss-sampler.js';
import { inferenceThreads } from '../../daemon/detect/inference-threads.js';
import { DEFAULT_PRESET } from '../../daemon/media/x264.js';
import { MODEL, ROOT, runCli } from '../support/cli.js';
import { collectMessages, freePort, startMosquitto } from '../support/mosquitto.js';
import { makeTestVideo, tempDir } from '../support/videos.js';

const STAGES = ['decode', 'preprocess', 'inference', 'postprocess', 'draw', 'encode', 'publish'];

const hasMosquitto = ['/usr/sbin', ...(process.env.PATH ?? '').split(':')].some((d) => {
  try {
    accessSync(join(d, 'mosquitto'), constants.X_OK);
    return true;
  } catch {
    return false;
  }
});

let tmp: ReturnType<typeof tempDir>;
let clip: string;

beforeAll(() => {
  tmp = tempDir('bench');
  clip = makeTestVideo(join(tmp.dir, 'tiny.mp4'), { width: 320, height: 240, fps: 15, frames: 30 });
});
afterAll(() => tmp.cleanup());

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the bench's JSON, read field by field
const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Record<string, any>;

function expectStages(stages: Record<string, { count: number; mean_ms: number; p50_ms: number; p99_ms: number }>, names: string[]): void {
  for (const name of names) {
    const s = stages[name];
    expect(s, name).toBeDefined();
    for (const k of ['mean_ms', 'p50_ms', 'p99_ms'] as const) {
      expect(typeof s[k], `${name}.${k}`).toBe('number');
      expect(s[k], `${name}.${k}`).toBeGreaterThanOrEqual(0);
    }
    expect(s.p50_ms, `${name} p50 <= p99`).toBeLessThanOrEqual(s.p99_ms);
    expect(s.count, `${name}.count`).toBeGreaterThan(0);
  }
}

describe('trt-detect bench', () => {
  it('--sequential --json: fps, inference_fps, sequential_fps, frames, rss, cpu, every stage, the machine', async () => {
    const out = join(tmp.dir, 'c1-i0.json');
    const r = await runCli(['bench', '-m', MODEL, '-i', clip, '--seconds', '2', '--sequential', '--json', out], { timeoutMs: 240_000 });
    expect(r.stderr).not.toMatch(/internal error|at .*\.js:\d+/);
    expect(r.code, r.stderr).toBe(0);
    const j = readJson(out);
    expect(j.fps).toBeGreaterThan(0);
    expect(j.inference_fps).toBeGreaterThan(0);
    expect(j.sequential_fps).toBeGreaterThan(0);
    expect(j.pipelined_vs_sequential).toBeCloseTo(j.fps / j.sequential_fps, 1);
    // the classic loop holds its ffmpeg processes between stages; the same loop with them running free is measured too
    expect(j.sequential.held).toBe(true);
    expect(j.sequential_overlapped.held).toBe(false);
    expect(j.sequential_overlapped_fps).toBeGreaterThan(0);
    expect(j.pipelined_vs_sequential_overlapped).toBeCloseTo(j.fps / j.sequential_overlapped_fps, 1);
    expect(j.sequential.cpu.children_percent).toBeGreaterThan(0);
    // model.threads auto with video alongside: one core left to decoding and encoding
    expect(j.model_threads).toBe(inferenceThreads(0, true));
    expect(j.pipelined_vs_inference).toBeCloseTo(j.fps / j.inference_fps, 1);
    expect(Number.isInteger(j.frames) && j.frames > 0).toBe(true);
    expect(j.rss_mb).toBeGreaterThan(10);
    // the event-loop delay over the measured span (the figure the e2e test used to time)
    for (const k of ["mean_ms", "p99_ms", "max_ms"]) expect(j.event_loop[k], k).toBeGreaterThan(0);
    expect(j.cpu_percent).toBeGreaterThan(0);
    expect(j.media_nice).toBe(10);
    // the recording: libx264 at the daemon's default preset, its size per frame measured
    expect(j.record_preset).toBe(DEFAULT_PRESET);
    expect(j.recording_kb_per_frame).toBeGreaterThan(0);
    expect(j.cpu.total_percent).toBeCloseTo(j.cpu.process_percent + (j.cpu.children_percent ?? 0), 0);
    // on Linux the ffmpeg decoder and encoder are counted too
    expect(j.cpu.children_percent).toBeGreaterThan(0);
    expectStages(j.stages, STAGES);
    // the classic loop runs no tracker: its figures are the stages it shares with the pipeline
    const untracked = STAGES.filter((s) => s !== 'track');
    expectStages(j.sequential.stages, untracked);
    expectStages(j.sequential_overlapped.stages, untracked);
    expectStages(j.inference_only.stages, ['preprocess', 'inference', 'postprocess']);
    // the detector alone is measured in two spans, before and after the other phases; its FPS is theirs together
    expect(j.inference_only.spans_fps).toHaveLength(2);
    const [before, after] = j.inference_only.spans_fps as number[];
    expect(j.inference_fps).toBeGreaterThanOrEqual(Math.min(before, after) * 0.99);
    expect(j.inference_fps).toBeLessThanOrEqual(Math.max(before, after) * 1.01);
    expect(j.input).toMatchObject({ width: 320, height: 240 });
    expect(j.cameras).toBe(1);
    expect(j.interval).toBe(0);
    expect(j.backend).toBe('onnxruntime');
    expect(j.machine.cores).toBeGreaterThanOrEqual(1);
    expect(j.machine.cpu_model.length).toBeGreaterThan(0);
    expect(j.machine.node).toBe(process.version);
    expect(j.machine.backend).toBe('onnxruntime');
    if (hasMosquitto) {
      expect(j.mqtt.mode).toBe('private');
      expect(j.mqtt.published).toBeGreaterThan(0);
    } else {
      expect(j.mqtt.mode).toBe('none');
      expect(j.mqtt.note).toMatch(/mosquitto/);
    }
    expect(r.stdout).toMatch(/end-to-end [\d.]+ FPS/);
    expect(r.stdout).toMatch(/sequential baseline [\d.]+ FPS, pipelined\/sequential [\d.]+; with the decoder and encoder running free [\d.]+ FPS/);
  });

  it.skipIf(!hasMosquitto)(
    `--mqtt URL, 2 cameras, interval 1, memory run: detections reach the broker, RSS samples and slope (${hasMosquitto ? 'real mosquitto' : 'skipped: mosquitto missing, apt-get install mosquitto'})`,
    async () => {
      const broker = await startMosquitto();
      const collector = await collectMessages(broker.url, 'trt-detect-bench/+/detections');
      try {
        const out = join(tmp.dir, 'c2-i0.json');
        const r = await runCli(['bench', '-m', MODEL, '-i', clip, '--seconds', '2', '--cameras', '2', '--interval', '1', '--mqtt', broker.url, '--loop-minutes', '0.1', '--rss-every', '1', '--nice', '0', '--json', out], { timeoutMs: 240_000 });
        expect(r.code, r.stderr).toBe(0);
        const j = readJson(out);
        expect(j.cameras).toBe(2);
        expect(j.interval).toBe(1);
        expect(j.media_nice).toBe(0);
        expect(j.camera_fps).toHaveLength(2);
        for (const f of j.camera_fps) expect(f).toBeGreaterThan(0);
        expect(j.fps_per_camera).toBeCloseTo(j.fps / 2, 1);
        expect(j.inferred_frames).toBeGreaterThan(0);
        expect(j.mqtt).toMatchObject({ mode: 'external', url: broker.url });
        expect(j.mqtt.published).toBeGreaterThan(0);
        const msgs = await collector.waitFor((m) => m.length > 0, 10_000);
        const first = JSON.parse(msgs[0].payload) as { camera: string; width: number; detections: unknown[] };
        expect(['bench0', 'bench1']).toContain(first.camera);
        expect(first.width).toBe(320);
        expect(Array.isArray(first.detections)).toBe(true);
        // the memory run: samples from the start of the pipelined phase, a slope after warm-up
        expect(j.memory.minutes).toBe(0.1);
        expect(j.memory.samples.length).toBeGreaterThanOrEqual(3);
        for (const s of j.memory.samples) expect(s.rss_mb).toBeGreaterThan(10);
        expect(Number.isFinite(j.memory.trend.slope_mb_per_min)).toBe(true);
        expect(j.memory.trend.slope_ci95_mb_per_min).toBeGreaterThanOrEqual(0);
        for (const s of j.memory.samples) expect(s.heap_used_mb).toBeGreaterThan(0);
        for (const s of j.memory.samples) expect(s.heap_total_mb).toBeGreaterThanOrEqual(s.heap_used_mb);
        expect(j.memory.trend.samples_used).toBeGreaterThanOrEqual(2);
        expect(j.memory.trend.max_mb).toBeGreaterThanOrEqual(j.memory.trend.min_mb);
        // warm-up: the first third of the run (6 s + the phase's 1.2 s warm-up); under three minutes the early trend's is the same
        expect(j.memory.trend.warmup_s).toBeCloseTo(2.4, 1);
        expect(j.memory.early_trend.warmup_s).toBe(j.memory.trend.warmup_s);
        expect(j.memory.trend.span_s).toBeGreaterThan(3);
      } finally {
        await collector.close();
        await broker.stop();
      }
    },
  );

  it('--outputs: CPU per frame of recording alone, + RTSP out and a live viewer on one encode, with a second encoder, and record.mode raw; the ratios', async () => {
    const out = join(tmp.dir, 'outputs.json');
    const r = await runCli(['bench', '-m', MODEL, '-i', clip, '--seconds', '2', '--outputs', '--mqtt', 'none', '--json', out], { timeoutMs: 240_000 });
    expect(r.code, r.stderr).toBe(0);
    const o = readJson(out).outputs;
    for (const mode of ['record', 'all', 'two_encodes']) {
      expect(o[mode].fps, mode).toBeGreaterThan(0);
      expect(o[mode].cpu_ms_per_frame, mode).toBeGreaterThan(0);
      // the camera's encoder (and, with two_encodes, the second one) is counted
      expect(o[mode].cpu.children_percent, mode).toBeGreaterThan(0);
    }
    expect(o.all_vs_record).toBeCloseTo(o.all.cpu_ms_per_frame / o.record.cpu_ms_per_frame, 1);
    expect(o.two_encodes_vs_record).toBeCloseTo(o.two_encodes.cpu_ms_per_frame / o.record.cpu_ms_per_frame, 1);
    // raw: no drawing and no encode; the decoder's copy goes to the segment
    expect(o.raw.fps).toBeGreaterThan(0);
    expect(o.record.encode_ms).toBeGreaterThan(0);
    expect(o.raw.encode_ms ?? 0).toBe(0);
    expect(o.raw_vs_annotated).toBeCloseTo(o.raw.cpu_ms_per_frame / o.record.cpu_ms_per_frame, 1);
    expect(r.stdout).toMatch(/record\.mode raw [\d.]+ CPU ms per frame .* × annotated recording/);
    expect(r.stdout).toMatch(/outputs, CPU ms per frame: recording alone [\d.]+ .* ratio [\d.]+; with a second encoder for RTSP \(before\) [\d.]+ .* ratio [\d.]+/);
  });

  it('bad arguments and inputs: one line each, exit 2 or 1', async () => {
    const cams = await runCli(['bench', '-m', MODEL, '-i', clip, '--cameras', '0']);
    expect(cams.code).toBe(2);
    expect(cams.stderr.trim()).toBe('trt-detect bench: --cameras 0: expected a number from 1 to 64');
    const missing = await runCli(['bench', '-m', MODEL, '-i', join(tmp.dir, 'nope.mp4')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toBe(`${join(tmp.dir, 'nope.mp4')}: not found (check -i)`);
    // no model: that is what is missing, wherever it runs (not the default input beside it)
    const noModel = await runCli(['bench'], { cwd: tmp.dir });
    expect(noModel.code).toBe(2);
    expect(noModel.stderr.trim()).toBe('trt-detect bench: -m MODEL is required (or -c CONFIG with model.path)');
    const json = await runCli(['bench', '-m', MODEL, '-i', clip, '--json', join(tmp.dir, 'no', 'b.json')]);
    expect(json.code).toBe(2);
    expect(json.stderr.trim()).toBe(`trt-detect bench: --json ${join(tmp.dir, 'no', 'b.json')}: cannot write (folder ${join(tmp.dir, 'no')} does not exist)`);
    const scheme = await runCli(['bench', '-m', MODEL, '-i', clip, '--mqtt', 'ftp://x']);
    expect(scheme.code).toBe(2);
    expect(scheme.stderr.trim()).toBe('trt-detect bench: --mqtt: unsupported scheme "ftp" (expected mqtt, mqtts, ws or wss)');
    const nice = await runCli(['bench', '-m', MODEL, '-i', clip, '--nice', '20']);
    expect(nice.code).toBe(2);
    expect(nice.stderr.trim()).toBe('trt-detect bench: --nice 20: expected a number from 0 to 19');
    const niceFraction = await runCli(['bench', '-m', MODEL, '-i', clip, '--nice', '2.5']);
    expect(niceFraction.code).toBe(2);
    expect(niceFraction.stderr.trim()).toBe('trt-detect bench: --nice 2.5: expected a whole number from 0 to 19');
    const preset = await runCli(['bench', '-m', MODEL, '-i', clip, '--preset', 'fastest']);
    expect(preset.code).toBe(2);
    expect(preset.stderr.trim()).toBe('trt-detect bench: --preset fastest: expected one of ultrafast, superfast, veryfast, faster, fast, medium, slow, slower, veryslow');
    const loop = await runCli(['bench', '-m', MODEL, '-i', clip, '--loop-minutes', 'x']);
    expect(loop.code).toBe(2);
    expect(loop.stderr.trim().split('\n')).toHaveLength(1);
    const port = await freePort();
    const broker = await runCli(['bench', '-m', MODEL, '-i', clip, '--seconds', '1', '--mqtt', `mqtt://127.0.0.1:${port}`], { timeoutMs: 60_000 });
    expect(broker.code).toBe(1);
    expect(broker.stderr.trim().split('\n')).toHaveLength(1);
    expect(broker.stderr).toContain(`127.0.0.1:${port}`);
  });

  it('scripts/bench-plot.mjs turns bench JSON into REPORT.md and four SVG plots', () => {
    const data = join(tmp.dir, 'data');
    const out = join(tmp.dir, 'report');
    mkdirSync(data, { recursive: true });
    const base = readJson(join(tmp.dir, 'c1-i0.json'));
    writeFileSync(join(data, 'c1-i0.json'), JSON.stringify(base));
    const multi = join(tmp.dir, 'c2-i0.json');
    if (existsSync(multi)) {
      writeFileSync(join(data, 'c2-i0.json'), readFileSync(multi));
      writeFileSync(join(data, 'memory.json'), readFileSync(multi));
    }
    // the same run with the decoders and encoders at the detector's priority
    writeFileSync(join(data, 'c1-i0-n0.json'), JSON.stringify({ ...base, media_nice: 0, fps: base.fps * 0.9 }));
    // the recording at veryfast instead of the default, interval 0 and 2: half the bytes a frame
    writeFileSync(join(data, 'c1-i0-veryfast.json'), JSON.stringify({ ...base, record_preset: 'veryfast', recording_kb_per_frame: base.recording_kb_per_frame / 2 }));
    writeFileSync(join(data, 'c1-i2-veryfast.json'), JSON.stringify({ ...base, record_preset: 'veryfast', interval: 2, fps: base.fps * 2.6 }));
    // libx264 alone at two presets
    writeFileSync(join(data, 'presets.json'), JSON.stringify([
      { preset: DEFAULT_PRESET, crf: 23, frames: 250, cpu_ms_per_frame: 6, cpu_runs_ms: [6, 6, 6], kib_per_frame: 16, ssim: 0.9886, psnr_db: 47.8 },
      { preset: 'veryfast', crf: 23, frames: 250, cpu_ms_per_frame: 12, cpu_runs_ms: [12, 12, 12], kib_per_frame: 8, ssim: 0.988, psnr_db: 45.5 },
    ]));
    writeFileSync(join(data, 'meta.json'), JSON.stringify({ runs: { timing: { command: 'scripts/bench --test', input: clip, date: base.date, load_at_start: '0.11 0.22 0.33' } } }));
    const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'bench-plot.mjs'), data, out], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const report = readFileSync(join(out, 'REPORT.md'), 'utf8');
    expect(report).toContain(base.machine.cpu_model);
    expect(report).toContain(`${base.fps.toFixed(2)} / ${base.inference_fps.toFixed(2)} FPS`);
    expect(report).toContain(`${base.sequential_fps.toFixed(2)} FPS`);
    expect(report).toContain('`scripts/bench --test`');
    expect(report).toContain(`(\`media.nice: 0\` instead of 10) | ${((base.fps * 0.9) / base.inference_fps).toFixed(2)} (${(base.fps * 0.9).toFixed(2)} / ${base.inference_fps.toFixed(2)}`);
    expect(report).toContain(`| the same with the recording at \`record.preset: veryfast\` instead of ${DEFAULT_PRESET} | 2.60 (${(base.fps * 2.6).toFixed(2)} / ${base.fps.toFixed(2)} FPS; the recording 0.50 × as big`);
    expect(report).toContain(`| the first two with the recording at \`record.preset: veryfast\` instead of ${DEFAULT_PRESET} | ${(base.fps / base.inference_fps).toFixed(2)} (`);
    expect(report).toContain('## Recording presets');
    expect(report).toContain(`| ${DEFAULT_PRESET} (default) | 6.0 | 1.00 | 16.0 | 1.00 | 0.9886 | 47.8 |`);
    expect(report).toContain('| veryfast | 12.0 | 2.00 | 8.0 | 0.50 | 0.9880 | 45.5 |');
    expect(report).not.toMatch(/NaN|undefined/);
    // a memory run of 6 s: measured, but far too short for the flatness verdict
    if (existsSync(multi)) expect(report).toMatch(/\| RSS flat after warm-up \(the first third of the run\) over ≥ 5 min .* MB\/min over 0\.1 min after a 2 s warm-up; .*\| \*\*not met\*\* \|/);
    expect(report).toContain('load average (1, 5, 15 min) 0.11 0.22 0.33 at the start');
    // no interval-2 run in this data: the report says so instead of inventing a ratio
    expect(report).toMatch(/interval 2 ≥ 2\.5 × interval 0 \| n\/a .*not measured/);
    const svgs = ['pipelined-vs-sequential.svg', 'stage-latency.svg', ...(existsSync(multi) ? ['fps-vs-cameras.svg', 'rss-over-time.svg'] : [])];
    for (const f of svgs) {
      const svg = readFileSync(join(out, f), 'utf8');
      expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'), f).toBe(true);
      expect(svg.trim().endsWith('</svg>'), f).toBe(true);
      expect(svg, f).not.toMatch(/NaN|undefined|Infinity/);
      expect(report).toContain(`](${f})`);
    }
    const empty = join(tmp.dir, 'empty');
    mkdirSync(empty);
    const bad = spawnSync(process.execPath, [join(ROOT, 'scripts', 'bench-plot.mjs'), empty, out], { encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('bench helpers', () => {
  it('rssTrend: the slope over block means; a saw-tooth around a flat line is flat, a steady rise is significant', () => {
    // 10 minutes sampled every 2 s: a garbage-collection saw-tooth (40 s period, 6 MB deep) on a flat 250 MB
    const sample = (t_s: number, rss_mb: number) => ({ t_s, rss_mb, heap_used_mb: 20, heap_total_mb: 40, external_mb: 10, children_rss_mb: null });
    const saw = (t: number) => ((t % 40) / 40) * 6;
    const flat = Array.from({ length: 301 }, (_, i) => sample(i * 2, 250 + saw(i * 2 + 7)));
    const f = rssTrend(flat, 60);
    expect(f.warmup_s).toBe(60);
    expect(f.span_s).toBe(540);
    expect(f.block_s).toBe(60);
    expect(Math.abs(f.slope_mb_per_min)).toBeLessThan(0.2);
    expect(f.slope_mb_per_min - f.slope_ci95_mb_per_min).toBeLessThanOrEqual(0);
    expect(f.minute_peaks_mb).toHaveLength(9);
    // the same saw-tooth rising 1 MB a minute
    const rising = flat.map((s) => ({ ...s, rss_mb: s.rss_mb + s.t_s / 60 }));
    const r = rssTrend(rising, 60);
    expect(r.slope_mb_per_min).toBeCloseTo(1, 0);
    expect(r.slope_mb_per_min - r.slope_ci95_mb_per_min).toBeGreaterThan(0);
    // too short a span for minutes: blocks of an eighth of it
    expect(rssTrend(flat.slice(0, 41), 0).block_s).toBe(10);
    expect(rssTrend([], 0).slope_mb_per_min).toBe(0);
  });

  it('bench-plot targetsTradeOff: what 1.5 × the classic loop would leave for interval 2, from the measured figures', async () => {
    type Run = Record<string, unknown>;
    const { targetsTradeOff } = (await import(pathToFileURL(join(ROOT, 'scripts', 'bench-plot.mjs')).href)) as { targetsTradeOff: (base: Run, i2: Run) => string };
    // pipelined 20 FPS (50 ms), classic loop 15 FPS (66.7 ms): 8.3 ms short of 75; interval 2 at 35 ms of CPU a frame, 180 % busy
    const base = { fps: 20, sequential_fps: 15, machine: { cores: 2 } };
    const i2 = { fps: 51, cpu_ms_per_frame: 35, cpu: { total_percent: 180 } };
    const two = targetsTradeOff(base, i2);
    expect(two).toContain('would have to take 75.0 ms a frame; it takes 66.7. The 8.3 ms more');
    expect(two).toContain('35.0 + 8.3 = 43.3 ms of CPU a frame, so at most 41.5 FPS with the 180% of a core that run kept busy and 46.2 FPS with all 2 cores busy, against the 50.0 FPS');
    expect(two).toContain('cannot both be met');
    // four cores leave room for both
    expect(targetsTradeOff({ ...base, machine: { cores: 4 } }, i2)).toContain('92.3 FPS with all 4 cores busy');
    expect(targetsTradeOff({ ...base, machine: { cores: 4 } }, i2)).toContain('both targets could be met');
    // already 1.5 × the loop, or a run missing: nothing to say
    expect(targetsTradeOff({ ...base, sequential_fps: 12 }, i2)).toBe('');
    expect(targetsTradeOff({ fps: 20, machine: { cores: 2 } }, i2)).toBe('');
    expect(targetsTradeOff(base, {})).toBe('');
  });

  it('blockMeans: means of whole blocks, a partial last block and empty blocks left out', () => {
    const s = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((t) => ({ t_s: t * 6, v: t }));
    // blocks of 12 s from 0: [0,1], [2,3], [4,5], [6,7], [8,9]; 10 starts a sixth, partial one
    expect(blockMeans(s, 0, 12, (x) => x.v)).toEqual([[3 / 60, 0.5], [15 / 60, 2.5], [27 / 60, 4.5], [39 / 60, 6.5], [51 / 60, 8.5]]);
    expect(blockMeans(s.filter((x) => x.v < 2 || x.v > 5), 0, 12, (x) => x.v)).toHaveLength(3);
    expect(blockMeans([], 0, 12, (x: { t_s: number }) => x.t_s)).toEqual([]);
  });

  it('t95: Student t quantiles from the table and the series beyond it', () => {
    expect(t95(2)).toBe(4.303);
    expect(t95(30)).toBe(2.042);
    expect(t95(40)).toBeCloseTo(2.021, 2);
    expect(t95(1000)).toBeCloseTo(1.962, 2);
    expect(t95(0)).toBe(Infinity);
  });

  it('slope: least squares over points, 0 for fewer than two', () => {
    expect(slope([[0, 1], [1, 3], [2, 5]])).toBeCloseTo(2, 9);
    expect(slope([[0, 5], [1, 5], [2, 5]])).toBe(0);
    expect(slope([[3, 7]])).toBe(0);
    expect(slope([[0, 0], [1, 1], [2, 0], [3, 1]])).toBeCloseTo(0.2, 9);
  });

  it('fitLine: the 95% interval of the slope is 0 on a perfect line and covers the noise otherwise', () => {
    const exact = fitLine([[0, 1], [1, 3], [2, 5], [3, 7]]);
    expect(exact.slope).toBeCloseTo(2, 9);
    expect(exact.ci95).toBeCloseTo(0, 9);
    // around the fitted line 0.2 + 0.2x the squared residuals sum to 0.8; sxx = 5, n - 2 = 2
    const f = fitLine([[0, 0], [1, 1], [2, 0], [3, 1]]);
    expect(f.slope).toBeCloseTo(0.2, 9);
    expect(f.ci95).toBeCloseTo(4.303 * Math.sqrt(0.8 / 2 / 5), 9);
  });

  it('heapSettled: the time V8 last reserved more heap', () => {
    expect(heapSettled([])).toBe(0);
    const s = [[0, 20], [10, 36], [20, 55], [30, 54], [40, 57], [50, 56]].map(([t_s, heap_total_mb]) => ({ t_s, heap_total_mb }));
    expect(heapSettled(s)).toBe(40);
  });

  it.skipIf(process.platform !== 'linux')('CpuMeter counts a child process that exits while measuring (linux /proc)', async () => {
    const meter = new CpuMeter().start();
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, ['-e', 'const end = Date.now() + 400; while (Date.now() < end);'], { stdio: 'ignore' });
      child.on('error', reject);
      child.on('close', () => resolve());
    });
    const cpu = meter.stop();
    expect(cpu.children_percent).toBeGreaterThan(0);
    expect(cpu.cores).toBeGreaterThanOrEqual(1);
    expect(cpu.total_percent).toBeCloseTo(cpu.process_percent + (cpu.children_percent as number), 0);
  });
});
