/* test_metrics.c — the metrics registry: values, histogram accuracy against
 * exact quantiles, and the Prometheus text parsed back line by line. */
#include <math.h>
#include <stdbool.h>

#include "runtime/metrics.h"
#include "test.h"

/* ---- helpers ------------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rng_next(void) { /* xorshift64*: deterministic across runs */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545f4914f6cdd1du;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

/* q = num / 100000; quantiles checked by every accuracy test. */
static const uint64_t q_num[] = {1,     100,   1000,  10000, 25000, 50000,
                                 75000, 90000, 95000, 99000, 99900, 99999};

/* The exact nearest-rank quantile of sorted[0..n), in integers only. */
static uint64_t exact_quantile(const uint64_t *sorted, uint64_t n,
                               uint64_t num) {
  uint64_t rank = (num * n + 99999) / 100000;
  if (rank < 1)
    rank = 1;
  return sorted[rank - 1];
}

/* |est - truth| <= truth / 32, the bound metrics.h documents. */
static void assert_close(uint64_t est, uint64_t truth) {
  uint64_t diff = est > truth ? est - truth : truth - est;
  if (diff * 32 > truth)
    TEST_FAIL_("estimate %ju vs exact %ju: error %.3f%% > 3.125%%",
               (uintmax_t)est, (uintmax_t)truth,
               100.0 * (double)diff / (double)truth);
}

/* Records values[0..n) into a fresh histogram and checks every quantile, min,
 * max, sum and count against the exact figures. */
static void check_distribution(uint64_t *values, uint64_t n) {
  pk_metrics *reg;
  pk_hist *h;
  ASSERT_OK(pk_metrics_create(&reg));
  ASSERT_OK(pk_metrics_hist(reg, "dist", NULL, "d", PK_UNIT_NANOSECONDS, &h));
  uint64_t sum = 0;
  for (uint64_t i = 0; i < n; i++) {
    pk_hist_record(h, values[i]);
    sum += values[i];
  }
  qsort(values, n, sizeof *values, cmp_u64);
  pk_hist_snap *snap = malloc(sizeof *snap);
  ASSERT(snap);
  pk_hist_snapshot(h, snap);
  ASSERT_UEQ(snap->count, n);
  ASSERT_UEQ(snap->sum, sum);
  ASSERT_UEQ(snap->min, values[0]);
  ASSERT_UEQ(snap->max, values[n - 1]);
  ASSERT_UEQ(pk_hist_quantile(snap, 0.0), values[0]);
  ASSERT_UEQ(pk_hist_quantile(snap, 1.0), values[n - 1]);
  for (size_t k = 0; k < sizeof q_num / sizeof q_num[0]; k++) {
    double q = (double)q_num[k] / 100000.0;
    assert_close(pk_hist_quantile(snap, q),
                 exact_quantile(values, n, q_num[k]));
  }
  free(snap);
  pk_metrics_free(reg);
}

/* ---- bucket layout ------------------------------------------------------- */

static void check_value_in_bucket(uint64_t v) {
  unsigned i = pk_hist_bucket_index(v);
  uint64_t lo, hi;
  ASSERT(i < PK_HIST_NBUCKETS);
  ASSERT_OK(pk_hist_bucket_bounds(i, &lo, &hi));
  if (v < lo || v > hi)
    TEST_FAIL_("value %ju in bucket %u = [%ju, %ju]", (uintmax_t)v, i,
               (uintmax_t)lo, (uintmax_t)hi);
}

static void test_bucket_layout(void) {
  uint64_t prev_hi = 0, lo, hi;
  ASSERT_OK(pk_hist_bucket_bounds(0, &lo, &hi));
  ASSERT_UEQ(lo, 0);
  ASSERT_UEQ(hi, 0);
  for (unsigned i = 1; i < PK_HIST_NBUCKETS; i++) {
    ASSERT_OK(pk_hist_bucket_bounds(i, &lo, &hi));
    ASSERT_UEQ(lo, prev_hi + 1); /* contiguous, no gaps or overlaps */
    ASSERT(hi >= lo);
    ASSERT((hi - lo) * 16 <= lo); /* width <= 1/16 of the lower edge */
    ASSERT_EQ(pk_hist_bucket_index(lo), i);
    ASSERT_EQ(pk_hist_bucket_index(hi), i);
    if (i <= 32)
      ASSERT_UEQ(lo, hi); /* small values exact */
    prev_hi = hi;
  }
  ASSERT_UEQ(prev_hi, UINT64_MAX);
  ASSERT_ERR(pk_hist_bucket_bounds(PK_HIST_NBUCKETS, &lo, &hi), PK_EINVAL);
  /* Every power of two is an upper edge (exact Prometheus le counts). */
  for (unsigned k = 0; k < 64; k++) {
    ASSERT_OK(pk_hist_bucket_bounds(pk_hist_bucket_index(UINT64_C(1) << k), &lo,
                                    &hi));
    ASSERT_UEQ(hi, UINT64_C(1) << k);
  }
  for (uint64_t v = 0; v < 200000; v++)
    check_value_in_bucket(v);
  for (unsigned k = 0; k < 64; k++)
    for (int d = -2; d <= 2; d++)
      check_value_in_bucket((UINT64_C(1) << k) + (uint64_t)(int64_t)d);
  check_value_in_bucket(UINT64_MAX);
  for (int i = 0; i < 100000; i++)
    check_value_in_bucket(rng_next() >> (rng_next() % 64));
}

/* ---- histogram accuracy -------------------------------------------------- */

static void test_hist_uniform(void) {
  uint64_t n = 1000000;
  uint64_t *v = malloc(n * sizeof *v);
  ASSERT(v);
  for (uint64_t i = 0; i < n; i++) /* shuffled so order is not a factor */
    v[i] = i + 1;
  for (uint64_t i = n - 1; i > 0; i--) {
    uint64_t j = rng_next() % (i + 1), t = v[i];
    v[i] = v[j];
    v[j] = t;
  }
  check_distribution(v, n);
  free(v);
}

static void test_hist_exponential(void) {
  uint64_t n = 200000;
  uint64_t *v = malloc(n * sizeof *v);
  ASSERT(v);
  for (uint64_t i = 0; i < n; i++) {
    double u = ((double)(rng_next() >> 11) + 1.0) / 9007199254740993.0;
    v[i] = (uint64_t)(-log(u) * 250000.0); /* mean 250 µs */
  }
  check_distribution(v, n);
  free(v);
}

static void test_hist_wide(void) { /* log-uniform over 1 ns .. ~1 hour */
  uint64_t n = 100000;
  uint64_t *v = malloc(n * sizeof *v);
  ASSERT(v);
  for (uint64_t i = 0; i < n; i++)
    v[i] = 1 + (rng_next() >> (22 + rng_next() % 42));
  check_distribution(v, n);
  free(v);
}

static void test_hist_constant_single_zero(void) {
  pk_metrics *reg;
  pk_hist *c, *one, *zero, *empty;
  ASSERT_OK(pk_metrics_create(&reg));
  ASSERT_OK(pk_metrics_hist(reg, "c", NULL, "", PK_UNIT_NONE, &c));
  ASSERT_OK(pk_metrics_hist(reg, "one", NULL, "", PK_UNIT_NONE, &one));
  ASSERT_OK(pk_metrics_hist(reg, "zero", NULL, "", PK_UNIT_NONE, &zero));
  ASSERT_OK(pk_metrics_hist(reg, "empty", NULL, "", PK_UNIT_NONE, &empty));
  for (int i = 0; i < 1000; i++) {
    pk_hist_record(c, 123457);
    pk_hist_record(zero, 0);
  }
  pk_hist_record(one, 7777777);
  static pk_hist_snap s;
  const double qs[] = {0, 0.01, 0.5, 0.95, 0.99, 0.999, 1};
  /* Clamping to [min, max] makes these exact, not just within 1/32. */
  pk_hist_snapshot(c, &s);
  ASSERT_UEQ(s.count, 1000);
  ASSERT_UEQ(s.sum, 123457000);
  for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++)
    ASSERT_UEQ(pk_hist_quantile(&s, qs[i]), 123457);
  pk_hist_snapshot(one, &s);
  ASSERT_UEQ(s.count, 1);
  ASSERT_UEQ(s.min, 7777777);
  ASSERT_UEQ(s.max, 7777777);
  for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++)
    ASSERT_UEQ(pk_hist_quantile(&s, qs[i]), 7777777);
  pk_hist_snapshot(zero, &s);
  ASSERT_UEQ(s.count, 1000);
  ASSERT_UEQ(s.sum, 0);
  ASSERT_UEQ(s.min, 0);
  ASSERT_UEQ(s.max, 0);
  ASSERT_UEQ(s.buckets[0], 1000);
  for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++)
    ASSERT_UEQ(pk_hist_quantile(&s, qs[i]), 0);
  pk_hist_snapshot(empty, &s);
  ASSERT_UEQ(s.count, 0);
  ASSERT_UEQ(s.min, 0);
  ASSERT_UEQ(pk_hist_quantile(&s, 0.5), 0);
  /* Extremes of the range. */
  pk_hist_record(one, UINT64_MAX - 5);
  pk_hist_snapshot(one, &s);
  ASSERT_UEQ(s.max, UINT64_MAX - 5);
  ASSERT_UEQ(pk_hist_quantile(&s, 1), UINT64_MAX - 5);
  assert_close(pk_hist_quantile(&s, 0.99), UINT64_MAX - 5);
  pk_metrics_free(reg);
}

static void test_hist_local(void) {
  pk_metrics *reg;
  pk_hist *h;
  pk_hist_local *l1, *l2, *l3;
  ASSERT_OK(pk_metrics_create(&reg));
  ASSERT_OK(
      pk_metrics_hist(reg, "mixed_seconds", NULL, "", PK_UNIT_NANOSECONDS, &h));
  ASSERT_OK(pk_hist_local_acquire(h, &l1));
  ASSERT_OK(pk_hist_local_acquire(h, &l2));
  ASSERT(l1 && l2 && l1 != l2); /* l1 is in use: a second one */
  /* Values spread over three paths: the snapshot must read as one
   * histogram of all of them. */
  uint64_t n = 3001, *v = malloc(n * sizeof *v), sum = 0;
  ASSERT(v);
  for (uint64_t i = 0; i < n; i++) {
    v[i] = i == 1234 ? 0 : 1 + (rng_next() >> (30 + rng_next() % 34));
    sum += v[i];
    if (i % 3 == 0)
      pk_hist_record(h, v[i]);
    else if (i % 3 == 1)
      pk_hist_local_record(l1, v[i]);
    else
      pk_hist_local_record(l2, v[i]);
  }
  qsort(v, n, sizeof *v, cmp_u64);
  static pk_hist_snap s;
  pk_hist_snapshot(h, &s);
  ASSERT_UEQ(s.count, n);
  ASSERT_UEQ(s.sum, sum);
  ASSERT_UEQ(s.min, 0);
  ASSERT_UEQ(s.max, v[n - 1]);
  for (size_t k = 0; k < sizeof q_num / sizeof q_num[0]; k++)
    assert_close(pk_hist_quantile(&s, (double)q_num[k] / 100000.0),
                 exact_quantile(v, n, q_num[k]));
  free(v);
  /* A released recorder is reused, and its counts stay. */
  pk_hist_local_release(l1);
  ASSERT_OK(pk_hist_local_acquire(h, &l3));
  ASSERT(l3 == l1);
  pk_hist_local_record(l3, UINT64_C(1) << 50);
  pk_hist_snapshot(h, &s);
  ASSERT_UEQ(s.count, 3002);
  ASSERT_UEQ(s.sum, sum + (UINT64_C(1) << 50));
  ASSERT_UEQ(s.max, UINT64_C(1) << 50);
  ASSERT_UEQ(pk_hist_quantile(&s, 1), UINT64_C(1) << 50);
  char *out;
  ASSERT_OK(pk_metrics_render_prometheus(reg, &out, NULL));
  ASSERT(strstr(out, "\nmixed_seconds_count 3002\n"));
  ASSERT(strstr(out, "mixed_seconds_bucket{le=\"+Inf\"} 3002\n"));
  free(out);
  pk_hist_local_release(l2);
  pk_hist_local_release(l3);
  pk_hist_local_release(NULL);
  pk_hist_local_record(NULL, 1);
  ASSERT_ERR(pk_hist_local_acquire(NULL, &l1), PK_EINVAL);
  ASSERT_ERR(pk_hist_local_acquire(h, NULL), PK_EINVAL);
  pk_metrics_free(reg); /* frees the recorders too (ASan: no leak) */
}

/* ---- counters, gauges, registration ------------------------------------- */

static int64_t fake_depth(void *arg) {
  return *(const int64_t *)arg;
}

static void test_counter_gauge(void) {
  pk_metrics *reg;
  pk_counter *c;
  pk_gauge *g;
  ASSERT_OK(pk_metrics_create(&reg));
  ASSERT_OK(pk_metrics_counter(reg, "files", NULL, "files done", &c));
  ASSERT_UEQ(pk_counter_get(c), 0);
  pk_counter_add(c, 3);
  pk_counter_add(c, UINT64_C(1) << 40);
  ASSERT_UEQ(pk_counter_get(c), (UINT64_C(1) << 40) + 3);
  ASSERT_OK(pk_metrics_gauge(reg, "depth", NULL, "queue depth", &g));
  pk_gauge_set(g, 10);
  pk_gauge_add(g, 5);
  pk_gauge_sub(g, 20);
  ASSERT_EQ(pk_gauge_get(g), -5);
  int64_t depth = 42;
  pk_gauge_set_fn(g, fake_depth, &depth);
  ASSERT_EQ(pk_gauge_get(g), 42);
  depth = 7;
  ASSERT_EQ(pk_gauge_get(g), 7);
  char *out;
  ASSERT_OK(pk_metrics_render_prometheus(reg, &out, NULL));
  ASSERT(strstr(out, "\ndepth 7\n"));
  free(out);
  pk_gauge_set_fn(g, NULL, NULL);
  ASSERT_EQ(pk_gauge_get(g), -5);
  /* NULL handles are no-ops, so instrumented code runs without metrics. */
  pk_counter_add(NULL, 1);
  ASSERT_UEQ(pk_counter_get(NULL), 0);
  pk_gauge_set(NULL, 1);
  pk_gauge_add(NULL, 1);
  pk_gauge_sub(NULL, 1);
  pk_gauge_set_fn(NULL, fake_depth, &depth);
  ASSERT_EQ(pk_gauge_get(NULL), 0);
  pk_hist_record(NULL, 1);
  pk_metrics_free(reg);
  pk_metrics_free(NULL);
}

static void test_registration(void) {
  pk_metrics *reg;
  pk_counter *c1, *c2, *c3, *c4;
  pk_hist *h1, *h2, *h3;
  pk_gauge *g;
  ASSERT_OK(pk_metrics_create(&reg));
  ASSERT_OK(pk_metrics_counter(reg, "pika_bytes", "stage=\"read\"", "b", &c1));
  ASSERT_OK(pk_metrics_counter(reg, "pika_bytes", "stage=\"read\"", "x", &c2));
  ASSERT(c1 == c2);
  /* The _total suffix names the same family. */
  ASSERT_OK(
      pk_metrics_counter(reg, "pika_bytes_total", "stage=\"read\"", "", &c3));
  ASSERT(c1 == c3);
  ASSERT_OK(pk_metrics_counter(reg, "pika_bytes", "stage=\"zstd\"", "b", &c4));
  ASSERT(c1 != c4);
  /* Label order does not matter. */
  ASSERT_OK(pk_metrics_hist(reg, "lat_seconds", "a=\"1\",b=\"2\"", "",
                            PK_UNIT_NANOSECONDS, &h1));
  ASSERT_OK(pk_metrics_hist(reg, "lat_seconds", "b=\"2\",a=\"1\"", "",
                            PK_UNIT_NANOSECONDS, &h2));
  ASSERT(h1 == h2);
  ASSERT_OK(pk_metrics_hist(reg, "lat_seconds", "a=\"1\"", "",
                            PK_UNIT_NANOSECONDS, &h3));
  ASSERT(h1 != h3);
  /* Same name, other type or unit. */
  ASSERT_ERR(pk_metrics_gauge(reg, "lat_seconds", NULL, "", &g), PK_EEXIST);
  ASSERT_ERR(pk_metrics_gauge(reg, "pika_bytes_total", NULL, "", &g),
             PK_EEXIST);
  ASSERT(g == NULL);
  ASSERT_ERR(
      pk_metrics_hist(reg, "lat_seconds", "a=\"1\"", "", PK_UNIT_BYTES, &h3),
      PK_EEXIST);
  /* Clashes with a histogram's derived series names, either way round. */
  ASSERT_ERR(pk_metrics_gauge(reg, "lat_seconds_count", NULL, "", &g),
             PK_EEXIST);
  ASSERT_ERR(pk_metrics_gauge(reg, "lat_seconds_bucket", NULL, "", &g),
             PK_EEXIST);
  /* ... but a counter's samples are lat_seconds_bucket_total: no clash. */
  ASSERT_OK(pk_metrics_counter(reg, "lat_seconds_bucket", NULL, "", &c2));
  ASSERT_OK(pk_metrics_gauge(reg, "size_sum", NULL, "", &g));
  ASSERT_ERR(pk_metrics_hist(reg, "size", NULL, "", PK_UNIT_BYTES, &h3),
             PK_EEXIST);
  /* Bad names. */
  const char *bad_names[] = {"", "1abc", "a-b", "a b", "é", "a.b", "a{}"};
  for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++)
    ASSERT_ERR(pk_metrics_counter(reg, bad_names[i], NULL, "", &c2), PK_EINVAL);
  ASSERT_OK(pk_metrics_gauge(reg, ":ok_name:9", NULL, "", &g));
  ASSERT_OK(pk_metrics_gauge(reg, "_x", NULL, "", &g));
  char longname[300];
  memset(longname, 'a', sizeof longname - 1);
  longname[sizeof longname - 1] = '\0';
  ASSERT_ERR(pk_metrics_gauge(reg, longname, NULL, "", &g), PK_ELIMIT);
  /* Bad label sets. */
  const char *bad_labels[] = {
      "stage=zstd", "stage=\"zstd",     "stage=\"a\",",      "=\"a\"",
      "1a=\"x\"",   "__x=\"1\"",        "a=\"1\",a=\"2\"",   "a=\"\\t\"",
      "a=\"x\" ",   "a=\"x\"b=\"y\"",   "a=\"line\nbreak\"", "a-b=\"1\"",
      "a =\"1\"",   "a=\"1\",,b=\"2\"", "a=\"\\\""};
  for (size_t i = 0; i < sizeof bad_labels / sizeof bad_labels[0]; i++) {
    int rc = pk_metrics_gauge(reg, "g", bad_labels[i], "", &g);
    if (rc != PK_EINVAL)
      TEST_FAIL_("labels '%s' gave %s", bad_labels[i], pk_err_name(rc));
  }
  ASSERT_ERR(pk_metrics_hist(reg, "h", "le=\"1\"", "", PK_UNIT_NONE, &h3),
             PK_EINVAL);
  ASSERT_OK(pk_metrics_gauge(reg, "g", "le=\"1\"", "", &g)); /* fine here */
  ASSERT_OK(pk_metrics_gauge(reg, "g", "a=\"\\\\ \\\" \\n\"", "", &g));
  char many[512] = "";
  for (unsigned i = 0; i < 17; i++) {
    char name[16];
    snprintf(name, sizeof name, "l%u", i);
    ASSERT_OK(pk_metrics_label_append(many, sizeof many, name, "v"));
  }
  ASSERT_ERR(pk_metrics_gauge(reg, "g", many, "", &g), PK_ELIMIT);
  /* Argument checks. */
  ASSERT_ERR(pk_metrics_create(NULL), PK_EINVAL);
  ASSERT_ERR(pk_metrics_gauge(NULL, "g", NULL, "", &g), PK_EINVAL);
  ASSERT_ERR(pk_metrics_gauge(reg, NULL, NULL, "", &g), PK_EINVAL);
  ASSERT_ERR(pk_metrics_gauge(reg, "g", NULL, "", NULL), PK_EINVAL);
  ASSERT_ERR(pk_metrics_hist(reg, "h", NULL, "", (pk_metric_unit)99, &h3),
             PK_EINVAL);
  pk_metrics_free(reg);
}

static void test_label_append(void) {
  char buf[64] = "";
  ASSERT_OK(pk_metrics_label_append(buf, sizeof buf, "stage", "zstd"));
  ASSERT_STREQ(buf, "stage=\"zstd\"");
  ASSERT_OK(pk_metrics_label_append(buf, sizeof buf, "path", "a\"b\\c\nd"));
  ASSERT_STREQ(buf, "stage=\"zstd\",path=\"a\\\"b\\\\c\\nd\"");
  char small[16] = "x=\"1\"";
  ASSERT_ERR(pk_metrics_label_append(small, sizeof small, "yy", "12345"),
             PK_ELIMIT);
  ASSERT_STREQ(small, "x=\"1\""); /* unchanged */
  ASSERT_OK(pk_metrics_label_append(small, sizeof small, "yy", "1234"));
  ASSERT_EQ(strlen(small), sizeof small - 1); /* exactly fits */
  ASSERT_ERR(pk_metrics_label_append(buf, sizeof buf, "a-b", "v"), PK_EINVAL);
  ASSERT_ERR(pk_metrics_label_append(buf, sizeof buf, "__a", "v"), PK_EINVAL);
  ASSERT_ERR(pk_metrics_label_append(buf, sizeof buf, "", "v"), PK_EINVAL);
}

/* ---- the Prometheus text, parsed back ------------------------------------ */

#define MAX_SAMPLES 512
#define MAX_FAMILIES 32

typedef struct sample {
  char name[128];
  char labels[512]; /* parsed, unescaped, re-joined as k=v;k=v without le */
  char le[64];      /* "" when absent */
  char value[64];
  size_t family; /* index into families */
} sample;

typedef struct family {
  char name[128];
  char type[16];
  char help[256]; /* as written (still escaped) */
  int nhelp, ntype;
} family;

typedef struct expo {
  sample s[MAX_SAMPLES];
  size_t ns;
  family f[MAX_FAMILIES];
  size_t nf;
} expo;

static bool is_name_char(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         c == ':' || (!first && c >= '0' && c <= '9');
}

/* Copies a metric/label name at *p into out and advances; fails if none. */
static void parse_name(const char **p, char *out, size_t cap) {
  size_t n = 0;
  while (is_name_char((*p)[n], n == 0)) {
    ASSERT(n + 1 < cap);
    out[n] = (*p)[n];
    n++;
  }
  ASSERT(n > 0);
  out[n] = '\0';
  *p += n;
}

static family *find_family(expo *e, const char *name) {
  for (size_t i = 0; i < e->nf; i++)
    if (strcmp(e->f[i].name, name) == 0)
      return &e->f[i];
  return NULL;
}

/* The family a sample belongs to: itself, or for a histogram's
 * _bucket/_sum/_count samples, the name without the suffix. */
static family *sample_family(expo *e, const char *name) {
  family *f = find_family(e, name);
  if (f)
    return f;
  static const char *const sfx[] = {"_bucket", "_sum", "_count"};
  for (size_t i = 0; i < 3; i++) {
    size_t n = strlen(name), m = strlen(sfx[i]);
    if (n > m && strcmp(name + n - m, sfx[i]) == 0) {
      char base[128];
      memcpy(base, name, n - m);
      base[n - m] = '\0';
      f = find_family(e, base);
      if (f && strcmp(f->type, "histogram") == 0)
        return f;
    }
  }
  return NULL;
}

/* Parses the whole exposition, asserting the format's rules as it goes:
 * every line ends in \n; HELP then TYPE once per family, before its samples;
 * a family's samples are contiguous; names and label syntax valid; values
 * parse as numbers. */
static void parse_expo(const char *text, expo *e) {
  memset(e, 0, sizeof *e);
  const char *p = text;
  family *cur = NULL;
  while (*p) {
    const char *eol = strchr(p, '\n');
    ASSERT(eol); /* last line terminated too */
    if (p[0] == '#') {
      char kw[8], name[128];
      ASSERT(strncmp(p, "# HELP ", 7) == 0 || strncmp(p, "# TYPE ", 7) == 0);
      memcpy(kw, p + 2, 4);
      kw[4] = '\0';
      p += 7;
      parse_name(&p, name, sizeof name);
      ASSERT_EQ(*p, ' ');
      p++;
      family *f = find_family(e, name);
      if (strcmp(kw, "HELP") == 0) {
        if (!f) {
          ASSERT(e->nf < MAX_FAMILIES);
          f = &e->f[e->nf++];
          snprintf(f->name, sizeof f->name, "%s", name);
        }
        ASSERT(f->ntype == 0); /* HELP first */
        f->nhelp++;
        size_t n = (size_t)(eol - p);
        ASSERT(n < sizeof f->help);
        memcpy(f->help, p, n);
        f->help[n] = '\0';
      } else {
        ASSERT(f);
        f->ntype++;
        size_t n = (size_t)(eol - p);
        ASSERT(n < sizeof f->type);
        memcpy(f->type, p, n);
        f->type[n] = '\0';
        ASSERT(strcmp(f->type, "counter") == 0 ||
               strcmp(f->type, "gauge") == 0 ||
               strcmp(f->type, "histogram") == 0);
      }
      ASSERT(f->nhelp <= 1 && f->ntype <= 1);
      cur = f;
      p = eol + 1;
      continue;
    }
    ASSERT(e->ns < MAX_SAMPLES);
    sample *s = &e->s[e->ns++];
    parse_name(&p, s->name, sizeof s->name);
    family *f = sample_family(e, s->name);
    ASSERT(f && f == cur && f->ntype == 1);
    s->family = (size_t)(f - e->f);
    if (*p == '{') {
      p++;
      size_t w = 0;
      while (*p != '}') {
        char lname[64], lval[256];
        size_t n = 0;
        parse_name(&p, lname, sizeof lname);
        ASSERT(p[0] == '=' && p[1] == '"');
        p += 2;
        while (*p != '"') {
          ASSERT(*p && *p != '\n');
          char c = *p++;
          if (c == '\\') {
            c = *p++;
            ASSERT(c == '\\' || c == '"' || c == 'n');
            if (c == 'n')
              c = '\n';
          }
          ASSERT(n + 1 < sizeof lval);
          lval[n++] = c;
        }
        lval[n] = '\0';
        p++;
        if (strcmp(lname, "le") == 0) {
          ASSERT(n < sizeof s->le);
          memcpy(s->le, lval, n + 1);
        } else {
          int k = snprintf(s->labels + w, sizeof s->labels - w, "%s%s=%s",
                           w ? ";" : "", lname, lval);
          ASSERT(k > 0 && (size_t)k < sizeof s->labels - w);
          w += (size_t)k;
        }
        if (*p == ',')
          p++;
        else
          ASSERT_EQ(*p, '}');
      }
      p++;
    }
    ASSERT_EQ(*p, ' ');
    p++;
    size_t n = (size_t)(eol - p);
    ASSERT(n > 0 && n < sizeof s->value);
    memcpy(s->value, p, n);
    s->value[n] = '\0';
    char *end;
    strtod(s->value, &end);
    ASSERT(*end == '\0');
    p = eol + 1;
  }
  for (size_t i = 0; i < e->nf; i++)
    ASSERT(e->f[i].nhelp == 1 && e->f[i].ntype == 1);
}

static const sample *find_sample(const expo *e, const char *name,
                                 const char *labels, const char *le) {
  for (size_t i = 0; i < e->ns; i++)
    if (strcmp(e->s[i].name, name) == 0 &&
        strcmp(e->s[i].labels, labels) == 0 && strcmp(e->s[i].le, le) == 0)
      return &e->s[i];
  return NULL;
}

/* Checks one histogram series: le bounds strictly increasing and ending in
 * +Inf, counts cumulative (non-decreasing), +Inf == _count. Returns _count. */
static uint64_t check_hist_series(const expo *e, const char *name,
                                  const char *labels) {
  char bname[160], cname[160];
  snprintf(bname, sizeof bname, "%s_bucket", name);
  snprintf(cname, sizeof cname, "%s_count", name);
  double prev_le = -1;
  uint64_t prev = 0, inf = 0;
  int nb = 0;
  bool saw_inf = false;
  for (size_t i = 0; i < e->ns; i++) {
    const sample *s = &e->s[i];
    if (strcmp(s->name, bname) != 0 || strcmp(s->labels, labels) != 0)
      continue;
    ASSERT(!saw_inf); /* +Inf is last */
    ASSERT(s->le[0]);
    uint64_t v = strtoull(s->value, NULL, 10);
    ASSERT_UCMP_(v, >=, prev);
    prev = v;
    nb++;
    if (strcmp(s->le, "+Inf") == 0) {
      saw_inf = true;
      inf = v;
      continue;
    }
    double le = strtod(s->le, NULL);
    ASSERT(le > prev_le);
    prev_le = le;
  }
  ASSERT(saw_inf && nb > 2);
  const sample *c = find_sample(e, cname, labels, "");
  ASSERT(c);
  ASSERT_UEQ(strtoull(c->value, NULL, 10), inf);
  return inf;
}

static uint64_t bucket_value(const expo *e, const char *name,
                             const char *labels, const char *le) {
  const sample *s = find_sample(e, name, labels, le);
  if (!s)
    TEST_FAIL_("no sample %s{%s le=%s}", name, labels, le);
  return strtoull(s->value, NULL, 10);
}

static void test_prometheus(void) {
  pk_metrics *reg;
  pk_counter *c1, *c2;
  pk_gauge *g;
  pk_hist *lat, *lat2, *size, *batch;
  ASSERT_OK(pk_metrics_create(&reg));
  ASSERT_OK(pk_metrics_counter(reg, "pika_bytes", "stage=\"read\"",
                               "Bytes read.\nSecond line \\ backslash", &c1));
  char labels[128] = "";
  ASSERT_OK(pk_metrics_label_append(labels, sizeof labels, "stage", "zstd"));
  ASSERT_OK(pk_metrics_label_append(labels, sizeof labels, "file",
                                    "we\"ird\\na\nme"));
  ASSERT_OK(pk_metrics_counter(reg, "pika_bytes", labels, "", &c2));
  ASSERT_OK(pk_metrics_gauge(reg, "pika_depth", NULL, "Queue depth", &g));
  ASSERT_OK(pk_metrics_hist(reg, "pika_chunk_seconds", "stage=\"zstd\"",
                            "Chunk time", PK_UNIT_NANOSECONDS, &lat));
  ASSERT_OK(pk_metrics_hist(reg, "pika_chunk_seconds", "stage=\"read\"",
                            "Chunk time", PK_UNIT_NANOSECONDS, &lat2));
  ASSERT_OK(pk_metrics_hist(reg, "pika_chunk_bytes", NULL, "Chunk size",
                            PK_UNIT_BYTES, &size));
  ASSERT_OK(
      pk_metrics_hist(reg, "pika_batch", NULL, "Batch", PK_UNIT_NONE, &batch));
  pk_counter_add(c1, 1048576);
  pk_counter_add(c2, 7);
  pk_gauge_set(g, -3);
  /* 128 ns is exactly a bound, 129 just above it; 5 s and 100 s (> last
   * bound) only in +Inf. */
  const uint64_t lat_v[] = {128,    129,         1000,         1000,
                            250000, 5000000000u, 100000000000u};
  uint64_t lat_sum = 0;
  for (size_t i = 0; i < sizeof lat_v / sizeof lat_v[0]; i++) {
    pk_hist_record(lat, lat_v[i]);
    lat_sum += lat_v[i];
  }
  pk_hist_record(size, 64);
  pk_hist_record(size, 65);
  pk_hist_record(size, 4096);
  for (uint64_t i = 0; i < 10; i++)
    pk_hist_record(batch, i);

  char *out;
  size_t len;
  ASSERT_OK(pk_metrics_render_prometheus(reg, &out, &len));
  ASSERT_EQ(strlen(out), len);
  static expo e;
  parse_expo(out, &e);

  ASSERT_EQ(e.nf, 5); /* one HELP/TYPE per family, not per series */
  family *f = find_family(&e, "pika_bytes_total");
  ASSERT(f);
  ASSERT_STREQ(f->type, "counter");
  ASSERT_STREQ(f->help, "Bytes read.\\nSecond line \\\\ backslash");
  ASSERT_STREQ(find_sample(&e, "pika_bytes_total", "stage=read", "")->value,
               "1048576");
  /* The escaped label value came back intact, labels sorted by name. */
  ASSERT_STREQ(
      find_sample(&e, "pika_bytes_total", "file=we\"ird\\na\nme;stage=zstd", "")
          ->value,
      "7");
  ASSERT(strstr(out, "file=\"we\\\"ird\\\\na\\nme\""));
  ASSERT_STREQ(find_family(&e, "pika_depth")->type, "gauge");
  ASSERT_STREQ(find_sample(&e, "pika_depth", "", "")->value, "-3");

  ASSERT_STREQ(find_family(&e, "pika_chunk_seconds")->type, "histogram");
  ASSERT_UEQ(check_hist_series(&e, "pika_chunk_seconds", "stage=zstd"), 7);
  ASSERT_UEQ(check_hist_series(&e, "pika_chunk_seconds", "stage=read"), 0);
  /* Exact counts at the bounds, in seconds. */
  const char *b = "pika_chunk_seconds_bucket";
  ASSERT_UEQ(bucket_value(&e, b, "stage=zstd", "0.000000128"), 1);
  ASSERT_UEQ(bucket_value(&e, b, "stage=zstd", "0.000000256"), 2);
  ASSERT_UEQ(bucket_value(&e, b, "stage=zstd", "0.000000512"), 2);
  ASSERT_UEQ(bucket_value(&e, b, "stage=zstd", "0.000001024"), 4);
  ASSERT_UEQ(bucket_value(&e, b, "stage=zstd", "0.000262144"), 5);
  ASSERT_UEQ(bucket_value(&e, b, "stage=zstd", "4.294967296"), 5);
  ASSERT_UEQ(bucket_value(&e, b, "stage=zstd", "8.589934592"), 6);
  ASSERT_UEQ(bucket_value(&e, b, "stage=zstd", "68.719476736"), 6);
  ASSERT_UEQ(bucket_value(&e, b, "stage=zstd", "+Inf"), 7);
  char want[64];
  snprintf(want, sizeof want, "%ju.%09ju", (uintmax_t)(lat_sum / 1000000000u),
           (uintmax_t)(lat_sum % 1000000000u));
  while (want[strlen(want) - 1] == '0')
    want[strlen(want) - 1] = '\0';
  ASSERT_STREQ(
      find_sample(&e, "pika_chunk_seconds_sum", "stage=zstd", "")->value, want);
  ASSERT_DEQ(strtod(want, NULL), (double)lat_sum / 1e9, 1e-9);
  ASSERT_STREQ(
      find_sample(&e, "pika_chunk_seconds_sum", "stage=read", "")->value, "0");

  ASSERT_UEQ(check_hist_series(&e, "pika_chunk_bytes", ""), 3);
  ASSERT_UEQ(bucket_value(&e, "pika_chunk_bytes_bucket", "", "64"), 1);
  ASSERT_UEQ(bucket_value(&e, "pika_chunk_bytes_bucket", "", "128"), 2);
  ASSERT_UEQ(bucket_value(&e, "pika_chunk_bytes_bucket", "", "2048"), 2);
  ASSERT_UEQ(bucket_value(&e, "pika_chunk_bytes_bucket", "", "4096"), 3);
  ASSERT_STREQ(find_sample(&e, "pika_chunk_bytes_sum", "", "")->value, "4225");
  ASSERT_UEQ(check_hist_series(&e, "pika_batch", ""), 10);
  ASSERT_UEQ(bucket_value(&e, "pika_batch_bucket", "", "1"), 2); /* 0, 1 */
  ASSERT_UEQ(bucket_value(&e, "pika_batch_bucket", "", "8"), 9);
  ASSERT_STREQ(find_sample(&e, "pika_batch_sum", "", "")->value, "45");
  free(out);

  /* Exposition bucket counts agree with the fine histogram everywhere. */
  pk_hist *wide;
  ASSERT_OK(pk_metrics_hist(reg, "wide_seconds", NULL, "", PK_UNIT_NANOSECONDS,
                            &wide));
  uint64_t *vals = malloc(20000 * sizeof *vals);
  ASSERT(vals);
  for (int i = 0; i < 20000; i++) {
    vals[i] = rng_next() >> (26 + rng_next() % 38);
    pk_hist_record(wide, vals[i]);
  }
  ASSERT_OK(pk_metrics_render_prometheus(reg, &out, NULL));
  parse_expo(out, &e);
  ASSERT_UEQ(check_hist_series(&e, "wide_seconds", ""), 20000);
  for (unsigned k = 7; k <= 36; k++) {
    uint64_t bound = UINT64_C(1) << k, exact = 0;
    for (int i = 0; i < 20000; i++)
      exact += vals[i] <= bound;
    char le[32];
    snprintf(le, sizeof le, "%.9f", (double)bound / 1e9);
    while (le[strlen(le) - 1] == '0')
      le[strlen(le) - 1] = '\0';
    if (le[strlen(le) - 1] == '.')
      le[strlen(le) - 1] = '\0';
    ASSERT_UEQ(bucket_value(&e, "wide_seconds_bucket", "", le), exact);
  }
  free(vals);
  free(out);
  pk_metrics_free(reg);
}

static void test_empty_render(void) {
  pk_metrics *reg;
  ASSERT_OK(pk_metrics_create(&reg));
  char *out;
  size_t len = 99;
  ASSERT_OK(pk_metrics_render_prometheus(reg, &out, &len));
  ASSERT_EQ(len, 0);
  ASSERT_STREQ(out, "");
  free(out);
  ASSERT_OK(pk_metrics_render_summary(reg, &out, &len));
  ASSERT_EQ(len, 0);
  free(out);
  ASSERT_ERR(pk_metrics_render_prometheus(NULL, &out, &len), PK_EINVAL);
  ASSERT_ERR(pk_metrics_render_summary(reg, NULL, &len), PK_EINVAL);
  pk_metrics_free(reg);
}

static void test_summary(void) {
  pk_metrics *reg;
  pk_counter *c;
  pk_gauge *g;
  pk_hist *lat, *size, *n, *empty;
  ASSERT_OK(pk_metrics_create(&reg));
  ASSERT_OK(pk_metrics_counter(reg, "files", NULL, "", &c));
  ASSERT_OK(pk_metrics_gauge(reg, "depth", "q=\"cpu\"", "", &g));
  ASSERT_OK(pk_metrics_hist(reg, "chunk_seconds", "stage=\"zstd\"", "",
                            PK_UNIT_NANOSECONDS, &lat));
  ASSERT_OK(
      pk_metrics_hist(reg, "chunk_bytes", NULL, "", PK_UNIT_BYTES, &size));
  ASSERT_OK(pk_metrics_hist(reg, "batch", NULL, "", PK_UNIT_NONE, &n));
  ASSERT_OK(pk_metrics_hist(reg, "idle_seconds", NULL, "", PK_UNIT_NANOSECONDS,
                            &empty));
  pk_counter_add(c, 12);
  pk_gauge_set(g, 4);
  for (int i = 0; i < 98; i++)
    pk_hist_record(lat, 1500000);   /* 1.5 ms */
  pk_hist_record(lat, 2500);        /* 2.5 µs: min, not a quantile here */
  pk_hist_record(lat, 3000000000u); /* 3 s: max */
  pk_hist_record(size, 3u << 20);
  pk_hist_record(n, 17);
  char *out;
  size_t len;
  ASSERT_OK(pk_metrics_render_summary(reg, &out, &len));
  ASSERT_EQ(strlen(out), len);
  /* One line per series. */
  size_t lines = 0;
  for (const char *p = out; *p; p++)
    lines += *p == '\n';
  ASSERT_EQ(lines, 6);
  ASSERT(strstr(out, "files_total"));
  ASSERT(strstr(out, " 12\n"));
  ASSERT(strstr(out, "depth{q=\"cpu\"}"));
  ASSERT(strstr(out, " 4\n"));
  /* 1.5 ms lies in the fine bucket [1441793, 1507328] ns, whose midpoint
   * 1474560 ns is what quantiles report (min/max are exact). */
  ASSERT(strstr(out, "chunk_seconds{stage=\"zstd\"}  count=100 p50=1.47ms "
                     "p95=1.47ms p99=1.47ms max=3.00s\n"));
  ASSERT(strstr(out, "count=1 p50=3.00MiB p95=3.00MiB p99=3.00MiB "
                     "max=3.00MiB\n"));
  ASSERT(strstr(out, "count=1 p50=17 p95=17 p99=17 max=17\n"));
  ASSERT(strstr(out, "idle_seconds"));
  ASSERT(strstr(out, "count=0\n"));
  /* Values start in one column. */
  const char *l1 = out, *l2 = strchr(out, '\n') + 1;
  ASSERT_EQ(strchr(l1, '1') - l1, strstr(l2, " 4") + 1 - l2);
  free(out);
  /* µs and ns humanised too. */
  pk_hist_record(empty, 2500);
  ASSERT_OK(pk_metrics_render_summary(reg, &out, NULL));
  ASSERT(strstr(out, "p50=2.50\xc2\xb5s"));
  free(out);
  pk_hist_record(empty, 0);
  pk_hist_record(empty, 0);
  ASSERT_OK(pk_metrics_render_summary(reg, &out, NULL));
  ASSERT(strstr(out, "count=3 p50=0ns"));
  free(out);
  pk_metrics_free(reg);
}

int main(void) {
  RUN(test_bucket_layout);
  RUN(test_hist_uniform);
  RUN(test_hist_exponential);
  RUN(test_hist_wide);
  RUN(test_hist_constant_single_zero);
  RUN(test_hist_local);
  RUN(test_counter_gauge);
  RUN(test_registration);
  RUN(test_label_append);
  RUN(test_prometheus);
  RUN(test_empty_render);
  RUN(test_summary);
  return 0;
}
