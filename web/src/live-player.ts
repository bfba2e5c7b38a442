/**
 * Plays a camera's live stream: fragmented MP4 (the daemon remuxes its encoder's H.264, no second
 * encode) over a WebSocket into Media Source Extensions. The first message is the codec string,
 * then the init segment, then one media fragment per message. A player that falls behind jumps
 * to the live edge; a stream that fails calls `fallback` (the page shows the JPEG refresh).
 */
export function startLivePlayer(video: HTMLVideoElement, url: string, fallback: () => void): () => void {
  let ws: WebSocket | null = null;
  let stopped = false;
  const source = new MediaSource();
  video.src = URL.createObjectURL(source);
  let buffer: SourceBuffer | null = null;
  const queue: ArrayBuffer[] = [];
  const fail = () => {
    if (stopped) return;
    stop();
    fallback();
  };
  const pump = () => {
    if (!buffer || buffer.updating || queue.length === 0) return;
    try {
      // keep about 10 s behind the live edge, drop older media
      const b = buffer.buffered;
      if (b.length && b.end(b.length - 1) - b.start(0) > 20 && !buffer.updating) {
        buffer.remove(b.start(0), b.end(b.length - 1) - 10);
        return;
      }
      buffer.appendBuffer(queue.shift() as ArrayBuffer);
    } catch {
      fail();
    }
  };
  const onUpdate = () => {
    const b = buffer?.buffered;
    if (b && b.length) {
      const edge = b.end(b.length - 1);
      if (video.currentTime < b.start(0) || edge - video.currentTime > 3) video.currentTime = Math.max(b.start(0), edge - 0.5);
      if (video.paused) void video.play().catch(() => undefined);
    }
    pump();
  };
  source.addEventListener('sourceopen', () => {
    const wsUrl = new URL(url, location.href);
    wsUrl.protocol = wsUrl.protocol === 'https:' ? 'wss:' : 'ws:';
    ws = new WebSocket(wsUrl.toString());
    ws.binaryType = 'arraybuffer';
    ws.onmessage = (m: MessageEvent) => {
      if (typeof m.data === 'string') {
        const mime = `video/mp4; codecs="${m.data}"`;
        if (buffer || !MediaSource.isTypeSupported(mime)) return buffer ? undefined : fail();
        try {
          buffer = source.addSourceBuffer(mime);
          buffer.mode = 'segments';
          buffer.addEventListener('updateend', onUpdate);
          buffer.addEventListener('error', fail);
        } catch {
          fail();
        }
        return;
      }
      if (queue.length > 50) queue.splice(0, queue.length - 1); // far behind: keep the newest
      queue.push(m.data as ArrayBuffer);
      pump();
    };
    ws.onerror = fail;
    ws.onclose = () => {
      if (!stopped) fail();
    };
  });
  video.addEventListener('error', fail);
  const stop = () => {
    stopped = true;
    ws?.close();
    try {
      if (source.readyState === 'open') source.endOfStream();
    } catch {
      // already ended
    }
    URL.revokeObjectURL(video.src);
  };
  return stop;
}
