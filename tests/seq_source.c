/* A sequence net as C source, compiled in (issue 28): test_seq --write-c DIR writes a trained
   GRU as DIR/ms.h (bp_seq_to_c) and DIR/ms.bpseq; tests/examples.sh builds this program with
   -IDIR, as C99 and as C++17. It streams 3 sequences of 40 random steps through the
   compiled-in model (a view over its const arrays, bp_seq_step) and through the model read
   from the file, and requires the same bits from both. Usage: seq_source DIR/ms.bpseq */
#define BACKPROP_IMPLEMENTATION
#include "../backprop.h"
#include "ms.h"
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
    static float work[ms_WORK], carry[ms_CARRY], p[ms_N_PARAMS], g[ms_N_PARAMS], w2[1 << 14];
    static float carry2[ms_CARRY];
    bp_seq view, loaded;
    bp_rng r = bp_rng_seed(9);
    int s, t, k, n_out = ms_spec.dense[ms_spec.n_dense - 1];
    if (argc != 2) return 2;
    if (bp_seq_init_forward(&view, &ms_spec, 1, 1, ms_params, ms_N_PARAMS, work, ms_WORK) != BP_OK
        || bp_seq_init(&loaded, &ms_spec, 1, 1, p, ms_N_PARAMS, g, ms_N_PARAMS, w2, 1 << 14) != BP_OK
        || bp_seq_load_file(&loaded, argv[1]) != BP_OK) {
        puts("seq: init or load failed");
        return 1;
    }
    if (memcmp(p, ms_params, sizeof p) != 0) { puts("seq: the parameters differ"); return 1; }
    for (s = 0; s < 3; s++) {
        memset(carry, 0, sizeof carry);
        memset(carry2, 0, sizeof carry2);
        for (t = 0; t < 40; t++) {
            float x[64], a[64];
            const float *y;
            for (k = 0; k < ms_spec.n_inputs; k++) x[k] = 2.0f * bp_rng_float(&r) - 1.0f;
            y = bp_seq_step(&view, x, carry, ms_CARRY, 1);
            if (!y) return 1;
            memcpy(a, y, (size_t)n_out * sizeof *a);
            y = bp_seq_step(&loaded, x, carry2, ms_CARRY, 1);
            if (!y || memcmp(a, y, (size_t)n_out * sizeof *a)) {
                printf("seq: sequence %d step %d differs\n", s, t);
                return 1;
            }
        }
    }
    puts("compiled-in sequence net: the bits of the loaded one, 3 x 40 steps");
    return 0;
}
