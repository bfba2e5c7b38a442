/**
 * scripts/install and scripts/uninstall staged into a temp DESTDIR (nothing outside it is touched),
 * the installed runtime run from there, and the unit checked with systemd-analyze.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../support/cli.js';
import { makeTestVideo, tempDir } from '../support/videos.js';

const INSTALL = join(ROOT, 'scripts', 'install');
const UNINSTALL = join(ROOT, 'scripts', 'uninstall');
const hasSystemdAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;

function sh(script: string, args: string[]): { code: number | null; out: string } {
  const r = spawnSync('bash', [script, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, DESTDIR: '' } });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

/** relative path -> sha256 (or link target) of every file under dir */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isSymbolicLink()) out[relative(dir, p)] = `-> ${readlinkSync(p)}`;
      else out[relative(dir, p)] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

const { dir, cleanup } = tempDir('install');
const dest = join(dir, 'root');
const opt = join(dest, 'opt', 'trt-detect');
const conf = join(dest, 'etc', 'trt-detect', 'config.yaml');
let first = { code: null as number | null, out: '' };

beforeAll(() => {
  first = sh(INSTALL, ['--no-build', '--destdir', dest]);
}, 120_000);
afterAll(() => cleanup());

describe('scripts/install --destdir', () => {
  it('stages the runtime, the command, the config, the state dir and the unit', () => {
    expect(first.out).toContain(`staged under ${dest}`);
    expect(first.code).toBe(0);
    for (const f of [
      'dist/daemon/cli/main.js',
      'build/native/Release/trt_detect.node',
      'package.json',
      'models/ssd-traffic.onnx',
      'node_modules/mqtt/package.json',
      'node_modules/onnxruntime-node/package.json',
      'bin/trt-detect',
    ]) {
      expect(existsSync(join(opt, f)), f).toBe(true);
    }
    expect(statSync(join(opt, 'bin', 'trt-detect')).mode & 0o111).toBe(0o111);
    const node = readFileSync(join(opt, 'bin', 'trt-detect'), 'utf8');
    expect(node).toMatch(/^#!\/bin\/sh\n/);
    expect(node).toMatch(/\nexec \/\S+ \$TRT_DETECT_NODE_OPTIONS \/opt\/trt-detect\/dist\/daemon\/cli\/main\.js "\$@"\n$/);
    expect(readlinkSync(join(dest, 'usr', 'local', 'bin', 'trt-detect'))).toBe('/opt/trt-detect/bin/trt-detect');
    expect(statSync(join(dest, 'var', 'lib', 'trt-detect', 'recordings')).isDirectory()).toBe(true);
    expect(readFileSync(join(dest, 'etc', 'systemd', 'system', 'trt-detect.service'), 'utf8')).toBe(
      readFileSync(join(ROOT, 'systemd', 'trt-detect.service'), 'utf8'),
    );
  });

  it('ships production dependencies only, and ONNX Runtime for this machine only', () => {
    const deps = Object.keys((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies);
    for (const d of deps) expect(existsSync(join(opt, 'node_modules', d, 'package.json')), d).toBe(true);
    for (const dev of ['vitest', 'typescript', 'cmake-js']) expect(existsSync(join(opt, 'node_modules', dev)), dev).toBe(false);
    const bins = join(opt, 'node_modules', 'onnxruntime-node', 'bin');
    for (const napi of readdirSync(bins)) {
      expect(readdirSync(join(bins, napi))).toEqual(['linux']);
      expect(readdirSync(join(bins, napi, 'linux'))).toEqual([process.arch]);
    }
  });

  it('writes the config with installed paths: base_dir and recordings under /var/lib/trt-detect', () => {
    const text = readFileSync(conf, 'utf8');
    expect(text).toMatch(/^base_dir: \/opt\/trt-detect\b/m);
    expect(text).toMatch(/^\s+path: \/var\/lib\/trt-detect\/recordings\b/m);
    expect(text).not.toMatch(/^\s+path: recordings\b/m);
    expect(statSync(conf).mode & 0o777).toBe(0o640);
  });

  it('runs from the staged tree with its own node_modules and addon', () => {
    const work = join(dir, 'work');
    execFileSync('mkdir', ['-p', work]);
    const clip = makeTestVideo(join(work, 'clip.mp4'), { frames: 6 });
    const env = { ...process.env };
    delete env.TRT_DETECT_ADDON;
    const r = spawnSync(
      process.execPath,
      [
        join(opt, 'dist', 'daemon', 'cli', 'main.js'),
        'detect',
        '-m',
        join(opt, 'models', 'ssd-traffic.onnx'),
        '-i',
        clip,
        '-o',
        join(work, 'out.mp4'),
        '--json',
        join(work, 'out.jsonl'),
      ],
      { cwd: work, env, encoding: 'utf8', timeout: 120_000 },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(readFileSync(join(work, 'out.jsonl'), 'utf8').trim().split('\n')).toHaveLength(6);
  });

  it('the command passes TRT_DETECT_NODE_OPTIONS to node itself', () => {
    // the staged command names /opt/trt-detect: a copy pointed at the staged tree
    const launcher = join(dir, 'trt-detect-staged');
    writeFileSync(launcher, readFileSync(join(opt, 'bin', 'trt-detect'), 'utf8').replaceAll('/opt/trt-detect/', `${opt}/`), { mode: 0o755 });
    const run = (options: string | undefined) => {
      const env = { ...process.env };
      delete env.TRT_DETECT_NODE_OPTIONS;
      if (options !== undefined) env.TRT_DETECT_NODE_OPTIONS = options;
      return spawnSync(launcher, ['--version'], { env, encoding: 'utf8', timeout: 30_000 });
    };
    const plain = run(undefined);
    expect(plain.status, plain.stderr).toBe(0);
    const version = plain.stdout;
    expect(version).toMatch(/\d+\.\d+\.\d+/);
    const flags = run('--max-semi-space-size=2 --stack-trace-limit=20');
    expect(flags.status, flags.stderr).toBe(0);
    expect(flags.stdout).toBe(version);
    // an option node does not know: node's own complaint, as one line, and exit 2 (a bad argument)
    const bad = run('--max-semi-space-size=2 --no-such-node-option');
    expect(bad.status).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(/^trt-detect: TRT_DETECT_NODE_OPTIONS: .*bad option: --no-such-node-option\n$/);
  });

  it('is idempotent, and never overwrites an edited config (the shipped one goes to config.yaml.dist)', () => {
    const before = snapshot(dest);
    const again = sh(INSTALL, ['--no-build', '--destdir', dest]);
    expect(again.code).toBe(0);
    const after = snapshot(dest);
    expect(Object.keys(after).sort()).toEqual(Object.keys(before).sort());
    // a file may only differ when its source in the checkout changed in between (a rebuild)
    const changed = Object.keys(after).filter((f) => after[f] !== before[f]);
    for (const f of changed) {
      expect(f.startsWith('opt/trt-detect/'), f).toBe(true);
      expect(
        createHash('sha256')
          .update(readFileSync(join(ROOT, f.slice('opt/trt-detect/'.length))))
          .digest('hex'),
        f,
      ).toBe(after[f]);
    }

    const shipped = readFileSync(conf, 'utf8');
    const edited = shipped.replace(/^(\s+threshold:) 0\.4/m, '$1 0.6');
    expect(edited).not.toBe(shipped);
    writeFileSync(conf, edited);
    const third = sh(INSTALL, ['--no-build', '--destdir', dest]);
    expect(third.code).toBe(0);
    expect(third.out).toContain('/etc/trt-detect/config.yaml exists and differs from the shipped one: kept');
    expect(readFileSync(conf, 'utf8')).toBe(edited);
    expect(readFileSync(`${conf}.dist`, 'utf8')).toBe(shipped);
  });

  it('takes --prefix for the runtime, the unit and the config', () => {
    const dest2 = join(dir, 'root2');
    const r = sh(INSTALL, ['--no-build', '--destdir', dest2, '--prefix', '/srv/td']);
    expect(r.code).toBe(0);
    const unit = readFileSync(join(dest2, 'etc', 'systemd', 'system', 'trt-detect.service'), 'utf8');
    expect(unit).toContain('\nExecStart=/srv/td/bin/trt-detect run -c /etc/trt-detect/config.yaml\n');
    expect(unit).not.toContain('/opt/trt-detect');
    expect(readFileSync(join(dest2, 'etc', 'trt-detect', 'config.yaml'), 'utf8')).toMatch(/^base_dir: \/srv\/td\b/m);
    expect(existsSync(join(dest2, 'srv', 'td', 'dist', 'daemon', 'cli', 'main.js'))).toBe(true);
    expect(existsSync(join(dest2, 'opt'))).toBe(false);
  });

  it('rejects unknown options with exit 2', () => {
    const r = sh(INSTALL, ['--bogus']);
    expect(r.code).toBe(2);
    expect(r.out).toBe('[install] error: unknown option --bogus (see scripts/install --help)\n');
  });
});

describe('systemd-analyze on the unit', () => {
  it.skipIf(!hasSystemdAnalyze)('verify passes (skipped: systemd-analyze missing, apt-get install systemd)', () => {
    // the unit as installed, with the staged runtime's path so ExecStart resolves
    const unitDir = join(dir, 'verify');
    execFileSync('mkdir', ['-p', unitDir]);
    const unit = join(unitDir, 'trt-detect.service');
    writeFileSync(unit, readFileSync(join(ROOT, 'systemd', 'trt-detect.service'), 'utf8').replaceAll('/opt/trt-detect', opt));
    const r = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it.skipIf(!hasSystemdAnalyze)('security: exposure at most 3.0 (skipped: systemd-analyze missing, apt-get install systemd)', () => {
    const r = spawnSync('systemd-analyze', ['security', '--offline=true', `--root=${dest}`, '--threshold=30', '--no-pager', 'trt-detect.service'], {
      encoding: 'utf8',
    });
    const level = /Overall exposure level for trt-detect\.service: ([0-9.]+)/.exec(r.stdout);
    expect(level, r.stdout + r.stderr).not.toBeNull();
    expect(Number(level![1])).toBeLessThanOrEqual(3.0);
    expect(r.status).toBe(0);
  });
});

describe('scripts/uninstall --destdir', () => {
  it('removes the runtime, the unit and the command; keeps config and recordings unless --purge', () => {
    const r = sh(UNINSTALL, ['--destdir', dest]);
    expect(r.code).toBe(0);
    expect(existsSync(opt)).toBe(false);
    expect(existsSync(join(dest, 'etc', 'systemd', 'system', 'trt-detect.service'))).toBe(false);
    expect(() => lstatSync(join(dest, 'usr', 'local', 'bin', 'trt-detect'))).toThrow();
    expect(existsSync(conf)).toBe(true);
    expect(existsSync(join(dest, 'var', 'lib', 'trt-detect'))).toBe(true);
    expect(sh(UNINSTALL, ['--destdir', dest]).code).toBe(0); // idempotent
    const purge = sh(UNINSTALL, ['--destdir', dest, '--purge']);
    expect(purge.code).toBe(0);
    expect(existsSync(join(dest, 'etc', 'trt-detect'))).toBe(false);
    expect(existsSync(join(dest, 'var', 'lib', 'trt-detect'))).toBe(false);
  });
});
