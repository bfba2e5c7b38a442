/**
 * A minimal ONNX ModelProto writer (protobuf wire format by hand, no dependencies) for test
 * fixtures: a graph with one float32 input whose outputs are constants. ONNX Runtime loads it with
 * `InferenceSession.create(buffer)`; running it returns the constants whatever the input holds.
 *
 * The input feeds no node; ONNX Runtime still lists it in `inputNames` (feed it as usual).
 * Field numbers follow onnx.proto (ModelProto, GraphProto, NodeProto, TensorProto, ValueInfoProto).
 */

export type ConstantDtype = 'float32' | 'int32' | 'int64';

export interface ConstantOutput {
  name: string;
  dims: number[];
  dtype: ConstantDtype;
  data: number[];
}

export interface ConstantModelSpec {
  inputName: string;
  inputShape: number[];
  outputs: ConstantOutput[];
  /** default opset 13 */
  opset?: number;
}

// ---- protobuf wire format -------------------------------------------------------------------------

const WIRE_VARINT = 0;
const WIRE_LEN = 2;

/** Base-128 varint; negative numbers as 64-bit two's complement (10 bytes), as protobuf int64 does. */
function varint(value: number | bigint): Buffer {
  let v = BigInt.asUintN(64, BigInt(value));
  const bytes: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) byte |= 0x80;
    bytes.push(byte);
  } while (v !== 0n);
  return Buffer.from(bytes);
}

function key(field: number, wire: number): Buffer {
  return varint((field << 3) | wire);
}

/** A message under construction: fields appended in order. */
class Message {
  private readonly parts: Buffer[] = [];

  int(field: number, value: number | bigint): this {
    this.parts.push(key(field, WIRE_VARINT), varint(value));
    return this;
  }

  bytes(field: number, value: Buffer): this {
    this.parts.push(key(field, WIRE_LEN), varint(value.length), value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, Buffer.from(value, 'utf8'));
  }

  message(field: number, value: Message): this {
    return this.bytes(field, value.encode());
  }

  encode(): Buffer {
    return Buffer.concat(this.parts);
  }
}

// ---- ONNX messages (field numbers from onnx.proto) --------------------------------------------------

/** TensorProto.DataType */
const DATA_TYPE: Record<ConstantDtype, number> = { float32: 1, int32: 6, int64: 7 };
/** AttributeProto.AttributeType.TENSOR */
const ATTRIBUTE_TENSOR = 4;
/** IR version 7 goes with opset 13 (ONNX Runtime 1.23 reads up to IR 11). */
const IR_VERSION = 7;

function rawData(dtype: ConstantDtype, data: number[]): Buffer {
  const size = dtype === 'int64' ? 8 : 4;
  const buf = Buffer.alloc(data.length * size);
  data.forEach((v, i) => {
    if (dtype === 'float32') buf.writeFloatLE(v, i * 4);
    else if (dtype === 'int32') buf.writeInt32LE(v, i * 4);
    else buf.writeBigInt64LE(BigInt(Math.trunc(v)), i * 8);
  });
  return buf;
}

function tensorProto(name: string, dims: number[], dtype: ConstantDtype, data: number[]): Message {
  const t = new Message();
  for (const d of dims) t.int(1, d); // dims
  t.int(2, DATA_TYPE[dtype]); // data_type
  t.string(8, name); // name
  t.bytes(9, rawData(dtype, data)); // raw_data
  return t;
}

function valueInfo(name: string, dtype: ConstantDtype, dims: number[]): Message {
  const shape = new Message();
  for (const d of dims) shape.message(1, new Message().int(1, d)); // TensorShapeProto.dim { dim_value }
  const tensorType = new Message().int(1, DATA_TYPE[dtype]).message(2, shape); // TypeProto.Tensor
  const type = new Message().message(1, tensorType); // TypeProto.tensor_type
  return new Message().string(1, name).message(2, type); // ValueInfoProto
}

function node(opType: string, name: string, inputs: string[], outputs: string[], attributes: Message[] = []): Message {
  const n = new Message();
  for (const i of inputs) n.string(1, i);
  for (const o of outputs) n.string(2, o);
  n.string(3, name);
  n.string(4, opType);
  for (const a of attributes) n.message(5, a);
  return n;
}

function checkSpec(spec: ConstantModelSpec): void {
  const names = new Set<string>([spec.inputName]);
  for (const o of spec.outputs) {
    if (names.has(o.name)) throw new Error(`onnx-writer: duplicate tensor name "${o.name}"`);
    names.add(o.name);
    const count = o.dims.reduce((a, b) => a * b, 1);
    if (count !== o.data.length) {
      throw new Error(`onnx-writer: output "${o.name}" has dims [${o.dims.join(',')}] (${count} values) but ${o.data.length} data values`);
    }
  }
  if (spec.inputShape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new Error(`onnx-writer: inputShape [${spec.inputShape.join(',')}] must hold positive integers`);
  }
}

/**
 * An ONNX model: float32 input `inputName` of `inputShape`, and one Constant node per output.
 * The input is not needed to compute the outputs; ONNX Runtime still lists it and expects it fed.
 */
export function buildConstantModel(spec: ConstantModelSpec): Buffer {
  checkSpec(spec);
  const graph = new Message();
  spec.outputs.forEach((o, i) => {
    const attr = new Message()
      .string(1, 'value')
      .message(5, tensorProto(`${o.name}_value`, o.dims, o.dtype, o.data))
      .int(20, ATTRIBUTE_TENSOR);
    graph.message(1, node('Constant', `const_${i}`, [], [o.name], [attr]));
  });
  graph.string(2, 'constant_outputs');
  graph.message(11, valueInfo(spec.inputName, 'float32', spec.inputShape));
  for (const o of spec.outputs) graph.message(12, valueInfo(o.name, o.dtype, o.dims));

  const model = new Message();
  model.int(1, IR_VERSION); // ir_version
  model.string(2, 'trt-detect test/support/onnx-writer'); // producer_name
  model.message(7, graph); // graph
  model.message(8, new Message().string(1, '').int(2, spec.opset ?? 13)); // opset_import { domain: "", version }
  return model.encode();
}
