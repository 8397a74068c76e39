/* bench_engine.c — the pipeline engine's scheduling choices, measured in
 * one process (no process start-up in the figures):
 *   - the small-file fast path against the threaded path for the same
 *     10 KiB input (the threaded path is what an unknown size takes);
 *   - two-lane batch scheduling against one queue, for 100 small files
 *     queued behind one large file: when do the small files finish?
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/clock.h"
#include "pipe/archive.h"
#include "pipe/batch.h"
#include "pipe/engine.h"
#include "pipe/spec.h"

static pk_gov *gov;
static int null_fd;
static pk_pipe_spec spec;

static int memfile(size_t n, unsigned seed) {
  int fd = memfd_create("bench", 0);
  uint8_t *p = malloc(n);
  uint64_t x = seed * 0x9E3779B97F4A7C15u + 1;
  for (size_t i = 0; i < n; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    p[i] = (i >> 12) % 2 ? (uint8_t)x : (uint8_t) "lorem ipsum \n"[x % 13];
  }
  if (write(fd, p, n) != (ssize_t)n)
    abort();
  free(p);
  return fd;
}

static int encode(int fd, uint64_t declared) {
  pk_fmt_header h;
  pk_archive_keys k;
  pk_pipe_stats st;
  pk_errmsg e;
  lseek(fd, 0, SEEK_SET);
  pk_archive_header_init(&h, &spec, PK_FMT_MAX_CHUNK, declared, 0644, 0, "b",
                         &e);
  pk_archive_keys_new(&h, NULL, NULL, NULL, &k, &e);
  pk_pipe_opts o = {.gov = gov};
  return pk_pipe_encode(&o, fd, null_fd, &h, &k, &st, &e);
}

static void fast_path(void) {
  const int n = 400;
  int fd = memfile(10240, 1);
  uint64_t t0 = pk_now_ns();
  for (int i = 0; i < n; i++)
    encode(fd, 10240);
  uint64_t fast = (pk_now_ns() - t0) / n;
  t0 = pk_now_ns();
  for (int i = 0; i < n; i++)
    encode(fd, PK_FMT_SIZE_UNKNOWN);
  uint64_t thr = (pk_now_ns() - t0) / n;
  printf("# one 10 KiB file through zstd:3; ratio = fast path / threaded\n");
  printf("engine.small_file.fast_path %.1f us\n", (double)fast / 1e3);
  printf("engine.small_file.threaded %.1f us\n", (double)thr / 1e3);
  printf("engine.small_file.ratio %.3f x\n", (double)fast / (double)thr);
  close(fd);
}

typedef struct file {
  int fd;
  uint64_t size;
} file;

static int run_file(void *ctx, pk_batch_item *it, pk_errmsg *e) {
  (void)ctx;
  (void)e;
  file *f = it->user;
  return encode(f->fd, f->size);
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static void fairness(void) {
  enum { SMALL = 100 };
  file files[SMALL + 1];
  pk_batch_item items[SMALL + 1];
  files[0] = (file){memfile(96u << 20, 7), 96u << 20};
  for (int i = 1; i <= SMALL; i++)
    files[i] = (file){memfile(16384, (unsigned)i), 16384};
  printf("# 1 x 96 MiB then %d x 16 KiB files, zstd:3; times from the start "
         "of the batch; ratio = two lanes / one queue\n",
         SMALL);
  const char *names[] = {"one_queue", "two_lanes"};
  double p50[2] = {0}, last[2] = {0}, total[2] = {0};
  for (int mode = 0; mode < 2; mode++) {
    for (int i = 0; i <= SMALL; i++)
      items[i] = (pk_batch_item){.user = &files[i], .size = files[i].size};
    /* small_limit 1 sends every file down the one (large) lane, in order:
     * the small files wait behind the large one. */
    pk_batch_run(items, SMALL + 1, mode ? 0 : 1, run_file, NULL, NULL);
    uint64_t done[SMALL];
    for (int i = 0; i < SMALL; i++)
      done[i] = items[i + 1].finished_ns;
    qsort(done, SMALL, sizeof *done, cmp_u64);
    p50[mode] = (double)done[SMALL / 2] / 1e6;
    last[mode] = (double)done[SMALL - 1] / 1e6;
    uint64_t end = items[0].finished_ns > done[SMALL - 1] ? items[0].finished_ns
                                                          : done[SMALL - 1];
    total[mode] = (double)end / 1e6;
    printf("engine.fair.%s.small_p50 %.1f ms\n", names[mode], p50[mode]);
    printf("engine.fair.%s.small_last %.1f ms\n", names[mode], last[mode]);
    printf("engine.fair.%s.large_done %.1f ms\n", names[mode],
           (double)items[0].finished_ns / 1e6);
    printf("engine.fair.%s.all_done %.1f ms\n", names[mode], total[mode]);
  }
  printf("engine.fair.small_p50.ratio %.3f x\n", p50[1] / p50[0]);
  printf("engine.fair.all_done.ratio %.3f x\n", total[1] / total[0]);
  for (int i = 0; i <= SMALL; i++)
    close(files[i].fd);
}

int main(void) {
  pk_errmsg e;
  if (pk_gov_create(NULL, &gov) || pk_pipe_spec_parse("zstd:3", &spec, &e))
    return 1;
  null_fd = open("/dev/null", O_WRONLY);
  fast_path();
  fairness();
  pk_gov_free(gov);
  return 0;
}
