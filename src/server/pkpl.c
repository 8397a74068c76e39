/* pkpl.c — see pkpl.h. */
#include "server/pkpl.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "server/json_out.h"

typedef struct enc {
  unsigned char *data;
  size_t len, cap;
  int err;
} enc;

/* Appends n doubles 8-aligned; returns {"a", "n"} or NULL (err set). */
static json_t *arr(enc *x, const double *v, size_t n) {
  size_t need = x->len + n * sizeof(double);
  if (need > x->cap) {
    size_t c = x->cap ? x->cap : 4096;
    while (c < need)
      c *= 2;
    unsigned char *g = realloc(x->data, c);
    if (!g) {
      x->err = PK_ENOMEM;
      return NULL;
    }
    x->data = g;
    x->cap = c;
  }
  size_t off = x->len;
  if (n)
    memcpy(x->data + off, v, n * sizeof(double)); /* x86/ARM: LE doubles */
  x->len = need;
  return json_pack("{s:I, s:I}", "a", (json_int_t)off, "n", (json_int_t)n);
}

static json_t *arr_or_null(enc *x, const double *v, size_t n) {
  return v ? arr(x, v, n) : json_null();
}

static json_t *str_or_null(const char *s) {
  return s ? json_string(s) : json_null();
}

static void upd(double v, double *lo, double *hi) {
  if (isfinite(v)) {
    if (v < *lo)
      *lo = v;
    if (v > *hi)
      *hi = v;
  }
}

void pk_pkpl_model_range(const pk_plot *p, double *x0, double *x1, double *y0,
                         double *y1) {
  double xl = INFINITY, xh = -INFINITY, yl = INFINITY, yh = -INFINITY;
  switch (p->kind) {
  case PK_PLOT_SCATTER:
  case PK_PLOT_LINE:
  case PK_PLOT_AREA:
    for (size_t s = 0; s < p->nseries; s++)
      for (size_t i = 0; i < p->series[s].n; i++) {
        upd(p->series[s].x[i], &xl, &xh);
        upd(p->series[s].y[i], &yl, &yh);
      }
    if (p->kind == PK_PLOT_AREA)
      upd(0, &yl, &yh);
    break;
  case PK_PLOT_DENSITY:
  case PK_PLOT_HEATMAP: {
    const pk_grid *g = &p->grid;
    upd(g->xedges ? g->xedges[0] : g->x0, &xl, &xh);
    upd(g->xedges ? g->xedges[g->nx] : g->x1, &xl, &xh);
    upd(g->yedges ? g->yedges[0] : g->y0, &yl, &yh);
    upd(g->yedges ? g->yedges[g->ny] : g->y1, &yl, &yh);
    break;
  }
  case PK_PLOT_HISTOGRAM:
    if (p->hist.nbins) {
      upd(p->hist.edges[0], &xl, &xh);
      upd(p->hist.edges[p->hist.nbins], &xl, &xh);
    }
    upd(0, &yl, &yh);
    for (size_t i = 0; i < p->hist.nbins; i++)
      upd(p->hist.counts[i], &yl, &yh);
    break;
  case PK_PLOT_BAR: {
    const pk_bars *b = &p->bars;
    upd(0, &yl, &yh);
    for (size_t c = 0; c < b->ncat; c++) {
      double pos = 0, neg = 0;
      for (size_t s = 0; s < b->nseries; s++) {
        double v = b->values[c * b->nseries + s];
        if (!isfinite(v))
          continue;
        if (b->stacked)
          *(v >= 0 ? &pos : &neg) += v;
        else
          upd(v, &yl, &yh);
      }
      if (b->stacked) {
        upd(pos, &yl, &yh);
        upd(neg, &yl, &yh);
      }
    }
    xl = -0.5;
    xh = (double)b->ncat - 0.5;
    break;
  }
  case PK_PLOT_BOX:
    for (size_t i = 0; i < p->nboxes; i++) {
      const pk_box_group *g = &p->boxes[i];
      upd(g->whisker_lo, &yl, &yh);
      upd(g->whisker_hi, &yl, &yh);
      for (size_t j = 0; j < g->noutliers; j++)
        upd(g->outliers[j], &yl, &yh);
    }
    xl = -0.5;
    xh = (double)p->nboxes - 0.5;
    break;
  case PK_PLOT_VIOLIN:
    for (size_t i = 0; i < p->nviolins; i++)
      for (size_t j = 0; j < p->violins[i].n; j++)
        upd(p->violins[i].y[j], &yl, &yh);
    xl = -0.5;
    xh = (double)p->nviolins - 0.5;
    break;
  default:
    break;
  }
  *x0 = xl <= xh ? xl : NAN;
  *x1 = xl <= xh ? xh : NAN;
  *y0 = yl <= yh ? yl : NAN;
  *y1 = yl <= yh ? yh : NAN;
}

static const char *scale_name(pk_scale s) {
  return s == PK_SCALE_LOG ? "log" : s == PK_SCALE_TIME ? "time" : "linear";
}

static json_t *axis(const pk_axis *a, double lo, double hi) {
  if (a->fixed) {
    lo = a->min;
    hi = a->max;
  }
  return json_pack("{s:o, s:s, s:o, s:o}", "title", str_or_null(a->title),
                   "scale", scale_name(a->scale), "min", pk_json_double(lo),
                   "max", pk_json_double(hi));
}

static json_t *names(const char *const *v, size_t n) {
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(a, str_or_null(v ? v[i] : NULL));
  return a;
}

static json_t *series(enc *x, const pk_plot *p, bool with_c, double *clo,
                      double *chi) {
  json_t *a = json_array();
  for (size_t s = 0; s < p->nseries; s++) {
    const pk_series *se = &p->series[s];
    json_t *o = json_pack("{s:o, s:o, s:o}", "name", str_or_null(se->name), "x",
                          arr(x, se->x, se->n), "y", arr(x, se->y, se->n));
    if (with_c) {
      json_object_set_new(o, "c", arr_or_null(x, se->c, se->n));
      if (se->c)
        for (size_t i = 0; i < se->n; i++)
          upd(se->c[i], clo, chi);
    }
    json_array_append_new(a, o);
  }
  return a;
}

static const char *grid_value(pk_grid_value v) {
  return v == PK_GRID_SUM ? "sum" : v == PK_GRID_MEAN ? "mean" : "count";
}

static int kind_members(enc *x, const pk_plot *p, json_t *h) {
  switch (p->kind) {
  case PK_PLOT_SCATTER: {
    double lo = INFINITY, hi = -INFINITY;
    json_object_set_new(h, "series", series(x, p, true, &lo, &hi));
    json_object_set_new(h, "color_range",
                        lo <= hi ? json_pack("[f, f]", lo, hi) : json_null());
    return PK_OK;
  }
  case PK_PLOT_LINE:
  case PK_PLOT_AREA:
    json_object_set_new(h, "series", series(x, p, false, NULL, NULL));
    return PK_OK;
  case PK_PLOT_DENSITY:
  case PK_PLOT_HEATMAP: {
    const pk_grid *g = &p->grid;
    json_t *o = json_pack(
        "{s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:b}", "nx",
        (json_int_t)g->nx, "ny", (json_int_t)g->ny, "x0", pk_json_double(g->x0),
        "x1", pk_json_double(g->x1), "y0", pk_json_double(g->y0), "y1",
        pk_json_double(g->y1), "v", arr(x, g->v, g->nx * g->ny), "xedges",
        arr_or_null(x, g->xedges, g->nx + 1), "yedges",
        arr_or_null(x, g->yedges, g->ny + 1), "value", grid_value(g->value),
        "log_color", g->log_color != 0);
    json_object_set_new(h, "grid", o);
    return PK_OK;
  }
  case PK_PLOT_BAR: {
    const pk_bars *b = &p->bars;
    json_object_set_new(
        h, "bars",
        json_pack("{s:o, s:o, s:o, s:b}", "categories",
                  names(b->categories, b->ncat), "series",
                  b->series_names ? names(b->series_names, b->nseries)
                                  : json_null(),
                  "values", arr(x, b->values, b->ncat * b->nseries), "stacked",
                  b->stacked != 0));
    return PK_OK;
  }
  case PK_PLOT_HISTOGRAM:
    json_object_set_new(h, "hist",
                        json_pack("{s:o, s:o}", "edges",
                                  arr(x, p->hist.edges, p->hist.nbins + 1),
                                  "counts",
                                  arr(x, p->hist.counts, p->hist.nbins)));
    return PK_OK;
  case PK_PLOT_BOX: {
    json_t *a = json_array();
    for (size_t i = 0; i < p->nboxes; i++) {
      const pk_box_group *g = &p->boxes[i];
      json_array_append_new(
          a, json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "name",
                       str_or_null(g->name), "whisker_lo",
                       pk_json_double(g->whisker_lo), "q1",
                       pk_json_double(g->q1), "median",
                       pk_json_double(g->median), "q3", pk_json_double(g->q3),
                       "whisker_hi", pk_json_double(g->whisker_hi), "outliers",
                       arr(x, g->outliers, g->noutliers)));
    }
    json_object_set_new(h, "boxes", a);
    return PK_OK;
  }
  case PK_PLOT_VIOLIN: {
    json_t *a = json_array();
    for (size_t i = 0; i < p->nviolins; i++) {
      const pk_violin_group *g = &p->violins[i];
      json_array_append_new(
          a, json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "name",
                       str_or_null(g->name), "y", arr(x, g->y, g->n), "density",
                       arr(x, g->density, g->n), "q1", pk_json_double(g->q1),
                       "median", pk_json_double(g->median), "q3",
                       pk_json_double(g->q3)));
    }
    json_object_set_new(h, "violins", a);
    return PK_OK;
  }
  default:
    return PK_EINVAL;
  }
}

static json_t *categories(const pk_plot *p) {
  switch (p->kind) {
  case PK_PLOT_BAR:
    return names(p->bars.categories, p->bars.ncat);
  case PK_PLOT_BOX: {
    json_t *a = json_array();
    for (size_t i = 0; i < p->nboxes; i++)
      json_array_append_new(a, str_or_null(p->boxes[i].name));
    return a;
  }
  case PK_PLOT_VIOLIN: {
    json_t *a = json_array();
    for (size_t i = 0; i < p->nviolins; i++)
      json_array_append_new(a, str_or_null(p->violins[i].name));
    return a;
  }
  default:
    return NULL;
  }
}

static void put_u32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)v;
  p[1] = (unsigned char)(v >> 8);
  p[2] = (unsigned char)(v >> 16);
  p[3] = (unsigned char)(v >> 24);
}

int pk_pkpl_encode(const pk_plot *p, const pk_pkpl_meta *m, unsigned char **out,
                   size_t *len, pk_errmsg *e) {
  const char *kname = pk_plot_kind_name(p->kind);
  if (!kname)
    return pk_errmsg_set(e, PK_EINVAL, "plot kind %d has no encoding",
                         (int)p->kind);
  double x0, x1, y0, y1;
  pk_pkpl_model_range(p, &x0, &x1, &y0, &y1);
  double ex0 = isnan(m->ext_x0) ? x0 : m->ext_x0;
  double ex1 = isnan(m->ext_x1) ? x1 : m->ext_x1;
  double ey0 = isnan(m->ext_y0) ? y0 : m->ext_y0;
  double ey1 = isnan(m->ext_y1) ? y1 : m->ext_y1;

  enc x = {0};
  json_t *h = json_object();
  json_t *xa = axis(&p->x, x0, x1), *cats = categories(p);
  if (cats) {
    json_object_set_new(xa, "categories", cats);
    json_object_set_new(xa, "scale", json_string("linear"));
  }
  json_object_set_new(h, "plot", str_or_null(m->plot));
  json_object_set_new(h, "seq", json_integer(m->seq));
  json_object_set_new(h, "kind", json_string(kname));
  json_object_set_new(h, "x", xa);
  json_object_set_new(h, "y", axis(&p->y, y0, y1));
  json_object_set_new(h, "extent",
                      json_pack("{s:o, s:o, s:o, s:o}", "x0",
                                pk_json_double(ex0), "x1", pk_json_double(ex1),
                                "y0", pk_json_double(ey0), "y1",
                                pk_json_double(ey1)));
  json_object_set_new(h, "rows", json_integer((json_int_t)m->rows));
  json_object_set_new(h, "points", json_integer((json_int_t)m->points));
  json_object_set_new(h, "elapsed_ms", json_real(m->elapsed_ms));
  json_object_set_new(h, "cached", json_boolean(m->cached));
  json_object_set_new(h, "title", str_or_null(p->title));
  const char *cbt = p->colorbar_title;
  if (!cbt && (p->kind == PK_PLOT_DENSITY || p->kind == PK_PLOT_HEATMAP))
    cbt = grid_value(p->grid.value);
  json_object_set_new(h, "colorbar_title", str_or_null(cbt));
  int err = kind_members(&x, p, h);
  char *hdr = NULL;
  if (!err && !x.err)
    hdr = json_dumps(h, JSON_COMPACT);
  json_decref(h);
  if (err || x.err || !hdr) {
    free(x.data);
    free(hdr);
    return err ? pk_errmsg_set(e, err, "plot kind '%s' has no encoding", kname)
               : pk_errmsg_set(e, PK_ENOMEM, "out of memory");
  }
  size_t J = strlen(hdr), P = (8 - (16 + J) % 8) % 8;
  size_t total = 16 + J + P + x.len;
  unsigned char *b = malloc(total);
  if (!b) {
    free(x.data);
    free(hdr);
    return pk_errmsg_set(e, PK_ENOMEM, "out of memory");
  }
  memcpy(b, "PKPL", 4);
  put_u32(b + 4, PK_PKPL_VERSION);
  put_u32(b + 8, (uint32_t)J);
  put_u32(b + 12, (uint32_t)P);
  memcpy(b + 16, hdr, J);
  memset(b + 16 + J, 0, P);
  if (x.len)
    memcpy(b + 16 + J + P, x.data, x.len);
  free(x.data);
  free(hdr);
  *out = b;
  *len = total;
  return PK_OK;
}
