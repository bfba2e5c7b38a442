/**
 * Reader for TF.js graph models (the `tfjs_graph_model` format the TF.js converter writes):
 * `model.json` (a TensorFlow GraphDef rendered as JSON plus a weights manifest) and its binary
 * weight shards. Weights come back as typed arrays keyed by the Const node name.
 *
 * Supported weight dtypes: float32, int32, bool; quantized weights (`quantization` with dtype
 * uint8/uint16 affine `scale`/`min`, or float16) are dequantized to float32. Anything else, a
 * missing file, bad JSON or a shard whose size does not match the manifest is one RuntimeFailure
 * line naming the file.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { RuntimeFailure, errorMessage } from '../core/errors.js';

export type TfjsDtype = 'float32' | 'int32' | 'bool';

/** A tensor held on the host: row-major data, `shape` [] for scalars. bool is stored as 0/1 in Int32Array. */
export interface HostTensor {
  dtype: TfjsDtype;
  shape: number[];
  data: Float32Array | Int32Array;
}

/** One AttrValue of a NodeDef, as model.json renders it (int64 as decimal strings, bytes as base64 or byte arrays). */
export interface TfjsAttrValue {
  s?: string | number[];
  i?: string | number;
  f?: number;
  b?: boolean;
  type?: number | string;
  shape?: unknown;
  tensor?: unknown;
  list?: { s?: Array<string | number[]>; i?: Array<string | number>; f?: number[]; b?: boolean[]; type?: Array<number | string> };
}

export interface TfjsNode {
  name: string;
  op: string;
  /** data inputs as written ("node", "node:1"); control inputs ("^node") are dropped */
  inputs: string[];
  attr: Record<string, TfjsAttrValue>;
}

export interface TfjsGraphModel {
  /** directory or label the model came from (for messages) */
  source: string;
  nodes: TfjsNode[];
  /** node name -> node */
  byName: Map<string, TfjsNode>;
  /** Const node name -> its value (from the weight shards) */
  weights: Map<string, HostTensor>;
}

// ---- attribute helpers ---------------------------------------------------------------------------

function decodeBytes(s: string | number[]): string {
  if (Array.isArray(s)) return String.fromCharCode(...s);
  return Buffer.from(s, 'base64').toString('latin1');
}

export function attrString(node: TfjsNode, name: string, def?: string): string | undefined {
  const a = node.attr[name];
  if (a?.s === undefined) return def;
  return decodeBytes(a.s);
}

export function attrInt(node: TfjsNode, name: string, def?: number): number | undefined {
  const a = node.attr[name];
  if (a?.i === undefined) return def;
  return Number(a.i);
}

export function attrFloat(node: TfjsNode, name: string, def?: number): number | undefined {
  const a = node.attr[name];
  if (a?.f === undefined) return def;
  return Number(a.f);
}

export function attrBool(node: TfjsNode, name: string, def?: boolean): boolean | undefined {
  const a = node.attr[name];
  if (a?.b === undefined) return def;
  return Boolean(a.b);
}

export function attrInts(node: TfjsNode, name: string, def?: number[]): number[] | undefined {
  const a = node.attr[name];
  if (a?.list === undefined) return def;
  return (a.list.i ?? []).map((v) => Number(v));
}

/** TF DataType enum values that matter here (types.proto). */
const TF_TYPE_BY_NUM: Record<number, string> = {
  1: 'float32',
  2: 'float64',
  3: 'int32',
  4: 'uint8',
  5: 'int16',
  6: 'int8',
  7: 'string',
  9: 'int64',
  10: 'bool',
  19: 'float16',
  20: 'resource',
};
const TF_TYPE_BY_NAME: Record<string, string> = {
  DT_FLOAT: 'float32',
  DT_DOUBLE: 'float64',
  DT_INT32: 'int32',
  DT_UINT8: 'uint8',
  DT_INT16: 'int16',
  DT_INT8: 'int8',
  DT_STRING: 'string',
  DT_INT64: 'int64',
  DT_BOOL: 'bool',
  DT_HALF: 'float16',
  DT_RESOURCE: 'resource',
};

/** A TF DataType (enum number or "DT_FLOAT") as a short name ("float32"), "unknown(N)" otherwise. */
export function tfTypeName(t: number | string | undefined): string {
  if (t === undefined) return 'unknown';
  if (typeof t === 'number') return TF_TYPE_BY_NUM[t] ?? `unknown(${t})`;
  if (/^\d+$/.test(t)) return TF_TYPE_BY_NUM[Number(t)] ?? `unknown(${t})`;
  return TF_TYPE_BY_NAME[t] ?? `unknown(${t})`;
}

export function attrType(node: TfjsNode, name: string): string | undefined {
  const a = node.attr[name];
  if (a?.type === undefined) return undefined;
  return tfTypeName(a.type);
}

export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

// ---- model.json + shards -------------------------------------------------------------------------

interface ManifestWeight {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; scale?: number; min?: number };
}
interface ManifestGroup {
  paths: string[];
  weights: ManifestWeight[];
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

function decodeWeight(w: ManifestWeight, bytes: Buffer, file: string): HostTensor {
  const count = shapeSize(w.shape);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const q = w.quantization;
  if (q) {
    if (w.dtype !== 'float32' && w.dtype !== 'int32') {
      throw new RuntimeFailure(`tfjs-graph: ${file}: weight "${w.name}" is quantized with unsupported original dtype "${w.dtype}"`);
    }
    const out = w.dtype === 'float32' ? new Float32Array(count) : new Int32Array(count);
    if (q.dtype === 'float16') {
      for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(i * 2, true));
    } else if (q.dtype === 'uint8' || q.dtype === 'uint16') {
      const scale = Number(q.scale ?? 1);
      const min = Number(q.min ?? 0);
      for (let i = 0; i < count; i++) {
        const v = q.dtype === 'uint8' ? view.getUint8(i) : view.getUint16(i * 2, true);
        out[i] = v * scale + min;
      }
      if (out instanceof Int32Array) for (let i = 0; i < count; i++) out[i] = Math.round(out[i]);
    } else {
      throw new RuntimeFailure(`tfjs-graph: ${file}: weight "${w.name}" uses unsupported quantization dtype "${q.dtype}" (supported: uint8, uint16, float16)`);
    }
    return { dtype: w.dtype, shape: w.shape, data: out };
  }
  switch (w.dtype) {
    case 'float32': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
      return { dtype: 'float32', shape: w.shape, data: out };
    }
    case 'int32': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(i * 4, true);
      return { dtype: 'int32', shape: w.shape, data: out };
    }
    case 'bool': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getUint8(i) ? 1 : 0;
      return { dtype: 'bool', shape: w.shape, data: out };
    }
    default:
      throw new RuntimeFailure(`tfjs-graph: ${file}: weight "${w.name}" has unsupported dtype "${w.dtype}" (supported: float32, int32, bool)`);
  }
}

function weightBytes(w: ManifestWeight): number {
  const dt = w.quantization?.dtype ?? w.dtype;
  const b = BYTES[dt];
  if (b === undefined) return -1;
  return shapeSize(w.shape) * b;
}

/** Parse the JSON of model.json (already read) plus the concatenated bytes of each weight group. */
export function parseTfjsGraphModel(
  json: unknown,
  groupBytes: Buffer[],
  source: string,
): TfjsGraphModel {
  const file = path.join(source, 'model.json');
  const m = json as { modelTopology?: { node?: unknown[] }; weightsManifest?: ManifestGroup[]; format?: string };
  if (!m || typeof m !== 'object' || !m.modelTopology || !Array.isArray(m.modelTopology.node)) {
    throw new RuntimeFailure(`tfjs-graph: ${file}: not a TF.js graph model (no modelTopology.node array)`);
  }
  if (m.format !== undefined && m.format !== 'graph-model') {
    throw new RuntimeFailure(`tfjs-graph: ${file}: format "${m.format}" is not a TF.js graph model (expected "graph-model")`);
  }
  const nodes: TfjsNode[] = [];
  const byName = new Map<string, TfjsNode>();
  for (const raw of m.modelTopology.node as Array<Record<string, unknown>>) {
    if (typeof raw?.name !== 'string' || typeof raw.op !== 'string') {
      throw new RuntimeFailure(`tfjs-graph: ${file}: a node lacks "name" or "op"`);
    }
    const inputs = ((raw.input as string[] | undefined) ?? []).filter((s) => !s.startsWith('^'));
    const node: TfjsNode = { name: raw.name, op: raw.op, inputs, attr: (raw.attr as Record<string, TfjsAttrValue>) ?? {} };
    nodes.push(node);
    byName.set(node.name, node);
  }
  const weights = new Map<string, HostTensor>();
  const manifest = m.weightsManifest ?? [];
  manifest.forEach((group, gi) => {
    const bytes = groupBytes[gi];
    const label = path.join(source, group.paths[0] ?? `group ${gi}`);
    if (!bytes) throw new RuntimeFailure(`tfjs-graph: ${label}: weight shard data missing`);
    let expected = 0;
    for (const w of group.weights) {
      const n = weightBytes(w);
      if (n < 0) {
        throw new RuntimeFailure(`tfjs-graph: ${file}: weight "${w.name}" has unsupported dtype "${w.quantization?.dtype ?? w.dtype}" (supported: float32, int32, bool; quantized uint8, uint16, float16)`);
      }
      expected += n;
    }
    if (expected !== bytes.length) {
      throw new RuntimeFailure(`tfjs-graph: ${group.paths.map((p) => path.join(source, p)).join(', ')}: shards hold ${bytes.length} bytes but model.json describes ${expected} (corrupt or truncated shard)`);
    }
    let off = 0;
    for (const w of group.weights) {
      const n = weightBytes(w);
      weights.set(w.name, decodeWeight(w, bytes.subarray(off, off + n), label));
      off += n;
    }
  });
  return { source, nodes, byName, weights };
}

/** Read `dir/model.json` and its weight shards. */
export async function readTfjsGraphModel(dir: string): Promise<TfjsGraphModel> {
  const file = path.join(dir, 'model.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new RuntimeFailure(`tfjs-graph: cannot read ${file}: ${errorMessage(err)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new RuntimeFailure(`tfjs-graph: ${file} is not valid JSON: ${errorMessage(err)}`);
  }
  const manifest = ((json as { weightsManifest?: ManifestGroup[] })?.weightsManifest ?? []);
  const groupBytes: Buffer[] = [];
  for (const group of manifest) {
    const parts: Buffer[] = [];
    for (const p of group.paths ?? []) {
      const shard = path.join(dir, p);
      try {
        parts.push(await readFile(shard));
      } catch (err) {
        throw new RuntimeFailure(`tfjs-graph: cannot read weight shard ${shard}: ${errorMessage(err)}`);
      }
    }
    groupBytes.push(Buffer.concat(parts));
  }
  return parseTfjsGraphModel(json, groupBytes, dir);
}
