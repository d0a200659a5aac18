/* model.h — the immutable model: parsed GGUF (metadata + weights arena), hyper-parameters, bound weights.
 * Read-only after ds2_loader_finish, so sessions and threads share it freely. */
#ifndef DS2_MODEL_H
#define DS2_MODEL_H

#include "gguf.h"
#include "hparams.h"
#include "weights.h"

struct ds2_model {
    ds2_gguf *gguf; /* owns metadata strings, tensor directory and the weights arena */
    ds2_hparams hp;
    ds2_weights w;
    int has_weights;
    struct ds2_tokenizer *tok; /* NULL if the file's tokenizer is missing/unsupported; tok_err says why */
    ds2_error tok_err;
};

#endif
