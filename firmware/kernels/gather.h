/* GATHER kernel (element type agnostic: sizes in bytes): for each batch b, outer row o and
 * coordinate c, the `inner` bytes at input[b][o][indices[b][c]] go to output row
 * (b * outer + o) * coords + c; an index outside [0, axis_size) writes zeros there.
 * Spec: the numpy reference in edgeneuro/ops/gather.py. */
#ifndef EN_GATHER_H
#define EN_GATHER_H

#include <stdint.h>

typedef struct {
    int32_t batch, outer, axis_size, coords, inner;
} en_gather_params;

void en_gather(const en_gather_params *p, const void *input, const int32_t *indices, void *output);

/* EMBEDDING_LOOKUP's hybrid form: int8 rows (inner = elements per row, zero point 0) as float32
 * q * scale; a row out of range gives 0.0. */
typedef struct {
    int32_t batch, outer, axis_size, coords, inner;
    float scale;
} en_embedding_lookup_s8_f32_params;

void en_embedding_lookup_s8_f32(const en_embedding_lookup_s8_f32_params *p, const int8_t *value,
                                const int32_t *lookup, float *output);

#endif
