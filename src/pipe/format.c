/* format.c — serialising the .adapipe container; see format.h and
 * docs/FORMAT.md. A small cursor keeps every read bounds-checked. */
#include "pipe/format.h"

#include <string.h>

/* ---- little-endian cursor -------------------------------------------------*/

typedef struct wcur {
  uint8_t *p, *end;
} wcur;

typedef struct rcur {
  const uint8_t *p, *end;
  int short_read; /* a read ran past the end: the whole decode fails */
} rcur;

static void put(wcur *w, const void *src, size_t n) {
  memcpy(w->p, src, n);
  w->p += n;
}

static void put_le(wcur *w, uint64_t v, int n) {
  for (int i = 0; i < n; i++)
    *w->p++ = (uint8_t)(v >> (8 * i));
}

static void get(rcur *r, void *dst, size_t n) {
  if ((size_t)(r->end - r->p) < n) {
    r->short_read = 1;
    memset(dst, 0, n);
    r->p = r->end;
    return;
  }
  memcpy(dst, r->p, n);
  r->p += n;
}

static uint64_t get_le(rcur *r, int n) {
  uint8_t b[8];
  get(r, b, (size_t)n);
  uint64_t v = 0;
  for (int i = 0; i < n; i++)
    v |= (uint64_t)b[i] << (8 * i);
  return v;
}

static void store_le(uint8_t *p, uint64_t v, int n) {
  for (int i = 0; i < n; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t load_le(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++)
    v |= (uint64_t)p[i] << (8 * i);
  return v;
}

/* ---- header ---------------------------------------------------------------*/

size_t pk_fmt_digest_len(uint8_t digest) {
  switch (digest) {
  case PK_FMT_XXH3_128:
    return 16;
  case PK_FMT_SHA256:
  case PK_FMT_BLAKE2B:
    return 32;
  default:
    return 0;
  }
}

int pk_fmt_name_is_safe(const char *name, size_t len) {
  if (len == 0 || len > PK_FMT_MAX_NAME)
    return 0;
  if (memchr(name, '/', len) || memchr(name, '\0', len))
    return 0;
  if ((len == 1 && name[0] == '.') ||
      (len == 2 && name[0] == '.' && name[1] == '.'))
    return 0;
  return 1;
}

static int stage_is_valid(const pk_fmt_stage *s) {
  switch (s->kind) {
  case PK_FMT_STAGE_TRANSFORM:
    return s->alg >= PK_FMT_BASE64 && s->alg <= PK_FMT_PII && s->param == 0;
  case PK_FMT_STAGE_COMPRESS:
    return s->alg >= PK_FMT_ZSTD && s->alg <= PK_FMT_GZIP;
  case PK_FMT_STAGE_ENCRYPT:
    return s->alg >= PK_FMT_AES256GCM && s->alg <= PK_FMT_XCHACHA20POLY1305 &&
           s->param == 0;
  default:
    return 0;
  }
}

/* The checks shared by encode and decode: a header that would be refused on
 * reading is never written. */
static int header_validate(const pk_fmt_header *h, pk_errmsg *e) {
  if (h->version < PK_FMT_VERSION_MIN || h->version > PK_FMT_VERSION)
    return pk_errmsg_set(e, PK_ECORRUPT,
                         "unsupported format version %u (this pika reads "
                         "%u to %u)",
                         h->version, PK_FMT_VERSION_MIN, PK_FMT_VERSION);
  if (h->flags & ~PK_FMT_F_ALL)
    return pk_errmsg_set(e, PK_ECORRUPT, "unknown header flags 0x%x", h->flags);
  if (!!(h->flags & PK_FMT_F_SIZE_UNKNOWN) !=
      (h->original_size == PK_FMT_SIZE_UNKNOWN))
    return pk_errmsg_set(e, PK_ECORRUPT,
                         "size-unknown flag disagrees with the original size");
  if (h->chunk_size == 0 || h->chunk_size > PK_FMT_MAX_CHUNK)
    return pk_errmsg_set(e, PK_ECORRUPT, "chunk size %llu is out of range",
                         (unsigned long long)h->chunk_size);
  if (!pk_fmt_digest_len(h->digest))
    return pk_errmsg_set(e, PK_ECORRUPT, "unknown digest algorithm %u",
                         h->digest);
  if (h->n_stages > PK_FMT_MAX_STAGES)
    return pk_errmsg_set(e, PK_ECORRUPT, "%u stages (at most %d)", h->n_stages,
                         PK_FMT_MAX_STAGES);
  /* Stage order: transforms, then at most one compression, then at most
   * one encryption — the only orders a writer produces. */
  int last_kind = 0, n_compress = 0, n_encrypt = 0, pii = 0;
  for (int i = 0; i < h->n_stages; i++) {
    const pk_fmt_stage *s = &h->stages[i];
    if (!stage_is_valid(s))
      return pk_errmsg_set(e, PK_ECORRUPT, "stage %d is unknown (%u/%u/%d)",
                           i + 1, s->kind, s->alg, s->param);
    if (s->kind < last_kind)
      return pk_errmsg_set(e, PK_ECORRUPT, "stage %d is out of order", i + 1);
    last_kind = s->kind;
    n_compress += s->kind == PK_FMT_STAGE_COMPRESS;
    n_encrypt += s->kind == PK_FMT_STAGE_ENCRYPT;
    pii |= s->kind == PK_FMT_STAGE_TRANSFORM && s->alg == PK_FMT_PII;
  }
  if (h->group_size) {
    int zstd = 0;
    for (int i = 0; i < h->n_stages; i++)
      zstd |= h->stages[i].kind == PK_FMT_STAGE_COMPRESS &&
              h->stages[i].alg == PK_FMT_ZSTD;
    if (h->version < 2 || !zstd || h->group_size < h->chunk_size ||
        h->group_size > PK_FMT_MAX_GROUP)
      return pk_errmsg_set(e, PK_ECORRUPT, "group size %llu is invalid",
                           (unsigned long long)h->group_size);
  }
  if (n_compress > 1 || n_encrypt > 1)
    return pk_errmsg_set(e, PK_ECORRUPT, "more than one %s stage",
                         n_compress > 1 ? "compression" : "encryption");
  if (!!(h->flags & PK_FMT_F_ENCRYPTED) != (n_encrypt == 1))
    return pk_errmsg_set(e, PK_ECORRUPT,
                         "encryption flag disagrees with the stage list");
  if (!!(h->flags & PK_FMT_F_IRREVERSIBLE) != pii)
    return pk_errmsg_set(e, PK_ECORRUPT,
                         "irreversible flag disagrees with the stage list");
  if (n_encrypt == 0 && h->kdf != PK_FMT_KDF_NONE)
    return pk_errmsg_set(e, PK_ECORRUPT, "key derivation without encryption");
  if (n_encrypt == 1 && h->kdf != PK_FMT_KDF_ARGON2ID &&
      h->kdf != PK_FMT_KDF_KEYFILE)
    return pk_errmsg_set(e, PK_ECORRUPT, "unknown key derivation %u", h->kdf);
  if (h->kdf == PK_FMT_KDF_ARGON2ID) {
    if (h->kdf_t < 1 || h->kdf_t > PK_FMT_KDF_MAX_T ||
        h->kdf_m_kib < PK_FMT_KDF_MIN_M_KIB ||
        h->kdf_m_kib > PK_FMT_KDF_MAX_M_KIB || h->kdf_p < 1 ||
        h->kdf_p > PK_FMT_KDF_MAX_P)
      return pk_errmsg_set(
          e, PK_ECORRUPT,
          "argon2id parameters t=%u m=%u KiB p=%u exceed the limits "
          "(t<=%d, %u..%u KiB, p<=%d)",
          h->kdf_t, h->kdf_m_kib, h->kdf_p, PK_FMT_KDF_MAX_T,
          PK_FMT_KDF_MIN_M_KIB, PK_FMT_KDF_MAX_M_KIB, PK_FMT_KDF_MAX_P);
  } else if (h->kdf_t || h->kdf_m_kib || h->kdf_p) {
    return pk_errmsg_set(e, PK_ECORRUPT,
                         "argon2id parameters without argon2id");
  }
  if (!pk_fmt_name_is_safe(h->name, h->name_len))
    return pk_errmsg_set(e, PK_ECORRUPT, "stored file name is not a safe name");
  return PK_OK;
}

static size_t header_min(uint16_t version) {
  return version >= 2 ? PK_FMT_HEADER_MIN_V2 : PK_FMT_HEADER_MIN;
}

size_t pk_fmt_header_len(const pk_fmt_header *h) {
  return header_min(h->version) + 4u * h->n_stages + h->name_len;
}

int pk_fmt_header_encode(const pk_fmt_header *h, uint8_t *buf, size_t cap,
                         size_t *len) {
  if (h->n_stages > PK_FMT_MAX_STAGES || h->name_len > PK_FMT_MAX_NAME ||
      header_validate(h, NULL) != PK_OK)
    return PK_EINVAL;
  size_t n = pk_fmt_header_len(h);
  if (cap < n)
    return PK_EINVAL;
  wcur w = {buf, buf + cap};
  put(&w, PK_FMT_MAGIC, 8);
  put_le(&w, h->version, 2);
  put_le(&w, n, 4);
  put_le(&w, h->flags, 2);
  put_le(&w, h->chunk_size, 8);
  if (h->version >= 2)
    put_le(&w, h->group_size, 8);
  put_le(&w, h->original_size, 8);
  put_le(&w, h->mode, 4);
  put_le(&w, (uint64_t)h->mtime, 8);
  put(&w, h->file_id, PK_FMT_ID_LEN);
  put_le(&w, h->digest, 1);
  put_le(&w, h->n_stages, 1);
  for (int i = 0; i < h->n_stages; i++) {
    put_le(&w, h->stages[i].kind, 1);
    put_le(&w, h->stages[i].alg, 1);
    put_le(&w, (uint16_t)h->stages[i].param, 2);
  }
  put_le(&w, h->kdf, 1);
  put_le(&w, h->kdf_t, 4);
  put_le(&w, h->kdf_m_kib, 4);
  put_le(&w, h->kdf_p, 4);
  put(&w, h->salt, PK_FMT_SALT_LEN);
  put(&w, h->key_check, PK_FMT_KEYCHECK_LEN);
  put_le(&w, h->name_len, 2);
  put(&w, h->name, h->name_len);
  put(&w, h->tag, PK_FMT_TAG_LEN);
  *len = (size_t)(w.p - buf);
  return *len == n ? PK_OK : PK_EINVAL;
}

int pk_fmt_header_peek(const uint8_t *buf, size_t len, size_t *header_len,
                       pk_errmsg *e) {
  if (len < PK_FMT_HEADER_PEEK)
    return pk_errmsg_set(e, PK_ECORRUPT,
                         "file is too short to be an .adapipe archive");
  if (memcmp(buf, PK_FMT_MAGIC, 8) != 0)
    return pk_errmsg_set(e, PK_ECORRUPT, "not an .adapipe archive (bad magic)");
  uint16_t version = (uint16_t)load_le(buf + 8, 2);
  if (version < PK_FMT_VERSION_MIN || version > PK_FMT_VERSION)
    return pk_errmsg_set(e, PK_ECORRUPT,
                         "unsupported format version %u (this pika reads "
                         "%u to %u)",
                         version, PK_FMT_VERSION_MIN, PK_FMT_VERSION);
  uint32_t n = (uint32_t)load_le(buf + 10, 4);
  if (n < header_min(version) || n > PK_FMT_HEADER_MAX)
    return pk_errmsg_set(e, PK_ECORRUPT, "header length %u is out of range", n);
  *header_len = n;
  return PK_OK;
}

int pk_fmt_header_decode(const uint8_t *buf, size_t len, pk_fmt_header *h,
                         pk_errmsg *e) {
  size_t n;
  int rc = pk_fmt_header_peek(buf, len, &n, e);
  if (rc)
    return rc;
  if (len != n)
    return pk_errmsg_set(e, PK_ECORRUPT, "header is truncated");
  memset(h, 0, sizeof *h);
  rcur r = {buf + 8, buf + len, 0};
  h->version = (uint16_t)get_le(&r, 2);
  (void)get_le(&r, 4); /* header_len, checked by peek */
  h->flags = (uint16_t)get_le(&r, 2);
  h->chunk_size = get_le(&r, 8);
  if (h->version >= 2)
    h->group_size = get_le(&r, 8);
  h->original_size = get_le(&r, 8);
  h->mode = (uint32_t)get_le(&r, 4);
  h->mtime = (int64_t)get_le(&r, 8);
  get(&r, h->file_id, PK_FMT_ID_LEN);
  h->digest = (uint8_t)get_le(&r, 1);
  h->n_stages = (uint8_t)get_le(&r, 1);
  if (h->n_stages > PK_FMT_MAX_STAGES)
    return pk_errmsg_set(e, PK_ECORRUPT, "%u stages (at most %d)", h->n_stages,
                         PK_FMT_MAX_STAGES);
  for (int i = 0; i < h->n_stages; i++) {
    h->stages[i].kind = (uint8_t)get_le(&r, 1);
    h->stages[i].alg = (uint8_t)get_le(&r, 1);
    h->stages[i].param = (int16_t)(uint16_t)get_le(&r, 2);
  }
  h->kdf = (uint8_t)get_le(&r, 1);
  h->kdf_t = (uint32_t)get_le(&r, 4);
  h->kdf_m_kib = (uint32_t)get_le(&r, 4);
  h->kdf_p = (uint32_t)get_le(&r, 4);
  get(&r, h->salt, PK_FMT_SALT_LEN);
  get(&r, h->key_check, PK_FMT_KEYCHECK_LEN);
  h->name_len = (uint16_t)get_le(&r, 2);
  if (h->name_len > PK_FMT_MAX_NAME)
    return pk_errmsg_set(e, PK_ECORRUPT, "stored name is too long");
  get(&r, h->name, h->name_len);
  h->name[h->name_len] = '\0';
  get(&r, h->tag, PK_FMT_TAG_LEN);
  if (r.short_read || r.p != r.end)
    return pk_errmsg_set(e, PK_ECORRUPT,
                         "header length disagrees with its contents");
  return header_validate(h, e);
}

/* ---- records --------------------------------------------------------------*/

void pk_fmt_record_encode(const pk_fmt_record *r,
                          uint8_t out[PK_FMT_RECORD_HDR_LEN]) {
  out[0] = r->kind;
  out[1] = r->flags;
  store_le(out + 2, 0, 2);
  store_le(out + 4, r->orig_len, 4);
  store_le(out + 8, r->seq, 8);
  store_le(out + 16, r->stored_len, 8);
}

int pk_fmt_record_decode(const uint8_t in[PK_FMT_RECORD_HDR_LEN],
                         pk_fmt_record *r, pk_errmsg *e) {
  r->kind = in[0];
  r->flags = in[1];
  r->orig_len = (uint32_t)load_le(in + 4, 4);
  r->seq = load_le(in + 8, 8);
  r->stored_len = load_le(in + 16, 8);
  if (r->kind != PK_FMT_REC_DATA && r->kind != PK_FMT_REC_END)
    return pk_errmsg_set(e, PK_ECORRUPT, "record %llu has unknown kind %u",
                         (unsigned long long)r->seq, r->kind);
  if ((r->flags & ~PK_FMT_REC_F_ALL) ||
      (r->flags & PK_FMT_REC_F_ALL) == PK_FMT_REC_F_ALL ||
      load_le(in + 2, 2) != 0)
    return pk_errmsg_set(e, PK_ECORRUPT, "record %llu has unknown flags",
                         (unsigned long long)r->seq);
  if (r->orig_len > PK_FMT_MAX_CHUNK || r->stored_len > PK_FMT_MAX_STORED)
    return pk_errmsg_set(e, PK_ECORRUPT,
                         "record %llu claims %u/%llu bytes (limit %llu)",
                         (unsigned long long)r->seq, r->orig_len,
                         (unsigned long long)r->stored_len,
                         (unsigned long long)PK_FMT_MAX_CHUNK);
  if (r->kind == PK_FMT_REC_END && (r->orig_len != 0 || r->flags != 0))
    return pk_errmsg_set(e, PK_ECORRUPT, "malformed end record");
  return PK_OK;
}

void pk_fmt_record_aad(const uint8_t header_tag[PK_FMT_TAG_LEN],
                       const pk_fmt_record *r, uint8_t out[PK_FMT_AAD_LEN]) {
  memcpy(out, header_tag, PK_FMT_TAG_LEN);
  out[PK_FMT_TAG_LEN] = r->kind;
  out[PK_FMT_TAG_LEN + 1] = r->flags;
  store_le(out + PK_FMT_TAG_LEN + 2, r->orig_len, 4);
  store_le(out + PK_FMT_TAG_LEN + 6, r->seq, 8);
}

void pk_fmt_nonce12(uint64_t seq, uint8_t out[12]) {
  memset(out, 0, 4);
  for (int i = 0; i < 8; i++)
    out[4 + i] = (uint8_t)(seq >> (56 - 8 * i));
}

void pk_fmt_nonce24(const uint8_t file_id[PK_FMT_ID_LEN], uint64_t seq,
                    uint8_t out[24]) {
  memcpy(out, file_id, PK_FMT_ID_LEN);
  for (int i = 0; i < 8; i++)
    out[16 + i] = (uint8_t)(seq >> (56 - 8 * i));
}

size_t pk_fmt_end_encode(const pk_fmt_end *end, uint8_t out[PK_FMT_END_MAX]) {
  store_le(out, end->chunk_count, 8);
  store_le(out + 8, end->original_size, 8);
  out[16] = end->digest_len;
  memcpy(out + 17, end->digest, end->digest_len);
  return 17u + end->digest_len;
}

int pk_fmt_end_decode(const uint8_t *in, size_t len, pk_fmt_end *end,
                      pk_errmsg *e) {
  if (len < 17 || len != 17u + in[16] || in[16] > PK_FMT_MAX_DIGEST)
    return pk_errmsg_set(e, PK_ECORRUPT, "malformed end record");
  end->chunk_count = load_le(in, 8);
  end->original_size = load_le(in + 8, 8);
  end->digest_len = in[16];
  memcpy(end->digest, in + 17, end->digest_len);
  return PK_OK;
}

/* ---- index and trailer ----------------------------------------------------*/

void pk_fmt_index_encode(const pk_fmt_index_entry *ent,
                         uint8_t out[PK_FMT_INDEX_ENTRY_LEN]) {
  store_le(out, ent->offset, 8);
  store_le(out + 8, ent->stored_len, 8);
  store_le(out + 16, ent->orig_len, 4);
  out[20] = ent->flags;
  memset(out + 21, 0, 3);
}

int pk_fmt_index_decode(const uint8_t in[PK_FMT_INDEX_ENTRY_LEN],
                        pk_fmt_index_entry *ent, pk_errmsg *e) {
  ent->offset = load_le(in, 8);
  ent->stored_len = load_le(in + 8, 8);
  ent->orig_len = (uint32_t)load_le(in + 16, 4);
  ent->flags = in[20];
  if (ent->orig_len > PK_FMT_MAX_CHUNK || ent->stored_len > PK_FMT_MAX_STORED ||
      (ent->flags & ~PK_FMT_REC_F_ALL) ||
      (ent->flags & PK_FMT_REC_F_ALL) == PK_FMT_REC_F_ALL || in[21] || in[22] ||
      in[23])
    return pk_errmsg_set(e, PK_ECORRUPT, "malformed index entry");
  return PK_OK;
}

void pk_fmt_trailer_encode(const pk_fmt_trailer *t,
                           uint8_t out[PK_FMT_TRAILER_LEN]) {
  store_le(out, t->index_offset, 8);
  store_le(out + 8, t->chunk_count, 8);
  memcpy(out + 16, t->tag, PK_FMT_TRAILER_TAG_LEN);
  memcpy(out + 40, PK_FMT_TRAILER_MAGIC, 8);
}

int pk_fmt_trailer_decode(const uint8_t in[PK_FMT_TRAILER_LEN],
                          pk_fmt_trailer *t, pk_errmsg *e) {
  if (memcmp(in + 40, PK_FMT_TRAILER_MAGIC, 8) != 0)
    return pk_errmsg_set(e, PK_ECORRUPT, "index trailer is missing");
  t->index_offset = load_le(in, 8);
  t->chunk_count = load_le(in + 8, 8);
  memcpy(t->tag, in + 16, PK_FMT_TRAILER_TAG_LEN);
  return PK_OK;
}
