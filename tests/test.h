/*
 * test.h — the assertions every C test in Pika uses.
 *
 * Each test file is its own executable, run by ctest in its own process with
 * a timeout (libuv's habit: one crash or hang fails one test, not the run).
 * Assertions print both operands and the location, then abort() so that the
 * sanitizers and ctest both see the failure.
 *
 *   static void test_something(void) { ASSERT_EQ(1 + 1, 2); }
 *   int main(void) { RUN(test_something); return 0; }
 */
#ifndef PIKA_TESTS_TEST_H
#define PIKA_TESTS_TEST_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

/* xorshift64: a fixed, fast sequence for test data (seed must not be 0). */
static inline uint64_t pk_test_xorshift(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

/* Uniform in [0, 1) from the top 53 bits of the next value. */
static inline double pk_test_unit(uint64_t *s) {
  return (double)(pk_test_xorshift(s) >> 11) * 0x1.0p-53;
}

#define TEST_FAIL_(...)                                                        \
  do {                                                                         \
    fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                            \
    fprintf(stderr, __VA_ARGS__);                                              \
    fputc('\n', stderr);                                                       \
    abort();                                                                   \
  } while (0)

#define ASSERT(cond)                                                           \
  do {                                                                         \
    if (!(cond))                                                               \
      TEST_FAIL_("assertion failed: %s", #cond);                               \
  } while (0)

#define ASSERT_CMP_(a, op, b)                                                  \
  do {                                                                         \
    intmax_t a_ = (intmax_t)(a), b_ = (intmax_t)(b);                           \
    if (!(a_ op b_))                                                           \
      TEST_FAIL_("%s %s %s: %jd vs %jd", #a, #op, #b, a_, b_);                 \
  } while (0)

#define ASSERT_UCMP_(a, op, b)                                                 \
  do {                                                                         \
    uintmax_t a_ = (uintmax_t)(a), b_ = (uintmax_t)(b);                        \
    if (!(a_ op b_))                                                           \
      TEST_FAIL_("%s %s %s: %ju vs %ju", #a, #op, #b, a_, b_);                 \
  } while (0)

#define ASSERT_EQ(a, b) ASSERT_CMP_(a, ==, b)
#define ASSERT_NE(a, b) ASSERT_CMP_(a, !=, b)
#define ASSERT_LT(a, b) ASSERT_CMP_(a, <, b)
#define ASSERT_LE(a, b) ASSERT_CMP_(a, <=, b)
#define ASSERT_GT(a, b) ASSERT_CMP_(a, >, b)
#define ASSERT_GE(a, b) ASSERT_CMP_(a, >=, b)
#define ASSERT_UEQ(a, b) ASSERT_UCMP_(a, ==, b)
#define ASSERT_ULE(a, b) ASSERT_UCMP_(a, <=, b)

#define ASSERT_DEQ(a, b, eps)                                                  \
  do {                                                                         \
    double a_ = (double)(a), b_ = (double)(b);                                 \
    if (!(a_ - b_ <= (eps) && b_ - a_ <= (eps)))                               \
      TEST_FAIL_("%s ~= %s: %.17g vs %.17g", #a, #b, a_, b_);                  \
  } while (0)

#define ASSERT_STREQ(a, b)                                                     \
  do {                                                                         \
    const char *a_ = (a), *b_ = (b);                                           \
    if (!a_ || !b_ || strcmp(a_, b_) != 0)                                     \
      TEST_FAIL_("%s == %s: \"%s\" vs \"%s\"", #a, #b, a_ ? a_ : "(null)",     \
                 b_ ? b_ : "(null)");                                          \
  } while (0)

/* The call returned PK_OK; on failure names the error. */
#define ASSERT_OK(expr)                                                        \
  do {                                                                         \
    int r_ = (expr);                                                           \
    if (r_ != PK_OK)                                                           \
      TEST_FAIL_("%s failed: %s (%s)", #expr, pk_err_name(r_),                 \
                 pk_strerror(r_));                                             \
  } while (0)

/* The call returned the given PK_E* code. */
#define ASSERT_ERR(expr, code)                                                 \
  do {                                                                         \
    int r_ = (expr);                                                           \
    if (r_ != (code))                                                          \
      TEST_FAIL_("%s: expected %s, got %s", #expr, pk_err_name(code),          \
                 pk_err_name(r_));                                             \
  } while (0)

#define RUN(fn)                                                                \
  do {                                                                         \
    fprintf(stderr, "-- %s\n", #fn);                                           \
    fn();                                                                      \
  } while (0)

#endif /* PIKA_TESTS_TEST_H */
