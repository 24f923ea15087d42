/* FILL (every output element the scalar `value`, `esize` bytes) and ZEROS_LIKE (`nbytes` zero
 * bytes) kernels. Spec: the numpy reference in edgeneuro/ops/fill.py. */
#ifndef EN_FILL_H
#define EN_FILL_H

#include <stdint.h>

typedef struct {
    int32_t count, esize;
} en_fill_params;

typedef struct {
    int32_t nbytes;
} en_zeros_like_params;

void en_fill(const en_fill_params *p, const void *value, void *output);
void en_zeros_like(const en_zeros_like_params *p, const void *input, void *output);

#endif
