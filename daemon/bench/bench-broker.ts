import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { mqttUrlProblem } from '../config/config-schema.js';
import { ConfigError, RuntimeFailure } from '../core/errors.js';
import { which } from '../media/platform.js';
import { canConnect, freePort } from '../core/net.js';
import { MqttPublisher } from '../sinks/mqtt-publisher.js';

/**
 * The MQTT side of `trt-detect bench`: detections go to a real broker, either the one named by
 * `--mqtt URL` or, when none is named, a private mosquitto on 127.0.0.1 and a free port (when the
 * binary is installed). Without either the bench publishes nowhere and says so in its JSON.
 */

export type BrokerMode = 'external' | 'private' | 'none';

export interface BenchMqtt {
  mode: BrokerMode;
  url: string | null;
  publisher: MqttPublisher | null;
  /** the private broker's pid (left out of the children's CPU and RSS) */
  brokerPid: number | null;
  /** why nothing is published (mode none) */
  note: string | null;
  close(): Promise<void>;
}

export const BENCH_TOPIC_PREFIX = 'trt-detect-bench';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function startPrivateBroker(binary: string): Promise<{ url: string; proc: ChildProcess; stop: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'trt-detect-bench-mqtt-'));
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  // as root mosquitto would switch to user "mosquitto"; run as ourselves
  writeFileSync(conf, [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'log_dest stderr', 'log_type error', `user ${userInfo().username}`, ''].join('\n'));
  const proc = spawn(binary, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => {
    if (stderr.length < 2000) stderr += d.toString();
  });
  let exited = false;
  proc.once('exit', () => (exited = true));
  proc.once('error', () => (exited = true));
  const stop = async () => {
    if (!exited) {
      const done = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 2000);
      await done;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 5000;
  while (!exited && Date.now() < deadline) {
    if (await canConnect(port)) return { url: `mqtt://127.0.0.1:${port}`, proc, stop };
    await sleep(30);
  }
  await stop();
  throw new RuntimeFailure(`trt-detect bench: the private mosquitto did not start (${stderr.trim().split('\n').pop() || 'no output'}) (pass --mqtt URL or --mqtt none)`);
}

/** `url`: --mqtt's value; undefined = private broker if mosquitto is installed; "none" = no MQTT. */
export async function openBenchMqtt(url: string | undefined): Promise<BenchMqtt> {
  const none = (note: string): BenchMqtt => ({ mode: 'none', url: null, publisher: null, brokerPid: null, note, close: () => Promise.resolve() });
  if (url === 'none') return none('--mqtt none: detections were serialised but not published');
  const urlProblem = url === undefined ? null : mqttUrlProblem(url);
  if (urlProblem) throw new ConfigError(`trt-detect bench: --mqtt: ${urlProblem}`);
  let broker: Awaited<ReturnType<typeof startPrivateBroker>> | null = null;
  if (url === undefined) {
    const binary = which('mosquitto', ['/usr/sbin', '/usr/local/sbin']);
    if (!binary) return none('no --mqtt URL and no mosquitto installed: detections were serialised but not published');
    broker = await startPrivateBroker(binary);
  }
  const target = url ?? (broker as { url: string }).url;
  try {
    const publisher = await MqttPublisher.connect({ url: target, topicPrefix: BENCH_TOPIC_PREFIX, qos: 0, queueLimit: 1000, retainStatus: false });
    return {
      mode: broker ? 'private' : 'external',
      url: target,
      publisher,
      brokerPid: broker?.proc.pid ?? null,
      note: null,
      async close() {
        await publisher.close();
        await broker?.stop();
      },
    };
  } catch (err) {
    await broker?.stop();
    if (url && err instanceof RuntimeFailure) throw new RuntimeFailure(err.message.replace(/\(check mqtt\.url\b/, '(check --mqtt'));
    throw err;
  }
}
