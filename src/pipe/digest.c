/* digest.c — whole-file digests and chunk checksums; see digest.h. */
#include "pipe/digest.h"

#include <pthread.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <sodium.h>

#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t's layout, to embed it */
#include <xxhash.h>
#if defined(__x86_64__) || defined(__i386__)
/* Redirects XXH3_64bits & co. to libxxhash's runtime-dispatched versions
 * (AVX-512 / AVX2 / SSE2 chosen by cpuid); the plain symbols are built for
 * the distribution's baseline, SSE2. */
#include <xxh_x86dispatch.h>
#endif

/* ---- names ----------------------------------------------------------------
 */

static const struct {
  const char *name;
  size_t size;
} k_kinds[PK_DIGEST_KIND_COUNT] = {
    [PK_DIGEST_XXH3_64] = {"xxh3", 8},
    [PK_DIGEST_XXH3_128] = {"xxh3-128", 16},
    [PK_DIGEST_SHA256] = {"sha256", 32},
    [PK_DIGEST_BLAKE2B_256] = {"blake2b", 32},
};

static int kind_valid(int kind) {
  return kind >= 0 && kind < PK_DIGEST_KIND_COUNT;
}

const char *pk_digest_name(enum pk_digest_kind kind) {
  return kind_valid((int)kind) ? k_kinds[kind].name : "?";
}

size_t pk_digest_size(enum pk_digest_kind kind) {
  return kind_valid((int)kind) ? k_kinds[kind].size : 0;
}

int pk_digest_parse(const char *name, enum pk_digest_kind *out, pk_errmsg *e) {
  if (!name || !out)
    return pk_errmsg_set(e, PK_EINVAL, "no digest given");
  for (int k = 0; k < PK_DIGEST_KIND_COUNT; k++) {
    if (strcasecmp(name, k_kinds[k].name) == 0) {
      *out = (enum pk_digest_kind)k;
      return PK_OK;
    }
  }
  return pk_errmsg_set(e, PK_EINVAL,
                       "unknown digest '%.64s' (expected xxh3, xxh3-128, "
                       "sha256 or blake2b)",
                       name);
}

/* ---- libraries, initialised once per process ------------------------------
 */

static pthread_once_t g_sha_once = PTHREAD_ONCE_INIT;
static EVP_MD *g_sha256; /* NULL if the provider has none */

static void sha_init(void) {
  g_sha256 = EVP_MD_fetch(NULL, "SHA2-256", NULL);
}

static const EVP_MD *sha256_md(void) {
  pthread_once(&g_sha_once, sha_init);
  return g_sha256;
}

static pthread_once_t g_sodium_once = PTHREAD_ONCE_INIT;
static int g_sodium_ok;

static void sodium_init_once(void) {
  g_sodium_ok = sodium_init() >= 0;
}

static int sodium_ready(void) {
  pthread_once(&g_sodium_once, sodium_init_once);
  return g_sodium_ok;
}

/* Libraries may not take NULL even with length 0. */
static const unsigned char k_empty[1];

/* ---- streaming ------------------------------------------------------------
 */

struct pk_digest {
  union {
    XXH3_state_t xxh;
    crypto_generichash_blake2b_state b2;
    EVP_MD_CTX *evp;
  } u;
  enum pk_digest_kind kind;
};

int pk_digest_reset(pk_digest *d) {
  if (!d)
    return PK_EINVAL;
  switch (d->kind) {
  case PK_DIGEST_XXH3_64:
    XXH3_64bits_reset(&d->u.xxh);
    return PK_OK;
  case PK_DIGEST_XXH3_128:
    XXH3_128bits_reset(&d->u.xxh);
    return PK_OK;
  case PK_DIGEST_SHA256:
    return EVP_DigestInit_ex2(d->u.evp, sha256_md(), NULL) == 1 ? PK_OK
                                                                : PK_ENOMEM;
  case PK_DIGEST_BLAKE2B_256:
    crypto_generichash_blake2b_init(&d->u.b2, NULL, 0, 32);
    return PK_OK;
  }
  return PK_EINVAL;
}

int pk_digest_create(enum pk_digest_kind kind, pk_digest **out) {
  if (!kind_valid((int)kind) || !out)
    return PK_EINVAL;
  if (kind == PK_DIGEST_SHA256 && !sha256_md())
    return PK_EUNSUPPORTED;
  if (kind == PK_DIGEST_BLAKE2B_256 && !sodium_ready())
    return PK_EUNSUPPORTED;
  /* The XXH3 and BLAKE2b states want 64-byte alignment; malloc gives 16. */
  size_t align = alignof(pk_digest) > 64 ? alignof(pk_digest) : 64;
  size_t size = (sizeof(pk_digest) + align - 1) / align * align;
  pk_digest *d = aligned_alloc(align, size);
  if (!d)
    return PK_ENOMEM;
  memset(d, 0, sizeof *d);
  d->kind = kind;
  if (kind == PK_DIGEST_SHA256) {
    d->u.evp = EVP_MD_CTX_new();
    if (!d->u.evp) {
      free(d);
      return PK_ENOMEM;
    }
  }
  int r = pk_digest_reset(d);
  if (r != PK_OK) {
    pk_digest_free(d);
    return r;
  }
  *out = d;
  return PK_OK;
}

void pk_digest_free(pk_digest *d) {
  if (!d)
    return;
  if (d->kind == PK_DIGEST_SHA256)
    EVP_MD_CTX_free(d->u.evp);
  free(d);
}

enum pk_digest_kind pk_digest_kind_of(const pk_digest *d) {
  return d->kind;
}

int pk_digest_update(pk_digest *d, const void *data, size_t len) {
  if (!d || (!data && len))
    return PK_EINVAL;
  if (len == 0)
    return PK_OK;
  switch (d->kind) {
  case PK_DIGEST_XXH3_64:
    XXH3_64bits_update(&d->u.xxh, data, len);
    return PK_OK;
  case PK_DIGEST_XXH3_128:
    XXH3_128bits_update(&d->u.xxh, data, len);
    return PK_OK;
  case PK_DIGEST_SHA256:
    return EVP_DigestUpdate(d->u.evp, data, len) == 1 ? PK_OK : PK_EINVAL;
  case PK_DIGEST_BLAKE2B_256:
    crypto_generichash_blake2b_update(&d->u.b2, data, len);
    return PK_OK;
  }
  return PK_EINVAL;
}

static void put_xxh64(uint8_t *out, XXH64_hash_t h) {
  XXH64_canonical_t c;
  XXH64_canonicalFromHash(&c, h);
  memcpy(out, c.digest, sizeof c.digest);
}

static void put_xxh128(uint8_t *out, XXH128_hash_t h) {
  XXH128_canonical_t c;
  XXH128_canonicalFromHash(&c, h);
  memcpy(out, c.digest, sizeof c.digest);
}

int pk_digest_final(pk_digest *d, uint8_t *out, size_t out_cap) {
  if (!d || !out || out_cap < k_kinds[d->kind].size)
    return PK_EINVAL;
  switch (d->kind) {
  case PK_DIGEST_XXH3_64:
    put_xxh64(out, XXH3_64bits_digest(&d->u.xxh));
    break;
  case PK_DIGEST_XXH3_128:
    put_xxh128(out, XXH3_128bits_digest(&d->u.xxh));
    break;
  case PK_DIGEST_SHA256:
    if (EVP_DigestFinal_ex(d->u.evp, out, NULL) != 1)
      return PK_EINVAL;
    break;
  case PK_DIGEST_BLAKE2B_256:
    crypto_generichash_blake2b_final(&d->u.b2, out, 32);
    break;
  }
  return pk_digest_reset(d);
}

/* ---- one-shot -------------------------------------------------------------
 */

int pk_digest_oneshot(enum pk_digest_kind kind, const void *data, size_t len,
                      uint8_t *out, size_t out_cap) {
  if (!kind_valid((int)kind) || !out || out_cap < k_kinds[kind].size ||
      (!data && len))
    return PK_EINVAL;
  if (!data)
    data = k_empty;
  switch (kind) {
  case PK_DIGEST_XXH3_64:
    put_xxh64(out, XXH3_64bits(data, len));
    return PK_OK;
  case PK_DIGEST_XXH3_128:
    put_xxh128(out, XXH3_128bits(data, len));
    return PK_OK;
  case PK_DIGEST_SHA256: {
    const EVP_MD *md = sha256_md();
    if (!md)
      return PK_EUNSUPPORTED;
    return EVP_Digest(data, len, out, NULL, md, NULL) == 1 ? PK_OK : PK_ENOMEM;
  }
  case PK_DIGEST_BLAKE2B_256:
    if (!sodium_ready())
      return PK_EUNSUPPORTED;
    crypto_generichash_blake2b(out, 32, data, len, NULL, 0);
    return PK_OK;
  }
  return PK_EINVAL;
}

int pk_digest_hex(const uint8_t *digest, size_t n, char *buf, size_t cap) {
  static const char hex[] = "0123456789abcdef";
  if (!buf || cap == 0)
    return PK_ELIMIT;
  if (n > (cap - 1) / 2 || (!digest && n)) {
    buf[0] = '\0';
    return PK_ELIMIT;
  }
  for (size_t i = 0; i < n; i++) {
    buf[2 * i] = hex[digest[i] >> 4];
    buf[2 * i + 1] = hex[digest[i] & 15];
  }
  buf[2 * n] = '\0';
  return PK_OK;
}

/* ---- chunk checksums ------------------------------------------------------
 */

uint64_t pk_chunk_checksum(const void *data, size_t len) {
  return XXH3_64bits(data ? data : k_empty, len);
}

uint64_t pk_chunk_checksum_seeded(uint64_t seed, const void *aad,
                                  size_t aad_len, const void *data,
                                  size_t len) {
  if (aad_len == 0)
    return XXH3_64bits_withSeed(data ? data : k_empty, len, seed);
  /* ~600 bytes on the stack: XXH3's streaming state, 64-byte aligned. */
  XXH3_state_t st;
  XXH3_INITSTATE(&st);
  XXH3_64bits_reset_withSeed(&st, seed);
  XXH3_64bits_update(&st, aad, aad_len);
  if (len)
    XXH3_64bits_update(&st, data, len);
  return XXH3_64bits_digest(&st);
}
