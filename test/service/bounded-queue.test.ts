import { describe, expect, it } from 'vitest';
import { BoundedQueue } from '../../daemon/service/bounded-queue.js';

describe('BoundedQueue', () => {
  it('blocks the producer when full and never drops (file sources)', async () => {
    const q = new BoundedQueue<number>(2, 'block');
    await q.push(1);
    await q.push(2);
    let third = false;
    const p = q.push(3).then(() => (third = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(third).toBe(false);
    expect(await q.pop()).toBe(1);
    await p;
    expect(third).toBe(true);
    expect([await q.pop(), await q.pop()]).toEqual([2, 3]);
    expect(q.dropped).toBe(0);
  });

  it('drops the oldest and counts it (live sources)', async () => {
    const dropped: number[] = [];
    const q = new BoundedQueue<number>(2, 'drop-oldest', (n) => dropped.push(n));
    for (const n of [1, 2, 3, 4]) await q.push(n);
    expect(q.dropped).toBe(2);
    expect(dropped).toEqual([1, 2]);
    expect([await q.pop(), await q.pop()]).toEqual([3, 4]);
  });

  it('hands a pushed item straight to a waiting consumer', async () => {
    const q = new BoundedQueue<string>(1, 'block');
    const got = q.pop();
    await q.push('a');
    expect(await got).toBe('a');
    expect(q.length).toBe(0);
  });

  it('close() ends consumers after the remaining items; drain() recycles them', async () => {
    const q = new BoundedQueue<number>(3, 'block');
    await q.push(1);
    q.close();
    expect(await q.pop()).toBe(1);
    expect(await q.pop()).toBeUndefined();
    const recycled: number[] = [];
    const q2 = new BoundedQueue<number>(3, 'block', (n) => recycled.push(n));
    await q2.push(7);
    await q2.push(8);
    q2.drain();
    expect(recycled).toEqual([7, 8]);
    expect(await q2.pop()).toBeUndefined();
    await q2.push(9);
    expect(recycled).toEqual([7, 8, 9]);
  });

  it('releases a producer blocked on a full queue when closed', async () => {
    const q = new BoundedQueue<number>(1, 'block', () => undefined);
    await q.push(1);
    const p = q.push(2);
    q.close();
    await expect(p).resolves.toBeUndefined();
  });
});
