/* A digit reader for a microcontroller without an FPU (issue 20): the net ocr trains on the
   bundled digits, compiled in as C source by bp2c (digits_q.h: int8, run by bp_qpredict; with
   FLOAT_MODEL digits_f.h: floats, through a forward view), reading digits from flash.
   tests/embedded.sh makes those headers in build/embedded and builds this for a Cortex-M0+
   (soft float) and for the host:
     SAMPLES    classifies the test digits of samples.h (written by tests/embedded/samples.c
                from data/) and prints "digits: R of N right, predictions HASH", through
                semihosting on QEMU's microbit; on the target it also counts the SysTick ticks
                of the inferences against those of a loop of known length (QEMU -icount);
     otherwise  classifies one digit from a volatile buffer: the program whose size is
                measured, against BASELINE, the same without the library and the model. */
#include <stdint.h>
#ifndef BASELINE
#define BP_NO_STDIO
#define BP_NO_BATCH
#define BACKPROP_IMPLEMENTATION
#include "../../backprop.h"
#ifdef FLOAT_MODEL
#include "digits_f.h"
#else
#include "digits_q.h"
#endif
#endif
#ifdef SAMPLES
#include <stdio.h>
#include "samples.h"
#endif

#ifndef BASELINE
#ifdef FLOAT_MODEL
static float work[digits_WORK];
static bp_net net;
#else
static int8_t work[digits_WORK];
static bp_qnet qn;
static int8_t table[256];       /* each pixel value quantized once: no float per inference */
#endif

static int init(void) {
#ifdef FLOAT_MODEL
    return bp_init_forward(&net, digits_N_LAYERS, digits_sizes, digits_acts, digits_LOSS, 1,
                           digits_params, digits_N_PARAMS, work, digits_WORK) != BP_OK;
#else
    int p;
    if (bp_qinit(&qn, digits_N_LAYERS, digits_sizes, digits_acts, digits_LOSS, digits_weights,
                 digits_N_WEIGHTS, digits_q, digits_N_Q, work, digits_WORK) != BP_OK) return 1;
    for (p = 0; p < 256; p++) {
        const float x = (float)p * (1.0f / 255.0f);
        bp_qquantize_input(&qn, &x, 1, table + p);
    }
    return 0;
#endif
}

/* The class of an 8x8 digit of pixels 0..255, scaled as ocr scales them for training. */
static int classify(const volatile unsigned char *px) {
    int i;
#ifdef FLOAT_MODEL
    float x[64];
    for (i = 0; i < 64; i++) x[i] = (float)px[i] * (1.0f / 255.0f);
    return bp_argmax(bp_forward(&net, x, 1), 10);
#else
    int8_t xq[64];
    for (i = 0; i < 64; i++) xq[i] = table[px[i]];   /* = bp_qquantize_input of px / 255 */
    return bp_qpredict_q(&qn, xq);
#endif
}
#endif /* BASELINE */

#if defined(SAMPLES) && defined(__arm__)
/* SysTick, counting down at the core clock: with QEMU's -icount, ticks follow instructions. */
#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
static uint32_t ticks_since(uint32_t start) { return (start - SYST_CVR) & 0xffffffu; }
#endif

volatile unsigned char digit[64];
volatile int result;

int main(void) {
#ifdef BASELINE
    result = digit[0] + digit[63];
    return 0;
#else
    if (init()) return 1;
#ifndef SAMPLES
    result = classify(digit);
    return 0;
#else
    {
        unsigned long hash = 2166136261u;
        int i, right = 0, c;
#ifdef __arm__
        uint32_t t0, t_loop, t_inf = 0, spin = 10000;
        SYST_RVR = 0xffffffu;
        SYST_CVR = 0;
        SYST_CSR = 5;                                     /* enabled, core clock */
        t0 = SYST_CVR;
        __asm volatile(".syntax unified\n1:\tsubs %0, %0, #1\n\tbne 1b" : "+l"(spin));   /* 20,000 instructions */
        t_loop = ticks_since(t0);
#endif
        for (i = 0; i < SAMPLES_N; i++) {
#ifdef __arm__
            t0 = SYST_CVR;
#endif
            c = classify(samples[i]);
#ifdef __arm__
            t_inf += ticks_since(t0);
#endif
            right += c == sample_labels[i];
            hash = (hash ^ (unsigned long)c) * 16777619u & 0xffffffffu;
        }
        printf("digits: %d of %d right, predictions %08lx\n", right, SAMPLES_N, hash);
#ifdef __arm__
        printf("ticks: %lu for %d inferences, %lu for 20000 instructions\n",
               (unsigned long)t_inf, SAMPLES_N, (unsigned long)t_loop);
#endif
        return 0;
    }
#endif
#endif
}
