import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { addonInfo, mallocArenas } from '../../daemon/native.js';

const ADDON = join(process.cwd(), 'build', 'native', 'Release', 'trt_detect.node');

// A fresh process loads the addon, then 8 worker threads allocate at the same time (a barrier
// keeps them all alive until each has allocated): glibc gives each new thread an arena of its own
// until the cap. Prints the cap the addon reports and the arenas malloc_info counts afterwards.
const CHILD = `
const { Worker } = require('node:worker_threads');
const addon = require(${JSON.stringify(ADDON)});
const THREADS = 8;
const barrier = new Int32Array(new SharedArrayBuffer(4));
const work = \`
  const { workerData, parentPort } = require('node:worker_threads');
  const barrier = workerData;
  const keep = [];
  for (let i = 0; i < 4000; i++) { keep.push(Buffer.alloc(512 + (i % 97) * 64)); if (keep.length > 64) keep.shift(); }
  Atomics.add(barrier, 0, 1);
  Atomics.notify(barrier, 0);
  while (Atomics.load(barrier, 0) < ${'${THREADS}'}) Atomics.wait(barrier, 0, Atomics.load(barrier, 0), 50);
  parentPort.postMessage(keep.length);
\`;
let done = 0;
for (let i = 0; i < THREADS; i++) {
  const w = new Worker(work, { eval: true, workerData: barrier });
  w.on('message', () => {
    if (++done === THREADS) {
      console.log(JSON.stringify({ max: addon.info.mallocArenaMax, arenas: addon.mallocArenas() }));
      process.exit(0);
    }
  });
}
`;

function run(env: Record<string, string>): { max: number | null; arenas: number | null } {
  const base = { ...process.env };
  delete base.MALLOC_ARENA_MAX;
  const out = execFileSync(process.execPath, ['-e', CHILD], { env: { ...base, ...env }, encoding: 'utf8', timeout: 60_000 });
  return JSON.parse(out.trim().split('\n').pop() as string) as { max: number | null; arenas: number | null };
}

// glibc only: other C libraries have no arenas to count (mallocArenas() is null there)
const glibc = mallocArenas() !== null;

describe.skipIf(!glibc)('malloc arenas (native/src/addon.cc)', () => {
  it('loading the addon caps glibc at 2 arenas however many threads allocate after it', () => {
    const r = run({});
    expect(r.max).toBe(2);
    expect(r.arenas).toBeGreaterThanOrEqual(1);
    expect(r.arenas).toBeLessThanOrEqual(2);
  });

  it("leaves MALLOC_ARENA_MAX to the user: with 16, the same threads get arenas of their own", () => {
    const r = run({ MALLOC_ARENA_MAX: '16' });
    expect(r.max).toBe(16);
    expect(r.arenas).toBeGreaterThan(2);
  });

  it('reports the cap in this process too', () => {
    expect(addonInfo.mallocArenaMax === 2 || process.env.MALLOC_ARENA_MAX !== undefined).toBe(true);
    expect(mallocArenas()).toBeGreaterThanOrEqual(1);
  });
});
