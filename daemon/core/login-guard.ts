import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * What HTTP and RTSP authentication share: a constant-time comparison of secrets, and a bounded
 * table of failed logins per client address that blocks an address for a while after too many.
 */

/** `a === b` in time that does not depend on where they differ (both are hashed first, so lengths do not leak either). */
export function sameSecret(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb);
}

export interface LoginGuardOptions {
  /** failed logins an address may have within `windowMs` before it is blocked (default 10) */
  maxFailures?: number;
  /** the window failures are counted in, and how long a block lasts (default 60 s) */
  windowMs?: number;
  /** addresses remembered at once; the oldest entry goes when a new one comes (default 4096) */
  maxAddresses?: number;
  now?: () => number;
}

interface Entry {
  /** failures in the current window */
  failures: number;
  windowStart: number;
  /** blocked until this time (ms); 0 = not blocked */
  blockedUntil: number;
}

/**
 * Failed logins per client address. After `maxFailures` failures within `windowMs` the address is
 * blocked for `windowMs` (every attempt refused, right or wrong, so guessing gains nothing). The
 * table holds at most `maxAddresses` entries (a Map in insertion order: the oldest is dropped), so
 * a flood from many addresses costs bounded memory.
 */
export class LoginGuard {
  readonly maxFailures: number;
  readonly windowMs: number;
  readonly maxAddresses: number;
  private readonly now: () => number;
  private readonly table = new Map<string, Entry>();
  /** failed logins since start (all addresses) */
  failures = 0;
  /** attempts refused because their address was blocked */
  refused = 0;

  constructor(opts: LoginGuardOptions = {}) {
    this.maxFailures = opts.maxFailures ?? 10;
    this.windowMs = opts.windowMs ?? 60_000;
    this.maxAddresses = opts.maxAddresses ?? 4096;
    this.now = opts.now ?? Date.now;
  }

  /** Seconds until `address` may try again; 0 when it may try now. */
  blockedFor(address: string): number {
    const e = this.table.get(address);
    if (!e) return 0;
    const left = e.blockedUntil - this.now();
    if (left > 0) {
      this.refused++;
      return Math.ceil(left / 1000);
    }
    return 0;
  }

  /** Counts a wrong password from `address`. */
  failed(address: string): void {
    this.failures++;
    const now = this.now();
    let e = this.table.get(address);
    if (e && now - e.windowStart > this.windowMs && e.blockedUntil <= now) {
      this.table.delete(address);
      e = undefined;
    }
    if (!e) {
      while (this.table.size >= this.maxAddresses) {
        const oldest = this.table.keys().next();
        if (oldest.done) break;
        this.table.delete(oldest.value);
      }
      e = { failures: 0, windowStart: now, blockedUntil: 0 };
      this.table.set(address, e);
    }
    e.failures++;
    if (e.failures >= this.maxFailures) {
      e.blockedUntil = now + this.windowMs;
      e.failures = 0;
      e.windowStart = e.blockedUntil;
    }
  }

  /** A correct login: forgets the address's earlier failures. */
  succeeded(address: string): void {
    const e = this.table.get(address);
    if (e && e.blockedUntil <= this.now()) this.table.delete(address);
  }

  /** addresses in the table now */
  get size(): number {
    return this.table.size;
  }
}
