import { useEffect, useState } from 'preact/hooks';
import { getJson } from './api';

/** Fetches `url` now and every `everyMs` (0: once); keeps the last good value while a refresh fails. */
export function usePoll<T>(url: string | null, everyMs: number): { data: T | null; error: string | null; reload: () => void } {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!url) return;
    let stop = false;
    let timer: number | undefined;
    const load = async () => {
      try {
        const value = await getJson<T>(url);
        if (!stop) {
          setData(value);
          setError(null);
        }
      } catch (err) {
        if (!stop) setError((err as Error).message);
      }
      if (!stop && everyMs > 0) timer = window.setTimeout(() => void load(), everyMs);
    };
    void load();
    return () => {
      stop = true;
      if (timer) clearTimeout(timer);
    };
  }, [url, everyMs, tick]);
  return { data, error, reload: () => setTick((t) => t + 1) };
}

/** The location hash as a route: "#/events/abc" -> ["events", "abc"]. */
export function useRoute(): string[] {
  const read = () =>
    location.hash
      .replace(/^#\/?/, '')
      .split('/')
      .filter(Boolean)
      .map((p) => decodeURIComponent(p));
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const on = () => setRoute(read());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}
