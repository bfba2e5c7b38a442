import type { ChildProcess } from 'node:child_process';
import { closeSync, openSync, readSync } from 'node:fs';
import { RuntimeFailure } from '../core/errors.js';
import { threadIds } from '../media/media-process.js';

/**
 * Runs a stage's child processes (its ffmpeg decoder or encoder) only inside that stage's window:
 * SIGCONT when the stage starts, SIGSTOP when it ends. The bench's classic loop uses one gate per
 * stage so that its stages run strictly one after another, as in a loop that decodes and encodes
 * in-process (OpenCV's VideoCapture/VideoWriter), instead of the ffmpeg processes working on other
 * frames while the detector runs. Each process may still use several threads inside its window.
 */
export class ProcessGate {
  private readonly procs = new Map<ChildProcess, ThreadStates>();
  private running = true;
  /** processes held so far, gone ones included */
  adopted = 0;

  constructor(readonly name: string) {}

  /** Holds `proc` from now on (stopped at once when the gate is closed). */
  adopt(proc: ChildProcess): void {
    if (proc.pid === undefined || proc.exitCode !== null) return;
    const threads = new ThreadStates(proc.pid);
    this.procs.set(proc, threads);
    this.adopted++;
    proc.once('exit', () => {
      this.procs.delete(proc);
      threads.close();
    });
    if (!this.running) signal(proc, 'SIGSTOP');
  }

  /** Opens the window: the processes run. */
  resume(): void {
    this.running = true;
    for (const p of this.procs.keys()) signal(p, 'SIGCONT');
  }

  /** Closes the window: the processes stop where they are. */
  pause(): void {
    this.running = false;
    for (const p of this.procs.keys()) signal(p, 'SIGSTOP');
  }

  /**
   * Waits (blocking, looking every 0.25 ms) until every thread of every held process sleeps: each
   * waits for input, so the work that the input so far gave them is done. A thread that runs or
   * waits for the disk counts as busy. Throws when that takes longer than `timeoutMs`.
   */
  waitIdle(timeoutMs = 5000): void {
    const deadline = performance.now() + timeoutMs;
    const threads = [...this.procs.values()];
    for (;;) {
      // idle only if no thread started meanwhile (its state would not have been looked at)
      if (threads.every((t) => t.asleep()) && threads.every((t) => !t.refresh())) return;
      if (performance.now() > deadline) {
        throw new RuntimeFailure(`bench: the ${this.name} process did not go idle within ${timeoutMs / 1000} s (a thread kept running), so the classic loop cannot hold it between stages`);
      }
      Atomics.wait(SLEEPER, 0, 0, 0.25);
    }
  }
}

const SLEEPER = new Int32Array(new SharedArrayBuffer(4));

function signal(proc: ChildProcess, sig: 'SIGSTOP' | 'SIGCONT'): void {
  try {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(sig);
  } catch {
    // exited meanwhile
  }
}

/**
 * The scheduler states of one process's threads, read from /proc/<pid>/task/<tid>/stat through
 * descriptors kept open (a read from offset 0 gives the current state: one system call a thread).
 * Asleep: every thread waits for an event (state S), is stopped, or is gone. R (running or
 * runnable) and D (waiting for the disk) are busy. Off Linux there is nothing to read: asleep.
 */
export class ThreadStates {
  private readonly fds = new Map<number, number>();
  private readonly buf = Buffer.alloc(512);

  constructor(private readonly pid: number) {
    this.refresh();
  }

  /** Picks up threads started since and drops ended ones; true when the set changed. */
  refresh(): boolean {
    const now = new Set(threadIds(this.pid));
    let changed = false;
    for (const [tid, fd] of this.fds) {
      if (now.has(tid)) continue;
      closeSync(fd);
      this.fds.delete(tid);
      changed = true;
    }
    for (const tid of now) {
      if (this.fds.has(tid)) continue;
      try {
        this.fds.set(tid, openSync(`/proc/${this.pid}/task/${tid}/stat`, 'r'));
        changed = true;
      } catch {
        // ended in between
      }
    }
    return changed;
  }

  asleep(): boolean {
    for (const fd of this.fds.values()) {
      let n: number;
      try {
        n = readSync(fd, this.buf, 0, this.buf.length, 0);
      } catch {
        continue; // the thread ended
      }
      // "tid (comm) state ...": the command name may hold ')', the state follows the last one
      const close = this.buf.lastIndexOf(0x29, n - 1);
      const state = close >= 0 && close + 2 < n ? this.buf[close + 2] : 0;
      if (state === 0x52 /* R */ || state === 0x44 /* D */) return false;
    }
    return true;
  }

  close(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }
}
