// Types of the browser protocol (docs/PROTOCOL.md, version 1).

export type Cell = string | number | boolean | null;
export interface Column { name: string; type: string }
export interface ResultPage { columns: Column[]; rows: Cell[][] }

export interface TableInfo { name: string; rows: number; columns: number }
export interface ColumnStats extends Column {
  nulls?: number; min?: string | null; max?: string | null; distinct?: number;
}
export interface TableDetail { name: string; rows: number; columns: ColumnStats[]; preview: ResultPage }

export interface QueryAnswer extends ResultPage {
  result: string; total_rows: number; elapsed_ms: number; cached: boolean;
}
export interface ResultsAnswer { result: string; offset: number; rows: Cell[][]; total_rows: number }

export type PlotKind = 'scatter' | 'line' | 'area' | 'bar' | 'histogram' | 'heatmap' | 'box' | 'violin';
export const PLOT_KINDS: PlotKind[] = ['scatter', 'line', 'area', 'bar', 'histogram', 'heatmap', 'box', 'violin'];
export type Agg = 'count' | 'sum' | 'mean' | 'min' | 'max';
export const AGGS: Agg[] = ['count', 'sum', 'mean', 'min', 'max'];

export interface PlotSpec {
  kind: PlotKind; x: string | null; y: string | null; color: string | null; z: string | null;
  agg: Agg; bins: number; log_x: boolean; log_y: boolean; stacked: boolean;
}
export interface Viewport { x0: number; x1: number; y0: number; y1: number }

export interface PlotRequest {
  plot: string; seq: number; sql: string; spec: PlotSpec; viewport: Viewport | null;
  width: number; height: number;
}

export interface StatusBody {
  memory: { rss: number; cache_bytes: number; cache_budget: number; cache_spilled: number; duckdb_bytes: number };
  cache: { hits: number; misses: number; hit_rate: number; indexes: number; indexing: number };
  tasks: { running: number; queued: number; jobs: number };
  catalog_version: number;
}

export interface JobEvent {
  type: 'job'; job: string; kind: string; state: 'running' | 'done' | 'error';
  percent: number; rows: number; table: string; rejects: number; message: string | null;
}
export type WsEvent =
  | { type: 'hello'; version: number; catalog_version: number }
  | ({ type: 'status' } & StatusBody)
  | JobEvent
  | { type: 'catalog'; version: number }
  | { type: 'pong' };

export interface ImportPreview {
  path: string; format: string; table: string; columns: Column[]; rows: Cell[][];
}
export interface ImportRequest {
  path: string; table: string; replace: boolean; types: Record<string, string>;
  delimiter: string | null; header: boolean | null;
}

export type ExportFormat = 'png' | 'svg' | 'pdf' | 'csv' | 'parquet';
export interface ExportRequest {
  sql: string; spec: PlotSpec | null; viewport: Viewport | null; format: ExportFormat;
  width: number; height: number; dpi: number;
}

export interface WorkspaceAnswer { version: number; saved_at: string | null; doc: unknown }
