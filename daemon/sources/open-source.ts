import { fileURLToPath } from 'node:url';
import { ConfigError } from '../core/errors.js';
import { platform, type Platform } from '../media/platform.js';
import type { Logger } from '../core/log.js';
import { probeVideo } from '../media/probe.js';
import { StreamCopy } from '../media/stream-copy.js';
import { FfmpegFileSource } from './ffmpeg-file-source.js';
import { GstFileSource } from './gst-file-source.js';
import { LiveSource } from './live-source.js';
import { chooseBackend } from './source-plans.js';
import type { SourceKind, VideoSource } from './types.js';

/** Parses a camera source (docs/configuration.md): csi://N, rtsp(s)://…, v4l2:///dev/videoN, file:///…, or a plain path. */
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

/** A camera's source settings beyond its URI (config keys cameras.X.*). */
export interface SourceOptions {
  loop?: boolean;
  /** files: deliver frames at the file's own rate instead of as fast as they are taken */
  realtime?: boolean;
  width?: number | null;
  height?: number | null;
  fps?: number | null;
  rtsp_transport?: 'tcp' | 'udp';
  decoder?: 'auto' | 'gstreamer' | 'ffmpeg';
  stall_timeout_seconds?: number;
  /** retry pauses (tests shorten them); default 1 s doubling to 30 s */
  backoff?: { initialMs: number; maxMs: number };
  platform?: Platform;
  logger?: Logger;
  /**
   * also the camera's own coded stream, not decoded (record.mode raw): `source.copy`, or
   * `source.copyUnavailable` saying why this source cannot (a CSI or V4L2 camera, GStreamer decoding)
   */
  copy?: boolean;
}

/**
 * Opens a camera's source. Files are probed first so a bad file fails with one clear line; live
 * sources (rtsp, v4l2, csi) return at once and connect in `frames()`, reconnecting by themselves.
 */
export async function openSource(source: string, opts: SourceOptions = {}): Promise<VideoSource> {
  const { kind, target } = parseSource(source);
  if (kind === 'file') {
    const info = await probeVideo(target);
    const plat = opts.platform ?? platform();
    const settings = { kind, target, width: null, height: null, fps: null, rtspTransport: 'tcp', decoder: opts.decoder ?? 'auto', codec: info.codec } as const;
    // a copy comes from ffmpeg: files that would go to the Jetson's GStreamer decoder take ffmpeg's instead, unless forced
    const gst = opts.copy && opts.decoder !== 'gstreamer' ? false : chooseBackend(settings, plat) === 'gstreamer';
    if (gst) {
      const source = new GstFileSource(target, info, plat, { loop: opts.loop, realtime: opts.realtime });
      if (opts.copy) source.copyUnavailable = 'the GStreamer decoder hands over decoded frames only (decoder: ffmpeg copies the stream)';
      return source;
    }
    return new FfmpegFileSource(target, info, { loop: opts.loop, realtime: opts.realtime, copy: opts.copy ? new StreamCopy() : null });
  }
  if (kind === 'csi' && !/^\d+$/.test(target)) throw new ConfigError(`source: invalid CSI sensor "${target}" (write csi://0, csi://1, ...)`);
  return new LiveSource({
    settings: {
      kind,
      target,
      width: opts.width ?? null,
      height: opts.height ?? null,
      fps: opts.fps ?? null,
      rtspTransport: opts.rtsp_transport ?? 'tcp',
      decoder: opts.decoder ?? 'auto',
    },
    stallTimeoutMs: (opts.stall_timeout_seconds ?? 10) * 1000,
    ...(opts.backoff ? { backoff: opts.backoff } : {}),
    ...(opts.platform ? { platform: opts.platform } : {}),
    ...(opts.logger ? { logger: opts.logger } : {}),
    ...(opts.copy ? { copy: new StreamCopy() } : {}),
  });
}
