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

enum { L = PK_DINDEX_LEVELS };

struct pk_dindex {
  size_t n, nf; /* points given; points with a finite x and y */
  double *xs, *ys;
  uint16_t *yq;                          /* a y code's high 16 bits ... */
  uint8_t *yf;                           /* ... and its low 8 */
  size_t xs_len, ys_len, yq_len, yf_len; /* mapped bytes */
  uint64_t *off;       /* L + 1: x level l is [off[l], off[l+1]) */
  double *xmin, *xmax; /* per x level */
  double ylo, yk;      /* the y code's cut (see ycode) */
};

typedef struct cut {
  double lo, k;
} cut;

/* Levels over [lo, hi]: an even cut when the width is finite, else one
 * level (correct, only slower, see dindex.h). */
static cut cut_of(double lo, double hi) {
  cut c = {lo, 0};
  if (isfinite(lo) && isfinite(hi) && hi > lo) {
    double k = (double)L / (hi - lo);
    if (isfinite(k))
      c.k = k;
  }
  return c;
}

static inline uint32_t level(const cut *c, double v) {
  double t = (v - c->lo) * c->k;
  return t >= (double)(L - 1) ? L - 1 : t > 0 ? (uint32_t)t : 0;
}

/* The y code: 24 bits, floor((y - lo) * 2^24 / (hi - lo)) clamped to
 * [0, 2^24). Monotone in y (a subtraction, a product by a positive number
 * and floor each are), which is all that exactness needs: a point whose
 * code is below (above) the code of a value b has y below (above) b. */
enum { YBITS = 24 };

static inline uint32_t ycode(double lo, double k, double v) {
  double t = (v - lo) * k;
  const double top = (double)((1u << YBITS) - 1);
  return t >= top ? (1u << YBITS) - 1 : t > 0 ? (uint32_t)t : 0;
}

static void *map_array(size_t bytes, size_t *len) {
  *len = bytes;
  return bytes ? pk_huge_map(len) : NULL;
}

void pk_dindex_free(pk_dindex *ix) {
  if (!ix)
    return;
  if (ix->xs)
    munmap(ix->xs, ix->xs_len);
  if (ix->ys)
    munmap(ix->ys, ix->ys_len);
  if (ix->yq)
    munmap(ix->yq, ix->yq_len);
  if (ix->yf)
    munmap(ix->yf, ix->yf_len);
  free(ix->off);
  free(ix->xmin);
  free(ix->xmax);
  free(ix);
}

uint64_t pk_dindex_bytes(const pk_dindex *ix) {
  return sizeof *ix + ix->xs_len + ix->ys_len + ix->yq_len + ix->yf_len +
         (uint64_t)(L + 1) * sizeof *ix->off + (uint64_t)2 * L * sizeof(double);
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
  cut cx = cut_of(e[0], e[1]), cy = cut_of(e[2], e[3]);
  cy.k *= (double)(1u << YBITS) / L;

  pk_dindex *ix = calloc(1, sizeof *ix);
  if (!ix)
    return PK_ENOMEM;
  ix->n = n;
  ix->ylo = cy.lo;
  ix->yk = cy.k;
  ix->off = calloc(L + 1, sizeof *ix->off);
  ix->xmin = malloc(L * sizeof(double));
  ix->xmax = malloc(L * sizeof(double));
  uint64_t *cur = malloc(L * sizeof *cur);
  double *tx = NULL, *ty = NULL;
  if (!ix->off || !ix->xmin || !ix->xmax || !cur)
    goto nomem;
  for (size_t l = 0; l < L; l++) {
    ix->xmin[l] = INFINITY;
    ix->xmax[l] = -INFINITY;
  }

  /* Pass 1: level sizes and the levels' actual extents. */
  uint64_t *cnt = ix->off + 1;
  size_t nf = 0;
  for (size_t i = 0; i < n; i++) {
    double xv = x[i], yv = y[i];
    if (!isfinite(xv) || !isfinite(yv))
      continue;
    uint32_t lx = level(&cx, xv);
    cnt[lx]++;
    if (xv < ix->xmin[lx])
      ix->xmin[lx] = xv;
    if (xv > ix->xmax[lx])
      ix->xmax[lx] = xv;
    nf++;
  }
  ix->nf = nf;
  for (size_t l = 0; l < L; l++) {
    cur[l] = ix->off[l];
    ix->off[l + 1] += ix->off[l];
  }

  /* Passes 2 and 3: the counting sort's scatter, in two steps of 256 ways
   * (by the x level's high byte into its stretch, then within each stretch
   * by the low byte through a scratch copy), because 65536 ways at once
   * miss the cache on nearly every write (~90 ns a point here). */
  ix->xs = map_array(nf * sizeof(double), &ix->xs_len);
  ix->ys = map_array(nf * sizeof(double), &ix->ys_len);
  ix->yq = map_array(nf * sizeof(uint16_t), &ix->yq_len);
  ix->yf = map_array(nf, &ix->yf_len);
  if (nf && (!ix->xs || !ix->ys || !ix->yq || !ix->yf))
    goto nomem;
  uint64_t hcur[256];
  size_t span = 0;
  for (size_t h = 0; h < 256; h++) {
    hcur[h] = ix->off[h << 8];
    size_t w = ix->off[(h + 1) << 8] - ix->off[h << 8];
    span = w > span ? w : span;
  }
  for (size_t i = 0; i < n; i++) {
    double xv = x[i], yv = y[i];
    if (!isfinite(xv) || !isfinite(yv))
      continue;
    uint64_t p = hcur[level(&cx, xv) >> 8]++;
    ix->xs[p] = xv;
    ix->ys[p] = yv;
  }
  tx = malloc((span ? span : 1) * sizeof *tx);
  ty = malloc((span ? span : 1) * sizeof *ty);
  if (!tx || !ty)
    goto nomem;
  for (size_t h = 0; h < 256; h++) {
    size_t a = ix->off[h << 8], b = ix->off[(h + 1) << 8];
    if (a == b)
      continue;
    memcpy(tx, ix->xs + a, (b - a) * sizeof *tx);
    memcpy(ty, ix->ys + a, (b - a) * sizeof *ty);
    for (size_t i = 0; i < b - a; i++) {
      uint64_t p = cur[level(&cx, tx[i])]++;
      ix->xs[p] = tx[i];
      ix->ys[p] = ty[i];
      uint32_t yc = ycode(cy.lo, cy.k, ty[i]);
      ix->yq[p] = (uint16_t)(yc >> 8);
      ix->yf[p] = (uint8_t)yc;
    }
  }
  free(tx);
  free(ty);
  free(cur);
  *out = ix;
  return PK_OK;

nomem:
  free(cur);
  free(tx);
  free(ty);
  pk_dindex_free(ix);
  return PK_ENOMEM;
}

/* ---- counting ------------------------------------------------------------ */

/* A call's y classification, from the y codes alone. The boundaries of the
 * viewport's rows are the values beta_0 = y0 < beta_1 < ... < beta_ny = y1,
 * beta_r the smallest double whose bin is r; a point lies in row r iff
 * beta_r <= y < beta_(r+1). With cb_r = ycode(beta_r), a code strictly
 * between cb_(r-1) and cb_r belongs to row r-1 (below cb_0 or above cb_ny:
 * outside), and a code equal to some cb_r is ambiguous: those points are
 * binned from their exact y. So each y level (a code's high 16 bits) either
 * holds no boundary and maps wholly to one row or to "outside", or gets a
 * 256-entry table over its low 8 bits. lut[level] packs the offset of its
 * row (or "outside" = ny) in its low 24 bits for a whole level; for a
 * level with a table, the table's offset in `tab` and 0xFF in the high 8
 * bits. A table entry is a row, ny, or ny + 1 ("ambiguous"). */
typedef struct ytabs {
  uint32_t *lut; /* L entries */
  uint32_t *tab;
  size_t ntab;
} ytabs;

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

/* The smallest double in [y0, y1) whose bin is >= r, or y1 if none. */
static double row_start(const pk_axis *a, size_t r) {
  int64_t lo = ord(a->lo), hi = ord(a->hi); /* bin(lo) < r; hi: past the end */
  while ((uint64_t)hi - (uint64_t)lo > 1) {
    int64_t mid = (int64_t)((uint64_t)lo + ((uint64_t)hi - (uint64_t)lo) / 2);
    if (pk_axis_bin(a, unord(mid)) >= r)
      hi = mid;
    else
      lo = mid;
  }
  return unord(hi);
}

static int ytabs_make(const pk_dindex *ix, const pk_axis *ay, ytabs *t) {
  const size_t ny = ay->n;
  uint32_t *cb = malloc((ny + 1) * sizeof *cb);
  t->lut = malloc(L * sizeof *t->lut);
  if (!cb || !t->lut || ny + 2 > (1u << 24)) {
    free(cb);
    return cb && t->lut ? PK_ELIMIT : PK_ENOMEM;
  }
  cb[0] = ycode(ix->ylo, ix->yk, ay->lo);
  for (size_t r = 1; r < ny; r++)
    cb[r] = ycode(ix->ylo, ix->yk, row_start(ay, r));
  cb[ny] = ycode(ix->ylo, ix->yk, ay->hi);
  /* Levels holding a boundary code, each counted once. */
  size_t nsub = 0;
  for (size_t r = 0; r <= ny; r++)
    nsub += r == 0 || cb[r] >> 8 != cb[r - 1] >> 8;
  t->ntab = nsub * 256;
  if (t->ntab > (1u << 24) || !(t->tab = malloc(t->ntab * sizeof *t->tab))) {
    int err = t->ntab > (1u << 24) ? PK_ELIMIT : PK_ENOMEM;
    free(cb);
    return err;
  }
  size_t j = 0, next = 0; /* j: boundaries with cb < the code */
  for (uint32_t l = 0; l < L; l++) {
    uint32_t c0 = l << 8, c1 = c0 | 255;
    while (j <= ny && cb[j] < c0)
      j++;
    if (j > ny || cb[j] > c1) { /* no boundary in this level */
      t->lut[l] = j == 0 || j == ny + 1 ? (uint32_t)ny : (uint32_t)(j - 1);
      continue;
    }
    t->lut[l] = (uint32_t)next | 0xFF000000u;
    size_t k = j;
    for (uint32_t c = c0; c <= c1; c++) {
      while (k <= ny && cb[k] < c)
        k++;
      uint32_t row = k <= ny && cb[k] == c   ? (uint32_t)ny + 1
                     : k == 0 || k == ny + 1 ? (uint32_t)ny
                                             : (uint32_t)(k - 1);
      t->tab[next + (c - c0)] = row;
    }
    next += 256;
  }
  free(cb);
  return PK_OK;
}

typedef struct dq {
  const pk_dindex *ix;
  pk_axis ax, ay;
  ytabs yt;
  uint32_t *grid[PK_KPAR_MAX_PARTS];
  uint32_t *colh[PK_KPAR_MAX_PARTS]; /* ny + 2: one pixel column's rows, and
                                        trash slots for the other two */
} dq;

static void flush(uint32_t *g, uint32_t *colh, size_t nx, size_t ny,
                  size_t col) {
  for (size_t b = 0; b < ny; b++) {
    g[b * nx + col] += colh[b];
    colh[b] = 0;
  }
}

/* The row (or ny: outside) of point i. Points in a level without a
 * boundary (all but ~(ny + 1) of the 65536 levels at the whole extent)
 * need one table look-up; the branch is then almost always predicted. */
typedef struct yview {
  const uint32_t *lut, *tab;
  const uint16_t *yq;
  const uint8_t *yf;
  const double *ys;
  pk_axis ay;
  uint32_t amb; /* ny + 1 */
} yview;

static inline uint32_t yrow(const yview *v, size_t i) {
  uint32_t e = v->lut[v->yq[i]];
  uint32_t b = e & 0xFFFFFFu;
  if (__builtin_expect(e >> 24 != 0, 0)) {
    b = v->tab[b + v->yf[i]];
    if (b == v->amb) {
      double yv = v->ys[i];
      b = pk_axis_inside(&v->ay, yv) ? (uint32_t)pk_axis_bin(&v->ay, yv)
                                     : v->amb - 1;
    }
  }
  return b;
}

static void dq_part(void *vctx, unsigned part, size_t la, size_t lb) {
  dq *q = vctx;
  const pk_dindex *ix = q->ix;
  uint32_t *g = q->grid[part], *colh = q->colh[part];
  const pk_axis ax = q->ax;
  const size_t nx = ax.n, ny = q->ay.n;
  /* Locals, not loads through q: the counters' stores could alias them. */
  const yview v = {q->yt.lut, q->yt.tab, ix->yq,          ix->yf,
                   ix->ys,    q->ay,     (uint32_t)ny + 1};
  const double *xs = ix->xs;
  size_t cur = SIZE_MAX; /* the pixel column colh is gathering */
  for (size_t l = la; l < lb; l++) {
    size_t lo = ix->off[l], hi = ix->off[l + 1];
    if (lo == hi)
      continue;
    double mn = ix->xmin[l], mx = ix->xmax[l];
    if (mx < ax.lo || mn >= ax.hi)
      continue; /* wholly outside: not read */
    if (mn >= ax.lo && mx < ax.hi) {
      size_t c = pk_axis_bin(&ax, mn);
      if (c == pk_axis_bin(&ax, mx)) {
        /* Wholly in pixel column c: only the y codes are read. */
        if (c != cur) {
          if (cur != SIZE_MAX)
            flush(g, colh, nx, ny, cur);
          cur = c;
        }
        for (size_t i = lo; i < hi; i++) {
          /* yf is read only in levels with a boundary, too sparsely for
           * the hardware prefetcher: fetch its lines ahead (one per 64
           * points) or nearly every read is a miss. */
          if ((i & 63) == 0)
            __builtin_prefetch(v.yf + i + 256);
          colh[yrow(&v, i)]++;
        }
        continue;
      }
    }
    /* Straddling: every point's column from its exact x. */
    for (size_t i = lo; i < hi; i++) {
      double xv = xs[i];
      if (!pk_axis_inside(&ax, xv))
        continue;
      size_t b = yrow(&v, i);
      if (b < ny)
        g[b * nx + pk_axis_bin(&ax, xv)]++;
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
  if (!pk_axis_init(&q.ax, spec->x0, spec->x1, spec->nx) ||
      !pk_axis_init(&q.ay, spec->y0, spec->y1, spec->ny) ||
      spec->nx > ((size_t)1 << 28) / spec->ny)
    return PK_EINVAL;
  const size_t nx = spec->nx, ny = spec->ny, cells = nx * ny;
  /* A partial grid per share; one share for huge grids, whose partials
   * would cost more memory than a second core saves time. */
  unsigned nparts = cells > ((size_t)1 << 22) ? 1 : pk_kpar_parts(pool, ix->nf);
  int rc = ytabs_make(ix, &q.ay, &q.yt);
  if (rc == PK_ELIMIT) {
    /* Rows beyond what the tables encode (over ~65000): scan the index's
     * own copy of the finite points. */
    free(q.yt.lut);
    rc = pk_density2d(pool, ix->xs, ix->ys, NULL, ix->nf, spec, counts, NULL,
                      stats);
    if (!rc && stats) {
      stats->n = ix->n;
      stats->skipped = ix->n - ix->nf;
    }
    return rc;
  }
  for (unsigned p = 0; p < nparts && !rc; p++) {
    q.grid[p] = calloc(cells, sizeof(uint32_t));
    q.colh[p] = calloc(ny + 2, sizeof(uint32_t));
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
  free(q.yt.lut);
  free(q.yt.tab);
  return rc;
}
