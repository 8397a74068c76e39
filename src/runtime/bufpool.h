/*
 * bufpool.h — a bounded pool of fixed-size buffers, reused across chunks.
 *
 * What it is for
 *   A pipeline reads input in chunks of a fixed size (say 1 MiB) and passes
 *   each through several stages. Allocating and freeing a chunk per step
 *   costs more than it seems: glibc serves a block this large with mmap(2)
 *   (until its dynamic threshold adapts) and every first touch of a fresh
 *   mapping is a page fault, 256 of them per MiB. Worse, nothing bounds how
 *   many chunks exist at once. pk_bufpool fixes both: at most `max_buffers`
 *   buffers ever exist, each allocated once and recycled, and a stage that
 *   wants one more than the bound blocks until a downstream stage releases
 *   one. The count bound is the pipeline's memory bound
 *   (max_buffers * buf_size), independent of input size.
 *
 * How it works
 *   One mutex and one condvar. Buffers are allocated lazily: an acquire
 *   reuses a released buffer if there is one (most recently released first,
 *   as it is likeliest to be warm in cache and already faulted in), else
 *   allocates a new one while fewer than max_buffers exist, else sleeps until
 *   a release. The allocation itself runs outside the lock (a MiB-sized
 *   allocation can take a system call), with its slot reserved so that the
 *   bound holds. Each release wakes one sleeper; pk_bufpool_close() wakes all.
 *   Timed waits use CLOCK_MONOTONIC (immune to wall-clock steps).
 *
 * Alignment
 *   Every buffer starts on a 64-byte boundary and its size is rounded up to
 *   a multiple of 64: 64 bytes is a cache line on x86-64 and most ARM64
 *   cores, so two buffers never share a line (no false sharing between
 *   threads writing the ends of neighbouring buffers), and vectorised code
 *   (AVX-512 loads, hashing, compression) may use aligned accesses from the
 *   start of a buffer. aligned_alloc() also requires the size to be a
 *   multiple of the alignment.
 *
 * Ownership
 *   The pool owns every buffer. pk_bufpool_acquire() lends one to the caller,
 *   who must give it back with pk_bufpool_release() to the same pool (it may
 *   pass it between threads meanwhile, e.g. through a pk_chan). Never free()
 *   a buffer. Buffer contents are not cleared on reuse.
 *
 * Thread-safety
 *   Every function except pk_bufpool_create() and pk_bufpool_free() may be
 *   called concurrently from any number of threads on the same pool.
 *
 * Errors follow base/error.h: PK_OK or a negative PK_E* code.
 */
#ifndef PIKA_RUNTIME_BUFPOOL_H
#define PIKA_RUNTIME_BUFPOOL_H

#include <stddef.h>
#include <stdint.h>

typedef struct pk_bufpool pk_bufpool;

/* Alignment of every buffer, in bytes (one cache line). */
#define PK_BUFPOOL_ALIGN 64

/* ---- lifecycle ------------------------------------------------------------
 */

/* Creates a pool of up to `max_buffers` buffers of at least `buf_size`
 * bytes each. No buffer is allocated yet. Returns PK_OK and sets *out (free
 * with pk_bufpool_free()); PK_EINVAL when buf_size or max_buffers is 0, out
 * is NULL, or the rounded size overflows; PK_ENOMEM. */
int pk_bufpool_create(size_t buf_size, size_t max_buffers, pk_bufpool **out);

/* Frees every buffer the pool allocated and the pool itself. NULL is a
 * no-op. All buffers should have been released; any still lent out are
 * freed too, so pointers to them become invalid. The caller guarantees no
 * thread is inside, or will again call, any pk_bufpool_* function on it. */
void pk_bufpool_free(pk_bufpool *pool);

/* Makes every current and later acquire fail with PK_ECLOSED and wakes all
 * sleeping acquirers, so that pipeline stages blocked on the pool can shut
 * down. Release still works after close. Idempotent; accepts NULL;
 * thread-safe. */
void pk_bufpool_close(pk_bufpool *pool);

/* ---- acquire / release ----------------------------------------------------
 */

/* Sets *buf to a buffer of pk_bufpool_buf_size() usable bytes, aligned to
 * PK_BUFPOOL_ALIGN, blocking while max_buffers are already lent out.
 * Returns PK_OK (the caller holds the buffer until it releases it),
 * PK_ECLOSED if the pool is or becomes closed, or PK_ENOMEM if allocating a
 * new buffer failed (the bound is not used up by the failure). On failure
 * *buf is untouched. */
int pk_bufpool_acquire(pk_bufpool *pool, void **buf);

/* As pk_bufpool_acquire() without blocking: PK_EAGAIN when all max_buffers
 * are lent out. */
int pk_bufpool_try_acquire(pk_bufpool *pool, void **buf);

/* As pk_bufpool_acquire(), giving up with PK_ETIMEDOUT after `timeout_ns`
 * nanoseconds of waiting (0: one attempt, PK_ETIMEDOUT if none is free). */
int pk_bufpool_acquire_timeout(pk_bufpool *pool, void **buf,
                               uint64_t timeout_ns);

/* Gives `buf` back to the pool and wakes one sleeping acquirer. Returns
 * PK_OK, or PK_EINVAL (and changes nothing) if buf was not lent out by
 * this pool: a foreign pointer, NULL, or a second release of the same
 * buffer, which would otherwise hand one buffer to two owners. Checking
 * costs a scan of the pool's buffers (max_buffers pointers) under the lock.
 * Never blocks beyond the lock. */
int pk_bufpool_release(pk_bufpool *pool, void *buf);

/* ---- introspection --------------------------------------------------------
 */

/* The buf_size given to pk_bufpool_create(): every buffer has at least this
 * many usable bytes. */
size_t pk_bufpool_buf_size(const pk_bufpool *pool);

/* The max_buffers given to pk_bufpool_create(). */
size_t pk_bufpool_max_buffers(const pk_bufpool *pool);

/* Counters since creation, for --stats. reuses / acquires is the reuse
 * rate; `allocated` never exceeds max_buffers. */
typedef struct pk_bufpool_stats {
  size_t allocated;  /* buffers allocated so far (they live until free) */
  size_t in_use;     /* buffers lent out right now */
  uint64_t acquires; /* successful acquires of any kind */
  uint64_t reuses;   /* of those, served by a released buffer (no alloc) */
  uint64_t waits;    /* acquires that had to sleep for a release */
} pk_bufpool_stats;

/* Fills *out. Lock-free: each field is a relaxed atomic load, exact for its
 * moment but not one consistent snapshot across fields. */
void pk_bufpool_get_stats(const pk_bufpool *pool, pk_bufpool_stats *out);

#endif /* PIKA_RUNTIME_BUFPOOL_H */
