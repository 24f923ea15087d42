/* The board's console UART and SysTick for a host build of the stream harness (stream.c built with
 * gcc instead of for a board: `build.build_host_stream`), so that the protocol code runs under
 * AddressSanitizer and UndefinedBehaviorSanitizer with the same bytes the boards get.
 * The UART is a pseudo-terminal, as QEMU's `-serial pty` gives: en_uart_init() opens one, puts its
 * terminal end in raw mode and prints "edgeneuro host board: serial on /dev/pts/N" on stdout, where
 * the host's tools (and `edgeneuro stream --port`) open it. The timer counts the monotonic clock in
 * EN_SYSTICK_HZ ticks: the stream harness only times frames that stop mid-way with it. The host
 * paints no stack: its high-water mark reads 0 (the detector harness reports it). */
#define _DEFAULT_SOURCE   /* cfmakeraw */
#define _XOPEN_SOURCE 600 /* posix_openpt, grantpt, unlockpt, ptsname; clock_gettime */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "alarm.h"
#include "board.h"
#include "stack.h"
#include "timer.h"
#include "uart.h"

static int master = -1;
static unsigned char rx[4096]; /* bytes read from the pty and not yet returned by en_uart_getc */
static size_t rx_at, rx_end;

static void fail(const char *what)
{
    perror(what);
    exit(2);
}

void en_uart_init(void)
{
    master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) {
        fail("edgeneuro host board: opening a pseudo-terminal");
    }
    const char *name = ptsname(master);
    /* the terminal end stays open here too (QEMU does the same): the pty keeps its settings and
     * does not hang up between the host tools' sessions */
    const int slave = name ? open(name, O_RDWR | O_NOCTTY) : -1;
    struct termios t;
    if (slave < 0 || tcgetattr(slave, &t) != 0) {
        fail("edgeneuro host board: opening the pseudo-terminal's terminal end");
    }
    cfmakeraw(&t);
    if (tcsetattr(slave, TCSANOW, &t) != 0 || fcntl(master, F_SETFL, O_NONBLOCK) != 0) {
        fail("edgeneuro host board: setting the pseudo-terminal up");
    }
    printf("edgeneuro host board: serial on %s\n", name);
    fflush(stdout);
}

void en_uart_rx_enable(void) {}

int en_uart_getc(void)
{
    if (rx_at == rx_end) {
        const ssize_t n = read(master, rx, sizeof rx);
        if (n <= 0) {
            if (n < 0 && errno != EAGAIN && errno != EIO) {
                fail("edgeneuro host board: reading the pseudo-terminal");
            }
            /* nothing yet: wait up to 1 ms for a byte instead of spinning a core (the harness
             * polls again at once, as it does a board's UART) */
            struct pollfd p = {master, POLLIN, 0};
            poll(&p, 1, 1);
            return -1;
        }
        rx_at = 0;
        rx_end = (size_t)n;
    }
    return rx[rx_at++];
}

void en_uart_write(const void *buf, unsigned n)
{
    const unsigned char *p = buf;
    while (n) {
        const ssize_t w = write(master, p, n);
        if (w < 0) {
            if (errno != EAGAIN) {
                fail("edgeneuro host board: writing the pseudo-terminal");
            }
            struct pollfd q = {master, POLLOUT, 0};
            poll(&q, 1, 10);
            continue;
        }
        p += w;
        n -= (unsigned)w;
    }
}

void en_uart_puts(const char *s)
{
    fputs(s, stderr);
}

void en_uart_putu(unsigned long v)
{
    fprintf(stderr, "%lu", v);
}

void en_timer_init(void) {}

/* alarm.h: the host has no alarm pin */
void en_alarm_init(void) {}

void en_alarm_set(int on)
{
    (void)on;
}

void en_systick_handler(void) {}

uint64_t en_timer_ticks(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * EN_SYSTICK_HZ + (uint64_t)t.tv_nsec * EN_SYSTICK_HZ / 1000000000u;
}

uint32_t en_stack_used(void)
{
    return 0;
}

uint32_t en_stack_size(void)
{
    return 0;
}
