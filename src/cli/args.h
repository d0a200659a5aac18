/* args.h — command-line value parsing shared by the ds2 subcommands (messages go to stderr). */
#ifndef DS2_CLI_ARGS_H
#define DS2_CLI_ARGS_H

#include <stdint.h>

/* An integer in [lo, hi]; 0 (after printing why) if s is not one. */
int ds2_cli_parse_long(const char *s, const char *flag, long lo, long hi, long *out);
/* "1,2,3" → malloc'd ids (free them); 0 (after printing why) on a malformed list. */
int ds2_cli_parse_ids(const char *s, int32_t **ids, int32_t *n);

/* The default --threads: the CPUs this process may use (its affinity on Linux, else those online), at most 8 (the
 * pool's measured range); 1 where the count is not known
 * (wasm: the WASI build has no threads, and the Emscripten one sizes its worker pool at build time). */
int32_t ds2_cli_default_threads(void);
/* Warns on stderr if n threads exceed those CPUs: threads sharing a core wait for each other at every
 * step of a decoded token (the pool then yields instead of spinning; on 2 cores 8 threads decode ~10% slower
 * than 2). */
void ds2_cli_check_threads(int32_t n);

#endif
