/* REVERSE_V2: a copy of rows in reverse order. Spec: edgeneuro/ops/reverse.py. */
#include "reverse.h"

void en_reverse(const en_reverse_params *p, const void *input, void *output)
{
    const unsigned char *in = (const unsigned char *)input;
    unsigned char *out = (unsigned char *)output;
    const int32_t n = p->inner_bytes;
    for (int32_t o = 0; o < p->outer; ++o) {
        const unsigned char *base = in + o * p->mid * n;
        for (int32_t m = p->mid - 1; m >= 0; --m) {
            const unsigned char *src = base + m * n;
            for (int32_t j = 0; j < n; ++j) {
                *out++ = src[j];
            }
        }
    }
}
