/* GATHER: a copy of the picked rows. Spec: edgeneuro/ops/gather.py. */
#include "gather.h"

void en_gather(const en_gather_params *p, const void *input, const int32_t *indices, void *output)
{
    const unsigned char *in = (const unsigned char *)input;
    unsigned char *out = (unsigned char *)output;
    for (int32_t b = 0; b < p->batch; ++b) {
        const int32_t *idx = indices + b * p->coords;
        for (int32_t o = 0; o < p->outer; ++o) {
            const unsigned char *base = in + (b * p->outer + o) * p->axis_size * p->inner;
            for (int32_t c = 0; c < p->coords; ++c) {
                const int32_t i = idx[c];
                const int inside = i >= 0 && i < p->axis_size;
                const unsigned char *src = base + (inside ? i : 0) * p->inner;
                for (int32_t j = 0; j < p->inner; ++j) {
                    *out++ = inside ? src[j] : 0;
                }
            }
        }
    }
}

void en_embedding_lookup_s8_f32(const en_embedding_lookup_s8_f32_params *p, const int8_t *value,
                                const int32_t *lookup, float *output)
{
    for (int32_t c = 0; c < p->coords; ++c) {
        const int32_t i = lookup[c];
        const int inside = i >= 0 && i < p->axis_size;
        const int8_t *row = value + (inside ? i : 0) * p->inner;
        for (int32_t j = 0; j < p->inner; ++j) {
            *output++ = inside ? (float)row[j] * p->scale : 0.0f;
        }
    }
}
