import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { drawBoxes } from '../detect/detections.js';
import type { Detector, DetectOptions, Frame } from '../detect/types.js';
import { ConfigError, RuntimeFailure } from '../errors.js';
import * as native from '../native.js';
import { detectionMessage } from '../sinks/detection-message.js';
import { Mp4Writer } from '../sinks/mp4-writer.js';
import { CameraPipeline } from '../service/camera-pipeline.js';
import { silentLogger } from '../service/log.js';
import { LatencyStats } from '../service/rate.js';
import { openSource } from '../sources/open-source.js';
import { parseCommandArgs, type Command } from './args.js';
import { numberOption, openModelFromArgs } from './model-options.js';

const HELP = `Usage: trt-detect bench -m MODEL [-i INPUT] [--seconds N] [--cameras N] [--sequential] [--interval N] [--json FILE] [-c FILE]

Measures stage timings (decode, preprocess, inference, postprocess, draw, encode, publish) and
throughput of the pipelined engine on a video file (looped), with recording to a temporary MP4.
In the same run it measures the detector alone (inference_fps) and, with --sequential, the classic
one-frame-at-a-time loop as the baseline, so ratios come from one run on one machine.

Options:
  -m, --model MODEL   model (default: model.path of -c)
  -i, --input FILE    video file (default samples/traffic.mp4)
  --seconds N         seconds per measured phase (default 20)
  --cameras N         cameras decoding the same file at once, sharing the detector (default 1)
  --interval N        detect.interval (run the detector on every N+1-th frame; default from -c or 0)
  --sequential        also run the sequential baseline
  --json FILE         write the results as JSON
  -c, --config FILE   use this config's model and detect sections
`;

type StageName = 'decode' | 'preprocess' | 'inference' | 'postprocess' | 'draw' | 'encode' | 'publish';

class RssSampler {
  max = 0;
  private readonly timer: NodeJS.Timeout;
  constructor() {
    this.sample();
    this.timer = setInterval(() => this.sample(), 250);
  }
  sample(): void {
    this.max = Math.max(this.max, process.memoryUsage().rss);
  }
  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return Number((this.max / 1048576).toFixed(1));
  }
}

async function firstFrame(input: string): Promise<Frame> {
  const src = await openSource(input);
  for await (const f of src.frames()) {
    src.stop();
    return { ...f, data: Buffer.from(f.data) };
  }
  throw new RuntimeFailure(`${input}: no frames`);
}

async function inferenceOnly(detector: Detector, options: DetectOptions, frame: Frame, seconds: number) {
  const stats = new LatencyStats();
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < seconds * 1000 || n < 5) {
    const r = await detector.infer(frame, options);
    stats.add(r.timings.inference_ms);
    n++;
  }
  return { fps: n / ((performance.now() - t0) / 1000), frames: n, inference: stats };
}

async function pipelined(detector: Detector, options: DetectOptions, input: string, seconds: number, cameras: number, interval: number, dir: string) {
  const pipes: CameraPipeline[] = [];
  for (let c = 0; c < cameras; c++) {
    pipes.push(
      new CameraPipeline(
        `bench${c}`,
        {
          source: input,
          loop: true,
          detect: { threshold: options.threshold, nms_iou: options.nmsIou, classes: options.classes, interval, top_k: options.topK },
          publishAll: true,
          sink: (video) => {
            const w = new Mp4Writer(join(dir, `bench${c}.mp4`), { width: video.width, height: video.height, fps: video.fpsRational });
            return { write: (f) => w.write(f), close: () => w.finish() };
          },
        },
        detector,
        { status: () => undefined, detections: (_cam, m) => void JSON.stringify(m) },
        silentLogger(),
      ),
    );
  }
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const runs = pipes.map((p) => p.run());
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const frames = pipes.reduce((a, p) => a + p.stats().frames, 0);
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await Promise.all(pipes.map((p) => p.stop()));
  await Promise.all(runs);
  const failed = pipes.find((p) => p.currentState === 'error');
  if (failed) throw new RuntimeFailure(failed.error ?? 'bench pipeline failed');
  return { fps: frames / elapsed, frames, elapsed, cpuPercent: (100 * (cpu.user + cpu.system)) / 1e6 / elapsed, pipes };
}

/** The classic loop: read -> preprocess+infer+postprocess -> draw -> encode, one frame at a time. */
async function sequential(detector: Detector, options: DetectOptions, input: string, seconds: number, dir: string) {
  const src = await openSource(input, { loop: true });
  const w = new Mp4Writer(join(dir, 'sequential.mp4'), { width: src.info.width, height: src.info.height, fps: src.info.fpsRational });
  const stages = { decode: new LatencyStats(), preprocess: new LatencyStats(), inference: new LatencyStats(), postprocess: new LatencyStats(), draw: new LatencyStats(), encode: new LatencyStats(), publish: new LatencyStats() };
  const t0 = performance.now();
  let frames = 0;
  let t = performance.now();
  for await (const frame of src.frames()) {
    stages.decode.add(performance.now() - t);
    const r = await detector.infer(frame, options);
    stages.preprocess.add(r.timings.preprocess_ms);
    stages.inference.add(r.timings.inference_ms);
    stages.postprocess.add(r.timings.postprocess_ms);
    let s = performance.now();
    void JSON.stringify(detectionMessage('sequential', frame, r.detections, r.timings.inference_ms));
    stages.publish.add(performance.now() - s);
    s = performance.now();
    if (r.detections.length) await native.draw(frame.data, frame.width, frame.height, drawBoxes(r.detections));
    stages.draw.add(performance.now() - s);
    s = performance.now();
    await w.write(frame.data);
    stages.encode.add(performance.now() - s);
    src.pool.release(frame.data);
    frames++;
    if (performance.now() - t0 > seconds * 1000) break;
    t = performance.now();
  }
  src.stop();
  const elapsed = (performance.now() - t0) / 1000;
  await w.finish();
  return { fps: frames / elapsed, frames, stages };
}

const summarize = (stages: Record<StageName, LatencyStats>) =>
  Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, { mean_ms: v.mean, p50_ms: v.percentile(50), p99_ms: v.percentile(99) }]));

export const benchCommand: Command = async (argv) => {
  const { values } = parseCommandArgs('bench', argv, {
    model: { type: 'string', short: 'm' },
    input: { type: 'string', short: 'i' },
    seconds: { type: 'string' },
    cameras: { type: 'string' },
    interval: { type: 'string' },
    sequential: { type: 'boolean' },
    json: { type: 'string' },
    config: { type: 'string', short: 'c' },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const seconds = numberOption('bench', 'seconds', values.seconds as string | undefined, 1, 86400) ?? 20;
  const cameras = numberOption('bench', 'cameras', values.cameras as string | undefined, 1, 64) ?? 1;
  const input = (values.input as string | undefined) ?? 'samples/traffic.mp4';
  const { detector, options, interval: cfgInterval } = await openModelFromArgs('bench', values as { model?: string; config?: string });
  const interval = numberOption('bench', 'interval', values.interval as string | undefined, 0, 1000) ?? cfgInterval;
  if (!Number.isInteger(interval)) throw new ConfigError('trt-detect bench: --interval must be a whole number');
  const dir = mkdtempSync(join(tmpdir(), 'trt-detect-bench-'));
  const rss = new RssSampler();
  try {
    const frame = await firstFrame(input);
    for (let i = 0; i < 3; i++) await detector.infer(frame, options); // warm-up
    const log = (s: string) => process.stderr.write(`bench: ${s}\n`);
    log(`detector alone, ${seconds}s ...`);
    const inf = await inferenceOnly(detector, options, frame, seconds);
    log(`pipelined, ${cameras} camera(s), ${seconds}s ...`);
    const pipe = await pipelined(detector, options, input, seconds, cameras, interval, dir);
    // stage timings of the first camera (every camera runs the same stages on the same file)
    const pipeStages = pipe.pipes[0].timings as Record<StageName, LatencyStats>;
    let seq: Awaited<ReturnType<typeof sequential>> | null = null;
    if (values.sequential) {
      log(`sequential baseline, ${seconds}s ...`);
      seq = await sequential(detector, options, input, seconds, dir);
    }
    const result = {
      model: detector.info.path,
      backend: detector.info.backend,
      input,
      cameras,
      interval,
      seconds,
      fps: Number(pipe.fps.toFixed(2)),
      fps_per_camera: Number((pipe.fps / cameras).toFixed(2)),
      inference_fps: Number(inf.fps.toFixed(2)),
      frames: pipe.frames,
      rss_mb: rss.stop(),
      cpu_percent_node: Number(pipe.cpuPercent.toFixed(1)),
      stages: summarize(pipeStages),
      ...(seq ? { sequential: { fps: Number(seq.fps.toFixed(2)), frames: seq.frames, stages: summarize(seq.stages) }, pipelined_vs_sequential: Number((pipe.fps / seq.fps).toFixed(2)) } : {}),
      pipelined_vs_inference: Number((pipe.fps / inf.fps).toFixed(2)),
    };
    const lines = [
      `model ${result.model} (${result.backend}), input ${input}, ${cameras} camera(s), interval ${interval}`,
      `end-to-end ${result.fps} FPS (${result.frames} frames), detector alone ${result.inference_fps} FPS, ratio ${result.pipelined_vs_inference}`,
      ...(seq ? [`sequential baseline ${seq.fps.toFixed(2)} FPS, pipelined/sequential ${result.pipelined_vs_sequential}`] : []),
      `RSS max ${result.rss_mb} MB, node CPU ${result.cpu_percent_node}%`,
      'stage         mean ms   p50 ms   p99 ms',
      ...Object.entries(result.stages).map(([k, v]) => `${k.padEnd(12)} ${String(v.mean_ms).padStart(8)} ${String(v.p50_ms).padStart(8)} ${String(v.p99_ms).padStart(8)}`),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    if (values.json) writeFileSync(values.json as string, `${JSON.stringify(result, null, 2)}\n`);
    return 0;
  } finally {
    rss.stop();
    await detector.close();
    rmSync(dir, { recursive: true, force: true });
  }
};
