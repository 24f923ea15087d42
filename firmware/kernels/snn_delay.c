/* Spec: edgeneuro/ops/snn_delay.py. */
#include "snn_delay.h"

#include <string.h>

/* Values of width bytes; output does not overlap input or state. */
static void en_snn_delay(const en_snn_delay_s8_params *p, const int8_t *input, const int32_t *steps, int8_t *output,
                         int8_t *state, int32_t width)
{
    int32_t head;
    memcpy(&head, state, sizeof head);
    int8_t *rows = state + sizeof head;
    const int32_t row = p->size * width;
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t k = steps[i];
        const int32_t at = head - k < 0 ? head - k + p->depth : head - k; /* k <= depth */
        const int8_t *from = k == 0 ? &input[i * width] : &rows[at * row + i * width];
        memcpy(&output[i * width], from, (size_t)width);
    }
    memcpy(&rows[head * row], input, (size_t)row);
    head = head + 1 == p->depth ? 0 : head + 1;
    memcpy(state, &head, sizeof head);
}

void en_snn_delay_s8(const en_snn_delay_s8_params *p, const int8_t *input, const int32_t *steps, int8_t *output,
                     int8_t *state)
{
    en_snn_delay(p, input, steps, output, state, 1);
}

void en_snn_delay_s32(const en_snn_delay_s8_params *p, const int32_t *input, const int32_t *steps, int32_t *output,
                      int8_t *state)
{
    en_snn_delay(p, (const int8_t *)input, steps, (int8_t *)output, state, 4);
}
