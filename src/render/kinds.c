/*
 * kinds.c — per-kind data extents, legend entries and marks.
 *
 * Every kind draws inside the plot area's clip, in the order the eye reads
 * it: fills first, outlines and medians on top.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "render/render_int.h"

static const pk_rgb dark = {0.2, 0.2, 0.2};

static int add_legend(pk__ctx *c, const char *label, pk_rgb color,
                      pk_errmsg *e) {
  pk__legend_item *n = realloc(c->legend, (c->nlegend + 1) * sizeof *c->legend);
  if (!n)
    return pk_errmsg_set(e, PK_ENOMEM, "out of memory building the legend");
  c->legend = n;
  c->legend[c->nlegend++] = (pk__legend_item){label, color};
  return PK_OK;
}

static double grid_edge(const pk_grid *g, int xaxis, size_t i) {
  const double *edges = xaxis ? g->xedges : g->yedges;
  size_t n = xaxis ? g->nx : g->ny;
  double a = xaxis ? g->x0 : g->y0, b = xaxis ? g->x1 : g->y1;
  if (edges)
    return edges[i];
  return a + (b - a) * (double)i / (double)n;
}

/* Whether a grid cell is drawn: NaN never, zero counts never, log colour
 * needs a positive value. */
static int cell_blank(const pk__ctx *c, double v) {
  const pk_grid *g = &c->p->grid;
  return !isfinite(v) || (g->value == PK_GRID_COUNT && v == 0) ||
         (c->cb_log && !(v > 0));
}

pk_rgb pk__cbar_color(const pk__ctx *c, double v, int *blank) {
  double t;
  *blank = 0;
  if (c->cb_log) {
    if (!(v > 0)) {
      *blank = 1;
      return (pk_rgb){1, 1, 1};
    }
    t = (log10(v) - log10(c->cb_lo)) / (log10(c->cb_hi) - log10(c->cb_lo));
  } else {
    t = (v - c->cb_lo) / (c->cb_hi - c->cb_lo);
  }
  return pk_colormap_eval(c->p->colormap, t);
}

static const char *grid_title(const pk_plot *p) {
  if (p->colorbar_title)
    return p->colorbar_title;
  switch (p->grid.value) {
  case PK_GRID_SUM:
    return "sum";
  case PK_GRID_MEAN:
    return "mean";
  default:
    return "count";
  }
}

int pk__kind_extents(pk__ctx *c, pk__extent *xe, pk__extent *ye, pk__extent *cb,
                     pk_errmsg *e) {
  const pk_plot *p = c->p;
  int xl = p->x.scale == PK_SCALE_LOG, yl = p->y.scale == PK_SCALE_LOG;
  int r;
  switch (p->kind) {
  case PK_PLOT_SCATTER:
  case PK_PLOT_LINE:
  case PK_PLOT_AREA: {
    size_t named = 0;
    for (size_t k = 0; k < p->nseries; k++) {
      const pk_series *sr = &p->series[k];
      for (size_t i = 0; i < sr->n; i++) {
        if (!isfinite(sr->x[i]) || !isfinite(sr->y[i]))
          continue;
        pk__extent_add(xe, sr->x[i], xl);
        pk__extent_add(ye, sr->y[i], yl);
        if (p->kind == PK_PLOT_SCATTER && sr->c)
          pk__extent_add(cb, sr->c[i], 0);
      }
      named += sr->name && *sr->name;
    }
    if (cb->any) {
      c->cb_title = p->colorbar_title ? p->colorbar_title : "value";
    } else if (named > 0 && p->nseries > 1) {
      c->legend_style = p->kind == PK_PLOT_LINE      ? PK__SW_LINE
                        : p->kind == PK_PLOT_SCATTER ? PK__SW_POINT
                                                     : PK__SW_BOX;
      for (size_t k = 0; k < p->nseries; k++)
        if (p->series[k].name && *p->series[k].name)
          if ((r = add_legend(c, p->series[k].name, pk_palette_color(k), e)))
            return r;
    }
    return PK_OK;
  }
  case PK_PLOT_DENSITY:
  case PK_PLOT_HEATMAP: {
    const pk_grid *g = &p->grid;
    c->cb_log = g->log_color;
    for (size_t i = 0; i <= g->nx; i++)
      pk__extent_add(xe, grid_edge(g, 1, i), xl);
    for (size_t i = 0; i <= g->ny; i++)
      pk__extent_add(ye, grid_edge(g, 0, i), yl);
    for (size_t i = 0; i < g->nx * g->ny; i++)
      if (!cell_blank(c, g->v[i]))
        pk__extent_add(cb, g->v[i], g->log_color);
    c->cb_title = grid_title(p);
    return PK_OK;
  }
  case PK_PLOT_BAR: {
    const pk_bars *b = &p->bars;
    c->ncat = b->ncat;
    for (size_t i = 0; i < b->ncat; i++) {
      double pos = 0, neg = 0;
      for (size_t k = 0; k < b->nseries; k++) {
        double v = b->values[i * b->nseries + k];
        if (!isfinite(v))
          continue;
        if (b->stacked) {
          if (v >= 0)
            pos += v;
          else
            neg += v;
        } else {
          pk__extent_add(ye, v, yl);
        }
      }
      if (b->stacked) {
        pk__extent_add(ye, pos, yl);
        pk__extent_add(ye, neg, yl);
      }
    }
    if (b->series_names && b->nseries > 1) {
      c->legend_style = PK__SW_BOX;
      for (size_t k = 0; k < b->nseries; k++)
        if ((r = add_legend(c, b->series_names[k], pk_palette_color(k), e)))
          return r;
    }
    break;
  }
  case PK_PLOT_HISTOGRAM:
    for (size_t i = 0; i <= p->hist.nbins; i++)
      pk__extent_add(xe, p->hist.edges[i], xl);
    for (size_t i = 0; i < p->hist.nbins; i++)
      pk__extent_add(ye, p->hist.counts[i], yl);
    return PK_OK;
  case PK_PLOT_BOX:
    c->ncat = p->nboxes;
    for (size_t i = 0; i < p->nboxes; i++) {
      const pk_box_group *bg = &p->boxes[i];
      pk__extent_add(ye, bg->whisker_lo, yl);
      pk__extent_add(ye, bg->whisker_hi, yl);
      for (size_t k = 0; k < bg->noutliers; k++)
        pk__extent_add(ye, bg->outliers[k], yl);
    }
    break;
  case PK_PLOT_VIOLIN:
    c->ncat = p->nviolins;
    for (size_t i = 0; i < p->nviolins; i++)
      for (size_t k = 0; k < p->violins[i].n; k++)
        pk__extent_add(ye, p->violins[i].y[k], yl);
    break;
  default:
    return pk_errmsg_set(e, PK_EINVAL, "unknown plot kind %d", (int)p->kind);
  }
  /* Categorical kinds: gather the category labels. */
  c->cat = calloc(c->ncat ? c->ncat : 1, sizeof *c->cat);
  if (!c->cat)
    return pk_errmsg_set(e, PK_ENOMEM, "out of memory laying out categories");
  for (size_t i = 0; i < c->ncat; i++) {
    const char *name = p->kind == PK_PLOT_BAR   ? p->bars.categories[i]
                       : p->kind == PK_PLOT_BOX ? p->boxes[i].name
                                                : p->violins[i].name;
    c->cat[i] = name ? name : "";
  }
  return PK_OK;
}

/* ---- marks ----------------------------------------------------------------
 */

/* Raster targets stamp each point from a pre-rendered antialiased disc
 * (an A8 mask) instead of building a path: pixman composites a small mask
 * in about a microsecond, while filling 100k arcs as one path costs
 * seconds. Discs are pre-rendered at 4 x 4 sub-pixel offsets, so a point
 * lands within 1/8 pixel of its true position. */
#define SPRITE_SUB 4

typedef struct sprites {
  cairo_surface_t *m[SPRITE_SUB * SPRITE_SUB];
  double r, off; /* radius; top-left of the mask relative to the centre */
} sprites;

static int sprites_make(sprites *sp, double r) {
  int size = (int)ceil(2 * r) + 3;
  sp->r = r;
  sp->off = r + 1.5;
  for (int k = 0; k < SPRITE_SUB * SPRITE_SUB; k++) {
    sp->m[k] = cairo_image_surface_create(CAIRO_FORMAT_A8, size, size);
    cairo_t *cr = cairo_create(sp->m[k]);
    cairo_arc(cr, sp->off + (double)(k % SPRITE_SUB) / SPRITE_SUB,
              sp->off + (double)(k / SPRITE_SUB) / SPRITE_SUB, r, 0, 2 * G_PI);
    cairo_fill(cr);
    cairo_destroy(cr);
    if (cairo_surface_status(sp->m[k]) != CAIRO_STATUS_SUCCESS)
      return 0;
  }
  return 1;
}

static void sprites_free(sprites *sp) {
  for (int k = 0; k < SPRITE_SUB * SPRITE_SUB; k++)
    cairo_surface_destroy(sp->m[k]);
}

static void sprite_stamp(cairo_t *cr, const sprites *sp, double x, double y) {
  double ox = x - sp->off, oy = y - sp->off;
  double fx = floor(ox), fy = floor(oy);
  int kx = (int)((ox - fx) * SPRITE_SUB), ky = (int)((oy - fy) * SPRITE_SUB);
  kx = kx >= SPRITE_SUB ? SPRITE_SUB - 1 : kx;
  ky = ky >= SPRITE_SUB ? SPRITE_SUB - 1 : ky;
  cairo_mask_surface(cr, sp->m[ky * SPRITE_SUB + kx], fx, fy);
}

/* Stamping needs user space = device pixels: an image target and an
 * identity transform. */
static int can_stamp(cairo_t *cr) {
  cairo_matrix_t m;
  cairo_get_matrix(cr, &m);
  return cairo_surface_get_type(cairo_get_target(cr)) ==
             CAIRO_SURFACE_TYPE_IMAGE &&
         m.xx == 1 && m.yy == 1 && m.xy == 0 && m.yx == 0 && m.x0 == 0 &&
         m.y0 == 0;
}

static void draw_points(pk__ctx *c) {
  const pk_plot *p = c->p;
  cairo_t *cr = c->cr;
  double r = (p->point_size > 0 ? p->point_size : 3.0) * c->s / 2;
  sprites sp = {{NULL}, 0, 0};
  int stamp = can_stamp(cr) && r <= 64;
  if (stamp && !sprites_make(&sp, r)) {
    sprites_free(&sp);
    stamp = 0;
  }
  for (size_t k = 0; k < p->nseries; k++) {
    const pk_series *sr = &p->series[k];
    /* Dense clouds get some transparency so that overlap reads as mass;
     * sparse ones stay opaque and crisp. */
    double alpha = sr->n > 2000 ? 0.7 : 1.0;
    if (!sr->c)
      pk__set_rgb(cr, pk_palette_color(k), alpha);
    for (size_t i = 0; i < sr->n; i++) {
      double x = sr->x[i], y = sr->y[i];
      if (!isfinite(x) || !isfinite(y) || (c->x.log && !(x > 0)) ||
          (c->y.log && !(y > 0)))
        continue;
      double X = pk__map(&c->x, x), Y = pk__map(&c->y, y);
      if (X < c->px - r - 2 || X > c->px + c->pw + r + 2 || Y < c->py - r - 2 ||
          Y > c->py + c->ph + r + 2)
        continue; /* outside the plot area: clipped anyway */
      if (sr->c) {
        int blank;
        pk_rgb col = pk__cbar_color(c, sr->c[i], &blank);
        if (blank || !isfinite(sr->c[i]))
          continue;
        pk__set_rgb(cr, col, alpha);
      }
      if (stamp) {
        sprite_stamp(cr, &sp, X, Y);
      } else {
        cairo_arc(cr, X, Y, r, 0, 2 * G_PI);
        cairo_fill(cr);
      }
    }
  }
  if (stamp)
    sprites_free(&sp);
}

static int point_ok(const pk__ctx *c, double x, double y) {
  return isfinite(x) && isfinite(y) && !(c->x.log && !(x > 0)) &&
         !(c->y.log && !(y > 0));
}

/* The y of the area's base: zero when it is on the axis, else the bottom. */
static double area_base(const pk__ctx *c) {
  if (!c->y.log && c->y.lo <= 0 && c->y.hi >= 0)
    return pk__map(&c->y, 0);
  return c->py + c->ph;
}

static void draw_lines(pk__ctx *c, int area) {
  const pk_plot *p = c->p;
  cairo_t *cr = c->cr;
  double lw = (p->line_width > 0 ? p->line_width : 1.5) * c->s;
  double base = area_base(c);
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
  cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
  cairo_set_line_width(cr, lw);
  for (size_t k = 0; k < p->nseries; k++) {
    const pk_series *sr = &p->series[k];
    pk_rgb col = pk_palette_color(k);
    if (area) {
      /* Each finite run is its own polygon down to the base. */
      size_t i = 0;
      while (i < sr->n) {
        while (i < sr->n && !point_ok(c, sr->x[i], sr->y[i]))
          i++;
        size_t start = i;
        while (i < sr->n && point_ok(c, sr->x[i], sr->y[i]))
          i++;
        if (i - start < 2)
          continue;
        cairo_move_to(cr, pk__map(&c->x, sr->x[start]), base);
        for (size_t j = start; j < i; j++)
          cairo_line_to(cr, pk__map(&c->x, sr->x[j]), pk__map(&c->y, sr->y[j]));
        cairo_line_to(cr, pk__map(&c->x, sr->x[i - 1]), base);
        cairo_close_path(cr);
      }
      pk__set_rgb(cr, col, p->nseries > 1 ? 0.35 : 0.45);
      cairo_fill(cr);
    }
    int pen = 0;
    for (size_t i = 0; i < sr->n; i++) {
      if (!point_ok(c, sr->x[i], sr->y[i])) {
        pen = 0;
        continue;
      }
      double X = pk__map(&c->x, sr->x[i]), Y = pk__map(&c->y, sr->y[i]);
      if (pen)
        cairo_line_to(cr, X, Y);
      else
        cairo_move_to(cr, X, Y);
      pen = 1;
    }
    pk__set_rgb(cr, col, 1);
    cairo_stroke(cr);
  }
}

/* Whether the cells of one axis land on equal steps in output space:
 * uniform cells on a linear axis, or edges that map to equal steps (such as
 * log-spaced edges on a log axis, from log-space binning). */
static int axis_even(const pk__ctx *c, int xaxis) {
  const pk_grid *g = &c->p->grid;
  const pk__axis *a = xaxis ? &c->x : &c->y;
  const double *edges = xaxis ? g->xedges : g->yedges;
  size_t n = xaxis ? g->nx : g->ny;
  if (!edges)
    return !a->log;
  if (a->log && !(edges[0] > 0))
    return 0;
  double A = pk__map(a, edges[0]), B = pk__map(a, edges[n]);
  double step = (B - A) / (double)n;
  for (size_t i = 1; i < n; i++)
    if (!(fabs(pk__map(a, edges[i]) - (A + step * (double)i)) <=
          1e-3 * fabs(step)))
      return 0;
  return 1;
}

/* Whether grid cells land on equal steps in output space, so the grid can
 * go out as one nearest-sampled image (no seams, tiny vector files). */
static int grid_as_image(const pk__ctx *c) {
  const pk_grid *g = &c->p->grid;
  return g->nx <= 32767 && g->ny <= 32767 && axis_even(c, 1) && axis_even(c, 0);
}

static void draw_grid(pk__ctx *c) {
  const pk_grid *g = &c->p->grid;
  cairo_t *cr = c->cr;
  int blank;
  if (grid_as_image(c)) {
    cairo_surface_t *img =
        cairo_image_surface_create(CAIRO_FORMAT_ARGB32, (int)g->nx, (int)g->ny);
    if (cairo_surface_status(img) != CAIRO_STATUS_SUCCESS) {
      cairo_surface_destroy(img);
      return;
    }
    cairo_surface_flush(img);
    unsigned char *data = cairo_image_surface_get_data(img);
    size_t stride = (size_t)cairo_image_surface_get_stride(img);
    for (size_t iy = 0; iy < g->ny; iy++) {
      uint32_t *row = (uint32_t *)(void *)(data + (g->ny - 1 - iy) * stride);
      for (size_t ix = 0; ix < g->nx; ix++) {
        double v = g->v[iy * g->nx + ix];
        pk_rgb col = pk__cbar_color(c, v, &blank);
        if (cell_blank(c, v) || blank) {
          row[ix] = 0;
          continue;
        }
        row[ix] = 0xff000000u | (uint32_t)lrint(col.r * 255) << 16 |
                  (uint32_t)lrint(col.g * 255) << 8 |
                  (uint32_t)lrint(col.b * 255);
      }
    }
    cairo_surface_mark_dirty(img);
    double X0 = pk__map(&c->x, grid_edge(g, 1, 0)),
           X1 = pk__map(&c->x, grid_edge(g, 1, g->nx));
    double Y0 = pk__map(&c->y, grid_edge(g, 0, 0)),
           Y1 = pk__map(&c->y, grid_edge(g, 0, g->ny));
    cairo_save(cr);
    cairo_translate(cr, X0, Y1);
    cairo_scale(cr, (X1 - X0) / (double)g->nx, (Y0 - Y1) / (double)g->ny);
    cairo_set_source_surface(cr, img, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
    cairo_rectangle(cr, 0, 0, (double)g->nx, (double)g->ny);
    cairo_fill(cr);
    cairo_restore(cr);
    cairo_surface_destroy(img);
    return;
  }
  /* Uneven cells: rectangles without antialiasing, so that neighbours meet
   * without light seams. */
  cairo_save(cr);
  cairo_set_antialias(cr, CAIRO_ANTIALIAS_NONE);
  for (size_t iy = 0; iy < g->ny; iy++) {
    double ya = grid_edge(g, 0, iy), yb = grid_edge(g, 0, iy + 1);
    if (c->y.log && !(ya > 0))
      continue;
    for (size_t ix = 0; ix < g->nx; ix++) {
      double v = g->v[iy * g->nx + ix];
      double xa = grid_edge(g, 1, ix), xb = grid_edge(g, 1, ix + 1);
      if (cell_blank(c, v) || (c->x.log && !(xa > 0)))
        continue;
      pk_rgb col = pk__cbar_color(c, v, &blank);
      if (blank)
        continue;
      double X0 = pk__map(&c->x, xa), X1 = pk__map(&c->x, xb);
      double Y0 = pk__map(&c->y, ya), Y1 = pk__map(&c->y, yb);
      pk__set_rgb(cr, col, 1);
      cairo_rectangle(cr, X0, Y1, X1 - X0, Y0 - Y1);
      cairo_fill(cr);
    }
  }
  cairo_restore(cr);
}

static double bar_base(const pk__ctx *c) {
  return c->y.log ? c->y.lo : 0;
}

static void fill_rect_data(pk__ctx *c, double xa, double xb, double ya,
                           double yb) {
  double X0 = pk__map(&c->x, xa), X1 = pk__map(&c->x, xb);
  double Y0 = pk__map(&c->y, ya), Y1 = pk__map(&c->y, yb);
  cairo_rectangle(c->cr, fmin(X0, X1), fmin(Y0, Y1), fabs(X1 - X0),
                  fabs(Y1 - Y0));
}

static void draw_bars(pk__ctx *c) {
  const pk_bars *b = &c->p->bars;
  cairo_t *cr = c->cr;
  double group = 0.8, base = bar_base(c);
  for (size_t i = 0; i < b->ncat; i++) {
    double pos = base, neg = base;
    for (size_t k = 0; k < b->nseries; k++) {
      double v = b->values[i * b->nseries + k];
      if (!isfinite(v) || (c->y.log && !(v > 0)))
        continue;
      pk__set_rgb(cr, pk_palette_color(k), 1);
      if (b->stacked) {
        double *acc = v >= 0 ? &pos : &neg;
        fill_rect_data(c, (double)i - group / 2, (double)i + group / 2, *acc,
                       *acc + v);
        *acc += v;
      } else {
        double w = group / (double)b->nseries;
        double x0 = (double)i - group / 2 + w * (double)k;
        fill_rect_data(c, x0, x0 + w, base, v);
      }
      cairo_fill(cr);
    }
  }
}

static void draw_hist(pk__ctx *c) {
  const pk_hist *h = &c->p->hist;
  cairo_t *cr = c->cr;
  double base = bar_base(c);
  pk__set_rgb(cr, pk_palette_color(0), 1);
  for (size_t i = 0; i < h->nbins; i++) {
    double v = h->counts[i];
    if (!isfinite(v) || v == 0 || (c->y.log && !(v > 0)))
      continue;
    fill_rect_data(c, h->edges[i], h->edges[i + 1], base, v);
  }
  cairo_fill(cr);
  /* Hairline white separators make neighbouring bins countable. */
  if (h->nbins <= 200) {
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_set_line_width(cr, 0.5 * c->s);
    for (size_t i = 1; i < h->nbins; i++) {
      double X = pk__map(&c->x, h->edges[i]);
      double top = fmax(h->counts[i - 1], h->counts[i]);
      if (!(top > base))
        continue;
      cairo_move_to(cr, X, pk__map(&c->y, base));
      cairo_line_to(cr, X, pk__map(&c->y, top));
    }
    cairo_stroke(cr);
  }
}

static void hline(pk__ctx *c, double xa, double xb, double y) {
  double Y = pk__map(&c->y, y);
  cairo_move_to(c->cr, pk__map(&c->x, xa), Y);
  cairo_line_to(c->cr, pk__map(&c->x, xb), Y);
}

static void vline(pk__ctx *c, double x, double ya, double yb) {
  double X = pk__map(&c->x, x);
  cairo_move_to(c->cr, X, pk__map(&c->y, ya));
  cairo_line_to(c->cr, X, pk__map(&c->y, yb));
}

static void draw_boxes(pk__ctx *c) {
  const pk_plot *p = c->p;
  cairo_t *cr = c->cr;
  double s = c->s, hw = 0.3;
  cairo_set_line_cap(cr, CAIRO_LINE_CAP_BUTT);
  for (size_t i = 0; i < p->nboxes; i++) {
    const pk_box_group *bg = &p->boxes[i];
    double x = (double)i;
    pk__set_rgb(cr, pk_palette_color(i), 1);
    fill_rect_data(c, x - hw, x + hw, bg->q1, bg->q3);
    cairo_fill(cr);
    pk__set_rgb(cr, dark, 1);
    cairo_set_line_width(cr, 1.0 * s);
    fill_rect_data(c, x - hw, x + hw, bg->q1, bg->q3);
    vline(c, x, bg->q3, bg->whisker_hi);
    vline(c, x, bg->q1, bg->whisker_lo);
    hline(c, x - hw / 2, x + hw / 2, bg->whisker_hi);
    hline(c, x - hw / 2, x + hw / 2, bg->whisker_lo);
    cairo_stroke(cr);
    cairo_set_line_width(cr, 2.0 * s);
    hline(c, x - hw, x + hw, bg->median);
    cairo_stroke(cr);
    cairo_set_line_width(cr, 0.8 * s);
    for (size_t k = 0; k < bg->noutliers; k++) {
      double v = bg->outliers[k];
      if (!isfinite(v) || (c->y.log && !(v > 0)))
        continue;
      cairo_new_sub_path(cr);
      cairo_arc(cr, pk__map(&c->x, x), pk__map(&c->y, v), 2.0 * s, 0, 2 * G_PI);
    }
    cairo_stroke(cr);
  }
}

static void draw_violins(pk__ctx *c) {
  const pk_plot *p = c->p;
  cairo_t *cr = c->cr;
  double s = c->s, dmax = 0, hw = 0.4;
  /* One scale for all groups, so widths compare across groups. */
  for (size_t i = 0; i < p->nviolins; i++)
    for (size_t k = 0; k < p->violins[i].n; k++)
      if (isfinite(p->violins[i].density[k]))
        dmax = fmax(dmax, p->violins[i].density[k]);
  if (!(dmax > 0))
    dmax = 1;
  for (size_t i = 0; i < p->nviolins; i++) {
    const pk_violin_group *vg = &p->violins[i];
    double x = (double)i;
    size_t n = 0;
    for (size_t k = 0; k < vg->n; k++) {
      double d = isfinite(vg->density[k]) ? vg->density[k] : 0;
      if (!point_ok(c, x, vg->y[k]))
        continue;
      double X = pk__map(&c->x, x + d / dmax * hw),
             Y = pk__map(&c->y, vg->y[k]);
      if (n++ == 0)
        cairo_move_to(cr, X, Y);
      else
        cairo_line_to(cr, X, Y);
    }
    for (size_t k = vg->n; k-- > 0;) {
      double d = isfinite(vg->density[k]) ? vg->density[k] : 0;
      if (!point_ok(c, x, vg->y[k]))
        continue;
      cairo_line_to(cr, pk__map(&c->x, x - d / dmax * hw),
                    pk__map(&c->y, vg->y[k]));
    }
    cairo_close_path(cr);
    pk__set_rgb(cr, pk_palette_color(i), 1);
    cairo_fill_preserve(cr);
    pk__set_rgb(cr, dark, 1);
    cairo_set_line_width(cr, 0.8 * s);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    cairo_stroke(cr);
    /* Inner box: the interquartile range as a thick bar, median as a white
     * dot. */
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_BUTT);
    cairo_set_line_width(cr, 4.0 * s);
    vline(c, x, vg->q1, vg->q3);
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_arc(cr, pk__map(&c->x, x), pk__map(&c->y, vg->median), 1.8 * s, 0,
              2 * G_PI);
    cairo_fill(cr);
  }
}

void pk__kind_draw(pk__ctx *c) {
  cairo_t *cr = c->cr;
  cairo_save(cr);
  cairo_rectangle(cr, c->px, c->py, c->pw, c->ph);
  cairo_clip(cr);
  switch (c->p->kind) {
  case PK_PLOT_SCATTER:
    draw_points(c);
    break;
  case PK_PLOT_LINE:
    draw_lines(c, 0);
    break;
  case PK_PLOT_AREA:
    draw_lines(c, 1);
    break;
  case PK_PLOT_DENSITY:
  case PK_PLOT_HEATMAP:
    draw_grid(c);
    break;
  case PK_PLOT_BAR:
    draw_bars(c);
    break;
  case PK_PLOT_HISTOGRAM:
    draw_hist(c);
    break;
  case PK_PLOT_BOX:
    draw_boxes(c);
    break;
  case PK_PLOT_VIOLIN:
    draw_violins(c);
    break;
  default:
    break;
  }
  cairo_restore(cr);
}
