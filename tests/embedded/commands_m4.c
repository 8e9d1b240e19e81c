/* The spoken-command recognizer on a Cortex-M4 (issue 29): MFCC features (examples/speech.h)
   and the GRU trained by examples/commands.c, compiled in as C source (commands --export-c:
   a const bp_seq_spec and const parameters, in flash), run frame by frame as a microphone
   would feed it — one 10 ms frame, one bp_seq_step over the state in a carry array — on the
   twelve clips of data/commands-clips (one a class, test voices), read through semihosting.
   Built for QEMU's mps2-an386 and for the host from this one file; tests/embedded.sh
   compares the two outputs' first lines (the predictions).
   -DBASELINE: the same program without the library, the model and the features (its size is
   subtracted to give theirs). With QEMU's -icount, SysTick counts instructions: printed per
   second of audio, against a loop of 20,000 instructions. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const char *const NAMES[12] = {"yes", "no", "up", "down", "left", "right", "on", "off",
                                      "stop", "go", "_unknown_", "_silence_"};
static unsigned char file[2 * 16000 + 4096];

static size_t read_clip(int k) {
    char path[64];
    FILE *f;
    size_t n;
    snprintf(path, sizeof path, "data/commands-clips/%s.wav", NAMES[k]);
    if (!(f = fopen(path, "rb"))) return 0;
    n = fread(file, 1, sizeof file, f);
    fclose(f);
    return n;
}

#ifdef BASELINE
int main(void) {
    int k;
    unsigned long sum = 0;
    for (k = 0; k < 12; k++) sum += read_clip(k);
    printf("baseline %lu\n", sum);
    return 0;
}
#else
#define BACKPROP_IMPLEMENTATION
#define BP_NO_BATCH                    /* one frame at a time: no batched products compiled */
#include "../../backprop.h"
#include "../../examples/speech.h"
#include "commands_model.h"            /* build/embedded, from commands --export-c */

#if defined(__arm__)
#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
static uint32_t ticks_since(uint32_t start) { return (start - SYST_CVR) & 0xffffffu; }
#endif

static sp_mfcc tables;
static float work[commands_model_WORK], carry[commands_model_CARRY];

int main(void) {
    bp_seq net;
    unsigned long hash = 2166136261u;
    int k, f, i, right = 0;
    char line[12 * 4 + 1];
#if defined(__arm__)
    uint32_t t0, t_loop, t_all = 0, spin = 10000;
    SYST_RVR = 0xffffffu;
    SYST_CVR = 0;
    SYST_CSR = 5;
    t0 = SYST_CVR;
    __asm volatile(".syntax unified\n1:\tsubs %0, %0, #1\n\tbne 1b" : "+l"(spin));   /* 20,000 instructions */
    t_loop = ticks_since(t0);
#endif
    sp_init(&tables);
    if (bp_seq_init_forward(&net, &commands_model_spec, 1, 1, commands_model_params,
                            commands_model_N_PARAMS, work, commands_model_WORK) != BP_OK) {
        puts("commands: init failed");
        return 1;
    }
    line[0] = 0;
    for (k = 0; k < 12; k++) {
        const unsigned char *d;
        size_t len = read_clip(k), n;
        const float *y = NULL;
        int best;
        if (!len || sp_wav_parse(file, len, &d, &n) || n < SP_CLIP) {
            printf("commands: cannot read the clip of %s\n", NAMES[k]);
            return 1;
        }
        memset(carry, 0, sizeof carry);
        for (f = 0; f < SP_FRAMES; f++) {            /* every 10 ms: a frame, a step */
            unsigned char fb[SP_COEFS];
            float x[SP_COEFS];
#if defined(__arm__)
            t0 = SYST_CVR;                            /* per frame: the 24-bit SysTick */
#endif
            sp_frame(&tables, d, (size_t)f * SP_HOP, fb);
            for (i = 0; i < SP_COEFS; i++) x[i] = (float)((int)fb[i] - 128) * (1.0f / 32.0f);
            y = bp_seq_step(&net, x, carry, commands_model_CARRY, 1);
#if defined(__arm__)
            t_all += ticks_since(t0);
#endif
        }
        best = y ? bp_argmax(y, 12) : -1;
        right += best == k;
        hash = (hash ^ (unsigned long)(best + 1)) * 16777619u & 0xffffffffu;
        snprintf(line + strlen(line), sizeof line - strlen(line), "%s%d", k ? " " : "", best);
    }
    printf("commands: %d of 12 clips right, predictions %s (%08lx)\n", right, line, hash);
#if defined(__arm__)
    printf("ticks: %lu for 12 seconds of audio, %lu for 20000 instructions\n",
           (unsigned long)t_all, (unsigned long)t_loop);
#endif
    return 0;
}
#endif
