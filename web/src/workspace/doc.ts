// The workspace document stored by PUT /api/workspace (opaque to the
// server): nodes with positions and their persistent data, edges, and the
// canvas camera. Transient fields (columns, received SQL) are not saved;
// parse() validates and fills defaults so an old or damaged document loads.
import type { PikaNode, PikaEdge } from '../nodes/types';
import { defaultSpec } from '../nodes/types';
import { PLOT_KINDS, AGGS, type PlotSpec, type ExportFormat } from '../api/types';

export interface Camera { x: number; y: number; zoom: number }
export interface DocNode { id: string; type: string; x: number; y: number; w?: number; h?: number; data: Record<string, unknown> }
export interface WorkspaceDoc { version: 1; nodes: DocNode[]; edges: { id: string; source: string; target: string }[]; camera: Camera }

const num = (v: unknown, d: number) => (typeof v === 'number' && Number.isFinite(v) ? v : d);
const str = (v: unknown, d: string) => (typeof v === 'string' ? v : d);
const strOrNull = (v: unknown) => (typeof v === 'string' ? v : null);

export function serialize(nodes: PikaNode[], edges: PikaEdge[], camera: Camera): WorkspaceDoc {
  return {
    version: 1,
    nodes: nodes.map((n) => {
      const d: DocNode = { id: n.id, type: n.type, x: n.position.x, y: n.position.y, data: {} };
      if (n.width) d.w = n.width;
      if (n.height) d.h = n.height;
      switch (n.type) {
        case 'table': d.data = { table: n.data.table }; break;
        case 'query': d.data = { sql: n.data.sql, ran: n.data.ran }; break;
        case 'plot': d.data = { spec: n.data.spec, view: n.data.view }; break;
        case 'export': d.data = { format: n.data.format, width: n.data.width, height: n.data.height, dpi: n.data.dpi }; break;
      }
      return d;
    }),
    edges: edges.map((e) => ({ id: e.id, source: e.source, target: e.target })),
    camera: { x: camera.x, y: camera.y, zoom: camera.zoom },
  };
}

function parseSpec(v: unknown): PlotSpec {
  const s = (v && typeof v === 'object' ? v : {}) as Record<string, unknown>;
  const d = defaultSpec();
  return {
    kind: PLOT_KINDS.includes(s.kind as PlotSpec['kind']) ? (s.kind as PlotSpec['kind']) : d.kind,
    x: strOrNull(s.x), y: strOrNull(s.y), color: strOrNull(s.color), z: strOrNull(s.z),
    agg: AGGS.includes(s.agg as PlotSpec['agg']) ? (s.agg as PlotSpec['agg']) : d.agg,
    bins: Math.max(0, Math.round(num(s.bins, 0))),
    log_x: s.log_x === true, log_y: s.log_y === true, stacked: s.stacked === true,
  };
}

function parseView(v: unknown) {
  if (!v || typeof v !== 'object') return null;
  const o = v as Record<string, unknown>;
  const r = { x0: num(o.x0, NaN), x1: num(o.x1, NaN), y0: num(o.y0, NaN), y1: num(o.y1, NaN) };
  return Object.values(r).every(Number.isFinite) && r.x1 > r.x0 && r.y1 > r.y0 ? r : null;
}

const FORMATS: ExportFormat[] = ['png', 'svg', 'pdf', 'csv', 'parquet'];

export function parse(doc: unknown): { nodes: PikaNode[]; edges: PikaEdge[]; camera: Camera } | null {
  if (!doc || typeof doc !== 'object') return null;
  const o = doc as Record<string, unknown>;
  if (o.version !== 1 || !Array.isArray(o.nodes)) return null;
  const nodes: PikaNode[] = [];
  for (const raw of o.nodes as unknown[]) {
    if (!raw || typeof raw !== 'object') continue;
    const n = raw as Record<string, unknown>;
    const id = str(n.id, '');
    if (!id || nodes.some((m) => m.id === id)) continue;
    const position = { x: num(n.x, 0), y: num(n.y, 0) };
    const data = (n.data && typeof n.data === 'object' ? n.data : {}) as Record<string, unknown>;
    const size: { width?: number; height?: number } = {};
    if (typeof n.w === 'number') size.width = n.w;
    if (typeof n.h === 'number') size.height = n.h;
    switch (n.type) {
      case 'table':
        if (typeof data.table !== 'string') continue;
        nodes.push({ id, type: 'table', position, ...size, data: { table: data.table } });
        break;
      case 'query':
        nodes.push({ id, type: 'query', position, ...size, data: { sql: str(data.sql, ''), ran: strOrNull(data.ran) } });
        break;
      case 'plot':
        nodes.push({ id, type: 'plot', position, ...size, data: { spec: parseSpec(data.spec), view: parseView(data.view) } });
        break;
      case 'export':
        nodes.push({
          id, type: 'export', position, ...size,
          data: {
            format: FORMATS.includes(data.format as ExportFormat) ? (data.format as ExportFormat) : 'png',
            width: num(data.width, 1000), height: num(data.height, 600), dpi: num(data.dpi, 100),
          },
        });
        break;
    }
  }
  const ids = new Set(nodes.map((n) => n.id));
  const edges: PikaEdge[] = [];
  for (const raw of Array.isArray(o.edges) ? (o.edges as unknown[]) : []) {
    const e = (raw ?? {}) as Record<string, unknown>;
    const source = str(e.source, ''), target = str(e.target, '');
    if (!ids.has(source) || !ids.has(target)) continue;
    edges.push({ id: str(e.id, `e-${source}-${target}`), source, target });
  }
  const c = (o.camera ?? {}) as Record<string, unknown>;
  const zoom = num(c.zoom, 1);
  return { nodes, edges, camera: { x: num(c.x, 0), y: num(c.y, 0), zoom: zoom > 0 ? zoom : 1 } };
}

/** The next free numeric id suffix (ids are `n<number>`). */
export function nextIdAfter(nodes: { id: string }[]): number {
  let max = 0;
  for (const n of nodes) {
    const m = /^n(\d+)$/.exec(n.id);
    if (m) max = Math.max(max, Number(m[1]));
  }
  return max + 1;
}

/** Debounces saves: the last document wins, at most one PUT in flight. */
export class Autosaver {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private pending: WorkspaceDoc | null = null;
  private inflight = false;
  lastSaved: string | null = null;
  constructor(private save: (doc: WorkspaceDoc) => Promise<unknown>, private delay = 600) {}
  schedule(doc: WorkspaceDoc): void {
    const text = JSON.stringify(doc);
    if (text === this.lastSaved) return;
    this.pending = doc;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.flush(), this.delay);
  }
  async flush(): Promise<void> {
    this.timer = null;
    if (this.inflight || !this.pending) return;
    const doc = this.pending;
    this.pending = null;
    this.inflight = true;
    try {
      await this.save(doc);
      this.lastSaved = JSON.stringify(doc);
    } catch {
      this.pending ??= doc; // retry with the next change
    } finally {
      this.inflight = false;
      if (this.pending) this.schedule(this.pending);
    }
  }
}
