import { performance } from 'node:perf_hooks';
import type { DetectOptions, Detector } from '../detect/types.js';
import type { Detection } from '../core/detection.js';
import type { Frame, PixelFormat } from '../core/frame.js';
import { detectOptions, drawBoxes, type DetectFields } from '../detect/detections.js';
import { errorMessage } from '../core/errors.js';
import * as native from '../native.js';
import { detectionMessage, type DetectionMessage } from '../sinks/detection-message.js';
import { openSource, type SourceOptions } from '../sources/open-source.js';
import { type VideoSource } from '../sources/types.js';
import type { StreamCopy } from '../media/stream-copy.js';
import { BoundedQueue } from './bounded-queue.js';
import type { Logger } from '../core/log.js';
import { RateMeter, stageTimings } from './rate.js';
import type { CameraState, CameraStatus } from '../core/status.js';
import { FrameTracking, isDetectorFrame, trackingDetectOptions } from '../track/frame-tracking.js';
import type { TrackSettings } from '../config/types.js';
import type { FrameEvents } from '../events/camera-events.js';

/** Where a camera's results go; the daemon wires MQTT here, tests may collect. */
export interface CameraOutputs {
  status(camera: string, status: CameraStatus): void;
  detections(camera: string, message: DetectionMessage): void;
}

export interface CameraStats {
  state: CameraState;
  fps: number;
  frames: number;
  inferred: number;
  dropped: number;
  reconnects: number;
  queue_depth: number;
  inference_ms: number;
  preprocess_ms: number;
  postprocess_ms: number;
  draw_ms: number;
  encode_ms: number;
  recording: string | null;
  /** why the recording stopped while the camera went on (it retries by itself), if it did */
  recording_error: string | null;
  /** recording failures since the camera started (a series of retries counts once) */
  recording_errors?: number;
  /** whether the camera records (record.enabled) */
  recording_enabled?: boolean;
  /** consumers of the camera's one encode now (recorder, RTSP stream, live viewers) */
  video_consumers?: number;
  /** encoded pictures those consumers dropped (each its own; a slow viewer loses only its own) */
  video_dropped?: number;
}

/** Where annotated frames go: segmented recordings, one MP4 file, an RTSP stream. */
export interface FrameSink {
  write(frame: Buffer, pts: number): Promise<void>;
  close(): Promise<void>;
  /** the file being written now, for stats */
  readonly currentFile?: string | null;
  /** false: nobody consumes the video now (no recording, RTSP output or live viewer): frames are neither drawn nor written */
  readonly wanted?: boolean;
  /** a recording that failed while the sink goes on (retrying): shown in the camera status */
  readonly error?: string | null;
  /** the sink sets it up to call when `error` changes */
  onChange?: (() => void) | null;
  /** recording figures (/healthz, /metrics); null when the camera does not record */
  recordingState?(): { recording: boolean; error: string | null; errors: number } | null;
  /** the encode's consumers and their drops */
  videoStats?(): { consumers: number; dropped: number };
  /** a detector frame's reported detections at its time on the source's copied stream (frames with `streamTime`) */
  detections?(streamTime: number, frame: number, detections: Detection[]): void;
}

/** What a sink is made for: the source's video, and its copy of the camera's own stream (record.mode raw) if it has one. */
export interface SinkVideo {
  width: number;
  height: number;
  fpsRational: string;
  pixelFormat?: PixelFormat;
  timescale?: number | null;
  live: boolean;
  copy: StreamCopy | null;
  /** the source was asked for a copy but cannot give one: why */
  copyUnavailable: string | null;
}

export interface PipelineSpec {
  source: string;
  loop: boolean;
  /** live source settings (size, fps, transport, decoder, stall timeout); files use `loop` only */
  sourceOptions?: Omit<SourceOptions, 'loop' | 'logger'>;
  detect: DetectFields & { interval: number };
  /**
   * Multi-object tracking (cameras.<name>.track): every reported detection gets a `track_id`,
   * frames the detector skips carry the tracks' predicted boxes, and a new object is reported
   * once it was seen `min_hits` detector frames in a row. Absent: detections frame by frame.
   */
  track?: Omit<TrackSettings, 'enabled'> | null;
  /** publish frames without detections too (mqtt.publish: all_frames) */
  publishAll: boolean;
  /**
   * also publish the frames between inferences (detect.interval > 0), with the detections they
   * carry from the last inferred frame (the boxes drawn on them) and inference_ms 0: `detect --json`
   * writes one line per frame. The daemon publishes inferred frames only.
   */
  publishCarried?: boolean;
  /** made once the source's size and rate are known (live: at the first frame); null = no video output */
  sink: ((video: SinkVideo) => FrameSink) | null;
  /**
   * When the sink fails (a full disk, a recording folder gone): `fail` (default) ends the camera in
   * state `error`, as `detect` wants; `continue` (the daemon) keeps detecting and publishing
   * without it, reports `recording stopped: …` in the camera status, and ends a file source in
   * state `error` so that `run --exit-when-done` exits 1.
   */
  sinkFailure?: 'fail' | 'continue';
  /** the sink records segments (record.enabled), for stats */
  records?: boolean;
  /** sees every decoded frame before boxes are drawn (calibration capture); must copy what it keeps and return at once */
  capture?: (frame: Frame) => void;
  /** object events (daemon/events): sees each detector frame's tracked detections, before boxes are drawn */
  events?: FrameEvents | null;
  /**
   * Gets an annotated frame (boxes drawn) whenever `wants()` says so (the web UI's latest.jpg): the
   * boxes are drawn for it even without a recorder; `offer` must copy what it keeps and return at once.
   */
  annotated?: { wants(): boolean; offer(frame: Frame): void };
}

interface Work {
  frame: Frame;
  detections: Detection[];
  inferred: boolean;
  inferenceMs: number;
}

const QUEUE = 4;
/** inferences handed to the detector at once per camera (it pre-processes the next frame while it infers one) */
const DETECT_DEPTH = 2;
/**
 * frames held in the detect stage at most: the inferred ones and, with detect.interval, those
 * between them, which wait for the inference before them. Counting frames instead of inferences
 * kept a second inference from starting at interval 1 and above, so pre-processing never
 * overlapped inference there (interval 2 stopped at 74 FPS with the detector waiting on itself).
 */
const DETECT_PENDING_MAX = 8;

/**
 * One camera: source -> [queue] -> detector -> [queue] -> MQTT + draw + record. The three stages
 * run concurrently (decode, inference and encode overlap); pixels stay in Buffers that only the
 * addon and ffmpeg touch. Files apply backpressure; live sources drop the oldest frame.
 */
export class CameraPipeline {
  private source: VideoSource | null = null;
  private recorder: FrameSink | null = null;
  private stopping = false;
  private state: CameraState = 'starting';
  private readonly fps = new RateMeter();
  /** per-stage latency, also read by `trt-detect bench` */
  readonly timings = stageTimings();
  private frames = 0;
  private inferred = 0;
  /** made at the first frame, when the source's frame rate is known */
  private tracking: FrameTracking | null = null;
  private q1: BoundedQueue<Frame> | null = null;
  private q2: BoundedQueue<Work> | null = null;
  private lastError: string | null = null;
  private sinkError: string | null = null;
  private lastStatus: CameraStatus | null = null;
  private sinkClosing: Promise<void> = Promise.resolve();

  constructor(
    readonly name: string,
    readonly spec: PipelineSpec,
    private readonly detector: Detector,
    private readonly outputs: CameraOutputs,
    private readonly logger: Logger,
  ) {}

  get error(): string | null {
    return this.lastError;
  }

  get currentState(): CameraState {
    return this.state;
  }

  /** The status of `state` now: fps 0 unless frames flow; a streaming camera shows a recording that stopped. */
  private statusOf(state: CameraState, error?: string): CameraStatus {
    // the rate of now: 0 unless frames flow (not the last 5 s before a camera was lost)
    const fps = state === 'streaming' ? this.fps.rate() : 0;
    const shown = error ?? (state === 'streaming' ? (this.sinkError ?? this.recorder?.error ?? null) : null);
    return { state, fps, ...(shown ? { error: shown } : {}) };
  }

  private setState(state: CameraState, error?: string): void {
    this.state = state;
    this.lastStatus = this.statusOf(state, error);
    this.outputs.status(this.name, this.lastStatus);
    const level = state === 'error' ? 'error' : state === 'reconnecting' ? 'warn' : 'info';
    // the logger is bound to the camera (the daemon's child logger): no `camera` field here
    this.logger[level](error ? { state, error } : { state }, `camera ${state}${error ? `: ${error}` : ''}`);
  }

  /**
   * Publishes the current status again: while streaming with the frame rate of now (the daemon does
   * so with its stats); with `any`, in every state (a new MQTT publisher after a reload).
   */
  refreshStatus(any = false): void {
    if (this.state === 'streaming') this.outputs.status(this.name, this.statusOf('streaming'));
    else if (any && this.lastStatus) this.outputs.status(this.name, this.lastStatus);
  }

  /** Runs until the source ends (files) or stop() is called; never throws: failures become state `error`. */
  async run(): Promise<CameraState> {
    this.setState('starting');
    try {
      this.source = await openSource(this.spec.source, { ...this.spec.sourceOptions, loop: this.spec.loop, logger: this.logger });
      const src = this.source;
      let lastReason: string | undefined;
      src.onState = (state, reason) => {
        // published on change: a new state, or a new reason (refused → stalled) while reconnecting
        if (this.stopping || (state === this.state && reason === lastReason)) return;
        lastReason = reason;
        this.setState(state, reason);
      };
      // a file's size is known now; a live camera's once its first frame arrives
      if (!src.live) this.openSink(src);
      const release = (f: Frame) => src.pool.release(f.data);
      this.q1 = new BoundedQueue<Frame>(QUEUE, src.live ? 'drop-oldest' : 'block', release);
      this.q2 = new BoundedQueue<Work>(QUEUE, 'block', (w) => release(w.frame));
      const results = await Promise.allSettled([this.readStage(src), this.detectStage(src), this.outputStage(src)]);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      if (this.stopping) {
        await this.recorder?.close();
        await this.sinkClosing;
        // stopped (daemon stop, reload, removed camera): its retained status must not say streaming
        this.setState('ended');
        return this.state;
      }
      await this.recorder?.close();
      await this.sinkClosing;
      const sinkError = this.sinkError ?? this.recorder?.error ?? null;
      if (src.truncated || sinkError) {
        this.lastError = src.truncated ?? sinkError;
        this.setState('error', this.lastError as string);
      } else {
        this.setState('ended');
      }
    } catch (err) {
      this.q1?.drain();
      this.q2?.drain();
      this.source?.stop();
      await this.recorder?.close().catch(() => undefined);
      this.lastError = errorMessage(err);
      this.setState('error', this.lastError);
    }
    return this.state;
  }

  private async readStage(src: VideoSource): Promise<void> {
    const q1 = this.q1 as BoundedQueue<Frame>;
    try {
      let first = true;
      let t = performance.now();
      for await (const frame of src.frames()) {
        this.timings.decode.add(performance.now() - t);
        if (this.stopping) {
          src.pool.release(frame.data);
          break;
        }
        if (first) {
          first = false;
          if (!this.recorder) this.openSink(src);
          this.setState('streaming');
        }
        await q1.push(frame);
        t = performance.now();
      }
    } finally {
      q1.close();
    }
  }

  private detectOptions(): DetectOptions {
    return detectOptions(this.spec.detect, this.detector.info);
  }

  /**
   * Hands frames to the detector up to DETECT_DEPTH at a time (the backend pre-processes the next
   * frame while it infers this one) and passes them on in their order. With detect.interval > 0
   * the frames in between carry the detections of the last inferred frame before them, and wait
   * here with the inferred ones: DETECT_DEPTH inferences and the frames between them, at most
   * DETECT_PENDING_MAX frames.
   */
  private async detectStage(src: VideoSource): Promise<void> {
    const q1 = this.q1 as BoundedQueue<Frame>;
    const q2 = this.q2 as BoundedQueue<Work>;
    // with tracking the detector also returns the low-score boxes: they carry a tracked object
    // through an occlusion (ByteTrack's second pass); only tracked ones are ever reported
    const opts = this.spec.track ? trackingDetectOptions(this.detectOptions(), this.spec.track) : this.detectOptions();
    const interval = this.spec.detect.interval;
    const maxPending = Math.min(DETECT_PENDING_MAX, DETECT_DEPTH * (interval + 1));
    let last: Promise<Detection[]> = Promise.resolve([]);
    const pending: Array<{ frame: Frame; work: Promise<Work> }> = [];
    try {
      for (let frame = await q1.pop(); frame; frame = await q1.pop()) {
        let work: Promise<Work>;
        if (isDetectorFrame(frame.index, interval)) {
          const f = frame;
          const r = this.detector.infer(f, opts);
          last = r.then((x) => x.detections);
          work = r.then((x) => {
            this.inferred++;
            this.timings.inference.add(x.timings.inference_ms);
            this.timings.preprocess.add(x.timings.preprocess_ms);
            this.timings.postprocess.add(x.timings.postprocess_ms);
            return { frame: f, detections: x.detections, inferred: true, inferenceMs: x.timings.inference_ms };
          });
        } else {
          const f = frame;
          work = last.then((detections) => ({ frame: f, detections, inferred: false, inferenceMs: 0 }));
        }
        work.catch(() => undefined); // awaited below, in order; no unhandled rejection meanwhile
        pending.push({ frame, work });
        while (pending.length >= maxPending) await q2.push(await (pending.shift() as { work: Promise<Work> }).work);
      }
      while (pending.length > 0) await q2.push(await (pending.shift() as { work: Promise<Work> }).work);
    } catch (err) {
      q1.drain();
      // the frames still with the detector go back to the pool once it is done with them
      await Promise.allSettled(pending.map((p) => p.work));
      for (const p of pending.splice(0)) src.pool.release(p.frame.data);
      throw err;
    } finally {
      q2.close();
    }
  }

  /** The tracks of a frame, in frame order: the detector's frames update them, the others predict. */
  private track(w: Work, src: VideoSource): Detection[] {
    this.tracking ??= new FrameTracking(this.spec.track as Omit<TrackSettings, 'enabled'>, this.spec.detect.threshold, src.info.fps);
    return this.tracking.step(w.inferred ? w.detections : null, w.frame.index, w.frame.width, w.frame.height);
  }

  private async outputStage(src: VideoSource): Promise<void> {
    const q2 = this.q2 as BoundedQueue<Work>;
    try {
      for (let w = await q2.pop(); w; w = await q2.pop()) {
        const { frame } = w;
        try {
          if (this.spec.track) {
            const t = performance.now();
            w.detections = this.track(w, src);
            this.timings.track.add(performance.now() - t);
          }
          this.frames++;
          this.fps.tick();
          if ((w.inferred || this.spec.publishCarried) && (this.spec.publishAll || w.detections.length > 0)) {
            const t = performance.now();
            this.outputs.detections(this.name, detectionMessage(this.name, frame, w.detections, w.inferenceMs));
            this.timings.publish.add(performance.now() - t);
          }
          if (w.inferred) this.spec.events?.frame(frame, w.detections);
          if (w.inferred && frame.streamTime !== undefined) this.recorder?.detections?.(frame.streamTime, frame.index, w.detections);
          this.spec.capture?.(frame);
          const tap = this.spec.annotated?.wants() ? this.spec.annotated : null;
          const recording = this.recorder !== null && this.recorder.wanted !== false;
          if (recording || tap) {
            const t0 = performance.now();
            if (w.detections.length > 0) await native.draw(frame.data, frame.width, frame.height, drawBoxes(w.detections), frame.format);
            tap?.offer(frame);
            const t1 = performance.now();
            this.timings.draw.add(t1 - t0);
            if (recording && this.recorder) {
              try {
                await this.recorder.write(frame.data, frame.pts);
              } catch (err) {
                if (this.spec.sinkFailure !== 'continue') throw err;
                this.dropSink(err);
              }
              this.timings.encode.add(performance.now() - t1);
            }
          }
        } finally {
          src.pool.release(frame.data);
        }
      }
    } catch (err) {
      q2.drain();
      throw err;
    }
  }

  /** The video sink, once the source's size and rate are known; a recording failure it survives republishes the status. */
  private openSink(src: VideoSource): void {
    if (!this.spec.sink) return;
    const sink = this.spec.sink({ ...src.info, live: src.live, copy: src.copy ?? null, copyUnavailable: src.copyUnavailable ?? null });
    sink.onChange = () => {
      // the recorder logged the change itself: publish the status without a second line
      if (this.state !== 'streaming' || this.stopping) return;
      this.lastStatus = this.statusOf('streaming');
      this.outputs.status(this.name, this.lastStatus);
    };
    this.recorder = sink;
  }

  /** The sink failed and the camera goes on without it (sinkFailure: continue). */
  private dropSink(err: unknown): void {
    this.sinkError = `recording stopped: ${errorMessage(err)}`;
    const sink = this.recorder as FrameSink;
    this.recorder = null;
    this.sinkClosing = sink.close().catch(() => undefined);
    this.logger.error(
      { error: this.sinkError },
      `${this.sinkError} (detection and MQTT go on; recording starts again when the camera restarts: systemctl restart, or a reload that changes the camera)`,
    );
    if (this.state === 'streaming') this.setState('streaming');
  }

  stats(): CameraStats {
    return {
      state: this.state,
      fps: this.fps.rate(),
      frames: this.frames,
      inferred: this.inferred,
      dropped: this.q1?.dropped ?? 0,
      reconnects: this.source?.reconnects ?? 0,
      queue_depth: (this.q1?.length ?? 0) + (this.q2?.length ?? 0),
      inference_ms: this.timings.inference.mean,
      preprocess_ms: this.timings.preprocess.mean,
      postprocess_ms: this.timings.postprocess.mean,
      draw_ms: this.timings.draw.mean,
      encode_ms: this.timings.encode.mean,
      recording: this.recorder?.currentFile ?? null,
      recording_error: this.sinkError ?? this.recorder?.error ?? null,
      recording_errors: (this.recorder?.recordingState?.()?.errors ?? 0) + (this.sinkError ? 1 : 0),
      recording_enabled: this.spec.records ?? false,
      video_consumers: this.recorder?.videoStats?.().consumers ?? 0,
      video_dropped: this.recorder?.videoStats?.().dropped ?? 0,
    };
  }

  /** Stops the source; queued frames are still recorded so segments end cleanly. */
  stop(): Promise<void> {
    this.stopping = true;
    this.source?.stop();
    this.q1?.close();
    return Promise.resolve();
  }
}
