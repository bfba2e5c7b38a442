import { useEffect, useState } from 'preact/hooks';
import type { Camera, DayRecordings, Segment } from '../api';
import { bytes, clock } from '../format';
import { usePoll } from '../hooks';

const HOURS = Array.from({ length: 24 }, (_, h) => h);

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
            class={`seg ${playing?.file === s.file ? 'playing' : ''}`}
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
  const [pickedHour, setHour] = useState<number | null>(null);
  useEffect(() => {
    setPlaying(null);
    setHour(null);
  }, [camera, date]);
  const last = day?.segments[day.segments.length - 1];
  const hour = pickedHour ?? (last ? new Date(last.start * 1000).getHours() : new Date().getHours());
  const inHour = (day?.segments ?? []).filter((s) => new Date(s.start * 1000).getHours() === hour || new Date(s.end * 1000).getHours() === hour);
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
      </form>
      {error && <p class="warn">{error}</p>}
      {day && (
        <>
          <Timeline day={day} hour={hour} onHour={setHour} playing={playing} onPick={setPlaying} />
          <p class="legend">
            <span class="swatch rec" /> recorded <span class="swatch ev" /> hours with events
          </p>
          {playing && (
            <div class="now-playing">
              <video class="player" src={playing.url} controls autoplay muted playsInline key={playing.url} />
              <p>
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
                    <td>{clock(s.start)}</td>
                    <td>{clock(s.end)}</td>
                    <td>{bytes(s.size)}</td>
                    <td class="actions">
                      <button class="ghost small" onClick={() => setPlaying(s)} data-play={s.file}>
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
