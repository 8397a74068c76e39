/* pool.c — worker pools with a priority queue; see pool.h for the design.
 *
 * Locking. pool->mu guards the queues, every counter and each worker's
 * `current`. A task's queue links and its QUEUED -> RUNNING / QUEUED ->
 * CANCELED transitions are made under pool->mu, which is what makes "removed
 * from the queue" and "taken by a worker" mutually exclusive. task->mu only
 * serves pk_task_wait(); the lock order is pool->mu before task->mu, and no
 * one takes pool->mu while holding a task->mu.
 *
 * Finishing. A task is finished once its on_done returned, the pool's books
 * count it and `finished` is set; only then may pk_task_wait() return. The
 * pool's reference is dropped last, so the task outlives every pool-side use.
 */
#include "runtime/pool.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/error.h"
#include "base/sys.h"

/* How long an idle worker, or pk_task_wait(), polls before it sleeps. A
 * futex sleep and wake-up costs microseconds (tens inside a VM), more than
 * a short task takes, so a brief poll turns most hand-offs of short tasks
 * into plain memory traffic. Bounded, and only one worker per pool polls at a
 * time, so an idle pool costs nothing once this has passed. */
#define PK__SPIN_NS 20000u

/* Most finished tasks a pool keeps for reuse. */
#define PK__CACHE_MAX 1024u

static inline void pk__cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

/* Polls ready(p) until it holds or PK__SPIN_NS passed; returns the last
 * answer. */
static bool pk__spin(bool (*ready)(const void *), const void *p) {
  uint64_t deadline = 0;
  for (unsigned i = 0;; i++) {
    if (ready(p))
      return true;
    pk__cpu_relax();
    if (i % 16 == 0) { /* reading the clock costs more than a poll */
      uint64_t now = pk_now_ns();
      if (!deadline)
        deadline = now + PK__SPIN_NS;
      else if (now > deadline)
        return false;
    }
  }
}

struct pk_task {
  pk_task *prev, *next; /* queue links, under pool->mu */
  pk_pool *pool;
  pk_task_fn fn;
  pk_task_done_fn on_done;
  void *arg;
  int prio;
  _Atomic int state; /* enum pk_task_state */
  atomic_bool cancel;
  atomic_bool finished;
  atomic_int refs;
  atomic_int waiters; /* lets a finishing task skip task->mu when unwatched */
  pthread_mutex_t mu;
  pthread_cond_t cv;
};

typedef struct pk__queue {
  pk_task *head, *tail;
} pk__queue;

typedef struct pk__worker {
  pk_pool *pool;
  pk_task *current; /* under pool->mu; so that CANCEL can flag it */
  pthread_t thread;
  int index;
} pk__worker;

struct pk_pool {
  pthread_mutex_t mu;
  pthread_cond_t work_cv;   /* workers: a task was queued, or closed */
  pthread_cond_t space_cv;  /* blocked submitters: a slot freed, or closed */
  pthread_cond_t idle_cv;   /* active dropped to 0 */
  pthread_cond_t joined_cv; /* the shutdown that joins has finished */
  pk__queue queues[PK_PRIO_COUNT];
  /* Written under mu; read without it only by a spinning worker. */
  atomic_size_t queued;
  size_t max_queued;
  size_t resume_below; /* blocked submitters wake at this queue length */
  uint64_t active;     /* accepted and not yet finished */
  uint32_t running;
  uint32_t queued_prio[PK_PRIO_COUNT];
  uint64_t submitted, completed, cancelled, dropped;
  /* Sleepers, counted so that the hot paths signal only when someone waits. */
  int idle_workers, space_waiters, idle_waiters;
  bool spinning; /* a worker polls `queued` instead of sleeping */
  bool closed, joining, joined;
  pk_task *cache; /* see pk__cache_get */
  size_t ncache;
  int nthreads;
  pk__worker *workers;
  char name[16];
};

/* The pool whose worker this thread is, to refuse calls that would make a
 * worker wait for itself. */
static _Thread_local pk_pool *pk__tls_pool;

/* ---- queues (all under pool->mu) ----------------------------------------*/

static size_t pk__queued(const pk_pool *pool) {
  return atomic_load_explicit(&pool->queued, memory_order_relaxed);
}

static void pk__queued_add(pk_pool *pool, size_t delta) {
  /* Only writers hold mu, so load + store cannot lose an update. */
  atomic_store_explicit(&pool->queued, pk__queued(pool) + delta,
                        memory_order_relaxed);
}

static bool pk__has_queued(const void *pool) {
  return pk__queued(pool) != 0;
}

static void pk__push(pk_pool *pool, pk_task *t) {
  pk__queue *q = &pool->queues[t->prio];
  t->next = NULL;
  t->prev = q->tail;
  if (q->tail)
    q->tail->next = t;
  else
    q->head = t;
  q->tail = t;
  pk__queued_add(pool, 1);
  pool->queued_prio[t->prio]++;
}

static void pk__unlink(pk_pool *pool, pk_task *t) {
  pk__queue *q = &pool->queues[t->prio];
  if (t->prev)
    t->prev->next = t->next;
  else
    q->head = t->next;
  if (t->next)
    t->next->prev = t->prev;
  else
    q->tail = t->prev;
  t->prev = t->next = NULL;
  pk__queued_add(pool, (size_t)-1);
  pool->queued_prio[t->prio]--;
  /* Blocked submitters resume together once a quarter of the queue (at
   * least one slot) is free, rather than one wake-up per freed slot. */
  if (pool->space_waiters > 0 && pk__queued(pool) <= pool->resume_below)
    pthread_cond_broadcast(&pool->space_cv);
}

static pk_task *pk__pop(pk_pool *pool) {
  for (int p = 0; p < PK_PRIO_COUNT; p++) {
    pk_task *t = pool->queues[p].head;
    if (t) {
      pk__unlink(pool, t);
      return t;
    }
  }
  return NULL;
}

/* ---- finishing ------------------------------------------------------------*/

static void pk__task_free(pk_task *t) {
  pthread_cond_destroy(&t->cv);
  pthread_mutex_destroy(&t->mu);
  free(t);
}

/* Finished tasks whose last reference the pool dropped wait here for reuse,
 * sparing a malloc/free pair per task (and the cross-thread free). Under mu. */
static pk_task *pk__cache_get(pk_pool *pool) {
  pk_task *t = pool->cache;
  if (t) {
    pool->cache = t->next;
    pool->ncache--;
    t->next = NULL;
  }
  return t;
}

static void pk__cache_put(pk_pool *pool, pk_task *t) {
  if (pool->ncache >= PK__CACHE_MAX) {
    pk__task_free(t);
    return;
  }
  t->prev = NULL;
  t->next = pool->cache;
  pool->cache = t;
  pool->ncache++;
}

void pk_task_release(pk_task *task) {
  if (task &&
      atomic_fetch_sub_explicit(&task->refs, 1, memory_order_acq_rel) == 1)
    pk__task_free(task);
}

/* Under pool->mu, after on_done returned: counts the outcome, wakes waiters
 * and drops the pool's reference. */
static void pk__finish_locked(pk_pool *pool, pk_task *t, int status, bool ran) {
  if (status == PK_OK) {
    pool->completed++;
  } else {
    pool->cancelled++;
    if (!ran)
      pool->dropped++;
  }
  if (--pool->active == 0 && pool->idle_waiters > 0)
    pthread_cond_broadcast(&pool->idle_cv);

  /* seq_cst pairs with pk_task_wait(): either it sees `finished`, or we see
   * its `waiters` increment and wake it under task->mu. */
  atomic_store(&t->finished, true);
  if (atomic_load(&t->waiters) > 0) {
    pthread_mutex_lock(&t->mu);
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
  }
  /* The last reference: recycle. A handle's last release frees instead. */
  if (atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) == 1)
    pk__cache_put(pool, t);
}

/* Finishes tasks already unlinked and marked CANCELED (a list chained by
 * `next`), outside the lock first so that on_done may take its own locks. */
static void pk__finish_dropped(pk_pool *pool, pk_task *list) {
  for (pk_task *t = list; t; t = t->next)
    if (t->on_done)
      t->on_done(t->arg, PK_ECANCELED);
  pthread_mutex_lock(&pool->mu);
  while (list) {
    pk_task *next = list->next;
    pk__finish_locked(pool, list, PK_ECANCELED, false);
    list = next;
  }
  pthread_mutex_unlock(&pool->mu);
}

/* ---- workers --------------------------------------------------------------*/

static void *pk__worker_main(void *p) {
  pk__worker *w = p;
  pk_pool *pool = w->pool;
  pk__tls_pool = pool;

  char name[16];
  int room = 15 - snprintf(NULL, 0, "-%d", w->index);
  snprintf(name, sizeof name, "%.*s-%d", room, pool->name, w->index);
  pthread_setname_np(pthread_self(), name); /* cosmetic; failure is harmless */

  bool may_spin = true; /* once per idle spell, then sleep */
  pthread_mutex_lock(&pool->mu);
  for (;;) {
    pk_task *t = pk__pop(pool);
    if (!t) {
      if (pool->closed)
        break;
      if (may_spin && !pool->spinning) {
        pool->spinning = true;
        pthread_mutex_unlock(&pool->mu);
        pk__spin(pk__has_queued, pool);
        pthread_mutex_lock(&pool->mu);
        pool->spinning = false;
        may_spin = false;
        continue;
      }
      pool->idle_workers++;
      pthread_cond_wait(&pool->work_cv, &pool->mu);
      pool->idle_workers--;
      continue;
    }
    may_spin = true;
    atomic_store_explicit(&t->state, PK_TASK_RUNNING, memory_order_relaxed);
    pool->running++;
    w->current = t;
    pthread_mutex_unlock(&pool->mu);

    t->fn(t, t->arg);
    int status = atomic_load_explicit(&t->cancel, memory_order_relaxed)
                     ? PK_ECANCELED
                     : PK_OK;
    if (t->on_done)
      t->on_done(t->arg, status);
    atomic_store_explicit(&t->state,
                          status == PK_OK ? PK_TASK_DONE : PK_TASK_CANCELED,
                          memory_order_release);

    /* One critical section both finishes this task and takes the next. */
    pthread_mutex_lock(&pool->mu);
    w->current = NULL;
    pool->running--;
    pk__finish_locked(pool, t, status, true);
  }
  pthread_mutex_unlock(&pool->mu);
  return NULL;
}

/* ---- pools ----------------------------------------------------------------*/

/* pool->mu is held for a few dozen instructions at a time by submitters and
 * workers alike; glibc's adaptive kind spins briefly before it sleeps, which
 * under contention saves a futex round trip per hand-off. */
static void pk__mutex_init_adaptive(pthread_mutex_t *mu) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
#ifdef __GLIBC__
  pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
#endif
  pthread_mutex_init(mu, &attr);
  pthread_mutexattr_destroy(&attr);
}

static void pk__pool_destroy(pk_pool *pool) {
  while (pool->cache)
    pk__task_free(pk__cache_get(pool));
  pthread_cond_destroy(&pool->joined_cv);
  pthread_cond_destroy(&pool->idle_cv);
  pthread_cond_destroy(&pool->space_cv);
  pthread_cond_destroy(&pool->work_cv);
  pthread_mutex_destroy(&pool->mu);
  free(pool->workers);
  free(pool);
}

static void pk__join(pk_pool *pool, int n) {
  for (int i = 0; i < n; i++)
    pthread_join(pool->workers[i].thread, NULL);
}

int pk_pool_create(const pk_pool_config *cfg, pk_pool **out) {
  if (!cfg || !out || cfg->nthreads < 0)
    return PK_EINVAL;
  if (cfg->nthreads > PK_POOL_MAX_THREADS)
    return PK_ELIMIT;
  int n = cfg->nthreads ? cfg->nthreads : pk_sys_ncpu();

  pk_pool *pool = calloc(1, sizeof *pool);
  if (!pool)
    return PK_ENOMEM;
  pool->workers = calloc((size_t)n, sizeof *pool->workers);
  if (!pool->workers) {
    free(pool);
    return PK_ENOMEM;
  }
  atomic_init(&pool->queued, 0);
  pool->nthreads = n;
  pool->max_queued =
      cfg->max_queued ? cfg->max_queued : (size_t)PK_POOL_DEFAULT_MAX_QUEUED;
  size_t quarter = pool->max_queued / 4;
  pool->resume_below = pool->max_queued - (quarter ? quarter : 1);
  snprintf(pool->name, sizeof pool->name, "%s",
           cfg->name ? cfg->name : "pk-pool");
  pk__mutex_init_adaptive(&pool->mu);
  pthread_cond_init(&pool->work_cv, NULL);
  pthread_cond_init(&pool->space_cv, NULL);
  pthread_cond_init(&pool->idle_cv, NULL);
  pthread_cond_init(&pool->joined_cv, NULL);

  /* Workers inherit a full signal mask, so that signals reach the
   * application's own threads and never interrupt a task. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int rc = 0, started = 0;
  for (; started < n; started++) {
    pk__worker *w = &pool->workers[started];
    w->pool = pool;
    w->index = started;
    rc = pthread_create(&w->thread, NULL, pk__worker_main, w);
    if (rc != 0)
      break;
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);

  if (rc != 0) {
    pthread_mutex_lock(&pool->mu);
    pool->closed = true;
    pthread_cond_broadcast(&pool->work_cv);
    pthread_mutex_unlock(&pool->mu);
    pk__join(pool, started);
    pk__pool_destroy(pool);
    /* EAGAIN here is a process or system thread limit, not "try again". */
    return rc == EAGAIN ? PK_ELIMIT : pk_err_from_errno(rc);
  }
  *out = pool;
  return PK_OK;
}

int pk_pool_submit_ex(pk_pool *pool, const pk_task_spec *spec,
                      pk_task **out_task) {
  if (!pool || !spec || !spec->fn || (int)spec->prio < 0 ||
      spec->prio >= PK_PRIO_COUNT)
    return PK_EINVAL;
  pk_task *t = NULL;
  pthread_mutex_lock(&pool->mu);
  for (;;) {
    int err = PK_OK;
    if (pool->closed) {
      err = PK_ECLOSED;
    } else if (pk__queued(pool) < pool->max_queued) {
      if (!t)
        t = pk__cache_get(pool);
      if (t)
        break;
      /* Allocate outside the lock, then look again: things changed. */
      pthread_mutex_unlock(&pool->mu);
      t = malloc(sizeof *t);
      if (!t)
        return PK_ENOMEM;
      pthread_mutex_init(&t->mu, NULL);
      pthread_cond_init(&t->cv, NULL);
      pthread_mutex_lock(&pool->mu);
      continue;
    } else if (spec->nowait || pk__tls_pool == pool) {
      err = PK_EAGAIN; /* a worker blocking on its own queue may deadlock */
    }
    if (err != PK_OK) {
      if (t)
        pk__cache_put(pool, t);
      pthread_mutex_unlock(&pool->mu);
      return err;
    }
    pool->space_waiters++;
    pthread_cond_wait(&pool->space_cv, &pool->mu);
    pool->space_waiters--;
  }
  t->pool = pool;
  t->fn = spec->fn;
  t->on_done = spec->on_done;
  t->arg = spec->arg;
  t->prio = (int)spec->prio;
  atomic_init(&t->state, PK_TASK_QUEUED);
  atomic_init(&t->cancel, false);
  atomic_init(&t->finished, false);
  atomic_init(&t->refs, out_task ? 2 : 1);
  atomic_init(&t->waiters, 0);
  pk__push(pool, t);
  pool->submitted++;
  pool->active++;
  /* A spinning worker takes one task without a wake-up; more need sleepers.
   * Signalled after unlocking, so the woken worker does not find mu held. */
  bool wake =
      pool->idle_workers > 0 && pk__queued(pool) > (pool->spinning ? 1u : 0u);
  pthread_mutex_unlock(&pool->mu);
  if (wake)
    pthread_cond_signal(&pool->work_cv);
  /* Without a handle t may already be finished and recycled here. */
  if (out_task)
    *out_task = t;
  return PK_OK;
}

int pk_pool_submit(pk_pool *pool, pk_priority prio, pk_task_fn fn, void *arg,
                   pk_task **out_task) {
  pk_task_spec spec = {.prio = prio, .fn = fn, .arg = arg};
  return pk_pool_submit_ex(pool, &spec, out_task);
}

int pk_pool_try_submit(pk_pool *pool, pk_priority prio, pk_task_fn fn,
                       void *arg, pk_task **out_task) {
  pk_task_spec spec = {.prio = prio, .fn = fn, .arg = arg, .nowait = true};
  return pk_pool_submit_ex(pool, &spec, out_task);
}

/* Under pool->mu: until no accepted task is left unfinished. */
static void pk__wait_idle_locked(pk_pool *pool) {
  while (pool->active > 0) {
    pool->idle_waiters++;
    pthread_cond_wait(&pool->idle_cv, &pool->mu);
    pool->idle_waiters--;
  }
}

int pk_pool_shutdown(pk_pool *pool, pk_pool_shutdown_mode mode) {
  if (!pool || (mode != PK_POOL_DRAIN && mode != PK_POOL_CANCEL) ||
      pk__tls_pool == pool)
    return PK_EINVAL;

  pk_task *dropped = NULL, **tail = &dropped;
  pthread_mutex_lock(&pool->mu);
  pool->closed = true;
  if (mode == PK_POOL_CANCEL) {
    for (int p = 0; p < PK_PRIO_COUNT; p++) {
      pk_task *t = pool->queues[p].head;
      while (t) {
        pk_task *next = t->next;
        pk__unlink(pool, t);
        atomic_store_explicit(&t->cancel, true, memory_order_relaxed);
        atomic_store_explicit(&t->state, PK_TASK_CANCELED,
                              memory_order_relaxed);
        *tail = t;
        tail = &t->next;
        t = next;
      }
    }
    for (int i = 0; i < pool->nthreads; i++)
      if (pool->workers[i].current)
        atomic_store_explicit(&pool->workers[i].current->cancel, true,
                              memory_order_relaxed);
  }
  pthread_cond_broadcast(&pool->work_cv);
  pthread_cond_broadcast(&pool->space_cv);
  pthread_mutex_unlock(&pool->mu);

  pk__finish_dropped(pool, dropped);

  pthread_mutex_lock(&pool->mu);
  if (!pool->joining) {
    pool->joining = true;
    pthread_mutex_unlock(&pool->mu);
    pk__join(pool, pool->nthreads);
    pthread_mutex_lock(&pool->mu);
    pool->joined = true;
    pthread_cond_broadcast(&pool->joined_cv);
  } else {
    while (!pool->joined)
      pthread_cond_wait(&pool->joined_cv, &pool->mu);
  }
  /* A concurrent pk_task_cancel() may still be running an on_done. */
  pk__wait_idle_locked(pool);
  pthread_mutex_unlock(&pool->mu);
  return PK_OK;
}

void pk_pool_free(pk_pool *pool) {
  if (!pool)
    return;
  /* From one of its own tasks the pool cannot stop; leaking it beats freeing
   * it under the running worker. */
  if (pk_pool_shutdown(pool, PK_POOL_DRAIN) != PK_OK)
    return;
  pk__pool_destroy(pool);
}

int pk_pool_wait_idle(pk_pool *pool) {
  if (!pool || pk__tls_pool == pool)
    return PK_EINVAL;
  pthread_mutex_lock(&pool->mu);
  pk__wait_idle_locked(pool);
  pthread_mutex_unlock(&pool->mu);
  return PK_OK;
}

void pk_pool_stats(pk_pool *pool, struct pk_pool_stats *out) {
  pthread_mutex_lock(&pool->mu);
  out->submitted = pool->submitted;
  out->completed = pool->completed;
  out->cancelled = pool->cancelled;
  out->dropped = pool->dropped;
  for (int p = 0; p < PK_PRIO_COUNT; p++)
    out->queued[p] = pool->queued_prio[p];
  out->running = pool->running;
  out->nthreads = (uint32_t)pool->nthreads;
  pthread_mutex_unlock(&pool->mu);
}

/* ---- tasks ----------------------------------------------------------------*/

void pk_task_cancel(pk_task *task) {
  if (!task)
    return;
  /* A finished task no longer needs its pool, which may be gone. */
  if (atomic_load_explicit(&task->finished, memory_order_acquire))
    return;
  pk_pool *pool = task->pool;
  bool drop = false;
  pthread_mutex_lock(&pool->mu);
  atomic_store_explicit(&task->cancel, true, memory_order_relaxed);
  if (atomic_load_explicit(&task->state, memory_order_relaxed) ==
      PK_TASK_QUEUED) {
    pk__unlink(pool, task);
    atomic_store_explicit(&task->state, PK_TASK_CANCELED, memory_order_relaxed);
    task->next = NULL;
    drop = true;
  }
  pthread_mutex_unlock(&pool->mu);
  if (drop)
    pk__finish_dropped(pool, task);
}

bool pk_task_cancelled(const pk_task *self) {
  /* The flag publishes no data, so relaxed is enough. */
  return atomic_load_explicit(&self->cancel, memory_order_relaxed);
}

static bool pk__is_finished(const void *task) {
  return atomic_load_explicit(&((const pk_task *)task)->finished,
                              memory_order_acquire);
}

int pk_task_wait(pk_task *task) {
  if (!pk__spin(pk__is_finished, task)) {
    atomic_fetch_add(&task->waiters, 1);
    pthread_mutex_lock(&task->mu);
    while (!atomic_load(&task->finished))
      pthread_cond_wait(&task->cv, &task->mu);
    pthread_mutex_unlock(&task->mu);
    atomic_fetch_sub(&task->waiters, 1);
  }
  return atomic_load_explicit(&task->state, memory_order_acquire) ==
                 PK_TASK_DONE
             ? PK_OK
             : PK_ECANCELED;
}

enum pk_task_state pk_task_state(const pk_task *task) {
  return (enum pk_task_state)atomic_load_explicit(&task->state,
                                                  memory_order_acquire);
}
