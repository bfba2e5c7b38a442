/** The messages between onnxruntime-thread.ts (the main thread) and onnxruntime-worker.ts. */
import type { DecodeOptions, InputTransform, NativeLayout, PreprocessSpec, RawDetection } from '../native.js';
import type { PixelFormat } from '../core/frame.js';

export interface TensorMeta {
  name: string;
  isTensor: boolean;
  type?: string;
  shape?: Array<number | string>;
}

/** ONNX Runtime session options, as the main thread asks for them. */
export interface SessionOptions {
  executionProviders: string[];
  graphOptimizationLevel: 'disabled' | 'basic' | 'extended' | 'all';
  executionMode: 'sequential' | 'parallel';
  intraOpNumThreads?: number;
  interOpNumThreads?: number;
  /** ONNX Runtime session config entries (`session.intra_op.allow_spinning`, ...) */
  extra?: Record<string, unknown>;
}

/** What a session detects with: set once after open. */
export interface DetectSetup {
  inputName: string;
  spec: PreprocessSpec;
  /** roles as indices into outputNames */
  layout: NativeLayout;
  outputNames: string[];
  /** frames in flight at once: each slot has its own frame buffer and input tensor */
  slots: number;
}

export type Request =
  | { id: number; type: 'open'; session: number; modelPath: string; options: SessionOptions }
  | { id: number; type: 'setup'; session: number; setup: DetectSetup }
  /**
   * One frame: its bytes are in the slot's shared frame buffer (`frame` when the buffer is new or
   * grew; else the one sent before). Everything else happens in the thread.
   */
  | {
      id: number;
      type: 'detect';
      session: number;
      slot: number;
      frame?: SharedArrayBuffer;
      bytes: number;
      width: number;
      height: number;
      format?: PixelFormat;
      options: DecodeOptions;
    }
  | { id: number; type: 'close'; session: number };

/** Distributes Omit over a union (plain Omit would merge the members). */
export type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

/** One frame's result: only the final boxes. */
export interface DetectReply {
  detections: RawDetection[];
  transform: InputTransform;
  preprocessMs: number;
  inferenceMs: number;
  postprocessMs: number;
}

export interface Reply {
  id: number;
  ok: boolean;
  error?: string;
  inputNames?: string[];
  outputNames?: string[];
  inputMetadata?: TensorMeta[];
  outputMetadata?: TensorMeta[];
  /** preallocated output tensors (ONNX Runtime writes into them) */
  preallocated?: boolean;
  result?: DetectReply;
}
