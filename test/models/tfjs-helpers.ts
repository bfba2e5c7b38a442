/**
 * Test helpers for the TF.js -> ONNX converter: build small TF.js graph models in memory (the
 * model.json shape the TF.js converter writes), load them into @tensorflow/tfjs-converter as a
 * reference, run ONNX with onnxruntime-node, and inspect the encoded ONNX.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { parseTfjsGraphModel, type TfjsGraphModel } from '../../daemon/models/tfjs-graph.js';

const { onnx } = onnxProto;

type Attr = Record<string, unknown>;

export const attr = {
  /** bytes as base64 (the newer converter) */
  s: (v: string): Attr => ({ s: Buffer.from(v, 'latin1').toString('base64') }),
  i: (v: number): Attr => ({ i: String(v) }),
  f: (v: number): Attr => ({ f: v }),
  b: (v: boolean): Attr => ({ b: v }),
  ints: (v: number[]): Attr => ({ list: { i: v.map(String) } }),
  type: (t: 'DT_FLOAT' | 'DT_INT32'): Attr => ({ type: t }),
};

interface WeightEntry {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  data: Float32Array | Int32Array;
}

export class TfGraph {
  readonly nodes: Array<{ name: string; op: string; input: string[]; attr: Record<string, Attr> }> = [];
  readonly weights: WeightEntry[] = [];

  placeholder(name: string, shape: number[]): string {
    this.nodes.push({
      name,
      op: 'Placeholder',
      input: [],
      attr: { dtype: attr.type('DT_FLOAT'), shape: { shape: { dim: shape.map((d) => ({ size: String(d) })) } } },
    });
    return name;
  }

  const(name: string, shape: number[], values: ArrayLike<number>, dtype: 'float32' | 'int32' = 'float32'): string {
    const data = dtype === 'float32' ? Float32Array.from(values) : Int32Array.from(values);
    this.nodes.push({ name, op: 'Const', input: [], attr: { dtype: attr.type(dtype === 'float32' ? 'DT_FLOAT' : 'DT_INT32'), value: { tensor: {} } } });
    this.weights.push({ name, shape, dtype, data });
    return name;
  }

  ints(name: string, values: number[]): string {
    return this.const(name, [values.length], values, 'int32');
  }

  scalarInt(name: string, v: number): string {
    return this.const(name, [], [v], 'int32');
  }

  op(name: string, op: string, input: string[], a: Record<string, Attr> = {}): string {
    const withT = op === 'Placeholder' ? a : { T: attr.type('DT_FLOAT'), ...a };
    this.nodes.push({ name, op, input, attr: withT });
    return name;
  }

  json(): { modelTopology: { node: unknown[]; versions: object }; weightsManifest: Array<{ paths: string[]; weights: unknown[] }>; format: string } {
    return {
      format: 'graph-model',
      modelTopology: { node: this.nodes, versions: { producer: 1, minConsumer: 0 } },
      weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: this.weights.map((w) => ({ name: w.name, shape: w.shape, dtype: w.dtype })) }],
    };
  }

  bin(): Buffer {
    return Buffer.concat(this.weights.map((w) => Buffer.from(w.data.buffer, w.data.byteOffset, w.data.byteLength)));
  }

  model(): TfjsGraphModel {
    return parseTfjsGraphModel(this.json(), [this.bin()], 'synthetic');
  }

  async tfModel(): Promise<GraphModel> {
    return loadTfModel(this.json(), this.bin());
  }
}

export async function loadTfModel(json: { modelTopology: unknown; weightsManifest: Array<{ weights: unknown[] }> }, bin: Buffer): Promise<GraphModel> {
  await tf.setBackend('cpu');
  const weightData = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength);
  const handler = {
    load: async () => ({
      modelTopology: json.modelTopology as object,
      weightSpecs: json.weightsManifest.flatMap((g) => g.weights) as tf.io.WeightsManifestEntry[],
      weightData,
      format: 'graph-model',
    }),
  };
  return loadGraphModel(handler);
}

/** Deterministic pseudo-random floats in [lo, hi). */
export function rand(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = lo + ((s % 1_000_000) / 1_000_000) * (hi - lo);
  }
  return out;
}

export function nhwcToNchw(data: Float32Array, [n, h, w, c]: number[]): Float32Array {
  const out = new Float32Array(data.length);
  for (let b = 0; b < n; b++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let k = 0; k < c; k++) out[((b * c + k) * h + y) * w + x] = data[((b * h + y) * w + x) * c + k]!;
  return out;
}

export async function runOnnx(model: Uint8Array, feeds: Record<string, { data: Float32Array; dims: number[] }>): Promise<Record<string, { data: Float32Array; dims: number[] }>> {
  const sess = await ort.InferenceSession.create(model);
  const input: Record<string, ort.Tensor> = {};
  for (const [k, v] of Object.entries(feeds)) input[k] = new ort.Tensor('float32', v.data, v.dims);
  const out = await sess.run(input);
  const res: Record<string, { data: Float32Array; dims: number[] }> = {};
  for (const [k, v] of Object.entries(out)) res[k] = { data: v.data as Float32Array, dims: [...v.dims] };
  await sess.release();
  return res;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export interface OnnxSummary {
  opset: number;
  ops: string[];
  nodes: Array<{ op: string; attrs: Record<string, number[] | number> }>;
  inputs: Array<{ name: string; dims: number[] }>;
  outputs: Array<{ name: string; dims: number[] }>;
  initializerTypes: number[];
  metadata: Record<string, string>;
}

export function inspectOnnx(bytes: Uint8Array): OnnxSummary {
  const m = onnx.ModelProto.decode(bytes);
  const g = m.graph!;
  const dims = (v: onnxProto.onnx.IValueInfoProto): number[] =>
    (v.type?.tensorType?.shape?.dim ?? []).map((d) => Number(d.dimValue));
  const nodes = g.node ?? [];
  return {
    opset: Number(m.opsetImport[0].version),
    ops: nodes.map((n) => n.opType ?? ''),
    nodes: nodes.map((n) => ({
      op: n.opType ?? '',
      attrs: Object.fromEntries((n.attribute ?? []).map((a) => [a.name ?? '', a.ints?.length ? a.ints.map(Number) : Number(a.i)])),
    })),
    inputs: (g.input ?? []).map((v) => ({ name: v.name ?? '', dims: dims(v) })),
    outputs: (g.output ?? []).map((v) => ({ name: v.name ?? '', dims: dims(v) })),
    initializerTypes: (g.initializer ?? []).map((t) => t.dataType ?? 0),
    metadata: Object.fromEntries(m.metadataProps.map((p) => [p.key, p.value])),
  };
}

/** Ops TensorRT 8.0's ONNX parser takes and that our converted graphs are expected to use. */
export const TRT_FRIENDLY_OPS = new Set([
  'Conv', 'Clip', 'Relu', 'Add', 'Sub', 'Mul', 'Div', 'Transpose', 'Reshape', 'Concat', 'Sigmoid', 'Slice', 'Gather', 'Split',
  'Exp', 'Unsqueeze', 'Squeeze', 'MaxPool', 'AveragePool', 'ReduceMean', 'Pad', 'BatchNormalization', 'Identity', 'Tile', 'Softmax',
]);
