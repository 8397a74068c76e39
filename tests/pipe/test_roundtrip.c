/* Round trips through the real engine: every stage combination, sizes
 * around the chunk size, the inline fast path and the threaded path, known
 * and unknown input sizes, passwords and key files. */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zstd.h>

#include "pipe/archive.h"
#include "pipe/engine.h"
#include "pipe/spec.h"
#include "runtime/governor.h"
#include "test.h"

static pk_gov *gov;
/* The group size roundtrip() asks for (0: the engine's choice). */
static uint64_t g_group;

typedef struct membuf {
  uint8_t *p;
  size_t n, cap;
} membuf;

static int sink_mem(void *ctx, uint64_t off, const uint8_t *p, size_t n) {
  membuf *m = ctx;
  ASSERT_UEQ(off, m->n); /* the engine delivers in order */
  if (m->n + n > m->cap) {
    m->cap = (m->n + n) * 2;
    m->p = realloc(m->p, m->cap);
  }
  memcpy(m->p + m->n, p, n);
  m->n += n;
  return PK_OK;
}

/* Mixed content: text-like lines with some random runs. */
static uint8_t *make_data(size_t n, unsigned seed) {
  uint8_t *d = malloc(n ? n : 1);
  uint64_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < n; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    d[i] = (i / 512) % 3 == 0 ? (uint8_t)x : (uint8_t)("abc def\n"[x % 8]);
  }
  return d;
}

static int file_with(const uint8_t *d, size_t n) {
  int fd = memfd_create("in", 0);
  ASSERT(fd >= 0);
  ASSERT_EQ(write(fd, d, n), (ssize_t)n);
  lseek(fd, 0, SEEK_SET);
  return fd;
}

static void roundtrip(const char *stages, size_t n, uint64_t chunk,
                      int unknown_size, int use_password) {
  pk_pipe_spec spec;
  pk_errmsg e = {{0}};
  ASSERT_OK(pk_pipe_spec_parse(stages, &spec, &e));
  uint8_t *data = make_data(n, (unsigned)n);
  int in = file_with(data, n), arc = memfd_create("arc", 0);
  pk_secret s = {0};
  pk_kdf_params fastkdf = {1, 8 * 1024, 1};
  if (pk_pipe_spec_cipher(&spec)) {
    if (use_password) {
      s.kind = PK_SECRET_PASSWORD;
      s.password = "correct horse";
      s.password_len = 13;
    } else {
      s.kind = PK_SECRET_KEYFILE;
      memset(s.key, 0x42, sizeof s.key);
    }
  }
  pk_fmt_header h;
  pk_archive_keys k;
  ASSERT_OK(pk_archive_header_init(&h, &spec, PK_FMT_MAX_CHUNK,
                                   unknown_size ? PK_FMT_SIZE_UNKNOWN : n, 0640,
                                   1700000000, "data.bin", &e));
  ASSERT_OK(pk_archive_keys_new(&h, &s, &fastkdf, NULL, &k, &e));
  pk_pipe_opts o = {
      .gov = gov, .workers = 2, .chunk_size = chunk, .group_size = g_group};
  pk_pipe_stats st;
  int rc = pk_pipe_encode(&o, in, arc, &h, &k, &st, &e);
  if (rc)
    fprintf(stderr, "encode %s n=%zu: %s\n", stages, n, e.text);
  ASSERT_OK(rc);
  ASSERT_UEQ(st.in_bytes, n);
  ASSERT_EQ(st.fast_path, !unknown_size && n < PK_PIPE_SMALL_FILE);
  pk_archive_keys_wipe(&k);

  /* Decode from the start, as restore does. */
  lseek(arc, 0, SEEK_SET);
  pk_fmt_header h2;
  uint8_t raw[PK_FMT_HEADER_MAX];
  uint64_t hlen;
  ASSERT_OK(pk_pipe_read_header(arc, &h2, raw, &hlen, &e));
  ASSERT_STREQ(h2.name, "data.bin");
  ASSERT_EQ(h2.mode, 0640);
  rc = pk_pipe_open_keys(&h2, raw, hlen, &s, NULL, &k, &e);
  ASSERT_OK(rc);
  membuf out = {0};
  pk_pipe_sink sink = {sink_mem, &out};
  pk_fmt_index_entry *idx = NULL;
  uint64_t idx_n = 0;
  rc = pk_pipe_decode(&o, arc, hlen, &h2, &k, &sink, &idx, &idx_n, &st, &e);
  if (rc)
    fprintf(stderr, "decode %s n=%zu: %s\n", stages, n, e.text);
  ASSERT_OK(rc);
  ASSERT_UEQ(out.n, n);
  if (!pk_pipe_spec_irreversible(&spec))
    ASSERT(n == 0 || memcmp(out.p, data, n) == 0);

  /* The trailing index agrees with the records. */
  pk_fmt_index_entry *stored;
  uint64_t stored_n, ioff;
  ASSERT_OK(pk_pipe_read_index(arc, &k, &stored, &stored_n, &ioff, &e));
  ASSERT_UEQ(stored_n, idx_n);
  for (uint64_t i = 0; i < idx_n; i++) {
    ASSERT_UEQ(stored[i].offset, idx[i].offset);
    ASSERT_UEQ(stored[i].orig_len, idx[i].orig_len);
    ASSERT_EQ(stored[i].flags, idx[i].flags);
  }
  /* zstd links chunks into groups: with a fixed chunk size, every group
   * but the last has group/chunk chunks, and only its first is unlinked. */
  ASSERT_EQ(h2.group_size != 0, strstr(stages, "zstd") != NULL);
  if (h2.group_size && chunk && g_group && !pk_pipe_spec_irreversible(&spec)) {
    ASSERT_UEQ(h2.group_size, g_group > chunk ? g_group : chunk);
    uint64_t per = h2.group_size / chunk;
    for (uint64_t i = 0; i < idx_n; i++)
      ASSERT_EQ(!!(idx[i].flags & PK_FMT_REC_LINKED), i % per != 0);
  }

  /* A wrong secret is told apart from damage. */
  if (pk_pipe_spec_cipher(&spec)) {
    pk_secret bad = s;
    if (use_password)
      bad.password = "wrong horse!!";
    else
      bad.key[0] ^= 1;
    pk_archive_keys k2;
    ASSERT_ERR(pk_pipe_open_keys(&h2, raw, hlen, &bad, NULL, &k2, &e),
               PK_EAUTH);
  }
  free(stored);
  free(idx);
  free(out.p);
  free(data);
  pk_archive_keys_wipe(&k);
  close(in);
  close(arc);
}

static const char *const combos[] = {
    "none",
    "zstd:3",
    "zstd:-5",
    "zstd:19",
    "lz4",
    "lz4hc:4",
    "brotli:1",
    "gzip:1",
    "aes256gcm",
    "chacha20poly1305",
    "xchacha20poly1305",
    "base64",
    "base64url,zstd:1",
    "zstd:3,aes256gcm",
    "lz4,xchacha20poly1305,sha256",
    "base64,gzip:6,chacha20poly1305,blake2b",
    "pii,zstd:3",
    "pii,base64,lz4,aes256gcm,sha256",
};

static void test_all_combinations_edge_sizes(void) {
  const uint64_t chunk = 4096;
  const size_t sizes[] = {0, 1, chunk - 1, chunk, chunk + 1, 3 * chunk + 7};
  for (size_t c = 0; c < sizeof combos / sizeof *combos; c++)
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
      roundtrip(combos[c], sizes[i], chunk, 0, 0);
}

static void test_threaded_path(void) {
  /* Above the small-file threshold, many chunks through the workers. */
  for (size_t c = 0; c < sizeof combos / sizeof *combos; c++)
    roundtrip(combos[c], PK_PIPE_SMALL_FILE + 12345, 8192, 0, 0);
}

static void test_unknown_size_and_adaptive(void) {
  roundtrip("zstd:3", 0, 0, 1, 0);
  roundtrip("zstd:3", 5, 0, 1, 0);
  roundtrip("lz4,aes256gcm", 3 << 20, 0, 1, 0);
  roundtrip("zstd:1", 5 << 20, 0, 0, 0); /* adaptive chunk size */
}

static void test_password(void) {
  roundtrip("zstd:3,aes256gcm", 1000, 4096, 0, 1);
  roundtrip("xchacha20poly1305", PK_PIPE_SMALL_FILE + 1, 16384, 0, 1);
}

static void test_linked_groups(void) {
  /* Groups of 4 chunks: sizes around the chunk and the group boundary,
   * and many groups through both workers. */
  const uint64_t chunk = 4096, group = 4 * chunk;
  const size_t sizes[] = {0,         1,     chunk - 1, chunk,        chunk + 1,
                          group - 1, group, group + 1, 3 * group + 7};
  static const char *const linked[] = {
      "zstd:3", "zstd:3,aes256gcm", "zstd:-5,xchacha20poly1305,sha256",
      "base64,zstd:1,chacha20poly1305", "pii,zstd:3"};
  g_group = group;
  for (size_t c = 0; c < sizeof linked / sizeof *linked; c++) {
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
      roundtrip(linked[c], sizes[i], chunk, 0, 0);
    roundtrip(linked[c], PK_PIPE_SMALL_FILE + 12345, chunk, 0, 0);
    roundtrip(linked[c], PK_PIPE_SMALL_FILE + 12345, chunk, 1, 0);
  }
  /* A group that is one chunk, and the engine's own group size. */
  g_group = chunk;
  roundtrip("zstd:3", PK_PIPE_SMALL_FILE + 1, chunk, 0, 0);
  g_group = 0;
  roundtrip("zstd:3,aes256gcm", 3 << 20, 0, 0, 0);
  roundtrip("zstd:3,aes256gcm", 3 << 20, 0, 1, 0);
}

/* Linked chunks compress like one stream: data that repeats every 192 KiB
 * cannot shrink in independent 64 KiB chunks, but a group sees the
 * repeats. The archive stays within 1 % (plus a fixed cost per chunk:
 * record header, index entry, zstd block headers) of one zstd -3 stream. */
static void test_linked_ratio(void) {
  const size_t period = 192 << 10, n = 4u << 20, chunk = 64 << 10;
  uint8_t *d = malloc(n);
  uint64_t x = 88172645463325252u;
  for (size_t i = 0; i < n; i++) {
    if (i < period) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      d[i] = (uint8_t)x;
    } else {
      d[i] = d[i - period];
    }
  }
  size_t zcap = ZSTD_compressBound(n);
  uint8_t *z = malloc(zcap);
  size_t zlen = ZSTD_compress(z, zcap, d, n, 3);
  ASSERT(!ZSTD_isError(zlen));
  pk_pipe_spec spec;
  pk_errmsg e = {{0}};
  ASSERT_OK(pk_pipe_spec_parse("zstd:3,aes256gcm", &spec, &e));
  int in = file_with(d, n), arc = memfd_create("arc", 0);
  pk_secret s = {.kind = PK_SECRET_KEYFILE};
  memset(s.key, 7, sizeof s.key);
  pk_fmt_header h;
  pk_archive_keys k;
  ASSERT_OK(pk_archive_header_init(&h, &spec, PK_FMT_MAX_CHUNK, n, 0600, 0,
                                   "r.bin", &e));
  ASSERT_OK(pk_archive_keys_new(&h, &s, NULL, NULL, &k, &e));
  pk_pipe_opts o = {.gov = gov,
                    .workers = 2,
                    .chunk_size = chunk,
                    .group_size = (uint64_t)16 << 20};
  pk_pipe_stats st;
  ASSERT_OK(pk_pipe_encode(&o, in, arc, &h, &k, &st, &e));
  uint64_t chunks = n / chunk, per_chunk = 24 + 24 + 16 + 3 * 8;
  uint64_t limit = zlen + zlen / 100 + chunks * per_chunk + 1024;
  if (st.out_bytes > limit)
    TEST_FAIL_("archive %llu bytes, one zstd -3 stream %zu (limit %llu)",
               (unsigned long long)st.out_bytes, zlen,
               (unsigned long long)limit);
  ASSERT(zlen < n / 10); /* the data really is that compressible */
  pk_archive_keys_wipe(&k);
  free(z);
  free(d);
  close(in);
  close(arc);
}

int main(void) {
  ASSERT_OK(pk_gov_create(&(pk_gov_config){.cpu_tokens = 2,
                                           .io_tokens = 4,
                                           .mem_budget = 512u << 20},
                          &gov));
  RUN(test_all_combinations_edge_sizes);
  RUN(test_threaded_path);
  RUN(test_unknown_size_and_adaptive);
  RUN(test_password);
  RUN(test_linked_groups);
  RUN(test_linked_ratio);
  pk_gov_free(gov);
  return 0;
}
