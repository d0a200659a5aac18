/* unicode.c — category lookup over the generated run table, and the UTF-8 codec the tokenizer needs. */
#include "unicode.h"

uint32_t ds2_unicode_flags(uint32_t cp) {
    if (cp >= 0x110000u) return 0;
    uint32_t lo = 0, hi = ds2_unicode_n_runs; /* invariant: runs[lo].start <= cp < runs[hi].start */
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (ds2_unicode_runs[mid].start <= cp) lo = mid;
        else hi = mid;
    }
    return ds2_unicode_runs[lo].flags;
}

/* Expected length of a sequence starting with lead byte b, and the valid range of its second byte
 * (Unicode Table 3-7: excludes overlongs, surrogates and > U+10FFFF). 0 = not a lead byte. */
static int utf8_lead(unsigned b, unsigned *lo2, unsigned *hi2) {
    *lo2 = 0x80, *hi2 = 0xBF;
    if (b < 0x80) return 1;
    if (b < 0xC2) return 0;
    if (b < 0xE0) return 2;
    if (b < 0xF0) {
        if (b == 0xE0) *lo2 = 0xA0;
        if (b == 0xED) *hi2 = 0x9F;
        return 3;
    }
    if (b < 0xF5) {
        if (b == 0xF0) *lo2 = 0x90;
        if (b == 0xF4) *hi2 = 0x8F;
        return 4;
    }
    return 0;
}

/* Length of the valid prefix of a sequence at s (≤ its expected length); *need = expected length. */
static size_t utf8_valid_part(const unsigned char *s, size_t n, size_t *need) {
    unsigned lo2, hi2;
    int len = utf8_lead(s[0], &lo2, &hi2);
    *need = (size_t)len;
    if (len <= 1) return (size_t)len;
    size_t k = 1;
    while (k < (size_t)len && k < n) {
        unsigned lo = k == 1 ? lo2 : 0x80, hi = k == 1 ? hi2 : 0xBF;
        if (s[k] < lo || s[k] > hi) break;
        k++;
    }
    return k;
}

size_t ds2_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp) {
    size_t need;
    size_t k = utf8_valid_part(s, n, &need);
    if (need == 0 || k < need) {
        *cp = DS2_UC_INVALID_BASE + s[0];
        return 1;
    }
    uint32_t c;
    switch (need) {
    case 1: c = s[0]; break;
    case 2: c = ((uint32_t)(s[0] & 0x1F) << 6) | (s[1] & 0x3F); break;
    case 3: c = ((uint32_t)(s[0] & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F); break;
    default:
        c = ((uint32_t)(s[0] & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) | ((uint32_t)(s[2] & 0x3F) << 6) |
            (s[3] & 0x3F);
    }
    *cp = c;
    return need;
}

size_t ds2_utf8_encode(uint32_t cp, char *out) {
    unsigned char *o = (unsigned char *)out;
    if (cp < 0x80) { o[0] = (unsigned char)cp; return 1; }
    if (cp < 0x800) { o[0] = (unsigned char)(0xC0 | (cp >> 6)); o[1] = (unsigned char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

size_t ds2_utf8_complete_prefix(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        size_t need;
        size_t k = utf8_valid_part(s + i, n - i, &need);
        if (need != 0 && k < need && i + k == n) break; /* valid so far, cut by the end: wait for more */
        i += (need == 0 || k < need) ? (k ? k : 1) : need;
    }
    return i;
}

size_t ds2_utf8_lossy(const unsigned char *s, size_t n, char *out) {
    size_t i = 0, o = 0;
    while (i < n) {
        size_t need;
        size_t k = utf8_valid_part(s + i, n - i, &need);
        if (need != 0 && k == need) {
            for (size_t j = 0; j < need; j++) out[o++] = (char)s[i + j];
            i += need;
        } else {
            /* a maximal subpart of an ill-formed sequence → one U+FFFD (Unicode §3.9, WHATWG) */
            out[o++] = (char)0xEF, out[o++] = (char)0xBF, out[o++] = (char)0xBD;
            i += k ? k : 1;
        }
    }
    return o;
}
