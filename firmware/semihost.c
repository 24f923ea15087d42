#include "semihost.h"

#include <string.h>

static int32_t call(int32_t op, const void *arg)
{
    register int32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

int32_t en_semihost_open(const char *path, int32_t mode)
{
    const uint32_t args[3] = {(uint32_t)path, (uint32_t)mode, (uint32_t)strlen(path)};
    return call(0x01, args);
}

int32_t en_semihost_close(int32_t fd)
{
    const uint32_t args[1] = {(uint32_t)fd};
    return call(0x02, args);
}

int32_t en_semihost_read(int32_t fd, void *buf, size_t len)
{
    const uint32_t args[3] = {(uint32_t)fd, (uint32_t)buf, (uint32_t)len};
    return call(0x06, args);
}

int32_t en_semihost_write(int32_t fd, const void *buf, size_t len)
{
    const uint32_t args[3] = {(uint32_t)fd, (uint32_t)buf, (uint32_t)len};
    return call(0x05, args);
}

void en_semihost_exit(int code)
{
    /* SYS_EXIT_EXTENDED: reason ADP_Stopped_ApplicationExit plus the exit code. */
    const uint32_t args[2] = {0x20026u, (uint32_t)code};
    call(0x20, args);
    for (;;) {
    }
}
