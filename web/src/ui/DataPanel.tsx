import { useSyncExternalStore } from 'react';
import { catalog } from '../sql/schema';

export const TABLE_MIME = 'application/x-pika-table';

export function DataPanel({ onAdd, jobs }: { onAdd: (table: string) => void; jobs: { id: string; text: string }[] }) {
  const tables = useSyncExternalStore(
    (l) => catalog.subscribe(l),
    () => catalog.tables,
  );
  return (
    <aside className="datapanel" data-testid="datapanel">
      <h3>Tables</h3>
      {tables.length === 0 ? <p className="muted small">Drop a CSV, Parquet or JSON file anywhere on the page to import it.</p> : null}
      <ul>
        {tables.map((t) => (
          <li
            key={t.name}
            draggable
            data-testid={`table-${t.name}`}
            onDragStart={(e) => {
              e.dataTransfer.setData(TABLE_MIME, t.name);
              e.dataTransfer.effectAllowed = 'copy';
            }}
            onDoubleClick={() => onAdd(t.name)}
            title="drag onto the canvas (or double-click)"
          >
            <div>{t.name}</div>
            <div className="muted small">
              {t.rows.toLocaleString('en-US')} rows · {t.columns} cols
            </div>
          </li>
        ))}
      </ul>
      {jobs.length ? (
        <>
          <h3>Jobs</h3>
          <ul className="jobs">
            {jobs.map((j) => (
              <li key={j.id} data-testid={`job-${j.id}`}>{j.text}</li>
            ))}
          </ul>
        </>
      ) : null}
      {catalog.error ? <div className="error small">{catalog.error}</div> : null}
    </aside>
  );
}
