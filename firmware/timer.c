#include "timer.h"

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define RELOAD 0x00FFFFFFu

static volatile uint32_t wraps;

void en_systick_handler(void)
{
    ++wraps;
}

void en_timer_init(void)
{
    SYST_RVR = RELOAD;
    SYST_CVR = 0;
    SYST_CSR = 0x7u; /* processor clock, interrupt on wrap, enable */
}

uint64_t en_timer_ticks(void)
{
    uint32_t w, v;
    do {
        w = wraps;
        v = SYST_CVR;
    } while (w != wraps);
    return (uint64_t)w * (RELOAD + 1u) + (RELOAD - v);
}
