/* test_mempressure.c — cgroup v2/v1 and meminfo readings over fake trees,
 * exact level boundaries, the real machine, and the monitor thread. */
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runtime/mempressure.h"
#include "test.h"

static char g_root[256];
static char g_proc[300], g_cg[300];

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

/* Writes through a rename so that a concurrent reader (the monitor) sees
 * the old or the new content, never half a number. */
static void put(const char *rel, const char *text) {
  char path[1024], tmp[1100];
  snprintf(path, sizeof path, "%s/%s", g_root, rel);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  ASSERT(f != NULL);
  fputs(text, f);
  ASSERT_EQ(fclose(f), 0);
  ASSERT_EQ(rename(tmp, path), 0);
}

static void unput(const char *rel) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", g_root, rel);
  remove(path);
}

static int rm_one(const char *path, const struct stat *sb, int flag,
                  struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static void fake_begin(void) {
  snprintf(g_root, sizeof g_root, "/tmp/pk_mempress.XXXXXX");
  ASSERT(mkdtemp(g_root) != NULL);
  snprintf(g_proc, sizeof g_proc, "%s/proc", g_root);
  snprintf(g_cg, sizeof g_cg, "%s/cg", g_root);
  mkdirs("proc/self");
  mkdirs("cg");
}

static void fake_end(void) {
  ASSERT_EQ(nftw(g_root, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
}

static pk_mempress_config fake_cfg(void) {
  return (pk_mempress_config){.proc_root = g_proc, .cgroup_root = g_cg};
}

/* 1,000,000 kB total, `avail_kb` available. */
static void put_meminfo(unsigned avail_kb) {
  char buf[256];
  snprintf(buf, sizeof buf,
           "MemTotal:        1000000 kB\nMemFree:          %u kB\n"
           "MemAvailable:     %u kB\nBuffers:            10 kB\n",
           avail_kb / 2, avail_kb);
  put("proc/meminfo", buf);
}

static void put_num(const char *rel, uint64_t v) {
  char buf[32];
  snprintf(buf, sizeof buf, "%ju\n", (uintmax_t)v);
  put(rel, buf);
}

static pk_mempress_reading sample(const pk_mempress_config *cfg) {
  pk_mempress_reading r;
  ASSERT_OK(pk_mempress_sample(cfg, &r));
  ASSERT(r.limit > 0);
  ASSERT_ULE(r.used, r.limit);
  return r;
}

/* ---- levels ----------------------------------------------------------------
 */

static void test_levels(void) {
  ASSERT_EQ(pk_mempress_level_for(NULL, 0, 100), PK_MEMPRESS_OK);
  ASSERT_EQ(pk_mempress_level_for(NULL, 79, 100), PK_MEMPRESS_OK);
  ASSERT_EQ(pk_mempress_level_for(NULL, 80, 100), PK_MEMPRESS_HIGH);
  ASSERT_EQ(pk_mempress_level_for(NULL, 94, 100), PK_MEMPRESS_HIGH);
  ASSERT_EQ(pk_mempress_level_for(NULL, 95, 100), PK_MEMPRESS_CRITICAL);
  ASSERT_EQ(pk_mempress_level_for(NULL, 100, 100), PK_MEMPRESS_CRITICAL);
  ASSERT_EQ(pk_mempress_level_for(NULL, 1, 0), PK_MEMPRESS_CRITICAL);
  /* Not a multiple of 100: 80 % of 7 is 5.6, 95 % is 6.65. */
  ASSERT_EQ(pk_mempress_level_for(NULL, 5, 7), PK_MEMPRESS_OK);
  ASSERT_EQ(pk_mempress_level_for(NULL, 6, 7), PK_MEMPRESS_HIGH);
  ASSERT_EQ(pk_mempress_level_for(NULL, 7, 7), PK_MEMPRESS_CRITICAL);
  /* Exact at byte granularity on a realistic limit: 8 GiB. */
  uint64_t g8 = UINT64_C(8) << 30; /* 80 % = 6871947673.6 */
  ASSERT_EQ(pk_mempress_level_for(NULL, UINT64_C(6871947673), g8),
            PK_MEMPRESS_OK);
  ASSERT_EQ(pk_mempress_level_for(NULL, UINT64_C(6871947674), g8),
            PK_MEMPRESS_HIGH);
  /* No overflow near the top of the range. */
  ASSERT_EQ(pk_mempress_level_for(NULL, UINT64_MAX, UINT64_MAX),
            PK_MEMPRESS_CRITICAL);
  ASSERT_EQ(pk_mempress_level_for(NULL, UINT64_MAX / 2, UINT64_MAX),
            PK_MEMPRESS_OK);
  ASSERT_EQ(pk_mempress_level_for(NULL, UINT64_MAX / 100 * 81, UINT64_MAX),
            PK_MEMPRESS_HIGH);
  /* Configured thresholds. */
  pk_mempress_config c = {.high_pct = 50, .critical_pct = 60};
  ASSERT_EQ(pk_mempress_level_for(&c, 49, 100), PK_MEMPRESS_OK);
  ASSERT_EQ(pk_mempress_level_for(&c, 50, 100), PK_MEMPRESS_HIGH);
  ASSERT_EQ(pk_mempress_level_for(&c, 60, 100), PK_MEMPRESS_CRITICAL);
  ASSERT_STREQ(pk_mempress_level_name(PK_MEMPRESS_HIGH), "high");
  ASSERT_STREQ(pk_mempress_level_name(PK_MEMPRESS_CRITICAL), "critical");
  ASSERT_STREQ(pk_mempress_level_name(PK_MEMPRESS_OK), "ok");
  ASSERT_STREQ(pk_mempress_source_name(PK_MEMPRESS_CGROUP), "cgroup");
}

/* ---- fake trees ------------------------------------------------------------
 */

static void test_cgroup_v2(void) {
  fake_begin();
  pk_mempress_config cfg = fake_cfg();
  put("proc/self/cgroup", "0::/a/b\n");
  put_meminfo(900000);
  mkdirs("cg/a/b");
  put("cg/a/b/memory.max", "1000000\n");
  put_num("cg/a/b/memory.current", 500000);
  put("cg/a/b/memory.stat", "anon 400000\nfile 100000\nactive_file 0\n"
                            "inactive_file 100000\n");
  pk_mempress_reading r = sample(&cfg);
  ASSERT_EQ(r.source, PK_MEMPRESS_CGROUP);
  ASSERT_EQ(r.cgroup_version, 2);
  ASSERT_STREQ(r.cgroup_path, "/a/b");
  ASSERT_UEQ(r.limit, 1000000);
  ASSERT_UEQ(r.used, 400000); /* inactive_file is not working set */
  ASSERT_EQ(r.level, PK_MEMPRESS_OK);

  /* Boundaries through the files. */
  unput("cg/a/b/memory.stat");
  put_num("cg/a/b/memory.current", 799999);
  ASSERT_EQ(sample(&cfg).level, PK_MEMPRESS_OK);
  put_num("cg/a/b/memory.current", 800000);
  ASSERT_EQ(sample(&cfg).level, PK_MEMPRESS_HIGH);
  put_num("cg/a/b/memory.current", 949999);
  ASSERT_EQ(sample(&cfg).level, PK_MEMPRESS_HIGH);
  put_num("cg/a/b/memory.current", 950000);
  ASSERT_EQ(sample(&cfg).level, PK_MEMPRESS_CRITICAL);
  /* Usage above the limit (the kernel lets it overshoot briefly) is
   * clamped. */
  put_num("cg/a/b/memory.current", 1200000);
  r = sample(&cfg);
  ASSERT_UEQ(r.used, 1000000);
  ASSERT_EQ(r.level, PK_MEMPRESS_CRITICAL);

  /* A tighter ancestor wins: /a has 800000 with 760000 used (95 %). */
  put_num("cg/a/b/memory.current", 100000);
  put("cg/a/memory.max", "800000\n");
  put_num("cg/a/memory.current", 760000);
  r = sample(&cfg);
  ASSERT_STREQ(r.cgroup_path, "/a");
  ASSERT_UEQ(r.limit, 800000);
  ASSERT_EQ(r.level, PK_MEMPRESS_CRITICAL);

  /* "max" everywhere: meminfo. 1e6 kB total, 150000 kB available. */
  put("cg/a/memory.max", "max\n");
  put("cg/a/b/memory.max", "max\n");
  put_meminfo(150000);
  r = sample(&cfg);
  ASSERT_EQ(r.source, PK_MEMPRESS_MEMINFO);
  ASSERT_EQ(r.cgroup_version, 0);
  ASSERT_STREQ(r.cgroup_path, "");
  ASSERT_UEQ(r.limit, UINT64_C(1000000) * 1024);
  ASSERT_UEQ(r.used, UINT64_C(850000) * 1024);
  ASSERT_EQ(r.level, PK_MEMPRESS_HIGH);

  /* A cgroup limit above the machine's memory is not the bound. */
  put_num("cg/a/b/memory.max", UINT64_C(2000000) * 1024);
  ASSERT_EQ(sample(&cfg).source, PK_MEMPRESS_MEMINFO);

  /* A limit at the mount's root (a container without a cgroup namespace
   * sees its own cgroup there, while /proc/self/cgroup names the host
   * path, which does not exist under the mount). */
  put("proc/self/cgroup", "0::/docker/0123abcd\n");
  put("cg/memory.max", "1000\n");
  put("cg/memory.current", "10\n");
  r = sample(&cfg);
  ASSERT_EQ(r.source, PK_MEMPRESS_CGROUP);
  ASSERT_STREQ(r.cgroup_path, "/");
  ASSERT_UEQ(r.limit, 1000);
  fake_end();
}

static void test_cgroup_v1(void) {
  fake_begin();
  pk_mempress_config cfg = fake_cfg();
  put("proc/self/cgroup", "5:cpu,cpuacct:/x\n4:memory:/x\n0::/\n");
  put_meminfo(900000);
  mkdirs("cg/memory/x");
  put_num("cg/memory/x/memory.limit_in_bytes", 2000);
  put_num("cg/memory/x/memory.usage_in_bytes", 1950);
  put("cg/memory/x/memory.stat",
      "cache 100\ninactive_file 30\ntotal_inactive_file 50\n");
  pk_mempress_reading r = sample(&cfg);
  ASSERT_EQ(r.source, PK_MEMPRESS_CGROUP);
  ASSERT_EQ(r.cgroup_version, 1);
  ASSERT_UEQ(r.used, 1900); /* total_ (hierarchical) inactive_file */
  ASSERT_UEQ(r.limit, 2000);
  ASSERT_EQ(r.level, PK_MEMPRESS_CRITICAL); /* exactly 95 % */

  /* The v1 "unlimited" value falls back to meminfo. */
  put("cg/memory/x/memory.limit_in_bytes", "9223372036854771712\n");
  ASSERT_EQ(sample(&cfg).source, PK_MEMPRESS_MEMINFO);

  /* "memory" must be a whole controller name. */
  put("proc/self/cgroup", "4:nomemory:/x\n");
  put_num("cg/memory/x/memory.limit_in_bytes", 2000);
  ASSERT_EQ(sample(&cfg).source, PK_MEMPRESS_MEMINFO);
  put("proc/self/cgroup", "4:cpu,memory:/x\n");
  ASSERT_EQ(sample(&cfg).source, PK_MEMPRESS_CGROUP);
  fake_end();
}

static void test_meminfo_only(void) {
  fake_begin();
  pk_mempress_config cfg = fake_cfg();
  pk_mempress_reading r;
  /* Nothing at all. */
  ASSERT_ERR(pk_mempress_sample(&cfg, &r), PK_ENOENT);
  /* No cgroup file; meminfo without MemAvailable (old kernels): MemFree. */
  put("proc/meminfo", "MemTotal: 1000 kB\nMemFree: 100 kB\n");
  r = sample(&cfg);
  ASSERT_EQ(r.source, PK_MEMPRESS_MEMINFO);
  ASSERT_UEQ(r.used, 900 * 1024);
  ASSERT_EQ(r.level, PK_MEMPRESS_HIGH);
  /* Garbage is not a number. */
  put("proc/meminfo", "MemTotal: lots\n");
  ASSERT_ERR(pk_mempress_sample(&cfg, &r), PK_ENOENT);
  /* Bad thresholds. */
  put_meminfo(1000);
  pk_mempress_config bad = cfg;
  bad.high_pct = 90;
  bad.critical_pct = 80;
  ASSERT_ERR(pk_mempress_sample(&bad, &r), PK_EINVAL);
  bad.high_pct = 90;
  bad.critical_pct = 101;
  ASSERT_ERR(pk_mempress_sample(&bad, &r), PK_EINVAL);
  ASSERT_ERR(pk_mempress_sample(&cfg, NULL), PK_EINVAL);
  fake_end();
}

static void test_real_machine(void) {
  pk_mempress_reading r = sample(NULL);
  ASSERT(r.level == PK_MEMPRESS_OK || r.level == PK_MEMPRESS_HIGH ||
         r.level == PK_MEMPRESS_CRITICAL);
  ASSERT_EQ(r.level, pk_mempress_level_for(NULL, r.used, r.limit));
  fprintf(stderr, "   real: %s v%d '%s' used %ju MiB of %ju MiB: %s\n",
          pk_mempress_source_name(r.source), r.cgroup_version, r.cgroup_path,
          (uintmax_t)(r.used >> 20), (uintmax_t)(r.limit >> 20),
          pk_mempress_level_name(r.level));
}

/* ---- monitor ---------------------------------------------------------------
 */

typedef struct events {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int n;
  pk_mempress_level now[16], prev[16];
} events;

static void on_change(void *arg, const pk_mempress_reading *r,
                      pk_mempress_level prev) {
  events *e = arg;
  pthread_mutex_lock(&e->mu);
  if (e->n < 16) {
    e->now[e->n] = r->level;
    e->prev[e->n] = prev;
  }
  e->n++;
  pthread_cond_broadcast(&e->cv);
  pthread_mutex_unlock(&e->mu);
}

/* Waits for the n-th event; the bound is a hang guard, not a timing assert
 * (the monitor samples every 2 ms). */
static void wait_event(events *e, int n) {
  pthread_mutex_lock(&e->mu);
  for (int i = 0; e->n < n && i < 200; i++) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 1;
    pthread_cond_timedwait(&e->cv, &e->mu, &ts);
  }
  int got = e->n;
  pthread_mutex_unlock(&e->mu);
  if (got < n)
    TEST_FAIL_("monitor never reported event %d", n);
}

static void test_monitor(void) {
  fake_begin();
  pk_mempress_config cfg = fake_cfg();
  put("proc/self/cgroup", "0::/job\n");
  put_meminfo(900000);
  mkdirs("cg/job");
  put("cg/job/memory.max", "1000\n");
  put("cg/job/memory.current", "500\n");

  events e = {.n = 0};
  pthread_mutex_init(&e.mu, NULL);
  pthread_cond_init(&e.cv, NULL);
  pk_mempress_monitor *mon = NULL;
  ASSERT_ERR(pk_mempress_monitor_start(&cfg, 0, on_change, &e, &mon),
             PK_EINVAL);
  ASSERT_ERR(pk_mempress_monitor_start(&cfg, 2, NULL, &e, &mon), PK_EINVAL);
  ASSERT_OK(pk_mempress_monitor_start(&cfg, 2, on_change, &e, &mon));

  /* Wait for a first sample; OK from OK is no change, so no callback. */
  pk_mempress_reading r;
  for (int i = 0; pk_mempress_monitor_last(mon, &r) != PK_OK; i++) {
    ASSERT_LT(i, 20000);
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
  }
  ASSERT_UEQ(r.used, 500);

  put("cg/job/memory.current", "850\n");
  wait_event(&e, 1);
  put("cg/job/memory.current", "990\n");
  wait_event(&e, 2);
  put("cg/job/memory.current", "100\n");
  wait_event(&e, 3);
  pk_mempress_monitor_stop(mon);
  pk_mempress_monitor_stop(NULL);

  ASSERT_EQ(e.n, 3); /* nothing after stop, no duplicate reports */
  ASSERT_EQ(e.prev[0], PK_MEMPRESS_OK);
  ASSERT_EQ(e.now[0], PK_MEMPRESS_HIGH);
  ASSERT_EQ(e.prev[1], PK_MEMPRESS_HIGH);
  ASSERT_EQ(e.now[1], PK_MEMPRESS_CRITICAL);
  ASSERT_EQ(e.prev[2], PK_MEMPRESS_CRITICAL);
  ASSERT_EQ(e.now[2], PK_MEMPRESS_OK);

  /* Started under pressure: reported at once. The config's strings are
   * copied, so a temporary buffer may go away after start. */
  put("cg/job/memory.current", "960\n");
  e.n = 0;
  char proc_copy[300];
  snprintf(proc_copy, sizeof proc_copy, "%s", g_proc);
  pk_mempress_config tmp = cfg;
  tmp.proc_root = proc_copy;
  ASSERT_OK(pk_mempress_monitor_start(&tmp, 1000, on_change, &e, &mon));
  memset(proc_copy, 0, sizeof proc_copy);
  wait_event(&e, 1);
  ASSERT_EQ(e.now[0], PK_MEMPRESS_CRITICAL);
  ASSERT_EQ(e.prev[0], PK_MEMPRESS_OK);
  /* Stop is prompt although the interval is a second: it wakes the
   * thread (a hang here would be the failure). */
  pk_mempress_monitor_stop(mon);

  pthread_mutex_destroy(&e.mu);
  pthread_cond_destroy(&e.cv);
  fake_end();
}

int main(void) {
  RUN(test_levels);
  RUN(test_cgroup_v2);
  RUN(test_cgroup_v1);
  RUN(test_meminfo_only);
  RUN(test_real_machine);
  RUN(test_monitor);
  return 0;
}
