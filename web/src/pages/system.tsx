import type { Stats } from '../api';
import { bytes, uptime } from '../format';
import { usePoll } from '../hooks';

const ms = (v: number) => (v ? `${v.toFixed(1)} ms` : '–');

export function SystemPage() {
  const { data: s, error } = usePoll<Stats>('/api/stats', 2000);
  if (!s) return <p class="muted">{error ?? 'Loading…'}</p>;
  return (
    <section class="system">
      {error && <p class="warn">{error}</p>}
      <div class="cards">
        {Object.entries(s.cameras).map(([name, c]) => (
          <article class="card" key={name} data-camera={name}>
            <h3>
              <span class={`dot ${c.state}`} /> {name} <span class="muted small">{c.state}</span>
            </h3>
            <div class="big" data-fps={c.fps}>
              {c.fps.toFixed(1)} <small>FPS</small>
            </div>
            <dl class="kv">
              <dt>Inference</dt>
              <dd>{ms(c.inference_ms)}</dd>
              <dt>Pre-process</dt>
              <dd>{ms(c.preprocess_ms)}</dd>
              <dt>Post-process</dt>
              <dd>{ms(c.postprocess_ms)}</dd>
              <dt>Draw</dt>
              <dd>{ms(c.draw_ms)}</dd>
              <dt>Encode</dt>
              <dd>{ms(c.encode_ms)}</dd>
              <dt>Frames</dt>
              <dd>{c.frames.toLocaleString()}</dd>
              <dt>Dropped</dt>
              <dd class={c.dropped ? 'bad' : ''}>{c.dropped.toLocaleString()}</dd>
              <dt>Reconnects</dt>
              <dd>{c.reconnects}</dd>
              <dt>Queue</dt>
              <dd>{c.queue_depth}</dd>
            </dl>
            {c.recording_error && <p class="warn">{c.recording_error}</p>}
          </article>
        ))}
        <article class="card">
          <h3>Model</h3>
          {s.model ? (
            <dl class="kv">
              <dt>File</dt>
              <dd>{s.model.file}</dd>
              <dt>Backend</dt>
              <dd>{s.model.backend}</dd>
              <dt>Input</dt>
              <dd>{s.model.input}</dd>
              <dt>Layout</dt>
              <dd>{s.model.layout}</dd>
              {s.model.threads !== undefined && (
                <>
                  <dt>Threads</dt>
                  <dd>{s.model.threads || 'auto'}</dd>
                </>
              )}
              <dt>Labels</dt>
              <dd>{s.model.labels.join(', ')}</dd>
            </dl>
          ) : (
            <p class="muted">not loaded yet</p>
          )}
        </article>
        <article class="card">
          <h3>MQTT</h3>
          {s.mqtt ? (
            <dl class="kv">
              <dt>Broker</dt>
              <dd class={s.mqtt.connected ? 'good' : 'bad'}>{s.mqtt.connected ? 'connected' : 'disconnected'}</dd>
              <dt>Published</dt>
              <dd>{s.mqtt.published.toLocaleString()}</dd>
              <dt>Queued</dt>
              <dd>{s.mqtt.queued}</dd>
              <dt>Dropped</dt>
              <dd class={s.mqtt.dropped ? 'bad' : ''}>{s.mqtt.dropped}</dd>
              <dt>Reconnects</dt>
              <dd>{s.mqtt.reconnects}</dd>
            </dl>
          ) : (
            <p class="muted">off (mqtt.enabled: false)</p>
          )}
        </article>
        <article class="card">
          <h3>Storage</h3>
          <dl class="kv">
            {s.disk.recordings.map((d) => (
              <>
                <dt title={d.path}>Recordings</dt>
                <dd>
                  {bytes(d.bytes)}
                  {d.free_percent !== null && <span class="muted"> · {d.free_percent}% free</span>}
                </dd>
              </>
            ))}
            {(s.disk.snapshots ?? []).map((d) => (
              <>
                <dt title={d.path}>Snapshots</dt>
                <dd>
                  {bytes(d.bytes)}
                  {d.free_percent !== null && <span class="muted"> · {d.free_percent}% free</span>}
                </dd>
              </>
            ))}
            <dt>Event store</dt>
            <dd class={s.store.available ? '' : 'bad'}>{s.store.available ? `${(s.store.written ?? 0).toLocaleString()} writes` : 'off'}</dd>
          </dl>
        </article>
        <article class="card">
          <h3>Daemon</h3>
          <dl class="kv">
            <dt>Version</dt>
            <dd>{s.version}</dd>
            <dt>Uptime</dt>
            <dd>{uptime(s.uptime_s)}</dd>
            <dt>Memory</dt>
            <dd>{s.rss_mb.toFixed(0)} MB</dd>
            <dt>Event loop p99</dt>
            <dd>{ms(s.event_loop.p99_ms)}</dd>
          </dl>
        </article>
      </div>
    </section>
  );
}
