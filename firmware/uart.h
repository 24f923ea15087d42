/* Polled console UART of the board (driver and address from the generated board.h). */
#ifndef EN_UART_H
#define EN_UART_H

void en_uart_init(void);
void en_uart_puts(const char *s);
void en_uart_putu(unsigned long v);
void en_uart_write(const void *buf, unsigned n);

/* Receiving (the stream harness): after en_uart_init(), turn the receiver on; then poll. */
void en_uart_rx_enable(void);
/* The next received byte (0..255), or -1 if none has arrived yet. Never blocks. */
int en_uart_getc(void);

#endif
