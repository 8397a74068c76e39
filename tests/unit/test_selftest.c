/* The runtime self-test verifies every item and reports real figures. */
#include "test.h"
#include "runtime/selftest.h"

static void test_selftest_counts(void) {
  pk_gov *gov;
  ASSERT_OK(pk_gov_create(
      &(pk_gov_config){.cpu_tokens = 2, .io_tokens = 4, .mem_budget = 1 << 20},
      &gov));
  pk_metrics *m;
  ASSERT_OK(pk_metrics_create(&m));
  pk_selftest_result r;
  ASSERT_OK(pk_selftest_run(
      gov, m, &(pk_selftest_config){.items = 5000, .channel_cap = 4}, &r));
  ASSERT_UEQ(r.items, 5000);
  ASSERT_EQ(r.workers, 2);
  /* The buffer pool's bound held, and buffers were recycled. */
  ASSERT_ULE(r.buffers_made, 8);
  ASSERT_UEQ(r.buffers_made + r.buffer_reuses, 5000);
  ASSERT_ULE(r.cpu_peak, 2);
  ASSERT(r.elapsed_ns > 0);

  char *text;
  size_t len;
  ASSERT_OK(pk_metrics_render_prometheus(m, &text, &len));
  ASSERT(strstr(text, "pika_selftest_items_total 5000") != NULL);
  ASSERT(strstr(text, "pika_selftest_latency_seconds_count 5000") != NULL);
  free(text);
  pk_metrics_free(m);
  pk_gov_free(gov);
}

int main(void) {
  RUN(test_selftest_counts);
  return 0;
}
