/* bp_sgd and bp_update called from a loop whose arrays the compiler cannot tell apart
   (posix_memalign): compile.sh checks that main calls them rather than inlining them, since
   inlined there GCC dropped bp__step's restrict and ran the update scalar, 5x slower. The
   program checks the arithmetic. */
#define BACKPROP_IMPLEMENTATION
#include "../../backprop.h"
#include <stdio.h>
#include <stdlib.h>

int main(void) {
    static const int sizes[] = {40, 30, 20};
    static const bp_act acts[] = {BP_TANH, BP_SIGMOID};
    size_t np = bp_params_size(2, sizes), nw = bp_work_size(2, sizes, 4), i;
    void *m[3];
    float *p, *g, *w;
    bp_net net;
    bp_opt opt = bp_opt_sgd(0.5f);
    int step, bad = 0;
    if (posix_memalign(&m[0], 64, np * sizeof(float)) || posix_memalign(&m[1], 64, np * sizeof(float))
        || posix_memalign(&m[2], 64, nw * sizeof(float))) return 1;
    p = (float *)m[0]; g = (float *)m[1]; w = (float *)m[2];
    if (bp_init(&net, 2, sizes, acts, BP_LOSS_SQUARED, 4, p, np, g, np, w, nw) != BP_OK) return 1;
    for (step = 0; step < 3; step++) {
        for (i = 0; i < np; i++) { p[i] = (float)(i % 7); g[i] = (float)(i % 5); }
        if (step == 1) bp_sgd(p, g, np, 0.5f);
        else if (bp_update(&net, &opt, NULL, 0) != BP_OK) return 1;
        for (i = 0; i < np; i++) bad += p[i] != (float)(i % 7) - 0.5f * (float)(i % 5);
    }
    printf("update_calls: %d wrong\n", bad);
    free(m[0]); free(m[1]); free(m[2]);
    return bad != 0;
}
