/* bench_channel.c — pk_chan and pk_bufpool against what a C programmer
 * would otherwise write, measured in the same run.
 *
 * Figures (one a line, `<bench>.<case> <value> <unit>`):
 *   channel.handoff_rate.<P>to<C>.cap<N>   items/s through pk_chan with P
 *                                          producers and C consumers
 *   channel.handoff_rate.<P>to<C>.pipe     the same over a pipe(2) carrying
 *                                          8-byte pointers (default 64 KiB
 *                                          pipe: room for 8192 pointers)
 *   channel.latency_p50|p99.cap<N>|pipe    one-way hand-off latency: the
 *                                          sender stamps pk_now_ns() into
 *                                          the item, the receiver subtracts;
 *                                          ping-pong, so each hand-off wakes
 *                                          a sleeping thread (idle pipeline);
 *                                          median of 7 interleaved rounds
 *   bufpool.*                              acquire+release of a 1 MiB buffer
 *                                          vs malloc+free of 1 MiB, bare and
 *                                          touching each page (as a reader
 *                                          filling it would), with glibc's
 *                                          default and a fixed mmap threshold
 * Throughput cases run for a fixed time and report the median of 3 runs.
 * No assertion on speed: these are figures to read, not tests. */
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/error.h"
#include "runtime/bufpool.h"
#include "runtime/channel.h"

#define RUN_NS 300000000ull      /* each throughput run: 0.3 s */
#define POOL_RUN_NS 100000000ull /* each one-thread buffer run: 0.1 s */
#define REPS 3
#define PINGS 4000   /* round trips per latency run */
#define LAT_ROUNDS 7 /* latency runs per case, interleaved across cases */

static void die(const char *what, int rc) {
  fprintf(stderr, "bench_channel: %s: %s\n", what, pk_strerror(rc));
  exit(1);
}

static void sleep_ns(uint64_t ns) {
  struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
  while (nanosleep(&ts, &ts) != 0)
    ;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median3(double v[REPS]) {
  qsort(v, REPS, sizeof v[0], cmp_double);
  return v[REPS / 2];
}

/* ---- transports: pk_chan or a pipe, behind one interface ---------------- */

typedef struct {
  pk_chan *ch; /* NULL: use the pipe */
  int fd[2];
} link_t;

static void link_open(link_t *l, size_t cap) {
  memset(l, 0, sizeof *l);
  if (cap > 0) {
    int rc = pk_chan_create(cap, &l->ch);
    if (rc != PK_OK)
      die("pk_chan_create", rc);
  } else if (pipe(l->fd) != 0) {
    die("pipe", PK_ESYS);
  }
}

/* Returns false once the link is closed. */
static bool link_send(link_t *l, void *p) {
  if (l->ch)
    return pk_chan_send(l->ch, p) == PK_OK;
  /* 8 bytes < PIPE_BUF: atomic even with several writers. */
  return write(l->fd[1], &p, sizeof p) == (ssize_t)sizeof p;
}

static bool link_recv(link_t *l, void **p) {
  if (l->ch)
    return pk_chan_recv(l->ch, p) == PK_OK;
  /* Every write is one whole pointer and every read asks for one, so a read
   * never splits a pointer even with several readers. */
  return read(l->fd[0], p, sizeof *p) == (ssize_t)sizeof *p;
}

static void link_close_send_side(link_t *l) {
  if (l->ch)
    pk_chan_close(l->ch);
  else
    close(l->fd[1]); /* readers see EOF once the pipe is empty */
}

static void link_free(link_t *l) {
  if (l->ch)
    pk_chan_free(l->ch);
  else
    close(l->fd[0]);
}

/* ---- throughput ----------------------------------------------------------
 */

typedef struct {
  link_t *link;
  atomic_bool *stop;
  atomic_int *ready;
  atomic_bool *go;
  uint64_t count;
} tp_arg;

static void wait_go(tp_arg *a) {
  atomic_fetch_add(a->ready, 1);
  while (!atomic_load(a->go))
    sched_yield(); /* 2 cores: do not starve the others while waiting */
}

static void *tp_produce(void *arg) {
  tp_arg *a = arg;
  wait_go(a);
  uintptr_t i = 0;
  while (!atomic_load_explicit(a->stop, memory_order_relaxed))
    if (!link_send(a->link, (void *)++i))
      break;
  a->count = i;
  return NULL;
}

static void *tp_consume(void *arg) {
  tp_arg *a = arg;
  wait_go(a);
  void *p;
  while (link_recv(a->link, &p))
    a->count++;
  return NULL;
}

/* Items per second moved from P producers to C consumers; cap 0 = pipe. */
static double handoff_rate(int P, int C, size_t cap) {
  link_t link;
  link_open(&link, cap);
  atomic_bool stop = false, go = false;
  atomic_int ready = 0;
  pthread_t t[8];
  tp_arg a[8];
  for (int i = 0; i < P + C; i++) {
    a[i] = (tp_arg){.link = &link, .stop = &stop, .ready = &ready, .go = &go};
    pthread_create(&t[i], NULL, i < P ? tp_produce : tp_consume, &a[i]);
  }
  while (atomic_load(&ready) < P + C)
    sched_yield();
  uint64_t t0 = pk_now_ns();
  atomic_store(&go, true);
  sleep_ns(RUN_NS);
  atomic_store(&stop, true);
  for (int i = 0; i < P; i++)
    pthread_join(t[i], NULL);
  link_close_send_side(&link);
  uint64_t got = 0;
  for (int i = P; i < P + C; i++) {
    pthread_join(t[i], NULL);
    got += a[i].count;
  }
  uint64_t t1 = pk_now_ns();
  link_free(&link);
  return (double)got * 1e9 / (double)(t1 - t0);
}

/* ---- latency ---------------------------------------------------------------
 */

typedef struct {
  link_t *in, *out;
  uint64_t *samples; /* one-way latencies this side measured */
  int n;
} pp_arg;

/* Receives a stamp, records now - stamp, replies with a fresh stamp. */
static void *pp_echo(void *arg) {
  pp_arg *a = arg;
  void *p;
  while (a->n < PINGS && link_recv(a->in, &p)) {
    a->samples[a->n++] = pk_now_ns() - (uint64_t)(uintptr_t)p;
    if (!link_send(a->out, (void *)(uintptr_t)pk_now_ns()))
      break;
  }
  return NULL;
}

/* p50 and p99 one-way latency in ns; cap 0 = pipe. */
static void handoff_latency(size_t cap, double *p50, double *p99) {
  link_t ab, ba;
  link_open(&ab, cap);
  link_open(&ba, cap);
  uint64_t *samples = malloc(2 * PINGS * sizeof *samples);
  if (samples == NULL)
    die("malloc", PK_ENOMEM);
  pp_arg echo = {.in = &ab, .out = &ba, .samples = samples};
  pthread_t t;
  pthread_create(&t, NULL, pp_echo, &echo);
  int n = 0;
  for (int i = 0; i < PINGS; i++) {
    void *p;
    link_send(&ab, (void *)(uintptr_t)pk_now_ns());
    link_recv(&ba, &p);
    samples[PINGS + n++] = pk_now_ns() - (uint64_t)(uintptr_t)p;
  }
  pthread_join(t, NULL);
  int total = echo.n + n;
  /* Both directions, the echo's samples first, then ours. */
  memmove(samples + echo.n, samples + PINGS, (size_t)n * sizeof *samples);
  double *d = malloc((size_t)total * sizeof *d);
  if (d == NULL)
    die("malloc", PK_ENOMEM);
  for (int i = 0; i < total; i++)
    d[i] = (double)samples[i];
  qsort(d, (size_t)total, sizeof *d, cmp_double);
  *p50 = d[total / 2];
  *p99 = d[total * 99 / 100];
  free(d);
  free(samples);
  link_close_send_side(&ab);
  link_close_send_side(&ba);
  link_free(&ab);
  link_free(&ba);
}

/* ---- buffer pool vs malloc ----------------------------------------------- */

#define BUF_SIZE (1u << 20)
#define PAGE 4096u

static volatile unsigned char sink;

/* Writes one byte a page, as a reader filling the buffer would fault it in. */
static void touch(unsigned char *b) {
  for (size_t i = 0; i < BUF_SIZE; i += PAGE)
    b[i] = (unsigned char)i;
  sink = b[BUF_SIZE / 2];
}

/* Operations per second of acquire[+touch]+release on one thread. */
static double pool_rate(bool touching) {
  pk_bufpool *pool;
  int rc = pk_bufpool_create(BUF_SIZE, 4, &pool);
  if (rc != PK_OK)
    die("pk_bufpool_create", rc);
  uint64_t n = 0, t0 = pk_now_ns(), t1;
  do {
    for (int i = 0; i < 64; i++) {
      void *b;
      if ((rc = pk_bufpool_acquire(pool, &b)) != PK_OK)
        die("pk_bufpool_acquire", rc);
      if (touching)
        touch(b);
      pk_bufpool_release(pool, b);
    }
    n += 64;
  } while ((t1 = pk_now_ns()) - t0 < POOL_RUN_NS);
  pk_bufpool_free(pool);
  return (double)n * 1e9 / (double)(t1 - t0);
}

static double minor_faults(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_minflt;
}

/* Operations per second of malloc[+touch]+free on one thread; *faults gets
 * the page faults per operation (the cost the pool avoids, when there is
 * one). The pointer escapes through a volatile so that the compiler cannot
 * drop the malloc/free pair. */
static void *volatile escape;

static double malloc_rate(bool touching, double *faults) {
  double f0 = minor_faults();
  uint64_t n = 0, t0 = pk_now_ns(), t1;
  do {
    for (int i = 0; i < 64; i++) {
      unsigned char *b = malloc(BUF_SIZE);
      if (b == NULL)
        die("malloc", PK_ENOMEM);
      if (touching)
        touch(b);
      escape = b;
      free(b);
    }
    n += 64;
  } while ((t1 = pk_now_ns()) - t0 < POOL_RUN_NS);
  *faults = (minor_faults() - f0) / (double)n;
  return (double)n * 1e9 / (double)(t1 - t0);
}

/* Pool and malloc figures for one setting of malloc, as <case><suffix>. */
static void bufpool_figures(const char *suffix) {
  for (int touching = 0; touching < 2; touching++) {
    const char *name = touching ? "acquire_touch_release" : "acquire_release";
    double v[REPS], w[REPS], faults = 0;
    for (int r = 0; r < REPS; r++) {
      v[r] = pool_rate(touching);
      w[r] = malloc_rate(touching, &faults);
    }
    double pool = median3(v), mal = median3(w);
    if (suffix[0] == '\0') /* the pool's figure does not depend on it */
      printf("bufpool.%s.1MiB %.3g ops/s\n", name, pool);
    printf("bufpool.%s.1MiB.malloc%s %.3g ops/s\n", name, suffix, mal);
    printf("bufpool.%s.1MiB.malloc%s.faults %.1f faults/op\n", name, suffix,
           faults);
    printf("bufpool.%s.1MiB.malloc%s.ratio %.2f x\n", name, suffix, pool / mal);
  }
}

int main(void) {
  static const size_t caps[] = {1, 4, 64, 1024};
  static const int shapes[][2] = {{1, 1}, {2, 2}};

  /* glibc maps the first 1 MiB block, but the first free of a mapped block
   * raises its mmap threshold (up to 32 MiB), and from then on 1 MiB comes
   * from the heap, already faulted in (the plain .malloc figures). Where the
   * threshold is fixed (mallopt, MALLOC_MMAP_THRESHOLD_=, or musl's malloc,
   * which maps every block over ~128 KiB), each malloc is mmap + one fault
   * per page touched + munmap (the .malloc_mmap figures). mallopt cannot be
   * undone and a used heap keeps serving 1 MiB from its free chunks, so
   * that case runs first, in a child with a fresh heap. */
  printf("# ratio lines: pk_bufpool / malloc+free of the same 1 MiB size\n");
  printf("# .malloc_mmap: glibc mmap threshold fixed at 128 KiB (mallopt)\n");
  fflush(stdout);
  pid_t child = fork();
  if (child == 0) {
    if (mallopt(M_MMAP_THRESHOLD, 128 * 1024) == 1)
      bufpool_figures("_mmap");
    fflush(stdout);
    _exit(0);
  }
  if (child > 0)
    waitpid(child, NULL, 0);
  bufpool_figures("");
  fflush(stdout);

  printf("# ratio lines: pk_chan / pipe(2) carrying pointers, same shape\n");
  for (int s = 0; s < 2; s++) {
    int P = shapes[s][0], C = shapes[s][1];
    double v[REPS];
    for (int r = 0; r < REPS; r++)
      v[r] = handoff_rate(P, C, 0);
    double pipe_rate = median3(v);
    printf("channel.handoff_rate.%dto%d.pipe %.3g ops/s\n", P, C, pipe_rate);
    for (size_t c = 0; c < sizeof caps / sizeof caps[0]; c++) {
      for (int r = 0; r < REPS; r++)
        v[r] = handoff_rate(P, C, caps[c]);
      double rate = median3(v);
      printf("channel.handoff_rate.%dto%d.cap%zu %.3g ops/s\n", P, C, caps[c],
             rate);
      printf("channel.handoff_rate.%dto%d.cap%zu.ratio %.2f x\n", P, C, caps[c],
             rate / pipe_rate);
    }
    fflush(stdout);
  }

  /* The tail is sensitive to whatever else the machine does for a moment,
   * so the cases take turns, several rounds each, and each figure is the
   * median over rounds: a noisy moment hits one round of each, not one case
   * wholesale. */
  printf("# latency ratio lines: pk_chan / pipe (below 1: pk_chan faster)\n");
  static const size_t lat_caps[] = {0, 1, 64}; /* 0: the pipe */
  double p50[3][LAT_ROUNDS], p99[3][LAT_ROUNDS];
  for (int r = 0; r < LAT_ROUNDS; r++)
    for (int c = 0; c < 3; c++)
      handoff_latency(lat_caps[c], &p50[c][r], &p99[c][r]);
  double m50[3], m99[3];
  for (int c = 0; c < 3; c++) {
    qsort(p50[c], LAT_ROUNDS, sizeof(double), cmp_double);
    qsort(p99[c], LAT_ROUNDS, sizeof(double), cmp_double);
    m50[c] = p50[c][LAT_ROUNDS / 2];
    m99[c] = p99[c][LAT_ROUNDS / 2];
  }
  printf("channel.latency_p50.pipe %.0f ns\n", m50[0]);
  printf("channel.latency_p99.pipe %.0f ns\n", m99[0]);
  for (int c = 1; c < 3; c++) {
    printf("channel.latency_p50.cap%zu %.0f ns\n", lat_caps[c], m50[c]);
    printf("channel.latency_p99.cap%zu %.0f ns\n", lat_caps[c], m99[c]);
    printf("channel.latency_p50.cap%zu.ratio %.2f x\n", lat_caps[c],
           m50[c] / m50[0]);
    printf("channel.latency_p99.cap%zu.ratio %.2f x\n", lat_caps[c],
           m99[c] / m99[0]);
  }
  fflush(stdout);

  return 0;
}
