/* schema.c — `pika schema TABLE`: a table's columns with types, null counts,
 * minimum, maximum and an approximate distinct count; a thin wrapper over
 * engine/db.h. */
#include <stdio.h>
#include <stdlib.h>

#include "cmd/cli.h"
#include "cmd/commands.h"
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
  pk_errmsg e = {{0}};
  pk_db *db = NULL;
  pk_db_config cfg = {.path = dbpath, .readers = 1};
  int err = pk_db_open(&cfg, &db, &e);
  if (err)
    return pk_cli_fail("schema", pk_exit_code(err), "%s", e.text);
  pk_db_conn *conn = NULL;
  pk_db_acquire(db, PK_DB_READER, &conn);
  char *sql = NULL;
  err = pk_db_schema_sql(conn, argv[optind], &sql, &e);
  if (!err)
    err = pk_fmt_run(conn, sql, &fo, stdout, NULL, &e);
  free(sql);
  pk_db_release(conn);
  pk_db_close(db);
  if (err)
    return pk_cli_fail("schema", pk_exit_code(err), "%s", e.text);
  return EX_OK;
}
