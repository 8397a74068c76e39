/*
 * commands.h — the one table of pika's subcommands.
 *
 * PK_COMMANDS is the only place a command is listed: it generates the
 * declarations here and the dispatch table in main.c, so `pika --help`, the
 * dispatcher and `pika help CMD` cannot disagree (git's commands[] in git.c,
 * generated rather than written twice). Each command lives in
 * src/cmd/<name>.c and defines:
 *
 *   int cmd_<name>(int argc, char **argv);   argv[0] is the command's name
 *   extern const char cmd_<name>_usage[];    full usage text, ends in '\n'
 *
 * A command returns a process exit status (exit.h); it never calls exit().
 */
#ifndef PIKA_CMD_COMMANDS_H
#define PIKA_CMD_COMMANDS_H

/* X(name, one-line summary shown by `pika --help`) */
#define PK_COMMANDS(X)                                                         \
  X(pipe, "The adaptive pipeline: chunked, parallel, authenticated archives")  \
  X(import, "Import CSV, Parquet or JSON files into a workspace table")        \
  X(tables, "List the workspace's tables with row and column counts")          \
  X(schema, "Describe a table's columns: types, nulls, min, max, distinct")    \
  X(query, "Run SQL on the workspace or on files; print or save the result")   \
  X(plot, "Draw a table, file or query to PNG, SVG or PDF (no browser)")       \
  X(open, "Serve the browser UI on 127.0.0.1 and open it (imports SOURCEs)")   \
  X(doctor, "Check this machine: cores, storage, memory, runtime, DuckDB")     \
  X(version, "Print the versions of Pika, DuckDB and the main libraries")      \
  X(help, "Show the usage of pika or of one command")

#define PK__CMD_DECL(name, summary)                                            \
  int cmd_##name(int argc, char **argv);                                       \
  extern const char cmd_##name##_usage[];
PK_COMMANDS(PK__CMD_DECL)
#undef PK__CMD_DECL

struct pk_command {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary;
  const char *usage;
};

/* The table, in PK_COMMANDS order; NULL if `name` is not a command. */
const struct pk_command *pk_command_find(const char *name);
extern const struct pk_command pk_commands[];
extern const int pk_ncommands;

/* Writes `pika --help` (commands and exit codes) to f. */
void pk_print_main_help(void *f);

#endif /* PIKA_CMD_COMMANDS_H */
