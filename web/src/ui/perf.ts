// Performance marks the benchmarks read (bench/web.sh): every refined frame
// on screen sets the mark `pika:refined` and records the latency from the
// interaction (wheel, drag) that asked for it.
export interface PikaPerf { refine: number[]; server: number[]; firstPlot: Record<string, number> }

declare global {
  interface Window { __pika?: PikaPerf }
}

function store(): PikaPerf {
  if (!window.__pika) window.__pika = { refine: [], server: [], firstPlot: {} };
  return window.__pika;
}

export const perf = {
  refined(plotId: string, ms: number, fresh: boolean, serverMs = 0) {
    performance.mark('pika:refined', { detail: { plot: plotId, ms, fresh, serverMs } });
    const p = store();
    if (fresh) p.firstPlot[plotId] = performance.now();
    else {
      p.refine.push(ms);
      p.server.push(serverMs);
    }
  },
};
