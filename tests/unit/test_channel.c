/* test_channel.c — unit tests for runtime/channel.h.
 *
 * Tests that need "thread X is now blocked" never sleep and hope: a send or
 * receive bumps send_waits / recv_waits under the channel lock just before
 * it sleeps on the condvar (which releases that lock atomically), so once
 * the counter shows it, the thread is asleep or about to be, and anything
 * the test does next under the lock (send, recv, close) happens after. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "base/clock.h"
#include "runtime/channel.h"
#include "test.h"

#define ITEM(n) ((void *)(uintptr_t)(n))
#define ID(p) ((uintptr_t)(p))

static uint64_t send_waits(const pk_chan *ch) {
  pk_chan_stats st;
  pk_chan_get_stats(ch, &st);
  return st.send_waits;
}

static uint64_t recv_waits(const pk_chan *ch) {
  pk_chan_stats st;
  pk_chan_get_stats(ch, &st);
  return st.recv_waits;
}

static void wait_until_send_waits(const pk_chan *ch, uint64_t n) {
  while (send_waits(ch) < n)
    sched_yield();
}

static void wait_until_recv_waits(const pk_chan *ch, uint64_t n) {
  while (recv_waits(ch) < n)
    sched_yield();
}

static void test_create_invalid(void) {
  pk_chan *ch = ITEM(1);
  ASSERT_ERR(pk_chan_create(0, &ch), PK_EINVAL);
  ASSERT_EQ(ID(ch), 1); /* untouched on failure */
  ASSERT_ERR(pk_chan_create(4, NULL), PK_EINVAL);
  ASSERT_ERR(pk_chan_create(SIZE_MAX, &ch), PK_EINVAL);
  pk_chan_free(NULL);
}

static void test_fifo_single_thread(void) {
  pk_chan *ch;
  ASSERT_OK(pk_chan_create(8, &ch));
  ASSERT_UEQ(pk_chan_capacity(ch), 8);
  /* Several laps so head wraps around the ring. */
  uintptr_t next_in = 0, next_out = 0;
  for (int lap = 0; lap < 5; lap++) {
    for (int i = 0; i < 5 + lap % 3; i++)
      ASSERT_OK(pk_chan_send(ch, ITEM(next_in++)));
    while (next_out < next_in) {
      void *p = NULL;
      ASSERT_OK(pk_chan_recv(ch, &p));
      ASSERT_UEQ(ID(p), next_out);
      next_out++;
    }
  }
  /* NULL is an ordinary item. */
  ASSERT_OK(pk_chan_send(ch, NULL));
  void *p = ITEM(7);
  ASSERT_OK(pk_chan_recv(ch, &p));
  ASSERT(p == NULL);
  pk_chan_free(ch);
}

static void test_try_ops_and_len(void) {
  pk_chan *ch;
  ASSERT_OK(pk_chan_create(3, &ch));
  void *p = ITEM(99);
  ASSERT_ERR(pk_chan_try_recv(ch, &p), PK_EAGAIN);
  ASSERT_EQ(ID(p), 99);
  ASSERT_UEQ(pk_chan_len(ch), 0);
  for (uintptr_t i = 1; i <= 3; i++) {
    ASSERT_OK(pk_chan_try_send(ch, ITEM(i)));
    ASSERT_UEQ(pk_chan_len(ch), i);
  }
  ASSERT_ERR(pk_chan_try_send(ch, ITEM(4)), PK_EAGAIN);
  ASSERT_UEQ(pk_chan_len(ch), 3);
  ASSERT_OK(pk_chan_try_recv(ch, &p));
  ASSERT_EQ(ID(p), 1);
  ASSERT_UEQ(pk_chan_len(ch), 2);
  ASSERT_OK(pk_chan_try_send(ch, ITEM(4)));
  for (uintptr_t want = 2; want <= 4; want++) {
    ASSERT_OK(pk_chan_try_recv(ch, &p));
    ASSERT_UEQ(ID(p), want);
  }
  ASSERT_UEQ(pk_chan_len(ch), 0);

  pk_chan_stats st;
  pk_chan_get_stats(ch, &st);
  ASSERT_UEQ(st.sends, 4);
  ASSERT_UEQ(st.recvs, 4);
  ASSERT_UEQ(st.send_waits, 0); /* try_* failing is not a wait */
  ASSERT_UEQ(st.recv_waits, 0);
  ASSERT_UEQ(st.max_len, 3);
  pk_chan_free(ch);
}

static void test_close_drain(void) {
  pk_chan *ch;
  ASSERT_OK(pk_chan_create(4, &ch));
  ASSERT_OK(pk_chan_send(ch, ITEM(1)));
  ASSERT_OK(pk_chan_send(ch, ITEM(2)));
  pk_chan_close(ch);
  pk_chan_close(ch); /* idempotent */
  ASSERT_ERR(pk_chan_send(ch, ITEM(3)), PK_ECLOSED);
  ASSERT_ERR(pk_chan_try_send(ch, ITEM(3)), PK_ECLOSED);
  ASSERT_ERR(pk_chan_send_timeout(ch, ITEM(3), 1000), PK_ECLOSED);
  ASSERT_ERR(pk_chan_send_timeout(ch, ITEM(3), 0), PK_ECLOSED);
  ASSERT_UEQ(pk_chan_len(ch), 2);
  void *p;
  ASSERT_OK(pk_chan_recv(ch, &p));
  ASSERT_EQ(ID(p), 1);
  ASSERT_OK(pk_chan_try_recv(ch, &p));
  ASSERT_EQ(ID(p), 2);
  p = ITEM(42);
  ASSERT_ERR(pk_chan_recv(ch, &p), PK_ECLOSED);
  ASSERT_ERR(pk_chan_try_recv(ch, &p), PK_ECLOSED);
  ASSERT_ERR(pk_chan_recv_timeout(ch, &p, 1000000), PK_ECLOSED);
  ASSERT_ERR(pk_chan_recv_timeout(ch, &p, 0), PK_ECLOSED);
  ASSERT_EQ(ID(p), 42);
  pk_chan_free(ch);
}

static void test_closed_full_send_fails(void) {
  /* Closed wins over full for senders. */
  pk_chan *ch;
  ASSERT_OK(pk_chan_create(1, &ch));
  ASSERT_OK(pk_chan_send(ch, ITEM(1)));
  pk_chan_close(ch);
  ASSERT_ERR(pk_chan_try_send(ch, ITEM(2)), PK_ECLOSED);
  ASSERT_ERR(pk_chan_send(ch, ITEM(2)), PK_ECLOSED);
  pk_chan_free(ch);
}

static void test_timeouts(void) {
  pk_chan *ch;
  ASSERT_OK(pk_chan_create(1, &ch));
  void *p = ITEM(5);
  const uint64_t t = 20 * 1000 * 1000; /* 20 ms */
  uint64_t t0 = pk_now_ns();
  ASSERT_ERR(pk_chan_recv_timeout(ch, &p, t), PK_ETIMEDOUT);
  /* A lower bound is the contract (never early); no upper bound on 2 busy
   * cores. */
  ASSERT_ULE(t, pk_now_ns() - t0);
  ASSERT_EQ(ID(p), 5);
  ASSERT_ERR(pk_chan_recv_timeout(ch, &p, 0), PK_ETIMEDOUT);
  ASSERT_UEQ(recv_waits(ch), 1); /* timeout 0 never sleeps */

  ASSERT_OK(pk_chan_send_timeout(ch, ITEM(1), t));
  t0 = pk_now_ns();
  ASSERT_ERR(pk_chan_send_timeout(ch, ITEM(2), t), PK_ETIMEDOUT);
  ASSERT_ULE(t, pk_now_ns() - t0);
  ASSERT_ERR(pk_chan_send_timeout(ch, ITEM(2), 0), PK_ETIMEDOUT);
  ASSERT_UEQ(pk_chan_len(ch), 1); /* the timed-out item was not taken */
  ASSERT_OK(pk_chan_recv_timeout(ch, &p, t));
  ASSERT_EQ(ID(p), 1);
  /* A huge timeout must not overflow into the past. */
  ASSERT_OK(pk_chan_send_timeout(ch, ITEM(3), UINT64_MAX));
  ASSERT_OK(pk_chan_recv_timeout(ch, &p, UINT64_MAX));
  ASSERT_EQ(ID(p), 3);
  pk_chan_free(ch);
}

/* ---- backpressure ---------------------------------------------------------
 */

enum { BP_CAP = 4, BP_ITEMS = 2000 };

typedef struct {
  pk_chan *ch;
  _Atomic uint64_t sent; /* sends that returned PK_OK */
  int rc;
} producer_arg;

static void *producer(void *arg) {
  producer_arg *a = arg;
  for (uintptr_t i = 0; i < BP_ITEMS; i++) {
    a->rc = pk_chan_send(a->ch, ITEM(i));
    if (a->rc != PK_OK)
      return NULL;
    atomic_fetch_add(&a->sent, 1);
  }
  return NULL;
}

static void test_backpressure(void) {
  producer_arg a = {.rc = -1};
  ASSERT_OK(pk_chan_create(BP_CAP, &a.ch));
  pthread_t t;
  ASSERT_EQ(pthread_create(&t, NULL, producer, &a), 0);

  /* Nobody receives yet: the producer must fill the channel and block on
   * item BP_CAP + 1, exactly BP_CAP ahead. */
  wait_until_send_waits(a.ch, 1);
  /* Taking the lock also orders us after the producer's earlier writes. */
  ASSERT_ERR(pk_chan_try_send(a.ch, ITEM(0)), PK_EAGAIN);
  ASSERT_UEQ(atomic_load(&a.sent), BP_CAP);
  ASSERT_UEQ(pk_chan_len(a.ch), BP_CAP);

  /* From now on, however the threads are scheduled, the producer can never
   * be more than BP_CAP items ahead of what was received. */
  for (uintptr_t got = 0; got < BP_ITEMS; got++) {
    ASSERT_ULE(atomic_load(&a.sent), got + BP_CAP);
    ASSERT_ULE(pk_chan_len(a.ch), BP_CAP);
    void *p;
    ASSERT_OK(pk_chan_recv(a.ch, &p));
    ASSERT_UEQ(ID(p), got);
  }
  ASSERT_EQ(pthread_join(t, NULL), 0);
  ASSERT_OK(a.rc);
  pk_chan_stats st;
  pk_chan_get_stats(a.ch, &st);
  ASSERT_UEQ(st.sends, BP_ITEMS);
  ASSERT_UEQ(st.recvs, BP_ITEMS);
  ASSERT_ULE(st.max_len, BP_CAP);
  ASSERT_ULE(1, st.send_waits);
  pk_chan_free(a.ch);
}

/* A sender blocked on a full channel is released by one receive. */
typedef struct {
  pk_chan *ch;
  void *item;
  uint64_t timeout_ns; /* 0: plain blocking call */
  int rc;
} op_arg;

static void *do_send(void *arg) {
  op_arg *a = arg;
  a->rc = a->timeout_ns ? pk_chan_send_timeout(a->ch, a->item, a->timeout_ns)
                        : pk_chan_send(a->ch, a->item);
  return NULL;
}

static void *do_recv(void *arg) {
  op_arg *a = arg;
  a->rc = a->timeout_ns ? pk_chan_recv_timeout(a->ch, &a->item, a->timeout_ns)
                        : pk_chan_recv(a->ch, &a->item);
  return NULL;
}

static void test_blocked_sender_released_by_recv(void) {
  pk_chan *ch;
  ASSERT_OK(pk_chan_create(1, &ch));
  ASSERT_OK(pk_chan_send(ch, ITEM(1)));
  op_arg a = {.ch = ch, .item = ITEM(2), .rc = -1};
  pthread_t t;
  ASSERT_EQ(pthread_create(&t, NULL, do_send, &a), 0);
  wait_until_send_waits(ch, 1);
  void *p;
  ASSERT_OK(pk_chan_recv(ch, &p));
  ASSERT_EQ(ID(p), 1);
  ASSERT_OK(pk_chan_recv(ch, &p)); /* blocks until the sender got in */
  ASSERT_EQ(ID(p), 2);
  ASSERT_EQ(pthread_join(t, NULL), 0);
  ASSERT_OK(a.rc);
  pk_chan_free(ch);
}

static void test_blocked_receiver_released_by_send(void) {
  pk_chan *ch;
  ASSERT_OK(pk_chan_create(2, &ch));
  /* Also with a (long) timeout: the timed path must wake on signal too. */
  for (int timed = 0; timed < 2; timed++) {
    op_arg a = {
        .ch = ch, .timeout_ns = timed ? 60ull * 1000000000u : 0, .rc = -1};
    pthread_t t;
    uint64_t before = recv_waits(ch);
    ASSERT_EQ(pthread_create(&t, NULL, do_recv, &a), 0);
    wait_until_recv_waits(ch, before + 1);
    ASSERT_OK(pk_chan_send(ch, ITEM(10 + timed)));
    ASSERT_EQ(pthread_join(t, NULL), 0);
    ASSERT_OK(a.rc);
    ASSERT_EQ(ID(a.item), 10 + timed);
  }
  pk_chan_free(ch);
}

enum { NBLOCK = 3 };

static void test_close_wakes_blocked_senders(void) {
  pk_chan *ch;
  ASSERT_OK(pk_chan_create(1, &ch));
  ASSERT_OK(pk_chan_send(ch, ITEM(100)));
  op_arg a[NBLOCK];
  pthread_t t[NBLOCK];
  for (int i = 0; i < NBLOCK; i++) {
    a[i] = (op_arg){.ch = ch,
                    .item = ITEM(i),
                    .rc = -1,
                    .timeout_ns = i == 0 ? 60ull * 1000000000u : 0};
    ASSERT_EQ(pthread_create(&t[i], NULL, do_send, &a[i]), 0);
  }
  wait_until_send_waits(ch, NBLOCK);
  pk_chan_close(ch);
  for (int i = 0; i < NBLOCK; i++) {
    ASSERT_EQ(pthread_join(t[i], NULL), 0);
    ASSERT_ERR(a[i].rc, PK_ECLOSED);
  }
  /* The item queued before close is still delivered, nothing else is. */
  void *p;
  ASSERT_OK(pk_chan_recv(ch, &p));
  ASSERT_EQ(ID(p), 100);
  ASSERT_ERR(pk_chan_recv(ch, &p), PK_ECLOSED);
  pk_chan_free(ch);
}

static void test_close_wakes_blocked_receivers(void) {
  pk_chan *ch;
  ASSERT_OK(pk_chan_create(4, &ch));
  op_arg a[NBLOCK];
  pthread_t t[NBLOCK];
  for (int i = 0; i < NBLOCK; i++) {
    a[i] = (op_arg){.ch = ch,
                    .item = ITEM(77),
                    .rc = -1,
                    .timeout_ns = i == 0 ? 60ull * 1000000000u : 0};
    ASSERT_EQ(pthread_create(&t[i], NULL, do_recv, &a[i]), 0);
  }
  wait_until_recv_waits(ch, NBLOCK);
  pk_chan_close(ch);
  for (int i = 0; i < NBLOCK; i++) {
    ASSERT_EQ(pthread_join(t[i], NULL), 0);
    ASSERT_ERR(a[i].rc, PK_ECLOSED);
    ASSERT_EQ(ID(a[i].item), 77);
  }
  pk_chan_free(ch);
}

int main(void) {
  RUN(test_create_invalid);
  RUN(test_fifo_single_thread);
  RUN(test_try_ops_and_len);
  RUN(test_close_drain);
  RUN(test_closed_full_send_fails);
  RUN(test_timeouts);
  RUN(test_backpressure);
  RUN(test_blocked_sender_released_by_recv);
  RUN(test_blocked_receiver_released_by_send);
  RUN(test_close_wakes_blocked_senders);
  RUN(test_close_wakes_blocked_receivers);
  return 0;
}
