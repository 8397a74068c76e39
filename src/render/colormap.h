/*
 * colormap.h — perceptual colour maps and the qualitative category palette.
 *
 * Continuous maps (viridis, magma, inferno, plasma, cividis) are carried as
 * their published 256-entry sRGB tables (colormap_data.c, from matplotlib), so
 * a sample at an entry is exact; between entries the map interpolates
 * linearly in sRGB, which is how matplotlib's ListedColormap behaves at
 * higher resolution too. Lightness (CIE L*) rises monotonically along every
 * map, so larger values always read as lighter.
 *
 * The category palette is Okabe & Ito's colour-blind-safe set ("Color
 * Universal Design", 2008), reordered so that the first colours are the
 * most distinct on white and yellow (low contrast) comes late.
 *
 * Everything here is pure and thread-safe.
 */
#ifndef PIKA_RENDER_COLORMAP_H
#define PIKA_RENDER_COLORMAP_H

#include <stddef.h>

typedef enum pk_colormap {
  PK_COLORMAP_VIRIDIS = 0, /* the default: zero-initialised models use it */
  PK_COLORMAP_MAGMA,
  PK_COLORMAP_INFERNO,
  PK_COLORMAP_PLASMA,
  PK_COLORMAP_CIVIDIS,
  PK_COLORMAP_COUNT
} pk_colormap;

/* An sRGB colour, components in [0,1]. */
typedef struct pk_rgb {
  double r, g, b;
} pk_rgb;

/* The colour of map `m` at t in [0,1] (clamped; NaN gives the t=0 colour).
 * An unknown map falls back to viridis. */
pk_rgb pk_colormap_eval(pk_colormap m, double t);

/* Entry i (0..255) of the map's published table, exactly. */
pk_rgb pk_colormap_entry(pk_colormap m, int i);

/* "viridis", ...; NULL for an unknown map. Static storage. */
const char *pk_colormap_name(pk_colormap m);

/* Parses a name (case-insensitive) into *out. Returns PK_OK or PK_EINVAL. */
int pk_colormap_from_name(const char *name, pk_colormap *out);

/* Number of colours in the category palette (8). */
#define PK_PALETTE_SIZE 8

/* Category colour i; i wraps around the palette, so any index is valid. */
pk_rgb pk_palette_color(size_t i);

/* CIE L* (0..100) of an sRGB colour (D65); used by tests and by the renderer
 * to pick a readable text colour over a swatch. */
double pk_rgb_lightness(pk_rgb c);

/* The published tables; internal to the renderer. */
extern const float pk__colormap_tables[PK_COLORMAP_COUNT][256][3];

#endif /* PIKA_RENDER_COLORMAP_H */
