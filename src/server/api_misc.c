/* api_misc.c — GET /health, /metrics, /api/status, and the workspace
 * document (GET/PUT /api/workspace, stored in table pika.workspace). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "server/server_int.h"

int pk_api_health(pk_req *r) {
  double up = (double)(pk_now_ns() - r->s->started_ns) / 1e9;
  return pk_reply_json(r, 200,
                       json_pack("{s:s, s:s, s:f}", "status", "ok", "version",
                                 PIKA_VERSION, "uptime_s", up));
}

int pk_api_metrics(pk_req *r) {
  char *text = NULL;
  size_t len = 0;
  if (pk_metrics_render_prometheus(r->s->metrics, &text, &len) != PK_OK)
    return pk_reply_error(r, 500, "internal", "cannot render the metrics");
  int st = pk_reply_text(r, 200, "text/plain; version=0.0.4; charset=utf-8",
                         text, len, NULL, NULL);
  free(text);
  return st;
}

static uint64_t rss_bytes(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  uint64_t kb = 0;
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, "VmRSS:", 6)) {
      kb = strtoull(line + 6, NULL, 10);
      break;
    }
  if (f)
    fclose(f);
  return kb * 1024;
}

json_t *pk_status_json(pk_server *s) {
  pk_cache_stats rs;
  pk_cache_stats_get(s->cache, &rs);
  struct pk_pool_stats ps;
  pk_pool_stats(s->exec, &ps);
  int jobs = 0;
  pthread_mutex_lock(&s->jobs_mu);
  jobs = s->running_job ? 1 : 0;
  for (int i = 0; i < PK_MAX_JOBS; i++)
    if (s->jobs[i] && s->jobs[i]->state == PK_JOB_RUNNING &&
        s->jobs[i] != s->running_job)
      jobs++;
  pthread_mutex_unlock(&s->jobs_mu);
  uint64_t lookups = rs.hits + rs.misses, duck = 0;
  pk_db_memory_bytes(s->db, &duck);
  return json_pack(
      "{s:{s:I, s:I, s:I, s:I, s:I}, s:{s:I, s:I, s:f, s:I, s:I}, "
      "s:{s:I, s:I, s:I}, s:I, s:I}",
      "memory", "rss", (json_int_t)rss_bytes(), "cache_bytes",
      (json_int_t)rs.resident, "cache_budget", (json_int_t)rs.budget,
      "cache_spilled", (json_int_t)rs.spilled, "duckdb_bytes", (json_int_t)duck,
      "cache", "hits", (json_int_t)rs.hits, "misses", (json_int_t)rs.misses,
      "hit_rate", lookups ? (double)rs.hits / (double)lookups : 0.0, "indexes",
      (json_int_t)rs.indexes, "indexing", (json_int_t)rs.indexing, "tasks",
      "running", (json_int_t)ps.running, "queued",
      (json_int_t)(ps.queued[0] + ps.queued[1]), "jobs", (json_int_t)jobs,
      "catalog_version", (json_int_t)pk_db_catalog_version(s->db),
      "plots_streamed", (json_int_t)atomic_load(&s->plots_streamed));
}

int pk_api_status(pk_req *r) {
  return pk_reply_json(r, 200, pk_status_json(r->s));
}

/* ---- workspace ------------------------------------------------------------
 * The document is stored through DuckDB's own API rather than pk_db_exec, so
 * that saving it neither bumps the catalog version (which would invalidate
 * every cached result) nor needs the SQL quoting of a large text. */

static const char ws_schema[] =
    "CREATE SCHEMA IF NOT EXISTS pika;"
    "CREATE TABLE IF NOT EXISTS pika.workspace (id INTEGER PRIMARY KEY, "
    "version INTEGER NOT NULL, saved_at VARCHAR NOT NULL, doc VARCHAR "
    "NOT NULL);";

static int ws_ensure(duckdb_connection dc, char *err, size_t cap) {
  duckdb_result res;
  if (duckdb_query(dc, ws_schema, &res) == DuckDBError) {
    snprintf(err, cap, "%s", duckdb_result_error(&res));
    duckdb_destroy_result(&res);
    return PK_EIO;
  }
  duckdb_destroy_result(&res);
  return PK_OK;
}

int pk_api_workspace_get(pk_req *r) {
  pk_server *s = r->s;
  pk_db_conn *c = NULL;
  char err[512] = "";
  pthread_mutex_lock(&s->ws_doc_mu);
  pk_db_acquire(s->db, PK_DB_READER, &c);
  duckdb_connection dc = pk_db_conn_duckdb(c);
  json_t *doc = json_null();
  json_t *saved = json_null();
  int rc = ws_ensure(dc, err, sizeof err);
  duckdb_result res;
  if (!rc && duckdb_query(dc,
                          "SELECT saved_at, doc FROM pika.workspace WHERE "
                          "id = 1",
                          &res) == DuckDBSuccess) {
    if (duckdb_row_count(&res) > 0) {
      char *sa = duckdb_value_varchar(&res, 0, 0);
      char *d = duckdb_value_varchar(&res, 1, 0);
      json_decref(saved);
      saved = json_string(sa ? sa : "");
      json_t *parsed = d ? json_loads(d, JSON_DECODE_ANY, NULL) : NULL;
      if (parsed) {
        json_decref(doc);
        doc = parsed;
      }
      duckdb_free(sa);
      duckdb_free(d);
    }
    duckdb_destroy_result(&res);
  } else if (!rc) {
    snprintf(err, sizeof err, "%s", duckdb_result_error(&res));
    duckdb_destroy_result(&res);
    rc = PK_EIO;
  }
  pk_db_release(c);
  pthread_mutex_unlock(&s->ws_doc_mu);
  if (rc) {
    json_decref(doc);
    json_decref(saved);
    return pk_reply_error(r, 500, "internal", "cannot read the workspace: %s",
                          err);
  }
  return pk_reply_json(r, 200,
                       json_pack("{s:i, s:o, s:o}", "version", 1, "saved_at",
                                 saved, "doc", doc));
}

int pk_api_workspace_put(pk_req *r) {
  json_t *body = NULL;
  int st = pk_read_json(r, &body);
  if (st)
    return st;
  json_t *doc = json_object_get(body, "doc");
  if (!doc) {
    json_decref(body);
    return pk_reply_error(r, 400, "bad_request", "missing field 'doc'");
  }
  char *text = json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY);
  json_decref(body);
  if (!text)
    return pk_reply_error(r, 500, "internal", "out of memory");
  char saved_at[32];
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(saved_at, sizeof saved_at, "%Y-%m-%dT%H:%M:%SZ", &tm);

  pk_server *s = r->s;
  char err[512] = "";
  pk_db_conn *c = NULL;
  pthread_mutex_lock(&s->ws_doc_mu);
  pk_db_acquire(s->db, PK_DB_WRITER, &c);
  duckdb_connection dc = pk_db_conn_duckdb(c);
  int rc = ws_ensure(dc, err, sizeof err);
  duckdb_prepared_statement ps = NULL;
  if (!rc) {
    if (duckdb_prepare(dc,
                       "INSERT OR REPLACE INTO pika.workspace VALUES "
                       "(1, 1, $1, $2)",
                       &ps) == DuckDBError) {
      snprintf(err, sizeof err, "%s", duckdb_prepare_error(ps));
      rc = PK_EIO;
    } else {
      duckdb_bind_varchar(ps, 1, saved_at);
      duckdb_bind_varchar(ps, 2, text);
      duckdb_result res;
      if (duckdb_execute_prepared(ps, &res) == DuckDBError) {
        snprintf(err, sizeof err, "%s", duckdb_result_error(&res));
        rc = PK_EIO;
      }
      duckdb_destroy_result(&res);
    }
    duckdb_destroy_prepare(&ps);
  }
  pk_db_release(c);
  pthread_mutex_unlock(&s->ws_doc_mu);
  free(text);
  if (rc)
    return pk_reply_error(r, 500, "internal", "cannot save the workspace: %s",
                          err);
  return pk_reply_json(r, 200, json_pack("{s:s}", "saved_at", saved_at));
}
