/* version.c — `pika version` / `pika --version`: Pika's version and the
 * versions of the libraries it runs on, read from the libraries themselves
 * at run time (so a wrong libduckdb.so on the rpath shows up here). */
#include <gnu/libc-version.h>
#include <stdio.h>

#include "cmd/cli.h"
#include "cmd/commands.h"
#include "duckdb.h"

const char cmd_version_usage[] =
    "usage: pika version\n"
    "       pika --version\n"
    "\n"
    "Prints Pika's version and the versions of the libraries it was built\n"
    "with and loads at run time: DuckDB, the C library, the compiler.\n";

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
  printf("glibc %s\n", gnu_get_libc_version());
  printf("compiler gcc %d.%d.%d\n", __GNUC__, __GNUC_MINOR__,
         __GNUC_PATCHLEVEL__);
  return 0;
}
