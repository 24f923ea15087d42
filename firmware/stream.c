/* The stream harness: the model is fed one window (of a spiking network: one time step) at a time
 * over the board's console UART. The protocol (version 2) is specified in
 * edgeneuro/stream/protocol.py; in short, every frame is
 *     SYNC 0xA5 0x5A | type u8 | seq u8 | length u16 LE | payload | CRC-32 u32 LE (over type..payload)
 * host -> board: HELLO 0x01 (empty), INFER 0x02 (the input bytes), RESET 0x03 (empty: zero the
 * model's state with en_model_reset());
 * board -> host: INFO 0x81 (version, flags (bit 0: EN_HAS_STATE), sizes, SysTick rate, state bytes,
 * model id, board and model names), OUTPUT 0x82 (the output bytes + the inference's SysTick ticks,
 * u64), NAK 0x83 (reason, expected seq: the host retransmits), ERROR 0x84 (code, value), ACK 0x85
 * (empty: the answer to RESET).
 * INFER and RESET share the sequence: the last request's seq and type again is a retransmission,
 * answered from a copy (the model does not step twice, the state is not reset twice).
 * Nothing else is ever written to the UART, so text never interleaves with frames. The harness
 * never returns: it answers until the board is reset or QEMU is stopped.
 * The build writes stream_info.h beside the generated model: EN_STREAM_IN_BYTES,
 * EN_STREAM_OUT_BYTES and EN_STREAM_MODEL_ID (the first 8 bytes of the model file's SHA-256). */
#include <stdint.h>
#include <string.h>

#include "board.h"
#include "model.h"
#include "stream_info.h"
#include "timer.h"
#include "uart.h"

#define SYNC0 0xA5u
#define SYNC1 0x5Au
enum { T_HELLO = 0x01, T_INFER = 0x02, T_RESET = 0x03 };
enum { T_INFO = 0x81, T_OUTPUT = 0x82, T_NAK = 0x83, T_ERROR = 0x84, T_ACK = 0x85 };
enum { NAK_CRC = 1, NAK_LENGTH = 2, NAK_SEQ = 3, NAK_TYPE = 4, NAK_TIMEOUT = 5 };
enum { ERROR_INVOKE = 1 };
#define VERSION 2u
#define INFO_STATEFUL 0x01u /* INFO's flags: the model has state (one INFER is one time step) */
/* A frame that stops mid-way is abandoned after 1 s of the board's clock without a byte (at
 * 115200 baud bytes are 87 us apart; under QEMU the poll loop runs through virtual time faster than
 * bytes arrive over the pty, so the margin is wide). */
#define BYTE_TIMEOUT_TICKS ((uint64_t)EN_SYSTICK_HZ)

/* Marks the image as the stream harness (the host checks the ELF for this symbol). */
const uint32_t en_stream_protocol_version = VERSION;

static uint8_t rx[EN_STREAM_IN_BYTES];                 /* the INFER payload being received */
static uint8_t answer[EN_STREAM_OUT_BYTES + 8u];       /* the last OUTPUT: outputs + ticks */
static const uint8_t model_id[8] = EN_STREAM_MODEL_ID; /* SHA-256 of the model file, first 8 bytes */

/* CRC-32 (IEEE 802.3, zlib's), four bits at a time. */
static uint32_t crc_update(uint32_t crc, const uint8_t *p, uint32_t n)
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

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void send(uint8_t type, uint8_t seq, const uint8_t *payload, uint32_t n)
{
    uint8_t head[6] = {SYNC0, SYNC1, type, seq, (uint8_t)n, (uint8_t)(n >> 8)};
    uint8_t tail[4];
    uint32_t crc = crc_update(0xFFFFFFFFu, head + 2, 4u);
    put_u32(tail, crc_update(crc, payload, n) ^ 0xFFFFFFFFu);
    en_uart_write(head, sizeof head);
    en_uart_write(payload, n);
    en_uart_write(tail, sizeof tail);
}

static void nak(uint8_t seq, uint8_t reason, uint8_t expected)
{
    const uint8_t p[2] = {reason, expected};
    send(T_NAK, seq, p, sizeof p);
}

/* The next byte; inside a frame, 0 if none came within BYTE_TIMEOUT_TICKS. */
static int get(uint8_t *b, int in_frame)
{
    const uint64_t t0 = in_frame ? en_timer_ticks() : 0u;
    for (;;) {
        const int c = en_uart_getc();
        if (c >= 0) {
            *b = (uint8_t)c;
            return 1;
        }
        if (in_frame && en_timer_ticks() - t0 > BYTE_TIMEOUT_TICKS) {
            return 0;
        }
    }
}

static int get_n(uint8_t *p, uint32_t n)
{
    for (uint32_t i = 0; i < n; ++i) {
        if (!get(&p[i], 1)) {
            return 0;
        }
    }
    return 1;
}

static void send_info(uint8_t seq)
{
    static const char board[] = EN_BOARD_NAME;
    static const char model[] = EN_MODEL_NAME;
    uint8_t p[2 + 16 + 8 + 1 + sizeof board + 1 + sizeof model];
    uint32_t n = 0;
    p[n++] = (uint8_t)*(const volatile uint32_t *)&en_stream_protocol_version; /* read: kept in the ELF */
    p[n++] = EN_HAS_STATE ? INFO_STATEFUL : 0u;
    put_u32(&p[n], EN_STREAM_IN_BYTES);
    put_u32(&p[n + 4], EN_STREAM_OUT_BYTES);
    put_u32(&p[n + 8], EN_SYSTICK_HZ);
    put_u32(&p[n + 12], EN_STATE_BYTES);
    n += 16;
    memcpy(&p[n], model_id, sizeof model_id);
    n += sizeof model_id;
    p[n++] = (uint8_t)(sizeof board - 1);
    memcpy(&p[n], board, sizeof board - 1);
    n += sizeof board - 1;
    p[n++] = (uint8_t)(sizeof model - 1);
    memcpy(&p[n], model, sizeof model - 1);
    n += sizeof model - 1;
    send(T_INFO, seq, p, n);
}

/* Runs the model on rx[] and keeps its outputs and duration in answer[]; 0 or invoke's error. */
static int infer(void)
{
    uint32_t at = 0;
    for (int i = 0; i < EN_NUM_INPUTS; ++i) {
        memcpy(en_model_inputs[i].data, &rx[at], en_model_inputs[i].bytes);
        at += en_model_inputs[i].bytes;
    }
    const uint64_t t0 = en_timer_ticks();
    const int rc = en_model_invoke();
    const uint64_t t1 = en_timer_ticks();
    if (rc != 0) {
        return rc;
    }
    at = 0;
    for (int i = 0; i < EN_NUM_OUTPUTS; ++i) {
        memcpy(&answer[at], en_model_outputs[i].data, en_model_outputs[i].bytes);
        at += en_model_outputs[i].bytes;
    }
    const uint64_t dt = t1 - t0;
    put_u32(&answer[at], (uint32_t)dt);
    put_u32(&answer[at + 4], (uint32_t)(dt >> 32));
    return 0;
}

int main(void)
{
    en_uart_init();
    en_uart_rx_enable();
    en_timer_init();
    int have_last = 0;     /* an INFER or RESET has been answered since the last HELLO */
    uint8_t last = 0;      /* its seq */
    uint8_t last_type = 0; /* and its type */
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
        uint8_t head[4];
        if (!get_n(head, sizeof head)) {
            continue; /* the seq is not known yet: the host's timeout retransmits */
        }
        const uint8_t type = head[0], seq = head[1];
        const uint32_t len = (uint32_t)head[2] | ((uint32_t)head[3] << 8);
        if (type != T_HELLO && type != T_INFER && type != T_RESET) {
            nak(seq, NAK_TYPE, 0);
            continue;
        }
        if (len != (type == T_INFER ? EN_STREAM_IN_BYTES : 0u)) {
            nak(seq, NAK_LENGTH, 0);
            continue;
        }
        uint8_t crc_bytes[4];
        if (!get_n(rx, len) || !get_n(crc_bytes, sizeof crc_bytes)) {
            nak(seq, NAK_TIMEOUT, 0);
            continue;
        }
        const uint32_t crc = crc_update(crc_update(0xFFFFFFFFu, head, sizeof head), rx, len) ^ 0xFFFFFFFFu;
        const uint32_t got = (uint32_t)crc_bytes[0] | ((uint32_t)crc_bytes[1] << 8) | ((uint32_t)crc_bytes[2] << 16) |
                             ((uint32_t)crc_bytes[3] << 24);
        if (crc != got) {
            nak(seq, NAK_CRC, 0);
            continue;
        }
        if (type == T_HELLO) {
            have_last = 0;
            send_info(seq);
            continue;
        }
        /* a retransmission: the same answer again, not a second step or reset */
        if (have_last && seq == last && type == last_type) {
            if (type == T_RESET) {
                send(T_ACK, seq, answer, 0u);
            } else {
                send(T_OUTPUT, seq, answer, sizeof answer);
            }
            continue;
        }
        if (have_last && seq != (uint8_t)(last + 1u)) { /* also a late duplicate of an earlier RESET */
            nak(seq, NAK_SEQ, (uint8_t)(last + 1u));
            continue;
        }
        if (type == T_RESET) {
            en_model_reset();
            have_last = 1;
            last = seq;
            last_type = T_RESET;
            send(T_ACK, seq, answer, 0u);
            continue;
        }
        const int rc = infer();
        if (rc != 0) {
            uint8_t p[5] = {ERROR_INVOKE};
            put_u32(&p[1], (uint32_t)rc);
            have_last = 0;
            send(T_ERROR, seq, p, sizeof p);
            continue;
        }
        have_last = 1;
        last = seq;
        last_type = T_INFER;
        send(T_OUTPUT, seq, answer, sizeof answer);
    }
}
