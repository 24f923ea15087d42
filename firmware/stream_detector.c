/* The detector's stream harness (`edgeneuro stream MODEL --edf REC --continuous`): the whole
 * detector (detector.c, `compile --app detector`) fed raw ADC samples over the board's console UART
 * in SAMPLES frames, its window decisions, events, alarms and counters sent back as they happen.
 * The protocol (version 4) is edgeneuro/stream/protocol.py's; the framing is firmware/frame.c's,
 * shared with stream.c. In short:
 * host -> board: HELLO 0x01 (empty), RESET 0x03 (empty: en_detector_reset(), sample 0 next),
 *   SAMPLES 0x04 (first sample index u32, then n samples x EN_DET_CHANNELS int16 LE, 1 <= n <=
 *   SAMPLES_MAX), QUERY 0x05 (empty: a STATUS now), FINISH 0x06 (empty: en_detector_finish()).
 * board -> host: INFO 0x81 (flags bit 1: a detector; in_bytes: the largest SAMPLES payload; out_bytes:
 *   one window's outputs; channels), ACK 0x85 (RESET: empty; SAMPLES: the next sample index u32),
 *   NAK 0x83 (reason 6: a gap or an overlap, then the expected seq 0 and the next sample index u32),
 *   ERROR 0x84 (code 2: SAMPLES after FINISH), EVENT 0x86, STATUS 0x87, WINDOW 0x88.
 * Time is the sample index: a SAMPLES frame that starts at the next sample is pushed; one that lies
 * wholly before it (a retransmission whose ACK was lost, a duplicate) is ACKed without pushing
 * anything twice; any other (a gap: a frame was lost; an overlap) is NAKed with the index expected,
 * and nothing is pushed, so a lost or repeated frame never shifts time. SAMPLES frames need no seq
 * order (the host keeps several in flight); their seq is echoed in the answer.
 * Each push is timed with SysTick; the detector's callbacks only queue their EVENT frames, which
 * are sent after the push, and before the frame's ACK. Every STATUS_EVERY windows a STATUS goes
 * out unasked. A RESET with the seq and CRC of the last one since HELLO is a retransmission and
 * resets nothing. Nothing but frames is written to the UART; the harness never returns. */
#include <stdint.h>
#include <string.h>

#include "alarm.h"
#include "detector.h"
#include "frame.h"
#include "model.h"
#include "stack.h"
#include "stream_info.h"
#include "timer.h"
#include "uart.h"

enum { T_HELLO = 0x01, T_RESET = 0x03, T_SAMPLES = 0x04, T_QUERY = 0x05, T_FINISH = 0x06 };
enum { T_ERROR = 0x84, T_ACK = 0x85, T_EVENT = 0x86, T_STATUS = 0x87, T_WINDOW = 0x88 }; /* INFO (0x81): en_frame_send_info */
enum { ERROR_FINISHED = 2 };
enum { EVENT_END = 1, EVENT_ALARM = 2 };
enum { STATUS_PERIODIC = 0, STATUS_QUERY = 1, STATUS_FINISH = 2 };
#define INFO_DETECTOR 0x02u
#define STATUS_EVERY 8u /* windows between unasked STATUS frames */
#define SAMPLE_BYTES (2u * EN_DET_CHANNELS)
#define SAMPLES_MAX ((EN_STREAM_IN_BYTES - 4u) / SAMPLE_BYTES)
#define QUEUE 4u /* EVENT frames of one push: an event's end and the alarm, or the alarm */

typedef char en_stream_out_is_the_outputs[EN_STREAM_OUT_BYTES == EN_DET_CLASSES * sizeof(en_detector_output) ? 1 : -1];
typedef char en_stream_takes_a_sample[SAMPLES_MAX >= 1u && 4u + SAMPLES_MAX * SAMPLE_BYTES == EN_STREAM_IN_BYTES ? 1
                                                                                                                  : -1];

static uint8_t queue[QUEUE][13];
static uint32_t queued, reports;                                  /* EVENT frames queued, and sent since RESET */
static int timing;                                                /* inside a timed push: queue, do not send */
static uint8_t seq_now;                                           /* the seq of the frame being answered */
static uint32_t repeated, refused, status_at;                     /* SAMPLES ACKed without a push, NAKed */
static uint64_t worst, worst_plain, total;                        /* ticks of one push, one without a window, all */
static int finished, have_reset;
static uint8_t reset_seq;
static uint32_t reset_crc;

static void event(uint8_t kind, uint32_t a, uint32_t b)
{
    uint8_t p[13];
    en_frame_put_u32(p, reports);
    p[4] = kind;
    en_frame_put_u32(&p[5], a);
    en_frame_put_u32(&p[9], b);
    if (!timing) {
        ++reports;
        en_frame_send(T_EVENT, seq_now, p, sizeof p);
    } else if (queued < QUEUE) {
        memcpy(queue[queued++], p, sizeof p);
        ++reports;
    }
}

void en_detector_on_event(uint32_t onset_sample, uint32_t offset_sample)
{
    event(EVENT_END, onset_sample, offset_sample);
}

void en_detector_alarm(int on, uint32_t sample)
{
    en_alarm_set(on);
    event(EVENT_ALARM, (uint32_t)on, sample);
}

static void put_u64(uint8_t *p, uint64_t v)
{
    en_frame_put_u32(p, (uint32_t)v);
    en_frame_put_u32(p + 4, (uint32_t)(v >> 32));
}

/* why | samples | windows | events | clipped | alarm | repeated | refused | EVENT frames sent |
 * worst ticks of a push | of a push without a window | of all pushes (u64) | stack used (bytes) */
static void send_status(uint8_t seq, uint8_t why)
{
    const en_detector_counters *c = en_detector_counters_get();
    uint8_t p[2 + 7 * 4 + 3 * 8 + 4];
    p[0] = why;
    p[1] = c->alarm;
    const uint32_t words[7] = {c->samples, c->windows, c->events, c->clipped, repeated, refused, reports};
    for (uint32_t i = 0; i < 7u; ++i) {
        en_frame_put_u32(&p[2 + 4 * i], words[i]);
    }
    put_u64(&p[30], worst);
    put_u64(&p[38], worst_plain);
    put_u64(&p[46], total);
    en_frame_put_u32(&p[54], en_stack_used());
    en_frame_send(T_STATUS, seq, p, sizeof p);
}

/* index | class | samples pushed | the push's ticks (u64) | the model's outputs */
static void send_window(uint8_t seq, uint64_t dt)
{
    const en_detector_counters *c = en_detector_counters_get();
    uint8_t p[17 + EN_STREAM_OUT_BYTES];
    en_frame_put_u32(p, c->windows - 1u);
    p[4] = (uint8_t)en_detector_latest_class();
    en_frame_put_u32(&p[5], c->samples);
    put_u64(&p[9], dt);
    memcpy(&p[17], en_detector_latest_outputs(), EN_STREAM_OUT_BYTES);
    en_frame_send(T_WINDOW, seq, p, sizeof p);
}

/* Pushes the frame's n samples, sending each window's WINDOW and the EVENT frames it caused. */
static void push(const uint8_t *at, uint32_t n, uint8_t seq)
{
    int16_t sample[EN_DET_CHANNELS];
    for (uint32_t i = 0; i < n; ++i, at += SAMPLE_BYTES) {
        for (uint32_t ch = 0; ch < EN_DET_CHANNELS; ++ch) {
            sample[ch] = (int16_t)(uint16_t)((uint32_t)at[2 * ch] | ((uint32_t)at[2 * ch + 1] << 8));
        }
        timing = 1;
        const uint64_t t0 = en_timer_ticks();
        const int window = en_detector_push(sample);
        const uint64_t dt = en_timer_ticks() - t0;
        timing = 0;
        total += dt;
        worst = dt > worst ? dt : worst;
        if (window) {
            send_window(seq, dt);
        } else {
            worst_plain = dt > worst_plain ? dt : worst_plain;
        }
        for (uint32_t k = 0; k < queued; ++k) {
            en_frame_send(T_EVENT, seq, queue[k], sizeof queue[k]);
        }
        queued = 0;
    }
}

static void reset(void)
{
    en_detector_reset(); /* its alarm is off: so is the pin */
    en_alarm_set(0);
    reports = repeated = refused = status_at = 0;
    worst = worst_plain = total = 0;
    finished = 0;
}

static int check(uint8_t type, uint32_t len)
{
    switch (type) {
    case T_HELLO:
    case T_RESET:
    case T_QUERY:
    case T_FINISH:
        return len ? EN_NAK_LENGTH : 0;
    case T_SAMPLES:
        return len < 4u + SAMPLE_BYTES || len > EN_STREAM_IN_BYTES || (len - 4u) % SAMPLE_BYTES ? EN_NAK_LENGTH : 0;
    default:
        return EN_NAK_TYPE;
    }
}

static void samples(uint8_t seq, uint32_t len)
{
    const uint32_t first = en_frame_get_u32(&en_frame[EN_FRAME_HEAD]);
    const uint32_t n = (len - 4u) / SAMPLE_BYTES;
    const uint32_t next = en_detector_counters_get()->samples;
    uint8_t p[6];
    if (finished) {
        p[0] = ERROR_FINISHED;
        en_frame_put_u32(&p[1], next);
        en_frame_send(T_ERROR, seq, p, 5u);
        return;
    }
    if (first == next) {
        push(&en_frame[EN_FRAME_HEAD + 4u], n, seq);
    } else if (first < next && n <= next - first) { /* wholly before: already pushed */
        ++repeated;
    } else { /* a gap (a frame was lost) or an overlap: the expected index, nothing pushed */
        ++refused;
        p[0] = EN_NAK_SAMPLES;
        p[1] = 0u;
        en_frame_put_u32(&p[2], next);
        en_frame_send(0x83u, seq, p, sizeof p);
        return;
    }
    en_frame_put_u32(p, en_detector_counters_get()->samples);
    en_frame_send(T_ACK, seq, p, 4u);
    const uint32_t windows = en_detector_counters_get()->windows;
    if (windows >= status_at + STATUS_EVERY) {
        status_at = windows;
        send_status(seq, STATUS_PERIODIC);
    }
}

int main(void)
{
    en_uart_init();
    en_uart_rx_enable();
    en_timer_init();
    en_alarm_init();
    reset();
    for (;;) {
        uint32_t crc;
        const uint32_t len = en_frame_receive(check, &crc);
        const uint8_t type = en_frame[0], seq = en_frame[1];
        seq_now = seq;
        switch (type) {
        case T_HELLO:
            have_reset = 0;
            en_frame_send_info(seq, INFO_DETECTOR, 0u, EN_DET_CHANNELS);
            break;
        case T_RESET:
            if (!have_reset || seq != reset_seq || crc != reset_crc) { /* not a retransmission */
                reset();
                have_reset = 1;
                reset_seq = seq;
                reset_crc = crc;
            }
            en_frame_send(T_ACK, seq, en_frame, 0u);
            break;
        case T_SAMPLES:
            samples(seq, len);
            break;
        case T_FINISH:
            if (!finished) { /* once: a retransmitted FINISH gets the STATUS again */
                en_detector_finish();
                finished = 1;
            }
            send_status(seq, STATUS_FINISH);
            break;
        default:
            send_status(seq, STATUS_QUERY);
            break;
        }
    }
}
