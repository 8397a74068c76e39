/* paths.c — see paths.h. */
#include "base/paths.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int pk_data_file(const char *name, char *buf, size_t cap, pk_errmsg *e) {
  const char *home = getenv("PIKA_HOME");
  const char *xdg = getenv("XDG_DATA_HOME");
  const char *user = getenv("HOME");
  int n;
  if (home && *home)
    n = snprintf(buf, cap, "%s/%s", home, name);
  else if (xdg && xdg[0] == '/')
    n = snprintf(buf, cap, "%s/pika/%s", xdg, name);
  else if (user && *user)
    n = snprintf(buf, cap, "%s/.local/share/pika/%s", user, name);
  else
    return pk_errmsg_set(e, PK_EINVAL, "cannot place %s: set PIKA_HOME or HOME",
                         name);
  if (n < 0 || (size_t)n >= cap)
    return pk_errmsg_set(e, PK_ELIMIT, "the path of %s is too long", name);
  return PK_OK;
}

int pk_make_parents(const char *path, mode_t mode, pk_errmsg *e) {
  char dir[4096];
  if (strlen(path) >= sizeof dir)
    return pk_errmsg_set(e, PK_ELIMIT, "path too long: '%s'", path);
  strcpy(dir, path);
  char *slash = strrchr(dir, '/');
  if (!slash || slash == dir)
    return PK_OK;
  *slash = '\0';
  for (char *p = dir + 1;; p++) {
    if (*p != '/' && *p != '\0')
      continue;
    char saved = *p;
    *p = '\0';
    if (mkdir(dir, mode) != 0 && errno != EEXIST)
      return pk_errmsg_set(e, pk_err_from_errno(errno),
                           "cannot create directory '%s': %s", dir,
                           strerror(errno));
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
      return pk_errmsg_set(e, PK_ENOENT, "'%s' is not a directory", dir);
    *p = saved;
    if (saved == '\0')
      return PK_OK;
  }
}
