/**
 * The RTSP server seen byte by byte by a raw TCP client: the RTSP replies, then the interleaved
 * RTP packets (RFC 3550 header, RFC 6184 single NAL units and FU-A fragments).
 */
import { createSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { NAL, type AccessUnit } from '../../daemon/media/h264.js';
import { RtspServer } from '../../daemon/sinks/rtsp-server.js';
import { tempDir } from '../support/videos.js';
import { testAccessUnits } from '../support/h264-units.js';

const { dir, cleanup } = tempDir('rtsp-proto');
afterAll(cleanup);

/** Real encoder output: 20 access units of a 320x240 test pattern, a keyframe every 10. */
const accessUnits = (): AccessUnit[] => testAccessUnits(dir, { aud: true });

/** A UDP socket bound to an even loopback port. */
async function evenPortSocket(): Promise<ReturnType<typeof createSocket>> {
  for (;;) {
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    if (s.address().port % 2 === 0) return s;
    s.close();
  }
}

class RawClient {
  private buf = Buffer.alloc(0);
  readonly packets: Buffer[] = [];
  private waiters: Array<() => void> = [];
  private cseq = 0;
  constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      for (const w of this.waiters.splice(0)) w();
    });
  }
  static open(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }
  private async more(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no data from the server in 5 s')), 5000);
      this.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }
  async request(method: string, url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Map<string, string>; body: string }> {
    const lines = [`${method} ${url} RTSP/1.0`, `CSeq: ${++this.cseq}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
    this.socket.write(lines.join('\r\n') + '\r\n\r\n');
    for (;;) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end >= 0 && this.buf[0] !== 0x24) {
        const head = this.buf.subarray(0, end).toString().split('\r\n');
        const h = new Map(head.slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()] as [string, string]));
        const len = Number(h.get('content-length') ?? 0);
        if (this.buf.length >= end + 4 + len) {
          const body = this.buf.subarray(end + 4, end + 4 + len).toString();
          this.buf = this.buf.subarray(end + 4 + len);
          expect(h.get('cseq')).toBe(String(this.cseq));
          return { status: Number(head[0].split(' ')[1]), headers: h, body };
        }
      }
      await this.more();
    }
  }
  /** Reads interleaved packets until `n` have arrived. */
  async rtp(n: number): Promise<Buffer[]> {
    for (;;) {
      while (this.buf.length >= 4 && this.buf[0] === 0x24) {
        const len = this.buf.readUInt16BE(2);
        if (this.buf.length < 4 + len) break;
        expect(this.buf[1]).toBe(0); // channel 0 = RTP
        this.packets.push(Buffer.from(this.buf.subarray(4, 4 + len)));
        this.buf = this.buf.subarray(4 + len);
      }
      if (this.packets.length >= n) return this.packets;
      await this.more();
    }
  }
}

describe('RTSP server protocol (raw client)', () => {
  it('OPTIONS/DESCRIBE/SETUP/PLAY, then RTP that starts at a keyframe, FU-A for large NAL units, marker on the last packet of each picture', async () => {
    const aus = accessUnits();
    expect(aus.length).toBe(20);
    const server = new RtspServer();
    await server.listen(0, '127.0.0.1');
    const stream = server.mount('cam');
    const url = `rtsp://127.0.0.1:${server.port}/cam`;
    // a frame before anyone watches, so parameter sets are known for DESCRIBE
    stream.push(aus[0], 0);
    const c = await RawClient.open(server.port);
    try {
      const options = await c.request('OPTIONS', url);
      expect(options.status).toBe(200);
      expect(options.headers.get('public')).toContain('DESCRIBE');
      const describe = await c.request('DESCRIBE', url, { Accept: 'application/sdp' });
      expect(describe.status).toBe(200);
      expect(describe.headers.get('content-type')).toBe('application/sdp');
      expect(describe.body).toContain('m=video 0 RTP/AVP 96');
      expect(describe.body).toContain('a=rtpmap:96 H264/90000');
      expect(describe.body).toMatch(/a=fmtp:96 packetization-mode=1;profile-level-id=[0-9a-f]{6};sprop-parameter-sets=[A-Za-z0-9+/=]+,[A-Za-z0-9+/=]+/);
      expect((await c.request('SETUP', `${url}/trackID=0`, { Transport: 'RTP/AVP;multicast;port=5000-5001' })).status).toBe(461);
      const setup = await c.request('SETUP', `${url}/trackID=0`, { Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1' });
      expect(setup.status).toBe(200);
      expect(setup.headers.get('transport')).toMatch(/^RTP\/AVP\/TCP;unicast;interleaved=0-1;ssrc=[0-9a-f]{8}$/);
      const session = (setup.headers.get('session') ?? '').split(';')[0];
      expect(session).toMatch(/^[0-9a-f]{16}$/);
      expect((await c.request('PLAY', url, { Session: session })).status).toBe(200);

      // the client joined after frame 0: frames 1..9 are skipped until the keyframe at 10,
      // then the producer restarts its clock (a camera restarted) at frame 15
      for (let i = 1; i < 20; i++) stream.push(aus[i], i < 15 ? i / 10 : (i - 15) / 10);
      const expectedPictures = 10; // frames 10..19
      const markers = () => c.packets.filter((p) => (p[1] & 0x80) !== 0).length;
      while (markers() < expectedPictures) await c.rtp(c.packets.length + 1); // each wait fails after 5 s of silence
      const packets = c.packets;
      const ssrc = packets[0].readUInt32BE(8);
      let fuA = 0;
      const pictures: Array<{ ts: number; types: number[] }> = [];
      let current: { ts: number; types: number[] } | null = null;
      packets.forEach((p, i) => {
        expect(p[0]).toBe(0x80); // version 2, no padding/extension/CSRC
        expect(p[1] & 0x7f).toBe(96);
        expect(p.readUInt32BE(8)).toBe(ssrc);
        if (i > 0) expect(p.readUInt16BE(2)).toBe((packets[i - 1].readUInt16BE(2) + 1) & 0xffff);
        const ts = p.readUInt32BE(4);
        current ??= { ts, types: [] };
        expect(ts).toBe(current.ts); // one timestamp per picture
        const type = p[12] & 0x1f;
        if (type === 28) {
          fuA++;
          if (p[13] & 0x80) current.types.push(p[13] & 0x1f); // FU start: the fragmented NAL's type
        } else {
          current.types.push(type);
        }
        if (p[1] & 0x80) {
          pictures.push(current);
          current = null;
        }
      });
      expect(pictures.length).toBe(expectedPictures);
      expect(pictures[0].types).toEqual(expect.arrayContaining([NAL.SPS, NAL.PPS, NAL.IDR]));
      expect(pictures.slice(1).every((p) => !p.types.includes(NAL.IDR))).toBe(true);
      expect(fuA).toBeGreaterThan(0); // the 320x240 keyframe is larger than one packet
      // RTP time: 9000 ticks (0.1 s at 90 kHz) per frame, still increasing after the producer's clock restarted
      for (let i = 1; i < pictures.length; i++) {
        const step = (pictures[i].ts - pictures[i - 1].ts) >>> 0;
        expect(step).toBeGreaterThan(0);
        expect(step).toBeLessThanOrEqual(9000);
      }
      expect((pictures[1].ts - pictures[0].ts) >>> 0).toBe(9000);
      expect((await c.request('TEARDOWN', url, { Session: session })).status).toBe(200);
    } finally {
      c.socket.destroy();
      await server.close();
    }
  });

  it('rejects DESCRIBE of an unknown path with 404 and unknown methods with 501', async () => {
    const server = new RtspServer();
    await server.listen(0, '127.0.0.1');
    const c = await RawClient.open(server.port);
    try {
      expect((await c.request('DESCRIBE', `rtsp://127.0.0.1:${server.port}/nope`)).status).toBe(404);
      expect((await c.request('RECORD', `rtsp://127.0.0.1:${server.port}/nope`)).status).toBe(501);
    } finally {
      c.socket.destroy();
      await server.close();
    }
  });

  it('sends RTP over UDP to a client that asks for it, one datagram per packet', async () => {
    const aus = accessUnits();
    const server = new RtspServer();
    await server.listen(0, '127.0.0.1');
    const stream = server.mount('cam');
    stream.push(aus[0], 0);
    const rtpIn = await evenPortSocket(); // RTP goes to an even port (RFC 3550 section 11), as real clients pick
    const port = rtpIn.address().port;
    const datagrams: Buffer[] = [];
    rtpIn.on('message', (m) => datagrams.push(m));
    const c = await RawClient.open(server.port);
    const url = `rtsp://127.0.0.1:${server.port}/cam`;
    try {
      await c.request('DESCRIBE', url);
      const setup = await c.request('SETUP', `${url}/trackID=0`, { Transport: `RTP/AVP;unicast;client_port=${port}-${port + 1}` });
      expect(setup.status).toBe(200);
      expect(setup.headers.get('transport')).toMatch(new RegExp(`^RTP/AVP;unicast;client_port=${port}-${port + 1};server_port=\\d+-\\d+;ssrc=[0-9a-f]{8}$`));
      const session = (setup.headers.get('session') ?? '').split(';')[0];
      expect((await c.request('PLAY', url, { Session: session })).status).toBe(200);
      for (let i = 1; i < 20; i++) stream.push(aus[i], i / 10);
      const deadline = Date.now() + 5000;
      while (datagrams.filter((d) => (d[1] & 0x80) !== 0).length < 10 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(datagrams.filter((d) => (d[1] & 0x80) !== 0).length).toBe(10); // pictures 10..19, from the keyframe on
      expect(datagrams[0][0]).toBe(0x80);
      expect(datagrams[0][1] & 0x7f).toBe(96);
      datagrams.forEach((d, i) => i > 0 && expect(d.readUInt16BE(2)).toBe((datagrams[i - 1].readUInt16BE(2) + 1) & 0xffff));
      expect(c.packets.length).toBe(0); // nothing interleaved on the TCP connection
    } finally {
      c.socket.destroy();
      rtpIn.close();
      await server.close();
    }
  });
});
