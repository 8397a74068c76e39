/*
 * governor.h — the process-wide resource governor: CPU tokens, I/O tokens
 * and a memory budget in bytes, shared by every job in the process.
 *
 * What it is for
 *   Each pipeline job and each data-engine query bounds its own concurrency,
 *   but local bounds add up: ten files with "one worker per core" each would
 *   run ten times as many workers as there are cores, and ten readers with
 *   queue depth 24 would bury an HDD. A job therefore takes a global token
 *   from the one pk_gov of the process before it takes its own local slot
 *   (two-level governance): the local bound keeps one job well-behaved, the
 *   global one keeps all of them together within the machine.
 *
 *   CPU tokens  default pk_sys_ncpu(): one runnable compute worker per core.
 *   I/O tokens  default from the device under `io_path` (see "Devices").
 *   Memory      bytes of working set (buffers, hash tables, caches). Default
 *               a quarter of the memory limit that pk_mempress_sample() sees
 *               (the cgroup limit in a container, else MemTotal), leaving
 *               the rest to the page cache, the allocator's slack and other
 *               processes; else a quarter of physical memory; 1 GiB if
 *               neither can be read.
 *
 * How it works
 *   Each resource is one pool: an atomic `used` counter, a fixed `limit`,
 *   and a FIFO queue of waiters behind a mutex.
 *
 *   Fast path. Acquire is one compare-and-swap on `used` (take n if
 *   used + n <= limit); release is one compare-and-swap plus one load of
 *   the waiter count. No lock and no syscall unless someone is waiting.
 *
 *   Slow path. A request that does not fit joins the tail of the queue and
 *   sleeps on its own condition variable. Only the head of the queue is
 *   ever woken, and only when a release leaves room for its request; it
 *   then takes for itself. When it succeeds it wakes the next head if that
 *   one fits too. A request larger than the whole limit can never be
 *   satisfied; it fails at once with PK_ELIMIT instead of blocking (and
 *   blocking everyone behind it) forever. A waiter that times out leaves
 *   the queue and, if it was the head, wakes the new head. Timed waits use
 *   CLOCK_MONOTONIC, so wall-clock steps neither fire nor stretch them.
 *
 * Fairness: eventual, as in Go's sync.Mutex
 *   Normal mode. A newcomer whose request fits takes it at once, even past
 *   queued waiters (it is already running; a waiter needs a wake-up, and
 *   handing every release to a sleeping thread makes each acquire cost a
 *   context switch once a queue forms: a lock convoy, which measured 100x
 *   slower than sem_t in bench_governor with four threads).
 *   Strict mode. Once the head of the queue has waited fair_after_ns
 *   (default 1 ms) the pool turns strict: newcomers, try-acquires
 *   included, queue behind it (or fail with PK_EAGAIN) even if they would
 *   fit, holders drain, and the head is served. The pool returns to normal
 *   mode when the queue is empty or its new head is younger than
 *   fair_after_ns. So a 2 GiB request is never starved by a stream of
 *   4 KiB requests that would each fit into the free space: it waits at
 *   most fair_after_ns plus the time for enough holders to release. Among
 *   waiters the order is FIFO always (only the head takes); a request that
 *   fits behind a head that does not fit waits its turn (head-of-line
 *   blocking, the price of not starving the head). stats.starved counts
 *   the times a pool turned strict.
 *
 *   Why no wake-up is lost: a waiter increments the waiter count and then
 *   re-reads `used`; a releaser lowers `used` and then reads the waiter
 *   count. Both are sequentially consistent, so at least one side sees the
 *   other: either the waiter sees the freed amount, or the releaser sees the
 *   waiter and takes the lock to wake it. Everything else about waiters
 *   happens under the pool's mutex.
 *
 * Leases (acquire several, release on every path)
 *   pk_gov_lease holds what one unit of work took from each pool.
 *   pk_gov_lease_acquire() takes CPU, then I/O, then memory, always in that
 *   order, and on any failure gives back what it already took, so a failed
 *   lease holds nothing. The fixed order is what keeps jobs from deadlocking
 *   each other: if job A held memory and waited for CPU while job B held CPU
 *   and waited for memory, each would wait for the other forever. When every
 *   job takes resources in one global order, a job waits only for a
 *   resource "later" than everything it holds, so no cycle of waiting can
 *   form. (Rule for callers: do not acquire while already holding a lease or
 *   tokens from another acquire; that would reintroduce the cycle.)
 *   pk_gov_lease_release() is idempotent, so a cleanup path may call it
 *   whether or not the lease was taken or already released:
 *
 *     pk_gov_lease l = PK_GOV_LEASE_INIT;
 *     int rc = pk_gov_lease_acquire(gov, &l, 1, 1, chunk_bytes);
 *     if (rc == PK_OK) rc = do_work(...);
 *     pk_gov_lease_release(&l);           // on every path
 *     return rc;
 *
 * Close (shutdown, Ctrl-C)
 *   pk_gov_close() wakes every waiter with PK_ECLOSED, and later acquires
 *   fail with PK_ECLOSED; releases keep working so holders can unwind.
 *   An acquire already past its first check when close runs may still
 *   succeed; its holder releases as usual. pk_gov_close() takes locks, so
 *   it is not async-signal-safe: call it from the thread that handles the
 *   signal (sigwait, signalfd, or a flag polled by the main loop).
 *
 * Devices (I/O tokens)
 *   pk_gov_detect_device() maps a path to its block device through sysfs:
 *   stat() -> st_dev MAJ:MIN -> /sys/dev/block/MAJ:MIN -> the whole disk
 *   (a partition's parent directory; a device-mapper or md device through
 *   its slaves/, taking the slowest member; a loop device through its
 *   backing file). Filesystems with anonymous device numbers (btrfs) are
 *   mapped through the mount's source device in /proc/self/mountinfo.
 *     nvme*                     NVMe  24 tokens  deep hardware queues
 *     queue/rotational = 0      SSD   12 tokens  a dozen requests saturate
 *                                                 a SATA/SAS SSD
 *     queue/rotational = 1      HDD    4 tokens  more outstanding requests
 *                                                 only add seeks
 *     anything else             UNKNOWN 12 tokens (the SSD default): tmpfs,
 *                               overlay without a block device, no sysfs,
 *                               and virtual disks (vd*, xvd*), whose
 *                               rotational flag is set by the hypervisor's
 *                               defaults rather than the real medium (virtio
 *                               disks on SSD-backed clouds report 1).
 *   The numbers are the original project's, measured there; a user with a
 *   different device sets io_tokens explicitly.
 *
 * Thread-safety
 *   Everything except pk_gov_create() and pk_gov_free() may be called
 *   concurrently from any thread. A pk_gov_lease belongs to one thread at a
 *   time (it is a plain struct; move it between threads through a channel).
 *
 * Errors follow base/error.h: PK_OK or a negative PK_E* code.
 */
#ifndef PIKA_RUNTIME_GOVERNOR_H
#define PIKA_RUNTIME_GOVERNOR_H

#include <stdint.h>

typedef struct pk_gov pk_gov;

/* The three pools; also the index into pk_gov_stats.res[]. The numeric
 * order is the global acquisition order (see "Leases"). */
typedef enum pk_gov_res {
  PK_GOV_CPU = 0,
  PK_GOV_IO = 1,
  PK_GOV_MEM = 2,
  PK_GOV_NRES = 3
} pk_gov_res;

/* "cpu", "io", "mem"; "?" for anything else. Static storage. */
const char *pk_gov_res_name(pk_gov_res res);

/* ---- devices ------------------------------------------------------------- */

typedef enum pk_io_kind {
  PK_IO_UNKNOWN = 0,
  PK_IO_NVME,
  PK_IO_SSD,
  PK_IO_HDD
} pk_io_kind;

typedef struct pk_io_device {
  pk_io_kind kind;
  int tokens;            /* I/O tokens for this kind (24, 12, 4; 12) */
  unsigned major, minor; /* st_dev of the path, as stat() gave it */
  char name[64];         /* the disk that decided ("nvme0n1", "sda"), or "" */
  char detail[192];      /* why, for `pika doctor` ("partition sda1 of sda;
                            queue/rotational=1") */
} pk_io_device;

/* "nvme", "ssd", "hdd", "unknown". Static storage. */
const char *pk_io_kind_name(pk_io_kind kind);

/* Tokens the governor gives a device kind (24, 12, 4, and 12 for unknown). */
int pk_io_kind_tokens(pk_io_kind kind);

/* Detects the device holding `path` (NULL means "."), using /sys.
 * Returns PK_OK with *out filled (kind may be PK_IO_UNKNOWN: that is an
 * answer, not an error); PK_EINVAL if out is NULL; the stat() error
 * (PK_ENOENT, PK_EPERM, ...) if path cannot be examined. On every error
 * except PK_EINVAL *out is still filled with the UNKNOWN default, so a
 * caller may ignore the code. Reads sysfs and /proc; no side effects;
 * thread-safe. */
int pk_gov_detect_device(const char *path, pk_io_device *out);

/* Same, with the sysfs tree rooted at `sysfs_root` ("/sys" when NULL);
 * tests point it at a fake tree. */
int pk_gov_detect_device_at(const char *sysfs_root, const char *path,
                            pk_io_device *out);

/* Classifies device MAJ:MIN through `sysfs_root`/dev/block/MAJ:MIN ("/sys"
 * when NULL), without stat()ing any path; what pk_gov_detect_device_at()
 * does after stat(). Returns PK_OK with *out filled (UNKNOWN when there is
 * no such entry); PK_EINVAL if out is NULL. */
int pk_gov_detect_devnum_at(const char *sysfs_root, unsigned major,
                            unsigned minor, pk_io_device *out);

/* ---- lifecycle ----------------------------------------------------------- */

typedef struct pk_gov_config {
  int cpu_tokens;         /* 0: pk_sys_ncpu(); < 0: PK_EINVAL */
  int io_tokens;          /* 0: detect from the device of io_path; < 0: INVAL */
  uint64_t mem_budget;    /* bytes; 0: a quarter of the memory limit (above) */
  const char *io_path;    /* decides io_tokens; NULL: the current directory.
                             Only read during pk_gov_create(). */
  uint64_t fair_after_ns; /* how long the oldest waiter may be passed over
                             before a pool turns strict FIFO; 0: 1 ms */
} pk_gov_config;

/* Creates a governor. cfg may be NULL (all defaults). Device or memory
 * detection that fails falls back to the documented defaults rather than
 * failing. Returns PK_OK and sets *out (free with pk_gov_free());
 * PK_EINVAL for a negative token count or NULL out; PK_ENOMEM; PK_ESYS if
 * a mutex or condattr cannot be initialised. *out is untouched on error. */
int pk_gov_create(const pk_gov_config *cfg, pk_gov **out);

/* Destroys the governor. NULL is a no-op. The caller guarantees no thread
 * is inside or will call any pk_gov_* on it (close, join users, free).
 * Outstanding holdings are simply forgotten. */
void pk_gov_free(pk_gov *gov);

/* Wakes every waiter with PK_ECLOSED and makes later acquires fail with
 * PK_ECLOSED; releases still work. Idempotent; thread-safe; not
 * async-signal-safe (see "Close"). */
void pk_gov_close(pk_gov *gov);

/* The limit of one pool (tokens, or bytes for PK_GOV_MEM); 0 for a bad res.
 * Fixed at create; thread-safe. */
uint64_t pk_gov_limit(const pk_gov *gov, pk_gov_res res);

/* The device detection pk_gov_create() did for the I/O tokens. When
 * io_tokens was configured, kind is PK_IO_UNKNOWN, tokens the configured
 * count and detail says "configured". Never fails; thread-safe. */
void pk_gov_io_device(const pk_gov *gov, pk_io_device *out);

/* ---- acquire and release ------------------------------------------------- */

/* Takes `amount` units of `res` (tokens, or bytes for PK_GOV_MEM), blocking
 * until they are free (see "Fairness" for the order). Returns PK_OK (the caller
 * now holds them and must release them exactly once), PK_ELIMIT at once if
 * amount exceeds the pool's whole limit, PK_ECLOSED if the governor is or
 * becomes closed, PK_EINVAL for a NULL gov or bad res, PK_ESYS if a condition
 * variable cannot be made for the wait (not seen on Linux). amount 0
 * succeeds at once. Thread-safe. */
int pk_gov_acquire(pk_gov *gov, pk_gov_res res, uint64_t amount);

/* Never blocks: PK_OK, or PK_EAGAIN if the amount does not fit now or the
 * pool is in strict mode (a starving waiter is being served; see
 * "Fairness"); other codes as pk_gov_acquire(). */
int pk_gov_try_acquire(pk_gov *gov, pk_gov_res res, uint64_t amount);

/* Blocks at most timeout_ns: PK_OK, or PK_ETIMEDOUT (nothing held; a
 * timeout of 0 is a try that answers PK_ETIMEDOUT); other codes as
 * pk_gov_acquire(). */
int pk_gov_acquire_timeout(pk_gov *gov, pk_gov_res res, uint64_t amount,
                           uint64_t timeout_ns);

/* Gives back `amount` units and wakes the head waiter if it now fits.
 * Returns PK_OK; PK_EINVAL (and changes nothing) if amount exceeds what is
 * in use, which is a bug in the caller. Never blocks beyond the internal
 * lock; works after pk_gov_close(); thread-safe. */
int pk_gov_release(pk_gov *gov, pk_gov_res res, uint64_t amount);

/* Named forms of the calls above, one per pool and mode. */
static inline int pk_gov_acquire_cpu(pk_gov *gov, unsigned n) {
  return pk_gov_acquire(gov, PK_GOV_CPU, n);
}
static inline int pk_gov_try_acquire_cpu(pk_gov *gov, unsigned n) {
  return pk_gov_try_acquire(gov, PK_GOV_CPU, n);
}
static inline int pk_gov_acquire_cpu_timeout(pk_gov *gov, unsigned n,
                                             uint64_t timeout_ns) {
  return pk_gov_acquire_timeout(gov, PK_GOV_CPU, n, timeout_ns);
}
static inline int pk_gov_release_cpu(pk_gov *gov, unsigned n) {
  return pk_gov_release(gov, PK_GOV_CPU, n);
}
static inline int pk_gov_acquire_io(pk_gov *gov, unsigned n) {
  return pk_gov_acquire(gov, PK_GOV_IO, n);
}
static inline int pk_gov_try_acquire_io(pk_gov *gov, unsigned n) {
  return pk_gov_try_acquire(gov, PK_GOV_IO, n);
}
static inline int pk_gov_acquire_io_timeout(pk_gov *gov, unsigned n,
                                            uint64_t timeout_ns) {
  return pk_gov_acquire_timeout(gov, PK_GOV_IO, n, timeout_ns);
}
static inline int pk_gov_release_io(pk_gov *gov, unsigned n) {
  return pk_gov_release(gov, PK_GOV_IO, n);
}
static inline int pk_gov_acquire_mem(pk_gov *gov, uint64_t bytes) {
  return pk_gov_acquire(gov, PK_GOV_MEM, bytes);
}
static inline int pk_gov_try_acquire_mem(pk_gov *gov, uint64_t bytes) {
  return pk_gov_try_acquire(gov, PK_GOV_MEM, bytes);
}
static inline int pk_gov_acquire_mem_timeout(pk_gov *gov, uint64_t bytes,
                                             uint64_t timeout_ns) {
  return pk_gov_acquire_timeout(gov, PK_GOV_MEM, bytes, timeout_ns);
}
static inline int pk_gov_release_mem(pk_gov *gov, uint64_t bytes) {
  return pk_gov_release(gov, PK_GOV_MEM, bytes);
}

/* ---- leases -------------------------------------------------------------- */

/* What one unit of work holds. Initialise with PK_GOV_LEASE_INIT (or zero
 * it); the fields are read-only to callers. Holds no heap memory, so a
 * lease that is never released leaks tokens, not memory. */
typedef struct pk_gov_lease {
  pk_gov *gov; /* NULL while the lease holds nothing */
  uint64_t cpu, io, mem;
} pk_gov_lease;

#define PK_GOV_LEASE_INIT                                                      \
  { NULL, 0, 0, 0 }

/* Takes cpu tokens, then io tokens, then mem bytes (the global order; see
 * "Leases"), blocking for each in turn. Returns PK_OK with *lease holding
 * all three; on any failure (PK_ELIMIT, checked for all three before
 * anything is taken; PK_ECLOSED) it releases what it took and *lease holds
 * nothing. PK_EINVAL if gov or lease is NULL or the lease already holds
 * something (release it first). Thread-safe for distinct leases. */
int pk_gov_lease_acquire(pk_gov *gov, pk_gov_lease *lease, unsigned cpu,
                         unsigned io, uint64_t mem);

/* As pk_gov_lease_acquire() but never blocks: PK_EAGAIN if any part does
 * not fit now (nothing is held then). */
int pk_gov_lease_try_acquire(pk_gov *gov, pk_gov_lease *lease, unsigned cpu,
                             unsigned io, uint64_t mem);

/* As pk_gov_lease_acquire() but gives up after timeout_ns in total across
 * the three waits: PK_ETIMEDOUT, nothing held. */
int pk_gov_lease_acquire_timeout(pk_gov *gov, pk_gov_lease *lease, unsigned cpu,
                                 unsigned io, uint64_t mem,
                                 uint64_t timeout_ns);

/* Gives back everything the lease holds (mem, io, cpu) and empties it.
 * Idempotent: a NULL, empty or already released lease is a no-op. */
void pk_gov_lease_release(pk_gov_lease *lease);

/* ---- stats --------------------------------------------------------------- */

typedef struct pk_gov_res_stats {
  uint64_t limit;    /* tokens, or bytes for memory */
  uint64_t in_use;   /* held right now */
  uint64_t peak;     /* highest in_use since create */
  uint64_t waiting;  /* requests queued right now */
  uint64_t waits;    /* acquires that had to sleep (any outcome) */
  uint64_t wait_ns;  /* total time those acquires slept */
  uint64_t timeouts; /* acquires that ended in PK_ETIMEDOUT after sleeping */
  uint64_t starved;  /* times the pool turned strict FIFO (see "Fairness") */
} pk_gov_res_stats;

typedef struct pk_gov_stats {
  pk_gov_res_stats res[PK_GOV_NRES]; /* indexed by pk_gov_res */
} pk_gov_stats;

/* Fills *out. Each figure is read atomically but the set is not one
 * snapshot (in_use may move between two fields); fine for metrics.
 * Never blocks; thread-safe. */
void pk_gov_get_stats(const pk_gov *gov, pk_gov_stats *out);

#endif /* PIKA_RUNTIME_GOVERNOR_H */
