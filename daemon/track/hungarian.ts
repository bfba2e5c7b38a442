/**
 * The Hungarian algorithm (Kuhn–Munkres with potentials, the O(n²·m) form of Jonker–Volgenant):
 * the one-to-one assignment of rows to columns of minimal total cost. The tracker matches
 * detections to tracks with it and the MOT metrics match ground truth to hypotheses; the matrices
 * are small (tens of rows), so a plain dense version is all that is needed.
 */

/**
 * Assigns each row to at most one column, and each column to at most one row, so that
 * min(rows, columns) pairs are made and their total cost is minimal. Costs must be finite (use a
 * large number for a pair that must not be made, and drop it afterwards: see `assign`).
 * Returns, for each row, the column assigned to it, or -1.
 */
export function hungarian(cost: readonly (readonly number[])[]): number[] {
  const rows = cost.length;
  const cols = rows === 0 ? 0 : cost[0].length;
  if (rows === 0 || cols === 0) return new Array<number>(rows).fill(-1);
  // the algorithm below wants rows <= columns: solve the transpose otherwise
  if (rows > cols) {
    const t = Array.from({ length: cols }, (_, j) => cost.map((row) => row[j]));
    const colToRow = hungarian(t);
    const out = new Array<number>(rows).fill(-1);
    colToRow.forEach((i, j) => {
      if (i >= 0) out[i] = j;
    });
    return out;
  }
  const n = rows;
  const m = cols;
  // 1-based: index 0 of the columns is the virtual column the augmenting path starts from
  const u = new Float64Array(n + 1); // row potentials
  const v = new Float64Array(m + 1); // column potentials
  const p = new Int32Array(m + 1); // p[j]: the row (1-based) assigned to column j, 0 if none
  const way = new Int32Array(m + 1); // the previous column on the shortest augmenting path
  const minv = new Float64Array(m + 1);
  const used = new Uint8Array(m + 1);
  for (let i = 1; i <= n; i++) {
    // add row i: grow a tree of tight edges (reduced cost 0) from it until a free column is reached
    p[0] = i;
    let j0 = 0;
    minv.fill(Infinity);
    used.fill(0);
    do {
      used[j0] = 1;
      const i0 = p[j0];
      const row = cost[i0 - 1];
      let delta = Infinity;
      let j1 = 0;
      for (let j = 1; j <= m; j++) {
        if (used[j]) continue;
        const cur = row[j - 1] - u[i0] - v[j];
        if (cur < minv[j]) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      // shift the potentials so that the cheapest edge leaving the tree becomes tight
      for (let j = 0; j <= m; j++) {
        if (used[j]) {
          u[p[j]] += delta;
          v[j] -= delta;
        } else {
          minv[j] -= delta;
        }
      }
      j0 = j1;
    } while (p[j0] !== 0);
    // flip the augmenting path
    do {
      const j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0 !== 0);
  }
  const out = new Array<number>(n).fill(-1);
  for (let j = 1; j <= m; j++) if (p[j] !== 0) out[p[j] - 1] = j - 1;
  return out;
}

/**
 * Gated assignment: the pairs of a minimal-cost assignment whose cost is at most `maxCost`.
 * Pairs above it are given a cost far above any sum of allowed costs, so the assignment first
 * makes as many allowed pairs as it can and then the cheapest of those; the forbidden pairs it
 * had to make to fill the assignment are dropped (as SORT does with its IoU threshold).
 */
export function assign(cost: readonly (readonly number[])[], maxCost: number): [row: number, col: number][] {
  const rows = cost.length;
  const cols = rows === 0 ? 0 : cost[0].length;
  if (rows === 0 || cols === 0) return [];
  let span = 1;
  for (const row of cost) for (const c of row) if (c <= maxCost) span = Math.max(span, Math.abs(c));
  const forbidden = span * (Math.min(rows, cols) + 1) * 2 + 1;
  const gated = cost.map((row) => row.map((c) => (c <= maxCost ? c : forbidden)));
  const pairs: [number, number][] = [];
  hungarian(gated).forEach((j, i) => {
    if (j >= 0 && cost[i][j] <= maxCost) pairs.push([i, j]);
  });
  return pairs;
}
