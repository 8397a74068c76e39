/* secret.c — see secret.h. */
#include "cmd/secret.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "pipe/kdf.h"

#define MAX_PASSWORD 4096

/* Strips one trailing newline (files written by `echo` have one). */
static size_t chomp(char *p, size_t n) {
  if (n && p[n - 1] == '\n')
    n--;
  if (n && p[n - 1] == '\r')
    n--;
  return n;
}

static int read_password_file(const char *path, char *buf, size_t *len,
                              pk_errmsg *e) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return pk_errmsg_set(e, pk_err_from_errno(errno),
                         "cannot read password file %s: %s", path,
                         strerror(errno));
  ssize_t n = read(fd, buf, MAX_PASSWORD);
  char extra;
  int more = n == MAX_PASSWORD && read(fd, &extra, 1) == 1;
  close(fd);
  if (n < 0)
    return pk_errmsg_set(e, PK_EIO, "cannot read password file %s", path);
  if (more)
    return pk_errmsg_set(e, PK_EINVAL,
                         "password file %s is longer than %d bytes", path,
                         MAX_PASSWORD);
  *len = chomp(buf, (size_t)n);
  if (*len == 0)
    return pk_errmsg_set(e, PK_EINVAL, "password file %s is empty", path);
  return PK_OK;
}

/* Reads one line from the terminal without echo. */
static int prompt(int tty, const char *text, char *buf, size_t *len) {
  struct termios old, quiet;
  if (tcgetattr(tty, &old) != 0)
    return PK_EPERM;
  quiet = old;
  quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
  if (write(tty, text, strlen(text)) < 0 ||
      tcsetattr(tty, TCSAFLUSH, &quiet) != 0)
    return PK_EIO;
  size_t n = 0;
  char c;
  ssize_t r;
  while ((r = read(tty, &c, 1)) == 1 && c != '\n' && n < MAX_PASSWORD - 1)
    buf[n++] = c;
  tcsetattr(tty, TCSAFLUSH, &old);
  if (write(tty, "\n", 1) < 0 || r < 0)
    return PK_EIO;
  *len = chomp(buf, n);
  return PK_OK;
}

int pk_secret_get(const pk_secret_source *src, int need, pk_secret *s,
                  pk_errmsg *e) {
  memset(s, 0, sizeof *s);
  if (src->key_file && src->password_file)
    return pk_errmsg_set(e, PK_EINVAL,
                         "give either --key-file or --password-file, not both");
  if (src->key_file) {
    int rc = pk_key_file_read(src->key_file, s->key, e);
    if (rc == PK_OK)
      s->kind = PK_SECRET_KEYFILE;
    return rc;
  }
  const char *env = getenv("PIKA_PASSWORD");
  if (!src->password_file && !(env && *env) && !need)
    return PK_OK; /* nothing given, nothing needed */
  /* Guarded, locked memory for the password (sodium_init is idempotent). */
  char *buf = sodium_init() < 0 ? NULL : sodium_malloc(MAX_PASSWORD);
  if (!buf)
    return pk_errmsg_set(e, PK_ENOMEM, "out of memory");
  size_t len = 0;
  int rc = PK_OK;
  if (src->password_file) {
    rc = read_password_file(src->password_file, buf, &len, e);
  } else if (env && *env) {
    len = strlen(env);
    if (len >= MAX_PASSWORD)
      rc = pk_errmsg_set(e, PK_EINVAL, "PIKA_PASSWORD is too long");
    else
      memcpy(buf, env, len);
  } else {
    int tty = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (tty < 0) {
      rc = pk_errmsg_set(e, PK_EAUTH,
                         "a password is needed: give --password-file, "
                         "PIKA_PASSWORD or --key-file (no terminal to ask on)");
    } else {
      rc = prompt(tty, "Password: ", buf, &len);
      if (!rc && len == 0)
        rc = pk_errmsg_set(e, PK_EINVAL, "empty password");
      if (!rc && src->confirm) {
        char *again = sodium_malloc(MAX_PASSWORD);
        size_t len2 = 0;
        rc = again ? prompt(tty, "Again: ", again, &len2) : PK_ENOMEM;
        if (!rc && (len2 != len || memcmp(buf, again, len) != 0))
          rc = pk_errmsg_set(e, PK_EINVAL, "the passwords differ");
        sodium_free(again);
      } else if (rc && !e->text[0]) {
        pk_errmsg_set(e, rc, "cannot read the password from the terminal");
      }
      close(tty);
    }
  }
  if (rc) {
    sodium_free(buf);
    return rc;
  }
  s->kind = PK_SECRET_PASSWORD;
  s->password = buf;
  s->password_len = len;
  return PK_OK;
}

void pk_secret_release(pk_secret *s) {
  if (!s)
    return;
  if (s->kind == PK_SECRET_PASSWORD && s->password)
    sodium_free((void *)(uintptr_t)s->password);
  sodium_memzero(s, sizeof *s);
}
