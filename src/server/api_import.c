/* api_import.c — files into the workspace from the browser:
 * POST /api/upload (the raw body into the uploads directory),
 * POST /api/import/preview (the sniffer's types and first rows),
 * POST /api/import (a background job on the writer connection, reported
 * on the WebSocket) and GET /api/jobs/ID. Imports go through
 * engine/importer.h, exactly as `pika import` does. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "base/paths.h"
#include "engine/importer.h"
#include "server/json_out.h"
#include "server/server_int.h"

/* ---- upload -------------------------------------------------------------- */

int pk_api_upload(pk_req *r) {
  pk_server *s = r->s;
  char name[256];
  if (!pk_query_param(r, "name", name, sizeof name))
    return pk_reply_error(r, 400, "bad_request", "missing ?name=FILE");
  const char *base = strrchr(name, '/');
  base = base ? base + 1 : name;
  if (!*base || !strcmp(base, ".") || !strcmp(base, "..") || base[0] == '.')
    return pk_reply_error(r, 400, "bad_request", "bad file name '%s'", name);
  long long cl = r->ri->content_length;
  if (cl < 0)
    return pk_reply_error(r, 400, "bad_request",
                          "an upload needs a Content-Length");
  if (cl > PK_UPLOAD_MAX)
    return pk_reply_error(r, 413, "too_large", "an upload is at most 64 GiB");
  char probe[PATH_MAX + 8];
  if (snprintf(probe, sizeof probe, "%s/x", s->upload_dir) >= (int)sizeof probe)
    return pk_reply_error(r, 500, "internal", "upload path too long");
  pk_errmsg e = {{0}};
  if (pk_make_parents(probe, 0700, &e))
    return pk_reply_error(r, 500, "internal", "%s", e.text);
  struct statvfs vfs;
  if (statvfs(s->upload_dir, &vfs) == 0 &&
      (unsigned long long)vfs.f_bavail * vfs.f_frsize < (unsigned long long)cl)
    return pk_reply_error(r, 507, "no_space",
                          "not enough free space for %lld bytes in %s", cl,
                          s->upload_dir);
  /* name, name-1.ext, name-2.ext ... */
  const char *dot = strrchr(base, '.');
  int stem = dot && dot != base ? (int)(dot - base) : (int)strlen(base);
  const char *ext = base + stem;
  char path[PATH_MAX + 320];
  int fd = -1;
  for (int i = 0; i < 10000 && fd < 0; i++) {
    int n = i == 0 ? snprintf(path, sizeof path, "%s/%s", s->upload_dir, base)
                   : snprintf(path, sizeof path, "%s/%.*s-%d%s", s->upload_dir,
                              stem, base, i, ext);
    if (n >= (int)sizeof path)
      return pk_reply_error(r, 400, "bad_request", "file name too long");
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno != EEXIST)
      return pk_reply_error(r, 500, "internal", "cannot create %s: %s", path,
                            strerror(errno));
  }
  if (fd < 0)
    return pk_reply_error(r, 500, "internal", "too many files named %s", base);
  char *buf = malloc(1 << 20);
  long long got = 0;
  int ok = buf != NULL;
  while (ok && got < cl) {
    int n = mg_read(r->c, buf, 1 << 20);
    if (n <= 0)
      break;
    for (ssize_t w, off = 0; off < n; off += w) {
      w = write(fd, buf + off, (size_t)(n - off));
      if (w <= 0) {
        ok = 0;
        break;
      }
    }
    got += n;
  }
  free(buf);
  if (close(fd) != 0)
    ok = 0;
  if (!ok || got != cl) {
    unlink(path);
    return pk_reply_error(r, ok ? 400 : 507, ok ? "bad_request" : "no_space",
                          ok ? "the upload ended early (%lld of %lld bytes)"
                             : "cannot write the upload (%lld of %lld bytes)",
                          got, cl);
  }
  return pk_reply_json(r, 200, json_pack("{s:s}", "path", path));
}

/* ---- preview ------------------------------------------------------------- */

int pk_api_import_preview(pk_req *r) {
  json_t *body = NULL;
  int st = pk_read_json(r, &body);
  if (st)
    return st;
  const char *path = json_string_value(json_object_get(body, "path"));
  if (!path || !*path) {
    json_decref(body);
    return pk_reply_error(r, 400, "bad_request", "wants {\"path\": string}");
  }
  if (access(path, R_OK) != 0) {
    st = pk_reply_error(r, 404, "not_found", "cannot read '%s'", path);
    json_decref(body);
    return st;
  }
  pk_sqlbuf q = {0};
  pk_sqlbuf_add(&q, "SELECT * FROM ");
  pk_import_reader(&q, path);
  pk_sqlbuf_add(&q, " LIMIT 10");
  pk_jrows rows;
  pk_jrows_init(&rows, 10, 0);
  pk_errmsg e = {{0}};
  pk_db_conn *c = NULL;
  pk_db_acquire(r->s->db, PK_DB_READER, &c);
  pk_db_sink sink = pk_jrows_sink(&rows);
  int err = q.err ? PK_ENOMEM : pk_db_exec(c, q.s, &sink, &e);
  pk_db_release(c);
  pk_sqlbuf_free(&q);
  if (err) {
    pk_jrows_release(&rows);
    st = pk_reply_engine_error(r, err, &e, PK_OP_RUNNING);
    json_decref(body);
    return st;
  }
  char table[256];
  pk_import_table_name(path, table, sizeof table);
  char *rt = pk_jrows_join(rows.rows, 0, rows.nrows);
  json_t *out = json_pack("{s:s, s:s, s:s, s:O, s:o}", "path", path, "format",
                          pk_import_format_of(path), "table", table, "columns",
                          rows.columns ? rows.columns : json_array(), "rows",
                          rt ? json_loads(rt, 0, NULL) : json_array());
  free(rt);
  pk_jrows_release(&rows);
  json_decref(body);
  return pk_reply_json(r, 200, out);
}

/* ---- jobs ---------------------------------------------------------------- */

json_t *pk_job_json(const pk_job *j) {
  char id[32];
  snprintf(id, sizeof id, "j%d", j->id);
  static const char *const states[] = {"running", "done", "error"};
  return json_pack("{s:s, s:s, s:s, s:s, s:f, s:I, s:s, s:I, s:o}", "type",
                   "job", "job", id, "kind", "import", "state",
                   states[j->state], "percent", j->percent, "rows",
                   (json_int_t)j->rows, "table", j->table, "rejects",
                   (json_int_t)j->rejects, "message",
                   j->message[0] ? json_string(j->message) : json_null());
}

/* Under jobs_mu. */
static void job_broadcast(pk_server *s, const pk_job *j) {
  json_t *o = pk_job_json(j);
  char *text = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  if (text)
    pk_ws_hub_broadcast(s->ws, text);
  free(text);
}

static void job_free(pk_job *j) {
  if (!j)
    return;
  free(j->path);
  for (size_t i = 0; i < j->ntypes; i++)
    free(j->types[i]);
  free(j->types);
  free(j->delimiter);
  free(j);
}

void pk_jobs_free(pk_server *s) {
  for (int i = 0; i < PK_MAX_JOBS; i++) {
    job_free(s->jobs[i]);
    s->jobs[i] = NULL;
  }
}

void pk_jobs_tick(pk_server *s) {
  pthread_mutex_lock(&s->jobs_mu);
  pk_job *j = s->running_job;
  if (j && s->job_conn) {
    pk_db_progress_info p;
    pk_db_progress(s->job_conn, &p);
    if (p.percent >= 0)
      j->percent = p.percent;
    j->rows = p.rows;
    job_broadcast(s, j);
  }
  pthread_mutex_unlock(&s->jobs_mu);
}

typedef struct import_arg {
  pk_server *s;
  pk_job *job;
} import_arg;

static void import_task(pk_task *self, void *arg) {
  (void)self;
  pk_server *s = ((import_arg *)arg)->s;
  pk_job *j = ((import_arg *)arg)->job;
  pk_db_conn *c = NULL;
  pk_db_acquire(s->db, PK_DB_WRITER, &c);
  pthread_mutex_lock(&s->jobs_mu);
  s->running_job = j;
  s->job_conn = c;
  bool stopping = s->stopping;
  job_broadcast(s, j);
  pthread_mutex_unlock(&s->jobs_mu);

  const char *src[1] = {j->path};
  pk_import_opts o = {.sources = src,
                      .nsources = 1,
                      .table = j->table[0] ? j->table : NULL,
                      .replace = j->replace,
                      .delimiter = j->delimiter,
                      .header = j->header,
                      .skip = -1,
                      .types = (const char *const *)j->types,
                      .ntypes = j->ntypes};
  pk_import_result res;
  memset(&res, 0, sizeof res);
  pk_errmsg e = {{0}};
  int err = stopping ? pk_errmsg_set(&e, PK_EINTERRUPTED, "server stopping")
                     : pk_import(c, &o, &res, &e);

  pthread_mutex_lock(&s->jobs_mu);
  s->running_job = NULL;
  s->job_conn = NULL;
  pk_db_release(c);
  if (err) {
    j->state = PK_JOB_ERROR;
    snprintf(j->message, sizeof j->message, "%s", e.text);
  } else {
    j->state = PK_JOB_DONE;
    j->percent = 100;
    j->rows = res.rows;
    j->rejects = res.rejected;
    snprintf(j->table, sizeof j->table, "%s", res.table);
    if (res.rejected && res.nshown &&
        snprintf(j->message, sizeof j->message,
                 "%llu rows rejected; first: line %lld: %s",
                 (unsigned long long)res.rejected, (long long)res.shown[0].line,
                 res.shown[0].reason) >= (int)sizeof j->message)
      j->message[sizeof j->message - 1] = '\0';
  }
  job_broadcast(s, j);
  pthread_mutex_unlock(&s->jobs_mu);
  if (!err) {
    char ev[96];
    snprintf(ev, sizeof ev, "{\"type\":\"catalog\",\"version\":%llu}",
             (unsigned long long)pk_db_catalog_version(s->db));
    pk_ws_hub_broadcast(s->ws, ev);
  }
}

static void import_done(void *arg, int status) {
  (void)status;
  free(arg);
}

int pk_api_import(pk_req *r) {
  pk_server *s = r->s;
  json_t *body = NULL;
  int st = pk_read_json(r, &body);
  if (st)
    return st;
  bool bad = false;
  const char *path = json_string_value(json_object_get(body, "path"));
  json_t *table = json_object_get(body, "table");
  json_t *types = json_object_get(body, "types");
  json_t *delim = json_object_get(body, "delimiter");
  json_t *header = json_object_get(body, "header");
  json_t *replace = json_object_get(body, "replace");
  bad |= !path || !*path;
  bad |= table && !json_is_null(table) && !json_is_string(table);
  bad |= types && !json_is_null(types) && !json_is_object(types);
  bad |= delim && !json_is_null(delim) && !json_is_string(delim);
  bad |= header && !json_is_null(header) && !json_is_boolean(header);
  bad |= replace && !json_is_null(replace) && !json_is_boolean(replace);
  if (bad) {
    json_decref(body);
    return pk_reply_error(r, 400, "bad_request",
                          "wants {\"path\": string, \"table\": string, "
                          "\"replace\": bool, \"types\": {col: type}, "
                          "\"delimiter\": string, \"header\": bool}");
  }
  pk_job *j = calloc(1, sizeof *j);
  import_arg *ia = malloc(sizeof *ia);
  if (!j || !ia) {
    free(j);
    free(ia);
    json_decref(body);
    return pk_reply_error(r, 500, "internal", "out of memory");
  }
  j->path = strdup(path);
  if (json_is_string(table))
    snprintf(j->table, sizeof j->table, "%s", json_string_value(table));
  else
    pk_import_table_name(path, j->table, sizeof j->table);
  j->replace = json_is_true(replace);
  j->header = json_is_boolean(header) ? json_is_true(header) : -1;
  j->delimiter =
      json_is_string(delim) ? strdup(json_string_value(delim)) : NULL;
  if (json_is_object(types)) {
    j->types = calloc(json_object_size(types) + 1, sizeof *j->types);
    const char *k;
    json_t *v;
    json_object_foreach(types, k, v) {
      if (!json_is_string(v))
        continue;
      size_t l = strlen(k) + json_string_length(v) + 2;
      char *t = malloc(l);
      if (t && j->types) {
        snprintf(t, l, "%s=%s", k, json_string_value(v));
        j->types[j->ntypes++] = t;
      } else {
        free(t);
      }
    }
  }
  json_decref(body);

  pthread_mutex_lock(&s->jobs_mu);
  int slot = s->next_job % PK_MAX_JOBS;
  if (s->jobs[slot] && s->jobs[slot]->state == PK_JOB_RUNNING) {
    pthread_mutex_unlock(&s->jobs_mu);
    job_free(j);
    free(ia);
    return pk_reply_error(r, 503, "unavailable", "too many imports queued");
  }
  job_free(s->jobs[slot]);
  j->id = ++s->next_job;
  s->jobs[slot] = j;
  pthread_mutex_unlock(&s->jobs_mu);
  ia->s = s;
  ia->job = j;
  pk_task_spec ts = {.prio = PK_PRIO_BACKGROUND,
                     .fn = import_task,
                     .arg = ia,
                     .on_done = import_done,
                     .nowait = true};
  if (pk_pool_submit_ex(s->exec, &ts, NULL) != PK_OK) {
    pthread_mutex_lock(&s->jobs_mu);
    j->state = PK_JOB_ERROR;
    snprintf(j->message, sizeof j->message, "the server is busy");
    pthread_mutex_unlock(&s->jobs_mu);
    free(ia);
    return pk_reply_error(r, 503, "unavailable", "the server is busy");
  }
  char id[32];
  snprintf(id, sizeof id, "j%d", j->id);
  return pk_reply_json(r, 202, json_pack("{s:s}", "job", id));
}

int pk_api_job(pk_req *r) {
  const char *id = r->path + strlen("/api/jobs/");
  char *end;
  long n = id[0] == 'j' ? strtol(id + 1, &end, 10) : 0;
  if (id[0] != 'j' || *end || n <= 0)
    return pk_reply_error(r, 404, "not_found", "no job '%s'", id);
  json_t *o = NULL;
  pthread_mutex_lock(&r->s->jobs_mu);
  pk_job *j = r->s->jobs[(n - 1) % PK_MAX_JOBS];
  if (j && j->id == n)
    o = pk_job_json(j);
  pthread_mutex_unlock(&r->s->jobs_mu);
  if (!o)
    return pk_reply_error(r, 404, "not_found", "no job '%s'", id);
  return pk_reply_json(r, 200, o);
}
