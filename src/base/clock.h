/*
 * clock.h — monotonic time for measurements and deadlines.
 * Thread-safe; never fails on Linux (CLOCK_MONOTONIC is always present).
 */
#ifndef PIKA_BASE_CLOCK_H
#define PIKA_BASE_CLOCK_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* Nanoseconds since an arbitrary fixed point; only differences mean anything.
 */
static inline uint64_t pk_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A pk_now_ns() instant as a timespec, for pthread_cond_timedwait on a
 * condvar created by pk_cond_init_monotonic() (whose clock is
 * CLOCK_MONOTONIC, so a wall-clock step neither fires nor stretches a
 * timeout). */
static inline struct timespec pk_mono_timespec(uint64_t abs_ns) {
  struct timespec ts;
  ts.tv_sec = (time_t)(abs_ns / 1000000000u);
  ts.tv_nsec = (long)(abs_ns % 1000000000u);
  return ts;
}

/* The pk_now_ns() instant `ns` from now, saturating instead of wrapping. */
static inline uint64_t pk_deadline_ns(uint64_t ns) {
  uint64_t now = pk_now_ns();
  return ns > UINT64_MAX - now ? UINT64_MAX : now + ns;
}

/* Initialises *cv with CLOCK_MONOTONIC as its timed-wait clock.
 * Returns PK_OK or PK_ENOMEM. */
int pk_cond_init_monotonic(pthread_cond_t *cv);

#endif /* PIKA_BASE_CLOCK_H */
