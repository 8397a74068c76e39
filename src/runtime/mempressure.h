/*
 * mempressure.h — how close the process is to its memory limit.
 *
 * What it is for
 *   Caches (decoded chunks, the data engine's hash tables, the render
 *   cache) should shrink before the kernel's OOM killer or a container's
 *   memory.max does it for them. pk_mempress_sample() says how much memory
 *   is in use against which limit and classifies that as OK, HIGH or
 *   CRITICAL; the optional monitor thread calls back when the level changes,
 *   so a cache evicts on HIGH and drops everything optional on CRITICAL.
 *
 * Where the numbers come from
 *   1. The process's cgroup. /proc/self/cgroup names it: "0::/path" for
 *      cgroup v2 (files memory.max and memory.current under
 *      /sys/fs/cgroup/path), or "N:memory:/path" for the v1 memory
 *      controller (memory.limit_in_bytes and memory.usage_in_bytes under
 *      /sys/fs/cgroup/memory/path). A limit may be set on any ancestor (a
 *      systemd slice, a container's cgroup, which a container without a
 *      cgroup namespace sees at the mount's root), so every level from the
 *      process's cgroup up to the root is read and the one with the highest
 *      used/limit ratio wins. "max" (v2) or a v1 limit near 2^63 means no
 *      limit at that level. used is the working set: usage minus
 *      inactive_file from memory.stat (clean page cache the kernel drops
 *      before it OOM-kills anyone), as the kubelet and docker count it.
 *   2. /proc/meminfo otherwise: limit MemTotal, used MemTotal-MemAvailable.
 *      Also used when every cgroup limit is above MemTotal (then the
 *      machine, not the cgroup, is the tighter bound).
 *   used is clamped to limit, so used <= limit always holds.
 *
 * Levels
 *   HIGH when used >= high_pct % of limit, CRITICAL when used >=
 *   critical_pct %; defaults 80 and 95 (the original project's numbers).
 *   Integer arithmetic, so the boundaries are exact.
 *
 * Testing
 *   The roots of /proc and /sys/fs/cgroup are fields of the config, so tests
 *   point them at fake trees (proc_root/self/cgroup, proc_root/meminfo,
 *   cgroup_root/<path>/memory.*).
 *
 * Thread-safety
 *   pk_mempress_sample() and the name functions are thread-safe (they only
 *   read files). A monitor is started and stopped by one owner.
 *
 * Errors follow base/error.h: PK_OK or a negative PK_E* code.
 */
#ifndef PIKA_RUNTIME_MEMPRESSURE_H
#define PIKA_RUNTIME_MEMPRESSURE_H

#include <stdint.h>

typedef enum pk_mempress_level {
  PK_MEMPRESS_OK = 0,
  PK_MEMPRESS_HIGH,
  PK_MEMPRESS_CRITICAL
} pk_mempress_level;

typedef enum pk_mempress_source {
  PK_MEMPRESS_MEMINFO = 0,
  PK_MEMPRESS_CGROUP
} pk_mempress_source;

typedef struct pk_mempress_config {
  const char *proc_root;   /* NULL: "/proc" */
  const char *cgroup_root; /* NULL: "/sys/fs/cgroup" */
  unsigned high_pct;       /* 0: 80 */
  unsigned critical_pct;   /* 0: 95; must be >= high_pct and <= 100 */
} pk_mempress_config;

typedef struct pk_mempress_reading {
  uint64_t used;  /* bytes of working set, <= limit */
  uint64_t limit; /* bytes, > 0 */
  pk_mempress_source source;
  int cgroup_version;    /* 1 or 2 with source CGROUP, else 0 */
  char cgroup_path[256]; /* the cgroup whose limit won, e.g. "/user.slice";
                            "" with MEMINFO */
  pk_mempress_level level;
} pk_mempress_reading;

/* "ok", "high", "critical". Static storage. */
const char *pk_mempress_level_name(pk_mempress_level level);

/* "cgroup", "meminfo". Static storage. */
const char *pk_mempress_source_name(pk_mempress_source source);

/* The level for `used` of `limit` under cfg's thresholds (cfg may be NULL
 * for the defaults). A limit of 0 is CRITICAL (nothing fits). Pure. */
pk_mempress_level pk_mempress_level_for(const pk_mempress_config *cfg,
                                        uint64_t used, uint64_t limit);

/* Reads the current usage (see "Where the numbers come from"). cfg may be
 * NULL (defaults). Returns PK_OK with *out filled; PK_EINVAL for NULL out
 * or bad thresholds; PK_ENOENT if neither a cgroup limit nor a readable
 * meminfo exists under the roots. Reads a handful of small files; does not
 * block otherwise; thread-safe. */
int pk_mempress_sample(const pk_mempress_config *cfg, pk_mempress_reading *out);

/* ---- monitor thread ------------------------------------------------------ */

typedef struct pk_mempress_monitor pk_mempress_monitor;

/* Called on the monitor thread when the level differs from the previous
 * sample's (the level before the first sample counts as OK, so a monitor
 * started under pressure reports it at once). `now` is valid only during
 * the call. The callback must not call pk_mempress_monitor_stop() on its
 * own monitor; it should be quick (it delays the next sample). */
typedef void (*pk_mempress_cb)(void *arg, const pk_mempress_reading *now,
                               pk_mempress_level prev);

/* Starts a thread that samples every interval_ms (>= 1) with a copy of cfg
 * (cfg may be NULL; its strings are copied, so they need not outlive the
 * call) and calls cb(arg, ...) on level changes. Failed samples are
 * skipped. Returns PK_OK and sets *out (stop with
 * pk_mempress_monitor_stop()); PK_EINVAL (NULL cb or out, interval 0, bad
 * thresholds); PK_ENOMEM; PK_ESYS if the thread cannot start. */
int pk_mempress_monitor_start(const pk_mempress_config *cfg,
                              unsigned interval_ms, pk_mempress_cb cb,
                              void *arg, pk_mempress_monitor **out);

/* The monitor's latest successful sample into *out: PK_OK, or PK_EAGAIN
 * before the first one. Thread-safe with the monitor thread. */
int pk_mempress_monitor_last(pk_mempress_monitor *mon,
                             pk_mempress_reading *out);

/* Wakes the thread, waits for it to finish (and for a callback in progress
 * to return), and frees the monitor. NULL is a no-op. After it returns the
 * callback is never called again. Must not be called from the callback. */
void pk_mempress_monitor_stop(pk_mempress_monitor *mon);

#endif /* PIKA_RUNTIME_MEMPRESSURE_H */
