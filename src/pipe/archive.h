/*
 * archive.h — everything about an .adapipe archive that needs its keys:
 * building a header for a new archive, deriving and checking keys, and the
 * header and index tags (docs/FORMAT.md, "Keys and tags").
 *
 * Key schedule: master = argon2id(password, salt) or, with a key file,
 * BLAKE2b(key file, "pk-file-" ‖ salt); key_check = pk_kdf_key_check(master);
 * data and header keys are sub-keys of master bound to the archive's
 * file_id. Salt and file_id are random per archive, so no two archives share
 * data keys and a record's position can serve as its nonce.
 *
 * pk_archive_keys hold secrets: wipe them with pk_archive_keys_wipe().
 */
#ifndef PIKA_PIPE_ARCHIVE_H
#define PIKA_PIPE_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "pipe/format.h"
#include "pipe/kdf.h"
#include "pipe/spec.h"

typedef enum pk_secret_kind {
  PK_SECRET_NONE,
  PK_SECRET_PASSWORD,
  PK_SECRET_KEYFILE,
} pk_secret_kind;

/* What the user gave to unlock an archive. The caller owns and wipes it. */
typedef struct pk_secret {
  pk_secret_kind kind;
  const char *password; /* PASSWORD: bytes, not necessarily NUL-terminated */
  size_t password_len;
  uint8_t key[PK_KDF_KEY_LEN]; /* KEYFILE: the file's 32 bytes */
} pk_secret;

typedef struct pk_archive_keys {
  int encrypted;
  uint8_t data[PK_KDF_KEY_LEN];   /* seals records */
  uint8_t header[PK_KDF_KEY_LEN]; /* tags the header and the index */
} pk_archive_keys;

/* Remembers the last master key derived from a password, so that a batch
 * of archives pays for argon2id once: archives made in one batch share the
 * salt (and so the master key) while their random file_ids still give each
 * its own data and header keys. Opening archives of one batch reuses it the
 * same way. Zero-initialise; wipe with pk_archive_keycache_wipe(). */
typedef struct pk_archive_keycache {
  int valid;
  uint8_t salt[PK_FMT_SALT_LEN];
  uint32_t t, m_kib, p;
  uint8_t password_hash[32]; /* an entry serves only the same password */
  uint8_t master[PK_KDF_KEY_LEN];
} pk_archive_keycache;

void pk_archive_keycache_wipe(pk_archive_keycache *c);

/* Fills *h for a new archive of `spec`: random file_id, flags, stages,
 * digest, the original's metadata (name is reduced to its base name; an
 * unsafe or empty one becomes "stdin"). original_size may be
 * PK_FMT_SIZE_UNKNOWN. Key fields are filled by pk_archive_keys_new(). */
int pk_archive_header_init(pk_fmt_header *h, const pk_pipe_spec *spec,
                           uint64_t max_chunk, uint64_t original_size,
                           uint32_t mode, int64_t mtime, const char *name,
                           pk_errmsg *e);

/* For a new archive: chooses the salt and key derivation (argon2id with
 * *params for a password, or the key file), stores them and the key check
 * in *h, and derives *k. cache may be NULL. For an unencrypted spec, s
 * must be NULL or NONE.
 * PK_EINVAL if the secret does not fit the spec. */
int pk_archive_keys_new(pk_fmt_header *h, const pk_secret *s,
                        const pk_kdf_params *params, pk_archive_keycache *cache,
                        pk_archive_keys *k, pk_errmsg *e);

/* For an existing archive: derives *k from s and checks it against the
 * header's key check (cache may be NULL). PK_EAUTH (wrong password or key, or
 * none given for an encrypted archive, or the wrong kind of secret),
 * PK_ECORRUPT. */
int pk_archive_keys_open(const pk_fmt_header *h, const pk_secret *s,
                         pk_archive_keycache *cache, pk_archive_keys *k,
                         pk_errmsg *e);

void pk_archive_keys_wipe(pk_archive_keys *k);

/* Encodes *h into buf with its tag computed (and stored into h->tag). */
int pk_archive_header_write(pk_fmt_header *h, const pk_archive_keys *k,
                            uint8_t *buf, size_t cap, size_t *len);

/* Checks the tag of an encoded header (buf, len) decoded into *h.
 * PK_ECORRUPT with a message if it does not match. */
int pk_archive_header_check(const uint8_t *buf, size_t len,
                            const pk_fmt_header *h, const pk_archive_keys *k,
                            pk_errmsg *e);

/* The trailer tag over the encoded index and the trailer's first 16 bytes.
 * k may be NULL for an unencrypted archive. */
void pk_archive_index_tag(const pk_archive_keys *k, const uint8_t *index,
                          size_t index_len, const uint8_t trailer16[16],
                          uint8_t out[PK_FMT_TRAILER_TAG_LEN]);

#endif /* PIKA_PIPE_ARCHIVE_H */
