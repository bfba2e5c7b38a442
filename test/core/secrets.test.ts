import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { addSecret, clearSecrets, maskDeep, maskSecrets } from '../../daemon/core/secrets.js';
import { maskSecrets as fromConfig } from '../../daemon/config/index.js';
import { createLogger } from '../../daemon/core/log.js';

/** [input, what it must become] */
const CASES: Array<[string, string]> = [
  // user info: the last @ before the host ends it; the first : splits user and password
  ['rtsp://admin:secret@192.0.2.10:554/stream1', 'rtsp://admin:***@192.0.2.10:554/stream1'],
  ['rtsp://admin:p@ss@host/live', 'rtsp://admin:***@host/live'],
  ['rtsp://admin:p@ss@w@rd@host:554/a/b', 'rtsp://admin:***@host:554/a/b'],
  ['rtsp://admin:pa:ss:word@host/live', 'rtsp://admin:***@host/live'],
  ['rtsp://admin:p%40ss%3Aw%2Frd@host/live', 'rtsp://admin:***@host/live'],
  ['rtsp://admin:pa/ss@host/live', 'rtsp://admin:***@host/live'],
  ['rtsp://admin:pa?ss@host/live', 'rtsp://admin:***@host/live'],
  ['rtsp://admin:pa#ss@host/live', 'rtsp://admin:***@host/live'],
  ['rtsp://:onlypass@host/live', 'rtsp://:***@host/live'],
  ['rtsp://admin:@host/live', 'rtsp://admin:***@host/live'],
  ['RTSPS://Admin:Secret@[2001:db8::1]:322/s', 'RTSPS://Admin:***@[2001:db8::1]:322/s'],
  ['mqtts://bob:hunter2@broker.example:8883', 'mqtts://bob:***@broker.example:8883'],
  ['wss://u:p@h/mqtt?x=1', 'wss://u:***@h/mqtt?x=1'],
  // query parameters, any case, not others
  ['rtsp://host/live?password=abc&token=def', 'rtsp://host/live?password=***&token=***'],
  ['rtsp://host/live?channel=1&PWD=x&subtype=0', 'rtsp://host/live?channel=1&PWD=***&subtype=0'],
  ['http://h/a?Pass=1;Key=2;auth=3#top', 'http://h/a?Pass=***;Key=***;auth=***#top'],
  ['https://bucket.example/o?X-Amz-Signature=abc123&X-Amz-Date=2024', 'https://bucket.example/o?X-Amz-Signature=***&X-Amz-Date=2024'],
  ['https://h/?access_token=t1&api_key=k1&secret=s1&apikey=k2', 'https://h/?access_token=***&api_key=***&secret=***&apikey=***'],
  ['rtsp://u:p@host/s?user=u&password=p%26q&codec=h264', 'rtsp://u:***@host/s?user=u&password=***&codec=h264'],
  ['rtsp://host/s?monkey=1&key_frame=2&passkey=3', 'rtsp://host/s?monkey=1&key_frame=2&passkey=3'],
  // left alone: no password, an @ in the path or the query
  ['rtsp://admin@host/live', 'rtsp://admin@host/live'],
  ['rtsp://host:554/live', 'rtsp://host:554/live'],
  ['rtsp://host/s?mail=a@b.example', 'rtsp://host/s?mail=a@b.example'],
  ['rtsp://host:554/s?mail=a@b.example', 'rtsp://host:554/s?mail=a@b.example'],
  ['csi://0', 'csi://0'],
  ['/videos/clip.mp4', '/videos/clip.mp4'],
  ['user@example.com wrote: a:b', 'user@example.com wrote: a:b'],
  // in text: command lines, pipelines, messages; several URLs
  [
    'ffmpeg -rtsp_transport tcp -i rtsp://admin:p@ss@192.0.2.10/s1 -f rawvideo pipe:1',
    'ffmpeg -rtsp_transport tcp -i rtsp://admin:***@192.0.2.10/s1 -f rawvideo pipe:1',
  ],
  ['rtspsrc location="rtsp://admin:p@ss@192.0.2.10/s1" protocols=tcp', 'rtspsrc location="rtsp://admin:***@192.0.2.10/s1" protocols=tcp'],
  // (a value runs to white space: the full stop goes with it)
  ['from rtsp://a:1@h1/x to mqtt://b:2@h2, then rtsp://h3/?token=3.', 'from rtsp://a:***@h1/x to mqtt://b:***@h2, then rtsp://h3/?token=***'],
  ["cannot open 'rtsp://a:b@c/d': 401 Unauthorized", "cannot open 'rtsp://a:***@c/d': 401 Unauthorized"],
  // already masked: unchanged
  ['rtsp://admin:***@host/live?token=***', 'rtsp://admin:***@host/live?token=***'],
  // more tricky ones: fragments, &-lists, encoded user names, no path, other schemes
  ['https://h/cb#access_token=abc&state=1', 'https://h/cb#access_token=***&state=1'],
  ['https://h/cb?x=1#token=abc', 'https://h/cb?x=1#token=***'],
  ['rtsp://us%40er:pw@host/s', 'rtsp://us%40er:***@host/s'],
  ['rtsp://user:pass@host:554?token=abc', 'rtsp://user:***@host:554?token=***'],
  ['rtmp://a:b@h/app/key', 'rtmp://a:***@h/app/key'],
  ['rtsp://h/s?a=1&amp;token=x&amp;b=2', 'rtsp://h/s?a=1&amp;token=***&amp;b=2'],
  ['rtsp://h/s?SECRET=1&Auth=2&SIGNATURE=3&Pwd=4', 'rtsp://h/s?SECRET=***&Auth=***&SIGNATURE=***&Pwd=***'],
  ['rtsp://admin:p%25ss%2540@cam/s', 'rtsp://admin:***@cam/s'],
  ['http://[::1]:9100/x?key=1', 'http://[::1]:9100/x?key=***'],
  // name=value outside a URL: pipelines, command lines, env-like text, JSON
  [
    'rtspsrc location="rtsp://h/s" user-id="admin" user-pw="p@ss w0rd" protocols=tcp',
    'rtspsrc location="rtsp://h/s" user-id="admin" user-pw=*** protocols=tcp',
  ],
  ['mosquitto_pub --password=hunter2 -u bob', 'mosquitto_pub --password=*** -u bob'],
  ['PASSWORD=abc MQTT_TOKEN=def ./run', 'PASSWORD=*** MQTT_TOKEN=*** ./run'],
  ['{"user":"bob","password":"hu\\"nter2","api_key":"k"}', '{"user":"bob","password":"***","api_key":"***"}'],
  // authorization values
  ['Authorization: Basic YWRtaW46c2VjcmV0', 'Authorization: Basic ***'],
  ['authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc', 'authorization: Bearer ***'],
  // left alone
  ['WWW-Authenticate: Basic realm="trt-detect"', 'WWW-Authenticate: Basic realm="trt-detect"'],
  ['tokens=5 keys=2 keyframe=1 passes=3', 'tokens=5 keys=2 keyframe=1 passes=3'],
  ['rtsp://host/s?channel=1&subtype=0', 'rtsp://host/s?channel=1&subtype=0'],
];

describe('maskSecrets (core/secrets.ts): the one masking function', () => {
  it.each(CASES)('%s', (input, expected) => {
    expect(maskSecrets(input)).toBe(expected);
    expect(maskSecrets(expected)).toBe(expected); // masking twice changes nothing
  });

  it("masks registered values (the MQTT password, a password file's content) anywhere, also percent-encoded; short ones are not registered", () => {
    try {
      addSecret('Pl4nt/ed pw');
      addSecret('abc');
      expect(maskSecrets('broker said: bad password Pl4nt/ed pw for bob')).toBe('broker said: bad password *** for bob');
      expect(maskSecrets('url had Pl4nt%2Fed%20pw in it')).toBe('url had *** in it');
      expect(maskSecrets('abc is short')).toBe('abc is short');
      expect(maskDeep({ a: ['x Pl4nt/ed pw', 3], b: { c: 'rtsp://u:p@h/' } })).toEqual({ a: ['x ***', 3], b: { c: 'rtsp://u:***@h/' } });
    } finally {
      clearSecrets();
    }
    expect(maskSecrets('Pl4nt/ed pw')).toBe('Pl4nt/ed pw');
  });

  it('has at least 20 cases, and config/ exports the same function', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(20);
    expect(fromConfig).toBe(maskSecrets);
  });

  it('the logger masks messages, url/source/err fields and the string fields of a call', () => {
    const lines: string[] = [];
    const out = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(chunk.toString());
        cb();
      },
    });
    const log = createLogger('info', out);
    log.info('opening rtsp://admin:p@ss@cam/s1?token=t0k');
    log.info({ url: 'mqtt://u:p@ss@broker', source: 'rtsp://a:b@c/d', reason: 'rtsp://x:y@z/ failed', n: 3 }, 'fields');
    log.warn({ err: new Error('open rtsp://u:pw@h/s?password=pw2 failed') }, 'error');
    log.info({ password: 'plain' }, 'redacted');
    const text = lines.join('');
    for (const secret of ['p@ss', 't0k', ':b@', ':y@', 'pw@', 'pw2', 'plain']) expect(text).not.toContain(secret);
    expect(text).toContain('rtsp://admin:***@cam/s1?token=***');
    expect(text).toContain('mqtt://u:***@broker');
    expect(text).toContain('"n":3');
  });
});
