/* Replays every file of tests/pipe/corpus/archive/ through the reader that
 * fuzz_archive.c fuzzes (archive_reader.h), so the fuzz corpus and every
 * crash input added to it are regression tests in CI.
 *
 * Every file: no crash, no undocumented code, with the corpus key, with no
 * secret, and after ar_fixup(). Files named "seed-*" (make_corpus.c) must
 * also decode and index cleanly, and ar_fixup() must leave them unchanged
 * (their tags are already right: this checks the fuzzer's fixup itself).
 *
 * The directory: $PIKA_SOURCE_DIR/tests/pipe/corpus/archive, else
 * corpus/archive next to this file. */
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pipe/archive_reader.h"
#include "test.h"

static pk_gov *gov;

static void corpus_dir(char *out, size_t n) {
  const char *src = getenv("PIKA_SOURCE_DIR");
  if (src && *src) {
    snprintf(out, n, "%s/tests/pipe/corpus/archive", src);
    return;
  }
  char file[4096];
  snprintf(file, sizeof file, "%s", __FILE__);
  snprintf(out, n, "%s/corpus/archive", dirname(file));
}

static uint8_t *slurp(const char *path, size_t *n) {
  int fd = open(path, O_RDONLY);
  ASSERT(fd >= 0);
  struct stat sb;
  ASSERT_EQ(fstat(fd, &sb), 0);
  uint8_t *p = malloc((size_t)sb.st_size + 1);
  ASSERT_EQ(read(fd, p, (size_t)sb.st_size), sb.st_size);
  close(fd);
  *n = (size_t)sb.st_size;
  return p;
}

static int fd_with(const uint8_t *p, size_t n) {
  int fd = memfd_create("corpus", 0);
  ASSERT(fd >= 0);
  ASSERT_EQ(write(fd, p, n), (ssize_t)n);
  return fd;
}

static void replay(const char *dir, const char *name, size_t *seeds) {
  char path[8192];
  int w = snprintf(path, sizeof path, "%s/%s", dir, name);
  ASSERT(w > 0 && (size_t)w < sizeof path);
  size_t n;
  uint8_t *p = slurp(path, &n);
  int seed = strncmp(name, "seed-", 5) == 0;
  pk_secret key = ar_key();
  ar_result r;
  int fd = fd_with(p, n);
  ar_read(fd, &key, gov, &r);
  if (seed && (r.header_rc || r.keys_rc || r.decode_rc || r.index_rc))
    TEST_FAIL_("%s: does not read: header %s, keys %s, decode %s, index %s: "
               "%s",
               name, pk_err_name(r.header_rc), pk_err_name(r.keys_rc),
               pk_err_name(r.decode_rc), pk_err_name(r.index_rc), r.e.text);
  ar_result none;
  ar_read(fd, NULL, gov, &none);
  if (seed) {
    /* Encrypted seeds need the key; the others need nothing. */
    int encrypted = r.header_rc == PK_OK && (p[14] & PK_FMT_F_ENCRYPTED);
    ASSERT_EQ(none.keys_rc, encrypted ? PK_EAUTH : PK_OK);
    if (!encrypted)
      ASSERT_OK(none.decode_rc);
  }
  close(fd);
  uint8_t *fixed = malloc(n + 1);
  memcpy(fixed, p, n);
  int touched = ar_fixup(fixed, n, &key);
  if (seed) {
    ASSERT(touched);
    if (memcmp(fixed, p, n) != 0)
      TEST_FAIL_("%s: ar_fixup changed a valid archive", name);
  }
  fd = fd_with(fixed, n);
  ar_result fx;
  ar_read(fd, &key, gov, &fx);
  close(fd);
  fprintf(stderr,
          "   %-40s %6zu B: header %s, keys %s, decode %s (%llu B), index %s"
          "%s\n",
          name, n, pk_err_name(r.header_rc), pk_err_name(r.keys_rc),
          r.decode_rc == 1 ? "-" : pk_err_name(r.decode_rc),
          (unsigned long long)r.out_bytes,
          r.index_rc == 1 ? "-" : pk_err_name(r.index_rc),
          touched ? "; fixed up: read again" : "");
  *seeds += seed;
  free(fixed);
  free(p);
}

static void test_corpus(void) {
  char dir[4096];
  corpus_dir(dir, sizeof dir);
  DIR *d = opendir(dir);
  if (!d)
    TEST_FAIL_("cannot open the corpus %s (set PIKA_SOURCE_DIR)", dir);
  size_t files = 0, seeds = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.')
      continue;
    replay(dir, de->d_name, &seeds);
    files++;
  }
  closedir(d);
  fprintf(stderr, "   %zu files, %zu seeds, from %s\n", files, seeds, dir);
  ASSERT_GE(seeds, 6);
}

int main(void) {
  ASSERT_OK(pk_gov_create(&(pk_gov_config){.cpu_tokens = 2,
                                           .io_tokens = 4,
                                           .mem_budget = 1024u << 20},
                          &gov));
  RUN(test_corpus);
  pk_gov_free(gov);
  return 0;
}
