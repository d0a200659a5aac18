/* sampler.c — the sampler chain (see sampler.h): every buffer is allocated in ds2_sampler_create, so
 * sampling never allocates. Candidates are ordered by (logit desc, id asc) so ties resolve the same way under
 * any qsort. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "kernels/kernels.h"
#include "sampler.h"

#define DS2_PENALTY_ALL 8192 /* penalty_last_n = -1 */

typedef struct cand {
    int32_t id;
    float logit;
} cand;

struct ds2_sampler {
    int32_t n_vocab;
    ds2_sampler_params p;
    ds2_logit_bias *bias;   /* [n_logit_bias] own copy */
    uint64_t rng[4];
    int32_t *hist;          /* ring of the last hist_cap accepted ids */
    int32_t hist_cap, hist_n, hist_pos;
    int32_t *counts;        /* [n_vocab] all zero between calls */
    float *work;            /* [n_vocab] logits after bias and penalties */
    cand *cand;             /* [n_vocab] */
    double *prob;           /* [n_vocab] final probabilities of cand[0..n_cand) */
    int32_t n_cand;
};

ds2_sampler_params ds2_sampler_default_params(void) {
    ds2_sampler_params p;
    memset(&p, 0, sizeof p);
    p.temperature = 0.8f;
    p.top_k = 40;
    p.top_p = 0.95f;
    p.min_p = 0.05f;
    p.repeat_penalty = 1.0f;
    p.presence_penalty = 0.0f;
    p.frequency_penalty = 0.0f;
    p.penalty_last_n = 64;
    p.seed = 0x5EED;
    return p;
}

/* ---- deterministic exp and RNG ---------------------------------------------------------------------- */

double ds2_exp_det(double x) {
    if (x != x) return 0.0;           /* NaN logit: probability 0 */
    if (x < -745.0) return 0.0;
    if (x > 709.0) return HUGE_VAL;
    /* x = k·ln2 + r, |r| ≤ ln2/2; ln2 split in two so k·LN2_HI is exact for |k| < 2^11. */
    const double LN2_HI = 6.93147180369123816490e-01, LN2_LO = 1.90821492927058770002e-10;
    double kd = floor(x * 1.44269504088896338700 + 0.5);
    double r = (x - kd * LN2_HI) - kd * LN2_LO;
    /* Taylor series to r^13/13!: truncation < 1e-17 relative for |r| ≤ 0.35, Horner form. */
    double t = 1.0;
    for (int n = 13; n >= 1; n--) t = 1.0 + t * r / (double)n;
    return ldexp(t, (int)kd); /* exact scaling (IEEE), same on every libm */
}

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t xoshiro_next(uint64_t s[4]) {
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double ds2_sampler_uniform(ds2_sampler *s) { return (double)(xoshiro_next(s->rng) >> 11) * 0x1.0p-53; }

/* ---- lifecycle ---------------------------------------------------------------------------------------- */

void ds2_sampler_free(ds2_sampler *s) {
    if (!s) return;
    free(s->bias);
    free(s->hist);
    free(s->counts);
    free(s->work);
    free(s->cand);
    free(s->prob);
    free(s);
}

void ds2_sampler_reset(ds2_sampler *s) {
    if (!s) return;
    uint64_t x = s->p.seed;
    for (int i = 0; i < 4; i++) s->rng[i] = splitmix64(&x);
    s->hist_n = s->hist_pos = 0;
    s->n_cand = 0;
}

ds2_status ds2_sampler_create(int32_t n_vocab, const ds2_sampler_params *params, ds2_sampler **out,
                              ds2_error *err) {
    if (!out || n_vocab <= 0) return ds2_fail(err, DS2_E_INVALID_ARG, "ds2_sampler_create: need out and n_vocab > 0 (got %d)", n_vocab);
    *out = NULL;
    ds2_sampler_params p = params ? *params : ds2_sampler_default_params();
    if (p.temperature != p.temperature || p.top_p != p.top_p || p.min_p != p.min_p ||
        !(p.repeat_penalty > 0.0f) || p.presence_penalty != p.presence_penalty ||
        p.frequency_penalty != p.frequency_penalty || p.penalty_last_n < -1 || p.n_logit_bias < 0 ||
        (p.n_logit_bias > 0 && !p.logit_bias))
        return ds2_fail(err, DS2_E_INVALID_ARG,
                        "invalid sampler parameters (temperature %g, top_p %g, min_p %g, repeat_penalty %g, "
                        "penalty_last_n %d, n_logit_bias %d)", p.temperature, p.top_p, p.min_p,
                        p.repeat_penalty, p.penalty_last_n, p.n_logit_bias);
    for (int32_t i = 0; i < p.n_logit_bias; i++)
        if (p.logit_bias[i].id < 0 || p.logit_bias[i].id >= n_vocab || p.logit_bias[i].bias != p.logit_bias[i].bias)
            return ds2_fail(err, DS2_E_BAD_TOKEN, "logit bias %d: token %d is outside [0, %d) or its bias is NaN", i,
                            p.logit_bias[i].id, n_vocab);
    ds2_sampler *s = calloc(1, sizeof *s);
    if (!s) return ds2_fail(err, DS2_E_NOMEM, NULL);
    s->n_vocab = n_vocab;
    s->hist_cap = p.penalty_last_n < 0 ? DS2_PENALTY_ALL : p.penalty_last_n;
    const size_t V = (size_t)n_vocab;
    s->bias = malloc(((size_t)p.n_logit_bias + 1) * sizeof *s->bias);
    s->hist = malloc(((size_t)s->hist_cap + 1) * sizeof *s->hist);
    s->counts = calloc(V, sizeof *s->counts);
    s->work = malloc(V * sizeof *s->work);
    s->cand = malloc(V * sizeof *s->cand);
    s->prob = malloc(V * sizeof *s->prob);
    if (!s->bias || !s->hist || !s->counts || !s->work || !s->cand || !s->prob) {
        ds2_sampler_free(s);
        return ds2_fail(err, DS2_E_NOMEM, "cannot allocate a sampler for %d tokens", n_vocab);
    }
    if (p.n_logit_bias) memcpy(s->bias, p.logit_bias, (size_t)p.n_logit_bias * sizeof *s->bias);
    p.logit_bias = s->bias;
    s->p = p;
    ds2_sampler_reset(s);
    *out = s;
    return DS2_OK;
}

void ds2_sampler_accept(ds2_sampler *s, int32_t id) {
    if (!s || s->hist_cap == 0 || id < 0 || id >= s->n_vocab) return;
    s->hist[s->hist_pos] = id;
    s->hist_pos = (s->hist_pos + 1) % s->hist_cap;
    if (s->hist_n < s->hist_cap) s->hist_n++;
}

int32_t ds2_sampler_candidates(const ds2_sampler *s, int32_t *ids, float *probs, int32_t cap) {
    if (!s) return 0;
    for (int32_t i = 0; i < s->n_cand && i < cap; i++) {
        if (ids) ids[i] = s->cand[i].id;
        if (probs) probs[i] = (float)s->prob[i];
    }
    return s->n_cand;
}

/* ---- the chain ---------------------------------------------------------------------------------------- */

/* a before b: higher logit, then lower id. */
static int better(const cand *a, const cand *b) { return a->logit > b->logit || (a->logit == b->logit && a->id < b->id); }

static int cmp_cand(const void *x, const void *y) {
    const cand *a = x, *b = y;
    return better(a, b) ? -1 : better(b, a) ? 1 : 0;
}

/* Min-heap on `better` (root = worst kept) for top-k selection in O(V log k). */
static void heap_sift_down(cand *h, int32_t n, int32_t i) {
    for (;;) {
        int32_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < n && better(&h[w], &h[l])) w = l;
        if (r < n && better(&h[w], &h[r])) w = r;
        if (w == i) return;
        cand t = h[i];
        h[i] = h[w];
        h[w] = t;
        i = w;
    }
}

static void heap_sift_up(cand *h, int32_t i) {
    while (i > 0) {
        int32_t p = (i - 1) / 2;
        if (!better(&h[p], &h[i])) return;
        cand t = h[i];
        h[i] = h[p];
        h[p] = t;
        i = p;
    }
}

static void apply_penalties(ds2_sampler *s) {
    const ds2_sampler_params *p = &s->p;
    if (s->hist_n == 0 || (p->repeat_penalty == 1.0f && p->presence_penalty == 0.0f && p->frequency_penalty == 0.0f))
        return;
    for (int32_t i = 0; i < s->hist_n; i++) s->counts[s->hist[i]]++;
    for (int32_t i = 0; i < s->hist_n; i++) {
        const int32_t id = s->hist[i], c = s->counts[id];
        if (c == 0) continue; /* already applied */
        float l = s->work[id];
        /* llama.cpp's rule: dividing a negative logit would raise it, so those are multiplied. */
        l = l <= 0.0f ? l * p->repeat_penalty : l / p->repeat_penalty;
        l -= (float)c * p->frequency_penalty + p->presence_penalty;
        s->work[id] = l;
        s->counts[id] = 0;
    }
}

int32_t ds2_argmax(const float *logits, int32_t n) { return logits && n > 0 ? (int32_t)ds2_argmax_f32(logits, n) : 0; }

int32_t ds2_sampler_sample(ds2_sampler *s, const float *logits) {
    if (!s || !logits) return -1;
    const int32_t V = s->n_vocab;
    const ds2_sampler_params *p = &s->p;
    for (int32_t i = 0; i < V; i++) s->work[i] = logits[i] != logits[i] ? -INFINITY : logits[i];
    for (int32_t i = 0; i < p->n_logit_bias; i++) s->work[p->logit_bias[i].id] += p->logit_bias[i].bias;
    apply_penalties(s);

    if (p->temperature <= 0.0f) {
        const int32_t best = (int32_t)ds2_argmax_f32(s->work, V);
        s->cand[0].id = best;
        s->cand[0].logit = s->work[best];
        s->prob[0] = 1.0;
        s->n_cand = 1;
        return best;
    }

    /* candidates: every token not banned (-inf); if all are banned, the first one */
    int32_t n = 0;
    const int32_t k = p->top_k > 0 && p->top_k < V ? p->top_k : 0;
    for (int32_t i = 0; i < V; i++) {
        if (s->work[i] == -INFINITY) continue;
        cand c = {i, s->work[i]};
        if (!k || n < k) {
            s->cand[n] = c;
            if (k) heap_sift_up(s->cand, n);
            n++;
        } else if (better(&c, &s->cand[0])) {
            s->cand[0] = c;
            heap_sift_down(s->cand, n, 0);
        }
    }
    if (n == 0) {
        s->cand[0].id = 0;
        s->cand[0].logit = s->work[0];
        s->prob[0] = 1.0;
        s->n_cand = 1;
        return 0;
    }
    qsort(s->cand, (size_t)n, sizeof *s->cand, cmp_cand);

    /* top-p at temperature 1 (llama.cpp applies the temperature last) */
    const double l0 = s->cand[0].logit;
    if (p->top_p < 1.0f) {
        double sum = 0.0;
        for (int32_t i = 0; i < n; i++) sum += (s->prob[i] = ds2_exp_det((double)s->cand[i].logit - l0));
        double cum = 0.0;
        for (int32_t i = 0; i < n; i++) {
            cum += s->prob[i] / sum;
            if (cum >= (double)p->top_p) {
                n = i + 1;
                break;
            }
        }
    }
    /* min-p: p_i / p_max = e^(l_i − l_0) */
    if (p->min_p > 0.0f) {
        int32_t keep = 1;
        while (keep < n && ds2_exp_det((double)s->cand[keep].logit - l0) >= (double)p->min_p) keep++;
        n = keep;
    }
    /* temperature, softmax, draw */
    const double inv_t = 1.0 / (double)p->temperature;
    double sum = 0.0;
    for (int32_t i = 0; i < n; i++) sum += (s->prob[i] = ds2_exp_det(((double)s->cand[i].logit - l0) * inv_t));
    if (!(sum > 0.0) || sum == HUGE_VAL) { /* +inf logits (a +inf bias): the best one alone */
        n = 1;
        s->prob[0] = sum = 1.0;
    }
    for (int32_t i = 0; i < n; i++) s->prob[i] /= sum;
    s->n_cand = n;
    const double u = ds2_sampler_uniform(s);
    double cum = 0.0;
    for (int32_t i = 0; i < n; i++) {
        cum += s->prob[i];
        if (u < cum) return s->cand[i].id;
    }
    return s->cand[n - 1].id; /* u within rounding of 1 */
}
