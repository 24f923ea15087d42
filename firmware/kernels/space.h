/* DEPTH_TO_SPACE, SPACE_TO_DEPTH, BATCH_TO_SPACE_ND, SPACE_TO_BATCH_ND kernels: NHWC tensors (3-D
 * ones with W = 1) moved in rows of `row` bytes (element type agnostic). `block_*` are the block
 * sizes, `off_*` the top/left crops (BATCH_TO_SPACE_ND) or paddings (SPACE_TO_BATCH_ND), `pad`
 * the padding byte. Spec: the numpy reference in edgeneuro/ops/space.py. */
#ifndef EN_SPACE_H
#define EN_SPACE_H

#include <stdint.h>

typedef struct {
    int32_t in_n, in_h, in_w, out_n, out_h, out_w;
    int32_t block_h, block_w, off_h, off_w;
    int32_t row, pad;
} en_space_params;

typedef en_space_params en_depth_to_space_params;
typedef en_space_params en_space_to_depth_params;
typedef en_space_params en_batch_to_space_params;
typedef en_space_params en_space_to_batch_params;

void en_depth_to_space(const en_space_params *p, const void *input, void *output);
void en_space_to_depth(const en_space_params *p, const void *input, void *output);
void en_batch_to_space(const en_space_params *p, const void *input, void *output);
void en_space_to_batch(const en_space_params *p, const void *input, void *output);

#endif
