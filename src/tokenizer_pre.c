/* tokenizer_pre.c — the pre-tokenizer regex sets of llama.cpp's deepseek-llm / deepseek-coder / deepseek-v3
 * (reference §5.2) as hand-written matchers over code points.
 *
 * Semantics (llama.cpp unicode_regex_split == HF Split(behavior=Isolated)): the text starts as one piece; each
 * regex in turn scans every piece left to right for leftmost non-overlapping matches; a piece becomes
 * [gap][match][gap][match]...[gap], empty parts dropped, nothing lost. `$` and the (?!\S) lookahead see the end
 * of the current piece. Each matcher below returns the length of the match a backtracking regex engine would
 * find at `pos` (alternatives tried in order, greedy quantifiers), or 0; derivations in the comments.
 * `\s` is Unicode White_Space (as Rust regex and llama.cpp); invalid-byte pseudo code points belong to no class.
 */
#include "tokenizer.h"
#include "unicode.h"

/* A matcher sees the piece [0, n) and a start position; returns the match length, 0 = no match there. */
typedef size_t (*matcher)(const uint32_t *cp, const uint8_t *fl, size_t n, size_t pos);

#define IS(f, c) ((fl[c] & (f)) != 0)
#define IS_WS(c) IS(DS2_UC_WS, c)
#define IS_CRLF(c) (cp[c] == '\r' || cp[c] == '\n')

/* ---- shared pieces ---- */

static size_t m_crlf_one(const uint32_t *cp, const uint8_t *fl, size_t n, size_t pos) { /* [\r\n] */
    (void)fl, (void)n;
    return IS_CRLF(pos) ? 1 : 0;
}

static int cjk_llm(uint32_t c) { /* [\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF] */
    return (c >= 0x0800 && c <= 0x9FA5) || (c >= 0xAC00 && c <= 0xD7FF);
}

static size_t m_cjk_llm(const uint32_t *cp, const uint8_t *fl, size_t n, size_t pos) { /* [...]+ */
    (void)fl;
    size_t i = pos;
    while (i < n && cjk_llm(cp[i])) i++;
    return i - pos;
}

/* ---- deepseek-llm ---- */

/* The explicit letter class of regex 2 (llama.cpp llama-vocab.cpp, transcribed from the reference; it is part
 * of the regex, not a Unicode property, so it is not generated). Sorted inclusive ranges. */
static const uint32_t llm_letters[][2] = {
    {0x41, 0x5A}, {0x61, 0x7A}, {0xB5, 0xB5}, {0xC0, 0xD6}, {0xD8, 0xF6}, {0xF8, 0x1BA}, {0x1BC, 0x1BF},
    {0x1C4, 0x293}, {0x295, 0x2AF}, {0x370, 0x373}, {0x376, 0x377}, {0x37B, 0x37D}, {0x37F, 0x37F},
    {0x386, 0x386}, {0x388, 0x38A}, {0x38C, 0x38C}, {0x38E, 0x3A1}, {0x3A3, 0x3F5}, {0x3F7, 0x481},
    {0x48A, 0x52F}, {0x531, 0x556}, {0x10A0, 0x10C5}, {0x13A0, 0x13F5}, {0x13F8, 0x13FD}, {0x1C90, 0x1CBA},
    {0x1CBD, 0x1CBF}, {0x1D00, 0x1D2B}, {0x1D6B, 0x1D77}, {0x1D79, 0x1D9A}, {0x1E00, 0x1F15}, {0x1F18, 0x1F1D},
    {0x1F20, 0x1F45}, {0x1F48, 0x1F4D}, {0x1F50, 0x1F57}, {0x1F59, 0x1F59}, {0x1F5B, 0x1F5B}, {0x1F5D, 0x1F5D},
    {0x1F5F, 0x1F7D}, {0x1F80, 0x1FB4}, {0x1FB6, 0x1FBC}, {0x1FBE, 0x1FBE}, {0x1FC2, 0x1FC4}, {0x1FC6, 0x1FCC},
    {0x1FD0, 0x1FD3}, {0x1FD6, 0x1FDB}, {0x1FE0, 0x1FEC}, {0x1FF2, 0x1FF4}, {0x1FF6, 0x1FFC}, {0x2102, 0x2102},
    {0x2107, 0x2107}, {0x210A, 0x2113}, {0x2115, 0x2115}, {0x2119, 0x211D}, {0x2124, 0x2124}, {0x2126, 0x2126},
    {0x2128, 0x2128}, {0x212A, 0x212D}, {0x212F, 0x2134}, {0x2139, 0x2139}, {0x213C, 0x213F}, {0x2145, 0x2149},
    {0x214E, 0x214E}, {0x2183, 0x2184}, {0x2C00, 0x2C7B}, {0x2C7E, 0x2CE4}, {0x2CEB, 0x2CEE}, {0x2CF2, 0x2CF3},
    {0xA640, 0xA66D}, {0xA680, 0xA69B}, {0xA722, 0xA76F}, {0xA771, 0xA787}, {0xA78B, 0xA78E}, {0xAB70, 0xABBF},
    {0xFB00, 0xFB06}, {0xFB13, 0xFB17}, {0xFF21, 0xFF3A}, {0xFF41, 0xFF5A}, {0x10400, 0x1044F},
    {0x104B0, 0x104D3}, {0x104D8, 0x104FB}, {0x10C80, 0x10CB2}, {0x10CC0, 0x10CF2}, {0x118A0, 0x118DF},
    {0x1E900, 0x1E943},
};

static int llm_letter(uint32_t c) {
    size_t lo = 0, hi = sizeof llm_letters / sizeof llm_letters[0];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c < llm_letters[mid][0]) hi = mid;
        else if (c > llm_letters[mid][1]) lo = mid + 1;
        else return 1;
    }
    return 0;
}

static int llm_punct(uint32_t c) { /* [!-/:-~\uFF01-\uFF0F\uFF1A-\uFF5E\u2018-\u201F\u3000-\u3002] */
    return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x7E) || (c >= 0xFF01 && c <= 0xFF0F) ||
           (c >= 0xFF1A && c <= 0xFF5E) || (c >= 0x2018 && c <= 0x201F) || (c >= 0x3000 && c <= 0x3002);
}

/* \s?X+ : the optional whitespace is taken only if X follows it (greedy, then backtrack); X+ is greedy. */
static size_t m_llm_letters(const uint32_t *cp, const uint8_t *fl, size_t n, size_t pos) {
    size_t i = pos;
    if (IS_WS(pos) && pos + 1 < n && llm_letter(cp[pos + 1])) i++;
    size_t s = i;
    while (i < n && llm_letter(cp[i])) i++;
    return i > s ? i - pos : 0;
}

static size_t m_llm_punct(const uint32_t *cp, const uint8_t *fl, size_t n, size_t pos) {
    size_t i = pos;
    if (IS_WS(pos) && pos + 1 < n && llm_punct(cp[pos + 1])) i++;
    size_t s = i;
    while (i < n && llm_punct(cp[i])) i++;
    return i > s ? i - pos : 0;
}

static size_t m_num_run(const uint32_t *cp, const uint8_t *fl, size_t n, size_t pos) { /* \p{N}+ */
    (void)cp;
    size_t i = pos;
    while (i < n && IS(DS2_UC_N, i)) i++;
    return i - pos;
}

/* ---- deepseek-coder ---- */

static size_t m_coder_letters(const uint32_t *cp, const uint8_t *fl, size_t n, size_t pos) { /* \s?\p{L}+ */
    (void)cp;
    size_t i = pos;
    if (IS_WS(pos) && pos + 1 < n && IS(DS2_UC_L, pos + 1)) i++;
    size_t s = i;
    while (i < n && IS(DS2_UC_L, i)) i++;
    return i > s ? i - pos : 0;
}

static size_t m_coder_punct(const uint32_t *cp, const uint8_t *fl, size_t n, size_t pos) { /* \s?\p{P}+ */
    (void)cp;
    size_t i = pos;
    if (IS_WS(pos) && pos + 1 < n && IS(DS2_UC_P, pos + 1)) i++;
    size_t s = i;
    while (i < n && IS(DS2_UC_P, i)) i++;
    return i > s ? i - pos : 0;
}

static size_t m_num_one(const uint32_t *cp, const uint8_t *fl, size_t n, size_t pos) { /* \p{N} */
    (void)cp, (void)n;
    return IS(DS2_UC_N, pos) ? 1 : 0;
}

/* ---- deepseek-v3 ---- */

static size_t m_num_1_3(const uint32_t *cp, const uint8_t *fl, size_t n, size_t pos) { /* \p{N}{1,3} */
    (void)cp;
    size_t i = pos;
    while (i < n && i - pos < 3 && IS(DS2_UC_N, i)) i++;
    return i - pos;
}

static int cjk_v3(uint32_t c) { /* [\u4E00-\u9FA5\u3040-\u309F\u30A0-\u30FF] */
    return (c >= 0x4E00 && c <= 0x9FA5) || (c >= 0x3040 && c <= 0x30FF);
}

static size_t m_cjk_v3(const uint32_t *cp, const uint8_t *fl, size_t n, size_t pos) {
    (void)fl;
    size_t i = pos;
    while (i < n && cjk_v3(cp[i])) i++;
    return i - pos;
}

static int ascii_punct(uint32_t c) { /* [!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~] */
    return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) ||
           (c >= 0x7B && c <= 0x7E);
}

static int ascii_alpha(uint32_t c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

static size_t m_v3_main(const uint32_t *cp, const uint8_t *fl, size_t n, size_t pos) {
    size_t i;
    /* A1: [ascii punct][A-Za-z]+ */
    if (ascii_punct(cp[pos]) && pos + 1 < n && ascii_alpha(cp[pos + 1])) {
        i = pos + 1;
        while (i < n && ascii_alpha(cp[i])) i++;
        return i - pos;
    }
    /* A2: [^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+ — the optional char is taken only if a letter/mark follows;
     * otherwise the run must start at pos. */
    const uint8_t LM = DS2_UC_L | DS2_UC_M;
    i = pos;
    if (!IS_CRLF(pos) && !IS(DS2_UC_L | DS2_UC_P | DS2_UC_S, pos) && pos + 1 < n && IS(LM, pos + 1)) i++;
    if (IS(LM, i)) {
        while (i < n && IS(LM, i)) i++;
        return i - pos;
    }
    /* A3: ' '?[\p{P}\p{S}]+[\r\n]* */
    const uint8_t PS = DS2_UC_P | DS2_UC_S;
    i = pos;
    if (cp[pos] == ' ' && pos + 1 < n && IS(PS, pos + 1)) i++;
    if (IS(PS, i)) {
        while (i < n && IS(PS, i)) i++;
        while (i < n && IS_CRLF(i)) i++;
        return i - pos;
    }
    if (!IS_WS(pos)) return 0;
    size_t k = pos; /* end of the whitespace run */
    while (k < n && IS_WS(k)) k++;
    /* A4: \s*[\r\n]+ — \s* backs off to the last CR/LF of the run; [\r\n]+ then ends right after it (the
     * next char is not whitespace or the end). */
    for (size_t j = k; j > pos; j--)
        if (IS_CRLF(j - 1)) return j - pos;
    /* A5: \s+(?!\S) — whole run if it reaches the end, else all but its last char (which is followed by \S) */
    if (k == n) return k - pos;
    if (k - pos >= 2) return k - 1 - pos;
    /* A6: \s+ */
    return k - pos;
}

/* ---- driver ---- */

/* `\s+$` of deepseek-llm: only the whitespace run ending the piece can match; handled without a per-position
 * scan (which would be quadratic in long whitespace runs). */
#define M_TRAILING_WS ((matcher)0)

static const matcher set_llm[] = {m_crlf_one, m_llm_letters, m_llm_punct, M_TRAILING_WS, m_cjk_llm, m_num_run};
static const matcher set_coder[] = {m_crlf_one, m_coder_letters, m_coder_punct, m_cjk_llm, m_num_one};
static const matcher set_v3[] = {m_num_1_3, m_cjk_v3, m_v3_main};

size_t ds2_pre_split(ds2_pre_kind kind, const uint32_t *cp, const uint8_t *fl, size_t n, size_t *ends,
                     size_t *scratch) {
    if (n == 0) return 0;
    const matcher *set;
    size_t n_set;
    switch (kind) {
    case DS2_PRE_DEEPSEEK_LLM: set = set_llm, n_set = sizeof set_llm / sizeof *set_llm; break;
    case DS2_PRE_DEEPSEEK_CODER: set = set_coder, n_set = sizeof set_coder / sizeof *set_coder; break;
    default: set = set_v3, n_set = sizeof set_v3 / sizeof *set_v3; break;
    }
    /* pieces as end offsets; `cur` holds the input list, `nxt` the output, swapped per regex */
    size_t *cur = ends, *nxt = scratch, n_cur = 1, n_nxt;
    cur[0] = n;
    for (size_t r = 0; r < n_set; r++) {
        n_nxt = 0;
        size_t s = 0;
        for (size_t p = 0; p < n_cur; p++) {
            size_t e = cur[p], last = s;
            const uint32_t *pc = cp + s;
            const uint8_t *pf = fl + s;
            size_t len = e - s;
            if (set[r] == M_TRAILING_WS) {
                size_t k = len;
                while (k > 0 && (pf[k - 1] & DS2_UC_WS)) k--;
                if (k > 0 && k < len) nxt[n_nxt++] = s + k;
                nxt[n_nxt++] = e;
                s = e;
                continue;
            }
            for (size_t i = 0; i < len;) {
                size_t m = set[r](pc, pf, len, i);
                if (m == 0) { i++; continue; }
                if (i > last - s) nxt[n_nxt++] = s + i;
                i += m;
                nxt[n_nxt++] = s + i;
                last = s + i;
            }
            if (last < e) nxt[n_nxt++] = e;
            s = e;
        }
        size_t *t = cur; cur = nxt; nxt = t;
        n_cur = n_nxt;
    }
    if (cur != ends)
        for (size_t i = 0; i < n_cur; i++) ends[i] = cur[i];
    return n_cur;
}
