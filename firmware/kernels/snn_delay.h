/* The Delay of a spiking network: each value comes out steps[i] time steps after it went in.
 * Spec: edgeneuro/ops/snn_delay.py. state: int32 head, then depth rows of size values (a ring of
 * the last depth inputs), zeroed by en_model_reset(). */
#ifndef EN_SNN_DELAY_H
#define EN_SNN_DELAY_H

#include <stdint.h>

typedef struct {
    int32_t size, depth;
} en_snn_delay_s8_params;
typedef en_snn_delay_s8_params en_snn_delay_s32_params;

void en_snn_delay_s8(const en_snn_delay_s8_params *p, const int8_t *input, const int32_t *steps, int8_t *output,
                     int8_t *state);
void en_snn_delay_s32(const en_snn_delay_s8_params *p, const int32_t *input, const int32_t *steps, int32_t *output,
                      int8_t *state);

#endif
