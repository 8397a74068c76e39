// An interactive plot: WebGL2 (or Canvas2D) data layer + Canvas2D overlay.
// Wheel zooms and drag pans at once on the current data (GPU transform);
// then the server re-aggregates the new viewport — at once if no request is
// running, else 50 ms after the last move (POST /api/plot with this plot's
// id and a higher seq; stale answers are dropped). Shift-drag zooms to a box, double-click resets to the extent.
import { useCallback, useEffect, useRef, useState } from 'react';
import { api, ApiError } from '../api/client';
import type { PlotSpec } from '../api/types';
import type { PlotModel } from '../api/pkpl';
import { LatestOnly } from './seq';
import { buildScene, initialView, type Scene } from './scene';
import { GlRenderer, type Renderer } from './gl';
import { Canvas2dRenderer } from './canvas2d';
import { drawOverlay, plotRect } from './overlay';
import { type View, zoomAt, panBy, boxView, toDataViewport, viewFromData, pad, sameView, widen } from './camera';
import { hitTest, type Hit } from './hover';
import { perf } from '../ui/perf';

const REFINE_MS = 50;
const CATEGORICAL = new Set(['bar', 'box', 'violin']);

export interface PlotInfo { rows: number; points: number; elapsed_ms: number; cached: boolean; kind: string; renderer: string }

interface Props {
  plotId: string;
  sql: string | null;
  spec: PlotSpec;
  initialView?: View | null;
  onView?: (v: View | null) => void;
  onInfo?: (i: PlotInfo | null) => void;
  onError?: (e: string | null) => void;
}

export function PlotView({ plotId, sql, spec, initialView: restored, onView, onInfo, onError }: Props) {
  const wrap = useRef<HTMLDivElement>(null);
  const dataCanvas = useRef<HTMLCanvasElement>(null);
  const overlayCanvas = useRef<HTMLCanvasElement>(null);
  const st = useRef({
    renderer: null as Renderer | null,
    scene: null as Scene | null,
    view: null as View | null,
    w: 0, h: 0,
    latest: new LatestOnly<PlotModel>(),
    refineTimer: 0 as ReturnType<typeof setTimeout> | 0,
    inflight: 0,
    interactionAt: 0,
    box: null as null | { x0: number; y0: number; x1: number; y1: number },
    frame: 0,
    restored: restored ?? null,
  });
  const [hit, setHit] = useState<Hit | null>(null);
  const [busy, setBusy] = useState(false);
  const cb = useRef({ onView, onInfo, onError });
  cb.current = { onView, onInfo, onError };

  const draw = useCallback(() => {
    const s = st.current;
    if (s.frame) return;
    s.frame = requestAnimationFrame(() => {
      s.frame = 0;
      if (!s.renderer || !s.w || !s.h) return;
      const dpr = window.devicePixelRatio || 1;
      const r = plotRect(s.scene, s.w, s.h);
      const view = s.view ?? (s.scene ? initialView(s.scene) : { x0: 0, x1: 1, y0: 0, y1: 1 });
      s.renderer.draw(view, r, s.w, s.h, dpr);
      drawOverlay(overlayCanvas.current!, s.scene, view, r, s.w, s.h, dpr, s.box);
    });
  }, []);

  const fetchPlot = useCallback(
    async (viewport: View | null, fresh: boolean) => {
      const s = st.current;
      if (!sql || !s.w) return;
      const r = plotRect(s.scene, s.w, s.h);
      setBusy(true);
      const t0 = s.interactionAt || performance.now();
      const sent = performance.now() - t0;
      try {
        const model = await s.latest.run((seq, signal) =>
          api.plot(
            {
              plot: plotId, seq, sql, spec, viewport,
              width: Math.max(64, Math.min(8192, Math.round(r.width))),
              height: Math.max(64, Math.min(8192, Math.round(r.height))),
            },
            signal,
          ),
        );
        if (!model) return; // superseded
        const answer = performance.now() - t0;
        const scene = buildScene(model, spec.log_x, spec.log_y);
        s.scene = scene;
        s.renderer?.setScene(scene);
        const phases = { sent, answer, scene: performance.now() - t0 };
        if (fresh) s.view = initialView(scene);
        cb.current.onError?.(null);
        cb.current.onInfo?.({ rows: model.rows, points: model.points, elapsed_ms: model.elapsed_ms, cached: model.cached, kind: model.kind, renderer: s.renderer?.kind ?? '' });
        draw();
        requestAnimationFrame(() => {
          perf.refined(plotId, performance.now() - t0, fresh, model.elapsed_ms, phases);
        });
      } catch (e) {
        cb.current.onError?.(e instanceof ApiError ? `${e.code}: ${e.message}` : String(e));
      } finally {
        if (s.latest.seqs.current() > 0) setBusy(false);
      }
    },
    [plotId, sql, spec, draw],
  );

  // renderer + size
  useEffect(() => {
    const s = st.current;
    const canvas = dataCanvas.current!;
    s.renderer = (GlRenderer.create(canvas) as Renderer | null) ?? new Canvas2dRenderer(canvas);
    if (s.scene) s.renderer.setScene(s.scene);
    const ro = new ResizeObserver((entries) => {
      const e = entries[0]!;
      const w = Math.round(e.contentRect.width), h = Math.round(e.contentRect.height);
      if (w === s.w && h === s.h) return;
      const first = !s.w;
      s.w = w;
      s.h = h;
      draw();
      if (first) startRef.current();
    });
    ro.observe(wrap.current!);
    return () => {
      ro.disconnect();
      s.renderer?.dispose();
      s.renderer = null;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  const start = useCallback(() => {
    const s = st.current;
    if (s.restored && !CATEGORICAL.has(spec.kind)) {
      s.view = s.restored;
      s.restored = null;
      void fetchPlot(toDataViewport(s.view, { logX: spec.log_x, logY: spec.log_y }), false);
    } else {
      s.view = null;
      void fetchPlot(null, true);
    }
  }, [fetchPlot, spec]);

  const startRef = useRef(start);
  startRef.current = start;
  // new SQL or spec: a fresh plot at the data's extent
  useEffect(() => {
    if (st.current.w) start();
  }, [start]);

  // The re-aggregation for a new view: at once when none is running (a
  // single wheel step or a click is refined without waiting), else once the
  // gesture has paused for REFINE_MS (the trailing request replaces the one
  // in flight), so a continuous zoom or drag sends two requests, not one per
  // event.
  const scheduleRefine = useCallback(() => {
    const s = st.current;
    const fire = () => {
      s.refineTimer = 0;
      if (!s.view || !s.scene) return;
      cb.current.onView?.(s.view);
      if (CATEGORICAL.has(s.scene.model.kind)) return;
      s.inflight++;
      void fetchPlot(toDataViewport(s.view, { logX: spec.log_x, logY: spec.log_y }), false).finally(() => {
        s.inflight--;
      });
    };
    if (!s.refineTimer && !s.inflight) {
      fire();
      return;
    }
    if (s.refineTimer) clearTimeout(s.refineTimer);
    s.refineTimer = setTimeout(fire, REFINE_MS);
  }, [fetchPlot, spec]);

  const setView = (v: View) => {
    const s = st.current;
    s.view = widen(v);
    s.interactionAt = performance.now();
    draw();
    scheduleRefine();
  };

  const local = (e: { clientX: number; clientY: number }) => {
    const b = wrap.current!.getBoundingClientRect();
    // React Flow scales nodes with its zoom: map client px to our CSS px
    const kx = st.current.w / b.width || 1, ky = st.current.h / b.height || 1;
    return [(e.clientX - b.left) * kx, (e.clientY - b.top) * ky] as const;
  };

  useEffect(() => {
    const el = wrap.current!;
    const onWheel = (e: WheelEvent) => {
      const s = st.current;
      if (!s.scene) return;
      e.preventDefault();
      e.stopPropagation();
      const [mx, my] = local(e);
      const r = plotRect(s.scene, s.w, s.h);
      const f = Math.exp(-e.deltaY * (e.deltaMode === 1 ? 0.05 : 0.0015));
      const cat = CATEGORICAL.has(s.scene.model.kind) || s.scene.model.kind === 'histogram';
      s.interactionAt = performance.now();
      setView(zoomAt(s.view ?? initialView(s.scene), r, mx, my, f, cat && s.scene.model.kind !== 'histogram' ? 1 : f));
    };
    el.addEventListener('wheel', onWheel, { passive: false });
    return () => el.removeEventListener('wheel', onWheel);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [scheduleRefine]);

  const drag = useRef<null | { mode: 'pan' | 'box'; x: number; y: number; view: View }>(null);
  const onPointerDown = (e: React.PointerEvent) => {
    const s = st.current;
    if (!s.scene || e.button !== 0) return;
    e.stopPropagation();
    (e.target as Element).setPointerCapture(e.pointerId);
    const [x, y] = local(e);
    drag.current = { mode: e.shiftKey ? 'box' : 'pan', x, y, view: s.view ?? initialView(s.scene) };
  };
  const onPointerMove = (e: React.PointerEvent) => {
    const s = st.current;
    const [x, y] = local(e);
    const d = drag.current;
    if (d && s.scene) {
      const r = plotRect(s.scene, s.w, s.h);
      if (d.mode === 'pan') setView(panBy(d.view, r, x - d.x, y - d.y));
      else {
        s.box = { x0: d.x, y0: d.y, x1: x, y1: y };
        draw();
      }
      setHit(null);
      return;
    }
    if (!s.scene || !s.view) return;
    setHit(hitTest(s.scene, s.view, plotRect(s.scene, s.w, s.h), x, y));
  };
  const onPointerUp = (e: React.PointerEvent) => {
    const s = st.current;
    const d = drag.current;
    drag.current = null;
    if (!d || !s.scene) return;
    const [x, y] = local(e);
    if (d.mode === 'box') {
      s.box = null;
      if (Math.abs(x - d.x) > 4 && Math.abs(y - d.y) > 4) setView(boxView(d.view, plotRect(s.scene, s.w, s.h), d.x, d.y, x, y));
      else draw();
    }
  };
  const onDoubleClick = (e: React.MouseEvent) => {
    const s = st.current;
    if (!s.scene) return;
    e.stopPropagation();
    const ex = s.scene.model.extent;
    const home = s.scene.xCategories ? s.scene.home : pad(viewFromData(ex.x0, ex.x1, ex.y0, ex.y1, { logX: spec.log_x, logY: spec.log_y }), 0.02, 0.04);
    if (s.view && sameView(s.view, home)) return;
    s.view = home;
    s.interactionAt = performance.now();
    draw();
    cb.current.onView?.(null);
    if (!CATEGORICAL.has(s.scene.model.kind)) void fetchPlot(null, false);
  };

  return (
    <div
      ref={wrap}
      className="plot-view nowheel nodrag nopan"
      data-testid="plot-view"
      onPointerDown={onPointerDown}
      onPointerMove={onPointerMove}
      onPointerUp={onPointerUp}
      onPointerLeave={() => setHit(null)}
      onDoubleClick={onDoubleClick}
    >
      <canvas ref={dataCanvas} className="plot-layer" data-testid="plot-data" />
      <canvas ref={overlayCanvas} className="plot-layer" />
      {st.current.scene?.legend.length ? (
        <div className="plot-legend">
          {st.current.scene.legend.slice(0, 12).map((l) => (
            <div key={l.name}>
              <span className="swatch" style={{ background: `rgb(${l.rgb.join(',')})` }} /> {l.name}
            </div>
          ))}
        </div>
      ) : null}
      {hit ? (
        <div
          className="plot-tooltip"
          data-testid="plot-tooltip"
          data-value={hit.value ?? ''}
          data-x0={hit.x0 ?? ''}
          data-x1={hit.x1 ?? ''}
          data-y0={hit.y0 ?? ''}
          data-y1={hit.y1 ?? ''}
          style={{ left: hit.px + 12, top: hit.py + 12 }}
        >
          {hit.lines.map((l, i) => (
            <div key={i}>{l}</div>
          ))}
        </div>
      ) : null}
      {busy ? <div className="plot-busy">…</div> : null}
    </div>
  );
}
