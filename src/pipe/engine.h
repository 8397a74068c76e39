/*
 * engine.h — the adaptive pipeline's engine: streams one input through a
 * pipeline's stages into an .adapipe archive, and one archive back.
 *
 * Design (docs/CONCURRENCY.md has the measurements):
 *
 *   reader thread ──work chan──▶ N workers (pk_pool) ──done chan──▶ writer
 *        ▲                                                            │
 *        └──────────────── free items (bounded) ◀────────────────────┘
 *
 * - The reader reads chunks into buffers from a bounded pk_bufpool, feeds
 *   the whole-file digest in order, and sends each chunk to the workers.
 *   It holds an I/O token from the governor while it reads.
 * - Workers run the stage chain (chain.h), each with its own contexts,
 *   holding a CPU token per chunk.
 * - The writer (the calling thread) puts chunks back in order through a
 *   reorder window and writes them, holding an I/O token per write.
 * - A fixed set of in-flight items bounds memory: the reader takes a free
 *   item (and the governor's memory for its buffers) before it reads, the
 *   writer returns it after writing. Memory does not grow with the input.
 * - Chunk size: fixed by the caller, or chosen from the input size and then
 *   tuned from the measured time per chunk (target: a few ms a chunk);
 *   zstd's linked chunks keep their planned size (a group's chunk count
 *   sizes the items in flight).
 * - zstd pipelines link the chunks of a group into one zstd stream (the
 *   ratio of one stream, docs/FORMAT.md): all of a group's chunks go to
 *   one worker, through that worker's own queue (its lane), in order, and
 *   each new group to the lane with the fewest chunks queued; a worker
 *   decodes its groups the same way. Enough items are in flight for
 *   every worker to hold a group.
 * - Inputs below PK_PIPE_SMALL_FILE are done inline in the caller's thread:
 *   no threads, no channels.
 * - Cancellation: *opts->cancel becoming non-zero (a signal handler sets it)
 *   stops every stage at its next chunk; the call returns PK_EINTERRUPTED.
 *
 * The engine reads and writes file descriptors and never opens, renames or
 * deletes files: the caller handles output files (outfile.h).
 */
#ifndef PIKA_PIPE_ENGINE_H
#define PIKA_PIPE_ENGINE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "pipe/archive.h"
#include "pipe/format.h"
#include "pipe/transform.h"
#include "runtime/governor.h"
#include "runtime/metrics.h"

/* Inputs smaller than this take the inline fast path. */
#define PK_PIPE_SMALL_FILE (256u * 1024)

typedef enum pk_pipe_optimize {
  PK_OPT_THROUGHPUT = 0, /* larger chunks, more in flight */
  PK_OPT_LATENCY,        /* small chunks: first bytes out sooner */
  PK_OPT_MEMORY,         /* few, small buffers */
} pk_pipe_optimize;

typedef void (*pk_pipe_progress_fn)(void *arg, uint64_t done, uint64_t total);

typedef struct pk_pipe_opts {
  pk_gov *gov;         /* required; outlives the call */
  pk_metrics *metrics; /* optional: per-stage histograms, queue depths */
  int workers;         /* 0: the governor's CPU tokens */
  uint64_t chunk_size; /* 0: adaptive; else fixed, 4 KiB..64 MiB */
  /* zstd pipelines: bytes per group of linked chunks (docs/FORMAT.md);
   * 0: 16 MiB. Raised to the chunk size if below it. */
  uint64_t group_size;
  pk_pipe_optimize optimize;
  volatile sig_atomic_t *cancel; /* optional */
  pk_pipe_progress_fn progress;  /* optional; called from the writer */
  void *progress_arg;
} pk_pipe_opts;

typedef struct pk_pipe_stats {
  uint64_t in_bytes;  /* bytes read (original when encoding) */
  uint64_t out_bytes; /* bytes written (archive when encoding) */
  uint64_t chunks;
  uint64_t elapsed_ns;
  uint64_t first_chunk_size, last_chunk_size; /* adaptive sizing at work */
  uint64_t buffers;       /* chunk buffers allocated (bounded) */
  uint64_t buffer_reuses; /* acquires served by a recycled buffer */
  int workers;            /* 0 on the fast path */
  int fast_path;          /* the inline small-input path ran */
  pk_pii_stats pii;
} pk_pipe_stats;

/* Where decoded bytes go. write returns PK_OK or an error that stops the
 * decode; offset is the position of data in the original. */
typedef struct pk_pipe_sink {
  int (*write)(void *ctx, uint64_t offset, const uint8_t *data, size_t n);
  void *ctx;
} pk_pipe_sink;

/* Encodes everything readable from in_fd into an archive on out_fd.
 * *h comes from pk_archive_header_init() and pk_archive_keys_new(); the
 * engine sets h->chunk_size (the largest chunk it will write) and the tag.
 * Errors: PK_EIO/PK_ENOSPC (message names the side), PK_EINTERRUPTED,
 * PK_ENOMEM, PK_ELIMIT. */
int pk_pipe_encode(const pk_pipe_opts *o, int in_fd, int out_fd,
                   pk_fmt_header *h, const pk_archive_keys *k,
                   pk_pipe_stats *st, pk_errmsg *e);

/* Reads and parses an archive's header from in_fd (left just past it)
 * into *h, keeping its raw bytes in raw[0..*header_len) for
 * pk_pipe_open_keys(). PK_ECORRUPT (not an archive, malformed header),
 * PK_EIO. Nothing is authenticated yet. */
int pk_pipe_read_header(int in_fd, pk_fmt_header *h,
                        uint8_t raw[PK_FMT_HEADER_MAX], uint64_t *header_len,
                        pk_errmsg *e);

/* Derives the keys of header h from s (NULL or NONE for an unencrypted
 * archive) and authenticates the header's raw bytes; cache as for
 * pk_archive_keys_open() (may be NULL). PK_EAUTH (wrong or
 * missing password/key), PK_ECORRUPT (the header was altered). On success
 * *k must be wiped by the caller. */
int pk_pipe_open_keys(const pk_fmt_header *h, const uint8_t *raw,
                      uint64_t header_len, const pk_secret *s,
                      pk_archive_keycache *cache, pk_archive_keys *k,
                      pk_errmsg *e);

/* Decodes the records that follow the header (after pk_pipe_read_header),
 * verifying every chunk, the end record and the whole-file digest, and
 * hands the original bytes, in order, to sink (NULL: verify only).
 * If index_out is non-NULL it receives a malloc'd array of the records'
 * index entries (for validate), *index_n their count.
 * PK_ECORRUPT with the first problem found, PK_EIO, PK_EINTERRUPTED,
 * PK_ELIMIT (the header's chunk size needs more memory than the governor's
 * budget), or the sink's error. */
int pk_pipe_decode(const pk_pipe_opts *o, int in_fd, uint64_t header_len,
                   const pk_fmt_header *h, const pk_archive_keys *k,
                   const pk_pipe_sink *sink, pk_fmt_index_entry **index_out,
                   uint64_t *index_n, pk_pipe_stats *st, pk_errmsg *e);

/* Reads and verifies the trailer and index at the end of a seekable
 * archive (k NULL or unencrypted: plain tag). On success *entries is a
 * malloc'd array of *n entries. PK_ECORRUPT, PK_EIO, PK_EUNSUPPORTED (not
 * seekable). */
int pk_pipe_read_index(int fd, const pk_archive_keys *k,
                       pk_fmt_index_entry **entries, uint64_t *n,
                       uint64_t *index_offset, pk_errmsg *e);

#endif /* PIKA_PIPE_ENGINE_H */
