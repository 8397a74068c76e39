/* columns.c — query results as double arrays; see columns.h. */
#include "engine/columns.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define HUGE_BYTES ((size_t)2 << 20)
/* Address space reserved per column before the row count is known: only
 * the pages written are ever backed by memory. */
#define RESERVE_BYTES ((size_t)8 << 30)

/* Maps `bytes` (a multiple of HUGE_BYTES) of address space 2 MiB-aligned,
 * without committing memory, and asks for transparent huge pages. */
static void *reserve(size_t bytes) {
  size_t len = bytes + HUGE_BYTES;
  char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED)
    return NULL;
  uintptr_t a = ((uintptr_t)p + HUGE_BYTES - 1) & ~(uintptr_t)(HUGE_BYTES - 1);
  size_t head = a - (uintptr_t)p, tail = len - head - bytes;
  if (head)
    munmap(p, head);
  if (tail)
    munmap((char *)a + bytes, tail);
#ifdef MADV_HUGEPAGE
  madvise((void *)a, bytes, MADV_HUGEPAGE); /* advisory */
#endif
  return (void *)a;
}

void *pk_huge_map(size_t *bytes) {
  size_t b = (*bytes + HUGE_BYTES - 1) / HUGE_BYTES * HUGE_BYTES;
  void *p = reserve(b ? b : HUGE_BYTES);
  if (p)
    *bytes = b ? b : HUGE_BYTES;
  return p;
}

void pk_col_free_values(pk_col *col) {
  if (col->vmap)
    munmap(col->v, col->vmap);
  else
    free(col->v);
  col->v = NULL;
  col->vmap = 0;
}

/* A string -> code dictionary: open addressing on FNV-1a. */
typedef struct dict {
  uint32_t *slots; /* code + 1; 0 = empty */
  size_t cap;
} dict;

typedef struct colstate {
  duckdb_logical_type type;
  duckdb_type id;
  dict d;
  size_t labcap;
} colstate;

/* The prefault thread's state (see prefault_run); target, done and stop
 * under mu. */
typedef struct prefault {
  pthread_t th;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  pk_cols *cs;
  size_t target; /* bytes per column to fault in */
  size_t start;  /* bytes per column the loader had written at the start */
  size_t done;   /* bytes per column faulted in or written */
  bool stop;
  /* The loader's own: the last target given; the thread runs; it must not
   * start (again). */
  size_t asked;
  bool running, failed;
} prefault;

typedef struct loader {
  pk_db_conn *conn;
  pk_cols *cs;
  colstate *st;
  size_t cap; /* rows allocated per array */
  pk_errmsg *e;
  prefault pf;
  /* Rows kept at most; past them the loader goes hollow: cs->cols[i].v
   * then holds the current batch of `batch` rows, `at` of them filled, and
   * fn (if any) gets each full batch. */
  size_t keep, batch, at;
  pk_cols_batch_fn fn;
  void *arg;
} loader;

static uint64_t fnv(const char *s, size_t n) {
  uint64_t h = 1469598103934665603u;
  for (size_t i = 0; i < n; i++)
    h = (h ^ (unsigned char)s[i]) * 1099511628211u;
  return h;
}

static int dict_grow(pk_col *col, colstate *st) {
  size_t ncap = st->d.cap ? st->d.cap * 2 : 64;
  uint32_t *ns = calloc(ncap, sizeof *ns);
  if (!ns)
    return PK_ENOMEM;
  for (size_t i = 0; i < col->nlabels; i++) {
    const char *l = col->labels[i];
    size_t h = fnv(l, strlen(l)) & (ncap - 1);
    while (ns[h])
      h = (h + 1) & (ncap - 1);
    ns[h] = (uint32_t)i + 1;
  }
  free(st->d.slots);
  st->d.slots = ns;
  st->d.cap = ncap;
  return PK_OK;
}

/* The code of s[0..n), adding it if new; -1 when out of memory. */
static double intern(pk_col *col, colstate *st, const char *s, size_t n) {
  if ((col->nlabels + 1) * 2 > st->d.cap && dict_grow(col, st))
    return -1;
  size_t mask = st->d.cap - 1, h = fnv(s, n) & mask;
  while (st->d.slots[h]) {
    const char *l = col->labels[st->d.slots[h] - 1];
    if (strlen(l) == n && !memcmp(l, s, n))
      return st->d.slots[h] - 1;
    h = (h + 1) & mask;
  }
  if (col->nlabels == st->labcap) {
    size_t nc = st->labcap ? st->labcap * 2 : 16;
    char **nl = realloc(col->labels, nc * sizeof *nl);
    if (!nl)
      return -1;
    col->labels = nl;
    st->labcap = nc;
  }
  char *copy = malloc(n + 1);
  if (!copy)
    return -1;
  memcpy(copy, s, n);
  copy[n] = '\0';
  col->labels[col->nlabels] = copy;
  st->d.slots[h] = (uint32_t)++col->nlabels;
  return (double)(col->nlabels - 1);
}

static int on_begin(void *arg, duckdb_result *res) {
  loader *L = arg;
  idx_t nc = duckdb_column_count(res);
  L->cs->cols = calloc(nc ? nc : 1, sizeof *L->cs->cols);
  L->st = calloc(nc ? nc : 1, sizeof *L->st);
  if (!L->cs->cols || !L->st)
    return PK_ENOMEM;
  L->cs->ncols = nc;
  for (idx_t i = 0; i < nc; i++) {
    pk_col *col = &L->cs->cols[i];
    colstate *st = &L->st[i];
    col->ranged = !L->fn; /* a scan's batches are not measured */
    col->min = INFINITY;
    col->max = -INFINITY;
    const char *name = duckdb_column_name(res, i);
    col->name = strdup(name ? name : "");
    if (!col->name)
      return PK_ENOMEM;
    st->type = duckdb_column_logical_type(res, i);
    st->id = duckdb_get_type_id(st->type);
    switch (st->id) {
    case DUCKDB_TYPE_VARCHAR:
    case DUCKDB_TYPE_ENUM:
      col->is_categorical = true;
      break;
    case DUCKDB_TYPE_DATE:
    case DUCKDB_TYPE_TIMESTAMP:
    case DUCKDB_TYPE_TIMESTAMP_S:
    case DUCKDB_TYPE_TIMESTAMP_MS:
    case DUCKDB_TYPE_TIMESTAMP_NS:
    case DUCKDB_TYPE_TIMESTAMP_TZ:
      col->is_time = true;
      break;
    case DUCKDB_TYPE_BOOLEAN:
    case DUCKDB_TYPE_TINYINT:
    case DUCKDB_TYPE_SMALLINT:
    case DUCKDB_TYPE_INTEGER:
    case DUCKDB_TYPE_BIGINT:
    case DUCKDB_TYPE_UTINYINT:
    case DUCKDB_TYPE_USMALLINT:
    case DUCKDB_TYPE_UINTEGER:
    case DUCKDB_TYPE_UBIGINT:
    case DUCKDB_TYPE_HUGEINT:
    case DUCKDB_TYPE_FLOAT:
    case DUCKDB_TYPE_DOUBLE:
    case DUCKDB_TYPE_DECIMAL:
      break;
    default:
      return pk_errmsg_set(L->e, PK_EINVAL,
                           "column '%s' has a type that cannot be plotted "
                           "(DuckDB type id %d); cast it in SQL",
                           col->name, (int)st->id);
    }
  }
  return PK_OK;
}

/* Faulting the arrays in ahead of the loader. On a VM, memory touched for
 * the first time costs a fault the host must back and a zeroed page, and
 * the loader is one thread (the one DuckDB hands chunks to): loading 100M
 * rows it spent most of its time in the kernel while a core was idle. A
 * second thread populates the arrays (MADV_POPULATE_WRITE, which never
 * changes a page already there, so it cannot race the loader's writes) up
 * to where the result will end, estimated from DuckDB's progress: rows so
 * far / fraction done. To bound what a wrong estimate costs (a filter whose
 * matches all come first), it never runs more than the loaded size (at
 * least PREFAULT_LEAD_MIN) ahead; pages faulted past the end go back in
 * pk_cols_shrink(). `pika plot` of 100M rows took 0.79x the time of faulting on
 * demand from a DuckDB table and 0.55x from Parquet (docs/ENGINE.md); a
 * thread that merely stayed a fixed distance ahead, with no estimate,
 * faulted pages past the end and was slower than none. */
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14; older kernels say EINVAL */
#endif
#define PREFAULT_START ((size_t)16 << 20)
#define PREFAULT_LEAD_MIN ((size_t)64 << 20)
#define PREFAULT_STEP ((size_t)4 << 20)

static void *prefault_run(void *arg) {
  prefault *pf = arg;
  pthread_mutex_lock(&pf->mu);
  while (!pf->stop) {
    if (pf->done >= pf->target) {
      pthread_cond_wait(&pf->cv, &pf->mu);
      continue;
    }
    size_t at = pf->done, n = pf->target - at;
    n = n < PREFAULT_STEP ? n : PREFAULT_STEP;
    pthread_mutex_unlock(&pf->mu);
    bool ok = true;
    for (size_t i = 0; i < pf->cs->ncols && ok; i++)
      ok = madvise((char *)pf->cs->cols[i].v + at, n, MADV_POPULATE_WRITE) ==
               0 ||
           errno == EINTR;
    pthread_mutex_lock(&pf->mu);
    if (!ok) /* an older kernel, or no memory: the loader faults alone */
      break;
    pf->done = at + n;
  }
  pthread_mutex_unlock(&pf->mu);
  return NULL;
}

/* After a chunk: moves the prefault target to the estimated end of the
 * result, starting the thread on the first large-enough estimate. */
static void prefault_note(loader *L) {
  prefault *pf = &L->pf;
  size_t filled = L->cs->nrows * sizeof(double);
  if (filled < PREFAULT_START || !L->cs->cols[0].vmap || pf->failed)
    return;
  pk_db_progress_info p;
  pk_db_progress(L->conn, &p);
  if (!(p.percent > 0 && p.percent < 100))
    return;
  double est = (double)filled * 100.0 / p.percent;
  size_t lead = filled > PREFAULT_LEAD_MIN ? filled : PREFAULT_LEAD_MIN;
  size_t target = est < (double)(filled + lead) ? (size_t)est : filled + lead;
  if (target > L->cs->cols[0].vmap)
    target = L->cs->cols[0].vmap;
  if (L->keep < target / sizeof(double)) /* a capped load stops there */
    target = L->keep * sizeof(double);
  if (!pf->running) {
    pf->cs = L->cs;
    pf->asked = pf->target = target;
    pf->start = pf->done = filled;
    if (pthread_mutex_init(&pf->mu, NULL)) {
      pf->failed = true;
      return;
    }
    if (pthread_cond_init(&pf->cv, NULL)) {
      pthread_mutex_destroy(&pf->mu);
      pf->failed = true;
      return;
    }
    if (pthread_create(&pf->th, NULL, prefault_run, pf)) {
      pthread_cond_destroy(&pf->cv);
      pthread_mutex_destroy(&pf->mu);
      pf->failed = true;
      return;
    }
    pf->running = true;
    return;
  }
  /* In steps, so that a waiting thread is woken (a futex call) once per
   * step, not once per 2048-row chunk. */
  if (target < pf->asked + PREFAULT_STEP)
    return;
  pf->asked = target;
  pthread_mutex_lock(&pf->mu);
  pf->target = target;
  pthread_cond_signal(&pf->cv);
  pthread_mutex_unlock(&pf->mu);
}

/* Stops and joins the prefault thread (before the mappings move or are
 * trimmed); it is not started again for this load. */
static void prefault_stop(loader *L) {
  prefault *pf = &L->pf;
  if (!pf->running)
    return;
  pthread_mutex_lock(&pf->mu);
  pf->stop = true;
  pthread_cond_signal(&pf->cv);
  pthread_mutex_unlock(&pf->mu);
  pthread_join(pf->th, NULL);
  pthread_cond_destroy(&pf->cv);
  pthread_mutex_destroy(&pf->mu);
  pf->running = false;
  pf->failed = true;
  L->cs->prefaulted = pf->done - pf->start;
}

/* Makes room for `need` rows in every column. The first call reserves
 * RESERVE_BYTES of address space per column, so that a result of up to a
 * billion rows is written in place: no copies and each page zeroed once by
 * the kernel (which is most of the cost of loading on a VM). Beyond that
 * the mappings grow with mremap, which moves page tables, not data. Where
 * address space cannot be reserved (strict overcommit), arrays are malloc'd
 * and doubled. */
static int grow(loader *L, size_t need) {
  if (need <= L->cap)
    return PK_OK;
  size_t ncols = L->cs->ncols;
  if (L->cap == 0) {
    size_t i = 0;
    for (; i < ncols; i++) {
      pk_col *col = &L->cs->cols[i];
      if (!(col->v = reserve(RESERVE_BYTES)))
        break;
      col->vmap = RESERVE_BYTES;
    }
    if (i == ncols && need <= RESERVE_BYTES / sizeof(double)) {
      L->cap = RESERVE_BYTES / sizeof(double);
      return PK_OK;
    }
    for (size_t j = 0; j < i; j++)
      pk_col_free_values(&L->cs->cols[j]);
  }
  prefault_stop(L); /* the mappings may move */
  size_t nc = L->cap ? L->cap : 4096;
  while (nc < need)
    nc *= 2;
  if (nc > SIZE_MAX / sizeof(double))
    return PK_ENOMEM;
  for (size_t i = 0; i < ncols; i++) {
    pk_col *col = &L->cs->cols[i];
    if (col->vmap) {
      void *p = mremap(col->v, col->vmap, nc * sizeof(double), MREMAP_MAYMOVE);
      if (p == MAP_FAILED)
        return PK_ENOMEM;
      col->v = p;
      col->vmap = nc * sizeof(double);
    } else {
      double *a = realloc(col->v, nc * sizeof(double));
      if (!a)
        return PK_ENOMEM;
      col->v = a;
    }
  }
  L->cap = nc;
  return PK_OK;
}

/* Small columns move to malloc: a mapping per tiny column would waste a
 * VMA and 2 MiB pages. */
int pk_cols_shrink(pk_cols *cs) {
  size_t used = cs->nrows * sizeof(double);
  for (size_t i = 0; i < cs->ncols; i++) {
    pk_col *col = &cs->cols[i];
    if (!col->vmap)
      continue;
    if (used < HUGE_BYTES) {
      double *a = malloc(used ? used : sizeof(double));
      if (!a)
        return PK_ENOMEM;
      memcpy(a, col->v, used);
      pk_col_free_values(col);
      col->v = a;
      continue;
    }
    size_t keep = (used + HUGE_BYTES - 1) / HUGE_BYTES * HUGE_BYTES;
    if (keep < col->vmap) {
      void *p = mremap(col->v, col->vmap, keep, 0);
      if (p == MAP_FAILED)
        return PK_ENOMEM;
      col->vmap = keep;
    }
  }
  return PK_OK;
}

static double decimal_at(duckdb_logical_type t, const void *d, idx_t r,
                         double scale) {
  double x;
  switch (duckdb_decimal_internal_type(t)) {
  case DUCKDB_TYPE_SMALLINT:
    x = ((const int16_t *)d)[r];
    break;
  case DUCKDB_TYPE_INTEGER:
    x = ((const int32_t *)d)[r];
    break;
  case DUCKDB_TYPE_BIGINT:
    x = (double)((const int64_t *)d)[r];
    break;
  default:
    x = duckdb_hugeint_to_double(((const duckdb_hugeint *)d)[r]);
    break;
  }
  return x / scale;
}

/* Text and enum values: interned row by row, NULLs skipped (their slots
 * hold no string). */
static int fill_labels(loader *L, size_t ci, const void *d,
                       const uint64_t *valid, idx_t n, double *out) {
  pk_col *col = &L->cs->cols[ci];
  colstate *st = &L->st[ci];
  for (idx_t r = 0; r < n; r++) {
    if (valid && !(valid[r / 64] >> (r % 64) & 1)) {
      out[r] = NAN;
      continue;
    }
    double x;
    if (st->id == DUCKDB_TYPE_VARCHAR) {
      duckdb_string_t *s = &((duckdb_string_t *)(uintptr_t)d)[r];
      x = intern(col, st, duckdb_string_t_data(s), duckdb_string_t_length(*s));
    } else {
      uint64_t idx;
      switch (duckdb_enum_internal_type(st->type)) {
      case DUCKDB_TYPE_UTINYINT:
        idx = ((const uint8_t *)d)[r];
        break;
      case DUCKDB_TYPE_USMALLINT:
        idx = ((const uint16_t *)d)[r];
        break;
      default:
        idx = ((const uint32_t *)d)[r];
        break;
      }
      char *s = duckdb_enum_dictionary_value(st->type, idx);
      x = s ? intern(col, st, s, strlen(s)) : NAN;
      duckdb_free(s);
    }
    if (x < 0)
      return PK_ENOMEM;
    out[r] = x;
  }
  return PK_OK;
}

/* One loop per type, the switch outside it: this runs for every value of
 * every loaded or streamed row. NULL slots are converted like any other
 * (whatever they hold) and then overwritten with NaN. */
#define CONVERT(T, EXPR)                                                       \
  do {                                                                         \
    const T *a = d;                                                            \
    for (idx_t r = 0; r < n; r++)                                              \
      out[r] = (EXPR);                                                         \
  } while (0)

static int fill(loader *L, size_t ci, duckdb_vector vec, idx_t n, double *out) {
  colstate *st = &L->st[ci];
  const void *d = duckdb_vector_get_data(vec);
  const uint64_t *valid = duckdb_vector_get_validity(vec);
  switch (st->id) {
  case DUCKDB_TYPE_VARCHAR:
  case DUCKDB_TYPE_ENUM:
    return fill_labels(L, ci, d, valid, n, out);
  case DUCKDB_TYPE_BOOLEAN: /* as bytes: a NULL slot may hold any */
    CONVERT(uint8_t, a[r] != 0);
    break;
  case DUCKDB_TYPE_TINYINT:
    CONVERT(int8_t, a[r]);
    break;
  case DUCKDB_TYPE_SMALLINT:
    CONVERT(int16_t, a[r]);
    break;
  case DUCKDB_TYPE_INTEGER:
    CONVERT(int32_t, a[r]);
    break;
  case DUCKDB_TYPE_BIGINT:
    CONVERT(int64_t, (double)a[r]);
    break;
  case DUCKDB_TYPE_UTINYINT:
    CONVERT(uint8_t, a[r]);
    break;
  case DUCKDB_TYPE_USMALLINT:
    CONVERT(uint16_t, a[r]);
    break;
  case DUCKDB_TYPE_UINTEGER:
    CONVERT(uint32_t, a[r]);
    break;
  case DUCKDB_TYPE_UBIGINT:
    CONVERT(uint64_t, (double)a[r]);
    break;
  case DUCKDB_TYPE_HUGEINT:
    CONVERT(duckdb_hugeint, duckdb_hugeint_to_double(a[r]));
    break;
  case DUCKDB_TYPE_FLOAT:
    CONVERT(float, a[r]);
    break;
  case DUCKDB_TYPE_DOUBLE:
    memcpy(out, d, n * sizeof *out);
    break;
  case DUCKDB_TYPE_DECIMAL: {
    double scale = pow(10.0, duckdb_decimal_scale(st->type));
    for (idx_t r = 0; r < n; r++)
      out[r] = decimal_at(st->type, d, r, scale);
    break;
  }
  case DUCKDB_TYPE_DATE:
    CONVERT(duckdb_date, (double)a[r].days * 86400.0);
    break;
  case DUCKDB_TYPE_TIMESTAMP:
  case DUCKDB_TYPE_TIMESTAMP_TZ:
    CONVERT(int64_t, (double)a[r] / 1e6);
    break;
  case DUCKDB_TYPE_TIMESTAMP_S:
    CONVERT(int64_t, (double)a[r]);
    break;
  case DUCKDB_TYPE_TIMESTAMP_MS:
    CONVERT(int64_t, (double)a[r] / 1e3);
    break;
  case DUCKDB_TYPE_TIMESTAMP_NS:
    CONVERT(int64_t, (double)a[r] / 1e9);
    break;
  default:
    for (idx_t r = 0; r < n; r++)
      out[r] = NAN;
    break;
  }
  /* DuckDB's validity mask: bit r of word r / 64, set when valid. */
  for (idx_t w = 0; valid && w * 64 < n; w++) {
    uint64_t m = valid[w];
    for (idx_t r = w * 64; m != ~(uint64_t)0 && r < n && r < w * 64 + 64; r++)
      if (!(m >> (r % 64) & 1))
        out[r] = NAN;
  }
  return PK_OK;
}

/* Drops the kept values and switches to batches (see loader). */
static int go_hollow(loader *L) {
  prefault_stop(L);
  pk_cols *cs = L->cs;
  idx_t vs = duckdb_vector_size();
  if (L->batch < vs)
    L->batch = vs;
  for (size_t i = 0; i < cs->ncols; i++) {
    pk_col_free_values(&cs->cols[i]);
    if (!(cs->cols[i].v = malloc(L->batch * sizeof(double))))
      return PK_ENOMEM;
  }
  cs->hollow = true;
  L->cap = 0;
  L->at = 0;
  return PK_OK;
}

/* Hands the filled part of the batch to fn. */
static int flush(loader *L) {
  pk_cols b = *L->cs;
  b.nrows = L->at;
  b.hollow = false;
  L->at = 0;
  return L->fn && b.nrows ? L->fn(L->arg, &b, L->e) : PK_OK;
}

/* Widens [*lo, *hi] by the finite values of v, while the chunk is in
 * cache: every plot of these columns needs the extent, and a second pass
 * over 100M rows would cost ~50 ms. GCC does not vectorise a conditional
 * min over doubles without -ffast-math, and the scalar loop was a third of
 * a streamed scan's own time, hence SSE2 (x86-64's baseline). */
static void extent(const double *v, size_t n, double *lo, double *hi) {
  double a = *lo, b = *hi;
  size_t r = 0;
#ifdef __SSE2__
  /* Two pairs of accumulators, so that the min/max latency overlaps; a
   * value that is not finite enters the min as +inf and the max as -inf. */
  const __m128d ninf = _mm_set1_pd(-INFINITY), pinf = _mm_set1_pd(INFINITY);
  __m128d a0 = _mm_set1_pd(a), a1 = a0, b0 = _mm_set1_pd(b), b1 = b0;
  for (; r + 4 <= n; r += 4) {
    __m128d x0 = _mm_loadu_pd(v + r), x1 = _mm_loadu_pd(v + r + 2);
    __m128d f0 = _mm_and_pd(_mm_cmpgt_pd(x0, ninf), _mm_cmplt_pd(x0, pinf));
    __m128d f1 = _mm_and_pd(_mm_cmpgt_pd(x1, ninf), _mm_cmplt_pd(x1, pinf));
    __m128d k0 = _mm_and_pd(f0, x0), k1 = _mm_and_pd(f1, x1);
    a0 = _mm_min_pd(a0, _mm_or_pd(k0, _mm_andnot_pd(f0, pinf)));
    a1 = _mm_min_pd(a1, _mm_or_pd(k1, _mm_andnot_pd(f1, pinf)));
    b0 = _mm_max_pd(b0, _mm_or_pd(k0, _mm_andnot_pd(f0, ninf)));
    b1 = _mm_max_pd(b1, _mm_or_pd(k1, _mm_andnot_pd(f1, ninf)));
  }
  double ta[2], tb[2];
  _mm_storeu_pd(ta, _mm_min_pd(a0, a1));
  _mm_storeu_pd(tb, _mm_max_pd(b0, b1));
  a = ta[0] < ta[1] ? ta[0] : ta[1];
  b = tb[0] > tb[1] ? tb[0] : tb[1];
#endif
  for (; r < n; r++) {
    double x = v[r];
    if (isfinite(x)) {
      a = x < a ? x : a;
      b = x > b ? x : b;
    }
  }
  *lo = a;
  *hi = b;
}

static int on_chunk(void *arg, duckdb_data_chunk chunk) {
  loader *L = arg;
  idx_t n = duckdb_data_chunk_get_size(chunk);
  if (n == 0)
    return PK_OK;
  pk_cols *cs = L->cs;
  if (!cs->hollow && cs->nrows + n > L->keep && go_hollow(L))
    return pk_errmsg_set(L->e, PK_ENOMEM, "out of memory");
  size_t at = cs->nrows;
  if (cs->hollow) {
    if (L->at + n > L->batch) {
      int err = flush(L);
      if (err)
        return err;
    }
    at = L->at;
  } else if (grow(L, cs->nrows + n)) {
    return pk_errmsg_set(L->e, PK_ENOMEM, "out of memory loading %zu rows",
                         cs->nrows + (size_t)n);
  }
  for (size_t i = 0; i < cs->ncols; i++) {
    pk_col *col = &cs->cols[i];
    double *out = col->v + at;
    int err = fill(L, i, duckdb_data_chunk_get_vector(chunk, i), n, out);
    if (err)
      return pk_errmsg_set(L->e, err, "out of memory loading column '%s'",
                           col->name);
    if (col->ranged)
      extent(out, n, &col->min, &col->max);
  }
  cs->nrows += n;
  if (cs->hollow)
    L->at += n;
  else
    prefault_note(L);
  return PK_OK;
}

static int load(pk_db_conn *c, const char *sql, loader *L, pk_cols **out) {
  *out = NULL;
  pk_errmsg *e = L->e;
  pk_cols *cs = calloc(1, sizeof *cs);
  if (!cs)
    return pk_errmsg_set(e, PK_ENOMEM, "out of memory");
  L->conn = c;
  L->cs = cs;
  pk_db_sink sink = {.begin = on_begin, .chunk = on_chunk, .arg = L};
  int err = pk_db_exec(c, sql, &sink, e);
  prefault_stop(L);
  if (!err && cs->hollow)
    err = flush(L);
  if (cs->hollow)
    for (size_t i = 0; i < cs->ncols; i++)
      pk_col_free_values(&cs->cols[i]);
  else if (!err && (grow(L, 1) || pk_cols_shrink(cs)))
    err = pk_errmsg_set(e, PK_ENOMEM, "out of memory");
  if (L->st) {
    for (size_t i = 0; i < cs->ncols; i++) {
      duckdb_destroy_logical_type(&L->st[i].type);
      free(L->st[i].d.slots);
    }
    free(L->st);
  }
  if (err) {
    pk_cols_free(cs);
    return err;
  }
  *out = cs;
  return PK_OK;
}

int pk_cols_load(pk_db_conn *c, const char *sql, pk_cols **out, pk_errmsg *e) {
  loader L = {.e = e, .keep = SIZE_MAX};
  return load(c, sql, &L, out);
}

int pk_cols_load_capped(pk_db_conn *c, const char *sql, size_t keep,
                        pk_cols **out, pk_errmsg *e) {
  /* Past keep it only measures, in one chunk's worth of scratch. */
  loader L = {.e = e, .keep = keep};
  return load(c, sql, &L, out);
}

int pk_cols_scan(pk_db_conn *c, const char *sql, size_t rows,
                 pk_cols_batch_fn fn, void *arg, pk_errmsg *e) {
  loader L = {.e = e, .batch = rows, .fn = fn, .arg = arg};
  pk_cols *cs = NULL;
  int err = load(c, sql, &L, &cs);
  pk_cols_free(cs);
  return err;
}

const pk_col *pk_cols_find(const pk_cols *cs, const char *name) {
  for (size_t i = 0; i < cs->ncols; i++)
    if (!strcmp(cs->cols[i].name, name))
      return &cs->cols[i];
  for (size_t i = 0; i < cs->ncols; i++)
    if (!strcasecmp(cs->cols[i].name, name))
      return &cs->cols[i];
  return NULL;
}

void pk_cols_free(pk_cols *cs) {
  if (!cs)
    return;
  for (size_t i = 0; i < cs->ncols; i++) {
    pk_col *col = &cs->cols[i];
    free(col->name);
    pk_col_free_values(col);
    for (size_t j = 0; j < col->nlabels; j++)
      free(col->labels[j]);
    free(col->labels);
  }
  free(cs->cols);
  free(cs);
}
