/*
 * plot_stream.h — the whole plot path over a source: the plot-column cache
 * when it holds the columns or the source is small, and otherwise, for a
 * picture that is a grid of counts (pk_plot_streamable), the points
 * counted while DuckDB streams them, without loading the columns first.
 *
 * Why. Loading 100M rows of x and y into the cache writes 1.6 GB of fresh
 * memory, and on a VM the first touch of a page is slow: 2-4 s of a first
 * plot went to the kernel zeroing pages (docs/ENGINE.md). A grid of counts
 * needs of each point only its cell, and of each axis only the extent, so
 * two streamed scans with nothing kept (about 0.3 s each for 100M rows of
 * an in-memory table) make the same picture: the first measures (row
 * count, extents), the second counts. The cache is then filled afterwards
 * by the caller (pk_plot_load in the background), for the next viewports.
 *
 * Exactness. The streamed picture equals the one built from the cache:
 * both scans convert values exactly as the loader does (columns.h), the
 * extent is the same finite min/max, and the counting uses the kernels'
 * binning rule (kernel_par.h), so every cell's count, the points counted
 * and the binning are identical (tests/engine/test_plot_stream.c). The
 * two scans run the source twice: a source whose rows change between them
 * (random(), a table written meanwhile) gets counts of the second scan in
 * the extent of the first.
 *
 * Threads and interrupts. Blocks; the scans run on conn (pk_db_interrupt
 * stops them, PK_EINTERRUPTED, and the flag also stops a scan that had not
 * begun), the kernels of a cached build on pool.
 */
#ifndef PIKA_ENGINE_PLOT_STREAM_H
#define PIKA_ENGINE_PLOT_STREAM_H

#include <stddef.h>

#include "engine/cache.h"
#include "engine/plot.h"

/* Sources of at least this many rows are streamed by default. Below it a
 * column is at most 8 MB, which a load faults in within milliseconds, and
 * the columns are cached at once (one scan instead of three). */
#define PK_PLOT_STREAM_MIN_ROWS ((size_t)1 << 20)

typedef struct pk_plot_result {
  pk_plot_out *out;    /* the model */
  pk_cache_cols *cols; /* the cache's columns it was built from, or NULL */
  pk_cols *shape;      /* streamed: the source's hollow shape, else NULL */
} pk_plot_result;

/* Builds spec over source. Streamable specs (pk_plot_streamable) whose
 * columns are not cached ask the cache with pk_cache_cols_try, keeping at
 * most stream_min_rows - 1 rows (for a scatter at least
 * PK_PLOT_SCATTER_RAW_MAX, which it draws as points); a larger source is
 * streamed: r->shape is set, r->cols is NULL and nothing was cached. Any
 * other spec, categorical x or y (their codes follow the order of first
 * appearance, which two scans of a parallel source need not share), or
 * stream_min_rows 0 goes through
 * pk_plot_load and pk_plot_build_indexed (with the cached density index).
 * On success free r with pk_plot_result_free; on error r is empty.
 * Errors: those of pk_plot_load, pk_plot_build and pk_db_exec. */
int pk_plot_run(pk_cache *cache, pk_db_conn *conn, pk_pool *pool,
                const pk_plot_spec *spec, const char *source,
                size_t stream_min_rows, pk_plot_result *r, pk_errmsg *e);

/* The columns behind r's model: the cache's view, or the streamed shape
 * (row count, extents). */
const pk_cols *pk_plot_result_cols(const pk_plot_result *r);

void pk_plot_result_free(pk_plot_result *r);

#endif /* PIKA_ENGINE_PLOT_STREAM_H */
