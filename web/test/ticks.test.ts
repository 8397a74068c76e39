import { describe, expect, it } from 'vitest';
import { formatNumber, linearTicks, logTicks, niceStep, timeLabel, timeTicks } from '../src/plot/ticks';

describe('ticks', () => {
  it('picks nice linear steps inside the range', () => {
    const t = linearTicks(0, 100, 5);
    expect(t.step).toBe(20);
    expect(t.major.map((m) => m.v)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(niceStep(0, 1, 10)).toBe(0.1);
    expect(niceStep(0, 7, 3)).toBe(2.5);
    const f = linearTicks(-0.13, 0.31, 5);
    expect(f.major.every((m) => m.v >= -0.13 && m.v <= 0.31)).toBe(true);
    expect(f.major.map((m) => m.label)).toContain('0.1');
    expect(linearTicks(0.1, 0.35, 3).major.map((m) => m.label)).toEqual(['0.1', '0.2', '0.3']);
  });
  it('widens a zero-width range', () => {
    expect(linearTicks(5, 5).major.length).toBeGreaterThan(1);
    expect(linearTicks(0, 0).major.map((m) => m.v)).toContain(0);
  });
  it('formats without trailing zeros and with ×10ⁿ for large and small', () => {
    expect(formatNumber(2.5)).toBe('2.5');
    expect(formatNumber(10)).toBe('10');
    expect(formatNumber(2500000)).toBe('2.5×10⁶');
    expect(formatNumber(0.00001)).toBe('1×10⁻⁵');
    expect(formatNumber(0)).toBe('0');
  });
  it('puts log ticks on decades with minor ticks', () => {
    const t = logTicks(1, 1000);
    expect(t.major.map((m) => m.v)).toEqual([1, 10, 100, 1000]);
    expect(t.minor).toContain(20);
    expect(logTicks(1, 1e12, 4).major.length).toBeLessThanOrEqual(7);
  });
  it('steps time axes in calendar units with multi-scale labels', () => {
    const jan = Date.UTC(2024, 0, 1) / 1000;
    const t = timeTicks(jan, jan + 365 * 86400, 6);
    expect(t.major[0]!.label).toBe('2024');
    expect(t.major.map((m) => m.label)).toContain('Mar');
    const h = timeTicks(jan + 3600, jan + 5 * 3600, 4);
    expect(h.major.map((m) => m.label)).toEqual(['01:00', '02:00', '03:00', '04:00', '05:00']);
    expect(timeLabel(Date.UTC(2024, 2, 5) / 1000)).toBe('Mar 5');
    expect(timeLabel(Date.UTC(2024, 2, 5, 14, 30, 15) / 1000)).toBe('14:30:15');
  });
});
