/**
 * A constant-velocity Kalman filter on one box, as SORT and ByteTrack run it: the state is the
 * box's centre, aspect ratio a = w/h and height, and their velocities per frame,
 * [cx, cy, a, h, vcx, vcy, va, vh]; a measurement is a detected box [cx, cy, a, h].
 * The noise is proportional to the box's height (ByteTrack's weights), so a near, large object may
 * move more pixels per frame than a far, small one before it stops matching its prediction.
 */

import type { Box } from '../core/box.js';

// ByteTrack's (and DeepSORT's) weights: position noise 1/20 of the height, velocity noise 1/160
const STD_POSITION = 1 / 20;
const STD_VELOCITY = 1 / 160;

const N = 8; // state size
const M = 4; // measurement size

// Matrices are dense, row-major Float64Arrays. The general products (F P Fᵀ, K H P) are written
// out for the structure of F and H below instead of multiplying 8×8 matrices: the tracker runs
// them for every track on every frame, and generic products with temporaries cost ~10x more.

// scratch space: filters run one at a time (JavaScript is single-threaded), so they can share it
const SCRATCH4 = new Float64Array(M * M);
const S = new Float64Array(M * M);
const S_INV = new Float64Array(M * M);
const GAIN = new Float64Array(N * M);
const HP = new Float64Array(M * N);

/** The inverse of the 4×4 matrix `a` into `out`, by Gauss–Jordan elimination with partial pivoting. */
function invert4(a: Float64Array, out: Float64Array): void {
  const m = SCRATCH4;
  m.set(a);
  out.fill(0);
  for (let i = 0; i < M; i++) out[i * M + i] = 1;
  for (let col = 0; col < M; col++) {
    let pivot = col;
    for (let r = col + 1; r < M; r++) if (Math.abs(m[r * M + col]) > Math.abs(m[pivot * M + col])) pivot = r;
    if (m[pivot * M + col] === 0) throw new Error('kalman: singular innovation covariance');
    if (pivot !== col)
      for (let j = 0; j < M; j++) {
        let t = m[col * M + j];
        m[col * M + j] = m[pivot * M + j];
        m[pivot * M + j] = t;
        t = out[col * M + j];
        out[col * M + j] = out[pivot * M + j];
        out[pivot * M + j] = t;
      }
    const d = m[col * M + col];
    for (let j = 0; j < M; j++) {
      m[col * M + j] /= d;
      out[col * M + j] /= d;
    }
    for (let r = 0; r < M; r++) {
      if (r === col) continue;
      const f = m[r * M + col];
      if (f === 0) continue;
      for (let j = 0; j < M; j++) {
        m[r * M + j] -= f * m[col * M + j];
        out[r * M + j] -= f * out[col * M + j];
      }
    }
  }
}

/** [x1, y1, x2, y2] → [cx, cy, a, h] */
export function toMeasurement(box: Box): [number, number, number, number] {
  const w = box.x2 - box.x1;
  const h = Math.max(box.y2 - box.y1, 1e-6);
  return [(box.x1 + box.x2) / 2, (box.y1 + box.y2) / 2, w / h, h];
}

function toBox(cx: number, cy: number, a: number, h: number): Box {
  const w = a * h;
  return { x1: cx - w / 2, y1: cy - h / 2, x2: cx + w / 2, y2: cy + h / 2 };
}

export class BoxKalman {
  /** the state [cx, cy, a, h, vcx, vcy, va, vh] */
  readonly mean = new Float64Array(N);
  /** its covariance, 8×8 */
  readonly covariance = new Float64Array(N * N);

  /** Starts from one detected box: position as measured, velocity 0 and very uncertain. */
  constructor(box: Box) {
    const z = toMeasurement(box);
    this.mean.set(z);
    const h = z[3];
    const std = [
      2 * STD_POSITION * h,
      2 * STD_POSITION * h,
      1e-2,
      2 * STD_POSITION * h,
      10 * STD_VELOCITY * h,
      10 * STD_VELOCITY * h,
      1e-5,
      10 * STD_VELOCITY * h,
    ];
    for (let i = 0; i < N; i++) this.covariance[i * N + i] = std[i] * std[i];
  }

  /**
   * Moves the state `dt` frames on (dt may be fractional, or more than 1 for frames the detector
   * skipped). The process noise is ByteTrack's per-frame noise times dt: the variance of a random
   * walk grows linearly with time, so one step of dt frames adds about what dt steps of 1 would.
   */
  predict(dt = 1): void {
    if (dt <= 0) return;
    const h = this.mean[3];
    const std = [STD_POSITION * h, STD_POSITION * h, 1e-2, STD_POSITION * h, STD_VELOCITY * h, STD_VELOCITY * h, 1e-5, STD_VELOCITY * h];
    for (let i = 0; i < M; i++) this.mean[i] += dt * this.mean[i + M];
    // P ← F P Fᵀ + Q with F = [[I, dt·I], [0, I]] (4×4 blocks). With P = [[A, B], [Bᵀ, C]]:
    // F P Fᵀ = [[A + dt(B + Bᵀ) + dt²C, B + dt·C], [Bᵀ + dt·C, C]]
    const p = this.covariance;
    for (let i = 0; i < M; i++)
      for (let j = 0; j < M; j++) {
        const c = p[(i + M) * N + j + M];
        p[i * N + j] += dt * (p[i * N + j + M] + p[(i + M) * N + j]) + dt * dt * c;
      }
    for (let i = 0; i < M; i++)
      for (let j = 0; j < M; j++) {
        const c = p[(i + M) * N + j + M];
        p[i * N + j + M] += dt * c;
        p[(i + M) * N + j] += dt * c;
      }
    for (let i = 0; i < N; i++) p[i * N + i] += std[i] * std[i] * dt;
  }

  /** Corrects the state with a detected box. */
  update(box: Box): void {
    const z = toMeasurement(box);
    const h = this.mean[3];
    const r = [STD_POSITION * h, STD_POSITION * h, 1e-1, STD_POSITION * h];
    // the measurement matrix H takes the first 4 state entries, so H P Hᵀ is P's top-left 4×4
    // block, P Hᵀ its left 8×4 block and H P its top 4×8 block: no need to multiply by H
    const p = this.covariance;
    for (let i = 0; i < M; i++) for (let j = 0; j < M; j++) S[i * M + j] = p[i * N + j];
    for (let i = 0; i < M; i++) S[i * M + i] += r[i] * r[i];
    invert4(S, S_INV);
    // K = P Hᵀ S⁻¹ (8×4)
    for (let i = 0; i < N; i++)
      for (let j = 0; j < M; j++) {
        let sum = 0;
        for (let l = 0; l < M; l++) sum += p[i * N + l] * S_INV[l * M + j];
        GAIN[i * M + j] = sum;
      }
    // x ← x + K (z − H x)
    const innovation = [z[0] - this.mean[0], z[1] - this.mean[1], z[2] - this.mean[2], z[3] - this.mean[3]];
    for (let i = 0; i < N; i++) {
      let sum = 0;
      for (let l = 0; l < M; l++) sum += GAIN[i * M + l] * innovation[l];
      this.mean[i] += sum;
    }
    // P ← P − K H P (the same as P − K S Kᵀ, since K S = P Hᵀ); H P copied first, P changes
    HP.set(p.subarray(0, M * N));
    for (let i = 0; i < N; i++)
      for (let j = 0; j < N; j++) {
        let sum = 0;
        for (let l = 0; l < M; l++) sum += GAIN[i * M + l] * HP[l * N + j];
        p[i * N + j] -= sum;
      }
  }

  /** The box of the current state. */
  box(): Box {
    return toBox(this.mean[0], this.mean[1], this.mean[2], this.mean[3]);
  }

  /** The box `dt` frames on, without changing the state (frames the detector skipped). */
  peek(dt: number): Box {
    const m = this.mean;
    return toBox(m[0] + dt * m[4], m[1] + dt * m[5], m[2] + dt * m[6], m[3] + dt * m[7]);
  }
}
