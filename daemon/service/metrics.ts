/**
 * What /healthz, /metrics and the systemd watchdog read from the running daemon (a `ServiceView`),
 * and the Prometheus text exposition format 0.0.4 that /metrics serves.
 */
import type { Config } from '../config/index.js';
import type { MqttStats } from '../sinks/mqtt-publisher.js';
import type { CameraPipeline, CameraStats } from './camera-pipeline.js';
import type { CameraState } from '../core/status.js';
import type { LatencyHistogram } from './rate.js';

/** One enabled camera as the service sees it. */
export interface CameraView {
  name: string;
  /** the pipeline's state; `stopped` = enabled in the config but no pipeline runs (e.g. during a reload) */
  state: CameraState | 'stopped';
  /** null when no pipeline runs */
  stats: CameraStats | null;
  /** frames the source delivered (before any drop) */
  decoded: number;
  /** inference latency since the pipeline started; null when no pipeline runs */
  inference: LatencyHistogram | null;
  /** the last failure (state `error`) */
  error: string | null;
  /** increases with every frame the pipeline finishes (recorded/published): the watchdog's progress counter */
  progress: number;
}

/** Read-only, side-effect-free view of a running daemon. */
export interface ServiceView {
  cameras(): CameraView[];
  /** null when MQTT is disabled */
  mqtt(): MqttStats | null;
  /** playing RTSP output clients per camera (absent or empty without the RTSP server) */
  rtspClients?(): Record<string, number>;
}

/** The part of Daemon the view needs (daemon/service/daemon.ts). */
export interface DaemonLike {
  readonly activeConfig: Config;
  readonly cameraPipelines: ReadonlyMap<string, CameraPipeline>;
  readonly mqttStats: MqttStats | null;
  readonly rtspClients?: Record<string, number>;
}

/** A ServiceView over a Daemon: every enabled camera of its current config, running or not. */
export function daemonView(daemon: DaemonLike): ServiceView {
  return {
    cameras() {
      const out: CameraView[] = [];
      const pipelines = daemon.cameraPipelines;
      for (const [name, cam] of Object.entries(daemon.activeConfig.cameras)) {
        if (!cam.enabled) continue;
        const p = pipelines.get(name);
        if (!p) {
          out.push({ name, state: 'stopped', stats: null, decoded: 0, inference: null, error: null, progress: 0 });
          continue;
        }
        const stats = p.stats();
        out.push({
          name,
          state: stats.state,
          stats,
          decoded: p.timings.decode.count,
          inference: p.timings.inference.histogram(),
          error: p.error,
          progress: stats.frames,
        });
      }
      return out;
    },
    mqtt() {
      return daemon.mqttStats;
    },
    rtspClients() {
      return daemon.rtspClients ?? {};
    },
  };
}

/** Process figures for /metrics (sampled by the caller so tests can pass fixed ones). */
export interface ProcessFigures {
  rssBytes: number;
  /** the main thread's V8 heap and the memory outside it (process.memoryUsage); absent: not reported */
  heap?: { usedBytes: number; totalBytes: number; externalBytes: number; arrayBuffersBytes: number };
  /** glibc's malloc arenas (native addon); absent: not reported */
  mallocArenas?: number;
  startTimeSeconds: number;
  /** event-loop delay since the previous scrape */
  loopDelay: { p99_ms: number; max_ms: number };
}

type Labels = Record<string, string>;

/** Label values escaped as the exposition format wants: backslash, double quote, newline. */
function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function formatLabels(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** Builds a text exposition (version 0.0.4): one HELP/TYPE block per metric family. */
export class PrometheusText {
  private readonly lines: string[] = [];

  private family(name: string, type: 'counter' | 'gauge' | 'histogram', help: string): void {
    this.lines.push(`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} ${type}`);
  }

  private sample(name: string, labels: Labels, value: number): void {
    this.lines.push(`${name}${formatLabels(labels)} ${formatValue(value)}`);
  }

  /** A family with one sample per label set; nothing is written when `samples` is empty. */
  metric(name: string, type: 'counter' | 'gauge', help: string, samples: Array<[Labels, number]>): this {
    if (!samples.length) return this;
    this.family(name, type, help);
    for (const [labels, value] of samples) this.sample(name, labels, value);
    return this;
  }

  counter(name: string, help: string, samples: Array<[Labels, number]>): this {
    return this.metric(name, 'counter', help, samples);
  }

  gauge(name: string, help: string, samples: Array<[Labels, number]>): this {
    return this.metric(name, 'gauge', help, samples);
  }

  /** Histograms in seconds from millisecond buckets (cumulative counts). */
  histogramSeconds(name: string, help: string, series: Array<[Labels, LatencyHistogram]>): this {
    if (!series.length) return this;
    this.family(name, 'histogram', help);
    for (const [labels, h] of series) {
      h.bounds_ms.forEach((b, i) => this.sample(`${name}_bucket`, { ...labels, le: formatValue(b / 1000) }, h.counts[i]));
      this.sample(`${name}_bucket`, { ...labels, le: '+Inf' }, h.count);
      this.sample(`${name}_sum`, labels, h.sum_ms / 1000);
      this.sample(`${name}_count`, labels, h.count);
    }
    return this;
  }

  toString(): string {
    return this.lines.length ? `${this.lines.join('\n')}\n` : '';
  }
}

/** The states a camera can be in, each exported as trt_detect_camera_state{state=...} 0/1. */
const STATES: Array<CameraView['state']> = ['starting', 'streaming', 'reconnecting', 'ended', 'error', 'stopped'];

/** The /metrics body. */
export function renderMetrics(view: ServiceView, proc: ProcessFigures): string {
  const cams = view.cameras();
  const running = cams.filter((c): c is CameraView & { stats: CameraStats } => c.stats !== null);
  const per = (pick: (c: CameraView & { stats: CameraStats }) => number): Array<[Labels, number]> => running.map((c) => [{ camera: c.name }, pick(c)]);
  const t = new PrometheusText();
  t.gauge(
    'trt_detect_camera_state',
    'Camera state: 1 for the state the camera is in, 0 for the others.',
    cams.flatMap((c) => STATES.map((s): [Labels, number] => [{ camera: c.name, state: s }, c.state === s ? 1 : 0])),
  );
  t.counter(
    'trt_detect_frames_decoded_total',
    'Frames the source delivered since the camera pipeline started.',
    running.map((c) => [{ camera: c.name }, c.decoded]),
  );
  t.counter(
    'trt_detect_frames_processed_total',
    'Frames recorded/published (every stage done) since the camera pipeline started.',
    per((c) => c.stats.frames),
  );
  t.counter(
    'trt_detect_frames_inferred_total',
    'Frames the detector ran on (see detect.interval).',
    per((c) => c.stats.inferred),
  );
  t.counter(
    'trt_detect_frames_dropped_total',
    'Frames a live source dropped because the pipeline was behind.',
    per((c) => c.stats.dropped),
  );
  t.gauge(
    'trt_detect_camera_fps',
    'Processed frames per second over the last 5 s.',
    per((c) => c.stats.fps),
  );
  t.gauge(
    'trt_detect_queue_depth',
    'Frames waiting between pipeline stages.',
    per((c) => c.stats.queue_depth),
  );
  t.counter(
    'trt_detect_source_reconnects_total',
    'Reconnect attempts of a live source after it lost (or could not reach) its camera.',
    per((c) => c.stats.reconnects),
  );
  t.histogramSeconds(
    'trt_detect_inference_seconds',
    'Detector inference latency per frame.',
    running.filter((c) => c.inference).map((c) => [{ camera: c.name }, c.inference as LatencyHistogram]),
  );
  // ---- recording (sinks/recorder.ts): isolated from the camera, retried by itself after a failure ----
  const recording = running.filter((c) => c.stats.recording_enabled);
  t.gauge(
    'trt_detect_recording',
    'Recording: 1 while a segment is being written, 0 while recording failed (it retries by itself) or waits for its first keyframe.',
    recording.map((c) => [{ camera: c.name }, c.stats.recording !== null && !c.stats.recording_error ? 1 : 0]),
  );
  t.counter(
    'trt_detect_recording_errors_total',
    'Times recording stopped on a failure (a full disk, a folder that cannot be written); a series of failed retries counts once.',
    recording.map((c) => [{ camera: c.name }, c.stats.recording_errors ?? 0]),
  );
  t.gauge(
    'trt_detect_video_consumers',
    "Consumers of the camera's one H.264 encode now: the recorder, the RTSP stream, live viewers.",
    per((c) => c.stats.video_consumers ?? 0),
  );
  t.counter(
    'trt_detect_video_dropped_total',
    'Encoded pictures consumers of the camera dropped because they fell behind (each its own; they resume at the next keyframe).',
    per((c) => c.stats.video_dropped ?? 0),
  );
  t.gauge(
    'trt_detect_rtsp_clients',
    'Clients playing the annotated RTSP output of a camera.',
    Object.entries(view.rtspClients?.() ?? {}).map(([camera, n]): [Labels, number] => [{ camera }, n]),
  );
  const mqtt = view.mqtt();
  if (mqtt) {
    t.gauge('trt_detect_mqtt_connected', '1 while connected to the MQTT broker.', [[{}, mqtt.connected ? 1 : 0]]);
    t.gauge('trt_detect_mqtt_queue_depth', 'MQTT messages waiting for the broker.', [[{}, mqtt.queued]]);
    t.counter('trt_detect_mqtt_dropped_total', 'MQTT messages dropped because the queue was full.', [[{}, mqtt.dropped]]);
    t.counter('trt_detect_mqtt_published_total', 'MQTT messages handed to the broker.', [[{}, mqtt.published]]);
    t.counter('trt_detect_mqtt_reconnects_total', 'Times the MQTT connection was re-established.', [[{}, mqtt.reconnects]]);
  }
  t.gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', [[{}, proc.rssBytes]]);
  if (proc.heap) {
    t.gauge('nodejs_heap_size_used_bytes', 'V8 heap in use (main thread).', [[{}, proc.heap.usedBytes]]);
    t.gauge('nodejs_heap_size_total_bytes', 'V8 heap reserved (main thread).', [[{}, proc.heap.totalBytes]]);
    t.gauge('nodejs_external_memory_bytes', 'Memory outside the V8 heap that JavaScript objects of the main thread hold (Buffers included).', [
      [{}, proc.heap.externalBytes],
    ]);
    t.gauge('nodejs_array_buffers_bytes', 'ArrayBuffers and Buffers of the main thread (frame buffers among them).', [[{}, proc.heap.arrayBuffersBytes]]);
  }
  if (proc.mallocArenas !== undefined)
    t.gauge('trt_detect_malloc_arenas', 'malloc arenas of the process (glibc; capped at 2 unless MALLOC_ARENA_MAX says otherwise).', [[{}, proc.mallocArenas]]);
  t.gauge('process_start_time_seconds', 'Start time of the process since the Unix epoch in seconds.', [[{}, proc.startTimeSeconds]]);
  t.gauge('trt_detect_event_loop_delay_p99_seconds', 'Event-loop delay, 99th percentile since the previous scrape.', [[{}, proc.loopDelay.p99_ms / 1000]]);
  t.gauge('trt_detect_event_loop_delay_max_seconds', 'Event-loop delay, maximum since the previous scrape.', [[{}, proc.loopDelay.max_ms / 1000]]);
  return t.toString();
}
