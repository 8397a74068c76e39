/* import.c — `pika import`: files into a workspace table; a thin wrapper over
 * engine/importer.h. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/archive_src.h"
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "cmd/dbwatch.h"
#include "cmd/exit.h"
#include "engine/db.h"
#include "engine/importer.h"

const char cmd_import_usage[] =
    "usage: pika import SOURCE... [--db FILE] [--table NAME] [--replace]\n"
    "                   [--delimiter C] [--quote C] [--escape C]\n"
    "                   [--header|--no-header] [--skip N] [--null STR]...\n"
    "                   [--type COL=TYPE]... [--date-format FMT] [--strict]\n"
    "                   [--password-file F | --key-file F]\n"
    "\n"
    "Imports files into one table of the workspace database\n"
    "($PIKA_HOME/workspace.duckdb, or --db FILE). Sources: CSV/TSV (the\n"
    "delimiter, quoting, header and types are detected), Parquet\n"
    "(.parquet), JSON or NDJSON (.json, .ndjson, .jsonl), each possibly\n"
    "compressed (.gz, .zst); several files or glob patterns ('logs/*.csv')\n"
    "go into one table, columns matched by name.\n"
    "\n"
    "An .adapipe archive (pika pipe process) is imported on its own, its\n"
    "format told by the stored original name (data.csv.adapipe is CSV).\n"
    "It is decoded and verified whole (every chunk and the digest) into an\n"
    "unnamed temporary file in the database's temp directory, which is\n"
    "read and then freed.\n"
    "A wrong password exits 77; a damaged or tampered archive exits 65 and\n"
    "creates no table.\n"
    "\n"
    "Columns of codes with leading zeros (zip codes) stay text. CSV rows that\n"
    "do not parse are not imported and are reported: how many, and the first\n"
    "few with their line numbers and the reason.\n"
    "\n"
    "options:\n"
    "  --db FILE          the database file\n"
    "  --table NAME       the table (default: from the first file's name)\n"
    "  --replace          replace an existing table of that name\n"
    "  --delimiter C      field delimiter (one character; 'tab' or '\\t')\n"
    "  --quote C          quote character\n"
    "  --escape C         escape character\n"
    "  --header, --no-header\n"
    "                     whether the first line names the columns\n"
    "  --skip N           skip N lines at the start\n"
    "  --null STR         read STR as NULL (repeatable)\n"
    "  --type COL=TYPE    read column COL as TYPE, e.g. id=VARCHAR "
    "(repeatable)\n"
    "  --date-format FMT  date format, e.g. %d/%m/%Y\n"
    "  --strict           any row that does not parse is an error (exit 65)\n"
    "                     and no table is created\n"
    "  --password-file F  an encrypted archive's password (or set\n"
    "                     PIKA_PASSWORD; otherwise a terminal prompt)\n"
    "  --key-file F       an archive's 32-byte key file\n";

/* Appends to a growing array of strings; false when out of memory. */
static bool push(const char ***arr, size_t *n, const char *s) {
  const char **a = realloc(*arr, (*n + 1) * sizeof *a);
  if (!a)
    return false;
  a[(*n)++] = s;
  *arr = a;
  return true;
}

/* The directory for an archive's decoded copy: DuckDB's temp directory
 * (created if missing: *made), else $TMPDIR or /tmp. */
static void temp_dir(pk_db_conn *c, char *buf, size_t cap, bool *made) {
  *made = false;
  buf[0] = '\0';
  duckdb_result res;
  if (duckdb_query(pk_db_conn_duckdb(c),
                   "SELECT current_setting('temp_directory')",
                   &res) == DuckDBSuccess) {
    char *v = duckdb_value_varchar(&res, 0, 0);
    if (v && *v)
      snprintf(buf, cap, "%s", v);
    duckdb_free(v);
  }
  duckdb_destroy_result(&res);
  if (buf[0]) {
    if (mkdir(buf, 0700) == 0)
      *made = true;
    else if (errno != EEXIST)
      buf[0] = '\0';
  }
  if (!buf[0]) {
    const char *t = getenv("TMPDIR");
    snprintf(buf, cap, "%s", t && *t ? t : "/tmp");
  }
}

int cmd_import(int argc, char **argv) {
  enum {
    O_DB = 256,
    O_TABLE,
    O_REPLACE,
    O_DELIM,
    O_QUOTE,
    O_ESCAPE,
    O_HEADER,
    O_NOHEADER,
    O_SKIP,
    O_NULL,
    O_TYPE,
    O_DATEFMT,
    O_STRICT,
    O_PASSFILE,
    O_KEYFILE
  };
  static const struct option opts[] = {
      {"db", required_argument, NULL, O_DB},
      {"table", required_argument, NULL, O_TABLE},
      {"replace", no_argument, NULL, O_REPLACE},
      {"delimiter", required_argument, NULL, O_DELIM},
      {"quote", required_argument, NULL, O_QUOTE},
      {"escape", required_argument, NULL, O_ESCAPE},
      {"header", no_argument, NULL, O_HEADER},
      {"no-header", no_argument, NULL, O_NOHEADER},
      {"skip", required_argument, NULL, O_SKIP},
      {"null", required_argument, NULL, O_NULL},
      {"type", required_argument, NULL, O_TYPE},
      {"date-format", required_argument, NULL, O_DATEFMT},
      {"strict", no_argument, NULL, O_STRICT},
      {"password-file", required_argument, NULL, O_PASSFILE},
      {"key-file", required_argument, NULL, O_KEYFILE},
      {0}};
  pk_import_opts o = {.header = -1, .skip = -1};
  pk_secret_source sec = {0};
  const char *dbpath = NULL;
  const char **nulls = NULL, **types = NULL;
  int status = -1;
  pk_cli_reset();
  int c;
  while (status < 0 && (c = pk_cli_getopt(argc, argv, "", opts, "import",
                                          cmd_import_usage)) != -1) {
    switch (c) {
    case O_DB:
      dbpath = optarg;
      break;
    case O_TABLE:
      o.table = optarg;
      break;
    case O_REPLACE:
      o.replace = true;
      break;
    case O_DELIM:
      o.delimiter = optarg;
      break;
    case O_QUOTE:
      o.quote = optarg;
      break;
    case O_ESCAPE:
      o.escape = optarg;
      break;
    case O_HEADER:
      o.header = 1;
      break;
    case O_NOHEADER:
      o.header = 0;
      break;
    case O_SKIP: {
      char *end;
      long long v = strtoll(optarg, &end, 10);
      if (*end || !*optarg || v < 0)
        status = pk_cli_usage_error("import", "--skip takes a count, not '%s'",
                                    optarg);
      o.skip = v;
      break;
    }
    case O_NULL:
      if (!push(&nulls, &o.nnulls, optarg))
        status = pk_cli_fail("import", EX_OSERR, "out of memory");
      break;
    case O_TYPE:
      if (!strchr(optarg, '='))
        status = pk_cli_usage_error("import", "--type takes COL=TYPE, not '%s'",
                                    optarg);
      else if (!push(&types, &o.ntypes, optarg))
        status = pk_cli_fail("import", EX_OSERR, "out of memory");
      break;
    case O_DATEFMT:
      o.date_format = optarg;
      break;
    case O_STRICT:
      o.strict = true;
      break;
    case O_PASSFILE:
      sec.password_file = optarg;
      break;
    case O_KEYFILE:
      sec.key_file = optarg;
      break;
    default:
      status = pk_cli_status(c);
      break;
    }
  }
  if (status < 0 && optind >= argc)
    status = pk_cli_usage_error("import", "no SOURCE given");
  if (status >= 0) {
    free(nulls);
    free(types);
    return status;
  }
  o.sources = (const char *const *)&argv[optind];
  o.nsources = (size_t)(argc - optind);
  o.nulls = nulls;
  o.types = types;
  const char *archive = NULL;
  for (size_t i = 0; i < o.nsources; i++)
    if (pk_archive_src_is(o.sources[i]))
      archive = o.sources[i];
  if (archive && o.nsources > 1)
    status = pk_cli_usage_error("import",
                                "an .adapipe archive is imported on its own");
  else if (!archive && (sec.password_file || sec.key_file))
    status = pk_cli_usage_error("import", "--password-file and --key-file "
                                          "are for .adapipe archives");
  if (status >= 0) {
    free(nulls);
    free(types);
    return status;
  }

  pk_errmsg e = {{0}};
  pk_archive_src *as = NULL;
  char table[256];
  int err = PK_OK;
  if (archive) {
    /* The password first: a prompt must not wait behind the database. */
    err = pk_archive_src_open(archive, &sec, &as, &e);
    if (err) {
      pk_archive_src_close(as);
      free(nulls);
      free(types);
      if (err == PK_ENOENT || err == PK_EPERM)
        return pk_cli_fail("import", pk_exit_code(err), "%s", e.text);
      return pk_cli_fail("import", pk_exit_code(err), "%s: %s", archive,
                         e.text);
    }
    if (!o.table) {
      pk_import_table_name(archive, table, sizeof table);
      o.table = table;
    }
  }
  pk_db *db = NULL;
  pk_db_config cfg = {.path = dbpath, .readers = 1};
  err = pk_db_open(&cfg, &db, &e);
  if (err) {
    pk_archive_src_close(as);
    free(nulls);
    free(types);
    return pk_cli_fail("import", pk_exit_code(err), "%s", e.text);
  }
  pk_db_conn *conn = NULL;
  pk_db_acquire(db, PK_DB_WRITER, &conn);
  pk_cli_dbwatch dw;
  pk_cli_dbwatch_start(&dw, conn);

  char tdir[4096];
  bool made_tdir = false;
  const char *served = NULL;
  char served_buf[8192];
  if (as) {
    temp_dir(conn, tdir, sizeof tdir, &made_tdir);
    err = pk_archive_src_start(as, tdir, pk_cli_dbwatch_flag(), &e);
    snprintf(served_buf, sizeof served_buf, "%s", pk_archive_src_path(as));
    served = served_buf; /* outlives the source, for the rejects' names */
    o.sources = &served;
    o.format = pk_archive_src_format(as);
    o.compression = pk_archive_src_compression(as);
    o.before_commit = pk_archive_src_check;
    o.before_commit_arg = as;
  }
  pk_import_result r;
  if (!err)
    err = pk_import(conn, &o, &r, &e);
  pk_errmsg ae = {{0}};
  int aerr = as ? pk_archive_src_error(as, &ae) : PK_OK;
  pk_archive_src_close(as);

  bool interrupted = pk_cli_dbwatch_stop(&dw, conn);
  pk_cli_dbwatch_end(&dw);
  pk_db_release(conn);
  pk_db_close(db);
  if (made_tdir)
    rmdir(tdir);
  free(nulls);
  free(types);

  if (aerr)
    return pk_cli_fail("import", pk_exit_code(aerr),
                       "%s: %s; nothing was imported", archive, ae.text);
  if (interrupted && err)
    return pk_cli_fail("import", PK_EXIT_INTERRUPTED,
                       "interrupted; nothing was imported");
  if (err == PK_EINVAL)
    return pk_cli_fail("import", EX_DATAERR, "%s", e.text);
  if (err == PK_EEXIST)
    return pk_cli_fail("import", EX_CANTCREAT, "%s", e.text);
  if (err)
    return pk_cli_fail("import", pk_exit_code(err), "%s", e.text);

  printf("imported %llu row%s, %llu column%s into table '%s' from %zu "
         "file%s (%s) in %.2f s\n",
         (unsigned long long)r.rows, r.rows == 1 ? "" : "s",
         (unsigned long long)r.columns, r.columns == 1 ? "" : "s", r.table,
         r.files, r.files == 1 ? "" : "s", r.kind, (double)r.ns / 1e9);
  if (r.text_columns[0])
    printf("kept as text (codes): %s\n", r.text_columns);
  if (r.rejected) {
    fprintf(stderr,
            "pika import: %llu line%s rejected (not imported); the first:\n",
            (unsigned long long)r.rejected, r.rejected == 1 ? "" : "s");
    for (size_t i = 0; i < r.nshown; i++) {
      const pk_import_reject *j = &r.shown[i];
      fprintf(stderr, "  %s:%lld: %s%s%s%s\n",
              served && !strcmp(j->file, served) ? archive : j->file,
              (long long)j->line, j->column[0] ? "column " : "", j->column,
              j->column[0] ? ": " : "", j->reason);
    }
    if (r.rejected > r.nshown)
      fprintf(stderr,
              "  ... and %llu more; --strict makes any bad row an "
              "error\n",
              (unsigned long long)(r.rejected - r.nshown));
  }
  return EX_OK;
}
