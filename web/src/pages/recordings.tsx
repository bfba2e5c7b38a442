import { useEffect, useState } from 'preact/hooks';
import type { Camera, DayRecordings, Segment } from '../api';
import { bytes, clock } from '../format';
import { usePoll } from '../hooks';

const HOURS = Array.from({ length: 24 }, (_, h) => h);

/** A day as a bar of 24 hours: recorded segments as blocks, hours with events marked. */
function Timeline({ day, playing, onPick }: { day: DayRecordings; playing: Segment | null; onPick: (s: Segment) => void }) {
  const midnight = new Date(`${day.date}T00:00:00`).getTime() / 1000;
  const span = 86400;
  const pos = (t: number) => `${Math.min(100, Math.max(0, ((t - midnight) / span) * 100))}%`;
  return (
    <div class="timeline" aria-label={`recordings of ${day.date}`}>
      <div class="hours">
        {HOURS.map((h) => (
          <div key={h} class={`hour ${day.event_hours.includes(h) ? 'has-events' : ''}`} title={day.event_hours.includes(h) ? `events at ${h}:00` : undefined}>
            {h % 3 === 0 && <span>{String(h).padStart(2, '0')}</span>}
          </div>
        ))}
      </div>
      <div class="track">
        {day.segments.map((s) => (
          <button
            key={s.file}
            class={`seg ${playing?.file === s.file ? 'playing' : ''}`}
            style={{ left: pos(s.start), width: `max(3px, calc(${pos(s.end)} - ${pos(s.start)}))` }}
            title={`${clock(s.start)}–${clock(s.end)}`}
            onClick={() => onPick(s)}
          />
        ))}
      </div>
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
  useEffect(() => setPlaying(null), [camera, date]);
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
          <Timeline day={day} playing={playing} onPick={setPlaying} />
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
          {day.segments.length === 0 ? (
            <p class="muted">No recordings on {day.date}.</p>
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
                {[...day.segments].reverse().map((s) => (
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
