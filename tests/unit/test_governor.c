/* test_governor.c — limits, try/timeout/limit/close outcomes, FIFO order,
 * lease rollback, and device detection over a fake sysfs tree. */
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "base/sys.h"
#include "runtime/governor.h"
#include "test.h"

#define MS (UINT64_C(1000000))

static pk_gov *make_gov(int cpu, int io, uint64_t mem) {
  pk_gov_config cfg = {.cpu_tokens = cpu, .io_tokens = io, .mem_budget = mem};
  pk_gov *gov = NULL;
  ASSERT_OK(pk_gov_create(&cfg, &gov));
  ASSERT(gov != NULL);
  return gov;
}

static pk_gov_res_stats res_stats(pk_gov *gov, pk_gov_res res) {
  pk_gov_stats st;
  pk_gov_get_stats(gov, &st);
  return st.res[res];
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Waits (bounded, as a hang guard rather than a timing assert) until
 * `n` requests are queued on res. */
static void wait_queued(pk_gov *gov, pk_gov_res res, uint64_t n) {
  for (int i = 0; i < 20000; i++) {
    if (res_stats(gov, res).waiting == n)
      return;
    sleep_ms(1);
  }
  TEST_FAIL_("never saw %ju waiters on %s", (uintmax_t)n, pk_gov_res_name(res));
}

/* ---- a thread that does one acquire -------------------------------------- */

typedef struct acq_job {
  pk_gov *gov;
  pk_gov_res res;
  uint64_t amount;
  uint64_t timeout_ns; /* 0: blocking */
  int lease;           /* acquire a lease of (1, 1, amount) instead */
  pk_gov_lease l;
  int rc;
  pthread_t th;
} acq_job;

static void *acq_main(void *p) {
  acq_job *j = p;
  if (j->lease)
    j->rc = pk_gov_lease_acquire(j->gov, &j->l, 1, 1, j->amount);
  else if (j->timeout_ns)
    j->rc = pk_gov_acquire_timeout(j->gov, j->res, j->amount, j->timeout_ns);
  else
    j->rc = pk_gov_acquire(j->gov, j->res, j->amount);
  return NULL;
}

static void acq_start(acq_job *j, pk_gov *gov, pk_gov_res res, uint64_t amount,
                      uint64_t timeout_ns) {
  *j = (acq_job){.gov = gov,
                 .res = res,
                 .amount = amount,
                 .timeout_ns = timeout_ns,
                 .rc = 1};
  ASSERT_EQ(pthread_create(&j->th, NULL, acq_main, j), 0);
}

static void acq_join(acq_job *j) {
  ASSERT_EQ(pthread_join(j->th, NULL), 0);
}

/* ---- basic limits ----------------------------------------------------------
 */

static void test_create_and_limits(void) {
  pk_gov *gov = make_gov(4, 2, 1000);
  ASSERT_UEQ(pk_gov_limit(gov, PK_GOV_CPU), 4);
  ASSERT_UEQ(pk_gov_limit(gov, PK_GOV_IO), 2);
  ASSERT_UEQ(pk_gov_limit(gov, PK_GOV_MEM), 1000);
  ASSERT_UEQ(pk_gov_limit(gov, (pk_gov_res)7), 0);
  pk_io_device d;
  pk_gov_io_device(gov, &d);
  ASSERT_EQ(d.tokens, 2);
  ASSERT_STREQ(d.detail, "configured");
  pk_gov_free(gov);
  pk_gov_free(NULL);

  pk_gov_config bad = {.cpu_tokens = -1};
  pk_gov *g2 = (pk_gov *)&bad; /* must stay untouched on error */
  ASSERT_ERR(pk_gov_create(&bad, &g2), PK_EINVAL);
  ASSERT(g2 == (pk_gov *)&bad);
  bad = (pk_gov_config){.io_tokens = -3};
  ASSERT_ERR(pk_gov_create(&bad, &g2), PK_EINVAL);
  ASSERT_ERR(pk_gov_create(NULL, NULL), PK_EINVAL);
  ASSERT_STREQ(pk_gov_res_name(PK_GOV_MEM), "mem");
}

static void test_defaults(void) {
  pk_gov *gov = NULL;
  ASSERT_OK(pk_gov_create(NULL, &gov));
  ASSERT_UEQ(pk_gov_limit(gov, PK_GOV_CPU), (uint64_t)pk_sys_ncpu());
  pk_io_device d;
  pk_gov_io_device(gov, &d);
  ASSERT_EQ(d.tokens, pk_io_kind_tokens(d.kind));
  ASSERT_UEQ(pk_gov_limit(gov, PK_GOV_IO), (uint64_t)d.tokens);
  uint64_t mem = pk_gov_limit(gov, PK_GOV_MEM);
  ASSERT(mem > 0);
  uint64_t phys = pk_sys_total_memory();
  if (phys)
    ASSERT_ULE(mem, phys / 4);
  fprintf(stderr, "   defaults: cpu %ju io %ju (%s %s: %s) mem %ju MiB\n",
          (uintmax_t)pk_gov_limit(gov, PK_GOV_CPU),
          (uintmax_t)pk_gov_limit(gov, PK_GOV_IO), pk_io_kind_name(d.kind),
          d.name, d.detail, (uintmax_t)(mem >> 20));
  pk_gov_free(gov);
}

static void test_limits_honoured(void) {
  pk_gov *gov = make_gov(4, 2, 1000);
  ASSERT_OK(pk_gov_acquire_cpu(gov, 3));
  ASSERT_OK(pk_gov_try_acquire_cpu(gov, 1));
  ASSERT_ERR(pk_gov_try_acquire_cpu(gov, 1), PK_EAGAIN);
  ASSERT_UEQ(res_stats(gov, PK_GOV_CPU).in_use, 4);
  ASSERT_OK(pk_gov_release_cpu(gov, 1));
  ASSERT_OK(pk_gov_try_acquire_cpu(gov, 1));
  ASSERT_OK(pk_gov_release_cpu(gov, 4));

  ASSERT_OK(pk_gov_acquire_mem(gov, 600));
  ASSERT_ERR(pk_gov_try_acquire_mem(gov, 401), PK_EAGAIN);
  ASSERT_OK(pk_gov_try_acquire_mem(gov, 400));
  ASSERT_ERR(pk_gov_try_acquire_mem(gov, 1), PK_EAGAIN);
  ASSERT_OK(pk_gov_acquire_mem(gov, 0)); /* nothing asked, nothing held */
  ASSERT_OK(pk_gov_release_mem(gov, 1000));

  ASSERT_OK(pk_gov_acquire_io(gov, 2));
  ASSERT_ERR(pk_gov_try_acquire_io(gov, 1), PK_EAGAIN);
  ASSERT_OK(pk_gov_release_io(gov, 2));

  /* Releasing more than is held is a caller bug: refused, nothing moves. */
  ASSERT_OK(pk_gov_acquire_cpu(gov, 1));
  ASSERT_ERR(pk_gov_release_cpu(gov, 2), PK_EINVAL);
  ASSERT_UEQ(res_stats(gov, PK_GOV_CPU).in_use, 1);
  ASSERT_OK(pk_gov_release_cpu(gov, 1));

  ASSERT_ERR(pk_gov_acquire(gov, (pk_gov_res)3, 1), PK_EINVAL);
  ASSERT_ERR(pk_gov_acquire(NULL, PK_GOV_CPU, 1), PK_EINVAL);
  ASSERT_ERR(pk_gov_release(gov, (pk_gov_res)-1, 1), PK_EINVAL);

  for (int r = 0; r < PK_GOV_NRES; r++) {
    pk_gov_res_stats s = res_stats(gov, (pk_gov_res)r);
    ASSERT_UEQ(s.in_use, 0);
    ASSERT_UEQ(s.peak, s.limit); /* each pool was filled once */
    ASSERT_UEQ(s.waits, 0);      /* nothing here had to sleep */
  }
  pk_gov_free(gov);
}

static void test_over_budget_fails_at_once(void) {
  pk_gov *gov = make_gov(4, 2, 1000);
  /* Blocking forms too: they must not wait for what can never be. */
  ASSERT_ERR(pk_gov_acquire_cpu(gov, 5), PK_ELIMIT);
  ASSERT_ERR(pk_gov_acquire_io(gov, 3), PK_ELIMIT);
  ASSERT_ERR(pk_gov_acquire_mem(gov, 1001), PK_ELIMIT);
  ASSERT_ERR(pk_gov_acquire_mem(gov, UINT64_MAX), PK_ELIMIT);
  ASSERT_ERR(pk_gov_try_acquire_mem(gov, 1001), PK_ELIMIT);
  ASSERT_ERR(pk_gov_acquire_mem_timeout(gov, 1001, 1000 * MS), PK_ELIMIT);
  /* Even while the pool is full (ELIMIT wins over waiting). */
  ASSERT_OK(pk_gov_acquire_mem(gov, 1000));
  ASSERT_ERR(pk_gov_acquire_mem(gov, 2000), PK_ELIMIT);
  ASSERT_OK(pk_gov_release_mem(gov, 1000));
  for (int r = 0; r < PK_GOV_NRES; r++)
    ASSERT_UEQ(res_stats(gov, (pk_gov_res)r).in_use, 0);
  pk_gov_free(gov);
}

static void test_timeout(void) {
  pk_gov *gov = make_gov(2, 2, 100);
  ASSERT_OK(pk_gov_acquire_cpu(gov, 2));
  ASSERT_ERR(pk_gov_acquire_cpu_timeout(gov, 1, 20 * MS), PK_ETIMEDOUT);
  ASSERT_ERR(pk_gov_acquire_cpu_timeout(gov, 1, 0), PK_ETIMEDOUT);
  pk_gov_res_stats s = res_stats(gov, PK_GOV_CPU);
  ASSERT_UEQ(s.in_use, 2);
  ASSERT_UEQ(s.waiting, 0);
  ASSERT_UEQ(s.timeouts, 1); /* the 0 timeout never slept */
  ASSERT_UEQ(s.waits, 1);
  ASSERT(s.wait_ns > 0);
  /* A timed acquire that fits succeeds. */
  ASSERT_OK(pk_gov_release_cpu(gov, 1));
  ASSERT_OK(pk_gov_acquire_cpu_timeout(gov, 1, 20 * MS));
  ASSERT_OK(pk_gov_release_cpu(gov, 2));

  ASSERT_OK(pk_gov_acquire_mem(gov, 60));
  ASSERT_ERR(pk_gov_acquire_mem_timeout(gov, 41, 10 * MS), PK_ETIMEDOUT);
  ASSERT_OK(pk_gov_acquire_mem_timeout(gov, 40, 10 * MS));
  ASSERT_OK(pk_gov_release_mem(gov, 100));
  pk_gov_free(gov);
}

/* A blocked waiter is granted by a release (handoff), and the wait is
 * counted. */
static void test_blocking_handoff(void) {
  pk_gov *gov = make_gov(1, 1, 100);
  ASSERT_OK(pk_gov_acquire_mem(gov, 100));
  acq_job j;
  acq_start(&j, gov, PK_GOV_MEM, 70, 0);
  wait_queued(gov, PK_GOV_MEM, 1);
  ASSERT_OK(pk_gov_release_mem(gov, 50)); /* 50 free: not enough */
  ASSERT_UEQ(res_stats(gov, PK_GOV_MEM).waiting, 1);
  ASSERT_OK(pk_gov_release_mem(gov, 50)); /* now 100 free */
  acq_join(&j);
  ASSERT_OK(j.rc);
  pk_gov_res_stats s = res_stats(gov, PK_GOV_MEM);
  ASSERT_UEQ(s.in_use, 70);
  ASSERT_UEQ(s.waits, 1);
  ASSERT_OK(pk_gov_release_mem(gov, 70));
  pk_gov_free(gov);
}

static pk_gov *make_fair_gov(uint64_t mem, uint64_t fair_ns) {
  pk_gov_config cfg = {.cpu_tokens = 1,
                       .io_tokens = 1,
                       .mem_budget = mem,
                       .fair_after_ns = fair_ns};
  pk_gov *gov = NULL;
  ASSERT_OK(pk_gov_create(&cfg, &gov));
  return gov;
}

/* One release that makes room for several waiters lets all of them
 * through: each head, once served, wakes the next. */
static void test_one_release_wakes_many(void) {
  pk_gov *gov = make_gov(1, 1, 10);
  ASSERT_OK(pk_gov_acquire_mem(gov, 10));
  acq_job j[3];
  for (int i = 0; i < 3; i++) {
    acq_start(&j[i], gov, PK_GOV_MEM, 3, 0);
    wait_queued(gov, PK_GOV_MEM, (uint64_t)i + 1);
  }
  ASSERT_OK(pk_gov_release_mem(gov, 10));
  for (int i = 0; i < 3; i++) {
    acq_join(&j[i]);
    ASSERT_OK(j[i].rc);
  }
  ASSERT_UEQ(res_stats(gov, PK_GOV_MEM).in_use, 9);
  ASSERT_OK(pk_gov_release_mem(gov, 9));
  pk_gov_free(gov);
}

/* Eventual fairness. While the head is young, a newcomer that fits passes
 * it; once the head has waited fair_after_ns, the next release turns the
 * pool strict: newcomers queue (tries fail) although they would fit, and
 * the big request is served first. */
static void test_fairness_big_request_not_starved(void) {
  pk_gov *gov = make_fair_gov(10, 2 * MS);
  ASSERT_OK(pk_gov_acquire_mem(gov, 6));
  acq_job big, small;
  acq_start(&big, gov, PK_GOV_MEM, 10, 0);
  wait_queued(gov, PK_GOV_MEM, 1);
  /* Normal mode: 4 bytes are free and a newcomer may take them. Nothing
   * re-judges the head between its queueing and this call, so this holds
   * however long the test thread was descheduled. */
  ASSERT_OK(pk_gov_try_acquire_mem(gov, 1));
  ASSERT_OK(pk_gov_release_mem(gov, 1));
  sleep_ms(3); /* the head is now older than fair_after_ns */
  ASSERT_OK(pk_gov_release_mem(gov, 1)); /* a release re-judges: strict */
  ASSERT_UEQ(res_stats(gov, PK_GOV_MEM).starved, 1);
  ASSERT_ERR(pk_gov_try_acquire_mem(gov, 1), PK_EAGAIN); /* 5 free, yet */
  acq_start(&small, gov, PK_GOV_MEM, 1, 0);
  wait_queued(gov, PK_GOV_MEM, 2); /* queued behind, although it fits */
  ASSERT_UEQ(res_stats(gov, PK_GOV_MEM).in_use, 5);
  ASSERT_OK(pk_gov_release_mem(gov, 5));
  acq_join(&big);
  ASSERT_OK(big.rc); /* the big one first ... */
  ASSERT_UEQ(res_stats(gov, PK_GOV_MEM).waiting, 1);
  ASSERT_UEQ(res_stats(gov, PK_GOV_MEM).in_use, 10);
  ASSERT_OK(pk_gov_release_mem(gov, 10));
  acq_join(&small); /* ... then the small one */
  ASSERT_OK(small.rc);
  ASSERT_OK(pk_gov_release_mem(gov, 1));
  pk_gov_res_stats s = res_stats(gov, PK_GOV_MEM);
  ASSERT_UEQ(s.in_use, 0);
  ASSERT_UEQ(s.waiting, 0);
  /* Back to normal mode with the queue empty. */
  ASSERT_OK(pk_gov_try_acquire_mem(gov, 10));
  ASSERT_OK(pk_gov_release_mem(gov, 10));
  pk_gov_free(gov);
}

/* When a starving head times out, those behind it that fit must be woken
 * (no lost wake-up). */
static void test_timed_out_head_unblocks_next(void) {
  pk_gov *gov = make_fair_gov(10, 1 * MS);
  ASSERT_OK(pk_gov_acquire_mem(gov, 8));
  acq_job head, next;
  acq_start(&head, gov, PK_GOV_MEM, 10, 300 * MS);
  wait_queued(gov, PK_GOV_MEM, 1);
  sleep_ms(3);
  ASSERT_OK(pk_gov_release_mem(gov, 1));   /* 3 free; the pool turns strict */
  acq_start(&next, gov, PK_GOV_MEM, 2, 0); /* fits, but must queue */
  wait_queued(gov, PK_GOV_MEM, 2);
  acq_join(&head);
  ASSERT_ERR(head.rc, PK_ETIMEDOUT);
  acq_join(&next);
  ASSERT_OK(next.rc);
  pk_gov_res_stats s = res_stats(gov, PK_GOV_MEM);
  ASSERT_UEQ(s.in_use, 9);
  ASSERT_UEQ(s.timeouts, 1);
  ASSERT_UEQ(s.waiting, 0);
  ASSERT_UEQ(s.waits, 2);
  ASSERT_OK(pk_gov_release_mem(gov, 9));
  pk_gov_free(gov);
}

static void test_close_wakes_waiters(void) {
  pk_gov *gov = make_gov(2, 1, 100);
  ASSERT_OK(pk_gov_acquire_cpu(gov, 2));
  ASSERT_OK(pk_gov_acquire_mem(gov, 100));
  acq_job cpu[3], mem, timed;
  for (int i = 0; i < 3; i++)
    acq_start(&cpu[i], gov, PK_GOV_CPU, 1, 0);
  acq_start(&mem, gov, PK_GOV_MEM, 1, 0);
  acq_start(&timed, gov, PK_GOV_MEM, 1, 3600000 * MS);
  wait_queued(gov, PK_GOV_CPU, 3);
  wait_queued(gov, PK_GOV_MEM, 2);
  pk_gov_close(gov);
  for (int i = 0; i < 3; i++) {
    acq_join(&cpu[i]);
    ASSERT_ERR(cpu[i].rc, PK_ECLOSED);
  }
  acq_join(&mem);
  ASSERT_ERR(mem.rc, PK_ECLOSED);
  acq_join(&timed);
  ASSERT_ERR(timed.rc, PK_ECLOSED);
  /* Later acquires fail; releases still work; close is idempotent. */
  ASSERT_ERR(pk_gov_try_acquire_io(gov, 1), PK_ECLOSED);
  ASSERT_ERR(pk_gov_acquire_io(gov, 1), PK_ECLOSED);
  pk_gov_lease l = PK_GOV_LEASE_INIT;
  ASSERT_ERR(pk_gov_lease_acquire(gov, &l, 1, 1, 1), PK_ECLOSED);
  ASSERT(l.gov == NULL);
  ASSERT_OK(pk_gov_release_cpu(gov, 2));
  ASSERT_OK(pk_gov_release_mem(gov, 100));
  pk_gov_close(gov);
  for (int r = 0; r < PK_GOV_NRES; r++) {
    pk_gov_res_stats s = res_stats(gov, (pk_gov_res)r);
    ASSERT_UEQ(s.in_use, 0);
    ASSERT_UEQ(s.waiting, 0);
  }
  pk_gov_free(gov);
}

/* ---- leases ----------------------------------------------------------------
 */

static void assert_all_free(pk_gov *gov) {
  for (int r = 0; r < PK_GOV_NRES; r++)
    ASSERT_UEQ(res_stats(gov, (pk_gov_res)r).in_use, 0);
}

static void test_lease_basic(void) {
  pk_gov *gov = make_gov(4, 2, 1000);
  pk_gov_lease l = PK_GOV_LEASE_INIT;
  ASSERT_OK(pk_gov_lease_acquire(gov, &l, 2, 1, 500));
  ASSERT(l.gov == gov);
  ASSERT_UEQ(res_stats(gov, PK_GOV_CPU).in_use, 2);
  ASSERT_UEQ(res_stats(gov, PK_GOV_IO).in_use, 1);
  ASSERT_UEQ(res_stats(gov, PK_GOV_MEM).in_use, 500);
  /* A lease that holds something cannot be reused without release. */
  ASSERT_ERR(pk_gov_lease_acquire(gov, &l, 1, 0, 0), PK_EINVAL);
  pk_gov_lease_release(&l);
  assert_all_free(gov);
  pk_gov_lease_release(&l); /* idempotent */
  pk_gov_lease_release(NULL);
  assert_all_free(gov);
  ASSERT(l.gov == NULL);

  /* Zero parts are fine. */
  ASSERT_OK(pk_gov_lease_try_acquire(gov, &l, 0, 0, 1000));
  pk_gov_lease_release(&l);
  ASSERT_ERR(pk_gov_lease_acquire(NULL, &l, 1, 1, 1), PK_EINVAL);
  ASSERT_ERR(pk_gov_lease_acquire(gov, NULL, 1, 1, 1), PK_EINVAL);
  assert_all_free(gov);
  pk_gov_free(gov);
}

static void test_lease_rollback(void) {
  pk_gov *gov = make_gov(4, 2, 1000);
  pk_gov_lease l = PK_GOV_LEASE_INIT;

  /* Over budget on the last part: refused before anything is taken. */
  ASSERT_ERR(pk_gov_lease_acquire(gov, &l, 1, 1, 1001), PK_ELIMIT);
  ASSERT_ERR(pk_gov_lease_acquire(gov, &l, 5, 1, 1), PK_ELIMIT);
  assert_all_free(gov);
  ASSERT_UEQ(res_stats(gov, PK_GOV_CPU).peak, 0);

  /* io exhausted: cpu was taken, then given back. */
  ASSERT_OK(pk_gov_acquire_io(gov, 2));
  ASSERT_ERR(pk_gov_lease_try_acquire(gov, &l, 3, 1, 10), PK_EAGAIN);
  ASSERT(l.gov == NULL);
  ASSERT_UEQ(res_stats(gov, PK_GOV_CPU).in_use, 0);
  ASSERT_UEQ(res_stats(gov, PK_GOV_CPU).peak, 3); /* it was really held */
  ASSERT_ERR(pk_gov_lease_acquire_timeout(gov, &l, 3, 1, 10, 5 * MS),
             PK_ETIMEDOUT);
  ASSERT_UEQ(res_stats(gov, PK_GOV_CPU).in_use, 0);
  ASSERT_OK(pk_gov_release_io(gov, 2));
  assert_all_free(gov);

  /* mem exhausted: cpu and io were taken, then given back. */
  ASSERT_OK(pk_gov_acquire_mem(gov, 995));
  ASSERT_ERR(pk_gov_lease_acquire_timeout(gov, &l, 4, 2, 10, 5 * MS),
             PK_ETIMEDOUT);
  ASSERT_ERR(pk_gov_lease_try_acquire(gov, &l, 4, 2, 10), PK_EAGAIN);
  ASSERT_UEQ(res_stats(gov, PK_GOV_CPU).in_use, 0);
  ASSERT_UEQ(res_stats(gov, PK_GOV_IO).in_use, 0);
  ASSERT_UEQ(res_stats(gov, PK_GOV_IO).peak, 2);
  ASSERT_OK(pk_gov_release_mem(gov, 995));
  assert_all_free(gov);

  /* Close while a lease waits on mem: cpu and io are given back. */
  ASSERT_OK(pk_gov_acquire_mem(gov, 1000));
  acq_job lj = {.gov = gov, .amount = 10, .lease = 1, .rc = 1};
  ASSERT_EQ(pthread_create(&lj.th, NULL, acq_main, &lj), 0);
  wait_queued(gov, PK_GOV_MEM, 1);
  ASSERT_UEQ(res_stats(gov, PK_GOV_CPU).in_use, 1);
  ASSERT_UEQ(res_stats(gov, PK_GOV_IO).in_use, 1);
  pk_gov_close(gov);
  acq_join(&lj);
  ASSERT_ERR(lj.rc, PK_ECLOSED);
  ASSERT(lj.l.gov == NULL);
  ASSERT_UEQ(res_stats(gov, PK_GOV_CPU).in_use, 0);
  ASSERT_UEQ(res_stats(gov, PK_GOV_IO).in_use, 0);
  ASSERT_OK(pk_gov_release_mem(gov, 1000));
  assert_all_free(gov);
  pk_gov_free(gov);
}

/* ---- device detection over a fake sysfs -----------------------------------
 */

static char g_root[256];

static void mkdirs(const char *rel) {
  char path[1024], *p;
  snprintf(path, sizeof path, "%s/%s", g_root, rel);
  for (p = path + strlen(g_root) + 1; *p; p++) {
    if (*p == '/') {
      *p = '\0';
      mkdir(path, 0755);
      *p = '/';
    }
  }
  mkdir(path, 0755);
}

static void put(const char *rel, const char *text) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", g_root, rel);
  FILE *f = fopen(path, "w");
  ASSERT(f != NULL);
  fputs(text, f);
  fclose(f);
}

static void link_to(const char *rel, const char *target) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", g_root, rel);
  ASSERT_EQ(symlink(target, path), 0);
}

static int rm_one(const char *path, const struct stat *sb, int flag,
                  struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static void build_fake_sysfs(void) {
  snprintf(g_root, sizeof g_root, "/tmp/pk_gov_sysfs.XXXXXX");
  ASSERT(mkdtemp(g_root) != NULL);
  mkdirs("dev/block");
  /* NVMe with a partition */
  mkdirs("devices/pci0/nvme/nvme0/nvme0n1/queue");
  put("devices/pci0/nvme/nvme0/nvme0n1/queue/rotational", "0\n");
  mkdirs("devices/pci0/nvme/nvme0/nvme0n1/nvme0n1p1");
  put("devices/pci0/nvme/nvme0/nvme0n1/nvme0n1p1/partition", "1\n");
  /* SATA SSD sda with sda1 */
  mkdirs("devices/pci0/ata1/block/sda/queue");
  put("devices/pci0/ata1/block/sda/queue/rotational", "0\n");
  mkdirs("devices/pci0/ata1/block/sda/sda1");
  put("devices/pci0/ata1/block/sda/sda1/partition", "1\n");
  /* HDD sdb with sdb2 */
  mkdirs("devices/pci0/ata2/block/sdb/queue");
  put("devices/pci0/ata2/block/sdb/queue/rotational", "1\n");
  mkdirs("devices/pci0/ata2/block/sdb/sdb2");
  put("devices/pci0/ata2/block/sdb/sdb2/partition", "2\n");
  /* sdc: no queue directory at all */
  mkdirs("devices/pci0/ata3/block/sdc");
  /* a virtio disk that claims to rotate */
  mkdirs("devices/pci0/virtio1/block/vda/queue");
  put("devices/pci0/virtio1/block/vda/queue/rotational", "1\n");
  /* dm-0 over an NVMe partition and an HDD partition: the HDD bounds it */
  mkdirs("devices/virtual/block/dm-0/queue");
  put("devices/virtual/block/dm-0/queue/rotational", "0\n");
  mkdirs("devices/virtual/block/dm-0/slaves");
  link_to("devices/virtual/block/dm-0/slaves/nvme0n1p1",
          "../../../../pci0/nvme/nvme0/nvme0n1/nvme0n1p1");
  link_to("devices/virtual/block/dm-0/slaves/sdb2",
          "../../../../pci0/ata2/block/sdb/sdb2");
  /* dm-1 over dm-0 (LVM on LUKS): recursion */
  mkdirs("devices/virtual/block/dm-1/slaves");
  link_to("devices/virtual/block/dm-1/slaves/dm-0", "../../dm-0");
  /* md0 RAID1 over sda1 and nvme0n1p1: the SSD bounds it */
  mkdirs("devices/virtual/block/md0/queue");
  put("devices/virtual/block/md0/queue/rotational", "0\n");
  mkdirs("devices/virtual/block/md0/slaves");
  link_to("devices/virtual/block/md0/slaves/sda1",
          "../../../../pci0/ata1/block/sda/sda1");
  link_to("devices/virtual/block/md0/slaves/nvme0n1p1",
          "../../../../pci0/nvme/nvme0/nvme0n1/nvme0n1p1");
  /* loop0 whose backing file is gone */
  mkdirs("devices/virtual/block/loop0/queue");
  put("devices/virtual/block/loop0/queue/rotational", "0\n");
  mkdirs("devices/virtual/block/loop0/loop");
  put("devices/virtual/block/loop0/loop/backing_file",
      "/nonexistent/pk_gov_test.img (deleted)\n");

  link_to("dev/block/259:0", "../../devices/pci0/nvme/nvme0/nvme0n1");
  link_to("dev/block/259:1", "../../devices/pci0/nvme/nvme0/nvme0n1/nvme0n1p1");
  link_to("dev/block/8:0", "../../devices/pci0/ata1/block/sda");
  link_to("dev/block/8:1", "../../devices/pci0/ata1/block/sda/sda1");
  link_to("dev/block/8:16", "../../devices/pci0/ata2/block/sdb");
  link_to("dev/block/8:18", "../../devices/pci0/ata2/block/sdb/sdb2");
  link_to("dev/block/8:32", "../../devices/pci0/ata3/block/sdc");
  link_to("dev/block/252:0", "../../devices/pci0/virtio1/block/vda");
  link_to("dev/block/253:0", "../../devices/virtual/block/dm-0");
  link_to("dev/block/253:1", "../../devices/virtual/block/dm-1");
  link_to("dev/block/9:0", "../../devices/virtual/block/md0");
  link_to("dev/block/7:0", "../../devices/virtual/block/loop0");
}

static pk_io_device detect(unsigned maj, unsigned min) {
  pk_io_device d;
  ASSERT_OK(pk_gov_detect_devnum_at(g_root, maj, min, &d));
  ASSERT_EQ(d.tokens, pk_io_kind_tokens(d.kind));
  ASSERT_EQ(d.major, maj);
  ASSERT_EQ(d.minor, min);
  fprintf(stderr, "   %u:%u -> %s %d %s (%s)\n", maj, min,
          pk_io_kind_name(d.kind), d.tokens, d.name, d.detail);
  return d;
}

static void test_detect_fake_sysfs(void) {
  build_fake_sysfs();
  pk_io_device d;

  d = detect(259, 0);
  ASSERT_EQ(d.kind, PK_IO_NVME);
  ASSERT_EQ(d.tokens, 24);
  ASSERT_STREQ(d.name, "nvme0n1");
  d = detect(259, 1); /* partition -> its disk */
  ASSERT_EQ(d.kind, PK_IO_NVME);
  ASSERT_STREQ(d.name, "nvme0n1");
  ASSERT(strstr(d.detail, "partition nvme0n1p1") != NULL);

  d = detect(8, 0);
  ASSERT_EQ(d.kind, PK_IO_SSD);
  ASSERT_EQ(d.tokens, 12);
  ASSERT_STREQ(d.name, "sda");
  d = detect(8, 1);
  ASSERT_EQ(d.kind, PK_IO_SSD);
  ASSERT_STREQ(d.name, "sda");
  ASSERT(strstr(d.detail, "partition sda1 of sda") != NULL);

  d = detect(8, 16);
  ASSERT_EQ(d.kind, PK_IO_HDD);
  ASSERT_EQ(d.tokens, 4);
  ASSERT_STREQ(d.name, "sdb");
  d = detect(8, 18);
  ASSERT_EQ(d.kind, PK_IO_HDD);
  ASSERT_STREQ(d.name, "sdb");

  d = detect(8, 32); /* no queue/rotational */
  ASSERT_EQ(d.kind, PK_IO_UNKNOWN);
  ASSERT_EQ(d.tokens, 12);
  d = detect(252, 0); /* virtio: rotational flag not trusted */
  ASSERT_EQ(d.kind, PK_IO_UNKNOWN);
  ASSERT_STREQ(d.name, "vda");
  d = detect(1, 99); /* no such entry */
  ASSERT_EQ(d.kind, PK_IO_UNKNOWN);
  ASSERT_EQ(d.tokens, 12);
  ASSERT_STREQ(d.name, "");

  d = detect(253, 0); /* dm over nvme + hdd: the slowest */
  ASSERT_EQ(d.kind, PK_IO_HDD);
  ASSERT_STREQ(d.name, "sdb");
  ASSERT(strstr(d.detail, "dm-0 over") != NULL);
  d = detect(253, 1); /* dm over dm */
  ASSERT_EQ(d.kind, PK_IO_HDD);
  ASSERT(strstr(d.detail, "dm-1 over dm-0 over") != NULL);
  d = detect(9, 0); /* md over ssd + nvme */
  ASSERT_EQ(d.kind, PK_IO_SSD);
  ASSERT_STREQ(d.name, "sda");
  d = detect(7, 0); /* loop with a vanished backing file */
  ASSERT_EQ(d.kind, PK_IO_UNKNOWN);
  ASSERT_STREQ(d.name, "loop0");

  /* A loop device backed by a file on that directory's device. */
  mkdirs("devices/virtual/block/loop1/loop");
  char backing[512];
  snprintf(backing, sizeof backing, "%s/devices\n", g_root);
  put("devices/virtual/block/loop1/loop/backing_file", backing);
  link_to("dev/block/7:1", "../../devices/virtual/block/loop1");
  d = detect(7, 1);
  ASSERT(strstr(d.detail, "loop1 backed by") != NULL);

  /* Path-based: point the fake entry for this directory's real device at
   * the HDD, and detect the directory itself through the fake tree. */
  struct stat st;
  ASSERT_EQ(stat(g_root, &st), 0);
  if (major(st.st_dev) != 0) {
    char rel[64];
    snprintf(rel, sizeof rel, "dev/block/%u:%u", major(st.st_dev),
             minor(st.st_dev));
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", g_root, rel);
    remove(path); /* in case the real number is one of the above */
    link_to(rel, "../../devices/pci0/ata2/block/sdb/sdb2");
    ASSERT_OK(pk_gov_detect_device_at(g_root, g_root, &d));
    ASSERT_EQ(d.kind, PK_IO_HDD);
    ASSERT_STREQ(d.name, "sdb");
    ASSERT_EQ(d.major, major(st.st_dev));
    d = detect(7, 1); /* the loop device's file now lives on "sdb" */
    ASSERT_EQ(d.kind, PK_IO_HDD);
  }

  ASSERT_EQ(nftw(g_root, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
}

static void test_detect_real(void) {
  const char *paths[] = {"/tmp", ".", NULL, "/"};
  for (int i = 0; i < 4; i++) {
    pk_io_device d;
    ASSERT_OK(pk_gov_detect_device(paths[i], &d));
    ASSERT(d.kind == PK_IO_UNKNOWN || d.kind == PK_IO_NVME ||
           d.kind == PK_IO_SSD || d.kind == PK_IO_HDD);
    ASSERT(d.tokens == 4 || d.tokens == 12 || d.tokens == 24);
    ASSERT_EQ(d.tokens, pk_io_kind_tokens(d.kind));
    ASSERT(d.detail[0] != '\0');
    fprintf(stderr, "   real %s -> %s %d tokens, %s (%s) dev %u:%u\n",
            paths[i] ? paths[i] : "(NULL)", pk_io_kind_name(d.kind), d.tokens,
            d.name, d.detail, d.major, d.minor);
  }
  struct stat st;
  if (stat("/dev/shm", &st) == 0 && major(st.st_dev) == 0) {
    pk_io_device d;
    ASSERT_OK(pk_gov_detect_device("/dev/shm", &d));
    ASSERT_EQ(d.kind, PK_IO_UNKNOWN); /* tmpfs: no block device */
    ASSERT_EQ(d.tokens, 12);
  }
  pk_io_device d;
  ASSERT_ERR(pk_gov_detect_device("/nonexistent/pk/gov", &d), PK_ENOENT);
  ASSERT_EQ(d.kind, PK_IO_UNKNOWN);
  ASSERT_EQ(d.tokens, 12);
  ASSERT_ERR(pk_gov_detect_device(".", NULL), PK_EINVAL);
  ASSERT_STREQ(pk_io_kind_name(PK_IO_NVME), "nvme");
  ASSERT_STREQ(pk_io_kind_name((pk_io_kind)42), "unknown");

  /* A governor detecting from /tmp agrees with the detection. */
  pk_gov_config cfg = {.cpu_tokens = 1, .mem_budget = 1, .io_path = "/tmp"};
  pk_gov *gov;
  ASSERT_OK(pk_gov_create(&cfg, &gov));
  ASSERT_OK(pk_gov_detect_device("/tmp", &d));
  ASSERT_UEQ(pk_gov_limit(gov, PK_GOV_IO), (uint64_t)d.tokens);
  pk_gov_free(gov);
}

int main(void) {
  RUN(test_create_and_limits);
  RUN(test_defaults);
  RUN(test_limits_honoured);
  RUN(test_over_budget_fails_at_once);
  RUN(test_timeout);
  RUN(test_blocking_handoff);
  RUN(test_one_release_wakes_many);
  RUN(test_fairness_big_request_not_starved);
  RUN(test_timed_out_head_unblocks_next);
  RUN(test_close_wakes_waiters);
  RUN(test_lease_basic);
  RUN(test_lease_rollback);
  RUN(test_detect_fake_sysfs);
  RUN(test_detect_real);
  return 0;
}
