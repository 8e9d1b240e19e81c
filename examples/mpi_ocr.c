/* mpi_ocr.c - the OCR example's training, data-parallel across MPI ranks.

   The library knows nothing of MPI; this is the whole pattern. Every rank holds the same
   parameters (same seed, then a broadcast from rank 0 to be certain). Each global batch is
   split across the ranks; every rank runs forward and backward on its share into the flat
   grads vector, one MPI_Allreduce sums the shares' contributions into the gradient of the
   global batch, and every rank applies the same update to the same parameters — so they stay
   identical without ever being sent again.

   Usage: mpirun -n 2 mpi_ocr [--epochs N] [--hidden N] [--batch N] [--lr X] [--momentum X]
          [--seed N] [--steps N] [--dump FILE] [--quiet] [--data DIR]
          [--train-images F --train-labels F --test-images F --test-labels F]
   --batch is the global batch; --steps stops after that many updates; --dump writes the final
   parameters (raw floats, host order) from rank 0. Rank 0 reports progress and the final line
   "test accuracy: NN.NN%". Exit status: 0 done, 1 a data problem, 2 a bad option. */
#define BACKPROP_IMPLEMENTATION
#include "../backprop.h"
#include "digits.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef OCR_DATA_DIR
#define OCR_DATA_DIR "data"
#endif
#define SPLIT_SEED 20261127u     /* the same fixed split as ocr.c */

static int parse_int(const char *s, long lo, long hi, int *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < lo || v > hi) return -1;
    *out = (int)v;
    return 0;
}

static int parse_float(const char *s, double lo, double hi, float *out) {
    char *end;
    double v = strtod(s, &end);
    if (!*s || *end || !(v >= lo && v <= hi)) return -1;
    *out = (float)v;
    return 0;
}

int main(int argc, char **argv) {
    int rank, ranks, epochs = 10, hidden = 128, batch = 32, steps = -1, quiet = 0, i, rc = 1;
    unsigned long long seed = 1;
    float lr = 0.05f, momentum = 0.9f, acc = 0, *t_train = NULL, *t_test = NULL;
    float *params = NULL, *grads = NULL, *vel = NULL, *work = NULL;
    const char *dir = OCR_DATA_DIR, *dump = NULL, *ti = NULL, *tl = NULL, *si = NULL, *sl = NULL;
    int sizes[3], *order = NULL, classes = 0, step = 0, epoch;
    const bp_act acts[2] = {BP_RELU, BP_SOFTMAX};
    dataset train, test;
    char err[600];
    size_t npix;
    bp_net net;
    bp_rng rng;
    double t0, trained = 0;   /* seconds spent training, evaluations excluded */

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    memset(&train, 0, sizeof train);
    memset(&test, 0, sizeof test);
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        char *end;
        int bad = 0;
        if (!strcmp(a, "--quiet")) { quiet = 1; continue; }
        if (!strcmp(a, "--epochs")) bad = parse_int(v, 1, 100000, &epochs);
        else if (!strcmp(a, "--hidden")) bad = parse_int(v, 1, 65536, &hidden);
        else if (!strcmp(a, "--batch")) bad = parse_int(v, 1, 65536, &batch);
        else if (!strcmp(a, "--steps")) bad = parse_int(v, 1, 1000000000, &steps);
        else if (!strcmp(a, "--lr")) bad = parse_float(v, 1e-9, 10, &lr);
        else if (!strcmp(a, "--momentum")) bad = parse_float(v, 0, 0.999, &momentum);
        else if (!strcmp(a, "--seed")) { seed = strtoull(v, &end, 10); bad = !*v || *end || *v == '-'; }
        else if (!strcmp(a, "--dump")) bad = !*(dump = v);
        else if (!strcmp(a, "--data")) bad = !*(dir = v);
        else if (!strcmp(a, "--train-images")) bad = !*(ti = v);
        else if (!strcmp(a, "--train-labels")) bad = !*(tl = v);
        else if (!strcmp(a, "--test-images")) bad = !*(si = v);
        else if (!strcmp(a, "--test-labels")) bad = !*(sl = v);
        else bad = 1;
        if (bad) {
            if (rank == 0) fprintf(stderr, "mpi_ocr: bad option or value at '%s' (see the comment at the top of mpi_ocr.c)\n", a);
            rc = 2;
            goto done;
        }
        i++;
    }
    if ((ti || tl || si || sl) && !(ti && tl && si && sl)) {
        if (rank == 0) fprintf(stderr, "mpi_ocr: IDX files need all four of --train-images, --train-labels, --test-images, --test-labels\n");
        rc = 2;
        goto done;
    }

    /* every rank reads the data: simple, and the files are small next to the training */
    if (ti) {
        if (dataset_load(&train, ti, tl, err, sizeof err) || dataset_load(&test, si, sl, err, sizeof err)) goto data_error;
    } else {
        dataset all;
        char img[1024], lab[1024];
        snprintf(img, sizeof img, "%s/optdigits-images.idx3-ubyte", dir);
        snprintf(lab, sizeof lab, "%s/optdigits-labels.idx1-ubyte", dir);
        if (dataset_load(&all, img, lab, err, sizeof err)) goto data_error;
        i = dataset_split(&all, 0.8, SPLIT_SEED, &train, &test);
        dataset_free(&all);
        if (i) { snprintf(err, sizeof err, "out of memory"); goto data_error; }
    }
    for (i = 0; i < train.n; i++) if (train.label[i] + 1 > classes) classes = train.label[i] + 1;
    for (i = 0; i < test.n; i++) if (test.label[i] + 1 > classes) classes = test.label[i] + 1;
    npix = (size_t)train.rows * (size_t)train.cols;
    sizes[0] = (int)npix; sizes[1] = hidden; sizes[2] = classes;

    {   /* each rank's share of a global batch is at most ceil(batch / ranks) */
        const int share = (batch + ranks - 1) / ranks;
        size_t np = bp_params_size(2, sizes), nw = bp_work_size(2, sizes, share);
        params = (float *)malloc(np * sizeof *params);
        grads = (float *)malloc(np * sizeof *grads);
        vel = (float *)calloc(np, sizeof *vel);
        work = (float *)malloc(nw * sizeof *work);
        order = (int *)malloc((size_t)train.n * sizeof *order);
        t_train = (float *)calloc((size_t)train.n * (size_t)classes, sizeof *t_train);
        t_test = (float *)calloc((size_t)test.n * (size_t)classes, sizeof *t_test);
        if (!params || !grads || !vel || !work || !order || !t_train || !t_test
            || bp_init(&net, 2, sizes, acts, BP_LOSS_CROSS_ENTROPY, share, params, np, grads, np, work, nw) != BP_OK) {
            snprintf(err, sizeof err, "out of memory");
            goto data_error;
        }
    }
    for (i = 0; i < train.n; i++) t_train[(size_t)i * (size_t)classes + train.label[i]] = 1;
    for (i = 0; i < test.n; i++) t_test[(size_t)i * (size_t)classes + test.label[i]] = 1;
    bp_randomize(&net, seed);
    MPI_Bcast(params, (int)net.n_params, MPI_FLOAT, 0, MPI_COMM_WORLD);   /* identical start */
    rng = bp_rng_seed(seed ^ 0x5EED5EED5EED5EEDull);                       /* identical order */
    for (i = 0; i < train.n; i++) order[i] = i;
    if (rank == 0 && !quiet)
        fprintf(stderr, "mpi_ocr: %d ranks, global batch %d, %d training and %d test images, net %d-%d-%d\n",
                ranks, batch, train.n, test.n, sizes[0], sizes[1], sizes[2]);

    t0 = MPI_Wtime();
    for (epoch = 0; epoch < epochs && step != steps; epoch++) {
        bp_opt opt = bp_opt_sgd(lr);
        float *xb = (float *)malloc((size_t)net.max_batch * npix * sizeof *xb);
        float *tb = (float *)malloc((size_t)net.max_batch * (size_t)classes * sizeof *tb);
        double loss_sum = 0;
        shuffle(order, train.n, &rng);
        for (i = 0; i < train.n && step != steps; i += batch, step++) {
            const int gb = train.n - i < batch ? train.n - i : batch;       /* this global batch */
            const int base = gb / ranks, extra = gb % ranks;                /* split it evenly */
            const int mine = base + (rank < extra), first = i + rank * base + (rank < extra ? rank : extra);
            double loss[2] = {0, 0};
            int k;
            for (k = 0; k < mine; k++) {
                memcpy(xb + (size_t)k * npix, train.x + (size_t)order[first + k] * npix, npix * sizeof *xb);
                memcpy(tb + (size_t)k * (size_t)classes, t_train + (size_t)order[first + k] * (size_t)classes,
                       (size_t)classes * sizeof *tb);
            }
            if (mine > 0) {
                /* grads = mean over my share; weighted by my share of the global batch, the
                   shares sum to the global batch's mean gradient */
                bp_forward(&net, xb, mine);
                loss[0] = (double)bp_backward(&net, xb, tb, mine) * mine;
                for (k = 0; k < (int)net.n_params; k++) grads[k] *= (float)mine / (float)gb;
            } else {
                memset(grads, 0, net.n_params * sizeof *grads);
            }
            MPI_Allreduce(MPI_IN_PLACE, grads, (int)net.n_params, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
            MPI_Allreduce(loss, loss + 1, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
            bp_update(&net, &opt, vel, net.n_params);   /* the same update on every rank */
            loss_sum += loss[1];
        }
        free(xb);
        free(tb);
        trained += MPI_Wtime() - t0;
        if (rank == 0 && !quiet) {
            bp_evaluate(&net, test.x, t_test, test.n, NULL, &acc);
            fprintf(stderr, "epoch %3d/%d  loss %.4f  test %6.2f%%  %.2fs\n", epoch + 1, epochs,
                    loss_sum / (i < train.n ? i : train.n), 100.0 * acc, trained);
        }
        t0 = MPI_Wtime();
    }
    if (rank == 0) {
        bp_evaluate(&net, test.x, t_test, test.n, NULL, &acc);
        if (!quiet) fprintf(stderr, "mpi_ocr: %d updates in %.2fs of training (%.0f samples/s)\n", step, trained,
                            (double)step * batch / trained);
        if (dump) {
            FILE *f = fopen(dump, "wb");
            if (!f || fwrite(params, sizeof *params, net.n_params, f) != net.n_params || fclose(f)) {
                fprintf(stderr, "mpi_ocr: cannot write %s\n", dump);
                goto done;
            }
        }
        printf("test accuracy: %.2f%%\n", 100.0 * acc);
    }
    rc = 0;
    goto done;
data_error:
    if (rank == 0) fprintf(stderr, "mpi_ocr: %s\n", err);
done:
    free(params); free(grads); free(vel); free(work); free(order); free(t_train); free(t_test);
    dataset_free(&train);
    dataset_free(&test);
    MPI_Finalize();
    return rc;
}
