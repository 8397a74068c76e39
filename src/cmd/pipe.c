/* pipe.c — `pika pipe`: the adaptive pipeline's command line. Each
 * subcommand parses its options and calls src/pipe/; this file talks to the
 * user (messages, progress, --stats) and picks exit statuses. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/error.h"
#include "base/paths.h"
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "cmd/exit.h"
#include "cmd/secret.h"
#include "pipe/archive.h"
#include "pipe/batch.h"
#include "pipe/config.h"
#include "pipe/engine.h"
#include "pipe/kdf.h"
#include "pipe/outfile.h"
#include "pipe/registry.h"
#include "pipe/spec.h"
#include "runtime/governor.h"
#include "runtime/metrics.h"
#include "server/metrics_http.h"

/* ---- shared ---------------------------------------------------------------*/

static volatile sig_atomic_t interrupted;

static void on_signal(int sig) {
  (void)sig;
  interrupted = 1;
}

/* Ctrl-C and SIGTERM stop the job at its next chunk; the command then
 * discards its partial output and exits 130. */
static void catch_signals(void) {
  struct sigaction sa = {.sa_handler = on_signal};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
}

typedef struct progress {
  int on;
  uint64_t t0, last;
  const char *label;
} progress;

/* A progress line on stderr: bytes, rate and ETA, at most 10 times a
 * second, only on a terminal. */
static void draw_progress(void *arg, uint64_t done, uint64_t total) {
  progress *p = arg;
  uint64_t now = pk_now_ns();
  if (!p->on || now - p->last < 100000000u)
    return;
  p->last = now;
  double secs = (double)(now - p->t0) / 1e9;
  double rate = secs > 0 ? (double)done / secs : 0;
  char d[32], r[32];
  pk_cli_human_bytes(done, d, sizeof d);
  pk_cli_human_bytes((uint64_t)rate, r, sizeof r);
  if (total != PK_FMT_SIZE_UNKNOWN && total > 0) {
    int pct = (int)(100.0 * (double)done / (double)total);
    int bar = pct / 5;
    double eta = rate > 0 ? (double)(total - done) / rate : 0;
    fprintf(stderr, "\r%s [%.*s%*s] %3d%% %s %s/s ETA %.0fs ", p->label, bar,
            "####################", 20 - bar, "", pct, d, r, eta);
  } else {
    fprintf(stderr, "\r%s %s %s/s ", p->label, d, r);
  }
}

static void end_progress(progress *p) {
  if (p->on)
    fputs("\r\033[K", stderr);
}

/* Options every data subcommand shares. */
typedef struct common {
  int workers;
  uint64_t chunk_size;
  pk_pipe_optimize optimize;
  int stats, show_progress, overwrite;
  const char *metrics_addr;
  pk_secret_source secret;
} common;

enum {
  OPT_STAGES = 256,
  OPT_PIPELINE,
  OPT_CHUNK,
  OPT_WORKERS,
  OPT_PASSFILE,
  OPT_KEYFILE,
  OPT_PROGRESS,
  OPT_STATS,
  OPT_OPTIMIZE,
  OPT_OVERWRITE,
  OPT_FULL,
  OPT_METRICS,
  OPT_FSYNC,
};

/* Handles an option of `common`; returns 1 if it was one, 0 if not, or
 * -1 after a usage error (already printed). */
static int common_opt(common *c, int opt, const char *cmd) {
  pk_errmsg e;
  char *end;
  switch (opt) {
  case OPT_CHUNK:
    if (pk_parse_size(optarg, &c->chunk_size, &e) || c->chunk_size < 4096 ||
        c->chunk_size > PK_FMT_MAX_CHUNK)
      return pk_cli_usage_error(cmd, "--chunk-size wants 4KiB..64MiB, got '%s'",
                                optarg),
             -1;
    return 1;
  case OPT_WORKERS: {
    long v = strtol(optarg, &end, 10);
    if (*end || v < 1 || v > 1024)
      return pk_cli_usage_error(cmd, "--workers wants 1..1024, got '%s'",
                                optarg),
             -1;
    c->workers = (int)v;
    return 1;
  }
  case OPT_OPTIMIZE:
    if (!strcmp(optarg, "throughput"))
      c->optimize = PK_OPT_THROUGHPUT;
    else if (!strcmp(optarg, "latency"))
      c->optimize = PK_OPT_LATENCY;
    else if (!strcmp(optarg, "memory"))
      c->optimize = PK_OPT_MEMORY;
    else
      return pk_cli_usage_error(
                 cmd,
                 "--optimize wants throughput, latency or memory, got '%s'",
                 optarg),
             -1;
    return 1;
  case OPT_PASSFILE:
    c->secret.password_file = optarg;
    return 1;
  case OPT_KEYFILE:
    c->secret.key_file = optarg;
    return 1;
  case OPT_PROGRESS:
    c->show_progress = 1;
    return 1;
  case OPT_STATS:
    c->stats = 1;
    return 1;
  case OPT_OVERWRITE:
    c->overwrite = 1;
    return 1;
  case OPT_METRICS:
    c->metrics_addr = optarg;
    return 1;
  default:
    return 0;
  }
}

/* clang-format off */
#define COMMON_LONGOPTS                                                        \
  {"chunk-size", required_argument, NULL, OPT_CHUNK},                          \
  {"workers", required_argument, NULL, OPT_WORKERS},                           \
  {"optimize", required_argument, NULL, OPT_OPTIMIZE},                         \
  {"password-file", required_argument, NULL, OPT_PASSFILE},                    \
  {"key-file", required_argument, NULL, OPT_KEYFILE},                          \
  {"progress", no_argument, NULL, OPT_PROGRESS},                               \
  {"stats", no_argument, NULL, OPT_STATS},                                     \
  {"overwrite", no_argument, NULL, OPT_OVERWRITE},                             \
  {"metrics-addr", required_argument, NULL, OPT_METRICS}
/* clang-format on */

/* Parses a command whose only options are the common ones. Returns -1
 * when parsing succeeded, else the exit status to return. */
static int parse_common_only(int argc, char **argv, const char *cmd,
                             const char *usage, common *c) {
  static const struct option longopts[] = {COMMON_LONGOPTS, {0}};
  pk_cli_reset();
  int opt;
  while ((opt = pk_cli_getopt(argc, argv, "", longopts, cmd, usage)) != -1) {
    int r = common_opt(c, opt, cmd);
    if (r < 0)
      return EX_USAGE;
    if (!r)
      return pk_cli_status(opt);
  }
  return -1;
}

typedef struct env {
  pk_gov *gov;
  pk_metrics *metrics;
  pk_metrics_http *http;
  int stats;
  progress prog;
  pk_pipe_opts opts;
} env;

static void env_release(env *v);

/* Sets up what a data subcommand needs. On failure everything is released
 * and *e says why. */
static int env_init(env *v, const common *c, const char *io_path,
                    const char *label, pk_errmsg *e) {
  memset(v, 0, sizeof *v);
  int rc = pk_gov_create(&(pk_gov_config){.io_path = io_path}, &v->gov);
  v->stats = c->stats;
  if (!rc && (c->stats || c->metrics_addr))
    rc = pk_metrics_create(&v->metrics);
  if (rc) {
    env_release(v);
    return pk_errmsg_set(e, rc, "cannot start: %s", pk_strerror(rc));
  }
  if (c->metrics_addr) {
    if ((rc =
             pk_metrics_http_start(c->metrics_addr, v->metrics, &v->http, e))) {
      env_release(v);
      return rc;
    }
    fprintf(stderr, "metrics: http://%s:%d/metrics\n",
            strncmp(c->metrics_addr, "[::1]", 5) ? "127.0.0.1" : "[::1]",
            pk_metrics_http_port(v->http));
  }
  v->prog = (progress){.on = c->show_progress && isatty(STDERR_FILENO),
                       .t0 = pk_now_ns(),
                       .label = label};
  v->opts = (pk_pipe_opts){.gov = v->gov,
                           .metrics = v->metrics,
                           .workers = c->workers,
                           .chunk_size = c->chunk_size,
                           .optimize = c->optimize,
                           .cancel = &interrupted,
                           .progress = draw_progress,
                           .progress_arg = &v->prog};
  catch_signals();
  return PK_OK;
}

/* --stats: the job's totals (st may be NULL for a batch) and the
 * per-stage figures. */
static void print_stats(env *v, const pk_pipe_stats *st) {
  if (!v->stats)
    return;
  double secs = st ? (double)st->elapsed_ns / 1e9 : 0;
  char in[32], out[32];
  pk_cli_human_bytes(st ? st->in_bytes : 0, in, sizeof in);
  pk_cli_human_bytes(st ? st->out_bytes : 0, out, sizeof out);
  if (st)
    fprintf(stderr,
            "stats: %s in, %s out, %" PRIu64 " chunks (first %" PRIu64
            " B, last %" PRIu64 " B), %d workers%s, %.3f s, %.1f MB/s\n",
            in, out, st->chunks, st->first_chunk_size, st->last_chunk_size,
            st->workers, st->fast_path ? " (small-file fast path)" : "", secs,
            secs > 0 ? (double)st->in_bytes / secs / 1e6 : 0.0);
  if (st && !st->fast_path)
    fprintf(stderr,
            "stats: %" PRIu64 " chunk buffers allocated, %" PRIu64
            " acquires served by reuse\n",
            st->buffers, st->buffer_reuses);
  char *text;
  size_t len;
  if (pk_metrics_render_summary(v->metrics, &text, &len) == PK_OK) {
    fputs(text, stderr);
    free(text);
  }
}

static void env_release(env *v) {
  end_progress(&v->prog);
  pk_metrics_http_stop(v->http);
  pk_metrics_free(v->metrics);
  pk_gov_free(v->gov);
  memset(v, 0, sizeof *v);
}

/* The message for a failed step on one file. */
static int file_fail(const char *cmd, const char *file, int rc,
                     const pk_errmsg *e) {
  if (rc == PK_EINTERRUPTED || interrupted)
    return pk_cli_fail(cmd, PK_EXIT_INTERRUPTED,
                       "%s: interrupted; partial output removed", file);
  return pk_cli_fail(cmd, pk_exit_code(rc), "%s: %s", file,
                     e->text[0] ? e->text : pk_strerror(rc));
}

static int open_input(const char *path, struct stat *sb) {
  if (!strcmp(path, "-")) {
    fstat(STDIN_FILENO, sb);
    return STDIN_FILENO;
  }
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd >= 0 && fstat(fd, sb) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static int input_fail(const char *cmd, const char *path) {
  int err = errno;
  return pk_cli_fail(cmd, err == EACCES ? EX_NOPERM : EX_NOINPUT,
                     "cannot open %s: %s", path, strerror(err));
}

/* ---- process
 * ----------------------------------------------------------------*/

static const char process_usage[] =
    "usage: pika pipe process INPUT... -o OUT [options]\n"
    "\n"
    "Streams INPUT ('-' for standard input) through the pipeline's stages\n"
    "into the archive OUT ('.adapipe' is added if missing; '-' for standard\n"
    "output). With several inputs or a directory, OUT is a directory: each\n"
    "file becomes its own archive there, the directory tree mirrored, and\n"
    "small files are not held up behind large ones. Nothing appears at an\n"
    "output unless its whole archive was written.\n"
    "\n"
    "  --stages SPEC        e.g. zstd:3,aes256gcm or "
    "lz4,xchacha20poly1305,sha256\n"
    "                       (see 'pika pipe --help'; default zstd:3)\n"
    "  --pipeline NAME      a named pipeline (pika pipe list)\n"
    "  --chunk-size SIZE    fixed chunk size, 4KiB..64MiB (default: adaptive)\n"
    "  --workers N          compute workers (default: one per core)\n"
    "  --optimize GOAL      throughput (default), latency or memory\n"
    "  --password-file F    read the password from F (or set PIKA_PASSWORD;\n"
    "                       otherwise a terminal prompt)\n"
    "  --key-file F         a 32-byte key file instead of a password\n"
    "  --progress           a progress bar on the terminal\n"
    "  --stats              per-stage chunk times, queue waits and depths\n"
    "  --metrics-addr A     serve Prometheus metrics on 127.0.0.1:PORT while\n"
    "                       the job runs\n"
    "  --overwrite          replace outputs that exist\n";

/* What every file of one `process` run shares. */
typedef struct proc_ctx {
  const char *cmd;
  pk_pipe_spec spec;
  pk_secret secret;
  pk_archive_keycache cache;
  pthread_mutex_t cache_mu; /* the two batch lanes share the cache */
  int overwrite;
  env *v;
} proc_ctx;

/* One input file into one archive. */
static int process_one(proc_ctx *p, const char *input, const char *out_path,
                       pk_pipe_stats *st, pk_errmsg *e) {
  struct stat sb;
  int in_fd = open_input(input, &sb);
  if (in_fd < 0) {
    int err = errno;
    return pk_errmsg_set(e, err == EACCES ? PK_EPERM : PK_ENOENT,
                         "cannot open %s: %s", input, strerror(err));
  }
  if (S_ISDIR(sb.st_mode)) {
    close(in_fd);
    return pk_errmsg_set(e, PK_ENOENT, "%s is a directory", input);
  }
  uint64_t size =
      S_ISREG(sb.st_mode) ? (uint64_t)sb.st_size : PK_FMT_SIZE_UNKNOWN;
  pk_fmt_header h;
  pk_archive_keys keys = {0};
  int rc = pk_archive_header_init(&h, &p->spec, PK_FMT_MAX_CHUNK, size,
                                  (uint32_t)sb.st_mode, (int64_t)sb.st_mtime,
                                  input, e);
  if (!rc) {
    pthread_mutex_lock(&p->cache_mu);
    rc = pk_archive_keys_new(&h, &p->secret, NULL, &p->cache, &keys, e);
    pthread_mutex_unlock(&p->cache_mu);
  }
  pk_outfile of = {.fd = -1};
  if (!rc)
    rc = pk_outfile_open(&of, out_path, p->overwrite,
                         (h.flags & PK_FMT_F_ENCRYPTED) ? 0600 : 0644, e);
  if (!rc) {
    rc = pk_pipe_encode(&p->v->opts, in_fd, of.fd, &h, &keys, st, e);
    if (!rc)
      rc = pk_outfile_commit(&of, e);
    else
      pk_outfile_abort(&of);
  }
  pk_archive_keys_wipe(&keys);
  if (in_fd != STDIN_FILENO)
    close(in_fd);
  return rc;
}

static void print_result(const char *input, const char *out_path,
                         const pk_pipe_stats *st) {
  char a[32], b[32];
  pk_cli_human_bytes(st->in_bytes, a, sizeof a);
  pk_cli_human_bytes(st->out_bytes, b, sizeof b);
  double secs = (double)st->elapsed_ns / 1e9;
  fprintf(stderr, "%s -> %s: %s -> %s (%.1f %%) in %.2f s, %.1f MB/s\n", input,
          out_path, a, b,
          st->in_bytes ? 100.0 * (double)st->out_bytes / (double)st->in_bytes
                       : 0.0,
          secs, secs > 0 ? (double)st->in_bytes / secs / 1e6 : 0.0);
}

/* ---- many inputs
 * ------------------------------------------------------------*/

typedef struct job_desc {
  char *in, *out;
} job_desc;

typedef struct job_list {
  pk_batch_item *items;
  size_t n, cap;
  const char *out_dir;
  size_t root_len; /* of the directory being walked */
} job_list;

static job_list *walking; /* nftw has no user pointer */

static int add_job(job_list *l, const char *in, const char *rel,
                   uint64_t size) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 64;
    void *q = realloc(l->items, cap * sizeof *l->items);
    if (!q)
      return PK_ENOMEM;
    l->items = q, l->cap = cap;
  }
  job_desc *d = malloc(sizeof *d);
  char out[8192];
  snprintf(out, sizeof out, "%s/%s.adapipe", l->out_dir, rel);
  if (!d || !(d->in = strdup(in)) || !(d->out = strdup(out)))
    return PK_ENOMEM;
  l->items[l->n++] = (pk_batch_item){.user = d, .size = size};
  return PK_OK;
}

static int walk_one(const char *path, const struct stat *sb, int type,
                    struct FTW *ftw) {
  (void)ftw;
  if (type != FTW_F || !S_ISREG(sb->st_mode))
    return 0; /* directories are recreated; links and devices skipped */
  return add_job(walking, path, path + walking->root_len + 1,
                 (uint64_t)sb->st_size)
             ? -1
             : 0;
}

static int batch_job(void *ctx, pk_batch_item *it, pk_errmsg *e) {
  proc_ctx *p = ctx;
  job_desc *d = it->user;
  int rc = pk_make_parents(d->out, 0755, e);
  if (rc)
    return rc;
  pk_pipe_stats st;
  rc = process_one(p, d->in, d->out, &st, e);
  if (!rc)
    print_result(d->in, d->out, &st);
  return rc;
}

static int process_many(proc_ctx *p, char **inputs, int n, const char *out) {
  struct stat sb;
  if (mkdir(out, 0755) && errno != EEXIST)
    return pk_cli_fail(p->cmd, EX_CANTCREAT, "cannot create %s: %s", out,
                       strerror(errno));
  if (stat(out, &sb) || !S_ISDIR(sb.st_mode))
    return pk_cli_fail(p->cmd, EX_CANTCREAT,
                       "-o %s must be a directory when there are several "
                       "inputs or a directory",
                       out);
  job_list l = {.out_dir = out};
  int status = EX_OK;
  for (int i = 0; i < n && status == EX_OK; i++) {
    if (!strcmp(inputs[i], "-")) {
      status =
          pk_cli_usage_error(p->cmd, "'-' cannot be one of several inputs");
      break;
    }
    if (stat(inputs[i], &sb)) {
      status = input_fail(p->cmd, inputs[i]);
      break;
    }
    if (S_ISDIR(sb.st_mode)) {
      char root[4096];
      snprintf(root, sizeof root, "%s", inputs[i]);
      size_t rl = strlen(root);
      while (rl > 1 && root[rl - 1] == '/')
        root[--rl] = '\0';
      l.root_len = rl;
      walking = &l;
      if (nftw(root, walk_one, 32, FTW_PHYS))
        status = pk_cli_fail(p->cmd, EX_NOINPUT, "cannot read %s: %s", root,
                             strerror(errno));
    } else {
      char base[4096];
      snprintf(base, sizeof base, "%s", inputs[i]);
      if (add_job(&l, inputs[i], basename(base), (uint64_t)sb.st_size))
        status = pk_cli_fail(p->cmd, EX_OSERR, "out of memory");
    }
  }
  if (status == EX_OK) {
    size_t failed = pk_batch_run(l.items, l.n, 0, batch_job, p, &interrupted);
    for (size_t i = 0; i < l.n; i++) {
      job_desc *d = l.items[i].user;
      if (l.items[i].rc && status == EX_OK)
        status = file_fail(p->cmd, d->in, l.items[i].rc, &l.items[i].msg);
      else if (l.items[i].rc && l.items[i].rc != PK_EINTERRUPTED)
        file_fail(p->cmd, d->in, l.items[i].rc, &l.items[i].msg);
    }
    if (failed == 0)
      fprintf(stderr, "%zu files archived into %s\n", l.n, out);
  }
  for (size_t i = 0; i < l.n; i++) {
    job_desc *d = l.items[i].user;
    free(d->in);
    free(d->out);
    free(d);
  }
  free(l.items);
  return status;
}

static int pipe_process(int argc, char **argv) {
  static const struct option longopts[] = {
      {"stages", required_argument, NULL, OPT_STAGES},
      {"pipeline", required_argument, NULL, OPT_PIPELINE},
      {"output", required_argument, NULL, 'o'},
      COMMON_LONGOPTS,
      {0}};
  const char *cmd = "pipe process", *stages = NULL, *pipeline = NULL,
             *out = NULL;
  common c = {0};
  pk_cli_reset();
  int opt;
  while ((opt = pk_cli_getopt(argc, argv, "o:", longopts, cmd,
                              process_usage)) != -1) {
    int r = common_opt(&c, opt, cmd);
    if (r < 0)
      return EX_USAGE;
    if (r)
      continue;
    if (opt == OPT_STAGES)
      stages = optarg;
    else if (opt == OPT_PIPELINE)
      pipeline = optarg;
    else if (opt == 'o')
      out = optarg;
    else
      return pk_cli_status(opt);
  }
  if (optind >= argc)
    return pk_cli_usage_error(cmd, "no INPUT given");
  if (!out)
    return pk_cli_usage_error(cmd, "no output given (-o OUT)");
  if (stages && pipeline)
    return pk_cli_usage_error(cmd, "give --stages or --pipeline, not both");

  proc_ctx p = {.cmd = cmd, .overwrite = c.overwrite};
  pk_errmsg e = {{0}};
  char spec_text[512];
  if (pipeline) {
    pk_registry *reg;
    int rc = pk_registry_open(NULL, &reg, &e);
    if (!rc)
      rc = pk_registry_get(reg, pipeline, spec_text, sizeof spec_text, &e);
    pk_registry_close(reg);
    if (rc)
      return pk_cli_fail(cmd, rc == PK_ENOENT ? EX_USAGE : pk_exit_code(rc),
                         "%s", e.text);
    stages = spec_text;
  }
  if (pk_pipe_spec_parse(stages ? stages : "zstd:3", &p.spec, &e))
    return pk_cli_usage_error(cmd, "%s", e.text);
  /* PIKA_PASSWORD may be exported for every run; only an explicit file
   * without a cipher is a mistake worth stopping for. */
  int cipher = pk_pipe_spec_cipher(&p.spec) != NULL;
  if (!cipher && (c.secret.password_file || c.secret.key_file))
    return pk_cli_usage_error(cmd, "a password or key file was given, but no "
                                   "stage encrypts (add e.g. aes256gcm)");
  int many = argc - optind > 1;
  struct stat sb;
  if (!many && strcmp(argv[optind], "-") && stat(argv[optind], &sb) == 0 &&
      S_ISDIR(sb.st_mode))
    many = 1;
  if (many && !strcmp(out, "-"))
    return pk_cli_usage_error(cmd, "several archives cannot go to '-'");

  c.secret.confirm = 1;
  int rc = cipher ? pk_secret_get(&c.secret, 1, &p.secret, &e) : PK_OK;
  if (rc)
    return pk_cli_fail(cmd, pk_exit_code(rc), "%s", e.text);
  env v;
  if ((rc = env_init(&v, &c, many ? out : ".", argv[optind], &e))) {
    pk_secret_release(&p.secret);
    return pk_cli_fail(cmd, pk_exit_code(rc), "%s", e.text);
  }
  p.v = &v;
  pthread_mutex_init(&p.cache_mu, NULL);
  int status = EX_OK;
  pk_pipe_stats st = {0};
  if (many) {
    v.prog.on = 0; /* one bar cannot show two lanes */
    status = process_many(&p, argv + optind, argc - optind, out);
  } else {
    const char *input = argv[optind];
    char out_path[4096];
    size_t olen = strlen(out);
    snprintf(out_path, sizeof out_path, "%s%s", out,
             strcmp(out, "-") &&
                     (olen < 8 || strcmp(out + olen - 8, ".adapipe"))
                 ? ".adapipe"
                 : "");
    rc = process_one(&p, input, out_path, &st, &e);
    end_progress(&v.prog);
    if (rc)
      status = file_fail(cmd, input, rc, &e);
    else if (strcmp(out_path, "-"))
      print_result(input, out_path, &st);
  }
  if (status == EX_OK)
    print_stats(&v, many ? NULL : &st);
  env_release(&v);
  pthread_mutex_destroy(&p.cache_mu);
  pk_archive_keycache_wipe(&p.cache);
  pk_secret_release(&p.secret);
  return status;
}

/* ---- restore, validate, compare: reading archives
 * ---------------------------*/

typedef struct opened {
  int fd;
  pk_fmt_header h;
  pk_archive_keys keys;
  uint64_t header_len;
} opened;

/* The secret of a reading command: asked for at most once (on the first
 * encrypted archive), and argon2id's result reused across archives that
 * share a salt. */
typedef struct secret_state {
  const pk_secret_source *src;
  pk_secret s;
  int fetched;
  pk_archive_keycache cache;
} secret_state;

static void secret_state_release(secret_state *ss) {
  pk_secret_release(&ss->s);
  pk_archive_keycache_wipe(&ss->cache);
}

/* Opens an archive and its keys. On failure returns the error with *e set
 * (and a->fd closed). */
static int open_archive_rc(const char *path, secret_state *ss, opened *a,
                           pk_errmsg *e) {
  memset(a, 0, sizeof *a);
  struct stat sb;
  a->fd = open_input(path, &sb);
  if (a->fd < 0) {
    int err = errno;
    return pk_errmsg_set(e, err == EACCES ? PK_EPERM : PK_ENOENT,
                         "cannot open %s: %s", path, strerror(err));
  }
  uint8_t raw[PK_FMT_HEADER_MAX];
  int rc = pk_pipe_read_header(a->fd, &a->h, raw, &a->header_len, e);
  if (!rc && (a->h.flags & PK_FMT_F_ENCRYPTED) && !ss->fetched) {
    rc = pk_secret_get(ss->src, 1, &ss->s, e);
    ss->fetched = !rc;
  }
  if (!rc)
    rc = pk_pipe_open_keys(&a->h, raw, a->header_len, &ss->s, &ss->cache,
                           &a->keys, e);
  if (rc) {
    if (a->fd != STDIN_FILENO)
      close(a->fd);
    a->fd = -1;
  }
  return rc;
}

/* As open_archive_rc, for single-archive commands: prints the error and
 * returns an exit status (0 on success). */
static int open_archive(const char *cmd, const char *path, common *c,
                        opened *a) {
  secret_state ss = {.src = &c->secret};
  pk_errmsg e = {{0}};
  int rc = open_archive_rc(path, &ss, a, &e);
  secret_state_release(&ss);
  if (rc == PK_ENOENT || rc == PK_EPERM)
    return pk_cli_fail(cmd, pk_exit_code(rc), "%s", e.text);
  if (rc)
    return pk_cli_fail(cmd, pk_exit_code(rc), "%s: %s", path, e.text);
  return EX_OK;
}

static void close_archive(opened *a) {
  pk_archive_keys_wipe(&a->keys);
  if (a->fd >= 0 && a->fd != STDIN_FILENO)
    close(a->fd);
}

/* The restore sink: writes in order to the output; for a durable output it
 * starts the kernel's writeback as it goes (outfile.h). */
typedef struct fd_sink {
  int fd;
  int writeback;
  uint64_t flushed;
} fd_sink;

static int sink_fd(void *ctx, uint64_t off, const uint8_t *p, size_t n) {
  fd_sink *s = ctx;
  size_t left = n;
  while (left) {
    ssize_t w = write(s->fd, p, left);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return errno == ENOSPC || errno == EDQUOT || errno == EFBIG ? PK_ENOSPC
                                                                  : PK_EIO;
    }
    p += w, left -= (size_t)w;
  }
  if (s->writeback)
    pk_outfile_writeback(s->fd, &s->flushed, off + n);
  return PK_OK;
}

static const char restore_usage[] =
    "usage: pika pipe restore ARCHIVE... -o PATH [options]\n"
    "\n"
    "Restores the byte-identical original from ARCHIVE ('-' for standard\n"
    "input). With one archive, PATH names the output file, or an existing\n"
    "directory to restore into under the stored name and mode; '-' is\n"
    "standard output. With several, PATH is a directory (created if\n"
    "missing) and each archive is restored into it under its stored name.\n"
    "Every chunk and the whole-file digest are verified; on any failure\n"
    "nothing is left at PATH.\n"
    "\n"
    "  --fsync              wait until the restored file is on disk before\n"
    "                       naming it (by default it is named as soon as it\n"
    "                       is written, as cp and zstd -d do; the archive\n"
    "                       stays the durable copy)\n"
    "  --password-file F, --key-file F, --workers N, --progress, --stats,\n"
    "  --overwrite          as for 'pika pipe process'\n";

/* Restores one archive to `out`: a file path, "-", or (into_dir) a
 * directory that receives the stored name. */
static int restore_one(env *v, secret_state *ss, const char *path,
                       const char *out, int into_dir, int overwrite,
                       int durable, pk_errmsg *e) {
  opened a;
  int rc = open_archive_rc(path, ss, &a, e);
  if (rc)
    return rc;
  /* The stored name is only ever used as a single component inside the
   * directory the user named (format.c refuses '/', '.', '..'): restore
   * never writes outside -o. */
  char target[8192];
  if (into_dir)
    snprintf(target, sizeof target, "%s/%s", out, a.h.name);
  else
    snprintf(target, sizeof target, "%s", out);
  pk_outfile of;
  pk_pipe_stats st = {0};
  rc = pk_outfile_open(&of, target, overwrite, a.h.mode & 0777, e);
  if (!rc) {
    of.durable = durable;
    fd_sink fs = {.fd = of.fd, .writeback = durable};
    pk_pipe_sink sink = {sink_fd, &fs};
    rc = pk_pipe_decode(&v->opts, a.fd, a.header_len, &a.h, &a.keys, &sink,
                        NULL, NULL, &st, e);
    if (!rc && !of.direct) { /* never chmod a device */
      fchmod(of.fd, a.h.mode & 07777);
      struct timespec ts[2] = {{0, UTIME_OMIT}, {(time_t)a.h.mtime, 0}};
      futimens(of.fd, ts);
    }
    if (!rc)
      rc = pk_outfile_commit(&of, e);
    else
      pk_outfile_abort(&of);
  }
  close_archive(&a);
  end_progress(&v->prog);
  if (!rc) {
    print_stats(v, &st);
    if (!of.direct && (a.h.flags & PK_FMT_F_IRREVERSIBLE))
      fprintf(stderr,
              "%s: restored with PII masked (masking is irreversible)\n",
              target);
  }
  return rc;
}

static int pipe_restore(int argc, char **argv) {
  static const struct option longopts[] = {
      {"output", required_argument, NULL, 'o'},
      {"fsync", no_argument, NULL, OPT_FSYNC},
      COMMON_LONGOPTS,
      {0}};
  const char *cmd = "pipe restore", *out = NULL;
  common c = {0};
  int durable = 0;
  pk_cli_reset();
  int opt;
  while ((opt = pk_cli_getopt(argc, argv, "o:", longopts, cmd,
                              restore_usage)) != -1) {
    int r = common_opt(&c, opt, cmd);
    if (r < 0)
      return EX_USAGE;
    if (r)
      continue;
    if (opt == 'o')
      out = optarg;
    else if (opt == OPT_FSYNC)
      durable = 1;
    else
      return pk_cli_status(opt);
  }
  if (optind >= argc)
    return pk_cli_usage_error(cmd, "no ARCHIVE given");
  if (!out)
    return pk_cli_usage_error(cmd, "no output given (-o PATH)");
  int n = argc - optind;
  struct stat sb;
  int into_dir = strcmp(out, "-") && stat(out, &sb) == 0 && S_ISDIR(sb.st_mode);
  if (n > 1 && !into_dir) {
    if (!strcmp(out, "-"))
      return pk_cli_usage_error(cmd, "several archives cannot go to '-'");
    if (mkdir(out, 0755))
      return pk_cli_fail(cmd, EX_CANTCREAT, "cannot create directory %s: %s",
                         out, strerror(errno));
    into_dir = 1;
  }
  pk_errmsg e = {{0}};
  env v;
  int rc = env_init(&v, &c, into_dir ? out : ".", argv[optind], &e);
  if (rc)
    return pk_cli_fail(cmd, pk_exit_code(rc), "%s", e.text);
  secret_state ss = {.src = &c.secret};
  int status = EX_OK;
  for (int i = optind; i < argc; i++) {
    e.text[0] = '\0';
    rc = restore_one(&v, &ss, argv[i], out, into_dir, c.overwrite, durable, &e);
    if (rc) {
      int st = file_fail(cmd, argv[i], rc, &e);
      if (status == EX_OK)
        status = st;
      if (rc == PK_EINTERRUPTED || interrupted)
        break;
    }
  }
  secret_state_release(&ss);
  env_release(&v);
  return status;
}

static const char validate_usage[] =
    "usage: pika pipe validate ARCHIVE [--full] [--password-file F | "
    "--key-file F]\n"
    "\n"
    "Checks ARCHIVE's structure: the header and its tag, every record's\n"
    "place and size, the end record, and the index and its tag. An\n"
    "encrypted archive needs its password or key for the tags.\n"
    "With --full, also decrypts, decompresses and verifies every chunk and\n"
    "the whole-file digest, writing nothing.\n"
    "Exit status 0 if valid, 65 if not.\n";

/* Walks the records without decoding them (seeking over payloads). */
static int walk_records(opened *a, pk_fmt_index_entry **idx, uint64_t *n,
                        pk_errmsg *e) {
  uint64_t off = a->header_len, seq = 0, cap = 0, group = 0;
  *idx = NULL;
  *n = 0;
  for (;;) {
    uint8_t hdr[PK_FMT_RECORD_HDR_LEN];
    if (pread(a->fd, hdr, sizeof hdr, (off_t)off) != (ssize_t)sizeof hdr)
      return pk_errmsg_set(e, PK_ECORRUPT,
                           "the archive is truncated after %" PRIu64
                           " chunks (no end record)",
                           seq);
    pk_fmt_record r;
    int rc = pk_fmt_record_decode(hdr, &r, e);
    if (rc)
      return rc;
    if (r.seq != seq)
      return pk_errmsg_set(e, PK_ECORRUPT,
                           "record %" PRIu64 " found where record %" PRIu64
                           " belongs",
                           r.seq, seq);
    if (r.kind == PK_FMT_REC_END)
      return PK_OK;
    if (r.orig_len == 0 || r.orig_len > a->h.chunk_size)
      return pk_errmsg_set(e, PK_ECORRUPT, "chunk %" PRIu64 " has bad sizes",
                           seq);
    /* As the engine's reader: a linked chunk continues a group that can be
     * there (docs/FORMAT.md, "Linked groups"). */
    group = (r.flags & PK_FMT_REC_LINKED) ? group + r.orig_len : r.orig_len;
    if ((r.flags & PK_FMT_REC_LINKED) &&
        (!a->h.group_size || seq == 0 || group > a->h.group_size))
      return pk_errmsg_set(e, PK_ECORRUPT,
                           "chunk %" PRIu64
                           " claims to continue a group that cannot be there",
                           seq);
    if (*n == cap) {
      cap = cap ? cap * 2 : 256;
      void *p = realloc(*idx, cap * sizeof **idx);
      if (!p)
        return PK_ENOMEM;
      *idx = p;
    }
    (*idx)[(*n)++] =
        (pk_fmt_index_entry){off, r.stored_len, r.orig_len, r.flags};
    off += sizeof hdr + r.stored_len;
    seq++;
  }
}

static int pipe_validate(int argc, char **argv) {
  static const struct option longopts[] = {
      {"full", no_argument, NULL, OPT_FULL}, COMMON_LONGOPTS, {0}};
  const char *cmd = "pipe validate";
  common c = {0};
  int full = 0;
  pk_cli_reset();
  int opt;
  while ((opt = pk_cli_getopt(argc, argv, "", longopts, cmd, validate_usage)) !=
         -1) {
    int r = common_opt(&c, opt, cmd);
    if (r < 0)
      return EX_USAGE;
    if (r)
      continue;
    if (opt == OPT_FULL)
      full = 1;
    else
      return pk_cli_status(opt);
  }
  if (argc - optind != 1)
    return pk_cli_usage_error(cmd, "expected one ARCHIVE");
  const char *path = argv[optind];
  opened a;
  int status = open_archive(cmd, path, &c, &a);
  if (status)
    return status == EX_NOPERM || status == EX_NOINPUT ? status : EX_DATAERR;
  pk_errmsg e = {{0}};
  pk_fmt_index_entry *seen = NULL, *stored = NULL;
  uint64_t n_seen = 0, n_stored = 0, index_off = 0;
  pk_pipe_stats st = {0};
  int rc;
  if (full) {
    env v;
    rc = env_init(&v, &c, path, path, &e);
    if (!rc)
      rc = pk_pipe_decode(&v.opts, a.fd, a.header_len, &a.h, &a.keys, NULL,
                          &seen, &n_seen, &st, &e);
    if (!rc)
      print_stats(&v, &st);
    env_release(&v);
  } else {
    rc = walk_records(&a, &seen, &n_seen, &e);
  }
  if (!rc)
    rc = pk_pipe_read_index(a.fd, &a.keys, &stored, &n_stored, &index_off, &e);
  if (!rc) {
    int same = n_seen == n_stored;
    for (uint64_t i = 0; same && i < n_seen; i++)
      same = seen[i].offset == stored[i].offset &&
             seen[i].stored_len == stored[i].stored_len &&
             seen[i].orig_len == stored[i].orig_len &&
             seen[i].flags == stored[i].flags;
    if (!same)
      rc = pk_errmsg_set(&e, PK_ECORRUPT,
                         "the index does not describe the records");
  }
  free(seen);
  free(stored);
  close_archive(&a);
  if (rc)
    return file_fail(cmd, path, rc, &e);
  printf("%s: valid (%" PRIu64 " chunks; header%s and index authenticated%s)\n",
         path, n_seen, full ? ", every chunk, end record" : "",
         full ? "; whole-file digest verified" : "");
  return EX_OK;
}

static const char compare_usage[] =
    "usage: pika pipe compare ORIGINAL ARCHIVE [--password-file F | "
    "--key-file F]\n"
    "\n"
    "Decodes ARCHIVE and compares it with ORIGINAL byte by byte, without\n"
    "writing anything. Exit status 0 if they are identical, 1 if they\n"
    "differ (the first differing byte is named), 65 if ARCHIVE is damaged.\n";

typedef struct cmp_ctx {
  int fd;
  uint64_t first_diff; /* UINT64_MAX: none yet */
  uint8_t buf[1 << 16];
} cmp_ctx;

static int sink_compare(void *ctx, uint64_t off, const uint8_t *p, size_t n) {
  cmp_ctx *c = ctx;
  while (n && c->first_diff == UINT64_MAX) {
    size_t want = n < sizeof c->buf ? n : sizeof c->buf;
    ssize_t got = pread(c->fd, c->buf, want, (off_t)off);
    if (got < 0)
      return PK_EIO;
    size_t m = (size_t)got;
    for (size_t i = 0; i < m; i++)
      if (c->buf[i] != p[i]) {
        c->first_diff = off + i;
        break;
      }
    if (m < want && c->first_diff == UINT64_MAX)
      c->first_diff = off + m; /* the original is shorter */
    off += m, p += m, n -= m;
  }
  return PK_OK;
}

static int pipe_compare(int argc, char **argv) {
  const char *cmd = "pipe compare";
  common c = {0};
  int status = parse_common_only(argc, argv, cmd, compare_usage, &c);
  if (status >= 0)
    return status;
  if (argc - optind != 2)
    return pk_cli_usage_error(cmd, "expected ORIGINAL and ARCHIVE");
  const char *orig = argv[optind], *path = argv[optind + 1];
  struct stat sb;
  cmp_ctx *cc = malloc(sizeof *cc);
  if (!cc)
    return pk_cli_fail(cmd, EX_OSERR, "out of memory");
  cc->first_diff = UINT64_MAX;
  cc->fd = open_input(orig, &sb);
  if (cc->fd < 0) {
    free(cc);
    return input_fail(cmd, orig);
  }
  opened a;
  status = open_archive(cmd, path, &c, &a);
  if (status) {
    close(cc->fd);
    free(cc);
    return status;
  }
  pk_errmsg e = {{0}};
  env v;
  pk_pipe_stats st = {0};
  int rc = env_init(&v, &c, path, path, &e);
  if (!rc) {
    pk_pipe_sink sink = {sink_compare, cc};
    rc = pk_pipe_decode(&v.opts, a.fd, a.header_len, &a.h, &a.keys, &sink, NULL,
                        NULL, &st, &e);
    env_release(&v);
  }
  close_archive(&a);
  uint64_t diff = cc->first_diff, orig_size = (uint64_t)sb.st_size;
  close(cc->fd);
  free(cc);
  if (rc)
    return file_fail(cmd, path, rc, &e);
  if (diff == UINT64_MAX && orig_size != st.out_bytes)
    diff = st.out_bytes; /* the original is longer */
  if (diff == UINT64_MAX) {
    printf("%s and %s are identical (%" PRIu64 " bytes)\n", orig, path,
           st.out_bytes);
    return EX_OK;
  }
  printf("%s and %s differ: first at byte %" PRIu64 " (sizes %" PRIu64
         " and %" PRIu64 ")%s\n",
         orig, path, diff, orig_size, st.out_bytes,
         (a.h.flags & PK_FMT_F_IRREVERSIBLE) ? "; the archive masked PII" : "");
  return 1;
}

/* ---- info
 * -------------------------------------------------------------------*/

static const char info_usage[] =
    "usage: pika pipe info ARCHIVE [--password-file F | --key-file F]\n"
    "\n"
    "Shows ARCHIVE's header in human form: stages, digest, key derivation,\n"
    "original name, size and mode, chunk count and sizes, compression\n"
    "ratio. Without the password of an encrypted archive, the header and\n"
    "index are shown but not authenticated.\n";

static int pipe_info(int argc, char **argv) {
  const char *cmd = "pipe info";
  common c = {0};
  int status = parse_common_only(argc, argv, cmd, info_usage, &c);
  if (status >= 0)
    return status;
  if (argc - optind != 1)
    return pk_cli_usage_error(cmd, "expected one ARCHIVE");
  const char *path = argv[optind];
  struct stat sb;
  int fd = open_input(path, &sb);
  if (fd < 0)
    return input_fail(cmd, path);
  pk_fmt_header h;
  uint8_t raw[PK_FMT_HEADER_MAX];
  uint64_t hlen;
  pk_errmsg e = {{0}};
  int rc = pk_pipe_read_header(fd, &h, raw, &hlen, &e);
  if (rc) {
    close(fd);
    return file_fail(cmd, path, rc, &e);
  }
  /* Authenticate when we can: always for plain archives, with a secret
   * (only if one was offered: info never prompts) for encrypted ones. */
  pk_archive_keys keys = {0};
  pk_secret s = {0};
  int authed = 0;
  rc = pk_secret_get(&c.secret, 0, &s, &e);
  if (!rc && (!(h.flags & PK_FMT_F_ENCRYPTED) || s.kind != PK_SECRET_NONE)) {
    rc = pk_pipe_open_keys(&h, raw, hlen, &s, NULL, &keys, &e);
    if (rc) {
      pk_secret_release(&s);
      close(fd);
      return file_fail(cmd, path, rc, &e);
    }
    authed = 1;
  }
  pk_secret_release(&s);
  pk_fmt_index_entry *idx = NULL;
  uint64_t n = 0, index_off = 0, orig = 0, stored = 0, raw_chunks = 0,
           groups = 0;
  pk_errmsg ie = {{0}};
  int have_index = pk_pipe_read_index(fd, authed ? &keys : NULL, &idx, &n,
                                      &index_off, &ie) == PK_OK;
  for (uint64_t i = 0; i < n; i++) {
    orig += idx[i].orig_len;
    stored += idx[i].stored_len;
    raw_chunks += !!(idx[i].flags & PK_FMT_REC_RAW);
    groups += !(idx[i].flags & PK_FMT_REC_LINKED);
  }
  free(idx);
  pk_archive_keys_wipe(&keys);
  close(fd);

  char stages[256] = "";
  size_t used = 0;
  for (int i = 0; i < h.n_stages && used < sizeof stages - 40; i++) {
    const pk_fmt_stage *st = &h.stages[i];
    used += (size_t)snprintf(stages + used, sizeof stages - used, "%s%s",
                             i ? " -> " : "", pk_pipe_stage_name(st));
    if (st->kind == PK_FMT_STAGE_COMPRESS)
      used += (size_t)snprintf(stages + used, sizeof stages - used, ":%d",
                               st->param);
  }
  char a[32], b[32];
  printf("archive      %s (format version %u)\n", path, h.version);
  char when[32] = "?";
  time_t mt = (time_t)h.mtime;
  struct tm tm;
  if (gmtime_r(&mt, &tm))
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
  printf("original     %s, mode %04o, modified %s\n", h.name, h.mode, when);
  printf("stages       %s\n", h.n_stages ? stages : "(none: stored)");
  printf("digest       %s of the original\n", pk_pipe_digest_name(h.digest));
  if (h.flags & PK_FMT_F_ENCRYPTED)
    printf("key          %s%s\n",
           h.kdf == PK_FMT_KDF_ARGON2ID ? "argon2id password" : "key file",
           authed ? "" : " (not given: header and index not authenticated)");
  if (h.kdf == PK_FMT_KDF_ARGON2ID)
    printf("             argon2id t=%u m=%u KiB p=%u\n", h.kdf_t, h.kdf_m_kib,
           h.kdf_p);
  if (h.flags & PK_FMT_F_IRREVERSIBLE)
    printf("irreversible PII was masked: restore gives the masked data, not "
           "the original\n");
  if (have_index) {
    pk_cli_human_bytes(orig, a, sizeof a);
    pk_cli_human_bytes((uint64_t)sb.st_size, b, sizeof b);
    printf("size         %s original -> %s archive (%.1f %%)\n", a, b,
           orig ? 100.0 * (double)sb.st_size / (double)orig : 0.0);
    printf("chunks       %" PRIu64 " (largest allowed %" PRIu64 " B; %" PRIu64
           " stored uncompressed)\n",
           n, h.chunk_size, raw_chunks);
    if (h.group_size)
      printf("groups       %" PRIu64 " (zstd stream linked across the chunks "
             "of each, up to %" PRIu64 " B)\n",
             groups, h.group_size);
  } else {
    printf("index        unavailable: %s\n", ie.text);
  }
  return EX_OK;
}

/* ---- named pipelines
 * ---------------------------------------------------------*/

static const char create_usage[] =
    "usage: pika pipe create NAME --stages SPEC\n"
    "\n"
    "Stores a named pipeline (in $PIKA_HOME/pipelines.db) for use with\n"
    "'pika pipe process --pipeline NAME'.\n";

static int pipe_create(int argc, char **argv) {
  static const struct option longopts[] = {
      {"stages", required_argument, NULL, OPT_STAGES}, {0}};
  const char *cmd = "pipe create", *stages = NULL;
  pk_cli_reset();
  int opt;
  while ((opt = pk_cli_getopt(argc, argv, "", longopts, cmd, create_usage)) !=
         -1) {
    if (opt == OPT_STAGES)
      stages = optarg;
    else
      return pk_cli_status(opt);
  }
  if (argc - optind != 1 || !stages)
    return pk_cli_usage_error(cmd, "expected NAME and --stages SPEC");
  pk_errmsg e = {{0}};
  pk_registry *reg;
  int rc = pk_registry_open(NULL, &reg, &e);
  if (!rc)
    rc = pk_registry_create(reg, argv[optind], stages, &e);
  pk_registry_close(reg);
  if (rc)
    return pk_cli_fail(cmd,
                       rc == PK_EINVAL   ? EX_USAGE
                       : rc == PK_EEXIST ? EX_CANTCREAT
                                         : pk_exit_code(rc),
                       "%s", e.text);
  printf("created pipeline '%s'\n", argv[optind]);
  return EX_OK;
}

static int list_one(const char *name, const char *spec, int64_t created,
                    int builtin, void *arg) {
  (void)created;
  (void)arg;
  printf("%-16s %-40s%s\n", name, spec, builtin ? " (built-in)" : "");
  return 0;
}

static const char list_usage[] = "usage: pika pipe list\n"
                                 "\n"
                                 "Lists the named pipelines.\n";

static int pipe_list(int argc, char **argv) {
  pk_cli_reset();
  int opt;
  while ((opt = pk_cli_getopt(argc, argv, "", NULL, "pipe list", list_usage)) !=
         -1)
    return pk_cli_status(opt);
  if (optind != argc)
    return pk_cli_usage_error("pipe list", "unexpected argument '%s'",
                              argv[optind]);
  pk_errmsg e = {{0}};
  pk_registry *reg;
  int rc = pk_registry_open(NULL, &reg, &e);
  if (!rc)
    rc = pk_registry_list(reg, list_one, NULL, &e);
  pk_registry_close(reg);
  if (rc)
    return pk_cli_fail("pipe list", pk_exit_code(rc), "%s", e.text);
  return EX_OK;
}

static const char show_usage[] = "usage: pika pipe show NAME\n"
                                 "\n"
                                 "Prints a named pipeline's stages.\n";
static const char delete_usage[] = "usage: pika pipe delete NAME\n"
                                   "\n"
                                   "Deletes a named pipeline.\n";

static int name_cmd(int argc, char **argv, const char *cmd, const char *usage,
                    int del) {
  pk_cli_reset();
  int opt;
  while ((opt = pk_cli_getopt(argc, argv, "", NULL, cmd, usage)) != -1)
    return pk_cli_status(opt);
  if (argc - optind != 1)
    return pk_cli_usage_error(cmd, "expected one NAME");
  pk_errmsg e = {{0}};
  pk_registry *reg;
  char spec[512];
  int rc = pk_registry_open(NULL, &reg, &e);
  if (!rc)
    rc = del ? pk_registry_delete(reg, argv[optind], &e)
             : pk_registry_get(reg, argv[optind], spec, sizeof spec, &e);
  pk_registry_close(reg);
  if (rc)
    return pk_cli_fail(cmd, rc == PK_ENOENT ? EX_USAGE : pk_exit_code(rc), "%s",
                       e.text);
  if (del)
    printf("deleted pipeline '%s'\n", argv[optind]);
  else
    printf("%s\n", spec);
  return EX_OK;
}

static int pipe_show(int argc, char **argv) {
  return name_cmd(argc, argv, "pipe show", show_usage, 0);
}

static int pipe_delete(int argc, char **argv) {
  return name_cmd(argc, argv, "pipe delete", delete_usage, 1);
}

static const char check_usage[] =
    "usage: pika pipe check CONFIG\n"
    "\n"
    "Validates a pipeline definition file (.toml or .json) without running\n"
    "it: known keys only, types, sizes, and the stage order.\n";

static int pipe_check(int argc, char **argv) {
  pk_cli_reset();
  int opt;
  while ((opt = pk_cli_getopt(argc, argv, "", NULL, "pipe check",
                              check_usage)) != -1)
    return pk_cli_status(opt);
  if (argc - optind != 1)
    return pk_cli_usage_error("pipe check", "expected one CONFIG file");
  pk_pipe_config cfg;
  pk_errmsg e = {{0}};
  int rc = pk_config_load(argv[optind], &cfg, &e);
  if (rc)
    return pk_cli_fail("pipe check",
                       rc == PK_EINVAL ? EX_DATAERR : pk_exit_code(rc), "%s",
                       e.text);
  char spec[512];
  pk_pipe_spec_format(&cfg.spec, spec, sizeof spec);
  printf("%s: valid pipeline '%s': %s\n", argv[optind], cfg.name, spec);
  return EX_OK;
}

/* ---- benchmark ------------------------------------------------------------*/

static const char benchmark_usage[] =
    "usage: pika pipe benchmark [--size SIZE | --input FILE] [--stages SPEC]\n"
    "\n"
    "Runs the real pipeline (the engine, the stages, the governor) over a\n"
    "grid of chunk sizes and worker counts, prints the throughput of each,\n"
    "and recommends the fastest settings for this machine. The input is\n"
    "FILE, or SIZE bytes (default 64MiB) of generated mixed content: text\n"
    "lines, random bytes and runs of zeros. Archives go to /dev/null;\n"
    "encryption uses a random key.\n";

/* Mixed content, deterministic: a third text lines, a third random bytes
 * (incompressible), a third zero runs, in 64 KiB stretches. */
static void fill_mixed(uint8_t *p, size_t n, uint64_t *state) {
  uint64_t x = *state;
  static const char words[] = "lorem ipsum dolor sit amet 0123456789 id=";
  for (size_t i = 0; i < n; i++) {
    size_t kind = (i >> 16) % 3;
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    p[i] = kind == 0   ? (uint8_t)words[x % (sizeof words - 1)]
           : kind == 1 ? (uint8_t)x
                       : 0;
    if (kind == 0 && x % 61 == 0)
      p[i] = '\n';
  }
  *state = x;
}

/* The input: FILE, or generated data in an anonymous in-memory file. */
static int bench_input(const char *input, uint64_t *size) {
  struct stat sb;
  if (input) {
    int fd = open_input(input, &sb);
    if (fd >= 0 && !S_ISREG(sb.st_mode)) {
      close(fd);
      errno = EINVAL;
      return -1;
    }
    *size = fd >= 0 ? (uint64_t)sb.st_size : 0;
    return fd;
  }
  int fd = memfd_create("pika-bench", MFD_CLOEXEC);
  uint8_t *buf = malloc(1u << 20);
  uint64_t state = 0x9E3779B97F4A7C15u, done = 0;
  while (fd >= 0 && buf && done < *size) {
    size_t n = *size - done < (1u << 20) ? (size_t)(*size - done) : 1u << 20;
    fill_mixed(buf, n, &state);
    if (write(fd, buf, n) != (ssize_t)n)
      break;
    done += n;
  }
  free(buf);
  if (fd >= 0 && done != *size) {
    close(fd);
    errno = ENOMEM;
    return -1;
  }
  return fd;
}

static int pipe_benchmark(int argc, char **argv) {
  static const struct option longopts[] = {
      {"size", required_argument, NULL, 's'},
      {"input", required_argument, NULL, 'i'},
      {"stages", required_argument, NULL, OPT_STAGES},
      {0}};
  const char *cmd = "pipe benchmark", *input = NULL, *stages = "zstd:3";
  uint64_t size = 64u << 20;
  pk_errmsg e = {{0}};
  pk_cli_reset();
  int opt;
  while ((opt = pk_cli_getopt(argc, argv, "", longopts, cmd,
                              benchmark_usage)) != -1) {
    if (opt == 's') {
      if (pk_parse_size(optarg, &size, &e) || size < (1u << 20) ||
          size > ((uint64_t)16 << 30))
        return pk_cli_usage_error(cmd, "--size wants 1MiB..16GiB, got '%s'",
                                  optarg);
    } else if (opt == 'i') {
      input = optarg;
    } else if (opt == OPT_STAGES) {
      stages = optarg;
    } else {
      return pk_cli_status(opt);
    }
  }
  if (optind != argc)
    return pk_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
  pk_pipe_spec spec;
  if (pk_pipe_spec_parse(stages, &spec, &e))
    return pk_cli_usage_error(cmd, "%s", e.text);
  int in_fd = bench_input(input, &size);
  if (in_fd < 0)
    return input ? input_fail(cmd, input)
                 : pk_cli_fail(cmd, EX_OSERR,
                               "cannot prepare the test data in memory");
  int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  pk_secret secret = {.kind = PK_SECRET_KEYFILE};
  pk_gov *gov = NULL;
  int rc = pk_random_bytes(secret.key, sizeof secret.key);
  if (!rc)
    rc = pk_gov_create(NULL, &gov);
  if (rc || null_fd < 0) {
    close(in_fd);
    if (null_fd >= 0)
      close(null_fd);
    return pk_cli_fail(cmd, EX_OSERR, "cannot start the benchmark");
  }
  catch_signals();
  int ncpu = (int)pk_gov_limit(gov, PK_GOV_CPU);
  static const uint64_t chunks[] = {64u << 10, 256u << 10, 1u << 20, 4u << 20};
  char spec_text[256], hs[32];
  pk_pipe_spec_format(&spec, spec_text, sizeof spec_text);
  pk_cli_human_bytes(size, hs, sizeof hs);
  printf("# pika pipe benchmark: %s of %s through %s, %d cores\n", hs,
         input ? input : "generated mixed data", spec_text, ncpu);
  printf("%-10s %8s %10s %9s\n", "chunk", "workers", "MB/s", "size");
  double best = 0;
  uint64_t best_chunk = 0;
  int best_workers = 0;
  for (size_t ci = 0; ci < sizeof chunks / sizeof *chunks && !rc; ci++)
    for (int w = 1; w <= 2 * ncpu && !rc; w *= 2) {
      pk_fmt_header h;
      pk_archive_keys keys = {0};
      pk_pipe_stats st;
      lseek(in_fd, 0, SEEK_SET);
      rc = pk_archive_header_init(&h, &spec, PK_FMT_MAX_CHUNK, size, 0644, 0,
                                  "bench", &e);
      if (!rc)
        rc =
            pk_archive_keys_new(&h, pk_pipe_spec_cipher(&spec) ? &secret : NULL,
                                NULL, NULL, &keys, &e);
      pk_pipe_opts o = {.gov = gov,
                        .workers = w,
                        .chunk_size = chunks[ci],
                        .cancel = &interrupted};
      if (!rc)
        rc = pk_pipe_encode(&o, in_fd, null_fd, &h, &keys, &st, &e);
      pk_archive_keys_wipe(&keys);
      if (rc)
        break;
      double mbs = (double)st.in_bytes / ((double)st.elapsed_ns / 1e9) / 1e6;
      pk_cli_human_bytes(chunks[ci], hs, sizeof hs);
      printf("%-10s %8d %10.1f %8.1f%%\n", hs, w, mbs,
             100.0 * (double)st.out_bytes / (double)st.in_bytes);
      fflush(stdout);
      if (mbs > best)
        best = mbs, best_chunk = chunks[ci], best_workers = w;
    }
  sodium_memzero(&secret, sizeof secret);
  pk_gov_free(gov);
  close(in_fd);
  close(null_fd);
  if (rc)
    return file_fail(cmd, input ? input : "benchmark", rc, &e);
  pk_cli_human_bytes(best_chunk, hs, sizeof hs);
  printf("recommended: --chunk-size %s --workers %d (%.1f MB/s)\n", hs,
         best_workers, best);
  return EX_OK;
}

/* ---- dispatch
 * ---------------------------------------------------------------*/

/* X(name, padding to column 13, summary): the one list of pipe commands,
 * for dispatch and for the usage text. */
#define PIPE_COMMANDS(X)                                                       \
  X(process, "    ", "Stream a file into an .adapipe archive")                 \
  X(restore, "    ", "Restore the byte-identical original from an archive")    \
  X(validate, "   ", "Check an archive's structure (--full: every byte)")      \
  X(compare, "    ", "Compare an original file with an archive")               \
  X(info, "       ", "Show an archive's header")                               \
  X(create, "     ", "Store a named pipeline")                                 \
  X(list, "       ", "List the named pipelines")                               \
  X(show, "       ", "Show a named pipeline")                                  \
  X(delete, "     ", "Delete a named pipeline")                                \
  X(check, "      ", "Validate a pipeline definition file (TOML or JSON)")     \
  X(benchmark, "  ", "Measure the real stages over chunk sizes and workers")

static const struct {
  const char *name;
  int (*run)(int, char **);
} pipe_commands[] = {
#define PIPE_ENTRY(name, pad, summary) {#name, pipe_##name},
    PIPE_COMMANDS(PIPE_ENTRY)
#undef PIPE_ENTRY
};

const char cmd_pipe_usage[] =
    "usage: pika pipe <command> [options]\n"
    "\n"
    "The adaptive pipeline: files through chunked, parallel stages into an\n"
    "authenticated .adapipe archive, and back, byte-identical.\n"
    "\n"
    "commands:\n"
#define PIPE_USAGE_LINE(name, pad, summary) "  " #name pad summary "\n"
    PIPE_COMMANDS(PIPE_USAGE_LINE)
#undef PIPE_USAGE_LINE
        "\n"
        "stages (--stages SPEC, a comma list, in this order):\n"
        "  transforms   pii (irreversible masking, first), base64, base64url\n"
        "  compression  zstd[:L] (default zstd:3), lz4[:accel], lz4hc[:L],\n"
        "               brotli[:L], gzip[:L], none\n"
        "  encryption   aes256gcm, chacha20poly1305, xchacha20poly1305\n"
        "  digest       xxh3-128 (default), sha256, blake2b\n"
        "\n"
        "'pika pipe <command> --help' shows a command's options.\n";

int cmd_pipe(int argc, char **argv) {
  if (argc < 2)
    return pk_cli_usage_error("pipe", "no pipe command given");
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
      !strcmp(argv[1], "help")) {
    fputs(cmd_pipe_usage, stdout);
    return EX_OK;
  }
  for (size_t i = 0; i < sizeof pipe_commands / sizeof pipe_commands[0]; i++)
    if (!strcmp(argv[1], pipe_commands[i].name))
      return pipe_commands[i].run(argc - 1, argv + 1);
  if (argv[1][0] == '-')
    return pk_cli_usage_error("pipe", "unknown option '%s'", argv[1]);
  return pk_cli_usage_error("pipe", "unknown pipe command '%s'", argv[1]);
}
