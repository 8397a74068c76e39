/*
 * render.h — Pika's headless plot renderer (cairo + pango).
 *
 * The renderer draws an already-aggregated plot model: the engine's kernels
 * have reduced the data (density grids, M4-reduced series, histogram
 * counts, box statistics), so every array here is small (at most a few
 * hundred thousand elements) and the renderer never sees raw rows.
 *
 * Design. One pass lays the figure out and one pass draws it:
 *   1. data ranges per axis (or the caller's fixed ranges), padded for point
 *      and line kinds, starting at zero for bars and histograms;
 *   2. ticks (ticks.h) for each axis, aiming at one tick per ~60 pt of x and
 *      ~40 pt of y (at least 4);
 *   3. margins from the measured pango extents of every tick label, axis
 *      title, the plot title, the legend and the colour bar, so that labels
 *      never clip;
 *   4. background, grid, data (clipped to the plot area), axes, text.
 * Text goes through pango (DejaVu Sans via fontconfig); sizes are in points
 * and line widths in points, so a PNG at 300 dpi is the same figure as one
 * at 100 dpi with three times the pixels.
 *
 * Units. pk_render_file(path, w, h, dpi): a PNG is w x h pixels with fonts
 * and lines scaled by dpi/72; an SVG or PDF page is (w x 72/dpi) x
 * (h x 72/dpi) points, so the same arguments give the same figure in every
 * format.
 *
 * Time axes. Values on a PK_SCALE_TIME axis are UTC epoch seconds, or epoch
 * microseconds when the axis says PK_TIME_MICROS (DuckDB's TIMESTAMP is
 * microseconds); they are converted to seconds before ticks are chosen, and
 * labels are in UTC.
 *
 * Ownership. The model and all its arrays belong to the caller and are only
 * read during the call. Nothing is retained.
 *
 * Threads. Every function is reentrant: separate calls may run on separate
 * threads (cairo and pango objects are created per call; fontconfig's
 * initialisation is internally locked).
 *
 * Errors. PK_EINVAL (with a sentence in pk_errmsg) for a model that cannot
 * be drawn; PK_EPERM / PK_ENOENT / PK_EIO / PK_ENOSPC for output problems,
 * with the path in the message; PK_ENOMEM. A file is written to a temporary
 * name in the destination directory and renamed into place, so a failed
 * call never leaves a partial or stray file.
 */
#ifndef PIKA_RENDER_RENDER_H
#define PIKA_RENDER_RENDER_H

#include <stddef.h>

#include "base/error.h"
#include "render/colormap.h"

typedef enum pk_plot_kind {
  PK_PLOT_SCATTER = 0, /* series[] of points; colour per series or by c[] */
  PK_PLOT_DENSITY,     /* grid: counts of scatter points per cell */
  PK_PLOT_LINE,        /* series[]: x/y polylines (M4-reduced upstream) */
  PK_PLOT_AREA,        /* series[]: filled from y = 0 (overlaid) */
  PK_PLOT_BAR,         /* bars: categories x series, grouped or stacked */
  PK_PLOT_HISTOGRAM,   /* hist: bin edges + counts */
  PK_PLOT_HEATMAP,     /* grid: 2-D bins with edges; count, sum or mean */
  PK_PLOT_BOX,         /* boxes[]: quartiles, whiskers, outliers */
  PK_PLOT_VIOLIN,      /* violins[]: density curve + quartiles */
  PK_PLOT_KIND_COUNT
} pk_plot_kind;

typedef enum pk_scale {
  PK_SCALE_LINEAR = 0,
  PK_SCALE_LOG, /* log10; non-positive values are not drawn */
  PK_SCALE_TIME /* values are epoch seconds or microseconds (time_unit) */
} pk_scale;

typedef enum pk_time_unit { PK_TIME_SECONDS = 0, PK_TIME_MICROS } pk_time_unit;

typedef struct pk_axis {
  const char *title; /* axis title (UTF-8); NULL or "" for none */
  pk_scale scale;
  pk_time_unit time_unit; /* PK_SCALE_TIME only */
  int fixed;              /* 1: use [min, max]; 0: from the data */
  double min, max;        /* with fixed: finite, min < max (> 0 on log) */
} pk_axis;

/* One series of points or a polyline. NaN/inf in x or y break a line (and
 * are skipped for points). */
typedef struct pk_series {
  const char *name; /* legend label; NULL: the series has no legend entry */
  const double *x, *y;
  size_t n;
  const double *c; /* scatter only: value per point, coloured by the colour
                      map with a colour bar; NULL: the series' colour */
} pk_series;

/* How a grid's cell values were aggregated (titles the colour bar). */
typedef enum pk_grid_value {
  PK_GRID_COUNT = 0,
  PK_GRID_SUM,
  PK_GRID_MEAN
} pk_grid_value;

/* A raster of nx x ny cells, row-major from the lowest y:
 * v[iy * nx + ix] covers x in [xedges[ix], xedges[ix+1]) and y likewise.
 * With xedges/yedges NULL the cells are uniform over [x0, x1] x [y0, y1].
 * NaN cells, and zero cells of a count grid, are left blank. */
typedef struct pk_grid {
  size_t nx, ny;
  const double *v;
  const double *xedges, *yedges; /* nx + 1 and ny + 1 ascending, or NULL */
  double x0, x1, y0, y1;
  pk_grid_value value;
  int log_color; /* 1: colour by log10 of the value (positive cells only) */
} pk_grid;

typedef struct pk_bars {
  size_t ncat, nseries;
  const char *const *categories;   /* ncat labels */
  const char *const *series_names; /* nseries labels, or NULL (no legend) */
  const double *values;            /* values[c * nseries + s] */
  int stacked;                     /* 0: side by side; 1: stacked */
} pk_bars;

typedef struct pk_hist {
  size_t nbins;
  const double *edges;  /* nbins + 1, strictly ascending */
  const double *counts; /* nbins */
} pk_hist;

typedef struct pk_box_group {
  const char *name;
  double whisker_lo, q1, median, q3, whisker_hi; /* ascending */
  const double *outliers;
  size_t noutliers;
} pk_box_group;

typedef struct pk_violin_group {
  const char *name;
  const double *y;       /* n ascending sample positions */
  const double *density; /* n densities >= 0 at y (any common scale) */
  size_t n;
  double q1, median, q3;
} pk_violin_group;

/* The plot model. Zero-initialise and set what the kind needs; the other
 * members are ignored. Categorical kinds (bar, box, violin) put their
 * categories on x and ignore x.scale. */
typedef struct pk_plot {
  pk_plot_kind kind;
  const char *title; /* NULL or "" for none */
  pk_axis x, y;
  pk_colormap colormap;       /* density, heatmap, scatter by value */
  const char *colorbar_title; /* NULL: "count" / "sum" / "mean" / "value" */

  const pk_series *series; /* scatter, line, area */
  size_t nseries;
  pk_grid grid;              /* density, heatmap */
  pk_bars bars;              /* bar */
  pk_hist hist;              /* histogram */
  const pk_box_group *boxes; /* box */
  size_t nboxes;
  const pk_violin_group *violins; /* violin */
  size_t nviolins;

  double point_size; /* scatter marker diameter in pt; 0: 3 pt */
  double line_width; /* line width in pt; 0: 1.5 pt */
} pk_plot;

/* Where the plot landed, for callers that map data to pixels (tests, the
 * UI's hover): the plot area in output units (pixels for PNG, points for
 * SVG/PDF), top-left origin, and each axis's final range. Categorical x
 * axes run from -0.5 to ncat - 0.5 with category i at i. Time ranges are
 * in seconds. */
typedef struct pk_render_info {
  double plot_x, plot_y, plot_w, plot_h;
  double x_lo, x_hi, y_lo, y_hi;
  int x_log, y_log;
  double colorbar_lo, colorbar_hi; /* value range of the colour bar */
} pk_render_info;

/* Maps a data point to output coordinates using info (log axes take log10;
 * time values must be in seconds). */
void pk_render_info_map(const pk_render_info *info, double x, double y,
                        double *px, double *py);

/* Checks a model without drawing. PK_OK or PK_EINVAL with a sentence. */
int pk_plot_validate(const pk_plot *p, pk_errmsg *e);

/* Renders p to path; the format follows the extension (.png, .svg, .pdf,
 * case-insensitive). width/height in pixels (1..32768), dpi in 10..2400.
 * Writes a temporary sibling (".NAME.PID-N.tmp") first and renames it over
 * path; on failure nothing is left behind. Blocks for the duration of the
 * drawing and the write. */
int pk_render_file(const pk_plot *p, const char *path, int width_px,
                   int height_px, double dpi, pk_errmsg *e);

/* Same layout as pk_render_file, as a PNG in memory: *out is malloc()ed and
 * owned by the caller (free()). info may be NULL. */
int pk_render_png_buffer(const pk_plot *p, int width_px, int height_px,
                         double dpi, unsigned char **out, size_t *out_len,
                         pk_render_info *info, pk_errmsg *e);

/* Draws p onto a caller's cairo context (cairo_t *, passed as void * so
 * that this header does not pull in cairo) over a width x height area in
 * user units, where one point is `scale` units (dpi/72 for pixel surfaces,
 * 1 for vector ones). The context's state is saved and restored. info may
 * be NULL. */
int pk_render_cairo(const pk_plot *p, void *cairo_context, double width,
                    double height, double scale, pk_render_info *info,
                    pk_errmsg *e);

/* Releases the process-wide font caches that pango, cairo and fontconfig
 * keep between calls (the font map, glyph caches, fontconfig's
 * configuration), so that leak checkers see a clean exit. Optional; call at
 * most once, at exit, with no render call running or following on any
 * thread. */
void pk_render_global_cleanup(void);

/* "scatter", "density", ...; NULL for an unknown kind. */
const char *pk_plot_kind_name(pk_plot_kind k);

#endif /* PIKA_RENDER_RENDER_H */
