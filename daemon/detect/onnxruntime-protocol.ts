/** The messages between onnxruntime-thread.ts (the main thread) and onnxruntime-worker.ts. */

export interface TensorMeta {
  name: string;
  isTensor: boolean;
  type?: string;
  shape?: Array<number | string>;
}

/** Where the thread put one output in its slot's output buffer. */
export interface OutputPlace {
  type: string;
  dims: number[];
  /** byte offset in the slot's output buffer */
  offset: number;
  /** number of elements */
  length: number;
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

export type Request =
  | { id: number; type: 'open'; session: number; modelPath: string; options: SessionOptions }
  /** the slot's input tensor, shared once: calls send only the slot number */
  | { id: number; type: 'slot'; session: number; slot: number; input: SharedArrayBuffer }
  | { id: number; type: 'run'; session: number; slot: number; inputName: string; dims: number[] }
  | { id: number; type: 'close'; session: number };

/** Distributes Omit over a union (plain Omit would merge the members). */
export type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

export interface Reply {
  id: number;
  ok: boolean;
  error?: string;
  inputNames?: string[];
  outputNames?: string[];
  inputMetadata?: TensorMeta[];
  outputMetadata?: TensorMeta[];
  outputs?: Record<string, OutputPlace>;
  /** a new, larger output buffer for the slot (the outputs grew) */
  out?: SharedArrayBuffer;
}
