/*
 * plot.h — the plot builder: a plot spec and loaded columns (columns.h) in,
 * a render model (render/render.h) out, reduced by the kernels (kernels.h)
 * so that the renderer only ever sees a few hundred thousand numbers.
 *
 * Two steps, so that the heavy lifting stays in DuckDB or in the kernels:
 *   1. pk_plot_sql(spec, source) builds the query to load. Its result has
 *      columns named x, y, color and z (those the spec names, in that
 *      order); for a bar chart the GROUP BY runs in DuckDB
 *      (SELECT x, color, agg(y) ... GROUP BY ALL); for line and area the
 *      rows come ORDER BY x.
 *   2. pk_plot_build(spec, cols) turns the loaded columns into a pk_plot.
 *      It finds the columns by those names, so any query with the same
 *      aliases works (the tests build from their own SQL).
 *
 * What each kind becomes
 *   scatter    n <= PK_PLOT_SCATTER_RAW_MAX points: the raw points, one
 *              series per category of a categorical color column, or one
 *              series with c[] = a numeric color column. Above it: a
 *              PK_PLOT_DENSITY raster of the viewport, one cell per
 *              2 x 2 px of the image (width/2 x height/2 cells; color is
 *              then ignored), counted exactly by pk_density2d.
 *   line, area one series per color group (categorical labels, or the
 *              distinct values of a numeric column; at most
 *              PK_PLOT_MAX_SERIES). x must be sorted within each series
 *              (pk_m4_check; the SQL sorts, the builder re-sorts if not).
 *              A series longer than 4 * width points is M4-reduced to
 *              `width` pixel columns over the x viewport: first, min, max
 *              and last of each column, which lights the same pixels as the
 *              full series when the columns line up with the pixels (the
 *              plot area is narrower than the image, so a column is at most
 *              one pixel wide).
 *   histogram  x only. Bins of Freedman–Diaconis width (pk_fd_width, or
 *              Sturges' rule when the IQR is 0) laid out by pk_hist_nice
 *              (at most 10000 bins), or exactly `bins` equal bins over
 *              [min, max] (the maximum counted in the last bin), counted by
 *              pk_histogram1d. A fixed x range replaces [min, max].
 *   heatmap    x, y binned into bins x bins cells (default 50) over the
 *              viewport by pk_density2d; the cell value is the count, or,
 *              with agg != count, sum/mean/min/max of the z column
 *              (required then).
 *   bar        x categories (a categorical column's labels, or a numeric
 *              column's distinct values), y = agg(y) from the SQL (count:
 *              count(*), no y needed); grouped side by side by color,
 *              or with `stacked` stacked on one bar per category
 *              (positive values upwards from 0, negative ones downwards;
 *              not with log_y).
 *   box        groups from x, values from y (without y: x is the value and
 *              there is one group). Quartiles by pk_quantiles, whiskers at
 *              the most extreme values within 1.5 IQR of the box, outliers
 *              beyond (at most PK_PLOT_MAX_OUTLIERS drawn per group, evenly
 *              strided).
 *   violin     groups as box; quartiles over all values; a Gaussian KDE
 *              with Silverman's bandwidth 0.9 min(sd, IQR/1.34) m^(-1/5) on
 *              100 points over [min - 2h, max + 2h]. The KDE uses at most
 *              PK_PLOT_KDE_MAX values per group (evenly strided).
 * Groups and series from a categorical column are sorted by label (the
 * column's own codes are in order of first appearance); rows whose group
 * column is NULL are left out.
 * DATE/TIMESTAMP x or y columns give a time axis (epoch seconds, UTC).
 *
 * Log axes. log_x/log_y set log10 axes. The binning kinds (histogram,
 * heatmap, the density raster) then bin in log space: the values are
 * mapped to log10(v) (pk_log10_map), the viewport and the bins are laid out
 * there (Freedman–Diaconis on the logs, nice widths such as 0.1 or 0.25
 * decade, or `bins` equal bins), and the kernels count with their usual
 * rule, so every bin is equally wide on the axis; the SQL equivalent is the
 * kernels' query on log10(v) under WHERE v > 0. Values <= 0 cannot be
 * placed: they are left out and counted (pk_plot_out_nonpositive). The
 * model gets the bins' edges in data space (hist.edges, grid.xedges /
 * yedges = 10^edge), so bars and cells line up on the log axis; a fixed
 * range on a log axis must be positive. Integer data is not centred on
 * whole numbers in log space. Lines and areas on a log x axis are
 * M4-reduced in columns equal in log10(x), over their positive x only.
 * Other kinds draw raw points, and the renderer leaves out non-positive
 * ones. Memory: 8 bytes a point
 * per log axis for the mapped copy, freed before the build returns.
 *
 * Ownership. The built model points into memory owned by the pk_plot_out
 * and into the pk_cols, which must outlive it. Threads: the kernels run on
 * `pool` (NULL: the calling thread); the builder itself is reentrant.
 *
 * Errors: PK_OK; PK_EINVAL with a sentence (a column the kind needs is
 * missing, no finite values, too many series); PK_ENOMEM.
 */
#ifndef PIKA_ENGINE_PLOT_H
#define PIKA_ENGINE_PLOT_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"
#include "engine/cache.h"
#include "engine/columns.h"
#include "engine/db.h"
#include "engine/kernels.h"
#include "render/render.h"
#include "runtime/pool.h"

#define PK_PLOT_SCATTER_RAW_MAX 200000
#define PK_PLOT_MAX_SERIES 64
#define PK_PLOT_MAX_GROUPS 1000
#define PK_PLOT_MAX_OUTLIERS 2000
#define PK_PLOT_KDE_MAX 100000

typedef struct pk_plot_spec {
  pk_plot_kind kind; /* scatter, line, area, histogram, heatmap, bar, box,
                        violin (density: a scatter always rasterised) */
  const char *x;     /* column names in the source (x required) */
  const char *y, *color, *z; /* NULL when not used */
  pk_kagg agg;               /* bar: of y; heatmap: of z */
  size_t bins;               /* histogram/heatmap; 0: automatic */
  bool log_x, log_y;
  bool stacked; /* bar: the color groups stacked, not side by side */
  const char *title;
  bool x_fixed, y_fixed; /* use [x0, x1] / [y0, y1] as the viewport */
  double x0, x1, y0, y1;
  int width, height; /* image size in px (M4 columns, density cells) */
} pk_plot_spec;

/* "scatter" ... -> kind; PK_EINVAL for an unknown name. */
int pk_plot_kind_parse(const char *s, pk_plot_kind *out);
/* "count", "sum", "mean", "min", "max" -> agg; PK_EINVAL otherwise. */
int pk_kagg_parse(const char *s, pk_kagg *out);

/* Appends to out the query to load for spec from source, itself a query
 * (e.g. SELECT * FROM 'file.csv'). Identifiers are quoted. PK_EINVAL with
 * a sentence if the kind lacks a column it needs (y for scatter/line/area/
 * heatmap, z for a heatmap with agg != count, y for bar with agg != count),
 * or `stacked` is set for a kind other than bar or with log_y; PK_ENOMEM. */
int pk_plot_sql(const pk_plot_spec *spec, const char *source, pk_sqlbuf *out,
                pk_errmsg *e);

/* True when spec's picture does not depend on the order of the rows it
 * is built from: scatter without a colour (one colour, blended the same in
 * any order), histograms and heatmaps of counts. Not lines and areas,
 * coloured points (which one is on top), box and violin plots (outliers
 * and KDE values are strided in row order), nor sums and means, whose
 * floating-point totals depend on the order of addition. */
bool pk_plot_order_free(const pk_plot_spec *spec);

/* True when pk_plot_sql's query is a projection of its source, neither
 * sorted (line, area) nor grouped (bar): DuckDB only streams it. */
bool pk_plot_scan_only(const pk_plot_spec *spec);

/* The source columns a kind other than bar loads (cols, at most 4) and
 * their names in pk_plot_sql's result (alias: x, y, color, z), in its
 * order; returns how many. */
size_t pk_plot_columns(const pk_plot_spec *spec, const char *cols[4],
                       const char *alias[4]);

/* Loads the columns spec needs from source through the plot-column cache
 * (cache.h): a hit runs no SQL. The view's columns are named x, y, color, z
 * like pk_plot_sql's result, so pk_plot_build takes it as is. For line and
 * area the rows are ordered by x; for bar the source is pk_plot_sql's GROUP
 * BY query (small). The same spec over the same source with another
 * viewport, bin count or size is a hit. Errors as pk_plot_sql and
 * pk_cache_cols_get. Release *out with pk_cache_cols_release. */
int pk_plot_load(pk_cache *cache, pk_db_conn *conn, const pk_plot_spec *spec,
                 const char *source, pk_cache_cols **out, pk_errmsg *e);

typedef struct pk_plot_out pk_plot_out;

/* Builds the model for spec from cols (loaded from pk_plot_sql's query, or
 * any query with the same column names). On success *out is freed with
 * pk_plot_out_free. Blocks; kernels run on pool. */
int pk_plot_build(pk_pool *pool, const pk_plot_spec *spec, const pk_cols *cols,
                  pk_plot_out **out, pk_errmsg *e);

/* pk_plot_build with the density index of cols' x and y columns
 * (pk_cache_cols_index; NULL: none): a density count on linear axes then
 * reads the index instead of scanning the columns, with the same result. */
int pk_plot_build_indexed(pk_pool *pool, const pk_plot_spec *spec,
                          const pk_cols *cols, const pk_dindex *dix,
                          pk_plot_out **out, pk_errmsg *e);

/* True when spec's picture is a grid of point counts on linear axes:
 * scatter and density without a colour, heatmap of counts. Such a plot
 * needs of its x and y only their extents and the counts, so it can be
 * built while the rows stream past (plot_stream.h). */
bool pk_plot_streamable(const pk_plot_spec *spec);

/* Counts the points of x and y into a density grid, in place of a scan of
 * the columns' arrays. Fills counts (ds->nx * ds->ny, row-major as
 * pk_density2d) and *ks; returns PK_OK or an error with e set. */
typedef struct pk_plot_counter {
  int (*count)(void *arg, pk_pool *pool, const pk_density2d_spec *ds,
               uint64_t *counts, pk_kstats *ks, pk_errmsg *e);
  void *arg;
} pk_plot_counter;

/* Whether pk_plot_build_counted can build spec from cols: spec is
 * streamable, x and y are there, ranged and not categorical (codes follow
 * the order of first appearance, which two scans of a parallel source
 * need not share), and a scatter has more rows than it draws as raw
 * points. */
bool pk_plot_countable(const pk_plot_spec *spec, const pk_cols *cols);

/* pk_plot_build for a streamable spec whose points counter counts: cols
 * need only x and y's extents and the row count, so they may be hollow
 * (columns.h). PK_EINVAL when not pk_plot_countable; the counter's
 * errors. */
int pk_plot_build_counted(pk_pool *pool, const pk_plot_spec *spec,
                          const pk_cols *cols, const pk_plot_counter *counter,
                          pk_plot_out **out, pk_errmsg *e);

/* How one axis was binned, in the kernels' terms: the viewport [lo, hi) and
 * the bin count n, in log10 space when `log` (then the bins are edges
 * 10^lo ... 10^hi in data space). `used` is false for an axis that was not
 * binned. With exact --bins the histogram's hi is one ulp above its last
 * edge (the maximum is counted in the last bin). For tests and hover. */
typedef struct pk_plot_binning {
  bool used;
  bool log;
  double lo, hi;
  size_t n;
} pk_plot_binning;

/* The model (valid until pk_plot_out_free). */
const pk_plot *pk_plot_out_model(const pk_plot_out *o);
/* Points that went into the picture (after NULL/NaN and viewport). */
size_t pk_plot_out_points(const pk_plot_out *o);
/* Rows left out of a log-space binning because a coordinate on a log axis
 * was <= 0 (a row counts once); 0 without log axes. */
size_t pk_plot_out_nonpositive(const pk_plot_out *o);
/* The binning of x and y (either may be NULL). */
void pk_plot_out_binning(const pk_plot_out *o, pk_plot_binning *x,
                         pk_plot_binning *y);
void pk_plot_out_free(pk_plot_out *o);

#endif /* PIKA_ENGINE_PLOT_H */
