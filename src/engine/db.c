/* db.c — the workspace database, its connection pool and query execution;
 * see db.h. */
#include "engine/db.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/clock.h"
#include "base/paths.h"
#include "base/sys.h"
#include "runtime/mempressure.h"

#define DEFAULT_READERS 3
#define MAX_READERS 64
#define MIN_MEMORY (256ull << 20)

struct pk_db_conn {
  duckdb_connection con;
  pk_db *db;
  pk_db_role role;
  bool busy; /* under db->mu */
  atomic_bool intr;
  atomic_bool running;
  atomic_uint_fast64_t pct_bits; /* a double's bits */
  atomic_uint_fast64_t rows, total, start_ns;
};

struct pk_db {
  duckdb_database ddb;
  atomic_uint_fast64_t memory_limit;
  int threads;
  int nconns; /* conns[0] is the writer */
  atomic_uint_fast64_t catalog;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  pk_db_conn *conns;
  /* A connection of its own for pk_db_memory_bytes, so a status poll never
   * waits behind a user's query for a pooled one. */
  duckdb_connection stats;
  pthread_mutex_t stats_mu;
  char path[4096];
};

/* ---- errors ---------------------------------------------------------------
 */

static bool has(const char *msg, const char *needle) {
  return msg && strstr(msg, needle) != NULL;
}

/* The PK_E* code for a DuckDB failure: the error type where DuckDB gives
 * one, else the message's prefix ("IO Error: ..."). */
static int map_error(int type, const char *msg) {
  if (type == DUCKDB_ERROR_INTERRUPT || has(msg, "INTERRUPT Error") ||
      has(msg, "Interrupted"))
    return PK_EINTERRUPTED;
  if (type == DUCKDB_ERROR_OUT_OF_MEMORY || has(msg, "Out of Memory Error"))
    return PK_ENOMEM;
  if (type == DUCKDB_ERROR_PERMISSION || has(msg, "Permission denied"))
    return PK_EPERM;
  if (type == DUCKDB_ERROR_IO || has(msg, "IO Error")) {
    if (has(msg, "No files found") || has(msg, "No such file") ||
        has(msg, "does not exist"))
      return PK_ENOENT;
    return PK_EIO;
  }
  return PK_EINVAL; /* parser, binder, catalog, conversion, constraint ... */
}

static int fail(pk_errmsg *e, int err, const char *msg) {
  return pk_errmsg_set(e, err, "%s", msg && *msg ? msg : pk_strerror(err));
}

/* ---- opening ----------------------------------------------------------- */

int pk_db_default_path(char *buf, size_t cap, pk_errmsg *e) {
  return pk_data_file("workspace.duckdb", buf, cap, e);
}

static uint64_t default_memory(void) {
  pk_mempress_reading r;
  uint64_t limit = 0;
  if (pk_mempress_sample(NULL, &r) == PK_OK)
    limit = r.limit;
  if (!limit)
    limit = pk_sys_total_memory();
  if (!limit)
    limit = 2ull << 30;
  uint64_t m = limit / 2;
  return m < MIN_MEMORY ? MIN_MEMORY : m;
}

static int set_config(duckdb_config cfg, const char *name, const char *value,
                      pk_errmsg *e) {
  if (duckdb_set_config(cfg, name, value) != DuckDBSuccess)
    return pk_errmsg_set(e, PK_EINVAL, "DuckDB refused %s = %s", name, value);
  return PK_OK;
}

int pk_db_open(const pk_db_config *cfg, pk_db **out, pk_errmsg *e) {
  pk_db_config c = cfg ? *cfg : (pk_db_config){0};
  if (!out || c.readers < 0 || c.readers > MAX_READERS || c.threads < 0)
    return pk_errmsg_set(e, PK_EINVAL, "bad database configuration");
  pk_db *db = calloc(1, sizeof *db);
  if (!db)
    return pk_errmsg_set(e, PK_ENOMEM, "out of memory");
  int err = PK_OK;
  if (c.path) {
    if (strlen(c.path) >= sizeof db->path) {
      free(db);
      return pk_errmsg_set(e, PK_ELIMIT, "database path too long");
    }
    strcpy(db->path, c.path);
  } else if ((err = pk_db_default_path(db->path, sizeof db->path, e)) ||
             (err = pk_make_parents(db->path, 0700, e))) {
    free(db);
    return err;
  }
  if (strcmp(db->path, ":memory:") != 0) {
    /* DuckDB's message for a missing directory is an opaque I/O error. */
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", db->path);
    char *slash = strrchr(dir, '/');
    struct stat st;
    if (slash && slash != dir) {
      *slash = '\0';
      if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        err = pk_errmsg_set(e, PK_ENOENT, "no such directory '%s' for '%s'",
                            dir, db->path);
        free(db);
        return err;
      }
    }
  }
  db->threads = c.threads ? c.threads : pk_sys_ncpu();
  db->memory_limit = c.memory_limit ? c.memory_limit : default_memory();
  int readers = c.readers ? c.readers : DEFAULT_READERS;

  duckdb_config dc = NULL;
  char v[64];
  if (duckdb_create_config(&dc) != DuckDBSuccess) {
    free(db);
    return pk_errmsg_set(e, PK_ENOMEM, "cannot create DuckDB config");
  }
  snprintf(v, sizeof v, "%d", db->threads);
  err = set_config(dc, "threads", v, e);
  snprintf(v, sizeof v, "%lluKiB",
           (unsigned long long)(db->memory_limit >> 10));
  if (!err)
    err = set_config(dc, "memory_limit", v, e);
  if (!err && c.unordered)
    err = set_config(dc, "preserve_insertion_order", "false", e);
  if (err) {
    duckdb_destroy_config(&dc);
    free(db);
    return err;
  }
  char *open_err = NULL;
  const char *dpath = strcmp(db->path, ":memory:") ? db->path : NULL;
  if (duckdb_open_ext(dpath, &db->ddb, dc, &open_err) != DuckDBSuccess) {
    duckdb_destroy_config(&dc);
    if (has(open_err, "not a valid DuckDB database") ||
        has(open_err, "Corrupt"))
      err = PK_ECORRUPT;
    else if (has(open_err, "Permission denied"))
      err = PK_EPERM;
    else if (has(open_err, "Out of Memory"))
      err = PK_ENOMEM;
    else
      err = PK_EIO;
    pk_errmsg_set(e, err, "cannot open '%s': %s", db->path,
                  open_err ? open_err : "unknown error");
    duckdb_free(open_err);
    free(db);
    return err;
  }
  duckdb_destroy_config(&dc);

  atomic_init(&db->catalog, 1);
  pthread_mutex_init(&db->mu, NULL);
  pthread_cond_init(&db->cv, NULL);
  pthread_mutex_init(&db->stats_mu, NULL);
  db->conns = calloc((size_t)readers + 1, sizeof *db->conns);
  if (!db->conns) {
    pk_db_close(db);
    return pk_errmsg_set(e, PK_ENOMEM, "out of memory");
  }
  for (int i = 0; i <= readers; i++) {
    pk_db_conn *k = &db->conns[i];
    k->db = db;
    k->role = i == 0 ? PK_DB_WRITER : PK_DB_READER;
    if (duckdb_connect(db->ddb, &k->con) != DuckDBSuccess) {
      pk_db_close(db);
      return pk_errmsg_set(e, PK_ENOMEM, "cannot connect to '%s'",
                           c.path ? c.path : "the workspace");
    }
    db->nconns = i + 1;
    /* Progress is tracked only with the progress bar on (a per-connection
     * setting); DuckDB must not print it: pika draws its own. */
    duckdb_result res;
    bool ok = duckdb_query(k->con,
                           "SET enable_progress_bar = true; "
                           "SET enable_progress_bar_print = false; "
                           "SET progress_bar_time = 100",
                           &res) == DuckDBSuccess;
    duckdb_destroy_result(&res);
    if (!ok) {
      pk_db_close(db);
      return pk_errmsg_set(e, PK_EINVAL, "DuckDB refused progress settings");
    }
  }
  if (duckdb_connect(db->ddb, &db->stats) != DuckDBSuccess) {
    pk_db_close(db);
    return pk_errmsg_set(e, PK_ENOMEM, "cannot connect to '%s'",
                         c.path ? c.path : "the workspace");
  }
  *out = db;
  return PK_OK;
}

int pk_db_memory_bytes(pk_db *db, uint64_t *out) {
  *out = 0;
  pthread_mutex_lock(&db->stats_mu);
  duckdb_result res;
  int err = duckdb_query(db->stats,
                         "SELECT coalesce(sum(memory_usage_bytes), 0)::UBIGINT "
                         "FROM duckdb_memory()",
                         &res) == DuckDBSuccess
                ? PK_OK
                : PK_EIO;
  if (!err)
    *out = duckdb_value_uint64(&res, 0, 0);
  duckdb_destroy_result(&res);
  pthread_mutex_unlock(&db->stats_mu);
  return err;
}

void pk_db_close(pk_db *db) {
  if (!db)
    return;
  if (db->stats)
    duckdb_disconnect(&db->stats);
  for (int i = 0; i < db->nconns; i++)
    duckdb_disconnect(&db->conns[i].con);
  free(db->conns);
  if (db->ddb) {
    duckdb_close(&db->ddb);
    pthread_mutex_destroy(&db->mu);
    pthread_cond_destroy(&db->cv);
    pthread_mutex_destroy(&db->stats_mu);
  }
  free(db);
}

const char *pk_db_path(const pk_db *db) {
  return db->path;
}

uint64_t pk_db_memory_limit(const pk_db *db) {
  return atomic_load(&db->memory_limit);
}

int pk_db_set_memory_limit(pk_db_conn *c, uint64_t bytes, pk_errmsg *e) {
  uint64_t m = bytes ? bytes : default_memory();
  char q[64];
  snprintf(q, sizeof q, "SET memory_limit = '%lluKiB'",
           (unsigned long long)(m >> 10));
  int err = pk_db_exec(c, q, NULL, e);
  if (!err)
    atomic_store(&c->db->memory_limit, m);
  return err;
}

int pk_db_threads(const pk_db *db) {
  return db->threads;
}

uint64_t pk_db_catalog_version(const pk_db *db) {
  return atomic_load(&db->catalog);
}

void pk_db_bump_catalog(pk_db *db) {
  atomic_fetch_add(&db->catalog, 1);
}

/* ---- the pool ---------------------------------------------------------- */

int pk_db_acquire(pk_db *db, pk_db_role role, pk_db_conn **out) {
  if (!db || !out || (role != PK_DB_READER && role != PK_DB_WRITER))
    return PK_EINVAL;
  pthread_mutex_lock(&db->mu);
  for (;;) {
    for (int i = 0; i < db->nconns; i++) {
      pk_db_conn *k = &db->conns[i];
      if (k->role == role && !k->busy) {
        k->busy = true;
        pthread_mutex_unlock(&db->mu);
        atomic_store(&k->intr, false);
        *out = k;
        return PK_OK;
      }
    }
    pthread_cond_wait(&db->cv, &db->mu);
  }
}

void pk_db_release(pk_db_conn *c) {
  if (!c)
    return;
  atomic_store(&c->intr, false);
  atomic_store(&c->running, false);
  pthread_mutex_lock(&c->db->mu);
  c->busy = false;
  pthread_cond_broadcast(&c->db->cv);
  pthread_mutex_unlock(&c->db->mu);
}

duckdb_connection pk_db_conn_duckdb(pk_db_conn *c) {
  return c->con;
}

pk_db *pk_db_conn_db(pk_db_conn *c) {
  return c->db;
}

void pk_db_interrupt(pk_db_conn *c) {
  atomic_store(&c->intr, true);
  duckdb_interrupt(c->con);
}

bool pk_db_interrupted(pk_db_conn *c) {
  return atomic_load(&c->intr);
}

/* ---- progress -------------------------------------------------------- */

void pk_db_work_begin(pk_db_conn *c) {
  atomic_store(&c->pct_bits, 0);
  atomic_store(&c->rows, 0);
  atomic_store(&c->total, 0);
  atomic_store(&c->start_ns, pk_now_ns());
  atomic_store(&c->running, true);
}

void pk_db_work_progress(pk_db_conn *c, double percent, uint64_t rows,
                         uint64_t total) {
  uint64_t bits;
  memcpy(&bits, &percent, sizeof bits);
  atomic_store(&c->pct_bits, bits);
  atomic_store(&c->rows, rows);
  atomic_store(&c->total, total);
}

void pk_db_work_end(pk_db_conn *c) {
  atomic_store(&c->running, false);
}

static void publish_progress(pk_db_conn *c) {
  duckdb_query_progress_type p = duckdb_query_progress(c->con);
  pk_db_work_progress(c, p.percentage, p.rows_processed,
                      p.total_rows_to_process);
}

void pk_db_progress(pk_db_conn *c, pk_db_progress_info *out) {
  uint64_t bits = atomic_load(&c->pct_bits);
  double pct;
  memcpy(&pct, &bits, sizeof pct);
  out->running = atomic_load(&c->running);
  out->percent = pct;
  out->rows = atomic_load(&c->rows);
  out->total = atomic_load(&c->total);
  uint64_t start = atomic_load(&c->start_ns);
  out->elapsed = out->running && start ? pk_now_ns() - start : 0;
}

/* ---- execution --------------------------------------------------------- */

/* Statements after which cached results may be stale. */
static bool changes_catalog(duckdb_statement_type t) {
  switch (t) {
  case DUCKDB_STATEMENT_TYPE_SELECT:
  case DUCKDB_STATEMENT_TYPE_EXPLAIN:
  case DUCKDB_STATEMENT_TYPE_SET:
  case DUCKDB_STATEMENT_TYPE_VARIABLE_SET:
  case DUCKDB_STATEMENT_TYPE_PRAGMA:
  case DUCKDB_STATEMENT_TYPE_TRANSACTION:
  case DUCKDB_STATEMENT_TYPE_PREPARE:
    return false;
  default:
    return true;
  }
}

static int result_fail(pk_db_conn *c, duckdb_result *res, pk_errmsg *e) {
  const char *msg = duckdb_result_error(res);
  int err = atomic_load(&c->intr)
                ? PK_EINTERRUPTED
                : map_error((int)duckdb_result_error_type(res), msg);
  return fail(e, err, msg);
}

/* Drives a pending query to the point where results can be fetched:
 * PK_OK, PK_EINTERRUPTED, or PK_ECANCELED when DuckDB reported an error
 * (duckdb_pending_error has it). */
static int drive(pk_db_conn *c, duckdb_pending_result pend) {
  for (;;) {
    if (atomic_load(&c->intr))
      return PK_EINTERRUPTED;
    duckdb_pending_state st = duckdb_pending_execute_task(pend);
    publish_progress(c);
    if (st == DUCKDB_PENDING_RESULT_READY)
      return PK_OK;
    if (st == DUCKDB_PENDING_ERROR)
      return PK_ECANCELED;
    if (st == DUCKDB_PENDING_NO_TASKS_AVAILABLE) {
      /* The workers hold every task; wait for them rather than spin. */
      struct timespec ts = {0, 200000};
      nanosleep(&ts, NULL);
    }
  }
}

static int run_one(pk_db_conn *c, duckdb_prepared_statement stmt,
                   const pk_db_sink *sink, pk_errmsg *e) {
  duckdb_statement_type type = duckdb_prepared_statement_type(stmt);
  duckdb_pending_result pend = NULL;
  if (atomic_load(&c->intr))
    return fail(e, PK_EINTERRUPTED, "interrupted");
  pk_db_work_begin(c);
  int err = PK_OK;
  if (duckdb_pending_prepared_streaming(stmt, &pend) != DuckDBSuccess) {
    const char *msg = duckdb_pending_error(pend);
    err = fail(e, map_error(-1, msg), msg);
    duckdb_destroy_pending(&pend);
    atomic_store(&c->running, false);
    return err;
  }
  if ((err = drive(c, pend)) != PK_OK) {
    if (err == PK_ECANCELED) {
      const char *msg = duckdb_pending_error(pend);
      err = fail(
          e, atomic_load(&c->intr) ? PK_EINTERRUPTED : map_error(-1, msg), msg);
    } else {
      fail(e, err, "interrupted");
    }
    duckdb_destroy_pending(&pend);
    atomic_store(&c->running, false);
    return err;
  }
  duckdb_result res;
  if (duckdb_execute_pending(pend, &res) != DuckDBSuccess) {
    err = result_fail(c, &res, e);
  } else {
    if (sink && sink->begin)
      err = sink->begin(sink->arg, &res);
    while (!err) {
      if (atomic_load(&c->intr)) {
        err = fail(e, PK_EINTERRUPTED, "interrupted");
        break;
      }
      duckdb_data_chunk ch = duckdb_fetch_chunk(res);
      publish_progress(c);
      if (!ch) {
        if (duckdb_result_error(&res))
          err = result_fail(c, &res, e);
        break;
      }
      if (sink && sink->take)
        err = sink->take(sink->arg, &ch);
      else if (sink && sink->chunk)
        err = sink->chunk(sink->arg, ch);
      if (ch)
        duckdb_destroy_data_chunk(&ch);
    }
  }
  duckdb_destroy_result(&res);
  duckdb_destroy_pending(&pend);
  atomic_store(&c->running, false);
  if (changes_catalog(type))
    pk_db_bump_catalog(c->db);
  return err;
}

int pk_db_exec(pk_db_conn *c, const char *sql, const pk_db_sink *sink,
               pk_errmsg *e) {
  if (!c || !sql)
    return pk_errmsg_set(e, PK_EINVAL, "no connection or no SQL");
  duckdb_extracted_statements ex = NULL;
  idx_t n = duckdb_extract_statements(c->con, sql, &ex);
  int err = PK_OK;
  if (n == 0) {
    const char *msg = duckdb_extract_statements_error(ex);
    err = msg ? fail(e, map_error(-1, msg), msg)
              : pk_errmsg_set(e, PK_EINVAL, "no SQL statement to run");
  }
  for (idx_t i = 0; i < n && !err; i++) {
    duckdb_prepared_statement stmt = NULL;
    if (duckdb_prepare_extracted_statement(c->con, ex, i, &stmt) !=
        DuckDBSuccess) {
      const char *msg = duckdb_prepare_error(stmt);
      err = fail(e, map_error(-1, msg), msg);
    } else {
      err = run_one(c, stmt, i + 1 == n ? sink : NULL, e);
    }
    duckdb_destroy_prepare(&stmt);
  }
  duckdb_destroy_extracted(&ex);
  return err;
}

struct int_sink {
  int64_t v;
  bool seen;
};

static int int_chunk(void *arg, duckdb_data_chunk ch) {
  struct int_sink *s = arg;
  if (s->seen || duckdb_data_chunk_get_size(ch) == 0)
    return PK_OK;
  s->seen = true;
  duckdb_vector v = duckdb_data_chunk_get_vector(ch, 0);
  duckdb_logical_type t = duckdb_vector_get_column_type(v);
  duckdb_type id = duckdb_get_type_id(t);
  duckdb_destroy_logical_type(&t);
  uint64_t *valid = duckdb_vector_get_validity(v);
  if (valid && !duckdb_validity_row_is_valid(valid, 0))
    return PK_OK;
  void *d = duckdb_vector_get_data(v);
  switch (id) {
  case DUCKDB_TYPE_BIGINT:
    s->v = ((int64_t *)d)[0];
    break;
  case DUCKDB_TYPE_INTEGER:
    s->v = ((int32_t *)d)[0];
    break;
  case DUCKDB_TYPE_UBIGINT:
    s->v = (int64_t)((uint64_t *)d)[0];
    break;
  case DUCKDB_TYPE_HUGEINT:
    s->v = (int64_t)((duckdb_hugeint *)d)[0].lower;
    break;
  case DUCKDB_TYPE_BOOLEAN:
    s->v = ((bool *)d)[0];
    break;
  default:
    return PK_EINVAL;
  }
  return PK_OK;
}

int pk_db_query_int64(pk_db_conn *c, const char *sql, int64_t *out,
                      pk_errmsg *e) {
  struct int_sink s = {0, false};
  pk_db_sink sink = {.chunk = int_chunk, .arg = &s};
  int err = pk_db_exec(c, sql, &sink, e);
  *out = s.v;
  return err;
}

/* ---- the watcher ------------------------------------------------------- */

struct pk_db_watch {
  pk_db_conn *c;
  unsigned interval_ms;
  pk_db_watch_cb cb;
  void *arg;
  bool stop; /* under mu */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  pthread_t thread;
};

static void *watch_main(void *p) {
  pk_db_watch *w = p;
  pthread_mutex_lock(&w->mu);
  while (!w->stop) {
    uint64_t deadline = pk_deadline_ns((uint64_t)w->interval_ms * 1000000u);
    struct timespec ts = pk_mono_timespec(deadline);
    while (!w->stop && pthread_cond_timedwait(&w->cv, &w->mu, &ts) == 0)
      ;
    if (w->stop)
      break;
    pthread_mutex_unlock(&w->mu);
    pk_db_progress_info info;
    pk_db_progress(w->c, &info);
    if (w->cb(w->arg, &info))
      pk_db_interrupt(w->c);
    pthread_mutex_lock(&w->mu);
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

int pk_db_watch_start(pk_db_conn *c, unsigned interval_ms, pk_db_watch_cb cb,
                      void *arg, pk_db_watch **out) {
  if (!c || !cb || !out || interval_ms == 0)
    return PK_EINVAL;
  pk_db_watch *w = calloc(1, sizeof *w);
  if (!w)
    return PK_ENOMEM;
  *w = (pk_db_watch){.c = c, .interval_ms = interval_ms, .cb = cb, .arg = arg};
  pthread_mutex_init(&w->mu, NULL);
  if (pk_cond_init_monotonic(&w->cv) != PK_OK) {
    pthread_mutex_destroy(&w->mu);
    free(w);
    return PK_ENOMEM;
  }
  if (pthread_create(&w->thread, NULL, watch_main, w) != 0) {
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
    return PK_ESYS;
  }
  *out = w;
  return PK_OK;
}

void pk_db_watch_stop(pk_db_watch *w) {
  if (!w)
    return;
  pthread_mutex_lock(&w->mu);
  w->stop = true;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
  pthread_join(w->thread, NULL);
  pthread_cond_destroy(&w->cv);
  pthread_mutex_destroy(&w->mu);
  free(w);
}

/* ---- SQL text ---------------------------------------------------------- */

static bool grow(pk_sqlbuf *b, size_t more) {
  if (b->err)
    return false;
  if (b->len + more + 1 <= b->cap)
    return true;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + more + 1)
    cap *= 2;
  char *s = realloc(b->s, cap);
  if (!s) {
    b->err = PK_ENOMEM;
    return false;
  }
  b->s = s;
  b->cap = cap;
  return true;
}

void pk_sqlbuf_add(pk_sqlbuf *b, const char *text) {
  size_t n = strlen(text);
  if (!grow(b, n))
    return;
  memcpy(b->s + b->len, text, n + 1);
  b->len += n;
}

void pk_sqlbuf_addf(pk_sqlbuf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0 || !grow(b, (size_t)n))
    return;
  va_start(ap, fmt);
  vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

static void add_quoted(pk_sqlbuf *b, const char *s, char q) {
  size_t n = 2;
  for (const char *p = s; *p; p++)
    n += *p == q ? 2 : 1;
  if (!grow(b, n))
    return;
  char *o = b->s + b->len;
  *o++ = q;
  for (const char *p = s; *p; p++) {
    if (*p == q)
      *o++ = q;
    *o++ = *p;
  }
  *o++ = q;
  *o = '\0';
  b->len += n;
}

void pk_sqlbuf_ident(pk_sqlbuf *b, const char *s) {
  add_quoted(b, s, '"');
}

void pk_sqlbuf_literal(pk_sqlbuf *b, const char *s) {
  add_quoted(b, s, '\'');
}

void pk_sqlbuf_free(pk_sqlbuf *b) {
  free(b->s);
  *b = (pk_sqlbuf){0};
}

/* ---- catalog queries ----------------------------------------------------- */

/* Runs a small catalog query and calls row(arg, values) for each row, with
 * the columns as text (NULL for SQL NULL). */
static int each_row(pk_db_conn *c, const char *sql,
                    int (*row)(void *arg, char **vals, idx_t n), void *arg,
                    pk_errmsg *e) {
  duckdb_result res;
  if (duckdb_query(c->con, sql, &res) != DuckDBSuccess) {
    int err = result_fail(c, &res, e);
    duckdb_destroy_result(&res);
    return err;
  }
  idx_t nc = duckdb_column_count(&res), nr = duckdb_row_count(&res);
  char *vals[8];
  int err = PK_OK;
  if (nc > 8)
    nc = 8;
  for (idx_t r = 0; r < nr && !err; r++) {
    for (idx_t i = 0; i < nc; i++)
      vals[i] = duckdb_value_varchar(&res, i, r);
    err = row(arg, vals, nc);
    for (idx_t i = 0; i < nc; i++)
      duckdb_free(vals[i]);
  }
  duckdb_destroy_result(&res);
  return err;
}

struct tables_acc {
  pk_sqlbuf *b;
  int n;
};

static int tables_row(void *arg, char **v, idx_t n) {
  struct tables_acc *a = arg;
  if (n < 2 || !v[0])
    return PK_OK;
  if (a->n++)
    pk_sqlbuf_add(a->b, " UNION ALL ");
  pk_sqlbuf_add(a->b, "SELECT ");
  pk_sqlbuf_literal(a->b, v[0]);
  pk_sqlbuf_add(a->b, " AS \"table\", (SELECT count(*) FROM main.");
  pk_sqlbuf_ident(a->b, v[0]);
  pk_sqlbuf_addf(a->b, ") AS \"rows\", %lld AS \"columns\"",
                 v[1] ? atoll(v[1]) : 0LL);
  return a->b->err;
}

int pk_db_tables_sql(pk_db_conn *c, char **sql, pk_errmsg *e) {
  pk_sqlbuf b = {0};
  struct tables_acc a = {&b, 0};
  pk_sqlbuf_add(&b, "SELECT * FROM (");
  int err = each_row(c,
                     "SELECT table_name, column_count FROM duckdb_tables() "
                     "WHERE schema_name = 'main' AND database_name = "
                     "current_database() ORDER BY table_name",
                     tables_row, &a, e);
  if (!err && a.n == 0)
    pk_sqlbuf_add(&b, "SELECT NULL::VARCHAR AS \"table\", NULL::BIGINT AS "
                      "\"rows\", NULL::BIGINT AS \"columns\" WHERE false");
  pk_sqlbuf_add(&b, ") ORDER BY \"table\"");
  if (!err && b.err)
    err = pk_errmsg_set(e, b.err, "out of memory");
  if (err) {
    pk_sqlbuf_free(&b);
    return err;
  }
  *sql = b.s;
  return PK_OK;
}

struct schema_acc {
  pk_sqlbuf stats, names, types, nulls, lo, hi, dist;
  char table[256];
  int n;
};

/* Types for which min, max and approx_count_distinct are not computed. */
static bool nested(const char *type) {
  return strchr(type, '[') || !strncmp(type, "STRUCT", 6) ||
         !strncmp(type, "MAP", 3) || !strncmp(type, "UNION", 5);
}

static int schema_row(void *arg, char **v, idx_t n) {
  struct schema_acc *a = arg;
  if (n < 3 || !v[0] || !v[1] || !v[2])
    return PK_OK;
  snprintf(a->table, sizeof a->table, "%s", v[2]);
  int k = a->n++;
  const char *sep = k ? ", " : "";
  pk_sqlbuf_addf(&a->stats, "%scount(*) - count(", sep);
  pk_sqlbuf_ident(&a->stats, v[0]);
  pk_sqlbuf_addf(&a->stats, ") AS n%d", k);
  if (!nested(v[1])) {
    pk_sqlbuf_add(&a->stats, ", CAST(min(");
    pk_sqlbuf_ident(&a->stats, v[0]);
    pk_sqlbuf_addf(&a->stats, ") AS VARCHAR) AS lo%d, CAST(max(", k);
    pk_sqlbuf_ident(&a->stats, v[0]);
    pk_sqlbuf_addf(&a->stats, ") AS VARCHAR) AS hi%d, approx_count_distinct(",
                   k);
    pk_sqlbuf_ident(&a->stats, v[0]);
    pk_sqlbuf_addf(&a->stats, ") AS d%d", k);
  } else {
    pk_sqlbuf_addf(&a->stats,
                   ", NULL::VARCHAR AS lo%d, NULL::VARCHAR AS hi%d, "
                   "NULL::BIGINT AS d%d",
                   k, k, k);
  }
  pk_sqlbuf_add(&a->names, sep);
  pk_sqlbuf_literal(&a->names, v[0]);
  pk_sqlbuf_add(&a->types, sep);
  pk_sqlbuf_literal(&a->types, v[1]);
  pk_sqlbuf_addf(&a->nulls, "%sn%d", sep, k);
  pk_sqlbuf_addf(&a->lo, "%slo%d", sep, k);
  pk_sqlbuf_addf(&a->hi, "%shi%d", sep, k);
  pk_sqlbuf_addf(&a->dist, "%sd%d", sep, k);
  return PK_OK;
}

int pk_db_schema_sql(pk_db_conn *c, const char *table, char **sql,
                     pk_errmsg *e) {
  struct schema_acc a = {0};
  pk_sqlbuf q = {0};
  pk_sqlbuf_add(&q, "SELECT column_name, data_type, table_name FROM "
                    "duckdb_columns() WHERE schema_name = 'main' AND "
                    "database_name = current_database() AND "
                    "lower(table_name) = lower(");
  pk_sqlbuf_literal(&q, table);
  pk_sqlbuf_add(&q, ") ORDER BY column_index");
  int err = q.err ? pk_errmsg_set(e, q.err, "out of memory")
                  : each_row(c, q.s, schema_row, &a, e);
  pk_sqlbuf_free(&q);
  if (!err && a.n == 0)
    err =
        pk_errmsg_set(e, PK_ENOENT, "no table '%s' (see 'pika tables')", table);
  pk_sqlbuf b = {0};
  if (!err) {
    pk_sqlbuf_add(&b, "WITH s AS MATERIALIZED (SELECT ");
    pk_sqlbuf_add(&b, a.stats.s);
    pk_sqlbuf_add(&b, " FROM main.");
    pk_sqlbuf_ident(&b, a.table);
    pk_sqlbuf_addf(&b,
                   ") SELECT unnest([%s]) AS \"column\", unnest([%s]) AS "
                   "\"type\", unnest([%s]) AS \"nulls\", unnest([%s]) AS "
                   "\"min\", unnest([%s]) AS \"max\", unnest([%s]) AS "
                   "\"distinct\" FROM s",
                   a.names.s, a.types.s, a.nulls.s, a.lo.s, a.hi.s, a.dist.s);
    int berr = b.err | a.stats.err | a.names.err | a.types.err | a.nulls.err |
               a.lo.err | a.hi.err | a.dist.err;
    if (berr)
      err = pk_errmsg_set(e, PK_ENOMEM, "out of memory");
  }
  pk_sqlbuf_free(&a.stats);
  pk_sqlbuf_free(&a.names);
  pk_sqlbuf_free(&a.types);
  pk_sqlbuf_free(&a.nulls);
  pk_sqlbuf_free(&a.lo);
  pk_sqlbuf_free(&a.hi);
  pk_sqlbuf_free(&a.dist);
  if (err) {
    pk_sqlbuf_free(&b);
    return err;
  }
  *sql = b.s;
  return PK_OK;
}

int pk_db_table_exists(pk_db_conn *c, const char *table, bool *exists,
                       pk_errmsg *e) {
  pk_sqlbuf q = {0};
  pk_sqlbuf_add(&q, "SELECT count(*) FROM duckdb_tables() WHERE schema_name "
                    "= 'main' AND database_name = current_database() AND "
                    "lower(table_name) = lower(");
  pk_sqlbuf_literal(&q, table);
  pk_sqlbuf_add(&q, ")");
  if (q.err)
    return pk_errmsg_set(e, q.err, "out of memory");
  int64_t n = 0;
  int err = pk_db_query_int64(c, q.s, &n, e);
  pk_sqlbuf_free(&q);
  *exists = n > 0;
  return err;
}
