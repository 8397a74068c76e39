/* test_transform.c — unit tests for pipe/transform.h (base64, PII masking).
 *
 * Base64 is checked against libsodium's independent encoder
 * (sodium_bin2base64) for every length 0..70 and for 1 MiB, which covers
 * both the AVX2 blocks and the scalar tails. PII masking is checked on a
 * corpus of positives (with their exact masked form) and negatives (which
 * must come back unchanged), and every test buffer is its own exact-size
 * heap block so that AddressSanitizer catches any read past the end. */
#include <sodium.h>

#include "pipe/transform.h"
#include "test.h"

static void fill(uint8_t *p, size_t n, uint32_t seed) {
  for (size_t i = 0; i < n; i++) {
    seed = seed * 1103515245u + 12345u;
    p[i] = (uint8_t)(seed >> 16);
  }
}

/* ---- base64 ------------------------------------------------------------- */

static void b64_check_one(pk_b64_alphabet a, const uint8_t *in, size_t n) {
  int variant = a == PK_B64_URL ? sodium_base64_VARIANT_URLSAFE
                                : sodium_base64_VARIANT_ORIGINAL;
  size_t elen = pk_b64_encoded_len(n);
  ASSERT_UEQ(elen, sodium_base64_ENCODED_LEN(n, variant) - 1);
  uint8_t *enc = malloc(elen + 1), *ref = malloc(elen + 1);
  uint8_t *dec = malloc(n + 1);
  ASSERT(enc && ref && dec);
  size_t got = 0;
  ASSERT_OK(pk_b64_encode(a, in, n, enc, elen, &got));
  ASSERT_UEQ(got, elen);
  sodium_bin2base64((char *)ref, elen + 1, in, n, variant);
  if (memcmp(enc, ref, elen) != 0)
    TEST_FAIL_("encode mismatch at n=%zu alphabet=%d", n, (int)a);
  /* Decode into an exact-size buffer, then in place. */
  uint8_t *exact = malloc(n ? n : 1);
  ASSERT(exact);
  ASSERT_OK(pk_b64_decode(a, enc, elen, exact, n, &got, NULL));
  ASSERT_UEQ(got, n);
  ASSERT(n == 0 || memcmp(exact, in, n) == 0);
  ASSERT_OK(pk_b64_decode(a, enc, elen, enc, elen, &got, NULL));
  ASSERT_UEQ(got, n);
  ASSERT(n == 0 || memcmp(enc, in, n) == 0);
  /* One byte too little room is refused before anything is written. */
  if (n > 0) {
    ASSERT_ERR(pk_b64_encode(a, in, n, ref, elen - 1, &got), PK_ELIMIT);
    ASSERT_ERR(pk_b64_decode(a, ref, elen, dec, n - 1, &got, NULL), PK_ELIMIT);
  }
  free(enc);
  free(ref);
  free(dec);
  free(exact);
}

static void test_b64_rfc4648_vectors(void) {
  static const char *const v[][2] = {{"", ""},
                                     {"f", "Zg=="},
                                     {"fo", "Zm8="},
                                     {"foo", "Zm9v"},
                                     {"foob", "Zm9vYg=="},
                                     {"fooba", "Zm9vYmE="},
                                     {"foobar", "Zm9vYmFy"}};
  uint8_t out[16];
  size_t n;
  for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) {
    ASSERT_OK(pk_b64_encode(PK_B64_STD, (const uint8_t *)v[k][0],
                            strlen(v[k][0]), out, sizeof out, &n));
    ASSERT_UEQ(n, strlen(v[k][1]));
    ASSERT(memcmp(out, v[k][1], n) == 0);
    ASSERT_OK(pk_b64_decode(PK_B64_URL, (const uint8_t *)v[k][1],
                            strlen(v[k][1]), out, sizeof out, &n, NULL));
    ASSERT_UEQ(n, strlen(v[k][0]));
    ASSERT(memcmp(out, v[k][0], n) == 0);
  }
  /* The two alphabets differ in values 62 and 63 only. */
  const uint8_t fbff[2] = {0xfb, 0xff};
  ASSERT_OK(pk_b64_encode(PK_B64_STD, fbff, 2, out, sizeof out, &n));
  ASSERT(n == 4 && memcmp(out, "+/8=", 4) == 0);
  ASSERT_OK(pk_b64_encode(PK_B64_URL, fbff, 2, out, sizeof out, &n));
  ASSERT(n == 4 && memcmp(out, "-_8=", 4) == 0);
  ASSERT_UEQ(pk_b64_encoded_len(SIZE_MAX), SIZE_MAX);
  ASSERT_UEQ(pk_b64_decoded_max(8), 6);
}

static void test_b64_round_trips(void) {
  uint8_t buf[70];
  for (int a = 0; a < 2; a++) {
    for (size_t n = 0; n <= 70; n++) {
      fill(buf, n, (uint32_t)n + 1);
      b64_check_one((pk_b64_alphabet)a, buf, n);
    }
    /* All byte values, so every character of the alphabet appears. */
    uint8_t all[256 * 3];
    for (size_t i = 0; i < sizeof all; i++)
      all[i] = (uint8_t)(i * 7 + i / 256);
    b64_check_one((pk_b64_alphabet)a, all, sizeof all);
    size_t big = 1u << 20;
    uint8_t *r = malloc(big);
    ASSERT(r);
    randombytes_buf(r, big);
    b64_check_one((pk_b64_alphabet)a, r, big);
    b64_check_one((pk_b64_alphabet)a, r + 1, big - 1);
    b64_check_one((pk_b64_alphabet)a, r + 2, big - 2);
    free(r);
  }
}

/* Replaces one character of a valid encoding with each byte value outside
 * the alphabet, at a position inside the AVX2 blocks and in the scalar
 * tail, and expects PK_ECORRUPT naming that offset. */
static void test_b64_invalid(void) {
  enum { N = 96 }; /* 128 characters */
  uint8_t raw[N], enc[128], out[N];
  size_t n;
  pk_errmsg e = {{0}};
  fill(raw, N, 77);
  for (int a = 0; a < 2; a++) {
    const char *alpha =
        a ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
          : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    static const size_t positions[] = {0, 5, 31, 32, 63, 100, 124, 125};
    for (size_t pi = 0; pi < sizeof positions / sizeof positions[0]; pi++) {
      size_t pos = positions[pi];
      for (int c = 0; c < 256; c++) {
        if (c && strchr(alpha, c))
          continue;
        ASSERT_OK(
            pk_b64_encode((pk_b64_alphabet)a, raw, N, enc, sizeof enc, &n));
        enc[pos] = (uint8_t)c;
        ASSERT_ERR(
            pk_b64_decode((pk_b64_alphabet)a, enc, n, out, sizeof out, &n, &e),
            PK_ECORRUPT);
        char want[32];
        snprintf(want, sizeof want, "at offset %zu", pos);
        if (!strstr(e.text, want))
          TEST_FAIL_("c=0x%02x pos=%zu: \"%s\"", c, pos, e.text);
        n = 128;
      }
    }
  }
  /* The other alphabet's characters are invalid. */
  ASSERT_ERR(
      pk_b64_decode(PK_B64_STD, (const uint8_t *)"ab-_", 4, out, 3, &n, &e),
      PK_ECORRUPT);
  ASSERT_ERR(
      pk_b64_decode(PK_B64_URL, (const uint8_t *)"ab+/", 4, out, 3, &n, &e),
      PK_ECORRUPT);
  /* Structure: length, padding placement, canonical bits, whitespace. */
  static const char *const bad[] = {"Zg",        "Zg=",          "Zm9vY",
                                    "Z===",      "====",         "Zg=a",
                                    "Zm=v",      "Zg==Zg==",     "Zh==",
                                    "Zm9=",      "Zm9v\n",       "Zm 9",
                                    "Zm9v Zm9v", "Zm9vYmFy\r\n", "=Zm9"};
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    int rc = pk_b64_decode(PK_B64_STD, (const uint8_t *)bad[k], strlen(bad[k]),
                           out, sizeof out, &n, &e);
    if (rc != PK_ECORRUPT)
      TEST_FAIL_("\"%s\" decoded: %s", bad[k], pk_err_name(rc));
  }
  ASSERT_ERR(
      pk_b64_decode(PK_B64_STD, (const uint8_t *)"Zh==", 4, out, 3, &n, &e),
      PK_ECORRUPT);
  ASSERT(strstr(e.text, "non-canonical"));
  ASSERT_ERR(
      pk_b64_decode(PK_B64_STD, (const uint8_t *)"Zm9v\n", 5, out, 3, &n, &e),
      PK_ECORRUPT);
  ASSERT(strstr(e.text, "multiple of 4"));
  ASSERT_ERR(pk_b64_decode((pk_b64_alphabet)5, (const uint8_t *)"Zm9v", 4, out,
                           3, &n, NULL),
             PK_EINVAL);
  ASSERT_ERR(pk_b64_encode(PK_B64_STD, NULL, 3, out, 4, &n), PK_EINVAL);
  ASSERT_OK(pk_b64_encode(PK_B64_STD, NULL, 0, NULL, 0, &n));
  ASSERT_UEQ(n, 0);
  ASSERT_OK(pk_b64_decode(PK_B64_STD, NULL, 0, NULL, 0, &n, NULL));
  ASSERT_UEQ(n, 0);
}

/* ---- PII ---------------------------------------------------------------- */

/* Masks a private exact-size copy of `in`; returns it (caller frees). */
static char *masked(const char *in, pk_pii_stats *st) {
  size_t n = strlen(in);
  uint8_t *b = malloc(n ? n : 1);
  ASSERT(b);
  memcpy(b, in, n);
  pk_pii_mask(b, n, st);
  char *s = malloc(n + 1);
  ASSERT(s);
  memcpy(s, b, n);
  s[n] = '\0';
  free(b);
  return s;
}

static void expect_mask(const char *in, const char *want, int kind) {
  pk_pii_stats st;
  memset(&st, 0, sizeof st);
  char *got = masked(in, &st);
  if (strcmp(got, want) != 0)
    TEST_FAIL_("mask(\"%s\")\n  got  \"%s\"\n  want \"%s\"", in, got, want);
  ASSERT_UEQ(strlen(got), strlen(in));
  if (kind >= 0 && st.found[kind] != 1)
    TEST_FAIL_("mask(\"%s\"): %s count %" PRIu64 ", want 1", in,
               pk_pii_kind_name((pk_pii_kind)kind), st.found[kind]);
  free(got);
}

static void test_pii_positives(void) {
  /* Emails. */
  expect_mask("Contact john.doe@example.com today",
              "Contact ****.***@*******.*** today", PK_PII_EMAIL);
  expect_mask("<a.b+tag@mail.co.uk>", "<*.*+***@****.**.**>", PK_PII_EMAIL);
  expect_mask("mailto:jane_99@sub-domain.example.org.",
              "mailto:****_**@***-******.*******.***.", PK_PII_EMAIL);
  expect_mask("x@y.io", "*@*.**", PK_PII_EMAIL);
  expect_mask("5551234567@txt.att.net", "**********@***.***.***", PK_PII_EMAIL);
  expect_mask("\"Bob\" <BOB.SMITH@Example.COM>",
              "\"Bob\" <***.*****@*******.***>", PK_PII_EMAIL);
  /* North American phones. */
  expect_mask("Call 555-123-4567 now", "Call ***-***-**** now", PK_PII_PHONE);
  expect_mask("(555) 123-4567", "(***) ***-****", PK_PII_PHONE);
  expect_mask("(555)123-4567.", "(***)***-****.", PK_PII_PHONE);
  expect_mask("1-800-555-0199", "*-***-***-****", PK_PII_PHONE);
  expect_mask("555.123.4567", "***.***.****", PK_PII_PHONE);
  expect_mask("tel 555 123 4567,", "tel *** *** ****,", PK_PII_PHONE);
  /* International. */
  expect_mask("+1 202 555 0143", "+* *** *** ****", PK_PII_PHONE);
  expect_mask("+1 (202) 555-0143", "+* (***) ***-****", PK_PII_PHONE);
  expect_mask("+44 20 7946 0958", "+** ** **** ****", PK_PII_PHONE);
  expect_mask("+44 (0)20 7946 0958", "+** (*)** **** ****", PK_PII_PHONE);
  expect_mask("+442079460958", "+************", PK_PII_PHONE);
  expect_mask("+33 1 23 45 67 89", "+** * ** ** ** **", PK_PII_PHONE);
  expect_mask("+49-30-901820", "+**-**-******", PK_PII_PHONE);
  expect_mask("+1.202.555.0143", "+*.***.***.****", PK_PII_PHONE);
  expect_mask("phone:+4915123456789", "phone:+*************", PK_PII_PHONE);
  /* European national. */
  expect_mask("020 7946 0958", "*** **** ****", PK_PII_PHONE);
  expect_mask("07700 900123", "***** ******", PK_PII_PHONE);
  expect_mask("01 23 45 67 89", "** ** ** ** **", PK_PII_PHONE);
  expect_mask("01.23.45.67.89", "**.**.**.**.**", PK_PII_PHONE);
  expect_mask("030/901820", "***/******", PK_PII_PHONE);
  expect_mask("(030) 901820", "(***) ******", PK_PII_PHONE);
  expect_mask("06-12345678", "**-********", PK_PII_PHONE);
  expect_mask("0044 20 7946 0958", "**** ** **** ****", PK_PII_PHONE);
  /* Cards (the networks' published test numbers). */
  expect_mask("4111 1111 1111 1111", "**** **** **** ****", PK_PII_CARD);
  expect_mask("card=4111-1111-1111-1111;", "card=****-****-****-****;",
              PK_PII_CARD);
  expect_mask("4111111111111111", "****************", PK_PII_CARD);
  expect_mask("5555555555554444", "****************", PK_PII_CARD);
  expect_mask("2223003122003222", "****************", PK_PII_CARD);
  expect_mask("378282246310005", "***************", PK_PII_CARD);
  expect_mask("3782 822463 10005", "**** ****** *****", PK_PII_CARD);
  expect_mask("6011111111111117", "****************", PK_PII_CARD);
  expect_mask("30569309025904", "**************", PK_PII_CARD);
  expect_mask("3056 930902 5904", "**** ****** ****", PK_PII_CARD);
  expect_mask("4222222222222", "*************", PK_PII_CARD);
  expect_mask("3530111333300000", "****************", PK_PII_CARD);
  expect_mask("6200000000000005", "****************", PK_PII_CARD);
  expect_mask("4111 1111 1111 1111 exp 12/25", "**** **** **** **** exp 12/25",
              PK_PII_CARD);
  expect_mask("#4532015112830366", "#****************", PK_PII_CARD);
  /* US SSN. */
  expect_mask("SSN 123-45-6789.", "SSN ***-**-****.", PK_PII_SSN);
  expect_mask("ssn:078-05-1120", "ssn:***-**-****", PK_PII_SSN);
  /* UK NI numbers. */
  expect_mask("NI AB123456C", "NI *********", PK_PII_NINO);
  expect_mask("AB 12 34 56 C", "** ** ** ** *", PK_PII_NINO);
  expect_mask("(JG103759A)", "(*********)", PK_PII_NINO);
  expect_mask("ni: AB 123456 D", "ni: ** ****** *", PK_PII_NINO);
  /* CSV: commas separate, they do not glue. */
  expect_mask("John,555-123-4567,4111111111111111,123-45-6789,a@b.de\n",
              "John,***-***-****,****************,***-**-****,*@*.**\n", -1);
  expect_mask("Tel/Fax 020 7946 0958", "Tel/Fax *** **** ****", PK_PII_PHONE);
  expect_mask("tel:+1-202-555-0143", "tel:+*-***-***-****", PK_PII_PHONE);
}

static void test_pii_negatives(void) {
  static const char *const keep[] = {
      /* versions, dates, times, addresses, ids */
      "Version 1.2.3 and v10.0.19045.2965 and 2.31.0-rc1",
      "Date: 2024-01-31, 31.01.2024, 01/02/2023, 12/25/2023, 2024/01/31",
      "01.02.2023 14:00 and 05.06.07 and 2023-10-05T12:34:56.789Z",
      "Time 12:30:45, 09.30-10.30, 23:59:59.999",
      "IP 192.168.1.100, 10.0.0.1, 255.255.255.0, ::1, fe80::1",
      "uuid 550e8400-e29b-41d4-a716-446655440000",
      "sha d41d8cd98f00b204e9800998ecf8427e and 4111111111111111ab",
      "commit 3f786850e387550fdab836ed7e6dc881de23001b",
      /* ordinary numbers */
      "Order 123456789012 shipped; total: 1,234,567.89 USD",
      "Epoch 1700000000 and 1700000000123 ms and 1700000000123456789 ns",
      "pi = 3.14159265358979 e = 2.718281828459045",
      "values 10 20 30 40 50 60 70 80 90 100",
      "0.5 0.25 0.125 0.0625",
      "Room 101, floor 3, ext. 1234, zip 90210, 555-1234",
      "price $4,111.11 or 1e10 or -42 or +5.5% or +12 or +1234567",
      "ISBN 978-3-16-148410-0 and ISSN 0317-8471",
      "lat 51.5074, lon -0.1278",
      "4111111111111112 fails Luhn; 1234 5678 9012 3456 starts with 1",
      "7111111111111114 starts with 7; 41111111111111111111 is 20 digits",
      "4111 1111 1111 111 is 15 digits in a bad grouping",
      "12345678901234567890123 a long number",
      "a 30-digit id 123456789012345678901234567890",
      /* look-alikes that are not the format */
      "000-12-3456 123-00-4567 123-45-0000 666-12-3456 900-12-3456",
      "123-456-78 and 12-345-6789 and 123-45-67890",
      "1 555 123 and 55-123-4567 and 5551234567",
      "QQ123456C (example prefix) AB123456E DA123456A ZZ123456A",
      "ab123456c lower case, XAB123456C glued, AB123456CX glued",
      "ABC123456D",
      /* email look-alikes */
      "user@localhost @mention npm i pkg@1.2.3 a@b.c x@@y.com @",
      "foo@bar foo@.com foo@-bar.com .@x.com",
      /* code and markup */
      "for (int i = 0; i < 10; i++) { x[i] = 0x7fff; }",
      "<td>42</td><td>3.50</td> {\"id\": 1234, \"v\": [1,2,3]}",
      "",
  };
  for (size_t k = 0; k < sizeof keep / sizeof keep[0]; k++) {
    pk_pii_stats st;
    memset(&st, 0, sizeof st);
    char *got = masked(keep[k], &st);
    if (strcmp(got, keep[k]) != 0)
      TEST_FAIL_("negative was masked:\n  in  \"%s\"\n  out \"%s\"", keep[k],
                 got);
    ASSERT_UEQ(st.masked_bytes, 0);
    free(got);
  }
}

static void test_pii_counts_and_options(void) {
  const char *text =
      "From: alice@example.com, bob@example.org\n"
      "Phones: +44 20 7946 0958; (555) 123-4567; 020 7946 0958\n"
      "Cards: 4111 1111 1111 1111 / 5555555555554444 / 378282246310005\n"
      "SSN 123-45-6789, NI AB 12 34 56 C, JG103759A\n"
      "Build 1.2.3 on 2024-01-31 at 12:30, order 123456789012.\n";
  pk_pii_stats st;
  memset(&st, 0, sizeof st);
  size_t n = strlen(text);
  uint8_t *b = malloc(n);
  ASSERT(b);
  memcpy(b, text, n);
  ASSERT_UEQ(pk_pii_mask(b, n, &st), 11);
  ASSERT_UEQ(st.found[PK_PII_EMAIL], 2);
  ASSERT_UEQ(st.found[PK_PII_PHONE], 3);
  ASSERT_UEQ(st.found[PK_PII_CARD], 3);
  ASSERT_UEQ(st.found[PK_PII_SSN], 1);
  ASSERT_UEQ(st.found[PK_PII_NINO], 2);
  /* Exactly the letters and digits that changed were counted, and the
   * untouched last line proves the rest stayed. */
  uint64_t changed = 0;
  for (size_t i = 0; i < n; i++)
    changed += b[i] != (uint8_t)text[i];
  ASSERT_UEQ(st.masked_bytes, changed);
  ASSERT(strstr((const char *)b, "Build 1.2.3 on 2024-01-31 at 12:30, order "
                                 "123456789012.\n") != NULL);
  /* Counts accumulate across calls; masking again finds nothing new. */
  ASSERT_UEQ(pk_pii_mask(b, n, &st), 0);
  ASSERT_UEQ(st.found[PK_PII_EMAIL], 2);
  pk_pii_mask(NULL, 0, &st);
  pk_pii_mask(b, n, NULL);

  /* Options: only cards, with 'X'. */
  memcpy(b, text, n);
  pk_pii_opts o = {PK_PII_BIT(PK_PII_CARD), 'X'};
  memset(&st, 0, sizeof st);
  ASSERT_UEQ(pk_pii_mask_ex(b, n, &o, &st), 3);
  ASSERT_UEQ(st.found[PK_PII_CARD], 3);
  ASSERT_UEQ(st.found[PK_PII_EMAIL] + st.found[PK_PII_PHONE], 0);
  ASSERT(strstr((const char *)b, "XXXX XXXX XXXX XXXX / XXXXXXXXXXXXXXXX"));
  ASSERT(strstr((const char *)b, "alice@example.com"));
  free(b);
  ASSERT_STREQ(pk_pii_kind_name(PK_PII_NINO), "nino");
  ASSERT_STREQ(pk_pii_kind_name(PK_PII__KIND_COUNT), "?");
}

static void test_pii_safe_split(void) {
  const char *s;
  /* A newline is always safe. */
  s = "call 555 123 4567\nnext";
  ASSERT_UEQ(pk_pii_safe_split((const uint8_t *)s, strlen(s)), 18);
  /* Spaces next to digits are not: the cut goes before the phone. */
  s = "please call 555 123 4567";
  ASSERT_UEQ(pk_pii_safe_split((const uint8_t *)s, strlen(s)), 7);
  s = "id AB 12 34 56 C";
  ASSERT_UEQ(pk_pii_safe_split((const uint8_t *)s, strlen(s)), 3);
  /* A trailing space is unsafe (what follows is unknown). */
  s = "hello world ";
  ASSERT_UEQ(pk_pii_safe_split((const uint8_t *)s, strlen(s)), 6);
  s = "nowhitespace";
  ASSERT_UEQ(pk_pii_safe_split((const uint8_t *)s, strlen(s)), 0);
  ASSERT_UEQ(pk_pii_safe_split((const uint8_t *)"", 0), 0);
  ASSERT_UEQ(pk_pii_safe_split(NULL, 0), 0);

  /* The property the engine relies on: masking chunks cut at safe points
   * gives exactly what masking the whole gives. */
  const char *lines[] = {
      "Contact john.doe@example.com or +44 20 7946 0958 today. ",
      "Card 4111 1111 1111 1111, SSN 123-45-6789, NI AB 12 34 56 C. ",
      "Build 1.2.3 on 2024-01-31, call (555) 123-4567 or 020 7946 0958.\n",
      "Plain words without anything to hide, repeated a little. ",
  };
  size_t cap = 64 * 1024, n = 0;
  uint8_t *whole = malloc(cap), *chunked = malloc(cap);
  ASSERT(whole && chunked);
  uint32_t seed = 12345;
  while (n < cap - 200) {
    seed = seed * 1103515245u + 12345u;
    const char *l = lines[(seed >> 16) % 4];
    memcpy(whole + n, l, strlen(l));
    n += strlen(l);
  }
  memcpy(chunked, whole, n);
  pk_pii_stats a, b;
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  pk_pii_mask(whole, n, &a);
  for (size_t off = 0; off < n;) {
    seed = seed * 1103515245u + 12345u;
    size_t want = 100 + (seed >> 16) % 900;
    size_t win = want < n - off ? want : n - off;
    size_t cut = win == n - off ? win : pk_pii_safe_split(chunked + off, win);
    ASSERT(cut > 0); /* the corpus has spaces between words */
    pk_pii_mask(chunked + off, cut, &b);
    off += cut;
  }
  ASSERT(memcmp(whole, chunked, n) == 0);
  ASSERT(memcmp(&a, &b, sizeof a) == 0);
  ASSERT(a.found[PK_PII_CARD] > 0 && a.found[PK_PII_NINO] > 0);
  free(whole);
  free(chunked);
}

/* Random bytes from a digit-and-separator-heavy alphabet, in exact-size
 * buffers of every length up to 64: nothing may be read or written outside
 * the buffer (ASan), lengths never change, and only letters and digits are
 * ever replaced. */
static void test_pii_fuzz(void) {
  static const char alpha[] = "0123456789012345 -.()/+@ABCDabcz_:,\n";
  uint32_t seed = 99;
  for (int iter = 0; iter < 20000; iter++) {
    seed = seed * 1103515245u + 12345u;
    size_t n = (seed >> 16) % 65;
    uint8_t *b = malloc(n ? n : 1), *orig = malloc(n ? n : 1);
    ASSERT(b && orig);
    for (size_t i = 0; i < n; i++) {
      seed = seed * 1103515245u + 12345u;
      b[i] = (uint8_t)alpha[(seed >> 16) % (sizeof alpha - 1)];
    }
    memcpy(orig, b, n);
    pk_pii_stats st;
    memset(&st, 0, sizeof st);
    pk_pii_mask(b, n, &st);
    uint64_t changed = 0;
    for (size_t i = 0; i < n; i++) {
      if (b[i] != orig[i]) {
        ASSERT_EQ(b[i], '*');
        changed++;
      }
    }
    ASSERT_UEQ(changed, st.masked_bytes);
    (void)pk_pii_safe_split(b, n);
    free(b);
    free(orig);
  }
  /* Raw random bytes, larger. */
  size_t big = 1 << 18;
  uint8_t *r = malloc(big);
  ASSERT(r);
  fill(r, big, 4242);
  pk_pii_mask(r, big, NULL);
  free(r);
}

int main(void) {
  ASSERT(sodium_init() >= 0);
  RUN(test_b64_rfc4648_vectors);
  RUN(test_b64_round_trips);
  RUN(test_b64_invalid);
  RUN(test_pii_positives);
  RUN(test_pii_negatives);
  RUN(test_pii_counts_and_options);
  RUN(test_pii_safe_split);
  RUN(test_pii_fuzz);
  return 0;
}
