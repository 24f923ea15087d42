/* Polled console output on the board's UART (driver and address from the generated board.h). */
#ifndef EN_UART_H
#define EN_UART_H

void en_uart_init(void);
void en_uart_puts(const char *s);
void en_uart_putu(unsigned long v);

#endif
