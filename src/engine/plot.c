/* plot.c — the plot builder; see plot.h. */
#include "engine/plot.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pk_plot_out {
  pk_plot plot;
  size_t points;
  size_t nonpositive;
  pk_plot_binning bx, by;
  void **owned;
  size_t nowned, capowned;
};

/* ---- names and SQL ------------------------------------------------------ */

static const char *const kind_names[] = {
    [PK_PLOT_SCATTER] = "scatter", [PK_PLOT_DENSITY] = "density",
    [PK_PLOT_LINE] = "line",       [PK_PLOT_AREA] = "area",
    [PK_PLOT_BAR] = "bar",         [PK_PLOT_HISTOGRAM] = "histogram",
    [PK_PLOT_HEATMAP] = "heatmap", [PK_PLOT_BOX] = "box",
    [PK_PLOT_VIOLIN] = "violin"};

int pk_plot_kind_parse(const char *s, pk_plot_kind *out) {
  for (int k = 0; k < PK_PLOT_KIND_COUNT; k++)
    if (!strcmp(s, kind_names[k])) {
      *out = (pk_plot_kind)k;
      return PK_OK;
    }
  return PK_EINVAL;
}

int pk_kagg_parse(const char *s, pk_kagg *out) {
  for (int a = PK_KAGG_COUNT; a <= PK_KAGG_MAX; a++)
    if (!strcmp(s, pk_kagg_name((pk_kagg)a))) {
      *out = (pk_kagg)a;
      return PK_OK;
    }
  return PK_EINVAL;
}

static void sel(pk_sqlbuf *b, const char *col, const char *alias, int *n) {
  if (!col)
    return;
  pk_sqlbuf_add(b, (*n)++ ? ", " : "");
  pk_sqlbuf_ident(b, col);
  pk_sqlbuf_addf(b, " AS %s", alias);
}

bool pk_plot_order_free(const pk_plot_spec *s) {
  switch (s->kind) {
  case PK_PLOT_SCATTER:
    return !s->color;
  case PK_PLOT_HISTOGRAM:
    return true;
  case PK_PLOT_HEATMAP:
  case PK_PLOT_DENSITY:
    return s->agg == PK_KAGG_COUNT;
  default:
    return false;
  }
}

bool pk_plot_scan_only(const pk_plot_spec *s) {
  return s->kind != PK_PLOT_BAR && s->kind != PK_PLOT_LINE &&
         s->kind != PK_PLOT_AREA;
}

int pk_plot_sql(const pk_plot_spec *s, const char *source, pk_sqlbuf *out,
                pk_errmsg *e) {
  const char *kind = kind_names[s->kind];
  if (!s->x)
    return pk_errmsg_set(e, PK_EINVAL, "%s needs an x column", kind);
  bool xy = s->kind == PK_PLOT_SCATTER || s->kind == PK_PLOT_DENSITY ||
            s->kind == PK_PLOT_LINE || s->kind == PK_PLOT_AREA ||
            s->kind == PK_PLOT_HEATMAP;
  if (xy && !s->y)
    return pk_errmsg_set(e, PK_EINVAL, "%s needs a y column (--y)", kind);
  if (s->kind == PK_PLOT_HEATMAP && s->agg != PK_KAGG_COUNT && !s->z)
    return pk_errmsg_set(e, PK_EINVAL,
                         "heatmap with --agg %s needs a value column (--z)",
                         pk_kagg_name(s->agg));
  if (s->stacked && s->kind != PK_PLOT_BAR)
    return pk_errmsg_set(e, PK_EINVAL, "--stacked is for bar plots, not %s",
                         kind);
  if (s->stacked && s->log_y)
    return pk_errmsg_set(e, PK_EINVAL,
                         "stacked bars cannot use a log y axis (--log-y)");
  int n = 0;
  pk_sqlbuf_add(out, "SELECT ");
  if (s->kind == PK_PLOT_BAR) {
    if (s->agg != PK_KAGG_COUNT && !s->y)
      return pk_errmsg_set(e, PK_EINVAL, "bar with --agg %s needs --y",
                           pk_kagg_name(s->agg));
    sel(out, s->x, "x", &n);
    sel(out, s->color, "color", &n);
    if (s->agg == PK_KAGG_COUNT) {
      pk_sqlbuf_add(out, ", count(*) AS y");
    } else {
      pk_sqlbuf_addf(out, ", %s(CAST(",
                     s->agg == PK_KAGG_MEAN ? "avg" : pk_kagg_name(s->agg));
      pk_sqlbuf_ident(out, s->y);
      pk_sqlbuf_add(out, " AS DOUBLE)) AS y");
    }
    pk_sqlbuf_addf(out, " FROM (%s) GROUP BY ALL ORDER BY ALL", source);
  } else {
    sel(out, s->x, "x", &n);
    if (s->kind != PK_PLOT_HISTOGRAM)
      sel(out, s->y, "y", &n);
    if (s->kind != PK_PLOT_HISTOGRAM && s->kind != PK_PLOT_HEATMAP &&
        s->kind != PK_PLOT_BOX && s->kind != PK_PLOT_VIOLIN)
      sel(out, s->color, "color", &n);
    if (s->kind == PK_PLOT_HEATMAP && s->agg != PK_KAGG_COUNT)
      sel(out, s->z, "z", &n);
    pk_sqlbuf_addf(out, " FROM (%s)", source);
    if (s->kind == PK_PLOT_LINE || s->kind == PK_PLOT_AREA)
      pk_sqlbuf_add(out, " ORDER BY x NULLS LAST");
  }
  return out->err ? pk_errmsg_set(e, PK_ENOMEM, "out of memory") : PK_OK;
}

size_t pk_plot_columns(const pk_plot_spec *s, const char *cols[4],
                       const char *alias[4]) {
  bool has_y = s->kind != PK_PLOT_HISTOGRAM;
  bool has_color = has_y && s->kind != PK_PLOT_HEATMAP &&
                   s->kind != PK_PLOT_BOX && s->kind != PK_PLOT_VIOLIN;
  size_t n = 0;
  cols[n] = s->x, alias[n++] = "x";
  if (has_y && s->y)
    cols[n] = s->y, alias[n++] = "y";
  if (has_color && s->color)
    cols[n] = s->color, alias[n++] = "color";
  if (s->kind == PK_PLOT_HEATMAP && s->agg != PK_KAGG_COUNT && s->z)
    cols[n] = s->z, alias[n++] = "z";
  return n;
}

int pk_plot_load(pk_cache *cache, pk_db_conn *conn, const pk_plot_spec *s,
                 const char *source, pk_cache_cols **out, pk_errmsg *e) {
  *out = NULL;
  /* pk_plot_sql checks that the kind has what it needs. */
  pk_sqlbuf q = {0};
  int err = pk_plot_sql(s, source, &q, e);
  const char *cols[4], *alias[4];
  size_t n = 0;
  if (!err && s->kind == PK_PLOT_BAR) {
    /* Aggregated in DuckDB: cache the small grouped result. */
    alias[n] = cols[n] = "x", n++;
    if (s->color)
      alias[n] = cols[n] = "color", n++;
    alias[n] = cols[n] = "y", n++;
    err = pk_cache_cols_get(cache, conn, q.s, cols, alias, n, NULL, out, e);
  } else if (!err) {
    n = pk_plot_columns(s, cols, alias);
    bool ordered = s->kind == PK_PLOT_LINE || s->kind == PK_PLOT_AREA;
    err = pk_cache_cols_get(cache, conn, source, cols, alias, n,
                            ordered ? s->x : NULL, out, e);
  }
  pk_sqlbuf_free(&q);
  return err;
}

/* ---- owned memory ------------------------------------------------------- */

static void *own(pk_plot_out *o, void *p) {
  if (!p)
    return NULL;
  if (o->nowned == o->capowned) {
    size_t nc = o->capowned ? o->capowned * 2 : 32;
    void **no = realloc(o->owned, nc * sizeof *no);
    if (!no) {
      free(p);
      return NULL;
    }
    o->owned = no;
    o->capowned = nc;
  }
  o->owned[o->nowned++] = p;
  return p;
}

static void *oalloc(pk_plot_out *o, size_t n, size_t size) {
  return own(o, calloc(n ? n : 1, size));
}

void pk_plot_out_free(pk_plot_out *o) {
  if (!o)
    return;
  for (size_t i = 0; i < o->nowned; i++)
    free(o->owned[i]);
  free(o->owned);
  free(o);
}

const pk_plot *pk_plot_out_model(const pk_plot_out *o) {
  return &o->plot;
}
size_t pk_plot_out_points(const pk_plot_out *o) {
  return o->points;
}
size_t pk_plot_out_nonpositive(const pk_plot_out *o) {
  return o->nonpositive;
}
void pk_plot_out_binning(const pk_plot_out *o, pk_plot_binning *x,
                         pk_plot_binning *y) {
  if (x)
    *x = o->bx;
  if (y)
    *y = o->by;
}

#define NOMEM(e) pk_errmsg_set(e, PK_ENOMEM, "out of memory")

/* ---- helpers ------------------------------------------------------------ */

typedef struct ctx {
  pk_pool *pool;
  const pk_plot_spec *s;
  const pk_cols *cs;
  size_t n;
  const pk_col *x, *y, *color, *z;
  pk_plot_out *o;
  pk_errmsg *e;
  const pk_dindex *dix;           /* of x and y, or NULL */
  const pk_plot_counter *counter; /* counts x, y in place of a scan, or NULL */
} ctx;

/* Finite min and max of v; false if none. */
static bool range_of(const double *v, size_t n, double *lo, double *hi) {
  double a = INFINITY, b = -INFINITY;
  for (size_t i = 0; i < n; i++)
    if (isfinite(v[i])) {
      if (v[i] < a)
        a = v[i];
      if (v[i] > b)
        b = v[i];
    }
  *lo = a;
  *hi = b;
  return a <= b;
}

/* A half-open viewport [lo, hi) that holds every finite value of v (or the
 * fixed range), v being col's values or, on a log axis, their log10
 * (pk_log10_map), and then [lo, hi) is in log space too. */
static int view_of(ctx *c, const pk_col *col, const double *v, bool log,
                   bool fixed, double f0, double f1, double *lo, double *hi) {
  if (fixed && log && !(f0 > 0))
    return pk_errmsg_set(c->e, PK_EINVAL,
                         "a log axis needs a positive range, not %g:%g", f0,
                         f1);
  if (fixed) {
    *lo = log ? log10(f0) : f0;
    *hi = log ? log10(f1) : f1;
    return PK_OK;
  }
  /* The linear extent was recorded at load; a log axis scans its map. */
  bool any;
  if (!log && v == col->v && col->ranged) {
    *lo = col->min;
    *hi = col->max;
    any = *lo <= *hi;
  } else {
    any = range_of(v, c->n, lo, hi);
  }
  if (!any)
    return pk_errmsg_set(c->e, PK_EINVAL, "column '%s' has no %s values",
                         col->name, log ? "positive (log axis)" : "finite");
  if (*lo == *hi) {
    double d = *lo == 0 ? 0.5 : fabs(*lo) * 0.05;
    *lo -= d;
    *hi += d;
  } else {
    *hi = nextafter(*hi, INFINITY);
  }
  return PK_OK;
}

static int viewport(ctx *c, const pk_col *col, bool fixed, double f0, double f1,
                    double *lo, double *hi) {
  return view_of(c, col, col->v, false, fixed, f0, f1, lo, hi);
}

/* The values to bin on an axis: col's own, or on a log axis log10 of them in
 * *tmp (malloc'd; the caller frees it), the non-positive ones counted in
 * *nonpos (optional). */
static int bin_values(ctx *c, const pk_col *col, bool log, const double **v,
                      double **tmp, uint64_t *nonpos) {
  *tmp = NULL;
  *v = col->v;
  if (nonpos)
    *nonpos = 0;
  if (!log)
    return PK_OK;
  *tmp = malloc((c->n ? c->n : 1) * sizeof **tmp);
  if (!*tmp)
    return NOMEM(c->e);
  int err = pk_log10_map(c->pool, col->v, c->n, *tmp, nonpos);
  if (err)
    return pk_errmsg_set(c->e, err, "cannot map '%s' to log space", col->name);
  *v = *tmp;
  return PK_OK;
}

/* n + 1 bin edges in data space for bins of width w from lo (log space),
 * the last at hi; strictly ascending even where 10^x rounds two together. */
static double *log_edges(ctx *c, size_t n, double lo, double w, double hi) {
  double *e = oalloc(c->o, n + 1, sizeof *e);
  if (!e)
    return NULL;
  for (size_t i = 0; i <= n; i++) {
    e[i] = pow(10, i == n ? hi : lo + (double)i * w);
    if (i && !(e[i] > e[i - 1]))
      e[i] = nextafter(e[i - 1], INFINITY);
  }
  return e;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Groups of a column: codes per row (NaN: no group) and names. */
typedef struct groups {
  size_t n;
  const double *code;
  const char *const *names;
} groups;

static int make_groups(ctx *c, const pk_col *col, size_t max, groups *g) {
  if (col->is_categorical) {
    /* Codes are in order of first appearance; legends and axes read
     * better sorted, so remap. */
    size_t u = col->nlabels;
    if (u > max)
      return pk_errmsg_set(c->e, PK_EINVAL,
                           "column '%s' has %zu categories; at most %zu "
                           "groups can be drawn",
                           col->name, u, max);
    const char **names = oalloc(c->o, u, sizeof *names);
    double *rank = malloc((u ? u : 1) * sizeof *rank);
    double *code = oalloc(c->o, c->n, sizeof *code);
    if (!names || !rank || !code) {
      free(rank);
      return NOMEM(c->e);
    }
    for (size_t i = 0; i < u; i++)
      names[i] = col->labels[i];
    qsort(names, u, sizeof *names, cmp_str);
    for (size_t i = 0; i < u; i++) {
      const char *key = col->labels[i];
      const char **hit = bsearch(&key, names, u, sizeof *names, cmp_str);
      rank[i] = (double)(hit - names);
    }
    for (size_t i = 0; i < c->n; i++)
      code[i] = isnan(col->v[i]) ? NAN : rank[(size_t)col->v[i]];
    free(rank);
    g->n = u;
    g->code = code;
    g->names = names;
  } else {
    double *d = malloc((c->n ? c->n : 1) * sizeof *d);
    if (!d)
      return NOMEM(c->e);
    size_t m = 0;
    for (size_t i = 0; i < c->n; i++)
      if (isfinite(col->v[i]))
        d[m++] = col->v[i];
    qsort(d, m, sizeof *d, cmp_double);
    size_t u = 0;
    for (size_t i = 0; i < m; i++)
      if (u == 0 || d[i] != d[u - 1])
        d[u++] = d[i];
    if (u > max) {
      free(d);
      return pk_errmsg_set(c->e, PK_EINVAL,
                           "column '%s' has %zu distinct values; at most %zu "
                           "groups can be drawn",
                           col->name, u, max);
    }
    double *code = oalloc(c->o, c->n, sizeof *code);
    char **names = oalloc(c->o, u, sizeof *names);
    if (!code || !names) {
      free(d);
      return NOMEM(c->e);
    }
    for (size_t i = 0; i < u; i++) {
      char buf[64];
      snprintf(buf, sizeof buf, "%g", d[i]);
      names[i] = own(c->o, strdup(buf));
      if (!names[i]) {
        free(d);
        return NOMEM(c->e);
      }
    }
    for (size_t i = 0; i < c->n; i++) {
      const double *p = isfinite(col->v[i])
                            ? bsearch(&col->v[i], d, u, sizeof *d, cmp_double)
                            : NULL;
      code[i] = p ? (double)(p - d) : NAN;
    }
    free(d);
    g->n = u;
    g->code = code;
    g->names = (const char *const *)names;
  }
  if (g->n > max)
    return pk_errmsg_set(c->e, PK_EINVAL,
                         "column '%s' has %zu categories; at most %zu groups "
                         "can be drawn",
                         col->name, g->n, max);
  return PK_OK;
}

/* Copies rows into per-group contiguous runs: group k's rows are
 * [start[k], start[k+1]) of xs/ys (ys may be NULL when y is). */
static int split(ctx *c, const groups *g, const double *x, const double *y,
                 double **xs, double **ys, size_t **start) {
  size_t *st = oalloc(c->o, g->n + 1, sizeof *st);
  size_t *pos = calloc(g->n + 1, sizeof *pos);
  if (!st || !pos) {
    free(pos);
    return NOMEM(c->e);
  }
  for (size_t i = 0; i < c->n; i++)
    if (!isnan(g->code[i]))
      st[(size_t)g->code[i] + 1]++;
  for (size_t k = 0; k < g->n; k++)
    st[k + 1] += st[k];
  memcpy(pos, st, (g->n + 1) * sizeof *pos);
  size_t tot = st[g->n];
  *xs = oalloc(c->o, tot, sizeof **xs);
  double *yv = y ? oalloc(c->o, tot, sizeof *yv) : NULL;
  if (ys)
    *ys = yv;
  if (!*xs || (y && !yv)) {
    free(pos);
    return NOMEM(c->e);
  }
  for (size_t i = 0; i < c->n; i++) {
    if (isnan(g->code[i]))
      continue;
    size_t k = (size_t)g->code[i], p = pos[k]++;
    (*xs)[p] = x[i];
    if (y)
      yv[p] = y[i];
  }
  free(pos);
  *start = st;
  return PK_OK;
}

static void set_axes(ctx *c) {
  pk_plot *p = &c->o->plot;
  p->title = c->s->title;
  p->x.title = c->s->x;
  p->y.title = c->s->y;
  p->x.scale = c->s->log_x             ? PK_SCALE_LOG
               : c->x && c->x->is_time ? PK_SCALE_TIME
                                       : PK_SCALE_LINEAR;
  p->y.scale = c->s->log_y             ? PK_SCALE_LOG
               : c->y && c->y->is_time ? PK_SCALE_TIME
                                       : PK_SCALE_LINEAR;
  p->x.time_unit = p->y.time_unit = PK_TIME_SECONDS;
  p->x.fixed = c->s->x_fixed;
  p->x.min = c->s->x0;
  p->x.max = c->s->x1;
  p->y.fixed = c->s->y_fixed;
  p->y.min = c->s->y0;
  p->y.max = c->s->y1;
  p->colormap = PK_COLORMAP_VIRIDIS;
}

/* ---- kinds -------------------------------------------------------------- */

/* Points left out of a 2-D binning for a non-positive coordinate on a log
 * axis (a point counts once). */
static size_t nonpos_points(ctx *c, bool lx, bool ly, uint64_t npx,
                            uint64_t npy) {
  if (!(lx && ly))
    return (size_t)(npx + npy);
  size_t n = 0;
  for (size_t i = 0; i < c->n; i++) {
    double x = c->x->v[i], y = c->y->v[i];
    n += (x <= 0 && isfinite(x)) || (y <= 0 && isfinite(y));
  }
  return n;
}

static int grid_bin(ctx *c, const pk_col *w, pk_kagg agg, size_t nx, size_t ny,
                    const double *xv, const double *yv) {
  bool lx = c->s->log_x, ly = c->s->log_y;
  double x0, x1, y0, y1;
  int err =
      view_of(c, c->x, xv, lx, c->s->x_fixed, c->s->x0, c->s->x1, &x0, &x1);
  if (!err)
    err = view_of(c, c->y, yv, ly, c->s->y_fixed, c->s->y0, c->s->y1, &y0, &y1);
  if (err)
    return err;
  uint64_t *counts = oalloc(c->o, nx * ny, sizeof *counts);
  double *v = oalloc(c->o, nx * ny, sizeof *v);
  if (!counts || !v)
    return NOMEM(c->e);
  pk_density2d_spec ds = {x0, x1, y0, y1, nx, ny, agg};
  pk_kstats ks;
  /* The index holds x and y as loaded, so it serves counts on linear axes. */
  bool as_loaded = agg == PK_KAGG_COUNT && xv == c->x->v && yv == c->y->v;
  if (c->counter && as_loaded)
    err = c->counter->count(c->counter->arg, c->pool, &ds, counts, &ks, c->e);
  else if (c->dix && as_loaded)
    err = pk_dindex_count(c->pool, c->dix, &ds, counts, &ks);
  else
    err = pk_density2d(c->pool, xv, yv, w ? w->v : NULL, c->n, &ds, counts,
                       agg == PK_KAGG_COUNT ? NULL : v, &ks);
  if (err)
    return c->counter && as_loaded
               ? err
               : pk_errmsg_set(c->e, err, "cannot bin the points");
  c->o->bx = (pk_plot_binning){true, lx, x0, x1, nx};
  c->o->by = (pk_plot_binning){true, ly, y0, y1, ny};
  if (agg == PK_KAGG_COUNT)
    for (size_t i = 0; i < nx * ny; i++)
      v[i] = (double)counts[i];
  c->o->points = ks.counted;
  pk_grid *g = &c->o->plot.grid;
  g->nx = nx;
  g->ny = ny;
  g->v = v;
  g->x0 = lx ? pow(10, x0) : x0;
  g->x1 = lx ? pow(10, x1) : x1;
  g->y0 = ly ? pow(10, y0) : y0;
  g->y1 = ly ? pow(10, y1) : y1;
  /* Log-space cells: their edges in data space, so that they line up on
   * the log axis. */
  if (lx && !(g->xedges = log_edges(c, nx, x0, (x1 - x0) / (double)nx, x1)))
    return NOMEM(c->e);
  if (ly && !(g->yedges = log_edges(c, ny, y0, (y1 - y0) / (double)ny, y1)))
    return NOMEM(c->e);
  g->value = agg == PK_KAGG_COUNT ? PK_GRID_COUNT
             : agg == PK_KAGG_SUM ? PK_GRID_SUM
                                  : PK_GRID_MEAN;
  if (w) {
    char *t = oalloc(c->o, 1, strlen(w->name) + 16);
    if (!t)
      return NOMEM(c->e);
    sprintf(t, "%s(%s)", pk_kagg_name(agg), c->s->z ? c->s->z : w->name);
    c->o->plot.colorbar_title = t;
  }
  return PK_OK;
}

static int grid_from(ctx *c, const pk_col *w, pk_kagg agg, size_t nx,
                     size_t ny) {
  bool lx = c->s->log_x, ly = c->s->log_y;
  const double *xv, *yv;
  double *tx = NULL, *ty = NULL;
  uint64_t npx = 0, npy = 0;
  int err = bin_values(c, c->x, lx, &xv, &tx, &npx);
  if (!err)
    err = bin_values(c, c->y, ly, &yv, &ty, &npy);
  if (!err)
    err = grid_bin(c, w, agg, nx, ny, xv, yv);
  free(tx);
  free(ty);
  if (!err)
    c->o->nonpositive = nonpos_points(c, lx, ly, npx, npy);
  return err;
}

static int build_scatter(ctx *c) {
  pk_plot *p = &c->o->plot;
  if (c->s->kind == PK_PLOT_DENSITY || c->n > PK_PLOT_SCATTER_RAW_MAX) {
    p->kind = PK_PLOT_DENSITY;
    p->grid.log_color = 1;
    size_t nx = c->s->width > 1 ? (size_t)c->s->width / 2 : 1;
    size_t ny = c->s->height > 1 ? (size_t)c->s->height / 2 : 1;
    return grid_from(c, NULL, PK_KAGG_COUNT, nx, ny);
  }
  p->kind = PK_PLOT_SCATTER;
  size_t cnt = 0;
  for (size_t i = 0; i < c->n; i++)
    cnt += isfinite(c->x->v[i]) && isfinite(c->y->v[i]);
  c->o->points = cnt;
  if (c->color && c->color->is_categorical) {
    groups g;
    double *xs, *ys;
    size_t *st;
    int err = make_groups(c, c->color, PK_PLOT_MAX_SERIES, &g);
    if (!err)
      err = split(c, &g, c->x->v, c->y->v, &xs, &ys, &st);
    if (err)
      return err;
    pk_series *sr = oalloc(c->o, g.n, sizeof *sr);
    if (!sr)
      return NOMEM(c->e);
    for (size_t k = 0; k < g.n; k++)
      sr[k] = (pk_series){g.names[k], xs + st[k], ys + st[k], st[k + 1] - st[k],
                          NULL};
    p->series = sr;
    p->nseries = g.n;
    return PK_OK;
  }
  pk_series *sr = oalloc(c->o, 1, sizeof *sr);
  if (!sr)
    return NOMEM(c->e);
  *sr =
      (pk_series){NULL, c->x->v, c->y->v, c->n, c->color ? c->color->v : NULL};
  if (c->color)
    p->colorbar_title = c->s->color;
  p->series = sr;
  p->nseries = 1;
  return PK_OK;
}

typedef struct xy {
  double x, y;
} xy;

static int cmp_xy(const void *a, const void *b) {
  return cmp_double(&((const xy *)a)->x, &((const xy *)b)->x);
}

/* Sorts x/y[0..n) by x (NaN x dropped first); returns the new n. */
static size_t sort_series(double *x, double *y, size_t n, int *err) {
  xy *t = malloc((n ? n : 1) * sizeof *t);
  if (!t) {
    *err = PK_ENOMEM;
    return 0;
  }
  size_t m = 0;
  for (size_t i = 0; i < n; i++)
    if (!isnan(x[i]))
      t[m++] = (xy){x[i], y[i]};
  qsort(t, m, sizeof *t, cmp_xy);
  for (size_t i = 0; i < m; i++) {
    x[i] = t[i].x;
    y[i] = t[i].y;
  }
  free(t);
  return m;
}

/* The first index of a sorted series whose x is > 0. */
static size_t first_positive(const double *x, size_t n) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (x[mid] > 0)
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

/* The x viewport in log10 space over the positive x of the ng sorted
 * series (series k: xs + st[k], len[k] values), or the fixed range's logs. */
static int log_viewport(ctx *c, const double *xs, const size_t *st,
                        const size_t *len, size_t ng, double *lo, double *hi) {
  if (c->s->x_fixed)
    return view_of(c, c->x, NULL, true, true, c->s->x0, c->s->x1, lo, hi);
  double a = INFINITY, b = -INFINITY;
  for (size_t k = 0; k < ng; k++) {
    const double *x = xs + st[k];
    size_t n = len[k], f = first_positive(x, n);
    while (n > f && !isfinite(x[n - 1]))
      n--;
    if (n > f) {
      a = fmin(a, x[f]);
      b = fmax(b, x[n - 1]);
    }
  }
  if (!(a <= b))
    return pk_errmsg_set(c->e, PK_EINVAL,
                         "column '%s' has no positive (log axis) values",
                         c->x->name);
  *lo = log10(a);
  *hi = log10(b);
  if (*lo == *hi) {
    *lo -= 0.5;
    *hi += 0.5;
  } else {
    *hi = nextafter(*hi, INFINITY);
  }
  return PK_OK;
}

static int build_line(ctx *c) {
  pk_plot *p = &c->o->plot;
  p->kind = c->s->kind;
  groups g = {0};
  double *xs, *ys;
  size_t *st;
  int err;
  if (!c->color && c->x->sorted) {
    /* One series already in x order (the cache's ORDER BY column): used in
     * place, without the copy the grouping makes; NULL x sorts last. */
    size_t n = c->n;
    while (n > 0 && isnan(c->x->v[n - 1]))
      n--;
    g.n = 1;
    xs = c->x->v;
    ys = c->y->v;
    st = oalloc(c->o, 2, sizeof *st);
    if (!st)
      return NOMEM(c->e);
    st[1] = n;
    err = PK_OK;
  } else if (c->color) {
    err = make_groups(c, c->color, PK_PLOT_MAX_SERIES, &g);
  } else {
    double *code = oalloc(c->o, c->n, sizeof *code);
    if (!code)
      return NOMEM(c->e);
    g.n = 1;
    g.code = code;
    err = PK_OK;
  }
  if (!err && !(g.n == 1 && !c->color && c->x->sorted))
    err = split(c, &g, c->x->v, c->y->v, &xs, &ys, &st);
  if (err)
    return err;
  /* Each series sorted by x, without NULL x (which sorts last). */
  size_t *len = malloc(g.n * sizeof *len);
  if (!len)
    return NOMEM(c->e);
  for (size_t k = 0; k < g.n && !err; k++) {
    double *x = xs + st[k], *y = ys + st[k];
    size_t n = st[k + 1] - st[k];
    if (!c->x->sorted && pk_m4_check(x, n, NULL) != PK_OK)
      n = sort_series(x, y, n, &err);
    while (n > 0 && isnan(x[n - 1]))
      n--;
    len[k] = n;
  }
  /* On a log x axis the pixel columns are equal in log10(x): M4 runs on
   * the logs of the positive x (a suffix of each sorted series; the rest
   * cannot be drawn there) over the viewport in log space. */
  const bool lg = c->s->log_x;
  double x0, x1;
  if (!err)
    err = lg ? log_viewport(c, xs, st, len, g.n, &x0, &x1)
             : viewport(c, c->x, c->s->x_fixed, c->s->x0, c->s->x1, &x0, &x1);
  if (err) {
    free(len);
    return err == PK_ENOMEM ? NOMEM(c->e) : err;
  }
  size_t ncols = c->s->width > 0 ? (size_t)c->s->width : 1000;
  pk_series *sr = oalloc(c->o, g.n, sizeof *sr);
  pk_m4_col *cols = malloc(ncols * sizeof *cols);
  if (!sr || !cols) {
    free(cols);
    free(len);
    return NOMEM(c->e);
  }
  size_t ns = 0;
  for (size_t k = 0; k < g.n; k++) {
    double *x = xs + st[k], *y = ys + st[k];
    size_t n = len[k], f = lg ? first_positive(x, n) : 0;
    if (n - f > 4 * ncols) {
      pk_kstats ks;
      double *lx = NULL;
      if (lg) {
        x += f;
        y += f;
        n -= f;
        if (!(lx = malloc(n * sizeof *lx))) {
          err = PK_ENOMEM;
          break;
        }
        err = pk_log10_map(c->pool, x, n, lx, NULL);
      }
      if (!err)
        err = pk_m4(c->pool, lg ? lx : x, y, n, x0, x1, ncols, cols, &ks);
      free(lx);
      if (err)
        break;
      double *rx = oalloc(c->o, 4 * ncols, sizeof *rx);
      double *ry = oalloc(c->o, 4 * ncols, sizeof *ry);
      size_t *idx = malloc(4 * ncols * sizeof *idx);
      if (!rx || !ry || !idx) {
        free(idx);
        err = PK_ENOMEM;
        break;
      }
      size_t m = pk_m4_points(cols, ncols, x, y, idx, rx, ry);
      free(idx);
      c->o->points += ks.counted;
      x = rx;
      y = ry;
      n = m;
    } else {
      for (size_t i = 0; i < n; i++)
        c->o->points += isfinite(x[i]) && isfinite(y[i]);
    }
    sr[ns++] = (pk_series){c->color ? g.names[k] : NULL, x, y, n, NULL};
  }
  free(cols);
  free(len);
  if (err)
    return pk_errmsg_set(c->e, err, "cannot reduce the line");
  p->series = sr;
  p->nseries = ns;
  return PK_OK;
}

/* True if every finite value is a whole number (stops at the first that
 * is not, so real-valued data costs a few reads). */
static bool all_integral(const double *v, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (isfinite(v[i]) && v[i] != floor(v[i]))
      return false;
  return true;
}

static int hist_bins(ctx *c, const double *xv, bool lg);

static int build_histogram(ctx *c) {
  pk_plot *p = &c->o->plot;
  p->kind = PK_PLOT_HISTOGRAM;
  p->y.title = "count";
  bool lg = c->s->log_x;
  const double *xv;
  double *tmp;
  uint64_t np;
  int err = bin_values(c, c->x, lg, &xv, &tmp, &np);
  if (!err)
    err = hist_bins(c, xv, lg);
  free(tmp);
  c->o->nonpositive = (size_t)np;
  return err;
}

/* The histogram of xv: x's values or, on a log axis (lg), their log10. */
static int hist_bins(ctx *c, const double *xv, bool lg) {
  pk_plot *p = &c->o->plot;
  double w, lo, hi, nlo, nhi, nw;
  size_t nb;
  if (pk_fd_width(xv, c->n, &w, &lo, &hi))
    return NOMEM(c->e);
  if (c->s->x_fixed && lg && !(c->s->x0 > 0))
    return pk_errmsg_set(c->e, PK_EINVAL,
                         "a log axis needs a positive range, not %g:%g",
                         c->s->x0, c->s->x1);
  if (c->s->x_fixed) {
    lo = lg ? log10(c->s->x0) : c->s->x0;
    hi = lg ? log10(c->s->x1) : c->s->x1;
  }
  if (!(lo <= hi))
    return pk_errmsg_set(c->e, PK_EINVAL, "column '%s' has no %s values",
                         c->x->name, lg ? "positive (log axis)" : "finite");
  if (c->s->bins) {
    nb = c->s->bins;
    nlo = lo;
    nhi = hi > lo ? hi : lo + 1;
    nw = (nhi - nlo) / (double)nb;
  } else {
    if (w <= 0) { /* Sturges */
      size_t m = 0;
      for (size_t i = 0; i < c->n; i++)
        m += isfinite(xv[i]);
      w = (hi - lo) / (ceil(log2((double)(m ? m : 1))) + 1);
    }
    if (pk_hist_nice(lo, hi, w, 10000, &nlo, &nhi, &nb, &nw))
      return pk_errmsg_set(c->e, PK_EINVAL, "cannot lay out the bins");
    /* Integer data (counts, minutes, years) in bins narrower than 1 or of
     * fractional width alternates full and empty bins: use whole widths
     * and centre each integer in its bin. (Not in log space.) */
    if (!lg && all_integral(c->x->v, c->n)) {
      nw = nw < 1 ? 1 : round(nw);
      nlo = floor(lo) - 0.5;
      double span = hi + 0.5 - nlo;
      nb = (size_t)ceil(span / nw);
      nb = nb ? nb : 1;
      nhi = nlo + (double)nb * nw;
    }
  }
  uint64_t *cnt = oalloc(c->o, nb, sizeof *cnt);
  double *edges =
      lg ? log_edges(c, nb, nlo, nw, nhi) : oalloc(c->o, nb + 1, sizeof *edges);
  double *counts = oalloc(c->o, nb, sizeof *counts);
  if (!cnt || !edges || !counts)
    return NOMEM(c->e);
  /* With exact bins the maximum sits on the last edge: count it in. */
  double khi = c->s->bins ? nextafter(nhi, INFINITY) : nhi;
  pk_kstats ks;
  int err = pk_histogram1d(c->pool, xv, c->n, nlo, khi, nb, cnt, &ks);
  if (err)
    return pk_errmsg_set(c->e, err, "cannot count the histogram");
  for (size_t i = 0; i < nb; i++) {
    counts[i] = (double)cnt[i];
    if (!lg)
      edges[i] = nlo + (double)i * nw;
  }
  if (!lg)
    edges[nb] = nhi;
  c->o->bx = (pk_plot_binning){true, lg, nlo, khi, nb};
  c->o->points = ks.counted;
  p->hist = (pk_hist){nb, edges, counts};
  return PK_OK;
}

static int build_heatmap(ctx *c) {
  c->o->plot.kind = PK_PLOT_HEATMAP;
  size_t nb = c->s->bins ? c->s->bins : 50;
  if (nb > 4096)
    nb = 4096;
  bool w = c->s->agg != PK_KAGG_COUNT;
  if (w && !c->z)
    return pk_errmsg_set(c->e, PK_EINVAL, "heatmap --agg %s needs --z",
                         pk_kagg_name(c->s->agg));
  return grid_from(c, w ? c->z : NULL, c->s->agg, nb, nb);
}

static int build_bar(ctx *c) {
  pk_plot *p = &c->o->plot;
  p->kind = PK_PLOT_BAR;
  groups gx, gc = {1, NULL, NULL};
  int err = make_groups(c, c->x, PK_PLOT_MAX_GROUPS, &gx);
  if (!err && c->color)
    err = make_groups(c, c->color, PK_PLOT_MAX_SERIES, &gc);
  if (err)
    return err;
  double *v = oalloc(c->o, gx.n * gc.n, sizeof *v);
  if (!v)
    return NOMEM(c->e);
  for (size_t i = 0; i < gx.n * gc.n; i++)
    v[i] = NAN;
  for (size_t i = 0; i < c->n; i++) {
    if (isnan(gx.code[i]) || (gc.code && isnan(gc.code[i])))
      continue;
    size_t s = gc.code ? (size_t)gc.code[i] : 0;
    v[(size_t)gx.code[i] * gc.n + s] = c->y->v[i];
    c->o->points++;
  }
  p->bars = (pk_bars){gx.n, gc.n, gx.names, gc.names, v, c->s->stacked};
  if (!c->s->y || c->s->agg == PK_KAGG_COUNT) {
    p->y.title = "count";
  } else {
    char *t = oalloc(c->o, 1, strlen(c->s->y) + 16);
    if (!t)
      return NOMEM(c->e);
    sprintf(t, "%s(%s)", pk_kagg_name(c->s->agg), c->s->y);
    p->y.title = t;
  }
  return PK_OK;
}

/* Groups and values for box/violin. */
static int box_groups(ctx *c, groups *g, double **vs, size_t **st) {
  double *xs = NULL;
  int err;
  if (c->y) {
    err = make_groups(c, c->x, PK_PLOT_MAX_GROUPS, g);
  } else {
    double *code = oalloc(c->o, c->n, sizeof *code);
    const char **names = oalloc(c->o, 1, sizeof *names);
    if (!code || !names)
      return NOMEM(c->e);
    names[0] = c->s->x;
    g->n = 1;
    g->code = code;
    g->names = names;
    err = PK_OK;
  }
  if (!err)
    err = split(c, g, c->y ? c->y->v : c->x->v, NULL, &xs, NULL, st);
  *vs = xs;
  if (!err && !c->y) {
    c->o->plot.y.title = c->s->x;
    c->o->plot.x.title = NULL;
  }
  return err;
}

static const double quart_q[3] = {0.25, 0.5, 0.75};

static int build_box(ctx *c) {
  pk_plot *p = &c->o->plot;
  p->kind = PK_PLOT_BOX;
  groups g;
  double *vs;
  size_t *st;
  int err = box_groups(c, &g, &vs, &st);
  if (err)
    return err;
  pk_box_group *bx = oalloc(c->o, g.n, sizeof *bx);
  if (!bx)
    return NOMEM(c->e);
  size_t nb = 0;
  for (size_t k = 0; k < g.n; k++) {
    const double *v = vs + st[k];
    size_t n = st[k + 1] - st[k], m;
    double q[3];
    if (pk_quantiles(v, n, quart_q, 3, q, &m))
      return NOMEM(c->e);
    if (m == 0)
      continue;
    double iqr = q[2] - q[0], flo = q[0] - 1.5 * iqr, fhi = q[2] + 1.5 * iqr;
    double wlo = INFINITY, whi = -INFINITY;
    size_t nout = 0;
    for (size_t i = 0; i < n; i++) {
      if (!isfinite(v[i]))
        continue;
      if (v[i] < flo || v[i] > fhi) {
        nout++;
        continue;
      }
      wlo = v[i] < wlo ? v[i] : wlo;
      whi = v[i] > whi ? v[i] : whi;
    }
    size_t stride =
        nout > PK_PLOT_MAX_OUTLIERS
            ? (nout + PK_PLOT_MAX_OUTLIERS - 1) / PK_PLOT_MAX_OUTLIERS
            : 1;
    double *out = oalloc(c->o, nout / stride + 1, sizeof *out);
    if (!out)
      return NOMEM(c->e);
    size_t j = 0, no = 0;
    for (size_t i = 0; i < n; i++)
      if (isfinite(v[i]) && (v[i] < flo || v[i] > fhi) && j++ % stride == 0)
        out[no++] = v[i];
    bx[nb++] = (pk_box_group){g.names[k], wlo, q[0], q[1], q[2], whi, out, no};
    c->o->points += m;
  }
  p->boxes = bx;
  p->nboxes = nb;
  return PK_OK;
}

static int build_violin(ctx *c) {
  pk_plot *p = &c->o->plot;
  p->kind = PK_PLOT_VIOLIN;
  groups g;
  double *vs;
  size_t *st;
  int err = box_groups(c, &g, &vs, &st);
  if (err)
    return err;
  pk_violin_group *vg = oalloc(c->o, g.n, sizeof *vg);
  if (!vg)
    return NOMEM(c->e);
  enum { NGRID = 100 };
  size_t nv = 0;
  for (size_t k = 0; k < g.n; k++) {
    const double *v = vs + st[k];
    size_t n = st[k + 1] - st[k], m;
    double q[3], lo, hi;
    if (pk_quantiles(v, n, quart_q, 3, q, &m))
      return NOMEM(c->e);
    if (m == 0 || !range_of(v, n, &lo, &hi))
      continue;
    size_t stride =
        m > PK_PLOT_KDE_MAX ? (m + PK_PLOT_KDE_MAX - 1) / PK_PLOT_KDE_MAX : 1;
    double *smp = malloc(((m + stride - 1) / stride) * sizeof *smp);
    if (!smp)
      return NOMEM(c->e);
    size_t ns = 0, j = 0;
    double sum = 0, sum2 = 0;
    for (size_t i = 0; i < n; i++)
      if (isfinite(v[i]) && j++ % stride == 0) {
        smp[ns++] = v[i];
        sum += v[i];
      }
    double mean = sum / (double)ns;
    for (size_t i = 0; i < ns; i++)
      sum2 += (smp[i] - mean) * (smp[i] - mean);
    double sd = ns > 1 ? sqrt(sum2 / (double)(ns - 1)) : 0;
    double iqr = (q[2] - q[0]) / 1.34;
    double spread = iqr > 0 && iqr < sd ? iqr : sd;
    if (!(spread > 0))
      spread = hi > lo ? (hi - lo) / 4 : (fabs(lo) > 0 ? fabs(lo) * 0.01 : 1);
    double h = 0.9 * spread * pow((double)ns, -0.2);
    double *gy = oalloc(c->o, NGRID, sizeof *gy);
    double *gd = oalloc(c->o, NGRID, sizeof *gd);
    if (!gy || !gd) {
      free(smp);
      return NOMEM(c->e);
    }
    double a = lo - 2 * h, b = hi + 2 * h,
           norm = 1.0 / ((double)ns * h * sqrt(2 * M_PI));
    for (int i = 0; i < NGRID; i++) {
      double y = a + (b - a) * i / (NGRID - 1), d = 0;
      for (size_t s = 0; s < ns; s++) {
        double u = (y - smp[s]) / h;
        if (u > -8 && u < 8)
          d += exp(-0.5 * u * u);
      }
      gy[i] = y;
      gd[i] = d * norm;
    }
    free(smp);
    vg[nv++] = (pk_violin_group){g.names[k], gy, gd, NGRID, q[0], q[1], q[2]};
    c->o->points += m;
  }
  p->violins = vg;
  p->nviolins = nv;
  return PK_OK;
}

static int need(ctx *c, const pk_col **dst, const char *alias,
                const char *what) {
  *dst = pk_cols_find(c->cs, alias);
  if (!*dst)
    return pk_errmsg_set(c->e, PK_EINVAL, "%s plot needs a %s column",
                         kind_names[c->s->kind], what);
  return PK_OK;
}

int pk_plot_build(pk_pool *pool, const pk_plot_spec *spec, const pk_cols *cols,
                  pk_plot_out **out, pk_errmsg *e) {
  return pk_plot_build_indexed(pool, spec, cols, NULL, out, e);
}

static int build(pk_pool *pool, const pk_plot_spec *spec, const pk_cols *cols,
                 const pk_dindex *dix, const pk_plot_counter *counter,
                 pk_plot_out **out, pk_errmsg *e);

int pk_plot_build_indexed(pk_pool *pool, const pk_plot_spec *spec,
                          const pk_cols *cols, const pk_dindex *dix,
                          pk_plot_out **out, pk_errmsg *e) {
  return build(pool, spec, cols, dix, NULL, out, e);
}

bool pk_plot_streamable(const pk_plot_spec *s) {
  bool grid = ((s->kind == PK_PLOT_SCATTER || s->kind == PK_PLOT_DENSITY) &&
               !s->color) ||
              (s->kind == PK_PLOT_HEATMAP && s->agg == PK_KAGG_COUNT);
  return grid && !s->log_x && !s->log_y;
}

bool pk_plot_countable(const pk_plot_spec *spec, const pk_cols *cols) {
  const pk_col *x = pk_cols_find(cols, "x"), *y = pk_cols_find(cols, "y");
  /* What the builder reads of x and y besides the counts: their extents
   * (and a scatter's raw points, which it must not need). */
  return pk_plot_streamable(spec) && x && y && x->ranged && y->ranged &&
         !x->is_categorical && !y->is_categorical &&
         (spec->kind != PK_PLOT_SCATTER ||
          cols->nrows > PK_PLOT_SCATTER_RAW_MAX);
}

int pk_plot_build_counted(pk_pool *pool, const pk_plot_spec *spec,
                          const pk_cols *cols, const pk_plot_counter *counter,
                          pk_plot_out **out, pk_errmsg *e) {
  *out = NULL;
  if (!pk_plot_countable(spec, cols))
    return pk_errmsg_set(e, PK_EINVAL,
                         "this plot cannot be built from counts alone");
  return build(pool, spec, cols, NULL, counter, out, e);
}

static int build(pk_pool *pool, const pk_plot_spec *spec, const pk_cols *cols,
                 const pk_dindex *dix, const pk_plot_counter *counter,
                 pk_plot_out **out, pk_errmsg *e) {
  *out = NULL;
  if ((unsigned)spec->kind >= PK_PLOT_KIND_COUNT)
    return pk_errmsg_set(e, PK_EINVAL, "unknown plot kind");
  pk_plot_out *o = calloc(1, sizeof *o);
  if (!o)
    return NOMEM(e);
  ctx c = {pool, spec, cols, cols->nrows, NULL, NULL,
           NULL, NULL, o,    e,           dix,  counter};
  c.color = pk_cols_find(cols, "color");
  c.z = pk_cols_find(cols, "z");
  int err = need(&c, &c.x, "x", "x");
  bool wants_y = spec->kind != PK_PLOT_HISTOGRAM && spec->kind != PK_PLOT_BOX &&
                 spec->kind != PK_PLOT_VIOLIN;
  if (!err && wants_y)
    err = need(&c, &c.y, "y", "y");
  if (!err && !wants_y && spec->kind != PK_PLOT_HISTOGRAM)
    c.y = pk_cols_find(cols, "y");
  if (!err) {
    set_axes(&c);
    switch (spec->kind) {
    case PK_PLOT_SCATTER:
    case PK_PLOT_DENSITY:
      err = build_scatter(&c);
      break;
    case PK_PLOT_LINE:
    case PK_PLOT_AREA:
      err = build_line(&c);
      break;
    case PK_PLOT_HISTOGRAM:
      err = build_histogram(&c);
      break;
    case PK_PLOT_HEATMAP:
      err = build_heatmap(&c);
      break;
    case PK_PLOT_BAR:
      err = build_bar(&c);
      break;
    case PK_PLOT_BOX:
      err = build_box(&c);
      break;
    default:
      err = build_violin(&c);
      break;
    }
  }
  if (err) {
    pk_plot_out_free(o);
    return err;
  }
  *out = o;
  return PK_OK;
}
