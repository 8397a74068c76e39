/* stress_channel.c — many threads through small channels and a small pool.
 *
 * Properties checked on real results (no timing):
 *  1. Exactly-once delivery: every id sent is received exactly once (a
 *     bitmap of atomic counters), for 8x8, 1x8 and 8x1 threads through
 *     channels of capacity 1, 2 and 16, with blocking, try and timed calls
 *     mixed so that timeouts race with wake-ups.
 *  2. Per-sender FIFO: a consumer sees each producer's ids in increasing
 *     order.
 *  3. Close during traffic: the ids delivered are exactly the ids whose
 *     send returned PK_OK; nothing accepted is lost, nothing rejected leaks.
 *  4. Close with every producer (or consumer) asleep wakes all of them.
 *  5. Buffer pool under contention, buffers passed through a channel: never
 *     more than max_buffers lent out (an atomic in-use counter kept by the
 *     test) and no buffer held by two owners (each owner stamps and checks
 *     its buffer).
 * Runs under ASan and TSan; sized for < 30 s under TSan on 2 cores. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "runtime/bufpool.h"
#include "runtime/channel.h"
#include "test.h"

#define ITEM(n) ((void *)(uintptr_t)(n))
#define ID(p) ((uintptr_t)(p))
#define MAX_THREADS 8
#define SHORT_TIMEOUT_NS 20000u /* 20 us: expires often, racing wake-ups */

/* Send with one of four flavours, chosen per item; returns PK_OK or
 * PK_ECLOSED, never gives up otherwise. */
static int send_any(pk_chan *ch, void *item, unsigned flavour) {
  int rc;
  switch (flavour % 4) {
  case 1:
    while ((rc = pk_chan_try_send(ch, item)) == PK_EAGAIN)
      sched_yield();
    return rc;
  case 2:
    while ((rc = pk_chan_send_timeout(ch, item, SHORT_TIMEOUT_NS)) ==
           PK_ETIMEDOUT)
      ;
    return rc;
  default:
    return pk_chan_send(ch, item);
  }
}

static int recv_any(pk_chan *ch, void **out, unsigned flavour) {
  int rc;
  switch (flavour % 4) {
  case 1:
    while ((rc = pk_chan_try_recv(ch, out)) == PK_EAGAIN)
      sched_yield();
    return rc;
  case 2:
    while ((rc = pk_chan_recv_timeout(ch, out, SHORT_TIMEOUT_NS)) ==
           PK_ETIMEDOUT)
      ;
    return rc;
  default:
    return pk_chan_recv(ch, out);
  }
}

/* ---- 1-3: exactly-once, FIFO per sender, close during traffic ------------
 */

typedef struct run run;

typedef struct {
  run *r;
  unsigned index;
  uint64_t accepted; /* producer: sends that returned PK_OK */
  uint64_t received; /* consumer: items taken */
} worker;

struct run {
  pk_chan *ch;
  unsigned producers, consumers;
  uint64_t per_producer;       /* ids p*per_producer .. +per_producer-1 */
  _Atomic unsigned char *seen; /* seen[id]: times id was received */
  void *seen_mem;              /* the same memory, for free() */
  _Atomic uint64_t total_received;
  worker w[2 * MAX_THREADS];
};

static void *produce(void *arg) {
  worker *w = arg;
  run *r = w->r;
  uint64_t base = w->index * r->per_producer;
  for (uint64_t i = 0; i < r->per_producer; i++) {
    /* Offset by index so that threads use different flavours at once. */
    int rc = send_any(r->ch, ITEM(base + i + 1), (unsigned)i + w->index);
    if (rc == PK_ECLOSED)
      break; /* close during traffic: stop; ids >= i were never accepted */
    ASSERT_OK(rc);
    w->accepted++;
  }
  return NULL;
}

static void *consume(void *arg) {
  worker *w = arg;
  run *r = w->r;
  uint64_t last[MAX_THREADS];
  memset(last, 0, sizeof last);
  for (unsigned n = w->index;; n++) {
    void *p = NULL;
    int rc = recv_any(r->ch, &p, n);
    if (rc == PK_ECLOSED)
      break;
    ASSERT_OK(rc);
    uint64_t id = ID(p) - 1;
    uint64_t producer = id / r->per_producer;
    ASSERT_LT(producer, r->producers);
    ASSERT_EQ(atomic_fetch_add(&r->seen[id], 1), 0); /* no duplicate */
    ASSERT_LT(last[producer], ID(p));                /* FIFO per producer */
    last[producer] = ID(p);
    w->received++;
    atomic_fetch_add_explicit(&r->total_received, 1, memory_order_relaxed);
  }
  return NULL;
}

/* Runs P producers and C consumers through a channel of `cap`. With
 * close_after > 0, closes the channel once that many items went through
 * (producers still sending), else after all producers finished. */
static void run_mpmc(unsigned P, unsigned C, size_t cap, uint64_t per_producer,
                     uint64_t close_after) {
  run *r = calloc(1, sizeof *r);
  ASSERT(r != NULL);
  ASSERT_OK(pk_chan_create(cap, &r->ch));
  r->producers = P;
  r->consumers = C;
  r->per_producer = per_producer;
  uint64_t total = P * per_producer;
  r->seen_mem = calloc(total, sizeof *r->seen);
  ASSERT(r->seen_mem != NULL);
  r->seen = r->seen_mem;

  pthread_t t[2 * MAX_THREADS];
  for (unsigned i = 0; i < C; i++) {
    r->w[P + i] = (worker){.r = r, .index = i};
    ASSERT_EQ(pthread_create(&t[P + i], NULL, consume, &r->w[P + i]), 0);
  }
  for (unsigned i = 0; i < P; i++) {
    r->w[i] = (worker){.r = r, .index = i};
    ASSERT_EQ(pthread_create(&t[i], NULL, produce, &r->w[i]), 0);
  }
  if (close_after > 0) {
    while (atomic_load(&r->total_received) < close_after)
      sched_yield();
    pk_chan_close(r->ch);
  }
  for (unsigned i = 0; i < P; i++)
    ASSERT_EQ(pthread_join(t[i], NULL), 0);
  pk_chan_close(r->ch); /* no-op if already closed */
  for (unsigned i = 0; i < C; i++)
    ASSERT_EQ(pthread_join(t[P + i], NULL), 0);

  /* The ids delivered are exactly the ids accepted: producer p's first
   * accepted[p] ids, once each, and none of the rest. */
  uint64_t accepted = 0, received = 0;
  for (unsigned p = 0; p < P; p++) {
    uint64_t k = r->w[p].accepted;
    if (close_after == 0)
      ASSERT_UEQ(k, per_producer);
    for (uint64_t i = 0; i < per_producer; i++) {
      unsigned times = atomic_load(&r->seen[p * per_producer + i]);
      ASSERT_EQ(times, i < k ? 1 : 0);
    }
    accepted += k;
  }
  for (unsigned c = 0; c < C; c++)
    received += r->w[P + c].received;
  ASSERT_UEQ(received, accepted);

  pk_chan_stats st;
  pk_chan_get_stats(r->ch, &st);
  ASSERT_UEQ(st.sends, accepted);
  ASSERT_UEQ(st.recvs, accepted);
  ASSERT_ULE(st.max_len, cap);
  ASSERT_UEQ(pk_chan_len(r->ch), 0);
  fprintf(stderr,
          "   %ux%u cap %zu: %ju items, %ju send waits, %ju recv waits%s\n", P,
          C, cap, (uintmax_t)accepted, (uintmax_t)st.send_waits,
          (uintmax_t)st.recv_waits, close_after ? " (closed mid-way)" : "");
  pk_chan_free(r->ch);
  free(r->seen_mem);
  free(r);
}

enum { ITEMS = 16000 }; /* per configuration, split among producers */

static void test_exactly_once(void) {
  const unsigned shapes[][2] = {{8, 8}, {1, 8}, {8, 1}};
  const size_t caps[] = {1, 2, 16};
  for (size_t s = 0; s < 3; s++)
    for (size_t c = 0; c < 3; c++)
      run_mpmc(shapes[s][0], shapes[s][1], caps[c], ITEMS / shapes[s][0], 0);
}

static void test_close_during_traffic(void) {
  for (int rep = 0; rep < 3; rep++) {
    run_mpmc(8, 8, 2, ITEMS / 8, 1000);
    run_mpmc(8, 2, 1, ITEMS / 8, 500);
    run_mpmc(2, 8, 16, ITEMS / 2, 2000);
  }
}

/* ---- 4: close with everyone asleep ---------------------------------------
 */

typedef struct {
  pk_chan *ch;
  unsigned index;
  int rc;
  void *item;
} sleeper;

static void *sleep_send(void *arg) {
  sleeper *s = arg;
  s->rc = send_any(s->ch, ITEM(1000 + s->index), s->index % 2 ? 0 : 3);
  return NULL;
}

static void *sleep_recv(void *arg) {
  sleeper *s = arg;
  s->rc = recv_any(s->ch, &s->item, 0);
  return NULL;
}

static void test_close_all_asleep(void) {
  for (int rep = 0; rep < 20; rep++) {
    pk_chan *ch;
    ASSERT_OK(pk_chan_create(2, &ch));
    ASSERT_OK(pk_chan_send(ch, ITEM(1)));
    ASSERT_OK(pk_chan_send(ch, ITEM(2)));
    sleeper s[MAX_THREADS];
    pthread_t t[MAX_THREADS];
    for (unsigned i = 0; i < MAX_THREADS; i++) {
      s[i] = (sleeper){.ch = ch, .index = i, .rc = -1};
      ASSERT_EQ(pthread_create(&t[i], NULL, sleep_send, &s[i]), 0);
    }
    pk_chan_stats st;
    do {
      sched_yield();
      pk_chan_get_stats(ch, &st);
    } while (st.send_waits < MAX_THREADS);
    pk_chan_close(ch);
    for (unsigned i = 0; i < MAX_THREADS; i++) {
      ASSERT_EQ(pthread_join(t[i], NULL), 0);
      ASSERT_ERR(s[i].rc, PK_ECLOSED);
    }
    void *p;
    ASSERT_OK(pk_chan_recv(ch, &p));
    ASSERT_EQ(ID(p), 1);
    ASSERT_OK(pk_chan_recv(ch, &p));
    ASSERT_EQ(ID(p), 2);
    ASSERT_ERR(pk_chan_recv(ch, &p), PK_ECLOSED);
    pk_chan_free(ch);

    /* Receivers on an empty channel. */
    ASSERT_OK(pk_chan_create(4, &ch));
    for (unsigned i = 0; i < MAX_THREADS; i++) {
      s[i] = (sleeper){.ch = ch, .index = i, .rc = -1};
      ASSERT_EQ(pthread_create(&t[i], NULL, sleep_recv, &s[i]), 0);
    }
    do {
      sched_yield();
      pk_chan_get_stats(ch, &st);
    } while (st.recv_waits < MAX_THREADS);
    pk_chan_close(ch);
    for (unsigned i = 0; i < MAX_THREADS; i++) {
      ASSERT_EQ(pthread_join(t[i], NULL), 0);
      ASSERT_ERR(s[i].rc, PK_ECLOSED);
    }
    pk_chan_free(ch);
  }
}

/* ---- 5: buffer pool under contention -------------------------------------
 */

enum { POOL_MAX = 4, POOL_BUF = 4096, POOL_ROUNDS = 3000 };

typedef struct {
  pk_bufpool *pool;
  pk_chan *ch;          /* filled buffers travel to the checkers */
  _Atomic int live;     /* buffers lent out, as the test counts them */
  _Atomic int max_live; /* the most ever seen */
  _Atomic uint64_t done;
} pool_run;

typedef struct {
  pool_run *pr;
  unsigned index;
} pool_worker;

static void note_live(pool_run *pr, int delta) {
  int now = atomic_fetch_add(&pr->live, delta) + delta;
  ASSERT_LE(now, POOL_MAX);
  ASSERT_GE(now, 0);
  int m = atomic_load(&pr->max_live);
  while (now > m && !atomic_compare_exchange_weak(&pr->max_live, &m, now))
    ;
}

static int acquire_any(pk_bufpool *pool, void **buf, unsigned flavour) {
  int rc;
  switch (flavour % 3) {
  case 1:
    while ((rc = pk_bufpool_try_acquire(pool, buf)) == PK_EAGAIN)
      sched_yield();
    return rc;
  case 2:
    while ((rc = pk_bufpool_acquire_timeout(pool, buf, SHORT_TIMEOUT_NS)) ==
           PK_ETIMEDOUT)
      ;
    return rc;
  default:
    return pk_bufpool_acquire(pool, buf);
  }
}

/* Stamps the whole buffer with a tag and checks it is still intact: if the
 * pool lent one buffer to two owners at once, a stamp would be clobbered. */
static void stamp(void *buf, unsigned char tag) {
  memset(buf, tag, POOL_BUF);
}

static void check_stamp(const void *buf, unsigned char tag) {
  const unsigned char *b = buf;
  for (size_t i = 0; i < POOL_BUF; i += 61)
    ASSERT_EQ(b[i], tag);
  ASSERT_EQ(b[POOL_BUF - 1], tag);
}

/* Half the workers fill buffers and send them to the others (the pipeline
 * shape); each also does private acquire/stamp/release rounds. */
static void *pool_fill(void *arg) {
  pool_worker *w = arg;
  pool_run *pr = w->pr;
  for (unsigned i = 0; i < POOL_ROUNDS; i++) {
    void *buf;
    ASSERT_OK(acquire_any(pr->pool, &buf, i + w->index));
    note_live(pr, +1);
    unsigned char tag = (unsigned char)(w->index * 31 + i);
    stamp(buf, tag);
    sched_yield();
    check_stamp(buf, tag);
    if (i % 2) {
      /* Ship it; the checker reads the tag back from the first byte and
       * checks the rest (under TSan, a second owner is also a data race). */
      ASSERT_OK(pk_chan_send(pr->ch, buf));
    } else {
      note_live(pr, -1);
      ASSERT_OK(pk_bufpool_release(pr->pool, buf));
    }
    atomic_fetch_add(&pr->done, 1);
  }
  return NULL;
}

static void *pool_check(void *arg) {
  pool_worker *w = arg;
  pool_run *pr = w->pr;
  void *buf;
  while (pk_chan_recv(pr->ch, &buf) == PK_OK) {
    check_stamp(buf, *(unsigned char *)buf);
    note_live(pr, -1);
    ASSERT_OK(pk_bufpool_release(pr->pool, buf));
  }
  return NULL;
}

typedef struct {
  pk_bufpool *pool;
  unsigned flavour;
  int rc;
} pool_waiter;

/* Blocks on an exhausted pool; a try-loop flavour would spin, so only the
 * blocking and the (long) timed acquire are used here. */
static void *pool_wait(void *arg) {
  pool_waiter *pw = arg;
  void *buf;
  pw->rc = pw->flavour % 2
               ? pk_bufpool_acquire_timeout(pw->pool, &buf, 60ull * 1000000000u)
               : pk_bufpool_acquire(pw->pool, &buf);
  return NULL;
}

static void test_bufpool_contention(void) {
  enum { FILLERS = 6, CHECKERS = 2 };
  pool_run *pr = calloc(1, sizeof *pr);
  ASSERT(pr != NULL);
  ASSERT_OK(pk_bufpool_create(POOL_BUF, POOL_MAX, &pr->pool));
  ASSERT_OK(pk_chan_create(2, &pr->ch));
  pthread_t t[MAX_THREADS];
  pool_worker w[FILLERS + CHECKERS];
  for (unsigned i = 0; i < FILLERS + CHECKERS; i++) {
    w[i] = (pool_worker){.pr = pr, .index = i};
    ASSERT_EQ(pthread_create(&t[i], NULL, i < FILLERS ? pool_fill : pool_check,
                             &w[i]),
              0);
  }
  for (unsigned i = 0; i < FILLERS; i++)
    ASSERT_EQ(pthread_join(t[i], NULL), 0);
  pk_chan_close(pr->ch);
  for (unsigned i = FILLERS; i < FILLERS + CHECKERS; i++)
    ASSERT_EQ(pthread_join(t[i], NULL), 0);

  pk_bufpool_stats st;
  pk_bufpool_get_stats(pr->pool, &st);
  ASSERT_EQ(atomic_load(&pr->live), 0);
  ASSERT_UEQ(st.in_use, 0);
  ASSERT_ULE(st.allocated, POOL_MAX);
  ASSERT_UEQ(st.acquires, FILLERS * POOL_ROUNDS);
  ASSERT_UEQ(st.reuses, st.acquires - st.allocated);
  fprintf(stderr,
          "   pool: %ju acquires, %zu buffers, max live %d, %ju waits\n",
          (uintmax_t)st.acquires, st.allocated, atomic_load(&pr->max_live),
          (uintmax_t)st.waits);

  /* Close with every acquirer asleep on the exhausted pool. */
  void *held[POOL_MAX];
  for (int i = 0; i < POOL_MAX; i++)
    ASSERT_OK(pk_bufpool_acquire(pr->pool, &held[i]));
  pk_bufpool_get_stats(pr->pool, &st);
  uint64_t waits_before = st.waits;
  pool_waiter pw[MAX_THREADS];
  for (unsigned i = 0; i < MAX_THREADS; i++) {
    pw[i] = (pool_waiter){.pool = pr->pool, .flavour = i, .rc = -1};
    ASSERT_EQ(pthread_create(&t[i], NULL, pool_wait, &pw[i]), 0);
  }
  do {
    sched_yield();
    pk_bufpool_get_stats(pr->pool, &st);
  } while (st.waits < waits_before + MAX_THREADS);
  pk_bufpool_close(pr->pool);
  for (unsigned i = 0; i < MAX_THREADS; i++) {
    ASSERT_EQ(pthread_join(t[i], NULL), 0);
    ASSERT_ERR(pw[i].rc, PK_ECLOSED);
  }
  for (int i = 0; i < POOL_MAX; i++)
    ASSERT_OK(pk_bufpool_release(pr->pool, held[i]));
  pk_bufpool_free(pr->pool);
  pk_chan_free(pr->ch);
  free(pr);
}

int main(void) {
  RUN(test_exactly_once);
  RUN(test_close_during_traffic);
  RUN(test_close_all_asleep);
  RUN(test_bufpool_contention);
  return 0;
}
