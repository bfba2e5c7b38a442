/**
 * Draws a camera-stream recording's detections over its <video>: a canvas laid over the element,
 * redrawn for every frame the video presents (requestVideoFrameCallback and its mediaTime; where
 * a browser lacks it, requestAnimationFrame and currentTime), with the line of the detections file
 * at or before that time (detections.ts frameAt). Boxes are scaled from the source frame size to
 * the picture's rectangle inside the element (object-fit: contain: letterboxed or pillarboxed).
 */
import { caption, classColour, frameAt, videoRect, type SegmentDetections } from './detections';

export interface Overlay {
  /** draws again now (new detections, a resize) */
  redraw(): void;
  stop(): void;
}

export function startOverlay(video: HTMLVideoElement, canvas: HTMLCanvasElement, detections: () => SegmentDetections | null): Overlay {
  let stopped = false;
  let handle = 0;
  let lastTime = video.currentTime;
  const ctx = canvas.getContext('2d');

  const draw = (t: number) => {
    lastTime = t;
    if (!ctx) return;
    const dpr = window.devicePixelRatio || 1;
    const cw = video.clientWidth;
    const ch = video.clientHeight;
    const pw = Math.round(cw * dpr);
    const ph = Math.round(ch * dpr);
    if (canvas.width !== pw || canvas.height !== ph) {
      canvas.width = pw;
      canvas.height = ph;
    }
    canvas.style.left = `${video.offsetLeft}px`;
    canvas.style.top = `${video.offsetTop}px`;
    canvas.style.width = `${cw}px`;
    canvas.style.height = `${ch}px`;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, pw, ph);
    const d = detections();
    const frame = d && video.videoWidth > 0 ? frameAt(d, t) : null;
    if (!d || !frame || frame.boxes.length === 0) return;
    const rect = videoRect(cw, ch, video.videoWidth, video.videoHeight);
    const sx = rect.w / (d.width ?? video.videoWidth);
    const sy = rect.h / (d.height ?? video.videoHeight);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const line = Math.max(2, Math.round(Math.min(rect.w, rect.h) / 360));
    const font = Math.max(11, Math.min(16, Math.round(rect.h / 40)));
    ctx.font = `600 ${font}px system-ui, sans-serif`;
    ctx.textBaseline = 'top';
    const placed = frame.boxes.map((b) => ({
      b,
      colour: classColour(b.class_id),
      x1: rect.x + Math.max(0, b.x1) * sx,
      y1: rect.y + Math.max(0, b.y1) * sy,
      x2: rect.x + Math.min(d.width ?? video.videoWidth, b.x2) * sx,
      y2: rect.y + Math.min(d.height ?? video.videoHeight, b.y2) * sy,
    }));
    // all frames first, then all labels, so that a neighbour's box never crosses a label (as osd.cc)
    ctx.lineWidth = line;
    for (const p of placed) {
      ctx.strokeStyle = `rgb(${p.colour.join(',')})`;
      ctx.strokeRect(p.x1 + line / 2, p.y1 + line / 2, Math.max(0, p.x2 - p.x1 - line), Math.max(0, p.y2 - p.y1 - line));
    }
    const pad = 3;
    for (const p of placed) {
      const text = caption(p.b);
      const w = Math.min(rect.w, ctx.measureText(text).width + 2 * pad);
      const h = font + 2 * pad;
      const x = Math.max(rect.x, Math.min(p.x1, rect.x + rect.w - w));
      let y = p.y1 - h; // above the box
      if (y < rect.y) y = p.y1; // no room: inside its top edge
      const [r, g, b] = p.colour;
      ctx.fillStyle = `rgb(${r},${g},${b})`;
      ctx.fillRect(x, y, w, h);
      ctx.fillStyle = 0.299 * r + 0.587 * g + 0.114 * b > 140 ? '#000' : '#fff';
      ctx.fillText(text, x + pad, y + pad, w - 2 * pad);
    }
  };

  if ('requestVideoFrameCallback' in video) {
    const onFrame = (_now: number, meta: VideoFrameCallbackMetadata) => {
      if (stopped) return;
      draw(meta.mediaTime);
      handle = video.requestVideoFrameCallback(onFrame);
    };
    handle = video.requestVideoFrameCallback(onFrame);
  } else {
    const onTick = () => {
      if (stopped) return;
      draw((video as HTMLVideoElement).currentTime);
      handle = requestAnimationFrame(onTick);
    };
    handle = requestAnimationFrame(onTick);
  }
  // a seek while paused presents a frame (the callback fires); these cover size and source changes
  const again = () => draw(video.currentTime);
  const resized = new ResizeObserver(() => draw(lastTime));
  resized.observe(video);
  video.addEventListener('loadedmetadata', again);
  video.addEventListener('seeked', again);
  video.addEventListener('emptied', again);
  return {
    redraw: () => draw(video.paused ? video.currentTime : lastTime),
    stop: () => {
      stopped = true;
      if ('cancelVideoFrameCallback' in video) video.cancelVideoFrameCallback(handle);
      else cancelAnimationFrame(handle);
      resized.disconnect();
      video.removeEventListener('loadedmetadata', again);
      video.removeEventListener('seeked', again);
      video.removeEventListener('emptied', again);
      ctx?.clearRect(0, 0, canvas.width, canvas.height);
    },
  };
}
