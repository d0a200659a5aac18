/* chat.h — messages → prompt text with a built-in formatter chosen from the GGUF's tokenizer.chat_template.
 *
 * Owns: recognising a template the way llama.cpp does (llm_chat_detect_template: a substring test, or the
 * template's name), and the DeepSeek-V2 / V3 formats written out by hand. Not owned: general Jinja rendering
 * (the JS layer does that with @huggingface/jinja and tokenizes the text itself).
 * Invariant: the rendered text never includes BOS (it is added by ds2_tokenize when add_bos_token says so).
 */
#ifndef DS2_CHAT_H
#define DS2_CHAT_H

#include "ds2.h"

/* Which built-in format a template string is (NULL = no template: DeepSeek-V2). */
ds2_chat_format ds2_chat_detect_template(const char *tmpl);

/* Renders with a given format; eos_text is the end-of-sentence token's text. Same output contract as
 * ds2_chat_render. */
ds2_status ds2_chat_render_format(ds2_chat_format fmt, const char *eos_text, const ds2_chat_message *messages,
                                  int32_t n_messages, int32_t add_generation_prompt, char *buf, size_t cap,
                                  size_t *len, ds2_error *err);

#endif
