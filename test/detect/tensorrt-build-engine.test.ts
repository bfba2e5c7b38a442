import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildEngineCommand } from '../../daemon/cli/build-engine.js';
import { UserError } from '../../daemon/core/errors.js';
import { addonInfo } from '../../daemon/native.js';
import { MODEL } from '../support/cli.js';
import { tempDir } from '../support/videos.js';

const { dir, cleanup } = tempDir('trt-build-cli');
afterAll(cleanup);

async function fails(args: string[]): Promise<UserError> {
  const err = await buildEngineCommand(args).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(UserError);
  expect((err as UserError).message.split('\n')).toHaveLength(1);
  return err as UserError;
}

describe('trt-detect build-engine arguments', () => {
  it('bad arguments are exit 2 with one line naming the value', async () => {
    expect((await fails([])).message).toBe('trt-detect build-engine: -m MODEL.onnx is required (or -c CONFIG with model.path)');
    const bad = await fails(['-m', MODEL, '--precision', 'int4']);
    expect(bad.exitCode).toBe(2);
    expect(bad.message).toBe('trt-detect build-engine: --precision int4: expected int8, fp16 or fp32');
    const engine = join(dir, 'x.engine');
    writeFileSync(engine, 'x');
    expect((await fails(['-m', engine, '--precision', 'fp16'])).message).toMatch(/is already a TensorRT engine \(give the \.onnx model/);
    expect((await fails(['-m', join(dir, 'none.onnx')])).exitCode).toBe(2);
    expect((await fails(['-m', MODEL, '--workspace-mb', '3'])).message).toMatch(/--workspace-mb 3: expected an integer from 16 to 65536/);
    expect((await fails(['-m', MODEL, '--calib', join(dir, 'nope')])).message).toMatch(/--calib .*nope: folder not found/);
  });

  it.skipIf(addonInfo.tensorrt)('without TensorRT in the build: one clear line, exit 1', async () => {
    const e = await fails(['-m', MODEL, '--precision', 'int8']);
    expect(e.exitCode).toBe(1);
    expect(e.message).toMatch(/^trt-detect build-engine: this build has no TensorRT/);
  });
});
