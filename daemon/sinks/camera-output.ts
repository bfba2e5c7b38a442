import type { Detection } from '../core/detection.js';
import type { PixelFormat } from '../core/frame.js';
import type { Logger } from '../core/log.js';
import { parseRational } from '../media/probe.js';
import type { StreamCopy } from '../media/stream-copy.js';
import { EncodedStream, type Subscription } from './encoded-stream.js';
import { SegmentRecorder, type RecorderTiming, type RecordingState, type RecordSettings } from './recorder.js';
import type { RtspStream } from './rtsp-server.js';
import { StreamEncoder } from './stream-encoder.js';

export interface CameraOutputOptions {
  camera: string;
  /** the camera's stream (kept by the daemon across camera restarts; live viewers subscribe to it) */
  stream: EncodedStream;
  video: { width: number; height: number; fpsRational: string; pixelFormat?: PixelFormat; timescale?: number | null };
  /** a live source: consumers drop; a file: the recorder takes every unit (backpressure) */
  live: boolean;
  /** record segments (cameras.<name>.record), or null */
  record: RecordSettings | null;
  /** the RTSP server's stream of this camera (rtsp_out), or null */
  rtsp: RtspStream | null;
  logger: Logger;
  recorderTiming?: RecorderTiming;
  diskFree?: (path: string) => Promise<number | null>;
  /**
   * the source's copy of the camera's own stream, for record.mode raw / both; null when the source
   * cannot copy (the camera then records annotated: the caller has said why)
   */
  copy?: StreamCopy | null;
}

/** units an RTSP stream may fall behind before it drops to the next keyframe (its clients have their own limits) */
const RTSP_QUEUE = 32;

/**
 * A camera's video outputs on one encode: the pipeline's annotated frames → StreamEncoder →
 * EncodedStream → the segment recorder, the RTSP stream and live viewers, each with its own
 * queue (encoded-stream.ts). The recorder failing (a full disk) touches nothing else: it says so
 * in `recordingState()` and retries by itself. The pipeline's FrameSink.
 */
export class CameraOutput {
  readonly encoder: StreamEncoder;
  /** the annotated recording (record.mode annotated or both, or raw that fell back) */
  recorder: SegmentRecorder | null;
  /** the camera-stream recording (record.mode raw or both): stream copy, detections beside each segment */
  readonly cameraRecorder: SegmentRecorder | null;
  private readonly rtspSub: Subscription | null;
  /** the recording state changed (failed, resumed): the pipeline republishes the camera status */
  onChange: (() => void) | null = null;
  private readonly copy: StreamCopy | null;

  constructor(private readonly opts: CameraOutputOptions) {
    const v = opts.video;
    const rec = opts.record;
    this.encoder = new StreamEncoder(
      opts.stream,
      {
        width: v.width,
        height: v.height,
        fps: v.fpsRational,
        pixelFormat: v.pixelFormat,
        timescale: v.timescale,
        preset: rec?.preset,
        crf: rec?.crf,
        stuckMs: opts.live ? 3000 : 0,
      },
      opts.logger,
    );
    const mode = rec?.mode ?? 'annotated';
    this.copy = rec && mode !== 'annotated' ? (opts.copy ?? null) : null;
    this.recorder = rec && (mode !== 'raw' || !this.copy) ? this.annotatedRecorder(rec) : null;
    this.cameraRecorder = rec && this.copy ? this.copiedRecorder(rec, this.copy) : null;
    const rtsp = opts.rtsp;
    this.rtspSub = rtsp ? opts.stream.subscribe((u) => rtsp.push(u, u.pts), { name: 'rtsp', queueLimit: RTSP_QUEUE }) : null;
  }

  private annotatedRecorder(rec: RecordSettings): SegmentRecorder {
    const o = this.opts;
    const r = new SegmentRecorder(o.camera, rec, o.logger, o.diskFree, o.recorderTiming).attach(o.stream, { lossless: !o.live });
    r.onChange = () => this.onChange?.();
    return r;
  }

  /** The camera's own stream, copied by the source, into segments of its own (record.mode raw / both). */
  private copiedRecorder(rec: RecordSettings, copy: StreamCopy): SegmentRecorder {
    const o = this.opts;
    const stream = new EncodedStream(`${o.camera} camera stream`);
    const r = new SegmentRecorder(o.camera, rec, o.logger, o.diskFree, o.recorderTiming, 'camera').attach(stream, { lossless: !o.live });
    r.onChange = () => this.onChange?.();
    const format = { fps: parseRational(o.video.fpsRational) || 25, fpsRational: o.video.fpsRational };
    copy.listener = {
      packet: (p) => {
        stream.publishCopied(p.track, p, format);
        return stream.backlogged ? stream.whenRoom() : undefined;
      },
      unsupported: (why) => {
        o.logger.warn({ reason: why }, `record.mode ${rec.mode}: ${why}; recording annotated`);
        copy.listener = null;
        stream.end();
        this.recorder ??= this.annotatedRecorder(rec);
        this.onChange?.();
      },
    };
    this.copyStream = stream;
    return r;
  }

  private copyStream: EncodedStream | null = null;

  /** One detector frame's detections at its time on the copied stream, beside the camera-stream segment. */
  detections(streamTime: number, frame: number, detections: Detection[]): void {
    this.cameraRecorder?.detections(streamTime, frame, detections);
  }

  /** false while nobody consumes the stream (no recording, RTSP output or live viewer): the pipeline skips drawing and encoding */
  get wanted(): boolean {
    return this.encoder.wanted;
  }

  write(frame: Buffer, pts: number): Promise<void> {
    return this.encoder.write(frame, pts);
  }

  /** The encoder's last pictures go out, then the recorders finish their segments. */
  async close(): Promise<void> {
    await this.encoder.close();
    this.rtspSub?.unsubscribe();
    if (this.copy) this.copy.listener = null;
    this.copyStream?.end();
    await Promise.all([this.recorder?.close(), this.cameraRecorder?.close()]);
  }

  get currentFile(): string | null {
    return this.recorder?.currentFile ?? this.cameraRecorder?.currentFile ?? null;
  }

  /** why recording stopped (it retries), null when it is fine or off */
  get error(): string | null {
    const why = this.recordingState()?.error;
    return why ? `recording stopped: ${why}` : null;
  }

  /** consumers of the camera's encode now (recorder, RTSP, live viewers) and the units they dropped so far */
  videoStats(): { consumers: number; dropped: number } {
    return { consumers: this.encoder.stream.subscribers, dropped: this.encoder.stream.droppedTotal };
  }

  /** null when the camera does not record; with both streams recorded, the two together */
  recordingState(): RecordingState | null {
    const states = [this.recorder?.state(), this.cameraRecorder?.state()].filter((x): x is RecordingState => x !== undefined);
    if (states.length <= 1) return states[0] ?? null;
    const [a, b] = states;
    return {
      recording: a.recording && b.recording,
      error: a.error ?? b.error,
      errors: a.errors + b.errors,
      file: a.file ?? b.file,
      dropped: a.dropped + b.dropped,
    };
  }
}
