/*
 * metrics.h — counters, gauges and latency/size histograms, exported as
 * Prometheus text (--metrics-addr, the server's /metrics) or as a short human
 * summary (--stats).
 *
 * Design
 * ------
 * A registry (pk_metrics) owns every metric. Registering takes the registry's
 * mutex and returns a handle (pk_counter *, pk_gauge *, pk_hist *) that stays
 * valid until pk_metrics_free(); the hot path — pk_counter_add, pk_gauge_*,
 * pk_hist_record — never takes a lock, never allocates and never touches the
 * registry, only the metric's own atomics. Each metric is a separate
 * cache-line-aligned allocation so that two hot counters updated by different
 * threads do not share a line.
 *
 * Metrics are grouped in families (one name, one help text, one type, as
 * Prometheus wants); a family holds one series per distinct label set.
 * Registering the same name and labels twice returns the same handle, so two
 * pipeline stages may both ask for "pika_chunks" and share it.
 *
 * Memory order. Every update and read of a metric's value is
 * memory_order_relaxed. A metric is a statistic: we need each increment to be
 * atomic (no lost updates, no torn values), not to order it with any other
 * memory. Nothing is published through a metric's value, so acquire/release
 * would buy nothing; a reader that needs exact final totals gets its
 * happens-before edge elsewhere (pthread_join, a channel close), after which
 * relaxed loads see every update. While writers are running, a render is a
 * statistic too: each value is some value the metric really had, but
 * different metrics (or a histogram's buckets and its sum) may be read at
 * slightly different moments. (The module's one release/acquire pair
 * publishes a newly allocated pk_hist_local to snapshots: a pointer to a
 * freshly built object is exactly where ordering does matter.)
 *
 * What seq_cst would cost: on x86 an atomic read-modify-write is a `lock`ed
 * instruction whatever the order asked for, so relaxed and seq_cst fetch_add
 * compile to the same `lock add`/`lock xadd`; the difference there is in
 * stores (a seq_cst store is `xchg` — or `mov`+`mfence` with some compilers —
 * where a relaxed one is a plain `mov`) and in how freely the compiler may
 * move surrounding code. On weakly ordered CPUs (ARM, POWER) seq_cst also
 * adds barriers around the RMW itself. bench/bench_metrics.c measures what
 * the machine at hand actually does.
 *
 * Histograms (HDR-style, log-linear). A value v >= 1 falls in the bucket
 * found from the highest set bit of v-1 plus the next 4 bits, so each power
 * of two is split into 16 equal sub-buckets; values 0..32 get a bucket each.
 * That covers all of uint64 (1 ns to 584 years; 1 byte to 16 EiB) in
 * PK_HIST_NBUCKETS buckets, every power of two is a bucket's upper edge (so
 * Prometheus `le` bounds at powers of two are exact), and a bucket's width is
 * at most 1/16 of its lower edge. pk_hist_record is: bucket index (a clz, a
 * shift, an add), one relaxed fetch_add on the bucket, one on the sum, and a
 * relaxed load each of min and max (a CAS only when the value is a new
 * minimum or maximum). It is lock-free; it is wait-free except for that
 * min/max CAS, which only retries while another thread is moving the same
 * extreme. Its cost is the two locked instructions (~6 ns each, uncontended,
 * on the x86 machines we measured; more when threads share the lines).
 *
 * Hot loops can do better with a pk_hist_local: a per-thread recorder whose
 * counts only its owner writes, so it updates with relaxed load + store
 * (plain movs on x86, no lock prefix, no shared cache line) and is wait-free.
 * Snapshots add every local recorder of a histogram to its shared counts, so
 * the histogram reads the same either way; a recorder is handed back with
 * pk_hist_local_release() and its counts stay.
 *
 * Quantiles are computed from a snapshot: the bucket holding the
 * nearest-rank quantile (the ceil(q*count)-th smallest value) is found, and
 * the midpoint of that bucket, clamped to [min, max], is returned. The true
 * quantile lies in that bucket, so |estimate - true| <= true / 32 (3.1 %);
 * values up to 32 are exact.
 *
 * Prometheus exposition (text format 0.0.4): counters are exported as
 * <name>_total (the suffix is added unless the name already has it). The fine
 * buckets are collapsed into cumulative `le` buckets at powers of two
 * (nanosecond histograms: 2^7 ns .. 2^36 ns; bytes: 2^6 .. 2^36; unitless:
 * 2^0 .. 2^20) plus +Inf — the same exponential layout as Prometheus native
 * histograms' schema 0 — and every bucket count is exact, not interpolated.
 * Nanosecond histograms are exported in seconds, Prometheus' base unit (le,
 * _sum), printed as exact decimals; name them *_seconds.
 *
 * Thread-safety, in short: every function here may be called from any
 * thread (pk_hist_local_record: by the recorder's owner). Registration,
 * rendering, pk_gauge_set_fn, reading a callback gauge and acquiring or
 * releasing a local recorder serialise on the registry mutex; all other
 * updates and reads are lock-free.
 */
#ifndef PIKA_RUNTIME_METRICS_H
#define PIKA_RUNTIME_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

typedef struct pk_metrics pk_metrics;
typedef struct pk_counter pk_counter;
typedef struct pk_gauge pk_gauge;
typedef struct pk_hist pk_hist;
typedef struct pk_hist_local pk_hist_local;

/* What a histogram's values measure; decides how they are printed. */
typedef enum pk_metric_unit {
  PK_UNIT_NONE = 0,    /* plain numbers */
  PK_UNIT_NANOSECONDS, /* durations; exported to Prometheus in seconds */
  PK_UNIT_BYTES,       /* sizes */
} pk_metric_unit;

/* ===================================================================
 * Registry
 * =================================================================== */

/* Creates an empty registry in *out. Returns PK_OK, PK_EINVAL (out NULL) or
 * PK_ENOMEM. The caller owns *out and frees it with pk_metrics_free(). */
int pk_metrics_create(pk_metrics **out);

/* Frees the registry and every metric in it; all handles from it become
 * invalid. Accepts NULL. No other thread may use the registry or its handles
 * during or after the call. */
void pk_metrics_free(pk_metrics *reg);

/* Registration, common rules (pk_metrics_counter/_gauge/_hist):
 *
 * name    Prometheus metric name, [a-zA-Z_:][a-zA-Z0-9_:]*, at most 200 bytes.
 * labels  NULL or "" for none, else a fixed label set in exposition syntax:
 *         `stage="zstd"` or `stage="zstd",dir="in"`; label names match
 *         [a-zA-Z_][a-zA-Z0-9_]* and may not start with "__" (nor be "le" on
 *         a histogram); values are written escaped (\\, \" and \n; nothing
 *         else) — pk_metrics_label_append() builds such a string from raw
 *         values. Order does not matter (`a="1",b="2"` is `b="2",a="1"`); at
 *         most 16 labels.
 * help    one-line description (may be NULL); any bytes, escaped on output.
 *         The first registration of a family sets it; later help is ignored.
 * out     receives the handle, valid until pk_metrics_free(); do not free.
 *
 * Returns PK_OK (and the existing handle if this name and label set are
 * already registered with the same type and unit), PK_EINVAL (NULL reg/out,
 * bad name or labels), PK_EEXIST (the name is taken by another type or unit,
 * or clashes with a histogram's _bucket/_sum/_count series), PK_ELIMIT (more
 * than 16 labels, or name or labels too long) or PK_ENOMEM.
 * Takes the registry mutex; cost is linear in the number of families. */
int pk_metrics_counter(pk_metrics *reg, const char *name, const char *labels,
                       const char *help, pk_counter **out);
int pk_metrics_gauge(pk_metrics *reg, const char *name, const char *labels,
                     const char *help, pk_gauge **out);
int pk_metrics_hist(pk_metrics *reg, const char *name, const char *labels,
                    const char *help, pk_metric_unit unit, pk_hist **out);

/* Appends one label `name="value"` to the NUL-terminated label string in buf
 * (with a leading comma unless buf is empty), escaping value's backslashes,
 * double quotes and newlines. Returns PK_OK, PK_EINVAL (NULL argument or bad
 * label name) or PK_ELIMIT (would not fit in cap bytes; buf is then
 * unchanged). Thread-safe (touches only buf). */
int pk_metrics_label_append(char *buf, size_t cap, const char *name,
                            const char *value);

/* ===================================================================
 * Counters: monotonically increasing uint64 (wraps at 2^64).
 * Lock-free, thread-safe; a NULL handle is a no-op (reads 0), so code can be
 * instrumented unconditionally and run without a registry.
 * =================================================================== */

void pk_counter_add(pk_counter *c, uint64_t n);
uint64_t pk_counter_get(const pk_counter *c);

/* ===================================================================
 * Gauges: an int64 that goes up and down. Lock-free, thread-safe; a NULL
 * handle is a no-op (reads 0).
 * =================================================================== */

void pk_gauge_set(pk_gauge *g, int64_t v);
void pk_gauge_add(pk_gauge *g, int64_t n);
void pk_gauge_sub(pk_gauge *g, int64_t n);

/* The gauge's value: fn(arg) if a callback is attached (called under the
 * registry mutex), else the stored value. */
int64_t pk_gauge_get(pk_gauge *g);

/* A function sampled when the gauge is read or rendered, so that e.g. a
 * channel's depth can be exported without the channel knowing about metrics.
 * It runs with the registry mutex held: it must be quick, must not block for
 * long, and must not call into this registry (deadlock). */
typedef int64_t (*pk_gauge_fn)(void *arg);

/* Attaches fn(arg) to the gauge, replacing any earlier callback; fn NULL
 * detaches it (the gauge then reads its stored value again). Takes the
 * registry mutex, so once it returns the old callback is not running and
 * will not run again: detach before freeing arg. Do not call it while holding
 * a lock that fn takes. A NULL g is a no-op. */
void pk_gauge_set_fn(pk_gauge *g, pk_gauge_fn fn, void *arg);

/* ===================================================================
 * Histograms
 * =================================================================== */

/* Number of fine buckets: values 0, 1..32 exactly, then 16 per power of two
 * up to 2^64-1. */
#define PK_HIST_NBUCKETS 977

/* Records one value. Lock-free (see the top comment), thread-safe, no
 * allocation; a NULL handle is a no-op. The sum wraps at 2^64 (584 years of
 * nanoseconds). Costs two locked instructions; a thread recording in a hot
 * loop should use a pk_hist_local instead. */
void pk_hist_record(pk_hist *h, uint64_t value);

/* Claims a single-writer recorder for h in *out, reusing a released one or
 * allocating (~8 KiB, owned by the registry and freed with it: do not free
 * it, and do not use it after pk_metrics_free()). Until
 * pk_hist_local_release(), only one thread at a time may record through it
 * (hand it between threads only with synchronisation, e.g. a mutex or a
 * channel). Takes the registry mutex. Returns PK_OK, PK_EINVAL (NULL
 * argument) or PK_ENOMEM. */
int pk_hist_local_acquire(pk_hist *h, pk_hist_local **out);

/* Records one value into l: wait-free, no locked instruction, no
 * allocation. Only l's owner may call it; a NULL l is a no-op. */
void pk_hist_local_record(pk_hist_local *l, uint64_t value);

/* Hands l back: its counts stay in the histogram; the caller must not use l
 * again. Takes the registry mutex. Accepts NULL. */
void pk_hist_local_release(pk_hist_local *l);

/* A copy of a histogram's state; plain data the caller owns (~8 KiB). */
typedef struct pk_hist_snap {
  uint64_t count; /* number of values: the sum of buckets[] */
  uint64_t sum;   /* sum of values, mod 2^64 */
  uint64_t min;   /* smallest value, 0 if count == 0 */
  uint64_t max;   /* largest value, 0 if count == 0 */
  uint64_t buckets[PK_HIST_NBUCKETS];
} pk_hist_snap;

/* Copies h, with all its local recorders, into *snap (a NULL h gives an
 * empty snapshot). Lock-free; may run while other threads record: each
 * bucket is then read at a slightly different moment, but count is always
 * the sum of the buckets, min/max always lie in the first/last non-empty
 * bucket, and once writers are joined every field is exact. */
void pk_hist_snapshot(const pk_hist *h, pk_hist_snap *snap);

/* The q-quantile (q in [0, 1]; clamped) of snap: the midpoint of the bucket
 * holding the ceil(q*count)-th smallest value, clamped to [min, max], so within
 * 1/32 of the exact nearest-rank quantile. q <= 0 gives min, q >= 1 gives
 * max; an empty snapshot gives 0. Pure function. */
uint64_t pk_hist_quantile(const pk_hist_snap *snap, double q);

/* The fine bucket value falls in (0 .. PK_HIST_NBUCKETS-1). Pure. */
unsigned pk_hist_bucket_index(uint64_t value);

/* The inclusive value range [*lo, *hi] of bucket i (< PK_HIST_NBUCKETS).
 * Pure; returns PK_OK or PK_EINVAL (i out of range or NULL pointer). */
int pk_hist_bucket_bounds(unsigned i, uint64_t *lo, uint64_t *hi);

/* ===================================================================
 * Rendering. Both functions take the registry mutex (so they run callback
 * gauges and serialise with registration), read metrics lock-free, and
 * allocate the result: on PK_OK *out is a NUL-terminated string of *len
 * bytes that the caller frees with free(). They return PK_OK, PK_EINVAL
 * (NULL argument; len may be NULL) or PK_ENOMEM (*out is then NULL).
 * Families appear in registration order, series within a family too.
 * =================================================================== */

/* Prometheus text exposition format 0.0.4 (Content-Type
 * "text/plain; version=0.0.4"): # HELP and # TYPE once per family, then its
 * samples; histograms as cumulative _bucket{le=...}, +Inf, _sum, _count. */
int pk_metrics_render_prometheus(pk_metrics *reg, char **out, size_t *len);

/* A short human summary, one line per series, names padded to a column:
 *   pika_bytes_read_total{stage="read"}  1048576
 *   pika_chunk_seconds{stage="zstd"}     count=412 p50=1.21ms p95=3.40ms
 *                                        p99=5.02ms max=12.3ms   (one line)
 * Durations are humanised as ns/µs/ms/s (UTF-8 µ), bytes as B/KiB/MiB/GiB/TiB,
 * to 3 significant digits. */
int pk_metrics_render_summary(pk_metrics *reg, char **out, size_t *len);

#endif /* PIKA_RUNTIME_METRICS_H */
