/* clock.c — see clock.h. */
#include "base/clock.h"

#include "base/error.h"

int pk_cond_init_monotonic(pthread_cond_t *cv) {
  pthread_condattr_t attr;
  if (pthread_condattr_init(&attr) != 0)
    return PK_ENOMEM;
  int rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  if (rc == 0)
    rc = pthread_cond_init(cv, &attr);
  pthread_condattr_destroy(&attr);
  return rc == 0 ? PK_OK : PK_ENOMEM;
}
