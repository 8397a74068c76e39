/*
 * results.h — the server's query results, kept so that the browser can
 * page through them (GET /api/results/ID) and so that the same SQL on an
 * unchanged catalog is answered without running it again.
 *
 * This is the seam for the engine's query-result cache (engine/cache.h,
 * being written): until it lands, results live here, materialised as the
 * JSON text of their rows (json_out.h), under one byte budget; the least
 * recently used result is dropped when a new one does not fit. A result
 * larger than half the budget keeps only its first rows (kept < total);
 * pages past them answer "not found" like an evicted result. Re-pointing
 * the server at the engine cache means reimplementing these few functions.
 *
 * Ids are fingerprints: 32 hex digits of XXH3-128 over the SQL with runs
 * of whitespace collapsed and the ends trimmed, and the catalog version.
 *
 * Thread-safety: every function takes the store's mutex; safe from any
 * thread. Ownership is described per function.
 */
#ifndef PIKA_SERVER_RESULTS_H
#define PIKA_SERVER_RESULTS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#define PK_RESULT_ID_BUF 33

typedef struct pk_results pk_results;

/* budget: bytes of row text kept in all; 0 gives 256 MiB. PK_ENOMEM. */
int pk_results_create(size_t budget, pk_results **out);
/* Frees every result; NULL is a no-op. */
void pk_results_free(pk_results *r);

/* The id of sql at catalog version ver. */
void pk_results_id(const char *sql, uint64_t ver, char out[PK_RESULT_ID_BUF]);

/* Per-result limit for pk_jrows (half the budget). */
size_t pk_results_max_bytes(const pk_results *r);

/* Stores a result under id, taking ownership of columns (a reference),
 * rows (the array and each string) and nothing else; an older entry with
 * the same id is replaced. bytes is the rows' size (pk_jrows.bytes).
 * Evicts least recently used results to stay within the budget. On
 * PK_ENOMEM everything passed is freed. */
int pk_results_put(pk_results *r, const char *id, json_t *columns, char **rows,
                   size_t nrows, uint64_t total_rows, size_t bytes);

/* A page of the result id: *columns a new reference (may be NULL to skip),
 * *rows the JSON array text of rows [offset, offset+limit) clipped to the
 * kept rows (malloc'd), *total the result's total rows. PK_ENOENT when
 * there is no such result or offset is past the kept rows while rows
 * remain (evicted: run it again); PK_ENOMEM. Counts a hit or a miss when
 * count_hit is set (the query path; paging does not count). */
int pk_results_page(pk_results *r, const char *id, uint64_t offset,
                    uint64_t limit, int count_hit, json_t **columns,
                    char **rows, uint64_t *total);

typedef struct pk_results_stats {
  size_t bytes, budget, entries;
  uint64_t hits, misses;
} pk_results_stats;
void pk_results_get_stats(pk_results *r, pk_results_stats *out);

#endif /* PIKA_SERVER_RESULTS_H */
