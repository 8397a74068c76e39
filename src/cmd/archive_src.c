/* archive_src.c — see archive_src.h. */
#include "cmd/archive_src.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/importer.h"
#include "pipe/engine.h"
#include "runtime/governor.h"

struct pk_archive_src {
  char path[4096];  /* the archive */
  char label[4096]; /* its name for messages */
  int fd;
  pk_fmt_header h;
  uint64_t header_len;
  pk_archive_keys keys;
  pk_secret secret;
  const char *format;
  char name[PK_FMT_MAX_NAME + 1]; /* the file name DuckDB sees */
  pk_gov *gov;
  pk_pipe_opts opts;
  pthread_mutex_t mu;
  int last;  /* the decode's result; PK_EAGAIN before it */
  int fatal; /* its error, unless interrupted */
  pk_errmsg fatal_msg;
  /* the decoded copy */
  int tmp_fd;
  char tmp_path[64];
};

bool pk_archive_src_is(const char *path) {
  size_t n = strlen(path);
  return n > 8 && strcasecmp(path + n - 8, ".adapipe") == 0;
}

int pk_archive_src_open(const char *path, const pk_secret_source *sec,
                        pk_archive_src **out, pk_errmsg *e) {
  *out = NULL;
  pk_archive_src *a = calloc(1, sizeof *a);
  if (!a)
    return pk_errmsg_set(e, PK_ENOMEM, "out of memory");
  a->fd = a->tmp_fd = -1;
  a->last = PK_EAGAIN;
  pthread_mutex_init(&a->mu, NULL);
  snprintf(a->path, sizeof a->path, "%s", path);
  *out = a;
  a->fd = open(path, O_RDONLY | O_CLOEXEC);
  if (a->fd < 0) {
    int err = errno;
    return pk_errmsg_set(e, err == EACCES ? PK_EPERM : PK_ENOENT,
                         "cannot open %s: %s", path, strerror(err));
  }
  uint8_t raw[PK_FMT_HEADER_MAX];
  int rc = pk_pipe_read_header(a->fd, &a->h, raw, &a->header_len, e);
  if (!rc && (a->h.flags & PK_FMT_F_ENCRYPTED))
    rc = pk_secret_get(sec, 1, &a->secret, e);
  if (!rc)
    rc = pk_pipe_open_keys(&a->h, raw, a->header_len, &a->secret, NULL,
                           &a->keys, e);
  if (rc)
    return rc;
  /* The stored name tells the format; "stdin" tells nothing, and then the
   * archive's own name without ".adapipe" does. */
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  if (strcmp(a->h.name, "stdin") && a->h.name[0])
    snprintf(a->name, sizeof a->name, "%s", a->h.name);
  else
    snprintf(a->name, sizeof a->name, "%.*s",
             (int)(strlen(base) > 8 ? strlen(base) - 8 : strlen(base)), base);
  if (!a->name[0] || !strcmp(a->name, ".") || !strcmp(a->name, ".."))
    snprintf(a->name, sizeof a->name, "data");
  a->format = pk_import_format_of(a->name);
  return PK_OK;
}

const char *pk_archive_src_format(const pk_archive_src *a) {
  return a->format;
}

const char *pk_archive_src_compression(const pk_archive_src *a) {
  return pk_import_compression_of(a->name);
}

const char *pk_archive_src_path(const pk_archive_src *a) {
  return a->tmp_path;
}

/* ---- decoding ----------------------------------------------------------- */

static int sink_write(void *ctx, uint64_t off, const uint8_t *p, size_t n) {
  int fd = *(int *)ctx;
  while (n) {
    ssize_t w = pwrite(fd, p, n, (off_t)off);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return errno == ENOSPC || errno == EDQUOT ? PK_ENOSPC : PK_EIO;
    }
    p += w, n -= (size_t)w, off += (uint64_t)w;
  }
  return PK_OK;
}

/* Decodes the whole archive into fd, verifying it. */
static int decode_into(pk_archive_src *a, int fd, pk_errmsg *e) {
  if (lseek(a->fd, (off_t)a->header_len, SEEK_SET) < 0)
    return pk_errmsg_set(e, PK_EIO, "cannot seek in %s: %s", a->path,
                         strerror(errno));
  pk_pipe_sink sink = {sink_write, &fd};
  pk_pipe_stats st = {0};
  return pk_pipe_decode(&a->opts, a->fd, a->header_len, &a->h, &a->keys, &sink,
                        NULL, NULL, &st, e);
}

/* An unnamed file in dir for the decoded copy. */
static int temp_file(const char *dir, pk_errmsg *e) {
  int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0)
    return fd;
  char path[4096];
  snprintf(path, sizeof path, "%s/.pika-import-XXXXXX", dir);
  fd = mkostemp(path, O_CLOEXEC);
  if (fd < 0)
    return pk_errmsg_set(e, pk_err_from_errno(errno),
                         "cannot create a temporary file in %s: %s", dir,
                         strerror(errno));
  unlink(path);
  return fd;
}

int pk_archive_src_start(pk_archive_src *a, const char *tmpdir,
                         volatile sig_atomic_t *cancel, pk_errmsg *e) {
  int rc = pk_gov_create(&(pk_gov_config){.io_path = a->path}, &a->gov);
  if (rc)
    return pk_errmsg_set(e, rc, "cannot start the decoder: %s",
                         pk_strerror(rc));
  a->opts = (pk_pipe_opts){.gov = a->gov, .cancel = cancel};
  int fd = temp_file(tmpdir, e);
  if (fd < 0)
    return fd;
  a->tmp_fd = fd;
  snprintf(a->tmp_path, sizeof a->tmp_path, "/proc/self/fd/%d", fd);
  rc = decode_into(a, fd, e);
  a->last = rc;
  if (rc && rc != PK_EINTERRUPTED) {
    a->fatal = rc;
    if (e)
      a->fatal_msg = *e;
  }
  return rc;
}

int pk_archive_src_check(void *arg, pk_errmsg *e) {
  pk_archive_src *a = arg;
  pthread_mutex_lock(&a->mu);
  int fatal = a->fatal, last = a->last;
  pk_errmsg msg = a->fatal_msg;
  pthread_mutex_unlock(&a->mu);
  if (fatal) {
    if (e)
      *e = msg;
    return fatal;
  }
  if (last != PK_OK)
    return pk_errmsg_set(e, PK_ECORRUPT, "the archive was not decoded");
  return PK_OK;
}

int pk_archive_src_error(pk_archive_src *a, pk_errmsg *e) {
  pthread_mutex_lock(&a->mu);
  int fatal = a->fatal;
  if (fatal && e)
    *e = a->fatal_msg;
  pthread_mutex_unlock(&a->mu);
  return fatal;
}

void pk_archive_src_close(pk_archive_src *a) {
  if (!a)
    return;
  if (a->tmp_fd >= 0)
    close(a->tmp_fd);
  if (a->fd >= 0)
    close(a->fd);
  pk_gov_free(a->gov);
  pk_archive_keys_wipe(&a->keys);
  pk_secret_release(&a->secret);
  pthread_mutex_destroy(&a->mu);
  free(a);
}
