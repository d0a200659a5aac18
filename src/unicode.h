/* unicode.h — code-point classes and UTF-8 helpers for the tokenizer (reference §5.2, §5.3).
 *
 * Owns: general-category flags (\p{L} \p{N} \p{P} \p{S} \p{M}) and White_Space (\s) per code point, from the
 * generated table src/unicode_data.c (tools/gen_unicode.py over Debian's UnicodeData.txt / PropList.txt);
 * lenient UTF-8 decoding (an invalid byte becomes one pseudo code point so no input byte is lost).
 */
#ifndef DS2_UNICODE_H
#define DS2_UNICODE_H

#include <stddef.h>
#include <stdint.h>

enum {
    DS2_UC_L = 1, DS2_UC_N = 2, DS2_UC_P = 4, DS2_UC_S = 8, DS2_UC_M = 16, DS2_UC_WS = 32
};

typedef struct ds2_unicode_run {
    uint32_t start;
    uint32_t flags;
} ds2_unicode_run;

extern const uint32_t ds2_unicode_n_runs;
extern const ds2_unicode_run ds2_unicode_runs[];

/* Flags of a code point; 0 for unassigned / other categories and for anything > U+10FFFF (the pseudo code
 * points of invalid bytes). */
uint32_t ds2_unicode_flags(uint32_t cp);

/* Decodes one UTF-8 character at s[0..n) (n ≥ 1). Returns its length; *cp = the code point, or, for an
 * invalid or truncated sequence, length 1 and *cp = DS2_UC_INVALID_BASE + the byte (never a real
 * character, so it matches no class). */
#define DS2_UC_INVALID_BASE 0x110000u
size_t ds2_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

/* Writes cp (≤ U+10FFFF) as UTF-8 into out[4]; returns the length. */
size_t ds2_utf8_encode(uint32_t cp, char *out);

/* Length of the longest prefix of s[0..n) that ends on a complete character boundary, given that bytes may
 * still follow: an incomplete but so-far-valid sequence at the end is held back. Invalid bytes count as
 * complete (they decode to U+FFFD). */
size_t ds2_utf8_complete_prefix(const unsigned char *s, size_t n);

/* Appends the lossy decoding of s[0..n) to out (cap bytes): valid characters verbatim, each maximal invalid
 * subsequence as U+FFFD. Returns the bytes written (≤ 3n). */
size_t ds2_utf8_lossy(const unsigned char *s, size_t n, char *out);

#endif
