import { render } from 'preact';
import type { Stats } from './api';
import { usePoll, useRoute } from './hooks';
import { EventDetail, EventsPage } from './pages/events';
import { LivePage } from './pages/live';
import { RecordingsPage } from './pages/recordings';
import { SystemPage } from './pages/system';
import './style.css';

const PAGES = [
  { id: 'live', title: 'Live' },
  { id: 'events', title: 'Events' },
  { id: 'recordings', title: 'Recordings' },
  { id: 'system', title: 'System' },
];

function App() {
  const [page = 'live', arg] = useRoute();
  const auth = usePoll<Stats>('/api/stats', 0).data?.auth ?? false;
  const body =
    page === 'events' ? (
      arg ? (
        <EventDetail id={arg} key={arg} />
      ) : (
        <EventsPage />
      )
    ) : page === 'recordings' ? (
      <RecordingsPage camera={arg} key={arg} />
    ) : page === 'system' ? (
      <SystemPage />
    ) : (
      <LivePage only={arg} key={arg ?? ''} />
    );
  return (
    <>
      <header class="top">
        <a class="brand" href="#/live">
          <span class="logo" aria-hidden="true" />
          trt-detect
        </a>
        <nav>
          {PAGES.map((p) => (
            <a key={p.id} href={`#/${p.id}`} class={page === p.id ? 'active' : ''}>
              {p.title}
            </a>
          ))}
        </nav>
        {auth && (
          <form method="post" action="/logout" class="logout">
            <button class="ghost small" type="submit" title="Log out">
              Log out
            </button>
          </form>
        )}
      </header>
      <main>{body}</main>
    </>
  );
}

render(<App />, document.getElementById('app') as HTMLElement);
