// Axis ticks: nice linear steps (1, 2, 2.5, 5 x 10^k), decades on log axes,
// calendar steps on time axes (UTC epoch seconds), labelled like the C
// renderer (src/render/ticks.h): no trailing zeros, ×10ⁿ beyond 1e6 / 1e-4,
// time labels by the coarsest boundary a tick sits on (d3's multi-scale rule).

export interface Tick { v: number; label: string }
export interface Ticks { major: Tick[]; minor: number[]; step: number }

const SUP: Record<string, string> = { '-': '⁻', '0': '⁰', '1': '¹', '2': '²', '3': '³', '4': '⁴', '5': '⁵', '6': '⁶', '7': '⁷', '8': '⁸', '9': '⁹' };

export function formatNumber(v: number, step = 0): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0 || Object.is(v, -0)) return '0';
  const a = Math.abs(v);
  if (a >= 1e6 || a < 1e-4) {
    const e = Math.floor(Math.log10(a));
    let m = v / 10 ** e;
    m = Number(m.toPrecision(step > 0 ? Math.max(1, Math.min(15, Math.ceil(Math.log10(a / step)) + 1)) : 6));
    if (Math.abs(m) >= 10) return formatNumber(v, step);
    const ms = String(Number(m.toFixed(6)));
    return `${ms}×10${String(e).split('').map((c) => SUP[c] ?? c).join('')}`;
  }
  const decimals = step > 0 ? Math.max(0, Math.min(12, -Math.floor(Math.log10(step) + 1e-9))) + 1 : 10;
  return String(Number(v.toFixed(decimals)));
}

/** The nice step for covering [lo, hi] with about `target` ticks. */
export function niceStep(lo: number, hi: number, target: number): number {
  const span = hi - lo;
  if (!(span > 0)) return 1;
  const raw = span / Math.max(1, target);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  const nice = f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10;
  return nice * mag;
}

export function linearTicks(lo: number, hi: number, target = 6): Ticks {
  if (!(Number.isFinite(lo) && Number.isFinite(hi))) return { major: [], minor: [], step: 0 };
  if (lo > hi) [lo, hi] = [hi, lo];
  if (lo === hi) {
    const d = lo === 0 ? 1 : Math.abs(lo) / 10;
    lo -= d;
    hi += d;
  }
  const step = niceStep(lo, hi, target);
  const i0 = Math.ceil(lo / step - 1e-9);
  const i1 = Math.floor(hi / step + 1e-9);
  const major: Tick[] = [];
  for (let i = i0; i <= i1 && major.length < 200; i++) {
    // integer multiple of the step, rounded to the step's precision (0.1*3 = 0.3)
    const v = Number((i * step).toPrecision(12));
    major.push({ v, label: formatNumber(v, step) });
  }
  return { major, minor: [], step };
}

/** Log10 axis over data values [lo, hi] (both > 0). Tick values are data values. */
export function logTicks(lo: number, hi: number, target = 6): Ticks {
  if (!(lo > 0 && hi > lo)) return linearTicks(lo, hi, target);
  const l0 = Math.log10(lo);
  const l1 = Math.log10(hi);
  if (l1 - l0 < 1) {
    const t = linearTicks(lo, hi, target);
    return t;
  }
  const every = Math.max(1, Math.ceil((Math.floor(l1) - Math.ceil(l0) + 1) / Math.max(2, target)));
  const major: Tick[] = [];
  const minor: number[] = [];
  for (let d = Math.floor(l0); d <= Math.ceil(l1); d++) {
    const v = 10 ** d;
    if (d % every === 0 && v >= lo * (1 - 1e-12) && v <= hi * (1 + 1e-12)) major.push({ v, label: formatNumber(v) });
    if (every === 1)
      for (let k = 2; k <= 9; k++) {
        const m = k * v;
        if (m >= lo && m <= hi) minor.push(m);
      }
  }
  return { major, minor, step: every };
}

const SEC = 1, MIN = 60, HOUR = 3600, DAY = 86400;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
type TimeStep = { unit: 'fixed' | 'month' | 'year'; n: number; s: number };
const TIME_STEPS: TimeStep[] = [
  ...[1, 2, 5, 10, 15, 30].map((n) => ({ unit: 'fixed' as const, n: n * SEC, s: n * SEC })),
  ...[1, 2, 5, 10, 15, 30].map((n) => ({ unit: 'fixed' as const, n: n * MIN, s: n * MIN })),
  ...[1, 3, 6, 12].map((n) => ({ unit: 'fixed' as const, n: n * HOUR, s: n * HOUR })),
  ...[1, 2, 7, 14].map((n) => ({ unit: 'fixed' as const, n: n * DAY, s: n * DAY })),
  ...[1, 2, 3, 6].map((n) => ({ unit: 'month' as const, n, s: n * 30.44 * DAY })),
  ...[1, 2, 5, 10, 20, 50, 100, 200, 500, 1000].map((n) => ({ unit: 'year' as const, n, s: n * 365.25 * DAY })),
];

const pad2 = (n: number) => String(n).padStart(2, '0');

export function timeLabel(t: number): string {
  const d = new Date(t * 1000);
  const mo = d.getUTCMonth(), day = d.getUTCDate(), h = d.getUTCHours(), mi = d.getUTCMinutes(), s = d.getUTCSeconds();
  const ms = d.getUTCMilliseconds();
  if (mo === 0 && day === 1 && h === 0 && mi === 0 && s === 0 && ms === 0) return String(d.getUTCFullYear());
  if (day === 1 && h === 0 && mi === 0 && s === 0 && ms === 0) return MONTHS[mo]!;
  if (h === 0 && mi === 0 && s === 0 && ms === 0) return `${MONTHS[mo]} ${day}`;
  if (s === 0 && ms === 0) return `${pad2(h)}:${pad2(mi)}`;
  return `${pad2(h)}:${pad2(mi)}:${pad2(s)}`;
}

/** Ticks on a UTC time axis; lo/hi are epoch seconds. */
export function timeTicks(lo: number, hi: number, target = 6): Ticks {
  if (!(hi > lo) || Math.abs(lo) > 1e15 || Math.abs(hi) > 1e15) return linearTicks(lo, hi, target);
  const span = hi - lo;
  const want = span / Math.max(1, target);
  const step = TIME_STEPS.find((st) => st.s >= want) ?? TIME_STEPS[TIME_STEPS.length - 1]!;
  const major: Tick[] = [];
  if (step.unit === 'fixed') {
    for (let v = Math.ceil(lo / step.n) * step.n; v <= hi && major.length < 200; v += step.n) major.push({ v, label: timeLabel(v) });
  } else {
    const d = new Date(lo * 1000);
    let y = d.getUTCFullYear();
    let m = step.unit === 'month' ? d.getUTCMonth() : 0;
    if (step.unit === 'year') y = Math.floor(y / step.n) * step.n;
    else m = Math.floor(m / step.n) * step.n;
    for (let guard = 0; guard < 400; guard++) {
      const v = Date.UTC(y, m, 1) / 1000;
      if (v > hi) break;
      if (v >= lo) major.push({ v, label: timeLabel(v) });
      if (step.unit === 'year') y += step.n;
      else {
        m += step.n;
        if (m >= 12) { y += Math.floor(m / 12); m %= 12; }
      }
    }
  }
  return { major, minor: [], step: step.s };
}

export function ticksFor(scale: 'linear' | 'log' | 'time', lo: number, hi: number, target = 6): Ticks {
  return scale === 'log' ? logTicks(lo, hi, target) : scale === 'time' ? timeTicks(lo, hi, target) : linearTicks(lo, hi, target);
}
