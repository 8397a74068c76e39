/* fuzz_codec.c — libFuzzer target for pipe/codec.h (not part of ctest).
 *
 *   clang -std=c17 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -Isrc src/base/error.c src/pipe/codec.c tests/pipe/fuzz_codec.c \
 *     -o /tmp/fuzz_codec -lzstd -llz4 -lbrotlienc -lbrotlidec -ldeflate
 *   /tmp/fuzz_codec -max_len=70000 -max_total_time=300
 *
 * Byte 0 picks the codec (low 3 bits, mod 6) and the mode (bit 7).
 * Decode mode: bytes 1-3 are expected_len (little-endian, 24 bits), the rest
 * is a hostile chunk; the call must return PK_OK with exactly expected_len
 * bytes, or PK_ECORRUPT. Round-trip mode: bytes 1.. are plain data, encoded
 * at the level in byte 1 (folded into the codec's range) and decoded back.
 *
 * The compression libraries are the system's uninstrumented builds, so
 * ASan cannot see their accesses; input and output therefore sit flush
 * against PROT_NONE pages, and any over-read or over-write faults. */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pipe/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct region {
  unsigned char *map;
  size_t body;
} region;

static unsigned char *flush_end(region *r, size_t n) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  if (!r->map || n > r->body) {
    if (r->map)
      munmap(r->map, r->body + 2 * page);
    r->body = (n + page - 1) / page * page + page;
    r->map = mmap(NULL, r->body + 2 * page, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (r->map == MAP_FAILED)
      abort();
    mprotect(r->map, page, PROT_NONE);
    mprotect(r->map + page + r->body, page, PROT_NONE);
  }
  return r->map + page + r->body - n;
}

static region r_in, r_out, r_enc;
static pk_codec *codecs[PK_CODEC_KIND_COUNT];

static pk_codec *codec_for(int kind) {
  if (!codecs[kind]) {
    pk_codec_info info;
    pk_codec_get_info((enum pk_codec_kind)kind, &info);
    pk_codec_spec s = {(enum pk_codec_kind)kind, info.default_level};
    if (pk_codec_create(&s, &codecs[kind]) != PK_OK)
      abort();
  }
  return codecs[kind];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 4)
    return 0;
  int kind = (data[0] & 7) % PK_CODEC_KIND_COUNT;
  pk_codec *c = codec_for(kind);
  if (data[0] & 0x80) {
    const uint8_t *plain = data + 1;
    size_t n = size - 1;
    pk_codec_info info;
    pk_codec_get_info((enum pk_codec_kind)kind, &info);
    if (info.has_level) {
      /* Keep to fast levels so the fuzzer gets many runs a second. */
      int hi = info.max_level > 9 ? 9 : info.max_level;
      int lo = info.min_level < -50 ? -50 : info.min_level;
      pk_codec_set_level(c, lo + data[1] % (hi - lo + 1));
    }
    size_t bound = pk_codec_bound(pk_codec_get_spec(c), n), enc_len, dec_len;
    unsigned char *in = flush_end(&r_in, n);
    memcpy(in, plain, n);
    unsigned char *enc = flush_end(&r_enc, bound);
    if (pk_codec_encode(c, in, n, enc, bound, &enc_len) != PK_OK)
      abort();
    /* Move the chunk flush against the guard before decoding it. */
    unsigned char *chunk = memmove(enc + bound - enc_len, enc, enc_len);
    unsigned char *out = flush_end(&r_out, n);
    if (pk_codec_decode(c, chunk, enc_len, out, n, &dec_len) != PK_OK)
      abort();
    if (dec_len != n || memcmp(out, plain, n) != 0)
      abort();
    return 0;
  }
  size_t want = (size_t)data[1] | (size_t)data[2] << 8 | (size_t)data[3] << 16;
  size_t n = size - 4;
  unsigned char *in = flush_end(&r_in, n);
  memcpy(in, data + 4, n);
  unsigned char *out = flush_end(&r_out, want);
  size_t got = 0;
  int r = pk_codec_decode(c, in, n, out, want, &got);
  if (r == PK_OK ? got != want : r != PK_ECORRUPT)
    abort();
  return 0;
}
