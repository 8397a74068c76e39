/*
 * csvnum.h — a native reader for the numeric columns of a plain CSV file:
 * the pk_cols that pk_cols_load would give for
 *   SELECT name1 AS alias1, ... FROM read_csv(FILE)     (importer.h's reader)
 * without DuckDB's CSV reader, for `pika plot FILE.csv`.
 *
 * Why. Plotting a 10M-row, 377 MB CSV spent most of its time in DuckDB's
 * CSV reader (about 0.8 s wall of 1.55 s on two cores). This reader parses
 * only the fields a plot needs, straight into the plot's arrays: the file
 * is cut into byte ranges, one per share of the pool (kernel_par.h), each
 * share reads the lines that start in its range with pread into a small
 * buffer, and numbers are parsed by fast_float (parse_double.h).
 *
 * Semantics are DuckDB's, or the reader steps aside. The dialect, header,
 * column names and types come from DuckDB's own sniffer (sniff_csv with
 * the options read_csv gets, pk_import_sniff). The reader takes a file only
 * when what it produces is what DuckDB's reader would:
 *   - a single regular, uncompressed file that pk_import_format_of calls
 *     CSV;
 *   - a one-byte delimiter, newlines \n or \r\n, no comment character, no
 *     skipped lines;
 *   - every wanted column typed DOUBLE or BIGINT by the sniffer;
 * and, while reading, every line has the sniffed number of fields, no field
 * holds the quote character (so a newline always ends a row), and every
 * wanted field is empty (NULL, NaN in the arrays) or a decimal number in
 * fast_float's general form (DuckDB's own parser) that starts and ends with
 * a digit after an optional '-' (so not "inf", ".5" or "5."), has no
 * leading zeros (DuckDB's sniffer takes "007" for text) and is finite; for
 * a BIGINT column, -?D+ in range. Anything else ends it with PK_EUNSUPPORTED
 * and a sentence, having used nothing of the caller's; the caller then reads
 * the file through DuckDB, which also reports bad rows its own way. Doubles are
 * correctly rounded, as DuckDB's (also fast_float) are; the tests compare
 * the two bit for bit.
 *
 * Rows keep the file's order. Each share writes its rows at an estimate of
 * where they start (its predecessors' lines counted in samples of their
 * ranges, with a margin), and the shares are moved down to close the gaps
 * at the end, in memory just written. A share that outgrows its room
 * (lines much shorter than the samples said) makes the whole read start
 * over as one share.
 *
 * Cancellation and progress go through the connection (db.h's
 * pk_db_work_*): the reader polls pk_db_interrupted between buffers and
 * publishes the fraction of bytes read, so a pk_db_watch draws it.
 *
 * Errors: PK_OK; PK_EUNSUPPORTED (see above; e says why); PK_EINTERRUPTED;
 * PK_EIO (the file cannot be read); PK_ENOMEM; DuckDB's errors from the
 * sniff (a missing file: PK_ENOENT).
 */
#ifndef PIKA_ENGINE_CSVNUM_H
#define PIKA_ENGINE_CSVNUM_H

#include <stddef.h>

#include "base/error.h"
#include "engine/columns.h"
#include "engine/db.h"
#include "runtime/pool.h"

/* At most this many columns are read (a plot needs x, y, color, z). */
#define PK_CSVNUM_MAX_COLS 4

/* Reads the columns names[0..n) of the CSV file at path into *out, the
 * i-th named aliases[i] (names are matched as DuckDB matches identifiers:
 * exactly, else ignoring ASCII case). Shares run on pool (NULL: this thread
 * only). c runs the sniff and carries progress and interrupts. *out is
 * freed with pk_cols_free. */
int pk_csvnum_load(pk_db_conn *c, pk_pool *pool, const char *path,
                   const char *const *names, const char *const *aliases,
                   size_t n, pk_cols **out, pk_errmsg *e);

/* For tests: cut files into shares of min_share bytes (0: back to the
 * defaults) and give each share but the last room for (1 + margin) times
 * its estimated lines plus slack; a negative margin forces the start-over
 * as one share. Not for concurrent use with a load. */
void pk_csvnum_tune(size_t min_share, double margin, size_t slack);

#endif /* PIKA_ENGINE_CSVNUM_H */
