/**
 * RTSP client authentication (sinks/rtsp-auth.ts) on a real server: ffprobe logs in with Digest
 * from the URL's user info, a raw client checks Basic, stale nonces, wrong answers and the
 * per-address block.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoginGuard } from '../../daemon/core/login-guard.js';
import { RtspDigestAuth, parseAuthParams, type RtspAuthenticator } from '../../daemon/sinks/rtsp-auth.js';
import { rtspCamera, type RtspCamera } from '../live/rtsp-camera.js';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

function ffprobe(url: string): Promise<{ ok: boolean; frames: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'ffprobe',
      ['-v', 'error', '-rtsp_transport', 'tcp', '-select_streams', 'v:0', '-read_intervals', '%+#2', '-show_entries', 'frame=pict_type', '-of', 'json', url],
      { timeout: 30_000 },
      (err, stdout, stderr) => {
        const frames = err ? 0 : ((JSON.parse(String(stdout)) as { frames?: unknown[] }).frames?.length ?? 0);
        resolve({ ok: !err, frames, stderr: String(stderr) });
      },
    );
  });
}

/** One RTSP request on a fresh connection; returns status and headers (all WWW-Authenticate lines). */
function rtspRequest(
  port: number,
  method: string,
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; challenges: string[]; headers: Map<string, string>; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const s: Socket = connect(port, '127.0.0.1', () => {
      s.write([`${method} ${url} RTSP/1.0`, 'CSeq: 1', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)].join('\r\n') + '\r\n\r\n');
    });
    let buf = '';
    s.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const lines = buf.slice(0, end).split('\r\n');
      const hs = lines.slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()] as [string, string]);
      const closing = /connection: close/i.test(buf);
      setTimeout(() => {
        resolve({
          status: Number(lines[0].split(' ')[1]),
          challenges: hs.filter(([k]) => k === 'www-authenticate').map(([, v]) => v),
          headers: new Map(hs),
          closed: closing || s.destroyed,
        });
        s.destroy();
      }, 100);
    });
    s.on('error', reject);
  });
}

describe('RTSP server with authentication (the http.auth credentials)', () => {
  let cam: RtspCamera;
  const schemes: string[] = [];
  const guard = new LoginGuard();
  const digest = new RtspDigestAuth({ username: 'admin', password: 'pw-1234', guard });
  // records which scheme each client used, then asks the real authenticator
  const recording: RtspAuthenticator = {
    check(method, uri, authorization, address) {
      schemes.push((authorization ?? 'none').split(' ')[0]);
      return digest.check(method, uri, authorization, address);
    },
  };

  beforeAll(async () => {
    cam = await rtspCamera({ name: 'cam', server: { auth: recording } });
  });
  afterAll(() => cam?.stop());

  it('ffprobe rtsp://admin:pw@host/cam plays with Digest; no or wrong credentials get 401', async () => {
    const port = cam.port;
    schemes.length = 0;
    const good = await ffprobe(`rtsp://admin:pw-1234@127.0.0.1:${port}/cam`);
    expect(good.stderr).toBe('');
    expect(good.frames).toBeGreaterThanOrEqual(1);
    expect(schemes).toContain('Digest');
    expect(schemes).not.toContain('Basic');
    const none = await ffprobe(`rtsp://127.0.0.1:${port}/cam`);
    expect(none.ok).toBe(false);
    expect(none.stderr).toMatch(/401 Unauthorized/);
    const wrong = await ffprobe(`rtsp://admin:wrong@127.0.0.1:${port}/cam`);
    expect(wrong.ok).toBe(false);
    expect(wrong.stderr).toMatch(/401 Unauthorized/);
    guard.succeeded('127.0.0.1');
  }, 60_000);

  it('answers 401 with a Digest (MD5, qop=auth) and a Basic challenge; OPTIONS stays open', async () => {
    const url = `rtsp://127.0.0.1:${cam.port}/cam`;
    expect((await rtspRequest(cam.port, 'OPTIONS', url)).status).toBe(200);
    const r = await rtspRequest(cam.port, 'DESCRIBE', url);
    expect(r.status).toBe(401);
    expect(r.challenges).toHaveLength(2);
    expect(r.challenges[0]).toMatch(/^Digest realm="trt-detect", nonce="[0-9a-f]+-[0-9a-f]{32}", algorithm=MD5, qop="auth"$/);
    expect(r.challenges[1]).toBe('Basic realm="trt-detect"');
    const basic = await rtspRequest(cam.port, 'DESCRIBE', url, { Authorization: `Basic ${Buffer.from('admin:pw-1234').toString('base64')}` });
    expect(basic.status).toBe(200);
    const badBasic = await rtspRequest(cam.port, 'DESCRIBE', url, { Authorization: `Basic ${Buffer.from('admin:pw-12345').toString('base64')}` });
    expect(badBasic.status).toBe(401);
    guard.succeeded('127.0.0.1');
  });

  it('checks the digest by hand: right answer 200, another uri or a made-up nonce 401, an expired nonce 401 stale=TRUE', async () => {
    let now = Date.now();
    const auth = new RtspDigestAuth({ username: 'admin', password: 'p@ss:w/rd%', now: () => now });
    const challenge = auth.check('DESCRIBE', 'rtsp://h/cam', undefined, '10.0.0.9');
    expect(challenge.ok).toBe(false);
    const p = parseAuthParams((challenge as { headers: Array<[string, string]> }).headers[0][1].replace(/^Digest /, ''));
    const answer = (uri: string, nonce = p.nonce, password = 'p@ss:w/rd%') => {
      const ha1 = md5(`admin:trt-detect:${password}`);
      const response = md5(`${ha1}:${nonce}:00000001:abc:auth:${md5(`DESCRIBE:${uri}`)}`);
      return `Digest username="admin", realm="trt-detect", nonce="${nonce}", uri="${uri}", response="${response}", qop=auth, nc=00000001, cnonce="abc"`;
    };
    expect(auth.check('DESCRIBE', 'rtsp://h/cam', answer('rtsp://h/cam'), '10.0.0.9')).toEqual({ ok: true });
    expect(auth.check('DESCRIBE', 'rtsp://h/cam', answer('rtsp://h/other'), '10.0.0.9').ok).toBe(false);
    expect(auth.check('DESCRIBE', 'rtsp://h/cam', answer('rtsp://h/cam', `${(now + 99999).toString(16)}-${'0'.repeat(32)}`), '10.0.0.9').ok).toBe(false);
    expect(auth.check('DESCRIBE', 'rtsp://h/cam', answer('rtsp://h/cam', p.nonce, 'wrong'), '10.0.0.9').ok).toBe(false);
    now += 6 * 60_000;
    const stale = auth.check('DESCRIBE', 'rtsp://h/cam', answer('rtsp://h/cam'), '10.0.0.9');
    expect(stale.ok).toBe(false);
    expect((stale as { headers: Array<[string, string]> }).headers[0][1]).toMatch(/, stale=TRUE$/);
    expect(auth.guard.failures).toBe(2);
  });

  it('after 10 wrong answers from one address it is refused (403 Forbidden, connection closed) even with the right password', async () => {
    const url = `rtsp://127.0.0.1:${cam.port}/cam`;
    const wrong = { Authorization: `Basic ${Buffer.from('admin:guess').toString('base64')}` };
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await rtspRequest(cam.port, 'DESCRIBE', url, wrong)).status);
    expect(statuses).toEqual(Array(10).fill(401));
    const blocked = await rtspRequest(cam.port, 'DESCRIBE', url, { Authorization: `Basic ${Buffer.from('admin:pw-1234').toString('base64')}` });
    expect(blocked.status).toBe(403);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(50);
    const probe = await ffprobe(`rtsp://admin:pw-1234@127.0.0.1:${cam.port}/cam`);
    expect(probe.ok).toBe(false);
    expect(probe.stderr).toMatch(/403 Forbidden/);
  }, 60_000);
});
