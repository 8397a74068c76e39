/* stress_metrics.c — writers hammer one counter, gauge and histogram (half
 * of them through local recorders that change hands) while other threads
 * render, snapshot, register and attach/detach a callback gauge. After join
 * every total must be exact; during the run each render must be internally
 * consistent and counts must never go backwards. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "runtime/metrics.h"
#include "test.h"

#define WRITERS 4
#define ITERS 1000000

static pk_metrics *reg;
static pk_counter *ops;
static pk_gauge *inflight;
static pk_hist *lat;
static atomic_int writers_left = WRITERS;

typedef struct writer {
  unsigned id;
  uint64_t sum, min, max;
} writer;

/* Spread over 0 .. ~17 ms so that many buckets (and the extremes) race. */
static uint64_t value_of(unsigned id, uint64_t i) {
  uint64_t x = (i + 1) * 0x9e3779b97f4a7c15u ^ ((uint64_t)id << 56);
  x ^= x >> 29;
  return (x & 0xffffffu) >> (x >> 59 & 15);
}

/* Even writers record through the shared atomics, odd ones through
 * single-writer local recorders that they hand back and take again every
 * 4096 values, so that recorders change owner between threads. */
static void *writer_main(void *arg) {
  writer *w = arg;
  w->min = UINT64_MAX;
  bool local = w->id % 2 == 1;
  pk_hist_local *l = NULL;
  for (uint64_t i = 0; i < ITERS; i++) {
    uint64_t v = value_of(w->id, i);
    pk_gauge_add(inflight, 1);
    pk_counter_add(ops, 1);
    if (local) {
      if (i % 4096 == 0) {
        pk_hist_local_release(l);
        ASSERT_OK(pk_hist_local_acquire(lat, &l));
      }
      pk_hist_local_record(l, v);
    } else {
      pk_hist_record(lat, v);
    }
    pk_gauge_sub(inflight, 1);
    w->sum += v;
    w->min = v < w->min ? v : w->min;
    w->max = v > w->max ? v : w->max;
  }
  pk_hist_local_release(l);
  atomic_fetch_sub(&writers_left, 1);
  return NULL;
}

/* The value at the end of the line that starts with prefix, or -1. */
static int64_t line_value(const char *text, const char *prefix) {
  size_t n = strlen(prefix);
  for (const char *p = text; *p;) {
    if (strncmp(p, prefix, n) == 0)
      return strtoll(p + n, NULL, 10);
    const char *eol = strchr(p, '\n');
    ASSERT(eol);
    p = eol + 1;
  }
  return -1;
}

/* Renders until the writers finish; checks each render on its own and
 * against the previous one. */
static void *renderer_main(void *arg) {
  (void)arg;
  int64_t prev_count = 0, prev_ops = 0;
  unsigned renders = 0, midway = 0;
  static pk_hist_snap snap;
  uint64_t prev_snap = 0;
  while (atomic_load(&writers_left) > 0 || renders < 3) {
    char *out;
    ASSERT_OK(pk_metrics_render_prometheus(reg, &out, NULL));
    int64_t count = line_value(out, "stress_lat_seconds_count ");
    int64_t n_ops = line_value(out, "stress_ops_total ");
    ASSERT(count >= prev_count && n_ops >= prev_ops);
    prev_count = count;
    prev_ops = n_ops;
    midway += count > 0 && count < (int64_t)WRITERS * ITERS;
    /* Cumulative buckets: monotonic, and +Inf is _count (same snapshot). */
    int64_t prev_b = 0, b = 0;
    const char *key = "stress_lat_seconds_bucket{";
    for (const char *p = strstr(out, key); p; p = strstr(p + 1, key)) {
      b = (int64_t)strtoull(strchr(p, ' ') + 1, NULL, 10);
      ASSERT(b >= prev_b);
      prev_b = b;
    }
    ASSERT_EQ(b, count);
    free(out);
    ASSERT_OK(pk_metrics_render_summary(reg, &out, NULL));
    ASSERT(strstr(out, "stress_lat_seconds"));
    free(out);
    pk_hist_snapshot(lat, &snap);
    ASSERT(snap.count >= prev_snap);
    prev_snap = snap.count;
    if (snap.count) {
      ASSERT(snap.min <= snap.max);
      uint64_t p50 = pk_hist_quantile(&snap, 0.5);
      uint64_t p99 = pk_hist_quantile(&snap, 0.99);
      ASSERT(snap.min <= p50 && p50 <= p99 && p99 <= snap.max);
    }
    int64_t g = pk_gauge_get(inflight);
    ASSERT(g >= 0 && g <= WRITERS);
    renders++;
  }
  /* How much overlap this run got (scheduling decides; not asserted). */
  fprintf(stderr, "renders: %u, %u of them while writers were mid-way\n",
          renders, midway);
  return NULL;
}

static int64_t read_box(void *arg) {
  return atomic_load_explicit((atomic_llong *)arg, memory_order_relaxed);
}

/* Registers new series and re-registers existing ones while everything else
 * runs; attaches a callback gauge to a heap object, detaches it and frees
 * the object (ASan would catch a callback running after detach). */
static void *registrar_main(void *arg) {
  (void)arg;
  pk_gauge *cb;
  ASSERT_OK(pk_metrics_gauge(reg, "stress_cb", NULL, "callback", &cb));
  for (unsigned k = 0; atomic_load(&writers_left) > 0 || k < 50; k++) {
    char labels[64] = "";
    char v[16];
    snprintf(v, sizeof v, "%u", k % 64);
    ASSERT_OK(pk_metrics_label_append(labels, sizeof labels, "worker", v));
    pk_counter *c;
    ASSERT_OK(pk_metrics_counter(reg, "stress_per_worker", labels, "", &c));
    pk_counter_add(c, 1);
    pk_counter *same;
    ASSERT_OK(pk_metrics_counter(reg, "stress_ops", NULL, "", &same));
    ASSERT(same == ops);
    atomic_llong *box = malloc(sizeof *box);
    ASSERT(box);
    atomic_init(box, (long long)k);
    pk_gauge_set_fn(cb, read_box, box);
    ASSERT_EQ(pk_gauge_get(cb), k);
    pk_gauge_set_fn(cb, NULL, NULL);
    free(box);
  }
  return NULL;
}

int main(void) {
  ASSERT_OK(pk_metrics_create(&reg));
  ASSERT_OK(pk_metrics_counter(reg, "stress_ops", NULL, "operations", &ops));
  ASSERT_OK(
      pk_metrics_gauge(reg, "stress_inflight", NULL, "in flight", &inflight));
  ASSERT_OK(pk_metrics_hist(reg, "stress_lat_seconds", NULL, "latency",
                            PK_UNIT_NANOSECONDS, &lat));
  pthread_t tw[WRITERS], tr, tg;
  writer w[WRITERS];
  for (unsigned i = 0; i < WRITERS; i++) {
    w[i] = (writer){.id = i};
    ASSERT_EQ(pthread_create(&tw[i], NULL, writer_main, &w[i]), 0);
  }
  ASSERT_EQ(pthread_create(&tr, NULL, renderer_main, NULL), 0);
  ASSERT_EQ(pthread_create(&tg, NULL, registrar_main, NULL), 0);
  for (unsigned i = 0; i < WRITERS; i++)
    ASSERT_EQ(pthread_join(tw[i], NULL), 0);
  ASSERT_EQ(pthread_join(tr, NULL), 0);
  ASSERT_EQ(pthread_join(tg, NULL), 0);

  /* Joined: every relaxed update is now visible; totals must be exact. */
  uint64_t sum = 0, min = UINT64_MAX, max = 0;
  for (unsigned i = 0; i < WRITERS; i++) {
    sum += w[i].sum;
    min = w[i].min < min ? w[i].min : min;
    max = w[i].max > max ? w[i].max : max;
  }
  ASSERT_UEQ(pk_counter_get(ops), (uint64_t)WRITERS * ITERS);
  ASSERT_EQ(pk_gauge_get(inflight), 0);
  static pk_hist_snap snap;
  pk_hist_snapshot(lat, &snap);
  ASSERT_UEQ(snap.count, (uint64_t)WRITERS * ITERS);
  ASSERT_UEQ(snap.sum, sum);
  ASSERT_UEQ(snap.min, min);
  ASSERT_UEQ(snap.max, max);
  /* Bucket by bucket, against a single-threaded recount. */
  static uint64_t expect[PK_HIST_NBUCKETS];
  for (unsigned t = 0; t < WRITERS; t++)
    for (uint64_t i = 0; i < ITERS; i++)
      expect[pk_hist_bucket_index(value_of(t, i))]++;
  for (unsigned i = 0; i < PK_HIST_NBUCKETS; i++)
    ASSERT_UEQ(snap.buckets[i], expect[i]);
  char *out;
  ASSERT_OK(pk_metrics_render_prometheus(reg, &out, NULL));
  ASSERT_EQ(line_value(out, "stress_lat_seconds_count "),
            (int64_t)WRITERS * ITERS);
  ASSERT_EQ(line_value(out, "stress_ops_total "), (int64_t)WRITERS * ITERS);
  ASSERT_EQ(line_value(out, "stress_cb "), 0); /* detached: stored value */
  free(out);
  pk_metrics_free(reg);
  return 0;
}
