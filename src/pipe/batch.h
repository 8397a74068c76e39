/*
 * batch.h — many files through the pipeline, fairly.
 *
 * A directory of a thousand small files and one huge one should not make
 * the small files wait for the huge one. pk_batch_run() runs two lanes at
 * once:
 *   - the small lane: inputs below PK_PIPE_SMALL_FILE, one after another on
 *     a thread of their own, each through the engine's inline path;
 *   - the large lane: everything else, one file at a time on the caller's
 *     thread, each with the engine's full set of workers.
 * Both lanes take the governor's CPU tokens per chunk, and the governor
 * serves waiters in (eventually strict) FIFO order, so the small lane gets
 * a core every few milliseconds however large the large file is; the large
 * lane still has the machine to itself when no small files are left.
 * docs/CONCURRENCY.md has the measurement.
 */
#ifndef PIKA_PIPE_BATCH_H
#define PIKA_PIPE_BATCH_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

typedef struct pk_batch_item {
  void *user;    /* the caller's description of the job */
  uint64_t size; /* bytes of input: decides the lane */
  /* Filled by pk_batch_run: */
  int rc;               /* the job's result; PK_EINTERRUPTED if never run */
  pk_errmsg msg;        /* its message when rc != PK_OK */
  uint64_t finished_ns; /* when it finished, from the start of the batch */
} pk_batch_item;

/* Runs one job. Called from two threads at once (one per lane), so it must
 * be thread-safe across different items. */
typedef int (*pk_batch_fn)(void *ctx, pk_batch_item *item, pk_errmsg *e);

/* Runs every item through fn in two lanes (above); small_limit is the size
 * below which an item takes the small lane (0: PK_PIPE_SMALL_FILE). When
 * *cancel becomes non-zero, no further item starts. Returns the number of
 * items whose rc is not PK_OK. */
size_t pk_batch_run(pk_batch_item *items, size_t n, uint64_t small_limit,
                    pk_batch_fn fn, void *ctx, volatile sig_atomic_t *cancel);

#endif /* PIKA_PIPE_BATCH_H */
