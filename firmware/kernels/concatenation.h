/* CONCATENATION int8 kernel: a copy, row by row, of 1 to 10 inputs. One entry point per number of
 * inputs: en_concatenation_s8_<n>(params, input0, ..., input<n-1>, output), the inputs in the
 * model's order; chunk<i> is input i's bytes per row.
 * Spec: the numpy reference in edgeneuro/ops/concatenation.py. */
#ifndef EN_CONCATENATION_H
#define EN_CONCATENATION_H

#include <stdint.h>

typedef struct {
    int32_t n, outer;
    int32_t chunk0, chunk1, chunk2, chunk3, chunk4, chunk5, chunk6, chunk7, chunk8, chunk9;
} en_concatenation_s8_params;

typedef en_concatenation_s8_params en_concatenation_s8_1_params;
typedef en_concatenation_s8_params en_concatenation_s8_2_params;
typedef en_concatenation_s8_params en_concatenation_s8_3_params;
typedef en_concatenation_s8_params en_concatenation_s8_4_params;
typedef en_concatenation_s8_params en_concatenation_s8_5_params;
typedef en_concatenation_s8_params en_concatenation_s8_6_params;
typedef en_concatenation_s8_params en_concatenation_s8_7_params;
typedef en_concatenation_s8_params en_concatenation_s8_8_params;
typedef en_concatenation_s8_params en_concatenation_s8_9_params;
typedef en_concatenation_s8_params en_concatenation_s8_10_params;

/* The shared body: inputs[] holds the n inputs in order. */
void en_concatenation_s8(const en_concatenation_s8_params *p, const int8_t *const *inputs, int8_t *output);

void en_concatenation_s8_1(const en_concatenation_s8_params *p, const int8_t *a0, int8_t *output);
void en_concatenation_s8_2(const en_concatenation_s8_params *p, const int8_t *a0, const int8_t *a1, int8_t *output);
void en_concatenation_s8_3(const en_concatenation_s8_params *p, const int8_t *a0, const int8_t *a1, const int8_t *a2,
                           int8_t *output);
void en_concatenation_s8_4(const en_concatenation_s8_params *p, const int8_t *a0, const int8_t *a1, const int8_t *a2,
                           const int8_t *a3, int8_t *output);
void en_concatenation_s8_5(const en_concatenation_s8_params *p, const int8_t *a0, const int8_t *a1, const int8_t *a2,
                           const int8_t *a3, const int8_t *a4, int8_t *output);
void en_concatenation_s8_6(const en_concatenation_s8_params *p, const int8_t *a0, const int8_t *a1, const int8_t *a2,
                           const int8_t *a3, const int8_t *a4, const int8_t *a5, int8_t *output);
void en_concatenation_s8_7(const en_concatenation_s8_params *p, const int8_t *a0, const int8_t *a1, const int8_t *a2,
                           const int8_t *a3, const int8_t *a4, const int8_t *a5, const int8_t *a6, int8_t *output);
void en_concatenation_s8_8(const en_concatenation_s8_params *p, const int8_t *a0, const int8_t *a1, const int8_t *a2,
                           const int8_t *a3, const int8_t *a4, const int8_t *a5, const int8_t *a6, const int8_t *a7,
                           int8_t *output);
void en_concatenation_s8_9(const en_concatenation_s8_params *p, const int8_t *a0, const int8_t *a1, const int8_t *a2,
                           const int8_t *a3, const int8_t *a4, const int8_t *a5, const int8_t *a6, const int8_t *a7,
                           const int8_t *a8, int8_t *output);
void en_concatenation_s8_10(const en_concatenation_s8_params *p, const int8_t *a0, const int8_t *a1, const int8_t *a2,
                            const int8_t *a3, const int8_t *a4, const int8_t *a5, const int8_t *a6, const int8_t *a7,
                            const int8_t *a8, const int8_t *a9, int8_t *output);

/* int16, int32, float32 and bool: variadic, the n inputs then the output (chunks in bytes). */
typedef en_concatenation_s8_params en_concatenation_s16_params;
typedef en_concatenation_s8_params en_concatenation_s32_params;
typedef en_concatenation_s8_params en_concatenation_f32_params;
typedef en_concatenation_s8_params en_concatenation_b_params;
void en_concatenation_s16(const en_concatenation_s8_params *p, ...);
void en_concatenation_s32(const en_concatenation_s8_params *p, ...);
void en_concatenation_f32(const en_concatenation_s8_params *p, ...);
void en_concatenation_b(const en_concatenation_s8_params *p, ...);

#endif
