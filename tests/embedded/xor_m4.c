/* A small trainer for a microcontroller: init, randomize, forward, backward and SGD (with
   momentum) on XOR, every array static, no stdio (BP_NO_STDIO), no batches (BP_NO_BATCH),
   nothing allocated.
   tests/embedded.sh builds it for a Cortex-M4 with hard float and measures what the library
   adds against BASELINE (the same program without the library); it also runs it on the host,
   where the exit status says whether it learned XOR (0: every output within 0.1). */
#define BP_NO_STDIO
#ifndef WITH_BATCHES      /* tests/embedded.sh also measures the build that keeps batches */
#define BP_NO_BATCH       /* one sample at a time: the batched products are left out */
#endif
#define BACKPROP_IMPLEMENTATION
#include "../../backprop.h"
#ifdef SEMIHOSTING
#include <stdio.h>
#endif

static const float x[8] = {0, 0, 0, 1, 1, 0, 1, 1}, t[4] = {0, 1, 1, 0};
volatile float result;                                          /* keeps the work observable */
#ifndef BASELINE
static const int sizes[] = {2, 4, 1};
static const bp_act acts[] = {BP_TANH, BP_SIGMOID};
static float params[17], grads[17], work[15], velocity[17];   /* bp_params_size, bp_work_size */
#endif

int main(void) {
#ifdef BASELINE
    result = x[1] + t[1];
    return 0;
#else
    bp_opt opt = bp_opt_sgd(0.1f);
    bp_net net;
    float worst = 0.0f;
    int epoch, i;
    opt.momentum = 0.9f;    /* as before 0.2: SGD with momentum */
    if (bp_params_size(2, sizes) != 17 || bp_work_size(2, sizes, 1) != 15) return 1;
    if (bp_init(&net, 2, sizes, acts, BP_LOSS_CROSS_ENTROPY, 1, params, 17, grads, 17, work, 15) != BP_OK) return 1;
    bp_randomize(&net, 1);
    for (epoch = 0; epoch < 1000; epoch++)
        for (i = 0; i < 4; i++) {
            bp_forward(&net, x + 2 * i, 1);
            bp_backward(&net, x + 2 * i, t + i, 1);
            bp_update(&net, &opt, velocity, 17);
        }
    for (i = 0; i < 4; i++) {
        float e = bp_forward(&net, x + 2 * i, 1)[0] - t[i];
        if (e < 0.0f) e = -e;
        if (e > worst) worst = e;
    }
    result = worst;
#ifdef SEMIHOSTING     /* on QEMU: say it, without dragging a float printf in */
    printf("xor on the target: max error 0.%04d\n", (int)(worst * 10000.0f));
#endif
    return worst < 0.1f ? 0 : 2;
#endif
}
