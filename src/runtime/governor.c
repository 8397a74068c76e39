/* governor.c — see governor.h for the design. */
#include "runtime/governor.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "base/clock.h"
#include "base/error.h"
#include "base/sys.h"
#include "runtime/mempressure.h"

#define PK__DEFAULT_MEM_BYTES (UINT64_C(1) << 30)
#define PK__MAX_DEPTH 8 /* dm over md over partition over ... is plenty */

/* ---- pools --------------------------------------------------------------- */

enum { PK__WAITING = 1, PK__GRANTED = 0 }; /* or a PK_E* code */

#define PK__DEFAULT_FAIR_NS (UINT64_C(1000000)) /* 1 ms, as Go's sync.Mutex */

/* One sleeping request; lives on the waiting thread's stack. */
typedef struct pk__waiter {
  struct pk__waiter *next, *prev;
  uint64_t amount;
  uint64_t since; /* pk_now_ns() when it queued */
  int state;      /* PK__WAITING, PK__GRANTED or a PK_E*; under the lock */
  pthread_cond_t cond;
} pk__waiter;

/* Cache-line aligned so that threads hammering the CPU pool do not slow
 * the memory pool by false sharing. */
typedef struct pk__pool {
  alignas(64) _Atomic uint64_t used;
  _Atomic uint64_t nwait; /* queue length; read lock-free by releasers */
  _Atomic bool strict;    /* FIFO only: newcomers may not pass the queue */
  _Atomic uint64_t peak;
  uint64_t limit;
  uint64_t fair_ns; /* how long the head may be passed over */
  pthread_mutex_t mu;
  pk__waiter *head, *tail; /* FIFO; under mu */
  _Atomic uint64_t waits, wait_ns, timeouts, starved;
} pk__pool;

struct pk_gov {
  pk__pool pool[PK_GOV_NRES];
  _Atomic bool closed;
  pthread_condattr_t condattr; /* CLOCK_MONOTONIC, for waiters' conds */
  pk_io_device io_dev;
};

static void pk__note_peak(pk__pool *p, uint64_t now) {
  uint64_t peak = atomic_load_explicit(&p->peak, memory_order_relaxed);
  while (now > peak && !atomic_compare_exchange_weak_explicit(
                           &p->peak, &peak, now, memory_order_relaxed,
                           memory_order_relaxed)) {
  }
}

/* Takes n if it fits. Sequentially consistent: see "Why no wake-up is
 * lost" in governor.h; this load of `used` pairs with a releaser's load of
 * nwait. */
static bool pk__try_take(pk__pool *p, uint64_t n) {
  uint64_t u = atomic_load(&p->used);
  do {
    if (n > p->limit - u)
      return false;
  } while (!atomic_compare_exchange_weak(&p->used, &u, u + n));
  pk__note_peak(p, u + n);
  return true;
}

static void pk__unlink(pk__pool *p, pk__waiter *w) {
  if (w->prev)
    w->prev->next = w->next;
  else
    p->head = w->next;
  if (w->next)
    w->next->prev = w->prev;
  else
    p->tail = w->prev;
  w->next = w->prev = NULL;
  atomic_fetch_sub(&p->nwait, 1);
}

/* Strict mode is on exactly while the head has waited fair_ns or longer
 * (Go's sync.Mutex enters and leaves starvation mode by the same rule).
 * Under p->mu. */
static void pk__update_strict(pk__pool *p, uint64_t now) {
  bool starving = p->head && now - p->head->since >= p->fair_ns;
  if (starving != atomic_load_explicit(&p->strict, memory_order_relaxed)) {
    atomic_store(&p->strict, starving);
    if (starving)
      atomic_fetch_add_explicit(&p->starved, 1, memory_order_relaxed);
  }
}

/* After anything that frees resources or changes the head: re-judge
 * strictness and wake the head if its request fits now. The head takes
 * for itself when it runs (no handoff: a handoff to a sleeping thread
 * costs a context switch per acquire once a queue forms, the lock convoy).
 * Only the head is woken, and only when it fits, so no herd. Under p->mu. */
static void pk__poke_head(pk__pool *p) {
  if (!p->head) {
    atomic_store(&p->strict, false);
    return;
  }
  pk__update_strict(p, pk_now_ns());
  if (p->head->amount <= p->limit - atomic_load(&p->used))
    pthread_cond_signal(&p->head->cond);
}

enum pk__mode { PK__BLOCK, PK__TRY, PK__TIMED };

/* Queues and sleeps. Kept out of line so that the fast path in
 * pk__acquire() does not pay for this frame (the waiter and its condvar
 * live on this stack). */
__attribute__((noinline)) static int pk__acquire_slow(pk_gov *gov, pk__pool *p,
                                                      uint64_t n,
                                                      enum pk__mode mode,
                                                      uint64_t deadline_ns) {
  pk__waiter w = {.amount = n, .state = PK__WAITING};
  if (pthread_cond_init(&w.cond, &gov->condattr) != 0)
    return PK_ESYS;
  pthread_mutex_lock(&p->mu);
  if (atomic_load_explicit(&gov->closed, memory_order_relaxed)) {
    pthread_mutex_unlock(&p->mu);
    pthread_cond_destroy(&w.cond);
    return PK_ECLOSED;
  }
  w.since = pk_now_ns();
  w.prev = p->tail;
  if (p->tail)
    p->tail->next = &w;
  else
    p->head = &w;
  p->tail = &w;
  atomic_fetch_add(&p->nwait, 1);

  bool slept = false, timed_out = false;
  struct timespec abs = pk_mono_timespec(deadline_ns);
  /* Only pk_gov_close() changes w.state from outside (and unlinks w). */
  while (w.state == PK__WAITING) {
    /* Only the head takes from the queue's side. It tries right after
     * publishing nwait (a release that ran before saw no waiter and will
     * not wake it), after every wake-up, and once more on timeout. */
    if (p->head == &w) {
      if (pk__try_take(p, n)) {
        pk__unlink(p, &w);
        w.state = PK__GRANTED;
        pk__poke_head(p); /* the next one may fit too */
        break;
      }
      pk__update_strict(p, pk_now_ns());
    }
    if (timed_out) {
      bool was_head = p->head == &w;
      pk__unlink(p, &w);
      if (was_head)
        pk__poke_head(p); /* the ones behind may fit, or be young */
      w.state = PK_ETIMEDOUT;
      atomic_fetch_add_explicit(&p->timeouts, 1, memory_order_relaxed);
      break;
    }
    slept = true;
    if (mode == PK__BLOCK)
      pthread_cond_wait(&w.cond, &p->mu);
    else
      timed_out = pthread_cond_timedwait(&w.cond, &p->mu, &abs) == ETIMEDOUT;
  }
  pthread_mutex_unlock(&p->mu);
  pthread_cond_destroy(&w.cond);
  if (slept) {
    atomic_fetch_add_explicit(&p->waits, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&p->wait_ns, pk_now_ns() - w.since,
                              memory_order_relaxed);
  }
  return w.state;
}

/* The one acquire. deadline_ns is absolute (pk_now_ns() clock) for
 * PK__TIMED. */
static int pk__acquire(pk_gov *gov, pk_gov_res res, uint64_t n,
                       enum pk__mode mode, uint64_t deadline_ns) {
  if (!gov || (unsigned)res >= PK_GOV_NRES)
    return PK_EINVAL;
  pk__pool *p = &gov->pool[res];
  if (atomic_load_explicit(&gov->closed, memory_order_acquire))
    return PK_ECLOSED;
  if (n > p->limit)
    return PK_ELIMIT;
  if (n == 0)
    return PK_OK;
  /* Newcomers may pass waiters unless the pool is strict. */
  if (!atomic_load_explicit(&p->strict, memory_order_relaxed) &&
      pk__try_take(p, n))
    return PK_OK;
  if (mode == PK__TRY)
    return PK_EAGAIN;
  if (mode == PK__TIMED && pk_now_ns() >= deadline_ns)
    return PK_ETIMEDOUT;
  return pk__acquire_slow(gov, p, n, mode, deadline_ns);
}

int pk_gov_acquire(pk_gov *gov, pk_gov_res res, uint64_t amount) {
  return pk__acquire(gov, res, amount, PK__BLOCK, 0);
}

int pk_gov_try_acquire(pk_gov *gov, pk_gov_res res, uint64_t amount) {
  return pk__acquire(gov, res, amount, PK__TRY, 0);
}

int pk_gov_acquire_timeout(pk_gov *gov, pk_gov_res res, uint64_t amount,
                           uint64_t timeout_ns) {
  return pk__acquire(gov, res, amount, PK__TIMED, pk_deadline_ns(timeout_ns));
}

int pk_gov_release(pk_gov *gov, pk_gov_res res, uint64_t amount) {
  if (!gov || (unsigned)res >= PK_GOV_NRES)
    return PK_EINVAL;
  if (amount == 0)
    return PK_OK;
  pk__pool *p = &gov->pool[res];
  uint64_t u = atomic_load(&p->used);
  do {
    if (amount > u)
      return PK_EINVAL;
  } while (!atomic_compare_exchange_weak(&p->used, &u, u - amount));
  /* Pairs with the waiter's nwait increment; see governor.h. */
  if (atomic_load(&p->nwait) > 0) {
    pthread_mutex_lock(&p->mu);
    pk__poke_head(p);
    pthread_mutex_unlock(&p->mu);
  }
  return PK_OK;
}

void pk_gov_close(pk_gov *gov) {
  if (!gov)
    return;
  atomic_store_explicit(&gov->closed, true, memory_order_release);
  for (int r = 0; r < PK_GOV_NRES; r++) {
    pk__pool *p = &gov->pool[r];
    pthread_mutex_lock(&p->mu);
    while (p->head) {
      pk__waiter *w = p->head;
      pk__unlink(p, w);
      w->state = PK_ECLOSED;
      pthread_cond_signal(&w->cond);
    }
    atomic_store(&p->strict, false);
    pthread_mutex_unlock(&p->mu);
  }
}

/* ---- leases -------------------------------------------------------------- */

static int pk__lease(pk_gov *gov, pk_gov_lease *lease, unsigned cpu,
                     unsigned io, uint64_t mem, enum pk__mode mode,
                     uint64_t deadline_ns) {
  if (!gov || !lease || lease->gov || lease->cpu || lease->io || lease->mem)
    return PK_EINVAL;
  const uint64_t want[PK_GOV_NRES] = {cpu, io, mem};
  /* All limits first: failing on mem after waiting for cpu would make the
   * caller wait for an answer that was known at once. */
  for (int r = 0; r < PK_GOV_NRES; r++)
    if (want[r] > gov->pool[r].limit)
      return PK_ELIMIT;
  int r = 0, rc = PK_OK;
  for (; r < PK_GOV_NRES; r++) {
    rc = pk__acquire(gov, (pk_gov_res)r, want[r], mode, deadline_ns);
    if (rc != PK_OK)
      break;
  }
  if (rc != PK_OK) {
    while (r-- > 0)
      pk_gov_release(gov, (pk_gov_res)r, want[r]);
    return rc;
  }
  lease->gov = gov;
  lease->cpu = cpu;
  lease->io = io;
  lease->mem = mem;
  return PK_OK;
}

int pk_gov_lease_acquire(pk_gov *gov, pk_gov_lease *lease, unsigned cpu,
                         unsigned io, uint64_t mem) {
  return pk__lease(gov, lease, cpu, io, mem, PK__BLOCK, 0);
}

int pk_gov_lease_try_acquire(pk_gov *gov, pk_gov_lease *lease, unsigned cpu,
                             unsigned io, uint64_t mem) {
  return pk__lease(gov, lease, cpu, io, mem, PK__TRY, 0);
}

int pk_gov_lease_acquire_timeout(pk_gov *gov, pk_gov_lease *lease, unsigned cpu,
                                 unsigned io, uint64_t mem,
                                 uint64_t timeout_ns) {
  return pk__lease(gov, lease, cpu, io, mem, PK__TIMED,
                   pk_deadline_ns(timeout_ns));
}

void pk_gov_lease_release(pk_gov_lease *lease) {
  if (!lease || !lease->gov)
    return;
  pk_gov_release(lease->gov, PK_GOV_MEM, lease->mem);
  pk_gov_release(lease->gov, PK_GOV_IO, lease->io);
  pk_gov_release(lease->gov, PK_GOV_CPU, lease->cpu);
  *lease = (pk_gov_lease)PK_GOV_LEASE_INIT;
}

/* ---- stats and accessors ------------------------------------------------- */

const char *pk_gov_res_name(pk_gov_res res) {
  switch (res) {
  case PK_GOV_CPU:
    return "cpu";
  case PK_GOV_IO:
    return "io";
  case PK_GOV_MEM:
    return "mem";
  default:
    return "?";
  }
}

uint64_t pk_gov_limit(const pk_gov *gov, pk_gov_res res) {
  if (!gov || (unsigned)res >= PK_GOV_NRES)
    return 0;
  return gov->pool[res].limit;
}

void pk_gov_io_device(const pk_gov *gov, pk_io_device *out) {
  if (gov && out)
    *out = gov->io_dev;
}

void pk_gov_get_stats(const pk_gov *gov, pk_gov_stats *out) {
  if (!out)
    return;
  memset(out, 0, sizeof *out);
  if (!gov)
    return;
  for (int r = 0; r < PK_GOV_NRES; r++) {
    /* The stats are read-only here; C11 atomic loads take non-const
     * pointers, hence the cast. */
    pk__pool *p = (pk__pool *)(uintptr_t)&gov->pool[r];
    pk_gov_res_stats *s = &out->res[r];
    s->limit = p->limit;
    s->in_use = atomic_load_explicit(&p->used, memory_order_relaxed);
    s->peak = atomic_load_explicit(&p->peak, memory_order_relaxed);
    s->waiting = atomic_load_explicit(&p->nwait, memory_order_relaxed);
    s->waits = atomic_load_explicit(&p->waits, memory_order_relaxed);
    s->wait_ns = atomic_load_explicit(&p->wait_ns, memory_order_relaxed);
    s->timeouts = atomic_load_explicit(&p->timeouts, memory_order_relaxed);
    s->starved = atomic_load_explicit(&p->starved, memory_order_relaxed);
  }
}

/* ---- lifecycle ----------------------------------------------------------- */

static uint64_t pk__default_mem(void) {
  pk_mempress_reading r;
  uint64_t limit = 0;
  if (pk_mempress_sample(NULL, &r) == PK_OK)
    limit = r.limit;
  if (limit == 0)
    limit = pk_sys_total_memory();
  return limit >= 4 ? limit / 4 : PK__DEFAULT_MEM_BYTES;
}

int pk_gov_create(const pk_gov_config *cfg, pk_gov **out) {
  static const pk_gov_config defaults = {0};
  if (!out)
    return PK_EINVAL;
  if (!cfg)
    cfg = &defaults;
  if (cfg->cpu_tokens < 0 || cfg->io_tokens < 0)
    return PK_EINVAL;

  pk_gov *gov = aligned_alloc(alignof(pk_gov), sizeof(pk_gov));
  if (!gov)
    return PK_ENOMEM;
  memset(gov, 0, sizeof *gov);

  if (cfg->io_tokens > 0) {
    gov->io_dev.kind = PK_IO_UNKNOWN;
    gov->io_dev.tokens = cfg->io_tokens;
    snprintf(gov->io_dev.detail, sizeof gov->io_dev.detail, "configured");
  } else {
    /* An error still leaves the UNKNOWN default in io_dev. */
    (void)pk_gov_detect_device(cfg->io_path, &gov->io_dev);
  }
  const uint64_t limit[PK_GOV_NRES] = {
      cfg->cpu_tokens ? (uint64_t)cfg->cpu_tokens : (uint64_t)pk_sys_ncpu(),
      (uint64_t)gov->io_dev.tokens,
      cfg->mem_budget ? cfg->mem_budget : pk__default_mem()};

  if (pthread_condattr_init(&gov->condattr) != 0) {
    free(gov);
    return PK_ESYS;
  }
  if (pthread_condattr_setclock(&gov->condattr, CLOCK_MONOTONIC) != 0) {
    pthread_condattr_destroy(&gov->condattr);
    free(gov);
    return PK_ESYS;
  }
  int r = 0;
  for (; r < PK_GOV_NRES; r++) {
    gov->pool[r].limit = limit[r];
    gov->pool[r].fair_ns =
        cfg->fair_after_ns ? cfg->fair_after_ns : PK__DEFAULT_FAIR_NS;
    if (pthread_mutex_init(&gov->pool[r].mu, NULL) != 0)
      break;
  }
  if (r < PK_GOV_NRES) {
    while (r-- > 0)
      pthread_mutex_destroy(&gov->pool[r].mu);
    pthread_condattr_destroy(&gov->condattr);
    free(gov);
    return PK_ESYS;
  }
  *out = gov;
  return PK_OK;
}

void pk_gov_free(pk_gov *gov) {
  if (!gov)
    return;
  for (int r = 0; r < PK_GOV_NRES; r++)
    pthread_mutex_destroy(&gov->pool[r].mu);
  pthread_condattr_destroy(&gov->condattr);
  free(gov);
}

/* ---- device detection ---------------------------------------------------- */

/* vsnprintf that says whether the text fit. Paths that do not fit are
 * treated as absent; display strings (name, detail) are simply cut. */
__attribute__((format(printf, 3, 4))) static bool
pk__fmt(char *buf, size_t size, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, size, fmt, ap);
  va_end(ap);
  return n >= 0 && (size_t)n < size;
}

const char *pk_io_kind_name(pk_io_kind kind) {
  switch (kind) {
  case PK_IO_NVME:
    return "nvme";
  case PK_IO_SSD:
    return "ssd";
  case PK_IO_HDD:
    return "hdd";
  default:
    return "unknown";
  }
}

int pk_io_kind_tokens(pk_io_kind kind) {
  switch (kind) {
  case PK_IO_NVME:
    return 24;
  case PK_IO_HDD:
    return 4;
  case PK_IO_SSD:
  default:
    return 12;
  }
}

static void pk__dev_set(pk_io_device *d, pk_io_kind kind, const char *name,
                        const char *detail) {
  d->kind = kind;
  d->tokens = pk_io_kind_tokens(kind);
  (void)pk__fmt(d->name, sizeof d->name, "%s", name ? name : "");
  (void)pk__fmt(d->detail, sizeof d->detail, "%s", detail ? detail : "");
}

/* Reads the first line of a small file into buf without its newline.
 * Returns false if the file cannot be read. */
static bool pk__read_line(const char *path, char *buf, size_t size) {
  FILE *f = fopen(path, "re");
  if (!f)
    return false;
  bool ok = fgets(buf, (int)size, f) != NULL;
  fclose(f);
  if (ok)
    buf[strcspn(buf, "\n")] = '\0';
  return ok;
}

static bool pk__exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

static const char *pk__base(const char *path) {
  const char *s = strrchr(path, '/');
  return s ? s + 1 : path;
}

static bool pk__has_prefix(const char *s, const char *prefix) {
  return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int pk__detect_path(const char *sysfs, const char *path, int depth,
                           pk_io_device *out);

/* Path buffers for one level of the recursion, on the heap: device stacks
 * recurse up to PK__MAX_DEPTH levels, and 16 KiB of stack per level would
 * be too much for a caller on a small worker-thread stack. */
typedef struct pk__scratch {
  char disk[PATH_MAX], file[PATH_MAX], line[PATH_MAX], real[PATH_MAX];
} pk__scratch;

static void pk__classify_in(const char *sysfs, const char *dir, int depth,
                            pk_io_device *out, pk__scratch *sc);

/* Classifies the sysfs directory `dir` (already a real path) of a block
 * device. Always fills *out. */
static void pk__classify(const char *sysfs, const char *dir, int depth,
                         pk_io_device *out) {
  if (depth > PK__MAX_DEPTH) {
    pk__dev_set(out, PK_IO_UNKNOWN, pk__base(dir), "device stack too deep");
    return;
  }
  pk__scratch *sc = malloc(sizeof *sc);
  if (!sc) {
    pk__dev_set(out, PK_IO_UNKNOWN, pk__base(dir), "out of memory");
    return;
  }
  pk__classify_in(sysfs, dir, depth, out, sc);
  free(sc);
}

static void pk__classify_in(const char *sysfs, const char *dir, int depth,
                            pk_io_device *out, pk__scratch *sc) {
  char *disk = sc->disk, *file = sc->file, *line = sc->line;
  (void)pk__fmt(disk, PATH_MAX, "%s", dir);
  const char *part = NULL;
  /* A partition's sysfs directory sits inside its disk's and has a
   * `partition` file; the queue settings live on the disk. */
  if (pk__fmt(file, PATH_MAX, "%s/partition", dir) && pk__exists(file)) {
    char *slash = strrchr(disk, '/');
    if (slash && slash != disk) {
      *slash = '\0';
      part = pk__base(dir);
    }
  }
  const char *name = pk__base(disk);

  /* Device-mapper (dm-*), md RAID and the like: the speed is that of the
   * devices underneath. With several (RAID, LVM spanning disks) the slowest
   * one bounds the useful queue depth. */
  DIR *dh = pk__fmt(file, PATH_MAX, "%s/slaves", disk) ? opendir(file) : NULL;
  if (dh) {
    bool found = false;
    pk_io_device best = {0};
    struct dirent *de;
    while ((de = readdir(dh)) != NULL) {
      char *real = sc->real;
      if (de->d_name[0] == '.')
        continue;
      if (!pk__fmt(line, PATH_MAX, "%s/%s", file, de->d_name) ||
          !realpath(line, real))
        continue;
      pk_io_device d = {0};
      pk__classify(sysfs, real, depth + 1, &d);
      /* Fewest tokens wins; ties by name, as readdir order is arbitrary. */
      if (!found || d.tokens < best.tokens ||
          (d.tokens == best.tokens && strcmp(d.name, best.name) < 0))
        best = d;
      found = true;
    }
    closedir(dh);
    if (found) {
      *out = best;
      char via[sizeof out->detail];
      (void)pk__fmt(via, sizeof via, "%s over %s", name, best.detail);
      (void)pk__fmt(out->detail, sizeof out->detail, "%s", via);
      return;
    }
  }

  /* A loop device is as fast as the file it maps. */
  if (pk__has_prefix(name, "loop")) {
    if (pk__fmt(file, PATH_MAX, "%s/loop/backing_file", disk) &&
        pk__read_line(file, line, PATH_MAX) && line[0] == '/' &&
        pk__detect_path(sysfs, line, depth + 1, out) == PK_OK) {
      char via[sizeof out->detail];
      (void)pk__fmt(via, sizeof via, "%s backed by %.64s; %s", name, line,
                    out->detail);
      (void)pk__fmt(out->detail, sizeof out->detail, "%s", via);
      if (out->name[0] == '\0')
        (void)pk__fmt(out->name, sizeof out->name, "%s", name);
    } else {
      pk__dev_set(out, PK_IO_UNKNOWN, name,
                  "loop device without a backing file to examine");
    }
    return;
  }

  char detail[sizeof out->detail];
  if (part)
    (void)pk__fmt(detail, sizeof detail, "partition %s of %s; ", part, name);
  else
    detail[0] = '\0';
  size_t dl = strlen(detail);

  if (pk__has_prefix(name, "nvme")) {
    (void)pk__fmt(detail + dl, sizeof detail - dl, "NVMe by name");
    pk__dev_set(out, PK_IO_NVME, name, detail);
    return;
  }
  if (!pk__fmt(file, PATH_MAX, "%s/queue/rotational", disk) ||
      !pk__read_line(file, line, PATH_MAX)) {
    (void)pk__fmt(detail + dl, sizeof detail - dl, "no queue/rotational");
    pk__dev_set(out, PK_IO_UNKNOWN, name, detail);
    return;
  }
  if (strcmp(line, "0") == 0) {
    (void)pk__fmt(detail + dl, sizeof detail - dl, "queue/rotational=0");
    pk__dev_set(out, PK_IO_SSD, name, detail);
  } else if (strcmp(line, "1") == 0) {
    if (pk__has_prefix(name, "vd") || pk__has_prefix(name, "xvd")) {
      (void)pk__fmt(detail + dl, sizeof detail - dl,
                    "virtual disk; its queue/rotational=1 is not trusted");
      pk__dev_set(out, PK_IO_UNKNOWN, name, detail);
    } else {
      (void)pk__fmt(detail + dl, sizeof detail - dl, "queue/rotational=1");
      pk__dev_set(out, PK_IO_HDD, name, detail);
    }
  } else {
    (void)pk__fmt(detail + dl, sizeof detail - dl, "queue/rotational=%.16s",
                  line);
    pk__dev_set(out, PK_IO_UNKNOWN, name, detail);
  }
}

static void pk__detect_devnum(const char *sysfs, unsigned maj, unsigned min,
                              int depth, pk_io_device *out) {
  char what[64];
  pk__scratch *sc = malloc(sizeof *sc);
  char *link = sc ? sc->file : NULL, *real = sc ? sc->real : NULL;
  (void)pk__fmt(what, sizeof what, "%u:%u", maj, min);
  if (!sc || !pk__fmt(link, PATH_MAX, "%s/dev/block/%u:%u", sysfs, maj, min) ||
      !realpath(link, real)) {
    char detail[sizeof out->detail];
    (void)pk__fmt(detail, sizeof detail, "no %s/dev/block/%s", sysfs, what);
    pk__dev_set(out, PK_IO_UNKNOWN, "", detail);
  } else {
    pk__classify(sysfs, real, depth, out);
  }
  free(sc);
  out->major = maj;
  out->minor = min;
}

/* For st_dev with major 0 (btrfs, overlay, tmpfs, NFS): finds the mount in
 * /proc/self/mountinfo whose device is MAJ:MIN and, if its source is a
 * block device node, returns that node's device number. Otherwise leaves
 * the filesystem type in fstype for the explanation. */
static bool pk__mount_source_dev(unsigned maj, unsigned min, dev_t *rdev,
                                 char *fstype, size_t fssize) {
  FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f)
    return false;
  char line[4096], want[32];
  (void)pk__fmt(want, sizeof want, "%u:%u", maj, min);
  bool found = false;
  while (!found && fgets(line, sizeof line, f)) {
    /* id parent MAJ:MIN root mountpoint opts [optional...] - fstype src */
    char *save = NULL;
    char *tok = strtok_r(line, " ", &save);
    for (int i = 0; tok && i < 2; i++)
      tok = strtok_r(NULL, " ", &save);
    if (!tok || strcmp(tok, want) != 0)
      continue;
    while ((tok = strtok_r(NULL, " ", &save)) && strcmp(tok, "-") != 0) {
    }
    char *type = strtok_r(NULL, " ", &save);
    char *src = strtok_r(NULL, " ", &save);
    if (!type)
      continue;
    (void)pk__fmt(fstype, fssize, "%s", type);
    struct stat st;
    if (src && src[0] == '/' && stat(src, &st) == 0 && S_ISBLK(st.st_mode)) {
      *rdev = st.st_rdev;
      found = true;
    }
  }
  fclose(f);
  return found;
}

static int pk__detect_path(const char *sysfs, const char *path, int depth,
                           pk_io_device *out) {
  struct stat st;
  pk__dev_set(out, PK_IO_UNKNOWN, "", "");
  out->major = out->minor = 0;
  if (stat(path, &st) != 0) {
    int rc = pk_err_from_errno(errno);
    (void)pk__fmt(out->detail, sizeof out->detail, "cannot stat %.160s", path);
    return rc;
  }
  unsigned maj = major(st.st_dev), min = minor(st.st_dev);
  if (maj == 0) {
    char fstype[64] = "";
    dev_t rdev;
    if (pk__mount_source_dev(maj, min, &rdev, fstype, sizeof fstype)) {
      pk__detect_devnum(sysfs, major(rdev), minor(rdev), depth, out);
    } else {
      pk__dev_set(out, PK_IO_UNKNOWN, "", NULL);
      (void)pk__fmt(out->detail, sizeof out->detail,
                    "no backing block device (%s)", fstype[0] ? fstype : "?");
    }
    out->major = maj;
    out->minor = min;
    return PK_OK;
  }
  pk__detect_devnum(sysfs, maj, min, depth, out);
  return PK_OK;
}

int pk_gov_detect_device_at(const char *sysfs_root, const char *path,
                            pk_io_device *out) {
  if (!out)
    return PK_EINVAL;
  return pk__detect_path(sysfs_root ? sysfs_root : "/sys", path ? path : ".", 0,
                         out);
}

int pk_gov_detect_device(const char *path, pk_io_device *out) {
  return pk_gov_detect_device_at(NULL, path, out);
}

int pk_gov_detect_devnum_at(const char *sysfs_root, unsigned major_,
                            unsigned minor_, pk_io_device *out) {
  if (!out)
    return PK_EINVAL;
  memset(out, 0, sizeof *out);
  pk__detect_devnum(sysfs_root ? sysfs_root : "/sys", major_, minor_, 0, out);
  return PK_OK;
}
