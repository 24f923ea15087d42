/* PACK: a copy, row by row. Spec: edgeneuro/ops/pack.py. */
#include "pack.h"

#include <stdarg.h>

/* Input i's rows into their places: row k at output row k * n + i. */
static void pack_one(const en_pack_params *p, int32_t i, const unsigned char *in, unsigned char *out)
{
    for (int32_t k = 0; k < p->outer; ++k) {
        unsigned char *dst = out + (k * p->n + i) * p->chunk;
        for (int32_t j = 0; j < p->chunk; ++j) {
            dst[j] = *in++;
        }
    }
}

/* The output comes after the n inputs: a first walk over the arguments finds it. An input is read
 * as `const T *` whether the call passes an arena `T *` or a constant operand's `const T *`: the two
 * have the same representation and alignment (C99 6.2.5p26). */
#define EN_PACK_ENTRY(NAME, T)                                                        \
    void NAME(const en_pack_params *p, ...)                                           \
    {                                                                                 \
        va_list args;                                                                 \
        va_start(args, p);                                                            \
        for (int32_t i = 0; i < p->n; ++i) {                                          \
            (void)va_arg(args, const T *);                                            \
        }                                                                             \
        unsigned char *out = (unsigned char *)va_arg(args, T *);                      \
        va_end(args);                                                                 \
        va_start(args, p);                                                            \
        for (int32_t i = 0; i < p->n; ++i) {                                          \
            pack_one(p, i, (const unsigned char *)va_arg(args, const T *), out);      \
        }                                                                             \
        va_end(args);                                                                 \
    }

EN_PACK_ENTRY(en_pack_s8, int8_t)
EN_PACK_ENTRY(en_pack_s16, int16_t)
EN_PACK_ENTRY(en_pack_s32, int32_t)
EN_PACK_ENTRY(en_pack_f32, float)
