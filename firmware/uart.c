#include "uart.h"

#include <stdint.h>

#ifndef EN_UART_BASE
#error "EN_UART_BASE (the board's UART0 address) must be defined by the build"
#endif

#define UART_DATA (*(volatile uint32_t *)(EN_UART_BASE + 0x0u))
#define UART_STATE (*(volatile uint32_t *)(EN_UART_BASE + 0x4u))
#define UART_CTRL (*(volatile uint32_t *)(EN_UART_BASE + 0x8u))
#define UART_BAUDDIV (*(volatile uint32_t *)(EN_UART_BASE + 0x10u))

void en_uart_init(void)
{
    UART_BAUDDIV = 16;
    UART_CTRL = 0x1u; /* TX enable */
}

static void putc_(char c)
{
    while (UART_STATE & 0x1u) { /* TX buffer full */
    }
    UART_DATA = (uint32_t)(unsigned char)c;
}

void en_uart_puts(const char *s)
{
    while (*s) {
        putc_(*s++);
    }
}

void en_uart_putu(unsigned long v)
{
    char buf[24];
    int n = 0;
    do {
        buf[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    while (n) {
        putc_(buf[--n]);
    }
}
