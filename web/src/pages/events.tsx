import { useEffect, useState } from 'preact/hooks';
import { getJson, type Camera, type EventItem, type Stats } from '../api';
import { ago, dateTime, duration, percent } from '../format';
import { usePoll } from '../hooks';

interface Filters {
  camera: string;
  label: string;
  zone: string;
  after: string;
  before: string;
}

const EMPTY: Filters = { camera: '', label: '', zone: '', after: '', before: '' };
const PAGE = 50;

function query(f: Filters, before?: number): string {
  const p = new URLSearchParams();
  if (f.camera) p.set('camera', f.camera);
  if (f.label) p.set('label', f.label);
  if (f.zone) p.set('zone', f.zone.trim());
  if (f.after) p.set('after', String(new Date(f.after).getTime() / 1000));
  if (before !== undefined) p.set('before', String(before));
  else if (f.before) p.set('before', String(new Date(f.before).getTime() / 1000));
  p.set('limit', String(PAGE));
  return `/api/events?${p.toString()}`;
}

const THUMB_W = 128;
const THUMB_H = 80;

/** The snapshot cropped around the object's box (the whole frame shows it too small to see). */
function Thumb({ e }: { e: EventItem }) {
  const [broken, setBroken] = useState(false);
  const [size, setSize] = useState<{ w: number; h: number } | null>(null);
  if (!e.snapshot_url || broken) return <div class="thumb none">{e.label.replace(/_/g, ' ')}</div>;
  let style: Record<string, string> = { width: '100%', height: '100%', objectFit: 'cover' };
  const box = e.snapshot_box ?? e.box;
  if (size && box) {
    const bw = Math.max(8, box.x2 - box.x1);
    const bh = Math.max(8, box.y2 - box.y1);
    // the box with a margin fills the thumbnail; never smaller than the whole frame
    const scale = Math.max(Math.min(THUMB_W / (bw * 3), THUMB_H / (bh * 2.2)), THUMB_W / size.w, THUMB_H / size.h);
    const w = size.w * scale;
    const h = size.h * scale;
    const cx = ((box.x1 + box.x2) / 2) * scale;
    const cy = ((box.y1 + box.y2) / 2) * scale;
    const left = Math.min(0, Math.max(THUMB_W - w, THUMB_W / 2 - cx));
    const top = Math.min(0, Math.max(THUMB_H - h, THUMB_H / 2 - cy));
    style = { position: 'absolute', width: `${w}px`, height: `${h}px`, left: `${left}px`, top: `${top}px`, maxWidth: 'none' };
  }
  return (
    <div class="thumb">
      <img
        src={e.snapshot_url}
        alt={`${e.label} on ${e.camera}`}
        loading="lazy"
        style={style}
        onLoad={(ev) => {
          const img = ev.currentTarget;
          setSize({ w: img.naturalWidth, h: img.naturalHeight });
        }}
        onError={() => setBroken(true)}
      />
    </div>
  );
}

function Zones({ zones }: { zones: string[] }) {
  if (!zones.length) return null;
  return (
    <span class="chips">
      {zones.map((z) => (
        <span class="chip" key={z}>
          {z}
        </span>
      ))}
    </span>
  );
}

export function EventRow({ e }: { e: EventItem }) {
  return (
    <a class="event" href={`#/events/${encodeURIComponent(e.id)}`} data-event={e.id}>
      <Thumb e={e} />
      <div class="event-body">
        <div class="event-title">
          <strong class="label">{e.label.replace(/_/g, ' ')}</strong>
          <span class="score">{percent(e.top_score)}</span>
          {e.end_time === null && <span class="live-badge">active</span>}
        </div>
        <div class="event-meta">
          <span>{e.camera}</span>
          <span title={dateTime(e.start_time)}>{ago(e.start_time)}</span>
          <span>{duration(e.duration)}</span>
        </div>
        <Zones zones={e.entered_zones} />
      </div>
    </a>
  );
}

export function EventDetail({ id }: { id: string }) {
  const { data: e, error } = usePoll<EventItem>(`/api/events/${encodeURIComponent(id)}`, 0);
  const [clipError, setClipError] = useState<string | null>(null);
  if (!e) return <p class="muted">{error ?? 'Loading the event…'}</p>;
  return (
    <section class="detail">
      <p class="crumbs">
        <a href="#/events">← Events</a>
      </p>
      <h2>
        <span class="label">{e.label.replace(/_/g, ' ')}</span> <span class="score">{percent(e.top_score)}</span> <span class="muted">on {e.camera}</span>
      </h2>
      <div class="detail-grid">
        <div>
          <video
            class="player"
            src={e.clip_url}
            controls
            autoplay
            muted
            playsInline
            preload="auto"
            onError={() => setClipError('The clip could not be played (no recording covers this event?).')}
          />
          {clipError && <p class="warn">{clipError}</p>}
          <p>
            <a class="button" href={e.clip_url} download={`${e.camera}-${e.id}.mp4`}>
              Download clip
            </a>
          </p>
        </div>
        <dl class="facts">
          <dt>Started</dt>
          <dd>{dateTime(e.start_time)}</dd>
          <dt>Duration</dt>
          <dd>{duration(e.duration)}</dd>
          <dt>Best score</dt>
          <dd>{percent(e.top_score)}</dd>
          <dt>Zones</dt>
          <dd>{e.entered_zones.length ? <Zones zones={e.entered_zones} /> : <span class="muted">none</span>}</dd>
          {e.stationary !== undefined && (
            <>
              <dt>Stationary</dt>
              <dd>{e.stationary ? 'yes' : 'no'}</dd>
            </>
          )}
          <dt>Snapshot</dt>
          <dd>{e.snapshot_url ? <img class="snapshot" src={e.snapshot_url} alt="best frame" /> : <span class="muted">none</span>}</dd>
        </dl>
      </div>
    </section>
  );
}

export function EventsPage() {
  const cams = usePoll<Camera[]>('/api/cameras', 0).data ?? [];
  const labels = usePoll<Stats>('/api/stats', 0).data?.model?.labels ?? [];
  const [draft, setDraft] = useState<Filters>(EMPTY);
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const [events, setEvents] = useState<EventItem[] | null>(null);
  const [more, setMore] = useState(false);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let stop = false;
    const load = () =>
      getJson<EventItem[]>(query(filters)).then(
        (list) => {
          if (stop) return;
          setEvents((old) => (old && old.length > PAGE ? [...list, ...old.slice(PAGE).filter((o) => !list.some((n) => n.id === o.id))] : list));
          setMore(list.length === PAGE);
          setError(null);
        },
        (err: Error) => !stop && setError(err.message),
      );
    void load();
    const timer = window.setInterval(() => void load(), 5000);
    return () => {
      stop = true;
      clearInterval(timer);
    };
  }, [filters]);
  const loadMore = async () => {
    if (!events?.length) return;
    const next = await getJson<EventItem[]>(query(filters, events[events.length - 1].start_time));
    setEvents([...events, ...next.filter((n) => !events.some((o) => o.id === n.id))]);
    setMore(next.length === PAGE);
  };
  const field = (k: keyof Filters) => ({
    value: draft[k],
    onInput: (ev: Event) => setDraft({ ...draft, [k]: (ev.target as HTMLInputElement).value }),
  });
  return (
    <section>
      <form
        class="filters"
        onSubmit={(ev) => {
          ev.preventDefault();
          setEvents(null);
          setFilters(draft);
        }}
      >
        <label>
          Camera
          <select {...field('camera')}>
            <option value="">all</option>
            {cams.map((c) => (
              <option key={c.name}>{c.name}</option>
            ))}
          </select>
        </label>
        <label>
          Label
          <select {...field('label')}>
            <option value="">all</option>
            {labels.map((l) => (
              <option key={l}>{l}</option>
            ))}
          </select>
        </label>
        <label>
          Zone
          <input type="text" placeholder="any" {...field('zone')} />
        </label>
        <label>
          After
          <input type="datetime-local" {...field('after')} />
        </label>
        <label>
          Before
          <input type="datetime-local" {...field('before')} />
        </label>
        <div class="filter-buttons">
          <button type="submit">Apply</button>
          <button
            type="button"
            class="ghost"
            onClick={() => {
              setDraft(EMPTY);
              setEvents(null);
              setFilters(EMPTY);
            }}
          >
            Clear
          </button>
        </div>
      </form>
      {error && <p class="warn">{error}</p>}
      {events === null ? (
        !error && <p class="muted">Loading events…</p>
      ) : events.length === 0 ? (
        <p class="muted">No events{filters === EMPTY ? ' yet: objects the cameras track appear here.' : ' match these filters.'}</p>
      ) : (
        <div class="events">
          {events.map((e) => (
            <EventRow key={e.id} e={e} />
          ))}
        </div>
      )}
      {more && (
        <p>
          <button class="ghost" onClick={() => void loadMore()}>
            Older events
          </button>
        </p>
      )}
    </section>
  );
}
