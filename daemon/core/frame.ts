/**
 * How a frame's bytes are laid out, rows and planes packed: `i420` (planar YUV 4:2:0, BT.601: the Y
 * plane, then U and V at half size each way, rounded up; what ffmpeg's decoders produce and its
 * encoders take, so no colour conversion happens on the way in or out, and half the bytes of RGB),
 * `rgb24` (3 bytes a pixel) or `rgba` (4 bytes, R G B then a byte nobody reads: what the Jetson's
 * nvvidconv and the GStreamer pipelines hand over).
 */
export type PixelFormat = 'rgb24' | 'rgba' | 'i420';

/** Bytes of one width x height frame in `format` (default rgb24). */
export function frameBytes(format: PixelFormat | undefined, width: number, height: number): number {
  if (format === 'i420') return width * height + 2 * Math.ceil(width / 2) * Math.ceil(height / 2);
  return width * height * (format === 'rgba' ? 4 : 3);
}

/** One frame held in a Node Buffer (pixels are only touched by the addon and the encoders). */
export interface Frame {
  /** frameBytes(format, width, height) bytes */
  data: Buffer;
  width: number;
  height: number;
  /** index of the decoded frame from 0 */
  index: number;
  /** presentation time, seconds from the start of the source */
  pts: number;
  /** default rgb24 */
  format?: PixelFormat;
  /**
   * the frame's time on the source's copied stream (record.mode raw: media/stream-copy.ts), set
   * only by a source that copies; the raw recorder writes the frame's detections at this time
   */
  streamTime?: number;
}
