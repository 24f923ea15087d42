/* ENCODE: raw EEG samples (int16, one time step) -> spikes (int8), with int32 state kept between
 * calls (zeroed by en_model_reset()). Spec: edgeneuro/data/encode.py and edgeneuro/ops/encode.py.
 * delta state: r[channels] then the started flag; rate state: a[channels]. */
#ifndef EN_ENCODE_H
#define EN_ENCODE_H

#include <stdint.h>

typedef struct {
    int32_t channels;
    int32_t threshold; /* int16 counts, 1 to 65535 */
    int32_t spike;     /* the int8 value of a spike at the output's scale */
} en_encode_delta_s16_params;

typedef struct {
    int32_t channels;
    int32_t full; /* int16 counts, 1 to 32768 */
    int32_t spike;
} en_encode_rate_s16_params;

/* spikes[c] UP, spikes[channels + c] DOWN; at most one of them per step. */
void en_encode_delta_s16(const en_encode_delta_s16_params *p, const int16_t *samples, int8_t *spikes, int8_t *state);
void en_encode_rate_s16(const en_encode_rate_s16_params *p, const int16_t *samples, int8_t *spikes, int8_t *state);

#endif
