/* error.c — tables generated from PK_ERR_MAP; see error.h. */
#include "base/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

const char *pk_strerror(int err) {
  switch (err) {
  case PK_OK:
    return "success";
#define PK__ERR_STR(name, msg)                                                 \
  case PK_E##name:                                                             \
    return msg;
    PK_ERR_MAP(PK__ERR_STR)
#undef PK__ERR_STR
  default:
    return "unknown error";
  }
}

const char *pk_err_name(int err) {
  switch (err) {
  case PK_OK:
    return "PK_OK";
#define PK__ERR_NAME(name, msg)                                                \
  case PK_E##name:                                                             \
    return "PK_E" #name;
    PK_ERR_MAP(PK__ERR_NAME)
#undef PK__ERR_NAME
  default:
    return "PK_E?";
  }
}

int pk_err_from_errno(int errnum) {
  switch (errnum) {
  case 0:
    return PK_OK;
  case ENOMEM:
    return PK_ENOMEM;
  case EINVAL:
    return PK_EINVAL;
  case EAGAIN:
    return PK_EAGAIN;
  case ETIMEDOUT:
    return PK_ETIMEDOUT;
  case ENOENT:
  case ENOTDIR:
    return PK_ENOENT;
  case EEXIST:
    return PK_EEXIST;
  case EACCES:
  case EPERM:
  case EROFS:
    return PK_EPERM;
  case ENOSPC:
  case EDQUOT:
  case EFBIG:
    return PK_ENOSPC;
  case EINTR:
    return PK_EINTERRUPTED;
  case EIO:
    return PK_EIO;
  default:
    return PK_ESYS;
  }
}

int pk_errmsg_set(pk_errmsg *e, int err, const char *fmt, ...) {
  if (e) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->text, sizeof e->text, fmt, ap);
    va_end(ap);
  }
  return err;
}
