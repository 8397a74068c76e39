/*
 * digest.h — hashes for `pika pipe`: whole-file digests and chunk checksums.
 *
 * What it is for
 *   Two jobs. The reader thread feeds every original byte, in order, to one
 *   streaming digest that ends up in the .adapipe end record (FORMAT.md,
 *   "Whole-file digest"). And each unencrypted chunk carries an 8-byte
 *   XXH3-64 checksum (pk_chunk_checksum*), computed by the workers.
 *
 * Kinds (values 1..3 are the .adapipe header's digest byte; never renumber)
 *   xxh3      XXH3-64,  8 bytes. Not a whole-file digest id in the format:
 *             64 bits is for chunk checksums.
 *   xxh3-128  XXH3-128, 16 bytes. The default whole-file digest: tens of
 *             GB/s, catches any accidental difference; not cryptographic.
 *   sha256    SHA-256, 32 bytes, through OpenSSL's EVP interface, whose
 *             assembly uses the CPU's SHA extensions (SHA-NI) when present:
 *             several times faster than a portable C SHA-256 (libsodium's).
 *             Matches `sha256sum`.
 *   blake2b   BLAKE2b with a 32-byte output (BLAKE2b-256, unkeyed), through
 *             libsodium. Matches `b2sum -l 256`. The slowest here: after
 *             sodium_init() libsodium 1.0.18 runs its AVX2 code, which on
 *             this project's AMD EPYC hashes ~0.6 GB/s, half the speed of
 *             its own portable code (used only before sodium_init) and
 *             below b2sum's ~0.9. Fine for headers and keys; for a
 *             whole-file digest prefer xxh3-128 or sha256.
 *   Output bytes are the canonical form: XXH3 values big-endian, as
 *   `xxhsum -H3` / `xxhsum -H2` print them.
 *
 * How it works
 *   A pk_digest is a heap object because OpenSSL's EVP_MD_CTX can only live
 *   on the heap; one lifecycle for every kind keeps callers from caring
 *   which. It is made once per stream and reused (pk_digest_final() resets
 *   it), so a pipeline allocates nothing per file or chunk. The XXH3 and
 *   BLAKE2b states live inside it. The SHA-256 implementation is fetched
 *   from OpenSSL's default provider once per process (an implicit fetch on
 *   every init is OpenSSL 3's known slow path), and libsodium is
 *   initialised once, which lets it pick its SIMD BLAKE2b. XXH3 uses
 *   libxxhash's runtime dispatch (AVX-512/AVX2 when the CPU has them).
 *
 * Thread-safety
 *   Everything but a pk_digest object is thread-safe (one-shot functions,
 *   parse/name/size). A pk_digest belongs to one thread at a time.
 *
 * Errors follow base/error.h: PK_OK or a negative PK_E* code.
 */
#ifndef PIKA_PIPE_DIGEST_H
#define PIKA_PIPE_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

enum pk_digest_kind {
  PK_DIGEST_XXH3_64 = 0,
  PK_DIGEST_XXH3_128 = 1,
  PK_DIGEST_SHA256 = 2,
  PK_DIGEST_BLAKE2B_256 = 3,
};
#define PK_DIGEST_KIND_COUNT 4

/* The largest digest size of any kind, in bytes. */
#define PK_DIGEST_MAX_SIZE 32

/* ---- names ----------------------------------------------------------------
 */

/* "xxh3", "xxh3-128", "sha256", "blake2b"; "?" for an unknown kind. Static. */
const char *pk_digest_name(enum pk_digest_kind kind);

/* Output size in bytes (8, 16, 32, 32); 0 for an unknown kind. */
size_t pk_digest_size(enum pk_digest_kind kind);

/* Parses a name above (any letter case) into *out. Returns PK_OK, or
 * PK_EINVAL with a sentence in *e (if non-NULL) naming the valid ones. */
int pk_digest_parse(const char *name, enum pk_digest_kind *out, pk_errmsg *e);

/* ---- streaming ------------------------------------------------------------
 */

typedef struct pk_digest pk_digest;

/* Creates a digest of `kind`, ready for its first update. Returns PK_OK and
 * sets *out (free with pk_digest_free()); PK_EINVAL for an unknown kind or
 * NULL out; PK_ENOMEM; PK_EUNSUPPORTED if OpenSSL has no SHA-256 (a FIPS
 * or stripped-down configuration) or libsodium cannot initialise. */
int pk_digest_create(enum pk_digest_kind kind, pk_digest **out);

/* Frees it. NULL is a no-op. */
void pk_digest_free(pk_digest *d);

/* The kind it was created with. */
enum pk_digest_kind pk_digest_kind_of(const pk_digest *d);

/* Discards what was fed so far: back to the state after create. */
int pk_digest_reset(pk_digest *d);

/* Feeds data[0..len) (data may be NULL when len is 0). Pieces of any size
 * give the same digest as one piece. Returns PK_OK, or PK_EINVAL. */
int pk_digest_update(pk_digest *d, const void *data, size_t len);

/* Writes the digest of everything fed since create/reset/the last final
 * to out[0..pk_digest_size(kind)), then resets d for the next stream.
 * Returns PK_OK, or PK_EINVAL if out_cap is smaller than the digest size
 * (nothing written, d unchanged). */
int pk_digest_final(pk_digest *d, uint8_t *out, size_t out_cap);

/* ---- one-shot -------------------------------------------------------------
 */

/* The digest of data[0..len) into out[0..pk_digest_size(kind)). Allocates
 * nothing except for sha256 (OpenSSL makes and frees a context inside).
 * Returns PK_OK; PK_EINVAL for an unknown kind, NULL out, or out_cap too
 * small; PK_ENOMEM; PK_EUNSUPPORTED as for pk_digest_create(). */
int pk_digest_oneshot(enum pk_digest_kind kind, const void *data, size_t len,
                      uint8_t *out, size_t out_cap);

/* Writes `n` digest bytes as lower-case hex plus a NUL into buf (2n + 1
 * bytes needed). Returns PK_OK, or PK_ELIMIT if cap is too small (buf then
 * holds ""). */
int pk_digest_hex(const uint8_t *digest, size_t n, char *buf, size_t cap);

/* ---- chunk checksums ------------------------------------------------------
 */

/* XXH3-64 of data[0..len) with seed 0: the per-chunk integrity check when
 * nothing is encrypted. A number, not bytes: the container decides the byte
 * order it stores (FORMAT.md: little-endian). Never fails; thread-safe. */
uint64_t pk_chunk_checksum(const void *data, size_t len);

/* XXH3-64 with `seed` over aad[0..aad_len) followed by data[0..len), without
 * copying them together: the record checksum of FORMAT.md (seeded with the
 * header tag, over the associated data, then the payload). Equal to
 * XXH3-64-with-seed of the concatenation; with seed 0 and no aad, equal to
 * pk_chunk_checksum(data, len). Never fails; thread-safe. */
uint64_t pk_chunk_checksum_seeded(uint64_t seed, const void *aad,
                                  size_t aad_len, const void *data, size_t len);

#endif /* PIKA_PIPE_DIGEST_H */
