/* test_config.c — pipeline config files and sizes (src/pipe/config.h). */
#include "pipe/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"

static char tmp[256];

/* Writes text to tmp/name and returns the path (static, one at a time). */
static const char *file(const char *name, const char *text) {
  static char path[400];
  snprintf(path, sizeof path, "%s/%s", tmp, name);
  FILE *f = fopen(path, "wb");
  ASSERT(f);
  ASSERT_EQ(fwrite(text, 1, strlen(text), f), strlen(text));
  ASSERT_EQ(fclose(f), 0);
  return path;
}

static const char *canon(const char *text) {
  static char buf[PK_REGISTRY_SPEC_MAX];
  pk_pipe_spec spec;
  pk_errmsg e;
  ASSERT_OK(pk_pipe_spec_parse(text, &spec, &e));
  ASSERT_OK(pk_pipe_spec_format(&spec, buf, sizeof buf));
  return buf;
}

static void load_ok(const char *name, const char *text, pk_pipe_config *c) {
  pk_errmsg e = {{0}};
  int rc = pk_config_load(file(name, text), c, &e);
  if (rc)
    fprintf(stderr, "unexpected: %s\n", e.text);
  ASSERT_OK(rc);
}

/* Loads a bad file: the code, then every fragment the message must hold;
 * "@" in a fragment stands for the file's path. */
static void load_bad(const char *name, const char *text, int code,
                     const char *frag1, const char *frag2) {
  pk_errmsg e = {{0}};
  pk_pipe_config c;
  const char *path = file(name, text);
  int rc = pk_config_load(path, &c, &e);
  fprintf(stderr, "   %s\n", e.text);
  ASSERT_ERR(rc, code);
  const char *frags[] = {frag1, frag2};
  for (int i = 0; i < 2; i++) {
    if (!frags[i])
      continue;
    char want[600];
    if (frags[i][0] == '@')
      snprintf(want, sizeof want, "%s%s", path, frags[i] + 1);
    else
      snprintf(want, sizeof want, "%s", frags[i]);
    if (!strstr(e.text, want))
      TEST_FAIL_("message \"%s\" lacks \"%s\"", e.text, want);
  }
  ASSERT_EQ(c.workers, 0); /* *out is cleared on failure */
  ASSERT_EQ(c.spec_text[0], '\0');
}

static void test_parse_size(void) {
  static const struct {
    const char *text;
    uint64_t want;
  } ok[] = {{"64KiB", 65536},
            {"4M", 4194304},
            {"1048576", 1048576},
            {"0", 0},
            {"1k", 1024},
            {"4 MiB", 4 << 20},
            {"4mib", 4 << 20},
            {"2MB", 2 << 20},
            {"512B", 512},
            {"1.5GiB", 1610612736},
            {"0.5K", 512},
            {"3G", (uint64_t)3 << 30},
            {"2TiB", (uint64_t)2 << 40},
            {"18446744073709551615", UINT64_MAX}};
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    uint64_t v = 1;
    pk_errmsg e = {{0}};
    int rc = pk_parse_size(ok[i].text, &v, &e);
    if (rc)
      fprintf(stderr, "%s: %s\n", ok[i].text, e.text);
    ASSERT_OK(rc);
    ASSERT_UEQ(v, ok[i].want);
  }
  static const struct {
    const char *text, *frag;
  } bad[] = {{"", "expected a number"},
             {"-1", "negative"},
             {"abc", "expected a number"},
             {"4XB", "unknown unit 'XB'"},
             {"4 M B", "unknown unit"},
             {"1.5B", "whole number"},
             {"0.1K", "whole number"},
             {"1.", "digits after"},
             {".5M", "expected a number"},
             {"1.0000001M", "decimal places"},
             {"18446744073709551616", "too large"},
             {"16777216T", "too large"},
             {"17179869184G", "too large"},
             {"+4", "expected a number"}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    uint64_t v = 1;
    pk_errmsg e = {{0}};
    ASSERT_ERR(pk_parse_size(bad[i].text, &v, &e), PK_EINVAL);
    if (!strstr(e.text, bad[i].frag))
      TEST_FAIL_("'%s': \"%s\" lacks \"%s\"", bad[i].text, e.text, bad[i].frag);
  }
}

static void test_valid_toml(void) {
  pk_pipe_config c;
  load_ok("nightly.toml",
          "# the nightly backup\n"
          "name = \"nightly\"\n"
          "stages = [\"zstd:9\", \"aes256gcm\", \"sha256\"]\n"
          "chunk_size = \"4MiB\"\n"
          "workers = 2\n",
          &c);
  ASSERT_STREQ(c.name, "nightly");
  ASSERT_STREQ(c.spec_text, canon("zstd:9,aes256gcm,sha256"));
  ASSERT_EQ(c.spec.n_stages, 2);
  ASSERT_UEQ(c.chunk_size, 4 << 20);
  ASSERT_EQ(c.workers, 2);

  /* stages as one SPEC string, a size in bytes, multi-line TOML; optional
   * keys absent. */
  load_ok("min.TOML",
          "stages = 'pii, lz4'\n"
          "chunk_size = 65536\n",
          &c);
  ASSERT_STREQ(c.name, "");
  ASSERT_STREQ(c.spec_text, canon("pii,lz4"));
  ASSERT_UEQ(c.chunk_size, 65536);
  ASSERT_EQ(c.workers, 0);
  load_ok("multi.toml",
          "stages = [\n"
          "  \"base64\",   # first\n"
          "  \"gzip:6\",\n"
          "]\n",
          &c);
  ASSERT_STREQ(c.spec_text, canon("base64,gzip:6"));
  ASSERT_UEQ(c.chunk_size, 0);
}

static void test_valid_json(void) {
  pk_pipe_config c;
  load_ok("nightly.json",
          "{\"name\": \"nightly\", \"stages\": [\"zstd:9\", \"aes256gcm\"],\n"
          " \"chunk_size\": \"4MiB\", \"workers\": 2}\n",
          &c);
  ASSERT_STREQ(c.name, "nightly");
  ASSERT_STREQ(c.spec_text, canon("zstd:9,aes256gcm"));
  ASSERT_UEQ(c.chunk_size, 4 << 20);
  ASSERT_EQ(c.workers, 2);
  load_ok("one.JSON", "{\"stages\": \"lz4hc:9,blake2b\", \"workers\": 1024}",
          &c);
  ASSERT_STREQ(c.spec_text, canon("lz4hc:9,blake2b"));
  ASSERT_EQ(c.workers, 1024);
}

static void test_syntax_errors(void) {
  /* The library's own description, at the line where it stopped. */
  load_bad("syntax.toml",
           "name = \"x\"\n"
           "stages = [\"zstd\"]\n"
           "workers = = 2\n",
           PK_EINVAL, "@:3:", NULL);
  load_bad("unterminated.toml", "name = \"x\n", PK_EINVAL, "@:1:", NULL);
  load_bad("dup.toml", "workers = 1\nworkers = 2\n", PK_EINVAL, "@:2:", NULL);
  load_bad("syntax.json",
           "{\n"
           "  \"name\": \"x\",\n"
           "  \"stages\": [\"zstd\"],,\n"
           "}\n",
           PK_EINVAL, "@:3:", NULL);
  load_bad("dup.json", "{\"workers\": 1,\n \"workers\": 2}", PK_EINVAL,
           "@:2:", "duplicate");
  load_bad("empty.json", "", PK_EINVAL, "@", NULL);
  load_bad("array.json", "[\"zstd\"]", PK_EINVAL, "@:1:1: the top level", NULL);
  load_bad("nul.toml", "stages = \"zstd\\u0000,lz4\"\n", PK_EINVAL,
           "@:1:10: 'stages' contains a NUL", NULL);
}

static void test_unknown_keys(void) {
  load_bad("typo.toml",
           "name = \"n\"\n"
           "stages = [\"zstd\"]\n"
           "chunksize = \"4MiB\"\n",
           PK_EINVAL, "@:3:1: unknown key 'chunksize'",
           "did you mean 'chunk_size'?");
  load_bad("far.toml", "stages = \"lz4\"\ncolour = \"red\"\n", PK_EINVAL,
           "@:2:1: unknown key 'colour'", "the keys are");
  load_bad("table.toml", "stages = \"lz4\"\n[pipeline]\nworkers = 2\n",
           PK_EINVAL, "@:2:", "unknown key 'pipeline'");
  load_bad("typo.json",
           "{\n"
           "  \"stages\": [\"zstd\"],\n"
           "  \"worker\": 2\n"
           "}\n",
           PK_EINVAL, "@:3:3: unknown key 'worker'", "did you mean 'workers'");
  /* The first problem in file order, although toml++ sorts keys. */
  load_bad("order.toml", "workers = 0\naaa = 1\nstages = \"lz4\"\n", PK_EINVAL,
           "@:1:11: 'workers' must be between 1 and 1024", NULL);
}

static void test_wrong_types(void) {
  load_bad("t1.toml", "stages = \"lz4\"\nworkers = \"2\"\n", PK_EINVAL,
           "@:2:11: 'workers' must be an integer, not a string", NULL);
  load_bad("t2.json", "{\"stages\": \"lz4\",\n \"workers\": 2.5}", PK_EINVAL,
           "@:2:13: 'workers' must be an integer, not a float", NULL);
  load_bad("t3.toml", "stages = 3\n", PK_EINVAL,
           "@:1:10: 'stages' must be an array of strings", "not an integer");
  load_bad("t4.toml", "stages = [\"zstd\", 1]\n", PK_EINVAL,
           "@:1:19: stage 2 must be a string, not an integer", NULL);
  load_bad("t5.json", "{\"stages\": \"lz4\", \"name\": true}", PK_EINVAL,
           "@:1:27: 'name' must be a string, not a boolean", NULL);
  load_bad("t6.json", "{\"stages\": \"lz4\", \"chunk_size\": {\"a\": 1}}",
           PK_EINVAL, "'chunk_size' must be a size", "not an object");
  load_bad("t7.toml", "stages = \"lz4\"\nchunk_size = 1979-05-27\n", PK_EINVAL,
           "not a date/time", NULL);
  load_bad("t8.json", "{\"stages\": null}", PK_EINVAL, "not null", NULL);
  load_bad("t9.toml", "stages = []\n", PK_EINVAL, "'stages' is empty", NULL);
  load_bad("t10.toml", "stages = [\"zstd\", \" \"]\n", PK_EINVAL,
           "stage 2 is empty", NULL);
  load_bad("t11.toml", "name = \"n\"\nworkers = 2\n", PK_EINVAL,
           "@: no 'stages'", NULL);
  load_bad("t12.toml", "name = \"a b\"\nstages = \"lz4\"\n", PK_EINVAL,
           "@:1:8: pipeline name 'a b'", NULL);
}

static void test_bad_sizes_and_workers(void) {
  load_bad("s1.toml", "stages = \"lz4\"\nchunk_size = \"4XB\"\n", PK_EINVAL,
           "@:2:14: chunk_size: invalid size '4XB': unknown unit", NULL);
  load_bad("s2.toml", "stages = \"lz4\"\nchunk_size = \"1KiB\"\n", PK_EINVAL,
           "chunk_size '1KiB' (1024 bytes) is out of range", NULL);
  load_bad("s3.json", "{\"stages\": \"lz4\", \"chunk_size\": \"128MiB\"}",
           PK_EINVAL, "out of range: use 4 KiB to 64 MiB", NULL);
  load_bad("s4.toml", "stages = \"lz4\"\nchunk_size = -4096\n", PK_EINVAL,
           "cannot be negative", NULL);
  load_bad("s5.toml", "stages = \"lz4\"\nchunk_size = 67108865\n", PK_EINVAL,
           "chunk_size 67108865 is out of range", NULL);
  load_bad("w1.toml", "stages = \"lz4\"\nworkers = 1025\n", PK_EINVAL,
           "not 1025", NULL);
  pk_pipe_config c;
  load_ok("edges.toml",
          "stages = \"lz4\"\nchunk_size = \"4KiB\"\nworkers = 1\n", &c);
  ASSERT_UEQ(c.chunk_size, 4096);
  load_ok("edges2.toml", "stages = \"lz4\"\nchunk_size = \"64M\"\n", &c);
  ASSERT_UEQ(c.chunk_size, 64 << 20);
}

/* Order errors are the spec parser's own, pointed at the element. */
static void test_bad_stage_order(void) {
  pk_pipe_spec spec;
  pk_errmsg want = {{0}};
  ASSERT_ERR(pk_pipe_spec_parse("aes256gcm,zstd:9", &spec, &want), PK_EINVAL);
  load_bad("o1.toml", "stages = [\"aes256gcm\", \"zstd:9\"]\n", PK_EINVAL,
           "@:1:24: in stages: ", want.text);
  load_bad("o2.json",
           "{\n  \"stages\": [\n    \"aes256gcm\",\n    \"zstd:9\"]}",
           PK_EINVAL, "@:4:5: in stages: ", want.text);
  load_bad("o3.toml", "stages = \"aes256gcm,zstd:9\"\n", PK_EINVAL,
           "@:1:10: in stages: ", want.text);
  ASSERT_ERR(pk_pipe_spec_parse("zstd,bogus", &spec, &want), PK_EINVAL);
  load_bad("o4.toml", "stages = [\"zstd\",\n  \"bogus\"]\n", PK_EINVAL,
           "@:2:3: in stages: ", want.text);
}

static void test_files(void) {
  pk_pipe_config c;
  pk_errmsg e = {{0}};
  char path[400];
  snprintf(path, sizeof path, "%s/missing.toml", tmp);
  ASSERT_ERR(pk_config_load(path, &c, &e), PK_ENOENT);
  ASSERT(strstr(e.text, path));
  ASSERT_ERR(pk_config_load(file("p.yaml", "stages: [lz4]\n"), &c, &e),
             PK_EINVAL);
  ASSERT(strstr(e.text, ".toml or .json"));
  ASSERT_ERR(pk_config_load(file("noext", "x"), &c, &e), PK_EINVAL);
  snprintf(path, sizeof path, "%s/dir.toml", tmp);
  ASSERT_OK(mkdir(path, 0700));
  ASSERT_ERR(pk_config_load(path, &c, &e), PK_EINVAL);
  ASSERT(strstr(e.text, "directory"));
  if (geteuid() != 0) { /* root reads anything */
    const char *p = file("secret.toml", "stages = \"lz4\"\n");
    ASSERT_OK(chmod(p, 0));
    ASSERT_ERR(pk_config_load(p, &c, &e), PK_EPERM);
  }
  /* Oversized files are refused before parsing. */
  snprintf(path, sizeof path, "%s/big.json", tmp);
  FILE *f = fopen(path, "wb");
  ASSERT(f);
  for (int i = 0; i < 70000; i++)
    fputs("                ", f);
  ASSERT_EQ(fclose(f), 0);
  ASSERT_ERR(pk_config_load(path, &c, &e), PK_EINVAL);
  ASSERT(strstr(e.text, "larger than"));
}

int main(void) {
  snprintf(tmp, sizeof tmp, "/tmp/pika-test-config-XXXXXX");
  ASSERT(mkdtemp(tmp));
  RUN(test_parse_size);
  RUN(test_valid_toml);
  RUN(test_valid_json);
  RUN(test_syntax_errors);
  RUN(test_unknown_keys);
  RUN(test_wrong_types);
  RUN(test_bad_sizes_and_workers);
  RUN(test_bad_stage_order);
  RUN(test_files);
  char cmd[400];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
  return system(cmd) == 0 ? 0 : 1;
}
