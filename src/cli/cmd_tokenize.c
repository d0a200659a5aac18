/* cmd_tokenize.c — `ds2 tokenize` and `ds2 detokenize` (also on vocabulary-only GGUFs).
 *
 *   ds2 tokenize   -m vocab.gguf (-p TEXT | -f FILE) [--no-bos] [--no-parse-special] [--pieces]
 *   ds2 tokenize   -m vocab.gguf --jsonl [--no-parse-special]   stdin: one JSON string per line
 *                                                              stdout: one JSON array of ids per line (no BOS)
 *   ds2 detokenize -m vocab.gguf --tokens 1,2,3                 raw bytes to stdout
 *   ds2 detokenize -m vocab.gguf --jsonl                        stdin: JSON arrays of ids; stdout: JSON strings
 *
 * JSON strings carry arbitrary bytes, not only UTF-8: a byte 0x80–0xFF that is not part of valid UTF-8 is
 * written as the lone surrogate escape \udcXX (Python's "surrogateescape" convention) and read back the same
 * way, so invalid UTF-8 round-trips exactly through --jsonl.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds2.h"

int ds2_cli_tokenize(int argc, char **argv);

typedef struct sbuf {
    char *p;
    size_t n, cap;
} sbuf;

static int sb_put(sbuf *b, const void *d, size_t n) {
    if (b->n + n + 1 > b->cap) {
        size_t c = (b->n + n + 1) * 2;
        char *q = realloc(b->p, c);
        if (!q) return 0;
        b->p = q, b->cap = c;
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
    b->p[b->n] = 0;
    return 1;
}

static int sb_putc(sbuf *b, char c) { return sb_put(b, &c, 1); }

/* Reads one line (without the newline) into b; returns 0 at EOF with nothing read. */
static int read_line(FILE *f, sbuf *b) {
    b->n = 0;
    int c, any = 0;
    while ((c = fgetc(f)) != EOF) {
        any = 1;
        if (c == '\n') break;
        if (!sb_putc(b, (char)c)) return 0;
    }
    if (!b->p) sb_put(b, "", 0);
    return any;
}

static int hex4(const char *s, unsigned *v) {
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        unsigned d;
        if (c >= '0' && c <= '9') d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') d = (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') d = (unsigned)(c - 'A' + 10);
        else return 0;
        *v = *v * 16 + d;
    }
    return 1;
}

static void put_utf8(sbuf *o, unsigned cp) {
    char u[4];
    size_t n;
    if (cp < 0x80) u[0] = (char)cp, n = 1;
    else if (cp < 0x800) u[0] = (char)(0xC0 | (cp >> 6)), u[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
    else if (cp < 0x10000)
        u[0] = (char)(0xE0 | (cp >> 12)), u[1] = (char)(0x80 | ((cp >> 6) & 0x3F)), u[2] = (char)(0x80 | (cp & 0x3F)),
        n = 3;
    else
        u[0] = (char)(0xF0 | (cp >> 18)), u[1] = (char)(0x80 | ((cp >> 12) & 0x3F)),
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), u[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
    sb_put(o, u, n);
}

/* Parses a JSON string literal (surrounding whitespace allowed) into raw bytes. */
static int parse_json_string(const char *s, sbuf *o) {
    o->n = 0;
    sb_put(o, "", 0);
    while (*s == ' ' || *s == '\t' || *s == '\r') s++;
    if (*s++ != '"') return 0;
    for (;;) {
        unsigned char c = (unsigned char)*s++;
        if (c == 0) return 0;
        if (c == '"') break;
        if (c != '\\') { sb_putc(o, (char)c); continue; }
        char e = *s++;
        switch (e) {
        case '"': sb_putc(o, '"'); break;
        case '\\': sb_putc(o, '\\'); break;
        case '/': sb_putc(o, '/'); break;
        case 'b': sb_putc(o, '\b'); break;
        case 'f': sb_putc(o, '\f'); break;
        case 'n': sb_putc(o, '\n'); break;
        case 'r': sb_putc(o, '\r'); break;
        case 't': sb_putc(o, '\t'); break;
        case 'u': {
            unsigned v, w;
            if (!hex4(s, &v)) return 0;
            s += 4;
            if (v >= 0xD800 && v <= 0xDBFF && s[0] == '\\' && s[1] == 'u' && hex4(s + 2, &w) && w >= 0xDC00 &&
                w <= 0xDFFF) {
                s += 6;
                put_utf8(o, 0x10000 + ((v - 0xD800) << 10) + (w - 0xDC00));
            } else if (v >= 0xDC80 && v <= 0xDCFF) {
                sb_putc(o, (char)(v - 0xDC00)); /* surrogate escape: one raw byte */
            } else if (v >= 0xD800 && v <= 0xDFFF) {
                return 0;
            } else {
                put_utf8(o, v);
            }
            break;
        }
        default: return 0;
        }
    }
    while (*s == ' ' || *s == '\t' || *s == '\r') s++;
    return *s == 0;
}

/* Length of a valid UTF-8 sequence at s (strict), or 0. */
static size_t utf8_valid(const unsigned char *s, size_t n) {
    if (s[0] < 0x80) return 1;
    size_t len;
    unsigned lo = 0x80, hi = 0xBF;
    if (s[0] >= 0xC2 && s[0] <= 0xDF) len = 2;
    else if (s[0] >= 0xE0 && s[0] <= 0xEF) len = 3, lo = s[0] == 0xE0 ? 0xA0 : 0x80, hi = s[0] == 0xED ? 0x9F : 0xBF;
    else if (s[0] >= 0xF0 && s[0] <= 0xF4) len = 4, lo = s[0] == 0xF0 ? 0x90 : 0x80, hi = s[0] == 0xF4 ? 0x8F : 0xBF;
    else return 0;
    if (len > n || s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF) return 0;
    return len;
}

static void write_json_string(FILE *f, const unsigned char *s, size_t n) {
    fputc('"', f);
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        if (c == '"' || c == '\\') { fputc('\\', f), fputc(c, f), i++; continue; }
        if (c < 0x20 || c == 0x7F) { fprintf(f, "\\u%04x", c), i++; continue; }
        size_t l = utf8_valid(s + i, n - i);
        if (l == 0) { fprintf(f, "\\udc%02x", c), i++; continue; }
        fwrite(s + i, 1, l, f);
        i += l;
    }
    fputc('"', f);
}

static int tokenize_bytes(const ds2_model *m, const char *s, size_t n, int bos, int special, int32_t **ids,
                          int32_t *cap, int32_t *count) {
    ds2_error err;
    ds2_status st = ds2_tokenize(m, s, n, bos, special, *ids, *cap, count, &err);
    if (st == DS2_E_INVALID_ARG && *count > *cap) {
        int32_t c = *count + 16;
        int32_t *p = realloc(*ids, (size_t)c * sizeof *p);
        if (!p) { fprintf(stderr, "ds2: out of memory\n"); return 0; }
        *ids = p, *cap = c;
        st = ds2_tokenize(m, s, n, bos, special, *ids, *cap, count, &err);
    }
    if (st != DS2_OK) {
        fprintf(stderr, "ds2: tokenize: %s: %s\n", ds2_status_name(st), err.message);
        return 0;
    }
    return 1;
}

static int token_bytes(const ds2_model *m, int32_t id, sbuf *o) {
    char buf[1024];
    size_t len;
    ds2_error err;
    ds2_status st = ds2_token_to_bytes(m, id, buf, sizeof buf, &len, &err);
    if (st == DS2_E_INVALID_ARG && len > sizeof buf) {
        char *big = malloc(len);
        if (!big) return 0;
        st = ds2_token_to_bytes(m, id, big, len, &len, &err);
        if (st == DS2_OK) sb_put(o, big, len);
        free(big);
    } else if (st == DS2_OK) {
        sb_put(o, buf, len);
    }
    if (st != DS2_OK) {
        fprintf(stderr, "ds2: detokenize: %s: %s\n", ds2_status_name(st), err.message);
        return 0;
    }
    return 1;
}

/* "[1, 2, 3]" or "1,2,3" → ids */
static int parse_ids(const char *s, int32_t **ids, int32_t *cap, int32_t *n) {
    *n = 0;
    while (*s == ' ' || *s == '[' || *s == '\t') s++;
    while (*s && *s != ']') {
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (end == s || errno || v < 0 || v > INT32_MAX) return 0;
        if (*n == *cap) {
            int32_t c = *cap * 2 + 16;
            int32_t *p = realloc(*ids, (size_t)c * sizeof *p);
            if (!p) return 0;
            *ids = p, *cap = c;
        }
        (*ids)[(*n)++] = (int32_t)v;
        s = end;
        while (*s == ' ' || *s == ',' || *s == '\t') s++;
    }
    return 1;
}

static int usage_tok(void) {
    fprintf(stderr,
            "usage:\n"
            "  ds2 tokenize   -m model.gguf (-p TEXT | -f FILE) [--no-bos] [--no-parse-special] [--pieces]\n"
            "  ds2 tokenize   -m model.gguf --jsonl [--no-parse-special]\n"
            "  ds2 detokenize -m model.gguf --tokens 1,2,3\n"
            "  ds2 detokenize -m model.gguf --jsonl\n"
            "--jsonl: one JSON string per input line -> one JSON array of ids per output line (no BOS), or the\n"
            "reverse for detokenize; bytes that are not valid UTF-8 travel as \\udcXX escapes.\n"
            "Special tokens written in the text are parsed unless --no-parse-special.\n");
    return 2;
}

int ds2_cli_tokenize(int argc, char **argv) {
    int detok = !strcmp(argv[1], "detokenize");
    const char *model = NULL, *prompt = NULL, *file = NULL, *tokens = NULL;
    int jsonl = 0, bos = 1, special = 1, pieces = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--jsonl")) { jsonl = 1; continue; }
        if (!strcmp(a, "--no-bos")) { bos = 0; continue; }
        if (!strcmp(a, "--no-parse-special")) { special = 0; continue; }
        if (!strcmp(a, "--pieces")) { pieces = 1; continue; }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage_tok(); return 0; }
        if (!v) { fprintf(stderr, "ds2: %s needs a value\n", a); return 2; }
        if (!strcmp(a, "-m") || !strcmp(a, "--model")) model = v;
        else if (!strcmp(a, "-p") || !strcmp(a, "--prompt")) prompt = v;
        else if (!strcmp(a, "-f") || !strcmp(a, "--file")) file = v;
        else if (!strcmp(a, "--tokens")) tokens = v;
        else { fprintf(stderr, "ds2: unknown option '%s'\n", a); return usage_tok(); }
        i++;
    }
    if (!model) { fprintf(stderr, "ds2: -m model.gguf is required\n"); return usage_tok(); }
    if (!jsonl && (detok ? !tokens : (!prompt == !file))) return usage_tok();

    ds2_model *m = NULL;
    ds2_error err;
    ds2_loader_params lp = ds2_loader_default_params();
    lp.allow_vocab_only = 1;
    ds2_status st = ds2_model_load_file(model, &lp, &m, &err);
    if (st != DS2_OK) {
        fprintf(stderr, "ds2: cannot load '%s': %s: %s\n", model, ds2_status_name(st), err.message);
        return 1;
    }
    int rc = 0;
    int32_t *ids = NULL, cap = 0, n = 0;
    sbuf line = {0}, text = {0};
    if (jsonl) {
        for (long ln = 1; rc == 0 && read_line(stdin, &line); ln++) {
            if (detok) {
                text.n = 0;
                sb_put(&text, "", 0);
                if (!parse_ids(line.p, &ids, &cap, &n)) {
                    fprintf(stderr, "ds2: line %ld: expected a JSON array of token ids\n", ln);
                    rc = 1;
                    break;
                }
                for (int32_t k = 0; k < n && rc == 0; k++)
                    if (!token_bytes(m, ids[k], &text)) rc = 1;
                if (rc) break;
                write_json_string(stdout, (const unsigned char *)text.p, text.n);
                fputc('\n', stdout);
            } else {
                if (!parse_json_string(line.p, &text)) {
                    fprintf(stderr, "ds2: line %ld: expected one JSON string\n", ln);
                    rc = 1;
                    break;
                }
                if (!tokenize_bytes(m, text.p, text.n, 0, special, &ids, &cap, &n)) { rc = 1; break; }
                fputc('[', stdout);
                for (int32_t k = 0; k < n; k++) fprintf(stdout, k ? ",%d" : "%d", (int)ids[k]);
                fputs("]\n", stdout);
            }
        }
    } else if (detok) {
        if (!parse_ids(tokens, &ids, &cap, &n)) {
            fprintf(stderr, "ds2: --tokens expects comma-separated ids\n");
            rc = 2;
        }
        for (int32_t k = 0; k < n && rc == 0; k++)
            if (!token_bytes(m, ids[k], &text)) rc = 1;
        if (rc == 0) fwrite(text.p ? text.p : "", 1, text.n, stdout);
    } else {
        if (file) {
            FILE *f = fopen(file, "rb");
            if (!f) { fprintf(stderr, "ds2: cannot open '%s'\n", file); rc = 1; }
            char buf[65536];
            size_t r;
            while (f && (r = fread(buf, 1, sizeof buf, f)) > 0) sb_put(&text, buf, r);
            if (f) fclose(f);
        } else {
            sb_put(&text, prompt, strlen(prompt));
        }
        if (rc == 0 && tokenize_bytes(m, text.p ? text.p : "", text.n, bos, special, &ids, &cap, &n)) {
            if (pieces) {
                for (int32_t k = 0; k < n; k++) {
                    sbuf pc = {0};
                    token_bytes(m, ids[k], &pc);
                    fprintf(stdout, "%6d -> ", (int)ids[k]);
                    write_json_string(stdout, (const unsigned char *)(pc.p ? pc.p : ""), pc.n);
                    fputc('\n', stdout);
                    free(pc.p);
                }
            } else {
                fputc('[', stdout);
                for (int32_t k = 0; k < n; k++) fprintf(stdout, k ? ", %d" : "%d", (int)ids[k]);
                fputs("]\n", stdout);
            }
        } else {
            rc = 1;
        }
    }
    free(ids);
    free(line.p);
    free(text.p);
    ds2_model_free(m);
    return rc;
}
