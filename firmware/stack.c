/* Stack painting and the high-water mark. Spec: firmware/stack.h. */
#include "stack.h"

extern uint32_t _sstack, _estack;

#define PAINT 0xA5A5A5A5u

void en_stack_paint(void)
{
    uint32_t sp;
    __asm volatile("mov %0, sp" : "=r"(sp));
    /* Everything below the stack pointer is free; paint it (this function calls nothing). */
    for (volatile uint32_t *p = &_sstack; (uint32_t)p < sp; ++p) {
        *p = PAINT;
    }
}

uint32_t en_stack_used(void)
{
    const uint32_t *p = &_sstack;
    while (p < &_estack && *p == PAINT) {
        ++p;
    }
    return (uint32_t)((uintptr_t)&_estack - (uintptr_t)p);
}

uint32_t en_stack_size(void)
{
    return (uint32_t)((uintptr_t)&_estack - (uintptr_t)&_sstack);
}
