/* A streamed round trip larger than 4 GiB: 64-bit sizes and offsets
 * everywhere (record offsets, the end record's total, the index), and
 * memory that does not grow with the input.
 *
 * It runs in `make test` (about 20 s) unless PIKA_LARGE_TESTS=0, and skips
 * itself when $TMPDIR has less than 10 GiB free (the archive is ~4.3 GiB;
 * the file is unlinked at once, so nothing is left even if the test dies).
 *
 * A writer thread generates deterministic data into a pipe; the engine
 * encodes it with lz4 and an unknown original size (standard input), so
 * the threaded path runs with adaptive chunks. Decoding hands the bytes to a
 * sink that regenerates the data at each offset and compares. Each phase
 * runs in a child process so that getrusage() reports its own peak RSS. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "pipe/archive.h"
#include "pipe/engine.h"
#include "pipe/spec.h"
#include "runtime/governor.h"
#include "test.h"

#define TOTAL ((uint64_t)4608 << 20) /* 4.5 GiB */
#define BLOCK ((size_t)64 << 10)
#define TABLE ((size_t)1 << 20)

/* The data: 64 KiB blocks, each a window of a random table (one block in
 * 16 is text, which lz4 shrinks; the rest is not) stamped with its index,
 * so a block in the wrong place never compares equal. */
static uint8_t *table;

static void make_table(void) {
  table = malloc(TABLE + BLOCK);
  uint64_t x = 0x9E3779B97F4A7C15u;
  for (size_t i = 0; i < TABLE + BLOCK; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    table[i] = (i / BLOCK) % 16 == 3 ? (uint8_t)("lorem ipsum\n"[x % 12])
                                     : (uint8_t)(x >> 24);
  }
}

static void gen_block(uint64_t b, uint8_t *out) {
  uint64_t h = b * 0x9E3779B97F4A7C15u;
  size_t start = (size_t)(h >> 44) % TABLE;
  if ((b % 16) == 5)
    start = 3 * BLOCK; /* the text block */
  memcpy(out, table + start, BLOCK);
  memcpy(out, &b, sizeof b);
}

/* Writes [off, off+n) of the data to out. */
static void gen_range(uint64_t off, uint8_t *out, size_t n) {
  static _Thread_local uint8_t blk[BLOCK];
  while (n) {
    uint64_t b = off / BLOCK;
    size_t in = (size_t)(off % BLOCK), take = BLOCK - in;
    if (take > n)
      take = n;
    gen_block(b, blk);
    memcpy(out, blk + in, take);
    out += take, off += take, n -= take;
  }
}

static void *writer(void *arg) {
  int fd = *(int *)arg;
  uint8_t *buf = malloc(BLOCK * 16);
  for (uint64_t off = 0; off < TOTAL;) {
    size_t n = BLOCK * 16;
    if (n > TOTAL - off)
      n = (size_t)(TOTAL - off);
    gen_range(off, buf, n);
    for (size_t done = 0; done < n;) {
      ssize_t w = write(fd, buf + done, n - done);
      if (w < 0 && errno == EINTR)
        continue;
      ASSERT(w > 0);
      done += (size_t)w;
    }
    off += n;
  }
  free(buf);
  close(fd);
  return NULL;
}

typedef struct cmp_sink {
  uint64_t next;
  uint8_t *scratch;
  size_t cap;
} cmp_sink;

static int sink_cmp(void *ctx, uint64_t off, const uint8_t *p, size_t n) {
  cmp_sink *c = ctx;
  ASSERT_UEQ(off, c->next);
  if (n > c->cap) {
    c->cap = n;
    c->scratch = realloc(c->scratch, n);
  }
  gen_range(off, c->scratch, n);
  if (memcmp(c->scratch, p, n) != 0)
    TEST_FAIL_("restored data differs in [%ju, %ju)", (uintmax_t)off,
               (uintmax_t)(off + n));
  c->next += n;
  return PK_OK;
}

static pk_gov *new_gov(void) {
  pk_gov *gov;
  ASSERT_OK(pk_gov_create(&(pk_gov_config){.cpu_tokens = 2,
                                           .io_tokens = 4,
                                           .mem_budget = 256u << 20},
                          &gov));
  return gov;
}

static void encode_phase(int arc) {
  pk_gov *gov = new_gov();
  pk_pipe_spec spec;
  pk_errmsg e = {{0}};
  ASSERT_OK(pk_pipe_spec_parse("lz4", &spec, &e));
  pk_fmt_header h;
  pk_archive_keys k;
  ASSERT_OK(pk_archive_header_init(&h, &spec, PK_FMT_MAX_CHUNK,
                                   PK_FMT_SIZE_UNKNOWN, 0644, 1700000000, "-",
                                   &e));
  ASSERT_OK(pk_archive_keys_new(&h, NULL, NULL, NULL, &k, &e));
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  pthread_t t;
  ASSERT_EQ(pthread_create(&t, NULL, writer, &p[1]), 0);
  pk_pipe_opts o = {.gov = gov}; /* adaptive chunks, governor's workers */
  pk_pipe_stats st;
  int rc = pk_pipe_encode(&o, p[0], arc, &h, &k, &st, &e);
  if (rc)
    fprintf(stderr, "encode: %s\n", e.text);
  ASSERT_OK(rc);
  pthread_join(t, NULL);
  close(p[0]);
  ASSERT_UEQ(st.in_bytes, TOTAL);
  ASSERT(st.out_bytes > ((uint64_t)1 << 32));
  ASSERT_EQ(st.fast_path, 0);
  fprintf(stderr,
          "   encode: %ju bytes -> %ju bytes, %ju chunks (%ju .. %ju B), "
          "%d workers, %.1f s, %.0f MB/s\n",
          (uintmax_t)st.in_bytes, (uintmax_t)st.out_bytes, (uintmax_t)st.chunks,
          (uintmax_t)st.first_chunk_size, (uintmax_t)st.last_chunk_size,
          st.workers, (double)st.elapsed_ns / 1e9,
          (double)st.in_bytes / ((double)st.elapsed_ns / 1e9) / 1e6);
  pk_gov_free(gov);
}

static void decode_phase(int arc) {
  pk_gov *gov = new_gov();
  pk_errmsg e = {{0}};
  pk_fmt_header h;
  uint8_t raw[PK_FMT_HEADER_MAX];
  uint64_t hlen;
  pk_archive_keys k;
  lseek(arc, 0, SEEK_SET);
  ASSERT_OK(pk_pipe_read_header(arc, &h, raw, &hlen, &e));
  ASSERT_UEQ(h.original_size, PK_FMT_SIZE_UNKNOWN);
  ASSERT(h.flags & PK_FMT_F_SIZE_UNKNOWN);
  ASSERT_OK(pk_pipe_open_keys(&h, raw, hlen, NULL, NULL, &k, &e));
  cmp_sink c = {0};
  pk_pipe_sink sink = {sink_cmp, &c};
  pk_pipe_opts o = {.gov = gov};
  pk_pipe_stats st;
  pk_fmt_index_entry *idx = NULL;
  uint64_t idx_n = 0;
  int rc = pk_pipe_decode(&o, arc, hlen, &h, &k, &sink, &idx, &idx_n, &st, &e);
  if (rc)
    fprintf(stderr, "decode: %s\n", e.text);
  ASSERT_OK(rc);
  ASSERT_UEQ(c.next, TOTAL);
  ASSERT_UEQ(st.out_bytes, TOTAL);

  /* The trailing index: 64-bit offsets past 4 GiB, sizes summing past 4 GiB,
   * and the same records decode walked. */
  pk_fmt_index_entry *stored;
  uint64_t n, ioff, sum = 0;
  ASSERT_OK(pk_pipe_read_index(arc, &k, &stored, &n, &ioff, &e));
  ASSERT_UEQ(n, idx_n);
  ASSERT(ioff > ((uint64_t)1 << 32));
  for (uint64_t i = 0; i < n; i++) {
    ASSERT_UEQ(stored[i].offset, idx[i].offset);
    ASSERT_UEQ(stored[i].stored_len, idx[i].stored_len);
    ASSERT_UEQ(stored[i].orig_len, idx[i].orig_len);
    if (i)
      ASSERT_UEQ(stored[i].offset, stored[i - 1].offset +
                                       PK_FMT_RECORD_HDR_LEN +
                                       stored[i - 1].stored_len);
    sum += stored[i].orig_len;
  }
  ASSERT_UEQ(sum, TOTAL);
  ASSERT(stored[n - 1].offset > ((uint64_t)1 << 32));
  fprintf(stderr,
          "   decode: %ju bytes, %ju chunks, last record at offset %ju, "
          "index at %ju, %.1f s, %.0f MB/s\n",
          (uintmax_t)st.out_bytes, (uintmax_t)st.chunks,
          (uintmax_t)stored[n - 1].offset, (uintmax_t)ioff,
          (double)st.elapsed_ns / 1e9,
          (double)st.out_bytes / ((double)st.elapsed_ns / 1e9) / 1e6);
  free(stored);
  free(idx);
  free(c.scratch);
  pk_archive_keys_wipe(&k);
  pk_gov_free(gov);
}

/* Runs phase in a child; returns the child's peak RSS in KiB. */
static long in_child(void (*phase)(int), int arc, const char *name) {
  fflush(NULL);
  pid_t pid = fork();
  ASSERT(pid >= 0);
  if (pid == 0) {
    phase(arc);
    fflush(NULL);
    _exit(0);
  }
  int status;
  struct rusage ru;
  ASSERT_EQ(wait4(pid, &status, 0, &ru), pid);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    TEST_FAIL_("%s phase failed (status 0x%x)", name, status);
  return ru.ru_maxrss;
}

int main(void) {
  const char *on = getenv("PIKA_LARGE_TESTS");
  if (on && strcmp(on, "0") == 0) {
    printf("test_large: skipped (PIKA_LARGE_TESTS=0)\n");
    return 0;
  }
  const char *tmp = getenv("TMPDIR");
  struct statvfs vfs;
  if (statvfs(tmp && *tmp ? tmp : "/tmp", &vfs) == 0 &&
      (uint64_t)vfs.f_bavail * vfs.f_frsize < ((uint64_t)10 << 30)) {
    printf("test_large: skipped (less than 10 GiB free in %s)\n",
           tmp && *tmp ? tmp : "/tmp");
    return 0;
  }
  make_table();
  char path[4096];
  snprintf(path, sizeof path, "%s/pika-large-XXXXXX",
           tmp && *tmp ? tmp : "/tmp");
  int arc = mkstemp(path);
  ASSERT(arc >= 0);
  unlink(path); /* gone when the test ends, even if it fails */
  uint64_t t0 = pk_now_ns();
  long enc_kib = in_child(encode_phase, arc, "encode");
  long dec_kib = in_child(decode_phase, arc, "decode");
  printf("large.encode.peak_rss %.1f MiB\n", (double)enc_kib / 1024);
  printf("large.decode.peak_rss %.1f MiB\n", (double)dec_kib / 1024);
  printf("large.total_time %.1f s\n", (double)(pk_now_ns() - t0) / 1e9);
  close(arc);
  free(table);
  return 0;
}
