/*
 * layout.c — axis ranges, ticks, margins from measured text, and drawing
 * of everything that is not data: background, grid, axes, labels, titles,
 * legend and colour bar.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "render/render_int.h"

/* The default theme. */
static const pk_rgb ink = {0.13, 0.13, 0.13};      /* text */
static const pk_rgb axis_ink = {0.25, 0.25, 0.25}; /* spines, ticks */
static const pk_rgb grid_ink = {0.88, 0.88, 0.88};
static const pk_rgb minor_ink = {0.945, 0.945, 0.945};

void pk__extent_add(pk__extent *e, double v, int log) {
  if (!isfinite(v) || (log && !(v > 0)))
    return;
  if (!e->any) {
    e->lo = e->hi = v;
    e->any = 1;
  } else {
    e->lo = fmin(e->lo, v);
    e->hi = fmax(e->hi, v);
  }
}

double pk__map(const pk__axis *a, double raw) {
  double v = raw * a->vscale, t;
  if (a->log)
    t = (log10(v) - log10(a->lo)) / (log10(a->hi) - log10(a->lo));
  else
    t = (v - a->lo) / (a->hi - a->lo);
  return a->p0 + t * (a->p1 - a->p0);
}

/* How each kind pads its data range. */
typedef struct pad_rule {
  int x_pad, y_pad, y_zero, x_zero;
} pad_rule;

static pad_rule rule_for(pk_plot_kind k) {
  switch (k) {
  case PK_PLOT_SCATTER:
  case PK_PLOT_LINE:
    return (pad_rule){1, 1, 0, 0};
  case PK_PLOT_AREA:
    return (pad_rule){1, 1, 1, 0};
  case PK_PLOT_BAR:
  case PK_PLOT_HISTOGRAM:
    return (pad_rule){0, 1, 1, 0};
  case PK_PLOT_BOX:
  case PK_PLOT_VIOLIN:
    return (pad_rule){0, 1, 0, 0};
  default:
    return (pad_rule){0, 0, 0, 0};
  }
}

/* Resolves an axis's final range (in seconds for time axes). */
static void resolve_range(pk__axis *a, const pk_axis *spec, pk__extent ext,
                          int pad, int zero) {
  a->log = spec->scale == PK_SCALE_LOG;
  a->time = spec->scale == PK_SCALE_TIME;
  a->vscale = a->time && spec->time_unit == PK_TIME_MICROS ? 1e-6 : 1;
  if (spec->fixed) {
    a->lo = spec->min * a->vscale;
    a->hi = spec->max * a->vscale;
    return;
  }
  if (!ext.any) {
    a->lo = a->log ? 1 : 0;
    a->hi = a->log ? 10 : a->time ? 86400 : 1;
    return;
  }
  double lo = ext.lo * a->vscale, hi = ext.hi * a->vscale;
  if (a->log) {
    double l0 = log10(lo), l1 = log10(hi);
    if (l0 == l1) {
      l0 -= 0.5;
      l1 += 0.5;
    } else if (pad) {
      double d = (l1 - l0) * 0.04;
      l0 -= d;
      l1 += d;
    }
    a->lo = pow(10, l0);
    a->hi = pow(10, l1);
    return;
  }
  if (zero && !a->time) {
    lo = fmin(lo, 0);
    hi = fmax(hi, 0);
  }
  if (lo == hi) {
    double d = a->time ? 3600 : lo == 0 ? 1 : fabs(lo) / 10;
    lo -= d;
    hi += d;
  } else if (pad) {
    double d = (hi - lo) * 0.04;
    if (!(zero && lo == 0))
      lo -= d;
    if (!(zero && hi == 0))
      hi += d;
  }
  a->lo = lo;
  a->hi = hi;
}

static void axis_ticks(pk__axis *a, double length_pt, double per_tick_pt) {
  int target = (int)lrint(length_pt / per_tick_pt);
  if (target < 4)
    target = 4;
  if (a->log)
    pk_ticks_log(a->lo, a->hi, target, &a->ticks);
  else if (a->time)
    pk_ticks_time(a->lo, a->hi, target, &a->ticks);
  else
    pk_ticks_linear(a->lo, a->hi, target, &a->ticks);
}

static int has_text(const char *s) {
  return s && *s;
}

static double max_label_w(pk__ctx *c, const pk_ticks *t, double *h) {
  double mw = 0, lw, lh;
  *h = 0;
  for (size_t i = 0; i < t->n; i++) {
    pk__text_size(c, t->label[i], PK__FONT_TICK, 0, &lw, &lh);
    mw = fmax(mw, lw);
    *h = fmax(*h, lh);
  }
  return mw;
}

/* Width of the legend block (0 when there is none). */
static double legend_width(pk__ctx *c) {
  double mw = 0, w, h;
  if (c->nlegend == 0)
    return 0;
  for (size_t i = 0; i < c->nlegend; i++) {
    pk__text_size(c, c->legend[i].label, PK__FONT_TICK, 0, &w, &h);
    mw = fmax(mw, w);
  }
  return (18 + 5) * c->s + mw;
}

static double cbar_width(pk__ctx *c) {
  double lh, tw = 0, th = 0;
  if (!c->cbar)
    return 0;
  double lw = max_label_w(c, &c->cb_ticks, &lh);
  pk__text_size(c, c->cb_title, PK__FONT_AXIS, 0, &tw, &th);
  return (12 + PK__TICK_LEN + 3) * c->s + lw + (th > 0 ? 6 * c->s + th : 0);
}

static void cbar_ticks(pk__ctx *c, double length_pt) {
  int target = (int)lrint(length_pt / 45);
  target = target < 3 ? 3 : target;
  if (c->cb_log)
    pk_ticks_log(c->cb_lo, c->cb_hi, target, &c->cb_ticks);
  else
    pk_ticks_linear(c->cb_lo, c->cb_hi, target, &c->cb_ticks);
}

/* Category label geometry: rotate when labels overlap, thin out when even
 * rotated labels would collide. Returns the band height below the ticks. */
static double cat_band(pk__ctx *c) {
  double mw = 0, mh = 0, w, h;
  for (size_t i = 0; i < c->ncat; i++) {
    pk__text_size(c, c->cat[i], PK__FONT_TICK, 0, &w, &h);
    mw = fmax(mw, w);
    mh = fmax(mh, h);
  }
  double slot = c->pw / (double)(c->ncat ? c->ncat : 1);
  c->cat_rotate = mw > slot - 4 * c->s;
  c->cat_every = 1;
  if (c->cat_rotate) {
    double need = mh * 1.6;
    while (slot * (double)c->cat_every < need && c->cat_every < c->ncat)
      c->cat_every++;
    return (mw + mh) * 0.7071;
  }
  return mh;
}

int pk__layout(pk__ctx *c, pk_errmsg *e) {
  const pk_plot *p = c->p;
  pk__extent xe = {0}, ye = {0}, cb = {0};
  int r = pk__kind_extents(c, &xe, &ye, &cb, e);
  if (r != PK_OK)
    return r;
  pad_rule pr = rule_for(p->kind);
  if (c->ncat) {
    c->x.cat = 1;
    c->x.vscale = 1;
    c->x.lo = -0.5;
    c->x.hi = (double)c->ncat - 0.5;
  } else {
    resolve_range(&c->x, &p->x, xe, pr.x_pad, pr.x_zero);
  }
  resolve_range(&c->y, &p->y, ye, pr.y_pad, pr.y_zero);
  if (cb.any) {
    c->cbar = 1;
    c->cb_lo = cb.lo;
    c->cb_hi = cb.hi;
    if (c->cb_lo == c->cb_hi) {
      c->cb_lo = c->cb_log ? c->cb_lo / 10 : c->cb_lo - 1;
      c->cb_hi = c->cb_log ? c->cb_hi * 10 : c->cb_hi + 1;
      if (!c->cb_log && cb.lo >= 0 && c->cb_lo < 0) {
        c->cb_lo = 0; /* counts never go negative */
      }
    }
  }

  double s = c->s, pad = PK__PAD * s, tl = PK__TICK_LEN * s;
  double tw, th, xt_w, xt_h, yt_w, yt_h, lh = 0;
  pk__text_size(c, p->title, PK__FONT_TITLE, 1, &tw, &th);
  pk__text_size(c, p->x.title, PK__FONT_AXIS, 0, &xt_w, &xt_h);
  pk__text_size(c, p->y.title, PK__FONT_AXIS, 0, &yt_w, &yt_h);
  (void)tw;
  (void)xt_w;
  (void)yt_w;

  /* Two passes: tick counts depend on the plot size, which depends on the
   * widths of the tick labels. */
  double left = 60 * s, right = 20 * s, top = 20 * s, bottom = 45 * s;
  for (int pass = 0; pass < 2; pass++) {
    c->pw = fmax(c->W - left - right, 10 * s);
    c->ph = fmax(c->H - top - bottom, 10 * s);
    if (!c->x.cat)
      axis_ticks(&c->x, c->pw / s, 60);
    axis_ticks(&c->y, c->ph / s, 40);
    if (c->cbar)
      cbar_ticks(c, c->ph / s);
    double ylw = max_label_w(c, &c->y.ticks, &lh);
    double xband, xlw = 0;
    if (c->x.cat) {
      xband = cat_band(c);
    } else {
      xlw = max_label_w(c, &c->x.ticks, &xband);
    }
    left = pad + (yt_h > 0 ? yt_h + 6 * s : 0) + ylw + 3 * s + tl;
    left = fmax(left, pad + xlw / 2);
    bottom = pad + (xt_h > 0 ? xt_h + 5 * s : 0) + xband + 3 * s + tl;
    top = pad + (th > 0 ? th + 8 * s : lh / 2);
    right = pad + xlw / 2;
    double lg = legend_width(c), cbw = cbar_width(c);
    if (lg > 0)
      right = fmax(right, pad + 12 * s + lg);
    if (cbw > 0)
      right = fmax(right, pad + 12 * s + cbw);
  }
  c->px = left;
  c->py = top;
  c->pw = fmax(c->W - left - right, 10 * s);
  c->ph = fmax(c->H - top - bottom, 10 * s);
  c->x.p0 = c->px;
  c->x.p1 = c->px + c->pw;
  c->y.p0 = c->py + c->ph;
  c->y.p1 = c->py;
  return PK_OK;
}

void pk__draw_background(pk__ctx *c) {
  cairo_t *cr = c->cr;
  double s = c->s;
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_save(cr);
  cairo_rectangle(cr, c->px, c->py, c->pw, c->ph);
  cairo_clip(cr);
  cairo_set_line_cap(cr, CAIRO_LINE_CAP_BUTT);
  /* Minor grid (log axes) under the major grid. */
  cairo_set_line_width(cr, 0.5 * s);
  pk__set_rgb(cr, minor_ink, 1);
  for (size_t i = 0; i < c->y.ticks.nminor; i++) {
    double y = pk__map(&c->y, c->y.ticks.minor[i] / c->y.vscale);
    cairo_move_to(cr, c->px, y);
    cairo_line_to(cr, c->px + c->pw, y);
  }
  for (size_t i = 0; !c->x.cat && i < c->x.ticks.nminor; i++) {
    double x = pk__map(&c->x, c->x.ticks.minor[i] / c->x.vscale);
    cairo_move_to(cr, x, c->py);
    cairo_line_to(cr, x, c->py + c->ph);
  }
  cairo_stroke(cr);
  cairo_set_line_width(cr, 0.7 * s);
  pk__set_rgb(cr, grid_ink, 1);
  for (size_t i = 0; i < c->y.ticks.n; i++) {
    double y = pk__map(&c->y, c->y.ticks.v[i] / c->y.vscale);
    cairo_move_to(cr, c->px, y);
    cairo_line_to(cr, c->px + c->pw, y);
  }
  for (size_t i = 0; !c->x.cat && i < c->x.ticks.n; i++) {
    double x = pk__map(&c->x, c->x.ticks.v[i] / c->x.vscale);
    cairo_move_to(cr, x, c->py);
    cairo_line_to(cr, x, c->py + c->ph);
  }
  cairo_stroke(cr);
  cairo_restore(cr);
}

static void draw_legend(pk__ctx *c) {
  cairo_t *cr = c->cr;
  double s = c->s, x = c->px + c->pw + 12 * s, y = c->py, w, h;
  for (size_t i = 0; i < c->nlegend; i++) {
    pk__text_size(c, c->legend[i].label, PK__FONT_TICK, 0, &w, &h);
    double cy = y + h / 2;
    pk__set_rgb(cr, c->legend[i].color, 1);
    if (c->legend_style == PK__SW_LINE) {
      cairo_set_line_width(cr, 2 * s);
      cairo_move_to(cr, x, cy);
      cairo_line_to(cr, x + 18 * s, cy);
      cairo_stroke(cr);
    } else if (c->legend_style == PK__SW_POINT) {
      cairo_arc(cr, x + 9 * s, cy, 3 * s, 0, 2 * G_PI);
      cairo_fill(cr);
    } else {
      cairo_rectangle(cr, x + 3 * s, cy - 6 * s, 12 * s, 12 * s);
      cairo_fill(cr);
    }
    pk__set_rgb(cr, ink, 1);
    pk__text_draw(c, c->legend[i].label, PK__FONT_TICK, 0, x + 23 * s, cy, 0,
                  0.5, 0);
    y += fmax(h, 12 * s) + 4 * s;
  }
}

static double cb_map(const pk__ctx *c, double v, double y0, double y1) {
  double t = c->cb_log ? (log10(v) - log10(c->cb_lo)) /
                             (log10(c->cb_hi) - log10(c->cb_lo))
                       : (v - c->cb_lo) / (c->cb_hi - c->cb_lo);
  return y0 + t * (y1 - y0);
}

static void draw_colorbar(pk__ctx *c) {
  cairo_t *cr = c->cr;
  double s = c->s, bx = c->px + c->pw + 12 * s, bw = 12 * s;
  double y0 = c->py + c->ph, y1 = c->py;
  /* The ramp as a 1 x 256 image, nearest-sampled: every entry of the table
   * shows, and the top row is exactly the map's last colour. */
  cairo_surface_t *img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 256);
  unsigned char *data = cairo_image_surface_get_data(img);
  int stride = cairo_image_surface_get_stride(img);
  cairo_surface_flush(img);
  for (int i = 0; i < 256; i++) {
    pk_rgb col = pk_colormap_entry(c->p->colormap, 255 - i);
    uint32_t px = 0xff000000u | (uint32_t)lrint(col.r * 255) << 16 |
                  (uint32_t)lrint(col.g * 255) << 8 |
                  (uint32_t)lrint(col.b * 255);
    memcpy(data + (size_t)i * (size_t)stride, &px, 4);
  }
  cairo_surface_mark_dirty(img);
  cairo_save(cr);
  cairo_rectangle(cr, bx, y1, bw, y0 - y1);
  cairo_clip(cr);
  cairo_translate(cr, bx, y1);
  cairo_scale(cr, bw, (y0 - y1) / 256.0);
  cairo_set_source_surface(cr, img, 0, 0);
  cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
  cairo_paint(cr);
  cairo_restore(cr);
  cairo_surface_destroy(img);

  pk__set_rgb(cr, axis_ink, 1);
  cairo_set_line_width(cr, 0.8 * s);
  double mw = 0, w, h;
  for (size_t i = 0; i < c->cb_ticks.n; i++) {
    double y = cb_map(c, c->cb_ticks.v[i], y0, y1);
    cairo_move_to(cr, bx + bw, y);
    cairo_line_to(cr, bx + bw + PK__TICK_LEN * s, y);
  }
  cairo_stroke(cr);
  pk__set_rgb(cr, ink, 1);
  for (size_t i = 0; i < c->cb_ticks.n; i++) {
    double y = cb_map(c, c->cb_ticks.v[i], y0, y1);
    pk__text_draw(c, c->cb_ticks.label[i], PK__FONT_TICK, 0,
                  bx + bw + (PK__TICK_LEN + 3) * s, y, 0, 0.5, 0);
    pk__text_size(c, c->cb_ticks.label[i], PK__FONT_TICK, 0, &w, &h);
    mw = fmax(mw, w);
  }
  if (has_text(c->cb_title))
    pk__text_draw(c, c->cb_title, PK__FONT_AXIS, 0,
                  bx + bw + (PK__TICK_LEN + 3 + 6) * s + mw, (y0 + y1) / 2, 0.5,
                  1, -90);
}

void pk__draw_axes(pk__ctx *c) {
  cairo_t *cr = c->cr;
  double s = c->s, tl = PK__TICK_LEN * s;
  double bottom = c->py + c->ph, left = c->px;
  const pk_plot *p = c->p;

  cairo_set_line_cap(cr, CAIRO_LINE_CAP_SQUARE);
  pk__set_rgb(cr, axis_ink, 1);
  cairo_set_line_width(cr, 0.8 * s);
  cairo_move_to(cr, left, c->py);
  cairo_line_to(cr, left, bottom);
  cairo_line_to(cr, left + c->pw, bottom);
  cairo_stroke(cr);
  cairo_set_line_cap(cr, CAIRO_LINE_CAP_BUTT);
  for (size_t i = 0; i < c->y.ticks.n; i++) {
    double y = pk__map(&c->y, c->y.ticks.v[i] / c->y.vscale);
    cairo_move_to(cr, left, y);
    cairo_line_to(cr, left - tl, y);
  }
  size_t nx = c->x.cat ? c->ncat : c->x.ticks.n;
  for (size_t i = 0; i < nx; i++) {
    double x = c->x.cat ? pk__map(&c->x, (double)i)
                        : pk__map(&c->x, c->x.ticks.v[i] / c->x.vscale);
    cairo_move_to(cr, x, bottom);
    cairo_line_to(cr, x, bottom + tl);
  }
  cairo_stroke(cr);

  /* Tick labels. */
  double ylw = 0, w, h, xband = 0;
  pk__set_rgb(cr, ink, 1);
  for (size_t i = 0; i < c->y.ticks.n; i++) {
    double y = pk__map(&c->y, c->y.ticks.v[i] / c->y.vscale);
    pk__text_draw(c, c->y.ticks.label[i], PK__FONT_TICK, 0, left - tl - 3 * s,
                  y, 1, 0.5, 0);
    pk__text_size(c, c->y.ticks.label[i], PK__FONT_TICK, 0, &w, &h);
    ylw = fmax(ylw, w);
  }
  if (c->x.cat) {
    for (size_t i = 0; i < c->ncat; i += c->cat_every) {
      double x = pk__map(&c->x, (double)i);
      if (c->cat_rotate)
        pk__text_draw(c, c->cat[i], PK__FONT_TICK, 0, x, bottom + tl + 3 * s, 1,
                      0.5, 45);
      else
        pk__text_draw(c, c->cat[i], PK__FONT_TICK, 0, x, bottom + tl + 3 * s,
                      0.5, 0, 0);
    }
    xband = cat_band(c);
  } else {
    for (size_t i = 0; i < c->x.ticks.n; i++) {
      double x = pk__map(&c->x, c->x.ticks.v[i] / c->x.vscale);
      pk__text_draw(c, c->x.ticks.label[i], PK__FONT_TICK, 0, x,
                    bottom + tl + 3 * s, 0.5, 0, 0);
      pk__text_size(c, c->x.ticks.label[i], PK__FONT_TICK, 0, &w, &h);
      xband = fmax(xband, h);
    }
  }

  /* Titles. */
  if (has_text(p->x.title))
    pk__text_draw(c, p->x.title, PK__FONT_AXIS, 0, c->px + c->pw / 2,
                  bottom + tl + 3 * s + xband + 5 * s, 0.5, 0, 0);
  if (has_text(p->y.title))
    pk__text_draw(c, p->y.title, PK__FONT_AXIS, 0,
                  left - tl - 3 * s - ylw - 6 * s, c->py + c->ph / 2, 0.5, 1,
                  90);
  if (has_text(p->title)) {
    /* Centred over the plot area, but kept on the canvas when it is wider
     * than the plot area. */
    double tw, th, cx = c->px + c->pw / 2;
    pk__text_size(c, p->title, PK__FONT_TITLE, 1, &tw, &th);
    cx = fmin(cx, c->W - PK__PAD * s - tw / 2);
    cx = fmax(cx, PK__PAD * s + tw / 2);
    pk__text_draw(c, p->title, PK__FONT_TITLE, 1, cx, PK__PAD * s, 0.5, 0, 0);
  }
  if (c->nlegend)
    draw_legend(c);
  if (c->cbar)
    draw_colorbar(c);
}
