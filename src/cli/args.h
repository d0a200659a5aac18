/* args.h — command-line value parsing shared by the ds2 subcommands (messages go to stderr). */
#ifndef DS2_CLI_ARGS_H
#define DS2_CLI_ARGS_H

#include <stdint.h>

/* An integer in [lo, hi]; 0 (after printing why) if s is not one. */
int ds2_cli_parse_long(const char *s, const char *flag, long lo, long hi, long *out);
/* "1,2,3" → malloc'd ids (free them); 0 (after printing why) on a malformed list. */
int ds2_cli_parse_ids(const char *s, int32_t **ids, int32_t *n);

#endif
