/* generate.h — the generation loop (ds2_generate in ds2.h) and its stop-string matcher.
 *
 * Owns: prompt evaluation in n_batch chunks (cancel checked between them), the sample → emit → evaluate loop,
 * holding back text that could still become a stop string, timings.
 * Invariant: every buffer is allocated before the first token; the loop itself never allocates.
 */
#ifndef DS2_GENERATE_H
#define DS2_GENERATE_H

#include <stddef.h>
#include <stdint.h>

/* Earliest offset in text[0..len) where any of the n stop strings occurs completely (ties: the longest
 * string); returns 1 and sets *at, or 0 if none occurs. */
int ds2_stop_find(const char *text, size_t len, const char *const *stop, const size_t *stop_len, int32_t n,
                  size_t *at, size_t *match_len);
/* Length of the longest suffix of text[0..len) that is a proper prefix of some stop string: those bytes
 * must be held back until later text decides. */
size_t ds2_stop_partial(const char *text, size_t len, const char *const *stop, const size_t *stop_len, int32_t n);

#endif
