import { Worker } from 'node:worker_threads';
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { RuntimeFailure, errorMessage } from '../core/errors.js';
import { packageRoot } from '../core/files.js';
import type { Reply, Request, SessionOptions, TensorMeta, WithoutId } from './onnxruntime-protocol.js';

export interface OutputTensor {
  type: string;
  dims: readonly number[];
  data: Float32Array | Int32Array | BigInt64Array | Uint8Array | Float64Array;
}

/**
 * onnxruntime-node runs `session.run()` synchronously on the calling thread (its promise only
 * defers the call with setImmediate), so inference on the main thread would block the event loop
 * for the whole inference: MQTT keep-alives, the HTTP health endpoint and the systemd watchdog
 * would all stall with it. The session therefore lives in a worker thread.
 *
 * Tensors live in SharedArrayBuffers, one input and one output buffer per slot, handed to the
 * thread once: a call sends only a slot number and gets back where each output lies in that
 * slot's output buffer. Nothing frame-sized is allocated, transferred or cloned per call (the
 * thread copies the input into a plain buffer, which onnxruntime-node needs: about 0.1 ms).
 * (Transferring a 1 MB input buffer there and back on every call made V8 account 2 MB of new
 * external memory per frame; with an MQTT connection open in the same process that started a
 * full garbage collection several times a second, measured with --trace-gc.)
 */

type TypedArrayOf = new (buffer: SharedArrayBuffer, byteOffset: number, length: number) => OutputTensor['data'];
const OUTPUT_ARRAYS: Record<string, TypedArrayOf> = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  bool: Uint8Array,
};

/**
 * The worker's module: onnxruntime-worker.js beside this module in dist/. Run from the TypeScript
 * sources (the test runner), the compiled one in dist/ (npm test's setup compiles it), checked to
 * be no older than its source.
 */
function workerFile(): URL {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return new URL('./onnxruntime-worker.js', import.meta.url);
  const source = here.replace(/onnxruntime-thread\.ts$/, 'onnxruntime-worker.ts');
  const built = `${packageRoot()}/dist/daemon/detect/onnxruntime-worker.js`;
  if (!existsSync(built) || statSync(built).mtimeMs < statSync(source).mtimeMs) {
    throw new RuntimeFailure(`${built} is missing or older than ${source} (run npm run build:ts)`);
  }
  return new URL(`file://${built}`);
}

/**
 * The one inference thread of the process. onnxruntime-node's binding is not context-aware: it
 * loads into one thread per process only, so every session lives in this thread, which is never
 * terminated (it is unref'd while idle, so it does not keep the process alive).
 */
class InferenceThread {
  private readonly pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private dead: Error | null = null;
  private readonly worker: Worker;

  constructor() {
    this.worker = new Worker(workerFile());
    this.worker.on('message', (reply: Reply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) this.worker.unref();
      p.resolve(reply);
    });
    const die = (err: Error) => {
      this.dead = err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
      if (shared === this) shared = null;
    };
    this.worker.on('error', (err) => die(new RuntimeFailure(`onnxruntime thread failed (${errorMessage(err)})`)));
    this.worker.on('exit', (code) => die(new RuntimeFailure(`onnxruntime thread exited (code ${code})`)));
    this.worker.unref();
  }

  request(msg: WithoutId<Request>): Promise<Reply> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise<Reply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.ref();
      this.worker.postMessage({ ...msg, id });
    });
  }
}

let shared: InferenceThread | null = null;
let nextSession = 1;

/** An ONNX Runtime session living in the inference thread. Calls are answered in order. */
export class OnnxRuntimeThread {
  inputNames: string[] = [];
  outputNames: string[] = [];
  inputMetadata: TensorMeta[] = [];
  outputMetadata: TensorMeta[] = [];
  private closed = false;
  /** each slot's output buffer, from the thread */
  private readonly outBuffers: Array<SharedArrayBuffer | null> = [];

  private constructor(
    private readonly thread: InferenceThread,
    private readonly id: number,
  ) {}

  /** Loads the model in the inference thread; rejects with ONNX Runtime's message when it cannot. */
  static async open(modelPath: string, options: SessionOptions): Promise<OnnxRuntimeThread> {
    shared ??= new InferenceThread();
    const session = new OnnxRuntimeThread(shared, nextSession++);
    const reply = await shared.request({ type: 'open', session: session.id, modelPath, options });
    if (!reply.ok) throw new Error(reply.error ?? 'unknown error');
    session.inputNames = reply.inputNames ?? [];
    session.outputNames = reply.outputNames ?? [];
    session.inputMetadata = reply.inputMetadata ?? [];
    session.outputMetadata = reply.outputMetadata ?? [];
    return session;
  }

  /**
   * Makes `input` tensor slot `slot` of this session: the thread keeps the buffer and `run` only
   * names the slot. Each slot has its own output buffer, so a slot's outputs stay valid until
   * that slot runs again.
   */
  async addSlot(slot: number, input: SharedArrayBuffer): Promise<void> {
    const reply = await this.thread.request({ type: 'slot', session: this.id, slot, input });
    if (!reply.ok) throw new Error(reply.error ?? 'unknown error');
    this.outBuffers[slot] = null;
  }

  /**
   * Runs the model on the input in slot `slot`; resolves to the outputs, views into the slot's
   * output buffer (valid until the slot runs again).
   */
  async run(inputName: string, slot: number, dims: number[]): Promise<Record<string, OutputTensor>> {
    const reply = await this.thread.request({ type: 'run', session: this.id, slot, inputName, dims });
    if (!reply.ok) throw new Error(reply.error ?? 'unknown error');
    if (reply.out) this.outBuffers[slot] = reply.out;
    const out = this.outBuffers[slot];
    const outputs: Record<string, OutputTensor> = {};
    for (const [name, place] of Object.entries(reply.outputs ?? {})) {
      const View = OUTPUT_ARRAYS[place.type];
      if (!View) throw new Error(`output ${name} has type ${place.type}, which is not supported`);
      if (!out) throw new Error('no output buffer for the slot');
      outputs[name] = { type: place.type, dims: place.dims, data: new View(out, place.offset, place.length) };
    }
    return outputs;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.thread.request({ type: 'close', session: this.id }).catch(() => undefined);
  }
}
