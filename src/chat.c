/* chat.c — built-in chat formats (see chat.h). Texts as in llama.cpp's llm_chat_apply_template for
 * LLM_CHAT_TEMPLATE_DEEPSEEK_2 / _3 (reference §5.4). */
#include <string.h>

#include "chat.h"
#include "error.h"
#include "model.h"

#define EOS_LITERAL "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>" /* <｜end▁of▁sentence｜> */
#define V3_USER "<\xef\xbd\x9cUser\xef\xbd\x9c>"                                          /* <｜User｜> */
#define V3_ASSISTANT "<\xef\xbd\x9c" "Assistant\xef\xbd\x9c>"                              /* <｜Assistant｜> */

ds2_chat_format ds2_chat_detect_template(const char *t) {
    if (!t || !t[0]) return DS2_CHAT_DEEPSEEK2;
    /* a template may also be given by the name llama.cpp uses for it */
    if (!strcmp(t, "deepseek2")) return DS2_CHAT_DEEPSEEK2;
    if (!strcmp(t, "deepseek3")) return DS2_CHAT_DEEPSEEK3;
    if (strstr(t, "'Assistant: ' + message['content'] + eos_token")) return DS2_CHAT_DEEPSEEK2;
    if (strstr(t, V3_ASSISTANT) && strstr(t, V3_USER) && strstr(t, EOS_LITERAL)) return DS2_CHAT_DEEPSEEK3;
    return DS2_CHAT_UNKNOWN;
}

/* Appends to buf while it fits; always counts. */
typedef struct out_buf {
    char *buf;
    size_t cap, len;
} out_buf;

static void put(out_buf *o, const char *s) {
    size_t n = strlen(s);
    if (o->len + n < o->cap) memcpy(o->buf + o->len, s, n);
    o->len += n;
}

ds2_status ds2_chat_render_format(ds2_chat_format fmt, const char *eos_text, const ds2_chat_message *msgs,
                                  int32_t n, int32_t add_gen, char *buf, size_t cap, size_t *len, ds2_error *err) {
    if (len) *len = 0;
    if (!len || (!buf && cap) || n < 0 || (n > 0 && !msgs))
        return ds2_fail(err, DS2_E_INVALID_ARG, "ds2_chat_render: NULL argument or negative count");
    if (fmt != DS2_CHAT_DEEPSEEK2 && fmt != DS2_CHAT_DEEPSEEK3)
        return ds2_fail(err, DS2_E_UNSUPPORTED_TEMPLATE,
                        "the model's chat template is not DeepSeek-V2/V3; render it with a Jinja engine and "
                        "tokenize the text instead");
    if (!eos_text) eos_text = EOS_LITERAL;
    out_buf o = {buf, cap, 0};
    if (fmt == DS2_CHAT_DEEPSEEK3) {
        /* V3's template gathers every system message (joined by a blank line) in front of the first turn, with
         * nothing after them; the turns follow (checked against its Jinja in tests/js/chat_template.test.mjs). */
        int first = 1;
        for (int32_t i = 0; i < n; i++) {
            if (!msgs[i].role || !msgs[i].content || strcmp(msgs[i].role, "system")) continue;
            if (!first) put(&o, "\n\n");
            put(&o, msgs[i].content);
            first = 0;
        }
    }
    for (int32_t i = 0; i < n; i++) {
        const char *role = msgs[i].role, *c = msgs[i].content;
        if (!role || !c) return ds2_fail(err, DS2_E_INVALID_ARG, "message %d has no role or content", i);
        if (!strcmp(role, "system")) {
            if (fmt == DS2_CHAT_DEEPSEEK2) {
                put(&o, c);
                put(&o, "\n\n");
            }
        } else if (!strcmp(role, "user")) {
            if (fmt == DS2_CHAT_DEEPSEEK2) {
                put(&o, "User: ");
                put(&o, c);
                put(&o, "\n\n");
            } else {
                put(&o, V3_USER);
                put(&o, c);
            }
        } else if (!strcmp(role, "assistant")) {
            put(&o, fmt == DS2_CHAT_DEEPSEEK2 ? "Assistant: " : V3_ASSISTANT);
            put(&o, c);
            put(&o, eos_text);
        } else {
            return ds2_fail(err, DS2_E_INVALID_ARG, "message %d: role '%.32s' is not system, user or assistant", i, role);
        }
    }
    if (add_gen) put(&o, fmt == DS2_CHAT_DEEPSEEK2 ? "Assistant:" : V3_ASSISTANT);
    *len = o.len;
    if (o.len >= cap)
        return ds2_fail(err, DS2_E_INVALID_ARG, "buffer too small: the chat needs %zu bytes + NUL, capacity %zu",
                        o.len, cap);
    buf[o.len] = '\0';
    return DS2_OK;
}

ds2_chat_format ds2_chat_detect(const ds2_model *m) {
    if (!m) return DS2_CHAT_UNKNOWN;
    const ds2_gguf_kv *kv = ds2_gguf_find_kv(m->gguf, "tokenizer.chat_template");
    if (!kv || kv->type != DS2_GGUF_STRING) return DS2_CHAT_DEEPSEEK2;
    return ds2_chat_detect_template(kv->str);
}

ds2_status ds2_chat_render(const ds2_model *m, const ds2_chat_message *msgs, int32_t n, int32_t add_gen, char *buf,
                           size_t cap, size_t *len, ds2_error *err) {
    if (len) *len = 0;
    if (!m) return ds2_fail(err, DS2_E_INVALID_ARG, "ds2_chat_render: NULL model");
    /* eos_token as the template would see it: the EOS token's own text */
    char eos[128];
    const char *eos_text = NULL;
    size_t elen = 0;
    const int32_t eos_id = ds2_token_eos(m);
    if (eos_id >= 0 && ds2_token_to_bytes(m, eos_id, eos, sizeof eos - 1, &elen, NULL) == DS2_OK) {
        eos[elen] = '\0';
        eos_text = eos;
    }
    return ds2_chat_render_format(ds2_chat_detect(m), eos_text, msgs, n, add_gen, buf, cap, len, err);
}
