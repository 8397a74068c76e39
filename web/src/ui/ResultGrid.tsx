// A virtually scrolled result grid: only the visible rows exist in the DOM;
// pages of 500 rows come from GET /api/results/RESULT as they scroll into
// view (the first page is the query's own answer). Millions of rows fit
// because the scroll height is capped and mapped proportionally onto rows.
import { useEffect, useRef, useState, useCallback } from 'react';
import { api, ApiError } from '../api/client';
import type { Cell, Column } from '../api/types';

const ROW_H = 22;
const PAGE = 500;
const MAX_PX = 4_000_000; // well under browsers' maximum element height

interface Props { result: string; columns: Column[]; first: Cell[][]; total: number; onEvicted: () => void }

export function cellText(v: Cell): string {
  if (v === null) return 'NULL';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(10)));
  return String(v);
}

export function ResultGrid({ result, columns, first, total, onEvicted }: Props) {
  const scroller = useRef<HTMLDivElement>(null);
  const pages = useRef(new Map<number, Cell[][]>());
  const loading = useRef(new Set<number>());
  const [, bump] = useState(0);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(200);

  useEffect(() => {
    pages.current = new Map();
    loading.current = new Set();
    // the first answer covers rows [0, first.length)
    for (let p = 0; p * PAGE < first.length; p++) pages.current.set(p, first.slice(p * PAGE, (p + 1) * PAGE));
    bump((n) => n + 1);
    scroller.current?.scrollTo({ top: 0 });
  }, [result, first]);

  useEffect(() => {
    const el = scroller.current!;
    const ro = new ResizeObserver(() => setHeight(el.clientHeight));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  const fullPx = total * ROW_H;
  const virtPx = Math.min(fullPx, MAX_PX);
  const maxScroll = Math.max(1, virtPx - height);
  const firstRow = fullPx <= MAX_PX ? Math.floor(scrollTop / ROW_H) : Math.floor((scrollTop / maxScroll) * Math.max(0, total - height / ROW_H));
  const visible = Math.ceil(height / ROW_H) + 2;
  const lastRow = Math.min(total, firstRow + visible);

  const need = useCallback(
    (p: number) => {
      if (pages.current.has(p) || loading.current.has(p) || p * PAGE >= total) return;
      // a partial first page from the query answer: fetch the rest
      loading.current.add(p);
      api
        .results(result, p * PAGE, PAGE)
        .then((r) => {
          pages.current.set(p, r.rows);
          bump((n) => n + 1);
        })
        .catch((e) => {
          if (e instanceof ApiError && e.status === 404) onEvicted();
        })
        .finally(() => loading.current.delete(p));
    },
    [result, total, onEvicted],
  );

  const rows: { i: number; cells: Cell[] | null }[] = [];
  for (let i = firstRow; i < lastRow; i++) {
    const p = Math.floor(i / PAGE);
    const page = pages.current.get(p);
    const cells = page && i - p * PAGE < page.length ? page[i - p * PAGE]! : null;
    if (!cells) {
      if (page && page.length < PAGE && p * PAGE + page.length < total) pages.current.delete(p);
      need(p);
    }
    rows.push({ i, cells });
  }
  // rows are positioned relative to the scroll position (works for both mappings)
  const offsetWithin = fullPx <= MAX_PX ? firstRow * ROW_H : scrollTop;

  return (
    <div className="grid nowheel nodrag" data-testid="result-grid">
      <div className="grid-head">
        <div className="grid-idx">#</div>
        {columns.map((c) => (
          <div key={c.name} className="grid-cell" title={c.type}>
            {c.name}
            <span className="grid-type">{c.type}</span>
          </div>
        ))}
      </div>
      <div className="grid-body" ref={scroller} onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}>
        <div style={{ height: virtPx, position: 'relative' }}>
          <div style={{ position: 'absolute', top: offsetWithin, left: 0, right: 0 }}>
            {rows.map((r) => (
              <div className="grid-row" key={r.i} style={{ height: ROW_H }}>
                <div className="grid-idx">{r.i + 1}</div>
                {columns.map((c, k) => (
                  <div key={c.name} className={'grid-cell' + (r.cells && r.cells[k] === null ? ' null' : '')}>
                    {r.cells ? cellText(r.cells[k] ?? null) : '…'}
                  </div>
                ))}
              </div>
            ))}
          </div>
        </div>
      </div>
    </div>
  );
}
