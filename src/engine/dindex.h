/*
 * dindex.h — the density index: a copy of a set of (x, y) points laid out
 * so that a density count for a new viewport (pk_density2d with
 * PK_KAGG_COUNT) reads about 2 bytes a point instead of 16, and nothing for
 * points whose x is outside the viewport, with a result identical to
 * pk_density2d's.
 *
 * Why. Counting 100M points streams 1.6 GB of x and y per viewport, which
 * on a 2-core machine is memory-bound at ~140 ms; a browser zoom wants the
 * refined frame sooner. Exact counts rule out sampling and pre-binned tiles
 * (a viewport's bins never line up with a fixed grid).
 *
 * Layout. The finite extent of x and of y is cut into PK_DINDEX_LEVELS
 * levels each (any cut is correct; an even one is fast). Points with a
 * finite x and y are stored sorted by x level (a counting sort; within a
 * level in input order): their x, their y, and their y level as a 16-bit
 * number. Per x level: where its points start, their smallest and largest
 * x; per y level: the smallest and largest y of all points in it.
 *
 * Why it is exact. The kernels' inside test and bin (kernel_par.h) are
 * monotone in the value, so every point of a level whose actual minimum and
 * maximum both fall in bin b falls in bin b, and a level whose maximum is
 * below the viewport (or minimum at or above its end) is wholly outside. A
 * count therefore classifies each x level once: wholly outside (skipped,
 * unread), wholly in one pixel column (its points only look up their y
 * level in a table built per call from the y levels' minimum and maximum:
 * a row, "outside", or "ambiguous" — a y level straddling a row boundary or
 * a viewport edge, whose points are tested on their exact y), or straddling
 * (every point binned from its exact x and y, as pk_density2d does). At the
 * whole extent about one level in PK_DINDEX_LEVELS / (pixels) is ambiguous,
 * so nearly every point costs one 2-byte read and two table look-ups.
 * tests/engine/test_dindex.c checks equality with pk_density2d, stats
 * included, on random data, clusters and the edge cases.
 *
 * Memory: 18 bytes per finite point plus ~2.5 MiB, in 2 MiB-aligned huge
 * page mappings (pk_huge_map). Build: two passes over x and y, the second a
 * scatter; single-threaded (it is meant to run in the background).
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

/* Indexes the n points (x[i], y[i]). ext (optional) is {xlo, xhi, ylo, yhi},
 * the finite extents if the caller knows them (pk_col's min/max), which
 * saves a pass; they only steer the levels (a wrong one costs speed, not
 * exactness). *out is freed with pk_dindex_free. */
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
