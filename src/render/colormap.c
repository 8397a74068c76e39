/*
 * colormap.c — lookup and interpolation over the published colour tables.
 */
#include "render/colormap.h"

#include <math.h>
#include <strings.h>

#include "base/error.h"

static const char *const cmap_names[PK_COLORMAP_COUNT] = {
    "viridis", "magma", "inferno", "plasma", "cividis"};

static pk_colormap valid_map(pk_colormap m) {
  return ((int)m < 0 || m >= PK_COLORMAP_COUNT) ? PK_COLORMAP_VIRIDIS : m;
}

pk_rgb pk_colormap_entry(pk_colormap m, int i) {
  const float *e;
  m = valid_map(m);
  i = i < 0 ? 0 : i > 255 ? 255 : i;
  e = pk__colormap_tables[m][i];
  return (pk_rgb){e[0], e[1], e[2]};
}

pk_rgb pk_colormap_eval(pk_colormap m, double t) {
  double x, f;
  int i;
  pk_rgb a, b;
  if (!(t > 0)) /* also catches NaN */
    return pk_colormap_entry(m, 0);
  if (t >= 1)
    return pk_colormap_entry(m, 255);
  x = t * 255.0;
  i = (int)x;
  f = x - i;
  a = pk_colormap_entry(m, i);
  b = pk_colormap_entry(m, i + 1);
  return (pk_rgb){a.r + (b.r - a.r) * f, a.g + (b.g - a.g) * f,
                  a.b + (b.b - a.b) * f};
}

const char *pk_colormap_name(pk_colormap m) {
  if ((int)m < 0 || m >= PK_COLORMAP_COUNT)
    return NULL;
  return cmap_names[m];
}

int pk_colormap_from_name(const char *name, pk_colormap *out) {
  if (!name || !out)
    return PK_EINVAL;
  for (int i = 0; i < PK_COLORMAP_COUNT; i++) {
    if (strcasecmp(name, cmap_names[i]) == 0) {
      *out = (pk_colormap)i;
      return PK_OK;
    }
  }
  return PK_EINVAL;
}

/* Okabe–Ito: blue, orange, bluish green, vermillion, reddish purple, sky
 * blue, yellow, black. */
static const unsigned char palette[PK_PALETTE_SIZE][3] = {
    {0x00, 0x72, 0xB2}, {0xE6, 0x9F, 0x00}, {0x00, 0x9E, 0x73},
    {0xD5, 0x5E, 0x00}, {0xCC, 0x79, 0xA7}, {0x56, 0xB4, 0xE9},
    {0xF0, 0xE4, 0x42}, {0x00, 0x00, 0x00}};

pk_rgb pk_palette_color(size_t i) {
  const unsigned char *c = palette[i % PK_PALETTE_SIZE];
  return (pk_rgb){c[0] / 255.0, c[1] / 255.0, c[2] / 255.0};
}

static double srgb_to_linear(double c) {
  return c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4);
}

double pk_rgb_lightness(pk_rgb c) {
  /* Relative luminance Y (D65), then CIE L*. */
  double y = 0.2126 * srgb_to_linear(c.r) + 0.7152 * srgb_to_linear(c.g) +
             0.0722 * srgb_to_linear(c.b);
  double f = y > 216.0 / 24389.0 ? cbrt(y) : (24389.0 / 27.0 * y + 16) / 116;
  return 116 * f - 16;
}
