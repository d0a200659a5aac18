/* rng.h — the tests' one pseudo-random source (splitmix64). Each test seeds it at the top of main()
 * (rng_seed), so its random shapes and data are the same on every run and every platform. */
#ifndef DS2_TEST_RNG_H
#define DS2_TEST_RNG_H

#include <stdint.h>

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static inline void rng_seed(uint64_t seed) { rng_state = seed; }
static inline uint64_t rng_u64(void) {
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static inline double rng_unit(void) { return (double)(rng_u64() >> 11) * (1.0 / 9007199254740992.0); } /* [0,1) */
static inline float rng_sym(void) { return (float)(2.0 * rng_unit() - 1.0); }                         /* [-1,1) */
/* sum of uniforms: bell-shaped, with some outliers through the scale mix (quantizers see large blocks too) */
static inline float rng_normalish(void) {
    double s = 0;
    for (int i = 0; i < 4; i++) s += rng_unit() - 0.5;
    return (float)(s * (rng_unit() < 0.05 ? 8.0 : 1.0));
}

#endif
