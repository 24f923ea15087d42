/* The stream harness: the model is fed one window (of a spiking network: one time step) at a time
 * over the board's console UART. The protocol (version 3) is specified in
 * edgeneuro/stream/protocol.py; in short, every frame is
 *     SYNC 0xA5 0x5A | type u8 | seq u8 | length u16 LE | payload | CRC-32 u32 LE (over type..payload)
 * host -> board: HELLO 0x01 (empty), INFER 0x02 (the input bytes), RESET 0x03 (empty: zero the
 * model's state with en_model_reset());
 * board -> host: INFO 0x81 (version, flags (bit 0: EN_HAS_STATE), sizes, SysTick rate, state bytes,
 * model id, board and model names), OUTPUT 0x82 (the output bytes + the inference's SysTick ticks,
 * u64 + the CRC-32 of the INFER it answers, u32), NAK 0x83 (reason, expected seq: the host retransmits), ERROR 0x84 (code, value), ACK 0x85
 * (empty: the answer to RESET).
 * INFER and RESET share the sequence: the last request's seq and type again (an INFER's: with the
 * same CRC, so the same input) is a retransmission, answered from a copy (the model does not step
 * twice, the state is not reset twice); an INFER of that seq with another CRC is run as a new one.
 * OUTPUT carries the CRC of the INFER it answers, so the host never takes the answer to a frame it
 * did not send (a truncated one completed by the next frame's SYNC byte matches its CRC 1 time in
 * 256) for the answer to its own.
 * A refused frame (bad type, length or CRC, or stopped mid-way) is NAKed and the hunt for SYNC
 * resumes one byte after its SYNC, through the bytes it had taken, as the host's parser does: a
 * request that began inside them (one sent after a truncated frame) is still found, not swallowed.
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
#define VERSION 3u /* 3: OUTPUT ends with the CRC of the INFER it answers */
#define INFO_STATEFUL 0x01u /* INFO's flags: the model has state (one INFER is one time step) */
/* A frame that stops mid-way is abandoned after 1 s of the board's clock without a byte (at
 * 115200 baud bytes are 87 us apart; under QEMU the poll loop runs through virtual time faster than
 * bytes arrive over the pty, so the margin is wide). */
#define BYTE_TIMEOUT_TICKS ((uint64_t)EN_SYSTICK_HZ)

/* A frame's length field is 16 bits (the host's build refuses larger models; so does this). */
typedef char en_stream_in_fits_a_frame[EN_STREAM_IN_BYTES <= 0xFFFFu ? 1 : -1];
typedef char en_stream_out_fits_a_frame[EN_STREAM_OUT_BYTES + 12u <= 0xFFFFu ? 1 : -1];

/* Marks the image as the stream harness (the host checks the ELF for this symbol). */
const uint32_t en_stream_protocol_version = VERSION;

/* The frame being received, every byte after its SYNC: header (type, seq, length), payload (an
 * INFER's input bytes at PAYLOAD), CRC. `got` bytes of it are filled. After a refused frame it
 * holds the bytes to hunt through again, frame[replay_at..replay_end), which get() returns before
 * the UART's; a frame found among them is written over the ones already hunted (at a lower index
 * than it is read from), so one buffer serves both. */
#define HEAD 4u
#define PAYLOAD HEAD
static uint8_t frame[HEAD + EN_STREAM_IN_BYTES + 4u];
static uint32_t got, replay_at, replay_end;
static uint8_t answer[EN_STREAM_OUT_BYTES + 12u]; /* the last OUTPUT: outputs + ticks + the INFER's CRC */
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

/* The next byte (a refused frame's bytes first, then the UART's); inside a frame, 0 if none came
 * within BYTE_TIMEOUT_TICKS. */
static int get(uint8_t *b, int in_frame)
{
    if (replay_at < replay_end) {
        *b = frame[replay_at++];
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

/* The frame's next n bytes into frame[got..]; 0 if it stopped mid-way. The callers' n keep `got`
 * within frame[]: the header, then a payload of at most EN_STREAM_IN_BYTES (checked), then the CRC. */
static int take(uint32_t n)
{
    for (; n; --n) {
        if (!get(&frame[got], 1)) {
            return 0;
        }
        ++got;
    }
    return 1;
}

/* The frame in frame[0..got) was refused: hunt again from the byte after its SYNC, through the
 * bytes it took and then those still waiting to be hunted (moved down behind them; when any wait,
 * every byte the frame took came from frame[] at an index at least 2 above where it was stored). */
static void rehunt(void)
{
    const uint32_t rest = replay_end - replay_at;
    memmove(&frame[got], &frame[replay_at], rest);
    replay_at = 0;
    replay_end = got + rest;
    got = 0;
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

/* Runs the model on the INFER payload in frame[] and keeps its outputs, duration and the INFER's
 * CRC in answer[]; 0 or invoke's error. */
static int infer(uint32_t crc)
{
    uint32_t at = PAYLOAD;
    for (int i = 0; i < EN_NUM_INPUTS; ++i) {
        memcpy(en_model_inputs[i].data, &frame[at], en_model_inputs[i].bytes);
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
    put_u32(&answer[at + 8], crc);
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
    uint32_t last_crc = 0; /* and its CRC */
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
        if (!take(HEAD)) {
            rehunt(); /* the seq is not known yet: the host's timeout retransmits */
            continue;
        }
        const uint8_t type = frame[0], seq = frame[1];
        const uint32_t len = (uint32_t)frame[2] | ((uint32_t)frame[3] << 8);
        if (type != T_HELLO && type != T_INFER && type != T_RESET) {
            nak(seq, NAK_TYPE, 0);
            rehunt();
            continue;
        }
        if (len != (type == T_INFER ? EN_STREAM_IN_BYTES : 0u)) { /* so HEAD + len + 4 fits frame[] */
            nak(seq, NAK_LENGTH, 0);
            rehunt();
            continue;
        }
        if (!take(len + 4u)) {
            nak(seq, NAK_TIMEOUT, 0);
            rehunt();
            continue;
        }
        const uint8_t *c = &frame[HEAD + len];
        const uint32_t crc = crc_update(0xFFFFFFFFu, frame, HEAD + len) ^ 0xFFFFFFFFu;
        const uint32_t sent = (uint32_t)c[0] | ((uint32_t)c[1] << 8) | ((uint32_t)c[2] << 16) | ((uint32_t)c[3] << 24);
        if (crc != sent) {
            nak(seq, NAK_CRC, 0);
            rehunt();
            continue;
        }
        if (type == T_HELLO) {
            have_last = 0;
            send_info(seq);
            continue;
        }
        /* a retransmission: the same answer again, not a second step or reset */
        if (have_last && seq == last && type == last_type && (type == T_RESET || crc == last_crc)) {
            if (type == T_RESET) {
                send(T_ACK, seq, answer, 0u);
            } else {
                send(T_OUTPUT, seq, answer, sizeof answer);
            }
            continue;
        }
        /* also a late duplicate of an earlier RESET; an INFER of the last seq with another CRC is new */
        if (have_last && seq != (uint8_t)(last + 1u) && !(seq == last && type == T_INFER && last_type == T_INFER)) {
            nak(seq, NAK_SEQ, (uint8_t)(last + 1u));
            continue;
        }
        if (type == T_RESET) {
            en_model_reset();
            have_last = 1;
            last = seq;
            last_type = T_RESET;
            last_crc = crc;
            send(T_ACK, seq, answer, 0u);
            continue;
        }
        const int rc = infer(crc);
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
        last_crc = crc;
        send(T_OUTPUT, seq, answer, sizeof answer);
    }
}
