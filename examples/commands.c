/* commands.c - spoken commands: a keyword spotter for the ten words of Google's Speech
   Commands (yes no up down left right on off stop go), an "unknown" word and silence, from
   one-second clips of 16 kHz audio. MFCC features (examples/speech.h), then a dense net on
   the whole spectrogram or a GRU over its frames (bp_seq); trained here on the PC, exported as
   C source for a Cortex-M4 (tests/embedded/commands_m4.c), and run on a stream of words.

   The data: data/commands-{train,test}-{features,labels}.idx*-ubyte, made by this program
   (--write-idx) from clips that data/make_commands.py synthesizes with espeak-ng (README
   "Spoken commands"); the test voices are never heard in training. Or --data DIR: a directory
   of clips with its index.txt (make_commands.py's), features computed here.

   Usage: commands [--model gru|dense] [--epochs N] [--lr X] [--hidden N] [--layers N]
                   [--seed N] [--idx DIR | --data DIR] [--save FILE] [--load FILE]
                   [--export-c FILE] [--write-idx DIR] [--stream WAV [--marks TXT]] [--quiet]
   Defaults: a GRU of 128 units, 30 epochs, Adam 3e-3 (cosine), clipped at 5; dense: 96
   hidden ReLU units, 40 epochs, Adam 1e-3. --idx: where the IDX files are (data/).
   Prints the test accuracy, the confusion matrix, and with --stream the words it heard, its
   hits, misses and false alarms. Exits 0; 1 if a file cannot be read or written; 2 for a bad
   option. */
#define BACKPROP_IMPLEMENTATION
#include "digits.h"
#include "speech.h"

#include <math.h>

#ifndef COMMANDS_DATA_DIR
#define COMMANDS_DATA_DIR "data"        /* the Makefile sets the repository's, absolute */
#endif

enum { NCLASS = 12, NF = SP_FRAMES * SP_COEFS, BATCH = 32, MAXCLIPS = 100000 };
static const char *const LABELS[NCLASS] = {"yes", "no", "up", "down", "left", "right", "on",
                                           "off", "stop", "go", "_unknown_", "_silence_"};

/* A set of clips as feature bytes (SP_FRAMES x SP_COEFS each) and labels */
typedef struct clips {
    int n;
    unsigned char *feat, *label;
} clips;

static void clips_free(clips *c) { free(c->feat); free(c->label); memset(c, 0, sizeof *c); }

/* What the net reads: (byte - 128) / 32, exact in float (so the M4 reads the same) */
static void to_input(const unsigned char *f, float *x, int n) {
    int i;
    for (i = 0; i < n; i++) x[i] = (float)((int)f[i] - 128) * (1.0f / 32.0f);
}

/* Augmentation, a new draw every epoch: the clip moved up to 10 frames (100 ms) either way
   (its first or last frame repeated into the gap), its loudness (c0) moved by up to 0.5
   standard deviations, and up to 8 frames in a row blanked to their mean (a dropout) */
static void augment_clip(const float *src, float *dst, bp_rng *r) {
    const int shift = (int)bp_rng_below(r, 21) - 10, mask = (int)bp_rng_below(r, 9);
    const int m0 = (int)bp_rng_below(r, SP_FRAMES - 8);
    const float gain = bp_rng_float(r) - 0.5f;
    int f, k;
    for (f = 0; f < SP_FRAMES; f++) {
        int g = f - shift;
        g = g < 0 ? 0 : g >= SP_FRAMES ? SP_FRAMES - 1 : g;
        for (k = 0; k < SP_COEFS; k++) dst[f * SP_COEFS + k] = src[g * SP_COEFS + k];
        dst[f * SP_COEFS] += gain;
        if (f >= m0 && f < m0 + mask)
            for (k = 0; k < SP_COEFS; k++) dst[f * SP_COEFS + k] = 0.0f;
    }
}

static int label_of(const char *s) {
    int k;
    for (k = 0; k < NCLASS; k++) if (!strcmp(s, LABELS[k])) return k;
    return -1;
}

/* A WAV file's samples (a malloc'd copy of the file, *data pointing into it), or NULL with
   the reason in err */
static unsigned char *wav_load(const char *path, const unsigned char **data, size_t *n,
                               char *err, size_t errlen) {
    size_t len = 0;
    unsigned char *b = read_file(path, &len, err, errlen);
    const char *why;
    if (!b) return NULL;
    if ((why = sp_wav_parse(b, len, data, n)) != NULL) {
        snprintf(err, errlen, "%s: %s", path, why);
        free(b);
        return NULL;
    }
    return b;
}

/* The clips of DIR/index.txt ("split label path" a line) of one split, features computed */
static int load_dir(const char *dir, const char *split, const sp_mfcc *m, clips *c, char *err,
                    size_t errlen) {
    char path[4096], line[4096], sp[64], lab[64], rel[3000];
    FILE *f;
    int cap = 0, lineno = 0;
    memset(c, 0, sizeof *c);
    snprintf(path, sizeof path, "%s/index.txt", dir);
    if (!(f = fopen(path, "r"))) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof line, f)) {
        const unsigned char *d;
        unsigned char *b;
        size_t n;
        int k;
        lineno++;
        if (sscanf(line, "%63s %63s %2999s", sp, lab, rel) != 3 || (k = label_of(lab)) < 0) {
            snprintf(err, errlen, "%s, line %d: not \"split label path\" with a known label", path, lineno);
            fclose(f); clips_free(c);
            return -1;
        }
        if (strcmp(sp, split)) continue;
        if (c->n == cap) {
            unsigned char *nf, *nl;
            cap = cap ? 2 * cap : 256;
            if (cap > MAXCLIPS) { snprintf(err, errlen, "%s: more than %d clips", path, MAXCLIPS); fclose(f); clips_free(c); return -1; }
            nf = (unsigned char *)realloc(c->feat, (size_t)cap * NF);
            if (nf) c->feat = nf;
            nl = (unsigned char *)realloc(c->label, (size_t)cap);
            if (nl) c->label = nl;
            if (!nf || !nl) { snprintf(err, errlen, "out of memory"); fclose(f); clips_free(c); return -1; }
        }
        snprintf(path, sizeof path, "%s/%s", dir, rel);
        if (!(b = wav_load(path, &d, &n, err, errlen))) { fclose(f); clips_free(c); return -1; }
        sp_clip(m, d, n, c->feat + (size_t)c->n * NF);
        c->label[c->n++] = (unsigned char)k;
        free(b);
        snprintf(path, sizeof path, "%s/index.txt", dir);
    }
    fclose(f);
    if (c->n == 0) { snprintf(err, errlen, "%s: no %s clips", path, split); return -1; }
    return 0;
}

/* The bundled IDX files of one split: their bytes are the features (idx_parse, digits.h) */
static int load_idx(const char *dir, const char *split, clips *c, char *err, size_t errlen) {
    char fi[4096], fl[4096], why[256];
    unsigned char *bi, *bl = NULL;
    const unsigned char *pi, *pl;
    size_t li = 0, ll = 0;
    uint32_t di[3], dl[3];
    int i, rc = -1;
    memset(c, 0, sizeof *c);
    snprintf(fi, sizeof fi, "%s/commands-%s-features.idx3-ubyte", dir, split);
    snprintf(fl, sizeof fl, "%s/commands-%s-labels.idx1-ubyte", dir, split);
    if (!(bi = read_file(fi, &li, err, errlen)) || !(bl = read_file(fl, &ll, err, errlen))) goto done;
    if (idx_parse(bi, li, 3, di, &pi, why, sizeof why)) { snprintf(err, errlen, "%s: %s", fi, why); goto done; }
    if (idx_parse(bl, ll, 1, dl, &pl, why, sizeof why)) { snprintf(err, errlen, "%s: %s", fl, why); goto done; }
    if (di[1] != SP_FRAMES || di[2] != SP_COEFS || di[0] != dl[0] || di[0] > MAXCLIPS) {
        snprintf(err, errlen, "%s: %lu clips of %lu x %lu and %lu labels; wanted clips of %d frames x %d "
                 "coefficients, a label each", fi, (unsigned long)di[0], (unsigned long)di[1],
                 (unsigned long)di[2], (unsigned long)dl[0], SP_FRAMES, SP_COEFS);
        goto done;
    }
    for (i = 0; i < (int)dl[0]; i++)
        if (pl[i] >= NCLASS) {
            snprintf(err, errlen, "%s: label %d of clip %d is not a class 0..%d", fl, pl[i], i, NCLASS - 1);
            goto done;
        }
    c->n = (int)di[0];
    c->feat = (unsigned char *)malloc((size_t)c->n * NF);
    c->label = (unsigned char *)malloc((size_t)c->n);
    if (!c->feat || !c->label) { clips_free(c); snprintf(err, errlen, "out of memory"); goto done; }
    memcpy(c->feat, pi, (size_t)c->n * NF);
    memcpy(c->label, pl, (size_t)c->n);
    rc = 0;
done:
    free(bi); free(bl);
    return rc;
}

static int write_be32(FILE *f, uint32_t v) {
    unsigned char b[4];
    b[0] = (unsigned char)(v >> 24); b[1] = (unsigned char)(v >> 16);
    b[2] = (unsigned char)(v >> 8); b[3] = (unsigned char)v;
    return fwrite(b, 1, 4, f) == 4;
}

static int write_idx(const char *dir, const char *split, const clips *c, char *err, size_t errlen) {
    char p[4096];
    FILE *f;
    int ok;
    snprintf(p, sizeof p, "%s/commands-%s-features.idx3-ubyte", dir, split);
    if (!(f = fopen(p, "wb"))) { snprintf(err, errlen, "%s: %s", p, strerror(errno)); return -1; }
    ok = fwrite("\0\0\x08\x03", 1, 4, f) == 4 && write_be32(f, (uint32_t)c->n)
         && write_be32(f, SP_FRAMES) && write_be32(f, SP_COEFS)
         && fwrite(c->feat, 1, (size_t)c->n * NF, f) == (size_t)c->n * NF;
    if (fclose(f) || !ok) { snprintf(err, errlen, "%s: write failed", p); return -1; }
    snprintf(p, sizeof p, "%s/commands-%s-labels.idx1-ubyte", dir, split);
    if (!(f = fopen(p, "wb"))) { snprintf(err, errlen, "%s: %s", p, strerror(errno)); return -1; }
    ok = fwrite("\0\0\x08\x01", 1, 4, f) == 4 && write_be32(f, (uint32_t)c->n)
         && fwrite(c->label, 1, (size_t)c->n, f) == (size_t)c->n;
    if (fclose(f) || !ok) { snprintf(err, errlen, "%s: write failed", p); return -1; }
    return 0;
}

/* ---- the two models behind one interface ------------------------------------------------- */
typedef struct model {
    int gru;                     /* 1: bp_seq (GRU over frames), 0: bp_net (dense) */
    bp_seq seq;
    bp_net net;
    float *params, *grads, *work, *state;
    size_t np, ns;
} model;

static bp_status model_make(model *m, int gru, int layers, int hidden, int batch, const bp_opt *opt) {
    bp_status s;
    size_t nw;
    memset(m, 0, sizeof *m);
    m->gru = gru;
    if (gru) {
        bp_seq_spec sp;
        memset(&sp, 0, sizeof sp);
        sp.cell = BP_CELL_GRU; sp.n_inputs = SP_COEFS; sp.n_rec = layers;
        sp.hidden[0] = sp.hidden[1] = sp.hidden[2] = hidden;
        sp.out = BP_SEQ_LAST; sp.n_dense = 1; sp.dense[0] = NCLASS; sp.act[0] = BP_SOFTMAX;
        sp.loss = BP_LOSS_CROSS_ENTROPY;
        m->np = bp_seq_params_size(&sp);
        nw = bp_seq_work_size(&sp, SP_FRAMES, batch);
        m->params = floats_alloc(m->np); m->grads = floats_alloc(m->np); m->work = floats_alloc(nw);
        if (!m->params || !m->grads || !m->work) return BP_ERR_NULL;
        s = bp_seq_init(&m->seq, &sp, SP_FRAMES, batch, m->params, m->np, m->grads, m->np, m->work, nw);
    } else {
        int sizes[3];
        bp_act acts[2] = {BP_RELU, BP_SOFTMAX};
        sizes[0] = NF; sizes[1] = hidden; sizes[2] = NCLASS;
        m->np = bp_params_size(2, sizes);
        nw = bp_work_size(2, sizes, batch);
        m->params = floats_alloc(m->np); m->grads = floats_alloc(m->np); m->work = floats_alloc(nw);
        if (!m->params || !m->grads || !m->work) return BP_ERR_NULL;
        s = bp_init(&m->net, 2, sizes, acts, BP_LOSS_CROSS_ENTROPY, batch, m->params, m->np,
                    m->grads, m->np, m->work, nw);
    }
    if (s != BP_OK) return s;
    m->ns = bp_opt_state_size(opt, m->np);
    m->state = floats_alloc(m->ns ? m->ns : 1);
    return m->state ? BP_OK : BP_ERR_NULL;
}

static void model_free(model *m) {
    floats_free(m->params); floats_free(m->grads); floats_free(m->work); floats_free(m->state);
}

/* posteriors of n clips (x: n x NF inputs) into y (n x NCLASS) */
static void model_predict(model *m, const float *x, int n, float *y) {
    const float *o;
    if (m->gru) {
        bp_seq_data d;
        memset(&d, 0, sizeof d);
        d.x = x; d.n = n; d.steps = SP_FRAMES;
        o = bp_seq_forward(&m->seq, &d, 0, n);
    } else {
        o = bp_forward(&m->net, x, n);
    }
    memcpy(y, o, (size_t)n * NCLASS * sizeof *y);
}

/* The accuracy on a set, its confusion matrix (rows: the truth) into conf if not NULL */
static double evaluate(model *m, const clips *c, int conf[NCLASS][NCLASS]) {
    static float x[BATCH * NF];
    float y[BATCH * NCLASS];
    int i, b, right = 0;
    if (conf) memset(conf, 0, sizeof(int) * NCLASS * NCLASS);
    for (i = 0; i < c->n; i += BATCH) {
        const int nb = c->n - i < BATCH ? c->n - i : BATCH;
        to_input(c->feat + (size_t)i * NF, x, nb * NF);
        model_predict(m, x, nb, y);
        for (b = 0; b < nb; b++) {
            const int p = bp_argmax(y + b * NCLASS, NCLASS), t = c->label[i + b];
            right += p == t;
            if (conf) conf[t][p]++;
        }
    }
    return (double)right / c->n;
}

/* ---- the stream ------------------------------------------------------------------------------
   Frame by frame, every 10 ms. The GRU runs four streams of state over the same frames, each
   restarted from zeros every 98 frames, 24 frames apart: every 24 to 26 frames one of them
   has just read a whole second, and its posterior is a decision (the net was trained on
   one-second clips from a zero state). The dense net classifies the last 98 frames every 24.
   A decision is the mean of the last two windows' posteriors; a command is heard when its
   smoothed posterior passes 0.6, then not again for a second. */
enum { ROWS = 4, EVERY = SP_FRAMES / ROWS };
typedef struct heard { long at; int label; } heard;

static int run_stream(model *m, const sp_mfcc *tab, const char *wavpath, const char *marks,
                      int quiet) {
    const unsigned char *d;
    size_t n, nf, f;
    char err[8192];
    unsigned char *b = wav_load(wavpath, &d, &n, err, sizeof err), fb[SP_COEFS];
    float *ring = NULL, x[ROWS * SP_COEFS], *carry = NULL;
    float post[NCLASS], prev[NCLASS], y[ROWS * NCLASS];
    heard *hs = NULL;
    int nh = 0, k, r, age[ROWS], last_label = -1;
    long last_at = -1000000;
    size_t nc = 0;
    if (!b) { fprintf(stderr, "commands: %s\n", err); return 1; }
    nf = n < SP_WIN ? 0 : 1 + (n - SP_WIN) / SP_HOP;
    ring = (float *)calloc(NF, sizeof *ring);
    hs = (heard *)malloc((nf / EVERY + 1) * sizeof *hs);
    if (m->gru) {
        nc = bp_seq_carry_size(&m->seq.spec, ROWS);
        carry = (float *)calloc(nc, sizeof *carry);
    }
    if (!ring || !hs || (m->gru && !carry)) { fprintf(stderr, "commands: out of memory\n"); return 1; }
    for (r = 0; r < ROWS; r++) age[r] = -r * EVERY;           /* row r starts 24 r frames late */
    for (k = 0; k < NCLASS; k++) prev[k] = 0.0f;
    for (f = 0; f < nf; f++) {
        int decide = -1;
        sp_frame(tab, d, f * SP_HOP, fb);
        memmove(ring, ring + SP_COEFS, (NF - SP_COEFS) * sizeof *ring);
        to_input(fb, ring + NF - SP_COEFS, SP_COEFS);
        if (m->gru) {
            const float *o;
            const int H = m->seq.spec.hidden[0];
            for (r = 0; r < ROWS; r++) {
                if (age[r] == 0)            /* the carry: each layer's h, ROWS rows of H */
                    for (k = 0; k < m->seq.spec.n_rec; k++)
                        memset(carry + ((size_t)k * ROWS + (size_t)r) * (size_t)H, 0, (size_t)H * sizeof *carry);
                memcpy(x + r * SP_COEFS, ring + NF - SP_COEFS, SP_COEFS * sizeof *x);
            }
            o = bp_seq_step(&m->seq, x, carry, nc, ROWS);
            if (!o) { fprintf(stderr, "commands: the stream step failed\n"); return 1; }
            memcpy(y, o, sizeof y);
            for (r = 0; r < ROWS; r++)
                if (++age[r] == SP_FRAMES) { decide = r; age[r] = 0; }
        } else if (f + 1 >= SP_FRAMES && (f + 1) % EVERY == 0) {
            model_predict(m, ring, 1, y);
            decide = 0;
        }
        if (decide >= 0) {
            int best;
            for (k = 0; k < NCLASS; k++) {
                post[k] = 0.5f * (y[decide * NCLASS + k] + prev[k]);
                prev[k] = y[decide * NCLASS + k];
            }
            best = bp_argmax(post, NCLASS);
            if (best < 10 && post[best] > 0.6f
                && (best != last_label || (long)f - last_at >= SP_FRAMES)) {
                hs[nh].at = (long)(f + 1) * SP_HOP + SP_WIN - SP_HOP;    /* the window's end */
                hs[nh].label = best;
                if (!quiet) fprintf(stderr, "%7.2f s  heard \"%s\" (%.2f)\n", hs[nh].at / (double)SP_RATE, LABELS[best], (double)post[best]);
                nh++;
                last_label = best;
                last_at = (long)f;
            }
        }
    }
    /* against the marks: a word is heard if a decision of its label ends within a second
       after the word's end (its window held it); each decision counts once */
    if (marks) {
        FILE *mf2 = fopen(marks, "r");
        char line[256], lab[64];
        long a, e;
        int words = 0, hits = 0, others = 0, *used = (int *)calloc((size_t)nh + 1, sizeof *used), i, fa = 0;
        if (!mf2 || !used) { fprintf(stderr, "commands: %s: %s\n", marks, strerror(errno)); return 1; }
        while (fgets(line, sizeof line, mf2)) {
            int want;
            if (sscanf(line, "%ld %ld %63s", &a, &e, lab) != 3 || (want = label_of(lab)) < 0) {
                fprintf(stderr, "commands: %s: not \"start end label\": %s", marks, line);
                fclose(mf2); return 1;
            }
            if (want >= 10) { others++; continue; }
            words++;
            for (i = 0; i < nh; i++)
                if (!used[i] && hs[i].label == want && hs[i].at >= e && hs[i].at <= e + SP_RATE + SP_RATE / 4) {
                    used[i] = 1; hits++;
                    break;
                }
        }
        fclose(mf2);
        for (i = 0; i < nh; i++) fa += !used[i];
        printf("stream: %.1f s, %d commands and %d other words; heard %d of them (%d missed), %d false alarms (%.1f an hour)\n",
               (double)n / SP_RATE, words, others, hits, words - hits, fa, fa * 3600.0 / ((double)n / SP_RATE));
        free(used);
    } else {
        printf("stream: %.1f s, %d commands heard\n", (double)n / SP_RATE, nh);
    }
    free(b); free(ring); free(hs); free(carry);
    return 0;
}

static void usage(void) {
    fprintf(stderr, "usage: commands [--model gru|dense] [--epochs N] [--lr X] [--hidden N] [--layers N]\n"
                    "                [--seed N] [--idx DIR | --data DIR] [--save FILE] [--load FILE]\n"
                    "                [--export-c FILE] [--write-idx DIR] [--stream WAV [--marks TXT]] [--quiet]\n");
}

int main(int argc, char **argv) {
    const char *data = NULL, *save = NULL, *load = NULL, *export_c = NULL, *write_dir = NULL;
    const char *stream = NULL, *marks = NULL, *idx_dir = COMMANDS_DATA_DIR;
    int layers = 1, gru = 1, epochs = -1, hidden = -1, quiet = 0, i, e, k, conf[NCLASS][NCLASS];
    unsigned long seed = 1;
    float lr = -1.0f;
    char err[8192], *end;
    clips train, test;
    model m;
    bp_opt opt;
    bp_status st;
    bp_rng rng;
    int *order;
    float *x, *x0, loss;
    int *lab;
    double acc;
    static sp_mfcc mf;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--quiet")) { quiet = 1; continue; }
        if (!v) { usage(); return 2; }
        i++;
        if (!strcmp(a, "--model")) {
            if (!strcmp(v, "gru")) gru = 1;
            else if (!strcmp(v, "dense")) gru = 0;
            else { fprintf(stderr, "commands: --model takes gru or dense, not '%s'\n", v); return 2; }
        } else if (!strcmp(a, "--epochs")) {
            epochs = (int)strtol(v, &end, 10);
            if (*end || epochs < 0 || epochs > 10000) { fprintf(stderr, "commands: --epochs takes 0..10000\n"); return 2; }
        } else if (!strcmp(a, "--layers")) {
            layers = (int)strtol(v, &end, 10);
            if (*end || layers < 1 || layers > 3) { fprintf(stderr, "commands: --layers takes 1..3\n"); return 2; }
        } else if (!strcmp(a, "--hidden")) {
            hidden = (int)strtol(v, &end, 10);
            if (*end || hidden < 1 || hidden > 4096) { fprintf(stderr, "commands: --hidden takes 1..4096\n"); return 2; }
        } else if (!strcmp(a, "--lr")) {
            lr = strtof(v, &end);
            if (*end || !(lr > 0.0f && lr < 10.0f)) { fprintf(stderr, "commands: --lr takes a number in (0, 10)\n"); return 2; }
        } else if (!strcmp(a, "--seed")) {
            seed = strtoul(v, &end, 10);
            if (*end || !*v) { fprintf(stderr, "commands: --seed takes a number\n"); return 2; }
        } else if (!strcmp(a, "--data")) data = v;
        else if (!strcmp(a, "--idx")) idx_dir = v;
        else if (!strcmp(a, "--save")) save = v;
        else if (!strcmp(a, "--load")) load = v;
        else if (!strcmp(a, "--export-c")) export_c = v;
        else if (!strcmp(a, "--write-idx")) write_dir = v;
        else if (!strcmp(a, "--stream")) stream = v;
        else if (!strcmp(a, "--marks")) marks = v;
        else { usage(); return 2; }
    }
    if (marks && !stream) { fprintf(stderr, "commands: --marks needs --stream\n"); return 2; }
    if (epochs < 0) epochs = gru ? 30 : 40;
    if (load) {                                /* the model's shape from the file */
        bp_seq_spec ls;
        int nl, sizes[BP_MAX_LAYERS + 1];
        if (bp_seq_peek_file(load, &ls) == BP_OK && ls.cell == BP_CELL_GRU && ls.n_inputs == SP_COEFS
            && ls.n_rec <= 3 && ls.n_dense == 1 && ls.dense[0] == NCLASS) {
            gru = 1; layers = ls.n_rec; hidden = ls.hidden[0];
        } else if ((st = bp_peek_file(load, &nl, sizes, NULL, NULL)) == BP_OK && nl == 2 && sizes[0] == NF
                   && sizes[2] == NCLASS) {
            gru = 0; hidden = sizes[1];
        } else {
            fprintf(stderr, "commands: %s: %s\n", load, st == BP_OK || st == BP_ERR_KIND
                    ? "not a model of this example (a GRU over 10 MFCC or a dense net on 98 x 10, 12 classes)"
                    : bp_strerror(st));
            return 1;
        }
    }
    if (hidden < 0) hidden = gru ? 128 : 96;
    if (lr < 0.0f) lr = gru ? 3e-3f : 1e-3f;
    sp_init(&mf);
    if (data ? load_dir(data, "train", &mf, &train, err, sizeof err) || load_dir(data, "test", &mf, &test, err, sizeof err)
             : load_idx(idx_dir, "train", &train, err, sizeof err) || load_idx(idx_dir, "test", &test, err, sizeof err)) {
        fprintf(stderr, "commands: %s\n", err);
        return 1;
    }
    if (write_dir) {
        if (write_idx(write_dir, "train", &train, err, sizeof err) || write_idx(write_dir, "test", &test, err, sizeof err)) {
            fprintf(stderr, "commands: %s\n", err);
            return 1;
        }
        fprintf(stderr, "commands: wrote %d training and %d test clips to %s\n", train.n, test.n, write_dir);
    }
    opt = bp_opt_adam(lr);
    opt.clip = 5.0f;                           /* through 98 frames: a bound on the step */
    if ((st = model_make(&m, gru, layers, hidden, BATCH, &opt)) != BP_OK) {
        fprintf(stderr, "commands: %s\n", st == BP_ERR_NULL ? "out of memory" : bp_strerror(st));
        return 1;
    }
    if (gru) bp_seq_randomize(&m.seq, seed); else bp_randomize(&m.net, seed);
    if (load) {
        st = gru ? bp_seq_load_file(&m.seq, load) : bp_load_file(&m.net, load);
        if (st != BP_OK) { fprintf(stderr, "commands: %s: %s\n", load, bp_strerror(st)); return 1; }
        epochs = 0;
    }
    printf("%s, %lu parameters; %d training clips, %d test clips (other voices)\n",
           gru ? "GRU over 98 frames of 10 MFCC" : "dense net on 98 x 10 MFCC", (unsigned long)m.np, train.n, test.n);
    order = (int *)malloc((size_t)train.n * sizeof *order);
    x0 = (float *)malloc((size_t)train.n * NF * sizeof *x0);
    x = (float *)malloc((size_t)train.n * NF * sizeof *x);
    lab = (int *)malloc((size_t)train.n * sizeof *lab);
    if (!order || !x || !x0 || !lab) { fprintf(stderr, "commands: out of memory\n"); return 1; }
    to_input(train.feat, x0, train.n * NF);
    for (k = 0; k < train.n; k++) lab[k] = train.label[k];
    rng = bp_rng_seed(seed);
    for (e = 0; e < epochs; e++) {
        float sum = 0.0f;
        int nb = 0;
        bp_opt o = opt;
        st = BP_OK;
        o.lr = bp_lr_cosine(lr, lr * 0.02f, e, epochs);
        bp_shuffle(order, train.n, &rng);
        for (k = 0; k < train.n; k++) augment_clip(x0 + (size_t)k * NF, x + (size_t)k * NF, &rng);
        if (gru) {                  /* batches of 32 in the shuffled order (the last, short, left out) */
            bp_seq_data d;
            int first;
            memset(&d, 0, sizeof d);
            d.x = x; d.labels = lab; d.n = train.n; d.steps = SP_FRAMES; d.order = order;
            for (first = 0; first + BATCH <= train.n && st == BP_OK; first += BATCH, nb++) {
                st = bp_seq_train_step(&m.seq, &o, m.state, m.ns, &d, first, BATCH, &loss);
                sum += loss;
            }
        } else {
            int done;
            st = bp_train_epoch_labels(&m.net, &o, m.state, m.ns, x, lab, train.n, order, &sum, &done);
            nb = 1;
        }
        if (st != BP_OK) { fprintf(stderr, "commands: epoch %d: %s\n", e + 1, bp_strerror(st)); return 1; }
        if (!quiet) fprintf(stderr, "epoch %2d  loss %.4f  test %.2f%%\n", e + 1, (double)(sum / (float)nb), 100.0 * evaluate(&m, &test, NULL));
    }
    acc = evaluate(&m, &test, conf);
    printf("confusion (rows: the word said; columns: heard)\n%10s", "");
    for (k = 0; k < NCLASS; k++) printf(" %5.5s", LABELS[k][0] == '_' ? LABELS[k] + 1 : LABELS[k]);
    printf("\n");
    for (i = 0; i < NCLASS; i++) {
        printf("%10s", LABELS[i]);
        for (k = 0; k < NCLASS; k++) printf(" %5d", conf[i][k]);
        printf("\n");
    }
    if (save) {
        st = gru ? bp_seq_save_file(&m.seq, save) : bp_save_file(&m.net, save);
        if (st != BP_OK) { fprintf(stderr, "commands: %s: %s\n", save, bp_strerror(st)); return 1; }
    }
    if (export_c) {
        st = gru ? bp_seq_to_c_file(&m.seq, "commands_model", export_c) : bp_to_c_file(&m.net, "commands_model", export_c);
        if (st != BP_OK) { fprintf(stderr, "commands: %s: %s\n", export_c, bp_strerror(st)); return 1; }
    }
    if (stream && run_stream(&m, &mf, stream, marks, quiet)) return 1;
    printf("test accuracy: %.2f%% (%s, %lu parameters)\n", 100.0 * acc, gru ? "gru" : "dense", (unsigned long)m.np);
    free(order); free(x); free(x0); free(lab);
    clips_free(&train); clips_free(&test);
    model_free(&m);
    return 0;
}
