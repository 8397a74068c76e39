/* outfile.c — see outfile.h. */
#include "pipe/outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int os_err(pk_errmsg *e, const char *what, const char *path) {
  int err = errno;
  int rc = pk_err_from_errno(err);
  if (rc == PK_ESYS || rc == PK_EINVAL)
    rc = PK_EIO;
  return pk_errmsg_set(e, rc, "cannot %s %s: %s", what, path, strerror(err));
}

static void dir_of(const char *path, char *out, size_t n) {
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s", path);
  snprintf(out, n, "%s", dirname(tmp));
}

int pk_outfile_open(pk_outfile *of, const char *path, int overwrite,
                    mode_t mode, pk_errmsg *e) {
  memset(of, 0, sizeof *of);
  of->fd = -1;
  of->overwrite = overwrite;
  of->durable = 1;
  if (!strcmp(path, "-")) {
    of->is_stdout = of->direct = 1;
    of->fd = STDOUT_FILENO;
    return PK_OK;
  }
  if (strlen(path) >= sizeof of->path - 32)
    return pk_errmsg_set(e, PK_EINVAL, "output path is too long");
  snprintf(of->path, sizeof of->path, "%s", path);
  struct stat sb;
  if (stat(path, &sb) == 0) {
    if (S_ISDIR(sb.st_mode))
      return pk_errmsg_set(e, PK_EEXIST, "%s is a directory", path);
    if (!S_ISREG(sb.st_mode)) {
      of->fd = open(path, O_WRONLY | O_CLOEXEC);
      if (of->fd < 0)
        return os_err(e, "open", path);
      of->direct = 1;
      return PK_OK;
    }
    if (!overwrite)
      return pk_errmsg_set(e, PK_EEXIST,
                           "%s exists (use --overwrite to replace it)", path);
  }
  char dir[4096];
  dir_of(path, dir, sizeof dir);
  of->fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
  if (of->fd >= 0)
    return PK_OK;
  if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
    return os_err(e, "create a file in", dir);
  /* No O_TMPFILE here: a hidden name that abort removes. */
  char base[4096];
  snprintf(base, sizeof base, "%s", path);
  snprintf(of->tmp, sizeof of->tmp, "%s/.%s.pika-XXXXXX", dir, basename(base));
  of->fd = mkostemp(of->tmp, O_CLOEXEC);
  if (of->fd < 0) {
    of->tmp[0] = '\0';
    return os_err(e, "create a file in", dir);
  }
  fchmod(of->fd, mode);
  return PK_OK;
}

static int fsync_dir(const char *path) {
  char dir[4096];
  dir_of(path, dir, sizeof dir);
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return -1;
  int rc = fsync(dfd);
  close(dfd);
  return rc;
}

/* Naming the output failed (errno set): a file that appeared under the
 * name since open is never replaced. */
static int create_failed(const pk_outfile *of, pk_errmsg *e) {
  if (errno == EEXIST)
    return pk_errmsg_set(e, PK_EEXIST,
                         "%s appeared while writing; not replaced", of->path);
  return os_err(e, "create", of->path);
}

int pk_outfile_commit(pk_outfile *of, pk_errmsg *e) {
  if (of->is_stdout) {
    if (fflush(stdout) != 0)
      return os_err(e, "write", "standard output");
    return PK_OK;
  }
  if (of->fd < 0)
    return pk_errmsg_set(e, PK_EINVAL, "output is not open");
  int rc = PK_OK;
  if (of->direct) { /* a device or FIFO: nothing to make durable or name */
    if (close(of->fd) != 0)
      rc = os_err(e, "write", of->path);
    of->fd = -1;
    return rc;
  }
  if (of->durable && fsync(of->fd) != 0) {
    rc = os_err(e, "write", of->path);
    pk_outfile_abort(of);
    return rc;
  }
  if (of->tmp[0]) {
    if (of->overwrite ? rename(of->tmp, of->path)
                      : renameat2(AT_FDCWD, of->tmp, AT_FDCWD, of->path,
                                  RENAME_NOREPLACE))
      rc = create_failed(of, e);
  } else {
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", of->fd);
    if (!of->overwrite) {
      if (linkat(AT_FDCWD, proc, AT_FDCWD, of->path, AT_SYMLINK_FOLLOW))
        rc = create_failed(of, e);
    } else {
      /* Link under a temporary name, then rename over the target: the
       * replacement is atomic. */
      char tmp[8448];
      for (int i = 0; i < 100; i++) {
        snprintf(tmp, sizeof tmp, "%s.pika-%ld-%d", of->path, (long)getpid(),
                 i);
        if (linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) == 0)
          break;
        if (errno != EEXIST) {
          tmp[0] = '\0';
          break;
        }
      }
      if (!tmp[0] || rename(tmp, of->path)) {
        rc = os_err(e, "create", of->path);
        if (tmp[0])
          unlink(tmp);
      }
    }
  }
  close(of->fd);
  of->fd = -1;
  if (rc) {
    if (of->tmp[0])
      unlink(of->tmp);
    of->tmp[0] = '\0';
    return rc;
  }
  of->tmp[0] = '\0';
  if (of->durable)
    fsync_dir(of->path);
  return PK_OK;
}

void pk_outfile_abort(pk_outfile *of) {
  if (of->is_stdout)
    return;
  /* direct (a device): closing is all; the tmp name is empty. */
  if (of->fd >= 0)
    close(of->fd);
  of->fd = -1;
  if (of->tmp[0])
    unlink(of->tmp);
  of->tmp[0] = '\0';
}

void pk_outfile_writeback(int fd, uint64_t *flushed, uint64_t written) {
  if (written - *flushed < ((uint64_t)8 << 20))
    return;
  /* Asynchronous: queues the range for writeback and returns. */
  (void)sync_file_range(fd, (off64_t)*flushed, (off64_t)(written - *flushed),
                        SYNC_FILE_RANGE_WRITE);
  *flushed = written;
}
