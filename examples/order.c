/* order.c - a GRU learns what a dense net cannot: which came first.
   Each sequence is 6 to 20 steps of symbols, one-hot over {A, B, c, d}: one A and one B at
   random places among the noise symbols c and d. The class is 1 when A comes before B, else
   0. Both classes hold the same symbols in the same numbers, so a dense net on what the
   sequence contains (the mean of its steps: all a bag of symbols tells) is at chance; a
   recurrent net reads the order. Trained on 2,000 sequences (batches of 32, lengths mixed in
   a batch), tested on 1,000 new ones; then one test sequence streamed step by step
   (bp_seq_step), its posterior after each symbol.
   Usage: order [--cell gru|lstm|elman] [--epochs N] [--seed N] [--quiet]
   Exits 0 after printing "test accuracy: NN.NN% (dense on the symbol counts: NN.NN%)". */
#define BACKPROP_IMPLEMENTATION
#include "../backprop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SYMS = 4, MAXLEN = 20, MINLEN = 6, NTRAIN = 2000, NTEST = 1000, BATCH = 32, HID = 24 };

/* n sequences into x (n x MAXLEN x SYMS, zero past each length), their lengths and labels */
static void make_set(bp_rng *r, int n, float *x, int *len, int *label) {
    int i, t;
    memset(x, 0, (size_t)n * MAXLEN * SYMS * sizeof *x);
    for (i = 0; i < n; i++) {
        const int L = MINLEN + (int)bp_rng_below(r, MAXLEN - MINLEN + 1);
        const int a = (int)bp_rng_below(r, (uint32_t)L);
        int b = (int)bp_rng_below(r, (uint32_t)L - 1);
        if (b >= a) b++;                                   /* a != b */
        for (t = 0; t < L; t++) {
            const int s = t == a ? 0 : t == b ? 1 : 2 + (int)bp_rng_below(r, 2);
            x[((size_t)i * MAXLEN + (size_t)t) * SYMS + (size_t)s] = 1.0f;
        }
        len[i] = L;
        label[i] = a < b;
    }
}

static void print_seq(const float *x, int len) {
    int t, s;
    for (t = 0; t < len; t++)
        for (s = 0; s < SYMS; s++)
            if (x[t * SYMS + s] != 0.0f) putchar("ABcd"[s]);
}

/* The dense baseline: a 4-16-2 net on each sequence's mean symbol (its counts / length) */
static float dense_baseline(const float *xtr, const int *ltr, const int *ytr, const float *xte,
                            const int *lte, const int *yte, int epochs) {
    static const int sizes[] = {SYMS, 16, 2};
    static const bp_act acts[] = {BP_TANH, BP_SOFTMAX};
    static float mtr[NTRAIN * SYMS], mte[NTEST * SYMS], p[114], g[114], w[4096], st[2 * 114 + 1];
    bp_net net;
    bp_opt opt = bp_opt_adam(1e-2f);
    float acc = 0.0f;
    int i, t, s, e;
    for (i = 0; i < NTRAIN + NTEST; i++) {
        const int tr = i < NTRAIN, k = tr ? i : i - NTRAIN, L = tr ? ltr[k] : lte[k];
        const float *xs = (tr ? xtr : xte) + (size_t)k * MAXLEN * SYMS;
        float *m = (tr ? mtr : mte) + (size_t)k * SYMS;
        for (s = 0; s < SYMS; s++) m[s] = 0.0f;
        for (t = 0; t < L; t++) for (s = 0; s < SYMS; s++) m[s] += xs[t * SYMS + s] / (float)L;
    }
    if (bp_params_size(2, sizes) != 114 || bp_work_size(2, sizes, BATCH) > 4096
        || bp_init(&net, 2, sizes, acts, BP_LOSS_CROSS_ENTROPY, BATCH, p, 114, g, 114, w, 4096)
        || bp_randomize(&net, 1))
        return -1.0f;
    for (e = 0; e < epochs; e++)
        bp_train_epoch_labels(&net, &opt, st, sizeof st / sizeof st[0], mtr, ytr, NTRAIN, NULL,
                              NULL, NULL);
    bp_evaluate_labels(&net, mte, yte, NTEST, NULL, &acc);
    return acc;
}

int main(int argc, char **argv) {
    static float xtr[NTRAIN * MAXLEN * SYMS], xte[NTEST * MAXLEN * SYMS];
    static int ltr[NTRAIN], ytr[NTRAIN], lte[NTEST], yte[NTEST], order[NTRAIN];
    bp_seq_spec spec;
    bp_seq seq;
    bp_seq_data train, test;
    bp_opt opt = bp_opt_adam(1e-2f);
    bp_rng r;
    float *params, *grads, *work, *state, *carry, loss, acc = 0.0f, dense;
    size_t np, nw, ns, nc;
    int epochs = 15, quiet = 0, e, i, t;
    unsigned long seed = 1;
    bp_status st;
    memset(&spec, 0, sizeof spec);
    spec.cell = BP_CELL_GRU;
    for (i = 1; i < argc; i++) {
        char *end = NULL;
        if (!strcmp(argv[i], "--quiet")) quiet = 1;
        else if (!strcmp(argv[i], "--cell") && i + 1 < argc) {
            i++;
            if (!strcmp(argv[i], "gru")) spec.cell = BP_CELL_GRU;
            else if (!strcmp(argv[i], "lstm")) spec.cell = BP_CELL_LSTM;
            else if (!strcmp(argv[i], "elman")) spec.cell = BP_CELL_ELMAN;
            else { fprintf(stderr, "order: --cell takes gru, lstm or elman, not '%s'\n", argv[i]); return 2; }
        } else if (!strcmp(argv[i], "--epochs") && i + 1 < argc) {
            epochs = (int)strtol(argv[++i], &end, 10);
            if (*end || epochs < 1 || epochs > 10000) { fprintf(stderr, "order: --epochs takes 1..10000\n"); return 2; }
        } else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
            seed = strtoul(argv[++i], &end, 10);
            if (*end || !*argv[i]) { fprintf(stderr, "order: --seed takes a number\n"); return 2; }
        } else {
            fprintf(stderr, "usage: order [--cell gru|lstm|elman] [--epochs N] [--seed N] [--quiet]\n");
            return 2;
        }
    }
    r = bp_rng_seed(seed);
    make_set(&r, NTRAIN, xtr, ltr, ytr);
    make_set(&r, NTEST, xte, lte, yte);
    /* a GRU of 24 units over the steps; its last state into a 2-class softmax */
    spec.n_inputs = SYMS; spec.n_rec = 1; spec.hidden[0] = HID; spec.out = BP_SEQ_LAST;
    spec.n_dense = 1; spec.dense[0] = 2; spec.act[0] = BP_SOFTMAX;
    spec.loss = BP_LOSS_CROSS_ENTROPY;
    opt.clip = 1.0f;                        /* gradients through 20 steps: clip their norm */
    np = bp_seq_params_size(&spec);
    nw = bp_seq_work_size(&spec, MAXLEN, BATCH);
    ns = bp_opt_state_size(&opt, np);
    params = malloc(np * sizeof *params); grads = malloc(np * sizeof *grads);
    work = malloc(nw * sizeof *work); state = calloc(ns, sizeof *state);
    nc = bp_seq_carry_size(&spec, 1);       /* one stream's state: h (an LSTM's c too) */
    carry = malloc(nc * sizeof *carry);
    if (!params || !grads || !work || !state || !carry) { fprintf(stderr, "order: out of memory\n"); return 1; }
    if ((st = bp_seq_init(&seq, &spec, MAXLEN, BATCH, params, np, grads, np, work, nw)) != BP_OK
        || (st = bp_seq_randomize(&seq, seed)) != BP_OK) {
        fprintf(stderr, "order: %s\n", bp_strerror(st));
        return 1;
    }
    memset(&train, 0, sizeof train);
    train.x = xtr; train.labels = ytr; train.lengths = ltr; train.n = NTRAIN;
    train.steps = MAXLEN; train.order = order;
    test = train;
    test.x = xte; test.labels = yte; test.lengths = lte; test.n = NTEST; test.order = NULL;
    printf("%s of %d units, %lu parameters; %d training sequences of %d..%d steps\n",
           spec.cell == BP_CELL_GRU ? "GRU" : spec.cell == BP_CELL_LSTM ? "LSTM" : "Elman", HID,
           (unsigned long)np, NTRAIN, MINLEN, MAXLEN);
    for (e = 0; e < epochs; e++) {
        float sum = 0.0f;
        int k = 0;
        bp_shuffle(order, NTRAIN, &r);
        for (i = 0; i < NTRAIN; i += BATCH, k++) {
            const int b = NTRAIN - i < BATCH ? NTRAIN - i : BATCH;
            if ((st = bp_seq_train_step(&seq, &opt, state, ns, &train, i, b, &loss)) != BP_OK) {
                fprintf(stderr, "order: %s\n", bp_strerror(st));
                return 1;
            }
            sum += loss;
        }
        bp_seq_evaluate(&seq, &test, NULL, &acc);
        if (!quiet) fprintf(stderr, "epoch %2d  loss %.4f  test %.2f%%\n", e + 1, (double)(sum / (float)k), 100.0 * acc);
    }
    /* stream one test sequence of each class, a symbol at a time: P(A first) as it reads (only
       the last step's answer was trained: it is meant once both symbols have been read) */
    for (i = 0; i < 2; i++) {
        int k = 0;
        while (yte[k] != 1 - i) k++;
        memset(carry, 0, nc * sizeof *carry);
        printf("streamed ");
        print_seq(xte + (size_t)k * MAXLEN * SYMS, lte[k]);
        printf(" (A %s B): P(A first) after each step:", yte[k] ? "before" : "after");
        for (t = 0; t < lte[k]; t++) {
            const float *y = bp_seq_step(&seq, xte + ((size_t)k * MAXLEN + (size_t)t) * SYMS, carry, nc, 1);
            printf(" %.2f", y ? (double)y[1] : -1.0);
        }
        printf("\n");
    }
    dense = dense_baseline(xtr, ltr, ytr, xte, lte, yte, epochs);
    printf("test accuracy: %.2f%% (dense on the symbol counts: %.2f%%)\n", 100.0 * acc,
           100.0 * dense);
    free(params); free(grads); free(work); free(state); free(carry);
    return 0;
}
