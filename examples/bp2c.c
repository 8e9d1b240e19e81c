/* bp2c.c - a saved model as C source, to compile into firmware (README, "Deploying to a
   microcontroller"):
       bp2c model.bpmodel > model.h                  a float model: bp_init_forward over it
       bp2c --int8 IMAGES model.bpmodel > model.h    quantized to int8 first, its activations
                                                     calibrated on an IDX image file (the
                                                     training images: pixels / 255, as ocr
                                                     reads them)
       bp2c model.bpq > model.h                      an int8 model (ocr --save-int8)
   --name NAME sets the C names' prefix (default "model"). Exit status 0, 1 for a file or model
   problem, 2 for a bad argument. */
#define BACKPROP_IMPLEMENTATION
#include "../backprop.h"
#include "digits.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(void) {
    fprintf(stderr, "usage: bp2c [--name NAME] [--int8 IMAGES] MODEL > model.h\n"
                    "Writes a backprop.h model (float, or int8 from ocr --save-int8) as a C\n"
                    "header;"
                    " --int8 quantizes a float model first, calibrated on an IDX image file.\n");
    return 2;
}

/* The images of an IDX file (raw or .gz) as floats, pixel / 255 as ocr reads them, for the
   calibration; each must have `pixels` pixels. 0, or -1 with err filled. */
static int load_images(dataset *d, const char *path, int pixels, char *err, size_t errlen) {
    size_t len, k;
    uint32_t dims[3];
    const unsigned char *px;
    unsigned char *buf = read_file(path, &len, err, errlen);
    if (!buf) return -1;
    if (idx_parse(buf, len, 3, dims, &px, err, errlen)) { free(buf); return -1; }
    if ((uint64_t)dims[1] * dims[2] != (uint64_t)pixels || dims[0] < 1) {
        snprintf(err, errlen, "%lu images of %lu pixels; the model takes %d inputs",
                 (unsigned long)dims[0], (unsigned long)dims[1] * dims[2], pixels);
        free(buf);
        return -1;
    }
    d->n = (int)dims[0]; d->rows = (int)dims[1]; d->cols = (int)dims[2];
    if (!(d->x = (float *)malloc((size_t)d->n * (size_t)pixels * sizeof *d->x))) {
        snprintf(err, errlen, "out of memory");
        free(buf);
        return -1;
    }
    for (k = 0; k < (size_t)d->n * (size_t)pixels; k++) d->x[k] = (float)px[k] * (1.0f / 255.0f);
    free(buf);
    return 0;
}

/* Writes the header to stdout; 0 or 1 (message printed) */
static int emit(bp_status s, const char *text) {
    if (s != BP_OK) {
        fprintf(stderr, "bp2c: cannot write the C source: %s\n", bp_strerror(s));
        return 1;
    }
    if (fputs(text, stdout) == EOF || fflush(stdout) != 0) {
        fprintf(stderr, "bp2c: cannot write to the standard output\n");
        return 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    const char *name = "model", *images = NULL, *path = NULL;
    unsigned char *bytes = NULL;
    char err[512], *text = NULL;
    int n_layers, sizes[BP_MAX_LAYERS + 1], i, rc = 1;
    bp_act acts[BP_MAX_LAYERS];
    bp_loss loss;
    size_t len = 0, need = 0;
    float *params = NULL, *work = NULL;
    int8_t *qw = NULL, *qwork = NULL;
    int32_t *q = NULL;
    dataset calib;
    bp_status s;
    memset(&calib, 0, sizeof calib);
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--name") && i + 1 < argc) name = argv[++i];
        else if (!strcmp(argv[i], "--int8") && i + 1 < argc) images = argv[++i];
        else if (argv[i][0] == '-' || path) return usage();
        else path = argv[i];
    }
    if (!path) return usage();
    if (!(bytes = read_file(path, &len, err, sizeof err))) {
        fprintf(stderr, "bp2c: %s\n", err);
        return 1;
    }
    if ((s = bp_qpeek(bytes, len, &n_layers, sizes, acts, &loss)) == BP_OK) {   /* int8 */
        const size_t nw = bp_qweights_size(n_layers, sizes), nq = bp_qparams_size(n_layers, sizes);
        const size_t nk = bp_qwork_size(n_layers, sizes);
        bp_qnet qn;
        if (images) {
            fprintf(stderr, "bp2c: %s is an int8 model already: --int8 is for float ones\n", path);
            goto done;
        }
        qw = (int8_t *)malloc(nw);
        q = (int32_t *)malloc(nq * sizeof *q);
        qwork = (int8_t *)malloc(nk);
        if (!qw || !q || !qwork) goto oom;
        if ((s = bp_qload(&qn, bytes, len, qw, nw, q, nq, qwork, nk)) != BP_OK) {
            fprintf(stderr, "bp2c: %s: %s\n", path, bp_strerror(s));
            goto done;
        }
        bp_qto_c(&qn, name, NULL, 0, &need);
        if (!(text = (char *)malloc(need + 1))) goto oom;
        rc = emit(bp_qto_c(&qn, name, text, need + 1, NULL), text);
    } else if (s == BP_ERR_KIND
               && (s = bp_peek(bytes, len, &n_layers, sizes, acts, &loss)) == BP_OK) {   /* float */
        const size_t np = bp_params_size(n_layers, sizes);
        const int batch = 64;
        const size_t nwork = bp_forward_work_size(n_layers, sizes, batch);
        bp_net net;
        params = (float *)malloc(np * sizeof *params);
        work = (float *)malloc(nwork * sizeof *work);
        if (!params || !work) goto oom;
        /* the model's parameters, then a forward view over them */
        s = bp_load_params(bytes, len, params, np);
        if (s == BP_OK)
            s = bp_init_forward(&net, n_layers, sizes, acts, loss, batch, params, np, work, nwork);
        if (s != BP_OK) {
            fprintf(stderr, "bp2c: %s: %s\n", path, bp_strerror(s));
            goto done;
        }
        if (images) {                  /* quantize, calibrated on the images */
            const size_t nw = bp_qweights_size(n_layers, sizes);
            const size_t nq = bp_qparams_size(n_layers, sizes), nk = bp_qwork_size(n_layers, sizes);
            bp_qnet qn;
            if (load_images(&calib, images, sizes[0], err, sizeof err)) {
                fprintf(stderr, "bp2c: %s: %s\n", images, err);
                goto done;
            }
            qw = (int8_t *)malloc(nw);
            q = (int32_t *)malloc(nq * sizeof *q);
            qwork = (int8_t *)malloc(nk);
            if (!qw || !q || !qwork) goto oom;
            s = bp_quantize(&net, calib.x, calib.n, qw, nw, q, nq);
            if (s == BP_OK)
                s = bp_qinit(&qn, n_layers, sizes, acts, loss, qw, nw, q, nq, qwork, nk);
            if (s != BP_OK) {
                fprintf(stderr, "bp2c: cannot quantize the model: %s\n", bp_strerror(s));
                goto done;
            }
            bp_qto_c(&qn, name, NULL, 0, &need);
            if (!(text = (char *)malloc(need + 1))) goto oom;
            rc = emit(bp_qto_c(&qn, name, text, need + 1, NULL), text);
        } else {
            bp_to_c(&net, name, NULL, 0, &need);
            if (!(text = (char *)malloc(need + 1))) goto oom;
            rc = emit(bp_to_c(&net, name, text, need + 1, NULL), text);
        }
    } else {
        fprintf(stderr, "bp2c: %s: %s\n", path, bp_strerror(s));
    }
    goto done;
oom:
    fprintf(stderr, "bp2c: out of memory\n");
done:
    free(bytes); free(text); free(params); free(work); free(qw); free(q); free(qwork);
    dataset_free(&calib);
    return rc;
}
