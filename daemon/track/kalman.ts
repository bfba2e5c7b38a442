/**
 * A constant-velocity Kalman filter on one box, as SORT and ByteTrack run it: the state is the
 * box's centre, aspect ratio a = w/h and height, and their velocities per frame,
 * [cx, cy, a, h, vcx, vcy, va, vh]; a measurement is a detected box [cx, cy, a, h].
 * The noise is proportional to the box's height (ByteTrack's weights), so a near, large object may
 * move more pixels per frame than a far, small one before it stops matching its prediction.
 */
import type { Detection } from '../core/detection.js';

export type Box = Detection['box'];

// ByteTrack's (and DeepSORT's) weights: position noise 1/20 of the height, velocity noise 1/160
const STD_POSITION = 1 / 20;
const STD_VELOCITY = 1 / 160;

const N = 8; // state size
const M = 4; // measurement size

// dense row-major matrices, small enough (8x8, 4x4) that plain loops are the fastest thing

/** a (r×k) · b (k×c) */
function mul(a: Float64Array, b: Float64Array, r: number, k: number, c: number): Float64Array {
  const out = new Float64Array(r * c);
  for (let i = 0; i < r; i++)
    for (let l = 0; l < k; l++) {
      const x = a[i * k + l];
      if (x === 0) continue;
      for (let j = 0; j < c; j++) out[i * c + j] += x * b[l * c + j];
    }
  return out;
}

function transpose(a: Float64Array, r: number, c: number): Float64Array {
  const out = new Float64Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = a[i * c + j];
  return out;
}

/** The inverse of an n×n matrix by Gauss–Jordan elimination with partial pivoting. */
function invert(a: Float64Array, n: number): Float64Array {
  const m = Float64Array.from(a);
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) inv[i * n + i] = 1;
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(m[r * n + col]) > Math.abs(m[pivot * n + col])) pivot = r;
    if (m[pivot * n + col] === 0) throw new Error('kalman: singular innovation covariance');
    if (pivot !== col)
      for (let j = 0; j < n; j++) {
        [m[col * n + j], m[pivot * n + j]] = [m[pivot * n + j], m[col * n + j]];
        [inv[col * n + j], inv[pivot * n + j]] = [inv[pivot * n + j], inv[col * n + j]];
      }
    const d = m[col * n + col];
    for (let j = 0; j < n; j++) {
      m[col * n + j] /= d;
      inv[col * n + j] /= d;
    }
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = m[r * n + col];
      if (f === 0) continue;
      for (let j = 0; j < n; j++) {
        m[r * n + j] -= f * m[col * n + j];
        inv[r * n + j] -= f * inv[col * n + j];
      }
    }
  }
  return inv;
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
  covariance = new Float64Array(N * N);

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
    const f = new Float64Array(N * N);
    for (let i = 0; i < N; i++) f[i * N + i] = 1;
    for (let i = 0; i < M; i++) f[i * N + i + M] = dt;
    for (let i = 0; i < M; i++) this.mean[i] += dt * this.mean[i + M];
    // P = F P Fᵀ + Q
    const p = mul(mul(f, this.covariance, N, N, N), transpose(f, N, N), N, N, N);
    for (let i = 0; i < N; i++) p[i * N + i] += std[i] * std[i] * dt;
    this.covariance = p;
  }

  /** Corrects the state with a detected box. */
  update(box: Box): void {
    const z = toMeasurement(box);
    const h = this.mean[3];
    const r = [STD_POSITION * h, STD_POSITION * h, 1e-1, STD_POSITION * h];
    // the measurement matrix H takes the first 4 state entries, so H P Hᵀ is P's top-left 4×4
    // block and P Hᵀ its left 8×4 block: no need to multiply by H
    const s = new Float64Array(M * M);
    for (let i = 0; i < M; i++) for (let j = 0; j < M; j++) s[i * M + j] = this.covariance[i * N + j];
    for (let i = 0; i < M; i++) s[i * M + i] += r[i] * r[i];
    const pht = new Float64Array(N * M);
    for (let i = 0; i < N; i++) for (let j = 0; j < M; j++) pht[i * M + j] = this.covariance[i * N + j];
    const gain = mul(pht, invert(s, M), N, M, M); // K = P Hᵀ S⁻¹, 8×4
    const innovation = new Float64Array(M);
    for (let i = 0; i < M; i++) innovation[i] = z[i] - this.mean[i];
    const dx = mul(gain, innovation, N, M, 1);
    for (let i = 0; i < N; i++) this.mean[i] += dx[i];
    // P = P − K S Kᵀ
    const kskt = mul(mul(gain, s, N, M, M), transpose(gain, N, M), N, M, N);
    for (let i = 0; i < N * N; i++) this.covariance[i] -= kskt[i];
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
