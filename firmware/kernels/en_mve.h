/* The Helium (M-profile Vector Extension, MVE) operations the *_mve kernels use, under their ACLE
 * names: arm_mve.h on cores that have MVE (__ARM_FEATURE_MVE: Cortex-M55), and the same
 * arithmetic in plain C elsewhere, so one kernel source builds for the host and is tested there
 * bit for bit against the numpy reference (as en_simd.h does for the DSP extension).
 *
 * The C twins follow the instructions' definitions in the Armv8.1-M Architecture Reference Manual:
 * a vector is 128 bits of 16 int8, 8 int16 or 4 int32 lanes (lane 0 at the lowest address); a
 * predicate (VPR.P0) holds one bit per byte, so a lane of n bytes is active when its n bits are
 * set (the twins test the lane's lowest bit, which is what VCTP writes); predicated-off lanes of a
 * load are zero (_z), of a store are left in memory (_p). Only the operations the kernels use are
 * here; each twin is exact, including wrap-around and saturation. */
#ifndef EN_MVE_H
#define EN_MVE_H

#include <stdint.h>
#include <string.h>

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#include <arm_mve.h>

/* v's value at this point, opaque to the optimizer (an empty asm that may change it): a sum of
 * terms accumulated into v keeps its order, so gcc does not reassociate a chain of vector adds
 * into a tree that needs more than the 8 vector registers. */
#define EN_MVE_ORDER(v) __asm__("" : "+w"(v))

/* Pointer p, opaque to the optimizer: a second load through it is not merged with the first (to
 * load a vector again rather than keep it in one of the 8 registers). */
#define EN_MVE_AGAIN(ptr) __asm__("" : "+r"(ptr))

/* For the functions of a kernel's inner loops: gcc 12's first scheduling pass, which ignores
 * register pressure, hoists every vector load of an unrolled loop body to its top and then spills
 * the 8 vector registers to the stack; without it the body keeps the order it is written in. */
#define EN_MVE_KERNEL __attribute__((optimize("no-schedule-insns")))
#else
#define EN_MVE_ORDER(v) ((void)0)
#define EN_MVE_AGAIN(ptr) ((void)0)
#define EN_MVE_KERNEL

/* Tested as (uint32_t)pred >> i: a uint16_t shifted is an int, which UBSan's shift check keeps gcc
 * from proving non-negative (a -Wsign-conversion warning where it meets 1u). */
typedef uint16_t mve_pred16_t;
typedef struct {
    int8_t v[16];
} int8x16_t;
typedef struct {
    int16_t v[8];
} int16x8_t;
typedef struct {
    int32_t v[4];
} int32x4_t;

/* Predicates: lanes 0 .. n-1 active (VCTP.8 / VCTP.32). */
static inline mve_pred16_t vctp8q(uint32_t n)
{
    return (mve_pred16_t)(n >= 16 ? 0xFFFFu : (1u << n) - 1u);
}

static inline mve_pred16_t vctp16q(uint32_t n)
{
    return (mve_pred16_t)(n >= 8 ? 0xFFFFu : (1u << (2 * n)) - 1u);
}

static inline mve_pred16_t vctp32q(uint32_t n)
{
    return (mve_pred16_t)(n >= 4 ? 0xFFFFu : (1u << (4 * n)) - 1u);
}

/* Loads and stores (VLDRB, VLDRW, VSTRB, VSTRW; the widening and narrowing forms). */
static inline int8x16_t vldrbq_s8(const int8_t *p)
{
    int8x16_t r;
    for (int i = 0; i < 16; ++i) {
        r.v[i] = p[i];
    }
    return r;
}

static inline int8x16_t vldrbq_z_s8(const int8_t *p, mve_pred16_t pred)
{
    int8x16_t r;
    for (int i = 0; i < 16; ++i) {
        r.v[i] = ((uint32_t)pred >> i) & 1u ? p[i] : 0;
    }
    return r;
}

static inline int16x8_t vldrbq_s16(const int8_t *p)
{
    int16x8_t r;
    for (int i = 0; i < 8; ++i) {
        r.v[i] = p[i];
    }
    return r;
}

static inline int16x8_t vldrbq_z_s16(const int8_t *p, mve_pred16_t pred)
{
    int16x8_t r;
    for (int i = 0; i < 8; ++i) {
        r.v[i] = ((uint32_t)pred >> (2 * i)) & 1u ? p[i] : 0;
    }
    return r;
}

static inline int32x4_t vldrwq_s32(const int32_t *p)
{
    int32x4_t r;
    for (int i = 0; i < 4; ++i) {
        r.v[i] = p[i];
    }
    return r;
}

static inline void vstrbq_s8(int8_t *p, int8x16_t a)
{
    for (int i = 0; i < 16; ++i) {
        p[i] = a.v[i];
    }
}

static inline void vstrbq_p_s8(int8_t *p, int8x16_t a, mve_pred16_t pred)
{
    for (int i = 0; i < 16; ++i) {
        if (((uint32_t)pred >> i) & 1u) {
            p[i] = a.v[i];
        }
    }
}

static inline void vstrhq_s16(int16_t *p, int16x8_t a)
{
    for (int i = 0; i < 8; ++i) {
        p[i] = a.v[i];
    }
}

/* The low byte of each int32 lane (VSTRB.32). */
static inline void vstrbq_s32(int8_t *p, int32x4_t a)
{
    for (int i = 0; i < 4; ++i) {
        p[i] = (int8_t)a.v[i];
    }
}

static inline void vstrbq_p_s32(int8_t *p, int32x4_t a, mve_pred16_t pred)
{
    for (int i = 0; i < 4; ++i) {
        if (((uint32_t)pred >> (4 * i)) & 1u) {
            p[i] = (int8_t)a.v[i];
        }
    }
}

/* Lanes from scalars (VDUP, VMOV to a lane). */
static inline int8x16_t vdupq_n_s8(int8_t a)
{
    int8x16_t r;
    for (int i = 0; i < 16; ++i) {
        r.v[i] = a;
    }
    return r;
}

static inline int16x8_t vdupq_n_s16(int16_t a)
{
    int16x8_t r;
    for (int i = 0; i < 8; ++i) {
        r.v[i] = a;
    }
    return r;
}

static inline int32x4_t vdupq_n_s32(int32_t a)
{
    int32x4_t r;
    for (int i = 0; i < 4; ++i) {
        r.v[i] = a;
    }
    return r;
}

static inline int32x4_t vsetq_lane_s32(int32_t a, int32x4_t b, int lane)
{
    b.v[lane] = a;
    return b;
}

/* The same 128 bits as another lane type (VREINTERPRET: no instruction). */
static inline int16x8_t vreinterpretq_s16_s32(int32x4_t a)
{
    int16x8_t r;
    memcpy(&r, &a, sizeof r);
    return r;
}

static inline int8x16_t vreinterpretq_s8_s16(int16x8_t a)
{
    int8x16_t r;
    memcpy(&r, &a, sizeof r);
    return r;
}

static inline int8x16_t vreinterpretq_s8_s32(int32x4_t a)
{
    int8x16_t r;
    memcpy(&r, &a, sizeof r);
    return r;
}

/* Dot product: acc + sum a[i] * b[i], modulo 2^32 (VMLADAVA.S8; VMLADAV.S8 from 0). */
static inline int32_t vmladavaq_s8(int32_t acc, int8x16_t a, int8x16_t b)
{
    uint32_t s = (uint32_t)acc;
    for (int i = 0; i < 16; ++i) {
        s += (uint32_t)((int32_t)a.v[i] * (int32_t)b.v[i]);
    }
    return (int32_t)s;
}

static inline int32_t vmladavq_s8(int8x16_t a, int8x16_t b)
{
    return vmladavaq_s8(0, a, b);
}

/* Widening multiplies of the even (b, bottom) or odd (t, top) int8 lanes to int16 (VMULLB/VMULLT.S8). */
static inline int16x8_t vmullbq_int_s8(int8x16_t a, int8x16_t b)
{
    int16x8_t r;
    for (int i = 0; i < 8; ++i) {
        r.v[i] = (int16_t)(a.v[2 * i] * b.v[2 * i]);
    }
    return r;
}

static inline int16x8_t vmulltq_int_s8(int8x16_t a, int8x16_t b)
{
    int16x8_t r;
    for (int i = 0; i < 8; ++i) {
        r.v[i] = (int16_t)(a.v[2 * i + 1] * b.v[2 * i + 1]);
    }
    return r;
}

/* The even (b) or odd (t) int16 lanes sign-extended to int32 (VMOVLB/VMOVLT.S16). */
static inline int32x4_t vmovlbq_s16(int16x8_t a)
{
    int32x4_t r;
    for (int i = 0; i < 4; ++i) {
        r.v[i] = a.v[2 * i];
    }
    return r;
}

static inline int32x4_t vmovltq_s16(int16x8_t a)
{
    int32x4_t r;
    for (int i = 0; i < 4; ++i) {
        r.v[i] = a.v[2 * i + 1];
    }
    return r;
}

/* Lane-wise adds: modulo 2^n (VADD), saturating (VQADD). */
static inline int16x8_t vaddq_s16(int16x8_t a, int16x8_t b)
{
    int16x8_t r;
    for (int i = 0; i < 8; ++i) {
        r.v[i] = (int16_t)(uint16_t)((uint32_t)(uint16_t)a.v[i] + (uint32_t)(uint16_t)b.v[i]);
    }
    return r;
}

static inline int32x4_t vaddq_s32(int32x4_t a, int32x4_t b)
{
    int32x4_t r;
    for (int i = 0; i < 4; ++i) {
        r.v[i] = (int32_t)((uint32_t)a.v[i] + (uint32_t)b.v[i]);
    }
    return r;
}

static inline int32_t en_mve_sat32(int64_t x)
{
    return (int32_t)(x > INT32_MAX ? INT32_MAX : (x < INT32_MIN ? INT32_MIN : x));
}

static inline int16_t en_mve_sat16(int32_t x)
{
    return (int16_t)(x > INT16_MAX ? INT16_MAX : (x < INT16_MIN ? INT16_MIN : x));
}

static inline int8_t en_mve_sat8(int32_t x)
{
    return (int8_t)(x > INT8_MAX ? INT8_MAX : (x < INT8_MIN ? INT8_MIN : x));
}

static inline int32x4_t vqaddq_s32(int32x4_t a, int32x4_t b)
{
    int32x4_t r;
    for (int i = 0; i < 4; ++i) {
        r.v[i] = en_mve_sat32((int64_t)a.v[i] + b.v[i]);
    }
    return r;
}

static inline int32x4_t vqaddq_n_s32(int32x4_t a, int32_t b)
{
    return vqaddq_s32(a, vdupq_n_s32(b));
}

static inline int16x8_t vqaddq_n_s16(int16x8_t a, int16_t b)
{
    int16x8_t r;
    for (int i = 0; i < 8; ++i) {
        r.v[i] = en_mve_sat16((int32_t)a.v[i] + b);
    }
    return r;
}

static inline int32x4_t vandq_s32(int32x4_t a, int32x4_t b)
{
    int32x4_t r;
    for (int i = 0; i < 4; ++i) {
        r.v[i] = (int32_t)((uint32_t)a.v[i] & (uint32_t)b.v[i]);
    }
    return r;
}

/* VQRDMULH.S32: saturate((2 * a * b + 2^31) >> 32); only a = b = INT32_MIN saturates. */
static inline int32x4_t vqrdmulhq_s32(int32x4_t a, int32x4_t b)
{
    int32x4_t r;
    for (int i = 0; i < 4; ++i) {
        if (a.v[i] == INT32_MIN && b.v[i] == INT32_MIN) {
            r.v[i] = INT32_MAX;
        } else {
            const int64_t p = (int64_t)a.v[i] * b.v[i]; /* |p| < 2^62: 2p + 2^31 fits int64 */
            r.v[i] = (int32_t)((2 * p + (INT64_C(1) << 31)) >> 32);
        }
    }
    return r;
}

/* Arithmetic shift right by an immediate 1..32 (VSHR.S32). */
static inline int32x4_t vshrq_n_s32(int32x4_t a, int n)
{
    int32x4_t r;
    for (int i = 0; i < 4; ++i) {
        r.v[i] = (int32_t)((int64_t)a.v[i] >> n);
    }
    return r;
}

/* Shifts by the signed low byte of each lane of b: left (bits shifted out are lost) for b > 0,
 * right for b < 0, arithmetic; VRSHL rounds the right shift (adds 2^(-b-1) first, in full
 * precision), VSHL truncates. */
static inline int64_t en_mve_shift(int32_t x, int32_t b, int rounding)
{
    const int s = (int8_t)(uint8_t)((uint32_t)b & 0xFFu);
    if (s >= 0) {
        return s >= 32 ? 0 : (int64_t)(int32_t)((uint32_t)x << s);
    }
    const int n = -s > 40 ? 40 : -s; /* past 32 the result is 0 or -1 either way */
    return ((int64_t)x + (rounding ? (INT64_C(1) << (n - 1)) : 0)) >> n;
}

static inline int32x4_t vrshlq_s32(int32x4_t a, int32x4_t b)
{
    int32x4_t r;
    for (int i = 0; i < 4; ++i) {
        r.v[i] = (int32_t)en_mve_shift(a.v[i], b.v[i], 1);
    }
    return r;
}

static inline int32x4_t vshlq_s32(int32x4_t a, int32x4_t b)
{
    int32x4_t r;
    for (int i = 0; i < 4; ++i) {
        r.v[i] = (int32_t)en_mve_shift(a.v[i], b.v[i], 0);
    }
    return r;
}

/* Saturating narrows into the even (b) or odd (t) lanes of a, whose other lanes are kept
 * (VQMOVNB/VQMOVNT.S32, .S16). */
static inline int16x8_t vqmovnbq_s32(int16x8_t a, int32x4_t b)
{
    for (int i = 0; i < 4; ++i) {
        a.v[2 * i] = en_mve_sat16(b.v[i]);
    }
    return a;
}

static inline int16x8_t vqmovntq_s32(int16x8_t a, int32x4_t b)
{
    for (int i = 0; i < 4; ++i) {
        a.v[2 * i + 1] = en_mve_sat16(b.v[i]);
    }
    return a;
}

static inline int8x16_t vqmovnbq_s16(int8x16_t a, int16x8_t b)
{
    for (int i = 0; i < 8; ++i) {
        a.v[2 * i] = en_mve_sat8(b.v[i]);
    }
    return a;
}

static inline int8x16_t vqmovntq_s16(int8x16_t a, int16x8_t b)
{
    for (int i = 0; i < 8; ++i) {
        a.v[2 * i + 1] = en_mve_sat8(b.v[i]);
    }
    return a;
}

/* Lanes of a where the predicate is set, of b elsewhere (VPSEL). */
static inline int8x16_t vpselq_s8(int8x16_t a, int8x16_t b, mve_pred16_t pred)
{
    for (int i = 0; i < 16; ++i) {
        a.v[i] = ((uint32_t)pred >> i) & 1u ? a.v[i] : b.v[i];
    }
    return a;
}

/* Lane-wise maximum and minimum (VMAX, VMIN). */
static inline int8x16_t vmaxq_s8(int8x16_t a, int8x16_t b)
{
    for (int i = 0; i < 16; ++i) {
        a.v[i] = a.v[i] >= b.v[i] ? a.v[i] : b.v[i];
    }
    return a;
}

static inline int8x16_t vminq_s8(int8x16_t a, int8x16_t b)
{
    for (int i = 0; i < 16; ++i) {
        a.v[i] = a.v[i] <= b.v[i] ? a.v[i] : b.v[i];
    }
    return a;
}

static inline int32x4_t vmaxq_s32(int32x4_t a, int32x4_t b)
{
    for (int i = 0; i < 4; ++i) {
        a.v[i] = a.v[i] >= b.v[i] ? a.v[i] : b.v[i];
    }
    return a;
}

static inline int32x4_t vminq_s32(int32x4_t a, int32x4_t b)
{
    for (int i = 0; i < 4; ++i) {
        a.v[i] = a.v[i] <= b.v[i] ? a.v[i] : b.v[i];
    }
    return a;
}

#endif

/* TFLite's MultiplyByQuantizedMultiplier (en_requant of en_fixedpoint.h) on four int32 lanes, each
 * with its own multiplier m, left shift l (0 or more) and negated right shift nr (0 or less):
 * VQRDMULH is gemmlowp's SaturatingRoundingDoublingHighMul exactly (both round
 * floor((a b + 2^30) / 2^31) and saturate only INT32_MIN * INT32_MIN), and RoundingDivideByPOT
 * (half away from zero) is VRSHL (half up) after subtracting 1 from the negative lanes that shift
 * right: (x AND nr) has the sign bit only where x < 0 and nr < 0, so VSHR #31 gives -1 there and 0
 * elsewhere, and VQADD keeps INT32_MIN in place (INT32_MIN >> e rounds to the same value). The left
 * shift wraps as the C (the compiler checks it cannot overflow). */
static inline int32x4_t en_mve_requant(int32x4_t x, int32x4_t m, int32x4_t l, int32x4_t nr)
{
    const int32x4_t y = vqrdmulhq_s32(vshlq_s32(x, l), m);
    return vrshlq_s32(vqaddq_s32(y, vshrq_n_s32(vandq_s32(y, nr), 31)), nr);
}

/* The same when no lane shifts left and every lane shifts right by 1 or more (nr <= -1), the usual
 * case: then the correction is the sign of y alone. */
static inline int32x4_t en_mve_requant_right(int32x4_t x, int32x4_t m, int32x4_t nr)
{
    const int32x4_t y = vqrdmulhq_s32(x, m);
    return vrshlq_s32(vqaddq_s32(y, vshrq_n_s32(y, 31)), nr);
}

#endif
