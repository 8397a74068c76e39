/*
 * db.h — the data engine's database: one DuckDB workspace file, a small
 * connection pool on it, and query execution that streams result chunks.
 * The commands (import, tables, schema, query) and the browser server call
 * this same API.
 *
 * Where the database lives
 *   An explicit path, or the workspace database:
 *     $PIKA_HOME/workspace.duckdb             if PIKA_HOME is set and not
 * empty, $XDG_DATA_HOME/pika/workspace.duckdb    if XDG_DATA_HOME is absolute,
 *     ~/.local/share/pika/workspace.duckdb    otherwise
 *   (the same rule as the pipelines database, pipe/registry.h), with missing
 *   directories of the default path created mode 0700. ":memory:" opens a
 *   private in-memory database (tests).
 *
 * Resources, set deliberately rather than left to DuckDB's defaults
 *   threads       pk_sys_ncpu(): one DuckDB worker per core this process may
 *                 use (a taskset or cpuset is honoured; DuckDB itself counts
 *                 every core of the machine).
 *   memory_limit  half of the memory limit that pk_mempress_sample() sees
 *                 (the cgroup's limit in a container, else MemTotal), i.e.
 *                 twice the runtime governor's default budget (a quarter):
 *                 DuckDB's hash tables and sorts get half, Pika's own caches
 *                 the governor's quarter, and a quarter stays for the page
 *                 cache and other processes. DuckDB's default (80 % of
 *                 physical memory) ignores cgroups and leaves no room for
 *                 Pika's caches. At least 256 MiB. DuckDB spills what does not
 *                 fit to its temp directory (<db>.tmp beside the file).
 *   Both can be overridden in pk_db_config.
 *
 * Connection pool
 *   One writer connection and `readers` reader connections (default 3),
 *   all on one duckdb_database, so they share the buffer manager and see
 *   each other's committed data (DuckDB's MVCC). Imports and DDL take the
 *   writer, so two imports never race on the catalog; queries take a reader,
 *   so a browser's queries run while an import writes. pk_db_acquire blocks
 *   until a connection of the role is free. A pk_db_conn belongs to one
 *   thread at a time between acquire and release, except pk_db_interrupt and
 *   pk_db_progress, which any thread may call at any time.
 *
 * Execution
 *   pk_db_exec splits SQL into statements (duckdb_extract_statements), runs
 *   each as a pending streaming query (duckdb_pending_prepared_streaming),
 *   driving it with duckdb_pending_execute_task so that between tasks it can
 *   check the interrupt flag and publish progress, and hands the last
 *   statement's result to a pk_db_sink one data chunk at a time
 *   (duckdb_fetch_chunk), so a result is never materialised whole.
 *
 * Interrupts
 *   pk_db_interrupt sets the connection's flag and calls duckdb_interrupt:
 *   DuckDB stops the running task at its next check and the exec returns
 *   PK_EINTERRUPTED. The flag also catches an interrupt that lands between
 *   two statements or just before a query starts (DuckDB clears its own flag
 *   when a query begins); it stays set until pk_db_release.
 *
 * Progress (polled)
 *   The executing thread stores duckdb_query_progress() in the connection
 *   (atomics) between tasks and chunks; pk_db_progress reads it from any
 *   thread. pk_db_watch_start runs a thread that polls it and calls back, and
 *   interrupts the connection when the callback asks (Ctrl-C, a closed
 *   browser tab).
 *
 * Catalog version
 *   A counter per pk_db, bumped after every statement that may change the
 *   catalog or data (anything but SELECT, EXPLAIN, SET, PRAGMA and
 *   transaction control) and by pk_db_bump_catalog. A query-result cache keys
 *   its entries by (SQL fingerprint, catalog version), so an import or DDL
 *   invalidates it. It counts changes made through this process; other
 *   processes writing the same file are not seen (DuckDB lets only one
 *   process open a file for writing anyway).
 *
 * Errors: PK_OK or a negative PK_E* code, with pk_errmsg filled with
 * DuckDB's own message where DuckDB failed. An SQL error (parser, binder,
 * catalog, conversion, constraint) is PK_EINVAL; a missing file named by the
 * SQL PK_ENOENT; other I/O PK_EIO; out of memory PK_ENOMEM; an interrupt
 * PK_EINTERRUPTED.
 */
#ifndef PIKA_ENGINE_DB_H
#define PIKA_ENGINE_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "duckdb.h"

typedef struct pk_db pk_db;
typedef struct pk_db_conn pk_db_conn;

typedef struct pk_db_config {
  const char *path;      /* NULL: the workspace database; ":memory:" */
  uint64_t memory_limit; /* bytes; 0: see "Resources" */
  int threads;           /* 0: pk_sys_ncpu() */
  int readers;           /* reader connections; 0: 3 */
  /* Rows of a query without ORDER BY may come in any order (DuckDB's
   * preserve_insertion_order = false, a setting of the whole instance),
   * which lets the CSV and Parquet readers hand over rows without putting
   * them back in file order. For a process that only computes what does
   * not depend on row order (pika plot of such a plot); never for one that
   * shows rows to a user. */
  bool unordered;
} pk_db_config;

/* Writes the workspace database path (see above) into buf[cap] without
 * creating anything. PK_EINVAL if neither PIKA_HOME, XDG_DATA_HOME nor HOME
 * is set; PK_ELIMIT if cap is too small. */
int pk_db_default_path(char *buf, size_t cap, pk_errmsg *e);

/* Opens (creating if needed) the database and its connections. cfg may be
 * NULL. On success *out is freed with pk_db_close. Errors: PK_ENOENT (the
 * directory of an explicit path does not exist), PK_EPERM, PK_ECORRUPT (not a
 * DuckDB file), PK_EIO (locked by another process, or another I/O error),
 * PK_ENOMEM, PK_EINVAL (bad config); e says which, with DuckDB's message. */
int pk_db_open(const pk_db_config *cfg, pk_db **out, pk_errmsg *e);

/* Closes the connections and the database. Every acquired connection must
 * have been released. NULL is a no-op. */
void pk_db_close(pk_db *db);

/* The file opened (or ":memory:"); valid until pk_db_close. */
const char *pk_db_path(const pk_db *db);
/* The settings in effect (after defaults were applied). */
uint64_t pk_db_memory_limit(const pk_db *db);
int pk_db_threads(const pk_db *db);

/* Sets DuckDB's memory_limit, a setting of the whole database, through c;
 * 0: the default (see "Resources"). Errors as pk_db_exec. */
int pk_db_set_memory_limit(pk_db_conn *c, uint64_t bytes, pk_errmsg *e);

/* Bytes DuckDB's buffer manager holds now (duckdb_memory(): buffers,
 * hash tables, sort runs), into *out. Runs on a connection of its own, so
 * it does not wait for a pooled one; thread-safe. PK_EIO if DuckDB fails. */
int pk_db_memory_bytes(pk_db *db, uint64_t *out);

/* The catalog version (see above); thread-safe. */
uint64_t pk_db_catalog_version(const pk_db *db);
/* Bumps the catalog version; thread-safe. */
void pk_db_bump_catalog(pk_db *db);

typedef enum pk_db_role { PK_DB_READER, PK_DB_WRITER } pk_db_role;

/* Takes a free connection of the role, blocking until one is released.
 * Returns PK_OK and sets *out; PK_EINVAL for a bad role. Thread-safe. */
int pk_db_acquire(pk_db *db, pk_db_role role, pk_db_conn **out);

/* Gives a connection back (clearing its interrupt flag and progress). The
 * caller must have destroyed any result it fetched from it. NULL is a no-op.
 */
void pk_db_release(pk_db_conn *c);

/* The DuckDB connection underneath, for calls this API does not wrap. Valid
 * while the connection is held. */
duckdb_connection pk_db_conn_duckdb(pk_db_conn *c);
pk_db *pk_db_conn_db(pk_db_conn *c);

/* Where a result goes. Both callbacks run on the thread that called
 * pk_db_exec; either may be NULL. begin is called once with the result
 * (column names and types: duckdb_column_count, duckdb_column_name,
 * duckdb_column_logical_type) before any chunk; chunk once per data chunk,
 * which is valid only during the call. A callback returns PK_OK to go on or
 * a PK_E* code, which stops the query and becomes pk_db_exec's result. */
typedef struct pk_db_sink {
  int (*begin)(void *arg, duckdb_result *res);
  int (*chunk)(void *arg, duckdb_data_chunk chunk);
  void *arg;
  /* Instead of chunk: called with the chunk's handle, and may keep the
   * chunk by setting *chunk to NULL (then it is the callee's to destroy
   * with duckdb_destroy_data_chunk; it stays valid after the result is
   * gone). The query-result cache keeps chunks this way, without a copy. */
  int (*take)(void *arg, duckdb_data_chunk *chunk);
} pk_db_sink;

/* Runs sql (one statement or several separated by ';') on c. Statements run
 * in order; the results of all but the last are discarded; the last one's
 * goes to sink (which may be NULL). Stops at the first failing statement.
 * Blocks until done, failed or interrupted. Returns PK_OK or the codes
 * listed at the top; e gets DuckDB's message. */
int pk_db_exec(pk_db_conn *c, const char *sql, const pk_db_sink *sink,
               pk_errmsg *e);

/* Runs a query whose first row's first column is an integer into *out (0
 * when the result is empty or NULL). Errors as pk_db_exec. */
int pk_db_query_int64(pk_db_conn *c, const char *sql, int64_t *out,
                      pk_errmsg *e);

/* Interrupts the statement running on c, or the next one to start before
 * pk_db_release. Thread-safe and async-safe with respect to the executing
 * thread; not async-signal-safe (call it from a watcher thread, as
 * pk_db_watch does, not from a signal handler). */
void pk_db_interrupt(pk_db_conn *c);
/* Whether pk_db_interrupt was called since the connection was acquired. */
bool pk_db_interrupted(pk_db_conn *c);

typedef struct pk_db_progress_info {
  bool running;     /* a statement is executing on the connection */
  double percent;   /* 0..100, or -1 when DuckDB cannot estimate it */
  uint64_t rows;    /* rows processed so far */
  uint64_t total;   /* rows to process, as DuckDB estimates */
  uint64_t elapsed; /* ns since the statement started */
} pk_db_progress_info;

/* The progress of the statement running on c, as last published by the
 * executing thread. Thread-safe. */
void pk_db_progress(pk_db_conn *c, pk_db_progress_info *out);

/* Work that runs outside DuckDB on the connection's behalf (csvnum.h's
 * reader) reports through the connection as a statement does: begin marks
 * it running, progress publishes (any thread; rows and total may be 0 when
 * only the percentage is known), end marks it done. A pk_db_watch then
 * draws it, and the work polls pk_db_interrupted. */
void pk_db_work_begin(pk_db_conn *c);
void pk_db_work_progress(pk_db_conn *c, double percent, uint64_t rows,
                         uint64_t total);
void pk_db_work_end(pk_db_conn *c);

/* ---- a watcher thread: progress and cancellation ------------------------ */

typedef struct pk_db_watch pk_db_watch;

/* Called on the watcher thread every interval with the current progress.
 * Return true to interrupt the connection (then the watcher keeps calling
 * back until stopped). */
typedef bool (*pk_db_watch_cb)(void *arg, const pk_db_progress_info *p);

/* Starts a thread polling c every interval_ms (>= 1). Returns PK_OK and
 * sets *out; PK_EINVAL; PK_ENOMEM; PK_ESYS if the thread cannot start. */
int pk_db_watch_start(pk_db_conn *c, unsigned interval_ms, pk_db_watch_cb cb,
                      void *arg, pk_db_watch **out);

/* Stops and joins the thread; after it returns cb is not called again. NULL
 * is a no-op. */
void pk_db_watch_stop(pk_db_watch *w);

/* ---- SQL text ------------------------------------------------------------ */

/* A growable string for building SQL. Zero-initialise; free with
 * pk_sqlbuf_free. After an allocation failure every append is a no-op and
 * err is PK_ENOMEM, so a builder checks once at the end. */
typedef struct pk_sqlbuf {
  char *s;
  size_t len, cap;
  int err;
} pk_sqlbuf;

void pk_sqlbuf_add(pk_sqlbuf *b, const char *text);
void pk_sqlbuf_addf(pk_sqlbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends s as a quoted identifier: "s" with each '"' doubled. */
void pk_sqlbuf_ident(pk_sqlbuf *b, const char *s);
/* Appends s as a string literal: 's' with each '\'' doubled. */
void pk_sqlbuf_literal(pk_sqlbuf *b, const char *s);
void pk_sqlbuf_free(pk_sqlbuf *b);

/* ---- catalog queries ----------------------------------------------------- */

/* Builds the SQL listing the tables of the main schema: columns "table",
 * "rows" (exact), "columns". *sql is malloc'd (caller frees). Runs a query on
 * c to learn the table names. Errors as pk_db_exec; PK_ENOMEM. */
int pk_db_tables_sql(pk_db_conn *c, char **sql, pk_errmsg *e);

/* Builds the SQL describing table's columns in one scan: "column", "type",
 * "nulls", "min", "max", "distinct" (approx_count_distinct; min and max as
 * text; NULL for nested types). PK_ENOENT with a message if there is no such
 * table. *sql is malloc'd (caller frees). */
int pk_db_schema_sql(pk_db_conn *c, const char *table, char **sql,
                     pk_errmsg *e);

/* Whether table exists in the main schema (case-insensitively, as DuckDB
 * resolves names) into *exists. */
int pk_db_table_exists(pk_db_conn *c, const char *table, bool *exists,
                       pk_errmsg *e);

#endif /* PIKA_ENGINE_DB_H */
