/* args.c — command-line value parsing shared by the ds2 subcommands. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "args.h"
#include "threadpool.h" /* ds2_cpus_available */

int32_t ds2_cli_default_threads(void) {
    const int32_t n = ds2_cpus_available();
    return n < 1 ? 1 : n > 8 ? 8 : n;
}

void ds2_cli_check_threads(int32_t n) {
    const long cpus = ds2_cpus_available();
    if (cpus >= 1 && n > cpus)
        fprintf(stderr,
                "ds2: warning: --threads %d is more than the %ld CPU(s) this process may use; threads that share a "
                "core wait for each other at every step, so decoding slows down (use --threads %ld or fewer)\n",
                (int)n, cpus, cpus);
}

int ds2_cli_parse_long(const char *s, const char *flag, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < lo || v > hi) {
        fprintf(stderr, "ds2: %s expects an integer in [%ld, %ld], got '%s'\n", flag, lo, hi, s);
        return 0;
    }
    *out = v;
    return 1;
}

int ds2_cli_parse_ids(const char *s, int32_t **ids, int32_t *n) {
    size_t cap = 1;
    for (const char *p = s; *p; p++) cap += *p == ',';
    *ids = malloc(cap * sizeof **ids);
    *n = 0;
    if (!*ids) return 0;
    for (const char *p = s;;) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < 0 || v > INT32_MAX || (*end && *end != ',')) {
            fprintf(stderr, "ds2: --tokens expects comma-separated non-negative ids, bad at '%s'\n", p);
            return 0;
        }
        (*ids)[(*n)++] = (int32_t)v;
        if (!*end) return 1;
        p = end + 1;
    }
}
