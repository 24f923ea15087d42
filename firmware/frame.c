/* The stream protocol's framing on the board: see frame.h and edgeneuro/stream/protocol.py. */
#include "frame.h"

#include <string.h>

#include "board.h"
#include "model.h"
#include "timer.h"
#include "uart.h"

#define SYNC0 0xA5u
#define SYNC1 0x5Au
/* A frame that stops mid-way is abandoned after 1 s of the board's clock without a byte (at
 * 115200 baud bytes are 87 us apart; under QEMU the poll loop runs through virtual time faster than
 * bytes arrive over the pty, so the margin is wide). */
#define BYTE_TIMEOUT_TICKS ((uint64_t)EN_SYSTICK_HZ)

/* Every byte of the frame being received after its SYNC; `got` of them are filled. After a
 * refused frame it holds the bytes to hunt through again, en_frame[replay_at..replay_end), which
 * get() returns before the UART's; a frame found among them is written over the ones already
 * hunted (at a lower index than it is read from), so one buffer serves both. */
uint8_t en_frame[EN_FRAME_HEAD + EN_STREAM_IN_BYTES + 4u];

const uint32_t en_stream_protocol_version = EN_FRAME_VERSION;
static uint32_t got, replay_at, replay_end;

/* CRC-32 (IEEE 802.3, zlib's), four bits at a time. */
uint32_t en_frame_crc(uint32_t crc, const uint8_t *p, uint32_t n)
{
    static const uint32_t t[16] = {
        0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu, 0x76DC4190u, 0x6B6B51F4u, 0x4DB26158u, 0x5005713Cu,
        0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu, 0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu,
    };
    while (n--) {
        crc ^= *p++;
        crc = (crc >> 4) ^ t[crc & 15u];
        crc = (crc >> 4) ^ t[crc & 15u];
    }
    return crc;
}

void en_frame_put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

uint32_t en_frame_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

void en_frame_send(uint8_t type, uint8_t seq, const uint8_t *payload, uint32_t n)
{
    uint8_t head[6] = {SYNC0, SYNC1, type, seq, (uint8_t)n, (uint8_t)(n >> 8)};
    uint8_t tail[4];
    const uint32_t crc = en_frame_crc(0xFFFFFFFFu, head + 2, 4u);
    en_frame_put_u32(tail, en_frame_crc(crc, payload, n) ^ 0xFFFFFFFFu);
    en_uart_write(head, sizeof head);
    en_uart_write(payload, n);
    en_uart_write(tail, sizeof tail);
}

void en_frame_nak(uint8_t seq, uint8_t reason, uint8_t expected)
{
    const uint8_t p[2] = {reason, expected};
    en_frame_send(0x83u, seq, p, sizeof p);
}

/* The next byte (a refused frame's bytes first, then the UART's); inside a frame, 0 if none came
 * within BYTE_TIMEOUT_TICKS. */
static int get(uint8_t *b, int in_frame)
{
    if (replay_at < replay_end) {
        *b = en_frame[replay_at++];
        return 1;
    }
    const uint64_t t0 = in_frame ? en_timer_ticks() : 0u;
    for (;;) {
        const int c = en_uart_getc();
        if (c >= 0) {
            *b = (uint8_t)c;
            return 1;
        }
        if (in_frame) {
            const uint64_t now = en_timer_ticks();
            if (now > t0 && now - t0 > BYTE_TIMEOUT_TICKS) { /* a clock read that went back never times out */
                return 0;
            }
        }
    }
}

/* The frame's next n bytes into en_frame[got..]; 0 if it stopped mid-way. The callers' n keep
 * `got` within en_frame[]: the header, then a payload `check` took (at most EN_STREAM_IN_BYTES),
 * then the CRC. */
static int take(uint32_t n)
{
    for (; n; --n) {
        if (!get(&en_frame[got], 1)) {
            return 0;
        }
        ++got;
    }
    return 1;
}

/* The frame in en_frame[0..got) was refused: hunt again from the byte after its SYNC, through the
 * bytes it took and then those still waiting to be hunted (moved down behind them; when any wait,
 * every byte the frame took came from en_frame[] at an index at least 2 above where it was stored). */
static void rehunt(void)
{
    const uint32_t rest = replay_end - replay_at;
    memmove(&en_frame[got], &en_frame[replay_at], rest);
    replay_at = 0;
    replay_end = got + rest;
    got = 0;
}

uint32_t en_frame_receive(en_frame_check check, uint32_t *crc)
{
    for (;;) {
        uint8_t b;
        get(&b, 0);
        if (b != SYNC0) {
            continue;
        }
        do { /* SYNC0 may repeat before SYNC1 */
            if (!get(&b, 1)) {
                break;
            }
        } while (b == SYNC0);
        if (b != SYNC1) {
            continue;
        }
        got = 0;
        if (!take(EN_FRAME_HEAD)) {
            rehunt(); /* the seq is not known yet: the host's timeout retransmits */
            continue;
        }
        const uint8_t type = en_frame[0], seq = en_frame[1];
        const uint32_t len = (uint32_t)en_frame[2] | ((uint32_t)en_frame[3] << 8);
        int refused = check(type, len);
        if (!refused && len > EN_STREAM_IN_BYTES) { /* a harness's check that forgot the buffer */
            refused = EN_NAK_LENGTH;
        }
        if (refused) {
            en_frame_nak(seq, (uint8_t)refused, 0);
            rehunt();
            continue;
        }
        if (!take(len + 4u)) {
            en_frame_nak(seq, EN_NAK_TIMEOUT, 0);
            rehunt();
            continue;
        }
        const uint32_t sum = en_frame_crc(0xFFFFFFFFu, en_frame, EN_FRAME_HEAD + len) ^ 0xFFFFFFFFu;
        if (sum != en_frame_get_u32(&en_frame[EN_FRAME_HEAD + len])) {
            en_frame_nak(seq, EN_NAK_CRC, 0);
            rehunt();
            continue;
        }
        *crc = sum;
        return len;
    }
}

void en_frame_send_info(uint8_t seq, uint8_t flags, uint32_t state_bytes, uint16_t channels)
{
    static const uint8_t model_id[8] = EN_STREAM_MODEL_ID; /* SHA-256 of the model file, first 8 bytes */
    static const char board[] = EN_BOARD_NAME;
    static const char model[] = EN_MODEL_NAME;
    uint8_t p[2 + 16 + 8 + 2 + 1 + sizeof board + 1 + sizeof model];
    uint32_t n = 0;
    p[n++] = (uint8_t)*(const volatile uint32_t *)&en_stream_protocol_version; /* read: kept in the ELF */
    p[n++] = flags;
    en_frame_put_u32(&p[n], EN_STREAM_IN_BYTES);
    en_frame_put_u32(&p[n + 4], EN_STREAM_OUT_BYTES);
    en_frame_put_u32(&p[n + 8], EN_SYSTICK_HZ);
    en_frame_put_u32(&p[n + 12], state_bytes);
    n += 16;
    memcpy(&p[n], model_id, sizeof model_id);
    n += sizeof model_id;
    p[n++] = (uint8_t)channels;
    p[n++] = (uint8_t)(channels >> 8);
    p[n++] = (uint8_t)(sizeof board - 1);
    memcpy(&p[n], board, sizeof board - 1);
    n += sizeof board - 1;
    p[n++] = (uint8_t)(sizeof model - 1);
    memcpy(&p[n], model, sizeof model - 1);
    n += sizeof model - 1;
    en_frame_send(EN_FRAME_INFO, seq, p, n);
}
