/* dbwatch.c — see dbwatch.h. */
#include "cmd/dbwatch.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cmd/cli.h"
#include "cmd/exit.h"

static volatile sig_atomic_t got_sigint;

static void on_sigint(int sig) {
  (void)sig;
  got_sigint = 1;
}

/* On the watcher thread: asks for an interrupt after Ctrl-C, and draws the
 * bar once the statement has run half a second with known progress. */
static bool watch(void *arg, const pk_db_progress_info *p) {
  bool *drawn = arg;
  if (got_sigint)
    return true;
  if (p->running && p->percent >= 0 && p->elapsed > 500000000u &&
      isatty(STDERR_FILENO)) {
    int done = (int)(p->percent / 100.0 * 30);
    char bar[31];
    for (int i = 0; i < 30; i++)
      bar[i] = i < done ? '#' : ' ';
    bar[30] = '\0';
    fprintf(stderr, "\r[%s] %3.0f%%  %.1f s", bar, p->percent,
            (double)p->elapsed / 1e9);
    *drawn = true;
  }
  return false;
}

void pk_cli_dbwatch_start(pk_cli_dbwatch *dw, pk_db_conn *conn) {
  struct sigaction sa = {0};
  sa.sa_handler = on_sigint;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &dw->old);
  dw->drawn = false;
  dw->w = NULL;
  pk_db_watch_start(conn, 100, watch, &dw->drawn, &dw->w);
}

bool pk_cli_dbwatch_stop(pk_cli_dbwatch *dw, pk_db_conn *conn) {
  pk_db_watch_stop(dw->w);
  if (dw->drawn)
    fputs("\r\033[K", stderr);
  return got_sigint || pk_db_interrupted(conn);
}

volatile sig_atomic_t *pk_cli_dbwatch_flag(void) {
  return &got_sigint;
}

bool pk_cli_dbwatch_end(pk_cli_dbwatch *dw) {
  sigaction(SIGINT, &dw->old, NULL);
  return got_sigint != 0;
}

int pk_cli_db_list(const char *cmd, const char *dbpath, const char *table,
                   const pk_fmt_opts *fo) {
  pk_errmsg e = {{0}};
  pk_db *db = NULL;
  pk_db_config cfg = {.path = dbpath, .readers = 1};
  int err = pk_db_open(&cfg, &db, &e);
  if (err)
    return pk_cli_fail(cmd, pk_exit_code(err), "%s", e.text);
  pk_db_conn *conn = NULL;
  pk_db_acquire(db, PK_DB_READER, &conn);
  char *sql = NULL;
  err = table ? pk_db_schema_sql(conn, table, &sql, &e)
              : pk_db_tables_sql(conn, &sql, &e);
  if (!err)
    err = pk_fmt_run(conn, sql, fo, stdout, NULL, &e);
  free(sql);
  pk_db_release(conn);
  pk_db_close(db);
  if (err)
    return pk_cli_fail(cmd, pk_exit_code(err), "%s", e.text);
  return EX_OK;
}
