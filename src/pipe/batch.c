/* batch.c — two-lane scheduling of many files; see batch.h. */
#include "pipe/batch.h"

#include <pthread.h>

#include "base/clock.h"
#include "pipe/engine.h"

typedef struct lane {
  pk_batch_item *items;
  size_t n;
  int small;
  uint64_t limit, t0;
  pk_batch_fn fn;
  void *ctx;
  volatile sig_atomic_t *cancel;
} lane;

static void run_lane(lane *l) {
  for (size_t i = 0; i < l->n; i++) {
    pk_batch_item *it = &l->items[i];
    if ((it->size < l->limit) != l->small)
      continue;
    if (l->cancel && *l->cancel) {
      it->rc = PK_EINTERRUPTED;
      continue;
    }
    it->msg.text[0] = '\0';
    it->rc = l->fn(l->ctx, it, &it->msg);
    it->finished_ns = pk_now_ns() - l->t0;
  }
}

static void *small_lane(void *arg) {
  run_lane(arg);
  return NULL;
}

size_t pk_batch_run(pk_batch_item *items, size_t n, uint64_t small_limit,
                    pk_batch_fn fn, void *ctx, volatile sig_atomic_t *cancel) {
  uint64_t t0 = pk_now_ns();
  uint64_t limit = small_limit ? small_limit : PK_PIPE_SMALL_FILE;
  for (size_t i = 0; i < n; i++)
    items[i].rc = PK_EINTERRUPTED;
  lane small = {items, n, 1, limit, t0, fn, ctx, cancel};
  lane large = {items, n, 0, limit, t0, fn, ctx, cancel};
  pthread_t th;
  int threaded = pthread_create(&th, NULL, small_lane, &small) == 0;
  if (!threaded)
    run_lane(&small); /* still correct, only less fair */
  run_lane(&large);
  if (threaded)
    pthread_join(th, NULL);
  size_t failed = 0;
  for (size_t i = 0; i < n; i++)
    failed += items[i].rc != PK_OK;
  return failed;
}
