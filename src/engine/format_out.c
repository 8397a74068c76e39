/* format_out.c — result writers; see format_out.h. */
#include "engine/format_out.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

__extension__ typedef __int128 i128;
__extension__ typedef unsigned __int128 u128;

#define DEFAULT_WIDTH 100
#define DEFAULT_MAX_ROWS 40
#define MIN_COL 6 /* a shrunk column keeps this many characters */

static const char *const fmt_names[] = {"table",  "csv",      "json",
                                        "ndjson", "markdown", "parquet"};

int pk_fmt_parse(const char *name, pk_fmt *out) {
  for (int i = 0; i <= PK_FMT_PARQUET; i++)
    if (name && !strcmp(name, fmt_names[i])) {
      *out = (pk_fmt)i;
      return PK_OK;
    }
  return PK_EINVAL;
}

const char *pk_fmt_name(pk_fmt fmt) {
  return fmt >= PK_FMT_TABLE && fmt <= PK_FMT_PARQUET ? fmt_names[fmt] : "?";
}

/* ---- values as text ------------------------------------------------------
 */

static void add_n(pk_sqlbuf *b, const char *s, size_t n) {
  char tmp[256];
  if (n < sizeof tmp) {
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    pk_sqlbuf_add(b, tmp);
    return;
  }
  char *t = malloc(n + 1);
  if (!t) {
    b->err = PK_ENOMEM;
    return;
  }
  memcpy(t, s, n);
  t[n] = '\0';
  pk_sqlbuf_add(b, t);
  free(t);
}

static void add_u128(pk_sqlbuf *b, u128 v) {
  char s[48];
  int i = (int)sizeof s - 1;
  s[i] = '\0';
  do {
    s[--i] = (char)('0' + (int)(v % 10));
    v /= 10;
  } while (v);
  pk_sqlbuf_add(b, s + i);
}

static void add_i128(pk_sqlbuf *b, i128 v) {
  if (v < 0) {
    pk_sqlbuf_add(b, "-");
    add_u128(b, (u128)0 - (u128)v);
  } else {
    add_u128(b, (u128)v);
  }
}

static i128 hugeint(duckdb_hugeint h) {
  return (i128)(((u128)(uint64_t)h.upper << 64) | h.lower);
}

static void add_decimal(pk_sqlbuf *b, i128 v, unsigned scale) {
  if (scale == 0) {
    add_i128(b, v);
    return;
  }
  u128 a = v < 0 ? (u128)0 - (u128)v : (u128)v;
  u128 p = 1;
  for (unsigned i = 0; i < scale; i++)
    p *= 10;
  if (v < 0)
    pk_sqlbuf_add(b, "-");
  add_u128(b, a / p);
  char frac[48];
  u128 f = a % p;
  for (int i = (int)scale - 1; i >= 0; i--) {
    frac[i] = (char)('0' + (int)(f % 10));
    f /= 10;
  }
  frac[scale] = '\0';
  pk_sqlbuf_addf(b, ".%s", frac);
}

static void add_double(pk_sqlbuf *b, double d, bool is_float) {
  if (isnan(d)) {
    pk_sqlbuf_add(b, "nan");
    return;
  }
  if (isinf(d)) {
    pk_sqlbuf_add(b, d > 0 ? "inf" : "-inf");
    return;
  }
  char s[40];
  int lo = is_float ? 6 : 15, hi = is_float ? 9 : 17;
  for (int p = lo; p <= hi; p++) {
    snprintf(s, sizeof s, "%.*g", p, d);
    if (is_float ? strtof(s, NULL) == (float)d : strtod(s, NULL) == d)
      break;
  }
  pk_sqlbuf_add(b, s);
  if (!strpbrk(s, ".e"))
    pk_sqlbuf_add(b, ".0");
}

static void add_time(pk_sqlbuf *b, duckdb_time_struct t) {
  pk_sqlbuf_addf(b, "%02d:%02d:%02d", t.hour, t.min, t.sec);
  if (t.micros) {
    char f[8];
    snprintf(f, sizeof f, "%06d", (int)t.micros);
    for (int i = 5; i > 0 && f[i] == '0'; i--)
      f[i] = '\0';
    pk_sqlbuf_addf(b, ".%s", f);
  }
}

static void add_date(pk_sqlbuf *b, duckdb_date d) {
  if (!duckdb_is_finite_date(d)) {
    pk_sqlbuf_add(b, d.days > 0 ? "infinity" : "-infinity");
    return;
  }
  duckdb_date_struct s = duckdb_from_date(d);
  if (s.year <= 0)
    pk_sqlbuf_addf(b, "%04d-%02d-%02d (BC)", 1 - s.year, s.month, s.day);
  else
    pk_sqlbuf_addf(b, "%04d-%02d-%02d", s.year, s.month, s.day);
}

static void add_timestamp(pk_sqlbuf *b, int64_t micros, bool tz) {
  duckdb_timestamp ts = {micros};
  if (!duckdb_is_finite_timestamp(ts)) {
    pk_sqlbuf_add(b, micros > 0 ? "infinity" : "-infinity");
    return;
  }
  duckdb_timestamp_struct s = duckdb_from_timestamp(ts);
  duckdb_date_struct d = s.date;
  if (d.year <= 0)
    pk_sqlbuf_addf(b, "%04d-%02d-%02d ", 1 - d.year, d.month, d.day);
  else
    pk_sqlbuf_addf(b, "%04d-%02d-%02d ", d.year, d.month, d.day);
  add_time(b, s.time);
  if (tz)
    pk_sqlbuf_add(b, "+00");
  if (d.year <= 0)
    pk_sqlbuf_add(b, " (BC)");
}

static void add_interval(pk_sqlbuf *b, duckdb_interval iv) {
  int32_t years = iv.months / 12, months = iv.months % 12;
  bool any = false;
  if (years) {
    pk_sqlbuf_addf(b, "%d year%s", years, years == 1 ? "" : "s");
    any = true;
  }
  if (months) {
    pk_sqlbuf_addf(b, "%s%d month%s", any ? " " : "", months,
                   months == 1 ? "" : "s");
    any = true;
  }
  if (iv.days) {
    pk_sqlbuf_addf(b, "%s%d day%s", any ? " " : "", iv.days,
                   iv.days == 1 ? "" : "s");
    any = true;
  }
  if (iv.micros || !any) {
    int64_t m = iv.micros;
    if (any)
      pk_sqlbuf_add(b, " ");
    if (m < 0) {
      pk_sqlbuf_add(b, "-");
      m = -m;
    }
    int64_t h = m / 3600000000ll;
    m %= 3600000000ll;
    duckdb_time_struct t = {0, (int8_t)(m / 60000000), 0, 0};
    m %= 60000000;
    t.sec = (int8_t)(m / 1000000);
    t.micros = (int32_t)(m % 1000000);
    pk_sqlbuf_addf(b, "%02lld:", (long long)h);
    char tmp[32];
    pk_sqlbuf mb = {0};
    add_time(&mb, t);
    snprintf(tmp, sizeof tmp, "%s", mb.s ? mb.s + 3 : "00:00");
    pk_sqlbuf_free(&mb);
    pk_sqlbuf_add(b, tmp);
  }
}

static void add_uuid(pk_sqlbuf *b, duckdb_hugeint h) {
  uint64_t hi = (uint64_t)h.upper ^ (1ull << 63), lo = h.lower;
  pk_sqlbuf_addf(
      b, "%08llx-%04llx-%04llx-%04llx-%012llx", (unsigned long long)(hi >> 32),
      (unsigned long long)((hi >> 16) & 0xffff),
      (unsigned long long)(hi & 0xffff), (unsigned long long)(lo >> 48),
      (unsigned long long)(lo & 0xffffffffffffull));
}

static void add_blob(pk_sqlbuf *b, const unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\')
      add_n(b, (const char *)&p[i], 1);
    else
      pk_sqlbuf_addf(b, "\\x%02X", p[i]);
  }
}

static bool valid_at(duckdb_vector v, uint64_t row) {
  uint64_t *m = duckdb_vector_get_validity(v);
  return !m || duckdb_validity_row_is_valid(m, row);
}

/* A nested element: NULL prints as NULL. */
static void add_elem(pk_sqlbuf *b, duckdb_vector v, duckdb_logical_type t,
                     uint64_t row) {
  if (!valid_at(v, row))
    pk_sqlbuf_add(b, "NULL");
  else
    pk_fmt_value(b, v, t, row);
}

void pk_fmt_value(pk_sqlbuf *b, duckdb_vector v, duckdb_logical_type t,
                  uint64_t row) {
  if (!valid_at(v, row)) {
    pk_sqlbuf_add(b, "NULL");
    return;
  }
  void *d = duckdb_vector_get_data(v);
  duckdb_type id = duckdb_get_type_id(t);
  switch (id) {
  case DUCKDB_TYPE_BOOLEAN:
    pk_sqlbuf_add(b, ((bool *)d)[row] ? "true" : "false");
    break;
  case DUCKDB_TYPE_TINYINT:
    pk_sqlbuf_addf(b, "%d", ((int8_t *)d)[row]);
    break;
  case DUCKDB_TYPE_SMALLINT:
    pk_sqlbuf_addf(b, "%d", ((int16_t *)d)[row]);
    break;
  case DUCKDB_TYPE_INTEGER:
    pk_sqlbuf_addf(b, "%d", ((int32_t *)d)[row]);
    break;
  case DUCKDB_TYPE_BIGINT:
    pk_sqlbuf_addf(b, "%lld", (long long)((int64_t *)d)[row]);
    break;
  case DUCKDB_TYPE_UTINYINT:
    pk_sqlbuf_addf(b, "%u", ((uint8_t *)d)[row]);
    break;
  case DUCKDB_TYPE_USMALLINT:
    pk_sqlbuf_addf(b, "%u", ((uint16_t *)d)[row]);
    break;
  case DUCKDB_TYPE_UINTEGER:
    pk_sqlbuf_addf(b, "%u", ((uint32_t *)d)[row]);
    break;
  case DUCKDB_TYPE_UBIGINT:
    pk_sqlbuf_addf(b, "%llu", (unsigned long long)((uint64_t *)d)[row]);
    break;
  case DUCKDB_TYPE_HUGEINT:
    add_i128(b, hugeint(((duckdb_hugeint *)d)[row]));
    break;
  case DUCKDB_TYPE_UHUGEINT: {
    duckdb_uhugeint u = ((duckdb_uhugeint *)d)[row];
    add_u128(b, ((u128)u.upper << 64) | u.lower);
    break;
  }
  case DUCKDB_TYPE_FLOAT:
    add_double(b, ((float *)d)[row], true);
    break;
  case DUCKDB_TYPE_DOUBLE:
    add_double(b, ((double *)d)[row], false);
    break;
  case DUCKDB_TYPE_DECIMAL: {
    unsigned scale = duckdb_decimal_scale(t);
    i128 x;
    switch (duckdb_decimal_internal_type(t)) {
    case DUCKDB_TYPE_SMALLINT:
      x = ((int16_t *)d)[row];
      break;
    case DUCKDB_TYPE_INTEGER:
      x = ((int32_t *)d)[row];
      break;
    case DUCKDB_TYPE_BIGINT:
      x = ((int64_t *)d)[row];
      break;
    default:
      x = hugeint(((duckdb_hugeint *)d)[row]);
      break;
    }
    add_decimal(b, x, scale);
    break;
  }
  case DUCKDB_TYPE_VARCHAR: {
    duckdb_string_t *s = &((duckdb_string_t *)d)[row];
    add_n(b, duckdb_string_t_data(s), duckdb_string_t_length(*s));
    break;
  }
  case DUCKDB_TYPE_BLOB: {
    duckdb_string_t *s = &((duckdb_string_t *)d)[row];
    add_blob(b, (const unsigned char *)duckdb_string_t_data(s),
             duckdb_string_t_length(*s));
    break;
  }
  case DUCKDB_TYPE_DATE:
    add_date(b, ((duckdb_date *)d)[row]);
    break;
  case DUCKDB_TYPE_TIME:
    add_time(b, duckdb_from_time(((duckdb_time *)d)[row]));
    break;
  case DUCKDB_TYPE_TIME_TZ: {
    duckdb_time_tz_struct s = duckdb_from_time_tz(((duckdb_time_tz *)d)[row]);
    add_time(b, s.time);
    int off = s.offset;
    pk_sqlbuf_addf(b, "%c%02d", off < 0 ? '-' : '+', abs(off) / 3600);
    if (abs(off) % 3600)
      pk_sqlbuf_addf(b, ":%02d", abs(off) % 3600 / 60);
    break;
  }
  case DUCKDB_TYPE_TIMESTAMP:
    add_timestamp(b, ((int64_t *)d)[row], false);
    break;
  case DUCKDB_TYPE_TIMESTAMP_TZ:
    add_timestamp(b, ((int64_t *)d)[row], true);
    break;
  case DUCKDB_TYPE_TIMESTAMP_S:
    add_timestamp(b, ((int64_t *)d)[row] * 1000000, false);
    break;
  case DUCKDB_TYPE_TIMESTAMP_MS:
    add_timestamp(b, ((int64_t *)d)[row] * 1000, false);
    break;
  case DUCKDB_TYPE_TIMESTAMP_NS:
    add_timestamp(b, ((int64_t *)d)[row] / 1000, false);
    break;
  case DUCKDB_TYPE_INTERVAL:
    add_interval(b, ((duckdb_interval *)d)[row]);
    break;
  case DUCKDB_TYPE_UUID:
    add_uuid(b, ((duckdb_hugeint *)d)[row]);
    break;
  case DUCKDB_TYPE_ENUM: {
    uint64_t idx;
    switch (duckdb_enum_internal_type(t)) {
    case DUCKDB_TYPE_UTINYINT:
      idx = ((uint8_t *)d)[row];
      break;
    case DUCKDB_TYPE_USMALLINT:
      idx = ((uint16_t *)d)[row];
      break;
    default:
      idx = ((uint32_t *)d)[row];
      break;
    }
    char *s = duckdb_enum_dictionary_value(t, idx);
    pk_sqlbuf_add(b, s ? s : "?");
    duckdb_free(s);
    break;
  }
  case DUCKDB_TYPE_LIST:
  case DUCKDB_TYPE_MAP: {
    duckdb_list_entry le = ((duckdb_list_entry *)d)[row];
    duckdb_vector child = duckdb_list_vector_get_child(v);
    if (id == DUCKDB_TYPE_LIST) {
      duckdb_logical_type ct = duckdb_list_type_child_type(t);
      pk_sqlbuf_add(b, "[");
      for (uint64_t i = 0; i < le.length; i++) {
        if (i)
          pk_sqlbuf_add(b, ", ");
        add_elem(b, child, ct, le.offset + i);
      }
      pk_sqlbuf_add(b, "]");
      duckdb_destroy_logical_type(&ct);
    } else {
      duckdb_logical_type kt = duckdb_map_type_key_type(t);
      duckdb_logical_type vt = duckdb_map_type_value_type(t);
      duckdb_vector kv = duckdb_struct_vector_get_child(child, 0);
      duckdb_vector vv = duckdb_struct_vector_get_child(child, 1);
      pk_sqlbuf_add(b, "{");
      for (uint64_t i = 0; i < le.length; i++) {
        if (i)
          pk_sqlbuf_add(b, ", ");
        add_elem(b, kv, kt, le.offset + i);
        pk_sqlbuf_add(b, "=");
        add_elem(b, vv, vt, le.offset + i);
      }
      pk_sqlbuf_add(b, "}");
      duckdb_destroy_logical_type(&kt);
      duckdb_destroy_logical_type(&vt);
    }
    break;
  }
  case DUCKDB_TYPE_ARRAY: {
    uint64_t n = duckdb_array_type_array_size(t);
    duckdb_logical_type ct = duckdb_array_type_child_type(t);
    duckdb_vector child = duckdb_array_vector_get_child(v);
    pk_sqlbuf_add(b, "[");
    for (uint64_t i = 0; i < n; i++) {
      if (i)
        pk_sqlbuf_add(b, ", ");
      add_elem(b, child, ct, row * n + i);
    }
    pk_sqlbuf_add(b, "]");
    duckdb_destroy_logical_type(&ct);
    break;
  }
  case DUCKDB_TYPE_STRUCT: {
    uint64_t n = duckdb_struct_type_child_count(t);
    pk_sqlbuf_add(b, "{");
    for (uint64_t i = 0; i < n; i++) {
      char *name = duckdb_struct_type_child_name(t, i);
      duckdb_logical_type ct = duckdb_struct_type_child_type(t, i);
      pk_sqlbuf_add(b, i ? ", " : "");
      pk_sqlbuf_literal(b, name ? name : "");
      pk_sqlbuf_add(b, ": ");
      add_elem(b, duckdb_struct_vector_get_child(v, i), ct, row);
      duckdb_destroy_logical_type(&ct);
      duckdb_free(name);
    }
    pk_sqlbuf_add(b, "}");
    break;
  }
  default:
    pk_sqlbuf_addf(b, "<type %d>", (int)id);
    break;
  }
}

/* ---- the writer -------------------------------------------------------- */

enum kind { K_STRING, K_NUMBER, K_BOOL, K_FLOAT };

struct col {
  char *name;
  duckdb_logical_type type;
  enum kind kind;
};

struct pk_fmt_writer {
  pk_fmt_opts o;
  FILE *out;
  struct col *cols;
  size_t ncols;
  bool begun;
  uint64_t rows;
  /* table: the first max_rows rows, cells malloc'd, NULL for SQL NULL */
  char **cells;
  uint64_t kept;
  pk_sqlbuf cell;
  int err;
};

static enum kind kind_of(duckdb_type id) {
  switch (id) {
  case DUCKDB_TYPE_TINYINT:
  case DUCKDB_TYPE_SMALLINT:
  case DUCKDB_TYPE_INTEGER:
  case DUCKDB_TYPE_BIGINT:
  case DUCKDB_TYPE_UTINYINT:
  case DUCKDB_TYPE_USMALLINT:
  case DUCKDB_TYPE_UINTEGER:
  case DUCKDB_TYPE_UBIGINT:
  case DUCKDB_TYPE_HUGEINT:
  case DUCKDB_TYPE_UHUGEINT:
  case DUCKDB_TYPE_DECIMAL:
    return K_NUMBER;
  case DUCKDB_TYPE_FLOAT:
  case DUCKDB_TYPE_DOUBLE:
    return K_FLOAT;
  case DUCKDB_TYPE_BOOLEAN:
    return K_BOOL;
  default:
    return K_STRING;
  }
}

int pk_fmt_writer_create(const pk_fmt_opts *opts, FILE *out,
                         pk_fmt_writer **w) {
  if (!opts || !out || !w || opts->fmt == PK_FMT_PARQUET ||
      opts->fmt < PK_FMT_TABLE || opts->fmt > PK_FMT_PARQUET)
    return PK_EINVAL;
  pk_fmt_writer *x = calloc(1, sizeof *x);
  if (!x)
    return PK_ENOMEM;
  x->o = *opts;
  if (x->o.width <= 0)
    x->o.width = DEFAULT_WIDTH;
  if (!x->o.max_rows)
    x->o.max_rows = DEFAULT_MAX_ROWS;
  x->out = out;
  *w = x;
  return PK_OK;
}

void pk_fmt_writer_free(pk_fmt_writer *w) {
  if (!w)
    return;
  for (size_t i = 0; i < w->ncols; i++) {
    free(w->cols[i].name);
    duckdb_destroy_logical_type(&w->cols[i].type);
  }
  if (w->cells)
    for (uint64_t i = 0; i < w->kept * w->ncols; i++)
      free(w->cells[i]);
  free(w->cells);
  free(w->cols);
  pk_sqlbuf_free(&w->cell);
  free(w);
}

uint64_t pk_fmt_writer_rows(const pk_fmt_writer *w) {
  return w->rows;
}

static void put(pk_fmt_writer *w, const char *s) {
  fputs(s, w->out);
}

static void put_json_string(pk_fmt_writer *w, const char *s) {
  FILE *f = w->out;
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    switch (*p) {
    case '"':
      fputs("\\\"", f);
      break;
    case '\\':
      fputs("\\\\", f);
      break;
    case '\n':
      fputs("\\n", f);
      break;
    case '\r':
      fputs("\\r", f);
      break;
    case '\t':
      fputs("\\t", f);
      break;
    default:
      if (*p < 0x20 || *p == 0x7f)
        fprintf(f, "\\u%04x", *p);
      else
        fputc(*p, f);
    }
  }
  fputc('"', f);
}

static void put_csv(pk_fmt_writer *w, const char *s, bool is_null) {
  if (is_null)
    return;
  if (*s && !strpbrk(s, ",\"\r\n")) {
    put(w, s);
    return;
  }
  fputc('"', w->out);
  for (const char *p = s; *p; p++) {
    if (*p == '"')
      fputc('"', w->out);
    fputc(*p, w->out);
  }
  fputc('"', w->out);
}

static void put_md(pk_fmt_writer *w, const char *s) {
  for (const char *p = s; *p; p++) {
    if (*p == '|')
      fputs("\\|", w->out);
    else if (*p == '\n' || *p == '\r')
      fputc(' ', w->out);
    else
      fputc(*p, w->out);
  }
}

static int w_begin(void *arg, duckdb_result *res) {
  pk_fmt_writer *w = arg;
  w->begun = true;
  w->ncols = duckdb_column_count(res);
  w->cols = calloc(w->ncols ? w->ncols : 1, sizeof *w->cols);
  if (!w->cols)
    return PK_ENOMEM;
  for (size_t i = 0; i < w->ncols; i++) {
    const char *n = duckdb_column_name(res, i);
    w->cols[i].name = strdup(n ? n : "");
    w->cols[i].type = duckdb_column_logical_type(res, i);
    w->cols[i].kind = kind_of(duckdb_get_type_id(w->cols[i].type));
    if (!w->cols[i].name)
      return PK_ENOMEM;
  }
  switch (w->o.fmt) {
  case PK_FMT_CSV:
    for (size_t i = 0; i < w->ncols; i++) {
      if (i)
        put(w, ",");
      put_csv(w, w->cols[i].name, false);
    }
    put(w, "\n");
    break;
  case PK_FMT_JSON:
    put(w, "[");
    break;
  case PK_FMT_MARKDOWN:
    put(w, "|");
    for (size_t i = 0; i < w->ncols; i++) {
      put(w, " ");
      put_md(w, w->cols[i].name);
      put(w, " |");
    }
    put(w, "\n|");
    for (size_t i = 0; i < w->ncols; i++)
      put(w, w->cols[i].kind == K_STRING || w->cols[i].kind == K_BOOL
                 ? " --- |"
                 : " ---: |");
    put(w, "\n");
    break;
  case PK_FMT_TABLE:
    w->cells =
        calloc(w->o.max_rows * (w->ncols ? w->ncols : 1), sizeof(char *));
    if (!w->cells)
      return PK_ENOMEM;
    break;
  default:
    break;
  }
  return PK_OK;
}

/* The JSON form of a cell whose text is s. */
static void put_json_value(pk_fmt_writer *w, enum kind k, const char *s) {
  if (k == K_NUMBER || k == K_BOOL ||
      (k == K_FLOAT && strcmp(s, "nan") && strcmp(s, "inf") &&
       strcmp(s, "-inf")))
    put(w, s);
  else
    put_json_string(w, s);
}

static int w_chunk(void *arg, duckdb_data_chunk ch) {
  pk_fmt_writer *w = arg;
  uint64_t n = duckdb_data_chunk_get_size(ch);
  duckdb_vector vecs[256];
  duckdb_vector *v = w->ncols <= 256 ? vecs : malloc(w->ncols * sizeof *v);
  if (!v)
    return PK_ENOMEM;
  for (size_t i = 0; i < w->ncols; i++)
    v[i] = duckdb_data_chunk_get_vector(ch, i);
  for (uint64_t r = 0; r < n; r++, w->rows++) {
    bool keep = w->o.fmt == PK_FMT_TABLE && w->kept < w->o.max_rows;
    if (w->o.fmt == PK_FMT_TABLE && !keep)
      continue; /* only counted */
    if (w->o.fmt == PK_FMT_JSON)
      put(w, w->rows ? ",\n{" : "\n{");
    else if (w->o.fmt == PK_FMT_NDJSON)
      put(w, "{");
    else if (w->o.fmt == PK_FMT_MARKDOWN)
      put(w, "|");
    for (size_t i = 0; i < w->ncols; i++) {
      bool is_null = !valid_at(v[i], r);
      w->cell.len = 0;
      if (w->cell.s)
        w->cell.s[0] = '\0';
      if (!is_null)
        pk_fmt_value(&w->cell, v[i], w->cols[i].type, r);
      if (w->cell.err) {
        if (v != vecs)
          free(v);
        return w->cell.err;
      }
      const char *s = w->cell.s ? w->cell.s : "";
      switch (w->o.fmt) {
      case PK_FMT_CSV:
        if (i)
          put(w, ",");
        put_csv(w, s, is_null);
        break;
      case PK_FMT_JSON:
      case PK_FMT_NDJSON:
        if (i)
          put(w, ",");
        put_json_string(w, w->cols[i].name);
        put(w, ":");
        if (is_null)
          put(w, "null");
        else
          put_json_value(w, w->cols[i].kind, s);
        break;
      case PK_FMT_MARKDOWN:
        put(w, " ");
        if (!is_null)
          put_md(w, s);
        put(w, " |");
        break;
      case PK_FMT_TABLE: {
        char *c = NULL;
        if (!is_null) {
          c = strdup(s);
          if (!c) {
            if (v != vecs)
              free(v);
            return PK_ENOMEM;
          }
          for (char *p = c; *p; p++)
            if (*p == '\n' || *p == '\r' || *p == '\t')
              *p = ' ';
        }
        w->cells[w->kept * w->ncols + i] = c;
        break;
      }
      default:
        break;
      }
    }
    if (keep)
      w->kept++;
    else if (w->o.fmt == PK_FMT_JSON)
      put(w, "}");
    else if (w->o.fmt != PK_FMT_TABLE)
      put(w, w->o.fmt == PK_FMT_NDJSON ? "}\n" : "\n");
  }
  if (v != vecs)
    free(v);
  return ferror(w->out) ? PK_EIO : PK_OK;
}

pk_db_sink pk_fmt_writer_sink(pk_fmt_writer *w) {
  return (pk_db_sink){.begin = w_begin, .chunk = w_chunk, .arg = w};
}

/* ---- the table format ---------------------------------------------------- */

/* Display width: code points (wide characters count as one). */
static size_t dwidth(const char *s) {
  size_t n = 0;
  for (; *s; s++)
    n += ((unsigned char)*s & 0xC0) != 0x80;
  return n;
}

/* Writes s in a field of width cols: truncated with an ellipsis, padded
 * left (right-aligned) or right. */
static void put_cell(pk_fmt_writer *w, const char *s, size_t cols, bool right,
                     bool last) {
  size_t n = dwidth(s);
  if (n > cols) {
    size_t keep = cols ? cols - 1 : 0, seen = 0;
    const char *p = s;
    for (; *p; p++) {
      if (((unsigned char)*p & 0xC0) != 0x80 && seen++ == keep)
        break;
    }
    fwrite(s, 1, (size_t)(p - s), w->out);
    if (cols)
      put(w, "…");
    return;
  }
  if (right)
    fprintf(w->out, "%*s", (int)(cols - n), "");
  put(w, s);
  if (!right && !last)
    fprintf(w->out, "%*s", (int)(cols - n), "");
}

static size_t fitted(const size_t *nat, size_t n, size_t cap) {
  size_t sum = n ? 3 * (n - 1) : 0;
  for (size_t i = 0; i < n; i++)
    sum += nat[i] < cap ? nat[i] : cap;
  return sum;
}

static void render_table(pk_fmt_writer *w) {
  size_t nc = w->ncols, width = (size_t)w->o.width;
  size_t *nat = calloc(nc ? nc : 1, sizeof *nat);
  if (!nat) {
    w->err = PK_ENOMEM;
    return;
  }
  for (size_t i = 0; i < nc; i++) {
    nat[i] = dwidth(w->cols[i].name);
    for (uint64_t r = 0; r < w->kept; r++) {
      const char *c = w->cells[r * nc + i];
      size_t d = dwidth(c ? c : "NULL");
      if (d > nat[i])
        nat[i] = d;
    }
    if (nat[i] == 0)
      nat[i] = 1;
  }
  /* Columns shown: as many as fit at the minimum width. */
  size_t shown = nc;
  while (shown > 1 && fitted(nat, shown, MIN_COL) > width)
    shown--;
  /* The largest cap on column width that fits (binary search). */
  size_t lo = MIN_COL, hi = width > MIN_COL ? width : MIN_COL;
  while (lo < hi) {
    size_t mid = (lo + hi + 1) / 2;
    if (fitted(nat, shown, mid) <= width)
      lo = mid;
    else
      hi = mid - 1;
  }
  for (size_t i = 0; i < shown; i++)
    if (nat[i] > lo)
      nat[i] = lo;
  for (size_t i = 0; i < shown; i++) {
    put(w, i ? " │ " : "");
    put_cell(w, w->cols[i].name, nat[i],
             w->cols[i].kind != K_STRING && w->cols[i].kind != K_BOOL,
             i + 1 == shown);
  }
  put(w, "\n");
  for (size_t i = 0; i < shown; i++) {
    put(w, i ? "─┼─" : "");
    for (size_t k = 0; k < nat[i]; k++)
      put(w, "─");
  }
  put(w, "\n");
  for (uint64_t r = 0; r < w->kept; r++) {
    for (size_t i = 0; i < shown; i++) {
      const char *c = w->cells[r * nc + i];
      put(w, i ? " │ " : "");
      put_cell(w, c ? c : "NULL", nat[i],
               w->cols[i].kind != K_STRING && w->cols[i].kind != K_BOOL,
               i + 1 == shown);
    }
    put(w, "\n");
  }
  if (w->rows > w->kept)
    fprintf(w->out, "... %llu more rows not shown\n",
            (unsigned long long)(w->rows - w->kept));
  fprintf(w->out, "(%llu row%s", (unsigned long long)w->rows,
          w->rows == 1 ? "" : "s");
  if (shown < nc) {
    fprintf(w->out, "; %zu more column%s not shown:", nc - shown,
            nc - shown == 1 ? "" : "s");
    for (size_t i = shown; i < nc && i < shown + 8; i++)
      fprintf(w->out, "%s %s", i > shown ? "," : "", w->cols[i].name);
    if (nc - shown > 8)
      put(w, ", …");
  }
  put(w, ")\n");
  free(nat);
}

int pk_fmt_writer_finish(pk_fmt_writer *w, pk_errmsg *e) {
  if (!w->begun)
    return pk_errmsg_set(e, PK_EINVAL, "the statement returned no result");
  switch (w->o.fmt) {
  case PK_FMT_JSON:
    put(w, w->rows ? "\n]\n" : "]\n");
    break;
  case PK_FMT_TABLE:
    render_table(w);
    break;
  default:
    break;
  }
  if (w->err)
    return pk_errmsg_set(e, w->err, "%s", pk_strerror(w->err));
  if (fflush(w->out) != 0 || ferror(w->out))
    return pk_errmsg_set(e, errno == ENOSPC ? PK_ENOSPC : PK_EIO,
                         "cannot write the result: %s", strerror(errno));
  return PK_OK;
}

int pk_fmt_copy_sql(pk_db_conn *c, const char *sql, const char *path,
                    pk_sqlbuf *out, pk_errmsg *e) {
  duckdb_extracted_statements ex = NULL;
  idx_t n = duckdb_extract_statements(pk_db_conn_duckdb(c), sql, &ex);
  const char *msg = n ? NULL : duckdb_extract_statements_error(ex);
  int err = PK_OK;
  if (n != 1)
    err = pk_errmsg_set(e, PK_EINVAL, "%s",
                        msg ? msg
                        : n ? "parquet output takes a single statement"
                            : "no SQL statement to run");
  duckdb_destroy_extracted(&ex);
  if (err)
    return err;
  size_t len = strlen(sql);
  while (len &&
         (sql[len - 1] == ';' || sql[len - 1] == ' ' || sql[len - 1] == '\n' ||
          sql[len - 1] == '\t' || sql[len - 1] == '\r'))
    len--;
  pk_sqlbuf_add(out, "COPY (");
  add_n(out, sql, len);
  pk_sqlbuf_add(out, "\n) TO ");
  pk_sqlbuf_literal(out, path);
  pk_sqlbuf_add(out, " (FORMAT parquet)");
  if (out->err)
    return pk_errmsg_set(e, out->err, "out of memory");
  return PK_OK;
}

int pk_fmt_run(pk_db_conn *c, const char *sql, const pk_fmt_opts *opts,
               FILE *out, uint64_t *rows, pk_errmsg *e) {
  pk_fmt_writer *w = NULL;
  int err = pk_fmt_writer_create(opts, out, &w);
  if (err)
    return pk_errmsg_set(e, err, "cannot write %s: %s",
                         opts ? pk_fmt_name(opts->fmt) : "?", pk_strerror(err));
  pk_db_sink sink = pk_fmt_writer_sink(w);
  err = pk_db_exec(c, sql, &sink, e);
  if (!err)
    err = pk_fmt_writer_finish(w, e);
  if (rows)
    *rows = pk_fmt_writer_rows(w);
  pk_fmt_writer_free(w);
  return err;
}
