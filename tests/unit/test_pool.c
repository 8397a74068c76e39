/* test_pool.c — pk_pool: results, priority order, cancellation, shutdown
 * modes, backpressure, lifetimes. No timing asserts: where a test needs the
 * pool in a given state it builds that state with gates, not sleeps. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <unistd.h>

#include "base/sys.h"
#include "runtime/pool.h"
#include "test.h"

static pk_pool *make_pool(const char *name, int nthreads, size_t max_queued) {
  pk_pool_config cfg = {
      .name = name, .nthreads = nthreads, .max_queued = max_queued};
  pk_pool *pool = NULL;
  ASSERT_OK(pk_pool_create(&cfg, &pool));
  ASSERT(pool != NULL);
  return pool;
}

/* ---- a gate: a task that holds its worker until opened (or cancelled) ---*/

typedef struct gate {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool started, open;
  bool saw_cancel;
} gate;

static void gate_init(gate *g) {
  pthread_mutex_init(&g->mu, NULL);
  pthread_cond_init(&g->cv, NULL);
  g->started = g->open = g->saw_cancel = false;
}

static void gate_destroy(gate *g) {
  pthread_cond_destroy(&g->cv);
  pthread_mutex_destroy(&g->mu);
}

/* Waits for the gate to open; a cancel also releases it (polled, as a real
 * task would between units of work). */
static void gate_fn(pk_task *self, void *arg) {
  gate *g = arg;
  pthread_mutex_lock(&g->mu);
  g->started = true;
  pthread_cond_broadcast(&g->cv);
  while (!g->open) {
    if (pk_task_cancelled(self)) {
      g->saw_cancel = true;
      break;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 1000000;
    if (ts.tv_nsec >= 1000000000) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000;
    }
    pthread_cond_timedwait(&g->cv, &g->mu, &ts);
  }
  pthread_mutex_unlock(&g->mu);
}

static void gate_wait_started(gate *g) {
  pthread_mutex_lock(&g->mu);
  while (!g->started)
    pthread_cond_wait(&g->cv, &g->mu);
  pthread_mutex_unlock(&g->mu);
}

static void gate_open(gate *g) {
  pthread_mutex_lock(&g->mu);
  g->open = true;
  pthread_cond_broadcast(&g->cv);
  pthread_mutex_unlock(&g->mu);
}

/* Queues the gate on a (1-thread) pool and returns once it occupies the
 * worker, so that everything submitted afterwards queues behind it. */
static pk_task *block_pool(pk_pool *pool, gate *g) {
  pk_task *t = NULL;
  gate_init(g);
  ASSERT_OK(pk_pool_submit(pool, PK_PRIO_INTERACTIVE, gate_fn, g, &t));
  gate_wait_started(g);
  return t;
}

/* ---- simple counting tasks -----------------------------------------------*/

static atomic_long g_calls;

static void count_fn(pk_task *self, void *arg) {
  (void)self;
  (void)arg;
  atomic_fetch_add(&g_calls, 1);
}

typedef struct done_log {
  atomic_int ok, canceled;
} done_log;

static void log_done(void *arg, int status) {
  done_log *d = arg;
  if (status == PK_OK)
    atomic_fetch_add(&d->ok, 1);
  else if (status == PK_ECANCELED)
    atomic_fetch_add(&d->canceled, 1);
  else
    abort();
}

/* ---- tests ---------------------------------------------------------------*/

static atomic_llong g_sum;

static void add_fn(pk_task *self, void *arg) {
  (void)self;
  atomic_fetch_add(&g_sum, (long long)(intptr_t)arg);
}

typedef struct square_job {
  long in, out;
} square_job;

static void square_fn(pk_task *self, void *arg) {
  (void)self;
  square_job *j = arg;
  j->out = j->in * j->in;
}

static void test_results(void) {
  enum { N = 10000 };
  pk_pool *pool = make_pool("pk-test", 2, 64); /* small queue: backpressure */
  atomic_store(&g_sum, 0);
  for (long i = 0; i < N; i++)
    ASSERT_OK(pk_pool_submit(pool,
                             i % 2 ? PK_PRIO_BACKGROUND : PK_PRIO_INTERACTIVE,
                             add_fn, (void *)(intptr_t)i, NULL));
  ASSERT_OK(pk_pool_wait_idle(pool));
  ASSERT_EQ(atomic_load(&g_sum), (long long)N * (N - 1) / 2);

  /* With handles: each result is there once pk_task_wait returns. */
  static square_job jobs[500];
  pk_task *tasks[500];
  for (int i = 0; i < 500; i++) {
    jobs[i].in = i;
    jobs[i].out = -1;
    ASSERT_OK(pk_pool_submit(pool, PK_PRIO_BACKGROUND, square_fn, &jobs[i],
                             &tasks[i]));
  }
  for (int i = 0; i < 500; i++) {
    ASSERT_OK(pk_task_wait(tasks[i]));
    ASSERT_EQ(pk_task_state(tasks[i]), PK_TASK_DONE);
    ASSERT_EQ(jobs[i].out, (long)i * i);
    pk_task_release(tasks[i]);
  }

  struct pk_pool_stats st;
  pk_pool_stats(pool, &st);
  ASSERT_UEQ(st.submitted, N + 500);
  ASSERT_UEQ(st.completed, N + 500);
  ASSERT_UEQ(st.cancelled, 0);
  ASSERT_UEQ(st.queued[PK_PRIO_INTERACTIVE] + st.queued[PK_PRIO_BACKGROUND], 0);
  ASSERT_UEQ(st.running, 0);
  ASSERT_UEQ(st.nthreads, 2);
  pk_pool_free(pool);
}

/* Records the order in which tasks started. */
typedef struct order_log {
  atomic_int n;
  int ids[64];
} order_log;

typedef struct order_item {
  order_log *log;
  int id;
} order_item;

static void order_fn(pk_task *self, void *arg) {
  (void)self;
  order_item *it = arg;
  it->log->ids[atomic_fetch_add(&it->log->n, 1)] = it->id;
}

static void test_priority(void) {
  enum { NBG = 40 };
  pk_pool *pool = make_pool("pk-prio", 1, 0);
  gate g;
  pk_task *gt = block_pool(pool, &g);

  static order_log log;
  atomic_store(&log.n, 0);
  static order_item items[NBG + 2];
  /* ids 0..NBG-1 background, NBG and NBG+1 interactive, queued last. */
  for (int i = 0; i < NBG + 2; i++) {
    items[i].log = &log;
    items[i].id = i;
    ASSERT_OK(pk_pool_submit(pool,
                             i < NBG ? PK_PRIO_BACKGROUND : PK_PRIO_INTERACTIVE,
                             order_fn, &items[i], NULL));
  }
  struct pk_pool_stats st;
  pk_pool_stats(pool, &st);
  ASSERT_UEQ(st.queued[PK_PRIO_BACKGROUND], NBG);
  ASSERT_UEQ(st.queued[PK_PRIO_INTERACTIVE], 2);
  ASSERT_UEQ(st.running, 1);

  gate_open(&g);
  ASSERT_OK(pk_task_wait(gt));
  pk_task_release(gt);
  ASSERT_OK(pk_pool_wait_idle(pool));

  ASSERT_EQ(atomic_load(&log.n), NBG + 2);
  /* Interactive first, FIFO among themselves; then background in FIFO. */
  ASSERT_EQ(log.ids[0], NBG);
  ASSERT_EQ(log.ids[1], NBG + 1);
  for (int i = 0; i < NBG; i++)
    ASSERT_EQ(log.ids[2 + i], i);
  pk_pool_free(pool);
  gate_destroy(&g);
}

static void test_cancel_before_start(void) {
  pk_pool *pool = make_pool("pk-test", 1, 0);
  gate g;
  pk_task *gt = block_pool(pool, &g);

  atomic_store(&g_calls, 0);
  done_log d = {0};
  pk_task *t = NULL, *keep = NULL;
  pk_task_spec spec = {.prio = PK_PRIO_BACKGROUND,
                       .fn = count_fn,
                       .arg = &d,
                       .on_done = log_done};
  ASSERT_OK(pk_pool_submit_ex(pool, &spec, &t));
  ASSERT_OK(pk_pool_submit_ex(pool, &spec, &keep));
  ASSERT_EQ(pk_task_state(t), PK_TASK_QUEUED);

  pk_task_cancel(t);
  /* Dropped at once: the wait returns although the worker is still held by
   * the gate, and on_done has already run on this thread. */
  ASSERT_EQ(pk_task_state(t), PK_TASK_CANCELED);
  ASSERT_EQ(atomic_load(&d.canceled), 1);
  ASSERT_ERR(pk_task_wait(t), PK_ECANCELED);
  pk_task_cancel(t); /* again: no effect */
  ASSERT_EQ(atomic_load(&d.canceled), 1);

  struct pk_pool_stats st;
  pk_pool_stats(pool, &st);
  ASSERT_UEQ(st.queued[PK_PRIO_BACKGROUND], 1);
  ASSERT_UEQ(st.cancelled, 1);
  ASSERT_UEQ(st.dropped, 1);

  gate_open(&g);
  ASSERT_OK(pk_task_wait(keep));
  ASSERT_OK(pk_pool_wait_idle(pool));
  ASSERT_EQ(atomic_load(&g_calls), 1); /* only `keep` ran */
  ASSERT_EQ(atomic_load(&d.ok), 1);
  ASSERT_EQ(atomic_load(&d.canceled), 1);
  pk_task_cancel(keep); /* after DONE: no effect */
  ASSERT_OK(pk_task_wait(keep));
  ASSERT_EQ(pk_task_state(keep), PK_TASK_DONE);

  pk_pool_stats(pool, &st);
  ASSERT_UEQ(st.submitted, 3);
  ASSERT_UEQ(st.completed, 2);
  ASSERT_UEQ(st.cancelled, 1);
  pk_task_release(t);
  pk_task_release(keep);
  pk_task_release(gt);
  pk_pool_free(pool);
  gate_destroy(&g);
}

static void test_cancel_while_running(void) {
  pk_pool *pool = make_pool("pk-test", 2, 0);
  gate g;
  pk_task *t = block_pool(pool, &g); /* never opened: only cancel ends it */
  ASSERT_EQ(pk_task_state(t), PK_TASK_RUNNING);
  ASSERT(!pk_task_cancelled(t));
  pk_task_cancel(t);
  ASSERT_ERR(pk_task_wait(t), PK_ECANCELED);
  ASSERT(g.saw_cancel);
  ASSERT_EQ(pk_task_state(t), PK_TASK_CANCELED);

  struct pk_pool_stats st;
  pk_pool_stats(pool, &st);
  ASSERT_UEQ(st.cancelled, 1);
  ASSERT_UEQ(st.dropped, 0);
  pk_task_release(t);
  pk_pool_free(pool);
  gate_destroy(&g);
}

/* Opens the gate only once the pool refuses work, i.e. after shutdown closed
 * it, so that shutdown certainly began with the queue full. Counts the probe
 * tasks it got in before the close: they too must run. */
typedef struct opener {
  pk_pool *pool;
  gate *g;
  long accepted;
} opener;

static void *opener_main(void *p) {
  opener *o = p;
  for (;;) {
    int r =
        pk_pool_try_submit(o->pool, PK_PRIO_BACKGROUND, count_fn, NULL, NULL);
    if (r == PK_OK)
      o->accepted++;
    else if (r == PK_ECLOSED)
      break;
    else if (r != PK_EAGAIN)
      abort();
    sched_yield();
  }
  gate_open(o->g);
  return NULL;
}

static void test_shutdown_drain(void) {
  enum { N = 100 };
  pk_pool *pool = make_pool("pk-test", 1, N + 8);
  gate g;
  pk_task *gt = block_pool(pool, &g);
  atomic_store(&g_calls, 0);
  done_log d = {0};
  pk_task_spec spec = {.prio = PK_PRIO_BACKGROUND,
                       .fn = count_fn,
                       .arg = &d,
                       .on_done = log_done};
  for (int i = 0; i < N; i++)
    ASSERT_OK(pk_pool_submit_ex(pool, &spec, NULL));

  opener o = {.pool = pool, .g = &g};
  pthread_t th;
  ASSERT_EQ(pthread_create(&th, NULL, opener_main, &o), 0);
  ASSERT_OK(pk_pool_shutdown(pool, PK_POOL_DRAIN));
  pthread_join(th, NULL);

  ASSERT_EQ(atomic_load(&d.ok), N);
  ASSERT_EQ(atomic_load(&d.canceled), 0);
  ASSERT_EQ(atomic_load(&g_calls), N + o.accepted);
  ASSERT_OK(pk_task_wait(gt));
  struct pk_pool_stats st;
  pk_pool_stats(pool, &st);
  ASSERT_UEQ(st.completed, (uint64_t)(N + 1 + o.accepted));
  ASSERT_UEQ(st.submitted, st.completed);

  /* Closed for good, every way in; a refused submit calls nothing. */
  ASSERT_ERR(pk_pool_submit_ex(pool, &spec, NULL), PK_ECLOSED);
  ASSERT_ERR(pk_pool_submit(pool, PK_PRIO_INTERACTIVE, count_fn, NULL, NULL),
             PK_ECLOSED);
  ASSERT_ERR(
      pk_pool_try_submit(pool, PK_PRIO_INTERACTIVE, count_fn, NULL, NULL),
      PK_ECLOSED);
  ASSERT_EQ(atomic_load(&d.ok), N);
  ASSERT_OK(pk_pool_shutdown(pool, PK_POOL_CANCEL)); /* again: harmless */
  ASSERT_OK(pk_pool_wait_idle(pool));
  pk_task_release(gt);
  pk_pool_free(pool); /* after shutdown: only frees */
  gate_destroy(&g);
}

static void test_shutdown_cancel(void) {
  enum { N = 100 };
  pk_pool *pool = make_pool("pk-test", 1, N);
  gate g;
  pk_task *gt = block_pool(pool, &g); /* released only by the cancel flag */
  atomic_store(&g_calls, 0);
  done_log d = {0};
  pk_task_spec spec = {.prio = PK_PRIO_INTERACTIVE,
                       .fn = count_fn,
                       .arg = &d,
                       .on_done = log_done};
  pk_task *some = NULL;
  ASSERT_OK(pk_pool_submit_ex(pool, &spec, &some));
  for (int i = 1; i < N; i++) {
    spec.prio = i % 3 ? PK_PRIO_BACKGROUND : PK_PRIO_INTERACTIVE;
    ASSERT_OK(pk_pool_submit_ex(pool, &spec, NULL));
  }
  ASSERT_OK(pk_pool_shutdown(pool, PK_POOL_CANCEL));

  ASSERT_EQ(atomic_load(&g_calls), 0);
  ASSERT_EQ(atomic_load(&d.canceled), N);
  ASSERT_EQ(atomic_load(&d.ok), 0);
  ASSERT(g.saw_cancel);
  ASSERT_ERR(pk_task_wait(gt), PK_ECANCELED);
  ASSERT_ERR(pk_task_wait(some), PK_ECANCELED);
  ASSERT_EQ(pk_task_state(some), PK_TASK_CANCELED);
  struct pk_pool_stats st;
  pk_pool_stats(pool, &st);
  ASSERT_UEQ(st.submitted, N + 1);
  ASSERT_UEQ(st.cancelled, N + 1);
  ASSERT_UEQ(st.dropped, N);
  ASSERT_UEQ(st.completed, 0);
  ASSERT_ERR(pk_pool_submit(pool, PK_PRIO_BACKGROUND, count_fn, NULL, NULL),
             PK_ECLOSED);
  pk_pool_free(pool);
  /* Handles outlive the pool. */
  ASSERT_ERR(pk_task_wait(some), PK_ECANCELED);
  pk_task_cancel(some);
  pk_task_release(some);
  pk_task_release(gt);
  gate_destroy(&g);
}

typedef struct blocked_submit {
  pk_pool *pool;
  atomic_int returned;
  int rc;
} blocked_submit;

static void *blocked_submit_main(void *p) {
  blocked_submit *b = p;
  b->rc = pk_pool_submit(b->pool, PK_PRIO_BACKGROUND, count_fn, NULL, NULL);
  atomic_store(&b->returned, 1);
  return NULL;
}

static void test_backpressure(void) {
  pk_pool *pool = make_pool("pk-test", 1, 4);
  gate g;
  pk_task *gt = block_pool(pool, &g);
  atomic_store(&g_calls, 0);
  for (int i = 0; i < 4; i++)
    ASSERT_OK(
        pk_pool_try_submit(pool, PK_PRIO_BACKGROUND, count_fn, NULL, NULL));
  ASSERT_ERR(
      pk_pool_try_submit(pool, PK_PRIO_INTERACTIVE, count_fn, NULL, NULL),
      PK_EAGAIN);
  struct pk_pool_stats st;
  pk_pool_stats(pool, &st);
  ASSERT_UEQ(st.queued[PK_PRIO_BACKGROUND], 4);
  ASSERT_UEQ(st.submitted, 5); /* the refused one is not counted */

  /* A blocking submit waits for a slot. While the gate is shut no slot can
   * free, so `returned` is necessarily still 0 after the sleep. */
  blocked_submit b = {.pool = pool};
  pthread_t th;
  ASSERT_EQ(pthread_create(&th, NULL, blocked_submit_main, &b), 0);
  usleep(20000);
  ASSERT_EQ(atomic_load(&b.returned), 0);
  gate_open(&g);
  pthread_join(th, NULL);
  ASSERT_OK(b.rc);
  ASSERT_OK(pk_pool_wait_idle(pool));
  ASSERT_EQ(atomic_load(&g_calls), 5);

  /* A submitter blocked when shutdown begins gets PK_ECLOSED. */
  gate g2;
  pk_task *gt2 = block_pool(pool, &g2);
  for (int i = 0; i < 4; i++)
    ASSERT_OK(pk_pool_submit(pool, PK_PRIO_BACKGROUND, count_fn, NULL, NULL));
  blocked_submit b2 = {.pool = pool};
  ASSERT_EQ(pthread_create(&th, NULL, blocked_submit_main, &b2), 0);
  ASSERT_OK(pk_pool_shutdown(pool, PK_POOL_CANCEL));
  pthread_join(th, NULL);
  /* It either got in before the close (then it was dropped) or was refused. */
  ASSERT(b2.rc == PK_ECLOSED || b2.rc == PK_OK);
  pk_pool_stats(pool, &st);
  ASSERT_UEQ(st.submitted, st.completed + st.cancelled);
  ASSERT_EQ(atomic_load(&g_calls), 5);
  pk_task_release(gt);
  pk_task_release(gt2);
  pk_pool_free(pool);
  gate_destroy(&g);
  gate_destroy(&g2);
}

static void name_fn(pk_task *self, void *arg) {
  (void)self;
  pthread_getname_np(pthread_self(), arg, 16);
}

static void test_defaults(void) {
  pk_pool *pool = make_pool("pk-cpu", 0, 0);
  struct pk_pool_stats st;
  pk_pool_stats(pool, &st);
  ASSERT_UEQ(st.nthreads, (unsigned)pk_sys_ncpu());
  char name[16] = {0};
  pk_task *t;
  ASSERT_OK(pk_pool_submit(pool, PK_PRIO_INTERACTIVE, name_fn, name, &t));
  ASSERT_OK(pk_task_wait(t));
  pk_task_release(t);
  ASSERT_EQ(strncmp(name, "pk-cpu-", 7), 0);
  pk_pool_free(pool);

  /* A long name is shortened to keep the index. */
  pool = make_pool("a-very-long-pool-name", 1, 0);
  ASSERT_OK(pk_pool_submit(pool, PK_PRIO_INTERACTIVE, name_fn, name, &t));
  ASSERT_OK(pk_task_wait(t));
  pk_task_release(t);
  ASSERT_STREQ(name, "a-very-long-p-0");
  pk_pool_free(pool);

  pool = make_pool(NULL, 1, 0);
  ASSERT_OK(pk_pool_submit(pool, PK_PRIO_INTERACTIVE, name_fn, name, &t));
  ASSERT_OK(pk_task_wait(t));
  pk_task_release(t);
  ASSERT_STREQ(name, "pk-pool-0");
  pk_pool_free(pool);
}

static void test_invalid(void) {
  pk_pool *pool = NULL;
  pk_pool_config cfg = {.nthreads = -1};
  ASSERT_ERR(pk_pool_create(NULL, &pool), PK_EINVAL);
  ASSERT_ERR(pk_pool_create(&cfg, &pool), PK_EINVAL);
  cfg.nthreads = PK_POOL_MAX_THREADS + 1;
  ASSERT_ERR(pk_pool_create(&cfg, &pool), PK_ELIMIT);
  cfg.nthreads = 1;
  ASSERT_ERR(pk_pool_create(&cfg, NULL), PK_EINVAL);
  ASSERT(pool == NULL);
  pool = make_pool("pk-test", 1, 0);
  ASSERT_ERR(pk_pool_submit(pool, PK_PRIO_COUNT, count_fn, NULL, NULL),
             PK_EINVAL);
  ASSERT_ERR(pk_pool_submit(pool, (pk_priority)-1, count_fn, NULL, NULL),
             PK_EINVAL);
  ASSERT_ERR(pk_pool_submit(pool, PK_PRIO_BACKGROUND, NULL, NULL, NULL),
             PK_EINVAL);
  ASSERT_ERR(pk_pool_submit(NULL, PK_PRIO_BACKGROUND, count_fn, NULL, NULL),
             PK_EINVAL);
  ASSERT_ERR(pk_pool_shutdown(pool, (pk_pool_shutdown_mode)7), PK_EINVAL);
  pk_pool_free(pool);
  pk_pool_free(NULL);
  pk_task_release(NULL);
  pk_task_cancel(NULL);
}

/* From inside its own task, calls that would wait for the pool refuse. */
typedef struct self_calls {
  pk_pool *pool;
  gate hold; /* lets the test fill the queue before the calls */
  int shutdown_rc, idle_rc, submit_rc;
} self_calls;

static void self_fn(pk_task *self, void *arg) {
  self_calls *s = arg;
  gate_fn(self, &s->hold);
  s->shutdown_rc = pk_pool_shutdown(s->pool, PK_POOL_DRAIN);
  s->idle_rc = pk_pool_wait_idle(s->pool);
  s->submit_rc =
      pk_pool_submit(s->pool, PK_PRIO_BACKGROUND, count_fn, NULL, NULL);
}

static void test_self_calls(void) {
  /* Worker 1 held by a gate, worker 2 runs self_fn, one queued filler fills
   * the queue: a blocking submit from self_fn could never complete. */
  pk_pool *pool = make_pool("pk-test", 2, 1);
  gate g;
  pk_task *gt = block_pool(pool, &g);
  self_calls s = {.pool = pool};
  gate_init(&s.hold);
  pk_task *t;
  ASSERT_OK(pk_pool_submit(pool, PK_PRIO_BACKGROUND, self_fn, &s, &t));
  gate_wait_started(&s.hold);
  ASSERT_OK(pk_pool_submit(pool, PK_PRIO_BACKGROUND, count_fn, NULL, NULL));
  gate_open(&s.hold);
  ASSERT_OK(pk_task_wait(t));
  ASSERT_ERR(s.shutdown_rc, PK_EINVAL);
  ASSERT_ERR(s.idle_rc, PK_EINVAL);
  ASSERT_ERR(s.submit_rc, PK_EAGAIN);
  pk_task_release(t);
  gate_open(&g);
  pk_task_release(gt);
  pk_pool_free(pool);
  gate_destroy(&g);
  gate_destroy(&s.hold);
}

/* Fire-and-forget with heap arguments: on_done frees them whether or not fn
 * ran (LSan checks that nothing leaks). */
static atomic_int g_freed;

static void heap_fn(pk_task *self, void *arg) {
  (void)self;
  *(int *)arg += 1;
}

static void heap_done(void *arg, int status) {
  (void)status;
  free(arg);
  atomic_fetch_add(&g_freed, 1);
}

static void test_on_done_owns_arg(void) {
  enum { N = 300 };
  pk_pool *pool = make_pool("pk-test", 1, N);
  gate g;
  pk_task *gt = block_pool(pool, &g);
  atomic_store(&g_freed, 0);
  for (int i = 0; i < N; i++) {
    int *x = calloc(1, sizeof *x);
    ASSERT(x != NULL);
    pk_task_spec spec = {.prio = PK_PRIO_BACKGROUND,
                         .fn = heap_fn,
                         .arg = x,
                         .on_done = heap_done};
    ASSERT_OK(pk_pool_submit_ex(pool, &spec, NULL));
  }
  gate_open(&g);
  /* Some ran, the rest is dropped: all are freed exactly once. */
  ASSERT_OK(pk_pool_shutdown(pool, PK_POOL_CANCEL));
  ASSERT_EQ(atomic_load(&g_freed), N);
  pk_task_release(gt);
  pk_pool_free(pool);
  gate_destroy(&g);
}

int main(void) {
  RUN(test_results);
  RUN(test_priority);
  RUN(test_cancel_before_start);
  RUN(test_cancel_while_running);
  RUN(test_shutdown_drain);
  RUN(test_shutdown_cancel);
  RUN(test_backpressure);
  RUN(test_defaults);
  RUN(test_invalid);
  RUN(test_self_calls);
  RUN(test_on_done_owns_arg);
  return 0;
}
