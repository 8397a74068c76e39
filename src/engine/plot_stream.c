/* plot_stream.c — plots built from the cache or while the rows stream past;
 * see plot_stream.h. */
#include "engine/plot_stream.h"

#include <string.h>

#include "engine/kernels.h"

typedef struct counting {
  pk_db_conn *conn;
  const char *sql; /* SELECT x, y FROM (source), as pk_plot_sql builds it */
  pk_density2d_acc *acc;
} counting;

static int count_batch(void *arg, const pk_cols *b, pk_errmsg *e) {
  (void)e;
  counting *k = arg;
  pk_density2d_acc_add(k->acc, pk_cols_find(b, "x")->v, pk_cols_find(b, "y")->v,
                       b->nrows);
  return PK_OK;
}

/* The second scan: the points counted as they stream past. */
static int count_stream(void *arg, pk_pool *pool, const pk_density2d_spec *ds,
                        uint64_t *counts, pk_kstats *ks, pk_errmsg *e) {
  (void)pool; /* DuckDB's threads produce the rows; one consumer counts */
  counting *k = arg;
  int err = pk_density2d_acc_begin(ds, &k->acc);
  if (err)
    return pk_errmsg_set(e, err, "cannot bin the points");
  err = pk_cols_scan(k->conn, k->sql, 0, count_batch, k, e);
  pk_density2d_acc_end(k->acc, counts, ks);
  return err;
}

/* Builds s from shape by scanning sql (pk_plot_sql's query) again and
 * counting the points as they stream past. */
static int stream_build(pk_db_conn *conn, pk_pool *pool, const pk_plot_spec *s,
                        const char *sql, const pk_cols *shape,
                        pk_plot_out **out, pk_errmsg *e) {
  counting k = {.conn = conn, .sql = sql};
  pk_plot_counter counter = {count_stream, &k};
  return pk_plot_build_counted(pool, s, shape, &counter, out, e);
}

int pk_plot_run(pk_cache *cache, pk_db_conn *conn, pk_pool *pool,
                const pk_plot_spec *s, const char *source,
                size_t stream_min_rows, pk_plot_result *r, pk_errmsg *e) {
  memset(r, 0, sizeof *r);
  int err = PK_OK;
  pk_sqlbuf q = {0};
  if (stream_min_rows && pk_plot_streamable(s) &&
      !(err = pk_plot_sql(s, source, &q, e))) {
    const char *cols[4], *alias[4];
    size_t n = pk_plot_columns(s, cols, alias);
    size_t keep = stream_min_rows - 1;
    if (s->kind == PK_PLOT_SCATTER && keep < PK_PLOT_SCATTER_RAW_MAX)
      keep = PK_PLOT_SCATTER_RAW_MAX;
    err = pk_cache_cols_try(cache, conn, source, cols, alias, n, NULL, keep,
                            &r->cols, &r->shape, e);
    if (!err && r->shape && !pk_plot_countable(s, r->shape)) {
      pk_cols_free(r->shape);
      r->shape = NULL;
    }
    if (!err && r->shape)
      err = stream_build(conn, pool, s, q.s, r->shape, &r->out, e);
  }
  pk_sqlbuf_free(&q);
  if (!err && !r->cols && !r->shape)
    err = pk_plot_load(cache, conn, s, source, &r->cols, e);
  if (!err && r->cols)
    err = pk_plot_build_indexed(pool, s, pk_cache_cols_view(r->cols),
                                pk_cache_cols_index(r->cols, "x", "y"), &r->out,
                                e);
  if (err)
    pk_plot_result_free(r);
  return err;
}

const pk_cols *pk_plot_result_cols(const pk_plot_result *r) {
  return r->cols ? pk_cache_cols_view(r->cols) : r->shape;
}

void pk_plot_result_free(pk_plot_result *r) {
  pk_plot_out_free(r->out);
  pk_cache_cols_release(r->cols);
  pk_cols_free(r->shape);
  memset(r, 0, sizeof *r);
}
