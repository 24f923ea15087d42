/* PACK kernel: n inputs of `outer` rows of `chunk` bytes interleaved row by row into the output.
 * Variadic: after the parameters come the n input pointers, then the output pointer, all of the
 * kernel's element type. Spec: the numpy reference in edgeneuro/ops/pack.py. */
#ifndef EN_PACK_H
#define EN_PACK_H

#include <stdint.h>

typedef struct {
    int32_t n, outer, chunk;
} en_pack_params;

typedef en_pack_params en_pack_s8_params;
typedef en_pack_params en_pack_s16_params;
typedef en_pack_params en_pack_s32_params;
typedef en_pack_params en_pack_f32_params;

void en_pack_s8(const en_pack_params *p, ...);
void en_pack_s16(const en_pack_params *p, ...);
void en_pack_s32(const en_pack_params *p, ...);
void en_pack_f32(const en_pack_params *p, ...);

#endif
