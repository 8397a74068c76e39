/* bench_kernels.c — the aggregation kernels on arrays in memory (the
 * plot-column cache's case: a new viewport re-aggregates without SQL) against
 * the same aggregation written in DuckDB SQL over the same data in a DuckDB
 * table, in one run, on 10M and 100M points.
 *
 *   kernels.density2d.<N>.*  512 x 512 counts of N (x, y) points over the
 *                            full data range; baseline: GROUP BY binning
 *                            query (same edge rule, see kernels.h).
 *   kernels.m4.<N>.*         M4 of an N-point series sorted by x into 1000
 *                            pixel columns, flattened to points; baseline:
 *                            M4 in SQL (GROUP BY column with min/max and
 *                            arg_min/arg_max).
 *
 * Data: xorshift doubles generated in memory; x uniform, y a sum of two
 * uniforms; the series x increasing by random steps, y a random walk.
 * The arrays are allocated 2 MiB-aligned with MADV_HUGEPAGE (see
 * alloc_doubles). DuckDB load time is not counted (printed for information).
 * Each figure is
 * the best of a few runs. The pool has pk_sys_ncpu() workers and DuckDB runs
 * with threads = pk_sys_ncpu(). If the 100M arrays cannot be allocated, the
 * run falls back to fewer points and says so in a '#' line.
 */
#include <duckdb.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "base/clock.h"
#include "base/error.h"
#include "base/sys.h"
#include "engine/kernels.h"
#include "runtime/pool.h"

static duckdb_connection con;

static void die(const char *what, const char *why) {
  fprintf(stderr, "bench_kernels: %s: %s\n", what, why);
  exit(1);
}

static uint64_t rng = 0x2545f4914f6cdd1du;

static inline double urand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (double)(rng >> 11) * 0x1.0p-53;
}

static double ms_since(uint64_t t0) {
  return (double)(pk_now_ns() - t0) / 1e6;
}

static void exec(const char *sql) {
  duckdb_result res;
  if (duckdb_query(con, sql, &res) != DuckDBSuccess)
    die(sql, duckdb_result_error(&res));
  duckdb_destroy_result(&res);
}

/* CREATE OR REPLACE TABLE name(x DOUBLE, y DOUBLE) from two arrays, by data
 * chunks (a memcpy per vector). */
static void load(const char *name, const double *x, const double *y, size_t n) {
  char sql[128];
  snprintf(sql, sizeof sql, "CREATE OR REPLACE TABLE %s(x DOUBLE, y DOUBLE)",
           name);
  exec(sql);
  duckdb_appender app;
  if (duckdb_appender_create(con, NULL, name, &app) != DuckDBSuccess)
    die("appender", name);
  duckdb_logical_type t[2] = {duckdb_create_logical_type(DUCKDB_TYPE_DOUBLE),
                              duckdb_create_logical_type(DUCKDB_TYPE_DOUBLE)};
  size_t cap = duckdb_vector_size();
  duckdb_data_chunk ch = duckdb_create_data_chunk(t, 2);
  for (size_t base = 0; base < n; base += cap) {
    size_t m = n - base < cap ? n - base : cap;
    duckdb_data_chunk_reset(ch);
    memcpy(duckdb_vector_get_data(duckdb_data_chunk_get_vector(ch, 0)),
           x + base, m * sizeof(double));
    memcpy(duckdb_vector_get_data(duckdb_data_chunk_get_vector(ch, 1)),
           y + base, m * sizeof(double));
    duckdb_data_chunk_set_size(ch, m);
    if (duckdb_append_data_chunk(app, ch) != DuckDBSuccess)
      die("append", duckdb_appender_error(app));
  }
  duckdb_destroy_data_chunk(&ch);
  duckdb_destroy_logical_type(&t[0]);
  duckdb_destroy_logical_type(&t[1]);
  if (duckdb_appender_destroy(&app) != DuckDBSuccess)
    die("appender close", name);
}

/* Runs a prepared query with DOUBLE params; returns ms, *rows the row count
 * and *sum0 the sum of column `sumcol` (a cross-check). */
static double run_sql(duckdb_prepared_statement st, idx_t sumcol,
                      uint64_t *rows, double *sum0) {
  duckdb_result res;
  uint64_t t0 = pk_now_ns();
  if (duckdb_execute_prepared(st, &res) != DuckDBSuccess)
    die("query", duckdb_result_error(&res));
  double ms = ms_since(t0);
  *rows = duckdb_row_count(&res);
  double s = 0;
  for (idx_t r = 0; r < *rows; r++)
    s += duckdb_value_double(&res, sumcol, r);
  *sum0 = s;
  duckdb_destroy_result(&res);
  return ms;
}

static duckdb_prepared_statement prepare(const char *sql, const double *p,
                                         size_t np) {
  duckdb_prepared_statement st;
  if (duckdb_prepare(con, sql, &st) != DuckDBSuccess)
    die(sql, duckdb_prepare_error(st));
  for (size_t i = 0; i < np; i++)
    duckdb_bind_double(st, i + 1, p[i]);
  return st;
}

enum { GRID = 512, COLS = 1000 };

/* n doubles on 2 MiB boundaries with transparent huge pages requested: on
 * this VM that makes first touch of 1.6 GB ~6x faster and a scan of it
 * steadier (fewer TLB misses); the plot-column cache should do the same. */
static double *alloc_doubles(size_t n) {
  void *p;
  if (posix_memalign(&p, (size_t)2 << 20, n * sizeof(double)) != 0)
    return NULL;
  madvise(p, n * sizeof(double), MADV_HUGEPAGE);
  return p;
}

static void bench_size(pk_pool *pool, size_t n, const char *tag, double *px,
                       double *py, double *sx, double *sy, int runs_sql) {
  /* ---- data ---- */
  uint64_t t0 = pk_now_ns();
  double t = 0, walk = 0;
  for (size_t i = 0; i < n; i++) {
    px[i] = urand();
    py[i] = 0.5 * (urand() + urand());
    t += urand();
    sx[i] = t;
    walk += urand() - 0.5;
    sy[i] = walk;
  }
  double gen_ms = ms_since(t0);
  t0 = pk_now_ns();
  load("pts", px, py, n);
  load("ser", sx, sy, n);
  printf("# %s points: generated in %.0f ms, loaded into DuckDB in %.0f ms "
         "(not counted)\n",
         tag, gen_ms, ms_since(t0));

  /* ---- density2d ---- */
  pk_density2d_spec spec = {0, 1, 0, 1, GRID, GRID, PK_KAGG_COUNT};
  uint64_t *counts = malloc((size_t)GRID * GRID * sizeof *counts);
  if (!counts)
    die("malloc", "grid");
  pk_kstats st;
  double best = INFINITY, best1 = INFINITY;
  for (int r = 0; r < 5; r++) {
    t0 = pk_now_ns();
    if (pk_density2d(pool, px, py, NULL, n, &spec, counts, NULL, &st) != PK_OK)
      die("pk_density2d", "failed");
    best = fmin(best, ms_since(t0));
  }
  for (int r = 0; r < 2; r++) {
    t0 = pk_now_ns();
    pk_density2d(NULL, px, py, NULL, n, &spec, counts, NULL, &st);
    best1 = fmin(best1, ms_since(t0));
  }
  uint64_t cells = 0;
  for (size_t i = 0; i < (size_t)GRID * GRID; i++)
    cells += counts[i] != 0;
  double p[8] = {spec.x0, GRID / (spec.x1 - spec.x0), GRID,   spec.x1,
                 spec.y0, GRID / (spec.y1 - spec.y0), spec.y1};
  duckdb_prepared_statement q = prepare(
      "SELECT least(floor((x - $1::DOUBLE) * $2::DOUBLE), $3::DOUBLE - "
      "1)::INTEGER AS ix, least(floor((y - $5::DOUBLE) * $6::DOUBLE), "
      "$3::DOUBLE - 1)::INTEGER AS iy, count(*) AS n FROM pts WHERE x >= "
      "$1::DOUBLE AND x < $4::DOUBLE AND y >= $5::DOUBLE AND y < $7::DOUBLE "
      "GROUP BY ALL",
      p, 7);
  double sql = INFINITY, total = 0;
  uint64_t rows = 0;
  for (int r = 0; r < runs_sql; r++)
    sql = fmin(sql, run_sql(q, 2, &rows, &total));
  duckdb_destroy_prepare(&q);
  if (rows != cells || (uint64_t)total != st.counted)
    die("density2d", "DuckDB and the kernel disagree");
  printf("kernels.density2d.%s.ours %.1f ms\n", tag, best);
  printf("kernels.density2d.%s.ours_1thread %.1f ms\n", tag, best1);
  printf("kernels.density2d.%s.duckdb %.1f ms\n", tag, sql);
  printf("kernels.density2d.%s.points_per_s %.3g points/s\n", tag,
         (double)n / best * 1e3);
  printf("kernels.density2d.%s.ratio %.1f x\n", tag, sql / best);
  free(counts);

  /* ---- M4 ---- */
  double x0 = sx[0], x1 = sx[n - 1];
  pk_m4_col *cols = malloc(COLS * sizeof *cols);
  size_t *idx = malloc(4 * COLS * sizeof *idx);
  double *ox = malloc(4 * COLS * sizeof *ox), *oy = malloc(4 * COLS * 8);
  if (!cols || !idx || !ox || !oy)
    die("malloc", "m4");
  size_t npts = 0;
  best = best1 = INFINITY;
  for (int r = 0; r < 5; r++) {
    t0 = pk_now_ns();
    if (pk_m4(pool, sx, sy, n, x0, x1, COLS, cols, &st) != PK_OK)
      die("pk_m4", "failed");
    npts = pk_m4_points(cols, COLS, sx, sy, idx, ox, oy);
    best = fmin(best, ms_since(t0));
  }
  for (int r = 0; r < 2; r++) {
    t0 = pk_now_ns();
    pk_m4(NULL, sx, sy, n, x0, x1, COLS, cols, &st);
    pk_m4_points(cols, COLS, sx, sy, idx, ox, oy);
    best1 = fmin(best1, ms_since(t0));
  }
  double ymin_sum = 0;
  for (size_t c = 0; c < COLS; c++)
    ymin_sum += cols[c].n ? sy[cols[c].imin] : 0;
  double pm[4] = {x0, COLS / (x1 - x0), COLS, x1};
  q = prepare("SELECT least(floor((x - $1::DOUBLE) * $2::DOUBLE), $3::DOUBLE "
              "- 1)::INTEGER AS c, min(y) AS ymin, max(y), min(x), max(x), "
              "arg_min(y, x), arg_max(y, x), arg_min(x, y), arg_max(x, y) "
              "FROM ser WHERE x >= $1::DOUBLE AND x < $4::DOUBLE GROUP BY c",
              pm, 4);
  sql = INFINITY;
  for (int r = 0; r < runs_sql; r++)
    sql = fmin(sql, run_sql(q, 1, &rows, &total));
  duckdb_destroy_prepare(&q);
  if (fabs(total - ymin_sum) > 1e-6 * (1 + fabs(total)))
    die("m4", "DuckDB and the kernel disagree");
  printf("# m4 %s: %zu columns -> %zu points\n", tag, (size_t)rows, npts);
  printf("kernels.m4.%s.ours %.1f ms\n", tag, best);
  printf("kernels.m4.%s.ours_1thread %.1f ms\n", tag, best1);
  printf("kernels.m4.%s.duckdb %.1f ms\n", tag, sql);
  printf("kernels.m4.%s.ratio %.1f x\n", tag, sql / best);
  free(cols);
  free(idx);
  free(ox);
  free(oy);
  exec("DROP TABLE pts");
  exec("DROP TABLE ser");
}

int main(void) {
  int ncpu = pk_sys_ncpu();
  duckdb_database db;
  if (duckdb_open(NULL, &db) != DuckDBSuccess ||
      duckdb_connect(db, &con) != DuckDBSuccess)
    die("duckdb", "cannot open an in-memory database");
  char sql[64];
  snprintf(sql, sizeof sql, "SET threads = %d", ncpu);
  exec(sql);
  pk_pool_config cfg = {.name = "pk-bench", .nthreads = ncpu};
  pk_pool *pool;
  if (pk_pool_create(&cfg, &pool) != PK_OK)
    die("pool", "cannot create");

  size_t big = 100000000;
  double *a[4] = {0};
  for (;;) {
    for (int i = 0; i < 4; i++)
      a[i] = alloc_doubles(big);
    if (a[0] && a[1] && a[2] && a[3])
      break;
    for (int i = 0; i < 4; i++)
      free(a[i]);
    if (big <= 10000000)
      die("malloc", "cannot allocate 4 x 10M doubles");
    printf("# could not allocate 4 x %zu doubles; falling back to half\n", big);
    big /= 2;
  }
  printf("# bench_kernels: %d cpus, pool of %d workers, DuckDB threads=%d; "
         "ratio = DuckDB ms / ours ms (speed-up, higher is better); best of "
         "5 (ours) and of 3 or 2 (DuckDB) runs; a shared machine\n",
         ncpu, ncpu, ncpu);
  bench_size(pool, 10000000, "10m", a[0], a[1], a[2], a[3], 3);
  char tag[32];
  snprintf(tag, sizeof tag, "%zum", big / 1000000);
  bench_size(pool, big, tag, a[0], a[1], a[2], a[3], 2);
  for (int i = 0; i < 4; i++)
    free(a[i]);
  pk_pool_free(pool);
  duckdb_disconnect(&con);
  duckdb_close(&db);
  return 0;
}
