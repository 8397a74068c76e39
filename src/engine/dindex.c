/* dindex.c — the density index; see dindex.h. */
#include "engine/dindex.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "base/error.h"
#include "engine/columns.h"
#include "engine/kernel_par.h"

enum { L = PK_DINDEX_LEVELS, CODE_BITS = 24 };

struct pk_dindex {
  size_t n, nf;        /* points given; points with a finite x and y */
  const double *x, *y; /* the caller's arrays */
  uint32_t *perm;      /* nf: the indexed points' rows, by x code */
  uint16_t *yq;        /* nf: their y code's high 16 bits (the y level) */
  uint8_t *yf, *xf;    /* nf: the low 8 bits of the y and x codes */
  size_t perm_len, yq_len, yf_len, xf_len; /* mapped bytes */
  uint64_t *off;  /* L + 1: x level l is [off[l], off[l+1]) */
  double xlo, xk; /* the codes' cuts (see code()) */
  double ylo, yk;
};

/* ---- codes --------------------------------------------------------------- */

/* A value's code: floor((v - lo) * k) clamped to [0, 2^24), k = 2^24 /
 * (hi - lo) over the extent [lo, hi]. Monotone in v (a subtraction, a
 * product by a positive number and floor each are), which is all that
 * exactness needs: a point whose code is below (above) the code of a value
 * b is below (above) b. An unusable extent gives k = 0: one code for all,
 * still correct, only no faster than a scan. */
static void cut_of(double lo, double hi, double *clo, double *ck) {
  *clo = isfinite(lo) ? lo : 0;
  *ck = 0;
  if (isfinite(lo) && isfinite(hi) && hi > lo) {
    double k = (double)(1u << CODE_BITS) / (hi - lo);
    if (isfinite(k))
      *ck = k;
  }
}

static inline uint32_t code(double lo, double k, double v) {
  double t = (v - lo) * k;
  const double top = (double)((1u << CODE_BITS) - 1);
  return t >= top ? (1u << CODE_BITS) - 1 : t > 0 ? (uint32_t)t : 0;
}

/* ---- building ------------------------------------------------------------ */

static void *map_array(size_t bytes, size_t *len) {
  *len = bytes;
  return bytes ? pk_huge_map(len) : NULL;
}

void pk_dindex_free(pk_dindex *ix) {
  if (!ix)
    return;
  if (ix->perm)
    munmap(ix->perm, ix->perm_len);
  if (ix->yq)
    munmap(ix->yq, ix->yq_len);
  if (ix->yf)
    munmap(ix->yf, ix->yf_len);
  if (ix->xf)
    munmap(ix->xf, ix->xf_len);
  free(ix->off);
  free(ix);
}

uint64_t pk_dindex_bytes(const pk_dindex *ix) {
  return sizeof *ix + ix->perm_len + ix->yq_len + ix->yf_len + ix->xf_len +
         (uint64_t)(L + 1) * sizeof *ix->off;
}

static void extent(const double *x, const double *y, size_t n, double e[4]) {
  e[0] = e[2] = INFINITY;
  e[1] = e[3] = -INFINITY;
  for (size_t i = 0; i < n; i++) {
    double xv = x[i], yv = y[i];
    if (!isfinite(xv) || !isfinite(yv))
      continue;
    e[0] = xv < e[0] ? xv : e[0];
    e[1] = xv > e[1] ? xv : e[1];
    e[2] = yv < e[2] ? yv : e[2];
    e[3] = yv > e[3] ? yv : e[3];
  }
}

int pk_dindex_build(const double *x, const double *y, size_t n,
                    const double ext[4], pk_dindex **out) {
  *out = NULL;
  if ((n && (!x || !y)) || (uint64_t)n >= ((uint64_t)1 << 32))
    return PK_EINVAL;
  double e[4];
  if (ext)
    memcpy(e, ext, sizeof e);
  else
    extent(x, y, n, e);
  pk_dindex *ix = calloc(1, sizeof *ix);
  if (!ix)
    return PK_ENOMEM;
  ix->n = n;
  ix->x = x;
  ix->y = y;
  cut_of(e[0], e[1], &ix->xlo, &ix->xk);
  cut_of(e[2], e[3], &ix->ylo, &ix->yk);
  ix->off = calloc(L + 1, sizeof *ix->off);
  uint64_t *cur = malloc(L * sizeof *cur);
  uint8_t *xlow = NULL; /* the x level's low byte, for the second step */
  size_t xlow_len = 0;
  uint32_t *sp = NULL;
  uint16_t *sq = NULL;
  uint8_t *sf = NULL, *sx = NULL, *sl = NULL;
  if (!ix->off || !cur)
    goto done;

  /* Pass 1: the x levels' sizes. */
  uint64_t *cnt = ix->off + 1;
  size_t nf = 0;
  for (size_t i = 0; i < n; i++) {
    double xv = x[i], yv = y[i];
    if (!isfinite(xv) || !isfinite(yv))
      continue;
    cnt[code(ix->xlo, ix->xk, xv) >> 8]++;
    nf++;
  }
  ix->nf = nf;
  for (size_t l = 0; l < L; l++) {
    cur[l] = ix->off[l];
    ix->off[l + 1] += ix->off[l];
  }

  /* Passes 2 and 3: a counting sort by x level in two steps of 256 ways
   * (by the level's high byte into its stretch, then within each stretch by
   * the low byte through a scratch copy), because 65536 ways at once miss
   * the cache on nearly every write. */
  ix->perm = map_array(nf * sizeof(uint32_t), &ix->perm_len);
  ix->yq = map_array(nf * sizeof(uint16_t), &ix->yq_len);
  ix->yf = map_array(nf, &ix->yf_len);
  ix->xf = map_array(nf, &ix->xf_len);
  xlow = map_array(nf, &xlow_len);
  if (nf && (!ix->perm || !ix->yq || !ix->yf || !ix->xf || !xlow))
    goto done;
  uint64_t hcur[256];
  size_t span = 1;
  for (size_t h = 0; h < 256; h++) {
    hcur[h] = ix->off[h << 8];
    size_t w = ix->off[(h + 1) << 8] - ix->off[h << 8];
    span = w > span ? w : span;
  }
  for (size_t i = 0; i < n; i++) {
    double xv = x[i], yv = y[i];
    if (!isfinite(xv) || !isfinite(yv))
      continue;
    uint32_t xc = code(ix->xlo, ix->xk, xv), yc = code(ix->ylo, ix->yk, yv);
    uint64_t p = hcur[xc >> 16]++;
    ix->perm[p] = (uint32_t)i;
    ix->yq[p] = (uint16_t)(yc >> 8);
    ix->yf[p] = (uint8_t)yc;
    ix->xf[p] = (uint8_t)xc;
    xlow[p] = (uint8_t)(xc >> 8);
  }
  sp = malloc(span * sizeof *sp);
  sq = malloc(span * sizeof *sq);
  sf = malloc(span);
  sx = malloc(span);
  sl = malloc(span);
  if (!sp || !sq || !sf || !sx || !sl)
    goto done;
  for (size_t h = 0; h < 256; h++) {
    size_t a = ix->off[h << 8], m = ix->off[(h + 1) << 8] - a;
    if (!m)
      continue;
    memcpy(sp, ix->perm + a, m * sizeof *sp);
    memcpy(sq, ix->yq + a, m * sizeof *sq);
    memcpy(sf, ix->yf + a, m);
    memcpy(sx, ix->xf + a, m);
    memcpy(sl, xlow + a, m);
    uint64_t *c = cur + (h << 8);
    for (size_t i = 0; i < m; i++) {
      uint64_t p = c[sl[i]]++;
      ix->perm[p] = sp[i];
      ix->yq[p] = sq[i];
      ix->yf[p] = sf[i];
      ix->xf[p] = sx[i];
    }
  }
  *out = ix;
  ix = NULL;

done: /* ix is NULL here when all went well: *out has it */
  free(sp);
  free(sq);
  free(sf);
  free(sx);
  free(sl);
  if (xlow)
    munmap(xlow, xlow_len);
  free(cur);
  pk_dindex_free(ix);
  return *out ? PK_OK : PK_ENOMEM;
}

/* ---- counting ------------------------------------------------------------ */

/* A call's classification of codes into bins, for one axis. The bins'
 * boundaries are the values b_0 = lo < b_1 < ... < b_n = hi, b_r the
 * smallest double whose bin is r; a value is in bin r iff b_r <= v <
 * b_(r+1). With cb_r = code(b_r), a code strictly between cb_(r-1) and cb_r
 * belongs to bin r-1 (below cb_0 or above cb_n: outside), and a code equal
 * to some cb_r is ambiguous: such a point is binned from its exact value.
 * So each level (a code's high 16 bits) either holds no boundary and maps
 * wholly to one bin or to "outside", or gets a 256-entry table over the
 * code's low 8 bits. lut[level] is the bin (or n: outside) for a whole
 * level; for a level with a table, the table's offset in `tab` with the
 * flag TABLE set. A table entry is a bin, n (outside) or n + 1
 * (ambiguous). */
#define TABLE 0x80000000u

typedef struct atabs {
  uint32_t *lut; /* L entries */
  uint32_t *tab;
} atabs;

/* Doubles as ordered integers (both zeros are 0), for bisection. */
static int64_t ord(double d) {
  int64_t i;
  memcpy(&i, &d, sizeof i);
  return i >= 0 ? i : INT64_MIN - i;
}

static double unord(int64_t i) {
  if (i < 0)
    i = INT64_MIN - i;
  double d;
  memcpy(&d, &i, sizeof d);
  return d;
}

/* The smallest double in [lo, hi) whose bin is >= r, or hi if none: from
 * lo + r / k, a few steps of one ulp nearly always find it; bisection over
 * the doubles if not. */
static double bin_start(const pk_kaxis *a, size_t r) {
  double t = a->lo + (double)r / a->k;
  for (int step = 0; step < 16 && t > a->lo && t < a->hi; step++) {
    if (pk_kaxis_bin(a, t) >= r) {
      double p = nextafter(t, -INFINITY);
      if (p <= a->lo || pk_kaxis_bin(a, p) < r)
        return p <= a->lo && pk_kaxis_bin(a, a->lo) >= r ? a->lo : t;
      t = p;
    } else {
      t = nextafter(t, INFINITY);
    }
  }
  int64_t lo = ord(a->lo), hi = ord(a->hi); /* bin(lo) < r; hi: past the end */
  while ((uint64_t)hi - (uint64_t)lo > 1) {
    int64_t mid = (int64_t)((uint64_t)lo + ((uint64_t)hi - (uint64_t)lo) / 2);
    if (pk_kaxis_bin(a, unord(mid)) >= r)
      hi = mid;
    else
      lo = mid;
  }
  return unord(hi);
}

/* At most this many table entries (16 MiB) a call: boundaries in more
 * levels than 16384 (that many bins on one axis) are PK_ELIMIT, and the
 * caller scans instead. */
#define TAB_MAX ((size_t)1 << 22)

static int atabs_make(const pk_kaxis *a, double clo, double ck, atabs *t) {
  const size_t nb = a->n;
  t->lut = NULL;
  t->tab = NULL;
  uint32_t *cb = malloc((nb + 1) * sizeof *cb);
  t->lut = malloc(L * sizeof *t->lut);
  if (!cb || !t->lut) {
    free(cb);
    return PK_ENOMEM;
  }
  cb[0] = code(clo, ck, a->lo);
  for (size_t r = 1; r < nb; r++)
    cb[r] = code(clo, ck, bin_start(a, r));
  cb[nb] = code(clo, ck, a->hi);
  size_t nsub = 0; /* levels holding a boundary code */
  for (size_t r = 0; r <= nb; r++)
    nsub += r == 0 || cb[r] >> 8 != cb[r - 1] >> 8;
  if (nsub * 256 > TAB_MAX ||
      !(t->tab = malloc((nsub ? nsub : 1) * 256 * sizeof *t->tab))) {
    free(cb);
    return nsub * 256 > TAB_MAX ? PK_ELIMIT : PK_ENOMEM;
  }
  size_t j = 0, next = 0; /* j: boundaries with cb < the level's codes */
  for (uint32_t l = 0; l < L; l++) {
    uint32_t c0 = l << 8, c1 = c0 | 255;
    while (j <= nb && cb[j] < c0)
      j++;
    if (j > nb || cb[j] > c1) { /* no boundary in this level */
      t->lut[l] = j == 0 || j == nb + 1 ? (uint32_t)nb : (uint32_t)(j - 1);
      continue;
    }
    t->lut[l] = (uint32_t)next | TABLE;
    size_t k = j;
    for (uint32_t c = c0; c <= c1; c++) {
      while (k <= nb && cb[k] < c)
        k++;
      t->tab[next + (c - c0)] = k <= nb && cb[k] == c   ? (uint32_t)nb + 1
                                : k == 0 || k == nb + 1 ? (uint32_t)nb
                                                        : (uint32_t)(k - 1);
    }
    next += 256;
  }
  free(cb);
  return PK_OK;
}

static void atabs_free(atabs *t) {
  free(t->lut);
  free(t->tab);
}

typedef struct dq {
  const pk_dindex *ix;
  pk_kaxis ax, ay;
  atabs xt, yt;
  uint32_t *grid[PK_KPAR_MAX_PARTS];
  uint32_t *colh[PK_KPAR_MAX_PARTS]; /* 2 x (ny + 1): one pixel column's
                                        rows and a slot for "outside", twice
                                        (see dq_part) */
} dq;

static void flush(uint32_t *g, uint32_t *colh, size_t nx, size_t ny,
                  size_t col) {
  uint32_t *colh2 = colh + ny + 1;
  for (size_t b = 0; b < ny; b++) {
    g[b * nx + col] += colh[b] + colh2[b];
    colh[b] = colh2[b] = 0;
  }
}

/* What the hot loops read, as locals: the counters' stores could alias
 * loads through the index. */
typedef struct view {
  const uint32_t *ylut, *ytab, *perm;
  const uint16_t *yq;
  const uint8_t *yf;
  const double *y;
  pk_kaxis ay;
} view;

/* Point i's row, or ny (outside). Points in a level without a boundary
 * (all but ~ny + 1 of the 65536 levels at the whole extent) need one table
 * look-up, and the branch is then nearly always predicted. */
static inline uint32_t yrow(const view *v, size_t i) {
  uint32_t e = v->ylut[v->yq[i]];
  if (__builtin_expect(!(e & TABLE), 1))
    return e;
  uint32_t b = v->ytab[(e & ~TABLE) + v->yf[i]];
  if (b == v->ay.n + 1) { /* ambiguous: the exact y */
    double yv = v->y[v->perm[i]];
    b = pk_kaxis_inside(&v->ay, yv) ? (uint32_t)pk_kaxis_bin(&v->ay, yv)
                                    : (uint32_t)v->ay.n;
  }
  return b;
}

static void dq_part(void *vctx, unsigned part, size_t la, size_t lb) {
  dq *q = vctx;
  const pk_dindex *ix = q->ix;
  uint32_t *g = q->grid[part], *colh = q->colh[part];
  const size_t nx = q->ax.n, ny = q->ay.n;
  const view v = {q->yt.lut, q->yt.tab, ix->perm, ix->yq, ix->yf, ix->y, q->ay};
  const uint32_t *xlut = q->xt.lut, *xtab = q->xt.tab;
  const uint8_t *xf = ix->xf;
  const double *x = ix->x;
  size_t cur = SIZE_MAX; /* the pixel column colh is gathering */
  for (size_t l = la; l < lb; l++) {
    size_t lo = ix->off[l], hi = ix->off[l + 1];
    uint32_t e = xlut[l];
    if (lo == hi || e == nx)
      continue; /* empty, or wholly outside: not read */
    if (!(e & TABLE)) {
      /* Wholly in pixel column e: only the y codes are read. */
      if (e != cur) {
        if (cur != SIZE_MAX)
          flush(g, colh, nx, ny, cur);
        cur = e;
      }
      /* Two sets of counters, alternating, so that neighbours in the same
       * row do not wait on each other's increment (20 % faster); yf is read
       * only in levels with a boundary, too sparsely for the hardware
       * prefetcher, so its lines are fetched ahead (or nearly every such
       * read misses). */
      uint32_t *colh2 = colh + ny + 1;
      size_t i = lo;
      for (; i + 4 <= hi; i += 4) {
        if ((i & 60) == 0)
          __builtin_prefetch(v.yf + i + 256);
        uint32_t b0 = yrow(&v, i), b1 = yrow(&v, i + 1);
        uint32_t b2 = yrow(&v, i + 2), b3 = yrow(&v, i + 3);
        colh[b0]++;
        colh2[b1]++;
        colh[b2]++;
        colh2[b3]++;
      }
      for (; i < hi; i++)
        colh[yrow(&v, i)]++;
      continue;
    }
    /* A level with a column boundary: each point's column from its code. */
    const uint32_t *t = xtab + (e & ~TABLE);
    for (size_t i = lo; i < hi; i++) {
      uint32_t c = t[xf[i]];
      if (c == nx + 1) { /* ambiguous: the exact x */
        double xv = x[ix->perm[i]];
        c = pk_kaxis_inside(&q->ax, xv) ? (uint32_t)pk_kaxis_bin(&q->ax, xv)
                                        : (uint32_t)nx;
      }
      if (c == nx)
        continue;
      uint32_t b = yrow(&v, i);
      if (b < ny)
        g[(size_t)b * nx + c]++;
    }
  }
  if (cur != SIZE_MAX)
    flush(g, colh, nx, ny, cur);
}

int pk_dindex_count(pk_pool *pool, const pk_dindex *ix,
                    const pk_density2d_spec *spec, uint64_t *counts,
                    pk_kstats *stats) {
  if (!ix || !spec || !counts || spec->agg != PK_KAGG_COUNT)
    return PK_EINVAL;
  dq q = {.ix = ix};
  if (!pk_kaxis_init(&q.ax, spec->x0, spec->x1, spec->nx) ||
      !pk_kaxis_init(&q.ay, spec->y0, spec->y1, spec->ny) ||
      spec->nx > ((size_t)1 << 28) / spec->ny)
    return PK_EINVAL;
  const size_t nx = spec->nx, ny = spec->ny, cells = nx * ny;
  int rc = atabs_make(&q.ax, ix->xlo, ix->xk, &q.xt);
  if (!rc)
    rc = atabs_make(&q.ay, ix->ylo, ix->yk, &q.yt);
  if (rc == PK_ELIMIT) {
    /* More bins than the tables encode: scan the arrays. */
    atabs_free(&q.xt);
    atabs_free(&q.yt);
    return pk_density2d(pool, ix->x, ix->y, NULL, ix->n, spec, counts, NULL,
                        stats);
  }
  /* A partial grid per share; one share for huge grids, whose partials
   * would cost more memory than a second core saves time. */
  unsigned nparts = cells > ((size_t)1 << 22) ? 1 : pk_kpar_parts(pool, ix->nf);
  for (unsigned p = 0; p < nparts && !rc; p++) {
    q.grid[p] = calloc(cells, sizeof(uint32_t));
    q.colh[p] = calloc(2 * (ny + 1), sizeof(uint32_t));
    if (!q.grid[p] || !q.colh[p])
      rc = PK_ENOMEM;
  }
  if (rc)
    goto out;
  if (ix->nf) {
    pk_kpar pr = {.n = L,
                  .nparts = nparts,
                  .ctx = &q,
                  .fn = dq_part,
                  .dynamic = true,
                  .block = L / ((size_t)nparts * 32)};
    pk_kpar_run(pool, &pr);
  }
  uint64_t counted = 0;
  memset(counts, 0, cells * sizeof *counts);
  for (unsigned p = 0; p < nparts; p++)
    for (size_t i = 0; i < cells; i++) {
      counts[i] += q.grid[p][i];
      counted += q.grid[p][i];
    }
  if (stats)
    *stats = (pk_kstats){.n = ix->n,
                         .counted = counted,
                         .skipped = ix->n - ix->nf,
                         .outside = ix->nf - counted};
out:
  for (unsigned p = 0; p < nparts; p++) {
    free(q.grid[p]);
    free(q.colh[p]);
  }
  atabs_free(&q.xt);
  atabs_free(&q.yt);
  return rc;
}
