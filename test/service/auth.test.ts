import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, silentLogger } from '../../daemon/core/log.js';
import { LoginGuard, sameSecret } from '../../daemon/core/login-guard.js';
import { createAuth, SESSION_COOKIE, type Auth } from '../../daemon/service/auth.js';
import { HttpServer } from '../../daemon/service/http-server.js';
import type { ServiceView } from '../../daemon/service/metrics.js';
import { TEST_AUTH, TEST_PASSWORD, basicAuth } from '../support/auth.js';
import { CLI, MODEL } from '../support/cli.js';
import { freePort, until } from '../support/mosquitto.js';
import { makeTestVideo, tempDir } from '../support/videos.js';

const view: ServiceView = { cameras: () => [], mqtt: () => null };

function capture() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString()));
  return { logger: createLogger('info', stream), text: () => text };
}

function curl(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', ...args], (err, stdout) => {
      resolve({ code: err && typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 0, out: String(stdout) });
    });
  });
}

/** A raw request with exactly the headers given (fetch adds its own Sec-Fetch and Origin rules). */
function raw(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body = '',
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method, path, headers: { ...headers, ...(body ? { 'content-length': String(Buffer.byteLength(body)) } : {}) } },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('http.auth on the HTTP endpoint', () => {
  const { dir, cleanup } = tempDir('auth');
  let server: HttpServer;
  let auth: Auth;
  let port: number;
  let base: string;

  beforeAll(async () => {
    auth = createAuth(TEST_AUTH, join(dir, 'state'), silentLogger());
    server = await HttpServer.listen({ host: '127.0.0.1', port: 0, view, logger: silentLogger(), auth });
    port = server.port;
    base = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await server?.close();
    cleanup();
  });

  it('answers 401 with JSON and a Basic challenge to anything but /healthz without credentials; curl -u gets in', async () => {
    for (const path of ['/metrics', '/calibration/capture', '/nope', '/api/cameras', '/']) {
      const res = await raw(port, 'GET', path);
      expect(res.status, path).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Basic realm="trt-detect", charset="UTF-8"');
      expect(JSON.parse(res.body)).toEqual({ error: 'authentication required (HTTP Basic, a bearer token, or log in at /login)' });
    }
    expect((await raw(port, 'GET', '/healthz')).status).toBe(200);
    expect(await curl([`${base}/metrics`])).toMatchObject({ out: '401' });
    expect(await curl(['-u', `admin:${TEST_PASSWORD}`, `${base}/metrics`])).toMatchObject({ out: '200' });
    expect(await curl(['-u', 'admin:wrong', `${base}/metrics`])).toMatchObject({ out: '401' });
    expect(await curl(['-u', `root:${TEST_PASSWORD}`, `${base}/metrics`])).toMatchObject({ out: '401' });
  });

  it('takes the bearer token of <state_dir>/api-token (mode 0600), not another', async () => {
    const file = join(dir, 'state', 'api-token');
    expect(auth.tokenFile).toBe(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const token = readFileSync(file, 'utf8').trim();
    expect(token.length).toBeGreaterThanOrEqual(40);
    expect((await raw(port, 'GET', '/metrics', { authorization: `Bearer ${token}` })).status).toBe(200);
    expect((await raw(port, 'GET', '/metrics', { authorization: `Bearer ${token}x` })).status).toBe(401);
    expect((await raw(port, 'GET', '/metrics', { authorization: `Bearer ${TEST_PASSWORD}` })).status).toBe(401);
  });

  it('logs in through the form: a session cookie (HttpOnly, SameSite=Strict) that opens /metrics; logout ends it', async () => {
    const page = await raw(port, 'GET', '/login');
    expect(page.status).toBe(200);
    expect(page.body).toContain('<form method="post" action="/login">');
    const wrong = await raw(port, 'POST', '/login', { 'content-type': 'application/x-www-form-urlencoded' }, 'username=admin&password=nope&next=%2Fmetrics');
    expect(wrong.status).toBe(401);
    expect(wrong.body).toContain('Wrong user name or password.');
    expect(wrong.headers['set-cookie']).toBeUndefined();
    const ok = await raw(
      port,
      'POST',
      '/login',
      { 'content-type': 'application/x-www-form-urlencoded' },
      `username=admin&password=${TEST_PASSWORD}&next=%2Fmetrics`,
    );
    expect(ok.status).toBe(303);
    expect(ok.headers.location).toBe('/metrics');
    const setCookie = (ok.headers['set-cookie'] as string[])[0];
    expect(setCookie).toMatch(new RegExp(`^${SESSION_COOKIE}=[0-9a-f]{64}; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200$`));
    const cookie = setCookie.split(';')[0];
    expect((await raw(port, 'GET', '/metrics', { cookie })).status).toBe(200);
    // a `next` that leaves the site is not followed
    const away = await raw(
      port,
      'POST',
      '/login',
      { 'content-type': 'application/x-www-form-urlencoded' },
      `username=admin&password=${TEST_PASSWORD}&next=%2F%2Fevil.example`,
    );
    expect(away.headers.location).toBe('/');
    // JSON login for the web UI's scripts
    const json = await raw(port, 'POST', '/login', { 'content-type': 'application/json' }, JSON.stringify({ username: 'admin', password: TEST_PASSWORD }));
    expect(json.status).toBe(200);
    expect(JSON.parse(json.body)).toEqual({ ok: true, username: 'admin' });
    const out = await raw(port, 'POST', '/logout', { cookie });
    expect(out.status).toBe(303);
    expect((await raw(port, 'GET', '/metrics', { cookie })).status).toBe(401);
    expect((await raw(port, 'GET', '/metrics', { cookie: `${SESSION_COOKIE}=${'0'.repeat(64)}` })).status).toBe(401);
  });

  it('sends a browser asking for a page to /login, and answers the page scripts 401 without a Basic challenge (no browser dialog)', async () => {
    const nav = await raw(port, 'GET', '/some/page?x=1', { 'sec-fetch-mode': 'navigate', accept: 'text/html' });
    expect(nav.status).toBe(303);
    expect(nav.headers.location).toBe('/login?next=%2Fsome%2Fpage%3Fx%3D1');
    const script = await raw(port, 'GET', '/api/cameras', { 'sec-fetch-mode': 'cors', 'sec-fetch-site': 'same-origin' });
    expect(script.status).toBe(401);
    expect(script.headers['www-authenticate']).toBeUndefined();
  });

  it('refuses a request that changes something when a browser says another site sent it (403), even with valid credentials', async () => {
    const post = (headers: Record<string, string>) => raw(port, 'POST', '/calibration/capture', { ...basicAuth(), ...headers });
    expect((await post({ 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect((await post({ 'sec-fetch-site': 'same-site' })).status).toBe(403);
    expect((await post({ origin: 'http://evil.example' })).status).toBe(403);
    expect((await post({ origin: 'null' })).status).toBe(403);
    const refused = await post({ origin: 'http://evil.example' });
    expect(JSON.parse(refused.body)).toEqual({ error: 'cross-site request refused (send it from the trt-detect page itself)' });
    // the same origin, or no browser at all, passes the check (the route itself answers: no calibration here = 404)
    expect((await post({ origin: `http://127.0.0.1:${port}` })).status).toBe(404);
    expect((await post({ 'sec-fetch-site': 'same-origin' })).status).toBe(404);
    expect((await post({})).status).toBe(404);
    // a login from another site is refused too (login CSRF)
    const login = await raw(
      port,
      'POST',
      '/login',
      { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://evil.example' },
      `username=admin&password=${TEST_PASSWORD}`,
    );
    expect(login.status).toBe(403);
  });
});

describe('failed logins are rate-limited per address', () => {
  it('LoginGuard blocks an address after 10 failures in a minute, for a minute, and its table stays bounded', () => {
    let now = 1_000_000;
    const guard = new LoginGuard({ now: () => now, maxAddresses: 100 });
    for (let i = 0; i < 9; i++) guard.failed('10.0.0.1');
    expect(guard.blockedFor('10.0.0.1')).toBe(0);
    guard.failed('10.0.0.1');
    expect(guard.blockedFor('10.0.0.1')).toBe(60);
    expect(guard.blockedFor('10.0.0.2')).toBe(0);
    now += 59_000;
    expect(guard.blockedFor('10.0.0.1')).toBe(1);
    now += 1500;
    expect(guard.blockedFor('10.0.0.1')).toBe(0);
    for (let i = 0; i < 10_000; i++) guard.failed(`10.1.${i >> 8}.${i & 255}`);
    expect(guard.size).toBeLessThanOrEqual(100);
    expect(sameSecret('abc', 'abc')).toBe(true);
    expect(sameSecret('abc', 'abd')).toBe(false);
    expect(sameSecret('abc', 'abcd')).toBe(false);
  });

  it('over HTTP: the 11th wrong password gets 429 with Retry-After, and then even the right one does', async () => {
    const { dir, cleanup } = tempDir('auth-limit');
    const auth = createAuth(TEST_AUTH, join(dir, 'state'), silentLogger());
    const server = await HttpServer.listen({ host: '127.0.0.1', port: 0, view, logger: silentLogger(), auth });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 10; i++) statuses.push((await raw(server.port, 'GET', '/metrics', basicAuth('admin', `guess${i}`))).status);
      expect(statuses).toEqual(Array(10).fill(401));
      const blocked = await raw(server.port, 'GET', '/metrics', basicAuth('admin', 'guess10'));
      expect(blocked.status).toBe(429);
      expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(50);
      expect(JSON.parse(blocked.body).error).toMatch(/^too many failed logins from this address; try again in \d+ s$/);
      expect((await raw(server.port, 'GET', '/metrics', basicAuth())).status).toBe(429);
      const form = await raw(
        server.port,
        'POST',
        '/login',
        { 'content-type': 'application/x-www-form-urlencoded' },
        `username=admin&password=${TEST_PASSWORD}`,
      );
      expect(form.status).toBe(429);
      expect((await raw(server.port, 'GET', '/healthz')).status).toBe(200);
    } finally {
      await server.close();
      cleanup();
    }
  });
});

describe('the password when none is configured', () => {
  it('is generated into <state_dir>/http-password (mode 0600) on the first start, logged once by its path, never itself; kept on the next start', () => {
    const { dir, cleanup } = tempDir('auth-gen');
    try {
      const state = join(dir, 'state', 'nested');
      const first = capture();
      const a = createAuth({ ...TEST_AUTH, password: null }, state, first.logger);
      const file = join(state, 'http-password');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const pw = readFileSync(file, 'utf8').trim();
      expect(pw).toMatch(/^[A-Za-z0-9_-]{24}$/);
      expect(a.passwordSource).toBe(file);
      const lines = first.text().trim().split('\n');
      expect(lines.filter((l) => l.includes('http-password'))).toHaveLength(1);
      expect(first.text()).toContain(`generated one into ${file} (mode 0600): log in as \\"admin\\"`);
      expect(first.text()).not.toContain(pw);
      const second = capture();
      createAuth({ ...TEST_AUTH, password: null }, state, second.logger);
      expect(readFileSync(file, 'utf8').trim()).toBe(pw);
      expect(second.text()).not.toContain('http-password');
    } finally {
      cleanup();
    }
  });

  it('password_file is read (trailing newline dropped); a missing one is one config error; disabled auth warns at start', () => {
    const { dir, cleanup } = tempDir('auth-file');
    try {
      const file = join(dir, 'pw');
      writeFileSync(file, 's3cret\n');
      const a = createAuth({ ...TEST_AUTH, password: null, password_file: file }, join(dir, 'state'), silentLogger());
      expect(a.passwordSource).toBe(file);
      expect(existsSync(join(dir, 'state', 'http-password'))).toBe(false);
      expect(() => createAuth({ ...TEST_AUTH, password: null, password_file: join(dir, 'gone') }, join(dir, 'state'), silentLogger())).toThrow(
        `http.auth.password_file ${join(dir, 'gone')}: file not found (check the path)`,
      );
      const log = capture();
      const off = createAuth({ ...TEST_AUTH, enabled: false }, join(dir, 'off'), log.logger);
      expect(off.enabled).toBe(false);
      expect(off.rtsp).toBeNull();
      expect(log.text()).toContain('"level":"warn"');
      expect(log.text()).toContain('http.auth.enabled is false: the HTTP API, /metrics and the RTSP streams are open');
      expect(existsSync(join(dir, 'off'))).toBe(false);
    } finally {
      cleanup();
    }
  });

  it('open_metrics opens /metrics only', async () => {
    const { dir, cleanup } = tempDir('auth-open');
    const auth = createAuth({ ...TEST_AUTH, open_metrics: true }, join(dir, 'state'), silentLogger());
    const server = await HttpServer.listen({ host: '127.0.0.1', port: 0, view, logger: silentLogger(), auth });
    try {
      expect((await raw(server.port, 'GET', '/metrics')).status).toBe(200);
      expect((await raw(server.port, 'GET', '/calibration/capture')).status).toBe(401);
    } finally {
      await server.close();
      cleanup();
    }
  });
});

describe('one set of credentials for HTTP and RTSP', () => {
  it('wrong passwords over HTTP count for RTSP too: the address is blocked on both', async () => {
    const { dir, cleanup } = tempDir('auth-shared');
    const auth = createAuth(TEST_AUTH, join(dir, 'state'), silentLogger());
    const server = await HttpServer.listen({ host: '127.0.0.1', port: 0, view, logger: silentLogger(), auth });
    try {
      const basic = (pw: string) => `Basic ${Buffer.from(`admin:${pw}`).toString('base64')}`;
      expect(auth.rtsp?.check('DESCRIBE', 'rtsp://h/cam', basic(TEST_PASSWORD), '127.0.0.1')).toEqual({ ok: true });
      for (let i = 0; i < 10; i++) await raw(server.port, 'GET', '/metrics', basicAuth('admin', `guess${i}`));
      const r = auth.rtsp?.check('DESCRIBE', 'rtsp://h/cam', basic(TEST_PASSWORD), '127.0.0.1');
      expect(r?.ok).toBe(false);
      expect((r as { status: string }).status).toBe('403 Forbidden');
      // another address is not affected
      expect(auth.rtsp?.check('DESCRIBE', 'rtsp://h/cam', basic(TEST_PASSWORD), '10.9.8.7')).toEqual({ ok: true });
    } finally {
      await server.close();
      cleanup();
    }
  });

  it('a reload (SIGHUP) with a new http.auth.password takes effect on HTTP at once; the old one is refused', async () => {
    const { dir, cleanup } = tempDir('auth-reload');
    const port = await freePort();
    const clip = makeTestVideo(join(dir, 'clip.mp4'), { width: 64, height: 48, frames: 20, fps: 10 });
    const cfg = join(dir, 'config.yaml');
    const write = (pw: string) =>
      writeFileSync(
        cfg,
        `model: {path: ${MODEL}, threads: 1}\nstate_dir: ${join(dir, 'state')}\ncameras:\n  cam: {source: ${clip}, loop: true, record: {enabled: false}}\nmqtt: {enabled: false}\nrtsp_server: {enabled: false}\nhttp: {host: 127.0.0.1, port: ${port}, auth: {password: ${pw}}}\n`,
      );
    write('first-pw');
    const proc = spawn(process.execPath, [CLI, 'run', '-c', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
    const status = async (pw: string) => (await raw(port, 'GET', '/metrics', basicAuth('admin', pw))).status;
    try {
      await until(() => stdout.includes('"msg":"running"'), 60_000, 'the daemon to run');
      expect(await status('first-pw')).toBe(200);
      write('second-pw');
      proc.kill('SIGHUP');
      await until(() => stdout.includes('config reloaded'), 30_000, 'the reload');
      let now = 0;
      for (let i = 0; i < 50 && now !== 200; i++) {
        now = await status('second-pw').catch(() => 0);
        if (now !== 200) await new Promise((r) => setTimeout(r, 200));
      }
      expect(now).toBe(200);
      expect(await status('first-pw')).toBe(401);
    } finally {
      proc.kill('SIGTERM');
      expect(await exited).toBe(0);
      cleanup();
    }
  }, 120_000);
});
