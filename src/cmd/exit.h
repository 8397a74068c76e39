/*
 * exit.h — the exit statuses of every pika command (sysexits.h), and the one
 * mapping from a library error code (base/error.h) to an exit status.
 * PK_EXIT_CODES is listed by `pika --help`; docs/ and tests read it there.
 */
#ifndef PIKA_CMD_EXIT_H
#define PIKA_CMD_EXIT_H

#include <sysexits.h>

#define PK_EXIT_INTERRUPTED 130 /* 128 + SIGINT, the shell's convention */

/* X(status, meaning) */
#define PK_EXIT_CODES(X)                                                       \
  X(EX_OK, "success")                                                          \
  X(EX_USAGE, "bad command line: unknown command or option, bad value")        \
  X(EX_DATAERR, "input data is malformed, corrupt or tampered with")           \
  X(EX_NOINPUT, "an input file is missing or unreadable")                      \
  X(EX_UNAVAILABLE, "a required service or library is unavailable")            \
  X(EX_SOFTWARE, "internal error (a bug: please report it)")                   \
  X(EX_OSERR, "the system refused a resource (memory, threads)")               \
  X(EX_CANTCREAT, "an output file cannot be created")                          \
  X(EX_IOERR, "input/output error, including a full disk")                     \
  X(EX_NOPERM, "permission denied, wrong password or key")                     \
  X(PK_EXIT_INTERRUPTED, "interrupted (Ctrl-C)")

/* The exit status for a PK_E* code (PK_OK -> 0). */
int pk_exit_code(int err);

#endif /* PIKA_CMD_EXIT_H */
