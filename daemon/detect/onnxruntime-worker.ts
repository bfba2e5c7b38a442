/**
 * The inference thread's side of onnxruntime-thread.ts: ONNX Runtime sessions in a worker thread,
 * so that `session.run()` (synchronous in onnxruntime-node) never blocks the event loop. Its
 * messages and replies are the types of onnxruntime-protocol.ts.
 */
import { createRequire } from 'node:module';
import { parentPort } from 'node:worker_threads';
import type * as Ort from 'onnxruntime-node';
import type { OutputPlace, Reply, Request, TensorMeta } from './onnxruntime-protocol.js';

const ort = createRequire(import.meta.url)('onnxruntime-node') as typeof Ort;
const port = parentPort;
if (!port) throw new Error('onnxruntime-worker runs in a worker thread only');

interface Slot {
  input: Float32Array;
  out: SharedArrayBuffer | null;
}
const sessions = new Map<number, Ort.InferenceSession>();
const slots = new Map<string, Slot>();
/** onnxruntime-node refuses views of a SharedArrayBuffer: each session's input is copied here */
const staging = new Map<number, Float32Array>();

type Metadata = ReadonlyArray<{ name: string; isTensor: boolean; type?: unknown; shape?: ReadonlyArray<number | string> }>;
const meta = (list: Metadata | undefined, names: readonly string[]): TensorMeta[] =>
  list
    ? list.map((m) => ({ name: m.name, isTensor: m.isTensor, ...(m.isTensor ? { type: String(m.type), shape: m.shape ? Array.from(m.shape) : [] } : {}) }))
    : names.map((name) => ({ name, isTensor: true }));

/** 8-byte aligned size, so that every output view in the shared buffer is aligned */
const aligned = (bytes: number): number => Math.ceil(bytes / 8) * 8;

async function handle(msg: Request): Promise<Reply> {
  switch (msg.type) {
    case 'open': {
      const session = await ort.InferenceSession.create(msg.modelPath, msg.options as Ort.InferenceSession.SessionOptions);
      sessions.set(msg.session, session);
      const s = session as unknown as { inputMetadata?: Metadata; outputMetadata?: Metadata };
      return {
        id: msg.id,
        ok: true,
        inputNames: [...session.inputNames],
        outputNames: [...session.outputNames],
        inputMetadata: meta(s.inputMetadata, session.inputNames),
        outputMetadata: meta(s.outputMetadata, session.outputNames),
      };
    }
    case 'slot':
      slots.set(`${msg.session}:${msg.slot}`, { input: new Float32Array(msg.input), out: null });
      return { id: msg.id, ok: true };
    case 'run': {
      const session = sessions.get(msg.session);
      if (!session) throw new Error('session is closed');
      const slot = slots.get(`${msg.session}:${msg.slot}`);
      if (!slot) throw new Error('unknown tensor slot');
      let local = staging.get(msg.session);
      if (!local || local.length !== slot.input.length) staging.set(msg.session, (local = new Float32Array(slot.input.length)));
      local.set(slot.input);
      const result = await session.run({ [msg.inputName]: new ort.Tensor('float32', local, msg.dims) });
      const names = Object.keys(result);
      let need = 0;
      for (const name of names) {
        const d = result[name].data;
        if (!ArrayBuffer.isView(d)) throw new Error(`output ${name} is not a numeric tensor (${result[name].type})`);
        need += aligned(d.byteLength);
      }
      let grown: SharedArrayBuffer | undefined;
      if (!slot.out || slot.out.byteLength < need) slot.out = grown = new SharedArrayBuffer(need);
      const outputs: Record<string, OutputPlace> = {};
      let offset = 0;
      for (const name of names) {
        const t = result[name];
        const d = t.data as ArrayBufferView & { length: number };
        new Uint8Array(slot.out, offset, d.byteLength).set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
        outputs[name] = { type: t.type, dims: Array.from(t.dims), offset, length: d.length };
        offset += aligned(d.byteLength);
      }
      return grown ? { id: msg.id, ok: true, outputs, out: grown } : { id: msg.id, ok: true, outputs };
    }
    case 'close': {
      const session = sessions.get(msg.session);
      sessions.delete(msg.session);
      for (const key of [...slots.keys()]) if (key.startsWith(`${msg.session}:`)) slots.delete(key);
      staging.delete(msg.session);
      if (session) await session.release();
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
