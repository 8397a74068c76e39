/* test_codec.c — unit tests for pipe/codec.h.
 *
 * Memory safety on hostile input is checked two ways. ASan watches Pika's
 * code and libc's memcpy & co., but not the compression libraries, which are
 * the system's uninstrumented builds. So every buffer handed to a codec here
 * is placed flush against a PROT_NONE guard page (after its end, or before
 * its start): an over-read or over-write by any code, instrumented or not,
 * faults at once. */
#include <sys/mman.h>
#include <unistd.h>

#include <zstd.h>

#include "pipe/codec.h"
#include "test.h"

/* ---- inputs ---------------------------------------------------------------
 */

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint64_t rnd(void) {
  uint64_t x = rng_state;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  rng_state = x;
  return x * 0x2545F4914F6CDD1Du;
}

static void fill_random(unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    p[i] = (unsigned char)(rnd() >> 56);
}

/* Log-like lines: a handful of words and numbers, as text compresses. */
static void fill_text(unsigned char *p, size_t n) {
  static const char *const words[] = {
      "INFO",   "WARN",    "request", "served", "user",  "id",    "latency",
      "ms",     "GET",     "/api/v1", "items",  "cache", "miss",  "hit",
      "worker", "shard",   "retry",   "ok",     "bytes", "alpha", "bravo",
      "fox",    "session", "closed",  "=",      "the",   "of",    "and"};
  size_t i = 0;
  while (i < n) {
    char line[128];
    int len = snprintf(line, sizeof line, "%llu ",
                       (unsigned long long)(1700000000 + i / 50));
    int words_n = 3 + (int)(rnd() % 8);
    for (int w = 0; w < words_n && len < 100; w++) {
      if (rnd() % 4 == 0)
        len += snprintf(line + len, sizeof line - (size_t)len, "%u ",
                        (unsigned)(rnd() % 100000));
      else
        len += snprintf(line + len, sizeof line - (size_t)len, "%s ",
                        words[rnd() % (sizeof words / sizeof *words)]);
    }
    line[len - 1] = '\n';
    for (int k = 0; k < len && i < n; k++)
      p[i++] = (unsigned char)line[k];
  }
}

/* ---- guarded buffers ------------------------------------------------------
 */

/* Four regions, each [guard page][body][guard page], made once and grown
 * on demand: mapping and protecting pages per call would dominate the run
 * time. A buffer lives in its slot until the slot is asked for again. */
enum { SLOT_IN, SLOT_OUT, SLOT_AUX, SLOT_AUX2, N_SLOTS };

typedef struct gbuf {
  unsigned char *map;
  size_t map_len, body;
} gbuf;

static gbuf slots[N_SLOTS];

/* n usable bytes in `slot`, flush against a guard page: after them
 * (at_end) or before them. */
static unsigned char *galloc(int slot, size_t n, int at_end) {
  gbuf *g = &slots[slot];
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  if (n > g->body || !g->map) {
    if (g->map)
      munmap(g->map, g->map_len);
    g->body = (n + page - 1) / page * page;
    if (g->body < (256u << 10))
      g->body = 256u << 10;
    g->map_len = g->body + 2 * page;
    g->map = mmap(NULL, g->map_len, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT(g->map != MAP_FAILED);
    ASSERT_EQ(mprotect(g->map, page, PROT_NONE), 0);
    ASSERT_EQ(mprotect(g->map + page + g->body, page, PROT_NONE), 0);
  }
  return at_end ? g->map + page + g->body - n : g->map + page;
}

static void gfree_all(void) {
  for (int i = 0; i < N_SLOTS; i++)
    if (slots[i].map)
      munmap(slots[i].map, slots[i].map_len);
}

/* A guarded copy of src[0..n). */
static unsigned char *gcopy(int slot, const void *src, size_t n, int at_end) {
  unsigned char *p = galloc(slot, n, at_end);
  if (n)
    memmove(p, src, n);
  return p;
}

/* ---- helpers --------------------------------------------------------------
 */

static pk_codec_spec spec_of(enum pk_codec_kind kind, int level) {
  pk_codec_spec s = {kind, level};
  return s;
}

static pk_codec *make(enum pk_codec_kind kind, int level) {
  pk_codec *c = NULL;
  pk_codec_spec s = spec_of(kind, level);
  ASSERT_OK(pk_codec_create(&s, &c));
  return c;
}

/* Encodes in[0..n) into a fresh malloc'd buffer of exactly the bound. */
static unsigned char *encode_alloc(pk_codec *c, const void *in, size_t n,
                                   size_t *enc_len) {
  size_t bound = pk_codec_bound(pk_codec_get_spec(c), n);
  unsigned char *out = malloc(bound ? bound : 1);
  ASSERT(out);
  ASSERT_OK(pk_codec_encode(c, in, n, out, bound, enc_len));
  ASSERT_ULE(*enc_len, bound);
  return out;
}

/* Decodes hostile bytes in guarded buffers; checks the codec's promise:
 * PK_ECORRUPT, or PK_OK with exactly `want` bytes (equal to `orig` when
 * `exact` is set; bytes may differ only where the format has no checksum).
 */
static void decode_hostile(pk_codec *c, const unsigned char *in, size_t n,
                           size_t want, const unsigned char *orig, int exact,
                           int at_end) {
  unsigned char *pi = gcopy(SLOT_IN, in, n, at_end);
  unsigned char *po = galloc(SLOT_OUT, want, !at_end);
  size_t got = 12345;
  int r = pk_codec_decode(c, n ? pi : NULL, n, want ? po : NULL, want, &got);
  if (r == PK_OK) {
    ASSERT_UEQ(got, want);
    if (exact)
      ASSERT(memcmp(po, orig, want) == 0);
  } else {
    ASSERT_ERR(r, PK_ECORRUPT);
  }
}

/* ---- names, levels, parsing -----------------------------------------------
 */

static void test_info(void) {
  pk_codec_info i;
  ASSERT_OK(pk_codec_get_info(PK_CODEC_ZSTD, &i));
  ASSERT_STREQ(i.name, "zstd");
  ASSERT_EQ(i.min_level, ZSTD_minCLevel());
  ASSERT_EQ(i.min_level, -131072);
  ASSERT_EQ(i.max_level, 22);
  ASSERT_EQ(i.default_level, 3);
  ASSERT_OK(pk_codec_get_info(PK_CODEC_NONE, &i));
  ASSERT_EQ(i.has_level, 0);
  ASSERT_OK(pk_codec_get_info(PK_CODEC_LZ4, &i));
  ASSERT_EQ(i.min_level, 1);
  ASSERT_EQ(i.default_level, 1);
  ASSERT_OK(pk_codec_get_info(PK_CODEC_LZ4HC, &i));
  ASSERT_EQ(i.max_level, 12);
  ASSERT_EQ(i.default_level, 9);
  ASSERT_OK(pk_codec_get_info(PK_CODEC_BROTLI, &i));
  ASSERT_EQ(i.min_level, 0);
  ASSERT_EQ(i.max_level, 11);
  ASSERT_EQ(i.default_level, 5);
  ASSERT_OK(pk_codec_get_info(PK_CODEC_GZIP, &i));
  ASSERT_EQ(i.min_level, 1);
  ASSERT_EQ(i.max_level, 12);
  ASSERT_EQ(i.default_level, 6);
  ASSERT_ERR(pk_codec_get_info((enum pk_codec_kind)6, &i), PK_EINVAL);
  ASSERT_ERR(pk_codec_get_info((enum pk_codec_kind) - 1, &i), PK_EINVAL);
  ASSERT_ERR(pk_codec_get_info(PK_CODEC_ZSTD, NULL), PK_EINVAL);
  ASSERT_STREQ(pk_codec_name(PK_CODEC_LZ4HC), "lz4hc");
  ASSERT_STREQ(pk_codec_name((enum pk_codec_kind)99), "?");
  /* The .adapipe stage ids (FORMAT.md) */
  ASSERT_EQ(PK_CODEC_ZSTD, 1);
  ASSERT_EQ(PK_CODEC_LZ4, 2);
  ASSERT_EQ(PK_CODEC_LZ4HC, 3);
  ASSERT_EQ(PK_CODEC_BROTLI, 4);
  ASSERT_EQ(PK_CODEC_GZIP, 5);
}

static void test_parse_ok(void) {
  static const struct {
    const char *text;
    enum pk_codec_kind kind;
    int level;
  } cases[] = {
      {"none", PK_CODEC_NONE, 0},
      {"zstd", PK_CODEC_ZSTD, 3},
      {"zstd:3", PK_CODEC_ZSTD, 3},
      {"zstd:-5", PK_CODEC_ZSTD, -5},
      {"zstd:22", PK_CODEC_ZSTD, 22},
      {"zstd:-131072", PK_CODEC_ZSTD, -131072},
      {"zstd:0", PK_CODEC_ZSTD, 3},
      {"ZSTD:1", PK_CODEC_ZSTD, 1},
      {"lz4", PK_CODEC_LZ4, 1},
      {"lz4:8", PK_CODEC_LZ4, 8},
      {"lz4:65537", PK_CODEC_LZ4, 65537},
      {"lz4hc", PK_CODEC_LZ4HC, 9},
      {"lz4hc:9", PK_CODEC_LZ4HC, 9},
      {"lz4hc:12", PK_CODEC_LZ4HC, 12},
      {"brotli", PK_CODEC_BROTLI, 5},
      {"brotli:0", PK_CODEC_BROTLI, 0},
      {"brotli:11", PK_CODEC_BROTLI, 11},
      {"gzip", PK_CODEC_GZIP, 6},
      {"gzip:1", PK_CODEC_GZIP, 1},
      {"gzip:12", PK_CODEC_GZIP, 12},
  };
  for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
    pk_codec_spec s = {PK_CODEC_NONE, -99};
    pk_errmsg e = {{0}};
    int r = pk_codec_parse(cases[k].text, &s, &e);
    if (r != PK_OK)
      TEST_FAIL_("parse '%s': %s", cases[k].text, e.text);
    ASSERT_EQ(s.kind, cases[k].kind);
    ASSERT_EQ(s.level, cases[k].level);
  }
}

static void test_parse_errors(void) {
  static const struct {
    const char *text;
    const char *msg;
  } cases[] = {
      {"zstd:30", "zstd level 30 is out of range (-131072..22)"},
      {"zstd:23", "zstd level 23 is out of range (-131072..22)"},
      {"zstd:-131073", "zstd level -131073 is out of range (-131072..22)"},
      {"zstd:99999999999999999999",
       "zstd level 99999999999999999999 is out of range (-131072..22)"},
      {"lz4hc:0", "lz4hc level 0 is out of range (1..12)"},
      {"lz4hc:13", "lz4hc level 13 is out of range (1..12)"},
      {"lz4:0", "lz4 level 0 is out of range (1..65537)"},
      {"brotli:12", "brotli level 12 is out of range (0..11)"},
      {"brotli:-1", "brotli level -1 is out of range (0..11)"},
      {"gzip:0", "gzip level 0 is out of range (1..12)"},
      {"gzip:13", "gzip level 13 is out of range (1..12)"},
      {"zstd:", "missing level after 'zstd:'"},
      {"zstd:abc", "zstd level 'abc' is not an integer"},
      {"zstd:3x", "zstd level '3x' is not an integer"},
      {"zstd: 3", "zstd level ' 3' is not an integer"},
      {"zstd:+3", "zstd level '+3' is not an integer"},
      {"zstd:-", "zstd level '-' is not an integer"},
      {"none:1", "codec none takes no level (got 'none:1')"},
      {"xz", "unknown codec 'xz' (expected none, zstd, lz4, lz4hc, brotli or "
             "gzip, optionally with :LEVEL)"},
      {"", "unknown codec '' (expected none, zstd, lz4, lz4hc, brotli or "
           "gzip, optionally with :LEVEL)"},
      {":3", "unknown codec '' (expected none, zstd, lz4, lz4hc, brotli or "
             "gzip, optionally with :LEVEL)"},
      {"zstdx:3", "unknown codec 'zstdx' (expected none, zstd, lz4, lz4hc, "
                  "brotli or gzip, optionally with :LEVEL)"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
    pk_codec_spec s = {PK_CODEC_GZIP, 7};
    pk_errmsg e = {{0}};
    ASSERT_ERR(pk_codec_parse(cases[k].text, &s, &e), PK_EINVAL);
    ASSERT_STREQ(e.text, cases[k].msg);
    ASSERT_EQ(s.kind, PK_CODEC_GZIP); /* untouched */
    ASSERT_EQ(s.level, 7);
  }
  pk_codec_spec s;
  ASSERT_ERR(pk_codec_parse(NULL, &s, NULL), PK_EINVAL);
  ASSERT_ERR(pk_codec_parse("zstd", NULL, NULL), PK_EINVAL);
  ASSERT_ERR(pk_codec_parse("zstd:99", &s, NULL), PK_EINVAL); /* e optional */
}

static void test_format_roundtrip(void) {
  for (int k = 0; k < PK_CODEC_KIND_COUNT; k++) {
    pk_codec_info i;
    ASSERT_OK(pk_codec_get_info((enum pk_codec_kind)k, &i));
    int levels[] = {i.min_level,
                    i.max_level,
                    i.default_level,
                    i.min_level + 1,
                    i.max_level - 1,
                    -1,
                    0,
                    1};
    for (size_t j = 0; j < sizeof levels / sizeof *levels; j++) {
      pk_codec_spec s = spec_of((enum pk_codec_kind)k, levels[j]);
      if (pk_codec_spec_check(&s, NULL) != PK_OK)
        continue;
      char buf[PK_CODEC_SPEC_TEXT_MAX];
      ASSERT_OK(pk_codec_spec_format(&s, buf, sizeof buf));
      pk_codec_spec back;
      ASSERT_OK(pk_codec_parse(buf, &back, NULL));
      ASSERT_EQ(back.kind, s.kind);
      ASSERT_EQ(back.level, k == PK_CODEC_ZSTD && s.level == 0 ? 3 : s.level);
    }
  }
  char buf[8];
  pk_codec_spec s = spec_of(PK_CODEC_ZSTD, -131072);
  ASSERT_ERR(pk_codec_spec_format(&s, buf, sizeof buf), PK_ELIMIT);
  ASSERT_STREQ(buf, "zstd:-1");
  s = spec_of(PK_CODEC_NONE, 0);
  ASSERT_OK(pk_codec_spec_format(&s, buf, sizeof buf));
  ASSERT_STREQ(buf, "none");
  s = spec_of(PK_CODEC_GZIP, 0);
  ASSERT_ERR(pk_codec_spec_format(&s, buf, sizeof buf), PK_EINVAL);
  ASSERT_ERR(pk_codec_spec_format(NULL, buf, sizeof buf), PK_EINVAL);
  pk_errmsg e;
  ASSERT_ERR(pk_codec_spec_check(&s, &e), PK_EINVAL);
  ASSERT_STREQ(e.text, "gzip level 0 is out of range (1..12)");
  s = spec_of(PK_CODEC_NONE, 2);
  ASSERT_ERR(pk_codec_spec_check(&s, &e), PK_EINVAL);
  ASSERT_STREQ(e.text, "codec none takes no level (got 2)");
}

/* ---- round trips ----------------------------------------------------------
 */

typedef struct input {
  const char *name;
  unsigned char *data;
  size_t len;
  int shrinks; /* every real codec must save at least a quarter */
} input;

enum { N_INPUTS = 10 };
static input inputs[N_INPUTS];

static void make_inputs(void) {
  static const struct {
    const char *name;
    size_t len;
    int kind; /* 0 text, 1 random, 2 zeros, 3 mixed */
  } defs[N_INPUTS] = {
      {"empty", 0, 0},
      {"1B", 1, 1},
      {"4095B", 4095, 0},
      {"4096B", 4096, 3},
      {"4097B", 4097, 1},
      {"64KiB text", 65536, 0},
      {"1MiB random", 1 << 20, 1},
      {"1MiB text", 1 << 20, 0},
      {"1MiB zeros", 1 << 20, 2},
      {"1MiB zero runs", 1 << 20, 3},
  };
  for (int i = 0; i < N_INPUTS; i++) {
    input *in = &inputs[i];
    in->name = defs[i].name;
    in->len = defs[i].len;
    in->data = malloc(in->len + 1);
    ASSERT(in->data);
    switch (defs[i].kind) {
    case 0:
      fill_text(in->data, in->len);
      in->shrinks = in->len >= 4096;
      break;
    case 1:
      fill_random(in->data, in->len);
      break;
    case 2:
      memset(in->data, 0, in->len);
      in->shrinks = 1;
      break;
    case 3:
      /* long runs of zeros between short stretches of random bytes */
      memset(in->data, 0, in->len);
      for (size_t off = 0; off + 512 < in->len; off += 64 * 1024 + 17)
        fill_random(in->data + off, 512);
      in->shrinks = 1;
      break;
    }
  }
}

/* Levels to round-trip per codec; the slowest are run on small inputs only
 * (brotli 10-11 and zstd 20-22 take seconds per MiB). */
static const int *levels_of(enum pk_codec_kind k, size_t *n) {
  static const int none[] = {0};
  static const int zstd[] = {-131072, -5, -1, 1, 3, 9, 19, 22};
  static const int lz4[] = {1, 2, 17, 65537};
  static const int lz4hc[] = {1, 2, 3, 9, 10, 12};
  static const int brotli[] = {0, 1, 2, 5, 9, 10, 11};
  static const int gzip[] = {1, 6, 9, 12};
  switch (k) {
  case PK_CODEC_NONE:
    *n = 1;
    return none;
  case PK_CODEC_ZSTD:
    *n = sizeof zstd / sizeof *zstd;
    return zstd;
  case PK_CODEC_LZ4:
    *n = sizeof lz4 / sizeof *lz4;
    return lz4;
  case PK_CODEC_LZ4HC:
    *n = sizeof lz4hc / sizeof *lz4hc;
    return lz4hc;
  case PK_CODEC_BROTLI:
    *n = sizeof brotli / sizeof *brotli;
    return brotli;
  case PK_CODEC_GZIP:
    *n = sizeof gzip / sizeof *gzip;
    return gzip;
  }
  *n = 0;
  return NULL;
}

static int slow_level(enum pk_codec_kind k, int level) {
  return (k == PK_CODEC_BROTLI && level >= 10) ||
         (k == PK_CODEC_ZSTD && level >= 20);
}

/* Encodes with c, decodes with c and with dec (which may be c). */
static void roundtrip_one(pk_codec *c, pk_codec *dec, const input *in) {
  const pk_codec_spec *s = pk_codec_get_spec(c);
  size_t bound = pk_codec_bound(s, in->len);
  ASSERT(bound >= in->len);
  unsigned char *pi = gcopy(SLOT_IN, in->data, in->len, 1);
  unsigned char *pe = galloc(SLOT_OUT, bound, 1);
  size_t enc_len = 0, dec_len = 0;
  ASSERT_OK(pk_codec_encode(c, in->len ? pi : NULL, in->len, bound ? pe : NULL,
                            bound, &enc_len));
  ASSERT_ULE(enc_len, bound);
  /* zstd's most negative levels and lz4's top accelerations barely look for
   * matches: they are exempt. */
  int extreme = (s->kind == PK_CODEC_ZSTD && s->level < -5) ||
                (s->kind == PK_CODEC_LZ4 && s->level > 8);
  if (s->kind != PK_CODEC_NONE && !extreme && in->shrinks &&
      enc_len > in->len / 4 * 3)
    TEST_FAIL_("%s:%d on %s: %zu -> %zu bytes", pk_codec_name(s->kind),
               s->level, in->name, in->len, enc_len);
  /* Decode from a copy flush against its end, into exactly expected_len. */
  unsigned char *pe2 = gcopy(SLOT_AUX, pe, enc_len, 1);
  unsigned char *pd = galloc(SLOT_AUX2, in->len, 1);
  for (int pass = 0; pass < (dec == c ? 1 : 2); pass++) {
    memset(pd, 0xAA, in->len);
    ASSERT_OK(pk_codec_decode(pass ? c : dec, enc_len ? pe2 : NULL, enc_len,
                              in->len ? pd : NULL, in->len, &dec_len));
    ASSERT_UEQ(dec_len, in->len);
    ASSERT(in->len == 0 || memcmp(pd, in->data, in->len) == 0);
  }
}

static void test_roundtrip(void) {
  for (int k = 0; k < PK_CODEC_KIND_COUNT; k++) {
    size_t nl;
    const int *levels = levels_of((enum pk_codec_kind)k, &nl);
    pk_codec_info info;
    ASSERT_OK(pk_codec_get_info((enum pk_codec_kind)k, &info));
    /* One decoder per codec, at its default level, decodes every level's
     * output: the level is an encoder-only setting. */
    pk_codec *dec = make((enum pk_codec_kind)k, info.default_level);
    for (size_t l = 0; l < nl; l++) {
      /* One context per level, reused across inputs of every size. */
      pk_codec *c = make((enum pk_codec_kind)k, levels[l]);
      for (int i = 0; i < N_INPUTS; i++) {
        if (slow_level((enum pk_codec_kind)k, levels[l]) &&
            inputs[i].len > 65536)
          continue;
        roundtrip_one(c, dec, &inputs[i]);
      }
      pk_codec_free(c);
    }
    pk_codec_free(dec);
  }
}

/* lz4 and lz4hc write the same block format. */
static void test_lz4_cross(void) {
  pk_codec *fast = make(PK_CODEC_LZ4, 1), *hc = make(PK_CODEC_LZ4HC, 12);
  roundtrip_one(fast, hc, &inputs[7]);
  roundtrip_one(hc, fast, &inputs[7]);
  pk_codec_free(fast);
  pk_codec_free(hc);
}

/* A small out_cap: PK_ELIMIT when the result does not fit, and the codec is
 * still usable afterwards. */
static void test_out_cap_limit(void) {
  const input *rnd_in = &inputs[6], *txt = &inputs[7];
  for (int k = 0; k < PK_CODEC_KIND_COUNT; k++) {
    pk_codec_info info;
    ASSERT_OK(pk_codec_get_info((enum pk_codec_kind)k, &info));
    pk_codec *c = make((enum pk_codec_kind)k, info.default_level);
    size_t cap = rnd_in->len / 2, len;
    unsigned char *out = malloc(pk_codec_bound(pk_codec_get_spec(c), txt->len));
    ASSERT_ERR(pk_codec_encode(c, rnd_in->data, rnd_in->len, out, cap, &len),
               PK_ELIMIT);
    ASSERT_ERR(pk_codec_encode(c, rnd_in->data, rnd_in->len, NULL, 0, &len),
               PK_ELIMIT);
    free(out);
    /* Exactly the encoded size fits (zstd and gzip want a few bytes of
     * slack, see codec.h); one byte less does not. */
    size_t enc_len;
    unsigned char *enc = encode_alloc(c, txt->data, txt->len, &enc_len);
    size_t slack = k == PK_CODEC_ZSTD || k == PK_CODEC_GZIP ? 64 : 0;
    unsigned char *p = galloc(SLOT_AUX, enc_len + slack, 1);
    int r = pk_codec_encode(c, txt->data, txt->len, p, enc_len + slack, &len);
    if (r != PK_OK)
      TEST_FAIL_("%s: encode into exactly %zu bytes: %s", pk_codec_name(k),
                 enc_len, pk_err_name(r));
    ASSERT_UEQ(len, enc_len);
    ASSERT(memcmp(p, enc, enc_len) == 0); /* deterministic */
    ASSERT_ERR(pk_codec_encode(c, txt->data, txt->len, p, enc_len - 1, &len),
               PK_ELIMIT);
    free(enc);
    roundtrip_one(c, c, txt);
    pk_codec_free(c);
  }
}

static void test_args(void) {
  pk_codec *c = NULL;
  pk_codec_spec bad = spec_of(PK_CODEC_ZSTD, 23);
  ASSERT_ERR(pk_codec_create(&bad, &c), PK_EINVAL);
  bad = spec_of((enum pk_codec_kind)17, 0);
  ASSERT_ERR(pk_codec_create(&bad, &c), PK_EINVAL);
  ASSERT_ERR(pk_codec_create(NULL, &c), PK_EINVAL);
  pk_codec_spec ok = spec_of(PK_CODEC_ZSTD, 0);
  ASSERT_ERR(pk_codec_create(&ok, NULL), PK_EINVAL);
  ASSERT(c == NULL);
  pk_codec_free(NULL);

  ASSERT_UEQ(pk_codec_bound(&bad, 10), 0);
  ASSERT_UEQ(pk_codec_bound(&ok, PK_CODEC_CHUNK_MAX + 1), 0);
  ASSERT(pk_codec_bound(&ok, PK_CODEC_CHUNK_MAX) > PK_CODEC_CHUNK_MAX);

  c = make(PK_CODEC_ZSTD, 0);
  ASSERT_EQ(pk_codec_get_spec(c)->level, 3);
  unsigned char buf[64];
  size_t len;
  ASSERT_ERR(pk_codec_encode(NULL, buf, 1, buf, 64, &len), PK_EINVAL);
  ASSERT_ERR(pk_codec_encode(c, buf, 1, buf + 1, 63, NULL), PK_EINVAL);
  ASSERT_ERR(pk_codec_encode(c, NULL, 1, buf, 64, &len), PK_EINVAL);
  /* Rejected before anything is read: buf is far shorter than in_len. */
  ASSERT_ERR(pk_codec_encode(c, buf, PK_CODEC_CHUNK_MAX + 1, buf, 64, &len),
             PK_EINVAL);
  ASSERT_ERR(pk_codec_decode(c, buf, 8, buf + 8, PK_CODEC_CHUNK_MAX + 1, &len),
             PK_ECORRUPT);
  ASSERT_ERR(pk_codec_decode(c, buf, 8, NULL, 1, &len), PK_EINVAL);
  ASSERT_ERR(pk_codec_decode(c, NULL, 8, buf, 1, &len), PK_EINVAL);
  ASSERT_ERR(pk_codec_decode(NULL, buf, 8, buf, 1, &len), PK_EINVAL);

  ASSERT_ERR(pk_codec_set_level(c, 23), PK_EINVAL);
  ASSERT_EQ(pk_codec_get_spec(c)->level, 3);
  ASSERT_OK(pk_codec_set_level(c, -7));
  ASSERT_EQ(pk_codec_get_spec(c)->level, -7);
  ASSERT_OK(pk_codec_set_level(c, 0));
  ASSERT_EQ(pk_codec_get_spec(c)->level, 3);
  ASSERT_ERR(pk_codec_set_level(NULL, 3), PK_EINVAL);
  pk_codec_free(c);
}

/* set_level takes effect on the next encode (gzip rebuilds its compressor),
 * and chunks of either level decode. */
static void test_set_level(void) {
  const input *txt = &inputs[7];
  static const struct {
    enum pk_codec_kind kind;
    int lo, hi;
  } cases[] = {{PK_CODEC_ZSTD, 1, 12},
               {PK_CODEC_LZ4, 64, 1},
               {PK_CODEC_LZ4HC, 2, 10},
               {PK_CODEC_BROTLI, 0, 6},
               {PK_CODEC_GZIP, 1, 9}};
  for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
    pk_codec *c = make(cases[k].kind, cases[k].lo);
    size_t lo_len, hi_len;
    unsigned char *lo = encode_alloc(c, txt->data, txt->len, &lo_len);
    ASSERT_OK(pk_codec_set_level(c, cases[k].hi));
    ASSERT_EQ(pk_codec_get_spec(c)->level, cases[k].hi);
    unsigned char *hi = encode_alloc(c, txt->data, txt->len, &hi_len);
    if (hi_len >= lo_len)
      TEST_FAIL_("%s: level %d gave %zu bytes, level %d %zu",
                 pk_codec_name(cases[k].kind), cases[k].hi, hi_len, cases[k].lo,
                 lo_len);
    unsigned char *out = malloc(txt->len);
    size_t n;
    ASSERT_OK(pk_codec_decode(c, lo, lo_len, out, txt->len, &n));
    ASSERT(memcmp(out, txt->data, txt->len) == 0);
    ASSERT_OK(pk_codec_decode(c, hi, hi_len, out, txt->len, &n));
    ASSERT(memcmp(out, txt->data, txt->len) == 0);
    free(out);
    free(lo);
    free(hi);
    pk_codec_free(c);
  }
}

/* ---- hostile input --------------------------------------------------------
 */

static void hostile_for(enum pk_codec_kind kind, const unsigned char *orig,
                        size_t n) {
  pk_codec_info info;
  ASSERT_OK(pk_codec_get_info(kind, &info));
  pk_codec *c = make(kind, info.default_level);
  size_t enc_len;
  unsigned char *enc = encode_alloc(c, orig, n, &enc_len);
  /* gzip's CRC-32 catches damage to the data; the rest may decode a damaged
   * chunk into other bytes of the right length (see codec.h). */
  int has_crc = kind == PK_CODEC_GZIP;

  /* Wrong expected length: always corrupt, for every codec. */
  size_t wrong[] = {0, n - 1, n + 1, 2 * n + 1, n + 4096};
  for (size_t w = 0; w < sizeof wrong / sizeof *wrong; w++) {
    if (wrong[w] == n || wrong[w] > n + 4096)
      continue;
    for (int at_end = 0; at_end < 2; at_end++) {
      unsigned char *pi = gcopy(SLOT_IN, enc, enc_len, at_end);
      unsigned char *po = galloc(SLOT_OUT, wrong[w], at_end);
      size_t got;
      ASSERT_ERR(
          pk_codec_decode(c, pi, enc_len, wrong[w] ? po : NULL, wrong[w], &got),
          PK_ECORRUPT);
    }
  }
  if (kind == PK_CODEC_NONE)
    goto out; /* a copy: any bytes of the right length are "valid" */

  /* Truncations: the first and last 40 lengths, and some in between. */
  for (size_t t = 0; t < enc_len; t++) {
    if (t > 40 && t + 40 < enc_len && rnd() % 64 != 0)
      continue;
    decode_hostile(c, enc, t, n, orig, 1, (int)(t & 1));
  }
  /* Trailing bytes after a valid chunk. */
  unsigned char *longer = malloc(enc_len + 8);
  memcpy(longer, enc, enc_len);
  memset(longer + enc_len, 0, 8);
  decode_hostile(c, longer, enc_len + 1, n, orig, 1, 1);
  decode_hostile(c, longer, enc_len + 8, n, orig, 1, 0);
  memset(longer + enc_len, 0xff, 8);
  decode_hostile(c, longer, enc_len + 1, n, orig, 1, 1);
  free(longer);

  /* Bit flips: every bit of the first and last 16 bytes, then random ones. */
  unsigned char *flip = malloc(enc_len);
  for (size_t f = 0; f < 8 * enc_len; f++) {
    size_t byte = f / 8;
    if (byte >= 16 && byte + 16 < enc_len) {
      f = 8 * (enc_len - 16) - 1;
      continue;
    }
    memcpy(flip, enc, enc_len);
    flip[byte] ^= (unsigned char)(1u << (f % 8));
    decode_hostile(c, flip, enc_len, n, orig, has_crc, (int)(f & 1));
  }
  for (int f = 0; f < 300; f++) {
    memcpy(flip, enc, enc_len);
    int nflips = 1 + (int)(rnd() % 3);
    for (int j = 0; j < nflips; j++)
      flip[rnd() % enc_len] ^= (unsigned char)(1u << (rnd() % 8));
    decode_hostile(c, flip, enc_len, n, orig, has_crc && nflips == 1, f & 1);
  }
  /* Random bytes overwriting a stretch. */
  for (int f = 0; f < 100; f++) {
    memcpy(flip, enc, enc_len);
    size_t at = rnd() % enc_len, len = 1 + rnd() % 64;
    if (len > enc_len - at)
      len = enc_len - at;
    fill_random(flip + at, len);
    decode_hostile(c, flip, enc_len, n, orig, 0, f & 1);
  }
  free(flip);
out:
  free(enc);
  pk_codec_free(c);
}

static void test_decode_hostile(void) {
  unsigned char *text = malloc(65536), *rand_b = malloc(3000);
  unsigned char *zeros = calloc(1, 100000);
  fill_text(text, 65536);
  fill_random(rand_b, 3000);
  for (int k = 0; k < PK_CODEC_KIND_COUNT; k++) {
    hostile_for((enum pk_codec_kind)k, text, 65536);
    hostile_for((enum pk_codec_kind)k, rand_b, 3000);
    hostile_for((enum pk_codec_kind)k, zeros, 100000);
    hostile_for((enum pk_codec_kind)k, text, 1);
  }
  free(text);
  free(rand_b);
  free(zeros);
}

/* Pure garbage, and garbage behind each format's magic bytes so that the
 * parsers get past their first check. */
static void test_decode_garbage(void) {
  static const unsigned char zstd_magic[] = {0x28, 0xb5, 0x2f, 0xfd};
  static const unsigned char gzip_magic[] = {0x1f, 0x8b, 0x08, 0x00};
  unsigned char buf[2100];
  for (int k = 0; k < PK_CODEC_KIND_COUNT; k++) {
    pk_codec *c = make((enum pk_codec_kind)k, k == PK_CODEC_NONE ? 0 : 1);
    for (int round = 0; round < 400; round++) {
      size_t n = rnd() % (round < 200 ? 40 : sizeof buf);
      fill_random(buf, n);
      if (round % 3 == 1 && n >= 4)
        memcpy(buf, zstd_magic, 4);
      if (round % 3 == 2 && n >= 4)
        memcpy(buf, gzip_magic, 4);
      if (round % 5 == 0 && n >= 6) /* a plausible zstd frame header */
        buf[4] = (unsigned char)(rnd() % 4 * 64 + 0x20);
      size_t want_opts[] = {0, 1, n, 100, 4096, 70000};
      size_t want = want_opts[rnd() % 6];
      decode_hostile(c, buf, n, want, NULL, 0, round & 1);
    }
    pk_codec_free(c);
  }
}

/* ---- the CLIs read our chunks ---------------------------------------------
 */

/* Concatenated gzip chunks are one multi-member .gz, and concatenated zstd
 * chunks one multi-frame .zst: checked with the real tools where present. */
static void cli_reads(enum pk_codec_kind kind, const char *tool,
                      const char *ext) {
  char cmd[256];
  snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", tool);
  if (system(cmd) != 0) {
    fprintf(stderr, "   skipped: %s not installed\n", tool);
    return;
  }
  char dir[] = "/tmp/pk_codec_test_XXXXXX";
  ASSERT(mkdtemp(dir));
  char path[64], outp[64];
  snprintf(path, sizeof path, "%s/chunks.%s", dir, ext);
  snprintf(outp, sizeof outp, "%s/out", dir);
  const input *txt = &inputs[7];
  pk_codec *c = make(kind, kind == PK_CODEC_ZSTD ? 3 : 6);
  FILE *f = fopen(path, "wb");
  ASSERT(f);
  size_t part = txt->len / 3 + 1;
  for (size_t off = 0; off < txt->len; off += part) {
    size_t n = txt->len - off < part ? txt->len - off : part, enc_len;
    unsigned char *enc = encode_alloc(c, txt->data + off, n, &enc_len);
    ASSERT_UEQ(fwrite(enc, 1, enc_len, f), enc_len);
    free(enc);
  }
  ASSERT_EQ(fclose(f), 0);
  snprintf(cmd, sizeof cmd, "%s -dc '%s' > '%s'", tool, path, outp);
  ASSERT_EQ(system(cmd), 0);
  f = fopen(outp, "rb");
  ASSERT(f);
  unsigned char *back = malloc(txt->len + 1);
  ASSERT_UEQ(fread(back, 1, txt->len + 1, f), txt->len);
  fclose(f);
  ASSERT(memcmp(back, txt->data, txt->len) == 0);
  free(back);
  pk_codec_free(c);
  unlink(path);
  unlink(outp);
  rmdir(dir);
}

static void test_cli_reads_chunks(void) {
  cli_reads(PK_CODEC_GZIP, "gzip", "gz");
  cli_reads(PK_CODEC_ZSTD, "zstd", "zst");
}

int main(void) {
  make_inputs();
  RUN(test_info);
  RUN(test_parse_ok);
  RUN(test_parse_errors);
  RUN(test_format_roundtrip);
  RUN(test_roundtrip);
  RUN(test_lz4_cross);
  RUN(test_out_cap_limit);
  RUN(test_args);
  RUN(test_set_level);
  RUN(test_decode_hostile);
  RUN(test_decode_garbage);
  RUN(test_cli_reads_chunks);
  for (int i = 0; i < N_INPUTS; i++)
    free(inputs[i].data);
  gfree_all();
  return 0;
}
