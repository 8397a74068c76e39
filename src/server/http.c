/*
 * http.c — the browser server's HTTP side: civetweb on 127.0.0.1, the
 * request gate, routing, replies, request metrics, the WebSocket
 * callbacks and the one-second ticker. See server.h for the whole design
 * and docs/PROTOCOL.md for the contract.
 *
 * The gate, in order, for every request including the WebSocket upgrade:
 *   1. Host must be loopback (DNS rebinding)            -> 403 forbidden
 *   2. GET /?token=T with the right T sets the cookie    -> 303 to /
 *   3. the token, as cookie pika_PORT or Bearer          -> 401 unauthorized
 *   4. WebSocket only: Origin must be this server        -> 403 forbidden
 * Only then is a handler chosen from the route table.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/paths.h"
#include "base/sys.h"
#include "engine/plot_stream.h"
#include "server/assets.h"
#include "server/server_int.h"

/* ---- replies ------------------------------------------------------------- */

int pk_reply_file(pk_req *r, FILE *f, const char *mime,
                  const char *const *extra) {
  struct stat st;
  if (fstat(fileno(f), &st) != 0) {
    fclose(f);
    return pk_reply_error(r, 500, "internal", "cannot read the file to send");
  }
  char cl[32];
  snprintf(cl, sizeof cl, "%lld", (long long)st.st_size);
  mg_response_header_start(r->c, 200);
  mg_response_header_add(r->c, "Content-Type", mime, -1);
  mg_response_header_add(r->c, "Content-Length", cl, -1);
  for (size_t i = 0; extra && extra[i]; i += 2)
    mg_response_header_add(r->c, extra[i], extra[i + 1], -1);
  mg_response_header_send(r->c);
  if (strcmp(r->method, "HEAD")) {
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
      if (mg_write(r->c, buf, n) <= 0)
        break;
  }
  fclose(f);
  r->status = 200;
  return 200;
}

int pk_reply_text(pk_req *r, int status, const char *mime, const char *body,
                  size_t len, const char *extra_name, const char *extra_value) {
  char cl[32];
  snprintf(cl, sizeof cl, "%zu", len);
  mg_response_header_start(r->c, status);
  mg_response_header_add(r->c, "Content-Type", mime, -1);
  mg_response_header_add(r->c, "Content-Length", cl, -1);
  mg_response_header_add(r->c, "Cache-Control", "no-store", -1);
  mg_response_header_add(r->c, "X-Content-Type-Options", "nosniff", -1);
  if (extra_name)
    mg_response_header_add(r->c, extra_name, extra_value, -1);
  mg_response_header_send(r->c);
  if (len && strcmp(r->method, "HEAD"))
    mg_write(r->c, body, len);
  r->status = status;
  return status;
}

int pk_reply_json(pk_req *r, int status, json_t *body) {
  char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
  json_decref(body);
  if (!text) {
    static const char oom[] =
        "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}";
    return pk_reply_text(r, 500, "application/json", oom, sizeof oom - 1, NULL,
                         NULL);
  }
  pk_reply_text(r, status, "application/json", text, strlen(text), NULL, NULL);
  free(text);
  return status;
}

static int reply_error_v(pk_req *r, int status, const char *code, long line,
                         const char *fmt, va_list ap) {
  char msg[1024];
  vsnprintf(msg, sizeof msg, fmt, ap);
  json_t *err = json_pack("{s:s, s:s}", "code", code, "message", msg);
  if (err && line > 0)
    json_object_set_new(err, "line", json_integer(line));
  return pk_reply_json(r, status, json_pack("{s:o}", "error", err));
}

int pk_reply_error(pk_req *r, int status, const char *code, const char *fmt,
                   ...) {
  va_list ap;
  va_start(ap, fmt);
  int st = reply_error_v(r, status, code, 0, fmt, ap);
  va_end(ap);
  return st;
}

static int reply_error_line(pk_req *r, int status, const char *code, long line,
                            const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int st = reply_error_v(r, status, code, line, fmt, ap);
  va_end(ap);
  return st;
}

/* DuckDB names the line as "LINE 2:" in parser and binder errors. */
static long error_line(const char *msg) {
  const char *p = strstr(msg, "LINE ");
  if (!p)
    return 0;
  char *end;
  long l = strtol(p + 5, &end, 10);
  return (end != p + 5 && *end == ':') ? l : 0;
}

int pk_reply_engine_error(pk_req *r, int err, const pk_errmsg *e,
                          pk_op_reason why) {
  const char *msg = e && e->text[0] ? e->text : pk_strerror(err);
  switch (why) {
  case PK_OP_CANCELLED:
    return pk_reply_error(r, 409, "cancelled", "cancelled by request");
  case PK_OP_SUPERSEDED:
    return pk_reply_error(r, 409, "superseded",
                          "a newer request for this plot replaced this one");
  case PK_OP_TIMEOUT:
    return pk_reply_error(r, 504, "timeout",
                          "over the query time limit (%llu s)",
                          (unsigned long long)(r->s->timeout_ns / 1000000000));
  case PK_OP_SHUTDOWN:
    return pk_reply_error(r, 503, "unavailable", "the server is stopping");
  default:
    break;
  }
  if (err == PK_EINVAL || err == PK_ENOENT)
    return reply_error_line(r, 422, "sql_error", error_line(msg), "%s", msg);
  return pk_reply_error(r, 500, "internal", "%s", msg);
}

int pk_read_json(pk_req *r, json_t **out) {
  long long cl = r->ri->content_length;
  if (cl > PK_JSON_BODY_MAX)
    return pk_reply_error(r, 413, "too_large",
                          "the request body is over 1 MiB");
  size_t cap = cl >= 0 ? (size_t)cl : 65536, len = 0;
  char *buf = malloc(cap + 1);
  if (!buf)
    return pk_reply_error(r, 500, "internal", "out of memory");
  for (;;) {
    if (len == cap) {
      if (cl >= 0)
        break;
      if ((long long)cap >= PK_JSON_BODY_MAX) {
        free(buf);
        return pk_reply_error(r, 413, "too_large",
                              "the request body is over 1 MiB");
      }
      char *g = realloc(buf, cap * 2 + 1);
      if (!g) {
        free(buf);
        return pk_reply_error(r, 500, "internal", "out of memory");
      }
      buf = g;
      cap *= 2;
    }
    int n = mg_read(r->c, buf + len, cap - len);
    if (n <= 0)
      break;
    len += (size_t)n;
  }
  buf[len] = '\0';
  json_error_t je;
  json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
  free(buf);
  if (!j)
    return pk_reply_error(r, 400, "bad_request",
                          "malformed JSON at line %d, column %d: %s", je.line,
                          je.column, je.text);
  if (!json_is_object(j)) {
    json_decref(j);
    return pk_reply_error(r, 400, "bad_request",
                          "the body must be a JSON object");
  }
  *out = j;
  return 0;
}

void pk_client_id(const char *s, char out[64]) {
  size_t n = 0;
  out[0] = '\0';
  if (!s)
    return;
  for (; s[n]; n++)
    if (n == 63 ||
        !(isalnum((unsigned char)s[n]) || s[n] == '-' || s[n] == '_'))
      return;
  memcpy(out, s, n + 1);
}

bool pk_query_param(pk_req *r, const char *name, char *buf, size_t cap) {
  if (!r->query)
    return false;
  return mg_get_var(r->query, strlen(r->query), name, buf, cap) >= 0;
}

/* ---- tasks --------------------------------------------------------------- */

typedef struct task_call {
  void (*fn)(void *);
  void *arg;
} task_call;

static void task_trampoline(pk_task *self, void *arg) {
  (void)self;
  task_call *tc = arg;
  tc->fn(tc->arg);
}

int pk_run_task(pk_server *s, pk_op *op, pk_priority prio,
                void (*fn)(void *arg), void *arg) {
  task_call tc = {fn, arg};
  pk_task *t = NULL;
  int err = pk_pool_submit(s->exec, prio, task_trampoline, &tc, &t);
  if (err)
    return PK_ECANCELED;
  pk_ops_set_task(&s->ops, op, t);
  err = pk_task_wait(t);
  pk_ops_set_task(&s->ops, op, NULL);
  pk_task_release(t);
  /* CANCELED also when a cancel came after fn returned; fn ran then and
   * reports its own outcome. */
  (void)err;
  return PK_OK;
}

pk_op_reason pk_op_acquire(pk_server *s, pk_op *op, pk_db_role role,
                           pk_db_conn **c) {
  *c = NULL;
  pk_op_reason why = pk_ops_reason(&s->ops, op);
  if (why != PK_OP_RUNNING)
    return why;
  pk_db_conn *conn = NULL;
  pk_db_acquire(s->db, role, &conn);
  why = pk_ops_attach(&s->ops, op, conn);
  *c = conn;
  return why;
}

void pk_op_release(pk_server *s, pk_op *op, pk_db_conn *c) {
  if (!c)
    return;
  pk_ops_attach(&s->ops, op, NULL);
  pk_db_release(c);
}

/* ---- static files -------------------------------------------------------- */

static const char no_assets_page[] =
    "<!doctype html><meta charset=utf-8><title>Pika</title>"
    "<h1>Pika's web UI is not built</h1>"
    "<p>The server and its API are running, but no UI files were found. "
    "Build them with <code>npm --prefix web ci && npm --prefix web run "
    "build</code> (into <code>web/dist</code>), or point "
    "<code>PIKA_WEB_ROOT</code> at a built UI, and reload.</p>\n";

static int serve_static(pk_req *r) {
  if (strcmp(r->method, "GET") && strcmp(r->method, "HEAD"))
    return pk_reply_error(r, 405, "method_not_allowed",
                          "%s is not allowed here", r->method);
  if (!r->s->has_web) {
    if (!strcmp(r->path, "/") || !strcmp(r->path, "/index.html"))
      return pk_reply_text(r, 200, "text/html; charset=utf-8", no_assets_page,
                           sizeof no_assets_page - 1, NULL, NULL);
    return pk_reply_error(r, 500, "internal",
                          "the web UI is not built (no asset root found)");
  }
  char file[PATH_MAX];
  pk_asset_result res = pk_assets_resolve(r->s->web_root, r->path, file);
  if (res == PK_ASSET_FORBIDDEN)
    return pk_reply_error(r, 403, "forbidden",
                          "that path is outside the web root");
  FILE *f = fopen(file, "rb");
  if (!f)
    return pk_reply_error(r, 404, "not_found", "no such file");
  const char *extra[] = {
      "Cache-Control",
      res == PK_ASSET_INDEX ? "no-cache" : pk_assets_cache_control(r->path),
      "X-Content-Type-Options", "nosniff", NULL};
  return pk_reply_file(r, f, pk_assets_mime(file), extra);
}

/* ---- routing ------------------------------------------------------------- */

typedef struct route {
  const char *method;
  const char *path; /* exact, or a prefix ending in '/' when prefix */
  bool prefix;
  int (*fn)(pk_req *r);
  const char *name; /* endpoint label for metrics */
} route;

static const route routes[] = {
    {"GET", "/health", false, pk_api_health, "health"},
    {"GET", "/metrics", false, pk_api_metrics, "metrics"},
    {"GET", "/api/status", false, pk_api_status, "status"},
    {"GET", "/api/tables", false, pk_api_tables, "tables"},
    {"GET", "/api/tables/", true, pk_api_table, "table"},
    {"POST", "/api/query", false, pk_api_query, "query"},
    {"GET", "/api/results/", true, pk_api_results, "results"},
    {"POST", "/api/cancel", false, pk_api_cancel, "cancel"},
    {"POST", "/api/plot", false, pk_api_plot, "plot"},
    {"POST", "/api/export", false, pk_api_export, "export"},
    {"POST", "/api/upload", false, pk_api_upload, "upload"},
    {"POST", "/api/import/preview", false, pk_api_import_preview,
     "import_preview"},
    {"POST", "/api/import", false, pk_api_import, "import"},
    {"GET", "/api/jobs/", true, pk_api_job, "job"},
    {"GET", "/api/workspace", false, pk_api_workspace_get, "workspace"},
    {"PUT", "/api/workspace", false, pk_api_workspace_put, "workspace"},
};

static bool path_matches(const route *rt, const char *path) {
  if (rt->prefix)
    return !strncmp(path, rt->path, strlen(rt->path)) &&
           path[strlen(rt->path)] != '\0';
  return !strcmp(path, rt->path);
}

/* Returns the status sent; *name the endpoint label. */
static int dispatch(pk_req *r, const char **name) {
  pk_server *s = r->s;
  *name = "static";
  if (!pk_auth_host_ok(mg_get_header(r->c, "Host")))
    return pk_reply_error(r, 403, "forbidden",
                          "the Host header must name 127.0.0.1, localhost "
                          "or [::1]");
  char tok[PK_TOKEN_BUF + 8];
  if (!strcmp(r->path, "/") && pk_query_param(r, "token", tok, sizeof tok)) {
    *name = "login";
    if (!pk_auth_token_eq(s->token, tok, strlen(tok)))
      return pk_reply_error(r, 401, "unauthorized", "wrong token");
    char cookie[160];
    snprintf(cookie, sizeof cookie,
             "pika_%d=%s; Path=/; HttpOnly; SameSite=Strict", s->port,
             s->token);
    mg_response_header_start(r->c, 303);
    mg_response_header_add(r->c, "Location", "/", -1);
    mg_response_header_add(r->c, "Set-Cookie", cookie, -1);
    mg_response_header_add(r->c, "Content-Length", "0", -1);
    mg_response_header_add(r->c, "Cache-Control", "no-store", -1);
    mg_response_header_send(r->c);
    r->status = 303;
    return 303;
  }
  if (!pk_auth_request_ok(s->token, mg_get_header(r->c, "Cookie"),
                          mg_get_header(r->c, "Authorization"), s->port))
    return pk_reply_error(r, 401, "unauthorized",
                          "a token is required: open the URL that "
                          "'pika open' printed, or send "
                          "'Authorization: Bearer TOKEN'");
  const route *path_hit = NULL;
  for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
    if (!path_matches(&routes[i], r->path))
      continue;
    path_hit = &routes[i];
    bool head_ok =
        !strcmp(r->method, "HEAD") && !strcmp(routes[i].method, "GET");
    if (!strcmp(routes[i].method, r->method) || head_ok) {
      *name = routes[i].name;
      return routes[i].fn(r);
    }
  }
  if (path_hit) {
    *name = path_hit->name;
    return pk_reply_error(r, 405, "method_not_allowed",
                          "%s is not allowed on %s", r->method, r->path);
  }
  if (!strncmp(r->path, "/api/", 5) || !strcmp(r->path, "/api")) {
    *name = "unknown";
    return pk_reply_error(r, 404, "not_found", "no endpoint %s", r->path);
  }
  const char *raw = r->ri->local_uri_raw ? r->ri->local_uri_raw : r->path;
  if (strstr(raw, "..") || strchr(raw, '\\'))
    return pk_reply_error(r, 403, "forbidden",
                          "that path is outside the web root");
  return serve_static(r);
}

static void count_request(pk_server *s, const char *name, int status,
                          uint64_t ns) {
  char labels[128] = "";
  char st[8];
  snprintf(st, sizeof st, "%d", status);
  pk_metrics_label_append(labels, sizeof labels, "endpoint", name);
  char lab2[160];
  memcpy(lab2, labels, sizeof labels);
  pk_metrics_label_append(lab2, sizeof lab2, "status", st);
  pk_counter *c = NULL;
  pk_hist *h = NULL;
  if (pk_metrics_counter(s->metrics, "pika_http_requests", lab2,
                         "HTTP requests by endpoint and status", &c) == PK_OK)
    pk_counter_add(c, 1);
  if (pk_metrics_hist(s->metrics, "pika_http_request_seconds", labels,
                      "HTTP request latency by endpoint", PK_UNIT_NANOSECONDS,
                      &h) == PK_OK)
    pk_hist_record(h, ns);
}

typedef struct http_call {
  pk_req *r;
  const char *name;
  int status;
} http_call;

static void http_task(pk_task *self, void *arg) {
  (void)self;
  http_call *hc = arg;
  hc->status = dispatch(hc->r, &hc->name);
}

static int on_request(struct mg_connection *c, void *arg) {
  pk_server *s = arg;
  const struct mg_request_info *ri = mg_get_request_info(c);
  pk_req r = {.s = s,
              .c = c,
              .ri = ri,
              .method = ri->request_method,
              .path = ri->local_uri ? ri->local_uri : "/",
              .query = ri->query_string};
  uint64_t t0 = pk_now_ns();
  /* civetweb's workers have small stacks (fixed when libcivetweb was
   * built), too small for DuckDB's planner and sort; the handler runs on a
   * thread of the server's own handler pool while this worker waits. */
  http_call hc = {&r, "static", 0};
  pk_task *t = NULL;
  if (pk_pool_submit(s->http, PK_PRIO_INTERACTIVE, http_task, &hc, &t) ==
      PK_OK) {
    pk_task_wait(t);
    pk_task_release(t);
  }
  if (!hc.status)
    hc.status =
        pk_reply_error(&r, 503, "unavailable", "the server is stopping");
  count_request(s, hc.name, hc.status, pk_now_ns() - t0);
  return hc.status > 0 ? hc.status : 500;
}

/* ---- WebSocket ----------------------------------------------------------- */

/* civetweb's response-header calls do not work before a WebSocket
 * handshake, so a refusal is written raw (and the connection closes). */
static int ws_refuse(struct mg_connection *c, int status, const char *code,
                     const char *msg) {
  char body[256];
  int n =
      snprintf(body, sizeof body,
               "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}", code, msg);
  mg_printf(c,
            "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
            "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
            status,
            status == 401   ? "Unauthorized"
            : status == 403 ? "Forbidden"
                            : "Service Unavailable",
            n, body);
  return status;
}

static int ws_connect(const struct mg_connection *cc, void *arg) {
  pk_server *s = arg;
  struct mg_connection *c = (struct mg_connection *)(uintptr_t)cc;
  int st = 0;
  if (!pk_auth_host_ok(mg_get_header(c, "Host")))
    st = ws_refuse(c, 403, "forbidden", "foreign Host");
  else if (!pk_auth_request_ok(s->token, mg_get_header(c, "Cookie"),
                               mg_get_header(c, "Authorization"), s->port))
    st = ws_refuse(c, 401, "unauthorized", "a token is required");
  else if (!pk_auth_origin_ok(mg_get_header(c, "Origin"), s->port))
    st = ws_refuse(c, 403, "forbidden",
                   "the WebSocket Origin must be this server");
  else if (pk_ws_hub_add(s->ws, c) != PK_OK)
    st = ws_refuse(c, 503, "unavailable", "too many WebSockets (at most 16)");
  /* The page's id, so that its running queries and plots stop when it
   * goes away (ws_close). */
  char *client = NULL;
  const char *qs = mg_get_request_info(c)->query_string;
  char raw[64];
  if (!st && qs && mg_get_var(qs, strlen(qs), "client", raw, sizeof raw) > 0 &&
      (client = malloc(64)))
    pk_client_id(raw, client);
  count_request(s, "ws", st ? st : 101, 0);
  if (st)
    return 1;
  mg_set_user_connection_data(c, client);
  return 0;
}

static void ws_ready(struct mg_connection *c, void *arg) {
  pk_server *s = arg;
  char hello[128];
  snprintf(hello, sizeof hello,
           "{\"type\":\"hello\",\"version\":1,\"catalog_version\":%llu}",
           (unsigned long long)pk_db_catalog_version(s->db));
  pk_ws_send(c, hello);
  pk_ws_hub_ready(s->ws, c);
}

static int ws_data(struct mg_connection *c, int bits, char *data, size_t len,
                   void *arg) {
  (void)arg;
  int op = bits & 0x0f;
  if (op == MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE)
    return 0;
  if (op != MG_WEBSOCKET_OPCODE_TEXT)
    return 1;
  json_t *j = json_loadb(data, len, 0, NULL);
  const char *type = json_string_value(json_object_get(j, "type"));
  if (type && !strcmp(type, "ping"))
    pk_ws_send(c, "{\"type\":\"pong\"}");
  json_decref(j);
  return 1;
}

static void ws_close(const struct mg_connection *c, void *arg) {
  pk_server *s = arg;
  pk_ws_hub_remove(s->ws, c);
  char *client = mg_get_user_connection_data(c);
  if (client && *client)
    pk_ops_cancel_client(&s->ops, client);
  free(client);
}

/* ---- the ticker ---------------------------------------------------------- */

static void *ticker_main(void *arg) {
  pk_server *s = arg;
  pthread_mutex_lock(&s->tick_mu);
  while (!s->stopping) {
    struct timespec ts = pk_mono_timespec(pk_deadline_ns(1000000000ull));
    pthread_cond_timedwait(&s->tick_cv, &s->tick_mu, &ts);
    if (s->stopping)
      break;
    pthread_mutex_unlock(&s->tick_mu);
    pk_ops_tick(&s->ops, pk_now_ns());
    pk_jobs_tick(s);
    uint64_t ver = pk_db_catalog_version(s->db);
    if (ver != s->last_catalog) {
      s->last_catalog = ver;
      char ev[96];
      snprintf(ev, sizeof ev, "{\"type\":\"catalog\",\"version\":%llu}",
               (unsigned long long)ver);
      pk_ws_hub_broadcast(s->ws, ev);
    }
    if (pk_ws_hub_count(s->ws) > 0) {
      json_t *st = pk_status_json(s);
      json_object_set_new(st, "type", json_string("status"));
      char *text = json_dumps(st, JSON_COMPACT);
      json_decref(st);
      if (text)
        pk_ws_hub_broadcast(s->ws, text);
      free(text);
    }
    pthread_mutex_lock(&s->tick_mu);
  }
  pthread_mutex_unlock(&s->tick_mu);
  return NULL;
}

/* ---- lifecycle ----------------------------------------------------------- */

static void server_free(pk_server *s) {
  if (s->http)
    pk_pool_free(s->http);
  if (s->exec)
    pk_pool_free(s->exec);
  if (s->kern)
    pk_pool_free(s->kern);
  pk_jobs_free(s);
  pk_ws_hub_free(s->ws);
  pk_metrics_free(s->metrics);
  pk_cache_free(s->cache); /* after the metrics: their gauges read it */
  pk_ops_destroy(&s->ops);
  pthread_mutex_destroy(&s->jobs_mu);
  pthread_mutex_destroy(&s->ws_doc_mu);
  pthread_mutex_destroy(&s->tick_mu);
  pthread_cond_destroy(&s->tick_cv);
  free(s);
}

/* The engine caches on /metrics, read when the page is rendered. */
#define CACHE_GAUGE(field)                                                     \
  static int64_t gauge_##field(void *arg) {                                    \
    pk_cache_stats st;                                                         \
    pk_cache_stats_get(arg, &st);                                              \
    return (int64_t)st.field;                                                  \
  }
CACHE_GAUGE(resident)
CACHE_GAUGE(spilled)
CACHE_GAUGE(budget)
CACHE_GAUGE(hits)
CACHE_GAUGE(misses)
CACHE_GAUGE(evictions)
CACHE_GAUGE(indexes)

static int cache_gauges(pk_server *s) {
  static const struct {
    const char *name, *help;
    pk_gauge_fn fn;
  } g[] = {
      {"pika_cache_resident_bytes", "bytes the engine caches hold in memory",
       gauge_resident},
      {"pika_cache_spilled_bytes", "bytes of plot columns in spill files",
       gauge_spilled},
      {"pika_cache_budget_bytes", "the engine caches' memory budget",
       gauge_budget},
      {"pika_cache_hits", "cache lookups answered from memory", gauge_hits},
      {"pika_cache_misses", "cache lookups that ran SQL", gauge_misses},
      {"pika_cache_evictions", "entries dropped for the budget",
       gauge_evictions},
      {"pika_cache_indexes", "density indexes held (engine/dindex.h)",
       gauge_indexes},
  };
  for (size_t i = 0; i < sizeof g / sizeof g[0]; i++) {
    pk_gauge *h = NULL;
    if (pk_metrics_gauge(s->metrics, g[i].name, NULL, g[i].help, &h))
      return PK_ENOMEM;
    pk_gauge_set_fn(h, g[i].fn, s->cache);
  }
  return PK_OK;
}

int pk_server_start(const pk_server_config *cfg, pk_server **out,
                    pk_errmsg *e) {
  if (!cfg || !cfg->db || cfg->port < 0 || cfg->port > 65535)
    return pk_errmsg_set(e, PK_EINVAL, "bad server configuration");
  pk_server *s = calloc(1, sizeof *s);
  if (!s)
    return pk_errmsg_set(e, PK_ENOMEM, "out of memory");
  s->db = cfg->db;
  s->started_ns = pk_now_ns();
  s->index_min_rows =
      cfg->index_min_rows ? cfg->index_min_rows : PK_INDEX_MIN_ROWS;
  s->stream_min_rows = cfg->stream_min_rows == UINT64_MAX ? 0
                       : cfg->stream_min_rows ? (size_t)cfg->stream_min_rows
                                              : PK_PLOT_STREAM_MIN_ROWS;
  s->timeout_ns =
      (uint64_t)(cfg->query_timeout_s ? cfg->query_timeout_s : 600) *
      1000000000ull;
  s->last_catalog = pk_db_catalog_version(s->db);
  pk_ops_init(&s->ops);
  pthread_mutex_init(&s->jobs_mu, NULL);
  pthread_mutex_init(&s->ws_doc_mu, NULL);
  pthread_mutex_init(&s->tick_mu, NULL);
  pk_cond_init_monotonic(&s->tick_cv);
  int err = pk_auth_token_new(s->token, e);
  if (err) {
    server_free(s);
    return err;
  }
  s->has_web = pk_assets_find_root(s->web_root, sizeof s->web_root) == PK_OK;
  if (cfg->upload_dir)
    snprintf(s->upload_dir, sizeof s->upload_dir, "%s", cfg->upload_dir);
  else if ((err = pk_data_file("uploads", s->upload_dir, sizeof s->upload_dir,
                               e))) {
    server_free(s);
    return err;
  }
  int ncpu = pk_sys_ncpu();
  pk_pool_config ec = {.name = "pk-srv", .nthreads = 4, .max_queued = 256};
  pk_pool_config hc = {.name = "pk-http",
                       .nthreads = PK_SERVER_HTTP_THREADS + PK_WS_MAX_CLIENTS};
  /* Every core for the kernels: a zoom is the one thing the user waits on,
   * and it runs while the HTTP threads sleep. */
  pk_pool_config kc = {.name = "pk-kern", .nthreads = ncpu};
  pk_cache_config cc = {.budget = cfg->cache_budget};
  if ((err = pk_cache_create(&cc, &s->cache, e))) {
    server_free(s);
    return err;
  }
  if (pk_metrics_create(&s->metrics) ||
      pk_ws_hub_create(PK_WS_MAX_CLIENTS, &s->ws) ||
      pk_pool_create(&ec, &s->exec) || pk_pool_create(&hc, &s->http) ||
      pk_pool_create(&kc, &s->kern) || cache_gauges(s)) {
    server_free(s);
    return pk_errmsg_set(e, PK_ESYS, "cannot start the server's threads");
  }

  char listen[32], threads[16];
  snprintf(listen, sizeof listen, "127.0.0.1:%d", cfg->port);
  snprintf(threads, sizeof threads, "%d",
           PK_SERVER_HTTP_THREADS + PK_WS_MAX_CLIENTS);
  const char *options[] = {"listening_ports",
                           listen,
                           "num_threads",
                           threads,
                           "request_timeout_ms",
                           "30000",
                           "keep_alive_timeout_ms",
                           "30000",
                           "enable_keep_alive",
                           "yes",
                           "max_request_size",
                           "16384",
                           "websocket_timeout_ms",
                           "3600000",
                           "enable_websocket_ping_pong",
                           "yes",
                           NULL};
  struct mg_callbacks cb;
  memset(&cb, 0, sizeof cb);
  mg_init_library(MG_FEATURES_WEBSOCKET);
  s->ctx = mg_start(&cb, s, options);
  if (!s->ctx) {
    server_free(s);
    mg_exit_library();
    return pk_errmsg_set(e, PK_EEXIST,
                         "cannot listen on 127.0.0.1:%d (is the port in use?)",
                         cfg->port);
  }
  struct mg_server_port ports[2];
  if (mg_get_server_ports(s->ctx, 2, ports) > 0)
    s->port = ports[0].port;
  mg_set_request_handler(s->ctx, "/", on_request, s);
  mg_set_websocket_handler(s->ctx, "/api/ws$", ws_connect, ws_ready, ws_data,
                           ws_close, s);
  if (pthread_create(&s->ticker, NULL, ticker_main, s) != 0) {
    mg_stop(s->ctx);
    mg_exit_library();
    server_free(s);
    return pk_errmsg_set(e, PK_ESYS, "cannot start the status thread");
  }
  *out = s;
  return PK_OK;
}

int pk_server_port(const pk_server *s) {
  return s->port;
}

const char *pk_server_token(const pk_server *s) {
  return s->token;
}

int pk_server_has_assets(const pk_server *s) {
  return s->has_web;
}

void pk_server_stop(pk_server *s) {
  if (!s)
    return;
  pthread_mutex_lock(&s->tick_mu);
  s->stopping = true;
  pthread_cond_signal(&s->tick_cv);
  pthread_mutex_unlock(&s->tick_mu);
  pthread_join(s->ticker, NULL);
  /* Running queries, plots and the import are interrupted; handlers
   * waiting for them answer 503, then civetweb joins its workers. */
  pk_ops_stop_all(&s->ops, PK_OP_SHUTDOWN);
  pthread_mutex_lock(&s->jobs_mu);
  if (s->job_conn)
    pk_db_interrupt(s->job_conn);
  pthread_mutex_unlock(&s->jobs_mu);
  mg_stop(s->ctx);
  mg_exit_library();
  pk_pool_shutdown(s->exec, PK_POOL_CANCEL);
  pk_pool_shutdown(s->http, PK_POOL_CANCEL);
  server_free(s);
}
