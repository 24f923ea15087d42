/* What the run harnesses (main.c: `edgeneuro run`; detector_main.c: `edgeneuro detect`) reach the
 * outside world through: input.bin and output.bin, the clock, the stack's high-water mark and a
 * console line. On the board, semihosting files, SysTick (instructions under QEMU -icount), the
 * painted stack and the UART; built with -DEN_HOST, stdio files, ticks and stack 0 and stderr. */
#ifndef EN_HARNESS_IO_H
#define EN_HARNESS_IO_H

#include <stdint.h>

#ifdef EN_HOST
#include <stdio.h>
typedef FILE *file_t;
static inline file_t open_in(void) { return fopen("input.bin", "rb"); }
static inline file_t open_out(void) { return fopen("output.bin", "wb"); }
static inline int read_all(file_t f, void *buf, uint32_t n) { return fread(buf, 1, n, f) == n; }
static inline int write_all(file_t f, const void *buf, uint32_t n) { return fwrite(buf, 1, n, f) == n; }
static inline void close_(file_t f) { fclose(f); }
static inline uint64_t ticks(void) { return 0; }
static inline uint32_t stack_used(void) { return 0; }
static inline uint32_t stack_size(void) { return 0; }
static inline void say(const char *s) { fputs(s, stderr); }
static inline void say_u(unsigned long v) { fprintf(stderr, "%lu", v); }
#define VALID(f) ((f) != NULL)
#else
#include "semihost.h"
#include "stack.h"
#include "timer.h"
#include "uart.h"
typedef int32_t file_t;
static inline file_t open_in(void) { return en_semihost_open("input.bin", EN_SH_READ_BINARY); }
static inline file_t open_out(void) { return en_semihost_open("output.bin", EN_SH_WRITE_BINARY); }
static inline int read_all(file_t f, void *buf, uint32_t n) { return en_semihost_read(f, buf, n) == 0; }
static inline int write_all(file_t f, const void *buf, uint32_t n) { return en_semihost_write(f, buf, n) == 0; }
static inline void close_(file_t f) { en_semihost_close(f); }
static inline uint64_t ticks(void) { return en_timer_ticks(); }
static inline uint32_t stack_used(void) { return en_stack_used(); }
static inline uint32_t stack_size(void) { return en_stack_size(); }
static inline void say(const char *s) { en_uart_puts(s); }
static inline void say_u(unsigned long v) { en_uart_putu(v); }
#define VALID(f) ((f) >= 0)
#endif

#endif
