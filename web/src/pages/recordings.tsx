import { useEffect, useRef, useState } from 'preact/hooks';
import { toLogin, type Camera, type DayRecordings, type Segment } from '../api';
import { parseDetections, type SegmentDetections } from '../detections';
import { bytes, clock } from '../format';
import { usePoll } from '../hooks';
import { startOverlay, type Overlay } from '../overlay';

const HOURS = Array.from({ length: 24 }, (_, h) => h);
type Kind = Segment['kind'];
const KIND_NAMES: Record<Kind, string> = { annotated: 'Annotated', camera: 'Camera stream' };
/** how often the detections of the segment being recorded are fetched again */
const GROWING_REFETCH_MS = 3000;

const overlaps = (a: Segment, b: Segment) => a.start <= b.end && b.start <= a.end;

/** The segments shown when `kind` is preferred: those of that kind, and of the other kind only where none of it covers the time. */
function preferKind(segments: Segment[], kind: Kind): Segment[] {
  const mine = segments.filter((s) => s.kind === kind);
  return segments.filter((s) => s.kind === kind || !mine.some((m) => overlaps(m, s)));
}

/** The segment of `kind` that was recording at wall time `t` (seconds since the epoch). */
function segmentAt(segments: Segment[], kind: Kind, t: number): Segment | null {
  return segments.find((s) => s.kind === kind && s.start <= t + 0.5 && t <= s.end + 0.5) ?? null;
}

/**
 * A segment's video; for a camera-stream segment with detections, a canvas over it with the boxes
 * of each frame (overlay.ts). The detections are fetched once, and again every few seconds while
 * the segment is still being recorded (`growing`).
 */
function SegmentPlayer({
  segment,
  growing,
  startAt,
  videoRef,
}: {
  segment: Segment;
  growing: boolean;
  startAt: number;
  videoRef: { current: HTMLVideoElement | null };
}) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const wrap = useRef<HTMLDivElement>(null);
  const detections = useRef<SegmentDetections | null>(null);
  const overlay = useRef<Overlay | null>(null);
  const [state, setState] = useState<string | null>(null);
  const url = segment.detections_url;
  useEffect(() => {
    detections.current = null;
    if (!url) return;
    let stop = false;
    let timer: number | undefined;
    const load = async () => {
      try {
        const res = await fetch(url, { credentials: 'same-origin', cache: 'no-store' });
        if (res.status === 401) return toLogin();
        if (!res.ok) throw new Error(`${res.status} ${res.statusText}`);
        const d = parseDetections(await res.text());
        if (stop) return;
        detections.current = d;
        overlay.current?.redraw();
        setState(`${d.frames.length} frames with detections`);
      } catch (err) {
        if (!stop) setState(`detections not loaded: ${(err as Error).message}`);
      }
      if (!stop && growing) timer = window.setTimeout(() => void load(), GROWING_REFETCH_MS);
    };
    void load();
    return () => {
      stop = true;
      clearTimeout(timer);
    };
  }, [url, growing]);
  useEffect(() => {
    const video = videoRef.current;
    if (!url || !video || !canvas.current) return;
    overlay.current = startOverlay(video, canvas.current, () => detections.current);
    return () => {
      overlay.current?.stop();
      overlay.current = null;
    };
  }, [url]);
  const seek = (e: Event) => {
    const video = e.currentTarget as HTMLVideoElement;
    if (startAt > 0 && startAt < video.duration) video.currentTime = startAt;
  };
  return (
    <div class="overlay-wrap" ref={wrap}>
      {/* the video's own full screen would leave the canvas behind: the button below shows both */}
      <video
        class="player"
        ref={videoRef}
        src={segment.url}
        controls
        {...(url ? { controlslist: 'nofullscreen' } : {})}
        autoplay
        muted
        playsInline
        onLoadedMetadata={seek}
        data-kind={segment.kind}
      />
      {url && <canvas class="overlay" ref={canvas} aria-hidden="true" data-state={state ?? 'loading'} />}
      {url && (
        <button
          class="ghost small fullscreen"
          title="Full screen, with the boxes"
          onClick={() => (document.fullscreenElement ? void document.exitFullscreen() : void wrap.current?.requestFullscreen())}
        >
          Full screen
        </button>
      )}
    </div>
  );
}

/** Segments on a bar from `from` to `from + span` (seconds since the epoch). */
function Track({
  segments,
  from,
  span,
  playing,
  onPick,
}: {
  segments: Segment[];
  from: number;
  span: number;
  playing: Segment | null;
  onPick: (s: Segment) => void;
}) {
  const pos = (t: number) => Math.min(100, Math.max(0, ((t - from) / span) * 100));
  return (
    <div class="track">
      {segments
        .filter((s) => s.end >= from && s.start <= from + span)
        .map((s) => (
          <button
            key={s.file}
            class={`seg ${s.kind} ${playing?.file === s.file ? 'playing' : ''}`}
            style={{ left: `${pos(s.start)}%`, width: `max(3px, ${pos(s.end) - pos(s.start)}%)` }}
            title={`${clock(s.start)}–${clock(s.end)}`}
            onClick={() => onPick(s)}
          />
        ))}
    </div>
  );
}

/** A day as a bar of 24 hours (hours with events marked; a click picks the hour), and the picked hour in minutes. */
function Timeline(props: { day: DayRecordings; hour: number; onHour: (h: number) => void; playing: Segment | null; onPick: (s: Segment) => void }) {
  const { day, hour, onHour } = props;
  const midnight = new Date(`${day.date}T00:00:00`).getTime() / 1000;
  const hourStart = new Date(`${day.date}T${String(hour).padStart(2, '0')}:00:00`).getTime() / 1000;
  return (
    <div class="timeline" aria-label={`recordings of ${day.date}`}>
      <div class="hours">
        {HOURS.map((h) => (
          <button
            key={h}
            class={`hour ${day.event_hours.includes(h) ? 'has-events' : ''} ${h === hour ? 'picked' : ''}`}
            title={`${String(h).padStart(2, '0')}:00${day.event_hours.includes(h) ? ', with events' : ''}`}
            onClick={() => onHour(h)}
          >
            {h % 3 === 0 && <span>{String(h).padStart(2, '0')}</span>}
          </button>
        ))}
      </div>
      <Track segments={day.segments} from={midnight} span={86400} playing={props.playing} onPick={props.onPick} />
      <div class="zoom-label">
        {String(hour).padStart(2, '0')}:00–{String(hour).padStart(2, '0')}:59
      </div>
      <Track segments={day.segments} from={hourStart} span={3600} playing={props.playing} onPick={props.onPick} />
    </div>
  );
}

export function RecordingsPage({ camera: chosen }: { camera?: string }) {
  const cams = usePoll<Camera[]>('/api/cameras', 0).data;
  const camera = chosen ?? cams?.find((c) => c.recording)?.name ?? cams?.[0]?.name ?? null;
  const [date, setDate] = useState<string>('');
  const url = camera ? `/api/recordings/${encodeURIComponent(camera)}${date ? `?date=${date}` : ''}` : null;
  const { data: day, error } = usePoll<DayRecordings>(url, 15000);
  const [playing, setPlaying] = useState<Segment | null>(null);
  const [startAt, setStartAt] = useState(0);
  const [view, setView] = useState<Kind>('annotated');
  const video = useRef<HTMLVideoElement | null>(null);
  const [pickedHour, setHour] = useState<number | null>(null);
  useEffect(() => {
    setPlaying(null);
    setHour(null);
  }, [camera, date]);
  const all = day?.segments ?? [];
  const kinds = new Set(all.map((s) => s.kind));
  const shown = preferKind(all, view);
  const play = (s: Segment, at = 0) => {
    setStartAt(at);
    setPlaying(s);
  };
  /** Shows the other kind; what plays switches to it at the same time where it has a segment (record.mode both). */
  const switchView = (kind: Kind) => {
    setView(kind);
    if (!playing || playing.kind === kind) return;
    const wall = playing.start + (video.current?.currentTime ?? 0);
    const other = segmentAt(all, kind, wall) ?? all.find((s) => s.kind === kind && overlaps(s, playing));
    if (other) play(other, Math.max(0, wall - other.start));
  };
  // the same time in the other kind (record.mode both)
  const counterpart = playing ? all.find((s) => s.kind !== playing.kind && overlaps(s, playing)) : undefined;
  const current = playing ? (all.find((s) => s.file === playing.file) ?? playing) : null;
  const newest = (kind: Kind) => [...all].reverse().find((s) => s.kind === kind);
  const growing = current !== null && newest(current.kind)?.file === current.file && Date.now() / 1000 - current.end < 120;
  const last = shown[shown.length - 1];
  const hour = pickedHour ?? (last ? new Date(last.start * 1000).getHours() : new Date().getHours());
  const inHour = shown.filter((s) => new Date(s.start * 1000).getHours() === hour || new Date(s.end * 1000).getHours() === hour);
  if (!cams) return <p class="muted">Loading cameras…</p>;
  if (!camera) return <p class="muted">No cameras are enabled in the config.</p>;
  return (
    <section>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Camera
          <select value={camera} onInput={(e) => (location.hash = `#/recordings/${encodeURIComponent((e.target as HTMLSelectElement).value)}`)}>
            {cams.map((c) => (
              <option key={c.name}>{c.name}</option>
            ))}
          </select>
        </label>
        <label>
          Day
          <select value={day?.date ?? date} onInput={(e) => setDate((e.target as HTMLSelectElement).value)}>
            {(day?.days.length ? day.days : [day?.date ?? '']).map((d) => (
              <option key={d}>{d}</option>
            ))}
          </select>
        </label>
        {kinds.size > 1 && (
          <label>
            Stream
            <select value={view} onInput={(e) => switchView((e.target as HTMLSelectElement).value as Kind)} data-view>
              <option value="annotated">{KIND_NAMES.annotated}</option>
              <option value="camera">{KIND_NAMES.camera}</option>
            </select>
          </label>
        )}
      </form>
      {error && <p class="warn">{error}</p>}
      {day && (
        <>
          <Timeline day={{ ...day, segments: shown }} hour={hour} onHour={setHour} playing={playing} onPick={(s) => play(s)} />
          <p class="legend">
            <span class="swatch rec" /> recorded {kinds.has('camera') && <span class="swatch cam" />}
            {kinds.has('camera') && ' camera stream'} <span class="swatch ev" /> hours with events
          </p>
          {playing && (
            <div class="now-playing">
              <SegmentPlayer segment={playing} growing={growing} startAt={startAt} videoRef={video} key={playing.url} />
              <p>
                <span class={`kind-badge ${playing.kind}`} data-playing-kind={playing.kind}>
                  {KIND_NAMES[playing.kind]}
                  {playing.kind === 'camera' && (playing.detections_url ? ' · boxes from the detections' : ' · no detections file')}
                </span>{' '}
                {counterpart && (
                  <>
                    <button class="ghost small" onClick={() => switchView(counterpart.kind)} data-switch={counterpart.kind}>
                      Show {KIND_NAMES[counterpart.kind].toLowerCase()}
                    </button>{' '}
                  </>
                )}
                {camera} · {day.date} {clock(playing.start)}–{clock(playing.end)} ·{' '}
                <a href={`${playing.url}?download=1`} download>
                  Download
                </a>
              </p>
            </div>
          )}
          {inHour.length === 0 ? (
            <p class="muted">
              No recordings on {day.date} between {hour}:00 and {hour}:59.
            </p>
          ) : (
            <table class="segments">
              <thead>
                <tr>
                  <th>Start</th>
                  <th>End</th>
                  <th>Size</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {[...inHour].reverse().map((s) => (
                  <tr key={s.file} class={playing?.file === s.file ? 'playing' : ''}>
                    <td>
                      {clock(s.start)}
                      {s.kind === 'camera' && <span class="chip kind-chip">camera</span>}
                    </td>
                    <td>{clock(s.end)}</td>
                    <td>{bytes(s.size)}</td>
                    <td class="actions">
                      <button class="ghost small" onClick={() => play(s)} data-play={s.file}>
                        Play
                      </button>
                      <a class="button ghost small" href={`${s.url}?download=1`} download>
                        Download
                      </a>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </section>
  );
}
