/* Cortex-M startup: vector table, stack painting, .data/.bss initialisation, FPU enable, then main(). */
#include <stdint.h>

#include "semihost.h"
#include "stack.h"
#include "timer.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
int main(void);

void Reset_Handler(void);
void Default_Handler(void);

void Default_Handler(void)
{
    /* An unexpected exception (HardFault, ...) ends the run with a distinctive exit code. */
    en_semihost_exit(3);
}

void Reset_Handler(void)
{
    en_stack_paint();
    uint32_t *src = &_sidata;
    for (uint32_t *dst = &_sdata; dst < &_edata;) {
        *dst++ = *src++;
    }
    for (uint32_t *dst = &_sbss; dst < &_ebss;) {
        *dst++ = 0;
    }
#if defined(__ARM_FP)
    /* CPACR: full access to CP10 and CP11 (the FPU). */
    *(volatile uint32_t *)0xE000ED88u |= (0xFu << 20);
    __asm volatile("dsb\n isb");
#endif
    en_semihost_exit(main());
}

#define NUM_IRQS 32
__attribute__((section(".isr_vector"), used)) static void (*const vectors[16 + NUM_IRQS])(void) = {
    [0] = (void (*)(void))(uintptr_t)&_estack, /* through an integer: ISO C has no object-to-function pointer cast */
    [1] = Reset_Handler,
    [2] = Default_Handler,  /* NMI */
    [3] = Default_Handler,  /* HardFault */
    [4] = Default_Handler,  /* MemManage */
    [5] = Default_Handler,  /* BusFault */
    [6] = Default_Handler,  /* UsageFault */
    [11] = Default_Handler, /* SVCall */
    [14] = Default_Handler, /* PendSV */
    [15] = en_systick_handler,
};
