/**
 * The memory step's live viewer (daemon/bench/live-viewer.ts) against a stand-in of the daemon's
 * HTTP server: it logs in with JSON as the login page does, opens the camera's WebSocket with the
 * session cookie and the page's Origin, counts the codec string, the init segment and the
 * fragments, and connects again (logging in again when the session is refused) when dropped.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { LiveViewer, mp4BoxTypes } from '../../daemon/bench/live-viewer.js';
import { initSegment, mediaFragment } from '../../daemon/media/fmp4.js';
import { until } from '../support/mosquitto.js';

const box = (type: string, payload = Buffer.alloc(4)) => {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + payload.length);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, payload]);
};

describe('mp4BoxTypes', () => {
  it('lists the top-level boxes of a message, null for anything else', () => {
    expect(mp4BoxTypes(Buffer.concat([box('moof'), box('mdat', Buffer.alloc(100))]))).toEqual(['moof', 'mdat']);
    expect(mp4BoxTypes(initSegment({ avcC: Buffer.from([1, 0x64, 0, 0x1f, 0xff, 0xe0, 0, 0]), width: 64, height: 32, timescale: 90000 }))).toEqual(['ftyp', 'moov']);
    expect(mp4BoxTypes(Buffer.from('hello there'))).toBeNull();
    expect(mp4BoxTypes(Buffer.concat([box('moof'), Buffer.alloc(3)]))).toBeNull();
    expect(mp4BoxTypes(Buffer.alloc(0))).toBeNull();
  });
});

describe('LiveViewer', () => {
  let server: Server | null = null;
  let viewer: LiveViewer | null = null;
  afterEach(async () => {
    viewer?.stop();
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
    server = null;
  });

  it('logs in, reads codec + init + fragments, and connects again (with a new login when refused) after a drop', async () => {
    const sessions = new Set<string>();
    const logins: Array<{ username: string; password: string }> = [];
    const upgrades: Array<{ cookie: string | undefined; origin: string | undefined; url: string | undefined }> = [];
    const wss = new WebSocketServer({ noServer: true });
    const open: WebSocket[] = [];
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        const v = JSON.parse(body) as { username: string; password: string };
        logins.push(v);
        if (req.url !== '/login' || req.method !== 'POST' || v.password !== 'secret') {
          res.writeHead(401).end();
          return;
        }
        const id = `s${logins.length}`;
        sessions.add(id);
        res.writeHead(200, { 'Set-Cookie': `trt_detect_session=${id}; Path=/; HttpOnly`, 'Content-Type': 'application/json' }).end('{"ok":true}');
      });
    });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      upgrades.push({ cookie: req.headers.cookie, origin: req.headers.origin, url: req.url });
      const id = /trt_detect_session=(\w+)/.exec(req.headers.cookie ?? '')?.[1];
      if (!id || !sessions.has(id)) {
        socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        open.push(ws);
        ws.send('avc1.64001f');
        ws.send(initSegment({ avcC: Buffer.from([1, 0x64, 0, 0x1f, 0xff, 0xe0, 0, 0]), width: 64, height: 32, timescale: 90000 }));
        for (let i = 1; i <= 5; i++) ws.send(mediaFragment(i, { data: Buffer.alloc(200, i), decodeTime: i * 3600, duration: 3600, keyframe: i === 1 }));
      });
    });
    await new Promise<void>((r) => (server as Server).listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;

    viewer = new LiveViewer({ port, camera: 'front door', username: 'bench', password: 'secret', reconnectMs: 50 });
    await viewer.start();
    await until(() => viewer!.stats.fragments === 5, 10_000, 'five fragments');
    let s = viewer.stats;
    expect(s).toMatchObject({ connections: 1, logins: 1, text_messages: 1, init_segments: 1, fragments: 5, bad_messages: 0, codec: 'avc1.64001f', connected: true });
    expect(s.messages).toBe(7);
    expect(s.bytes).toBeGreaterThan(5 * 200);
    expect(upgrades[0]).toEqual({ cookie: 'trt_detect_session=s1', origin: `http://127.0.0.1:${port}`, url: '/api/cameras/front%20door/live' });
    expect(logins[0]).toEqual({ username: 'bench', password: 'secret' });

    // the daemon closes the stream (a restarted encoder): the viewer connects again with its session
    open[0].close(4000, 'the stream restarted');
    await until(() => viewer!.stats.connections === 2 && viewer!.stats.fragments === 10, 10_000, 'the second connection');
    expect(viewer.stats.drops).toEqual([expect.stringMatching(/^\d+s: closed 4000 the stream restarted$/)]);
    expect(viewer.stats.logins).toBe(1);

    // the session is gone (a daemon restart): the upgrade is refused, the viewer logs in again
    sessions.clear();
    open[1].terminate();
    await until(() => viewer!.stats.connections === 3 && viewer!.stats.fragments === 15, 10_000, 'a new login and connection');
    s = viewer.stats;
    expect(s.logins).toBe(2);
    expect(s.drops).toHaveLength(3);
    expect(s.drops[2]).toMatch(/upgrade refused: HTTP 401/);
    expect(s.init_segments).toBe(3);
    expect(s.connected).toBe(true);
    viewer.stop();
    expect(viewer.stats.drops).toHaveLength(3); // a stop is no drop
  });

  it('start() rejects when the first login fails', async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(401).end());
    });
    await new Promise<void>((r) => (server as Server).listen(0, '127.0.0.1', r));
    viewer = new LiveViewer({ port: (server.address() as AddressInfo).port, camera: 'c', username: 'bench', password: 'wrong' });
    await expect(viewer.start()).rejects.toThrow(/login: HTTP 401/);
  });
});
