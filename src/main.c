/*
 * main.c — pika's entry point: dispatch argv[1] through the command table
 * (cmd/commands.h). Global options are only --help and --version; everything
 * else belongs to a subcommand.
 */
#include <stdio.h>
#include <string.h>

#include "cmd/commands.h"
#include "cmd/exit.h"

#define PK__CMD_ENTRY(name, summary)                                           \
  {#name, cmd_##name, summary, cmd_##name##_usage},
const struct pk_command pk_commands[] = {PK_COMMANDS(PK__CMD_ENTRY)};
#undef PK__CMD_ENTRY
const int pk_ncommands = (int)(sizeof pk_commands / sizeof pk_commands[0]);

const struct pk_command *pk_command_find(const char *name) {
  for (int i = 0; i < pk_ncommands; i++)
    if (strcmp(pk_commands[i].name, name) == 0)
      return &pk_commands[i];
  return NULL;
}

void pk_print_main_help(void *fp) {
  FILE *f = fp;
  fputs("pika — an offline data workbench\n\n"
        "usage: pika <command> [options] [args]\n"
        "       pika help <command>     usage of one command\n"
        "       pika --version\n\n"
        "commands:\n",
        f);
  for (int i = 0; i < pk_ncommands; i++)
    fprintf(f, "  %-10s %s\n", pk_commands[i].name, pk_commands[i].summary);
  fputs("\nexit status (sysexits.h):\n", f);
#define PK__EXIT_LINE(code, meaning) fprintf(f, "  %3d  %s\n", code, meaning);
  PK_EXIT_CODES(PK__EXIT_LINE)
#undef PK__EXIT_LINE
}

int main(int argc, char **argv) {
  if (argc < 2) {
    pk_print_main_help(stderr);
    return EX_USAGE;
  }
  const char *name = argv[1];
  if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
    pk_print_main_help(stdout);
    return EX_OK;
  }
  if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0)
    name = "version";
  else if (name[0] == '-') {
    fprintf(stderr, "pika: unknown option '%s' (see 'pika --help')\n", name);
    return EX_USAGE;
  }
  const struct pk_command *cmd = pk_command_find(name);
  if (!cmd) {
    fprintf(stderr, "pika: unknown command '%s' (see 'pika --help')\n", name);
    return EX_USAGE;
  }
  return cmd->run(argc - 1, argv + 1);
}
