/* digits.h - the data side of the OCR example: MNIST-format IDX files (raw or gzip), a seeded
   train/test split, digits drawn as text. Part of the example, not of the library: it
   allocates, reads files and runs gzip, all of which backprop.h itself never does.

   IDX (the MNIST format): a 4-byte magic 00 00 TT DD, TT the element type (only 08, unsigned
   bytes, is read here) and DD the number of dimensions (3 for images, 1 for labels); then DD
   big-endian uint32 sizes; then the elements, row-major. A file must hold exactly that many
   bytes: fewer is "truncated", more is "trailing bytes". */
#ifndef DIGITS_H
#define DIGITS_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* gzip through popen on POSIX systems; not on Windows (unpack the files there) */
#if defined(_POSIX_C_SOURCE) && !defined(_WIN32)
#define DIGITS_POPEN 1
#include <sys/wait.h>
#else
#define DIGITS_POPEN 0
#endif
#include "../backprop.h"

#if defined(__GNUC__) || defined(__clang__)
#define DIGITS_FN static __attribute__((unused))   /* not every program uses every helper */
#else
#define DIGITS_FN static
#endif

#define DIGITS_MAX_FILE (1u << 30)      /* 1 GiB: far above MNIST's 47 MB, a guard, not a need */
#define DIGITS_MAX_PIXELS (1u << 20)    /* per image */

typedef struct dataset {
    int n, rows, cols;       /* n images of rows x cols pixels */
    float *x;                /* n rows of rows*cols floats in [0, 1] (byte / 255) */
    unsigned char *label;    /* n labels */
} dataset;

/* n floats, zeroed, 64 bytes aligned (a cache line: batches and Adam run faster, README
   "Alignment"; any alignment gives the same bits). C99 has no aligned allocation: calloc
   takes 64 bytes more, the pointer is rounded up, and the block's own pointer is kept just
   before it for floats_free. NULL if there is no memory. */
DIGITS_FN float *floats_alloc(size_t n) {
    const size_t extra = 64 + sizeof(void *);
    unsigned char *raw, *p;
    if (n > ((size_t)-1 - extra) / sizeof(float)) return NULL;
    raw = (unsigned char *)calloc(1, n * sizeof(float) + extra);
    if (!raw) return NULL;
    p = raw + sizeof(void *);
    p += (64 - (size_t)((uintptr_t)p % 64)) % 64;
    memcpy(p - sizeof(void *), &raw, sizeof raw);
    return (float *)p;
}

DIGITS_FN void floats_free(float *p) {
    void *raw;
    if (!p) return;
    memcpy(&raw, (unsigned char *)p - sizeof raw, sizeof raw);
    free(raw);
}

DIGITS_FN void dataset_free(dataset *d) {
    free(d->x);
    free(d->label);
    memset(d, 0, sizeof *d);
}

/* Checks an IDX buffer of unsigned bytes with `ndims` dimensions (1 or 3). On success fills
   dims[0..ndims-1] and *data and returns 0; otherwise writes a sentence to err, returns -1. */
DIGITS_FN int idx_parse(const unsigned char *buf, size_t len, int ndims, uint32_t dims[3],
                     const unsigned char **data, char *err, size_t errlen) {
    size_t head = 4 + 4 * (size_t)ndims;
    uint64_t total = 1;
    int d;
    if (len < 4) {
        snprintf(err, errlen, "too short for an IDX header (%zu bytes)", len);
        return -1;
    }
    if (buf[0] != 0 || buf[1] != 0) {
        snprintf(err, errlen, "not an IDX file (magic %02x %02x %02x %02x)", buf[0], buf[1], buf[2], buf[3]);
        return -1;
    }
    if (buf[2] != 0x08) {
        snprintf(err, errlen, "IDX element type 0x%02x is not supported (only 0x08, unsigned bytes)", buf[2]);
        return -1;
    }
    if (buf[3] != ndims) {
        snprintf(err, errlen, "IDX file has %d dimensions, expected %d (%s)", buf[3], ndims,
                 ndims == 3 ? "images: count, rows, columns" : "labels: count");
        return -1;
    }
    if (len < head) {
        snprintf(err, errlen, "truncated IDX header (%zu bytes, need %zu)", len, head);
        return -1;
    }
    for (d = 0; d < ndims; d++) {
        const unsigned char *p = buf + 4 + 4 * d;
        dims[d] = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        if (dims[d] == 0) {
            snprintf(err, errlen, "IDX dimension %d is 0", d);
            return -1;
        }
    }
    if (dims[0] > 0x7fffffffu) {
        snprintf(err, errlen, "IDX item count %lu is too large", (unsigned long)dims[0]);
        return -1;
    }
    if (ndims == 3 && (uint64_t)dims[1] * dims[2] > DIGITS_MAX_PIXELS) {
        snprintf(err, errlen, "IDX images of %lu x %lu pixels are too large",
                 (unsigned long)dims[1], (unsigned long)dims[2]);
        return -1;
    }
    for (d = 0; d < ndims; d++) total *= dims[d];   /* < 2^31 * 2^20: no overflow */
    if (total != len - head) {
        snprintf(err, errlen, total > len - head
                 ? "truncated IDX file: the header promises %llu bytes of data, the file has %llu"
                 : "IDX file has trailing bytes: the header promises %llu bytes of data, the file has %llu",
                 (unsigned long long)total, (unsigned long long)(len - head));
        return -1;
    }
    *data = buf + head;
    return 0;
}

/* Reads a whole file into a malloc'd buffer. A gzip file (magic 1f 8b) is unpacked through the
   system's gzip where popen exists. Returns NULL with a sentence in err on failure. */
DIGITS_FN unsigned char *read_file(const char *path, size_t *len, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL, magic[2];
    size_t cap = 0, n = 0, got;
    int gz = 0;
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    gz = fread(magic, 1, 2, f) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    if (gz) {
#if DIGITS_POPEN
        /* quote the path for the shell: ' becomes '\'' */
        size_t i, k = 0, plen = strlen(path);
        char *cmd = (char *)malloc(4 * plen + 32);
        if (!cmd) { fclose(f); snprintf(err, errlen, "out of memory"); return NULL; }
        k += (size_t)sprintf(cmd, "gzip -dc -- '");
        for (i = 0; i < plen; i++) {
            if (path[i] == '\'') { memcpy(cmd + k, "'\\''", 4); k += 4; }
            else cmd[k++] = path[i];
        }
        strcpy(cmd + k, "'");
        fclose(f);
        f = popen(cmd, "r");
        free(cmd);
        if (!f) {
            snprintf(err, errlen, "%s: cannot run gzip (%s); unpack it with gunzip and pass the unpacked file",
                     path, strerror(errno));
            return NULL;
        }
#else
        fclose(f);
        snprintf(err, errlen, "%s is gzip-compressed: unpack it with gunzip and pass the unpacked file", path);
        return NULL;
#endif
    } else {
        rewind(f);
    }
    for (;;) {
        if (n == cap) {
            unsigned char *nb;
            if (cap >= DIGITS_MAX_FILE) {
                snprintf(err, errlen, "%s: larger than %u bytes", path, DIGITS_MAX_FILE);
                goto fail;
            }
            cap = cap ? 2 * cap : 1 << 16;
            if (!(nb = (unsigned char *)realloc(buf, cap))) {
                snprintf(err, errlen, "%s: out of memory", path);
                goto fail;
            }
            buf = nb;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    if (ferror(f)) {
        snprintf(err, errlen, "%s: read error", path);
        goto fail;
    }
#if DIGITS_POPEN
    if (gz) {
        int st = pclose(f);
        f = NULL;
        if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 127)
                snprintf(err, errlen, "%s: gzip is not installed; unpack the file with gunzip and pass the unpacked file", path);
            else
                snprintf(err, errlen, "%s: gzip could not unpack it (corrupt or truncated .gz)", path);
            goto fail;
        }
    }
#endif
    if (f) fclose(f);
    *len = n;
    return buf;
fail:
#if DIGITS_POPEN
    if (f && gz) pclose(f); else
#endif
    if (f) fclose(f);
    free(buf);
    return NULL;
}

/* Builds a dataset from IDX image and label buffers. Returns 0, or -1 with err filled. */
DIGITS_FN int dataset_from_idx(dataset *d, const unsigned char *img, size_t img_len,
                            const unsigned char *lab, size_t lab_len, char *err, size_t errlen) {
    uint32_t di[3], dl[3];
    const unsigned char *pi, *pl;
    size_t i, npix;
    char why[200];
    memset(d, 0, sizeof *d);
    if (idx_parse(img, img_len, 3, di, &pi, why, sizeof why)) {
        snprintf(err, errlen, "images: %s", why);
        return -1;
    }
    if (idx_parse(lab, lab_len, 1, dl, &pl, why, sizeof why)) {
        snprintf(err, errlen, "labels: %s", why);
        return -1;
    }
    if (di[0] != dl[0]) {
        snprintf(err, errlen, "%lu images but %lu labels", (unsigned long)di[0], (unsigned long)dl[0]);
        return -1;
    }
    npix = (size_t)di[1] * di[2];
    if ((size_t)di[0] > ((size_t)-1) / sizeof(float) / npix) {
        snprintf(err, errlen, "%lu images do not fit in memory here", (unsigned long)di[0]);
        return -1;
    }
    d->n = (int)di[0];
    d->rows = (int)di[1];
    d->cols = (int)di[2];
    d->x = (float *)malloc((size_t)d->n * npix * sizeof(float));
    d->label = (unsigned char *)malloc((size_t)d->n);
    if (!d->x || !d->label) {
        dataset_free(d);
        snprintf(err, errlen, "out of memory for %d images", (int)di[0]);
        return -1;
    }
    for (i = 0; i < (size_t)d->n * npix; i++) d->x[i] = (float)pi[i] * (1.0f / 255.0f);
    memcpy(d->label, pl, (size_t)d->n);
    return 0;
}

/* Appends src to the string in dst (capacity cap), cutting it short if it does not fit. */
DIGITS_FN void str_append(char *dst, size_t cap, const char *src) {
    size_t k = strlen(dst);
    while (*src && k + 1 < cap) dst[k++] = *src++;
    dst[k] = 0;
}

/* Reads an image file and a label file. Returns 0, or -1 with err filled. */
DIGITS_FN int dataset_load(dataset *d, const char *images, const char *labels, char *err, size_t errlen) {
    size_t li = 0, ll = 0;
    char why[256];
    unsigned char *bi = read_file(images, &li, err, errlen), *bl;
    int rc;
    if (!bi) return -1;
    if (!(bl = read_file(labels, &ll, err, errlen))) {
        free(bi);
        return -1;
    }
    rc = dataset_from_idx(d, bi, li, bl, ll, why, sizeof why);
    if (rc) {      /* "images + labels: why", cut to errlen */
        err[0] = 0;
        str_append(err, errlen, images);
        str_append(err, errlen, " + ");
        str_append(err, errlen, labels);
        str_append(err, errlen, ": ");
        str_append(err, errlen, why);
    }
    free(bi);
    free(bl);
    return rc;
}

/* Copies the samples idx[0..n-1] of src into a new dataset. */
/* Augmentation: dst = the rows x cols image src moved dx pixels right and dy down (what moves
   in from outside is 0, the background), then mirrored left-right if flip. */
DIGITS_FN void augment(float *dst, const float *src, int rows, int cols, int dx, int dy, int flip) {
    int r, c;
    for (r = 0; r < rows; r++)
        for (c = 0; c < cols; c++) {
            const int sr = r - dy, sc = (flip ? cols - 1 - c : c) - dx;
            dst[r * cols + c] = sr >= 0 && sr < rows && sc >= 0 && sc < cols ? src[sr * cols + sc] : 0.0f;
        }
}

DIGITS_FN int dataset_subset(const dataset *src, const int *idx, int n, dataset *out) {
    size_t npix = (size_t)src->rows * (size_t)src->cols;
    int i;
    memset(out, 0, sizeof *out);
    out->n = n;
    out->rows = src->rows;
    out->cols = src->cols;
    out->x = (float *)malloc((size_t)(n ? n : 1) * npix * sizeof(float));
    out->label = (unsigned char *)malloc((size_t)(n ? n : 1));
    if (!out->x || !out->label) {
        dataset_free(out);
        return -1;
    }
    for (i = 0; i < n; i++) {
        memcpy(out->x + (size_t)i * npix, src->x + (size_t)idx[i] * npix, npix * sizeof(float));
        out->label[i] = src->label[idx[i]];
    }
    return 0;
}

/* The fixed split: shuffle with `seed`, the first floor(frac * n) samples train, the rest
   test. Both parts are new datasets. Returns 0, or -1 if out of memory or a part is empty. */
DIGITS_FN int dataset_split(const dataset *all, double frac, uint64_t seed, dataset *train, dataset *test) {
    int *order = (int *)malloc((size_t)all->n * sizeof(int)), ntrain;
    bp_rng r = bp_rng_seed(seed);
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    ntrain = (int)(frac * all->n);
    if (!order || ntrain < 1 || ntrain >= all->n) {
        free(order);
        return -1;
    }
    bp_shuffle(order, all->n, &r);     /* identity, then Fisher-Yates: the split of old */
    if (dataset_subset(all, order, ntrain, train) || dataset_subset(all, order + ntrain, all->n - ntrain, test)) {
        dataset_free(train);
        dataset_free(test);
        free(order);
        return -1;
    }
    free(order);
    return 0;
}

/* Draws up to 8 images side by side as text, two characters per pixel, with a caption above
   each. */
DIGITS_FN void draw_images(FILE *f, const float *const *img, const char *const *caption, int k,
                        int rows, int cols) {
    static const char ramp[] = " .:-=+*#%@";
    int r, c, i, width = 2 * cols + 3;
    if (k > 8) k = 8;
    for (i = 0; i < k; i++) fprintf(f, "%-*.*s", width, width - 1, caption[i]);
    fputc('\n', f);
    for (r = 0; r < rows; r++) {
        for (i = 0; i < k; i++) {
            fputc('|', f);
            for (c = 0; c < cols; c++) {
                float v = img[i][r * cols + c];
                int level = v <= 0 ? 0 : v >= 1 ? 9 : (int)(v * 9.999f);
                fputc(ramp[level], f);
                fputc(ramp[level], f);
            }
            fputs("| ", f);
        }
        fputc('\n', f);
    }
}

/* ---- the training settings ocr and mpi_ocr share -------------------------------------------
   One set of defaults, chosen to hold on the bundled digits and on Fashion-MNIST alike (the
   README's "Choosing settings"; the runs behind them are in BENCHMARKS.md): Adam at 3e-3,
   batches of 32, the learning rate on a cosine over the epochs, a new shuffle every epoch. */
typedef enum schedule { SCHED_NONE, SCHED_COSINE, SCHED_STEP } schedule;

typedef struct train_opts {
    int epochs, batch, n_hidden, hidden[BP_MAX_LAYERS - 1], patience;
    bp_act act;
    bp_method method;
    int plain;                 /* SGD without momentum (--opt sgd) */
    float lr, momentum, decay, clip;   /* lr, momentum, decay < 0: the optimizer's default */
    schedule sched;
    unsigned long long seed;
} train_opts;

#define TRAIN_USAGE \
    "  --epochs N        passes over the training set (default 30)\n" \
    "  --hidden LIST     hidden layer sizes, e.g. 128 or 256,128 (default 128)\n" \
    "  --act NAME        hidden activation: relu, leaky_relu, tanh, sigmoid, linear (default relu)\n" \
    "  --opt NAME        sgd, momentum, adam, adamw or rmsprop (default adam)\n" \
    "  --lr X            learning rate (default 0.003 for adam, adamw, rmsprop; 0.05 for sgd\n" \
    "                    and momentum)\n" \
    "  --momentum X      momentum of momentum and rmsprop, 0 <= X < 1 (default 0.9; rmsprop 0)\n" \
    "  --decay X         weight decay: L2, or decoupled for adamw (default 0; adamw 0.01;\n" \
    "                    momentum 0.0001)\n" \
    "  --schedule NAME   learning rate over the epochs: cosine, step (x0.1 at each third) or\n" \
    "                    none (default cosine)\n" \
    "  --clip X          clip the gradient's global norm at X (default 0: off)\n" \
    "  --batch N         mini-batch size (default 32)\n" \
    "  --patience N      hold out a tenth of the training set; stop when its loss has not\n" \
    "                    improved for N epochs, and keep the best epoch's parameters (default\n" \
    "                    0: off)\n" \
    "  --seed N          seed for the weights and the shuffling (default 1)\n"

DIGITS_FN void train_defaults(train_opts *t) {
    memset(t, 0, sizeof *t);
    t->epochs = 30;
    t->batch = 32;
    t->n_hidden = 1;
    t->hidden[0] = 128;
    t->act = BP_RELU;
    t->method = BP_ADAM;
    t->lr = t->momentum = t->decay = -1.0f;
    t->sched = SCHED_COSINE;
    t->seed = 1;
}

DIGITS_FN int train_int(const char *s, long lo, long hi, int *out) {
    char *end;
    long v;
    errno = 0;
    v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi) return -1;
    *out = (int)v;
    return 0;
}

DIGITS_FN int train_float(const char *s, double lo, double hi, int lo_open, float *out) {
    char *end;
    double v;
    errno = 0;
    v = strtod(s, &end);
    if (!*s || *end || errno || !(v >= lo && v <= hi) || (lo_open && v == lo)) return -1;
    *out = (float)v;
    return 0;
}

/* One training option: 1 if name is one and v parsed, 0 if name is not a training option,
   -1 if v is bad (*want then says what was expected). */
DIGITS_FN int train_option(train_opts *t, const char *name, const char *v, const char **want) {
    static const char *const methods[] = {"sgd", "momentum", "adam", "adamw", "rmsprop"};
    int k;
    if (!strcmp(name, "--epochs")) {
        *want = "an integer in 1..100000";
        return train_int(v, 1, 100000, &t->epochs) ? -1 : 1;
    } else if (!strcmp(name, "--batch")) {
        *want = "an integer in 1..65536";
        return train_int(v, 1, 65536, &t->batch) ? -1 : 1;
    } else if (!strcmp(name, "--patience")) {
        *want = "an integer in 0..100000";
        return train_int(v, 0, 100000, &t->patience) ? -1 : 1;
    } else if (!strcmp(name, "--hidden")) {
        char buf[256], *tok, *rest;
        *want = "1 to 15 sizes in 1..65536 separated by commas, such as 256,128";
        if (strlen(v) >= sizeof buf) return -1;
        strcpy(buf, v);
        t->n_hidden = 0;
        for (tok = buf; tok; tok = rest) {
            if ((rest = strchr(tok, ',')) != NULL) *rest++ = 0;
            if (t->n_hidden == BP_MAX_LAYERS - 1 || train_int(tok, 1, 65536, &t->hidden[t->n_hidden++])) return -1;
        }
        return 1;
    } else if (!strcmp(name, "--act")) {
        *want = "relu, leaky_relu, tanh, sigmoid or linear";
        for (k = 0; k < BP_SOFTMAX; k++) if (!strcmp(v, bp_act_name((bp_act)k))) break;
        if (k == BP_SOFTMAX) return -1;
        t->act = (bp_act)k;
        return 1;
    } else if (!strcmp(name, "--opt")) {
        *want = "sgd, momentum, adam, adamw or rmsprop";
        for (k = 0; k < 5; k++) if (!strcmp(v, methods[k])) break;
        if (k == 5) return -1;
        t->plain = k == 0;
        t->method = k <= 1 ? BP_SGD : k == 2 ? BP_ADAM : k == 3 ? BP_ADAMW : BP_RMSPROP;
        return 1;
    } else if (!strcmp(name, "--schedule")) {
        *want = "cosine, step or none";
        if (!strcmp(v, "cosine")) t->sched = SCHED_COSINE;
        else if (!strcmp(v, "step")) t->sched = SCHED_STEP;
        else if (!strcmp(v, "none")) t->sched = SCHED_NONE;
        else return -1;
        return 1;
    } else if (!strcmp(name, "--lr")) {
        *want = "a number in (0, 10]";
        return train_float(v, 0, 10, 1, &t->lr) ? -1 : 1;
    } else if (!strcmp(name, "--momentum")) {
        *want = "a number in [0, 0.999]";
        return train_float(v, 0, 0.999, 0, &t->momentum) ? -1 : 1;
    } else if (!strcmp(name, "--decay")) {
        *want = "a number in [0, 1]";
        return train_float(v, 0, 1, 0, &t->decay) ? -1 : 1;
    } else if (!strcmp(name, "--clip")) {
        *want = "a number in [0, 1e6]";
        return train_float(v, 0, 1e6, 0, &t->clip) ? -1 : 1;
    } else if (!strcmp(name, "--seed")) {
        char *end;
        *want = "a non-negative integer";
        errno = 0;
        t->seed = strtoull(v, &end, 10);
        return !*v || *end || errno || *v == '-' ? -1 : 1;
    }
    return 0;
}

/* The optimizer of epoch e (0-based): the method with its defaults, the schedule applied. */
DIGITS_FN bp_opt train_bp_opt(const train_opts *t, int e) {
    const int sgd = t->method == BP_SGD;
    float lr = t->lr > 0 ? t->lr : sgd ? 0.05f : 0.003f;
    bp_opt o = bp_opt_adam(1.0f);
    o.method = t->method;
    if (t->method == BP_RMSPROP) o.beta2 = 0.99f;
    o.momentum = t->momentum >= 0 ? t->momentum : sgd && !t->plain ? 0.9f : 0.0f;
    if (t->plain) o.momentum = 0.0f;
    o.weight_decay = t->decay >= 0 ? t->decay : t->method == BP_ADAMW ? 0.01f : sgd && !t->plain ? 1e-4f : 0.0f;
    o.clip = t->clip;
    if (t->sched == SCHED_COSINE) lr = bp_lr_cosine(lr, 0.0f, e, t->epochs);
    else if (t->sched == SCHED_STEP) lr = bp_lr_step(lr, e, t->epochs >= 3 ? t->epochs / 3 : 1, 0.1f);
    o.lr = lr;
    return o;
}

/* ---- checkpoints: a run's settings as 64 bits ---------------------------------------------
   FNV-1a over the settings' text, kept in a checkpoint's extra floats as four 16-bit pieces
   (exact in a float), so that a run resumed under other settings (another --epochs moves the
   schedule, another --seed the data's order) is refused instead of quietly becoming neither
   run. more: the program's own settings as text. */
#define FINGERPRINT_FLOATS 4
DIGITS_FN uint64_t train_fingerprint(const train_opts *t, const char *more) {
    char text[1024];
    uint64_t h = 14695981039346656037ull;
    int i, n = snprintf(text, sizeof text, "%d %d %d %d %d %d %d %a %a %a %a %d %llu %s",
                        t->epochs, t->batch, t->n_hidden, t->patience, (int)t->act,
                        (int)t->method, t->plain, (double)t->lr, (double)t->momentum,
                        (double)t->decay, (double)t->clip, (int)t->sched, t->seed, more);
    for (i = 0; i < t->n_hidden; i++)
        n += snprintf(text + n, n < (int)sizeof text ? sizeof text - (size_t)n : 0, ",%d", t->hidden[i]);
    for (i = 0; i < n && i < (int)sizeof text; i++) h = (h ^ (unsigned char)text[i]) * 1099511628211ull;
    return h;
}
DIGITS_FN void fingerprint_put(float *f, uint64_t h) {
    int k;
    for (k = 0; k < FINGERPRINT_FLOATS; k++) f[k] = (float)((h >> (16 * k)) & 0xffffu);
}
DIGITS_FN int fingerprint_same(const float *f, uint64_t h) {
    float g[FINGERPRINT_FLOATS];
    fingerprint_put(g, h);
    return memcmp(f, g, sizeof g) == 0;
}

/* The settings in one line, for the progress output. */
DIGITS_FN void train_describe(FILE *f, const train_opts *t) {
    static const char *const names[] = {"sgd", "adam", "adamw", "rmsprop"};
    const bp_opt o = train_bp_opt(t, 0);
    fprintf(f, "%s lr %g (%s schedule), batch %d, momentum %g, decay %g%s, seed %llu\n",
            t->plain ? "sgd" : t->method == BP_SGD ? "momentum" : names[t->method], (double)o.lr,
            t->sched == SCHED_COSINE ? "cosine" : t->sched == SCHED_STEP ? "step" : "no", t->batch,
            (double)o.momentum, (double)o.weight_decay, t->clip > 0 ? ", clipped" : "", t->seed);
}

#endif
