/* test_digest.c — unit tests for pipe/digest.h.
 *
 * Expected values come from independent tools, computed once: sha256sum,
 * `b2sum -l 256` and Python's hashlib for SHA-256 and BLAKE2b-256, and the
 * xxhsum CLI (`-H3`, `-H2`, xxHash 0.8.1) for XXH3. The 1000- and
 * 100003-byte inputs are pattern(i) = (i * 131 + (i >> 8)) & 0xff. */
#include <pthread.h>

#include <xxhash.h>

#include "pipe/digest.h"
#include "test.h"

static const char *hex_of(enum pk_digest_kind kind, const void *data,
                          size_t len, char *buf, size_t cap) {
  uint8_t d[PK_DIGEST_MAX_SIZE];
  ASSERT_OK(pk_digest_oneshot(kind, data, len, d, sizeof d));
  ASSERT_OK(pk_digest_hex(d, pk_digest_size(kind), buf, cap));
  return buf;
}

static unsigned char *pattern(size_t n) {
  unsigned char *p = malloc(n);
  ASSERT(p);
  for (size_t i = 0; i < n; i++)
    p[i] = (unsigned char)((i * 131 + (i >> 8)) & 0xff);
  return p;
}

static const struct {
  enum pk_digest_kind kind;
  const char *input; /* NULL: pattern(len) */
  size_t len;
  const char *hex;
} vectors[] = {
    {PK_DIGEST_SHA256, "", 0,
     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {PK_DIGEST_SHA256, "abc", 3,
     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    {PK_DIGEST_SHA256,
     "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    {PK_DIGEST_SHA256, NULL, 1000,
     "ce4866fe66ae964af5e434c0b2b1bcaa5f122adc7089cf66a7c2a69c69545d9f"},
    {PK_DIGEST_SHA256, NULL, 100003,
     "c2001fe64acd7a232538a138f8ae6d14fb0c19cceb2c9fb7a3ae180f7be209d2"},
    {PK_DIGEST_BLAKE2B_256, "", 0,
     "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8"},
    {PK_DIGEST_BLAKE2B_256, "abc", 3,
     "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319"},
    {PK_DIGEST_BLAKE2B_256, NULL, 1000,
     "319bb924773fce72117b6f83ae0b62ca7e29dcdbe19b2173be76f21c9df7a976"},
    {PK_DIGEST_BLAKE2B_256, NULL, 100003,
     "24809f4228e59b23eee623cc04d041ab38592f540d587015eea49cd7bf4aca88"},
    {PK_DIGEST_XXH3_64, "", 0, "2d06800538d394c2"},
    {PK_DIGEST_XXH3_64, "abc", 3, "78af5f94892f3950"},
    {PK_DIGEST_XXH3_64, NULL, 1000, "2ac5b3b66d7cf18f"},
    {PK_DIGEST_XXH3_64, NULL, 100003, "581f6b909426bc15"},
    {PK_DIGEST_XXH3_128, "", 0, "99aa06d3014798d86001c324468d497f"},
    {PK_DIGEST_XXH3_128, "abc", 3, "06b05ab6733a618578af5f94892f3950"},
    {PK_DIGEST_XXH3_128, NULL, 1000, "a142184d4927ca442ac5b3b66d7cf18f"},
    {PK_DIGEST_XXH3_128, NULL, 100003, "15830f820096508a581f6b909426bc15"},
};
enum { N_VECTORS = sizeof vectors / sizeof *vectors };

static void test_names(void) {
  static const char *const names[] = {"xxh3", "xxh3-128", "sha256", "blake2b"};
  static const size_t sizes[] = {8, 16, 32, 32};
  for (int k = 0; k < PK_DIGEST_KIND_COUNT; k++) {
    ASSERT_STREQ(pk_digest_name((enum pk_digest_kind)k), names[k]);
    ASSERT_UEQ(pk_digest_size((enum pk_digest_kind)k), sizes[k]);
    enum pk_digest_kind got;
    ASSERT_OK(pk_digest_parse(names[k], &got, NULL));
    ASSERT_EQ(got, k);
  }
  enum pk_digest_kind got = PK_DIGEST_XXH3_64;
  ASSERT_OK(pk_digest_parse("SHA256", &got, NULL));
  ASSERT_EQ(got, PK_DIGEST_SHA256);
  pk_errmsg e;
  ASSERT_ERR(pk_digest_parse("md5", &got, &e), PK_EINVAL);
  ASSERT_STREQ(e.text, "unknown digest 'md5' (expected xxh3, xxh3-128, "
                       "sha256 or blake2b)");
  ASSERT_ERR(pk_digest_parse("", &got, &e), PK_EINVAL);
  ASSERT_ERR(pk_digest_parse(NULL, &got, &e), PK_EINVAL);
  ASSERT_EQ(got, PK_DIGEST_SHA256);
  ASSERT_STREQ(pk_digest_name((enum pk_digest_kind)4), "?");
  ASSERT_UEQ(pk_digest_size((enum pk_digest_kind) - 1), 0);
  /* The .adapipe header's digest byte (FORMAT.md) */
  ASSERT_EQ(PK_DIGEST_XXH3_128, 1);
  ASSERT_EQ(PK_DIGEST_SHA256, 2);
  ASSERT_EQ(PK_DIGEST_BLAKE2B_256, 3);
}

static void test_vectors_oneshot(void) {
  for (int v = 0; v < N_VECTORS; v++) {
    unsigned char *pat = vectors[v].input ? NULL : pattern(vectors[v].len);
    const void *data = pat ? (const void *)pat : vectors[v].input;
    char hex[2 * PK_DIGEST_MAX_SIZE + 1];
    hex_of(vectors[v].kind, data, vectors[v].len, hex, sizeof hex);
    if (strcmp(hex, vectors[v].hex) != 0)
      TEST_FAIL_("%s of %zu bytes: %s, expected %s",
                 pk_digest_name(vectors[v].kind), vectors[v].len, hex,
                 vectors[v].hex);
    free(pat);
  }
  /* NULL data with length 0 is the empty message. */
  char hex[2 * PK_DIGEST_MAX_SIZE + 1];
  ASSERT_STREQ(hex_of(PK_DIGEST_SHA256, NULL, 0, hex, sizeof hex),
               vectors[0].hex);
}

/* The same vectors through the streaming interface, one byte at a time for
 * the short ones and in odd pieces for the long ones. */
static void test_vectors_streaming(void) {
  for (int v = 0; v < N_VECTORS; v++) {
    unsigned char *pat = vectors[v].input ? NULL : pattern(vectors[v].len);
    const unsigned char *data =
        pat ? pat : (const unsigned char *)vectors[v].input;
    pk_digest *d;
    ASSERT_OK(pk_digest_create(vectors[v].kind, &d));
    ASSERT_EQ(pk_digest_kind_of(d), vectors[v].kind);
    static const size_t steps[] = {1, 7, 64, 63, 65, 1000, 4097};
    for (size_t off = 0, s = 0; off < vectors[v].len; s++) {
      size_t n = vectors[v].len < 100 ? 1 : steps[s % 7];
      if (n > vectors[v].len - off)
        n = vectors[v].len - off;
      ASSERT_OK(pk_digest_update(d, data + off, n));
      ASSERT_OK(pk_digest_update(d, NULL, 0));
      off += n;
    }
    uint8_t out[PK_DIGEST_MAX_SIZE];
    char hex[2 * PK_DIGEST_MAX_SIZE + 1];
    ASSERT_OK(pk_digest_final(d, out, sizeof out));
    ASSERT_OK(
        pk_digest_hex(out, pk_digest_size(vectors[v].kind), hex, sizeof hex));
    ASSERT_STREQ(hex, vectors[v].hex);
    pk_digest_free(d);
    free(pat);
  }
}

static unsigned char *random_bytes(size_t n, uint64_t seed) {
  unsigned char *p = malloc(n);
  ASSERT(p);
  for (size_t i = 0; i < n; i++) {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    p[i] = (unsigned char)(seed >> 24);
  }
  return p;
}

/* Odd pieces of a 1 MiB + 13 buffer equal one shot; final resets the object
 * so it can hash the next stream; reset discards a half-fed stream. */
static void test_streaming_equals_oneshot(void) {
  size_t n = (1u << 20) + 13;
  unsigned char *buf = random_bytes(n, 0x1234567);
  for (int k = 0; k < PK_DIGEST_KIND_COUNT; k++) {
    enum pk_digest_kind kind = (enum pk_digest_kind)k;
    size_t size = pk_digest_size(kind);
    uint8_t want[PK_DIGEST_MAX_SIZE], got[PK_DIGEST_MAX_SIZE];
    ASSERT_OK(pk_digest_oneshot(kind, buf, n, want, size));
    pk_digest *d;
    ASSERT_OK(pk_digest_create(kind, &d));
    for (int round = 0; round < 3; round++) {
      if (round == 2) { /* junk, then reset */
        ASSERT_OK(pk_digest_update(d, buf + 5, 1000));
        ASSERT_OK(pk_digest_reset(d));
      }
      size_t off = 0, piece = 1 + (size_t)round;
      while (off < n) {
        size_t m = piece < n - off ? piece : n - off;
        ASSERT_OK(pk_digest_update(d, buf + off, m));
        off += m;
        piece = piece * 3 + 1; /* 1, 4, 13, 40, ... crosses every block size */
        if (piece > 300000)
          piece = 7;
      }
      memset(got, 0, sizeof got);
      ASSERT_OK(pk_digest_final(d, got, size)); /* exactly the size is enough */
      ASSERT(memcmp(got, want, size) == 0);
    }
    /* After final, an immediate final is the empty message's digest. */
    uint8_t empty[PK_DIGEST_MAX_SIZE];
    ASSERT_OK(pk_digest_oneshot(kind, "", 0, empty, sizeof empty));
    ASSERT_OK(pk_digest_final(d, got, sizeof got));
    ASSERT(memcmp(got, empty, size) == 0);
    /* Too small an output: nothing written, state kept. */
    ASSERT_OK(pk_digest_update(d, buf, 100));
    ASSERT_ERR(pk_digest_final(d, got, size - 1), PK_EINVAL);
    ASSERT_OK(pk_digest_update(d, buf + 100, n - 100));
    ASSERT_OK(pk_digest_final(d, got, size));
    ASSERT(memcmp(got, want, size) == 0);
    pk_digest_free(d);
  }
  free(buf);
}

static void test_args(void) {
  pk_digest *d = NULL;
  uint8_t out[PK_DIGEST_MAX_SIZE];
  ASSERT_ERR(pk_digest_create((enum pk_digest_kind)4, &d), PK_EINVAL);
  ASSERT_ERR(pk_digest_create(PK_DIGEST_SHA256, NULL), PK_EINVAL);
  ASSERT(d == NULL);
  pk_digest_free(NULL);
  ASSERT_ERR(pk_digest_oneshot((enum pk_digest_kind)9, "a", 1, out, 32),
             PK_EINVAL);
  ASSERT_ERR(pk_digest_oneshot(PK_DIGEST_SHA256, "a", 1, out, 31), PK_EINVAL);
  ASSERT_ERR(pk_digest_oneshot(PK_DIGEST_SHA256, "a", 1, NULL, 32), PK_EINVAL);
  ASSERT_ERR(pk_digest_oneshot(PK_DIGEST_SHA256, NULL, 1, out, 32), PK_EINVAL);
  ASSERT_OK(pk_digest_create(PK_DIGEST_XXH3_64, &d));
  ASSERT_ERR(pk_digest_update(d, NULL, 1), PK_EINVAL);
  ASSERT_ERR(pk_digest_update(NULL, "a", 1), PK_EINVAL);
  ASSERT_ERR(pk_digest_final(d, NULL, 8), PK_EINVAL);
  ASSERT_ERR(pk_digest_reset(NULL), PK_EINVAL);
  pk_digest_free(d);

  char hex[5];
  static const uint8_t two[] = {0xab, 0x01};
  ASSERT_OK(pk_digest_hex(two, 2, hex, sizeof hex));
  ASSERT_STREQ(hex, "ab01");
  ASSERT_ERR(pk_digest_hex(two, 2, hex, 4), PK_ELIMIT);
  ASSERT_STREQ(hex, "");
  ASSERT_OK(pk_digest_hex(two, 0, hex, 1));
  ASSERT_STREQ(hex, "");
  ASSERT_ERR(pk_digest_hex(two, 1, NULL, 3), PK_ELIMIT);
}

static void test_chunk_checksum(void) {
  size_t n = 70000;
  unsigned char *buf = random_bytes(n, 99);
  /* pk_chunk_checksum is XXH3-64, the number behind the canonical bytes. */
  uint8_t canon[8];
  ASSERT_OK(pk_digest_oneshot(PK_DIGEST_XXH3_64, buf, n, canon, 8));
  uint64_t be = 0;
  for (int i = 0; i < 8; i++)
    be = be << 8 | canon[i];
  ASSERT_UEQ(pk_chunk_checksum(buf, n), be);
  ASSERT_UEQ(pk_chunk_checksum(NULL, 0), 0x2d06800538d394c2u);
  ASSERT_UEQ(pk_chunk_checksum("abc", 3), 0x78af5f94892f3950u);
  /* Seeded over aad ‖ data equals XXH3-64-with-seed of the concatenation,
   * for short (<= 240 B) and long totals and any split. */
  uint64_t seed = 0x0123456789abcdefu;
  size_t totals[] = {0, 1, 17, 46, 129, 240, 241, 1000, n};
  for (size_t t = 0; t < sizeof totals / sizeof *totals; t++) {
    size_t total = totals[t];
    uint64_t want = XXH3_64bits_withSeed(buf, total, seed);
    size_t splits[] = {0, 1, 46, total / 2, total};
    for (size_t s = 0; s < sizeof splits / sizeof *splits; s++) {
      size_t aad = splits[s] > total ? total : splits[s];
      ASSERT_UEQ(
          pk_chunk_checksum_seeded(seed, buf, aad, buf + aad, total - aad),
          want);
    }
    ASSERT_UEQ(pk_chunk_checksum_seeded(0, NULL, 0, buf, total),
               pk_chunk_checksum(buf, total));
  }
  ASSERT_UEQ(pk_chunk_checksum_seeded(seed, buf, 46, NULL, 0),
             XXH3_64bits_withSeed(buf, 46, seed));
  /* A different seed gives a different checksum. */
  ASSERT(pk_chunk_checksum_seeded(1, buf, 46, buf + 46, 1000) !=
         pk_chunk_checksum_seeded(2, buf, 46, buf + 46, 1000));
  free(buf);
}

/* First use from several threads at once: the one-time library set-up
 * (OpenSSL fetch, sodium_init) is raced here, and under TSan. */
static void *hash_all(void *arg) {
  (void)arg;
  for (int v = 0; v < N_VECTORS; v++) {
    if (!vectors[v].input)
      continue;
    char hex[2 * PK_DIGEST_MAX_SIZE + 1];
    hex_of(vectors[v].kind, vectors[v].input, vectors[v].len, hex, sizeof hex);
    ASSERT_STREQ(hex, vectors[v].hex);
    pk_digest *d;
    ASSERT_OK(pk_digest_create(vectors[v].kind, &d));
    pk_digest_free(d);
  }
  return NULL;
}

static void test_threads_first_use(void) {
  pthread_t t[4];
  for (int i = 0; i < 4; i++)
    ASSERT_EQ(pthread_create(&t[i], NULL, hash_all, NULL), 0);
  for (int i = 0; i < 4; i++)
    ASSERT_EQ(pthread_join(t[i], NULL), 0);
}

int main(void) {
  RUN(test_threads_first_use); /* first: nothing is initialised yet */
  RUN(test_names);
  RUN(test_vectors_oneshot);
  RUN(test_vectors_streaming);
  RUN(test_streaming_equals_oneshot);
  RUN(test_args);
  RUN(test_chunk_checksum);
  return 0;
}
