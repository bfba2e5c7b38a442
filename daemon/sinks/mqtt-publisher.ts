import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { RuntimeFailure, errorMessage } from '../core/errors.js';
import type { CameraStatus } from '../core/status.js';
import type { Logger } from '../core/log.js';
import { maskSecrets } from '../core/secrets.js';
import type { DetectionMessage } from './detection-message.js';
import type { CountSink, EventSink, ObjectEvent } from '../events/types.js';

export interface MqttPublisherOptions {
  url: string;
  /** P in P/status, P/<camera>/detections, ... */
  topicPrefix: string;
  qos: 0 | 1 | 2;
  clientId?: string;
  username?: string;
  password?: string;
  ca?: Buffer | null;
  cert?: Buffer | null;
  key?: Buffer | null;
  /** messages kept while the broker is away; beyond it the oldest are dropped and counted */
  queueLimit: number;
  /** status messages retained (mqtt.retain_status); default true */
  retainStatus?: boolean;
  logger?: Logger;
}

export interface MqttStats {
  connected: boolean;
  /** messages waiting for the broker: queued, or sent and not yet confirmed */
  queued: number;
  /** messages dropped because the queue was full */
  dropped: number;
  /** messages the broker is known to have: acknowledged, or confirmed by a later PINGRESP/PUBACK */
  published: number;
  reconnects: number;
}

interface Pending {
  topic: string;
  payload: string | Buffer;
}

/** Above this many bytes waiting in the socket the broker is treated as slow and messages queue here. */
const SOCKET_HIGH_WATER = 4 * 1024 * 1024;
/** How often a PINGREQ confirms the QoS 0 messages sent since the last one (see `inFlight`). */
export const CONFIRM_MS = 1000;
/** A broker that answers no PINGREQ for this long is treated as gone (frozen, or a dead link). */
export const PING_TIMEOUT_MS = 6000;

/**
 * Publishes detections, camera status and stats (docs/mqtt.md). Never blocks or slows the video
 * path: publish calls return at once; while the broker is unreachable or slow, messages wait in a
 * bounded queue (oldest dropped and counted) and go out when it is back. `P/status` is `online`
 * (retained) while connected, with a retained `offline` Last Will; the latest status of every
 * camera is re-published after a reconnect.
 */
export type MessageHandler = (topic: string, payload: Buffer, retained: boolean) => void;

export class MqttPublisher implements EventSink, CountSink {
  private readonly queue: Pending[] = [];
  private readonly cameraStatus = new Map<string, string>();
  /** retained state other than camera status (counts, snapshots, discovery): the latest per topic */
  private readonly retained = new Map<string, string | Buffer>();
  /** retained topics not yet sent since they changed (or since the last reconnect) */
  private readonly retainedDirty = new Set<string>();
  /** topic filters subscribed to (again after every reconnect: the session is clean) */
  private readonly subscriptions = new Map<string, MessageHandler>();
  private counters = { dropped: 0, published: 0, reconnects: 0 };
  /**
   * QoS 0 messages written to the socket and not yet known to have reached the broker. A broker
   * takes one connection's packets in order, so the PINGRESP to a PINGREQ (or the PUBACK of a QoS 1
   * message) proves that everything sent before it arrived: those count as published. When the
   * connection drops first (a broker stopped or frozen, a dead link), what is left here goes back
   * to the front of the queue and is sent again after the reconnect: at least once, never counted
   * as published and lost. Together with `queue` it holds at most queueLimit messages.
   */
  private readonly inFlight: Array<Pending & { seq: number }> = [];
  private sentSeq = 0;
  /** sentSeq at each PINGREQ that went out, oldest first */
  private readonly pingMarks: Array<{ seq: number; at: number }> = [];
  /** QoS 1/2 messages the broker has not acknowledged yet (mqtt.js keeps and resends them itself) */
  private awaitingAck = 0;
  private confirmTimer: NodeJS.Timeout | null = null;
  private closing = false;
  private everConnected = false;
  private outage = false;
  private awaitingDrain = false;

  private constructor(
    private readonly client: MqttClient,
    private readonly opts: MqttPublisherOptions,
  ) {}

  /**
   * Connects to the broker; rejects with one clear RuntimeFailure line when it cannot be reached
   * within `timeoutMs`, refuses the credentials, or the URL is unusable.
   */
  static connect(opts: MqttPublisherOptions, timeoutMs = 5000): Promise<MqttPublisher> {
    const prefix = opts.topicPrefix;
    const shown = maskSecrets(opts.url);
    const options: IClientOptions = {
      clientId: opts.clientId ?? `trt-detect-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
      clean: true,
      keepalive: 30,
      reconnectPeriod: 2000,
      connectTimeout: Math.max(1000, timeoutMs),
      queueQoSZero: false,
      resubscribe: false,
      will: { topic: `${prefix}/status`, payload: Buffer.from('offline'), qos: 1, retain: true },
      ...(opts.username !== undefined ? { username: opts.username } : {}),
      ...(opts.password !== undefined ? { password: opts.password } : {}),
      ...(opts.ca ? { ca: opts.ca } : {}),
      ...(opts.cert ? { cert: opts.cert } : {}),
      ...(opts.key ? { key: opts.key } : {}),
    };
    let client: MqttClient;
    try {
      client = mqtt.connect(opts.url, options);
    } catch (err) {
      return Promise.reject(new RuntimeFailure(`mqtt: cannot use ${shown} (${errorMessage(err)}) (check mqtt.url)`));
    }
    const publisher = new MqttPublisher(client, opts);
    return new Promise<MqttPublisher>((resolve, reject) => {
      let lastError: string | null = null;
      const watchStream = () => {
        client.stream?.on?.('error', (err: Error) => {
          lastError = errorMessage(err);
        });
      };
      watchStream();
      const fail = (why: string) => {
        cleanup();
        client.end(true);
        reject(new RuntimeFailure(`mqtt: cannot connect to ${shown} (${why}) (check mqtt.url and that the broker is running)`));
      };
      const onConnect = () => {
        cleanup();
        publisher.attach();
        publisher.onConnected(false);
        resolve(publisher);
      };
      const onError = (err: Error & { code?: number | string }) => {
        const msg = errorMessage(err);
        if (/not authori[sz]ed|bad user ?name or password/i.test(msg)) {
          cleanup();
          client.end(true);
          reject(new RuntimeFailure(`mqtt: ${shown} refused the credentials (${msg}) (check mqtt.username and mqtt.password/password_file)`));
          return;
        }
        lastError = msg;
      };
      const onClose = () => {
        // a refused/failed first connection: report it now instead of retrying until the timeout
        setImmediate(() => {
          if (!publisher.everConnected) fail(lastError ?? 'connection closed by the broker');
        });
      };
      const onReconnect = () => watchStream();
      const timer = setTimeout(() => fail(lastError ?? `no answer within ${Math.round(timeoutMs / 100) / 10} s`), timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        client.off('connect', onConnect);
        client.off('error', onError);
        client.off('close', onClose);
        client.off('reconnect', onReconnect);
      };
      client.on('connect', onConnect);
      client.on('error', onError);
      client.on('close', onClose);
      client.on('reconnect', onReconnect);
    });
  }

  /** Long-lived handlers, attached once the first connection is up. */
  private attach(): void {
    const log = this.opts.logger;
    this.client.on('connect', () => {
      this.counters.reconnects += 1;
      this.onConnected(true);
    });
    this.client.on('offline', () => {
      if (this.closing || this.outage) return;
      this.outage = true;
      log?.warn({ url: this.opts.url }, 'mqtt broker unreachable; queueing messages');
    });
    this.client.on('error', (err) => {
      if (!this.closing) log?.warn({ url: this.opts.url, error: errorMessage(err) }, 'mqtt error');
    });
    this.client.on('message', (topic, payload, packet) => {
      for (const [filter, handler] of this.subscriptions) {
        if (!topicMatches(filter, topic)) continue;
        try {
          handler(topic, payload, packet.retain);
        } catch (err) {
          log?.warn({ topic, error: errorMessage(err) }, 'mqtt message handler failed');
        }
      }
    });
    this.client.on('packetsend', (packet) => {
      if (packet.cmd === 'pingreq') this.pingMarks.push({ seq: this.sentSeq, at: Date.now() });
    });
    this.client.on('packetreceive', (packet) => {
      if (packet.cmd !== 'pingresp') return;
      const mark = this.pingMarks.shift();
      if (mark) this.confirm(mark.seq);
    });
    this.client.on('close', () => this.takeBackInFlight());
    this.confirmTimer = setInterval(() => this.checkDelivery(), CONFIRM_MS);
    this.confirmTimer.unref();
  }

  /**
   * Calls `handler` for every message on `filter` (MQTT wildcards + and #), retained ones included;
   * subscribed again after each reconnect. One handler per filter (a second call replaces it).
   */
  subscribe(filter: string, handler: MessageHandler): void {
    this.subscriptions.set(filter, handler);
    if (this.client.connected && !this.closing) this.subscribeNow(filter);
  }

  private subscribeNow(filter: string): void {
    this.client.subscribe(filter, { qos: 1 }, (err) => {
      if (err && !this.closing) this.opts.logger?.warn({ topic: filter, error: errorMessage(err) }, 'mqtt subscribe failed');
    });
  }

  /** Everything sent up to `seq` reached the broker. */
  private confirm(seq: number): void {
    let n = 0;
    while (n < this.inFlight.length && this.inFlight[n].seq <= seq) n++;
    if (n === 0) return;
    this.inFlight.splice(0, n);
    this.counters.published += n;
  }

  /** The connection is gone: unconfirmed messages go back to the front of the queue, within the limit. */
  private takeBackInFlight(): void {
    this.pingMarks.length = 0;
    if (!this.inFlight.length) return;
    const back = this.inFlight.splice(0, this.inFlight.length).map(({ topic, payload }) => ({ topic, payload }));
    this.queue.unshift(...back);
    this.trimQueue();
  }

  /** Asks for a confirmation of what was sent since the last one; a broker that stopped answering is dropped. */
  private checkDelivery(): void {
    if (this.closing || !this.client.connected) return;
    const oldest = this.pingMarks[0];
    if (oldest && Date.now() - oldest.at > PING_TIMEOUT_MS) {
      this.opts.logger?.warn(
        { url: this.opts.url, in_flight: this.inFlight.length },
        `mqtt broker answered no ping for ${PING_TIMEOUT_MS / 1000} s; reconnecting`,
      );
      this.pingMarks.length = 0;
      (this.client.stream as { destroy?: () => void } | undefined)?.destroy?.();
      return;
    }
    if ((this.inFlight.length || this.awaitingAck) && !this.pingMarks.length) this.client.sendPing();
  }

  /** Drops the oldest messages (unconfirmed ones first) while more than queueLimit are held. */
  private trimQueue(): void {
    while (this.queue.length + this.inFlight.length > this.opts.queueLimit) {
      if (this.inFlight.length) this.inFlight.shift();
      else this.queue.shift();
      this.counters.dropped += 1;
    }
  }

  private onConnected(again: boolean): void {
    this.everConnected = true;
    if (again) {
      this.outage = false;
      this.opts.logger?.info({ url: this.opts.url, queued: this.queue.length, dropped: this.counters.dropped }, 'mqtt reconnected');
    }
    this.send(`${this.opts.topicPrefix}/status`, 'online', true, 1);
    for (const [camera, payload] of this.cameraStatus) this.send(this.cameraTopic(camera, 'status'), payload, this.retainStatus, 1);
    for (const topic of this.retained.keys()) this.retainedDirty.add(topic);
    this.awaitingDrain = false; // a new socket: the old one's drain never comes
    for (const filter of this.subscriptions.keys()) this.subscribeNow(filter);
    this.flush();
  }

  private get retainStatus(): boolean {
    return this.opts.retainStatus ?? true;
  }

  private cameraTopic(camera: string, leaf: string): string {
    return `${this.opts.topicPrefix}/${camera}/${leaf}`;
  }

  private writable(): boolean {
    if (!this.client.connected || this.closing) return false;
    const pending = (this.client.stream as { writableLength?: number } | undefined)?.writableLength ?? 0;
    return pending < SOCKET_HIGH_WATER;
  }

  /** Retained state and status: QoS 1, counted when the broker acknowledges it (which also confirms all sent before). */
  private send(topic: string, payload: string | Buffer, retain: boolean, qos: 0 | 1 | 2): void {
    const mark = this.sentSeq;
    if (qos > 0) this.awaitingAck += 1;
    this.client.publish(topic, payload, { qos, retain }, (err) => {
      if (qos > 0) this.awaitingAck -= 1;
      if (err) {
        if (!this.closing) this.opts.logger?.debug({ topic, error: errorMessage(err) }, 'mqtt publish failed');
        return;
      }
      this.counters.published += 1;
      if (qos > 0) this.confirm(mark);
    });
  }

  /** A queued message (detections, events, stats): kept in `inFlight` until confirmed when sent with QoS 0. */
  private sendQueued(item: Pending): void {
    if (this.opts.qos > 0) {
      this.send(item.topic, item.payload, false, this.opts.qos);
      return;
    }
    this.client.publish(item.topic, item.payload, { qos: 0, retain: false });
    this.inFlight.push({ ...item, seq: ++this.sentSeq });
  }

  private enqueue(topic: string, payload: string | Buffer): void {
    if (this.queue.length === 0 && this.writable()) {
      this.sendQueued({ topic, payload });
      this.trimQueue();
      return;
    }
    if (this.opts.queueLimit <= 0) {
      this.counters.dropped += 1;
      return;
    }
    this.queue.push({ topic, payload });
    this.trimQueue();
    this.flush();
  }

  private flush(): void {
    for (const topic of this.retainedDirty) {
      if (!this.writable()) break;
      this.retainedDirty.delete(topic);
      const payload = this.retained.get(topic) ?? '';
      if (payload.length === 0) this.retained.delete(topic);
      this.send(topic, payload, true, 1);
    }
    while (this.queue.length > 0 && this.writable()) this.sendQueued(this.queue.shift() as Pending);
    if ((this.queue.length > 0 || this.retainedDirty.size > 0) && this.client.connected && !this.closing && !this.awaitingDrain) {
      // the socket is congested: try again when it drains (one listener, however often we get here)
      const stream = this.client.stream as NodeJS.WritableStream | undefined;
      if (stream?.once) {
        this.awaitingDrain = true;
        stream.once('drain', () => {
          this.awaitingDrain = false;
          this.flush();
        });
      }
    }
  }

  publishDetections(camera: string, message: DetectionMessage): void {
    this.enqueue(this.cameraTopic(camera, 'detections'), JSON.stringify(message));
  }

  /** Retained latest state of a camera; re-published after every reconnect, never dropped. */
  publishCameraStatus(camera: string, status: CameraStatus): void {
    // a status reason may quote a camera URL or a program's error text: masked like every output
    const payload = maskSecrets(JSON.stringify(status));
    this.cameraStatus.set(camera, payload);
    if (this.writable()) this.send(this.cameraTopic(camera, 'status'), payload, this.retainStatus, 1);
  }

  /**
   * The cameras with a retained status on the broker under this prefix (`P/+/status`): those of a
   * previous run, which may still say `streaming` after a crash. Waits `waitMs` for the broker's
   * retained messages after the subscription is acknowledged; [] when not connected.
   */
  async retainedCameras(waitMs = 400): Promise<string[]> {
    if (!this.client.connected) return [];
    const prefix = `${this.opts.topicPrefix}/`;
    const found = new Set<string>();
    const onMessage = (topic: string, payload: Buffer, packet: { retain?: boolean }) => {
      if (!packet.retain || payload.length === 0 || !topic.startsWith(prefix) || !topic.endsWith('/status')) return;
      const camera = topic.slice(prefix.length, -'/status'.length);
      if (camera && !camera.includes('/')) found.add(camera);
    };
    const filter = `${this.opts.topicPrefix}/+/status`;
    this.client.on('message', onMessage);
    try {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, waitMs * 4);
        this.client.subscribe(filter, { qos: 1 }, () => {
          clearTimeout(timer);
          setTimeout(resolve, waitMs);
        });
      });
    } finally {
      this.client.off('message', onMessage);
      this.client.unsubscribe(filter);
    }
    return [...found];
  }

  /** The cameras whose status this publisher sent. */
  get announcedCameras(): string[] {
    return [...this.cameraStatus.keys()];
  }

  /**
   * Sets the retained status of these cameras to `{"state":"offline","fps":0}` (with the last
   * error of a camera that ended in `error`): at start for a previous run's cameras, on a clean
   * stop, for a camera a reload removed. The Last Will covers `P/status` only.
   */
  markCamerasOffline(cameras: Iterable<string>): void {
    for (const camera of new Set(cameras)) {
      const last = this.cameraStatus.get(camera);
      const error = last ? (JSON.parse(last) as CameraStatus).error : undefined;
      const lastState = last ? (JSON.parse(last) as CameraStatus).state : undefined;
      if (lastState === 'offline') continue; // said already
      this.publishCameraStatus(camera, { state: 'offline', fps: 0, ...(lastState === 'error' && error ? { error } : {}) });
    }
  }

  /**
   * Clears the retained status topic of every camera this publisher announced (an empty retained
   * message deletes it): before it is replaced by one with another broker or topic prefix, so no
   * `streaming` is left behind where nobody updates it.
   */
  forgetCameras(): void {
    for (const camera of this.cameraStatus.keys()) {
      if (this.writable()) this.send(this.cameraTopic(camera, 'status'), '', true, 1);
    }
    this.cameraStatus.clear();
  }

  /** An object event on `P/events` (not retained; queued like detections). */
  event(ev: ObjectEvent): void {
    this.enqueue(`${this.opts.topicPrefix}/events`, JSON.stringify(ev));
  }

  /** The latest best snapshot of a `label` object on `P/<camera>/<label>/snapshot` (retained JPEG bytes). */
  snapshot(camera: string, _objectId: string, label: string, jpeg: Buffer, _path?: string | null): void {
    this.publishRetained(this.cameraTopic(camera, `${label}/snapshot`), jpeg);
  }

  /** The number of active objects on `P/<camera>/<label>` or `P/<camera>/<zone>/<label>` (retained). */
  count(camera: string, zone: string | null, label: string, value: number): void {
    this.publishRetained(this.cameraTopic(camera, zone === null ? label : `${zone}/${label}`), String(value));
  }

  /** P/status: where `online` and `offline` are (the availability of everything published here). */
  get statusTopic(): string {
    return `${this.opts.topicPrefix}/status`;
  }

  get topicPrefix(): string {
    return this.opts.topicPrefix;
  }

  /**
   * Retained state under the full `topic` (counts, snapshots, Home Assistant discovery): the
   * latest payload per topic is kept, published when the broker can take it and again after every
   * reconnect, never dropped (a payload replaced before it went out is not sent). An empty
   * payload deletes the broker's retained message and forgets the topic.
   */
  publishRetained(topic: string, payload: string | Buffer): void {
    this.retained.set(topic, payload);
    this.retainedDirty.add(topic);
    this.flush();
  }

  publishStats(stats: unknown): void {
    this.enqueue(`${this.opts.topicPrefix}/stats`, maskSecrets(JSON.stringify(stats)));
  }

  get stats(): MqttStats {
    return { connected: this.client.connected, queued: this.queue.length + this.inFlight.length, ...this.counters };
  }

  /**
   * Publishes the retained `offline`, waits for what is in flight (at most `timeoutMs`), closes.
   * Messages still queued for an absent broker are counted as dropped.
   */
  async close(timeoutMs = 2000): Promise<void> {
    if (this.closing) return;
    const deadline = Date.now() + timeoutMs;
    if (this.client.connected) {
      this.flush();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
        const mark = this.sentSeq;
        this.client.publish(`${this.opts.topicPrefix}/status`, 'offline', { qos: 1, retain: true }, (err) => {
          if (!err) this.confirm(mark);
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.closing = true;
    if (this.confirmTimer) clearInterval(this.confirmTimer);
    // the offline message's PUBACK confirmed what was sent before it; anything else did not arrive for sure
    this.counters.dropped += this.queue.length + this.inFlight.length;
    this.queue.length = 0;
    this.inFlight.length = 0;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(
        () => {
          this.client.end(true);
          resolve();
        },
        Math.max(100, deadline - Date.now()),
      );
      this.client.end(false, {}, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

/** Whether an MQTT topic filter (with + and #) matches a topic. */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
