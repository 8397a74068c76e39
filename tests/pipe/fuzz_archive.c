/* fuzz_archive.c — libFuzzer target for the archive reader (not part of
 * ctest; tests/pipe/test_corpus.c replays its corpus in CI).
 *
 * Build (from the repository root; the pipe sources minus the TOML config,
 * which the reader does not use):
 *
 *   clang -std=c17 -D_GNU_SOURCE -g -O1 \
 *     -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
 *     -Isrc -Itests $(find src/base src/runtime -name '*.c') \
 *     src/pipe/{aead,archive,chain,codec,digest,engine,format,outfile}.c \
 *     src/pipe/{kdf,spec,transform}.c tests/pipe/fuzz_archive.c \
 *     -o /tmp/fuzz_archive -lzstd -llz4 -lbrotlienc -lbrotlidec \
 *     -ldeflate -lxxhash -lcrypto -lsodium -lpthread -lm
 *
 * Run, with the seeds (tests/pipe/make_corpus.c wrote them) copied into a
 * scratch corpus so new inputs do not land in the repository:
 *
 *   mkdir -p /tmp/fz && cp tests/pipe/corpus/archive/seed-* /tmp/fz/
 *   /tmp/fuzz_archive -max_len=65536 -max_total_time=300 -rss_limit_mb=4096 \
 *     /tmp/fz
 *
 * Each input is an archive. It is read three times (archive_reader.h):
 * with the corpus's fixed key file, with no secret, and, after ar_fixup()
 * has recomputed its tags and checksums, with the key again — the last pass
 * is the one that reaches the codecs and the end-record checks with hostile
 * contents. Codes a function does not document abort. A crash input goes
 * into tests/pipe/corpus/archive/ (any name not starting with "seed-") once
 * fixed; test_corpus then replays it forever.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pipe/archive_reader.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static pk_gov *gov;
static int fd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  if (pk_gov_create(&(pk_gov_config){.cpu_tokens = 2,
                                     .io_tokens = 4,
                                     .mem_budget = 1024u << 20},
                    &gov) != PK_OK)
    abort();
  fd = memfd_create("fuzz-archive", 0);
  if (fd < 0)
    abort();
  return 0;
}

static void load(const uint8_t *data, size_t size) {
  if (ftruncate(fd, 0) != 0 ||
      (size && pwrite(fd, data, size, 0) != (ssize_t)size))
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  pk_secret key = ar_key();
  ar_result r;
  load(data, size);
  ar_read(fd, &key, gov, &r);
  ar_read(fd, NULL, gov, &r);
  uint8_t *copy = malloc(size ? size : 1);
  if (!copy)
    abort();
  memcpy(copy, data, size);
  if (ar_fixup(copy, size, &key)) {
    load(copy, size);
    ar_read(fd, &key, gov, &r);
  }
  free(copy);
  return 0;
}
