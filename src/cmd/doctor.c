/* doctor.c — `pika doctor`: what this machine gives Pika, proven by running
 * it: the runtime's governor sizing, device and memory detection, a short
 * real pipeline through channels, pools and buffers, and a DuckDB query. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/error.h"
#include "base/sys.h"
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "cmd/exit.h"
#include "duckdb.h"
#include "runtime/governor.h"
#include "runtime/mempressure.h"
#include "runtime/metrics.h"
#include "runtime/selftest.h"

const char cmd_doctor_usage[] =
    "usage: pika doctor [--items N] [--path DIR]\n"
    "\n"
    "Shows what this machine gives Pika and proves each part works by using\n"
    "it: cores and CPU tokens, the storage device under DIR (default: the\n"
    "current directory) and its I/O tokens, memory and pressure level, a\n"
    "short run of the concurrency runtime (N items, default 200000, through\n"
    "bounded channels, a worker pool, a buffer pool and the governor, each\n"
    "one verified), and a query in the embedded DuckDB.\n"
    "\n"
    "Exit status 0 when every check passes, 69 when one fails.\n";

/* Runs a real aggregate over generated rows; fills *rows and *sum. */
static int duckdb_check(uint64_t *rows, double *sum, uint64_t *ns,
                        const char **err) {
  duckdb_database db = NULL;
  duckdb_connection con = NULL;
  duckdb_result res;
  int ok = 0;
  *err = "cannot open an in-memory database";
  if (duckdb_open(NULL, &db) != DuckDBSuccess)
    return 0;
  if (duckdb_connect(db, &con) == DuckDBSuccess) {
    uint64_t t0 = pk_now_ns();
    if (duckdb_query(con,
                     "SELECT count(*), sum(i * 0.5) FROM range(10000000) t(i)",
                     &res) == DuckDBSuccess) {
      *ns = pk_now_ns() - t0;
      *rows = (uint64_t)duckdb_value_int64(&res, 0, 0);
      *sum = duckdb_value_double(&res, 1, 0);
      ok = 1;
    } else {
      *err = duckdb_result_error(&res);
    }
    duckdb_destroy_result(&res);
  }
  duckdb_disconnect(&con);
  duckdb_close(&db);
  return ok;
}

int cmd_doctor(int argc, char **argv) {
  static const struct option longopts[] = {
      {"items", required_argument, NULL, 'n'},
      {"path", required_argument, NULL, 'p'},
      {0}};
  uint64_t items = 200000;
  const char *path = ".";
  pk_cli_reset();
  int c;
  while ((c = pk_cli_getopt(argc, argv, "", longopts, "doctor",
                            cmd_doctor_usage)) != -1) {
    switch (c) {
    case 'n': {
      char *end;
      unsigned long long v = strtoull(optarg, &end, 10);
      if (*end || v == 0 || v > 100000000ull || optarg[0] == '-')
        return pk_cli_usage_error(
            "doctor", "--items wants 1..100000000, got '%s'", optarg);
      items = v;
      break;
    }
    case 'p':
      path = optarg;
      break;
    default:
      return pk_cli_status(c);
    }
  }
  if (optind < argc)
    return pk_cli_usage_error("doctor", "unexpected argument '%s'",
                              argv[optind]);
  if (access(path, F_OK) != 0)
    return pk_cli_fail("doctor", EX_NOINPUT, "cannot use --path %s: %s", path,
                       pk_strerror(pk_err_from_errno(errno)));

  int failures = 0;
  char b1[32], b2[32];
  printf("pika %s with DuckDB %s\n\n", PIKA_VERSION, duckdb_library_version());

  pk_gov *gov = NULL;
  int rc = pk_gov_create(&(pk_gov_config){.io_path = path}, &gov);
  if (rc != PK_OK)
    return pk_cli_fail("doctor", pk_exit_code(rc),
                       "cannot size the resource governor: %s",
                       pk_strerror(rc));
  pk_io_device dev;
  pk_gov_io_device(gov, &dev);
  printf("cpu       %d cores available -> %" PRIu64 " CPU tokens\n",
         pk_sys_ncpu(), pk_gov_limit(gov, PK_GOV_CPU));
  printf("storage   %s: %s (%s) -> %d I/O tokens\n", path,
         dev.name[0] ? dev.name : "unknown device", pk_io_kind_name(dev.kind),
         dev.tokens);
  if (dev.detail[0])
    printf("          %s\n", dev.detail);

  pk_mempress_reading mem;
  rc = pk_mempress_sample(NULL, &mem);
  if (rc == PK_OK) {
    pk_cli_human_bytes(mem.used, b1, sizeof b1);
    pk_cli_human_bytes(mem.limit, b2, sizeof b2);
    printf("memory    %s used of %s (%s%s%s) -> pressure %s\n", b1, b2,
           pk_mempress_source_name(mem.source), mem.cgroup_path[0] ? " " : "",
           mem.cgroup_path, pk_mempress_level_name(mem.level));
  } else {
    printf("memory    cannot read: %s\n", pk_strerror(rc));
    failures++;
  }
  pk_cli_human_bytes(pk_gov_limit(gov, PK_GOV_MEM), b1, sizeof b1);
  printf("          governor memory budget %s\n", b1);

  pk_metrics *metrics = NULL;
  pk_metrics_create(&metrics);
  pk_selftest_result st;
  rc =
      pk_selftest_run(gov, metrics, &(pk_selftest_config){.items = items}, &st);
  if (rc == PK_OK) {
    double secs = (double)st.elapsed_ns / 1e9;
    printf("runtime   %" PRIu64 " items verified through channel -> %d "
           "workers -> channel in %.3f s (%.2f M items/s)\n",
           st.items, st.workers, secs, (double)st.items / secs / 1e6);
    printf("          buffers: %" PRIu64 " made, %" PRIu64
           " reused; producer blocked %" PRIu64
           " times (backpressure); peak CPU tokens %" PRIu64 "\n",
           st.buffers_made, st.buffer_reuses, st.producer_blocks, st.cpu_peak);
    char *summary = NULL;
    size_t len;
    if (pk_metrics_render_summary(metrics, &summary, &len) == PK_OK)
      for (char *line = strtok(summary, "\n"); line; line = strtok(NULL, "\n"))
        printf("          %s\n", line);
    free(summary);
  } else {
    printf("runtime   FAILED: %s\n", pk_strerror(rc));
    failures++;
  }
  pk_metrics_free(metrics);
  pk_gov_free(gov);

  uint64_t rows = 0, ns = 0;
  double sum = 0;
  const char *err = NULL;
  if (duckdb_check(&rows, &sum, &ns, &err) && rows == 10000000 &&
      sum == 24999997500000.0) {
    printf("duckdb    count and sum over 10,000,000 generated rows: %.1f ms, "
           "result verified\n",
           (double)ns / 1e6);
  } else {
    printf("duckdb    FAILED: %s\n", err ? err : "wrong result");
    failures++;
  }

  printf("\n%s\n", failures ? "some checks FAILED" : "all checks passed");
  return failures ? EX_UNAVAILABLE : EX_OK;
}
