/* Polled console UART. The board's generated board.h picks the driver (EN_UART_KIND_...) and
 * gives its base address, baud rate and clock, so one harness serves every board:
 *   cmsdk          Arm CMSDK APB UART (MPS2/MPS3 FPGA images)
 *   stm32-usart    STM32F1/F2/F4 USART (SR/DR/BRR/CR1)
 *   stm32h7-usart  STM32F7/H7/L4 USART (CR1/BRR/ISR/TDR)
 *   nrf-uarte      nRF52 UARTE (EasyDMA, one byte at a time)
 * en_uart_init() turns the transmitter on: the run harness (main.c) prints diagnostics and moves
 * its data through semihosting. en_uart_rx_enable() adds the receiver, polled with en_uart_getc():
 * the stream harness (stream.c) exchanges its frames over this UART. */
#include "uart.h"

#include <stdint.h>

#include "board.h"

#define REG(off) (*(volatile uint32_t *)(EN_UART_BASE + (off)))
#define BAUD_DIV ((EN_UART_CLOCK_HZ + EN_UART_BAUD / 2u) / EN_UART_BAUD)

static void board_setup(void)
{
#if EN_UART_SETUP_COUNT > 0
    static const uint32_t setup[EN_UART_SETUP_COUNT][3] = EN_UART_SETUP;
    for (int i = 0; i < EN_UART_SETUP_COUNT; ++i) {
        volatile uint32_t *reg = (volatile uint32_t *)setup[i][0];
        *reg = (*reg & ~setup[i][1]) | setup[i][2];
    }
#endif
}

#if defined(EN_UART_KIND_CMSDK)
/* DATA 0x00, STATE 0x04 (bit 0: TX buffer full, bit 1: RX buffer full, bit 3: RX overrun, write 1 to
 * clear), CTRL 0x08 (bit 0: TX enable, bit 1: RX enable), BAUDDIV 0x10 (>= 16); Arm DDI0479C. */
void en_uart_init(void)
{
    board_setup();
    REG(0x10u) = BAUD_DIV < 16u ? 16u : BAUD_DIV;
    REG(0x08u) = 0x1u;
}

static void putc_(char c)
{
    while (REG(0x04u) & 0x1u) {
    }
    REG(0x00u) = (uint32_t)(unsigned char)c;
}

void en_uart_rx_enable(void)
{
    REG(0x08u) |= 0x2u;
}

int en_uart_getc(void)
{
    const uint32_t state = REG(0x04u);
    if (state & 0x8u) {
        REG(0x04u) = 0x8u; /* a byte was lost; the frame's CRC will tell */
    }
    if (state & 0x2u) {
        return (int)(REG(0x00u) & 0xFFu);
    }
    return -1;
}

#elif defined(EN_UART_KIND_STM32_USART)
/* SR 0x00 (bit 7 TXE, bit 5 RXNE, bit 3 ORE), DR 0x04, BRR 0x08 (fclk / baud with 16x oversampling),
 * CR1 0x0C (bit 13 UE, bit 3 TE, bit 2 RE) (RM0090). Reading SR then DR clears RXNE and ORE. */
void en_uart_init(void)
{
    board_setup();
    REG(0x08u) = BAUD_DIV;
    REG(0x0Cu) = (1u << 13) | (1u << 3);
}

static void putc_(char c)
{
    while (!(REG(0x00u) & (1u << 7))) {
    }
    REG(0x04u) = (uint32_t)(unsigned char)c;
}

void en_uart_rx_enable(void)
{
    REG(0x0Cu) |= 1u << 2;
}

int en_uart_getc(void)
{
    if (REG(0x00u) & (1u << 5)) {
        return (int)(REG(0x04u) & 0xFFu);
    }
    return -1;
}

#elif defined(EN_UART_KIND_STM32H7_USART)
/* CR1 0x00 (bit 0 UE, bit 2 RE, bit 3 TE), BRR 0x0C (usart_ker_ck / baud), ISR 0x1C (bit 7 TXE/TXFNF,
 * bit 5 RXNE/RXFNE, bit 3 ORE), ICR 0x20 (bit 3 ORECF), RDR 0x24, TDR 0x28 (RM0433). */
void en_uart_init(void)
{
    board_setup();
    REG(0x00u) = 0;
    REG(0x0Cu) = BAUD_DIV;
    REG(0x00u) = (1u << 3) | (1u << 0);
}

static void putc_(char c)
{
    while (!(REG(0x1Cu) & (1u << 7))) {
    }
    REG(0x28u) = (uint32_t)(unsigned char)c;
}

void en_uart_rx_enable(void)
{
    REG(0x00u) |= 1u << 2;
}

int en_uart_getc(void)
{
    const uint32_t isr = REG(0x1Cu);
    if (isr & (1u << 3)) {
        REG(0x20u) = 1u << 3; /* overrun: clear it so that reception goes on; the frame's CRC will tell */
    }
    if (isr & (1u << 5)) {
        return (int)(REG(0x24u) & 0xFFu);
    }
    return -1;
}

#elif defined(EN_UART_KIND_NRF_UARTE)
/* TASKS_STARTRX 0x000, TASKS_STARTTX 0x008, TASKS_STOPTX 0x00C, EVENTS_ENDRX 0x110, EVENTS_ENDTX 0x120,
 * EVENTS_ERROR 0x124, ERRORSRC 0x480 (write 1 to clear), ENABLE 0x500 (8 = UARTE), PSEL.TXD 0x50C,
 * PSEL.RXD 0x514, BAUDRATE 0x524, RXD.PTR 0x534, RXD.MAXCNT 0x538, TXD.PTR 0x544, TXD.MAXCNT 0x548,
 * CONFIG 0x56C (nRF52840 Product Specification, UARTE). EasyDMA moves bytes to and from RAM only,
 * hence the byte buffers. Reception is EasyDMA of one byte at a time: ENDRX says it landed, and
 * STARTRX is triggered again for the next (a byte arriving meanwhile waits in the UARTE's RX FIFO,
 * as the datasheet describes). Run on Renode 1.15.3's model of the chip; no real board tried. */
#if EN_UART_BAUD == 115200u
#define UARTE_BAUD 0x01D7E000u
#elif EN_UART_BAUD == 9600u
#define UARTE_BAUD 0x00275000u
#elif EN_UART_BAUD == 1000000u
#define UARTE_BAUD 0x10000000u
#else
#error "nrf-uarte: board.h baud must be 9600, 115200 or 1000000"
#endif
static volatile uint8_t tx_byte;
static volatile uint8_t rx_byte;

void en_uart_init(void)
{
    board_setup();
    REG(0x500u) = 0;
    REG(0x50Cu) = EN_UART_TX_PIN;
    REG(0x514u) = 0x80000000u; /* RXD disconnected */
    REG(0x524u) = UARTE_BAUD;
    REG(0x56Cu) = 0;
    REG(0x500u) = 8u;
}

static void putc_(char c)
{
    tx_byte = (uint8_t)c;
    REG(0x544u) = (uint32_t)(uintptr_t)&tx_byte;
    REG(0x548u) = 1u;
    REG(0x120u) = 0;
    REG(0x008u) = 1u;
    while (REG(0x120u) == 0) {
    }
    REG(0x120u) = 0;
    REG(0x00Cu) = 1u;
}

void en_uart_rx_enable(void)
{
#ifdef EN_UART_RX_PIN /* the board YAML's uart.rx_pin; without one nothing is received (edgeneuro stream refuses) */
    REG(0x500u) = 0;  /* PSEL may change only while the UARTE is disabled */
    REG(0x514u) = EN_UART_RX_PIN;
    REG(0x500u) = 8u;
    REG(0x534u) = (uint32_t)(uintptr_t)&rx_byte;
    REG(0x538u) = 1u;
    REG(0x110u) = 0;
    REG(0x000u) = 1u;
#endif
}

int en_uart_getc(void)
{
    if (REG(0x124u)) {
        REG(0x480u) = REG(0x480u); /* framing, parity, overrun or break: clear; the frame's CRC will tell */
        REG(0x124u) = 0;
    }
    if (REG(0x110u) == 0) {
        return -1;
    }
    const int c = rx_byte;
    /* The next byte: STARTRX before ENDRX is cleared, then once more. Renode's model of this UARTE
     * (NRF52840_UART, EasyDMA) delivers a byte whenever ENDRX is clear, at the address after the last
     * one and without ENDRX once MAXCNT is passed, until STARTRX resets the pointer: with ENDRX cleared
     * first, a byte landing between the two writes went past rx_byte, over the variables after it, and
     * the stream stopped answering (seen once under load with VWW's 27,648-byte frames). While ENDRX
     * is set the model holds bytes back, so the first STARTRX points the DMA at rx_byte again safely;
     * the second lets a byte held back meanwhile through (the model passes held bytes on only at
     * STARTRX or when another arrives). On the chip a STARTRX while a reception runs prepares the
     * next one (RXD.PTR and MAXCNT are double-buffered, and stay the same here): each byte still
     * lands in rx_byte and raises ENDRX. */
    REG(0x000u) = 1u;
    REG(0x110u) = 0;
    REG(0x000u) = 1u;
    return c;
}

#else
#error "board.h names no console UART driver (EN_UART_KIND_...); see boards/*.yaml 'uart: {kind, base}'"
#endif

void en_uart_write(const void *buf, unsigned n)
{
    const unsigned char *p = (const unsigned char *)buf;
    while (n--) {
        putc_((char)*p++);
    }
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
