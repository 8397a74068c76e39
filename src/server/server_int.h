/*
 * server_int.h — what the server's modules share (not a public header):
 * the server struct, the request context and the reply helpers that every
 * handler uses so that each error has the same JSON shape.
 */
#ifndef PIKA_SERVER_SERVER_INT_H
#define PIKA_SERVER_SERVER_INT_H

#include <civetweb.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "engine/cache.h"
#include "engine/columns.h"
#include "engine/plot.h"
#include "runtime/metrics.h"
#include "runtime/pool.h"
#include "server/auth.h"
#include "server/ops.h"
#include "server/server.h"
#include "server/ws.h"

#define PK_JSON_BODY_MAX ((long long)1 << 20)
#define PK_UPLOAD_MAX ((long long)64 << 30)
#define PK_PAGE_MAX 10000
#define PK_MAX_JOBS 64

typedef enum pk_job_state {
  PK_JOB_RUNNING,
  PK_JOB_DONE,
  PK_JOB_ERROR
} pk_job_state;

typedef struct pk_job {
  int id;
  pk_job_state state;
  double percent;
  uint64_t rows, rejects;
  char table[256];
  char message[512];
  /* the request, freed when the job ends */
  char *path, **types;
  size_t ntypes;
  char *delimiter;
  int header;
  bool replace;
} pk_job;

struct pk_server {
  pk_db *db;
  struct mg_context *ctx;
  int port;
  char token[PK_TOKEN_BUF];
  char web_root[PATH_MAX];
  int has_web;
  char upload_dir[PATH_MAX];
  uint64_t started_ns, timeout_ns;
  uint64_t index_min_rows;
  size_t stream_min_rows; /* engine/plot_stream.h; 0: never stream */
  atomic_uint_fast64_t plots_streamed;
  pk_pool *exec;   /* queries, plots (interactive), imports, exports */
  pk_pool *kern;   /* plot kernels */
  pk_pool *http;   /* runs the handlers (civetweb's stacks are too small) */
  pk_cache *cache; /* plot columns and query results (engine/cache.h) */
  pk_metrics *metrics;
  pk_ws_hub *ws;
  pk_ops ops;
  /* jobs */
  pthread_mutex_t jobs_mu;
  pk_job *jobs[PK_MAX_JOBS]; /* ring of the latest jobs */
  int next_job;
  pk_job *running_job; /* the one on the writer now */
  pk_db_conn *job_conn;
  /* writer serialisation for workspace writes */
  pthread_mutex_t ws_doc_mu;
  /* ticker */
  pthread_t ticker;
  pthread_mutex_t tick_mu;
  pthread_cond_t tick_cv;
  bool stopping;
  uint64_t last_catalog;
};

/* One request being handled. */
typedef struct pk_req {
  pk_server *s;
  struct mg_connection *c;
  const struct mg_request_info *ri;
  const char *method, *path, *query;
  int status; /* what was sent */
} pk_req;

/* Replies. Each returns the status sent. */
int pk_reply_json(pk_req *r, int status, json_t *body); /* steals body */
/* Streams f (closed here) as a 200 of type mime with its size as
 * Content-Length and the extra headers (name, value, ..., NULL); no body
 * for HEAD. */
int pk_reply_file(pk_req *r, FILE *f, const char *mime,
                  const char *const *extra);
int pk_reply_text(pk_req *r, int status, const char *mime, const char *body,
                  size_t len, const char *extra_name, const char *extra_value);
int pk_reply_error(pk_req *r, int status, const char *code, const char *fmt,
                   ...) __attribute__((format(printf, 4, 5)));
/* An engine error: 422 sql_error with "line" from DuckDB's "LINE N:" for
 * PK_EINVAL/PK_ENOENT, 409/504/503 for a stopped op, 500 otherwise. */
int pk_reply_engine_error(pk_req *r, int err, const pk_errmsg *e,
                          pk_op_reason why);
/* Reads a JSON object body (<= 1 MiB). Returns 0 and sets *out, or the
 * status of the error reply it sent (400, 413). */
int pk_read_json(pk_req *r, json_t **out);
/* Query-string parameter into buf; false if absent. */
bool pk_query_param(pk_req *r, const char *name, char *buf, size_t cap);
/* A page's id (1..63 of [A-Za-z0-9_-]) into out, or "" when s is not one.
 * Pages send theirs as X-Pika-Client and on /api/ws?client=. */
void pk_client_id(const char *s, char out[64]);

/* Runs fn(arg) on the executor at prio, registered as op (which the
 * caller has filled), waiting for it. Returns PK_OK or PK_ECANCELED (the
 * task never ran; see op->reason). */
int pk_run_task(pk_server *s, pk_op *op, pk_priority prio,
                void (*fn)(void *arg), void *arg);
/* Takes a connection for an op: acquires role and attaches; returns the
 * op's reason (not RUNNING: the connection was released again, *c NULL). */
pk_op_reason pk_op_acquire(pk_server *s, pk_op *op, pk_db_role role,
                           pk_db_conn **c);
void pk_op_release(pk_server *s, pk_op *op, pk_db_conn *c);

/* ---- handlers (api_*.c) ---------------------------------------------------
 */
int pk_api_health(pk_req *r);
int pk_api_metrics(pk_req *r);
int pk_api_status(pk_req *r);
json_t *pk_status_json(pk_server *s);
int pk_api_tables(pk_req *r);
int pk_api_table(pk_req *r);
int pk_api_query(pk_req *r);
int pk_api_results(pk_req *r);
int pk_api_cancel(pk_req *r);
int pk_api_plot(pk_req *r);
int pk_api_export(pk_req *r);
int pk_api_upload(pk_req *r);
int pk_api_import_preview(pk_req *r);
int pk_api_import(pk_req *r);
int pk_api_job(pk_req *r);
int pk_api_workspace_get(pk_req *r);
int pk_api_workspace_put(pk_req *r);

/* Jobs: broadcast a job's state on the WebSocket (under jobs_mu). */
json_t *pk_job_json(const pk_job *j);
void pk_jobs_tick(pk_server *s);
void pk_jobs_free(pk_server *s);

/* Parses a protocol plot spec {"kind", "x", ...} and optional viewport
 * into *spec, whose strings point into j. Returns 0 or the 400 reply sent
 * (r may be NULL: then just PK_EINVAL with msg). */
int pk_parse_plot_spec(json_t *spec_j, json_t *viewport, int width, int height,
                       pk_plot_spec *spec, char *msg, size_t cap);

#endif /* PIKA_SERVER_SERVER_INT_H */
