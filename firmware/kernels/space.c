/* Space/depth/batch rearrangements: copies of rows of channel bytes. Spec: edgeneuro/ops/space.py. */
#include "space.h"

static unsigned char *copy_row(unsigned char *out, const unsigned char *src, int32_t n)
{
    for (int32_t i = 0; i < n; ++i) {
        out[i] = src[i];
    }
    return out + n;
}

/* The input row (n, y, x) of a [in_n, in_h, in_w] grid of rows of `row_bytes`. */
static const unsigned char *at(const en_space_params *p, const void *input, int32_t n, int32_t y, int32_t x,
                               int32_t row_bytes)
{
    return (const unsigned char *)input + ((n * p->in_h + y) * p->in_w + x) * row_bytes;
}

void en_depth_to_space(const en_space_params *p, const void *input, void *output)
{
    const int32_t b = p->block_h, in_row = b * b * p->row;
    unsigned char *out = (unsigned char *)output;
    for (int32_t n = 0; n < p->out_n; ++n) {
        for (int32_t y = 0; y < p->out_h; ++y) {
            for (int32_t x = 0; x < p->out_w; ++x) {
                const unsigned char *src = at(p, input, n, y / b, x / b, in_row);
                out = copy_row(out, src + ((y % b) * b + x % b) * p->row, p->row);
            }
        }
    }
}

void en_space_to_depth(const en_space_params *p, const void *input, void *output)
{
    const int32_t b = p->block_h;
    unsigned char *out = (unsigned char *)output;
    for (int32_t n = 0; n < p->out_n; ++n) {
        for (int32_t y = 0; y < p->out_h; ++y) {
            for (int32_t x = 0; x < p->out_w; ++x) {
                for (int32_t i = 0; i < b; ++i) {
                    for (int32_t j = 0; j < b; ++j) {
                        out = copy_row(out, at(p, input, n, y * b + i, x * b + j, p->row), p->row);
                    }
                }
            }
        }
    }
}

void en_batch_to_space(const en_space_params *p, const void *input, void *output)
{
    unsigned char *out = (unsigned char *)output;
    for (int32_t n = 0; n < p->out_n; ++n) {
        for (int32_t y = 0; y < p->out_h; ++y) {
            const int32_t ys = y + p->off_h;
            for (int32_t x = 0; x < p->out_w; ++x) {
                const int32_t xs = x + p->off_w;
                const int32_t batch = ((ys % p->block_h) * p->block_w + xs % p->block_w) * p->out_n + n;
                out = copy_row(out, at(p, input, batch, ys / p->block_h, xs / p->block_w, p->row), p->row);
            }
        }
    }
}

void en_space_to_batch(const en_space_params *p, const void *input, void *output)
{
    unsigned char *out = (unsigned char *)output;
    for (int32_t n = 0; n < p->out_n; ++n) {
        const int32_t batch = n % p->in_n, shift = n / p->in_n;
        const int32_t dy = shift / p->block_w - p->off_h, dx = shift % p->block_w - p->off_w;
        for (int32_t y = 0; y < p->out_h; ++y) {
            const int32_t ys = y * p->block_h + dy;
            for (int32_t x = 0; x < p->out_w; ++x) {
                const int32_t xs = x * p->block_w + dx;
                if (ys < 0 || ys >= p->in_h || xs < 0 || xs >= p->in_w) {
                    for (int32_t i = 0; i < p->row; ++i) {
                        *out++ = (unsigned char)p->pad;
                    }
                } else {
                    out = copy_row(out, at(p, input, batch, ys, xs, p->row), p->row);
                }
            }
        }
    }
}
