/* test_bufpool.c — unit tests for runtime/bufpool.h.
 *
 * "Thread X is now blocked" is detected, not guessed: an acquire bumps the
 * `waits` counter under the pool lock just before it sleeps on the condvar,
 * which drops the lock atomically, so whatever the test does next under the
 * lock (release, close) reaches the sleeper. */
#include <pthread.h>
#include <sched.h>

#include "base/clock.h"
#include "runtime/bufpool.h"
#include "test.h"

static pk_bufpool_stats stats(const pk_bufpool *pool) {
  pk_bufpool_stats st;
  pk_bufpool_get_stats(pool, &st);
  return st;
}

static void wait_until_waits(const pk_bufpool *pool, uint64_t n) {
  while (stats(pool).waits < n)
    sched_yield();
}

static void test_create_invalid(void) {
  pk_bufpool *pool = NULL;
  ASSERT_ERR(pk_bufpool_create(0, 4, &pool), PK_EINVAL);
  ASSERT_ERR(pk_bufpool_create(64, 0, &pool), PK_EINVAL);
  ASSERT_ERR(pk_bufpool_create(64, 4, NULL), PK_EINVAL);
  ASSERT_ERR(pk_bufpool_create(SIZE_MAX, 4, &pool), PK_EINVAL);
  ASSERT(pool == NULL);
  pk_bufpool_free(NULL);
}

static void test_bound_and_reuse(void) {
  enum { MAX = 4 };
  pk_bufpool *pool;
  ASSERT_OK(pk_bufpool_create(1000, MAX, &pool));
  ASSERT_UEQ(pk_bufpool_buf_size(pool), 1000);
  ASSERT_UEQ(pk_bufpool_max_buffers(pool), MAX);
  ASSERT_UEQ(stats(pool).allocated, 0); /* lazy */

  void *b[MAX];
  for (int i = 0; i < MAX; i++) {
    ASSERT_OK(pk_bufpool_try_acquire(pool, &b[i]));
    memset(b[i], i, 1000); /* ASan checks the usable size */
    for (int j = 0; j < i; j++)
      ASSERT(b[i] != b[j]);
  }
  ASSERT_UEQ(stats(pool).allocated, MAX);
  ASSERT_UEQ(stats(pool).in_use, MAX);
  void *extra = NULL;
  ASSERT_ERR(pk_bufpool_try_acquire(pool, &extra), PK_EAGAIN);
  ASSERT_ERR(pk_bufpool_acquire_timeout(pool, &extra, 0), PK_ETIMEDOUT);
  uint64_t t0 = pk_now_ns();
  ASSERT_ERR(pk_bufpool_acquire_timeout(pool, &extra, 5000000), PK_ETIMEDOUT);
  ASSERT_ULE(5000000, pk_now_ns() - t0);
  ASSERT(extra == NULL);

  /* Released buffers come back, most recently released first, and no new
   * one is allocated. */
  ASSERT_OK(pk_bufpool_release(pool, b[1]));
  ASSERT_OK(pk_bufpool_release(pool, b[3]));
  ASSERT_UEQ(stats(pool).in_use, MAX - 2);
  void *p, *q;
  ASSERT_OK(pk_bufpool_acquire(pool, &p));
  ASSERT(p == b[3]);
  ASSERT_OK(pk_bufpool_acquire(pool, &q));
  ASSERT(q == b[1]);

  /* Many rounds never allocate beyond the bound; every pointer is one of
   * the original four. */
  for (int round = 0; round < 100; round++) {
    int k = round % MAX;
    ASSERT_OK(pk_bufpool_release(pool, b[k]));
    ASSERT_OK(pk_bufpool_acquire(pool, &p));
    int known = 0;
    for (int j = 0; j < MAX; j++)
      known += p == b[j];
    ASSERT_EQ(known, 1);
    b[k] = p;
  }
  pk_bufpool_stats st = stats(pool);
  ASSERT_UEQ(st.allocated, MAX);
  ASSERT_UEQ(st.in_use, MAX);
  ASSERT_UEQ(st.acquires, MAX + 2 + 100);
  ASSERT_UEQ(st.reuses, 2 + 100);
  for (int i = 0; i < MAX; i++)
    ASSERT_OK(pk_bufpool_release(pool, b[i]));
  ASSERT_UEQ(stats(pool).in_use, 0);
  pk_bufpool_free(pool);
}

static void test_bad_release(void) {
  pk_bufpool *pool;
  ASSERT_OK(pk_bufpool_create(64, 2, &pool));
  void *b;
  ASSERT_OK(pk_bufpool_acquire(pool, &b));
  int local;
  ASSERT_ERR(pk_bufpool_release(pool, &local), PK_EINVAL);
  ASSERT_ERR(pk_bufpool_release(pool, NULL), PK_EINVAL);
  ASSERT_ERR(pk_bufpool_release(pool, (char *)b + 1), PK_EINVAL);
  ASSERT_OK(pk_bufpool_release(pool, b));
  ASSERT_ERR(pk_bufpool_release(pool, b), PK_EINVAL); /* double release */
  pk_bufpool_stats st = stats(pool);
  ASSERT_UEQ(st.in_use, 0);
  /* The double release did not put b on the free list twice. */
  void *x, *y;
  ASSERT_OK(pk_bufpool_acquire(pool, &x));
  ASSERT_OK(pk_bufpool_acquire(pool, &y));
  ASSERT(x != y);
  ASSERT_OK(pk_bufpool_release(pool, x));
  ASSERT_OK(pk_bufpool_release(pool, y));
  pk_bufpool_free(pool);
}

static void test_alignment(void) {
  /* Odd sizes are rounded up; every buffer starts on a cache line and the
   * whole requested size is usable (ASan would flag an overrun). */
  const size_t sizes[] = {1, 63, 64, 65, 1000, 4097, 1 << 20};
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
    pk_bufpool *pool;
    ASSERT_OK(pk_bufpool_create(sizes[s], 3, &pool));
    void *b[3];
    for (int i = 0; i < 3; i++) {
      ASSERT_OK(pk_bufpool_acquire(pool, &b[i]));
      ASSERT_UEQ((uintptr_t)b[i] % PK_BUFPOOL_ALIGN, 0);
      memset(b[i], 0xab, sizes[s]);
    }
    /* Leaving buffers lent out: free() still frees them (no leak for LSan). */
    ASSERT_OK(pk_bufpool_release(pool, b[0]));
    pk_bufpool_free(pool);
  }
}

typedef struct {
  pk_bufpool *pool;
  uint64_t timeout_ns; /* 0: plain blocking acquire */
  void *buf;
  int rc;
} acq_arg;

static void *do_acquire(void *arg) {
  acq_arg *a = arg;
  a->rc = a->timeout_ns
              ? pk_bufpool_acquire_timeout(a->pool, &a->buf, a->timeout_ns)
              : pk_bufpool_acquire(a->pool, &a->buf);
  return NULL;
}

static void test_blocking_acquire_released_by_release(void) {
  pk_bufpool *pool;
  ASSERT_OK(pk_bufpool_create(256, 1, &pool));
  void *only;
  ASSERT_OK(pk_bufpool_acquire(pool, &only));
  for (int timed = 0; timed < 2; timed++) {
    acq_arg a = {
        .pool = pool, .rc = -1, .timeout_ns = timed ? 60ull * 1000000000u : 0};
    pthread_t t;
    uint64_t before = stats(pool).waits;
    ASSERT_EQ(pthread_create(&t, NULL, do_acquire, &a), 0);
    wait_until_waits(pool, before + 1);
    ASSERT_UEQ(stats(pool).in_use, 1); /* still blocked: bound holds */
    ASSERT_OK(pk_bufpool_release(pool, only));
    ASSERT_EQ(pthread_join(t, NULL), 0);
    ASSERT_OK(a.rc);
    ASSERT(a.buf == only); /* the same buffer, handed across threads */
    ASSERT_UEQ(stats(pool).allocated, 1);
  }
  ASSERT_OK(pk_bufpool_release(pool, only));
  pk_bufpool_free(pool);
}

static void test_close_wakes_waiters(void) {
  enum { N = 3 };
  pk_bufpool *pool;
  ASSERT_OK(pk_bufpool_create(128, 1, &pool));
  void *only;
  ASSERT_OK(pk_bufpool_acquire(pool, &only));
  acq_arg a[N];
  pthread_t t[N];
  for (int i = 0; i < N; i++) {
    a[i] = (acq_arg){
        .pool = pool, .rc = -1, .timeout_ns = i == 0 ? 60ull * 1000000000u : 0};
    ASSERT_EQ(pthread_create(&t[i], NULL, do_acquire, &a[i]), 0);
  }
  wait_until_waits(pool, N);
  pk_bufpool_close(pool);
  pk_bufpool_close(pool); /* idempotent */
  for (int i = 0; i < N; i++) {
    ASSERT_EQ(pthread_join(t[i], NULL), 0);
    ASSERT_ERR(a[i].rc, PK_ECLOSED);
    ASSERT(a[i].buf == NULL);
  }
  /* Release still works after close; acquire does not, even with a buffer
   * free. */
  ASSERT_OK(pk_bufpool_release(pool, only));
  void *p = NULL;
  ASSERT_ERR(pk_bufpool_try_acquire(pool, &p), PK_ECLOSED);
  ASSERT_ERR(pk_bufpool_acquire(pool, &p), PK_ECLOSED);
  ASSERT(p == NULL);
  pk_bufpool_free(pool);
}

int main(void) {
  RUN(test_create_invalid);
  RUN(test_bound_and_reuse);
  RUN(test_bad_release);
  RUN(test_alignment);
  RUN(test_blocking_acquire_released_by_release);
  RUN(test_close_wakes_waiters);
  return 0;
}
