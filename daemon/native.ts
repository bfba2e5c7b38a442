/**
 * The typed face of the C++ addon (native/): exactly what it exports, nothing more.
 *
 * The addon is loaded on first use, so commands that never touch pixels (--help, check-config)
 * work before it is built. Path: $TRT_DETECT_ADDON, else <repo>/build/native/Release/trt_detect.node
 * (the repo is the nearest folder above this file with a package.json: works from daemon/ under
 * vitest and from dist/daemon/ once compiled).
 *
 * Pixel work runs on the libuv thread pool; every async function resolves or rejects, never blocks
 * the event loop. Buffers and typed arrays are used in place and must not be touched by JS until
 * the returned Promise settles.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { RuntimeFailure, errorMessage } from './core/errors.js';
import { packageRoot } from './core/files.js';
import type { PixelFormat } from './core/frame.js';

export interface PreprocessSpec {
  /** model input size */
  width: number;
  height: number;
  /** applied as ((px/255) - mean[c]) / std[c], c in the tensor's channel order */
  mean: [number, number, number];
  std: [number, number, number];
  /** channel order of the tensor (the frames' layout does not matter) */
  color: 'rgb' | 'bgr';
  /** letterbox: keep aspect, centre, pad with grey 127.5 (before normalisation) */
  resize: 'stretch' | 'letterbox';
}

/** input_px = src_px * scale + pad (per axis) */
export interface InputTransform {
  scaleX: number;
  scaleY: number;
  padX: number;
  padY: number;
}

export type PostprocessInput =
  /** scores [N,C] probabilities; boxes [N,4] normalized corners of the model input, x1,y1,x2,y2 (default) or y1,x1,y2,x2 */
  | { layout: 'scores_boxes'; scores: Float32Array; boxes: Float32Array; numBoxes: number; numClasses: number; boxOrder?: 'xyxy' | 'yxyx' }
  /** [K,7] = image_id,label,conf,x1,y1,x2,y2 normalized; keepCount limits rows when given */
  | { layout: 'nms7'; detections: Float32Array; count: number; keepCount?: number }
  /** boxes [maxDets,4] x1,y1,x2,y2 (normalized or model-input pixels) */
  | { layout: 'efficient_nms'; numDets: number; boxes: Float32Array; scores: Float32Array; classes: Float32Array | Int32Array; normalized: boolean };

export interface PostprocessOptions {
  /** model input size */
  inputWidth: number;
  inputHeight: number;
  /** source frame size */
  srcWidth: number;
  srcHeight: number;
  /** from preprocess */
  transform: InputTransform;
  /** keep score >= threshold */
  threshold: number;
  /** scores_boxes: a box whose IoU with a better box of its class is > nmsIou is suppressed */
  nmsIou: number;
  /** at most topK results; 0 = no limit */
  topK: number;
  /** keep only these class ids; empty = all */
  classes: number[];
  /** never reported (the background ids) */
  ignoreClasses: number[];
  /** drop a box that holds two or more better-scored boxes of its NMS group (a crowd detected as one) */
  dropGroupBoxes?: boolean;
  /** NMS group per class id (default: each class its own): classes reported under one label suppress each other */
  nmsGroups?: number[];
  /**
   * each detection also gets `appearance`, its colour feature for the tracker (native/src/appearance.h),
   * computed from the frame's pixels in the same native call (decodeSync then needs the frame)
   */
  appearance?: boolean;
}

/** Source-frame pixels, clipped to [0,w]x[0,h], x1<x2, y1<y2, sorted by score desc, at most topK. */
export interface RawDetection {
  classId: number;
  score: number;
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  /** with options.appearance: APPEARANCE_DIMS floats, unit length (dot product = colour similarity 0..1) */
  appearance?: Float32Array;
}

/** The length of a detection's appearance feature (kAppearanceDims of native/src/appearance.h). */
export const APPEARANCE_DIMS = 128;

/** The frame a decodeSync with options.appearance reads the boxes' pixels from. */
export interface DecodeFrame {
  data: Uint8Array;
  width: number;
  height: number;
  format?: PixelFormat;
}

/**
 * A model's outputs by role, for the addon's one-call decode (decodeSync, tensorrt.detect): each
 * role is an index into the list of output tensors passed with it (layouts.ts nativeLayout).
 */
export type NativeLayout =
  | { layout: 'scores_boxes'; scores: number; boxes: number; numBoxes: number; numClasses: number; boxOrder: 'xyxy' | 'yxyx' }
  | { layout: 'nms7'; detections: number; keepCount: number | null; count: number }
  | { layout: 'efficient_nms'; numDets: number; boxes: number; scores: number; classes: number };

/** The decode's options without the geometry (model input, frame size, transform), which the call fills in. */
export type DecodeOptions = Omit<PostprocessOptions, 'inputWidth' | 'inputHeight' | 'srcWidth' | 'srcHeight' | 'transform'>;

/** One model output as decodeSync reads it. */
export type OutputArray = Float32Array | Int32Array | BigInt64Array;

export interface DrawBox {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  classId: number;
  /** label text, e.g. "vehicle 0.91"; empty = box only; characters outside ASCII 32..126 draw as '?' */
  text: string;
}

export interface AddonInfo {
  version: string;
  tensorrt: boolean;
  cuda: boolean;
  gstreamer: boolean;
  /** the cap on glibc's malloc arenas the addon set when it loaded (2, or MALLOC_ARENA_MAX); null on another C library */
  mallocArenaMax: number | null;
}

/** What the .node file exports (native/src/addon.cc). */
interface Addon {
  preprocess(frame: Uint8Array, width: number, height: number, spec: PreprocessSpec, out: Float32Array, format?: PixelFormat): Promise<InputTransform>;
  postprocess(input: PostprocessInput, options: PostprocessOptions): Promise<RawDetection[]>;
  preprocessTimed(
    frame: Uint8Array,
    width: number,
    height: number,
    spec: PreprocessSpec,
    out: Float32Array,
    format?: PixelFormat,
  ): Promise<{ transform: InputTransform; ms: number }>;
  preprocessSync(frame: Uint8Array, width: number, height: number, spec: PreprocessSpec, out: Float32Array, format?: PixelFormat): InputTransform;
  decodeSync(
    outputs: OutputArray[],
    layout: NativeLayout,
    options: PostprocessOptions,
    frame?: Uint8Array,
    width?: number,
    height?: number,
    format?: PixelFormat,
  ): RawDetection[];
  draw(frame: Uint8Array, width: number, height: number, boxes: DrawBox[], format?: PixelFormat): Promise<void>;
  sdNotify(socketPath: string, state: string): boolean;
  openPipe(capacityBytes: number): PipeFds;
  mallocArenas(): number | null;
  info: AddonInfo;
}

const ADDON_RELATIVE_PATH = join('build', 'native', 'Release', 'trt_detect.node');

/** Where the addon is loaded from. */
function addonPath(): string {
  const fromEnv = process.env.TRT_DETECT_ADDON;
  if (fromEnv) return fromEnv;
  return join(packageRoot(), ADDON_RELATIVE_PATH);
}

let loaded: Addon | null = null;

function addon(): Addon {
  if (loaded) return loaded;
  const path = addonPath();
  if (!existsSync(path)) throw new RuntimeFailure(`native addon not built: run npm run setup (missing ${path})`);
  try {
    loaded = createRequire(import.meta.url)(path) as Addon;
  } catch (err) {
    throw new RuntimeFailure(`native addon ${path} could not be loaded (${errorMessage(err).split('\n')[0]}): run npm run setup to rebuild it`);
  }
  // an addon built from older sources (a checkout updated without npm run setup) lacks functions
  // the TypeScript calls: one clear line now rather than "x is not a function" mid-stream
  const missing = REQUIRED_EXPORTS.filter((name) => typeof (loaded as unknown as Record<string, unknown>)[name] !== 'function');
  if (missing.length) {
    loaded = null;
    throw new RuntimeFailure(`native addon ${path} is older than this trt-detect (no ${missing.join(', ')}): run npm run setup to rebuild it`);
  }
  return loaded;
}

/** The functions of the Addon interface above, checked when the addon loads. */
const REQUIRED_EXPORTS = [
  'preprocess',
  'postprocess',
  'preprocessTimed',
  'preprocessSync',
  'decodeSync',
  'draw',
  'sdNotify',
  'openPipe',
  'mallocArenas',
] as const;

/** The addon's whole export object (optional parts such as `tensorrt` included); loads it. */
export function addonExports(): Record<string, unknown> {
  return addon() as unknown as Record<string, unknown>;
}

/**
 * Frame in `format` (frameBytes(format, width, height) bytes; left out, the byte length tells RGB24
 * from RGBA) -> NCHW float32 tensor written into `out` (length 3*height*width), bilinear resize;
 * I420 is read as BT.601.
 */
export async function preprocess(
  frame: Buffer,
  width: number,
  height: number,
  spec: PreprocessSpec,
  out: Float32Array,
  format?: PixelFormat,
): Promise<InputTransform> {
  return addon().preprocess(frame, width, height, spec, out, format);
}

/** Decodes a detector's outputs, applies threshold/classes/NMS/topK, maps boxes to source pixels. */
export async function postprocess(input: PostprocessInput, options: PostprocessOptions): Promise<RawDetection[]> {
  return addon().postprocess(input, options);
}

/**
 * preprocess, also telling how long the work took on its worker thread (`ms`): the Promise settles
 * only when the calling thread is free, which in a thread that runs inference can be much later.
 */
export async function preprocessTimed(
  frame: Uint8Array,
  width: number,
  height: number,
  spec: PreprocessSpec,
  out: Float32Array,
  format?: PixelFormat,
): Promise<{ transform: InputTransform; ms: number }> {
  return addon().preprocessTimed(frame, width, height, spec, out, format);
}

/**
 * preprocess on the calling thread, for worker threads only (the ONNX Runtime thread): never call
 * it on the event loop. `frame` may be a view of a SharedArrayBuffer.
 */
export function preprocessSync(
  frame: Uint8Array,
  width: number,
  height: number,
  spec: PreprocessSpec,
  out: Float32Array,
  format?: PixelFormat,
): InputTransform {
  return addon().preprocessSync(frame, width, height, spec, out, format);
}

/**
 * Decodes a model's output tensors (in the order `layout`'s indices name them) with threshold,
 * classes, NMS and topK, boxes mapped to source pixels: postprocess on the calling thread, for
 * worker threads only (the ONNX Runtime thread).
 */
export function decodeSync(outputs: OutputArray[], layout: NativeLayout, options: PostprocessOptions, frame?: DecodeFrame): RawDetection[] {
  if (!options.appearance) return addon().decodeSync(outputs, layout, options);
  if (!frame) throw new Error('decodeSync: options.appearance needs the frame');
  return addon().decodeSync(outputs, layout, options, frame.data, frame.width, frame.height, frame.format);
}

/**
 * Draws boxes (2 px at <=720p, thicker for larger frames), a filled label background and the text
 * in place on the frame (`format` as for preprocess), colour per class id. Labels stay inside the frame.
 */
export async function draw(frame: Buffer, width: number, height: number, boxes: DrawBox[], format?: PixelFormat): Promise<void> {
  return addon().draw(frame, width, height, boxes, format);
}

export interface PipeFds {
  read: number;
  write: number;
  /** bytes the kernel gave the pipe (0 when unknown) */
  capacity: number;
}

/**
 * An anonymous pipe, both ends close-on-exec, with room for `capacityBytes` where the kernel allows
 * (Linux caps it at /proc/sys/fs/pipe-max-size, 1 MiB by default). Pass `write` to spawn's stdio
 * and close it here after the spawn.
 */
export function openPipe(capacityBytes: number): PipeFds {
  return addon().openPipe(Math.max(0, Math.min(Math.floor(capacityBytes), 1 << 30)));
}

/**
 * sd_notify: sends `state` (e.g. "READY=1\nSTATUS=...") as one datagram to $NOTIFY_SOCKET (a path
 * or an abstract '@' name). Returns false when NOTIFY_SOCKET is unset, true when sent; throws an
 * Error naming the socket when sending fails (e.g. nobody listens).
 */
export function sdNotify(state: string): boolean {
  const socket = process.env.NOTIFY_SOCKET;
  if (!socket) return false;
  return addon().sdNotify(socket, state);
}

/** How many malloc arenas the process has now (glibc's malloc_info; the cap is addonInfo.mallocArenaMax); null on another C library. */
export function mallocArenas(): number | null {
  return addon().mallocArenas();
}

/** What this build of the addon contains. Reading a field loads the addon (RuntimeFailure if it is missing). */
export const addonInfo: AddonInfo = {
  get version() {
    return addon().info.version;
  },
  get tensorrt() {
    return addon().info.tensorrt;
  },
  get cuda() {
    return addon().info.cuda;
  },
  get gstreamer() {
    return addon().info.gstreamer;
  },
  get mallocArenaMax() {
    return addon().info.mallocArenaMax;
  },
};
