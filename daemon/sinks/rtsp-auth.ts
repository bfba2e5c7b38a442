import { createHash, createHmac, randomBytes } from 'node:crypto';
import { LoginGuard, sameSecret } from '../core/login-guard.js';

/**
 * RTSP client authentication (RFC 2326 section 16.7 / RFC 7616 with MD5, the digest every RTSP
 * client speaks; and Basic, RFC 7617). The RTSP server asks it about each request of a connection
 * that has not authenticated yet; once one request of a connection has passed, the connection is
 * trusted (the TCP connection is the session).
 *
 * Digest nonces are `<expiry ms, hex>-<HMAC-SHA256 of the expiry under a key made at start>`: no
 * table of nonces to keep, and a nonce cannot be made up or stretched. An expired nonce with a
 * correct response is answered 401 with `stale=true`, so the client retries with a new one
 * without asking its user; it does not count as a failure.
 */

export type RtspAuthResult = { ok: true } | { ok: false; status: string; headers: Array<[string, string]> };

/** What the RTSP server calls: one request of a connection that has not authenticated yet. */
export interface RtspAuthenticator {
  check(method: string, uri: string, authorization: string | undefined, address: string): RtspAuthResult;
}

export interface RtspDigestAuthOptions {
  username: string;
  password: string;
  realm?: string;
  /** failed logins per address (shared with HTTP when given) */
  guard?: LoginGuard;
  /** how long a nonce is good for (default 5 minutes) */
  nonceTtlMs?: number;
  now?: () => number;
}

const md5 = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');

/** `Digest username="a", realm="b", nonce=c` → { username: 'a', realm: 'b', nonce: 'c' } (names lower-cased). */
export function parseAuthParams(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  // each parameter starts the text or follows a comma: no backtracking over a long run of letters
  const re = /(?:^|,)\s*([a-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))/gi;
  let m: RegExpExecArray | null;
  let n = 0;
  while ((m = re.exec(text)) !== null && n++ < 32) out[m[1].toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3];
  return out;
}

export class RtspDigestAuth implements RtspAuthenticator {
  readonly realm: string;
  private readonly key = randomBytes(32);
  private readonly ttl: number;
  private readonly now: () => number;
  readonly guard: LoginGuard;
  private readonly ha1: string;

  constructor(private readonly opts: RtspDigestAuthOptions) {
    this.realm = opts.realm ?? 'trt-detect';
    this.ttl = opts.nonceTtlMs ?? 5 * 60_000;
    this.now = opts.now ?? Date.now;
    this.guard = opts.guard ?? new LoginGuard();
    this.ha1 = md5(`${opts.username}:${this.realm}:${opts.password}`);
  }

  private nonce(): string {
    const expiry = (this.now() + this.ttl).toString(16);
    return `${expiry}-${createHmac('sha256', this.key).update(expiry).digest('hex').slice(0, 32)}`;
  }

  /** 'ok', 'stale' (made by us, expired) or 'bad' (not ours). */
  private nonceState(nonce: string): 'ok' | 'stale' | 'bad' {
    const m = /^([0-9a-f]{1,13})-([0-9a-f]{32})$/.exec(nonce);
    if (!m) return 'bad';
    const mac = createHmac('sha256', this.key).update(m[1]).digest('hex').slice(0, 32);
    if (!sameSecret(mac, m[2])) return 'bad';
    return parseInt(m[1], 16) < this.now() ? 'stale' : 'ok';
  }

  private challenge(stale = false): RtspAuthResult {
    return {
      ok: false,
      status: '401 Unauthorized',
      headers: [
        ['WWW-Authenticate', `Digest realm="${this.realm}", nonce="${this.nonce()}", algorithm=MD5, qop="auth"${stale ? ', stale=TRUE' : ''}`],
        ['WWW-Authenticate', `Basic realm="${this.realm}"`],
      ],
    };
  }

  check(method: string, uri: string, authorization: string | undefined, address: string): RtspAuthResult {
    const wait = this.guard.blockedFor(address);
    if (wait > 0) return { ok: false, status: '403 Forbidden', headers: [['Retry-After', String(wait)]] };
    if (!authorization || authorization.length > 4096) return this.challenge();
    const space = authorization.indexOf(' ');
    const scheme = (space < 0 ? authorization : authorization.slice(0, space)).toLowerCase();
    const rest = space < 0 ? '' : authorization.slice(space + 1).trim();
    let good: boolean;
    if (scheme === 'basic') {
      const decoded = Buffer.from(rest, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const user = colon < 0 ? decoded : decoded.slice(0, colon);
      const pass = colon < 0 ? '' : decoded.slice(colon + 1);
      good = [sameSecret(user, this.opts.username), sameSecret(pass, this.opts.password)].every(Boolean);
    } else if (scheme === 'digest') {
      const p = parseAuthParams(rest);
      const state = this.nonceState(p.nonce ?? '');
      if (state === 'bad' || (p.algorithm && p.algorithm.toUpperCase() !== 'MD5')) return this.challenge();
      const ha2 = md5(`${method}:${p.uri ?? ''}`);
      const expected = p.qop ? md5(`${this.ha1}:${p.nonce}:${p.nc ?? ''}:${p.cnonce ?? ''}:${p.qop}:${ha2}`) : md5(`${this.ha1}:${p.nonce}:${ha2}`);
      // the digest's uri must name what is asked for (an absolute URL, or the same path)
      const sameUri = p.uri === uri || (p.uri !== undefined && uri.replace(/^rtsps?:\/\/[^/]*/i, '') === p.uri.replace(/^rtsps?:\/\/[^/]*/i, ''));
      good = [sameSecret(p.username ?? '', this.opts.username), sameSecret((p.response ?? '').toLowerCase(), expected), sameUri].every(Boolean);
      if (good && state === 'stale') return this.challenge(true);
    } else {
      return this.challenge();
    }
    if (!good) {
      this.guard.failed(address);
      return this.challenge();
    }
    this.guard.succeeded(address);
    return { ok: true };
  }
}
