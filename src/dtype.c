/* dtype.c — block geometry of every ggml type id (reference §3.1 ids, §4 block layouts). */
#include "dtype.h"

static const ds2_dtype_info k_info[DS2_DTYPE_COUNT] = {
    [DS2_F32] = {"F32", 1, 4},         [DS2_F16] = {"F16", 1, 2},         [DS2_Q4_0] = {"Q4_0", 32, 18},
    [DS2_Q4_1] = {"Q4_1", 32, 20},     [DS2_Q5_0] = {"Q5_0", 32, 22},     [DS2_Q5_1] = {"Q5_1", 32, 24},
    [DS2_Q8_0] = {"Q8_0", 32, 34},     [DS2_Q8_1] = {"Q8_1", 32, 36},     [DS2_Q2_K] = {"Q2_K", 256, 84},
    [DS2_Q3_K] = {"Q3_K", 256, 110},   [DS2_Q4_K] = {"Q4_K", 256, 144},   [DS2_Q5_K] = {"Q5_K", 256, 176},
    [DS2_Q6_K] = {"Q6_K", 256, 210},   [DS2_Q8_K] = {"Q8_K", 256, 292},   [DS2_IQ2_XXS] = {"IQ2_XXS", 256, 66},
    [DS2_IQ2_XS] = {"IQ2_XS", 256, 74}, [DS2_IQ3_XXS] = {"IQ3_XXS", 256, 98}, [DS2_IQ1_S] = {"IQ1_S", 256, 50},
    [DS2_IQ4_NL] = {"IQ4_NL", 32, 18}, [DS2_IQ3_S] = {"IQ3_S", 256, 110}, [DS2_IQ2_S] = {"IQ2_S", 256, 82},
    [DS2_IQ4_XS] = {"IQ4_XS", 256, 136}, [DS2_I8] = {"I8", 1, 1},         [DS2_I16] = {"I16", 1, 2},
    [DS2_I32] = {"I32", 1, 4},         [DS2_I64] = {"I64", 1, 8},         [DS2_F64] = {"F64", 1, 8},
    [DS2_IQ1_M] = {"IQ1_M", 256, 56},  [DS2_BF16] = {"BF16", 1, 2},       [DS2_TQ1_0] = {"TQ1_0", 256, 54},
    [DS2_TQ2_0] = {"TQ2_0", 256, 66},  [DS2_MXFP4] = {"MXFP4", 32, 17},
};

const ds2_dtype_info *ds2_dtype_info_get(int32_t type) {
    if (type < 0 || type >= DS2_DTYPE_COUNT || !k_info[type].name) return NULL;
    return &k_info[type];
}

const char *ds2_dtype_name(int32_t type) {
    const ds2_dtype_info *i = ds2_dtype_info_get(type);
    return i ? i->name : "?";
}

size_t ds2_row_bytes(int32_t type, int64_t n) {
    const ds2_dtype_info *i = ds2_dtype_info_get(type);
    if (!i || n < 0 || n % i->block_elems) return 0;
    return (size_t)(n / i->block_elems) * (size_t)i->block_bytes;
}
