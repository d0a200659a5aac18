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
 *
 * Threads: the whole block is ONE pool job whose phases are separated by barriers (a barrier costs far less
 * than a dispatch, and small experts would otherwise each pay one per matrix):
 *   router logits (rows of W_router) | routing (tokens) | grouping by expert (thread 0) | quantized inputs
 *   (rows) | gate+up of every selected expert and the shared one (expert, rows) | SwiGLU + quantize (rows) |
 *   down projections (expert, rows) | slot-order weighted sum + shared (elements).
 * The two product phases hand out chunks dynamically (for_chunks); the others are split statically.
 * The (expert, rows) phases cut one list of all experts' rows into equal shares of multiply-adds, so a thread's
 * share may span experts and an expert may be split between threads. Every output element is still one
 * vec_dot call on the same bytes as a product on one thread (an activation row is rounded to the partner type
 * the same way whether gathered first or not), so results are bit-identical for any thread count. A dense
 * layer is the same job with one "expert" and no routing.
 */
#include <math.h>
#include <stdatomic.h>
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

/* One SwiGLU "expert" of a job: a routed expert, the shared experts (one SwiGLU of width Fe·S) or the dense
 * MLP. Its n input rows are tokens, listed by pairs[] (token·K + slot) for a routed expert, else 0..n−1. */
typedef struct {
    const char *wg, *wu, *wd;   /* first row of its gate/up [F][D] and down [D][F] matrices */
    int32_t tg, tu, td;         /* their types */
    int32_t same_act;           /* gate and up share a partner type: one quantized input */
    int64_t F, n;               /* hidden width, input rows */
    const int32_t *pairs;       /* [n] or NULL */
    size_t qin_g, qin_u, qd;    /* byte offsets of its quantized gate/up inputs and down inputs */
    size_t gu;                  /* float offset of its [n][F] gate/up outputs */
    float *out;                 /* [n][D] down outputs */
} ffn_group;

/* Scratch of one FFN job (byte offsets into the session's ffn_ws), sized for n_batch tokens, n_threads. */
typedef struct {
    size_t groups, pos, route, qin_g, qin_u, g, u, qd, out, shared, total;
} ffn_layout;

typedef struct {
    ds2_session *s;
    const ds2_layer *L;
    int32_t T;
    int moe;                    /* 0: dense layer (its one group is set before the job) */
    ffn_group *groups;
    int32_t n_groups;           /* routed groups are set by thread 0 during the job */
    int32_t *pos;               /* [T·K] row of pair i in the grouped routed outputs */
    float *route, *g, *u, *out, *shared;
    char *qin_g, *qin_u, *qd;
    atomic_int next_gate_up, next_down; /* the next chunk of these phases (for_chunks) */
} ffn_job;

static size_t align64(size_t b) { return (b + 63) & ~(size_t)63; }

/* bytes of one activation row of `cols` in t's partner type (0 for an absent tensor) */
static size_t act_row(const ds2_tensor *t, int64_t cols) { return t->data ? ds2_matmul_qbuf_bytes(t->type, cols, 1) : 0; }

static ffn_layout ffn_plan(const ds2_model *m, int64_t T, int64_t nth) {
    const ds2_hparams *hp = &m->hp;
    const int64_t D = hp->n_embd, E = hp->n_expert > 0 ? hp->n_expert : 1;
    const int64_t K = hp->n_expert_used > 0 ? hp->n_expert_used : 1;
    const int64_t Fe = hp->n_ff_exp, Fs = Fe * hp->n_expert_shared, F = hp->n_ff;
    size_t rb_in = 0, d_bytes = 0;
    int up_apart = 0; /* some up projection has another partner type than its gate: a second input buffer */
    for (int l = 0; l < hp->n_layer; l++) {
        const ds2_layer *L = &m->w.layers[l];
        const ds2_tensor *in[] = {&L->ffn_gate, &L->ffn_up, &L->gate_exps, &L->up_exps, &L->gate_shexp, &L->up_shexp};
        for (size_t i = 0; i < sizeof in / sizeof *in; i++)
            if (act_row(in[i], D) > rb_in) rb_in = act_row(in[i], D);
        for (size_t i = 0; i < sizeof in / sizeof *in; i += 2)
            if (in[i]->data && in[i + 1]->data &&
                ds2_type_traits_get(in[i]->type)->vec_dot_type != ds2_type_traits_get(in[i + 1]->type)->vec_dot_type)
                up_apart = 1;
        const size_t dd = act_row(&L->ffn_down, F) * (size_t)T;
        const size_t de = act_row(&L->down_exps, Fe) * (size_t)(T * K) + act_row(&L->down_shexp, Fs) * (size_t)T;
        if (dd > d_bytes) d_bytes = dd;
        if (de > d_bytes) d_bytes = de;
    }
    int64_t gu = T * F; /* floats */
    if (T * (K * Fe + Fs) > gu) gu = T * (K * Fe + Fs);
    ffn_layout o;
    size_t at = 0;
#define TAKE(field, bytes) (o.field = at, at += align64((size_t)(bytes) + 1))
    TAKE(groups, (size_t)(E + 2) * sizeof(ffn_group));
    TAKE(pos, (size_t)(T * K) * sizeof(int32_t));
    TAKE(route, (size_t)(nth * 2 * E) * sizeof(float));
    TAKE(qin_g, rb_in * (size_t)(T * (K + 1)));
    TAKE(qin_u, up_apart ? rb_in * (size_t)(T * (K + 1)) : 0);
    TAKE(g, (size_t)gu * sizeof(float));
    TAKE(u, (size_t)gu * sizeof(float));
    TAKE(qd, d_bytes);
    TAKE(out, (size_t)(T * K * D) * sizeof(float));
    TAKE(shared, (size_t)(T * D) * sizeof(float));
#undef TAKE
    o.total = at;
    return o;
}

size_t ds2_ffn_workspace_bytes(const ds2_model *m, int32_t n_batch, int32_t n_threads) {
    return ffn_plan(m, n_batch, n_threads < 1 ? 1 : n_threads).total;
}

/* ---- splitting a list of groups' rows into equal shares of work -------------------------------------
 * The groups' rows, cut in units of `unit` rows that each cost unit·row_cost, are laid end to end on one cost
 * line [0, total), and thread ith takes [total·ith/nth, total·(ith+1)/nth). A unit belongs to the share
 * holding its first cost point, so the shares partition every group's rows whatever the costs. */

enum { PHASE_INPUT, PHASE_GATE_UP, PHASE_SWIGLU, PHASE_DOWN };

static void phase_rows(int64_t D, const ffn_group *g, int phase, int64_t *rows, int64_t *unit, int64_t *cost) {
    switch (phase) {
    case PHASE_INPUT: *rows = g->n, *unit = 1, *cost = D; break;
    case PHASE_GATE_UP: *rows = g->F, *unit = 4, *cost = g->n * D; break; /* 4: the 4-row dot kernels */
    case PHASE_SWIGLU: *rows = g->n, *unit = 1, *cost = g->F; break;
    default: *rows = D, *unit = 4, *cost = g->n * g->F; break;
    }
    if (*cost < 1) *cost = 1;
}

static int64_t units_before(int64_t c, int64_t ucost) { return c <= 0 ? 0 : (c + ucost - 1) / ucost; }

typedef void (*piece_fn)(const ffn_job *j, const ffn_group *g, int64_t r0, int64_t r1);

static int64_t phase_total(const ffn_job *j, int phase) {
    const int64_t D = j->s->model->hp.n_embd;
    int64_t total = 0, rows, unit, cost;
    for (int32_t i = 0; i < j->n_groups; i++) {
        phase_rows(D, &j->groups[i], phase, &rows, &unit, &cost);
        total += (rows + unit - 1) / unit * unit * cost;
    }
    return total;
}

/* Calls body for every (group, rows [r0, r1)) piece of the units whose first cost point lies in [c0, c1). */
static void for_range(const ffn_job *j, int phase, int64_t c0, int64_t c1, piece_fn body) {
    const int64_t D = j->s->model->hp.n_embd;
    int64_t base = 0, rows, unit, cost;
    for (int32_t i = 0; i < j->n_groups && base < c1; i++) {
        phase_rows(D, &j->groups[i], phase, &rows, &unit, &cost);
        const int64_t units = (rows + unit - 1) / unit, ucost = unit * cost;
        int64_t u0 = units_before(c0 - base, ucost), u1 = units_before(c1 - base, ucost);
        if (u0 > units) u0 = units;
        if (u1 > units) u1 = units;
        const int64_t r0 = u0 * unit < rows ? u0 * unit : rows, r1 = u1 * unit < rows ? u1 * unit : rows;
        if (r1 > r0) body(j, &j->groups[i], r0, r1);
        base += units * ucost;
    }
}

/* Thread ith's static share of `phase` (the small phases). */
static void for_share(const ffn_job *j, int phase, int32_t ith, int32_t nth, piece_fn body) {
    const int64_t total = phase_total(j, phase);
    for_range(j, phase, total / nth * ith + total % nth * ith / nth,
              total / nth * (ith + 1) + total % nth * (ith + 1) / nth, body);
}

/* The big phases (the matrix products) in chunks that threads take in turn (ds2_pool_take_chunk). Which thread
 * computes a row does not change its value. */
static void for_chunks(const ffn_job *j, int phase, atomic_int *next, int32_t nth, piece_fn body) {
    const int64_t total = phase_total(j, phase);
    if (nth == 1) {
        for_range(j, phase, 0, total, body);
        return;
    }
    for (int64_t r0, r1; ds2_pool_take_chunk(next, (int64_t)nth * DS2_POOL_CHUNKS_PER_THREAD, total, &r0, &r1);)
        for_range(j, phase, r0, r1, body);
}

/* ---- the phases ---------------------------------------------------------------------------------------- */

/* input rows [r0, r1) of g: the tokens' normed activations rounded to the gate's (and up's) partner type */
static void input_piece(const ffn_job *j, const ffn_group *g, int64_t r0, int64_t r1) {
    const ds2_hparams *hp = &j->s->model->hp;
    const int64_t D = hp->n_embd, K = hp->n_expert_used;
    const size_t rbg = ds2_matmul_qbuf_bytes(g->tg, D, 1), rbu = ds2_matmul_qbuf_bytes(g->tu, D, 1);
    for (int64_t r = r0; r < r1; r++) {
        const float *x = j->s->a + (size_t)(g->pairs ? g->pairs[r] / K : r) * D;
        ds2_quantize_act(g->tg, x, D, 1, j->qin_g + g->qin_g + (size_t)r * rbg);
        if (!g->same_act) ds2_quantize_act(g->tu, x, D, 1, j->qin_u + g->qin_u + (size_t)r * rbu);
    }
}

/* gate and up outputs [n][F], rows [r0, r1) of W_gate / W_up */
static void gate_up_piece(const ffn_job *j, const ffn_group *g, int64_t r0, int64_t r1) {
    const int64_t D = j->s->model->hp.n_embd;
    const char *qu = g->same_act ? j->qin_g + g->qin_g : j->qin_u + g->qin_u;
    ds2_matmul_q_rows(j->g + g->gu, g->F, g->wg, g->tg, j->qin_g + g->qin_g, D, r0, r1, g->n);
    ds2_matmul_q_rows(j->u + g->gu, g->F, g->wu, g->tu, qu, D, r0, r1, g->n);
}

/* input rows [r0, r1): h = SiLU(gate) ⊙ up (ggml's glu works row by row), rounded to W_down's partner type */
static void swiglu_piece(const ffn_job *j, const ffn_group *g, int64_t r0, int64_t r1) {
    const size_t rbd = ds2_matmul_qbuf_bytes(g->td, g->F, 1);
    for (int64_t r = r0; r < r1; r++) {
        float *h = j->g + g->gu + (size_t)(r * g->F);
        ds2_swiglu_rows(h, h, j->u + g->gu + (size_t)(r * g->F), 1, g->F);
        ds2_quantize_act(g->td, h, g->F, 1, j->qd + g->qd + (size_t)r * rbd);
    }
}

/* down outputs [n][D], rows [r0, r1) of W_down */
static void down_piece(const ffn_job *j, const ffn_group *g, int64_t r0, int64_t r1) {
    const int64_t D = j->s->model->hp.n_embd;
    ds2_matmul_q_rows(g->out, D, g->wd, g->td, j->qd + g->qd, g->F, r0, r1, g->n);
}

static ffn_group swiglu_group(const ds2_tensor *gate, const ds2_tensor *up, const ds2_tensor *down, int64_t e,
                              int64_t F, int64_t D) {
    ffn_group g;
    memset(&g, 0, sizeof g);
    g.wg = (const char *)gate->data + (size_t)(e * F) * gate->row_bytes;
    g.wu = (const char *)up->data + (size_t)(e * F) * up->row_bytes;
    g.wd = (const char *)down->data + (size_t)(e * D) * down->row_bytes;
    g.tg = gate->mtype, g.tu = up->mtype, g.td = down->mtype;
    g.same_act = ds2_type_traits_get(gate->type)->vec_dot_type == ds2_type_traits_get(up->type)->vec_dot_type;
    g.F = F;
    return g;
}

/* Lays out the groups' scratch one after another (they all have their n set). */
static void place_groups(ffn_job *j) {
    const int64_t D = j->s->model->hp.n_embd;
    size_t qg = 0, qu = 0, qd = 0, gu = 0;
    for (int32_t i = 0; i < j->n_groups; i++) {
        ffn_group *g = &j->groups[i];
        g->qin_g = qg, g->qin_u = qu, g->qd = qd, g->gu = gu;
        qg += ds2_matmul_qbuf_bytes(g->tg, D, g->n);
        if (!g->same_act) qu += ds2_matmul_qbuf_bytes(g->tu, D, g->n);
        qd += ds2_matmul_qbuf_bytes(g->td, g->F, g->n);
        gu += (size_t)(g->n * g->F);
    }
}

/* Thread 0, after routing: group the (token, slot) pairs by expert (counting sort, stable, so an expert's rows
 * are in token order) and list the selected experts, then the shared one, as the job's groups. */
static void group_by_expert(ffn_job *j) {
    ds2_session *s = j->s;
    const ds2_hparams *hp = &s->model->hp;
    const ds2_layer *L = j->L;
    const int64_t D = hp->n_embd, E = hp->n_expert, K = hp->n_expert_used, Fe = hp->n_ff_exp, TK = (int64_t)j->T * K;
    memset(s->exp_count, 0, (size_t)E * sizeof(int32_t));
    for (int64_t i = 0; i < TK; i++) s->exp_count[s->sel_ids[i]]++;
    int32_t start = 0;
    for (int64_t e = 0; e < E; e++) {
        const int32_t c = s->exp_count[e];
        s->exp_count[e] = start;
        start += c;
    }
    for (int64_t i = 0; i < TK; i++) {
        const int32_t at = s->exp_count[s->sel_ids[i]]++;
        s->exp_rows[at] = (int32_t)i;
        j->pos[i] = at;
    }
    /* exp_count[e] is now the end of expert e's run */
    int32_t ng = 0, begin = 0;
    for (int64_t e = 0; e < E; e++) {
        const int32_t end = s->exp_count[e];
        if (end == begin) continue; /* not selected by any token: its weights are never touched */
        ffn_group *g = &j->groups[ng++];
        *g = swiglu_group(&L->gate_exps, &L->up_exps, &L->down_exps, e, Fe, D);
        g->n = end - begin;
        g->pairs = s->exp_rows + begin;
        g->out = j->out + (size_t)begin * D;
        begin = end;
    }
    if (hp->n_expert_shared > 0) {
        ffn_group *g = &j->groups[ng++];
        *g = swiglu_group(&L->gate_shexp, &L->up_shexp, &L->down_shexp, 0, Fe * hp->n_expert_shared, D);
        g->n = j->T;
        g->out = j->shared;
    }
    j->n_groups = ng;
    place_groups(j);
}

static void ffn_worker(void *ctx, int32_t ith, int32_t nth) {
    ffn_job *j = (ffn_job *)ctx;
    ds2_session *s = j->s;
    const ds2_hparams *hp = &s->model->hp;
    const ds2_layer *L = j->L;
    const int64_t D = hp->n_embd, E = hp->n_expert, K = hp->n_expert_used, T = j->T;
    int64_t t0, t1;
    if (j->moe) {
        /* router logits [T][E]: activations rounded to the router's partner type, then rows of W_router */
        ds2_pool_split(T, ith, nth, &t0, &t1);
        const size_t rb = ds2_matmul_qbuf_bytes(L->gate_inp.type, D, 1);
        ds2_quantize_act(L->gate_inp.type, s->a + (size_t)t0 * D, D, t1 - t0, (char *)s->qbuf + (size_t)t0 * rb);
        ds2_pool_barrier(s->pool);
        int64_t e0, e1;
        ds2_pool_split(E, ith, nth, &e0, &e1);
        ds2_matmul_q_rows(s->router, E, L->gate_inp.data, L->gate_inp.type, s->qbuf, D, e0, e1, T);
        ds2_pool_barrier(s->pool);
        for (int64_t t = t0; t < t1; t++)
            ds2_moe_route(hp, s->router + (size_t)t * E, L->exp_probs_b.data, s->sel_ids + (size_t)t * K,
                          s->sel_w + (size_t)t * K, j->route + (size_t)ith * 2 * E);
        ds2_pool_barrier(s->pool);
        if (ith == 0) group_by_expert(j);
        ds2_pool_barrier(s->pool);
    }
    for_share(j, PHASE_INPUT, ith, nth, input_piece);
    ds2_pool_barrier(s->pool);
    for_chunks(j, PHASE_GATE_UP, &j->next_gate_up, nth, gate_up_piece);
    ds2_pool_barrier(s->pool);
    for_share(j, PHASE_SWIGLU, ith, nth, swiglu_piece);
    ds2_pool_barrier(s->pool);
    for_chunks(j, PHASE_DOWN, &j->next_down, nth, down_piece);
    if (!j->moe) return;
    ds2_pool_barrier(s->pool);

    /* y = Σ_k w_k·o_k in slot order (as llama.cpp's chain of adds), then + the shared experts' output */
    int64_t i0, i1;
    ds2_pool_split(T * D, ith, nth, &i0, &i1);
    const int shared = hp->n_expert_shared > 0;
    for (int64_t t = i0 / D; t * D < i1; t++) {
        const int64_t a = t * D > i0 ? 0 : i0 - t * D, b = (t + 1) * D < i1 ? D : i1 - t * D;
        float *y = s->tmp + (size_t)(t * D);
        const float *sh = j->shared + (size_t)(t * D);
        for (int64_t i = a; i < b; i++) {
            float acc = 0.0f;
            for (int64_t k = 0; k < K; k++) {
                const float w = s->sel_w[t * K + k];
                const float *o = j->out + (size_t)j->pos[t * K + k] * D;
                if (k == 0) acc = o[i] * w;
                else acc += o[i] * w;
            }
            y[i] = shared ? sh[i] + acc : acc;
        }
    }
}

void ds2_ffn_forward(ds2_session *s, int l, int32_t T) {
    const ds2_model *m = s->model;
    const ds2_hparams *hp = &m->hp;
    const ds2_layer *L = &m->w.layers[l];
    const ffn_layout lay = ffn_plan(m, s->n_batch, ds2_pool_n_threads(s->pool));
    char *ws = (char *)s->ffn_ws;
    ffn_job j;
    memset(&j, 0, sizeof j);
    j.s = s, j.L = L, j.T = T;
    atomic_init(&j.next_gate_up, 0);
    atomic_init(&j.next_down, 0);
    j.groups = (ffn_group *)(ws + lay.groups);
    j.pos = (int32_t *)(ws + lay.pos);
    j.route = (float *)(ws + lay.route);
    j.qin_g = ws + lay.qin_g, j.qin_u = ws + lay.qin_u, j.qd = ws + lay.qd;
    j.g = (float *)(ws + lay.g), j.u = (float *)(ws + lay.u);
    j.out = (float *)(ws + lay.out), j.shared = (float *)(ws + lay.shared);
    j.moe = l >= hp->n_layer_dense;
    if (!j.moe) {
        j.groups[0] = swiglu_group(&L->ffn_gate, &L->ffn_up, &L->ffn_down, 0, hp->n_ff, hp->n_embd);
        j.groups[0].n = T;
        j.groups[0].out = s->tmp;
        j.n_groups = 1;
        place_groups(&j);
    }
    ds2_pool_run(s->pool, ffn_worker, &j);
}
