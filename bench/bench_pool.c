/* bench_pool.c — what a pk_pool task costs, against a thread per task, and
 * what priority buys an interactive task on a saturated pool.
 *
 *   pool.fire_forget.*  submit N empty tasks without handles, wait_idle;
 *                       baseline: pthread_create N threads (in waves of 64),
 *                       pthread_join them.
 *   pool.roundtrip.*    submit one empty task, pk_task_wait, release, repeat;
 *                       baseline: pthread_create + pthread_join per task.
 *   pool.prio_latency.* submit-to-start time of one probe task while the pool
 *                       holds 1000 queued background tasks of ~50 us, the
 *                       probe submitted at INTERACTIVE vs at BACKGROUND.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/clock.h"
#include "base/error.h"
#include "base/sys.h"
#include "runtime/pool.h"

static void die(const char *what, int err) {
  fprintf(stderr, "bench_pool: %s: %s\n", what, pk_strerror(err));
  exit(1);
}

static void empty_fn(pk_task *self, void *arg) {
  (void)self;
  (void)arg;
}

static void *empty_thread(void *arg) {
  return arg;
}

static pk_pool *make_pool(int nthreads, size_t max_queued) {
  pk_pool_config cfg = {
      .name = "pk-bench", .nthreads = nthreads, .max_queued = max_queued};
  pk_pool *pool;
  int r = pk_pool_create(&cfg, &pool);
  if (r != PK_OK)
    die("pk_pool_create", r);
  return pool;
}

static double secs(uint64_t t0) {
  return (double)(pk_now_ns() - t0) / 1e9;
}

/* ---- per-task overhead ---------------------------------------------------*/

static double pool_fire_forget(pk_pool *pool, int n) {
  uint64_t t0 = pk_now_ns();
  for (int i = 0; i < n; i++) {
    int r = pk_pool_submit(pool, PK_PRIO_BACKGROUND, empty_fn, NULL, NULL);
    if (r != PK_OK)
      die("submit", r);
  }
  pk_pool_wait_idle(pool);
  return n / secs(t0);
}

static double pthread_fire_forget(int n) {
  enum { WAVE = 64 };
  pthread_t th[WAVE];
  uint64_t t0 = pk_now_ns();
  for (int done = 0; done < n; done += WAVE) {
    for (int i = 0; i < WAVE; i++)
      if (pthread_create(&th[i], NULL, empty_thread, NULL) != 0)
        die("pthread_create", PK_ESYS);
    for (int i = 0; i < WAVE; i++)
      pthread_join(th[i], NULL);
  }
  return n / secs(t0);
}

static double pool_roundtrip(pk_pool *pool, int n) {
  uint64_t t0 = pk_now_ns();
  for (int i = 0; i < n; i++) {
    pk_task *t;
    int r = pk_pool_submit(pool, PK_PRIO_INTERACTIVE, empty_fn, NULL, &t);
    if (r != PK_OK)
      die("submit", r);
    pk_task_wait(t);
    pk_task_release(t);
  }
  return n / secs(t0);
}

static double pthread_roundtrip(int n) {
  uint64_t t0 = pk_now_ns();
  for (int i = 0; i < n; i++) {
    pthread_t th;
    if (pthread_create(&th, NULL, empty_thread, NULL) != 0)
      die("pthread_create", PK_ESYS);
    pthread_join(th, NULL);
  }
  return n / secs(t0);
}

/* ---- priority ------------------------------------------------------------*/

static void spin_fn(pk_task *self, void *arg) {
  (void)arg;
  uint64_t end = pk_now_ns() + 50000;
  while (pk_now_ns() < end && !pk_task_cancelled(self)) {
  }
}

static void probe_fn(pk_task *self, void *arg) {
  (void)self;
  *(uint64_t *)arg = pk_now_ns();
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

enum { NBG = 1000, TRIALS = 15 };

/* Median submit-to-start time of a probe at `prio` behind NBG queued
 * background tasks. */
static double probe_latency_p50(pk_pool *pool, pk_priority prio) {
  uint64_t lat[TRIALS];
  for (int k = 0; k < TRIALS; k++) {
    for (int i = 0; i < NBG; i++) {
      int r = pk_pool_submit(pool, PK_PRIO_BACKGROUND, spin_fn, NULL, NULL);
      if (r != PK_OK)
        die("submit", r);
    }
    uint64_t started = 0;
    pk_task *t;
    uint64_t t0 = pk_now_ns();
    int r = pk_pool_submit(pool, prio, probe_fn, &started, &t);
    if (r != PK_OK)
      die("submit", r);
    pk_task_wait(t);
    pk_task_release(t);
    lat[k] = started - t0;
    pk_pool_wait_idle(pool);
  }
  qsort(lat, TRIALS, sizeof lat[0], cmp_u64);
  return (double)lat[TRIALS / 2];
}

int main(void) {
  int ncpu = pk_sys_ncpu();
  printf("# bench_pool: %d cpus, pool of %d workers; ratio = pool / "
         "pthread-per-task baseline (higher is better)\n",
         ncpu, ncpu);

  pk_pool *pool = make_pool(0, 4096);
  pool_fire_forget(pool, 50000); /* warm up threads and allocator */

  double pf = pool_fire_forget(pool, 1000000);
  double bf = pthread_fire_forget(4096);
  printf("pool.fire_forget.rate %.3g tasks/s\n", pf);
  printf("pool.fire_forget.ns_per_task %.0f ns\n", 1e9 / pf);
  printf("pool.fire_forget.pthread.rate %.3g tasks/s\n", bf);
  printf("pool.fire_forget.pthread.ns_per_task %.0f ns\n", 1e9 / bf);
  printf("pool.fire_forget.ratio %.1f x\n", pf / bf);

  double pr = pool_roundtrip(pool, 100000);
  double br = pthread_roundtrip(4096);
  printf("pool.roundtrip.rate %.3g tasks/s\n", pr);
  printf("pool.roundtrip.ns_per_task %.0f ns\n", 1e9 / pr);
  printf("pool.roundtrip.pthread.rate %.3g tasks/s\n", br);
  printf("pool.roundtrip.pthread.ns_per_task %.0f ns\n", 1e9 / br);
  printf("pool.roundtrip.ratio %.1f x\n", pr / br);
  pk_pool_free(pool);

  pool = make_pool(0, 2 * NBG);
  double li = probe_latency_p50(pool, PK_PRIO_INTERACTIVE);
  double lb = probe_latency_p50(pool, PK_PRIO_BACKGROUND);
  printf("# prio_latency: submit-to-start p50 of one probe behind %d queued "
         "~50 us background tasks, %d trials; ratio = interactive / "
         "background (lower is better)\n",
         NBG, TRIALS);
  printf("pool.prio_latency.interactive.p50 %.1f us\n", li / 1e3);
  printf("pool.prio_latency.background.p50 %.1f us\n", lb / 1e3);
  printf("pool.prio_latency.ratio %.3g x\n", li / lb);
  pk_pool_free(pool);
  return 0;
}
