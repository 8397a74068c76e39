/* kernel_par.c — the kernels' parallel driver; see kernel_par.h. */
#include "engine/kernel_par.h"

#include "base/error.h"
#include "engine/kernels.h"

typedef struct share_arg {
  pk_kpar *p;
  unsigned part;
} share_arg;

unsigned pk_kpar_parts(pk_pool *pool, size_t n) {
  if (!pool || n < PK_KERNEL_PAR_MIN)
    return 1;
  struct pk_pool_stats st;
  pk_pool_stats(pool, &st);
  size_t t = st.nthreads ? st.nthreads : 1;
  size_t cap = n / (PK_KERNEL_PAR_MIN / 2);
  if (t > cap)
    t = cap;
  if (t > PK_KPAR_MAX_PARTS)
    t = PK_KPAR_MAX_PARTS;
  return t ? (unsigned)t : 1;
}

static void share(pk_kpar *p, unsigned part) {
  if (!p->dynamic) {
    size_t lo = p->n / p->nparts * part + (p->n % p->nparts) * part / p->nparts;
    size_t hi = p->n / p->nparts * (part + 1) +
                (p->n % p->nparts) * (part + 1) / p->nparts;
    if (lo < hi)
      p->fn(p->ctx, part, lo, hi);
    return;
  }
  for (;;) {
    size_t lo =
        atomic_fetch_add_explicit(&p->next, p->block, memory_order_relaxed);
    if (lo >= p->n)
      return;
    size_t hi = p->n - lo < p->block ? p->n : lo + p->block;
    p->fn(p->ctx, part, lo, hi);
  }
}

static void share_task(pk_task *self, void *arg) {
  (void)self;
  share_arg *a = arg;
  share(a->p, a->part);
}

void pk_kpar_run(pk_pool *pool, pk_kpar *p) {
  share_arg args[PK_KPAR_MAX_PARTS];
  pk_task *tasks[PK_KPAR_MAX_PARTS] = {0};
  if (p->dynamic) {
    size_t b = p->n / ((size_t)p->nparts * 32);
    if (!p->block)
      p->block = b < 16384 ? 16384 : b > (1u << 20) ? (1u << 20) : b;
    atomic_store_explicit(&p->next, 0, memory_order_relaxed);
  }
  for (unsigned i = 1; i < p->nparts; i++) {
    args[i] = (share_arg){p, i};
    pk_task_spec spec = {.prio = PK_PRIO_INTERACTIVE,
                         .fn = share_task,
                         .arg = &args[i],
                         .nowait = true};
    if (pk_pool_submit_ex(pool, &spec, &tasks[i]) != PK_OK)
      tasks[i] = NULL;
  }
  share(p, 0);
  for (unsigned i = 1; i < p->nparts; i++) {
    if (tasks[i]) {
      pk_task_wait(tasks[i]);
      pk_task_release(tasks[i]);
    } else {
      share(p, i); /* its submit failed: do it here */
    }
  }
}
