/*
 * aead.h — authenticated encryption of one chunk (AES-256-GCM,
 * ChaCha20-Poly1305, XChaCha20-Poly1305).
 *
 * What it is for
 *   `pika pipe` encrypts each chunk of its input independently, so that the
 *   workers can seal chunks in parallel and a reader can open (and verify)
 *   any chunk alone. One chunk is sealed with one call: ciphertext || tag.
 *   The engine binds each chunk to its place in the archive through the
 *   associated data (AAD: archive id, chunk index, "last chunk" flag), so
 *   that chunks cannot be reordered, dropped or spliced between archives
 *   without pk_aead_open() failing.
 *
 * Algorithms
 *   kind                     key  nonce  tag   name
 *   PK_AEAD_AES256GCM         32     12   16   "aes256gcm"
 *   PK_AEAD_CHACHA20POLY1305  32     12   16   "chacha20poly1305"  (RFC 8439)
 *   PK_AEAD_XCHACHA20POLY1305 32     24   16   "xchacha20poly1305"
 *   XChaCha20-Poly1305 is draft-irtf-cfrg-xchacha: subkey =
 *   HChaCha20(key, nonce[0..16)), then RFC 8439 ChaCha20-Poly1305 under the
 *   subkey with nonce 00000000 || nonce[16..24). Its 192-bit nonce may be
 *   chosen at random for every chunk with no practical risk of a repeat;
 *   the 96-bit nonces of the other two must come from a counter (e.g. the
 *   chunk index) under a key used for one archive only.
 *
 * Which implementation, and why
 *   Both OpenSSL 3.0 (EVP) and libsodium 1.0.18 implement all three (OpenSSL
 *   has no XChaCha20, so for it we compute HChaCha20 with libsodium's
 *   crypto_core_hchacha20() and run OpenSSL's ChaCha20-Poly1305 under the
 *   subkey: the construction above, bit-for-bit what libsodium's
 *   crypto_aead_xchacha20poly1305_ietf_* computes; the tests check both ways).
 *   bench/pipe/bench_crypto.c measures both at 1 MiB chunks; on the
 *   development machine (AMD EPYC, AES-NI, VAES, VPCLMULQDQ, AVX-512; one
 *   thread, best of 5) OpenSSL won every kind, sealing and opening:
 *     aes256gcm          OpenSSL ~4.7 GB/s, libsodium ~1.7-2.0 GB/s.
 *                        OpenSSL 3.0 runs its "stitched" AES-NI + PCLMULQDQ
 *                        GCM (CTR and GHASH interleaved in AVX code); it
 *                        has no VAES/AVX-512 GCM yet — masking those CPU
 *                        bits with OPENSSL_ia32cap leaves it at 4.7 GB/s.
 *                        libsodium 1.0.18's AES-NI code is plainer.
 *     chacha20poly1305   OpenSSL ~4.2 GB/s, libsodium ~0.9-1.1 GB/s.
 *                        OpenSSL uses AVX-512 ChaCha20 and Poly1305
 *                        (masking AVX-512 halves it to ~2.1 GB/s); libsodium
 *                        1.0.18 stops at AVX2 ChaCha20 and SSE2 Poly1305.
 *     xchacha20poly1305  the same as chacha20poly1305 (~4.2 vs ~1.0-1.2):
 *                        one HChaCha20 block per chunk is noise at 1 MiB.
 *   So PK_AEAD_IMPL_AUTO picks OpenSSL for all three; libsodium stays
 *   selectable (pk_aead_create_impl()) for the benchmark and for the
 *   cross-checks in the tests. Re-run the benchmark before changing this.
 *
 * How it works
 *   A pk_aead is a per-worker context: it holds the key (in memory from
 *   sodium_malloc(): guard pages, mlock'ed where RLIMIT_MEMLOCK allows,
 *   excluded from core dumps, wiped on free) and one EVP_CIPHER_CTX whose
 *   key schedule is set up once in pk_aead_create(). A seal or open then
 *   only sets the nonce and runs; nothing is allocated per chunk. For
 *   XChaCha20 the OpenSSL context is re-keyed per chunk with the HChaCha20
 *   subkey, which costs one ChaCha20 block (ChaCha has no key schedule), and
 *   the subkey is wiped before return.
 *
 * Never releasing unauthenticated plaintext
 *   OpenSSL decrypts while it authenticates, so plaintext is written to
 *   `out` before the tag is known to be good. pk_aead_open() therefore
 *   wipes the whole output region when the tag does not verify: the caller
 *   sees PK_EAUTH and zeros, never unauthenticated bytes.
 *
 * In place
 *   out == in is supported by seal and open (OpenSSL and libsodium both
 *   allow exact aliasing). Any other overlap is undefined. Seal in place
 *   needs a buffer of in_len + PK_AEAD_TAG_LEN bytes: the tag is appended.
 *   A failed open in place wipes the ciphertext it overwrote.
 *
 * Thread-safety
 *   A pk_aead is not thread-safe: one per worker. It holds no thread-local
 *   state, so it may move between threads with a happens-before edge (a
 *   channel hand-off, a join). Different contexts, even under the same key,
 *   may be used concurrently. None of the functions block.
 *
 * Errors follow base/error.h: PK_OK or a negative PK_E* code.
 */
#ifndef PIKA_PIPE_AEAD_H
#define PIKA_PIPE_AEAD_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#define PK_AEAD_KEY_LEN 32
#define PK_AEAD_TAG_LEN 16
/* The longest nonce of any kind (XChaCha20's); see pk_aead_nonce_len(). */
#define PK_AEAD_NONCE_MAX 24
/* The most plaintext one call accepts: GCM's limit per (key, nonce),
 * 2^36 - 32 bytes (NIST SP 800-38D); the ChaCha kinds allow more, but one
 * limit for all keeps the container format simple. */
#define PK_AEAD_MAX_LEN (((uint64_t)1 << 36) - 32)

typedef enum pk_aead_kind {
  PK_AEAD_AES256GCM,
  PK_AEAD_CHACHA20POLY1305,
  PK_AEAD_XCHACHA20POLY1305,
  PK_AEAD__KIND_COUNT
} pk_aead_kind;

typedef enum pk_aead_impl {
  PK_AEAD_IMPL_AUTO,    /* the faster one, measured: OpenSSL (see above) */
  PK_AEAD_IMPL_OPENSSL, /* OpenSSL EVP (+ libsodium HChaCha20 for XChaCha) */
  PK_AEAD_IMPL_SODIUM   /* libsodium crypto_aead_* */
} pk_aead_impl;

typedef struct pk_aead pk_aead;

/* ---- algorithms -----------------------------------------------------------
 */

/* The name of `kind` ("aes256gcm", ...); "?" for an invalid kind. Static. */
const char *pk_aead_name(pk_aead_kind kind);

/* Nonce length in bytes for `kind`: 12, 12 or 24; 0 for an invalid kind. */
size_t pk_aead_nonce_len(pk_aead_kind kind);

/* Parses a name as written by pk_aead_name() (exact, lower case). Returns
 * PK_OK and sets *out; PK_EINVAL with a message listing the valid names
 * (e may be NULL). */
int pk_aead_parse(const char *name, pk_aead_kind *out, pk_errmsg *e);

/* "openssl" or "libsodium" (AUTO is resolved first); static storage. */
const char *pk_aead_impl_name(pk_aead_impl impl);

/* ---- lifecycle ------------------------------------------------------------
 */

/* Creates a context for `kind` under the PK_AEAD_KEY_LEN-byte `key`, with
 * the implementation PK_AEAD_IMPL_AUTO chooses (OpenSSL; libsodium if the
 * OpenSSL in use lacks the algorithm, e.g. a FIPS-only configuration
 * without ChaCha20). The key is copied (the caller may wipe its copy at
 * once). Returns PK_OK and sets *out (free with pk_aead_free());
 * PK_EINVAL for a NULL argument or an invalid kind; PK_ENOMEM;
 * PK_EUNSUPPORTED if no library can do it (for a forced implementation:
 * that one lacks it, e.g. libsodium's AES-GCM on a CPU without AES-NI);
 * PK_ESYS if libsodium cannot initialise or OpenSSL fails to set up. */
int pk_aead_create(pk_aead_kind kind, const uint8_t key[PK_AEAD_KEY_LEN],
                   pk_aead **out);

/* As pk_aead_create(), forcing an implementation (benchmarks, tests). */
int pk_aead_create_impl(pk_aead_kind kind, pk_aead_impl impl,
                        const uint8_t key[PK_AEAD_KEY_LEN], pk_aead **out);

/* Wipes the key and every derived state, then frees. NULL is a no-op. */
void pk_aead_free(pk_aead *ctx);

/* The kind and the implementation (never AUTO) of a context. */
pk_aead_kind pk_aead_kind_of(const pk_aead *ctx);
pk_aead_impl pk_aead_impl_of(const pk_aead *ctx);

/* ---- one chunk ------------------------------------------------------------
 */

/* Encrypts in[0..in_len) and authenticates it together with
 * aad[0..aad_len), under `nonce` (pk_aead_nonce_len() bytes; never reuse a
 * nonce under one key). Writes in_len bytes of ciphertext then the
 * PK_AEAD_TAG_LEN-byte tag: out must hold in_len + PK_AEAD_TAG_LEN bytes.
 * out == in is allowed (see "In place"). aad may be NULL when aad_len is 0;
 * in may be NULL when in_len is 0. Returns PK_OK; PK_EINVAL for a NULL
 * ctx/nonce/out; PK_ELIMIT when in_len > PK_AEAD_MAX_LEN; PK_ESYS if the
 * library fails unexpectedly (out is then wiped). */
int pk_aead_seal(pk_aead *ctx, const uint8_t *nonce, const uint8_t *aad,
                 size_t aad_len, const uint8_t *in, size_t in_len,
                 uint8_t *out);

/* Verifies and decrypts in[0..in_len), which is ciphertext || tag as
 * pk_aead_seal() wrote it, with the same nonce and aad. Writes
 * in_len - PK_AEAD_TAG_LEN bytes of plaintext to out (out may be NULL when
 * that is 0; out == in is allowed). Returns PK_OK; PK_EAUTH when the tag
 * does not verify (wrong key, or any change to ciphertext, tag, nonce or
 * aad) — out[0..in_len - 16) is then all zeros; PK_ECORRUPT when in_len <
 * PK_AEAD_TAG_LEN (no room for a tag); PK_EINVAL, PK_ELIMIT, PK_ESYS as
 * for seal. */
int pk_aead_open(pk_aead *ctx, const uint8_t *nonce, const uint8_t *aad,
                 size_t aad_len, const uint8_t *in, size_t in_len,
                 uint8_t *out);

#endif /* PIKA_PIPE_AEAD_H */
