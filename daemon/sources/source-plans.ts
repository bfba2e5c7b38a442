import type { PixelFormat } from '../core/frame.js';
import { RuntimeFailure } from '../core/errors.js';
import { gstFraction } from '../media/encoder.js';
import { ffmpegPath, ffmpegPixelFormat } from '../media/image-io.js';
import type { Platform } from '../media/platform.js';
import { COPY_OUTPUT_ARGS } from '../media/stream-copy.js';
import { maskSecrets } from '../core/secrets.js';
import type { SourceKind } from './types.js';

/**
 * How a live source is decoded: a child process (ffmpeg, or gst-launch-1.0 with the Jetson's
 * hardware elements) that writes raw frames to a pipe: I420 from ffmpeg, RGBA from GStreamer. ffmpeg writes frames to stdout and
 * its stream description to stderr; gst-launch writes frames to fd 3 and, with -v, the caps it
 * negotiated to stdout. The frame size is read from that description once the process runs.
 */
export interface LaunchPlan {
  backend: 'ffmpeg' | 'gstreamer';
  command: string;
  args: string[];
  /** the file descriptor carrying frames */
  frameFd: 1 | 3;
  /** the GStreamer pipeline as one line, for logs and tests (secrets masked) */
  describe: string;
  /** the layout of the frames on frameFd */
  pixelFormat: PixelFormat;
  /**
   * with a stream copy (record.mode raw): the camera's own packets as Matroska on fd 4
   * (media/stream-copy.ts), and each frame's own time on stderr (ffmpeg's showinfo)
   */
  copyFd?: 4;
}

export interface LiveSourceSettings {
  kind: Exclude<SourceKind, 'file'> | 'file';
  /** URL for rtsp, device path for v4l2, sensor id for csi, path for files */
  target: string;
  width: number | null;
  height: number | null;
  fps: number | null;
  rtspTransport: 'tcp' | 'udp';
  decoder: 'auto' | 'gstreamer' | 'ffmpeg';
  /**
   * the video codec ffprobe found: for files (the Jetson's hardware path is for H.264 in MP4/MOV);
   * for RTSP cameras on a Jetson (H.264 or H.265 pick the depayloader; anything else goes to ffmpeg)
   */
  codec?: string;
  /** files: frames at the file's own rate (the sink syncs to the clock), not as fast as they decode */
  realtime?: boolean;
}

/** A file the Jetson's fixed hardware pipeline (qtdemux ! h264parse ! nvv4l2decoder) can read. */
export function isH264Mp4(s: Pick<LiveSourceSettings, 'kind' | 'target' | 'codec'>): boolean {
  return s.kind === 'file' && s.codec === 'h264' && /\.(mp4|m4v|mov)$/i.test(s.target);
}

/** RTSP video the Jetson's hardware pipeline takes (ffprobe codec names); others go to ffmpeg. */
export const RTSP_HW_CODECS: readonly string[] = ['h264', 'hevc'];

/** CSI sensors (IMX219/IMX477) deliver this mode unless width/height/fps say otherwise. */
export const CSI_DEFAULT = { width: 1280, height: 720, fps: 30 };

/** Decides ffmpeg or GStreamer for a source (automatic, forced by `decoder`). */
export function chooseBackend(s: LiveSourceSettings, plat: Platform): 'ffmpeg' | 'gstreamer' {
  if (s.kind === 'csi') {
    if (!plat.jetson)
      throw new RuntimeFailure(
        `csi://${s.target}: CSI cameras need a Jetson (nvarguscamerasrc); this machine is not one (use v4l2:///dev/videoN for a USB camera, or rtsp://)`,
      );
    if (!plat.gstreamer)
      throw new RuntimeFailure(
        `csi://${s.target}: gst-launch-1.0 not found (install JetPack's GStreamer: apt-get install gstreamer1.0-tools nvidia-l4t-gstreamer)`,
      );
    if (s.decoder === 'ffmpeg') throw new RuntimeFailure(`csi://${s.target}: decoder: ffmpeg cannot read CSI cameras (use decoder: auto or gstreamer)`);
    return 'gstreamer';
  }
  if (s.decoder === 'ffmpeg') return 'ffmpeg';
  if (s.decoder === 'gstreamer') {
    if (!plat.gstreamer)
      throw new RuntimeFailure(
        `${s.kind} source: decoder: gstreamer but gst-launch-1.0 is not installed (apt-get install gstreamer1.0-tools gstreamer1.0-plugins-good gstreamer1.0-libav, or use decoder: ffmpeg)`,
      );
    return 'gstreamer';
  }
  // auto: the Jetson's hardware decoder where it exists, ffmpeg's software decoders elsewhere
  if (s.kind === 'file' && !isH264Mp4(s)) return 'ffmpeg';
  if (s.kind === 'rtsp' && s.codec !== undefined && !RTSP_HW_CODECS.includes(s.codec)) return 'ffmpeg';
  // the hardware pipelines need these too (h264parse/h265parse are in gstreamer1.0-plugins-bad)
  const parts = [
    'nvv4l2decoder',
    'nvvidconv',
    ...(s.kind === 'rtsp' ? ['rtspsrc', s.codec === 'hevc' ? 'h265parse' : 'h264parse'] : s.kind === 'file' ? ['qtdemux', 'h264parse'] : []),
  ];
  if (plat.jetson && plat.gstreamer && parts.every((e) => plat.hasElement(e))) return 'gstreamer';
  return 'ffmpeg';
}

/** Frame size and rate forced on the output: the configured ones, else the size the first connection had. */
export interface OutputShape {
  width: number | null;
  height: number | null;
  fps: number | null;
}

function ffmpegFilters(shape: OutputShape, showinfo: boolean): string[] {
  const f: string[] = [];
  if (shape.width && shape.height) f.push(`scale=${shape.width}:${shape.height}`);
  if (shape.fps) f.push(`fps=${shape.fps}`);
  if (showinfo) f.push('showinfo=checksum=0');
  return f.length ? ['-vf', f.join(',')] : [];
}

/**
 * Why a source cannot give its camera's own stream to the raw recorder (record.mode raw), or null
 * when it can: RTSP cameras decoded by ffmpeg copy it; CSI and V4L2 cameras deliver raw pictures,
 * and the GStreamer pipelines hand over decoded frames only.
 */
export function copyUnsupported(s: Pick<LiveSourceSettings, 'kind'>, backend: 'ffmpeg' | 'gstreamer'): string | null {
  if (s.kind === 'csi') return 'a CSI camera delivers raw pictures, there is no coded stream to copy';
  if (s.kind === 'v4l2') return 'a V4L2 camera delivers raw pictures here, there is no coded stream to copy';
  if (backend === 'gstreamer' && s.kind !== 'rtsp') return 'the GStreamer file pipeline hands over decoded frames only (decoder: ffmpeg copies the stream)';
  return null;
}

/**
 * The GStreamer branch of a copy (record.mode raw): from the `tee name=copy` after the camera's
 * parser, the stream as it came, length-prefixed (avc / hvc1) and whole pictures, into a live
 * Matroska stream on fd 4 (media/stream-copy.ts). gst-launch words, after the main chain.
 */
export function gstCopyBranch(codec: string | undefined): string[] {
  const [parse, caps] =
    codec === 'hevc' ? ['h265parse', 'video/x-h265,stream-format=hvc1,alignment=au'] : ['h264parse', 'video/x-h264,stream-format=avc,alignment=au'];
  return ['copy.', '!', 'queue', '!', parse, '!', caps, '!', 'matroskamux', 'streamable=true', '!', 'fdsink', 'fd=4', 'sync=false'];
}

/** identity that prints each decoded frame's own time (gst-launch -v: "stamp: last-message = chain ... pts: 0:00:01.234"), with a copy */
const STAMP = 'identity name=stamp silent=false';

/**
 * ffmpeg's arguments for a live source. `copy` (record.mode raw), this ffmpeg's passthrough
 * option (media/ffmpeg-features.ts passthroughArgs): also the camera's own packets on fd 4 and
 * each frame's time (showinfo) on stderr.
 */
export function ffmpegPlan(s: LiveSourceSettings, shape: OutputShape, copy: readonly string[] | null = null): LaunchPlan {
  const input: string[] = [];
  if (s.kind === 'rtsp') {
    // nobuffer: the packets ffmpeg reads while probing the stream (seconds of video) are not
    // delivered afterwards as one burst, which the live queue would drop and count
    input.push('-fflags', 'nobuffer', '-rtsp_transport', s.rtspTransport, '-i', s.target);
  } else if (s.kind === 'v4l2') {
    input.push('-f', 'v4l2');
    if (s.width && s.height) input.push('-video_size', `${s.width}x${s.height}`);
    if (s.fps) input.push('-framerate', String(s.fps));
    input.push('-i', s.target);
  } else if (s.kind === 'file') {
    input.push('-i', s.target);
  } else {
    throw new RuntimeFailure(`csi://${s.target}: ffmpeg cannot read CSI cameras (use decoder: gstreamer on a Jetson)`);
  }
  // I420: what the decoders produce and the encoders take, so nothing converts colours on the way
  const pixelFormat: PixelFormat = 'i420';
  const args = [
    '-nostdin',
    '-nostats',
    '-hide_banner',
    '-loglevel',
    'info',
    ...input,
    '-map',
    '0:v:0',
    '-an',
    '-sn',
    '-dn',
    ...ffmpegFilters(shape, copy !== null),
    // with showinfo the n-th frame on the pipe is the n-th line: no frame dropped or doubled after it
    ...(copy ?? []),
    '-f',
    'rawvideo',
    '-pix_fmt',
    ffmpegPixelFormat(pixelFormat),
    'pipe:1',
    ...(copy ? COPY_OUTPUT_ARGS : []),
  ];
  return {
    backend: 'ffmpeg',
    command: ffmpegPath(),
    args,
    frameFd: 1,
    describe: maskSecrets(`ffmpeg ${args.join(' ')}`),
    pixelFormat,
    ...(copy ? { copyFd: 4 as const } : {}),
  };
}

/**
 * gst-launch arguments from elements; a value in double quotes stays one word. `eos` (-e): stop by
 * sending end-of-stream, which nvarguscamerasrc needs to release the camera; not for the others,
 * because gst-launch 1.14/1.16 with -e keeps running after an error until an EOS that rtspsrc
 * never sends when it cannot connect.
 */
export function gstLaunchArgs(elements: string[], eos = false): string[] {
  const out: string[] = eos ? ['-e', '-v'] : ['-v'];
  elements.forEach((e, i) => {
    if (i > 0) out.push('!');
    out.push(...(e.match(/(?:[^\s"]+|"[^"]*")+/g) ?? []));
  });
  return out;
}

function rawCaps(format: string, shape: OutputShape): string {
  const parts = [`video/x-raw,format=${format}`];
  if (shape.width && shape.height) parts.push(`width=${shape.width}`, `height=${shape.height}`);
  if (shape.fps) parts.push(`framerate=${gstFraction(shape.fps)}`);
  return parts.join(',');
}

const quote = (v: string) => `"${v.replace(/"/g, '%22')}"`;

/**
 * An RTSP URL's credentials apart from it, for rtspsrc's `user-id`/`user-pw` properties: the
 * password stays out of the URL (rtspsrc's own URL parser cuts a password at its first `@` or
 * `:`), and both are percent-decoded. The user info ends at the last `@` before the query, as
 * maskSecrets reads it (a password may hold `@`, `:` and `/`). Credentials that gst-launch cannot quote (a `"` or `\`) stay in the URL.
 * (gst-launch takes properties on its command line too: the systemd unit hides the service's
 * processes from other users, ProtectProc=invisible.)
 */
export function rtspCredentials(url: string): { location: string; user: string | null; password: string | null } {
  const m = /^(rtsps?:\/\/)(.*)$/i.exec(url);
  const none = { location: url, user: null, password: null };
  if (!m) return none;
  const rest = m[2];
  const firstAt = rest.indexOf('@');
  if (firstAt < 0) return none;
  const end = rest.slice(firstAt).search(/[?#]/);
  const at = rest.lastIndexOf('@', end < 0 ? rest.length : firstAt + end);
  const userinfo = rest.slice(0, at);
  if (/^[a-z0-9.\-[\]]+(:\d{1,5})?\//i.test(userinfo) && !userinfo.slice(0, userinfo.indexOf('/')).includes('@')) return none; // rtsp://host/a@b: an @ in the path
  const colon = userinfo.indexOf(':');
  const decode = (v: string) => {
    try {
      return decodeURIComponent(v);
    } catch {
      return v;
    }
  };
  const user = decode(colon < 0 ? userinfo : userinfo.slice(0, colon));
  const password = colon < 0 ? null : decode(userinfo.slice(colon + 1));
  if (/["\\]/.test(user + (password ?? ''))) return none;
  return { location: m[1] + rest.slice(at + 1), user, password };
}

/**
 * GStreamer pipeline elements for a source. On a Jetson decoding uses nvv4l2decoder, and scaling
 * and color conversion nvvidconv (the VIC engine, NVMM memory in, no CPU work) straight to the RGBA
 * frames the addon and the encoders take. Elsewhere the software decoders (decodebin) and RGBA too.
 */
export function gstElements(s: LiveSourceSettings, shape: OutputShape, plat: Platform, copy = false): string[] {
  const sink = `fdsink name=out fd=3 sync=${s.kind === 'file' && s.realtime ? 'true' : 'false'}`;
  // nvvidconv scales with nearest-neighbour unless told otherwise: bilinear (1) when it scales
  const scaling = s.kind !== 'csi' && shape.width && shape.height ? ' interpolation-method=1' : '';
  const toRgbaFromNvmm = [
    `nvvidconv${s.kind === 'csi' ? ' flip-method=0' : ''}${scaling}`,
    rawCaps('RGBA', { width: shape.width, height: shape.height, fps: null }),
  ];
  // RGBA, not RGB: GStreamer pads RGB rows to a multiple of 4 bytes (a 854-wide frame would come
  // out skewed to a reader that expects width * 3 per row); RGBA rows are always whole
  const toRgbaSoftware = ['videoconvert', 'videoscale', ...(shape.fps ? ['videorate'] : []), rawCaps('RGBA', shape)];
  // nvvidconv then videorate: the rate is set on the plain RGBA frames
  const fromNvmm = [...toRgbaFromNvmm, ...(shape.fps ? ['videorate', rawCaps('RGBA', { width: null, height: null, fps: shape.fps })] : [])];
  const hw = plat.jetson && plat.hasElement('nvv4l2decoder');
  // decodebin on a Jetson picks NVIDIA's decoders where it can (nvv4l2decoder for H.265, VP8/VP9,
  // MPEG-4, ...), whose frames are in NVMM memory that videoconvert cannot read; nvvidconv reads
  // NVMM and plain frames alike
  const afterDecodebin = plat.jetson && plat.hasElement('nvvidconv') ? fromNvmm : toRgbaSoftware;
  switch (s.kind) {
    case 'csi': {
      const w = s.width ?? CSI_DEFAULT.width;
      const h = s.height ?? CSI_DEFAULT.height;
      const fps = s.fps ?? CSI_DEFAULT.fps;
      return [
        `nvarguscamerasrc sensor-id=${s.target}`,
        `video/x-raw(memory:NVMM),width=${w},height=${h},framerate=${gstFraction(fps)},format=NV12`,
        ...toRgbaFromNvmm,
        sink,
      ];
    }
    case 'rtsp': {
      const { location, user, password } = rtspCredentials(s.target);
      const login = (user !== null ? ` user-id=${quote(user)}` : '') + (password !== null ? ` user-pw=${quote(password)}` : '');
      const src = `rtspsrc location=${quote(location)}${login} protocols=${s.rtspTransport} latency=200`;
      const [depay, parse] = s.codec === 'hevc' ? ['rtph265depay', 'h265parse'] : ['rtph264depay', 'h264parse'];
      // with a copy (record.mode raw): the parsed stream goes to a tee, whose other branch is gstCopyBranch
      if (copy) {
        const decode = hw ? ['nvv4l2decoder', ...fromNvmm] : ['decodebin', ...afterDecodebin];
        return [src, depay, parse, 'tee name=copy', 'queue', ...decode, STAMP, sink];
      }
      if (hw) return [src, depay, parse, 'nvv4l2decoder', ...fromNvmm, sink];
      return [src, 'decodebin', ...afterDecodebin, sink];
    }
    case 'v4l2': {
      const caps = s.width && s.height ? [`video/x-raw,width=${s.width},height=${s.height}${s.fps ? `,framerate=${gstFraction(s.fps)}` : ''}`] : [];
      return [`v4l2src device=${quote(s.target)}`, ...caps, ...toRgbaSoftware, sink];
    }
    case 'file': {
      const src = `filesrc location=${quote(s.target)}`;
      if (hw && isH264Mp4(s)) return [src, 'qtdemux', 'h264parse', 'nvv4l2decoder', ...fromNvmm, sink];
      return [src, 'decodebin', ...afterDecodebin, sink];
    }
  }
}

/** gst-launch's command for a source; `copy`: also the camera's own stream on fd 4 and each frame's time on stdout (RTSP only). */
export function gstPlan(s: LiveSourceSettings, shape: OutputShape, plat: Platform, copy = false): LaunchPlan {
  const withCopy = copy && s.kind === 'rtsp';
  const elements = gstElements(s, shape, plat, withCopy);
  const branch = withCopy ? gstCopyBranch(s.codec) : [];
  // every GStreamer pipeline ends in RGBA caps (see gstElements)
  return {
    backend: 'gstreamer',
    command: 'gst-launch-1.0',
    args: [...gstLaunchArgs(elements, s.kind === 'csi'), ...branch],
    frameFd: 3,
    describe: maskSecrets([elements.join(' ! '), ...(withCopy ? [branch.join(' ')] : [])].join(' ')),
    pixelFormat: 'rgba',
    ...(withCopy ? { copyFd: 4 as const } : {}),
  };
}

/** The command of one connection; `copy` as ffmpegPlan's (only sources that can copy use it: copyUnsupported). */
export function launchPlan(s: LiveSourceSettings, shape: OutputShape, plat: Platform, copy: readonly string[] | null = null): LaunchPlan {
  const backend = chooseBackend(s, plat);
  const copying = copy !== null && copyUnsupported(s, backend) === null;
  return backend === 'gstreamer' ? gstPlan(s, shape, plat, copying) : ffmpegPlan(s, shape, copying ? copy : null);
}

/**
 * Reads the frame size and rate a running process announces, line by line. ffmpeg describes its
 * output stream after "Output #0"; it is only read there, because an input that is raw I420 itself
 * (a V4L2 camera) is described in the same words before it.
 */
export function streamInfoReader(backend: 'ffmpeg' | 'gstreamer'): (line: string) => { width: number; height: number; fps: number | null } | null {
  let inOutput = backend === 'gstreamer';
  return (line) => {
    if (!inOutput) {
      inOutput = /^Output #\d+/.test(line);
      return null;
    }
    return parseStreamInfo(backend, line);
  };
}

/** The frame size and rate a running process announced, from one line of its output. */
export function parseStreamInfo(backend: 'ffmpeg' | 'gstreamer', line: string): { width: number; height: number; fps: number | null } | null {
  if (backend === 'ffmpeg') {
    // "  Stream #0:0: Video: rawvideo (I420 / 0x30323449), yuv420p(tv, progressive), 640x480 [SAR 1:1 DAR 4:3], q=2-31, 110592 kb/s, 25 fps, 25 tbn"
    if (!/Stream #\d+:\d+.*Video: rawvideo \(I420 /.test(line)) return null;
    const size = /, (\d{1,5})x(\d{1,5})[, ]/.exec(line);
    if (!size) return null;
    const fps = /, ([\d.]+) fps/.exec(line);
    return { width: Number(size[1]), height: Number(size[2]), fps: fps ? Number(fps[1]) : null };
  }
  // "/GstPipeline:pipeline0/GstFdSink:out.GstPad:sink: caps = video/x-raw, format=(string)RGB, width=(int)640, height=(int)480, framerate=(fraction)30/1, ..."
  if (!/GstFdSink:out\.GstPad:sink: caps = video\/x-raw/.test(line)) return null;
  const w = /width=\(int\)(\d+)/.exec(line);
  const h = /height=\(int\)(\d+)/.exec(line);
  if (!w || !h) return null;
  const f = /framerate=\(fraction\)(\d+)\/(\d+)/.exec(line);
  const fps = f && Number(f[2]) > 0 && Number(f[1]) > 0 ? Number(f[1]) / Number(f[2]) : null;
  return { width: Number(w[1]), height: Number(h[1]), fps };
}
