import { describe, expect, it } from 'vitest';
import { assign, hungarian } from '../../daemon/track/hungarian.js';
import { prng } from '../support/prng.js';

const total = (cost: number[][], rowToCol: number[]) => rowToCol.reduce((s, j, i) => s + (j >= 0 ? cost[i][j] : 0), 0);

/** The minimal total over all ways of giving min(rows, cols) rows distinct columns. */
function bruteForce(cost: number[][]): number {
  const rows = cost.length;
  const cols = cost[0].length;
  if (rows > cols) return bruteForce(Array.from({ length: cols }, (_, j) => cost.map((r) => r[j])));
  let best = Infinity;
  const used = new Array<boolean>(cols).fill(false);
  const walk = (i: number, sum: number) => {
    if (i === rows) {
      best = Math.min(best, sum);
      return;
    }
    for (let j = 0; j < cols; j++) {
      if (used[j]) continue;
      used[j] = true;
      walk(i + 1, sum + cost[i][j]);
      used[j] = false;
    }
  };
  walk(0, 0);
  return best;
}

/** Each row at most one column, each column at most one row, min(rows, cols) pairs. */
function expectValid(cost: number[][], rowToCol: number[]) {
  expect(rowToCol).toHaveLength(cost.length);
  const cols = rowToCol.filter((j) => j >= 0);
  expect(new Set(cols).size).toBe(cols.length);
  expect(cols.length).toBe(Math.min(cost.length, cost[0]?.length ?? 0));
  for (const j of cols) expect(j).toBeLessThan(cost[0].length);
}

describe('hungarian', () => {
  it('solves a known 3x3 matrix', () => {
    // the only optimum: 0→1 (1), 1→0 (2), 2→2 (2) = 5; the others cost 6 or more
    const cost = [
      [4, 1, 3],
      [2, 0, 5],
      [3, 2, 2],
    ];
    const a = hungarian(cost);
    expect(a).toEqual([1, 0, 2]);
    expect(total(cost, a)).toBe(5);
  });

  it('solves a 4x4 matrix whose greedy choice is wrong', () => {
    // greedy on row 0 takes column 0 (1) and then must pay 100 for row 1
    const cost = [
      [1, 2, 50, 50],
      [1, 100, 50, 50],
      [50, 50, 1, 2],
      [50, 50, 2, 100],
    ];
    const a = hungarian(cost);
    expect(a).toEqual([1, 0, 3, 2]);
    expect(total(cost, a)).toBe(2 + 1 + 2 + 2);
  });

  it('rectangular: more columns than rows leaves columns free', () => {
    const cost = [
      [9, 1, 9, 9],
      [9, 9, 9, 2],
    ];
    expect(hungarian(cost)).toEqual([1, 3]);
  });

  it('rectangular: more rows than columns leaves rows unassigned (-1)', () => {
    const cost = [
      [9, 9],
      [1, 9],
      [9, 9],
      [9, 3],
    ];
    expect(hungarian(cost)).toEqual([-1, 0, -1, 1]);
  });

  it('ties: any optimum, but a valid one-to-one assignment', () => {
    const cost = [
      [1, 1, 1],
      [1, 1, 1],
      [1, 1, 1],
    ];
    const a = hungarian(cost);
    expectValid(cost, a);
    expect(total(cost, a)).toBe(3);
    const half = [
      [0, 0, 5],
      [0, 0, 5],
    ];
    const b = hungarian(half);
    expectValid(half, b);
    expect(total(half, b)).toBe(0);
  });

  it('empty matrices', () => {
    expect(hungarian([])).toEqual([]);
    expect(hungarian([[], []])).toEqual([-1, -1]);
  });

  it('matches brute force on random 5x5, 4x6 and 6x4 matrices (seeded)', () => {
    const rand = prng(12345);
    for (const [rows, cols] of [
      [5, 5],
      [4, 6],
      [6, 4],
    ]) {
      for (let t = 0; t < 200; t++) {
        // integer costs make ties common: the totals must still agree
        const integer = t % 2 === 0;
        const cost = Array.from({ length: rows }, () => Array.from({ length: cols }, () => (integer ? Math.floor(rand() * 5) : rand() * 10 - 3)));
        const a = hungarian(cost);
        expectValid(cost, a);
        expect(total(cost, a)).toBeCloseTo(bruteForce(cost), 9);
      }
    }
  });
});

describe('assign (gated)', () => {
  it('drops pairs above the gate and prefers more allowed pairs over a cheaper single one', () => {
    // row 0 could take column 0 at 0.1, but then row 1 has nothing allowed: two pairs (0.2 + 0.2) win
    const cost = [
      [0.1, 0.2],
      [0.2, 0.9],
    ];
    expect(assign(cost, 0.7)).toEqual([
      [0, 1],
      [1, 0],
    ]);
    // nothing allowed for row 1: it stays out, row 0 takes its cheapest
    expect(
      assign(
        [
          [0.1, 0.2],
          [0.9, 0.95],
        ],
        0.7,
      ),
    ).toEqual([[0, 0]]);
    expect(assign([[0.8]], 0.7)).toEqual([]);
    expect(assign([], 0.7)).toEqual([]);
  });

  it('negative costs (maximising a count) work too', () => {
    expect(
      assign(
        [
          [-4, 0],
          [-3, -1],
        ],
        -1,
      ),
    ).toEqual([
      [0, 0],
      [1, 1],
    ]);
  });
});
