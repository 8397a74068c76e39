import { describe, expect, it } from 'vitest';
import { boxView, fromPixel, panBy, relativeTransform, toDataViewport, toPixel, viewFromData, zoomAt, widen } from '../src/plot/camera';

const r = { left: 50, top: 10, width: 400, height: 200 };
const v = { x0: 0, x1: 100, y0: -10, y1: 10 };

describe('camera', () => {
  it('maps axis space to pixels and back', () => {
    expect(toPixel(v, r, 0, -10)).toEqual([50, 210]);
    expect(toPixel(v, r, 100, 10)).toEqual([450, 10]);
    const [x, y] = fromPixel(v, r, 250, 110);
    expect(x).toBeCloseTo(50);
    expect(y).toBeCloseTo(0);
  });
  it('zooms around the pointer, keeping that point fixed', () => {
    const z = zoomAt(v, r, 150, 60, 2);
    expect(z.x1 - z.x0).toBeCloseTo(50);
    const before = fromPixel(v, r, 150, 60), after = fromPixel(z, r, 150, 60);
    expect(after[0]).toBeCloseTo(before[0]);
    expect(after[1]).toBeCloseTo(before[1]);
  });
  it('pans with the pointer and box-zooms', () => {
    const p = panBy(v, r, 40, 0); // drag right: content moves right, view left
    expect(p.x0).toBeCloseTo(-10);
    const p2 = panBy(v, r, 0, 20); // drag down: view moves up
    expect(p2.y0).toBeCloseTo(-8);
    const b = boxView(v, r, 50, 10, 250, 110);
    expect(b).toEqual({ x0: 0, x1: 50, y0: 0, y1: 10 });
  });
  it('works in log10 space for log axes and converts back', () => {
    const lv = viewFromData(1, 1000, 0, 1, { logX: true, logY: false });
    expect(lv.x0).toBe(0);
    expect(lv.x1).toBe(3);
    const d = toDataViewport({ x0: 1, x1: 2, y0: 0, y1: 1 }, { logX: true, logY: false });
    expect(d.x0).toBe(10);
    expect(d.x1).toBe(100);
    expect(viewFromData(-5, 100, 0, 1, { logX: true, logY: false }).x0).toBeCloseTo(Math.log10(0.1));
  });
  it('gives the GPU transform between views', () => {
    expect(relativeTransform(v, v)).toEqual({ sx: 1, sy: 1, ox: 0, oy: 0 });
    const t = relativeTransform(v, { x0: 0, x1: 50, y0: -10, y1: 10 });
    expect(t.sx).toBe(2);
    expect(t.ox).toBeCloseTo(1); // the old centre (50) lands on the new right edge (clip x = 1)
    expect(widen({ x0: 3, x1: 3, y0: 1, y1: 0 })).toEqual({ x0: 2.85, x1: 3.15, y0: 0, y1: 1 });
  });
});
