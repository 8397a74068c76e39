// The canvas's node kinds and what flows along edges: table -> query -> plot
// -> export. Each node's `data` holds what it persists (see workspace/doc.ts)
// plus transient fields (columns, the SQL it received) that downstream nodes
// read through React Flow's useNodesData.
import type { Node, Edge } from '@xyflow/react';
import type { Column, ExportFormat, PlotSpec } from '../api/types';
import type { View } from '../plot/camera';

export type TableData = { table: string; columns?: Column[] };
export type QueryData = { sql: string; ran: string | null; columns?: Column[] };
export type PlotData = { spec: PlotSpec; view: View | null; srcSql?: string | null };
export type ExportData = { format: ExportFormat; width: number; height: number; dpi: number };

export type TableNode = Node<TableData, 'table'>;
export type QueryNode = Node<QueryData, 'query'>;
export type PlotNode = Node<PlotData, 'plot'>;
export type ExportNode = Node<ExportData, 'export'>;
export type PikaNode = TableNode | QueryNode | PlotNode | ExportNode;
export type PikaEdge = Edge;
export type NodeKind = PikaNode['type'];

export const quoteIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;

/** What a node hands downstream: the SQL of its rows and their columns. */
export interface Output { sql: string | null; columns: Column[]; spec?: PlotSpec; view?: View | null }

export function outputOf(n: PikaNode | undefined | null): Output | null {
  if (!n) return null;
  switch (n.type) {
    case 'table':
      return { sql: `SELECT * FROM ${quoteIdent(n.data.table)}`, columns: n.data.columns ?? [] };
    case 'query':
      return { sql: n.data.ran, columns: n.data.columns ?? [] };
    case 'plot':
      return { sql: n.data.srcSql ?? null, columns: [], spec: n.data.spec, view: n.data.view };
    case 'export':
      return null;
  }
}

/** Which kinds may feed which. */
export function canConnect(from: NodeKind | undefined, to: NodeKind | undefined): boolean {
  if (!from || !to) return false;
  if (to === 'query') return from === 'table' || from === 'query';
  if (to === 'plot') return from === 'table' || from === 'query';
  if (to === 'export') return from === 'plot' || from === 'query' || from === 'table';
  return false;
}

export function defaultSpec(): PlotSpec {
  return { kind: 'scatter', x: null, y: null, color: null, z: null, agg: 'count', bins: 0, log_x: false, log_y: false, stacked: false };
}
