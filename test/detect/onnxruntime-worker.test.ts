import { describe, expect, it } from 'vitest';
import { OnnxRuntimeThread } from '../../daemon/detect/onnxruntime-thread.js';
import { MODEL } from '../support/cli.js';

const OPTIONS = { executionProviders: ['cpu'], graphOptimizationLevel: 'all' as const, executionMode: 'sequential' as const, intraOpNumThreads: 1 };

describe('the ONNX Runtime worker thread (daemon/detect/onnxruntime-worker.ts)', () => {
  it('opens a model, runs a slot into shared outputs, and names what is wrong as data', async () => {
    const session = await OnnxRuntimeThread.open(MODEL, OPTIONS);
    expect(session.inputNames).toEqual(['input']);
    expect(session.outputMetadata.map((m) => [m.name, m.shape])).toEqual([
      ['scores', [1, 18456, 5]],
      ['boxes', [1, 18456, 4]],
    ]);
    const input = new SharedArrayBuffer(3 * 288 * 512 * 4);
    await session.addSlot(0, input);
    const out = await session.run('input', 0, [1, 3, 288, 512]);
    expect(out.scores.dims).toEqual([1, 18456, 5]);
    expect(out.scores.data.buffer).toBeInstanceOf(SharedArrayBuffer); // a view, nothing cloned
    // softmax scores of a grey picture: each box's five sum to 1
    const s = out.scores.data as Float32Array;
    expect(s[0] + s[1] + s[2] + s[3] + s[4]).toBeCloseTo(1, 4);

    await expect(session.run('input', 7, [1, 3, 288, 512])).rejects.toThrow('unknown tensor slot');
    await expect(session.run('nope', 0, [1, 3, 288, 512])).rejects.toThrow("input 'input' is missing in 'feeds'");
    await session.close();
    await expect(session.run('input', 0, [1, 3, 288, 512])).rejects.toThrow('session is closed');
  });

  it("a file that is not a model is ONNX Runtime's own message", async () => {
    await expect(OnnxRuntimeThread.open(new URL(import.meta.url).pathname, OPTIONS)).rejects.toThrow(/protobuf|parse|load/i);
  });
});
