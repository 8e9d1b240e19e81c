/* recurrent.c - recurrent backpropagation: an associative memory that cleans up corrupted digits.

   A fully connected recurrent net (bp_rnet) of 64 "pixel" units and some hidden units sees a
   corrupted 8x8 digit as its external input and relaxes until its activity settles to a fixed
   point; the settled pixel units are its answer. It is trained by Almeida-Pineda recurrent
   backpropagation (bp_rnet_backward: a second, linear relaxation carries the error back) to make
   that fixed point the clean digit. Corruption: a random band of rows is erased and random
   pixels are salted to black or white. Data: the bundled optdigits, same split as ocr.c.

   Usage: recurrent [--epochs N] [--hidden N] [--lr X] [--seed N] [--data DIR] [--quiet]
   Prints before/after pictures with the number of relaxation steps, then a last line
   "recurrent: mean squared error per pixel: corrupted E0, recalled E1". Exit 0 when the
   recalled digits are at least twice as close to the clean ones as the corrupted inputs. */
#define BACKPROP_IMPLEMENTATION
#include "../backprop.h"
#include "digits.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef OCR_DATA_DIR
#define OCR_DATA_DIR "data"
#endif
#define SPLIT_SEED 20261127u
#define PIX 64

/* Erase a random band of 2 rows, then salt 8 random pixels to 0 or 1. */
static void corrupt(const float *clean, float *out, bp_rng *r) {
    int row = (int)bp_rng_below(r, 7), k;
    memcpy(out, clean, PIX * sizeof *out);
    memset(out + 8 * row, 0, 16 * sizeof *out);
    for (k = 0; k < 8; k++) out[bp_rng_below(r, PIX)] = (float)bp_rng_below(r, 2);
}

static float sq_error(const float *a, const float *b) {
    float s = 0;
    int k;
    for (k = 0; k < PIX; k++) s += (a[k] - b[k]) * (a[k] - b[k]);
    return s / PIX;
}

static int parse_int(const char *s, long lo, long hi, int *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < lo || v > hi) return -1;
    *out = (int)v;
    return 0;
}

int main(int argc, char **argv) {
    int epochs = 8, hidden = 32, quiet = 0, i, epoch, rc = 1;
    unsigned long long seed = 1;
    float lr = 0.05f;
    const char *dir = OCR_DATA_DIR;
    char img[1024], lab[1024], err[600];
    dataset all, train, test;
    float *params = NULL, *grads = NULL, *work = NULL, noisy[PIX];
    size_t np, nw;
    double before = 0, after = 0;
    bp_rnet net;
    bp_status s;
    bp_rng rng;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        char *end;
        if (!strcmp(a, "--quiet")) { quiet = 1; continue; }
        if (!strcmp(a, "--epochs") && !parse_int(v, 1, 10000, &epochs)) { i++; continue; }
        if (!strcmp(a, "--hidden") && !parse_int(v, 0, 4096, &hidden)) { i++; continue; }
        if (!strcmp(a, "--lr") && (lr = strtof(v, &end), *v && !*end && lr > 0 && lr <= 10)) { i++; continue; }
        if (!strcmp(a, "--seed") && (seed = strtoull(v, &end, 10), *v && !*end && *v != '-')) { i++; continue; }
        if (!strcmp(a, "--data") && *v) { dir = v; i++; continue; }
        fprintf(stderr, "recurrent: bad option or value at '%s'\n"
                        "usage: recurrent [--epochs 1..10000] [--hidden 0..4096] [--lr (0,10]] "
                        "[--seed N] [--data DIR] [--quiet]\n", a);
        return 2;
    }

    snprintf(img, sizeof img, "%s/optdigits-images.idx3-ubyte", dir);
    snprintf(lab, sizeof lab, "%s/optdigits-labels.idx1-ubyte", dir);
    memset(&train, 0, sizeof train);
    memset(&test, 0, sizeof test);
    if (dataset_load(&all, img, lab, err, sizeof err)) {
        fprintf(stderr, "recurrent: %s\n", err);
        return 1;
    }
    i = dataset_split(&all, 0.8, SPLIT_SEED, &train, &test);
    dataset_free(&all);
    if (i) {
        fprintf(stderr, "recurrent: out of memory\n");
        return 1;
    }

    /* units: [hidden..., 64 pixels]; the pixels are the outputs (the last units) */
    np = bp_rnet_params_size(hidden + PIX, PIX);
    nw = bp_rnet_work_size(hidden + PIX, PIX);
    params = (float *)malloc(np * sizeof *params);
    grads = (float *)malloc(np * sizeof *grads);
    work = (float *)malloc(nw * sizeof *work);
    if (!params || !grads || !work) {
        fprintf(stderr, "recurrent: out of memory\n");
        goto done;
    }
    s = bp_rnet_init(&net, hidden + PIX, PIX, PIX, BP_SIGMOID, params, np, grads, np, work, nw);
    if (s != BP_OK) {
        fprintf(stderr, "recurrent: %s\n", bp_strerror(s));
        goto done;
    }
    bp_rnet_randomize(&net, seed);
    net.tau = 0.5f;
    net.tol = 1e-4f;            /* pixels are drawn with 10 shades: 1e-4 is plenty */
    net.max_iters = 500;
    rng = bp_rng_seed(seed ^ 0xC0FFEEull);

    for (epoch = 0; epoch < epochs; epoch++) {
        double loss = 0;
        long steps = 0;
        int skipped = 0;
        for (i = 0; i < train.n; i++) {
            const float *clean = train.x + (size_t)bp_rng_below(&rng, (uint32_t)train.n) * PIX;
            float l;
            corrupt(clean, noisy, &rng);
            if ((s = bp_rnet_settle(&net, noisy)) == BP_OK)
                s = bp_rnet_backward(&net, noisy, clean, &l);
            if (s != BP_OK) {          /* a sample that does not settle teaches nothing: skip it */
                skipped++;
                continue;
            }
            bp_sgd(params, grads, net.n_params, lr);
            loss += l;
            steps += net.iters + net.adjoint_iters;
        }
        if (!quiet)
            fprintf(stderr, "epoch %2d/%d  loss %.4f  relaxation steps per sample %.1f%s\n", epoch + 1,
                    epochs, loss / (train.n - skipped), (double)steps / (train.n - skipped),
                    skipped ? "  (some samples did not settle)" : "");
    }

    /* the held-out digits: corrupted in, settled out */
    rng = bp_rng_seed(12345);
    for (i = 0; i < test.n; i++) {
        const float *clean = test.x + (size_t)i * PIX;
        corrupt(clean, noisy, &rng);
        if ((s = bp_rnet_settle(&net, noisy)) != BP_OK) {
            fprintf(stderr, "recurrent: test digit %d: %s\n", i, bp_strerror(s));
            goto done;
        }
        before += sq_error(noisy, clean);
        after += sq_error(bp_rnet_output(&net), clean);
        if (i < 4) {
            float recalled[PIX];
            const float *imgs[3];
            char cap[40];
            const char *caps[3];
            memcpy(recalled, bp_rnet_output(&net), sizeof recalled);
            imgs[0] = clean; imgs[1] = noisy; imgs[2] = recalled;
            snprintf(cap, sizeof cap, "settled: %d steps", net.iters);
            caps[0] = "clean"; caps[1] = "corrupted"; caps[2] = cap;
            draw_images(stdout, imgs, caps, 3, 8, 8);
            printf("\n");
        }
    }
    before /= test.n;
    after /= test.n;
    printf("recurrent: mean squared error per pixel: corrupted %.4f, recalled %.4f\n", before, after);
    rc = after * 2 <= before ? 0 : 1;
done:
    free(params); free(grads); free(work);
    dataset_free(&train);
    dataset_free(&test);
    return rc;
}
