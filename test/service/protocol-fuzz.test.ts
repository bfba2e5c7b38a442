/**
 * A bounded fuzz of the daemon's network surface: a few thousand malformed RTSP and HTTP requests
 * (test/support/malformed-requests.ts, seeded) on loopback against a running daemon with one
 * good camera streaming out over RTSP and one bad camera (a zero-byte file) beside it. Afterwards
 * the daemon must still serve both protocols, the good camera must still stream at its rate, its
 * memory must not have grown with the garbage, and nothing may have been logged as a crash.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, MODEL, logLines } from '../support/cli.js';
import { malformedRequest } from '../support/malformed-requests.js';
import { freePort } from '../support/mosquitto.js';
import { makeTestVideo, tempDir } from '../support/videos.js';

const { dir, cleanup } = tempDir('protocol-fuzz');
afterAll(cleanup);

const SEED = Number(process.env.TRT_FUZZ_SEED ?? 7);
const PER_PROTOCOL = 1500;
const CONCURRENCY = 24;

/** Sends one request on its own connection; resolves on the first answer, a close, or after `waitMs` (a request cut short gets no answer). */
function sendOne(port: number, bytes: Buffer, waitMs = 500): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let got = '';
    const done = () => {
      clearTimeout(timer);
      s.destroy();
      resolve(got);
    };
    const timer = setTimeout(done, waitMs);
    s.on('connect', () => s.write(bytes, () => undefined));
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (got.includes('\r\n\r\n')) done();
    });
    s.on('error', done);
    s.on('close', done);
  });
}

async function fuzz(protocol: 'rtsp' | 'http', port: number): Promise<Map<string, number>> {
  const statuses = new Map<string, number>();
  let next = 0;
  const worker = async () => {
    while (next < PER_PROTOCOL) {
      const i = next++;
      const answer = await sendOne(port, malformedRequest(protocol, SEED, i, { host: `127.0.0.1:${port}`, camera: 'good' }));
      const status = /^(?:RTSP|HTTP)\/\d\.\d (\d{3})/.exec(answer)?.[1] ?? (answer ? 'other' : 'none');
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return statuses;
}

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

async function healthz(port: number): Promise<{ status: number; body: { cameras: Record<string, { state: string; fps: number }> } }> {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: (await res.json()) as { cameras: Record<string, { state: string; fps: number }> } };
}

describe('protocol fuzz against a running daemon', () => {
  it(`${PER_PROTOCOL} malformed RTSP and ${PER_PROTOCOL} malformed HTTP requests leave it serving, streaming and flat in memory`, async () => {
    const clip = makeTestVideo(join(dir, 'clip.mp4'), { frames: 60, fps: 15 });
    const empty = join(dir, 'empty.mp4');
    writeFileSync(empty, '');
    const rtspPort = await freePort();
    const httpPort = await freePort();
    const cfg = join(dir, 'config.yaml');
    writeFileSync(
      cfg,
      `model: {path: ${MODEL}, threads: 1}
cameras:
  good: {source: ${clip}, loop: true, realtime: true, record: {enabled: false}, rtsp_out: true}
  bad: {source: ${empty}, record: {enabled: false}}
mqtt: {enabled: false}
rtsp_server: {host: 127.0.0.1, port: ${rtspPort}, max_clients: 64}
http: {host: 127.0.0.1, port: ${httpPort}}
`,
    );
    const proc = spawn(process.execPath, [CLI, 'run', '-c', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 60_000;
      while (!logLines(stdout).some((l) => l.msg === 'running')) {
        if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`daemon did not start: ${stderr}${stdout.slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      await new Promise((r) => setTimeout(r, 3000)); // steady state
      const before = await healthz(httpPort);
      expect(before.body.cameras.good.state).toBe('streaming');
      expect(before.body.cameras.bad.state).toBe('error');
      const rssBefore = rssMb(proc.pid!);

      const [rtsp, http] = await Promise.all([fuzz('rtsp', rtspPort), fuzz('http', httpPort)]);
      if (process.env.TRT_FUZZ_VERBOSE) console.log({ rtsp: [...rtsp], http: [...http] });
      // the garbage got answers (400s and the like), not only silence
      const answered = (m: Map<string, number>) => [...m].filter(([k]) => /^\d{3}$/.test(k)).reduce((a, [, n]) => a + n, 0);
      expect(answered(rtsp), JSON.stringify([...rtsp])).toBeGreaterThan(PER_PROTOCOL / 3);
      expect(answered(http), JSON.stringify([...http])).toBeGreaterThan(PER_PROTOCOL / 3);
      expect(rtsp.get('500') ?? 0).toBe(0);
      expect(http.get('500') ?? 0).toBe(0);

      // still serving: a well-formed OPTIONS and /healthz answered at once, the good camera at its rate
      const options = await sendOne(rtspPort, Buffer.from(`OPTIONS rtsp://127.0.0.1:${rtspPort}/good RTSP/1.0\r\nCSeq: 1\r\n\r\n`), 3000);
      expect(options).toMatch(/^RTSP\/1\.0 (200|401) /);
      await new Promise((r) => setTimeout(r, 3000));
      const after = await healthz(httpPort);
      expect(after.body.cameras.good.state).toBe('streaming');
      // at its rate, within what the load of a shared 2-core machine allows
      expect(after.body.cameras.good.fps).toBeGreaterThan(Math.min(5, 0.5 * before.body.cameras.good.fps));
      expect(rssMb(proc.pid!) - rssBefore).toBeLessThan(150);
      expect(proc.exitCode).toBeNull();
      expect(stderr).toBe('');
      expect(logLines(stdout).filter((l) => /internal error|unhandled|uncaught/i.test(String(l.msg)))).toEqual([]);
    } finally {
      proc.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  }, 180_000);
});
