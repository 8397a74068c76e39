import { describe, expect, it } from 'vitest';
import { colormapLut, colormapRgb, COLORMAPS, normalise, paletteColor } from '../src/plot/colormap';

describe('colormaps', () => {
  it('carries the C renderer tables (viridis ends, magma and cividis)', () => {
    expect(COLORMAPS).toEqual(['viridis', 'magma', 'inferno', 'plasma', 'cividis']);
    // viridis[0] = (0.267004, 0.004874, 0.329415), viridis[255] = (0.993248, 0.906157, 0.143936)
    expect(colormapRgb(0)).toEqual([68, 1, 84]);
    expect(colormapRgb(1)).toEqual([253, 231, 37]);
    expect(colormapRgb(0, 'magma')).toEqual([0, 0, 4]);
    expect(colormapRgb(Number.NaN)).toEqual([68, 1, 84]);
    expect(colormapRgb(7)).toEqual([253, 231, 37]);
    const lut = colormapLut('cividis');
    expect(lut.length).toBe(1024);
    expect(lut[3]).toBe(255);
  });
  it('rises in lightness along viridis', () => {
    const lum = (c: number[]) => 0.2126 * c[0]! + 0.7152 * c[1]! + 0.0722 * c[2]!;
    let prev = -1;
    for (let i = 0; i <= 10; i++) {
      const l = lum(colormapRgb(i / 10));
      expect(l).toBeGreaterThan(prev);
      prev = l;
    }
  });
  it('normalises linearly and in log10', () => {
    expect(normalise(5, 0, 10, false)).toBe(0.5);
    expect(normalise(10, 1, 100, true)).toBeCloseTo(0.5);
    expect(Number.isNaN(normalise(0, 1, 100, true))).toBe(true);
    expect(paletteColor(8)).toEqual(paletteColor(0));
  });
});
