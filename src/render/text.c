/*
 * text.c — measuring and drawing labels with pango.
 */
#include "render/render_int.h"

static PangoLayout *make_layout(pk__ctx *c, const char *text, double size_pt,
                                int bold) {
  PangoLayout *l = pango_layout_new(c->pango);
  pango_font_description_set_size(c->font, (gint)(size_pt * PANGO_SCALE));
  pango_font_description_set_weight(c->font, bold ? PANGO_WEIGHT_BOLD
                                                  : PANGO_WEIGHT_NORMAL);
  pango_layout_set_font_description(l, c->font);
  /* set_text, not markup: titles are user text and may hold '<'. */
  pango_layout_set_text(l, text ? text : "", -1);
  return l;
}

static void logical_size(PangoLayout *l, double *w, double *h) {
  PangoRectangle ink, logical;
  pango_layout_get_extents(l, &ink, &logical);
  *w = (double)logical.width / PANGO_SCALE;
  *h = (double)logical.height / PANGO_SCALE;
}

void pk__text_size(pk__ctx *c, const char *text, double size_pt, int bold,
                   double *w, double *h) {
  if (!text || !*text) {
    *w = *h = 0;
    return;
  }
  PangoLayout *l = make_layout(c, text, size_pt, bold);
  logical_size(l, w, h);
  g_object_unref(l);
}

void pk__text_draw(pk__ctx *c, const char *text, double size_pt, int bold,
                   double x, double y, double ax, double ay, double angle) {
  double w, h;
  if (!text || !*text)
    return;
  PangoLayout *l = make_layout(c, text, size_pt, bold);
  logical_size(l, &w, &h);
  cairo_save(c->cr);
  cairo_translate(c->cr, x, y);
  if (angle != 0)
    cairo_rotate(c->cr, -angle * G_PI / 180.0);
  cairo_move_to(c->cr, -ax * w, -ay * h);
  pango_cairo_update_layout(c->cr, l);
  pango_cairo_show_layout(c->cr, l);
  cairo_restore(c->cr);
  g_object_unref(l);
}

void pk__set_rgb(cairo_t *cr, pk_rgb c, double alpha) {
  if (alpha >= 1)
    cairo_set_source_rgb(cr, c.r, c.g, c.b);
  else
    cairo_set_source_rgba(cr, c.r, c.g, c.b, alpha);
}
