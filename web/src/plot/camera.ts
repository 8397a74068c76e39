// Viewport math. A View is the visible range of each axis in *axis space*:
// data values on linear and time axes, log10 of them on log axes, so that
// the mapping to pixels is always affine and the GPU transform is a scale
// plus an offset. Pan and zoom work on Views; the server is asked for the
// data-space viewport (toDataViewport).

export interface View { x0: number; x1: number; y0: number; y1: number }
export interface Rect { left: number; top: number; width: number; height: number }
export interface AxisFlags { logX: boolean; logY: boolean }

export const toAxis = (v: number, log: boolean) => (log ? Math.log10(v) : v);
export const fromAxis = (v: number, log: boolean) => (log ? 10 ** v : v);

/** Data-space range -> axis-space View (log axes clamp non-positive lows). */
export function viewFromData(x0: number, x1: number, y0: number, y1: number, f: AxisFlags): View {
  const lg = (lo: number, hi: number): [number, number] => {
    const h = hi > 0 ? hi : 1;
    const l = lo > 0 ? lo : h / 1000;
    return [Math.log10(l), Math.log10(h)];
  };
  const [ax0, ax1] = f.logX ? lg(x0, x1) : [x0, x1];
  const [ay0, ay1] = f.logY ? lg(y0, y1) : [y0, y1];
  return widen({ x0: ax0, x1: ax1, y0: ay0, y1: ay1 });
}

export function toDataViewport(v: View, f: AxisFlags): View {
  return { x0: fromAxis(v.x0, f.logX), x1: fromAxis(v.x1, f.logX), y0: fromAxis(v.y0, f.logY), y1: fromAxis(v.y1, f.logY) };
}

/** Zero-width ranges get a unit (or 10%) width so the transform stays finite. */
export function widen(v: View): View {
  const w = (a: number, b: number): [number, number] => {
    if (b > a) return [a, b];
    if (b < a) return [b, a];
    const d = a === 0 ? 0.5 : Math.abs(a) * 0.05;
    return [a - d, a + d];
  };
  const [x0, x1] = w(v.x0, v.x1);
  const [y0, y1] = w(v.y0, v.y1);
  return { x0, x1, y0, y1 };
}

/** Axis-space -> pixel (y grows downward). */
export function toPixel(v: View, r: Rect, x: number, y: number): [number, number] {
  return [r.left + ((x - v.x0) / (v.x1 - v.x0)) * r.width, r.top + (1 - (y - v.y0) / (v.y1 - v.y0)) * r.height];
}

export function fromPixel(v: View, r: Rect, px: number, py: number): [number, number] {
  return [v.x0 + ((px - r.left) / r.width) * (v.x1 - v.x0), v.y0 + (1 - (py - r.top) / r.height) * (v.y1 - v.y0)];
}

/** Zoom by `factor` (>1 zooms in) keeping the axis point under (px, py) fixed. */
export function zoomAt(v: View, r: Rect, px: number, py: number, fx: number, fy = fx): View {
  const [cx, cy] = fromPixel(v, r, px, py);
  return {
    x0: cx - (cx - v.x0) / fx,
    x1: cx + (v.x1 - cx) / fx,
    y0: cy - (cy - v.y0) / fy,
    y1: cy + (v.y1 - cy) / fy,
  };
}

/** Pan by a pixel delta (content follows the pointer). */
export function panBy(v: View, r: Rect, dx: number, dy: number): View {
  const sx = ((v.x1 - v.x0) / r.width) * dx;
  const sy = ((v.y1 - v.y0) / r.height) * dy;
  return { x0: v.x0 - sx, x1: v.x1 - sx, y0: v.y0 + sy, y1: v.y1 + sy };
}

/** The View spanned by two pixel corners of a box (box zoom). */
export function boxView(v: View, r: Rect, ax: number, ay: number, bx: number, by: number): View {
  const [x0, y0] = fromPixel(v, r, Math.min(ax, bx), Math.max(ay, by));
  const [x1, y1] = fromPixel(v, r, Math.max(ax, bx), Math.min(ay, by));
  return { x0, x1, y0, y1 };
}

/**
 * The GPU transform that draws content laid out for `from` as it appears
 * in `to`: clip = pos * scale + offset, where pos is in `from`'s normalised
 * [-1, 1] device coordinates. Immediate pan/zoom on the current data.
 */
export function relativeTransform(from: View, to: View): { sx: number; sy: number; ox: number; oy: number } {
  const sx = (from.x1 - from.x0) / (to.x1 - to.x0);
  const sy = (from.y1 - from.y0) / (to.y1 - to.y0);
  const cfx = (from.x0 + from.x1) / 2, ctx = (to.x0 + to.x1) / 2;
  const cfy = (from.y0 + from.y1) / 2, cty = (to.y0 + to.y1) / 2;
  return { sx, sy, ox: ((cfx - ctx) / (to.x1 - to.x0)) * 2, oy: ((cfy - cty) / (to.y1 - to.y0)) * 2 };
}

export function sameView(a: View, b: View, eps = 1e-9): boolean {
  const sx = Math.abs(a.x1 - a.x0) * eps, sy = Math.abs(a.y1 - a.y0) * eps;
  return Math.abs(a.x0 - b.x0) <= sx && Math.abs(a.x1 - b.x1) <= sx && Math.abs(a.y0 - b.y0) <= sy && Math.abs(a.y1 - b.y1) <= sy;
}

/** Padding of a data range by a fraction on each side (axis space). */
export function pad(v: View, fx: number, fy: number): View {
  const dx = (v.x1 - v.x0) * fx, dy = (v.y1 - v.y0) * fy;
  return { x0: v.x0 - dx, x1: v.x1 + dx, y0: v.y0 - dy, y1: v.y1 + dy };
}
