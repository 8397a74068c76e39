/* test_registry.c — named pipelines in SQLite (src/pipe/registry.h). */
#include "pipe/registry.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pipe/spec.h"
#include "test.h"

static char tmp[256];  /* this run's scratch directory */
static char home[300]; /* $PIKA_HOME, not yet created at start */

static void path_in(char *buf, size_t cap, const char *name) {
  snprintf(buf, cap, "%s/%s", tmp, name);
}

/* The canonical text of a SPEC, as the spec module formats it today. */
static const char *canon(const char *text) {
  static char buf[4][PK_REGISTRY_SPEC_MAX];
  static int next;
  char *out = buf[next++ % 4];
  pk_pipe_spec spec;
  pk_errmsg e;
  ASSERT_OK(pk_pipe_spec_parse(text, &spec, &e));
  ASSERT_OK(pk_pipe_spec_format(&spec, out, PK_REGISTRY_SPEC_MAX));
  return out;
}

static pk_registry *open_default(void) {
  pk_registry *reg = NULL;
  pk_errmsg e = {{0}};
  int rc = pk_registry_open(NULL, &reg, &e);
  if (rc)
    fprintf(stderr, "open: %s\n", e.text);
  ASSERT_OK(rc);
  return reg;
}

static void test_default_path(void) {
  char buf[512];
  pk_errmsg e;
  const char *saved_home = getenv("HOME");
  char keep[300];
  snprintf(keep, sizeof keep, "%s", saved_home ? saved_home : "");

  unsetenv("PIKA_HOME");
  setenv("XDG_DATA_HOME", "/data/x", 1);
  ASSERT_OK(pk_registry_default_path(buf, sizeof buf, &e));
  ASSERT_STREQ(buf, "/data/x/pika/pipelines.db");
  setenv("XDG_DATA_HOME", "relative/dir", 1); /* void per the XDG spec */
  setenv("HOME", "/home/u", 1);
  ASSERT_OK(pk_registry_default_path(buf, sizeof buf, &e));
  ASSERT_STREQ(buf, "/home/u/.local/share/pika/pipelines.db");
  unsetenv("XDG_DATA_HOME");
  unsetenv("HOME");
  ASSERT_ERR(pk_registry_default_path(buf, sizeof buf, &e), PK_EINVAL);
  ASSERT(strstr(e.text, "PIKA_HOME"));
  ASSERT_ERR(pk_registry_default_path(buf, 4, &e), PK_EINVAL);

  setenv("HOME", keep, 1);
  setenv("PIKA_HOME", home, 1);
  ASSERT_OK(pk_registry_default_path(buf, sizeof buf, &e));
  char want[400];
  snprintf(want, sizeof want, "%s/pipelines.db", home);
  ASSERT_STREQ(buf, want);
  ASSERT_ERR(pk_registry_default_path(buf, 8, &e), PK_ELIMIT);
}

/* Opening the default database creates $PIKA_HOME (0700) and the file. */
static void test_open_creates(void) {
  struct stat st;
  ASSERT_NE(stat(home, &st), 0);
  pk_registry *reg = open_default();
  ASSERT_OK(stat(home, &st));
  ASSERT(S_ISDIR(st.st_mode));
  ASSERT_EQ(st.st_mode & 0777, 0700);
  char db[400];
  snprintf(db, sizeof db, "%s/pipelines.db", home);
  ASSERT_STREQ(pk_registry_path(reg), db);
  ASSERT_OK(stat(db, &st));
  pk_registry_close(reg);
  pk_registry_close(NULL);
}

static void test_create_get_delete(void) {
  pk_registry *reg = open_default();
  pk_errmsg e = {{0}};
  char spec[PK_REGISTRY_SPEC_MAX];

  ASSERT_OK(pk_registry_create(reg, "nightly", "zstd:9, aes256gcm", &e));
  ASSERT_OK(pk_registry_get(reg, "nightly", spec, sizeof spec, &e));
  ASSERT_STREQ(spec, canon("zstd:9,aes256gcm"));
  ASSERT(strstr(spec, "xxh3-128")); /* canonical: the default digest named */
  ASSERT_OK(pk_registry_create(reg, "b64.v2_x-y", "base64,sha256", &e));
  ASSERT_OK(pk_registry_get(reg, "b64.v2_x-y", spec, sizeof spec, &e));
  ASSERT_STREQ(spec, canon("base64,sha256"));

  ASSERT_ERR(pk_registry_create(reg, "nightly", "lz4", &e), PK_EEXIST);
  ASSERT(strstr(e.text, "'nightly' already exists"));
  ASSERT_OK(pk_registry_get(reg, "nightly", spec, sizeof spec, &e));
  ASSERT_STREQ(spec, canon("zstd:9,aes256gcm"));            /* unchanged */
  ASSERT_OK(pk_registry_create(reg, "Nightly", "lz4", &e)); /* case counts */

  ASSERT_ERR(pk_registry_get(reg, "nightly", spec, 8, &e), PK_ELIMIT);
  ASSERT_ERR(pk_registry_get(reg, "missing", spec, sizeof spec, &e), PK_ENOENT);
  ASSERT_STREQ(e.text, "no pipeline named 'missing' (see 'pika pipe list')");

  ASSERT_OK(pk_registry_delete(reg, "nightly", &e));
  ASSERT_ERR(pk_registry_get(reg, "nightly", spec, sizeof spec, &e), PK_ENOENT);
  ASSERT_ERR(pk_registry_delete(reg, "nightly", &e), PK_ENOENT);
  ASSERT(strstr(e.text, "no pipeline named 'nightly'"));
  ASSERT_ERR(pk_registry_delete(reg, "nightly", NULL), PK_ENOENT);
  /* The name is free again. */
  ASSERT_OK(pk_registry_create(reg, "nightly", "gzip:6", &e));
  ASSERT_OK(pk_registry_delete(reg, "nightly", &e));
  ASSERT_OK(pk_registry_delete(reg, "Nightly", &e));
  ASSERT_OK(pk_registry_delete(reg, "b64.v2_x-y", &e));
  pk_registry_close(reg);
}

static void test_bad_names(void) {
  pk_registry *reg = open_default();
  pk_errmsg e = {{0}};
  char spec[PK_REGISTRY_SPEC_MAX];
  char long_name[80];
  memset(long_name, 'a', 65);
  long_name[65] = '\0';
  const char *bad[] = {"",       "a b", "a/b",    "-x", "caf\xc3\xa9",
                       "x;DROP", "a'b", long_name};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ASSERT_ERR(pk_registry_validate_name(bad[i], &e), PK_EINVAL);
    ASSERT_ERR(pk_registry_create(reg, bad[i], "lz4", &e), PK_EINVAL);
    ASSERT(strstr(e.text, "name"));
    ASSERT_ERR(pk_registry_get(reg, bad[i], spec, sizeof spec, &e), PK_EINVAL);
    ASSERT_ERR(pk_registry_delete(reg, bad[i], &e), PK_EINVAL);
  }
  ASSERT_OK(pk_registry_validate_name("b", &e));
  ASSERT_ERR(pk_registry_validate_name("a b", &e), PK_EINVAL);
  ASSERT(strstr(e.text, "contains a space"));
  ASSERT_ERR(pk_registry_validate_name("a\tb", &e), PK_EINVAL);
  ASSERT(strstr(e.text, "byte 0x09"));
  ASSERT_ERR(pk_registry_validate_name("a/b", &e), PK_EINVAL);
  ASSERT(strstr(e.text, "'/'"));
  long_name[64] = '\0'; /* exactly 64 is fine */
  ASSERT_OK(pk_registry_create(reg, long_name, "lz4", &e));
  ASSERT_OK(pk_registry_delete(reg, long_name, &e));
  pk_registry_close(reg);
}

/* A bad SPEC is refused with exactly the spec parser's message. */
static void test_bad_specs(void) {
  pk_registry *reg = open_default();
  const char *bad[] = {"aes256gcm,zstd", "zstd,lz4", "bogus",
                       "zstd:99",        "",         "lz4,base64"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    pk_errmsg want = {{0}}, got = {{0}};
    pk_pipe_spec spec;
    ASSERT_ERR(pk_pipe_spec_parse(bad[i], &spec, &want), PK_EINVAL);
    ASSERT_ERR(pk_registry_create(reg, "x", bad[i], &got), PK_EINVAL);
    ASSERT_STREQ(got.text, want.text);
  }
  char spec[PK_REGISTRY_SPEC_MAX];
  pk_errmsg e;
  ASSERT_ERR(pk_registry_get(reg, "x", spec, sizeof spec, &e), PK_ENOENT);
  pk_registry_close(reg);
}

typedef struct listing {
  int n, builtins;
  char names[64][PK_REGISTRY_NAME_MAX + 1];
  char specs[64][PK_REGISTRY_SPEC_MAX];
  int64_t created[64];
  int builtin[64];
  int stop_after; /* return 7 from this call on, if non-zero */
} listing;

static int collect(const char *name, const char *spec, int64_t created,
                   int builtin, void *arg) {
  listing *l = arg;
  ASSERT_LT(l->n, 64);
  snprintf(l->names[l->n], sizeof l->names[0], "%s", name);
  snprintf(l->specs[l->n], sizeof l->specs[0], "%s", spec);
  l->created[l->n] = created;
  l->builtin[l->n] = builtin;
  l->builtins += builtin;
  l->n++;
  return l->stop_after && l->n >= l->stop_after ? 7 : 0;
}

static int find(const listing *l, const char *name) {
  for (int i = 0; i < l->n; i++)
    if (!strcmp(l->names[i], name))
      return i;
  return -1;
}

static void test_builtins_and_list(void) {
  pk_registry *reg = open_default();
  pk_errmsg e = {{0}};
  char spec[PK_REGISTRY_SPEC_MAX];

  ASSERT_OK(pk_registry_get(reg, "fast", spec, sizeof spec, &e));
  ASSERT_STREQ(spec, canon("lz4"));
  ASSERT_OK(pk_registry_get(reg, "balanced", spec, sizeof spec, &e));
  ASSERT_STREQ(spec, canon("zstd:3"));
  ASSERT_OK(pk_registry_get(reg, "archive", spec, sizeof spec, &e));
  ASSERT_STREQ(spec, canon("zstd:19"));
  ASSERT_OK(pk_registry_get(reg, "secure", spec, sizeof spec, &e));
  ASSERT_STREQ(spec, canon("zstd:3,xchacha20poly1305"));

  ASSERT_ERR(pk_registry_delete(reg, "fast", &e), PK_EPERM);
  ASSERT(strstr(e.text, "built-in"));
  ASSERT_ERR(pk_registry_create(reg, "secure", "lz4", &e), PK_EEXIST);
  ASSERT(strstr(e.text, "built-in"));
  ASSERT_OK(pk_registry_get(reg, "secure", spec, sizeof spec, &e));
  ASSERT_STREQ(spec, canon("zstd:3,xchacha20poly1305"));

  int64_t before = (int64_t)time(NULL);
  ASSERT_OK(pk_registry_create(reg, "zeta", "brotli:5", &e));
  ASSERT_OK(pk_registry_create(reg, "alpha", "pii,lz4hc:9,sha256", &e));
  int64_t after = (int64_t)time(NULL);

  static listing l;
  memset(&l, 0, sizeof l);
  ASSERT_OK(pk_registry_list(reg, collect, &l, &e));
  ASSERT_EQ(l.n, 6);
  ASSERT_EQ(l.builtins, 4);
  /* Built-ins first, in their fixed order, then by name. */
  ASSERT_STREQ(l.names[0], "fast");
  ASSERT_STREQ(l.names[3], "secure");
  ASSERT_EQ(l.builtin[0], 1);
  ASSERT_EQ(l.created[0], 0);
  ASSERT_STREQ(l.names[4], "alpha");
  ASSERT_STREQ(l.names[5], "zeta");
  int a = find(&l, "alpha");
  ASSERT_EQ(l.builtin[a], 0);
  ASSERT_STREQ(l.specs[a], canon("pii,lz4hc:9,sha256"));
  ASSERT_GE(l.created[a], before);
  ASSERT_LE(l.created[a], after);

  /* A non-zero return stops the listing and comes back. */
  memset(&l, 0, sizeof l);
  l.stop_after = 2;
  ASSERT_EQ(pk_registry_list(reg, collect, &l, &e), 7);
  ASSERT_EQ(l.n, 2);
  pk_registry_close(reg);
}

/* Stored pipelines survive close and reopen, also by explicit path. */
static void test_persistence(void) {
  pk_registry *reg = open_default();
  pk_errmsg e = {{0}};
  char spec[PK_REGISTRY_SPEC_MAX];
  ASSERT_OK(pk_registry_create(reg, "kept", "gzip:9,chacha20poly1305", &e));
  pk_registry_close(reg);

  char db[400];
  snprintf(db, sizeof db, "%s/pipelines.db", home);
  ASSERT_OK(pk_registry_open(db, &reg, &e));
  ASSERT_OK(pk_registry_get(reg, "kept", spec, sizeof spec, &e));
  ASSERT_STREQ(spec, canon("gzip:9,chacha20poly1305"));
  ASSERT_OK(pk_registry_get(reg, "zeta", spec, sizeof spec, &e));
  ASSERT_STREQ(spec, canon("brotli:5"));
  pk_registry_close(reg);

  /* The file carries its schema version and pika's application id. */
  sqlite3 *db3 = NULL;
  ASSERT_EQ(sqlite3_open_v2(db, &db3, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  sqlite3_stmt *st = NULL;
  ASSERT_EQ(sqlite3_prepare_v2(db3, "PRAGMA user_version", -1, &st, NULL),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  ASSERT_EQ(sqlite3_column_int(st, 0), 1);
  sqlite3_finalize(st);
  sqlite3_close(db3);
}

static void write_file(const char *path, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  ASSERT(f);
  ASSERT_EQ(fwrite(data, 1, n, f), n);
  ASSERT_EQ(fclose(f), 0);
}

static void exec_sql(const char *path, const char *sql) {
  sqlite3 *db = NULL;
  ASSERT_EQ(sqlite3_open(path, &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
}

/* Files that are not our database give a clear error, not a crash. */
static void test_bad_files(void) {
  pk_registry *reg = NULL;
  pk_errmsg e = {{0}};
  char path[400];

  path_in(path, sizeof path, "garbage.db");
  char junk[8192];
  for (size_t i = 0; i < sizeof junk; i++)
    junk[i] = (char)(i * 7919u >> 3);
  write_file(path, junk, sizeof junk);
  ASSERT_ERR(pk_registry_open(path, &reg, &e), PK_ECORRUPT);
  ASSERT(reg == NULL);
  ASSERT(strstr(e.text, path));
  ASSERT(strstr(e.text, "move it aside"));

  /* A real database header followed by garbage pages. */
  path_in(path, sizeof path, "truncated.db");
  exec_sql(path, "CREATE TABLE t(x); INSERT INTO t VALUES (1);");
  FILE *f = fopen(path, "r+b");
  ASSERT(f);
  ASSERT_EQ(fseek(f, 100, SEEK_SET), 0);
  ASSERT_EQ(fwrite(junk, 1, 3000, f), 3000);
  ASSERT_EQ(fclose(f), 0);
  int rc = pk_registry_open(path, &reg, &e);
  ASSERT(rc == PK_ECORRUPT);
  ASSERT(strstr(e.text, path));

  /* Another program's SQLite file. */
  path_in(path, sizeof path, "other.db");
  exec_sql(path, "CREATE TABLE photos(id INTEGER PRIMARY KEY)");
  ASSERT_ERR(pk_registry_open(path, &reg, &e), PK_ECORRUPT);
  ASSERT(strstr(e.text, "another program"));

  /* ... also when it happens to carry a user_version. */
  path_in(path, sizeof path, "other2.db");
  exec_sql(path, "CREATE TABLE pipelines(x); PRAGMA user_version = 1;");
  ASSERT_ERR(pk_registry_open(path, &reg, &e), PK_ECORRUPT);
  ASSERT(strstr(e.text, "another program"));

  /* A file from a newer pika. */
  path_in(path, sizeof path, "newer.db");
  ASSERT_OK(pk_registry_open(path, &reg, &e));
  pk_registry_close(reg);
  exec_sql(path, "PRAGMA user_version = 99");
  ASSERT_ERR(pk_registry_open(path, &reg, &e), PK_EUNSUPPORTED);
  ASSERT(strstr(e.text, "newer pika"));

  /* An explicit path in a missing directory, and a directory. */
  path_in(path, sizeof path, "no/such/dir/p.db");
  ASSERT_ERR(pk_registry_open(path, &reg, &e), PK_ENOENT);
  ASSERT(strstr(e.text, path));
  rc = pk_registry_open(tmp, &reg, &e);
  ASSERT(rc != PK_OK);
  ASSERT(reg == NULL);

  /* $PIKA_HOME naming a file. */
  path_in(path, sizeof path, "garbage.db");
  setenv("PIKA_HOME", path, 1);
  ASSERT_ERR(pk_registry_open(NULL, &reg, &e), PK_ENOENT);
  ASSERT(strstr(e.text, "not a directory"));
  setenv("PIKA_HOME", home, 1);
}

static int count(const char *name, const char *spec, int64_t created,
                 int builtin, void *arg) {
  (void)name, (void)spec, (void)created;
  ((int *)arg)[builtin ? 1 : 0]++;
  return 0;
}

/* Several processes writing at once: the busy timeout serializes them. */
static void test_concurrent_processes(void) {
  char dir[400];
  path_in(dir, sizeof dir, "shared-home");
  setenv("PIKA_HOME", dir, 1); /* fresh: the children race to create it */
  enum { KIDS = 4, EACH = 25 };
  pid_t pids[KIDS];
  for (int k = 0; k < KIDS; k++) {
    pids[k] = fork();
    ASSERT(pids[k] >= 0);
    if (pids[k] == 0) {
      int fails = 0;
      for (int i = 0; i < EACH; i++) {
        pk_registry *reg = NULL;
        pk_errmsg e = {{0}};
        char name[32];
        snprintf(name, sizeof name, "p%d-%d", k, i);
        if (pk_registry_open(NULL, &reg, &e) != PK_OK ||
            pk_registry_create(reg, name, i % 2 ? "lz4" : "zstd:1", &e) !=
                PK_OK) {
          fprintf(stderr, "child %d: %s\n", k, e.text);
          fails++;
        }
        pk_registry_close(reg);
      }
      _exit(fails ? 1 : 0);
    }
  }
  for (int k = 0; k < KIDS; k++) {
    int status = 0;
    ASSERT_EQ(waitpid(pids[k], &status, 0), pids[k]);
    ASSERT(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 0);
  }
  pk_registry *reg = open_default();
  int counts[2] = {0, 0}; /* stored, built-in */
  pk_errmsg e;
  ASSERT_OK(pk_registry_list(reg, count, counts, &e));
  ASSERT_EQ(counts[0], KIDS * EACH);
  ASSERT_EQ(counts[1], 4);
  char spec[PK_REGISTRY_SPEC_MAX];
  ASSERT_OK(pk_registry_get(reg, "p3-24", spec, sizeof spec, &e));
  ASSERT_STREQ(spec, canon("zstd:1"));
  pk_registry_close(reg);
  setenv("PIKA_HOME", home, 1);
}

int main(void) {
  snprintf(tmp, sizeof tmp, "/tmp/pika-test-registry-XXXXXX");
  ASSERT(mkdtemp(tmp));
  snprintf(home, sizeof home, "%s/home", tmp);
  setenv("PIKA_HOME", home, 1);
  RUN(test_default_path);
  RUN(test_open_creates);
  RUN(test_create_get_delete);
  RUN(test_bad_names);
  RUN(test_bad_specs);
  RUN(test_builtins_and_list);
  RUN(test_persistence);
  RUN(test_bad_files);
  RUN(test_concurrent_processes);
  char cmd[400];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
  return system(cmd) == 0 ? 0 : 1;
}
