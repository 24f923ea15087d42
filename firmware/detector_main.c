/* The detector harness (`edgeneuro detect`): reads a recording's ADC samples from input.bin (uint32
 * samples, uint32 channels, then samples x channels int16), pushes them one by one into the
 * generated detector (detector.c) and calls en_detector_finish() at the end. output.bin gets, as
 * they happen, records of uint32 words after a uint32 tag (edgeneuro/detector/app.py reads them):
 *   1 window: index, class, samples pushed, the push's ticks (uint64), the model's outputs;
 *   2 event:  onset, offset (ADC samples);
 *   3 alarm:  on, samples pushed;
 * and at the end 4: samples, clipped, windows, events, the worst ticks of one push (uint64), of
 * one push that ran no window (uint64), of all pushes (uint64), stack used and reserved (bytes;
 * 0 on the host). Ticks are SysTick's (instructions under QEMU -icount); the callbacks only queue
 * their records, which are written after the push is timed. Built with -DEN_HOST it is a host
 * program (ticks 0) that tests the generated C under the sanitizers. */
#include <stdint.h>

#include "alarm.h"
#include "detector.h"
#include "harness_io.h"
#include "model.h"

#define CHUNK 256u /* samples read from input.bin at a time */
#define QUEUE 4u   /* event and alarm records of one push (at most an event end and an alarm each) */

static int16_t chunk[CHUNK][EN_DET_CHANNELS];
static uint32_t queue[QUEUE][3];
static uint32_t queued;

void en_detector_on_event(uint32_t onset_sample, uint32_t offset_sample)
{
    if (queued < QUEUE) {
        queue[queued][0] = 2u;
        queue[queued][1] = onset_sample;
        queue[queued][2] = offset_sample;
        ++queued;
    }
}

void en_detector_alarm(int on, uint32_t sample)
{
#ifndef EN_HOST
    en_alarm_set(on);
#endif
    if (queued < QUEUE) {
        queue[queued][0] = 3u;
        queue[queued][1] = (uint32_t)on;
        queue[queued][2] = sample;
        ++queued;
    }
}

static int flush_queue(file_t out)
{
    const uint32_t n = queued;
    queued = 0;
    return write_all(out, queue, n * (uint32_t)sizeof queue[0]);
}

int main(void)
{
#ifndef EN_HOST
    en_uart_init();
    en_timer_init();
    en_alarm_init();
#endif
    file_t in = open_in();
    file_t out = open_out();
    uint32_t head[2];
    if (!VALID(in) || !VALID(out) || !read_all(in, head, sizeof head)) {
        say("edgeneuro: cannot open input.bin/output.bin\n");
        return 2;
    }
    if (head[1] != EN_DET_CHANNELS) {
        say("edgeneuro: input.bin has another number of channels than the detector\n");
        return 2;
    }
    en_detector_reset();
    uint64_t worst = 0, worst_plain = 0, total = 0;
    for (uint32_t done = 0; done < head[0];) {
        const uint32_t n = head[0] - done < CHUNK ? head[0] - done : CHUNK;
        if (!read_all(in, chunk, n * (uint32_t)sizeof chunk[0])) {
            say("edgeneuro: input.bin ends early\n");
            return 2;
        }
        for (uint32_t i = 0; i < n; ++i) {
            const uint64_t t0 = ticks();
            const int window = en_detector_push(chunk[i]);
            const uint64_t dt = ticks() - t0;
            total += dt;
            worst = dt > worst ? dt : worst;
            if (!window) {
                worst_plain = dt > worst_plain ? dt : worst_plain;
            } else {
                const en_detector_counters *c = en_detector_counters_get();
                const uint32_t rec[4] = {1u, c->windows - 1u, (uint32_t)en_detector_latest_class(), c->samples};
                if (!write_all(out, rec, sizeof rec) || !write_all(out, &dt, sizeof dt) ||
                    !write_all(out, en_detector_latest_outputs(), EN_DET_CLASSES * sizeof(en_detector_output))) {
                    return 2;
                }
            }
            if (!flush_queue(out)) {
                return 2;
            }
        }
        done += n;
    }
    en_detector_finish();
    if (!flush_queue(out)) {
        return 2;
    }
    const en_detector_counters *c = en_detector_counters_get();
    const uint32_t counts[5] = {4u, c->samples, c->clipped, c->windows, c->events};
    const uint64_t times[3] = {worst, worst_plain, total};
    const uint32_t stack[2] = {stack_used(), stack_size()};
    if (!write_all(out, counts, sizeof counts) || !write_all(out, times, sizeof times) ||
        !write_all(out, stack, sizeof stack)) {
        return 2;
    }
    close_(in);
    close_(out);
    say("edgeneuro: detector done\n");
    return 0;
}
