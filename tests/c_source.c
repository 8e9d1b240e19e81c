/* A model as C source, compiled in (issue 20): tests/examples.sh has ocr train and save a
   model (float and int8), bp2c write both as headers into DIR, and builds this program with
   -IDIR, as C99 and as C++17. It runs the compiled-in models (bp_init_forward, bp_qinit) and
   the same models read from their files (bp_load_file, bp_qload) on 500 random inputs and
   requires the same bits from both. Usage: c_source MODEL.bpmodel MODEL.bpq */
#define BACKPROP_IMPLEMENTATION
#include "../backprop.h"
#include "mf.h"
#include "mq.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    static float fwork[mf_WORK], params[mf_N_PARAMS], grads[mf_N_PARAMS], work[4096], x[1024];
    static int8_t qwork[mq_WORK], qwork2[mq_WORK], qw[mq_N_WEIGHTS];
    static int32_t qq[mq_N_Q];
    static unsigned char bytes[1 << 16];
    bp_net view, loaded;
    bp_qnet qview, qloaded;
    bp_rng r = bp_rng_seed(5);
    FILE *f;
    size_t len;
    int i, k, n_out = mf_sizes[mf_N_LAYERS];
    if (argc != 3) return 2;
    if (bp_init_forward(&view, mf_N_LAYERS, mf_sizes, mf_acts, mf_LOSS, 1, mf_params, mf_N_PARAMS,
                        fwork, mf_WORK) != BP_OK
        || bp_init(&loaded, mf_N_LAYERS, mf_sizes, mf_acts, mf_LOSS, 1, params, mf_N_PARAMS, grads,
                   mf_N_PARAMS, work, 4096) != BP_OK
        || bp_load_file(&loaded, argv[1]) != BP_OK) {
        puts("float: init or load failed");
        return 1;
    }
    if (memcmp(params, mf_params, sizeof params) != 0) { puts("float: the parameters differ"); return 1; }
    if (!(f = fopen(argv[2], "rb"))) return 1;
    len = fread(bytes, 1, sizeof bytes, f);
    fclose(f);
    if (bp_qinit(&qview, mq_N_LAYERS, mq_sizes, mq_acts, mq_LOSS, mq_weights, mq_N_WEIGHTS, mq_q,
                 mq_N_Q, qwork, mq_WORK) != BP_OK
        || bp_qload(&qloaded, bytes, len, qw, mq_N_WEIGHTS, qq, mq_N_Q, qwork2, mq_WORK) != BP_OK) {
        puts("int8: init or load failed");
        return 1;
    }
    for (i = 0; i < 500; i++) {
        float a[64], b[64];
        for (k = 0; k < mf_sizes[0]; k++) x[k] = bp_rng_float(&r);
        memcpy(a, bp_forward(&view, x, 1), (size_t)n_out * sizeof *a);
        memcpy(b, bp_forward(&loaded, x, 1), (size_t)n_out * sizeof *b);
        if (memcmp(a, b, (size_t)n_out * sizeof *a)) { printf("float: sample %d differs\n", i); return 1; }
        if (bp_qforward(&qview, x, a) != BP_OK || bp_qforward(&qloaded, x, b) != BP_OK
            || memcmp(a, b, (size_t)n_out * sizeof *a)
            || bp_qpredict(&qview, x) != bp_qpredict(&qloaded, x)) {
            printf("int8: sample %d differs\n", i);
            return 1;
        }
    }
    puts("compiled-in models: the bits of the loaded ones, 500 samples");
    return 0;
}
