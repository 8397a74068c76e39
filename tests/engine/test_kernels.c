/* test_kernels.c — the aggregation kernels against DuckDB SQL on the same
 * data (src/engine/kernels.h): density2d (count, sum, mean, min, max),
 * histogram1d, quantiles / Freedman–Diaconis, M4 per pixel column; LTTB and
 * MinMaxLTTB against a reference implementation written here.
 *
 * Data is loaded into an in-memory DuckDB table through the appender (data
 * chunks). NULL: half of the NaNs in each column go to DuckDB as SQL NULL and
 * the other half as NaN, because the loader maps NULL to NaN. Every kernel
 * runs twice, with a pool and without, and both must match SQL. */
#include <duckdb.h>
#include <float.h>
#include <math.h>
#include <stdbool.h>

#include "engine/kernels.h"
#include "test.h"

static duckdb_database db;
static duckdb_connection con;
static pk_pool *pool2, *pool4;

/* ---- data ----------------------------------------------------------------*/

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint64_t xrand(void) {
  return pk_test_xorshift(&rng);
}
static double urand(void) {
  return pk_test_unit(&rng);
} /* [0, 1) */

static double nrand(void) {
  double u = urand(), v = urand();
  return sqrt(-2 * log(1 - u)) * cos(2 * M_PI * v);
}

enum dist { UNIFORM, NORMAL, CLUSTERED };

static double draw(enum dist d, int axis) {
  switch (d) {
  case UNIFORM:
    return -0.25 + 1.5 * urand();
  case NORMAL:
    return 0.5 + 0.3 * nrand();
  case CLUSTERED: {
    static const double cx[3] = {0.2, 0.5, 0.8}, cy[3] = {0.7, 0.5, 0.2};
    uint64_t k = xrand() % 4;
    if (k == 3) /* many exact duplicates */
      return axis ? 0.375 : 0.625;
    double c = axis ? cy[k] : cx[k];
    return c + 0.02 * nrand();
  }
  }
  return 0;
}

/* Sprinkles non-finite values into v: NaN (some as NULL), +inf, -inf. */
static void sprinkle(double *v, size_t n, unsigned per_mille) {
  for (size_t i = 0; i < n; i++) {
    if (xrand() % 1000 >= per_mille)
      continue;
    switch (xrand() % 3) {
    case 0:
      v[i] = NAN;
      break;
    case 1:
      v[i] = INFINITY;
      break;
    default:
      v[i] = -INFINITY;
      break;
    }
  }
}

/* ---- DuckDB --------------------------------------------------------------*/

static void exec(const char *sql) {
  duckdb_result res;
  if (duckdb_query(con, sql, &res) != DuckDBSuccess)
    TEST_FAIL_("%s: %s", sql, duckdb_result_error(&res));
  duckdb_destroy_result(&res);
}

/* CREATE OR REPLACE TABLE name(i BIGINT, <cols> DOUBLE...) from the arrays;
 * a NaN at an even row goes in as NULL. */
static void load(const char *name, size_t ncols, const char *const *names,
                 const double *const *cols, size_t n) {
  char sql[512];
  int off =
      snprintf(sql, sizeof sql, "CREATE OR REPLACE TABLE %s(i BIGINT", name);
  for (size_t c = 0; c < ncols; c++)
    off +=
        snprintf(sql + off, sizeof sql - (size_t)off, ", %s DOUBLE", names[c]);
  snprintf(sql + off, sizeof sql - (size_t)off, ")");
  exec(sql);
  duckdb_appender app;
  if (duckdb_appender_create(con, NULL, name, &app) != DuckDBSuccess)
    TEST_FAIL_("appender for %s", name);
  duckdb_logical_type types[8];
  ASSERT(ncols + 1 <= 8);
  types[0] = duckdb_create_logical_type(DUCKDB_TYPE_BIGINT);
  for (size_t c = 0; c < ncols; c++)
    types[c + 1] = duckdb_create_logical_type(DUCKDB_TYPE_DOUBLE);
  size_t cap = duckdb_vector_size();
  for (size_t base = 0; base < n; base += cap) {
    size_t m = n - base < cap ? n - base : cap;
    duckdb_data_chunk ch = duckdb_create_data_chunk(types, ncols + 1);
    int64_t *iv = duckdb_vector_get_data(duckdb_data_chunk_get_vector(ch, 0));
    for (size_t r = 0; r < m; r++)
      iv[r] = (int64_t)(base + r);
    for (size_t c = 0; c < ncols; c++) {
      duckdb_vector vec = duckdb_data_chunk_get_vector(ch, c + 1);
      double *dv = duckdb_vector_get_data(vec);
      memcpy(dv, cols[c] + base, m * sizeof(double));
      for (size_t r = 0; r < m; r++) {
        if (isnan(dv[r]) && (base + r) % 2 == 0) {
          duckdb_vector_ensure_validity_writable(vec);
          duckdb_validity_set_row_invalid(duckdb_vector_get_validity(vec), r);
        }
      }
    }
    duckdb_data_chunk_set_size(ch, m);
    if (duckdb_append_data_chunk(app, ch) != DuckDBSuccess)
      TEST_FAIL_("append: %s", duckdb_appender_error(app));
    duckdb_destroy_data_chunk(&ch);
  }
  for (size_t c = 0; c <= ncols; c++)
    duckdb_destroy_logical_type(&types[c]);
  if (duckdb_appender_destroy(&app) != DuckDBSuccess)
    TEST_FAIL_("appender close");
}

/* Runs sql with $1.. bound to params (DOUBLE). */
static void query(duckdb_result *res, const char *sql, const double *params,
                  size_t np) {
  duckdb_prepared_statement st;
  if (duckdb_prepare(con, sql, &st) != DuckDBSuccess)
    TEST_FAIL_("prepare %s: %s", sql, duckdb_prepare_error(st));
  for (size_t i = 0; i < np; i++)
    if (duckdb_bind_double(st, i + 1, params[i]) != DuckDBSuccess)
      TEST_FAIL_("bind %zu", i + 1);
  if (duckdb_execute_prepared(st, res) != DuckDBSuccess)
    TEST_FAIL_("%s: %s", sql, duckdb_result_error(res));
  duckdb_destroy_prepare(&st);
}

/* ---- comparisons ---------------------------------------------------------*/

/* A sum or mean: equal up to the order of additions. */
static void check_close(double got, double want, double scale, size_t cell) {
  if (isnan(want) || isinf(want)) {
    if (!(isnan(want) ? isnan(got) : got == want))
      TEST_FAIL_("cell %zu: %.17g vs SQL %.17g", cell, got, want);
    return;
  }
  if (!(fabs(got - want) <= 1e-9 * fmax(scale, 1e-300)))
    TEST_FAIL_("cell %zu: %.17g vs SQL %.17g (scale %g)", cell, got, want,
               scale);
}

static void check_stats(const pk_kstats *a, const pk_kstats *b) {
  ASSERT_UEQ(a->n, b->n);
  ASSERT_UEQ(a->counted, b->counted);
  ASSERT_UEQ(a->skipped, b->skipped);
  ASSERT_UEQ(a->outside, b->outside);
}

/* ---- density2d -----------------------------------------------------------*/

static const char *const XYW[] = {"x", "y", "w"};

/* density2d of (x, y, w) for spec, with and without the pools, against SQL
 * over table d. Returns the number of points counted. */
static uint64_t check_density(const double *x, const double *y, const double *w,
                              size_t n, const pk_density2d_spec *spec) {
  size_t cells = spec->nx * spec->ny;
  uint64_t *cnt = malloc(cells * sizeof *cnt);
  uint64_t *want_cnt = calloc(cells, sizeof *want_cnt);
  double *val = malloc(cells * sizeof *val);
  double *want = malloc(cells * sizeof *want);
  double *scale = calloc(cells, sizeof *scale);
  ASSERT(cnt && want_cnt && val && want && scale);
  for (size_t i = 0; i < cells; i++)
    want[i] = NAN;
  bool weighted = spec->agg != PK_KAGG_COUNT;

  /* k = n / (hi - lo), as the kernel computes it */
  double p[8] = {spec->x0,
                 (double)spec->nx / (spec->x1 - spec->x0),
                 (double)spec->nx,
                 spec->y0,
                 (double)spec->ny / (spec->y1 - spec->y0),
                 (double)spec->ny,
                 spec->x1,
                 spec->y1};
  const char *wfilter = weighted ? " AND NOT isnan(w)" : "";
  char sql[2048];
  snprintf(sql, sizeof sql,
           "SELECT least(floor((x - $1::DOUBLE) * $2::DOUBLE), $3::DOUBLE - "
           "1)::BIGINT AS ix, least(floor((y - $4::DOUBLE) * $5::DOUBLE), "
           "$6::DOUBLE - 1)::BIGINT AS iy, count(*), sum(w), avg(w), min(w), "
           "max(w), sum(abs(w)) FROM d WHERE x >= $1::DOUBLE AND x < "
           "$7::DOUBLE AND y >= $4::DOUBLE AND y < $8::DOUBLE%s GROUP BY ALL",
           wfilter);
  duckdb_result res;
  query(&res, sql, p, 8);
  size_t rows = duckdb_row_count(&res);
  for (size_t r = 0; r < rows; r++) {
    int64_t ix = duckdb_value_int64(&res, 0, r);
    int64_t iy = duckdb_value_int64(&res, 1, r);
    ASSERT(ix >= 0 && (size_t)ix < spec->nx && iy >= 0 &&
           (size_t)iy < spec->ny);
    size_t cell = (size_t)iy * spec->nx + (size_t)ix;
    want_cnt[cell] = (uint64_t)duckdb_value_int64(&res, 2, r);
    if (weighted) {
      want[cell] = duckdb_value_double(&res, 2 + (idx_t)spec->agg, r);
      scale[cell] = duckdb_value_double(&res, 7, r);
      if (spec->agg == PK_KAGG_MEAN)
        scale[cell] /= (double)want_cnt[cell];
    }
  }
  duckdb_destroy_result(&res);

  snprintf(sql, sizeof sql,
           "SELECT count(*), count(*) FILTER (WHERE NOT coalesce(isfinite(x) "
           "AND isfinite(y)%s, false)), count(*) FILTER (WHERE "
           "coalesce(isfinite(x) AND isfinite(y)%s, false) AND NOT (x >= "
           "$1::DOUBLE AND x < $2::DOUBLE AND y >= $3::DOUBLE AND y < "
           "$4::DOUBLE)) FROM d",
           weighted ? " AND NOT isnan(w)" : "",
           weighted ? " AND NOT isnan(w)" : "");
  double sp[4] = {spec->x0, spec->x1, spec->y0, spec->y1};
  query(&res, sql, sp, 4);
  pk_kstats want_st = {.n = (uint64_t)duckdb_value_int64(&res, 0, 0),
                       .skipped = (uint64_t)duckdb_value_int64(&res, 1, 0),
                       .outside = (uint64_t)duckdb_value_int64(&res, 2, 0)};
  want_st.counted = want_st.n - want_st.skipped - want_st.outside;
  duckdb_destroy_result(&res);

  pk_pool *pools[3] = {NULL, pool2, pool4};
  for (int k = 0; k < 3; k++) {
    pk_kstats st;
    memset(cnt, 0xab, cells * sizeof *cnt);
    ASSERT_OK(pk_density2d(pools[k], x, y, w, n, spec, cnt, val, &st));
    check_stats(&st, &want_st);
    for (size_t i = 0; i < cells; i++) {
      if (cnt[i] != want_cnt[i])
        TEST_FAIL_("%s cell %zu: count %ju vs SQL %ju", pk_kagg_name(spec->agg),
                   i, (uintmax_t)cnt[i], (uintmax_t)want_cnt[i]);
      if (!weighted)
        continue;
      if (want_cnt[i] == 0) {
        ASSERT(isnan(val[i]));
      } else if (spec->agg == PK_KAGG_MIN || spec->agg == PK_KAGG_MAX) {
        if (!(val[i] == want[i]))
          TEST_FAIL_("cell %zu: %.17g vs SQL %.17g", i, val[i], want[i]);
      } else {
        check_close(val[i], want[i], scale[i], i);
      }
    }
  }
  free(cnt);
  free(want_cnt);
  free(val);
  free(want);
  free(scale);
  return want_st.counted;
}

static void check_density_all(const double *x, const double *y, const double *w,
                              size_t n, pk_density2d_spec spec) {
  const double *cols[3] = {x, y, w};
  load("d", 3, XYW, cols, n);
  for (int a = PK_KAGG_COUNT; a <= PK_KAGG_MAX; a++) {
    spec.agg = (pk_kagg)a;
    check_density(x, y, w, n, &spec);
  }
}

static void test_density_random(void) {
  size_t n = 300000;
  double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y),
         *w = malloc(n * sizeof *w);
  ASSERT(x && y && w);
  for (int d = UNIFORM; d <= CLUSTERED; d++) {
    for (size_t i = 0; i < n; i++) {
      x[i] = draw((enum dist)d, 0);
      y[i] = draw((enum dist)d, 1);
      w[i] = 100 * nrand();
    }
    sprinkle(x, n, 5);
    sprinkle(y, n, 5);
    for (size_t i = 0; i < n; i += 997)
      w[i] = NAN;
    for (size_t i = 500; i < n; i += 2003) /* ±inf weights are aggregated */
      w[i] = i % 2 ? INFINITY : -INFINITY;
    pk_density2d_spec spec = {0, 1, 0, 1, 64, 48, PK_KAGG_COUNT};
    check_density_all(x, y, w, n, spec);
    /* a zoomed, non-square viewport with awkward edges */
    pk_density2d_spec zoom = {0.1, 0.7, 0.3, 0.65, 7, 300, PK_KAGG_COUNT};
    check_density_all(x, y, w, n, zoom);
  }
  free(x);
  free(y);
  free(w);
}

/* The accumulator (batches in one thread) against pk_density2d on the
 * whole input: the same counts and tallies for any batch sizes, including
 * a cell that wraps its 16-bit counter. */
static void check_acc(const double *x, const double *y, size_t n,
                      pk_density2d_spec spec, uint64_t *seed) {
  size_t cells = spec.nx * spec.ny;
  uint64_t *want = calloc(cells, sizeof *want), *got = calloc(cells, 8);
  ASSERT(want && got);
  pk_kstats ws, gs;
  ASSERT_OK(pk_density2d(NULL, x, y, NULL, n, &spec, want, NULL, &ws));
  pk_density2d_acc *a = NULL;
  ASSERT_OK(pk_density2d_acc_begin(&spec, &a));
  for (size_t i = 0; i < n;) {
    size_t m = 1 + pk_test_xorshift(seed) % 5000;
    m = m < n - i ? m : n - i;
    pk_density2d_acc_add(a, x + i, y + i, m);
    i += m;
  }
  pk_density2d_acc_add(a, NULL, NULL, 0);
  pk_density2d_acc_end(a, got, &gs);
  for (size_t i = 0; i < cells; i++)
    ASSERT_UEQ(got[i], want[i]);
  ASSERT_UEQ(gs.n, ws.n);
  ASSERT_UEQ(gs.counted, ws.counted);
  ASSERT_UEQ(gs.skipped, ws.skipped);
  ASSERT_UEQ(gs.outside, ws.outside);
  free(want);
  free(got);
}

static void test_density_acc(void) {
  size_t n = 300000;
  double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
  ASSERT(x && y);
  uint64_t seed = 77;
  for (int d = UNIFORM; d <= CLUSTERED; d++) {
    for (size_t i = 0; i < n; i++) {
      x[i] = draw((enum dist)d, 0);
      y[i] = draw((enum dist)d, 1);
    }
    sprinkle(x, n, 5);
    sprinkle(y, n, 5);
    check_acc(x, y, n, (pk_density2d_spec){0, 1, 0, 1, 64, 48, PK_KAGG_COUNT},
              &seed);
    check_acc(x, y, n,
              (pk_density2d_spec){0.1, 0.7, 0.3, 0.65, 7, 300, PK_KAGG_COUNT},
              &seed);
  }
  /* 300k points in one cell: its counter wraps four times. */
  for (size_t i = 0; i < n; i++)
    x[i] = y[i] = 0.5;
  check_acc(x, y, n, (pk_density2d_spec){0, 1, 0, 1, 3, 3, PK_KAGG_COUNT},
            &seed);
  pk_density2d_acc *a = NULL;
  pk_density2d_spec bad = {0, 1, 0, 1, 3, 3, PK_KAGG_SUM};
  ASSERT_ERR(pk_density2d_acc_begin(&bad, &a), PK_EINVAL);
  bad = (pk_density2d_spec){1, 1, 0, 1, 3, 3, PK_KAGG_COUNT};
  ASSERT_ERR(pk_density2d_acc_begin(&bad, &a), PK_EINVAL);
  ASSERT(a == NULL);
  pk_density2d_acc_end(NULL, NULL, NULL);
  free(x);
  free(y);
}

static void check_hist(const double *v, size_t n, double lo, double hi,
                       size_t nbins);

static void test_density_edges(void) {
  /* every bin boundary of a 4 x 4 grid over [0,1)^2, both edges, just
   * inside and outside them, and points on x1 / y1 (excluded). */
  static const double v[] = {0,
                             0.25,
                             0.5,
                             0.75,
                             1,
                             -0.0,
                             1e-17,
                             0.999999999999999,
                             0.9999999999999999,
                             -1e-300,
                             1.0000000000000002};
  size_t nv = sizeof v / sizeof v[0];
  size_t n = nv * nv;
  double x[sizeof v / sizeof v[0] * sizeof v / sizeof v[0]];
  double y[sizeof x / sizeof x[0]], w[sizeof x / sizeof x[0]];
  for (size_t i = 0; i < nv; i++)
    for (size_t j = 0; j < nv; j++) {
      x[i * nv + j] = v[i];
      y[i * nv + j] = v[j];
      w[i * nv + j] = (double)(i * nv + j);
    }
  pk_density2d_spec spec = {0, 1, 0, 1, 4, 4, PK_KAGG_COUNT};
  check_density_all(x, y, w, n, spec);
  uint64_t c[16];
  ASSERT_OK(pk_density2d(NULL, x, y, NULL, n, &spec, c, NULL, NULL));
  /* bin 0 holds {0, -0, 1e-17}; x = 0.25 starts bin 1; bin 3 holds
   * {0.75, 0.999999999999999, 0.9999999999999999}; 1 and beyond are out */
  ASSERT_UEQ(c[0], 9);
  ASSERT_UEQ(c[0 * 4 + 1], 3);
  ASSERT_UEQ(c[3 * 4 + 3], 9);
  /* a viewport where the largest value below x1 rounds up to bin nx: the
   * min(..., nx - 1) of the rule matters (found by search) */
  {
    double lo = -7.312715117751976, hi = 1.1617748178834137;
    double e[4] = {nextafter(hi, 0), hi, lo, 0};
    ASSERT(floor((e[0] - lo) * (783 / (hi - lo))) >= 783);
    pk_density2d_spec up = {lo, hi, lo, hi, 783, 2, PK_KAGG_COUNT};
    check_density_all(e, e, e, 4, up);
    uint64_t *cu = calloc(783 * 2, sizeof *cu);
    ASSERT(cu);
    ASSERT_OK(pk_density2d(NULL, e, e, NULL, 4, &up, cu, NULL, NULL));
    ASSERT_UEQ(cu[1 * 783 + 782], 1);
    free(cu);
    check_hist(e, 4, lo, hi, 783);
  }
  /* a non-representable grid: [0.1, 0.7) in 3 bins, values on 0.3, 0.5 */
  pk_density2d_spec odd = {0.1, 0.7, 0.1, 0.7, 3, 3, PK_KAGG_COUNT};
  check_density_all(x, y, w, n, odd);
}

static void test_density_special(void) {
  double x[8] = {0.5, NAN, INFINITY, -INFINITY, 0.5, 0.5, 0.5, 2};
  double y[8] = {0.5, 0.5, 0.5, 0.5, NAN, INFINITY, 0.5, 0.5};
  double w[8] = {1, 2, 3, 4, 5, 6, NAN, 8};
  pk_density2d_spec spec = {0, 1, 0, 1, 3, 3, PK_KAGG_COUNT};
  check_density_all(x, y, w, 8, spec);
  pk_kstats st;
  uint64_t c[9];
  double val[9];
  ASSERT_OK(pk_density2d(NULL, x, y, NULL, 8, &spec, c, NULL, &st));
  ASSERT_UEQ(st.skipped, 5);
  ASSERT_UEQ(st.outside, 1);
  ASSERT_UEQ(st.counted, 2);
  ASSERT_UEQ(c[4], 2);
  spec.agg = PK_KAGG_SUM;
  ASSERT_OK(pk_density2d(NULL, x, y, w, 8, &spec, c, val, &st));
  ASSERT_UEQ(st.skipped, 6); /* the NaN weight too */
  ASSERT_UEQ(c[4], 1);
  ASSERT_DEQ(val[4], 1.0, 0);
  ASSERT(isnan(val[0]));
  spec.agg = PK_KAGG_COUNT;

  /* empty input */
  check_density_all(NULL, NULL, NULL, 0, spec);
  ASSERT_OK(pk_density2d(pool2, NULL, NULL, NULL, 0, &spec, c, val, &st));
  ASSERT_UEQ(st.n, 0);
  /* one point */
  double one = 0.3;
  check_density_all(&one, &one, &one, 1, spec);
  /* all points in one bin, many of them (parallel path) */
  size_t n = 200000;
  double *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
  ASSERT(a && b);
  for (size_t i = 0; i < n; i++) {
    a[i] = 0.4 + 1e-3 * urand();
    b[i] = (double)(i % 1000) - 500;
  }
  check_density_all(a, a, b, n, spec);
  ASSERT_OK(pk_density2d(pool2, a, a, NULL, n, &spec, c, NULL, &st));
  ASSERT_UEQ(c[4], n);
  /* a viewport that excludes everything */
  pk_density2d_spec away = {10, 20, 10, 20, 16, 16, PK_KAGG_COUNT};
  check_density_all(a, a, b, n, away);
  uint64_t c256[256];
  ASSERT_OK(pk_density2d(pool2, a, a, NULL, n, &away, c256, NULL, &st));
  ASSERT_UEQ(st.outside, n);
  free(a);
  free(b);

  /* bad specs */
  pk_density2d_spec bad = {1, 0, 0, 1, 3, 3, PK_KAGG_COUNT};
  ASSERT_ERR(pk_density2d(NULL, x, y, NULL, 8, &bad, c, NULL, NULL), PK_EINVAL);
  bad = (pk_density2d_spec){0, NAN, 0, 1, 3, 3, PK_KAGG_COUNT};
  ASSERT_ERR(pk_density2d(NULL, x, y, NULL, 8, &bad, c, NULL, NULL), PK_EINVAL);
  bad = (pk_density2d_spec){0, 1, 0, 1, 0, 3, PK_KAGG_COUNT};
  ASSERT_ERR(pk_density2d(NULL, x, y, NULL, 8, &bad, c, NULL, NULL), PK_EINVAL);
  bad = (pk_density2d_spec){-DBL_MAX, DBL_MAX, 0, 1, 3, 3, PK_KAGG_COUNT};
  ASSERT_ERR(pk_density2d(NULL, x, y, NULL, 8, &bad, c, NULL, NULL), PK_EINVAL);
  bad = (pk_density2d_spec){0, 1, 0, 1, 3, 3, PK_KAGG_MEAN};
  ASSERT_ERR(pk_density2d(NULL, x, y, NULL, 8, &bad, c, val, NULL), PK_EINVAL);
  ASSERT_ERR(pk_density2d(NULL, x, y, w, 8, &bad, c, NULL, NULL), PK_EINVAL);
}

/* ---- histogram1d and quantiles -------------------------------------------*/

static void check_hist(const double *v, size_t n, double lo, double hi,
                       size_t nbins) {
  const char *names[1] = {"v"};
  load("h", 1, names, &v, n);
  uint64_t *want = calloc(nbins, sizeof *want), *got = malloc(nbins * 8);
  ASSERT(want && got);
  double p[4] = {lo, (double)nbins / (hi - lo), (double)nbins, hi};
  duckdb_result res;
  query(&res,
        "SELECT least(floor((v - $1::DOUBLE) * $2::DOUBLE), $3::DOUBLE - "
        "1)::BIGINT AS b, count(*) FROM h WHERE v >= $1::DOUBLE AND v < "
        "$4::DOUBLE GROUP BY b",
        p, 4);
  uint64_t counted = 0;
  for (size_t r = 0; r < duckdb_row_count(&res); r++) {
    int64_t b = duckdb_value_int64(&res, 0, r);
    ASSERT(b >= 0 && (size_t)b < nbins);
    want[b] = (uint64_t)duckdb_value_int64(&res, 1, r);
    counted += want[b];
  }
  duckdb_destroy_result(&res);
  pk_pool *pools[3] = {NULL, pool2, pool4};
  for (int k = 0; k < 3; k++) {
    pk_kstats st;
    ASSERT_OK(pk_histogram1d(pools[k], v, n, lo, hi, nbins, got, &st));
    ASSERT_UEQ(st.counted, counted);
    ASSERT_UEQ(st.n, n);
    for (size_t i = 0; i < nbins; i++)
      if (got[i] != want[i])
        TEST_FAIL_("bin %zu: %ju vs SQL %ju", i, (uintmax_t)got[i],
                   (uintmax_t)want[i]);
  }

  /* quartiles and FD width against quantile_cont */
  query(&res,
        "SELECT quantile_cont(v, 0.25), quantile_cont(v, 0.75), count(v), "
        "quantile_cont(v, 0.5), min(v), max(v) FROM h WHERE isfinite(v)",
        NULL, 0);
  int64_t m = duckdb_value_int64(&res, 2, 0);
  double q[5] = {0.25, 0.75, 0.5, 0, 1}, out[5];
  size_t nf;
  ASSERT_OK(pk_quantiles(v, n, q, 5, out, &nf));
  ASSERT_EQ(nf, m);
  if (m > 0) {
    double range =
        duckdb_value_double(&res, 5, 0) - duckdb_value_double(&res, 4, 0);
    ASSERT_DEQ(out[0], duckdb_value_double(&res, 0, 0), 1e-12 * range);
    ASSERT_DEQ(out[1], duckdb_value_double(&res, 1, 0), 1e-12 * range);
    ASSERT_DEQ(out[2], duckdb_value_double(&res, 3, 0), 1e-12 * range);
    ASSERT(out[3] == duckdb_value_double(&res, 4, 0));
    ASSERT(out[4] == duckdb_value_double(&res, 5, 0));
    double fw, flo, fhi;
    ASSERT_OK(pk_fd_width(v, n, &fw, &flo, &fhi));
    ASSERT(flo == out[3] && fhi == out[4]);
    double iqr = out[1] - out[0];
    if (m >= 2 && iqr > 0)
      ASSERT_DEQ(fw, 2 * iqr / cbrt((double)m), 1e-12 * fw);
    else
      ASSERT(fw == 0);
  } else {
    ASSERT(isnan(out[0]));
  }
  duckdb_destroy_result(&res);
  free(want);
  free(got);
}

static void test_histogram(void) {
  size_t n = 250000;
  double *v = malloc(n * sizeof *v);
  ASSERT(v);
  for (int d = UNIFORM; d <= CLUSTERED; d++) {
    for (size_t i = 0; i < n; i++)
      v[i] = draw((enum dist)d, 0);
    sprinkle(v, n, 3);
    check_hist(v, n, 0, 1, 100);
    check_hist(v, n, 0.1, 0.7, 3);
    check_hist(v, n, 0.3, 0.31, 1);
    check_hist(v, 1, 0, 1, 10);
    check_hist(v, 0, 0, 1, 10);
  }
  double edges[] = {0, 0.25, 0.5, 0.75, 1, NAN, INFINITY, -INFINITY, 0.5};
  check_hist(edges, 9, 0, 1, 4);
  uint64_t c[4];
  pk_kstats st;
  ASSERT_OK(pk_histogram1d(NULL, edges, 9, 0, 1, 4, c, &st));
  ASSERT_UEQ(c[0], 1);
  ASSERT_UEQ(c[1], 1);
  ASSERT_UEQ(c[2], 2);
  ASSERT_UEQ(c[3], 1);
  ASSERT_UEQ(st.outside, 1);
  ASSERT_UEQ(st.skipped, 3);
  for (size_t i = 0; i < n; i++) /* all equal: IQR 0 */
    v[i] = 3;
  check_hist(v, n, 0, 4, 4);
  ASSERT_ERR(pk_histogram1d(NULL, v, n, 1, 1, 4, c, NULL), PK_EINVAL);
  double qbad = 1.5, o;
  ASSERT_ERR(pk_quantiles(v, n, &qbad, 1, &o, NULL), PK_EINVAL);
  free(v);
}

static void test_hist_nice(void) {
  double lo, hi, w;
  size_t nb;
  ASSERT_OK(pk_hist_nice(0, 10, 0.9, 1000, &lo, &hi, &nb, &w));
  ASSERT(lo == 0 && hi == 11 && w == 1);
  ASSERT_EQ(nb, 11); /* 10 is the top value: [0, 11) keeps it */
  ASSERT_OK(pk_hist_nice(0.13, 0.87, 0.07, 1000, &lo, &hi, &nb, &w));
  ASSERT_DEQ(w, 0.1, 1e-15);
  ASSERT_DEQ(lo, 0.1, 1e-15);
  ASSERT_DEQ(hi, 0.9, 1e-15);
  ASSERT_EQ(nb, 8);
  ASSERT_OK(pk_hist_nice(0.13, 0.87, 0.1, 3, &lo, &hi, &nb, &w));
  ASSERT_LE(nb, 3);
  ASSERT_DEQ(w, 0.5, 1e-15);
  ASSERT(lo <= 0.13 && hi > 0.87);
  ASSERT_OK(pk_hist_nice(5, 5, 0, 10, &lo, &hi, &nb, &w));
  ASSERT(lo <= 5 && hi > 5 && nb >= 1);
  ASSERT_OK(pk_hist_nice(-3.7, 1e6, 2.3, 50, &lo, &hi, &nb, &w));
  ASSERT(lo <= -3.7 && hi > 1e6 && nb <= 50 && nb >= 1);
  ASSERT_ERR(pk_hist_nice(1, 0, 1, 10, &lo, &hi, &nb, &w), PK_EINVAL);
}

/* ---- M4 ------------------------------------------------------------------*/

static void check_m4(const double *x, const double *y, size_t n, double x0,
                     double x1, size_t ncols) {
  const char *names[2] = {"x", "y"};
  const double *cols[2] = {x, y};
  load("s", 2, names, cols, n);
  ASSERT_OK(pk_m4_check(x, n, NULL));
  pk_m4_col *want = malloc(ncols * sizeof *want);
  pk_m4_col *got = malloc(ncols * sizeof *got);
  size_t *idx = malloc(4 * ncols * sizeof *idx);
  ASSERT(want && got && idx);
  for (size_t c = 0; c < ncols; c++)
    want[c] = (pk_m4_col){0, SIZE_MAX, SIZE_MAX, SIZE_MAX, SIZE_MAX};
  /* M4 in SQL: first/last/min/max per pixel column, ties to the lowest
   * index through a join back to the column's points */
  double p[4] = {x0, (double)ncols / (x1 - x0), (double)ncols, x1};
  duckdb_result res;
  query(&res,
        "WITH q AS (SELECT i, y, least(floor((x - $1::DOUBLE) * $2::DOUBLE), "
        "$3::DOUBLE - 1)::BIGINT AS c FROM s WHERE x >= $1::DOUBLE AND x < "
        "$4::DOUBLE AND isfinite(y)), a AS (SELECT c, count(*) AS n, min(i) "
        "AS fi, max(i) AS li, min(y) AS mn, max(y) AS mx FROM q GROUP BY c) "
        "SELECT a.c, a.n, a.fi, a.li, min(q.i) FILTER (WHERE q.y = a.mn), "
        "min(q.i) FILTER (WHERE q.y = a.mx) FROM a JOIN q ON q.c = a.c GROUP "
        "BY a.c, a.n, a.fi, a.li",
        p, 4);
  for (size_t r = 0; r < duckdb_row_count(&res); r++) {
    int64_t c = duckdb_value_int64(&res, 0, r);
    ASSERT(c >= 0 && (size_t)c < ncols);
    want[c].n = (uint64_t)duckdb_value_int64(&res, 1, r);
    want[c].first = (size_t)duckdb_value_int64(&res, 2, r);
    want[c].last = (size_t)duckdb_value_int64(&res, 3, r);
    want[c].imin = (size_t)duckdb_value_int64(&res, 4, r);
    want[c].imax = (size_t)duckdb_value_int64(&res, 5, r);
  }
  duckdb_destroy_result(&res);
  query(&res,
        "SELECT count(*) FILTER (WHERE NOT (x >= $1::DOUBLE AND x < "
        "$2::DOUBLE)), count(*) FILTER (WHERE x >= $1::DOUBLE AND x < "
        "$2::DOUBLE AND NOT coalesce(isfinite(y), false)) FROM s",
        (double[]){x0, x1}, 2);
  uint64_t outside = (uint64_t)duckdb_value_int64(&res, 0, 0);
  uint64_t skipped = (uint64_t)duckdb_value_int64(&res, 1, 0);
  duckdb_destroy_result(&res);

  pk_pool *pools[3] = {NULL, pool2, pool4};
  for (int k = 0; k < 3; k++) {
    pk_kstats st;
    ASSERT_OK(pk_m4(pools[k], x, y, n, x0, x1, ncols, got, &st));
    ASSERT_UEQ(st.outside, outside);
    ASSERT_UEQ(st.skipped, skipped);
    ASSERT_UEQ(st.n, n);
    for (size_t c = 0; c < ncols; c++) {
      if (memcmp(&got[c], &want[c], sizeof got[c]) != 0)
        TEST_FAIL_("column %zu: n %ju first %zu last %zu min %zu max %zu vs "
                   "SQL n %ju first %zu last %zu min %zu max %zu",
                   c, (uintmax_t)got[c].n, got[c].first, got[c].last,
                   got[c].imin, got[c].imax, (uintmax_t)want[c].n,
                   want[c].first, want[c].last, want[c].imin, want[c].imax);
    }
  }
  /* the flattened series: increasing indices, each column's 4 present */
  size_t m = pk_m4_points(got, ncols, x, y, idx, NULL, NULL);
  ASSERT_ULE(m, 4 * ncols);
  for (size_t i = 1; i < m; i++)
    ASSERT(idx[i] > idx[i - 1]);
  size_t j = 0;
  for (size_t c = 0; c < ncols; c++) {
    if (got[c].n == 0)
      continue;
    size_t need[4] = {got[c].first, got[c].imin, got[c].imax, got[c].last};
    for (int k = 0; k < 4; k++) {
      bool found = false;
      for (size_t t = j; t < m && t < j + 4; t++)
        found |= idx[t] == need[k];
      ASSERT(found);
    }
    while (j < m && idx[j] <= got[c].last)
      j++;
  }
  ASSERT_EQ(j, m);
  free(want);
  free(got);
  free(idx);
}

static void test_m4(void) {
  size_t n = 400000;
  double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
  ASSERT(x && y);
  for (int d = UNIFORM; d <= CLUSTERED; d++) {
    double t = -0.2, acc = 0;
    for (size_t i = 0; i < n; i++) {
      /* sorted x with runs of equal values; y a random walk, rounded so that
       * minimum and maximum ties happen */
      if (xrand() % 8)
        t += (d == CLUSTERED && (i / 5000) % 2 ? 1e-7 : 3.5e-6) * urand();
      x[i] = t;
      acc += d == NORMAL ? nrand() : urand() - 0.5;
      y[i] = round(acc * 4) / 4;
    }
    sprinkle(y, n, 4);
    check_m4(x, y, n, 0, 1, 1000);
    check_m4(x, y, n, 0.1, 0.7, 7);
    check_m4(x, y, n, 0.3, 0.30001, 64);
    check_m4(x, y, n, 5, 6, 10);  /* excludes everything */
    check_m4(x, y, 1, -1, 1, 10); /* one point */
    check_m4(x, y, 0, 0, 1, 10);  /* empty */
    check_m4(x, y, n, -1, 2, 1);  /* all in one column */
  }
  /* ties everywhere, across the shares of a parallel run */
  for (size_t i = 0; i < n; i++)
    y[i] = (double)(i % 2);
  check_m4(x, y, n, -1, 2, 1);
  check_m4(x, y, n, -1, 2, 3);
  /* edges: points on x0, on column boundaries, on x1; ±inf x at the ends */
  double ex[] = {-INFINITY,          0, 0, 0.25,    0.25, 0.5, 0.75,
                 0.9999999999999999, 1, 1, INFINITY};
  double ey[] = {1, 2, -INFINITY, 3, 3, NAN, 4, 5, 6, 7, 8};
  check_m4(ex, ey, 11, 0, 1, 4);
  pk_m4_col cols[4];
  ASSERT_OK(pk_m4(NULL, ex, ey, 11, 0, 1, 4, cols, NULL));
  ASSERT_UEQ(cols[0].n, 1); /* y = -inf is skipped */
  ASSERT_EQ(cols[1].first, 3);
  ASSERT_EQ(cols[1].imax, 3); /* tie: the lowest index */
  ASSERT_UEQ(cols[2].n, 0);   /* only a NaN */
  ASSERT_EQ(cols[3].last, 7);
  size_t bad;
  double unsorted[] = {0, 1, 0.5};
  ASSERT_ERR(pk_m4_check(unsorted, 3, &bad), PK_EINVAL);
  ASSERT_EQ(bad, 2);
  double withnan[] = {0, NAN, 1};
  ASSERT_ERR(pk_m4_check(withnan, 3, &bad), PK_EINVAL);
  ASSERT_EQ(bad, 1);
  ASSERT_ERR(pk_m4(NULL, ex, ey, 11, 1, 1, 4, cols, NULL), PK_EINVAL);
  free(x);
  free(y);
}

/* ---- LTTB ----------------------------------------------------------------*/

/* Steinarsson's reference JavaScript, transcribed. */
static size_t ref_lttb(const double *x, const double *y, size_t n,
                       size_t threshold, size_t *out) {
  if (threshold >= n || threshold == 0) {
    for (size_t i = 0; i < n; i++)
      out[i] = i;
    return n;
  }
  size_t k = 0;
  double every = (double)(n - 2) / (double)(threshold - 2);
  size_t a = 0;
  out[k++] = a;
  for (size_t i = 0; i < threshold - 2; i++) {
    double avg_x = 0, avg_y = 0;
    size_t avg_range_start = (size_t)floor((double)(i + 1) * every) + 1;
    size_t avg_range_end = (size_t)floor((double)(i + 2) * every) + 1;
    avg_range_end = avg_range_end < n ? avg_range_end : n;
    size_t avg_range_length = avg_range_end - avg_range_start;
    for (; avg_range_start < avg_range_end; avg_range_start++) {
      avg_x += x[avg_range_start];
      avg_y += y[avg_range_start];
    }
    avg_x /= (double)avg_range_length;
    avg_y /= (double)avg_range_length;
    size_t range_offs = (size_t)floor((double)(i + 0) * every) + 1;
    size_t range_to = (size_t)floor((double)(i + 1) * every) + 1;
    double point_a_x = x[a], point_a_y = y[a];
    double max_area = -1;
    size_t next_a = range_offs;
    for (; range_offs < range_to; range_offs++) {
      double area = fabs((point_a_x - avg_x) * (y[range_offs] - point_a_y) -
                         (point_a_x - x[range_offs]) * (avg_y - point_a_y)) *
                    0.5;
      if (area > max_area) {
        max_area = area;
        next_a = range_offs;
      }
    }
    out[k++] = next_a;
    a = next_a;
  }
  out[k++] = n - 1;
  return k;
}

static void test_lttb(void) {
  /* a small known example: the spike survives */
  double x[5] = {0, 1, 2, 3, 4}, y[5] = {0, 10, 0, -10, 0};
  size_t out[16], m;
  ASSERT_OK(pk_lttb(x, y, 5, 3, out, &m));
  ASSERT_EQ(m, 3);
  ASSERT_EQ(out[0], 0);
  ASSERT_EQ(out[1], 1); /* ties (1 and 3, area 20) keep the earlier */
  ASSERT_EQ(out[2], 4);
  double y2[7] = {0, 1, 0, 0, 0, -5, 0};
  double x2[7] = {0, 1, 2, 3, 4, 5, 6};
  ASSERT_OK(pk_lttb(x2, y2, 7, 4, out, &m));
  ASSERT_EQ(m, 4);
  ASSERT_EQ(out[0], 0);
  ASSERT_EQ(out[1], 1);
  ASSERT_EQ(out[2], 5);
  ASSERT_EQ(out[3], 6);
  /* n_out >= n: the input; small n_out */
  ASSERT_OK(pk_lttb(x, y, 5, 5, out, &m));
  ASSERT_EQ(m, 5);
  for (size_t i = 0; i < 5; i++)
    ASSERT_EQ(out[i], i);
  ASSERT_OK(pk_lttb(x, y, 5, 9, out, &m));
  ASSERT_EQ(m, 5);
  ASSERT_OK(pk_lttb(x, y, 5, 2, out, &m));
  ASSERT(m == 2 && out[0] == 0 && out[1] == 4);
  ASSERT_OK(pk_lttb(x, y, 5, 1, out, &m));
  ASSERT(m == 1 && out[0] == 0);
  ASSERT_OK(pk_lttb(x, y, 5, 0, out, &m));
  ASSERT_EQ(m, 0);
  ASSERT_OK(pk_lttb(NULL, NULL, 0, 10, NULL, &m));
  ASSERT_EQ(m, 0);
  ASSERT_OK(pk_lttb(x, y, 1, 10, out, &m));
  ASSERT(m == 1 && out[0] == 0);

  /* property: equal to the reference on random series */
  size_t n = 100000;
  double *rx = malloc(n * sizeof *rx), *ry = malloc(n * sizeof *ry);
  size_t *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
  ASSERT(rx && ry && a && b);
  double t = 0, acc = 0;
  for (size_t i = 0; i < n; i++) {
    t += urand();
    acc += nrand();
    rx[i] = t;
    ry[i] = acc;
  }
  static const size_t sizes[] = {3, 4, 7, 100, 999, 5000, 49999, 99999};
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
    size_t want = ref_lttb(rx, ry, n, sizes[s], a);
    ASSERT_OK(pk_lttb(rx, ry, n, sizes[s], b, &m));
    ASSERT_EQ(m, want);
    ASSERT_EQ(m, sizes[s]);
    ASSERT(memcmp(a, b, m * sizeof *a) == 0);
    ASSERT_EQ(b[0], 0);
    ASSERT_EQ(b[m - 1], n - 1);
    for (size_t i = 1; i < m; i++)
      ASSERT(b[i] > b[i - 1]);
  }

  /* MinMaxLTTB: reference preselection, then the reference LTTB */
  static const size_t outs[] = {3, 10, 100, 1000};
  static const size_t ratios[] = {2, 4, 8};
  double *px = malloc(n * sizeof *px), *py = malloc(n * sizeof *py);
  size_t *pi = malloc(n * sizeof *pi);
  ASSERT(px && py && pi);
  for (size_t s = 0; s < 4; s++) {
    for (size_t r = 0; r < 3; r++) {
      size_t n_out = outs[s], ratio = ratios[r];
      size_t nb = n_out * ratio / 2, mm = n - 2, k = 0;
      pi[k++] = 0;
      for (size_t bkt = 0; bkt < nb; bkt++) {
        size_t from = 1 + bkt * mm / nb, to = 1 + (bkt + 1) * mm / nb;
        if (from == to)
          continue;
        size_t imn = from, imx = from;
        for (size_t i = from; i < to; i++) {
          if (ry[i] < ry[imn])
            imn = i;
          if (ry[i] > ry[imx])
            imx = i;
        }
        pi[k++] = imn < imx ? imn : imx;
        if (imn != imx)
          pi[k++] = imn < imx ? imx : imn;
      }
      pi[k++] = n - 1;
      for (size_t i = 0; i < k; i++) {
        px[i] = rx[pi[i]];
        py[i] = ry[pi[i]];
      }
      size_t want = ref_lttb(px, py, k, n_out, a);
      for (size_t i = 0; i < want; i++)
        a[i] = pi[a[i]];
      pk_pool *pools[3] = {NULL, pool2, pool4};
      for (int p = 0; p < 3; p++) {
        ASSERT_OK(pk_minmax_lttb(pools[p], rx, ry, n, n_out, ratio, b, &m));
        ASSERT_EQ(m, want);
        ASSERT(memcmp(a, b, m * sizeof *a) == 0);
      }
    }
  }
  /* too few points for preselection: plain LTTB */
  ASSERT_OK(pk_minmax_lttb(pool2, rx, ry, 1000, 300, 4, b, &m));
  size_t want = ref_lttb(rx, ry, 1000, 300, a);
  ASSERT_EQ(m, want);
  ASSERT(memcmp(a, b, m * sizeof *a) == 0);
  ASSERT_ERR(pk_minmax_lttb(pool2, rx, ry, n, 100, 1, b, &m), PK_EINVAL);
  free(px);
  free(py);
  free(pi);
  free(rx);
  free(ry);
  free(a);
  free(b);
}

/* log10 map: positive values to their log10 (the C library's, as DuckDB's),
 * the rest to NaN, the finite non-positive ones counted; pools and in
 * place give the same. */
static void test_log10_map(void) {
  size_t n = 300000;
  double *v = malloc(n * sizeof *v), *a = malloc(n * sizeof *a);
  for (size_t i = 0; i < n; i++)
    v[i] = i % 7 == 0 ? -urand() : i % 11 == 0 ? 0 : pow(10, 8 * urand() - 4);
  sprinkle(v, n, 20);
  uint64_t want = 0;
  for (size_t i = 0; i < n; i++)
    want += v[i] <= 0 && isfinite(v[i]);
  pk_pool *pools[3] = {NULL, pool2, pool4};
  for (int k = 0; k < 3; k++) {
    uint64_t np = 0;
    ASSERT_OK(pk_log10_map(pools[k], v, n, a, &np));
    ASSERT_UEQ(np, want);
    for (size_t i = 0; i < n; i++) {
      if (v[i] > 0)
        ASSERT(a[i] == log10(v[i]));
      else
        ASSERT(isnan(a[i]));
    }
  }
  ASSERT_OK(pk_log10_map(pool2, a, n, a, NULL)); /* in place */
  ASSERT_OK(pk_log10_map(NULL, NULL, 0, NULL, NULL));
  ASSERT_ERR(pk_log10_map(NULL, NULL, 1, a, NULL), PK_EINVAL);
  free(v);
  free(a);
}

int main(void) {
  if (duckdb_open(NULL, &db) != DuckDBSuccess ||
      duckdb_connect(db, &con) != DuckDBSuccess)
    TEST_FAIL_("cannot open an in-memory DuckDB");
  exec("SET threads = 2");
  pk_pool_config c2 = {.name = "pk-kern", .nthreads = 2};
  pk_pool_config c4 = {.name = "pk-kern4", .nthreads = 4};
  ASSERT_OK(pk_pool_create(&c2, &pool2));
  ASSERT_OK(pk_pool_create(&c4, &pool4));
  RUN(test_density_special);
  RUN(test_density_edges);
  RUN(test_density_random);
  RUN(test_density_acc);
  RUN(test_histogram);
  RUN(test_hist_nice);
  RUN(test_log10_map);
  RUN(test_m4);
  RUN(test_lttb);
  pk_pool_free(pool2);
  pk_pool_free(pool4);
  duckdb_disconnect(&con);
  duckdb_close(&db);
  return 0;
}
