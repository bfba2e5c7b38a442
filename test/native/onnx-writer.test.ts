import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { buildConstantModel } from '../support/onnx-writer.js';

describe('buildConstantModel', () => {
  it('loads in onnxruntime-node and returns the constants for every dtype', async () => {
    const model = buildConstantModel({
      inputName: 'image',
      inputShape: [1, 3, 4, 6],
      outputs: [
        { name: 'scores', dims: [1, 2, 3], dtype: 'float32', data: [0.1, 0.9, 0, 0.25, 0.5, 0.25] },
        { name: 'labels', dims: [2], dtype: 'int32', data: [3, -1] },
        { name: 'num', dims: [1, 1], dtype: 'int64', data: [2] },
        { name: 'empty', dims: [1, 0, 4], dtype: 'float32', data: [] },
      ],
    });
    const session = await ort.InferenceSession.create(model);
    try {
      expect(session.inputNames).toEqual(['image']);
      expect(session.outputNames).toEqual(['scores', 'labels', 'num', 'empty']);
      const image = new ort.Tensor('float32', new Float32Array(3 * 4 * 6), [1, 3, 4, 6]);
      const out = await session.run({ image });
      expect(out.scores.dims).toEqual([1, 2, 3]);
      expect(out.scores.type).toBe('float32');
      expect(Array.from(out.scores.data as Float32Array)).toEqual(Array.from(new Float32Array([0.1, 0.9, 0, 0.25, 0.5, 0.25])));
      expect(out.labels.type).toBe('int32');
      expect(Array.from(out.labels.data as Int32Array)).toEqual([3, -1]);
      expect(out.num.type).toBe('int64');
      expect(out.num.dims).toEqual([1, 1]);
      expect(Array.from(out.num.data as BigInt64Array)).toEqual([2n]);
      expect(out.empty.dims).toEqual([1, 0, 4]);
    } finally {
      await session.release();
    }
  });

  it('honours the opset and describes the input shape', async () => {
    const model = buildConstantModel({
      inputName: 'input_0',
      inputShape: [1, 3, 300, 300],
      outputs: [{ name: 'boxes', dims: [1, 1, 4], dtype: 'float32', data: [0, 0.5, 1, 1] }],
      opset: 11,
    });
    const session = await ort.InferenceSession.create(model);
    try {
      const out = await session.run({ input_0: new ort.Tensor('float32', new Float32Array(3 * 300 * 300), [1, 3, 300, 300]) });
      expect(Array.from(out.boxes.data as Float32Array)).toEqual([0, 0.5, 1, 1]);
    } finally {
      await session.release();
    }
  });

  it('rejects data that does not fill the dims', () => {
    expect(() =>
      buildConstantModel({ inputName: 'x', inputShape: [1, 3, 2, 2], outputs: [{ name: 'y', dims: [2, 2], dtype: 'float32', data: [1, 2, 3] }] }),
    ).toThrow(/"y" has dims \[2,2\] \(4 values\) but 3 data values/);
  });
});
