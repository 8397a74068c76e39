import { useEffect, useState } from 'react';
import { Handle, Position, useReactFlow, type NodeProps } from '@xyflow/react';
import { api, ApiError } from '../api/client';
import type { TableDetail } from '../api/types';
import type { TableNode as TN } from './types';
import { useCatalogVersion } from './hooks';
import { cellText } from '../ui/ResultGrid';

export function TableNode({ id, data }: NodeProps<TN>) {
  const { updateNodeData } = useReactFlow();
  const version = useCatalogVersion();
  const [detail, setDetail] = useState<TableDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tab, setTab] = useState<'schema' | 'rows'>('schema');

  useEffect(() => {
    let live = true;
    api
      .table(data.table)
      .then((d) => {
        if (!live) return;
        setDetail(d);
        setError(null);
        const cols = d.columns.map((c) => ({ name: c.name, type: c.type }));
        if (JSON.stringify(cols) !== JSON.stringify(data.columns ?? null)) updateNodeData(id, { columns: cols });
      })
      .catch((e) => live && setError(e instanceof ApiError ? e.message : String(e)));
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [data.table, version]);

  return (
    <div className="node node-table" data-testid={`node-table-${data.table}`}>
      <div className="node-title">
        <span className="badge">table</span> {data.table}
        {detail ? <span className="muted"> · {detail.rows.toLocaleString('en-US')} rows</span> : null}
      </div>
      {error ? <div className="error">{error}</div> : null}
      {detail ? (
        <>
          <div className="tabs nodrag">
            <button className={tab === 'schema' ? 'on' : ''} onClick={() => setTab('schema')}>schema</button>
            <button className={tab === 'rows' ? 'on' : ''} onClick={() => setTab('rows')}>first rows</button>
          </div>
          {tab === 'schema' ? (
            <table className="schema nowheel">
              <tbody>
                {detail.columns.map((c) => (
                  <tr key={c.name}>
                    <td>{c.name}</td>
                    <td className="muted">{c.type}</td>
                    <td className="muted">{c.min != null ? `${c.min} … ${c.max}` : ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <div className="preview nowheel nodrag">
              <table>
                <thead>
                  <tr>{detail.preview.columns.map((c) => <th key={c.name}>{c.name}</th>)}</tr>
                </thead>
                <tbody>
                  {detail.preview.rows.map((r, i) => (
                    <tr key={i}>{r.map((v, k) => <td key={k}>{cellText(v)}</td>)}</tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </>
      ) : null}
      <Handle type="source" position={Position.Right} />
    </div>
  );
}
