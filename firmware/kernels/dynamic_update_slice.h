/* DYNAMIC_UPDATE_SLICE: the operand with the update written at the clamped start indices (read
 * when it runs), elements of esize bytes, shapes padded to 5-D. Spec: edgeneuro/ops/dynamic_update_slice.py. */
#ifndef EN_DYNAMIC_UPDATE_SLICE_H
#define EN_DYNAMIC_UPDATE_SLICE_H

#include <stdint.h>

typedef struct {
    int32_t d0, d1, d2, d3, d4; /* operand */
    int32_t u0, u1, u2, u3, u4; /* update */
    int32_t rank, esize, idx64;
} en_dynamic_update_slice_params;

void en_dynamic_update_slice(const en_dynamic_update_slice_params *p, const void *operand, const void *update,
                             const void *start, void *output);

#endif
