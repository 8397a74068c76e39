/* columns.c — query results as double arrays; see columns.h. */
#include "engine/columns.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>

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

typedef struct loader {
  pk_cols *cs;
  colstate *st;
  size_t cap; /* rows allocated per array */
  pk_errmsg *e;
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
    col->ranged = true;
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

/* Gives back what the reservation did not use: small columns move to
 * malloc (a mapping per tiny column would waste a VMA and 2 MiB pages),
 * large ones are trimmed to whole huge pages. */
static int finish(loader *L) {
  size_t used = L->cs->nrows * sizeof(double);
  for (size_t i = 0; i < L->cs->ncols; i++) {
    pk_col *col = &L->cs->cols[i];
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

static double decimal_at(duckdb_logical_type t, const void *d, idx_t r) {
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
  return x / pow(10.0, duckdb_decimal_scale(t));
}

static int fill(loader *L, size_t ci, duckdb_vector vec, idx_t n, double *out) {
  pk_col *col = &L->cs->cols[ci];
  colstate *st = &L->st[ci];
  const void *d = duckdb_vector_get_data(vec);
  uint64_t *valid = duckdb_vector_get_validity(vec);
  for (idx_t r = 0; r < n; r++) {
    if (valid && !duckdb_validity_row_is_valid(valid, r)) {
      out[r] = NAN;
      continue;
    }
    double x;
    switch (st->id) {
    case DUCKDB_TYPE_BOOLEAN:
      x = ((const bool *)d)[r];
      break;
    case DUCKDB_TYPE_TINYINT:
      x = ((const int8_t *)d)[r];
      break;
    case DUCKDB_TYPE_SMALLINT:
      x = ((const int16_t *)d)[r];
      break;
    case DUCKDB_TYPE_INTEGER:
      x = ((const int32_t *)d)[r];
      break;
    case DUCKDB_TYPE_BIGINT:
      x = (double)((const int64_t *)d)[r];
      break;
    case DUCKDB_TYPE_UTINYINT:
      x = ((const uint8_t *)d)[r];
      break;
    case DUCKDB_TYPE_USMALLINT:
      x = ((const uint16_t *)d)[r];
      break;
    case DUCKDB_TYPE_UINTEGER:
      x = ((const uint32_t *)d)[r];
      break;
    case DUCKDB_TYPE_UBIGINT:
      x = (double)((const uint64_t *)d)[r];
      break;
    case DUCKDB_TYPE_HUGEINT:
      x = duckdb_hugeint_to_double(((const duckdb_hugeint *)d)[r]);
      break;
    case DUCKDB_TYPE_FLOAT:
      x = ((const float *)d)[r];
      break;
    case DUCKDB_TYPE_DOUBLE:
      x = ((const double *)d)[r];
      break;
    case DUCKDB_TYPE_DECIMAL:
      x = decimal_at(st->type, d, r);
      break;
    case DUCKDB_TYPE_DATE:
      x = (double)((const duckdb_date *)d)[r].days * 86400.0;
      break;
    case DUCKDB_TYPE_TIMESTAMP:
    case DUCKDB_TYPE_TIMESTAMP_TZ:
      x = (double)((const int64_t *)d)[r] / 1e6;
      break;
    case DUCKDB_TYPE_TIMESTAMP_S:
      x = (double)((const int64_t *)d)[r];
      break;
    case DUCKDB_TYPE_TIMESTAMP_MS:
      x = (double)((const int64_t *)d)[r] / 1e3;
      break;
    case DUCKDB_TYPE_TIMESTAMP_NS:
      x = (double)((const int64_t *)d)[r] / 1e9;
      break;
    case DUCKDB_TYPE_VARCHAR: {
      duckdb_string_t *s = &((duckdb_string_t *)(uintptr_t)d)[r];
      x = intern(col, st, duckdb_string_t_data(s), duckdb_string_t_length(*s));
      if (x < 0)
        return PK_ENOMEM;
      break;
    }
    case DUCKDB_TYPE_ENUM: {
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
      if (x < 0)
        return PK_ENOMEM;
      break;
    }
    default:
      x = NAN;
      break;
    }
    out[r] = x;
  }
  return PK_OK;
}

static int on_chunk(void *arg, duckdb_data_chunk chunk) {
  loader *L = arg;
  idx_t n = duckdb_data_chunk_get_size(chunk);
  if (n == 0)
    return PK_OK;
  if (grow(L, L->cs->nrows + n))
    return pk_errmsg_set(L->e, PK_ENOMEM, "out of memory loading %zu rows",
                         L->cs->nrows + (size_t)n);
  for (size_t i = 0; i < L->cs->ncols; i++) {
    pk_col *col = &L->cs->cols[i];
    double *out = col->v + L->cs->nrows;
    int err = fill(L, i, duckdb_data_chunk_get_vector(chunk, i), n, out);
    if (err)
      return pk_errmsg_set(L->e, err, "out of memory loading column '%s'",
                           col->name);
    /* The extent while the chunk is in cache: every plot of these columns
     * needs it, and a second pass over 100M rows would cost ~50 ms. */
    double lo = col->min, hi = col->max;
    for (idx_t r = 0; r < n; r++) {
      double x = out[r];
      if (isfinite(x)) {
        lo = x < lo ? x : lo;
        hi = x > hi ? x : hi;
      }
    }
    col->min = lo;
    col->max = hi;
  }
  L->cs->nrows += n;
  return PK_OK;
}

int pk_cols_load(pk_db_conn *c, const char *sql, pk_cols **out, pk_errmsg *e) {
  *out = NULL;
  pk_cols *cs = calloc(1, sizeof *cs);
  if (!cs)
    return pk_errmsg_set(e, PK_ENOMEM, "out of memory");
  loader L = {.cs = cs, .e = e};
  pk_db_sink sink = {.begin = on_begin, .chunk = on_chunk, .arg = &L};
  int err = pk_db_exec(c, sql, &sink, e);
  if (!err && (grow(&L, 1) || finish(&L)))
    err = pk_errmsg_set(e, PK_ENOMEM, "out of memory");
  if (L.st) {
    for (size_t i = 0; i < cs->ncols; i++) {
      duckdb_destroy_logical_type(&L.st[i].type);
      free(L.st[i].d.slots);
    }
    free(L.st);
  }
  if (err) {
    pk_cols_free(cs);
    return err;
  }
  *out = cs;
  return PK_OK;
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
