import { describe, expect, it } from 'vitest';
import { decodePkpl, encodePkpl, PkplError } from '../src/api/pkpl';

// Builds a PKPL buffer by hand, byte by byte, as docs/PROTOCOL.md lays it out.
function handmade(header: object, arrays: number[][]): ArrayBuffer {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const pad = (8 - ((16 + json.length) % 8)) % 8;
  const dataLen = arrays.reduce((s, a) => s + a.length * 8, 0);
  const buf = new ArrayBuffer(16 + json.length + pad + dataLen);
  const dv = new DataView(buf);
  [0x50, 0x4b, 0x50, 0x4c].forEach((b, i) => dv.setUint8(i, b)); // "PKPL"
  dv.setUint32(4, 1, true);
  dv.setUint32(8, json.length, true);
  dv.setUint32(12, pad, true);
  new Uint8Array(buf).set(json, 16);
  let off = 16 + json.length + pad;
  for (const a of arrays) for (const v of a) { dv.setFloat64(off, v, true); off += 8; }
  return buf;
}

const base = {
  plot: 'n1', seq: 4, x: { title: 'distance', scale: 'linear', min: 0, max: 10 }, y: { title: 'delay', scale: 'linear', min: -1, max: 5 },
  extent: { x0: 0, x1: 10, y0: -1, y1: 5 }, rows: 3, points: 3, elapsed_ms: 1.5, cached: false, title: null, colorbar_title: null,
};

describe('PKPL decoder', () => {
  it('decodes a scatter with zero-copy Float64Array views', () => {
    const buf = handmade(
      { ...base, kind: 'scatter', series: [{ name: null, x: { a: 0, n: 3 }, y: { a: 24, n: 3 }, c: null }], color_range: null },
      [[1, 2, 3], [4, -1, NaN]],
    );
    const m = decodePkpl(buf);
    expect(m.kind).toBe('scatter');
    expect(m.seq).toBe(4);
    const s = m.series![0]!;
    expect(s.x).toBeInstanceOf(Float64Array);
    expect(s.x.buffer).toBe(buf); // a view, not a copy
    expect([...s.x]).toEqual([1, 2, 3]);
    expect(s.y[1]).toBe(-1);
    expect(Number.isNaN(s.y[2]!)).toBe(true);
    expect(s.c).toBeNull();
  });

  it('decodes a density grid and nested arrays (box outliers)', () => {
    const grid = { nx: 2, ny: 2, x0: 0, x1: 1, y0: 0, y1: 1, v: { a: 0, n: 4 }, xedges: null, yedges: null, value: 'count', log_color: false };
    const m = decodePkpl(handmade({ ...base, kind: 'density', grid }, [[0, 5, 7, 1]]));
    expect(m.grid!.nx).toBe(2);
    expect([...m.grid!.v]).toEqual([0, 5, 7, 1]);
    const boxes = [{ name: 'a', whisker_lo: 0, q1: 1, median: 2, q3: 3, whisker_hi: 4, outliers: { a: 0, n: 2 } }];
    const b = decodePkpl(handmade({ ...base, kind: 'box', boxes }, [[9, 10]]));
    expect([...b.boxes![0]!.outliers]).toEqual([9, 10]);
  });

  it('round-trips through encodePkpl with 8-aligned data', () => {
    const x = new Float64Array([1.5, 2.5]);
    const edges = new Float64Array([0, 1, 2]);
    const buf = encodePkpl({ ...base, kind: 'histogram', hist: { edges, counts: x } }, [edges, x]);
    const dv = new DataView(buf);
    expect((16 + dv.getUint32(8, true) + dv.getUint32(12, true)) % 8).toBe(0);
    const m = decodePkpl(buf);
    expect([...m.hist!.edges]).toEqual([0, 1, 2]);
    expect([...m.hist!.counts]).toEqual([1.5, 2.5]);
  });

  it('rejects bad magic, version, and out-of-range arrays', () => {
    const good = handmade({ ...base, kind: 'scatter', series: [] }, []);
    const bad = good.slice(0);
    new DataView(bad).setUint8(0, 0x51);
    expect(() => decodePkpl(bad)).toThrow(PkplError);
    const v2 = good.slice(0);
    new DataView(v2).setUint32(4, 2, true);
    expect(() => decodePkpl(v2)).toThrow(/version/);
    expect(() => decodePkpl(handmade({ ...base, kind: 'histogram', hist: { edges: { a: 0, n: 5 }, counts: { a: 0, n: 1 } } }, [[1]]))).toThrow(/bad array/);
    expect(() => decodePkpl(new ArrayBuffer(4))).toThrow(/short/);
  });
});
