/* version.c — `pika version` / `pika --version`: Pika's version and the
 * versions of the libraries it runs on, read from the libraries themselves
 * at run time (so a wrong libduckdb.so on the rpath shows up here). */
#include <brotli/encode.h>
#include <gnu/libc-version.h>
#include <libdeflate.h>
#include <lz4.h>
#include <openssl/crypto.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <xxhash.h>
#include <zstd.h>

#include "cmd/cli.h"
#include "cmd/commands.h"
#include "duckdb.h"

const char cmd_version_usage[] =
    "usage: pika version\n"
    "       pika --version\n"
    "\n"
    "Prints Pika's version and the versions of the libraries it was built\n"
    "with and loads at run time: DuckDB, the codecs, the crypto libraries,\n"
    "SQLite, the C library, the compiler.\n";

int cmd_version(int argc, char **argv) {
  pk_cli_reset();
  int c;
  while ((c = pk_cli_getopt(argc, argv, "", NULL, "version",
                            cmd_version_usage)) != -1)
    return pk_cli_status(c);
  if (optind < argc)
    return pk_cli_usage_error("version", "unexpected argument '%s'",
                              argv[optind]);
  printf("pika %s\n", PIKA_VERSION);
  printf("duckdb %s\n", duckdb_library_version());
  uint32_t br = BrotliEncoderVersion();
  unsigned xx = XXH_versionNumber();
  printf("zstd %s\n", ZSTD_versionString());
  printf("lz4 %s\n", LZ4_versionString());
  printf("brotli %u.%u.%u\n", br >> 24, (br >> 12) & 0xfff, br & 0xfff);
  printf("libdeflate %s\n", LIBDEFLATE_VERSION_STRING);
  printf("xxhash %u.%u.%u\n", xx / 10000, xx / 100 % 100, xx % 100);
  printf("openssl %s\n", OpenSSL_version(OPENSSL_VERSION_STRING));
  printf("libsodium %s\n", sodium_version_string());
  printf("sqlite %s\n", sqlite3_libversion());
  printf("glibc %s\n", gnu_get_libc_version());
  printf("compiler gcc %d.%d.%d\n", __GNUC__, __GNUC_MINOR__,
         __GNUC_PATCHLEVEL__);
  return 0;
}
