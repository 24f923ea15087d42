/* CONCATENATION int8: a copy, row by row. Spec: edgeneuro/ops/concatenation.py. */
#include "concatenation.h"

#include <stdarg.h>

void en_concatenation_s8(const en_concatenation_s8_params *p, const int8_t *const *inputs, int8_t *output)
{
    const int32_t chunk[10] = {p->chunk0, p->chunk1, p->chunk2, p->chunk3, p->chunk4,
                               p->chunk5, p->chunk6, p->chunk7, p->chunk8, p->chunk9};
    for (int32_t o = 0; o < p->outer; ++o) {
        for (int32_t i = 0; i < p->n; ++i) {
            const int8_t *in = inputs[i] + o * chunk[i];
            for (int32_t j = 0; j < chunk[i]; ++j) {
                *output++ = in[j];
            }
        }
    }
}

void en_concatenation_s8_1(const en_concatenation_s8_params *p, const int8_t *a0, int8_t *output)
{
    const int8_t *const args[1] = {a0};
    en_concatenation_s8(p, args, output);
}

void en_concatenation_s8_2(const en_concatenation_s8_params *p, const int8_t *a0, const int8_t *a1, int8_t *output)
{
    const int8_t *const args[2] = {a0, a1};
    en_concatenation_s8(p, args, output);
}

void en_concatenation_s8_3(const en_concatenation_s8_params *p, const int8_t *a0, const int8_t *a1, const int8_t *a2,
                           int8_t *output)
{
    const int8_t *const args[3] = {a0, a1, a2};
    en_concatenation_s8(p, args, output);
}

void en_concatenation_s8_4(const en_concatenation_s8_params *p, const int8_t *a0, const int8_t *a1, const int8_t *a2,
                           const int8_t *a3, int8_t *output)
{
    const int8_t *const args[4] = {a0, a1, a2, a3};
    en_concatenation_s8(p, args, output);
}

void en_concatenation_s8_5(const en_concatenation_s8_params *p, const int8_t *a0, const int8_t *a1, const int8_t *a2,
                           const int8_t *a3, const int8_t *a4, int8_t *output)
{
    const int8_t *const args[5] = {a0, a1, a2, a3, a4};
    en_concatenation_s8(p, args, output);
}

void en_concatenation_s8_6(const en_concatenation_s8_params *p, const int8_t *a0, const int8_t *a1, const int8_t *a2,
                           const int8_t *a3, const int8_t *a4, const int8_t *a5, int8_t *output)
{
    const int8_t *const args[6] = {a0, a1, a2, a3, a4, a5};
    en_concatenation_s8(p, args, output);
}

void en_concatenation_s8_7(const en_concatenation_s8_params *p, const int8_t *a0, const int8_t *a1, const int8_t *a2,
                           const int8_t *a3, const int8_t *a4, const int8_t *a5, const int8_t *a6, int8_t *output)
{
    const int8_t *const args[7] = {a0, a1, a2, a3, a4, a5, a6};
    en_concatenation_s8(p, args, output);
}

void en_concatenation_s8_8(const en_concatenation_s8_params *p, const int8_t *a0, const int8_t *a1, const int8_t *a2,
                           const int8_t *a3, const int8_t *a4, const int8_t *a5, const int8_t *a6, const int8_t *a7,
                           int8_t *output)
{
    const int8_t *const args[8] = {a0, a1, a2, a3, a4, a5, a6, a7};
    en_concatenation_s8(p, args, output);
}

void en_concatenation_s8_9(const en_concatenation_s8_params *p, const int8_t *a0, const int8_t *a1, const int8_t *a2,
                           const int8_t *a3, const int8_t *a4, const int8_t *a5, const int8_t *a6, const int8_t *a7,
                           const int8_t *a8, int8_t *output)
{
    const int8_t *const args[9] = {a0, a1, a2, a3, a4, a5, a6, a7, a8};
    en_concatenation_s8(p, args, output);
}

void en_concatenation_s8_10(const en_concatenation_s8_params *p, const int8_t *a0, const int8_t *a1, const int8_t *a2,
                            const int8_t *a3, const int8_t *a4, const int8_t *a5, const int8_t *a6, const int8_t *a7,
                            const int8_t *a8, const int8_t *a9, int8_t *output)
{
    const int8_t *const args[10] = {a0, a1, a2, a3, a4, a5, a6, a7, a8, a9};
    en_concatenation_s8(p, args, output);
}

/* The other element types: n input pointers, then the output, all of the kernel's element type;
 * the chunks are in bytes. An input is read as `const T *` whether the call passes an arena `T *`
 * or a constant operand's `const T *` (the same representation, C99 6.2.5p26). */
#define EN_CONCATENATION_ENTRY(NAME, T)                                   \
    void NAME(const en_concatenation_s8_params *p, ...)                   \
    {                                                                     \
        const int8_t *inputs[10];                                         \
        va_list args;                                                     \
        va_start(args, p);                                                \
        for (int32_t i = 0; i < p->n; ++i) {                              \
            inputs[i] = (const int8_t *)va_arg(args, const T *);          \
        }                                                                 \
        int8_t *out = (int8_t *)va_arg(args, T *);                        \
        va_end(args);                                                     \
        en_concatenation_s8(p, inputs, out);                              \
    }

EN_CONCATENATION_ENTRY(en_concatenation_s16, int16_t)
EN_CONCATENATION_ENTRY(en_concatenation_s32, int32_t)
EN_CONCATENATION_ENTRY(en_concatenation_f32, float)
EN_CONCATENATION_ENTRY(en_concatenation_b, uint8_t)
