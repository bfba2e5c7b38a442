/**
 * The live view's stream: `GET /api/cameras/<camera>/live` upgraded to a WebSocket. The camera's
 * one H.264 encode (sinks/encoded-stream.ts) is muxed into fragmented MP4 here (media/fmp4.ts, no
 * second encode, no child process) for the browser's Media Source Extensions. Messages: first a
 * text message with the RFC 6381 codec string (`avc1.64001f`), then the init segment, then one
 * fragment per picture, starting at a keyframe.
 *
 * Bounds: at most MAX_VIEWERS viewers at once (more are refused with 503); each viewer's units
 * wait in its own queue of QUEUE_UNITS in the stream, the next one is sent once the previous one
 * was handed to the socket, so a slow browser loses its own pictures (until the next keyframe)
 * and never holds up the camera or the other viewers. Messages from the browser are not read
 * (at most 1 KB, else the connection closes). A restarted encoder (new size or rate) closes the
 * socket with 4000; the page connects again.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { initSegment, mediaFragment } from '../media/fmp4.js';
import { avccUnit, type CodecConfig, type EncodedStream, type EncodedUnit } from '../sinks/encoded-stream.js';

export const MAX_VIEWERS = 16;
const QUEUE_UNITS = 30;

export interface LiveSource {
  /** the camera's encoded stream, null for an unknown or disabled camera */
  encodedStream(camera: string): EncodedStream | null;
}

/** Answers an upgrade that is refused: a plain HTTP response, then the socket closes. */
export function refuseUpgrade(socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify({ error: message });
  const reason =
    { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 429: 'Too Many Requests', 503: 'Service Unavailable' }[status] ?? 'Error';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

export class LiveStreams {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 1024, perMessageDeflate: false, clientTracking: true });
  /** viewers now per camera */
  private readonly viewers = new Map<string, number>();

  constructor(
    private readonly source: LiveSource,
    private readonly logger: Logger,
  ) {}

  /** The endpoint of a camera's stream. */
  static path(camera: string): string {
    return `/api/cameras/${camera}/live`;
  }

  get viewerCount(): number {
    return [...this.viewers.values()].reduce((a, b) => a + b, 0);
  }

  /** Takes over an authenticated upgrade request for `camera`. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, camera: string): void {
    const stream = this.source.encodedStream(camera);
    if (!stream) return refuseUpgrade(socket, 404, `no camera "${camera}"`);
    if (this.viewerCount >= MAX_VIEWERS) return refuseUpgrade(socket, 503, `too many live viewers (at most ${MAX_VIEWERS})`);
    this.wss.handleUpgrade(req, socket, head, (ws) => this.serve(ws, stream, camera, req.socket.remoteAddress ?? '?'));
  }

  private serve(ws: WebSocket, stream: EncodedStream, camera: string, client: string): void {
    this.viewers.set(camera, (this.viewers.get(camera) ?? 0) + 1);
    let config: CodecConfig | null = null;
    let sequence = 0;
    const send = (data: Buffer | string) =>
      new Promise<void>((resolve) => {
        if (ws.readyState !== ws.OPEN) return resolve();
        ws.send(data, () => resolve());
      });
    const onUnit = async (unit: EncodedUnit): Promise<void> => {
      if (ws.readyState !== ws.OPEN) return;
      if (unit.config !== config) {
        if (config) {
          ws.close(4000, 'the stream restarted');
          return;
        }
        config = unit.config;
        await send(config.codecString);
        await send(initSegment({ avcC: config.avcC, width: config.width, height: config.height, timescale: config.timescale }));
      }
      const c = config;
      const fragment = mediaFragment(++sequence, {
        data: avccUnit(unit),
        decodeTime: unit.pts * c.timescale,
        duration: c.fps > 0 ? c.timescale / c.fps : c.timescale / 25,
        keyframe: unit.keyframe,
      });
      await send(fragment);
    };
    const sub = stream.subscribe(onUnit, { queueLimit: QUEUE_UNITS, name: `live ${client}`, onEnd: () => ws.close(1001, 'the camera stopped') });
    this.logger.info({ camera, client }, 'live viewer connected');
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      sub.unsubscribe();
      const n = (this.viewers.get(camera) ?? 1) - 1;
      if (n > 0) this.viewers.set(camera, n);
      else this.viewers.delete(camera);
      this.logger.info({ camera, client, sent: sequence, dropped: sub.dropped }, 'live viewer left');
    };
    ws.on('close', close);
    ws.on('error', (err) => {
      this.logger.debug({ camera, client, err: errorMessage(err) }, 'live viewer error');
      close();
    });
  }

  /** Closes every viewer (the HTTP server stops). */
  close(): void {
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
  }
}
