/* test_csvnum.c — the native CSV reader (csvnum.h) against DuckDB's:
 * the same rows, bit for bit, on numbers written every which way, with
 * NULLs, skipped text columns, CRLF, no header, one share or many, and the
 * start-over when a share runs out of room; and PK_EUNSUPPORTED, with
 * nothing left behind, for whatever DuckDB alone must read. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/columns.h"
#include "engine/csvnum.h"
#include "engine/db.h"
#include "engine/importer.h"
#include "runtime/pool.h"
#include "test.h"

static char tmpdir[256];
static pk_db *db;
static pk_db_conn *conn;
static pk_pool *pool;

static void path_of(const char *name, char *path, size_t cap) {
  snprintf(path, cap, "%s/%s", tmpdir, name);
}

static void write_text(const char *name, const char *text, char *path,
                       size_t cap) {
  path_of(name, path, cap);
  FILE *f = fopen(path, "w");
  ASSERT(f);
  fputs(text, f);
  fclose(f);
}

/* What DuckDB's reader gives for the same columns. */
static pk_cols *duckdb_load(const char *path, const char *const *names,
                            const char *const *alias, size_t n) {
  pk_sqlbuf q = {0};
  pk_sqlbuf_add(&q, "SELECT ");
  for (size_t i = 0; i < n; i++) {
    pk_sqlbuf_add(&q, i ? ", " : "");
    pk_sqlbuf_ident(&q, names[i]);
    pk_sqlbuf_add(&q, " AS ");
    pk_sqlbuf_ident(&q, alias[i]);
  }
  pk_sqlbuf_add(&q, " FROM ");
  pk_import_reader(&q, path);
  ASSERT(!q.err);
  pk_cols *cs = NULL;
  pk_errmsg e = {{0}};
  int err = pk_cols_load(conn, q.s, &cs, &e);
  if (err)
    fprintf(stderr, "duckdb: %s\n", e.text);
  ASSERT_OK(err);
  pk_sqlbuf_free(&q);
  return cs;
}

/* Loads names from path both ways and checks every value bit for bit. */
static size_t same_as_duckdb(const char *path, const char *const *names,
                             size_t n) {
  static const char *const alias[] = {"x", "y", "color", "z"};
  pk_cols *a = NULL;
  pk_errmsg e = {{0}};
  int err = pk_csvnum_load(conn, pool, path, names, alias, n, &a, &e);
  if (err)
    fprintf(stderr, "csvnum: %s\n", e.text);
  ASSERT_OK(err);
  pk_cols *b = duckdb_load(path, names, alias, n);
  ASSERT_UEQ(a->nrows, b->nrows);
  ASSERT_UEQ(a->ncols, n);
  for (size_t k = 0; k < n; k++) {
    const pk_col *ca = &a->cols[k], *cb = pk_cols_find(b, alias[k]);
    ASSERT(cb);
    ASSERT_STREQ(ca->name, alias[k]);
    ASSERT(ca->ranged && !ca->is_categorical && !ca->is_time);
    ASSERT(!memcmp(&ca->min, &cb->min, sizeof ca->min));
    ASSERT(!memcmp(&ca->max, &cb->max, sizeof ca->max));
    for (size_t r = 0; r < a->nrows; r++) {
      double va = ca->v[r], vb = cb->v[r];
      if (isnan(va) && isnan(vb))
        continue;
      if (memcmp(&va, &vb, sizeof va)) {
        fprintf(stderr, "%s column %s row %zu: %.17g vs DuckDB %.17g\n", path,
                names[k], r, va, vb);
        ASSERT(0);
      }
    }
  }
  size_t rows = a->nrows;
  pk_cols_free(a);
  pk_cols_free(b);
  return rows;
}

static int unsupported(const char *text, const char *const *names, size_t n,
                       const char *why) {
  char path[300];
  write_text("u.csv", text, path, sizeof path);
  static const char *const alias[] = {"x", "y", "color", "z"};
  pk_cols *a = NULL;
  pk_errmsg e = {{0}};
  int err = pk_csvnum_load(conn, pool, path, names, alias, n, &a, &e);
  ASSERT(!a);
  if (err == PK_EUNSUPPORTED && why && !strstr(e.text, why)) {
    fprintf(stderr, "expected '%s' in: %s\n", why, e.text);
    ASSERT(0);
  }
  return err;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}
static double unit(void) {
  return (double)(next() >> 11) / 9007199254740992.0;
}

/* A number written one of many ways; sometimes NULL. */
static void put_double(FILE *f) {
  uint64_t k = next() % 12;
  double v = (unit() - 0.5) * 2000;
  switch (k) {
  case 0:
    fprintf(f, "%.17g", v);
    break;
  case 1:
    fprintf(f, "%.3f", v);
    break;
  case 2:
    fprintf(f, "%.6e", v * 1e-300);
    break;
  case 3:
    fprintf(f, "%.17E", v * 1e300);
    break;
  case 4:
    fprintf(f, "%lld", (long long)(v * 1e12));
    break;
  case 5:
    fprintf(f, "%.20f", unit());
    break; /* more digits than 19 */
  case 6:
    fprintf(f, "%.17g", v * 1e-310);
    break; /* subnormal */
  case 7:
    fputs(next() & 1 ? "-0" : "-0.0", f);
    break;
  case 8:
    fputs(next() & 1 ? "1e-400" : "4.9406564584124654e-324", f);
    break;
  case 9:
    break; /* NULL */
  case 10:
    fprintf(f, "%.2f", unit() * 1e-3);
    break;
  default:
    fprintf(f, "%.15g", unit());
    break;
  }
}

static void put_bigint(FILE *f) {
  static const char *const edge[] = {"9223372036854775807",
                                     "-9223372036854775808",
                                     "9007199254740993",
                                     "-0",
                                     "0",
                                     ""};
  uint64_t k = next() % 8;
  if (k < 6)
    fputs(edge[k], f);
  else
    fprintf(f, "%lld", (long long)(next() >> 1) * (k == 6 ? 1 : -1));
}

/* rows lines of: d,txt,i,d2 with the given newline. */
static void write_mixed(const char *name, size_t rows, const char *nl,
                        bool header, char *path, size_t cap) {
  path_of(name, path, cap);
  FILE *f = fopen(path, "w");
  ASSERT(f);
  if (header)
    fprintf(f, "d,Txt,i,d2%s", nl);
  for (size_t r = 0; r < rows; r++) {
    put_double(f);
    fprintf(f, ",some text %zu,", r % 97);
    put_bigint(f);
    fputc(',', f);
    if (r % 5)
      fprintf(f, "%.17g", unit());
    if (r + 1 < rows || r % 2)
      fputs(nl, f);
  }
  fclose(f);
}

static void test_same_values(void) {
  char path[300];
  const char *const cols[] = {"d", "i", "d2", "d"};
  write_mixed("a.csv", 20000, "\n", true, path, sizeof path);
  ASSERT_UEQ(same_as_duckdb(path, cols, 4), 20000);
  write_mixed("crlf.csv", 20000, "\r\n", true, path, sizeof path);
  ASSERT_UEQ(same_as_duckdb(path, cols, 3), 20000);
  /* A name in another case, as DuckDB's binder matches it. */
  const char *const upper[] = {"D2", "txt"};
  (void)upper;
  const char *const d2[] = {"D2"};
  ASSERT_UEQ(same_as_duckdb(path, d2, 1), 20000);

  /* No header: DuckDB names the columns column0, column1, ... */
  write_text("nh.csv", "1.5\t2\n3.25\t-4\n\t7\n", path, sizeof path);
  const char *const nh[] = {"column1", "column0"};
  ASSERT_UEQ(same_as_duckdb(path, nh, 2), 3);
  /* A quoted header, rows without quotes. */
  write_text("qh.csv", "\"a b\",\"c\"\n1,2\n3,4\n", path, sizeof path);
  const char *const qh[] = {"a b", "c"};
  ASSERT_UEQ(same_as_duckdb(path, qh, 2), 2);
  /* Only a header. */
  write_text("h.csv", "x,y\n", path, sizeof path);
  const char *const xy[] = {"x", "y"};
  (void)xy;
}

/* Many shares, and shares that run out of room. */
static void test_shares(void) {
  char path[300];
  const char *const cols[] = {"d2", "d", "i"};
  write_mixed("big.csv", 200000, "\n", true, path, sizeof path);
  pk_csvnum_tune(256 << 10, 0.04, 16); /* a share per pool thread */
  ASSERT_UEQ(same_as_duckdb(path, cols, 3), 200000);
  pk_csvnum_tune(256 << 10, -0.5, 0); /* every share but the last overflows */
  ASSERT_UEQ(same_as_duckdb(path, cols, 3), 200000);
  pk_csvnum_tune(256 << 10, 0.04, 16);
  write_mixed("bigcrlf.csv", 100000, "\r\n", false, path, sizeof path);
  const char *const nh[] = {"column0", "column3"};
  ASSERT_UEQ(same_as_duckdb(path, nh, 2), 100000);
  pk_csvnum_tune(0, 0, 0);
}

static void test_unsupported(void) {
  const char *const xy[] = {"x", "y"};
  const char *const x[] = {"x"};
  const char *const s[] = {"s"};
  /* Each of these DuckDB reads (or rejects) its own way. */
  ASSERT_ERR(unsupported("x,y\n1,2\ninf,3\n", xy, 2, "DOUBLE"),
             PK_EUNSUPPORTED);
  ASSERT_ERR(unsupported("x,y\n1.5,2\n.5,3\n", xy, 2, "DOUBLE"),
             PK_EUNSUPPORTED);
  ASSERT_ERR(unsupported("x,y\n1.5,2\n 2.5,3\n", xy, 2, NULL), PK_EUNSUPPORTED);
  ASSERT_ERR(unsupported("x,y\n1,2\n3,4,5\n", xy, 2, NULL), PK_EUNSUPPORTED);
  ASSERT_ERR(unsupported("x,y\n1,2\n3\n", xy, 2, NULL), PK_EUNSUPPORTED);
  ASSERT_ERR(unsupported("x,y\n1,2\n\n3,4\n", xy, 2, NULL), PK_EUNSUPPORTED);
  ASSERT_ERR(unsupported("x,s\n1,\"a,b\"\n2,c\n", x, 1, "quoted"),
             PK_EUNSUPPORTED);
  ASSERT_ERR(unsupported("x,s\n1,a\n2,b\n", s, 1, "VARCHAR"), PK_EUNSUPPORTED);
  ASSERT_ERR(unsupported("x,y\n2024-01-01,1\n", x, 1, "DATE"), PK_EUNSUPPORTED);
  ASSERT_ERR(unsupported("x,y\n1,2\n", s, 1, "no column"), PK_EUNSUPPORTED);
  /* After the sniffer's sample (20480 rows): a BIGINT value past int64
   * (DuckDB rejects the row), and leading zeros in a DOUBLE column. */
  size_t cap = 30000 * 4 + 64;
  char *rows = malloc(cap);
  ASSERT(rows);
  strcpy(rows, "x\n");
  for (int i = 0; i < 30000; i++)
    strcat(rows + 2 + i * 3, "12\n");
  strcat(rows, "9223372036854775808\n");
  ASSERT_ERR(unsupported(rows, x, 1, "BIGINT"), PK_EUNSUPPORTED);
  strcpy(rows, "x\n");
  for (int i = 0; i < 30000; i++)
    strcat(rows + 2 + i * 4, "1.5\n");
  strcat(rows, "007.5\n");
  ASSERT_ERR(unsupported(rows, x, 1, "DOUBLE"), PK_EUNSUPPORTED);
  free(rows);
  /* Not a plain CSV file by its name. */
  char path[300];
  write_text("c.csv.gz", "x\n1\n", path, sizeof path);
  pk_cols *a = NULL;
  pk_errmsg e = {{0}};
  static const char *const alias[] = {"x"};
  ASSERT_ERR(pk_csvnum_load(conn, pool, path, x, alias, 1, &a, &e),
             PK_EUNSUPPORTED);
  path_of("missing.csv", path, sizeof path);
  ASSERT_ERR(pk_csvnum_load(conn, pool, path, x, alias, 1, &a, &e),
             PK_EUNSUPPORTED);
  ASSERT(!a);
}

static void test_interrupt(void) {
  char path[300];
  write_mixed("i.csv", 1000, "\n", true, path, sizeof path);
  const char *const cols[] = {"d"};
  static const char *const alias[] = {"x"};
  pk_db_interrupt(conn);
  pk_cols *a = NULL;
  pk_errmsg e = {{0}};
  ASSERT_ERR(pk_csvnum_load(conn, pool, path, cols, alias, 1, &a, &e),
             PK_EINTERRUPTED);
  ASSERT(!a);
  pk_db_release(conn); /* clears the flag */
  ASSERT_OK(pk_db_acquire(db, PK_DB_READER, &conn));
}

int main(void) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/pika-test-csvnum-XXXXXX");
  ASSERT(mkdtemp(tmpdir));
  pk_db_config cfg = {.path = ":memory:", .threads = 2, .readers = 1};
  pk_errmsg e;
  ASSERT_OK(pk_db_open(&cfg, &db, &e));
  ASSERT_OK(pk_db_acquire(db, PK_DB_READER, &conn));
  pk_pool_config pc = {.name = "t-csv", .nthreads = 3};
  ASSERT_OK(pk_pool_create(&pc, &pool));
  RUN(test_same_values);
  RUN(test_shares);
  RUN(test_unsupported);
  RUN(test_interrupt);
  pk_pool_free(pool);
  pk_db_release(conn);
  pk_db_close(db);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  ASSERT_EQ(system(cmd), 0);
  return 0;
}
