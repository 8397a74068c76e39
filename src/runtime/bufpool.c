/* bufpool.c — bounded pool of reusable buffers; design in bufpool.h. */
#include "runtime/bufpool.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#define HUGE_PAGE ((size_t)2 << 20)

#include "base/clock.h"
#include "base/error.h"

struct pk_bufpool {
  pthread_mutex_t mu;
  pthread_cond_t freed; /* a buffer was released, a slot came back, or close */
  size_t buf_size;      /* as requested */
  size_t alloc_size;    /* rounded up to PK_BUFPOOL_ALIGN */
  size_t max;

  /* Guarded by mu. all[0..nall) are the buffers that exist, lent[i] says
   * whether all[i] is out; free_idx[0..nfree) is a stack of indices of the
   * ones that are not (top = most recently released). `reserved` counts
   * existing buffers plus allocations in flight outside the lock, so that
   * checking it against max keeps the bound while the lock is dropped. */
  void **all;
  bool *lent;
  size_t *free_idx;
  size_t nall, nfree, reserved;
  size_t sleeping;
  bool closed;

  /* Buffers from 256 KiB to 2 MiB are cut from one reserved region backed
   * by huge pages (slab, slab_len bytes mapped at slab_map), packed back to
   * back: on our VM, 4 KiB pages made every pass over a 1 MiB chunk buffer
   * (the read copy, the compressor, the digest, the write copy) pay TLB
   * misses; restoring the benchmark's archive took 0.49-0.61 CPU s with
   * the slab against 0.89-1.6 without. Address space only until touched;
   * NULL: malloc'd buffers. */
  uint8_t *slab;
  void *slab_map;
  size_t slab_len;

  /* Written only with mu held (no lost updates; see channel.c), read
   * lock-free by pk_bufpool_get_stats(). */
  _Atomic size_t st_allocated, st_in_use;
  _Atomic uint64_t st_acquires, st_reuses, st_waits;
};

enum pk__wait { PK__NOWAIT, PK__FOREVER, PK__TIMED };

static void bump64(_Atomic uint64_t *c) {
  atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
                        memory_order_relaxed);
}

static void set_size(_Atomic size_t *c, size_t v) {
  atomic_store_explicit(c, v, memory_order_relaxed);
}

int pk_bufpool_create(size_t buf_size, size_t max_buffers, pk_bufpool **out) {
  if (buf_size == 0 || max_buffers == 0 || out == NULL ||
      buf_size > SIZE_MAX - (PK_BUFPOOL_ALIGN - 1) ||
      max_buffers > SIZE_MAX / sizeof(void *))
    return PK_EINVAL;
  pk_bufpool *pool = calloc(1, sizeof *pool);
  if (pool == NULL)
    return PK_ENOMEM;
  pool->buf_size = buf_size;
  pool->alloc_size =
      (buf_size + PK_BUFPOOL_ALIGN - 1) & ~(size_t)(PK_BUFPOOL_ALIGN - 1);
  pool->max = max_buffers;
  pool->all = calloc(max_buffers, sizeof *pool->all);
  pool->lent = calloc(max_buffers, sizeof *pool->lent);
  pool->free_idx = calloc(max_buffers, sizeof *pool->free_idx);
  if (pool->all == NULL || pool->lent == NULL || pool->free_idx == NULL)
    goto fail;

#if !defined(__SANITIZE_ADDRESS__) /* ASan checks malloc'd buffers' edges */
  if (pool->alloc_size >= HUGE_PAGE / 8 && pool->alloc_size < HUGE_PAGE &&
      max_buffers >= 2 && max_buffers <= SIZE_MAX / pool->alloc_size / 2) {
    size_t len =
        (max_buffers * pool->alloc_size + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    void *m = mmap(NULL, len + HUGE_PAGE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m != MAP_FAILED) {
      uintptr_t a =
          ((uintptr_t)m + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
      pool->slab_map = m;
      pool->slab_len = len + HUGE_PAGE;
      pool->slab = (uint8_t *)a;
      madvise(pool->slab, len, MADV_HUGEPAGE);
    }
  }
#endif
  if (pk_cond_init_monotonic(&pool->freed) != PK_OK)
    goto fail;
  if (pthread_mutex_init(&pool->mu, NULL) != 0) {
    pthread_cond_destroy(&pool->freed);
    goto fail;
  }
  *out = pool;
  return PK_OK;

fail:
  if (pool->slab_map)
    munmap(pool->slab_map, pool->slab_len);
  free(pool->free_idx);
  free(pool->lent);
  free(pool->all);
  free(pool);
  return PK_ENOMEM;
}

void pk_bufpool_free(pk_bufpool *pool) {
  if (pool == NULL)
    return;
  if (pool->slab_map)
    munmap(pool->slab_map, pool->slab_len);
  else
    for (size_t i = 0; i < pool->nall; i++)
      free(pool->all[i]);
  pthread_cond_destroy(&pool->freed);
  pthread_mutex_destroy(&pool->mu);
  free(pool->free_idx);
  free(pool->lent);
  free(pool->all);
  free(pool);
}

void pk_bufpool_close(pk_bufpool *pool) {
  if (pool == NULL)
    return;
  pthread_mutex_lock(&pool->mu);
  bool was_closed = pool->closed;
  pool->closed = true;
  pthread_mutex_unlock(&pool->mu);
  if (!was_closed)
    pthread_cond_broadcast(&pool->freed);
}

/* Lends all[i] out; mu held. */
static void *lend(pk_bufpool *pool, size_t i) {
  pool->lent[i] = true;
  set_size(&pool->st_in_use,
           atomic_load_explicit(&pool->st_in_use, memory_order_relaxed) + 1);
  bump64(&pool->st_acquires);
  return pool->all[i];
}

/* Allocates a new buffer for a slot the caller reserved; mu held on entry
 * and on return, dropped around the allocation. Returns the new buffer's
 * index, or SIZE_MAX if the allocation failed (the slot is given back). */
static size_t grow(pk_bufpool *pool) {
  if (pool->slab) { /* the next slot of the region: nothing to allocate */
    size_t i = pool->nall++;
    pool->all[i] = pool->slab + i * pool->alloc_size;
    set_size(&pool->st_allocated, pool->nall);
    return i;
  }
  pthread_mutex_unlock(&pool->mu);
  void *p;
  if (pool->alloc_size >= HUGE_PAGE) {
    /* Multi-megabyte chunk buffers: 2 MiB-aligned and backed by huge pages
     * where the kernel allows, which made first touch several times
     * cheaper on our VM (512 page faults per MiB become one). */
    p = aligned_alloc(HUGE_PAGE, (pool->alloc_size + HUGE_PAGE - 1) &
                                     ~(size_t)(HUGE_PAGE - 1));
    if (p)
      madvise(p, pool->alloc_size, MADV_HUGEPAGE);
  } else {
    p = aligned_alloc(PK_BUFPOOL_ALIGN, pool->alloc_size);
  }
  pthread_mutex_lock(&pool->mu);
  if (p == NULL) {
    pool->reserved--;
    /* The slot we held may let a sleeper try its own allocation. */
    if (pool->sleeping > 0)
      pthread_cond_signal(&pool->freed);
    return SIZE_MAX;
  }
  size_t i = pool->nall++;
  pool->all[i] = p;
  set_size(&pool->st_allocated, pool->nall);
  return i;
}

static int acquire(pk_bufpool *pool, void **buf, enum pk__wait how,
                   uint64_t timeout_ns) {
  struct timespec deadline = {0};
  bool waited = false, expired = false;
  int rc = PK_OK;

  pthread_mutex_lock(&pool->mu);
  for (;;) {
    if (pool->closed) {
      rc = PK_ECLOSED;
      break;
    }
    if (pool->nfree > 0) {
      *buf = lend(pool, pool->free_idx[--pool->nfree]);
      bump64(&pool->st_reuses);
      break;
    }
    if (pool->reserved < pool->max) {
      pool->reserved++;
      size_t i = grow(pool);
      if (i == SIZE_MAX) {
        rc = PK_ENOMEM;
      } else if (pool->closed) {
        /* Closed while we allocated: keep the buffer for free(), fail. */
        pool->free_idx[pool->nfree++] = i;
        rc = PK_ECLOSED;
      } else {
        *buf = lend(pool, i);
      }
      break;
    }
    /* Checked only after a wait returned, so that a buffer released just as
     * the clock ran out is still taken (its wake-up went to us alone). */
    if (how == PK__NOWAIT || expired) {
      rc = how == PK__NOWAIT ? PK_EAGAIN : PK_ETIMEDOUT;
      break;
    }
    if (!waited) {
      waited = true;
      bump64(&pool->st_waits);
      if (how == PK__TIMED)
        deadline = pk_mono_timespec(pk_deadline_ns(timeout_ns));
    }
    pool->sleeping++;
    if (how == PK__TIMED)
      expired = pthread_cond_timedwait(&pool->freed, &pool->mu, &deadline) ==
                ETIMEDOUT;
    else
      pthread_cond_wait(&pool->freed, &pool->mu);
    pool->sleeping--;
  }
  pthread_mutex_unlock(&pool->mu);
  return rc;
}

int pk_bufpool_acquire(pk_bufpool *pool, void **buf) {
  return acquire(pool, buf, PK__FOREVER, 0);
}

int pk_bufpool_try_acquire(pk_bufpool *pool, void **buf) {
  return acquire(pool, buf, PK__NOWAIT, 0);
}

int pk_bufpool_acquire_timeout(pk_bufpool *pool, void **buf,
                               uint64_t timeout_ns) {
  if (timeout_ns > 0)
    return acquire(pool, buf, PK__TIMED, timeout_ns);
  int rc = acquire(pool, buf, PK__NOWAIT, 0);
  return rc == PK_EAGAIN ? PK_ETIMEDOUT : rc;
}

int pk_bufpool_release(pk_bufpool *pool, void *buf) {
  if (buf == NULL)
    return PK_EINVAL;
  pthread_mutex_lock(&pool->mu);
  size_t i = 0;
  while (i < pool->nall && pool->all[i] != buf)
    i++;
  if (i == pool->nall || !pool->lent[i]) {
    pthread_mutex_unlock(&pool->mu);
    return PK_EINVAL;
  }
  pool->lent[i] = false;
  pool->free_idx[pool->nfree++] = i;
  set_size(&pool->st_in_use,
           atomic_load_explicit(&pool->st_in_use, memory_order_relaxed) - 1);
  bool wake = pool->sleeping > 0;
  pthread_mutex_unlock(&pool->mu);
  /* After unlock so the sleeper does not wake into a held lock; the pool
   * outlives this call (pk_bufpool_free's contract). */
  if (wake)
    pthread_cond_signal(&pool->freed);
  return PK_OK;
}

size_t pk_bufpool_buf_size(const pk_bufpool *pool) {
  return pool->buf_size;
}

size_t pk_bufpool_max_buffers(const pk_bufpool *pool) {
  return pool->max;
}

void pk_bufpool_get_stats(const pk_bufpool *pool, pk_bufpool_stats *out) {
  out->allocated =
      atomic_load_explicit(&pool->st_allocated, memory_order_relaxed);
  out->in_use = atomic_load_explicit(&pool->st_in_use, memory_order_relaxed);
  out->acquires =
      atomic_load_explicit(&pool->st_acquires, memory_order_relaxed);
  out->reuses = atomic_load_explicit(&pool->st_reuses, memory_order_relaxed);
  out->waits = atomic_load_explicit(&pool->st_waits, memory_order_relaxed);
}
