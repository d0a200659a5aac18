/* chat_conv.c — the `ds2 chat` conversation as token ids (see chat_conv.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat_conv.h"

void ds2_cli_chat_free(ds2_cli_chat *c) {
    for (int i = 0; i < c->n; i++) free(c->owned[i]);
    free(c->msgs);
    free(c->owned);
    free(c->span_end);
    free(c->conv);
    memset(c, 0, sizeof *c);
}

int ds2_cli_chat_push(ds2_cli_chat *c, const char *role, char *content) {
    if (!content) return 0;
    if (c->n == c->cap) {
        int cap = c->cap ? 2 * c->cap : 8;
        ds2_chat_message *mm = realloc(c->msgs, (size_t)cap * sizeof *mm);
        if (mm) c->msgs = mm;
        char **oo = realloc(c->owned, (size_t)cap * sizeof *oo);
        if (oo) c->owned = oo;
        int32_t *se = realloc(c->span_end, (size_t)cap * sizeof *se);
        if (se) c->span_end = se;
        if (!mm || !oo || !se) { free(content); return 0; }
        c->cap = cap;
    }
    c->msgs[c->n].role = role;
    c->msgs[c->n].content = content;
    c->owned[c->n] = content;
    c->span_end[c->n] = c->n_conv;
    c->n++;
    return 1;
}

int ds2_cli_chat_drop(ds2_cli_chat *c, ds2_session *s, int i, int j) {
    const int32_t a = i ? c->span_end[i - 1] : c->n_prefix, b = c->span_end[j - 1], d = b - a;
    ds2_error err;
    if (b <= c->n_cached) {
        if (ds2_session_shift(s, a, d, &err) != DS2_OK) {
            fprintf(stderr, "ds2: %s\n", err.message);
            return 0;
        }
        c->n_cached -= d;
    } else if (a < c->n_cached) {
        ds2_session_truncate(s, a, &err);
        c->n_cached = a;
    }
    memmove(c->conv + a, c->conv + b, (size_t)(c->n_conv - b) * sizeof *c->conv);
    c->n_conv -= d;
    for (int k = i; k < j; k++) free(c->owned[k]);
    for (int k = j; k < c->n; k++) c->span_end[k] -= d;
    memmove(c->msgs + i, c->msgs + j, (size_t)(c->n - j) * sizeof *c->msgs);
    memmove(c->owned + i, c->owned + j, (size_t)(c->n - j) * sizeof *c->owned);
    memmove(c->span_end + i, c->span_end + j, (size_t)(c->n - j) * sizeof *c->span_end);
    c->n -= j - i;
    return 1;
}

/* malloc'd rendering of msgs[0..n) */
static char *render(const ds2_model *m, const ds2_chat_message *msgs, int n, int add_gen) {
    ds2_error err;
    size_t len = 0;
    ds2_status st = ds2_chat_render(m, msgs, n, add_gen, NULL, 0, &len, &err);
    if (st != DS2_OK && st != DS2_E_INVALID_ARG) {
        fprintf(stderr, "ds2: %s: %s\n", ds2_status_name(st), err.message);
        return NULL;
    }
    char *text = malloc(len + 1);
    if (text && ds2_chat_render(m, msgs, n, add_gen, text, len + 1, &len, &err) != DS2_OK) {
        fprintf(stderr, "ds2: %s\n", err.message);
        free(text);
        return NULL;
    }
    return text;
}

int ds2_cli_chat_delta(const ds2_model *m, const ds2_cli_chat *c, int gen_before, int add_gen, int32_t **ids,
                       int32_t *n_ids) {
    char *before = render(m, c->msgs, c->n - 1, gen_before), *after = render(m, c->msgs, c->n, add_gen);
    int ok = 0;
    *ids = NULL;
    if (before && after) {
        size_t lb = strlen(before);
        if (strncmp(before, after, lb) != 0) {
            fprintf(stderr, "ds2: the chat format is not incremental\n");
        } else {
            ds2_error err;
            const char *d = after + lb;
            int32_t need = 0;
            const int bos = c->n_conv == 0;
            ds2_status st = ds2_tokenize(m, d, strlen(d), bos, 1, NULL, 0, &need, &err);
            *ids = malloc(((size_t)need + 1) * sizeof **ids);
            if ((st == DS2_OK || st == DS2_E_INVALID_ARG) && *ids &&
                (st = ds2_tokenize(m, d, strlen(d), bos, 1, *ids, need, n_ids, &err)) == DS2_OK) {
                ok = 1;
            } else {
                fprintf(stderr, "ds2: %s: %s\n", ds2_status_name(st), err.message);
                free(*ids);
                *ids = NULL;
            }
        }
    }
    free(before);
    free(after);
    return ok;
}

int ds2_cli_chat_append(ds2_cli_chat *c, const int32_t *ids, int32_t n) {
    if (c->n_conv + n > c->cap_conv) {
        int32_t cap = c->cap_conv ? c->cap_conv : 256;
        while (cap < c->n_conv + n) cap *= 2;
        int32_t *nc = realloc(c->conv, (size_t)cap * sizeof *nc);
        if (!nc) return 0;
        c->conv = nc, c->cap_conv = cap;
    }
    memcpy(c->conv + c->n_conv, ids, (size_t)n * sizeof *ids);
    c->n_conv += n;
    return 1;
}

int ds2_cli_chat_close_reply(ds2_cli_chat *c, const ds2_model *m, ds2_session *s, char *reply,
                             ds2_stop_reason why, int32_t user_end) {
    if (!reply) return 0;
    /* DeepSeek-V2 renders "Assistant: " + content after the generation prompt "Assistant:": the space the
     * model generated belongs to the format */
    if (ds2_chat_detect(m) == DS2_CHAT_DEEPSEEK2 && reply[0] == ' ') memmove(reply, reply + 1, strlen(reply));
    if (!ds2_cli_chat_push(c, "assistant", reply)) return 0;
    if (why == DS2_STOP_STRING) {
        /* The ids ran past the stop string: the reply becomes its text as the template renders it. conv already
         * holds the generation prompt the reply followed (it ends the user's span), so the new ids are what the
         * reply adds to the rendering WITH that prompt — not without it, which would put the prompt in twice. */
        int32_t *ids = NULL, n = 0;
        if (!ds2_cli_chat_delta(m, c, 1, 0, &ids, &n)) return 0;
        /* the cache keeps the generated ids that the text's ids agree with */
        int32_t k = 0;
        while (k < n && user_end + k < c->n_conv && c->conv[user_end + k] == ids[k]) k++;
        c->n_conv = user_end;
        if (c->n_cached > user_end + k) {
            ds2_error err;
            if (ds2_session_truncate(s, user_end + k, &err) != DS2_OK) {
                fprintf(stderr, "ds2: %s\n", err.message);
                free(ids);
                return 0;
            }
            c->n_cached = user_end + k;
        }
        int ok = ds2_cli_chat_append(c, ids, n);
        free(ids);
        if (!ok) return 0;
    } else {
        const int32_t eos = ds2_token_eos(m);
        if (eos >= 0 && !ds2_cli_chat_append(c, &eos, 1)) return 0; /* the format closes every reply with EOS */
    }
    c->span_end[c->n - 1] = c->n_conv;
    return 1;
}
