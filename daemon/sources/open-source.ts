import { fileURLToPath } from 'node:url';
import { ConfigError, RuntimeFailure } from '../errors.js';
import { probeVideo } from '../media/probe.js';
import type { Frame } from '../detect/types.js';
import { FfmpegFileSource } from './ffmpeg-file-source.js';
import type { FramePool } from './frame-pool.js';

export interface VideoSource {
  /** live sources drop the oldest frame when the pipeline falls behind; files never drop */
  readonly live: boolean;
  readonly info: { width: number; height: number; fps: number; fpsRational: string; frameCount: number | null };
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
}

export type SourceKind = 'file' | 'rtsp' | 'csi' | 'v4l2';

/** Parses a camera source (SPEC section 3): csi://N, rtsp(s)://…, v4l2:///dev/videoN, file:///…, or a plain path. */
export function parseSource(source: string): { kind: SourceKind; target: string } {
  const m = /^([a-z][a-z0-9+.-]*):\/\//i.exec(source);
  if (!m) return { kind: 'file', target: source };
  const scheme = m[1].toLowerCase();
  if (scheme === 'file') return { kind: 'file', target: fileURLToPath(source) };
  if (scheme === 'rtsp' || scheme === 'rtsps') return { kind: 'rtsp', target: source };
  if (scheme === 'csi') return { kind: 'csi', target: source.slice(m[0].length) || '0' };
  if (scheme === 'v4l2') return { kind: 'v4l2', target: source.slice(m[0].length) || '/dev/video0' };
  throw new ConfigError(`source: unsupported scheme "${scheme}" (expected csi, rtsp, v4l2, file)`);
}

/** Opens a camera's source. Files are probed first so a bad file fails with one clear line. */
export async function openSource(source: string, opts: { loop?: boolean } = {}): Promise<VideoSource> {
  const { kind, target } = parseSource(source);
  if (kind !== 'file') {
    throw new RuntimeFailure(`${kind} sources are not supported by this build yet (use a file source)`);
  }
  const info = await probeVideo(target);
  return new FfmpegFileSource(target, info, { loop: opts.loop });
}
