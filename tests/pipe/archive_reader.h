/*
 * archive_reader.h — the archive reader that fuzz_archive.c fuzzes and
 * test_corpus.c replays (header-only: both include it; nothing else does).
 *
 * ar_read() does what restore and info do with an archive of unknown
 * origin: pk_pipe_read_header, pk_pipe_open_keys, pk_pipe_decode into a
 * sink that touches every byte, and pk_pipe_read_index. It checks that
 * every call answers with a code its header documents (anything else
 * aborts, so the fuzzer reports it).
 *
 * ar_fixup() lets a fuzzer past the tags: random bytes never carry a valid
 * BLAKE2b header tag, XXH3 record checksum or AEAD tag, so without it the
 * reader would reject every mutation at the first check and the codecs,
 * base64 and the end-record logic would see only the seeds. It rewrites an
 * archive in place so that its header tag, every record's checksum or AEAD
 * tag (records are decrypted under the input's own header tag when they
 * still can be, else their bytes are taken as plaintext) and the index tag
 * match what the mutated bytes say, using AR_KEY for encrypted archives.
 * The whole-file digest is not fixed: decoding such an input exercises the
 * decoders, then ends with a digest mismatch.
 */
#ifndef PIKA_TESTS_PIPE_ARCHIVE_READER_H
#define PIKA_TESTS_PIPE_ARCHIVE_READER_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipe/aead.h"
#include "pipe/archive.h"
#include "pipe/digest.h"
#include "pipe/engine.h"
#include "pipe/spec.h"
#include "runtime/governor.h"

/* The fixed key file of the corpus: 32 bytes of AR_KEY_BYTE. */
#define AR_KEY_BYTE 0x5A

static inline pk_secret ar_key(void) {
  pk_secret s = {.kind = PK_SECRET_KEYFILE};
  memset(s.key, AR_KEY_BYTE, sizeof s.key);
  return s;
}

typedef struct ar_result {
  int header_rc, keys_rc, decode_rc, index_rc; /* 1: not reached */
  uint64_t out_bytes;
  uint64_t index_n;
  pk_errmsg e; /* the last failure */
} ar_result;

#define AR_CHECK(cond, what, rc)                                               \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr,                                                          \
              "archive_reader: %s returned %s (%d), which it does "            \
              "not document\n",                                                \
              what, pk_err_name(rc), rc);                                      \
      abort();                                                                 \
    }                                                                          \
  } while (0)

typedef struct ar_sink {
  uint64_t next;
  unsigned sum;
} ar_sink;

/* Reads every byte (so ASan sees a bad buffer) and checks the order. */
static inline int ar_discard(void *ctx, uint64_t off, const uint8_t *p,
                             size_t n) {
  ar_sink *s = ctx;
  if (off != s->next) {
    fprintf(stderr, "archive_reader: sink got offset %llu, expected %llu\n",
            (unsigned long long)off, (unsigned long long)s->next);
    abort();
  }
  for (size_t i = 0; i < n; i++)
    s->sum += p[i];
  s->next += n;
  return PK_OK;
}

/* Reads the archive in fd (from its start) with secret s (NULL: none). */
static inline void ar_read(int fd, const pk_secret *s, pk_gov *gov,
                           ar_result *r) {
  memset(r, 0, sizeof *r);
  r->keys_rc = r->decode_rc = r->index_rc = 1;
  pk_fmt_header h;
  uint8_t raw[PK_FMT_HEADER_MAX];
  uint64_t hlen = 0;
  pk_archive_keys k;
  int have_keys = 0;
  lseek(fd, 0, SEEK_SET);
  r->header_rc = pk_pipe_read_header(fd, &h, raw, &hlen, &r->e);
  AR_CHECK(r->header_rc == PK_OK || r->header_rc == PK_ECORRUPT,
           "pk_pipe_read_header", r->header_rc);
  if (r->header_rc == PK_OK) {
    r->keys_rc = pk_pipe_open_keys(&h, raw, hlen, s, NULL, &k, &r->e);
    AR_CHECK(r->keys_rc == PK_OK || r->keys_rc == PK_ECORRUPT ||
                 r->keys_rc == PK_EAUTH,
             "pk_pipe_open_keys", r->keys_rc);
    have_keys = r->keys_rc == PK_OK;
  }
  if (have_keys) {
    ar_sink as = {0, 0};
    pk_pipe_sink sink = {ar_discard, &as};
    pk_pipe_opts o = {.gov = gov, .workers = 2};
    pk_pipe_stats st;
    pk_fmt_index_entry *idx = NULL;
    uint64_t idx_n = 0;
    r->decode_rc =
        pk_pipe_decode(&o, fd, hlen, &h, &k, &sink, &idx, &idx_n, &st, &r->e);
    /* PK_ELIMIT: a header may ask for chunks larger than the governor's
     * whole memory budget. */
    AR_CHECK(r->decode_rc == PK_OK || r->decode_rc == PK_ECORRUPT ||
                 r->decode_rc == PK_ELIMIT,
             "pk_pipe_decode", r->decode_rc);
    if (r->decode_rc == PK_OK && as.next != st.out_bytes) {
      fprintf(stderr, "archive_reader: sink saw %llu bytes, stats say %llu\n",
              (unsigned long long)as.next, (unsigned long long)st.out_bytes);
      abort();
    }
    r->out_bytes = as.next;
    free(idx);
  }
  pk_fmt_index_entry *ents = NULL;
  uint64_t n = 0, ioff;
  r->index_rc =
      pk_pipe_read_index(fd, have_keys ? &k : NULL, &ents, &n, &ioff, &r->e);
  AR_CHECK(r->index_rc == PK_OK || r->index_rc == PK_ECORRUPT,
           "pk_pipe_read_index", r->index_rc);
  r->index_n = n;
  free(ents);
  if (have_keys)
    pk_archive_keys_wipe(&k);
}

static inline uint64_t ar_le64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v |= (uint64_t)p[i] << (8 * i);
  return v;
}

static inline void ar_put_le64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

/* Rewrites the tags of p[0..n) as described above. Returns 1 if the header
 * decoded (and so something was fixed), 0 if not. */
static inline int ar_fixup(uint8_t *p, size_t n, const pk_secret *s) {
  size_t hlen;
  pk_fmt_header h;
  pk_archive_keys k;
  if (pk_fmt_header_peek(p, n, &hlen, NULL) || hlen > n ||
      pk_fmt_header_decode(p, hlen, &h, NULL) ||
      pk_archive_keys_open(&h, s, NULL, &k, NULL))
    return 0;
  uint8_t old_tag[PK_FMT_TAG_LEN];
  memcpy(old_tag, h.tag, sizeof old_tag);
  size_t len;
  if (pk_archive_header_write(&h, &k, p, hlen, &len) || len != hlen) {
    pk_archive_keys_wipe(&k);
    return 0;
  }
  pk_aead *aead = NULL;
  pk_aead_kind ak = PK_AEAD__KIND_COUNT;
  const pk_fmt_stage *cipher = NULL;
  for (int i = 0; i < h.n_stages; i++)
    if (h.stages[i].kind == PK_FMT_STAGE_ENCRYPT)
      cipher = &h.stages[i];
  if (cipher &&
      (pk_pipe_stage_aead(cipher, &ak) || pk_aead_create(ak, k.data, &aead))) {
    pk_archive_keys_wipe(&k);
    return 0;
  }
  size_t extra = aead ? PK_AEAD_TAG_LEN : 8;
  uint64_t seed = ar_le64(h.tag);
  size_t off = hlen, end_of_records = n;
  for (uint64_t i = 0; off + PK_FMT_RECORD_HDR_LEN <= n; i++) {
    pk_fmt_record rec;
    if (pk_fmt_record_decode(p + off, &rec, NULL))
      break;
    uint8_t *payload = p + off + PK_FMT_RECORD_HDR_LEN;
    if (rec.stored_len > n - off - PK_FMT_RECORD_HDR_LEN ||
        rec.stored_len < extra)
      break;
    size_t body = (size_t)rec.stored_len - extra;
    uint8_t aad[PK_FMT_AAD_LEN];
    if (aead) {
      uint8_t nonce[24];
      if (pk_aead_nonce_len(ak) == 24)
        pk_fmt_nonce24(h.file_id, rec.seq, nonce);
      else
        pk_fmt_nonce12(rec.seq, nonce);
      /* Still sealed under the input's header tag: keep its plaintext. */
      pk_fmt_record_aad(old_tag, &rec, aad);
      uint8_t *plain = malloc(body ? body : 1);
      if (!plain)
        break;
      if (pk_aead_open(aead, nonce, aad, sizeof aad, payload,
                       (size_t)rec.stored_len, plain) != PK_OK)
        memcpy(plain, payload, body);
      pk_fmt_record_aad(h.tag, &rec, aad);
      int rc = pk_aead_seal(aead, nonce, aad, sizeof aad, plain, body, payload);
      free(plain);
      if (rc)
        break;
    } else {
      pk_fmt_record_aad(h.tag, &rec, aad);
      ar_put_le64(payload + body, pk_chunk_checksum_seeded(
                                      seed, aad, sizeof aad, payload, body));
    }
    off += PK_FMT_RECORD_HDR_LEN + (size_t)rec.stored_len;
    if (rec.kind == PK_FMT_REC_END) {
      end_of_records = off;
      break;
    }
  }
  pk_aead_free(aead);
  /* The index tag, over whatever the trailer points at. */
  if (n >= PK_FMT_TRAILER_LEN && end_of_records <= n - PK_FMT_TRAILER_LEN) {
    uint8_t *tr = p + n - PK_FMT_TRAILER_LEN;
    uint64_t ioff = ar_le64(tr);
    if (ioff <= n - PK_FMT_TRAILER_LEN)
      pk_archive_index_tag(
          &k, p + ioff, (size_t)(n - PK_FMT_TRAILER_LEN - ioff), tr, tr + 16);
  }
  pk_archive_keys_wipe(&k);
  return 1;
}

#endif /* PIKA_TESTS_PIPE_ARCHIVE_READER_H */
