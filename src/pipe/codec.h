/*
 * codec.h — compression codecs for `pika pipe`, one chunk at a time.
 *
 * What it is for
 *   The pipeline cuts its input into chunks (1 MiB by default) and hands
 *   them to worker threads. pk_codec_encode/decode compress each chunk on
 *   its own, with no dictionary or window shared with its neighbours, so
 *   that workers never wait for each other and a restore can decode chunk
 *   k as soon as it has read it. The price is ratio (each chunk starts with
 *   an empty window); for zstd, the pipeline links the chunks of a group
 *   into one stream instead (pk_codec_encode_linked, at the end).
 *
 * Codecs and levels (the enum values are the .adapipe stage algorithm ids
 * of docs/FORMAT.md: never renumber them)
 *   none    no level. A plain copy.
 *   zstd    levels ZSTD_minCLevel() .. 22 (-131072 .. 22 with libzstd
 *           1.5.4), default 3. Negative levels are zstd's fast modes; 0
 *           means "zstd's default" and parses to 3. Standard zstd frames with
 *           the content size and without zstd's own checksum (the container
 *           carries one), so `zstd -d` reads a chunk, and concatenated
 *           chunks form a valid multi-frame .zst file. zstd 19-22 and
 *           brotli 10-11 run at a few MB/s or less (zstd 19: 4 MB/s,
 *           brotli 11: 0.7 MB/s on bench_codec's data): for archiving, not
 *           for a pipeline that has to keep up.
 *   lz4     the number is lz4's *acceleration*, 1 .. 65537, default 1, as
 *           `lz4 --fast=N`: higher is FASTER and compresses less, the
 *           opposite direction of every other codec here. Raw LZ4 blocks
 *           (no frame: the container stores the original length).
 *   lz4hc   levels 1 .. 12, default 9 (lz4's own default). Same block
 *           format as lz4, so either context decodes the other's chunks.
 *           lz4 1.9.4 treats levels 1 and 2 alike.
 *   brotli  quality 0 .. 11, default 5. Not brotli's own default of 11:
 *           quality 11 runs two orders of magnitude slower than 5 (0.7 vs
 *           73 MB/s on bench_codec's mixed data, one core) for an output
 *           only 15% smaller, far too slow for a pipeline that aims at
 *           hundreds of MB/s; 5 is the usual on-the-fly choice (web
 *           servers' dynamic compression). The window is the smallest that
 *           covers the chunk, as the brotli CLI picks it.
 *   gzip    libdeflate levels 1 .. 12, default 6 (10 to 12 are libdeflate's
 *           slow near-optimal parsing). Each chunk is a complete gzip
 *           member (header, DEFLATE, CRC-32, length), so `gzip -d` reads a
 *           chunk, and concatenated chunks form a valid multi-member .gz.
 *
 *   The level matters only to encoding: any context of a codec decodes that
 *   codec's chunks whatever level made them. Output is deterministic for a
 *   given library version, codec and level.
 *
 * How it works
 *   A pk_codec holds the library contexts a worker reuses for every chunk:
 *   ZSTD_CCtx/ZSTD_DCtx, the LZ4 or LZ4HC state, the libdeflate
 *   compressor/decompressor. Each is made on first use (a decode-only
 *   worker never pays for a level-12 compressor) and kept until
 *   pk_codec_free(), so the steady state allocates nothing per chunk.
 *   Brotli has no reset for its encoder or decoder state, so a fresh state
 *   is built per chunk, but through a bump allocator over one arena the
 *   pk_codec keeps: the arena grows to the largest chunk's needs (a few
 *   MiB at quality 5 with 1 MiB chunks) and is then reused, so after the
 *   first chunks brotli allocates nothing either.
 *
 * Hostile input
 *   pk_codec_decode() is meant to be fed untrusted bytes: it never reads
 *   outside [in, in + in_len) nor writes outside [out, out + expected_len),
 *   and it succeeds only if the input decodes to exactly expected_len bytes
 *   and is consumed to its last byte. It does NOT promise to detect every
 *   corruption: lz4, brotli and zstd (as configured here) have no checksum
 *   of their own and can turn a damaged chunk into wrong bytes of the right
 *   length. gzip's CRC-32 catches damage to the data. Integrity is the
 *   container's job (XXH3 checksum or AEAD tag per chunk, digest.h).
 *   Memory a hostile chunk can make a decoder take is bounded: zstd and
 *   libdeflate decode into `out` and need no window; brotli's window is at
 *   most 16 MiB.
 *
 * Thread-safety
 *   The parse/format/info/bound functions are pure and thread-safe. A
 *   pk_codec is not: use one per worker thread (it may move between
 *   threads, but only one may use it at a time).
 *
 * Errors follow base/error.h: PK_OK or a negative PK_E* code.
 */
#ifndef PIKA_PIPE_CODEC_H
#define PIKA_PIPE_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

/* ---- codec kinds, levels, specs -------------------------------------------
 */

enum pk_codec_kind {
  PK_CODEC_NONE = 0,
  PK_CODEC_ZSTD = 1,
  PK_CODEC_LZ4 = 2,
  PK_CODEC_LZ4HC = 3,
  PK_CODEC_BROTLI = 4,
  PK_CODEC_GZIP = 5,
};
#define PK_CODEC_KIND_COUNT 6

/* The largest chunk pk_codec_encode() accepts and pk_codec_decode() will
 * produce: the .adapipe format's orig_len cap. It also keeps every
 * library's int-sized length arguments (lz4) far from overflow. */
#define PK_CODEC_CHUNK_MAX ((size_t)64 << 20)

/* What to run: a codec and its level (0 for none). Plain value; copy it. */
typedef struct pk_codec_spec {
  enum pk_codec_kind kind;
  int level;
} pk_codec_spec;

/* A codec's name and level range, for help text and for an adaptive
 * controller that moves the level. */
typedef struct pk_codec_info {
  const char *name;  /* "zstd"; static storage */
  int has_level;     /* 0 for none: min = max = default = 0 */
  int min_level;     /* inclusive */
  int max_level;     /* inclusive */
  int default_level; /* what "zstd" without ":N" means */
} pk_codec_info;

/* Fills *out for `kind`. Returns PK_OK, or PK_EINVAL for an unknown kind or
 * NULL out. Thread-safe. */
int pk_codec_get_info(enum pk_codec_kind kind, pk_codec_info *out);

/* Returns `kind`'s name ("zstd"), or "?" for an unknown kind. Static
 * storage. */
const char *pk_codec_name(enum pk_codec_kind kind);

/* Parses "NAME" or "NAME:LEVEL" (NAME as in the table above, any letter
 * case; LEVEL a decimal integer, negative allowed where the codec has such
 * levels) into *out. NAME alone gives the default level. Returns PK_OK, or
 * PK_EINVAL with a sentence in *e (if e is non-NULL) for an unknown name, a
 * level that is missing, not an integer or out of range ("zstd level 30 is
 * out of range (-131072..22)"), or a level given to none. *out is untouched
 * on failure. Thread-safe. */
int pk_codec_parse(const char *text, pk_codec_spec *out, pk_errmsg *e);

/* Checks a spec built by hand: PK_OK, or PK_EINVAL with a sentence in *e. */
int pk_codec_spec_check(const pk_codec_spec *spec, pk_errmsg *e);

/* Writes the text pk_codec_parse() reads back to the same spec: "none",
 * else "NAME:LEVEL" ("zstd:3", "lz4:1"). PK_CODEC_SPEC_TEXT_MAX bytes
 * always suffice. Returns PK_OK; PK_EINVAL for an invalid spec or NULL
 * buf; PK_ELIMIT if n is too small (buf then holds a truncated,
 * NUL-terminated prefix when n > 0). */
int pk_codec_spec_format(const pk_codec_spec *spec, char *buf, size_t n);
#define PK_CODEC_SPEC_TEXT_MAX 32

/* The most bytes pk_codec_encode() can write for `in_len` input bytes with
 * this spec: what to size an output buffer by. Returns 0 if the spec is
 * invalid or in_len > PK_CODEC_CHUNK_MAX (and, legitimately, for none with
 * in_len 0). Thread-safe. */
size_t pk_codec_bound(const pk_codec_spec *spec, size_t in_len);

/* ---- per-worker contexts --------------------------------------------------
 */

typedef struct pk_codec pk_codec;

/* Creates a context for `spec` (copied). Library contexts are made lazily
 * on the first encode or decode. Returns PK_OK and sets *out (free with
 * pk_codec_free()); PK_EINVAL for an invalid spec or NULL out; PK_ENOMEM. */
int pk_codec_create(const pk_codec_spec *spec, pk_codec **out);

/* Frees the context and every library context it holds. NULL is a no-op. */
void pk_codec_free(pk_codec *codec);

/* The spec the context encodes with (its level follows pk_codec_set_level).
 * Valid while the codec lives. */
const pk_codec_spec *pk_codec_get_spec(const pk_codec *codec);

/* Changes the level used by later encodes (an adaptive controller's knob).
 * Cheap for every codec but gzip, which builds a new libdeflate compressor
 * at its next encode. Returns PK_OK, or PK_EINVAL if the level is out of the
 * codec's range (nothing changes then). */
int pk_codec_set_level(pk_codec *codec, int level);

/* Compresses in[0..in_len) into out[0..out_cap) and sets *out_len to the
 * encoded size. `in` and `out` must not overlap; either may be NULL when its
 * length is 0. Give out_cap >= pk_codec_bound() and the output always fits.
 * A smaller out_cap is allowed: the call then returns PK_ELIMIT if the
 * result would not fit, so a caller that stores a chunk raw unless it
 * shrinks may pass out_cap = in_len - 1 and skip comparing. (zstd and
 * gzip may give PK_ELIMIT for a result that is a few bytes shorter than
 * out_cap, up to 9 in our tests: their bit writers store whole 64-bit
 * words. lz4, brotli and none fit exactly.) Whether the
 * result is worth keeping over the raw chunk (*out_len >= in_len) is the
 * caller's decision; the container flags such chunks "raw".
 * Returns PK_OK; PK_EINVAL for NULL codec/out_len, or in_len >
 * PK_CODEC_CHUNK_MAX; PK_ELIMIT as above (*out_len is then unspecified and
 * out's contents garbage); PK_ENOMEM if a library context could not be
 * made. The codec stays usable after any error. Not thread-safe (see top). */
int pk_codec_encode(pk_codec *codec, const void *in, size_t in_len, void *out,
                    size_t out_cap, size_t *out_len);

/* Decompresses one chunk of this codec from in[0..in_len) into
 * out[0..expected_len), where expected_len is the chunk's original length
 * as the container stored it; out must have room for expected_len bytes
 * and must not overlap in. Succeeds only if the whole input decodes to
 * exactly expected_len bytes: returns PK_OK with *out_len == expected_len;
 * PK_ECORRUPT if the input is malformed, truncated, has trailing bytes, or
 * decodes to any other length, or if expected_len > PK_CODEC_CHUNK_MAX (out
 * is then garbage, never written past expected_len); PK_EINVAL for NULL
 * codec/out_len; PK_ENOMEM. Safe on hostile input (see "Hostile input").
 * The codec stays usable after any error. Not thread-safe (see top). */
int pk_codec_decode(pk_codec *codec, const void *in, size_t in_len, void *out,
                    size_t expected_len, size_t *out_len);

/* ---- linked chunks (zstd only) -------------------------------------------
 *
 * A group of consecutive chunks can share one zstd frame, so that each
 * chunk is compressed with the group's earlier chunks as history (the ratio
 * of one stream) while every chunk is still a record of its own: chunk i is
 * one ZSTD_e_flush of the frame, i.e. whole zstd blocks that decode to
 * exactly chunk i. The frame is never ended (a group stops where the next
 * one starts). The chunks of a group must be encoded, and decoded, in order
 * by one codec; linked = 0 starts a new group (resets the stream, keeps the
 * level), linked = 1 continues it. The window is the level's own for an
 * input of unknown size, capped at 2^PK_CODEC_LINK_WLOG_MAX bytes, and a
 * decoder refuses frames asking for more, so a hostile chunk cannot make it
 * allocate more than that. Other codecs answer PK_EUNSUPPORTED.
 *
 * encode_linked: out_cap >= pk_codec_bound(in_len) + 32 always suffices;
 * PK_ELIMIT otherwise, and the group's stream is then unusable (start a new
 * one). A linked chunk is never stored raw: the stream has consumed it.
 * decode_linked: as pk_codec_decode, for one chunk of a group; PK_ECORRUPT
 * unless in[0..in_len) decodes to exactly expected_len bytes with nothing
 * left over. After an error, start a new group. */
#define PK_CODEC_LINK_WLOG_MAX 23
/* The size of the groups encode_linked starts (0: PK_CODEC_CHUNK_MAX):
 * zstd picks its parameters, and the frame's window, for an input of that
 * size, so a small group never asks a decoder for a large window. */
void pk_codec_set_link_size(pk_codec *codec, uint64_t group_size);
int pk_codec_encode_linked(pk_codec *codec, const void *in, size_t in_len,
                           void *out, size_t out_cap, size_t *out_len,
                           int linked);
/* As encode_linked, for a group that lies whole in one buffer: the chunk
 * is base[off .. off + in_len), the group's earlier chunks are base[0 ..
 * off) (off is 0 for the group's first chunk, then where the previous
 * chunk ended), and base must stay unchanged until the group is done.
 * zstd then reads the group in place (ZSTD_c_stableInBuffer): no copy into
 * its own buffer and no wrap-around of its window (which measured 13 %
 * more CPU on the benchmark's input than one-shot compression). A stream
 * started by one of the two calls is continued by the same one. */
int pk_codec_encode_linked_at(pk_codec *codec, const void *base, size_t off,
                              size_t in_len, void *out, size_t out_cap,
                              size_t *out_len, int linked);
int pk_codec_decode_linked(pk_codec *codec, const void *in, size_t in_len,
                           void *out, size_t expected_len, size_t *out_len,
                           int linked);

#endif /* PIKA_PIPE_CODEC_H */
