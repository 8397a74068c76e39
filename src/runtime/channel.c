/* channel.c — bounded MPMC channel; the design is described in channel.h. */
#include "runtime/channel.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "base/clock.h"
#include "base/error.h"

struct pk_chan {
  pthread_mutex_t mu;
  pthread_cond_t not_full;  /* senders sleep here */
  pthread_cond_t not_empty; /* receivers sleep here */

  /* Guarded by mu. */
  void **ring;
  size_t cap;
  size_t head;  /* index of the oldest item */
  size_t count; /* items queued */
  size_t sleeping_senders;
  size_t sleeping_receivers;
  bool closed;

  /* Written only with mu held, so a relaxed load-then-store cannot lose an
   * update (no two writers at once) and costs a plain store instead of a
   * locked read-modify-write; atomic only so that readers may skip the lock. */
  _Atomic size_t len;
  _Atomic size_t max_len;
  _Atomic uint64_t sends, recvs, send_waits, recv_waits;
};

/* How long an operation may wait. */
enum pk__wait { PK__NOWAIT, PK__FOREVER, PK__TIMED };

/* Adds 1 to a counter that only mu holders write (see struct pk_chan). */
static void bump(_Atomic uint64_t *c) {
  atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
                        memory_order_relaxed);
}

/* One wait on cv. Returns true if the deadline passed. Spurious wake-ups
 * are fine: every caller loops on its condition. */
static bool wait_on(pthread_cond_t *cv, pthread_mutex_t *mu, enum pk__wait how,
                    const struct timespec *deadline) {
  if (how == PK__TIMED)
    return pthread_cond_timedwait(cv, mu, deadline) == ETIMEDOUT;
  pthread_cond_wait(cv, mu);
  return false;
}

int pk_chan_create(size_t capacity, pk_chan **out) {
  if (capacity == 0 || out == NULL || capacity > SIZE_MAX / sizeof(void *))
    return PK_EINVAL;
  pk_chan *ch = calloc(1, sizeof *ch);
  if (ch == NULL)
    return PK_ENOMEM;
  ch->ring = malloc(capacity * sizeof *ch->ring);
  if (ch->ring == NULL) {
    free(ch);
    return PK_ENOMEM;
  }
  ch->cap = capacity;
  if (pthread_mutex_init(&ch->mu, NULL) != 0)
    goto fail_mu;
  if (pk_cond_init_monotonic(&ch->not_full) != PK_OK)
    goto fail_full;
  if (pk_cond_init_monotonic(&ch->not_empty) != PK_OK)
    goto fail_empty;
  *out = ch;
  return PK_OK;

fail_empty:
  pthread_cond_destroy(&ch->not_full);
fail_full:
  pthread_mutex_destroy(&ch->mu);
fail_mu:
  free(ch->ring);
  free(ch);
  return PK_ENOMEM;
}

void pk_chan_free(pk_chan *ch) {
  if (ch == NULL)
    return;
  pthread_cond_destroy(&ch->not_empty);
  pthread_cond_destroy(&ch->not_full);
  pthread_mutex_destroy(&ch->mu);
  free(ch->ring);
  free(ch);
}

void pk_chan_close(pk_chan *ch) {
  if (ch == NULL)
    return;
  pthread_mutex_lock(&ch->mu);
  bool was_closed = ch->closed;
  ch->closed = true;
  pthread_mutex_unlock(&ch->mu);
  if (!was_closed) {
    /* Every sleeper must re-check: senders to fail, receivers to drain or
     * fail. Broadcasting after unlock is safe: `closed` is already visible
     * to anyone who takes the lock, and the caller keeps ch alive. */
    pthread_cond_broadcast(&ch->not_full);
    pthread_cond_broadcast(&ch->not_empty);
  }
}

static int chan_send(pk_chan *ch, void *item, enum pk__wait how,
                     uint64_t timeout_ns) {
  pthread_mutex_lock(&ch->mu);
  if (!ch->closed && ch->count == ch->cap) {
    if (how == PK__NOWAIT) {
      pthread_mutex_unlock(&ch->mu);
      return PK_EAGAIN;
    }
    struct timespec deadline = {0};
    if (how == PK__TIMED)
      deadline = pk_mono_timespec(pk_deadline_ns(timeout_ns));
    bump(&ch->send_waits);
    ch->sleeping_senders++;
    bool expired = false;
    /* On expiry the condition is re-checked once more before giving up: if a
     * receiver signalled us just as the clock ran out, we use the slot it
     * freed instead of losing that wake-up (the signal went to us only). */
    while (!ch->closed && ch->count == ch->cap && !expired)
      expired = wait_on(&ch->not_full, &ch->mu, how, &deadline);
    ch->sleeping_senders--;
    if (!ch->closed && ch->count == ch->cap) {
      pthread_mutex_unlock(&ch->mu);
      return PK_ETIMEDOUT;
    }
  }
  if (ch->closed) {
    pthread_mutex_unlock(&ch->mu);
    return PK_ECLOSED;
  }

  size_t tail = ch->head + ch->count;
  if (tail >= ch->cap)
    tail -= ch->cap;
  ch->ring[tail] = item;
  ch->count++;
  atomic_store_explicit(&ch->len, ch->count, memory_order_relaxed);
  if (ch->count > atomic_load_explicit(&ch->max_len, memory_order_relaxed))
    atomic_store_explicit(&ch->max_len, ch->count, memory_order_relaxed);
  bump(&ch->sends);
  bool wake = ch->sleeping_receivers > 0;
  pthread_mutex_unlock(&ch->mu);
  /* Signalling after unlock lets the woken receiver take the lock at once
   * instead of waking only to block on it. No wake-up is lost: the sleeper
   * we counted is in the condvar's wait set until it re-takes the lock. */
  if (wake)
    pthread_cond_signal(&ch->not_empty);
  return PK_OK;
}

static int chan_recv(pk_chan *ch, void **out, enum pk__wait how,
                     uint64_t timeout_ns) {
  pthread_mutex_lock(&ch->mu);
  if (ch->count == 0 && !ch->closed) {
    if (how == PK__NOWAIT) {
      pthread_mutex_unlock(&ch->mu);
      return PK_EAGAIN;
    }
    struct timespec deadline = {0};
    if (how == PK__TIMED)
      deadline = pk_mono_timespec(pk_deadline_ns(timeout_ns));
    bump(&ch->recv_waits);
    ch->sleeping_receivers++;
    bool expired = false;
    /* See chan_send() on why expiry re-checks before failing. */
    while (ch->count == 0 && !ch->closed && !expired)
      expired = wait_on(&ch->not_empty, &ch->mu, how, &deadline);
    ch->sleeping_receivers--;
    if (ch->count == 0 && !ch->closed) {
      pthread_mutex_unlock(&ch->mu);
      return PK_ETIMEDOUT;
    }
  }
  if (ch->count == 0) { /* and closed: fully drained */
    pthread_mutex_unlock(&ch->mu);
    return PK_ECLOSED;
  }

  *out = ch->ring[ch->head];
  ch->head = ch->head + 1 == ch->cap ? 0 : ch->head + 1;
  ch->count--;
  atomic_store_explicit(&ch->len, ch->count, memory_order_relaxed);
  bump(&ch->recvs);
  /* After close no sender may be woken usefully (they were all broadcast). */
  bool wake = ch->sleeping_senders > 0 && !ch->closed;
  pthread_mutex_unlock(&ch->mu);
  if (wake)
    pthread_cond_signal(&ch->not_full);
  return PK_OK;
}

int pk_chan_send(pk_chan *ch, void *item) {
  return chan_send(ch, item, PK__FOREVER, 0);
}

int pk_chan_try_send(pk_chan *ch, void *item) {
  return chan_send(ch, item, PK__NOWAIT, 0);
}

int pk_chan_send_timeout(pk_chan *ch, void *item, uint64_t timeout_ns) {
  if (timeout_ns > 0)
    return chan_send(ch, item, PK__TIMED, timeout_ns);
  int rc = chan_send(ch, item, PK__NOWAIT, 0);
  return rc == PK_EAGAIN ? PK_ETIMEDOUT : rc;
}

int pk_chan_recv(pk_chan *ch, void **out) {
  return chan_recv(ch, out, PK__FOREVER, 0);
}

int pk_chan_try_recv(pk_chan *ch, void **out) {
  return chan_recv(ch, out, PK__NOWAIT, 0);
}

int pk_chan_recv_timeout(pk_chan *ch, void **out, uint64_t timeout_ns) {
  if (timeout_ns > 0)
    return chan_recv(ch, out, PK__TIMED, timeout_ns);
  int rc = chan_recv(ch, out, PK__NOWAIT, 0);
  return rc == PK_EAGAIN ? PK_ETIMEDOUT : rc;
}

size_t pk_chan_len(const pk_chan *ch) {
  return atomic_load_explicit(&ch->len, memory_order_relaxed);
}

size_t pk_chan_capacity(const pk_chan *ch) {
  return ch->cap; /* immutable after create */
}

void pk_chan_get_stats(const pk_chan *ch, pk_chan_stats *out) {
  out->sends = atomic_load_explicit(&ch->sends, memory_order_relaxed);
  out->recvs = atomic_load_explicit(&ch->recvs, memory_order_relaxed);
  out->send_waits = atomic_load_explicit(&ch->send_waits, memory_order_relaxed);
  out->recv_waits = atomic_load_explicit(&ch->recv_waits, memory_order_relaxed);
  out->max_len = atomic_load_explicit(&ch->max_len, memory_order_relaxed);
}
