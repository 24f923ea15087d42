/* ADD, SUB and MUL int8 without broadcasting, with SIMD32. Spec: edgeneuro/ops/binary.py
 * (dsp_params, _dsp_compute).
 *
 * The portable kernel walks a 5-D loop nest with stride multiplications and calls the 64-bit
 * en_requant three times an element (about 119 instructions on a Cortex-M4). Here both inputs have
 * the output's size, so one flat loop reads element i of each and writes element i, and every
 * rescale is the short form of conv2d_dsp.c's en_store2: SRDHM(x, m) = floor((x * m + 2^30) / 2^31)
 * is the rounded high word of 2x * m, one SMMLAR; the rounding right shift by e (half away from
 * zero) is (t + 2^(e-1) - (t < 0)) >> e, where t < 0 may be read off the sign of x (m > 0: t has
 * x's sign or is 0, and then the correction changes nothing for e >= 1), and 2^(e-1) and the zero
 * point (times 2^e) ride in SMMLAR's accumulator.
 *
 * ADD / SUB. TFLM scales both inputs to 2 * max(s_a, s_b), so the input with the larger scale has
 * the ratio 1/2 exactly: multiplier 2^30, shift 0, and x << 20 becomes x << 19 with no rounding (L,
 * the linear input). Only the other (P) is rounded, and L is added before P's final shift, as
 * L * lin with lin = +-2^(19+e): a multiple of 2^e does not change the rounding. Per element:
 *   LDRSB, LDRSB                    the two inputs
 *   MLA   acc = L * lin + round     L, its zero point and P's rounding constant folded in `round`
 *   ADD   x2 = k + (P << 21)        P's zero point folded in k
 *   SMMLAR, ADD (x2 asr #31), ASR   P rescaled and L added: u = raw (or -raw for SUB when b is
 *                                   P: dbl = -2)
 *   LSL                             r = u * dbl = 2 * raw (RSB + LSL when dbl = -2)
 *   SMMLAR, ADD (r asr #31), ASR    the output rescale, its zero point in out_offset
 *   SSAT, STRB, CMP, BNE
 * Equal scales make P linear too: mult = -2^31 and e = 1 give SMMLAR(x2, -2^31, round) =
 * round - x2 / 2 (x2 is even), so u = -raw exactly and dbl = -2.
 * 15 instructions, no spill: the loop keeps its 12 constants and pointers and 2 temporaries in
 * r0-r12 and lr (L is loaded first and folded into acc at once, so only acc and x2 are live).
 * Unrolling by two measured 14.5 (gcc turns the post-increments into offsets and adds), which does
 * not pay for the tail and twice the code. MUL: r = (2a - 2 zp_a) * (b - zp_b) is RSB, SUB, MUL,
 * then the same output step: 13 instructions.
 *
 * A fused activation whose range is not all of int8 (RELU with out_zp > -128, RELU6) is a second
 * pass over the output, four bytes a word with SSUB8 / SEL (en_max_s8x4, en_min_s8x4): 2
 * instructions an element, where a per-element clamp in the main loop would need two registers
 * more than it has (it measured 21 to 26 instructions an element, with spills).
 *
 * The compiler checks the whole arithmetic, with the constants of the layer, against the spec on
 * all 65,536 pairs of int8 inputs, every intermediate value within int32, and takes this kernel
 * only where all agree (binary.py dsp_params). */
#include "binary_dsp.h"

#include <string.h>

#include "en_simd.h"

typedef en_binary_s8_dsp_params en_bin_params;

/* One output from r = 2 * raw: the short requantization and int8 saturation. */
static inline __attribute__((always_inline)) int32_t en_bin_out(int32_t r, int32_t om, int32_t off, int32_t eo)
{
    return en_ssat8((en_smmlar(r, om, off) + (r >> 31)) >> eo);
}

/* ADD / SUB with P the rounded input and L the linear one; neg: r = -2u (SUB with b as P, or equal
 * scales). */
static inline __attribute__((always_inline)) void en_addsub(const en_bin_params *p, const int8_t *vp,
                                                            const int8_t *vl, int8_t *out, const int neg)
{
    const int32_t k = p->k, m = p->mult, rnd = p->round, e = p->shift, lin = p->lin, dbl = neg ? -2 : 2;
    const int32_t om = p->out_mult, off = p->out_offset, eo = p->out_shift;
    for (int32_t i = p->n; i > 0; --i) {
        const int32_t acc = *vl++ * lin + rnd;
        const int32_t x2 = k + *vp++ * (1 << 21);
        const int32_t r = ((en_smmlar(x2, m, acc) + (x2 >> 31)) >> e) * dbl;
        *out++ = (int8_t)en_bin_out(r, om, off, eo);
    }
}

static inline __attribute__((always_inline)) void en_mul(const en_bin_params *p, const int8_t *a, const int8_t *b,
                                                         int8_t *out)
{
    const int32_t za2 = p->a_zp2, zb = p->b_zp;
    const int32_t om = p->out_mult, off = p->out_offset, eo = p->out_shift;
    for (int32_t i = p->n; i > 0; --i) {
        const int32_t r = (*a++ * 2 - za2) * (*b++ - zb);
        *out++ = (int8_t)en_bin_out(r, om, off, eo);
    }
}

/* The activation's clamp over n output bytes (lo >= -128, hi <= 127), four a word. */
static void en_bin_clamp(int8_t *out, int32_t n, int32_t lo, int32_t hi)
{
    const uint32_t lo4 = ((uint32_t)lo & 0xFFu) * 0x01010101u, hi4 = ((uint32_t)hi & 0xFFu) * 0x01010101u;
    for (; n >= 4; n -= 4, out += 4) {
        const uint32_t w = en_min_s8x4(en_max_s8x4(en_read_s8x4(out), lo4), hi4);
        memcpy(out, &w, sizeof w);
    }
    for (; n > 0; --n, ++out) {
        *out = (int8_t)(*out < lo ? lo : (*out > hi ? hi : *out));
    }
}

/* The entry points, by the form of the arithmetic (the compiler calls the layer's own: Kernel.entry,
 * so a model links only the forms it uses): ADD / SUB with r = 2u, with r = -2u (SUB with b
 * rounded, or equal scales), MUL. */
void en_binary_s8_dsp_addsub(const en_binary_s8_dsp_params *p, const int8_t *a, const int8_t *b, int8_t *output)
{
    en_addsub(p, p->swap ? b : a, p->swap ? a : b, output, 0);
    if (p->act_min > -128 || p->act_max < 127) {
        en_bin_clamp(output, p->n, p->act_min, p->act_max);
    }
}

void en_binary_s8_dsp_addsub_neg(const en_binary_s8_dsp_params *p, const int8_t *a, const int8_t *b, int8_t *output)
{
    en_addsub(p, p->swap ? b : a, p->swap ? a : b, output, 1);
    if (p->act_min > -128 || p->act_max < 127) {
        en_bin_clamp(output, p->n, p->act_min, p->act_max);
    }
}

void en_binary_s8_dsp_mul(const en_binary_s8_dsp_params *p, const int8_t *a, const int8_t *b, int8_t *output)
{
    en_mul(p, a, b, output);
    if (p->act_min > -128 || p->act_max < 127) {
        en_bin_clamp(output, p->n, p->act_min, p->act_max);
    }
}
