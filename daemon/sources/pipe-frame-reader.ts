import { closeSync } from 'node:fs';
import { Socket, type SocketConstructorOpts } from 'node:net';
import * as native from '../native.js';
import type { FramePool } from './frame-pool.js';

/** `onread` (Node >= 12): reads go into the buffer the function returns, the callback gets their size. */
interface UserBufferSocketOpts extends SocketConstructorOpts {
  onread: { buffer: () => Uint8Array; callback: (bytes: number, buf: Uint8Array) => boolean };
}

/**
 * Whole frames from a child process's output pipe, read straight into pooled frame buffers.
 *
 * A child's stdout as Node gives it allocates a new 64 KiB Buffer for every read: about 43 of them
 * per 720p RGB frame, 100 MB/s at 36 FPS. V8 counts that as external memory and answers with a
 * full garbage collection several times a second (measured with --trace-gc in `trt-detect bench`).
 * Here the pipe is made by the addon (1 MiB where the kernel allows, so a frame takes a few reads)
 * and read through a socket with a caller-supplied buffer: the kernel copies the bytes into the
 * frame buffer itself, and nothing is allocated per read.
 *
 *   const reader = new PipeFrameReader();
 *   const proc = spawn(cmd, args, { stdio: ['ignore', reader.childFd, 'pipe'] });
 *   reader.start();                       // always, right after spawn (closes our copy of childFd)
 *   reader.setFrame(pool);                // now, or once the child has said its frame size
 *   for (let f = await reader.next(); f; f = await reader.next()) ...
 *   reader.close();                       // in a finally: buffers not handed out go back to the pool
 *
 * Bytes that arrive before the frame size is known are kept (copied) and become the first frames.
 * At most `maxReady` whole frames wait for `next()`; then reading pauses (the child blocks on a
 * full pipe), so a file is never read ahead further and never loses a frame.
 */
export class PipeFrameReader {
  /** the write end: give it to spawn's stdio for the child's frame output */
  readonly childFd: number;
  private readonly readFd: number;
  private socket: Socket | null = null;
  private frameBytes = 0;
  private pool: FramePool | null = null;
  /** the frame being filled, `filled` bytes so far */
  private current: Buffer | null = null;
  private filled = 0;
  private readonly ready: Buffer[] = [];
  /** bytes read before the frame size was known */
  private readonly pending: Buffer[] = [];
  /** how many bytes came before the frame size was known (the count stays after they are used) */
  pendingBytes = 0;
  /** where reads go while the frame size is unknown (made when first needed) */
  private scratch: Buffer | null = null;
  private readonly scratchBytes: number;
  private paused = false;
  private closed = false;
  private ended = false;
  private failure: Error | null = null;
  private waiter: (() => void) | null = null;
  /** called when bytes arrive before the frame size is known */
  onPending: ((bytes: number) => void) | null = null;

  constructor(
    private readonly maxReady = 2,
    pipeBytes = 1 << 20,
  ) {
    const fds = native.openPipe(pipeBytes);
    this.childFd = fds.write;
    this.readFd = fds.read;
    this.scratchBytes = Math.max(fds.capacity, 64 * 1024);
  }

  /** Starts reading; call right after spawn, whether it worked or not. */
  start(): void {
    if (this.socket || this.closed) return;
    closeSync(this.childFd);
    const opts: UserBufferSocketOpts = {
      fd: this.readFd,
      readable: true,
      writable: false,
      onread: { buffer: () => this.target(), callback: (n, buf) => this.onRead(n, buf) },
    };
    const socket = new Socket(opts);
    socket.on('end', () => this.finish(null));
    socket.on('close', () => this.finish(null));
    socket.on('error', (err) => this.finish(err));
    this.socket = socket;
  }

  /** The frame size is known: frames of `pool.frameBytes` bytes, in buffers from `pool` (bytes already read become frames). */
  setFrame(pool: FramePool): void {
    if (this.frameBytes || this.closed) return;
    this.frameBytes = pool.frameBytes;
    this.pool = pool;
    for (const chunk of this.pending.splice(0)) this.absorb(chunk);
    this.wake();
  }

  get frameSizeKnown(): boolean {
    return this.frameBytes > 0;
  }

  /** The next whole frame (its buffer is the caller's until it goes back to the pool), or null at the end. */
  async next(): Promise<Buffer | null> {
    for (;;) {
      const frame = this.ready.shift();
      if (frame) {
        if (this.paused && this.ready.length < this.maxReady) {
          this.paused = false;
          this.socket?.resume();
        }
        return frame;
      }
      if (this.failure) throw this.failure;
      if (this.ended) return null;
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  /** Stops reading; the frames not handed out and the one being filled go back to the pool. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.socket) this.socket.destroy();
    else {
      // never started: both ends are still ours
      closeSync(this.childFd);
      closeSync(this.readFd);
    }
    this.finish(null);
    for (const f of this.ready.splice(0)) this.pool?.release(f);
    if (this.current) this.pool?.release(this.current);
    this.current = null;
    this.filled = 0;
  }

  private target(): Buffer {
    if (!this.frameBytes || !this.pool) return (this.scratch ??= Buffer.allocUnsafe(this.scratchBytes));
    this.current ??= this.pool.acquire();
    return this.current.subarray(this.filled);
  }

  private onRead(n: number, buf: Uint8Array): boolean {
    if (this.scratch && buf.buffer === this.scratch.buffer) {
      // read before the frame size was known (it may be known by now)
      const chunk = Buffer.from(buf.subarray(0, n));
      this.pendingBytes += n;
      if (this.frameBytes) this.absorb(chunk);
      else {
        this.pending.push(chunk);
        this.onPending?.(this.pendingBytes);
      }
    } else {
      this.filled += n;
      this.completeFrame();
    }
    if (this.ready.length >= this.maxReady) {
      this.paused = true;
      return false;
    }
    return true;
  }

  /** Copies bytes read before the frame size was known into frames. */
  private absorb(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) {
      this.current ??= (this.pool as FramePool).acquire();
      const n = Math.min(this.frameBytes - this.filled, chunk.length - off);
      chunk.copy(this.current, this.filled, off, off + n);
      this.filled += n;
      off += n;
      this.completeFrame();
    }
  }

  private completeFrame(): void {
    if (this.filled < this.frameBytes || !this.current) return;
    this.ready.push(this.current);
    this.current = null;
    this.filled = 0;
    this.wake();
  }

  private finish(err: Error | null): void {
    if (this.ended) return;
    this.ended = true;
    this.failure = err;
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }
}
