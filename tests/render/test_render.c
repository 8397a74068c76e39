/*
 * test_render.c — every plot kind rendered to PNG and checked on real
 * pixels; SVG/PDF output; errors and atomic file replacement.
 *
 * Pixel checks compute where a mark must land from the returned layout
 * (pk_render_info) and read the encoded PNG back through cairo. With
 * PIKA_RENDER_SAMPLES=DIR set, every figure is also written to DIR for a
 * human to look at.
 */
#include <cairo.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "render/render.h"
#include "test.h"

#define W 800
#define H 560
#define DPI 144.0

/* ---- PNG reading ----------------------------------------------------------
 */

typedef struct reader {
  const unsigned char *p;
  size_t left;
} reader;

static cairo_status_t read_mem(void *closure, unsigned char *data,
                               unsigned int length) {
  reader *r = closure;
  if (length > r->left)
    return CAIRO_STATUS_READ_ERROR;
  memcpy(data, r->p, length);
  r->p += length;
  r->left -= length;
  return CAIRO_STATUS_SUCCESS;
}

typedef struct image {
  cairo_surface_t *s;
  int w, h, stride;
  const unsigned char *d;
} image;

static image load_png(const unsigned char *buf, size_t len) {
  reader r = {buf, len};
  image im;
  im.s = cairo_image_surface_create_from_png_stream(read_mem, &r);
  ASSERT_EQ(cairo_surface_status(im.s), CAIRO_STATUS_SUCCESS);
  im.w = cairo_image_surface_get_width(im.s);
  im.h = cairo_image_surface_get_height(im.s);
  im.stride = cairo_image_surface_get_stride(im.s);
  im.d = cairo_image_surface_get_data(im.s);
  return im;
}

static void pixel(const image *im, double x, double y, int rgb[3]) {
  int ix = (int)floor(x), iy = (int)floor(y);
  ASSERT(ix >= 0 && iy >= 0 && ix < im->w && iy < im->h);
  uint32_t v;
  memcpy(&v, im->d + (size_t)iy * (size_t)im->stride + (size_t)ix * 4, 4);
  rgb[0] = (int)(v >> 16 & 0xff);
  rgb[1] = (int)(v >> 8 & 0xff);
  rgb[2] = (int)(v & 0xff);
}

static int close_to(const int rgb[3], pk_rgb c, int tol) {
  return abs(rgb[0] - (int)lrint(c.r * 255)) <= tol &&
         abs(rgb[1] - (int)lrint(c.g * 255)) <= tol &&
         abs(rgb[2] - (int)lrint(c.b * 255)) <= tol;
}

#define ASSERT_PIXEL(im, x, y, col, tol)                                       \
  do {                                                                         \
    int px_[3];                                                                \
    pixel(im, x, y, px_);                                                      \
    if (!close_to(px_, col, tol))                                              \
      TEST_FAIL_("pixel (%.1f, %.1f) is #%02x%02x%02x, want #%02x%02x%02x",    \
                 (double)(x), (double)(y), px_[0], px_[1], px_[2],             \
                 (int)lrint((col).r * 255), (int)lrint((col).g * 255),         \
                 (int)lrint((col).b * 255));                                   \
  } while (0)

static const pk_rgb white = {1, 1, 1};

/* Counts "dark" pixels (text, L below ~40%) in a rectangle. */
static int dark_pixels(const image *im, double x0, double y0, double x1,
                       double y1) {
  int n = 0, rgb[3];
  for (int y = (int)fmax(0, y0); y < (int)fmin(im->h, y1); y++)
    for (int x = (int)fmax(0, x0); x < (int)fmin(im->w, x1); x++) {
      pixel(im, x, y, rgb);
      n += rgb[0] + rgb[1] + rgb[2] < 3 * 100;
    }
  return n;
}

/* Counts pixels within 2 levels of colour c in a rectangle. */
static int colour_pixels(const image *im, double x0, double y0, double x1,
                         double y1, pk_rgb c) {
  int n = 0, rgb[3];
  for (int y = (int)fmax(0, y0); y < (int)fmin(im->h, y1); y++)
    for (int x = (int)fmax(0, x0); x < (int)fmin(im->w, x1); x++) {
      pixel(im, x, y, rgb);
      n += close_to(rgb, c, 2);
    }
  return n;
}

/* Checks every figure shares: white outside the plot area at the corners,
 * dark text in the y tick label band and the x tick label band. */
static void check_frame(const image *im, const pk_render_info *in) {
  ASSERT_PIXEL(im, 1, 1, white, 0);
  ASSERT_PIXEL(im, im->w - 2, 1, white, 0);
  ASSERT_PIXEL(im, 1, im->h - 2, white, 0);
  ASSERT_PIXEL(im, im->w - 2, im->h - 2, white, 0);
  ASSERT_GT(
      dark_pixels(im, 0, in->plot_y, in->plot_x - 6, in->plot_y + in->plot_h),
      30);
  ASSERT_GT(dark_pixels(im, in->plot_x, in->plot_y + in->plot_h + 6,
                        in->plot_x + in->plot_w, im->h),
            30);
  ASSERT_GT(in->plot_x, 10);
  ASSERT_GT(in->plot_w, W / 2);
  ASSERT_GT(in->plot_h, H / 2);
}

static char *sample_dir;

/* Renders p to a PNG in memory, saves a sample copy, returns the image. */
static image render(const pk_plot *p, const char *name, pk_render_info *in) {
  unsigned char *buf;
  size_t len;
  pk_errmsg e = {{0}};
  int r = pk_render_png_buffer(p, W, H, DPI, &buf, &len, in, &e);
  if (r != PK_OK)
    TEST_FAIL_("render %s: %s", name, e.text);
  ASSERT_GT(len, 1000);
  ASSERT(memcmp(buf, "\x89PNG", 4) == 0);
  if (sample_dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.png", sample_dir, name);
    ASSERT_OK(pk_render_file(p, path, W, H, DPI, &e));
  }
  image im = load_png(buf, len);
  free(buf);
  ASSERT_EQ(im.w, W);
  ASSERT_EQ(im.h, H);
  check_frame(&im, in);
  return im;
}

/* A deterministic normal-ish generator (sum of uniforms). */
static uint64_t rng = 88172645463325252ull;
static double urand(void) {
  return pk_test_unit(&rng);
}
static double nrand(void) {
  double s = 0;
  for (int i = 0; i < 12; i++)
    s += urand();
  return s - 6;
}

static char tmpdir[256];

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  ASSERT(f != NULL);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t)n + 1);
  ASSERT_EQ(fread(b, 1, (size_t)n, f), (size_t)n);
  b[n] = 0;
  fclose(f);
  *len = (size_t)n;
  return b;
}

/* ---- kinds ------------------------------------------------------------------
 */

static void test_scatter(void) {
  enum { N = 300 };
  static double x0[N], y0[N], x1[N], y1[N];
  for (int i = 0; i < N; i++) {
    x0[i] = 2 + nrand();
    y0[i] = 3 + 0.8 * x0[i] + nrand() * 0.6;
    x1[i] = 6 + nrand() * 0.8;
    y1[i] = 1 + nrand() * 0.7;
  }
  /* Two isolated probe points far from the clouds. */
  x0[0] = -1.5;
  y0[0] = 9;
  x1[0] = 9.5;
  y1[0] = 9;
  pk_series s[2] = {{"setosa", x0, y0, N, NULL},
                    {"virginica", x1, y1, N, NULL}};
  pk_plot p = {.kind = PK_PLOT_SCATTER,
               .title = "Sepal length vs width",
               .x = {.title = "sepal length (cm)"},
               .y = {.title = "sepal width (cm)"},
               .series = s,
               .nseries = 2,
               .point_size = 4};
  pk_render_info in;
  image im = render(&p, "scatter", &in);
  double px, py;
  pk_render_info_map(&in, -1.5, 9, &px, &py);
  ASSERT_PIXEL(&im, px, py, pk_palette_color(0), 2);
  pk_render_info_map(&in, 9.5, 9, &px, &py);
  ASSERT_PIXEL(&im, px, py, pk_palette_color(1), 2);
  /* Empty space inside the plot area (far from both clouds) is white. */
  pk_render_info_map(&in, 9.5, 6.3, &px, &py);
  ASSERT_PIXEL(&im, px + 3, py + 3, white, 0);
  /* The legend: both colours appear to the right of the plot area. */
  int found[2] = {0, 0}, rgb[3];
  for (int y = (int)in.plot_y; y < (int)(in.plot_y + 80); y++)
    for (int x = (int)(in.plot_x + in.plot_w + 2); x < W; x++) {
      pixel(&im, x, y, rgb);
      for (int k = 0; k < 2; k++)
        found[k] |= close_to(rgb, pk_palette_color((size_t)k), 2);
    }
  ASSERT(found[0] && found[1]);
  cairo_surface_destroy(im.s);

  /* Vector output draws real circles (no raster stamps): one filled path
   * per point, plus the text and axes. */
  char path[512];
  size_t len;
  pk_errmsg e;
  snprintf(path, sizeof path, "%s/scatter.svg", tmpdir);
  ASSERT_OK(pk_render_file(&p, path, W, H, DPI, &e));
  char *svg = slurp(path, &len);
  size_t paths = 0;
  for (char *q = svg; (q = strstr(q, "<path")) != NULL; q++)
    paths++;
  ASSERT_GE(paths, 2 * N);
  ASSERT(strstr(svg, "<image") == NULL);
  free(svg);
  unlink(path);

  /* Colour by value: the point with the largest value has the top colour. */
  double c[3] = {1, 5, 10}, xs[3] = {0, 1, 2}, ys[3] = {0, 1, 2};
  pk_series sv = {NULL, xs, ys, 3, c};
  pk_plot pv = {.kind = PK_PLOT_SCATTER,
                .series = &sv,
                .nseries = 1,
                .colormap = PK_COLORMAP_PLASMA,
                .point_size = 8,
                .colorbar_title = "magnitude"};
  im = render(&pv, "scatter_by_value", &in);
  pk_render_info_map(&in, 2, 2, &px, &py);
  ASSERT_PIXEL(&im, px, py, pk_colormap_eval(PK_COLORMAP_PLASMA, 1), 1);
  pk_render_info_map(&in, 0, 0, &px, &py);
  ASSERT_PIXEL(&im, px, py, pk_colormap_eval(PK_COLORMAP_PLASMA, 0), 1);
  ASSERT_DEQ(in.colorbar_lo, 1, 0);
  ASSERT_DEQ(in.colorbar_hi, 10, 0);
  cairo_surface_destroy(im.s);
}

static void test_density(void) {
  enum { NX = 60, NY = 40 };
  static double v[NX * NY];
  for (int iy = 0; iy < NY; iy++)
    for (int ix = 0; ix < NX; ix++) {
      double dx = (ix - 20.0) / 9, dy = (iy - 25.0) / 7;
      double dx2 = (ix - 42.0) / 6, dy2 = (iy - 12.0) / 5;
      double f =
          900 * exp(-(dx * dx + dy * dy)) + 400 * exp(-(dx2 * dx2 + dy2 * dy2));
      v[iy * NX + ix] = floor(f);
    }
  v[25 * NX + 20] = 2000; /* the single hottest cell */
  pk_plot p = {
      .kind = PK_PLOT_DENSITY,
      .title = "10M points, binned",
      .x = {.title = "x"},
      .y = {.title = "y"},
      .grid = {
          .nx = NX, .ny = NY, .v = v, .x0 = -3, .x1 = 3, .y0 = -2, .y1 = 2}};
  pk_render_info in;
  image im = render(&p, "density", &in);
  double cx = -3 + 6 * (20 + 0.5) / NX, cy = -2 + 4 * (25 + 0.5) / NY, px, py;
  pk_render_info_map(&in, cx, cy, &px, &py);
  ASSERT_PIXEL(&im, px, py, pk_colormap_entry(PK_COLORMAP_VIRIDIS, 255), 1);
  /* A zero-count corner cell is blank (white). */
  pk_render_info_map(&in, -3 + 6 * 0.5 / NX, 2 - 4 * 0.5 / NY, &px, &py);
  ASSERT_PIXEL(&im, px, py, white, 0);
  /* The colour bar's top row is the map's last colour too. */
  ASSERT_DEQ(in.colorbar_hi, 2000, 0);
  ASSERT_PIXEL(&im, in.plot_x + in.plot_w + 12 * 2 + 8, in.plot_y + 1,
               pk_colormap_entry(PK_COLORMAP_VIRIDIS, 255), 1);
  ASSERT_PIXEL(&im, in.plot_x + in.plot_w + 12 * 2 + 8,
               in.plot_y + in.plot_h - 1,
               pk_colormap_entry(PK_COLORMAP_VIRIDIS, 0), 1);
  cairo_surface_destroy(im.s);

  /* Log colour scale and magma. */
  p.grid.log_color = 1;
  p.colormap = PK_COLORMAP_MAGMA;
  im = render(&p, "density_log_magma", &in);
  pk_render_info_map(&in, cx, cy, &px, &py);
  ASSERT_PIXEL(&im, px, py, pk_colormap_entry(PK_COLORMAP_MAGMA, 255), 1);
  cairo_surface_destroy(im.s);
}

static void test_line(void) {
  enum { N = 400 };
  static double x[N], a[N], b[N];
  for (int i = 0; i < N; i++) {
    x[i] = i * 4 * M_PI / (N - 1);
    a[i] = sin(x[i]);
    b[i] = 0.5 * cos(x[i]);
  }
  a[200] = NAN; /* a gap */
  pk_series s[2] = {{"sin x", x, a, N, NULL}, {"½ cos x", x, b, N, NULL}};
  pk_plot p = {.kind = PK_PLOT_LINE,
               .title = "Two series",
               .x = {.title = "x (rad)"},
               .y = {.title = "amplitude"},
               .series = s,
               .nseries = 2};
  pk_render_info in;
  image im = render(&p, "line", &in);
  /* At x = pi/2 sin is 1 and cos is 0: far apart. */
  double px, py;
  int i = 50; /* x[50] ~ 1.575 */
  pk_render_info_map(&in, x[i], a[i], &px, &py);
  ASSERT_PIXEL(&im, px, py, pk_palette_color(0), 8);
  pk_render_info_map(&in, x[i], b[i], &px, &py);
  ASSERT_PIXEL(&im, px, py, pk_palette_color(1), 8);
  /* The NaN breaks the line: halfway between neighbours stays clear of
   * series 0 (x[199]..x[201] straddle the gap at y ~ sin). */
  pk_render_info_map(&in, x[200], sin(x[200]), &px, &py);
  int rgb[3];
  pixel(&im, px, py, rgb);
  ASSERT(!close_to(rgb, pk_palette_color(0), 8));
  cairo_surface_destroy(im.s);

  /* Time axis in microseconds, log y. */
  static double t[N], y[N];
  for (int k = 0; k < N; k++) {
    t[k] = (1700000000.0 + k * 3600.0) * 1e6;
    y[k] = pow(10, 1 + 3.0 * k / N) * (1.2 + sin(k / 9.0));
  }
  pk_series st = {"load", t, y, N, NULL};
  pk_plot pt = {.kind = PK_PLOT_LINE,
                .title = "Hourly load (UTC)",
                .x = {.title = "time",
                      .scale = PK_SCALE_TIME,
                      .time_unit = PK_TIME_MICROS},
                .y = {.title = "requests / s", .scale = PK_SCALE_LOG},
                .series = &st,
                .nseries = 1};
  im = render(&pt, "line_time_log", &in);
  ASSERT_DEQ(in.x_lo, 1700000000.0 - 0.04 * 3600 * (N - 1), 1);
  ASSERT(in.y_log);
  pk_render_info_map(&in, t[100] * 1e-6, y[100], &px, &py);
  ASSERT_PIXEL(&im, px, py, pk_palette_color(0), 12);
  cairo_surface_destroy(im.s);
}

static void test_area(void) {
  enum { N = 120 };
  static double x[N], y[N];
  for (int i = 0; i < N; i++) {
    x[i] = i;
    y[i] = 50 + 30 * sin(i / 10.0) + i * 0.3;
  }
  pk_series s = {"revenue", x, y, N, NULL};
  pk_plot p = {.kind = PK_PLOT_AREA,
               .title = "Area",
               .x = {.title = "day"},
               .y = {.title = "revenue (k$)"},
               .series = &s,
               .nseries = 1};
  pk_render_info in;
  image im = render(&p, "area", &in);
  ASSERT_DEQ(in.y_lo, 0, 0); /* areas start at zero */
  double px, py;
  pk_render_info_map(&in, x[30], y[30] / 2, &px, &py);
  pk_rgb c = pk_palette_color(0),
         blend = {c.r * 0.45 + 0.55, c.g * 0.45 + 0.55, c.b * 0.45 + 0.55};
  ASSERT_PIXEL(&im, px, py, blend, 2);
  /* Above the curve is white. */
  pk_render_info_map(&in, x[30], y[30] + 15, &px, &py);
  ASSERT_PIXEL(&im, px, py, white, 0);
  cairo_surface_destroy(im.s);
}

static void test_bar(void) {
  const char *cats[] = {"North", "South", "East", "West"};
  const char *names[] = {"2023", "2024", "2025"};
  double v[] = {12, 15, 9, 7, 11, 14, 20, 18, 22, 5, 9, 6};
  pk_plot p = {.kind = PK_PLOT_BAR,
               .title = "Sales by region",
               .y = {.title = "units (k)"},
               .bars = {.ncat = 4,
                        .nseries = 3,
                        .categories = cats,
                        .series_names = names,
                        .values = v}};
  pk_render_info in;
  image im = render(&p, "bar_grouped", &in);
  ASSERT_DEQ(in.y_lo, 0, 0);
  ASSERT_DEQ(in.x_lo, -0.5, 0);
  for (int c = 0; c < 4; c++)
    for (int s = 0; s < 3; s++) {
      double w = 0.8 / 3, x = c - 0.4 + w * (s + 0.5), px, py;
      pk_render_info_map(&in, x, v[c * 3 + s] / 2, &px, &py);
      ASSERT_PIXEL(&im, px, py, pk_palette_color((size_t)s), 1);
    }
  cairo_surface_destroy(im.s);

  p.bars.stacked = 1;
  p.title = "Sales by region, stacked";
  im = render(&p, "bar_stacked", &in);
  ASSERT_GE(in.y_hi, 60); /* the tallest stack: 20 + 18 + 22 */
  double px, py;
  /* East: 20 | 18 | 22 stacked; the middle of the second segment. */
  pk_render_info_map(&in, 2, 20 + 9, &px, &py);
  ASSERT_PIXEL(&im, px, py, pk_palette_color(1), 1);
  pk_render_info_map(&in, 2, 20 + 18 + 11, &px, &py);
  ASSERT_PIXEL(&im, px, py, pk_palette_color(2), 1);
  /* Above the stack: background (or a grid line). */
  pk_render_info_map(&in, 2, 60 + 1, &px, &py);
  if (py > in.plot_y)
    ASSERT_PIXEL(&im, px, py, white, 30);
  /* The legend, right of the plot area, has a swatch of every series. */
  for (int s = 0; s < 3; s++)
    ASSERT_GT(colour_pixels(&im, in.plot_x + in.plot_w, 0, W, H,
                            pk_palette_color((size_t)s)),
              20);
  cairo_surface_destroy(im.s);

  /* Negative values stack downwards from 0, positive ones upwards, each
   * sign in series order. */
  double nv[] = {5, -3, 4, -2, 6, -4};
  const char *cats2[] = {"a", "b"};
  pk_plot q = {.kind = PK_PLOT_BAR,
               .title = "Net flows, stacked",
               .bars = {.ncat = 2,
                        .nseries = 3,
                        .categories = cats2,
                        .series_names = names,
                        .values = nv,
                        .stacked = 1}};
  im = render(&q, "bar_stacked_negative", &in);
  ASSERT_LE(in.y_lo, -6); /* b: -2 - 4 */
  ASSERT_GE(in.y_hi, 9);  /* a: 5 + 4 */
  /* a: 5 up (s0), -3 down (s1), 4 on top of 5 (s2). */
  pk_render_info_map(&in, 0, 2.5, &px, &py);
  ASSERT_PIXEL(&im, px, py, pk_palette_color(0), 1);
  pk_render_info_map(&in, 0, -1.5, &px, &py);
  ASSERT_PIXEL(&im, px, py, pk_palette_color(1), 1);
  pk_render_info_map(&in, 0, 7, &px, &py);
  ASSERT_PIXEL(&im, px, py, pk_palette_color(2), 1);
  /* b: -2 (s0) then 6 up (s1) then -4 below -2 (s2). */
  pk_render_info_map(&in, 1, -1, &px, &py);
  ASSERT_PIXEL(&im, px, py, pk_palette_color(0), 1);
  pk_render_info_map(&in, 1, 3, &px, &py);
  ASSERT_PIXEL(&im, px, py, pk_palette_color(1), 1);
  pk_render_info_map(&in, 1, -4, &px, &py);
  ASSERT_PIXEL(&im, px, py, pk_palette_color(2), 1);
  pk_render_info_map(&in, 1, -6.5, &px, &py);
  if (py < in.plot_y + in.plot_h)
    ASSERT_PIXEL(&im, px, py, white, 30);
  cairo_surface_destroy(im.s);
}

static void test_bar_long_labels(void) {
  /* Long category names rotate and never clip: the canvas edges stay
   * white and every bar is still where the axis says. */
  enum { NC = 12 };
  static const char *cats[NC] = {"Alabama",     "Alaska",     "Arizona",
                                 "Arkansas",    "California", "Colorado",
                                 "Connecticut", "Delaware",   "Florida",
                                 "Georgia",     "Hawaii",     "Idaho"};
  double v[NC];
  for (int i = 0; i < NC; i++)
    v[i] = 10 + (i * 37 % 11) * 3.5;
  pk_plot p = {
      .kind = PK_PLOT_BAR,
      .title = "A rather long title for a small figure",
      .y = {.title = "population (M)"},
      .bars = {.ncat = NC, .nseries = 1, .categories = cats, .values = v}};
  pk_render_info in;
  image im = render(&p, "bar_rotated", &in);
  for (int i = 0; i < NC; i++) {
    double px, py;
    pk_render_info_map(&in, i, v[i] / 2, &px, &py);
    ASSERT_PIXEL(&im, px, py, pk_palette_color(0), 1);
  }
  for (int x = 0; x < W; x++) {
    ASSERT_PIXEL(&im, x, 0, white, 0);
    ASSERT_PIXEL(&im, x, H - 1, white, 0);
  }
  for (int y = 0; y < H; y++) {
    ASSERT_PIXEL(&im, 0, y, white, 0);
    ASSERT_PIXEL(&im, W - 1, y, white, 0);
  }
  cairo_surface_destroy(im.s);
}

static void test_histogram(void) {
  enum { NB = 30 };
  double edges[NB + 1], counts[NB];
  for (int i = 0; i <= NB; i++)
    edges[i] = -3 + 6.0 * i / NB;
  for (int i = 0; i < NB; i++) {
    double m = (edges[i] + edges[i + 1]) / 2;
    counts[i] = floor(10000 * exp(-m * m / 2) * 0.2 / sqrt(2 * M_PI));
  }
  pk_plot p = {.kind = PK_PLOT_HISTOGRAM,
               .title = "Distribution of z",
               .x = {.title = "z"},
               .y = {.title = "count"},
               .hist = {.nbins = NB, .edges = edges, .counts = counts}};
  pk_render_info in;
  image im = render(&p, "histogram", &in);
  ASSERT_DEQ(in.x_lo, -3, 0);
  ASSERT_DEQ(in.x_hi, 3, 0);
  ASSERT_DEQ(in.y_lo, 0, 0);
  for (int i = 5; i < NB - 5; i++) {
    double px, py;
    pk_render_info_map(&in, (edges[i] + edges[i + 1]) / 2, counts[i] / 2, &px,
                       &py);
    ASSERT_PIXEL(&im, px, py, pk_palette_color(0), 1);
    pk_render_info_map(&in, (edges[i] + edges[i + 1]) / 2,
                       counts[i] + in.y_hi * 0.02, &px, &py);
    ASSERT_PIXEL(&im, px, py - 1, white, 30); /* above: background/grid */
  }
  cairo_surface_destroy(im.s);
}

static void test_heatmap(void) {
  enum { NX = 7, NY = 24 };
  static const char *const dow[] = {"Mon", "Tue", "Wed", "Thu",
                                    "Fri", "Sat", "Sun"};
  (void)dow;
  double xe[NX + 1], ye[NY + 1], v[NX * NY];
  for (int i = 0; i <= NX; i++)
    xe[i] = i * i; /* uneven edges: drawn as rectangles */
  for (int i = 0; i <= NY; i++)
    ye[i] = i;
  for (int iy = 0; iy < NY; iy++)
    for (int ix = 0; ix < NX; ix++)
      v[iy * NX + ix] = 20 + 15 * sin(iy / 24.0 * 2 * M_PI) + ix * 3;
  v[12 * NX + 6] = 100; /* max */
  v[3 * NX + 2] = -5;   /* min */
  pk_plot p = {.kind = PK_PLOT_HEATMAP,
               .title = "Mean latency by hour",
               .x = {.title = "bucket"},
               .y = {.title = "hour of day"},
               .colormap = PK_COLORMAP_INFERNO,
               .grid = {.nx = NX,
                        .ny = NY,
                        .v = v,
                        .xedges = xe,
                        .yedges = ye,
                        .value = PK_GRID_MEAN}};
  pk_render_info in;
  image im = render(&p, "heatmap", &in);
  double px, py;
  pk_render_info_map(&in, (xe[6] + xe[7]) / 2, 12.5, &px, &py);
  ASSERT_PIXEL(&im, px, py, pk_colormap_entry(PK_COLORMAP_INFERNO, 255), 1);
  pk_render_info_map(&in, (xe[2] + xe[3]) / 2, 3.5, &px, &py);
  ASSERT_PIXEL(&im, px, py, pk_colormap_entry(PK_COLORMAP_INFERNO, 0), 1);
  ASSERT_DEQ(in.colorbar_lo, -5, 0);
  ASSERT_DEQ(in.colorbar_hi, 100, 0);
  cairo_surface_destroy(im.s);

  /* Uniform cells with cividis. */
  p.grid.xedges = p.grid.yedges = NULL;
  p.grid.x0 = 0;
  p.grid.x1 = 7;
  p.grid.y0 = 0;
  p.grid.y1 = 24;
  p.colormap = PK_COLORMAP_CIVIDIS;
  im = render(&p, "heatmap_cividis", &in);
  pk_render_info_map(&in, 6.5, 12.5, &px, &py);
  ASSERT_PIXEL(&im, px, py, pk_colormap_entry(PK_COLORMAP_CIVIDIS, 255), 1);
  cairo_surface_destroy(im.s);
}

static void test_box(void) {
  double out0[] = {-2.5, 9.1}, out2[] = {14.2};
  pk_box_group g[3] = {
      {"control", 0.5, 2.5, 3.4, 4.6, 6.8, out0, 2},
      {"treatment A", 1.8, 3.9, 5.0, 6.1, 8.5, NULL, 0},
      {"treatment B", 3.0, 5.5, 7.2, 8.0, 11.0, out2, 1},
  };
  pk_plot p = {.kind = PK_PLOT_BOX,
               .title = "Response by group",
               .y = {.title = "response (mg/L)"},
               .boxes = g,
               .nboxes = 3};
  pk_render_info in;
  image im = render(&p, "box", &in);
  for (int i = 0; i < 3; i++) {
    double px, py;
    /* Inside the box, between q1 and the median, off the centre line. */
    pk_render_info_map(&in, i + 0.15, (g[i].q1 + g[i].median) / 2, &px, &py);
    ASSERT_PIXEL(&im, px, py, pk_palette_color((size_t)i), 1);
    /* The median line is dark. */
    pk_render_info_map(&in, i + 0.15, g[i].median, &px, &py);
    int rgb[3];
    pixel(&im, px, py, rgb);
    ASSERT_LT(rgb[0] + rgb[1] + rgb[2], 3 * 90);
  }
  /* An outlier circle's outline is dark around its centre. */
  double px, py;
  pk_render_info_map(&in, 2, 14.2, &px, &py);
  ASSERT_GT(dark_pixels(&im, px - 6, py - 6, px + 6, py + 6), 4);
  ASSERT_LE(in.y_lo, -2.5);
  ASSERT_GE(in.y_hi, 14.2);
  cairo_surface_destroy(im.s);
}

static void test_violin(void) {
  enum { N = 80 };
  static double y[3][N], d[3][N];
  pk_violin_group g[3];
  const char *names[3] = {"Adelie", "Chinstrap", "Gentoo"};
  double mu[3] = {38.8, 48.8, 47.5}, sd[3] = {2.7, 3.3, 3.1};
  for (int k = 0; k < 3; k++) {
    for (int i = 0; i < N; i++) {
      y[k][i] = mu[k] - 3 * sd[k] + 6 * sd[k] * i / (N - 1);
      double z = (y[k][i] - mu[k]) / sd[k];
      d[k][i] = exp(-z * z / 2) / sd[k] +
                (k == 1 ? 0.05 * exp(-(z - 1.5) * (z - 1.5) * 4) : 0);
    }
    g[k] = (pk_violin_group){names[k],
                             y[k],
                             d[k],
                             N,
                             mu[k] - 0.67 * sd[k],
                             mu[k],
                             mu[k] + 0.67 * sd[k]};
  }
  pk_plot p = {.kind = PK_PLOT_VIOLIN,
               .title = "Bill length by species",
               .y = {.title = "bill length (mm)"},
               .violins = g,
               .nviolins = 3};
  pk_render_info in;
  image im = render(&p, "violin", &in);
  for (int k = 0; k < 3; k++) {
    double px, py;
    /* Half way out from the centre at the mode: inside the body, clear of
     * the inner box. */
    double half = 0.4 * (1 / sd[k]) / (1 / sd[0]);
    pk_render_info_map(&in, k + half * 0.5, mu[k], &px, &py);
    ASSERT_PIXEL(&im, px, py, pk_palette_color((size_t)k), 1);
    /* Outside the body at the same height is white. */
    pk_render_info_map(&in, k + 0.47, mu[k] + sd[k] * 2.5, &px, &py);
    ASSERT_PIXEL(&im, px, py, white, 30);
  }
  cairo_surface_destroy(im.s);
}

/* ---- formats and files ------------------------------------------------------
 */

static pk_plot simple_line(pk_series *s) {
  static double x[] = {0, 1, 2, 3}, y[] = {1, 3, 2, 5};
  *s = (pk_series){"a", x, y, 4, NULL};
  return (pk_plot){.kind = PK_PLOT_LINE,
                   .title = "Vector <output> & text",
                   .x = {.title = "x"},
                   .y = {.title = "y"},
                   .series = s,
                   .nseries = 1};
}

static int dir_entries(const char *dir) {
  char cmd[512];
  snprintf(cmd, sizeof cmd, "ls -A '%s' | wc -l", dir);
  FILE *f = popen(cmd, "r");
  int n = -1;
  ASSERT(f && fscanf(f, "%d", &n) == 1);
  pclose(f);
  return n;
}

static void test_png_file(void) {
  pk_series s;
  pk_plot p = simple_line(&s);
  char path[512];
  pk_errmsg e;
  snprintf(path, sizeof path, "%s/plot.PNG", tmpdir);
  ASSERT_OK(pk_render_file(&p, path, 640, 480, 96, &e));
  cairo_surface_t *img = cairo_image_surface_create_from_png(path);
  ASSERT_EQ(cairo_surface_status(img), CAIRO_STATUS_SUCCESS);
  ASSERT_EQ(cairo_image_surface_get_width(img), 640);
  ASSERT_EQ(cairo_image_surface_get_height(img), 480);
  cairo_surface_destroy(img);
  /* Replacing an existing file works and leaves no temporary behind. */
  ASSERT_OK(pk_render_file(&p, path, 320, 200, 96, &e));
  img = cairo_image_surface_create_from_png(path);
  ASSERT_EQ(cairo_image_surface_get_width(img), 320);
  cairo_surface_destroy(img);
  ASSERT_EQ(dir_entries(tmpdir), 1);
  unlink(path);
}

static void test_svg_pdf(void) {
  pk_series s;
  pk_plot p = simple_line(&s);
  char path[512];
  pk_errmsg e;
  size_t len;
  snprintf(path, sizeof path, "%s/plot.svg", tmpdir);
  ASSERT_OK(pk_render_file(&p, path, 720, 480, 144, &e));
  char *svg = slurp(path, &len);
  ASSERT(strstr(svg, "<svg") != NULL);
  /* 720 px at 144 dpi is 360 pt. */
  ASSERT(strstr(svg, "width=\"360pt\"") != NULL);
  ASSERT(strstr(svg, "height=\"240pt\"") != NULL);
  /* Text went through pango as glyphs (cairo emits <symbol> glyph paths). */
  ASSERT(strstr(svg, "<symbol") != NULL || strstr(svg, "glyph") != NULL);
  ASSERT(strstr(svg, "<path") != NULL);
  free(svg);
  if (sample_dir) {
    char sp[4096];
    snprintf(sp, sizeof sp, "%s/line.svg", sample_dir);
    ASSERT_OK(pk_render_file(&p, sp, 720, 480, 144, &e));
    snprintf(sp, sizeof sp, "%s/line.pdf", sample_dir);
    ASSERT_OK(pk_render_file(&p, sp, 720, 480, 144, &e));
  }
  unlink(path);

  snprintf(path, sizeof path, "%s/plot.pdf", tmpdir);
  ASSERT_OK(pk_render_file(&p, path, 720, 480, 144, &e));
  char *pdf = slurp(path, &len);
  ASSERT(memcmp(pdf, "%PDF-", 5) == 0);
  /* Exactly one page object ("/Type /Page" not followed by "s"), a font,
   * and the page box of 360 x 240 pt. */
  int pages = 0;
  for (char *q = pdf;
       (q = memmem(q, len - (size_t)(q - pdf), "/Type /Page", 11)) != NULL;
       q += 11)
    pages += q[11] != 's';
  ASSERT_EQ(pages, 1);
  ASSERT(memmem(pdf, len, "/Font", 5) != NULL);
  ASSERT(memmem(pdf, len, "/MediaBox [ 0 0 360 240 ]", 25) != NULL);
  ASSERT(memmem(pdf, len, "%%EOF", 5) != NULL);
  free(pdf);
  unlink(path);
}

static void test_errors(void) {
  pk_series s;
  pk_plot p = simple_line(&s);
  pk_errmsg e;
  char path[512];

  /* Unwritable directory: EPERM, nothing left behind. */
  if (geteuid() != 0) {
    char ro[300];
    snprintf(ro, sizeof ro, "%s/ro", tmpdir);
    ASSERT_EQ(mkdir(ro, 0555), 0);
    snprintf(path, sizeof path, "%s/out.png", ro);
    ASSERT_ERR(pk_render_file(&p, path, 200, 100, 72, &e), PK_EPERM);
    ASSERT(strstr(e.text, path) != NULL);
    ASSERT_EQ(dir_entries(ro), 0);
    rmdir(ro);
  }
  /* Missing directory: ENOENT with the path. */
  snprintf(path, sizeof path, "%s/missing/out.pdf", tmpdir);
  ASSERT_ERR(pk_render_file(&p, path, 200, 100, 72, &e), PK_ENOENT);
  ASSERT(strstr(e.text, path) != NULL);
  /* Unknown extension, bad sizes. */
  snprintf(path, sizeof path, "%s/out.jpg", tmpdir);
  ASSERT_ERR(pk_render_file(&p, path, 200, 100, 72, &e), PK_EINVAL);
  snprintf(path, sizeof path, "%s/out.png", tmpdir);
  ASSERT_ERR(pk_render_file(&p, path, 0, 100, 72, &e), PK_EINVAL);
  ASSERT_ERR(pk_render_file(&p, path, 100, 100, 0, &e), PK_EINVAL);
  ASSERT_ERR(pk_render_file(NULL, path, 100, 100, 72, &e), PK_EINVAL);
  ASSERT_EQ(dir_entries(tmpdir), 0);

  /* A bad model must not clobber an existing file. */
  ASSERT_OK(pk_render_file(&p, path, 200, 100, 72, &e));
  struct stat st0, st1;
  ASSERT_EQ(stat(path, &st0), 0);
  pk_plot bad = p;
  bad.x.fixed = 1;
  bad.x.min = 5;
  bad.x.max = 1;
  ASSERT_ERR(pk_render_file(&bad, path, 300, 100, 72, &e), PK_EINVAL);
  ASSERT(strstr(e.text, "x range") != NULL);
  ASSERT_EQ(stat(path, &st1), 0);
  ASSERT_EQ(st0.st_size, st1.st_size);
  ASSERT_EQ(dir_entries(tmpdir), 1);
  unlink(path);
}

static void test_invalid_models(void) {
  pk_errmsg e;
  double edges[] = {0, 1, 1, 2}, counts[] = {1, 2, 3};
  pk_plot h = {.kind = PK_PLOT_HISTOGRAM,
               .hist = {.nbins = 3, .edges = edges, .counts = counts}};
  ASSERT_ERR(pk_plot_validate(&h, &e), PK_EINVAL); /* edges not ascending */
  edges[2] = 1.5;
  ASSERT_OK(pk_plot_validate(&h, &e));
  counts[1] = -1;
  ASSERT_ERR(pk_plot_validate(&h, &e), PK_EINVAL);

  pk_box_group g = {"g", 1, 3, 2, 4, 5, NULL, 0}; /* median < q1 */
  pk_plot b = {.kind = PK_PLOT_BOX, .boxes = &g, .nboxes = 1};
  ASSERT_ERR(pk_plot_validate(&b, &e), PK_EINVAL);
  ASSERT(strstr(e.text, "group 0") != NULL);

  pk_plot d = {.kind = PK_PLOT_DENSITY};
  ASSERT_ERR(pk_plot_validate(&d, &e), PK_EINVAL);
  pk_plot k = {.kind = PK_PLOT_KIND_COUNT};
  ASSERT_ERR(pk_plot_validate(&k, &e), PK_EINVAL);
  pk_plot lg = {.kind = PK_PLOT_LINE,
                .y = {.scale = PK_SCALE_LOG, .fixed = 1, .min = 0, .max = 1}};
  ASSERT_ERR(pk_plot_validate(&lg, &e), PK_EINVAL);

  /* An empty line plot (no series) is valid and draws empty axes. */
  pk_plot empty = {.kind = PK_PLOT_LINE, .title = "empty"};
  unsigned char *buf;
  size_t len;
  ASSERT_OK(pk_render_png_buffer(&empty, 200, 150, 72, &buf, &len, NULL, &e));
  free(buf);
  /* Degenerate canvases still draw (cramped, but no crash or error). */
  ASSERT_OK(pk_render_png_buffer(&empty, 1, 1, 72, &buf, &len, NULL, &e));
  free(buf);
  ASSERT_OK(pk_render_png_buffer(&empty, 3000, 40, 600, &buf, &len, NULL, &e));
  free(buf);
}

static void test_dpi_scaling(void) {
  /* The same figure at twice the dpi and twice the pixels has the plot
   * area at twice the coordinates: fonts and margins scale with dpi. */
  pk_series s;
  pk_plot p = simple_line(&s);
  pk_render_info a, b;
  unsigned char *buf;
  size_t len;
  pk_errmsg e;
  ASSERT_OK(pk_render_png_buffer(&p, 400, 300, 72, &buf, &len, &a, &e));
  free(buf);
  ASSERT_OK(pk_render_png_buffer(&p, 800, 600, 144, &buf, &len, &b, &e));
  free(buf);
  ASSERT_DEQ(b.plot_x, 2 * a.plot_x, 1.0);
  ASSERT_DEQ(b.plot_w, 2 * a.plot_w, 2.0);
  ASSERT_DEQ(b.plot_h, 2 * a.plot_h, 2.0);
}

/* Renders from two threads at once give the same bytes as one thread. */
typedef struct job {
  const pk_plot *p;
  unsigned char *buf;
  size_t len;
  int rc;
} job;

static void *render_job(void *arg) {
  job *j = arg;
  pk_errmsg e;
  for (int i = 0; i < 3 && j->rc == PK_OK; i++) {
    free(j->buf);
    j->rc =
        pk_render_png_buffer(j->p, 480, 320, 96, &j->buf, &j->len, NULL, &e);
  }
  return NULL;
}

static void test_threads(void) {
  pk_series s;
  pk_plot p = simple_line(&s);
  job ref = {&p, NULL, 0, PK_OK}, a = ref, b = ref;
  render_job(&ref);
  ASSERT_OK(ref.rc);
  pthread_t ta, tb;
  ASSERT_EQ(pthread_create(&ta, NULL, render_job, &a), 0);
  ASSERT_EQ(pthread_create(&tb, NULL, render_job, &b), 0);
  pthread_join(ta, NULL);
  pthread_join(tb, NULL);
  ASSERT_OK(a.rc);
  ASSERT_OK(b.rc);
  ASSERT_UEQ(a.len, ref.len);
  ASSERT_UEQ(b.len, ref.len);
  ASSERT(memcmp(a.buf, ref.buf, ref.len) == 0);
  ASSERT(memcmp(b.buf, ref.buf, ref.len) == 0);
  free(ref.buf);
  free(a.buf);
  free(b.buf);
}

int main(void) {
  sample_dir = getenv("PIKA_RENDER_SAMPLES");
  if (sample_dir && !*sample_dir)
    sample_dir = NULL;
  snprintf(tmpdir, sizeof tmpdir, "%s/pk-render-XXXXXX",
           getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  ASSERT(mkdtemp(tmpdir) != NULL);
  RUN(test_scatter);
  RUN(test_density);
  RUN(test_line);
  RUN(test_area);
  RUN(test_bar);
  RUN(test_bar_long_labels);
  RUN(test_histogram);
  RUN(test_heatmap);
  RUN(test_box);
  RUN(test_violin);
  RUN(test_png_file);
  RUN(test_svg_pdf);
  RUN(test_errors);
  RUN(test_invalid_models);
  RUN(test_dpi_scaling);
  RUN(test_threads);
  ASSERT_EQ(rmdir(tmpdir), 0);
  pk_render_global_cleanup();
  return 0;
}
