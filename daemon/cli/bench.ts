import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openBenchMqtt } from '../bench/bench-broker.js';
import { describeMachine } from '../bench/machine.js';
import { daemonMemoryRun } from '../bench/daemon-memory.js';
import { loadConfig } from '../config/load.js';
import {
  firstFrame,
  InferenceOnly,
  pipelined,
  sequential,
  STAGES,
  type BenchContext,
  type OutputMode,
  type PipelinedResult,
  type SequentialResult,
} from '../bench/phases.js';
import { RssSampler } from '../bench/rss-sampler.js';
import { ConfigError, RuntimeFailure, errorMessage } from '../core/errors.js';
import { fileWriteProblem, packageRoot } from '../core/files.js';
import { X264_PRESETS } from '../media/x264.js';
import { DEFAULT_MEDIA_NICE, setMediaNice } from '../media/media-process.js';
import { DEFAULT_PRESET } from '../media/x264.js';
import { probeVideo } from '../media/probe.js';
import { parseCommandArgs, type Command } from './args.js';
import { numberOption, openModelFromArgs } from './model-options.js';

const HELP = `Usage: trt-detect bench -m MODEL [-i INPUT] [--seconds N] [--cameras N] [--interval N] [--sequential]
                        [--outputs] [--nice N] [--preset NAME] [--mqtt URL|none] [--loop-minutes N] [--json FILE] [-c FILE]
       trt-detect bench --daemon-memory -m MODEL -i CLIP [--loop-minutes N] [--rss-every S] [--mqtt URL|none] [--json FILE]

Measures the pipelined engine on a video file (looped) with recording to a temporary MP4 and
every inferred frame published over MQTT: per-stage latency (decode, preprocess, inference,
postprocess, draw, encode, publish: mean, p50, p99), end-to-end FPS, CPU% (this process and its
ffmpeg children) and RSS. In the same run it measures the detector alone (inference_fps; half
before and half after the other phases, so a machine whose speed drifts biases the ratio less)
and, with --sequential, the classic one-frame-at-a-time loop, so ratios come from one run on one
machine. The classic loop runs its stages strictly one after another: its ffmpeg decoder and
encoder are held stopped (SIGSTOP) outside their own stages, as if they ran in-process; the same
loop with them running free (sequential_overlapped_fps) is measured too.

Options:
  -m, --model MODEL    model (default: model.path of -c)
  -i, --input FILE     video file (default: the bundled samples/traffic.mp4)
  --seconds N          seconds measured per phase, after a short warm-up (default 20)
  --cameras N          cameras decoding the same file at once, sharing the detector (default 1)
  --interval N         detect.interval: run the detector on every N+1-th frame (default from -c, else 0)
  --sequential         also run the sequential baseline (both ways)
  --outputs            also measure the video outputs, --seconds each: recording alone; recording +
                       RTSP out (one playing client) + one live viewer on the same encode; and the
                       design before it, a second encoder for RTSP; and record.mode raw (the
                       file's own stream copied, detections beside it). Reports CPU ms per frame
                       and the ratios to recording alone (the RTSP client's own CPU is not counted)
  --nice N             media.nice: the decoders and encoders run N steps nicer than the detector
                       (0-19; default from -c, else 10); 0 measures them at equal priority
  --preset NAME        libx264 preset of the recording (record.preset: ultrafast .. veryslow;
                       default ultrafast, the daemon's); not used by a Jetson's hardware encoder
  --mqtt URL|none      publish to this broker; default: a private mosquitto on a free port when
                       mosquitto is installed, else nowhere (the JSON says which)
  --loop-minutes N     memory run: the pipelined phase runs N minutes (fractions allowed) and RSS is
                       sampled every --rss-every seconds; reports the RSS slope after a warm-up of
                       the first third of the run (and after the first minute, for comparison)
  --rss-every S        seconds between RSS samples of the memory run (default 5)
  --daemon-memory      the memory step instead: the real daemon (trt-detect run) with one camera on
                       CLIP (looped at its own frame rate), recording, the annotated RTSP stream
                       with one RTSP client watching, one live viewer of the web UI (logged in,
                       the fMP4 WebSocket read throughout), tracking, events and snapshots, MQTT; its
                       RSS (and its ffmpeg children's) every --rss-every seconds for
                       --loop-minutes (default 15), the slope after the first third
  --json FILE          write the results as JSON
  -c, --config FILE    use this config's model and detect sections
`;

const r2 = (v: number) => Number(v.toFixed(2));
const ratio = (a: number, b: number) => (b > 0 ? r2(a / b) : null);
const sequentialJson = (s: SequentialResult) => ({
  fps: r2(s.fps),
  frames: s.frames,
  held: s.held,
  stages: s.stages,
  cpu: s.cpu,
  cpu_ms_per_frame: s.fps > 0 ? r2((s.cpu.total_percent * 10) / s.fps) : null,
});

const outputJson = (p: PipelinedResult) => ({
  fps: r2(p.fps),
  frames: p.frames,
  cpu_percent: p.cpu.total_percent,
  cpu_ms_per_frame: p.fps > 0 ? r2((p.cpu.total_percent * 10) / p.fps) : null,
  cpu: p.cpu,
  encode_ms: p.stages.encode?.mean_ms ?? null,
});
/** --outputs: each mode's figures, and CPU per frame against recording alone */
function outputsJson(o: Record<OutputMode, PipelinedResult>) {
  const [record, all, two, raw] = [outputJson(o.record), outputJson(o.all), outputJson(o['two-encodes']), outputJson(o.raw)];
  const vs = (x: number | null) => (x !== null && record.cpu_ms_per_frame ? ratio(x, record.cpu_ms_per_frame) : null);
  return {
    record,
    all,
    two_encodes: two,
    raw,
    all_vs_record: vs(all.cpu_ms_per_frame),
    two_encodes_vs_record: vs(two.cpu_ms_per_frame),
    /** record.mode raw against annotated recording (recording alone) on the same clip */
    raw_vs_annotated: vs(raw.cpu_ms_per_frame),
  };
}

/** model.path of a config file (the daemon of the memory run reads the model itself). */
function modelOfConfig(file: string): string {
  return loadConfig(file).model.path;
}

/** `--daemon-memory`: the real daemon's RSS over time (daemon-memory.ts). */
async function daemonMemory(
  model: string,
  input: string,
  minutes: number,
  every: number,
  mqttArg: string | undefined,
  json: string | undefined,
): Promise<number> {
  if (!model) throw new ConfigError('trt-detect bench --daemon-memory: -m MODEL is required (or -c CONFIG with model.path)');
  if (!existsSync(model)) throw new ConfigError(`${model}: model file not found (check -m)`);
  const log = (s: string) => process.stderr.write(`bench: ${s}\n`);
  const dir = mkdtempSync(join(tmpdir(), 'trt-detect-bench-memory-'));
  const mqtt = await openBenchMqtt(mqttArg);
  try {
    // the bench's own publisher is not needed: the daemon connects to the broker itself
    await mqtt.publisher?.close();
    const r = await daemonMemoryRun({ model: resolve(model), input: resolve(input), minutes, everySeconds: every, dir, mqttUrl: mqtt.url, log });
    const t = r.trend;
    const lv = r.live_viewer;
    const settled = r.samples.filter((x) => x.t_s >= (minutes * 60) / 3);
    const heap = settled.flatMap((x) => (x.heap_used_mb != null ? [x.heap_used_mb] : []));
    const buffers = settled.flatMap((x) => (x.array_buffers_mb != null ? [x.array_buffers_mb] : []));
    const range = (v: number[]) => `${Math.min(...v)}..${Math.max(...v)}`;
    const lines = [
      `memory run (the daemon: ${r.parts.join(', ')}), ${minutes} min on ${input}, MQTT ${mqtt.mode}`,
      `daemon RSS ${t.min_mb}..${t.max_mb} MB after the first third (max ${r.max_rss_mb} MB over the run); slope ${t.slope_mb_per_min} ± ${t.slope_ci95_mb_per_min} MB/min (95%, ${t.block_s}s means), growth ${t.growth_mb} MB over ${t.span_s}s; per-minute peaks ${t.minute_peaks_mb.join(', ') || 'n/a'} MB`,
      `ffmpeg children RSS max ${r.max_children_rss_mb} MB; frames processed ${r.frames ?? 'n/a'}; RTSP viewer ${r.viewer_running ? 'watching' : 'not watching'} at the end${r.viewer_exits.length ? `, its connection ended ${r.viewer_exits.length} time(s) (last: ${r.viewer_exits[r.viewer_exits.length - 1]})` : ', never dropped'}; ${r.samples.length} samples`,
      `live viewer (web UI WebSocket): ${lv.fragments} fragments, ${lv.init_segments} init segment(s), ${lv.messages} messages, ${(lv.bytes / 1048576).toFixed(1)} MB in ${lv.connections} connection(s)${lv.bad_messages ? `, ${lv.bad_messages} not MP4` : ''}; ${lv.connected ? 'watching' : 'not watching'} at the end${lv.drops.length ? `, dropped ${lv.drops.length} time(s) (last: ${lv.drops[lv.drops.length - 1]})` : ', never dropped'}`,
      ...(heap.length ? [`daemon main thread after the first third: V8 heap used ${range(heap)} MB, ArrayBuffers ${range(buffers)} MB`] : []),
      ...(r.parts_trend
        ? [
            `daemon RSS by part after the first third: anonymous ${r.parts_trend.anon.min_mb}..${r.parts_trend.anon.max_mb} MB, slope ${r.parts_trend.anon.slope_mb_per_min} ± ${r.parts_trend.anon.slope_ci95_mb_per_min} MB/min; file-backed ${r.parts_trend.file.min_mb}..${r.parts_trend.file.max_mb} MB, slope ${r.parts_trend.file.slope_mb_per_min} ± ${r.parts_trend.file.slope_ci95_mb_per_min} MB/min`,
          ]
        : []),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    if (json) {
      try {
        writeFileSync(
          json,
          `${JSON.stringify({ memory: { ...r, input, model, mqtt: mqtt.mode }, machine: describeMachine('onnxruntime'), date: new Date().toISOString() }, null, 2)}\n`,
        );
      } catch (err) {
        throw new RuntimeFailure(`${json}: cannot write the JSON results (${errorMessage(err)})`);
      }
    }
    return 0;
  } finally {
    await mqtt.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

export const benchCommand: Command = async (argv) => {
  const { values } = parseCommandArgs('bench', argv, {
    model: { type: 'string', short: 'm' },
    input: { type: 'string', short: 'i' },
    seconds: { type: 'string' },
    cameras: { type: 'string' },
    interval: { type: 'string' },
    sequential: { type: 'boolean' },
    outputs: { type: 'boolean' },
    nice: { type: 'string' },
    preset: { type: 'string' },
    mqtt: { type: 'string' },
    'loop-minutes': { type: 'string' },
    'rss-every': { type: 'string' },
    'daemon-memory': { type: 'boolean' },
    json: { type: 'string' },
    config: { type: 'string', short: 'c' },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const seconds = numberOption('bench', 'seconds', values.seconds, 1, 86400) ?? 20;
  const cameras = numberOption('bench', 'cameras', values.cameras, 1, 64) ?? 1;
  if (!Number.isInteger(cameras)) throw new ConfigError(`trt-detect bench: --cameras ${values.cameras}: expected a whole number from 1 to 64`);
  const loopMinutes = numberOption('bench', 'loop-minutes', values['loop-minutes'], 0.01, 1440);
  const rssEvery = numberOption('bench', 'rss-every', values['rss-every'], 0.25, 600) ?? 5;
  const intervalArg = numberOption('bench', 'interval', values.interval, 0, 1000);
  if (intervalArg !== undefined && !Number.isInteger(intervalArg))
    throw new ConfigError(`trt-detect bench: --interval ${values.interval}: expected a whole number from 0 to 1000`);
  const niceArg = numberOption('bench', 'nice', values.nice, 0, 19);
  if (niceArg !== undefined && !Number.isInteger(niceArg))
    throw new ConfigError(`trt-detect bench: --nice ${values.nice}: expected a whole number from 0 to 19`);
  const preset = values.preset ?? DEFAULT_PRESET;
  if (!(X264_PRESETS as readonly string[]).includes(preset))
    throw new ConfigError(`trt-detect bench: --preset ${preset}: expected one of ${X264_PRESETS.join(', ')}`);
  const jsonProblem = values.json ? fileWriteProblem(values.json) : null;
  if (jsonProblem) throw new ConfigError(`trt-detect bench: --json ${values.json}: cannot write (${jsonProblem})`);
  if (!values.model && !values.config) throw new ConfigError('trt-detect bench: -m MODEL is required (or -c CONFIG with model.path)');
  const input = values.input ?? join(packageRoot(), 'samples', 'traffic.mp4');
  if (!existsSync(input)) throw new RuntimeFailure(`${input}: not found (check -i)`);
  const video = await probeVideo(input);
  if (values['daemon-memory'])
    return daemonMemory(values.model ?? (values.config ? modelOfConfig(values.config) : ''), input, loopMinutes ?? 15, rssEvery, values.mqtt, values.json);

  const { config, detector, options, interval: cfgInterval } = await openModelFromArgs('bench', values, { withVideo: true });
  const interval = intervalArg ?? cfgInterval;
  const nice = niceArg ?? config?.media.nice ?? DEFAULT_MEDIA_NICE;
  setMediaNice(nice);
  const log = (s: string) => process.stderr.write(`bench: ${s}\n`);
  const dir = mkdtempSync(join(tmpdir(), 'trt-detect-bench-'));
  let mqtt: Awaited<ReturnType<typeof openBenchMqtt>> | null = null;
  let rss: RssSampler | null = null;
  try {
    mqtt = await openBenchMqtt(values.mqtt);
    const exclude = new Set(mqtt.brokerPid ? [mqtt.brokerPid] : []);
    rss = new RssSampler(5, exclude);
    const ctx: BenchContext = { detector, options, input, interval, dir, publisher: mqtt.publisher, exclude, preset };
    const machine = describeMachine(detector.info.backend);
    log(`${machine.cpu_model}, ${machine.cores} cores, ${detector.info.backend}; MQTT ${mqtt.mode}${mqtt.url ? ` ${mqtt.url}` : ''}`);

    // the detector alone in two halves, before and after the other phases (see InferenceOnly)
    const alone = new InferenceOnly(ctx, await firstFrame(input));
    log(`detector alone, ${seconds / 2}s ...`);
    await alone.measure(seconds / 2);
    const pipeSeconds = loopMinutes !== undefined ? loopMinutes * 60 : seconds;
    log(`pipelined, ${cameras} camera(s), interval ${interval}, ${pipeSeconds}s${loopMinutes !== undefined ? `, RSS every ${rssEvery}s` : ''} ...`);
    const pipe = await pipelined(ctx, pipeSeconds, cameras, loopMinutes !== undefined ? rssEvery : null);
    let seq: SequentialResult | null = null;
    let overlapped: SequentialResult | null = null;
    if (values.sequential) {
      log(`sequential baseline (the classic loop, decoder and encoder held between stages), ${seconds}s ...`);
      seq = await sequential(ctx, seconds, { hold: true });
      log(`sequential loop with the decoder and encoder running free, ${seconds}s ...`);
      overlapped = await sequential(ctx, seconds, { hold: false });
    }
    let outputs: Record<OutputMode, PipelinedResult> | null = null;
    if (values.outputs) {
      const run = async (mode: OutputMode, what: string) => {
        log(`outputs: ${what}, ${seconds}s ...`);
        return pipelined(ctx, seconds, cameras, null, mode);
      };
      const record = await run('record', 'recording alone');
      const all = await run('all', 'recording + RTSP out (one client) + one live viewer, one encode');
      const two = await run('two-encodes', 'recording + RTSP out with its own encoder (the design before one encode)');
      const raw = await run('raw', "record.mode raw: the clip's own stream copied, detections beside it (no drawing, no encode)");
      outputs = { record, all, 'two-encodes': two, raw };
    }
    log(`detector alone again, ${seconds / 2}s ...`);
    await alone.measure(seconds / 2);
    const inf = alone.result();
    const published = mqtt.publisher?.stats;
    const result = {
      fps: r2(pipe.fps),
      inference_fps: r2(inf.fps),
      ...(seq && overlapped ? { sequential_fps: r2(seq.fps), sequential_overlapped_fps: r2(overlapped.fps) } : {}),
      frames: pipe.frames,
      inferred_frames: pipe.inferred,
      fps_per_camera: r2(pipe.fps / cameras),
      camera_fps: pipe.cameraFps,
      pipelined_vs_inference: ratio(pipe.fps, inf.fps),
      ...(seq && overlapped ? { pipelined_vs_sequential: ratio(pipe.fps, seq.fps), pipelined_vs_sequential_overlapped: ratio(pipe.fps, overlapped.fps) } : {}),
      rss_mb: rss.maxMb,
      children_rss_mb: rss.maxChildrenMb,
      cpu_percent: pipe.cpu.total_percent,
      /** CPU time (process + ffmpeg children) per end-to-end frame: robust to other load on the machine */
      cpu_ms_per_frame: pipe.fps > 0 ? r2((pipe.cpu.total_percent * 10) / pipe.fps) : null,
      // inference and pixel work run off the event loop: MQTT, HTTP and the watchdog keep their turns
      event_loop: pipe.eventLoop,
      cpu: pipe.cpu,
      stages: pipe.stages,
      model: detector.info.path,
      backend: detector.info.backend,
      /** ONNX Runtime intra-op threads (0: its own default); null for TensorRT */
      model_threads: detector.info.threads ?? null,
      input: { file: input, width: video.width, height: video.height, fps: r2(video.fps) },
      cameras,
      interval,
      media_nice: nice,
      record_preset: preset,
      /** the first camera's recording: KiB per frame (warm-up included) */
      recording_kb_per_frame: pipe.recordingKbPerFrame,
      seconds: r2(pipe.elapsed),
      recording: true,
      mqtt: {
        mode: mqtt.mode,
        url: mqtt.url,
        publish: 'all_frames',
        published: published?.published ?? 0,
        dropped: published?.dropped ?? 0,
        ...(mqtt.note ? { note: mqtt.note } : {}),
      },
      inference_only: {
        fps: r2(inf.fps),
        frames: inf.frames,
        spans_fps: inf.spansFps,
        stages: inf.stages,
        cpu: inf.cpu,
        cpu_ms_per_frame: inf.fps > 0 ? r2((inf.cpu.total_percent * 10) / inf.fps) : null,
      },
      ...(seq && overlapped ? { sequential: sequentialJson(seq), sequential_overlapped: sequentialJson(overlapped) } : {}),
      ...(outputs ? { outputs: outputsJson(outputs) } : {}),
      ...(pipe.memory ? { memory: { minutes: loopMinutes, ...pipe.memory } } : {}),
      machine,
      date: new Date().toISOString(),
    };
    const lines = [
      `model ${result.model} (${result.backend}), input ${input} ${video.width}x${video.height}, ${cameras} camera(s), interval ${interval}, decoders/encoders at nice +${nice}, recording on (libx264 ${preset}), MQTT ${mqtt.mode}`,
      `end-to-end ${result.fps} FPS (${result.frames} frames in ${result.seconds}s${cameras > 1 ? `, ${result.fps_per_camera} per camera` : ''}), detector alone ${result.inference_fps} FPS (before / after: ${inf.spansFps.join(' / ')}), ratio ${result.pipelined_vs_inference}`,
      ...(seq && overlapped
        ? [
            `sequential baseline ${result.sequential_fps} FPS, pipelined/sequential ${result.pipelined_vs_sequential}; with the decoder and encoder running free ${result.sequential_overlapped_fps} FPS, pipelined/that ${result.pipelined_vs_sequential_overlapped}`,
          ]
        : []),
      `CPU ${pipe.cpu.total_percent}% of one core, ${result.cpu_ms_per_frame} ms per frame (process ${pipe.cpu.process_percent}%, ffmpeg children ${pipe.cpu.children_percent ?? 'n/a'}%; ${pipe.cpu.machine_percent}% of ${pipe.cpu.cores} cores)`,
      `RSS max ${result.rss_mb} MB (children ${result.children_rss_mb ?? 'n/a'} MB)`,
      ...(outputs
        ? (() => {
            const o = outputsJson(outputs);
            return [
              `outputs, CPU ms per frame: recording alone ${o.record.cpu_ms_per_frame} (${o.record.fps} FPS); + RTSP out + live viewer on one encode ${o.all.cpu_ms_per_frame} (${o.all.fps} FPS), ratio ${o.all_vs_record}; with a second encoder for RTSP (before) ${o.two_encodes.cpu_ms_per_frame} (${o.two_encodes.fps} FPS), ratio ${o.two_encodes_vs_record}`,
              `record.mode raw ${o.raw.cpu_ms_per_frame} CPU ms per frame (${o.raw.fps} FPS), ${o.raw_vs_annotated} × annotated recording`,
            ];
          })()
        : []),
      ...(pipe.memory
        ? [
            `memory run: RSS slope after ${pipe.memory.trend.warmup_s}s warm-up (the first third) ${pipe.memory.trend.slope_mb_per_min} ± ${pipe.memory.trend.slope_ci95_mb_per_min} MB/min (95%, over ${pipe.memory.trend.block_s}s means; per-minute peaks ${pipe.memory.trend.minute_peaks_mb.join(', ') || 'n/a'} MB; ${pipe.memory.trend.min_mb}..${pipe.memory.trend.max_mb} MB, ${pipe.memory.samples.length} samples); after ${pipe.memory.early_trend.warmup_s}s ${pipe.memory.early_trend.slope_mb_per_min} ± ${pipe.memory.early_trend.slope_ci95_mb_per_min} MB/min`,
          ]
        : []),
      'stage          mean ms   p50 ms   p99 ms    per s',
      ...STAGES.filter((k) => pipe.stages[k]).map((k) => {
        const v = pipe.stages[k]!;
        return `${k.padEnd(12)} ${String(v.mean_ms).padStart(8)} ${String(v.p50_ms).padStart(8)} ${String(v.p99_ms).padStart(8)} ${String(v.per_s).padStart(8)}`;
      }),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    if (values.json) {
      try {
        writeFileSync(values.json, `${JSON.stringify(result, null, 2)}\n`);
      } catch (err) {
        throw new RuntimeFailure(`${values.json}: cannot write the JSON results (${errorMessage(err)})`);
      }
    }
    return 0;
  } finally {
    rss?.stop();
    await mqtt?.close().catch(() => undefined);
    await detector.close();
    rmSync(dir, { recursive: true, force: true });
  }
};
