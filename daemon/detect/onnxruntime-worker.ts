/**
 * The inference thread's side of onnxruntime-thread.ts: ONNX Runtime sessions in a worker thread,
 * so that `session.run()` (synchronous in onnxruntime-node) never blocks the event loop. Its
 * messages and replies are the types of onnxruntime-protocol.ts.
 *
 * One message per frame, one reply with the final boxes: the addon pre-processes the frame (read
 * from the slot's shared frame buffer) straight into the ArrayBuffer that is the ONNX Runtime input
 * tensor's data (on the libuv pool, so the next frame's pre-processing overlaps this one's
 * inference), ONNX Runtime writes into preallocated output tensors (`session.run(feeds,
 * fetches)`), and the addon decodes them (threshold, classes, NMS) in C++ on this thread.
 */
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { parentPort } from 'node:worker_threads';
import type * as Ort from 'onnxruntime-node';
import * as native from '../native.js';
import type { DetectReply, DetectSetup, Reply, Request, TensorMeta } from './onnxruntime-protocol.js';

const ort = createRequire(import.meta.url)('onnxruntime-node') as typeof Ort;
const port = parentPort;
if (!port) throw new Error('onnxruntime-worker runs in a worker thread only');

interface Session {
  session: Ort.InferenceSession;
  outputMetadata: TensorMeta[];
  setup: DetectSetup | null;
  /** per slot: the input tensor and its data, which the addon writes */
  inputs: Array<{ data: Float32Array; tensor: Ort.Tensor }>;
  /** per slot: the shared frame buffer */
  frames: Array<SharedArrayBuffer | null>;
  /** output tensors ONNX Runtime writes into, or null when an output's shape is not fixed */
  fetches: Record<string, Ort.Tensor> | null;
  /** the previous frame's inference: the model runs one frame at a time, in message order */
  chain: Promise<unknown>;
}
const sessions = new Map<number, Session>();

type Metadata = ReadonlyArray<{ name: string; isTensor: boolean; type?: unknown; shape?: ReadonlyArray<number | string> }>;
const meta = (list: Metadata | undefined, names: readonly string[]): TensorMeta[] =>
  list
    ? list.map((m) => ({ name: m.name, isTensor: m.isTensor, ...(m.isTensor ? { type: String(m.type), shape: m.shape ? Array.from(m.shape) : [] } : {}) }))
    : names.map((name) => ({ name, isTensor: true }));

const ARRAYS: Record<string, new (n: number) => Float32Array | Int32Array | BigInt64Array> = { float32: Float32Array, int32: Int32Array, int64: BigInt64Array };

/** Output tensors to hand to run(), when every output has a fixed shape and a type the decode reads. */
function preallocate(outputs: TensorMeta[], names: readonly string[]): Record<string, Ort.Tensor> | null {
  const fetches: Record<string, Ort.Tensor> = {};
  for (const name of names) {
    const m = outputs.find((o) => o.name === name);
    const dims = m?.shape ?? [];
    const Array_ = m?.type ? ARRAYS[m.type] : undefined;
    if (!m || !Array_ || !dims.length || !dims.every((d) => typeof d === 'number' && d > 0)) return null;
    const shape = dims as number[];
    fetches[name] = new ort.Tensor(m.type as 'float32', new Array_(shape.reduce((a, b) => a * b, 1)) as Float32Array, shape);
  }
  return fetches;
}

/** An output as the decode reads it (float32, int32 or int64; anything else as float32). */
function outputArray(t: Ort.Tensor | undefined, name: string): native.OutputArray {
  if (!t) throw new Error(`model output "${name}" missing from the inference result`);
  const d = t.data;
  if (d instanceof Float32Array || d instanceof Int32Array || d instanceof BigInt64Array) return d;
  if (ArrayBuffer.isView(d)) return Float32Array.from(d as unknown as ArrayLike<number>);
  throw new Error(`model output "${name}" has unsupported type ${t.type}`);
}

async function detect(s: Session, msg: Extract<Request, { type: 'detect' }>): Promise<DetectReply> {
  const setup = s.setup;
  if (!setup) throw new Error('the session is not set up for detection');
  if (msg.slot < 0 || msg.slot >= setup.slots) throw new Error(`unknown frame slot ${msg.slot}`);
  if (msg.frame) s.frames[msg.slot] = msg.frame;
  const buffer = s.frames[msg.slot];
  if (!buffer || buffer.byteLength < msg.bytes) throw new Error(`frame slot ${msg.slot} holds no frame of ${msg.bytes} bytes`);
  const input = s.inputs[msg.slot];
  // on the libuv pool: overlaps the inference of the frame before this one (which holds this
  // thread, so the Promise may settle late: the work's own time is `ms`)
  const pre = native.preprocessTimed(new Uint8Array(buffer, 0, msg.bytes), msg.width, msg.height, setup.spec, input.data, msg.format);
  const ran = s.chain.then(async () => {
    const p = await pre;
    const t1 = performance.now();
    const feeds = { [setup.inputName]: input.tensor };
    const result = s.fetches ? await s.session.run(feeds, s.fetches) : await s.session.run(feeds);
    const t2 = performance.now();
    const outputs = setup.outputNames.map((name) => outputArray(result[name], name));
    const detections = native.decodeSync(
      outputs,
      setup.layout,
      {
        ...msg.options,
        inputWidth: setup.spec.width,
        inputHeight: setup.spec.height,
        srcWidth: msg.width,
        srcHeight: msg.height,
        transform: p.transform,
      },
      // the slot's frame is unchanged until this reply: appearance features come from its pixels
      { data: new Uint8Array(buffer, 0, msg.bytes), width: msg.width, height: msg.height, format: msg.format },
    );
    return { detections, transform: p.transform, preprocessMs: p.ms, inferenceMs: t2 - t1, postprocessMs: performance.now() - t2 };
  });
  s.chain = ran.catch(() => undefined);
  return ran;
}

async function handle(msg: Request): Promise<Reply> {
  switch (msg.type) {
    case 'open': {
      const session = await ort.InferenceSession.create(msg.modelPath, msg.options as Ort.InferenceSession.SessionOptions);
      const m = session as unknown as { inputMetadata?: Metadata; outputMetadata?: Metadata };
      const outputMetadata = meta(m.outputMetadata, session.outputNames);
      sessions.set(msg.session, { session, outputMetadata, setup: null, inputs: [], frames: [], fetches: null, chain: Promise.resolve() });
      return {
        id: msg.id,
        ok: true,
        inputNames: [...session.inputNames],
        outputNames: [...session.outputNames],
        inputMetadata: meta(m.inputMetadata, session.inputNames),
        outputMetadata,
      };
    }
    case 'setup': {
      const s = sessions.get(msg.session);
      if (!s) throw new Error('session is closed');
      const { spec, slots } = msg.setup;
      s.setup = msg.setup;
      s.inputs = Array.from({ length: slots }, () => {
        const data = new Float32Array(3 * spec.width * spec.height);
        return { data, tensor: new ort.Tensor('float32', data, [1, 3, spec.height, spec.width]) };
      });
      s.frames = Array.from({ length: slots }, () => null);
      s.fetches = preallocate(s.outputMetadata, msg.setup.outputNames);
      return { id: msg.id, ok: true, preallocated: s.fetches !== null };
    }
    case 'detect': {
      const s = sessions.get(msg.session);
      if (!s) throw new Error('session is closed');
      return { id: msg.id, ok: true, result: await detect(s, msg) };
    }
    case 'close': {
      const s = sessions.get(msg.session);
      sessions.delete(msg.session);
      if (s) {
        await s.chain;
        await s.session.release();
      }
      return { id: msg.id, ok: true };
    }
  }
}

port.on('message', (msg: Request) => {
  handle(msg).then(
    (reply) => port.postMessage(reply),
    (err: unknown) => port.postMessage({ id: msg.id, ok: false, error: String((err as Error | null)?.message ?? err) } satisfies Reply),
  );
});
