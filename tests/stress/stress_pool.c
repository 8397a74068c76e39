/* stress_pool.c — pk_pool under load: several submitters, both priorities,
 * random cancels and waits, tasks that submit follow-up work to a second pool
 * (compute -> io), then shutdown while work is in flight, in both modes and
 * with concurrent shutdown calls. Every accepted task must finish exactly once
 * (a ledger of task ids), the pools' books must balance, and ASan/LSan must
 * see no leak (each task's heap argument is freed by its on_done). */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <unistd.h>

#include "base/clock.h"
#include "runtime/pool.h"
#include "test.h"

enum { LEDGER = 1 << 20, NSUB = 4, RING = 16 };

/* ledger[id]: 0 = not finished, 1 = finished PK_OK, 2 = finished CANCELED.
 * accepted[id]: the submit for this id returned PK_OK. */
static _Atomic unsigned char ledger[LEDGER], accepted[LEDGER];
static atomic_int next_id;
static atomic_long fn_calls;

static int new_id(void) {
  int id = atomic_fetch_add(&next_id, 1);
  return id < LEDGER ? id : -1;
}

static uint32_t rnd(uint32_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 17;
  *s ^= *s << 5;
  return *s;
}

typedef struct job {
  int id;
  uint32_t seed;
  pk_pool *follow_up; /* where fn submits one more task, or NULL */
} job;

static void job_done(void *arg, int status) {
  job *j = arg;
  unsigned char v = status == PK_OK ? 1 : 2;
  if (atomic_exchange(&ledger[j->id], v) != 0)
    TEST_FAIL_("task %d finished twice", j->id);
  free(j);
}

static int submit_job(pk_pool *pool, pk_pool *follow_up, uint32_t *seed,
                      bool nowait, pk_task **out, int *out_id);

static void job_fn(pk_task *self, void *arg) {
  job *j = arg;
  atomic_fetch_add(&fn_calls, 1);
  /* A little work, polling the flag as real tasks do. */
  volatile uint32_t x = j->seed;
  int n = (int)(rnd(&j->seed) % 3000);
  for (int i = 0; i < n; i++) {
    if (i % 32 == 0 && pk_task_cancelled(self))
      return;
    x = x * 1664525u + 1013904223u;
  }
  if (j->follow_up && rnd(&j->seed) % 4 == 0)
    (void)submit_job(j->follow_up, NULL, &j->seed, rnd(&j->seed) % 2, NULL,
                     NULL);
}

/* Submits one job; returns the submit's code (the ledger knows the rest). */
static int submit_job(pk_pool *pool, pk_pool *follow_up, uint32_t *seed,
                      bool nowait, pk_task **out, int *out_id) {
  int id = new_id();
  if (id < 0)
    return PK_ELIMIT;
  if (out_id)
    *out_id = id;
  job *j = malloc(sizeof *j);
  ASSERT(j != NULL);
  j->id = id;
  j->seed = rnd(seed) | 1;
  j->follow_up = follow_up;
  pk_task_spec spec = {.prio = rnd(seed) % 3 ? PK_PRIO_BACKGROUND
                                             : PK_PRIO_INTERACTIVE,
                       .fn = job_fn,
                       .arg = j,
                       .on_done = job_done,
                       .nowait = nowait};
  int r = pk_pool_submit_ex(pool, &spec, out);
  if (r == PK_OK)
    atomic_store(&accepted[id], 1);
  else if (r == PK_EAGAIN || r == PK_ECLOSED)
    free(j); /* a refused submit calls nothing: the argument is still ours */
  else
    TEST_FAIL_("submit: %s", pk_err_name(r));
  return r;
}

/* Waits for a handle and checks that the wait agrees with on_done. */
typedef struct handle {
  pk_task *t;
  int id;
} handle;

static void finish_handle(handle h, uint32_t *seed) {
  pk_task *t = h.t;
  if (rnd(seed) % 3 == 0)
    pk_task_cancel(t);
  int r = pk_task_wait(t);
  enum pk_task_state st = pk_task_state(t);
  if (r == PK_OK) {
    ASSERT_EQ(st, PK_TASK_DONE);
    ASSERT_EQ(atomic_load(&ledger[h.id]), 1);
  } else {
    ASSERT_ERR(r, PK_ECANCELED);
    ASSERT_EQ(st, PK_TASK_CANCELED);
  }
  pk_task_release(t);
}

typedef struct submitter {
  pk_pool *compute, *io;
  int max_tasks; /* 0: until the pools close */
  uint32_t seed;
  atomic_int *submitted_some; /* raised after the first few submits */
} submitter;

static void *submitter_main(void *p) {
  submitter *s = p;
  handle ring[RING];
  int nring = 0, head = 0;
  bool closed[2] = {false, false}; /* compute, io */
  for (int i = 0; s->max_tasks == 0 || i < s->max_tasks; i++) {
    bool to_io = rnd(&s->seed) % 4 == 0;
    if (closed[to_io])
      to_io = !to_io;
    pk_pool *pool = to_io ? s->io : s->compute;
    bool want_handle = rnd(&s->seed) % 2;
    pk_task *t = NULL;
    int id = -1;
    int r = submit_job(pool, to_io ? NULL : s->io, &s->seed,
                       rnd(&s->seed) % 8 == 0, want_handle ? &t : NULL, &id);
    if (r == PK_ELIMIT)
      break;
    if (r == PK_ECLOSED) {
      /* Both pools close; go on with the other until it closes too. */
      closed[to_io] = true;
      if (closed[!to_io])
        break;
      continue;
    }
    if (i == 64 && s->submitted_some)
      atomic_fetch_add(s->submitted_some, 1);
    if (r != PK_OK || !t)
      continue;
    if (rnd(&s->seed) % 4 == 0)
      pk_task_cancel(t); /* right away: usually still queued */
    if (nring == RING) {
      finish_handle(ring[head], &s->seed);
      ring[head] = (handle){t, id};
      head = (head + 1) % RING;
    } else {
      ring[(head + nring++) % RING] = (handle){t, id};
    }
  }
  for (int k = 0; k < nring; k++)
    finish_handle(ring[(head + k) % RING], &s->seed);
  return NULL;
}

static pk_pool *make_pool(const char *name, int nthreads, size_t max_queued) {
  pk_pool_config cfg = {
      .name = name, .nthreads = nthreads, .max_queued = max_queued};
  pk_pool *pool = NULL;
  ASSERT_OK(pk_pool_create(&cfg, &pool));
  return pool;
}

static void reset_ledger(void) {
  int n = atomic_load(&next_id);
  if (n > LEDGER)
    n = LEDGER;
  for (int i = 0; i < n; i++) {
    atomic_store(&ledger[i], 0);
    atomic_store(&accepted[i], 0);
  }
  atomic_store(&next_id, 0);
  atomic_store(&fn_calls, 0);
}

/* Every accepted id finished exactly once, nothing else finished, and the
 * pools' counters agree with the ledger. */
static void check_books(pk_pool *a, pk_pool *b) {
  int n = atomic_load(&next_id);
  if (n > LEDGER)
    n = LEDGER;
  uint64_t acc = 0, ok = 0, canc = 0;
  for (int i = 0; i < n; i++) {
    unsigned char l = atomic_load(&ledger[i]);
    if (atomic_load(&accepted[i])) {
      acc++;
      if (l == 0)
        TEST_FAIL_("task %d accepted but never finished", i);
      ok += l == 1;
      canc += l == 2;
    } else if (l != 0) {
      TEST_FAIL_("task %d finished but was never accepted", i);
    }
  }
  struct pk_pool_stats sa, sb;
  pk_pool_stats(a, &sa);
  pk_pool_stats(b, &sb);
  ASSERT_UEQ(sa.submitted + sb.submitted, acc);
  ASSERT_UEQ(sa.completed + sb.completed, ok);
  ASSERT_UEQ(sa.cancelled + sb.cancelled, canc);
  ASSERT_UEQ(sa.submitted, sa.completed + sa.cancelled);
  ASSERT_UEQ(sb.submitted, sb.completed + sb.cancelled);
  /* fn ran for every DONE task and every cancelled one that was not dropped. */
  ASSERT_UEQ((uint64_t)atomic_load(&fn_calls),
             ok + canc - sa.dropped - sb.dropped);
  ASSERT_UEQ(sa.running + sb.running, 0);
  fprintf(stderr, "   %ju accepted: %ju done, %ju cancelled (%ju dropped)\n",
          (uintmax_t)acc, (uintmax_t)ok, (uintmax_t)canc,
          (uintmax_t)(sa.dropped + sb.dropped));
}

static void run_submitters(pk_pool *compute, pk_pool *io, int max_tasks,
                           atomic_int *some, pthread_t th[NSUB],
                           submitter subs[NSUB]) {
  for (int i = 0; i < NSUB; i++) {
    subs[i] = (submitter){.compute = compute,
                          .io = io,
                          .max_tasks = max_tasks,
                          .seed = 0x9e3779b9u * (uint32_t)(i + 1),
                          .submitted_some = some};
    ASSERT_EQ(pthread_create(&th[i], NULL, submitter_main, &subs[i]), 0);
  }
}

/* Steady state: all submitters finish, then the pools go idle. */
static void test_steady(void) {
  reset_ledger();
  pk_pool *compute = make_pool("pk-cpu", 0, 256);
  pk_pool *io = make_pool("pk-io", 4, 64);
  pthread_t th[NSUB];
  submitter subs[NSUB];
  run_submitters(compute, io, 15000, NULL, th, subs);
  for (int i = 0; i < NSUB; i++)
    pthread_join(th[i], NULL);
  /* Compute tasks feed io: compute first, then io is final. */
  ASSERT_OK(pk_pool_wait_idle(compute));
  ASSERT_OK(pk_pool_wait_idle(io));
  check_books(compute, io);
  pk_pool_free(compute);
  pk_pool_free(io);
}

typedef struct shutter {
  pk_pool *pool;
  pk_pool_shutdown_mode mode;
} shutter;

static void *shutter_main(void *p) {
  shutter *s = p;
  ASSERT_OK(pk_pool_shutdown(s->pool, s->mode));
  return NULL;
}

/* Shutdown while submitters are busy: io is closed by another thread at the
 * same time, and a second, concurrent shutdown of compute uses `second`. */
static void test_shutdown_in_flight(pk_pool_shutdown_mode mode,
                                    pk_pool_shutdown_mode second) {
  reset_ledger();
  pk_pool *compute = make_pool("pk-cpu", 0, 256);
  pk_pool *io = make_pool("pk-io", 4, 64);
  atomic_int some = 0;
  pthread_t th[NSUB];
  submitter subs[NSUB];
  run_submitters(compute, io, 0, &some, th, subs);

  /* Wait until every submitter got going, work completed and work is
   * queued (bounded: the test holds whatever state it then finds). */
  uint64_t give_up = pk_now_ns() + 3000000000u;
  for (;;) {
    struct pk_pool_stats st;
    pk_pool_stats(compute, &st);
    if (atomic_load(&some) == NSUB && st.completed + st.cancelled > 2000 &&
        (st.queued[0] + st.queued[1] >= 16 || pk_now_ns() > give_up))
      break;
    sched_yield();
  }
  struct pk_pool_stats before;
  pk_pool_stats(compute, &before);
  fprintf(stderr, "   at shutdown: %u queued, %u running\n",
          before.queued[0] + before.queued[1], before.running);
  shutter s_io = {.pool = io, .mode = mode};
  shutter s_cpu2 = {.pool = compute, .mode = second};
  pthread_t t_io, t_cpu2;
  ASSERT_EQ(pthread_create(&t_io, NULL, shutter_main, &s_io), 0);
  ASSERT_EQ(pthread_create(&t_cpu2, NULL, shutter_main, &s_cpu2), 0);
  ASSERT_OK(pk_pool_shutdown(compute, mode));
  pthread_join(t_io, NULL);
  pthread_join(t_cpu2, NULL);

  /* Submitters still finish their handles (cancel/wait on a shut pool). */
  for (int i = 0; i < NSUB; i++)
    pthread_join(th[i], NULL);
  struct pk_pool_stats st;
  pk_pool_stats(compute, &st);
  ASSERT_UEQ(st.queued[0] + st.queued[1], 0);
  ASSERT_ERR(pk_pool_submit(compute, PK_PRIO_INTERACTIVE, job_fn, NULL, NULL),
             PK_ECLOSED);
  check_books(compute, io);
  pk_pool_free(compute);
  pk_pool_free(io);
}

/* Free with work queued and no explicit shutdown: pk_pool_free drains. */
static void test_free_with_work(void) {
  reset_ledger();
  pk_pool *compute = make_pool("pk-cpu", 2, 4096);
  uint32_t seed = 12345;
  for (int i = 0; i < 3000; i++)
    ASSERT_OK(submit_job(compute, NULL, &seed, false, NULL, NULL));
  pk_pool_free(compute);
  int n = atomic_load(&next_id);
  for (int i = 0; i < n; i++)
    ASSERT_EQ(atomic_load(&ledger[i]), 1);
}

static void test_drain_drain(void) {
  test_shutdown_in_flight(PK_POOL_DRAIN, PK_POOL_DRAIN);
}
static void test_cancel_cancel(void) {
  test_shutdown_in_flight(PK_POOL_CANCEL, PK_POOL_CANCEL);
}
static void test_drain_then_cancel(void) {
  test_shutdown_in_flight(PK_POOL_DRAIN, PK_POOL_CANCEL);
}

int main(void) {
  RUN(test_steady);
  RUN(test_drain_drain);
  RUN(test_cancel_cancel);
  RUN(test_drain_then_cancel);
  RUN(test_free_with_work);
  for (int round = 0; round < 5; round++) {
    RUN(test_drain_then_cancel);
    RUN(test_cancel_cancel);
  }
  return 0;
}
