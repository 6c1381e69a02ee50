/** Pieces every page uses: loading data, showing errors. */
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { get } from './api.tsx';

export interface Loaded<T> {
  data: T | undefined;
  error: string | undefined;
  reload: () => void;
}

/**
 * The latest `event` the server pushes on the server-sent event stream at `path` (its data is JSON);
 * `lost` while the stream is broken (EventSource reconnects by itself, and the next event clears it).
 */
export function usePushed<T>(path: string, event: string): { data: T | undefined; lost: boolean } {
  const [data, setData] = useState<T | undefined>(undefined);
  const [lost, setLost] = useState(false);
  useEffect(() => {
    const events = new EventSource(path);
    events.addEventListener(event, (message) => {
      setData(JSON.parse((message as MessageEvent<string>).data) as T);
      setLost(false);
    });
    events.addEventListener('error', () => setLost(true));
    return () => events.close();
  }, [path, event]);
  return { data, lost };
}

/** GETs `path` now and on reload(); keeps the last data while reloading. */
export function useApi<T>(path: string | undefined): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (path === undefined) return;
    let live = true;
    get<T>(path).then(
      (value) => {
        if (!live) return;
        setData(value);
        setError(undefined);
      },
      (failure: Error) => {
        if (live) setError(failure.message);
      },
    );
    return () => {
      live = false;
    };
  }, [path, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, reload };
}

export function ErrorBox({ message }: { message: string | undefined }) {
  if (message === undefined) return null;
  return (
    <div class="error" role="alert">
      {message}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="muted" aria-live="polite">
      Loading {what}…
    </p>
  );
}

export function Card({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <div class="card">
      <div class="muted">{label}</div>
      <div class="value">{children}</div>
    </div>
  );
}

/** Bytes in binary units, one decimal ("12.3 KiB"); "—" when unknown. */
export function formatBytes(bytes: string | null): string {
  if (bytes === null) return '—';
  let n = Number(bytes);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let unit = 0;
  while (n >= 1024 && unit < units.length - 1) {
    n /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${n.toFixed(1)} ${units[unit]}`;
}

export function formatTime(ms: string): string {
  const n = Number(ms);
  return Number.isFinite(n) && n >= 0 ? new Date(n).toISOString() : ms;
}
