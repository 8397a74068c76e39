/* make_corpus.c — writes the seed archives of fuzz_archive.c and
 * test_corpus.c into tests/pipe/corpus/archive/ (run once; its output is
 * committed; not part of ctest).
 *
 *   clang -std=c17 -D_GNU_SOURCE -g -O1 -Isrc -Itests \
 *     $(find src/base src/runtime -name '*.c') src/pipe/aead.c \
 *     src/pipe/{archive,chain,codec,digest,engine,format,kdf,outfile,spec}.c \
 *     src/pipe/transform.c tests/pipe/make_corpus.c -o /tmp/make_corpus \
 *     -lzstd -llz4 -lbrotlienc -lbrotlidec -ldeflate -lxxhash -lcrypto \
 *     -lsodium -lpthread -lm
 *   /tmp/make_corpus tests/pipe/corpus/archive
 *
 * Small archives (at most a few chunks of 4 KiB) over every stage kind,
 * linked zstd groups (format version 2),
 * both decode paths (known size: inline; unknown size: threaded), empty
 * input, incompressible chunks (RAW), and the three ciphers under the fixed
 * key of archive_reader.h. Each is decoded back before it is written. Names
 * start with "seed-": test_corpus requires those to decode. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pipe/archive_reader.h"

typedef struct seed {
  const char *name, *stages;
  size_t size;
  int random; /* incompressible */
  int unknown_size;
  uint64_t group; /* zstd: bytes per linked group (0: the engine's) */
} seed;

static const seed seeds[] = {
    {"seed-none-empty", "none", 0, 0, 0},
    {"seed-none-1byte", "none", 1, 0, 0},
    {"seed-zstd", "zstd:3", 9000, 0, 0},
    {"seed-lz4-unknown-size", "lz4", 9000, 0, 1},
    {"seed-base64-gzip", "base64,gzip:6", 6000, 0, 0},
    {"seed-pii-base64url-brotli-sha256", "pii,base64url,brotli:1,sha256", 5000,
     0, 0},
    {"seed-gzip-raw", "gzip:1", 5000, 1, 0},
    {"seed-zstd-aes256gcm", "zstd:3,aes256gcm", 9000, 0, 0},
    {"seed-lz4hc-chacha20-blake2b", "lz4hc:4,chacha20poly1305,blake2b", 6000, 0,
     1},
    {"seed-xchacha20-raw", "xchacha20poly1305", 5000, 1, 0},
    /* Format version 2: linked groups of two 4 KiB chunks (the seeds
     * above are version 1 archives, kept to check that they still read). */
    {"seed-v2-zstd-linked", "zstd:3", 13000, 0, 0, 8192},
    {"seed-v2-zstd-aes256gcm-linked-unknown-size", "zstd:3,aes256gcm", 13000, 0,
     1, 8192},
};

static void make_data(uint8_t *d, size_t n, int random) {
  uint64_t x = 88172645463325252u;
  static const char text[] = "Jane Doe <jane.doe@example.com> +44 20 7946 "
                             "0958, card 4111 1111 1111 1111.\n";
  for (size_t i = 0; i < n; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    d[i] = random ? (uint8_t)x : (uint8_t)text[i % (sizeof text - 1)];
  }
}

static int make(const char *dir, const seed *sd, pk_gov *gov) {
  pk_errmsg e = {{0}};
  pk_pipe_spec spec;
  int rc = pk_pipe_spec_parse(sd->stages, &spec, &e);
  uint8_t d[16384];
  make_data(d, sd->size, sd->random);
  int in = memfd_create("in", 0), arc = memfd_create("arc", 0);
  if (sd->size && write(in, d, sd->size) != (ssize_t)sd->size)
    return 1;
  lseek(in, 0, SEEK_SET);
  pk_secret key = ar_key();
  const pk_secret *s = pk_pipe_spec_cipher(&spec) ? &key : NULL;
  pk_fmt_header h;
  pk_archive_keys k;
  if (!rc)
    rc = pk_archive_header_init(&h, &spec, PK_FMT_MAX_CHUNK,
                                sd->unknown_size ? PK_FMT_SIZE_UNKNOWN
                                                 : sd->size,
                                0644, 1700000000, "seed.txt", &e);
  if (!rc)
    rc = pk_archive_keys_new(&h, s, NULL, NULL, &k, &e);
  pk_pipe_opts o = {
      .gov = gov, .workers = 2, .chunk_size = 4096, .group_size = sd->group};
  pk_pipe_stats st;
  if (!rc)
    rc = pk_pipe_encode(&o, in, arc, &h, &k, &st, &e);
  pk_archive_keys_wipe(&k);
  if (rc) {
    fprintf(stderr, "%s: %s\n", sd->name, e.text);
    return 1;
  }
  ar_result r;
  ar_read(arc, s, gov, &r);
  if (r.header_rc || r.keys_rc || r.decode_rc || r.index_rc ||
      r.out_bytes != sd->size) {
    fprintf(stderr, "%s does not read back: %s\n", sd->name, r.e.text);
    return 1;
  }
  off_t n = lseek(arc, 0, SEEK_END);
  uint8_t *buf = malloc((size_t)n);
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, sd->name);
  int out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (out < 0 || pread(arc, buf, (size_t)n, 0) != n ||
      write(out, buf, (size_t)n) != n) {
    perror(path);
    return 1;
  }
  printf("%s: %lld bytes, %llu chunks\n", path, (long long)n,
         (unsigned long long)r.index_n);
  free(buf);
  close(out);
  close(in);
  close(arc);
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: make_corpus DIR\n");
    return 2;
  }
  pk_gov *gov;
  if (pk_gov_create(&(pk_gov_config){.cpu_tokens = 2,
                                     .io_tokens = 4,
                                     .mem_budget = 256u << 20},
                    &gov))
    return 1;
  int bad = 0;
  for (size_t i = 0; i < sizeof seeds / sizeof *seeds; i++)
    bad |= make(argv[1], &seeds[i], gov);
  pk_gov_free(gov);
  return bad;
}
