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
  uint16_t *yq;
  size_t xs_len, ys_len, yq_len; /* mapped bytes */
  uint64_t *off;                 /* L + 1: x level l is [off[l], off[l+1]) */
  double *xmin, *xmax;           /* per x level */
  double *ymin, *ymax;           /* per y level */
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
  free(ix->off);
  free(ix->xmin);
  free(ix->xmax);
  free(ix->ymin);
  free(ix->ymax);
  free(ix);
}

uint64_t pk_dindex_bytes(const pk_dindex *ix) {
  return sizeof *ix + ix->xs_len + ix->ys_len + ix->yq_len +
         (uint64_t)(L + 1) * sizeof *ix->off + (uint64_t)4 * L * sizeof(double);
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

  pk_dindex *ix = calloc(1, sizeof *ix);
  if (!ix)
    return PK_ENOMEM;
  ix->n = n;
  ix->off = calloc(L + 1, sizeof *ix->off);
  ix->xmin = malloc(L * sizeof(double));
  ix->xmax = malloc(L * sizeof(double));
  ix->ymin = malloc(L * sizeof(double));
  ix->ymax = malloc(L * sizeof(double));
  uint64_t *cur = malloc(L * sizeof *cur);
  double *tx = NULL, *ty = NULL;
  if (!ix->off || !ix->xmin || !ix->xmax || !ix->ymin || !ix->ymax || !cur)
    goto nomem;
  for (size_t l = 0; l < L; l++) {
    ix->xmin[l] = ix->ymin[l] = INFINITY;
    ix->xmax[l] = ix->ymax[l] = -INFINITY;
  }

  /* Pass 1: level sizes and the levels' actual extents. */
  uint64_t *cnt = ix->off + 1;
  size_t nf = 0;
  for (size_t i = 0; i < n; i++) {
    double xv = x[i], yv = y[i];
    if (!isfinite(xv) || !isfinite(yv))
      continue;
    uint32_t lx = level(&cx, xv), ly = level(&cy, yv);
    cnt[lx]++;
    if (xv < ix->xmin[lx])
      ix->xmin[lx] = xv;
    if (xv > ix->xmax[lx])
      ix->xmax[lx] = xv;
    if (yv < ix->ymin[ly])
      ix->ymin[ly] = yv;
    if (yv > ix->ymax[ly])
      ix->ymax[ly] = yv;
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
  if (nf && (!ix->xs || !ix->ys || !ix->yq))
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
      ix->yq[p] = (uint16_t)level(&cy, ty[i]);
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

enum { DQ_BLOCK = 1024 };

typedef struct dq {
  const pk_dindex *ix;
  pk_axis ax, ay;
  const uint32_t *ylut; /* per y level: a row, ny (outside) or ny + 1
                           (ambiguous: straddles a row boundary or an edge) */
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

static void dq_part(void *vctx, unsigned part, size_t la, size_t lb) {
  dq *q = vctx;
  const pk_dindex *ix = q->ix;
  uint32_t *g = q->grid[part], *colh = q->colh[part];
  const pk_axis ax = q->ax, ay = q->ay;
  const uint32_t *lut = q->ylut;
  const uint32_t amb = (uint32_t)q->ay.n + 1;
  uint32_t sel[DQ_BLOCK];
  const uint16_t *yq = ix->yq;
  const double *xs = ix->xs, *ys = ix->ys;
  const size_t nx = ax.n, ny = ay.n;
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
        /* Wholly in pixel column c: only the y levels are read. */
        if (c != cur) {
          if (cur != SIZE_MAX)
            flush(g, colh, nx, ny, cur);
          cur = c;
        }
        /* Branch-free: a y level straddling a row boundary (rare at the
         * whole extent) lands in a trash slot and its index in sel; their
         * exact y is read after the block, as independent loads that
         * overlap rather than a cache miss behind every mispredict. */
        for (size_t i = lo; i < hi; i += DQ_BLOCK) {
          size_t m = hi - i < DQ_BLOCK ? hi - i : DQ_BLOCK, k = 0;
          const uint16_t *qb = yq + i;
          size_t last = 0;
          for (size_t j = 0; j < m; j++) {
            uint32_t b = lut[qb[j]];
            colh[b]++;
            sel[k] = (uint32_t)j;
            k += b == amb;
            /* Fetch the latest ambiguous point's y now, so the pass below
             * finds it cached (a repeat is an L1 hit). */
            last = b == amb ? j : last;
            __builtin_prefetch(ys + i + last);
          }
          for (size_t t = 0; t < k; t++) {
            double yv = ys[i + sel[t]];
            if (pk_axis_inside(&ay, yv))
              colh[pk_axis_bin(&ay, yv)]++;
          }
        }
        continue;
      }
    }
    /* Straddling: every point from its exact x. */
    for (size_t i = lo; i < hi; i++) {
      double xv = xs[i];
      if (!pk_axis_inside(&ax, xv))
        continue;
      size_t b = lut[yq[i]];
      if (b == amb) {
        double yv = ys[i];
        if (!pk_axis_inside(&ay, yv))
          continue;
        b = pk_axis_bin(&ay, yv);
      } else if (b == ny) {
        continue;
      }
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
  uint32_t *lut = malloc(L * sizeof *lut);
  int rc = lut ? PK_OK : PK_ENOMEM;
  for (unsigned p = 0; p < nparts && !rc; p++) {
    q.grid[p] = calloc(cells, sizeof(uint32_t));
    q.colh[p] = calloc(ny + 2, sizeof(uint32_t));
    if (!q.grid[p] || !q.colh[p])
      rc = PK_ENOMEM;
  }
  if (rc)
    goto out;
  for (size_t l = 0; l < L; l++) {
    double mn = ix->ymin[l], mx = ix->ymax[l];
    if (!(mn <= mx) || mx < q.ay.lo || mn >= q.ay.hi)
      lut[l] = (uint32_t)ny; /* empty, or wholly outside */
    else if (mn >= q.ay.lo && mx < q.ay.hi &&
             pk_axis_bin(&q.ay, mn) == pk_axis_bin(&q.ay, mx))
      lut[l] = (uint32_t)pk_axis_bin(&q.ay, mn);
    else
      lut[l] = (uint32_t)ny + 1;
  }
  q.ylut = lut;
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
  free(lut);
  return rc;
}
