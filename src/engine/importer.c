/* importer.c — files into workspace tables; see importer.h. */
#include "engine/importer.h"

#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "base/clock.h"

/* Temp tables for DuckDB's rejects, named so that they never meet a user's
 * table and cleared before each import (they accumulate per connection). */
#define REJECTS "pk_reject_errors"
#define REJECT_SCANS "pk_reject_scans"

enum kind { K_CSV, K_PARQUET, K_JSON };
static const char *const kind_names[] = {"csv", "parquet", "json"};
/* DuckDB's table function for each kind. */
static const char *const reader_fn[] = {"read_csv", "read_parquet",
                                        "read_json_auto"};

static bool ends_with(const char *s, size_t n, const char *suffix) {
  size_t k = strlen(suffix);
  return n >= k && strncasecmp(s + n - k, suffix, k) == 0;
}

/* read_csv's buffer. DuckDB's default (16 x max_line_size = 32 MiB) keeps
 * several such buffers in flight per thread, and memory touched for the
 * first time costs a page fault and a zeroed page: a count(*) over the
 * 10M-row CSV of bench/engine.sh peaked at 171 MiB with 35k page faults,
 * against 52-79 MiB and 16k faults with 1-8 MiB buffers, and took 1.3 s
 * against 0.8 s. docs/ENGINE.md has the figures. It stays above
 * max_line_size (2 MiB), the longest line DuckDB reads by default. */
#define PK_CSV_BUFFER (8u << 20)

static void add_buffer_size(pk_sqlbuf *b) {
  pk_sqlbuf_addf(b, ", buffer_size = %u", PK_CSV_BUFFER);
}

static enum kind kind_of(const char *path) {
  size_t n = strlen(path);
  if (ends_with(path, n, ".gz"))
    n -= 3;
  else if (ends_with(path, n, ".zst"))
    n -= 4;
  if (ends_with(path, n, ".parquet") || ends_with(path, n, ".pq"))
    return K_PARQUET;
  if (ends_with(path, n, ".json") || ends_with(path, n, ".ndjson") ||
      ends_with(path, n, ".jsonl"))
    return K_JSON;
  return K_CSV;
}

const char *pk_import_format_of(const char *name) {
  return kind_names[kind_of(name)];
}

const char *pk_import_compression_of(const char *name) {
  size_t n = strlen(name);
  return ends_with(name, n, ".gz")    ? "gzip"
         : ends_with(name, n, ".zst") ? "zstd"
                                      : NULL;
}

/* ", compression = '...'" when o names the sources' compression. */
static void add_compression(pk_sqlbuf *b, const pk_import_opts *o) {
  if (o->compression) {
    pk_sqlbuf_add(b, ", compression = ");
    pk_sqlbuf_literal(b, o->compression);
  }
}

void pk_import_reader(pk_sqlbuf *b, const char *path) {
  enum kind k = kind_of(path);
  pk_sqlbuf_addf(b, "%s(", reader_fn[k]);
  pk_sqlbuf_literal(b, path);
  if (k == K_CSV)
    add_buffer_size(b);
  pk_sqlbuf_add(b, ")");
}

void pk_import_sniff(pk_sqlbuf *b, const char *path) {
  pk_sqlbuf_add(b, "sniff_csv(");
  pk_sqlbuf_literal(b, path);
  add_buffer_size(b);
  pk_sqlbuf_add(b, ")");
}

static int kind_named(const char *format, enum kind *k) {
  for (int i = 0; i < 3; i++)
    if (!strcmp(format, kind_names[i])) {
      *k = (enum kind)i;
      return PK_OK;
    }
  return PK_EINVAL;
}

void pk_import_table_name(const char *source, char *buf, size_t cap) {
  if (cap == 0)
    return;
  const char *base = strrchr(source, '/');
  base = base ? base + 1 : source;
  size_t n = strlen(base);
  /* Drop an archive's suffix, the compression suffix, then one format
   * extension. */
  if (ends_with(base, n, ".adapipe"))
    n -= 8;
  if (ends_with(base, n, ".gz"))
    n -= 3;
  else if (ends_with(base, n, ".zst"))
    n -= 4;
  const char *dot = NULL;
  for (size_t i = 0; i < n; i++)
    if (base[i] == '.')
      dot = base + i;
  if (dot && dot != base)
    n = (size_t)(dot - base);
  size_t o = 0;
  if (n && isdigit((unsigned char)base[0]) && cap > 3) {
    memcpy(buf, "t_", 2);
    o = 2;
  }
  for (size_t i = 0; i < n && o + 1 < cap; i++) {
    unsigned char ch = (unsigned char)base[i];
    buf[o++] = (char)(isalnum(ch) || ch == '_' ? ch : '_');
  }
  while (o > 0 && buf[o - 1] == '_') /* "sales_*" -> "sales" */
    o--;
  buf[o] = '\0';
  if (o == 0)
    snprintf(buf, cap, "data");
}

/* An integer column whose name says it holds a code, not a quantity. */
static bool code_name(const char *name, const char *type) {
  static const char *const ints[] = {"TINYINT",   "SMALLINT", "INTEGER",
                                     "BIGINT",    "HUGEINT",  "UTINYINT",
                                     "USMALLINT", "UINTEGER", "UBIGINT"};
  bool is_int = false;
  for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
    is_int |= !strcmp(type, ints[i]);
  if (!is_int)
    return false;
  char low[128];
  size_t n = 0;
  for (; name[n] && n + 1 < sizeof low; n++)
    low[n] = (char)tolower((unsigned char)name[n]);
  low[n] = '\0';
  return strstr(low, "zip") || strstr(low, "postal") ||
         strstr(low, "postcode") || strstr(low, "fips") ||
         !strcmp(low, "code") || ends_with(low, n, "_code");
}

static bool has_glob(const char *s) {
  return strpbrk(s, "*?[") != NULL;
}

struct files {
  char **v;
  size_t n;
};

static void files_free(struct files *f) {
  for (size_t i = 0; i < f->n; i++)
    free(f->v[i]);
  free(f->v);
  f->v = NULL;
  f->n = 0;
}

static int files_add(struct files *f, const char *path) {
  char **v = realloc(f->v, (f->n + 1) * sizeof *v);
  if (!v)
    return PK_ENOMEM;
  f->v = v;
  if (!(v[f->n] = strdup(path)))
    return PK_ENOMEM;
  f->n++;
  return PK_OK;
}

/* Checks every source exists (a pattern matches something) and that all
 * are of one kind; fills files with the paths, patterns expanded. */
static int check_sources(const pk_import_opts *o, enum kind *kind,
                         struct files *files, pk_errmsg *e) {
  for (size_t i = 0; i < o->nsources; i++) {
    const char *s = o->sources[i];
    if (has_glob(s)) {
      glob_t g;
      int rc = glob(s, 0, NULL, &g);
      size_t n = rc == 0 ? g.gl_pathc : 0;
      int err = PK_OK;
      for (size_t k = 0; k < n && !err; k++)
        err = files_add(files, g.gl_pathv[k]);
      globfree(&g);
      if (err)
        return pk_errmsg_set(e, err, "out of memory");
      if (n == 0)
        return pk_errmsg_set(e, PK_ENOENT, "no files match '%s'", s);
    } else {
      struct stat st;
      if (stat(s, &st) != 0)
        return pk_errmsg_set(e, PK_ENOENT, "cannot open '%s': %s", s,
                             strerror(errno));
      if (S_ISDIR(st.st_mode))
        return pk_errmsg_set(e, PK_EINVAL,
                             "'%s' is a directory (use a pattern such as "
                             "'%s/*.csv')",
                             s, s);
      if (files_add(files, s))
        return pk_errmsg_set(e, PK_ENOMEM, "out of memory");
    }
    enum kind k = kind_of(s);
    if (o->format && kind_named(o->format, &k))
      return pk_errmsg_set(e, PK_EINVAL, "unknown format '%s'", o->format);
    if (i == 0)
      *kind = k;
    else if (k != *kind)
      return pk_errmsg_set(e, PK_EINVAL,
                           "'%s' is %s but '%s' is %s: one import reads one "
                           "kind of file",
                           o->sources[0], kind_names[*kind], s, kind_names[k]);
  }
  return PK_OK;
}

static bool csv_options_given(const pk_import_opts *o) {
  return o->delimiter || o->quote || o->escape || o->header >= 0 ||
         o->skip >= 0 || o->nnulls || o->ntypes || o->date_format;
}

/* Appends "'a', 'b'" for the sources, in brackets when there are several. */
static void add_sources(pk_sqlbuf *b, const pk_import_opts *o) {
  if (o->nsources > 1)
    pk_sqlbuf_add(b, "[");
  for (size_t i = 0; i < o->nsources; i++) {
    if (i)
      pk_sqlbuf_add(b, ", ");
    pk_sqlbuf_literal(b, o->sources[i]);
  }
  if (o->nsources > 1)
    pk_sqlbuf_add(b, "]");
}

/* The read_csv options that describe the file (not rejects, not types). */
static int add_csv_options(pk_sqlbuf *b, const pk_import_opts *o,
                           pk_errmsg *e) {
  add_buffer_size(b);
  add_compression(b, o);
  if (o->delimiter) {
    const char *d = o->delimiter;
    if (!strcmp(d, "\\t") || !strcasecmp(d, "tab"))
      d = "\t";
    if (strlen(d) != 1)
      return pk_errmsg_set(e, PK_EINVAL,
                           "--delimiter takes one character, not '%s'",
                           o->delimiter);
    pk_sqlbuf_add(b, ", delim = ");
    pk_sqlbuf_literal(b, d);
  }
  if (o->quote) {
    pk_sqlbuf_add(b, ", quote = ");
    pk_sqlbuf_literal(b, o->quote);
  }
  if (o->escape) {
    pk_sqlbuf_add(b, ", escape = ");
    pk_sqlbuf_literal(b, o->escape);
  }
  if (o->header >= 0)
    pk_sqlbuf_add(b, o->header ? ", header = true" : ", header = false");
  if (o->skip >= 0)
    pk_sqlbuf_addf(b, ", skip = %lld", (long long)o->skip);
  if (o->nnulls) {
    pk_sqlbuf_add(b, ", nullstr = [");
    for (size_t i = 0; i < o->nnulls; i++) {
      if (i)
        pk_sqlbuf_add(b, ", ");
      pk_sqlbuf_literal(b, o->nulls[i]);
    }
    pk_sqlbuf_add(b, "]");
  }
  if (o->date_format) {
    pk_sqlbuf_add(b, ", dateformat = ");
    pk_sqlbuf_literal(b, o->date_format);
  }
  return PK_OK;
}

/* Whether user type override t ("COL=TYPE") names column name. */
static bool names_col(const char *t, const char *name) {
  const char *eq = strchr(t, '=');
  size_t n = eq ? (size_t)(eq - t) : 0;
  return n == strlen(name) && !strncasecmp(t, name, n);
}

/* DESCRIBEs one file's reader (options, no types) and appends to types the
 * overrides for its columns: the user's --type where it names one, VARCHAR
 * for integer columns with code-like names (recorded in text_cols). Marks
 * the user's overrides that matched in used[]. */
static int file_types(pk_db_conn *c, const char *reader,
                      const pk_import_opts *o, pk_sqlbuf *types, bool *used,
                      char *text_cols, size_t cap, pk_errmsg *e) {
  pk_sqlbuf q = {0};
  pk_sqlbuf_addf(&q, "DESCRIBE SELECT * FROM %s)", reader);
  if (q.err)
    return pk_errmsg_set(e, PK_ENOMEM, "out of memory");
  duckdb_result res;
  int err = PK_OK;
  if (duckdb_query(pk_db_conn_duckdb(c), q.s, &res) != DuckDBSuccess) {
    const char *msg = duckdb_result_error(&res);
    duckdb_error_type t = duckdb_result_error_type(&res);
    int code = t == DUCKDB_ERROR_INTERRUPT ? PK_EINTERRUPTED
               : t == DUCKDB_ERROR_IO      ? PK_EIO
                                           : PK_EINVAL;
    err = pk_errmsg_set(e, code, "%s", msg ? msg : "cannot read the file");
  } else {
    for (idx_t r = 0; r < duckdb_row_count(&res); r++) {
      char *name = duckdb_value_varchar(&res, 0, r);
      char *type = duckdb_value_varchar(&res, 1, r);
      size_t typed = o->ntypes;
      for (size_t i = 0; name && i < o->ntypes; i++)
        if (names_col(o->types[i], name))
          typed = i;
      if (name && typed < o->ntypes) {
        const char *eq = strchr(o->types[typed], '=');
        used[typed] = true;
        pk_sqlbuf_literal(types, name);
        pk_sqlbuf_add(types, ": ");
        pk_sqlbuf_literal(types, eq + 1);
        pk_sqlbuf_add(types, ", ");
      } else if (name && type && code_name(name, type)) {
        pk_sqlbuf_literal(types, name);
        pk_sqlbuf_add(types, ": 'VARCHAR', ");
        size_t len = strlen(text_cols);
        if (!strstr(text_cols, name))
          snprintf(text_cols + len, cap - len, "%s%s", len ? ", " : "", name);
      }
      duckdb_free(name);
      duckdb_free(type);
    }
  }
  duckdb_destroy_result(&res);
  pk_sqlbuf_free(&q);
  return err;
}

/* Strict reading must not let a bad row change the detected dialect: the
 * sniffer, when a row has too many columns, falls back to reading each line
 * as one text column. So the dialect comes from a sniff that skips bad rows,
 * and the strict read gets it explicitly (the user's own options win). */
static int strict_dialect(pk_db_conn *c, const char *file,
                          const pk_import_opts *o, pk_sqlbuf *rd,
                          pk_errmsg *e) {
  pk_sqlbuf q = {0};
  pk_sqlbuf_add(&q, "SELECT Delimiter, Quote, HasHeader::VARCHAR FROM "
                    "sniff_csv(");
  pk_sqlbuf_literal(&q, file);
  int err = add_csv_options(&q, o, e);
  pk_sqlbuf_add(&q, ", ignore_errors = true)");
  if (!err && q.err)
    err = pk_errmsg_set(e, PK_ENOMEM, "out of memory");
  duckdb_result res;
  if (!err && duckdb_query(pk_db_conn_duckdb(c), q.s, &res) != DuckDBSuccess) {
    const char *msg = duckdb_result_error(&res);
    err = pk_errmsg_set(e, PK_EINVAL, "%s", msg ? msg : "cannot sniff");
    duckdb_destroy_result(&res);
  } else if (!err) {
    char *d = duckdb_value_varchar(&res, 0, 0);
    char *qu = duckdb_value_varchar(&res, 1, 0);
    char *h = duckdb_value_varchar(&res, 2, 0);
    if (!o->delimiter && d && strlen(d) == 1) {
      pk_sqlbuf_add(rd, ", delim = ");
      pk_sqlbuf_literal(rd, d);
    }
    if (!o->quote && qu && strlen(qu) == 1) {
      pk_sqlbuf_add(rd, ", quote = ");
      pk_sqlbuf_literal(rd, qu);
    }
    if (o->header < 0 && h)
      pk_sqlbuf_add(rd, !strcmp(h, "true") ? ", header = true"
                                           : ", header = false");
    duckdb_free(d);
    duckdb_free(qu);
    duckdb_free(h);
    duckdb_destroy_result(&res);
  }
  pk_sqlbuf_free(&q);
  return err;
}

struct reject_sink {
  pk_import_result *r;
};

static void copy_text(char *dst, size_t cap, duckdb_vector v, idx_t row) {
  uint64_t *m = duckdb_vector_get_validity(v);
  if (!m || duckdb_validity_row_is_valid(m, row)) {
    duckdb_string_t *s = &((duckdb_string_t *)duckdb_vector_get_data(v))[row];
    snprintf(dst, cap, "%.*s", (int)duckdb_string_t_length(*s),
             duckdb_string_t_data(s));
  } else {
    dst[0] = '\0';
  }
}

static int reject_chunk(void *arg, duckdb_data_chunk ch) {
  pk_import_result *r = ((struct reject_sink *)arg)->r;
  idx_t n = duckdb_data_chunk_get_size(ch);
  for (idx_t i = 0; i < n && r->nshown < PK_IMPORT_SHOWN; i++) {
    pk_import_reject *j = &r->shown[r->nshown++];
    copy_text(j->file, sizeof j->file, duckdb_data_chunk_get_vector(ch, 0), i);
    j->line = ((int64_t *)duckdb_vector_get_data(
        duckdb_data_chunk_get_vector(ch, 1)))[i];
    copy_text(j->column, sizeof j->column, duckdb_data_chunk_get_vector(ch, 2),
              i);
    copy_text(j->reason, sizeof j->reason, duckdb_data_chunk_get_vector(ch, 3),
              i);
  }
  return PK_OK;
}

static int report_rejects(pk_db_conn *c, pk_import_result *r, pk_errmsg *e) {
  int64_t n = 0;
  int err = pk_db_query_int64(c,
                              "SELECT count(DISTINCT (scan_id, file_id, "
                              "line)) FROM temp." REJECTS,
                              &n, e);
  if (err)
    return err;
  r->rejected = (uint64_t)n;
  if (!n)
    return PK_OK;
  struct reject_sink rs = {r};
  pk_db_sink sink = {.chunk = reject_chunk, .arg = &rs};
  return pk_db_exec(
      c,
      "SELECT s.file_path::VARCHAR, e.line::BIGINT, "
      "coalesce(e.column_name, '')::VARCHAR, e.error_message::VARCHAR "
      "FROM temp." REJECTS " e JOIN temp." REJECT_SCANS " s ON e.scan_id = "
      "s.scan_id AND e.file_id = s.file_id ORDER BY e.scan_id, e.file_id, "
      "e.line, e.column_idx",
      &sink, e);
}

/* After a strict import failed: DuckDB's message may be about sniffing
 * rather than the row; find the first bad row the forgiving way and name it.
 * Leaves e alone if that finds nothing. */
static void explain_strict(pk_db_conn *c, const struct files *files,
                           const pk_import_opts *o, pk_errmsg *e) {
  if (!e)
    return;
  pk_import_result *tmp = calloc(1, sizeof *tmp);
  if (!tmp)
    return;
  int err = pk_db_exec(c,
                       "DROP TABLE IF EXISTS temp." REJECTS
                       "; DROP TABLE IF EXISTS temp." REJECT_SCANS,
                       NULL, NULL);
  for (size_t i = 0; i < files->n && !err; i++) {
    pk_sqlbuf q = {0};
    pk_sqlbuf_add(&q, "SELECT count(r) FROM read_csv(");
    pk_sqlbuf_literal(&q, files->v[i]);
    err = add_csv_options(&q, o, NULL);
    pk_sqlbuf_add(&q, ", store_rejects = true, rejects_table = '" REJECTS
                      "', rejects_scan = '" REJECT_SCANS "') r");
    int64_t n;
    if (!err)
      err = q.err ? PK_ENOMEM : pk_db_query_int64(c, q.s, &n, NULL);
    pk_sqlbuf_free(&q);
  }
  if (!err && report_rejects(c, tmp, NULL) == PK_OK && tmp->nshown) {
    pk_import_reject *j = &tmp->shown[0];
    pk_errmsg_set(e, PK_EINVAL,
                  "%s:%lld: %s%s%s%s (--strict: %llu bad line%s, nothing "
                  "imported)",
                  j->file, (long long)j->line, j->column[0] ? "column " : "",
                  j->column, j->column[0] ? ": " : "", j->reason,
                  (unsigned long long)tmp->rejected,
                  tmp->rejected == 1 ? "" : "s");
  }
  free(tmp);
}

int pk_import(pk_db_conn *c, const pk_import_opts *o, pk_import_result *r,
              pk_errmsg *e) {
  uint64_t t0 = pk_now_ns();
  memset(r, 0, sizeof *r);
  if (!c || !o || !o->nsources)
    return pk_errmsg_set(e, PK_EINVAL, "nothing to import");
  enum kind kind = K_CSV;
  struct files files = {0};
  int err = check_sources(o, &kind, &files, e);
  if (err) {
    files_free(&files);
    return err;
  }
  r->kind = kind_names[kind];
  if (kind != K_CSV && (csv_options_given(o) || o->strict))
    err = pk_errmsg_set(e, PK_EINVAL,
                        "CSV options apply to CSV sources only, and '%s' is "
                        "%s",
                        o->sources[0], kind_names[kind]);
  else if (kind == K_PARQUET &&
           (o->compression || pk_import_compression_of(o->sources[0])))
    err = pk_errmsg_set(e, PK_EINVAL,
                        "'%s' is a compressed Parquet file, which DuckDB "
                        "cannot read; decompress it first",
                        o->sources[0]);
  else if (o->table && (!*o->table || strlen(o->table) >= sizeof r->table))
    err = pk_errmsg_set(e, PK_EINVAL, "bad table name '%s'", o->table);
  else if (o->table)
    snprintf(r->table, sizeof r->table, "%s", o->table);
  else
    pk_import_table_name(o->sources[0], r->table, sizeof r->table);
  bool exists = false;
  if (!err)
    err = pk_db_table_exists(c, r->table, &exists, e);
  if (!err && exists && !o->replace)
    err = pk_errmsg_set(e, PK_EEXIST,
                        "table '%s' already exists; pass --replace to "
                        "replace it, or --table NAME",
                        r->table);
  if (err) {
    files_free(&files);
    return err;
  }

  pk_sqlbuf sql = {0};
  pk_sqlbuf_add(&sql, "BEGIN TRANSACTION; ");
  if (o->replace) {
    pk_sqlbuf_add(&sql, "DROP TABLE IF EXISTS main.");
    pk_sqlbuf_ident(&sql, r->table);
    pk_sqlbuf_add(&sql, "; ");
  }
  pk_sqlbuf_add(&sql, "CREATE TABLE main.");
  pk_sqlbuf_ident(&sql, r->table);
  if (kind != K_CSV) {
    pk_sqlbuf_addf(&sql, " AS SELECT * FROM %s(", reader_fn[kind]);
    add_sources(&sql, o);
    if (kind == K_JSON)
      add_compression(&sql, o);
    if (files.n > 1)
      pk_sqlbuf_add(&sql, ", union_by_name = true");
    pk_sqlbuf_add(&sql, ")");
  } else {
    /* CSV: rejects cannot be stored with union_by_name, so several files
     * become one table in two steps: the table from the union (BY NAME) of
     * the files' empty results, then one INSERT BY NAME per file. */
    bool *used = calloc(o->ntypes + 1, sizeof *used);
    pk_sqlbuf *readers = calloc(files.n, sizeof *readers);
    if (!used || !readers)
      err = pk_errmsg_set(e, PK_ENOMEM, "out of memory");
    for (size_t i = 0; i < files.n && !err; i++) {
      pk_sqlbuf *rd = &readers[i], types = {0};
      pk_sqlbuf_add(rd, "read_csv(");
      pk_sqlbuf_literal(rd, files.v[i]);
      err = add_csv_options(rd, o, e);
      if (!err && o->strict)
        err = strict_dialect(c, files.v[i], o, rd, e);
      if (!err)
        err = file_types(c, rd->s, o, &types, used, r->text_columns,
                         sizeof r->text_columns, e);
      if (!err && types.len)
        pk_sqlbuf_addf(rd, ", types = {%.*s}", (int)types.len - 2, types.s);
      if (!o->strict)
        pk_sqlbuf_add(rd, ", store_rejects = true, rejects_table = '" REJECTS
                          "', rejects_scan = '" REJECT_SCANS "'");
      pk_sqlbuf_add(rd, ")");
      pk_sqlbuf_free(&types);
    }
    for (size_t i = 0; i < o->ntypes && !err; i++)
      if (!used[i])
        err = pk_errmsg_set(
            e, PK_EINVAL, "--type %s: no source has that column", o->types[i]);
    if (!err && files.n == 1) {
      pk_sqlbuf_addf(&sql, " AS SELECT * FROM %s", readers[0].s);
    } else if (!err) {
      pk_sqlbuf_add(&sql, " AS ");
      for (size_t i = 0; i < files.n; i++)
        pk_sqlbuf_addf(&sql, "%s(SELECT * FROM %s LIMIT 0)",
                       i ? " UNION ALL BY NAME " : "", readers[i].s);
      for (size_t i = 0; i < files.n; i++) {
        pk_sqlbuf_add(&sql, "; INSERT INTO main.");
        pk_sqlbuf_ident(&sql, r->table);
        pk_sqlbuf_addf(&sql, " BY NAME SELECT * FROM %s", readers[i].s);
      }
    }
    for (size_t i = 0; readers && i < files.n; i++) {
      if (readers[i].err && !err)
        err = pk_errmsg_set(e, PK_ENOMEM, "out of memory");
      pk_sqlbuf_free(&readers[i]);
    }
    free(readers);
    free(used);
    if (!err && !o->strict)
      err = pk_db_exec(c,
                       "DROP TABLE IF EXISTS temp." REJECTS
                       "; DROP TABLE IF EXISTS temp." REJECT_SCANS,
                       NULL, e);
  }
  if (!err && sql.err)
    err = pk_errmsg_set(e, PK_ENOMEM, "out of memory");
  if (!err) {
    err = pk_db_exec(c, sql.s, NULL, e);
    if (!err && o->before_commit)
      err = o->before_commit(o->before_commit_arg, e);
    if (!err)
      err = pk_db_exec(c, "COMMIT", NULL, e);
    if (err) {
      pk_errmsg keep = {{0}};
      if (e)
        keep = *e;
      pk_db_exec(c, "ROLLBACK", NULL, NULL);
      if (e)
        *e = keep;
    }
  }
  pk_sqlbuf_free(&sql);
  if (err == PK_EINVAL && kind == K_CSV && o->strict)
    explain_strict(c, &files, o, e);
  r->files = files.n;
  files_free(&files);
  if (err)
    return err;

  pk_sqlbuf q = {0};
  pk_sqlbuf_add(&q, "SELECT count(*) FROM main.");
  pk_sqlbuf_ident(&q, r->table);
  int64_t n = 0;
  err = q.err ? PK_ENOMEM : pk_db_query_int64(c, q.s, &n, e);
  r->rows = (uint64_t)n;
  q.len = 0;
  pk_sqlbuf_add(&q, "SELECT count(*) FROM duckdb_columns() WHERE "
                    "schema_name = 'main' AND database_name = "
                    "current_database() AND table_name = ");
  pk_sqlbuf_literal(&q, r->table);
  if (!err)
    err = q.err ? PK_ENOMEM : pk_db_query_int64(c, q.s, &n, e);
  r->columns = (uint64_t)n;
  pk_sqlbuf_free(&q);
  if (!err && kind == K_CSV && !o->strict)
    err = report_rejects(c, r, e);
  pk_db_bump_catalog(pk_db_conn_db(c));
  r->ns = pk_now_ns() - t0;
  return err;
}
