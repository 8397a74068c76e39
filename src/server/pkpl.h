/*
 * pkpl.h — the binary plot format of POST /api/plot ("PKPL", version 1,
 * docs/PROTOCOL.md "Plots"): a pk_plot render model (render/render.h)
 * encoded as a JSON header and 8-aligned float64 arrays, so that the
 * browser wraps each array in a Float64Array without copying.
 *
 * Layout (all little-endian): "PKPL", u32 version, u32 J (header bytes),
 * u32 P (zero padding), J bytes of JSON, P zeros, then the data section;
 * {"a": OFF, "n": N} in the header names N doubles at byte OFF of the data
 * section (OFF a multiple of 8).
 *
 * Ownership: the model is only read. The encoded buffer is malloc'd and
 * the caller's (free()). Thread-safety: reentrant.
 */
#ifndef PIKA_SERVER_PKPL_H
#define PIKA_SERVER_PKPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "render/render.h"

#define PK_PKPL_VERSION 1
#define PK_PKPL_MIME "application/vnd.pika.plot"

typedef struct pk_pkpl_meta {
  const char *plot; /* the client's plot id (may be NULL: null) */
  long long seq;
  /* The full data's range (double-click reset); a NaN member is filled
   * from the model's own range. */
  double ext_x0, ext_x1, ext_y0, ext_y1;
  uint64_t rows, points;
  double elapsed_ms;
  bool cached;
} pk_pkpl_meta;

/* Encodes p. *out (malloc'd) gets *len bytes. PK_EINVAL for a kind the
 * format has no members for; PK_ENOMEM. */
int pk_pkpl_encode(const pk_plot *p, const pk_pkpl_meta *m, unsigned char **out,
                   size_t *len, pk_errmsg *e);

/* The model's data range per axis (categorical x: -0.5 .. n-0.5; counts
 * and bars from 0). NaN when the model has no finite values there. */
void pk_pkpl_model_range(const pk_plot *p, double *x0, double *x1, double *y0,
                         double *y1);

#endif /* PIKA_SERVER_PKPL_H */
