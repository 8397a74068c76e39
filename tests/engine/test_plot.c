/* test_plot.c — columns.h and plot.h on small synthetic data, checked
 * against DuckDB queries on the same data. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/columns.h"
#include "engine/db.h"
#include "engine/plot.h"
#include "test.h"

static pk_db *db;
static pk_db_conn *conn;
static pk_errmsg e;

static void exec(const char *sql) {
  if (pk_db_exec(conn, sql, NULL, &e) != PK_OK)
    TEST_FAIL_("%s: %s", sql, e.text);
}

static pk_cols *load(const char *sql) {
  pk_cols *cs = NULL;
  if (pk_cols_load(conn, sql, &cs, &e) != PK_OK)
    TEST_FAIL_("%s: %s", sql, e.text);
  return cs;
}

static int64_t qint(const char *sql) {
  int64_t v = -1;
  if (pk_db_query_int64(conn, sql, &v, &e) != PK_OK)
    TEST_FAIL_("%s: %s", sql, e.text);
  return v;
}

/* Loads spec's own SQL over source and builds. */
static pk_plot_out *build(const pk_plot_spec *s, const char *source,
                          pk_cols **cs) {
  pk_sqlbuf q = {0};
  ASSERT_OK(pk_plot_sql(s, source, &q, &e));
  *cs = load(q.s);
  pk_sqlbuf_free(&q);
  pk_plot_out *o = NULL;
  if (pk_plot_build(NULL, s, *cs, &o, &e) != PK_OK)
    TEST_FAIL_("build: %s", e.text);
  return o;
}

static void test_columns_types(void) {
  pk_cols *cs = load(
      "SELECT * FROM (VALUES (1, 2.5::DOUBLE, 'b', DATE '1970-01-02', "
      "TIMESTAMP '1970-01-01 00:00:01.5', 1.25::DECIMAL(6,2), true), "
      "(NULL, NULL, NULL, NULL, NULL, NULL, NULL), "
      "(3, -1.0, 'a', DATE '1969-12-31', TIMESTAMP '2000-01-01', -2.5, false),"
      " (4, 0, 'b', NULL, NULL, 0, NULL)) t(i, d, s, dt, ts, dec, b)");
  ASSERT_UEQ(cs->nrows, 4);
  ASSERT_UEQ(cs->ncols, 7);
  const pk_col *i = pk_cols_find(cs, "I"), *s = pk_cols_find(cs, "s");
  const pk_col *dt = pk_cols_find(cs, "dt"), *ts = pk_cols_find(cs, "ts");
  const pk_col *dec = pk_cols_find(cs, "dec"), *b = pk_cols_find(cs, "b");
  ASSERT(i && s && dt && ts && dec && b);
  ASSERT(!pk_cols_find(cs, "nope"));
  ASSERT_DEQ(i->v[0], 1, 0);
  ASSERT(isnan(i->v[1]));
  ASSERT_DEQ(i->v[3], 4, 0);
  ASSERT(s->is_categorical);
  ASSERT_UEQ(s->nlabels, 2);
  ASSERT_STREQ(s->labels[0], "b");
  ASSERT_STREQ(s->labels[1], "a");
  ASSERT_DEQ(s->v[0], 0, 0);
  ASSERT(isnan(s->v[1]));
  ASSERT_DEQ(s->v[2], 1, 0);
  ASSERT_DEQ(s->v[3], 0, 0);
  ASSERT(dt->is_time && ts->is_time);
  ASSERT_DEQ(dt->v[0], 86400, 0);
  ASSERT_DEQ(dt->v[2], -86400, 0);
  ASSERT_DEQ(ts->v[0], 1.5, 0);
  ASSERT_DEQ(ts->v[2], 946684800, 0);
  ASSERT_DEQ(dec->v[0], 1.25, 1e-12);
  ASSERT_DEQ(dec->v[2], -2.5, 1e-12);
  ASSERT_DEQ(b->v[0], 1, 0);
  ASSERT(isnan(b->v[3]));
  pk_cols_free(cs);

  /* Many chunks and a large (huge-page) array. */
  cs = load("SELECT i::DOUBLE AS x, 'g' || (i % 1000) AS g FROM range(300000)"
            " t(i)");
  ASSERT_UEQ(cs->nrows, 300000);
  ASSERT_DEQ(cs->cols[0].v[299999], 299999, 0);
  ASSERT_UEQ(cs->cols[1].nlabels, 1000);
  ASSERT_STREQ(cs->cols[1].labels[(size_t)cs->cols[1].v[123456]], "g456");
  pk_cols_free(cs);

  ASSERT_ERR(pk_cols_load(conn, "SELECT [1, 2] AS l", &cs, &e), PK_EINVAL);
  ASSERT(strstr(e.text, "'l'"));
  ASSERT_ERR(pk_cols_load(conn, "SELECT nope FROM range(3)", &cs, &e),
             PK_EINVAL);
}

static void test_histogram_matches_sql(void) {
  exec("CREATE TABLE h AS SELECT ((i * 37) % 1000)::DOUBLE AS v, "
       "CASE WHEN i % 10 = 0 THEN NULL ELSE 1 END AS w FROM range(20000) t(i)");
  exec("INSERT INTO h VALUES (NULL, 1)");
  pk_plot_spec s = {
      .kind = PK_PLOT_HISTOGRAM, .x = "v", .width = 800, .height = 600};
  pk_cols *cs;
  pk_plot_out *o = build(&s, "SELECT * FROM h", &cs);
  const pk_plot *p = pk_plot_out_model(o);
  ASSERT_EQ(p->kind, PK_PLOT_HISTOGRAM);
  ASSERT_GE(p->hist.nbins, 5);
  uint64_t total = 0;
  for (size_t i = 0; i < p->hist.nbins; i++) {
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM h WHERE v >= %.17g AND v < %.17g",
             p->hist.edges[i], p->hist.edges[i + 1]);
    ASSERT_EQ((int64_t)p->hist.counts[i], qint(sql));
    total += (uint64_t)p->hist.counts[i];
  }
  ASSERT_UEQ(total, 20000);
  ASSERT_UEQ(pk_plot_out_points(o), 20000);
  pk_plot_out_free(o);
  pk_cols_free(cs);

  /* --bins: exactly N bins over [min, max], the max in the last one. */
  s.bins = 7;
  o = build(&s, "SELECT * FROM h", &cs);
  p = pk_plot_out_model(o);
  ASSERT_UEQ(p->hist.nbins, 7);
  ASSERT_DEQ(p->hist.edges[0], 0, 0);
  ASSERT_DEQ(p->hist.edges[7], 999, 0);
  total = 0;
  for (size_t i = 0; i < 7; i++)
    total += (uint64_t)p->hist.counts[i];
  ASSERT_UEQ(total, 20000);
  ASSERT_EQ((int64_t)p->hist.counts[6],
            qint("SELECT count(*) FROM h WHERE v >= 999.0 * 6 / 7"));
  pk_plot_out_free(o);
  pk_cols_free(cs);
}

static void test_scatter_switch(void) {
  char src[128];
  pk_plot_spec s = {
      .kind = PK_PLOT_SCATTER, .x = "x", .y = "y", .width = 400, .height = 300};
  size_t ns[2] = {PK_PLOT_SCATTER_RAW_MAX, PK_PLOT_SCATTER_RAW_MAX + 1};
  for (int k = 0; k < 2; k++) {
    snprintf(src, sizeof src,
             "SELECT i::DOUBLE AS x, (i %% 7)::DOUBLE AS y FROM range(%zu) "
             "t(i)",
             ns[k]);
    pk_cols *cs;
    pk_plot_out *o = build(&s, src, &cs);
    const pk_plot *p = pk_plot_out_model(o);
    if (k == 0) {
      ASSERT_EQ(p->kind, PK_PLOT_SCATTER);
      ASSERT_UEQ(p->nseries, 1);
      ASSERT_UEQ(p->series[0].n, ns[0]);
    } else {
      ASSERT_EQ(p->kind, PK_PLOT_DENSITY);
      ASSERT_UEQ(p->grid.nx, 200);
      ASSERT_UEQ(p->grid.ny, 150);
      double sum = 0;
      for (size_t i = 0; i < p->grid.nx * p->grid.ny; i++)
        sum += p->grid.v[i];
      ASSERT_DEQ(sum, (double)ns[1], 0);
      /* The column of the first cell holds x in [0, (n-1)/200). */
      double w = (p->grid.x1 - p->grid.x0) / 200, col0 = 0;
      for (size_t iy = 0; iy < p->grid.ny; iy++)
        col0 += p->grid.v[iy * p->grid.nx];
      char sql[128];
      snprintf(sql, sizeof sql,
               "SELECT count(*) FROM range(%zu) t(i) "
               "WHERE i < %.17g",
               ns[1], w);
      ASSERT_DEQ(col0, (double)qint(sql), 0);
    }
    pk_plot_out_free(o);
    pk_cols_free(cs);
  }

  /* Categorical colour: a series per category, sorted by label (the
   * column's codes are in first-seen order: 'b' first here). */
  pk_plot_spec c = {.kind = PK_PLOT_SCATTER,
                    .x = "x",
                    .y = "y",
                    .color = "g",
                    .width = 400,
                    .height = 300};
  pk_cols *cs;
  pk_plot_out *o = build(&c,
                         "SELECT i AS x, i AS y, CASE WHEN i % 3 = 0 THEN 'b' "
                         "ELSE 'a' END AS g FROM range(30) t(i)",
                         &cs);
  const pk_plot *p = pk_plot_out_model(o);
  ASSERT_UEQ(p->nseries, 2);
  ASSERT_STREQ(p->series[0].name, "a");
  ASSERT_STREQ(p->series[1].name, "b");
  ASSERT_UEQ(p->series[0].n, 20);
  ASSERT_UEQ(p->series[1].n, 10);
  ASSERT_DEQ(p->series[1].x[1], 3, 0);
  pk_plot_out_free(o);
  pk_cols_free(cs);
}

static void test_line_m4(void) {
  /* A saw tooth y = x mod 10 over 100000 points, unsorted in the source:
   * M4 over 100 columns keeps at most 4 points a column, each an input
   * point, sorted, with the ends and the extremes. */
  pk_plot_spec s = {
      .kind = PK_PLOT_LINE, .x = "x", .y = "y", .width = 100, .height = 100};
  pk_cols *cs = load("SELECT (99999 - i)::DOUBLE AS x, "
                     "((99999 - i) % 10)::DOUBLE AS y FROM range(100000) t(i)");
  pk_plot_out *o = NULL;
  ASSERT_OK(pk_plot_build(NULL, &s, cs, &o, &e));
  const pk_plot *p = pk_plot_out_model(o);
  ASSERT_UEQ(p->nseries, 1);
  const pk_series *sr = &p->series[0];
  ASSERT_LE(sr->n, 400);
  ASSERT_GE(sr->n, 200);
  ASSERT_DEQ(sr->x[0], 0, 0);
  ASSERT_DEQ(sr->x[sr->n - 1], 99999, 0);
  size_t n0 = 0, n9 = 0;
  for (size_t i = 0; i < sr->n; i++) {
    ASSERT_DEQ(sr->y[i], fmod(sr->x[i], 10), 0);
    if (i)
      ASSERT_LT(sr->x[i - 1], sr->x[i]);
    n0 += sr->y[i] == 0;
    n9 += sr->y[i] == 9;
  }
  /* Every column of 1000 points has a 0 and a 9 (its min and max). */
  ASSERT_GE(n0, 100);
  ASSERT_GE(n9, 100);
  ASSERT_UEQ(pk_plot_out_points(o), 100000);
  pk_plot_out_free(o);
  pk_cols_free(cs);

  /* A short series passes through unchanged; groups by colour. */
  pk_plot_spec c = {.kind = PK_PLOT_AREA,
                    .x = "x",
                    .y = "y",
                    .color = "g",
                    .width = 100,
                    .height = 100};
  o = build(&c, "SELECT i AS x, i * 2 AS y, i % 2 AS g FROM range(10) t(i)",
            &cs);
  p = pk_plot_out_model(o);
  ASSERT_UEQ(p->nseries, 2);
  ASSERT_STREQ(p->series[0].name, "0");
  ASSERT_UEQ(p->series[1].n, 5);
  ASSERT_DEQ(p->series[1].x[4], 9, 0);
  ASSERT_DEQ(p->series[1].y[4], 18, 0);
  pk_plot_out_free(o);
  pk_cols_free(cs);
}

static void test_bar_box_violin_heatmap(void) {
  exec("CREATE TABLE b AS SELECT chr(97 + (i % 3)::INT) AS k, i % 2 AS s, "
       "i::DOUBLE AS v FROM range(99) t(i)");
  pk_plot_spec s = {.kind = PK_PLOT_BAR,
                    .x = "k",
                    .color = "s",
                    .agg = PK_KAGG_SUM,
                    .y = "v",
                    .width = 400,
                    .height = 300};
  pk_cols *cs;
  pk_plot_out *o = build(&s, "SELECT * FROM b", &cs);
  const pk_plot *p = pk_plot_out_model(o);
  ASSERT_UEQ(p->bars.ncat, 3);
  ASSERT_UEQ(p->bars.nseries, 2);
  ASSERT_STREQ(p->bars.categories[1], "b");
  ASSERT_DEQ(
      p->bars.values[1 * 2 + 1],
      (double)qint("SELECT sum(v)::BIGINT FROM b WHERE k = 'b' AND s = 1"), 0);
  ASSERT(!p->bars.stacked);
  pk_plot_out_free(o);
  pk_cols_free(cs);

  /* Stacked: the same values, the flag passed to the renderer; a model
   * that validates. Not with a log y axis, not for other kinds. */
  s.stacked = true;
  o = build(&s, "SELECT * FROM b", &cs);
  p = pk_plot_out_model(o);
  ASSERT(p->bars.stacked);
  ASSERT_UEQ(p->bars.nseries, 2);
  ASSERT_STREQ(p->bars.series_names[1], "1");
  ASSERT_DEQ(
      p->bars.values[2 * 2 + 0],
      (double)qint("SELECT sum(v)::BIGINT FROM b WHERE k = 'c' AND s = 0"), 0);
  ASSERT_OK(pk_plot_validate(p, &e));
  pk_plot_out_free(o);
  pk_cols_free(cs);
  pk_sqlbuf sq = {0};
  s.log_y = true;
  ASSERT_ERR(pk_plot_sql(&s, "SELECT * FROM b", &sq, &e), PK_EINVAL);
  ASSERT(strstr(e.text, "log"));
  s.log_y = false;
  s.kind = PK_PLOT_LINE;
  ASSERT_ERR(pk_plot_sql(&s, "SELECT * FROM b", &sq, &e), PK_EINVAL);
  ASSERT(strstr(e.text, "--stacked"));
  pk_sqlbuf_free(&sq);
  s.kind = PK_PLOT_BAR;
  s.stacked = false;

  /* Box: 1..100 and 1000: quartiles at order statistics 25, 50, 75. */
  pk_plot_spec bx = {
      .kind = PK_PLOT_BOX, .x = "v", .width = 400, .height = 300};
  o = build(&bx,
            "SELECT i::DOUBLE AS v FROM range(1, 101) t(i) UNION ALL "
            "SELECT 1000 UNION ALL SELECT NULL",
            &cs);
  p = pk_plot_out_model(o);
  ASSERT_UEQ(p->nboxes, 1);
  ASSERT_DEQ(p->boxes[0].q1, 26, 0);
  ASSERT_DEQ(p->boxes[0].median, 51, 0);
  ASSERT_DEQ(p->boxes[0].q3, 76, 0);
  ASSERT_DEQ(p->boxes[0].whisker_lo, 1, 0);
  ASSERT_DEQ(p->boxes[0].whisker_hi, 100, 0);
  ASSERT_UEQ(p->boxes[0].noutliers, 1);
  ASSERT_DEQ(p->boxes[0].outliers[0], 1000, 0);
  pk_plot_out_free(o);
  pk_cols_free(cs);

  /* Violin: N(0,1)-ish data; the KDE integrates to ~1 and peaks near 0. */
  pk_plot_spec vi = {
      .kind = PK_PLOT_VIOLIN, .x = "k", .y = "v", .width = 400, .height = 300};
  o = build(&vi, "SELECT k, v FROM b", &cs);
  p = pk_plot_out_model(o);
  ASSERT_UEQ(p->nviolins, 3);
  const pk_violin_group *g = &p->violins[0];
  double area = 0;
  for (size_t i = 1; i < g->n; i++)
    area += (g->y[i] - g->y[i - 1]) * (g->density[i] + g->density[i - 1]) / 2;
  ASSERT_DEQ(area, 1.0, 0.02);
  pk_plot_out_free(o);
  pk_cols_free(cs);

  /* Heatmap: mean of z per cell equals SQL's. */
  pk_plot_spec hm = {.kind = PK_PLOT_HEATMAP,
                     .x = "x",
                     .y = "y",
                     .z = "z",
                     .agg = PK_KAGG_MEAN,
                     .bins = 4,
                     .x_fixed = true,
                     .x0 = 0,
                     .x1 = 4,
                     .y_fixed = true,
                     .y0 = 0,
                     .y1 = 4,
                     .width = 400,
                     .height = 300};
  o = build(&hm,
            "SELECT (i % 4)::DOUBLE AS x, (i % 3)::DOUBLE AS y, i::DOUBLE AS "
            "z FROM range(120) t(i)",
            &cs);
  p = pk_plot_out_model(o);
  ASSERT_UEQ(p->grid.nx, 4);
  ASSERT_DEQ(p->grid.v[1 * 4 + 2],
             (double)qint("SELECT avg(i)::BIGINT FROM range(120) t(i) WHERE "
                          "i % 4 = 2 AND i % 3 = 1"),
             0.5);
  ASSERT(isnan(p->grid.v[3 * 4 + 0])); /* y = 3: no point */
  pk_plot_out_free(o);
  pk_cols_free(cs);

  pk_sqlbuf q = {0};
  hm.z = NULL;
  ASSERT_ERR(pk_plot_sql(&hm, "SELECT 1", &q, &e), PK_EINVAL);
  pk_plot_spec nx = {.kind = PK_PLOT_SCATTER, .x = "x"};
  ASSERT_ERR(pk_plot_sql(&nx, "SELECT 1", &q, &e), PK_EINVAL);
  pk_sqlbuf_free(&q);
  pk_plot_kind k;
  ASSERT_OK(pk_plot_kind_parse("violin", &k));
  ASSERT_EQ(k, PK_PLOT_VIOLIN);
  ASSERT_ERR(pk_plot_kind_parse("pie", &k), PK_EINVAL);
}

int main(void) {
  pk_db_config cfg = {.path = ":memory:", .readers = 1};
  ASSERT_OK(pk_db_open(&cfg, &db, &e));
  ASSERT_OK(pk_db_acquire(db, PK_DB_WRITER, &conn));
  RUN(test_columns_types);
  RUN(test_histogram_matches_sql);
  RUN(test_scatter_switch);
  RUN(test_line_m4);
  RUN(test_bar_box_violin_heatmap);
  pk_db_release(conn);
  pk_db_close(db);
  fprintf(stderr, "ok\n");
  return 0;
}
