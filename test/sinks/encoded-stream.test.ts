import { afterAll, describe, expect, it } from 'vitest';
import { NAL, nalType, type AccessUnit } from '../../daemon/media/h264.js';
import { annexB, avccUnit, EncodedStream, type EncodedUnit } from '../../daemon/sinks/encoded-stream.js';
import { testAccessUnits } from '../support/h264-units.js';
import { tempDir } from '../support/videos.js';

const { dir, cleanup } = tempDir('encoded-stream');
afterAll(cleanup);

// real libx264 output: 320x240, a keyframe (with SPS/PPS) every 10 pictures
const units = testAccessUnits(dir, { frames: 40 });

function started(): EncodedStream {
  const s = new EncodedStream('cam');
  s.start({ width: 320, height: 240, fps: 10, fpsRational: '10', timescale: 90000 });
  return s;
}

const tick = () => new Promise((r) => setImmediate(r));

describe('EncodedStream (one encode, fanned out)', () => {
  it('gives the codec config from the first keyframe: SPS, PPS, avcC, codec string, size and rate', () => {
    const s = started();
    expect(s.codecConfig()).toBeNull();
    s.publish(units[0], 0);
    const c = s.codecConfig();
    expect(c).not.toBeNull();
    expect(c?.codec).toBe('h264');
    expect(nalType(c?.sps as Buffer)).toBe(NAL.SPS);
    expect(nalType(c?.pps as Buffer)).toBe(NAL.PPS);
    expect(c?.avcC[0]).toBe(1); // configurationVersion
    expect(c?.codecString).toMatch(/^avc1\.[0-9a-f]{6}$/);
    expect([c?.width, c?.height, c?.fps, c?.timescale]).toEqual([320, 240, 10, 90000]);
  });

  it('a late joiner starts at the next keyframe, which carries SPS and PPS; pts and seq come with every unit', async () => {
    const s = started();
    for (let i = 0; i < 13; i++) s.publish(units[i], i / 10);
    const got: EncodedUnit[] = [];
    s.subscribe((u) => void got.push(u));
    for (let i = 13; i < 25; i++) s.publish(units[i], i / 10);
    await tick();
    expect(got[0].keyframe).toBe(true);
    expect(got[0].seq).toBe(20);
    expect(got[0].pts).toBeCloseTo(2.0, 6);
    expect(got[0].nals.slice(0, 2).map(nalType)).toEqual([NAL.SPS, NAL.PPS]);
    expect(got.length).toBe(5);
    // Annex-B and MP4 sample forms of a unit
    expect(annexB(got[0]).subarray(0, 5)).toEqual(Buffer.from([0, 0, 0, 1, got[0].nals[0][0]]));
    expect(avccUnit(got[0]).readUInt32BE(0)).toBe(got[0].nals.find((n) => nalType(n) !== NAL.SPS && nalType(n) !== NAL.PPS)?.length);
  });

  it('a keyframe without parameter sets gets them from the config', async () => {
    const s = started();
    s.publish(units[0], 0);
    const got: EncodedUnit[] = [];
    s.subscribe((u) => void got.push(u));
    const bare: AccessUnit = { keyframe: true, nals: units[10].nals.filter((n) => nalType(n) !== NAL.SPS && nalType(n) !== NAL.PPS) };
    s.publish(bare, 1);
    await tick();
    expect(got[0].nals.slice(0, 2).map(nalType)).toEqual([NAL.SPS, NAL.PPS]);
  });

  it('a slow consumer drops its own units (counted) and resyncs at a keyframe; the others get every unit, and publishing never waits', async () => {
    const s = started();
    const fast: number[] = [];
    const slow: EncodedUnit[] = [];
    let release: () => void = () => undefined;
    let gate = new Promise<void>((r) => (release = r));
    s.subscribe((u) => void fast.push(u.seq));
    const sub = s.subscribe(
      async (u) => {
        slow.push(u);
        await gate;
      },
      { queueLimit: 3, name: 'slow viewer' },
    );
    const t0 = performance.now();
    for (let i = 0; i < 15; i++) s.publish(units[i], i / 10); // the slow one is stuck on unit 0
    expect(performance.now() - t0).toBeLessThan(1000);
    await tick();
    expect(fast).toEqual([...Array(15).keys()]);
    // unit 0 is with it, 1-3 wait in its queue, 4..14 were dropped
    expect(sub.queued).toBe(3);
    expect(sub.dropped).toBe(11);
    release();
    await tick();
    gate = Promise.resolve();
    for (let i = 15; i < 40; i++) {
      s.publish(units[i], i / 10); // now at the pace it keeps up with
      await tick();
    }
    // after the drop it starts again at the next keyframe (20), and nothing is lost after that
    expect(slow.map((u) => u.seq)).toEqual([0, 1, 2, 3, ...Array.from({ length: 20 }, (_, k) => 20 + k)]);
    expect(sub.dropped).toBe(11 + 5);
    expect(sub.delivered).toBe(slow.length);
    sub.unsubscribe();
    s.publish(units[0], 5);
    expect(s.subscribers).toBe(1);
    // the drops of a subscriber that left still count
    expect(s.droppedTotal).toBe(16);
  });

  it('a lossless consumer never drops: the stream says it is backlogged until there is room', async () => {
    const s = started();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const got: number[] = [];
    s.subscribe(
      async (u) => {
        got.push(u.seq);
        await gate;
      },
      { queueLimit: 2, lossless: true },
    );
    for (let i = 0; i < 3; i++) s.publish(units[i], i / 10);
    expect(s.backlogged).toBe(true);
    let room = false;
    const waiting = s.whenRoom().then(() => (room = true));
    await tick();
    expect(room).toBe(false);
    release();
    await waiting;
    for (let i = 3; i < 10; i++) s.publish(units[i], i / 10);
    await tick();
    await tick();
    expect(got).toEqual([...Array(10).keys()]);
  });

  it('a consumer that throws loses nothing else; end() tells every subscriber once', async () => {
    const s = started();
    let ended = 0;
    const good: number[] = [];
    const bad = s.subscribe(
      () => {
        throw new Error('broken consumer');
      },
      { onEnd: () => ended++ },
    );
    s.subscribe((u) => void good.push(u.seq), { onEnd: () => ended++ });
    for (let i = 0; i < 5; i++) s.publish(units[i], i / 10);
    await tick();
    expect(bad.errors).toBe(5);
    expect(good.length).toBe(5);
    s.end();
    s.end();
    expect(ended).toBe(2);
    expect(s.subscribers).toBe(0);
    const late = s.subscribe(() => undefined, { onEnd: () => ended++ });
    await tick();
    expect(ended).toBe(3);
    late.unsubscribe();
  });

  it('a new encoder (camera restart) gives a new config object: subscribers see it change', async () => {
    const s = started();
    const configs = new Set<unknown>();
    s.subscribe((u) => void configs.add(u.config));
    s.publish(units[0], 0);
    s.publish(units[1], 0.1);
    s.start({ width: 320, height: 240, fps: 10, fpsRational: '10' });
    s.publish(units[0], 0);
    await tick();
    expect(configs.size).toBe(2);
    expect(await s.waitForConfig(10)).not.toBeNull();
  });
});
