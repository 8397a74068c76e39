/* cli.c — shared option handling and messages; see cli.h. */
#include "cmd/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "cmd/exit.h"

void pk_cli_reset(void) {
  optind = 0; /* 0, not 1: makes glibc re-initialise its internal state */
  opterr = 0; /* errors are ours to word */
}

int pk_cli_getopt(int argc, char **argv, const char *shortopts,
                  const struct option *longopts, const char *cmd,
                  const char *usage) {
  /* Options may follow operands (`process IN -o OUT`): GNU permutation.
   * ":" reports a missing argument as ':' rather than '?'. */
  char spec[128];
  snprintf(spec, sizeof spec, ":h%s", shortopts);
  struct option all[64];
  int n = 0;
  for (; longopts && longopts[n].name && n < 62; n++)
    all[n] = longopts[n];
  all[n++] = (struct option){"help", no_argument, NULL, 'h'};
  all[n] = (struct option){0};

  int prev = optind ? optind : 1;
  int c = getopt_long(argc, argv, spec, all, NULL);
  if (c == 'h') {
    fputs(usage, stdout);
    return PK_CLI_HELP;
  }
  if (c == '?' || c == ':') {
    const char *arg = prev < argc ? argv[prev] : "?";
    char shown[64];
    if (optopt && !(arg[0] == '-' && arg[1] == '-'))
      snprintf(shown, sizeof shown, "-%c", optopt);
    else
      snprintf(shown, sizeof shown, "%.*s", (int)strcspn(arg, "="), arg);
    if (c == ':')
      pk_cli_usage_error(cmd, "option '%s' needs a value", shown);
    else
      pk_cli_usage_error(cmd, "unknown option '%s'", shown);
    return PK_CLI_ERROR;
  }
  return c;
}

int pk_cli_status(int opt) {
  return opt == PK_CLI_HELP ? EX_OK : EX_USAGE;
}

int pk_cli_usage_error(const char *cmd, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "pika %s: ", cmd);
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, " (see 'pika %s --help')\n", cmd);
  va_end(ap);
  return EX_USAGE;
}

int pk_cli_fail(const char *cmd, int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "pika %s: ", cmd);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return status;
}

int pk_exit_code(int err) {
  switch (err) {
  case PK_OK:
    return EX_OK;
  case PK_EINVAL:
    return EX_USAGE;
  case PK_ECORRUPT:
  case PK_EUNSUPPORTED:
    return EX_DATAERR;
  case PK_ENOENT:
    return EX_NOINPUT;
  case PK_EEXIST:
    return EX_CANTCREAT;
  case PK_EIO:
  case PK_ENOSPC:
    return EX_IOERR;
  case PK_EPERM:
  case PK_EAUTH:
    return EX_NOPERM;
  case PK_EINTERRUPTED:
  case PK_ECANCELED:
    return PK_EXIT_INTERRUPTED;
  case PK_ENOMEM:
  case PK_ESYS:
  case PK_ELIMIT:
    return EX_OSERR;
  default:
    return EX_SOFTWARE;
  }
}

void pk_cli_human_bytes(uint64_t b, char *buf, size_t n) {
  const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = (double)b;
  int u = 0;
  while (v >= 1024 && u < 4)
    v /= 1024, u++;
  snprintf(buf, n, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
}
