// Continuous colour maps (the C renderer's tables) and the category palette.
import { COLORMAP_HEX } from './colormap_data';

export type ColormapName = keyof typeof COLORMAP_HEX;
export const COLORMAPS = Object.keys(COLORMAP_HEX) as ColormapName[];

const cache = new Map<ColormapName, Uint8Array>();

/** The 256-entry map as RGBA8 (alpha 255): the LUT texture's contents. */
export function colormapLut(name: ColormapName = 'viridis'): Uint8Array {
  let lut = cache.get(name);
  if (lut) return lut;
  const hex = COLORMAP_HEX[name] ?? COLORMAP_HEX.viridis;
  lut = new Uint8Array(256 * 4);
  for (let i = 0; i < 256; i++) {
    lut[i * 4] = parseInt(hex.slice(i * 6, i * 6 + 2), 16);
    lut[i * 4 + 1] = parseInt(hex.slice(i * 6 + 2, i * 6 + 4), 16);
    lut[i * 4 + 2] = parseInt(hex.slice(i * 6 + 4, i * 6 + 6), 16);
    lut[i * 4 + 3] = 255;
  }
  cache.set(name, lut);
  return lut;
}

/** Colour at t in [0,1] (clamped; NaN gives t = 0), nearest entry. */
export function colormapRgb(t: number, name: ColormapName = 'viridis'): [number, number, number] {
  const lut = colormapLut(name);
  const i = Number.isNaN(t) ? 0 : Math.max(0, Math.min(255, Math.round(t * 255)));
  return [lut[i * 4]!, lut[i * 4 + 1]!, lut[i * 4 + 2]!];
}

/** Okabe & Ito, in the C renderer's order (src/render/colormap.c). */
export const PALETTE: [number, number, number][] = [
  [0, 114, 178], [230, 159, 0], [0, 158, 115], [213, 94, 0],
  [204, 121, 167], [86, 180, 233], [240, 228, 66], [0, 0, 0],
];
export const paletteColor = (i: number): [number, number, number] => PALETTE[((i % PALETTE.length) + PALETTE.length) % PALETTE.length]!;
export const cssRgb = (c: readonly number[], a = 1) => `rgba(${c[0]},${c[1]},${c[2]},${a})`;

/** Normalises a value to [0,1] over [lo, hi], optionally in log10. NaN: not drawn. */
export function normalise(v: number, lo: number, hi: number, log: boolean): number {
  if (log) {
    if (!(v > 0) || !(lo > 0)) return NaN;
    const a = Math.log10(lo), b = Math.log10(hi);
    return b > a ? (Math.log10(v) - a) / (b - a) : 1;
  }
  return hi > lo ? (v - lo) / (hi - lo) : 1;
}
