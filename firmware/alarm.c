/* The detector's alarm pin: see alarm.h. */
#include "alarm.h"

#include <stdint.h>

#include "board.h"

void en_alarm_init(void)
{
#if defined(EN_ALARM_ON_ADDRESS) && EN_ALARM_SETUP_COUNT > 0
    static const uint32_t setup[EN_ALARM_SETUP_COUNT][3] = EN_ALARM_SETUP;
    for (int i = 0; i < EN_ALARM_SETUP_COUNT; ++i) {
        volatile uint32_t *reg = (volatile uint32_t *)setup[i][0];
        *reg = (*reg & ~setup[i][1]) | setup[i][2];
    }
#endif
    en_alarm_set(0);
}

void en_alarm_set(int on)
{
#if defined(EN_ALARM_ON_ADDRESS)
    if (on) {
        *(volatile uint32_t *)EN_ALARM_ON_ADDRESS = EN_ALARM_ON_VALUE;
    } else {
        *(volatile uint32_t *)EN_ALARM_OFF_ADDRESS = EN_ALARM_OFF_VALUE;
    }
#else
    (void)on;
#endif
}
