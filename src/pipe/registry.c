/* registry.c — named pipelines in SQLite; see registry.h. */
#include "pipe/registry.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/paths.h"
#include "pipe/spec.h"

#define BUSY_TIMEOUT_MS 5000
/* PRAGMA application_id marks the file as pika's: 'Pika' in ASCII. */
#define APP_ID 0x50696B61
#define APP_ID_SQL "1349086049"
_Static_assert(APP_ID == 1349086049, "APP_ID_SQL must spell APP_ID");

/* migrations[v] takes a file from user_version v to v + 1. Append only:
 * a released step never changes, or files already past it diverge. */
static const char *const migrations[] = {
    "CREATE TABLE pipelines ("
    "  name TEXT PRIMARY KEY NOT NULL,"
    "  spec TEXT NOT NULL,"
    "  created INTEGER NOT NULL"
    ");"
    "PRAGMA application_id = " APP_ID_SQL ";"
    "PRAGMA user_version = 1;",
};
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

static const struct {
  const char *name, *spec;
} builtins[] = {{"fast", "lz4"},
                {"balanced", "zstd:3"},
                {"archive", "zstd:19"},
                {"secure", "zstd:3,xchacha20poly1305"}};
#define N_BUILTINS (sizeof builtins / sizeof builtins[0])

struct pk_registry {
  sqlite3 *db;
  char path[]; /* the database file */
};

static int builtin_index(const char *name) {
  for (size_t i = 0; i < N_BUILTINS; i++)
    if (!strcmp(builtins[i].name, name))
      return (int)i;
  return -1;
}

/* Maps an SQLite result to a PK_E* code. */
static int map_sqlite(sqlite3 *db, int rc) {
  switch (rc & 0xff) {
  case SQLITE_NOMEM:
    return PK_ENOMEM;
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    return PK_ETIMEDOUT;
  case SQLITE_NOTADB:
  case SQLITE_CORRUPT:
    return PK_ECORRUPT;
  case SQLITE_READONLY:
  case SQLITE_PERM:
  case SQLITE_AUTH:
    return PK_EPERM;
  case SQLITE_FULL:
    return PK_ENOSPC;
  case SQLITE_CONSTRAINT:
    return PK_EEXIST;
  case SQLITE_CANTOPEN: {
    int c = pk_err_from_errno(db ? sqlite3_system_errno(db) : 0);
    return c == PK_OK || c == PK_ESYS ? PK_EIO : c;
  }
  default:
    return PK_EIO;
  }
}

/* Fills e for a failed SQLite call on the database at path and returns the
 * code; `doing` says what pika was doing ("cannot list pipelines"). */
static int sql_fail(sqlite3 *db, const char *path, int rc, const char *doing,
                    pk_errmsg *e) {
  int err = map_sqlite(db, rc);
  const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  if (err == PK_ECORRUPT)
    return pk_errmsg_set(e, err,
                         "'%s' is not a usable pika pipelines database (%s); "
                         "move it aside and pika will start a new one",
                         path, msg);
  if (err == PK_ETIMEDOUT)
    return pk_errmsg_set(e, err,
                         "%s: '%s' stayed locked by another pika process for "
                         "%d s",
                         doing, path, BUSY_TIMEOUT_MS / 1000);
  return pk_errmsg_set(e, err, "%s: '%s': %s", doing, path, msg);
}

int pk_registry_default_path(char *buf, size_t cap, pk_errmsg *e) {
  return pk_data_file("pipelines.db", buf, cap, e);
}

/* Runs a one-row, one-column integer query such as "PRAGMA user_version". */
static int query_int(sqlite3 *db, const char *sql, int64_t *out) {
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
  if (rc != SQLITE_OK)
    return rc;
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    *out = sqlite3_column_int64(st, 0);
    rc = SQLITE_OK;
  }
  sqlite3_finalize(st);
  return rc;
}

/* Brings the schema to SCHEMA_VERSION. Runs inside BEGIN IMMEDIATE so that
 * of two processes opening a new file at once, the second waits and then
 * finds the work done. */
static int migrate(pk_registry *reg, pk_errmsg *e) {
  sqlite3 *db = reg->db;
  int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
  if (rc != SQLITE_OK)
    return sql_fail(db, reg->path, rc, "cannot open pipelines", e);
  int64_t app_id = 0, version = 0, objects = 0;
  int err = PK_OK;
  if ((rc = query_int(db, "PRAGMA application_id", &app_id)) != SQLITE_OK ||
      (rc = query_int(db, "PRAGMA user_version", &version)) != SQLITE_OK ||
      (rc = query_int(db, "SELECT count(*) FROM sqlite_master", &objects)) !=
          SQLITE_OK) {
    err = sql_fail(db, reg->path, rc, "cannot open pipelines", e);
  } else if (app_id != (version ? APP_ID : 0) ||
             (version == 0 && objects != 0)) {
    /* Every schema pika wrote sets the id; an empty file has neither. */
    err = pk_errmsg_set(e, PK_ECORRUPT,
                        "'%s' is an SQLite database of another program, not "
                        "pika's pipelines; move it aside or set PIKA_HOME",
                        reg->path);
  } else if (version > SCHEMA_VERSION) {
    err = pk_errmsg_set(e, PK_EUNSUPPORTED,
                        "'%s' was written by a newer pika (schema %lld; this "
                        "pika reads up to %d); upgrade pika",
                        reg->path, (long long)version, SCHEMA_VERSION);
  } else {
    for (int64_t v = version; v < SCHEMA_VERSION && !err; v++) {
      rc = sqlite3_exec(db, migrations[v], NULL, NULL, NULL);
      if (rc != SQLITE_OK)
        err = sql_fail(db, reg->path, rc, "cannot update pipelines schema", e);
    }
  }
  if (!err) {
    rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
      return PK_OK;
    err = sql_fail(db, reg->path, rc, "cannot open pipelines", e);
  }
  sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
  return err;
}

int pk_registry_open(const char *path, pk_registry **out, pk_errmsg *e) {
  *out = NULL;
  char def[4096];
  if (!path) {
    int err = pk_registry_default_path(def, sizeof def, e);
    if (!err)
      err = pk_make_parents(def, 0700, e);
    if (err)
      return err;
    path = def;
  }
  size_t len = strlen(path);
  pk_registry *reg = malloc(sizeof *reg + len + 1);
  if (!reg)
    return pk_errmsg_set(e, PK_ENOMEM, "out of memory");
  memcpy(reg->path, path, len + 1);
  reg->db = NULL;
  /* NOMUTEX: a handle is used by one thread at a time (see registry.h). */
  int rc = sqlite3_open_v2(
      path, &reg->db,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK) {
    int err = sql_fail(reg->db, path, rc, "cannot open pipelines", e);
    pk_registry_close(reg);
    return err;
  }
  sqlite3_busy_timeout(reg->db, BUSY_TIMEOUT_MS);
#ifdef SQLITE_DBCONFIG_DEFENSIVE
  /* The file is data, not code: no writable schema, no shadow-table edits. */
  sqlite3_db_config(reg->db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
#endif
#ifdef SQLITE_DBCONFIG_TRUSTED_SCHEMA
  sqlite3_db_config(reg->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, (int *)NULL);
#endif
  /* Most opens find the schema current: check with a plain read first, so
   * that `pika pipe list` never queues behind another process's write. */
  int64_t version = -1, app_id = -1;
  rc = query_int(reg->db, "PRAGMA user_version", &version);
  if (rc == SQLITE_OK)
    rc = query_int(reg->db, "PRAGMA application_id", &app_id);
  if (rc != SQLITE_OK) {
    int err = sql_fail(reg->db, path, rc, "cannot open pipelines", e);
    pk_registry_close(reg);
    return err;
  }
  if (version != SCHEMA_VERSION || app_id != APP_ID) {
    int err = migrate(reg, e);
    if (err) {
      pk_registry_close(reg);
      return err;
    }
  }
  *out = reg;
  return PK_OK;
}

void pk_registry_close(pk_registry *reg) {
  if (!reg)
    return;
  sqlite3_close(reg->db); /* every statement is finalized by then */
  free(reg);
}

const char *pk_registry_path(const pk_registry *reg) {
  return reg->path;
}

int pk_registry_validate_name(const char *name, pk_errmsg *e) {
  size_t n = strlen(name);
  if (n == 0)
    return pk_errmsg_set(e, PK_EINVAL, "a pipeline name cannot be empty");
  if (n > PK_REGISTRY_NAME_MAX)
    return pk_errmsg_set(e, PK_EINVAL,
                         "pipeline name '%.40s...' is longer than %d "
                         "characters",
                         name, PK_REGISTRY_NAME_MAX);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)name[i];
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-')
      continue;
    char shown[16];
    if (c == ' ')
      snprintf(shown, sizeof shown, "a space");
    else if (c > ' ' && c < 0x7f)
      snprintf(shown, sizeof shown, "'%c'", c);
    else
      snprintf(shown, sizeof shown, "byte 0x%02x", c);
    return pk_errmsg_set(e, PK_EINVAL,
                         "pipeline name '%s' contains %s; use letters, "
                         "digits, '_', '.' and '-'",
                         name, shown);
  }
  if (name[0] == '-')
    return pk_errmsg_set(e, PK_EINVAL,
                         "pipeline name '%s' cannot start with '-' (it would "
                         "read as an option)",
                         name);
  return PK_OK;
}

/* Parses and re-formats spec_text into canon[PK_REGISTRY_SPEC_MAX]. */
static int canonical_spec(const char *spec_text, char *canon, pk_errmsg *e) {
  pk_pipe_spec spec;
  int rc = pk_pipe_spec_parse(spec_text, &spec, e);
  if (rc)
    return rc;
  if (pk_pipe_spec_format(&spec, canon, PK_REGISTRY_SPEC_MAX) != PK_OK)
    return pk_errmsg_set(e, PK_ELIMIT, "stage list is too long");
  return PK_OK;
}

int pk_registry_create(pk_registry *reg, const char *name,
                       const char *spec_text, pk_errmsg *e) {
  int rc = pk_registry_validate_name(name, e);
  if (rc)
    return rc;
  if (builtin_index(name) >= 0)
    return pk_errmsg_set(
        e, PK_EEXIST, "'%s' is a built-in pipeline; choose another name", name);
  char canon[PK_REGISTRY_SPEC_MAX];
  if ((rc = canonical_spec(spec_text, canon, e)))
    return rc;
  sqlite3_stmt *st = NULL;
  int src = sqlite3_prepare_v2(
      reg->db, "INSERT INTO pipelines(name, spec, created) VALUES (?1, ?2, ?3)",
      -1, &st, NULL);
  if (src == SQLITE_OK) {
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, canon, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)time(NULL));
    src = sqlite3_step(st);
  }
  if (src == SQLITE_DONE)
    rc = PK_OK;
  else if ((src & 0xff) == SQLITE_CONSTRAINT)
    rc = pk_errmsg_set(e, PK_EEXIST,
                       "a pipeline named '%s' already exists (remove it "
                       "first with 'pika pipe delete %s')",
                       name, name);
  else
    rc = sql_fail(reg->db, reg->path, src, "cannot save pipeline", e);
  sqlite3_finalize(st);
  return rc;
}

static int copy_out(const char *spec, char *out, size_t cap, pk_errmsg *e) {
  size_t n = strlen(spec);
  if (n >= cap)
    return pk_errmsg_set(e, PK_ELIMIT, "pipeline spec is longer than %zu bytes",
                         cap - 1);
  memcpy(out, spec, n + 1);
  return PK_OK;
}

int pk_registry_get(pk_registry *reg, const char *name, char *spec_out,
                    size_t cap, pk_errmsg *e) {
  int rc = pk_registry_validate_name(name, e);
  if (rc)
    return rc;
  int b = builtin_index(name);
  if (b >= 0) {
    char canon[PK_REGISTRY_SPEC_MAX];
    if ((rc = canonical_spec(builtins[b].spec, canon, e)))
      return rc;
    return copy_out(canon, spec_out, cap, e);
  }
  sqlite3_stmt *st = NULL;
  int src = sqlite3_prepare_v2(
      reg->db, "SELECT spec FROM pipelines WHERE name = ?1", -1, &st, NULL);
  if (src == SQLITE_OK) {
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    src = sqlite3_step(st);
  }
  if (src == SQLITE_ROW) {
    const unsigned char *spec = sqlite3_column_text(st, 0);
    rc = copy_out(spec ? (const char *)spec : "", spec_out, cap, e);
  } else if (src == SQLITE_DONE) {
    rc = pk_errmsg_set(e, PK_ENOENT,
                       "no pipeline named '%s' (see 'pika pipe list')", name);
  } else {
    rc = sql_fail(reg->db, reg->path, src, "cannot read pipeline", e);
  }
  sqlite3_finalize(st);
  return rc;
}

typedef struct row {
  char *name, *spec;
  int64_t created;
} row;

static char *dup_text(const unsigned char *s) {
  return strdup(s ? (const char *)s : "");
}

int pk_registry_list(pk_registry *reg, pk_registry_list_fn fn, void *arg,
                     pk_errmsg *e) {
  /* One SELECT is one read transaction: a consistent snapshot, read whole
   * so that no lock is held while the callback prints. */
  row *rows = NULL;
  size_t n = 0, cap = 0;
  int rc = PK_OK;
  sqlite3_stmt *st = NULL;
  int src = sqlite3_prepare_v2(
      reg->db, "SELECT name, spec, created FROM pipelines ORDER BY name", -1,
      &st, NULL);
  while (src == SQLITE_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
    if (n == cap) {
      size_t ncap = cap ? 2 * cap : 16;
      row *nr = realloc(rows, ncap * sizeof *nr);
      if (!nr) {
        rc = pk_errmsg_set(e, PK_ENOMEM, "out of memory");
        break;
      }
      rows = nr;
      cap = ncap;
    }
    row *r = &rows[n];
    r->name = dup_text(sqlite3_column_text(st, 0));
    r->spec = dup_text(sqlite3_column_text(st, 1));
    r->created = sqlite3_column_int64(st, 2);
    n++;
    if (!r->name || !r->spec) {
      rc = pk_errmsg_set(e, PK_ENOMEM, "out of memory");
      break;
    }
    src = SQLITE_OK;
  }
  if (!rc && src != SQLITE_DONE)
    rc = sql_fail(reg->db, reg->path, src, "cannot list pipelines", e);
  sqlite3_finalize(st);

  for (size_t i = 0; !rc && i < N_BUILTINS; i++) {
    char canon[PK_REGISTRY_SPEC_MAX];
    rc = canonical_spec(builtins[i].spec, canon, e);
    if (!rc)
      rc = fn(builtins[i].name, canon, 0, 1, arg);
  }
  for (size_t i = 0; !rc && i < n; i++)
    if (builtin_index(rows[i].name) < 0) /* a built-in shadows a row */
      rc = fn(rows[i].name, rows[i].spec, rows[i].created, 0, arg);

  for (size_t i = 0; i < n; i++) {
    free(rows[i].name);
    free(rows[i].spec);
  }
  free(rows);
  return rc;
}

int pk_registry_delete(pk_registry *reg, const char *name, pk_errmsg *e) {
  int rc = pk_registry_validate_name(name, e);
  if (rc)
    return rc;
  if (builtin_index(name) >= 0)
    return pk_errmsg_set(
        e, PK_EPERM, "'%s' is a built-in pipeline and cannot be deleted", name);
  sqlite3_stmt *st = NULL;
  int src = sqlite3_prepare_v2(reg->db, "DELETE FROM pipelines WHERE name = ?1",
                               -1, &st, NULL);
  if (src == SQLITE_OK) {
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    src = sqlite3_step(st);
  }
  if (src == SQLITE_DONE)
    rc = sqlite3_changes(reg->db) ? PK_OK
                                  : pk_errmsg_set(e, PK_ENOENT,
                                                  "no pipeline named '%s' (see "
                                                  "'pika pipe list')",
                                                  name);
  else
    rc = sql_fail(reg->db, reg->path, src, "cannot delete pipeline", e);
  sqlite3_finalize(st);
  return rc;
}
