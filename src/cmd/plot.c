/* plot.c — `pika plot`: a table, a file or a query drawn to PNG, SVG or
 * PDF without a browser. Loads only the columns the plot needs
 * (engine/plot.h's SQL), reduces them with the kernels and renders with
 * render/render.h. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/sys.h"
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "cmd/dbwatch.h"
#include "cmd/exit.h"
#include "engine/columns.h"
#include "engine/csvnum.h"
#include "engine/db.h"
#include "engine/importer.h"
#include "engine/plot.h"
#include "render/render.h"
#include "runtime/pool.h"

const char cmd_plot_usage[] =
    "usage: pika plot SOURCE|--sql SQL --kind KIND --x COL [--y COL]\n"
    "                 [--color COL] [--z COL] [--agg AGG] [--bins N]\n"
    "                 [--stacked] [--log-x] [--log-y] [--title T]\n"
    "                 [--width W] [--height H] [--dpi D] [--x-range A:B]\n"
    "                 [--y-range A:B] [--db FILE] -o OUT.png|svg|pdf\n"
    "\n"
    "Draws a plot of a workspace table, a file DuckDB can read (CSV,\n"
    "Parquet, JSON; SOURCE is taken as a file when it exists or contains\n"
    "'*') or the result of --sql, without a browser.\n"
    "\n"
    "kinds:\n"
    "  scatter    x, y; --color: a series per category, or a colour scale\n"
    "             for a numeric column. Above 200000 points the plot becomes\n"
    "             an exact density raster (one cell per 2 x 2 px)\n"
    "  line, area x, y, one series per --color value; M4-reduced per pixel\n"
    "             column, so the picture matches the full series\n"
    "  histogram  x; Freedman-Diaconis bins unless --bins N\n"
    "  heatmap    x, y in --bins (50) x --bins cells; count, or --agg of --z\n"
    "  bar        categories of x, --agg (count) of y per category, grouped\n"
    "             by --color side by side, or --stacked on one bar\n"
    "             (aggregated in DuckDB)\n"
    "  box        y per category of x (or x alone): quartiles, 1.5 IQR\n"
    "             whiskers, outliers\n"
    "  violin     as box, with a Gaussian KDE (Silverman's bandwidth; at most\n"
    "             100000 points per group)\n"
    "\n"
    "options:\n"
    "  --db FILE         the database file (default: the workspace)\n"
    "  --agg AGG         count (default), sum, mean, min or max\n"
    "  --stacked         bar: stack the --color groups on one bar\n"
    "  --log-x, --log-y  log10 axes; histogram, heatmap and density bins are\n"
    "                    then equally wide in log space, and rows with a\n"
    "                    value <= 0 there are left out (and counted)\n"
    "  --width/--height  image size in pixels (default 1000 x 600)\n"
    "  --dpi D           text and line scale (default 100)\n"
    "  -o, --output FILE the image; the format follows the extension\n"
    "\n"
    "DATE and TIMESTAMP columns give a time axis (UTC). An unknown column\n"
    "exits 65 and lists the columns; Ctrl-C exits 130. A summary line\n"
    "(rows, kind, time) goes to standard error.\n";

static int parse_range(const char *s, double *a, double *b) {
  char *end;
  *a = strtod(s, &end);
  if (end == s || *end != ':')
    return PK_EINVAL;
  const char *t = end + 1;
  *b = strtod(t, &end);
  if (end == t || *end || !(*a < *b))
    return PK_EINVAL;
  return PK_OK;
}

static int parse_pos(const char *s, long max, long *out) {
  char *end;
  long v = strtol(s, &end, 10);
  if (end == s || *end || v <= 0 || v > max)
    return PK_EINVAL;
  *out = v;
  return PK_OK;
}

/* DuckDB's memory limit for a plot that only scans its source. */
#define PLOT_SCAN_MEMORY (64ull << 20)

/* Whether the source names a file (or a glob) rather than a table. */
static bool source_is_file(const char *src) {
  return access(src, F_OK) == 0 || strchr(src, '*');
}

/* The source as a query: a file read as pika import reads it, or a quoted
 * table. */
static void source_sql(const char *src, bool file, pk_sqlbuf *b) {
  pk_sqlbuf_add(b, "SELECT * FROM ");
  if (file)
    pk_import_reader(b, src);
  else
    pk_sqlbuf_ident(b, src);
}

/* Exit 65 naming the first column of the spec that the source lacks. */
static int check_columns(pk_db_conn *c, const char *src, const pk_plot_spec *s,
                         pk_errmsg *e, bool *missing) {
  pk_sqlbuf q = {0};
  pk_sqlbuf_addf(&q, "SELECT * FROM (%s) LIMIT 0", src);
  pk_cols *cs = NULL;
  int err = q.err ? PK_ENOMEM : pk_cols_load(c, q.s, &cs, e);
  pk_sqlbuf_free(&q);
  *missing = false;
  if (err) {
    return err;
  }
  const char *names[4] = {s->x, s->y, s->color, s->z};
  for (int i = 0; i < 4 && !*missing; i++) {
    if (!names[i] || pk_cols_find(cs, names[i]))
      continue;
    pk_sqlbuf l = {0};
    for (size_t j = 0; j < cs->ncols; j++) {
      pk_sqlbuf_add(&l, j ? ", " : "");
      pk_sqlbuf_add(&l, cs->cols[j].name);
    }
    pk_errmsg_set(e, PK_EINVAL, "unknown column '%s'; the columns are: %s",
                  names[i], l.s ? l.s : "(none)");
    pk_sqlbuf_free(&l);
    *missing = true;
  }
  pk_cols_free(cs);
  return PK_OK;
}

int cmd_plot(int argc, char **argv) {
  static const struct option opts[] = {
      {"db", required_argument, NULL, 'd'},
      {"sql", required_argument, NULL, 'q'},
      {"kind", required_argument, NULL, 'k'},
      {"x", required_argument, NULL, 'x'},
      {"y", required_argument, NULL, 'y'},
      {"color", required_argument, NULL, 'c'},
      {"z", required_argument, NULL, 'z'},
      {"agg", required_argument, NULL, 'a'},
      {"bins", required_argument, NULL, 'b'},
      {"log-x", no_argument, NULL, 'L'},
      {"log-y", no_argument, NULL, 'M'},
      {"stacked", no_argument, NULL, 'S'},
      {"title", required_argument, NULL, 't'},
      {"width", required_argument, NULL, 'W'},
      {"height", required_argument, NULL, 'H'},
      {"dpi", required_argument, NULL, 'D'},
      {"x-range", required_argument, NULL, 'X'},
      {"y-range", required_argument, NULL, 'Y'},
      {"output", required_argument, NULL, 'o'},
      {0}};
  const char *dbpath = NULL, *sql = NULL, *out = NULL, *kind = NULL;
  pk_plot_spec s = {.width = 1000, .height = 600};
  long dpi = 100, v;
  pk_cli_reset();
  int c;
  while ((c = pk_cli_getopt(argc, argv, "o:", opts, "plot", cmd_plot_usage)) !=
         -1) {
    switch (c) {
    case 'd':
      dbpath = optarg;
      break;
    case 'q':
      sql = optarg;
      break;
    case 'k':
      kind = optarg;
      if (pk_plot_kind_parse(optarg, &s.kind))
        return pk_cli_usage_error("plot", "unknown kind '%s'", optarg);
      break;
    case 'x':
      s.x = optarg;
      break;
    case 'y':
      s.y = optarg;
      break;
    case 'c':
      s.color = optarg;
      break;
    case 'z':
      s.z = optarg;
      break;
    case 'a':
      if (pk_kagg_parse(optarg, &s.agg))
        return pk_cli_usage_error("plot", "unknown --agg '%s'", optarg);
      break;
    case 'b':
      if (parse_pos(optarg, 100000, &v))
        return pk_cli_usage_error("plot", "bad --bins '%s'", optarg);
      s.bins = (size_t)v;
      break;
    case 'L':
      s.log_x = true;
      break;
    case 'M':
      s.log_y = true;
      break;
    case 'S':
      s.stacked = true;
      break;
    case 't':
      s.title = optarg;
      break;
    case 'W':
    case 'H':
      if (parse_pos(optarg, 32768, &v))
        return pk_cli_usage_error("plot", "bad size '%s'", optarg);
      *(c == 'W' ? &s.width : &s.height) = (int)v;
      break;
    case 'D':
      if (parse_pos(optarg, 2400, &dpi) || dpi < 10)
        return pk_cli_usage_error("plot", "bad --dpi '%s'", optarg);
      break;
    case 'X':
      if (parse_range(optarg, &s.x0, &s.x1))
        return pk_cli_usage_error("plot", "bad --x-range '%s' (A:B)", optarg);
      s.x_fixed = true;
      break;
    case 'Y':
      if (parse_range(optarg, &s.y0, &s.y1))
        return pk_cli_usage_error("plot", "bad --y-range '%s' (A:B)", optarg);
      s.y_fixed = true;
      break;
    case 'o':
      out = optarg;
      break;
    default:
      return pk_cli_status(c);
    }
  }
  const char *src = optind < argc ? argv[optind] : NULL;
  if (optind + 1 < argc)
    return pk_cli_usage_error("plot", "unexpected argument '%s'",
                              argv[optind + 1]);
  if (!src == !sql)
    return pk_cli_usage_error("plot", "give a SOURCE or --sql, not both");
  if (!kind)
    return pk_cli_usage_error("plot", "--kind is required");
  if (!s.x)
    return pk_cli_usage_error("plot", "--x is required");
  if (!out)
    return pk_cli_usage_error("plot", "-o OUT.png|svg|pdf is required");
  const char *ext = strrchr(out, '.');
  if (!ext || (strcasecmp(ext, ".png") && strcasecmp(ext, ".svg") &&
               strcasecmp(ext, ".pdf")))
    return pk_cli_usage_error("plot", "-o must end in .png, .svg or .pdf");
  if ((s.log_x && s.x_fixed && !(s.x0 > 0)) ||
      (s.log_y && s.y_fixed && !(s.y0 > 0)))
    return pk_cli_usage_error("plot", "a log axis needs a positive range");

  pk_errmsg e = {{0}};
  pk_sqlbuf srcq = {0}, q = {0};
  bool from_file = !sql && source_is_file(src);
  if (sql)
    pk_sqlbuf_add(&srcq, sql);
  else
    source_sql(src, from_file, &srcq);
  int err = srcq.err ? pk_errmsg_set(&e, PK_ENOMEM, "out of memory")
                     : pk_plot_sql(&s, srcq.s, &q, &e);
  if (err) {
    pk_sqlbuf_free(&srcq);
    pk_sqlbuf_free(&q);
    return err == PK_EINVAL
               ? pk_cli_usage_error("plot", "%s", e.text)
               : pk_cli_fail("plot", pk_exit_code(err), "%s", e.text);
  }

  /* A scan of a table needs little of DuckDB's memory, and what DuckDB's
   * buffer pool keeps of the table's blocks is of no use to a process that
   * ends after one scan: under its usual limit (half the memory) every
   * block read lands in memory touched for the first time. Capped, the
   * pool reuses its buffers: a scatter of a 100M-row table in a DuckDB file
   * took 0.35x the time and 1.6 GB instead of 2.9 GB (docs/ENGINE.md).
   * Files are read outside the pool, and for them the cap showed no gain. */
  bool capped = !sql && !from_file && pk_plot_scan_only(&s);
  uint64_t t0 = pk_now_ns();
  pk_db *db = NULL;
  pk_db_config cfg = {.path = dbpath,
                      .readers = 1,
                      .unordered = pk_plot_order_free(&s),
                      .memory_limit = capped ? PLOT_SCAN_MEMORY : 0};
  err = pk_db_open(&cfg, &db, &e);
  if (err) {
    pk_sqlbuf_free(&srcq);
    pk_sqlbuf_free(&q);
    return pk_cli_fail("plot", pk_exit_code(err), "%s", e.text);
  }
  pk_db_conn *conn = NULL;
  pk_db_acquire(db, PK_DB_READER, &conn);
  pk_cli_dbwatch dw;
  pk_cli_dbwatch_start(&dw, conn);

  /* The kernels' caller works on one share itself, so a pool of ncpu
   * threads gives ncpu shares (one worker idles). The CSV reader's shares
   * run on it too. */
  pk_pool *pool = NULL;
  int ncpu = pk_sys_ncpu();
  pk_pool_config pc = {.name = "pk-plot", .nthreads = ncpu > 1 ? ncpu : 1};
  if (pk_pool_create(&pc, &pool) != PK_OK)
    pool = NULL; /* the kernels run in this thread then */

  /* The load names the columns; only when it fails is the source asked for
   * its columns, to name the one missing (reading a CSV's header again
   * costs the sniffer's pass, ~0.2 s for 376 MB). A plain CSV file whose
   * wanted columns are numbers is read without DuckDB's reader (csvnum.h),
   * which steps aside for anything else. */
  bool missing = false;
  pk_cols *cols = NULL;
  err = PK_EUNSUPPORTED;
  if (from_file && pk_plot_scan_only(&s)) {
    const char *names[4], *alias[4];
    size_t n = pk_plot_columns(&s, names, alias);
    err = pk_csvnum_load(conn, pool, src, names, alias, n, &cols, &e);
    if (err == PK_EUNSUPPORTED)
      memset(&e, 0, sizeof e);
  }
  if (err == PK_EUNSUPPORTED)
    err = pk_cols_load(conn, q.s, &cols, &e);
  if (err == PK_ENOMEM && capped &&
      pk_db_set_memory_limit(conn, 0, NULL) == PK_OK) {
    /* A source that needs more (a view that aggregates): once more with
     * the usual limit. */
    memset(&e, 0, sizeof e);
    err = pk_cols_load(conn, q.s, &cols, &e);
  }
  if (err && err != PK_EINTERRUPTED) {
    pk_errmsg e2 = {{0}};
    if (check_columns(conn, srcq.s, &s, &e2, &missing) == PK_OK && missing) {
      e = e2;
      err = PK_OK;
    }
  }
  bool interrupted = pk_cli_dbwatch_stop(&dw, conn);
  pk_db_release(conn);
  pk_db_close(db);
  pk_sqlbuf_free(&srcq);
  pk_sqlbuf_free(&q);

  pk_plot_out *po = NULL;
  if (!err && !missing && !interrupted) {
    err = pk_plot_build(pool, &s, cols, &po, &e);
    if (!err && !*pk_cli_dbwatch_flag()) /* Ctrl-C while building: no file */
      err = pk_render_file(pk_plot_out_model(po), out, s.width, s.height,
                           (double)dpi, &e);
  }
  interrupted = pk_cli_dbwatch_end(&dw) || interrupted;
  size_t rows = cols ? cols->nrows : 0, pts = po ? pk_plot_out_points(po) : 0;
  size_t nonpos = po ? pk_plot_out_nonpositive(po) : 0;
  pk_plot_out_free(po);
  pk_cols_free(cols);
  if (pool)
    pk_pool_free(pool);
  pk_render_global_cleanup();

  if (interrupted)
    return pk_cli_fail("plot", PK_EXIT_INTERRUPTED, "interrupted");
  if (missing || err == PK_EINVAL)
    return pk_cli_fail("plot", EX_DATAERR, "%s", e.text);
  if (err)
    return pk_cli_fail("plot", pk_exit_code(err), "%s", e.text);
  fprintf(stderr, "plot: %zu rows, %zu points drawn, %s, %.3f s -> %s\n", rows,
          pts, kind, (double)(pk_now_ns() - t0) / 1e9, out);
  if (nonpos)
    fprintf(stderr,
            "plot: %zu row%s left out: a value <= 0 cannot go on a log "
            "axis\n",
            nonpos, nonpos == 1 ? "" : "s");
  return EX_OK;
}
