/*
 * render_int.h — the renderer's internal interfaces (not installed).
 *
 * render.c owns the entry points and the output files; layout.c measures
 * and places everything and draws the axes, grid, legend and colour bar;
 * kinds.c computes each kind's data extents and draws its marks; text.c
 * wraps pango. They share one pk__ctx per call.
 */
#ifndef PIKA_RENDER_RENDER_INT_H
#define PIKA_RENDER_RENDER_INT_H

#include <cairo.h>
#include <pango/pangocairo.h>

#include "render/render.h"
#include "render/ticks.h"

/* Font sizes and spacings in points. */
#define PK__FONT_TICK 9.0
#define PK__FONT_AXIS 10.5
#define PK__FONT_TITLE 13.0
#define PK__PAD 8.0
#define PK__TICK_LEN 4.0

/* A data extent: lo/hi over finite values (positive only on log axes). */
typedef struct pk__extent {
  double lo, hi;
  int any;
} pk__extent;

void pk__extent_add(pk__extent *e, double v, int log);

typedef struct pk__axis {
  double lo, hi;      /* final range, in seconds for time axes */
  double vscale;      /* multiplies raw data values (1e-6 for micros) */
  int log, time, cat; /* cat: categorical (categories at 0..ncat-1) */
  double p0, p1;      /* output coordinates of lo and hi */
  pk_ticks ticks;
} pk__axis;

/* Legend swatch styles. */
enum { PK__SW_BOX, PK__SW_LINE, PK__SW_POINT };

typedef struct pk__legend_item {
  const char *label;
  pk_rgb color;
} pk__legend_item;

typedef struct pk__ctx {
  cairo_t *cr;
  PangoContext *pango;
  PangoFontDescription *font;
  double s;    /* output units per point */
  double W, H; /* canvas */
  const pk_plot *p;
  pk__axis x, y;
  double px, py, pw, ph; /* plot area */

  /* categorical x labels (bar, box, violin); ncat 0 otherwise */
  size_t ncat;
  const char **cat;
  int cat_rotate;   /* labels drawn at 45 degrees */
  size_t cat_every; /* label every n-th category */

  /* colour bar */
  int cbar;
  double cb_lo, cb_hi;
  int cb_log;
  pk_ticks cb_ticks;
  const char *cb_title;

  /* legend */
  size_t nlegend;
  pk__legend_item *legend;
  int legend_style;
} pk__ctx;

/* text.c: one-line UTF-8 text through pango. (ax, ay) anchor the text's
 * logical box: 0 = left/top, 0.5 = centre, 1 = right/bottom; angle in
 * degrees, counter-clockwise, about the anchor. */
void pk__text_size(pk__ctx *c, const char *text, double size_pt, int bold,
                   double *w, double *h);
void pk__text_draw(pk__ctx *c, const char *text, double size_pt, int bold,
                   double x, double y, double ax, double ay, double angle);

/* layout.c */
double pk__map(const pk__axis *a, double raw);
int pk__layout(pk__ctx *c, pk_errmsg *e);
void pk__draw_background(pk__ctx *c);
void pk__draw_axes(pk__ctx *c);

/* kinds.c */
/* Fills the data extents of p on each axis (raw units), the colour bar's
 * value range (cb->any 0 when the kind has none) and the legend. */
int pk__kind_extents(pk__ctx *c, pk__extent *xe, pk__extent *ye, pk__extent *cb,
                     pk_errmsg *e);
void pk__kind_draw(pk__ctx *c);
pk_rgb pk__cbar_color(const pk__ctx *c, double v, int *blank);

void pk__set_rgb(cairo_t *cr, pk_rgb c, double alpha);

#endif /* PIKA_RENDER_RENDER_INT_H */
