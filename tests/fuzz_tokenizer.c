/* fuzz_tokenizer.c — libFuzzer target: arbitrary bytes through the tokenizer and the streaming detokenizer.
 *
 * Input: byte 0 bit 0 = parse_special, the rest is the text. Checked on every input (abort = finding):
 *  - tokenizing never fails or crashes, and the tokens' bytes concatenate to the text exactly;
 *  - every detokenizer piece is valid UTF-8 and the pieces concatenate to the lossy decoding of the tokens'
 *    (non-control) bytes.
 * The vocabulary is the GGUF named by $DS2_FUZZ_VOCAB (tests/tokenizer/run_fuzz.sh passes DeepSeek-V3's).
 * Built by run_fuzz.sh with clang -fsanitize=fuzzer,address,undefined (not part of the gcc build).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds2.h"
#include "gguf.h"
#include "model.h"
#include "tokenizer.h"
#include "unicode.h"

static ds2_model g_model; /* only the tokenizer part is filled: what the text API reads */

static void init(void) {
    const char *path = getenv("DS2_FUZZ_VOCAB");
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!f) { fprintf(stderr, "fuzz_tokenizer: set DS2_FUZZ_VOCAB to a GGUF with a tokenizer\n"); abort(); }
    ds2_gguf *g = NULL;
    ds2_error err;
    if (ds2_gguf_create(0, &g, &err) != DS2_OK) abort();
    static unsigned char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        if (ds2_gguf_feed(g, buf, n, &err) != DS2_OK) { fprintf(stderr, "%s\n", err.message); abort(); }
    fclose(f);
    if (ds2_gguf_finish(g, &err) != DS2_OK || ds2_tokenizer_build(g, &g_model.tok, &err) != DS2_OK) {
        fprintf(stderr, "fuzz_tokenizer: %s\n", err.message);
        abort();
    }
    g_model.gguf = g;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!g_model.tok) init();
    if (size == 0) return 0;
    int special = data[0] & 1;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    ds2_error err;
    int32_t n = 0;
    ds2_status st = ds2_tokenize(&g_model, text, len, 0, special, NULL, 0, &n, &err);
    if (st != DS2_OK && st != DS2_E_INVALID_ARG) abort();
    int32_t *ids = malloc((size_t)(n ? n : 1) * sizeof *ids);
    if (ds2_tokenize(&g_model, text, len, 0, special, ids, n, &n, &err) != DS2_OK) abort();
    unsigned char *bytes = malloc(len + 1), *plain = malloc(len + 1);
    char *stream = malloc(3 * len + 16), *lossy = malloc(3 * len + 16), *piece = malloc(3 * len + 64);
    size_t nb = 0, np = 0, ns = 0;
    ds2_detokenizer *d = NULL;
    if (ds2_detokenizer_create(&g_model, &d, &err) != DS2_OK) abort();
    for (int32_t k = 0; k < n; k++) {
        size_t l = 0;
        if (ds2_token_to_bytes(&g_model, ids[k], (char *)bytes + nb, len - nb, &l, &err) != DS2_OK) abort();
        if (!ds2_token_is_control(&g_model, ids[k])) memcpy(plain + np, bytes + nb, l), np += l;
        nb += l;
        if (ds2_detokenizer_push(d, ids[k], piece, 3 * len + 64, &l, &err) != DS2_OK) abort();
        if (ds2_utf8_lossy((unsigned char *)piece, l, lossy) != l || memcmp(lossy, piece, l)) abort(); /* valid */
        memcpy(stream + ns, piece, l), ns += l;
    }
    size_t l = 0;
    if (ds2_detokenizer_flush(d, piece, 64, &l, &err) != DS2_OK) abort();
    memcpy(stream + ns, piece, l), ns += l;
    if (nb != len || memcmp(bytes, text, len)) abort();                       /* exact round trip */
    size_t nl = ds2_utf8_lossy(plain, np, lossy);
    if (nl != ns || memcmp(lossy, stream, ns)) abort();                        /* stream == full decode */
    ds2_detokenizer_free(d);
    free(ids), free(bytes), free(plain), free(stream), free(lossy), free(piece);
    return 0;
}
