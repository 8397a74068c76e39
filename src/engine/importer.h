/*
 * importer.h — files into workspace tables: CSV/TSV, Parquet, JSON/NDJSON,
 * plain or gzip/zstd-compressed, one file, several, or glob patterns, into
 * one table (columns matched by name: union_by_name).
 *
 * How
 *   One CREATE TABLE ... AS SELECT * FROM read_csv / read_parquet /
 *   read_json_auto(...) inside a transaction (with --replace, the DROP of the
 *   old table is in the same transaction, so a failed import leaves the old
 *   table as it was). The kind comes from the first source's extension after
 *   a .gz or .zst suffix (DuckDB decompresses by extension): .parquet/.pq;
 *   .json/.ndjson/.jsonl; anything else is read as CSV, whose delimiter,
 *   quote, header and types DuckDB's sniffer detects unless given. All
 *   sources must be of one kind. Every piece of user text (paths, table
 *   name, options) enters the SQL quoted (pk_sqlbuf_literal / _ident).
 *
 * Types
 *   DuckDB's sniffer (a sample of 20480 rows), which already keeps a column
 *   whose sampled values have leading zeros ("02134") as VARCHAR; plus one
 *   rule, because a leading zero after the sample would be silently lost:
 *   an integer column whose name says it is a code (zip, zipcode, postcode,
 *   postal..., fips, *_code) is read as VARCHAR. Then the user's --type
 *   COL=TYPE overrides win.
 *
 * Rejected rows (CSV)
 *   Without strict, read_csv runs with store_rejects=true: rows that do not
 *   parse (wrong column count, a value that does not convert, bad quoting)
 *   are kept out of the table and recorded in DuckDB's reject_errors /
 *   reject_scans temp tables; the import reports how many lines were
 *   rejected and the first PK_IMPORT_SHOWN of them with file, line number,
 *   column and DuckDB's reason. With strict, the first bad row fails the
 *   import (PK_EINVAL with DuckDB's message) and no table is created.
 *   Parquet and JSON are all or nothing.
 *
 * Thread-safety: uses the connection it is given for the whole import (the
 * rejects tables are per connection); pass the writer.
 */
#ifndef PIKA_ENGINE_IMPORTER_H
#define PIKA_ENGINE_IMPORTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/db.h"

#define PK_IMPORT_SHOWN 5

typedef struct pk_import_opts {
  const char *const *sources; /* paths or glob patterns */
  size_t nsources;
  const char *table; /* NULL: from the first source's file name */
  bool replace;      /* drop an existing table of that name */
  /* CSV only; NULL / -1: detected */
  const char *delimiter; /* one character, or "\t" / "tab" */
  const char *quote, *escape;
  int header; /* -1 detect, 0 no, 1 yes */
  int64_t skip;
  const char *const *nulls; /* strings read as NULL */
  size_t nnulls;
  const char *const *types; /* "COL=TYPE" overrides */
  size_t ntypes;
  const char *date_format;
  bool strict;
  /* "csv", "parquet" or "json": the sources' format, for sources whose
   * names do not tell it (a FIFO, /proc/self/fd/N); NULL: by extension. */
  const char *format;
  /* "gzip" or "zstd": the sources' compression, for sources whose names do
   * not tell it (a decoded archive of data.csv.gz); NULL: by extension. */
  const char *compression;
  /* Called after the data was read and before COMMIT (NULL: none); an
   * error return rolls the import back and becomes pk_import's result.
   * For a source streamed from elsewhere that is verified only at its end
   * (an .adapipe archive through a FIFO). */
  int (*before_commit)(void *arg, pk_errmsg *e);
  void *before_commit_arg;
} pk_import_opts;

typedef struct pk_import_reject {
  char file[256];
  int64_t line; /* 1-based line in the file */
  char column[128];
  char reason[384];
} pk_import_reject;

typedef struct pk_import_result {
  char table[256];
  const char *kind; /* "csv", "parquet", "json" */
  size_t files;     /* files read (patterns expanded) */
  uint64_t rows;
  uint64_t columns;
  uint64_t rejected; /* lines rejected (CSV) */
  size_t nshown;
  pk_import_reject shown[PK_IMPORT_SHOWN];
  char text_columns[256]; /* columns kept as text by the code-name rule */
  uint64_t ns;            /* wall time */
} pk_import_result;

/* The format of a file by its name, as the importer reads it: "parquet"
 * (.parquet, .pq), "json" (.json, .ndjson, .jsonl) or "csv" (anything else),
 * after a .gz or .zst suffix. */
const char *pk_import_format_of(const char *name);

/* The compression a file's name says: "gzip" (.gz), "zstd" (.zst) or NULL. */
const char *pk_import_compression_of(const char *name);

/* Appends to b the table function that reads the file or glob `path` by its
 * format (pk_import_format_of), with the options Pika always gives it:
 * read_parquet(path), read_json_auto(path), or read_csv(path, buffer_size =
 * 8 MiB, see importer.c) whose dialect and types DuckDB sniffs. For commands
 * that read a file without importing it (pika plot FILE, the server's preview).
 */
void pk_import_reader(pk_sqlbuf *b, const char *path);

/* Appends to b sniff_csv(path, ...) with the options pk_import_reader gives
 * read_csv, so its dialect, header and types are those that read_csv
 * detects for the file. */
void pk_import_sniff(pk_sqlbuf *b, const char *path);

/* The default table name for a source path: the file name without
 * directories, an .adapipe suffix and extensions (compression suffix
 * included), every character
 * outside [A-Za-z0-9_] turned into '_', prefixed with 't_' if it starts with
 * a digit, "data" if nothing is left. */
void pk_import_table_name(const char *source, char *buf, size_t cap);

/* Imports. Returns PK_OK with *r filled; PK_ENOENT (a source or pattern
 * matching nothing), PK_EEXIST (the table exists and !replace; the message
 * names --replace), PK_EINVAL (bad options, mixed kinds, a bad row under
 * strict, DuckDB's errors), PK_EINTERRUPTED, PK_ENOMEM, PK_EIO; e says
 * which. Blocks for the duration of the import. */
int pk_import(pk_db_conn *c, const pk_import_opts *o, pk_import_result *r,
              pk_errmsg *e);

#endif /* PIKA_ENGINE_IMPORTER_H */
