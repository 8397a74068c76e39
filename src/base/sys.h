/*
 * sys.h — facts about the machine Pika runs on.
 */
#ifndef PIKA_BASE_SYS_H
#define PIKA_BASE_SYS_H

#include <stdint.h>

/* Cores this process may run on (sched_getaffinity, so a taskset or cgroup
 * cpuset is honoured), at least 1. */
int pk_sys_ncpu(void);

/* Physical memory in bytes (sysconf), 0 if unknown. */
uint64_t pk_sys_total_memory(void);

#endif /* PIKA_BASE_SYS_H */
