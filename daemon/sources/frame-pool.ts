/**
 * Reuses frame buffers of one size so a long run does not churn external memory. The pool keeps
 * at most `max` idle buffers; buffers of another size are dropped on release.
 */
export class FramePool {
  private readonly idle: Buffer[] = [];
  allocated = 0;

  constructor(
    readonly frameBytes: number,
    private readonly max = 16,
  ) {}

  acquire(): Buffer {
    const b = this.idle.pop();
    if (b) return b;
    this.allocated++;
    return Buffer.allocUnsafe(this.frameBytes);
  }

  release(buf: Buffer): void {
    if (buf.length === this.frameBytes && this.idle.length < this.max) this.idle.push(buf);
  }
}
