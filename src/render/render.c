/*
 * render.c — entry points: model validation, cairo/pango setup per call,
 * PNG in memory, and files written atomically (temp sibling + rename).
 */
#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "render/render_int.h"

static const char *const kind_names[PK_PLOT_KIND_COUNT] = {
    "scatter",   "density", "line", "area",  "bar",
    "histogram", "heatmap", "box",  "violin"};

const char *pk_plot_kind_name(pk_plot_kind k) {
  if ((int)k < 0 || k >= PK_PLOT_KIND_COUNT)
    return NULL;
  return kind_names[k];
}

void pk_render_info_map(const pk_render_info *info, double x, double y,
                        double *px, double *py) {
  double tx = info->x_log ? (log10(x) - log10(info->x_lo)) /
                                (log10(info->x_hi) - log10(info->x_lo))
                          : (x - info->x_lo) / (info->x_hi - info->x_lo);
  double ty = info->y_log ? (log10(y) - log10(info->y_lo)) /
                                (log10(info->y_hi) - log10(info->y_lo))
                          : (y - info->y_lo) / (info->y_hi - info->y_lo);
  *px = info->plot_x + tx * info->plot_w;
  *py = info->plot_y + (1 - ty) * info->plot_h;
}

void pk_render_global_cleanup(void) {
  /* The font map must go first: it holds fontconfig patterns and cairo
   * font faces. */
  pango_cairo_font_map_set_default(NULL);
  cairo_debug_reset_static_data();
  /* fontconfig's own configuration is freed only by FcFini. We do not link
   * fontconfig directly (pango does), so look the symbol up; where pango
   * uses another font backend it is simply absent. The void ** store is
   * POSIX's sanctioned way to turn dlsym's result into a function. */
  void (*fc_fini)(void) = NULL;
  *(void **)&fc_fini = dlsym(RTLD_DEFAULT, "FcFini");
  if (fc_fini)
    fc_fini();
}

/* ---- validation ------------------------------------------------------------
 */

static int bad(pk_errmsg *e, const char *what, const char *kind) {
  return pk_errmsg_set(e, PK_EINVAL, "invalid %s plot: %s", kind, what);
}

static int check_axis(const pk_axis *a, const char *name, const char *kind,
                      pk_errmsg *e) {
  if ((int)a->scale < 0 || a->scale > PK_SCALE_TIME)
    return pk_errmsg_set(e, PK_EINVAL, "invalid %s plot: unknown %s scale",
                         kind, name);
  if (!a->fixed)
    return PK_OK;
  if (!isfinite(a->min) || !isfinite(a->max) || !(a->min < a->max))
    return pk_errmsg_set(e, PK_EINVAL,
                         "invalid %s plot: %s range %g:%g must be finite "
                         "with min < max",
                         kind, name, a->min, a->max);
  if (a->scale == PK_SCALE_LOG && !(a->min > 0))
    return pk_errmsg_set(e, PK_EINVAL,
                         "invalid %s plot: log %s range must be positive "
                         "(got %g:%g)",
                         kind, name, a->min, a->max);
  return PK_OK;
}

static int ascending(const double *v, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!isfinite(v[i]) || (i > 0 && !(v[i] > v[i - 1])))
      return 0;
  return 1;
}

int pk_plot_validate(const pk_plot *p, pk_errmsg *e) {
  if (!p)
    return pk_errmsg_set(e, PK_EINVAL, "no plot model");
  const char *kind = pk_plot_kind_name(p->kind);
  int r;
  if (!kind)
    return pk_errmsg_set(e, PK_EINVAL, "unknown plot kind %d", (int)p->kind);
  if ((int)p->colormap < 0 || p->colormap >= PK_COLORMAP_COUNT)
    return bad(e, "unknown colour map", kind);
  if ((r = check_axis(&p->x, "x", kind, e)) ||
      (r = check_axis(&p->y, "y", kind, e)))
    return r;
  if (!(p->point_size >= 0 && p->point_size <= 100) ||
      !(p->line_width >= 0 && p->line_width <= 100))
    return bad(e, "point size and line width must be in 0..100 pt", kind);
  switch (p->kind) {
  case PK_PLOT_SCATTER:
  case PK_PLOT_LINE:
  case PK_PLOT_AREA:
    if (p->nseries > 0 && !p->series)
      return bad(e, "series is NULL", kind);
    for (size_t i = 0; i < p->nseries; i++)
      if (p->series[i].n > 0 && (!p->series[i].x || !p->series[i].y))
        return pk_errmsg_set(
            e, PK_EINVAL, "invalid %s plot: series %zu has no x or y", kind, i);
    return PK_OK;
  case PK_PLOT_DENSITY:
  case PK_PLOT_HEATMAP: {
    const pk_grid *g = &p->grid;
    if (g->nx == 0 || g->ny == 0 || !g->v)
      return bad(e, "the grid needs nx, ny > 0 and values", kind);
    if (g->nx > (1u << 15) || g->ny > (1u << 15))
      return bad(e, "the grid is larger than 32768 cells on a side", kind);
    if (g->xedges && !ascending(g->xedges, g->nx + 1))
      return bad(e, "x edges must be finite and strictly ascending", kind);
    if (g->yedges && !ascending(g->yedges, g->ny + 1))
      return bad(e, "y edges must be finite and strictly ascending", kind);
    if ((!g->xedges &&
         !(isfinite(g->x0) && isfinite(g->x1) && g->x0 < g->x1)) ||
        (!g->yedges && !(isfinite(g->y0) && isfinite(g->y1) && g->y0 < g->y1)))
      return bad(e, "grid bounds must be finite with x0 < x1 and y0 < y1",
                 kind);
    if ((int)g->value < 0 || g->value > PK_GRID_MEAN)
      return bad(e, "unknown grid value kind", kind);
    return PK_OK;
  }
  case PK_PLOT_BAR: {
    const pk_bars *b = &p->bars;
    if (b->ncat == 0 || b->nseries == 0 || !b->values || !b->categories)
      return bad(e, "bars need categories, series and values", kind);
    if (p->y.scale == PK_SCALE_LOG && b->stacked)
      return bad(e, "stacked bars cannot use a log y axis", kind);
    return PK_OK;
  }
  case PK_PLOT_HISTOGRAM:
    if (p->hist.nbins == 0 || !p->hist.edges || !p->hist.counts)
      return bad(e, "a histogram needs bins, edges and counts", kind);
    if (!ascending(p->hist.edges, p->hist.nbins + 1))
      return bad(e, "bin edges must be finite and strictly ascending", kind);
    for (size_t i = 0; i < p->hist.nbins; i++)
      if (!(p->hist.counts[i] >= 0))
        return bad(e, "bin counts must be non-negative numbers", kind);
    return PK_OK;
  case PK_PLOT_BOX:
    if (p->nboxes == 0 || !p->boxes)
      return bad(e, "no box groups", kind);
    for (size_t i = 0; i < p->nboxes; i++) {
      const pk_box_group *b = &p->boxes[i];
      if (!(b->whisker_lo <= b->q1 && b->q1 <= b->median &&
            b->median <= b->q3 && b->q3 <= b->whisker_hi) ||
          !isfinite(b->whisker_lo) || !isfinite(b->whisker_hi))
        return pk_errmsg_set(e, PK_EINVAL,
                             "invalid box plot: group %zu needs finite "
                             "whisker_lo <= q1 <= median <= q3 <= whisker_hi",
                             i);
      if (b->noutliers > 0 && !b->outliers)
        return bad(e, "outliers is NULL", kind);
    }
    return PK_OK;
  case PK_PLOT_VIOLIN:
    if (p->nviolins == 0 || !p->violins)
      return bad(e, "no violin groups", kind);
    for (size_t i = 0; i < p->nviolins; i++) {
      const pk_violin_group *v = &p->violins[i];
      if (v->n < 2 || !v->y || !v->density || !ascending(v->y, v->n))
        return pk_errmsg_set(e, PK_EINVAL,
                             "invalid violin plot: group %zu needs >= 2 "
                             "ascending finite y positions with densities",
                             i);
      if (!(v->q1 <= v->median && v->median <= v->q3))
        return pk_errmsg_set(e, PK_EINVAL,
                             "invalid violin plot: group %zu needs q1 <= "
                             "median <= q3",
                             i);
    }
    return PK_OK;
  default:
    return pk_errmsg_set(e, PK_EINVAL, "unknown plot kind %d", (int)p->kind);
  }
}

/* ---- drawing ------------------------------------------------------------- */

int pk_render_cairo(const pk_plot *p, void *cairo_context, double width,
                    double height, double scale, pk_render_info *info,
                    pk_errmsg *e) {
  cairo_t *cr = cairo_context;
  int r = pk_plot_validate(p, e);
  if (r != PK_OK)
    return r;
  if (!cr || !(width > 0) || !(height > 0) || !(scale > 0) ||
      !isfinite(width * height * scale))
    return pk_errmsg_set(e, PK_EINVAL,
                         "render target needs a context, a positive size and "
                         "scale");
  pk__ctx c = {0};
  c.cr = cr;
  c.p = p;
  c.s = scale;
  c.W = width;
  c.H = height;
  cairo_save(cr);
  c.pango = pango_cairo_create_context(cr);
  /* Font sizes are points: one point is `scale` user units. Metrics are
   * unhinted so that layout does not change with the output format. */
  pango_cairo_context_set_resolution(c.pango, 72.0 * scale);
  cairo_font_options_t *fo = cairo_font_options_create();
  cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
  cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_SLIGHT);
  cairo_font_options_set_antialias(fo, CAIRO_ANTIALIAS_GRAY);
  pango_cairo_context_set_font_options(c.pango, fo);
  cairo_font_options_destroy(fo);
  c.font = pango_font_description_from_string("DejaVu Sans");
  r = pk__layout(&c, e);
  if (r == PK_OK) {
    pk__draw_background(&c);
    pk__kind_draw(&c);
    pk__draw_axes(&c);
    if (info) {
      *info =
          (pk_render_info){c.px,   c.py,   c.pw,    c.ph,    c.x.lo,  c.x.hi,
                           c.y.lo, c.y.hi, c.x.log, c.y.log, c.cb_lo, c.cb_hi};
    }
  }
  pango_font_description_free(c.font);
  g_object_unref(c.pango);
  free(c.legend);
  free(c.cat);
  cairo_restore(cr);
  if (r == PK_OK && cairo_status(cr) != CAIRO_STATUS_SUCCESS)
    r = pk_errmsg_set(e, PK_ENOMEM, "drawing failed: %s",
                      cairo_status_to_string(cairo_status(cr)));
  return r;
}

static int check_size(int w, int h, double dpi, pk_errmsg *e) {
  if (w < 1 || h < 1 || w > 32768 || h > 32768)
    return pk_errmsg_set(e, PK_EINVAL,
                         "image size %dx%d is outside 1..32768 pixels", w, h);
  if (!(dpi >= 10 && dpi <= 2400))
    return pk_errmsg_set(e, PK_EINVAL, "dpi %g is outside 10..2400", dpi);
  return PK_OK;
}

/* Renders into a fresh image surface (the caller destroys it). */
static int render_image(const pk_plot *p, int w, int h, double dpi,
                        cairo_surface_t **out, pk_render_info *info,
                        pk_errmsg *e) {
  cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
  if (cairo_surface_status(surf) != CAIRO_STATUS_SUCCESS) {
    cairo_surface_destroy(surf);
    return pk_errmsg_set(e, PK_ENOMEM, "cannot allocate a %dx%d image", w, h);
  }
  cairo_t *cr = cairo_create(surf);
  int r = pk_render_cairo(p, cr, w, h, dpi / 72.0, info, e);
  cairo_destroy(cr);
  if (r != PK_OK) {
    cairo_surface_destroy(surf);
    return r;
  }
  cairo_surface_flush(surf);
  *out = surf;
  return PK_OK;
}

typedef struct membuf {
  unsigned char *data;
  size_t len, cap;
} membuf;

static cairo_status_t mem_write(void *closure, const unsigned char *data,
                                unsigned int length) {
  membuf *m = closure;
  if (m->len + length > m->cap) {
    size_t cap = m->cap ? m->cap * 2 : 65536;
    while (cap < m->len + length)
      cap *= 2;
    unsigned char *n = realloc(m->data, cap);
    if (!n)
      return CAIRO_STATUS_NO_MEMORY;
    m->data = n;
    m->cap = cap;
  }
  memcpy(m->data + m->len, data, length);
  m->len += length;
  return CAIRO_STATUS_SUCCESS;
}

int pk_render_png_buffer(const pk_plot *p, int width_px, int height_px,
                         double dpi, unsigned char **out, size_t *out_len,
                         pk_render_info *info, pk_errmsg *e) {
  cairo_surface_t *surf;
  int r;
  if (!out || !out_len)
    return pk_errmsg_set(e, PK_EINVAL, "no output buffer");
  *out = NULL;
  *out_len = 0;
  if ((r = check_size(width_px, height_px, dpi, e)) ||
      (r = render_image(p, width_px, height_px, dpi, &surf, info, e)))
    return r;
  membuf m = {0};
  cairo_status_t st = cairo_surface_write_to_png_stream(surf, mem_write, &m);
  cairo_surface_destroy(surf);
  if (st != CAIRO_STATUS_SUCCESS) {
    free(m.data);
    return pk_errmsg_set(e, PK_ENOMEM, "cannot encode PNG: %s",
                         cairo_status_to_string(st));
  }
  *out = m.data;
  *out_len = m.len;
  return PK_OK;
}

/* ---- files ------------------------------------------------------------------
 */

typedef enum fmt { FMT_PNG, FMT_SVG, FMT_PDF } fmt;

typedef struct fdsink {
  int fd;
  int err; /* first errno seen */
} fdsink;

static cairo_status_t fd_write(void *closure, const unsigned char *data,
                               unsigned int length) {
  fdsink *s = closure;
  while (length > 0) {
    ssize_t n = write(s->fd, data, length);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (!s->err)
        s->err = errno;
      return CAIRO_STATUS_WRITE_ERROR;
    }
    data += n;
    length -= (unsigned int)n;
  }
  return CAIRO_STATUS_SUCCESS;
}

static int io_error(pk_errmsg *e, int errnum, const char *what,
                    const char *path) {
  return pk_errmsg_set(e, pk_err_from_errno(errnum), "cannot %s %s: %s", what,
                       path, strerror(errnum));
}

/* Opens a fresh sibling of path for writing ("DIR/.NAME.PID-N.tmp"). The
 * mode is 0666 less the umask, like the file a plain open() would make. */
static int open_temp(const char *path, char **tmp_out, int *fd_out) {
  static atomic_uint counter;
  const char *slash = strrchr(path, '/');
  size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
  const char *base = slash ? slash + 1 : path;
  size_t cap = strlen(path) + 64;
  char *tmp = malloc(cap);
  if (!tmp)
    return ENOMEM;
  for (int attempt = 0; attempt < 100; attempt++) {
    snprintf(tmp, cap, "%.*s.%s.%ld-%u.tmp", (int)dirlen, path, base,
             (long)getpid(), atomic_fetch_add(&counter, 1));
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) {
      *tmp_out = tmp;
      *fd_out = fd;
      return 0;
    }
    if (errno != EEXIST) {
      int err = errno;
      free(tmp);
      return err;
    }
  }
  free(tmp);
  return EEXIST;
}

static int format_of(const char *path, fmt *f) {
  const char *dot = strrchr(path, '.');
  const char *slash = strrchr(path, '/');
  if (!dot || (slash && dot < slash))
    return 0;
  if (strcasecmp(dot, ".png") == 0)
    *f = FMT_PNG;
  else if (strcasecmp(dot, ".svg") == 0)
    *f = FMT_SVG;
  else if (strcasecmp(dot, ".pdf") == 0)
    *f = FMT_PDF;
  else
    return 0;
  return 1;
}

int pk_render_file(const pk_plot *p, const char *path, int width_px,
                   int height_px, double dpi, pk_errmsg *e) {
  fmt f;
  int r;
  if (!path || !*path)
    return pk_errmsg_set(e, PK_EINVAL, "no output path");
  if (!format_of(path, &f))
    return pk_errmsg_set(e, PK_EINVAL,
                         "cannot tell the format of %s: use .png, .svg or .pdf",
                         path);
  if ((r = check_size(width_px, height_px, dpi, e)) ||
      (r = pk_plot_validate(p, e)))
    return r;

  /* Draw PNGs before touching the file system: a model that fails to draw
   * must not leave even a temporary file behind. */
  cairo_surface_t *img = NULL;
  if (f == FMT_PNG &&
      (r = render_image(p, width_px, height_px, dpi, &img, NULL, e)))
    return r;

  char *tmp = NULL;
  int fd = -1, err = 0;
  struct stat sb;
  if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode)) {
    /* A device or FIFO is written in place: renaming a temporary file over
     * it would replace the device with a regular file. */
    fd = open(path, O_WRONLY | O_CLOEXEC);
    err = fd < 0 ? errno : 0;
  } else {
    err = open_temp(path, &tmp, &fd);
  }
  if (err) {
    cairo_surface_destroy(img);
    return io_error(e, err, "create a file next to", path);
  }
  fdsink sink = {fd, 0};
  cairo_status_t st;
  r = PK_OK;
  if (f == FMT_PNG) {
    st = cairo_surface_write_to_png_stream(img, fd_write, &sink);
    cairo_surface_destroy(img);
  } else {
    double wpt = width_px * 72.0 / dpi, hpt = height_px * 72.0 / dpi;
    cairo_surface_t *vs =
        f == FMT_SVG
            ? cairo_svg_surface_create_for_stream(fd_write, &sink, wpt, hpt)
            : cairo_pdf_surface_create_for_stream(fd_write, &sink, wpt, hpt);
    if (f == FMT_PDF)
      cairo_pdf_surface_set_metadata(vs, CAIRO_PDF_METADATA_CREATOR, "Pika");
    cairo_t *cr = cairo_create(vs);
    r = pk_render_cairo(p, cr, wpt, hpt, 1.0, NULL, e);
    cairo_destroy(cr);
    cairo_surface_finish(vs);
    st = cairo_surface_status(vs);
    cairo_surface_destroy(vs);
  }
  if (r == PK_OK && (sink.err || st != CAIRO_STATUS_SUCCESS))
    r = sink.err ? io_error(e, sink.err, "write", path)
                 : pk_errmsg_set(e, PK_EIO, "cannot write %s: %s", path,
                                 cairo_status_to_string(st));
  if (r == PK_OK && fsync(fd) != 0 && errno != EINVAL)
    r = io_error(e, errno, "flush", path);
  if (close(fd) != 0 && r == PK_OK)
    r = io_error(e, errno, "close", path);
  if (r == PK_OK && tmp && rename(tmp, path) != 0)
    r = io_error(e, errno, "replace", path);
  if (r != PK_OK && tmp)
    unlink(tmp);
  free(tmp);
  return r;
}
