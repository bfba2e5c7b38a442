import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sdNotify } from '../../daemon/native.js';

// Node has no unix datagram sockets: a python3 listener receives one datagram and prints it.
const LISTENER = `
import socket, sys
name = sys.argv[1]
addr = '\\0' + name[1:] if name.startswith('@') else name
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(addr)
s.settimeout(30)
print('ready', flush=True)
data = s.recv(65536)
sys.stdout.write('GOT:' + data.decode())
sys.stdout.flush()
`;

interface Listener {
  proc: ChildProcess;
  received: Promise<string>;
}

function listen(name: string): Promise<Listener> {
  return new Promise((resolve, reject) => {
    const proc = spawn('python3', ['-c', LISTENER, name], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const received = new Promise<string>((res, rej) => {
      proc.on('exit', (code) => (code === 0 ? res(out.slice(out.indexOf('GOT:') + 4)) : rej(new Error(`listener exited ${code}: ${err}`))));
    });
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.startsWith('ready\n')) resolve({ proc, received });
    });
    proc.on('error', reject);
    proc.on('exit', (code) => reject(new Error(`listener exited ${code} before it was ready: ${err}`)));
  });
}

const saved = process.env.NOTIFY_SOCKET;
let dir: string | null = null;
let listener: Listener | null = null;

afterEach(() => {
  if (saved === undefined) delete process.env.NOTIFY_SOCKET;
  else process.env.NOTIFY_SOCKET = saved;
  if (listener && listener.proc.exitCode === null) listener.proc.kill();
  listener = null;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = null;
});

describe('sdNotify', () => {
  it('returns false when NOTIFY_SOCKET is unset', () => {
    delete process.env.NOTIFY_SOCKET;
    expect(sdNotify('READY=1')).toBe(false);
  });

  it('sends one datagram to a socket path', async () => {
    dir = mkdtempSync(join(tmpdir(), 'trt-notify-'));
    const path = join(dir, 'notify.sock');
    listener = await listen(path);
    process.env.NOTIFY_SOCKET = path;
    expect(sdNotify('READY=1\nSTATUS=streaming 2 cameras')).toBe(true);
    expect(await listener.received).toBe('READY=1\nSTATUS=streaming 2 cameras');
  });

  it('sends to an abstract socket named with @', async () => {
    const name = `@trt-detect-test-${process.pid}-${Date.now()}`;
    listener = await listen(name);
    process.env.NOTIFY_SOCKET = name;
    expect(sdNotify('WATCHDOG=1')).toBe(true);
    expect(await listener.received).toBe('WATCHDOG=1');
  });

  it('throws a clear error when nobody listens or the name is invalid', () => {
    dir = mkdtempSync(join(tmpdir(), 'trt-notify-'));
    process.env.NOTIFY_SOCKET = join(dir, 'nobody.sock');
    expect(() => sdNotify('READY=1')).toThrow(/^sd_notify: sending to NOTIFY_SOCKET .*nobody\.sock failed: No such file or directory$/);
    process.env.NOTIFY_SOCKET = 'relative/path';
    expect(() => sdNotify('READY=1')).toThrow('sd_notify: NOTIFY_SOCKET "relative/path" is neither an absolute path nor an abstract \'@\' name');
  });
});
