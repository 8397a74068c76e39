/*
 * format_out.h — result writers: a query's result chunks, as they stream out
 * of pk_db_exec, written as an aligned terminal table, CSV, JSON, NDJSON or
 * a Markdown table. Parquet is written by DuckDB itself (pk_fmt_copy_sql).
 *
 * Values are converted from DuckDB's vectors directly (no per-value
 * duckdb_value objects): integers, HUGEINT, DECIMAL (exact, from the scaled
 * integer), FLOAT/DOUBLE (the shortest text that reads back as the same
 * value), BOOLEAN, VARCHAR, BLOB (\xNN for non-printable bytes), DATE, TIME,
 * TIME WITH TIME ZONE, TIMESTAMP (s/ms/us/ns; WITH TIME ZONE shown in UTC,
 * "+00"), INTERVAL, UUID, ENUM, and LIST/ARRAY/STRUCT/MAP recursively
 * ("[1, 2]", "{'a': 1}", "{k=v}"). Other types print as their type name in
 * angle brackets.
 *
 * Formats
 *   table     columns fitted to `width` (widest columns shrink first; a cell
 *             that does not fit ends in "…"; columns that still do not fit
 *             are left out and named below the table), numbers aligned
 *             right, NULL shown as "NULL", at most max_rows rows followed by
 *             "... N more rows not shown", then "(N rows)". Buffers at most
 *             max_rows rows; the rest are only counted.
 *   csv       RFC 4180: a header row, fields quoted when they contain a comma,
 *             quote, CR or LF (quotes doubled), CRLF-free "\n" line ends;
 *             NULL is an empty field, an empty string is "".
 *   json      one array of objects, one object per line; strings escaped
 *             (control characters as \uXXXX); numbers and booleans bare;
 *             NULL as null; NaN and infinities as the strings "nan", "inf",
 *             "-inf" (JSON has no such numbers); nested values as strings.
 *   ndjson    one object per line, as json's objects.
 *   markdown  a GitHub pipe table, numeric columns right-aligned ("---:"),
 *             '|' escaped, line breaks shown as spaces, NULL empty.
 *   Everything but table streams: memory does not grow with the result.
 *
 * Thread-safety: a writer is used by one thread (pk_db_exec calls its sink on
 * the executing thread).
 */
#ifndef PIKA_ENGINE_FORMAT_OUT_H
#define PIKA_ENGINE_FORMAT_OUT_H

#include <stdint.h>
#include <stdio.h>

#include "engine/db.h"

typedef enum pk_fmt {
  PK_FMT_TABLE,
  PK_FMT_CSV,
  PK_FMT_JSON,
  PK_FMT_NDJSON,
  PK_FMT_MARKDOWN,
  PK_FMT_PARQUET
} pk_fmt;

/* "table", "csv", ... -> *out; PK_EINVAL for an unknown name. */
int pk_fmt_parse(const char *name, pk_fmt *out);
/* The name of a format; static storage. */
const char *pk_fmt_name(pk_fmt fmt);

typedef struct pk_fmt_opts {
  pk_fmt fmt;        /* not PK_FMT_PARQUET */
  int width;         /* table: columns of the terminal; 0: 100 */
  uint64_t max_rows; /* table: rows shown; 0: 40 */
} pk_fmt_opts;

typedef struct pk_fmt_writer pk_fmt_writer;

/* Creates a writer to out (not owned; the caller closes it). PK_EINVAL for
 * PK_FMT_PARQUET or NULL arguments; PK_ENOMEM. */
int pk_fmt_writer_create(const pk_fmt_opts *opts, FILE *out, pk_fmt_writer **w);

/* The sink to pass to pk_db_exec; valid while the writer lives. */
pk_db_sink pk_fmt_writer_sink(pk_fmt_writer *w);

/* Writes what follows the last row (the table itself for table format,
 * json's closing bracket) and flushes. PK_EIO (with errno's text in e) if
 * any write failed; PK_EINVAL if the query produced no result set. */
int pk_fmt_writer_finish(pk_fmt_writer *w, pk_errmsg *e);

/* Rows the writer received. */
uint64_t pk_fmt_writer_rows(const pk_fmt_writer *w);

/* NULL is a no-op. */
void pk_fmt_writer_free(pk_fmt_writer *w);

/* Runs sql on c and writes its result to out in opts' format: create,
 * pk_db_exec, finish, free. *rows (may be NULL) gets the rows written.
 * Errors as pk_db_exec and pk_fmt_writer_finish. */
int pk_fmt_run(pk_db_conn *c, const char *sql, const pk_fmt_opts *opts,
               FILE *out, uint64_t *rows, pk_errmsg *e);

/* Builds into *out "COPY (sql) TO 'path' (FORMAT parquet)" for a single
 * statement sql (a trailing ';' is dropped). PK_EINVAL if sql holds more than
 * one statement or none (checked by DuckDB's parser on c); PK_ENOMEM. */
int pk_fmt_copy_sql(pk_db_conn *c, const char *sql, const char *path,
                    pk_sqlbuf *out, pk_errmsg *e);

/* Appends the text of row `row` of vector v (of logical type t) to b,
 * as the table format shows it; NULL gives "NULL". For tests and callers
 * that need one value as text. */
void pk_fmt_value(pk_sqlbuf *b, duckdb_vector v, duckdb_logical_type t,
                  uint64_t row);

#endif /* PIKA_ENGINE_FORMAT_OUT_H */
