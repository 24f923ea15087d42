/* MIRROR_PAD: a copy with mirrored indices. Spec: edgeneuro/ops/mirror_pad.py. */
#include "mirror_pad.h"

static int32_t mirror(int32_t o, int32_t before, int32_t n, int32_t offset)
{
    if (o < before) {
        return before - o - 1 + offset;
    }
    o -= before;
    return o < n ? o : n - 1 - offset - (o - n);
}

void en_mirror_pad(const en_mirror_pad_params *p, const void *input, void *output)
{
    const unsigned char *in = (const unsigned char *)input;
    unsigned char *out = (unsigned char *)output;
    const int32_t s3 = p->dim4, s2 = p->dim3 * s3, s1 = p->dim2 * s2, s0 = p->dim1 * s1;
    for (int32_t a = 0; a < p->out0; ++a) {
        const int32_t ia = mirror(a, p->before0, p->dim0, p->offset) * s0;
        for (int32_t b = 0; b < p->out1; ++b) {
            const int32_t ib = ia + mirror(b, p->before1, p->dim1, p->offset) * s1;
            for (int32_t c = 0; c < p->out2; ++c) {
                const int32_t ic = ib + mirror(c, p->before2, p->dim2, p->offset) * s2;
                for (int32_t d = 0; d < p->out3; ++d) {
                    const int32_t id = ic + mirror(d, p->before3, p->dim3, p->offset) * s3;
                    for (int32_t e = 0; e < p->out4; ++e) {
                        const unsigned char *src = in + (id + mirror(e, p->before4, p->dim4, p->offset)) * p->esize;
                        for (int32_t j = 0; j < p->esize; ++j) {
                            *out++ = src[j];
                        }
                    }
                }
            }
        }
    }
}
