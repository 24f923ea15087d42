/* GATHER_ND: a copy of the addressed slices. Spec: edgeneuro/ops/gather_nd.py. */
#include "gather_nd.h"

void en_gather_nd(const en_gather_nd_params *p, const void *input, const int32_t *indices, void *output)
{
    const int32_t dims[5] = {p->dim0, p->dim1, p->dim2, p->dim3, p->dim4};
    const unsigned char *in = (const unsigned char *)input;
    unsigned char *out = (unsigned char *)output;
    for (int32_t i = 0; i < p->n; ++i) {
        const int32_t *tuple = indices + i * p->nd;
        int32_t row = 0;
        int inside = 1;
        for (int32_t j = 0; j < p->nd; ++j) {
            inside = inside && tuple[j] >= 0 && tuple[j] < dims[j];
            row = row * dims[j] + (inside ? tuple[j] : 0);
        }
        const unsigned char *src = in + row * p->slice;
        for (int32_t b = 0; b < p->slice; ++b) {
            *out++ = inside ? src[b] : 0;
        }
    }
}
