/*
 * archive_src.h — an .adapipe archive as a file DuckDB can read, for
 * `pika import data.csv.adapipe`. The archive is decoded as it is read,
 * every chunk authenticated, with the same secrets as `pika pipe restore`
 * (cmd/secret.h).
 *
 * The format inside is the archive's stored original name (data.csv,
 * events.ndjson, t.parquet; pk_import_format_of); an archive made from
 * standard input is named by its own file name without ".adapipe".
 *
 * How. The archive is decoded, and verified whole (every chunk's tag, the
 * end record, the whole-file digest), into an unnamed temporary file
 * (O_TMPFILE, else mkstemp + unlink at once) in tmpdir, which DuckDB reads
 * as /proc/self/fd/N. The plaintext never has a name, and its space goes
 * back when the file is closed or the process dies. A damaged or tampered
 * archive fails before anything is imported.
 *
 * Why not a FIFO. Parquet needs random access. For CSV and JSON a FIFO fed
 * by a decoder thread would keep the plaintext off the disk, but DuckDB
 * 1.4.4 reopens a source several times (DESCRIBE, the sniffer, the scan)
 * and its readers do not agree on what a reopened pipe means: measured, a
 * FIFO that replays the file on each open gave 1,000,000- and 300,000-row
 * CSVs exactly,
 * but a 1,999-row CSV came out as 5,999 rows, and read_json read an
 * NDJSON file over and over (20.6M rows from 200,000) or never finished.
 * So every format takes the temporary file.
 *
 * Threads: one thread; the decode itself runs on the pipeline's workers.
 */
#ifndef PIKA_CMD_ARCHIVE_SRC_H
#define PIKA_CMD_ARCHIVE_SRC_H

#include <signal.h>
#include <stdbool.h>

#include "base/error.h"
#include "cmd/secret.h"

typedef struct pk_archive_src pk_archive_src;

/* Whether path names an archive (ends in ".adapipe", any case). */
bool pk_archive_src_is(const char *path);

/* Opens the archive at path and reads its header; if it is encrypted, gets
 * the secret from sec (file, PIKA_PASSWORD, key file or a prompt) and
 * checks it. Errors as `pika pipe restore`: PK_ENOENT / PK_EPERM (cannot
 * open), PK_ECORRUPT (not an archive, header altered), PK_EAUTH (wrong or
 * missing password or key), with a sentence in e. Free with
 * pk_archive_src_close. */
int pk_archive_src_open(const char *path, const pk_secret_source *sec,
                        pk_archive_src **out, pk_errmsg *e);

/* "csv", "parquet" or "json", from the stored name. */
const char *pk_archive_src_format(const pk_archive_src *a);

/* "gzip", "zstd" or NULL: the compression of the archived file, from the
 * stored name (data.csv.gz), which the decoded copy's name does not carry. */
const char *pk_archive_src_compression(const pk_archive_src *a);

/* Decodes the archive into a temporary file in tmpdir and verifies it;
 * blocks for the decode. *cancel (optional) non-zero stops it
 * (PK_EINTERRUPTED). PK_ECORRUPT, PK_EIO, PK_ENOSPC, PK_ENOMEM, PK_ELIMIT,
 * or an error creating the file. */
int pk_archive_src_start(pk_archive_src *a, const char *tmpdir,
                         volatile sig_atomic_t *cancel, pk_errmsg *e);

/* The path to hand to the importer (valid until close). */
const char *pk_archive_src_path(const pk_archive_src *a);

/* PK_OK if the archive was decoded to its verified end; else its error
 * with its sentence. Usable as pk_import_opts.before_commit (arg: the
 * pk_archive_src), so that nothing unverified is ever committed. */
int pk_archive_src_check(void *a, pk_errmsg *e);

/* The archive's own error, if the decode found it damaged (PK_ECORRUPT,
 * ...) or could not run; PK_OK otherwise, and after an interrupt. */
int pk_archive_src_error(pk_archive_src *a, pk_errmsg *e);

/* Closes the temporary file (freeing its space) and the archive, wipes the
 * keys and the secret. NULL is a no-op. */
void pk_archive_src_close(pk_archive_src *a);

#endif /* PIKA_CMD_ARCHIVE_SRC_H */
