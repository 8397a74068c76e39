// A PlotModel (the server's PKPL answer) turned into drawing primitives in
// axis space, shared by the WebGL2 renderer and the Canvas2D fallback:
// instanced points, rectangles, line segments, filled triangles and one
// value raster (colour-mapped on the GPU). Positions are float32 relative to
// `origin` so epoch-second time axes keep their precision on the GPU.
import type { PlotModel, Arr } from '../api/pkpl';
import { type View, toAxis, viewFromData, pad } from './camera';
import { paletteColor, colormapRgb, normalise } from './colormap';

export interface Points { n: number; x: Float32Array; y: Float32Array; rgba: Uint8Array; size: number }
export interface Rects { n: number; x0: Float32Array; y0: Float32Array; x1: Float32Array; y1: Float32Array; rgba: Uint8Array }
export interface Segments { n: number; ax: Float32Array; ay: Float32Array; bx: Float32Array; by: Float32Array; rgba: Uint8Array; width: number }
export interface Tris { n: number; xy: Float32Array; rgba: Uint8Array }
export interface Raster {
  nx: number; ny: number; v: Float32Array; x0: number; x1: number; y0: number; y1: number;
  lo: number; hi: number; log: boolean; zeroEmpty: boolean;
}
export interface Colorbar { lo: number; hi: number; log: boolean; title: string }
export interface LegendItem { name: string; rgb: [number, number, number] }

export interface Scene {
  model: PlotModel;
  home: View; // the model's drawn range in axis space
  origin: [number, number];
  logX: boolean; logY: boolean;
  points: Points | null; rects: Rects | null; segments: Segments | null; tris: Tris | null; raster: Raster | null;
  colorbar: Colorbar | null; legend: LegendItem[];
  xCategories: string[] | null;
  empty: number; // sentinel for empty raster cells
}

export const EMPTY = -3.0e38;

class Builder<T extends number[]> {
  data: number[][];
  constructor(width: number) {
    this.data = Array.from({ length: width }, () => []);
  }
  push(...vals: T): void {
    for (let i = 0; i < vals.length; i++) this.data[i]!.push(vals[i]!);
  }
  get n() {
    return this.data[0]!.length;
  }
}

export function buildScene(model: PlotModel, logX = model.x.scale === 'log', logY = model.y.scale === 'log'): Scene {
  const cats = model.x.categories ?? null;
  const home = viewFromData(model.x.min, model.x.max, model.y.min, model.y.max, { logX, logY });
  const origin: [number, number] = [(home.x0 + home.x1) / 2, (home.y0 + home.y1) / 2];
  const ox = origin[0], oy = origin[1];
  const ax = (v: number) => toAxis(v, logX) - ox;
  const ay = (v: number) => toAxis(v, logY) - oy;
  const scene: Scene = {
    model, home, origin, logX, logY, points: null, rects: null, segments: null, tris: null, raster: null,
    colorbar: null, legend: [], xCategories: cats, empty: EMPTY,
  };
  const rect = new Builder<[number, number, number, number, number, number, number, number]>(8);
  const seg = new Builder<[number, number, number, number, number, number, number, number]>(8);
  const tri = new Builder<[number, number, number, number, number, number]>(6);
  const A = 255;

  switch (model.kind) {
    case 'scatter': {
      const series = model.series ?? [];
      let total = 0;
      for (const s of series) total += s.x.length;
      const x = new Float32Array(total), y = new Float32Array(total), rgba = new Uint8Array(total * 4);
      const cr = model.color_range ?? null;
      let k = 0;
      series.forEach((s, si) => {
        const col = paletteColor(si);
        if (s.name !== null) scene.legend.push({ name: s.name, rgb: col });
        const c = s.c ?? null;
        for (let i = 0; i < s.x.length; i++, k++) {
          x[k] = ax(s.x[i]!);
          y[k] = ay(s.y[i]!);
          const rgb = c && cr ? colormapRgb(normalise(c[i]!, cr[0], cr[1], false)) : col;
          rgba[k * 4] = rgb[0];
          rgba[k * 4 + 1] = rgb[1];
          rgba[k * 4 + 2] = rgb[2];
          rgba[k * 4 + 3] = total > 20000 ? 160 : 220;
        }
      });
      if (cr && series.some((s) => s.c)) scene.colorbar = { lo: cr[0], hi: cr[1], log: false, title: model.colorbar_title ?? 'value' };
      scene.points = { n: total, x, y, rgba, size: total > 50000 ? 3 : total > 5000 ? 4 : 6 };
      break;
    }
    case 'density':
    case 'heatmap': {
      const g = model.grid!;
      let lo = Infinity, hi = -Infinity;
      const count = g.value === 'count';
      const v = new Float32Array(g.v.length);
      for (let i = 0; i < g.v.length; i++) {
        const c = g.v[i]!;
        if (Number.isNaN(c) || (count && c === 0) || (g.log_color && !(c > 0))) {
          v[i] = EMPTY;
          continue;
        }
        v[i] = c;
        if (c < lo) lo = c;
        if (c > hi) hi = c;
      }
      if (!(hi >= lo)) { lo = 0; hi = 1; }
      if (count && !g.log_color) lo = Math.min(lo, 0);
      const title = model.colorbar_title ?? g.value;
      scene.colorbar = { lo, hi, log: g.log_color, title };
      if (g.xedges || g.yedges || logX || logY) {
        // non-uniform cells: one rectangle per non-empty cell
        const xe = g.xedges ?? uniformEdges(g.x0, g.x1, g.nx);
        const ye = g.yedges ?? uniformEdges(g.y0, g.y1, g.ny);
        for (let iy = 0; iy < g.ny; iy++)
          for (let ix = 0; ix < g.nx; ix++) {
            const c = v[iy * g.nx + ix]!;
            if (c === EMPTY) continue;
            const rgb = colormapRgb(normalise(c, lo, hi, g.log_color));
            rect.push(ax(xe[ix]!), ay(ye[iy]!), ax(xe[ix + 1]!), ay(ye[iy + 1]!), rgb[0], rgb[1], rgb[2], A);
          }
      } else {
        scene.raster = { nx: g.nx, ny: g.ny, v, x0: g.x0 - ox, x1: g.x1 - ox, y0: g.y0 - oy, y1: g.y1 - oy, lo, hi, log: g.log_color, zeroEmpty: count };
      }
      break;
    }
    case 'line':
    case 'area': {
      (model.series ?? []).forEach((s, si) => {
        const col = paletteColor(si);
        if (s.name !== null) scene.legend.push({ name: s.name, rgb: col });
        let px = NaN, py = NaN;
        for (let i = 0; i < s.x.length; i++) {
          const x = ax(s.x[i]!), y = ay(s.y[i]!);
          if (Number.isFinite(x) && Number.isFinite(y) && Number.isFinite(px) && Number.isFinite(py)) {
            seg.push(px, py, x, y, col[0], col[1], col[2], A);
            if (model.kind === 'area') {
              const base = ay(logY ? model.y.min : 0);
              const a = 90;
              tri.push(px, base, col[0], col[1], col[2], a);
              tri.push(px, py, col[0], col[1], col[2], a);
              tri.push(x, y, col[0], col[1], col[2], a);
              tri.push(px, base, col[0], col[1], col[2], a);
              tri.push(x, y, col[0], col[1], col[2], a);
              tri.push(x, base, col[0], col[1], col[2], a);
            }
          }
          px = x;
          py = y;
        }
      });
      break;
    }
    case 'bar': {
      const b = model.bars!;
      const ns = b.series?.length ?? 1;
      (b.series ?? []).forEach((name, si) => scene.legend.push({ name, rgb: paletteColor(si) }));
      const base = ay(logY ? model.y.min : 0);
      for (let c = 0; c < b.categories.length; c++) {
        let stack = 0;
        for (let s = 0; s < ns; s++) {
          const val = b.values[c * ns + s]!;
          if (!Number.isFinite(val)) continue;
          const col = paletteColor(s);
          if (b.stacked) {
            rect.push(ax(c - 0.4) , ay(stack) , ax(c + 0.4), ay(stack + val), col[0], col[1], col[2], A);
            stack += val;
          } else {
            const w = 0.8 / ns;
            const x0 = c - 0.4 + s * w;
            rect.push(ax(x0), base, ax(x0 + w * 0.92), ay(val), col[0], col[1], col[2], A);
          }
        }
      }
      break;
    }
    case 'histogram': {
      const h = model.hist!;
      const col = paletteColor(0);
      const base = ay(logY ? model.y.min : 0);
      for (let i = 0; i < h.counts.length; i++) {
        const c = h.counts[i]!;
        if (!(c > 0)) continue;
        rect.push(ax(h.edges[i]!), base, ax(h.edges[i + 1]!), ay(c), col[0], col[1], col[2], A);
        seg.push(ax(h.edges[i]!), base, ax(h.edges[i]!), ay(c), 255, 255, 255, 200);
      }
      break;
    }
    case 'box': {
      const col = paletteColor(0);
      const ptsX: number[] = [], ptsY: number[] = [];
      (model.boxes ?? []).forEach((b, i) => {
        const L = (x0: number, y0: number, x1: number, y1: number) => seg.push(ax(x0), ay(y0), ax(x1), ay(y1), 40, 40, 40, A);
        rect.push(ax(i - 0.3), ay(b.q1), ax(i + 0.3), ay(b.q3), col[0], col[1], col[2], 110);
        L(i - 0.3, b.q1, i + 0.3, b.q1); L(i - 0.3, b.q3, i + 0.3, b.q3);
        L(i - 0.3, b.q1, i - 0.3, b.q3); L(i + 0.3, b.q1, i + 0.3, b.q3);
        L(i - 0.3, b.median, i + 0.3, b.median);
        L(i, b.q3, i, b.whisker_hi); L(i, b.q1, i, b.whisker_lo);
        L(i - 0.15, b.whisker_hi, i + 0.15, b.whisker_hi); L(i - 0.15, b.whisker_lo, i + 0.15, b.whisker_lo);
        for (let k = 0; k < b.outliers.length; k++) { ptsX.push(ax(i)); ptsY.push(ay(b.outliers[k]!)); }
      });
      scene.points = solidPoints(ptsX, ptsY, [40, 40, 40], 4);
      break;
    }
    case 'violin': {
      (model.violins ?? []).forEach((vg, i) => {
        const col = paletteColor(i);
        let dmax = 0;
        for (let k = 0; k < vg.density.length; k++) dmax = Math.max(dmax, vg.density[k]!);
        const half = (d: number) => (dmax > 0 ? (d / dmax) * 0.42 : 0);
        for (let k = 1; k < vg.y.length; k++) {
          const ya = ay(vg.y[k - 1]!), yb = ay(vg.y[k]!);
          const wa = half(vg.density[k - 1]!), wb = half(vg.density[k]!);
          tri.push(ax(i - wa), ya, col[0], col[1], col[2], 140);
          tri.push(ax(i + wa), ya, col[0], col[1], col[2], 140);
          tri.push(ax(i + wb), yb, col[0], col[1], col[2], 140);
          tri.push(ax(i - wa), ya, col[0], col[1], col[2], 140);
          tri.push(ax(i + wb), yb, col[0], col[1], col[2], 140);
          tri.push(ax(i - wb), yb, col[0], col[1], col[2], 140);
          seg.push(ax(i - wa), ya, ax(i - wb), yb, col[0], col[1], col[2], A);
          seg.push(ax(i + wa), ya, ax(i + wb), yb, col[0], col[1], col[2], A);
        }
        seg.push(ax(i - 0.05), ay(vg.q1), ax(i + 0.05), ay(vg.q1), 40, 40, 40, A);
        seg.push(ax(i - 0.05), ay(vg.q3), ax(i + 0.05), ay(vg.q3), 40, 40, 40, A);
        seg.push(ax(i - 0.12), ay(vg.median), ax(i + 0.12), ay(vg.median), 255, 255, 255, A);
        seg.push(ax(i), ay(vg.q1), ax(i), ay(vg.q3), 40, 40, 40, A);
      });
      break;
    }
  }
  if (rect.n) scene.rects = toRects(rect.data);
  if (seg.n) scene.segments = toSegments(seg.data, model.kind === 'line' || model.kind === 'area' ? 1.5 : 1);
  if (tri.n) scene.tris = toTris(tri.data);
  return scene;
}

function uniformEdges(a: number, b: number, n: number): Arr {
  const e = new Float64Array(n + 1);
  for (let i = 0; i <= n; i++) e[i] = a + ((b - a) * i) / n;
  return e;
}

function rgbaOf(cols: number[][], from: number, n: number): Uint8Array {
  const rgba = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) for (let k = 0; k < 4; k++) rgba[i * 4 + k] = cols[from + k]![i]!;
  return rgba;
}
function toRects(d: number[][]): Rects {
  const n = d[0]!.length;
  return { n, x0: Float32Array.from(d[0]!), y0: Float32Array.from(d[1]!), x1: Float32Array.from(d[2]!), y1: Float32Array.from(d[3]!), rgba: rgbaOf(d, 4, n) };
}
function toSegments(d: number[][], width: number): Segments {
  const n = d[0]!.length;
  return { n, ax: Float32Array.from(d[0]!), ay: Float32Array.from(d[1]!), bx: Float32Array.from(d[2]!), by: Float32Array.from(d[3]!), rgba: rgbaOf(d, 4, n), width };
}
function toTris(d: number[][]): Tris {
  const n = d[0]!.length;
  const xy = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) { xy[i * 2] = d[0]![i]!; xy[i * 2 + 1] = d[1]![i]!; }
  return { n, xy, rgba: rgbaOf(d, 2, n) };
}
function solidPoints(xs: number[], ys: number[], rgb: number[], size: number): Points | null {
  if (!xs.length) return null;
  const rgba = new Uint8Array(xs.length * 4);
  for (let i = 0; i < xs.length; i++) rgba.set([rgb[0]!, rgb[1]!, rgb[2]!, 200], i * 4);
  return { n: xs.length, x: Float32Array.from(xs), y: Float32Array.from(ys), rgba, size };
}

/** The view to show first for a model: its drawn range, padded for point kinds. */
export function initialView(scene: Scene): View {
  const k = scene.model.kind;
  if (k === 'scatter' || k === 'line' || k === 'area') return pad(scene.home, 0.02, 0.04);
  const h = scene.home;
  const dy = (h.y1 - h.y0) * 0.04;
  if (k === 'box' || k === 'violin') return { ...h, y0: h.y0 - dy, y1: h.y1 + dy };
  if (k === 'bar' || k === 'histogram') return { ...h, y1: h.y1 + dy }; // bars keep their base
  return h;
}
