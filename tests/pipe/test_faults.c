/* The fault matrix of the .adapipe format (docs/FORMAT.md): every damage a
 * file can take must be refused with the right code, never restored as if
 * nothing happened.
 *
 * - every single-byte flip (XOR 0x01 and 0xFF) at every offset: restore
 *   (read_header + open_keys + decode) fails with PK_ECORRUPT; only the key
 *   derivation fields of an encrypted header may give PK_EAUTH (a changed
 *   salt or key check is indistinguishable from a wrong password). Flips in
 *   the index or trailer are invisible to restore, which streams and never
 *   reads them: there restore succeeds with the original bytes and
 *   pk_pipe_read_index() fails.
 * - truncation at every record boundary and inside header, records and
 *   end record: PK_ECORRUPT saying "truncated"; inside the index: restore
 *   succeeds, the index fails.
 * - chunks swapped, dropped, duplicated (also with their seq rewritten, so
 *   only the AEAD/checksum binding can tell), spliced in from another
 *   archive of the same data and key: PK_ECORRUPT.
 * - wrong, missing or wrong-kind secrets: PK_EAUTH.
 * - empty input; hostile argon2 parameters refused by header decode.
 * - a batch sharing a salt through a key cache: records still do not move
 *   between its archives, and the cache never stands in for the password.
 * - encode-side faults: an input whose size differs from the declared one,
 *   a read error (LeakSanitizer checks that everything is freed).
 *
 * Regions come from walking the archive with pk_fmt_record_decode(). The
 * password archive runs argon2 on every open, so its header is sampled;
 * flips outside the header reuse its keys (same header bytes, same keys). */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/clock.h"
#include "pipe/archive.h"
#include "pipe/engine.h"
#include "pipe/spec.h"
#include "runtime/governor.h"
#include "test.h"

static pk_gov *gov;

/* ---- archives -------------------------------------------------------------*/

#define MAX_REC 64

typedef struct arc {
  const char *name;
  uint8_t *p;
  size_t n;
  const uint8_t *data; /* the original */
  size_t data_n;
  pk_secret secret;
  int encrypted;
  /* layout */
  size_t hlen;
  size_t kdf_off, salt_off, kchk_off, kdf_end; /* kdf byte .. key check */
  size_t rec_off[MAX_REC + 1];                 /* data records */
  size_t n_rec;
  size_t end_off;   /* end record */
  size_t index_off; /* index, then trailer */
} arc;

static uint8_t *make_data(size_t n, unsigned seed) {
  uint8_t *d = malloc(n ? n : 1);
  uint64_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < n; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    d[i] = (i / 512) % 3 == 0 ? (uint8_t)x : (uint8_t)("abc def\n"[x % 8]);
  }
  return d;
}

static int fd_with(const uint8_t *d, size_t n) {
  int fd = memfd_create("arc", 0);
  ASSERT(fd >= 0);
  ASSERT_EQ(write(fd, d, n), (ssize_t)n);
  lseek(fd, 0, SEEK_SET);
  return fd;
}

static uint8_t *fd_bytes(int fd, size_t *n) {
  off_t size = lseek(fd, 0, SEEK_END);
  ASSERT(size >= 0);
  uint8_t *p = malloc((size_t)size + 1);
  ASSERT_EQ(pread(fd, p, (size_t)size, 0), size);
  *n = (size_t)size;
  return p;
}

static uint64_t le(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++)
    v |= (uint64_t)p[i] << (8 * i);
  return v;
}

static void put_le(uint8_t *p, uint64_t v, int n) {
  for (int i = 0; i < n; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

/* Where a version 2 header keeps file_id. */
#define FILE_ID_OFF 52

/* Finds the regions of a->p by walking it as a reader would. */
static void layout(arc *a) {
  pk_errmsg e;
  size_t hlen;
  ASSERT_OK(pk_fmt_header_peek(a->p, a->n, &hlen, &e));
  a->hlen = hlen;
  /* Version 2 has group_size (8 bytes) after chunk_size. */
  size_t v2 = le(a->p + 8, 2) >= 2 ? 8 : 0;
  size_t n_stages = a->p[61 + v2];
  a->kdf_off = 62 + v2 + 4 * n_stages;
  a->salt_off = a->kdf_off + 13;
  a->kchk_off = a->salt_off + PK_FMT_SALT_LEN;
  a->kdf_end = a->kchk_off + PK_FMT_KEYCHECK_LEN;
  ASSERT_UEQ(a->kdf_end + 2 + le(a->p + a->kdf_end, 2) + PK_FMT_TAG_LEN, hlen);
  size_t off = hlen;
  a->n_rec = 0;
  for (;;) {
    pk_fmt_record r;
    ASSERT(off + PK_FMT_RECORD_HDR_LEN <= a->n);
    ASSERT_OK(pk_fmt_record_decode(a->p + off, &r, &e));
    if (r.kind == PK_FMT_REC_END) {
      ASSERT_UEQ(r.seq, a->n_rec);
      a->end_off = off;
      a->index_off = off + PK_FMT_RECORD_HDR_LEN + r.stored_len;
      break;
    }
    ASSERT(a->n_rec < MAX_REC);
    ASSERT_UEQ(r.seq, a->n_rec);
    a->rec_off[a->n_rec++] = off;
    off += PK_FMT_RECORD_HDR_LEN + r.stored_len;
  }
  a->rec_off[a->n_rec] = a->end_off;
  ASSERT_UEQ(a->index_off + a->n_rec * PK_FMT_INDEX_ENTRY_LEN +
                 PK_FMT_TRAILER_LEN,
             a->n);
}

static pk_secret keyfile_secret(uint8_t fill) {
  pk_secret s = {.kind = PK_SECRET_KEYFILE};
  memset(s.key, fill, sizeof s.key);
  return s;
}

static pk_secret password_secret(const char *pw) {
  return (pk_secret){
      .kind = PK_SECRET_PASSWORD, .password = pw, .password_len = strlen(pw)};
}

static const pk_kdf_params fastkdf = {1, 8 * 1024, 1};

/* The key cache make_arc() encodes with (NULL: none). */
static pk_archive_keycache *make_cache;

static void make_arc(arc *a, const char *name, const char *stages,
                     const uint8_t *data, size_t n, uint64_t chunk,
                     int unknown_size, const pk_secret *s) {
  memset(a, 0, sizeof *a);
  a->name = name;
  a->data = data;
  a->data_n = n;
  if (s)
    a->secret = *s;
  pk_pipe_spec spec;
  pk_errmsg e = {{0}};
  ASSERT_OK(pk_pipe_spec_parse(stages, &spec, &e));
  a->encrypted = pk_pipe_spec_cipher(&spec) != NULL;
  int in = fd_with(data, n), out = memfd_create("out", 0);
  pk_fmt_header h;
  pk_archive_keys k;
  ASSERT_OK(pk_archive_header_init(&h, &spec, PK_FMT_MAX_CHUNK,
                                   unknown_size ? PK_FMT_SIZE_UNKNOWN : n, 0644,
                                   1700000000, "faults.bin", &e));
  ASSERT_OK(pk_archive_keys_new(&h, s, &fastkdf, make_cache, &k, &e));
  pk_pipe_opts o = {.gov = gov, .workers = 2, .chunk_size = chunk};
  pk_pipe_stats st;
  int rc = pk_pipe_encode(&o, in, out, &h, &k, &st, &e);
  if (rc)
    fprintf(stderr, "encode %s: %s\n", name, e.text);
  ASSERT_OK(rc);
  pk_archive_keys_wipe(&k);
  a->p = fd_bytes(out, &a->n);
  close(in);
  close(out);
  layout(a);
}

static void free_arc(arc *a) {
  free(a->p);
}

/* ---- restore --------------------------------------------------------------*/

/* Compares the restored stream with the original on the fly. */
typedef struct cmp_sink {
  const uint8_t *want;
  size_t want_n;
  uint64_t got;
  int mismatch;
} cmp_sink;

static int sink_cmp(void *ctx, uint64_t off, const uint8_t *p, size_t n) {
  cmp_sink *c = ctx;
  ASSERT_UEQ(off, c->got);
  if (off + n > c->want_n || memcmp(c->want + off, p, n) != 0)
    c->mismatch = 1;
  c->got += n;
  return PK_OK;
}

/* open_keys results for one exact header (argon2 is slow; keys depend on
 * nothing but the header's bytes and the secret). */
typedef struct key_cache {
  int valid;
  uint8_t raw[PK_FMT_HEADER_MAX];
  uint64_t hlen;
  pk_archive_keys k;
} key_cache;

typedef struct restored {
  int rc;    /* restore's result */
  int stage; /* 0 read_header, 1 open_keys, 2 decode */
  int exact; /* on PK_OK: the original bytes, all of them */
  pk_errmsg e;
  pk_archive_keys k; /* when open_keys succeeded */
  int own_keys;      /* k came from open_keys, not a cache: wipe it */
} restored;

/* read_header + open_keys + decode of fd from its start, as restore does. */
static restored restore_fd(const arc *a, int fd, const pk_secret *s,
                           key_cache *cache) {
  restored r = {0};
  pk_fmt_header h;
  uint8_t raw[PK_FMT_HEADER_MAX];
  uint64_t hlen;
  lseek(fd, 0, SEEK_SET);
  r.rc = pk_pipe_read_header(fd, &h, raw, &hlen, &r.e);
  if (r.rc)
    return r;
  r.stage = 1;
  if (cache && cache->valid && cache->hlen == hlen &&
      memcmp(cache->raw, raw, hlen) == 0) {
    r.k = cache->k;
  } else {
    r.rc = pk_pipe_open_keys(&h, raw, hlen, s, NULL, &r.k, &r.e);
    if (r.rc)
      return r;
    r.own_keys = 1;
  }
  r.stage = 2;
  cmp_sink c = {a->data, a->data_n, 0, 0};
  pk_pipe_sink sink = {sink_cmp, &c};
  pk_pipe_opts o = {.gov = gov, .workers = 2};
  pk_pipe_stats st;
  r.rc = pk_pipe_decode(&o, fd, hlen, &h, &r.k, &sink, NULL, NULL, &st, &r.e);
  r.exact = !c.mismatch && c.got == a->data_n;
  return r;
}

static int sink_keep(void *ctx, uint64_t off, const uint8_t *p, size_t n) {
  uint8_t *out = ctx;
  memcpy(out + off, p, n);
  return PK_OK;
}

/* What a's archive restores to (data_n bytes, malloc'd). */
static uint8_t *restore_capture(const arc *a) {
  int fd = fd_with(a->p, a->n);
  pk_fmt_header h;
  uint8_t raw[PK_FMT_HEADER_MAX];
  uint64_t hlen;
  pk_errmsg e;
  pk_archive_keys k;
  ASSERT_OK(pk_pipe_read_header(fd, &h, raw, &hlen, &e));
  ASSERT_OK(pk_pipe_open_keys(&h, raw, hlen, &a->secret, NULL, &k, &e));
  uint8_t *out = malloc(a->data_n + 1);
  pk_pipe_sink sink = {sink_keep, out};
  pk_pipe_opts o = {.gov = gov, .workers = 2};
  pk_pipe_stats st;
  ASSERT_OK(pk_pipe_decode(&o, fd, hlen, &h, &k, &sink, NULL, NULL, &st, &e));
  ASSERT_UEQ(st.out_bytes, a->data_n);
  pk_archive_keys_wipe(&k);
  close(fd);
  return out;
}

static restored restore_bytes(const arc *a, const uint8_t *p, size_t n,
                              const pk_secret *s) {
  int fd = fd_with(p, n);
  restored r = restore_fd(a, fd, s, NULL);
  close(fd);
  return r;
}

static int index_rc(int fd, const pk_archive_keys *k, pk_errmsg *e) {
  pk_fmt_index_entry *ents = NULL;
  uint64_t n, ioff;
  int rc = pk_pipe_read_index(fd, k, &ents, &n, &ioff, e);
  free(ents);
  return rc;
}

static void expect_corrupt(const arc *a, const uint8_t *p, size_t n,
                           const char *what, const char *needle) {
  restored r = restore_bytes(a, p, n, &a->secret);
  /* A linked chunk moved to where no group can continue (position 0, or
   * past its group's size) is refused by the reader before any tag is
   * checked: a precise corruption message too. */
  if (needle && strstr(r.e.text, "claims to continue a group"))
    needle = NULL;
  if (r.rc != PK_ECORRUPT || (needle && !strstr(r.e.text, needle)))
    TEST_FAIL_("%s: %s: expected PK_ECORRUPT%s%s%s, got %s: %s", a->name, what,
               needle ? " saying \"" : "", needle ? needle : "",
               needle ? "\"" : "", pk_err_name(r.rc), r.e.text);
}

/* ---- the tests ------------------------------------------------------------*/

static void check_roundtrip(const arc *a) {
  int fd = fd_with(a->p, a->n);
  restored r = restore_fd(a, fd, &a->secret, NULL);
  if (r.rc)
    fprintf(stderr, "%s: %s\n", a->name, r.e.text);
  ASSERT_OK(r.rc);
  ASSERT(r.exact);
  pk_errmsg e;
  ASSERT_OK(index_rc(fd, &r.k, &e));
  pk_archive_keys_wipe(&r.k);
  close(fd);
}

enum region {
  R_HEADER,
  R_KDF,
  R_SALT,
  R_KCHK,
  R_RECORDS,
  R_INDEX,
};

static enum region region_of(const arc *a, size_t off) {
  if (off < a->hlen) {
    if (off < a->kdf_off || off >= a->kdf_end)
      return R_HEADER;
    return off < a->salt_off ? R_KDF : off < a->kchk_off ? R_SALT : R_KCHK;
  }
  return off < a->index_off ? R_RECORDS : R_INDEX;
}

/* What a flip inside the argon2 parameters may give: PK_EAUTH if the
 * flipped parameters are still within the caps (argon2 runs, the key check
 * fails), PK_ECORRUPT otherwise. */
static int kdf_flip_expect(const arc *a, size_t off, uint8_t x) {
  if (off == a->kdf_off || a->p[a->kdf_off] != PK_FMT_KDF_ARGON2ID)
    return PK_ECORRUPT; /* kind byte, or parameters without argon2 */
  uint8_t f[12];
  memcpy(f, a->p + a->kdf_off + 1, sizeof f);
  f[off - a->kdf_off - 1] ^= x;
  uint64_t t = le(f, 4), m = le(f + 4, 4), p = le(f + 8, 4);
  int ok = t >= 1 && t <= PK_FMT_KDF_MAX_T && m >= PK_FMT_KDF_MIN_M_KIB &&
           m <= PK_FMT_KDF_MAX_M_KIB && p == 1;
  return ok ? PK_EAUTH : PK_ECORRUPT;
}

typedef struct flip_stats {
  size_t tried, corrupt, auth, index_only;
} flip_stats;

/* Flips byte off with x in the archive held by fd and checks the outcome. */
static void flip_one(const arc *a, int fd, size_t off, uint8_t x,
                     key_cache *cache, const pk_archive_keys *k,
                     flip_stats *fs) {
  uint8_t b = (uint8_t)(a->p[off] ^ x);
  ASSERT_EQ(pwrite(fd, &b, 1, (off_t)off), 1);
  restored r = restore_fd(a, fd, &a->secret, cache);
  enum region reg = region_of(a, off);
  fs->tried++;
  if (reg == R_INDEX) {
    /* Restore never reads the index: it must give the original back. */
    if (r.rc != PK_OK || !r.exact)
      TEST_FAIL_("%s: flip ^0x%02x at %zu (index/trailer): restore gave %s "
                 "(%s), exact %d",
                 a->name, x, off, pk_err_name(r.rc), r.e.text, r.exact);
    pk_errmsg e;
    int rc = index_rc(fd, k, &e);
    if (rc != PK_ECORRUPT)
      TEST_FAIL_("%s: flip ^0x%02x at %zu: read_index gave %s", a->name, x, off,
                 pk_err_name(rc));
    fs->index_only++;
  } else {
    int want = PK_ECORRUPT;
    if (a->encrypted && (reg == R_SALT || reg == R_KCHK))
      want = PK_EAUTH; /* another key: the key check cannot match */
    else if (a->encrypted && reg == R_KDF)
      want = kdf_flip_expect(a, off, x);
    if (r.rc != want)
      TEST_FAIL_("%s: flip ^0x%02x at %zu (region %d, stage %d): expected "
                 "%s, got %s: %s",
                 a->name, x, off, (int)reg, r.stage, pk_err_name(want),
                 pk_err_name(r.rc), r.e.text);
    fs->corrupt += r.rc == PK_ECORRUPT;
    fs->auth += r.rc == PK_EAUTH;
  }
  if (r.own_keys)
    pk_archive_keys_wipe(&r.k);
  ASSERT_EQ(pwrite(fd, &a->p[off], 1, (off_t)off), 1);
}

/* stride 1: every offset; header_stride for the header alone (argon2). */
static void flip_matrix(const arc *a, size_t header_stride, size_t stride,
                        int use_cache) {
  uint64_t t0 = pk_now_ns();
  int fd = fd_with(a->p, a->n);
  key_cache cache = {0};
  restored orig = restore_fd(a, fd, &a->secret, NULL);
  ASSERT_OK(orig.rc);
  if (use_cache) {
    cache.valid = 1;
    cache.hlen = a->hlen;
    memcpy(cache.raw, a->p, a->hlen);
    cache.k = orig.k;
  }
  flip_stats fs = {0};
  static const uint8_t xs[] = {0x01, 0xFF};
  for (size_t off = 0; off < a->n;) {
    for (size_t i = 0; i < sizeof xs; i++)
      flip_one(a, fd, off, xs[i], use_cache ? &cache : NULL, &orig.k, &fs);
    size_t step = off < a->hlen ? header_stride : stride;
    /* Sampling still visits every region's first and last bytes. */
    size_t next = off + step;
    const size_t marks[] = {a->hlen - 1,
                            a->hlen,
                            a->end_off - 1,
                            a->end_off,
                            a->index_off - 1,
                            a->index_off,
                            a->n - PK_FMT_TRAILER_LEN,
                            a->n - 1};
    for (size_t i = 0; i < sizeof marks / sizeof *marks; i++)
      if (marks[i] > off && marks[i] < next)
        next = marks[i];
    off = next;
  }
  /* The file is back to its original bytes. */
  restored again = restore_fd(a, fd, &a->secret, NULL);
  ASSERT_OK(again.rc);
  ASSERT(again.exact);
  pk_archive_keys_wipe(&again.k);
  pk_archive_keys_wipe(&orig.k);
  close(fd);
  ASSERT_UEQ(fs.tried, fs.corrupt + fs.auth + fs.index_only);
  if (a->encrypted)
    ASSERT(fs.auth > 0); /* salt and key check flips were seen */
  else
    ASSERT_UEQ(fs.auth, 0);
  fprintf(stderr,
          "   %s: %zu bytes (header %zu, %zu chunks), %zu flips: %zu "
          "PK_ECORRUPT, %zu PK_EAUTH (kdf/salt/key check), %zu index-only; "
          "%.1f s\n",
          a->name, a->n, a->hlen, a->n_rec, fs.tried, fs.corrupt, fs.auth,
          fs.index_only, (double)(pk_now_ns() - t0) / 1e9);
}

static void truncate_at(const arc *a, size_t cut, const pk_archive_keys *k) {
  int fd = fd_with(a->p, cut);
  restored r = restore_fd(a, fd, &a->secret, NULL);
  if (cut >= a->index_off) {
    if (r.rc != PK_OK || !r.exact)
      TEST_FAIL_("%s: cut at %zu (in index): restore gave %s: %s", a->name, cut,
                 pk_err_name(r.rc), r.e.text);
    pk_errmsg e;
    int rc = index_rc(fd, k, &e);
    if (rc != PK_ECORRUPT)
      TEST_FAIL_("%s: cut at %zu: read_index gave %s", a->name, cut,
                 pk_err_name(rc));
  } else if (cut < PK_FMT_HEADER_PEEK) {
    /* Too short to tell an archive at all. */
    if (r.rc != PK_ECORRUPT)
      TEST_FAIL_("%s: cut at %zu: expected PK_ECORRUPT, got %s: %s", a->name,
                 cut, pk_err_name(r.rc), r.e.text);
  } else if (r.rc != PK_ECORRUPT || !strstr(r.e.text, "truncated")) {
    TEST_FAIL_("%s: cut at %zu: expected PK_ECORRUPT saying \"truncated\", "
               "got %s: %s",
               a->name, cut, pk_err_name(r.rc), r.e.text);
  }
  if (r.own_keys)
    pk_archive_keys_wipe(&r.k);
  close(fd);
}

static void truncations(const arc *a) {
  restored orig = restore_bytes(a, a->p, a->n, &a->secret);
  ASSERT_OK(orig.rc);
  /* Every record boundary: right after the header (rec_off[0]), between
   * chunks, right before the end record (rec_off[n_rec]). */
  for (size_t i = 0; i <= a->n_rec; i++)
    truncate_at(a, a->rec_off[i], &orig.k);
  const size_t mid[] = {
      0,
      5,
      PK_FMT_HEADER_PEEK,
      a->hlen / 2,
      a->hlen - 1,
      a->rec_off[0] + 1,
      a->rec_off[0] + PK_FMT_RECORD_HDR_LEN - 1,
      a->rec_off[0] + PK_FMT_RECORD_HDR_LEN,
      a->rec_off[0] + PK_FMT_RECORD_HDR_LEN + 100,
      a->end_off - 1,
      a->end_off + 10,
      a->end_off + PK_FMT_RECORD_HDR_LEN,
      a->end_off + PK_FMT_RECORD_HDR_LEN + 10,
      a->index_off - 1,
      /* index and trailer */
      a->index_off,
      a->index_off + 1,
      a->n - PK_FMT_TRAILER_LEN,
      a->n - PK_FMT_TRAILER_LEN + 1,
      a->n - 8,
      a->n - 1,
  };
  for (size_t i = 0; i < sizeof mid / sizeof *mid; i++)
    if (mid[i] < a->n)
      truncate_at(a, mid[i], &orig.k);
  pk_archive_keys_wipe(&orig.k);
}

/* ---- moving records -------------------------------------------------------*/

typedef struct buf {
  uint8_t *p;
  size_t n;
} buf;

static void append(buf *b, const uint8_t *p, size_t n) {
  b->p = realloc(b->p, b->n + n + 1);
  memcpy(b->p + b->n, p, n);
  b->n += n;
}

static void rec_range(const arc *a, size_t i, size_t *off, size_t *len) {
  *off = a->rec_off[i];
  *len = (i < a->n_rec ? a->rec_off[i + 1] : a->index_off) - *off;
}

/* Builds header ‖ records order[0..n) ‖ end record ‖ index ‖ trailer; with
 * renumber, every record's seq (the end record's too) is rewritten to its
 * new place. order[i] == n_rec is the end record. */
static buf rebuild(const arc *a, const size_t *order, size_t n, int renumber) {
  buf b = {0};
  append(&b, a->p, a->hlen);
  for (size_t i = 0; i <= n; i++) {
    size_t src = i < n ? order[i] : a->n_rec, off, len;
    rec_range(a, src, &off, &len);
    size_t at = b.n;
    append(&b, a->p + off, len);
    if (renumber)
      put_le(b.p + at + 8, i, 8);
  }
  append(&b, a->p + a->index_off, a->n - a->index_off);
  return b;
}

/* With seq rewritten, only the binding of the record to its position (AAD
 * and nonce, or the seeded checksum) can see the change. */
static const char *binding_msg(const arc *a) {
  return a->encrypted ? "failed authentication" : "checksum";
}

static void check_moved(const arc *a, const size_t *order, size_t n,
                        const char *what) {
  char label[128];
  buf b = rebuild(a, order, n, 0);
  snprintf(label, sizeof label, "%s", what);
  expect_corrupt(a, b.p, b.n, label, NULL);
  free(b.p);
  b = rebuild(a, order, n, 1);
  snprintf(label, sizeof label, "%s, seq rewritten", what);
  expect_corrupt(a, b.p, b.n, label, binding_msg(a));
  free(b.p);
}

static void moved_records(const arc *a) {
  ASSERT(a->n_rec >= 4);
  size_t order[MAX_REC + 1];
  size_t n = a->n_rec;
  /* Identity rebuild restores: the harness itself is sound. */
  for (size_t i = 0; i < n; i++)
    order[i] = i;
  buf b = rebuild(a, order, n, 1);
  restored r = restore_bytes(a, b.p, b.n, &a->secret);
  ASSERT_OK(r.rc);
  ASSERT(r.exact);
  pk_archive_keys_wipe(&r.k);
  free(b.p);

  order[1] = 2, order[2] = 1;
  check_moved(a, order, n, "records 1 and 2 swapped");
  order[1] = 1, order[2] = 2;

  for (size_t drop = 0; drop < n; drop += n - 1) { /* first and last */
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
      if (i != drop)
        order[m++] = i;
    check_moved(a, order, m,
                drop ? "last record dropped" : "first record dropped");
  }
  {
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
      if (i != 2)
        order[m++] = i;
    check_moved(a, order, m, "record 2 dropped");
  }
  {
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
      order[m++] = i;
      if (i == 1)
        order[m++] = i;
    }
    check_moved(a, order, m, "record 1 duplicated");
  }
  {
    /* A data record where the end record belongs (STREAM's last-block
     * flag): the archive ends after chunk n-1 twice. */
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
      order[m++] = i;
    order[m++] = n - 1;
    check_moved(a, order, m, "last record duplicated");
  }
}

/* Replaces a's record i (n_rec: the end record) with other's. */
static void splice_rec(const arc *a, const arc *other, size_t i,
                       const char *what) {
  ASSERT_UEQ(a->n_rec, other->n_rec);
  size_t off, len, ooff, olen;
  rec_range(a, i, &off, &len);
  rec_range(other, i, &ooff, &olen);
  buf b = {0};
  append(&b, a->p, off);
  append(&b, other->p + ooff, olen);
  append(&b, a->p + off + len, a->n - off - len);
  expect_corrupt(a, b.p, b.n, what, binding_msg(a));
  free(b.p);
}

static void spliced_records(const arc *a, const arc *twin) {
  /* Same data, same stages, same secret: only file_id and salt differ. */
  ASSERT(memcmp(a->p + FILE_ID_OFF, twin->p + FILE_ID_OFF, PK_FMT_ID_LEN) != 0);
  splice_rec(a, twin, 1, "record 1 from a twin archive");
  splice_rec(a, twin, 0, "record 0 from a twin archive");
  splice_rec(a, twin, a->n_rec, "end record from a twin archive");
}

/* ---- secrets --------------------------------------------------------------*/

static void expect_auth(const arc *a, const pk_secret *s, const char *what) {
  restored r = restore_bytes(a, a->p, a->n, s);
  if (r.rc != PK_EAUTH || r.stage != 1)
    TEST_FAIL_("%s: %s: expected PK_EAUTH from open_keys, got %s (stage %d): "
               "%s",
               a->name, what, pk_err_name(r.rc), r.stage, r.e.text);
}

static void wrong_secrets(const arc *a) {
  pk_secret none = {.kind = PK_SECRET_NONE};
  expect_auth(a, NULL, "no secret (NULL)");
  expect_auth(a, &none, "no secret (NONE)");
  if (a->secret.kind == PK_SECRET_KEYFILE) {
    pk_secret bad = a->secret;
    bad.key[31] ^= 0x80;
    expect_auth(a, &bad, "wrong key");
    pk_secret pw = password_secret("correct horse");
    expect_auth(a, &pw, "a password for a key-file archive");
  } else {
    pk_secret bad = password_secret("correct horsE");
    expect_auth(a, &bad, "wrong password");
    pk_secret empty = password_secret("");
    expect_auth(a, &empty, "empty password");
    pk_secret kf = keyfile_secret(0x42);
    expect_auth(a, &kf, "a key file for a password archive");
  }
}

/* ---- test cases -----------------------------------------------------------*/

#define SMALL (24 * 1024 + 123)

static void full_suite(arc *a, arc *twin, size_t header_stride, size_t stride,
                       int use_cache) {
  check_roundtrip(a);
  flip_matrix(a, header_stride, stride, use_cache);
  truncations(a);
  moved_records(a);
  spliced_records(a, twin);
  if (a->encrypted)
    wrong_secrets(a);
}

static void test_plain(void) {
  uint8_t *d = make_data(SMALL, 7);
  arc a, twin;
  make_arc(&a, "zstd:3", "zstd:3", d, SMALL, 4096, 0, NULL);
  make_arc(&twin, "zstd:3 twin", "zstd:3", d, SMALL, 4096, 0, NULL);
  ASSERT_UEQ(a.n_rec, 7);
  full_suite(&a, &twin, 1, 1, 0);
  free_arc(&a);
  free_arc(&twin);
  free(d);
}

static void test_keyfile(void) {
  uint8_t *d = make_data(SMALL, 8);
  pk_secret s = keyfile_secret(0x42);
  arc a, twin;
  make_arc(&a, "zstd:3,aes256gcm keyfile", "zstd:3,aes256gcm", d, SMALL, 4096,
           0, &s);
  make_arc(&twin, "twin", "zstd:3,aes256gcm", d, SMALL, 4096, 0, &s);
  full_suite(&a, &twin, 1, 1, 0);
  free_arc(&a);
  free_arc(&twin);
  free(d);
}

static void test_password(void) {
  uint8_t *d = make_data(SMALL, 9);
  pk_secret s = password_secret("correct horse");
  arc a, twin;
  make_arc(&a, "xchacha20poly1305 password", "xchacha20poly1305", d, SMALL,
           4096, 0, &s);
  make_arc(&twin, "twin", "xchacha20poly1305", d, SMALL, 4096, 0, &s);
  /* argon2 runs on every header flip that decodes: sample the header
   * (every 3rd byte, plus every region edge); records (every 3rd byte)
   * reuse its keys. */
  full_suite(&a, &twin, 3, 3, 1);
  /* The key-derivation fields are all flipped: they matter most. */
  int fd = fd_with(a.p, a.n);
  restored orig = restore_fd(&a, fd, &a.secret, NULL);
  ASSERT_OK(orig.rc);
  flip_stats fs = {0};
  for (size_t off = a.kdf_off; off < a.kdf_end; off++)
    for (int x = 0; x < 2; x++)
      flip_one(&a, fd, off, x ? 0xFF : 0x01, NULL, &orig.k, &fs);
  ASSERT_UEQ(fs.tried, fs.corrupt + fs.auth);
  fprintf(stderr, "   kdf fields: %zu flips, %zu PK_ECORRUPT, %zu PK_EAUTH\n",
          fs.tried, fs.corrupt, fs.auth);
  pk_archive_keys_wipe(&orig.k);
  close(fd);
  free_arc(&a);
  free_arc(&twin);
  free(d);
}

/* Above PK_PIPE_SMALL_FILE: the threaded decoder must fail the same way. */
static void test_threaded(void) {
  size_t n = PK_PIPE_SMALL_FILE + 5 * 4096 + 77;
  uint8_t *d = make_data(n, 10);
  pk_secret s = keyfile_secret(0x17);
  arc a, twin;
  make_arc(&a, "threaded zstd:3,aes256gcm", "zstd:3,aes256gcm", d, n, 65536, 0,
           &s);
  make_arc(&twin, "twin", "zstd:3,aes256gcm", d, n, 65536, 0, &s);
  ASSERT_UEQ(a.n_rec, 5);
  full_suite(&a, &twin, 7, 997, 0);
  free_arc(&a);
  free_arc(&twin);
  /* Unknown size also takes the threaded path, for a small input. */
  make_arc(&a, "threaded unknown-size lz4", "lz4", d, SMALL, 4096, 1, NULL);
  make_arc(&twin, "twin", "lz4", d, SMALL, 4096, 1, NULL);
  full_suite(&a, &twin, 5, 61, 0);
  free_arc(&a);
  free_arc(&twin);
  free(d);
}

/* Other stage combinations, sampled: the checks must not depend on which
 * stages run (base64 and PII transforms, RAW chunks, other ciphers and
 * digests). */
static void test_other_stages(void) {
  static const char *const combos[] = {
      "none",
      "base64,gzip:6,chacha20poly1305,blake2b",
      "pii,base64url,lz4,sha256",
      "brotli:1,aes256gcm",
  };
  uint8_t *d = make_data(SMALL, 13);
  for (size_t off = 700; off + 64 < SMALL; off += 1500)
    memcpy(d + off, " mail jane.doe@example.com or +44 20 7946 0958 ", 48);
  pk_secret s = keyfile_secret(0x99);
  for (size_t i = 0; i < sizeof combos / sizeof *combos; i++) {
    arc a, twin;
    pk_pipe_spec spec;
    pk_errmsg e;
    ASSERT_OK(pk_pipe_spec_parse(combos[i], &spec, &e));
    const pk_secret *sp = pk_pipe_spec_cipher(&spec) ? &s : NULL;
    make_arc(&a, combos[i], combos[i], d, SMALL, 4096, 0, sp);
    make_arc(&twin, "twin", combos[i], d, SMALL, 4096, 0, sp);
    uint8_t *masked = NULL;
    if (pk_pipe_spec_irreversible(&spec)) {
      /* Restore gives the masked text: that is what it must reproduce. */
      masked = restore_capture(&a);
      ASSERT(memcmp(masked, d, SMALL) != 0);
      a.data = twin.data = masked;
    }
    full_suite(&a, &twin, 3, 13, 0);
    free(masked);
    free_arc(&a);
    free_arc(&twin);
  }
  free(d);
}

static void test_empty(void) {
  static const char *const stages[] = {"zstd:3", "zstd:3,aes256gcm"};
  pk_secret s = keyfile_secret(0x42);
  for (int i = 0; i < 2; i++) {
    arc a;
    uint8_t none = 0;
    make_arc(&a, stages[i], stages[i], &none, 0, 4096, 0, i ? &s : NULL);
    ASSERT_UEQ(a.n_rec, 0);
    check_roundtrip(&a);
    /* Cut at every offset: restore fails up to the end of the end record;
     * after it, the index does. Never both succeed. */
    restored orig = restore_bytes(&a, a.p, a.n, &a.secret);
    ASSERT_OK(orig.rc);
    for (size_t cut = 0; cut < a.n; cut++) {
      int fd = fd_with(a.p, cut);
      restored r = restore_fd(&a, fd, &a.secret, NULL);
      pk_errmsg e;
      int irc = index_rc(fd, &orig.k, &e);
      ASSERT(r.rc != PK_OK || irc != PK_OK);
      ASSERT_EQ(irc, PK_ECORRUPT);
      if (cut < a.index_off)
        ASSERT_EQ(r.rc, PK_ECORRUPT);
      else
        ASSERT_OK(r.rc);
      if (r.own_keys)
        pk_archive_keys_wipe(&r.k);
      close(fd);
    }
    pk_archive_keys_wipe(&orig.k);
    flip_matrix(&a, 1, 1, 0);
    truncations(&a);
    free_arc(&a);
  }
}

/* Hostile argon2 parameters are refused by header decode, before any key
 * derivation (which would allocate m KiB and run t passes). The tag is
 * left as it is: the caps must be checked without it. */
static void hostile_kdf(const arc *a, size_t field, uint32_t value,
                        const char *what) {
  uint8_t *p = malloc(a->n);
  memcpy(p, a->p, a->n);
  put_le(p + a->kdf_off + 1 + 4 * field, value, 4);
  uint64_t t0 = pk_now_ns();
  restored r = restore_bytes(a, p, a->n, &a->secret);
  double ms = (double)(pk_now_ns() - t0) / 1e6;
  if (r.rc != PK_ECORRUPT || r.stage != 0 || !strstr(r.e.text, "argon2id"))
    TEST_FAIL_("%s: expected PK_ECORRUPT from read_header, got %s (stage "
               "%d): %s",
               what, pk_err_name(r.rc), r.stage, r.e.text);
  fprintf(stderr, "   %s: refused in %.2f ms: %s\n", what, ms, r.e.text);
  free(p);
}

static void test_hostile_header(void) {
  uint8_t *d = make_data(5000, 11);
  pk_secret s = password_secret("pw");
  arc a;
  make_arc(&a, "hostile", "zstd:3,aes256gcm", d, 5000, 4096, 0, &s);
  ASSERT_EQ(a.p[a.kdf_off], PK_FMT_KDF_ARGON2ID);
  hostile_kdf(&a, 1, 4u * 1024 * 1024, "m = 4 GiB");
  hostile_kdf(&a, 1, UINT32_MAX, "m = 4 TiB - 1 KiB");
  hostile_kdf(&a, 1, PK_FMT_KDF_MAX_M_KIB + 1, "m = 1 GiB + 1 KiB");
  hostile_kdf(&a, 1, 1, "m = 1 KiB");
  hostile_kdf(&a, 0, 1000, "t = 1000");
  hostile_kdf(&a, 0, UINT32_MAX, "t = 2^32-1");
  hostile_kdf(&a, 0, 0, "t = 0");
  hostile_kdf(&a, 2, 1000, "p = 1000");
  hostile_kdf(&a, 2, 0, "p = 0");
  free_arc(&a);

  /* A key-file archive rewritten to ask for argon2 with huge parameters. */
  pk_secret kf = keyfile_secret(1);
  make_arc(&a, "hostile keyfile", "zstd:3,aes256gcm", d, 5000, 4096, 0, &kf);
  a.p[a.kdf_off] = PK_FMT_KDF_ARGON2ID;
  hostile_kdf(&a, 0, 1000, "key file -> argon2 t = 1000");
  put_le(a.p + a.kdf_off + 1, 1, 4);
  put_le(a.p + a.kdf_off + 9, 1, 4);
  hostile_kdf(&a, 1, 4u * 1024 * 1024, "key file -> argon2 m = 4 GiB");
  free_arc(&a);
  free(d);
}

/* Argon2 parallelism other than 1: the key derivation supports p = 1
 * only, so the header must refuse the rest (PK_ECORRUPT) rather than let
 * open_keys answer with a code it does not document (PK_EUNSUPPORTED). */
static void test_kdf_parallelism(void) {
  uint8_t *d = make_data(5000, 12);
  pk_secret s = password_secret("pw");
  arc a;
  make_arc(&a, "p=2", "zstd:3,aes256gcm", d, 5000, 4096, 0, &s);
  put_le(a.p + a.kdf_off + 9, 2, 4);
  restored r = restore_bytes(&a, a.p, a.n, &a.secret);
  if (r.rc != PK_ECORRUPT && r.rc != PK_EAUTH)
    TEST_FAIL_("argon2 p = 2 in the header: expected PK_ECORRUPT or "
               "PK_EAUTH, got %s (stage %d): %s",
               pk_err_name(r.rc), r.stage, r.e.text);
  free_arc(&a);
  free(d);
}

/* A batch of password archives shares one salt through a key cache
 * (archive.h): only file_id tells their keys apart. Records must still not
 * move between them, and a warm cache must not open an archive for a
 * wrong password. */
static void test_keycache_batch(void) {
  uint8_t *d = make_data(SMALL, 15);
  pk_secret s = password_secret("batch password");
  pk_archive_keycache cache = {0};
  static const char *const stages[] = {"zstd:3,aes256gcm", "chacha20poly1305"};
  for (int i = 0; i < 2; i++) {
    arc a, b;
    make_cache = &cache;
    make_arc(&a, stages[i], stages[i], d, SMALL, 4096, 0, &s);
    make_arc(&b, "batch twin", stages[i], d, SMALL, 4096, 0, &s);
    make_cache = NULL;
    ASSERT(memcmp(a.p + a.salt_off, b.p + b.salt_off, PK_FMT_SALT_LEN) == 0);
    ASSERT(memcmp(a.p + FILE_ID_OFF, b.p + FILE_ID_OFF, PK_FMT_ID_LEN) != 0);
    check_roundtrip(&a);
    spliced_records(&a, &b);

    /* Open a with the right password through the cache, then b (same
     * salt, so the cache applies) with a wrong one. */
    pk_archive_keycache oc = {0};
    pk_fmt_header h;
    uint8_t raw[PK_FMT_HEADER_MAX];
    uint64_t hlen;
    pk_archive_keys k;
    pk_errmsg e;
    int fd = fd_with(a.p, a.n);
    ASSERT_OK(pk_pipe_read_header(fd, &h, raw, &hlen, &e));
    ASSERT_OK(pk_pipe_open_keys(&h, raw, hlen, &s, &oc, &k, &e));
    pk_archive_keys_wipe(&k);
    close(fd);
    fd = fd_with(b.p, b.n);
    ASSERT_OK(pk_pipe_read_header(fd, &h, raw, &hlen, &e));
    pk_secret wrong = password_secret("wrong password");
    int rc = pk_pipe_open_keys(&h, raw, hlen, &wrong, &oc, &k, &e);
    if (rc != PK_EAUTH)
      TEST_FAIL_("%s: a wrong password with a warm key cache: expected "
                 "PK_EAUTH, got %s",
                 stages[i], pk_err_name(rc));
    close(fd);
    pk_archive_keycache_wipe(&oc);
    free_arc(&a);
    free_arc(&b);
  }
  /* The encode-side cache is warm for "batch password"; an archive made
   * through it with another password must open with that password. */
  pk_secret other = password_secret("another password");
  arc c;
  make_cache = &cache;
  make_arc(&c, "other password, warm cache", "zstd:3,aes256gcm", d, SMALL, 4096,
           0, &other);
  make_cache = NULL;
  restored r = restore_bytes(&c, c.p, c.n, &other);
  if (r.rc != PK_OK)
    TEST_FAIL_("an archive made with \"another password\" through a key "
               "cache warm for another one does not open with it: %s: %s",
               pk_err_name(r.rc), r.e.text);
  pk_archive_keys_wipe(&r.k);
  free_arc(&c);
  pk_archive_keycache_wipe(&cache);
  free(d);
}

/* Encodes data[0..actual) while the header claims `declared` bytes (a file
 * that grew or shrank between stat and read, as a log file does). */
static int encode_claiming(const char *stages, const uint8_t *data,
                           size_t actual, uint64_t declared, int in_fd,
                           arc *a) {
  memset(a, 0, sizeof *a);
  a->name = stages;
  a->data = data;
  a->data_n = actual;
  pk_pipe_spec spec;
  pk_errmsg e = {{0}};
  ASSERT_OK(pk_pipe_spec_parse(stages, &spec, &e));
  int in = in_fd >= 0 ? in_fd : fd_with(data, actual);
  int out = memfd_create("out", 0);
  pk_fmt_header h;
  pk_archive_keys k;
  ASSERT_OK(pk_archive_header_init(&h, &spec, PK_FMT_MAX_CHUNK, declared, 0644,
                                   1700000000, "grows.log", &e));
  ASSERT_OK(pk_archive_keys_new(&h, NULL, NULL, NULL, &k, &e));
  pk_pipe_opts o = {.gov = gov, .workers = 2};
  pk_pipe_stats st;
  int rc = pk_pipe_encode(&o, in, out, &h, &k, &st, &e);
  if (rc == PK_OK) {
    a->p = fd_bytes(out, &a->n);
    layout(a);
  } else {
    fprintf(stderr, "   %s, %zu bytes declared as %llu: encode says %s: %s\n",
            stages, actual, (unsigned long long)declared, pk_err_name(rc),
            e.text);
  }
  if (in_fd < 0)
    close(in);
  close(out);
  return rc;
}

/* An input whose size differs from the size the header declares must not
 * give an archive that restore then refuses: encode has to fail (the
 * header is already written), or the archive has to restore. */
static void test_input_changed_size(void) {
  const size_t sizes[] = {5000, PK_PIPE_SMALL_FILE + 5000};
  for (size_t i = 0; i < 2; i++) {
    size_t n = sizes[i];
    uint8_t *d = make_data(n + 4096, 14);
    const long delta[] = {+1000, -1000};
    for (size_t j = 0; j < 2; j++) {
      arc a;
      size_t actual = (size_t)((long)n + delta[j]);
      int rc = encode_claiming("zstd:3", d, actual, n, -1, &a);
      if (rc != PK_OK)
        continue; /* refused: fine */
      restored r = restore_bytes(&a, a.p, a.n, NULL);
      if (r.rc != PK_OK || !r.exact)
        TEST_FAIL_("input of %zu bytes declared as %zu: encode succeeded, "
                   "but restore gives %s: %s",
                   actual, n, pk_err_name(r.rc), r.e.text);
      free_arc(&a);
    }
    free(d);
  }
}

/* A read error on the input fails the encode, on both paths, and frees
 * everything (LeakSanitizer checks at exit). */
static void test_input_read_error(void) {
  const uint64_t declared[] = {10, PK_PIPE_SMALL_FILE + 10,
                               PK_FMT_SIZE_UNKNOWN};
  for (size_t i = 0; i < 3; i++) {
    int dir = open("/", O_RDONLY | O_DIRECTORY); /* read(): EISDIR */
    ASSERT(dir >= 0);
    arc a;
    uint8_t none = 0;
    int rc = encode_claiming("zstd:3", &none, 0, declared[i], dir, &a);
    ASSERT(rc != PK_OK);
    close(dir);
  }
}

int main(void) {
  ASSERT_OK(pk_gov_create(&(pk_gov_config){.cpu_tokens = 2,
                                           .io_tokens = 4,
                                           .mem_budget = 512u << 20},
                          &gov));
  uint64_t t0 = pk_now_ns();
  RUN(test_plain);
  RUN(test_keyfile);
  RUN(test_password);
  RUN(test_threaded);
  RUN(test_other_stages);
  RUN(test_empty);
  RUN(test_hostile_header);
  RUN(test_kdf_parallelism);
  RUN(test_keycache_batch);
  RUN(test_input_changed_size);
  RUN(test_input_read_error);
  fprintf(stderr, "faults: %.1f s\n", (double)(pk_now_ns() - t0) / 1e9);
  pk_gov_free(gov);
  return 0;
}
