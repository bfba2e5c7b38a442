/**
 * A small in-memory ONNX graph (nodes, initializers) that is encoded to a ModelProto with the
 * protobufjs-generated `onnx-proto` package. Initializers are kept as typed arrays until encoding
 * so that a converter can still fold into them (e.g. a BatchNorm into Conv weights).
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

export type OnnxDtype = 'float32' | 'int32' | 'int64' | 'bool';

export interface OnnxInitializer {
  name: string;
  dtype: OnnxDtype;
  dims: number[];
  data: Float32Array | Int32Array | BigInt64Array | Uint8Array;
}

export type OnnxAttr = { i: number } | { ints: number[] } | { f: number } | { floats: number[] } | { s: string };

export interface OnnxNode {
  op: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, OnnxAttr>;
}

export interface OnnxValueInfo {
  name: string;
  dtype: OnnxDtype;
  dims: number[];
}

export interface OnnxModelOptions {
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  opset: number;
  graphName: string;
  producerName: string;
  producerVersion?: string;
  metadata?: Record<string, string>;
  docString?: string;
}

const DTYPE_CODE: Record<OnnxDtype, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  int32: onnx.TensorProto.DataType.INT32,
  int64: onnx.TensorProto.DataType.INT64,
  bool: onnx.TensorProto.DataType.BOOL,
};

export class OnnxGraph {
  readonly nodes: OnnxNode[] = [];
  readonly initializers = new Map<string, OnnxInitializer>();
  private readonly used = new Set<string>();
  private readonly constCache = new Map<string, string>();

  /** A fresh tensor/node name derived from `base`. */
  uniqueName(base: string): string {
    let name = base;
    let k = 1;
    while (this.used.has(name)) name = `${base}_${k++}`;
    this.used.add(name);
    return name;
  }

  reserve(name: string): void {
    this.used.add(name);
  }

  addInitializer(base: string, dtype: OnnxDtype, dims: number[], data: OnnxInitializer['data']): string {
    const name = this.uniqueName(base);
    this.initializers.set(name, { name, dtype, dims: [...dims], data });
    return name;
  }

  /** A shared small constant (shapes, axes, clip bounds): identical values reuse one initializer. */
  constant(base: string, dtype: OnnxDtype, dims: number[], values: number[]): string {
    const key = `${dtype}|${dims.join(',')}|${values.join(',')}`;
    const hit = this.constCache.get(key);
    if (hit) return hit;
    let data: OnnxInitializer['data'];
    if (dtype === 'float32') data = Float32Array.from(values);
    else if (dtype === 'int32') data = Int32Array.from(values);
    else if (dtype === 'int64') data = BigInt64Array.from(values.map((v) => BigInt(v)));
    else data = Uint8Array.from(values);
    const name = this.addInitializer(base, dtype, dims, data);
    this.constCache.set(key, name);
    return name;
  }

  addNode(op: string, inputs: string[], outputBases: string[], attrs: Record<string, OnnxAttr> = {}, nodeBase?: string): string[] {
    const outputs = outputBases.map((b) => this.uniqueName(b));
    const name = this.uniqueName(`${nodeBase ?? outputs[0] ?? op}__node`);
    this.nodes.push({ op, name, inputs, outputs, attrs });
    return outputs;
  }

  /** Rename a tensor everywhere (node inputs and outputs). */
  renameTensor(from: string, to: string): void {
    for (const n of this.nodes) {
      n.inputs = n.inputs.map((x) => (x === from ? to : x));
      n.outputs = n.outputs.map((x) => (x === from ? to : x));
    }
    this.used.add(to);
  }

  producerOf(tensor: string): OnnxNode | undefined {
    return this.nodes.find((n) => n.outputs.includes(tensor));
  }

  /** Drop nodes and initializers that do not contribute to `outputs`. */
  prune(outputs: string[]): void {
    const needed = new Set(outputs);
    const keep: OnnxNode[] = [];
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const n = this.nodes[i];
      if (n.outputs.some((o) => needed.has(o))) {
        keep.push(n);
        for (const x of n.inputs) if (x) needed.add(x);
      }
    }
    keep.reverse();
    this.nodes.length = 0;
    this.nodes.push(...keep);
    for (const name of [...this.initializers.keys()]) if (!needed.has(name)) this.initializers.delete(name);
  }

  opCounts(): Record<string, number> {
    const c: Record<string, number> = {};
    for (const n of this.nodes) c[n.op] = (c[n.op] ?? 0) + 1;
    return c;
  }

  encode(opts: OnnxModelOptions): Uint8Array {
    const valueInfo = (v: OnnxValueInfo): InstanceType<typeof onnx.ValueInfoProto> =>
      onnx.ValueInfoProto.create({
        name: v.name,
        type: onnx.TypeProto.create({
          tensorType: onnx.TypeProto.Tensor.create({
            elemType: DTYPE_CODE[v.dtype],
            shape: onnx.TensorShapeProto.create({ dim: v.dims.map((d) => onnx.TensorShapeProto.Dimension.create({ dimValue: d })) }),
          }),
        }),
      });
    const attr = (name: string, a: OnnxAttr): InstanceType<typeof onnx.AttributeProto> => {
      const T = onnx.AttributeProto.AttributeType;
      if ('i' in a) return onnx.AttributeProto.create({ name, type: T.INT, i: a.i });
      if ('ints' in a) return onnx.AttributeProto.create({ name, type: T.INTS, ints: a.ints });
      if ('f' in a) return onnx.AttributeProto.create({ name, type: T.FLOAT, f: a.f });
      if ('floats' in a) return onnx.AttributeProto.create({ name, type: T.FLOATS, floats: a.floats });
      return onnx.AttributeProto.create({ name, type: T.STRING, s: Buffer.from(a.s, 'utf8') });
    };
    const tensor = (t: OnnxInitializer): InstanceType<typeof onnx.TensorProto> =>
      onnx.TensorProto.create({
        name: t.name,
        dataType: DTYPE_CODE[t.dtype],
        dims: t.dims,
        rawData: littleEndianBytes(t.data),
      });
    const graph = onnx.GraphProto.create({
      name: opts.graphName,
      node: this.nodes.map((n) =>
        onnx.NodeProto.create({
          name: n.name,
          opType: n.op,
          input: n.inputs,
          output: n.outputs,
          attribute: Object.entries(n.attrs).map(([k, v]) => attr(k, v)),
        }),
      ),
      initializer: [...this.initializers.values()].map(tensor),
      input: opts.inputs.map(valueInfo),
      output: opts.outputs.map(valueInfo),
    });
    const model = onnx.ModelProto.create({
      irVersion: opts.opset <= 11 ? 6 : 7, // IR 6 = ONNX 1.6 (opset 11), IR 7 = ONNX 1.7/1.8 (opset 12, 13)
      producerName: opts.producerName,
      producerVersion: opts.producerVersion ?? '',
      docString: opts.docString ?? '',
      opsetImport: [onnx.OperatorSetIdProto.create({ domain: '', version: opts.opset })],
      graph,
      metadataProps: Object.entries(opts.metadata ?? {}).map(([key, value]) => onnx.StringStringEntryProto.create({ key, value })),
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function littleEndianBytes(data: OnnxInitializer['data']): Uint8Array {
  const n = data.length;
  if (data instanceof Uint8Array) return data;
  const bytes = new Uint8Array(n * data.BYTES_PER_ELEMENT);
  const view = new DataView(bytes.buffer);
  if (data instanceof Float32Array) for (let i = 0; i < n; i++) view.setFloat32(i * 4, data[i], true);
  else if (data instanceof Int32Array) for (let i = 0; i < n; i++) view.setInt32(i * 4, data[i], true);
  else for (let i = 0; i < n; i++) view.setBigInt64(i * 8, data[i], true);
  return bytes;
}
