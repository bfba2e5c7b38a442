/**
 * What an RTSP client sends, split into requests (RFC 2326 section 6) and interleaved binary
 * packets (section 10.12), with hard limits: a request head of at most `MAX_HEAD` bytes, a body of
 * at most `MAX_BODY` bytes (RTSP clients send tiny bodies, if any), a Content-Length that is a
 * plain decimal number. Bytes are kept in one growing buffer (no copy of everything per chunk).
 */

/** the request line and headers */
export const MAX_HEAD = 16 * 1024;
/** a request's body */
export const MAX_BODY = 64 * 1024;
/** what may wait unparsed: one head, one body, one interleaved packet */
const MAX_PENDING = MAX_HEAD + 4 + MAX_BODY + 4 + 0xffff;

export interface RtspRequest {
  method: string;
  url: string;
  headers: Map<string, string>;
}

/** `request`: one whole request; `bad`: answer 400 and close (the framing is lost); null: more bytes needed */
export type RtspInputItem = { kind: 'request'; request: RtspRequest } | { kind: 'bad'; why: string; headers: Map<string, string> } | null;

export class RtspInput {
  private buf = Buffer.allocUnsafe(4096);
  private start = 0;
  private end = 0;
  /** where to look for the end of the head next (what was searched holds no CRLFCRLF) */
  private scanned = 0;

  get length(): number {
    return this.end - this.start;
  }

  /** Appends received bytes; false when more is waiting than any valid input can hold (not RTSP). */
  push(d: Buffer): boolean {
    if (this.length + d.length > MAX_PENDING) return false;
    if (this.end + d.length > this.buf.length) {
      const need = this.length + d.length;
      if (need <= this.buf.length && this.start > 0) {
        this.buf.copy(this.buf, 0, this.start, this.end); // room at the front: move what is left there
      } else {
        const grown = Buffer.allocUnsafe(Math.min(MAX_PENDING, Math.max(need, this.buf.length * 2)));
        this.buf.copy(grown, 0, this.start, this.end);
        this.buf = grown;
      }
      this.scanned -= this.start;
      this.end -= this.start;
      this.start = 0;
    }
    d.copy(this.buf, this.end);
    this.end += d.length;
    return true;
  }

  private consume(n: number): void {
    this.start += n;
    this.scanned = this.start;
    if (this.start === this.end) this.start = this.end = this.scanned = 0;
  }

  /** The next request, skipping interleaved packets (the client's RTCP reports). */
  next(): RtspInputItem {
    for (;;) {
      if (this.length === 0) return null;
      if (this.buf[this.start] === 0x24) {
        if (this.length < 4) return null;
        const len = this.buf.readUInt16BE(this.start + 2);
        if (this.length < 4 + len) return null;
        this.consume(4 + len);
        continue;
      }
      const from = Math.max(this.start, this.scanned - 3);
      const found = this.buf.subarray(0, this.end).indexOf('\r\n\r\n', from);
      if (found < 0) {
        this.scanned = this.end;
        if (this.length > MAX_HEAD) return { kind: 'bad', why: 'request head too large', headers: new Map() };
        return null;
      }
      const headEnd = found - this.start;
      if (headEnd > MAX_HEAD) return { kind: 'bad', why: 'request head too large', headers: new Map() };
      const head = this.buf.toString('latin1', this.start, found);
      const lines = head.split('\r\n');
      const headers = new Map<string, string>();
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
      const cl = headers.get('content-length');
      let bodyLength = 0;
      if (cl !== undefined) {
        if (!/^\d{1,9}$/.test(cl)) return { kind: 'bad', why: `bad Content-Length "${cl.slice(0, 40)}"`, headers };
        bodyLength = Number(cl);
        if (bodyLength > MAX_BODY) return { kind: 'bad', why: `body of ${bodyLength} bytes (at most ${MAX_BODY})`, headers };
      }
      if (this.length < headEnd + 4 + bodyLength) {
        this.scanned = found; // the head is complete: wait for its body
        return null;
      }
      this.consume(headEnd + 4 + bodyLength);
      const [method = '', url = ''] = lines[0].split(' ');
      return { kind: 'request', request: { method: method.toUpperCase(), url, headers } };
    }
  }
}
