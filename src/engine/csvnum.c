/* csvnum.c — numeric CSV columns without DuckDB's reader; see csvnum.h. */
#include "engine/csvnum.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/importer.h"
#include "engine/kernel_par.h"
#include "engine/parse_double.h"

/* The read buffer of a share (a line longer than it doubles it). Small, so
 * that it stays in cache while its lines are parsed. */
#define BUF_BYTES ((size_t)1 << 20)
/* A share per this many bytes at most (default): below it a second thread
 * costs more than it saves. */
#define SHARE_MIN_BYTES ((size_t)8 << 20)
/* Estimating a share's lines: SAMPLES windows of SAMPLE_BYTES across it,
 * and room for MARGIN more lines than they predict (plus SLACK lines). */
#define SAMPLES 8
#define SAMPLE_BYTES ((size_t)64 << 10)
#define MARGIN 0.04
#define SLACK 4096

/* pk_csvnum_tune's settings (tests). */
static _Atomic size_t share_min = SHARE_MIN_BYTES;
static _Atomic size_t share_slack = SLACK;
static _Atomic double share_margin = MARGIN;

void pk_csvnum_tune(size_t min_share, double margin, size_t slack) {
  share_min = min_share ? min_share : SHARE_MIN_BYTES;
  share_margin = min_share ? margin : MARGIN;
  share_slack = min_share ? slack : SLACK;
}

/* A share's outcome besides the PK_E* codes: it ran out of room. */
#define OVERFLOW 1

typedef struct share {
  off_t lo, hi;      /* the lines that start in [lo, hi) */
  size_t row0, room; /* its rows go to [row0, row0 + room) */
  size_t rows;
  double min[PK_CSVNUM_MAX_COLS], max[PK_CSVNUM_MAX_COLS];
  int err;        /* PK_OK, OVERFLOW or a PK_E* code */
  off_t bad_line; /* unsupported: the byte offset of the line */
  char why[160];  /* unsupported: what was found */
} share;

typedef struct job {
  int fd;
  pk_db_conn *conn;
  off_t data; /* where the first row starts */
  off_t size;
  char delim;
  int quote; /* -1: none */
  bool crlf;
  size_t nfields;
  uint8_t *want;  /* per field: a bit per output column it fills */
  bool *integral; /* per field: BIGINT */
  size_t nout;    /* output columns */
  double *v[PK_CSVNUM_MAX_COLS];
  size_t nshares;
  share shares[PK_KPAR_MAX_PARTS];
  atomic_uint_fast64_t read; /* bytes parsed, all shares */
  atomic_bool stop;          /* a share failed: the others stop too */
} job;

/* ---- one field, one line ------------------------------------------------- */

/* A BIGINT field at p: -?D+ within int64, as a double (DuckDB's cast
 * rounds the same way). Returns the end, or NULL. */
static const char *bigint_at(const char *p, double *out) {
  bool neg = *p == '-';
  const char *s = p + neg, *d = s;
  if (d[0] == '0' && (unsigned)(d[1] - '0') < 10)
    return NULL; /* leading zeros: see double_at */
  uint64_t v = 0;
  for (; (unsigned)(*s - '0') < 10; s++) {
    unsigned digit = (unsigned)(*s - '0');
    if (v > (UINT64_MAX - digit) / 10)
      return NULL;
    v = v * 10 + digit;
  }
  if (s == d || v > (uint64_t)INT64_MAX + neg)
    return NULL;
  /* As DuckDB has it: an int64 (so "-0" is 0) cast to double. */
  *out = (double)(!neg                           ? (int64_t)v
                  : v == (uint64_t)INT64_MAX + 1 ? INT64_MIN
                                                 : -(int64_t)v);
  return s;
}

/* A DOUBLE field at p: digits first and last (after an optional '-'), so
 * that fast_float's general format reads just what DuckDB's does (both
 * parse with fast_float; "inf", ".5" and "5." are left to DuckDB), and no
 * leading zeros (DuckDB's sniffer takes "007" for text: such a field is
 * left to DuckDB too). Returns the end, or NULL. */
static const char *double_at(const char *p, const char *lim, double *out) {
  const char *d = p + (*p == '-');
  if ((unsigned)(*d - '0') >= 10 ||
      (d[0] == '0' && (unsigned)(d[1] - '0') < 10))
    return NULL;
  const char *r = pk_parse_double(p, lim, out);
  if (!r || (unsigned)(r[-1] - '0') >= 10 || !isfinite(*out))
    return NULL;
  return r;
}

/* Parses the line at p into vals (one per output column); a newline
 * follows before lim. Returns the start of the next line, or NULL with
 * *why set to what makes the file unsupported. */
static const char *parse_line(const job *J, const char *p, const char *lim,
                              double *vals, const char **why) {
  if (*p == '\n' || (J->crlf && p[0] == '\r' && p[1] == '\n')) {
    *why = "an empty line";
    return NULL;
  }
  for (size_t f = 0;; f++) {
    if (J->want[f]) {
      double v = NAN;
      const char *r = p;
      if (*p != J->delim && *p != '\n' && *p != '\r') { /* else NULL */
        r = J->integral[f] ? bigint_at(p, &v) : double_at(p, lim, &v);
        if (!r) {
          *why = J->integral[f]
                     ? "a BIGINT field that is not an integer in range"
                     : "a DOUBLE field that is not a plain finite number";
          return NULL;
        }
      }
      p = r;
      for (size_t k = 0; k < J->nout; k++)
        if (J->want[f] >> k & 1)
          vals[k] = v;
    } else {
      while (*p != J->delim && *p != '\n') {
        if ((unsigned char)*p == J->quote) {
          *why = "a quoted field";
          return NULL;
        }
        p++;
      }
      if (*p == '\n' && J->crlf && p[-1] == '\r')
        p--;
    }
    if (J->crlf && *p == '\r' && p[1] == '\n')
      p++;
    bool last = f + 1 == J->nfields;
    if (*p == '\n' && last)
      return p + 1;
    if (*p == '\n' || (last && *p == J->delim)) {
      *why = *p == '\n' ? "a line with fewer fields than the header"
                        : "a line with more fields than the header";
      return NULL;
    }
    if (*p != J->delim) {
      *why = "a wanted field with more after its number";
      return NULL;
    }
    p++;
  }
}

/* ---- a share ------------------------------------------------------------- */

/* Reads exactly n bytes at off (fewer only at the end of the file). */
static ssize_t read_at(int fd, char *buf, size_t n, off_t off) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = pread(fd, buf + got, n - got, off + (off_t)got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return -1;
    if (r == 0)
      break;
    got += (size_t)r;
  }
  return (ssize_t)got;
}

static void unsupported(share *S, off_t line, const char *why) {
  S->err = PK_EUNSUPPORTED;
  S->bad_line = line;
  snprintf(S->why, sizeof S->why, "%s", why);
}

static void run_share(void *ctx, unsigned part, size_t lo, size_t hi) {
  (void)lo;
  (void)hi;
  job *J = ctx;
  share *S = &J->shares[part];
  for (size_t k = 0; k < J->nout; k++) {
    S->min[k] = INFINITY;
    S->max[k] = -INFINITY;
  }
  size_t cap = BUF_BYTES;
  char *buf = malloc(cap + 1); /* + a newline after a last line without */
  if (!buf) {
    S->err = PK_ENOMEM;
    return;
  }
  /* A share that does not start the data starts after the first newline at
   * or after lo - 1: the line that contains lo belongs to the share before. */
  bool skip = S->lo > J->data;
  off_t at = skip ? S->lo - 1 : S->lo; /* file offset of buf[0] */
  size_t have = 0, rows = 0;
  double vals[PK_CSVNUM_MAX_COLS];
  double *out[PK_CSVNUM_MAX_COLS];
  for (size_t k = 0; k < J->nout; k++)
    out[k] = J->v[k] + S->row0;
  while (!S->err) {
    if (atomic_load_explicit(&J->stop, memory_order_relaxed) ||
        pk_db_interrupted(J->conn)) {
      S->err = PK_EINTERRUPTED;
      break;
    }
    if (have == cap) { /* a line longer than the buffer */
      char *nb = realloc(buf, cap * 2 + 1);
      if (!nb) {
        S->err = PK_ENOMEM;
        break;
      }
      buf = nb;
      cap *= 2;
    }
    ssize_t r = read_at(J->fd, buf + have, cap - have, at + (off_t)have);
    if (r < 0) {
      S->err = PK_EIO;
      break;
    }
    bool eof = (size_t)r < cap - have;
    have += (size_t)r;
    if (eof && have && buf[have - 1] != '\n')
      buf[have++] = '\n';
    const char *p = buf;
    const char *nl = have ? memrchr(buf, '\n', have) : NULL;
    if (!nl && !eof)
      continue;                          /* not one whole line yet */
    const char *lim = nl ? nl + 1 : buf; /* whole lines end here */
    if (skip && p < lim) {
      p = (const char *)memchr(p, '\n', (size_t)(lim - p)) + 1;
      skip = false;
    }
    bool done = false;
    const char *why = NULL;
    off_t end_rel = S->hi - at; /* lines that start before this are ours */
    while (p < lim) {
      if (p - buf >= end_rel) {
        done = true;
        break;
      }
      const char *next = parse_line(J, p, lim, vals, &why);
      if (!next) {
        unsupported(S, at + (p - buf), why);
        break;
      }
      if (rows == S->room) {
        S->err = OVERFLOW;
        break;
      }
      for (size_t k = 0; k < J->nout; k++) {
        double v = vals[k];
        out[k][rows] = v;
        if (isfinite(v)) {
          S->min[k] = v < S->min[k] ? v : S->min[k];
          S->max[k] = v > S->max[k] ? v : S->max[k];
        }
      }
      rows++;
      p = next;
    }
    atomic_fetch_add_explicit(&J->read, (uint64_t)(p - buf),
                              memory_order_relaxed);
    if (part == 0) {
      uint64_t rd = atomic_load_explicit(&J->read, memory_order_relaxed);
      pk_db_work_progress(J->conn, 100.0 * (double)rd / (double)J->size, 0, 0);
    }
    if (done || eof)
      break;
    have = (size_t)(buf + have - p);
    memmove(buf, p, have);
    at += p - buf;
  }
  S->rows = rows;
  free(buf);
  if (S->err && S->err != OVERFLOW)
    atomic_store(&J->stop, true);
}

/* ---- layout -------------------------------------------------------------- */

/* Lines in [lo, hi) as predicted from the newlines in SAMPLES windows. */
static size_t estimate_lines(const job *J, off_t lo, off_t hi, char *buf) {
  size_t bytes = (size_t)(hi - lo), seen = 0, lines = 0;
  for (int i = 0; i < SAMPLES; i++) {
    off_t at = lo + (off_t)(bytes / SAMPLES * (size_t)i);
    size_t n = bytes < SAMPLE_BYTES ? bytes : SAMPLE_BYTES;
    ssize_t r = read_at(J->fd, buf, n, at);
    if (r <= 0)
      continue;
    seen += (size_t)r;
    for (const char *p = buf, *e = buf + r;
         (p = memchr(p, '\n', (size_t)(e - p))) != NULL; p++)
      lines++;
  }
  return seen ? (size_t)((double)lines / (double)seen * (double)bytes) : 0;
}

/* Cuts [data, size) into nshares byte ranges and places each share's rows:
 * estimates for all but the last, which gets room for every line it could
 * hold (each at least nfields bytes: its delimiters and newline). Returns
 * the rows to reserve. */
static size_t lay_out(job *J, char *sample) {
  off_t bytes = J->size - J->data;
  size_t row = 0;
  for (size_t i = 0; i < J->nshares; i++) {
    share *S = &J->shares[i];
    *S =
        (share){.lo = J->data + (off_t)((uint64_t)bytes * i / J->nshares),
                .hi = J->data + (off_t)((uint64_t)bytes * (i + 1) / J->nshares),
                .row0 = row};
    double f = 1 + share_margin;
    if (i + 1 < J->nshares)
      S->room = (size_t)((double)estimate_lines(J, S->lo, S->hi, sample) *
                         (f > 0 ? f : 0)) +
                share_slack;
    else
      S->room = (size_t)(S->hi - S->lo) / J->nfields + 2;
    row += S->room;
  }
  return row;
}

/* ---- the sniff ----------------------------------------------------------- */

/* DuckDB writes "(empty)" for an option it found none of. */
static bool none(const char *s) {
  return !s || !*s || !strcmp(s, "(empty)");
}

typedef struct sniffed {
  char delim;
  int quote;
  bool crlf, header;
  size_t nfields;
  char **names, **types;
} sniffed;

static void sniffed_free(sniffed *sn) {
  for (size_t i = 0; i < sn->nfields; i++) {
    duckdb_free(sn->names[i]);
    duckdb_free(sn->types[i]);
  }
  free(sn->names);
  free(sn->types);
}

static int sniff(pk_db_conn *c, const char *path, sniffed *sn, pk_errmsg *e) {
  pk_sqlbuf q = {0};
  pk_sqlbuf_add(&q, "SELECT Delimiter, Quote, NewLineDelimiter, "
                    "SkipRows::VARCHAR, HasHeader::VARCHAR, Comment, "
                    "unnest(Columns, recursive := true) FROM ");
  pk_import_sniff(&q, path);
  if (q.err)
    return pk_errmsg_set(e, PK_ENOMEM, "out of memory");
  duckdb_result res;
  if (duckdb_query(pk_db_conn_duckdb(c), q.s, &res) != DuckDBSuccess) {
    const char *msg = duckdb_result_error(&res);
    int err = pk_errmsg_set(e, PK_EUNSUPPORTED, "the sniff failed: %s",
                            msg ? msg : "unknown error");
    duckdb_destroy_result(&res);
    pk_sqlbuf_free(&q);
    return err;
  }
  pk_sqlbuf_free(&q);
  idx_t n = duckdb_row_count(&res);
  int err = PK_OK;
  char *d = n ? duckdb_value_varchar(&res, 0, 0) : NULL;
  char *qu = n ? duckdb_value_varchar(&res, 1, 0) : NULL;
  char *nl = n ? duckdb_value_varchar(&res, 2, 0) : NULL;
  char *skip = n ? duckdb_value_varchar(&res, 3, 0) : NULL;
  char *hdr = n ? duckdb_value_varchar(&res, 4, 0) : NULL;
  char *com = n ? duckdb_value_varchar(&res, 5, 0) : NULL;
  if (!n || !d || !qu || !nl || !skip || !hdr)
    err = pk_errmsg_set(e, PK_EUNSUPPORTED, "the sniff found no columns");
  else if (strlen(d) != 1 || d[0] == '\n' || d[0] == '\r')
    err = pk_errmsg_set(e, PK_EUNSUPPORTED, "delimiter '%s'", d);
  else if (!none(qu) && strlen(qu) != 1)
    err = pk_errmsg_set(e, PK_EUNSUPPORTED, "quote '%s'", qu);
  else if (strcmp(nl, "\\n") && strcmp(nl, "\\r\\n"))
    err = pk_errmsg_set(e, PK_EUNSUPPORTED, "newline '%s'", nl);
  else if (strcmp(skip, "0"))
    err = pk_errmsg_set(e, PK_EUNSUPPORTED, "%s lines skipped", skip);
  else if (!none(com))
    err = pk_errmsg_set(e, PK_EUNSUPPORTED, "comments ('%s')", com);
  if (!err) {
    sn->delim = d[0];
    sn->quote = none(qu) ? -1 : (unsigned char)qu[0];
    sn->crlf = !strcmp(nl, "\\r\\n");
    sn->header = !strcmp(hdr, "true");
    sn->names = calloc(n, sizeof *sn->names);
    sn->types = calloc(n, sizeof *sn->types);
    if (!sn->names || !sn->types)
      err = pk_errmsg_set(e, PK_ENOMEM, "out of memory");
    for (idx_t i = 0; !err && i < n; i++) {
      sn->names[i] = duckdb_value_varchar(&res, 6, i);
      sn->types[i] = duckdb_value_varchar(&res, 7, i);
      sn->nfields++;
      if (!sn->names[i] || !sn->types[i])
        err = pk_errmsg_set(e, PK_ENOMEM, "out of memory");
    }
  }
  duckdb_free(d);
  duckdb_free(qu);
  duckdb_free(nl);
  duckdb_free(skip);
  duckdb_free(hdr);
  duckdb_free(com);
  duckdb_destroy_result(&res);
  return err;
}

/* The field DuckDB's binder would resolve name to, or -1 (none, or only
 * ambiguous case-insensitive matches). */
static long field_of(const sniffed *sn, const char *name) {
  long hit = -1;
  for (size_t i = 0; i < sn->nfields; i++)
    if (!strcmp(sn->names[i], name))
      return (long)i;
  for (size_t i = 0; i < sn->nfields; i++)
    if (!strcasecmp(sn->names[i], name)) {
      if (hit >= 0)
        return -1;
      hit = (long)i;
    }
  return hit;
}

/* The byte after the header line: a newline outside quotes ends it. */
static int header_end(const job *J, off_t *out) {
  char buf[4096];
  bool inq = false;
  for (off_t at = 0;; at += (off_t)sizeof buf) {
    ssize_t r = read_at(J->fd, buf, sizeof buf, at);
    if (r < 0)
      return PK_EIO;
    for (ssize_t i = 0; i < r; i++) {
      if ((unsigned char)buf[i] == J->quote)
        inq = !inq;
      else if (buf[i] == '\n' && !inq) {
        *out = at + i + 1;
        return PK_OK;
      }
    }
    if (r < (ssize_t)sizeof buf) {
      *out = at + r;
      return PK_OK;
    }
  }
}

/* ---- the whole read ------------------------------------------------------ */

static void free_values(job *J, size_t reserved) {
  for (size_t k = 0; k < J->nout; k++)
    if (J->v[k]) {
      munmap(J->v[k], reserved);
      J->v[k] = NULL;
    }
}

/* Reserves the arrays, runs the shares, and closes the gaps between them.
 * OVERFLOW when a share ran out of room. */
static int read_all(job *J, pk_pool *pool, size_t *reserved, pk_errmsg *e) {
  char *sample = malloc(SAMPLE_BYTES);
  if (!sample)
    return pk_errmsg_set(e, PK_ENOMEM, "out of memory");
  size_t rows = lay_out(J, sample);
  free(sample);
  *reserved = rows * sizeof(double);
  for (size_t k = 0; k < J->nout; k++)
    if (!(J->v[k] = pk_huge_map(reserved)))
      return pk_errmsg_set(e, PK_ENOMEM, "out of address space for %zu rows",
                           rows);
  atomic_store(&J->read, 0);
  atomic_store(&J->stop, false);
  pk_kpar p = {.n = J->nshares,
               .nparts = (unsigned)J->nshares,
               .fn = run_share,
               .ctx = J};
  pk_kpar_run(pool, &p);
  int worst = PK_OK;
  for (size_t i = 0; i < J->nshares; i++) {
    share *S = &J->shares[i];
    if (S->err == PK_EUNSUPPORTED) /* the first in file order says why */
      return pk_errmsg_set(e, PK_EUNSUPPORTED, "%s at byte %lld of the file",
                           S->why, (long long)S->bad_line);
    if (S->err && S->err != PK_EINTERRUPTED && S->err != OVERFLOW)
      return pk_errmsg_set(e, S->err, "%s",
                           S->err == PK_EIO ? "cannot read the file"
                                            : "out of memory");
    if (S->err)
      worst = S->err;
  }
  if (worst == PK_EINTERRUPTED)
    return pk_errmsg_set(e, PK_EINTERRUPTED, "interrupted");
  return worst;
}

int pk_csvnum_load(pk_db_conn *c, pk_pool *pool, const char *path,
                   const char *const *names, const char *const *aliases,
                   size_t n, pk_cols **out, pk_errmsg *e) {
  *out = NULL;
  if (n == 0 || n > PK_CSVNUM_MAX_COLS)
    return pk_errmsg_set(e, PK_EUNSUPPORTED, "%zu columns", n);
  if (strcmp(pk_import_format_of(path), "csv") ||
      pk_import_compression_of(path) || strpbrk(path, "*?[{"))
    return pk_errmsg_set(e, PK_EUNSUPPORTED, "not one plain CSV file");
  job J = {.conn = c, .fd = -1};
  J.fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (J.fd < 0 || fstat(J.fd, &st) || !S_ISREG(st.st_mode)) {
    if (J.fd >= 0)
      close(J.fd);
    return pk_errmsg_set(e, PK_EUNSUPPORTED, "not a regular file");
  }
  J.size = st.st_size;

  sniffed sn = {0};
  int err = sniff(c, path, &sn, e);
  if (!err) {
    J.delim = sn.delim;
    J.quote = sn.quote;
    J.crlf = sn.crlf;
    J.nfields = sn.nfields;
    J.nout = n;
    J.want = calloc(sn.nfields, 1);
    J.integral = calloc(sn.nfields, sizeof *J.integral);
    if (!J.want || !J.integral)
      err = pk_errmsg_set(e, PK_ENOMEM, "out of memory");
  }
  for (size_t k = 0; !err && k < n; k++) {
    long f = field_of(&sn, names[k]);
    if (f < 0)
      err = pk_errmsg_set(e, PK_EUNSUPPORTED, "no column '%s'", names[k]);
    else if (strcmp(sn.types[f], "DOUBLE") && strcmp(sn.types[f], "BIGINT"))
      err = pk_errmsg_set(e, PK_EUNSUPPORTED, "column '%s' is %s", names[k],
                          sn.types[f]);
    else {
      J.want[f] |= (uint8_t)(1u << k);
      J.integral[f] = !strcmp(sn.types[f], "BIGINT");
    }
  }
  if (!err && sn.header && (err = header_end(&J, &J.data)) != PK_OK)
    pk_errmsg_set(e, err, "cannot read %s", path);
  sniffed_free(&sn);

  size_t reserved = 0;
  if (!err) {
    size_t shares = 1;
    if (pool) {
      struct pk_pool_stats ps;
      pk_pool_stats(pool, &ps);
      shares = ps.nthreads ? ps.nthreads : 1;
    }
    size_t by_size = (size_t)(J.size - J.data) / share_min;
    shares = shares < by_size ? shares : by_size;
    J.nshares = shares < 1                   ? 1
                : shares > PK_KPAR_MAX_PARTS ? PK_KPAR_MAX_PARTS
                                             : shares;
    pk_db_work_begin(c);
    err = read_all(&J, pool, &reserved, e);
    if (err == OVERFLOW) { /* lines far shorter than sampled: one share */
      free_values(&J, reserved);
      J.nshares = 1;
      err = read_all(&J, pool, &reserved, e);
    }
    pk_db_work_end(c);
  }
  close(J.fd);
  free(J.want);
  free(J.integral);

  pk_cols *cs = NULL;
  if (!err && !(cs = calloc(1, sizeof *cs)))
    err = pk_errmsg_set(e, PK_ENOMEM, "out of memory");
  if (!err && !(cs->cols = calloc(n, sizeof *cs->cols))) {
    free(cs);
    cs = NULL;
    err = pk_errmsg_set(e, PK_ENOMEM, "out of memory");
  }
  if (err) {
    free_values(&J, reserved);
    return err;
  }
  /* Close the gaps: each share's rows move down to follow the previous
   * share's, in order, so no move overwrites rows not yet moved. */
  size_t rows = J.shares[0].rows;
  for (size_t i = 1; i < J.nshares; i++) {
    share *S = &J.shares[i];
    for (size_t k = 0; k < n; k++)
      memmove(J.v[k] + rows, J.v[k] + S->row0, S->rows * sizeof(double));
    rows += S->rows;
  }
  cs->nrows = rows;
  cs->ncols = n;
  for (size_t k = 0; k < n; k++) {
    pk_col *col = &cs->cols[k];
    col->v = J.v[k];
    col->vmap = reserved;
    col->ranged = true;
    col->min = INFINITY;
    col->max = -INFINITY;
    for (size_t i = 0; i < J.nshares; i++) {
      col->min = fmin(col->min, J.shares[i].min[k]);
      col->max = fmax(col->max, J.shares[i].max[k]);
    }
    if (!(col->name = strdup(aliases[k])))
      err = PK_ENOMEM;
  }
  if (!err)
    err = pk_cols_shrink(cs);
  if (err) {
    pk_cols_free(cs);
    return pk_errmsg_set(e, err, "out of memory");
  }
  *out = cs;
  return PK_OK;
}
