/*
 * dbwatch.h — what the database commands share while a statement runs:
 * Ctrl-C interrupts it (the command then exits 130), and on a terminal a
 * progress bar appears once it has run for half a second (DuckDB's own
 * progress, polled by db.h's watcher thread). Also the one way the
 * listing commands open the database and print.
 */
#ifndef PIKA_CMD_DBWATCH_H
#define PIKA_CMD_DBWATCH_H

#include <signal.h>
#include <stdbool.h>

#include "engine/db.h"
#include "engine/format_out.h"

typedef struct pk_cli_dbwatch {
  pk_db_watch *w;
  bool drawn;
  struct sigaction old;
} pk_cli_dbwatch;

/* Catches SIGINT and starts watching conn. */
void pk_cli_dbwatch_start(pk_cli_dbwatch *dw, pk_db_conn *conn);

/* Stops watching and clears the bar; true if the statement was
 * interrupted. SIGINT stays caught (work after the query, e.g. rendering,
 * can still be stopped) until pk_cli_dbwatch_end. */
bool pk_cli_dbwatch_stop(pk_cli_dbwatch *dw, pk_db_conn *conn);

/* The flag Ctrl-C sets while SIGINT is caught (for work that polls a
 * cancel flag, such as the archive decoder). */
volatile sig_atomic_t *pk_cli_dbwatch_flag(void);

/* Restores SIGINT's previous handling; true if Ctrl-C came at any point. */
bool pk_cli_dbwatch_end(pk_cli_dbwatch *dw);

/* For the listing commands (tables, schema): opens the database at dbpath
 * (NULL: the workspace), and prints the result of the SQL that make_sql
 * builds (table NULL for `tables`) in fo's format on standard output.
 * Returns the exit status, the error printed as "pika CMD: ...". */
int pk_cli_db_list(const char *cmd, const char *dbpath, const char *table,
                   const pk_fmt_opts *fo);

#endif /* PIKA_CMD_DBWATCH_H */
