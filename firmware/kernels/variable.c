/* READ_VARIABLE and ASSIGN_VARIABLE. Spec: edgeneuro/ops/variable.py. */
#include "variable.h"

void en_copy_bytes(const en_copy_bytes_params *p, const void *input, void *output)
{
    const unsigned char *in = (const unsigned char *)input;
    unsigned char *out = (unsigned char *)output;
    for (int32_t i = 0; i < p->nbytes; ++i) {
        out[i] = in[i];
    }
}
