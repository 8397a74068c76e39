/*
 * spec.h — a pipeline's stages, as a user writes them and as the container
 * stores them.
 *
 * SPEC is a comma list such as "zstd:3,aes256gcm" or "pii,lz4,sha256":
 *   transforms   base64, base64url, pii (irreversible masking), passthrough
 *   compression  zstd[:L], lz4, lz4hc[:L], brotli[:L], gzip[:L], none
 *   encryption   aes256gcm, chacha20poly1305, xchacha20poly1305
 *   digest       xxh3-128 (default), sha256, blake2b — the whole-file digest
 * Order is checked here with an explanation, so a bad pipeline is refused
 * before any byte is read: transforms, then one compression, then one
 * encryption; the digest may stand anywhere.
 */
#ifndef PIKA_PIPE_SPEC_H
#define PIKA_PIPE_SPEC_H

#include <stddef.h>

#include "base/error.h"
#include "pipe/aead.h"
#include "pipe/codec.h"
#include "pipe/digest.h"
#include "pipe/format.h"

typedef struct pk_pipe_spec {
  int n_stages;
  pk_fmt_stage stages[PK_FMT_MAX_STAGES]; /* forward order */
  uint8_t digest;                         /* enum pk_fmt_digest */
} pk_pipe_spec;

/* Parses text into *out. PK_EINVAL with a message naming the bad token and,
 * for order errors, why the order cannot work. */
int pk_pipe_spec_parse(const char *text, pk_pipe_spec *out, pk_errmsg *e);

/* Writes the canonical text of spec ("zstd:3,aes256gcm,xxh3-128") into
 * buf; PK_ELIMIT if n is too small. */
int pk_pipe_spec_format(const pk_pipe_spec *spec, char *buf, size_t n);

/* The spec's encryption stage, or NULL. */
const pk_fmt_stage *pk_pipe_spec_cipher(const pk_pipe_spec *spec);

/* Non-zero if a PII-masking stage makes the pipeline irreversible. */
int pk_pipe_spec_irreversible(const pk_pipe_spec *spec);

/* The library kinds behind on-disk stage and digest numbers; PK_ECORRUPT
 * for a number this build does not know. */
int pk_pipe_stage_codec(const pk_fmt_stage *s, pk_codec_spec *out);
int pk_pipe_stage_aead(const pk_fmt_stage *s, pk_aead_kind *out);
int pk_pipe_digest_kind(uint8_t digest, enum pk_digest_kind *out);

/* Names of on-disk enumerations, for info and messages ("zstd", "sha256"). */
const char *pk_pipe_stage_name(const pk_fmt_stage *s);
const char *pk_pipe_digest_name(uint8_t digest);

#endif /* PIKA_PIPE_SPEC_H */
