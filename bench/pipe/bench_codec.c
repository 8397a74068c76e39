/* bench_codec.c — codec and digest throughput on one core, with the CLIs a
 * user would otherwise run on the same bytes.
 *
 * Input: 64 MiB generated deterministically (xorshift64*, fixed seed) as a
 * sequence of segments of 4 KiB .. 256 KiB, each one of:
 *   70%  log-like text lines (timestamp, level, worker, user name, action,
 *        path, byte count, latency: words from small vocabularies, numbers),
 *   15%  random bytes (incompressible: already-compressed media),
 *   15%  zeros (sparse regions, padding).
 * Codecs compress it in 1 MiB chunks, each independently, one thread, as a
 * `pika pipe` worker does; MB/s counts original bytes (1 MB = 10^6 B) for
 * both directions; best of up to 3 passes. Digests stream the 64 MiB in
 * 1 MiB updates.
 *
 * Baselines: the zstd, lz4, gzip, sha256sum, b2sum and xxhsum CLIs on the
 * same bytes written to a temp file (read back from the page cache), timed
 * from fork to wait, so their figures include process start and file I/O
 * (a few ms); a CLI that is not installed is skipped. The CLIs compress the
 * file as one stream (zstd -3 with a 2 MiB window, lz4 in 4 MiB blocks, gzip
 * with zlib), and zstd and lz4 add a content checksum by default: that is
 * what a user gets. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "pipe/codec.h"
#include "pipe/digest.h"

#define TOTAL ((size_t)64 << 20)
#define CHUNK ((size_t)1 << 20)
#define NCHUNK (TOTAL / CHUNK)

static uint64_t rng = 0x243F6A8885A308D3u;

static uint64_t rnd(void) {
  rng ^= rng >> 12;
  rng ^= rng << 25;
  rng ^= rng >> 27;
  return rng * 0x2545F4914F6CDD1Du;
}

static size_t gen_text(unsigned char *p, size_t n, uint64_t *t) {
  static const char *const levels[] = {"INFO",  "INFO", "INFO",
                                       "DEBUG", "WARN", "ERROR"};
  static const char *const users[] = {"alice", "bob",   "carol", "dave",
                                      "erin",  "frank", "grace", "heidi"};
  static const char *const actions[] = {"GET", "PUT", "POST", "DELETE", "HEAD"};
  static const char *const paths[] = {"orders", "users", "items", "cart",
                                      "search", "login", "stats", "export"};
  size_t i = 0;
  char line[256];
  while (i < n) {
    *t += rnd() % 2000;
    uint64_t ms = *t;
    int len = snprintf(
        line, sizeof line,
        "2024-03-01T%02u:%02u:%02u.%03uZ %s worker-%u user=%s %s "
        "/api/v1/%s/%u bytes=%u latency_ms=%u\n",
        (unsigned)(ms / 3600000 % 24), (unsigned)(ms / 60000 % 60),
        (unsigned)(ms / 1000 % 60), (unsigned)(ms % 1000), levels[rnd() % 6],
        (unsigned)(rnd() % 16), users[rnd() % 8], actions[rnd() % 5],
        paths[rnd() % 8], (unsigned)(rnd() % 100000), (unsigned)(rnd() % 65536),
        (unsigned)(rnd() % 1000));
    for (int k = 0; k < len && i < n; k++)
      p[i++] = (unsigned char)line[k];
  }
  return i;
}

static void gen_mixed(unsigned char *p, size_t n) {
  uint64_t t = 0;
  for (size_t off = 0; off < n;) {
    size_t seg = 4096 + rnd() % (252 * 1024);
    if (seg > n - off)
      seg = n - off;
    unsigned kind = (unsigned)(rnd() % 100);
    if (kind < 70) {
      gen_text(p + off, seg, &t);
    } else if (kind < 85) {
      for (size_t i = 0; i < seg; i++)
        p[off + i] = (unsigned char)(rnd() >> 56);
    } else {
      memset(p + off, 0, seg);
    }
    off += seg;
  }
}

static double secs(uint64_t ns) {
  return (double)ns / 1e9;
}

/* ---- our codecs -----------------------------------------------------------
 */

typedef struct result {
  double comp_mbs, decomp_mbs, pct;
} result;

static result bench_codec(const char *text, const unsigned char *in,
                          unsigned char *back) {
  pk_codec_spec spec;
  pk_errmsg e;
  if (pk_codec_parse(text, &spec, &e) != PK_OK) {
    fprintf(stderr, "%s\n", e.text);
    exit(1);
  }
  pk_codec *c;
  if (pk_codec_create(&spec, &c) != PK_OK)
    exit(1);
  size_t bound = pk_codec_bound(&spec, CHUNK);
  unsigned char *enc = malloc(bound * NCHUNK);
  size_t lens[NCHUNK], total = 0;
  uint64_t best_c = UINT64_MAX, best_d = UINT64_MAX, spent = 0;
  for (int pass = 0; pass < 3 && (pass == 0 || spent < 1500000000u); pass++) {
    uint64_t t0 = pk_now_ns();
    total = 0;
    for (size_t k = 0; k < NCHUNK; k++) {
      if (pk_codec_encode(c, in + k * CHUNK, CHUNK, enc + k * bound, bound,
                          &lens[k]) != PK_OK)
        exit(1);
      total += lens[k];
    }
    uint64_t dt = pk_now_ns() - t0;
    spent += dt;
    best_c = dt < best_c ? dt : best_c;
  }
  for (int pass = 0; pass < 3; pass++) {
    uint64_t t0 = pk_now_ns();
    for (size_t k = 0; k < NCHUNK; k++) {
      size_t n;
      if (pk_codec_decode(c, enc + k * bound, lens[k], back + k * CHUNK, CHUNK,
                          &n) != PK_OK)
        exit(1);
    }
    uint64_t dt = pk_now_ns() - t0;
    best_d = dt < best_d ? dt : best_d;
  }
  if (memcmp(back, in, TOTAL) != 0) {
    fprintf(stderr, "%s: round trip differs\n", text);
    exit(1);
  }
  free(enc);
  pk_codec_free(c);
  result r = {(double)TOTAL / 1e6 / secs(best_c),
              (double)TOTAL / 1e6 / secs(best_d),
              100.0 * (double)total / (double)TOTAL};
  return r;
}

/* ---- the CLIs -------------------------------------------------------------
 */

static int have_tool(const char *name) {
  const char *path = getenv("PATH");
  if (!path)
    return 0;
  char *copy = strdup(path), *save = NULL;
  int found = 0;
  for (char *dir = strtok_r(copy, ":", &save); dir && !found;
       dir = strtok_r(NULL, ":", &save)) {
    char full[4096];
    snprintf(full, sizeof full, "%s/%s", dir, name);
    found = access(full, X_OK) == 0;
  }
  free(copy);
  return found;
}

/* Runs argv with stdout to `out` (a path, or /dev/null); returns the best
 * wall time of `reps` runs in ns, or 0 if it failed. */
static uint64_t run_cli(const char *const argv[], const char *out, int reps) {
  uint64_t best = UINT64_MAX;
  for (int r = 0; r < reps; r++) {
    uint64_t t0 = pk_now_ns();
    pid_t pid = fork();
    if (pid < 0)
      return 0;
    if (pid == 0) {
      int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
      int null = open("/dev/null", O_WRONLY); /* progress lines */
      if (fd < 0 || null < 0 || dup2(fd, 1) < 0 || dup2(null, 2) < 0)
        _exit(126);
      char *args[16]; /* execvp's argv is not const; copies, in the child */
      int n = 0;
      for (; argv[n] && n < 15; n++)
        args[n] = strdup(argv[n]);
      args[n] = NULL;
      execvp(args[0], args);
      _exit(127);
    }
    int st;
    if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
      return 0;
    uint64_t dt = pk_now_ns() - t0;
    best = dt < best ? dt : best;
  }
  return best;
}

static size_t file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (size_t)st.st_size : 0;
}

static double mbs(uint64_t ns) {
  return ns ? (double)TOTAL / 1e6 / secs(ns) : 0;
}

/* Compresses `file` with the tool to `packed`, then decompresses it; prints
 * its figures and ours over its. */
static void cli_codec(const char *tool, const char *const cargv[],
                      const char *const dargv[], const char *packed,
                      const char *label, result ours) {
  if (!have_tool(tool)) {
    printf("# %s not installed: no %s baseline\n", tool, label);
    return;
  }
  uint64_t tc = run_cli(cargv, packed, 3);
  uint64_t td = run_cli(dargv, "/dev/null", 3);
  size_t size = file_size(packed);
  if (!tc || !td || !size) {
    printf("# %s failed: no %s baseline\n", tool, label);
    return;
  }
  double pct = 100.0 * (double)size / (double)TOTAL;
  printf("cli.%s.compress %.1f MB/s\n", label, mbs(tc));
  printf("cli.%s.decompress %.1f MB/s\n", label, mbs(td));
  printf("cli.%s.compressed_pct %.2f %%\n", label, pct);
  printf("codec.%s.compress.ratio %.2f x\n", label, ours.comp_mbs / mbs(tc));
  printf("codec.%s.decompress.ratio %.2f x\n", label,
         ours.decomp_mbs / mbs(td));
  printf("codec.%s.size.ratio %.3f x\n", label, ours.pct / pct);
}

/* ---- digests --------------------------------------------------------------
 */

static double bench_digest(enum pk_digest_kind kind, const unsigned char *in) {
  pk_digest *d;
  if (pk_digest_create(kind, &d) != PK_OK)
    exit(1);
  uint8_t out[PK_DIGEST_MAX_SIZE];
  uint64_t best = UINT64_MAX;
  for (int pass = 0; pass < 3; pass++) {
    uint64_t t0 = pk_now_ns();
    for (size_t k = 0; k < NCHUNK; k++)
      pk_digest_update(d, in + k * CHUNK, CHUNK);
    pk_digest_final(d, out, sizeof out);
    uint64_t dt = pk_now_ns() - t0;
    best = dt < best ? dt : best;
  }
  pk_digest_free(d);
  return (double)TOTAL / 1e9 / secs(best);
}

static void cli_digest(const char *tool, const char *const argv[],
                       const char *name, double ours) {
  if (!have_tool(tool)) {
    printf("# %s not installed: no %s baseline\n", tool, name);
    return;
  }
  uint64_t t = run_cli(argv, "/dev/null", 3);
  if (!t) {
    printf("# %s failed: no %s baseline\n", tool, name);
    return;
  }
  double gbs = (double)TOTAL / 1e9 / secs(t);
  printf("cli.%s %.2f GB/s\n", name, gbs);
  printf("digest.%s.ratio %.2f x\n", name, ours / gbs);
}

int main(void) {
  uint64_t start = pk_now_ns();
  unsigned char *in = malloc(TOTAL), *back = malloc(TOTAL);
  if (!in || !back)
    return 1;
  gen_mixed(in, TOTAL);
  memset(back, 0, TOTAL); /* fault it in before timing */

  char dir[] = "/tmp/pk_bench_codec_XXXXXX";
  if (!mkdtemp(dir))
    return 1;
  char file[64], packed[64];
  snprintf(file, sizeof file, "%s/input", dir);
  FILE *f = fopen(file, "wb");
  if (!f || fwrite(in, 1, TOTAL, f) != TOTAL || fclose(f) != 0)
    return 1;

  printf("# codec: 64 MiB mixed (70%% log text, 15%% random, 15%% zeros), "
         "1 MiB independent chunks, 1 thread, best of <= 3\n");
  printf("# MB/s = 10^6 original bytes/s both ways; compressed_pct = output "
         "as %% of input\n");
  printf("# .ratio lines: ours / the CLI's (speed: >1 is faster; size: <1 "
         "is smaller)\n");
  static const struct {
    const char *spec, *label;
  } codecs[] = {{"zstd:-1", "zstd_-1"}, {"zstd:3", "zstd_3"},
                {"zstd:9", "zstd_9"},   {"lz4", "lz4"},
                {"lz4hc:9", "lz4hc_9"}, {"brotli:5", "brotli_5"},
                {"gzip:6", "gzip_6"}};
  result res[7];
  for (int i = 0; i < 7; i++) {
    res[i] = bench_codec(codecs[i].spec, in, back);
    printf("codec.%s.compress %.1f MB/s\n", codecs[i].label, res[i].comp_mbs);
    printf("codec.%s.decompress %.1f MB/s\n", codecs[i].label,
           res[i].decomp_mbs);
    printf("codec.%s.compressed_pct %.2f %%\n", codecs[i].label, res[i].pct);
    fflush(stdout);
  }

  printf("# CLIs on the same bytes as one file from the page cache, timed "
         "fork..wait\n");
  snprintf(packed, sizeof packed, "%s/packed", dir);
  {
    const char *c[] = {"zstd", "-3", "-T1", "-q", "-c", file, NULL};
    const char *d[] = {"zstd", "-d", "-q", "-c", packed, NULL};
    cli_codec("zstd", c, d, packed, "zstd_3", res[1]);
  }
  {
    const char *c[] = {"lz4", "-1", "-q", "-c", file, NULL};
    const char *d[] = {"lz4", "-d", "-q", "-c", packed, NULL};
    cli_codec("lz4", c, d, packed, "lz4", res[3]);
  }
  {
    const char *c[] = {"gzip", "-6", "-c", file, NULL};
    const char *d[] = {"gzip", "-d", "-c", packed, NULL};
    cli_codec("gzip", c, d, packed, "gzip_6", res[6]);
  }
  fflush(stdout);

  printf("# digests: 64 MiB streamed in 1 MiB updates, GB/s = 10^9 B/s\n");
  double dg[PK_DIGEST_KIND_COUNT];
  for (int k = 0; k < PK_DIGEST_KIND_COUNT; k++) {
    dg[k] = bench_digest((enum pk_digest_kind)k, in);
    printf("digest.%s %.2f GB/s\n", pk_digest_name((enum pk_digest_kind)k),
           dg[k]);
  }
  {
    uint64_t best = UINT64_MAX, sum = 0;
    for (int pass = 0; pass < 3; pass++) {
      uint64_t t0 = pk_now_ns();
      for (size_t k = 0; k < NCHUNK; k++)
        sum += pk_chunk_checksum(in + k * CHUNK, CHUNK);
      uint64_t dt = pk_now_ns() - t0;
      best = dt < best ? dt : best;
    }
    printf("digest.chunk_checksum %.2f GB/s\n",
           (double)TOTAL / 1e9 / secs(best) + (double)(sum & 0) /* keep */);
  }
  {
    const char *a[] = {"xxhsum", "-H2", file, NULL};
    cli_digest("xxhsum", a, "xxh3-128", dg[PK_DIGEST_XXH3_128]);
    const char *b[] = {"sha256sum", file, NULL};
    cli_digest("sha256sum", b, "sha256", dg[PK_DIGEST_SHA256]);
    const char *c[] = {"b2sum", "-l", "256", file, NULL};
    cli_digest("b2sum", c, "blake2b", dg[PK_DIGEST_BLAKE2B_256]);
  }

  unlink(file);
  unlink(packed);
  rmdir(dir);
  free(in);
  free(back);
  printf("# total bench time %.1f s\n", secs(pk_now_ns() - start));
  return 0;
}
