/*
 * dbwatch.h — what the database commands share while a statement runs:
 * Ctrl-C interrupts it (the command then exits 130), and on a terminal a
 * progress bar appears once it has run for half a second (DuckDB's own
 * progress, polled by db.h's watcher thread).
 */
#ifndef PIKA_CMD_DBWATCH_H
#define PIKA_CMD_DBWATCH_H

#include <signal.h>
#include <stdbool.h>

#include "engine/db.h"

typedef struct pk_cli_dbwatch {
  pk_db_watch *w;
  bool drawn;
  struct sigaction old;
} pk_cli_dbwatch;

/* Catches SIGINT and starts watching conn. */
void pk_cli_dbwatch_start(pk_cli_dbwatch *dw, pk_db_conn *conn);

/* Stops watching, clears the bar, restores SIGINT; true if the statement
 * was interrupted. */
bool pk_cli_dbwatch_stop(pk_cli_dbwatch *dw, pk_db_conn *conn);

#endif /* PIKA_CMD_DBWATCH_H */
