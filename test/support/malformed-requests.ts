/**
 * Malformed RTSP and HTTP requests for the protocol fuzz (test/service/protocol-fuzz.test.ts):
 * deterministic from a seed, each a byte string built from the ways real clients and scanners get
 * requests wrong: broken request lines, bad percent-encoding, bad ports and transports, negative,
 * huge and non-numeric Content-Length, bodies shorter or longer than announced, header floods,
 * bare LF and NUL bytes, interleaved RTP frames, binary junk, and valid requests cut short.
 */
import { prng } from './prng.js';

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const int = (r: Rand, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));

function junk(r: Rand, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
  return b;
}

const BAD_PATHS = [
  '/%zz',
  '/%',
  '/%c0%af',
  '/cam/%00',
  '/../../etc/passwd',
  '/' + 'a'.repeat(9000),
  '*',
  '',
  '/cam?x=%ff%fe',
  '/\u00ff\u00fe',
  '//',
  '/cam/../cam',
];
const BAD_LENGTHS = ['-43', '-1', '99999999999999999999', '1e9', 'abc', '0x10', ' 5', '5, 6', '4294967296', '2147483648'];

function rtspRequest(r: Rand, host: string, camera: string): Buffer {
  const method = pick(r, [
    'OPTIONS',
    'DESCRIBE',
    'SETUP',
    'PLAY',
    'PAUSE',
    'TEARDOWN',
    'GET_PARAMETER',
    'SET_PARAMETER',
    'ANNOUNCE',
    'RECORD',
    'FOO',
    'options',
    '',
  ]);
  const path = r() < 0.5 ? pick(r, BAD_PATHS) : `/${camera}${r() < 0.3 ? '/trackID=' + pick(r, ['0', '1', '-1', '99', 'x']) : ''}`;
  const uri = r() < 0.1 ? pick(r, ['rtsp://', 'rtsp://[::1', 'http://x/y', `rtsp://${host}:99999${path}`]) : `rtsp://${host}${path}`;
  const version = pick(r, ['RTSP/1.0', 'RTSP/1.0', 'RTSP/2.0', 'HTTP/1.1', 'RTSP/1', '']);
  const headers: string[] = [];
  if (r() < 0.8) headers.push(`CSeq: ${pick(r, ['1', '-1', 'x', '99999999999999999999', ''])}`);
  if (r() < 0.4)
    headers.push(
      `Transport: ${pick(r, [
        'RTP/AVP;unicast;client_port=99999-100000',
        'RTP/AVP;unicast;client_port=0-1',
        'RTP/AVP;unicast;client_port=-5',
        'RTP/AVP;unicast;client_port=a-b',
        'RTP/AVP/TCP;interleaved=300-301',
        'RTP/AVP/TCP;interleaved=-1',
        'RTP/AVP;multicast;destination=224.0.0.1',
        'RTP/AVP;unicast;client_port=5000-5001;mode=record',
        '',
        ';;;;',
      ])}`,
    );
  if (r() < 0.3) headers.push(`Session: ${pick(r, ['', '0', 'deadbeef', 'x'.repeat(300), '12345678;timeout=-1'])}`);
  if (r() < 0.3)
    headers.push(`Authorization: ${pick(r, ['Basic', 'Basic !!!', 'Digest', 'Digest username="a", realm=, nonce="', 'Digest ' + 'x'.repeat(2000), 'Bearer'])}`);
  if (r() < 0.3) headers.push(`Range: ${pick(r, ['npt=-5-', 'npt=now-', 'clock=x', 'smpte=1'])}`);
  if (r() < 0.2) for (let i = int(r, 50, 400); i > 0; i--) headers.push(`X-Flood-${i}: ${'y'.repeat(int(r, 1, 80))}`);
  if (r() < 0.1) headers.push('Bad Header Without Colon');
  let body = Buffer.alloc(0);
  if (r() < 0.35) {
    headers.push(`Content-Length: ${pick(r, BAD_LENGTHS)}`);
    body = junk(r, int(r, 0, 2000));
  } else if (r() < 0.2) {
    const n = int(r, 0, 500);
    headers.push(`Content-Length: ${n + int(r, -50, 50)}`);
    body = junk(r, n);
  }
  const eol = r() < 0.15 ? '\n' : '\r\n';
  const text = `${method} ${uri} ${version}${eol}${headers.join(eol)}${eol}${eol}`;
  const req = Buffer.concat([Buffer.from(text, 'latin1'), body]);
  // interleaved RTP/RTCP ($ channel length payload) before or instead of the request
  if (r() < 0.1) return Buffer.concat([Buffer.from([0x24, int(r, 0, 255), int(r, 0, 255), int(r, 0, 255)]), junk(r, int(r, 0, 300)), req]);
  return r() < 0.1 ? req.subarray(0, int(r, 1, req.length)) : req;
}

function httpRequest(r: Rand): Buffer {
  const method = pick(r, ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'TRACE', 'CONNECT', 'PATCH', 'BREW', 'get', '']);
  const path = pick(r, [
    '/healthz',
    '/metrics',
    '/calibration/capture?frames=5000&every=1',
    '/calibration/capture?frames=-1',
    '/calibration/capture?frames=abc&every=0',
    '/api/events?limit=-1',
    '/api/events?after=x&before=%zz',
    '/api/events/../../etc/passwd/snapshot.jpg',
    '/api/recordings/..%2f..%2fetc?date=1900-13-40',
    '/api/cameras/%00/latest.jpg',
    '/login',
    '/%zz',
    '/' + 'b'.repeat(20000),
    '*',
    'http://evil.example/',
  ]);
  const version = pick(r, ['HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/9', 'RTSP/1.0', '']);
  const headers: string[] = [];
  if (r() < 0.9) headers.push('Host: 127.0.0.1');
  if (r() < 0.3) headers.push(`Authorization: ${pick(r, ['Basic', 'Basic YWRtaW46', 'Basic ' + 'A'.repeat(5000), 'Bearer ', 'Bearer x', 'Digest x'])}`);
  if (r() < 0.2) headers.push(`Cookie: ${pick(r, ['session=', 'session=' + 'z'.repeat(4000), ';;;', 'a=b; session=%zz'])}`);
  if (r() < 0.2) headers.push(`Origin: ${pick(r, ['http://evil.example', 'null', ''])}`);
  if (r() < 0.2) headers.push(`Transfer-Encoding: ${pick(r, ['chunked', 'chunked, identity', 'gzip', 'x'])}`);
  if (r() < 0.15) for (let i = int(r, 100, 3000); i > 0; i--) headers.push(`X-F${i}: v`);
  let body = Buffer.alloc(0);
  if (r() < 0.35) {
    headers.push(`Content-Length: ${pick(r, BAD_LENGTHS)}`);
    body = junk(r, int(r, 0, 4000));
  }
  const eol = r() < 0.15 ? '\n' : '\r\n';
  const req = Buffer.concat([Buffer.from(`${method} ${path} ${version}${eol}${headers.join(eol)}${eol}${eol}`, 'latin1'), body]);
  if (r() < 0.1) return junk(r, int(r, 1, 3000));
  return r() < 0.1 ? req.subarray(0, int(r, 1, req.length)) : req;
}

/** The `i`-th request of a seed's stream for one protocol. */
export function malformedRequest(protocol: 'rtsp' | 'http', seed: number, i: number, target: { host: string; camera: string }): Buffer {
  const r = prng(seed * 1_000_003 + i);
  return protocol === 'rtsp' ? rtspRequest(r, target.host, target.camera) : httpRequest(r);
}
