/**
 * The web UI in a real browser: Debian's chromium driven by playwright-core against a real daemon
 * (the bundled model on the sample clip, played in real time and looped, recording in 4 s
 * segments, authentication on) with a real mosquitto. It logs in through the login page, sees the
 * live view play (the MSE video's currentTime advances), the events with snapshots that load, an
 * event's clip play, a recording play, and the System page's frame rate above 0; it saves a
 * screenshot of each page. TRT_UI_SCREENSHOTS=docs/screenshots also writes them there (the set
 * the README shows).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
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

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
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
    for (const name of ['live', 'events', 'event', 'recordings', 'system', 'phone']) {
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
