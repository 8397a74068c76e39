/*
 * pool.h — worker pools: a bounded priority queue served by a fixed set of
 * threads, with cooperative cancellation (pk_pool, pk_task).
 *
 * One design serves three needs. The compute pool (nthreads = cores), the I/O
 * pool (more threads than cores, because its tasks sleep in system calls) and
 * the priority executor that keeps the UI responsive are all a pk_pool; they
 * differ only in their pk_pool_config. Nothing else in Pika starts threads for
 * work, so every thread is named, bounded and joined in one place.
 *
 * How it works. A pool is one mutex, one array of FIFO queues indexed by
 * pk_priority (intrusive doubly linked lists, so a cancelled task leaves its
 * queue in O(1)), and nthreads workers. A worker sleeps until a task is
 * queued, takes the first task of the most urgent non-empty queue, runs it
 * without holding the lock, records the outcome and repeats.
 *
 * Priorities and starvation. Selection is strict: a queued
 * PK_PRIO_INTERACTIVE task always starts before any queued PK_PRIO_BACKGROUND
 * task, whatever their submission order; within one priority the order is
 * FIFO. A task that is already running is never pre-empted, so an interactive
 * task waits at most for the first worker to finish its current task. The
 * price is that background work can starve while interactive work keeps
 * arriving. That is the choice the UI wants (a click must not wait behind a
 * long scan), and it is safe because interactive work is short and bursty by
 * contract: background tasks progress whenever no interactive task is queued.
 * There is no ageing; a caller that needs a guaranteed share for background
 * work gives it a pool of its own.
 *
 * Backpressure. At most max_queued tasks wait in a pool (all priorities
 * together; running tasks do not count). pk_pool_submit() blocks while the
 * queue is full, pk_pool_try_submit() returns PK_EAGAIN instead, so a fast
 * producer is slowed to the pace of the workers rather than growing memory.
 * Blocked submitters resume together once a quarter of the queue is free
 * (one wake-up per batch, not per task).
 *
 * Hand-off cost. A futex sleep and wake-up costs microseconds, more than a
 * short task, so an idle worker polls the queue for up to ~20 us before it
 * sleeps (one poller per pool at a time), and pk_task_wait() polls as long
 * before it blocks. Finished task records are recycled per pool. With these,
 * an empty task costs under a microsecond on two cores, submit to finish
 * (bench/bench_pool.c); an idle pool uses no CPU once the poll has ended.
 * The one lock per pool is what limits scaling: with 16 workers and empty
 * tasks it is ~1.6 us a task. Pika's tasks run for tens of microseconds and
 * more, where that does not show; per-worker queues with stealing would be
 * the next step if it ever did.
 *
 * Cancellation is cooperative. pk_task_cancel() sets the task's flag. A task
 * that has not started is removed from its queue at once and its fn is never
 * called. A running task is never interrupted: its fn polls
 * pk_task_cancelled(self) at convenient points and returns early.
 *
 * Completion and ownership. Every task that a submit accepted (returned PK_OK)
 * finishes exactly once, either DONE or CANCELED, and its optional on_done
 * callback runs exactly once with PK_OK or PK_ECANCELED; that is the one place
 * to free a heap `arg` whether or not fn ran (libuv's after_work_cb does the
 * same). A submit that fails calls nothing. A task is reference counted: the
 * pool holds one reference until the task has finished, and the submitter
 * holds one if it asked for a handle (out_task), dropped with
 * pk_task_release(). Without a handle the task is fire-and-forget.
 *
 * Shutdown. pk_pool_shutdown() closes the pool to new work (submit returns
 * PK_ECLOSED, blocked submitters wake with PK_ECLOSED), then either drains
 * (DRAIN: every queued task still runs) or cancels (CANCEL: queued tasks are
 * dropped as CANCELED, running ones get their flag set), and joins the
 * workers. pk_pool_free() drains if nobody shut the pool down. No task is ever
 * lost or leaked: after shutdown, submitted == completed + cancelled.
 *
 * Threads. Workers are named "<name>-<i>" (pthread_setname_np, 15 bytes at
 * most) and block all signals, so signals go to the application's threads.
 *
 * Deadlock rules, checked where cheap: from inside a task of pool P, calling
 * pk_pool_shutdown(P) or pk_pool_wait_idle(P) returns PK_EINVAL (a worker
 * cannot wait for itself), and a pk_pool_submit() to P that would block
 * returns PK_EAGAIN instead (every worker blocked on its own full queue would
 * never wake). Waiting with pk_task_wait() from a task for another task of the
 * same pool is allowed but may deadlock if every worker does so; avoid it.
 */
#ifndef PIKA_RUNTIME_POOL_H
#define PIKA_RUNTIME_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct pk_pool pk_pool;
typedef struct pk_task pk_task;

/* Lower value = more urgent. Add levels before PK_PRIO_COUNT; selection is
 * strict by value, FIFO within a level. */
typedef enum pk_priority {
  PK_PRIO_INTERACTIVE = 0, /* the user is waiting: start before anything */
  PK_PRIO_BACKGROUND = 1,  /* bulk work: runs when nothing urgent is queued */
  PK_PRIO_COUNT
} pk_priority;

/* Used as `enum pk_task_state`, with no typedef, because that name is the
 * function pk_task_state()'s (likewise struct pk_pool_stats). */
enum pk_task_state {
  PK_TASK_QUEUED,  /* waiting in the pool's queue */
  PK_TASK_RUNNING, /* fn is executing (or its on_done is) */
  PK_TASK_DONE,    /* fn returned and no cancel was requested before that */
  PK_TASK_CANCELED /* dropped before it started, or cancel was requested
                      before fn returned */
};

typedef enum pk_pool_shutdown_mode {
  PK_POOL_DRAIN, /* run every queued task, then stop */
  PK_POOL_CANCEL /* drop queued tasks, flag running ones, then stop */
} pk_pool_shutdown_mode;

/* The work. `self` is the task's own handle, valid for the duration of the
 * call (use it for pk_task_cancelled()). Runs on a worker thread. */
typedef void (*pk_task_fn)(pk_task *self, void *arg);

/* Called exactly once for every accepted task, after fn returned (status
 * PK_OK or PK_ECANCELED, see enum pk_task_state) or instead of fn when the task
 * was dropped (status PK_ECANCELED). It runs on the worker that ran fn; for a
 * dropped task, on the thread that called pk_task_cancel() or
 * pk_pool_shutdown(). It must not block for long and must not call
 * pk_pool_shutdown(), pk_pool_free() or pk_pool_wait_idle() on this pool
 * (they would wait for this very task). */
typedef void (*pk_task_done_fn)(void *arg, int status);

/* ---- pools ---------------------------------------------------------------*/

/* Used when pk_pool_config.max_queued is 0. */
#define PK_POOL_DEFAULT_MAX_QUEUED 4096
/* Refused with PK_ELIMIT above this many threads. */
#define PK_POOL_MAX_THREADS 1024

typedef struct pk_pool_config {
  /* Thread name prefix, e.g. "pk-cpu" gives "pk-cpu-0", "pk-cpu-1"...; the
   * prefix is shortened to fit Linux's 15-byte limit. NULL means "pk-pool".
   * Copied; the caller keeps ownership. */
  const char *name;
  /* Worker threads; 0 means pk_sys_ncpu() (right for compute; an I/O pool
   * sets its own, larger count). */
  int nthreads;
  /* Most tasks waiting at once, all priorities together; 0 means
   * PK_POOL_DEFAULT_MAX_QUEUED. */
  size_t max_queued;
} pk_pool_config;

/* Creates a pool and starts its workers. Returns PK_OK and sets *out, or
 * PK_EINVAL (cfg or out NULL, nthreads < 0), PK_ELIMIT (nthreads >
 * PK_POOL_MAX_THREADS, or the system refused another thread), PK_ENOMEM, or
 * the code for another pthread_create failure (no threads are left behind;
 * *out is untouched). cfg is only read during the call. The caller owns the
 * pool: free it with pk_pool_free(). Any thread. */
int pk_pool_create(const pk_pool_config *cfg, pk_pool **out);

/* Queues fn(task, arg) at priority prio. Blocks while the queue is full.
 * Returns PK_OK; PK_EINVAL (NULL pool or fn, bad prio); PK_ECLOSED once
 * shutdown began (also when it begins while this call is blocked); PK_EAGAIN
 * if called from a task of this pool while the queue is full (see deadlock
 * rules); PK_ENOMEM.
 * `arg` is not copied: it must stay valid until the task finished, i.e. until
 * on_done runs (or, without on_done, until pk_task_wait() returns or
 * pk_pool_wait_idle()/shutdown returns). If out_task is non-NULL, *out_task
 * receives a handle the caller must pk_task_release(); it is set only on
 * PK_OK. Thread-safe. */
int pk_pool_submit(pk_pool *pool, pk_priority prio, pk_task_fn fn, void *arg,
                   pk_task **out_task);

/* As pk_pool_submit() but never blocks: PK_EAGAIN when the queue is full. */
int pk_pool_try_submit(pk_pool *pool, pk_priority prio, pk_task_fn fn,
                       void *arg, pk_task **out_task);

/* The full form, with a completion callback that owns `arg`. */
typedef struct pk_task_spec {
  pk_priority prio;
  pk_task_fn fn;           /* required */
  void *arg;               /* passed to fn and on_done; see pk_pool_submit */
  pk_task_done_fn on_done; /* optional; see pk_task_done_fn */
  bool nowait;             /* true: PK_EAGAIN instead of blocking when full */
} pk_task_spec;

/* Same returns and rules as pk_pool_submit(); spec is only read during the
 * call. on_done is called exactly once if and only if this returns PK_OK. */
int pk_pool_submit_ex(pk_pool *pool, const pk_task_spec *spec,
                      pk_task **out_task);

/* Closes the pool and stops its workers; see the design comment for DRAIN
 * and CANCEL. Blocks until every worker has exited: for DRAIN that is until
 * the whole queue has run. On return, every task ever accepted has finished
 * and its on_done has returned. Calling it again (any mode, any thread) is
 * allowed: a CANCEL during a DRAIN in progress cancels what is left; each call
 * returns once the workers are joined. Thread-safe, also concurrently with
 * submits. Returns PK_OK, or PK_EINVAL for a bad mode or when called from a
 * task of this pool (nothing is done then). */
int pk_pool_shutdown(pk_pool *pool, pk_pool_shutdown_mode mode);

/* Shuts the pool down (DRAIN) unless already done, then frees it. NULL is a
 * no-op. Must not run concurrently with any other call on this pool or on its
 * tasks' pk_task_cancel(); task handles stay valid after it (see pk_task_*).
 * Must not be called from a task of this pool. */
void pk_pool_free(pk_pool *pool);

/* Blocks until no task is queued or running (and every on_done returned).
 * Returns at once after shutdown. With submitters still active it may never
 * return; it is meant for tests and for the pipeline's barriers. Returns
 * PK_OK, or PK_EINVAL when called from a task of this pool. Thread-safe. */
int pk_pool_wait_idle(pk_pool *pool);

/* A snapshot of a pool's counters; every field is consistent with the others
 * (taken under the pool's lock). Once the pool is idle or shut down,
 * submitted == completed + cancelled. Queue-wait time is not kept (it would
 * cost a clock read per task for everyone): a caller that wants it stamps
 * pk_now_ns() when it submits and again at the top of fn. */
struct pk_pool_stats {
  uint64_t submitted; /* accepted by a submit */
  uint64_t completed; /* finished DONE */
  uint64_t cancelled; /* finished CANCELED (dropped or stopped early) */
  uint64_t dropped;   /* of cancelled: never started, fn not called */
  uint32_t queued[PK_PRIO_COUNT]; /* waiting now, per priority */
  uint32_t running;               /* being run now */
  uint32_t nthreads;              /* workers the pool was created with */
};

/* Fills *out (caller-owned; pool must not be NULL). Thread-safe; never
 * blocks for long. */
void pk_pool_stats(pk_pool *pool, struct pk_pool_stats *out);

/* ---- tasks ---------------------------------------------------------------*/
/* A handle stays valid until pk_task_release(), even after pk_pool_free(). */

/* Requests cancellation: a queued task is removed and finishes CANCELED (its
 * on_done runs on this thread before this returns); a running task's flag is
 * set; a finished task is unchanged. Never blocks for long. Thread-safe, also
 * with shutdown, but not concurrently with pk_pool_free() of the task's pool
 * (after pk_pool_free() returned it is a harmless no-op). */
void pk_task_cancel(pk_task *task);

/* For a task's own fn: whether cancellation was requested. Cheap (one relaxed
 * atomic load); poll it between units of work. Thread-safe. */
bool pk_task_cancelled(const pk_task *self);

/* Blocks (after a short poll) until the task finished and its on_done
 * returned. Returns PK_OK if it finished DONE, PK_ECANCELED if CANCELED. Any
 * thread, any number of waiters; not from the task's own fn or on_done. */
int pk_task_wait(pk_task *task);

/* The task's state now (a snapshot; CANCELED may show while on_done is still
 * running). Thread-safe. */
enum pk_task_state pk_task_state(const pk_task *task);

/* Drops the caller's reference; the handle must not be used afterwards. It
 * need not have finished: the pool keeps its own reference until then. NULL
 * is a no-op. */
void pk_task_release(pk_task *task);

#endif /* PIKA_RUNTIME_POOL_H */
