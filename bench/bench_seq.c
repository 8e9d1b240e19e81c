/* make bench, the sequence rows (issue 28): one training step (forward, backward through 50
   steps, Adam) of a GRU or LSTM, input 40, hidden 128, batch 32, on the last state a dense
   layer of 10 classes (softmax, cross-entropy), on random data; the same shapes as
   bench_seq_torch.py. Prints sequences/s. Usage: bench_seq gru|lstm [STEPS] */
#define BACKPROP_IMPLEMENTATION
#include "../backprop.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
    enum { I = 40, H = 128, T = 50, B = 32, C = 10, N = 256 };
    bp_seq_spec s;
    bp_seq q;
    bp_seq_data d;
    bp_opt opt = bp_opt_adam(1e-3f);
    bp_rng r = bp_rng_seed(1);
    size_t np, nw, ns, i;
    float *p, *g, *w, *st, *x, loss = 0.0f;
    int *lab, k, steps = argc > 2 ? atoi(argv[2]) : 40;
    double t0, t1;
    memset(&s, 0, sizeof s);
    if (argc < 2 || (strcmp(argv[1], "gru") && strcmp(argv[1], "lstm"))) {
        fprintf(stderr, "usage: bench_seq gru|lstm [steps]\n");
        return 2;
    }
    s.cell = strcmp(argv[1], "gru") ? BP_CELL_LSTM : BP_CELL_GRU;
    s.n_inputs = I; s.n_rec = 1; s.hidden[0] = H; s.out = BP_SEQ_LAST;
    s.n_dense = 1; s.dense[0] = C; s.act[0] = BP_SOFTMAX; s.loss = BP_LOSS_CROSS_ENTROPY;
    np = bp_seq_params_size(&s);
    nw = bp_seq_work_size(&s, T, B);
    ns = bp_opt_state_size(&opt, np);
    p = malloc(np * 4); g = malloc(np * 4); w = malloc(nw * 4); st = calloc(ns, 4);
    x = malloc((size_t)N * T * I * 4); lab = malloc(N * sizeof *lab);
    if (!p || !g || !w || !st || !x || !lab) return 1;
    for (i = 0; i < (size_t)N * T * I; i++) x[i] = 2.0f * bp_rng_float(&r) - 1.0f;
    for (k = 0; k < N; k++) lab[k] = (int)bp_rng_below(&r, C);
    if (bp_seq_init(&q, &s, T, B, p, np, g, np, w, nw) != BP_OK) return 1;
    bp_seq_randomize(&q, 1);
    if (getenv("BENCH_LEVEL") && !strcmp(getenv("BENCH_LEVEL"), "base"))
        bp_seq_set_level(&q, BP_LEVEL_BASE);
    memset(&d, 0, sizeof d);
    d.x = x; d.labels = lab; d.n = N; d.steps = T;
    for (k = 0; k < 3; k++) bp_seq_train_step(&q, &opt, st, ns, &d, 0, B, &loss);   /* warm */
    t0 = now();
    for (k = 0; k < steps; k++)
        if (bp_seq_train_step(&q, &opt, st, ns, &d, (k * B) % N, B, &loss) != BP_OK) return 1;
    t1 = now();
    printf("SEQ %s sequences/s %.1f loss %.4f\n", argv[1], steps * B / (t1 - t0), (double)loss);
    return 0;
}
