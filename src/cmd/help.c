/* help.c — `pika help [COMMAND]`. */
#include <stdio.h>

#include "cmd/cli.h"
#include "cmd/commands.h"

const char cmd_help_usage[] =
    "usage: pika help [COMMAND]\n"
    "\n"
    "Without COMMAND, lists pika's commands and exit statuses; with one,\n"
    "prints that command's usage (the same as 'pika COMMAND --help').\n";

int cmd_help(int argc, char **argv) {
  pk_cli_reset();
  int c;
  while ((c = pk_cli_getopt(argc, argv, "", NULL, "help", cmd_help_usage)) !=
         -1)
    return pk_cli_status(c);
  if (optind == argc) {
    pk_print_main_help(stdout);
    return 0;
  }
  if (argc - optind > 1)
    return pk_cli_usage_error("help", "expected one command name, got %d",
                              argc - optind);
  const struct pk_command *cmd = pk_command_find(argv[optind]);
  if (!cmd)
    return pk_cli_usage_error("help", "unknown command '%s'", argv[optind]);
  fputs(cmd->usage, stdout);
  return 0;
}
