/* SELECT_V2: a copy from x or y by the condition. Spec: edgeneuro/ops/select.py. */
#include "select.h"

void en_select_v2(const en_select_v2_params *p, const uint8_t *condition, const void *x, const void *y, void *output)
{
    const int32_t dim[5] = {p->dim0, p->dim1, p->dim2, p->dim3, p->dim4};
    const int32_t cs[5] = {p->c_stride0, p->c_stride1, p->c_stride2, p->c_stride3, p->c_stride4};
    const int32_t xs[5] = {p->x_stride0, p->x_stride1, p->x_stride2, p->x_stride3, p->x_stride4};
    const int32_t ys[5] = {p->y_stride0, p->y_stride1, p->y_stride2, p->y_stride3, p->y_stride4};
    const unsigned char *xb = (const unsigned char *)x, *yb = (const unsigned char *)y;
    unsigned char *out = (unsigned char *)output;
    int32_t i[5];
    for (i[0] = 0; i[0] < dim[0]; ++i[0]) {
        for (i[1] = 0; i[1] < dim[1]; ++i[1]) {
            for (i[2] = 0; i[2] < dim[2]; ++i[2]) {
                for (i[3] = 0; i[3] < dim[3]; ++i[3]) {
                    for (i[4] = 0; i[4] < dim[4]; ++i[4]) {
                        int32_t c = 0, xo = 0, yo = 0;
                        for (int32_t k = 0; k < 5; ++k) {
                            c += i[k] * cs[k];
                            xo += i[k] * xs[k];
                            yo += i[k] * ys[k];
                        }
                        const unsigned char *src = condition[c] ? xb + xo * p->esize : yb + yo * p->esize;
                        for (int32_t b = 0; b < p->esize; ++b) {
                            *out++ = src[b];
                        }
                    }
                }
            }
        }
    }
}
