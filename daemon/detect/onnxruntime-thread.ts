import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { RuntimeFailure, errorMessage } from '../errors.js';

/**
 * onnxruntime-node runs `session.run()` synchronously on the calling thread (its promise only
 * defers the call with setImmediate), so inference on the main thread would block the event loop
 * for the whole inference: MQTT keep-alives, the HTTP health endpoint and the systemd watchdog
 * would all stall with it. The session therefore lives in a worker thread. The input tensor's
 * ArrayBuffer is transferred there and back on every call (no copy, no per-frame allocation);
 * the small output tensors come back by structured clone.
 */

export interface TensorMeta {
  name: string;
  isTensor: boolean;
  type?: string;
  shape?: Array<number | string>;
}

export interface OutputTensor {
  type: string;
  dims: readonly number[];
  data: Float32Array | Int32Array | BigInt64Array | Uint8Array | Float64Array;
}

interface Reply {
  id: number;
  ok: boolean;
  error?: string;
  buffer?: ArrayBuffer;
  inputNames?: string[];
  outputNames?: string[];
  inputMetadata?: TensorMeta[];
  outputMetadata?: TensorMeta[];
  outputs?: Record<string, OutputTensor>;
}

// Plain JS run by the worker (eval: CommonJS, so it works from the TypeScript sources under
// the test runner and from the compiled dist/ alike; onnxruntime-node is required by absolute path).
const WORKER_SOURCE = `
const { parentPort, workerData } = require('worker_threads');
const ort = require(workerData.ortPath);
const sessions = new Map();
const meta = (list) => list.map((m) => ({ name: m.name, isTensor: m.isTensor, type: m.type, shape: m.shape ? Array.from(m.shape) : undefined }));
parentPort.on('message', async (msg) => {
  try {
    if (msg.type === 'open') {
      const session = await ort.InferenceSession.create(msg.modelPath, msg.options);
      sessions.set(msg.session, session);
      const inputMetadata = session.inputMetadata ? meta(session.inputMetadata) : session.inputNames.map((name) => ({ name, isTensor: true }));
      const outputMetadata = session.outputMetadata ? meta(session.outputMetadata) : session.outputNames.map((name) => ({ name, isTensor: true }));
      parentPort.postMessage({ id: msg.id, ok: true, inputNames: session.inputNames, outputNames: session.outputNames, inputMetadata, outputMetadata });
    } else if (msg.type === 'run') {
      const session = sessions.get(msg.session);
      if (!session) throw new Error('session is closed');
      const input = new ort.Tensor('float32', new Float32Array(msg.buffer), msg.dims);
      const result = await session.run({ [msg.inputName]: input });
      const outputs = {};
      for (const name of Object.keys(result)) {
        const t = result[name];
        outputs[name] = { type: t.type, dims: Array.from(t.dims), data: t.data };
      }
      parentPort.postMessage({ id: msg.id, ok: true, buffer: msg.buffer, outputs }, [msg.buffer]);
    } else if (msg.type === 'close') {
      const session = sessions.get(msg.session);
      sessions.delete(msg.session);
      if (session) await session.release();
      parentPort.postMessage({ id: msg.id, ok: true });
    }
  } catch (err) {
    const reply = { id: msg.id, ok: false, error: String((err && err.message) || err) };
    if (msg.buffer) { reply.buffer = msg.buffer; parentPort.postMessage(reply, [msg.buffer]); }
    else parentPort.postMessage(reply);
  }
});
`;

export interface SessionOptions {
  executionProviders: string[];
  graphOptimizationLevel: 'disabled' | 'basic' | 'extended' | 'all';
  executionMode: 'sequential' | 'parallel';
  intraOpNumThreads?: number;
  interOpNumThreads?: number;
  /** ONNX Runtime session config entries (`session.intra_op.allow_spinning`, ...) */
  extra?: Record<string, unknown>;
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
    const require = createRequire(import.meta.url);
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { ortPath: require.resolve('onnxruntime-node') } });
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

  request(msg: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<Reply> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise<Reply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.ref();
      this.worker.postMessage({ ...msg, id }, transfer);
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
   * Runs the model on `input` (its buffer is moved to the thread for the call); resolves to the
   * outputs and the input buffer, handed back for the next frame.
   */
  async run(inputName: string, input: ArrayBuffer, dims: number[]): Promise<{ outputs: Record<string, OutputTensor>; buffer: ArrayBuffer }> {
    const reply = await this.thread.request({ type: 'run', session: this.id, inputName, buffer: input, dims }, [input]);
    const buffer = reply.buffer as ArrayBuffer;
    if (!reply.ok) throw Object.assign(new Error(reply.error ?? 'unknown error'), { buffer });
    return { outputs: reply.outputs ?? {}, buffer };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.thread.request({ type: 'close', session: this.id }).catch(() => undefined);
  }
}
