// Performance marks the benchmarks read (bench/web.sh): every refined frame
// on screen sets the mark `pika:refined` and records the latency from the
// interaction (wheel, drag) that asked for it.
// `phases` splits each refine: when the request left (`sent`), when its
// answer was decoded (`answer`), when the scene was on the GPU (`scene`),
// all from the interaction, like `refine`.
export interface Phases { sent: number; answer: number; scene: number }
export interface PikaPerf { refine: number[]; server: number[]; phases: Phases[]; firstPlot: Record<string, number> }

declare global {
  interface Window { __pika?: PikaPerf }
}

function store(): PikaPerf {
  if (!window.__pika) window.__pika = { refine: [], server: [], phases: [], firstPlot: {} };
  return window.__pika;
}

export const perf = {
  refined(plotId: string, ms: number, fresh: boolean, serverMs = 0, phases?: Phases) {
    performance.mark('pika:refined', { detail: { plot: plotId, ms, fresh, serverMs } });
    const p = store();
    if (fresh) p.firstPlot[plotId] = performance.now();
    else {
      p.refine.push(ms);
      p.server.push(serverMs);
      if (phases) p.phases.push(phases);
    }
  },
};
