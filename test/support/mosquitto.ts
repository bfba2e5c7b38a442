/**
 * Test fixtures around a real broker: `startMosquitto` runs a private mosquitto on 127.0.0.1 and a
 * free port (optionally with a password file or persistence), `collectMessages` subscribes with
 * mqtt.js and records what arrives. Both clean up everything they create.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { which } from '../../daemon/media/platform.js';
import { canConnect, freePort } from '../../daemon/core/net.js';

export { freePort };

export interface MosquittoOptions {
  /** listen on this port instead of a free one */
  port?: number;
  /** require this user (anonymous clients are refused) */
  auth?: { username: string; password: string };
  /** keep sessions and retained messages across `restart` (and queue QoS 0 for offline sessions) */
  persistence?: boolean;
}

export interface Mosquitto {
  port: number;
  url: string;
  /** kills the broker and removes its temp dir */
  stop(): Promise<void>;
  /** stops the broker, runs `whileDown` (if given) and starts it again on the same port */
  restart(whileDown?: () => unknown): Promise<void>;
  /** sends a signal to the broker process (SIGSTOP freezes it: connections stay open, nothing is answered) */
  signal(sig: NodeJS.Signals): void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every 25 ms until it is true; rejects with `what` after `timeoutMs`. */
export async function until(cond: () => boolean, timeoutMs: number, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

export async function startMosquitto(opts: MosquittoOptions = {}): Promise<Mosquitto> {
  const binary = which('mosquitto', ['/usr/sbin']);
  if (!binary) throw new Error('mosquitto not found in /usr/sbin or PATH (apt-get install mosquitto)');
  const dir = mkdtempSync(join(tmpdir(), 'trt-mosquitto-'));
  const port = opts.port ?? (await freePort());
  const conf = [`listener ${port} 127.0.0.1`, 'log_dest stderr', 'log_type error', 'log_type warning'];
  // run as ourselves: as root mosquitto would switch to user "mosquitto", who cannot read our temp dir
  conf.push(`user ${userInfo().username}`);
  if (opts.auth) {
    const passwd = which('mosquitto_passwd', ['/usr/bin']);
    if (!passwd) throw new Error('mosquitto_passwd not found (apt-get install mosquitto)');
    const file = join(dir, 'passwd');
    const made = spawnSync(passwd, ['-b', '-c', file, opts.auth.username, opts.auth.password], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`mosquitto_passwd failed: ${made.stderr}`);
    chmodSync(file, 0o600);
    conf.push('allow_anonymous false', `password_file ${file}`);
  } else {
    conf.push('allow_anonymous true');
  }
  if (opts.persistence) {
    conf.push('persistence true', `persistence_location ${dir}/`, 'queue_qos0_messages true', 'autosave_interval 0');
  } else {
    conf.push('persistence false');
  }
  const confFile = join(dir, 'mosquitto.conf');
  writeFileSync(confFile, conf.join('\n') + '\n');

  let child: ChildProcess | null = null;

  async function launch(): Promise<void> {
    // the port may still be held for a moment after a stop: retry a few times
    for (let attempt = 0; ; attempt++) {
      let stderr = '';
      const proc = spawn(binary as string, ['-c', confFile], { stdio: ['ignore', 'ignore', 'pipe'] });
      proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      let exited = false;
      proc.once('exit', () => (exited = true));
      const deadline = Date.now() + 5000;
      while (!exited && Date.now() < deadline) {
        if (await canConnect(port)) {
          child = proc;
          return;
        }
        await sleep(30);
      }
      if (!exited) proc.kill('SIGKILL');
      if (attempt >= 5) throw new Error(`mosquitto did not start on port ${port}: ${stderr.trim()}`);
      await sleep(200);
    }
  }

  async function kill(): Promise<void> {
    const proc = child;
    child = null;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }

  try {
    await launch();
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
    async restart(whileDown) {
      await kill();
      if (whileDown) await whileDown();
      await launch();
    },
    signal(sig) {
      child?.kill(sig);
    },
  };
}

export interface CollectedMessage {
  topic: string;
  /** the payload as UTF-8 text */
  payload: string;
  /** the payload's bytes (JPEG snapshots); not enumerable, so failure messages stay readable */
  bytes: Buffer;
  retain: boolean;
}

export interface Collector {
  /** every message received so far, in arrival order */
  messages: CollectedMessage[];
  /** resolves with `messages` once `pred(messages)` holds; rejects after `timeoutMs` */
  waitFor(pred: (messages: CollectedMessage[]) => boolean, timeoutMs: number): Promise<CollectedMessage[]>;
  close(): Promise<void>;
}

export interface CollectOptions {
  username?: string;
  password?: string;
  /** a fixed client id with `clean: false` gives a persistent session (see MosquittoOptions.persistence) */
  clientId?: string;
  clean?: boolean;
  qos?: 0 | 1 | 2;
}

/** Connects, subscribes to `topicFilter` and records messages. Resolves once the subscription is acknowledged. */
export async function collectMessages(url: string, topicFilter: string, opts: CollectOptions = {}): Promise<Collector> {
  const options: IClientOptions = { reconnectPeriod: 200, connectTimeout: 5000, clean: opts.clean ?? true };
  if (opts.clientId) options.clientId = opts.clientId;
  if (opts.username) options.username = opts.username;
  if (opts.password) options.password = opts.password;
  const client: MqttClient = mqtt.connect(url, options);
  const messages: CollectedMessage[] = [];
  const waiters = new Set<() => void>();
  client.on('error', () => undefined); // reconnects on its own; tests assert on messages
  client.on('message', (topic, payload, packet) => {
    const m = { topic, payload: payload.toString('utf8'), retain: packet.retain } as CollectedMessage;
    Object.defineProperty(m, 'bytes', { value: payload, enumerable: false });
    messages.push(m);
    for (const check of [...waiters]) check();
  });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`collector: no connection to ${url} in 5 s`)), 5000);
      client.once('connect', () => {
        client.subscribe(topicFilter, { qos: opts.qos ?? 0 }, (err) => {
          clearTimeout(timer);
          if (err) reject(err);
          else resolve();
        });
      });
    });
  } catch (err) {
    client.end(true);
    throw err;
  }

  return {
    messages,
    waitFor(pred, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!pred(messages)) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(messages);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`collector: condition not met within ${timeoutMs} ms; got ${JSON.stringify(messages)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close() {
      return new Promise<void>((resolve) => client.end(true, {}, () => resolve()));
    },
  };
}
