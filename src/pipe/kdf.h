/*
 * kdf.h — keys for `pika pipe`: Argon2id from a password, a key check value,
 * sub-keys, key files, salts and random nonces.
 *
 * The key hierarchy of an archive
 *   master key (32 bytes) = Argon2id(password, salt, params)    with -p
 *                         = the 32 bytes of a key file           with -k
 *   data key   = pk_kdf_subkey(master, "pk-data")    seals every chunk
 *   header key = pk_kdf_subkey(master, "pk-header")  MACs the header
 *   key check  = pk_kdf_key_check(master)            stored in the header
 *   The salt, the Argon2id parameters and the key check are stored in the
 *   archive header in the clear. Opening an archive re-derives the master
 *   key and compares key checks first, so that a wrong password is reported
 *   as PK_EAUTH ("wrong password or key") before any chunk is touched;
 *   a chunk whose tag then fails under a key that passed the check can be
 *   reported as damage or tampering (PK_ECORRUPT), not as a bad password.
 *
 * Argon2id (RFC 9106) via libsodium's crypto_pwhash(ALG_ARGON2ID13)
 *   Defaults t = 3 passes, m = 64 MiB, p = 1: RFC 9106's second recommended
 *   setting ("if much less memory is available": t=3, m=64 MiB) and above
 *   OWASP's floor (m=19 MiB, t=2). It costs about 0.1-0.2 s on one core of
 *   a current x86-64 server (bench/pipe/bench_crypto.c prints the figure):
 *   unnoticeable once per archive, yet each password guess costs an
 *   attacker the same 64 MiB and time. libsodium computes Argon2id with
 *   one lane only (p = 1): an archive whose header asks for p > 1 is
 *   refused with PK_EUNSUPPORTED rather than silently computed differently.
 *
 * Caps (pk_kdf_params_validate), because the parameters come from an
 *   archive header that an attacker may have written: m in [8 MiB, 1 GiB],
 *   t in [1, 10]. Beyond them PK_ELIMIT ("the archive asks for 4096 MiB;
 *   the limit is 1024 MiB"): a hostile header cannot make us allocate
 *   gigabytes or spin for hours. Zeros are not Argon2id parameters at all,
 *   only damage: PK_ECORRUPT.
 *
 * Key check and sub-keys: keyed BLAKE2b with distinct personalisations
 *   key check = BLAKE2b-128(key = master, personal = "pika-keycheck-v1",
 *                           message = "")
 *   sub-key   = BLAKE2b-256(key = master, personal = "pika-subkey-v1",
 *                           message = context string)
 *   Keyed BLAKE2b is a PRF, so outputs under different personalisations or
 *   contexts are independent: the key check, stored in the clear, says
 *   nothing about the data key or the header key, and vice versa. We use
 *   BLAKE2b rather than crypto_kdf_derive_from_key because the latter wants
 *   an exactly-8-byte context and a numeric id; a readable context string
 *   ("pk-data") is harder to get wrong. The key check is 128 bits: one
 *   wrong password in 2^128 passes it, and knowing it helps an attacker no
 *   more than any sealed chunk does (both confirm a guess; Argon2id is what
 *   makes guesses expensive).
 *
 * Key files (pk_key_file_read)
 *   Accepted: exactly 32 raw bytes; or exactly 64 hex digits (either case),
 *   optionally followed by one "\n" or "\r\n" (what `openssl rand -hex 32 >
 *   key` or an editor writes). Nothing else: no whitespace inside, no
 *   "0x", no base64, so that a file is never half-understood.
 *
 * Randomness comes from randombytes_buf() (getrandom(2) on Linux).
 *
 * Thread-safety: every function is thread-safe (no shared state beyond
 * libsodium's one-time initialisation, itself thread-safe). Secrets this
 * module holds in temporaries are wiped with sodium_memzero() before
 * return; the caller owns and should wipe the keys it receives.
 *
 * Errors follow base/error.h: PK_OK or a negative PK_E* code; functions
 * that take a pk_errmsg fill it (if non-NULL) with a sentence for the user.
 */
#ifndef PIKA_PIPE_KDF_H
#define PIKA_PIPE_KDF_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#define PK_KDF_KEY_LEN 32
#define PK_KDF_SALT_LEN 16
#define PK_KDF_CHECK_LEN 16

/* Defaults and caps, in the units of pk_kdf_params. */
#define PK_KDF_T_DEFAULT 3u
#define PK_KDF_M_DEFAULT_KIB (64u * 1024u) /* 64 MiB */
#define PK_KDF_P_DEFAULT 1u
#define PK_KDF_T_MIN 1u
#define PK_KDF_T_MAX 10u
#define PK_KDF_M_MIN_KIB (8u * 1024u)    /* 8 MiB */
#define PK_KDF_M_MAX_KIB (1024u * 1024u) /* 1 GiB */

/* Longest context string pk_kdf_subkey() accepts, in bytes. */
#define PK_KDF_CONTEXT_MAX 64

typedef struct pk_kdf_params {
  uint32_t t_cost;      /* passes over memory (Argon2 "iterations") */
  uint32_t m_cost_kib;  /* memory in KiB */
  uint32_t parallelism; /* lanes; must be 1 (libsodium's Argon2id) */
} pk_kdf_params;

/* ---- password -> key ------------------------------------------------------
 */

/* The defaults above: {3, 65536, 1}. */
pk_kdf_params pk_kdf_params_default(void);

/* Checks parameters (typically read from an archive header) against the
 * caps. Returns PK_OK; PK_ECORRUPT for a zero field; PK_ELIMIT for t or m
 * outside [PK_KDF_*_MIN, PK_KDF_*_MAX]; PK_EUNSUPPORTED for parallelism
 * > 1; PK_EINVAL for p == NULL. Fills e with what was asked and the limit. */
int pk_kdf_params_validate(const pk_kdf_params *p, pk_errmsg *e);

/* Derives a PK_KDF_KEY_LEN-byte key from password[0..pw_len) (any bytes;
 * may be empty) and a PK_KDF_SALT_LEN-byte salt with Argon2id v1.3. Same
 * inputs, same key. Validates p first (errors as above). Blocks the
 * calling thread for the whole computation (about 0.1-0.2 s at the
 * defaults) and allocates m_cost_kib KiB for its duration. Returns PK_OK;
 * PK_ENOMEM if that memory cannot be had; PK_EINVAL for NULL pointers;
 * PK_ESYS if libsodium cannot initialise. key is wiped on failure. */
int pk_kdf_argon2id(const char *password, size_t pw_len,
                    const uint8_t salt[PK_KDF_SALT_LEN], const pk_kdf_params *p,
                    uint8_t key[PK_KDF_KEY_LEN], pk_errmsg *e);

/* ---- key check and sub-keys -----------------------------------------------
 */

/* Writes the PK_KDF_CHECK_LEN-byte key check value of `key` (see above).
 * Returns PK_OK; PK_EINVAL for NULL pointers. */
int pk_kdf_key_check(const uint8_t key[PK_KDF_KEY_LEN],
                     uint8_t out[PK_KDF_CHECK_LEN]);

/* Recomputes the key check of `key` and compares it with `expected` (from
 * an archive header) in constant time (sodium_memcmp). Returns PK_OK when
 * they match; PK_EAUTH when not (wrong password or key); PK_EINVAL for
 * NULL pointers. */
int pk_kdf_key_check_verify(const uint8_t key[PK_KDF_KEY_LEN],
                            const uint8_t expected[PK_KDF_CHECK_LEN]);

/* Derives a 32-byte sub-key of `master` for `context`, a NUL-terminated
 * string of 1..PK_KDF_CONTEXT_MAX bytes naming its use ("pk-data",
 * "pk-header"). Distinct contexts give independent keys; the same context
 * always the same key. Returns PK_OK; PK_EINVAL for NULL pointers or a
 * context that is empty or too long. out may not overlap master. */
int pk_kdf_subkey(const uint8_t master[PK_KDF_KEY_LEN], const char *context,
                  uint8_t out[PK_KDF_KEY_LEN]);

/* ---- key files ------------------------------------------------------------
 */

/* Reads a key file (formats above) into key. Blocks on file I/O. Returns
 * PK_OK; PK_ENOENT (no such file), PK_EPERM (not readable), PK_EIO (read
 * failed), PK_EINVAL (a directory, or the wrong size or contents: "key file
 * k.bin is 31 bytes; expected 32 raw bytes or 64 hex digits"). Messages
 * never quote file contents. The read buffer is wiped; key is wiped on
 * failure. Does not check the file's permissions; the caller may warn
 * about a group- or world-readable key file. */
int pk_key_file_read(const char *path, uint8_t key[PK_KDF_KEY_LEN],
                     pk_errmsg *e);

/* ---- randomness -----------------------------------------------------------
 */

/* Fills out[0..len) with cryptographically secure random bytes (for salts,
 * archive ids, XChaCha20 nonces, fresh keys). Returns PK_OK; PK_EINVAL
 * for out == NULL with len > 0; PK_ESYS if libsodium cannot initialise. */
int pk_random_bytes(void *out, size_t len);

/* A fresh random PK_KDF_SALT_LEN-byte salt, for one archive. As above. */
int pk_salt_random(uint8_t out[PK_KDF_SALT_LEN]);

#endif /* PIKA_PIPE_KDF_H */
