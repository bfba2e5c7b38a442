import { readFileSync } from 'node:fs';
import { diffConfigs, type Config, type ConfigDiff } from '../config/index.js';
import { openDetector } from '../detect/open.js';
import type { Detector } from '../detect/types.js';
import { RuntimeFailure, errorMessage } from '../errors.js';
import { MqttPublisher } from '../sinks/mqtt-publisher.js';
import { SegmentRecorder } from '../sinks/recorder.js';
import { CameraPipeline, type CameraOutputs, type PipelineSpec } from './camera-pipeline.js';
import type { Logger } from './log.js';
import { LoopDelayMonitor } from './loop-delay.js';
import * as native from '../native.js';

export interface DaemonOptions {
  config: Config;
  logger: Logger;
  exitWhenDone: boolean;
}

function readSecretFile(file: string | null, what: string): Buffer | undefined {
  if (!file) return undefined;
  try {
    return readFileSync(file);
  } catch (err) {
    throw new RuntimeFailure(`${file}: cannot read ${what} (${errorMessage(err)})`);
  }
}

/** Opens the MQTT publisher from the config (password_file, TLS files). */
export async function connectMqtt(cfg: Config['mqtt'], logger: Logger): Promise<MqttPublisher> {
  const password = cfg.password ?? readSecretFile(cfg.password_file, 'mqtt.password_file')?.toString('utf8').trim();
  return MqttPublisher.connect({
    url: cfg.url,
    topicPrefix: cfg.topic_prefix,
    qos: cfg.qos,
    ...(cfg.client_id ? { clientId: cfg.client_id } : {}),
    ...(cfg.username ? { username: cfg.username } : {}),
    ...(password ? { password } : {}),
    ca: readSecretFile(cfg.ca, 'mqtt.ca'),
    cert: readSecretFile(cfg.cert, 'mqtt.cert'),
    key: readSecretFile(cfg.key, 'mqtt.key'),
    queueLimit: cfg.queue_limit,
    retainStatus: cfg.retain_status,
    logger,
  });
}

export function openConfiguredDetector(cfg: Config): Promise<Detector> {
  const m = cfg.model;
  return openDetector({
    modelPath: m.path,
    backend: m.backend,
    labels: m.labels,
    layout: m.layout,
    input: m.input,
    threads: m.threads,
  });
}

/**
 * The daemon: one shared detector, one pipeline per camera, MQTT status/detections/stats.
 * Resolves to the process exit code (SPEC section 2) after a clean stop.
 */
export class Daemon {
  private detector: Detector | null = null;
  private publisher: MqttPublisher | null = null;
  private readonly pipelines = new Map<string, { pipeline: CameraPipeline; done: Promise<unknown> }>();
  private statsTimer: NodeJS.Timeout | null = null;
  private readonly loop = new LoopDelayMonitor();
  private stopping: Promise<number> | null = null;
  private readonly startedAt = Date.now();

  private config: Config;

  constructor(private readonly opts: DaemonOptions) {
    this.config = opts.config;
  }

  get logger(): Logger {
    return this.opts.logger;
  }

  async start(): Promise<void> {
    const cfg = this.config;
    const { logger } = this.opts;
    this.detector = await openConfiguredDetector(cfg);
    const info = this.detector.info;
    logger.info({ model: info.path, backend: info.backend, input: `${info.inputWidth}x${info.inputHeight}`, layout: info.layout, labels: info.labels }, 'model loaded');
    if (cfg.mqtt.enabled) {
      this.publisher = await connectMqtt(cfg.mqtt, logger);
      logger.info({ url: cfg.mqtt.url, topic_prefix: cfg.mqtt.topic_prefix }, 'mqtt connected');
    }
    void native.addonInfo.version; // load the addon now: dlopen blocks the loop once, before frames flow
    this.loop.reset(); // from here on the event loop must stay free (steady state)
    for (const [name, cam] of Object.entries(cfg.cameras)) {
      if (cam.enabled) this.startCamera(name, cam);
    }
    const every = Math.max(1, cfg.mqtt.stats_interval_seconds) * 1000;
    this.statsTimer = setInterval(() => this.publishStats(), every);
    this.statsTimer.unref();
  }

  private outputs(): CameraOutputs {
    return {
      status: (camera, status) => this.publisher?.publishCameraStatus(camera, status),
      detections: (camera, message) => this.publisher?.publishDetections(camera, message),
    };
  }

  private startCamera(name: string, cam: Config['cameras'][string]): void {
    const logger = this.logger.child({ camera: name });
    const spec: PipelineSpec = {
      source: cam.source,
      loop: cam.loop,
      detect: cam.effective_detect,
      publishAll: this.config.mqtt.publish === 'all_frames',
      sink: cam.record.enabled ? (video) => new SegmentRecorder(name, cam.record, { width: video.width, height: video.height, fps: video.fpsRational }, logger) : null,
    };
    const pipeline = new CameraPipeline(name, spec, this.detector as Detector, this.outputs(), logger);
    const done = pipeline.run();
    this.pipelines.set(name, { pipeline, done });
  }

  /** Resolves once every camera's source has ended (or failed). */
  async whenSourcesDone(): Promise<void> {
    await Promise.all([...this.pipelines.values()].map((p) => p.done));
  }

  statsSnapshot() {
    const cameras: Record<string, ReturnType<CameraPipeline['stats']>> = {};
    for (const [name, p] of this.pipelines) cameras[name] = p.pipeline.stats();
    return {
      timestamp: new Date().toISOString(),
      uptime_s: Math.round((Date.now() - this.startedAt) / 1000),
      cameras,
      mqtt: this.publisher ? this.publisher.stats : null,
      event_loop: this.loop.window(),
      rss_mb: Number((process.memoryUsage().rss / 1048576).toFixed(1)),
    };
  }

  private publishStats(): void {
    const stats = this.statsSnapshot();
    this.publisher?.publishStats(stats);
    this.logger.info({ stats }, 'stats');
  }

  private async stopCamera(name: string): Promise<void> {
    const p = this.pipelines.get(name);
    if (!p) return;
    await p.pipeline.stop();
    await p.done;
    this.pipelines.delete(name);
  }

  /**
   * Applies a new, already validated config (SIGHUP): unchanged cameras keep running untouched;
   * removed and changed ones stop (their recordings are finalized), added and changed ones start.
   * A new model or MQTT section is opened first, so a failure leaves the old setup running.
   */
  async reload(next: Config): Promise<ConfigDiff> {
    const diff = diffConfigs(this.config, next);
    const logger = this.logger;
    const modelChanged = diff.globalChanged.includes('model');
    const mqttChanged = diff.globalChanged.includes('mqtt');
    const newDetector = modelChanged ? await openConfiguredDetector(next) : null;
    let newPublisher: MqttPublisher | null = null;
    if (mqttChanged && next.mqtt.enabled) {
      try {
        newPublisher = await connectMqtt(next.mqtt, logger);
      } catch (err) {
        await newDetector?.close();
        throw err;
      }
    }
    // cameras that must restart: changed ones, and all of them when the model or detect settings changed
    const restartAll = modelChanged || diff.globalChanged.includes('detect');
    const restart = restartAll ? [...diff.changed, ...diff.unchanged] : diff.changed;
    await Promise.all([...diff.removed, ...restart].map((n) => this.stopCamera(n)));
    for (const name of diff.removed) this.publisher?.publishCameraStatus(name, { state: 'ended' });
    if (mqttChanged) {
      await this.publisher?.close(1500).catch(() => undefined);
      this.publisher = newPublisher;
    }
    if (newDetector) {
      await this.detector?.close();
      this.detector = newDetector;
    }
    this.config = next;
    for (const name of [...diff.added, ...restart]) {
      const cam = next.cameras[name];
      if (cam?.enabled) this.startCamera(name, cam);
    }
    logger.info({ added: diff.added, removed: diff.removed, changed: diff.changed, restarted: restart.length, global: diff.globalChanged }, 'config reloaded');
    return diff;
  }

  /** Whether any camera ended in state `error`. */
  get anyCameraFailed(): boolean {
    return [...this.pipelines.values()].some((p) => p.pipeline.currentState === 'error');
  }

  /** Clean stop: sources closed, recordings finalized, `offline` published. Idempotent. */
  stop(reason: string): Promise<number> {
    this.stopping ??= (async () => {
      this.logger.info({ reason }, 'stopping');
      if (this.statsTimer) clearInterval(this.statsTimer);
      await Promise.all([...this.pipelines.values()].map((p) => p.pipeline.stop()));
      await Promise.race([this.whenSourcesDone(), new Promise((r) => setTimeout(r, 8000).unref())]);
      const final = this.statsSnapshot();
      this.publisher?.publishStats(final);
      const loop = this.loop.overall();
      this.logger.info({ stats: final, event_loop_overall: loop }, 'final stats');
      await this.publisher?.close(1500).catch((err) => this.logger.warn({ err }, 'mqtt close failed'));
      await this.detector?.close().catch(() => undefined);
      this.loop.stop();
      return this.anyCameraFailed ? 1 : 0;
    })();
    return this.stopping;
  }
}
