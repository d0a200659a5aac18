/* test_chat_conv.c — the `ds2 chat` conversation ids (src/cli/chat_conv.c) on the bundled model: after replies
 * that ended on a stop string (the reply is re-tokenized as text), the conversation's ids — what the next turn
 * evaluates on top of the cache — equal the tokenized rendering (ds2_chat_render) of the whole conversation,
 * so the generation prompt is there once; and each turn generates what a fresh session given the whole
 * conversation generates. The turns are driven as cmd_chat drives them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat_conv.h"
#include "ds2.h"
#include "fixtures.h"
#include "test.h"

#define MODEL DS2_SOURCE_DIR "/models/ds2-novels-8m.gguf"

static char *dup(const char *s) {
    char *d = malloc(strlen(s) + 1);
    if (d) strcpy(d, s);
    return d;
}

/* malloc'd ids of the rendering of msgs[0..n) as a fresh session would get them (BOS as the model says) */
static int32_t *fresh_ids(const ds2_model *m, const ds2_chat_message *msgs, int n, int add_gen, int32_t *n_ids) {
    size_t len = 0;
    ds2_error err;
    ds2_chat_render(m, msgs, n, add_gen, NULL, 0, &len, &err);
    char *text = malloc(len + 1);
    int32_t need = 0, *ids = NULL;
    if (text && ds2_chat_render(m, msgs, n, add_gen, text, len + 1, &len, &err) == DS2_OK) {
        ds2_tokenize(m, text, len, 1, 1, NULL, 0, &need, &err);
        ids = malloc(((size_t)need + 1) * sizeof *ids);
        if (ids && ds2_tokenize(m, text, len, 1, 1, ids, need, n_ids, &err) != DS2_OK) {
            free(ids);
            ids = NULL;
        }
    }
    free(text);
    return ids;
}

/* the reply as it streams: ids into the conversation (as cmd_run.c's chat_piece), text collected */
typedef struct sink {
    ds2_cli_chat *c; /* NULL: a fresh session (ids only collected) */
    int32_t ids[256];
    int n_ids;
    char text[4096];
    size_t n_text;
} sink;

static int on_tok(void *ud, int32_t id, const char *piece, size_t len) {
    sink *k = ud;
    if (id >= 0) {
        if (k->c && !ds2_cli_chat_append(k->c, &id, 1)) return 1;
        if (k->n_ids < 256) k->ids[k->n_ids++] = id;
    }
    if (k->n_text + len < sizeof k->text) memcpy(k->text + k->n_text, piece, len), k->n_text += len;
    k->text[k->n_text] = '\0';
    return 0;
}

static ds2_session *session(const ds2_model *m) {
    ds2_session_params sp = ds2_session_default_params();
    sp.n_ctx = 512;
    ds2_session *s = NULL;
    ds2_error err;
    if (ds2_session_create(m, &sp, &s, &err) != DS2_OK) printf("  session: %s\n", err.message);
    return s;
}

/* conv == the tokenized rendering of the whole conversation; prints the first difference */
static int conv_is_fresh(const ds2_model *m, const ds2_cli_chat *c, int add_gen) {
    int32_t n = 0, *ids = fresh_ids(m, c->msgs, c->n, add_gen, &n);
    if (!ids) return 0;
    int same = n == c->n_conv && !memcmp(ids, c->conv, (size_t)n * sizeof *ids);
    if (!same) {
        int i = 0;
        while (i < n && i < c->n_conv && ids[i] == c->conv[i]) i++;
        printf("  conversation ids differ from the fresh rendering at %d (%d vs %d ids)\n", i, c->n_conv, n);
    }
    free(ids);
    return same;
}

TEST(stop_string_turns_hold_the_fresh_rendering) {
    ds2_model *m = load(MODEL);
    ASSERT_TRUE(m != NULL);
    ASSERT_EQ_I64(ds2_chat_detect(m), DS2_CHAT_DEEPSEEK2);
    ds2_session *s = session(m), *fresh = session(m);
    ASSERT_TRUE(s && fresh);
    /* the replies to "Hello" and "Say something." start with ids their rendering tokenizes the same way (the
     * cache keeps them); the one to "Tell me a story." starts with "\n" without the space that the rendering's
     * "Assistant: " puts before it (the cache drops the reply) */
    static const char *users[] = {"Hello", "Say something.", "Tell me a story.", "Who are you?"};
    const char *stop[] = {","};
    ds2_generate_params gp = ds2_generate_default_params();
    gp.sampler.temperature = 0.0f; /* greedy: the chat and the fresh session must agree token for token */
    gp.max_tokens = 64;
    gp.stop = stop;
    gp.n_stop = 1;
    ds2_cli_chat c = {0};
    int n_reused = 0; /* turns whose cache kept ids of the reply before */
    for (int t = 0; t < 4; t++) {
        ASSERT_TRUE(ds2_cli_chat_push(&c, "user", dup(users[t])));
        int32_t *ids = NULL, n = 0;
        ASSERT_TRUE(ds2_cli_chat_delta(m, &c, 0, 1, &ids, &n));
        ASSERT_TRUE(ds2_cli_chat_append(&c, ids, n));
        free(ids);
        c.span_end[c.n - 1] = c.n_conv;
        const int32_t user_end = c.n_conv;
        /* what this turn evaluates on top of the cache is the whole conversation, generation prompt once */
        ASSERT_TRUE(conv_is_fresh(m, &c, 1));
        ASSERT_TRUE(c.n_cached <= user_end);
        if (t > 0 && c.n_cached > c.span_end[c.n - 3]) n_reused++;

        sink a = {.c = &c}, b = {0};
        ds2_generate_stats st;
        ds2_error err;
        ASSERT_STATUS(ds2_generate(s, c.conv + c.n_cached, user_end - c.n_cached, &gp, on_tok, &a, NULL, &st, &err),
                      DS2_OK, err);
        ASSERT_EQ_I64(st.stop_reason, DS2_STOP_STRING); /* the case under test: every reply ends on "," */
        ASSERT_EQ_I64(st.n_prompt, user_end - c.n_cached);
        /* a fresh session given the whole conversation generates the same reply */
        ds2_session_truncate(fresh, 0, &err);
        ASSERT_STATUS(ds2_generate(fresh, c.conv, user_end, &gp, on_tok, &b, NULL, NULL, &err), DS2_OK, err);
        ASSERT_EQ_I64(a.n_ids, b.n_ids);
        ASSERT_TRUE(!memcmp(a.ids, b.ids, (size_t)a.n_ids * sizeof *a.ids));
        ASSERT_STR_EQ(a.text, b.text);

        c.n_cached = ds2_session_n_past(s);
        ASSERT_TRUE(ds2_cli_chat_close_reply(&c, m, s, dup(a.text), st.stop_reason, user_end));
        ASSERT_TRUE(conv_is_fresh(m, &c, 0));
        ASSERT_TRUE(c.n_cached >= user_end && c.n_cached <= c.n_conv);
        ASSERT_EQ_I64(c.n_cached, ds2_session_n_past(s));
        ASSERT_EQ_I64(c.span_end[c.n - 1], c.n_conv);
    }
    printf("  4 turns, %d ids; turns reusing part of the previous reply's cache: %d\n", c.n_conv, n_reused);
    ASSERT_TRUE(n_reused >= 1 && n_reused <= 2); /* both ways of closing a reply ran */
    ds2_cli_chat_free(&c);
    ds2_session_free(s);
    ds2_session_free(fresh);
    ds2_model_free(m);
}

int main(void) {
    RUN(stop_string_turns_hold_the_fresh_rendering);
    return test_summary();
}
