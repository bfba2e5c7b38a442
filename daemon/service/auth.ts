/**
 * Authentication of the HTTP endpoint (config `http.auth`, docs/http.md#authentication), and the
 * same credentials for RTSP clients.
 *
 * How to use it (the HTTP server and the web UI's routes):
 *
 *   const auth = createAuth(config.http.auth, config.state_dir, logger); // once per config
 *   // in a request handler, before anything but /healthz:
 *   if (!auth.gate(req, res)) return;          // answered: 401 / 403 / 429 (JSON, or a redirect to /login for a page)
 *   // or piecewise:
 *   auth.check(req)             // 'ok' | 'unauthorized' | 'limited' (Basic, Bearer or the session cookie)
 *   auth.requireSameOrigin(req) // false for a POST/PUT/PATCH/DELETE sent by another site's page
 *   auth.handleLogin(req, res)  // GET /login: the form; POST /login: form or JSON {username, password}
 *   auth.handleLogout(req, res) // POST /logout: ends the session, clears the cookie
 *   auth.rtsp                   // the RTSP server's authenticator (Digest + Basic), null when disabled
 *
 * What a client may send:
 * - `Authorization: Basic base64(user:password)` (curl -u, Prometheus `basic_auth`);
 * - `Authorization: Bearer <token>`: the token is the content of `<state_dir>/api-token`, random,
 *   made on the first start with auth on (mode 0600); delete the file and restart for a new one
 *   (Prometheus `authorization: {credentials_file: ...}`);
 * - the cookie `trt_detect_session` that POST /login sets: HttpOnly, SameSite=Strict, Path=/,
 *   12 hours, kept in memory (a restart logs everyone out; at most 256 at once, the oldest go).
 *   The daemon serves plain HTTP, so the cookie has no `Secure` flag, except when a TLS proxy in
 *   front says `X-Forwarded-Proto: https`.
 *
 * The password: `http.auth.password`, else the content of `http.auth.password_file`, else the
 * content of `<state_dir>/http-password`, generated on the first start (mode 0600) and announced
 * once in the log by its path (never the password itself).
 *
 * Passwords and tokens are compared in constant time (core/login-guard.ts sameSecret). Wrong
 * credentials count per client address (HTTP and RTSP together): 10 within a minute block that
 * address for a minute (429 with Retry-After; RTSP 403), right or wrong.
 *
 * Requests that change something (POST, PUT, PATCH, DELETE) are refused with 403 when a browser
 * says they come from another site: `Sec-Fetch-Site` other than same-origin/none, or an `Origin`
 * whose host is not the request's `Host`. Clients that send neither (curl, scripts) pass.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { HttpAuthConfig } from '../config/index.js';
import { ConfigError, errorMessage } from '../core/errors.js';
import { makeDirs } from '../core/files.js';
import type { Logger } from '../core/log.js';
import { LoginGuard, sameSecret } from '../core/login-guard.js';
import { addSecret } from '../core/secrets.js';
import { RtspDigestAuth, type RtspAuthenticator } from '../sinks/rtsp-auth.js';

export const REALM = 'trt-detect';
export const SESSION_COOKIE = 'trt_detect_session';
export const PASSWORD_FILE = 'http-password';
export const TOKEN_FILE = 'api-token';
const SESSION_MS = 12 * 3600_000;
const MAX_SESSIONS = 256;
/** a login form or JSON body is tiny */
const MAX_LOGIN_BODY = 4096;
const LOGIN_BODY_TIMEOUT_MS = 10_000;

export type AuthCheck = 'ok' | 'unauthorized' | 'limited';

export interface Auth {
  readonly enabled: boolean;
  readonly username: string;
  /** /metrics without authentication (http.auth.open_metrics) */
  readonly openMetrics: boolean;
  /** where the password came from, for messages: 'http.auth.password', a file path */
  readonly passwordSource: string | null;
  /** the bearer token's file, null when there is none */
  readonly tokenFile: string | null;
  /** failed logins per address (HTTP and RTSP) */
  readonly guard: LoginGuard;
  /** the RTSP server's check of the same credentials; null while auth is disabled */
  readonly rtsp: RtspAuthenticator | null;
  check(req: IncomingMessage): AuthCheck;
  requireSameOrigin(req: IncomingMessage): boolean;
  /** check + requireSameOrigin; false = the request was answered (401/403/429) */
  gate(req: IncomingMessage, res: ServerResponse): boolean;
  handleLogin(req: IncomingMessage, res: ServerResponse): void;
  handleLogout(req: IncomingMessage, res: ServerResponse): void;
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The client's address for the failure table. */
function addressOf(req: IncomingMessage): string {
  return (req.socket.remoteAddress ?? '?').replace(/^::ffff:/i, '');
}

function cookie(req: IncomingMessage, name: string): string | null {
  const header = req.headers.cookie;
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/** Reads a small secret file (trailing newline dropped); null when it does not exist. */
function readSecret(file: string): string | null {
  try {
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/**
 * The content of `<dir>/<name>`, made with `bytes` random bytes (base64url) and mode 0600 when it
 * does not exist yet. `made` is true when this call wrote it.
 */
function stateSecret(dir: string, name: string, bytes: number): { value: string; file: string; made: boolean } {
  const file = join(dir, name);
  const existing = readSecret(file);
  if (existing !== null && existing !== '') {
    // a copy restored with a wider mode: narrow it again
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
    return { value: existing, file, made: false };
  }
  makeDirs(dir);
  const value = randomBytes(bytes).toString('base64url');
  writeFileSync(file, `${value}\n`, { mode: 0o600, flag: existing === null ? 'wx' : 'w' });
  chmodSync(file, 0o600);
  return { value, file, made: true };
}

function sendJson(req: IncomingMessage, res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(req.method === 'HEAD' ? undefined : text);
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A local path to go back to after logging in: `/x?y`, never `//host` or a URL. */
function safeNext(next: string | null | undefined): string {
  return next && /^\/(?![/\\])[^\s]*$/.test(next) && next.length < 2048 ? next : '/';
}

function loginPage(message: string, next: string, username: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>trt-detect: log in</title>
<style>body{font-family:system-ui,sans-serif;background:#111;color:#eee;display:flex;justify-content:center;margin-top:12vh}
form{background:#1d1d1d;padding:2em;border-radius:8px;min-width:18em}label{display:block;margin:.8em 0 .2em}
input{width:100%;padding:.5em;box-sizing:border-box}button{margin-top:1.2em;padding:.5em 1.5em}.msg{color:#f77}</style></head>
<body><form method="post" action="/login"><h1>trt-detect</h1>${message ? `<p class="msg">${escapeHtml(message)}</p>` : ''}
<input type="hidden" name="next" value="${escapeHtml(next)}">
<label for="u">User name</label><input id="u" name="username" autocomplete="username" value="${escapeHtml(username)}" required>
<label for="p">Password</label><input id="p" name="password" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Log in</button></form></body></html>
`;
}

function sendPage(req: IncomingMessage, res: ServerResponse, status: number, html: string, headers: Record<string, string> = {}): void {
  res.statusCode = status;
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'");
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Content-Length', Buffer.byteLength(html));
  res.end(req.method === 'HEAD' ? undefined : html);
}

/** A browser asking for a page (a navigation), not a script or an API client. */
function wantsPage(req: IncomingMessage): boolean {
  const mode = req.headers['sec-fetch-mode'];
  if (mode !== undefined && req.headers['sec-fetch-site'] !== undefined) return mode === 'navigate' && req.method === 'GET';
  return req.method === 'GET' && /\btext\/html\b/.test(req.headers.accept ?? '');
}

/** Reads a request body of at most `limit` bytes; rejects (and ends the connection) beyond it. */
function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) return reject(new Error('too large'));
    const parts: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => {
      reject(new Error('too slow'));
      req.destroy();
    }, LOGIN_BODY_TIMEOUT_MS);
    req.on('data', (d: Buffer) => {
      size += d.length;
      if (size > limit) {
        clearTimeout(timer);
        reject(new Error('too large'));
        req.destroy();
        return;
      }
      parts.push(d);
    });
    req.on('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(parts).toString('utf8'));
    });
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

class DisabledAuth implements Auth {
  readonly enabled = false;
  readonly openMetrics = true;
  readonly passwordSource = null;
  readonly tokenFile = null;
  readonly guard = new LoginGuard();
  readonly rtsp = null;
  constructor(readonly username: string) {}
  check(): AuthCheck {
    return 'ok';
  }
  requireSameOrigin(req: IncomingMessage): boolean {
    return sameOrigin(req);
  }
  gate(req: IncomingMessage, res: ServerResponse): boolean {
    if (sameOrigin(req)) return true;
    sendJson(req, res, 403, { error: 'cross-site request refused (send it from the trt-detect page itself)' });
    return false;
  }
  handleLogin(req: IncomingMessage, res: ServerResponse): void {
    res.statusCode = 303;
    res.setHeader('Location', '/');
    res.end();
    req.resume();
  }
  handleLogout(req: IncomingMessage, res: ServerResponse): void {
    this.handleLogin(req, res);
  }
}

/** False for a request that changes something and that a browser says another site's page sent. */
function sameOrigin(req: IncomingMessage): boolean {
  if (!MUTATING.has(req.method ?? '')) return true;
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined) return site === 'same-origin' || site === 'none';
  const origin = req.headers.origin;
  if (origin === undefined) return true; // not a browser (curl, scripts): nothing to forge with
  try {
    const u = new URL(origin);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.host === (req.headers.host ?? '');
  } catch {
    return false; // "null" (a sandboxed frame, a file: page) or garbage
  }
}

class PasswordAuth implements Auth {
  readonly enabled = true;
  readonly guard = new LoginGuard();
  readonly rtsp: RtspAuthenticator;
  /** session id -> expiry (ms); insertion order = age */
  private readonly sessions = new Map<string, number>();

  constructor(
    readonly username: string,
    private readonly password: string,
    private readonly token: string | null,
    readonly passwordSource: string,
    readonly tokenFile: string | null,
    readonly openMetrics: boolean,
  ) {
    this.rtsp = new RtspDigestAuth({ username, password, realm: REALM, guard: this.guard });
  }

  private session(req: IncomingMessage): string | null {
    const id = cookie(req, SESSION_COOKIE);
    if (!id) return null;
    const expires = this.sessions.get(id);
    if (expires === undefined) return null;
    if (expires < Date.now()) {
      this.sessions.delete(id);
      return null;
    }
    return id;
  }

  private credentialsOk(user: string, pass: string): boolean {
    // both compared every time: the time does not say which one was wrong
    return [sameSecret(user, this.username), sameSecret(pass, this.password)].every(Boolean);
  }

  check(req: IncomingMessage): AuthCheck {
    const header = req.headers.authorization;
    if (header === undefined) return this.session(req) ? 'ok' : 'unauthorized';
    const address = addressOf(req);
    if (this.guard.blockedFor(address) > 0) return 'limited';
    const space = header.indexOf(' ');
    const scheme = header.slice(0, space < 0 ? header.length : space).toLowerCase();
    const value = space < 0 ? '' : header.slice(space + 1).trim();
    let good = false;
    if (scheme === 'basic') {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      good = colon >= 0 && this.credentialsOk(decoded.slice(0, colon), decoded.slice(colon + 1));
    } else if (scheme === 'bearer') {
      good = this.token !== null && sameSecret(value, this.token);
    }
    if (!good) {
      this.guard.failed(address);
      return 'unauthorized';
    }
    this.guard.succeeded(address);
    return 'ok';
  }

  requireSameOrigin(req: IncomingMessage): boolean {
    return sameOrigin(req);
  }

  gate(req: IncomingMessage, res: ServerResponse): boolean {
    const result = this.check(req);
    if (result === 'limited') {
      const wait = String(Math.max(1, this.guard.blockedFor(addressOf(req))));
      sendJson(req, res, 429, { error: `too many failed logins from this address; try again in ${wait} s` }, { 'Retry-After': wait });
      return false;
    }
    if (result === 'unauthorized') {
      if (wantsPage(req)) {
        res.statusCode = 303;
        res.setHeader('Location', `/login?next=${encodeURIComponent(safeNext(req.url))}`);
        res.setHeader('Cache-Control', 'no-store');
        res.end();
        return false;
      }
      // scripts of the web UI (Sec-Fetch-Mode cors/same-origin) get no Basic challenge: it would pop up the browser's dialog
      // (browsers send Sec-Fetch-Site with Sec-Fetch-Mode; Node's fetch sends the mode alone and gets the challenge)
      const fromPage = req.headers['sec-fetch-site'] !== undefined && req.headers['sec-fetch-mode'] !== 'navigate';
      sendJson(
        req,
        res,
        401,
        { error: 'authentication required (HTTP Basic, a bearer token, or log in at /login)' },
        fromPage ? {} : { 'WWW-Authenticate': `Basic realm="${REALM}", charset="UTF-8"` },
      );
      return false;
    }
    if (!sameOrigin(req)) {
      sendJson(req, res, 403, { error: 'cross-site request refused (send it from the trt-detect page itself)' });
      return false;
    }
    return true;
  }

  handleLogin(req: IncomingMessage, res: ServerResponse): void {
    const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
    if (req.method === 'GET' || req.method === 'HEAD') {
      if (this.session(req)) {
        res.statusCode = 303;
        res.setHeader('Location', safeNext(query.get('next')));
        res.end();
        return;
      }
      sendPage(req, res, 200, loginPage('', safeNext(query.get('next')), this.username));
      return;
    }
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'GET, HEAD, POST');
      sendJson(req, res, 405, { error: `method ${req.method} not allowed` });
      return;
    }
    const json = /^application\/json\b/i.test(req.headers['content-type'] ?? '');
    if (!sameOrigin(req)) {
      req.resume();
      sendJson(req, res, 403, { error: 'cross-site request refused (send it from the trt-detect page itself)' });
      return;
    }
    readBody(req, MAX_LOGIN_BODY).then(
      (body) => this.login(req, res, body, json),
      (err: unknown) => {
        if (res.headersSent || res.destroyed) return;
        res.setHeader('Connection', 'close');
        sendJson(req, res, 413, { error: `login request refused (${errorMessage(err)}; at most ${MAX_LOGIN_BODY} bytes)` });
      },
    );
  }

  private login(req: IncomingMessage, res: ServerResponse, body: string, json: boolean): void {
    let username = '';
    let password = '';
    let next = '/';
    if (json) {
      try {
        const v = JSON.parse(body) as { username?: unknown; password?: unknown };
        username = typeof v.username === 'string' ? v.username : '';
        password = typeof v.password === 'string' ? v.password : '';
      } catch {
        sendJson(req, res, 400, { error: 'the body is not JSON (send {"username": ..., "password": ...})' });
        return;
      }
    } else {
      const form = new URLSearchParams(body);
      username = form.get('username') ?? '';
      password = form.get('password') ?? '';
      next = safeNext(form.get('next'));
    }
    const address = addressOf(req);
    const wait = this.guard.blockedFor(address);
    if (wait > 0) {
      const message = `too many failed logins from this address; try again in ${wait} s`;
      if (json) sendJson(req, res, 429, { error: message }, { 'Retry-After': String(wait) });
      else sendPage(req, res, 429, loginPage(message, next, username), { 'Retry-After': String(wait) });
      return;
    }
    if (!this.credentialsOk(username, password)) {
      this.guard.failed(address);
      if (json) sendJson(req, res, 401, { error: 'wrong user name or password' });
      else sendPage(req, res, 401, loginPage('Wrong user name or password.', next, username));
      return;
    }
    this.guard.succeeded(address);
    const id = randomBytes(32).toString('hex');
    while (this.sessions.size >= MAX_SESSIONS) {
      const oldest = this.sessions.keys().next();
      if (oldest.done) break;
      this.sessions.delete(oldest.value);
    }
    this.sessions.set(id, Date.now() + SESSION_MS);
    const secure = req.headers['x-forwarded-proto'] === 'https' ? '; Secure' : '';
    res.setHeader('Set-Cookie', `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${SESSION_MS / 1000}${secure}`);
    if (json) {
      sendJson(req, res, 200, { ok: true, username: this.username });
      return;
    }
    res.statusCode = 303;
    res.setHeader('Location', next);
    res.setHeader('Cache-Control', 'no-store');
    res.end();
  }

  handleLogout(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      sendJson(req, res, 405, { error: `method ${req.method} not allowed (POST /logout)` });
      return;
    }
    if (!sameOrigin(req)) {
      sendJson(req, res, 403, { error: 'cross-site request refused (send it from the trt-detect page itself)' });
      return;
    }
    const id = cookie(req, SESSION_COOKIE);
    if (id) this.sessions.delete(id);
    res.setHeader('Set-Cookie', `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`);
    res.statusCode = 303;
    res.setHeader('Location', '/login');
    res.end();
  }

  /** sessions alive now (tests) */
  get sessionCount(): number {
    return this.sessions.size;
  }
}

/**
 * The authentication `settings` (config `http.auth`) ask for. Reads the password (file), or makes
 * one in `stateDir` on the first start and logs where it is, once; makes the bearer token file.
 * Throws ConfigError (exit 2) when a password file cannot be read or the state folder cannot be
 * written while it has to be. Disabled: a warning that the HTTP API and RTSP are open.
 */
export function createAuth(settings: HttpAuthConfig, stateDir: string, logger: Logger): Auth {
  if (!settings.enabled) {
    logger.warn('http.auth.enabled is false: the HTTP API, /metrics and the RTSP streams are open to anyone who reaches their ports');
    return new DisabledAuth(settings.username);
  }
  let password: string;
  let source: string;
  if (settings.password !== null) {
    password = settings.password;
    source = 'http.auth.password';
  } else if (settings.password_file !== null) {
    let text: string | null;
    try {
      text = readSecret(settings.password_file);
    } catch (err) {
      throw new ConfigError(
        `http.auth.password_file ${settings.password_file}: cannot read the file (${errorMessage(err)}) (check the path and its permissions)`,
      );
    }
    if (text === null) throw new ConfigError(`http.auth.password_file ${settings.password_file}: file not found (check the path)`);
    if (text === '') throw new ConfigError(`http.auth.password_file ${settings.password_file}: the file is empty (write the password into it)`);
    password = text;
    source = settings.password_file;
  } else {
    let made;
    try {
      made = stateSecret(stateDir, PASSWORD_FILE, 18);
    } catch (err) {
      throw new ConfigError(
        `http.auth: no password is configured and none can be kept in ${stateDir} (${errorMessage(err)}) (set http.auth.password_file, or state_dir to a folder this user may write)`,
      );
    }
    password = made.value;
    source = made.file;
    if (made.made)
      logger.warn(
        { file: made.file },
        `http.auth: no password configured; generated one into ${made.file} (mode 0600): log in as "${settings.username}" with the password in that file, or set http.auth.password_file`,
      );
  }
  let token: string | null = null;
  let tokenFile: string | null = null;
  try {
    const t = stateSecret(stateDir, TOKEN_FILE, 32);
    token = t.value;
    tokenFile = t.file;
    if (t.made) logger.info({ file: t.file }, `http.auth: bearer token for API clients generated into ${t.file} (mode 0600)`);
  } catch (err) {
    logger.warn(`http.auth: no bearer token (cannot write ${join(stateDir, TOKEN_FILE)}: ${errorMessage(err)}); API clients use HTTP Basic`);
  }
  addSecret(password);
  addSecret(token);
  return new PasswordAuth(settings.username, password, token, source, tokenFile, settings.open_metrics);
}
