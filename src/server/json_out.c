/* json_out.c — see json_out.h. */
#include "server/json_out.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/format_out.h"

json_t *pk_json_double(double d) {
  if (isnan(d))
    return json_string("NaN");
  if (isinf(d))
    return json_string(d > 0 ? "inf" : "-inf");
  return json_real(d);
}

static json_t *json_i64(int64_t v) {
  const int64_t lim = (int64_t)1 << 53;
  if (v > lim || v < -lim) {
    char b[32];
    snprintf(b, sizeof b, "%lld", (long long)v);
    return json_string(b);
  }
  return json_integer((json_int_t)v);
}

static json_t *json_u64(uint64_t v) {
  if (v > ((uint64_t)1 << 53)) {
    char b[32];
    snprintf(b, sizeof b, "%llu", (unsigned long long)v);
    return json_string(b);
  }
  return json_integer((json_int_t)v);
}

char *pk_base64(const unsigned char *p, size_t n) {
  static const char a[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  char *o = malloc((n + 2) / 3 * 4 + 1), *q = o;
  if (!o)
    return NULL;
  size_t i = 0;
  for (; i + 2 < n; i += 3) {
    unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
    *q++ = a[v >> 18];
    *q++ = a[(v >> 12) & 63];
    *q++ = a[(v >> 6) & 63];
    *q++ = a[v & 63];
  }
  if (i < n) {
    unsigned v =
        (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0);
    *q++ = a[v >> 18];
    *q++ = a[(v >> 12) & 63];
    *q++ = i + 1 < n ? a[(v >> 6) & 63] : '=';
    *q++ = '=';
  }
  *q = '\0';
  return o;
}

/* format_out's text of the value, as a JSON string (or, with as_number, a
 * number parsed from it). */
static json_t *text_value(duckdb_vector v, duckdb_logical_type t, uint64_t row,
                          int mode) {
  pk_sqlbuf b = {0};
  pk_fmt_value(&b, v, t, row);
  if (b.err || !b.s) {
    pk_sqlbuf_free(&b);
    return json_string("");
  }
  json_t *j;
  if (mode == 1) { /* a number */
    char *end;
    double d = strtod(b.s, &end);
    j = *end ? json_string(b.s) : pk_json_double(d);
  } else {
    if (mode == 2) { /* ISO 8601: a 'T' between date and time */
      char *sp = strchr(b.s, ' ');
      if (sp && sp > b.s && sp[-1] >= '0' && sp[-1] <= '9')
        *sp = 'T';
    }
    j = json_string(b.s);
  }
  pk_sqlbuf_free(&b);
  return j ? j : json_string("");
}

json_t *pk_json_value(duckdb_vector v, duckdb_logical_type t, uint64_t row) {
  uint64_t *valid = duckdb_vector_get_validity(v);
  if (valid && !duckdb_validity_row_is_valid(valid, row))
    return json_null();
  void *d = duckdb_vector_get_data(v);
  switch (duckdb_get_type_id(t)) {
  case DUCKDB_TYPE_BOOLEAN:
    return json_boolean(((bool *)d)[row]);
  case DUCKDB_TYPE_TINYINT:
    return json_integer(((int8_t *)d)[row]);
  case DUCKDB_TYPE_SMALLINT:
    return json_integer(((int16_t *)d)[row]);
  case DUCKDB_TYPE_INTEGER:
    return json_integer(((int32_t *)d)[row]);
  case DUCKDB_TYPE_BIGINT:
    return json_i64(((int64_t *)d)[row]);
  case DUCKDB_TYPE_UTINYINT:
    return json_integer(((uint8_t *)d)[row]);
  case DUCKDB_TYPE_USMALLINT:
    return json_integer(((uint16_t *)d)[row]);
  case DUCKDB_TYPE_UINTEGER:
    return json_integer(((uint32_t *)d)[row]);
  case DUCKDB_TYPE_UBIGINT:
    return json_u64(((uint64_t *)d)[row]);
  case DUCKDB_TYPE_FLOAT:
    return pk_json_double(((float *)d)[row]);
  case DUCKDB_TYPE_DOUBLE:
    return pk_json_double(((double *)d)[row]);
  case DUCKDB_TYPE_DECIMAL:
    return text_value(v, t, row, 1);
  case DUCKDB_TYPE_DATE:
  case DUCKDB_TYPE_TIME:
  case DUCKDB_TYPE_TIMESTAMP:
  case DUCKDB_TYPE_TIMESTAMP_S:
  case DUCKDB_TYPE_TIMESTAMP_MS:
  case DUCKDB_TYPE_TIMESTAMP_NS:
  case DUCKDB_TYPE_TIMESTAMP_TZ:
  case DUCKDB_TYPE_TIME_TZ:
    return text_value(v, t, row, 2);
  case DUCKDB_TYPE_VARCHAR: {
    duckdb_string_t *s = &((duckdb_string_t *)d)[row];
    return json_stringn(duckdb_string_t_data(s), duckdb_string_t_length(*s));
  }
  case DUCKDB_TYPE_BLOB: {
    duckdb_string_t *s = &((duckdb_string_t *)d)[row];
    char *b64 = pk_base64((const unsigned char *)duckdb_string_t_data(s),
                          duckdb_string_t_length(*s));
    json_t *j = b64 ? json_string(b64) : json_null();
    free(b64);
    return j;
  }
  default: /* HUGEINT as a string too: it may exceed 2^53 */
    return text_value(v, t, row, 0);
  }
}

json_t *pk_json_type_name(duckdb_logical_type t) {
  char *s = duckdb_logical_type_get_alias(t);
  if (!s) {
    /* DuckDB's own spelling through a tiny VALUE round trip is not in the
     * C API; build the common names here. */
    static const struct {
      duckdb_type id;
      const char *name;
    } names[] = {
        {DUCKDB_TYPE_BOOLEAN, "BOOLEAN"},
        {DUCKDB_TYPE_TINYINT, "TINYINT"},
        {DUCKDB_TYPE_SMALLINT, "SMALLINT"},
        {DUCKDB_TYPE_INTEGER, "INTEGER"},
        {DUCKDB_TYPE_BIGINT, "BIGINT"},
        {DUCKDB_TYPE_UTINYINT, "UTINYINT"},
        {DUCKDB_TYPE_USMALLINT, "USMALLINT"},
        {DUCKDB_TYPE_UINTEGER, "UINTEGER"},
        {DUCKDB_TYPE_UBIGINT, "UBIGINT"},
        {DUCKDB_TYPE_FLOAT, "FLOAT"},
        {DUCKDB_TYPE_DOUBLE, "DOUBLE"},
        {DUCKDB_TYPE_TIMESTAMP, "TIMESTAMP"},
        {DUCKDB_TYPE_DATE, "DATE"},
        {DUCKDB_TYPE_TIME, "TIME"},
        {DUCKDB_TYPE_INTERVAL, "INTERVAL"},
        {DUCKDB_TYPE_HUGEINT, "HUGEINT"},
        {DUCKDB_TYPE_UHUGEINT, "UHUGEINT"},
        {DUCKDB_TYPE_VARCHAR, "VARCHAR"},
        {DUCKDB_TYPE_BLOB, "BLOB"},
        {DUCKDB_TYPE_TIMESTAMP_S, "TIMESTAMP_S"},
        {DUCKDB_TYPE_TIMESTAMP_MS, "TIMESTAMP_MS"},
        {DUCKDB_TYPE_TIMESTAMP_NS, "TIMESTAMP_NS"},
        {DUCKDB_TYPE_ENUM, "ENUM"},
        {DUCKDB_TYPE_LIST, "LIST"},
        {DUCKDB_TYPE_STRUCT, "STRUCT"},
        {DUCKDB_TYPE_MAP, "MAP"},
        {DUCKDB_TYPE_ARRAY, "ARRAY"},
        {DUCKDB_TYPE_UUID, "UUID"},
        {DUCKDB_TYPE_UNION, "UNION"},
        {DUCKDB_TYPE_BIT, "BIT"},
        {DUCKDB_TYPE_TIME_TZ, "TIME WITH TIME ZONE"},
        {DUCKDB_TYPE_TIMESTAMP_TZ, "TIMESTAMP WITH TIME ZONE"},
        {DUCKDB_TYPE_SQLNULL, "NULL"},
    };
    duckdb_type id = duckdb_get_type_id(t);
    if (id == DUCKDB_TYPE_DECIMAL) {
      char b[32];
      snprintf(b, sizeof b, "DECIMAL(%u,%u)", duckdb_decimal_width(t),
               duckdb_decimal_scale(t));
      return json_string(b);
    }
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
      if (names[i].id == id)
        return json_string(names[i].name);
    return json_string("UNKNOWN");
  }
  json_t *j = json_string(s);
  duckdb_free(s);
  return j;
}

void pk_jrows_init(pk_jrows *r, uint64_t max_rows, size_t max_bytes) {
  memset(r, 0, sizeof *r);
  r->max_rows = max_rows;
  r->max_bytes = max_bytes;
}

static int jrows_begin(void *arg, duckdb_result *res) {
  pk_jrows *r = arg;
  json_decref(r->columns);
  r->columns = json_array();
  if (!r->columns)
    return r->err = PK_ENOMEM;
  idx_t n = duckdb_column_count(res);
  for (idx_t i = 0; i < n; i++) {
    duckdb_logical_type t = duckdb_column_logical_type(res, i);
    json_t *c = json_pack("{s:s, s:o}", "name", duckdb_column_name(res, i),
                          "type", pk_json_type_name(t));
    duckdb_destroy_logical_type(&t);
    if (!c || json_array_append_new(r->columns, c))
      return r->err = PK_ENOMEM;
  }
  return PK_OK;
}

static int jrows_chunk(void *arg, duckdb_data_chunk chunk) {
  pk_jrows *r = arg;
  idx_t n = duckdb_data_chunk_get_size(chunk);
  idx_t nc = duckdb_data_chunk_get_column_count(chunk);
  bool keep = !r->truncated;
  for (idx_t row = 0; row < n; row++) {
    r->total_rows++;
    if (!keep || (r->max_rows && r->nrows >= r->max_rows) ||
        (r->max_bytes && r->bytes >= r->max_bytes)) {
      r->truncated = true;
      keep = false;
      continue;
    }
    json_t *a = json_array();
    if (!a)
      return r->err = PK_ENOMEM;
    for (idx_t c = 0; c < nc; c++) {
      duckdb_vector v = duckdb_data_chunk_get_vector(chunk, c);
      duckdb_logical_type t = duckdb_vector_get_column_type(v);
      json_array_append_new(a, pk_json_value(v, t, row));
      duckdb_destroy_logical_type(&t);
    }
    char *s = json_dumps(a, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(a);
    if (!s)
      return r->err = PK_ENOMEM;
    if (r->nrows == r->cap) {
      size_t nc2 = r->cap ? r->cap * 2 : 256;
      char **g = realloc(r->rows, nc2 * sizeof *g);
      if (!g) {
        free(s);
        return r->err = PK_ENOMEM;
      }
      r->rows = g;
      r->cap = nc2;
    }
    r->rows[r->nrows++] = s;
    r->bytes += strlen(s) + 1 + sizeof(char *);
  }
  return PK_OK;
}

pk_db_sink pk_jrows_sink(pk_jrows *r) {
  return (pk_db_sink){jrows_begin, jrows_chunk, r};
}

void pk_jrows_release(pk_jrows *r) {
  if (!r)
    return;
  for (size_t i = 0; i < r->nrows; i++)
    free(r->rows[i]);
  free(r->rows);
  json_decref(r->columns);
  r->rows = NULL;
  r->columns = NULL;
  r->nrows = r->cap = 0;
}

void pk_jrows_take(pk_jrows *r, char ***rows, size_t *n) {
  *rows = r->rows;
  *n = r->nrows;
  r->rows = NULL;
  r->nrows = r->cap = 0;
}

char *pk_jrows_join(char *const *rows, size_t from, size_t n) {
  size_t len = 2;
  for (size_t i = 0; i < n; i++)
    len += strlen(rows[from + i]) + 1;
  char *o = malloc(len + 1), *p = o;
  if (!o)
    return NULL;
  *p++ = '[';
  for (size_t i = 0; i < n; i++) {
    if (i)
      *p++ = ',';
    size_t l = strlen(rows[from + i]);
    memcpy(p, rows[from + i], l);
    p += l;
  }
  *p++ = ']';
  *p = '\0';
  return o;
}
