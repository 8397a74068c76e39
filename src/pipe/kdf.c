/* kdf.c — Argon2id, key checks, sub-keys, key files, randomness; see kdf.h. */
#include "pipe/kdf.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

/* BLAKE2b personalisations: exactly crypto_generichash_blake2b_PERSONALBYTES
 * (16) bytes each, zero-padded. Changing either changes every archive key. */
static const uint8_t personal_check[16] = "pika-keycheck-v1";
static const uint8_t personal_subkey[16] = "pika-subkey-v1";

static int ready(void) {
  /* sodium_init() is idempotent and thread-safe; 1 means "already done". */
  return sodium_init() < 0 ? PK_ESYS : PK_OK;
}

/* ---- password -> key ------------------------------------------------------
 */

pk_kdf_params pk_kdf_params_default(void) {
  pk_kdf_params p = {PK_KDF_T_DEFAULT, PK_KDF_M_DEFAULT_KIB, PK_KDF_P_DEFAULT};
  return p;
}

int pk_kdf_params_validate(const pk_kdf_params *p, pk_errmsg *e) {
  if (!p)
    return pk_errmsg_set(e, PK_EINVAL, "no key derivation parameters given");
  if (p->t_cost == 0 || p->m_cost_kib == 0 || p->parallelism == 0)
    return pk_errmsg_set(e, PK_ECORRUPT,
                         "invalid Argon2id parameters t=%u m=%u KiB p=%u "
                         "(zero is not allowed); the archive header is "
                         "damaged",
                         p->t_cost, p->m_cost_kib, p->parallelism);
  if (p->m_cost_kib > PK_KDF_M_MAX_KIB)
    return pk_errmsg_set(e, PK_ELIMIT,
                         "Argon2id memory cost %u MiB exceeds the limit of "
                         "%u MiB",
                         p->m_cost_kib / 1024, PK_KDF_M_MAX_KIB / 1024);
  if (p->m_cost_kib < PK_KDF_M_MIN_KIB)
    return pk_errmsg_set(e, PK_ELIMIT,
                         "Argon2id memory cost %u KiB is below the minimum "
                         "of %u MiB",
                         p->m_cost_kib, PK_KDF_M_MIN_KIB / 1024);
  if (p->t_cost > PK_KDF_T_MAX)
    return pk_errmsg_set(e, PK_ELIMIT,
                         "Argon2id time cost %u passes exceeds the limit of "
                         "%u",
                         p->t_cost, PK_KDF_T_MAX);
  if (p->parallelism != 1)
    return pk_errmsg_set(e, PK_EUNSUPPORTED,
                         "Argon2id parallelism %u is not supported; only 1 "
                         "lane is (libsodium)",
                         p->parallelism);
  return PK_OK;
}

int pk_kdf_argon2id(const char *password, size_t pw_len,
                    const uint8_t salt[PK_KDF_SALT_LEN], const pk_kdf_params *p,
                    uint8_t key[PK_KDF_KEY_LEN], pk_errmsg *e) {
  if ((!password && pw_len) || !salt || !key)
    return pk_errmsg_set(e, PK_EINVAL, "missing password, salt or key");
  int rc = pk_kdf_params_validate(p, e);
  if (rc != PK_OK)
    return rc;
  if ((rc = ready()) != PK_OK)
    return pk_errmsg_set(e, rc, "libsodium failed to initialise");
  if (!password)
    password = "";
  errno = 0;
  if (crypto_pwhash(key, PK_KDF_KEY_LEN, password, pw_len, salt, p->t_cost,
                    (size_t)p->m_cost_kib * 1024u,
                    crypto_pwhash_ALG_ARGON2ID13) != 0) {
    int err = errno;
    sodium_memzero(key, PK_KDF_KEY_LEN);
    if (err == ENOMEM || err == 0)
      return pk_errmsg_set(e, PK_ENOMEM,
                           "Argon2id could not allocate %u MiB of memory",
                           p->m_cost_kib / 1024);
    return pk_errmsg_set(e, PK_ESYS, "Argon2id failed: %s", strerror(err));
  }
  return PK_OK;
}

/* ---- key check and sub-keys -----------------------------------------------
 */

int pk_kdf_key_check(const uint8_t key[PK_KDF_KEY_LEN],
                     uint8_t out[PK_KDF_CHECK_LEN]) {
  if (!key || !out)
    return PK_EINVAL;
  if (ready() != PK_OK)
    return PK_ESYS;
  crypto_generichash_blake2b_salt_personal(out, PK_KDF_CHECK_LEN, NULL, 0, key,
                                           PK_KDF_KEY_LEN, NULL,
                                           personal_check);
  return PK_OK;
}

int pk_kdf_key_check_verify(const uint8_t key[PK_KDF_KEY_LEN],
                            const uint8_t expected[PK_KDF_CHECK_LEN]) {
  if (!key || !expected)
    return PK_EINVAL;
  uint8_t got[PK_KDF_CHECK_LEN];
  int rc = pk_kdf_key_check(key, got);
  if (rc == PK_OK && sodium_memcmp(got, expected, PK_KDF_CHECK_LEN) != 0)
    rc = PK_EAUTH;
  sodium_memzero(got, sizeof got);
  return rc;
}

int pk_kdf_subkey(const uint8_t master[PK_KDF_KEY_LEN], const char *context,
                  uint8_t out[PK_KDF_KEY_LEN]) {
  if (!master || !context || !out)
    return PK_EINVAL;
  size_t n = strnlen(context, PK_KDF_CONTEXT_MAX + 1);
  if (n == 0 || n > PK_KDF_CONTEXT_MAX)
    return PK_EINVAL;
  if (ready() != PK_OK)
    return PK_ESYS;
  crypto_generichash_blake2b_salt_personal(
      out, PK_KDF_KEY_LEN, (const unsigned char *)context, n, master,
      PK_KDF_KEY_LEN, NULL, personal_subkey);
  return PK_OK;
}

/* ---- key files ------------------------------------------------------------
 */

static int hexval(unsigned char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* 64 hex digits -> 32 bytes, or -1 (out then holds garbage: caller wipes). */
static int unhex64(const uint8_t *s, uint8_t out[32]) {
  for (int i = 0; i < 32; i++) {
    int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return -1;
    out[i] = (uint8_t)(hi << 4 | lo);
  }
  return 0;
}

#define PK__KEYFILE_EXPECT                                                     \
  "expected 32 raw bytes or 64 hex digits (optionally followed by a newline)"

int pk_key_file_read(const char *path, uint8_t key[PK_KDF_KEY_LEN],
                     pk_errmsg *e) {
  if (!path || !key)
    return pk_errmsg_set(e, PK_EINVAL, "no key file given");
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    int err = errno;
    int rc = pk_err_from_errno(err);
    if (rc == PK_ENOENT)
      return pk_errmsg_set(e, rc, "key file %s does not exist", path);
    if (rc == PK_EPERM)
      return pk_errmsg_set(e, rc, "cannot read key file %s: permission denied",
                           path);
    return pk_errmsg_set(e, rc, "cannot open key file %s: %s", path,
                         strerror(err));
  }
  struct stat st;
  int is_reg = 0;
  if (fstat(fd, &st) == 0) {
    is_reg = S_ISREG(st.st_mode);
  } else {
    memset(&st, 0, sizeof st);
  }
  if (S_ISDIR(st.st_mode)) {
    close(fd);
    return pk_errmsg_set(e, PK_EINVAL, "key file %s is a directory", path);
  }
  /* Read one byte more than the longest valid form (64 hex + "\r\n") so
   * that a longer file is recognised without reading it all; a pipe or a
   * FIFO (process substitution) works as well as a regular file. */
  uint8_t buf[67];
  size_t n = 0;
  int rc = PK_OK;
  while (n < sizeof buf) {
    ssize_t r = read(fd, buf + n, sizeof buf - n);
    if (r > 0) {
      n += (size_t)r;
    } else if (r == 0) {
      break;
    } else if (errno != EINTR) {
      int err = errno;
      if (err == EISDIR) {
        rc = pk_errmsg_set(e, PK_EINVAL, "key file %s is a directory", path);
      } else {
        rc = pk_err_from_errno(err);
        rc = pk_errmsg_set(e, rc == PK_ESYS ? PK_EIO : rc,
                           "cannot read key file %s: %s", path, strerror(err));
      }
      break;
    }
  }
  close(fd);

  if (rc == PK_OK) {
    if (n == 32) {
      memcpy(key, buf, 32);
    } else if ((n == 64 || (n == 65 && buf[64] == '\n') ||
                (n == 66 && buf[64] == '\r' && buf[65] == '\n')) &&
               unhex64(buf, key) == 0) {
      /* hex form */
    } else if (n == 0) {
      rc = pk_errmsg_set(e, PK_EINVAL, "key file %s is empty; %s", path,
                         PK__KEYFILE_EXPECT);
    } else if (n >= 64 && n <= 66) {
      rc = pk_errmsg_set(e, PK_EINVAL,
                         "key file %s is %zu bytes but not 64 hex digits; %s",
                         path, n, PK__KEYFILE_EXPECT);
    } else if (n == sizeof buf && is_reg) {
      rc = pk_errmsg_set(e, PK_EINVAL, "key file %s is %lld bytes; %s", path,
                         (long long)st.st_size, PK__KEYFILE_EXPECT);
    } else if (n == sizeof buf) {
      rc =
          pk_errmsg_set(e, PK_EINVAL, "key file %s is longer than 66 bytes; %s",
                        path, PK__KEYFILE_EXPECT);
    } else {
      rc = pk_errmsg_set(e, PK_EINVAL, "key file %s is %zu bytes; %s", path, n,
                         PK__KEYFILE_EXPECT);
    }
  }
  sodium_memzero(buf, sizeof buf);
  if (rc != PK_OK)
    sodium_memzero(key, PK_KDF_KEY_LEN);
  return rc;
}

/* ---- randomness -----------------------------------------------------------
 */

int pk_random_bytes(void *out, size_t len) {
  if (len == 0)
    return PK_OK;
  if (!out)
    return PK_EINVAL;
  if (ready() != PK_OK)
    return PK_ESYS;
  randombytes_buf(out, len);
  return PK_OK;
}

int pk_salt_random(uint8_t out[PK_KDF_SALT_LEN]) {
  if (!out)
    return PK_EINVAL;
  return pk_random_bytes(out, PK_KDF_SALT_LEN);
}
