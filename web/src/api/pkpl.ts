// Decoder of the binary plot answer (application/vnd.pika.plot, PKPL v1):
// magic, version, JSON length J, padding P, the JSON header, then 8-aligned
// float64 arrays named in the header as {"a": byteOffset, "n": count}.
// Arrays become Float64Array views over the response buffer: no copy.
import type { PlotKind } from './types';

export type Arr = Float64Array;
export type ScaleKind = 'linear' | 'log' | 'time';

export interface AxisModel {
  title: string | null; scale: ScaleKind; min: number; max: number; categories?: string[];
}
export interface SeriesModel { name: string | null; x: Arr; y: Arr; c?: Arr | null }
export interface GridModel {
  nx: number; ny: number; x0: number; x1: number; y0: number; y1: number; v: Arr;
  xedges: Arr | null; yedges: Arr | null; value: 'count' | 'sum' | 'mean'; log_color: boolean;
}
export interface BarsModel { categories: string[]; series: string[] | null; values: Arr; stacked: boolean }
export interface HistModel { edges: Arr; counts: Arr }
export interface BoxModel {
  name: string; whisker_lo: number; q1: number; median: number; q3: number; whisker_hi: number; outliers: Arr;
}
export interface ViolinModel { name: string; y: Arr; density: Arr; q1: number; median: number; q3: number }

export type ModelKind = PlotKind | 'density';
export interface PlotModel {
  plot: string; seq: number; kind: ModelKind;
  x: AxisModel; y: AxisModel;
  extent: { x0: number; x1: number; y0: number; y1: number };
  rows: number; points: number; elapsed_ms: number; cached: boolean;
  title: string | null; colorbar_title: string | null;
  series?: SeriesModel[]; color_range?: [number, number] | null;
  grid?: GridModel; bars?: BarsModel; hist?: HistModel; boxes?: BoxModel[]; violins?: ViolinModel[];
}

export class PkplError extends Error {}

const MAGIC = 0x4c504b50; // "PKPL" read as little-endian u32

function isArrayRef(v: unknown): v is { a: number; n: number } {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const keys = Object.keys(v);
  return keys.length === 2 && typeof (v as { a?: unknown }).a === 'number' && typeof (v as { n?: unknown }).n === 'number';
}

export function decodePkpl(buf: ArrayBuffer): PlotModel {
  if (buf.byteLength < 16) throw new PkplError('plot answer too short');
  const dv = new DataView(buf);
  if (dv.getUint32(0, true) !== MAGIC) throw new PkplError('not a PKPL plot answer');
  const version = dv.getUint32(4, true);
  if (version !== 1) throw new PkplError(`PKPL version ${version} not supported`);
  const j = dv.getUint32(8, true);
  const p = dv.getUint32(12, true);
  const dataStart = 16 + j + p;
  if (dataStart > buf.byteLength) throw new PkplError('PKPL header runs past the end');
  if (dataStart % 8 !== 0) throw new PkplError('PKPL data section not 8-aligned');
  const header: unknown = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 16, j)));
  const dataLen = buf.byteLength - dataStart;
  const resolve = (v: unknown): unknown => {
    if (isArrayRef(v)) {
      const { a, n } = v;
      if (a % 8 !== 0 || a < 0 || n < 0 || a + n * 8 > dataLen) throw new PkplError(`bad array {a:${a}, n:${n}}`);
      return new Float64Array(buf, dataStart + a, n);
    }
    if (Array.isArray(v)) return v.map(resolve);
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = resolve(x);
      return out;
    }
    return v;
  };
  const model = resolve(header) as PlotModel;
  if (!model || typeof model !== 'object' || typeof model.kind !== 'string') throw new PkplError('PKPL header has no kind');
  return model;
}

/** Builds a PKPL buffer (tests, and a reference for the layout). */
export function encodePkpl(header: Record<string, unknown>, arrays: Float64Array[]): ArrayBuffer {
  // Header values that are Float64Array get replaced by {a, n} references.
  let off = 0;
  const refs = new Map<Float64Array, { a: number; n: number }>();
  for (const a of arrays) {
    refs.set(a, { a: off, n: a.length });
    off += a.length * 8;
  }
  const json = JSON.stringify(header, (_k, v: unknown) => (v instanceof Float64Array ? refs.get(v) : v));
  const jb = new TextEncoder().encode(json);
  const pad = (8 - ((16 + jb.length) % 8)) % 8;
  const buf = new ArrayBuffer(16 + jb.length + pad + off);
  const dv = new DataView(buf);
  dv.setUint32(0, MAGIC, true);
  dv.setUint32(4, 1, true);
  dv.setUint32(8, jb.length, true);
  dv.setUint32(12, pad, true);
  new Uint8Array(buf, 16, jb.length).set(jb);
  let at = 16 + jb.length + pad;
  for (const a of arrays) {
    new Float64Array(buf, at, a.length).set(a);
    at += a.length * 8;
  }
  return buf;
}
