// What is under the pointer: the nearest point (scatter, line, area, box
// outliers), the raster bin and its value (density, heatmap), the histogram
// bin, the bar, the box or violin group. Returns tooltip lines plus raw values.
import type { Scene } from './scene';
import { type View, type Rect, fromPixel, toAxis, fromAxis } from './camera';
import { formatNumber, timeLabel } from './ticks';

export interface Hit { lines: string[]; value?: number; x0?: number; x1?: number; y0?: number; y1?: number; px: number; py: number }

export function fmtAxis(v: number, scale: string): string {
  if (scale === 'time') return new Date(v * 1000).toISOString().replace('T', ' ').replace(/\.000Z$/, 'Z');
  return formatNumber(v, Math.abs(v) / 1e4 || 1e-6);
}
const fmtCount = (v: number) => (Number.isInteger(v) ? v.toLocaleString('en-US') : formatNumber(v, Math.abs(v) / 1e4));
void timeLabel;

export function hitTest(scene: Scene, view: View, r: Rect, mx: number, my: number): Hit | null {
  if (mx < r.left || mx > r.left + r.width || my < r.top || my > r.top + r.height) return null;
  const m = scene.model;
  const [axX, axY] = fromPixel(view, r, mx, my);
  const dataX = fromAxis(axX, scene.logX), dataY = fromAxis(axY, scene.logY);
  const kx = r.width / (view.x1 - view.x0), ky = r.height / (view.y1 - view.y0);
  const xs = m.x.title ?? 'x', ys = m.y.title ?? 'y';
  switch (m.kind) {
    case 'scatter':
    case 'line':
    case 'area': {
      let best = Infinity, bs = -1, bi = -1;
      const series = m.series ?? [];
      for (let s = 0; s < series.length; s++) {
        const X = series[s]!.x, Y = series[s]!.y;
        for (let i = 0; i < X.length; i++) {
          const dx = (toAxis(X[i]!, scene.logX) - axX) * kx, dy = (toAxis(Y[i]!, scene.logY) - axY) * ky;
          const d = dx * dx + dy * dy;
          if (d < best) { best = d; bs = s; bi = i; }
        }
      }
      if (bs < 0 || best > 15 * 15) return null;
      const s = series[bs]!;
      const x = s.x[bi]!, y = s.y[bi]!;
      const lines = [`${xs}: ${fmtAxis(x, m.x.scale)}`, `${ys}: ${fmtAxis(y, m.y.scale)}`];
      if (s.name) lines.unshift(s.name);
      if (s.c) lines.push(`${m.colorbar_title ?? 'color'}: ${formatNumber(s.c[bi]!, Math.abs(s.c[bi]!) / 1e4 || 1e-6)}`);
      const px = r.left + (toAxis(x, scene.logX) - view.x0) * kx, py = r.top + r.height - (toAxis(y, scene.logY) - view.y0) * ky;
      return { lines, value: y, x0: x, y0: y, px, py };
    }
    case 'density':
    case 'heatmap': {
      const g = m.grid!;
      const ix = findBin(g.xedges, g.x0, g.x1, g.nx, dataX), iy = findBin(g.yedges, g.y0, g.y1, g.ny, dataY);
      if (ix < 0 || iy < 0) return null;
      const v = g.v[iy * g.nx + ix]!;
      const x0 = g.xedges ? g.xedges[ix]! : g.x0 + ((g.x1 - g.x0) * ix) / g.nx;
      const x1 = g.xedges ? g.xedges[ix + 1]! : g.x0 + ((g.x1 - g.x0) * (ix + 1)) / g.nx;
      const y0 = g.yedges ? g.yedges[iy]! : g.y0 + ((g.y1 - g.y0) * iy) / g.ny;
      const y1 = g.yedges ? g.yedges[iy + 1]! : g.y0 + ((g.y1 - g.y0) * (iy + 1)) / g.ny;
      const val = Number.isNaN(v) ? 0 : v;
      return {
        lines: [`${g.value}: ${fmtCount(val)}`, `${xs}: [${fmtAxis(x0, m.x.scale)}, ${fmtAxis(x1, m.x.scale)})`, `${ys}: [${fmtAxis(y0, m.y.scale)}, ${fmtAxis(y1, m.y.scale)})`],
        value: val, x0, x1, y0, y1, px: mx, py: my,
      };
    }
    case 'histogram': {
      const h = m.hist!;
      const i = findBin(h.edges, 0, 0, h.counts.length, dataX);
      if (i < 0) return null;
      const c = h.counts[i]!;
      return { lines: [`count: ${fmtCount(c)}`, `${xs}: [${fmtAxis(h.edges[i]!, m.x.scale)}, ${fmtAxis(h.edges[i + 1]!, m.x.scale)})`], value: c, x0: h.edges[i]!, x1: h.edges[i + 1]!, px: mx, py: my };
    }
    case 'bar': {
      const b = m.bars!;
      const c = Math.round(axX);
      if (c < 0 || c >= b.categories.length || Math.abs(axX - c) > 0.4) return null;
      const ns = b.series?.length ?? 1;
      const s = b.stacked ? stackIndex(b.values, c, ns, dataY) : Math.min(ns - 1, Math.max(0, Math.floor(((axX - c + 0.4) / 0.8) * ns)));
      const v = b.values[c * ns + s]!;
      const lines = [`${b.categories[c]}`, `${ys}: ${fmtCount(v)}`];
      if (b.series) lines.splice(1, 0, b.series[s]!);
      return { lines, value: v, px: mx, py: my };
    }
    case 'box': {
      const i = Math.round(axX);
      const b = m.boxes?.[i];
      if (!b || Math.abs(axX - i) > 0.35) return null;
      const f = (v: number) => fmtAxis(v, m.y.scale);
      return { lines: [b.name, `median ${f(b.median)}`, `q1 ${f(b.q1)} · q3 ${f(b.q3)}`, `whiskers ${f(b.whisker_lo)} – ${f(b.whisker_hi)}`], value: b.median, px: mx, py: my };
    }
    case 'violin': {
      const i = Math.round(axX);
      const v = m.violins?.[i];
      if (!v || Math.abs(axX - i) > 0.45) return null;
      const f = (x: number) => fmtAxis(x, m.y.scale);
      return { lines: [v.name, `median ${f(v.median)}`, `q1 ${f(v.q1)} · q3 ${f(v.q3)}`], value: v.median, px: mx, py: my };
    }
  }
  return null;
}

/** Index of the bin holding v: edges when given, else n uniform bins over [a, b]; -1 outside. */
export function findBin(edges: Float64Array | null, a: number, b: number, n: number, v: number): number {
  if (edges) {
    if (!(v >= edges[0]!) || !(v <= edges[edges.length - 1]!)) return -1;
    let lo = 0, hi = edges.length - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (edges[mid]! <= v) lo = mid;
      else hi = mid;
    }
    return Math.min(lo, n - 1);
  }
  if (!(v >= a && v <= b) || !(b > a)) return -1;
  return Math.min(n - 1, Math.floor(((v - a) / (b - a)) * n));
}

function stackIndex(values: Float64Array, c: number, ns: number, y: number): number {
  let acc = 0;
  for (let s = 0; s < ns; s++) {
    acc += values[c * ns + s]!;
    if (y <= acc) return s;
  }
  return ns - 1;
}
