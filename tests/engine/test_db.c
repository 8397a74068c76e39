/* test_db.c — the engine's database layer: opening, the connection pool,
 * interrupts from another thread, the catalog version, streaming results,
 * errors, the importer and the result writers. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "engine/db.h"
#include "engine/format_out.h"
#include "engine/importer.h"
#include "test.h"

static char tmpdir[256];

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
  nanosleep(&ts, NULL);
}

static pk_db *open_mem(int readers) {
  pk_db_config cfg = {.path = ":memory:", .threads = 2, .readers = readers};
  pk_db *db = NULL;
  pk_errmsg e;
  ASSERT_OK(pk_db_open(&cfg, &db, &e));
  return db;
}

static void write_file(const char *name, const char *text, char *path,
                       size_t cap) {
  snprintf(path, cap, "%s/%s", tmpdir, name);
  FILE *f = fopen(path, "w");
  ASSERT(f);
  fputs(text, f);
  fclose(f);
}

static void test_open_close(void) {
  pk_db *db = open_mem(0);
  ASSERT_EQ(pk_db_threads(db), 2);
  ASSERT(pk_db_memory_limit(db) >= (256ull << 20));
  pk_db_conn *c;
  ASSERT_OK(pk_db_acquire(db, PK_DB_READER, &c));
  int64_t v = 0;
  ASSERT_OK(pk_db_query_int64(c, "SELECT current_setting('threads')::BIGINT",
                              &v, NULL));
  ASSERT_EQ(v, 2);
  ASSERT_OK(pk_db_query_int64(
      c, "SELECT current_setting('preserve_insertion_order')::INT", &v, NULL));
  ASSERT_EQ(v, 1); /* rows in file order unless asked otherwise */
  pk_db_release(c);
  pk_db_close(db);
  pk_db_close(NULL);

  pk_db_config un = {.path = ":memory:",
                     .readers = 1,
                     .unordered = true,
                     .memory_limit = 64ull << 20};
  ASSERT_OK(pk_db_open(&un, &db, NULL));
  ASSERT_OK(pk_db_acquire(db, PK_DB_READER, &c));
  ASSERT_OK(pk_db_query_int64(
      c, "SELECT current_setting('preserve_insertion_order')::INT", &v, NULL));
  ASSERT_EQ(v, 0);
  /* A memory limit from the config, then back to the default. */
  ASSERT_EQ(pk_db_memory_limit(db), 64ull << 20);
  const char *is64 =
      "SELECT (current_setting('memory_limit') = '64.0 MiB')::INT";
  ASSERT_OK(pk_db_query_int64(c, is64, &v, NULL));
  ASSERT_EQ(v, 1);
  ASSERT_OK(pk_db_set_memory_limit(c, 0, NULL));
  ASSERT_OK(pk_db_query_int64(c, is64, &v, NULL));
  ASSERT_EQ(v, 0);
  ASSERT(pk_db_memory_limit(db) >= (256ull << 20));
  pk_db_release(c);
  pk_db_close(db);

  /* A file database, its default place from PIKA_HOME, and a missing
   * directory. */
  char path[512];
  snprintf(path, sizeof path, "%s/home", tmpdir);
  setenv("PIKA_HOME", path, 1);
  char def[512];
  ASSERT_OK(pk_db_default_path(def, sizeof def, NULL));
  ASSERT(strstr(def, "/home/workspace.duckdb"));
  ASSERT_OK(pk_db_open(NULL, &db, NULL));
  ASSERT_STREQ(pk_db_path(db), def);
  pk_db_close(db);
  ASSERT_EQ(access(def, F_OK), 0);
  pk_errmsg e;
  pk_db_config bad = {.path = "/nonexistent-dir/x.duckdb"};
  ASSERT_EQ(pk_db_open(&bad, &db, &e), PK_ENOENT);
  ASSERT(strstr(e.text, "nonexistent-dir"));
}

struct pool_arg {
  pk_db *db;
  int got;
};

static void *take_reader(void *p) {
  struct pool_arg *a = p;
  pk_db_conn *c;
  ASSERT_OK(pk_db_acquire(a->db, PK_DB_READER, &c));
  __atomic_store_n(&a->got, 1, __ATOMIC_SEQ_CST);
  pk_db_release(c);
  return NULL;
}

static void test_pool(void) {
  pk_db *db = open_mem(2);
  pk_db_conn *w, *r1, *r2;
  ASSERT_OK(pk_db_acquire(db, PK_DB_WRITER, &w));
  ASSERT_OK(pk_db_acquire(db, PK_DB_READER, &r1));
  ASSERT_OK(pk_db_acquire(db, PK_DB_READER, &r2));
  ASSERT(r1 != r2 && w != r1 && w != r2);
  /* Readers see what the writer committed. */
  ASSERT_OK(pk_db_exec(w, "CREATE TABLE t AS SELECT range AS x FROM range(10)",
                       NULL, NULL));
  int64_t n = 0;
  ASSERT_OK(pk_db_query_int64(r1, "SELECT sum(x) FROM t", &n, NULL));
  ASSERT_EQ(n, 45);
  /* A third reader waits until one is released. */
  struct pool_arg a = {db, 0};
  pthread_t th;
  ASSERT_EQ(pthread_create(&th, NULL, take_reader, &a), 0);
  sleep_ms(100);
  ASSERT_EQ(__atomic_load_n(&a.got, __ATOMIC_SEQ_CST), 0);
  pk_db_release(r2);
  pthread_join(th, NULL);
  ASSERT_EQ(a.got, 1);
  ASSERT_EQ(pk_db_acquire(db, (pk_db_role)7, &r2), PK_EINVAL);
  pk_db_release(r1);
  pk_db_release(w);
  pk_db_close(db);
}

struct intr_arg {
  pk_db_conn *c;
  int delay_ms;
};

static void *interrupter(void *p) {
  struct intr_arg *a = p;
  sleep_ms(a->delay_ms);
  pk_db_interrupt(a->c);
  return NULL;
}

static const char *const huge =
    "SELECT count(*) FROM range(2000000) a, range(2000000) b WHERE a.range "
    "+ b.range = -1";

static void test_interrupt(void) {
  pk_db *db = open_mem(1);
  pk_db_conn *c;
  ASSERT_OK(pk_db_acquire(db, PK_DB_READER, &c));
  struct intr_arg a = {c, 300};
  pthread_t th;
  ASSERT_EQ(pthread_create(&th, NULL, interrupter, &a), 0);
  uint64_t t0 = pk_now_ns();
  pk_errmsg e;
  int64_t n;
  ASSERT_EQ(pk_db_query_int64(c, huge, &n, &e), PK_EINTERRUPTED);
  uint64_t ms = (pk_now_ns() - t0) / 1000000;
  pthread_join(th, NULL);
  printf("  interrupted after %llu ms (interrupt sent at 300 ms)\n",
         (unsigned long long)ms);
  ASSERT(ms < 20000);
  ASSERT(pk_db_interrupted(c));
  /* The flag also stops the next statement until release. */
  ASSERT_EQ(pk_db_query_int64(c, "SELECT 1", &n, NULL), PK_EINTERRUPTED);
  pk_db_release(c);
  /* After release the connection works again. */
  ASSERT_OK(pk_db_acquire(db, PK_DB_READER, &c));
  ASSERT_OK(pk_db_query_int64(c, "SELECT 42", &n, NULL));
  ASSERT_EQ(n, 42);
  pk_db_release(c);
  pk_db_close(db);
}

struct watch_arg {
  int calls;
  int saw_running;
  double max_pct;
};

static bool watch_cb(void *arg, const pk_db_progress_info *p) {
  struct watch_arg *w = arg;
  w->calls++;
  if (p->running)
    w->saw_running++;
  if (p->percent > w->max_pct)
    w->max_pct = p->percent;
  return w->saw_running >= 10; /* cancel once the query has been seen */
}

static void test_watch_cancels(void) {
  pk_db *db = open_mem(1);
  pk_db_conn *c;
  ASSERT_OK(pk_db_acquire(db, PK_DB_READER, &c));
  struct watch_arg wa = {0, 0, -1};
  pk_db_watch *w;
  ASSERT_OK(pk_db_watch_start(c, 20, watch_cb, &wa, &w));
  int64_t n;
  ASSERT_EQ(pk_db_query_int64(c, huge, &n, NULL), PK_EINTERRUPTED);
  pk_db_watch_stop(w);
  ASSERT_GE(wa.saw_running, 3);
  printf("  watcher: %d polls, progress up to %.2f%%\n", wa.calls, wa.max_pct);
  pk_db_progress_info p;
  pk_db_progress(c, &p);
  ASSERT(!p.running);
  ASSERT_EQ(pk_db_watch_start(c, 0, watch_cb, &wa, &w), PK_EINVAL);
  pk_db_release(c);
  pk_db_close(db);
}

struct sum_sink {
  int64_t rows, sum, chunks, ncols;
};

static int sum_begin(void *arg, duckdb_result *res) {
  ((struct sum_sink *)arg)->ncols = (int64_t)duckdb_column_count(res);
  return PK_OK;
}

static int sum_chunk(void *arg, duckdb_data_chunk ch) {
  struct sum_sink *s = arg;
  idx_t n = duckdb_data_chunk_get_size(ch);
  int64_t *v = duckdb_vector_get_data(duckdb_data_chunk_get_vector(ch, 0));
  for (idx_t i = 0; i < n; i++)
    s->sum += v[i];
  s->rows += (int64_t)n;
  s->chunks++;
  return PK_OK;
}

static int stop_chunk(void *arg, duckdb_data_chunk ch) {
  (void)ch;
  ((struct sum_sink *)arg)->chunks++;
  return PK_ECANCELED;
}

static void test_streaming(void) {
  pk_db *db = open_mem(1);
  pk_db_conn *c;
  ASSERT_OK(pk_db_acquire(db, PK_DB_READER, &c));
  struct sum_sink s = {0, 0, 0, 0};
  pk_db_sink sink = {.begin = sum_begin, .chunk = sum_chunk, .arg = &s};
  ASSERT_OK(
      pk_db_exec(c,
                 "CREATE TEMP TABLE x AS SELECT 1; "
                 "SELECT range::BIGINT AS v, 'x' AS w FROM range(1000000)",
                 &sink, NULL));
  ASSERT_EQ(s.rows, 1000000);
  ASSERT_EQ(s.sum, 499999500000ll);
  ASSERT_EQ(s.ncols, 2);
  ASSERT_GT(s.chunks, 100); /* 2048-row chunks, not one materialised block */
  /* A sink that stops the query. */
  struct sum_sink t = {0, 0, 0, 0};
  pk_db_sink stop = {.chunk = stop_chunk, .arg = &t};
  ASSERT_EQ(pk_db_exec(c, "SELECT * FROM range(1000000)", &stop, NULL),
            PK_ECANCELED);
  ASSERT_EQ(t.chunks, 1);
  pk_db_release(c);
  pk_db_close(db);
}

static void test_errors(void) {
  pk_db *db = open_mem(1);
  pk_db_conn *c;
  ASSERT_OK(pk_db_acquire(db, PK_DB_READER, &c));
  pk_errmsg e;
  ASSERT_EQ(pk_db_exec(c, "SELEC 1", NULL, &e), PK_EINVAL);
  ASSERT(strstr(e.text, "syntax error"));
  ASSERT_EQ(pk_db_exec(c, "SELECT * FROM nosuchtable", NULL, &e), PK_EINVAL);
  ASSERT(strstr(e.text, "nosuchtable"));
  ASSERT_EQ(pk_db_exec(c, "SELECT * FROM '/nonexistent/x.csv'", NULL, &e),
            PK_ENOENT);
  ASSERT_EQ(pk_db_exec(c, "", NULL, &e), PK_EINVAL);
  ASSERT_EQ(pk_db_exec(c, "SELECT 1/0::INT; SELECT 'a'::INT", NULL, &e),
            PK_EINVAL);
  ASSERT(strstr(e.text, "Conversion"));
  pk_db_release(c);
  pk_db_close(db);
}

static void test_sqlbuf(void) {
  pk_sqlbuf b = {0};
  pk_sqlbuf_add(&b, "SELECT ");
  pk_sqlbuf_literal(&b, "it's");
  pk_sqlbuf_add(&b, " AS ");
  pk_sqlbuf_ident(&b, "we\"ird name");
  pk_sqlbuf_addf(&b, ", %d", 7);
  ASSERT_OK(b.err);
  ASSERT_STREQ(b.s, "SELECT 'it''s' AS \"we\"\"ird name\", 7");
  pk_sqlbuf_free(&b);
  char name[64];
  pk_import_table_name("/x/y/Sales 2024-01.csv.gz", name, sizeof name);
  ASSERT_STREQ(name, "Sales_2024_01");
  pk_import_table_name("2024.parquet", name, sizeof name);
  ASSERT_STREQ(name, "t_2024");
  pk_import_table_name("logs/part_*.csv", name, sizeof name);
  ASSERT_STREQ(name, "part");
  pk_import_table_name("...", name, sizeof name);
  ASSERT_STREQ(name, "data");
}

/* Runs sql through a writer of fmt into a string (caller frees). */
static char *render(pk_db_conn *c, pk_fmt fmt, const char *sql) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  ASSERT(f);
  pk_fmt_opts o = {fmt, 60, 3};
  pk_errmsg e;
  int rc = pk_fmt_run(c, sql, &o, f, NULL, &e);
  if (rc)
    fprintf(stderr, "%s\n", e.text);
  ASSERT_OK(rc);
  fclose(f);
  return buf;
}

static void test_formats(void) {
  pk_db *db = open_mem(1);
  pk_db_conn *c;
  ASSERT_OK(pk_db_acquire(db, PK_DB_READER, &c));
  const char *q = "SELECT * FROM (VALUES (1, 'a,b', 1.5::DOUBLE, NULL::INT), "
                  "(-2, 'say \"hi\"', 0.1::DOUBLE, 3), (3, '', 1e300, NULL)) "
                  "t(i, s, d, n) ORDER BY i";
  char *csv = render(c, PK_FMT_CSV, q);
  ASSERT_STREQ(csv, "i,s,d,n\n-2,\"say \"\"hi\"\"\",0.1,3\n1,\"a,b\",1.5,\n"
                    "3,\"\",1e+300,\n");
  free(csv);
  char *json = render(c, PK_FMT_JSON, q);
  ASSERT_STREQ(json,
               "[\n{\"i\":-2,\"s\":\"say \\\"hi\\\"\",\"d\":0.1,\"n\":3},\n"
               "{\"i\":1,\"s\":\"a,b\",\"d\":1.5,\"n\":null},\n"
               "{\"i\":3,\"s\":\"\",\"d\":1e+300,\"n\":null}\n]\n");
  free(json);
  char *empty = render(c, PK_FMT_JSON, "SELECT 1 AS a WHERE false");
  ASSERT_STREQ(empty, "[]\n");
  free(empty);
  char *nd = render(c, PK_FMT_NDJSON,
                    "SELECT 'tab\there' AS t, true AS b, 12.50::DECIMAL(5,2) "
                    "AS d, DATE '2024-02-29' AS dt, 'nan'::DOUBLE AS f");
  ASSERT_STREQ(nd, "{\"t\":\"tab\\there\",\"b\":true,\"d\":12.50,\"dt\":"
                   "\"2024-02-29\",\"f\":\"nan\"}\n");
  free(nd);
  char *md = render(c, PK_FMT_MARKDOWN, "SELECT 1 AS n, 'a|b' AS s");
  ASSERT_STREQ(md, "| n | s |\n| ---: | --- |\n| 1 | a\\|b |\n");
  free(md);
  /* Table: numbers right-aligned, long cells cut to the width, rows cut at
   * max_rows (3 here) with the rest counted. */
  char *tb = render(c, PK_FMT_TABLE,
                    "SELECT range AS n, repeat('x', 100) AS long FROM "
                    "range(5)");
  ASSERT(strstr(tb, "… \n") || strstr(tb, "…\n"));
  ASSERT(strstr(tb, "... 2 more rows not shown\n(5 rows)\n"));
  ASSERT(strstr(tb, "\n0 │ xxx"));
  for (char *line = tb; *line;) {
    char *nl = strchr(line, '\n');
    size_t cps = 0;
    for (char *p = line; p < nl; p++)
      cps += ((unsigned char)*p & 0xC0) != 0x80;
    ASSERT(cps <= 60);
    line = nl + 1;
  }
  free(tb);
  /* Values of many types become text without error. */
  char *types = render(
      c, PK_FMT_CSV,
      "SELECT 170141183460469231731687303715884105727::HUGEINT AS h, "
      "-123.456::DECIMAL(38,3) AS dd, TIMESTAMP '2024-01-02 03:04:05.5' AS "
      "ts, INTERVAL '1 year 2 days 3 hours' AS iv, "
      "'00000000-0000-0000-0000-000000000001'::UUID AS u, [1, NULL] AS l, "
      "{'k': 'v'} AS st, MAP {'a': 1} AS m, '\\x01A'::BLOB AS bl");
  ASSERT_STREQ(types,
               "h,dd,ts,iv,u,l,st,m,bl\n"
               "170141183460469231731687303715884105727,-123.456,2024-01-02 "
               "03:04:05.5,1 year 2 days 03:00:00,"
               "00000000-0000-0000-0000-000000000001,\"[1, NULL]\","
               "{'k': v},{a=1},\\x01A\n");
  free(types);
  pk_db_release(c);
  pk_db_close(db);
}

static int refuse_commit(void *arg, pk_errmsg *e) {
  (void)arg;
  return pk_errmsg_set(e, PK_ECORRUPT, "refused");
}

static void test_import(void) {
  pk_db *db = open_mem(1);
  pk_db_conn *c;
  ASSERT_OK(pk_db_acquire(db, PK_DB_WRITER, &c));
  char bad[512], zip[512];
  write_file("people.csv",
             "id,name,score\n1,\"Smith, J\",3.5\n2,bob,4\n3,ann,5,extra\n"
             "4,zed,6\n",
             bad, sizeof bad);
  write_file("zips.csv", "zip_code,n\n12345,1\n23456,2\n", zip, sizeof zip);

  uint64_t v0 = pk_db_catalog_version(db);
  const char *src[] = {bad};
  pk_import_opts o = {.sources = src, .nsources = 1, .header = -1, .skip = -1};
  pk_import_result r;
  pk_errmsg e;
  ASSERT_OK(pk_import(c, &o, &r, &e));
  ASSERT_STREQ(r.table, "people");
  ASSERT_EQ(r.rows, 3);
  ASSERT_EQ(r.columns, 3);
  ASSERT_EQ(r.rejected, 1);
  ASSERT_EQ(r.nshown, 1);
  ASSERT_EQ(r.shown[0].line, 4);
  ASSERT(strstr(r.shown[0].reason, "Expected Number of Columns"));
  uint64_t v1 = pk_db_catalog_version(db);
  ASSERT_GT(v1, v0);
  /* A SELECT leaves the version alone; DDL bumps it. */
  int64_t n;
  ASSERT_OK(pk_db_query_int64(c, "SELECT count(*) FROM people", &n, NULL));
  ASSERT_EQ(pk_db_catalog_version(db), v1);
  ASSERT_OK(pk_db_exec(c, "CREATE VIEW pv AS SELECT 1", NULL, NULL));
  ASSERT_GT(pk_db_catalog_version(db), v1);

  /* Existing table; --replace; --strict. */
  ASSERT_EQ(pk_import(c, &o, &r, &e), PK_EEXIST);
  ASSERT(strstr(e.text, "--replace"));
  o.strict = true;
  o.replace = true;
  ASSERT_EQ(pk_import(c, &o, &r, &e), PK_EINVAL);
  ASSERT_OK(pk_db_query_int64(c, "SELECT count(*) FROM people", &n, NULL));
  ASSERT_EQ(n, 3); /* the failed replace left the old table */
  o.strict = false;
  /* A before_commit hook that fails rolls the import back; an explicit
   * format overrides the extension. */
  o.table = "hooked";
  o.before_commit = refuse_commit;
  ASSERT_EQ(pk_import(c, &o, &r, &e), PK_ECORRUPT);
  ASSERT_STREQ(e.text, "refused");
  bool exists = true;
  ASSERT_OK(pk_db_table_exists(c, "hooked", &exists, NULL));
  ASSERT(!exists);
  o.before_commit = NULL;
  o.format = "json";
  ASSERT_EQ(pk_import(c, &o, &r, &e), PK_EINVAL); /* CSV text is not JSON */
  o.format = "csv";
  ASSERT_OK(pk_import(c, &o, &r, &e));
  ASSERT_EQ(r.rows, 3);
  o.format = NULL;
  char tn[64];
  pk_import_table_name("dir/data.csv.adapipe", tn, sizeof tn);
  ASSERT_STREQ(tn, "data");
  ASSERT_STREQ(pk_import_format_of("x.ndjson.zst"), "json");
  o.table = "we\"ird 'name";
  ASSERT_OK(pk_import(c, &o, &r, &e));
  ASSERT_OK(pk_db_query_int64(c, "SELECT count(*) FROM \"we\"\"ird 'name\"", &n,
                              NULL));
  ASSERT_EQ(n, 3);

  /* Code-like integer columns stay text. */
  const char *zsrc[] = {zip};
  pk_import_opts z = {.sources = zsrc, .nsources = 1, .header = -1, .skip = -1};
  ASSERT_OK(pk_import(c, &z, &r, &e));
  ASSERT_STREQ(r.text_columns, "zip_code");
  ASSERT_OK(pk_db_query_int64(c,
                              "SELECT count(*) FROM duckdb_columns() WHERE "
                              "table_name = 'zips' AND data_type = 'VARCHAR'",
                              &n, NULL));
  ASSERT_EQ(n, 1);

  /* Missing source; a pattern matching nothing. */
  const char *missing[] = {"/nonexistent/a.csv"};
  o.sources = missing;
  ASSERT_EQ(pk_import(c, &o, &r, &e), PK_ENOENT);
  char pat[600];
  snprintf(pat, sizeof pat, "%s/nomatch*.csv", tmpdir);
  const char *pats[] = {pat};
  o.sources = pats;
  ASSERT_EQ(pk_import(c, &o, &r, &e), PK_ENOENT);

  /* Schema and tables SQL. */
  char *sql = NULL;
  ASSERT_OK(pk_db_schema_sql(c, "PEOPLE", &sql, &e));
  char *out = render(c, PK_FMT_CSV, sql);
  ASSERT(strstr(out, "column,type,nulls,min,max,distinct\n"));
  ASSERT(strstr(out, "id,BIGINT,0,1,4,3\n"));
  ASSERT(strstr(out, "name,VARCHAR,0,\"Smith, J\",zed,3\n"));
  free(out);
  free(sql);
  ASSERT_EQ(pk_db_schema_sql(c, "nope", &sql, &e), PK_ENOENT);
  ASSERT_OK(pk_db_tables_sql(c, &sql, &e));
  out = render(c, PK_FMT_CSV, sql);
  ASSERT(strstr(out, "table,rows,columns\n"));
  ASSERT(strstr(out, "people,3,3\n"));
  ASSERT(strstr(out, "zips,2,2\n"));
  free(out);
  free(sql);
  pk_db_release(c);
  pk_db_close(db);
}

int main(void) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/pika-test-db-XXXXXX");
  ASSERT(mkdtemp(tmpdir));
  RUN(test_open_close);
  RUN(test_pool);
  RUN(test_interrupt);
  RUN(test_watch_cancels);
  RUN(test_streaming);
  RUN(test_errors);
  RUN(test_sqlbuf);
  RUN(test_formats);
  RUN(test_import);
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  if (system(cmd) != 0)
    fprintf(stderr, "could not remove %s\n", tmpdir);
  return 0;
}
