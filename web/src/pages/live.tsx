import { useEffect, useRef, useState } from 'preact/hooks';
import type { Camera } from '../api';
import { usePoll } from '../hooks';
import { startLivePlayer } from '../live-player';

/** How often the still image is fetched again where there is no video stream. */
const JPEG_INTERVAL_MS = 500;

/** The latest annotated frame, fetched again once the previous one loaded. */
function JpegView({ camera, onFrame }: { camera: Camera; onFrame: () => void }) {
  const [src, setSrc] = useState(`${camera.latest_jpeg_url}?t=${Date.now()}`);
  const timer = useRef<number | undefined>(undefined);
  useEffect(() => () => clearTimeout(timer.current), []);
  const next = () => {
    onFrame();
    timer.current = window.setTimeout(() => setSrc(`${camera.latest_jpeg_url}?t=${Date.now()}`), JPEG_INTERVAL_MS);
  };
  const retry = () => {
    timer.current = window.setTimeout(() => setSrc(`${camera.latest_jpeg_url}?t=${Date.now()}`), 2000);
  };
  return <img class="feed" src={src} alt={`${camera.name}, latest frame`} onLoad={next} onError={retry} data-kind="jpeg" />;
}

/** H.264 from the camera's encoder over a WebSocket into Media Source Extensions; the still image until it plays. */
function VideoView({ camera, onFallback }: { camera: Camera; onFallback: () => void }) {
  const video = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    if (!video.current || !camera.live_url) return;
    const stop = startLivePlayer(video.current, camera.live_url, onFallback);
    return stop;
  }, [camera.live_url]);
  return <video class="feed" ref={video} muted autoplay playsInline data-kind="mse" poster={camera.latest_jpeg_url} />;
}

export function Tile({ camera, alone }: { camera: Camera; alone?: boolean }) {
  const mse = typeof MediaSource !== 'undefined' && camera.live_url !== null;
  const [fallback, setFallback] = useState(!mse);
  const [seen, setSeen] = useState(false);
  // the stream failed or restarted (a new size or rate): the still image now, the stream again later
  useEffect(() => {
    if (!mse || !fallback) return;
    const t = window.setTimeout(() => setFallback(false), 15_000);
    return () => clearTimeout(t);
  }, [fallback, mse]);
  const streaming = camera.state === 'streaming';
  const body =
    !streaming && !seen ? (
      <div class="feed placeholder">
        <span>{camera.state === 'ended' ? 'The source has ended' : camera.state === 'error' ? (camera.error ?? 'error') : `${camera.state}…`}</span>
      </div>
    ) : fallback ? (
      <JpegView camera={camera} onFrame={() => setSeen(true)} />
    ) : (
      <VideoView camera={camera} onFallback={() => setFallback(true)} />
    );
  return (
    <figure class={`tile ${alone ? 'alone' : ''}`}>
      <a
        href={alone ? '#/live' : `#/live/${encodeURIComponent(camera.name)}`}
        class="tile-link"
        title={alone ? 'Back to all cameras' : `Open ${camera.name} alone`}
      >
        {body}
        <figcaption>
          <span class={`dot ${camera.state}`} />
          <span class="name">{camera.name}</span>
          <span class="state">{camera.state}</span>
          <span class="fps">{camera.fps.toFixed(1)} FPS</span>
        </figcaption>
      </a>
    </figure>
  );
}

export function LivePage({ only }: { only?: string }) {
  const { data, error } = usePoll<Camera[]>('/api/cameras', 3000);
  if (!data) return <p class="muted">{error ?? 'Loading cameras…'}</p>;
  const cams = only ? data.filter((c) => c.name === only) : data;
  if (only && cams.length === 0) return <p class="muted">No camera “{only}”.</p>;
  if (cams.length === 0) return <p class="muted">No cameras are enabled in the config.</p>;
  return (
    <section>
      {only && (
        <p class="crumbs">
          <a href="#/live">← All cameras</a>
        </p>
      )}
      <div class={only ? 'grid one' : 'grid'}>
        {cams.map((c) => (
          <Tile key={c.name} camera={c} alone={Boolean(only)} />
        ))}
      </div>
    </section>
  );
}
