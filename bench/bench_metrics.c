/* bench_metrics.c — what memory order costs a counter on this machine, and
 * what pk_hist_record costs against a mutex-protected histogram.
 *
 * (a) One shared counter hammered by 1, 2 and 4 threads (4 oversubscribes
 *     the 2 cores) with relaxed vs seq_cst fetch_add; the same with each
 *     thread on its own cache line (uncontended); and a single-writer
 *     counter bumped by load + store, relaxed store vs seq_cst store — on x86
 *     the one place where the order changes the instruction (mov vs
 *     xchg/mov+mfence), since every atomic RMW there is `lock`ed anyway.
 * (b) pk_hist_record and pk_hist_local_record, 1 thread and 2 threads on
 *     one histogram, against the histogram a C programmer might otherwise
 *     write: the same bucket array and bucket function, guarded by a pthread
 *     mutex.
 *
 * ns/op is wall time / total operations over all threads (machine time per
 * operation; with 1 thread, the latency of one). Each figure is the median of
 * 5 runs of 50 ms. No asserts on speed.
 */
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/sys.h"
#include "runtime/metrics.h"

#define REPS 5
#define RUN_NS 50000000 /* 50 ms per run */
#define MAX_THREADS 4

typedef struct padded {
  alignas(64) _Atomic uint64_t v;
} padded;

static padded shared_ctr;
static padded own_ctr[MAX_THREADS];

enum op {
  OP_FADD_RELAXED,
  OP_FADD_SEQCST,
  OP_STORE_RELAXED, /* single writer: x = load(relaxed); store(x+1, relaxed) */
  OP_STORE_SEQCST,  /* single writer: x = load(relaxed); store(x+1, seq_cst) */
  OP_HIST,
  OP_HIST_LOCAL,
  OP_MUTEX_HIST,
};

/* The baseline: same buckets and bucket function as pk_hist, one lock. */
typedef struct mutex_hist {
  pthread_mutex_t mu;
  uint64_t count, sum, min, max;
  uint64_t buckets[PK_HIST_NBUCKETS];
} mutex_hist;

static void mutex_hist_record(mutex_hist *m, uint64_t v) {
  unsigned i = pk_hist_bucket_index(v);
  pthread_mutex_lock(&m->mu);
  m->buckets[i]++;
  m->count++;
  m->sum += v;
  if (v < m->min)
    m->min = v;
  if (v > m->max)
    m->max = v;
  pthread_mutex_unlock(&m->mu);
}

#define NVALUES 4096
static uint64_t values[NVALUES]; /* log-uniform 128 ns .. ~8 ms */
static pk_hist *bench_hist;
static mutex_hist *baseline_hist;

static atomic_bool stop;

typedef struct job {
  enum op op;
  unsigned id;
  _Atomic uint64_t *target;
  pk_hist_local *local;
  pthread_barrier_t *start;
  uint64_t done; /* ops performed, written by the thread before it exits */
} job;

/* One batch of n operations; the loops are what is measured. */
static void run_batch(const job *j, uint64_t base, uint64_t n) {
  _Atomic uint64_t *p = j->target;
  switch (j->op) {
  case OP_FADD_RELAXED:
    for (uint64_t i = 0; i < n; i++)
      atomic_fetch_add_explicit(p, 1, memory_order_relaxed);
    break;
  case OP_FADD_SEQCST:
    for (uint64_t i = 0; i < n; i++)
      atomic_fetch_add_explicit(p, 1, memory_order_seq_cst);
    break;
  case OP_STORE_RELAXED:
    for (uint64_t i = 0; i < n; i++) {
      uint64_t x = atomic_load_explicit(p, memory_order_relaxed);
      atomic_store_explicit(p, x + 1, memory_order_relaxed);
    }
    break;
  case OP_STORE_SEQCST:
    for (uint64_t i = 0; i < n; i++) {
      uint64_t x = atomic_load_explicit(p, memory_order_relaxed);
      atomic_store_explicit(p, x + 1, memory_order_seq_cst);
    }
    break;
  case OP_HIST:
    for (uint64_t i = 0; i < n; i++)
      pk_hist_record(bench_hist, values[(base + i + j->id * 997) % NVALUES]);
    break;
  case OP_HIST_LOCAL:
    for (uint64_t i = 0; i < n; i++)
      pk_hist_local_record(j->local,
                           values[(base + i + j->id * 997) % NVALUES]);
    break;
  case OP_MUTEX_HIST:
    for (uint64_t i = 0; i < n; i++)
      mutex_hist_record(baseline_hist,
                        values[(base + i + j->id * 997) % NVALUES]);
    break;
  }
}

#define BATCH 1024

static void *thread_main(void *arg) {
  job *j = arg;
  pthread_barrier_wait(j->start);
  uint64_t done = 0;
  /* Run for a fixed time rather than a fixed count, so that a loaded or
   * oversubscribed machine stretches no case beyond its slot. */
  while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
    run_batch(j, done, BATCH);
    done += BATCH;
  }
  j->done = done;
  return NULL;
}

/* ns per op (wall time / all threads' ops) for one RUN_NS run. */
static double run_once(enum op op, unsigned threads, bool own_line) {
  pthread_t t[MAX_THREADS];
  job jobs[MAX_THREADS];
  pthread_barrier_t start;
  pthread_barrier_init(&start, NULL, threads + 1);
  atomic_store(&stop, false);
  for (unsigned i = 0; i < threads; i++) {
    jobs[i] = (job){.op = op,
                    .id = i,
                    .target = own_line ? &own_ctr[i].v : &shared_ctr.v,
                    .start = &start};
    if (op == OP_HIST_LOCAL &&
        pk_hist_local_acquire(bench_hist, &jobs[i].local) != PK_OK) {
      fprintf(stderr, "bench_metrics: pk_hist_local_acquire failed\n");
      exit(1);
    }
    if (pthread_create(&t[i], NULL, thread_main, &jobs[i]) != 0) {
      fprintf(stderr, "bench_metrics: pthread_create failed\n");
      exit(1);
    }
  }
  pthread_barrier_wait(&start);
  uint64_t t0 = pk_now_ns();
  struct timespec nap = {0, RUN_NS};
  nanosleep(&nap, NULL);
  atomic_store(&stop, true);
  uint64_t ops = 0;
  for (unsigned i = 0; i < threads; i++) {
    pthread_join(t[i], NULL);
    ops += jobs[i].done;
    pk_hist_local_release(jobs[i].local);
  }
  uint64_t t1 = pk_now_ns();
  pthread_barrier_destroy(&start);
  return (double)(t1 - t0) / (double)(ops ? ops : 1);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Median of REPS runs: a best-of would favour runs in which the scheduler
 * happened to keep the threads apart, hiding exactly the contention we
 * want to see. */
static double measure(enum op op, unsigned threads, bool own_line) {
  double r[REPS];
  for (int i = 0; i < REPS; i++)
    r[i] = run_once(op, threads, own_line);
  qsort(r, REPS, sizeof r[0], cmp_double);
  return r[REPS / 2];
}

static void print_pair(const char *name, unsigned threads, enum op relaxed,
                       enum op seqcst, bool own_line) {
  double r = measure(relaxed, threads, own_line);
  double s = measure(seqcst, threads, own_line);
  printf("metrics.%s.relaxed.t%u %.2f ns/op\n", name, threads, r);
  printf("metrics.%s.seq_cst.t%u %.2f ns/op\n", name, threads, s);
  printf("metrics.%s.t%u.ratio %.2f x\n", name, threads, s / r);
  fflush(stdout);
}

static void print_hist(unsigned threads) {
  double ours = measure(OP_HIST, threads, false);
  double local = measure(OP_HIST_LOCAL, threads, false);
  double base = measure(OP_MUTEX_HIST, threads, false);
  printf("metrics.hist_record.mutex_baseline.t%u %.2f ns/op\n", threads, base);
  printf("metrics.hist_record.t%u %.2f ns/op\n", threads, ours);
  printf("metrics.hist_record.t%u.ratio %.2f x\n", threads, ours / base);
  printf("metrics.hist_record_local.t%u %.2f ns/op\n", threads, local);
  printf("metrics.hist_record_local.t%u.ratio %.2f x\n", threads, local / base);
  fflush(stdout);
}

int main(void) {
  printf("# bench_metrics on %d cpus; ns/op = wall time / total ops, median "
         "of %d\n",
         pk_sys_ncpu(), REPS);
  printf("# counter ratios are seq_cst / relaxed (> 1: seq_cst is slower)\n");
  printf("# shared: one counter for all threads; own: one cache line per "
         "thread; store: single writer load+store, the store relaxed or "
         "seq_cst\n");
  for (unsigned t = 1; t <= 4; t *= 2)
    print_pair("counter.shared", t, OP_FADD_RELAXED, OP_FADD_SEQCST, false);
  print_pair("counter.own", 2, OP_FADD_RELAXED, OP_FADD_SEQCST, true);
  print_pair("counter.store", 1, OP_STORE_RELAXED, OP_STORE_SEQCST, true);
  print_pair("counter.store", 2, OP_STORE_RELAXED, OP_STORE_SEQCST, true);

  pk_metrics *reg;
  if (pk_metrics_create(&reg) != PK_OK ||
      pk_metrics_hist(reg, "bench_seconds", NULL, "", PK_UNIT_NANOSECONDS,
                      &bench_hist) != PK_OK) {
    fprintf(stderr, "bench_metrics: cannot create histogram\n");
    return 1;
  }
  baseline_hist = calloc(1, sizeof *baseline_hist);
  if (!baseline_hist)
    return 1;
  pthread_mutex_init(&baseline_hist->mu, NULL);
  baseline_hist->min = UINT64_MAX;
  uint64_t x = 0x9e3779b97f4a7c15u;
  for (int i = 0; i < NVALUES; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    values[i] = (UINT64_C(1) << (7 + x % 16)) + (x >> 40) % 4096;
  }
  printf("# hist ratios are ours / mutex-protected bucket array (< 1: ours is "
         "faster); 2 threads share one histogram; hist_record_local: each "
         "thread records through its own pk_hist_local\n");
  print_hist(1);
  print_hist(2);

  /* Keep the work observable, and show the histogram doing its job. */
  pk_hist_snap *snap = malloc(sizeof *snap);
  if (snap) {
    pk_hist_snapshot(bench_hist, snap);
    printf("# recorded %llu values, p50 %llu ns, p99 %llu ns; counter %llu\n",
           (unsigned long long)snap->count,
           (unsigned long long)pk_hist_quantile(snap, 0.5),
           (unsigned long long)pk_hist_quantile(snap, 0.99),
           (unsigned long long)atomic_load(&shared_ctr.v));
    free(snap);
  }
  pthread_mutex_destroy(&baseline_hist->mu);
  free(baseline_hist);
  pk_metrics_free(reg);
  return 0;
}
