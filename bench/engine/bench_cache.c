/* bench_cache.c — the plot path the server runs, end to end through the
 * engine's API: a DuckDB table of N rows, pk_plot_load through the
 * plot-column cache, pk_plot_build (kernels), and for the first plot the
 * PNG render. Against the same aggregation written in DuckDB SQL on the same
 * table, in the same run.
 *
 *   cache.first_plot.<N>        scatter of a table "from nothing", as the
 *                               server makes it (pk_plot_run): streamed,
 *                               density raster of the full extent, PNG
 *                               1000 x 600 in memory
 *   cache.fill.<N>              the same plot through the cache from
 *                               nothing: scan the two columns into it (what
 *                               the server does next, in the background),
 *                               density, PNG
 *   cache.density.<N>.*         a new viewport (zoomed) of that scatter:
 *                               cache hit + density2d of 500 x 300 cells;
 *                               baseline: the GROUP BY binning query of the
 *                               same viewport and grid
 *   cache.dindex.<N>.build      building the entry's density index
 *                               (engine/dindex.h), as the server does in
 *                               the background after a large density plot
 *   cache.dindex.<N>.zoom       the same new viewports through the index
 *                               (checked: the same points as the scan)
 *   cache.dindex.<N>.whole      the whole extent at 1500 x 950 px (a wheel
 *                               zoom's refinement), scan vs index
 *   cache.m4.<N>.*              a new x range of a line plot of an N-point
 *                               series: cache hit + M4 into 1000 columns;
 *                               baseline: M4 in SQL over the same range
 *
 * Usage: bench_cache [ROWS] (default 100000000). Figures: best of 5 runs
 * for ours, of 3 for DuckDB; first plot is one run (it is a first). The
 * cross-checks compare the number of points/cells each side counted.
 */
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/sys.h"
#include "engine/cache.h"
#include "engine/db.h"
#include "engine/plot.h"
#include "engine/plot_stream.h"
#include "render/render.h"
#include "runtime/pool.h"

static pk_db *db;
static pk_db_conn *conn;
static pk_errmsg e;

static void die(const char *what) {
  fprintf(stderr, "bench_cache: %s: %s\n", what, e.text);
  exit(1);
}

static double ms_since(uint64_t t0) {
  return (double)(pk_now_ns() - t0) / 1e6;
}

static void exec(const char *sql) {
  if (pk_db_exec(conn, sql, NULL, &e) != PK_OK)
    die(sql);
}

static int64_t qint(const char *sql, double *ms) {
  int64_t v = 0;
  uint64_t t0 = pk_now_ns();
  if (pk_db_query_int64(conn, sql, &v, &e) != PK_OK)
    die(sql);
  *ms = ms_since(t0);
  return v;
}

/* One plot for spec from the cache: load (hit or miss) + build, with the
 * entry's density index when `indexed` and there is one. Returns ms and the
 * points counted; *hit says whether SQL ran. */
static double plot_once(pk_cache *c, pk_pool *pool, const pk_plot_spec *s,
                        const char *src, size_t *points, bool *hit,
                        unsigned char **png, size_t *png_len, bool indexed) {
  uint64_t t0 = pk_now_ns();
  pk_cache_cols *h = NULL;
  if (pk_plot_load(c, conn, s, src, &h, &e) != PK_OK)
    die("pk_plot_load");
  pk_plot_out *o = NULL;
  const pk_dindex *dix = indexed ? pk_cache_cols_index(h, "x", "y") : NULL;
  if (pk_plot_build_indexed(pool, s, pk_cache_cols_view(h), dix, &o, &e) !=
      PK_OK)
    die("pk_plot_build");
  if (png && pk_render_png_buffer(pk_plot_out_model(o), s->width, s->height,
                                  100, png, png_len, NULL, &e) != PK_OK)
    die("render");
  double ms = ms_since(t0);
  *points = pk_plot_out_points(o);
  *hit = pk_cache_cols_hit(h);
  pk_plot_out_free(o);
  pk_cache_cols_release(h);
  return ms;
}

int main(int argc, char **argv) {
  /* The heap settings `pika open` runs with (cmd/open.c): each plot's grids
   * are reused from the heap, not mapped and faulted in anew. */
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  long long n = argc > 1 ? atoll(argv[1]) : 100000000LL;
  if (n < 1000)
    n = 1000;
  char tag[32];
  snprintf(tag, sizeof tag, "%lldm", n / 1000000);
  int ncpu = pk_sys_ncpu();
  pk_db_config cfg = {.path = ":memory:"};
  if (pk_db_open(&cfg, &db, &e) != PK_OK)
    die("open");
  if (pk_db_acquire(db, PK_DB_WRITER, &conn) != PK_OK)
    die("acquire");
  pk_pool_config pc = {.name = "pk-bench", .nthreads = ncpu};
  pk_pool *pool;
  if (pk_pool_create(&pc, &pool) != PK_OK)
    die("pool");
  pk_cache *cache;
  if (pk_cache_create(NULL, &cache, &e) != PK_OK)
    die("cache");
  pk_cache_stats st;
  pk_cache_stats_get(cache, &st);
  printf("# bench_cache: %d cpus, DuckDB threads=%d memory_limit=%.1f GiB, "
         "cache budget %.1f GiB; ratio = DuckDB ms / ours ms\n",
         ncpu, pk_db_threads(db), (double)pk_db_memory_limit(db) / (1 << 30),
         (double)st.budget / (1 << 30));

  char sql[512];
  uint64_t t0 = pk_now_ns();
  snprintf(sql, sizeof sql,
           "CREATE TABLE pts AS SELECT random() AS x, random() + random() AS "
           "y FROM range(%lld)",
           n);
  exec(sql);
  snprintf(sql, sizeof sql,
           "CREATE TABLE ser AS SELECT i + random() * 0.5 AS x, sin(i / "
           "1e5) + random() * 0.1 AS y FROM range(%lld) t(i)",
           n);
  exec(sql);
  printf("# tables of %lld rows made in %.1f s (not counted)\n", n,
         ms_since(t0) / 1e3);

  /* ---- first plot from nothing ---- */
  pk_plot_spec sc = {.kind = PK_PLOT_SCATTER,
                     .x = "x",
                     .y = "y",
                     .width = 1000,
                     .height = 600};
  size_t pts = 0;
  bool hit = false;
  unsigned char *png = NULL;
  size_t png_len = 0;
  t0 = pk_now_ns();
  pk_plot_result fr;
  if (pk_plot_run(cache, conn, pool, &sc, "SELECT * FROM pts",
                  PK_PLOT_STREAM_MIN_ROWS, &fr, &e) != PK_OK)
    die("pk_plot_run");
  if (pk_render_png_buffer(pk_plot_out_model(fr.out), sc.width, sc.height, 100,
                           &png, &png_len, NULL, &e) != PK_OK)
    die("render");
  double first = ms_since(t0);
  pts = pk_plot_out_points(fr.out);
  if (!fr.shape || pts != (size_t)n || png_len < 1000)
    die("first plot: unexpected result");
  pk_plot_result_free(&fr);
  free(png);
  printf("cache.first_plot.%s %.0f ms (two streamed scans, density, PNG "
         "%zu bytes)\n",
         tag, first, png_len);
  /* What the server then does in the background, and the first plot took
   * before it streamed: the columns into the cache, density, PNG. */
  double fill = plot_once(cache, pool, &sc, "SELECT * FROM pts", &pts, &hit,
                          &png, &png_len, false);
  if (hit || pts != (size_t)n || png_len < 1000)
    die("cache fill: unexpected result");
  free(png);
  printf("cache.fill.%s %.0f ms (scan into the cache, density, PNG)\n", tag,
         fill);

  /* ---- density2d for a new viewport ---- */
  pk_plot_spec zs = sc;
  zs.width = 1000, zs.height = 600;
  zs.x_fixed = zs.y_fixed = true;
  zs.x0 = 0.25, zs.x1 = 0.75, zs.y0 = 0.5, zs.y1 = 1.5;
  double best = INFINITY;
  for (int r = 0; r < 5; r++) {
    zs.x0 = 0.25 + r * 1e-3; /* each run a new viewport */
    best = fmin(best, plot_once(cache, pool, &zs, "SELECT * FROM pts", &pts,
                                &hit, NULL, NULL, false));
    if (!hit)
      die("density viewport missed the cache");
  }
  double sqlms = INFINITY, ms;
  int64_t cnt = 0;
  for (int r = 0; r < 3; r++) {
    snprintf(sql, sizeof sql,
             "SELECT sum(c) FROM (SELECT floor((x - %.17g) * %.17g)::INT AS "
             "ix, floor((y - %.17g) * %.17g)::INT AS iy, count(*) AS c FROM "
             "pts WHERE x >= %.17g AND x < %.17g AND y >= %.17g AND y < %.17g "
             "GROUP BY ALL)",
             zs.x0, 500 / (zs.x1 - zs.x0), zs.y0, 300 / (zs.y1 - zs.y0), zs.x0,
             zs.x1, zs.y0, zs.y1);
    cnt = qint(sql, &ms);
    sqlms = fmin(sqlms, ms);
  }
  if (cnt != (int64_t)pts)
    fprintf(stderr, "# density: DuckDB counted %lld, ours %zu\n",
            (long long)cnt, pts);
  printf("cache.density.%s.ours %.1f ms (%zu points in the viewport)\n", tag,
         best, pts);
  printf("cache.density.%s.duckdb %.1f ms\n", tag, sqlms);
  printf("cache.density.%s.ratio %.1f x\n", tag, sqlms / best);

  /* ---- the same viewports through the density index ---- */
  pk_cache_cols *h = NULL;
  if (pk_plot_load(cache, conn, &sc, "SELECT * FROM pts", &h, &e) != PK_OK)
    die("pk_plot_load");
  t0 = pk_now_ns();
  if (pk_cache_cols_index_build(h, "x", "y", &e) != PK_OK)
    die("index");
  double build_ms = ms_since(t0);
  pk_cache_cols_release(h);
  printf("cache.dindex.%s.build %.0f ms (one thread, in the background)\n", tag,
         build_ms);
  double scan_best = best, ibest = INFINITY;
  size_t ipts = 0;
  for (int r = 0; r < 5; r++) {
    zs.x0 = 0.25 + r * 1e-3;
    ibest = fmin(ibest, plot_once(cache, pool, &zs, "SELECT * FROM pts", &ipts,
                                  &hit, NULL, NULL, true));
  }
  zs.x0 = 0.25 + 4 * 1e-3;
  plot_once(cache, pool, &zs, "SELECT * FROM pts", &pts, &hit, NULL, NULL,
            false);
  if (ipts != pts)
    die("indexed density counted other points than the scan");
  printf("cache.dindex.%s.zoom %.1f ms (scan %.1f ms: %.1f x; DuckDB %.1f x)\n",
         tag, ibest, scan_best, scan_best / ibest, sqlms / ibest);
  /* The whole extent at the browser bench's raster (1500 x 950 px), where
   * a wheel zoom's refinements land. */
  pk_plot_spec fs = sc;
  fs.width = 1500, fs.height = 950;
  fs.x_fixed = fs.y_fixed = true;
  double fscan = INFINITY, fidx = INFINITY;
  for (int r = 0; r < 5; r++) {
    fs.x0 = -0.05 + r * 1e-3, fs.x1 = 1.05, fs.y0 = -0.1, fs.y1 = 2.1;
    fscan = fmin(fscan, plot_once(cache, pool, &fs, "SELECT * FROM pts", &pts,
                                  &hit, NULL, NULL, false));
    fidx = fmin(fidx, plot_once(cache, pool, &fs, "SELECT * FROM pts", &ipts,
                                &hit, NULL, NULL, true));
    if (ipts != pts)
      die("indexed density counted other points than the scan");
  }
  printf("cache.dindex.%s.whole %.1f ms (scan %.1f ms: %.1f x)\n", tag, fidx,
         fscan, fscan / fidx);

  /* ---- M4 for a new x range ---- */
  pk_plot_spec ls = {
      .kind = PK_PLOT_LINE, .x = "x", .y = "y", .width = 1000, .height = 600};
  t0 = pk_now_ns();
  plot_once(cache, pool, &ls, "SELECT * FROM ser", &pts, &hit, NULL, NULL,
            false);
  printf("# m4: first load of the sorted series %.1f s (not counted)\n",
         ms_since(t0) / 1e3);
  ls.x_fixed = true;
  best = INFINITY;
  for (int r = 0; r < 5; r++) {
    ls.x0 = (double)n * (0.1 + r * 0.01), ls.x1 = (double)n * 0.6;
    best = fmin(best, plot_once(cache, pool, &ls, "SELECT * FROM ser", &pts,
                                &hit, NULL, NULL, false));
    if (!hit)
      die("m4 range missed the cache");
  }
  sqlms = INFINITY;
  for (int r = 0; r < 3; r++) {
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM (SELECT floor((x - %.17g) * %.17g)::INT AS "
             "c, min(y), max(y), arg_min(y, x), arg_max(y, x), arg_min(x, "
             "y), arg_max(x, y) FROM ser WHERE x >= %.17g AND x <= %.17g "
             "GROUP BY c)",
             ls.x0, 1000 / (ls.x1 - ls.x0), ls.x0, ls.x1);
    qint(sql, &ms);
    sqlms = fmin(sqlms, ms);
  }
  printf("cache.m4.%s.ours %.1f ms (%zu points in the range)\n", tag, best,
         pts);
  printf("cache.m4.%s.duckdb %.1f ms\n", tag, sqlms);
  printf("cache.m4.%s.ratio %.1f x\n", tag, sqlms / best);

  pk_cache_stats_get(cache, &st);
  printf("# cache: %.2f GiB resident, %.2f GiB spilled, %llu hits, %llu "
         "misses\n",
         (double)st.resident / (1 << 30), (double)st.spilled / (1 << 30),
         (unsigned long long)st.hits, (unsigned long long)st.misses);
  pk_cache_free(cache);
  pk_pool_free(pool);
  pk_db_release(conn);
  pk_db_close(db);
  return 0;
}
