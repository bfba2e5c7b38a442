/**
 * Host-side tensor arithmetic used to fold the constant parts of a TF graph while converting it
 * (shape computations, anchor decoding constants, weight re-layouts). Row-major typed arrays;
 * float32 results are rounded to float32 per operation like TF does.
 */
import type { HostTensor, TfjsDtype } from './tfjs-graph.js';
import { shapeSize } from './tfjs-graph.js';

export function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

export function makeTensor(dtype: TfjsDtype, shape: number[], values?: ArrayLike<number>): HostTensor {
  const n = shapeSize(shape);
  const data = dtype === 'float32' ? new Float32Array(n) : new Int32Array(n);
  if (values) {
    if (values.length !== n) throw new Error(`makeTensor: ${values.length} values for shape [${shape}]`);
    for (let i = 0; i < n; i++) data[i] = values[i]!;
  }
  return { dtype, shape: [...shape], data };
}

export function scalarOf(t: HostTensor): number {
  if (t.data.length !== 1) throw new Error(`expected a scalar, got shape [${t.shape}]`);
  return t.data[0];
}

export function toInts(t: HostTensor): number[] {
  return Array.from(t.data, (v) => Number(v));
}

/** numpy/TF broadcast of two shapes; undefined when incompatible. */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] | undefined {
  const r = Math.max(a.length, b.length);
  const out = new Array<number>(r);
  for (let i = 0; i < r; i++) {
    const da = a[a.length - r + i] ?? 1;
    const db = b[b.length - r + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return undefined;
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Index map: for each flat index of `outShape`, the flat index into a tensor of `shape` broadcast to it. */
function broadcastIndex(shape: readonly number[], outShape: readonly number[]): Int32Array {
  const n = shapeSize(outShape);
  const idx = new Int32Array(n);
  const r = outShape.length;
  const inStr = strides(shape);
  const pad = r - shape.length;
  const effStr = outShape.map((_, i) => {
    const k = i - pad;
    if (k < 0) return 0;
    return shape[k] === 1 ? 0 : inStr[k];
  });
  const counter = new Array<number>(r).fill(0);
  let cur = 0;
  for (let i = 0; i < n; i++) {
    idx[i] = cur;
    for (let d = r - 1; d >= 0; d--) {
      counter[d]++;
      cur += effStr[d];
      if (counter[d] < outShape[d]) break;
      cur -= effStr[d] * counter[d];
      counter[d] = 0;
    }
  }
  return idx;
}

export function broadcastTo(t: HostTensor, shape: number[]): HostTensor {
  const idx = broadcastIndex(t.shape, shape);
  const out = makeTensor(t.dtype, shape);
  for (let i = 0; i < idx.length; i++) out.data[i] = t.data[idx[i]]!;
  return out;
}

export type BinaryFn = (a: number, b: number) => number;

export function binary(a: HostTensor, b: HostTensor, fn: BinaryFn, outDtype?: TfjsDtype): HostTensor {
  const shape = broadcastShapes(a.shape, b.shape);
  if (!shape) throw new Error(`incompatible shapes [${a.shape}] and [${b.shape}]`);
  const ia = broadcastIndex(a.shape, shape);
  const ib = broadcastIndex(b.shape, shape);
  const out = makeTensor(outDtype ?? a.dtype, shape);
  const isInt = out.dtype !== 'float32';
  for (let i = 0; i < ia.length; i++) {
    const v = fn(a.data[ia[i]], b.data[ib[i]]);
    out.data[i] = isInt ? Math.trunc(v) : v;
  }
  return out;
}

export function unary(a: HostTensor, fn: (x: number) => number, outDtype?: TfjsDtype): HostTensor {
  const out = makeTensor(outDtype ?? a.dtype, a.shape);
  for (let i = 0; i < a.data.length; i++) out.data[i] = fn(a.data[i]);
  return out;
}

export function reshape(t: HostTensor, shape: number[]): HostTensor {
  return { dtype: t.dtype, shape: [...shape], data: t.data };
}

export function transpose(t: HostTensor, perm: readonly number[]): HostTensor {
  const r = t.shape.length;
  if (perm.length !== r) throw new Error(`transpose: perm [${perm}] for rank ${r}`);
  const outShape = perm.map((p) => t.shape[p]);
  const inStr = strides(t.shape);
  const permStr = perm.map((p) => inStr[p]);
  const out = makeTensor(t.dtype, outShape);
  const n = out.data.length;
  const counter = new Array<number>(r).fill(0);
  let cur = 0;
  for (let i = 0; i < n; i++) {
    out.data[i] = t.data[cur]!;
    for (let d = r - 1; d >= 0; d--) {
      counter[d]++;
      cur += permStr[d];
      if (counter[d] < outShape[d]) break;
      cur -= permStr[d] * counter[d];
      counter[d] = 0;
    }
  }
  return out;
}

export function concat(ts: HostTensor[], axis: number): HostTensor {
  const first = ts[0];
  const r = first.shape.length;
  const outShape = [...first.shape];
  outShape[axis] = ts.reduce((s, t) => s + t.shape[axis], 0);
  const out = makeTensor(first.dtype, outShape);
  const outer = shapeSize(first.shape.slice(0, axis));
  const inner = shapeSize(first.shape.slice(axis + 1));
  let off = 0;
  for (let o = 0; o < outer; o++) {
    for (const t of ts) {
      if (t.shape.length !== r) throw new Error('concat: rank mismatch');
      const chunk = t.shape[axis] * inner;
      out.data.set(t.data.subarray(o * chunk, (o + 1) * chunk), off);
      off += chunk;
    }
  }
  return out;
}

export function tile(t: HostTensor, reps: readonly number[]): HostTensor {
  const outShape = t.shape.map((d, i) => d * reps[i]);
  const out = makeTensor(t.dtype, outShape);
  const inStr = strides(t.shape);
  const outStr = strides(outShape);
  for (let i = 0; i < out.data.length; i++) {
    let rem = i;
    let src = 0;
    for (let d = 0; d < outShape.length; d++) {
      const c = Math.floor(rem / outStr[d]);
      rem -= c * outStr[d];
      src += (c % t.shape[d]) * inStr[d];
    }
    out.data[i] = t.data[src]!;
  }
  return out;
}

/** One axis of a strided selection: `len` elements from `start` by `step`. */
export interface AxisSel {
  start: number;
  step: number;
  len: number;
}

export function gatherSel(t: HostTensor, sel: AxisSel[]): HostTensor {
  const selShape = sel.map((s) => s.len);
  const out = makeTensor(t.dtype, selShape);
  const inStr = strides(t.shape);
  const outStr = strides(selShape);
  for (let i = 0; i < out.data.length; i++) {
    let rem = i;
    let src = 0;
    for (let d = 0; d < sel.length; d++) {
      const c = Math.floor(rem / outStr[d]);
      rem -= c * outStr[d];
      src += (sel[d].start + c * sel[d].step) * inStr[d];
    }
    out.data[i] = t.data[src]!;
  }
  return out;
}

export interface StridedSliceMasks {
  begin: number;
  end: number;
  ellipsis: number;
  newAxis: number;
  shrink: number;
}

/** Result of resolving a TF StridedSlice against a static input shape. */
export interface StridedSliceResolved {
  /** per input axis */
  sel: AxisSel[];
  /** final output shape (shrunk axes removed, new axes inserted) */
  outShape: number[];
}

/** TF StridedSlice semantics (begin/end/ellipsis/new_axis/shrink masks) on a static shape. */
export function resolveStridedSlice(
  shape: readonly number[],
  begin: readonly number[],
  end: readonly number[],
  stridesIn: readonly number[],
  m: StridedSliceMasks,
): StridedSliceResolved {
  const rank = shape.length;
  const n = begin.length;
  let consumes = 0;
  let hasEllipsis = false;
  for (let i = 0; i < n; i++) {
    const bit = 1 << i;
    if (m.ellipsis & bit) hasEllipsis = true;
    else if (!(m.newAxis & bit)) consumes++;
  }
  const sel: AxisSel[] = [];
  const outShape: number[] = [];
  let axis = 0;
  const full = (): void => {
    const d = shape[axis];
    sel.push({ start: 0, step: 1, len: d });
    outShape.push(d);
    axis++;
  };
  for (let i = 0; i < n; i++) {
    const bit = 1 << i;
    if (m.ellipsis & bit) {
      const k = rank - consumes;
      for (let j = 0; j < k; j++) full();
      continue;
    }
    if (m.newAxis & bit) {
      outShape.push(1);
      continue;
    }
    if (axis >= rank) throw new Error(`strided slice: more indices than rank ${rank}`);
    const d = shape[axis];
    const s = stridesIn[i] ?? 1;
    if (s === 0) throw new Error('strided slice: stride 0');
    let b = begin[i];
    const e = end[i];
    if (m.shrink & bit) {
      if (b < 0) b += d;
      if (b < 0 || b >= d) throw new Error(`strided slice: index ${begin[i]} out of range for dim ${d}`);
      sel.push({ start: b, step: 1, len: 1 });
      axis++;
      continue;
    }
    let start: number;
    let stop: number;
    let len: number;
    if (s > 0) {
      start = m.begin & bit ? 0 : Math.min(Math.max(b < 0 ? b + d : b, 0), d);
      stop = m.end & bit ? d : Math.min(Math.max(e < 0 ? e + d : e, 0), d);
      len = Math.max(0, Math.ceil((stop - start) / s));
    } else {
      start = m.begin & bit ? d - 1 : Math.min(Math.max(b < 0 ? b + d : b, -1), d - 1);
      stop = m.end & bit ? -1 : Math.min(Math.max(e < 0 ? e + d : e, -1), d - 1);
      len = Math.max(0, Math.ceil((start - stop) / -s));
    }
    sel.push({ start, step: s, len });
    outShape.push(len);
    axis++;
  }
  if (!hasEllipsis) while (axis < rank) full();
  return { sel, outShape };
}

export function castTo(t: HostTensor, dtype: TfjsDtype): HostTensor {
  if (dtype === t.dtype) return t;
  if (dtype === 'float32') return unary(t, (x) => x, 'float32');
  if (dtype === 'bool') return unary(t, (x) => (x ? 1 : 0), 'bool');
  return unary(t, (x) => Math.trunc(x), 'int32');
}

/** Reduce over `axes` with `fn` (sum/max/min/prod/mean). */
export function reduce(t: HostTensor, axes: number[], kind: 'sum' | 'mean' | 'max' | 'min' | 'prod', keepDims: boolean): HostTensor {
  const r = t.shape.length;
  const ax = new Set(axes.map((a) => (a < 0 ? a + r : a)));
  const keptShape = t.shape.map((d, i) => (ax.has(i) ? 1 : d));
  const out = makeTensor(t.dtype, keptShape);
  const count = new Float64Array(out.data.length);
  const acc = new Float64Array(out.data.length);
  const init = kind === 'max' ? -Infinity : kind === 'min' ? Infinity : kind === 'prod' ? 1 : 0;
  acc.fill(init);
  const inStr = strides(t.shape);
  const outStr = strides(keptShape);
  for (let i = 0; i < t.data.length; i++) {
    let rem = i;
    let o = 0;
    for (let d = 0; d < r; d++) {
      const c = Math.floor(rem / inStr[d]);
      rem -= c * inStr[d];
      if (!ax.has(d)) o += c * outStr[d];
    }
    const v = t.data[i];
    if (kind === 'max') acc[o] = Math.max(acc[o], v);
    else if (kind === 'min') acc[o] = Math.min(acc[o], v);
    else if (kind === 'prod') acc[o] = acc[o] * v;
    else acc[o] = acc[o] + v;
    count[o]++;
  }
  for (let i = 0; i < out.data.length; i++) out.data[i] = kind === 'mean' ? acc[i] / count[i] : acc[i];
  if (!keepDims) out.shape = t.shape.filter((_, i) => !ax.has(i));
  return out;
}
