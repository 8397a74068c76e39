/* schema.c — `pika schema TABLE`: a table's columns with types, null counts,
 * minimum, maximum and an approximate distinct count; a thin wrapper over
 * engine/db.h. */
#include <stdio.h>
#include <stdlib.h>

#include "cmd/cli.h"
#include "cmd/commands.h"
#include "cmd/dbwatch.h"
#include "cmd/exit.h"
#include "engine/db.h"
#include "engine/format_out.h"

const char cmd_schema_usage[] =
    "usage: pika schema TABLE [--db FILE] [-f FORMAT]\n"
    "\n"
    "Describes the columns of TABLE in the workspace database\n"
    "($PIKA_HOME/workspace.duckdb, or --db FILE): name, type, null count,\n"
    "minimum, maximum and distinct values (approx_count_distinct, an\n"
    "estimate within a few per cent). Reads the whole table once.\n"
    "\n"
    "options:\n"
    "  --db FILE        the database file\n"
    "  -f, --format F   table (default), csv, json, ndjson or markdown\n";

int cmd_schema(int argc, char **argv) {
  static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
                                       {"format", required_argument, NULL, 'f'},
                                       {0}};
  const char *dbpath = NULL;
  pk_fmt_opts fo = {PK_FMT_TABLE, 100, 1000000};
  pk_cli_reset();
  int c;
  while ((c = pk_cli_getopt(argc, argv, "f:", opts, "schema",
                            cmd_schema_usage)) != -1) {
    if (c == 'd')
      dbpath = optarg;
    else if (c == 'f') {
      if (pk_fmt_parse(optarg, &fo.fmt) != PK_OK || fo.fmt == PK_FMT_PARQUET)
        return pk_cli_usage_error("schema", "unknown format '%s'", optarg);
    } else
      return pk_cli_status(c);
  }
  if (optind >= argc)
    return pk_cli_usage_error("schema", "no TABLE given");
  if (optind + 1 < argc)
    return pk_cli_usage_error("schema", "unexpected argument '%s'",
                              argv[optind + 1]);
  return pk_cli_db_list("schema", dbpath, argv[optind], &fo);
}
