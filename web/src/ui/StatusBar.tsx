import { useEffect, useState } from 'react';
import { events } from '../api/ws';
import type { StatusBody } from '../api/types';

export const fmtBytes = (n: number) =>
  n >= 1 << 30 ? `${(n / 2 ** 30).toFixed(2)} GiB` : n >= 1 << 20 ? `${(n / 2 ** 20).toFixed(1)} MiB` : `${(n / 1024).toFixed(0)} KiB`;

export function StatusBar({ saved }: { saved: string | null }) {
  const [s, setS] = useState<StatusBody | null>(null);
  const [connected, setConnected] = useState(false);
  useEffect(
    () =>
      events.on((e) => {
        if (e.type === 'status') setS(e);
        setConnected(true);
      }),
    [],
  );
  useEffect(() => {
    const t = setInterval(() => setConnected(events.connected), 2000);
    return () => clearInterval(t);
  }, []);
  return (
    <div className="statusbar" data-testid="statusbar">
      <span className={connected ? 'dot ok' : 'dot'} title={connected ? 'connected' : 'disconnected'} />
      {s ? (
        <>
          <span>memory {fmtBytes(s.memory.rss)}</span>
          <span>cache {fmtBytes(s.memory.cache_bytes)} / {fmtBytes(s.memory.cache_budget)}</span>
          <span>hit rate {(s.cache.hit_rate * 100).toFixed(0)}%</span>
          {s.cache.indexing > 0 ? <span title="a density index for faster zooms is being built">indexing…</span> : null}
          <span>DuckDB {fmtBytes(s.memory.duckdb_bytes)}</span>
          <span data-testid="status-tasks">tasks {s.tasks.running} running · {s.tasks.queued} queued · {s.tasks.jobs} jobs</span>
        </>
      ) : (
        <span>waiting for the engine…</span>
      )}
      <div className="spacer" />
      {saved ? <span className="muted">saved {saved}</span> : null}
    </div>
  );
}
