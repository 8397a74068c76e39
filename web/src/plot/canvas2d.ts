// The Canvas2D fallback: the same Scene drawn with the 2-D context when
// WebGL2 is unavailable. Rasters are colour-mapped once into an ImageData
// and scaled; everything else is mapped per draw.
import type { Renderer } from './gl';
import type { Scene } from './scene';
import type { View } from './camera';
import { colormapLut, normalise } from './colormap';

export class Canvas2dRenderer implements Renderer {
  readonly kind = 'canvas2d' as const;
  private scene: Scene | null = null;
  private rasterImg: HTMLCanvasElement | null = null;
  constructor(private canvas: HTMLCanvasElement) {}

  setScene(scene: Scene | null): void {
    this.scene = scene;
    this.rasterImg = null;
    const r = scene?.raster;
    if (!r) return;
    const lut = colormapLut('viridis');
    const c = document.createElement('canvas');
    c.width = r.nx;
    c.height = r.ny;
    const ctx = c.getContext('2d')!;
    const img = ctx.createImageData(r.nx, r.ny);
    for (let iy = 0; iy < r.ny; iy++)
      for (let ix = 0; ix < r.nx; ix++) {
        const v = r.v[iy * r.nx + ix]!;
        const o = ((r.ny - 1 - iy) * r.nx + ix) * 4;
        if (v === scene!.empty || (r.zeroEmpty && v === 0)) continue;
        const t = normalise(v, r.lo, r.hi, r.log);
        if (Number.isNaN(t)) continue;
        const k = Math.max(0, Math.min(255, Math.round(t * 255))) * 4;
        img.data[o] = lut[k]!;
        img.data[o + 1] = lut[k + 1]!;
        img.data[o + 2] = lut[k + 2]!;
        img.data[o + 3] = 255;
      }
    ctx.putImageData(img, 0, 0);
    this.rasterImg = c;
  }

  draw(view: View, plot: { left: number; top: number; width: number; height: number }, cssW: number, cssH: number, dpr: number): void {
    const W = Math.round(cssW * dpr), H = Math.round(cssH * dpr);
    if (this.canvas.width !== W || this.canvas.height !== H) {
      this.canvas.width = W;
      this.canvas.height = H;
    }
    const ctx = this.canvas.getContext('2d')!;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, W, H);
    const s = this.scene;
    if (!s) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.save();
    ctx.beginPath();
    ctx.rect(plot.left, plot.top, plot.width, plot.height);
    ctx.clip();
    const kx = plot.width / (view.x1 - view.x0), ky = plot.height / (view.y1 - view.y0);
    const bx = plot.left - (view.x0 - s.origin[0]) * kx;
    const by = plot.top + plot.height + (view.y0 - s.origin[1]) * ky;
    const X = (x: number) => bx + x * kx;
    const Y = (y: number) => by - y * ky;
    const col = (rgba: Uint8Array, i: number) => `rgba(${rgba[i * 4]},${rgba[i * 4 + 1]},${rgba[i * 4 + 2]},${rgba[i * 4 + 3]! / 255})`;
    if (s.raster && this.rasterImg) {
      const r = s.raster;
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(this.rasterImg, X(r.x0), Y(r.y1), X(r.x1) - X(r.x0), Y(r.y0) - Y(r.y1));
    }
    if (s.rects) {
      const r = s.rects;
      for (let i = 0; i < r.n; i++) {
        ctx.fillStyle = col(r.rgba, i);
        const x0 = X(r.x0[i]!), x1 = X(r.x1[i]!), y0 = Y(r.y0[i]!), y1 = Y(r.y1[i]!);
        ctx.fillRect(Math.min(x0, x1), Math.min(y0, y1), Math.abs(x1 - x0), Math.abs(y1 - y0));
      }
    }
    if (s.tris) {
      const t = s.tris;
      for (let i = 0; i + 2 < t.n; i += 3) {
        ctx.fillStyle = col(t.rgba, i);
        ctx.beginPath();
        ctx.moveTo(X(t.xy[i * 2]!), Y(t.xy[i * 2 + 1]!));
        ctx.lineTo(X(t.xy[i * 2 + 2]!), Y(t.xy[i * 2 + 3]!));
        ctx.lineTo(X(t.xy[i * 2 + 4]!), Y(t.xy[i * 2 + 5]!));
        ctx.fill();
      }
    }
    if (s.segments) {
      const g = s.segments;
      ctx.lineWidth = g.width;
      for (let i = 0; i < g.n; i++) {
        ctx.strokeStyle = col(g.rgba, i);
        ctx.beginPath();
        ctx.moveTo(X(g.ax[i]!), Y(g.ay[i]!));
        ctx.lineTo(X(g.bx[i]!), Y(g.by[i]!));
        ctx.stroke();
      }
    }
    if (s.points) {
      const p = s.points;
      const rad = p.size / 2;
      for (let i = 0; i < p.n; i++) {
        ctx.fillStyle = col(p.rgba, i);
        ctx.beginPath();
        ctx.arc(X(p.x[i]!), Y(p.y[i]!), rad, 0, Math.PI * 2);
        ctx.fill();
      }
    }
    ctx.restore();
  }

  dispose(): void {
    this.scene = null;
  }
}
