/* READ_VARIABLE and ASSIGN_VARIABLE: `nbytes` bytes copied between a variable (persistent state)
 * and a tensor. Spec: the numpy reference in edgeneuro/ops/variable.py. */
#ifndef EN_VARIABLE_H
#define EN_VARIABLE_H

#include <stdint.h>

typedef struct {
    int32_t nbytes;
} en_copy_bytes_params;

void en_copy_bytes(const en_copy_bytes_params *p, const void *input, void *output);

#endif
