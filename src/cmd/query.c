/* query.c — `pika query`: SQL on the workspace database (or on files named
 * in the SQL), the result as a terminal table, CSV, JSON, NDJSON, Markdown
 * or Parquet. A thin wrapper over engine/db.h and engine/format_out.h. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "base/clock.h"
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "cmd/dbwatch.h"
#include "cmd/exit.h"
#include "engine/db.h"
#include "engine/format_out.h"
#include "pipe/outfile.h"

const char cmd_query_usage[] =
    "usage: pika query [--db FILE] [-f FORMAT] [-o FILE] [--timing]\n"
    "                  [--max-rows N] SQL\n"
    "\n"
    "Runs SQL on the workspace database ($PIKA_HOME/workspace.duckdb, or\n"
    "--db FILE) and prints the result. The SQL may name files directly:\n"
    "  pika query \"SELECT count(*) FROM 'flights.parquet'\"\n"
    "Several statements separated by ';' run in order; the last one's\n"
    "result is printed. SQL '-' is read from standard input.\n"
    "\n"
    "options:\n"
    "  --db FILE          the database file\n"
    "  -f, --format F     table (default), csv, json, ndjson, markdown or\n"
    "                     parquet (needs -o)\n"
    "  -o, --output FILE  write to FILE (atomically: whole or not at all)\n"
    "  --max-rows N       table format: rows shown (default 40)\n"
    "  --timing           print the run time on standard error\n"
    "\n"
    "The table format fits the terminal's width. An SQL error exits 65 with\n"
    "DuckDB's message; Ctrl-C interrupts the query and exits 130.\n";

/* On the watcher thread: draw a progress bar on a terminal after half a
 * second, and ask for an interrupt after Ctrl-C. */
static int terminal_width(void) {
  struct winsize ws;
  if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 &&
      ws.ws_col > 0)
    return ws.ws_col;
  return 100;
}

static char *read_stdin(void) {
  pk_sqlbuf b = {0};
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf - 1, stdin)) > 0) {
    buf[n] = '\0';
    pk_sqlbuf_add(&b, buf);
  }
  if (b.err || !b.s) {
    pk_sqlbuf_free(&b);
    return NULL;
  }
  return b.s;
}

/* Parquet: DuckDB writes a temporary file beside the target; rename. */
static int run_parquet(pk_db_conn *c, const char *sql, const char *out,
                       pk_errmsg *e) {
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.pika-tmp-%ld", out, (long)getpid());
  pk_sqlbuf copy = {0};
  int err = pk_fmt_copy_sql(c, sql, tmp, &copy, e);
  if (!err)
    err = pk_db_exec(c, copy.s, NULL, e);
  pk_sqlbuf_free(&copy);
  if (!err && rename(tmp, out) != 0)
    err = pk_errmsg_set(e, pk_err_from_errno(errno), "cannot rename to '%s'",
                        out);
  if (err)
    unlink(tmp);
  return err;
}

static int run_text(pk_db_conn *c, const char *sql, const pk_fmt_opts *fo,
                    const char *out, uint64_t *rows, pk_errmsg *e) {
  if (!out || !strcmp(out, "-"))
    return pk_fmt_run(c, sql, fo, stdout, rows, e);
  pk_outfile of;
  int err = pk_outfile_open(&of, out, 1, 0644, e);
  if (err)
    return err;
  int fd = dup(of.fd);
  FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (!f) {
    if (fd >= 0)
      close(fd);
    pk_outfile_abort(&of);
    return pk_errmsg_set(e, PK_EIO, "cannot write '%s'", out);
  }
  err = pk_fmt_run(c, sql, fo, f, rows, e);
  if (fclose(f) != 0 && !err)
    err = pk_errmsg_set(e, PK_EIO, "cannot write '%s'", out);
  if (!err)
    err = pk_outfile_commit(&of, e);
  else
    pk_outfile_abort(&of);
  return err;
}

int cmd_query(int argc, char **argv) {
  static const struct option opts[] = {
      {"db", required_argument, NULL, 'd'},
      {"format", required_argument, NULL, 'f'},
      {"output", required_argument, NULL, 'o'},
      {"max-rows", required_argument, NULL, 'm'},
      {"timing", no_argument, NULL, 't'},
      {0}};
  const char *dbpath = NULL, *out = NULL;
  pk_fmt_opts fo = {PK_FMT_TABLE, 0, 0};
  bool timing = false;
  pk_cli_reset();
  int c;
  while ((c = pk_cli_getopt(argc, argv, "f:o:", opts, "query",
                            cmd_query_usage)) != -1) {
    switch (c) {
    case 'd':
      dbpath = optarg;
      break;
    case 'f':
      if (pk_fmt_parse(optarg, &fo.fmt) != PK_OK)
        return pk_cli_usage_error("query", "unknown format '%s'", optarg);
      break;
    case 'o':
      out = optarg;
      break;
    case 'm': {
      char *end;
      long long v = strtoll(optarg, &end, 10);
      if (*end || v <= 0)
        return pk_cli_usage_error("query",
                                  "--max-rows takes a positive "
                                  "number, not '%s'",
                                  optarg);
      fo.max_rows = (uint64_t)v;
      break;
    }
    case 't':
      timing = true;
      break;
    default:
      return pk_cli_status(c);
    }
  }
  if (optind >= argc)
    return pk_cli_usage_error("query", "no SQL given");
  if (fo.fmt == PK_FMT_PARQUET && (!out || !strcmp(out, "-")))
    return pk_cli_usage_error("query", "parquet output needs -o FILE");
  pk_sqlbuf joined = {0};
  for (int i = optind; i < argc; i++) {
    pk_sqlbuf_add(&joined, i > optind ? " " : "");
    pk_sqlbuf_add(&joined, argv[i]);
  }
  char *sql = joined.s;
  if (sql && !strcmp(sql, "-")) {
    pk_sqlbuf_free(&joined);
    sql = read_stdin();
  }
  if (!sql)
    return pk_cli_fail("query", EX_NOINPUT, "cannot read the SQL");
  fo.width = terminal_width();

  pk_errmsg e = {{0}};
  pk_db *db = NULL;
  pk_db_config cfg = {.path = dbpath, .readers = 1};
  int err = pk_db_open(&cfg, &db, &e);
  if (err) {
    free(sql);
    return pk_cli_fail("query", pk_exit_code(err), "%s", e.text);
  }
  pk_db_conn *conn = NULL;
  pk_db_acquire(db, PK_DB_READER, &conn);

  pk_cli_dbwatch dw;
  pk_cli_dbwatch_start(&dw, conn);

  uint64_t t0 = pk_now_ns(), rows = 0;
  if (fo.fmt == PK_FMT_PARQUET)
    err = run_parquet(conn, sql, out, &e);
  else
    err = run_text(conn, sql, &fo, out, &rows, &e);
  uint64_t ns = pk_now_ns() - t0;

  bool interrupted = pk_cli_dbwatch_stop(&dw, conn);
  pk_cli_dbwatch_end(&dw);
  pk_db_release(conn);
  pk_db_close(db);
  free(sql);

  if (timing)
    fprintf(stderr, "time: %.3f s\n", (double)ns / 1e9);
  if (interrupted && err)
    return pk_cli_fail("query", PK_EXIT_INTERRUPTED, "interrupted");
  if (err == PK_EINVAL)
    return pk_cli_fail("query", EX_DATAERR, "%s", e.text);
  if (err)
    return pk_cli_fail("query", pk_exit_code(err), "%s", e.text);
  return EX_OK;
}
