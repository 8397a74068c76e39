/*
 * cache.h — the engine's two caches under one memory budget:
 *
 *   plot columns   the numeric arrays a plot needs (columns.h), so that a
 *                  new viewport, bin count or plot kind over the same data
 *                  re-aggregates in the kernels without running SQL again;
 *   query results  whole results of the SQL a user ran, kept as DuckDB data
 *                  chunks, so that a result grid pages through them and the
 *                  same SQL is answered without running it.
 *
 * Keys
 *   Both are keyed by a fingerprint of the SQL and the database's catalog
 *   version (db.h) at the time the SQL ran, so an import or any DDL through
 *   the same pk_db makes every older entry unreachable by SQL (they age out
 *   of the LRU). The fingerprint is XXH3-128 of the normalised text:
 *   comments removed, runs of white space made one space, letters outside
 *   quotes lower-cased, trailing semicolons dropped — so re-indenting or
 *   re-casing a keyword still hits, while a change inside a string literal
 *   or quoted identifier does not.
 *   A plot-column entry holds a set of columns of one source query (and an
 *   optional ORDER BY column, which line plots need): a request for columns
 *   {x, y} is served by any entry of the same source, order and catalog
 *   version holding at least x and y. Columns are always loaded together,
 *   in one scan, so their rows line up even when the source's row order
 *   is not deterministic (a parallel scan, a join).
 *
 * Memory
 *   One budget (bytes) for the resident arrays and chunks of both caches:
 *   by default the runtime governor's default memory budget (a quarter of
 *   the memory limit that pk_mempress_sample() sees), so that with DuckDB's
 *   memory_limit (half, db.h) a quarter is left to the page cache. When an
 *   insertion takes the total over the budget, unpinned entries are
 *   released from the least recently used end: plot columns are spilled to
 *   a memory-mapped file (written once, mapped read-only, the file unlinked
 *   at once so nothing is left behind even after SIGKILL) as long as the
 *   spill budget allows, which turns them into clean page cache the kernel
 *   may drop and re-read; query results and columns beyond the spill budget
 *   are dropped. An entry bigger than the whole budget is spilled at once.
 *   A memory-pressure monitor (runtime/mempressure.h) trims to half the
 *   budget on HIGH and releases everything unpinned on CRITICAL.
 *   A pinned entry (a handle not yet released) is never spilled or dropped,
 *   so the arrays a handle hands out stay valid until it is released.
 *
 * Query results larger than a quarter of the budget are kept only up to
 *   that size (the first rows); the rest is counted and discarded, and
 *   pk_cache_result_page fetches later pages by running the SQL again with
 *   LIMIT/OFFSET (in the order DuckDB returns rows, which for a plain table
 *   scan is insertion order).
 *
 * Concurrency
 *   Every function is thread-safe. Two threads asking for the same missing
 *   entry load it once: the second waits for the first (and loads it
 *   itself if the first fails or is interrupted). Loads run outside the
 *   cache's lock on the caller's connection, so pk_db_interrupt on that
 *   connection stops them (PK_EINTERRUPTED).
 *
 * Errors: PK_OK or a negative PK_E* code with pk_errmsg filled: those of
 * pk_db_exec and pk_cols_load, PK_ENOMEM, PK_ENOENT (an unknown or evicted
 * result id).
 */
#ifndef PIKA_ENGINE_CACHE_H
#define PIKA_ENGINE_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "engine/columns.h"
#include "engine/db.h"
#include "engine/dindex.h"

typedef struct pk_cache pk_cache;

typedef struct pk_cache_config {
  uint64_t budget;       /* resident bytes; 0: see "Memory" */
  uint64_t spill_budget; /* bytes of spilled columns; 0: 4 x budget; use
                            PK_CACHE_NO_SPILL to never spill */
  const char *spill_dir; /* NULL: $TMPDIR, else /tmp */
  bool no_monitor;       /* do not start the memory-pressure monitor */
} pk_cache_config;

#define PK_CACHE_NO_SPILL UINT64_MAX

/* Creates a cache (and its pressure monitor unless cfg->no_monitor). cfg
 * may be NULL. PK_ENOMEM; PK_ESYS if the monitor cannot start. */
int pk_cache_create(const pk_cache_config *cfg, pk_cache **out, pk_errmsg *e);

/* Frees everything. Every handle must have been released. NULL: no-op. */
void pk_cache_free(pk_cache *c);

typedef struct pk_cache_stats {
  uint64_t budget, resident;      /* bytes */
  uint64_t spill_budget, spilled; /* bytes */
  uint64_t col_entries, result_entries;
  uint64_t hits, misses; /* lookups of either kind since creation */
  uint64_t spills, evictions;
  uint64_t indexes, indexing; /* density indexes held, being built */
} pk_cache_stats;

void pk_cache_stats_get(pk_cache *c, pk_cache_stats *out);

/* Spills or drops unpinned entries (least recently used first) until the
 * resident bytes are at most target. Returns the resident bytes after. */
uint64_t pk_cache_trim(pk_cache *c, uint64_t target);

/* ---- SQL fingerprints ---------------------------------------------------- */

/* Appends the normalised form of sql (see "Keys") to out. */
void pk_sql_normalize(const char *sql, pk_sqlbuf *out);

/* The 128-bit fingerprint of sql's normalised form as 32 hex digits + NUL.
 */
void pk_sql_fingerprint(const char *sql, char hex[33]);

/* ---- plot columns -------------------------------------------------------- */

typedef struct pk_cache_cols pk_cache_cols;

/* The columns `columns[0..n)` of the query `source` (optionally ORDER BY
 * order_by NULLS LAST), loaded on conn if no entry holds them. The view
 * (pk_cache_cols_view) has n columns in request order, named aliases[i]
 * (or columns[i] when aliases is NULL), so a plot builder finds x, y, ...
 * by its own names. Column names are identifiers of source's result (they
 * are quoted in the SQL this builds). A name may appear more than once.
 * *out is released with pk_cache_cols_release. */
int pk_cache_cols_get(pk_cache *c, pk_db_conn *conn, const char *source,
                      const char *const *columns, const char *const *aliases,
                      size_t n, const char *order_by, pk_cache_cols **out,
                      pk_errmsg *e);

/* pk_cache_cols_get for a source that may be too large to be worth loading
 * now (plot_stream.h streams those): a miss loads at most keep rows
 * (pk_cols_load_capped). When the result has more, nothing is cached,
 * *out is NULL and *shape gets its shape: n hollow columns named as the
 * view would name them, with the row count, type flags and extents (free
 * it with pk_cols_free). Otherwise *shape is NULL and *out as from
 * pk_cache_cols_get. The capped load ran one scan of the source; a thread
 * that was waiting for it then loads the columns itself. */
int pk_cache_cols_try(pk_cache *c, pk_db_conn *conn, const char *source,
                      const char *const *columns, const char *const *aliases,
                      size_t n, const char *order_by, size_t keep,
                      pk_cache_cols **out, pk_cols **shape, pk_errmsg *e);

/* The columns, valid until the handle is released. */
const pk_cols *pk_cache_cols_view(const pk_cache_cols *h);
/* Whether the columns came from the cache (no SQL ran). */
bool pk_cache_cols_hit(const pk_cache_cols *h);
void pk_cache_cols_release(pk_cache_cols *h);

/* A second handle on the same entry and view (pinning it once more), for a
 * task that outlives the first; NULL when out of memory. */
pk_cache_cols *pk_cache_cols_retain(pk_cache_cols *h);

/* The density index (dindex.h) of the view's columns named x and y, if it
 * has been built for this entry and not dropped since; valid while h is
 * held. A density count on it equals pk_density2d on those columns. */
const pk_dindex *pk_cache_cols_index(const pk_cache_cols *h, const char *x,
                                     const char *y);

/* Builds that index and keeps it with the entry, its bytes counted against
 * the budget like the columns' (one index per entry; PK_OK at once, doing
 * nothing, if it exists, another thread is building it, or the columns are
 * spilled). Blocks for the build (two
 * passes over the columns; ~2 s for 100M points), so call it from a
 * background task holding its own handle. When the entry's columns are
 * spilled or dropped, the index is dropped with them. Errors: PK_EINVAL
 * (no such view columns), PK_ENOMEM. */
int pk_cache_cols_index_build(pk_cache_cols *h, const char *x, const char *y,
                              pk_errmsg *e);

/* ---- query results ------------------------------------------------------- */

typedef struct pk_cache_result pk_cache_result;

/* Runs sql on conn, or finds it in the cache, and pins the result.
 * Statements that change the catalog run every time (their results are
 * kept for paging but never found by SQL again). *out is released with
 * pk_cache_result_release. */
int pk_cache_result_get(pk_cache *c, pk_db_conn *conn, const char *sql,
                        pk_cache_result **out, pk_errmsg *e);

/* Pins the result with this id (pk_cache_result_id) if it is still cached:
 * PK_OK, or PK_ENOENT. */
int pk_cache_result_find(pk_cache *c, const char *id, pk_cache_result **out,
                         pk_errmsg *e);

/* The result's id: 32 hex digits of fingerprint, '-', the catalog version.
 * Valid until released. */
const char *pk_cache_result_id(const pk_cache_result *h);
bool pk_cache_result_hit(const pk_cache_result *h);
uint64_t pk_cache_result_rows(const pk_cache_result *h);
size_t pk_cache_result_ncols(const pk_cache_result *h);
const char *pk_cache_result_name(const pk_cache_result *h, size_t col);
/* DuckDB's logical type of a column; owned by the cache entry. */
duckdb_logical_type pk_cache_result_type(const pk_cache_result *h, size_t col);
/* Nanoseconds the SQL took when it ran (not when it was found). */
uint64_t pk_cache_result_elapsed_ns(const pk_cache_result *h);

/* Calls fn(arg, chunk, first, count) for the rows [offset, offset + limit)
 * of the result, in order, one call per stretch of a chunk: rows
 * first..first+count-1 of chunk. Rows beyond those kept in memory are
 * fetched with LIMIT/OFFSET on conn (which may then be NULL only if every
 * row is in memory: PK_EINVAL otherwise). fn returns PK_OK to go on. */
typedef int (*pk_cache_rows_fn)(void *arg, duckdb_data_chunk chunk,
                                size_t first, size_t count);
int pk_cache_result_page(pk_cache_result *h, pk_db_conn *conn, uint64_t offset,
                         uint64_t limit, pk_cache_rows_fn fn, void *arg,
                         pk_errmsg *e);

void pk_cache_result_release(pk_cache_result *h);

#endif /* PIKA_ENGINE_CACHE_H */
