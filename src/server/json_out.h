/*
 * json_out.h — DuckDB results as the protocol's JSON (docs/PROTOCOL.md,
 * "Results"), built with jansson.
 *
 * Values: integers are JSON numbers up to ±2^53 and strings beyond (and
 * HUGEINT/UHUGEINT always); FLOAT/DOUBLE/DECIMAL numbers, NaN and ±inf as
 * "NaN", "inf", "-inf"; BOOLEAN true/false; DATE, TIME and TIMESTAMP ISO
 * 8601 strings ("2024-01-31T12:00:00"); BLOB base64; everything else
 * (VARCHAR, nested types, UUID, INTERVAL...) the text format_out.h gives.
 *
 * A pk_jrows is a pk_db_sink that collects a result: its columns as
 * [{"name", "type"}] and its rows, each row as compact JSON text (an
 * array), so a stored result costs about what it will cost on the wire.
 * It keeps at most max_rows rows and max_bytes bytes of row text but counts
 * every row (total_rows), so a preview of a huge result is cheap.
 *
 * Ownership: json_t results are new references the caller json_decref()s;
 * char * results are malloc'd. Thread-safety: reentrant, one pk_jrows per
 * thread.
 */
#ifndef PIKA_SERVER_JSON_OUT_H
#define PIKA_SERVER_JSON_OUT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/db.h"

/* The value at row of vector v (logical type t) as a new json_t (never
 * NULL unless out of memory). */
json_t *pk_json_value(duckdb_vector v, duckdb_logical_type t, uint64_t row);

/* A double as JSON: a real, or "NaN"/"inf"/"-inf". */
json_t *pk_json_double(double d);

/* The SQL type name of t ("INTEGER", "DECIMAL(18,3)", "VARCHAR[]"). */
json_t *pk_json_type_name(duckdb_logical_type t);

typedef struct pk_jrows {
  json_t *columns;     /* [{"name", "type"}], set by begin */
  char **rows;         /* kept rows, each "[...]" (malloc'd) */
  size_t nrows, cap;   /* kept */
  uint64_t total_rows; /* seen */
  size_t bytes;        /* of kept row text */
  uint64_t max_rows;   /* 0: no limit */
  size_t max_bytes;    /* 0: no limit */
  bool truncated;      /* rows were seen but not kept (a limit) */
  int err;             /* PK_ENOMEM after an allocation failure */
} pk_jrows;

/* Zeroes r and sets its limits. */
void pk_jrows_init(pk_jrows *r, uint64_t max_rows, size_t max_bytes);
/* The sink filling r; valid while r lives. */
pk_db_sink pk_jrows_sink(pk_jrows *r);
/* Frees the rows and columns (r itself is the caller's). NULL is a no-op. */
void pk_jrows_release(pk_jrows *r);
/* Moves the rows out: *rows (caller frees each and the array). */
void pk_jrows_take(pk_jrows *r, char ***rows, size_t *n);
/* Rows [from, from+n) of r as one JSON array text "[r1,r2]" (malloc'd). */
char *pk_jrows_join(char *const *rows, size_t from, size_t n);

/* Base64 (RFC 4648, padded) of n bytes; malloc'd. */
char *pk_base64(const unsigned char *p, size_t n);

#endif /* PIKA_SERVER_JSON_OUT_H */
