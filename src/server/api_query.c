/* api_query.c — tables, schema, queries, result pages and cancellation:
 * GET /api/tables, GET /api/tables/NAME, POST /api/query,
 * GET /api/results/ID, POST /api/cancel. Thin wrappers over engine/db.h;
 * query results live in the engine's query-result cache (engine/cache.h),
 * which pages them and answers the same SQL again. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/clock.h"
#include "server/json_out.h"
#include "server/server_int.h"

/* Runs sql on a plain reader connection (catalog listings: short, not
 * cancellable) into rows. */
static int run_rows(pk_server *s, const char *sql, pk_jrows *rows,
                    pk_errmsg *e) {
  pk_db_conn *c = NULL;
  pk_db_acquire(s->db, PK_DB_READER, &c);
  pk_db_sink sink = pk_jrows_sink(rows);
  int err = pk_db_exec(c, sql, &sink, e);
  pk_db_release(c);
  return err ? err : rows->err;
}

static json_t *row_at(const pk_jrows *rows, size_t i) {
  return json_loads(rows->rows[i], 0, NULL);
}

int pk_api_tables(pk_req *r) {
  pk_server *s = r->s;
  pk_errmsg e = {{0}};
  pk_db_conn *c = NULL;
  char *sql = NULL;
  pk_db_acquire(s->db, PK_DB_READER, &c);
  int err = pk_db_tables_sql(c, &sql, &e);
  pk_db_release(c);
  if (err)
    return pk_reply_engine_error(r, err, &e, PK_OP_RUNNING);
  pk_jrows rows;
  pk_jrows_init(&rows, 0, 0);
  err = run_rows(s, sql, &rows, &e);
  free(sql);
  if (err) {
    pk_jrows_release(&rows);
    return pk_reply_engine_error(r, err, &e, PK_OP_RUNNING);
  }
  json_t *tables = json_array();
  for (size_t i = 0; i < rows.nrows; i++) {
    json_t *row = row_at(&rows, i);
    json_array_append_new(tables, json_pack("{s:O, s:O, s:O}", "name",
                                            json_array_get(row, 0), "rows",
                                            json_array_get(row, 1), "columns",
                                            json_array_get(row, 2)));
    json_decref(row);
  }
  pk_jrows_release(&rows);
  return pk_reply_json(r, 200, json_pack("{s:o}", "tables", tables));
}

int pk_api_table(pk_req *r) {
  pk_server *s = r->s;
  const char *name = r->path + strlen("/api/tables/");
  pk_errmsg e = {{0}};
  pk_db_conn *c = NULL;
  pk_db_acquire(s->db, PK_DB_READER, &c);
  bool exists = false;
  int err = pk_db_table_exists(c, name, &exists, &e);
  char *schema_sql = NULL;
  if (!err && exists)
    err = pk_db_schema_sql(c, name, &schema_sql, &e);
  pk_db_release(c);
  if (!err && !exists)
    return pk_reply_error(r, 404, "not_found", "no table '%s'", name);
  if (err)
    return pk_reply_engine_error(r, err, &e, PK_OP_RUNNING);

  pk_jrows schema, preview;
  pk_jrows_init(&schema, 0, 0);
  pk_jrows_init(&preview, 20, 0);
  pk_sqlbuf q = {0};
  pk_sqlbuf_add(&q, "SELECT * FROM ");
  pk_sqlbuf_ident(&q, name);
  err = run_rows(s, schema_sql, &schema, &e);
  if (!err)
    err = q.err ? PK_ENOMEM : run_rows(s, q.s, &preview, &e);
  pk_sqlbuf_free(&q);
  free(schema_sql);
  if (err) {
    pk_jrows_release(&schema);
    pk_jrows_release(&preview);
    return pk_reply_engine_error(r, err, &e, PK_OP_RUNNING);
  }
  json_t *cols = json_array();
  for (size_t i = 0; i < schema.nrows; i++) {
    json_t *row = row_at(&schema, i);
    json_array_append_new(
        cols, json_pack("{s:O, s:O, s:O, s:O, s:O, s:O}", "name",
                        json_array_get(row, 0), "type", json_array_get(row, 1),
                        "nulls", json_array_get(row, 2), "min",
                        json_array_get(row, 3), "max", json_array_get(row, 4),
                        "distinct", json_array_get(row, 5)));
    json_decref(row);
  }
  char *prow = pk_jrows_join(preview.rows, 0, preview.nrows);
  json_t *prows = prow ? json_loads(prow, 0, NULL) : json_array();
  free(prow);
  json_t *out = json_pack(
      "{s:s, s:I, s:o, s:{s:O, s:o}}", "name", name, "rows",
      (json_int_t)preview.total_rows, "columns", cols, "preview", "columns",
      preview.columns ? preview.columns : json_array(), "rows", prows);
  pk_jrows_release(&schema);
  pk_jrows_release(&preview);
  return pk_reply_json(r, 200, out);
}

/* ---- queries ------------------------------------------------------------- */

/* Whether nothing but blanks and ';' follow the first ';' (a rough test:
 * a ';' inside a string literal makes a query look multi-statement, which
 * only costs it the cache). */
static bool single_statement(const char *sql) {
  const char *p = strchr(sql, ';');
  if (!p)
    return true;
  for (; *p; p++)
    if (*p != ';' && !isspace((unsigned char)*p))
      return false;
  return true;
}

/* Read-only statements run on a reader; anything else takes the writer
 * (the cache runs it every time, as it changes the catalog). */
static bool is_read_only(const char *sql) {
  static const char *const kw[] = {"SELECT", "WITH",     "FROM",    "VALUES",
                                   "SHOW",   "DESCRIBE", "EXPLAIN", "SUMMARIZE",
                                   "TABLE",  "(",        NULL};
  while (*sql && (isspace((unsigned char)*sql) || *sql == ';'))
    sql++;
  for (int i = 0; kw[i]; i++) {
    size_t l = strlen(kw[i]);
    if (!strncasecmp(sql, kw[i], l) &&
        (l == 1 || !isalnum((unsigned char)sql[l])))
      return single_statement(sql);
  }
  return false;
}

typedef struct qjob {
  pk_server *s;
  pk_op *op;
  const char *sql;
  pk_db_role role;
  const char *id; /* a result to page (GET /api/results), or NULL */
  uint64_t offset, limit;
  pk_cache_result *res; /* pinned on success; the caller releases it */
  pk_sqlbuf page;       /* rows [offset, offset + limit) as a JSON array */
  int err;
  pk_errmsg e;
} qjob;

/* Runs (or finds) the query in the engine's query-result cache and renders
 * the page asked for while the connection is held (pages past the rows the
 * cache keeps in memory run the SQL again with LIMIT/OFFSET). */
static void query_task(void *arg) {
  qjob *q = arg;
  pk_db_conn *c = NULL;
  if (pk_op_acquire(q->s, q->op, q->role, &c) != PK_OP_RUNNING) {
    pk_op_release(q->s, q->op, c);
    q->err = PK_EINTERRUPTED;
    return;
  }
  q->err = q->id ? pk_cache_result_find(q->s->cache, q->id, &q->res, &q->e)
                 : pk_cache_result_get(q->s->cache, c, q->sql, &q->res, &q->e);
  pk_sqlbuf_add(&q->page, "[");
  if (!q->err)
    q->err = pk_cache_result_page(q->res, c, q->offset, q->limit,
                                  pk_json_rows_append, &q->page, &q->e);
  pk_sqlbuf_add(&q->page, "]");
  if (!q->err && q->page.err)
    q->err = pk_errmsg_set(&q->e, PK_ENOMEM, "out of memory");
  pk_op_release(q->s, q->op, c);
}

static int get_limit(json_t *v, uint64_t def, uint64_t *out) {
  if (!v || json_is_null(v)) {
    *out = def;
    return 0;
  }
  if (!json_is_integer(v) || json_integer_value(v) < 0)
    return -1;
  json_int_t l = json_integer_value(v);
  *out = l > PK_PAGE_MAX ? PK_PAGE_MAX : (uint64_t)l;
  return 0;
}

static json_t *columns_json(const pk_cache_result *res) {
  json_t *a = json_array();
  for (size_t i = 0; a && i < pk_cache_result_ncols(res); i++)
    json_array_append_new(
        a, json_pack("{s:s, s:o}", "name", pk_cache_result_name(res, i), "type",
                     pk_json_type_name(pk_cache_result_type(res, i))));
  return a;
}

/* Replies {head..., "rows": rows}: rows is already JSON text, spliced in
 * rather than parsed again. Steals head. */
static int reply_rows(pk_req *r, json_t *head, const char *rows) {
  char *h = head ? json_dumps(head, JSON_COMPACT) : NULL;
  json_decref(head);
  if (!h)
    return pk_reply_error(r, 500, "internal", "out of memory");
  size_t hl = strlen(h), rl = strlen(rows);
  char *body = malloc(hl + rl + 16);
  if (!body) {
    free(h);
    return pk_reply_error(r, 500, "internal", "out of memory");
  }
  memcpy(body, h, hl - 1); /* without the closing brace */
  size_t n = hl - 1;
  memcpy(body + n, ",\"rows\":", 8);
  n += 8;
  memcpy(body + n, rows, rl);
  n += rl;
  body[n++] = '}';
  free(h);
  int st = pk_reply_text(r, 200, "application/json", body, n, NULL, NULL);
  free(body);
  return st;
}

/* Runs q as an interactive op registered under request (may be NULL);
 * returns 0, or the error reply sent. */
static int run_query(pk_req *r, qjob *q, json_t *request) {
  pk_server *s = r->s;
  pk_op op = {0};
  if (json_is_string(request))
    snprintf(op.request, sizeof op.request, "%s", json_string_value(request));
  pk_client_id(mg_get_header(r->c, "X-Pika-Client"), op.client);
  op.deadline_ns = pk_now_ns() + s->timeout_ns;
  q->s = s;
  q->op = &op;
  q->err = PK_ECANCELED;
  pk_ops_begin(&s->ops, &op);
  pk_run_task(s, &op, PK_PRIO_INTERACTIVE, query_task, q);
  pk_op_reason why = pk_ops_reason(&s->ops, &op);
  pk_ops_end(&s->ops, &op);
  if (!q->err)
    return 0;
  if (q->err == PK_ECANCELED && why == PK_OP_RUNNING)
    why = PK_OP_SHUTDOWN;
  if (q->err == PK_ENOENT && q->id)
    return pk_reply_error(r, 404, "not_found",
                          "no result '%s' (evicted: run the query again)",
                          q->id);
  return pk_reply_engine_error(
      r, q->err, &q->e,
      q->err == PK_EINTERRUPTED || q->err == PK_ECANCELED ? why
                                                          : PK_OP_RUNNING);
}

int pk_api_query(pk_req *r) {
  pk_server *s = r->s;
  json_t *body = NULL;
  int st = pk_read_json(r, &body);
  if (st)
    return st;
  const char *sql = json_string_value(json_object_get(body, "sql"));
  json_t *req = json_object_get(body, "request");
  uint64_t limit;
  if (!sql || !*sql || (req && !json_is_string(req) && !json_is_null(req)) ||
      get_limit(json_object_get(body, "limit"), 200, &limit)) {
    json_decref(body);
    return pk_reply_error(r, 400, "bad_request",
                          "wants {\"sql\": string, \"request\": string, "
                          "\"limit\": integer}");
  }
  uint64_t t0 = pk_now_ns();
  bool ro = is_read_only(sql);
  uint64_t ver0 = pk_db_catalog_version(s->db);
  qjob q = {.sql = sql,
            .role = ro ? PK_DB_READER : PK_DB_WRITER,
            .limit = ro ? limit : 0};
  st = run_query(r, &q, req);
  if (!st) {
    /* A statement that changed the catalog answers no rows: its result
     * (a count) is not something to page through. */
    bool changed = !ro || pk_db_catalog_version(s->db) != ver0;
    bool hit = pk_cache_result_hit(q.res);
    double ms = hit ? (double)(pk_now_ns() - t0) / 1e6
                    : (double)pk_cache_result_elapsed_ns(q.res) / 1e6;
    json_t *head = json_pack(
        "{s:s, s:o, s:I, s:f, s:b}", "result", pk_cache_result_id(q.res),
        "columns", columns_json(q.res), "total_rows",
        (json_int_t)(changed ? 0 : pk_cache_result_rows(q.res)), "elapsed_ms",
        ms, "cached", hit);
    st = reply_rows(r, head, changed ? "[]" : q.page.s);
  }
  pk_cache_result_release(q.res);
  pk_sqlbuf_free(&q.page);
  json_decref(body);
  return st;
}

static int parse_u64(const char *s, uint64_t *out) {
  char *end;
  if (!*s || *s == '-')
    return -1;
  unsigned long long v = strtoull(s, &end, 10);
  if (*end)
    return -1;
  *out = v;
  return 0;
}

int pk_api_results(pk_req *r) {
  const char *id = r->path + strlen("/api/results/");
  char b[32];
  uint64_t offset = 0, limit = 200;
  if ((pk_query_param(r, "offset", b, sizeof b) && parse_u64(b, &offset)) ||
      (pk_query_param(r, "limit", b, sizeof b) && parse_u64(b, &limit)))
    return pk_reply_error(r, 400, "bad_request",
                          "offset and limit must be non-negative integers");
  qjob q = {.id = id,
            .role = PK_DB_READER,
            .offset = offset,
            .limit = limit > PK_PAGE_MAX ? PK_PAGE_MAX : limit};
  int st = run_query(r, &q, NULL);
  if (!st) {
    json_t *head =
        json_pack("{s:s, s:I, s:I}", "result", id, "offset", (json_int_t)offset,
                  "total_rows", (json_int_t)pk_cache_result_rows(q.res));
    st = reply_rows(r, head, q.page.s);
  }
  pk_cache_result_release(q.res);
  pk_sqlbuf_free(&q.page);
  return st;
}

int pk_api_cancel(pk_req *r) {
  json_t *body = NULL;
  int st = pk_read_json(r, &body);
  if (st)
    return st;
  const char *req = json_string_value(json_object_get(body, "request"));
  if (!req) {
    json_decref(body);
    return pk_reply_error(r, 400, "bad_request", "wants {\"request\": string}");
  }
  bool done = pk_ops_cancel_request(&r->s->ops, req);
  json_decref(body);
  return pk_reply_json(r, 200, json_pack("{s:b}", "cancelled", done));
}
