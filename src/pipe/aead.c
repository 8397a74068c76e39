/* aead.c — one-chunk AEAD over OpenSSL EVP or libsodium; see aead.h. */
#include "pipe/aead.h"

#include <limits.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <sodium.h>

/* OpenSSL takes int lengths; longer inputs go through in pieces. A multiple
 * of 64 keeps the pieces on ChaCha/AES block boundaries (not required by
 * EVP, but it keeps the fast bulk paths busy). */
#define PK__EVP_PIECE ((size_t)1 << 30)

struct pk_aead {
  /* Key material first: the struct lives in sodium_malloc() memory. */
  crypto_aead_aes256gcm_state aes; /* libsodium AES-GCM key schedule */
  uint8_t key[PK_AEAD_KEY_LEN];
  pk_aead_kind kind;
  pk_aead_impl impl;
  EVP_CIPHER *cipher;  /* OpenSSL: fetched once per context */
  EVP_CIPHER_CTX *evp; /* OpenSSL: key schedule set at create */
};

static const char *const kind_names[PK_AEAD__KIND_COUNT] = {
    [PK_AEAD_AES256GCM] = "aes256gcm",
    [PK_AEAD_CHACHA20POLY1305] = "chacha20poly1305",
    [PK_AEAD_XCHACHA20POLY1305] = "xchacha20poly1305",
};

const char *pk_aead_name(pk_aead_kind kind) {
  if ((unsigned)kind >= PK_AEAD__KIND_COUNT)
    return "?";
  return kind_names[kind];
}

size_t pk_aead_nonce_len(pk_aead_kind kind) {
  switch (kind) {
  case PK_AEAD_AES256GCM:
  case PK_AEAD_CHACHA20POLY1305:
    return 12;
  case PK_AEAD_XCHACHA20POLY1305:
    return 24;
  default:
    return 0;
  }
}

int pk_aead_parse(const char *name, pk_aead_kind *out, pk_errmsg *e) {
  if (!name || !out)
    return pk_errmsg_set(e, PK_EINVAL, "no cipher name given");
  for (int k = 0; k < PK_AEAD__KIND_COUNT; k++) {
    if (strcmp(name, kind_names[k]) == 0) {
      *out = (pk_aead_kind)k;
      return PK_OK;
    }
  }
  return pk_errmsg_set(e, PK_EINVAL,
                       "unknown cipher '%s'; expected aes256gcm, "
                       "chacha20poly1305 or xchacha20poly1305",
                       name);
}

static pk_aead_impl resolve(pk_aead_impl impl) {
  /* Measured by bench/pipe/bench_crypto.c: OpenSSL is faster for every
   * kind on x86-64 with AES-NI/AVX-512 (figures in aead.h). */
  return impl == PK_AEAD_IMPL_AUTO ? PK_AEAD_IMPL_OPENSSL : impl;
}

const char *pk_aead_impl_name(pk_aead_impl impl) {
  return resolve(impl) == PK_AEAD_IMPL_OPENSSL ? "openssl" : "libsodium";
}

pk_aead_kind pk_aead_kind_of(const pk_aead *ctx) {
  return ctx->kind;
}

pk_aead_impl pk_aead_impl_of(const pk_aead *ctx) {
  return ctx->impl;
}

/* ---- lifecycle ------------------------------------------------------------
 */

static int evp_setup(pk_aead *a) {
  /* The ChaCha kinds share one EVP cipher; XChaCha re-keys it per call. */
  const char *alg =
      a->kind == PK_AEAD_AES256GCM ? "AES-256-GCM" : "ChaCha20-Poly1305";
  a->cipher = EVP_CIPHER_fetch(NULL, alg, NULL);
  if (!a->cipher)
    return PK_EUNSUPPORTED;
  a->evp = EVP_CIPHER_CTX_new();
  if (!a->evp)
    return PK_ENOMEM;
  /* For the 12-byte-nonce kinds the key schedule is built once, here; a
   * later init with key == NULL keeps it and only sets the nonce. */
  const uint8_t *key = a->kind == PK_AEAD_XCHACHA20POLY1305 ? NULL : a->key;
  if (EVP_CipherInit_ex(a->evp, a->cipher, NULL, key, NULL, 1) != 1)
    return PK_ESYS;
  return PK_OK;
}

/* Creates a context with a concrete implementation (not AUTO). */
static int create_one(pk_aead_kind kind, pk_aead_impl impl,
                      const uint8_t key[PK_AEAD_KEY_LEN], pk_aead **out) {
  if (impl == PK_AEAD_IMPL_SODIUM && kind == PK_AEAD_AES256GCM &&
      !crypto_aead_aes256gcm_is_available())
    return PK_EUNSUPPORTED;

  /* sodium_malloc places the block against a guard page and mlocks it
   * (best effort); a multiple of 64 bytes keeps the AES state aligned. */
  size_t size = (sizeof(pk_aead) + 63) & ~(size_t)63;
  pk_aead *a = sodium_malloc(size);
  if (!a)
    return PK_ENOMEM;
  memset(a, 0, size);
  memcpy(a->key, key, PK_AEAD_KEY_LEN);
  a->kind = kind;
  a->impl = impl;

  int rc = PK_OK;
  if (impl == PK_AEAD_IMPL_OPENSSL)
    rc = evp_setup(a);
  else if (kind == PK_AEAD_AES256GCM)
    crypto_aead_aes256gcm_beforenm(&a->aes, a->key);
  if (rc != PK_OK) {
    ERR_clear_error();
    pk_aead_free(a);
    return rc;
  }
  *out = a;
  return PK_OK;
}

int pk_aead_create_impl(pk_aead_kind kind, pk_aead_impl impl,
                        const uint8_t key[PK_AEAD_KEY_LEN], pk_aead **out) {
  if (!key || !out || (unsigned)kind >= PK_AEAD__KIND_COUNT)
    return PK_EINVAL;
  if (impl != PK_AEAD_IMPL_AUTO && impl != PK_AEAD_IMPL_OPENSSL &&
      impl != PK_AEAD_IMPL_SODIUM)
    return PK_EINVAL;
  /* Idempotent and thread-safe; needed before sodium_malloc() and for the
   * CPU feature detection that picks libsodium's fast paths. */
  if (sodium_init() < 0)
    return PK_ESYS;
  int rc = create_one(kind, resolve(impl), key, out);
  /* An OpenSSL configured without the cipher (a FIPS-only provider has no
   * ChaCha20-Poly1305) still leaves us libsodium's. */
  if (rc == PK_EUNSUPPORTED && impl == PK_AEAD_IMPL_AUTO)
    rc = create_one(kind, PK_AEAD_IMPL_SODIUM, key, out);
  return rc;
}

int pk_aead_create(pk_aead_kind kind, const uint8_t key[PK_AEAD_KEY_LEN],
                   pk_aead **out) {
  return pk_aead_create_impl(kind, PK_AEAD_IMPL_AUTO, key, out);
}

void pk_aead_free(pk_aead *ctx) {
  if (!ctx)
    return;
  /* EVP_CIPHER_CTX_free() cleanses OpenSSL's copy of the key schedule. */
  EVP_CIPHER_CTX_free(ctx->evp);
  EVP_CIPHER_free(ctx->cipher);
  /* sodium_free() zeroes the whole block (key, AES state) before unmapping
   * it; sodium_memzero first makes that explicit and survives a future
   * switch to plain malloc. */
  sodium_memzero(ctx, sizeof *ctx);
  sodium_free(ctx);
}

/* ---- OpenSSL --------------------------------------------------------------
 */

static int evp_update(EVP_CIPHER_CTX *c, uint8_t *out, const uint8_t *in,
                      size_t len) {
  while (len > 0) {
    size_t n = len < PK__EVP_PIECE ? len : PK__EVP_PIECE;
    int outl = 0;
    if (EVP_CipherUpdate(c, out, &outl, in, (int)n) != 1)
      return PK_ESYS;
    /* AAD updates (out == NULL) report the AAD length; data updates of a
     * stream mode produce exactly their input. */
    in += n;
    if (out)
      out += n;
    len -= n;
  }
  return PK_OK;
}

/* One seal (enc = 1, tag written) or open (enc = 0, tag checked). */
static int evp_run(pk_aead *a, int enc, const uint8_t *nonce,
                   const uint8_t *aad, size_t aad_len, const uint8_t *in,
                   size_t len, uint8_t *out, uint8_t tag[PK_AEAD_TAG_LEN]) {
  uint8_t subkey[32], iv[12], fin[32];
  const uint8_t *key = NULL;
  if (a->kind == PK_AEAD_XCHACHA20POLY1305) {
    crypto_core_hchacha20(subkey, nonce, a->key, NULL);
    memset(iv, 0, 4);
    memcpy(iv + 4, nonce + 16, 8);
    key = subkey;
  } else {
    memcpy(iv, nonce, 12);
  }
  int rc = PK_ESYS, outl = 0;
  if (EVP_CipherInit_ex(a->evp, NULL, NULL, key, iv, enc) != 1)
    goto done;
  if (key)
    sodium_memzero(subkey, sizeof subkey);
  if ((rc = evp_update(a->evp, NULL, aad, aad_len)) != PK_OK)
    goto done;
  if ((rc = evp_update(a->evp, out, in, len)) != PK_OK)
    goto done;
  if (!enc && EVP_CIPHER_CTX_ctrl(a->evp, EVP_CTRL_AEAD_SET_TAG,
                                  PK_AEAD_TAG_LEN, tag) != 1) {
    rc = PK_ESYS;
    goto done;
  }
  /* Final writes nothing for these stream modes; fin is a safe target. */
  if (EVP_CipherFinal_ex(a->evp, fin, &outl) != 1) {
    rc = enc ? PK_ESYS : PK_EAUTH;
    goto done;
  }
  if (enc && EVP_CIPHER_CTX_ctrl(a->evp, EVP_CTRL_AEAD_GET_TAG, PK_AEAD_TAG_LEN,
                                 tag) != 1) {
    rc = PK_ESYS;
    goto done;
  }
  rc = PK_OK;
done:
  if (key)
    sodium_memzero(subkey, sizeof subkey);
  if (rc != PK_OK)
    ERR_clear_error(); /* leave no stale errors in this thread's queue */
  return rc;
}

/* ---- libsodium ------------------------------------------------------------
 */

static int sodium_seal(pk_aead *a, const uint8_t *nonce, const uint8_t *aad,
                       size_t aad_len, const uint8_t *in, size_t len,
                       uint8_t *out, uint8_t *tag) {
  int r;
  switch (a->kind) {
  case PK_AEAD_AES256GCM:
    r = crypto_aead_aes256gcm_encrypt_detached_afternm(
        out, tag, NULL, in, len, aad, aad_len, NULL, nonce, &a->aes);
    break;
  case PK_AEAD_CHACHA20POLY1305:
    r = crypto_aead_chacha20poly1305_ietf_encrypt_detached(
        out, tag, NULL, in, len, aad, aad_len, NULL, nonce, a->key);
    break;
  default:
    r = crypto_aead_xchacha20poly1305_ietf_encrypt_detached(
        out, tag, NULL, in, len, aad, aad_len, NULL, nonce, a->key);
    break;
  }
  return r == 0 ? PK_OK : PK_ESYS;
}

static int sodium_open(pk_aead *a, const uint8_t *nonce, const uint8_t *aad,
                       size_t aad_len, const uint8_t *in, size_t len,
                       uint8_t *out, const uint8_t *tag) {
  int r;
  switch (a->kind) {
  case PK_AEAD_AES256GCM:
    r = crypto_aead_aes256gcm_decrypt_detached_afternm(
        out, NULL, in, len, tag, aad, aad_len, nonce, &a->aes);
    break;
  case PK_AEAD_CHACHA20POLY1305:
    r = crypto_aead_chacha20poly1305_ietf_decrypt_detached(
        out, NULL, in, len, tag, aad, aad_len, nonce, a->key);
    break;
  default:
    r = crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
        out, NULL, in, len, tag, aad, aad_len, nonce, a->key);
    break;
  }
  return r == 0 ? PK_OK : PK_EAUTH;
}

/* ---- one chunk ------------------------------------------------------------
 */

/* libsodium rejects a NULL message pointer on some paths even for length 0;
 * a static byte stands in. */
static const uint8_t empty[1];

int pk_aead_seal(pk_aead *ctx, const uint8_t *nonce, const uint8_t *aad,
                 size_t aad_len, const uint8_t *in, size_t in_len,
                 uint8_t *out) {
  if (!ctx || !nonce || !out || (!in && in_len) || (!aad && aad_len))
    return PK_EINVAL;
  if ((uint64_t)in_len > PK_AEAD_MAX_LEN)
    return PK_ELIMIT;
  if (!in)
    in = empty;
  if (!aad)
    aad = empty;
  uint8_t tag[PK_AEAD_TAG_LEN];
  int rc = ctx->impl == PK_AEAD_IMPL_OPENSSL
               ? evp_run(ctx, 1, nonce, aad, aad_len, in, in_len, out, tag)
               : sodium_seal(ctx, nonce, aad, aad_len, in, in_len, out, tag);
  if (rc != PK_OK) {
    /* Never leave a half-encrypted buffer that could pass for output. */
    sodium_memzero(out, in_len + PK_AEAD_TAG_LEN);
    return rc;
  }
  /* The tag goes after the ciphertext; writing it last keeps in == out
   * safe (the input's tail is consumed before the tag overwrites it). */
  memcpy(out + in_len, tag, PK_AEAD_TAG_LEN);
  return PK_OK;
}

int pk_aead_open(pk_aead *ctx, const uint8_t *nonce, const uint8_t *aad,
                 size_t aad_len, const uint8_t *in, size_t in_len,
                 uint8_t *out) {
  if (!ctx || !nonce || !in || (!aad && aad_len))
    return PK_EINVAL;
  if (in_len < PK_AEAD_TAG_LEN)
    return PK_ECORRUPT;
  size_t len = in_len - PK_AEAD_TAG_LEN;
  if (!out && len)
    return PK_EINVAL;
  if ((uint64_t)len > PK_AEAD_MAX_LEN)
    return PK_ELIMIT;
  uint8_t dummy[1];
  if (!out)
    out = dummy;
  if (!aad)
    aad = empty;
  /* A copy of the tag: with out == in it stays intact anyway (it lies past
   * the plaintext), but EVP's ctrl wants a non-const pointer. */
  uint8_t tag[PK_AEAD_TAG_LEN];
  memcpy(tag, in + len, PK_AEAD_TAG_LEN);
  int rc = ctx->impl == PK_AEAD_IMPL_OPENSSL
               ? evp_run(ctx, 0, nonce, aad, aad_len, in, len, out, tag)
               : sodium_open(ctx, nonce, aad, aad_len, in, len, out, tag);
  if (rc != PK_OK && len)
    sodium_memzero(out, len); /* never release unauthenticated plaintext */
  return rc;
}
