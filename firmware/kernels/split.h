/* SPLIT / SPLIT_V / UNPACK kernel: the input, seen as `outer` rows of `row` bytes, cut into n
 * outputs; output i takes chunks[i] bytes of every row. Variadic: after `chunks` come the n output
 * pointers, of the kernel's element type. Spec: the numpy reference in edgeneuro/ops/split.py. */
#ifndef EN_SPLIT_H
#define EN_SPLIT_H

#include <stdint.h>

typedef struct {
    int32_t n, outer, row;
} en_split_params;

typedef en_split_params en_split_s8_params;
typedef en_split_params en_split_s16_params;
typedef en_split_params en_split_s32_params;
typedef en_split_params en_split_f32_params;

void en_split_s8(const en_split_params *p, const int8_t *input, const int32_t *chunks, ...);
void en_split_s16(const en_split_params *p, const int16_t *input, const int32_t *chunks, ...);
void en_split_s32(const en_split_params *p, const int32_t *input, const int32_t *chunks, ...);
void en_split_f32(const en_split_params *p, const float *input, const int32_t *chunks, ...);

#endif
