/*
 * test_ticks.c — exact tick values and labels for linear, log and time axes.
 */
#include <math.h>

#include "render/ticks.h"
#include "test.h"

/* Asserts the ticks equal want[] to within a billionth of a step (i.e. the
 * same decimal numbers) and the labels equal lab[]. */
static void expect(const pk_ticks *t, const double *want, const char **lab,
                   size_t n) {
  ASSERT_UEQ(t->n, n);
  for (size_t i = 0; i < n; i++) {
    ASSERT_DEQ(t->v[i], want[i], fabs(t->step) * 1e-9);
    if (lab)
      ASSERT_STREQ(t->label[i], lab[i]);
  }
}

#define N(a) (sizeof(a) / sizeof(a)[0])

static void test_linear_basic(void) {
  pk_ticks t;
  ASSERT_OK(pk_ticks_linear(0, 100, 5, &t));
  double a[] = {0, 25, 50, 75, 100};
  const char *al[] = {"0", "25", "50", "75", "100"};
  expect(&t, a, al, N(a));
  ASSERT_DEQ(t.step, 25, 0);

  ASSERT_OK(pk_ticks_linear(0, 1, 5, &t));
  double b[] = {0, 0.25, 0.5, 0.75, 1};
  const char *bl[] = {"0", "0.25", "0.5", "0.75", "1"};
  expect(&t, b, bl, N(b));

  ASSERT_OK(pk_ticks_linear(3, 97, 8, &t));
  double c[] = {10, 20, 30, 40, 50, 60, 70, 80, 90};
  expect(&t, c, NULL, N(c));

  /* 0.1 * 3 must come out as the double nearest 0.3, labelled "0.3". */
  ASSERT_OK(pk_ticks_linear(0, 0.3, 4, &t));
  ASSERT_UEQ(t.n, 4);
  ASSERT(t.v[3] == 0.3);
  ASSERT_STREQ(t.label[3], "0.3");
}

static void test_linear_negative(void) {
  pk_ticks t;
  ASSERT_OK(pk_ticks_linear(-3.7, 12.2, 6, &t));
  double a[] = {-3, 0, 3, 6, 9, 12};
  const char *al[] = {"\xe2\x88\x92"
                      "3",
                      "0",
                      "3",
                      "6",
                      "9",
                      "12"};
  expect(&t, a, al, N(a));

  ASSERT_OK(pk_ticks_linear(-1, 1, 5, &t));
  double b[] = {-1, -0.5, 0, 0.5, 1};
  expect(&t, b, NULL, N(b));
  ASSERT_STREQ(t.label[1], "\xe2\x88\x92"
                           "0.5");
  ASSERT_STREQ(t.label[2], "0"); /* never "-0" */
}

static void test_linear_tiny_and_huge(void) {
  pk_ticks t;
  ASSERT_OK(pk_ticks_linear(1e-9, 5e-9, 5, &t));
  double a[] = {1e-9, 2e-9, 3e-9, 4e-9, 5e-9};
  const char *al[] = {"1×10⁻⁹", "2×10⁻⁹", "3×10⁻⁹", "4×10⁻⁹", "5×10⁻⁹"};
  expect(&t, a, al, N(a));

  ASSERT_OK(pk_ticks_linear(1e9, 5.3e9, 5, &t));
  double b[] = {1e9, 2e9, 3e9, 4e9, 5e9};
  const char *bl[] = {"1×10⁹", "2×10⁹", "3×10⁹", "4×10⁹", "5×10⁹"};
  expect(&t, b, bl, N(b));

  ASSERT_OK(pk_ticks_linear(0, 1e7, 5, &t));
  double c[] = {0, 2.5e6, 5e6, 7.5e6, 1e7};
  const char *cl[] = {"0", "2.5×10⁶", "5×10⁶", "7.5×10⁶", "1×10⁷"};
  expect(&t, c, cl, N(c));

  ASSERT_OK(pk_ticks_linear(-1e6, -2e5, 5, &t));
  double d[] = {-1e6, -8e5, -6e5, -4e5, -2e5};
  expect(&t, d, NULL, N(d));
  ASSERT_STREQ(t.label[0], "\xe2\x88\x92"
                           "1×10⁶");

  /* A narrow range far from zero keeps enough digits to tell ticks apart. */
  ASSERT_OK(pk_ticks_linear(1.0000001, 1.0000002, 5, &t));
  double e[] = {1.0000001, 1.000000125, 1.00000015, 1.000000175, 1.0000002};
  const char *el[] = {"1.0000001", "1.000000125", "1.00000015", "1.000000175",
                      "1.0000002"};
  expect(&t, e, el, N(e));
}

static void test_linear_zero_width(void) {
  pk_ticks t;
  ASSERT_OK(pk_ticks_linear(5, 5, 5, &t));
  ASSERT_DEQ(t.lo, 4.5, 0);
  ASSERT_DEQ(t.hi, 5.5, 0);
  double a[] = {4.5, 4.75, 5, 5.25, 5.5};
  expect(&t, a, NULL, N(a));

  ASSERT_OK(pk_ticks_linear(0, 0, 5, &t));
  double b[] = {-1, -0.5, 0, 0.5, 1};
  expect(&t, b, NULL, N(b));

  ASSERT_ERR(pk_ticks_linear(2, 1, 5, &t), PK_EINVAL);
  ASSERT_ERR(pk_ticks_linear(NAN, 1, 5, &t), PK_EINVAL);
  ASSERT_ERR(pk_ticks_linear(0, INFINITY, 5, &t), PK_EINVAL);
}

static void test_log(void) {
  pk_ticks t;
  ASSERT_OK(pk_ticks_log(1, 1000, 6, &t));
  double a[] = {1, 10, 100, 1000};
  const char *al[] = {"1", "10", "100", "1000"};
  expect(&t, a, al, N(a));
  /* Minor ticks 2..9 in each of the three decades. */
  ASSERT_UEQ(t.nminor, 24);
  ASSERT_DEQ(t.minor[0], 2, 1e-12);
  ASSERT_DEQ(t.minor[7], 9, 1e-12);
  ASSERT_DEQ(t.minor[8], 20, 1e-12);
  ASSERT_DEQ(t.minor[23], 900, 1e-9);

  /* Many decades: every third, exponent labels. */
  ASSERT_OK(pk_ticks_log(1e-3, 1e12, 6, &t));
  ASSERT_UEQ(t.n, 6);
  for (size_t i = 0; i < 6; i++)
    ASSERT_DEQ(log10(t.v[i]), -3.0 + 3.0 * (double)i, 1e-12);
  ASSERT_STREQ(t.label[0], "10⁻³");
  ASSERT_STREQ(t.label[1], "10⁰");
  ASSERT_STREQ(t.label[5], "10¹²");
  ASSERT_UEQ(t.nminor, 10); /* the unlabelled decades */

  /* Less than a decade: linear steps on the log axis. */
  ASSERT_OK(pk_ticks_log(2, 50, 5, &t));
  double b[] = {10, 20, 30, 40, 50};
  expect(&t, b, NULL, N(b));

  ASSERT_ERR(pk_ticks_log(0, 10, 5, &t), PK_EINVAL);
  ASSERT_ERR(pk_ticks_log(-1, 10, 5, &t), PK_EINVAL);
}

static double utc(long long y, int m, int d, int hh, int mm, int ss) {
  return (double)pk_days_from_civil(y, m, d) * 86400 + hh * 3600 + mm * 60 + ss;
}

static void test_calendar(void) {
  long long y;
  int m, d;
  ASSERT_EQ(pk_days_from_civil(1970, 1, 1), 0);
  ASSERT_EQ(pk_days_from_civil(2000, 3, 1), 11017);
  ASSERT_EQ(pk_days_from_civil(1969, 12, 31), -1);
  pk_civil_from_days(19782, &y, &m, &d); /* 2024-02-29 */
  ASSERT_EQ(y, 2024);
  ASSERT_EQ(m, 2);
  ASSERT_EQ(d, 29);
  /* 1700000000 is 2023-11-14 22:13:20 UTC. */
  ASSERT_DEQ(utc(2023, 11, 14, 22, 13, 20), 1700000000.0, 0);
}

static void test_time_minutes(void) {
  pk_ticks t;
  double t0 = utc(2023, 11, 14, 22, 13, 20);
  ASSERT_OK(pk_ticks_time(t0, t0 + 300, 6, &t));
  double a[] = {utc(2023, 11, 14, 22, 14, 0), utc(2023, 11, 14, 22, 15, 0),
                utc(2023, 11, 14, 22, 16, 0), utc(2023, 11, 14, 22, 17, 0),
                utc(2023, 11, 14, 22, 18, 0)};
  const char *al[] = {"22:14", "22:15", "22:16", "22:17", "22:18"};
  expect(&t, a, al, N(a));

  ASSERT_OK(pk_ticks_time(t0, t0 + 3600, 6, &t));
  ASSERT_UEQ(t.n, 6);
  ASSERT_DEQ(t.step, 600, 0);
  ASSERT_STREQ(t.label[0], "22:20");
  ASSERT_STREQ(t.label[4], "23:00");

  /* Seconds. */
  ASSERT_OK(pk_ticks_time(t0, t0 + 50, 5, &t));
  ASSERT_DEQ(t.step, 10, 0);
  ASSERT_STREQ(t.label[0], "22:13:20");
  ASSERT_STREQ(t.label[1], "22:13:30");
  ASSERT_STREQ(t.label[4], "22:14"); /* on a minute boundary */

  /* Below a second: decimal steps. */
  ASSERT_OK(pk_ticks_time(t0, t0 + 0.5, 5, &t));
  ASSERT_UEQ(t.n, 6);
  ASSERT_STREQ(t.label[0], "22:13:20");
  ASSERT_STREQ(t.label[3], "22:13:20.3");
}

static void test_time_days(void) {
  pk_ticks t;
  double t0 = utc(2023, 11, 14, 22, 13, 20);
  ASSERT_OK(pk_ticks_time(t0, t0 + 3 * 86400, 6, &t));
  double a[] = {utc(2023, 11, 15, 0, 0, 0), utc(2023, 11, 15, 12, 0, 0),
                utc(2023, 11, 16, 0, 0, 0), utc(2023, 11, 16, 12, 0, 0),
                utc(2023, 11, 17, 0, 0, 0), utc(2023, 11, 17, 12, 0, 0)};
  const char *al[] = {"Nov 15", "12:00", "Nov 16", "12:00", "Nov 17", "12:00"};
  expect(&t, a, al, N(a));

  /* Weeks start on Monday (2023-11-20 was one). */
  ASSERT_OK(pk_ticks_time(t0, t0 + 40 * 86400, 6, &t));
  double b[] = {utc(2023, 11, 20, 0, 0, 0), utc(2023, 11, 27, 0, 0, 0),
                utc(2023, 12, 4, 0, 0, 0), utc(2023, 12, 11, 0, 0, 0),
                utc(2023, 12, 18, 0, 0, 0)};
  const char *bl[] = {"Nov 20", "Nov 27", "Dec 4", "Dec 11", "Dec 18"};
  expect(&t, b, bl, N(b));
}

static void test_time_months_years(void) {
  pk_ticks t;
  double t0 = utc(2023, 11, 14, 22, 13, 20);
  ASSERT_OK(pk_ticks_time(t0, t0 + 200 * 86400, 6, &t));
  double a[] = {utc(2023, 12, 1, 0, 0, 0), utc(2024, 1, 1, 0, 0, 0),
                utc(2024, 2, 1, 0, 0, 0),  utc(2024, 3, 1, 0, 0, 0),
                utc(2024, 4, 1, 0, 0, 0),  utc(2024, 5, 1, 0, 0, 0),
                utc(2024, 6, 1, 0, 0, 0)};
  const char *al[] = {"Dec", "2024", "Feb", "Mar", "Apr", "May", "Jun"};
  expect(&t, a, al, N(a));

  ASSERT_OK(pk_ticks_time(t0, t0 + 12 * 365 * 86400.0, 6, &t));
  double b[] = {utc(2024, 1, 1, 0, 0, 0), utc(2026, 1, 1, 0, 0, 0),
                utc(2028, 1, 1, 0, 0, 0), utc(2030, 1, 1, 0, 0, 0),
                utc(2032, 1, 1, 0, 0, 0), utc(2034, 1, 1, 0, 0, 0)};
  const char *bl[] = {"2024", "2026", "2028", "2030", "2032", "2034"};
  expect(&t, b, bl, N(b));

  /* Before the epoch: floor division keeps days and years right. */
  ASSERT_OK(
      pk_ticks_time(utc(1960, 3, 5, 0, 0, 0), utc(1969, 6, 1, 0, 0, 0), 5, &t));
  double c[] = {utc(1962, 1, 1, 0, 0, 0), utc(1964, 1, 1, 0, 0, 0),
                utc(1966, 1, 1, 0, 0, 0), utc(1968, 1, 1, 0, 0, 0)};
  const char *cl[] = {"1962", "1964", "1966", "1968"};
  expect(&t, c, cl, N(c));
}

static void test_time_huge_spans(void) {
  pk_ticks t;
  /* 200,000 years: no calendar step fits, year numbers instead. */
  double year = 365.2425 * 86400;
  ASSERT_OK(pk_ticks_time(-100000 * year, 100000 * year, 5, &t));
  ASSERT_GE(t.n, 3);
  ASSERT_LE(t.n, 10);
  for (size_t i = 1; i < t.n; i++)
    ASSERT_GT(t.v[i], t.v[i - 1]);
  ASSERT_DEQ(t.v[0] / year + 1970, -50000, 1e-6);
  ASSERT_STREQ(t.label[0], "\xe2\x88\x92"
                           "50000");
  /* Out-of-calendar magnitudes do not overflow. */
  ASSERT_OK(pk_ticks_time(1e17, 2e17, 5, &t));
  ASSERT_GE(t.n, 2);
}

static void test_format(void) {
  char b[PK_TICK_LABEL_MAX];
  pk_tick_format(2.5, 0.5, 10, b, sizeof b);
  ASSERT_STREQ(b, "2.5");
  pk_tick_format(2.0, 0.5, 10, b, sizeof b);
  ASSERT_STREQ(b, "2");
  pk_tick_format(1e-17, 0.1, 1, b, sizeof b); /* rounding noise is zero */
  ASSERT_STREQ(b, "0");
  pk_tick_format(123456, 1000, 123456, b, sizeof b);
  ASSERT_STREQ(b, "123456");
  pk_tick_format(0.00005, 0.00001, 0.00005, b, sizeof b);
  ASSERT_STREQ(b, "5×10⁻⁵");
  pk_tick_format(1.5e-5, 5e-6, 5e-5, b, sizeof b);
  ASSERT_STREQ(b, "1.5×10⁻⁵");
}

int main(void) {
  RUN(test_linear_basic);
  RUN(test_linear_negative);
  RUN(test_linear_tiny_and_huge);
  RUN(test_linear_zero_width);
  RUN(test_log);
  RUN(test_calendar);
  RUN(test_time_minutes);
  RUN(test_time_days);
  RUN(test_time_months_years);
  RUN(test_time_huge_spans);
  RUN(test_format);
  return 0;
}
