/*
 * kernels.h — Pika's aggregation kernels: density2d, histogram1d (with a
 * Freedman–Diaconis bin width), M4 per pixel column, LTTB and MinMaxLTTB.
 *
 * What they consume. Contiguous arrays of doubles, one per column, as the
 * plot-column cache holds them. The loader turns SQL NULL into NaN, so a NULL
 * and a NaN are the same thing here: the point is skipped and counted in
 * pk_kstats.skipped. Nothing is copied; the caller keeps ownership of every
 * input and output array, and the arrays must not change during a call.
 *
 * Exactness. Every kernel computes what one SQL query computes on the same
 * data, and tests/engine/test_kernels.c checks that against DuckDB, cell by
 * cell: counts, min and max are bit-exact; sums and means differ only by the
 * order of floating-point additions (within ~1e-12 relative in practice).
 *
 * The binning rule (density2d, histogram1d, M4 columns). A viewport
 * [x0, x1) with nx bins uses the scale k = nx / (x1 - x0), computed once in
 * double, and
 *
 *     a value v is inside   iff  x0 <= v < x1          (half-open: x1 is out)
 *     its bin is            min(floor((v - x0) * k), nx - 1)
 *
 * The min() only matters for a v just below x1 whose product rounds up to nx.
 * A value exactly on an inner boundary x0 + i*(x1-x0)/nx goes where the
 * expression puts it (bin i whenever that boundary is exactly representable,
 * as with x0 = 0, x1 = 1, nx = 4). The SQL equivalent, with k bound as the same
 * double, is
 *
 *     WHERE v >= x0 AND v < x1
 *     GROUP BY least(floor((v - x0) * k), nx - 1)
 *
 * (DuckDB orders NaN above +inf and NULL compares as NULL, so that WHERE also
 * drops NaN, NULL and ±inf, as the kernels do.)
 *
 * Threads. The kernels that scan all points take a pk_pool (NULL means: run
 * in the calling thread). The input is split into ranges; the calling thread
 * works on one share itself and the pool's workers on the others (one task
 * per extra worker, PK_PRIO_INTERACTIVE), each into its own partial result,
 * then the caller merges the partials. Counts and min/max partials claim
 * blocks dynamically (exact whatever the order, and robust on a busy
 * machine); sums use fixed contiguous ranges so that a result is the same on
 * every run with the same pool. Inputs below PK_KERNEL_PAR_MIN points run
 * single-threaded. The calling thread blocks until all shares are done; do
 * not call a kernel from a task of the same pool with every worker doing the
 * same (the shares it submits could then never start). If a submit fails the
 * caller runs that share itself, so a kernel never fails because of the pool.
 *
 * Memory. No allocation per point. density2d allocates one partial grid per
 * share: for counts, 16-bit counters (a 512 x 512 grid is 512 KiB and stays
 * in a core's L2 while the points stream past) plus a 64-bit carry grid whose
 * pages are only touched when a counter wraps, so counts stay exact for any
 * n; for weighted aggregates, uint64 counts and a double grid (share 0 uses
 * the caller's arrays). histogram1d uses uint32 partials (uint64 above 2^32
 * points). M4 allocates nothing; the quantile helpers copy the finite values
 * (8 bytes a point); LTTB allocates nothing, MinMaxLTTB its preselection
 * (2 indices and 2 doubles per preselected point).
 *
 * Speed depends on memory: the kernels stream 8 bytes per point per column,
 * so 100M (x, y) points are 1.6 GB read per density2d. Arrays allocated
 * 2 MiB-aligned with madvise(MADV_HUGEPAGE) scan markedly faster on a VM
 * (fewer TLB misses, much cheaper first touch); the plot-column cache should
 * allocate them that way.
 *
 * Errors: PK_OK, PK_EINVAL for bad arguments (documented per function),
 * PK_ENOMEM. Outputs are unspecified after an error.
 */
#ifndef PIKA_ENGINE_KERNELS_H
#define PIKA_ENGINE_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/pool.h"

/* Inputs with fewer points than this run in the calling thread: below it the
 * task hand-off and the partials' merge cost more than a second core saves. */
#define PK_KERNEL_PAR_MIN ((size_t)1 << 16)

/* Where the points of one call went. n == counted + skipped + outside. */
typedef struct pk_kstats {
  uint64_t n;       /* points looked at */
  uint64_t counted; /* inside the viewport and aggregated */
  uint64_t skipped; /* NaN/NULL or ±inf in a coordinate (or NaN weight) */
  uint64_t outside; /* finite, but outside the viewport */
} pk_kstats;

/* The per-cell aggregate of a weight column. */
typedef enum pk_kagg {
  PK_KAGG_COUNT = 0, /* no weight: counts only */
  PK_KAGG_SUM,
  PK_KAGG_MEAN,
  PK_KAGG_MIN,
  PK_KAGG_MAX
} pk_kagg;

/* "count", "sum", ... (static storage; "?" for a bad value). */
const char *pk_kagg_name(pk_kagg agg);

/* ---- density2d -----------------------------------------------------------*/

typedef struct pk_density2d_spec {
  double x0, x1; /* x viewport [x0, x1): finite, x0 < x1 */
  double y0, y1; /* y viewport [y0, y1): finite, y0 < y1 */
  size_t nx, ny; /* grid size, >= 1 each, nx * ny <= 2^28 */
  pk_kagg agg;   /* PK_KAGG_COUNT, or an aggregate of w */
} pk_density2d_spec;

/* Bins n points (x[i], y[i]) into an nx x ny grid with the binning rule of the
 * top comment, on both axes. Output is row-major with row = y bin, bottom row
 * first: cell (ix, iy) is counts[iy * nx + ix]. counts (nx*ny, required) gets
 * the number of points per cell. With agg != PK_KAGG_COUNT, w (n weights) and
 * values (nx*ny) are required and values gets sum, mean, min or max of the
 * weights per cell; a cell with no point gets NaN (SQL gives NULL there).
 * A point is skipped if x or y is not finite (NaN, NULL, ±inf) or, for a
 * weighted agg, if its weight is NaN; that test comes before the viewport
 * test. ±inf weights are aggregated as IEEE arithmetic does (a sum may then
 * be ±inf or NaN, as in SQL). stats (optional) gets the tallies.
 * x, y, w may be NULL when n == 0. PK_EINVAL: a bad spec, a required array
 * missing. Thread-safe (no shared state); blocks until done. */
int pk_density2d(pk_pool *pool, const double *x, const double *y,
                 const double *w, size_t n, const pk_density2d_spec *spec,
                 uint64_t *counts, double *values, pk_kstats *stats);

/* Counts of points that arrive in batches (a streamed scan, plot_stream.h)
 * with pk_density2d's rule and count loop, in one thread: after any number
 * of pk_density2d_acc_add calls, pk_density2d_acc_end gives the counts and
 * tallies that pk_density2d would give for all the points at once. Memory:
 * the 16-bit grid and the carry grid of one share. begin: PK_EINVAL for a
 * bad spec or an agg other than count, PK_ENOMEM. end frees the
 * accumulator (counts and stats may be NULL: just free it). */
typedef struct pk_density2d_acc pk_density2d_acc;
int pk_density2d_acc_begin(const pk_density2d_spec *spec,
                           pk_density2d_acc **out);
void pk_density2d_acc_add(pk_density2d_acc *a, const double *x, const double *y,
                          size_t n);
void pk_density2d_acc_end(pk_density2d_acc *a, uint64_t *counts,
                          pk_kstats *stats);

/* ---- histogram1d ---------------------------------------------------------*/

/* Counts n values into nbins bins over [lo, hi) with the binning rule of the
 * top comment. counts has nbins entries. Non-finite values are skipped,
 * finite ones outside [lo, hi) are outside. lo, hi finite, lo < hi,
 * nbins >= 1 and (hi - lo) finite, else PK_EINVAL. Same threading as
 * pk_density2d. */
int pk_histogram1d(pk_pool *pool, const double *v, size_t n, double lo,
                   double hi, size_t nbins, uint64_t *counts, pk_kstats *stats);

/* The q-quantiles (each q in [0, 1]) of the finite values of v, by linear
 * interpolation between the two nearest order statistics: with m finite
 * values sorted, pos = (m - 1) * q, result = a + (b - a) * (pos - floor(pos))
 * where a, b are the values at floor(pos) and floor(pos) + 1 (numpy's
 * default, DuckDB's quantile_cont). Exact: one copy of the finite values
 * (8m bytes, freed before return) and one quickselect per quantile on the
 * copy, O(m) expected time each, O(m^2) worst case (the pivot is a
 * median-of-three, so sorted and reversed input are fast). nq quantiles go to
 * out[0..nq). *nfinite (optional) gets m. With m == 0 every out is NaN.
 * PK_EINVAL: q outside [0, 1] or NaN; PK_ENOMEM. Single-threaded. */
int pk_quantiles(const double *v, size_t n, const double *q, size_t nq,
                 double *out, size_t *nfinite);

/* The Freedman–Diaconis bin width 2 * IQR / cbrt(m) of the finite values
 * (m of them), via pk_quantiles() (same cost). *width gets 0 when it cannot be
 * computed (m < 2 or IQR == 0); the caller then falls back, e.g. to Sturges.
 * *lo and *hi (optional) get the finite minimum and maximum (NaN if m == 0).
 */
int pk_fd_width(const double *v, size_t n, double *width, double *lo,
                double *hi);

/* A "nice" histogram layout for data in [lo, hi] and a target bin width:
 * the width is rounded up to 1, 2, 2.5 or 5 times a power of ten, the range is
 * widened to multiples of it, and *nbins = (*nhi - *nlo) / width, at least 1.
 * If that would exceed max_bins (>= 1), the width grows to the next nice
 * value until it fits. A width <= 0 or non-finite, or lo == hi, gives one
 * bin around lo. Because [nlo, nhi) is half-open, nhi is moved one width up
 * when hi falls exactly on it. PK_EINVAL: lo or hi non-finite, lo > hi,
 * max_bins == 0. */
int pk_hist_nice(double lo, double hi, double width, size_t max_bins,
                 double *nlo, double *nhi, size_t *nbins, double *nwidth);

/* ---- log-space binning --------------------------------------------------*/

/* For binning on a log axis: out[i] = log10(v[i]) where v[i] > 0, else NaN
 * (so a non-positive value, NaN or -inf is skipped by the kernels above;
 * +inf stays +inf, also skipped). Binning the result with the rule of the
 * top comment over [log10(a), log10(b)) gives bins of equal width in log
 * space; the SQL equivalent replaces v by log10(v) under WHERE v > 0
 * (DuckDB's log10 is the C library's, so the values are bit-identical).
 * out may be v (in place). *nonpositive (optional) gets the number of
 * finite values <= 0. Threading as pk_density2d; no allocation. */
int pk_log10_map(pk_pool *pool, const double *v, size_t n, double *out,
                 uint64_t *nonpositive);

/* ---- M4 ------------------------------------------------------------------*/

/* One pixel column of an M4 reduction: the indices (into the input arrays) of
 * the first and last points of the column and of its minimum and maximum y.
 * Ties: the lowest index wins (min and max). n == 0 means an empty column,
 * and then the indices are SIZE_MAX. */
typedef struct pk_m4_col {
  uint64_t n; /* points in the column with a finite y */
  size_t first, last, imin, imax;
} pk_m4_col;

/* Precondition check for pk_m4(): x has no NaN and is sorted non-decreasing
 * (±inf allowed, at the ends). Returns PK_OK or PK_EINVAL; *bad (optional)
 * gets the first offending index. O(n), single-threaded. */
int pk_m4_check(const double *x, size_t n, size_t *bad);

/* M4 (Jugel et al., VLDB 2014) of a line series sorted by x (see
 * pk_m4_check(); the kernel does not check it, and unsorted input gives
 * unspecified, but memory-safe, results) over the x viewport [x0, x1) with
 * ncols pixel columns, binned by the rule of the top comment. Drawing the
 * first, min, max and last point of each column, joined in x order, lights
 * exactly the pixels the full series lights. Points whose y is not finite
 * (NaN, NULL, ±inf) are skipped: they are never chosen. cols gets ncols
 * entries. Only the y values are scanned; column boundaries are found by
 * binary search on x (O(ncols log n)), so x is read ncols * log2(n) times.
 * stats (optional): outside = points with x outside [x0, x1); skipped = the
 * inside points with a non-finite y. PK_EINVAL: bad viewport, ncols == 0,
 * NULL arrays with n > 0. Threading as pk_density2d. */
int pk_m4(pk_pool *pool, const double *x, const double *y, size_t n, double x0,
          double x1, size_t ncols, pk_m4_col *cols, pk_kstats *stats);

/* Flattens M4 columns into the reduced series: for each non-empty column,
 * its distinct indices among first, min, max, last in increasing index order
 * (so in x order); at most 4 * ncols points. out_idx (capacity 4 * ncols,
 * required) gets indices; out_x and out_y (same capacity, optional) get
 * x[idx], y[idx]. Returns the point count (never fails). */
size_t pk_m4_points(const pk_m4_col *cols, size_t ncols, const double *x,
                    const double *y, size_t *out_idx, double *out_x,
                    double *out_y);

/* ---- LTTB and MinMaxLTTB -------------------------------------------------*/

/* Largest-Triangle-Three-Buckets (Steinarsson 2013, the reference
 * JavaScript's bucket layout: first and last point kept, the n - 2 others
 * split into n_out - 2 buckets of (n - 2) / (n_out - 2) points, each bucket
 * keeping the point that forms the largest triangle with the point kept
 * before it and the mean of the next bucket; ties keep the earlier point).
 * Precondition: x sorted, x and y finite (otherwise the indices are still
 * valid but the choice is not meaningful). out_idx gets the chosen indices in
 * increasing order, *out_n their count (capacity: min(n, n_out)):
 *   n_out >= n: every index (the input unchanged);
 *   n_out == 0: none; n_out == 1: {0}; n_out == 2: {0, n - 1}.
 * PK_EINVAL: NULL arrays with n > 0, out_idx NULL when n and n_out > 0.
 * Single-threaded (the buckets are sequentially dependent); no allocation. */
int pk_lttb(const double *x, const double *y, size_t n, size_t n_out,
            size_t *out_idx, size_t *out_n);

/* MinMaxLTTB (Van Der Donckt et al. 2023): preselect, in each of
 * n_out * ratio / 2 buckets of equal point count over the interior points
 * 1 .. n-2, the lowest-index minimum and maximum of y (once if they are the
 * same point), keep the first and last point, then run pk_lttb on the
 * preselected points and map the result back to input indices. When
 * n / n_out <= ratio (too few points for preselection to help), or
 * n_out < 3, this is pk_lttb. Preselection runs on pool (NULL: calling
 * thread). ratio >= 2 (the paper's default is 4), else PK_EINVAL; outputs as
 * pk_lttb. Allocates the preselection; PK_ENOMEM. */
int pk_minmax_lttb(pk_pool *pool, const double *x, const double *y, size_t n,
                   size_t n_out, size_t ratio, size_t *out_idx, size_t *out_n);

#endif /* PIKA_ENGINE_KERNELS_H */
