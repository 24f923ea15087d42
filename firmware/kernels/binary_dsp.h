/* ADD, SUB and MUL int8 without broadcasting, for cores with the DSP extension (SIMD32): the same
 * bits as en_binary_s8 (binary.h), with its requantization folded into constants at compile time.
 * Spec: edgeneuro/ops/binary.py (dsp_params and _dsp_compute). */
#ifndef EN_BINARY_DSP_H
#define EN_BINARY_DSP_H

#include <stdint.h>

/* n elements; op: 0 ADD or SUB, 1 MUL.
 * ADD / SUB: P, the rounded input, is b when swap (else a); L, the linear one, the other:
 *   acc = L * lin + round; x2 = k + (P << 21);
 *   r = ((SMMLAR(x2, mult, acc) + (x2 < 0 ? -1 : 0)) >> shift) * dbl   (shift 1..31, dbl = +-2)
 * MUL: r = (2 * a - a_zp2) * (b - b_zp)
 * then y = (SMMLAR(r, out_mult, out_offset) + (r < 0 ? -1 : 0)) >> out_shift, saturated to int8 and
 * clamped to [act_min, act_max]. r is twice the spec's raw sum (product), and every step is within
 * int32 for all int8 inputs (the compiler checked every pair). */
typedef struct {
    int32_t n, op, swap;
    int32_t k, mult, round, shift, lin, dbl;
    int32_t a_zp2, b_zp;
    int32_t out_mult, out_offset, out_shift, act_min, act_max;
} en_binary_s8_dsp_params;

typedef void en_binary_s8_dsp_fn(const en_binary_s8_dsp_params *p, const int8_t *a, const int8_t *b, int8_t *output);

/* One entry point per form (the compiler calls the layer's own, so only those are linked): _addsub
 * (op 0, dbl 2), _addsub_neg (op 0, dbl -2), _mul (op 1). output may be a or b (the same bytes):
 * element i of both inputs is read before element i of the output is written. */
en_binary_s8_dsp_fn en_binary_s8_dsp_addsub, en_binary_s8_dsp_addsub_neg, en_binary_s8_dsp_mul;

#endif
