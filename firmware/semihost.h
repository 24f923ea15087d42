/* Arm semihosting: file I/O and exit codes through the debugger (QEMU -semihosting). */
#ifndef EN_SEMIHOST_H
#define EN_SEMIHOST_H

#include <stddef.h>
#include <stdint.h>

enum { EN_SH_READ_BINARY = 1, EN_SH_WRITE_BINARY = 5 };

int32_t en_semihost_open(const char *path, int32_t mode);
int32_t en_semihost_close(int32_t fd);
/* Returns the number of bytes NOT transferred (0 = all). */
int32_t en_semihost_read(int32_t fd, void *buf, size_t len);
int32_t en_semihost_write(int32_t fd, const void *buf, size_t len);
void en_semihost_exit(int code) __attribute__((noreturn));

#endif
