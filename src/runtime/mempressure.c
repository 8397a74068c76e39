/* mempressure.c — see mempressure.h for where the numbers come from. */
#include "runtime/mempressure.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/error.h"

/* v1 reports "no limit" as PAGE_COUNTER_MAX pages (about 2^63 rounded to
 * the page size); anything this large is no limit. */
#define PK__V1_UNLIMITED (UINT64_C(1) << 62)

const char *pk_mempress_level_name(pk_mempress_level level) {
  switch (level) {
  case PK_MEMPRESS_OK:
    return "ok";
  case PK_MEMPRESS_HIGH:
    return "high";
  case PK_MEMPRESS_CRITICAL:
    return "critical";
  default:
    return "?";
  }
}

const char *pk_mempress_source_name(pk_mempress_source source) {
  return source == PK_MEMPRESS_CGROUP ? "cgroup" : "meminfo";
}

/* vsnprintf that says whether the text fit; a path that does not fit is
 * treated as a file that does not exist. */
__attribute__((format(printf, 3, 4))) static bool
pk__fmt(char *buf, size_t size, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, size, fmt, ap);
  va_end(ap);
  return n >= 0 && (size_t)n < size;
}

typedef struct pk__cfg {
  const char *proc, *cgroup;
  unsigned high, critical;
} pk__cfg;

static int pk__resolve(const pk_mempress_config *cfg, pk__cfg *c) {
  c->proc = cfg && cfg->proc_root ? cfg->proc_root : "/proc";
  c->cgroup = cfg && cfg->cgroup_root ? cfg->cgroup_root : "/sys/fs/cgroup";
  c->high = cfg && cfg->high_pct ? cfg->high_pct : 80;
  c->critical = cfg && cfg->critical_pct ? cfg->critical_pct : 95;
  if (c->high > c->critical || c->critical > 100)
    return PK_EINVAL;
  return PK_OK;
}

/* ceil(limit * pct / 100) without overflowing 64 bits: used reaches pct %
 * exactly when used * 100 >= limit * pct, i.e. used >= this. */
static uint64_t pk__threshold(uint64_t limit, unsigned pct) {
  uint64_t q = limit / 100, r = limit % 100;
  return q * pct + (r * pct + 99) / 100;
}

static pk_mempress_level pk__level(const pk__cfg *c, uint64_t used,
                                   uint64_t limit) {
  if (limit == 0 || used >= pk__threshold(limit, c->critical))
    return PK_MEMPRESS_CRITICAL;
  if (used >= pk__threshold(limit, c->high))
    return PK_MEMPRESS_HIGH;
  return PK_MEMPRESS_OK;
}

pk_mempress_level pk_mempress_level_for(const pk_mempress_config *cfg,
                                        uint64_t used, uint64_t limit) {
  pk__cfg c;
  if (pk__resolve(cfg, &c) != PK_OK)
    pk__resolve(NULL, &c);
  return pk__level(&c, used, limit);
}

/* Reads a whole small file into buf (NUL-terminated). */
static bool pk__slurp(const char *path, char *buf, size_t size) {
  FILE *f = fopen(path, "re");
  if (!f)
    return false;
  size_t n = fread(buf, 1, size - 1, f);
  bool ok = !ferror(f);
  fclose(f);
  buf[n] = '\0';
  return ok;
}

static bool pk__parse_u64(const char *s, uint64_t *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (end == s || errno != 0 || (*end != '\0' && *end != '\n'))
    return false;
  *out = (uint64_t)v;
  return true;
}

/* Finds "key value" (or "key: value") at the start of a line in buf. */
static bool pk__find_key(const char *buf, const char *key, uint64_t *out) {
  size_t kl = strlen(key);
  for (const char *p = buf; p && *p;
       p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
    if (strncmp(p, key, kl) == 0 && (p[kl] == ' ' || p[kl] == ':')) {
      const char *v = p + kl + 1;
      while (*v == ' ' || *v == '\t')
        v++;
      char *end;
      errno = 0;
      unsigned long long x = strtoull(v, &end, 10);
      if (end == v || errno != 0)
        return false;
      *out = (uint64_t)x;
      return true;
    }
  }
  return false;
}

static bool pk__read_meminfo(const pk__cfg *c, uint64_t *total,
                             uint64_t *avail) {
  char path[4096], buf[8192];
  uint64_t t, a;
  if (!pk__fmt(path, sizeof path, "%s/meminfo", c->proc) ||
      !pk__slurp(path, buf, sizeof buf) || !pk__find_key(buf, "MemTotal", &t))
    return false;
  /* MemAvailable exists since Linux 3.14; MemFree undercounts what is
   * available (it ignores reclaimable cache) but is the next best. */
  if (!pk__find_key(buf, "MemAvailable", &a) &&
      !pk__find_key(buf, "MemFree", &a))
    return false;
  if (t > UINT64_MAX / 1024)
    return false;
  *total = t * 1024;
  *avail = a * 1024 > *total ? *total : a * 1024;
  return true;
}

typedef struct pk__best {
  bool found;
  uint64_t used, limit;
  int version;
  char path[256];
} pk__best;

/* Reads one cgroup directory's limit and working set; false if it has no
 * limit (or none tighter than the machine's memory). */
static bool pk__read_level(const char *dir, int version, uint64_t memtotal,
                           uint64_t *used, uint64_t *limit) {
  char path[4096], buf[8192];
  uint64_t lim, usage, inactive = 0;
  if (!pk__fmt(path, sizeof path, "%s/%s", dir,
               version == 2 ? "memory.max" : "memory.limit_in_bytes") ||
      !pk__slurp(path, buf, sizeof buf) || !pk__parse_u64(buf, &lim))
    return false; /* missing, or "max" */
  if (lim == 0 || (version == 1 && lim >= PK__V1_UNLIMITED) ||
      (memtotal && lim >= memtotal))
    return false;
  if (!pk__fmt(path, sizeof path, "%s/%s", dir,
               version == 2 ? "memory.current" : "memory.usage_in_bytes") ||
      !pk__slurp(path, buf, sizeof buf) || !pk__parse_u64(buf, &usage))
    return false;
  if (pk__fmt(path, sizeof path, "%s/memory.stat", dir) &&
      pk__slurp(path, buf, sizeof buf)) {
    /* v1's inactive_file is this cgroup's only; total_ includes children,
     * as usage_in_bytes does. */
    if (!(version == 1 && pk__find_key(buf, "total_inactive_file", &inactive)))
      if (!pk__find_key(buf, "inactive_file", &inactive))
        inactive = 0;
  }
  usage = inactive < usage ? usage - inactive : 0;
  *used = usage > lim ? lim : usage;
  *limit = lim;
  return true;
}

/* Walks cgpath and its ancestors under root, keeping the most pressed. */
static void pk__walk(const char *root, const char *cgpath, int version,
                     uint64_t memtotal, pk__best *best) {
  char path[4096], dir[4096];
  if (!pk__fmt(path, sizeof path, "%s", cgpath))
    return;
  for (;;) {
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
      path[--n] = '\0';
    uint64_t used, limit;
    if (pk__fmt(dir, sizeof dir, "%s%s", root,
                strcmp(path, "/") == 0 ? "" : path) &&
        pk__read_level(dir, version, memtotal, &used, &limit)) {
      /* used/limit > best.used/best.limit, without division rounding. */
      if (!best->found ||
          (long double)used * best->limit > (long double)best->used * limit) {
        best->found = true;
        best->used = used;
        best->limit = limit;
        best->version = version;
        (void)pk__fmt(best->path, sizeof best->path, "%s", path);
      }
    }
    char *slash = strrchr(path, '/');
    if (!slash || strcmp(path, "/") == 0 || path[0] == '\0')
      break;
    if (slash == path)
      slash[1] = '\0';
    else
      *slash = '\0';
  }
}

/* Is "memory" one of the comma-separated controllers? */
static bool pk__has_memory_ctrl(const char *ctrls, size_t len) {
  const char *p = ctrls, *end = ctrls + len;
  while (p < end) {
    const char *comma = memchr(p, ',', (size_t)(end - p));
    size_t l = comma ? (size_t)(comma - p) : (size_t)(end - p);
    if (l == 6 && strncmp(p, "memory", 6) == 0)
      return true;
    p += l + 1;
  }
  return false;
}

static void pk__cgroups(const pk__cfg *c, uint64_t memtotal, pk__best *best) {
  char path[4096], buf[8192], root[4096];
  if (!pk__fmt(path, sizeof path, "%s/self/cgroup", c->proc) ||
      !pk__slurp(path, buf, sizeof buf))
    return;
  char *save = NULL;
  for (char *line = strtok_r(buf, "\n", &save); line;
       line = strtok_r(NULL, "\n", &save)) {
    /* "hierarchy-id:controllers:path"; the path may itself hold ':'. */
    char *c1 = strchr(line, ':');
    char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2 || c2[1] != '/')
      continue;
    const char *cg = c2 + 1;
    if (strncmp(line, "0::", 3) == 0) {
      pk__walk(c->cgroup, cg, 2, memtotal, best);
    } else if (pk__has_memory_ctrl(c1 + 1, (size_t)(c2 - c1 - 1))) {
      if (pk__fmt(root, sizeof root, "%s/memory", c->cgroup))
        pk__walk(root, cg, 1, memtotal, best);
    }
  }
}

int pk_mempress_sample(const pk_mempress_config *cfg,
                       pk_mempress_reading *out) {
  pk__cfg c;
  if (!out || pk__resolve(cfg, &c) != PK_OK)
    return PK_EINVAL;
  memset(out, 0, sizeof *out);
  uint64_t total = 0, avail = 0;
  bool have_meminfo = pk__read_meminfo(&c, &total, &avail);
  pk__best best = {0};
  pk__cgroups(&c, have_meminfo ? total : 0, &best);
  if (best.found) {
    out->used = best.used;
    out->limit = best.limit;
    out->source = PK_MEMPRESS_CGROUP;
    out->cgroup_version = best.version;
    (void)pk__fmt(out->cgroup_path, sizeof out->cgroup_path, "%s", best.path);
  } else if (have_meminfo && total > 0) {
    out->used = total - avail;
    out->limit = total;
    out->source = PK_MEMPRESS_MEMINFO;
  } else {
    return PK_ENOENT;
  }
  out->level = pk__level(&c, out->used, out->limit);
  return PK_OK;
}

/* ---- monitor ------------------------------------------------------------- */

struct pk_mempress_monitor {
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;        /* CLOCK_MONOTONIC; signalled by stop */
  bool stop;                /* under mu */
  bool have_last;           /* under mu */
  pk_mempress_reading last; /* under mu */
  pk_mempress_config cfg;   /* roots point into the copies below */
  char *proc_root, *cgroup_root;
  uint64_t interval_ns;
  pk_mempress_cb cb;
  void *arg;
};

static void *pk__monitor_main(void *p) {
  pk_mempress_monitor *m = p;
  pk_mempress_level prev = PK_MEMPRESS_OK;
  pthread_mutex_lock(&m->mu);
  while (!m->stop) {
    pthread_mutex_unlock(&m->mu);
    pk_mempress_reading r;
    if (pk_mempress_sample(&m->cfg, &r) == PK_OK) {
      pthread_mutex_lock(&m->mu);
      m->last = r;
      m->have_last = true;
      pthread_mutex_unlock(&m->mu);
      if (r.level != prev)
        m->cb(m->arg, &r, prev);
      prev = r.level;
    }
    uint64_t deadline = pk_now_ns() + m->interval_ns;
    struct timespec ts = {.tv_sec = (time_t)(deadline / 1000000000u),
                          .tv_nsec = (long)(deadline % 1000000000u)};
    pthread_mutex_lock(&m->mu);
    while (!m->stop && pthread_cond_timedwait(&m->cv, &m->mu, &ts) == 0) {
    }
  }
  pthread_mutex_unlock(&m->mu);
  return NULL;
}

static void pk__monitor_destroy(pk_mempress_monitor *m) {
  free(m->proc_root);
  free(m->cgroup_root);
  free(m);
}

int pk_mempress_monitor_start(const pk_mempress_config *cfg,
                              unsigned interval_ms, pk_mempress_cb cb,
                              void *arg, pk_mempress_monitor **out) {
  pk__cfg c;
  if (!cb || !out || interval_ms == 0 || pk__resolve(cfg, &c) != PK_OK)
    return PK_EINVAL;
  pk_mempress_monitor *m = calloc(1, sizeof *m);
  if (!m)
    return PK_ENOMEM;
  m->proc_root = strdup(c.proc);
  m->cgroup_root = strdup(c.cgroup);
  if (!m->proc_root || !m->cgroup_root) {
    pk__monitor_destroy(m);
    return PK_ENOMEM;
  }
  m->cfg =
      (pk_mempress_config){m->proc_root, m->cgroup_root, c.high, c.critical};
  m->interval_ns = (uint64_t)interval_ms * 1000000u;
  m->cb = cb;
  m->arg = arg;

  pthread_condattr_t ca;
  int rc = PK_ESYS;
  if (pthread_condattr_init(&ca) != 0)
    goto fail_free;
  if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
      pthread_cond_init(&m->cv, &ca) != 0) {
    pthread_condattr_destroy(&ca);
    goto fail_free;
  }
  pthread_condattr_destroy(&ca);
  if (pthread_mutex_init(&m->mu, NULL) != 0)
    goto fail_cv;
  if (pthread_create(&m->thread, NULL, pk__monitor_main, m) != 0)
    goto fail_mu;
  *out = m;
  return PK_OK;

fail_mu:
  pthread_mutex_destroy(&m->mu);
fail_cv:
  pthread_cond_destroy(&m->cv);
fail_free:
  pk__monitor_destroy(m);
  return rc;
}

int pk_mempress_monitor_last(pk_mempress_monitor *mon,
                             pk_mempress_reading *out) {
  if (!mon || !out)
    return PK_EINVAL;
  pthread_mutex_lock(&mon->mu);
  int rc = mon->have_last ? PK_OK : PK_EAGAIN;
  if (mon->have_last)
    *out = mon->last;
  pthread_mutex_unlock(&mon->mu);
  return rc;
}

void pk_mempress_monitor_stop(pk_mempress_monitor *mon) {
  if (!mon)
    return;
  pthread_mutex_lock(&mon->mu);
  mon->stop = true;
  pthread_cond_signal(&mon->cv);
  pthread_mutex_unlock(&mon->mu);
  pthread_join(mon->thread, NULL);
  pthread_mutex_destroy(&mon->mu);
  pthread_cond_destroy(&mon->cv);
  pk__monitor_destroy(mon);
}
