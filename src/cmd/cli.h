/*
 * cli.h — what every subcommand shares: option parsing with uniform errors,
 * and the way messages reach the user.
 *
 * pk_cli_getopt() wraps getopt_long so that each command handles --help the
 * same way and every bad option produces the same one-line error and exit
 * status 64 (EX_USAGE): "pika CMD: unknown option '--x' (see 'pika CMD
 * --help')".
 */
#ifndef PIKA_CMD_CLI_H
#define PIKA_CMD_CLI_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>

#define PK_CLI_HELP (-2)  /* --help was given: usage printed, exit 0 */
#define PK_CLI_ERROR (-3) /* bad option: message printed, exit EX_USAGE */

/* Like getopt_long, with "--help"/"-h" added. Returns the option character,
 * -1 at the end of options, PK_CLI_HELP (usage printed to stdout) or
 * PK_CLI_ERROR (error printed to stderr). Call with optind reset to 0 first
 * (pk_cli_reset()). */
int pk_cli_getopt(int argc, char **argv, const char *shortopts,
                  const struct option *longopts, const char *cmd,
                  const char *usage);
void pk_cli_reset(void);

/* Converts the result of a finished pk_cli_getopt loop into an exit status
 * (0 for --help, 64 for an error). */
int pk_cli_status(int opt);

/* Prints "pika CMD: <message> (see 'pika CMD --help')" to stderr; returns 64.
 */
int pk_cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prints "pika CMD: <message>" to stderr and returns `status`. */
int pk_cli_fail(const char *cmd, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes b as "12.3 MiB" (binary units) into buf. */
void pk_cli_human_bytes(uint64_t b, char *buf, size_t n);

#endif /* PIKA_CMD_CLI_H */
