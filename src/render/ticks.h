/*
 * ticks.h — choosing and labelling axis ticks.
 *
 * Linear axes use the extended Wilkinson algorithm of Talbot, Lin and
 * Hanrahan, "An Extension of Wilkinson's Algorithm for Positioning Tick
 * Labels on Axes", IEEE InfoVis 2010 (the same search and scoring weights as
 * their R package `labeling`: nice steps Q = 1, 5, 2, 2.5, 4, 3 and weights
 * simplicity .25, coverage .2, density .5, legibility .05). Only ticks inside
 * [lo, hi] are returned: the caller chooses the axis range (data range plus
 * padding) and the ticks never widen it.
 *
 * Log axes put major ticks on decades (1, 10, 100, ...; every 2nd, 3rd ...
 * decade when the range spans many) with minor ticks at 2..9 times each
 * decade; a range narrower than about one decade falls back to linear
 * ticks placed on the log axis.
 *
 * Time axes take UTC epoch seconds (the renderer converts microseconds
 * before calling) and step in calendar units: 1, 2, 5, 10, 15, 30 seconds;
 * 1, 2, 5, 10, 15, 30 minutes; 1, 3, 6, 12 hours; 1, 2, 7, 14 days; 1, 2, 3,
 * 6 months; 1, 2, 5, 10, ... 1000 years (longer spans, or values beyond
 * +-1e15 s, get linear ticks in years since 1970 + 1970, labelled as plain
 * year numbers). Month and year ticks fall on the first
 * of the month / January 1 (months whose index is a multiple of the step).
 * Labels follow d3's multi-scale rule: each tick is labelled by the coarsest
 * boundary it sits on — "2024" on a year start, "Mar" on a month start,
 * "Mar 5" on a midnight, "14:30" on a minute, "14:30:15" otherwise.
 *
 * Number labels carry no trailing zeros ("0.5", "2.5", "10"); magnitudes of
 * 10^6 and above or below 10^-4 use scientific notation with a Unicode
 * exponent ("2.5×10⁶", "1×10⁻⁵"). Labels are UTF-8.
 *
 * All functions are pure and thread-safe.
 */
#ifndef PIKA_RENDER_TICKS_H
#define PIKA_RENDER_TICKS_H

#include <stddef.h>

#define PK_TICKS_MAX 64
#define PK_TICK_LABEL_MAX 48

typedef struct pk_ticks {
  size_t n;                                    /* major ticks */
  double v[PK_TICKS_MAX];                      /* ascending values */
  char label[PK_TICKS_MAX][PK_TICK_LABEL_MAX]; /* label of v[i] */
  size_t nminor;                               /* minor ticks (log axes) */
  double minor[PK_TICKS_MAX];
  double step;   /* linear: the tick step; log: decades per tick; time: s */
  double lo, hi; /* the range the ticks were chosen for (see widening) */
} pk_ticks;

/* Ticks for a linear axis over [lo, hi] aiming at about `target` ticks
 * (clamped to 2..20). Requires finite lo <= hi; returns PK_OK or PK_EINVAL.
 * A zero-width range is first widened to lo ± |lo|/10 (± 1 around zero);
 * out->lo/hi report the range used. Values are computed as integer
 * multiples of the decimal step, so 0.1 * 3 prints and compares as 0.3. */
int pk_ticks_linear(double lo, double hi, int target, pk_ticks *out);

/* Ticks for a log10 axis over [lo, hi], 0 < lo < hi, finite. */
int pk_ticks_log(double lo, double hi, int target, pk_ticks *out);

/* Ticks for a time axis over [lo, hi] in UTC epoch seconds. */
int pk_ticks_time(double lo, double hi, int target, pk_ticks *out);

/* Formats v for an axis whose ticks are `step` apart and whose largest
 * label magnitude is `maxabs`: enough decimals to tell neighbours apart, no
 * trailing zeros, a true minus sign (U+2212), scientific notation when
 * maxabs >= 1e6 or maxabs < 1e-4. Writes a NUL-terminated UTF-8 string
 * (truncated to cap). */
void pk_tick_format(double v, double step, double maxabs, char *buf,
                    size_t cap);

/* Converts a UTC civil date to days since 1970-01-01 and back (proleptic
 * Gregorian; Howard Hinnant's algorithms). month 1..12, day 1..31. */
long long pk_days_from_civil(long long y, int m, int d);
void pk_civil_from_days(long long days, long long *y, int *m, int *d);

#endif /* PIKA_RENDER_TICKS_H */
