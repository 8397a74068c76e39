/* engine.c — the pipeline engine; engine.h explains the design. */
#include "pipe/engine.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "base/clock.h"
#include "pipe/chain.h"
#include "pipe/digest.h"
#include "pipe/outfile.h"
#include "pipe/spec.h"
#include "runtime/bufpool.h"
#include "runtime/channel.h"
#include "runtime/pool.h"

#define MIN_CHUNK ((uint64_t)64 << 10)
/* Compressing each chunk alone costs ratio: against one zstd -3 stream of
 * the benchmark's 512 MiB, 0.5 MiB chunks made archives 12 % larger, 4 MiB
 * 2.5 %, 8 MiB 0.65 % (docs/CONCURRENCY.md). Throughput mode therefore
 * keeps brotli's chunks at this size (zstd links its chunks instead; lz4
 * ran at 0.67-0.77x the CPU with 1 MiB chunks than with 8 MiB). */
#define RATIO_CHUNK ((uint64_t)8 << 20)
#define DEFAULT_MAX_CHUNK ((uint64_t)4 << 20)
/* zstd pipelines link the chunks of a group into one stream (format.h), so
 * the chunk size no longer costs ratio: chunks stay small (a few ms of
 * work; 1 MiB of zstd -3 took ~4 ms on the 2-core VM) and a group of up
 * to GROUP_SIZE bytes and GROUP_SIZE / LINK_MAX_CHUNK chunks has the ratio
 * of one stream (16 MiB groups: 0.996x one zstd -3 stream of the
 * benchmark's input, 8 MiB: 1.011x; docs/CONCURRENCY.md). */
#define GROUP_SIZE ((uint64_t)16 << 20)
#define LINK_MAX_CHUNK ((uint64_t)1 << 20)
#define LINK_MIN_CHUNK ((uint64_t)256 << 10)
#define MAX_ITEMS 256
#define MEM_POLL_NS 50000000u /* how often a blocked reader looks at cancel */

/* ---- I/O ------------------------------------------------------------------*/

static int read_full(int fd, uint8_t *p, size_t n, size_t *got) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = read(fd, p + done, n - done);
    if (r == 0)
      break;
    if (r < 0) {
      if (errno == EINTR)
        continue;
      *got = done;
      return pk_err_from_errno(errno) == PK_ESYS ? PK_EIO
                                                 : pk_err_from_errno(errno);
    }
    done += (size_t)r;
  }
  *got = done;
  return PK_OK;
}

static int write_full(int fd, const uint8_t *p, size_t n);

/* A record header and its payload in one writev (one system call and one
 * page-cache walk instead of two), finished by write_full if short. */
static int write_record(int fd, const uint8_t *hdr, const uint8_t *p,
                        size_t n) {
  /* writev only reads the buffers; iovec has no const member. */
  struct iovec iov[2] = {{(void *)(uintptr_t)hdr, PK_FMT_RECORD_HDR_LEN},
                         {(void *)(uintptr_t)p, n}};
  ssize_t w;
  do
    w = writev(fd, iov, 2);
  while (w < 0 && errno == EINTR);
  if (w < 0) {
    int rc = pk_err_from_errno(errno);
    return rc == PK_ENOSPC ? PK_ENOSPC : PK_EIO;
  }
  size_t done = (size_t)w;
  if (done < PK_FMT_RECORD_HDR_LEN) {
    int rc = write_full(fd, hdr + done, PK_FMT_RECORD_HDR_LEN - done);
    return rc ? rc : write_full(fd, p, n);
  }
  done -= PK_FMT_RECORD_HDR_LEN;
  return write_full(fd, p + done, n - done);
}

static int write_full(int fd, const uint8_t *p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      int rc = pk_err_from_errno(errno);
      return rc == PK_ENOSPC ? PK_ENOSPC : PK_EIO;
    }
    p += w;
    n -= (size_t)w;
  }
  return PK_OK;
}

/* ---- the job --------------------------------------------------------------*/

/* Encode with linked groups: a group's chunks are read back to back into
 * one buffer, so that zstd compresses them in place
 * (pk_codec_encode_linked_at). The buffer goes back to the free list when
 * the reader has moved to the next group and every chunk of it has been
 * compressed (refs counts the reader and each such chunk). */
typedef struct gbuf {
  uint8_t *p;
  atomic_int refs;
} gbuf;

typedef struct item {
  pk_fmt_record rec;
  uint8_t *in, *out;
  uint64_t t_queued;
  int lane; /* grouped: the worker that takes it */
  gbuf *g;  /* encode with group buffers: in = g->p + g_off */
  size_t g_off;
} item;

typedef struct job {
  const pk_pipe_opts *o;
  const pk_fmt_header *h;
  const pk_archive_keys *k;
  int decode;
  int fd; /* read by the reader */
  int has_pii;
  /* A compression stage whose window grows with the chunk (brotli), so
   * that the chunk size matters to the ratio. lz4 (64 KiB window) and gzip
   * (32 KiB) lose next to nothing in independent chunks of a few MiB, and
   * zstd links its chunks (grouped). */
  int has_codec;
  int has_zstd;
  /* Linked groups (h->group_size > 0): every chunk of a group goes to one
   * worker, through that worker's lane, in order; a new group goes to the
   * lane with the fewest chunks queued (next_lane). */
  int grouped;
  pk_chan **lanes;
  int n_lanes, lane;
  uint64_t group_bytes, group_chunks, group_max_chunks;
  atomic_int next_worker;
  gbuf *gbufs; /* encode, threaded, grouped: workers + 1 of them */
  int n_gbufs;
  pk_chan *free_gbufs;
  gbuf *cur_g;       /* the reader's group */
  uint64_t gbuf_mem; /* governor bytes held for allocated group buffers */

  pk_chan *free_items, *work, *done;
  pk_bufpool *in_pool, *out_pool;
  item *items;
  size_t n_items;
  size_t in_cap, out_cap; /* buffer sizes */
  uint64_t item_mem;      /* governor bytes per item in flight */

  atomic_int err;
  pthread_mutex_t mu; /* guards msg */
  pk_errmsg msg;
  pk_pii_stats pii; /* reader's */
  atomic_int workers_left;

  /* reader state */
  pk_digest *digest;
  uint64_t total_in, n_records;
  uint64_t chunk_len, min_chunk, max_chunk, target_ns;
  uint64_t first_chunk, last_chunk;
  uint8_t *carry; /* bytes held back to the next chunk (PII boundaries) */
  size_t carry_len;
  _Atomic uint64_t work_ns, work_bytes; /* tuning input, relaxed */
  /* decode: the end record, and the records' places for validate */
  pk_fmt_record end_rec;
  uint8_t end_payload[PK_FMT_END_MAX + PK_AEAD_TAG_LEN];
  int have_end;
  pk_fmt_index_entry *index;
  uint64_t index_n, index_cap;
  uint64_t offset; /* reader's position in the archive (decode) */

  pk_chain *chain; /* the calling thread's: inline chunks, end record */

  pk_hist *h_read, *h_work, *h_write, *h_wait_work, *h_wait_done, *h_depth_work,
      *h_depth_done;
  pk_counter *c_in, *c_out;
} job;

static void close_work(job *j) {
  pk_chan_close(j->work);
  for (int i = 0; i < j->n_lanes; i++)
    pk_chan_close(j->lanes[i]);
}

/* Where the reader sends an item: the shared queue, or its group's lane. */
static int send_work(job *j, item *it) {
  return pk_chan_send(j->grouped ? j->lanes[it->lane] : j->work, it);
}

/* The lane for a new group: the one with the fewest chunks queued, the
 * next in turn among equals, so that a worker slowed by something else on
 * the machine is given fewer groups. */
static int next_lane(job *j) {
  int n = j->n_lanes ? j->n_lanes : 1, best = (j->lane + 1) % n;
  size_t best_len = n > 1 ? pk_chan_len(j->lanes[best]) : 0;
  for (int i = 2; i <= n; i++) {
    int l = (j->lane + i) % n;
    size_t len = pk_chan_len(j->lanes[l]);
    if (len < best_len)
      best = l, best_len = len;
  }
  return best;
}

/* Encode: whether the next chunk (at most chunk_len bytes) continues the
 * current group. */
static int continues_group(const job *j) {
  return j->group_chunks && j->group_chunks < j->group_max_chunks &&
         j->group_bytes + j->chunk_len <= j->h->group_size;
}

/* Encode: decides whether a chunk of n bytes continues the current group
 * (sets LINKED in *flags) and which lane its group uses. */
static void place_chunk(job *j, uint64_t n, uint8_t *flags, int *lane) {
  *flags = 0;
  *lane = 0;
  if (!j->grouped)
    return;
  if (continues_group(j)) {
    j->group_bytes += n;
    j->group_chunks++;
    *flags = PK_FMT_REC_LINKED;
  } else {
    if (j->group_chunks)
      j->lane = next_lane(j);
    j->group_bytes = n;
    j->group_chunks = 1;
  }
  *lane = j->lane;
}

/* Records the first failure, then wakes every stage so it can stop. */
static int fail(job *j, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(job *j, int rc, const char *fmt, ...) {
  int expected = PK_OK;
  pthread_mutex_lock(&j->mu);
  if (atomic_compare_exchange_strong(&j->err, &expected, rc) && fmt) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->msg.text, sizeof j->msg.text, fmt, ap);
    va_end(ap);
  }
  pthread_mutex_unlock(&j->mu);
  close_work(j);
  pk_chan_close(j->done);
  pk_chan_close(j->free_items);
  pk_chan_close(j->free_gbufs);
  pk_bufpool_close(j->in_pool);
  pk_bufpool_close(j->out_pool);
  return rc;
}

static int fail_msg(job *j, int rc, const pk_errmsg *m) {
  return fail(j, rc, "%s", m->text);
}

static int check_cancel(job *j) {
  if (j->o->cancel && *j->o->cancel)
    return fail(j, PK_EINTERRUPTED, "interrupted");
  return atomic_load(&j->err);
}

static void register_metrics(job *j) {
  pk_metrics *m = j->o->metrics;
  if (!m)
    return;
  const char *dir = j->decode ? "restore" : "process";
  char l[96];
#define LBL(fmt, v) (snprintf(l, sizeof l, "op=\"%s\"," fmt, dir, v), l)
  pk_metrics_hist(m, "pika_pipe_stage_seconds", LBL("stage=\"%s\"", "read"),
                  "Time per chunk in each stage", PK_UNIT_NANOSECONDS,
                  &j->h_read);
  pk_metrics_hist(m, "pika_pipe_stage_seconds", LBL("stage=\"%s\"", "work"),
                  "Time per chunk in each stage", PK_UNIT_NANOSECONDS,
                  &j->h_work);
  pk_metrics_hist(m, "pika_pipe_stage_seconds", LBL("stage=\"%s\"", "write"),
                  "Time per chunk in each stage", PK_UNIT_NANOSECONDS,
                  &j->h_write);
  pk_metrics_hist(m, "pika_pipe_queue_wait_seconds",
                  LBL("queue=\"%s\"", "work"), "Time a chunk waited in a queue",
                  PK_UNIT_NANOSECONDS, &j->h_wait_work);
  pk_metrics_hist(m, "pika_pipe_queue_wait_seconds",
                  LBL("queue=\"%s\"", "done"), "Time a chunk waited in a queue",
                  PK_UNIT_NANOSECONDS, &j->h_wait_done);
  pk_metrics_hist(m, "pika_pipe_queue_depth", LBL("queue=\"%s\"", "work"),
                  "Chunks queued, seen by each receive", PK_UNIT_NONE,
                  &j->h_depth_work);
  pk_metrics_hist(m, "pika_pipe_queue_depth", LBL("queue=\"%s\"", "done"),
                  "Chunks queued, seen by each receive", PK_UNIT_NONE,
                  &j->h_depth_done);
  pk_metrics_counter(m, "pika_pipe_bytes", LBL("dir=\"%s\"", "in"),
                     "Bytes read and written", &j->c_in);
  pk_metrics_counter(m, "pika_pipe_bytes", LBL("dir=\"%s\"", "out"),
                     "Bytes read and written", &j->c_out);
#undef LBL
}

/* Sizes chunks and buffers from the options and, when known, the input. */
static void plan_chunks(job *j, uint64_t size) {
  const pk_pipe_opts *o = j->o;
  uint64_t workers = (uint64_t)(o->workers ? o->workers : 2);
  uint64_t target_ms = o->optimize == PK_OPT_LATENCY ? 1 : 3;
  j->target_ns = target_ms * 1000000u;
  j->grouped = j->has_zstd;
  if (o->chunk_size) {
    j->chunk_len = j->min_chunk = j->max_chunk = o->chunk_size;
    return;
  }
  if (o->optimize == PK_OPT_THROUGHPUT && j->has_codec && !j->grouped) {
    /* Ratio first: chunks of RATIO_CHUNK, or fewer bytes for small inputs
     * so that every worker still gets two chunks. Not tuned further. */
    uint64_t c =
        size == PK_FMT_SIZE_UNKNOWN ? RATIO_CHUNK : size / (workers * 2);
    c = c < ((uint64_t)1 << 20) ? (uint64_t)1 << 20 : c;
    c = c > RATIO_CHUNK ? RATIO_CHUNK : c;
    j->chunk_len = j->min_chunk = j->max_chunk = c & ~(uint64_t)4095;
    return;
  }
  uint64_t max =
      o->optimize == PK_OPT_THROUGHPUT ? DEFAULT_MAX_CHUNK : (uint64_t)1 << 20;
  if (j->grouped)
    max = LINK_MAX_CHUNK;
  /* Enough chunks to keep every worker busy several times over. */
  uint64_t c =
      size == PK_FMT_SIZE_UNKNOWN ? (uint64_t)1 << 20 : size / (workers * 16);
  if (c < MIN_CHUNK)
    c = MIN_CHUNK;
  if (c > max)
    c = max;
  j->chunk_len = c & ~(uint64_t)4095;
  j->min_chunk =
      j->grouped && max >= LINK_MIN_CHUNK ? LINK_MIN_CHUNK : MIN_CHUNK;
  if (j->chunk_len < j->min_chunk)
    j->chunk_len = j->min_chunk;
  j->max_chunk = max;
}

/* The group size an encoder writes into the header (after plan_chunks). */
static uint64_t plan_groups(job *j, uint64_t size) {
  if (!j->grouped)
    return 0;
  /* Chunks keep their planned size (tune_chunks leaves groups alone). */
  j->max_chunk = j->chunk_len;
  uint64_t g = j->o->group_size;
  if (!g) {
    /* One group per worker at least, so that a small input still keeps
     * every worker busy; 16 MiB at most (4 MiB with --optimize memory:
     * the encoder holds workers + 1 group buffers). */
    uint64_t workers = (uint64_t)(j->o->workers ? j->o->workers : 2);
    uint64_t most =
        j->o->optimize == PK_OPT_MEMORY ? GROUP_SIZE / 4 : GROUP_SIZE;
    g = size == PK_FMT_SIZE_UNKNOWN ? most : (size + workers - 1) / workers;
    g = g > most ? most : g;
  }
  if (g < j->max_chunk)
    g = j->max_chunk;
  if (g > PK_FMT_MAX_GROUP)
    g = PK_FMT_MAX_GROUP;
  j->group_max_chunks = g / j->max_chunk;
  return g;
}

/* After each chunk: move the chunk size toward target_ns per chunk, from
 * the workers' measured ns per byte, within [min_chunk, max_chunk]. */
static void tune_chunks(job *j) {
  /* Linked groups count bytes and chunks (LINK_MAX_CHUNK each) so that a
   * reader can plan a group's chunks in flight: their chunks keep the size
   * planned from the input's size. */
  if (j->grouped || j->min_chunk == j->max_chunk || j->n_records < 4)
    return;
  uint64_t ns = atomic_load_explicit(&j->work_ns, memory_order_relaxed);
  uint64_t bytes = atomic_load_explicit(&j->work_bytes, memory_order_relaxed);
  if (!ns || !bytes)
    return;
  double want = (double)j->target_ns * (double)bytes / (double)ns;
  uint64_t c = want < (double)j->min_chunk   ? j->min_chunk
               : want > (double)j->max_chunk ? j->max_chunk
                                             : (uint64_t)want;
  /* Move halfway, in whole pages: damped, so one slow chunk (a page fault
   * storm, a preempted worker) does not swing the size. */
  j->chunk_len = ((j->chunk_len + c) / 2) & ~(uint64_t)4095;
  if (j->chunk_len < j->min_chunk)
    j->chunk_len = j->min_chunk;
}

static int job_init(job *j, const pk_pipe_opts *o, const pk_fmt_header *h,
                    const pk_archive_keys *k, int decode, int fd) {
  memset(j, 0, sizeof *j);
  j->o = o;
  j->h = h;
  j->k = k;
  j->decode = decode;
  j->fd = fd;
  atomic_init(&j->err, PK_OK);
  pthread_mutex_init(&j->mu, NULL);
  for (int i = 0; i < h->n_stages; i++) {
    j->has_pii |= h->stages[i].kind == PK_FMT_STAGE_TRANSFORM &&
                  h->stages[i].alg == PK_FMT_PII;
    j->has_codec |= h->stages[i].kind == PK_FMT_STAGE_COMPRESS &&
                    h->stages[i].alg == PK_FMT_BROTLI;
    j->has_zstd |= h->stages[i].kind == PK_FMT_STAGE_COMPRESS &&
                   h->stages[i].alg == PK_FMT_ZSTD;
  }
  if (decode)
    j->grouped = h->group_size != 0;
  enum pk_digest_kind dk;
  int rc = pk_pipe_digest_kind(h->digest, &dk);
  if (rc == PK_OK)
    rc = pk_digest_create(dk, &j->digest);
  register_metrics(j);
  return rc;
}

/* Allocates the in-flight items and their pools (threaded path). */
static int job_alloc(job *j, int workers) {
  /* Enough items that the reader, every worker and the writer each hold
   * one and the reader can run ahead by a few; fewer when memory is the
   * goal. (With ratio-sized 8 MiB chunks, 2 workers + 2 items measured as
   * fast as more, at 93 MiB peak RSS; workers + 2 was 20 % slower.) */
  size_t n = (size_t)workers * 2 + 2;
  /* Linked groups: a worker works through a whole group, so every worker
   * needs a group's chunks in flight (and the writer holds a later group's
   * until the earlier one is written). */
  if (j->grouped) {
    uint64_t per = (j->h->group_size + j->h->chunk_size - 1) / j->h->chunk_size;
    n = (size_t)workers * (size_t)per + 2;
  }
  if (j->o->optimize == PK_OPT_MEMORY)
    n = (size_t)workers + 1;
  if (n > MAX_ITEMS)
    n = MAX_ITEMS;

  j->n_items = n;
  j->in_cap = j->decode ? pk_chain_payload_bound(j->h, j->h->chunk_size)
                        : j->h->chunk_size;
  j->out_cap = j->decode ? j->h->chunk_size
                         : pk_chain_payload_bound(j->h, j->h->chunk_size);
  j->item_mem = j->in_cap + j->out_cap;
  j->items = calloc(n, sizeof *j->items);
  if (!j->items)
    return PK_ENOMEM;
  int rc = pk_chan_create(n, &j->free_items);
  if (!rc)
    rc = pk_chan_create(n, &j->work);
  if (!rc)
    rc = pk_chan_create(n, &j->done);
  if (!rc)
    rc = pk_bufpool_create(j->in_cap, n, &j->in_pool);
  if (!rc)
    rc = pk_bufpool_create(j->out_cap, n, &j->out_pool);
  if (!rc && j->grouped && !j->decode) {
    j->n_gbufs = workers + 1;
    j->gbufs = calloc((size_t)j->n_gbufs, sizeof *j->gbufs);
    rc = j->gbufs ? pk_chan_create((size_t)j->n_gbufs, &j->free_gbufs)
                  : PK_ENOMEM;
    for (int i = 0; !rc && i < j->n_gbufs; i++)
      rc = pk_chan_send(j->free_gbufs, &j->gbufs[i]);
    /* The group buffers hold the chunks' input: items need only their
     * output buffer. */
    j->item_mem = j->out_cap;
  }
  if (!rc && j->grouped) {
    j->lanes = calloc((size_t)workers, sizeof *j->lanes);
    rc = j->lanes ? PK_OK : PK_ENOMEM;
    for (int i = 0; !rc && i < workers; i++)
      if (!(rc = pk_chan_create(n, &j->lanes[i])))
        j->n_lanes = i + 1;
  }
  for (size_t i = 0; !rc && i < n; i++)
    rc = pk_chan_send(j->free_items, &j->items[i]);
  return rc;
}

static void buffer_stats(const job *j, pk_pipe_stats *st) {
  pk_bufpool_stats a = {0}, b = {0};
  if (!j->in_pool || !j->out_pool)
    return; /* the inline path has no pools */
  pk_bufpool_get_stats(j->in_pool, &a);
  pk_bufpool_get_stats(j->out_pool, &b);
  st->buffers = a.allocated + b.allocated;
  st->buffer_reuses = a.reuses + b.reuses;
}

static void job_release(job *j) {
  pk_chan_free(j->free_items);
  pk_chan_free(j->work);
  for (int i = 0; i < j->n_lanes; i++)
    pk_chan_free(j->lanes[i]);
  free(j->lanes);
  for (int i = 0; i < j->n_gbufs; i++)
    free(j->gbufs[i].p);
  free(j->gbufs);
  pk_chan_free(j->free_gbufs);
  if (j->gbuf_mem)
    pk_gov_release(j->o->gov, PK_GOV_MEM, j->gbuf_mem);
  pk_chan_free(j->done);
  pk_bufpool_free(j->in_pool);
  pk_bufpool_free(j->out_pool);
  pk_digest_free(j->digest);
  free(j->items);
  free(j->carry);
  free(j->index);
  pk_chain_free(j->chain);
  pthread_mutex_destroy(&j->mu);
}

/* Takes a free item and the governor memory for it, waking up now and then
 * to notice a failure or Ctrl-C. */
static int take_item(job *j, item **out) {
  void *p;
  int rc = pk_chan_recv(j->free_items, &p);
  if (rc)
    return atomic_load(&j->err) ? atomic_load(&j->err) : rc;
  for (;;) {
    rc =
        pk_gov_acquire_timeout(j->o->gov, PK_GOV_MEM, j->item_mem, MEM_POLL_NS);
    if (rc == PK_OK)
      break;
    if (rc != PK_ETIMEDOUT || (rc = check_cancel(j)) != PK_OK) {
      pk_chan_send(j->free_items, p);
      return fail(j, rc, "cannot reserve %llu bytes of memory: %s",
                  (unsigned long long)j->item_mem, pk_strerror(rc));
    }
  }
  *out = p;
  return PK_OK;
}

static void give_item(job *j, item *it) {
  pk_gov_release(j->o->gov, PK_GOV_MEM, j->item_mem);
  pk_chan_send(j->free_items, it);
}

static void gbuf_unref(job *j, gbuf *g) {
  if (g && atomic_fetch_sub(&g->refs, 1) == 1)
    pk_chan_send(j->free_gbufs, g);
}

/* Gives back an item's input: its group buffer's reference or its pool
 * buffer. */
static void release_in(job *j, item *it) {
  if (it->g)
    gbuf_unref(j, it->g);
  else if (it->in)
    pk_bufpool_release(j->in_pool, it->in);
  it->g = NULL;
  it->in = NULL;
}

/* The reader starts a group: drops its hold on the last group's buffer and
 * takes a free one (allocated, and its memory reserved, on first use). */
static int start_group(job *j) {
  gbuf_unref(j, j->cur_g);
  j->cur_g = NULL;
  void *p;
  int rc = pk_chan_recv(j->free_gbufs, &p);
  if (rc)
    return atomic_load(&j->err) ? atomic_load(&j->err) : rc;
  gbuf *g = p;
  if (!g->p) {
    size_t huge = (size_t)2 << 20;
    size_t len = ((size_t)j->h->group_size + huge - 1) & ~(huge - 1);
    for (;;) {
      rc = pk_gov_acquire_timeout(j->o->gov, PK_GOV_MEM, len, MEM_POLL_NS);
      if (rc == PK_OK)
        break;
      if (rc != PK_ETIMEDOUT || (rc = check_cancel(j)) != PK_OK) {
        pk_chan_send(j->free_gbufs, g);
        return fail(j, rc, "cannot reserve %zu bytes of memory: %s", len,
                    pk_strerror(rc));
      }
    }
    j->gbuf_mem += len;
    /* Huge pages, as the pools' large buffers (bufpool.c). */
    g->p = aligned_alloc(huge, len);
    if (!g->p) {
      pk_chan_send(j->free_gbufs, g);
      return fail(j, PK_ENOMEM, "out of memory");
    }
    madvise(g->p, len, MADV_HUGEPAGE);
  }
  atomic_store(&g->refs, 1);
  j->cur_g = g;
  return PK_OK;
}

/* ---- encode: reading chunks -----------------------------------------------*/

/* Reads the next chunk into buf (cap bytes). *len 0 means end of input. */
static int read_chunk(job *j, uint8_t *buf, size_t *len) {
  uint64_t t0 = pk_now_ns();
  size_t want = j->chunk_len;
  size_t have = j->carry_len;
  if (have)
    memcpy(buf, j->carry, have);
  j->carry_len = 0;
  size_t got = 0;
  int rc = pk_gov_acquire(j->o->gov, PK_GOV_IO, 1);
  if (rc == PK_OK) {
    rc = read_full(j->fd, buf + have, want - have, &got);
    pk_gov_release(j->o->gov, PK_GOV_IO, 1);
  }
  if (rc)
    return fail(j, rc, "cannot read the input: %s", pk_strerror(rc));
  size_t n = have + got;
  /* A PII token cut in two would escape masking: end the chunk at a safe
   * boundary and carry the rest into the next one. */
  if (j->has_pii && have + got == want) {
    size_t cut = pk_pii_safe_split(buf, n);
    if (cut > 0 && cut < n) {
      j->carry_len = n - cut;
      memcpy(j->carry, buf + cut, j->carry_len);
      n = cut;
    }
  }
  /* Masking here, in order, means the digest covers what restore gives
   * back for an irreversible pipeline. */
  if (j->has_pii)
    pk_pii_mask(buf, n, &j->pii);
  pk_digest_update(j->digest, buf, n);
  j->total_in += n;
  if (n) {
    if (!j->first_chunk)
      j->first_chunk = n;
    j->last_chunk = n;
  }
  pk_counter_add(j->c_in, n);
  pk_hist_record(j->h_read, pk_now_ns() - t0);
  *len = n;
  return PK_OK;
}

static void *enc_reader(void *arg) {
  job *j = arg;
  for (;;) {
    if (check_cancel(j))
      break;
    item *it;
    if (take_item(j, &it))
      break;
    void *buf = NULL;
    if (j->gbufs) {
      /* The chunk goes right after the group's earlier ones. */
      int cont = continues_group(j);
      if (!cont && start_group(j)) {
        give_item(j, it);
        break;
      }
      it->g = j->cur_g;
      it->g_off = cont ? j->group_bytes : 0;
      buf = j->cur_g->p + it->g_off;
    } else if (pk_bufpool_acquire(j->in_pool, &buf)) {
      give_item(j, it);
      break;
    }
    it->in = buf;
    size_t n;
    if (read_chunk(j, buf, &n) || n == 0) {
      if (!it->g)
        release_in(j, it);
      it->g = NULL, it->in = NULL;
      give_item(j, it);
      break;
    }
    if (it->g)
      atomic_fetch_add(&it->g->refs, 1);
    it->rec = (pk_fmt_record){.kind = PK_FMT_REC_DATA,
                              .orig_len = (uint32_t)n,
                              .seq = j->n_records++};
    place_chunk(j, n, &it->rec.flags, &it->lane);
    it->t_queued = pk_now_ns();
    if (send_work(j, it)) {
      release_in(j, it);
      give_item(j, it);
      break;
    }
    tune_chunks(j);
  }
  gbuf_unref(j, j->cur_g);
  j->cur_g = NULL;
  close_work(j);
  return NULL;
}

/* ---- workers
 * ----------------------------------------------------------------*/

static void worker(pk_task *self, void *arg) {
  (void)self;
  job *j = arg;
  pk_chain *chain = NULL;
  int id = atomic_fetch_add(&j->next_worker, 1);
  pk_chan *queue = j->grouped ? j->lanes[id % j->n_lanes] : j->work;
  int rc = pk_chain_create(j->h, j->k, &chain);
  if (rc)
    fail(j, rc, "cannot set up the stages: %s", pk_strerror(rc));
  void *p;
  while (!rc && pk_chan_recv(queue, &p) == PK_OK) {
    item *it = p;
    uint64_t t0 = pk_now_ns();
    pk_hist_record(j->h_wait_work, t0 - it->t_queued);
    pk_hist_record(j->h_depth_work, pk_chan_len(queue));
    void *out = NULL;
    rc = pk_bufpool_acquire(j->out_pool, &out);
    if (!rc)
      rc = pk_gov_acquire(j->o->gov, PK_GOV_CPU, 1);
    if (rc) {
      if (out)
        pk_bufpool_release(j->out_pool, out);
      release_in(j, it);
      give_item(j, it);
      fail(j, rc, NULL);
      break;
    }
    uint64_t t1 = pk_now_ns();
    pk_errmsg m = {{0}};
    if (j->decode)
      rc = pk_chain_decode(chain, &it->rec, it->in, out, j->out_cap, &m);
    else if (it->g)
      rc = pk_chain_encode_at(chain, &it->rec, it->g->p, it->g_off, out,
                              j->out_cap);
    else
      rc = pk_chain_encode(chain, &it->rec, it->in, out, j->out_cap);
    pk_gov_release(j->o->gov, PK_GOV_CPU, 1);
    uint64_t t2 = pk_now_ns();
    atomic_fetch_add_explicit(&j->work_ns, t2 - t1, memory_order_relaxed);
    atomic_fetch_add_explicit(&j->work_bytes, it->rec.orig_len,
                              memory_order_relaxed);
    pk_hist_record(j->h_work, t2 - t1);
    release_in(j, it);
    it->out = out;
    if (rc) {
      pk_bufpool_release(j->out_pool, out);
      give_item(j, it);
      if (m.text[0])
        fail_msg(j, rc, &m);
      else
        fail(j, rc, "chunk %llu: %s", (unsigned long long)it->rec.seq,
             pk_strerror(rc));
      break;
    }
    it->t_queued = pk_now_ns();
    if (pk_chan_send(j->done, it)) {
      pk_bufpool_release(j->out_pool, out);
      give_item(j, it);
      break;
    }
  }
  pk_chain_free(chain);
  /* The last worker out closes the writer's queue. */
  if (atomic_fetch_sub(&j->workers_left, 1) == 1)
    pk_chan_close(j->done);
}

/* ---- ordered writer
 * ---------------------------------------------------------*/

typedef int (*emit_fn)(job *j, item *it, void *ctx);

/* Receives finished items and hands them to emit in sequence order. The
 * window has one slot per item in flight, so seq % n_items never collides. */
static int write_in_order(job *j, emit_fn emit, void *ctx, uint64_t *next) {
  item **window = calloc(j->n_items, sizeof *window);
  if (!window)
    return fail(j, PK_ENOMEM, "out of memory");
  void *p;
  while (pk_chan_recv(j->done, &p) == PK_OK) {
    item *it = p;
    pk_hist_record(j->h_wait_done, pk_now_ns() - it->t_queued);
    pk_hist_record(j->h_depth_done, pk_chan_len(j->done));
    window[it->rec.seq % j->n_items] = it;
    item *ready;
    while ((ready = window[*next % j->n_items]) && ready->rec.seq == *next) {
      window[*next % j->n_items] = NULL;
      uint64_t t0 = pk_now_ns();
      int rc = emit(j, ready, ctx);
      pk_hist_record(j->h_write, pk_now_ns() - t0);
      pk_bufpool_release(j->out_pool, ready->out);
      give_item(j, ready);
      if (rc) {
        for (size_t i = 0; i < j->n_items; i++)
          if (window[i]) {
            pk_bufpool_release(j->out_pool, window[i]->out);
            give_item(j, window[i]);
          }
        free(window);
        return rc;
      }
      (*next)++;
    }
  }
  /* Items still in the window belong to a failed run. */
  for (size_t i = 0; i < j->n_items; i++)
    if (window[i]) {
      pk_bufpool_release(j->out_pool, window[i]->out);
      give_item(j, window[i]);
    }
  free(window);
  return PK_OK;
}

/* Runs reader_fn in a thread, `workers` workers on a pool, and emit on the
 * calling thread; returns the job's first error. */
static int run_threaded(job *j, int workers, void *(*reader_fn)(void *),
                        emit_fn emit, void *ctx, uint64_t *emitted) {
  int rc = job_alloc(j, workers);
  pk_pool *pool = NULL;
  if (!rc)
    rc = pk_pool_create(
        &(pk_pool_config){.name = "pk-pipe", .nthreads = workers}, &pool);
  if (rc) {
    pk_pool_free(pool);
    return fail(j, rc, "cannot start the pipeline: %s", pk_strerror(rc));
  }
  atomic_init(&j->workers_left, workers);
  for (int i = 0; i < workers; i++)
    if ((rc = pk_pool_submit(pool, PK_PRIO_BACKGROUND, worker, j, NULL))) {
      /* Workers that never started still count as finished. */
      fail(j, rc, "cannot start a worker: %s", pk_strerror(rc));
      if (atomic_fetch_sub(&j->workers_left, workers - i) == workers - i)
        pk_chan_close(j->done);
      break;
    }
  pthread_t reader;
  int started = pthread_create(&reader, NULL, reader_fn, j) == 0;
  if (!started)
    fail(j, PK_ESYS, "cannot start the reader thread");
  write_in_order(j, emit, ctx, emitted);
  if (atomic_load(&j->err))
    fail(j, atomic_load(&j->err), NULL); /* unblock the reader */
  if (started)
    pthread_join(reader, NULL);
  pk_pool_free(pool);
  return check_cancel(j);
}

/* ---- encode
 * -----------------------------------------------------------------*/

typedef struct enc_out {
  int fd;
  uint64_t offset, flushed;
  pk_fmt_index_entry *index;
  uint64_t n, cap;
} enc_out;

static int emit_record(job *j, item *it, void *ctx) {
  enc_out *w = ctx;
  uint8_t hdr[PK_FMT_RECORD_HDR_LEN];
  pk_fmt_record_encode(&it->rec, hdr);
  if (w->n == w->cap) {
    uint64_t cap = w->cap ? w->cap * 2 : 256;
    void *p = realloc(w->index, cap * sizeof *w->index);
    if (!p)
      return fail(j, PK_ENOMEM, "out of memory for the index");
    w->index = p, w->cap = cap;
  }
  w->index[w->n++] = (pk_fmt_index_entry){w->offset, it->rec.stored_len,
                                          it->rec.orig_len, it->rec.flags};
  int rc = pk_gov_acquire(j->o->gov, PK_GOV_IO, 1);
  if (!rc) {
    rc = write_record(w->fd, hdr, it->out, it->rec.stored_len);
    pk_gov_release(j->o->gov, PK_GOV_IO, 1);
  }
  if (rc)
    return fail(j, rc, "cannot write the archive: %s", pk_strerror(rc));
  w->offset += sizeof hdr + it->rec.stored_len;
  pk_outfile_writeback(w->fd, &w->flushed, w->offset);
  pk_counter_add(j->c_out, sizeof hdr + it->rec.stored_len);
  if (j->o->progress)
    j->o->progress(j->o->progress_arg, j->total_in, j->h->original_size);
  return PK_OK;
}

/* The calling thread's chain, which seals or opens the END record. The
 * inline path made a full one already; after the threaded path, where the
 * workers own theirs, a small one is made (scratch for a tiny chunk). */
static int calling_chain(job *j, pk_chain **out) {
  if (!j->chain) {
    pk_fmt_header eh = *j->h;
    eh.chunk_size = 4096;
    int rc = pk_chain_create(&eh, j->k, &j->chain);
    if (rc)
      return rc;
  }
  *out = j->chain;
  return PK_OK;
}

static int finish_archive(job *j, enc_out *w) {
  pk_fmt_end end = {.chunk_count = j->n_records,
                    .original_size = j->total_in,
                    .digest_len = (uint8_t)pk_fmt_digest_len(j->h->digest)};
  pk_digest_final(j->digest, end.digest, sizeof end.digest);
  uint8_t body[PK_FMT_END_MAX], sealed[PK_FMT_END_MAX + 64];
  size_t body_len = pk_fmt_end_encode(&end, body);
  pk_fmt_record rec = {.kind = PK_FMT_REC_END, .seq = j->n_records};
  pk_chain *c;
  int rc = calling_chain(j, &c);
  if (!rc)
    rc = pk_chain_seal_end(c, &rec, body, body_len, sealed, sizeof sealed);
  if (rc)
    return fail(j, rc, "cannot seal the end record: %s", pk_strerror(rc));
  uint8_t hdr[PK_FMT_RECORD_HDR_LEN];
  pk_fmt_record_encode(&rec, hdr);
  rc = write_full(w->fd, hdr, sizeof hdr);
  if (!rc)
    rc = write_full(w->fd, sealed, rec.stored_len);
  w->offset += sizeof hdr + rec.stored_len;

  /* Index and trailer. */
  size_t ilen = (size_t)w->n * PK_FMT_INDEX_ENTRY_LEN;
  uint8_t *idx = malloc(ilen ? ilen : 1);
  if (!idx)
    return fail(j, PK_ENOMEM, "out of memory for the index");
  for (uint64_t i = 0; i < w->n; i++)
    pk_fmt_index_encode(&w->index[i], idx + i * PK_FMT_INDEX_ENTRY_LEN);
  pk_fmt_trailer t = {.index_offset = w->offset, .chunk_count = w->n};
  uint8_t tr[PK_FMT_TRAILER_LEN];
  pk_fmt_trailer_encode(&t, tr);
  pk_archive_index_tag(j->k, idx, ilen, tr, t.tag);
  pk_fmt_trailer_encode(&t, tr);
  if (!rc)
    rc = write_full(w->fd, idx, ilen);
  if (!rc)
    rc = write_full(w->fd, tr, sizeof tr);
  free(idx);
  w->offset += ilen + sizeof tr;
  if (rc)
    return fail(j, rc, "cannot write the archive: %s", pk_strerror(rc));
  return PK_OK;
}

static int encode_inline(job *j, enc_out *w) {
  j->n_items = 1;
  j->out_cap = pk_chain_payload_bound(j->h, j->h->chunk_size);
  uint8_t *in = malloc(j->h->chunk_size), *out = malloc(j->out_cap);
  int rc = in && out ? pk_chain_create(j->h, j->k, &j->chain) : PK_ENOMEM;
  while (!rc) {
    size_t n;
    if ((rc = read_chunk(j, in, &n)) || n == 0)
      break;
    item it = {.rec = {.kind = PK_FMT_REC_DATA,
                       .orig_len = (uint32_t)n,
                       .seq = j->n_records++},
               .out = out};
    place_chunk(j, n, &it.rec.flags, &it.lane);
    /* The inline path takes CPU tokens too: small files then share the
     * cores fairly with a large file's workers (batch.h). */
    rc = pk_gov_acquire(j->o->gov, PK_GOV_CPU, 1);
    if (!rc) {
      rc = pk_chain_encode(j->chain, &it.rec, in, out, j->out_cap);
      pk_gov_release(j->o->gov, PK_GOV_CPU, 1);
    }
    if (!rc)
      rc = emit_record(j, &it, w);
  }
  free(in);
  free(out);
  if (rc && !atomic_load(&j->err))
    fail(j, rc, "%s", pk_strerror(rc));
  return rc;
}

int pk_pipe_encode(const pk_pipe_opts *o, int in_fd, int out_fd,
                   pk_fmt_header *h, const pk_archive_keys *k,
                   pk_pipe_stats *st, pk_errmsg *e) {
  uint64_t t0 = pk_now_ns();
  memset(st, 0, sizeof *st);
  job j;
  int workers = o->workers ? o->workers : (int)pk_gov_limit(o->gov, PK_GOV_CPU);
  pk_pipe_opts eff = *o;
  eff.workers = workers;
  int fast = h->original_size != PK_FMT_SIZE_UNKNOWN &&
             h->original_size < PK_PIPE_SMALL_FILE;
  int rc = job_init(&j, &eff, h, k, 0, in_fd);
  if (rc) {
    job_release(&j);
    return pk_errmsg_set(e, rc, "cannot set up: %s", pk_strerror(rc));
  }
  plan_chunks(&j, h->original_size);
  if (fast && !o->chunk_size)
    j.chunk_len = j.max_chunk = h->original_size ? h->original_size : 1;
  h->group_size = plan_groups(&j, h->original_size);
  h->chunk_size = j.max_chunk;
  j.carry = j.has_pii ? malloc(j.max_chunk) : NULL;

  uint8_t hbuf[PK_FMT_HEADER_MAX];
  size_t hlen;
  enc_out w = {.fd = out_fd};
  rc = pk_archive_header_write(h, k, hbuf, sizeof hbuf, &hlen);
  if (!rc && j.has_pii && !j.carry)
    rc = PK_ENOMEM;
  if (!rc)
    rc = write_full(out_fd, hbuf, hlen);
  if (rc) {
    job_release(&j);
    return pk_errmsg_set(e, rc, "cannot write the archive header: %s",
                         pk_strerror(rc));
  }
  w.offset = hlen;
  if (fast)
    rc = encode_inline(&j, &w);
  else {
    uint64_t emitted = 0;
    rc = run_threaded(&j, workers, enc_reader, emit_record, &w, &emitted);
    if (!rc && emitted != j.n_records)
      rc = fail(&j, PK_EIO, "lost chunks: wrote %llu of %llu",
                (unsigned long long)emitted, (unsigned long long)j.n_records);
  }
  /* A file that grows or shrinks while it is read would make an archive
   * whose header contradicts its contents. */
  if (!rc && h->original_size != PK_FMT_SIZE_UNKNOWN &&
      j.total_in != h->original_size)
    rc = fail(&j, PK_EIO,
              "the input changed while it was read (%llu bytes expected, "
              "%llu read); no archive was written",
              (unsigned long long)h->original_size,
              (unsigned long long)j.total_in);
  if (!rc)
    rc = finish_archive(&j, &w);
  if (rc)
    pk_errmsg_set(e, rc, "%s", j.msg.text[0] ? j.msg.text : pk_strerror(rc));
  st->in_bytes = j.total_in;
  st->out_bytes = w.offset;
  st->chunks = j.n_records;
  st->first_chunk_size = j.first_chunk;
  st->last_chunk_size = j.last_chunk;
  st->workers = fast ? 0 : workers;
  st->fast_path = fast;
  st->pii = j.pii;
  buffer_stats(&j, st);
  st->elapsed_ns = pk_now_ns() - t0;
  free(w.index);
  job_release(&j);
  return rc;
}

/* ---- decode
 * -----------------------------------------------------------------*/

int pk_pipe_read_header(int in_fd, pk_fmt_header *h,
                        uint8_t raw[PK_FMT_HEADER_MAX], uint64_t *header_len,
                        pk_errmsg *e) {
  size_t got, hlen;
  int rc = read_full(in_fd, raw, PK_FMT_HEADER_PEEK, &got);
  if (rc)
    return pk_errmsg_set(e, rc, "cannot read the archive: %s", pk_strerror(rc));
  if ((rc = pk_fmt_header_peek(raw, got, &hlen, e)))
    return rc;
  rc = read_full(in_fd, raw + got, hlen - got, &got);
  if (rc)
    return pk_errmsg_set(e, rc, "cannot read the archive: %s", pk_strerror(rc));
  if (got != hlen - PK_FMT_HEADER_PEEK)
    return pk_errmsg_set(e, PK_ECORRUPT,
                         "the archive is truncated: it ends inside its header");
  if ((rc = pk_fmt_header_decode(raw, hlen, h, e)))
    return rc;
  *header_len = hlen;
  return PK_OK;
}

int pk_pipe_open_keys(const pk_fmt_header *h, const uint8_t *raw,
                      uint64_t header_len, const pk_secret *s,
                      pk_archive_keycache *cache, pk_archive_keys *k,
                      pk_errmsg *e) {
  int rc = pk_archive_keys_open(h, s, cache, k, e);
  if (rc)
    return rc;
  if ((rc = pk_archive_header_check(raw, header_len, h, k, e)))
    pk_archive_keys_wipe(k);
  return rc;
}

static int truncated(job *j, const char *where) {
  return fail(j, PK_ECORRUPT,
              "the archive is truncated: it ends %s (after %llu chunks, "
              "before its end record)",
              where, (unsigned long long)j->n_records);
}

/* Reads the next record header and validates its place. Returns 1 for a
 * data record, 0 for the end record, <0 on error. */
static int next_record(job *j, pk_fmt_record *rec) {
  uint8_t hdr[PK_FMT_RECORD_HDR_LEN];
  size_t got;
  int rc = read_full(j->fd, hdr, sizeof hdr, &got);
  if (rc)
    return fail(j, rc, "cannot read the archive: %s", pk_strerror(rc));
  if (got == 0)
    return truncated(j, "at a chunk boundary");
  if (got < sizeof hdr)
    return truncated(j, "inside a record header");
  pk_errmsg m;
  if (pk_fmt_record_decode(hdr, rec, &m))
    return fail_msg(j, PK_ECORRUPT, &m);
  if (rec->seq != j->n_records)
    return fail(j, PK_ECORRUPT,
                "record %llu found where record %llu belongs: chunks were "
                "reordered, dropped or duplicated",
                (unsigned long long)rec->seq, (unsigned long long)j->n_records);
  if (rec->kind == PK_FMT_REC_END) {
    if (rec->stored_len > sizeof j->end_payload)
      return fail(j, PK_ECORRUPT, "the end record is malformed");
    return 0;
  }
  uint64_t bound = pk_chain_payload_bound(j->h, rec->orig_len);
  if (rec->orig_len == 0 || rec->orig_len > j->h->chunk_size ||
      rec->stored_len > bound)
    return fail(j, PK_ECORRUPT,
                "chunk %llu declares impossible sizes (%u bytes from %llu)",
                (unsigned long long)rec->seq, rec->orig_len,
                (unsigned long long)rec->stored_len);
  /* A linked chunk continues the group of the record before it: there must
   * be one, and the group stays within the header's group size. */
  if (rec->flags & PK_FMT_REC_LINKED) {
    if (!j->grouped || rec->seq == 0 ||
        j->group_bytes + rec->orig_len > j->h->group_size)
      return fail(j, PK_ECORRUPT,
                  "chunk %llu claims to continue a group that cannot be "
                  "there",
                  (unsigned long long)rec->seq);
    j->group_bytes += rec->orig_len;
  } else {
    if (rec->seq)
      j->lane = next_lane(j);
    j->group_bytes = rec->orig_len;
  }
  if (j->index_n == j->index_cap) {
    uint64_t cap = j->index_cap ? j->index_cap * 2 : 256;
    void *p = realloc(j->index, cap * sizeof *j->index);
    if (!p)
      return fail(j, PK_ENOMEM, "out of memory");
    j->index = p, j->index_cap = cap;
  }
  j->index[j->index_n++] = (pk_fmt_index_entry){j->offset, rec->stored_len,
                                                rec->orig_len, rec->flags};
  return 1;
}

static int read_payload(job *j, uint8_t *buf, uint64_t n) {
  size_t got;
  int rc = pk_gov_acquire(j->o->gov, PK_GOV_IO, 1);
  if (!rc) {
    rc = read_full(j->fd, buf, n, &got);
    pk_gov_release(j->o->gov, PK_GOV_IO, 1);
  }
  if (rc)
    return fail(j, rc, "cannot read the archive: %s", pk_strerror(rc));
  if (got < n)
    return truncated(j, "inside a chunk");
  pk_counter_add(j->c_in, PK_FMT_RECORD_HDR_LEN + n);
  j->offset += PK_FMT_RECORD_HDR_LEN + n;
  return PK_OK;
}

/* Reads the end record's payload (after next_record() returned 0). */
static int read_end(job *j, const pk_fmt_record *rec) {
  j->end_rec = *rec;
  int rc = read_payload(j, j->end_payload, rec->stored_len);
  if (!rc)
    j->have_end = 1;
  return rc;
}

static void *dec_reader(void *arg) {
  job *j = arg;
  for (;;) {
    if (check_cancel(j))
      break;
    pk_fmt_record rec;
    int kind = next_record(j, &rec);
    if (kind <= 0) {
      if (kind == 0)
        read_end(j, &rec);
      break;
    }
    item *it;
    void *buf;
    if (take_item(j, &it))
      break;
    if (pk_bufpool_acquire(j->in_pool, &buf)) {
      give_item(j, it);
      break;
    }
    uint64_t t0 = pk_now_ns();
    if (read_payload(j, buf, rec.stored_len)) {
      pk_bufpool_release(j->in_pool, buf);
      give_item(j, it);
      break;
    }
    pk_hist_record(j->h_read, pk_now_ns() - t0);
    it->in = buf;
    it->rec = rec;
    it->lane = j->lane;
    j->n_records++;
    it->t_queued = pk_now_ns();
    if (send_work(j, it)) {
      pk_bufpool_release(j->in_pool, buf);
      give_item(j, it);
      break;
    }
  }
  close_work(j);
  return NULL;
}

typedef struct dec_out {
  const pk_pipe_sink *sink;
  uint64_t offset;
} dec_out;

static int emit_original(job *j, item *it, void *ctx) {
  dec_out *d = ctx;
  size_t n = it->rec.orig_len;
  pk_digest_update(j->digest, it->out, n);
  if (d->sink) {
    int rc = d->sink->write(d->sink->ctx, d->offset, it->out, n);
    if (rc)
      return fail(j, rc, NULL);
  }
  d->offset += n;
  pk_counter_add(j->c_out, n);
  if (j->o->progress)
    j->o->progress(j->o->progress_arg, d->offset, j->h->original_size);
  return PK_OK;
}

static int decode_inline(job *j, dec_out *d) {
  j->n_items = 1;
  j->in_cap = pk_chain_payload_bound(j->h, j->h->chunk_size);
  j->out_cap = j->h->chunk_size;
  uint8_t *in = malloc(j->in_cap), *out = malloc(j->out_cap);
  int rc = in && out ? pk_chain_create(j->h, j->k, &j->chain) : PK_ENOMEM;
  if (rc) {
    free(in);
    free(out);
    return fail(j, rc, "cannot set up the stages: %s", pk_strerror(rc));
  }
  for (;;) {
    pk_fmt_record rec;
    int kind = next_record(j, &rec);
    if (kind <= 0) {
      rc = kind == 0 ? read_end(j, &rec) : kind;
      break;
    }
    if ((rc = read_payload(j, in, rec.stored_len)))
      break;
    j->n_records++;
    pk_errmsg m = {{0}};
    if ((rc = pk_gov_acquire(j->o->gov, PK_GOV_CPU, 1))) {
      fail(j, rc, "%s", pk_strerror(rc));
      break;
    }
    rc = pk_chain_decode(j->chain, &rec, in, out, j->out_cap, &m);
    pk_gov_release(j->o->gov, PK_GOV_CPU, 1);
    if (rc) {
      fail_msg(j, rc, &m);
      break;
    }
    item it = {.rec = rec, .out = out};
    if ((rc = emit_original(j, &it, d)))
      break;
  }
  free(in);
  free(out);
  return rc;
}

/* Checks the end record against what was decoded. */
static int check_end(job *j, uint64_t total) {
  if (!j->have_end)
    return atomic_load(&j->err) ? atomic_load(&j->err)
                                : truncated(j, "before its end record");
  pk_chain *c;
  int rc = calling_chain(j, &c);
  if (rc)
    return fail(j, rc, "%s", pk_strerror(rc));
  size_t body_len;
  pk_errmsg m;
  rc = pk_chain_open_end(c, &j->end_rec, j->end_payload, &body_len, &m);
  if (rc)
    return fail_msg(j, rc, &m);
  pk_fmt_end end;
  if (pk_fmt_end_decode(j->end_payload, body_len, &end, &m))
    return fail_msg(j, PK_ECORRUPT, &m);
  uint8_t digest[PK_FMT_MAX_DIGEST];
  pk_digest_final(j->digest, digest, sizeof digest);
  if (j->h->original_size != PK_FMT_SIZE_UNKNOWN &&
      j->h->original_size != total)
    return fail(j, PK_ECORRUPT,
                "the archive holds %llu bytes, but its header says %llu",
                (unsigned long long)total,
                (unsigned long long)j->h->original_size);
  if (end.chunk_count != j->n_records || end.original_size != total)
    return fail(j, PK_ECORRUPT,
                "the archive holds %llu chunks and %llu bytes, but its end "
                "record says %llu chunks and %llu bytes",
                (unsigned long long)j->n_records, (unsigned long long)total,
                (unsigned long long)end.chunk_count,
                (unsigned long long)end.original_size);
  if (end.digest_len != pk_fmt_digest_len(j->h->digest) ||
      memcmp(end.digest, digest, end.digest_len) != 0)
    return fail(j, PK_ECORRUPT,
                "the restored data's %s digest does not match the original's",
                pk_pipe_digest_name(j->h->digest));
  return PK_OK;
}

int pk_pipe_decode(const pk_pipe_opts *o, int in_fd, uint64_t header_len,
                   const pk_fmt_header *h, const pk_archive_keys *k,
                   const pk_pipe_sink *sink, pk_fmt_index_entry **index_out,
                   uint64_t *index_n, pk_pipe_stats *st, pk_errmsg *e) {
  uint64_t t0 = pk_now_ns();
  memset(st, 0, sizeof *st);
  int workers = o->workers ? o->workers : (int)pk_gov_limit(o->gov, PK_GOV_CPU);
  pk_pipe_opts eff = *o;
  eff.workers = workers;
  job j;
  int rc = job_init(&j, &eff, h, k, 1, in_fd);
  j.offset = header_len;
  int fast = h->original_size != PK_FMT_SIZE_UNKNOWN &&
             h->original_size < PK_PIPE_SMALL_FILE;
  dec_out d = {.sink = sink};
  if (!rc) {
    if (fast)
      rc = decode_inline(&j, &d);
    else {
      uint64_t emitted = 0;
      rc = run_threaded(&j, workers, dec_reader, emit_original, &d, &emitted);
      if (!rc && emitted != j.n_records)
        rc = fail(&j, PK_ECORRUPT, "lost chunks: decoded %llu of %llu",
                  (unsigned long long)emitted, (unsigned long long)j.n_records);
    }
  }
  if (!rc)
    rc = check_end(&j, d.offset);
  if (!rc)
    rc = check_cancel(&j);
  if (rc)
    pk_errmsg_set(e, rc, "%s", j.msg.text[0] ? j.msg.text : pk_strerror(rc));
  st->in_bytes = j.offset;
  st->out_bytes = d.offset;
  st->chunks = j.n_records;
  st->workers = fast ? 0 : workers;
  st->fast_path = fast;
  buffer_stats(&j, st);
  st->elapsed_ns = pk_now_ns() - t0;
  if (index_out && !rc) {
    *index_out = j.index;
    *index_n = j.index_n;
    j.index = NULL;
  }
  job_release(&j);
  return rc;
}

/* ---- index
 * ------------------------------------------------------------------*/

int pk_pipe_read_index(int fd, const pk_archive_keys *k,
                       pk_fmt_index_entry **entries, uint64_t *n,
                       uint64_t *index_offset, pk_errmsg *e) {
  struct stat sb;
  if (fstat(fd, &sb) || !S_ISREG(sb.st_mode))
    return pk_errmsg_set(e, PK_EUNSUPPORTED,
                         "the archive is not a regular file");
  uint64_t size = (uint64_t)sb.st_size;
  uint8_t tr[PK_FMT_TRAILER_LEN];
  if (size < PK_FMT_TRAILER_LEN ||
      pread(fd, tr, sizeof tr, (off_t)(size - sizeof tr)) != sizeof tr)
    return pk_errmsg_set(e, PK_ECORRUPT, "the index trailer is missing");
  pk_fmt_trailer t;
  int rc = pk_fmt_trailer_decode(tr, &t, e);
  if (rc)
    return rc;
  uint64_t room = size - sizeof tr;
  if (t.index_offset > room ||
      (room - t.index_offset) / PK_FMT_INDEX_ENTRY_LEN != t.chunk_count ||
      (room - t.index_offset) % PK_FMT_INDEX_ENTRY_LEN != 0)
    return pk_errmsg_set(e, PK_ECORRUPT,
                         "the index does not fit where the trailer says");
  size_t ilen = (size_t)(room - t.index_offset);
  uint8_t *idx = malloc(ilen ? ilen : 1);
  pk_fmt_index_entry *ents =
      malloc((t.chunk_count ? t.chunk_count : 1) * sizeof *ents);
  if (!idx || !ents) {
    free(idx);
    free(ents);
    return pk_errmsg_set(e, PK_ENOMEM, "out of memory for the index");
  }
  rc = pread(fd, idx, ilen, (off_t)t.index_offset) == (ssize_t)ilen
           ? PK_OK
           : pk_errmsg_set(e, PK_EIO, "cannot read the index");
  uint8_t want[PK_FMT_TRAILER_TAG_LEN];
  pk_archive_index_tag(k, idx, ilen, tr, want);
  if (!rc && memcmp(want, t.tag, sizeof want) != 0)
    rc = pk_errmsg_set(e, PK_ECORRUPT,
                       "the index's tag does not match: it was altered");
  for (uint64_t i = 0; !rc && i < t.chunk_count; i++)
    rc = pk_fmt_index_decode(idx + i * PK_FMT_INDEX_ENTRY_LEN, &ents[i], e);
  free(idx);
  if (rc) {
    free(ents);
    return rc;
  }
  *entries = ents;
  *n = t.chunk_count;
  *index_offset = t.index_offset;
  return PK_OK;
}
