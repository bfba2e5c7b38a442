import type { PixelFormat } from '../core/frame.js';
import type { Logger } from '../core/log.js';
import type { EncodedStream, Subscription } from './encoded-stream.js';
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
  readonly recorder: SegmentRecorder | null;
  private readonly rtspSub: Subscription | null;
  /** the recording state changed (failed, resumed): the pipeline republishes the camera status */
  onChange: (() => void) | null = null;

  constructor(opts: CameraOutputOptions) {
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
    this.recorder = rec
      ? new SegmentRecorder(opts.camera, rec, opts.logger, opts.diskFree, opts.recorderTiming).attach(opts.stream, { lossless: !opts.live })
      : null;
    if (this.recorder) this.recorder.onChange = () => this.onChange?.();
    const rtsp = opts.rtsp;
    this.rtspSub = rtsp ? opts.stream.subscribe((u) => rtsp.push(u, u.pts), { name: 'rtsp', queueLimit: RTSP_QUEUE }) : null;
  }

  /** false while nobody consumes the stream (no recording, RTSP output or live viewer): the pipeline skips drawing and encoding */
  get wanted(): boolean {
    return this.encoder.wanted;
  }

  write(frame: Buffer, pts: number): Promise<void> {
    return this.encoder.write(frame, pts);
  }

  /** The encoder's last pictures go out, then the recorder finishes its segment. */
  async close(): Promise<void> {
    await this.encoder.close();
    this.rtspSub?.unsubscribe();
    await this.recorder?.close();
  }

  get currentFile(): string | null {
    return this.recorder?.currentFile ?? null;
  }

  /** why recording stopped (it retries), null when it is fine or off */
  get error(): string | null {
    const why = this.recorder?.state().error;
    return why ? `recording stopped: ${why}` : null;
  }

  /** consumers of the camera's encode now (recorder, RTSP, live viewers) and the units they dropped so far */
  videoStats(): { consumers: number; dropped: number } {
    return { consumers: this.encoder.stream.subscribers, dropped: this.encoder.stream.droppedTotal };
  }

  /** null when the camera does not record */
  recordingState(): RecordingState | null {
    return this.recorder?.state() ?? null;
  }
}
