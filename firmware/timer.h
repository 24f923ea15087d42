/* Inference timing with SysTick. Under QEMU -icount shift=0 one instruction is 1 ns of virtual
 * time, so ticks * (1e9 / EN_SYSTICK_HZ) is an instruction count. */
#ifndef EN_TIMER_H
#define EN_TIMER_H

#include <stdint.h>

void en_timer_init(void);
uint64_t en_timer_ticks(void);
void en_systick_handler(void);

#endif
