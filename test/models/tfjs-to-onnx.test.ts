import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RuntimeFailure } from '../../daemon/core/errors.js';
import { parseTfjsGraphModel, readTfjsGraphModel } from '../../daemon/models/tfjs-graph.js';
import { convertTfjsGraph, convertTfjsGraphModelDir, convertTfjsGraphModelDirToFile, type TfjsToOnnxSpec } from '../../daemon/models/tfjs-to-onnx.js';
import { attr, inspectOnnx, maxAbsDiff, nhwcToNchw, rand, runOnnx, TfGraph, TRT_FRIENDLY_OPS } from './tfjs-helpers.js';

/** Convert `g` cut at placeholder "x" (NHWC `shape`), run both, return max abs diff per output. */
async function compare(g: TfGraph, shape: [number, number, number, number], outputs: string[], opset = 11) {
  const spec: TfjsToOnnxSpec = {
    input: { tensor: 'x', name: 'input', shapeNhwc: shape },
    outputs: outputs.map((t, i) => ({ tensor: t, name: `out${i}` })),
    opset,
    metadata: { note: 'test' },
  };
  const res = convertTfjsGraph(g.model(), spec);
  const x = rand(shape.reduce((a, b) => a * b, 1), 7);
  const tfModel = await g.tfModel();
  const ref = tfModel.execute({ x: tf.tensor4d(x, shape) }, outputs);
  const refs = Array.isArray(ref) ? ref : [ref];
  const got = await runOnnx(res.onnx, { input: { data: nhwcToNchw(x, shape), dims: [shape[0], shape[3], shape[1], shape[2]] } });
  const diffs = refs.map((r, i) => {
    expect(got[`out${i}`].dims).toEqual(r.shape);
    return maxAbsDiff(got[`out${i}`].data, r.dataSync());
  });
  const info = inspectOnnx(res.onnx);
  expect(info.opset).toBe(opset);
  for (const op of info.ops) expect(TRT_FRIENDLY_OPS.has(op), `op ${op}`).toBe(true);
  expect(res.nodeCount).toBe(info.ops.length);
  return { res, diffs, info };
}

describe('tfjs-to-onnx on synthetic graphs (reference: tfjs-converter on the cpu backend)', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('Conv2D SAME stride 2 + BiasAdd + Relu6 becomes one Conv (explicit asymmetric pads) + Clip', async () => {
    const g = new TfGraph();
    g.placeholder('x', [1, 9, 11, 3]);
    g.const('w', [4, 4, 3, 5], rand(4 * 4 * 3 * 5, 1));
    g.const('b', [5], rand(5, 2));
    const conv = g.op('conv', 'Conv2D', ['x', 'w'], {
      strides: attr.ints([1, 2, 2, 1]), padding: attr.s('SAME'), data_format: attr.s('NHWC'), dilations: attr.ints([1, 1, 1, 1]),
    });
    const bias = g.op('bias', 'BiasAdd', [conv, 'b'], { data_format: attr.s('NHWC') });
    g.op('relu6', 'Relu6', [bias]);
    const { res, diffs, info } = await compare(g, [1, 9, 11, 3], ['relu6']);
    expect(diffs[0]).toBeLessThan(1e-5);
    expect(res.ops).toEqual({ Conv: 1, Clip: 1, Transpose: 1 });
    const c = info.nodes.find((n) => n.op === 'Conv')!;
    // H 9 -> 5: total pad (5-1)*2+4-9 = 3 -> top 1, bottom 2; W 11 -> 6: (6-1)*2+4-11 = 3 -> left 1, right 2
    expect(c.attrs.pads).toEqual([1, 1, 2, 2]);
    expect(c.attrs.strides).toEqual([2, 2]);
    expect(info.inputs).toEqual([{ name: 'input', dims: [1, 3, 9, 11] }]);
    expect(info.outputs).toEqual([{ name: 'out0', dims: [1, 5, 6, 5] }]);
    expect(info.metadata).toMatchObject({ note: 'test', converter: 'trt-detect tfjs-to-onnx' });
  });

  it('DepthwiseConv2dNative (multiplier 2) + FusedBatchNorm + Relu6 folds into a grouped Conv', async () => {
    const g = new TfGraph();
    g.placeholder('x', [1, 8, 8, 3]);
    g.const('dw', [3, 3, 3, 2], rand(3 * 3 * 3 * 2, 3));
    g.const('gamma', [6], rand(6, 4, 0.5, 1.5));
    g.const('beta', [6], rand(6, 5));
    g.const('mean', [6], rand(6, 6));
    g.const('var', [6], rand(6, 8, 0.1, 2));
    const dw = g.op('dw_conv', 'DepthwiseConv2dNative', ['x', 'dw'], {
      strides: attr.ints([1, 2, 2, 1]), padding: attr.s('SAME'), data_format: attr.s('NHWC'), dilations: attr.ints([1, 1, 1, 1]),
    });
    const bn = g.op('bn', 'FusedBatchNorm', [dw, 'gamma', 'beta', 'mean', 'var'], {
      epsilon: attr.f(0.001), is_training: attr.b(false), data_format: attr.s('NHWC'),
    });
    g.op('relu6', 'Relu6', [bn]);
    // a second branch: depthwise VALID whose output is used twice, so its BN is emitted, not folded
    const dw2 = g.op('dw2', 'DepthwiseConv2dNative', ['x', 'dw'], {
      strides: attr.ints([1, 1, 1, 1]), padding: attr.s('VALID'), data_format: attr.s('NHWC'), dilations: attr.ints([1, 1, 1, 1]),
    });
    const bn2 = g.op('bn2', 'FusedBatchNorm', [dw2, 'gamma', 'beta', 'mean', 'var'], {
      epsilon: attr.f(0.001), is_training: attr.b(false), data_format: attr.s('NHWC'),
    });
    g.op('sum2', 'Add', [bn2, dw2]);
    const { res, diffs, info } = await compare(g, [1, 8, 8, 3], ['relu6', 'sum2']);
    expect(diffs[0]).toBeLessThan(1e-5);
    expect(diffs[1]).toBeLessThan(1e-5);
    const convs = info.nodes.filter((n) => n.op === 'Conv');
    expect(convs.map((c) => c.attrs.group)).toEqual([3, 3]);
    expect(convs[0].attrs.pads).toEqual([0, 0, 1, 1]);
    expect(res.ops.BatchNormalization).toBe(1);
    expect(res.ops.Clip).toBe(1);
  });

  it('folds Shape/StridedSlice/Pack/Reshape/Transpose/Tile of constants; Unpack/ConcatV2/StridedSlice on data', async () => {
    const g = new TfGraph();
    g.placeholder('x', [1, 4, 6, 8]);
    g.const('w', [1, 1, 8, 8], rand(64, 11));
    const conv = g.op('conv', 'Conv2D', ['x', 'w'], {
      strides: attr.ints([1, 1, 1, 1]), padding: attr.s('SAME'), data_format: attr.s('NHWC'), dilations: attr.ints([1, 1, 1, 1]),
    });
    // shape arithmetic like the SSD box predictors: [batch, -1, 4] from Shape + StridedSlice + Pack
    g.op('shape', 'Shape', [conv], { out_type: attr.type('DT_INT32') });
    g.ints('b0', [0]);
    g.ints('b1', [1]);
    g.op('batch', 'StridedSlice', ['shape', 'b0', 'b1', 'b1'], {
      T: attr.type('DT_INT32'), Index: attr.type('DT_INT32'), shrink_axis_mask: attr.i(1), begin_mask: attr.i(0), end_mask: attr.i(0), ellipsis_mask: attr.i(0), new_axis_mask: attr.i(0),
    });
    g.scalarInt('m1', -1);
    g.scalarInt('four', 4);
    g.op('stack', 'Pack', ['batch', 'm1', 'four'], { T: attr.type('DT_INT32'), axis: attr.i(0), N: attr.i(3) });
    const r = g.op('reshape', 'Reshape', [conv, 'stack'], { Tshape: attr.type('DT_INT32') }); // [1,48,4]
    // constant anchors: Transpose + Tile of constants
    g.const('anchors', [4, 2], rand(8, 12));
    g.ints('perm10', [1, 0]);
    g.op('anchors_t', 'Transpose', ['anchors', 'perm10'], { Tperm: attr.type('DT_INT32') }); // [2,4]
    g.ints('reps', [24, 1]);
    g.op('anchors_tiled', 'Tile', ['anchors_t', 'reps'], { Tmultiples: attr.type('DT_INT32') }); // [48,4]
    g.op('decoded', 'Mul', [r, 'anchors_tiled']);
    g.ints('sq_shape', [48, 4]);
    const flat = g.op('flat', 'Reshape', ['decoded', 'sq_shape'], { Tshape: attr.type('DT_INT32') });
    g.op('flat_t', 'Transpose', [flat, 'perm10'], { Tperm: attr.type('DT_INT32') }); // [4,48]
    g.op('parts', 'Unpack', ['flat_t'], { num: attr.i(4), axis: attr.i(0) });
    g.op('d0', 'Sub', ['parts:2', 'parts']);
    g.op('d1', 'Exp', ['parts:3']);
    g.op('packed', 'Pack', ['d0', 'd1', 'parts:1'], { axis: attr.i(1), N: attr.i(3) }); // [48,3]
    g.op('packed_t', 'Transpose', ['packed', 'perm10'], { Tperm: attr.type('DT_INT32') }); // [3,48]: re-packed on axis 0
    // StridedSlice on data with begin/end masks and a negative stride, and a ConcatV2
    g.ints('sb', [10, 0]);
    g.ints('se', [2, 2]);
    g.ints('ss', [-2, 1]);
    g.op('sliced', 'StridedSlice', ['packed', 'sb', 'se', 'ss'], {
      Index: attr.type('DT_INT32'), begin_mask: attr.i(2), end_mask: attr.i(0), shrink_axis_mask: attr.i(0), ellipsis_mask: attr.i(0), new_axis_mask: attr.i(0),
    }); // rows 10,8,6,4 ; cols 0..1 -> [4,2]
    g.scalarInt('axis0', 0);
    g.const('row', [1, 2], [0.5, -0.5]);
    g.op('cat', 'ConcatV2', ['row', 'sliced', 'sliced', 'axis0'], { N: attr.i(3), Tidx: attr.type('DT_INT32') }); // a constant first
    g.ints('sl_b', [0, 0, 1]);
    g.ints('sl_s', [-1, 40, -1]);
    g.op('slice', 'Slice', [r, 'sl_b', 'sl_s'], { Index: attr.type('DT_INT32') });
    for (const opset of [11, 13]) {
      const { res, diffs } = await compare(g, [1, 4, 6, 8], ['packed', 'cat', 'slice', 'packed_t'], opset);
      for (const d of diffs) expect(d).toBeLessThan(1e-5);
      expect(res.ops.Transpose).toBe(1); // NHWC for the Reshape; the Unpack and the packed_t Transpose need none
      // nothing of the shape arithmetic survives
      expect(Object.keys(res.ops).sort()).toEqual(['Concat', 'Conv', 'Exp', 'Mul', 'Reshape', 'Slice', 'Split', 'Sub', 'Transpose']);
    }
  });

  it('dilated Conv2D SAME, StridedSlice with ellipsis / new axis / shrink, Sigmoid, Softmax', async () => {
    const g = new TfGraph();
    g.placeholder('x', [1, 9, 11, 3]);
    g.const('w', [3, 3, 3, 4], rand(3 * 3 * 3 * 4, 21));
    const conv = g.op('conv', 'Conv2D', ['x', 'w'], {
      strides: attr.ints([1, 1, 1, 1]), padding: attr.s('SAME'), data_format: attr.s('NHWC'), dilations: attr.ints([1, 2, 2, 1]),
    });
    g.op('sig', 'Sigmoid', [conv]);
    g.ints('b', [0, 1, 0]);
    g.ints('e', [0, 3, 0]);
    g.ints('s', [1, 1, 1]);
    // [..., 1:3, newaxis]: ellipsis covers N,H,W; channels 1..2; new trailing axis -> [1,9,11,2,1]
    g.op('ss', 'StridedSlice', ['sig', 'b', 'e', 's'], {
      Index: attr.type('DT_INT32'), begin_mask: attr.i(0), end_mask: attr.i(0), shrink_axis_mask: attr.i(0), ellipsis_mask: attr.i(1), new_axis_mask: attr.i(4),
    });
    g.ints('b2', [0, 2]);
    g.ints('e2', [0, 3]);
    g.ints('s2', [1, 1]);
    // [:, 2] shrinks H -> [1,11,4]
    g.op('row', 'StridedSlice', [conv, 'b2', 'e2', 's2'], {
      Index: attr.type('DT_INT32'), begin_mask: attr.i(1), end_mask: attr.i(1), shrink_axis_mask: attr.i(2), ellipsis_mask: attr.i(0), new_axis_mask: attr.i(0),
    });
    g.op('sm', 'Softmax', ['row']);
    const { diffs, info } = await compare(g, [1, 9, 11, 3], ['ss', 'sm']);
    for (const d of diffs) expect(d).toBeLessThan(1e-5);
    const c = info.nodes.find((n) => n.op === 'Conv')!;
    expect(c.attrs.dilations).toEqual([2, 2]);
    expect(c.attrs.pads).toEqual([2, 2, 2, 2]);
  });

  it('MaxPool / AvgPool SAME, Pad, Mean, Relu, Concat in NCHW', async () => {
    const g = new TfGraph();
    g.placeholder('x', [1, 7, 7, 4]);
    const mp = g.op('mp', 'MaxPool', ['x'], { ksize: attr.ints([1, 3, 3, 1]), strides: attr.ints([1, 2, 2, 1]), padding: attr.s('SAME'), data_format: attr.s('NHWC') });
    const ap = g.op('ap', 'AvgPool', ['x'], { ksize: attr.ints([1, 2, 2, 1]), strides: attr.ints([1, 2, 2, 1]), padding: attr.s('SAME'), data_format: attr.s('NHWC') });
    g.scalarInt('axis3', 3);
    const cat = g.op('cat', 'ConcatV2', [mp, ap, 'axis3'], { N: attr.i(2), Tidx: attr.type('DT_INT32') });
    g.const('pads', [4, 2], [0, 0, 1, 2, 0, 1, 0, 0], 'int32');
    const pad = g.op('pad', 'Pad', [cat, 'pads'], { Tpaddings: attr.type('DT_INT32') });
    const relu = g.op('relu', 'Relu', [pad]);
    // per-channel constant on an NCHW tensor: must broadcast as [1,C,1,1]
    g.const('chan', [8], [1, 2, 3, 4, 5, 6, 7, 8]);
    const scaled = g.op('scaled', 'Mul', [relu, 'chan']);
    g.ints('hw', [1, 2]);
    g.op('mean', 'Mean', [scaled, 'hw'], { keep_dims: attr.b(false), Tidx: attr.type('DT_INT32') });
    const { diffs, res } = await compare(g, [1, 7, 7, 4], ['relu', 'mean']);
    for (const d of diffs) expect(d).toBeLessThan(1e-5);
    expect(res.ops.ReduceMean).toBe(1);
    expect(res.ops.Transpose).toBe(1); // only for the 4-D output 'relu'
  });

  it('an unknown op is one RuntimeFailure line naming the op and node', () => {
    const g = new TfGraph();
    g.placeholder('x', [1, 4, 4, 3]);
    g.op('a/b/c', 'FooBar', ['x']);
    const spec: TfjsToOnnxSpec = { input: { tensor: 'x', name: 'input', shapeNhwc: [1, 4, 4, 3] }, outputs: [{ tensor: 'a/b/c', name: 'y' }] };
    let err: unknown;
    try {
      convertTfjsGraph(g.model(), spec);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RuntimeFailure);
    const msg = (err as Error).message;
    expect(msg).toMatch(/^tfjs-to-onnx: unsupported op "FooBar" at node "a\/b\/c" \(supported: .*Conv2D.*\)$/);
    expect(msg).not.toContain('\n');
  });

  it('unsupported attribute values (NCHW data_format) are one clear line', () => {
    const g = new TfGraph();
    g.placeholder('x', [1, 4, 4, 3]);
    g.const('w', [1, 1, 3, 2], rand(6, 1));
    g.op('conv', 'Conv2D', ['x', 'w'], { strides: attr.ints([1, 1, 1, 1]), padding: attr.s('VALID'), data_format: attr.s('NCHW') });
    const spec: TfjsToOnnxSpec = { input: { tensor: 'x', name: 'input', shapeNhwc: [1, 4, 4, 3] }, outputs: [{ tensor: 'conv', name: 'y' }] };
    expect(() => convertTfjsGraph(g.model(), spec)).toThrow(/^tfjs-to-onnx: node "conv" \(Conv2D\): data_format "NCHW" is not supported/);
  });

  it('control flow before the cut is reported; a graph cut after it converts', () => {
    const g = new TfGraph();
    g.placeholder('img', [1, 4, 4, 3]);
    g.op('loop/Enter', 'Enter', ['img']);
    g.op('x', 'Identity', ['loop/Enter']);
    g.op('y', 'Relu', ['x']);
    const spec: TfjsToOnnxSpec = { input: { tensor: 'loop/Enter', name: 'input', shapeNhwc: [1, 4, 4, 3] }, outputs: [{ tensor: 'y', name: 'y' }] };
    expect(Object.keys(convertTfjsGraph(g.model(), spec).ops)).toEqual(['Relu', 'Transpose']);
    expect(() => convertTfjsGraph(g.model(), { ...spec, input: { ...spec.input, tensor: 'img' } })).toThrow(
      /^tfjs-to-onnx: unsupported op "Enter" at node "loop\/Enter"/,
    );
  });
});

describe('readTfjsGraphModel', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tfjs-graph-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function smallGraph(): TfGraph {
    const g = new TfGraph();
    g.placeholder('x', [1, 2, 2, 2]);
    g.const('k', [2], [2, 3]);
    g.op('y', 'Mul', ['x', 'k']);
    return g;
  }

  it('reads model.json + shard and converts from the directory', async () => {
    const g = smallGraph();
    await writeFile(path.join(dir, 'model.json'), JSON.stringify(g.json()));
    await writeFile(path.join(dir, 'group1-shard1of1.bin'), g.bin());
    const m = await readTfjsGraphModel(dir);
    expect(Array.from(m.weights.get('k')!.data)).toEqual([2, 3]);
    const spec: TfjsToOnnxSpec = { input: { tensor: 'x', name: 'input', shapeNhwc: [1, 2, 2, 2] }, outputs: [{ tensor: 'y', name: 'y' }] };
    const res = await convertTfjsGraphModelDir(dir, spec);
    const file = path.join(dir, 'out.onnx');
    await convertTfjsGraphModelDirToFile(dir, spec, file);
    expect(Buffer.compare(await readFile(file), Buffer.from(res.onnx))).toBe(0);
    const x = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]); // NCHW: channel 0 = 1..4, channel 1 = 5..8
    const out = await runOnnx(res.onnx, { input: { data: x, dims: [1, 2, 2, 2] } });
    expect(Array.from(out.y.data)).toEqual([2, 15, 4, 18, 6, 21, 8, 24]); // NHWC
  });

  it('a truncated shard is one RuntimeFailure naming the file', async () => {
    const g = smallGraph();
    await writeFile(path.join(dir, 'model.json'), JSON.stringify(g.json()));
    await writeFile(path.join(dir, 'group1-shard1of1.bin'), g.bin().subarray(0, 4));
    await expect(readTfjsGraphModel(dir)).rejects.toThrow(RuntimeFailure);
    await expect(readTfjsGraphModel(dir)).rejects.toThrow(/group1-shard1of1\.bin: shards hold 4 bytes but model.json describes 8/);
  });

  it('missing model.json, bad JSON and a missing shard name the file', async () => {
    const empty = await mkdtemp(path.join(dir, 'empty-'));
    await expect(readTfjsGraphModel(empty)).rejects.toThrow(new RegExp(`^tfjs-graph: cannot read ${empty}/model\\.json`));
    await writeFile(path.join(empty, 'model.json'), '{"modelTopology": ');
    await expect(readTfjsGraphModel(empty)).rejects.toThrow(/model\.json is not valid JSON/);
    await writeFile(path.join(empty, 'model.json'), JSON.stringify(smallGraph().json()));
    await expect(readTfjsGraphModel(empty)).rejects.toThrow(/cannot read weight shard .*group1-shard1of1\.bin/);
  });

  it('dequantizes uint8 / float16 weights and rejects unknown quantization', () => {
    const json = {
      modelTopology: { node: [{ name: 'q8', op: 'Const' }, { name: 'h', op: 'Const' }] },
      weightsManifest: [
        {
          paths: ['s'],
          weights: [
            { name: 'q8', shape: [3], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.5, min: -1 } },
            { name: 'h', shape: [2], dtype: 'float32', quantization: { dtype: 'float16' } },
          ],
        },
      ],
    };
    const bytes = Buffer.from([0, 2, 255, 0x00, 0x3c, 0x00, 0xc0]); // uint8 0,2,255 ; f16 1.0, -2.0
    const m = parseTfjsGraphModel(json, [bytes], 'mem');
    expect(Array.from(m.weights.get('q8')!.data)).toEqual([-1, 0, 126.5]);
    expect(Array.from(m.weights.get('h')!.data)).toEqual([1, -2]);
    const bad = JSON.parse(JSON.stringify(json));
    bad.weightsManifest[0].weights[1].quantization.dtype = 'int4';
    expect(() => parseTfjsGraphModel(bad, [bytes], 'mem')).toThrow(/weight "h" has unsupported dtype "int4"/);
  });
});
