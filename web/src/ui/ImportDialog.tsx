// File drop -> POST /api/upload -> /api/import/preview (the sniffer's types,
// first rows) -> per-column type overrides -> POST /api/import; progress
// arrives as WebSocket `job` events (shown in the data panel).
import { useEffect, useState } from 'react';
import { api, ApiError } from '../api/client';
import type { ImportPreview } from '../api/types';
import { cellText } from './ResultGrid';

const TYPES = ['BOOLEAN', 'TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'DOUBLE', 'DECIMAL(18,3)', 'VARCHAR', 'DATE', 'TIME', 'TIMESTAMP'];

export type ImportState = { file: File } | null;

export function ImportDialog({ file, onClose, onStarted }: { file: File; onClose: () => void; onStarted: (job: string, table: string) => void }) {
  const [stage, setStage] = useState<string>('uploading…');
  const [preview, setPreview] = useState<ImportPreview | null>(null);
  const [table, setTable] = useState('');
  const [types, setTypes] = useState<Record<string, string>>({});
  const [replace, setReplace] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    (async () => {
      try {
        const { path } = await api.upload(file);
        if (!live) return;
        setStage('reading…');
        const p = await api.importPreview(path);
        if (!live) return;
        setPreview(p);
        setTable(p.table);
        setStage('');
      } catch (e) {
        if (live) setError(e instanceof ApiError ? `${e.code}: ${e.message}` : String(e));
      }
    })();
    return () => {
      live = false;
    };
  }, [file]);

  const start = async () => {
    if (!preview) return;
    try {
      const overrides: Record<string, string> = {};
      for (const c of preview.columns) if (types[c.name] && types[c.name] !== c.type) overrides[c.name] = types[c.name]!;
      const { job } = await api.importStart({ path: preview.path, table, replace, types: overrides, delimiter: null, header: null });
      onStarted(job, table);
      onClose();
    } catch (e) {
      setError(e instanceof ApiError ? `${e.code}: ${e.message}` : String(e));
    }
  };

  return (
    <div className="modal-back">
      <div className="modal" data-testid="import-dialog">
        <h3>Import {file.name}</h3>
        {stage ? <p className="muted">{stage}</p> : null}
        {error ? <div className="error">{error}</div> : null}
        {preview ? (
          <>
            <div className="row">
              <label>
                table <input data-testid="import-table" value={table} onChange={(e) => setTable(e.target.value)} />
              </label>
              <label>
                <input type="checkbox" checked={replace} onChange={(e) => setReplace(e.target.checked)} /> replace
              </label>
              <span className="muted">{preview.format}</span>
            </div>
            <div className="preview">
              <table>
                <thead>
                  <tr>
                    {preview.columns.map((c) => (
                      <th key={c.name}>
                        {c.name}
                        <br />
                        <select value={types[c.name] ?? c.type} onChange={(e) => setTypes({ ...types, [c.name]: e.target.value })}>
                          {[c.type, ...TYPES.filter((t) => t !== c.type)].map((t) => (
                            <option key={t}>{t}</option>
                          ))}
                        </select>
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {preview.rows.map((r, i) => (
                    <tr key={i}>{r.map((v, k) => <td key={k}>{cellText(v)}</td>)}</tr>
                  ))}
                </tbody>
              </table>
            </div>
          </>
        ) : null}
        <div className="row end">
          <button onClick={onClose}>Cancel</button>
          <button data-testid="import-go" disabled={!preview || !table} onClick={() => void start()}>
            Import
          </button>
        </div>
      </div>
    </div>
  );
}
