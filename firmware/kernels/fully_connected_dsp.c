/* FULLY_CONNECTED int8 with SIMD32 (SXTB16 + SMLAD): four output units at a time share each word
 * of input. The raw input bytes are multiplied (the zero point is folded into the bias), and the
 * weights are laid out at compile time so that one LDM reads the four units' next 4 bytes
 * (fully_connected_dsp.h). A step of 16 MACs is one LDR and two SXTB16 for the input, one LDM,
 * and per unit two SXTB16 and two SMLAD: 20 instructions, the loop unrolled four times so that
 * its SUBS + BNE costs half an instruction more per step (1.28 instructions per MAC; gcc, given the
 * same loop in C, spends 26). The step runs in hand-scheduled assembly because it needs 14 registers (4
 * accumulators, 4 weight words, the input word's two halves, a temporary and 3 pointers or
 * counters), all that Thumb-2 has besides SP and PC. Each output is then requantized, where the
 * compiler found it exact (`fast`), with the short form of the spec's arithmetic: shift, SMMLAR,
 * add, shift, SSAT, store (conv2d.py channel_fields). Spec: edgeneuro/ops/fully_connected.py. */
#include "fully_connected_dsp.h"

#include <string.h>

#include "en_fixedpoint.h"
#include "en_simd.h"

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP

#define EN_ARG __attribute__((unused)) /* read by the assembly from r0-r3 (AAPCS) */

/* The 16 MACs of one step in the assembly below: r3, r12 the input word's halves (bytes 0, 2 and
 * 1, 3 sign-extended), r8-r11 the 4 units' weight words, r4-r7 their accumulators, lr a
 * temporary. */
#define EN_FC_MACS                    \
    "sxtb16 lr, r8\n\t"               \
    "sxtb16 r8, r8, ror #8\n\t"       \
    "smlad r4, r3, lr, r4\n\t"        \
    "smlad r4, r12, r8, r4\n\t"       \
    "sxtb16 lr, r9\n\t"               \
    "sxtb16 r9, r9, ror #8\n\t"       \
    "smlad r5, r3, lr, r5\n\t"        \
    "smlad r5, r12, r9, r5\n\t"       \
    "sxtb16 lr, r10\n\t"              \
    "sxtb16 r10, r10, ror #8\n\t"     \
    "smlad r6, r3, lr, r6\n\t"        \
    "smlad r6, r12, r10, r6\n\t"      \
    "sxtb16 lr, r11\n\t"              \
    "sxtb16 r11, r11, ror #8\n\t"     \
    "smlad r7, r3, lr, r7\n\t"        \
    "smlad r7, r12, r11, r7\n\t"

/* acc[j] += sum over `words` words of x (4 int8 each) times unit j's bytes of w, for the 4 units
 * of one weight block; w word-aligned. words >= 1. */
__attribute__((naked, noinline)) static void en_fc_dot4(EN_ARG const int8_t *x, EN_ARG const int8_t *w,
                                                        EN_ARG int32_t words, EN_ARG int32_t *acc)
{
    __asm__ volatile(
        ".macro EN_FC_STEP\n\t"
        "ldr r3, [r0], #4\n\t"    /* 4 input bytes */
        "ldmia r1!, {r8-r11}\n\t" /* the 4 units' next 4 weights each */
        "sxtb16 r12, r3, ror #8\n\t"
        "sxtb16 r3, r3\n\t" EN_FC_MACS ".endm\n\t"
        "push {r3-r11, lr}\n\t"
        "ldm r3, {r4-r7}\n\t"
        "lsrs r2, r2, #1\n\t" /* C: words bit 0, one step first */
        "bcc 1f\n\t"
        "EN_FC_STEP\n" /* the steps leave the flags alone */
        "1:\n\t"
        "lsrs r2, r2, #1\n\t" /* C: bit 1, two steps; Z: no group of four */
        "bcc 2f\n\t"
        "EN_FC_STEP\n\t"
        "EN_FC_STEP\n"
        "2:\n\t"
        "beq 4f\n"
        "3:\n\t"
        "EN_FC_STEP\n\t"
        "EN_FC_STEP\n\t"
        "EN_FC_STEP\n\t"
        "EN_FC_STEP\n\t"
        "subs r2, r2, #1\n\t"
        "bne 3b\n"
        "4:\n\t"
        "pop {r3}\n\t"
        "stm r3, {r4-r7}\n\t"
        "pop {r4-r11, pc}\n\t"
        ".purgem EN_FC_STEP\n\t");
}

/* The sparse form's step: acc[j] += the kept words of the 4 units' rows times the input words
 * they meet. s: records of 5 words (the distance in bytes from the previous kept word's input,
 * the first from x - 4; then the 4 units' 4 weights each), ended by a distance 0. One LDM reads
 * a record, so a kept word costs the dense step's 20 instructions and 3 more (CBZ, ADD, B).
 * Returns the word after the 0. */
__attribute__((naked, noinline)) static const int32_t *en_fc_sparse4(EN_ARG const int8_t *x, EN_ARG const int32_t *s,
                                                                     EN_ARG int32_t *acc)
{
    __asm__ volatile(
        "push {r2, r4-r11, lr}\n\t"
        "ldm r2, {r4-r7}\n\t"
        "subs r0, r0, #4\n"
        "1:\n\t"
        "ldmia r1!, {r2, r8-r11}\n\t"
        "cbz r2, 2f\n\t"
        "add r0, r0, r2\n\t"
        "ldr r3, [r0]\n\t"
        "sxtb16 r12, r3, ror #8\n\t"
        "sxtb16 r3, r3\n\t" EN_FC_MACS "b 1b\n"
        "2:\n\t"
        "subs r0, r1, #16\n\t" /* past the 0, not the 4 words the last LDM read after it */
        "pop {r2}\n\t"
        "stm r2, {r4-r7}\n\t"
        "pop {r4-r11, pc}\n\t");
}

#else

static void en_fc_dot4(const int8_t *x, const int8_t *w, int32_t words, int32_t *acc)
{
    for (int32_t i = 0; i < words; ++i, x += 4, w += 16) {
        const uint32_t v = en_read_s8x4(x);
        const uint32_t xe = en_sxtb16(v), xo = en_sxtb16_ror8(v);
        for (int j = 0; j < 4; ++j) {
            const uint32_t u = en_read_s8x4(w + 4 * j);
            acc[j] = en_smlad(xe, en_sxtb16(u), en_smlad(xo, en_sxtb16_ror8(u), acc[j]));
        }
    }
}


static const int32_t *en_fc_sparse4(const int8_t *x, const int32_t *s, int32_t *acc)
{
    int32_t at = -4; /* as the assembly: the distances start from x - 4 */
    for (; s[0] != 0; s += 5) {
        at += s[0];
        en_fc_dot4(x + at, (const int8_t *)(s + 1), 1, acc);
    }
    return s + 1;
}

#endif

/* n outputs with the spec's arithmetic (mult, 0, -shift triples). */
static __attribute__((noinline)) void en_fc_store_exact(const en_fully_connected_s8_dsp_params *p, const int32_t *acc,
                                                        const int32_t *rq, int32_t step, int32_t n, int8_t *out)
{
    for (int32_t j = 0; j < n; ++j, rq += step) {
        out[j] = en_clamp_s8(en_requant(acc[j], rq[0], -rq[2]) + p->out_zp, p->act_min, p->act_max);
    }
}

/* n outputs from their accumulators (bias included) and requantization triples (mult, offset,
 * right; `step` words apart: 3, or 0 where all units share one): the short form where the compiler
 * found it exact (`fast`), saturated to int8 then clamped to the activation range, else the spec's
 * arithmetic. */
static inline __attribute__((always_inline)) void en_fc_store(const en_fully_connected_s8_dsp_params *p,
                                                              const int32_t *acc, const int32_t *rq, int32_t step,
                                                              const int32_t n, int8_t *out)
{
    if (!p->fast) {
        en_fc_store_exact(p, acc, rq, step, n, out);
        return;
    }
    const int32_t lo = p->act_min, hi = p->act_max; /* read once: the int8 stores may alias p */
#pragma GCC unroll 4
    for (int32_t j = 0; j < n; ++j, rq += step) { /* (SMMLAR(2 acc, mult, offset) - (acc < 0)) >> right */
        const int32_t a2 = (int32_t)((uint32_t)acc[j] << 1);
        const int32_t v = en_ssat8((en_smmlar(a2, rq[0], rq[1]) + (a2 >> 31)) >> rq[2]);
        out[j] = en_clamp_s8(v, lo, hi);
    }
}

/* acc[j] += unit j's last `tail` (depth % 4) weights times the last inputs; w: the 4 units' tails
 * one after the other. */
static __attribute__((noinline)) void en_fc_tail4(const int8_t *x, const int8_t *w, int32_t tail, int32_t *acc)
{
    for (int32_t k = 0; k < tail; ++k) {
        for (int j = 0; j < 4; ++j) {
            acc[j] += x[k] * w[j * tail + k];
        }
    }
}

/* acc += one unit's row (not interleaved) times the inputs. */
static int32_t en_fc_row(const int8_t *x, const int8_t *w, int32_t depth, int32_t acc)
{
    int32_t d = 0;
    for (; d + 4 <= depth; d += 4) {
        const uint32_t v = en_read_s8x4(x + d), u = en_read_s8x4(w + d);
        acc = en_smlad(en_sxtb16(v), en_sxtb16(u), en_smlad(en_sxtb16_ror8(v), en_sxtb16_ror8(u), acc));
    }
    for (; d < depth; ++d) {
        acc += x[d] * w[d];
    }
    return acc;
}

void en_fully_connected_s8_dsp(const en_fully_connected_s8_dsp_params *p, const int8_t *input, const int8_t *weights,
                               const int32_t *fields, int8_t *output)
{
    const int32_t depth = p->depth, words = depth >> 2, tail = depth & 3;
    const int32_t units = p->units, units4 = units & ~3, step = p->shared ? 0 : 3;
    const int32_t *rq = fields + units; /* the requantization triples after the biases */
    for (int32_t b = 0; b < p->batches; ++b, input += depth, output += units) {
        const int8_t *w = weights;
        int32_t u = 0;
        for (; u < units4; u += 4) {
            int32_t acc[4];
            memcpy(acc, fields + u, sizeof acc);
            if (words) {
                en_fc_dot4(input, w, words, acc);
                w += 16 * words;
            }
            if (tail) {
                en_fc_tail4(input + 4 * words, w, tail, acc);
                w += 4 * tail;
            }
            en_fc_store(p, acc, rq + u * step, step, 4, output + u);
        }
        for (; u < units; ++u, w += depth) { /* the last units % 4 rows, as they are */
            const int32_t acc = en_fc_row(input, w, depth, fields[u]);
            en_fc_store(p, &acc, rq + u * step, step, 1, output + u);
        }
    }
}

void en_fully_connected_s8_dsp_sparse(const en_fully_connected_s8_dsp_sparse_params *p, const int8_t *input,
                                      const int32_t *weights, const int32_t *fields, int8_t *output)
{
    const int32_t depth = p->depth, tail = depth & 3;
    const int32_t units = p->units, units4 = units & ~3, step = p->shared ? 0 : 3;
    const int32_t *rq = fields + units;
    for (int32_t b = 0; b < p->batches; ++b, input += depth, output += units) {
        const int32_t *s = weights;
        int32_t u = 0;
        for (; u < units4; u += 4) {
            int32_t acc[4];
            memcpy(acc, fields + u, sizeof acc);
            s = en_fc_sparse4(input, s, acc);
            if (tail) {
                en_fc_tail4(input + (depth - tail), (const int8_t *)s, tail, acc);
                s += tail; /* 4 units' tails: 4 * tail bytes */
            }
            en_fc_store(p, acc, rq + u * step, step, 4, output + u);
        }
        const int8_t *w = (const int8_t *)s;
        for (; u < units; ++u, w += depth) { /* the last units % 4 rows, dense */
            const int32_t acc = en_fc_row(input, w, depth, fields[u]);
            en_fc_store(p, &acc, rq + u * step, step, 1, output + u);
        }
    }
}
