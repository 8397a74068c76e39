/*
 * channel.h — a bounded multi-producer multi-consumer channel of pointers.
 *
 * What it is for
 *   Pipeline stages hand work (pointers to chunks, jobs, results) to each
 *   other through pk_chan. The bound is the point: a fast producer blocks in
 *   pk_chan_send() once `capacity` items are queued, so memory in flight stays
 *   bounded however slow the consumer is (backpressure), and a slow producer
 *   leaves consumers asleep rather than spinning.
 *
 * How it works
 *   A ring buffer of `capacity` slots guarded by one mutex, with two condition
 *   variables: `not_full` (senders wait on it) and `not_empty` (receivers).
 *   Each send that adds an item signals one waiting receiver, and each receive
 *   that frees a slot signals one waiting sender; one item or one slot can
 *   satisfy exactly one waiter, so signal (not broadcast) is enough and avoids
 *   a thundering herd. The channel counts its sleeping senders and receivers
 *   so that the common uncontended case makes no condvar call at all.
 *   A waiter re-checks its condition after every wake-up, including a timeout:
 *   a waiter that times out at the moment it is signalled takes the item or
 *   slot it was signalled for instead of dropping the wake-up on the floor.
 *   pk_chan_close() is the one broadcast: every sleeper must learn of it.
 *   Timed waits use CLOCK_MONOTONIC, so a wall-clock step (NTP, the user
 *   changing the date) neither fires nor stretches a timeout.
 *
 * Ownership of items
 *   Items are opaque `void *` values; NULL is a valid item. The channel never
 *   dereferences or frees an item. An item belongs to whoever holds it: the
 *   sender until pk_chan_send() returns PK_OK, then the channel, then the
 *   receiver that gets it. A send that fails (PK_ECLOSED, PK_EAGAIN,
 *   PK_ETIMEDOUT) leaves the item with the caller. Items still queued when
 *   the channel is freed are not freed: drain the channel first (after
 *   pk_chan_close(), pk_chan_try_recv() until PK_ECLOSED) if they own memory.
 *
 * Close
 *   pk_chan_close() is one-way and idempotent. After it, every send fails
 *   with PK_ECLOSED (blocked senders wake and fail too), while receivers
 *   still drain the items already queued and only then get PK_ECLOSED. This
 *   lets a producer say "no more input" and lets a consumer stop as soon as
 *   a downstream stage is gone; items are never lost by closing.
 *
 * Thread-safety
 *   Every function except pk_chan_create() and pk_chan_free() may be called
 *   concurrently from any number of threads on the same channel.
 *   Order: FIFO. Items from one sender are received in the order it sent
 *   them; items from different senders interleave in the order the senders
 *   took the lock. No fairness between waiting threads is promised.
 *
 * Errors follow base/error.h: PK_OK or a negative PK_E* code.
 */
#ifndef PIKA_RUNTIME_CHANNEL_H
#define PIKA_RUNTIME_CHANNEL_H

#include <stddef.h>
#include <stdint.h>

typedef struct pk_chan pk_chan;

/* ---- lifecycle ------------------------------------------------------------
 */

/* Creates an open, empty channel holding at most `capacity` items.
 * Returns PK_OK and sets *out (free with pk_chan_free()); PK_EINVAL when
 * capacity is 0 (no rendezvous channels) or out is NULL; PK_ENOMEM.
 * On failure *out is left untouched. */
int pk_chan_create(size_t capacity, pk_chan **out);

/* Destroys the channel. NULL is a no-op. The caller guarantees that no
 * thread is inside, or will again call, any pk_chan_* function on it
 * (close, then join the users, then free). Queued items are not freed. */
void pk_chan_free(pk_chan *ch);

/* Closes the channel: later and currently blocked sends fail with
 * PK_ECLOSED; receives drain what is queued, then fail with PK_ECLOSED.
 * Idempotent; accepts NULL; never blocks beyond the internal lock;
 * thread-safe. */
void pk_chan_close(pk_chan *ch);

/* ---- send -----------------------------------------------------------------
 */

/* Queues `item`, blocking while the channel is full (backpressure).
 * Returns PK_OK (the channel now owns the item), or PK_ECLOSED if the
 * channel is or becomes closed before the item was queued (the caller still
 * owns it). Thread-safe. */
int pk_chan_send(pk_chan *ch, void *item);

/* Queues `item` without blocking. Returns PK_OK, PK_EAGAIN when full, or
 * PK_ECLOSED (closed wins over full). On failure the caller keeps the item. */
int pk_chan_try_send(pk_chan *ch, void *item);

/* Like pk_chan_send() but gives up after `timeout_ns` nanoseconds of waiting
 * for space and returns PK_ETIMEDOUT (caller keeps the item). A timeout of 0
 * makes one attempt and returns PK_ETIMEDOUT if full. Useful for senders
 * that must poll a cancellation flag while blocked. */
int pk_chan_send_timeout(pk_chan *ch, void *item, uint64_t timeout_ns);

/* ---- receive --------------------------------------------------------------
 */

/* Takes the oldest item into *out, blocking while the channel is empty and
 * open. Returns PK_OK (the caller now owns *out), or PK_ECLOSED once the
 * channel is closed and empty (*out untouched). Thread-safe. */
int pk_chan_recv(pk_chan *ch, void **out);

/* Takes an item without blocking. Returns PK_OK, PK_EAGAIN when empty and
 * open, or PK_ECLOSED when empty and closed. */
int pk_chan_try_recv(pk_chan *ch, void **out);

/* Like pk_chan_recv() but gives up after `timeout_ns` nanoseconds of waiting
 * and returns PK_ETIMEDOUT (*out untouched). A timeout of 0 makes one
 * attempt. Closed-and-empty still returns PK_ECLOSED, not PK_ETIMEDOUT. */
int pk_chan_recv_timeout(pk_chan *ch, void **out, uint64_t timeout_ns);

/* ---- gauges and statistics ------------------------------------------------
 */

/* Items queued right now: a snapshot read from an atomic without taking the
 * lock, so a monitor thread may poll it at any rate without slowing the
 * channel. It may be stale by the time the caller looks at it. */
size_t pk_chan_len(const pk_chan *ch);

/* The capacity given to pk_chan_create(). */
size_t pk_chan_capacity(const pk_chan *ch);

/* Cumulative counters since creation, for --stats and tuning.
 * send_waits / recv_waits count operations that found the channel full /
 * empty and had to sleep at least once (a try_* call that returns PK_EAGAIN
 * is not counted). Many send_waits: the consumer side is the bottleneck;
 * many recv_waits: the producer side is. max_len is the high-water mark. */
typedef struct pk_chan_stats {
  uint64_t sends;      /* items queued (successful sends of any kind) */
  uint64_t recvs;      /* items taken (successful receives of any kind) */
  uint64_t send_waits; /* sends that blocked because the channel was full */
  uint64_t recv_waits; /* receives that blocked because it was empty */
  size_t max_len;      /* most items ever queued at once */
} pk_chan_stats;

/* Fills *out with the counters. Lock-free: each counter is read with a
 * relaxed atomic load, so the set is not one consistent snapshot (sends may
 * be read a moment later than recvs); each value is exact for its moment. */
void pk_chan_get_stats(const pk_chan *ch, pk_chan_stats *out);

#endif /* PIKA_RUNTIME_CHANNEL_H */
