/* bench_bp.c - backprop.h on the two reference workloads (DESIGN.md section 7), one epoch of
   Fashion-MNIST in file order, timing the training epoch alone.
     W1: 784-128-10, sigmoid hidden and output, squared loss, lr 0.1, batch 1 (per-sample SGD)
     W2: 784-256-128-10, ReLU hidden, softmax + cross-entropy, batch 64, lr 0.05
   Usage: bench_bp W1|W2 MODE TRAIN_IMAGES TRAIN_LABELS TEST_IMAGES TEST_LABELS
   MODE: "loop" is bp_forward + bp_backward + bp_sgd, "fused" is bp_train_step per batch,
   "epoch" one bp_train_epoch call over the training set, "shuffled" the same in an order from
   bp_shuffle (drawn before the clock starts), "adam" bp_train_step per batch with Adam
   (lr 0.001) instead of SGD.
   BENCH_LEVEL=base|avx2|avx512 in the environment pins the kernels' instruction-set level.
   Prints one line: "W1 fused samples/s 12345.6 gflops 1.23 accuracy 0.8350 params <hash>
   level avx512", the hash (FNV-1a 64 of the trained parameters' bytes) for comparing builds,
   levels and versions. */
#define BACKPROP_IMPLEMENTATION
#include "../backprop.h"
#include "../examples/digits.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* "infer": the net trained one epoch above, its forward pass over the test images: float one
   sample at a time and in batches of max_batch, and int8 (bp_quantize, calibrated on 10,000
   training images; bp_qpredict, one sample at a time: there is no batched int8 product). */
static int infer(bp_net *net, const dataset *train, const dataset *test, float acc) {
    const int L = net->n_layers, B = net->max_batch, n = test->n;
    const size_t nw = bp_qweights_size(L, net->sizes), nq = bp_qparams_size(L, net->sizes);
    const size_t nk = bp_qwork_size(L, net->sizes);
    int8_t *w = (int8_t *)malloc(nw), *k = (int8_t *)malloc(nk);
    int32_t *q = (int32_t *)malloc(nq * sizeof *q);
    double t[4], f1, f64, q1;
    int i, right = 0, sink = 0;
    bp_qnet qn;
    if (!w || !k || !q || bp_quantize(net, train->x, train->n < 10000 ? train->n : 10000, w, nw, q, nq) != BP_OK
        || bp_qinit(&qn, L, net->sizes, net->act, net->loss, w, nw, q, nq, k, nk) != BP_OK) return 1;
    t[0] = now();
    for (i = 0; i < n; i++) sink += bp_argmax(bp_forward(net, test->x + (size_t)i * 784, 1), 10);
    t[1] = now();
    for (i = 0; i < n; i += B) sink += (int)bp_forward(net, test->x + (size_t)i * 784, n - i < B ? n - i : B)[0];
    t[2] = now();
    for (i = 0; i < n; i++) right += bp_qpredict(&qn, test->x + (size_t)i * 784) == test->label[i];
    t[3] = now();
    f1 = n / (t[1] - t[0]); f64 = n / (t[2] - t[1]); q1 = n / (t[3] - t[2]);
    printf("W2 infer float1 %.1f float%d %.1f int8 %.1f int8/float1 %.3f int8/float%d %.3f "
           "accuracy float %.4f int8 %.4f level %s%s\n", f1, B, f64, q1, q1 / f1, B, q1 / f64,
           (double)acc, (double)right / n, bp_level_name(net->level), sink == -1 ? " " : "");
    free(w); free(k); free(q);
    return 0;
}

int main(int argc, char **argv) {
    static const int w1[] = {784, 128, 10}, w2[] = {784, 256, 128, 10};
    static const bp_act a1[] = {BP_SIGMOID, BP_SIGMOID}, a2[] = {BP_RELU, BP_RELU, BP_SOFTMAX};
    dataset train, test;
    char err[600];
    int is_w2, fused, epoch, shuffled, n_layers, batch, i, k, *order;
    const int *sizes;
    float *params, *grads, *work, *t_train, *t_test, *state, acc = -1, lr;
    void *mem[3];
    double t0, t1, flops = 0;
    bp_net net;
    bp_opt opt;
    if (argc != 7 || (strcmp(argv[1], "W1") && strcmp(argv[1], "W2"))
        || (strcmp(argv[2], "loop") && strcmp(argv[2], "fused") && strcmp(argv[2], "epoch")
            && strcmp(argv[2], "shuffled") && strcmp(argv[2], "adam") && strcmp(argv[2], "infer"))) {
        fprintf(stderr, "usage: bench_bp W1|W2 loop|fused|epoch|shuffled|adam|infer TRAIN_IMAGES TRAIN_LABELS TEST_IMAGES TEST_LABELS\n");
        return 2;
    }
    is_w2 = !strcmp(argv[1], "W2");
    fused = !strcmp(argv[2], "fused") || !strcmp(argv[2], "adam") || !strcmp(argv[2], "infer");
    shuffled = !strcmp(argv[2], "shuffled");
    epoch = !strcmp(argv[2], "epoch") || shuffled;
    if (dataset_load(&train, argv[3], argv[4], err, sizeof err) || dataset_load(&test, argv[5], argv[6], err, sizeof err)) {
        fprintf(stderr, "bench_bp: %s\n", err);
        return 1;
    }
    n_layers = is_w2 ? 3 : 2;
    sizes = is_w2 ? w2 : w1;
    batch = is_w2 ? 64 : 1;
    lr = is_w2 ? 0.05f : 0.1f;
    /* 64-byte aligned, as the README advises (malloc gives large blocks 16-byte alignment:
       W2 then runs 3 % slower on one thread, 4 % on two; Adam's state too, below) */
    if (posix_memalign(&mem[0], 64, bp_params_size(n_layers, sizes) * sizeof(float))
        || posix_memalign(&mem[1], 64, bp_params_size(n_layers, sizes) * sizeof(float))
        || posix_memalign(&mem[2], 64, bp_work_size(n_layers, sizes, batch) * sizeof(float))) return 1;
    params = (float *)mem[0];
    grads = (float *)mem[1];
    work = (float *)mem[2];
    if (bp_init(&net, n_layers, sizes, is_w2 ? a2 : a1, is_w2 ? BP_LOSS_CROSS_ENTROPY : BP_LOSS_SQUARED,
                batch, params, bp_params_size(n_layers, sizes), grads, bp_params_size(n_layers, sizes),
                work, bp_work_size(n_layers, sizes, batch)) != BP_OK) return 1;
    bp_randomize(&net, 1);
    if (getenv("BENCH_LEVEL")) {         /* pin an instruction-set level: base, avx2, avx512 */
        for (k = BP_LEVEL_BASE; k < BP_LEVEL_COUNT; k++)
            if (!strcmp(getenv("BENCH_LEVEL"), bp_level_name((bp_level)k))) break;
        if (bp_set_level(&net, (bp_level)k) != BP_OK) {
            fprintf(stderr, "bench_bp: no level %s in this build or on this CPU\n", getenv("BENCH_LEVEL"));
            return 1;
        }
    }
    t_train = (float *)calloc((size_t)train.n * 10, sizeof(float));
    t_test = (float *)calloc((size_t)test.n * 10, sizeof(float));
    for (i = 0; i < train.n; i++) t_train[i * 10 + train.label[i]] = 1;
    for (i = 0; i < test.n; i++) t_test[i * 10 + test.label[i]] = 1;
    opt = bp_opt_sgd(lr);
    if (!strcmp(argv[2], "adam")) opt = bp_opt_adam(0.001f);
    order = (int *)malloc((size_t)train.n * sizeof(int));
    {
        const size_t ns = bp_opt_state_size(&opt, net.n_params) + 1;
        bp_rng r = bp_rng_seed(1);
        void *m;
        if (posix_memalign(&m, 64, ns * sizeof(float)) || !order
            || bp_shuffle(order, train.n, &r) != BP_OK) return 1;
        state = (float *)m;                       /* zeros, as every optimizer's state starts */
        memset(state, 0, ns * sizeof(float));
    }
    t0 = now();
    if (epoch) bp_train_epoch(&net, &opt, NULL, 0, train.x, t_train, train.n, shuffled ? order : NULL, NULL, NULL);
    for (i = 0; i < train.n && !epoch; i += batch) {
        int b = train.n - i < batch ? train.n - i : batch;
        const float *x = train.x + (size_t)i * 784, *t = t_train + (size_t)i * 10;
        if (fused) {
            bp_train_step(&net, &opt, state, bp_opt_state_size(&opt, net.n_params), x, t, b, NULL);
        } else {
            bp_forward(&net, x, b);
            bp_backward(&net, x, t, b);
            bp_sgd(params, grads, net.n_params, lr);
        }
    }
    t1 = now();
    bp_evaluate(&net, test.x, t_test, test.n, NULL, &acc);
    /* flops per sample: forward 2 in out per layer, weight gradient 2 in out, input gradient
       2 in out for every layer but the first */
    for (k = 0; k < n_layers; k++) flops += (k ? 6.0 : 4.0) * sizes[k] * sizes[k + 1];
    if (!strcmp(argv[2], "infer")) return infer(&net, &train, &test, acc);
    {   /* the parameters' bytes, FNV-1a 64: builds and versions that must agree to the bit */
        const unsigned char *c = (const unsigned char *)params;
        size_t n = net.n_params * sizeof(float);
        unsigned long long h = 1469598103934665603ull;
        while (n--) { h ^= *c++; h *= 1099511628211ull; }
        printf("%s %s samples/s %.1f gflops %.2f accuracy %.4f params %016llx level %s\n", argv[1], argv[2],
               train.n / (t1 - t0), flops * train.n / (t1 - t0) * 1e-9, (double)acc, h,
               bp_level_name(net.level));
    }
    return 0;
}
