/**
 * Signals at awkward moments: a SIGHUP (systemctl reload, kill -HUP) while `run` is still loading
 * its modules and config must not kill it (Node's default action for SIGHUP is exit 129), and a
 * SIGHUP that came after the config was read is applied as a reload.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, MODEL, logLines } from '../support/cli.js';
import { makeTestVideo, tempDir } from '../support/videos.js';

const { dir, cleanup } = tempDir('run-signals');
afterAll(cleanup);

function config(): string {
  const clip = makeTestVideo(join(dir, 'clip.mp4'), { frames: 30, fps: 15 });
  const file = join(dir, 'config.yaml');
  writeFileSync(
    file,
    `model: {path: ${MODEL}, threads: 1}
cameras:
  cam: {source: ${clip}, loop: true, record: {enabled: false}}
mqtt: {enabled: false}
http: {enabled: false}
rtsp_server: {enabled: false}
`,
  );
  return file;
}

describe('trt-detect run and early signals', () => {
  it('SIGHUPs from the first milliseconds on neither kill the daemon nor lose the reload; SIGTERM then exits 0', async () => {
    const file = config();
    const proc = spawn(process.execPath, [CLI, 'run', '-c', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      proc.on('exit', (code, signal) => resolve({ code, signal })),
    );
    let alive = true;
    void exited.then(() => (alive = false));
    // Before Node runs any of our code a SIGHUP kills any Node program; from the moment main.js
    // catches it (SigCgt in /proc shows it), which is before the config is read or anything is
    // logged, every SIGHUP must be ours
    const caught = () => {
      try {
        return (BigInt('0x' + (/^SigCgt:\s+([0-9a-f]+)/m.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'))?.[1] ?? '0')) & 1n) === 1n;
      } catch {
        return false;
      }
    };
    const t0 = Date.now();
    while (!caught() && alive && Date.now() - t0 < 10_000) await new Promise((r) => setImmediate(r));
    expect(caught()).toBe(true);
    expect(stdout).toBe(''); // nothing read or logged yet
    for (let i = 0; i < 40 && alive; i++) {
      proc.kill('SIGHUP');
      await new Promise((r) => setTimeout(r, 25));
    }
    const deadline = Date.now() + 60_000;
    while (alive && Date.now() < deadline && !logLines(stdout).some((l) => l.msg === 'running')) await new Promise((r) => setTimeout(r, 100));
    expect(alive, `exited early: ${stderr}${stdout.slice(-2000)}`).toBe(true);
    proc.kill('SIGHUP');
    const reloadDeadline = Date.now() + 30_000;
    while (Date.now() < reloadDeadline && !logLines(stdout).some((l) => /reload|unchanged/i.test(String(l.msg)))) await new Promise((r) => setTimeout(r, 100));
    expect(alive).toBe(true);
    proc.kill('SIGTERM');
    const end = await exited;
    expect(end, stderr).toEqual({ code: 0, signal: null });
    expect(stderr).toBe('');
  }, 120_000);
});
