/*
 * dindex.h — the density index: an ordering and coding of a set of (x, y)
 * points such that a density count for a new viewport (pk_density2d with
 * PK_KAGG_COUNT) reads about 2 bytes a point instead of 16, and nothing for
 * points whose x level is outside the viewport, with a result identical to
 * pk_density2d's.
 *
 * Why. Counting 100M points streams 1.6 GB of x and y per viewport, which
 * on a 2-core machine is memory-bound at ~140 ms; a browser zoom wants the
 * refined frame sooner. Exact counts rule out sampling and pre-binned tiles
 * (a viewport's bins never line up with a fixed grid).
 *
 * Layout. Each value gets a 24-bit code, floor((v - lo) * 2^24 / (hi -
 * lo)) over the finite extent, clamped (any extent is correct; the data's
 * own is fast). Points with a finite x and y are stored sorted by x level
 * (the x code's high 16 bits; a counting sort, within a level in input
 * order) as their row number in the caller's arrays, their y level, and the
 * low bytes of both codes: 8 bytes a point. x levels start at off[level].
 *
 * Why it is exact. The codes are monotone in the value, and so are the
 * kernels' inside test and bin (kernel_par.h). A count finds, on each axis,
 * the smallest value of every bin (bisection over doubles) and its code:
 * a code strictly between two such boundary codes lies wholly in one bin,
 * one equal to a boundary code is ambiguous. So an x level without a
 * column boundary is wholly in one pixel column (or wholly outside: not
 * read at all), and its points only look up their y level in a table: a
 * row, "outside", or — for the ~(rows + 1) levels holding a row boundary —
 * a 256-entry table over the code's low byte. Only points whose code equals
 * a boundary code (about one in 256 of those levels' points) read their
 * exact value from the caller's arrays. tests/engine/test_dindex.c checks
 * equality with pk_density2d, stats included, on random data, clusters
 * and the edge cases.
 *
 * Memory: 8 bytes per finite point plus 0.5 MiB, in huge-page mappings
 * (pk_huge_map); a count allocates a partial grid per share and two tables
 * (at most 16 MiB each; more than ~16000 bins on an axis makes it scan).
 * Build: two passes over x and y, the second a scatter in two 256-way
 * steps; single-threaded (it is meant to run in the background).
 *
 * Threads: an index is immutable once built; any number of threads may
 * count on it at once. Errors: PK_OK, PK_EINVAL (arguments; n >= 2^32),
 * PK_ENOMEM.
 */
#ifndef PIKA_ENGINE_DINDEX_H
#define PIKA_ENGINE_DINDEX_H

#include <stddef.h>
#include <stdint.h>

#include "engine/kernels.h"
#include "runtime/pool.h"

#define PK_DINDEX_LEVELS 65536

typedef struct pk_dindex pk_dindex;

/* Indexes the n points (x[i], y[i]). The index refers to x and y, which
 * must stay valid and unchanged until it is freed. ext (optional) is {xlo,
 * xhi, ylo, yhi}, the finite extents if the caller knows them (pk_col's
 * min/max), which saves a pass; they only steer the codes (a wrong one
 * costs speed, not exactness). *out is freed with pk_dindex_free. */
int pk_dindex_build(const double *x, const double *y, size_t n,
                    const double ext[4], pk_dindex **out);

/* What pk_density2d(pool, x, y, NULL, n, spec, counts, NULL, stats) gives
 * for the indexed points, with spec->agg == PK_KAGG_COUNT (else PK_EINVAL);
 * the same spec checks and the same threading. */
int pk_dindex_count(pk_pool *pool, const pk_dindex *ix,
                    const pk_density2d_spec *spec, uint64_t *counts,
                    pk_kstats *stats);

/* Bytes the index holds (for the cache's budget). */
uint64_t pk_dindex_bytes(const pk_dindex *ix);

/* NULL: no-op. */
void pk_dindex_free(pk_dindex *ix);

#endif /* PIKA_ENGINE_DINDEX_H */
