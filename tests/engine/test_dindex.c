/* test_dindex.c — the density index (src/engine/dindex.h) counts exactly what
 * pk_density2d counts (itself checked against DuckDB in test_kernels.c):
 * every cell and the stats, for many viewports — the whole extent, zooms,
 * pans past the data, viewports whose edges sit exactly on data values,
 * single cells and grids finer than the levels — on uniform, normal,
 * clustered and integer data, with NaN and ±inf sprinkled in, and on the
 * edge cases (no points, one point, all points equal, extreme magnitudes,
 * wrong extents given to the build). With a pool and without. */
#include <math.h>
#include <stdbool.h>

#include "engine/dindex.h"
#include "test.h"

static pk_pool *pool2;
static uint64_t rng = 0x2545f4914f6cdd1du;

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

/* One viewport on both the index and the scan; every cell must match. */
static void same(const pk_dindex *ix, const double *x, const double *y,
                 size_t n, const pk_density2d_spec *spec) {
  size_t cells = spec->nx * spec->ny;
  uint64_t *a = malloc(cells * sizeof *a), *b = malloc(cells * sizeof *b);
  ASSERT(a && b);
  pk_pool *pools[2] = {NULL, pool2};
  for (int k = 0; k < 2; k++) {
    pk_kstats sa, sb;
    ASSERT_OK(pk_density2d(pools[k], x, y, NULL, n, spec, a, NULL, &sa));
    ASSERT_OK(pk_dindex_count(pools[k], ix, spec, b, &sb));
    for (size_t i = 0; i < cells; i++)
      if (a[i] != b[i])
        TEST_FAIL_("cell %zu (of %zu x %zu, viewport [%.17g, %.17g) x "
                   "[%.17g, %.17g)): scan %ju, index %ju",
                   i, spec->nx, spec->ny, spec->x0, spec->x1, spec->y0,
                   spec->y1, (uintmax_t)a[i], (uintmax_t)b[i]);
    ASSERT_UEQ(sa.n, sb.n);
    ASSERT_UEQ(sa.counted, sb.counted);
    ASSERT_UEQ(sa.skipped, sb.skipped);
    ASSERT_UEQ(sa.outside, sb.outside);
  }
  free(a);
  free(b);
}

static double pick(const double *v, size_t n) {
  for (int t = 0; t < 64; t++) {
    double d = v[xrand() % n];
    if (isfinite(d))
      return d;
  }
  return 0.5;
}

/* Many viewports over data with extent [lo, hi] on both axes. */
static void viewports(const pk_dindex *ix, const double *x, const double *y,
                      size_t n, double lo, double hi) {
  double w = hi - lo;
  static const size_t sizes[][2] = {{750, 475}, {1, 1},    {7, 300},
                                    {64, 48},   {2000, 3}, {129, 131}};
  for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
    pk_density2d_spec full = {
        lo,          hi + w * 1e-9, lo,           hi + w * 1e-9,
        sizes[s][0], sizes[s][1],   PK_KAGG_COUNT};
    same(ix, x, y, n, &full);
  }
  for (int t = 0; t < 40; t++) {
    pk_density2d_spec v = {.agg = PK_KAGG_COUNT};
    double z = pow(2, -12 * urand()); /* zoom 1x .. 4096x */
    double cx = lo + w * (1.4 * urand() - 0.2), cy = lo + w * urand();
    v.x0 = cx - w * z / 2;
    v.x1 = cx + w * z / 2;
    v.y0 = cy - w * z * (0.3 + urand()) / 2;
    v.y1 = cy + w * z * (0.3 + urand()) / 2;
    if (t % 4 == 0 && n) { /* edges exactly on data values */
      double a = pick(x, n), b = pick(x, n), c = pick(y, n), d = pick(y, n);
      if (a != b && c != d) {
        v.x0 = fmin(a, b);
        v.x1 = fmax(a, b);
        v.y0 = fmin(c, d);
        v.y1 = fmax(c, d);
      }
    }
    v.nx = 1 + xrand() % 900;
    v.ny = 1 + xrand() % 600;
    same(ix, x, y, n, &v);
  }
  /* wholly outside the data */
  pk_density2d_spec out = {hi + 1, hi + 2, lo, hi, 10, 10, PK_KAGG_COUNT};
  same(ix, x, y, n, &out);
}

static void check(double *x, double *y, size_t n, double lo, double hi,
                  const double *ext) {
  pk_dindex *ix = NULL;
  ASSERT_OK(pk_dindex_build(x, y, n, ext, &ix));
  ASSERT(pk_dindex_bytes(ix) >= 18 * (uint64_t)n / 2);
  viewports(ix, x, y, n, lo, hi);
  pk_dindex_free(ix);
}

/* x and y drawn from `kind`, a few NaN and ±inf in each. */
static void data(int kind, double *x, double *y, size_t n) {
  for (size_t i = 0; i < n; i++) {
    switch (kind) {
    case 0:
      x[i] = urand();
      y[i] = urand() + urand();
      break;
    case 1:
      x[i] = 0.5 + 0.15 * nrand();
      y[i] = 0.5 + 0.15 * nrand();
      break;
    case 2: { /* clusters and exact duplicates */
      uint64_t k = xrand() % 4;
      x[i] = k == 3 ? 0.625 : 0.25 * (double)(k + 1) + 0.01 * nrand();
      y[i] = k == 3 ? 0.375 : 0.9 - 0.25 * (double)k + 0.01 * nrand();
      break;
    }
    default: /* integers: many points exactly on bin edges */
      x[i] = floor(urand() * 100);
      y[i] = floor(urand() * 50) * 2;
      break;
    }
    uint64_t r = xrand() % 1000;
    if (r == 0)
      x[i] = NAN;
    else if (r == 1)
      y[i] = INFINITY;
    else if (r == 2)
      x[i] = -INFINITY;
  }
}

static void test_random(void) {
  size_t n = 200000;
  double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
  ASSERT(x && y);
  for (int kind = 0; kind < 4; kind++) {
    data(kind, x, y, n);
    double hi = kind == 3 ? 100 : kind == 0 ? 2 : 1;
    check(x, y, n, 0, hi, NULL);
  }
  /* Wrong extents only cost speed: too narrow, too wide, reversed, NaN. */
  data(0, x, y, n);
  const double bad[4][4] = {{0.4, 0.6, 0.9, 1.1},
                            {-1e300, 1e300, -5, 5},
                            {1, 0, 2, 0},
                            {NAN, NAN, NAN, NAN}};
  for (int b = 0; b < 4; b++)
    check(x, y, n, 0, 2, bad[b]);
  free(x);
  free(y);
}

static void test_edges(void) {
  /* no points */
  pk_dindex *ix = NULL;
  ASSERT_OK(pk_dindex_build(NULL, NULL, 0, NULL, &ix));
  pk_density2d_spec s = {0, 1, 0, 1, 4, 4, PK_KAGG_COUNT};
  same(ix, NULL, NULL, 0, &s);
  pk_dindex_free(ix);

  /* one point; then only non-finite points */
  double x1[1] = {0.5}, y1[1] = {0.25};
  check(x1, y1, 1, 0, 1, NULL);
  double xn[3] = {NAN, INFINITY, 1}, yn[3] = {1, 1, -INFINITY};
  check(xn, yn, 3, 0, 1, NULL);

  /* all points equal, some exactly on the viewport's end */
  size_t n = 100000;
  double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
  ASSERT(x && y);
  for (size_t i = 0; i < n; i++)
    x[i] = y[i] = 0.75;
  check(x, y, n, 0.5, 1, NULL);
  pk_density2d_spec end = {0.5, 0.75, 0.5, 1, 5, 5, PK_KAGG_COUNT};
  ASSERT_OK(pk_dindex_build(x, y, n, NULL, &ix));
  same(ix, x, y, n, &end);
  pk_dindex_free(ix);

  /* more rows than the y tables encode: the index scans its own copy */
  for (size_t i = 0; i < n; i++) {
    x[i] = urand();
    y[i] = i % 500 ? urand() : NAN;
  }
  ASSERT_OK(pk_dindex_build(x, y, n, NULL, &ix));
  pk_density2d_spec tall = {0, 1, 0, 1, 2, 70000, PK_KAGG_COUNT};
  same(ix, x, y, n, &tall);
  pk_dindex_free(ix);

  /* extreme magnitudes: the level cut's width overflows */
  for (size_t i = 0; i < n; i++) {
    x[i] = 1.7e308 * (2 * urand() - 1);
    y[i] = urand() * 1e-300;
  }
  ASSERT_OK(pk_dindex_build(x, y, n, NULL, &ix));
  pk_density2d_spec big = {-8e307, 8e307, 0, 1e-300, 100, 100, PK_KAGG_COUNT};
  same(ix, x, y, n, &big);
  pk_dindex_free(ix);
  free(x);
  free(y);
}

static void test_errors(void) {
  pk_dindex *ix = NULL;
  double v[2] = {0, 1};
  ASSERT_EQ(pk_dindex_build(NULL, v, 2, NULL, &ix), PK_EINVAL);
  ASSERT_OK(pk_dindex_build(v, v, 2, NULL, &ix));
  uint64_t c[4];
  pk_density2d_spec bad = {1, 0, 0, 1, 2, 2, PK_KAGG_COUNT};
  ASSERT_EQ(pk_dindex_count(NULL, ix, &bad, c, NULL), PK_EINVAL);
  pk_density2d_spec sum = {0, 1, 0, 1, 2, 2, PK_KAGG_SUM};
  ASSERT_EQ(pk_dindex_count(NULL, ix, &sum, c, NULL), PK_EINVAL);
  pk_dindex_free(ix);
}

int main(void) {
  pk_pool_config pc = {.name = "pk-dix", .nthreads = 2};
  ASSERT_OK(pk_pool_create(&pc, &pool2));
  RUN(test_random);
  RUN(test_edges);
  RUN(test_errors);
  pk_pool_free(pool2);
  return 0;
}
