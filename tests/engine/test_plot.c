/* test_plot.c — columns.h and plot.h on small synthetic data, checked
 * against DuckDB queries on the same data; log-space bins also rendered and
 * read back. */
#include <cairo.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/columns.h"
#include "engine/db.h"
#include "engine/plot.h"
#include "render/render.h"
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

  /* A result large enough to be faulted in ahead of the loader (48 MB a
   * column, from a table, whose scan DuckDB reports progress for): every
   * value where the loader wrote it, the extent, nothing past the end. */
  exec("CREATE TABLE pf AS SELECT i::DOUBLE AS a, -2.0 * i AS b FROM "
       "range(6000000) t(i)");
  cs = load("SELECT * FROM pf");
  ASSERT_UEQ(cs->nrows, 6000000);
  ASSERT(cs->prefaulted > 0);
  size_t bad = 0;
  for (size_t r = 0; r < cs->nrows; r++)
    bad += cs->cols[0].v[r] + cs->cols[1].v[r] / 2 != 0;
  ASSERT_UEQ(bad, 0);
  ASSERT_DEQ(cs->cols[0].max, 5999999, 0);
  ASSERT_DEQ(cs->cols[1].min, -11999998, 0);
  pk_cols_free(cs);
  exec("DROP TABLE pf");

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

  /* On a log x axis the columns are equal in log10(x): x = 10^(i/20000)
   * over five decades, y noisy. Each log-space column's lowest and highest
   * y (computed here by brute force) must be in the reduced series; points
   * with x <= 0 are left out. With linear columns the first decade would
   * share one column of 100 and lose its extremes. */
  pk_plot_spec lgs = {.kind = PK_PLOT_LINE,
                      .x = "x",
                      .y = "y",
                      .width = 100,
                      .height = 100,
                      .log_x = true};
  cs = load("SELECT CASE WHEN i < 50 THEN -i::DOUBLE ELSE pow(10, (i - 50) / "
            "20000.0) END AS x, sin(i * 0.37) * (1 + i % 7) AS y FROM "
            "range(100050) t(i) ORDER BY hash(i)");
  ASSERT_OK(pk_plot_build(NULL, &lgs, cs, &o, &e));
  p = pk_plot_out_model(o);
  sr = &p->series[0];
  ASSERT_LE(sr->n, 400);
  double lo = 0, hi = log10(pow(10, 100000 / 20000.0));
  hi = nextafter(hi, INFINITY);
  double cmin[100], cmax[100];
  for (int j = 0; j < 100; j++)
    cmin[j] = INFINITY, cmax[j] = -INFINITY;
  const pk_col *cx = pk_cols_find(cs, "x"), *cy = pk_cols_find(cs, "y");
  for (size_t i = 0; i < cs->nrows; i++) {
    if (!(cx->v[i] > 0))
      continue;
    size_t j = (size_t)((log10(cx->v[i]) - lo) * (100 / (hi - lo)));
    j = j > 99 ? 99 : j;
    cmin[j] = fmin(cmin[j], cy->v[i]);
    cmax[j] = fmax(cmax[j], cy->v[i]);
  }
  for (int j = 0; j < 100; j++) {
    bool has_min = false, has_max = false;
    for (size_t i = 0; i < sr->n; i++) {
      ASSERT(sr->x[i] > 0);
      size_t jj = (size_t)((log10(sr->x[i]) - lo) * (100 / (hi - lo)));
      jj = jj > 99 ? 99 : jj;
      if ((int)jj != j)
        continue;
      has_min |= sr->y[i] == cmin[j];
      has_max |= sr->y[i] == cmax[j];
    }
    if (!has_min || !has_max)
      TEST_FAIL_("log column %d: min %d max %d", j, has_min, has_max);
  }
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

/* ---- log-space binning -------------------------------------------------- */

/* Runs a GROUP BY query with the kernels' bin rule in log space and fills
 * out[cell] with the counts: `bins` is the SELECT list's bin expression(s)
 * computed as one BIGINT cell index; parameters $1.. are doubles. */
static void sql_cells(const char *sql, const double *params, size_t np,
                      double *out, size_t ncells) {
  duckdb_connection dc = pk_db_conn_duckdb(conn);
  duckdb_prepared_statement st;
  if (duckdb_prepare(dc, sql, &st) != DuckDBSuccess)
    TEST_FAIL_("%s: %s", sql, duckdb_prepare_error(st));
  for (size_t i = 0; i < np; i++)
    ASSERT_EQ(duckdb_bind_double(st, i + 1, params[i]), DuckDBSuccess);
  duckdb_result res;
  if (duckdb_execute_prepared(st, &res) != DuckDBSuccess)
    TEST_FAIL_("%s: %s", sql, duckdb_result_error(&res));
  for (size_t i = 0; i < ncells; i++)
    out[i] = 0;
  for (idx_t r = 0; r < duckdb_row_count(&res); r++) {
    int64_t cell = duckdb_value_int64(&res, 0, r);
    ASSERT(cell >= 0 && (size_t)cell < ncells);
    out[cell] = (double)duckdb_value_int64(&res, 1, r);
  }
  duckdb_destroy_result(&res);
  duckdb_destroy_prepare(&st);
}

static cairo_status_t png_read(void *closure, unsigned char *data,
                               unsigned int length) {
  const unsigned char **p = closure;
  memcpy(data, *p, length);
  *p += length;
  return CAIRO_STATUS_SUCCESS;
}

/* Renders the model and returns the image (caller destroys it). */
static cairo_surface_t *render_png(const pk_plot *p, pk_render_info *in) {
  unsigned char *buf;
  size_t len;
  if (pk_render_png_buffer(p, 800, 500, 100, &buf, &len, in, &e) != PK_OK)
    TEST_FAIL_("render: %s", e.text);
  const unsigned char *cur = buf;
  cairo_surface_t *im =
      cairo_image_surface_create_from_png_stream(png_read, &cur);
  free(buf);
  ASSERT_EQ(cairo_surface_status(im), CAIRO_STATUS_SUCCESS);
  return im;
}

static pk_rgb px_at(cairo_surface_t *im, double x, double y) {
  int ix = (int)floor(x), iy = (int)floor(y);
  ASSERT(ix >= 0 && iy >= 0 && ix < cairo_image_surface_get_width(im) &&
         iy < cairo_image_surface_get_height(im));
  uint32_t v;
  memcpy(&v,
         cairo_image_surface_get_data(im) +
             (size_t)iy * (size_t)cairo_image_surface_get_stride(im) +
             (size_t)ix * 4,
         4);
  return (pk_rgb){(v >> 16 & 0xff) / 255.0, (v >> 8 & 0xff) / 255.0,
                  (v & 0xff) / 255.0};
}

static void assert_rgb(pk_rgb got, pk_rgb want) {
  if (fabs(got.r - want.r) > 2 / 255.0 || fabs(got.g - want.g) > 2 / 255.0 ||
      fabs(got.b - want.b) > 2 / 255.0)
    TEST_FAIL_("pixel %.3f,%.3f,%.3f, want %.3f,%.3f,%.3f", got.r, got.g, got.b,
               want.r, want.g, want.b);
}

/* The kernels' rule on log10(v), in SQL (k bound as the same double). */
#define LOG_BIN(col, lo, k, n)                                                 \
  "least(floor((log10(" col ") - " lo ") * " k "), " n " - 1)"
#define LOG_IN(col, lo, hi)                                                    \
  col " > 0 AND log10(" col ") >= " lo " AND log10(" col ") < " hi

static void test_log_binning(void) {
  /* Values over six decades, with zeros, negatives, -inf, NULL and exact
   * powers of ten (edges when the range starts on a decade). */
  exec("CREATE TABLE lg AS SELECT CASE WHEN i % 50 = 0 THEN 0 "
       "WHEN i % 53 = 0 THEN -i::DOUBLE WHEN i % 97 = 0 THEN NULL "
       "WHEN i % 89 = 0 THEN '-inf'::DOUBLE "
       "WHEN i % 101 = 0 THEN pow(10, (i // 101) % 5 - 1) "
       "ELSE pow(10, ((i * 7919) % 100003) / 100003.0 * 6 - 2) END AS v, "
       "pow(10, ((i * 104729) % 99991) / 99991.0 * 3) AS w "
       "FROM range(30000) t(i)");
  int64_t positive = qint("SELECT count(*) FROM lg WHERE v > 0");
  int64_t nonpos = qint("SELECT count(*) FROM lg WHERE v <= 0 AND "
                        "isfinite(v)");
  ASSERT_GT(nonpos, 500);

  /* Histogram, automatic and exact --bins. */
  for (int k = 0; k < 2; k++) {
    pk_plot_spec s = {.kind = PK_PLOT_HISTOGRAM,
                      .x = "v",
                      .log_x = true,
                      .bins = k ? 13 : 0,
                      .width = 800,
                      .height = 500};
    pk_cols *cs;
    pk_plot_out *o = build(&s, "SELECT * FROM lg", &cs);
    const pk_plot *p = pk_plot_out_model(o);
    pk_plot_binning bx, by;
    pk_plot_out_binning(o, &bx, &by);
    ASSERT(bx.used && bx.log && !by.used);
    ASSERT_UEQ(bx.n, p->hist.nbins);
    if (k)
      ASSERT_UEQ(bx.n, 13);
    ASSERT_UEQ(pk_plot_out_nonpositive(o), (uint64_t)nonpos);
    double *want = calloc(bx.n, sizeof *want);
    double par[3] = {bx.lo, bx.hi, (double)bx.n / (bx.hi - bx.lo)};
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT " LOG_BIN("v", "$1", "$3",
                               "%zu") "::BIGINT AS b, "
                                      "count(*) FROM lg WHERE " LOG_IN(
                                          "v", "$1", "$2") " GROUP BY b",
             bx.n);
    sql_cells(sql, par, 3, want, bx.n);
    double total = 0;
    for (size_t i = 0; i < bx.n; i++) {
      ASSERT_DEQ(p->hist.counts[i], want[i], 0);
      total += want[i];
    }
    ASSERT_DEQ(total, (double)pk_plot_out_points(o), 0);
    if (k) /* all positive values, the maximum in the last bin */
      ASSERT_DEQ(total, (double)positive, 0);
    /* Edges: 10^(lo + i w), equal steps in log space. */
    double w =
        (log10(p->hist.edges[bx.n]) - log10(p->hist.edges[0])) / (double)bx.n;
    ASSERT_DEQ(log10(p->hist.edges[0]), bx.lo, 1e-12);
    for (size_t i = 0; i < bx.n; i++)
      ASSERT_DEQ(log10(p->hist.edges[i + 1]) - log10(p->hist.edges[i]), w,
                 1e-9);
    /* Rendered on the log axis: bars equally wide, each at its bin. */
    pk_render_info in;
    cairo_surface_t *im = render_png(p, &in);
    ASSERT(in.x_log);
    double maxc = 0;
    for (size_t i = 0; i < bx.n; i++)
      maxc = fmax(maxc, p->hist.counts[i]);
    double px0, px1, py;
    pk_render_info_map(&in, p->hist.edges[0], 0, &px0, &py);
    pk_render_info_map(&in, p->hist.edges[1], 0, &px1, &py);
    for (size_t i = 0; i < bx.n; i++) {
      double a, b;
      pk_render_info_map(&in, p->hist.edges[i], 0, &a, &py);
      pk_render_info_map(&in, p->hist.edges[i + 1], 0, &b, &py);
      ASSERT_DEQ(b - a, px1 - px0, 1e-6);
      if (p->hist.counts[i] < maxc * 0.1 || b - a < 4)
        continue;
      pk_render_info_map(&in, sqrt(p->hist.edges[i] * p->hist.edges[i + 1]),
                         p->hist.counts[i] / 2, &a, &py);
      assert_rgb(px_at(im, a, py), pk_palette_color(0));
    }
    cairo_surface_destroy(im);
    free(want);
    pk_plot_out_free(o);
    pk_cols_free(cs);
  }

  /* Heatmap on two log axes: every cell against SQL. */
  enum { NB = 9 };
  pk_plot_spec hm = {.kind = PK_PLOT_HEATMAP,
                     .x = "v",
                     .y = "w",
                     .bins = NB,
                     .log_x = true,
                     .log_y = true,
                     .width = 800,
                     .height = 500};
  pk_cols *cs;
  pk_plot_out *o = build(&hm, "SELECT * FROM lg", &cs);
  const pk_plot *p = pk_plot_out_model(o);
  pk_plot_binning bx, by;
  pk_plot_out_binning(o, &bx, &by);
  ASSERT(bx.log && by.log && bx.n == NB && by.n == NB);
  ASSERT(p->grid.xedges && p->grid.yedges);
  ASSERT_UEQ(pk_plot_out_nonpositive(o), (uint64_t)nonpos);
  double want[NB * NB];
  double par[6] = {bx.lo, bx.hi, NB / (bx.hi - bx.lo),
                   by.lo, by.hi, NB / (by.hi - by.lo)};
  sql_cells(
      "SELECT (" LOG_BIN("w", "$4", "$6", "9") ") * 9 + " LOG_BIN(
          "v", "$1", "$3",
          "9") " AS c, count(*) FROM lg WHERE " LOG_IN("v", "$1",
                                                       "$2") " AND " LOG_IN("w",
                                                                            "$"
                                                                            "4",
                                                                            "$"
                                                                            "5") " GROUP BY c",
      par, 6, want, NB * NB);
  size_t imax = 0;
  for (size_t i = 0; i < NB * NB; i++) {
    ASSERT_DEQ(p->grid.v[i], want[i], 0);
    imax = p->grid.v[i] > p->grid.v[imax] ? i : imax;
  }
  /* Rendered: the fullest cell, at its geometric centre, has the top
   * colour; the cells are one image on the log axes (equal steps). */
  pk_render_info in;
  cairo_surface_t *im = render_png(p, &in);
  size_t cx = imax % NB, cy = imax / NB;
  double px, py;
  pk_render_info_map(&in, sqrt(p->grid.xedges[cx] * p->grid.xedges[cx + 1]),
                     sqrt(p->grid.yedges[cy] * p->grid.yedges[cy + 1]), &px,
                     &py);
  assert_rgb(px_at(im, px, py), pk_colormap_entry(PK_COLORMAP_VIRIDIS, 255));
  cairo_surface_destroy(im);
  pk_plot_out_free(o);
  pk_cols_free(cs);

  /* The density raster of a large scatter on a log y axis. */
  pk_plot_spec ds = {.kind = PK_PLOT_SCATTER,
                     .x = "x",
                     .y = "y",
                     .log_y = true,
                     .width = 40,
                     .height = 30};
  const char *src = "SELECT i::DOUBLE AS x, CASE WHEN i % 1000 = 0 THEN 0 "
                    "ELSE pow(10, ((i * 7919) % 100003) / 100003.0 * 4) END "
                    "AS y FROM range(210000) t(i)";
  o = build(&ds, src, &cs);
  p = pk_plot_out_model(o);
  ASSERT_EQ(p->kind, PK_PLOT_DENSITY);
  pk_plot_out_binning(o, &bx, &by);
  ASSERT(!bx.log && by.log && bx.n == 20 && by.n == 15);
  ASSERT_UEQ(pk_plot_out_nonpositive(o), 210);
  ASSERT(!p->grid.xedges && p->grid.yedges);
  double *dw = calloc(20 * 15, sizeof *dw);
  double dp[6] = {bx.lo, bx.hi, 20 / (bx.hi - bx.lo),
                  by.lo, by.hi, 15 / (by.hi - by.lo)};
  char sql[1024];
  snprintf(sql, sizeof sql,
           "SELECT (" LOG_BIN(
               "y", "$4", "$6",
               "15") ") * 20 + "
                     "least(floor((x - $1) * $3), 19) AS c, count(*) FROM (%s) "
                     "WHERE x >= $1 AND x < $2 AND " LOG_IN("y", "$4",
                                                            "$5") " GROUP BY c",
           src);
  sql_cells(sql, dp, 6, dw, 20 * 15);
  for (size_t i = 0; i < 20 * 15; i++)
    ASSERT_DEQ(p->grid.v[i], dw[i], 0);
  free(dw);
  pk_plot_out_free(o);
  pk_cols_free(cs);

  /* A fixed range on a log axis must be positive; no positive values. */
  pk_plot_spec bad = {.kind = PK_PLOT_HISTOGRAM,
                      .x = "v",
                      .log_x = true,
                      .x_fixed = true,
                      .x0 = -1,
                      .x1 = 10,
                      .width = 100,
                      .height = 100};
  pk_sqlbuf q = {0};
  ASSERT_OK(pk_plot_sql(&bad, "SELECT * FROM lg", &q, &e));
  cs = load(q.s);
  pk_sqlbuf_free(&q);
  ASSERT_ERR(pk_plot_build(NULL, &bad, cs, &o, &e), PK_EINVAL);
  ASSERT(strstr(e.text, "positive"));
  pk_cols_free(cs);
  bad.x_fixed = false;
  cs = load("SELECT -v AS x FROM lg WHERE v > 0");
  ASSERT_ERR(pk_plot_build(NULL, &bad, cs, &o, &e), PK_EINVAL);
  if (!strstr(e.text, "no positive"))
    TEST_FAIL_("message: %s", e.text);
  pk_cols_free(cs);
}

/* Which plots may load their rows in any order (pika plot's unordered
 * database): none whose picture could change with the order. */
static void test_order_free(void) {
  pk_plot_spec s = {.kind = PK_PLOT_SCATTER, .x = "x", .y = "y"};
  ASSERT(pk_plot_order_free(&s));
  s.color = "c"; /* which point is on top */
  ASSERT(!pk_plot_order_free(&s));
  s = (pk_plot_spec){.kind = PK_PLOT_HISTOGRAM, .x = "x"};
  ASSERT(pk_plot_order_free(&s));
  s = (pk_plot_spec){.kind = PK_PLOT_HEATMAP, .x = "x", .y = "y"};
  ASSERT(pk_plot_order_free(&s));
  s.agg = PK_KAGG_SUM, s.z = "z"; /* a floating-point total */
  ASSERT(!pk_plot_order_free(&s));
  pk_plot_kind ordered[] = {PK_PLOT_LINE, PK_PLOT_AREA, PK_PLOT_BAR,
                            PK_PLOT_BOX, PK_PLOT_VIOLIN};
  for (size_t i = 0; i < sizeof ordered / sizeof *ordered; i++) {
    s = (pk_plot_spec){.kind = ordered[i], .x = "x", .y = "y"};
    ASSERT(!pk_plot_order_free(&s));
  }
}

/* Only sorting (line, area) and grouping (bar) kinds need more of DuckDB
 * than a scan; the SQL of the others has neither ORDER BY nor GROUP BY. */
static void test_scan_only(void) {
  for (int k = 0; k < PK_PLOT_KIND_COUNT; k++) {
    pk_plot_spec s = {.kind = (pk_plot_kind)k, .x = "x", .y = "y", .z = "z"};
    pk_sqlbuf q = {0};
    ASSERT_OK(pk_plot_sql(&s, "SELECT * FROM t", &q, &e));
    bool plain = !strstr(q.s, "ORDER BY") && !strstr(q.s, "GROUP BY");
    ASSERT(pk_plot_scan_only(&s) == plain);
    ASSERT(plain ==
           (k != PK_PLOT_LINE && k != PK_PLOT_AREA && k != PK_PLOT_BAR));
    pk_sqlbuf_free(&q);
  }
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
  RUN(test_log_binning);
  RUN(test_order_free);
  RUN(test_scan_only);
  pk_db_release(conn);
  pk_db_close(db);
  pk_render_global_cleanup();
  fprintf(stderr, "ok\n");
  return 0;
}
