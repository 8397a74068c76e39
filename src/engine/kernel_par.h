/*
 * kernel_par.h — internal to the engine: what the aggregation kernels
 * (kernels.c) and the density index (dindex.c) share. The parallel driver
 * and the binning rule live in one place so that an indexed count and a
 * scan of the arrays cannot drift apart.
 *
 * The parallel driver. pk_kpar_run calls fn over [0, n) in p->nparts
 * shares: the caller takes share 0 and the pool (PK_PRIO_INTERACTIVE) the
 * others; it returns when every share is done. Static mode cuts n into
 * contiguous equal ranges (a result is then the same on every run);
 * dynamic mode lets shares claim blocks of `block` items (0: chosen from n)
 * until none are left, which keeps both cores busy on a loaded machine. A
 * share whose submit fails runs in the calling thread. Not to be called
 * from a task of the same pool with every worker doing the same.
 *
 * The binning rule of kernels.h: a value v is inside [lo, hi) iff
 * lo <= v < hi, and its bin is min(floor((v - lo) * k), n - 1) with
 * k = n / (hi - lo). Both the inside test and the bin are monotone in v,
 * which is what lets the density index decide whole groups of points at
 * once from their minimum and maximum.
 */
#ifndef PIKA_ENGINE_KERNEL_PAR_H
#define PIKA_ENGINE_KERNEL_PAR_H

#include <math.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "runtime/pool.h"

enum { PK_KPAR_MAX_PARTS = 64 };

typedef void (*pk_kpar_fn)(void *ctx, unsigned part, size_t lo, size_t hi);

typedef struct pk_kpar {
  size_t n;
  size_t block;       /* dynamic mode: items claimed at a time; 0: auto */
  atomic_size_t next; /* dynamic mode: first unclaimed item */
  bool dynamic;
  unsigned nparts;
  pk_kpar_fn fn;
  void *ctx;
} pk_kpar;

/* How many shares to cut n items into: one per pool worker, but none
 * smaller than half of PK_KERNEL_PAR_MIN; 1 without a pool. */
unsigned pk_kpar_parts(pk_pool *pool, size_t n);
void pk_kpar_run(pk_pool *pool, pk_kpar *p);

typedef struct pk_kaxis {
  double lo, hi, k;
  size_t n;
} pk_kaxis;

static inline bool pk_kaxis_init(pk_kaxis *a, double lo, double hi, size_t n) {
  if (!isfinite(lo) || !isfinite(hi) || !(lo < hi) || n == 0 ||
      !isfinite(hi - lo))
    return false;
  a->lo = lo;
  a->hi = hi;
  a->n = n;
  a->k = (double)n / (hi - lo);
  return isfinite(a->k) && a->k > 0;
}

static inline bool pk_kaxis_inside(const pk_kaxis *a, double v) {
  return (v >= a->lo) & (v < a->hi);
}

/* For lo <= v < hi only: then 0 <= (v - lo) * k <= n (finite), so the
 * conversion truncates a non-negative value, which is floor. */
static inline size_t pk_kaxis_bin(const pk_kaxis *a, double v) {
  size_t b = (size_t)((v - a->lo) * a->k);
  return b < a->n ? b : a->n - 1;
}

#endif /* PIKA_ENGINE_KERNEL_PAR_H */
