/* The reference path gives the same bits as the kernels (issue: the header reads as the
   algorithm). Built twice by `make test-reference` -- as is, and with -DBP_NO_SIMD, which
   replaces the GEMM, its packing and tiles by the plain triple loop of bp__gemm_ref -- this
   program trains nets of awkward sizes (across the tile and block edges: MR, NR, KC = 256,
   NC = 512) batched and per sample, with every optimizer and loss, and prints one line per
   net: the FNV-1a hash of its parameters and optimizer state after the training, and the
   last loss. The two outputs must be identical, byte for byte; any difference in any bit of
   any parameter changes a hash.
   Usage: same_bits [LEVEL], LEVEL one of own (the lowest level of the build: its flags'),
   best (bp_init's choice, the default), base, avx2, avx512: the nets run pinned to it
   (bp_set_level). tests/compile.sh compares the levels of one build, and builds, with each
   other (issue 19). Exit 3, printing why, when the build or the CPU lacks the level. */
#define BACKPROP_IMPLEMENTATION
#include "../backprop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned long long fnv(const void *p, size_t n, unsigned long long h) {
    const unsigned char *c = (const unsigned char *)p;
    while (n--) {
        h ^= *c++;
        h *= 1099511628211ull;
    }
    return h;
}

typedef struct {
    const char *name;
    int n_layers, sizes[5];
    bp_act acts[4];
    bp_loss loss;
    int batch, method, steps;      /* method: 0 sgd, 1 momentum, 2 nesterov + decay, 3 adam,
                                      4 adamw, 5 rmsprop + momentum, 6 adam clipped + decay */
    int epoch;                     /* bp_train_epoch (shuffled) instead of bp_train_step */
} config;

static bp_opt make_opt(int method) {
    bp_opt o = bp_opt_sgd(0.05f);
    switch (method) {
    case 1: o.momentum = 0.9f; break;
    case 2: o.momentum = 0.8f; o.nesterov = 1; o.weight_decay = 1e-3f; break;
    case 3: o = bp_opt_adam(3e-3f); break;
    case 4: o = bp_opt_adam(3e-3f); o.method = BP_ADAMW; o.weight_decay = 0.05f; break;
    case 5: o = bp_opt_adam(1e-3f); o.method = BP_RMSPROP; o.beta2 = 0.99f; o.momentum = 0.5f; break;
    case 6: o = bp_opt_adam(3e-3f); o.weight_decay = 1e-3f; o.clip = 0.5f; break;
    default: break;
    }
    return o;
}

static bp_level level = BP_LEVEL_BEST;

/* Trains c on n synthetic samples (inputs in -1..1; targets fitting the loss) and prints its
   line. Returns 0, or 1 if a call failed. */
static int run(const config *c) {
    const int nin = c->sizes[0], nout = c->sizes[c->n_layers], n = 3 * c->batch + 1;
    const bp_opt opt = make_opt(c->method);
    size_t np = bp_params_size(c->n_layers, c->sizes), nw = bp_work_size(c->n_layers, c->sizes, c->batch);
    size_t ns = bp_opt_state_size(&opt, np), i;
    float *p = (float *)malloc(np * sizeof *p), *g = (float *)malloc(np * sizeof *g);
    float *w = (float *)malloc(nw * sizeof *w), *st = (float *)calloc(ns + 1, sizeof *st);
    float *x = (float *)malloc((size_t)n * (size_t)nin * sizeof *x);
    float *t = (float *)calloc((size_t)n * (size_t)nout, sizeof *t);
    int *order = (int *)malloc((size_t)n * sizeof *order), s, k, rc = 1;
    float loss = 0.0f;
    bp_rng r = bp_rng_seed(77);
    bp_net net;
    if (!p || !g || !w || !st || !x || !t || !order) goto done;
    for (i = 0; i < (size_t)n * (size_t)nin; i++) x[i] = 2.0f * bp_rng_float(&r) - 1.0f;
    for (k = 0; k < n; k++) {
        float *tk = t + (size_t)k * (size_t)nout;
        int o;
        if (c->acts[c->n_layers - 1] == BP_SOFTMAX) tk[bp_rng_below(&r, (uint32_t)nout)] = 1.0f;
        else for (o = 0; o < nout; o++) tk[o] = bp_rng_float(&r);
    }
    if (bp_init(&net, c->n_layers, c->sizes, c->acts, c->loss, c->batch, p, np, g, np, w, nw) != BP_OK
        || bp_randomize(&net, 5) != BP_OK || bp_set_level(&net, level) != BP_OK)
        goto done;
    if (c->epoch) {
        for (k = 0; k < c->steps; k++) {
            if (bp_shuffle(order, n, &r) != BP_OK
                || bp_train_epoch(&net, &opt, st, ns, x, t, n, order, &loss, NULL) != BP_OK)
                goto done;
        }
    } else {
        for (k = 0; k < c->steps; k++) {
            const int at = (k * c->batch) % (n - c->batch + 1);
            s = bp_train_step(&net, &opt, st, ns, x + (size_t)at * (size_t)nin, t + (size_t)at * (size_t)nout,
                              c->batch, &loss);
            if (s != BP_OK) goto done;
        }
    }
    printf("%-34s %016llx loss %a\n", c->name, fnv(st, ns * sizeof *st, fnv(p, np * sizeof *p, 1469598103934665603ull)),
           (double)loss);
    rc = 0;
done:
    if (rc) printf("%-34s FAILED\n", c->name);
    free(p); free(g); free(w); free(st); free(x); free(t); free(order);
    return rc;
}

/* A sequence net (bp_seq, issue 28): cell, layers, units across the tile edges, trained on
   synthetic sequences of varied lengths; its line as run's. */
typedef struct {
    const char *name;
    bp_cell cell;
    int n_rec, hidden0, hidden1;
    bp_seq_out out;
    int batch, steps, method, iters;
} seqconfig;

static int run_seq(const seqconfig *c) {
    enum { NI = 37, NO = 5 };
    const bp_opt opt = make_opt(c->method);
    const int n = 2 * c->batch + 1;
    bp_seq_spec sp;
    bp_seq q;
    bp_seq_data d;
    size_t np, nw, ns, i;
    float *p, *g, *w, *st, *x, loss = 0.0f;
    int *lab, *len, k, rc = 1;
    bp_rng r = bp_rng_seed(78);
    memset(&sp, 0, sizeof sp);
    sp.cell = c->cell; sp.n_inputs = NI; sp.n_rec = c->n_rec;
    sp.hidden[0] = c->hidden0; sp.hidden[1] = c->hidden1; sp.out = c->out;
    sp.n_dense = 2; sp.dense[0] = 17; sp.dense[1] = NO;
    sp.act[0] = BP_RELU; sp.act[1] = BP_SOFTMAX; sp.loss = BP_LOSS_CROSS_ENTROPY;
    np = bp_seq_params_size(&sp);
    nw = bp_seq_work_size(&sp, c->steps, c->batch);
    ns = bp_opt_state_size(&opt, np);
    p = (float *)malloc(np * sizeof *p); g = (float *)malloc(np * sizeof *g);
    w = (float *)malloc(nw * sizeof *w); st = (float *)calloc(ns + 1, sizeof *st);
    x = (float *)malloc((size_t)n * (size_t)c->steps * NI * sizeof *x);
    lab = (int *)malloc((size_t)n * (size_t)c->steps * sizeof *lab);
    len = (int *)malloc((size_t)n * sizeof *len);
    if (!p || !g || !w || !st || !x || !lab || !len) goto done;
    for (i = 0; i < (size_t)n * (size_t)c->steps * NI; i++) x[i] = 2.0f * bp_rng_float(&r) - 1.0f;
    for (k = 0; k < n * c->steps; k++) lab[k] = (int)bp_rng_below(&r, NO);
    for (k = 0; k < n; k++) len[k] = 1 + (int)bp_rng_below(&r, (uint32_t)c->steps);
    if (bp_seq_init(&q, &sp, c->steps, c->batch, p, np, g, np, w, nw) != BP_OK
        || bp_seq_randomize(&q, 5) != BP_OK || bp_seq_set_level(&q, level) != BP_OK)
        goto done;
    memset(&d, 0, sizeof d);
    d.x = x; d.labels = lab; d.lengths = len; d.n = n; d.steps = c->steps;
    for (k = 0; k < c->iters; k++)
        if (bp_seq_train_step(&q, &opt, st, ns, &d, (k * c->batch) % (n - c->batch + 1), c->batch,
                              &loss) != BP_OK)
            goto done;
    printf("%-34s %016llx loss %a\n", c->name, fnv(st, ns * sizeof *st, fnv(p, np * sizeof *p, 1469598103934665603ull)),
           (double)loss);
    rc = 0;
done:
    if (rc) printf("%-34s FAILED\n", c->name);
    free(p); free(g); free(w); free(st); free(x); free(lab); free(len);
    return rc;
}

int main(int argc, char **argv) {
    static const seqconfig seqs[] = {
        {"seq elman 70 last b5 sgd", BP_CELL_ELMAN, 1, 70, 0, BP_SEQ_LAST, 5, 9, 1, 6},
        {"seq gru 70-33 each b5 adam clip", BP_CELL_GRU, 2, 70, 33, BP_SEQ_EACH, 5, 9, 6, 6},
        {"seq lstm 130 mean b1 rmsprop", BP_CELL_LSTM, 1, 130, 0, BP_SEQ_MEAN, 1, 6, 5, 5},
        {"seq lstm 40-20 last b33 adamw", BP_CELL_LSTM, 2, 40, 20, BP_SEQ_LAST, 33, 5, 4, 3},
    };
    static const config configs[] = {
        {"37-21-9-5 relu/softmax b1 sgd", 3, {37, 21, 9, 5}, {BP_RELU, BP_TANH, BP_SOFTMAX}, BP_LOSS_CROSS_ENTROPY, 1, 0, 20, 0},
        {"37-21-9-5 epoch b1 sgd (deferred)", 3, {37, 21, 9, 5}, {BP_RELU, BP_TANH, BP_SOFTMAX}, BP_LOSS_CROSS_ENTROPY, 1, 0, 2, 1},
        {"37-21-9-5 b1 nesterov", 3, {37, 21, 9, 5}, {BP_LEAKY_RELU, BP_SIGMOID, BP_SOFTMAX}, BP_LOSS_CROSS_ENTROPY, 1, 2, 20, 0},
        {"37-21-9-5 b1 adam", 3, {37, 21, 9, 5}, {BP_RELU, BP_TANH, BP_SOFTMAX}, BP_LOSS_CROSS_ENTROPY, 1, 3, 20, 0},
        {"37-21-9-5 b7 momentum", 3, {37, 21, 9, 5}, {BP_RELU, BP_TANH, BP_SOFTMAX}, BP_LOSS_CROSS_ENTROPY, 7, 1, 10, 0},
        {"37-21-9-5 b7 rmsprop", 3, {37, 21, 9, 5}, {BP_TANH, BP_LINEAR, BP_SIGMOID}, BP_LOSS_CROSS_ENTROPY, 7, 5, 10, 0},
        {"37-21-9-5 b7 adam clip", 3, {37, 21, 9, 5}, {BP_RELU, BP_RELU, BP_LINEAR}, BP_LOSS_SQUARED, 7, 6, 10, 0},
        {"300-600-40-10 b64 sgd", 3, {300, 600, 40, 10}, {BP_RELU, BP_RELU, BP_SOFTMAX}, BP_LOSS_CROSS_ENTROPY, 64, 0, 3, 0},
        {"300-600-40-10 b64 adamw", 3, {300, 600, 40, 10}, {BP_RELU, BP_TANH, BP_SOFTMAX}, BP_LOSS_CROSS_ENTROPY, 64, 4, 3, 0},
        {"300-600-40-10 b33 epoch adam", 3, {300, 600, 40, 10}, {BP_LEAKY_RELU, BP_RELU, BP_SOFTMAX}, BP_LOSS_CROSS_ENTROPY, 33, 3, 1, 1},
        {"70-33-17-9-3 b13 nesterov", 4, {70, 33, 17, 9, 3}, {BP_SIGMOID, BP_TANH, BP_RELU, BP_SIGMOID}, BP_LOSS_SQUARED, 13, 2, 6, 0},
        {"70-33-17-9-3 b13 epoch rmsprop", 4, {70, 33, 17, 9, 3}, {BP_RELU, BP_RELU, BP_RELU, BP_SOFTMAX}, BP_LOSS_CROSS_ENTROPY, 13, 5, 2, 1},
    };
    size_t i;
    int fails = 0, l;
    bp_net probe;
    float pp[4], pg[4], pw[64];
    const int ps[2] = {1, 1};
    const bp_act pa[1] = {BP_LINEAR};
    if (bp_init(&probe, 1, ps, pa, BP_LOSS_SQUARED, 1, pp, 4, pg, 4, pw, 64) != BP_OK) return 1;
    if (argc > 1 && strcmp(argv[1], "best") != 0) {
        level = BP_LEVEL_COUNT;
        for (l = BP_LEVEL_BASE; l < BP_LEVEL_COUNT; l++)
            if (!strcmp(argv[1], bp_level_name((bp_level)l))
                || (!strcmp(argv[1], "own") && bp_set_level(&probe, (bp_level)l) == BP_OK)) {
                level = (bp_level)l;
                break;
            }
        if (level == BP_LEVEL_COUNT && strcmp(argv[1], "own") != 0) {
            fprintf(stderr, "same_bits: no level %s (own, best, base, avx2, avx512)\n", argv[1]);
            return 2;
        }
        if (level == BP_LEVEL_COUNT || bp_set_level(&probe, level) != BP_OK) {
            fprintf(stderr, "same_bits: this build or CPU has no level %s\n", argv[1]);
            return 3;
        }
    }
    bp_set_level(&probe, level);
    fprintf(stderr, "same_bits: level %s\n", bp_level_name(probe.level));
    for (i = 0; i < sizeof configs / sizeof configs[0]; i++) fails += run(&configs[i]);
    for (i = 0; i < sizeof seqs / sizeof seqs[0]; i++) fails += run_seq(&seqs[i]);
    return fails != 0;
}
