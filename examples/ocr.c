/* ocr.c - the main job of backprop.h: learn to read handwritten digits.

   With no arguments it trains on the 1,797 digits bundled in data/ (optdigits, 8x8), split
   80/20 with a fixed seed, and prints a confusion matrix, some digits it got wrong, and
   "test accuracy: NN.NN%". With --train-images/--train-labels/--test-images/--test-labels it
   reads MNIST-format IDX files instead (MNIST, Fashion-MNIST, EMNIST; .gz too). --save FILE
   keeps the trained model; --load FILE evaluates a saved one without training; --checkpoint
   FILE keeps the whole training state every --every N epochs and, run again with the same
   command after a crash or a kill, resumes from it to the very bits of an uninterrupted
   run. Run with
   --help for the options: the training ones (optimizer, schedule, clipping, early stopping)
   and their defaults are shared with mpi_ocr (digits.h). Exit status: 0 done, 1 a file or data
   problem or a training that diverged, 2 a bad option. */
#define BACKPROP_IMPLEMENTATION
#include "../backprop.h"
#include "digits.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef OCR_DATA_DIR
#define OCR_DATA_DIR "data"      /* the Makefile sets the absolute path of the repository's */
#endif
#define SPLIT_SEED 20261127u     /* fixed: the bundled data's train/test split never moves */

/* The floats the training loop keeps (a checkpoint's extra floats), then the history */
enum { KEEP_FINGERPRINT = 0, KEEP_BEST_EPOCH = FINGERPRINT_FLOATS, KEEP_BEST_LOSS, KEEP_BEST_ACC,
       KEEP_EPOCHS_RUN, KEEP_STOPPED, KEEP_HIST };

typedef struct options {
    train_opts t;                        /* shared with mpi_ocr: see digits.h */
    int quiet;
    int shift, flip;                     /* augmentation: --shift N, --flip */
    const char *plot, *data_dir, *save, *load, *save_int8, *checkpoint;
    int every;                           /* --every N: a checkpoint each N epochs */
    int int8;                            /* --int8: the quantized net's accuracy too */
    const char *train_images, *train_labels, *test_images, *test_labels;
} options;

static void usage(FILE *f) {
    fprintf(f,
        "usage: ocr [options]\n"
        "Trains a dense network by backpropagation to read handwritten digits.\n"
        "\n"
        TRAIN_USAGE
        "  --shift N         augment: move each training image by up to N pixels each way, a\n"
        "                    new random shift every epoch (default 0: off)\n"
        "  --flip            augment: mirror each training image left-right with probability\n"
        "                    1/2 every epoch (clothes, not digits; default off)\n"
        "  --quiet           no progress lines on stderr\n"
        "  --plot FILE.svg   write loss and accuracy per epoch as an SVG chart\n"
        "  --save FILE       save the trained model (backprop.h's model format)\n"
        "  --checkpoint FILE keep the training's whole state in FILE (crash-safe writes); run\n"
        "                    the same command again and it resumes from FILE to the same\n"
        "                    final bits as a run never interrupted\n"
        "  --every N         write the checkpoint every N epochs, and after the last (default 1)\n"
        "  --load FILE       evaluate a saved model on the test set, without training\n"
        "  --int8            quantize the trained net to int8 (calibrated on the training\n"
        "                    images) and report its test accuracy too\n"
        "  --save-int8 FILE  the same, and save the int8 model (for bp2c and microcontrollers)\n"
        "  --data DIR        where the bundled optdigits IDX files are (default %s)\n"
        "  --train-images F --train-labels F --test-images F --test-labels F\n"
        "                    train and test on MNIST-format IDX files (raw or .gz) instead\n"
        "  --help            this text\n",
        OCR_DATA_DIR);
}

static int bad_value(const char *opt, const char *want, const char *got) {
    fprintf(stderr, "ocr: %s expects %s, got '%s' (see ocr --help)\n", opt, want, got);
    return 2;
}

/* Fills *o from argv. Returns 0, 2 for a bad option (message printed), or -1 for --help. */
static int parse_args(int argc, char **argv, options *o) {
    int i, k;
    memset(o, 0, sizeof *o);
    train_defaults(&o->t);
    o->data_dir = OCR_DATA_DIR;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL, *want = NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return -1;
        if (!strcmp(a, "--quiet")) { o->quiet = 1; continue; }
        if (!strcmp(a, "--flip")) { o->flip = 1; continue; }
        if (!strcmp(a, "--int8")) { o->int8 = 1; continue; }
        if (strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "ocr: unexpected argument '%s' (see ocr --help)\n", a);
            return 2;
        }
        if (!v) {
            fprintf(stderr, "ocr: %s needs a value (see ocr --help)\n", a);
            return 2;
        }
        if ((k = train_option(&o->t, a, v, &want)) < 0) return bad_value(a, want, v);
        if (k > 0) {
            i++;
            continue;
        }
        if (!strcmp(a, "--shift")) {
            if (train_int(v, 0, 16, &o->shift)) return bad_value(a, "an integer in 0..16", v);
        }
        else if (!strcmp(a, "--plot")) o->plot = v;
        else if (!strcmp(a, "--save")) o->save = v;
        else if (!strcmp(a, "--checkpoint")) o->checkpoint = v;
        else if (!strcmp(a, "--every")) {
            if (train_int(v, 1, 100000, &o->every)) return bad_value(a, "an integer in 1..100000", v);
        }
        else if (!strcmp(a, "--load")) o->load = v;
        else if (!strcmp(a, "--save-int8")) o->save_int8 = v;
        else if (!strcmp(a, "--data")) o->data_dir = v;
        else if (!strcmp(a, "--train-images")) o->train_images = v;
        else if (!strcmp(a, "--train-labels")) o->train_labels = v;
        else if (!strcmp(a, "--test-images")) o->test_images = v;
        else if (!strcmp(a, "--test-labels")) o->test_labels = v;
        else {
            fprintf(stderr, "ocr: unknown option '%s' (see ocr --help)\n", a);
            return 2;
        }
        i++;   /* the value */
    }
    if ((o->train_images || o->train_labels || o->test_images || o->test_labels)
        && !(o->train_images && o->train_labels && o->test_images && o->test_labels)) {
        fprintf(stderr, "ocr: IDX files need all four of --train-images, --train-labels, "
                        "--test-images and --test-labels\n");
        return 2;
    }
    if (o->load && (o->shift || o->flip)) {
        fprintf(stderr, "ocr: --shift and --flip change the training; with --load there is none\n");
        return 2;
    }
    if (o->load && o->checkpoint) {
        fprintf(stderr, "ocr: --checkpoint keeps a training; with --load there is none\n");
        return 2;
    }
    if (o->every && !o->checkpoint) {
        fprintf(stderr, "ocr: --every says how often to write --checkpoint FILE, which is not given\n");
        return 2;
    }
    if (!o->every) o->every = 1;
    if (o->load && o->plot) {
        fprintf(stderr, "ocr: --plot draws the training; with --load there is none\n");
        return 2;
    }
    return 0;
}

static double now(void) {
#ifdef _WIN32
    return (double)clock() / CLOCKS_PER_SEC;     /* Windows' clock() is wall time */
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
#endif
}

/* --int8, --save-int8: the net quantized (its activations' scales calibrated on the training
   images), its test accuracy, and the int8 model saved. 0, or 1 after a message. */
static int int8_report(bp_net *net, const dataset *train, const dataset *test, const options *o) {
    const int L = net->n_layers;
    const size_t nw = bp_qweights_size(L, net->sizes), nq = bp_qparams_size(L, net->sizes);
    const size_t nk = bp_qwork_size(L, net->sizes), npix = (size_t)test->rows * (size_t)test->cols;
    int8_t *w = (int8_t *)malloc(nw), *work = (int8_t *)malloc(nk);
    int32_t *q = (int32_t *)malloc(nq * sizeof *q);
    bp_qnet qn;
    bp_status s = BP_ERR_NULL;
    int i, right = 0, rc = 1;
    if (w && work && q) s = bp_quantize(net, train->x, train->n, w, nw, q, nq);
    if (s == BP_OK) s = bp_qinit(&qn, L, net->sizes, net->act, net->loss, w, nw, q, nq, work, nk);
    if (s != BP_OK) {
        fprintf(stderr, "ocr: cannot quantize the net: %s\n", bp_strerror(s));
        goto out;
    }
    for (i = 0; i < test->n; i++) right += bp_qpredict(&qn, test->x + (size_t)i * npix) == test->label[i];
    printf("int8 test accuracy: %.2f%% (weights %lu bytes; as floats %lu)\n",
           100.0 * right / test->n, (unsigned long)nw, (unsigned long)(4 * bp_params_size(L, net->sizes)));
    if (o->save_int8 && (s = bp_qsave_file(&qn, o->save_int8)) != BP_OK) {
        fprintf(stderr, "ocr: cannot save the int8 model to %s: %s%s%s\n", o->save_int8, bp_strerror(s),
                s == BP_ERR_IO ? ": " : "", s == BP_ERR_IO ? strerror(errno) : "");
        goto out;
    }
    rc = 0;
out:
    free(w); free(work); free(q);
    return rc;
}

/* The labels as ints, the form bp_train_epoch_labels takes. */
static int *int_labels(const dataset *d) {
    int *l = (int *)malloc((size_t)(d->n ? d->n : 1) * sizeof *l), i;
    if (l)
        for (i = 0; i < d->n; i++) l[i] = d->label[i];
    return l;
}

/* One epoch in the given order with each image augmented (--shift, --flip), drawn from *rng:
   the batches are assembled here and trained by bp_train_step_labels. xb, lb: room for a
   batch. Returns bp_train_epoch_labels's status, *loss and *done as it does. */
static bp_status augmented_epoch(bp_net *net, const bp_opt *opt, float *state, size_t ns, const dataset *d,
                                 const int *labels, const int *order, int batch, int shift, int flip,
                                 bp_rng *rng, float *xb, int *lb, float *loss, int *done) {
    const size_t npix = (size_t)d->rows * (size_t)d->cols;
    double sum = 0;
    bp_status s = BP_OK;
    int i, k;
    for (i = 0; i < d->n; i += batch) {
        const int b = d->n - i < batch ? d->n - i : batch;
        float l = 0;
        for (k = 0; k < b; k++) {
            const int at = order[i + k];
            const int dx = shift ? (int)bp_rng_below(rng, 2u * (unsigned)shift + 1u) - shift : 0;
            const int dy = shift ? (int)bp_rng_below(rng, 2u * (unsigned)shift + 1u) - shift : 0;
            const int f = flip ? (int)bp_rng_below(rng, 2u) : 0;
            augment(xb + (size_t)k * npix, d->x + (size_t)at * npix, d->rows, d->cols, dx, dy, f);
            lb[k] = labels[at];
        }
        if ((s = bp_train_step_labels(net, opt, state, ns, xb, lb, b, &l)) != BP_OK) break;
        sum += (double)l * b;
    }
    *done = i < d->n ? i : d->n;
    *loss = *done > 0 ? (float)(sum / *done) : 0.0f;
    return s;
}

/* Loss and accuracy per epoch as an SVG line chart: loss on the left axis, accuracy (train
   and test) on the right. Returns 0, or -1 if the file could not be written. */
static int write_plot(const char *path, const float *loss, const float *train_acc,
                      const float *test_acc, int epochs) {
    const double W = 720, H = 410, L = 70, R = 650, T = 40, Bm = 340;
    double maxloss = 0, minacc = 1;
    const float *series[3];
    static const char *names[3] = {"training loss", "training accuracy", "test accuracy"};
    static const char *colors[3] = {"#1f77b4", "#2ca02c", "#d62728"};
    FILE *f = fopen(path, "w");
    int e, s, k;
    if (!f) return -1;
    series[0] = loss; series[1] = train_acc; series[2] = test_acc;
    for (e = 0; e < epochs; e++) {
        if (loss[e] > maxloss) maxloss = loss[e];
        if (train_acc[e] < minacc) minacc = train_acc[e];
        if (test_acc[e] < minacc) minacc = test_acc[e];
    }
    if (maxloss <= 0) maxloss = 1;
    minacc = floor(minacc * 10) / 10;
    if (minacc > 0.9) minacc = 0.9;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
               "font-family=\"sans-serif\" font-size=\"12\">\n", W, H);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    fprintf(f, "<text x=\"%.0f\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">backprop.h OCR: "
               "loss and accuracy per epoch</text>\n", W / 2);
    for (k = 0; k <= 5; k++) {        /* grid and both axes' labels */
        double y = Bm - (Bm - T) * k / 5.0;
        fprintf(f, "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", L, y, R, y);
        fprintf(f, "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">%.3g</text>\n", L - 6, y + 4, maxloss * k / 5.0);
        fprintf(f, "<text x=\"%.0f\" y=\"%.1f\">%.1f%%</text>\n", R + 6, y + 4,
                100 * (minacc + (1 - minacc) * k / 5.0));
    }
    fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" stroke=\"#333\"/>\n",
            L, T, R - L, Bm - T);
    for (k = 0; k <= (epochs < 10 ? epochs : 10); k++) {
        int ep = epochs <= 1 ? 1 : 1 + (int)((epochs - 1) * (double)k / (epochs < 10 ? epochs : 10) + 0.5);
        double x = epochs <= 1 ? (L + R) / 2 : L + (R - L) * (ep - 1) / (epochs - 1.0);
        if (ep > epochs) continue;
        fprintf(f, "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%d</text>\n", x, Bm + 16, ep);
    }
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">epoch</text>\n", (L + R) / 2, Bm + 32);
    fprintf(f, "<text x=\"18\" y=\"%.0f\" transform=\"rotate(-90 18 %.0f)\" text-anchor=\"middle\">loss</text>\n",
            (T + Bm) / 2, (T + Bm) / 2);
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" transform=\"rotate(90 %.0f %.0f)\" text-anchor=\"middle\">accuracy</text>\n",
            W - 18, (T + Bm) / 2, W - 18, (T + Bm) / 2);
    for (s = 0; s < 3; s++) {
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", colors[s]);
        for (e = 0; e < epochs; e++) {
            double x = epochs <= 1 ? (L + R) / 2 : L + (R - L) * e / (epochs - 1.0);
            double v = s == 0 ? series[s][e] / maxloss : (series[s][e] - minacc) / (1 - minacc);
            fprintf(f, "%.1f,%.1f ", x, Bm - (Bm - T) * (v < 0 ? 0 : v));
        }
        fprintf(f, "\"/>\n");
        fprintf(f, "<line x1=\"%.0f\" y1=\"%d\" x2=\"%.0f\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2\"/>"
                   "<text x=\"%.0f\" y=\"%d\">%s</text>\n",
                L + 10 + 170.0 * s, 396, L + 34 + 170.0 * s, 396, colors[s], L + 40 + 170.0 * s, 400, names[s]);
    }
    fprintf(f, "</svg>\n");
    e = ferror(f);
    return fclose(f) == 0 && !e ? 0 : -1;
}

int main(int argc, char **argv) {
    options o;
    dataset train, test;
    char err[600];
    int sizes[BP_MAX_LAYERS + 1], classes = 0, i, epoch, rc = 1, n_layers;
    bp_act acts[BP_MAX_LAYERS];
    float *params = NULL, *grads = NULL, *state = NULL, *work = NULL, *best = NULL;
    float *hist = NULL, *keep = NULL, acc = 0, best_acc = 0, best_loss = -1;
    int *ltrain = NULL, *ltest = NULL, *lval = NULL, *order = NULL, *confusion = NULL, *lb = NULL;
    float *xb = NULL;
    int epochs_run = 0, best_epoch = 0, first_epoch = 0, stopped = 0;
    dataset val;
    size_t npix, np, nw, ns, nk;
    bp_checkpoint ck;
    uint64_t fingerprint = 0;
    bp_net net;
    bp_status s;
    bp_rng rng;
    double start;

    memset(&ck, 0, sizeof ck);
    i = parse_args(argc, argv, &o);
    if (i == -1) { usage(stdout); return 0; }
    if (i) return i;

    memset(&train, 0, sizeof train);
    memset(&test, 0, sizeof test);
    memset(&val, 0, sizeof val);
    if (o.train_images) {
        if (dataset_load(&train, o.train_images, o.train_labels, err, sizeof err)
            || dataset_load(&test, o.test_images, o.test_labels, err, sizeof err)) {
            fprintf(stderr, "ocr: %s\n", err);
            goto done;
        }
        if (train.rows != test.rows || train.cols != test.cols) {
            fprintf(stderr, "ocr: training images are %dx%d but test images are %dx%d\n",
                    train.rows, train.cols, test.rows, test.cols);
            goto done;
        }
    } else {
        dataset all;
        char img[1024], lab[1024];
        snprintf(img, sizeof img, "%s/optdigits-images.idx3-ubyte", o.data_dir);
        snprintf(lab, sizeof lab, "%s/optdigits-labels.idx1-ubyte", o.data_dir);
        if (dataset_load(&all, img, lab, err, sizeof err)) {
            fprintf(stderr, "ocr: %s\n(the bundled digits live in the repository's data/; "
                            "pass --data DIR if they are elsewhere)\n", err);
            goto done;
        }
        i = dataset_split(&all, 0.8, SPLIT_SEED, &train, &test);
        dataset_free(&all);
        if (i) {
            fprintf(stderr, "ocr: out of memory splitting the data\n");
            goto done;
        }
    }
    if (o.t.patience > 0 && !o.load) {   /* early stopping watches 10% of the training set */
        dataset fit;
        if (dataset_split(&train, 0.9, SPLIT_SEED + 1, &fit, &val)) {
            fprintf(stderr, "ocr: the training set is too small to hold out a validation set\n");
            goto done;
        }
        dataset_free(&train);
        train = fit;
    }
    for (i = 0; i < train.n; i++) if (train.label[i] + 1 > classes) classes = train.label[i] + 1;
    for (i = 0; i < test.n; i++) if (test.label[i] + 1 > classes) classes = test.label[i] + 1;
    if (classes < 2) classes = 2;
    npix = (size_t)train.rows * (size_t)train.cols;

    if (o.load) {       /* the network the file describes; it must fit the data */
        bp_loss loss;
        s = bp_peek_file(o.load, &n_layers, sizes, acts, &loss);
        if (s != BP_OK) {
            fprintf(stderr, "ocr: %s: %s%s%s\n", o.load, bp_strerror(s), s == BP_ERR_IO ? ": " : "",
                    s == BP_ERR_IO ? strerror(errno) : "");
            goto done;
        }
        if (sizes[0] != (int)npix || sizes[n_layers] < classes || loss != BP_LOSS_CROSS_ENTROPY
            || acts[n_layers - 1] != BP_SOFTMAX) {
            fprintf(stderr, "ocr: %s is a %d-input, %d-output model; these images have %d pixels and "
                            "%d classes\n", o.load, sizes[0], sizes[n_layers], (int)npix, classes);
            goto done;
        }
        classes = sizes[n_layers];
        o.t.epochs = 0;
    } else {            /* the network: inputs, the hidden layers, a softmax over the classes */
        n_layers = o.t.n_hidden + 1;
        sizes[0] = (int)npix;
        for (i = 0; i < o.t.n_hidden; i++) { sizes[i + 1] = o.t.hidden[i]; acts[i] = o.t.act; }
        sizes[n_layers] = classes;
        acts[n_layers - 1] = BP_SOFTMAX;
    }
    np = bp_params_size(n_layers, sizes);
    nw = bp_work_size(n_layers, sizes, o.t.batch);
    {
        const bp_opt first = train_bp_opt(&o.t, 0);
        ns = bp_opt_state_size(&first, np);
    }
    if (!np || !nw) {
        fprintf(stderr, "ocr: the network is too large for this machine\n");
        goto done;
    }
    params = floats_alloc(np);                  /* 64-byte aligned (digits.h): faster batches */
    grads = floats_alloc(np);
    state = floats_alloc(ns ? ns : 1);          /* the optimizer's, zeros */
    work = floats_alloc(nw);
    /* what the loop keeps besides the net and the optimizer, in one array that a checkpoint
       carries as its extra floats: KEEP_* below, the history per epoch, the best epoch's
       parameters (early stopping only) */
    nk = KEEP_HIST + 3 * (size_t)o.t.epochs + (val.n ? np : 0);
    keep = floats_alloc(nk);
    ltrain = int_labels(&train);
    ltest = int_labels(&test);
    lval = int_labels(&val);
    order = (int *)malloc((size_t)(train.n ? train.n : 1) * sizeof *order);
    confusion = (int *)calloc((size_t)classes * (size_t)classes, sizeof *confusion);
    xb = (float *)malloc((size_t)o.t.batch * npix * sizeof *xb);          /* an augmented batch */
    lb = (int *)malloc((size_t)o.t.batch * sizeof *lb);
    if (!params || !grads || !state || !work || !keep || !ltrain || !ltest || !lval || !order
        || !confusion || !xb || !lb) {
        fprintf(stderr, "ocr: out of memory\n");
        goto done;
    }
    s = bp_init(&net, n_layers, sizes, acts, BP_LOSS_CROSS_ENTROPY, o.t.batch, params, np, grads, np, work, nw);
    if (s != BP_OK) {
        fprintf(stderr, "ocr: %s\n", bp_strerror(s));
        goto done;
    }
    if (o.load && (s = bp_load_file(&net, o.load)) != BP_OK) {
        fprintf(stderr, "ocr: %s: %s\n", o.load, bp_strerror(s));
        goto done;
    }
    hist = keep + KEEP_HIST;
    best = hist + 3 * (size_t)o.t.epochs;
    if (!o.load) bp_randomize(&net, o.t.seed);
    rng = bp_rng_seed(o.t.seed ^ 0x5EED5EED5EED5EEDull);   /* shuffling: its own stream */
    if (o.checkpoint) {    /* resume from it if it is there: the run as it stood after an epoch */
        char more[200];
        FILE *f;
        snprintf(more, sizeof more, "ocr shift %d flip %d data %d %d %d %d", o.shift, o.flip,
                 train.n, test.n, (int)npix, classes);
        fingerprint = train_fingerprint(&o.t, more);
        memset(&ck, 0, sizeof ck);
        ck.opt = train_bp_opt(&o.t, 0);
        ck.state = state;
        ck.state_len = ns;
        ck.extra = keep;
        ck.n_extra = nk;
        if ((f = fopen(o.checkpoint, "rb")) != NULL) {
            fclose(f);
            s = bp_checkpoint_load_file(&net, &ck, o.checkpoint);
            if ((s == BP_OK && !fingerprint_same(keep + KEEP_FINGERPRINT, fingerprint))
                || s == BP_ERR_TOPOLOGY || s == BP_ERR_OPT_MISMATCH || s == BP_ERR_EXTRA) {
                fprintf(stderr, "ocr: %s is the checkpoint of a run with other settings or data "
                                "(%s): run that command, or remove the file to start over\n",
                        o.checkpoint, s == BP_OK ? "another fingerprint" : bp_strerror(s));
                goto done;
            }
            if (s != BP_OK) {
                fprintf(stderr, "ocr: cannot resume from %s: %s%s%s (remove it to start over)\n",
                        o.checkpoint, bp_strerror(s), s == BP_ERR_IO ? ": " : "",
                        s == BP_ERR_IO ? strerror(errno) : "");
                goto done;
            }
            rng = ck.rng;
            first_epoch = ck.epoch;
            best_epoch = (int)keep[KEEP_BEST_EPOCH];
            best_loss = keep[KEEP_BEST_LOSS];
            best_acc = keep[KEEP_BEST_ACC];
            epochs_run = (int)keep[KEEP_EPOCHS_RUN];
            stopped = keep[KEEP_STOPPED] != 0;
            if (!o.quiet)
                fprintf(stderr, "ocr: resuming from %s after epoch %d of %d%s\n", o.checkpoint,
                        first_epoch, o.t.epochs, stopped ? " (it had stopped early)" : "");
        } else if (errno != ENOENT) {
            fprintf(stderr, "ocr: cannot read %s: %s\n", o.checkpoint, strerror(errno));
            goto done;
        }
        fingerprint_put(keep + KEEP_FINGERPRINT, fingerprint);
    }

    if (!o.quiet && o.load)
        fprintf(stderr, "ocr: evaluating %s on %d test images\n", o.load, test.n);
    if (!o.quiet && !o.load)
        fprintf(stderr, "ocr: %d training and %d test images of %dx%d, %d classes; net %d",
                train.n, test.n, train.rows, train.cols, classes, sizes[0]);
    for (i = 1; i <= n_layers && !o.quiet && !o.load; i++) fprintf(stderr, "-%d", sizes[i]);
    if (!o.quiet && !o.load) {
        fprintf(stderr, " (%s, softmax); ", bp_act_name(o.t.act));
        train_describe(stderr, &o.t);
        if (o.t.patience > 0)
            fprintf(stderr, "ocr: early stopping after %d epochs without progress on %d held-out "
                            "training images\n", o.t.patience, val.n);
    }

    start = now();
    for (epoch = first_epoch; epoch < o.t.epochs && !stopped; epoch++) {
        const bp_opt opt = train_bp_opt(&o.t, epoch);     /* the schedule sets lr per epoch */
        float loss = 0, train_acc, test_acc, val_acc = 0, val_loss = 0;
        int done_n = 0;
        bp_shuffle(order, train.n, &rng);                 /* a new order every epoch */
        if (o.shift || o.flip)
            s = augmented_epoch(&net, &opt, state, ns, &train, ltrain, order, o.t.batch, o.shift, o.flip,
                                &rng, xb, lb, &loss, &done_n);
        else
            s = bp_train_epoch_labels(&net, &opt, state, ns, train.x, ltrain, train.n, order, &loss, &done_n);
        if (s != BP_OK) {
            fprintf(stderr, "ocr: epoch %d, at sample %d of %d: %s\n", epoch + 1, done_n, train.n, bp_strerror(s));
            if (s == BP_ERR_NONFINITE)
                fprintf(stderr, "ocr: the training diverged: try a smaller --lr, or --clip 1\n");
            goto done;
        }
        if ((s = bp_evaluate_labels(&net, train.x, ltrain, train.n, NULL, &train_acc)) != BP_OK
            || (s = bp_evaluate_labels(&net, test.x, ltest, test.n, NULL, &test_acc)) != BP_OK
            || (val.n && (s = bp_evaluate_labels(&net, val.x, lval, val.n, &val_loss, &val_acc)) != BP_OK)) {
            fprintf(stderr, "ocr: epoch %d: evaluating: %s\n", epoch + 1, bp_strerror(s));
            goto done;
        }
        hist[epoch] = loss;
        hist[o.t.epochs + epoch] = train_acc;
        hist[2 * o.t.epochs + epoch] = test_acc;
        epochs_run = epoch + 1;
        if (!o.quiet) {
            fprintf(stderr, "epoch %3d/%d  loss %.4f  train %6.2f%%  test %6.2f%%", epoch + 1, o.t.epochs,
                    (double)loss, 100.0 * train_acc, 100.0 * test_acc);
            if (val.n) fprintf(stderr, "  held-out %6.2f%%", 100.0 * val_acc);
            fprintf(stderr, "  %.2fs\n", now() - start);
        }
        if (val.n) {      /* early stopping on the held-out loss: best-so-far is a copy of params */
            if (best_loss < 0 || val_loss < best_loss) {
                best_loss = val_loss;
                best_acc = val_acc;
                best_epoch = epoch + 1;
                memcpy(best, params, np * sizeof *params);
            } else if (epoch + 1 - best_epoch >= o.t.patience) {
                stopped = 1;
            }
        }
        if (o.checkpoint && (stopped || (epoch + 1) % o.every == 0 || epoch + 1 == o.t.epochs)) {
            ck.opt = opt;
            ck.step = (uint64_t)(epoch + 1) * (uint64_t)((train.n + o.t.batch - 1) / o.t.batch);
            ck.epoch = epoch + 1;
            ck.rng = rng;             /* after this epoch's draws: the next one's order follows */
            keep[KEEP_BEST_EPOCH] = (float)best_epoch;
            keep[KEEP_BEST_LOSS] = best_loss;
            keep[KEEP_BEST_ACC] = best_acc;
            keep[KEEP_EPOCHS_RUN] = (float)epochs_run;
            keep[KEEP_STOPPED] = (float)stopped;
            if ((s = bp_checkpoint_save_file(&net, &ck, o.checkpoint)) != BP_OK) {
                fprintf(stderr, "ocr: cannot write the checkpoint %s: %s%s%s\n", o.checkpoint,
                        bp_strerror(s), s == BP_ERR_IO ? ": " : "", s == BP_ERR_IO ? strerror(errno) : "");
                goto done;
            }
        }
    }
    if (val.n && best_epoch > 0) {
        memcpy(params, best, np * sizeof *params);
        if (!o.quiet)
            fprintf(stderr, "ocr: kept epoch %d's parameters (held-out accuracy %.2f%%)%s\n", best_epoch,
                    100.0 * best_acc, epochs_run < o.t.epochs ? ", stopped early" : "");
    }

    /* results: confusion matrix, some mistakes drawn, the accuracy */
    {
        const float *wrong[6];
        char captions[6][40];
        const char *caps[6];
        int n_wrong = 0, right = 0, p;
        for (i = 0; i < test.n; i++) {
            int pred = bp_argmax(bp_forward(&net, test.x + (size_t)i * npix, 1), classes);
            confusion[test.label[i] * classes + pred]++;
            right += pred == test.label[i];
            if (pred != test.label[i] && n_wrong < 6) {
                wrong[n_wrong] = test.x + (size_t)i * npix;
                snprintf(captions[n_wrong], sizeof captions[0], "got %d, true %d", pred, test.label[i]);
                caps[n_wrong] = captions[n_wrong];
                n_wrong++;
            }
        }
        acc = (float)right / (float)test.n;
        printf("confusion matrix (rows: true class, columns: predicted)\n      ");
        for (p = 0; p < classes; p++) printf("%5d", p);
        printf("\n");
        for (i = 0; i < classes; i++) {
            printf("%5d ", i);
            for (p = 0; p < classes; p++) printf("%5d", confusion[i * classes + p]);
            printf("\n");
        }
        if (n_wrong) {
            printf("\nsome test images it got wrong:\n");
            draw_images(stdout, wrong, caps, train.cols <= 16 ? n_wrong : 2, test.rows, test.cols);
        }
        printf("\ntest accuracy: %.2f%%\n", 100.0 * acc);
    }
    if ((o.int8 || o.save_int8) && int8_report(&net, &train, &test, &o)) goto done;
    if (o.save && (s = bp_save_file(&net, o.save)) != BP_OK) {
        fprintf(stderr, "ocr: cannot save the model to %s: %s%s%s\n", o.save, bp_strerror(s),
                s == BP_ERR_IO ? ": " : "", s == BP_ERR_IO ? strerror(errno) : "");
        goto done;
    }
    if (o.plot && write_plot(o.plot, hist, hist + o.t.epochs, hist + 2 * o.t.epochs, epochs_run)) {
        fprintf(stderr, "ocr: cannot write the plot to %s: %s\n", o.plot, strerror(errno));
        goto done;
    }
    rc = 0;
done:
    floats_free(params); floats_free(grads); floats_free(state);
    floats_free(work); floats_free(keep);
    free(ltrain); free(ltest); free(lval); free(order); free(confusion); free(xb); free(lb);
    dataset_free(&train);
    dataset_free(&test);
    dataset_free(&val);
    return rc;
}
