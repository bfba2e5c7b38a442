import { Worker } from 'node:worker_threads';
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { RuntimeFailure, errorMessage } from '../core/errors.js';
import { packageRoot } from '../core/files.js';
import type { DetectReply, DetectSetup, Reply, Request, SessionOptions, TensorMeta, WithoutId } from './onnxruntime-protocol.js';
import type { DecodeOptions } from '../native.js';
import type { Frame } from '../core/frame.js';

/**
 * onnxruntime-node runs `session.run()` synchronously on the calling thread (its promise only
 * defers the call with setImmediate), so inference on the main thread would block the event loop
 * for the whole inference: MQTT keep-alives, the HTTP health endpoint and the systemd watchdog
 * would all stall with it. The session therefore lives in a worker thread.
 *
 * One message per frame and one reply with the final boxes (onnxruntime-worker.ts does the
 * pre-processing, inference and decode). The frame goes over in the slot's SharedArrayBuffer,
 * handed to the thread once (and again only when a larger frame needs a larger buffer): a call
 * copies the frame's bytes into it and sends a few numbers. Nothing frame-sized is allocated,
 * transferred or cloned per call. (Transferring frame-sized buffers there and back on every call
 * made V8 account megabytes of new external memory per frame; with an MQTT connection open in the
 * same process that started a full garbage collection several times a second, measured with
 * --trace-gc.)
 */

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
  /** ONNX Runtime writes into preallocated output tensors (every output has a fixed shape) */
  preallocatedOutputs = false;
  private closed = false;
  /** each slot's frame buffer, shared with the thread */
  private frames: Array<SharedArrayBuffer | null> = [];

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

  /** What detect() runs: the input, pre-processing, the bound layout and the frames in flight at once. */
  async setup(setup: DetectSetup): Promise<void> {
    const reply = await this.thread.request({ type: 'setup', session: this.id, setup });
    if (!reply.ok) throw new Error(reply.error ?? 'unknown error');
    this.preallocatedOutputs = reply.preallocated ?? false;
    this.frames = Array.from({ length: setup.slots }, () => null);
  }

  /**
   * One frame through the thread: its bytes are copied into slot `slot`'s shared frame buffer
   * (the caller holds the slot until this settles), the thread pre-processes, infers and decodes.
   */
  async detect(slot: number, frame: Frame, options: DecodeOptions): Promise<DetectReply> {
    if (slot < 0 || slot >= this.frames.length) throw new Error(`unknown frame slot ${slot}`);
    const bytes = frame.data.byteLength;
    let buffer = this.frames[slot];
    let grown: SharedArrayBuffer | undefined;
    if (!buffer || buffer.byteLength < bytes) buffer = this.frames[slot] = grown = new SharedArrayBuffer(bytes);
    new Uint8Array(buffer, 0, bytes).set(frame.data);
    const reply = await this.thread.request({
      type: 'detect',
      session: this.id,
      slot,
      bytes,
      width: frame.width,
      height: frame.height,
      ...(frame.format ? { format: frame.format } : {}),
      ...(grown ? { frame: grown } : {}),
      options,
    });
    if (!reply.ok || !reply.result) throw new Error(reply.error ?? 'unknown error');
    return reply.result;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.thread.request({ type: 'close', session: this.id }).catch(() => undefined);
  }
}
