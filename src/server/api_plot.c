/* api_plot.c — POST /api/plot (the binary PKPL answer, pkpl.h) and
 * POST /api/export (PNG, SVG, PDF through the renderer; CSV and Parquet
 * through DuckDB). Plots run at interactive priority and are superseded
 * by a newer seq of the same plot id (ops.h); exports run at background
 * priority. Columns come from the engine's plot-column cache
 * (pk_plot_load), so a new viewport of the same data runs no SQL. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "engine/format_out.h"
#include "engine/plot_stream.h"
#include "render/render.h"
#include "server/pkpl.h"
#include "server/server_int.h"

static const char *opt_str(json_t *o, const char *k, bool *bad) {
  json_t *v = json_object_get(o, k);
  if (!v || json_is_null(v))
    return NULL;
  if (!json_is_string(v)) {
    *bad = true;
    return NULL;
  }
  return json_string_value(v);
}

static bool opt_bool(json_t *o, const char *k, bool *bad) {
  json_t *v = json_object_get(o, k);
  if (!v || json_is_null(v))
    return false;
  if (!json_is_boolean(v))
    *bad = true;
  return json_is_true(v);
}

int pk_parse_plot_spec(json_t *sj, json_t *vp, int width, int height,
                       pk_plot_spec *spec, char *msg, size_t cap) {
  memset(spec, 0, sizeof *spec);
  if (!json_is_object(sj)) {
    snprintf(msg, cap, "'spec' must be an object");
    return PK_EINVAL;
  }
  bool bad = false;
  const char *kind = opt_str(sj, "kind", &bad);
  if (!kind || pk_plot_kind_parse(kind, &spec->kind)) {
    snprintf(msg, cap,
             "spec.kind must be one of scatter, line, area, bar, histogram, "
             "heatmap, box, violin");
    return PK_EINVAL;
  }
  spec->x = opt_str(sj, "x", &bad);
  spec->y = opt_str(sj, "y", &bad);
  spec->color = opt_str(sj, "color", &bad);
  spec->z = opt_str(sj, "z", &bad);
  spec->title = opt_str(sj, "title", &bad);
  const char *agg = opt_str(sj, "agg", &bad);
  if (agg && pk_kagg_parse(agg, &spec->agg)) {
    snprintf(msg, cap, "spec.agg must be count, sum, mean, min or max");
    return PK_EINVAL;
  }
  json_t *bins = json_object_get(sj, "bins");
  if (bins && !json_is_null(bins)) {
    if (!json_is_integer(bins) || json_integer_value(bins) < 0 ||
        json_integer_value(bins) > 10000) {
      snprintf(msg, cap, "spec.bins must be an integer in 0..10000");
      return PK_EINVAL;
    }
    spec->bins = (size_t)json_integer_value(bins);
  }
  spec->log_x = opt_bool(sj, "log_x", &bad);
  spec->log_y = opt_bool(sj, "log_y", &bad);
  /* Stacking only means something for bars; the canvas keeps the toggle
   * when the kind changes, so it is ignored elsewhere rather than refused. */
  spec->stacked = opt_bool(sj, "stacked", &bad) && spec->kind == PK_PLOT_BAR;
  if (bad || !spec->x) {
    snprintf(msg, cap,
             "spec wants x (a column name), optional y, color, z, title "
             "(strings or null), log_x, log_y, stacked (booleans)");
    return PK_EINVAL;
  }
  if (vp && !json_is_null(vp)) {
    double v[4];
    const char *k[4] = {"x0", "x1", "y0", "y1"};
    for (int i = 0; i < 4; i++) {
      json_t *n = json_object_get(vp, k[i]);
      if (!json_is_number(n)) {
        snprintf(msg, cap, "viewport wants numbers x0, x1, y0, y1");
        return PK_EINVAL;
      }
      v[i] = json_number_value(n);
    }
    if (!(v[0] < v[1]) || !(v[2] < v[3])) {
      snprintf(msg, cap, "viewport wants x0 < x1 and y0 < y1");
      return PK_EINVAL;
    }
    bool xy = spec->kind == PK_PLOT_SCATTER || spec->kind == PK_PLOT_LINE ||
              spec->kind == PK_PLOT_AREA || spec->kind == PK_PLOT_HEATMAP ||
              spec->kind == PK_PLOT_DENSITY;
    if (xy || spec->kind == PK_PLOT_HISTOGRAM) {
      spec->x_fixed = true;
      spec->x0 = v[0];
      spec->x1 = v[1];
    }
    if (xy) {
      spec->y_fixed = true;
      spec->y0 = v[2];
      spec->y1 = v[3];
    }
  }
  spec->width = width;
  spec->height = height;
  return PK_OK;
}

static int get_size(json_t *body, const char *k, int def, int lo, int hi,
                    int *out) {
  json_t *v = json_object_get(body, k);
  if (!v || json_is_null(v)) {
    *out = def;
    return 0;
  }
  if (!json_is_integer(v) || json_integer_value(v) < lo ||
      json_integer_value(v) > hi)
    return -1;
  *out = (int)json_integer_value(v);
  return 0;
}

/* The finite extent of a numeric column, recorded when it was loaded. */
static void col_range(const pk_cols *cs, const char *name, double *lo,
                      double *hi) {
  *lo = *hi = NAN;
  const pk_col *c = pk_cols_find(cs, name);
  if (c && !c->is_categorical && c->ranged && c->min <= c->max) {
    *lo = c->min;
    *hi = c->max;
  }
}

typedef struct pjob {
  pk_server *s;
  pk_op *op;
  const char *sql;
  pk_plot_spec spec;
  /* plot */
  const char *plot_id;
  long long seq;
  unsigned char *out;
  size_t len;
  /* export */
  const char *format;
  double dpi;
  char tmpdir[64];
  char file[128];
  uint64_t t0;
  int err;
  pk_errmsg e;
} pjob;

/* Builds the plot: from the cache, or streamed for a large source
 * (engine/plot_stream.h). On success *r is the caller's
 * (pk_plot_result_free). */
static int build(pjob *j, pk_plot_result *r) {
  pk_db_conn *c = NULL;
  memset(r, 0, sizeof *r);
  if (pk_op_acquire(j->s, j->op, PK_DB_READER, &c) != PK_OP_RUNNING) {
    pk_op_release(j->s, j->op, c);
    return PK_EINTERRUPTED;
  }
  int err = pk_plot_run(j->s->cache, c, j->s->kern, &j->spec, j->sql,
                        j->s->stream_min_rows, r, &j->e);
  pk_op_release(j->s, j->op, c);
  if (!err && pk_ops_reason(&j->s->ops, j->op) != PK_OP_RUNNING) {
    pk_plot_result_free(r);
    err = PK_EINTERRUPTED;
  }
  return err;
}

/* ---- the density index --------------------------------------------------- */

static void index_task(pk_task *self, void *arg) {
  (void)self;
  pk_errmsg e = {0};
  (void)pk_cache_cols_index_build(arg, "x", "y", &e); /* else: scans stay */
}

static void index_done(void *arg, int status) {
  (void)status;
  pk_cache_cols_release(arg);
}

/* After a density count that scanned many points, builds the columns'
 * density index in the background (engine/dindex.h), so that the next
 * viewports of this plot read ~2 bytes a point instead of 16. Best effort:
 * if the pool is busy or memory is short, plots go on scanning. */
static void index_later(pk_server *s, pk_cache_cols *h, const pk_plot_spec *sp,
                        const pk_plot *model) {
  const pk_cols *cols = pk_cache_cols_view(h);
  if (model->kind != PK_PLOT_DENSITY || sp->log_x || sp->log_y ||
      cols->nrows < s->index_min_rows || pk_cache_cols_index(h, "x", "y"))
    return;
  pk_cache_cols *mine = pk_cache_cols_retain(h);
  if (!mine)
    return;
  pk_task_spec ts = {.prio = PK_PRIO_BACKGROUND,
                     .fn = index_task,
                     .arg = mine,
                     .on_done = index_done,
                     .nowait = true};
  if (pk_pool_submit_ex(s->exec, &ts, NULL) != PK_OK)
    pk_cache_cols_release(mine);
}

/* ---- filling the cache after a streamed plot ----------------------------- */

/* The columns of a streamed plot, loaded into the cache in the background
 * so that the next viewports re-aggregate from memory; a registered op, so
 * that shutdown interrupts it. Then the density index, as after a plot
 * from the cache. */
typedef struct fill_job {
  pk_server *s;
  pk_op op;
  pk_plot_spec spec; /* its x and y point at x, y */
  char *x, *y, *sql;
  pk_plot_kind model;
} fill_job;

static void fill_free(fill_job *f) {
  free(f->x);
  free(f->y);
  free(f->sql);
  free(f);
}

static void fill_task(pk_task *self, void *arg) {
  (void)self;
  fill_job *f = arg;
  pk_db_conn *c = NULL;
  pk_cache_cols *h = NULL;
  pk_errmsg e = {{0}};
  if (pk_op_acquire(f->s, &f->op, PK_DB_READER, &c) == PK_OP_RUNNING &&
      pk_plot_load(f->s->cache, c, &f->spec, f->sql, &h, &e) == PK_OK) {
    pk_plot model = {.kind = f->model};
    index_later(f->s, h, &f->spec, &model);
  } /* else: the next plot streams or loads again */
  pk_op_release(f->s, &f->op, c);
  pk_cache_cols_release(h);
}

static void fill_done(void *arg, int status) {
  (void)status;
  fill_job *f = arg;
  pk_ops_end(&f->s->ops, &f->op);
  fill_free(f);
}

static void fill_later(pk_server *s, const pjob *j, const pk_plot *model) {
  fill_job *f = calloc(1, sizeof *f);
  if (!f)
    return;
  f->s = s;
  f->spec = j->spec;
  f->spec.title = f->spec.color = f->spec.z = NULL; /* unused here */
  f->spec.x = f->x = strdup(j->spec.x);
  f->spec.y = f->y = strdup(j->spec.y);
  f->sql = strdup(j->sql);
  f->model = model->kind;
  if (!f->x || !f->y || !f->sql) {
    fill_free(f);
    return;
  }
  /* No plot id: a newer viewport of the plot must not stop its own fill. */
  f->op.deadline_ns = pk_now_ns() + s->timeout_ns;
  pk_ops_begin(&s->ops, &f->op);
  pk_task_spec ts = {.prio = PK_PRIO_BACKGROUND,
                     .fn = fill_task,
                     .arg = f,
                     .on_done = fill_done,
                     .nowait = true};
  if (pk_pool_submit_ex(s->exec, &ts, NULL) != PK_OK) {
    pk_ops_end(&s->ops, &f->op);
    fill_free(f);
  }
}

static void plot_task(void *arg) {
  pjob *j = arg;
  pk_plot_result r;
  j->err = build(j, &r);
  if (!j->err) {
    const pk_cols *cols = pk_plot_result_cols(&r);
    pk_plot model = *pk_plot_out_model(r.out);
    pk_pkpl_meta m = {.plot = j->plot_id,
                      .seq = j->seq,
                      .rows = cols->nrows,
                      .points = pk_plot_out_points(r.out),
                      .cached = r.cols && pk_cache_cols_hit(r.cols)};
    m.ext_x0 = m.ext_x1 = m.ext_y0 = m.ext_y1 = NAN;
    pk_plot_kind k = j->spec.kind;
    if (k == PK_PLOT_SCATTER || k == PK_PLOT_LINE || k == PK_PLOT_AREA ||
        k == PK_PLOT_HEATMAP || k == PK_PLOT_HISTOGRAM || k == PK_PLOT_DENSITY)
      col_range(cols, "x", &m.ext_x0, &m.ext_x1);
    if (k == PK_PLOT_SCATTER || k == PK_PLOT_LINE || k == PK_PLOT_AREA ||
        k == PK_PLOT_HEATMAP || k == PK_PLOT_DENSITY)
      col_range(cols, "y", &m.ext_y0, &m.ext_y1);
    m.elapsed_ms = (double)(pk_now_ns() - j->t0) / 1e6;
    j->err = pk_pkpl_encode(&model, &m, &j->out, &j->len, &j->e);
    if (!j->err && r.cols)
      index_later(j->s, r.cols, &j->spec, &model);
    else if (!j->err) {
      atomic_fetch_add(&j->s->plots_streamed, 1);
      fill_later(j->s, j, &model);
    }
  }
  pk_plot_result_free(&r);
}

/* Parses what plot and export share. Returns 0 or the reply sent. */
static int parse_common(pk_req *r, json_t *body, pjob *j, int defw, int defh,
                        bool need_spec) {
  j->sql = json_string_value(json_object_get(body, "sql"));
  int w, h;
  if (!j->sql || !*j->sql)
    return pk_reply_error(r, 400, "bad_request", "missing field 'sql'");
  if (get_size(body, "width", defw, 64, 8192, &w) ||
      get_size(body, "height", defh, 64, 8192, &h))
    return pk_reply_error(r, 400, "bad_request",
                          "width and height must be integers in 64..8192");
  if (!need_spec)
    return 0;
  char msg[256];
  json_t *spec = json_object_get(body, "spec");
  if (pk_parse_plot_spec(spec, json_object_get(body, "viewport"), w, h,
                         &j->spec, msg, sizeof msg))
    return pk_reply_error(r, 400, "bad_request", "%s", msg);
  pk_sqlbuf q = {0};
  pk_errmsg e = {{0}};
  int err = pk_plot_sql(&j->spec, j->sql, &q, &e);
  pk_sqlbuf_free(&q);
  if (err)
    return pk_reply_error(r, 400, "bad_request", "%s", e.text);
  return 0;
}

static int finish_op(pk_req *r, pjob *j) {
  pk_op_reason why = pk_ops_reason(&r->s->ops, j->op);
  pk_ops_end(&r->s->ops, j->op);
  if (!j->err)
    return 0;
  if (j->err == PK_ECANCELED && why == PK_OP_RUNNING)
    why = PK_OP_SHUTDOWN;
  bool stopped = j->err == PK_EINTERRUPTED || j->err == PK_ECANCELED;
  if (!stopped && j->err == PK_EINVAL && !strstr(j->e.text, "Error"))
    return pk_reply_error(r, 422, "sql_error", "%s", j->e.text);
  return pk_reply_engine_error(r, j->err, &j->e, stopped ? why : PK_OP_RUNNING);
}

int pk_api_plot(pk_req *r) {
  pk_server *s = r->s;
  json_t *body = NULL;
  int st = pk_read_json(r, &body);
  if (st)
    return st;
  pk_op op = {0};
  pjob j = {.s = s, .op = &op, .err = PK_ECANCELED, .t0 = pk_now_ns()};
  json_t *plot = json_object_get(body, "plot"),
         *seq = json_object_get(body, "seq");
  if (!json_is_string(plot) || !json_is_integer(seq)) {
    json_decref(body);
    return pk_reply_error(r, 400, "bad_request",
                          "wants \"plot\" (string) and \"seq\" (integer)");
  }
  if ((st = parse_common(r, body, &j, 800, 500, true))) {
    json_decref(body);
    return st;
  }
  j.plot_id = json_string_value(plot);
  j.seq = (long long)json_integer_value(seq);
  snprintf(op.plot, sizeof op.plot, "%s", j.plot_id);
  op.seq = j.seq;
  pk_client_id(mg_get_header(r->c, "X-Pika-Client"), op.client);
  op.deadline_ns = pk_now_ns() + s->timeout_ns;
  pk_ops_begin(&s->ops, &op);
  if (pk_ops_reason(&s->ops, &op) == PK_OP_RUNNING)
    pk_run_task(s, &op, PK_PRIO_INTERACTIVE, plot_task, &j);
  st = finish_op(r, &j);
  if (!st)
    st = pk_reply_text(r, 200, PK_PKPL_MIME, (const char *)j.out, j.len, NULL,
                       NULL);
  free(j.out);
  json_decref(body);
  return st;
}

/* ---- export -------------------------------------------------------------- */

static void export_task(void *arg) {
  pjob *j = arg;
  const char *f = j->format;
  if (!strcmp(f, "png") || !strcmp(f, "svg") || !strcmp(f, "pdf")) {
    pk_plot_result r;
    j->err = build(j, &r);
    if (!j->err) {
      pk_plot model = *pk_plot_out_model(r.out);
      if (!strcmp(f, "png"))
        j->err = pk_render_png_buffer(&model, j->spec.width, j->spec.height,
                                      j->dpi, &j->out, &j->len, NULL, &j->e);
      else
        j->err = pk_render_file(&model, j->file, j->spec.width, j->spec.height,
                                j->dpi, &j->e);
    }
    pk_plot_result_free(&r);
    return;
  }
  pk_db_conn *c = NULL;
  if (pk_op_acquire(j->s, j->op, PK_DB_READER, &c) != PK_OP_RUNNING) {
    pk_op_release(j->s, j->op, c);
    j->err = PK_EINTERRUPTED;
    return;
  }
  if (!strcmp(f, "csv")) {
    FILE *out = fopen(j->file, "wb");
    if (!out) {
      j->err = pk_errmsg_set(&j->e, PK_EIO, "cannot create a temporary file");
    } else {
      pk_fmt_opts fo = {.fmt = PK_FMT_CSV};
      j->err = pk_fmt_run(c, j->sql, &fo, out, NULL, &j->e);
      if (fclose(out) && !j->err)
        j->err = pk_errmsg_set(&j->e, PK_EIO, "cannot write the export");
    }
  } else {
    pk_sqlbuf q = {0};
    j->err = pk_fmt_copy_sql(c, j->sql, j->file, &q, &j->e);
    if (!j->err)
      j->err = pk_db_exec(c, q.s, NULL, &j->e);
    pk_sqlbuf_free(&q);
  }
  pk_op_release(j->s, j->op, c);
}

static int send_file(pk_req *r, const char *path, const char *mime,
                     const char *disp) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return pk_reply_error(r, 500, "internal", "the export file vanished");
  const char *extra[] = {"Content-Disposition", disp, "Cache-Control",
                         "no-store", NULL};
  return pk_reply_file(r, f, mime, extra);
}

int pk_api_export(pk_req *r) {
  static const struct {
    const char *fmt, *mime, *file;
  } kinds[] = {
      {"png", "image/png", "pika-plot.png"},
      {"svg", "image/svg+xml", "pika-plot.svg"},
      {"pdf", "application/pdf", "pika-plot.pdf"},
      {"csv", "text/csv; charset=utf-8", "pika-export.csv"},
      {"parquet", "application/vnd.apache.parquet", "pika-export.parquet"}};
  pk_server *s = r->s;
  json_t *body = NULL;
  int st = pk_read_json(r, &body);
  if (st)
    return st;
  const char *fmt = json_string_value(json_object_get(body, "format"));
  int k = -1;
  for (int i = 0; fmt && i < 5; i++)
    if (!strcmp(fmt, kinds[i].fmt))
      k = i;
  if (k < 0) {
    json_decref(body);
    return pk_reply_error(r, 400, "bad_request",
                          "format must be png, svg, pdf, csv or parquet");
  }
  pk_op op = {0};
  pjob j = {.s = s, .op = &op, .err = PK_ECANCELED, .format = fmt};
  json_t *dpi = json_object_get(body, "dpi");
  j.dpi = 100;
  if (dpi && !json_is_null(dpi)) {
    if (!json_is_number(dpi) || json_number_value(dpi) < 10 ||
        json_number_value(dpi) > 2400) {
      json_decref(body);
      return pk_reply_error(r, 400, "bad_request", "dpi must be in 10..2400");
    }
    j.dpi = json_number_value(dpi);
  }
  if ((st = parse_common(r, body, &j, 1000, 600, k < 3))) {
    json_decref(body);
    return st;
  }
  snprintf(j.tmpdir, sizeof j.tmpdir, "/tmp/pika-export-XXXXXX");
  if (k > 0 && !mkdtemp(j.tmpdir)) {
    json_decref(body);
    return pk_reply_error(r, 500, "internal",
                          "cannot create a temporary directory");
  }
  snprintf(j.file, sizeof j.file, "%s/%s", j.tmpdir, kinds[k].file);
  pk_client_id(mg_get_header(r->c, "X-Pika-Client"), op.client);
  op.deadline_ns = pk_now_ns() + s->timeout_ns;
  pk_ops_begin(&s->ops, &op);
  pk_run_task(s, &op, PK_PRIO_BACKGROUND, export_task, &j);
  st = finish_op(r, &j);
  char disp[96];
  snprintf(disp, sizeof disp, "attachment; filename=\"%s\"", kinds[k].file);
  if (!st && k == 0)
    st = pk_reply_text(r, 200, kinds[k].mime, (const char *)j.out, j.len,
                       "Content-Disposition", disp);
  else if (!st)
    st = send_file(r, j.file, kinds[k].mime, disp);
  if (k > 0) {
    unlink(j.file);
    rmdir(j.tmpdir);
  }
  free(j.out);
  json_decref(body);
  return st;
}
