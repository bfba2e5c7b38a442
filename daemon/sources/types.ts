import type { Frame, PixelFormat } from '../core/frame.js';
import type { StreamCopy } from '../media/stream-copy.js';
import type { FramePool } from './frame-pool.js';

/** What every source (file, RTSP, CSI, V4L2; ffmpeg or GStreamer) gives the camera pipeline. */
export interface VideoSource {
  /** live sources drop the oldest frame when the pipeline falls behind; files never drop */
  readonly live: boolean;
  readonly info: {
    width: number;
    height: number;
    fps: number;
    fpsRational: string;
    frameCount: number | null;
    pixelFormat?: PixelFormat;
    timescale?: number | null;
  };
  readonly pool: FramePool;
  frames(): AsyncGenerator<Frame>;
  stop(): void;
  /** set when a file could only be decoded part-way */
  readonly truncated: string | null;
  /**
   * Live sources call this when they lose their camera (`reconnecting`, with the reason) and when
   * frames flow again (`streaming`); the pipeline publishes it as the camera status.
   */
  onState?: (state: 'reconnecting' | 'streaming', reason?: string) => void;
  /** reconnect attempts so far (live sources) */
  readonly reconnects?: number;
  /**
   * the source's own coded packets beside the frames, when openSource was asked for them (copy)
   * and the source can; frames then carry `streamTime` (media/stream-copy.ts)
   */
  readonly copy?: StreamCopy | null;
  /** why the source cannot copy its stream although asked to (record.mode raw falls back to annotated) */
  readonly copyUnavailable?: string | null;
}

export type SourceKind = 'file' | 'rtsp' | 'csi' | 'v4l2';
