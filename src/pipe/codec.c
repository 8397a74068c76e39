/* codec.c — per-chunk compression codecs; see codec.h for the design. */
#include "pipe/codec.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <brotli/decode.h>
#include <brotli/encode.h>
#include <libdeflate.h>
#include <lz4.h>
#include <lz4hc.h>
/* For ZSTD_c_srcSizeHint (libzstd >= 1.4.5, exported by the shared
 * library like the stable API). */
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>
#include <zstd_errors.h>

/* lz4.c's LZ4_ACCELERATION_MAX (not exported by lz4.h); larger values are
 * clamped by lz4, so a wider range would only give names to one setting. */
#define PK__LZ4_ACCEL_MAX 65537

/* ---- names and levels -----------------------------------------------------
 */

static const char *const k_names[PK_CODEC_KIND_COUNT] = {
    [PK_CODEC_NONE] = "none",     [PK_CODEC_ZSTD] = "zstd",
    [PK_CODEC_LZ4] = "lz4",       [PK_CODEC_LZ4HC] = "lz4hc",
    [PK_CODEC_BROTLI] = "brotli", [PK_CODEC_GZIP] = "gzip",
};

static int kind_valid(int kind) {
  return kind >= 0 && kind < PK_CODEC_KIND_COUNT;
}

int pk_codec_get_info(enum pk_codec_kind kind, pk_codec_info *out) {
  if (!kind_valid((int)kind) || !out)
    return PK_EINVAL;
  pk_codec_info i = {.name = k_names[kind], .has_level = 1};
  switch (kind) {
  case PK_CODEC_NONE:
    i.has_level = 0;
    break;
  case PK_CODEC_ZSTD:
    i.min_level = ZSTD_minCLevel();
    i.max_level = ZSTD_maxCLevel();
    i.default_level = ZSTD_CLEVEL_DEFAULT;
    break;
  case PK_CODEC_LZ4:
    i.min_level = 1;
    i.max_level = PK__LZ4_ACCEL_MAX;
    i.default_level = 1;
    break;
  case PK_CODEC_LZ4HC:
    i.min_level = 1;
    i.max_level = LZ4HC_CLEVEL_MAX;
    i.default_level = LZ4HC_CLEVEL_DEFAULT;
    break;
  case PK_CODEC_BROTLI:
    i.min_level = BROTLI_MIN_QUALITY;
    i.max_level = BROTLI_MAX_QUALITY;
    i.default_level = 5;
    break;
  case PK_CODEC_GZIP:
    i.min_level = 1;
    i.max_level = 12;
    i.default_level = 6;
    break;
  }
  *out = i;
  return PK_OK;
}

const char *pk_codec_name(enum pk_codec_kind kind) {
  return kind_valid((int)kind) ? k_names[kind] : "?";
}

/* zstd reads level 0 as "my default"; Pika stores the level it means. */
static int normalize_level(enum pk_codec_kind kind, int level) {
  return kind == PK_CODEC_ZSTD && level == 0 ? ZSTD_CLEVEL_DEFAULT : level;
}

static int level_error(pk_errmsg *e, const pk_codec_info *i, const char *lvl,
                       int lvl_len) {
  return pk_errmsg_set(e, PK_EINVAL, "%s level %.*s is out of range (%d..%d)",
                       i->name, lvl_len, lvl, i->min_level, i->max_level);
}

int pk_codec_spec_check(const pk_codec_spec *spec, pk_errmsg *e) {
  pk_codec_info i;
  if (!spec)
    return pk_errmsg_set(e, PK_EINVAL, "no codec given");
  if (pk_codec_get_info(spec->kind, &i) != PK_OK)
    return pk_errmsg_set(e, PK_EINVAL, "unknown codec id %d", (int)spec->kind);
  if (!i.has_level) {
    if (spec->level != 0)
      return pk_errmsg_set(e, PK_EINVAL, "codec %s takes no level (got %d)",
                           i.name, spec->level);
    return PK_OK;
  }
  if (spec->level < i.min_level || spec->level > i.max_level) {
    char buf[16];
    int n = snprintf(buf, sizeof buf, "%d", spec->level);
    return level_error(e, &i, buf, n);
  }
  return PK_OK;
}

int pk_codec_parse(const char *text, pk_codec_spec *out, pk_errmsg *e) {
  if (!text || !out)
    return pk_errmsg_set(e, PK_EINVAL, "no codec given");
  const char *colon = strchr(text, ':');
  size_t name_len = colon ? (size_t)(colon - text) : strlen(text);
  int kind = -1;
  for (int k = 0; k < PK_CODEC_KIND_COUNT; k++) {
    if (strlen(k_names[k]) == name_len &&
        strncasecmp(text, k_names[k], name_len) == 0)
      kind = k;
  }
  if (kind < 0)
    return pk_errmsg_set(e, PK_EINVAL,
                         "unknown codec '%.*s' (expected none, zstd, lz4, "
                         "lz4hc, brotli or gzip, optionally with :LEVEL)",
                         (int)(name_len > 64 ? 64 : name_len), text);
  pk_codec_info i;
  pk_codec_get_info((enum pk_codec_kind)kind, &i);
  pk_codec_spec spec = {.kind = (enum pk_codec_kind)kind,
                        .level = i.default_level};
  if (colon) {
    const char *lvl = colon + 1;
    int lvl_len = (int)strnlen(lvl, 64);
    if (!i.has_level)
      return pk_errmsg_set(e, PK_EINVAL, "codec %s takes no level (got '%s')",
                           i.name, text);
    if (*lvl == '\0')
      return pk_errmsg_set(e, PK_EINVAL, "missing level after '%s:'", i.name);
    /* strtol alone would accept leading blanks and '+'; a level is -?[0-9]+
     * and nothing else. */
    const char *digits = lvl[0] == '-' ? lvl + 1 : lvl;
    char *end = NULL;
    errno = 0;
    long v = strtol(lvl, &end, 10);
    if (*digits < '0' || *digits > '9' || *end != '\0')
      return pk_errmsg_set(e, PK_EINVAL, "%s level '%.*s' is not an integer",
                           i.name, lvl_len, lvl);
    if (errno == ERANGE || v < i.min_level || v > i.max_level)
      return level_error(e, &i, lvl, lvl_len);
    spec.level = normalize_level(spec.kind, (int)v);
  }
  *out = spec;
  return PK_OK;
}

int pk_codec_spec_format(const pk_codec_spec *spec, char *buf, size_t n) {
  if (!buf || pk_codec_spec_check(spec, NULL) != PK_OK)
    return PK_EINVAL;
  int len;
  if (spec->kind == PK_CODEC_NONE)
    len = snprintf(buf, n, "%s", k_names[spec->kind]);
  else
    len = snprintf(buf, n, "%s:%d", k_names[spec->kind],
                   normalize_level(spec->kind, spec->level));
  return len >= 0 && (size_t)len < n ? PK_OK : PK_ELIMIT;
}

size_t pk_codec_bound(const pk_codec_spec *spec, size_t in_len) {
  if (pk_codec_spec_check(spec, NULL) != PK_OK || in_len > PK_CODEC_CHUNK_MAX)
    return 0;
  switch (spec->kind) {
  case PK_CODEC_NONE:
    return in_len;
  case PK_CODEC_ZSTD:
    return ZSTD_compressBound(in_len);
  case PK_CODEC_LZ4:
  case PK_CODEC_LZ4HC:
    return (size_t)LZ4_compressBound((int)in_len);
  case PK_CODEC_BROTLI:
    return BrotliEncoderMaxCompressedSize(in_len);
  case PK_CODEC_GZIP:
    /* NULL: the bound for the worst level, so it holds after set_level. */
    return libdeflate_gzip_compress_bound(NULL, in_len);
  }
  return 0;
}

/* ---- brotli's allocator: a size-class cache -------------------------------
 *
 * Brotli cannot reset an encoder or decoder, so each chunk builds a new state,
 * and each state mallocs its ring buffer, hash tables and Huffman tables. We
 * hand brotli an allocator that keeps freed blocks on per-size-class lists
 * (powers of two) and serves later requests from them: the allocation
 * pattern of one chunk repeats on the next, so after the first chunks every
 * request is a list pop, and the memory is already faulted in. A plain bump
 * arena with a no-op free would be simpler but unsafe: brotli's decoder
 * allocates and frees Huffman tables per meta-block, and a hostile stream of
 * many tiny meta-blocks would make the arena grow without bound. Here live
 * memory is whatever brotli holds at once (bounded by its window), and the
 * cache keeps at most PK__BR_CACHE_MAX bytes besides. */

#define PK__BR_CLASSES 40 /* 2^6 .. 2^39-byte blocks; brotli never nears it */
#define PK__BR_MIN_SHIFT 6
#define PK__BR_CACHE_MAX ((size_t)48 << 20)

typedef struct pk__brblock {
  struct pk__brblock *next; /* while cached */
  size_t cls;
} pk__brblock;
/* The header keeps malloc's alignment for the payload that follows. */
#define PK__BR_HDR ((sizeof(pk__brblock) + 15) & ~(size_t)15)

typedef struct pk__brcache {
  pk__brblock *lists[PK__BR_CLASSES];
  size_t cached; /* bytes on the lists */
} pk__brcache;

static void *br_alloc(void *opaque, size_t size) {
  pk__brcache *c = opaque;
  size_t cls = 0;
  while (cls < PK__BR_CLASSES && ((size_t)1 << (cls + PK__BR_MIN_SHIFT)) < size)
    cls++;
  if (cls == PK__BR_CLASSES)
    return NULL;
  pk__brblock *b = c->lists[cls];
  if (b) {
    c->lists[cls] = b->next;
    c->cached -= (size_t)1 << (cls + PK__BR_MIN_SHIFT);
  } else {
    b = malloc(PK__BR_HDR + ((size_t)1 << (cls + PK__BR_MIN_SHIFT)));
    if (!b)
      return NULL;
    b->cls = cls;
  }
  return (unsigned char *)b + PK__BR_HDR;
}

static void br_free(void *opaque, void *p) {
  pk__brcache *c = opaque;
  if (!p)
    return;
  pk__brblock *b = (pk__brblock *)(void *)((unsigned char *)p - PK__BR_HDR);
  size_t sz = (size_t)1 << (b->cls + PK__BR_MIN_SHIFT);
  if (c->cached + sz > PK__BR_CACHE_MAX) {
    free(b);
    return;
  }
  b->next = c->lists[b->cls];
  c->lists[b->cls] = b;
  c->cached += sz;
}

static void br_cache_clear(pk__brcache *c) {
  for (size_t i = 0; i < PK__BR_CLASSES; i++) {
    while (c->lists[i]) {
      pk__brblock *b = c->lists[i];
      c->lists[i] = b->next;
      free(b);
    }
  }
  c->cached = 0;
}

/* The smallest window that covers the chunk, as the brotli CLI picks it:
 * a larger one buys nothing and costs the decoder memory. */
static int brotli_lgwin(size_t n) {
  int w = BROTLI_MIN_WINDOW_BITS;
  while (w < BROTLI_MAX_WINDOW_BITS && ((size_t)1 << w) - 16 < n)
    w++;
  return w;
}

/* Brotli's own fallback (encode.c MakeUncompressedStream, which its one-shot
 * BrotliEncoderCompress uses and its streaming API does not): a valid stream
 * of uncompressed meta-blocks, never larger than
 * BrotliEncoderMaxCompressedSize(n). */
static size_t brotli_raw_size(size_t n) {
  if (n == 0)
    return 1;
  size_t size = 3; /* header 2 + final empty meta-block 1 */
  for (size_t left = n; left > 0;) {
    size_t chunk = left > ((size_t)1 << 24) ? (size_t)1 << 24 : left;
    size += (chunk > ((size_t)1 << 20) ? 4 : 3) + chunk;
    left -= chunk;
  }
  return size;
}

static size_t brotli_write_raw(const uint8_t *in, size_t n, uint8_t *out) {
  size_t pos = 0;
  if (n == 0) {
    out[0] = 6; /* ISLAST, ISEMPTY */
    return 1;
  }
  out[pos++] = 0x21; /* window bits 10, not last */
  out[pos++] = 0x03; /* empty metadata meta-block, padding */
  for (size_t off = 0; off < n;) {
    uint32_t chunk =
        n - off > ((size_t)1 << 24) ? 1u << 24 : (uint32_t)(n - off);
    uint32_t nibbles = chunk > 1u << 16 ? (chunk > 1u << 20 ? 2 : 1) : 0;
    uint32_t bits = (nibbles << 1) | ((chunk - 1) << 3) |
                    (1u << (19 + 4 * nibbles)); /* ISUNCOMPRESSED */
    out[pos++] = (uint8_t)bits;
    out[pos++] = (uint8_t)(bits >> 8);
    out[pos++] = (uint8_t)(bits >> 16);
    if (nibbles == 2)
      out[pos++] = (uint8_t)(bits >> 24);
    memcpy(out + pos, in + off, chunk);
    pos += chunk;
    off += chunk;
  }
  out[pos++] = 3; /* ISLAST, ISEMPTY */
  return pos;
}

/* ---- the context ----------------------------------------------------------
 */

struct pk_codec {
  pk_codec_spec spec;
  ZSTD_CCtx *zc;
  ZSTD_DCtx *zd;
  int zc_level;  /* level last set on zc */
  int zc_wlog;   /* windowLog set on zc for linked streams, 0: zstd's own */
  int zc_stream; /* a linked stream was started on zc */
  int zc_stable; /* ZSTD_c_stableInBuffer set on zc */
  const uint8_t *zc_base;      /* the stable group buffer */
  uint64_t link_size, zc_hint; /* a linked group's size; the hint set */
  int zd_capped;               /* windowLogMax set on zd */
  void *lz4_state;
  struct libdeflate_compressor *dc;
  struct libdeflate_decompressor *dd;
  int dc_level; /* level dc was made for */
  pk__brcache br;
};

int pk_codec_create(const pk_codec_spec *spec, pk_codec **out) {
  if (!out || pk_codec_spec_check(spec, NULL) != PK_OK)
    return PK_EINVAL;
  pk_codec *c = calloc(1, sizeof *c);
  if (!c)
    return PK_ENOMEM;
  c->spec = *spec;
  c->spec.level = normalize_level(spec->kind, spec->level);
  *out = c;
  return PK_OK;
}

void pk_codec_free(pk_codec *c) {
  if (!c)
    return;
  ZSTD_freeCCtx(c->zc);
  ZSTD_freeDCtx(c->zd);
  free(c->lz4_state);
  libdeflate_free_compressor(c->dc);
  libdeflate_free_decompressor(c->dd);
  br_cache_clear(&c->br);
  free(c);
}

const pk_codec_spec *pk_codec_get_spec(const pk_codec *c) {
  return &c->spec;
}

int pk_codec_set_level(pk_codec *c, int level) {
  if (!c)
    return PK_EINVAL;
  pk_codec_spec s = {c->spec.kind, level};
  if (pk_codec_spec_check(&s, NULL) != PK_OK)
    return PK_EINVAL;
  c->spec.level = normalize_level(s.kind, level);
  return PK_OK;
}

/* Libraries may not accept NULL even for zero lengths (and memcpy(NULL, ..,
 * 0) is undefined): point empty buffers at a dummy byte instead. */
static unsigned char k_dummy[1];

static int zstd_enc_error(size_t r) {
  switch (ZSTD_getErrorCode(r)) {
  case ZSTD_error_dstSize_tooSmall:
    return PK_ELIMIT;
  case ZSTD_error_memory_allocation:
    return PK_ENOMEM;
  default:
    return PK_EINVAL;
  }
}

static int zstd_encode(pk_codec *c, const void *in, size_t n, void *out,
                       size_t cap, size_t *out_len) {
  if (!c->zc) {
    c->zc = ZSTD_createCCtx();
    if (!c->zc)
      return PK_ENOMEM;
    c->zc_level = INT_MIN;
  }
  if (c->zc_level != c->spec.level) {
    if (ZSTD_isError(ZSTD_CCtx_setParameter(c->zc, ZSTD_c_compressionLevel,
                                            c->spec.level)))
      return PK_EINVAL;
    c->zc_level = c->spec.level;
  }
  if (c->zc_wlog || c->zc_stream || c->zc_hint) {
    ZSTD_CCtx_reset(c->zc, ZSTD_reset_session_only);
    ZSTD_CCtx_setParameter(c->zc, ZSTD_c_windowLog, 0);
    ZSTD_CCtx_setParameter(c->zc, ZSTD_c_srcSizeHint, 0);
    ZSTD_CCtx_setParameter(c->zc, ZSTD_c_stableInBuffer, 0);
    c->zc_wlog = c->zc_stream = c->zc_stable = 0;
    c->zc_hint = 0;
  }
  size_t r = ZSTD_compress2(c->zc, out, cap, in, n);
  if (ZSTD_isError(r))
    return zstd_enc_error(r);
  *out_len = r;
  return PK_OK;
}

/* A linked chunk: one ZSTD_e_flush of a frame that spans the group. */
static int zstd_encode_linked(pk_codec *c, const uint8_t *base, size_t off,
                              size_t n, void *out, size_t cap, size_t *out_len,
                              int linked, int stable) {
  if (!c->zc) {
    c->zc = ZSTD_createCCtx();
    if (!c->zc)
      return PK_ENOMEM;
    c->zc_level = INT_MIN;
  }
  if (!linked) {
    ZSTD_CCtx_reset(c->zc, ZSTD_reset_session_only);
    if (c->zc_level != c->spec.level) {
      if (ZSTD_isError(ZSTD_CCtx_setParameter(c->zc, ZSTD_c_compressionLevel,
                                              c->spec.level)))
        return PK_EINVAL;
      c->zc_level = c->spec.level;
    }
    /* Parameters as for one input of the group's size (zstd then needs
     * no window larger than the group, so a small archive's decoder
     * allocates little), the window capped so that a decoder's
     * (ZSTD_d_windowLogMax) stays small at levels 20-22 too. */
    uint64_t hint = c->link_size ? c->link_size : PK_CODEC_CHUNK_MAX;
    if (hint > INT_MAX)
      hint = INT_MAX;
    if (hint != c->zc_hint) {
      if (ZSTD_isError(
              ZSTD_CCtx_setParameter(c->zc, ZSTD_c_srcSizeHint, (int)hint)))
        return PK_EINVAL;
      c->zc_hint = hint;
    }
    int wlog = 0;
    if (c->spec.level >= 20) {
      wlog = ZSTD_WINDOWLOG_MIN;
      while (wlog < PK_CODEC_LINK_WLOG_MAX && ((uint64_t)1 << wlog) < hint)
        wlog++;
    }
    if (wlog != c->zc_wlog) {
      if (ZSTD_isError(ZSTD_CCtx_setParameter(c->zc, ZSTD_c_windowLog, wlog)))
        return PK_EINVAL;
      c->zc_wlog = wlog;
    }
    /* Stable input: the group lies in one buffer that outlives it, so zstd
     * reads it in place (no copy into its own buffer, and its window never
     * wraps around into the slower two-segment match finder). */
    if (stable != c->zc_stable) {
      if (ZSTD_isError(
              ZSTD_CCtx_setParameter(c->zc, ZSTD_c_stableInBuffer, stable)))
        return PK_EINVAL;
      c->zc_stable = stable;
    }
    c->zc_stream = 1;
    c->zc_base = base;
  } else if (!c->zc_stream || stable != c->zc_stable ||
             (stable && base != c->zc_base)) {
    return PK_EINVAL; /* no such stream to continue */
  }
  if (!stable && off)
    return PK_EINVAL;
  ZSTD_inBuffer ib = {base, off + n, off};
  ZSTD_outBuffer ob = {out, cap, 0};
  for (;;) {
    size_t r = ZSTD_compressStream2(c->zc, &ob, &ib, ZSTD_e_flush);
    if (ZSTD_isError(r))
      return zstd_enc_error(r);
    if (r == 0)
      break;
    if (ob.pos == ob.size)
      return PK_ELIMIT;
  }
  *out_len = ob.pos;
  return PK_OK;
}

static int lz4_encode(pk_codec *c, const void *in, size_t n, void *out,
                      size_t cap, size_t *out_len) {
  int hc = c->spec.kind == PK_CODEC_LZ4HC;
  if (!c->lz4_state) {
    c->lz4_state =
        malloc((size_t)(hc ? LZ4_sizeofStateHC() : LZ4_sizeofState()));
    if (!c->lz4_state)
      return PK_ENOMEM;
  }
  int icap = cap > INT_MAX ? INT_MAX : (int)cap;
  int r = hc ? LZ4_compress_HC_extStateHC(c->lz4_state, in, out, (int)n, icap,
                                          c->spec.level)
             : LZ4_compress_fast_extState(c->lz4_state, in, out, (int)n, icap,
                                          c->spec.level);
  if (r <= 0)
    return PK_ELIMIT; /* lz4's only failure with valid sizes: no room */
  *out_len = (size_t)r;
  return PK_OK;
}

static int brotli_encode(pk_codec *c, const uint8_t *in, size_t n, uint8_t *out,
                         size_t cap, size_t *out_len) {
  BrotliEncoderState *s =
      BrotliEncoderCreateInstance(br_alloc, br_free, &c->br);
  if (!s)
    return PK_ENOMEM;
  BrotliEncoderSetParameter(s, BROTLI_PARAM_QUALITY, (uint32_t)c->spec.level);
  BrotliEncoderSetParameter(s, BROTLI_PARAM_LGWIN, (uint32_t)brotli_lgwin(n));
  BrotliEncoderSetParameter(s, BROTLI_PARAM_SIZE_HINT, (uint32_t)n);
  size_t avail_in = n, avail_out = cap;
  const uint8_t *next_in = in;
  uint8_t *next_out = out;
  BROTLI_BOOL ok =
      BrotliEncoderCompressStream(s, BROTLI_OPERATION_FINISH, &avail_in,
                                  &next_in, &avail_out, &next_out, NULL);
  int done = ok && BrotliEncoderIsFinished(s);
  BrotliEncoderDestroyInstance(s);
  size_t raw = brotli_raw_size(n);
  if (done && cap - avail_out <= raw) {
    *out_len = cap - avail_out;
    return PK_OK;
  }
  /* Out of room, or larger than storing: a raw stream is valid brotli too. */
  if (raw > cap)
    return PK_ELIMIT;
  *out_len = brotli_write_raw(in, n, out);
  return PK_OK;
}

static int gzip_encode(pk_codec *c, const void *in, size_t n, void *out,
                       size_t cap, size_t *out_len) {
  if (c->dc && c->dc_level != c->spec.level) {
    libdeflate_free_compressor(c->dc);
    c->dc = NULL;
  }
  if (!c->dc) {
    c->dc = libdeflate_alloc_compressor(c->spec.level);
    if (!c->dc)
      return PK_ENOMEM;
    c->dc_level = c->spec.level;
  }
  size_t r = libdeflate_gzip_compress(c->dc, in, n, out, cap);
  if (r == 0)
    return PK_ELIMIT;
  *out_len = r;
  return PK_OK;
}

int pk_codec_encode(pk_codec *c, const void *in, size_t in_len, void *out,
                    size_t out_cap, size_t *out_len) {
  if (!c || !out_len || in_len > PK_CODEC_CHUNK_MAX || (!in && in_len) ||
      (!out && out_cap))
    return PK_EINVAL;
  if (!in)
    in = k_dummy;
  if (!out)
    out = k_dummy;
  switch (c->spec.kind) {
  case PK_CODEC_NONE:
    if (out_cap < in_len)
      return PK_ELIMIT;
    memcpy(out, in, in_len);
    *out_len = in_len;
    return PK_OK;
  case PK_CODEC_ZSTD:
    return zstd_encode(c, in, in_len, out, out_cap, out_len);
  case PK_CODEC_LZ4:
  case PK_CODEC_LZ4HC:
    return lz4_encode(c, in, in_len, out, out_cap, out_len);
  case PK_CODEC_BROTLI:
    return brotli_encode(c, in, in_len, out, out_cap, out_len);
  case PK_CODEC_GZIP:
    return gzip_encode(c, in, in_len, out, out_cap, out_len);
  }
  return PK_EINVAL;
}

/* ---- decoding -------------------------------------------------------------
 */

static int zstd_decode(pk_codec *c, const void *in, size_t n, void *out,
                       size_t want) {
  if (!c->zd) {
    c->zd = ZSTD_createDCtx();
    if (!c->zd)
      return PK_ENOMEM;
  }
  /* Decodes every frame in the input straight into out: no window buffer,
   * fails on trailing bytes that are not a frame, and on output that would
   * not fit in `want` bytes. */
  size_t r = ZSTD_decompressDCtx(c->zd, out, want, in, n);
  if (ZSTD_isError(r))
    return ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation ? PK_ENOMEM
                                                                : PK_ECORRUPT;
  return r == want ? PK_OK : PK_ECORRUPT;
}

static int zstd_decode_linked(pk_codec *c, const void *in, size_t n, void *out,
                              size_t want, int linked) {
  if (!c->zd) {
    c->zd = ZSTD_createDCtx();
    if (!c->zd)
      return PK_ENOMEM;
  }
  if (!c->zd_capped) {
    /* A hostile frame header cannot make the window larger than a linked
     * stream ever has. */
    if (ZSTD_isError(ZSTD_DCtx_setParameter(c->zd, ZSTD_d_windowLogMax,
                                            PK_CODEC_LINK_WLOG_MAX)))
      return PK_ENOMEM;
    c->zd_capped = 1;
  }
  if (!linked)
    ZSTD_DCtx_reset(c->zd, ZSTD_reset_session_only);
  ZSTD_inBuffer ib = {in, n, 0};
  ZSTD_outBuffer ob = {out, want, 0};
  for (;;) {
    size_t ip = ib.pos, op = ob.pos;
    size_t r = ZSTD_decompressStream(c->zd, &ob, &ib);
    if (ZSTD_isError(r))
      return ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation ? PK_ENOMEM
                                                                  : PK_ECORRUPT;
    if (ib.pos == ib.size && ob.pos == ob.size)
      break;
    if (ib.pos == ip && ob.pos == op)
      return PK_ECORRUPT; /* truncated, or more than want */
  }
  /* Nothing may be left over: bytes decoded past `want` would belong to
   * no chunk. */
  uint8_t extra;
  ZSTD_outBuffer eb = {&extra, 1, 0};
  ZSTD_inBuffer e0 = {k_dummy, 0, 0};
  size_t r = ZSTD_decompressStream(c->zd, &eb, &e0);
  if (ZSTD_isError(r) || eb.pos)
    return PK_ECORRUPT;
  return PK_OK;
}

static int lz4_decode(const void *in, size_t n, void *out, size_t want) {
  if (n > (size_t)LZ4_compressBound((int)PK_CODEC_CHUNK_MAX))
    return PK_ECORRUPT; /* longer than any block we could have written */
  /* The _safe decoder checks every read and write against both ends and
   * fails unless the block ends exactly at in + n. */
  int r = LZ4_decompress_safe(in, out, (int)n, (int)want);
  return r >= 0 && (size_t)r == want ? PK_OK : PK_ECORRUPT;
}

static int brotli_decode(pk_codec *c, const uint8_t *in, size_t n, uint8_t *out,
                         size_t want) {
  BrotliDecoderState *s =
      BrotliDecoderCreateInstance(br_alloc, br_free, &c->br);
  if (!s)
    return PK_ENOMEM;
  size_t avail_in = n, avail_out = want;
  const uint8_t *next_in = in;
  uint8_t *next_out = out;
  BrotliDecoderResult r = BrotliDecoderDecompressStream(
      s, &avail_in, &next_in, &avail_out, &next_out, NULL);
  int err = BrotliDecoderGetErrorCode(s);
  BrotliDecoderDestroyInstance(s);
  /* NEEDS_MORE_INPUT: truncated; NEEDS_MORE_OUTPUT: longer than want. */
  if (r == BROTLI_DECODER_RESULT_SUCCESS)
    return avail_in == 0 && avail_out == 0 ? PK_OK : PK_ECORRUPT;
  if (r == BROTLI_DECODER_RESULT_ERROR &&
      err <= BROTLI_DECODER_ERROR_ALLOC_CONTEXT_MODES &&
      err >= BROTLI_DECODER_ERROR_ALLOC_BLOCK_TYPE_TREES)
    return PK_ENOMEM;
  return PK_ECORRUPT;
}

static int gzip_decode(pk_codec *c, const void *in, size_t n, void *out,
                       size_t want) {
  if (!c->dd) {
    c->dd = libdeflate_alloc_decompressor();
    if (!c->dd)
      return PK_ENOMEM;
  }
  size_t used_in = 0;
  /* A NULL actual_out makes libdeflate demand exactly `want` bytes; it also
   * checks the member's CRC-32 and length. */
  enum libdeflate_result r =
      libdeflate_gzip_decompress_ex(c->dd, in, n, out, want, &used_in, NULL);
  return r == LIBDEFLATE_SUCCESS && used_in == n ? PK_OK : PK_ECORRUPT;
}

void pk_codec_set_link_size(pk_codec *c, uint64_t group_size) {
  if (c)
    c->link_size = group_size;
}

int pk_codec_encode_linked(pk_codec *c, const void *in, size_t in_len,
                           void *out, size_t out_cap, size_t *out_len,
                           int linked) {
  if (!c || !out_len || in_len > PK_CODEC_CHUNK_MAX || (!in && in_len) || !out)
    return PK_EINVAL;
  if (c->spec.kind != PK_CODEC_ZSTD)
    return PK_EUNSUPPORTED;
  return zstd_encode_linked(c, in ? in : k_dummy, 0, in_len, out, out_cap,
                            out_len, linked, 0);
}

int pk_codec_encode_linked_at(pk_codec *c, const void *base, size_t off,
                              size_t in_len, void *out, size_t out_cap,
                              size_t *out_len, int linked) {
  if (!c || !out_len || !base || in_len > PK_CODEC_CHUNK_MAX || !out)
    return PK_EINVAL;
  if (c->spec.kind != PK_CODEC_ZSTD)
    return PK_EUNSUPPORTED;
  return zstd_encode_linked(c, base, off, in_len, out, out_cap, out_len, linked,
                            1);
}

int pk_codec_decode_linked(pk_codec *c, const void *in, size_t in_len,
                           void *out, size_t expected_len, size_t *out_len,
                           int linked) {
  if (!c || !out_len || (!in && in_len) || (!out && expected_len))
    return PK_EINVAL;
  if (c->spec.kind != PK_CODEC_ZSTD)
    return PK_EUNSUPPORTED;
  if (expected_len > PK_CODEC_CHUNK_MAX)
    return PK_ECORRUPT;
  int r = zstd_decode_linked(c, in ? in : k_dummy, in_len, out ? out : k_dummy,
                             expected_len, linked);
  if (r == PK_OK)
    *out_len = expected_len;
  return r;
}

int pk_codec_decode(pk_codec *c, const void *in, size_t in_len, void *out,
                    size_t expected_len, size_t *out_len) {
  if (!c || !out_len || (!in && in_len) || (!out && expected_len))
    return PK_EINVAL;
  if (expected_len > PK_CODEC_CHUNK_MAX)
    return PK_ECORRUPT;
  if (!in)
    in = k_dummy;
  if (!out)
    out = k_dummy;
  int r = PK_EINVAL;
  switch (c->spec.kind) {
  case PK_CODEC_NONE:
    r = in_len == expected_len ? PK_OK : PK_ECORRUPT;
    if (r == PK_OK)
      memcpy(out, in, in_len);
    break;
  case PK_CODEC_ZSTD:
    r = zstd_decode(c, in, in_len, out, expected_len);
    break;
  case PK_CODEC_LZ4:
  case PK_CODEC_LZ4HC:
    r = lz4_decode(in, in_len, out, expected_len);
    break;
  case PK_CODEC_BROTLI:
    r = brotli_decode(c, in, in_len, out, expected_len);
    break;
  case PK_CODEC_GZIP:
    r = gzip_decode(c, in, in_len, out, expected_len);
    break;
  }
  if (r == PK_OK)
    *out_len = expected_len;
  return r;
}
