// Ordering of plot requests: every request of one plot gets a higher seq;
// an answer is used only if its seq is still the latest asked for (an older
// one that arrives late is dropped, never drawn over a newer view).

export class SeqTracker {
  private latest = 0;
  /** Starts a request: its seq. */
  next(): number {
    this.latest += 1;
    return this.latest;
  }
  /** Continue numbering after a restored value (seq must keep increasing). */
  atLeast(n: number): void {
    if (n > this.latest) this.latest = n;
  }
  current(): number {
    return this.latest;
  }
  /** True when an answer for `seq` should be used. */
  accept(seq: number): boolean {
    return seq === this.latest;
  }
}

/**
 * Runs `fn` for each request, passing an AbortSignal that is aborted when a
 * newer request starts; resolves to null for answers that were superseded
 * (aborted, a 409 superseded, or a seq that is no longer the latest).
 */
export class LatestOnly<T> {
  readonly seqs = new SeqTracker();
  private ctrl: AbortController | null = null;
  dropped = 0;

  async run(fn: (seq: number, signal: AbortSignal) => Promise<T & { seq?: number }>): Promise<(T & { seq?: number }) | null> {
    this.ctrl?.abort();
    const ctrl = new AbortController();
    this.ctrl = ctrl;
    const seq = this.seqs.next();
    try {
      const r = await fn(seq, ctrl.signal);
      const got = typeof r.seq === 'number' ? r.seq : seq;
      if (!this.seqs.accept(got) || got !== seq) {
        this.dropped++;
        return null;
      }
      return r;
    } catch (e) {
      if (!this.seqs.accept(seq) || isSuperseded(e)) {
        this.dropped++;
        return null;
      }
      throw e;
    }
  }
}

function isSuperseded(e: unknown): boolean {
  if (e instanceof DOMException && e.name === 'AbortError') return true;
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'superseded';
}
