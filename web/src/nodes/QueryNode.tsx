import { useCallback, useEffect, useRef, useState } from 'react';
import { Handle, Position, NodeResizer, useReactFlow, type NodeProps } from '@xyflow/react';
import { api, ApiError, newRequestId } from '../api/client';
import type { QueryAnswer } from '../api/types';
import { quoteIdent, type QueryNode as QN } from './types';
import { useUpstream } from './hooks';
import { SqlEditor } from '../sql/SqlEditor';
import { ResultGrid } from '../ui/ResultGrid';

const AUTO_RUN_MS = 1000;

export function QueryNode({ id, data, selected }: NodeProps<QN>) {
  const { updateNodeData } = useReactFlow();
  const up = useUpstream();
  const [answer, setAnswer] = useState<QueryAnswer | null>(null);
  const [error, setError] = useState<{ message: string; line: number | null } | null>(null);
  const [running, setRunning] = useState<string | null>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const inflight = useRef<string | null>(null);
  const sqlRef = useRef(data.sql);
  sqlRef.current = data.sql;

  // a new query fed by a table starts as SELECT * FROM it
  useEffect(() => {
    if (data.sql.trim() === '' && up.node) {
      const sql = up.node.type === 'table' ? `SELECT * FROM ${quoteIdent(up.node.data.table)}` : up.out?.sql ? `SELECT * FROM (\n${up.out.sql}\n)` : '';
      if (sql) {
        updateNodeData(id, { sql });
        void run(sql);
      }
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [up.node?.id, up.out?.sql]);

  const run = useCallback(
    async (sql = sqlRef.current) => {
      if (!sql.trim()) return;
      if (timer.current) clearTimeout(timer.current);
      const req = newRequestId();
      // a new run supersedes the one still running
      if (inflight.current) void api.cancel(inflight.current).catch(() => {});
      inflight.current = req;
      setRunning(req);
      setError(null);
      try {
        const a = await api.query(sql, req, 500);
        if (sql !== sqlRef.current) return; // edited meanwhile; the next run answers
        setAnswer(a);
        updateNodeData(id, { ran: sql, columns: a.columns });
      } catch (e) {
        if (e instanceof ApiError) {
          if (e.code !== 'cancelled') setError({ message: e.message, line: e.line });
        } else setError({ message: String(e), line: null });
      } finally {
        if (inflight.current === req) inflight.current = null;
        setRunning((r) => (r === req ? null : r));
      }
    },
    [id, updateNodeData],
  );

  // restore: re-run the saved query once (answered from the engine's cache)
  useEffect(() => {
    if (data.ran && data.ran === data.sql) void run(data.ran);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  const onChange = (sql: string) => {
    updateNodeData(id, { sql });
    if (timer.current) clearTimeout(timer.current);
    timer.current = setTimeout(() => void run(sql), AUTO_RUN_MS);
  };

  return (
    <div className="node node-query" data-testid="node-query">
      <NodeResizer isVisible={!!selected} minWidth={320} minHeight={220} />
      <Handle type="target" position={Position.Left} />
      <div className="node-title">
        <span className="badge">query</span>
        <div className="spacer" />
        {running ? (
          <button className="nodrag" onClick={() => void api.cancel(running)}>Cancel</button>
        ) : (
          <button className="nodrag" data-testid="run-query" onClick={() => void run()}>Run ⌘↵</button>
        )}
      </div>
      <SqlEditor value={data.sql} onChange={onChange} onRun={() => void run()} errorLine={error?.line ?? null} />
      {error ? (
        <div className="error" data-testid="query-error">
          {error.line ? `line ${error.line}: ` : ''}
          {error.message}
        </div>
      ) : null}
      {answer ? (
        <>
          <div className="muted small" data-testid="query-info" data-ran={data.ran ?? ''} data-running={running ? 'yes' : 'no'}>
            {answer.total_rows.toLocaleString('en-US')} rows · {answer.elapsed_ms.toFixed(1)} ms{answer.cached ? ' · cached' : ''}
            {running ? ' · running…' : ''}
          </div>
          <ResultGrid result={answer.result} columns={answer.columns} first={answer.rows} total={answer.total_rows} onEvicted={() => void run()} />
        </>
      ) : running ? (
        <div className="muted small">running…</div>
      ) : null}
      <Handle type="source" position={Position.Right} />
    </div>
  );
}
