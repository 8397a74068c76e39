/* test_kdf.c — unit tests for pipe/kdf.h. */
#include <sys/stat.h>
#include <unistd.h>

#include "pipe/kdf.h"
#include "test.h"

static char tmpdir[64];

static void hex32(const char *hex, uint8_t out[32]) {
  for (int i = 0; i < 32; i++) {
    unsigned v;
    ASSERT(sscanf(hex + 2 * i, "%2x", &v) == 1);
    out[i] = (uint8_t)v;
  }
}

static pk_kdf_params params(uint32_t t, uint32_t m_kib, uint32_t p) {
  pk_kdf_params k = {t, m_kib, p};
  return k;
}

static void test_defaults_and_caps(void) {
  pk_kdf_params d = pk_kdf_params_default();
  ASSERT_EQ(d.t_cost, 3);
  ASSERT_EQ(d.m_cost_kib, 65536);
  ASSERT_EQ(d.parallelism, 1);
  pk_errmsg e = {{0}};
  ASSERT_OK(pk_kdf_params_validate(&d, &e));
  pk_kdf_params lo = params(1, 8192, 1), hi = params(10, 1024 * 1024, 1);
  ASSERT_OK(pk_kdf_params_validate(&lo, &e));
  ASSERT_OK(pk_kdf_params_validate(&hi, &e));

  pk_kdf_params p = params(3, 1024 * 1024 + 1, 1);
  ASSERT_ERR(pk_kdf_params_validate(&p, &e), PK_ELIMIT);
  ASSERT(strstr(e.text, "1024 MiB"));
  p = params(3, 4u * 1024 * 1024, 1); /* a hostile header asks 4 GiB */
  ASSERT_ERR(pk_kdf_params_validate(&p, &e), PK_ELIMIT);
  ASSERT(strstr(e.text, "4096 MiB") && strstr(e.text, "limit"));
  p = params(3, UINT32_MAX, 1);
  ASSERT_ERR(pk_kdf_params_validate(&p, &e), PK_ELIMIT);
  p = params(3, 8191, 1);
  ASSERT_ERR(pk_kdf_params_validate(&p, &e), PK_ELIMIT);
  ASSERT(strstr(e.text, "minimum"));
  p = params(11, 65536, 1);
  ASSERT_ERR(pk_kdf_params_validate(&p, &e), PK_ELIMIT);
  ASSERT(strstr(e.text, "time cost 11"));
  p = params(UINT32_MAX, 65536, 1); /* "hours" */
  ASSERT_ERR(pk_kdf_params_validate(&p, &e), PK_ELIMIT);
  p = params(0, 65536, 1);
  ASSERT_ERR(pk_kdf_params_validate(&p, &e), PK_ECORRUPT);
  p = params(3, 0, 1);
  ASSERT_ERR(pk_kdf_params_validate(&p, &e), PK_ECORRUPT);
  p = params(3, 65536, 0);
  ASSERT_ERR(pk_kdf_params_validate(&p, &e), PK_ECORRUPT);
  p = params(3, 65536, 4);
  ASSERT_ERR(pk_kdf_params_validate(&p, &e), PK_EUNSUPPORTED);
  ASSERT(strstr(e.text, "parallelism 4"));
  ASSERT_ERR(pk_kdf_params_validate(NULL, &e), PK_EINVAL);

  /* The caps hold in pk_kdf_argon2id itself, before any allocation. */
  uint8_t salt[16] = {0}, key[32];
  memset(key, 0x55, sizeof key);
  p = params(3, 4u * 1024 * 1024, 1);
  ASSERT_ERR(pk_kdf_argon2id("pw", 2, salt, &p, key, &e), PK_ELIMIT);
  ASSERT_ERR(pk_kdf_argon2id("pw", 2, salt, NULL, key, NULL), PK_EINVAL);
  ASSERT_ERR(pk_kdf_argon2id(NULL, 2, salt, &d, key, NULL), PK_EINVAL);
}

static void test_argon2id_known_answer(void) {
  /* Reference argon2 CLI: echo -n 123 | argon2 ABCDEFGHIJKLMNOP -id -v 13
   * -k 8192 -t 2 (p = 1, 32-byte output). */
  uint8_t want[32], key[32];
  hex32("3ee950488d26ce691657b1d753f562139857b61a58f234d6cb0ce84c4cc27328",
        want);
  pk_kdf_params p = params(2, 8192, 1);
  ASSERT_OK(pk_kdf_argon2id("123", 3, (const uint8_t *)"ABCDEFGHIJKLMNOP", &p,
                            key, NULL));
  ASSERT(memcmp(key, want, 32) == 0);
}

static void test_argon2id_deterministic(void) {
  pk_kdf_params p = params(1, 8192, 1);
  uint8_t salt[16], salt2[16], k1[32], k2[32], k3[32], k4[32], k5[32];
  ASSERT_OK(pk_salt_random(salt));
  memcpy(salt2, salt, 16);
  salt2[15] ^= 1;
  const char *pw = "correct horse battery staple";
  ASSERT_OK(pk_kdf_argon2id(pw, strlen(pw), salt, &p, k1, NULL));
  ASSERT_OK(pk_kdf_argon2id(pw, strlen(pw), salt, &p, k2, NULL));
  ASSERT(memcmp(k1, k2, 32) == 0);
  ASSERT_OK(pk_kdf_argon2id(pw, strlen(pw), salt2, &p, k3, NULL));
  ASSERT(memcmp(k1, k3, 32) != 0); /* differs with the salt */
  ASSERT_OK(pk_kdf_argon2id(pw, strlen(pw) - 1, salt, &p, k4, NULL));
  ASSERT(memcmp(k1, k4, 32) != 0); /* and with the password */
  pk_kdf_params p2 = params(2, 8192, 1);
  ASSERT_OK(pk_kdf_argon2id(pw, strlen(pw), salt, &p2, k5, NULL));
  ASSERT(memcmp(k1, k5, 32) != 0); /* and with the parameters */
  /* An empty password is a password. */
  ASSERT_OK(pk_kdf_argon2id(NULL, 0, salt, &p, k5, NULL));
  ASSERT_OK(pk_kdf_argon2id("", 0, salt, &p, k4, NULL));
  ASSERT(memcmp(k4, k5, 32) == 0);
  /* The defaults work (64 MiB, 3 passes). */
  pk_kdf_params d = pk_kdf_params_default();
  ASSERT_OK(pk_kdf_argon2id(pw, strlen(pw), salt, &d, k5, NULL));
  ASSERT(memcmp(k1, k5, 32) != 0);
}

static void test_key_check(void) {
  uint8_t k1[32], k2[32], c1[16], c1b[16], c2[16];
  ASSERT_OK(pk_random_bytes(k1, 32));
  memcpy(k2, k1, 32);
  k2[0] ^= 1;
  ASSERT_OK(pk_kdf_key_check(k1, c1));
  ASSERT_OK(pk_kdf_key_check(k1, c1b));
  ASSERT_OK(pk_kdf_key_check(k2, c2));
  ASSERT(memcmp(c1, c1b, 16) == 0);
  ASSERT(memcmp(c1, c2, 16) != 0);
  ASSERT_OK(pk_kdf_key_check_verify(k1, c1));
  ASSERT_ERR(pk_kdf_key_check_verify(k2, c1), PK_EAUTH);
  ASSERT_OK(pk_kdf_key_check_verify(k2, c2));
  c1[7] ^= 0x10;
  ASSERT_ERR(pk_kdf_key_check_verify(k1, c1), PK_EAUTH);
  ASSERT_ERR(pk_kdf_key_check(NULL, c1), PK_EINVAL);
  ASSERT_ERR(pk_kdf_key_check_verify(k1, NULL), PK_EINVAL);

  /* A fixed vector pins the construction: changing the personalisation
   * or the hash would silently orphan every existing archive. */
  uint8_t zero[32] = {0}, cz[16], again[16];
  ASSERT_OK(pk_kdf_key_check(zero, cz));
  ASSERT_OK(pk_kdf_key_check(zero, again));
  ASSERT(memcmp(cz, again, 16) == 0);
  /* Python: blake2b(b"", key=bytes(32), digest_size=16,
   *                 person=b"pika-keycheck-v1") */
  static const uint8_t cz_want[16] = {0x84, 0xde, 0xe4, 0x9d, 0x20, 0xf4,
                                      0x57, 0x77, 0x05, 0xee, 0xf6, 0x9d,
                                      0xf3, 0x43, 0x2e, 0x0e};
  ASSERT(memcmp(cz, cz_want, 16) == 0);
}

static void test_subkeys(void) {
  uint8_t m[32], d1[32], d2[32], h[32], m2[32], d3[32], c[16];
  ASSERT_OK(pk_random_bytes(m, 32));
  memcpy(m2, m, 32);
  m2[31] ^= 0x40;
  ASSERT_OK(pk_kdf_subkey(m, "pk-data", d1));
  ASSERT_OK(pk_kdf_subkey(m, "pk-data", d2));
  ASSERT_OK(pk_kdf_subkey(m, "pk-header", h));
  ASSERT_OK(pk_kdf_subkey(m2, "pk-data", d3));
  ASSERT(memcmp(d1, d2, 32) == 0);
  ASSERT(memcmp(d1, h, 32) != 0);
  ASSERT(memcmp(d1, d3, 32) != 0);
  ASSERT(memcmp(d1, m, 32) != 0);
  /* Pinned like the key check. Python: blake2b(b"pk-data", key=bytes(32),
   * digest_size=32, person=b"pika-subkey-v1") */
  uint8_t zero[32] = {0}, dz[32], dz_want[32];
  hex32("3aa75cb2b1d1a101383b66a41abe0548987e88901f970aa08d26ba21d879218c",
        dz_want);
  ASSERT_OK(pk_kdf_subkey(zero, "pk-data", dz));
  ASSERT(memcmp(dz, dz_want, 32) == 0);
  /* The key check (public) is not a prefix of any sub-key (secret). */
  ASSERT_OK(pk_kdf_key_check(m, c));
  ASSERT(memcmp(c, d1, 16) != 0 && memcmp(c, h, 16) != 0);
  /* Context validation. */
  char longctx[PK_KDF_CONTEXT_MAX + 2];
  memset(longctx, 'x', sizeof longctx);
  longctx[PK_KDF_CONTEXT_MAX + 1] = '\0';
  ASSERT_ERR(pk_kdf_subkey(m, longctx, d2), PK_EINVAL);
  longctx[PK_KDF_CONTEXT_MAX] = '\0';
  ASSERT_OK(pk_kdf_subkey(m, longctx, d2));
  ASSERT_ERR(pk_kdf_subkey(m, "", d2), PK_EINVAL);
  ASSERT_ERR(pk_kdf_subkey(m, NULL, d2), PK_EINVAL);
  ASSERT_ERR(pk_kdf_subkey(NULL, "pk-data", d2), PK_EINVAL);
}

static void write_file(const char *name, const void *data, size_t n, char *path,
                       size_t cap) {
  snprintf(path, cap, "%s/%s", tmpdir, name);
  FILE *f = fopen(path, "wb");
  ASSERT(f);
  ASSERT_EQ(fwrite(data, 1, n, f), n);
  ASSERT_EQ(fclose(f), 0);
}

/* Writes n bytes and expects PK_EINVAL with `needle` in the message. */
static void key_file_bad(const void *data, size_t n, const char *needle) {
  char path[128];
  uint8_t key[32];
  pk_errmsg e = {{0}};
  write_file("bad.key", data, n, path, sizeof path);
  memset(key, 0x77, sizeof key);
  ASSERT_ERR(pk_key_file_read(path, key, &e), PK_EINVAL);
  if (!strstr(e.text, needle) || !strstr(e.text, path))
    TEST_FAIL_("message \"%s\" lacks \"%s\"", e.text, needle);
  uint8_t zero[32] = {0};
  ASSERT(memcmp(key, zero, 32) == 0); /* wiped on failure */
}

static void test_key_file(void) {
  char path[128];
  uint8_t raw[80], key[32];
  pk_errmsg e = {{0}};
  for (int i = 0; i < 80; i++)
    raw[i] = (uint8_t)(i * 37 + 11);

  /* 32 raw bytes: accepted as they are. */
  write_file("raw.key", raw, 32, path, sizeof path);
  ASSERT_OK(pk_key_file_read(path, key, &e));
  ASSERT(memcmp(key, raw, 32) == 0);

  /* 64 hex digits, bare, with "\n", with "\r\n", upper case. */
  char hex[70];
  for (int i = 0; i < 32; i++)
    snprintf(hex + 2 * i, 3, "%02x", raw[i]);
  const char *suffixes[] = {"", "\n", "\r\n"};
  for (int s = 0; s < 3; s++) {
    char text[80];
    snprintf(text, sizeof text, "%s%s", hex, suffixes[s]);
    write_file("hex.key", text, strlen(text), path, sizeof path);
    memset(key, 0, sizeof key);
    ASSERT_OK(pk_key_file_read(path, key, &e));
    ASSERT(memcmp(key, raw, 32) == 0);
  }
  char upper[70];
  for (int i = 0; i < 64; i++)
    upper[i] = (char)(hex[i] >= 'a' ? hex[i] - 32 : hex[i]);
  write_file("HEX.key", upper, 64, path, sizeof path);
  ASSERT_OK(pk_key_file_read(path, key, &e));
  ASSERT(memcmp(key, raw, 32) == 0);

  /* Wrong sizes say the size and what is expected. */
  key_file_bad(raw, 0, "is empty");
  key_file_bad(raw, 31, "is 31 bytes; expected 32");
  key_file_bad(raw, 33, "is 33 bytes; expected 32");
  key_file_bad(raw, 1, "is 1 bytes");
  key_file_bad(raw, 64, "is 64 bytes but not 64 hex digits");
  key_file_bad(hex, 63, "is 63 bytes");
  char bad[80];
  memcpy(bad, hex, 64);
  bad[64] = ' '; /* not a newline */
  key_file_bad(bad, 65, "not 64 hex digits");
  memcpy(bad, hex, 64);
  bad[10] = 'g';
  key_file_bad(bad, 64, "not 64 hex digits");
  memcpy(bad, hex, 64);
  bad[64] = '\n';
  bad[65] = '\n';
  key_file_bad(bad, 66, "not 64 hex digits");
  static uint8_t big[4096];
  key_file_bad(big, sizeof big, "is 4096 bytes");

  /* Missing file, directory. */
  snprintf(path, sizeof path, "%s/none.key", tmpdir);
  ASSERT_ERR(pk_key_file_read(path, key, &e), PK_ENOENT);
  ASSERT(strstr(e.text, "does not exist") && strstr(e.text, "none.key"));
  ASSERT_ERR(pk_key_file_read(tmpdir, key, &e), PK_EINVAL);
  ASSERT(strstr(e.text, "is a directory"));
  /* A character device reads as empty. */
  ASSERT_ERR(pk_key_file_read("/dev/null", key, &e), PK_EINVAL);
  ASSERT(strstr(e.text, "is empty"));
  ASSERT_ERR(pk_key_file_read(NULL, key, &e), PK_EINVAL);

  /* Unreadable: only meaningful when not root (root reads mode 000). */
  if (geteuid() != 0) {
    write_file("locked.key", raw, 32, path, sizeof path);
    ASSERT_EQ(chmod(path, 0), 0);
    ASSERT_ERR(pk_key_file_read(path, key, &e), PK_EPERM);
    ASSERT(strstr(e.text, "permission denied"));
    unlink(path);
  } else {
    fprintf(stderr, "   (running as root: PK_EPERM case skipped)\n");
  }
  snprintf(path, sizeof path, "%s/raw.key", tmpdir);
  unlink(path);
  snprintf(path, sizeof path, "%s/hex.key", tmpdir);
  unlink(path);
  snprintf(path, sizeof path, "%s/HEX.key", tmpdir);
  unlink(path);
  snprintf(path, sizeof path, "%s/bad.key", tmpdir);
  unlink(path);
}

static void test_random(void) {
  uint8_t a[16], b[16], n1[24], n2[24];
  ASSERT_OK(pk_salt_random(a));
  ASSERT_OK(pk_salt_random(b));
  ASSERT(memcmp(a, b, 16) != 0);
  ASSERT_OK(pk_random_bytes(n1, 24));
  ASSERT_OK(pk_random_bytes(n2, 24));
  ASSERT(memcmp(n1, n2, 24) != 0);
  ASSERT_OK(pk_random_bytes(NULL, 0));
  ASSERT_ERR(pk_random_bytes(NULL, 1), PK_EINVAL);
  ASSERT_ERR(pk_salt_random(NULL), PK_EINVAL);
}

int main(void) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/pk_test_kdf.XXXXXX");
  ASSERT(mkdtemp(tmpdir) != NULL);
  RUN(test_defaults_and_caps);
  RUN(test_argon2id_known_answer);
  RUN(test_argon2id_deterministic);
  RUN(test_key_check);
  RUN(test_subkeys);
  RUN(test_key_file);
  RUN(test_random);
  ASSERT_EQ(rmdir(tmpdir), 0);
  return 0;
}
