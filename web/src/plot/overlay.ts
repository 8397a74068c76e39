// Crisp Canvas2D overlay over the data: grid, axes, tick labels, titles,
// colour bar, box-zoom rectangle. Text is drawn at device resolution.
import type { Scene } from './scene';
import type { View, Rect } from './camera';
import { ticksFor, formatNumber } from './ticks';
import { colormapLut } from './colormap';

export const MARGIN = { left: 64, right: 16, top: 12, bottom: 42 };
export const COLORBAR_W = 70;

export function plotRect(scene: Scene | null, cssW: number, cssH: number): Rect {
  const right = MARGIN.right + (scene?.colorbar ? COLORBAR_W : 0);
  const top = MARGIN.top + (scene?.model.title ? 18 : 0);
  return { left: MARGIN.left, top, width: Math.max(10, cssW - MARGIN.left - right), height: Math.max(10, cssH - top - MARGIN.bottom) };
}

export function drawOverlay(
  canvas: HTMLCanvasElement, scene: Scene | null, view: View, r: Rect, cssW: number, cssH: number, dpr: number,
  box: { x0: number; y0: number; x1: number; y1: number } | null,
): void {
  const W = Math.round(cssW * dpr), H = Math.round(cssH * dpr);
  if (canvas.width !== W || canvas.height !== H) {
    canvas.width = W;
    canvas.height = H;
  }
  const ctx = canvas.getContext('2d')!;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, cssW, cssH);
  if (!scene) return;
  const m = scene.model;
  ctx.font = '11px system-ui, sans-serif';
  ctx.fillStyle = '#333';
  ctx.strokeStyle = '#888';
  ctx.lineWidth = 1;
  const px = (x: number) => r.left + ((x - view.x0) / (view.x1 - view.x0)) * r.width;
  const py = (y: number) => r.top + (1 - (y - view.y0) / (view.y1 - view.y0)) * r.height;

  // x axis
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  const grid = (x0: number, y0: number, x1: number, y1: number) => {
    ctx.strokeStyle = 'rgba(0,0,0,0.07)';
    ctx.beginPath();
    ctx.moveTo(Math.round(x0) + 0.5, Math.round(y0) + 0.5);
    ctx.lineTo(Math.round(x1) + 0.5, Math.round(y1) + 0.5);
    ctx.stroke();
  };
  if (scene.xCategories) {
    const cats = scene.xCategories;
    const every = Math.max(1, Math.ceil((cats.length * 60) / r.width / ((view.x1 - view.x0) / cats.length) ));
    for (let i = Math.max(0, Math.ceil(view.x0)); i <= Math.min(cats.length - 1, Math.floor(view.x1)); i += every) {
      const x = px(i);
      ctx.fillText(truncate(cats[i]!, 14), x, r.top + r.height + 5);
    }
  } else {
    const target = Math.max(2, Math.floor(r.width / 80));
    const t = ticksFor(m.x.scale, ...axisRange(view.x0, view.x1, scene.logX), target);
    for (const tk of t.major) {
      const x = px(scene.logX ? Math.log10(tk.v) : tk.v);
      grid(x, r.top, x, r.top + r.height);
      ctx.fillText(tk.label, x, r.top + r.height + 5);
    }
  }
  const yt = ticksFor(m.y.scale, ...axisRange(view.y0, view.y1, scene.logY), Math.max(2, Math.floor(r.height / 45)));
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (const tk of yt.major) {
    const y = py(scene.logY ? Math.log10(tk.v) : tk.v);
    grid(r.left, y, r.left + r.width, y);
    ctx.fillText(tk.label, r.left - 5, y);
  }
  ctx.strokeStyle = '#666';
  ctx.strokeRect(r.left + 0.5, r.top + 0.5, r.width, r.height);
  // titles
  ctx.fillStyle = '#222';
  ctx.font = '12px system-ui, sans-serif';
  ctx.textAlign = 'center';
  ctx.textBaseline = 'bottom';
  if (m.x.title) ctx.fillText(m.x.title, r.left + r.width / 2, cssH - 4);
  if (m.y.title) {
    ctx.save();
    ctx.translate(12, r.top + r.height / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textBaseline = 'middle';
    ctx.fillText(m.y.title, 0, 0);
    ctx.restore();
  }
  if (m.title) {
    ctx.font = 'bold 13px system-ui, sans-serif';
    ctx.textBaseline = 'top';
    ctx.fillText(m.title, r.left + r.width / 2, 2);
  }
  if (scene.colorbar) drawColorbar(ctx, scene, r);
  if (box) {
    ctx.fillStyle = 'rgba(30,120,220,0.12)';
    ctx.strokeStyle = 'rgba(30,120,220,0.8)';
    const x = Math.min(box.x0, box.x1), y = Math.min(box.y0, box.y1);
    ctx.fillRect(x, y, Math.abs(box.x1 - box.x0), Math.abs(box.y1 - box.y0));
    ctx.strokeRect(x + 0.5, y + 0.5, Math.abs(box.x1 - box.x0), Math.abs(box.y1 - box.y0));
  }
}

function axisRange(a: number, b: number, log: boolean): [number, number] {
  return log ? [10 ** a, 10 ** b] : [a, b];
}

function truncate(s: string, n: number) {
  return s.length > n ? s.slice(0, n - 1) + '…' : s;
}

function drawColorbar(ctx: CanvasRenderingContext2D, scene: Scene, r: Rect) {
  const cb = scene.colorbar!;
  const x = r.left + r.width + 12, w = 12, top = r.top + 14, h = Math.max(20, r.height - 14);
  const lut = colormapLut('viridis');
  for (let i = 0; i < h; i++) {
    const k = Math.round((1 - i / (h - 1)) * 255) * 4;
    ctx.fillStyle = `rgb(${lut[k]},${lut[k + 1]},${lut[k + 2]})`;
    ctx.fillRect(x, top + i, w, 1);
  }
  ctx.strokeStyle = '#666';
  ctx.strokeRect(x + 0.5, top + 0.5, w, h);
  ctx.fillStyle = '#333';
  ctx.font = '10px system-ui, sans-serif';
  ctx.textAlign = 'left';
  ctx.textBaseline = 'middle';
  const t = cb.log && cb.lo > 0 ? ticksFor('log', cb.lo, cb.hi, 5) : ticksFor('linear', cb.lo, cb.hi, 5);
  for (const tk of t.major) {
    const f = cb.log ? (Math.log10(tk.v) - Math.log10(cb.lo)) / (Math.log10(cb.hi) - Math.log10(cb.lo)) : (tk.v - cb.lo) / (cb.hi - cb.lo || 1);
    ctx.fillText(tk.label, x + w + 3, top + (1 - f) * h);
  }
  ctx.textBaseline = 'bottom';
  ctx.fillText(cb.title || formatNumber(cb.hi), x - 2, top - 2);
}
