import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { ProcessGate, ThreadStates } from '../../daemon/bench/process-gate.js';
import { onMediaSpawn, spawnMedia } from '../../daemon/media/media-process.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** CPU ticks (user + system) a process has used so far. */
function cpuTicks(pid: number): number {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

/** The scheduler state of each of `pid`'s threads (R, S, T, ...). */
function threadStates(pid: number): string[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const s = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    return s.charAt(s.lastIndexOf(')') + 2);
  });
}

async function waitFor(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const W = 320;
const H = 240;
const FRAME = Buffer.alloc((W * H * 3) / 2, 128);

/** libx264 on several threads, encoding raw I420 frames from stdin: idle whenever its input is. */
const stdinEncoder = () =>
  spawnMedia('ffmpeg', ['-v', 'error', '-nostdin', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${W}x${H}`, '-r', '25', '-i', 'pipe:0', '-c:v', 'libx264', '-preset', 'veryfast', '-threads', '3', '-f', 'null', '-'], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });

/** libx264 encoding a generated picture: never waits for input. */
const busyEncoder = () => spawnMedia('ffmpeg', ['-v', 'error', '-nostdin', '-f', 'lavfi', '-i', `testsrc2=size=${W}x${H}:rate=30`, '-t', '60', '-c:v', 'libx264', '-f', 'null', '-'], { stdio: 'ignore' });

const write = (proc: ChildProcess, data: Buffer) => new Promise<void>((resolve, reject) => (proc.stdin as Writable).write(data, (err) => (err ? reject(err) : resolve())));

const procs: ChildProcess[] = [];
afterEach(() => {
  for (const p of procs.splice(0)) p.kill('SIGKILL');
});

describe.runIf(process.platform === 'linux')('ProcessGate: the classic loop holds its ffmpeg processes between stages (real ffmpeg)', () => {
  it('adopts what starts while its window is open; closed, the process uses no CPU; open, it runs again', async () => {
    const gate = new ProcessGate('encoder');
    const stop = onMediaSpawn((p) => gate.adopt(p));
    const proc = busyEncoder();
    stop();
    procs.push(proc);
    // started after the listener was removed: not adopted
    procs.push(busyEncoder());
    expect(gate.adopted).toBe(1);
    const pid = proc.pid as number;
    await waitFor('the encoder to use CPU', () => cpuTicks(pid) > 5);
    gate.pause();
    await waitFor('every thread stopped', () => threadStates(pid).every((s) => s === 'T'), 2000);
    const held = cpuTicks(pid);
    await sleep(400);
    expect(cpuTicks(pid)).toBe(held);
    gate.resume();
    await waitFor('the encoder to run again', () => cpuTicks(pid) > held + 5, 5000);
    expect(threadStates(pid)).not.toContain('T');
    // one adopted while the gate is closed is stopped at once
    gate.pause();
    const late = busyEncoder();
    procs.push(late);
    gate.adopt(late);
    await waitFor('the late one stopped', () => threadStates(late.pid as number).every((s) => s === 'T'), 2000);
    gate.resume();
  });

  it('waitIdle returns once the encoder has done the work each frame gave it, and throws for one that never waits', async () => {
    const gate = new ProcessGate('encoder');
    const proc = stdinEncoder();
    procs.push(proc);
    gate.adopt(proc);
    const pid = proc.pid as number;
    for (let i = 0; i < 30; i++) {
      await write(proc, FRAME);
      gate.waitIdle();
      // idle means idle: every thread sleeps, and nothing runs until the next frame
      expect(threadStates(pid).filter((s) => s === 'R' || s === 'D')).toEqual([]);
      gate.pause();
      gate.resume();
    }
    // x264's own threads are up by now, and were waited for too
    expect(readdirSync(`/proc/${pid}/task`).length).toBeGreaterThanOrEqual(3);
    const before = cpuTicks(pid);
    await sleep(300);
    expect(cpuTicks(pid) - before).toBeLessThanOrEqual(1);

    // a process that never waits for anything (ffmpeg itself naps 10 ms when its filters have no
    // frame ready, so a busy ffmpeg can look idle for a moment on a loaded machine)
    const busy = new ProcessGate('busy loop');
    const b = spawnMedia('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' });
    procs.push(b);
    busy.adopt(b);
    await waitFor('the busy loop to run', () => cpuTicks(b.pid as number) > 5);
    expect(() => busy.waitIdle(300)).toThrow('bench: the busy loop process did not go idle within 0.3 s (a thread kept running), so the classic loop cannot hold it between stages');
  });

  it('ThreadStates picks up threads a process starts after it was first read, and a gone process is asleep', async () => {
    const proc = stdinEncoder();
    procs.push(proc);
    const pid = proc.pid as number;
    const states = new ThreadStates(pid);
    await write(proc, FRAME);
    await waitFor('the codec threads', () => readdirSync(`/proc/${pid}/task`).length >= 3);
    expect(states.refresh()).toBe(true);
    expect(states.refresh()).toBe(false);
    proc.kill('SIGKILL');
    await new Promise((r) => proc.once('close', r));
    expect(states.asleep()).toBe(true);
    states.refresh();
    states.close();
  });
});
