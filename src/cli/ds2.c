/* ds2 — the native command-line tool.
 *
 *   ds2 info -m model.gguf
 *   ds2 eval -m model.gguf --tokens 1,2,3 [--logits out.f32] [-n N] [--threads N] [--kv f32|f16]
 *            [--attn auto|absorbed|naive] [--batch N] [--ctx N] [--kernels ref|auto]
 *
 * `eval` runs the given token ids (used as given, no BOS added) as one prompt, prints the top-5 next tokens
 * per position and the greedy continuation of N tokens, and with --logits writes the logits of every prompt
 * position as little-endian float32, positions × vocab, so any oracle can compare.
 */
/* clock_gettime is POSIX, not C11 */
#define _POSIX_C_SOURCE 199309L
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "args.h"
#include "ds2.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage:\n"
            "  ds2 info -m model.gguf\n"
            "  ds2 run -m model.gguf -p \"text\" [sampling options]   (ds2 run --help)\n"
            "  ds2 chat -m model.gguf [--system \"text\"] [sampling options]\n"
            "  ds2 tokenize -m model.gguf -p TEXT | --jsonl   (ds2 tokenize --help)\n"
            "  ds2 detokenize -m model.gguf --tokens 1,2,3 | --jsonl\n"
            "  ds2 eval -m model.gguf --tokens 1,2,3 [--logits out.f32] [-n N] [--threads N]\n"
            "           [--kv f32|f16] [--attn auto|absorbed|naive] [--batch N] [--ctx N]\n"
            "           [--kernels ref|auto]\n"
            "\n"
            "eval runs the token ids as given (no BOS is added), prints the top-5 next tokens per position\n"
            "and the greedy continuation of N tokens (-n, default 0); --logits writes every position's logits\n"
            "as little-endian float32 (positions x vocab). The KV cache is f32 unless --kv f16; threads: the\n"
            "CPUs it may use, up to 8, unless --threads (results do not depend on the thread count).\n"
            "--kernels ref uses the scalar kernels (bit-exact with llama.cpp's x64 CPU build; also\n"
            "DS2_KERNELS=ref); auto (default) the fastest SIMD set of this CPU.\n");
}

/* An int flag value in [lo, hi] (args.c does the parsing and the message). */
static int parse_int(const char *s, const char *flag, int lo, int hi, int *out) {
    long v;
    if (!ds2_cli_parse_long(s, flag, lo, hi, &v)) return 0;
    *out = (int)v;
    return 1;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int load(const char *path, ds2_model **m) {
    ds2_error err;
    ds2_loader_params lp = ds2_loader_default_params();
    lp.allow_vocab_only = 1;
    ds2_status st = ds2_model_load_file(path, &lp, m, &err);
    if (st != DS2_OK) {
        fprintf(stderr, "ds2: cannot load '%s': %s: %s\n", path, ds2_status_name(st), err.message);
        return 0;
    }
    return 1;
}

static int cmd_info(const char *path) {
    ds2_model *m;
    if (!load(path, &m)) return 1;
    ds2_model_info i;
    ds2_model_get_info(m, &i);
    char buf[256];
    const char *arch = ds2_model_meta_str(m, "general.architecture", buf, sizeof buf);
    printf("file:           %s\n", path);
    printf("architecture:   %s\n", arch ? arch : "(none)");
    const char *name = ds2_model_meta_str(m, "general.name", buf, sizeof buf);
    if (name) printf("name:           %s\n", name);
    printf("vocab:          %d (bos %d, eos %d)\n", i.n_vocab, i.bos_id, i.eos_id);
    if (i.has_weights) {
        printf("layers:         %d (%d dense)\n", i.n_layer, i.n_layer_dense);
        printf("embedding:      %d\n", i.n_embd);
        printf("heads:          %d (q/k nope %d + rope %d, v %d)\n", i.n_head, i.qk_nope, i.qk_rope, i.v_head);
        printf("q path:         %s\n", i.q_lora_rank ? "compressed (q_lora_rank below)" : "plain attn_q");
        if (i.q_lora_rank) printf("q_lora_rank:    %d\n", i.q_lora_rank);
        printf("kv_lora_rank:   %d\n", i.kv_lora_rank);
        printf("kv_b tensors:   %s\n", i.split_kv_b ? "split attn_k_b/attn_v_b (MLA-era GGUF)" : "attn_kv_b (legacy GGUF)");
        printf("context:        %d (train)\n", i.n_ctx_train);
        printf("rope:           theta %g%s", i.rope_theta, i.rope_yarn ? ", YaRN" : "");
        if (i.rope_yarn) printf(" factor %g, original ctx %d, mscale_all_dim %g", i.rope_factor, i.rope_orig_ctx, i.yarn_log_mul);
        printf("\nsoftmax scale:  %.6f\n", i.kq_scale);
        printf("dense ffn:      %d\n", i.n_ff);
        printf("experts:        %d routed (top-%d, width %d), %d shared\n", i.n_expert, i.n_expert_used, i.n_ff_exp,
               i.n_expert_shared);
        printf("routing:        %s%s, groups %d/%d, weights %s, scale %g\n", i.gating == 2 ? "sigmoid" : "softmax",
               i.has_exp_probs_b ? " + selection bias" : "", i.n_group_used, i.n_group,
               i.weights_norm ? "renormalised" : "raw", i.weights_scale);
        printf("rms eps:        %g\n", i.rms_eps);
        printf("parameters:     %.3f M\n", i.n_params / 1e6);
        printf("weights:        %.2f MiB\n", i.weight_bytes / 1048576.0);
        printf("KV per token:   %llu bytes f16 (MLA latent) vs %llu bytes for decompressed K+V (%.1fx)\n",
               (unsigned long long)i.kv_bytes_per_token_f16, (unsigned long long)i.mha_kv_bytes_per_token_f16,
               (double)i.mha_kv_bytes_per_token_f16 / (double)i.kv_bytes_per_token_f16);
    } else {
        printf("tensors:        none (vocabulary-only file)\n");
    }
    int32_t nt = ds2_model_n_tensors(m);
    printf("tensors:        %d\n", nt);
    for (int32_t t = 0; t < nt; t++) {
        const char *tn, *dt;
        int64_t ne[4];
        uint64_t nb;
        ds2_model_tensor_info(m, t, &tn, &dt, ne, &nb);
        printf("  %-32s %-6s {%lld, %lld, %lld, %lld} %llu bytes\n", tn, dt, (long long)ne[0], (long long)ne[1],
               (long long)ne[2], (long long)ne[3], (unsigned long long)nb);
    }
    ds2_model_free(m);
    return 0;
}

static void print_top5(const float *x, int32_t n) {
    int32_t top[5];
    int k = 0;
    for (; k < 5 && k < n; k++) {
        int32_t best = -1;
        for (int32_t i = 0; i < n; i++) {
            int taken = 0;
            for (int j = 0; j < k; j++) taken |= top[j] == i;
            if (!taken && (best < 0 || x[i] > x[best])) best = i;
        }
        top[k] = best;
        printf(" %d(%.4f)", best, x[best]);
    }
}

static int cmd_eval(const char *path, const char *tokens_arg, const char *logits_path, int n_gen,
                    ds2_session_params sp) {
    int32_t *toks = NULL, n = 0;
    if (!ds2_cli_parse_ids(tokens_arg, &toks, &n)) {
        free(toks);
        return 2;
    }
    ds2_model *m;
    if (!load(path, &m)) { free(toks); return 1; }
    ds2_model_info info;
    ds2_model_get_info(m, &info);
    if (sp.n_ctx == 0) sp.n_ctx = n + n_gen;
    ds2_error err;
    ds2_session *s = NULL;
    int rc = 1;
    float *logits = malloc((size_t)n * (size_t)info.n_vocab * sizeof(float));
    ds2_cli_check_threads(sp.n_threads);
    ds2_status st = logits ? ds2_session_create(m, &sp, &s, &err) : DS2_E_NOMEM;
    if (st != DS2_OK) {
        fprintf(stderr, "ds2: %s: %s\n", ds2_status_name(st), logits ? err.message : "out of memory");
        goto done;
    }
    double t0 = now_s();
    st = ds2_session_eval(s, toks, n, DS2_LOGITS_ALL, logits, &err);
    double t1 = now_s();
    if (st != DS2_OK) {
        fprintf(stderr, "ds2: %s: %s\n", ds2_status_name(st), err.message);
        goto done;
    }
    for (int i = 0; i < n; i++) {
        printf("pos %d token %d top5:", i, toks[i]);
        print_top5(logits + (size_t)i * info.n_vocab, info.n_vocab);
        printf("\n");
    }
    fprintf(stderr, "prompt: %d tokens in %.3f s (%.1f tokens/s)\n", n, t1 - t0, n / (t1 - t0));
    if (logits_path) {
        FILE *f = fopen(logits_path, "wb");
        size_t count = (size_t)n * (size_t)info.n_vocab;
        if (!f || fwrite(logits, sizeof(float), count, f) != count || fclose(f) != 0) {
            fprintf(stderr, "ds2: cannot write '%s'\n", logits_path);
            goto done;
        }
    }
    if (n_gen > 0) {
        int32_t next = ds2_argmax(logits + (size_t)(n - 1) * info.n_vocab, info.n_vocab);
        printf("greedy:");
        double g0 = now_s();
        for (int i = 0; i < n_gen; i++) {
            printf(" %d", next);
            fflush(stdout);
            if (i + 1 == n_gen) break;
            st = ds2_session_eval(s, &next, 1, DS2_LOGITS_LAST, logits, &err);
            if (st != DS2_OK) {
                fprintf(stderr, "\nds2: %s: %s\n", ds2_status_name(st), err.message);
                goto done;
            }
            next = ds2_argmax(logits, info.n_vocab);
        }
        double g1 = now_s();
        printf("\n");
        fflush(stdout); /* keep the timing line (stderr) after the tokens when both go to one terminal/pipe */
        if (n_gen > 1)
            fprintf(stderr, "generation: %d tokens in %.3f s (%.1f tokens/s)\n", n_gen - 1, g1 - g0, (n_gen - 1) / (g1 - g0));
    }
    rc = 0;
done:
    ds2_session_free(s);
    free(logits);
    ds2_model_free(m);
    free(toks);
    return rc;
}

int ds2_cli_tokenize(int argc, char **argv); /* cmd_tokenize.c: tokenize / detokenize */
int ds2_cli_run(int argc, char **argv);      /* cmd_run.c: run / chat */

int main(int argc, char **argv) {
    if (argc >= 2 && (!strcmp(argv[1], "tokenize") || !strcmp(argv[1], "detokenize")))
        return ds2_cli_tokenize(argc, argv);
    if (argc >= 2 && (!strcmp(argv[1], "run") || !strcmp(argv[1], "chat"))) return ds2_cli_run(argc, argv);
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *cmd = argv[1], *model = NULL, *tokens = NULL, *logits = NULL;
    int n_gen = 0;
    ds2_session_params sp = ds2_session_default_params();
    sp.kv_type = DS2_KV_F32;
    sp.n_threads = ds2_cli_default_threads();
    for (int i = 2; i < argc; i += 2) { /* every option but --help takes a value */
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int ok = 1;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        if (!v) { fprintf(stderr, "ds2: %s needs a value\n", a); return 2; }
        if (!strcmp(a, "-m") || !strcmp(a, "--model")) model = v;
        else if (!strcmp(a, "--tokens")) tokens = v;
        else if (!strcmp(a, "--logits")) logits = v;
        else if (!strcmp(a, "-n")) ok = parse_int(v, a, 0, 1 << 20, &n_gen);
        else if (!strcmp(a, "--threads") || !strcmp(a, "-t")) ok = parse_int(v, a, 1, 256, &sp.n_threads);
        else if (!strcmp(a, "--batch")) ok = parse_int(v, a, 1, 1 << 16, &sp.n_batch);
        else if (!strcmp(a, "--ctx")) ok = parse_int(v, a, 1, 1 << 24, &sp.n_ctx);
        else if (!strcmp(a, "--kv")) {
            if (!strcmp(v, "f32")) sp.kv_type = DS2_KV_F32;
            else if (!strcmp(v, "f16")) sp.kv_type = DS2_KV_F16;
            else { fprintf(stderr, "ds2: --kv expects f32 or f16\n"); return 2; }
        } else if (!strcmp(a, "--attn")) {
            if (!strcmp(v, "auto")) sp.attn_mode = DS2_ATTN_AUTO;
            else if (!strcmp(v, "absorbed")) sp.attn_mode = DS2_ATTN_ABSORBED;
            else if (!strcmp(v, "naive")) sp.attn_mode = DS2_ATTN_NAIVE;
            else { fprintf(stderr, "ds2: --attn expects auto, absorbed or naive\n"); return 2; }
        } else if (!strcmp(a, "--kernels")) {
            ds2_error e;
            if (ds2_set_kernels(v, &e) != DS2_OK) { fprintf(stderr, "ds2: --kernels: %s\n", e.message); return 2; }
        } else {
            fprintf(stderr, "ds2: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        }
        if (!ok) return 2;
    }
    if (!model) { fprintf(stderr, "ds2: -m model.gguf is required\n"); return 2; }
    if (!strcmp(cmd, "info")) return cmd_info(model);
    if (!strcmp(cmd, "eval")) {
        if (!tokens) { fprintf(stderr, "ds2: eval needs --tokens\n"); return 2; }
        return cmd_eval(model, tokens, logits, n_gen, sp);
    }
    fprintf(stderr, "ds2: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
