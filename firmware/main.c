/* The run harness: reads input records from input.bin, runs one inference per record, and
 * writes each inference's outputs followed by its duration (uint64, timer ticks) to output.bin;
 * built with -DEN_PROFILE, each record also carries every layer's ticks (uint64 each). On the
 * board, a trailer follows the records: "ENST", the stack high-water mark and the stack size
 * (uint32 each, bytes). For a model with state (EN_HAS_STATE, a spiking network), each sample
 * starts with its number of time steps (uint32): the harness resets the state, then runs one
 * inference (one time step) per record.
 * Built with -DEN_FEEDBACK='{out, in}, ...' and -DEN_FEEDBACK_BYTES=n (`run --feedback OUT=IN`),
 * recurrent state the application carries between calls: each inference's output `out` is held,
 * and from the second record on it replaces what the record gives for input `in`.
 * On the board the files are reached through semihosting; built with -DEN_HOST it is an
 * ordinary host program (ticks are then 0) used to test the generated C on the host. */
#include <stdint.h>
#include <string.h>

#include "harness_io.h"
#include "model.h"

#ifdef EN_FEEDBACK
static const struct {
    int out, in;
} feedback[] = {EN_FEEDBACK};
#define EN_NUM_FEEDBACK ((int)(sizeof feedback / sizeof feedback[0]))
static uint8_t held[EN_FEEDBACK_BYTES]; /* the fed-back outputs, one after the other */

/* Keep the fed-back outputs (the next record's reads may overwrite the arena they live in). */
static void hold(void)
{
    uint32_t at = 0;
    for (int i = 0; i < EN_NUM_FEEDBACK; ++i) {
        const en_io *o = &en_model_outputs[feedback[i].out];
        memcpy(&held[at], o->data, o->bytes);
        at += o->bytes;
    }
}

static void feed(void)
{
    uint32_t at = 0;
    for (int i = 0; i < EN_NUM_FEEDBACK; ++i) {
        const en_io *o = &en_model_outputs[feedback[i].out];
        memcpy(en_model_inputs[feedback[i].in].data, &held[at], o->bytes);
        at += o->bytes;
    }
}
#endif

int main(void)
{
#ifndef EN_HOST
    en_uart_init();
    en_timer_init();
#endif
    file_t in = open_in();
    file_t out = open_out();
    if (!VALID(in) || !VALID(out)) {
        say("edgeneuro: cannot open input.bin/output.bin\n");
        return 2;
    }
    unsigned long n = 0;
#if EN_HAS_STATE
    uint32_t steps_left = 0;
#endif
    for (;;) {
#if EN_HAS_STATE
        /* A spiking network (one invocation = one time step): each sample in input.bin is its
         * number of steps (uint32) and then each step's inputs; the state is reset before it. */
        if (steps_left == 0) {
            if (!read_all(in, &steps_left, sizeof steps_left)) {
                break;
            }
            en_model_reset();
            continue;
        }
        --steps_left;
#endif
        int got = 1;
        for (int i = 0; i < EN_NUM_INPUTS && got; ++i) {
            got = read_all(in, en_model_inputs[i].data, en_model_inputs[i].bytes);
        }
        if (!got) {
            break;
        }
#ifdef EN_FEEDBACK
        if (n > 0) {
            feed();
        }
#endif
        const uint64_t t0 = ticks();
        const int rc = en_model_invoke();
        const uint64_t t1 = ticks();
        if (rc != 0) {
            say("edgeneuro: inference failed\n");
            return 4;
        }
#ifdef EN_FEEDBACK
        hold();
#endif
        for (int i = 0; i < EN_NUM_OUTPUTS; ++i) {
            if (!write_all(out, en_model_outputs[i].data, en_model_outputs[i].bytes)) {
                say("edgeneuro: cannot write output.bin\n");
                return 2;
            }
        }
        const uint64_t dt = t1 - t0;
        if (!write_all(out, &dt, sizeof dt)) {
            return 2;
        }
#ifdef EN_PROFILE
        if (!write_all(out, en_profile_ticks, sizeof en_profile_ticks)) {
            return 2;
        }
#endif
        ++n;
    }
#ifndef EN_HOST
    const uint32_t trailer[3] = {0x54534E45u /* "ENST" */, stack_used(), stack_size()};
    if (!write_all(out, trailer, sizeof trailer)) {
        return 2;
    }
#endif
    close_(in);
    close_(out);
    say("edgeneuro: ");
    say_u(n);
    say(" inferences\n");
    return 0;
}
