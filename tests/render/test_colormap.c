/*
 * test_colormap.c — colour map tables, interpolation, lightness, palette.
 */
#include <math.h>

#include "render/colormap.h"
#include "test.h"

static void test_endpoints(void) {
  /* Published first and last entries (matplotlib _cm_listed.py). */
  static const double first[PK_COLORMAP_COUNT][3] = {
      {0.267004, 0.004874, 0.329415},
      {0.001462, 0.000466, 0.013866},
      {0.001462, 0.000466, 0.013866},
      {0.050383, 0.029803, 0.527975},
      {0.000000, 0.135112, 0.304751}};
  static const double last[PK_COLORMAP_COUNT][3] = {
      {0.993248, 0.906157, 0.143936},
      {0.987053, 0.991438, 0.749504},
      {0.988362, 0.998364, 0.644924},
      {0.940015, 0.975158, 0.131326},
      {0.995737, 0.909344, 0.217772}};
  for (int m = 0; m < PK_COLORMAP_COUNT; m++) {
    pk_rgb a = pk_colormap_eval((pk_colormap)m, 0);
    pk_rgb b = pk_colormap_eval((pk_colormap)m, 1);
    ASSERT_DEQ(a.r, first[m][0], 1e-6);
    ASSERT_DEQ(a.g, first[m][1], 1e-6);
    ASSERT_DEQ(a.b, first[m][2], 1e-6);
    ASSERT_DEQ(b.r, last[m][0], 1e-6);
    ASSERT_DEQ(b.g, last[m][1], 1e-6);
    ASSERT_DEQ(b.b, last[m][2], 1e-6);
    /* Clamping and NaN. */
    pk_rgb lo = pk_colormap_eval((pk_colormap)m, -3);
    pk_rgb hi = pk_colormap_eval((pk_colormap)m, 7);
    pk_rgb nan = pk_colormap_eval((pk_colormap)m, NAN);
    ASSERT_DEQ(lo.g, a.g, 0);
    ASSERT_DEQ(hi.g, b.g, 0);
    ASSERT_DEQ(nan.b, a.b, 0);
  }
  /* Viridis at the middle entry (128/255 sits on entry 128 exactly). */
  pk_rgb mid = pk_colormap_eval(PK_COLORMAP_VIRIDIS, 128.0 / 255.0);
  ASSERT_DEQ(mid.r, 0.127568, 1e-6);
  ASSERT_DEQ(mid.g, 0.566949, 1e-6);
  ASSERT_DEQ(mid.b, 0.550556, 1e-6);
  /* Halfway between two entries is their mean. */
  pk_rgb h = pk_colormap_eval(PK_COLORMAP_MAGMA, 0.5 / 255.0);
  ASSERT_DEQ(h.r, (0.001462 + 0.002258) / 2, 1e-7);
}

static void test_monotonic_lightness(void) {
  for (int m = 0; m < PK_COLORMAP_COUNT; m++) {
    double prev = -1;
    for (int i = 0; i < 256; i++) {
      double l = pk_rgb_lightness(pk_colormap_entry((pk_colormap)m, i));
      /* Strictly rising lightness, entry by entry (the maps are designed
       * with near-constant steps in CAM02-UCS J'; L* rises too). */
      if (!(l > prev))
        TEST_FAIL_("%s: L* not rising at entry %d (%g after %g)",
                   pk_colormap_name((pk_colormap)m), i, l, prev);
      prev = l;
    }
    ASSERT_LT(pk_rgb_lightness(pk_colormap_entry((pk_colormap)m, 0)), 20);
    ASSERT_GT(pk_rgb_lightness(pk_colormap_entry((pk_colormap)m, 255)), 85);
  }
  ASSERT_DEQ(pk_rgb_lightness((pk_rgb){1, 1, 1}), 100, 1e-6);
  ASSERT_DEQ(pk_rgb_lightness((pk_rgb){0, 0, 0}), 0, 1e-6);
}

static void test_names(void) {
  pk_colormap m;
  ASSERT_OK(pk_colormap_from_name("Magma", &m));
  ASSERT_EQ(m, PK_COLORMAP_MAGMA);
  ASSERT_OK(pk_colormap_from_name("cividis", &m));
  ASSERT_STREQ(pk_colormap_name(m), "cividis");
  ASSERT_ERR(pk_colormap_from_name("jet", &m), PK_EINVAL);
  ASSERT(pk_colormap_name(PK_COLORMAP_COUNT) == NULL);
}

static void test_palette(void) {
  pk_rgb a = pk_palette_color(0), b = pk_palette_color(PK_PALETTE_SIZE);
  ASSERT_DEQ(a.r, 0, 0);
  ASSERT_DEQ(a.g, 0x72 / 255.0, 1e-12);
  ASSERT_DEQ(a.b, 0xB2 / 255.0, 1e-12);
  ASSERT_DEQ(b.g, a.g, 0); /* wraps */
  /* All colours distinct. */
  for (size_t i = 0; i < PK_PALETTE_SIZE; i++)
    for (size_t j = i + 1; j < PK_PALETTE_SIZE; j++) {
      pk_rgb x = pk_palette_color(i), y = pk_palette_color(j);
      ASSERT(fabs(x.r - y.r) + fabs(x.g - y.g) + fabs(x.b - y.b) > 0.2);
    }
}

int main(void) {
  RUN(test_endpoints);
  RUN(test_monotonic_lightness);
  RUN(test_names);
  RUN(test_palette);
  return 0;
}
