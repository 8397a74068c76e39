/*
 * format.h — the bytes of an .adapipe container (docs/FORMAT.md is the spec).
 *
 * This module only serialises and parses: fixed-layout little-endian fields,
 * with every length and enumeration checked on the way in, so a hostile file
 * is rejected here before anything is allocated from its numbers. It computes
 * no tags and no checksums; archive.c does (keys live there).
 *
 * All functions are pure and thread-safe.
 */
#ifndef PIKA_PIPE_FORMAT_H
#define PIKA_PIPE_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

/* Version 2 added group_size (linked zstd chunks); version 1 archives are
 * still read, and re-encoded byte for byte by the fuzzer's fixup. */
#define PK_FMT_VERSION 2
#define PK_FMT_VERSION_MIN 1
#define PK_FMT_MAGIC "ADAPIPE\x1a"
#define PK_FMT_TRAILER_MAGIC "PIPEIDX\x1a"
#define PK_FMT_MAX_STAGES 16
#define PK_FMT_MAX_NAME 255
#define PK_FMT_TAG_LEN 32
#define PK_FMT_ID_LEN 16
#define PK_FMT_SALT_LEN 16
#define PK_FMT_KEYCHECK_LEN 16
#define PK_FMT_MAX_DIGEST 32
/* A chunk holds at most 64 MiB of original data; stages may expand it
 * (base64 by 4/3, incompressible data by a little), hence the stored bound. */
#define PK_FMT_MAX_CHUNK ((uint64_t)64 << 20)
#define PK_FMT_MAX_STORED (PK_FMT_MAX_CHUNK * 2 + 4096)
#define PK_FMT_RECORD_HDR_LEN 24
#define PK_FMT_INDEX_ENTRY_LEN 24
#define PK_FMT_TRAILER_LEN 48
#define PK_FMT_TRAILER_TAG_LEN 24
#define PK_FMT_SIZE_UNKNOWN UINT64_MAX
/* The fixed part of the header: everything but stages, name and tag
 * (version 1; version 2 adds the 8-byte group_size). */
#define PK_FMT_HEADER_MIN 141
#define PK_FMT_HEADER_MIN_V2 (PK_FMT_HEADER_MIN + 8)
#define PK_FMT_HEADER_MAX                                                      \
  (PK_FMT_HEADER_MIN_V2 + 4 * PK_FMT_MAX_STAGES + PK_FMT_MAX_NAME)
/* The largest group a header may declare (docs/FORMAT.md, "Linked
 * groups"): a reader keeps up to a group per worker in flight. */
#define PK_FMT_MAX_GROUP ((uint64_t)256 << 20)
/* Enough bytes to learn header_len: magic, version, header_len. */
#define PK_FMT_HEADER_PEEK 14

/* Argon2id caps a reader enforces (a hostile header cannot demand more). */
#define PK_FMT_KDF_MAX_T 10
#define PK_FMT_KDF_MIN_M_KIB (8u * 1024)
#define PK_FMT_KDF_MAX_M_KIB (1024u * 1024)
/* libsodium implements one lane; an archive asking for more cannot be
 * opened by this build, so it is refused with the other caps. */
#define PK_FMT_KDF_MAX_P 1

enum pk_fmt_flag {
  PK_FMT_F_ENCRYPTED = 1u << 0,
  PK_FMT_F_IRREVERSIBLE = 1u << 1,
  PK_FMT_F_SIZE_UNKNOWN = 1u << 2,
};
#define PK_FMT_F_ALL 0x7u

enum pk_fmt_stage_kind {
  PK_FMT_STAGE_TRANSFORM = 1,
  PK_FMT_STAGE_COMPRESS = 2,
  PK_FMT_STAGE_ENCRYPT = 3,
};
enum pk_fmt_transform { PK_FMT_BASE64 = 1, PK_FMT_BASE64URL, PK_FMT_PII };
enum pk_fmt_compress {
  PK_FMT_ZSTD = 1,
  PK_FMT_LZ4,
  PK_FMT_LZ4HC,
  PK_FMT_BROTLI,
  PK_FMT_GZIP,
};
enum pk_fmt_encrypt {
  PK_FMT_AES256GCM = 1,
  PK_FMT_CHACHA20POLY1305,
  PK_FMT_XCHACHA20POLY1305,
};
enum pk_fmt_digest {
  PK_FMT_XXH3_128 = 1,
  PK_FMT_SHA256,
  PK_FMT_BLAKE2B,
};
enum pk_fmt_kdf {
  PK_FMT_KDF_NONE = 0,
  PK_FMT_KDF_ARGON2ID,
  PK_FMT_KDF_KEYFILE
};
enum pk_fmt_record_kind { PK_FMT_REC_DATA = 1, PK_FMT_REC_END = 2 };
enum pk_fmt_record_flag {
  PK_FMT_REC_RAW = 1u << 0,
  /* continues the previous record's zstd stream (its group) */
  PK_FMT_REC_LINKED = 1u << 1,
};
#define PK_FMT_REC_F_ALL 0x3u

typedef struct pk_fmt_stage {
  uint8_t kind; /* enum pk_fmt_stage_kind */
  uint8_t alg;  /* enum pk_fmt_transform / _compress / _encrypt */
  int16_t param;
} pk_fmt_stage;

typedef struct pk_fmt_header {
  uint16_t version;
  uint16_t flags;
  uint64_t chunk_size;
  /* Version 2: 0, or the most original bytes one group of linked chunks
   * holds (each chunk's zstd stream continues the previous one's). */
  uint64_t group_size;
  uint64_t original_size;
  uint32_t mode;
  int64_t mtime;
  uint8_t file_id[PK_FMT_ID_LEN];
  uint8_t digest; /* enum pk_fmt_digest */
  uint8_t n_stages;
  pk_fmt_stage stages[PK_FMT_MAX_STAGES];
  uint8_t kdf; /* enum pk_fmt_kdf */
  uint32_t kdf_t, kdf_m_kib, kdf_p;
  uint8_t salt[PK_FMT_SALT_LEN];
  uint8_t key_check[PK_FMT_KEYCHECK_LEN];
  uint16_t name_len;
  char name[PK_FMT_MAX_NAME + 1]; /* NUL-terminated copy */
  uint8_t tag[PK_FMT_TAG_LEN];
} pk_fmt_header;

typedef struct pk_fmt_record {
  uint8_t kind;  /* enum pk_fmt_record_kind */
  uint8_t flags; /* enum pk_fmt_record_flag */
  uint32_t orig_len;
  uint64_t seq;
  uint64_t stored_len;
} pk_fmt_record;

typedef struct pk_fmt_end {
  uint64_t chunk_count;
  uint64_t original_size;
  uint8_t digest_len;
  uint8_t digest[PK_FMT_MAX_DIGEST];
} pk_fmt_end;

typedef struct pk_fmt_index_entry {
  uint64_t offset;
  uint64_t stored_len;
  uint32_t orig_len;
  uint8_t flags;
} pk_fmt_index_entry;

typedef struct pk_fmt_trailer {
  uint64_t index_offset;
  uint64_t chunk_count;
  uint8_t tag[PK_FMT_TRAILER_TAG_LEN];
} pk_fmt_trailer;

/* ---- header ---------------------------------------------------------------*/

/* Bytes h encodes to, tag included. */
size_t pk_fmt_header_len(const pk_fmt_header *h);

/* Writes h (tag field included, as it is in h) to buf. PK_EINVAL if h is
 * invalid (same checks as decoding) or cap is too small. */
int pk_fmt_header_encode(const pk_fmt_header *h, uint8_t *buf, size_t cap,
                         size_t *len);

/* From the first PK_FMT_HEADER_PEEK bytes: the header's total length.
 * PK_ECORRUPT (message in e) if the magic, version or length is wrong. */
int pk_fmt_header_peek(const uint8_t *buf, size_t len, size_t *header_len,
                       pk_errmsg *e);

/* Parses and validates a whole header (len = header_len from peek).
 * PK_ECORRUPT with a message naming the bad field. */
int pk_fmt_header_decode(const uint8_t *buf, size_t len, pk_fmt_header *h,
                         pk_errmsg *e);

/* The header's bytes before the tag, which the tag covers: buf[0..n). */
static inline size_t pk_fmt_header_tagged_len(size_t header_len) {
  return header_len - PK_FMT_TAG_LEN;
}

/* ---- records --------------------------------------------------------------*/

void pk_fmt_record_encode(const pk_fmt_record *r,
                          uint8_t out[PK_FMT_RECORD_HDR_LEN]);
/* PK_ECORRUPT if kind, reserved bits or lengths are out of bounds. */
int pk_fmt_record_decode(const uint8_t in[PK_FMT_RECORD_HDR_LEN],
                         pk_fmt_record *r, pk_errmsg *e);

/* The associated data binding a record to its archive and position:
 * header tag ‖ kind ‖ flags ‖ orig_len ‖ seq (46 bytes). */
#define PK_FMT_AAD_LEN (PK_FMT_TAG_LEN + 1 + 1 + 4 + 8)
void pk_fmt_record_aad(const uint8_t header_tag[PK_FMT_TAG_LEN],
                       const pk_fmt_record *r, uint8_t out[PK_FMT_AAD_LEN]);

/* The 12- and 24-byte nonces of a record at position seq. */
void pk_fmt_nonce12(uint64_t seq, uint8_t out[12]);
void pk_fmt_nonce24(const uint8_t file_id[PK_FMT_ID_LEN], uint64_t seq,
                    uint8_t out[24]);

/* End-record payload (before its tag/checksum). */
#define PK_FMT_END_MAX (8 + 8 + 1 + PK_FMT_MAX_DIGEST)
size_t pk_fmt_end_encode(const pk_fmt_end *end, uint8_t out[PK_FMT_END_MAX]);
int pk_fmt_end_decode(const uint8_t *in, size_t len, pk_fmt_end *end,
                      pk_errmsg *e);

/* ---- index and trailer ----------------------------------------------------*/

void pk_fmt_index_encode(const pk_fmt_index_entry *ent,
                         uint8_t out[PK_FMT_INDEX_ENTRY_LEN]);
int pk_fmt_index_decode(const uint8_t in[PK_FMT_INDEX_ENTRY_LEN],
                        pk_fmt_index_entry *ent, pk_errmsg *e);
/* The trailer's first 16 bytes (what its tag covers, after the index). */
void pk_fmt_trailer_encode(const pk_fmt_trailer *t,
                           uint8_t out[PK_FMT_TRAILER_LEN]);
int pk_fmt_trailer_decode(const uint8_t in[PK_FMT_TRAILER_LEN],
                          pk_fmt_trailer *t, pk_errmsg *e);

/* ---- names ----------------------------------------------------------------*/

/* Digest output length for an enum pk_fmt_digest, 0 if unknown. */
size_t pk_fmt_digest_len(uint8_t digest);

/* True if name is safe to create inside a directory: non-empty, at most
 * PK_FMT_MAX_NAME bytes, no '/', no NUL, not "." or "..". */
int pk_fmt_name_is_safe(const char *name, size_t len);

#endif /* PIKA_PIPE_FORMAT_H */
