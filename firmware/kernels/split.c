/* SPLIT / SPLIT_V / UNPACK: a copy, row by row. Spec: edgeneuro/ops/split.py. */
#include "split.h"

#include <stdarg.h>

/* Output i's share of every row: chunk bytes at `offset` in each of the p->outer rows. */
static void split_one(const en_split_params *p, const unsigned char *in, int32_t offset, int32_t chunk,
                      unsigned char *out)
{
    for (int32_t k = 0; k < p->outer; ++k) {
        const unsigned char *src = in + k * p->row + offset;
        for (int32_t j = 0; j < chunk; ++j) {
            *out++ = src[j];
        }
    }
}

#define EN_SPLIT_ENTRY(NAME, T)                                                                  \
    void NAME(const en_split_params *p, const T *input, const int32_t *chunks, ...)             \
    {                                                                                            \
        va_list outputs;                                                                         \
        va_start(outputs, chunks);                                                               \
        int32_t offset = 0;                                                                      \
        for (int32_t i = 0; i < p->n; ++i) {                                                     \
            T *out = va_arg(outputs, T *);                                                       \
            split_one(p, (const unsigned char *)input, offset, chunks[i], (unsigned char *)out); \
            offset += chunks[i];                                                                 \
        }                                                                                        \
        va_end(outputs);                                                                         \
    }

EN_SPLIT_ENTRY(en_split_s8, int8_t)
EN_SPLIT_ENTRY(en_split_s16, int16_t)
EN_SPLIT_ENTRY(en_split_s32, int32_t)
EN_SPLIT_ENTRY(en_split_f32, float)
