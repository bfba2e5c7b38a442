/**
 * The web UI in a real browser: Debian's chromium driven by playwright-core against a real daemon
 * (the bundled model on the sample clip, played in real time and looped, recording in 4 s
 * segments, authentication on) with a real mosquitto. It logs in through the login page, sees the
 * live view play (the MSE video's currentTime advances), the events with snapshots that load, an
 * event's clip play, a recording play, a camera-stream recording (record.mode raw and both: a
 * fixture made by ffmpeg with its detections file) play with the boxes drawn over it where the
 * detections say, and the System page's frame rate above 0; it saves a screenshot of each page. TRT_UI_SCREENSHOTS=docs/screenshots also writes them there (the set
 * the README shows).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { basicAuth, TEST_PASSWORD, TEST_USER } from '../support/auth.js';
import { CLI, MODEL, ROOT, SAMPLE } from '../support/cli.js';
import { freePort, startMosquitto, type Mosquitto } from '../support/mosquitto.js';
import { tempDir } from '../support/videos.js';

const CHROMIUM = '/usr/bin/chromium';
const { dir, cleanup } = tempDir('web-ui');
const SHOTS = join(dir, 'shots');
let broker: Mosquitto;
let daemon: ChildProcess;
let base = '';
let ctx: BrowserContext;
let page: Page;
let log = '';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function api<T>(path: string): Promise<T> {
  const res = await fetch(base + path, { headers: basicAuth() });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | null | undefined | false>): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => null);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${log.slice(-3000)}`);
    await sleep(250);
  }
}

async function shot(name: string, fullPage = false): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage });
}

/** The currentTime of the first video matching `selector` (evaluated in the page: no DOM types here). */
function currentTime(selector: string): Promise<number> {
  return page.evaluate<number>(`document.querySelector(${JSON.stringify(selector)})?.currentTime ?? 0`);
}

/** The video's currentTime once it has advanced by `by` seconds from when it started. */
async function videoAdvances(selector: string, by: number, timeoutMs: number): Promise<number> {
  const first = await waitFor(`${selector} to start`, timeoutMs, () => currentTime(selector));
  return waitFor(`${selector} to play on`, timeoutMs, async () => {
    const t = await currentTime(selector);
    return t > first + by ? t : null;
  });
}

const browser = existsSync(CHROMIUM);

/** The fixture's picture: a red 80x60 rectangle moving right at 60 px/s on grey, 640x480 (4:3, pillarboxed in the 16:9 player), 25 fps. */
const FIX = { width: 640, height: 480, fps: 25, seconds: 8, x0: 40, y: 150, w: 80, h: 60, speed: 60, classId: 1 };
/** the addon's colour of class 1 (native/src/osd.cc kPalette) */
const BOX_RGB = [60, 180, 75];

/**
 * A camera-stream segment `<name>.mp4` of the fixture in `folder` (record.mode raw: name
 * HH-MM-SS-N; both: HH-MM-SS-N.raw) with `<name>.jsonl` beside it, one line per frame with the
 * rectangle's box; `annotated` instead writes the annotated segment of mode both (a green frame
 * burnt in around the rectangle, no detections file). Its last write is its end.
 */
function fixtureSegment(folder: string, name: string, start: number, annotated = false): void {
  const { width, height, fps, seconds, x0, y, w, h, speed } = FIX;
  const rect = `color=c=red:s=${w}x${h}:r=${fps}:d=${seconds}`;
  const graph = annotated
    ? `color=c=0x606060:s=${width}x${height}:r=${fps}:d=${seconds}[bg];color=c=0x3cb44b:s=${w + 8}x${h + 8}:r=${fps}:d=${seconds}[g];${rect}[fg];` +
      `[bg][g]overlay=x='${x0 - 4}+${speed}*t':y=${y - 4}[a];[a][fg]overlay=x='${x0}+${speed}*t':y=${y}`
    : `color=c=0x606060:s=${width}x${height}:r=${fps}:d=${seconds}[bg];${rect}[fg];[bg][fg]overlay=x='${x0}+${speed}*t':y=${y}`;
  const file = join(folder, `${name}.mp4`);
  execFileSync('ffmpeg', [
    ...['-v', 'error', '-y', '-filter_complex', graph, '-c:v', 'libx264', '-preset', 'ultrafast', '-bf', '0', '-g', String(fps), '-pix_fmt', 'yuv420p'],
    ...['-movflags', '+frag_keyframe+empty_moov+default_base_moof', file],
  ]);
  if (!annotated) {
    const lines = [JSON.stringify({ type: 'segment', camera: 'demo', file: `${name}.mp4`, width, height, codec: 'h264' })];
    for (let n = 0; n < fps * seconds; n++) {
      const x = x0 + (speed * n) / fps;
      // as the recorder writes it (sinks/segment-detections.ts): the detection message's box
      const [x1, y1, x2, y2] = [x, y, x + w, y + h].map((v) => Number(v.toFixed(2)));
      const box = { x1, y1, x2, y2 };
      lines.push(JSON.stringify({ pts: n / fps, frame: n, detections: [{ label: 'vehicle', class_id: FIX.classId, score: 0.9, box, track_id: 7 }] }));
    }
    // a line cut short, as while the segment records
    writeFileSync(join(folder, `${name}.jsonl`), lines.join('\n') + '\n{"pts":8.0,"frame":200,"detec');
  }
  utimesSync(file, start + seconds, start + seconds);
}

/**
 * In the page: the overlay canvas over the playing video, sampled where the fixture's box is at
 * the video's currentTime (the picture's rectangle inside the element computed as object-fit:
 * contain does). Each sample is whether a pixel of the box colour lies within 6 px of the point
 * (the frame drawn may be a frame behind currentTime); null while the video is not playing.
 */
const SAMPLE_OVERLAY = `(() => {
  const v = document.querySelector('.now-playing video');
  const c = document.querySelector('.now-playing canvas.overlay');
  if (!v || !c || v.paused || v.readyState < 2 || !v.videoWidth || !c.width) return null;
  const F = ${JSON.stringify(FIX)}, RGB = ${JSON.stringify(BOX_RGB)};
  const t = v.currentTime, cw = v.clientWidth, ch = v.clientHeight;
  const s = Math.min(cw / v.videoWidth, ch / v.videoHeight);
  const ox = (cw - v.videoWidth * s) / 2, oy = (ch - v.videoHeight * s) / 2;
  const dpr = c.width / cw;
  const ctx = c.getContext('2d');
  const isBox = (d, i) => d[i + 3] > 200 && Math.abs(d[i] - RGB[0]) < 40 && Math.abs(d[i + 1] - RGB[1]) < 40 && Math.abs(d[i + 2] - RGB[2]) < 40;
  const near = (x, y, horizontal) => {
    const px = Math.round((ox + x * s) * dpr), py = Math.round((oy + y * s) * dpr), r = Math.round(6 * dpr);
    const d = horizontal ? ctx.getImageData(px - r, py, 2 * r + 1, 1).data : ctx.getImageData(px, py - r, 1, 2 * r + 1).data;
    for (let i = 0; i < d.length; i += 4) if (isBox(d, i)) return true;
    return false;
  };
  const clear = (x, y) => ctx.getImageData(Math.round((ox + x * s) * dpr), Math.round((oy + y * s) * dpr), 1, 1).data[3] === 0;
  const x1 = F.x0 + F.speed * t, mid = x1 + F.w / 2;
  return {
    t, ox, oy, scale: s,
    left: near(x1, F.y + F.h / 2, true),
    right: near(x1 + F.w, F.y + F.h / 2, true),
    top: near(mid, F.y, false),
    bottom: near(mid, F.y + F.h, false),
    inside: clear(mid, F.y + F.h / 2),
    behind: clear(mid - 1.5 * F.w, F.y),
    bar: ox < 2 || clear(-ox / s / 2, F.y),
  };
})()`;

interface OverlaySample {
  t: number;
  ox: number;
  oy: number;
  scale: number;
  left: boolean;
  right: boolean;
  top: boolean;
  bottom: boolean;
  inside: boolean;
  behind: boolean;
  bar: boolean;
}

beforeAll(async () => {
  if (!browser) return;
  mkdirSync(SHOTS, { recursive: true });
  broker = await startMosquitto();
  const port = await freePort();
  const config = join(dir, 'config.yaml');
  writeFileSync(
    config,
    `model: {path: ${MODEL}}
state_dir: ${join(dir, 'state')}
cameras:
  demo:
    source: ${SAMPLE}
    loop: true
    realtime: true
    record: {path: ${join(dir, 'recordings')}, segment_seconds: 4}
    snapshots: {path: ${join(dir, 'snapshots')}}
mqtt: {url: ${broker.url}, topic_prefix: webui}
rtsp_server: {enabled: false}
http: {host: 127.0.0.1, port: ${port}, auth: {username: ${TEST_USER}, password: ${TEST_PASSWORD}}}
`,
  );
  daemon = spawn(process.execPath, [CLI, 'run', '-c', config], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  daemon.stdout?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-20000)));
  daemon.stderr?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-20000)));
  base = `http://127.0.0.1:${port}`;
  await waitFor('the daemon to stream', 150_000, async () => (await fetch(`${base}/healthz`)).ok);
  ctx = await chromium.launchPersistentContext(join(dir, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 800 },
  });
  page = ctx.pages()[0] ?? (await ctx.newPage());
}, 240_000);

afterAll(async () => {
  await ctx?.close().catch(() => undefined);
  if (daemon && daemon.exitCode === null) {
    daemon.kill('SIGTERM');
    await new Promise((r) => daemon.once('exit', r));
  }
  await broker?.stop();
  const out = process.env.TRT_UI_SCREENSHOTS;
  if (out && browser) {
    const target = resolve(ROOT, out);
    mkdirSync(target, { recursive: true });
    for (const name of ['live', 'events', 'event', 'recordings', 'recordings-camera', 'system', 'phone']) {
      // 256 colours: a fifth of the size, for the repository
      const from = join(SHOTS, `${name}.png`);
      if (existsSync(from))
        execFileSync('ffmpeg', [
          '-v',
          'error',
          '-y',
          '-i',
          from,
          '-vf',
          'split[a][b];[a]palettegen=max_colors=256[p];[b][p]paletteuse=dither=none',
          join(target, `${name}.png`),
        ]);
    }
  }
  cleanup();
}, 60_000);

describe.skipIf(!browser)('the web UI in chromium', () => {
  it('sends a browser to the login page, and logs in', async () => {
    await page.goto(`${base}/`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await page.fill('input[name=password]', 'wrong');
    await page.click('button[type=submit]');
    await page.waitForSelector('text=Wrong user name or password');
    await page.fill('input[name=password]', TEST_PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForSelector('nav a.active');
    expect(new URL(page.url()).pathname).toBe('/');
  }, 180_000);

  it('plays the live view: the video of the camera advances', async () => {
    // the still image (the fallback where MSE is missing): the pipeline's annotated frame as a JPEG
    const still = await fetch(`${base}/api/cameras/demo/latest.jpg`, { headers: basicAuth() });
    expect(still.status).toBe(200);
    expect(Buffer.from(await still.arrayBuffer()).subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    await page.goto(`${base}/#/live`);
    await page.waitForSelector('.tile video[data-kind=mse]', { timeout: 20_000 });
    await videoAdvances('.tile video', 1, 30_000);
    await shot('live');
    // one camera alone
    await page.click('.tile-link');
    await page.waitForSelector('.tile.alone');
    expect(page.url()).toMatch(/#\/live\/demo$/);
  }, 180_000);

  it('lists events with snapshots that load, and plays an event clip', async () => {
    // an ended event whose clip (5 s after its end) is recorded already
    const ended = await waitFor('an ended event with a snapshot, 8 s old', 90_000, async () => {
      const events = await api<Array<{ id: string; end_time: number | null; snapshot_url: string | null }>>('/api/events?limit=200');
      return events.find((e) => e.end_time !== null && e.snapshot_url && e.end_time < Date.now() / 1000 - 8);
    });
    await page.goto(`${base}/#/events`);
    await page.waitForSelector('a.event', { timeout: 20_000 });
    const loaded = await waitFor('snapshot thumbnails to load', 20_000, () =>
      page.evaluate<number>(`[...document.querySelectorAll('.thumb img')].filter((i) => i.complete && i.naturalWidth > 0).length`),
    );
    expect(loaded).toBeGreaterThan(0);
    await page.goto(`${base}/#/events/${encodeURIComponent(ended.id)}`);
    await page.waitForSelector('video.player', { timeout: 20_000 });
    await videoAdvances('video.player', 0.5, 60_000);
    await shot('event');
    // the list again, a few seconds later: most objects have their snapshot by now
    await page.goto(`${base}/#/events`);
    await page.waitForSelector('a.event');
    await waitFor('the first snapshots', 20_000, () =>
      page.evaluate<boolean>(
        `[...document.querySelectorAll('a.event')].slice(0, 12).every((e) => { const i = e.querySelector('.thumb img'); return i && i.complete && i.naturalWidth > 0; })`,
      ),
    ).catch(() => undefined);
    await shot('events');
  }, 180_000);

  it('plays a recording of the day', async () => {
    await page.goto(`${base}/#/recordings`);
    await page.waitForSelector('button[data-play]', { timeout: 30_000 });
    // the newest segment is still being written: play the one before it
    const buttons = await page.$$('button[data-play]');
    await buttons[Math.min(1, buttons.length - 1)].click();
    await page.waitForSelector('.now-playing video');
    await videoAdvances('.now-playing video', 0.5, 30_000);
    await shot('recordings');
  }, 180_000);

  it('plays a camera-stream recording with its detections drawn over it, and switches to the annotated one (record.mode raw, both)', async () => {
    // into the recording folder of today, half an hour back (before the daemon started; in the
    // first half hour of a day half an hour ahead): a mode raw segment (X.mp4 + X.jsonl), then a
    // mode both pair (Y.mp4 annotated, Y.raw.mp4 + Y.raw.jsonl), never overlapping the daemon's own
    const now = Date.now() / 1000;
    const midnight = new Date(new Date().setHours(0, 0, 0, 0)).getTime() / 1000;
    const startRaw = Math.floor(now - 1800 >= midnight ? now - 1800 : now + 1800);
    const startBoth = startRaw + 20;
    const pad = (n: number) => String(n).padStart(2, '0');
    const hms = (t: number) => {
      const d = new Date(t * 1000);
      return `${pad(d.getHours())}-${pad(d.getMinutes())}-${pad(d.getSeconds())}`;
    };
    const day = new Date(startRaw * 1000);
    const folder = join(dir, 'recordings', 'demo', `${day.getFullYear()}-${pad(day.getMonth() + 1)}-${pad(day.getDate())}`);
    mkdirSync(folder, { recursive: true });
    const raw = `${hms(startRaw)}-7`;
    const both = `${hms(startBoth)}-8`;
    fixtureSegment(folder, raw, startRaw);
    fixtureSegment(folder, both, startBoth, true);
    fixtureSegment(folder, `${both}.raw`, startBoth);
    const listed = await api<{ segments: Array<{ file: string; kind: string; detections_url: string | null }> }>('/api/recordings/demo');
    expect(listed.segments.filter((s) => s.file.includes(raw) || s.file.includes(both)).map((s) => [s.file, s.kind, s.detections_url !== null])).toEqual([
      [`${raw}.mp4`, 'camera', true],
      [`${both}.mp4`, 'annotated', false],
      [`${both}.raw.mp4`, 'camera', true],
    ]);

    await page.goto(`${base}/#/recordings`);
    await page.waitForSelector('.hours .hour');
    await page.locator('.hours .hour').nth(day.getHours()).click();
    // the day has both kinds: the stream selector; the camera stream shown
    await page.selectOption('select[data-view]', 'camera');
    await page.click(`button[data-play="${raw}.mp4"]`);
    await page.waitForSelector('.now-playing video[data-kind=camera]');
    await page.waitForSelector('.now-playing canvas.overlay[data-state$="frames with detections"]', { timeout: 20_000 });
    expect(await page.getAttribute('.now-playing canvas.overlay', 'data-state')).toBe(`${FIX.fps * FIX.seconds} frames with detections`);
    expect(await page.getAttribute('[data-playing-kind]', 'data-playing-kind')).toBe('camera');
    // full screen is the page's (video and canvas together), not the video element's
    expect(await page.getAttribute('.now-playing video', 'controlslist')).toBe('nofullscreen');
    // the box where the detections put it, twice while the video plays (so it follows the rectangle)
    const boxAt = (after: number) =>
      waitFor(`the overlay's box after ${after} s`, 30_000, async () => {
        const s = await page.evaluate<OverlaySample | null>(SAMPLE_OVERLAY);
        return s && s.t > after && s.t < FIX.seconds - 0.5 && s.left && s.right && s.top && s.bottom && s.inside && s.behind && s.bar ? s : null;
      });
    const first = await boxAt(0.3);
    expect(first.ox).toBeGreaterThan(50); // 4:3 in a 16:9 element: pillarboxed, and the boxes with it
    const second = await boxAt(first.t + 1.5);
    expect(second.t - first.t).toBeGreaterThan(1.4);
    await page.evaluate('window.scrollTo(0, 0)'); // (the sticky header: else it shows in the middle)
    await shot('recordings-camera', true); // the whole page: the stream selector, the timeline, the player

    // mode both: the camera stream, then the annotated segment of the same time
    await page.click(`button[data-play="${both}.raw.mp4"]`);
    await page.waitForSelector(`.now-playing video[src$="${both}.raw.mp4"]`);
    const t = await videoAdvances('.now-playing video', 1, 30_000);
    await page.click('button[data-switch=annotated]');
    await page.waitForSelector(`.now-playing video[data-kind=annotated][src$="${both}.mp4"]`);
    const resumed = await waitFor('the annotated segment to play from the same time', 30_000, async () => {
      const v = await currentTime('.now-playing video');
      return v > t - 0.5 ? v : null;
    });
    expect(resumed).toBeGreaterThan(t - 0.5);
    expect(await page.$('.now-playing canvas.overlay')).toBeNull();
    expect(await page.getAttribute('[data-playing-kind]', 'data-playing-kind')).toBe('annotated');
  }, 180_000);

  it('shows the camera frame rate and the system status', async () => {
    await page.goto(`${base}/#/system`);
    const fps = await waitFor('a frame rate above 0', 20_000, async () => {
      const v = await page.getAttribute('[data-fps]', 'data-fps');
      return v && Number(v) > 0 ? Number(v) : null;
    });
    expect(fps).toBeGreaterThan(0);
    await page.waitForSelector('dd.good'); // MQTT connected
    await shot('system');
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${base}/#/live`);
    await page.waitForSelector('.tile video, .tile img');
    await sleep(2500);
    await shot('phone');
  }, 180_000);
});
