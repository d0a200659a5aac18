/* cmd_run.c — `ds2 run` (prompt → streamed text) and `ds2 chat` (interactive chat with the model's template).
 *
 *   ds2 run  -m model.gguf -p "text" [-n N] [sampling] [--stop S]... [--ctx N] [--threads N] [--kv f32|f16]
 *   ds2 chat -m model.gguf [--system "text"] [-n N] [sampling] [--stop S]... [--ctx N] [--threads N]
 *
 * Sampling flags are named as llama.cpp names them. Multi-turn chat keeps the conversation as the ids the
 * cache holds (chat_conv.c): each message adds the ids of the text it adds to the rendered conversation, and
 * only what the cache does not hold yet is evaluated. When the conversation outgrows the context, the oldest
 * turns after the system prompt are dropped; if the rest of the cache is still there it is moved down with
 * ds2_session_shift instead of being recomputed.
 */
#define _POSIX_C_SOURCE 199309L
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "args.h"
#include "chat_conv.h"
#include "ds2.h"

int ds2_cli_run(int argc, char **argv);

#define MAX_STOP 16

typedef struct run_opts {
    const char *model, *prompt, *system, *tokens; /* tokens: the prompt as ids "1,2,3" (used as given) */
    int print_ids; /* print the generated ids (comma-separated) instead of text */
    const char *stop[MAX_STOP];
    int n_stop;
    int n_predict;
    int64_t seed; /* -1: from the clock */
    int verbose;
    ds2_sampler_params sp;
    ds2_session_params sess;
} run_opts;

static void usage(FILE *f) {
    fprintf(f,
            "usage:\n"
            "  ds2 run  -m model.gguf -p \"text\" [options]   streams the continuation of the prompt\n"
            "  ds2 chat -m model.gguf [--system \"text\"] [options]   interactive chat (one message per line;\n"
            "           Ctrl-C stops a reply, Ctrl-D or /exit quits)\n"
            "options:\n"
            "  -n N                 tokens to generate (-1 = until EOS or a full context; default -1)\n"
            "  --temp T             temperature (0 = greedy; default 0.8)\n"
            "  --top-k K            (default 40; 0 = off)     --top-p P   (default 0.95; 1 = off)\n"
            "  --min-p P            (default 0.05; 0 = off)\n"
            "  --repeat-penalty R   (default 1 = off)         --repeat-last-n N (default 64; -1 = 8192)\n"
            "  --presence-penalty X --frequency-penalty X    (default 0)\n"
            "  --seed S             RNG seed (default -1: from the clock, printed to stderr)\n"
            "  --stop S             stop string (repeatable, up to %d)\n"
            "  --ctx N  --threads N  --batch N  --kv f32|f16   session (default ctx: min(train, 4096), threads: the\n"
            "                       CPUs it may use, up to 8; kv f16)\n"
            "  --tokens 1,2,3       (run) the prompt as token ids, used as given (no BOS added)\n"
            "  --print-ids 1        (run) print the generated ids, comma-separated, instead of text\n"
            "  -v                   timings and stop reason on stderr\n",
            MAX_STOP);
}

static int parse_float(const char *s, const char *flag, float *out) {
    char *end;
    errno = 0;
    float v = strtof(s, &end);
    if (errno || *end || end == s || v != v) {
        fprintf(stderr, "ds2: %s expects a number, got '%s'\n", flag, s);
        return 0;
    }
    *out = v;
    return 1;
}

/* 0 ok, 1 help printed, 2 error */
static int parse_opts(int argc, char **argv, run_opts *o) {
    memset(o, 0, sizeof *o);
    o->n_predict = -1;
    o->seed = -1;
    o->sp = ds2_sampler_default_params();
    o->sess = ds2_session_default_params();
    o->sess.n_threads = ds2_cli_default_threads();
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long l = 0;
        int ok = 1;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 1; }
        if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) { o->verbose = 1; continue; }
        if (!v) { fprintf(stderr, "ds2: %s needs a value\n", a); return 2; }
        if (!strcmp(a, "-m") || !strcmp(a, "--model")) o->model = v;
        else if (!strcmp(a, "-p") || !strcmp(a, "--prompt")) o->prompt = v;
        else if (!strcmp(a, "--tokens")) o->tokens = v;
        else if (!strcmp(a, "--print-ids")) {
            if (strcmp(v, "0") && strcmp(v, "1")) { fprintf(stderr, "ds2: --print-ids expects 0 or 1\n"); return 2; }
            o->print_ids = v[0] == '1';
        }
        else if (!strcmp(a, "--system") || !strcmp(a, "-sys")) o->system = v;
        else if (!strcmp(a, "-n") || !strcmp(a, "--n-predict")) { ok = ds2_cli_parse_long(v, a, -1, 1 << 24, &l); o->n_predict = (int)l; }
        else if (!strcmp(a, "--temp")) ok = parse_float(v, a, &o->sp.temperature);
        else if (!strcmp(a, "--top-k")) { ok = ds2_cli_parse_long(v, a, 0, INT32_MAX, &l); o->sp.top_k = (int32_t)l; }
        else if (!strcmp(a, "--top-p")) ok = parse_float(v, a, &o->sp.top_p);
        else if (!strcmp(a, "--min-p")) ok = parse_float(v, a, &o->sp.min_p);
        else if (!strcmp(a, "--repeat-penalty")) ok = parse_float(v, a, &o->sp.repeat_penalty);
        else if (!strcmp(a, "--repeat-last-n")) { ok = ds2_cli_parse_long(v, a, -1, 1 << 20, &l); o->sp.penalty_last_n = (int32_t)l; }
        else if (!strcmp(a, "--presence-penalty")) ok = parse_float(v, a, &o->sp.presence_penalty);
        else if (!strcmp(a, "--frequency-penalty")) ok = parse_float(v, a, &o->sp.frequency_penalty);
        else if (!strcmp(a, "--seed") || !strcmp(a, "-s")) {
            char *end;
            errno = 0;
            long long s = strtoll(v, &end, 10);
            if (errno || *end || end == v || s < -1) { fprintf(stderr, "ds2: --seed expects -1 or a non-negative integer\n"); return 2; }
            o->seed = s;
        } else if (!strcmp(a, "--stop")) {
            if (o->n_stop == MAX_STOP || !v[0]) { fprintf(stderr, "ds2: --stop: at most %d non-empty strings\n", MAX_STOP); return 2; }
            o->stop[o->n_stop++] = v;
        } else if (!strcmp(a, "--ctx") || !strcmp(a, "-c")) { ok = ds2_cli_parse_long(v, a, 0, 1 << 24, &l); o->sess.n_ctx = (int32_t)l; }
        else if (!strcmp(a, "--threads") || !strcmp(a, "-t")) { ok = ds2_cli_parse_long(v, a, 1, 256, &l); o->sess.n_threads = (int32_t)l; }
        else if (!strcmp(a, "--batch") || !strcmp(a, "-b")) { ok = ds2_cli_parse_long(v, a, 1, 1 << 16, &l); o->sess.n_batch = (int32_t)l; }
        else if (!strcmp(a, "--kv")) {
            if (!strcmp(v, "f32")) o->sess.kv_type = DS2_KV_F32;
            else if (!strcmp(v, "f16")) o->sess.kv_type = DS2_KV_F16;
            else { fprintf(stderr, "ds2: --kv expects f32 or f16\n"); return 2; }
        } else {
            fprintf(stderr, "ds2: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        }
        if (!ok) return 2;
        i++;
    }
    if (!o->model) { fprintf(stderr, "ds2: -m model.gguf is required\n"); return 2; }
    if (o->seed < 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        o->seed = (int64_t)((uint64_t)ts.tv_sec * 1000003u ^ (uint64_t)ts.tv_nsec) & INT64_MAX;
        if (o->sp.temperature > 0.0f) fprintf(stderr, "seed: %lld\n", (long long)o->seed);
    }
    o->sp.seed = (uint64_t)o->seed;
    return 0;
}

static volatile sig_atomic_t g_sigint;
static volatile int32_t g_cancel;
static void on_sigint(int sig) {
    (void)sig;
    g_sigint = 1;
    g_cancel = 1;
}

static int print_piece(void *ud, int32_t id, const char *piece, size_t len) {
    (void)id;
    fwrite(piece, 1, len, stdout);
    fflush(stdout);
    if (ud) { /* chat: also collect the reply */
        char **reply = ud;
        size_t have = *reply ? strlen(*reply) : 0;
        char *r = realloc(*reply, have + len + 1);
        if (!r) return 1;
        memcpy(r + have, piece, len);
        r[have + len] = '\0';
        *reply = r;
    }
    return 0;
}

static int print_id(void *ud, int32_t id, const char *piece, size_t len) {
    (void)piece, (void)len;
    int *first = ud;
    if (id < 0) return 0;
    printf(*first ? "%d" : ",%d", (int)id);
    *first = 0;
    fflush(stdout);
    return 0;
}

/* "1,2,3" → malloc'd ids */
static const char *reason_name(ds2_stop_reason r) {
    static const char *names[] = {"none", "eos", "stop string", "max tokens", "callback", "cancelled", "context full"};
    return (unsigned)r < sizeof names / sizeof *names ? names[r] : "?";
}

static void print_stats(const ds2_generate_stats *st) {
    fprintf(stderr, "\nprompt: %d tokens in %.1f ms (%.1f tokens/s); generated: %d tokens in %.1f ms (%.1f tokens/s); "
                    "stop: %s\n", st->n_prompt, st->prompt_ms, st->prompt_tps, st->n_gen, st->gen_ms, st->gen_tps,
            reason_name(st->stop_reason));
}

/* text → malloc'd ids (BOS as the model asks, chat markup parsed) */
static int tokenize(const ds2_model *m, const char *text, int32_t **ids, int32_t *n) {
    ds2_error err;
    size_t len = strlen(text);
    int32_t need = 0;
    ds2_status st = ds2_tokenize(m, text, len, 1, 1, NULL, 0, &need, &err);
    if (st != DS2_OK && st != DS2_E_INVALID_ARG) {
        fprintf(stderr, "ds2: %s: %s\n", ds2_status_name(st), err.message);
        return 0;
    }
    *ids = malloc(((size_t)need + 1) * sizeof **ids);
    if (!*ids) return 0;
    st = ds2_tokenize(m, text, len, 1, 1, *ids, need, n, &err);
    if (st != DS2_OK) {
        fprintf(stderr, "ds2: %s: %s\n", ds2_status_name(st), err.message);
        free(*ids);
        *ids = NULL;
        return 0;
    }
    return 1;
}

static int open_model(const run_opts *o, ds2_model **m, ds2_session **s) {
    ds2_error err;
    ds2_status st = ds2_model_load_file(o->model, NULL, m, &err);
    if (st != DS2_OK) {
        fprintf(stderr, "ds2: cannot load '%s': %s: %s\n", o->model, ds2_status_name(st), err.message);
        return 0;
    }
    ds2_cli_check_threads(o->sess.n_threads);
    if (o->verbose) fprintf(stderr, "threads: %d\n", (int)o->sess.n_threads);
    st = ds2_session_create(*m, &o->sess, s, &err);
    if (st != DS2_OK) {
        fprintf(stderr, "ds2: %s: %s\n", ds2_status_name(st), err.message);
        ds2_model_free(*m);
        return 0;
    }
    return 1;
}

static ds2_generate_params gen_params(const run_opts *o) {
    ds2_generate_params gp = ds2_generate_default_params();
    gp.sampler = o->sp;
    gp.max_tokens = o->n_predict;
    gp.stop = o->stop;
    gp.n_stop = o->n_stop;
    return gp;
}

static int cmd_run(const run_opts *o) {
    if (!o->prompt == !o->tokens) { fprintf(stderr, "ds2: run needs -p \"prompt\" or --tokens 1,2,3\n"); return 2; }
    ds2_model *m;
    ds2_session *s;
    if (!open_model(o, &m, &s)) return 1;
    int32_t *ids = NULL, n = 0;
    int rc = 1;
    if (o->tokens ? !ds2_cli_parse_ids(o->tokens, &ids, &n) : !tokenize(m, o->prompt, &ids, &n)) goto done;
    if (n == 0) { fprintf(stderr, "ds2: the prompt is empty and the model adds no BOS\n"); goto done; }
    ds2_generate_params gp = gen_params(o);
    ds2_generate_stats stats;
    ds2_error err;
    signal(SIGINT, on_sigint);
    int first = 1;
    ds2_status st = ds2_generate(s, ids, n, &gp, o->print_ids ? print_id : print_piece, o->print_ids ? &first : NULL,
                                 &g_cancel, &stats, &err);
    printf("\n");
    fflush(stdout);
    if (o->verbose || st != DS2_OK) print_stats(&stats);
    if (st != DS2_OK && st != DS2_E_CANCELLED) {
        fprintf(stderr, "ds2: %s: %s\n", ds2_status_name(st), err.message);
        goto done;
    }
    rc = st == DS2_E_CANCELLED ? 130 : 0;
done:
    free(ids);
    ds2_session_free(s);
    ds2_model_free(m);
    return rc;
}

/* ---- chat ------------------------------------------------------------------------------------------------ */

static char *dupstr(const char *s) {
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (d) memcpy(d, s, n + 1);
    return d;
}

typedef struct reply_sink {
    char *reply;
    ds2_cli_chat *c;
} reply_sink;

static int chat_piece(void *ud, int32_t id, const char *piece, size_t len) {
    reply_sink *r = ud;
    if (id >= 0 && !ds2_cli_chat_append(r->c, &id, 1)) return 1;
    return print_piece(&r->reply, id, piece, len);
}

static int cmd_chat(const run_opts *o) {
    ds2_model *m;
    ds2_session *s;
    if (!open_model(o, &m, &s)) return 1;
    int rc = 1;
    const int32_t n_ctx = ds2_session_n_ctx(s);
    const ds2_chat_format fmt = ds2_chat_detect(m);
    ds2_cli_chat c = {0};
    char *line = NULL;
    size_t line_cap = 0;
    if (fmt == DS2_CHAT_UNKNOWN) {
        fprintf(stderr, "ds2: this model's chat template is not one the built-in formatter knows (DeepSeek-V2/V3); "
                        "use `ds2 run -p` with a prompt rendered elsewhere\n");
        goto done;
    }
    /* the system prompt (and BOS) first: they stay when old turns are dropped */
    if (o->system) {
        int32_t *ids = NULL, n = 0;
        if (!ds2_cli_chat_push(&c, "system", dupstr(o->system)) || !ds2_cli_chat_delta(m, &c, 0, 0, &ids, &n))
            goto done;
        const int bos = ds2_token_add_bos(m) && ds2_token_bos(m) >= 0 && n > 0 && ids[0] == ds2_token_bos(m);
        int ok = n + 8 < n_ctx && ds2_cli_chat_append(&c, ids, n);
        free(ids);
        if (!ok) { fprintf(stderr, "ds2: the system prompt does not fit the context (%d)\n", n_ctx); goto done; }
        c.n_prefix = bos;
        c.span_end[0] = c.n_conv;
    }
    signal(SIGINT, on_sigint);
    /* room kept for the reply: -n tokens, or a quarter of the context */
    const int32_t reserve = o->n_predict > 0 && o->n_predict < n_ctx / 2 ? o->n_predict : n_ctx / 4;
    for (;;) {
        fprintf(stderr, "> ");
        fflush(stderr);
        size_t len = 0; /* one line per message (a getchar loop: getline is POSIX 2008) */
        int ch;
        while ((ch = getchar()) != EOF && ch != '\n') {
            if (len + 2 > line_cap) {
                size_t nc = line_cap ? 2 * line_cap : 256;
                char *nl = realloc(line, nc);
                if (!nl) goto done;
                line = nl, line_cap = nc;
            }
            line[len++] = (char)ch;
        }
        if (ch == EOF && len == 0) break;
        if (!line || len == 0) continue;
        line[len] = '\0';
        if (!strcmp(line, "/exit") || !strcmp(line, "/quit")) break;
        if (!ds2_cli_chat_push(&c, "user", dupstr(line))) goto done;
        int32_t *ids = NULL, n = 0;
        if (!ds2_cli_chat_delta(m, &c, 0, 1, &ids, &n)) goto done;
        if (c.n_conv == 0 && n > 0 && ds2_token_add_bos(m) && ids[0] == ds2_token_bos(m)) c.n_prefix = 1;
        /* context full: drop the oldest turns after the system prompt (the cache shifts, nothing is recomputed) */
        const int first = c.n > 0 && !strcmp(c.msgs[0].role, "system") ? 1 : 0;
        while (c.n_conv + n + reserve > n_ctx && c.n - 1 - first >= 1) {
            int j = first + 1; /* the oldest user message and the reply that follows it */
            if (j < c.n - 1 && !strcmp(c.msgs[j].role, "assistant")) j++;
            if (!ds2_cli_chat_drop(&c, s, first, j)) { free(ids); goto done; }
            if (o->verbose) fprintf(stderr, "[context full: dropped the oldest turn; %d ids remain cached]\n", c.n_cached);
        }
        if (c.n_conv + n + 1 > n_ctx) {
            fprintf(stderr, "ds2: the message (%d tokens) does not fit the context (%d)\n", n, n_ctx);
            free(ids);
            free(c.owned[c.n - 1]);
            c.n--;
            continue;
        }
        const int ok = ds2_cli_chat_append(&c, ids, n);
        free(ids);
        if (!ok) goto done;
        c.span_end[c.n - 1] = c.n_conv;
        const int32_t user_end = c.n_conv;
        if (o->verbose) fprintf(stderr, "[cache: %d of %d ids reused]\n", c.n_cached, c.n_conv);

        reply_sink sink = {NULL, &c};
        ds2_generate_params gp = gen_params(o);
        if (gp.max_tokens < 0 || gp.max_tokens > n_ctx - c.n_conv) gp.max_tokens = n_ctx - c.n_conv;
        ds2_generate_stats stats;
        ds2_error err;
        g_cancel = 0;
        ds2_status st = ds2_generate(s, c.conv + c.n_cached, user_end - c.n_cached, &gp, chat_piece, &sink, &g_cancel,
                                     &stats, &err);
        printf("\n");
        fflush(stdout);
        if (o->verbose) print_stats(&stats);
        c.n_cached = ds2_session_n_past(s);
        if (st != DS2_OK && st != DS2_E_CANCELLED) {
            fprintf(stderr, "ds2: %s: %s\n", ds2_status_name(st), err.message);
            free(sink.reply);
            goto done;
        }
        g_sigint = 0;
        if (!ds2_cli_chat_close_reply(&c, m, s, sink.reply ? sink.reply : dupstr(""), stats.stop_reason, user_end))
            goto done;
    }
    rc = 0;
done:
    ds2_cli_chat_free(&c);
    free(line);
    ds2_session_free(s);
    ds2_model_free(m);
    return rc;
}

int ds2_cli_run(int argc, char **argv) {
    run_opts o;
    int r = parse_opts(argc, argv, &o);
    if (r) return r == 1 ? 0 : r;
    return !strcmp(argv[1], "chat") ? cmd_chat(&o) : cmd_run(&o);
}
