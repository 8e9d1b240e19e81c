/* A tiny consumer of the installed backprop.h: it includes <backprop.h> the way a user would,
   trains XOR for a moment, and checks the version it was promised (EXPECT_VERSION, from
   pkg-config --modversion or CMake's package version) against the header's own. */
#define BACKPROP_IMPLEMENTATION
#include <backprop.h>
#include <stdio.h>
#include <string.h>

int main(void) {
    static const int sizes[] = {2, 3, 1};
    static const bp_act acts[] = {BP_TANH, BP_SIGMOID};
    static const float x[] = {0, 1}, t[] = {1};
    float params[13], grads[13], work[13], loss = 0;
    const bp_opt opt = bp_opt_sgd(0.5f);
    bp_net net;
    int i;
    if (bp_params_size(2, sizes) != 13 || bp_work_size(2, sizes, 1) != 13) return 1;
    if (bp_init(&net, 2, sizes, acts, BP_LOSS_CROSS_ENTROPY, 1, params, 13, grads, 13, work, 13) != BP_OK) return 1;
    bp_randomize(&net, 1);
    for (i = 0; i < 50; i++) bp_train_step(&net, &opt, NULL, 0, x, t, 1, &loss);
    if (!(loss < 0.1f)) return 1;
#ifdef EXPECT_VERSION
    if (strcmp(EXPECT_VERSION, BACKPROP_VERSION_STRING) != 0) {
        printf("version mismatch: package says %s, header says %s\n", EXPECT_VERSION, BACKPROP_VERSION_STRING);
        return 1;
    }
#endif
    printf("consumer ok: backprop.h %s, loss %.4f\n", BACKPROP_VERSION_STRING, (double)loss);
    return 0;
}
