/* sampler.h — turning a row of logits into the next token id (internal helpers shared with the tests).
 *
 * Owns: the seeded RNG (xoshiro256** from splitmix64), the penalty window, and the cut-off chain in
 * llama.cpp's order (bias → penalties → top-k → top-p → min-p → temperature → draw).
 * Invariant: bit-for-bit the same choices on every build: integer RNG, float math in double with only
 * +, −, ×, ÷ (FMA contraction is off for the whole library) and ds2_exp_det instead of libm's exp, whose last
 * bit differs between C libraries (glibc natively, musl under Emscripten).
 */
#ifndef DS2_SAMPLER_H
#define DS2_SAMPLER_H

#include "ds2.h"

/* e^x for x ≤ 0 (and moderately positive x), correctly rounded to ~1 ulp of a double, from + − × ÷ only. */
double ds2_exp_det(double x);

/* Uniform double in [0, 1) from the sampler's RNG (53 random bits). */
double ds2_sampler_uniform(ds2_sampler *s);

#endif
