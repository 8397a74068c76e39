/* archive.c — keys and tags of an .adapipe archive; see archive.h. */
#include "pipe/archive.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "pipe/digest.h"

static void hex(const uint8_t *b, size_t n, char *out) {
  static const char d[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = d[b[i] >> 4];
    out[2 * i + 1] = d[b[i] & 15];
  }
  out[2 * n] = '\0';
}

int pk_archive_header_init(pk_fmt_header *h, const pk_pipe_spec *spec,
                           uint64_t max_chunk, uint64_t original_size,
                           uint32_t mode, int64_t mtime, const char *name,
                           pk_errmsg *e) {
  memset(h, 0, sizeof *h);
  h->version = PK_FMT_VERSION;
  if (max_chunk == 0 || max_chunk > PK_FMT_MAX_CHUNK)
    return pk_errmsg_set(e, PK_EINVAL, "chunk size must be 1 B..64 MiB");
  h->chunk_size = max_chunk;
  h->original_size = original_size;
  h->mode = mode & 07777;
  h->mtime = mtime;
  h->digest = spec->digest;
  h->n_stages = (uint8_t)spec->n_stages;
  memcpy(h->stages, spec->stages, sizeof h->stages);
  if (pk_pipe_spec_cipher(spec))
    h->flags |= PK_FMT_F_ENCRYPTED;
  if (pk_pipe_spec_irreversible(spec))
    h->flags |= PK_FMT_F_IRREVERSIBLE;
  if (original_size == PK_FMT_SIZE_UNKNOWN)
    h->flags |= PK_FMT_F_SIZE_UNKNOWN;
  const char *base = name ? strrchr(name, '/') : NULL;
  base = base ? base + 1 : name;
  if (!base || !pk_fmt_name_is_safe(base, strlen(base)))
    base = "stdin";
  h->name_len = (uint16_t)strlen(base);
  memcpy(h->name, base, h->name_len + 1u);
  return pk_random_bytes(h->file_id, sizeof h->file_id);
}

void pk_archive_keycache_wipe(pk_archive_keycache *c) {
  if (c)
    sodium_memzero(c, sizeof *c);
}

/* The master key of the archive described by h, from s. */
static int derive_master(const pk_fmt_header *h, const pk_secret *s,
                         pk_archive_keycache *cache,
                         uint8_t master[PK_KDF_KEY_LEN], pk_errmsg *e) {
  if (h->kdf == PK_FMT_KDF_ARGON2ID) {
    uint8_t pwh[32];
    crypto_generichash(pwh, sizeof pwh, (const uint8_t *)s->password,
                       s->password_len, NULL, 0);
    if (cache && cache->valid && cache->t == h->kdf_t &&
        cache->m_kib == h->kdf_m_kib && cache->p == h->kdf_p &&
        !memcmp(cache->salt, h->salt, sizeof cache->salt) &&
        !sodium_memcmp(cache->password_hash, pwh, sizeof pwh)) {
      memcpy(master, cache->master, PK_KDF_KEY_LEN);
      return PK_OK;
    }
    pk_kdf_params p = {h->kdf_t, h->kdf_m_kib, h->kdf_p};
    int rc =
        pk_kdf_argon2id(s->password, s->password_len, h->salt, &p, master, e);
    if (rc == PK_OK && cache) {
      *cache = (pk_archive_keycache){
          .valid = 1, .t = h->kdf_t, .m_kib = h->kdf_m_kib, .p = h->kdf_p};
      memcpy(cache->salt, h->salt, sizeof cache->salt);
      memcpy(cache->password_hash, pwh, sizeof pwh);
      memcpy(cache->master, master, PK_KDF_KEY_LEN);
    }
    sodium_memzero(pwh, sizeof pwh);
    return rc;
  }
  char ctx[8 + 2 * PK_FMT_SALT_LEN + 1] = "pk-file-";
  hex(h->salt, PK_FMT_SALT_LEN, ctx + 8);
  return pk_kdf_subkey(s->key, ctx, master);
}

static int derive_subkeys(const pk_fmt_header *h,
                          const uint8_t master[PK_KDF_KEY_LEN],
                          pk_archive_keys *k) {
  char ctx[12 + 2 * PK_FMT_ID_LEN + 1];
  char id[2 * PK_FMT_ID_LEN + 1];
  hex(h->file_id, PK_FMT_ID_LEN, id);
  k->encrypted = 1;
  snprintf(ctx, sizeof ctx, "pk-data-%s", id);
  int rc = pk_kdf_subkey(master, ctx, k->data);
  if (rc == PK_OK) {
    snprintf(ctx, sizeof ctx, "pk-hdr-%s", id);
    rc = pk_kdf_subkey(master, ctx, k->header);
  }
  return rc;
}

int pk_archive_keys_new(pk_fmt_header *h, const pk_secret *s,
                        const pk_kdf_params *params, pk_archive_keycache *cache,
                        pk_archive_keys *k, pk_errmsg *e) {
  memset(k, 0, sizeof *k);
  int encrypted = !!(h->flags & PK_FMT_F_ENCRYPTED);
  int have = s && s->kind != PK_SECRET_NONE;
  if (!encrypted) {
    if (have)
      return pk_errmsg_set(e, PK_EINVAL,
                           "a password or key was given, but no stage "
                           "encrypts (add e.g. aes256gcm to --stages)");
    return PK_OK;
  }
  if (!have)
    return pk_errmsg_set(e, PK_EINVAL,
                         "the stages encrypt, but no password or key was "
                         "given (--password-file, PIKA_PASSWORD or "
                         "--key-file)");
  int rc;
  if (s->kind == PK_SECRET_PASSWORD) {
    pk_kdf_params p = params ? *params : pk_kdf_params_default();
    if ((rc = pk_kdf_params_validate(&p, e)))
      return rc;
    if (cache && cache->valid && cache->t == p.t_cost &&
        cache->m_kib == p.m_cost_kib && cache->p == p.parallelism)
      memcpy(h->salt, cache->salt, sizeof h->salt);
    else if ((rc = pk_random_bytes(h->salt, sizeof h->salt)))
      return rc;
    h->kdf = PK_FMT_KDF_ARGON2ID;
    h->kdf_t = p.t_cost;
    h->kdf_m_kib = p.m_cost_kib;
    h->kdf_p = p.parallelism;
  } else {
    h->kdf = PK_FMT_KDF_KEYFILE;
    if ((rc = pk_random_bytes(h->salt, sizeof h->salt)))
      return rc;
  }
  uint8_t master[PK_KDF_KEY_LEN];
  rc = derive_master(h, s, cache, master, e);
  if (rc == PK_OK)
    rc = pk_kdf_key_check(master, h->key_check);
  if (rc == PK_OK)
    rc = derive_subkeys(h, master, k);
  sodium_memzero(master, sizeof master);
  return rc;
}

int pk_archive_keys_open(const pk_fmt_header *h, const pk_secret *s,
                         pk_archive_keycache *cache, pk_archive_keys *k,
                         pk_errmsg *e) {
  memset(k, 0, sizeof *k);
  if (!(h->flags & PK_FMT_F_ENCRYPTED))
    return PK_OK;
  pk_secret_kind want =
      h->kdf == PK_FMT_KDF_ARGON2ID ? PK_SECRET_PASSWORD : PK_SECRET_KEYFILE;
  if (!s || s->kind != want)
    return pk_errmsg_set(e, PK_EAUTH,
                         want == PK_SECRET_PASSWORD
                             ? "the archive is encrypted with a password: "
                               "give --password-file or PIKA_PASSWORD"
                             : "the archive is encrypted with a key file: "
                               "give --key-file");
  uint8_t master[PK_KDF_KEY_LEN];
  int rc = derive_master(h, s, cache, master, e);
  if (rc == PK_OK && pk_kdf_key_check_verify(master, h->key_check) != PK_OK)
    rc = pk_errmsg_set(e, PK_EAUTH, "wrong %s",
                       want == PK_SECRET_PASSWORD ? "password" : "key");
  if (rc == PK_OK)
    rc = derive_subkeys(h, master, k);
  sodium_memzero(master, sizeof master);
  if (rc)
    pk_archive_keys_wipe(k);
  return rc;
}

void pk_archive_keys_wipe(pk_archive_keys *k) {
  if (k)
    sodium_memzero(k, sizeof *k);
}

/* BLAKE2b over data, keyed with the header key when encrypted. */
static void tag(const pk_archive_keys *k, const uint8_t *a, size_t alen,
                const uint8_t *b, size_t blen, uint8_t *out, size_t outlen) {
  crypto_generichash_state st;
  int keyed = k && k->encrypted;
  crypto_generichash_init(&st, keyed ? k->header : NULL,
                          keyed ? sizeof k->header : 0, outlen);
  crypto_generichash_update(&st, a, alen);
  if (blen)
    crypto_generichash_update(&st, b, blen);
  crypto_generichash_final(&st, out, outlen);
}

int pk_archive_header_write(pk_fmt_header *h, const pk_archive_keys *k,
                            uint8_t *buf, size_t cap, size_t *len) {
  memset(h->tag, 0, sizeof h->tag);
  int rc = pk_fmt_header_encode(h, buf, cap, len);
  if (rc)
    return rc;
  size_t n = pk_fmt_header_tagged_len(*len);
  tag(k, buf, n, NULL, 0, h->tag, PK_FMT_TAG_LEN);
  memcpy(buf + n, h->tag, PK_FMT_TAG_LEN);
  return PK_OK;
}

int pk_archive_header_check(const uint8_t *buf, size_t len,
                            const pk_fmt_header *h, const pk_archive_keys *k,
                            pk_errmsg *e) {
  uint8_t want[PK_FMT_TAG_LEN];
  tag(k, buf, pk_fmt_header_tagged_len(len), NULL, 0, want, sizeof want);
  if (sodium_memcmp(want, h->tag, sizeof want) != 0)
    return pk_errmsg_set(e, PK_ECORRUPT,
                         "the header's tag does not match: the header was "
                         "altered or damaged");
  return PK_OK;
}

void pk_archive_index_tag(const pk_archive_keys *k, const uint8_t *index,
                          size_t index_len, const uint8_t trailer16[16],
                          uint8_t out[PK_FMT_TRAILER_TAG_LEN]) {
  tag(k, trailer16, 16, index, index_len, out, PK_FMT_TRAILER_TAG_LEN);
}
