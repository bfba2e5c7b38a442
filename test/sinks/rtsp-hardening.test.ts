/**
 * The RTSP server against the requests of a security review: each test sends the exact bad input
 * to a real server on a loopback port, then checks that the server still serves a normal client.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AccessUnit } from '../../daemon/media/h264.js';
import { RtspServer, type RtspServerOptions, type RtspStream } from '../../daemon/sinks/rtsp-server.js';
import { tempDir } from '../support/videos.js';
import { testAccessUnits } from '../support/h264-units.js';

const { dir, cleanup } = tempDir('rtsp-hardening');
afterAll(cleanup);

let aus: AccessUnit[] = [];
beforeAll(() => {
  aus = testAccessUnits(dir);
});

/** Anything that escapes into the event loop fails the test that caused it. */
const escaped: unknown[] = [];
const onEscape = (err: unknown) => escaped.push(err);
beforeAll(() => {
  process.on('unhandledRejection', onEscape);
  process.on('uncaughtException', onEscape);
});
afterAll(() => {
  process.off('unhandledRejection', onEscape);
  process.off('uncaughtException', onEscape);
});

const servers: RtspServer[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) await s.close();
  expect(escaped).toEqual([]);
});

async function startServer(opts: RtspServerOptions = {}): Promise<{ server: RtspServer; stream: RtspStream; url: string }> {
  const server = new RtspServer(opts);
  servers.push(server);
  await server.listen(0, '127.0.0.1');
  const stream = server.mount('cam');
  stream.push(aus[0], 0); // parameter sets known, the camera is streaming
  return { server, stream, url: `rtsp://127.0.0.1:${server.port}/cam` };
}

/** A raw TCP connection: writes exact bytes, reads replies and interleaved packets. */
class Raw {
  buf = Buffer.alloc(0);
  closed = false;
  private waiters: Array<() => void> = [];
  constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }
  private wake() {
    for (const w of this.waiters.splice(0)) w();
  }
  static open(port: number): Promise<Raw> {
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => resolve(new Raw(s)));
      sockets.push(s);
      s.once('error', reject);
    });
  }
  send(text: string | Buffer): void {
    this.socket.write(text);
  }
  /** Waits for `cond`, up to `ms`. */
  async until(cond: () => boolean, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
  /** The next reply (skipping interleaved packets): status code, headers, body. */
  async reply(ms = 5000): Promise<{ status: number; headers: Map<string, string>; body: string }> {
    let out: { status: number; headers: Map<string, string>; body: string } | null = null;
    await this.until(() => {
      while (this.buf.length >= 4 && this.buf[0] === 0x24) {
        const len = this.buf.readUInt16BE(2);
        if (this.buf.length < 4 + len) return false;
        this.buf = this.buf.subarray(4 + len);
      }
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) {
        if (this.closed) throw new Error('closed without a reply');
        return false;
      }
      const head = this.buf.subarray(0, end).toString().split('\r\n');
      const headers = new Map(head.slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()] as [string, string]));
      const len = Number(headers.get('content-length') ?? 0);
      if (this.buf.length < end + 4 + len) return false;
      out = { status: Number(head[0].split(' ')[1]), headers, body: this.buf.subarray(end + 4, end + 4 + len).toString() };
      this.buf = this.buf.subarray(end + 4 + len);
      return true;
    }, ms);
    return out as unknown as { status: number; headers: Map<string, string>; body: string };
  }
  async request(method: string, url: string, headers: Record<string, string> = {}, cseq = 1) {
    this.send([`${method} ${url} RTSP/1.0`, `CSeq: ${cseq}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)].join('\r\n') + '\r\n\r\n');
    return this.reply();
  }
}

/** A well-behaved client: OPTIONS, DESCRIBE, SETUP (TCP), PLAY, then it receives the pictures pushed. */
async function normalClientWorks(server: RtspServer, stream: RtspStream, url: string): Promise<void> {
  const c = await Raw.open(server.port);
  try {
    expect((await c.request('OPTIONS', url)).status).toBe(200);
    const d = await c.request('DESCRIBE', url, {}, 2);
    expect(d.status).toBe(200);
    expect(d.body).toContain('sprop-parameter-sets=');
    const setup = await c.request('SETUP', `${url}/trackID=0`, { Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1' }, 3);
    expect(setup.status).toBe(200);
    const session = (setup.headers.get('session') ?? '').split(';')[0];
    expect((await c.request('PLAY', url, { Session: session }, 4)).status).toBe(200);
    for (let i = 10; i < 20; i++) stream.push(aus[i], Date.now() / 1000 + i / 10);
    await c.until(() => c.buf.length > 1000 && c.buf[0] === 0x24);
  } finally {
    c.socket.destroy();
  }
}

describe('RTSP server hardening (bad requests on a real server)', () => {
  it('answers 400 to a URL with bad percent-encoding (DESCRIBE rtsp://HOST:PORT/%zz) and keeps serving', async () => {
    const { server, stream, url } = await startServer();
    const c = await Raw.open(server.port);
    c.send(`DESCRIBE rtsp://127.0.0.1:${server.port}/%zz RTSP/1.0\r\nCSeq: 7\r\n\r\n`);
    const r = await c.reply();
    expect(r.status).toBe(400);
    expect(r.headers.get('cseq')).toBe('7');
    // the same connection still works, and so does a new one
    expect((await c.request('OPTIONS', url, {}, 8)).status).toBe(200);
    for (const m of ['SETUP', 'PLAY']) expect((await c.request(m, `rtsp://127.0.0.1:${server.port}/%E0%A4%A/trackID=0`, {}, 9)).status).toBe(400);
    await new Promise((r) => setTimeout(r, 100)); // an escaped rejection would be reported by now
    await normalClientWorks(server, stream, url);
  });

  it('answers 461 to UDP client ports it cannot send to (99999, 0, odd, reversed range) and keeps serving', async () => {
    // ten SETUPs in a row: above the default 10 per second (tested below)
    const { server, stream, url } = await startServer({ maxSetupsPerSecond: 1000 });
    const c = await Raw.open(server.port);
    let cseq = 1;
    for (const ports of ['99999', '99999-100000', '0', '0-1', '5001-5000', '5001', '5000-5003', '65535', '65534-65535x', '-5000']) {
      const r = await c.request('SETUP', `${url}/trackID=0`, { Transport: `RTP/AVP;unicast;client_port=${ports}` }, cseq++);
      expect([ports, r.status]).toEqual([ports, 461]);
    }
    // PLAY without a transport is refused (no session), and a frame pushed now sends nothing anywhere
    expect((await c.request('PLAY', url, {}, cseq++)).status).toBe(455);
    stream.push(aus[10], 1);
    await new Promise((r) => setTimeout(r, 100));
    expect(c.closed).toBe(false);
    // a valid even port still works on the same connection
    const ok = await c.request('SETUP', `${url}/trackID=0`, { Transport: 'RTP/AVP;unicast;client_port=5000-5001' }, cseq++);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('transport')).toMatch(/client_port=5000-5001;server_port=/);
    await normalClientWorks(server, stream, url);
  });

  it('answers 400 and closes on a negative, non-numeric or oversized Content-Length (OPTIONS * with Content-Length: -43 froze the event loop)', async () => {
    const { server, stream, url } = await startServer();
    for (const cl of ['-43', 'abc', '1e3', '0x10', '99999999999', String(64 * 1024 + 1)]) {
      const c = await Raw.open(server.port);
      c.send(`OPTIONS * RTSP/1.0\r\nCSeq: 3\r\nContent-Length: ${cl}\r\n\r\n`);
      const r = await c.reply();
      expect([cl, r.status, r.headers.get('cseq')]).toEqual([cl, 400, '3']);
      await c.until(() => c.closed);
    }
    // the event loop is free: a timer fires on time
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 20));
    expect(Date.now() - t0).toBeLessThan(500);
    // a valid body is read and skipped
    const c = await Raw.open(server.port);
    c.send(`SET_PARAMETER ${url} RTSP/1.0\r\nCSeq: 1\r\nContent-Length: 5\r\n\r\nhello`);
    expect((await c.reply()).status).toBe(200);
    expect((await c.request('OPTIONS', url, {}, 2)).status).toBe(200);
    await normalClientWorks(server, stream, url);
  });

  it('caps a request body at 64 KB: a huge Content-Length with a streamed body is refused, not buffered', async () => {
    const { server, stream, url } = await startServer();
    // a huge Content-Length is refused at once, before any of its body is read
    const c = await Raw.open(server.port);
    c.send(`SET_PARAMETER ${url} RTSP/1.0\r\nCSeq: 1\r\nContent-Length: 1000000000\r\n\r\n`);
    expect((await c.reply()).status).toBe(400);
    await c.until(() => c.closed);
    // bytes streamed with no end of a request head: closed after 16 KB, memory stays flat
    const before = process.memoryUsage().rss;
    const junk = await Raw.open(server.port);
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    let sent = 0;
    while (!junk.closed && sent < 64 * 1024 * 1024) {
      if (!junk.socket.write(chunk)) await new Promise((r) => setTimeout(r, 5));
      sent += chunk.length;
    }
    await junk.until(() => junk.closed);
    expect(sent).toBeLessThan(64 * 1024 * 1024);
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
    // a body of exactly 64 KB is fine, and the connection goes on
    const ok = await Raw.open(server.port);
    ok.send(Buffer.concat([Buffer.from(`SET_PARAMETER ${url} RTSP/1.0\r\nCSeq: 1\r\nContent-Length: ${64 * 1024}\r\n\r\n`), Buffer.alloc(64 * 1024, 0x42)]));
    expect((await ok.reply()).status).toBe(200);
    expect((await ok.request('OPTIONS', url, {}, 2)).status).toBe(200);
    await normalClientWorks(server, stream, url);
  });

  it('removes a DESCRIBE waiter of a camera that is not streaming on timeout (503) and when its client leaves; at most 32 wait per camera', async () => {
    const { server, stream, url } = await startServer();
    const idle = server.mount('idle');
    const idleUrl = `rtsp://127.0.0.1:${server.port}/idle`;
    // clients that ask and leave before the answer: their waiters go with them
    const leavers = await Promise.all(Array.from({ length: 10 }, () => Raw.open(server.port)));
    for (const c of leavers) c.send(`DESCRIBE ${idleUrl} RTSP/1.0\r\nCSeq: 1\r\n\r\n`);
    await leavers[0].until(() => idle.waiting === 10);
    for (const c of leavers) c.socket.destroy();
    await leavers[0].until(() => idle.waiting === 0, 1000);
    // floods of pipelined DESCRIBEs on 10 connections: at most 4 wait per connection and 32 per camera,
    // the others are answered 503 at once
    const floods = await Promise.all(Array.from({ length: 10 }, () => Raw.open(server.port)));
    for (const f of floods) f.send(Array.from({ length: 20 }, (_, i) => `DESCRIBE ${idleUrl} RTSP/1.0\r\nCSeq: ${i}\r\n\r\n`).join(''));
    const replies = () => floods.reduce((n, f) => n + f.buf.toString().split('RTSP/1.0 503').length - 1, 0);
    await floods[0].until(() => replies() >= 200 - 32, 2000);
    expect(idle.waiting).toBe(32);
    // the 32 that waited are answered 503 after the wait (3 s), and nothing is left waiting
    await floods[0].until(() => replies() === 200, 6000);
    expect(idle.waiting).toBe(0);
    expect(stream.waiting).toBe(0);
    await normalClientWorks(server, stream, url);
  });

  it('serves at most max_clients connections: one more is answered 453 Not Enough Bandwidth and closed, a flood is closed', async () => {
    const { server, stream, url } = await startServer({ maxClients: 2 });
    const a = await Raw.open(server.port);
    const b = await Raw.open(server.port);
    expect((await a.request('OPTIONS', url)).status).toBe(200);
    expect((await b.request('OPTIONS', url)).status).toBe(200);
    const extra = await Raw.open(server.port);
    const r = await extra.request('OPTIONS', url, {}, 5);
    expect([r.status, r.headers.get('cseq')]).toEqual([453, '5']);
    await extra.until(() => extra.closed);
    const flood = await Promise.all(Array.from({ length: 50 }, () => Raw.open(server.port)));
    await flood[0].until(() => flood.every((c) => c.closed), 5000); // answered or not, every one is closed
    expect(server.clients.size).toBe(2);
    expect(server.refused).toBe(51);
    b.socket.destroy();
    await a.until(() => server.clients.size === 1);
    await normalClientWorks(server, stream, url);
  });

  it('accepts at most max_setups_per_second SETUPs a second (all clients together): more are answered 503 with Retry-After, then setups work again', async () => {
    const { server, stream, url } = await startServer({ maxSetupsPerSecond: 5, maxClients: 32 });
    const clients: Raw[] = [];
    for (let i = 0; i < 20; i++) clients.push(await Raw.open(server.port));
    // twenty SETUPs sent at once (the connections are open already)
    for (const c of clients) c.send(`SETUP ${url}/trackID=0 RTSP/1.0\r\nCSeq: 1\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n`);
    const replies = await Promise.all(clients.map((c) => c.reply()));
    const statuses = replies.map((r) => r.status);
    for (const r of replies) if (r.status === 503) expect(r.headers.get('retry-after')).toBe('1');
    // 5 at once, plus 5 a second while they come in (well under a second here even when loaded)
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(5);
    expect(statuses.filter((s) => s === 503).length).toBeGreaterThanOrEqual(8);
    expect(statuses.filter((s) => s !== 200 && s !== 503)).toEqual([]);
    expect(server.setupsRefused).toBe(statuses.filter((s) => s === 503).length);
    for (const c of clients) c.socket.destroy();
    await new Promise((r) => setTimeout(r, 1200));
    await normalClientWorks(server, stream, url);
  });

  it('closes a connection that sets up and never plays (30 s by default), not one that plays', async () => {
    const { server, stream, url } = await startServer({ notPlayingTimeoutMs: 300 });
    const idle = await Raw.open(server.port);
    expect((await idle.request('SETUP', `${url}/trackID=0`, { Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1' })).status).toBe(200);
    const player = await Raw.open(server.port);
    const setup = await player.request('SETUP', `${url}/trackID=0`, { Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1' });
    expect((await player.request('PLAY', url, { Session: (setup.headers.get('session') ?? '').split(';')[0] }, 2)).status).toBe(200);
    await idle.until(() => idle.closed, 2000);
    await new Promise((r) => setTimeout(r, 400));
    expect(player.closed).toBe(false);
    expect(server.clients.size).toBe(1);
    await normalClientWorks(server, stream, url);
  });

  it('a TCP client that does not read loses its own pictures (counted); its send buffer stays bounded, others keep receiving', async () => {
    const { server, stream, url } = await startServer();
    server.maxClientBacklog = 64 * 1024;
    const slow = await Raw.open(server.port);
    const setup = await slow.request('SETUP', `${url}/trackID=0`, { Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1' });
    expect((await slow.request('PLAY', url, { Session: (setup.headers.get('session') ?? '').split(';')[0] }, 2)).status).toBe(200);
    slow.socket.pause(); // stops reading: the kernel buffers fill, then the server's
    const client = [...stream.clients][0];
    const biggest = Math.max(...aus.map((au) => au.nals.reduce((n, x) => n + x.length + 100, 0)));
    let maxBacklog = 0;
    const rss = process.memoryUsage().rss;
    for (let i = 0; i < 4000; i++) {
      stream.push(aus[i % 20], i / 10);
      maxBacklog = Math.max(maxBacklog, client.backlog);
      if (i % 50 === 0) await new Promise((r) => setImmediate(r));
    }
    expect(server.skipped).toBeGreaterThan(1000);
    expect(client.skipped).toBeGreaterThan(1000);
    expect(maxBacklog).toBeLessThanOrEqual(server.maxClientBacklog + biggest);
    expect(process.memoryUsage().rss - rss).toBeLessThan(64 * 1024 * 1024);
    // a client that reads is served in the meantime; the slow one is still connected (until 30 s behind)
    await normalClientWorks(server, stream, url);
    expect(slow.closed).toBe(false);
  });

  it('a client that sends requests and never reads the replies stops being read, it does not grow memory', async () => {
    const { server, stream, url } = await startServer();
    server.maxClientBacklog = 16 * 1024;
    const c = await Raw.open(server.port);
    c.socket.pause();
    const burst = Buffer.from(`OPTIONS ${url} RTSP/1.0\r\nCSeq: 1\r\n\r\n`.repeat(1000));
    let written = 0;
    const t0 = Date.now();
    while (Date.now() - t0 < 1500) {
      if (c.socket.write(burst)) written += burst.length;
      else await new Promise((r) => setTimeout(r, 10));
    }
    const client = [...server.clients][0] as unknown as { backlog: number };
    expect(client.backlog).toBeLessThan(2 * 16 * 1024 + 64 * 1024);
    expect(written).toBeLessThan(32 * 1024 * 1024); // the server stopped reading: only the kernel's buffers took more
    await normalClientWorks(server, stream, url);
  });
});
