/*
 * transform.h — data transforms on one chunk: base64 (pk_b64_*) and
 * irreversible PII masking (pk_pii_*).
 *
 * Both work on one chunk at a time, with no state carried between chunks,
 * so that `pika pipe` workers can transform chunks in parallel and in any
 * order. Neither allocates. Every function is thread-safe (they touch only
 * the buffers they are given; the lookup tables are constant).
 *
 * ======================================================================
 * Base64 (RFC 4648)
 * ======================================================================
 *   Two alphabets: PK_B64_STD ("+/", section 4) and PK_B64_URL ("-_",
 *   section 5, URL- and filename-safe). Both always pad with '=' to a
 *   multiple of 4, so each chunk's encoding stands alone and encoded chunks
 *   can be concatenated and still be split at every 4th character.
 *
 *   Decoding is strict, as befits data that is supposed to be our own
 *   output: the length must be a multiple of 4; only the alphabet's 64
 *   characters and final padding ("x===" is never valid) are accepted; no
 *   whitespace or line breaks; the unused low bits before the padding must
 *   be zero (a non-canonical encoding is a sign of damage). Anything else is
 *   PK_ECORRUPT with the offset and value of the first bad character.
 *
 *   Implementation: hand-written. Where the CPU has AVX2 (detected once at
 *   run time), 24 input bytes become 32 characters per step with Muła and
 *   Lemire's method ("Faster Base64 Encoding and Decoding using AVX2
 *   Instructions", 2018: a shuffle and two multiplies spread the 6-bit
 *   fields into bytes, a 16-entry table maps them to ASCII; decoding
 *   validates 32 characters with range compares and packs them with
 *   multiply-adds). A scalar loop does the tails and CPUs without AVX2.
 *   bench/pipe/bench_crypto.c measures the alternatives on 1 MiB chunks;
 *   on the development machine (MB/s of binary data, one thread):
 *                 encode   decode
 *     ours        ~19700    ~7300
 *     OpenSSL      ~1800    ~1000   EVP_EncodeBlock/EVP_DecodeBlock
 *     libsodium     ~230     ~110   sodium_bin2base64/sodium_base642bin
 *   libsodium's is written to be constant-time (for encoding secrets) and
 *   is slower by two orders of magnitude; OpenSSL's is a scalar table loop
 *   with no URL-safe alphabet and a lenient decoder (it skips whitespace
 *   and returns padding as data). Neither keeps up with AES-GCM.

 * ======================================================================
 * PII masking
 * ======================================================================
 *   pk_pii_mask() finds personal data in text and overwrites it in place.
 *   It is irreversible: the original characters are gone, not encrypted.
 *
 *   What is found (hand-written scanners, no regex engine):
 *     PK_PII_EMAIL  local@domain.tld: local part of [A-Za-z0-9._%+-]
 *                   (1-128 chars, not starting with '.'), a domain of
 *                   2+ dot-separated labels of [A-Za-z0-9-], the last
 *                   (the TLD) 2+ letters. "user@localhost", "@mention"
 *                   and "pkg@1.2.3" are not emails.
 *     PK_PII_PHONE  international: '+' then 8-15 digits in groups split by
 *                     single ' ', '-' or '.' (dots only with 2+ of them),
 *                     a country code of 1-3 digits when grouped, optional
 *                     "(0)" trunk or "(20)" area group:
 *                     "+44 20 7946 0958", "+1-202-555-0143",
 *                     "+44 (0)20 7946 0958", "+33 1 23 45 67 89".
 *                   North American: [1 sep] ddd sep ddd sep dddd with one
 *                     separator (' ', '-' or '.'), or (ddd) ddd-dddd:
 *                     "555-123-4567", "(555) 123-4567", "1 555 123 4567".
 *                   European national (trunk 0): a first group of 2-5
 *                     digits starting with 0, or "(0..)", then groups of
 *                     2-8 digits split by one consistent ' ', '-', '.' or
 *                     '/', 9-11 digits in all (11-17 after a "00"
 *                     international prefix): "020 7946 0958",
 *                     "01 23 45 67 89", "030/901820", "(030) 901820".
 *                   Bare digit runs without '+' or separators are NOT
 *                   phones (they are too often ids, counters, timestamps).
 *     PK_PII_CARD   payment cards: 13-19 digits, first digit 2-6 (Visa,
 *                   Mastercard, Amex, Discover, JCB, Diners, UnionPay,
 *                   Maestro), passing the Luhn check, either unbroken or
 *                   grouped by one separator (' ' or '-') as 4-4-4-4[-3],
 *                   4-4-4-1..4, 4-6-5 (Amex) or 4-6-4 (Diners). Luhn lets
 *                   through 1 in 10 arbitrary 13-19-digit numbers that start
 *                   with 2-6; such numbers will be masked (a false positive
 *                   costs a masked id, a false negative leaks a card).
 *     PK_PII_SSN    US Social Security numbers ddd-dd-dddd (dashes
 *                   required), excluding the never-issued area numbers
 *                   000, 666 and 900-999, group 00 and serial 0000.
 *     PK_PII_NINO   UK National Insurance numbers: two prefix letters,
 *                   six digits, a suffix A-D, upper case, with or without
 *                   single spaces between the pairs ("AB123456C",
 *                   "AB 12 34 56 C"); prefixes HMRC never issues (first
 *                   letter D F I Q U V, second D F I O Q U V, and BG GB KN
 *                   NK NT TN ZZ) are not matched.
 *   Every match must stand alone: the characters around it may not be
 *   letters, digits, '_' or '@', nor a '.', '-', '/', ',' or ':' joined to
 *   more digits or letters — so versions ("v1.2.3", "10.0.19045.2965"),
 *   dates ("2024-01-31", "31.01.2024", "01/02/2023"), times, IP addresses,
 *   UUIDs, hashes, decimals and ordinary numbers are left alone (the tests
 *   hold a corpus of such negatives).
 *
 *   How a match is masked: every letter and digit in it becomes the mask
 *   character ('*' by default); separators and punctuation stay
 *   ("(555) 123-4567" -> "(***) ***-****", "john.doe@example.com" ->
 *   "****.***@*******.***"). Masking is length-preserving, for three
 *   reasons: it works in place in the chunk buffer (no allocation, no
 *   copy); every byte offset in the chunk and in the file stays valid, so
 *   line/column positions, fixed-width records and an index built before
 *   masking still hold; and chunk sizes do not change, so the pipeline's
 *   chunk table and buffer sizes are unaffected.
 *
 *   How it runs: one forward pass. A tight loop skips to the next byte
 *   that can anchor a match — a digit or '@' (SSE2: 16 bytes a step) —
 *   and only there do the recognisers run. A digit run first passes a
 *   cheap filter on its length and the byte after it (most numbers in text
 *   fail there); each recogniser reads a bounded number of bytes around
 *   its anchor (at most ~40 for the numeric kinds, ~400 for an email);
 *   after a failed digit run the scan resumes past the whole run. Work is
 *   therefore linear in the chunk: ~870 MB/s on log-like text and ~490
 *   MB/s on numeric CSV on the development machine, one thread
 *   (bench_crypto prints both).
 *
 *   Chunk boundaries: a token split across two chunks is not seen whole,
 *   so neither half is masked (and "the half that looks like a number" may
 *   or may not match). The chunker must therefore cut where no token can
 *   span: pk_pii_safe_split() gives the largest such prefix.
 */
#ifndef PIKA_PIPE_TRANSFORM_H
#define PIKA_PIPE_TRANSFORM_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

/* ---- base64 ---------------------------------------------------------------
 */

typedef enum pk_b64_alphabet {
  PK_B64_STD, /* A-Z a-z 0-9 + /  (RFC 4648 section 4) */
  PK_B64_URL  /* A-Z a-z 0-9 - _  (RFC 4648 section 5) */
} pk_b64_alphabet;

/* Exact encoded length of n bytes: 4 * ceil(n / 3). SIZE_MAX if that does
 * not fit in a size_t. */
size_t pk_b64_encoded_len(size_t n);

/* Upper bound of the decoded length of n characters: n / 4 * 3 (the exact
 * length is 1 or 2 less when the input ends in padding). */
size_t pk_b64_decoded_max(size_t n);

/* Encodes in[0..n) into out, with padding, no NUL terminator. out must
 * hold pk_b64_encoded_len(n) bytes (out_cap says how many it holds) and
 * must not overlap in. Returns PK_OK and sets *out_len; PK_EINVAL for a
 * bad alphabet or NULL pointers (in may be NULL when n is 0); PK_ELIMIT
 * when out_cap is too small (nothing is written) or n too large. */
int pk_b64_encode(pk_b64_alphabet a, const uint8_t *in, size_t n, uint8_t *out,
                  size_t out_cap, size_t *out_len);

/* Decodes in[0..n) (strict; see above) into out, which must hold the
 * exact decoded length (pk_b64_decoded_max(n) always suffices). out == in
 * is allowed (decoding in place: the output never overtakes the input);
 * other overlaps are not. Returns PK_OK and sets *out_len; PK_ECORRUPT for
 * malformed input, with e (may be NULL) saying what and at which offset —
 * out may then hold a partial result; PK_ELIMIT when out_cap is too small
 * (nothing is written); PK_EINVAL for a bad alphabet or NULL pointers. */
int pk_b64_decode(pk_b64_alphabet a, const uint8_t *in, size_t n, uint8_t *out,
                  size_t out_cap, size_t *out_len, pk_errmsg *e);

/* ---- PII masking ----------------------------------------------------------
 */

typedef enum pk_pii_kind {
  PK_PII_EMAIL,
  PK_PII_PHONE,
  PK_PII_CARD,
  PK_PII_SSN,
  PK_PII_NINO,
  PK_PII__KIND_COUNT
} pk_pii_kind;

/* Bit for a kind in pk_pii_opts.kinds. */
#define PK_PII_BIT(kind) (1u << (kind))
#define PK_PII_ALL ((1u << PK_PII__KIND_COUNT) - 1u)

typedef struct pk_pii_opts {
  uint32_t kinds;    /* PK_PII_BIT()s to look for; 0 means PK_PII_ALL */
  uint8_t mask_char; /* replaces each masked letter/digit; 0 means '*' */
} pk_pii_opts;

typedef struct pk_pii_stats {
  uint64_t found[PK_PII__KIND_COUNT]; /* matches per kind */
  uint64_t masked_bytes;              /* characters overwritten */
} pk_pii_stats;

/* "email", "phone", "card", "ssn", "nino"; "?" if invalid. Static. */
const char *pk_pii_kind_name(pk_pii_kind kind);

/* Masks every PII match in buf[0..len) in place (all kinds, '*'). Adds
 * this call's counts to *counts (zero it before the first call; may be
 * NULL), so that one pk_pii_stats can sum a worker's chunks. Returns the
 * number of matches in this call. buf may be NULL when len is 0. Never
 * fails; never reads or writes outside buf[0..len). */
size_t pk_pii_mask(uint8_t *buf, size_t len, pk_pii_stats *counts);

/* As pk_pii_mask() with options (NULL: the defaults). */
size_t pk_pii_mask_ex(uint8_t *buf, size_t len, const pk_pii_opts *opts,
                      pk_pii_stats *counts);

/* The largest k <= len such that cutting buf after k bytes cannot split a
 * token pk_pii_mask() would match: buf[k-1] is '\n', or a space, tab, CR,
 * FF or VT with no digit on either side (a space next to a digit may be
 * inside a phone, card or NI number; a space as the very last byte is
 * unsafe because the next byte is unknown). Returns 0 when there is no
 * such place: the caller then either reads more or cuts at len, accepting
 * that a token across the cut may escape masking. Scans backwards from
 * the end, so it usually returns after a few bytes. */
size_t pk_pii_safe_split(const uint8_t *buf, size_t len);

#endif /* PIKA_PIPE_TRANSFORM_H */
