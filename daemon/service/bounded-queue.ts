/**
 * A bounded async queue between two pipeline stages.
 * - `block` (files): push waits while the queue is full, so nothing is ever dropped.
 * - `drop-oldest` (live sources): push never waits; when full the oldest item is dropped,
 *   counted, and handed to `onDrop` (to recycle its buffer).
 */
export class BoundedQueue<T> {
  private readonly items: T[] = [];
  private readonly popWaiters: Array<(v: T | undefined) => void> = [];
  private readonly pushWaiters: Array<() => void> = [];
  private closed = false;
  dropped = 0;

  constructor(
    readonly capacity: number,
    readonly policy: 'block' | 'drop-oldest',
    private readonly onDrop?: (item: T) => void,
  ) {
    if (capacity < 1) throw new Error('queue capacity must be >= 1');
  }

  get length(): number {
    return this.items.length;
  }

  async push(item: T): Promise<void> {
    if (this.closed) {
      this.onDrop?.(item);
      return;
    }
    const waiter = this.popWaiters.shift();
    if (waiter) {
      waiter(item);
      return;
    }
    if (this.items.length >= this.capacity) {
      if (this.policy === 'drop-oldest') {
        const old = this.items.shift() as T;
        this.dropped++;
        this.onDrop?.(old);
      } else {
        while (this.items.length >= this.capacity && !this.closed) await new Promise<void>((r) => this.pushWaiters.push(r));
        if (this.closed) {
          this.onDrop?.(item);
          return;
        }
      }
    }
    this.items.push(item);
  }

  /** Next item; undefined once the queue is closed and empty. */
  pop(): Promise<T | undefined> {
    if (this.items.length > 0) {
      const item = this.items.shift() as T;
      this.pushWaiters.shift()?.();
      return Promise.resolve(item);
    }
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => this.popWaiters.push(resolve));
  }

  /** No more pushes; pending pops get what is left, then undefined. */
  close(): void {
    this.closed = true;
    for (const w of this.popWaiters.splice(0)) w(undefined);
    for (const w of this.pushWaiters.splice(0)) w();
  }

  /** Closes and hands every queued item to onDrop (a hard stop). */
  drain(): void {
    this.close();
    for (const item of this.items.splice(0)) this.onDrop?.(item);
  }
}
