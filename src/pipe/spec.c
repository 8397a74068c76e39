/* spec.c — parsing stage lists; see spec.h. */
#include "pipe/spec.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* The codec and cipher modules number their kinds themselves; the format's
 * numbers are fixed on disk. These tables are the one mapping. */
static const struct {
  enum pk_codec_kind codec;
  uint8_t fmt;
} codec_map[] = {{PK_CODEC_ZSTD, PK_FMT_ZSTD},
                 {PK_CODEC_LZ4, PK_FMT_LZ4},
                 {PK_CODEC_LZ4HC, PK_FMT_LZ4HC},
                 {PK_CODEC_BROTLI, PK_FMT_BROTLI},
                 {PK_CODEC_GZIP, PK_FMT_GZIP}};
static const struct {
  pk_aead_kind aead;
  uint8_t fmt;
} aead_map[] = {{PK_AEAD_AES256GCM, PK_FMT_AES256GCM},
                {PK_AEAD_CHACHA20POLY1305, PK_FMT_CHACHA20POLY1305},
                {PK_AEAD_XCHACHA20POLY1305, PK_FMT_XCHACHA20POLY1305}};
static const struct {
  enum pk_digest_kind digest;
  uint8_t fmt;
} digest_map[] = {{PK_DIGEST_XXH3_128, PK_FMT_XXH3_128},
                  {PK_DIGEST_SHA256, PK_FMT_SHA256},
                  {PK_DIGEST_BLAKE2B_256, PK_FMT_BLAKE2B}};
static const char *const transform_names[] = {NULL, "base64", "base64url",
                                              "pii"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

const char *pk_pipe_stage_name(const pk_fmt_stage *s) {
  switch (s->kind) {
  case PK_FMT_STAGE_TRANSFORM:
    return s->alg < COUNT(transform_names) && s->alg ? transform_names[s->alg]
                                                     : "?";
  case PK_FMT_STAGE_COMPRESS:
    for (size_t i = 0; i < COUNT(codec_map); i++)
      if (codec_map[i].fmt == s->alg)
        return pk_codec_name(codec_map[i].codec);
    return "?";
  case PK_FMT_STAGE_ENCRYPT:
    for (size_t i = 0; i < COUNT(aead_map); i++)
      if (aead_map[i].fmt == s->alg)
        return pk_aead_name(aead_map[i].aead);
    return "?";
  default:
    return "?";
  }
}

const char *pk_pipe_digest_name(uint8_t digest) {
  for (size_t i = 0; i < COUNT(digest_map); i++)
    if (digest_map[i].fmt == digest)
      return pk_digest_name(digest_map[i].digest);
  return "?";
}

int pk_pipe_stage_codec(const pk_fmt_stage *s, pk_codec_spec *out) {
  for (size_t i = 0; i < COUNT(codec_map); i++)
    if (s->kind == PK_FMT_STAGE_COMPRESS && codec_map[i].fmt == s->alg) {
      *out = (pk_codec_spec){codec_map[i].codec, s->param};
      return pk_codec_spec_check(out, NULL) == PK_OK ? PK_OK : PK_ECORRUPT;
    }
  return PK_ECORRUPT;
}

int pk_pipe_stage_aead(const pk_fmt_stage *s, pk_aead_kind *out) {
  for (size_t i = 0; i < COUNT(aead_map); i++)
    if (s->kind == PK_FMT_STAGE_ENCRYPT && aead_map[i].fmt == s->alg) {
      *out = aead_map[i].aead;
      return PK_OK;
    }
  return PK_ECORRUPT;
}

int pk_pipe_digest_kind(uint8_t digest, enum pk_digest_kind *out) {
  for (size_t i = 0; i < COUNT(digest_map); i++)
    if (digest_map[i].fmt == digest) {
      *out = digest_map[i].digest;
      return PK_OK;
    }
  return PK_ECORRUPT;
}

const pk_fmt_stage *pk_pipe_spec_cipher(const pk_pipe_spec *spec) {
  for (int i = 0; i < spec->n_stages; i++)
    if (spec->stages[i].kind == PK_FMT_STAGE_ENCRYPT)
      return &spec->stages[i];
  return NULL;
}

int pk_pipe_spec_irreversible(const pk_pipe_spec *spec) {
  for (int i = 0; i < spec->n_stages; i++)
    if (spec->stages[i].kind == PK_FMT_STAGE_TRANSFORM &&
        spec->stages[i].alg == PK_FMT_PII)
      return 1;
  return 0;
}

/* Parses one token into a stage (kind 0: no stage, e.g. "none") or sets
 * *digest. */
static int parse_token(const char *tok, pk_fmt_stage *st, uint8_t *digest,
                       pk_errmsg *e) {
  memset(st, 0, sizeof *st);
  if (!strcmp(tok, "none") || !strcmp(tok, "passthrough"))
    return PK_OK;
  for (uint8_t a = 1; a < COUNT(transform_names); a++)
    if (!strcmp(tok, transform_names[a]) ||
        (a == PK_FMT_PII && !strcmp(tok, "pii-mask"))) {
      *st = (pk_fmt_stage){PK_FMT_STAGE_TRANSFORM, a, 0};
      return PK_OK;
    }
  pk_aead_kind ak;
  if (pk_aead_parse(tok, &ak, NULL) == PK_OK) {
    for (size_t i = 0; i < COUNT(aead_map); i++)
      if (aead_map[i].aead == ak)
        *st = (pk_fmt_stage){PK_FMT_STAGE_ENCRYPT, aead_map[i].fmt, 0};
    return PK_OK;
  }
  enum pk_digest_kind dk;
  if (pk_digest_parse(tok, &dk, NULL) == PK_OK) {
    for (size_t i = 0; i < COUNT(digest_map); i++)
      if (digest_map[i].digest == dk) {
        *digest = digest_map[i].fmt;
        return PK_OK;
      }
    return pk_errmsg_set(e, PK_EINVAL,
                         "'%s' cannot be the whole-file digest; use xxh3-128, "
                         "sha256 or blake2b",
                         tok);
  }
  pk_codec_spec cs;
  pk_errmsg ce = {{0}};
  int rc = pk_codec_parse(tok, &cs, &ce);
  if (rc == PK_OK) {
    if (cs.level < INT16_MIN || cs.level > INT16_MAX)
      return pk_errmsg_set(e, PK_EINVAL,
                           "'%s': the archive format stores levels "
                           "-32768..32767",
                           tok);
    for (size_t i = 0; i < COUNT(codec_map); i++)
      if (codec_map[i].codec == cs.kind)
        *st = (pk_fmt_stage){PK_FMT_STAGE_COMPRESS, codec_map[i].fmt,
                             (int16_t)cs.level};
    return PK_OK;
  }
  /* A known codec with a bad level has the better message. */
  if (strchr(tok, ':'))
    return pk_errmsg_set(e, PK_EINVAL, "%s", ce.text);
  return pk_errmsg_set(e, PK_EINVAL,
                       "unknown stage '%s' (stages: base64, base64url, pii, "
                       "zstd[:L], lz4, lz4hc[:L], brotli[:L], gzip[:L], none, "
                       "aes256gcm, chacha20poly1305, xchacha20poly1305, "
                       "xxh3-128, sha256, blake2b)",
                       tok);
}

int pk_pipe_spec_parse(const char *text, pk_pipe_spec *out, pk_errmsg *e) {
  memset(out, 0, sizeof *out);
  out->digest = PK_FMT_XXH3_128;
  if (!text || !*text)
    return pk_errmsg_set(e, PK_EINVAL, "empty stage list");
  char buf[512];
  if (strlen(text) >= sizeof buf)
    return pk_errmsg_set(e, PK_EINVAL, "stage list is too long");
  strcpy(buf, text);
  int digests = 0;
  const char *prev_name = NULL;
  char *save = NULL;
  for (char *tok = strtok_r(buf, ",", &save); tok;
       tok = strtok_r(NULL, ",", &save)) {
    while (*tok == ' ')
      tok++;
    char *end = tok + strlen(tok);
    while (end > tok && end[-1] == ' ')
      *--end = '\0';
    pk_fmt_stage st;
    uint8_t digest = 0;
    int rc = parse_token(tok, &st, &digest, e);
    if (rc)
      return rc;
    if (digest) {
      if (digests++)
        return pk_errmsg_set(e, PK_EINVAL,
                             "more than one whole-file digest ('%s')", tok);
      out->digest = digest;
      continue;
    }
    if (!st.kind)
      continue;
    for (int i = 0; i < out->n_stages; i++) {
      const pk_fmt_stage *p = &out->stages[i];
      if (p->kind == st.kind && st.kind != PK_FMT_STAGE_TRANSFORM)
        return pk_errmsg_set(
            e, PK_EINVAL, "two %s stages ('%s' and '%s'); use one",
            st.kind == PK_FMT_STAGE_COMPRESS ? "compression" : "encryption",
            pk_pipe_stage_name(p), tok);
    }
    if (out->n_stages && st.kind == PK_FMT_STAGE_TRANSFORM &&
        st.alg == PK_FMT_PII)
      return pk_errmsg_set(e, PK_EINVAL,
                           "'%s' must be the first stage: masking reads the "
                           "original text",
                           tok);
    if (out->n_stages && st.kind < out->stages[out->n_stages - 1].kind) {
      const pk_fmt_stage *p = &out->stages[out->n_stages - 1];
      if (p->kind == PK_FMT_STAGE_ENCRYPT)
        return pk_errmsg_set(
            e, PK_EINVAL,
            "'%s' after '%s': encryption must be the last stage that changes "
            "data (ciphertext does not compress, and transforms must see the "
            "original); put '%s' before '%s'",
            tok, prev_name, tok, prev_name);
      return pk_errmsg_set(
          e, PK_EINVAL,
          "'%s' after '%s': transforms run before compression (masking must "
          "read the original text; base64 of compressed data is not "
          "supported); put '%s' first",
          tok, prev_name, tok);
    }
    if (out->n_stages == PK_FMT_MAX_STAGES)
      return pk_errmsg_set(e, PK_EINVAL, "more than %d stages",
                           PK_FMT_MAX_STAGES);
    out->stages[out->n_stages++] = st;
    prev_name = pk_pipe_stage_name(&st);
  }
  return PK_OK;
}

int pk_pipe_spec_format(const pk_pipe_spec *spec, char *buf, size_t n) {
  size_t used = 0;
  buf[0] = '\0';
  for (int i = 0; i <= spec->n_stages; i++) {
    char tok[48];
    if (i == spec->n_stages)
      snprintf(tok, sizeof tok, "%s", pk_pipe_digest_name(spec->digest));
    else if (spec->stages[i].kind == PK_FMT_STAGE_COMPRESS)
      snprintf(tok, sizeof tok, "%s:%d", pk_pipe_stage_name(&spec->stages[i]),
               spec->stages[i].param);
    else
      snprintf(tok, sizeof tok, "%s", pk_pipe_stage_name(&spec->stages[i]));
    int w = snprintf(buf + used, n - used, "%s%s", used ? "," : "", tok);
    if (w < 0 || (size_t)w >= n - used)
      return PK_ELIMIT;
    used += (size_t)w;
  }
  return PK_OK;
}
