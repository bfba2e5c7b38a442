import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { FramePool } from '../../daemon/sources/frame-pool.js';
import { PipeFrameReader } from '../../daemon/sources/pipe-frame-reader.js';

const FRAME = 300_000; // not a multiple of the pipe's size: frames straddle reads

/** A child (node) writing `frames` frames of FRAME bytes, frame i filled with byte i, then `tail` stray bytes. */
function writer(reader: PipeFrameReader, frames: number, tail = 0, delayMs = 0) {
  const code = `
    const fs = require('fs');
    (async () => {
      ${delayMs ? `await new Promise((r) => setTimeout(r, ${delayMs}));` : ''}
      for (let i = 0; i < ${frames}; i++) {
        const b = Buffer.alloc(${FRAME}, i & 255);
        for (let off = 0; off < b.length; ) off += fs.writeSync(1, b, off);
      }
      if (${tail} > 0) fs.writeSync(1, Buffer.alloc(${tail}, 7));
    })();`;
  const proc = spawn(process.execPath, ['-e', code], { stdio: ['ignore', reader.childFd, 'ignore'] });
  reader.start();
  return new Promise<number | null>((resolve) => proc.on('close', resolve));
}

const filledWith = (b: Buffer, v: number) => b.length === FRAME && b[0] === v && b[FRAME - 1] === v && b.every((x) => x === v);

/** Reads to the end, checking each frame is one byte value throughout; returns those values. */
async function drain(reader: PipeFrameReader, pool: FramePool): Promise<number[]> {
  const got: number[] = [];
  for (let f = await reader.next(); f; f = await reader.next()) {
    expect(filledWith(f, f[0])).toBe(true);
    got.push(f[0]);
    pool.release(f);
  }
  reader.close();
  return got;
}

describe('PipeFrameReader (a real child process writing frames into the pipe)', () => {
  it('delivers every frame byte-exact and in order, into the pool buffers; a partial frame at the end is dropped', async () => {
    const pool = new FramePool(FRAME, 4);
    const reader = new PipeFrameReader();
    reader.setFrame(pool);
    const exited = writer(reader, 12, 1000);
    const got = await drain(reader, pool);
    expect(got).toEqual([...Array(12).keys()]);
    expect(await exited).toBe(0);
    // buffers were reused, not allocated per frame (one being filled, up to two waiting, one with us)
    expect(pool.allocated).toBeLessThanOrEqual(4);
  });

  it('bytes that arrive before the frame size is known become the first frames', async () => {
    const pool = new FramePool(FRAME, 4);
    const reader = new PipeFrameReader();
    const early: number[] = [];
    reader.onPending = (n) => early.push(n);
    const exited = writer(reader, 5);
    // let some bytes arrive with no size set
    while (reader.pendingBytes < 100_000) await new Promise((r) => setTimeout(r, 5));
    expect(early.length).toBeGreaterThan(0);
    reader.setFrame(pool);
    const got = await drain(reader, pool);
    expect(got).toEqual([0, 1, 2, 3, 4]);
    expect(await exited).toBe(0);
  });

  it('a slow consumer pauses the child (no read-ahead beyond two frames, nothing lost)', async () => {
    const pool = new FramePool(FRAME, 16);
    const reader = new PipeFrameReader(2);
    reader.setFrame(pool);
    const exited = writer(reader, 20);
    let outstanding = 0;
    let maxOutstanding = 0;
    const got: number[] = [];
    for (let f = await reader.next(); f; f = await reader.next()) {
      got.push(f[0]);
      await new Promise((r) => setTimeout(r, 15));
      outstanding = pool.allocated; // buffers in existence: ours + waiting + being filled
      maxOutstanding = Math.max(maxOutstanding, outstanding);
      pool.release(f);
    }
    reader.close();
    expect(got).toEqual([...Array(20).keys()]);
    expect(maxOutstanding).toBeLessThanOrEqual(4);
    expect(await exited).toBe(0);
  });

  it('close() mid-stream ends next() with null, returns its buffers to the pool, and the child sees a broken pipe', async () => {
    const pool = new FramePool(FRAME, 8);
    const reader = new PipeFrameReader();
    reader.setFrame(pool);
    const exited = writer(reader, 50);
    const first = await reader.next();
    expect(first && filledWith(first, 0)).toBe(true);
    pool.release(first as Buffer);
    reader.close();
    expect(await reader.next()).toBeNull();
    expect(await exited).not.toBe(0); // EPIPE
  });

  it('a child that cannot start (spawn error) gives an immediate end, not a hang', async () => {
    const pool = new FramePool(FRAME, 2);
    const reader = new PipeFrameReader();
    reader.setFrame(pool);
    const proc = spawn('/nonexistent/trt-detect-no-such-binary', [], { stdio: ['ignore', reader.childFd, 'ignore'] });
    proc.on('error', () => undefined);
    reader.start();
    expect(await reader.next()).toBeNull();
    reader.close();
  });
});
