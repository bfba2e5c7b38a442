import type { ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { frameBytes, type PixelFormat } from '../core/frame.js';
import { ffmpegPath, ffmpegPixelFormat } from './image-io.js';
import { spawnMedia } from './media-process.js';
import { platform, type Platform } from './platform.js';
import { parseRational } from './probe.js';
import { x264Args } from './x264.js';

/**
 * H.264 encoders for annotated frames (I420, RGB24 or RGBA on stdin → Annex-B byte stream on stdout): the
 * Jetson's hardware encoder through GStreamer (nvv4l2h264enc, or omxh264enc on older JetPacks)
 * where it exists, libx264 through ffmpeg everywhere else. Every access unit starts with a
 * delimiter, keyframes repeat SPS/PPS, there are no B-frames (one picture out per picture in).
 */

export interface EncoderInput {
  width: number;
  height: number;
  /** ffmpeg rational ("30000/1001") or number */
  fps: string | number;
  /** keyframe interval in frames; default one second */
  gop?: number;
  /** the frames' layout; default rgb24 */
  pixelFormat?: PixelFormat;
  /** libx264's preset and crf (record.preset, record.crf; default x264.ts DEFAULT_PRESET, DEFAULT_CRF); the hardware encoders ignore them */
  preset?: string;
  crf?: number;
}

export interface Command {
  command: string;
  args: string[];
  /** which encoder this is, for logs */
  encoder: 'nvv4l2h264enc' | 'omxh264enc' | 'libx264';
  /**
   * the descriptor the H.264 stream comes out of: 3 for GStreamer (NVIDIA's codec libraries print
   * to stdout, e.g. "Opening in BLOCKING MODE", which must not land in the stream), 1 for ffmpeg
   */
  outputFd: 1 | 3;
}

/** Starts a stream encoder: frames go to `stdin`, the H.264 byte stream comes out of `output`. */
export function spawnStreamEncoder(cmd: Command): { proc: ChildProcess; stdin: Writable; output: Readable; stderr: Readable } {
  const proc = spawnMedia(cmd.command, cmd.args, { stdio: cmd.outputFd === 3 ? ['pipe', 'ignore', 'pipe', 'pipe'] : ['pipe', 'pipe', 'pipe'] });
  return { proc, stdin: proc.stdin as Writable, output: proc.stdio[cmd.outputFd] as Readable, stderr: proc.stderr as Readable };
}

/** "30000/1001" / 12.5 → GStreamer fraction "30000/1001" / "25/2". */
export function gstFraction(fps: string | number): string {
  const s = String(fps);
  if (/^\d+\/\d+$/.test(s)) return s;
  const n = Number(s);
  if (Number.isInteger(n)) return `${n}/1`;
  return `${Math.round(n * 1000)}/1000`;
}

function gop(input: EncoderInput): number {
  return input.gop ?? Math.max(1, Math.round(parseRational(String(input.fps)) || Number(input.fps) || 25));
}

/** The hardware encoder this machine has, if any. */
export function hardwareEncoder(plat: Platform = platform()): 'nvv4l2h264enc' | 'omxh264enc' | null {
  if (!plat.jetson || !plat.gstreamer) return null;
  if (plat.hasElement('nvv4l2h264enc')) return 'nvv4l2h264enc';
  if (plat.hasElement('omxh264enc')) return 'omxh264enc';
  return null;
}

/** gst-launch arguments: one element per word, `!` between elements. */
export function gstArgs(elements: string[]): string[] {
  const out: string[] = ['-q'];
  elements.forEach((e, i) => {
    if (i > 0) out.push('!');
    out.push(...e.split(' ').filter(Boolean));
  });
  return out;
}

/**
 * rawvideoparse's description of our frames. GStreamer expects RGB rows, and each I420 plane's rows,
 * padded to a multiple of 4 bytes; ours are packed. Where the two differ (854, 1366 ... wide) it is
 * told the real strides, and for I420 where each plane starts.
 */
function rawLayout(input: EncoderInput): string {
  const { width, height } = input;
  if (input.pixelFormat === 'rgba') return 'format=rgba';
  if (input.pixelFormat === 'i420') {
    const cw = Math.ceil(width / 2);
    const chroma = cw * Math.ceil(height / 2);
    return `format=i420 plane-strides=<${width},${cw},${cw}> plane-offsets=<0,${width * height},${width * height + chroma}>`;
  }
  const stride = width * 3;
  return `format=rgb${stride % 4 !== 0 ? ` plane-strides=<${stride}>` : ''}`;
}

/** The encoder command for a live H.264 stream. */
export function h264StreamEncoder(input: EncoderInput, plat: Platform = platform()): Command {
  const g = gop(input);
  const hw = hardwareEncoder(plat);
  if (hw) {
    const enc =
      hw === 'nvv4l2h264enc'
        ? `nvv4l2h264enc insert-sps-pps=true insert-aud=true iframeinterval=${g} idrinterval=${g} maxperf-enable=true`
        : `omxh264enc insert-sps-pps=true insert-aud=true iframeinterval=${g}`;
    return {
      command: 'gst-launch-1.0',
      encoder: hw,
      outputFd: 3,
      args: gstArgs([
        `fdsrc fd=0 blocksize=${frameBytes(input.pixelFormat, input.width, input.height)}`,
        `rawvideoparse width=${input.width} height=${input.height} ${rawLayout(input)} framerate=${gstFraction(input.fps)}`,
        // nvvidconv takes RGBA and I420 from system memory itself; RGB needs a CPU conversion first
        ...(input.pixelFormat === 'rgb24' || input.pixelFormat === undefined ? ['videoconvert', 'video/x-raw,format=I420'] : []),
        'nvvidconv',
        'video/x-raw(memory:NVMM),format=NV12',
        enc,
        'video/x-h264,stream-format=byte-stream,alignment=au',
        'fdsink fd=3 sync=false',
      ]),
    };
  }
  return {
    command: ffmpegPath(),
    encoder: 'libx264',
    outputFd: 1,
    args: [
      '-nostdin',
      '-hide_banner',
      '-loglevel',
      'error',
      '-f',
      'rawvideo',
      '-pix_fmt',
      ffmpegPixelFormat(input.pixelFormat),
      '-s',
      `${input.width}x${input.height}`,
      '-r',
      String(input.fps),
      '-i',
      'pipe:0',
      '-an',
      ...x264Args(g, input.preset, input.crf),
      // no frame threads' delay: the live view and RTSP clients see a frame as soon as it is encoded
      '-tune',
      'zerolatency',
      '-x264-params',
      'repeat-headers=1:aud=1',
      '-f',
      'h264',
      'pipe:1',
    ],
  };
}
