import { describe, expect, it, vi } from 'vitest';
import { Autosaver, nextIdAfter, parse, serialize } from '../src/workspace/doc';
import type { PikaNode } from '../src/nodes/types';
import { defaultSpec } from '../src/nodes/types';

const nodes: PikaNode[] = [
  { id: 'n1', type: 'table', position: { x: 10, y: 20 }, data: { table: 'flights', columns: [{ name: 'a', type: 'INTEGER' }] } },
  { id: 'n2', type: 'query', position: { x: 300, y: 20 }, width: 500, height: 380, data: { sql: 'SELECT 1', ran: 'SELECT 1' } },
  { id: 'n3', type: 'plot', position: { x: 900, y: 20 }, data: { spec: { ...defaultSpec(), kind: 'histogram', x: 'delay', log_y: true }, view: { x0: 0, x1: 5, y0: 1, y1: 2 }, srcSql: 'SELECT 1' } },
  { id: 'n7', type: 'export', position: { x: 1500, y: 20 }, data: { format: 'svg', width: 800, height: 500, dpi: 150 } },
];
const edges = [{ id: 'e1', source: 'n1', target: 'n2' }, { id: 'e2', source: 'n2', target: 'n3' }, { id: 'e3', source: 'n3', target: 'n7' }];

describe('workspace document', () => {
  it('round-trips nodes, edges and camera, without transient fields', () => {
    const doc = serialize(nodes, edges, { x: 5, y: -3, zoom: 0.8 });
    const json = JSON.parse(JSON.stringify(doc));
    expect(JSON.stringify(json)).not.toContain('columns');
    expect(JSON.stringify(json)).not.toContain('srcSql');
    const back = parse(json)!;
    expect(back.camera).toEqual({ x: 5, y: -3, zoom: 0.8 });
    expect(back.edges.map((e) => [e.source, e.target])).toEqual([['n1', 'n2'], ['n2', 'n3'], ['n3', 'n7']]);
    expect(back.nodes.map((n) => n.type)).toEqual(['table', 'query', 'plot', 'export']);
    const q = back.nodes[1]!;
    expect(q.width).toBe(500);
    expect(q.data).toEqual({ sql: 'SELECT 1', ran: 'SELECT 1' });
    const p = back.nodes[2]!;
    expect(p.type === 'plot' && p.data.spec.log_y).toBe(true);
    expect(p.type === 'plot' && p.data.view).toEqual({ x0: 0, x1: 5, y0: 1, y1: 2 });
    expect(nextIdAfter(back.nodes)).toBe(8);
  });
  it('survives damaged documents', () => {
    expect(parse(null)).toBeNull();
    expect(parse({ version: 2, nodes: [] })).toBeNull();
    const r = parse({
      version: 1,
      nodes: [
        { id: 'a', type: 'plot', data: { spec: { kind: 'pie', bins: -3, agg: 'median' }, view: { x0: 1, x1: 0 } } },
        { id: 'a', type: 'query' },
        { id: 'b', type: 'alien' },
        { id: 'c', type: 'table', data: {} },
      ],
      edges: [{ source: 'a', target: 'zzz' }],
      camera: { zoom: -1 },
    })!;
    expect(r.nodes.length).toBe(1);
    const p = r.nodes[0]!;
    expect(p.type === 'plot' && p.data.spec).toEqual({ ...defaultSpec() });
    expect(p.type === 'plot' && p.data.view).toBeNull();
    expect(r.edges).toEqual([]);
    expect(r.camera).toEqual({ x: 0, y: 0, zoom: 1 });
  });
  it('autosaves debounced, last document wins, unchanged documents are not sent', async () => {
    vi.useFakeTimers();
    const saved: string[] = [];
    const a = new Autosaver(async (d) => { saved.push(JSON.stringify(d.camera)); }, 100);
    const doc = (x: number) => serialize([], [], { x, y: 0, zoom: 1 });
    a.schedule(doc(1));
    a.schedule(doc(2));
    await vi.advanceTimersByTimeAsync(150);
    expect(saved).toEqual(['{"x":2,"y":0,"zoom":1}']);
    a.schedule(doc(2));
    await vi.advanceTimersByTimeAsync(150);
    expect(saved.length).toBe(1);
    vi.useRealTimers();
  });
});
