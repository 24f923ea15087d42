/* Polled output on an Arm CMSDK APB UART (the UART of the MPS2/MPS3 boards). */
#ifndef EN_UART_H
#define EN_UART_H

void en_uart_init(void);
void en_uart_puts(const char *s);
void en_uart_putu(unsigned long v);

#endif
