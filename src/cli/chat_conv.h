/* chat_conv.h — the `ds2 chat` conversation as token ids, exactly as the session's cache holds them.
 *
 * Owns: the messages, the ids of each message (one span per message, in order), and how many of those ids are
 * in the cache. Each message adds the ids of the text it adds to the rendering (ds2_chat_render) of the
 * messages before it — the common prefix of two turns is never re-tokenized or recomputed. A reply stays as
 * the ids the model generated (as llama.cpp's CLI keeps it), except after a stop string, where the ids ran past
 * the text and the reply is tokenized as the template renders it.
 * Invariant (checked by tests/test_chat_conv.c): when every reply ended on a stop string, conv equals the
 * tokenized rendering of the whole conversation, so the next turn evaluates what a fresh session would.
 * Not owned: reading input, printing, generation parameters (src/cli/cmd_run.c).
 */
#ifndef DS2_CLI_CHAT_CONV_H
#define DS2_CLI_CHAT_CONV_H

#include <stdint.h>

#include "ds2.h"

typedef struct ds2_cli_chat {
    ds2_chat_message *msgs;
    char **owned;      /* contents we own (parallel to msgs) */
    int32_t *span_end; /* end of message i's ids in conv (parallel to msgs) */
    int n, cap;
    int32_t *conv, n_conv, cap_conv;
    int32_t n_prefix;  /* ids before the first message (BOS) */
    int32_t n_cached;  /* conv[0 .. n_cached) is in the cache */
} ds2_cli_chat;

/* Frees everything the conversation owns (the struct itself is the caller's). */
void ds2_cli_chat_free(ds2_cli_chat *c);

/* Appends a message taking ownership of content (malloc'd; freed here also on failure). Its ids are appended
 * separately (ds2_cli_chat_delta + ds2_cli_chat_append, then span_end[n-1] = n_conv). 0 when out of memory. */
int ds2_cli_chat_push(ds2_cli_chat *c, const char *role, char *content);

/* Removes messages [i, j) and their ids; the cache follows with a shift (what is cached after them stays).
 * 0 (after printing why) on failure. */
int ds2_cli_chat_drop(ds2_cli_chat *c, ds2_session *s, int i, int j);

/* malloc'd ids of the text that msgs[n-1] adds to the rendering of msgs[0..n-1), itself rendered with the
 * generation prompt when gen_before says so (the prompt a reply was generated after); msgs[0..n) is rendered
 * with add_gen. BOS first when conv is empty. 0 (after printing why) on failure. */
int ds2_cli_chat_delta(const ds2_model *m, const ds2_cli_chat *c, int gen_before, int add_gen, int32_t **ids,
                       int32_t *n_ids);

/* Appends ids to conv (grows it). 0 when out of memory. */
int ds2_cli_chat_append(ds2_cli_chat *c, const int32_t *ids, int32_t n);

/* Closes the reply generated after conv[0 .. user_end) (the user's message and the generation prompt), whose
 * generated ids were appended to conv while it streamed: pushes it as the assistant message (takes ownership
 * of reply, malloc'd) and leaves its ids in conv — the generated ids + EOS, or after a stop string the reply's
 * text as the template renders it after the generation prompt; the cache keeps what still agrees with conv.
 * c->n_cached must be the session's n_past. 0 (after printing why) on failure. */
int ds2_cli_chat_close_reply(ds2_cli_chat *c, const ds2_model *m, ds2_session *s, char *reply,
                             ds2_stop_reason why, int32_t user_end);

#endif
