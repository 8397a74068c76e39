/* transform.c — base64 and PII masking on one chunk; see transform.h. */
#include "pipe/transform.h"

#include <stdatomic.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define PK__HAVE_X86 1
#endif

/* ======================================================================
 * base64
 * ====================================================================== */

static const uint8_t enc_std[65] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const uint8_t enc_url[65] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Character -> 6-bit value, 255 for anything outside the alphabet (the
 * high bit lets one OR over four lookups detect a bad character). */
/* clang-format off */
static const uint8_t dec_std[256] = {
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,  62, 255, 255, 255,  63,
     52,  53,  54,  55,  56,  57,  58,  59,  60,  61, 255, 255, 255, 255, 255, 255,
    255,   0,   1,   2,   3,   4,   5,   6,   7,   8,   9,  10,  11,  12,  13,  14,
     15,  16,  17,  18,  19,  20,  21,  22,  23,  24,  25, 255, 255, 255, 255, 255,
    255,  26,  27,  28,  29,  30,  31,  32,  33,  34,  35,  36,  37,  38,  39,  40,
     41,  42,  43,  44,  45,  46,  47,  48,  49,  50,  51, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
};
static const uint8_t dec_url[256] = {
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,  62, 255, 255,
     52,  53,  54,  55,  56,  57,  58,  59,  60,  61, 255, 255, 255, 255, 255, 255,
    255,   0,   1,   2,   3,   4,   5,   6,   7,   8,   9,  10,  11,  12,  13,  14,
     15,  16,  17,  18,  19,  20,  21,  22,  23,  24,  25, 255, 255, 255, 255,  63,
    255,  26,  27,  28,  29,  30,  31,  32,  33,  34,  35,  36,  37,  38,  39,  40,
     41,  42,  43,  44,  45,  46,  47,  48,  49,  50,  51, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
};
/* clang-format on */

size_t pk_b64_encoded_len(size_t n) {
  size_t groups = n / 3 + (n % 3 != 0);
  if (groups > SIZE_MAX / 4)
    return SIZE_MAX;
  return groups * 4;
}

size_t pk_b64_decoded_max(size_t n) {
  return n / 4 * 3;
}

#ifdef PK__HAVE_X86
/* -1 unknown, 0 no, 1 yes; a benign race: every thread computes the same. */
static _Atomic int avx2_state = -1;

static int have_avx2(void) {
  int s = atomic_load_explicit(&avx2_state, memory_order_relaxed);
  if (s < 0) {
    __builtin_cpu_init();
    s = __builtin_cpu_supports("avx2") ? 1 : 0;
    atomic_store_explicit(&avx2_state, s, memory_order_relaxed);
  }
  return s;
}

/* 24 bytes -> 32 characters per step (Muła & Lemire). Each 128-bit lane
 * gets 12 input bytes; a shuffle places every 3-byte group as b1 b0 b2 b1
 * in a 32-bit word, two masked multiplies move the four 6-bit fields into
 * the four bytes, and a 16-entry table adds the offset from the field's
 * value range to its ASCII character. Reads 28 bytes per step, so it
 * stops while at least 32 remain; returns the bytes consumed. */
__attribute__((target("avx2"))) static size_t
enc_avx2(int url, const uint8_t *in, size_t n, uint8_t *out) {
  const __m256i shuf =
      _mm256_set_epi8(10, 11, 9, 10, 7, 8, 6, 7, 4, 5, 3, 4, 1, 2, 0, 1, 10, 11,
                      9, 10, 7, 8, 6, 7, 4, 5, 3, 4, 1, 2, 0, 1);
  /* Offsets: [0] A-Z +65, [1] a-z +71, [2..11] 0-9 -4, [12] value 62,
   * [13] value 63. */
  const char o62 = url ? '-' - 62 : '+' - 62, o63 = url ? '_' - 63 : '/' - 63;
  const __m256i lut = _mm256_setr_epi8(
      65, 71, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, o62, o63, 0, 0, 65, 71,
      -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, o62, o63, 0, 0);
  const __m256i m0 = _mm256_set1_epi32(0x0fc0fc00);
  const __m256i k0 = _mm256_set1_epi32(0x04000040);
  const __m256i m1 = _mm256_set1_epi32(0x003f03f0);
  const __m256i k1 = _mm256_set1_epi32(0x01000010);
  const __m256i c51 = _mm256_set1_epi8(51), c25 = _mm256_set1_epi8(25);
  size_t i = 0;
  uint8_t *o = out;
  while (n - i >= 32) {
    __m128i lo = _mm_loadu_si128((const __m128i *)(in + i));
    __m128i hi = _mm_loadu_si128((const __m128i *)(in + i + 12));
    __m256i v = _mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1);
    v = _mm256_shuffle_epi8(v, shuf);
    __m256i t1 = _mm256_mulhi_epu16(_mm256_and_si256(v, m0), k0);
    __m256i t3 = _mm256_mullo_epi16(_mm256_and_si256(v, m1), k1);
    __m256i idx = _mm256_or_si256(t1, t3);
    __m256i r = _mm256_subs_epu8(idx, c51);
    r = _mm256_sub_epi8(r, _mm256_cmpgt_epi8(idx, c25));
    _mm256_storeu_si256((__m256i *)o,
                        _mm256_add_epi8(idx, _mm256_shuffle_epi8(lut, r)));
    i += 24;
    o += 32;
  }
  return i;
}

/* 32 characters -> 24 bytes per step. Validation by range compares (a
 * byte >= 0x80 is negative as a signed char and falls in no range), the
 * offset of each range added, then multiply-adds pack four 6-bit values
 * into three bytes per 32-bit word and a shuffle + permute squeeze out the
 * gaps. Stops at the first block holding a character outside the alphabet
 * (padding included), leaving it to the scalar loop that reports it, and
 * while fewer than 48 characters remain so that its 32-byte store stays
 * inside the exact output. Returns the characters consumed. */
__attribute__((target("avx2"))) static size_t
dec_avx2(int url, const uint8_t *in, size_t n, uint8_t *out) {
  const char c62 = url ? '-' : '+', c63 = url ? '_' : '/';
  const __m256i a_lo = _mm256_set1_epi8('A' - 1),
                a_hi = _mm256_set1_epi8('Z' + 1);
  const __m256i l_lo = _mm256_set1_epi8('a' - 1),
                l_hi = _mm256_set1_epi8('z' + 1);
  const __m256i d_lo = _mm256_set1_epi8('0' - 1),
                d_hi = _mm256_set1_epi8('9' + 1);
  const __m256i e62 = _mm256_set1_epi8(c62), e63 = _mm256_set1_epi8(c63);
  const __m256i f_up = _mm256_set1_epi8(-65), f_lo = _mm256_set1_epi8(-71);
  const __m256i f_dg = _mm256_set1_epi8(4);
  const __m256i f62 = _mm256_set1_epi8((char)(62 - c62));
  const __m256i f63 = _mm256_set1_epi8((char)(63 - c63));
  const __m256i k0 = _mm256_set1_epi32(0x01400140);
  const __m256i k1 = _mm256_set1_epi32(0x00011000);
  const __m256i pack =
      _mm256_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1,
                       2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1);
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 4, 5, 6, 7, 7);
  size_t i = 0;
  uint8_t *o = out;
  while (n - i >= 48) {
    __m256i c = _mm256_loadu_si256((const __m256i *)(in + i));
    __m256i up = _mm256_and_si256(_mm256_cmpgt_epi8(c, a_lo),
                                  _mm256_cmpgt_epi8(a_hi, c));
    __m256i lo = _mm256_and_si256(_mm256_cmpgt_epi8(c, l_lo),
                                  _mm256_cmpgt_epi8(l_hi, c));
    __m256i dg = _mm256_and_si256(_mm256_cmpgt_epi8(c, d_lo),
                                  _mm256_cmpgt_epi8(d_hi, c));
    __m256i s62 = _mm256_cmpeq_epi8(c, e62), s63 = _mm256_cmpeq_epi8(c, e63);
    __m256i ok =
        _mm256_or_si256(_mm256_or_si256(up, lo),
                        _mm256_or_si256(dg, _mm256_or_si256(s62, s63)));
    if (_mm256_movemask_epi8(ok) != -1)
      break;
    __m256i off = _mm256_or_si256(
        _mm256_or_si256(_mm256_and_si256(up, f_up), _mm256_and_si256(lo, f_lo)),
        _mm256_or_si256(_mm256_and_si256(dg, f_dg),
                        _mm256_or_si256(_mm256_and_si256(s62, f62),
                                        _mm256_and_si256(s63, f63))));
    __m256i v = _mm256_add_epi8(c, off);
    v = _mm256_madd_epi16(_mm256_maddubs_epi16(v, k0), k1);
    v = _mm256_permutevar8x32_epi32(_mm256_shuffle_epi8(v, pack), lanes);
    _mm256_storeu_si256((__m256i *)o, v);
    i += 32;
    o += 24;
  }
  return i;
}
#endif /* PK__HAVE_X86 */

int pk_b64_encode(pk_b64_alphabet a, const uint8_t *in, size_t n, uint8_t *out,
                  size_t out_cap, size_t *out_len) {
  if ((a != PK_B64_STD && a != PK_B64_URL) || (!in && n) || !out_len ||
      (!out && n))
    return PK_EINVAL;
  size_t need = pk_b64_encoded_len(n);
  if (need == SIZE_MAX || out_cap < need)
    return PK_ELIMIT;
  const uint8_t *t = a == PK_B64_URL ? enc_url : enc_std;
  size_t i = 0;
  uint8_t *o = out;
#ifdef PK__HAVE_X86
  if (n >= 32 && have_avx2()) {
    i = enc_avx2(a == PK_B64_URL, in, n, out);
    o += i / 3 * 4;
  }
#endif
  for (; n - i >= 3; i += 3, o += 4) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
    o[0] = t[v >> 18];
    o[1] = t[v >> 12 & 63];
    o[2] = t[v >> 6 & 63];
    o[3] = t[v & 63];
  }
  if (n - i == 1) {
    uint32_t v = (uint32_t)in[i] << 16;
    o[0] = t[v >> 18];
    o[1] = t[v >> 12 & 63];
    o[2] = o[3] = '=';
    o += 4;
  } else if (n - i == 2) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
    o[0] = t[v >> 18];
    o[1] = t[v >> 12 & 63];
    o[2] = t[v >> 6 & 63];
    o[3] = '=';
    o += 4;
  }
  *out_len = (size_t)(o - out);
  return PK_OK;
}

static int bad_char(pk_errmsg *e, const uint8_t *in, size_t at) {
  return pk_errmsg_set(e, PK_ECORRUPT,
                       "invalid base64 character 0x%02x at offset %zu", in[at],
                       at);
}

int pk_b64_decode(pk_b64_alphabet a, const uint8_t *in, size_t n, uint8_t *out,
                  size_t out_cap, size_t *out_len, pk_errmsg *e) {
  if ((a != PK_B64_STD && a != PK_B64_URL) || (!in && n) || !out_len)
    return pk_errmsg_set(e, PK_EINVAL, "invalid base64 decode arguments");
  if (n % 4 != 0)
    return pk_errmsg_set(e, PK_ECORRUPT,
                         "base64 input is %zu characters, not a multiple of 4",
                         n);
  if (n == 0) {
    *out_len = 0;
    return PK_OK;
  }
  size_t pad = in[n - 1] == '=' ? (in[n - 2] == '=' ? 2 : 1) : 0;
  size_t exact = n / 4 * 3 - pad;
  if (!out || out_cap < exact)
    return pk_errmsg_set(e, out ? PK_ELIMIT : PK_EINVAL,
                         "base64 output buffer of %zu bytes is too small for "
                         "%zu",
                         out_cap, exact);
  const uint8_t *t = a == PK_B64_URL ? dec_url : dec_std;
  size_t i = 0;
  uint8_t *o = out;
#ifdef PK__HAVE_X86
  if (n >= 48 && have_avx2()) {
    i = dec_avx2(a == PK_B64_URL, in, n, out);
    o += i / 4 * 3;
  }
#endif
  /* Every quartet but the last holds 4 alphabet characters. Reading all
   * four before writing three keeps in-place decoding safe. */
  for (; n - i > 4; i += 4, o += 3) {
    uint32_t c0 = t[in[i]], c1 = t[in[i + 1]], c2 = t[in[i + 2]],
             c3 = t[in[i + 3]];
    if ((c0 | c1 | c2 | c3) & 0x80) {
      size_t at = i;
      while (!(t[in[at]] & 0x80))
        at++;
      return bad_char(e, in, at);
    }
    uint32_t v = c0 << 18 | c1 << 12 | c2 << 6 | c3;
    o[0] = (uint8_t)(v >> 16);
    o[1] = (uint8_t)(v >> 8);
    o[2] = (uint8_t)v;
  }
  /* The last quartet: xxxx, xxx= or xx==. */
  uint32_t c[4];
  size_t real = 4 - pad;
  for (size_t k = 0; k < real; k++) {
    c[k] = t[in[i + k]];
    if (c[k] & 0x80)
      return bad_char(e, in, i + k);
  }
  for (size_t k = real; k < 4; k++)
    c[k] = 0;
  uint32_t v = c[0] << 18 | c[1] << 12 | c[2] << 6 | c[3];
  /* Canonical form: the bits under the padding must be zero, or two
   * different strings would decode to the same bytes. */
  if ((pad == 2 && (c[1] & 0x0f)) || (pad == 1 && (c[2] & 0x03)))
    return pk_errmsg_set(e, PK_ECORRUPT,
                         "non-canonical base64 padding at offset %zu", i);
  o[0] = (uint8_t)(v >> 16);
  if (pad < 2)
    o[1] = (uint8_t)(v >> 8);
  if (pad < 1)
    o[2] = (uint8_t)v;
  o += 3 - pad;
  *out_len = (size_t)(o - out);
  return PK_OK;
}

/* ======================================================================
 * PII masking
 * ====================================================================== */

static inline int is_digit(uint8_t c) {
  return (unsigned)(c - '0') < 10u;
}
static inline int is_upper(uint8_t c) {
  return (unsigned)(c - 'A') < 26u;
}
static inline int is_lower(uint8_t c) {
  return (unsigned)(c - 'a') < 26u;
}
static inline int is_alpha(uint8_t c) {
  return is_upper(c) || is_lower(c);
}
static inline int is_alnum(uint8_t c) {
  return is_digit(c) || is_alpha(c);
}
static inline int is_word(uint8_t c) {
  return is_alnum(c) || c == '_' || c == '@';
}
/* Glue: punctuation that joins the characters on its two sides into one
 * bigger token, so that no match may start or end at it. '.' and '-' glue
 * to letters and digits ("v1.2", "3.14", "rc-1", "2024-01"); '/', ':' and
 * '+' only to digits ("1/2", "12:30", "1+1") so that labels such as
 * "ssn:", "tel:+44" and "Tel/Fax" still leave a match free. ',' never
 * glues: it is the CSV separator ("John,555-123-4567,..."). */
static inline int glues(uint8_t p, uint8_t q) {
  if (p == '.' || p == '-')
    return is_alnum(q);
  if (p == '/' || p == ':' || p == '+')
    return is_digit(q);
  return 0;
}
static inline int is_email_local(uint8_t c) {
  return is_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' ||
         c == '-';
}

/* A token may start at s: it is not glued to a word before it. */
static int left_ok(const uint8_t *b, size_t s) {
  if (s == 0)
    return 1;
  uint8_t p = b[s - 1];
  if (is_word(p))
    return 0;
  return !(s >= 2 && glues(p, b[s - 2]));
}

/* A token may end at e: it is not glued to a word or number after it. */
static int right_ok(const uint8_t *b, size_t len, size_t e) {
  if (e >= len)
    return 1;
  uint8_t c = b[e];
  if (is_word(c))
    return 0;
  return !(e + 1 < len && glues(c, b[e + 1]));
}

/* Counts digits from p (at most max + 1, so "too many" is visible). */
static size_t digits_at(const uint8_t *b, size_t len, size_t p, size_t max) {
  size_t n = 0;
  while (p + n < len && n <= max && is_digit(b[p + n]))
    n++;
  return n;
}

/* ---- US SSN: ddd-dd-dddd ---------------------------------------------- */

static size_t match_ssn(const uint8_t *b, size_t len, size_t s) {
  if (len - s < 11 || b[s + 3] != '-' || b[s + 6] != '-')
    return 0;
  static const uint8_t digit_pos[9] = {0, 1, 2, 4, 5, 7, 8, 9, 10};
  for (int k = 0; k < 9; k++)
    if (!is_digit(b[s + digit_pos[k]]))
      return 0;
  if (!right_ok(b, len, s + 11))
    return 0;
  const uint8_t *d = b + s;
  if (d[0] == '9' || (d[0] == '0' && d[1] == '0' && d[2] == '0') ||
      (d[0] == '6' && d[1] == '6' && d[2] == '6'))
    return 0;
  if (d[4] == '0' && d[5] == '0')
    return 0;
  if (d[7] == '0' && d[8] == '0' && d[9] == '0' && d[10] == '0')
    return 0;
  return s + 11;
}

/* ---- payment cards ---------------------------------------------------- */

static int luhn_ok(const uint8_t *dg, size_t n) {
  unsigned sum = 0;
  for (size_t k = 0; k < n; k++) {
    unsigned v = dg[n - 1 - k];
    if (k & 1) {
      v *= 2;
      if (v > 9)
        v -= 9;
    }
    sum += v;
  }
  return sum % 10 == 0;
}

static int card_grouping_ok(const size_t *g, size_t ng) {
  if (ng == 1)
    return 1;
  if (ng == 3 && g[0] == 4 && g[1] == 6 && (g[2] == 5 || g[2] == 4))
    return 1; /* Amex 4-6-5, Diners 4-6-4 */
  for (size_t k = 0; k + 1 < ng; k++)
    if (g[k] != 4)
      return 0;
  return g[ng - 1] >= 1 && g[ng - 1] <= 4;
}

static size_t match_card(const uint8_t *b, size_t len, size_t s) {
  if (b[s] < '2' || b[s] > '6')
    return 0;
  uint8_t dg[19];
  size_t g[8], gend[8], ng = 0, nd = 0, p = s;
  uint8_t sep = 0;
  /* Collect up to 19 digits in up to 8 groups split by one separator. */
  for (;;) {
    size_t run = digits_at(b, len, p, 19);
    if (run == 0 || nd + run > 19)
      break;
    for (size_t k = 0; k < run; k++)
      dg[nd + k] = (uint8_t)(b[p + k] - '0');
    nd += run;
    p += run;
    g[ng] = run;
    gend[ng++] = p;
    if (ng == 8 || p + 1 >= len || (b[p] != ' ' && b[p] != '-') ||
        !is_digit(b[p + 1]))
      break;
    if (sep && b[p] != sep)
      break;
    sep = b[p];
    p++;
  }
  if (ng == 0)
    return 0;
  if (ng == 1 && g[0] < 13) /* also rejects a run of more than 19 */
    return 0;
  /* Longest prefix of whole groups that is a valid card. */
  for (size_t k = ng; k >= 1; k--) {
    size_t n = 0;
    for (size_t q = 0; q < k; q++)
      n += g[q];
    if (n < 13)
      break;
    if (n <= 19 && card_grouping_ok(g, k) && luhn_ok(dg, n) &&
        right_ok(b, len, gend[k - 1]))
      return gend[k - 1];
  }
  return 0;
}

/* ---- phones ----------------------------------------------------------- */

static inline int is_phone_sep(uint8_t c) {
  return c == ' ' || c == '-' || c == '.';
}

/* North American: [1 sep] ddd sep ddd sep dddd | [1 sep] (ddd)[ ]ddd sep
 * dddd, s at the '1', the first digit or the '('. */
static size_t match_nanp(const uint8_t *b, size_t len, size_t s) {
  size_t p = s;
  if (b[p] == '1' && p + 2 < len && is_phone_sep(b[p + 1]) &&
      (is_digit(b[p + 2]) || b[p + 2] == '('))
    p += 2;
  uint8_t sep;
  if (b[p] == '(') {
    if (digits_at(b, len, p + 1, 3) != 3 || p + 4 >= len || b[p + 4] != ')')
      return 0;
    p += 5;
    if (p < len && b[p] == ' ')
      p++;
    if (digits_at(b, len, p, 3) != 3 || p + 3 >= len || !is_phone_sep(b[p + 3]))
      return 0;
    p += 4;
  } else {
    if (digits_at(b, len, p, 3) != 3 || p + 3 >= len || !is_phone_sep(b[p + 3]))
      return 0;
    sep = b[p + 3];
    p += 4;
    if (digits_at(b, len, p, 3) != 3 || p + 3 >= len || b[p + 3] != sep)
      return 0;
    p += 4;
  }
  if (digits_at(b, len, p, 4) != 4)
    return 0;
  p += 4;
  return right_ok(b, len, p) ? p : 0;
}

/* European national format with trunk prefix 0, s at the '0' or '('. */
static size_t match_eu(const uint8_t *b, size_t len, size_t s) {
  size_t p = s, nd = 0, ng = 0;
  int intl = 0;
  uint8_t sep = 0;
  if (b[p] == '(') {
    size_t g = digits_at(b, len, p + 1, 5);
    if (g < 2 || g > 5 || b[p + 1] != '0' || p + 1 + g >= len ||
        b[p + 1 + g] != ')')
      return 0;
    nd += g;
    ng++;
    p += g + 2;
    if (p < len && (b[p] == ' ' || b[p] == '-' || b[p] == '/'))
      p++;
    if (p >= len || !is_digit(b[p]))
      return 0;
  } else {
    size_t g = digits_at(b, len, p, 5);
    if (g < 2 || g > 5 || b[p] != '0')
      return 0;
    intl = b[p + 1] == '0';
    nd += g;
    ng++;
    p += g;
    if (p + 1 >= len || !is_digit(b[p + 1]))
      return 0;
    sep = b[p];
    if (sep != ' ' && sep != '-' && sep != '.' && sep != '/')
      return 0;
    p++;
  }
  /* Then groups of 2-8 digits, one consistent separator between them. */
  for (;;) {
    size_t g = digits_at(b, len, p, 8);
    if (g < 2 || g > 8)
      return 0;
    nd += g;
    ng++;
    p += g;
    if (nd > 17 || ng > 8)
      return 0;
    if (p + 1 >= len || !is_digit(b[p + 1]))
      break;
    uint8_t c = b[p];
    if (sep == 0 && (c == ' ' || c == '-' || c == '.' || c == '/'))
      sep = c;
    else if (c != sep)
      break;
    p++;
  }
  if (ng < 2)
    return 0;
  if (intl ? (nd < 11 || nd > 17) : (nd < 9 || nd > 11))
    return 0;
  return right_ok(b, len, p) ? p : 0;
}

/* International: s at the '+'. */
static size_t match_plus(const uint8_t *b, size_t len, size_t s) {
  size_t p = s + 1, nd = 0, ng = 0, nsep = 0, first = 0;
  int dots = 0;
  for (;;) {
    if (p >= len)
      break;
    if (b[p] == '(') {
      if (ng == 0)
        return 0; /* the country code comes first */
      size_t g = digits_at(b, len, p + 1, 4);
      if (g < 1 || g > 4 || p + 1 + g >= len || b[p + 1 + g] != ')')
        return 0;
      if (!(g == 1 && b[p + 1] == '0')) /* "(0)" is a trunk, not a digit */
        nd += g;
      p += g + 2;
    } else {
      size_t g = digits_at(b, len, p, 15);
      if (g == 0)
        break;
      if (ng == 0)
        first = g;
      nd += g;
      p += g;
    }
    ng++;
    if (nd > 15 || p - s > 40)
      return 0;
    if (p < len && is_digit(b[p])) /* "(0)20": a group right after ')' */
      continue;
    if (p + 1 < len && is_phone_sep(b[p]) &&
        (is_digit(b[p + 1]) || b[p + 1] == '(')) {
      dots += b[p] == '.';
      nsep++;
      p++;
    } else if (p < len && b[p] == '(') {
      continue;
    } else {
      break;
    }
  }
  if (nd < 8 || nd > 15)
    return 0;
  if (ng > 1 && (first < 1 || first > 3))
    return 0;
  if (dots && (dots != (int)nsep || nsep < 2))
    return 0;
  return right_ok(b, len, p) ? p : 0;
}

/* ---- UK National Insurance number ------------------------------------- */

static int nino_prefix_ok(uint8_t a, uint8_t b) {
  if (!is_upper(a) || !is_upper(b))
    return 0;
  if (strchr("DFIQUV", a) || strchr("DFIOQUV", b))
    return 0;
  static const char *const never[] = {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"};
  for (size_t k = 0; k < sizeof never / sizeof never[0]; k++)
    if (a == (uint8_t)never[k][0] && b == (uint8_t)never[k][1])
      return 0;
  return 1;
}

/* s at the first prefix letter: LL[ ]dd[ ]dd[ ]dd[ ]S. */
static size_t match_nino(const uint8_t *b, size_t len, size_t s) {
  if (len - s < 9 || !nino_prefix_ok(b[s], b[s + 1]) || !left_ok(b, s))
    return 0;
  size_t p = s + 2;
  for (int pair = 0; pair < 3; pair++) {
    if (p < len && b[p] == ' ')
      p++;
    if (p + 2 > len || !is_digit(b[p]) || !is_digit(b[p + 1]))
      return 0;
    p += 2;
  }
  if (p < len && b[p] == ' ')
    p++;
  if (p >= len || b[p] < 'A' || b[p] > 'D')
    return 0;
  p++;
  return right_ok(b, len, p) ? p : 0;
}

/* ---- email ------------------------------------------------------------ */

/* at is the '@'; the local part may not reach back before `floor` (the end
 * of the previous match). Sets *start. */
static size_t match_email(const uint8_t *b, size_t len, size_t at, size_t floor,
                          size_t *start) {
  size_t ls = at, lim = at - floor > 129 ? at - 129 : floor;
  while (ls > lim && is_email_local(b[ls - 1]))
    ls--;
  if (ls == lim && ls > floor && is_email_local(b[ls - 1]))
    return 0; /* longer than 128: not an address we recognise */
  while (ls < at && b[ls] == '.')
    ls++;
  if (ls == at || b[at - 1] == '.')
    return 0;
  size_t p = at + 1, labels = 0, tld_start = p;
  for (;;) {
    size_t q = p;
    while (q < len && q - p < 64 && (is_alnum(b[q]) || b[q] == '-'))
      q++;
    while (q > p && b[q - 1] == '-') /* a label never ends with '-' */
      q--;
    if (q == p || b[p] == '-')
      break;
    labels++;
    tld_start = p;
    p = q;
    if (p + 1 < len && b[p] == '.' && is_alnum(b[p + 1]) && p - at < 254)
      p++;
    else
      break;
  }
  if (labels < 2)
    return 0;
  if (p - tld_start < 2)
    return 0;
  for (size_t q = tld_start; q < p; q++)
    if (!is_alpha(b[q]))
      return 0;
  if (p < len && (is_alnum(b[p]) || b[p] == '@' || b[p] == '_'))
    return 0;
  *start = ls;
  return p;
}

/* ---- driver ----------------------------------------------------------- */

/* Tries every numeric kind for the digit run b[i..run_end) (b[i-1] is not
 * a digit). Sets *start and *kind; returns the end, or 0. */
static size_t match_numeric(const uint8_t *b, size_t len, size_t i,
                            size_t run_end, size_t floor, uint32_t kinds,
                            size_t *start, pk_pii_kind *kind) {
  size_t e;
  uint8_t p1 = i >= 1 ? b[i - 1] : 0;
  if (i >= floor + 1 && p1 == '+' && (kinds & PK_PII_BIT(PK_PII_PHONE)) &&
      left_ok(b, i - 1) && (e = match_plus(b, len, i - 1))) {
    *start = i - 1;
    *kind = PK_PII_PHONE;
    return e;
  }
  if (i >= floor + 1 && p1 == '(' && (kinds & PK_PII_BIT(PK_PII_PHONE)) &&
      left_ok(b, i - 1) &&
      ((e = match_nanp(b, len, i - 1)) || (e = match_eu(b, len, i - 1)))) {
    *start = i - 1;
    *kind = PK_PII_PHONE;
    return e;
  }
  if (kinds & PK_PII_BIT(PK_PII_NINO)) {
    size_t s = SIZE_MAX;
    if (i >= floor + 2 && is_upper(p1))
      s = i - 2;
    else if (i >= floor + 3 && p1 == ' ' && is_upper(b[i - 2]))
      s = i - 3;
    if (s != SIZE_MAX && (e = match_nino(b, len, s))) {
      *start = s;
      *kind = PK_PII_NINO;
      return e;
    }
  }
  /* What the first run and the byte after it allow: most numbers in text
   * (counters, decimals, dates) fail here without running a recogniser. */
  size_t d = run_end - i;
  uint8_t c = run_end < len ? b[run_end] : 0, f = b[i];
  int ssn = d == 3 && c == '-';
  int card = f >= '2' && f <= '6' &&
             ((d >= 13 && d <= 19) || (d == 4 && (c == ' ' || c == '-')));
  int nanp = (d == 3 || (d == 1 && f == '1')) && is_phone_sep(c);
  int eu = f == '0' && d >= 2 && d <= 5 && (is_phone_sep(c) || c == '/');
  if (!(ssn || card || nanp || eu) || !left_ok(b, i))
    return 0;
  *start = i;
  if (ssn && (kinds & PK_PII_BIT(PK_PII_SSN)) && (e = match_ssn(b, len, i))) {
    *kind = PK_PII_SSN;
    return e;
  }
  if (card && (kinds & PK_PII_BIT(PK_PII_CARD)) &&
      (e = match_card(b, len, i))) {
    *kind = PK_PII_CARD;
    return e;
  }
  if ((kinds & PK_PII_BIT(PK_PII_PHONE)) &&
      ((nanp && (e = match_nanp(b, len, i))) ||
       (eu && (e = match_eu(b, len, i))))) {
    *kind = PK_PII_PHONE;
    return e;
  }
  return 0;
}

/* Index of the next digit or '@' at or after i, or len. */
static size_t next_anchor(const uint8_t *b, size_t len, size_t i) {
#ifdef PK__HAVE_X86
  /* SSE2 is part of x86-64: 16 bytes per step. (c - '0') as unsigned is
   * <= 9 exactly for digits: min(x, 9) == x. */
  const __m128i zero = _mm_set1_epi8('0'), nine = _mm_set1_epi8(9),
                at = _mm_set1_epi8('@');
  while (len - i >= 16) {
    __m128i c = _mm_loadu_si128((const __m128i *)(b + i));
    __m128i x = _mm_sub_epi8(c, zero);
    __m128i dg = _mm_cmpeq_epi8(_mm_min_epu8(x, nine), x);
    __m128i hit = _mm_or_si128(dg, _mm_cmpeq_epi8(c, at));
    unsigned m = (unsigned)_mm_movemask_epi8(hit);
    if (m)
      return i + (size_t)__builtin_ctz(m);
    i += 16;
  }
#endif
  while (i < len && !is_digit(b[i]) && b[i] != '@')
    i++;
  return i;
}

const char *pk_pii_kind_name(pk_pii_kind kind) {
  static const char *const names[PK_PII__KIND_COUNT] = {
      [PK_PII_EMAIL] = "email", [PK_PII_PHONE] = "phone",
      [PK_PII_CARD] = "card",   [PK_PII_SSN] = "ssn",
      [PK_PII_NINO] = "nino",
  };
  if ((unsigned)kind >= PK_PII__KIND_COUNT)
    return "?";
  return names[kind];
}

size_t pk_pii_mask_ex(uint8_t *buf, size_t len, const pk_pii_opts *opts,
                      pk_pii_stats *counts) {
  if (!buf || len == 0)
    return 0;
  uint32_t kinds = opts && opts->kinds ? opts->kinds & PK_PII_ALL : PK_PII_ALL;
  uint8_t mc = opts && opts->mask_char ? opts->mask_char : '*';
  uint64_t found[PK_PII__KIND_COUNT] = {0}, masked = 0;
  size_t matches = 0, floor = 0, i = 0;
  int want_email = (kinds & PK_PII_BIT(PK_PII_EMAIL)) != 0;
  uint32_t numeric = kinds & ~PK_PII_BIT(PK_PII_EMAIL);
  while ((i = next_anchor(buf, len, i)) < len) {
    size_t s = 0, e = 0;
    pk_pii_kind k = PK_PII_EMAIL;
    if (buf[i] == '@') {
      if (!want_email || !(e = match_email(buf, len, i, floor, &s))) {
        i++;
        continue;
      }
    } else {
      size_t run_end = i;
      while (run_end < len && is_digit(buf[run_end]))
        run_end++;
      if (!numeric || (i > 0 && is_digit(buf[i - 1])) ||
          !(e = match_numeric(buf, len, i, run_end, floor, numeric, &s, &k))) {
        i = run_end; /* no match starts inside a digit run */
        continue;
      }
    }
    for (size_t q = s; q < e; q++) {
      if (is_alnum(buf[q])) {
        buf[q] = mc;
        masked++;
      }
    }
    found[k]++;
    matches++;
    floor = i = e;
  }
  if (counts) {
    for (int k = 0; k < PK_PII__KIND_COUNT; k++)
      counts->found[k] += found[k];
    counts->masked_bytes += masked;
  }
  return matches;
}

size_t pk_pii_mask(uint8_t *buf, size_t len, pk_pii_stats *counts) {
  return pk_pii_mask_ex(buf, len, NULL, counts);
}

size_t pk_pii_safe_split(const uint8_t *buf, size_t len) {
  if (!buf)
    return 0;
  for (size_t k = len; k > 0; k--) {
    uint8_t c = buf[k - 1];
    if (c == '\n')
      return k;
    if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
      if (k == len)
        continue; /* the byte after it is in the next chunk: unknown */
      if ((k >= 2 && is_digit(buf[k - 2])) || is_digit(buf[k]))
        continue;
      return k;
    }
  }
  return 0;
}
