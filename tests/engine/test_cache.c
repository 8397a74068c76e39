/* test_cache.c — engine/cache.h: fingerprints, plot-column entries (hits,
 * supersets, catalog invalidation, spill and eviction under a budget,
 * pinning, concurrent loads) and query results (hits, paging from memory
 * and beyond it, ids, statements that change the catalog). Values are
 * checked against the same data queried from DuckDB. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/cache.h"
#include "engine/db.h"
#include "engine/plot.h"
#include "test.h"

static pk_db *db;
static pk_errmsg e;

static void exec(const char *sql) {
  pk_db_conn *c;
  ASSERT_OK(pk_db_acquire(db, PK_DB_WRITER, &c));
  if (pk_db_exec(c, sql, NULL, &e) != PK_OK)
    TEST_FAIL_("%s: %s", sql, e.text);
  pk_db_release(c);
}

static pk_cache *mk(uint64_t budget, uint64_t spill) {
  pk_cache_config cfg = {
      .budget = budget, .spill_budget = spill, .no_monitor = true};
  pk_cache *c = NULL;
  ASSERT_OK(pk_cache_create(&cfg, &c, &e));
  return c;
}

static pk_cache_cols *get(pk_cache *c, const char *src, const char *a,
                          const char *b, const char *order) {
  const char *cols[] = {a, b};
  const char *al[] = {"x", "y"};
  pk_db_conn *conn;
  ASSERT_OK(pk_db_acquire(db, PK_DB_READER, &conn));
  pk_cache_cols *h = NULL;
  if (pk_cache_cols_get(c, conn, src, cols, al, b ? 2 : 1, order, &h, &e))
    TEST_FAIL_("cols %s: %s", src, e.text);
  pk_db_release(conn);
  return h;
}

static void test_fingerprint(void) {
  char a[33], b[33];
  pk_sql_fingerprint("SELECT  a,\n  b FROM t -- note\n;", a);
  pk_sql_fingerprint("select a, b from T;;", b);
  ASSERT_STREQ(a, b);
  pk_sql_fingerprint("select /* c */ a, b from t", b);
  ASSERT_STREQ(a, b);
  pk_sql_fingerprint("select a, b from t where s = 'X'", a);
  pk_sql_fingerprint("select a, b from t where s = 'x'", b);
  ASSERT(strcmp(a, b) != 0); /* literals keep their case */
  pk_sql_fingerprint("select \"A\" from t", a);
  pk_sql_fingerprint("select \"a\" from t", b);
  ASSERT(strcmp(a, b) != 0);
  pk_sqlbuf n = {0};
  pk_sql_normalize("  SELECT 'it''s  A'  ,\t\"Q \"\"x\"\"\"  ; ", &n);
  ASSERT_STREQ(n.s, "select 'it''s  A' , \"Q \"\"x\"\"\"");
  pk_sqlbuf_free(&n);
}

static void test_cols_hits_and_values(void) {
  exec("CREATE OR REPLACE TABLE pts AS SELECT i AS a, i * 2 + 1 AS b, "
       "CASE WHEN i % 3 = 0 THEN 'p' ELSE 'q' END AS k FROM range(100000) "
       "t(i)");
  pk_cache *c = mk(64 << 20, 0);
  pk_cache_cols *h = get(c, "SELECT * FROM pts", "a", "b", NULL);
  ASSERT(!pk_cache_cols_hit(h));
  const pk_cols *v = pk_cache_cols_view(h);
  ASSERT_UEQ(v->nrows, 100000);
  ASSERT_STREQ(v->cols[0].name, "x");
  ASSERT_STREQ(v->cols[1].name, "y");
  double sum = 0;
  for (size_t i = 0; i < v->nrows; i++) {
    ASSERT_DEQ(v->cols[1].v[i], v->cols[0].v[i] * 2 + 1, 0);
    sum += v->cols[0].v[i];
  }
  ASSERT_DEQ(sum, 99999.0 * 100000 / 2, 0);
  /* Same source re-spelled, and a subset: hits on the same entry. */
  pk_cache_cols *h2 = get(c, "select *  from PTS", "b", NULL, NULL);
  ASSERT(pk_cache_cols_hit(h2));
  ASSERT_STREQ(pk_cache_cols_view(h2)->cols[0].name, "x");
  ASSERT(pk_cache_cols_view(h2)->cols[0].v == v->cols[1].v);
  /* A column the entry lacks, or an ORDER BY, is a new entry. */
  pk_cache_cols *h3 = get(c, "SELECT * FROM pts", "a", "k", NULL);
  ASSERT(!pk_cache_cols_hit(h3));
  ASSERT(pk_cache_cols_view(h3)->cols[1].is_categorical);
  pk_cache_cols *h4 = get(c, "SELECT * FROM pts", "a", "b", "b");
  ASSERT(!pk_cache_cols_hit(h4));
  pk_cache_stats st;
  pk_cache_stats_get(c, &st);
  ASSERT_UEQ(st.hits, 1);
  ASSERT_UEQ(st.misses, 3);
  ASSERT_UEQ(st.col_entries, 3);
  ASSERT(st.resident >= 100000 * 8 * 6);
  pk_cache_cols_release(h);
  pk_cache_cols_release(h2);
  pk_cache_cols_release(h3);
  pk_cache_cols_release(h4);
  /* An import/DDL bumps the catalog version: the next request reloads
   * and sees the new data. */
  exec("INSERT INTO pts VALUES (100000, 0, 'q')");
  h = get(c, "SELECT * FROM pts", "a", "b", NULL);
  ASSERT(!pk_cache_cols_hit(h));
  ASSERT_UEQ(pk_cache_cols_view(h)->nrows, 100001);
  pk_cache_cols_release(h);
  pk_cache_free(c);
}

static void test_missing_column(void) {
  pk_cache *c = mk(64 << 20, 0);
  const char *cols[] = {"nope"};
  pk_db_conn *conn;
  ASSERT_OK(pk_db_acquire(db, PK_DB_READER, &conn));
  pk_cache_cols *h = NULL;
  ASSERT_ERR(pk_cache_cols_get(c, conn, "SELECT * FROM pts", cols, NULL, 1,
                               NULL, &h, &e),
             PK_EINVAL);
  ASSERT(strstr(e.text, "nope"));
  pk_db_release(conn);
  pk_cache_stats st;
  pk_cache_stats_get(c, &st);
  ASSERT_UEQ(st.col_entries, 0); /* a failed load leaves nothing */
  ASSERT_UEQ(st.resident, 0);
  pk_cache_free(c);
}

/* 3 entries of ~1.6 MB under a 2.5 MB budget: the least recent ones go to
 * spill files (values intact, read through the mapping) or, without a spill
 * budget, are dropped; a pinned entry is never touched. */
static void test_budget_spill_evict(void) {
  exec("CREATE OR REPLACE TABLE big AS SELECT i AS a, -i AS b, i % 7 AS "
       "c, i % 11 AS d FROM range(100000) t(i)");
  for (int mode = 0; mode < 2; mode++) {
    pk_cache *c = mk(2500000, mode ? PK_CACHE_NO_SPILL : 0);
    pk_cache_cols *h1 = get(c, "SELECT * FROM big", "a", "b", NULL);
    const double *a1 = pk_cache_cols_view(h1)->cols[0].v;
    pk_cache_cols_release(h1);
    pk_cache_cols *h2 = get(c, "SELECT * FROM big", "c", "d", NULL);
    pk_cache_cols *h3 = get(c, "SELECT * FROM big", "a", "d", NULL);
    pk_cache_stats st;
    pk_cache_stats_get(c, &st);
    ASSERT_ULE(st.resident, 2500000 + 1700000); /* h2 + h3 pinned */
    if (mode == 0) {
      ASSERT_UEQ(st.spills, 1);
      ASSERT_UEQ(st.evictions, 0);
      ASSERT(st.spilled > 1600000);
      /* The spilled entry still answers, from the mapping. */
      h1 = get(c, "SELECT * FROM big", "a", "b", NULL);
      ASSERT(pk_cache_cols_hit(h1));
      const pk_cols *v = pk_cache_cols_view(h1);
      ASSERT(v->cols[0].v != a1);
      for (size_t i = 0; i < v->nrows; i += 997) {
        ASSERT_DEQ(v->cols[0].v[i], (double)i, 0);
        ASSERT_DEQ(v->cols[1].v[i], -(double)i, 0);
      }
      pk_cache_cols_release(h1);
    } else {
      ASSERT_UEQ(st.spills, 0);
      ASSERT_UEQ(st.evictions, 1);
      h1 = get(c, "SELECT * FROM big", "a", "b", NULL);
      ASSERT(!pk_cache_cols_hit(h1));
      pk_cache_cols_release(h1);
    }
    /* Pinned entries survive a trim to zero, and their arrays stay valid. */
    pk_cache_trim(c, 0);
    const pk_cols *v3 = pk_cache_cols_view(h3);
    ASSERT_DEQ(v3->cols[1].v[99999], 99999 % 11, 0);
    pk_cache_cols_release(h2);
    pk_cache_cols_release(h3);
    pk_cache_trim(c, 0);
    pk_cache_stats_get(c, &st);
    ASSERT_UEQ(st.resident, 0);
    pk_cache_free(c);
  }
}

typedef struct racer {
  pk_cache *c;
  double sum;
} racer;

static void *race(void *arg) {
  racer *r = arg;
  pk_cache_cols *h = get(r->c, "SELECT * FROM big", "a", "c", NULL);
  const pk_cols *v = pk_cache_cols_view(h);
  for (size_t i = 0; i < v->nrows; i++)
    r->sum += v->cols[0].v[i] + v->cols[1].v[i];
  pk_cache_cols_release(h);
  return NULL;
}

/* Four threads ask for the same missing columns: one load, four answers. */
static void test_concurrent_load(void) {
  pk_cache *c = mk(64 << 20, 0);
  pthread_t t[4];
  racer r[4];
  for (int i = 0; i < 4; i++) {
    r[i] = (racer){c, 0};
    pthread_create(&t[i], NULL, race, &r[i]);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(t[i], NULL);
    ASSERT_DEQ(r[i].sum, r[0].sum, 0);
  }
  pk_cache_stats st;
  pk_cache_stats_get(c, &st);
  ASSERT_UEQ(st.misses, 1);
  ASSERT_UEQ(st.hits, 3);
  pk_cache_free(c);
}

typedef struct collect {
  int64_t next; /* expected value of column 0 */
  uint64_t rows;
} collect;

static int check_rows(void *arg, duckdb_data_chunk ch, size_t first,
                      size_t count) {
  collect *k = arg;
  const int64_t *v =
      duckdb_vector_get_data(duckdb_data_chunk_get_vector(ch, 0));
  for (size_t i = first; i < first + count; i++) {
    if (v[i] != k->next)
      TEST_FAIL_("row value %lld, expected %lld", (long long)v[i],
                 (long long)k->next);
    k->next++;
    k->rows++;
  }
  return PK_OK;
}

static void test_results(void) {
  for (int small = 0; small < 2; small++) {
    /* small: a budget whose quarter keeps only the first chunks, so later
     * pages run LIMIT/OFFSET. */
    pk_cache *c = mk(small ? 200000 : 64 << 20, 0);
    pk_db_conn *conn;
    ASSERT_OK(pk_db_acquire(db, PK_DB_READER, &conn));
    const char *sql = "SELECT a::BIGINT AS a, 'row ' || a AS s FROM big";
    pk_cache_result *r = NULL;
    ASSERT_OK(pk_cache_result_get(c, conn, sql, &r, &e));
    ASSERT(!pk_cache_result_hit(r));
    ASSERT_UEQ(pk_cache_result_rows(r), 100000);
    ASSERT_UEQ(pk_cache_result_ncols(r), 2);
    ASSERT_STREQ(pk_cache_result_name(r, 1), "s");
    ASSERT_EQ(duckdb_get_type_id(pk_cache_result_type(r, 1)),
              DUCKDB_TYPE_VARCHAR);
    collect k = {.next = 3000};
    ASSERT_OK(pk_cache_result_page(r, conn, 3000, 5000, check_rows, &k, &e));
    ASSERT_UEQ(k.rows, 5000);
    k = (collect){.next = 99990};
    ASSERT_OK(pk_cache_result_page(r, conn, 99990, 100, check_rows, &k, &e));
    ASSERT_UEQ(k.rows, 10); /* clamped to the end */
    if (small)
      ASSERT_ERR(pk_cache_result_page(r, NULL, 99000, 10, check_rows, &k, &e),
                 PK_EINVAL);
    char id[64];
    snprintf(id, sizeof id, "%s", pk_cache_result_id(r));
    pk_cache_result_release(r);
    /* Same SQL re-spelled: a hit; by id: found. */
    ASSERT_OK(pk_cache_result_get(
        c, conn, "select a::bigint as a, 'row ' || a as s from big;", &r, &e));
    ASSERT(pk_cache_result_hit(r));
    pk_cache_result_release(r);
    ASSERT_OK(pk_cache_result_find(c, id, &r, &e));
    pk_cache_result_release(r);
    ASSERT_ERR(pk_cache_result_find(c, "0123", &r, &e), PK_ENOENT);
    /* A statement that changes the catalog runs every time and makes the
     * earlier result unreachable by SQL. */
    for (int i = 0; i < 2; i++) {
      ASSERT_OK(pk_cache_result_get(
          c, conn, "CREATE OR REPLACE TABLE tmp_r AS SELECT 1 AS x", &r, &e));
      ASSERT(!pk_cache_result_hit(r));
      pk_cache_result_release(r);
    }
    ASSERT_OK(pk_cache_result_get(c, conn, sql, &r, &e));
    ASSERT(!pk_cache_result_hit(r));
    pk_cache_result_release(r);
    /* SQL errors pass through and leave nothing behind. */
    ASSERT_ERR(pk_cache_result_get(c, conn, "SELECT nope FROM big", &r, &e),
               PK_EINVAL);
    pk_db_release(conn);
    pk_cache_free(c);
  }
}

/* pk_plot_load + pk_plot_build give the same model as pk_plot_sql +
 * pk_cols_load; a new viewport or kind over the same columns is a hit. */
static void test_plot_load(void) {
  pk_cache *c = mk(64 << 20, 0);
  pk_db_conn *conn;
  ASSERT_OK(pk_db_acquire(db, PK_DB_READER, &conn));
  const char *src = "SELECT * FROM pts";
  pk_plot_spec sp = {
      .kind = PK_PLOT_SCATTER, .x = "a", .y = "b", .width = 400, .height = 300};
  for (int round = 0; round < 3; round++) {
    if (round == 1) { /* zoom in */
      sp.x_fixed = sp.y_fixed = true;
      sp.x0 = 100, sp.x1 = 5000, sp.y0 = 0, sp.y1 = 4000;
    }
    if (round == 2) /* another kind over the same x */
      sp.kind = PK_PLOT_HISTOGRAM;
    pk_cache_cols *h = NULL;
    ASSERT_OK(pk_plot_load(c, conn, &sp, src, &h, &e));
    ASSERT(pk_cache_cols_hit(h) == (round > 0));
    pk_plot_out *o1 = NULL, *o2 = NULL;
    ASSERT_OK(pk_plot_build(NULL, &sp, pk_cache_cols_view(h), &o1, &e));
    pk_sqlbuf q = {0};
    ASSERT_OK(pk_plot_sql(&sp, src, &q, &e));
    pk_cols *direct = NULL;
    ASSERT_OK(pk_cols_load(conn, q.s, &direct, &e));
    ASSERT_OK(pk_plot_build(NULL, &sp, direct, &o2, &e));
    ASSERT_UEQ(pk_plot_out_points(o1), pk_plot_out_points(o2));
    ASSERT_EQ(pk_plot_out_model(o1)->kind, pk_plot_out_model(o2)->kind);
    pk_plot_out_free(o1);
    pk_plot_out_free(o2);
    pk_cols_free(direct);
    pk_sqlbuf_free(&q);
    pk_cache_cols_release(h);
  }
  /* Line over the cache's sorted x (used in place) and over pk_plot_sql's
   * own ORDER BY load (copied, checked): the same M4 points, for the full
   * range and a zoomed one. Rows arrive shuffled and with NULL x. */
  exec("CREATE OR REPLACE TABLE wave AS SELECT CASE WHEN i % 997 = 0 THEN "
       "NULL ELSE i END AS t, sin(i / 300.0) AS v FROM range(50000) r(i) "
       "ORDER BY hash(i)");
  pk_plot_spec ln = {
      .kind = PK_PLOT_LINE, .x = "t", .y = "v", .width = 300, .height = 200};
  for (int round = 0; round < 2; round++) {
    if (round == 1)
      ln.x_fixed = true, ln.x0 = 1000, ln.x1 = 20000;
    pk_cache_cols *h = NULL;
    ASSERT_OK(pk_plot_load(c, conn, &ln, "SELECT * FROM wave", &h, &e));
    ASSERT(pk_cols_find(pk_cache_cols_view(h), "x")->sorted);
    pk_plot_out *o1 = NULL, *o2 = NULL;
    ASSERT_OK(pk_plot_build(NULL, &ln, pk_cache_cols_view(h), &o1, &e));
    pk_sqlbuf q = {0};
    ASSERT_OK(pk_plot_sql(&ln, "SELECT * FROM wave", &q, &e));
    pk_cols *direct = NULL;
    ASSERT_OK(pk_cols_load(conn, q.s, &direct, &e));
    ASSERT(!pk_cols_find(direct, "x")->sorted);
    ASSERT_OK(pk_plot_build(NULL, &ln, direct, &o2, &e));
    const pk_plot *m1 = pk_plot_out_model(o1), *m2 = pk_plot_out_model(o2);
    ASSERT_UEQ(m1->nseries, 1);
    ASSERT_UEQ(m1->series[0].n, m2->series[0].n);
    ASSERT(m1->series[0].n <= 4 * 300);
    for (size_t i = 0; i < m1->series[0].n; i++) {
      ASSERT_DEQ(m1->series[0].x[i], m2->series[0].x[i], 0);
      ASSERT_DEQ(m1->series[0].y[i], m2->series[0].y[i], 0);
    }
    ASSERT_UEQ(pk_plot_out_points(o1), pk_plot_out_points(o2));
    ASSERT_UEQ(pk_plot_out_points(o1), round ? 19000 - 19 : 50000 - 51);
    pk_plot_out_free(o1);
    pk_plot_out_free(o2);
    pk_cols_free(direct);
    pk_sqlbuf_free(&q);
    pk_cache_cols_release(h);
  }
  /* Bar: the grouped query's result is cached, and hit again. */
  pk_plot_spec bar = {.kind = PK_PLOT_BAR,
                      .x = "k",
                      .agg = PK_KAGG_COUNT,
                      .width = 400,
                      .height = 300};
  for (int round = 0; round < 2; round++) {
    pk_cache_cols *h = NULL;
    ASSERT_OK(pk_plot_load(c, conn, &bar, src, &h, &e));
    ASSERT(pk_cache_cols_hit(h) == (round > 0));
    const pk_cols *v = pk_cache_cols_view(h);
    ASSERT_UEQ(v->nrows, 2);
    ASSERT_DEQ(v->cols[1].v[0] + v->cols[1].v[1], 100001, 0);
    pk_cache_cols_release(h);
  }
  pk_db_release(conn);
  pk_cache_free(c);
}

/* The density index kept with a column entry: built once, found by the
 * view's names, the same raster as a scan, accounted in the budget, and
 * dropped (and counted out) when the entry spills. */
static void test_index(void) {
  exec("CREATE OR REPLACE TABLE cloud AS SELECT random() AS p, "
       "CASE WHEN i % 101 = 0 THEN NULL ELSE random() * 3 END AS q FROM "
       "range(300000) t(i)");
  pk_cache *c = mk(64 << 20, 0);
  pk_cache_cols *h = get(c, "SELECT * FROM cloud", "p", "q", NULL);
  ASSERT(pk_cache_cols_index(h, "x", "y") == NULL);
  pk_cache_stats st0, st;
  pk_cache_stats_get(c, &st0);
  ASSERT_EQ(pk_cache_cols_index_build(h, "x", "nope", &e), PK_EINVAL);
  ASSERT_OK(pk_cache_cols_index_build(h, "x", "y", &e));
  ASSERT_OK(pk_cache_cols_index_build(h, "x", "y", &e)); /* already there */
  const pk_dindex *dix = pk_cache_cols_index(h, "x", "y");
  ASSERT(dix != NULL);
  ASSERT(pk_cache_cols_index(h, "y", "x") == NULL); /* another pair */
  pk_cache_stats_get(c, &st);
  ASSERT_UEQ(st.indexes, 1);
  ASSERT_UEQ(st.indexing, 0);
  ASSERT_UEQ(st.resident, st0.resident + pk_dindex_bytes(dix));

  /* A second handle finds it too, and outlives the first. */
  pk_cache_cols *h2 = pk_cache_cols_retain(h);
  ASSERT(h2 != NULL);
  pk_cache_cols_release(h);
  ASSERT(pk_cache_cols_index(h2, "x", "y") == dix);
  pk_plot_spec sp = {.kind = PK_PLOT_DENSITY,
                     .x = "x",
                     .y = "y",
                     .width = 300,
                     .height = 200,
                     .x_fixed = true,
                     .y_fixed = true,
                     .x0 = 0.1,
                     .x1 = 0.6,
                     .y0 = 1,
                     .y1 = 2.5};
  pk_plot_out *o1 = NULL, *o2 = NULL;
  const pk_cols *v = pk_cache_cols_view(h2);
  ASSERT_OK(pk_plot_build_indexed(NULL, &sp, v, dix, &o1, &e));
  ASSERT_OK(pk_plot_build(NULL, &sp, v, &o2, &e));
  const pk_grid *g1 = &pk_plot_out_model(o1)->grid,
                *g2 = &pk_plot_out_model(o2)->grid;
  ASSERT_UEQ(g1->nx * g1->ny, 150 * 100);
  for (size_t i = 0; i < g1->nx * g1->ny; i++)
    ASSERT_DEQ(g1->v[i], g2->v[i], 0);
  ASSERT_UEQ(pk_plot_out_points(o1), pk_plot_out_points(o2));
  ASSERT(pk_plot_out_points(o1) > 50000);
  pk_plot_out_free(o1);
  pk_plot_out_free(o2);
  pk_cache_cols_release(h2);

  /* Spilled with its columns: the index goes, and its bytes with it. */
  pk_cache_trim(c, 0);
  pk_cache_stats_get(c, &st);
  ASSERT_UEQ(st.indexes, 0);
  ASSERT_UEQ(st.resident, 0);
  h = get(c, "SELECT * FROM cloud", "p", "q", NULL);
  ASSERT(pk_cache_cols_hit(h));
  ASSERT(pk_cache_cols_index(h, "x", "y") == NULL);
  /* ... and spilled columns are not indexed again. */
  ASSERT_OK(pk_cache_cols_index_build(h, "x", "y", &e));
  ASSERT(pk_cache_cols_index(h, "x", "y") == NULL);
  pk_cache_stats_get(c, &st);
  ASSERT_UEQ(st.indexes, 0);
  pk_cache_cols_release(h);
  pk_cache_free(c);
}

int main(void) {
  pk_db_config cfg = {.path = ":memory:"};
  ASSERT_OK(pk_db_open(&cfg, &db, &e));
  RUN(test_fingerprint);
  RUN(test_cols_hits_and_values);
  RUN(test_missing_column);
  RUN(test_plot_load);
  RUN(test_budget_spill_evict);
  RUN(test_concurrent_load);
  RUN(test_results);
  RUN(test_index);
  pk_db_close(db);
  return 0;
}
