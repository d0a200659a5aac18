/* moe.c — dense SwiGLU MLP and the DeepSeekMoE block (reference §1.7, §1.8).
 *
 * Reads blk.l.{ffn_gate, ffn_up, ffn_down} for the leading dense layers; otherwise ffn_gate_inp (router),
 * optional exp_probs_b (selection bias), ffn_{gate,up,down}_exps (3-D: expert e = rows [e·out, (e+1)·out)),
 * ffn_{gate,up,down}_shexp (the shared experts as ONE SwiGLU of width Fe·S, added unweighted).
 *
 * Routing follows llama.cpp (our oracle): probabilities by softmax or sigmoid; selection scores = probs + bias;
 * group limiting keeps the n_group_used groups with the highest sum of their top-2 selection scores (note:
 * DeepSeek's own V2 code ranks groups by their max instead; llama.cpp uses top-2 sums for every model);
 * top-k on the selection scores; weights are the UNBIASED probabilities, renormalised if expert_weights_norm
 * (sum clamped ≥ 6.1035e-5) and multiplied by expert_weights_scale when it is neither 0 nor 1.
 *
 * Prefill groups the batch's tokens by expert, so each selected expert's weights are read once per batch;
 * in decode only the selected experts are touched. Expert outputs are kept per (token, slot) and summed in
 * slot order, as llama.cpp does.
 */
#include <math.h>
#include <string.h>

#include "kernels/kernels.h"
#include "moe.h"

void ds2_moe_route(const ds2_hparams *hp, const float *logits, const float *bias, int32_t *ids, float *weights,
                   float *scratch) {
    const int E = hp->n_expert, K = hp->n_expert_used;
    float *prob = scratch, *sel = scratch + E;
    if (hp->gating == DS2_GATING_SIGMOID) {
        for (int e = 0; e < E; e++) prob[e] = 1.0f / (1.0f + expf(-logits[e]));
    } else {
        memcpy(prob, logits, (size_t)E * sizeof(float));
        ds2_softmax(prob, E);
    }
    for (int e = 0; e < E; e++) sel[e] = bias ? prob[e] + bias[e] : prob[e];

    if (hp->n_group > 1 && hp->n_group_used < hp->n_group) {
        const int G = hp->n_group, per = E / G;
        /* group score = sum of the two largest selection scores in the group */
        float gs[DS2_MAX_GROUPS];
        for (int g = 0; g < G; g++) {
            float b1 = -INFINITY, b2 = -INFINITY;
            for (int i = 0; i < per; i++) {
                float v = sel[g * per + i];
                if (v > b1) { b2 = b1; b1 = v; }
                else if (v > b2) b2 = v;
            }
            gs[g] = b1 + b2;
        }
        /* keep the best n_group_used groups (ties: lower group index), mask the rest */
        unsigned char keep[DS2_MAX_GROUPS];
        memset(keep, 0, sizeof keep);
        for (int r = 0; r < hp->n_group_used; r++) {
            int best = -1;
            for (int g = 0; g < G; g++)
                if (!keep[g] && (best < 0 || gs[g] > gs[best])) best = g;
            keep[best] = 1;
        }
        for (int g = 0; g < G; g++)
            if (!keep[g])
                for (int i = 0; i < per; i++) sel[g * per + i] = -INFINITY;
    }

    /* top-k by selection score, best first (ties: lower expert index) */
    for (int k = 0; k < K; k++) {
        int best = -1;
        for (int e = 0; e < E; e++) {
            if (sel[e] == -INFINITY && best >= 0) continue;
            int taken = 0;
            for (int j = 0; j < k; j++) taken |= ids[j] == e;
            if (!taken && (best < 0 || sel[e] > sel[best])) best = e;
        }
        ids[k] = best;
        weights[k] = prob[best];
    }
    if (hp->weights_norm) {
        float sum = 0.0f;
        for (int k = 0; k < K; k++) sum += weights[k];
        if (sum < 6.103515625e-5f) sum = 6.103515625e-5f; /* llama.cpp's clamp (smallest normal f16) */
        for (int k = 0; k < K; k++) weights[k] /= sum;
    }
    if (hp->weights_scale != 0.0f && hp->weights_scale != 1.0f)
        for (int k = 0; k < K; k++) weights[k] *= hp->weights_scale;
}

/* y [n][D] = W_down · (SiLU(W_gate·x) ⊙ W_up·x) for x [n][D] with hidden width F; uses s->ffn_g/ffn_u. */
static void swiglu_mlp(ds2_session *s, const ds2_tensor *gate, const ds2_tensor *up, const ds2_tensor *down,
                       size_t row_off_gu, size_t row_off_d, const float *x, int64_t n, int64_t F, float *y) {
    const int64_t D = s->model->hp.n_embd;
    const char *wg = (const char *)gate->data + row_off_gu * gate->row_bytes;
    const char *wu = (const char *)up->data + row_off_gu * up->row_bytes;
    const char *wd = (const char *)down->data + row_off_d * down->row_bytes;
    const ds2_type_traits *tg = ds2_type_traits_get(gate->type), *tu = ds2_type_traits_get(up->type);
    ds2_quantize_act(gate->type, x, D, n, s->qbuf);
    ds2_matmul_q(s->pool, s->ffn_g, F, wg, gate->type, s->qbuf, D, F, n);
    if (tu->vec_dot_type != tg->vec_dot_type) ds2_quantize_act(up->type, x, D, n, s->qbuf);
    ds2_matmul_q(s->pool, s->ffn_u, F, wu, up->type, s->qbuf, D, F, n);
    ds2_swiglu_rows(s->ffn_g, s->ffn_g, s->ffn_u, n, F); /* ggml's glu op works row by row */
    ds2_matmul(s->pool, y, D, wd, down->type, s->ffn_g, F, D, n, s->qbuf2);
}

void ds2_ffn_forward(ds2_session *s, int l, int32_t T) {
    const ds2_hparams *hp = &s->model->hp;
    const ds2_layer *L = &s->model->w.layers[l];
    const int64_t D = hp->n_embd, E = hp->n_expert, K = hp->n_expert_used, Fe = hp->n_ff_exp;
    if (l < hp->n_layer_dense) {
        swiglu_mlp(s, &L->ffn_gate, &L->ffn_up, &L->ffn_down, 0, 0, s->a, T, hp->n_ff, s->tmp);
        return;
    }

    /* route every token */
    ds2_matmul(s->pool, s->router, E, L->gate_inp.data, L->gate_inp.type, s->a, D, E, T, s->qbuf);
    for (int32_t t = 0; t < T; t++)
        ds2_moe_route(hp, s->router + (size_t)t * E, L->exp_probs_b.data, s->sel_ids + (size_t)t * K,
                      s->sel_w + (size_t)t * K, s->select);

    /* group (token, slot) pairs by expert: counting sort */
    memset(s->exp_count, 0, (size_t)E * sizeof(int32_t));
    for (int64_t i = 0; i < T * K; i++) s->exp_count[s->sel_ids[i]]++;
    int32_t start = 0;
    for (int64_t e = 0; e < E; e++) {
        int32_t c = s->exp_count[e];
        s->exp_count[e] = start;
        start += c;
    }
    for (int64_t i = 0; i < T * K; i++) s->exp_rows[s->exp_count[s->sel_ids[i]]++] = (int32_t)i;
    /* exp_count[e] is now the end of expert e's run */

    int32_t begin = 0;
    for (int64_t e = 0; e < E; e++) {
        const int32_t end = s->exp_count[e], n = end - begin;
        if (n == 0) continue;
        for (int32_t r = 0; r < n; r++) {
            const int32_t tok = s->exp_rows[begin + r] / (int32_t)K;
            memcpy(s->exp_in + (size_t)r * D, s->a + (size_t)tok * D, (size_t)D * sizeof(float));
        }
        /* expert e's matrices: rows [e·Fe, (e+1)·Fe) of gate/up, [e·D, (e+1)·D) of down */
        swiglu_mlp(s, &L->gate_exps, &L->up_exps, &L->down_exps, (size_t)e * Fe, (size_t)e * D, s->exp_in, n, Fe,
                   s->tmp);
        for (int32_t r = 0; r < n; r++)
            memcpy(s->exp_out + (size_t)s->exp_rows[begin + r] * D, s->tmp + (size_t)r * D, (size_t)D * sizeof(float));
        begin = end;
    }

    /* weighted sum in slot order, then the shared experts */
    for (int32_t t = 0; t < T; t++) {
        float *y = s->exp_in + (size_t)t * D;
        for (int64_t i = 0; i < D; i++) y[i] = 0.0f;
        for (int64_t k = 0; k < K; k++) {
            const float w = s->sel_w[(size_t)t * K + k];
            const float *o = s->exp_out + ((size_t)t * K + k) * D;
            if (k == 0) for (int64_t i = 0; i < D; i++) y[i] = o[i] * w;
            else for (int64_t i = 0; i < D; i++) y[i] += o[i] * w;
        }
    }
    if (hp->n_expert_shared > 0) {
        swiglu_mlp(s, &L->gate_shexp, &L->up_shexp, &L->down_shexp, 0, 0, s->a, T, Fe * hp->n_expert_shared, s->tmp);
        for (int64_t i = 0; i < (int64_t)T * D; i++) s->tmp[i] += s->exp_in[i];
    } else {
        memcpy(s->tmp, s->exp_in, (size_t)T * D * sizeof(float));
    }
}
