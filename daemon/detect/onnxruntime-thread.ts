import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { RuntimeFailure, errorMessage } from '../core/errors.js';

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

/** Where the thread put one output in its slot's output buffer. */
interface OutputPlace {
  type: string;
  dims: number[];
  /** byte offset in the slot's output buffer */
  offset: number;
  /** number of elements */
  length: number;
}

type TypedArrayOf = new (buffer: SharedArrayBuffer, byteOffset: number, length: number) => OutputTensor['data'];
const OUTPUT_ARRAYS: Record<string, TypedArrayOf> = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  bool: Uint8Array,
};

interface Reply {
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

// Plain JS run by the worker (eval: CommonJS, so it works from the TypeScript sources under
// the test runner and from the compiled dist/ alike; onnxruntime-node is required by absolute path).
const WORKER_SOURCE = `
const { parentPort, workerData } = require('worker_threads');
const ort = require(workerData.ortPath);
const sessions = new Map();
const slots = new Map();
const staging = new Map();
const meta = (list) => list.map((m) => ({ name: m.name, isTensor: m.isTensor, type: m.type, shape: m.shape ? Array.from(m.shape) : undefined }));
parentPort.on('message', async (msg) => {
  try {
    if (msg.type === 'open') {
      const session = await ort.InferenceSession.create(msg.modelPath, msg.options);
      sessions.set(msg.session, session);
      const inputMetadata = session.inputMetadata ? meta(session.inputMetadata) : session.inputNames.map((name) => ({ name, isTensor: true }));
      const outputMetadata = session.outputMetadata ? meta(session.outputMetadata) : session.outputNames.map((name) => ({ name, isTensor: true }));
      parentPort.postMessage({ id: msg.id, ok: true, inputNames: session.inputNames, outputNames: session.outputNames, inputMetadata, outputMetadata });
    } else if (msg.type === 'slot') {
      slots.set(msg.session + ':' + msg.slot, { input: new Float32Array(msg.input), out: null });
      parentPort.postMessage({ id: msg.id, ok: true });
    } else if (msg.type === 'run') {
      const session = sessions.get(msg.session);
      if (!session) throw new Error('session is closed');
      const slot = slots.get(msg.session + ':' + msg.slot);
      if (!slot) throw new Error('unknown tensor slot');
      // onnxruntime-node refuses views of a SharedArrayBuffer: the input is copied (a memcpy)
      // into a plain buffer the thread keeps for the session's calls, one at a time
      let local = staging.get(msg.session);
      if (!local || local.length !== slot.input.length) staging.set(msg.session, (local = new Float32Array(slot.input.length)));
      local.set(slot.input);
      const result = await session.run({ [msg.inputName]: new ort.Tensor('float32', local, msg.dims) });
      const names = Object.keys(result);
      let need = 0;
      for (const name of names) {
        const d = result[name].data;
        if (!ArrayBuffer.isView(d)) throw new Error('output ' + name + ' is not a numeric tensor (' + result[name].type + ')');
        need += Math.ceil(d.byteLength / 8) * 8;
      }
      let grown;
      if (!slot.out || slot.out.byteLength < need) slot.out = grown = new SharedArrayBuffer(need);
      const outputs = {};
      let offset = 0;
      for (const name of names) {
        const t = result[name];
        new Uint8Array(slot.out, offset, t.data.byteLength).set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
        outputs[name] = { type: t.type, dims: Array.from(t.dims), offset, length: t.data.length };
        offset += Math.ceil(t.data.byteLength / 8) * 8;
      }
      parentPort.postMessage(grown ? { id: msg.id, ok: true, outputs, out: grown } : { id: msg.id, ok: true, outputs });
    } else if (msg.type === 'close') {
      const session = sessions.get(msg.session);
      sessions.delete(msg.session);
      for (const key of [...slots.keys()]) if (key.startsWith(msg.session + ':')) slots.delete(key);
      staging.delete(msg.session);
      if (session) await session.release();
      parentPort.postMessage({ id: msg.id, ok: true });
    }
  } catch (err) {
    parentPort.postMessage({ id: msg.id, ok: false, error: String((err && err.message) || err) });
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

  request(msg: Record<string, unknown>): Promise<Reply> {
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
      const Array = OUTPUT_ARRAYS[place.type];
      if (!Array) throw new Error(`output ${name} has type ${place.type}, which is not supported`);
      if (!out) throw new Error('no output buffer for the slot');
      outputs[name] = { type: place.type, dims: place.dims, data: new Array(out, place.offset, place.length) };
    }
    return outputs;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.thread.request({ type: 'close', session: this.id }).catch(() => undefined);
  }
}
