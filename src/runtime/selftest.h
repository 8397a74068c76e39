/*
 * selftest.h — a short, real run of the whole runtime, for `pika doctor`.
 *
 * One producer thread fills buffers from a bounded pk_bufpool and sends
 * them through a bounded pk_chan to workers running on a pk_pool; each
 * worker holds a CPU token from the pk_gov while it checksums its buffer,
 * then hands the result to the consumer (the caller's thread) through a
 * second channel. The consumer verifies that every item arrived exactly once
 * with the right checksum and records each item's end-to-end latency in a
 * pk_metrics histogram. Nothing is simulated: the figures are what the
 * runtime did on this machine just now.
 */
#ifndef PIKA_RUNTIME_SELFTEST_H
#define PIKA_RUNTIME_SELFTEST_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/governor.h"
#include "runtime/metrics.h"

typedef struct pk_selftest_config {
  uint64_t items;     /* items to push through; 0: 200000 */
  size_t item_bytes;  /* bytes per buffer (a multiple of 8); 0: 1024 */
  size_t channel_cap; /* capacity of both channels; 0: 64 */
  size_t buffers;     /* buffer-pool bound; 0: 2 * channel_cap */
  int workers;        /* 0: the governor's CPU tokens */
} pk_selftest_config;

typedef struct pk_selftest_result {
  uint64_t items;           /* items verified (== config.items on success) */
  uint64_t elapsed_ns;      /* wall time of the run */
  uint64_t buffers_made;    /* buffers the pool ever allocated (<= bound) */
  uint64_t buffer_reuses;   /* acquires served by a recycled buffer */
  uint64_t producer_blocks; /* sends that waited on a full channel */
  uint64_t cpu_peak;        /* most CPU tokens held at once */
  int workers;
} pk_selftest_result;

/* Runs the pipeline. gov must outlive the call; metrics may be NULL, else
 * the histogram "pika_selftest_latency_seconds" and counter
 * "pika_selftest_items" are registered in it. Returns PK_OK, PK_ECORRUPT
 * if an item was lost, duplicated or damaged (a runtime bug), or the error
 * of the runtime call that failed. */
int pk_selftest_run(pk_gov *gov, pk_metrics *metrics,
                    const pk_selftest_config *cfg, pk_selftest_result *out);

#endif /* PIKA_RUNTIME_SELFTEST_H */
