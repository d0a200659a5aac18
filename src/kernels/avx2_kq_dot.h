/* avx2_kq_dot.h — the K-quant decode dot of avx2.c (Q4_K, Q5_K, Q6_K rows against a Q8_K row, one or four
 * rows at a time), written once and compiled twice: for AVX2, and for AVX-512 VNNI + VBMI on 256-bit registers.
 * No include guard on purpose; only avx2.c includes it, each time after defining
 *   KQ_FN(name)             the name of each function for this instruction set (name_avx2, name_vnni)
 *   KQ_TARGET               its function attributes (empty, or the target attribute of the extra set)
 *   KQ_PERM(x)              the byte permutation of a 32-byte chunk described in avx2.c (kq_perm_avx2)
 *   KQ_CHUNK(lanes, p, sp)  lanes += the 16-bit multiply-add of p with the broadcast scale pair sp
 * The integer lanes are exact in either form and the float steps the same, so both give the reference's bits.
 *
 * Two things measured on Zen 4 (bench/stream.c, Q4_K matrix in cache, 1 thread; 14.2 GB/s before either):
 *  - each super-block's 8 chunk products go to two lane accumulators, not one: a single chain of 8 dependent
 *    multiply-adds (vpdpwssd: several cycles each) was the bound — 16.2 → 17.0 GB/s for the VNNI form, and
 *    14.2 → 15.1 for AVX2 together with the next point;
 *  - the scale pairs are reloaded from their array after a compiler barrier: otherwise GCC keeps the array in
 *    a register and broadcasts each pair with two shuffles, where from memory a broadcast is a plain load. */
#define KQ_SCALES_IN_MEMORY(sp) __asm__("" : : "r"(sp) : "memory")
/* One super-block of one row into its 8 exact int lanes, everything in registers: the permutation of
 * KQ_PERM is a byte permutation and the value extraction (masks, 16-bit shifts whose crossing bits the
 * masks drop) acts byte by byte, so permuting the raw bytes first gives the permuted values directly. ap: the
 * 8 permuted activation chunks; ap32 (Q6_K): 32·(a_2m + a_2m+1) per 16-bit pair of each. */
static inline KQ_TARGET __m256i KQ_FN(kq_block_lanes)(int32_t wt, const uint8_t *bw, const __m256i ap[8],
                                                      const __m256i ap32[8], __m256i *mins, float *d, float *dmin, const uint8_t *ba) {
    const __m256i lo4 = _mm256_set1_epi8(0x0f);
    __m256i lanes[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()}; /* even and odd chunks */
    _Alignas(32) int32_t sp[8]; /* chunk c's scale pair (two int16) */
    if (wt == DS2_Q6_K) {
        const __m256i m30 = _mm256_set1_epi8(0x30);
        _mm256_store_si256((__m256i *)sp, _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(bw + 192))));
        KQ_SCALES_IN_MEMORY(sp);
        for (int half = 0; half < 2; half++) { /* ql[64], qh[32] → 4 chunks of (low 4 bits | high 2 bits << 4) */
            const uint8_t *ql = bw + 64 * half, *qh = bw + 128 + 32 * half;
            const __m256i l0 = KQ_PERM(_mm256_loadu_si256((const __m256i *)ql));
            const __m256i l1 = KQ_PERM(_mm256_loadu_si256((const __m256i *)(ql + 32)));
            const __m256i h = KQ_PERM(_mm256_loadu_si256((const __m256i *)qh));
            const __m256i x[4] = {
                _mm256_or_si256(_mm256_and_si256(l0, lo4), _mm256_and_si256(_mm256_slli_epi16(h, 4), m30)),
                _mm256_or_si256(_mm256_and_si256(l1, lo4), _mm256_and_si256(_mm256_slli_epi16(h, 2), m30)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), lo4), _mm256_and_si256(h, m30)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), lo4),
                                _mm256_and_si256(_mm256_srli_epi16(h, 2), m30))};
            for (int j = 0; j < 4; j++) {
                const int c = 4 * half + j;
                KQ_CHUNK(lanes[j & 1], _mm256_sub_epi16(_mm256_maddubs_epi16(x[j], ap[c]), ap32[c]), sp[c]);
            }
        }
        *d = load_half(bw + 208);
        return _mm256_add_epi32(lanes[0], lanes[1]);
    }
    const int q5 = wt == DS2_Q5_K;
    const uint8_t *qs = bw + (q5 ? 48 : 16);
    uint32_t u[4];
    ds2_k45_scales_mins_words(bw + 4, u);
    const __m128i sc = _mm_loadl_epi64((const __m128i *)u), mn = _mm_loadl_epi64((const __m128i *)(u + 2));
    _mm256_store_si256((__m256i *)sp, _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(sc, sc))); /* (sc_c, sc_c) */
    KQ_SCALES_IN_MEMORY(sp);
    /* Σ_j (bsums[2j] + bsums[2j+1])·min_j: the 16 bsums against each min twice (exact int), 8 partial sums */
    *mins = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(ba + 260)),
                              _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(mn, mn)));
    const __m256i qh = q5 ? KQ_PERM(_mm256_loadu_si256((const __m256i *)(bw + 16))) : _mm256_setzero_si256();
    const __m256i b10 = _mm256_set1_epi8(0x10);
    for (int c = 0; c < 4; c++) { /* 64 elements per 32 bytes: sub-block 2c in the low nibbles, 2c+1 in the high */
        const __m256i q = KQ_PERM(_mm256_loadu_si256((const __m256i *)(qs + 32 * c)));
        __m256i vl = _mm256_and_si256(q, lo4), vh = _mm256_and_si256(_mm256_srli_epi16(q, 4), lo4);
        if (q5) {
            const __m256i ml = _mm256_set1_epi8((char)(1 << (2 * c))), mh = _mm256_set1_epi8((char)(2 << (2 * c)));
            vl = _mm256_or_si256(vl, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, ml), ml), b10));
            vh = _mm256_or_si256(vh, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, mh), mh), b10));
        }
        KQ_CHUNK(lanes[0], _mm256_maddubs_epi16(vl, ap[2 * c]), sp[2 * c]);
        KQ_CHUNK(lanes[1], _mm256_maddubs_epi16(vh, ap[2 * c + 1]), sp[2 * c + 1]);
    }
    *d = load_half(bw);
    *dmin = load_half(bw + 2);
    return _mm256_add_epi32(lanes[0], lanes[1]);
}

/* s[k] = vec_dot of row w + k·w_stride (k < nrow, nrow 1 or 4) with the Q8_K row a, the reference's float
 * steps per row: sums[l] += (d·d_a)·lane[l]; sumf −= (dmin·d_a)·Σ bsums·mins (rows in the lanes of one
 * __m128); s = sumf + sums[0] + … + sums[7]. */
static inline KQ_TARGET void KQ_FN(kq_dot_rows)(int32_t wt, int nrow, int64_t n, float *s, const uint8_t *w,
                                                size_t w_stride, size_t w_bstep, const uint8_t *a) {
    const int has_min = wt != DS2_Q6_K;
    __m256 sums[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    __m128 sumf = _mm_setzero_ps();
    __m256i mins[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
    float d[4], dmin[4] = {0, 0, 0, 0};
    for (int64_t ib = 0; ib < n / QKK; ib++) {
        const uint8_t *ba = a + (size_t)ib * Q8_K_BYTES;
        if (nrow == 4) prefetch_next4(w, w_stride, w_bstep, ib, n / QKK);
        const float da = load_f32(ba);
        __m256i ap[8], ap32[8];
        for (int c = 0; c < 8; c++) {
            ap[c] = KQ_PERM(_mm256_loadu_si256((const __m256i *)(ba + 4 + 32 * c)));
            if (!has_min) ap32[c] = _mm256_maddubs_epi16(_mm256_set1_epi8(32), ap[c]);
        }
        for (int k = 0; k < nrow; k++) {
            const __m256i lanes = KQ_FN(kq_block_lanes)(wt, w + (size_t)k * w_stride + (size_t)ib * w_bstep, ap, ap32,
                                                      &mins[k], &d[k], &dmin[k], ba);
            sums[k] = _mm256_add_ps(sums[k], _mm256_mul_ps(_mm256_set1_ps(d[k] * da), _mm256_cvtepi32_ps(lanes)));
        }
        if (has_min) {
            const __m128 sumi = _mm_cvtepi32_ps(hsum4_i32(mins[0], mins[1], mins[2], mins[3]));
            const __m128 dm = _mm_setr_ps(dmin[0], dmin[1], dmin[2], dmin[3]);
            sumf = _mm_sub_ps(sumf, _mm_mul_ps(_mm_mul_ps(dm, _mm_set1_ps(da)), sumi));
        }
    }
    float f[4];
    _mm_storeu_ps(f, sumf);
    for (int k = 0; k < nrow; k++) {
        float l[8];
        _mm256_storeu_ps(l, sums[k]);
        float t = f[k];
        for (int j = 0; j < 8; j++) t += l[j];
        s[k] = t;
    }
}

#undef KQ_SCALES_IN_MEMORY
