/* selftest.c — see selftest.h. */
#include "runtime/selftest.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/error.h"
#include "runtime/bufpool.h"
#include "runtime/channel.h"
#include "runtime/pool.h"

typedef struct item {
  uint64_t id;
  uint64_t sent_ns;
  uint64_t sum; /* filled by a worker */
  uint8_t *buf;
} item;

typedef struct run {
  pk_gov *gov;
  pk_bufpool *bufs;
  pk_chan *work, *done;
  item *items;
  size_t item_bytes;
  uint64_t n;
  atomic_int error; /* first failure of the producer or a worker */
} run;

/* The contents of item id: cheap to generate, different for every id.
 * Word-wise, so that the run measures the runtime, not this loop. */
static void fill(uint8_t *buf, size_t n, uint64_t id) {
  uint64_t x = id * 0x9E3779B97F4A7C15u + 1;
  for (size_t i = 0; i + 8 <= n; i += 8) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    memcpy(buf + i, &x, 8);
  }
}

static uint64_t checksum(const uint8_t *buf, size_t n) {
  uint64_t h = 1469598103934665603u, w;
  for (size_t i = 0; i + 8 <= n; i += 8) {
    memcpy(&w, buf + i, 8);
    h = (h ^ w) * 1099511628211u;
  }
  return h;
}

static void fail(run *r, int err) {
  int expected = PK_OK;
  atomic_compare_exchange_strong(&r->error, &expected, err);
  pk_chan_close(r->work);
  pk_chan_close(r->done);
}

static void *producer(void *arg) {
  run *r = arg;
  for (uint64_t id = 0; id < r->n; id++) {
    item *it = &r->items[id];
    void *buf;
    int rc = pk_bufpool_acquire(r->bufs, &buf);
    if (rc == PK_OK) {
      it->id = id;
      it->buf = buf;
      fill(it->buf, r->item_bytes, id);
      it->sent_ns = pk_now_ns();
      rc = pk_chan_send(r->work, it);
      if (rc != PK_OK)
        pk_bufpool_release(r->bufs, buf);
    }
    if (rc != PK_OK) {
      fail(r, rc);
      break;
    }
  }
  pk_chan_close(r->work);
  return NULL;
}

static void worker(pk_task *self, void *arg) {
  (void)self;
  run *r = arg;
  void *p;
  while (pk_chan_recv(r->work, &p) == PK_OK) {
    item *it = p;
    int rc = pk_gov_acquire(r->gov, PK_GOV_CPU, 1);
    if (rc == PK_OK) {
      it->sum = checksum(it->buf, r->item_bytes);
      pk_gov_release(r->gov, PK_GOV_CPU, 1);
      rc = pk_chan_send(r->done, it);
    }
    if (rc != PK_OK) {
      pk_bufpool_release(r->bufs, it->buf);
      fail(r, rc);
      return;
    }
  }
}

int pk_selftest_run(pk_gov *gov, pk_metrics *metrics,
                    const pk_selftest_config *cfg, pk_selftest_result *out) {
  pk_selftest_config c = *cfg;
  if (!c.items)
    c.items = 200000;
  if (!c.item_bytes)
    c.item_bytes = 1024;
  if (!c.channel_cap)
    c.channel_cap = 64;
  if (!c.buffers)
    c.buffers = 2 * c.channel_cap;
  if (!c.workers)
    c.workers = (int)pk_gov_limit(gov, PK_GOV_CPU);
  memset(out, 0, sizeof *out);
  out->workers = c.workers;

  pk_hist *latency = NULL;
  pk_counter *count = NULL;
  if (metrics) {
    pk_metrics_hist(metrics, "pika_selftest_latency_seconds", NULL,
                    "Producer-to-consumer latency of one item",
                    PK_UNIT_NANOSECONDS, &latency);
    pk_metrics_counter(metrics, "pika_selftest_items", NULL,
                       "Items verified by the runtime self-test", &count);
  }

  run r = {.gov = gov, .item_bytes = c.item_bytes, .n = c.items};
  atomic_init(&r.error, PK_OK);
  uint8_t *seen = calloc(c.items, 1);
  r.items = calloc(c.items, sizeof *r.items);
  pk_pool *pool = NULL;
  int rc = (seen && r.items) ? PK_OK : PK_ENOMEM;
  if (rc == PK_OK)
    rc = pk_bufpool_create(c.item_bytes, c.buffers, &r.bufs);
  if (rc == PK_OK)
    rc = pk_chan_create(c.channel_cap, &r.work);
  if (rc == PK_OK)
    rc = pk_chan_create(c.channel_cap, &r.done);
  if (rc == PK_OK)
    rc = pk_pool_create(
        &(pk_pool_config){.name = "pk-selftest", .nthreads = c.workers}, &pool);
  if (rc != PK_OK)
    goto out;

  uint64_t t0 = pk_now_ns();
  pthread_t prod;
  if (pthread_create(&prod, NULL, producer, &r) != 0) {
    rc = PK_ESYS;
    goto out;
  }
  for (int i = 0; i < c.workers; i++)
    if ((rc = pk_pool_submit(pool, PK_PRIO_BACKGROUND, worker, &r, NULL)))
      fail(&r, rc);

  uint64_t received = 0;
  void *p;
  while (received < c.items && pk_chan_recv(r.done, &p) == PK_OK) {
    item *it = p;
    pk_hist_record(latency, pk_now_ns() - it->sent_ns);
    /* Re-derive the expected checksum here, independently of the worker. */
    fill(it->buf, c.item_bytes, it->id);
    if (it->id >= c.items || seen[it->id] ||
        it->sum != checksum(it->buf, c.item_bytes))
      fail(&r, PK_ECORRUPT);
    else
      seen[it->id] = 1;
    pk_bufpool_release(r.bufs, it->buf);
    pk_counter_add(count, 1);
    received++;
  }
  pk_chan_close(r.work);
  pthread_join(prod, NULL);
  pk_pool_shutdown(pool, PK_POOL_DRAIN);
  out->elapsed_ns = pk_now_ns() - t0;
  out->items = received;
  rc = atomic_load(&r.error);
  if (rc == PK_OK && received != c.items)
    rc = PK_ECORRUPT;

  pk_bufpool_stats bs;
  pk_bufpool_get_stats(r.bufs, &bs);
  out->buffers_made = bs.allocated;
  out->buffer_reuses = bs.reuses;
  pk_chan_stats cs;
  pk_chan_get_stats(r.work, &cs);
  out->producer_blocks = cs.send_waits;
  pk_gov_stats gs;
  pk_gov_get_stats(gov, &gs);
  out->cpu_peak = gs.res[PK_GOV_CPU].peak;
out:
  pk_pool_free(pool);
  pk_chan_free(r.work);
  pk_chan_free(r.done);
  pk_bufpool_free(r.bufs);
  free(r.items);
  free(seen);
  return rc;
}
