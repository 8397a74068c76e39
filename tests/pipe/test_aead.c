/* test_aead.c — unit tests for pipe/aead.h.
 *
 * Every test runs against both implementations (OpenSSL and libsodium), and
 * the cross test opens with one what the other sealed: the two agree on
 * every kind, including our OpenSSL-based XChaCha20 composition. */
#include "pipe/aead.h"
#include "test.h"

static const pk_aead_impl impls[] = {PK_AEAD_IMPL_OPENSSL, PK_AEAD_IMPL_SODIUM};
#define N_IMPLS (sizeof impls / sizeof impls[0])

static size_t unhex(const char *hex, uint8_t *out, size_t cap) {
  size_t n = strlen(hex) / 2;
  ASSERT(n <= cap);
  for (size_t i = 0; i < n; i++) {
    unsigned v;
    ASSERT(sscanf(hex + 2 * i, "%2x", &v) == 1);
    out[i] = (uint8_t)v;
  }
  return n;
}

static void fill(uint8_t *p, size_t n, uint32_t seed) {
  for (size_t i = 0; i < n; i++) {
    seed = seed * 1103515245u + 12345u;
    p[i] = (uint8_t)(seed >> 16);
  }
}

static int all_zero(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i])
      return 0;
  return 1;
}

static void test_names(void) {
  pk_aead_kind k;
  pk_errmsg e = {{0}};
  for (int i = 0; i < PK_AEAD__KIND_COUNT; i++) {
    ASSERT_OK(pk_aead_parse(pk_aead_name((pk_aead_kind)i), &k, &e));
    ASSERT_EQ(k, i);
  }
  ASSERT_EQ(pk_aead_nonce_len(PK_AEAD_AES256GCM), 12);
  ASSERT_EQ(pk_aead_nonce_len(PK_AEAD_CHACHA20POLY1305), 12);
  ASSERT_EQ(pk_aead_nonce_len(PK_AEAD_XCHACHA20POLY1305), 24);
  ASSERT_ERR(pk_aead_parse("AES256GCM", &k, &e), PK_EINVAL);
  ASSERT(strstr(e.text, "AES256GCM") && strstr(e.text, "xchacha20poly1305"));
  ASSERT_ERR(pk_aead_parse("", &k, NULL), PK_EINVAL);
  ASSERT_ERR(pk_aead_parse(NULL, &k, NULL), PK_EINVAL);
  ASSERT_STREQ(pk_aead_impl_name(PK_AEAD_IMPL_AUTO), "openssl");
  ASSERT_STREQ(pk_aead_impl_name(PK_AEAD_IMPL_SODIUM), "libsodium");
}

static void test_invalid_args(void) {
  uint8_t key[32] = {0}, nonce[24] = {0}, buf[64] = {0};
  pk_aead *a = NULL;
  ASSERT_ERR(pk_aead_create(PK_AEAD__KIND_COUNT, key, &a), PK_EINVAL);
  ASSERT_ERR(pk_aead_create(PK_AEAD_AES256GCM, NULL, &a), PK_EINVAL);
  ASSERT_ERR(pk_aead_create(PK_AEAD_AES256GCM, key, NULL), PK_EINVAL);
  ASSERT_ERR(pk_aead_create_impl(PK_AEAD_AES256GCM, (pk_aead_impl)7, key, &a),
             PK_EINVAL);
  ASSERT(a == NULL);
  pk_aead_free(NULL);
  ASSERT_OK(pk_aead_create(PK_AEAD_AES256GCM, key, &a));
  ASSERT_EQ(pk_aead_impl_of(a), PK_AEAD_IMPL_OPENSSL);
  ASSERT_EQ(pk_aead_kind_of(a), PK_AEAD_AES256GCM);
  ASSERT_ERR(pk_aead_seal(a, NULL, NULL, 0, buf, 8, buf), PK_EINVAL);
  ASSERT_ERR(pk_aead_seal(a, nonce, NULL, 0, buf, 8, NULL), PK_EINVAL);
  ASSERT_ERR(pk_aead_seal(a, nonce, NULL, 5, buf, 8, buf), PK_EINVAL);
  ASSERT_ERR(pk_aead_seal(a, nonce, NULL, 0, NULL, 8, buf), PK_EINVAL);
  ASSERT_ERR(
      pk_aead_seal(a, nonce, NULL, 0, buf, (size_t)PK_AEAD_MAX_LEN + 1, buf),
      PK_ELIMIT);
  /* Shorter than a tag: not a sealed chunk at all. */
  for (size_t n = 0; n < PK_AEAD_TAG_LEN; n++)
    ASSERT_ERR(pk_aead_open(a, nonce, NULL, 0, buf, n, buf), PK_ECORRUPT);
  pk_aead_free(a);
}

/* One known-answer vector: seal must give ct||tag exactly, open must give
 * the plaintext back. */
static void kat(pk_aead_kind kind, const char *key_hex, const char *nonce_hex,
                const char *aad_hex, const char *pt_hex, const char *ct_hex) {
  uint8_t key[32], nonce[24], aad[64], pt[256], ct[272], out[272];
  ASSERT_EQ(unhex(key_hex, key, sizeof key), 32);
  ASSERT_EQ(unhex(nonce_hex, nonce, sizeof nonce), pk_aead_nonce_len(kind));
  size_t aad_len = unhex(aad_hex, aad, sizeof aad);
  size_t pt_len = unhex(pt_hex, pt, sizeof pt);
  size_t ct_len = unhex(ct_hex, ct, sizeof ct);
  ASSERT_EQ(ct_len, pt_len + PK_AEAD_TAG_LEN);
  for (size_t i = 0; i < N_IMPLS; i++) {
    pk_aead *a;
    ASSERT_OK(pk_aead_create_impl(kind, impls[i], key, &a));
    /* Use the context first, including a failed open, so the vector also
     * checks that per-call re-initialisation leaves no state behind. */
    uint8_t junk[100], jout[116], jn[24] = {9};
    fill(junk, sizeof junk, 7);
    ASSERT_OK(pk_aead_seal(a, jn, aad, 3, junk, sizeof junk, jout));
    jout[5] ^= 1;
    ASSERT_ERR(pk_aead_open(a, jn, aad, 3, jout, sizeof jout, jout), PK_EAUTH);

    memset(out, 0xAA, sizeof out);
    ASSERT_OK(pk_aead_seal(a, nonce, aad_len ? aad : NULL, aad_len,
                           pt_len ? pt : NULL, pt_len, out));
    ASSERT(memcmp(out, ct, ct_len) == 0);
    memset(out, 0xAA, sizeof out);
    ASSERT_OK(pk_aead_open(a, nonce, aad_len ? aad : NULL, aad_len, ct, ct_len,
                           pt_len ? out : NULL));
    ASSERT(memcmp(out, pt, pt_len) == 0);
    pk_aead_free(a);
  }
}

#define RFC_KEY                                                                \
  "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
#define RFC_AAD "50515253c0c1c2c3c4c5c6c7"
/* "Ladies and Gentlemen of the class of '99: If I could offer you only one
 * tip for the future, sunscreen would be it." */
#define RFC_PT                                                                 \
  "4c616469657320616e642047656e746c656d656e206f662074686520636c6173"           \
  "73206f66202739393a204966204920636f756c64206f6666657220796f75206f"           \
  "6e6c79206f6e652074697020666f7220746865206675747572652c2073756e73"           \
  "637265656e20776f756c642062652069742e"

static void test_kat_chacha20poly1305_rfc8439(void) {
  /* RFC 8439 section 2.8.2. */
  kat(PK_AEAD_CHACHA20POLY1305, RFC_KEY, "070000004041424344454647", RFC_AAD,
      RFC_PT,
      "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
      "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
      "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
      "3ff4def08e4b7a9de576d26586cec64b6116"
      "1ae10b594f09e26a7e902ecbd0600691");
}

static void test_kat_xchacha20poly1305_draft(void) {
  /* draft-irtf-cfrg-xchacha-03 appendix A.3.1. */
  kat(PK_AEAD_XCHACHA20POLY1305, RFC_KEY,
      "404142434445464748494a4b4c4d4e4f5051525354555657", RFC_AAD, RFC_PT,
      "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb"
      "731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452"
      "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9"
      "21f9664c97637da9768812f615c68b13b52e"
      "c0875924c1c7987947deafd8780acf49");
}

static void test_kat_aes256gcm_nist(void) {
  /* The GCM specification (McGrew & Viega, submitted to NIST), test case
   * 16: AES-256, 96-bit IV, 60-byte plaintext, 20-byte AAD. */
  kat(PK_AEAD_AES256GCM,
      "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
      "cafebabefacedbaddecaf888", "feedfacedeadbeeffeedfacedeadbeefabaddad2",
      "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
      "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
      "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
      "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
      "76fc6ece0f4e1768cddf8853bb2d551b");
  /* Test case 13: zero key, zero IV, empty plaintext: a tag alone. */
  kat(PK_AEAD_AES256GCM,
      "0000000000000000000000000000000000000000000000000000000000000000",
      "000000000000000000000000", "", "", "530f8afbc74536b9a963b4f1c4cb738b");
}

/* Seal with one implementation, open with each (and in place), for many
 * sizes around block and piece edges. */
static void test_round_trip(void) {
  static const size_t sizes[] = {0,    1,    15,   16,        17,
                                 63,   64,   65,   255,       256,
                                 1000, 4096, 4097, 65536 + 7, (1u << 20) + 3};
  size_t max = (1u << 20) + 3;
  uint8_t *pt = malloc(max), *ct = malloc(max + 16), *back = malloc(max + 16);
  ASSERT(pt && ct && back);
  fill(pt, max, 1);
  uint8_t key[32], nonce[24], aad[29];
  fill(key, 32, 2);
  fill(nonce, 24, 3);
  fill(aad, sizeof aad, 4);
  for (int k = 0; k < PK_AEAD__KIND_COUNT; k++) {
    pk_aead *a[N_IMPLS];
    for (size_t i = 0; i < N_IMPLS; i++)
      ASSERT_OK(pk_aead_create_impl((pk_aead_kind)k, impls[i], key, &a[i]));
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
      size_t n = sizes[s];
      for (size_t al = 0; al <= sizeof aad; al += sizeof aad) {
        const uint8_t *ad = al ? aad : NULL;
        nonce[0] = (uint8_t)s; /* a fresh nonce per message */
        ASSERT_OK(pk_aead_seal(a[0], nonce, ad, al, pt, n, ct));
        ASSERT(n == 0 || memcmp(ct, pt, n < 64 ? n : 64) != 0);
        for (size_t i = 0; i < N_IMPLS; i++) {
          memset(back, 0xAA, n + 1);
          ASSERT_OK(pk_aead_open(a[i], nonce, ad, al, ct, n + 16, back));
          ASSERT(memcmp(back, pt, n) == 0);
          ASSERT_EQ(back[n], 0xAA); /* nothing written past the plaintext */
          /* The other implementation seals to the same bytes. */
          ASSERT_OK(pk_aead_seal(a[i], nonce, ad, al, pt, n, back));
          ASSERT(memcmp(back, ct, n + 16) == 0);
          /* In place: seal then open in one buffer. */
          memcpy(back, pt, n);
          ASSERT_OK(pk_aead_seal(a[i], nonce, ad, al, back, n, back));
          ASSERT(memcmp(back, ct, n + 16) == 0);
          ASSERT_OK(pk_aead_open(a[i], nonce, ad, al, back, n + 16, back));
          ASSERT(memcmp(back, pt, n) == 0);
        }
      }
    }
    for (size_t i = 0; i < N_IMPLS; i++)
      pk_aead_free(a[i]);
  }
  free(pt);
  free(ct);
  free(back);
}

/* Any single-bit change to ciphertext, tag, nonce or AAD must fail with
 * PK_EAUTH and leave the output all zeros, in place or not. */
static void test_bit_flips(void) {
  enum { N = 40, AL = 13 };
  uint8_t key[32], nonce[24], aad[AL], pt[N], ct[N + 16], out[N + 16];
  fill(key, 32, 5);
  fill(nonce, 24, 6);
  fill(aad, AL, 7);
  fill(pt, N, 8);
  for (int k = 0; k < PK_AEAD__KIND_COUNT; k++) {
    size_t nl = pk_aead_nonce_len((pk_aead_kind)k);
    for (size_t i = 0; i < N_IMPLS; i++) {
      pk_aead *a;
      ASSERT_OK(pk_aead_create_impl((pk_aead_kind)k, impls[i], key, &a));
      ASSERT_OK(pk_aead_seal(a, nonce, aad, AL, pt, N, ct));
      for (size_t bit = 0; bit < (N + 16) * 8; bit++) {
        ct[bit / 8] ^= (uint8_t)(1u << bit % 8);
        memset(out, 0xAA, sizeof out);
        ASSERT_ERR(pk_aead_open(a, nonce, aad, AL, ct, N + 16, out), PK_EAUTH);
        ASSERT(all_zero(out, N));
        ASSERT_EQ(out[N], 0xAA);
        if (bit % 61 == 0) { /* in place, for a sample */
          uint8_t tmp[N + 16];
          memcpy(tmp, ct, sizeof tmp);
          ASSERT_ERR(pk_aead_open(a, nonce, aad, AL, tmp, N + 16, tmp),
                     PK_EAUTH);
          ASSERT(all_zero(tmp, N));
        }
        ct[bit / 8] ^= (uint8_t)(1u << bit % 8);
      }
      for (size_t bit = 0; bit < nl * 8; bit++) {
        nonce[bit / 8] ^= (uint8_t)(1u << bit % 8);
        memset(out, 0xAA, sizeof out);
        ASSERT_ERR(pk_aead_open(a, nonce, aad, AL, ct, N + 16, out), PK_EAUTH);
        ASSERT(all_zero(out, N));
        nonce[bit / 8] ^= (uint8_t)(1u << bit % 8);
      }
      for (size_t bit = 0; bit < AL * 8; bit++) {
        aad[bit / 8] ^= (uint8_t)(1u << bit % 8);
        memset(out, 0xAA, sizeof out);
        ASSERT_ERR(pk_aead_open(a, nonce, aad, AL, ct, N + 16, out), PK_EAUTH);
        ASSERT(all_zero(out, N));
        aad[bit / 8] ^= (uint8_t)(1u << bit % 8);
      }
      /* Dropped AAD, truncation and extension fail too. */
      ASSERT_ERR(pk_aead_open(a, nonce, NULL, 0, ct, N + 16, out), PK_EAUTH);
      ASSERT_ERR(pk_aead_open(a, nonce, aad, AL - 1, ct, N + 16, out),
                 PK_EAUTH);
      ASSERT_ERR(pk_aead_open(a, nonce, aad, AL, ct, N + 15, out), PK_EAUTH);
      /* And after all those failures the context still opens the original. */
      ASSERT_OK(pk_aead_open(a, nonce, aad, AL, ct, N + 16, out));
      ASSERT(memcmp(out, pt, N) == 0);
      pk_aead_free(a);
    }
  }
}

static void test_wrong_key(void) {
  uint8_t key[32], key2[32], nonce[24] = {1}, pt[100], ct[116], out[116];
  fill(key, 32, 9);
  memcpy(key2, key, 32);
  key2[31] ^= 0x80;
  fill(pt, sizeof pt, 10);
  for (int k = 0; k < PK_AEAD__KIND_COUNT; k++) {
    for (size_t i = 0; i < N_IMPLS; i++) {
      pk_aead *a, *b;
      ASSERT_OK(pk_aead_create_impl((pk_aead_kind)k, impls[i], key, &a));
      ASSERT_OK(pk_aead_create_impl((pk_aead_kind)k, impls[i], key2, &b));
      ASSERT_OK(pk_aead_seal(a, nonce, NULL, 0, pt, sizeof pt, ct));
      memset(out, 0xAA, sizeof out);
      ASSERT_ERR(pk_aead_open(b, nonce, NULL, 0, ct, sizeof ct, out), PK_EAUTH);
      ASSERT(all_zero(out, sizeof pt));
      pk_aead_free(a);
      pk_aead_free(b);
    }
  }
}

static void test_empty_plaintext(void) {
  uint8_t key[32] = {3}, nonce[24] = {4}, aad[5] = {1, 2, 3, 4, 5}, tag[16];
  for (int k = 0; k < PK_AEAD__KIND_COUNT; k++) {
    for (size_t i = 0; i < N_IMPLS; i++) {
      pk_aead *a;
      ASSERT_OK(pk_aead_create_impl((pk_aead_kind)k, impls[i], key, &a));
      ASSERT_OK(pk_aead_seal(a, nonce, aad, 5, NULL, 0, tag));
      ASSERT(!all_zero(tag, 16));
      ASSERT_OK(pk_aead_open(a, nonce, aad, 5, tag, 16, NULL));
      aad[0] ^= 1; /* the tag still authenticates the AAD */
      ASSERT_ERR(pk_aead_open(a, nonce, aad, 5, tag, 16, NULL), PK_EAUTH);
      aad[0] ^= 1;
      tag[15] ^= 1;
      ASSERT_ERR(pk_aead_open(a, nonce, aad, 5, tag, 16, NULL), PK_EAUTH);
      pk_aead_free(a);
    }
  }
}

int main(void) {
  RUN(test_names);
  RUN(test_invalid_args);
  RUN(test_kat_chacha20poly1305_rfc8439);
  RUN(test_kat_xchacha20poly1305_draft);
  RUN(test_kat_aes256gcm_nist);
  RUN(test_round_trip);
  RUN(test_bit_flips);
  RUN(test_wrong_key);
  RUN(test_empty_plaintext);
  return 0;
}
