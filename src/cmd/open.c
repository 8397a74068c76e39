/* open.c — `pika open`: imports the given files, serves the browser UI
 * and its API on 127.0.0.1 (server/server.h), prints the URL with the
 * launch token and opens the default browser. A thin wrapper: the server
 * lives in src/server/, imports in engine/importer.h. */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd/cli.h"
#include "cmd/commands.h"
#include "cmd/exit.h"
#include "engine/db.h"
#include "engine/importer.h"
#include "engine/plot_stream.h"
#include "render/render.h"
#include "server/server.h"

const char cmd_open_usage[] =
    "usage: pika open [SOURCE...] [--db FILE] [--port N] [--no-browser]\n"
    "                 [--query-timeout SECS] [--index-min-rows N]\n"
    "                 [--stream-min-rows N]\n"
    "\n"
    "Imports each SOURCE (CSV, Parquet, JSON; as 'pika import' does, one\n"
    "table per file named after it, replacing a table of that name) into\n"
    "the workspace database ($PIKA_HOME/workspace.duckdb, or --db FILE),\n"
    "then serves the canvas UI on 127.0.0.1 only and opens it in the\n"
    "default browser (xdg-open). The one line printed on standard output\n"
    "is the address to open, http://127.0.0.1:PORT/?token=TOKEN: the\n"
    "token is new on every launch and is required by every request.\n"
    "\n"
    "options:\n"
    "  --db FILE             the database file\n"
    "  --port N              the port (default 0: a free one)\n"
    "  --no-browser          do not start a browser; just print the address\n"
    "  --query-timeout SECS  interrupt a query or plot after SECS seconds\n"
    "                        (default 600)\n"
    "  --index-min-rows N    after a density plot of at least N rows, build\n"
    "                        a density index of its x and y in the\n"
    "                        background so that zooms read less (default\n"
    "                        4194304; 0: never)\n"
    "  --stream-min-rows N   a scatter, density or count heatmap over at "
    "least\n"
    "                        N rows is drawn while the rows stream past, and\n"
    "                        its columns are cached in the background after\n"
    "                        (default 1048576; 0: never, cache them first)\n"
    "\n"
    "Runs until Ctrl-C (SIGINT) or SIGTERM: running queries are interrupted\n"
    "and the server stops; the exit status is then 0.\n";

static volatile sig_atomic_t got_signal;

static void on_signal(int sig) {
  got_signal = sig;
}

static int parse_uint(const char *s, long max, long *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (end == s || *end || errno || v < 0 || v > max)
    return -1;
  *out = v;
  return 0;
}

/* Starts xdg-open URL without waiting for the browser. The URL holds the
 * token, so it goes on xdg-open's command line only: no shell, no log. */
static void open_browser(const char *url) {
  pid_t pid;
  char prog[] = "xdg-open", arg[200];
  snprintf(arg, sizeof arg, "%s", url);
  char *argv[] = {prog, arg, NULL};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY,
                                   0);
  posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY,
                                   0);
  int rc = posix_spawnp(&pid, "xdg-open", &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0)
    fprintf(stderr,
            "pika open: cannot start a browser (xdg-open: %s); open the "
            "address above yourself\n",
            strerror(rc));
}

static int import_sources(pk_db *db, char **src, int n) {
  pk_db_conn *conn = NULL;
  pk_db_acquire(db, PK_DB_WRITER, &conn);
  int status = EX_OK;
  for (int i = 0; i < n && status == EX_OK && !got_signal; i++) {
    const char *one[1] = {src[i]};
    pk_import_opts o = {.sources = one,
                        .nsources = 1,
                        .replace = true,
                        .header = -1,
                        .skip = -1};
    pk_import_result r;
    pk_errmsg e = {{0}};
    int err = pk_import(conn, &o, &r, &e);
    if (err) {
      status =
          pk_cli_fail("open", err == PK_EINVAL ? EX_DATAERR : pk_exit_code(err),
                      "%s: %s", src[i], e.text);
      break;
    }
    fprintf(stderr, "imported %llu rows into table '%s' from %s\n",
            (unsigned long long)r.rows, r.table, src[i]);
    if (r.rejected)
      fprintf(stderr,
              "pika open: %s: %llu lines rejected (see 'pika import')\n",
              src[i], (unsigned long long)r.rejected);
  }
  pk_db_release(conn);
  return status;
}

int cmd_open(int argc, char **argv) {
  enum { O_DB = 256, O_PORT, O_NOBROWSER, O_TIMEOUT, O_INDEX, O_STREAM };
  static const struct option opts[] = {
      {"db", required_argument, NULL, O_DB},
      {"port", required_argument, NULL, O_PORT},
      {"no-browser", no_argument, NULL, O_NOBROWSER},
      {"query-timeout", required_argument, NULL, O_TIMEOUT},
      {"index-min-rows", required_argument, NULL, O_INDEX},
      {"stream-min-rows", required_argument, NULL, O_STREAM},
      {0}};
  const char *dbpath = NULL;
  long port = 0, timeout = 600, index_min = (long)PK_INDEX_MIN_ROWS,
       stream_min = (long)PK_PLOT_STREAM_MIN_ROWS;
  bool browser = true;
  pk_cli_reset();
  int c;
  while ((c = pk_cli_getopt(argc, argv, "", opts, "open", cmd_open_usage)) !=
         -1) {
    switch (c) {
    case O_DB:
      dbpath = optarg;
      break;
    case O_PORT:
      if (parse_uint(optarg, 65535, &port))
        return pk_cli_usage_error("open", "--port takes 0..65535, not '%s'",
                                  optarg);
      break;
    case O_NOBROWSER:
      browser = false;
      break;
    case O_TIMEOUT:
      if (parse_uint(optarg, 86400 * 7, &timeout) || timeout == 0)
        return pk_cli_usage_error(
            "open", "--query-timeout takes seconds (1..604800), not '%s'",
            optarg);
      break;
    case O_INDEX:
      if (parse_uint(optarg, 1L << 40, &index_min))
        return pk_cli_usage_error(
            "open", "--index-min-rows takes a row count, not '%s'", optarg);
      break;
    case O_STREAM:
      if (parse_uint(optarg, 1L << 40, &stream_min))
        return pk_cli_usage_error(
            "open", "--stream-min-rows takes a row count, not '%s'", optarg);
      break;
    default:
      return pk_cli_status(c);
    }
  }

  struct sigaction sa = {0}, old_int, old_term;
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  signal(SIGPIPE, SIG_IGN);

  /* Every plot request allocates a few MiB of grids and an answer buffer;
   * above glibc's mmap threshold each would be a fresh mapping, faulted
   * page by page (on a VM a host fault each) and unmapped again. Kept in
   * the heap they are reused warm. The big arrays (plot columns) are
   * mapped by the engine itself. */
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);

  pk_errmsg e = {{0}};
  pk_db *db = NULL;
  pk_db_config cfg = {.path = dbpath, .readers = 4};
  int err = pk_db_open(&cfg, &db, &e);
  if (err)
    return pk_cli_fail("open", pk_exit_code(err), "%s", e.text);
  int status = import_sources(db, argv + optind, argc - optind);
  if (status != EX_OK || got_signal) {
    pk_db_close(db);
    return got_signal ? EX_OK : status;
  }

  pk_server *srv = NULL;
  pk_server_config sc = {
      .db = db,
      .port = (int)port,
      .query_timeout_s = (unsigned)timeout,
      .index_min_rows = index_min ? (uint64_t)index_min : UINT64_MAX,
      .stream_min_rows = stream_min ? (uint64_t)stream_min : UINT64_MAX};
  err = pk_server_start(&sc, &srv, &e);
  if (err) {
    pk_db_close(db);
    return pk_cli_fail("open", pk_exit_code(err), "%s", e.text);
  }
  char url[160];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/?token=%s",
           pk_server_port(srv), pk_server_token(srv));
  printf("%s\n", url);
  fflush(stdout);
  if (!pk_server_has_assets(srv))
    fprintf(stderr, "pika open: the web UI is not built (web/dist); the API "
                    "is served, the page says how to build the UI\n");
  if (browser)
    open_browser(url);

  /* Block the signals and wait for one; the server's threads run. */
  sigset_t set, oldset;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigprocmask(SIG_BLOCK, &set, &oldset);
  while (!got_signal)
    sigsuspend(&oldset);
  sigprocmask(SIG_SETMASK, &oldset, NULL);

  fprintf(stderr, "pika open: stopping\n");
  pk_server_stop(srv);
  pk_db_close(db);
  pk_render_global_cleanup();
  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGTERM, &old_term, NULL);
  return EX_OK;
}
