/* bench_fann.c - FANN 2.2 (Debian libfann-dev) on W1, with the settings of issue 6:
   fann_create_standard(3, 784, 128, 10), logistic sigmoid (FANN_SIGMOID, steepness 0.5) on
   hidden and output, FANN_TRAIN_INCREMENTAL, FANN_ERRORFUNC_LINEAR, momentum 0, learning rate
   0.1, fann_train once per sample in file order. Times the training epoch alone.
   Usage: bench_fann TRAIN_IMAGES TRAIN_LABELS TEST_IMAGES TEST_LABELS */
#include <floatfann.h>
#define BACKPROP_IMPLEMENTATION
#include "../backprop.h"
#include "../examples/digits.h"

#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
    dataset train, test;
    char err[600];
    struct fann *ann;
    float t[10];
    int i, k, right = 0;
    double t0, t1;
    if (argc != 5) return 2;
    if (dataset_load(&train, argv[1], argv[2], err, sizeof err) || dataset_load(&test, argv[3], argv[4], err, sizeof err)) {
        fprintf(stderr, "bench_fann: %s\n", err);
        return 1;
    }
    srand(1);
    ann = fann_create_standard(3, 784, 128, 10);
    fann_set_activation_function_hidden(ann, FANN_SIGMOID);
    fann_set_activation_function_output(ann, FANN_SIGMOID);
    fann_set_activation_steepness_hidden(ann, 0.5f);
    fann_set_activation_steepness_output(ann, 0.5f);
    fann_set_training_algorithm(ann, FANN_TRAIN_INCREMENTAL);
    fann_set_train_error_function(ann, FANN_ERRORFUNC_LINEAR);
    fann_set_learning_momentum(ann, 0.0f);
    fann_set_learning_rate(ann, 0.1f);
    t0 = now();
    for (i = 0; i < train.n; i++) {
        for (k = 0; k < 10; k++) t[k] = k == train.label[i] ? 1.0f : 0.0f;
        fann_train(ann, train.x + (size_t)i * 784, t);
    }
    t1 = now();
    for (i = 0; i < test.n; i++) right += bp_argmax(fann_run(ann, test.x + (size_t)i * 784), 10) == test.label[i];
    printf("W1 fann samples/s %.1f accuracy %.4f\n", train.n / (t1 - t0), (double)right / test.n);
    fann_destroy(ann);
    return 0;
}
