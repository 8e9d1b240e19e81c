/* BP_NO_BATCH (firmware: one sample at a time, the batched products left out): batches are
   refused with a status, and per-sample training gives the bits of a build with batches.
   Built by tests/compile.sh with and without -DWITH_BATCHES, at -O2 and at -Os (whose
   smaller kernels keep the arithmetic); it prints the FNV-1a hash of the trained parameters
   and optimizer state, which must agree across the builds. */
#ifndef WITH_BATCHES
#define BP_NO_BATCH
#endif
#define BP_NO_STDIO
#define BACKPROP_IMPLEMENTATION
#include "../../backprop.h"
#include <stdio.h>

static unsigned long long fnv(const void *p, size_t n, unsigned long long h) {
    const unsigned char *c = (const unsigned char *)p;
    while (n--) { h ^= *c++; h *= 1099511628211ull; }
    return h;
}

int main(void) {
    static const int sizes[] = {5, 7, 6, 3};
    static const bp_act acts[] = {BP_TANH, BP_RELU, BP_SOFTMAX};
    static float params[200], grads[200], work[400], state[402], x[40 * 5], t[40 * 3];
    bp_method methods[] = {BP_SGD, BP_ADAM, BP_RMSPROP};
    unsigned long long h = 14695981039346656037ull;
    bp_rng r = bp_rng_seed(7);
    bp_net net;
    int i, m, e;
    for (i = 0; i < 40 * 5; i++) x[i] = bp_rng_float(&r) * 2.0f - 1.0f;
    for (i = 0; i < 40; i++) t[i * 3 + (int)bp_rng_below(&r, 3)] = 1.0f;
#ifndef WITH_BATCHES
    if (bp_work_size(3, sizes, 2) != 0) { puts("bp_work_size took max_batch 2"); return 1; }
    if (bp_init(&net, 3, sizes, acts, BP_LOSS_CROSS_ENTROPY, 2, params, 200, grads, 200, work,
                400) != BP_ERR_MAX_BATCH) { puts("bp_init took max_batch 2"); return 1; }
#endif
    for (m = 0; m < 3; m++) {
        bp_opt opt = bp_opt_adam(0.01f);
        opt.method = methods[m];
        if (m == 0) { opt.lr = 0.1f; opt.momentum = 0.9f; opt.weight_decay = 1e-3f; }
        if (bp_init(&net, 3, sizes, acts, BP_LOSS_CROSS_ENTROPY, 1, params, 200, grads, 200, work,
                    400) != BP_OK) { puts("bp_init"); return 1; }
        bp_randomize(&net, 3);
        for (i = 0; i < 402; i++) state[i] = 0.0f;
        for (e = 0; e < 5; e++) {
            for (i = 0; i < 20; i++)       /* the three calls, then the fused step, then epochs */
                if (bp_train_step(&net, &opt, state, 402, x + 5 * i, t + 3 * i, 1, NULL)) return 1;
            for (i = 20; i < 40; i++) {
                bp_forward(&net, x + 5 * i, 1);
                bp_backward(&net, x + 5 * i, t + 3 * i, 1);
                if (bp_update(&net, &opt, state, 402)) return 1;
            }
            if (bp_train_epoch(&net, &opt, state, 402, x, t, 40, NULL, NULL, NULL)) return 1;
        }
        h = fnv(params, net.n_params * sizeof(float), h);
        h = fnv(state, bp_opt_state_size(&opt, net.n_params) * sizeof(float), h);
    }
    printf("%016llx\n", h);
    return 0;
}
