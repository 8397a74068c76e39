/* chain.c — a worker's stage chain; see chain.h. */
#include "pipe/chain.h"

#include <stdlib.h>
#include <string.h>

#include "pipe/aead.h"
#include "pipe/codec.h"
#include "pipe/digest.h"
#include "pipe/spec.h"
#include "pipe/transform.h"

#define CHECKSUM_LEN 8

struct pk_chain {
  pk_fmt_header h;
  pk_codec *codec; /* NULL: no compression stage */
  pk_aead *aead;   /* NULL: not encrypted */
  int linked;      /* zstd groups: records continue one stream (format.h) */
  uint64_t seed;   /* checksum seed (unencrypted) */
  size_t scratch_cap;
  uint8_t *a, *b; /* scratch buffers, scratch_cap each */
};

static void put_le64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v |= (uint64_t)p[i] << (8 * i);
  return v;
}

/* Size after the transforms, before compression. */
static size_t transformed_bound(const pk_fmt_header *h, size_t n) {
  for (int i = 0; i < h->n_stages; i++)
    if (h->stages[i].kind == PK_FMT_STAGE_TRANSFORM &&
        h->stages[i].alg != PK_FMT_PII)
      n = pk_b64_encoded_len(n);
  return n;
}

size_t pk_chain_payload_bound(const pk_fmt_header *h, size_t n) {
  size_t t = transformed_bound(h, n);
  for (int i = 0; i < h->n_stages; i++) {
    pk_codec_spec cs;
    if (pk_pipe_stage_codec(&h->stages[i], &cs) == PK_OK) {
      size_t b = pk_codec_bound(&cs, t);
      t = b > t ? b : t;
    }
  }
  /* A linked chunk may also carry its group's frame header. */
  return t + PK_AEAD_TAG_LEN + CHECKSUM_LEN + (h->group_size ? 32 : 0);
}

int pk_chain_create(const pk_fmt_header *h, const pk_archive_keys *k,
                    pk_chain **out) {
  pk_chain *c = calloc(1, sizeof *c);
  if (!c)
    return PK_ENOMEM;
  c->h = *h;
  /* Scratch is only for base64: without it, compression writes straight
   * into the record buffer, sealing works in place, and decompression
   * writes straight into the output. Two chunk-sized buffers per worker
   * saved is most of the memory budget at large chunk sizes. */
  int rc = PK_OK;
  if (transformed_bound(h, 1) != 1) {
    c->scratch_cap = pk_chain_payload_bound(h, h->chunk_size);
    c->a = malloc(c->scratch_cap);
    c->b = malloc(c->scratch_cap);
    rc = (c->a && c->b) ? PK_OK : PK_ENOMEM;
  }
  for (int i = 0; rc == PK_OK && i < h->n_stages; i++) {
    pk_codec_spec cs;
    pk_aead_kind ak;
    if (pk_pipe_stage_codec(&h->stages[i], &cs) == PK_OK)
      rc = pk_codec_create(&cs, &c->codec);
    else if (pk_pipe_stage_aead(&h->stages[i], &ak) == PK_OK)
      rc =
          k && k->encrypted ? pk_aead_create(ak, k->data, &c->aead) : PK_EINVAL;
  }
  c->linked = h->group_size != 0 && c->codec &&
              pk_codec_get_spec(c->codec)->kind == PK_CODEC_ZSTD;
  /* format.c admits groups only with a zstd stage, but its level may be
   * one this build cannot run (a hostile header): nothing could decode
   * the group's stream. */
  if (rc == PK_OK && h->group_size && !c->linked)
    rc = PK_ECORRUPT;
  if (c->linked)
    pk_codec_set_link_size(c->codec, h->group_size);
  c->seed = get_le64(h->tag);
  if (rc) {
    pk_chain_free(c);
    return rc;
  }
  *out = c;
  return PK_OK;
}

void pk_chain_free(pk_chain *c) {
  if (!c)
    return;
  pk_codec_free(c->codec);
  pk_aead_free(c->aead);
  free(c->a);
  free(c->b);
  free(c);
}

static void nonce_for(const pk_chain *c, uint64_t seq, uint8_t *nonce) {
  if (pk_aead_nonce_len(pk_aead_kind_of(c->aead)) == 24)
    pk_fmt_nonce24(c->h.file_id, seq, nonce);
  else
    pk_fmt_nonce12(seq, nonce);
}

/* The last step of encoding: data[0..n) (may be out itself) becomes the
 * sealed or checksummed payload in out. */
static int protect(pk_chain *c, pk_fmt_record *rec, const uint8_t *data,
                   size_t n, uint8_t *out, size_t cap) {
  uint8_t aad[PK_FMT_AAD_LEN];
  size_t extra = c->aead ? PK_AEAD_TAG_LEN : CHECKSUM_LEN;
  if (n + extra > cap)
    return PK_ELIMIT;
  rec->stored_len = n + extra;
  pk_fmt_record_aad(c->h.tag, rec, aad);
  if (c->aead) {
    uint8_t nonce[PK_AEAD_NONCE_MAX];
    nonce_for(c, rec->seq, nonce);
    return pk_aead_seal(c->aead, nonce, aad, sizeof aad, data, n, out);
  }
  if (data != out)
    memmove(out, data, n);
  put_le64(out + n, pk_chunk_checksum_seeded(c->seed, aad, sizeof aad, out, n));
  return PK_OK;
}

/* Verifies payload[0..rec->stored_len) in place; *n gets the body length. */
static int verify(pk_chain *c, const pk_fmt_record *rec, uint8_t *payload,
                  size_t *n, pk_errmsg *e) {
  uint8_t aad[PK_FMT_AAD_LEN];
  size_t extra = c->aead ? PK_AEAD_TAG_LEN : CHECKSUM_LEN;
  const char *what = rec->kind == PK_FMT_REC_END ? "end record" : "chunk";
  if (rec->stored_len < extra)
    return pk_errmsg_set(e, PK_ECORRUPT, "%s %llu is too short", what,
                         (unsigned long long)rec->seq);
  *n = rec->stored_len - extra;
  pk_fmt_record_aad(c->h.tag, rec, aad);
  if (c->aead) {
    uint8_t nonce[PK_AEAD_NONCE_MAX];
    nonce_for(c, rec->seq, nonce);
    if (pk_aead_open(c->aead, nonce, aad, sizeof aad, payload, rec->stored_len,
                     payload) != PK_OK)
      return pk_errmsg_set(e, PK_ECORRUPT,
                           "%s %llu failed authentication: it was altered, "
                           "moved or belongs to another archive",
                           what, (unsigned long long)rec->seq);
    return PK_OK;
  }
  if (get_le64(payload + *n) !=
      pk_chunk_checksum_seeded(c->seed, aad, sizeof aad, payload, *n))
    return pk_errmsg_set(e, PK_ECORRUPT,
                         "%s %llu fails its checksum: it was damaged or moved",
                         what, (unsigned long long)rec->seq);
  return PK_OK;
}

int pk_chain_encode(pk_chain *c, pk_fmt_record *rec, const uint8_t *in,
                    uint8_t *out, size_t cap) {
  const uint8_t *cur = in;
  size_t n = rec->orig_len;
  uint8_t *spare = c->a;
  /* The caller says whether the chunk continues its group (LINKED). */
  rec->flags &= c->linked ? PK_FMT_REC_LINKED : 0;
  for (int i = 0; i < c->h.n_stages; i++) {
    const pk_fmt_stage *s = &c->h.stages[i];
    /* PII masking is not done here: the engine's reader masks each chunk
     * before the whole-file digest sees it (engine.c, read_chunk). */
    if (s->kind != PK_FMT_STAGE_TRANSFORM || s->alg == PK_FMT_PII)
      continue;
    size_t len;
    int rc = pk_b64_encode(s->alg == PK_FMT_BASE64 ? PK_B64_STD : PK_B64_URL,
                           cur, n, spare, c->scratch_cap, &len);
    if (rc)
      return rc;
    cur = spare, n = len;
    spare = spare == c->a ? c->b : c->a;
  }
  if (c->linked) {
    /* Never raw: the group's stream has taken the chunk in. */
    size_t len;
    int rc = pk_codec_encode_linked(c->codec, cur, n, out, cap, &len,
                                    rec->flags & PK_FMT_REC_LINKED);
    if (rc)
      return rc;
    return protect(c, rec, out, len, out, cap);
  }
  if (c->codec) {
    size_t len;
    int rc = pk_codec_encode(c->codec, cur, n, out, cap, &len);
    if (rc)
      return rc;
    if (len < n)
      return protect(c, rec, out, len, out, cap);
    rec->flags |= PK_FMT_REC_RAW; /* incompressible: store as is */
  }
  return protect(c, rec, cur, n, out, cap);
}

int pk_chain_encode_at(pk_chain *c, pk_fmt_record *rec, const uint8_t *base,
                       size_t off, uint8_t *out, size_t cap) {
  /* Without base64 the compressor's input is the chunk itself, so a group
   * that lies in one buffer is compressed in place. */
  if (!c->linked || c->a)
    return pk_chain_encode(c, rec, base + off, out, cap);
  rec->flags &= PK_FMT_REC_LINKED;
  size_t len;
  int rc = pk_codec_encode_linked_at(c->codec, base, off, rec->orig_len, out,
                                     cap, &len, rec->flags & PK_FMT_REC_LINKED);
  if (rc)
    return rc;
  return protect(c, rec, out, len, out, cap);
}

int pk_chain_decode(pk_chain *c, const pk_fmt_record *rec, uint8_t *payload,
                    uint8_t *out, size_t cap, pk_errmsg *e) {
  size_t n = 0;
  int rc = verify(c, rec, payload, &n, e);
  if (rc)
    return rc;
  if (rec->orig_len > cap)
    return pk_errmsg_set(e, PK_ECORRUPT, "chunk %llu is larger than declared",
                         (unsigned long long)rec->seq);
  /* The size the compressed layer must expand to is the original size
   * pushed forward through the transforms. */
  size_t transformed = transformed_bound(&c->h, rec->orig_len);
  const uint8_t *cur = payload;
  uint8_t *spare = c->a;
  /* Without base64 the decompressed bytes are the original: decompress
   * straight into out and skip a copy of every chunk. */
  int direct = transformed == rec->orig_len;
  if (!c->linked && (rec->flags & PK_FMT_REC_LINKED))
    return pk_errmsg_set(e, PK_ECORRUPT,
                         "chunk %llu is linked in an archive without groups",
                         (unsigned long long)rec->seq);
  if (c->linked && (rec->flags & PK_FMT_REC_RAW))
    return pk_errmsg_set(e, PK_ECORRUPT, "chunk %llu is raw inside a group",
                         (unsigned long long)rec->seq);
  if (c->codec && !(rec->flags & PK_FMT_REC_RAW)) {
    size_t len;
    uint8_t *dst = direct ? out : spare;
    int bad = transformed > (direct ? cap : c->scratch_cap);
    if (!bad && c->linked)
      bad = pk_codec_decode_linked(c->codec, payload, n, dst, transformed, &len,
                                   rec->flags & PK_FMT_REC_LINKED) != PK_OK;
    else if (!bad)
      bad = pk_codec_decode(c->codec, payload, n, dst, transformed, &len) !=
            PK_OK;
    if (bad)
      return pk_errmsg_set(e, PK_ECORRUPT, "chunk %llu does not decompress",
                           (unsigned long long)rec->seq);
    if (direct) {
      if (len != rec->orig_len)
        return pk_errmsg_set(e, PK_ECORRUPT,
                             "chunk %llu decodes to %zu bytes, not %u",
                             (unsigned long long)rec->seq, len, rec->orig_len);
      return PK_OK;
    }
    cur = spare, n = len;
    spare = c->b;
  }
  for (int i = c->h.n_stages - 1; i >= 0; i--) {
    const pk_fmt_stage *s = &c->h.stages[i];
    if (s->kind != PK_FMT_STAGE_TRANSFORM || s->alg == PK_FMT_PII)
      continue; /* masking cannot be undone: the masked text is restored */
    size_t len;
    if (pk_b64_decode(s->alg == PK_FMT_BASE64 ? PK_B64_STD : PK_B64_URL, cur, n,
                      spare, c->scratch_cap, &len, NULL) != PK_OK)
      return pk_errmsg_set(e, PK_ECORRUPT, "chunk %llu is not valid base64",
                           (unsigned long long)rec->seq);
    cur = spare, n = len;
    spare = spare == c->a ? c->b : c->a;
  }
  if (n != rec->orig_len)
    return pk_errmsg_set(e, PK_ECORRUPT,
                         "chunk %llu decodes to %zu bytes, not %u",
                         (unsigned long long)rec->seq, n, rec->orig_len);
  memcpy(out, cur, n);
  return PK_OK;
}

int pk_chain_seal_end(pk_chain *c, pk_fmt_record *rec, const uint8_t *body,
                      size_t n, uint8_t *out, size_t cap) {
  rec->flags = 0;
  rec->orig_len = 0;
  return protect(c, rec, body, n, out, cap);
}

int pk_chain_open_end(pk_chain *c, const pk_fmt_record *rec, uint8_t *payload,
                      size_t *body_len, pk_errmsg *e) {
  return verify(c, rec, payload, body_len, e);
}
