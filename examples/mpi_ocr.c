/* mpi_ocr.c - the OCR example's training, data-parallel across MPI ranks.

   The library knows nothing of MPI; this is the whole pattern. Every rank holds the same
   parameters (same seed, then a broadcast from rank 0 to be certain). Each global batch is
   split across the ranks; every rank runs forward and backward on its share into the flat
   grads vector, one MPI_Allreduce sums the shares' contributions into the gradient of the
   global batch, and every rank applies the same update to the same parameters — so they stay
   identical without ever being sent again.

   Usage: mpirun -n 2 mpi_ocr [training options] [--steps N] [--dump FILE] [--quiet] [--data DIR]
          [--checkpoint FILE [--every N]]
          [--train-images F --train-labels F --test-images F --test-labels F]
   The training options and their defaults are ocr's (digits.h: --epochs --hidden --act --opt
   --lr --momentum --decay --schedule --clip --batch --patience --seed); --batch is the global
   batch. With --patience every rank evaluates the same parameters on the same held-out set,
   so all reach the same decision without a message. --steps stops after that many updates;
   --dump writes the final parameters (raw floats, host order) from rank 0. --checkpoint FILE
   keeps the training's state every --every N epochs (default 1), as ocr's does: rank 0 writes
   it (every rank holds the same state) and, when it exists at start-up, reads it and
   broadcasts its bytes, so that only rank 0 needs the file; the same command then resumes
   to the bits of an uninterrupted run (on the same number of ranks). Rank 0 reports
   progress and the final line "test accuracy: NN.NN%". Exit status: 0 done, 1 a data problem
   or a training that diverged, 2 a bad option. */
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

/* The floats the training loop keeps (a checkpoint's extra floats), then the best epoch's
   parameters (early stopping only) */
enum { KEEP_FINGERPRINT = 0, KEEP_BEST_EPOCH = FINGERPRINT_FLOATS, KEEP_BEST_LOSS, KEEP_BEST_ACC,
       KEEP_STOPPED, KEEP_BEST };

/* The labels as ints, the form the _labels calls take. */
static int *int_labels(const dataset *d) {
    int *l = (int *)malloc((size_t)(d->n ? d->n : 1) * sizeof *l), i;
    if (l)
        for (i = 0; i < d->n; i++) l[i] = d->label[i];
    return l;
}

int main(int argc, char **argv) {
    int rank, ranks, steps = -1, quiet = 0, i, rc = 1, n_layers, best_epoch = 0;
    float acc = 0, best_acc = 0, best_loss = -1, *t_train = NULL;
    float *params = NULL, *grads = NULL, *state = NULL, *work = NULL, *best = NULL;
    const char *dir = OCR_DATA_DIR, *dump = NULL, *ti = NULL, *tl = NULL, *si = NULL, *sl = NULL;
    const char *ckpath = NULL;
    int every = 0, first_epoch = 0, stopped = 0;
    float *keep = NULL;
    size_t nk = 0;
    bp_checkpoint ck;
    uint64_t fingerprint = 0;
    int sizes[BP_MAX_LAYERS + 1], *order = NULL, *ltest = NULL, *lval = NULL, classes = 0, step = 0, epoch;
    bp_act acts[BP_MAX_LAYERS];
    train_opts t;
    size_t ns = 0;
    dataset train, test, val;
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
    memset(&val, 0, sizeof val);
    train_defaults(&t);
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "", *want = NULL;
        int bad = 0, k;
        if (!strcmp(a, "--quiet")) { quiet = 1; continue; }
        if ((k = train_option(&t, a, v, &want)) != 0) bad = k < 0;
        else if (!strcmp(a, "--steps")) bad = train_int(v, 1, 1000000000, &steps);
        else if (!strcmp(a, "--dump")) bad = !*(dump = v);
        else if (!strcmp(a, "--checkpoint")) bad = !*(ckpath = v);
        else if (!strcmp(a, "--every")) bad = train_int(v, 1, 100000, &every);
        else if (!strcmp(a, "--data")) bad = !*(dir = v);
        else if (!strcmp(a, "--train-images")) bad = !*(ti = v);
        else if (!strcmp(a, "--train-labels")) bad = !*(tl = v);
        else if (!strcmp(a, "--test-images")) bad = !*(si = v);
        else if (!strcmp(a, "--test-labels")) bad = !*(sl = v);
        else bad = 1;
        if (bad) {
            if (rank == 0) fprintf(stderr, "mpi_ocr: bad option or value at '%s'%s%s (see the comment at the top of mpi_ocr.c)\n",
                                   a, want ? ": expects " : "", want ? want : "");
            rc = 2;
            goto done;
        }
        i++;
    }
    if ((every && !ckpath) || (ckpath && steps > 0)) {
        if (rank == 0) fprintf(stderr, "mpi_ocr: %s\n", every && !ckpath ? "--every needs --checkpoint FILE"
                                   : "--checkpoint keeps whole epochs; --steps stops within one: use one of them");
        rc = 2;
        goto done;
    }
    if (!every) every = 1;
    memset(&ck, 0, sizeof ck);
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
    if (t.patience > 0) {   /* ocr's held-out tenth, the same on every rank */
        dataset fit;
        if (dataset_split(&train, 0.9, SPLIT_SEED + 1, &fit, &val)) {
            snprintf(err, sizeof err, "the training set is too small to hold out a validation set");
            goto data_error;
        }
        dataset_free(&train);
        train = fit;
    }
    for (i = 0; i < train.n; i++) if (train.label[i] + 1 > classes) classes = train.label[i] + 1;
    for (i = 0; i < test.n; i++) if (test.label[i] + 1 > classes) classes = test.label[i] + 1;
    npix = (size_t)train.rows * (size_t)train.cols;
    n_layers = t.n_hidden + 1;             /* ocr's network: the hidden layers, a softmax */
    sizes[0] = (int)npix;
    for (i = 0; i < t.n_hidden; i++) { sizes[i + 1] = t.hidden[i]; acts[i] = t.act; }
    sizes[n_layers] = classes;
    acts[n_layers - 1] = BP_SOFTMAX;

    {   /* each rank's share of a global batch is at most ceil(batch / ranks) */
        const int share = (t.batch + ranks - 1) / ranks;
        const bp_opt first = train_bp_opt(&t, 0);
        size_t np = bp_params_size(n_layers, sizes), nw = bp_work_size(n_layers, sizes, share);
        ns = bp_opt_state_size(&first, np);
        params = floats_alloc(np);              /* 64-byte aligned (digits.h) */
        grads = floats_alloc(np);
        state = floats_alloc(ns ? ns : 1);
        nk = KEEP_BEST + (val.n ? np : 0);     /* a checkpoint's extra floats: KEEP_* */
        keep = floats_alloc(nk);
        best = keep + KEEP_BEST;
        work = floats_alloc(nw);
        order = (int *)malloc((size_t)train.n * sizeof *order);
        t_train = (float *)calloc((size_t)share * (size_t)classes, sizeof *t_train);
        ltest = int_labels(&test);
        lval = int_labels(&val);
        if (!np || !nw || !params || !grads || !state || !keep || !work || !order || !t_train || !ltest || !lval
            || bp_init(&net, n_layers, sizes, acts, BP_LOSS_CROSS_ENTROPY, share, params, np, grads, np, work, nw) != BP_OK) {
            snprintf(err, sizeof err, "out of memory");
            goto data_error;
        }
    }
    bp_randomize(&net, t.seed);
    MPI_Bcast(params, (int)net.n_params, MPI_FLOAT, 0, MPI_COMM_WORLD);   /* identical start */
    rng = bp_rng_seed(t.seed ^ 0x5EED5EED5EED5EEDull);                     /* identical order */
    if (ckpath) {          /* rank 0 reads the checkpoint, every rank loads the same bytes */
        char more[200];
        long len = -1;
        unsigned char *bytes = NULL;
        bp_status s = BP_OK;
        snprintf(more, sizeof more, "mpi_ocr ranks %d data %d %d %d %d", ranks, train.n, test.n, (int)npix, classes);
        fingerprint = train_fingerprint(&t, more);
        ck.opt = train_bp_opt(&t, 0);
        ck.state = state;
        ck.state_len = ns;
        ck.extra = keep;
        ck.n_extra = nk;
        if (rank == 0) {
            FILE *f = fopen(ckpath, "rb");
            if (f) {
                if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0
                    && (bytes = (unsigned char *)malloc(len ? (size_t)len : 1)) != NULL
                    && fread(bytes, 1, (size_t)len, f) == (size_t)len) {}
                else len = -2;
                fclose(f);
            } else if (errno != ENOENT) len = -2;
        }
        MPI_Bcast(&len, 1, MPI_LONG, 0, MPI_COMM_WORLD);
        if (len == -2) {
            if (rank == 0) fprintf(stderr, "mpi_ocr: cannot read %s: %s\n", ckpath, strerror(errno));
            free(bytes);
            goto done;
        }
        if (len >= 0) {
            if (rank != 0 && !(bytes = (unsigned char *)malloc(len ? (size_t)len : 1))) {
                fprintf(stderr, "mpi_ocr: out of memory\n");
                MPI_Abort(MPI_COMM_WORLD, 1);
            }
            MPI_Bcast(bytes, (int)len, MPI_BYTE, 0, MPI_COMM_WORLD);
            s = bp_checkpoint_load(&net, &ck, bytes, (size_t)len);
            free(bytes);
            if (s == BP_OK && !fingerprint_same(keep + KEEP_FINGERPRINT, fingerprint)) s = BP_ERR_OPT_MISMATCH;
            if (s != BP_OK) {      /* the same bytes, the same verdict on every rank */
                if (rank == 0) fprintf(stderr, "mpi_ocr: cannot resume from %s: %s (a run with other "
                                               "settings, ranks or data wrote it? remove it to start over)\n",
                                       ckpath, s == BP_ERR_OPT_MISMATCH ? "other settings" : bp_strerror(s));
                goto done;
            }
            rng = ck.rng;
            first_epoch = ck.epoch;
            step = (int)ck.step;
            best_epoch = (int)keep[KEEP_BEST_EPOCH];
            best_loss = keep[KEEP_BEST_LOSS];
            best_acc = keep[KEEP_BEST_ACC];
            stopped = keep[KEEP_STOPPED] != 0;
            if (rank == 0 && !quiet)
                fprintf(stderr, "mpi_ocr: resuming from %s after epoch %d of %d\n", ckpath, first_epoch, t.epochs);
        }
        fingerprint_put(keep + KEEP_FINGERPRINT, fingerprint);
    }
    if (rank == 0 && !quiet) {
        fprintf(stderr, "mpi_ocr: %d ranks, %d training and %d test images, net %d", ranks, train.n, test.n, sizes[0]);
        for (i = 1; i <= n_layers; i++) fprintf(stderr, "-%d", sizes[i]);
        fprintf(stderr, "; ");
        train_describe(stderr, &t);
    }

    t0 = MPI_Wtime();
    for (epoch = first_epoch; epoch < t.epochs && step != steps && !stopped; epoch++) {
        const bp_opt opt = train_bp_opt(&t, epoch);        /* the schedule sets lr per epoch */
        float *xb = (float *)malloc((size_t)net.max_batch * npix * sizeof *xb);
        double loss_sum = 0;
        bp_status s = BP_OK;
        bp_shuffle(order, train.n, &rng);
        for (i = 0; i < train.n && step != steps && s == BP_OK; i += t.batch, step++) {
            const int gb = train.n - i < t.batch ? train.n - i : t.batch;   /* this global batch */
            const int base = gb / ranks, extra = gb % ranks;                /* split it evenly */
            const int mine = base + (rank < extra), first = i + rank * base + (rank < extra ? rank : extra);
            double loss[2] = {0, 0};
            int k;
            memset(t_train, 0, (size_t)net.max_batch * (size_t)classes * sizeof *t_train);
            for (k = 0; k < mine; k++) {
                memcpy(xb + (size_t)k * npix, train.x + (size_t)order[first + k] * npix, npix * sizeof *xb);
                t_train[(size_t)k * (size_t)classes + train.label[order[first + k]]] = 1;
            }
            if (mine > 0) {
                /* grads = mean over my share; weighted by my share of the global batch, the
                   shares sum to the global batch's mean gradient */
                bp_forward(&net, xb, mine);
                loss[0] = (double)bp_backward(&net, xb, t_train, mine) * mine;
                for (k = 0; k < (int)net.n_params; k++) grads[k] *= (float)mine / (float)gb;
            } else {
                memset(grads, 0, net.n_params * sizeof *grads);
            }
            MPI_Allreduce(MPI_IN_PLACE, grads, (int)net.n_params, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
            MPI_Allreduce(loss, loss + 1, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
            s = bp_update(&net, &opt, state, ns);       /* the same update on every rank */
            loss_sum += loss[1];
        }
        free(xb);
        if (s != BP_OK) {          /* every rank saw the same gradient, so every rank stops */
            if (rank == 0) fprintf(stderr, "mpi_ocr: epoch %d: %s%s\n", epoch + 1, bp_strerror(s),
                                   s == BP_ERR_NONFINITE ? " (the training diverged: try a smaller --lr, or --clip 1)" : "");
            goto done;
        }
        trained += MPI_Wtime() - t0;
        if (val.n) {               /* early stopping: the same verdict on every rank */
            float val_acc = 0, val_loss = 0;
            bp_evaluate_labels(&net, val.x, lval, val.n, &val_loss, &val_acc);
            if (best_loss < 0 || val_loss < best_loss) {
                best_loss = val_loss;
                best_acc = val_acc;
                best_epoch = epoch + 1;
                memcpy(best, params, net.n_params * sizeof *params);
            } else if (epoch + 1 - best_epoch >= t.patience) {
                stopped = 1;
            }
        }
        if (ckpath && (stopped || (epoch + 1) % every == 0 || epoch + 1 == t.epochs)) {
            int ok = 1;
            if (rank == 0) {      /* the state is the same on every rank: one writes it */
                bp_status s2;
                ck.opt = opt;
                ck.step = (uint64_t)step;
                ck.epoch = epoch + 1;
                ck.rng = rng;
                keep[KEEP_BEST_EPOCH] = (float)best_epoch;
                keep[KEEP_BEST_LOSS] = best_loss;
                keep[KEEP_BEST_ACC] = best_acc;
                keep[KEEP_STOPPED] = (float)stopped;
                if ((s2 = bp_checkpoint_save_file(&net, &ck, ckpath)) != BP_OK) {
                    fprintf(stderr, "mpi_ocr: cannot write the checkpoint %s: %s%s%s\n", ckpath, bp_strerror(s2),
                            s2 == BP_ERR_IO ? ": " : "", s2 == BP_ERR_IO ? strerror(errno) : "");
                    ok = 0;
                }
            }
            MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
            if (!ok) goto done;
        }
        if (stopped) break;
        if (rank == 0 && !quiet) {
            bp_evaluate_labels(&net, test.x, ltest, test.n, NULL, &acc);
            fprintf(stderr, "epoch %3d/%d  loss %.4f  test %6.2f%%  %.2fs\n", epoch + 1, t.epochs,
                    loss_sum / (i < train.n ? i : train.n), 100.0 * acc, trained);
        }
        t0 = MPI_Wtime();
    }
    if (val.n && best_epoch > 0) {
        memcpy(params, best, net.n_params * sizeof *params);
        if (rank == 0 && !quiet)
            fprintf(stderr, "mpi_ocr: kept epoch %d's parameters (held-out accuracy %.2f%%)%s\n", best_epoch,
                    100.0 * best_acc, stopped ? ", stopped early" : "");
    }
    if (rank == 0) {
        bp_evaluate_labels(&net, test.x, ltest, test.n, NULL, &acc);
        if (!quiet) fprintf(stderr, "mpi_ocr: %d updates in %.2fs of training (%.0f samples/s)\n", step, trained,
                            trained > 0 ? (double)step * t.batch / trained : 0.0);
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
    floats_free(params); floats_free(grads); floats_free(state);
    floats_free(keep); floats_free(work);
    free(order); free(t_train);
    free(ltest); free(lval);
    dataset_free(&train);
    dataset_free(&test);
    dataset_free(&val);
    MPI_Finalize();
    return rc;
}
