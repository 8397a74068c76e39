/* metrics.c — the metrics registry; see metrics.h for the design. */
#include "runtime/metrics.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PK__CACHELINE 64
#define PK__MAX_NAME 200
#define PK__MAX_LABELS 16
#define PK__MAX_LABELS_LEN 4096

/* ---- metric objects ------------------------------------------------------
 * Each is its own cache-line-aligned allocation (see metrics.h). */

struct pk_counter {
  alignas(PK__CACHELINE) _Atomic uint64_t value;
};

struct pk_gauge {
  alignas(PK__CACHELINE) _Atomic int64_t value;
  /* A hint read lock-free by pk_gauge_get; fn and arg themselves are only
   * read and written under reg->mu, which is what makes detaching safe. */
  atomic_bool has_fn;
  pk_gauge_fn fn;
  void *arg;
  pk_metrics *reg;
};

/* The counts of a histogram: the shared, RMW-updated part of a pk_hist, and
 * each single-writer pk_hist_local. */
struct pk__hcore {
  /* min and max are read on every record but rarely written: keep them off
   * the line that every record writes (sum). */
  alignas(PK__CACHELINE) _Atomic uint64_t min;
  _Atomic uint64_t max;
  alignas(PK__CACHELINE) _Atomic uint64_t sum;
  alignas(PK__CACHELINE) _Atomic uint64_t buckets[PK_HIST_NBUCKETS];
};

struct pk_hist_local {
  struct pk__hcore core;      /* written by its one owner thread only */
  struct pk_hist_local *next; /* set before publication, then immutable */
  pk_hist *hist;
  bool in_use; /* under hist->reg->mu */
};

struct pk_hist {
  struct pk__hcore core;
  /* Push-only list of every pk_hist_local ever acquired on this histogram;
   * pushed under reg->mu, walked lock-free by snapshots. */
  _Atomic(pk_hist_local *) locals;
  pk_metrics *reg;
};

/* ---- registry ------------------------------------------------------------ */

enum pk__kind { PK__COUNTER, PK__GAUGE, PK__HIST };

struct pk__series {
  char *labels; /* canonical (sorted) label set, "" for none */
  void *metric; /* pk_counter / pk_gauge / pk_hist, by family kind */
};

struct pk__family {
  char *name; /* exposition name: counters carry their _total suffix */
  char *help; /* raw; escaped when rendered */
  enum pk__kind kind;
  pk_metric_unit unit;
  struct pk__series *series;
  size_t n, cap;
};

struct pk_metrics {
  /* Guards the arrays below, gauge callbacks, and local recorders' in_use
   * flags and list pushes. Never held on a hot path. */
  pthread_mutex_t mu;
  struct pk__family *fam;
  size_t n, cap;
};

static void *pk__alloc_metric(size_t size) {
  /* sizeof of a struct with an alignas(64) member is a multiple of 64, as
   * aligned_alloc requires. */
  void *p = aligned_alloc(PK__CACHELINE, size);
  if (p)
    memset(p, 0, size);
  return p;
}

static void pk__free_family(struct pk__family *f) {
  for (size_t i = 0; i < f->n; i++) {
    free(f->series[i].labels);
    if (f->kind == PK__HIST) {
      pk_hist *h = f->series[i].metric;
      pk_hist_local *l = atomic_load_explicit(&h->locals, memory_order_relaxed);
      while (l) {
        pk_hist_local *next = l->next;
        free(l);
        l = next;
      }
    }
    free(f->series[i].metric);
  }
  free(f->series);
  free(f->name);
  free(f->help);
}

int pk_metrics_create(pk_metrics **out) {
  if (!out)
    return PK_EINVAL;
  *out = NULL;
  pk_metrics *reg = calloc(1, sizeof *reg);
  if (!reg)
    return PK_ENOMEM;
  int rc = pthread_mutex_init(&reg->mu, NULL);
  if (rc != 0) {
    free(reg);
    return pk_err_from_errno(rc);
  }
  *out = reg;
  return PK_OK;
}

void pk_metrics_free(pk_metrics *reg) {
  if (!reg)
    return;
  for (size_t i = 0; i < reg->n; i++)
    pk__free_family(&reg->fam[i]);
  free(reg->fam);
  pthread_mutex_destroy(&reg->mu);
  free(reg);
}

/* ---- names and labels ---------------------------------------------------- */

static bool pk__is_alpha_(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool pk__is_digit(char c) {
  return c >= '0' && c <= '9';
}

static int pk__check_metric_name(const char *name) {
  if (!pk__is_alpha_(name[0]) && name[0] != ':')
    return PK_EINVAL;
  size_t i = 1;
  for (; name[i]; i++) {
    char c = name[i];
    if (!pk__is_alpha_(c) && !pk__is_digit(c) && c != ':')
      return PK_EINVAL;
  }
  return i > PK__MAX_NAME ? PK_ELIMIT : PK_OK;
}

/* Length of the label name at p (0 if p does not start with one). */
static size_t pk__label_name_len(const char *p) {
  if (!pk__is_alpha_(p[0]))
    return 0;
  size_t n = 1;
  while (pk__is_alpha_(p[n]) || pk__is_digit(p[n]))
    n++;
  return n;
}

struct pk__label {
  const char *name, *val; /* val: still escaped, without quotes */
  size_t nlen, vlen;
};

static int pk__label_cmp(const struct pk__label *a, const struct pk__label *b) {
  size_t n = a->nlen < b->nlen ? a->nlen : b->nlen;
  int c = memcmp(a->name, b->name, n);
  if (c != 0)
    return c;
  return (a->nlen > b->nlen) - (a->nlen < b->nlen);
}

/* Parses `a="x",b="y"` strictly and writes it back sorted by label name into a
 * new string in *out, so that equal label sets compare equal with strcmp. */
static int pk__canon_labels(const char *in, bool hist, char **out) {
  *out = NULL;
  if (!in)
    in = "";
  size_t len = strlen(in);
  if (len > PK__MAX_LABELS_LEN)
    return PK_ELIMIT;
  struct pk__label l[PK__MAX_LABELS];
  size_t n = 0;
  const char *p = in;
  while (*p) {
    if (n == PK__MAX_LABELS)
      return PK_ELIMIT;
    struct pk__label cur = {.name = p, .nlen = pk__label_name_len(p)};
    if (cur.nlen == 0)
      return PK_EINVAL;
    /* "__" names are reserved for Prometheus itself; "le" is the bucket
     * label we add to histogram samples. */
    if (cur.nlen >= 2 && p[0] == '_' && p[1] == '_')
      return PK_EINVAL;
    if (hist && cur.nlen == 2 && p[0] == 'l' && p[1] == 'e')
      return PK_EINVAL;
    p += cur.nlen;
    if (p[0] != '=' || p[1] != '"')
      return PK_EINVAL;
    p += 2;
    cur.val = p;
    while (*p != '"') {
      if (*p == '\0' || *p == '\n')
        return PK_EINVAL;
      if (*p == '\\') {
        p++;
        if (*p != '\\' && *p != '"' && *p != 'n')
          return PK_EINVAL;
      }
      p++;
    }
    cur.vlen = (size_t)(p - cur.val);
    p++;
    if (*p == ',') {
      p++;
      if (*p == '\0')
        return PK_EINVAL;
    } else if (*p != '\0') {
      return PK_EINVAL;
    }
    /* Insertion sort: at most 16 labels. */
    size_t j = n++;
    while (j > 0 && pk__label_cmp(&l[j - 1], &cur) > 0) {
      l[j] = l[j - 1];
      j--;
    }
    l[j] = cur;
  }
  for (size_t i = 1; i < n; i++)
    if (pk__label_cmp(&l[i - 1], &l[i]) == 0)
      return PK_EINVAL;
  /* Same pieces, same separators: the canonical form is as long as the
   * input. */
  char *s = malloc(len + 1);
  if (!s)
    return PK_ENOMEM;
  char *w = s;
  for (size_t i = 0; i < n; i++) {
    if (i > 0)
      *w++ = ',';
    memcpy(w, l[i].name, l[i].nlen);
    w += l[i].nlen;
    *w++ = '=';
    *w++ = '"';
    memcpy(w, l[i].val, l[i].vlen);
    w += l[i].vlen;
    *w++ = '"';
  }
  *w = '\0';
  *out = s;
  return PK_OK;
}

int pk_metrics_label_append(char *buf, size_t cap, const char *name,
                            const char *value) {
  if (!buf || !name || !value)
    return PK_EINVAL;
  size_t nlen = pk__label_name_len(name);
  if (nlen == 0 || name[nlen] != '\0' || (name[0] == '_' && name[1] == '_'))
    return PK_EINVAL;
  size_t vlen = 0;
  for (const char *v = value; *v; v++)
    vlen += (*v == '\\' || *v == '"' || *v == '\n') ? 2 : 1;
  size_t cur = strlen(buf);
  size_t need = cur + (cur ? 1 : 0) + nlen + 2 + vlen + 1 + 1;
  if (need > cap)
    return PK_ELIMIT;
  char *w = buf + cur;
  if (cur)
    *w++ = ',';
  memcpy(w, name, nlen);
  w += nlen;
  *w++ = '=';
  *w++ = '"';
  for (const char *v = value; *v; v++) {
    if (*v == '\n') {
      *w++ = '\\';
      *w++ = 'n';
    } else {
      if (*v == '\\' || *v == '"')
        *w++ = '\\';
      *w++ = *v;
    }
  }
  *w++ = '"';
  *w = '\0';
  return PK_OK;
}

/* ---- registration -------------------------------------------------------- */

static bool pk__has_suffix_of(const char *longer, const char *base) {
  static const char *const sfx[] = {"_bucket", "_sum", "_count"};
  size_t n = strlen(base);
  if (strncmp(longer, base, n) != 0)
    return false;
  for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++)
    if (strcmp(longer + n, sfx[i]) == 0)
      return true;
  return false;
}

/* A histogram "x" also writes samples named x_bucket, x_sum and x_count; no
 * other family may use those names. */
static bool pk__clashes(const pk_metrics *reg, const char *name,
                        enum pk__kind kind) {
  for (size_t i = 0; i < reg->n; i++) {
    const struct pk__family *f = &reg->fam[i];
    if (f->kind == PK__HIST && pk__has_suffix_of(name, f->name))
      return true;
    if (kind == PK__HIST && pk__has_suffix_of(f->name, name))
      return true;
  }
  return false;
}

static void *pk__new_metric(pk_metrics *reg, enum pk__kind kind) {
  switch (kind) {
  case PK__COUNTER:
    return pk__alloc_metric(sizeof(pk_counter));
  case PK__GAUGE: {
    pk_gauge *g = pk__alloc_metric(sizeof(pk_gauge));
    if (g)
      g->reg = reg;
    return g;
  }
  case PK__HIST: {
    pk_hist *h = pk__alloc_metric(sizeof(pk_hist));
    if (h) {
      atomic_init(&h->core.min, UINT64_MAX);
      h->reg = reg;
    }
    return h;
  }
  }
  return NULL;
}

static int pk__add_series(pk_metrics *reg, struct pk__family *f, char *labels,
                          void **out) {
  if (f->n == f->cap) {
    size_t cap = f->cap ? 2 * f->cap : 4;
    struct pk__series *s = realloc(f->series, cap * sizeof *s);
    if (!s)
      return PK_ENOMEM;
    f->series = s;
    f->cap = cap;
  }
  void *m = pk__new_metric(reg, f->kind);
  if (!m)
    return PK_ENOMEM;
  f->series[f->n++] = (struct pk__series){.labels = labels, .metric = m};
  *out = m;
  return PK_OK;
}

/* Under reg->mu. Takes ownership of labels on success. */
static int pk__register_locked(pk_metrics *reg, const char *fname, char *labels,
                               const char *help, enum pk__kind kind,
                               pk_metric_unit unit, void **out) {
  for (size_t i = 0; i < reg->n; i++) {
    struct pk__family *f = &reg->fam[i];
    if (strcmp(f->name, fname) != 0)
      continue;
    if (f->kind != kind || f->unit != unit)
      return PK_EEXIST;
    for (size_t j = 0; j < f->n; j++) {
      if (strcmp(f->series[j].labels, labels) == 0) {
        free(labels);
        *out = f->series[j].metric;
        return PK_OK;
      }
    }
    return pk__add_series(reg, f, labels, out);
  }
  if (pk__clashes(reg, fname, kind))
    return PK_EEXIST;
  if (reg->n == reg->cap) {
    size_t cap = reg->cap ? 2 * reg->cap : 8;
    struct pk__family *fam = realloc(reg->fam, cap * sizeof *fam);
    if (!fam)
      return PK_ENOMEM;
    reg->fam = fam;
    reg->cap = cap;
  }
  struct pk__family f = {.kind = kind, .unit = unit};
  f.name = strdup(fname);
  f.help = strdup(help ? help : "");
  int rc =
      (f.name && f.help) ? pk__add_series(reg, &f, labels, out) : PK_ENOMEM;
  if (rc != PK_OK) {
    free(f.series);
    free(f.name);
    free(f.help);
    return rc;
  }
  reg->fam[reg->n++] = f;
  return PK_OK;
}

static int pk__register(pk_metrics *reg, const char *name, const char *labels,
                        const char *help, enum pk__kind kind,
                        pk_metric_unit unit, void **out) {
  if (!reg || !name || !out)
    return PK_EINVAL;
  if (unit != PK_UNIT_NONE && unit != PK_UNIT_NANOSECONDS &&
      unit != PK_UNIT_BYTES)
    return PK_EINVAL;
  int rc = pk__check_metric_name(name);
  if (rc != PK_OK)
    return rc;
  /* Prometheus convention: a counter's samples end in _total. */
  char fname[PK__MAX_NAME + sizeof "_total"];
  size_t n = strlen(name);
  bool add_total =
      kind == PK__COUNTER && !(n >= 6 && strcmp(name + n - 6, "_total") == 0);
  snprintf(fname, sizeof fname, "%s%s", name, add_total ? "_total" : "");
  char *canon;
  rc = pk__canon_labels(labels, kind == PK__HIST, &canon);
  if (rc != PK_OK)
    return rc;
  pthread_mutex_lock(&reg->mu);
  rc = pk__register_locked(reg, fname, canon, help, kind, unit, out);
  pthread_mutex_unlock(&reg->mu);
  if (rc != PK_OK)
    free(canon);
  return rc;
}

int pk_metrics_counter(pk_metrics *reg, const char *name, const char *labels,
                       const char *help, pk_counter **out) {
  if (!out)
    return PK_EINVAL;
  void *m = NULL;
  int rc = pk__register(reg, name, labels, help, PK__COUNTER, PK_UNIT_NONE, &m);
  *out = m;
  return rc;
}

int pk_metrics_gauge(pk_metrics *reg, const char *name, const char *labels,
                     const char *help, pk_gauge **out) {
  if (!out)
    return PK_EINVAL;
  void *m = NULL;
  int rc = pk__register(reg, name, labels, help, PK__GAUGE, PK_UNIT_NONE, &m);
  *out = m;
  return rc;
}

int pk_metrics_hist(pk_metrics *reg, const char *name, const char *labels,
                    const char *help, pk_metric_unit unit, pk_hist **out) {
  if (!out)
    return PK_EINVAL;
  void *m = NULL;
  int rc = pk__register(reg, name, labels, help, PK__HIST, unit, &m);
  *out = m;
  return rc;
}

/* ---- counters and gauges ------------------------------------------------- */

/* Relaxed throughout: a counter is a statistic. The RMW is still atomic, so
 * no increment is lost; what relaxed gives up is ordering against other
 * memory, which nobody relies on — readers wanting exact totals synchronise
 * by other means (pthread_join, channel close) first. See metrics.h for
 * what seq_cst would and would not cost on x86. */
void pk_counter_add(pk_counter *c, uint64_t n) {
  if (c)
    atomic_fetch_add_explicit(&c->value, n, memory_order_relaxed);
}

uint64_t pk_counter_get(const pk_counter *c) {
  return c ? atomic_load_explicit(&c->value, memory_order_relaxed) : 0;
}

void pk_gauge_set(pk_gauge *g, int64_t v) {
  if (g)
    atomic_store_explicit(&g->value, v, memory_order_relaxed);
}

/* Two's-complement wrap-around on overflow (atomic RMW on signed types is
 * defined to wrap), not undefined behaviour. */
void pk_gauge_add(pk_gauge *g, int64_t n) {
  if (g)
    atomic_fetch_add_explicit(&g->value, n, memory_order_relaxed);
}

void pk_gauge_sub(pk_gauge *g, int64_t n) {
  if (g)
    atomic_fetch_sub_explicit(&g->value, n, memory_order_relaxed);
}

static int64_t pk__gauge_get_locked(pk_gauge *g) {
  if (g->fn)
    return g->fn(g->arg);
  return atomic_load_explicit(&g->value, memory_order_relaxed);
}

int64_t pk_gauge_get(pk_gauge *g) {
  if (!g)
    return 0;
  if (!atomic_load_explicit(&g->has_fn, memory_order_relaxed))
    return atomic_load_explicit(&g->value, memory_order_relaxed);
  pthread_mutex_lock(&g->reg->mu);
  int64_t v = pk__gauge_get_locked(g);
  pthread_mutex_unlock(&g->reg->mu);
  return v;
}

void pk_gauge_set_fn(pk_gauge *g, pk_gauge_fn fn, void *arg) {
  if (!g)
    return;
  pthread_mutex_lock(&g->reg->mu);
  g->fn = fn;
  g->arg = fn ? arg : NULL;
  atomic_store_explicit(&g->has_fn, fn != NULL, memory_order_relaxed);
  pthread_mutex_unlock(&g->reg->mu);
}

/* ---- histograms ---------------------------------------------------------- */

/* Bucket of u in a layout where 0..31 are exact and each later power of two
 * [2^p, 2^(p+1)) is cut into 16 sub-buckets: s = max(p - 4, 0) bits are
 * dropped, so u >> s is in 16..31 and (s << 4) + (u >> s) runs on without
 * gaps from one power of two to the next. `| 16` makes s 0 for u < 32
 * without a branch. */
static inline unsigned pk__fine_index(uint64_t u) {
  unsigned s = 59u - (unsigned)__builtin_clzll(u | 16u);
  return (s << 4) + (unsigned)(u >> s);
}

/* Index v - 1, not v, so that buckets are (lo, hi] with every power of two an
 * upper edge: that makes Prometheus' `le="2^k"` counts exact. */
unsigned pk_hist_bucket_index(uint64_t value) {
  return value == 0 ? 0u : 1u + pk__fine_index(value - 1);
}

int pk_hist_bucket_bounds(unsigned i, uint64_t *lo, uint64_t *hi) {
  if (i >= PK_HIST_NBUCKETS || !lo || !hi)
    return PK_EINVAL;
  if (i == 0) {
    *lo = *hi = 0;
    return PK_OK;
  }
  unsigned f = i - 1;
  unsigned s = f < 32 ? 0 : f / 16 - 1;
  uint64_t ulo = (uint64_t)(f - 16 * s) << s;
  uint64_t uhi = ulo + ((UINT64_C(1) << s) - 1);
  *lo = ulo + 1;
  *hi = uhi == UINT64_MAX ? UINT64_MAX : uhi + 1;
  return PK_OK;
}

void pk_hist_record(pk_hist *h, uint64_t value) {
  if (!h)
    return;
  struct pk__hcore *c = &h->core;
  /* Relaxed, as for counters: buckets, sum, min and max are independent
   * statistics; a snapshot reconciles them (metrics.h). */
  atomic_fetch_add_explicit(&c->buckets[pk_hist_bucket_index(value)], 1,
                            memory_order_relaxed);
  atomic_fetch_add_explicit(&c->sum, value, memory_order_relaxed);
  /* Load first: a new extreme is rare, so almost every record pays a shared
   * (cache-friendly) load, not a locked write. */
  uint64_t cur = atomic_load_explicit(&c->min, memory_order_relaxed);
  while (value < cur && !atomic_compare_exchange_weak_explicit(
                            &c->min, &cur, value, memory_order_relaxed,
                            memory_order_relaxed)) {
  }
  cur = atomic_load_explicit(&c->max, memory_order_relaxed);
  while (value > cur && !atomic_compare_exchange_weak_explicit(
                            &c->max, &cur, value, memory_order_relaxed,
                            memory_order_relaxed)) {
  }
}

int pk_hist_local_acquire(pk_hist *h, pk_hist_local **out) {
  if (!h || !out)
    return PK_EINVAL;
  *out = NULL;
  pthread_mutex_lock(&h->reg->mu);
  /* The mutex also orders a released recorder's last writes before its next
   * owner's first reads, which is what lets that owner keep using plain
   * load + store. */
  pk_hist_local *l = atomic_load_explicit(&h->locals, memory_order_relaxed);
  for (; l; l = l->next) {
    if (!l->in_use) {
      l->in_use = true;
      pthread_mutex_unlock(&h->reg->mu);
      *out = l;
      return PK_OK;
    }
  }
  l = pk__alloc_metric(sizeof *l);
  if (!l) {
    pthread_mutex_unlock(&h->reg->mu);
    return PK_ENOMEM;
  }
  atomic_init(&l->core.min, UINT64_MAX);
  l->hist = h;
  l->in_use = true;
  l->next = atomic_load_explicit(&h->locals, memory_order_relaxed);
  /* Release: a snapshot that loads this pointer (acquire) must also see the
   * initialised min and next above. Counters need no such ordering; a
   * pointer that publishes a freshly built object does. */
  atomic_store_explicit(&h->locals, l, memory_order_release);
  pthread_mutex_unlock(&h->reg->mu);
  *out = l;
  return PK_OK;
}

/* load + store, not fetch_add: this thread is the only writer, so there is
 * no other update to lose, and on x86 this is a plain mov instead of a
 * locked instruction (bench/bench_metrics.c: counter.store.relaxed). The
 * fields stay atomics so that concurrent snapshots read them race-free. */
static inline void pk__bump(_Atomic uint64_t *p, uint64_t n) {
  atomic_store_explicit(p, atomic_load_explicit(p, memory_order_relaxed) + n,
                        memory_order_relaxed);
}

void pk_hist_local_record(pk_hist_local *l, uint64_t value) {
  if (!l)
    return;
  struct pk__hcore *c = &l->core;
  pk__bump(&c->buckets[pk_hist_bucket_index(value)], 1);
  pk__bump(&c->sum, value);
  if (value < atomic_load_explicit(&c->min, memory_order_relaxed))
    atomic_store_explicit(&c->min, value, memory_order_relaxed);
  if (value > atomic_load_explicit(&c->max, memory_order_relaxed))
    atomic_store_explicit(&c->max, value, memory_order_relaxed);
}

void pk_hist_local_release(pk_hist_local *l) {
  if (!l)
    return;
  pthread_mutex_lock(&l->hist->reg->mu);
  l->in_use = false;
  pthread_mutex_unlock(&l->hist->reg->mu);
}

static uint64_t pk__clamp(uint64_t v, uint64_t lo, uint64_t hi) {
  return v < lo ? lo : v > hi ? hi : v;
}

/* Adds one core's counts into snap; min/max are merged raw (UINT64_MAX / 0
 * for a core that never recorded). */
static void pk__add_core(const struct pk__hcore *c, pk_hist_snap *snap) {
  for (unsigned i = 0; i < PK_HIST_NBUCKETS; i++)
    snap->buckets[i] +=
        atomic_load_explicit(&c->buckets[i], memory_order_relaxed);
  snap->sum += atomic_load_explicit(&c->sum, memory_order_relaxed);
  uint64_t mn = atomic_load_explicit(&c->min, memory_order_relaxed);
  uint64_t mx = atomic_load_explicit(&c->max, memory_order_relaxed);
  snap->min = mn < snap->min ? mn : snap->min;
  snap->max = mx > snap->max ? mx : snap->max;
}

void pk_hist_snapshot(const pk_hist *h, pk_hist_snap *snap) {
  if (!snap)
    return;
  memset(snap, 0, sizeof *snap);
  if (!h)
    return;
  snap->min = UINT64_MAX;
  pk__add_core(&h->core, snap);
  for (const pk_hist_local *l =
           atomic_load_explicit(&h->locals, memory_order_acquire);
       l; l = l->next)
    pk__add_core(&l->core, snap);
  uint64_t count = 0;
  unsigned first = 0, last = 0;
  for (unsigned i = 0; i < PK_HIST_NBUCKETS; i++) {
    if (snap->buckets[i]) {
      if (!count)
        first = i;
      last = i;
      count += snap->buckets[i];
    }
  }
  snap->count = count;
  if (!count) {
    snap->min = snap->max = 0;
    return;
  }
  /* While writers run, min/max may not yet reflect a value whose bucket we
   * saw (or may reflect one whose bucket we missed). Clamping into the
   * extreme buckets keeps the snapshot self-consistent; when quiescent the
   * values are already there and unchanged. */
  uint64_t lo = 0, hi = UINT64_MAX;
  pk_hist_bucket_bounds(first, &lo, &hi);
  snap->min = pk__clamp(snap->min, lo, hi);
  pk_hist_bucket_bounds(last, &lo, &hi);
  snap->max = pk__clamp(snap->max, lo, hi);
}

uint64_t pk_hist_quantile(const pk_hist_snap *snap, double q) {
  if (!snap || snap->count == 0)
    return 0;
  if (!(q > 0.0)) /* also NaN */
    return snap->min;
  if (q >= 1.0)
    return snap->max;
  /* Nearest rank: the smallest k with k >= q * count. The tiny relative
   * nudge keeps e.g. 0.95 * 1e6 (949999.99999999994 in binary) from
   * landing one rank too high after ceil(). */
  double r = q * (double)snap->count;
  r = ceil(r - r * 1e-12);
  uint64_t rank = r < 1.0 ? 1 : (uint64_t)r;
  if (rank > snap->count)
    rank = snap->count;
  uint64_t cum = 0;
  for (unsigned i = 0; i < PK_HIST_NBUCKETS; i++) {
    cum += snap->buckets[i];
    if (cum >= rank) {
      uint64_t lo, hi;
      pk_hist_bucket_bounds(i, &lo, &hi);
      return pk__clamp(lo + (hi - lo) / 2, snap->min, snap->max);
    }
  }
  return snap->max;
}

/* ---- rendering ----------------------------------------------------------- */

typedef struct pk__buf {
  char *p;
  size_t len, cap;
  bool oom;
} pk__buf;

static bool pk__buf_reserve(pk__buf *b, size_t extra) {
  if (b->oom)
    return false;
  if (b->len + extra + 1 <= b->cap)
    return true;
  size_t cap = b->cap ? b->cap : 1024;
  while (cap < b->len + extra + 1)
    cap *= 2;
  char *p = realloc(b->p, cap);
  if (!p) {
    b->oom = true;
    return false;
  }
  b->p = p;
  b->cap = cap;
  return true;
}

static void pk__buf_put(pk__buf *b, const char *s, size_t n) {
  if (!pk__buf_reserve(b, n))
    return;
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static void pk__buf_puts(pk__buf *b, const char *s) {
  pk__buf_put(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void
pk__buf_printf(pk__buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char tmp[256];
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0)
    return;
  if ((size_t)n < sizeof tmp) {
    pk__buf_put(b, tmp, (size_t)n);
    return;
  }
  if (!pk__buf_reserve(b, (size_t)n))
    return;
  va_start(ap, fmt);
  vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

static int pk__buf_finish(pk__buf *b, char **out, size_t *len) {
  if (!b->oom && !b->p)
    pk__buf_put(b, "", 0);
  if (b->oom) {
    free(b->p);
    return PK_ENOMEM;
  }
  *out = b->p;
  if (len)
    *len = b->len;
  return PK_OK;
}

/* HELP text escaping per the 0.0.4 format: backslash and newline only. */
static void pk__put_help(pk__buf *b, const char *s) {
  for (; *s; s++) {
    if (*s == '\\')
      pk__buf_put(b, "\\\\", 2);
    else if (*s == '\n')
      pk__buf_put(b, "\\n", 2);
    else
      pk__buf_put(b, s, 1);
  }
}

/* ns as an exact decimal number of seconds ("0.000000128", "68.719476736",
 * "3"): no float rounding, so le bounds are stable and _sum is exact. */
static void pk__fmt_seconds(char *buf, size_t cap, uint64_t ns) {
  uint64_t sec = ns / 1000000000u, frac = ns % 1000000000u;
  if (frac == 0) {
    snprintf(buf, cap, "%" PRIu64, sec);
    return;
  }
  int n = snprintf(buf, cap, "%" PRIu64 ".%09" PRIu64, sec, frac);
  while (n > 0 && (size_t)n < cap && buf[n - 1] == '0')
    buf[--n] = '\0';
}

static void pk__fmt_value(char *buf, size_t cap, uint64_t v,
                          pk_metric_unit unit) {
  if (unit == PK_UNIT_NANOSECONDS)
    pk__fmt_seconds(buf, cap, v);
  else
    snprintf(buf, cap, "%" PRIu64, v);
}

/* The exported `le` bounds: powers of two 2^first .. 2^last (see metrics.h). */
static void pk__le_range(pk_metric_unit unit, unsigned *first, unsigned *last) {
  switch (unit) {
  case PK_UNIT_NANOSECONDS: /* 128 ns .. 68.7 s */
    *first = 7;
    *last = 36;
    return;
  case PK_UNIT_BYTES: /* 64 B .. 64 GiB */
    *first = 6;
    *last = 36;
    return;
  case PK_UNIT_NONE: /* 1 .. ~1e6 */
    break;
  }
  *first = 0;
  *last = 20;
}

static const char *pk__type_name(enum pk__kind k) {
  switch (k) {
  case PK__COUNTER:
    return "counter";
  case PK__GAUGE:
    return "gauge";
  case PK__HIST:
    return "histogram";
  }
  return "untyped";
}

/* `name{labels}` or `name` (no braces for an empty label set). */
static void pk__put_series_name(pk__buf *b, const char *name,
                                const char *suffix, const char *labels) {
  pk__buf_puts(b, name);
  pk__buf_puts(b, suffix);
  if (labels[0]) {
    pk__buf_put(b, "{", 1);
    pk__buf_puts(b, labels);
    pk__buf_put(b, "}", 1);
  }
}

static void pk__render_hist(pk__buf *b, const struct pk__family *f,
                            const struct pk__series *s, pk_hist_snap *snap) {
  pk_hist_snapshot(s->metric, snap);
  unsigned first, last;
  pk__le_range(f->unit, &first, &last);
  const char *sep = s->labels[0] ? "," : "";
  char num[32];
  uint64_t cum = 0;
  unsigned i = 0;
  for (unsigned k = first; k <= last; k++) {
    uint64_t bound = UINT64_C(1) << k;
    /* bound is the upper edge of its own bucket, so everything up to and
     * including that bucket is <= bound: an exact count. */
    for (unsigned top = pk_hist_bucket_index(bound); i <= top; i++)
      cum += snap->buckets[i];
    pk__fmt_value(num, sizeof num, bound, f->unit);
    pk__buf_printf(b, "%s_bucket{%s%sle=\"%s\"} %" PRIu64 "\n", f->name,
                   s->labels, sep, num, cum);
  }
  pk__buf_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %" PRIu64 "\n", f->name,
                 s->labels, sep, snap->count);
  pk__put_series_name(b, f->name, "_sum", s->labels);
  pk__fmt_value(num, sizeof num, snap->sum, f->unit);
  pk__buf_printf(b, " %s\n", num);
  pk__put_series_name(b, f->name, "_count", s->labels);
  pk__buf_printf(b, " %" PRIu64 "\n", snap->count);
}

int pk_metrics_render_prometheus(pk_metrics *reg, char **out, size_t *len) {
  if (!reg || !out)
    return PK_EINVAL;
  *out = NULL;
  pk_hist_snap *snap = malloc(sizeof *snap);
  if (!snap)
    return PK_ENOMEM;
  pk__buf b = {0};
  pthread_mutex_lock(&reg->mu);
  for (size_t i = 0; i < reg->n && !b.oom; i++) {
    const struct pk__family *f = &reg->fam[i];
    pk__buf_printf(&b, "# HELP %s ", f->name);
    pk__put_help(&b, f->help);
    pk__buf_printf(&b, "\n# TYPE %s %s\n", f->name, pk__type_name(f->kind));
    for (size_t j = 0; j < f->n; j++) {
      const struct pk__series *s = &f->series[j];
      switch (f->kind) {
      case PK__COUNTER:
        pk__put_series_name(&b, f->name, "", s->labels);
        pk__buf_printf(&b, " %" PRIu64 "\n", pk_counter_get(s->metric));
        break;
      case PK__GAUGE:
        pk__put_series_name(&b, f->name, "", s->labels);
        pk__buf_printf(&b, " %" PRId64 "\n", pk__gauge_get_locked(s->metric));
        break;
      case PK__HIST:
        pk__render_hist(&b, f, s, snap);
        break;
      }
    }
  }
  pthread_mutex_unlock(&reg->mu);
  free(snap);
  return pk__buf_finish(&b, out, len);
}

/* 3 significant digits of x followed by unit. */
static void pk__fmt_sig3(char *buf, size_t cap, double x, const char *unit) {
  int prec = x < 10 ? 2 : x < 100 ? 1 : 0;
  snprintf(buf, cap, "%.*f%s", prec, x, unit);
}

static void pk__fmt_human(char *buf, size_t cap, uint64_t v,
                          pk_metric_unit unit) {
  switch (unit) {
  case PK_UNIT_NANOSECONDS:
    if (v < 1000)
      snprintf(buf, cap, "%" PRIu64 "ns", v);
    else if (v < 1000000)
      pk__fmt_sig3(buf, cap, (double)v / 1e3, "\xc2\xb5s"); /* µs */
    else if (v < 1000000000)
      pk__fmt_sig3(buf, cap, (double)v / 1e6, "ms");
    else
      pk__fmt_sig3(buf, cap, (double)v / 1e9, "s");
    return;
  case PK_UNIT_BYTES: {
    static const char *const units[] = {"KiB", "MiB", "GiB",
                                        "TiB", "PiB", "EiB"};
    if (v < 1024) {
      snprintf(buf, cap, "%" PRIu64 "B", v);
      return;
    }
    double x = (double)v / 1024;
    size_t u = 0;
    while (x >= 1024 && u + 1 < sizeof units / sizeof units[0]) {
      x /= 1024;
      u++;
    }
    pk__fmt_sig3(buf, cap, x, units[u]);
    return;
  }
  case PK_UNIT_NONE:
    break;
  }
  snprintf(buf, cap, "%" PRIu64, v);
}

static size_t pk__series_name_len(const struct pk__family *f,
                                  const struct pk__series *s) {
  size_t n = strlen(f->name);
  return s->labels[0] ? n + strlen(s->labels) + 2 : n;
}

int pk_metrics_render_summary(pk_metrics *reg, char **out, size_t *len) {
  if (!reg || !out)
    return PK_EINVAL;
  *out = NULL;
  pk_hist_snap *snap = malloc(sizeof *snap);
  if (!snap)
    return PK_ENOMEM;
  pk__buf b = {0};
  pthread_mutex_lock(&reg->mu);
  size_t width = 0;
  for (size_t i = 0; i < reg->n; i++)
    for (size_t j = 0; j < reg->fam[i].n; j++) {
      size_t n = pk__series_name_len(&reg->fam[i], &reg->fam[i].series[j]);
      width = n > width ? n : width;
    }
  for (size_t i = 0; i < reg->n && !b.oom; i++) {
    const struct pk__family *f = &reg->fam[i];
    for (size_t j = 0; j < f->n; j++) {
      const struct pk__series *s = &f->series[j];
      pk__put_series_name(&b, f->name, "", s->labels);
      pk__buf_printf(&b, "%*s", (int)(width - pk__series_name_len(f, s) + 2),
                     "");
      switch (f->kind) {
      case PK__COUNTER:
        pk__buf_printf(&b, "%" PRIu64 "\n", pk_counter_get(s->metric));
        break;
      case PK__GAUGE:
        pk__buf_printf(&b, "%" PRId64 "\n", pk__gauge_get_locked(s->metric));
        break;
      case PK__HIST: {
        pk_hist_snapshot(s->metric, snap);
        pk__buf_printf(&b, "count=%" PRIu64, snap->count);
        if (snap->count) {
          static const struct {
            const char *name;
            double q;
          } qs[] = {{"p50", 0.5}, {"p95", 0.95}, {"p99", 0.99}, {"max", 1}};
          for (size_t k = 0; k < sizeof qs / sizeof qs[0]; k++) {
            char v[32];
            pk__fmt_human(v, sizeof v, pk_hist_quantile(snap, qs[k].q),
                          f->unit);
            pk__buf_printf(&b, " %s=%s", qs[k].name, v);
          }
        }
        pk__buf_put(&b, "\n", 1);
        break;
      }
      }
    }
  }
  pthread_mutex_unlock(&reg->mu);
  free(snap);
  return pk__buf_finish(&b, out, len);
}
