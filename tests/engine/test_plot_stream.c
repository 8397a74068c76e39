/* test_plot_stream.c — engine/plot_stream.h and what it stands on: capped
 * loads and batch scans (columns.h), pk_cache_cols_try (cache.h), and the
 * streamed picture, which must equal the one built from the cache cell
 * for cell on the same data (NULL, NaN, ±inf, time axes, fixed viewports),
 * falling back to the cache where a stream cannot be exact. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/cache.h"
#include "engine/db.h"
#include "engine/plot_stream.h"
#include "test.h"

static pk_db *db;
static pk_errmsg e;

static void exec(const char *sql) {
  pk_db_conn *c;
  ASSERT_OK(pk_db_acquire(db, PK_DB_WRITER, &c));
  if (pk_db_exec(c, sql, NULL, &e) != PK_OK)
    TEST_FAIL_("%s: %s", sql, e.text);
  pk_db_release(c);
}

static pk_db_conn *reader(void) {
  pk_db_conn *c;
  ASSERT_OK(pk_db_acquire(db, PK_DB_READER, &c));
  return c;
}

static pk_cache *mk(void) {
  pk_cache_config cfg = {.no_monitor = true};
  pk_cache *c = NULL;
  ASSERT_OK(pk_cache_create(&cfg, &c, &e));
  return c;
}

static bool same_double(double a, double b) {
  return memcmp(&a, &b, sizeof a) == 0;
}

/* ---- capped loads and scans ---------------------------------------------- */

typedef struct gathered {
  double *v[2];
  size_t n, batches, max_batch, fail_at;
} gathered;

static int gather(void *arg, const pk_cols *b, pk_errmsg *err) {
  gathered *g = arg;
  if (++g->batches == g->fail_at)
    return pk_errmsg_set(err, PK_ENOMEM, "stop here");
  ASSERT_EQ(b->ncols, 2);
  ASSERT(b->nrows >= 1);
  if (b->nrows > g->max_batch)
    g->max_batch = b->nrows;
  for (size_t k = 0; k < 2; k++)
    memcpy(g->v[k] + g->n, b->cols[k].v, b->nrows * sizeof(double));
  g->n += b->nrows;
  return PK_OK;
}

static void test_capped_and_scan(void) {
  exec("CREATE TABLE t AS SELECT i, CASE WHEN i % 97 = 0 THEN NULL WHEN i % "
       "89 = 0 THEN 'inf'::DOUBLE WHEN i % 83 = 0 THEN 'nan'::DOUBLE ELSE "
       "(i * 7919 % 10007) / 3.0 END AS x, TIMESTAMP '2024-01-01' + "
       "INTERVAL (i) SECOND AS ts, 'g' || (i % 5) AS s FROM range(10000) "
       "r(i)");
  const char *sql = "SELECT x, ts FROM t ORDER BY i";
  pk_db_conn *c = reader();
  pk_cols *full = NULL, *kept = NULL, *hollow = NULL;
  ASSERT_OK(pk_cols_load(c, sql, &full, &e));
  ASSERT_OK(pk_cols_load_capped(c, sql, 10000, &kept, &e));
  ASSERT(!full->hollow && !kept->hollow);
  ASSERT_EQ(kept->nrows, 10000);
  for (size_t i = 0; i < 10000; i++)
    ASSERT(same_double(full->cols[0].v[i], kept->cols[0].v[i]));

  ASSERT_OK(pk_cols_load_capped(c, sql, 9999, &hollow, &e));
  ASSERT(hollow->hollow);
  ASSERT_EQ(hollow->nrows, 10000);
  ASSERT_EQ(hollow->ncols, 2);
  for (size_t k = 0; k < 2; k++) {
    ASSERT(hollow->cols[k].v == NULL);
    ASSERT(hollow->cols[k].ranged);
    ASSERT(same_double(hollow->cols[k].min, full->cols[k].min));
    ASSERT(same_double(hollow->cols[k].max, full->cols[k].max));
    ASSERT_EQ(hollow->cols[k].is_time, full->cols[k].is_time);
  }
  ASSERT(hollow->cols[1].is_time);
  pk_cols_free(hollow);

  /* Categorical labels survive a hollow load. */
  ASSERT_OK(pk_cols_load_capped(c, "SELECT s FROM t", 10, &hollow, &e));
  ASSERT(hollow->hollow && hollow->cols[0].is_categorical);
  ASSERT_EQ(hollow->cols[0].nlabels, 5);
  pk_cols_free(hollow);

  /* Batches of 3000 rows never split a 2048-row chunk: 2048 each; a batch
   * below DuckDB's vector size is raised to it. */
  size_t batch_sizes[] = {3000, 0, 100000};
  for (size_t t = 0; t < 3; t++) {
    gathered g = {
        .v = {malloc(10000 * sizeof(double)), malloc(10000 * sizeof(double))}};
    ASSERT_OK(pk_cols_scan(c, sql, batch_sizes[t], gather, &g, &e));
    ASSERT_EQ(g.n, 10000);
    ASSERT_LE(g.max_batch, batch_sizes[t] > 2048 ? batch_sizes[t] : 2048);
    ASSERT_EQ(g.batches, t == 2 ? 1 : 5);
    for (size_t k = 0; k < 2; k++)
      for (size_t i = 0; i < 10000; i++)
        ASSERT(same_double(full->cols[k].v[i], g.v[k][i]));
    free(g.v[0]);
    free(g.v[1]);
  }
  /* The batch function's error stops the scan and comes back. */
  gathered g = {
      .v = {malloc(10000 * sizeof(double)), malloc(10000 * sizeof(double))},
      .fail_at = 2};
  e.text[0] = '\0';
  ASSERT_ERR(pk_cols_scan(c, sql, 0, gather, &g, &e), PK_ENOMEM);
  ASSERT_STREQ(e.text, "stop here");
  free(g.v[0]);
  free(g.v[1]);
  /* An empty result: no batch. */
  g = (gathered){0};
  ASSERT_OK(
      pk_cols_scan(c, "SELECT x, ts FROM t WHERE false", 0, gather, &g, &e));
  ASSERT_EQ(g.batches, 0);
  pk_cols_free(full);
  pk_cols_free(kept);
  pk_db_release(c);
}

/* ---- streamed pictures ----------------------------------------------------
 */

static pk_plot_result run(pk_cache *cache, const pk_plot_spec *s,
                          const char *src, size_t stream_min_rows) {
  pk_db_conn *c = reader();
  pk_plot_result r;
  if (pk_plot_run(cache, c, NULL, s, src, stream_min_rows, &r, &e))
    TEST_FAIL_("pk_plot_run %s: %s", src, e.text);
  pk_db_release(c);
  return r;
}

/* The streamed plot equals the cached one: kind, grid, points, binning. */
static void same_picture(const pk_plot_result *a, const pk_plot_result *b) {
  const pk_plot *pa = pk_plot_out_model(a->out),
                *pb = pk_plot_out_model(b->out);
  ASSERT_EQ(pa->kind, pb->kind);
  ASSERT_EQ(pa->x.scale, pb->x.scale);
  ASSERT_EQ(pa->y.scale, pb->y.scale);
  ASSERT_EQ(pk_plot_out_points(a->out), pk_plot_out_points(b->out));
  pk_plot_binning ax, ay, bx, by;
  pk_plot_out_binning(a->out, &ax, &ay);
  pk_plot_out_binning(b->out, &bx, &by);
  ASSERT(ax.used && ay.used);
  ASSERT(same_double(ax.lo, bx.lo) && same_double(ax.hi, bx.hi));
  ASSERT(same_double(ay.lo, by.lo) && same_double(ay.hi, by.hi));
  ASSERT_EQ(ax.n, bx.n);
  ASSERT_EQ(ay.n, by.n);
  ASSERT_EQ(pa->grid.nx, pb->grid.nx);
  ASSERT_EQ(pa->grid.ny, pb->grid.ny);
  double total = 0;
  for (size_t i = 0; i < pa->grid.nx * pa->grid.ny; i++) {
    ASSERT(same_double(pa->grid.v[i], pb->grid.v[i]));
    total += pa->grid.v[i];
  }
  ASSERT_EQ((size_t)total, pk_plot_out_points(a->out));
  const pk_cols *ca = pk_plot_result_cols(a), *cb = pk_plot_result_cols(b);
  ASSERT_EQ(ca->nrows, cb->nrows);
  for (size_t k = 0; k < 2; k++) {
    const char *nm = k ? "y" : "x";
    const pk_col *u = pk_cols_find(ca, nm), *v = pk_cols_find(cb, nm);
    ASSERT(same_double(u->min, v->min) && same_double(u->max, v->max));
  }
}

static void test_stream_equals_cache(void) {
  exec("CREATE TABLE p AS SELECT CASE WHEN i % 101 = 0 THEN NULL WHEN i % "
       "103 = 0 THEN 'nan'::DOUBLE WHEN i % 107 = 0 THEN '-inf'::DOUBLE ELSE "
       "sin(i * 0.001) * 1e3 + (i % 13) END AS x, (i * 2654435761 % 1000003) "
       "/ 7.0 AS y, i::INTEGER AS n, TIMESTAMP '2020-01-01' + INTERVAL (i) "
       "MINUTE AS ts, 'c' || (i % 3) AS cat FROM range(300000) r(i)");
  const char *src = "SELECT * FROM p";
  pk_plot_spec specs[] = {
      {.kind = PK_PLOT_SCATTER,
       .x = "x",
       .y = "y",
       .width = 640,
       .height = 400},
      {.kind = PK_PLOT_DENSITY,
       .x = "n",
       .y = "x",
       .width = 300,
       .height = 200},
      {.kind = PK_PLOT_HEATMAP, .x = "x", .y = "y", .bins = 37},
      {.kind = PK_PLOT_SCATTER,
       .x = "x",
       .y = "y",
       .width = 500,
       .height = 300,
       .x_fixed = true,
       .x0 = -100,
       .x1 = 250,
       .y_fixed = true,
       .y0 = 1000,
       .y1 = 90000},
      {.kind = PK_PLOT_SCATTER,
       .x = "ts",
       .y = "y",
       .width = 400,
       .height = 300},
      {.kind = PK_PLOT_DENSITY,
       .x = "y",
       .y = "y",
       .width = 100,
       .height = 100},
  };
  for (size_t i = 0; i < sizeof specs / sizeof *specs; i++) {
    pk_cache *sc = mk(), *cc = mk();
    pk_plot_result a = run(sc, &specs[i], src, 1000);
    ASSERT(a.shape && !a.cols);
    pk_plot_result b = run(cc, &specs[i], src, 0);
    ASSERT(b.cols && !b.shape);
    same_picture(&a, &b);
    if (specs[i].x[0] == 't')
      ASSERT_EQ(pk_plot_out_model(a.out)->x.scale, PK_SCALE_TIME);
    pk_cache_stats st;
    pk_cache_stats_get(sc, &st);
    ASSERT_EQ(st.col_entries, 0); /* streaming caches nothing */
    ASSERT_EQ(st.misses, 1);
    pk_plot_result_free(&a);
    pk_plot_result_free(&b);
    /* Once the columns are cached, the same plot comes from the cache. */
    pk_db_conn *c = reader();
    pk_cache_cols *h = NULL;
    ASSERT_OK(pk_plot_load(sc, c, &specs[i], src, &h, &e));
    pk_db_release(c);
    a = run(sc, &specs[i], src, 1000);
    ASSERT(a.cols && !a.shape && pk_cache_cols_hit(a.cols));
    pk_cache_cols_release(h);
    pk_plot_result_free(&a);
    pk_cache_free(sc);
    pk_cache_free(cc);
  }
}

static void test_stream_or_cache(void) {
  pk_cache *cache = mk();
  /* Under the threshold: loaded into the cache on the way. */
  pk_plot_spec d = {
      .kind = PK_PLOT_DENSITY, .x = "x", .y = "y", .width = 64, .height = 64};
  pk_plot_result r = run(cache, &d, "SELECT * FROM p LIMIT 5000", 5001);
  ASSERT(r.cols && !r.shape && !pk_cache_cols_hit(r.cols));
  pk_plot_result_free(&r);
  r = run(cache, &d, "SELECT * FROM p LIMIT 5000", 5001);
  ASSERT(r.cols && pk_cache_cols_hit(r.cols));
  pk_plot_result_free(&r);
  r = run(cache, &d, "SELECT * FROM p LIMIT 5001", 5001);
  ASSERT(r.shape && !r.cols);
  ASSERT_EQ(r.shape->nrows, 5001);
  pk_plot_result_free(&r);

  /* A scatter keeps at least the raw-point maximum: 150k rows are points. */
  pk_plot_spec s = {
      .kind = PK_PLOT_SCATTER, .x = "x", .y = "y", .width = 64, .height = 64};
  r = run(cache, &s, "SELECT * FROM p LIMIT 150000", 1000);
  ASSERT(r.cols && pk_plot_out_model(r.out)->kind == PK_PLOT_SCATTER);
  pk_plot_result_free(&r);

  /* Not streamable: colour, log axes, sums; categorical axes fall back. */
  pk_plot_spec other[] = {
      {.kind = PK_PLOT_SCATTER, .x = "x", .y = "y", .color = "cat"},
      {.kind = PK_PLOT_DENSITY, .x = "y", .y = "y", .log_x = true},
      {.kind = PK_PLOT_HEATMAP,
       .x = "x",
       .y = "y",
       .z = "n",
       .agg = PK_KAGG_SUM,
       .bins = 10},
      {.kind = PK_PLOT_HEATMAP, .x = "cat", .y = "y", .bins = 10},
  };
  for (size_t i = 0; i < sizeof other / sizeof *other; i++) {
    other[i].width = 200, other[i].height = 100;
    r = run(cache, &other[i], "SELECT * FROM p", 1000);
    ASSERT(r.cols && !r.shape);
    pk_plot_result_free(&r);
  }

  /* An interrupted connection stops the stream; nothing is left. */
  pk_db_conn *c = reader();
  pk_db_interrupt(c);
  ASSERT_ERR(pk_plot_run(cache, c, NULL, &d, "SELECT * FROM p WHERE n > 1",
                         1000, &r, &e),
             PK_EINTERRUPTED);
  ASSERT(!r.out && !r.cols && !r.shape);
  pk_db_release(c);
  /* A spec the kind cannot draw is refused before any SQL. */
  pk_plot_spec bad = {.kind = PK_PLOT_DENSITY, .x = "x"};
  c = reader();
  ASSERT_ERR(pk_plot_run(cache, c, NULL, &bad, "SELECT * FROM p", 1000, &r, &e),
             PK_EINVAL);
  pk_db_release(c);
  pk_cache_free(cache);
}

int main(void) {
  pk_db_config cfg = {.path = ":memory:"};
  ASSERT_OK(pk_db_open(&cfg, &db, &e));
  RUN(test_capped_and_scan);
  RUN(test_stream_equals_cache);
  RUN(test_stream_or_cache);
  pk_db_close(db);
  return 0;
}
