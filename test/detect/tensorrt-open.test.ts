import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { chooseBackend, openDetector } from '../../daemon/detect/open.js';
import { ConfigError } from '../../daemon/core/errors.js';
import { addonInfo } from '../../daemon/native.js';
import { buildConstantModel } from '../support/onnx-writer.js';
import { tempDir } from '../support/videos.js';

const { dir, cleanup } = tempDir('trt-open');
afterAll(cleanup);

function configError(f: () => unknown): ConfigError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('choosing the detector backend', () => {
  it('auto: TensorRT when built and a GPU answers, else ONNX Runtime with the reason', () => {
    expect(chooseBackend('m.onnx', 'auto', true, null)).toEqual({ backend: 'tensorrt', fallback: null });
    expect(chooseBackend('m.onnx', 'auto', false)).toEqual({
      backend: 'onnxruntime',
      fallback: 'this build has no TensorRT: running the ONNX model with ONNX Runtime on the CPU',
    });
    expect(chooseBackend('m.onnx', 'auto', true, 'no CUDA GPU available (0 devices)')).toEqual({
      backend: 'onnxruntime',
      fallback: 'TensorRT cannot run here (no CUDA GPU available (0 devices)): running the ONNX model with ONNX Runtime on the CPU',
    });
    expect(chooseBackend('m.onnx', 'onnxruntime', true, null)).toEqual({ backend: 'onnxruntime', fallback: null });
  });

  it('tensorrt requested, or an engine file, without TensorRT or GPU: one ConfigError (exit 2)', () => {
    const e1 = configError(() => chooseBackend('m.onnx', 'tensorrt', false));
    expect(e1.exitCode).toBe(2);
    expect(e1.message).toBe(
      'm.onnx: model.backend: tensorrt needs the addon built with TensorRT (on a Jetson: npm run setup finds TensorRT; elsewhere use the .onnx model with backend onnxruntime)',
    );
    expect(configError(() => chooseBackend('x.engine', 'auto', false)).message).toMatch(/^x\.engine: TensorRT engines need the addon built with TensorRT/);
    expect(configError(() => chooseBackend('x.PLAN', 'tensorrt', true, 'no CUDA GPU available')).message).toBe(
      'x.PLAN: TensorRT engines need a GPU: no CUDA GPU available',
    );
    expect(configError(() => chooseBackend('x.engine', 'onnxruntime', true, null)).message).toMatch(/ONNX Runtime cannot load a TensorRT engine/);
    expect(chooseBackend('x.engine', 'auto', true, null).backend).toBe('tensorrt');
  });

  it.skipIf(addonInfo.tensorrt)('this build (no TensorRT): auto falls back to ONNX Runtime with an info log; tensorrt is exit 2', async () => {
    const model = join(dir, 'c.onnx');
    writeFileSync(
      model,
      buildConstantModel({
        inputName: 'input',
        inputShape: [1, 3, 8, 8],
        outputs: [
          { name: 'scores', dims: [1, 2, 2], dtype: 'float32', data: [0.1, 0.9, 0.8, 0.2] },
          { name: 'boxes', dims: [1, 2, 4], dtype: 'float32', data: [0, 0, 0.5, 0.5, 0.5, 0.5, 1, 1] },
        ],
      }),
    );
    const logs: string[] = [];
    const det = await openDetector({ modelPath: model, backend: 'auto', log: (level, m) => logs.push(`${level}: ${m}`) });
    expect(det.info.backend).toBe('onnxruntime');
    expect(logs).toEqual([`info: ${model}: this build has no TensorRT: running the ONNX model with ONNX Runtime on the CPU`]);
    await det.close();
    const err = await openDetector({ modelPath: model, backend: 'tensorrt' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).exitCode).toBe(2);
  });
});
