/* test_server_units.c — the server's pure parts: the gate (token, Host,
 * Origin, cookie), static path containment, the PKPL encoding (decoded
 * here, independently of the encoder), the results store, base64. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/assets.h"
#include "server/auth.h"
#include "server/json_out.h"
#include "server/pkpl.h"
#include "server/results.h"
#include "test.h"

static void test_token(void) {
  char t[PK_TOKEN_BUF], u[PK_TOKEN_BUF];
  ASSERT_OK(pk_auth_token_new(t, NULL));
  ASSERT_OK(pk_auth_token_new(u, NULL));
  ASSERT_EQ(strlen(t), 64);
  ASSERT(strcmp(t, u) != 0);
  for (int i = 0; i < 64; i++)
    ASSERT(strchr("0123456789abcdef", t[i]));
  ASSERT(pk_auth_token_eq(t, t, 64));
  ASSERT(!pk_auth_token_eq(t, u, 64));
  ASSERT(!pk_auth_token_eq(t, t, 63)); /* a prefix is not the token */
  char longer[80];
  snprintf(longer, sizeof longer, "%sx", t);
  ASSERT(!pk_auth_token_eq(t, longer, 65));
  ASSERT(!pk_auth_token_eq(t, NULL, 0));
  ASSERT(!pk_auth_token_eq(t, "", 0));
}

static void test_host_origin(void) {
  ASSERT(pk_auth_host_ok("127.0.0.1"));
  ASSERT(pk_auth_host_ok("127.0.0.1:8080"));
  ASSERT(pk_auth_host_ok("localhost:1"));
  ASSERT(pk_auth_host_ok("LOCALHOST"));
  ASSERT(pk_auth_host_ok("[::1]:9"));
  ASSERT(!pk_auth_host_ok(NULL));
  ASSERT(!pk_auth_host_ok(""));
  ASSERT(!pk_auth_host_ok("evil.com"));
  ASSERT(!pk_auth_host_ok("127.0.0.1.evil.com"));
  ASSERT(!pk_auth_host_ok("localhost.evil.com:80"));
  ASSERT(!pk_auth_host_ok("127.0.0.1:80x"));
  ASSERT(!pk_auth_host_ok("127.0.0.1:"));
  ASSERT(pk_auth_origin_ok("http://127.0.0.1:4242", 4242));
  ASSERT(pk_auth_origin_ok("http://localhost:4242", 4242));
  ASSERT(!pk_auth_origin_ok("http://localhost:4243", 4242));
  ASSERT(!pk_auth_origin_ok("http://evil.com", 4242));
  ASSERT(!pk_auth_origin_ok("https://127.0.0.1:4242", 4242));
  ASSERT(!pk_auth_origin_ok("http://127.0.0.1:4242.evil.com", 4242));
  ASSERT(!pk_auth_origin_ok("null", 4242));
  ASSERT(!pk_auth_origin_ok(NULL, 4242));
}

static void test_request_token(void) {
  const char *tok = "abc123";
  ASSERT(pk_auth_request_ok(tok, NULL, "Bearer abc123", 80));
  ASSERT(!pk_auth_request_ok(tok, NULL, "Bearer abc124", 80));
  ASSERT(!pk_auth_request_ok(tok, NULL, "Basic abc123", 80));
  ASSERT(pk_auth_request_ok(tok, "pika_80=abc123", NULL, 80));
  ASSERT(pk_auth_request_ok(tok, "x=1; pika_80=abc123; y=2", NULL, 80));
  /* another server's cookie is not this one's */
  ASSERT(!pk_auth_request_ok(tok, "pika_81=abc123", NULL, 80));
  ASSERT(!pk_auth_request_ok(tok, "xpika_80=abc123", NULL, 80));
  ASSERT(!pk_auth_request_ok(tok, "pika_80=abc12", NULL, 80));
  ASSERT(!pk_auth_request_ok(tok, NULL, NULL, 80));
}

static void test_assets(void) {
  char dir[] = "/tmp/pika-assets-XXXXXX";
  ASSERT(mkdtemp(dir));
  char p[PATH_MAX + 64], out[PATH_MAX];
  snprintf(p, sizeof p, "%s/web", dir);
  ASSERT_EQ(mkdir(p, 0700), 0);
  snprintf(p, sizeof p, "%s/web/assets", dir);
  ASSERT_EQ(mkdir(p, 0700), 0);
  snprintf(p, sizeof p, "%s/web/index.html", dir);
  FILE *f = fopen(p, "w");
  fputs("<html>", f);
  fclose(f);
  snprintf(p, sizeof p, "%s/web/assets/app-1234.js", dir);
  f = fopen(p, "w");
  fputs("x", f);
  fclose(f);
  snprintf(p, sizeof p, "%s/secret.txt", dir);
  f = fopen(p, "w");
  fputs("secret", f);
  fclose(f);
  char link[PATH_MAX + 64];
  snprintf(link, sizeof link, "%s/web/leak.txt", dir);
  ASSERT_EQ(symlink(p, link), 0);
  char root[PATH_MAX + 64];
  snprintf(root, sizeof root, "%s/web", dir);
  char rroot[PATH_MAX];
  ASSERT(realpath(root, rroot));

  ASSERT_EQ(pk_assets_resolve(rroot, "/assets/app-1234.js", out),
            PK_ASSET_FILE);
  ASSERT(strstr(out, "/web/assets/app-1234.js"));
  ASSERT_EQ(pk_assets_resolve(rroot, "/", out), PK_ASSET_INDEX);
  ASSERT(strstr(out, "/web/index.html"));
  ASSERT_EQ(pk_assets_resolve(rroot, "/some/route", out), PK_ASSET_INDEX);
  ASSERT_EQ(pk_assets_resolve(rroot, "/../secret.txt", out),
            PK_ASSET_FORBIDDEN);
  ASSERT_EQ(pk_assets_resolve(rroot, "/assets/../../secret.txt", out),
            PK_ASSET_FORBIDDEN);
  ASSERT_EQ(pk_assets_resolve(rroot, "/leak.txt", out), PK_ASSET_FORBIDDEN);
  ASSERT_EQ(pk_assets_resolve(rroot, "/a\\b", out), PK_ASSET_FORBIDDEN);
  ASSERT_EQ(pk_assets_resolve(rroot, "relative", out), PK_ASSET_FORBIDDEN);
  ASSERT_STREQ(pk_assets_cache_control("/assets/app-1234.js"),
               "public, max-age=31536000, immutable");
  ASSERT_STREQ(pk_assets_cache_control("/index.html"), "no-cache");
  ASSERT_STREQ(pk_assets_mime("x/app.js"), "text/javascript; charset=utf-8");
  unlink(link);
  unlink(p);
  snprintf(p, sizeof p, "%s/web/assets/app-1234.js", dir);
  unlink(p);
  snprintf(p, sizeof p, "%s/web/index.html", dir);
  unlink(p);
  snprintf(p, sizeof p, "%s/web/assets", dir);
  rmdir(p);
  rmdir(root);
  rmdir(dir);
}

static uint32_t u32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}

/* Decodes a PKPL buffer: header JSON and data section. */
static json_t *decode(const unsigned char *b, size_t len,
                      const unsigned char **data, size_t *dlen) {
  ASSERT(len >= 16);
  ASSERT(!memcmp(b, "PKPL", 4));
  ASSERT_EQ(u32(b + 4), 1);
  uint32_t J = u32(b + 8), P = u32(b + 12);
  ASSERT_EQ((16 + J + P) % 8, 0);
  ASSERT(P < 8);
  for (uint32_t i = 0; i < P; i++)
    ASSERT_EQ(b[16 + J + i], 0);
  json_error_t je;
  json_t *h = json_loadb((const char *)b + 16, J, 0, &je);
  ASSERT(h);
  *data = b + 16 + J + P;
  *dlen = len - 16 - J - P;
  return h;
}

static const double *array(json_t *ref, const unsigned char *data, size_t dlen,
                           size_t *n) {
  json_int_t a = json_integer_value(json_object_get(ref, "a"));
  *n = (size_t)json_integer_value(json_object_get(ref, "n"));
  ASSERT_EQ(a % 8, 0);
  ASSERT((size_t)a + *n * 8 <= dlen);
  return (const double *)(const void *)(data + a);
}

static void test_pkpl_histogram(void) {
  double edges[] = {0, 1, 2, 3}, counts[] = {5, 7, 2};
  pk_plot p = {.kind = PK_PLOT_HISTOGRAM,
               .x = {.title = "delay"},
               .y = {.title = "count"},
               .hist = {3, edges, counts}};
  pk_pkpl_meta m = {.plot = "node-1", .seq = 41, .rows = 14, .points = 14};
  m.ext_x0 = m.ext_x1 = m.ext_y0 = m.ext_y1 = NAN;
  unsigned char *b = NULL;
  size_t len = 0;
  ASSERT_OK(pk_pkpl_encode(&p, &m, &b, &len, NULL));
  const unsigned char *data;
  size_t dlen;
  json_t *h = decode(b, len, &data, &dlen);
  ASSERT_STREQ(json_string_value(json_object_get(h, "plot")), "node-1");
  ASSERT_EQ(json_integer_value(json_object_get(h, "seq")), 41);
  ASSERT_STREQ(json_string_value(json_object_get(h, "kind")), "histogram");
  json_t *x = json_object_get(h, "x");
  ASSERT_STREQ(json_string_value(json_object_get(x, "title")), "delay");
  ASSERT_STREQ(json_string_value(json_object_get(x, "scale")), "linear");
  ASSERT_DEQ(json_number_value(json_object_get(x, "max")), 3, 0);
  ASSERT_DEQ(json_number_value(json_object_get(json_object_get(h, "y"), "max")),
             7, 0);
  json_t *hist = json_object_get(h, "hist");
  size_t n;
  const double *e = array(json_object_get(hist, "edges"), data, dlen, &n);
  ASSERT_EQ(n, 4);
  ASSERT_DEQ(e[3], 3, 0);
  const double *c = array(json_object_get(hist, "counts"), data, dlen, &n);
  ASSERT_EQ(n, 3);
  ASSERT_DEQ(c[0] + c[1] + c[2], 14, 0);
  ASSERT_DEQ(c[1], 7, 0);
  json_decref(h);
  free(b);
}

static void test_pkpl_scatter_and_bars(void) {
  double xs[] = {1, 2, NAN}, ys[] = {10, 20, 30}, cs[] = {0.5, 1.5, 2.5};
  pk_series s = {.name = "AA", .x = xs, .y = ys, .n = 3, .c = cs};
  pk_plot p = {.kind = PK_PLOT_SCATTER, .series = &s, .nseries = 1};
  p.x.fixed = 1;
  p.x.min = 0;
  p.x.max = 5;
  pk_pkpl_meta m = {.plot = NULL, .seq = 1, .ext_x0 = -1, .ext_x1 = 9};
  m.ext_y0 = m.ext_y1 = NAN;
  unsigned char *b = NULL;
  size_t len = 0;
  ASSERT_OK(pk_pkpl_encode(&p, &m, &b, &len, NULL));
  const unsigned char *data;
  size_t dlen;
  json_t *h = decode(b, len, &data, &dlen);
  ASSERT(json_is_null(json_object_get(h, "plot")));
  json_t *se = json_array_get(json_object_get(h, "series"), 0);
  ASSERT_STREQ(json_string_value(json_object_get(se, "name")), "AA");
  size_t n;
  const double *x = array(json_object_get(se, "x"), data, dlen, &n);
  ASSERT_EQ(n, 3);
  ASSERT(isnan(x[2]));
  const double *c = array(json_object_get(se, "c"), data, dlen, &n);
  ASSERT_DEQ(c[2], 2.5, 0);
  json_t *cr = json_object_get(h, "color_range");
  ASSERT_DEQ(json_number_value(json_array_get(cr, 1)), 2.5, 0);
  json_t *ext = json_object_get(h, "extent");
  ASSERT_DEQ(json_number_value(json_object_get(ext, "x0")), -1, 0);
  ASSERT_DEQ(json_number_value(json_object_get(ext, "y1")), 30, 0);
  ASSERT_DEQ(json_number_value(json_object_get(json_object_get(h, "x"), "max")),
             5, 0); /* the fixed viewport */
  json_decref(h);
  free(b);

  const char *cats[] = {"a", "b"}, *sn[] = {"s1", "s2"};
  double vals[] = {1, 2, 3, 4};
  pk_plot q = {.kind = PK_PLOT_BAR, .bars = {2, 2, cats, sn, vals, 1}};
  ASSERT_OK(pk_pkpl_encode(&q, &m, &b, &len, NULL));
  h = decode(b, len, &data, &dlen);
  json_t *bars = json_object_get(h, "bars");
  ASSERT_STREQ(
      json_string_value(json_array_get(json_object_get(bars, "categories"), 1)),
      "b");
  ASSERT(json_is_true(json_object_get(bars, "stacked")));
  const double *v = array(json_object_get(bars, "values"), data, dlen, &n);
  ASSERT_EQ(n, 4);
  ASSERT_DEQ(v[1 * 2 + 1], 4, 0);
  json_t *xa = json_object_get(h, "x");
  ASSERT_EQ(json_array_size(json_object_get(xa, "categories")), 2);
  ASSERT_DEQ(json_number_value(json_object_get(xa, "min")), -0.5, 0);
  /* stacked: the y range reaches the largest sum (3 + 4) */
  ASSERT_DEQ(json_number_value(json_object_get(json_object_get(h, "y"), "max")),
             7, 0);
  json_decref(h);
  free(b);
}

static char **rows_of(size_t n, size_t *bytes) {
  char **r = malloc(n * sizeof *r);
  *bytes = 0;
  for (size_t i = 0; i < n; i++) {
    char b[32];
    snprintf(b, sizeof b, "[%zu]", i);
    r[i] = strdup(b);
    *bytes += strlen(b) + 1 + sizeof(char *);
  }
  return r;
}

static void test_results(void) {
  char id1[PK_RESULT_ID_BUF], id2[PK_RESULT_ID_BUF], id3[PK_RESULT_ID_BUF];
  pk_results_id("SELECT  1\n", 3, id1);
  pk_results_id(" SELECT 1", 3, id2);
  ASSERT_STREQ(id1, id2); /* whitespace normalised */
  pk_results_id("SELECT 1", 4, id3);
  ASSERT(strcmp(id1, id3) != 0); /* the catalog version counts */
  pk_results *r = NULL;
  ASSERT_OK(pk_results_create(25000, &r));
  size_t bytes;
  char **rows = rows_of(1000, &bytes);
  ASSERT_OK(pk_results_put(r, id1, json_array(), rows, 1000, 1000, bytes));
  char *page = NULL;
  uint64_t total = 0;
  ASSERT_OK(pk_results_page(r, id1, 998, 10, 1, NULL, &page, &total));
  ASSERT_STREQ(page, "[[998],[999]]");
  ASSERT_EQ(total, 1000);
  free(page);
  ASSERT_OK(pk_results_page(r, id1, 5000, 10, 0, NULL, &page, &total));
  ASSERT_STREQ(page, "[]"); /* past the end: empty, not evicted */
  free(page);
  ASSERT_EQ(pk_results_page(r, id3, 0, 10, 1, NULL, &page, &total), PK_ENOENT);
  /* a second large result evicts the first */
  rows = rows_of(1000, &bytes);
  ASSERT_OK(pk_results_put(r, id3, json_array(), rows, 1000, 1000, bytes));
  ASSERT_EQ(pk_results_page(r, id1, 0, 10, 1, NULL, &page, &total), PK_ENOENT);
  pk_results_stats st;
  pk_results_get_stats(r, &st);
  ASSERT_EQ(st.entries, 1);
  ASSERT_EQ(st.hits, 1);
  ASSERT_EQ(st.misses, 2);
  ASSERT(st.bytes <= st.budget);
  pk_results_free(r);
}

static void test_base64(void) {
  char *s = pk_base64((const unsigned char *)"foobar", 6);
  ASSERT_STREQ(s, "Zm9vYmFy");
  free(s);
  s = pk_base64((const unsigned char *)"fooba", 5);
  ASSERT_STREQ(s, "Zm9vYmE=");
  free(s);
  s = pk_base64((const unsigned char *)"f", 1);
  ASSERT_STREQ(s, "Zg==");
  free(s);
}

int main(void) {
  RUN(test_token);
  RUN(test_host_origin);
  RUN(test_request_token);
  RUN(test_assets);
  RUN(test_pkpl_histogram);
  RUN(test_pkpl_scatter_and_bars);
  RUN(test_results);
  RUN(test_base64);
  return 0;
}
