/*
 * chain.h — one worker's instance of a pipeline's stages: turns a chunk of
 * original bytes into a record payload and back (docs/FORMAT.md).
 *
 * Forward: transforms (base64; PII masking is the engine's reader's job,
 * so that the whole-file digest covers the masked bytes) → compression
 * (skipped, with the record's RAW flag, when it does not shrink the chunk;
 * with a zstd stage and h->group_size > 0, the group's zstd stream
 * continued when the record is LINKED, and never raw) →
 * seal (AEAD with the record's position and the header tag as associated data)
 * or, unencrypted, an 8-byte seeded XXH3 checksum. Inverse runs the reverse and
 * verifies first: nothing is decompressed before it is authenticated.
 *
 * A chain owns its codec and cipher contexts and scratch buffers, so a
 * chunk allocates nothing. Not thread-safe: one chain per worker thread,
 * and the chunks of a linked group go through one chain, in order.
 */
#ifndef PIKA_PIPE_CHAIN_H
#define PIKA_PIPE_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "pipe/archive.h"
#include "pipe/format.h"

typedef struct pk_chain pk_chain;

/* The largest payload a chunk of n original bytes can become under h's
 * stages (what a record buffer must hold). */
size_t pk_chain_payload_bound(const pk_fmt_header *h, size_t n);

/* Creates a chain for archive header h (its tag must be final: it is the
 * associated data of every record) with keys k (ignored if unencrypted).
 * Chunks may hold up to h->chunk_size original bytes. PK_ECORRUPT if h has
 * linked groups but no zstd stage this build can run. */
int pk_chain_create(const pk_fmt_header *h, const pk_archive_keys *k,
                    pk_chain **out);
void pk_chain_free(pk_chain *c);

/* Encodes in[0..rec->orig_len) as the payload of record *rec (whose kind,
 * seq and orig_len the caller set; flags and stored_len are filled) into
 * out[0..cap). */
int pk_chain_encode(pk_chain *c, pk_fmt_record *rec, const uint8_t *in,
                    uint8_t *out, size_t cap);

/* As pk_chain_encode, for a chunk at base + off of a group that lies whole
 * in base (see pk_codec_encode_linked_at): base[0..off) holds the group's
 * earlier chunks, and stays unchanged until the group is done. */
int pk_chain_encode_at(pk_chain *c, pk_fmt_record *rec, const uint8_t *base,
                       size_t off, uint8_t *out, size_t cap);

/* Verifies and decodes the payload of *rec (stored_len bytes at payload,
 * which may be modified) into out[0..rec->orig_len); cap >= orig_len.
 * PK_ECORRUPT with a message naming the record when anything is wrong. */
int pk_chain_decode(pk_chain *c, const pk_fmt_record *rec, uint8_t *payload,
                    uint8_t *out, size_t cap, pk_errmsg *e);

/* Seals (encode) or verifies (decode) an END record, whose payload is not
 * transformed or compressed: body[0..n) → out. */
int pk_chain_seal_end(pk_chain *c, pk_fmt_record *rec, const uint8_t *body,
                      size_t n, uint8_t *out, size_t cap);
int pk_chain_open_end(pk_chain *c, const pk_fmt_record *rec, uint8_t *payload,
                      size_t *body_len, pk_errmsg *e);

#endif /* PIKA_PIPE_CHAIN_H */
