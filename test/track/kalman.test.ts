import { describe, expect, it } from 'vitest';
import { BoxKalman } from '../../daemon/track/kalman.js';
import type { Box } from '../../daemon/core/box.js';

/** a 40×80 box whose top-left corner moves by (vx, vy) pixels per frame */
const boxAt = (t: number, vx = 6, vy = -2): Box => ({ x1: 100 + vx * t, y1: 300 + vy * t, x2: 140 + vx * t, y2: 380 + vy * t });

function expectNear(a: Box, b: Box, px: number) {
  for (const k of ['x1', 'y1', 'x2', 'y2'] as const) expect(Math.abs(a[k] - b[k])).toBeLessThan(px);
}

describe('BoxKalman', () => {
  it('starts at the detected box', () => {
    const kf = new BoxKalman(boxAt(0));
    expectNear(kf.box(), boxAt(0), 1e-9);
  });

  it('a box at constant velocity is predicted within 1 px after a few updates', () => {
    const kf = new BoxKalman(boxAt(0));
    for (let t = 1; t <= 8; t++) {
      kf.predict(1);
      kf.update(boxAt(t));
    }
    kf.predict(1);
    expectNear(kf.box(), boxAt(9), 1);
    expect(kf.mean[4]).toBeCloseTo(6, 0);
    expect(kf.mean[5]).toBeCloseTo(-2, 0);
  });

  it('the first prediction without a velocity stays put (the filter has learned nothing yet)', () => {
    const kf = new BoxKalman(boxAt(0));
    kf.predict(1);
    expectNear(kf.box(), boxAt(0), 1e-9);
  });

  it('3 skipped frames extrapolate along the velocity, by peek and by predict(3)', () => {
    const kf = new BoxKalman(boxAt(0));
    // ByteTrack's small velocity noise makes the velocity converge slowly (5.65 of 6 px/frame after
    // 10 updates, 5.83 after 15): after 15 the 3-frame extrapolation is within 1 px
    for (let t = 1; t <= 15; t++) {
      kf.predict(1);
      kf.update(boxAt(t));
    }
    // peek does not change the state
    expectNear(kf.peek(3), boxAt(18), 1);
    expectNear(kf.box(), boxAt(15), 1);
    kf.predict(3);
    expectNear(kf.box(), boxAt(18), 1);
    // and it is far from a copy of the last box (18 px at 6 px per frame)
    expect(kf.box().x1 - boxAt(15).x1).toBeGreaterThan(15);
  });

  it('uncertainty grows while predicting and shrinks with an update', () => {
    const kf = new BoxKalman(boxAt(0));
    for (let t = 1; t <= 5; t++) {
      kf.predict(1);
      kf.update(boxAt(t));
    }
    const before = kf.covariance[0];
    kf.predict(3);
    const predicted = kf.covariance[0];
    expect(predicted).toBeGreaterThan(before);
    kf.update(boxAt(8));
    expect(kf.covariance[0]).toBeLessThan(predicted);
    // the covariance stays symmetric
    for (let i = 0; i < 8; i++) for (let j = 0; j < 8; j++) expect(kf.covariance[i * 8 + j]).toBeCloseTo(kf.covariance[j * 8 + i], 9);
  });

  it('a larger box tolerates larger jumps: the noise scales with its height', () => {
    const small = new BoxKalman({ x1: 0, y1: 0, x2: 10, y2: 20 });
    const large = new BoxKalman({ x1: 0, y1: 0, x2: 100, y2: 200 });
    small.predict(1);
    large.predict(1);
    expect(large.covariance[0]).toBeCloseTo(small.covariance[0] * 100, 6);
  });
});
