import { useState } from 'react';
import { Handle, Position, useReactFlow, type NodeProps } from '@xyflow/react';
import { api, ApiError } from '../api/client';
import type { ExportFormat } from '../api/types';
import type { ExportNode as EN } from './types';
import { useUpstream } from './hooks';
import { toDataViewport } from '../plot/camera';

const IMAGE: ExportFormat[] = ['png', 'svg', 'pdf'];

export function downloadBlob(blob: Blob, filename: string) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

export function ExportNode({ id, data }: NodeProps<EN>) {
  const { updateNodeData } = useReactFlow();
  const up = useUpstream();
  const [state, setState] = useState<string | null>(null);
  const isPlot = up.node?.type === 'plot';
  const formats: ExportFormat[] = isPlot ? ['png', 'svg', 'pdf', 'csv', 'parquet'] : ['csv', 'parquet'];
  const format = formats.includes(data.format) ? data.format : formats[0]!;
  const sql = up.out?.sql ?? null;

  const go = async () => {
    if (!sql) return;
    setState('exporting…');
    try {
      const spec = IMAGE.includes(format) ? (up.out?.spec ?? null) : (up.out?.spec ?? null);
      const v = up.out?.view ?? null;
      const viewport = v && spec ? toDataViewport(v, { logX: spec.log_x, logY: spec.log_y }) : null;
      const { blob, filename } = await api.exportFile({ sql, spec, viewport, format, width: data.width, height: data.height, dpi: data.dpi });
      downloadBlob(blob, filename);
      setState(`${filename} · ${(blob.size / 1024).toFixed(1)} KiB`);
    } catch (e) {
      setState(e instanceof ApiError ? `${e.code}: ${e.message}` : String(e));
    }
  };

  return (
    <div className="node node-export" data-testid="node-export">
      <Handle type="target" position={Position.Left} />
      <div className="node-title"><span className="badge">export</span></div>
      <div className="encodings nodrag">
        <label>
          format
          <select data-testid="export-format" value={format} onChange={(e) => updateNodeData(id, { format: e.target.value as ExportFormat })}>
            {formats.map((f) => <option key={f}>{f}</option>)}
          </select>
        </label>
        {IMAGE.includes(format) ? (
          <>
            <label>w <input type="number" value={data.width} min={64} max={8192} onChange={(e) => updateNodeData(id, { width: Number(e.target.value) || 1000 })} /></label>
            <label>h <input type="number" value={data.height} min={64} max={8192} onChange={(e) => updateNodeData(id, { height: Number(e.target.value) || 600 })} /></label>
            <label>dpi <input type="number" value={data.dpi} min={10} max={2400} onChange={(e) => updateNodeData(id, { dpi: Number(e.target.value) || 100 })} /></label>
          </>
        ) : null}
      </div>
      <button className="nodrag" data-testid="export-go" disabled={!sql} onClick={() => void go()}>
        Download {format.toUpperCase()}
      </button>
      {state ? <div className="muted small" data-testid="export-state">{state}</div> : null}
    </div>
  );
}
