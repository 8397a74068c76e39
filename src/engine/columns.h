/*
 * columns.h — a query's result as plot columns: one contiguous array of
 * doubles per result column, the form the kernels (kernels.h) consume.
 *
 * How. pk_cols_load runs SQL through pk_db_exec and copies each streamed
 * data chunk into the arrays, so the DuckDB result is never materialised;
 * only the doubles are. Column types map to doubles as follows:
 *   BOOLEAN, integers (incl. HUGEINT), FLOAT, DOUBLE, DECIMAL  the value
 *   DATE                                   epoch seconds (days * 86400)
 *   TIMESTAMP[_S|_MS|_NS|_TZ]              epoch seconds (fractional), UTC
 *   VARCHAR, ENUM                          categorical: a dictionary code
 *                                          0, 1, ... in order of first
 *                                          appearance, labels[code] its text
 *   anything else                          PK_EINVAL naming the column
 * SQL NULL (and a NULL category) becomes NaN, which the kernels skip.
 * Time columns are flagged (is_time) so that a plot can use a time axis in
 * seconds (render.h's PK_TIME_SECONDS).
 *
 * Memory. The row count is not known until the last chunk, so each column
 * starts as 8 GiB of reserved address space (mmap MAP_NORESERVE, 2 MiB-
 * aligned, madvise(MADV_HUGEPAGE)) that only the pages written consume:
 * rows are written in place, never copied, and every page is zeroed by the
 * kernel once (on a VM that zeroing is most of the load time; doubling
 * arrays zeroed and copied twice the data). Past 8 GiB a column grows with
 * mremap. At the end large columns are trimmed to whole 2 MiB pages (vmap
 * says how much is mapped) and columns under 2 MiB move to malloc. Huge
 * pages also make the kernels' scans cheaper (kernels.h). Where address
 * space cannot be reserved, arrays are malloc'd and doubled. A loaded set
 * is immutable; its arrays may be read from any number of threads.
 *
 * Errors: PK_OK or a negative PK_E* code with pk_errmsg filled (those of
 * pk_db_exec, PK_EINVAL for an unsupported type, PK_ENOMEM).
 */
#ifndef PIKA_ENGINE_COLUMNS_H
#define PIKA_ENGINE_COLUMNS_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"
#include "engine/db.h"

typedef struct pk_col {
  char *name;          /* the result column's name */
  bool is_categorical; /* v holds dictionary codes into labels */
  bool is_time;        /* v holds epoch seconds (DATE/TIMESTAMP) */
  double *v;           /* nrows values; NaN for NULL */
  size_t vmap;         /* bytes mapped at v (see "Memory"); 0: malloc'd */
  bool sorted;     /* v is non-decreasing, NaN only at the end: set by a loader
                      that knows (the cache, for its ORDER BY column) */
  bool ranged;     /* min/max are set (pk_cols_load always sets them) */
  double min, max; /* the finite values' extent; +inf/-inf when none */
  char **labels;   /* categorical: nlabels distinct texts, else NULL */
  size_t nlabels;
} pk_col;

typedef struct pk_cols {
  size_t nrows, ncols;
  pk_col *cols;      /* ncols columns in result order */
  size_t prefaulted; /* bytes per column faulted in ahead of the loader */
  bool hollow;       /* the shape of a result whose values were not kept
                        (pk_cols_load_capped): nrows, names, types and extents,
                        every v NULL */
} pk_cols;

/* Runs sql on c and loads every column of the last statement's result.
 * *out is freed with pk_cols_free. Blocks until done; an interrupt of c
 * (pk_db_interrupt) stops it with PK_EINTERRUPTED. A large result's arrays
 * are faulted in ahead of it by a second thread, as far as DuckDB's
 * progress says the result will reach (see columns.c). */
int pk_cols_load(pk_db_conn *c, const char *sql, pk_cols **out, pk_errmsg *e);

/* pk_cols_load for a result that may be too large to be worth keeping:
 * once it has more than keep rows, the values loaded so far are freed and
 * the rest is only counted and measured, so *out is hollow (see pk_cols):
 * nrows of the whole result, each column's type flags and its finite
 * extent. Categorical labels are kept either way. Costs the scan and
 * keep rows of memory, touched once. */
int pk_cols_load_capped(pk_db_conn *c, const char *sql, size_t keep,
                        pk_cols **out, pk_errmsg *e);

/* Runs sql on c and hands its rows to fn in batches, converted as
 * pk_cols_load converts them, without keeping them: batch->cols[i].v holds
 * batch->nrows values (at most `rows`, at least one; a batch never splits
 * a DuckDB chunk, so `rows` is raised to DuckDB's vector size). Columns
 * are not measured (ranged is false). The batch memory is
 * reused; fn returns PK_OK to go on, or an error (with e set) that stops
 * the scan and is returned. For aggregations that need no second look at
 * a row (plot_stream.h). */
typedef int (*pk_cols_batch_fn)(void *arg, const pk_cols *batch, pk_errmsg *e);
int pk_cols_scan(pk_db_conn *c, const char *sql, size_t rows,
                 pk_cols_batch_fn fn, void *arg, pk_errmsg *e);

/* The column named name (exact match first, then ASCII case-insensitive, as
 * DuckDB resolves identifiers), or NULL. */
const pk_col *pk_cols_find(const pk_cols *cs, const char *name);

/* Frees everything; NULL is a no-op. */
void pk_cols_free(pk_cols *cs);

/* Frees col's values however they were allocated (see "Memory"), leaving
 * v NULL. */
void pk_col_free_values(pk_col *col);

/* Gives back what the columns' reservations (vmap) did not use of nrows
 * values: columns under 2 MiB move to malloc, larger ones are trimmed to
 * whole huge pages. For loaders that fill a pk_cols themselves (csvnum.h).
 * PK_OK or PK_ENOMEM. */
int pk_cols_shrink(pk_cols *cs);

/* Anonymous memory for large arrays the way the columns get it (see
 * "Memory"): *bytes rounded up to whole 2 MiB pages (and set to that), 2 MiB-
 * aligned, transparent huge pages asked for, pages backed only once
 * written. Free with munmap(p, *bytes). NULL when out of address space. */
void *pk_huge_map(size_t *bytes);

#endif /* PIKA_ENGINE_COLUMNS_H */
