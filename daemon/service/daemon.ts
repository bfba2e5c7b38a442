import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { diffConfigs, type Config, type ConfigDiff } from '../config/index.js';
import { modelOptions, openDetector } from '../detect/open.js';
import type { Detector } from '../detect/types.js';
import { ConfigError, errorMessage } from '../core/errors.js';
import { addSecret } from '../core/secrets.js';
import { setMediaNice } from '../media/media-process.js';
import { MqttPublisher, type MqttStats } from '../sinks/mqtt-publisher.js';
import { CameraOutput } from '../sinks/camera-output.js';
import { EncodedStream } from '../sinks/encoded-stream.js';
import type { RtspAuthenticator } from '../sinks/rtsp-auth.js';
import { RtspServer } from '../sinks/rtsp-server.js';
import { CalibrationCapture } from './calibration-capture.js';
import { CameraPipeline, type CameraOutputs, type PipelineSpec } from './camera-pipeline.js';
import type { Logger } from '../core/log.js';
import { FairDetector } from './fair-detector.js';
import { LatestJpegs } from './latest-jpeg.js';
import { LoopDelayMonitor } from './loop-delay.js';
import { EventStore, type EventRecord } from '../store/event-store.js';
import * as native from '../native.js';
import { CameraEvents, type CameraEventsStats } from '../events/camera-events.js';
import { HomeAssistantDiscovery, type DiscoveredCamera } from '../events/home-assistant.js';
import type { EventSink } from '../events/types.js';
import { isNormalizedPolygon, polygonProblem } from '../config/zones.js';
import { sourceFilePath } from '../config/index.js';
import { probeVideo } from '../media/probe.js';
import type { ModelInfo } from '../detect/types.js';

export interface DaemonOptions {
  config: Config;
  logger: Logger;
  exitWhenDone: boolean;
  /** true while the detector builds a TensorRT engine (start or reload), false when it is done */
  onEngineBuild?: (building: boolean) => void;
  /** what RTSP clients must pass (service/auth.ts Auth.rtsp: the http.auth credentials); null = open */
  rtspAuth: RtspAuthenticator | null;
}

function readSecretFile(file: string | null, what: string): Buffer | undefined {
  if (!file) return undefined;
  try {
    return readFileSync(file);
  } catch (err) {
    // a file the config names: a config problem (exit 2), like check-config's
    throw new ConfigError(`${what} ${file}: cannot read the file (${errorMessage(err)}) (check the path)`);
  }
}

/** Opens the MQTT publisher from the config (password_file, TLS files). */
export async function connectMqtt(cfg: Config['mqtt'], logger: Logger): Promise<MqttPublisher> {
  const password = cfg.password ?? readSecretFile(cfg.password_file, 'mqtt.password_file')?.toString('utf8').trim();
  addSecret(password);
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

export function openConfiguredDetector(cfg: Config, logger?: Logger, onBuilding?: (building: boolean) => void): Promise<Detector> {
  const m = cfg.model;
  return openDetector({
    ...modelOptions(m),
    withVideo: true,
    ...(onBuilding ? { onBuilding } : {}),
    ...(logger
      ? {
          log: (level: 'info' | 'warn', msg: string) => logger[level](msg),
          onProgress: (line: string) => logger.info(`engine build: ${line}`),
        }
      : {}),
  });
}

/**
 * The daemon: one shared detector, one pipeline per camera, MQTT status/detections/stats.
 * Resolves to the process exit code (docs/commands.md) after a clean stop.
 */
export class Daemon {
  private detector: Detector | null = null;
  /** the detector shared round-robin by every camera */
  private fair: FairDetector | null = null;
  private publisher: MqttPublisher | null = null;
  private readonly pipelines = new Map<string, { pipeline: CameraPipeline; done: Promise<unknown>; events: CameraEvents | null }>();
  /** each camera's encoded video (one encode, fanned out); kept across restarts of the camera */
  private readonly streams = new Map<string, EncodedStream>();
  /** where object events go besides MQTT (the event store) */
  private readonly eventSinks: EventSink[] = [];
  private discovery: HomeAssistantDiscovery | null = null;
  private statsTimer: NodeJS.Timeout | null = null;
  /** serves cameras with rtsp_out at rtsp://<host>:<rtsp_server.port>/<camera> */
  private rtspServer: RtspServer | null = null;
  private readonly loop = new LoopDelayMonitor();
  private stopping: Promise<number> | null = null;
  private readonly startedAt = Date.now();

  private config: Config;
  private rtspAuth: RtspAuthenticator | null;

  /** POST/GET /calibration/capture: saves frames of the running cameras for INT8 calibration */
  readonly calibration: CalibrationCapture;

  /** the SQLite event store (store.enabled); null while off */
  private store: EventStore | null = null;
  /** the web UI's /api/cameras/<camera>/latest.jpg, fed by the pipelines' annotated frames */
  readonly latestJpegs: LatestJpegs;

  constructor(private readonly opts: DaemonOptions) {
    this.config = opts.config;
    this.rtspAuth = opts.rtspAuth;
    this.calibration = new CalibrationCapture(
      {
        names: () => [...this.pipelines.keys()],
        fps: (camera) => this.pipelines.get(camera)?.pipeline.stats().fps ?? 0,
        imagesDir: () => this.config.model.calibration.images,
        limits: () => this.config.model.calibration,
      },
      opts.logger,
    );
    this.latestJpegs = new LatestJpegs(opts.config.http.latest_jpeg_fps, opts.logger);
    // the event store takes every camera's events (whichever store is open now)
    this.eventSinks.push({
      event: (ev) => this.store?.event(ev),
      snapshot: (camera, id, label, jpeg, path) => this.store?.snapshot(camera, id, label, jpeg, path),
    });
  }

  /** Where an event's snapshot is: its camera's snapshots folder (the file must lie in it) and the file. */
  snapshotOf(event: EventRecord): { root: string; file: string } | null {
    const cam = this.config.cameras[event.camera];
    if (!cam) return null;
    const root = cam.snapshots.path;
    if (root === null) return null; // not kept as files: the store has the JPEG
    return { root, file: event.snapshot_path ?? join(root, event.camera, `${event.id}.jpg`) };
  }

  /** The event store, null while it is off (store.enabled false, or it could not be opened). */
  get eventStore(): EventStore | null {
    return this.store;
  }

  /** The detector's model; null before start(). */
  get modelInfo(): ModelInfo | null {
    return this.detector?.info ?? null;
  }

  /** Opens the event store of `cfg` (store.enabled); a store that cannot be opened is off, with one warning. */
  private async openStore(cfg: Config): Promise<void> {
    if (!cfg.store.enabled) return;
    // events are kept as long as the snapshots of their camera (the longest of all for a removed camera)
    this.store = await EventStore.open({ path: cfg.store.path, logger: this.logger, retainDays: (camera) => this.eventRetainDays(camera) });
  }

  private eventRetainDays(camera: string): number {
    const cams = this.config.cameras;
    const days = (c: Config['cameras'][string]) => c.snapshots.retain_days;
    const cam = cams[camera];
    if (cam) return days(cam);
    const all = Object.values(cams).map(days);
    return all.includes(0) ? 0 : Math.max(0, ...all);
  }

  /** New RTSP credentials (a reload changed http.auth): clients connected from now on are asked for them. */
  setRtspAuth(auth: RtspAuthenticator | null): void {
    this.rtspAuth = auth;
    if (this.rtspServer) this.rtspServer.auth = auth;
  }

  get logger(): Logger {
    return this.opts.logger;
  }

  /** The config running now (changes on reload). */
  get activeConfig(): Config {
    return this.config;
  }

  /** The running camera pipelines by name, for read-only use (/healthz, /metrics, the systemd watchdog). */
  get cameraPipelines(): ReadonlyMap<string, CameraPipeline> {
    return new Map([...this.pipelines].map(([name, p]) => [name, p.pipeline]));
  }

  /**
   * A camera's annotated H.264 stream for live viewers (the web UI): `subscribe(onUnit, {queueLimit})`
   * → a Subscription with `unsubscribe()`; `codecConfig()` gives SPS/PPS/avcC, size and rate
   * (daemon/sinks/encoded-stream.ts says what a subscriber gets). Null for a camera that is not
   * configured and enabled. The camera encodes only while someone (recorder, RTSP, a viewer)
   * is subscribed, so a viewer of a camera without recording or rtsp_out sees frames from its
   * next keyframe after subscribing.
   */
  encodedStream(camera: string): EncodedStream | null {
    const cam = this.config.cameras[camera];
    if (!cam?.enabled) return null;
    let stream = this.streams.get(camera);
    if (!stream) {
      stream = new EncodedStream(camera);
      this.streams.set(camera, stream);
    }
    return stream;
  }

  /** MQTT counters; null when MQTT is disabled. */
  get mqttStats(): MqttStats | null {
    return this.publisher ? this.publisher.stats : null;
  }

  async start(): Promise<void> {
    const cfg = this.config;
    const { logger } = this.opts;
    setMediaNice(cfg.media.nice);
    await checkZonesAgainstFiles(cfg);
    // the addon before any thread of the detector: loading it caps glibc's malloc arenas for the
    // threads made from then on (native/src/addon.cc), and its dlopen blocks the loop once, now
    logger.debug({ malloc_arena_max: native.addonInfo.mallocArenaMax }, 'native addon loaded');
    this.detector = await openConfiguredDetector(cfg, this.logger, this.opts.onEngineBuild);
    this.fair = new FairDetector(this.detector);
    const info = this.detector.info;
    logger.info(
      {
        model: info.path,
        backend: info.backend,
        input: `${info.inputWidth}x${info.inputHeight}`,
        layout: info.layout,
        labels: info.labels,
        ...(info.threads !== undefined ? { threads: info.threads } : {}),
      },
      'model loaded',
    );
    if (cfg.mqtt.enabled) {
      this.publisher = await connectMqtt(cfg.mqtt, logger);
      logger.info({ url: cfg.mqtt.url, topic_prefix: cfg.mqtt.topic_prefix }, 'mqtt connected');
      // a previous run that crashed left its cameras' retained status (`streaming`): the cameras
      // that do not start now (gone from the config, disabled) are offline; the others say
      // `starting` in a moment
      const previous = await this.publisher.retainedCameras().catch((): string[] => []);
      this.publisher.markCamerasOffline([...previous, ...Object.keys(cfg.cameras)].filter((n) => !cfg.cameras[n]?.enabled));
    }
    this.startDiscovery(cfg);
    await this.startRtspServer(cfg);
    await this.openStore(cfg);
    this.loop.reset(); // from here on the event loop must stay free (steady state)
    for (const [name, cam] of Object.entries(cfg.cameras)) {
      if (cam.enabled) this.startCamera(name, cam);
    }
    const every = Math.max(1, cfg.mqtt.stats_interval_seconds) * 1000;
    this.statsTimer = setInterval(() => this.publishStats(), every);
    this.statsTimer.unref();
  }

  /**
   * Object events also go to `sink` (the event store), for every camera, from the next event on.
   * Calls come on the event loop and must return at once.
   */
  addEventSink(sink: EventSink): void {
    this.eventSinks.push(sink);
  }

  /** Home Assistant discovery on the current publisher (mqtt.home_assistant.enabled). */
  private startDiscovery(cfg: Config): void {
    if (!this.publisher || !cfg.mqtt.home_assistant.enabled) return;
    const ha = cfg.mqtt.home_assistant;
    this.discovery = new HomeAssistantDiscovery(this.publisher, { discoveryPrefix: ha.discovery_prefix, url: ha.url, logger: this.logger });
    this.discovery.start(this.discoveredCameras(cfg));
  }

  /** The cameras Home Assistant should know: the enabled ones, with what they can report. */
  private discoveredCameras(cfg: Config): DiscoveredCamera[] {
    const info = this.detector?.info;
    if (!info) return [];
    return Object.entries(cfg.cameras)
      .filter(([, cam]) => cam.enabled)
      .map(([name, cam]) => {
        const labels = reportedLabels(info, cam.effective_detect.classes);
        const events = cam.track.enabled && cam.events.enabled;
        return {
          name,
          labels: events ? labels : [],
          zones: events ? Object.entries(cam.zones).map(([zone, z]) => ({ name: zone, labels: z.objects.length > 0 ? z.objects : labels })) : [],
          snapshots: events && cam.snapshots.enabled,
        };
      });
  }

  private outputs(): CameraOutputs {
    return {
      status: (camera, status) => this.publisher?.publishCameraStatus(camera, status),
      detections: (camera, message) => this.publisher?.publishDetections(camera, message),
    };
  }

  /** Starts the RTSP server when a camera wants rtsp_out (and rtsp_server.enabled); one clear line when the port is taken. */
  private async startRtspServer(cfg: Config): Promise<void> {
    const wanted = cfg.rtsp_server.enabled && Object.values(cfg.cameras).some((c) => c.enabled && c.rtsp_out);
    if (!wanted || this.rtspServer) return;
    const server = new RtspServer({ maxClients: cfg.rtsp_server.max_clients, maxSetupsPerSecond: cfg.rtsp_server.max_setups_per_second, auth: this.rtspAuth });
    server.onClient = (event, stream, client, transport) =>
      this.logger.info({ camera: stream, client, transport }, event === 'playing' ? 'rtsp client playing' : 'rtsp client left');
    await server.listen(cfg.rtsp_server.port, cfg.rtsp_server.host);
    this.rtspServer = server;
    this.logger.info({ port: server.port }, 'rtsp server listening');
  }

  private startCamera(name: string, cam: Config['cameras'][string]): void {
    // every line of this camera's pipeline, recorder and source carries `camera` from this binding
    const logger = this.logger.child({ camera: name });
    const rtsp = cam.rtsp_out ? this.rtspServer : null;
    // known to the RTSP server from now on: a client gets 503 (not streaming yet), not 404 (no such camera)
    const rtspStream = rtsp?.mount(name) ?? null;
    if (cam.rtsp_out && !rtsp) logger.warn('rtsp_out is on but the RTSP server is not running (rtsp_server.enabled: false, or its port was taken)');
    const stream = this.encodedStream(name) as EncodedStream;
    const spec: PipelineSpec = {
      source: cam.source,
      loop: cam.loop,
      sourceOptions: {
        realtime: cam.realtime,
        width: cam.width,
        height: cam.height,
        fps: cam.fps,
        rtsp_transport: cam.rtsp_transport,
        decoder: cam.decoder,
        stall_timeout_seconds: cam.stall_timeout_seconds,
        // record.mode raw / both: the source also hands over the camera's own stream
        copy: cam.record.enabled && cam.record.mode !== 'annotated',
      },
      detect: cam.effective_detect,
      track: cam.track.enabled ? cam.track : null,
      publishAll: this.config.mqtt.publish === 'all_frames',
      sinkFailure: 'continue',
      capture: (frame) => this.calibration.offer(name, frame),
      records: cam.record.enabled,
      annotated: { wants: () => this.latestJpegs.wants(name), offer: (frame) => this.latestJpegs.offer(name, frame) },
      // one encode for the recorder, the RTSP stream and live viewers (sinks/camera-output.ts)
      sink: (video) => {
        const record = cam.record.enabled ? cam.record : null;
        if (record && record.mode !== 'annotated' && video.copyUnavailable)
          logger.warn({ reason: video.copyUnavailable }, `record.mode ${record.mode}: ${video.copyUnavailable}; recording annotated`);
        return new CameraOutput({ camera: name, stream, video, live: video.live, record, rtsp: rtspStream, logger, copy: video.copy });
      },
    };
    const events =
      cam.track.enabled && cam.events.enabled
        ? new CameraEvents({
            camera: name,
            live: !isFileSource(cam.source),
            track: cam.track,
            events: cam.events,
            zones: cam.zones,
            filters: cam.filters,
            snapshots: cam.snapshots,
            labels: this.detector ? reportedLabels(this.detector.info, cam.effective_detect.classes) : [],
            sinks: () => (this.publisher ? [this.publisher, ...this.eventSinks] : this.eventSinks),
            counts: () => this.publisher,
            logger,
          })
        : null;
    spec.events = events;
    const pipeline = new CameraPipeline(name, spec, (this.fair as FairDetector).forCamera(name), this.outputs(), logger);
    // once the camera stops its objects end (their end events) and its counts go to 0
    const done = pipeline.run().then(async (state) => {
      await events?.close().catch((err: unknown) => logger.warn({ error: errorMessage(err) }, 'object events did not close cleanly'));
      return state;
    });
    this.pipelines.set(name, { pipeline, done, events });
  }

  /** Object event counters per camera (cameras with events only). */
  get eventStats(): Record<string, CameraEventsStats> {
    const out: Record<string, CameraEventsStats> = {};
    for (const [name, p] of this.pipelines) if (p.events) out[name] = p.events.stats();
    return out;
  }

  /** Resolves once every camera's source has ended (or failed). */
  async whenSourcesDone(): Promise<void> {
    await Promise.all([...this.pipelines.values()].map((p) => p.done));
  }

  /** Playing RTSP clients per camera (empty when the RTSP server is not running). */
  get rtspClients(): Record<string, number> {
    return this.rtspServer?.clientCounts() ?? {};
  }

  statsSnapshot() {
    const cameras: Record<string, ReturnType<CameraPipeline['stats']>> = {};
    for (const [name, p] of this.pipelines) cameras[name] = p.pipeline.stats();
    return {
      timestamp: new Date().toISOString(),
      uptime_s: Math.round((Date.now() - this.startedAt) / 1000),
      cameras,
      events: this.eventStats,
      mqtt: this.publisher ? this.publisher.stats : null,
      event_loop: this.loop.window(),
      rss_mb: Number((process.memoryUsage().rss / 1048576).toFixed(1)),
    };
  }

  private publishStats(): void {
    const stats = this.statsSnapshot();
    this.publisher?.publishStats(stats);
    // the retained camera status carries the frame rate of now, not the one at the last state change
    for (const p of this.pipelines.values()) p.pipeline.refreshStatus();
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
    // a zone outside its file's frames rejects the reload before anything changes
    await checkZonesAgainstFiles(next, [...diff.added, ...diff.changed]);
    const modelChanged = diff.globalChanged.includes('model');
    const mqttChanged = diff.globalChanged.includes('mqtt');
    const newDetector = modelChanged ? await openConfiguredDetector(next, this.logger, this.opts.onEngineBuild) : null;
    let newPublisher: MqttPublisher | null = null;
    if (mqttChanged && next.mqtt.enabled) {
      try {
        newPublisher = await connectMqtt(next.mqtt, logger);
      } catch (err) {
        await newDetector?.close();
        throw err;
      }
    }
    // cameras that must restart: changed ones, and all of them when the model, detect settings or
    // the decoders' and encoders' priority (media) changed
    const restartAll = modelChanged || diff.globalChanged.includes('detect') || diff.globalChanged.includes('media');
    // a moved RTSP server restarts the cameras it serves
    const rtspChanged = diff.globalChanged.includes('rtsp_server');
    const restart = restartAll
      ? [...diff.changed, ...diff.unchanged]
      : rtspChanged
        ? [...diff.changed, ...diff.unchanged.filter((n) => this.config.cameras[n]?.rtsp_out)]
        : diff.changed;
    await Promise.all([...diff.removed, ...restart].map((n) => this.stopCamera(n)));
    this.publisher?.markCamerasOffline(diff.removed);
    for (const name of diff.removed) {
      this.rtspServer?.unmount(name);
      this.streams.get(name)?.end();
      this.streams.delete(name);
      this.latestJpegs.forget(name);
    }
    if (diff.globalChanged.includes('store')) {
      await this.store?.close();
      this.store = null;
      await this.openStore(next);
    }
    if (rtspChanged) {
      await this.rtspServer?.close();
      this.rtspServer = null;
    }
    await this.startRtspServer(next).catch((err: unknown) =>
      logger.error({ error: errorMessage(err) }, 'rtsp server not started; cameras run without rtsp_out'),
    );
    if (mqttChanged) {
      // switch first: a status the cameras or the stats timer publish while the old connection
      // closes goes to the new one, never back under the old prefix after its statuses are cleared
      const old = this.publisher;
      this.publisher = newPublisher;
      // Home Assistant's devices stay where they were unless the broker, the prefix or the
      // discovery settings moved: then the old announcements are removed from the old broker
      const a = this.config.mqtt;
      const b = next.mqtt;
      const sameHa = b.enabled && a.url === b.url && a.topic_prefix === b.topic_prefix && JSON.stringify(a.home_assistant) === JSON.stringify(b.home_assistant);
      if (!sameHa) this.discovery?.removeAll();
      this.discovery = null;
      old?.forgetCameras();
      await old?.close(1500).catch(() => undefined);
      // the cameras that kept running announce themselves on the new broker/prefix at once
      for (const p of this.pipelines.values()) {
        p.pipeline.refreshStatus(true);
        p.events?.republishCounts();
      }
    }
    if (newDetector) {
      await this.detector?.close();
      this.detector = newDetector;
      if (this.fair) this.fair.target = newDetector;
    }
    this.config = next;
    setMediaNice(next.media.nice);
    for (const name of [...diff.added, ...restart]) {
      const cam = next.cameras[name];
      if (cam?.enabled) this.startCamera(name, cam);
    }
    if (this.discovery) this.discovery.update(this.discoveredCameras(next));
    else this.startDiscovery(next);
    logger.info({ added: diff.added, removed: diff.removed, changed: diff.changed, restarted: restart.length, global: diff.globalChanged }, 'config reloaded');
    return diff;
  }

  /** Whether any camera ended in state `error`. */
  get anyCameraFailed(): boolean {
    return [...this.pipelines.values()].some((p) => p.pipeline.currentState === 'error');
  }

  /**
   * Clean stop: sources closed, recordings finalized, `offline` published. Idempotent. Resolves to
   * the exit code: 0, or 1 with `sourcesEnded` (run --exit-when-done: every source ended) when a
   * camera ended in state `error`. A signal is a clean stop (0) whatever state the cameras are in:
   * `systemctl stop` must not leave the unit failed.
   */
  stop(reason: string, sourcesEnded = false): Promise<number> {
    this.stopping ??= (async () => {
      this.logger.info({ reason }, 'stopping');
      if (this.statsTimer) clearInterval(this.statsTimer);
      await Promise.all([...this.pipelines.values()].map((p) => p.pipeline.stop()));
      await Promise.race([this.whenSourcesDone(), new Promise((r) => setTimeout(r, 8000).unref())]);
      const final = this.statsSnapshot();
      this.publisher?.publishStats(final);
      const loop = this.loop.overall();
      this.logger.info({ stats: final, event_loop_overall: loop }, 'final stats');
      // retained `offline` for every camera (the pipelines said `ended` or `error` before)
      if (this.publisher) this.publisher.markCamerasOffline([...this.publisher.announcedCameras, ...Object.keys(this.config.cameras)]);
      await this.publisher?.close(1500).catch((err: unknown) => this.logger.warn({ err }, 'mqtt close failed'));
      await this.detector?.close().catch(() => undefined);
      await this.rtspServer?.close();
      for (const s of this.streams.values()) s.end();
      await this.store?.close().catch((err: unknown) => this.logger.warn({ err: errorMessage(err) }, 'event store close failed'));
      this.loop.stop();
      return sourcesEnded && this.anyCameraFailed ? 1 : 0;
    })();
    return this.stopping;
  }
}

/** The labels a camera can report: the model's (after model.label_map), limited to detect.classes when set. */
export function reportedLabels(info: Pick<ModelInfo, 'labels' | 'ignoreClasses'>, classes: ReadonlyArray<string | number>): string[] {
  const ignored = new Set(info.ignoreClasses);
  const all = [...new Set(info.labels.filter((l, i) => !ignored.has(i) && l.trim().toLowerCase() !== 'background'))];
  if (classes.length === 0) return all;
  const wanted = new Set(classes.map((c) => (typeof c === 'number' ? info.labels[c] : c)));
  return all.filter((l) => wanted.has(l));
}

function isFileSource(source: string): boolean {
  return !/^[a-z][a-z0-9+.-]*:\/\//i.test(source) || /^file:\/\//i.test(source);
}

/**
 * Zones in pixels must lie inside the frame: for file sources the size is known before the
 * camera starts (ffprobe), so a corner outside is a config error (exit 2) naming the key; live
 * sources are checked at their first frame (the camera then reports the error).
 */
async function checkZonesAgainstFiles(cfg: Config, only?: readonly string[]): Promise<void> {
  const problems: string[] = [];
  for (const [name, cam] of Object.entries(cfg.cameras)) {
    if (!cam.enabled || (only && !only.includes(name)) || !isFileSource(cam.source)) continue;
    const pixelZones = Object.entries(cam.zones).filter(([, z]) => !isNormalizedPolygon(z.coordinates));
    if (pixelZones.length === 0) continue;
    const file = sourceFilePath(cam.source);
    const info = file ? await probeVideo(file).catch(() => null) : null;
    if (!info) continue; // the camera reports an unreadable file itself
    for (const [zone, z] of pixelZones) {
      const problem = polygonProblem(z.coordinates, { width: info.width, height: info.height });
      if (problem) problems.push(`cameras.${name}.zones.${zone}.coordinates: ${problem}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems.join('\n'));
}
