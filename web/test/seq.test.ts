import { describe, expect, it } from 'vitest';
import { LatestOnly, SeqTracker } from '../src/plot/seq';
import { ApiError } from '../src/api/client';

const later = <T>(ms: number, v: T) => new Promise<T>((res) => setTimeout(() => res(v), ms));

describe('stale plot answers', () => {
  it('accepts only the latest seq', () => {
    const s = new SeqTracker();
    const a = s.next(), b = s.next();
    expect(s.accept(a)).toBe(false);
    expect(s.accept(b)).toBe(true);
    s.atLeast(10);
    expect(s.next()).toBe(11);
  });
  it('drops an older answer that arrives after a newer one', async () => {
    const l = new LatestOnly<{ v: string }>();
    const slow = l.run((seq) => later(30, { v: 'old', seq }));
    const fast = l.run((seq) => later(5, { v: 'new', seq }));
    expect(await fast).toEqual({ v: 'new', seq: 2 });
    expect(await slow).toBeNull();
    expect(l.dropped).toBe(1);
  });
  it('aborts the superseded request and swallows 409 superseded', async () => {
    const l = new LatestOnly<{ v: number }>();
    let aborted = false;
    const first = l.run((_seq, signal) => new Promise((_res, rej) => signal.addEventListener('abort', () => { aborted = true; rej(new DOMException('x', 'AbortError')); })));
    const second = l.run(async () => { throw new ApiError(409, 'superseded', 'newer'); });
    expect(await first).toBeNull();
    expect(aborted).toBe(true);
    expect(await second).toBeNull();
    const third = l.run(async () => { throw new ApiError(422, 'sql_error', 'bad'); });
    await expect(third).rejects.toThrow('bad');
  });
  it('drops an answer whose header seq is not the latest', async () => {
    const l = new LatestOnly<{ seq: number }>();
    expect(await l.run(async () => ({ seq: 0 }))).toBeNull();
  });
});
