/* Spec: edgeneuro/data/encode.py (delta_step, rate_step). */
#include "encode.h"

void en_encode_delta_s16(const en_encode_delta_s16_params *p, const int16_t *samples, int8_t *spikes, int8_t *state)
{
    int32_t *ref = (int32_t *)state;
    int32_t *started = ref + p->channels;
    const int32_t t = p->threshold;
    if (*started == 0) { /* the first step after a reset: the reference starts at the first sample */
        for (int32_t c = 0; c < p->channels; ++c) {
            ref[c] = samples[c];
        }
        *started = 1;
    }
    for (int32_t c = 0; c < p->channels; ++c) {
        const int32_t d = (int32_t)samples[c] - ref[c]; /* |d| <= 65535: r stays in the int16 range */
        const int up = d > t;
        const int down = d < -t;
        ref[c] += up ? t : (down ? -t : 0);
        spikes[c] = (int8_t)(up ? p->spike : 0);
        spikes[p->channels + c] = (int8_t)(down ? p->spike : 0);
    }
}

void en_encode_rate_s16(const en_encode_rate_s16_params *p, const int16_t *samples, int8_t *spikes, int8_t *state)
{
    int32_t *acc = (int32_t *)state;
    for (int32_t c = 0; c < p->channels; ++c) {
        const int32_t x = samples[c];
        const int32_t mag = x < 0 ? -x : x; /* 32768 for -32768: int32 holds it */
        const int32_t a = acc[c] + (mag < p->full ? mag : p->full);
        const int fire = a >= p->full;
        acc[c] = fire ? a - p->full : a;
        spikes[c] = (int8_t)(fire ? p->spike : 0);
    }
}
