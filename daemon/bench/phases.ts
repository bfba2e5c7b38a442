import { DEFAULT_TRACK } from '../config/config-schema.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { drawBoxes } from '../detect/detections.js';
import type { Detector, DetectOptions } from '../detect/types.js';
import type { Detection } from '../core/detection.js';
import type { Frame } from '../core/frame.js';
import { RuntimeFailure } from '../core/errors.js';
import * as native from '../native.js';
import { detectionMessage, type DetectionMessage } from '../sinks/detection-message.js';
import type { MqttPublisher } from '../sinks/mqtt-publisher.js';
import { Mp4Writer } from '../sinks/mp4-writer.js';
import { CameraOutput } from '../sinks/camera-output.js';
import { avccUnit, EncodedStream, type EncodedUnit } from '../sinks/encoded-stream.js';
import { initSegment, mediaFragment } from '../media/fmp4.js';
import { RtspServer } from '../sinks/rtsp-server.js';
import { StreamEncoder } from '../sinks/stream-encoder.js';
import { ffmpegPath } from '../media/image-io.js';
import { CameraPipeline, type CameraOutputs, type FrameSink, type PipelineSpec } from '../service/camera-pipeline.js';
import { LoopDelayMonitor } from '../service/loop-delay.js';
import { FairDetector } from '../service/fair-detector.js';
import { silentLogger } from '../core/log.js';
import { LatencyStats, stageTimings } from '../service/rate.js';
import { onMediaSpawn } from '../media/media-process.js';
import { openSource } from '../sources/open-source.js';
import { ProcessGate } from './process-gate.js';
import { CpuMeter, type CpuFigures } from './process-usage.js';
import { RssSampler, type RssSample, type RssTrend } from './rss-sampler.js';

/**
 * The measured phases of `trt-detect bench`, each on the same detector and input:
 * the detector alone, the pipelined engine (CameraPipeline, N cameras, recording + MQTT) and the
 * classic one-frame-at-a-time loop. Every phase discards a warm-up before it measures.
 */

export const STAGES = ['decode', 'preprocess', 'inference', 'postprocess', 'track', 'draw', 'encode', 'publish'] as const;
export type StageName = (typeof STAGES)[number];
export type StageTimings = Record<StageName, LatencyStats>;

export interface StageSummary {
  mean_ms: number;
  p50_ms: number;
  p99_ms: number;
  /** samples measured */
  count: number;
  /** samples per second of the measured span (the stage's throughput) */
  per_s: number;
}

export function summarizeStages(stages: Partial<Record<StageName, LatencyStats>>, elapsedSeconds: number): Partial<Record<StageName, StageSummary>> {
  const out: Partial<Record<StageName, StageSummary>> = {};
  for (const name of STAGES) {
    const s = stages[name];
    if (!s) continue;
    out[name] = { mean_ms: s.mean, p50_ms: s.percentile(50), p99_ms: s.percentile(99), count: s.count, per_s: Number((s.count / Math.max(elapsedSeconds, 1e-3)).toFixed(2)) };
  }
  return out;
}

/** Where the bench sends detections: the MQTT publisher, or only serialised when there is none. */
export function publishFn(publisher: MqttPublisher | null): (camera: string, message: DetectionMessage) => void {
  return publisher ? (camera, message) => publisher.publishDetections(camera, message) : (_camera, message) => void JSON.stringify(message);
}

export interface BenchContext {
  detector: Detector;
  options: DetectOptions;
  input: string;
  interval: number;
  /** temp dir for the recordings */
  dir: string;
  publisher: MqttPublisher | null;
  /** child pids not part of the measured work (the private broker) */
  exclude: ReadonlySet<number>;
  /** libx264 preset of the recordings */
  preset: string;
}

/** Warm-up before measuring: a fifth of the phase, between 0.5 and 5 seconds. */
export const warmupSeconds = (seconds: number) => Math.min(5, Math.max(0.5, seconds * 0.2));

/** The first decoded frame of the input, copied out of the source's pool. */
export async function firstFrame(input: string): Promise<Frame> {
  const src = await openSource(input);
  for await (const f of src.frames()) {
    src.stop();
    return { ...f, data: Buffer.from(f.data) };
  }
  throw new RuntimeFailure(`${input}: no frames could be decoded (is it a video file?)`);
}

export interface InferenceOnlyResult {
  fps: number;
  frames: number;
  /** FPS of each measured span, in order (one before the pipelined phase, one after) */
  spansFps: number[];
  stages: Partial<Record<StageName, StageSummary>>;
  cpu: CpuFigures;
}

/**
 * The detector alone (preprocess + inference + postprocess), one frame after another, same
 * settings, measured in spans that add up: one before the pipelined phase and one after, so a
 * machine whose speed drifts during the run (a shared VM) biases the ratio between the two less.
 */
export class InferenceOnly {
  private readonly stages = { preprocess: new LatencyStats(), inference: new LatencyStats(), postprocess: new LatencyStats() };
  private frames = 0;
  private elapsed = 0;
  private readonly spans: Array<{ frames: number; seconds: number; cpu: CpuFigures }> = [];

  constructor(
    private readonly ctx: BenchContext,
    private readonly frame: Frame,
  ) {}

  /** One span: a warm-up, then `seconds` measured. Returns the span's FPS. */
  async measure(seconds: number): Promise<number> {
    const { detector, options } = this.ctx;
    const warm = performance.now() + warmupSeconds(seconds) * 1000;
    let n = 0;
    while (performance.now() < warm || n < 3) {
      await detector.infer(this.frame, options);
      n++;
    }
    const cpu = new CpuMeter(this.ctx.exclude).start();
    const t0 = performance.now();
    n = 0;
    while (performance.now() - t0 < seconds * 1000 || n < 5) {
      const r = await detector.infer(this.frame, options);
      this.stages.preprocess.add(r.timings.preprocess_ms);
      this.stages.inference.add(r.timings.inference_ms);
      this.stages.postprocess.add(r.timings.postprocess_ms);
      n++;
    }
    const elapsed = (performance.now() - t0) / 1000;
    this.spans.push({ frames: n, seconds: elapsed, cpu: cpu.stop() });
    this.frames += n;
    this.elapsed += elapsed;
    return n / elapsed;
  }

  result(): InferenceOnlyResult {
    const elapsed = Math.max(this.elapsed, 1e-3);
    return {
      fps: this.frames / elapsed,
      frames: this.frames,
      spansFps: this.spans.map((s) => Number((s.frames / s.seconds).toFixed(2))),
      stages: summarizeStages(this.stages, elapsed),
      cpu: timeWeightedCpu(this.spans.map((s) => ({ cpu: s.cpu, seconds: s.seconds }))),
    };
  }
}

/** CPU figures of several spans as one, each weighted by its length. */
export function timeWeightedCpu(spans: Array<{ cpu: CpuFigures; seconds: number }>): CpuFigures {
  const total = spans.reduce((a, s) => a + s.seconds, 0) || 1;
  const mean = (pick: (c: CpuFigures) => number) => Math.round((spans.reduce((a, s) => a + pick(s.cpu) * s.seconds, 0) / total) * 10) / 10;
  const children = spans.every((s) => s.cpu.children_percent !== null) ? mean((c) => c.children_percent ?? 0) : null;
  return {
    process_percent: mean((c) => c.process_percent),
    children_percent: children,
    total_percent: mean((c) => c.total_percent),
    machine_percent: mean((c) => c.machine_percent),
    cores: spans[0]?.cpu.cores ?? 1,
  };
}

export interface PipelinedResult {
  fps: number;
  frames: number;
  /** frames the detector ran on (fewer than frames with an interval) */
  inferred: number;
  elapsed: number;
  cameraFps: number[];
  /** stage timings of the first camera (every camera runs the same stages on the same file) */
  stages: Partial<Record<StageName, StageSummary>>;
  cpu: CpuFigures;
  /**
   * `trend`: after a warm-up of the first third of the run (V8 sizes its heap and the allocator
   * settles over the first minutes); `early_trend`: after the first minute (at most a third), for comparison
   */
  memory: { every_s: number; samples: RssSample[]; trend: RssTrend; early_trend: RssTrend; max_children_rss_mb: number | null } | null;
  /** size of the first camera's recording per frame written to it (KiB) */
  recordingKbPerFrame: number | null;
  /** event-loop delay over the measured span (a 10 ms timer: an idle loop shows about 10-11 ms a turn) */
  eventLoop: { max_ms: number; p99_ms: number; mean_ms: number };
}

/**
 * What a bench camera's annotated frames feed, as the daemon wires it (sinks/camera-output.ts):
 * `record`: the recorder alone (one encode, muxed into an MP4 segment); `all`: the recorder, the
 * RTSP stream with one playing client, and one live viewer, all on the same encode; `two-encodes`:
 * the design before it, a second encoder on the same frames for the RTSP stream (and its client);
 * `raw`: record.mode raw, the file's own stream copied into the segment and the detections beside
 * it (no drawing, no encode).
 */
export type OutputMode = 'record' | 'all' | 'two-encodes' | 'raw';

/** The live viewer of the bench: the web UI's fragmented MP4 (media/fmp4.ts: an init segment, a fragment per picture) through a loopback socket. */
class BenchViewer {
  private server: Server | null = null;
  private socket: Socket | null = null;
  bytes = 0;

  async open(): Promise<void> {
    this.server = createServer((peer) => peer.on('data', () => undefined)); // the browser's side: reads everything
    await new Promise<void>((r) => (this.server as Server).listen(0, '127.0.0.1', r));
    const port = (this.server.address() as { port: number }).port;
    this.socket = connect(port, '127.0.0.1');
    this.socket.on('error', () => undefined);
    await new Promise<void>((r) => (this.socket as Socket).once('connect', () => r()));
  }

  private sequence = 0;
  private started = false;

  send(unit: EncodedUnit): Promise<void> | void {
    const c = unit.config;
    const socket = this.socket as Socket;
    if (!this.started) {
      this.started = true;
      socket.write(initSegment({ avcC: c.avcC, width: c.width, height: c.height, timescale: c.timescale }));
    }
    const fragment = mediaFragment(++this.sequence, {
      data: avccUnit(unit),
      decodeTime: unit.pts * c.timescale,
      duration: c.timescale / (c.fps > 0 ? c.fps : 25),
      keyframe: unit.keyframe,
    });
    this.bytes += fragment.length;
    if (!socket.write(fragment)) return new Promise((r) => socket.once('drain', () => r()));
  }

  close(): void {
    this.socket?.destroy();
    this.server?.close();
  }
}

interface BenchOutputs {
  sink: (c: number, video: Parameters<NonNullable<PipelineSpec['sink']>>[0]) => FrameSink;
  /** the RTSP clients start once every camera streams */
  startClients(exclude: Set<number>): Promise<void>;
  /** bytes recorded by the first camera, and its frames */
  recorded(): { bytes: number; frames: number } | null;
  close(): Promise<void>;
}

async function benchOutputs(ctx: BenchContext, mode: OutputMode): Promise<BenchOutputs> {
  const server = mode === 'record' ? null : new RtspServer();
  if (server) await server.listen(0, '127.0.0.1');
  const viewers: BenchViewer[] = [];
  const clients: ChildProcess[] = [];
  const outs: CameraOutput[] = [];
  const logger = silentLogger();
  return {
    sink: (c, video) => {
      const name = `bench${c}`;
      const stream = new EncodedStream(name);
      const rtsp = server?.mount(name) ?? null;
      const out = new CameraOutput({
        camera: name,
        stream,
        video,
        live: video.live,
        record: { path: ctx.dir, segment_seconds: 86400, retain_days: 3650, min_free_percent: 0, preset: ctx.preset, mode: mode === 'raw' ? 'raw' : 'annotated' },
        rtsp: mode === 'all' ? rtsp : null,
        logger,
        copy: video.copy,
      });
      outs[c] = out;
      if (mode === 'all') {
        const viewer = new BenchViewer();
        viewers.push(viewer);
        void viewer.open().then(() => stream.subscribe((u) => viewer.send(u), { queueLimit: 64, name: 'bench viewer' }));
      }
      if (mode !== 'two-encodes' || !rtsp) return out;
      // the design before one encode: the RTSP output's own encoder on the same frames
      const second = new EncodedStream(`${name}-rtsp`);
      second.subscribe((u) => rtsp.push(u, u.pts), { queueLimit: 32 });
      const enc = new StreamEncoder(second, { width: video.width, height: video.height, fps: video.fpsRational, pixelFormat: video.pixelFormat, timescale: video.timescale }, logger);
      return {
        write: async (f, pts) => {
          await Promise.all([out.write(f, pts), enc.write(f, pts)]);
        },
        close: async () => {
          await enc.close();
          await out.close();
        },
      };
    },
    async startClients(exclude) {
      if (!server) return;
      for (const name of Object.keys(server.clientCounts())) {
        const client = spawn(ffmpegPath(), ['-v', 'error', '-rtsp_transport', 'tcp', '-i', `rtsp://127.0.0.1:${server.port}/${name}`, '-c', 'copy', '-f', 'null', '-'], {
          stdio: 'ignore',
        });
        if (client.pid) exclude.add(client.pid); // the viewer's work, not the daemon's
        clients.push(client);
      }
      const until = performance.now() + 20_000;
      while (Object.values(server.clientCounts()).some((n) => n < 1) && performance.now() < until) await new Promise((r) => setTimeout(r, 50));
    },
    recorded() {
      const out = outs[0];
      const file = out?.recorder?.written[0];
      if (!out || !file) return null; // raw: the camera's own stream, not ours
      try {
        return { bytes: statSync(file).size, frames: out.encoder.frames };
      } catch {
        return null;
      }
    },
    async close() {
      for (const c of clients) c.kill('SIGKILL');
      for (const v of viewers) v.close();
      await server?.close();
    },
  };
}

/** Sleeps `ms`, or less when one of `runs` settles first (a camera failed or its file ended). */
function sleepUnlessEnded(ms: number, runs: Array<Promise<unknown>>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([new Promise<void>((r) => (timer = setTimeout(r, ms))), ...runs.map((p) => p.then(() => undefined))]).finally(() => clearTimeout(timer));
}

/**
 * The pipelined engine: `cameras` CameraPipelines decoding the same looping file, sharing the
 * detector through the daemon's FairDetector (round-robin), each recording to an MP4 and
 * publishing every inferred frame. `rssEvery` (seconds)
 * turns on the memory trend: RSS samples from the start, slope after a warm-up.
 */
export async function pipelined(ctx: BenchContext, seconds: number, cameras: number, rssEvery: number | null, mode: OutputMode = 'record'): Promise<PipelinedResult> {
  const publish = publishFn(ctx.publisher);
  const outputs: CameraOutputs = {
    status: (camera, status) => ctx.publisher?.publishCameraStatus(camera, status),
    detections: publish,
  };
  const pipes: CameraPipeline[] = [];
  const sinks = await benchOutputs(ctx, mode);
  const exclude = new Set(ctx.exclude);
  // as in the daemon: one detector, served to the cameras in turn
  const fair = new FairDetector(ctx.detector);
  for (let c = 0; c < cameras; c++) {
    pipes.push(
      new CameraPipeline(
        `bench${c}`,
        {
          source: ctx.input,
          loop: true,
          detect: { threshold: ctx.options.threshold, nms_iou: ctx.options.nmsIou, classes: ctx.options.classes, interval: ctx.interval, top_k: ctx.options.topK },
          // as the daemon runs a camera: tracked
          track: DEFAULT_TRACK,
          publishAll: true,
          // record.mode raw: the source also copies the file's own stream
          ...(mode === 'raw' ? { sourceOptions: { copy: true } } : {}),
          // the daemon's outputs: one encode, recorded (and, by mode, RTSP and a live viewer)
          sink: (video) => sinks.sink(c, video),
        },
        fair.forCamera(`bench${c}`),
        outputs,
        silentLogger(),
      ),
    );
  }
  const rss = rssEvery ? new RssSampler(rssEvery, ctx.exclude) : null;
  const runs = pipes.map((p) => p.run());
  const failure = () => pipes.find((p) => p.currentState === 'error' || p.currentState === 'ended');
  try {
    // warm-up: every camera has written frames (its ffmpeg processes are up), then a little more
    const deadline = performance.now() + 120_000;
    while (!failure() && pipes.some((p) => p.stats().frames < 2) && performance.now() < deadline) await sleepUnlessEnded(50, runs);
    if (pipes.some((p) => p.stats().frames < 2) && !failure()) throw new RuntimeFailure(`${ctx.input}: no frame came through the pipeline within 120 s`);
    await sinks.startClients(exclude);
    await sleepUnlessEnded(warmupSeconds(seconds) * 1000, runs);
    for (const p of pipes) for (const s of Object.values(p.timings)) s.reset();
    const frames0 = pipes.map((p) => p.stats().frames);
    const inferred0 = pipes.reduce((a, p) => a + p.stats().inferred, 0);
    const cpu = new CpuMeter(exclude).start();
    const loop = new LoopDelayMonitor();
    const t0 = performance.now();
    if (!failure()) await sleepUnlessEnded(seconds * 1000, runs);
    const elapsed = (performance.now() - t0) / 1000;
    const eventLoop = loop.overall();
    loop.stop();
    const cameraFrames = pipes.map((p, i) => p.stats().frames - frames0[i]);
    const inferred = pipes.reduce((a, p) => a + p.stats().inferred, 0) - inferred0;
    const cpuFigures = cpu.stop();
    const stages = summarizeStages(pipes[0].timings, elapsed);
    rss?.stop();
    await Promise.all(pipes.map((p) => p.stop()));
    await Promise.all(runs);
    const bad = pipes.find((p) => p.currentState === 'error');
    if (bad) throw new RuntimeFailure(bad.error ?? `${ctx.input}: the bench pipeline failed`);
    const frames = cameraFrames.reduce((a, b) => a + b, 0);
    const recorded = sinks.recorded();
    const recordingKbPerFrame = recorded && recorded.frames > 0 ? Number((recorded.bytes / 1024 / recorded.frames).toFixed(2)) : null;
    const run = seconds + warmupSeconds(seconds);
    const memory =
      rss && rssEvery
        ? { every_s: rssEvery, samples: rss.samples, trend: rss.trend(run / 3), early_trend: rss.trend(Math.min(60, run / 3)), max_children_rss_mb: rss.maxChildrenMb }
        : null;
    return { fps: frames / elapsed, frames, inferred, elapsed, cameraFps: cameraFrames.map((f) => Number((f / elapsed).toFixed(2))), stages, cpu: cpuFigures, memory, recordingKbPerFrame, eventLoop };
  } finally {
    rss?.stop();
    await Promise.all(pipes.map((p) => p.stop()));
    await Promise.allSettled(runs);
    await sinks.close();
  }
}

export interface SequentialResult {
  fps: number;
  frames: number;
  stages: Partial<Record<StageName, StageSummary>>;
  cpu: CpuFigures;
  /** the decoder and encoder were held stopped outside their own stages */
  held: boolean;
}

/**
 * The classic loop as the baseline: read a frame -> preprocess + infer + postprocess -> publish ->
 * draw -> encode, one frame at a time, nothing overlapping in this process (same interval).
 *
 * `hold`: the stages also run strictly one after another outside this process, as in a loop that
 * decodes and encodes in-process: the ffmpeg decoder runs only while the loop waits for the next
 * frame, the encoder only from the moment a frame is handed to it until it has done what that
 * frame gave it to do (every thread asleep), each held stopped the rest of the time (ProcessGate).
 * Without it the two ffmpeg processes work on other frames while the detector runs, a loop that
 * already overlaps decode and encode with inference.
 */
export async function sequential(ctx: BenchContext, seconds: number, { hold }: { hold: boolean }): Promise<SequentialResult> {
  const publish = publishFn(ctx.publisher);
  const decoder = new ProcessGate('decoder');
  const encoder = new ProcessGate('encoder');
  // a process started inside a stage's window is that stage's: nothing else runs then
  let window: ProcessGate | null = null;
  const stopAdopting = hold ? onMediaSpawn((proc) => window?.adopt(proc)) : () => undefined;
  const enter = (gate: ProcessGate) => {
    if (!hold) return;
    window = gate;
    gate.resume();
  };
  const leave = (gate: ProcessGate, untilIdle: boolean) => {
    if (!hold) return;
    if (untilIdle) gate.waitIdle();
    gate.pause();
    window = null;
  };
  const src = await openSource(ctx.input, { loop: true });
  const frames = src.frames()[Symbol.asyncIterator]();
  // made in the first encode stage, so that its ffmpeg starts inside that stage's window
  let w: Mp4Writer | null = null;
  const stages: StageTimings = stageTimings();
  const every = ctx.interval + 1;
  const warmEnd = performance.now() + warmupSeconds(seconds) * 1000;
  let measuring = false;
  let cpu = new CpuMeter(ctx.exclude);
  let t0 = performance.now();
  let counted = 0;
  let last: Detection[] = [];
  try {
    for (;;) {
      let s = performance.now();
      enter(decoder);
      const next = await frames.next();
      leave(decoder, false);
      if (next.done) break;
      const frame = next.value;
      stages.decode.add(performance.now() - s);
      if (frame.index % every === 0) {
        const r = await ctx.detector.infer(frame, ctx.options);
        last = r.detections;
        stages.preprocess.add(r.timings.preprocess_ms);
        stages.inference.add(r.timings.inference_ms);
        stages.postprocess.add(r.timings.postprocess_ms);
        s = performance.now();
        publish('sequential', detectionMessage('sequential', frame, r.detections, r.timings.inference_ms));
        stages.publish.add(performance.now() - s);
      }
      s = performance.now();
      if (last.length) await native.draw(frame.data, frame.width, frame.height, drawBoxes(last), frame.format);
      stages.draw.add(performance.now() - s);
      s = performance.now();
      enter(encoder);
      w ??= new Mp4Writer(join(ctx.dir, hold ? 'sequential.mp4' : 'sequential-overlapped.mp4'), { width: src.info.width, height: src.info.height, fps: src.info.fpsRational, pixelFormat: src.info.pixelFormat, timescale: src.info.timescale, preset: ctx.preset });
      await w.write(frame.data, frame.pts);
      leave(encoder, true);
      stages.encode.add(performance.now() - s);
      src.pool.release(frame.data);
      const now = performance.now();
      if (!measuring && now >= warmEnd) {
        measuring = true;
        for (const st of Object.values(stages)) st.reset();
        cpu = new CpuMeter(ctx.exclude).start();
        t0 = now;
        counted = 0;
      } else if (measuring) {
        counted++;
        if (now - t0 >= seconds * 1000) break;
      }
    }
  } finally {
    stopAdopting();
    decoder.resume();
    encoder.resume();
    src.stop();
  }
  const elapsed = (performance.now() - t0) / 1000;
  const cpuFigures = cpu.stop();
  await w?.finish();
  if (src.truncated) throw new RuntimeFailure(src.truncated);
  if (!measuring) throw new RuntimeFailure(`${ctx.input}: the sequential baseline ended before it could measure`);
  const unheld = [decoder, encoder].find((g) => g.adopted === 0);
  if (hold && unheld) {
    throw new RuntimeFailure(`bench: the classic loop did not see its ${unheld.name} process start, so it could not hold it between stages`);
  }
  return { fps: counted / elapsed, frames: counted, stages: summarizeStages(stages, elapsed), cpu: cpuFigures, held: hold };
}
