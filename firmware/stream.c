/* The stream harness: the model is fed one window (of a spiking network: one time step) at a time
 * over the board's console UART. The protocol (version 4) is specified in
 * edgeneuro/stream/protocol.py; in short, every frame is
 *     SYNC 0xA5 0x5A | type u8 | seq u8 | length u16 LE | payload | CRC-32 u32 LE (over type..payload)
 * host -> board: HELLO 0x01 (empty), INFER 0x02 (the input bytes), RESET 0x03 (empty: zero the
 * model's state with en_model_reset());
 * board -> host: INFO 0x81 (version, flags (bit 0: EN_HAS_STATE), sizes, SysTick rate, state bytes,
 * model id, channels (0: this harness takes no SAMPLES), board and model names), OUTPUT 0x82 (the output bytes + the inference's SysTick ticks,
 * u64 + the CRC-32 of the INFER it answers, u32), NAK 0x83 (reason, expected seq: the host retransmits), ERROR 0x84 (code, value), ACK 0x85
 * (empty: the answer to RESET).
 * INFER and RESET share the sequence: the last request's seq and type again (an INFER's: with the
 * same CRC, so the same input) is a retransmission, answered from a copy (the model does not step
 * twice, the state is not reset twice); an INFER of that seq with another CRC is run as a new one.
 * OUTPUT carries the CRC of the INFER it answers, so the host never takes the answer to a frame it
 * did not send (a truncated one completed by the next frame's SYNC byte matches its CRC 1 time in
 * 256) for the answer to its own.
 * The framing (firmware/frame.c, shared with the detector's stream harness stream_detector.c): a
 * refused frame (bad type, length or CRC, or stopped mid-way) is NAKed and the hunt for SYNC
 * resumes one byte after its SYNC, through the bytes it had taken, as the host's parser does: a
 * request that began inside them (one sent after a truncated frame) is still found, not swallowed.
 * The SAMPLES frames of version 4 are the detector harness's: this one refuses them (NAK 4).
 * Nothing else is ever written to the UART, so text never interleaves with frames. The harness
 * never returns: it answers until the board is reset or QEMU is stopped.
 * The build writes stream_info.h beside the generated model: EN_STREAM_IN_BYTES,
 * EN_STREAM_OUT_BYTES and EN_STREAM_MODEL_ID (the first 8 bytes of the model file's SHA-256). */
#include <stdint.h>
#include <string.h>

#include "frame.h"
#include "model.h"
#include "stream_info.h"
#include "timer.h"
#include "uart.h"

enum { T_HELLO = 0x01, T_INFER = 0x02, T_RESET = 0x03 };
enum { T_OUTPUT = 0x82, T_ERROR = 0x84, T_ACK = 0x85 }; /* INFO (0x81): en_frame_send_info */
enum { ERROR_INVOKE = 1 };
#define INFO_STATEFUL 0x01u /* INFO's flags: the model has state (one INFER is one time step) */

typedef char en_stream_out_fits_a_frame[EN_STREAM_OUT_BYTES + 12u <= 0xFFFFu ? 1 : -1];

static uint8_t answer[EN_STREAM_OUT_BYTES + 12u]; /* the last OUTPUT: outputs + ticks + the INFER's CRC */

/* HELLO and RESET are empty, INFER carries exactly the model's input bytes. */
static int check(uint8_t type, uint32_t len)
{
    if (type != T_HELLO && type != T_INFER && type != T_RESET) {
        return EN_NAK_TYPE;
    }
    return len != (type == T_INFER ? EN_STREAM_IN_BYTES : 0u) ? EN_NAK_LENGTH : 0;
}

/* Runs the model on the INFER payload in en_frame[] and keeps its outputs, duration and the
 * INFER's CRC in answer[]; 0 or invoke's error. */
static int infer(uint32_t crc)
{
    uint32_t at = EN_FRAME_HEAD;
    for (int i = 0; i < EN_NUM_INPUTS; ++i) {
        memcpy(en_model_inputs[i].data, &en_frame[at], en_model_inputs[i].bytes);
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
    en_frame_put_u32(&answer[at], (uint32_t)dt);
    en_frame_put_u32(&answer[at + 4], (uint32_t)(dt >> 32));
    en_frame_put_u32(&answer[at + 8], crc);
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
        uint32_t crc;
        (void)en_frame_receive(check, &crc);
        const uint8_t type = en_frame[0], seq = en_frame[1];
        if (type == T_HELLO) {
            have_last = 0;
            en_frame_send_info(seq, EN_HAS_STATE ? INFO_STATEFUL : 0u, EN_STATE_BYTES, 0u);
            continue;
        }
        /* a retransmission: the same answer again, not a second step or reset */
        if (have_last && seq == last && type == last_type && (type == T_RESET || crc == last_crc)) {
            if (type == T_RESET) {
                en_frame_send(T_ACK, seq, answer, 0u);
            } else {
                en_frame_send(T_OUTPUT, seq, answer, sizeof answer);
            }
            continue;
        }
        /* also a late duplicate of an earlier RESET; an INFER of the last seq with another CRC is new */
        if (have_last && seq != (uint8_t)(last + 1u) && !(seq == last && type == T_INFER && last_type == T_INFER)) {
            en_frame_nak(seq, EN_NAK_SEQ, (uint8_t)(last + 1u));
            continue;
        }
        if (type == T_RESET) {
            en_model_reset();
            have_last = 1;
            last = seq;
            last_type = T_RESET;
            last_crc = crc;
            en_frame_send(T_ACK, seq, answer, 0u);
            continue;
        }
        const int rc = infer(crc);
        if (rc != 0) {
            uint8_t p[5] = {ERROR_INVOKE};
            en_frame_put_u32(&p[1], (uint32_t)rc);
            have_last = 0;
            en_frame_send(T_ERROR, seq, p, sizeof p);
            continue;
        }
        have_last = 1;
        last = seq;
        last_type = T_INFER;
        last_crc = crc;
        en_frame_send(T_OUTPUT, seq, answer, sizeof answer);
    }
}
