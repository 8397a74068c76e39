import { useEffect, useMemo, useState } from 'react';
import { Handle, Position, NodeResizer, useReactFlow, type NodeProps } from '@xyflow/react';
import { AGGS, PLOT_KINDS, type Column, type PlotSpec } from '../api/types';
import type { PlotNode as PN } from './types';
import { useUpstream } from './hooks';
import { PlotView, type PlotInfo } from '../plot/PlotView';
import type { View } from '../plot/camera';

const NUMERIC = /INT|DOUBLE|FLOAT|DECIMAL|REAL|NUMERIC|DATE|TIME/i;
const USES: Record<PlotSpec['kind'], (keyof PlotSpec)[]> = {
  scatter: ['x', 'y', 'color', 'log_x', 'log_y'],
  line: ['x', 'y', 'color', 'log_x', 'log_y'],
  area: ['x', 'y', 'color', 'log_y'],
  bar: ['x', 'y', 'color', 'agg', 'stacked', 'log_y'],
  histogram: ['x', 'bins', 'log_y'],
  heatmap: ['x', 'y', 'z', 'agg', 'bins'],
  box: ['x', 'y', 'log_y'],
  violin: ['x', 'y'],
};

/** Fills x/y from the columns when unset: the first numeric columns. */
export function autoEncode(spec: PlotSpec, cols: Column[]): PlotSpec {
  if (!cols.length) return spec;
  const names = new Set(cols.map((c) => c.name));
  const s = { ...spec };
  for (const k of ['x', 'y', 'color', 'z'] as const) if (s[k] && !names.has(s[k]!)) s[k] = null;
  const num = cols.filter((c) => NUMERIC.test(c.type)).map((c) => c.name);
  if (!s.x) s.x = num[0] ?? cols[0]!.name;
  if (!s.y && ['scatter', 'line', 'area', 'heatmap'].includes(s.kind)) s.y = num.find((n) => n !== s.x) ?? null;
  return s;
}

export function PlotNode({ id, data, selected }: NodeProps<PN>) {
  const { updateNodeData } = useReactFlow();
  const up = useUpstream();
  const cols = up.out?.columns ?? [];
  const sql = up.out?.sql ?? null;
  const [info, setInfo] = useState<PlotInfo | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if ((data.srcSql ?? null) !== sql) updateNodeData(id, { srcSql: sql });
  }, [sql, data.srcSql, id, updateNodeData]);

  useEffect(() => {
    const s = autoEncode(data.spec, cols);
    if (JSON.stringify(s) !== JSON.stringify(data.spec)) updateNodeData(id, { spec: s });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [cols.map((c) => c.name).join('\u0000')]);

  const set = (patch: Partial<PlotSpec>) => updateNodeData(id, { spec: { ...data.spec, ...patch }, view: null });
  const uses = USES[data.spec.kind];
  const colSelect = (k: 'x' | 'y' | 'color' | 'z', optional: boolean) => (
    <label key={k}>
      {k}
      <select data-testid={`enc-${k}`} value={data.spec[k] ?? ''} onChange={(e) => set({ [k]: e.target.value || null })}>
        {optional || !data.spec[k] ? <option value="">—</option> : null}
        {data.spec[k] && !cols.some((c) => c.name === data.spec[k]) ? <option value={data.spec[k]!}>{data.spec[k]}</option> : null}
        {cols.map((c) => (
          <option key={c.name} value={c.name}>{c.name}</option>
        ))}
      </select>
    </label>
  );
  const ready = !!sql && !!data.spec.x && (!['scatter', 'line', 'area', 'heatmap'].includes(data.spec.kind) || !!data.spec.y);
  const spec = useMemo(() => data.spec, [data.spec]);
  const onView = useMemo(() => (v: View | null) => updateNodeData(id, { view: v }), [id, updateNodeData]);

  return (
    <div className="node node-plot" data-testid="node-plot">
      <NodeResizer isVisible={!!selected} minWidth={360} minHeight={300} />
      <Handle type="target" position={Position.Left} />
      <div className="node-title">
        <span className="badge">plot</span>
        <select className="nodrag" data-testid="plot-kind" value={data.spec.kind} onChange={(e) => set({ kind: e.target.value as PlotSpec['kind'] })}>
          {PLOT_KINDS.map((k) => <option key={k}>{k}</option>)}
        </select>
        <div className="spacer" />
        {info ? (
          <span className="muted small" data-testid="plot-info">
            {info.points.toLocaleString('en-US')} pts · {info.elapsed_ms.toFixed(0)} ms{info.cached ? ' · cached' : ''} · {info.renderer}
          </span>
        ) : null}
      </div>
      <div className="encodings nodrag">
        {colSelect('x', false)}
        {uses.includes('y') ? colSelect('y', data.spec.kind === 'bar' || data.spec.kind === 'box' || data.spec.kind === 'violin') : null}
        {uses.includes('color') ? colSelect('color', true) : null}
        {uses.includes('z') ? colSelect('z', true) : null}
        {uses.includes('agg') ? (
          <label>
            agg
            <select value={data.spec.agg} onChange={(e) => set({ agg: e.target.value as PlotSpec['agg'] })}>
              {AGGS.map((a) => <option key={a}>{a}</option>)}
            </select>
          </label>
        ) : null}
        {uses.includes('bins') ? (
          <label>
            bins
            <input type="number" min={0} max={10000} value={data.spec.bins} onChange={(e) => set({ bins: Math.max(0, Number(e.target.value) || 0) })} />
          </label>
        ) : null}
        {uses.includes('log_x') ? (
          <label><input type="checkbox" checked={data.spec.log_x} onChange={(e) => set({ log_x: e.target.checked })} /> log x</label>
        ) : null}
        {uses.includes('log_y') ? (
          <label><input type="checkbox" checked={data.spec.log_y} onChange={(e) => set({ log_y: e.target.checked })} /> log y</label>
        ) : null}
        {uses.includes('stacked') ? (
          <label><input type="checkbox" checked={data.spec.stacked} onChange={(e) => set({ stacked: e.target.checked })} /> stacked</label>
        ) : null}
      </div>
      {error ? <div className="error" data-testid="plot-error">{error}</div> : null}
      <div className="plot-host">
        {ready ? (
          <PlotView plotId={id} sql={sql} spec={spec} initialView={data.view} onView={onView} onInfo={setInfo} onError={setError} />
        ) : (
          <div className="muted placeholder">{sql ? 'choose the encodings' : 'connect a table or query'}</div>
        )}
      </div>
      <Handle type="source" position={Position.Right} />
    </div>
  );
}
