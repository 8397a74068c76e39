/*
 * ticks.c — extended-Wilkinson linear ticks, decade ticks, calendar ticks.
 */
#include "render/ticks.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"

/* ---- number formatting -------------------------------------------------- */

static const char *const superscript[10] = {"⁰", "¹", "²", "³", "⁴",
                                            "⁵", "⁶", "⁷", "⁸", "⁹"};
#define MINUS_SIGN "\xe2\x88\x92" /* U+2212 */

/* Smallest number of decimals (0..17) that represents `step` exactly enough
 * that neighbouring ticks print differently. */
static int decimals_for(double step) {
  step = fabs(step);
  if (!(step > 0) || !isfinite(step))
    return 0;
  for (int d = 0; d < 17; d++) {
    double s = step * pow(10, d);
    if (fabs(s - nearbyint(s)) <= 1e-6 * s)
      return d;
  }
  return 17;
}

static void trim_zeros(char *s) {
  char *dot = strchr(s, '.');
  if (!dot)
    return;
  char *end = s + strlen(s) - 1;
  while (end > dot && *end == '0')
    *end-- = '\0';
  if (end == dot)
    *end = '\0';
}

/* Writes "-"-free digits of |v| with d decimals into buf. */
static void fixed_abs(double a, int d, char *buf, size_t cap) {
  snprintf(buf, cap, "%.*f", d, a);
  trim_zeros(buf);
}

void pk_tick_format(double v, double step, double maxabs, char *buf,
                    size_t cap) {
  char num[64];
  size_t len;
  int neg;
  if (!buf || cap == 0)
    return;
  buf[0] = '\0';
  if (isnan(v)) {
    snprintf(buf, cap, "NaN");
    return;
  }
  if (isinf(v)) {
    snprintf(buf, cap, "%s∞", v < 0 ? MINUS_SIGN : "");
    return;
  }
  step = fabs(step);
  /* Values within a billionth of a step of zero are zero: avoids "-0" and
   * "1e-17" from accumulated rounding. */
  if (v == 0 || (step > 0 && fabs(v) < step * 1e-9)) {
    snprintf(buf, cap, "0");
    return;
  }
  neg = v < 0;
  double a = fabs(v);
  if (!(maxabs > 0))
    maxabs = a;
  if (maxabs >= 1e6 || maxabs < 1e-4) {
    int e = (int)floor(log10(a));
    double m = a / pow(10, e);
    if (m >= 10 - 1e-9) { /* log10 rounding at exact powers */
      m /= 10;
      e++;
    }
    int d = step > 0 ? decimals_for(step / pow(10, e)) : 3;
    if (d > 6)
      d = 6;
    fixed_abs(m, d, num, sizeof num);
    if (strcmp(num, "10") == 0) {
      snprintf(num, sizeof num, "1");
      e++;
    }
    len = (size_t)snprintf(buf, cap, "%s%s×10", neg ? MINUS_SIGN : "", num);
    char exp[16];
    snprintf(exp, sizeof exp, "%d", e);
    for (const char *p = exp; *p && len < cap; p++) {
      const char *sup = *p == '-' ? "⁻" : superscript[*p - '0'];
      size_t sl = strlen(sup);
      if (len + sl >= cap)
        break;
      memcpy(buf + len, sup, sl + 1);
      len += sl;
    }
    return;
  }
  fixed_abs(a, step > 0 ? decimals_for(step) : 6, num, sizeof num);
  snprintf(buf, cap, "%s%s", neg && strcmp(num, "0") != 0 ? MINUS_SIGN : "",
           num);
}

static void label_all(pk_ticks *t) {
  double maxabs = 0;
  for (size_t i = 0; i < t->n; i++)
    maxabs = fmax(maxabs, fabs(t->v[i]));
  for (size_t i = 0; i < t->n; i++)
    pk_tick_format(t->v[i], t->step, maxabs, t->label[i], PK_TICK_LABEL_MAX);
}

/* ---- extended Wilkinson (Talbot, Lin, Hanrahan 2010) -------------------- */

static const double Q[] = {1, 5, 2, 2.5, 4, 3};
#define NQ 6
static const double W[4] = {0.25, 0.2, 0.5, 0.05};

static double fmod_floor(double a, double b) {
  return a - b * floor(a / b);
}

static double simplicity(int qi, int j, double lmin, double lmax,
                         double lstep) {
  /* The paper's v term: does zero appear among the labels? The epsilon is
   * relative to the step so that tiny ranges are judged fairly. */
  double eps = lstep * 1e-10;
  double r = fmod_floor(lmin, lstep);
  int v = (r < eps || lstep - r < eps) && lmin <= 0 && lmax >= 0;
  return 1 - qi / (NQ - 1.0) - j + v;
}

static double simplicity_max(int qi, int j) {
  return 1 - qi / (NQ - 1.0) - j + 1;
}

static double coverage(double dmin, double dmax, double lmin, double lmax) {
  double range = dmax - dmin;
  return 1 -
         0.5 * ((dmax - lmax) * (dmax - lmax) + (dmin - lmin) * (dmin - lmin)) /
             ((0.1 * range) * (0.1 * range));
}

static double coverage_max(double dmin, double dmax, double span) {
  double range = dmax - dmin;
  if (span > range) {
    double half = (span - range) / 2;
    return 1 - 0.5 * (2 * half * half) / ((0.1 * range) * (0.1 * range));
  }
  return 1;
}

static double density(int k, int m, double dmin, double dmax, double lmin,
                      double lmax) {
  double r = (k - 1) / (lmax - lmin);
  double rt = (m - 1) / (fmax(lmax, dmax) - fmin(dmin, lmin));
  return 2 - fmax(r / rt, rt / r);
}

static double density_max(int k, int m) {
  return k >= m ? 2 - (k - 1.0) / (m - 1.0) : 1;
}

typedef struct best_labels {
  double score, start, q;
  int j, k, z;
} best_labels;

static void extended(double dmin, double dmax, int m, best_labels *best) {
  best->score = -2;
  best->k = 0;
  for (int j = 1; j < 64; j++) {
    for (int qi = 0; qi < NQ; qi++) {
      double q = Q[qi];
      double sm = simplicity_max(qi, j);
      if (W[0] * sm + W[1] + W[2] + W[3] < best->score)
        return;
      for (int k = 2; k < 64; k++) {
        double dm = density_max(k, m);
        if (W[0] * sm + W[1] + W[2] * dm + W[3] < best->score)
          break;
        double delta = (dmax - dmin) / (k + 1) / j / q;
        int z = (int)ceil(log10(delta));
        for (int zi = 0; zi < 64; zi++, z++) {
          double step = j * q * pow(10, z);
          double cm = coverage_max(dmin, dmax, step * (k - 1));
          if (W[0] * sm + W[1] * cm + W[2] * dm + W[3] < best->score)
            break;
          double min_start = floor(dmax / step) * j - (k - 1) * j;
          double max_start = ceil(dmin / step) * j;
          if (min_start > max_start)
            continue;
          for (double start = min_start; start <= max_start; start++) {
            double lmin = start * (step / j);
            double lmax = lmin + step * (k - 1);
            double s = simplicity(qi, j, lmin, lmax, step);
            double c = coverage(dmin, dmax, lmin, lmax);
            double g = density(k, m, dmin, dmax, lmin, lmax);
            double score = W[0] * s + W[1] * c + W[2] * g + W[3] * 1.0;
            if (score > best->score) {
              *best = (best_labels){score, start, q, j, k, z};
            }
          }
        }
      }
    }
  }
}

/* start, j, q, z describe tick i as (start + i*j) * q * 10^z. Dividing by an
 * exact power of ten (instead of multiplying by an inexact 10^-z) gives the
 * correctly rounded decimal, so 3 * 0.1 comes out as 0.3. */
static double tick_value(const best_labels *b, int i) {
  double n = (b->start + (double)i * b->j) * b->q;
  return b->z >= 0 ? n * pow(10, b->z) : n / pow(10, -b->z);
}

int pk_ticks_linear(double lo, double hi, int target, pk_ticks *out) {
  best_labels b;
  if (!out || !isfinite(lo) || !isfinite(hi) || lo > hi)
    return PK_EINVAL;
  memset(out, 0, sizeof *out);
  if (lo == hi) {
    double d = lo == 0 ? 1 : fabs(lo) / 10;
    lo -= d;
    hi += d;
  }
  out->lo = lo;
  out->hi = hi;
  target = target < 2 ? 2 : target > 20 ? 20 : target;
  extended(lo, hi, target, &b);
  if (b.k < 2)
    return PK_EINVAL; /* only for ranges too narrow for a double */
  double step = b.z >= 0 ? b.j * b.q * pow(10, b.z) : b.j * b.q / pow(10, -b.z);
  double tol = (hi - lo) * 1e-9;
  out->step = step;
  for (int i = 0; i < b.k && out->n < PK_TICKS_MAX; i++) {
    double v = tick_value(&b, i);
    if (v >= lo - tol && v <= hi + tol)
      out->v[out->n++] = v;
  }
  /* Coverage can pick labels that overhang both ends of a very short
   * range; keep at least the range's ends then. */
  if (out->n < 2) {
    out->n = 2;
    out->v[0] = lo;
    out->v[1] = hi;
    out->step = hi - lo;
  }
  label_all(out);
  return PK_OK;
}

/* ---- log10 axes --------------------------------------------------------- */

int pk_ticks_log(double lo, double hi, int target, pk_ticks *out) {
  if (!out || !isfinite(lo) || !isfinite(hi) || !(lo > 0) || !(lo < hi))
    return PK_EINVAL;
  memset(out, 0, sizeof *out);
  target = target < 2 ? 2 : target > 20 ? 20 : target;
  double l0 = log10(lo), l1 = log10(hi);
  int e0 = (int)ceil(l0 - 1e-9), e1 = (int)floor(l1 + 1e-9);
  int ndec = e1 - e0 + 1;
  if (ndec < 2) {
    int r = pk_ticks_linear(lo, hi, target, out);
    out->lo = lo;
    out->hi = hi;
    return r;
  }
  static const int strides[] = {1, 2, 3, 5, 10, 20, 50, 100};
  int stride = 1;
  for (size_t i = 0; i < sizeof strides / sizeof *strides; i++) {
    stride = strides[i];
    if ((ndec + stride - 1) / stride <= target)
      break;
  }
  out->lo = lo;
  out->hi = hi;
  out->step = stride;
  int first = (int)ceil((double)e0 / stride) * stride;
  int plain = 1;
  for (int e = first; e <= e1 && out->n < PK_TICKS_MAX; e += stride) {
    out->v[out->n++] = pow(10, e);
    if (e < -2 || e > 3)
      plain = 0;
  }
  /* Minor ticks: 2..9 x each decade when every decade is labelled,
   * otherwise the unlabelled decades. */
  for (int e = e0 - 1; e <= e1 && out->nminor < PK_TICKS_MAX; e++) {
    if (stride == 1) {
      for (int m = 2; m <= 9 && out->nminor < PK_TICKS_MAX; m++) {
        double v = m * pow(10, e);
        if (v >= lo && v <= hi)
          out->minor[out->nminor++] = v;
      }
    } else if (e >= e0 && (e - first) % stride != 0) {
      out->minor[out->nminor++] = pow(10, e);
    }
  }
  for (size_t i = 0; i < out->n; i++) {
    int e = (int)lrint(log10(out->v[i]));
    if (plain) {
      pk_tick_format(out->v[i], out->v[i], out->v[i], out->label[i],
                     PK_TICK_LABEL_MAX);
    } else {
      char exp[16];
      size_t len = (size_t)snprintf(out->label[i], PK_TICK_LABEL_MAX, "10");
      snprintf(exp, sizeof exp, "%d", e);
      for (const char *p = exp; *p; p++) {
        const char *sup = *p == '-' ? "⁻" : superscript[*p - '0'];
        size_t sl = strlen(sup);
        if (len + sl >= PK_TICK_LABEL_MAX)
          break;
        memcpy(out->label[i] + len, sup, sl + 1);
        len += sl;
      }
    }
  }
  return PK_OK;
}

/* ---- calendar ------------------------------------------------------------ */

long long pk_days_from_civil(long long y, int m, int d) {
  y -= m <= 2;
  long long era = (y >= 0 ? y : y - 399) / 400;
  long long yoe = y - era * 400;
  long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void pk_civil_from_days(long long z, long long *y, int *m, int *d) {
  z += 719468;
  long long era = (z >= 0 ? z : z - 146096) / 146097;
  long long doe = z - era * 146097;
  long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  long long mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

enum { U_SEC, U_MIN, U_HOUR, U_DAY, U_WEEK, U_MONTH, U_YEAR };

typedef struct interval {
  int unit, count;
  double approx; /* seconds */
} interval;

#define DAY 86400.0
static const interval intervals[] = {
    {U_SEC, 1, 1},
    {U_SEC, 2, 2},
    {U_SEC, 5, 5},
    {U_SEC, 10, 10},
    {U_SEC, 15, 15},
    {U_SEC, 30, 30},
    {U_MIN, 1, 60},
    {U_MIN, 2, 120},
    {U_MIN, 5, 300},
    {U_MIN, 10, 600},
    {U_MIN, 15, 900},
    {U_MIN, 30, 1800},
    {U_HOUR, 1, 3600},
    {U_HOUR, 3, 3 * 3600},
    {U_HOUR, 6, 6 * 3600},
    {U_HOUR, 12, 12 * 3600},
    {U_DAY, 1, DAY},
    {U_DAY, 2, 2 * DAY},
    {U_WEEK, 1, 7 * DAY},
    {U_WEEK, 2, 14 * DAY},
    {U_MONTH, 1, 30 * DAY},
    {U_MONTH, 2, 61 * DAY},
    {U_MONTH, 3, 91 * DAY},
    {U_MONTH, 6, 182 * DAY},
    {U_YEAR, 1, 365 * DAY},
    {U_YEAR, 2, 730 * DAY},
    {U_YEAR, 5, 1826 * DAY},
    {U_YEAR, 10, 3652 * DAY},
    {U_YEAR, 20, 7305 * DAY},
    {U_YEAR, 50, 18262 * DAY},
    {U_YEAR, 100, 36525 * DAY},
    {U_YEAR, 200, 73050 * DAY},
    {U_YEAR, 500, 182621 * DAY},
    {U_YEAR, 1000, 365242 * DAY},
};
#define NINTERVALS (sizeof intervals / sizeof *intervals)

static const char *const month_abbr[12] = {"Jan", "Feb", "Mar", "Apr",
                                           "May", "Jun", "Jul", "Aug",
                                           "Sep", "Oct", "Nov", "Dec"};

static double floor_div(double a, double b) {
  return floor(a / b);
}

static void time_label(double t, double step, char *buf, size_t cap) {
  double whole = floor(t);
  double frac = t - whole;
  long long days = (long long)floor_div(whole, DAY);
  long long sod = (long long)(whole - (double)days * DAY);
  int hh = (int)(sod / 3600), mm = (int)(sod / 60 % 60), ss = (int)(sod % 60);
  long long y;
  int mo, d;
  pk_civil_from_days(days, &y, &mo, &d);
  if (frac > 1e-9 && step < 1) {
    char f[32];
    int dec = decimals_for(step);
    snprintf(f, sizeof f, "%.*f", dec > 6 ? 6 : dec, frac);
    trim_zeros(f);
    snprintf(buf, cap, "%02d:%02d:%02d%s", hh, mm, ss, f + 1);
  } else if (ss != 0) {
    snprintf(buf, cap, "%02d:%02d:%02d", hh, mm, ss);
  } else if (hh != 0 || mm != 0) {
    snprintf(buf, cap, "%02d:%02d", hh, mm);
  } else if (d != 1) {
    snprintf(buf, cap, "%s %d", month_abbr[mo - 1], d);
  } else if (mo != 1) {
    snprintf(buf, cap, "%s", month_abbr[mo - 1]);
  } else {
    snprintf(buf, cap, "%lld", y);
  }
}

int pk_ticks_time(double lo, double hi, int target, pk_ticks *out) {
  if (!out || !isfinite(lo) || !isfinite(hi) || !(lo < hi))
    return PK_EINVAL;
  memset(out, 0, sizeof *out);
  target = target < 2 ? 2 : target > 20 ? 20 : target;
  double span = hi - lo;
  /* Below a few seconds the calendar has nothing to offer: decimal steps of
   * a second, labelled as clock time. */
  if (span / target < 1) {
    pk_ticks lin;
    int r = pk_ticks_linear(lo, hi, target, &lin);
    if (r != PK_OK)
      return r;
    *out = lin;
    for (size_t i = 0; i < out->n; i++)
      time_label(out->v[i], out->step, out->label[i], PK_TICK_LABEL_MAX);
    return PK_OK;
  }
  /* d3's rule: the interval whose length is closest (in ratio) to
   * span/target. */
  double want = span / target;
  size_t best = 0;
  double bestd = INFINITY;
  for (size_t i = 0; i < NINTERVALS; i++) {
    double dist = fabs(log(intervals[i].approx / want));
    if (dist < bestd && span / intervals[i].approx < PK_TICKS_MAX - 1) {
      bestd = dist;
      best = i;
    }
  }
  if (!isfinite(bestd) || fabs(lo) > 1e15 || fabs(hi) > 1e15) {
    /* Spans of tens of millennia, or values beyond any calendar
     * (~31 million years): plain numbers of years are the honest label. */
    const double year = 365.2425 * DAY;
    pk_ticks yt;
    int r = pk_ticks_linear(1970 + lo / year, 1970 + hi / year, target, &yt);
    if (r != PK_OK)
      return r;
    out->lo = lo;
    out->hi = hi;
    out->step = yt.step * year;
    for (size_t i = 0; i < yt.n; i++) {
      out->v[out->n] = (yt.v[i] - 1970) * year;
      memcpy(out->label[out->n], yt.label[i], PK_TICK_LABEL_MAX);
      out->n++;
    }
    return PK_OK;
  }
  interval iv = intervals[best];
  out->lo = lo;
  out->hi = hi;
  out->step = iv.approx;
  if (iv.unit <= U_DAY || iv.unit == U_WEEK) {
    static const double unit_s[] = {1, 60, 3600, DAY, 7 * DAY};
    double s = unit_s[iv.unit] * (iv.unit == U_WEEK ? 1 : 1) * iv.count;
    /* Weeks start on Monday: 1970-01-05 was one. */
    double origin = iv.unit == U_WEEK ? 4 * DAY : 0;
    double t = origin + ceil((lo - origin) / s) * s;
    for (; t <= hi && out->n < PK_TICKS_MAX; t += s)
      out->v[out->n++] = t;
  } else if (iv.unit == U_MONTH) {
    long long y;
    int m, d;
    pk_civil_from_days((long long)floor_div(lo, DAY), &y, &m, &d);
    long long mi = y * 12 + (m - 1);
    mi -= ((mi % iv.count) + iv.count) % iv.count;
    for (; out->n < PK_TICKS_MAX; mi += iv.count) {
      long long yy = mi >= 0 ? mi / 12 : -((-mi + 11) / 12);
      int mm = (int)(mi - yy * 12) + 1;
      double t = (double)pk_days_from_civil(yy, mm, 1) * DAY;
      if (t > hi)
        break;
      if (t >= lo)
        out->v[out->n++] = t;
    }
  } else {
    long long y;
    int m, d;
    pk_civil_from_days((long long)floor_div(lo, DAY), &y, &m, &d);
    y -= ((y % iv.count) + iv.count) % iv.count;
    for (; out->n < PK_TICKS_MAX; y += iv.count) {
      double t = (double)pk_days_from_civil(y, 1, 1) * DAY;
      if (t > hi)
        break;
      if (t >= lo)
        out->v[out->n++] = t;
    }
  }
  for (size_t i = 0; i < out->n; i++)
    time_label(out->v[i], out->step, out->label[i], PK_TICK_LABEL_MAX);
  return PK_OK;
}
