/* tables.c — `pika tables`: the tables of the workspace database with their
 * row and column counts; a thin wrapper over engine/db.h. */
#include <stdio.h>
#include <stdlib.h>

#include "cmd/cli.h"
#include "cmd/commands.h"
#include "cmd/dbwatch.h"
#include "cmd/exit.h"
#include "engine/db.h"
#include "engine/format_out.h"

const char cmd_tables_usage[] =
    "usage: pika tables [--db FILE] [-f FORMAT]\n"
    "\n"
    "Lists the tables of the workspace database ($PIKA_HOME/workspace.duckdb,\n"
    "or --db FILE): name, rows, columns.\n"
    "\n"
    "options:\n"
    "  --db FILE        the database file\n"
    "  -f, --format F   table (default), csv, json, ndjson or markdown\n";

int cmd_tables(int argc, char **argv) {
  static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
                                       {"format", required_argument, NULL, 'f'},
                                       {0}};
  const char *dbpath = NULL;
  pk_fmt_opts fo = {PK_FMT_TABLE, 100, 1000000};
  pk_cli_reset();
  int c;
  while ((c = pk_cli_getopt(argc, argv, "f:", opts, "tables",
                            cmd_tables_usage)) != -1) {
    if (c == 'd')
      dbpath = optarg;
    else if (c == 'f') {
      if (pk_fmt_parse(optarg, &fo.fmt) != PK_OK || fo.fmt == PK_FMT_PARQUET)
        return pk_cli_usage_error("tables", "unknown format '%s'", optarg);
    } else
      return pk_cli_status(c);
  }
  if (optind < argc)
    return pk_cli_usage_error("tables", "unexpected argument '%s'",
                              argv[optind]);
  return pk_cli_db_list("tables", dbpath, NULL, &fo);
}
