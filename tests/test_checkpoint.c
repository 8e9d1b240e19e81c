/* Tests of training checkpoints (kind 4 of the format) and of the crash-safe file writer:
   round trips, resumed runs that end on the bits of uninterrupted ones (every optimizer, a
   shuffled and scheduled loop, interrupted mid-epoch and between epochs), refusals that write
   nothing, every truncation and bit flip refused, and the writer stopped at each of its
   stages leaving a loadable file. The closing line is "N passed, M failed". */
static int test_crash_stage;              /* the file writer "dies" at this stage (0: never) */
#define BP__CRASH_POINT(k) (test_crash_stage == (k))
#define BACKPROP_IMPLEMENTATION
#include "../backprop.h"
#include "test.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>

static const int SIZES[] = {5, 7, 6, 3};       /* two hidden layers */
static const bp_act ACTS[] = {BP_TANH, BP_RELU, BP_SOFTMAX};
#define NL 3
#define N 37                                    /* samples: batches of 4 leave one of 1 */
#define NX 3                                    /* extra floats kept with a checkpoint */

/* A run: a net, its optimizer and state, where it stands, its data. */
typedef struct run {
    bp_net net;
    float *params, *grads, *work, *state;
    size_t np, ns;
    bp_checkpoint c;
    float extra[NX];
    int batch;
} run;

static float X[N * 5];
static int LABELS[N];

static void make_data(void) {
    bp_rng r = bp_rng_seed(77);
    int i;
    for (i = 0; i < N * 5; i++) X[i] = bp_rng_float(&r) * 2.0f - 1.0f;
    for (i = 0; i < N; i++) LABELS[i] = (int)bp_rng_below(&r, 3);
}

/* Arrays filled with garbage first: a loaded run must not depend on what was there. */
static float *garbage(size_t n) {
    float *p = (float *)malloc((n ? n : 1) * sizeof *p);
    memset(p, 0xA5, (n ? n : 1) * sizeof *p);
    return p;
}

static int run_make(run *r, const bp_opt *opt, int batch) {
    memset(r, 0, sizeof *r);
    r->np = bp_params_size(NL, SIZES);
    r->params = garbage(r->np);
    r->grads = garbage(r->np);
    r->work = garbage(bp_work_size(NL, SIZES, batch));
    r->ns = bp_opt_state_size(opt, r->np);
    r->state = (float *)calloc(r->ns ? r->ns : 1, sizeof(float));
    r->batch = batch;
    r->c.opt = *opt;
    r->c.state = r->state;
    r->c.state_len = r->ns;
    r->c.extra = r->extra;
    r->c.n_extra = NX;
    return bp_init(&r->net, NL, SIZES, ACTS, BP_LOSS_CROSS_ENTROPY, batch, r->params, r->np,
                   r->grads, r->np, r->work, bp_work_size(NL, SIZES, batch)) == BP_OK;
}

static void run_start(run *r, uint64_t seed) {
    bp_randomize(&r->net, seed);
    r->c.rng = bp_rng_seed(seed + 1000);
}

static void run_free(run *r) {
    free(r->params); free(r->grads); free(r->work); free(r->state);
}

#define EPOCHS 3
#define TOTAL_STEPS (EPOCHS * ((N + 3) / 4))

/* The loop of the manual's CHECKPOINTS pattern, one bp_train_step at a time with the rate
   warmed up and then on a cosine by step; it stops (as if killed) after `stop` more steps
   (stop < 0: runs to the end). Returns 0 if a step failed. The extra floats carry the
   epoch's running loss, as a user's would. */
static int run_steps(run *r, int stop) {
    float xb[4 * 5];
    int lb[4], order[N];
    const float lr0 = r->c.opt.lr;
    while (r->c.epoch < EPOCHS) {
        bp_rng rng = r->c.rng;                 /* the epoch's order, drawn again on resume */
        bp_shuffle(order, N, &rng);
        while (r->c.sample < N) {
            const int at = r->c.sample, b = N - at < r->batch ? N - at : r->batch;
            const int step = (int)r->c.step;
            bp_opt o = r->c.opt;
            float loss = 0;
            int k;
            if (stop == 0) return 1;
            if (stop > 0) stop--;
            for (k = 0; k < b; k++) {
                memcpy(xb + 5 * k, X + 5 * order[at + k], 5 * sizeof(float));
                lb[k] = LABELS[order[at + k]];
            }
            o.lr = bp_lr_warmup(bp_lr_cosine(lr0, 0.0f, step, TOTAL_STEPS), step, 4);
            if (bp_train_step_labels(&r->net, &o, r->state, r->ns, xb, lb, b, &loss) != BP_OK)
                return 0;
            r->extra[0] += loss;
            r->c.step++;
            r->c.sample = at + b;
        }
        r->c.epoch++;
        r->c.sample = 0;
        r->c.rng = rng;
        r->extra[1] = r->extra[0];
        r->extra[0] = 0;
    }
    return 1;
}

/* The same with whole epochs of bp_train_epoch_labels (checkpoints between epochs). */
static int run_epochs(run *r, int stop) {
    int order[N];
    while (r->c.epoch < EPOCHS) {
        bp_rng rng = r->c.rng;
        bp_opt o = r->c.opt;
        float loss = 0;
        if (stop-- == 0) return 1;
        bp_shuffle(order, N, &rng);
        o.lr = bp_lr_step(r->c.opt.lr, r->c.epoch, 2, 0.5f);
        if (bp_train_epoch_labels(&r->net, &o, r->state, r->ns, X, LABELS, N, order, &loss, NULL)
            != BP_OK) return 0;
        r->c.step += (uint64_t)((N + r->batch - 1) / r->batch);
        r->c.epoch++;
        r->c.rng = rng;
        r->extra[2] += loss;
    }
    return 1;
}

static bp_opt opt_of(int k) {
    bp_opt o = bp_opt_adam(0.01f);
    switch (k) {
    case 0: o = bp_opt_sgd(0.1f); break;
    case 1: o = bp_opt_sgd(0.05f); o.momentum = 0.9f; o.nesterov = 1; o.weight_decay = 1e-3f; break;
    case 2: break;
    case 3: o.method = BP_ADAMW; o.weight_decay = 0.01f; break;
    case 4: o.method = BP_RMSPROP; o.beta2 = 0.99f; o.lr = 0.003f; break;
    case 5: o.method = BP_RMSPROP; o.beta2 = 0.99f; o.momentum = 0.5f; o.lr = 0.002f; break;
    default: o.clip = 0.5f; break;
    }
    return o;
}
#define N_OPTS 7

static int same_run(const run *a, const run *b) {
    return memcmp(a->params, b->params, a->np * sizeof(float)) == 0
        && memcmp(a->state, b->state, a->ns * sizeof(float)) == 0
        && memcmp(a->extra, b->extra, sizeof a->extra) == 0 && a->c.step == b->c.step
        && a->c.epoch == b->c.epoch && a->c.sample == b->c.sample
        && a->c.rng.state == b->c.rng.state;
}

/* A run interrupted after `stop` steps (or epochs), saved, everything thrown away, a new
   process's arrays made and the checkpoint loaded, then run to the end: the bits of `whole`. */
static int resumed_equals(const run *whole, const bp_opt *opt, int batch, int stop, int epochs) {
    run a, b;
    unsigned char *buf;
    size_t len;
    int ok;
    if (!run_make(&a, opt, batch)) return 0;
    run_start(&a, 5);
    ok = epochs ? run_epochs(&a, stop) : run_steps(&a, stop);
    len = bp_checkpoint_size(&a.net, &a.c);
    buf = (unsigned char *)malloc(len);
    ok = ok && len > 0 && bp_checkpoint_save(&a.net, &a.c, buf, len) == BP_OK;
    run_free(&a);
    ok = ok && run_make(&b, opt, batch);
    memset(b.state, 0xA5, (b.ns ? b.ns : 1) * sizeof(float));
    b.c.opt.lr = 123.0f;                           /* lr is restored, not compared */
    ok = ok && bp_checkpoint_load(&b.net, &b.c, buf, len) == BP_OK && b.c.opt.lr == opt->lr;
    ok = ok && (epochs ? run_epochs(&b, -1) : run_steps(&b, -1)) && same_run(whole, &b);
    run_free(&b);
    free(buf);
    return ok;
}

static void test_resume_same_bits(void) {
    int k, stop;
    for (k = 0; k < N_OPTS; k++) {
        const bp_opt opt = opt_of(k);
        run whole;
        CHECK(run_make(&whole, &opt, 4));
        run_start(&whole, 5);
        CHECK(run_steps(&whole, -1));
        CHECK(whole.c.epoch == EPOCHS && whole.c.step == TOTAL_STEPS);
        /* at the first step, mid-epoch (twice), at an epoch's end, one step before the end */
        {
            const int stops[] = {1, 4, 13, 10, TOTAL_STEPS - 1, TOTAL_STEPS};
            for (stop = 0; stop < 6; stop++)
                CHECKF(resumed_equals(&whole, &opt, 4, stops[stop], 0),
                       "optimizer %d, stopped after %d steps", k, stops[stop]);
        }
        /* the check can fail: a run that loses its state on resume is not the same run */
        if (bp_opt_state_size(&opt, whole.np) > 0) {
            run a;
            CHECK(run_make(&a, &opt, 4));
            run_start(&a, 5);
            CHECK(run_steps(&a, 13));
            memset(a.state, 0, a.ns * sizeof(float));    /* what bp_save alone would keep */
            CHECK(run_steps(&a, -1));
            CHECKF(memcmp(a.params, whole.params, a.np * sizeof(float)) != 0,
                   "optimizer %d: a restart without its state gave the same bits", k);
            run_free(&a);
        }
        run_free(&whole);
        /* whole epochs (bp_train_epoch_labels, shuffled, a step schedule), batches of 4, and of
           1 (plain SGD then takes the fused per-sample path) */
        {
            int batch;
            for (batch = 1; batch <= 4; batch += 3) {
                CHECK(run_make(&whole, &opt, batch));
                run_start(&whole, 5);
                CHECK(run_epochs(&whole, -1));
                for (stop = 1; stop < EPOCHS; stop++)
                    CHECKF(resumed_equals(&whole, &opt, batch, stop, 1),
                           "optimizer %d, batch %d, stopped after %d epochs", k, batch, stop);
                run_free(&whole);
            }
        }
    }
}

static void test_round_trip(void) {
    const bp_opt opt = opt_of(2);
    run a, b;
    unsigned char *buf, *again;
    size_t len;
    int nl, sizes[BP_MAX_LAYERS + 1];
    bp_act acts[BP_MAX_LAYERS];
    bp_loss loss;
    bp_checkpoint peek;
    float loaded[200];
    CHECK(run_make(&a, &opt, 4) && run_make(&b, &opt, 4));
    run_start(&a, 9);
    CHECK(run_steps(&a, 7));
    a.extra[2] = -0.0f;
    len = bp_checkpoint_size(&a.net, &a.c);
    CHECK(len == 24 + 4 * (2 * NL + 3) + 76 + 4 * (a.np + a.ns + NX) + 4);
    buf = (unsigned char *)malloc(len);
    again = (unsigned char *)malloc(len);
    CHECK(bp_checkpoint_save(&a.net, &a.c, buf, len - 1) == BP_ERR_BUFFER);
    CHECK(bp_checkpoint_save(&a.net, &a.c, buf, len) == BP_OK);
    CHECK(buf[12] == 4 && buf[16] == (unsigned char)len);                  /* kind 4, length */
    memset(&peek, 0, sizeof peek);
    CHECK(bp_checkpoint_peek(buf, len, &nl, sizes, acts, &loss, &peek) == BP_OK);
    CHECK(nl == NL && sizes[1] == 7 && sizes[3] == 3 && acts[1] == BP_RELU
          && loss == BP_LOSS_CROSS_ENTROPY);
    CHECK(peek.step == 7 && peek.epoch == 0 && peek.sample == 28 && peek.n_extra == NX
          && peek.rng.state == a.c.rng.state && peek.opt.method == BP_ADAM
          && peek.opt.lr == opt.lr && peek.opt.beta2 == opt.beta2 && !peek.state && !peek.extra);
    CHECK(bp_checkpoint_load(&b.net, &b.c, buf, len) == BP_OK && same_run(&a, &b));
    CHECK(bp_checkpoint_save(&b.net, &b.c, again, len) == BP_OK && memcmp(buf, again, len) == 0);
    /* a checkpoint is a model too: bp_peek, bp_load and bp_load_params read its parameters */
    CHECK(bp_peek(buf, len, &nl, sizes, NULL, NULL) == BP_OK && nl == NL && sizes[2] == 6);
    memset(b.params, 0, b.np * sizeof(float));
    CHECK(bp_load(&b.net, buf, len) == BP_OK);
    CHECK(memcmp(a.params, b.params, a.np * sizeof(float)) == 0);
    CHECK(a.np <= 200 && bp_load_params(buf, len, loaded, 200) == BP_OK
          && memcmp(a.params, loaded, a.np * sizeof(float)) == 0);
    /* and a model is not a checkpoint */
    {
        const size_t ml = bp_save_size(&a.net);
        unsigned char *m = (unsigned char *)malloc(ml);
        CHECK(bp_save(&a.net, m, ml) == BP_OK);
        CHECK(bp_checkpoint_peek(m, ml, NULL, NULL, NULL, NULL, NULL) == BP_ERR_KIND);
        CHECK(bp_checkpoint_load(&b.net, &b.c, m, ml) == BP_ERR_KIND);
        free(m);
    }
    /* no extra floats, and plain SGD's empty state */
    {
        const bp_opt sgd = opt_of(0);
        run s, t;
        CHECK(run_make(&s, &sgd, 4) && run_make(&t, &sgd, 4));
        run_start(&s, 3);
        s.c.extra = t.c.extra = NULL;
        s.c.n_extra = t.c.n_extra = 0;
        s.c.state = t.c.state = NULL;
        s.c.state_len = t.c.state_len = 0;
        CHECK(bp_checkpoint_size(&s.net, &s.c) == 24 + 4 * (2 * NL + 3) + 76 + 4 * s.np + 4);
        free(again);
        again = (unsigned char *)malloc(bp_checkpoint_size(&s.net, &s.c));
        CHECK(bp_checkpoint_save(&s.net, &s.c, again, bp_checkpoint_size(&s.net, &s.c)) == BP_OK);
        CHECK(bp_checkpoint_load(&t.net, &t.c, again, bp_checkpoint_size(&s.net, &s.c)) == BP_OK);
        CHECK(memcmp(s.params, t.params, s.np * sizeof(float)) == 0 && t.c.rng.state == s.c.rng.state);
        run_free(&s); run_free(&t);
    }
    free(buf); free(again);
    run_free(&a); run_free(&b);
}

/* Refusals write nothing: params, state, extra and the fields of c stay as they were. */
static void test_refusals(void) {
    const bp_opt opt = opt_of(5);                  /* RMSprop with momentum: 2 n of state */
    run a, b;
    unsigned char *buf;
    size_t len;
    float *keep_p, *keep_s;
    bp_checkpoint keep_c;
    CHECK(run_make(&a, &opt, 4) && run_make(&b, &opt, 4));
    run_start(&a, 2);
    CHECK(run_steps(&a, 5));
    len = bp_checkpoint_size(&a.net, &a.c);
    buf = (unsigned char *)malloc(len);
    CHECK(bp_checkpoint_save(&a.net, &a.c, buf, len) == BP_OK);
    run_start(&b, 8);
    keep_p = (float *)malloc(b.np * sizeof(float));
    keep_s = (float *)malloc(b.ns * sizeof(float));
    memcpy(keep_p, b.params, b.np * sizeof(float));
    memcpy(keep_s, b.state, b.ns * sizeof(float));
#define UNTOUCHED() (memcmp(keep_p, b.params, b.np * sizeof(float)) == 0 \
                     && memcmp(keep_s, b.state, b.ns * sizeof(float)) == 0 \
                     && b.c.step == 0 && b.c.rng.state == keep_c.rng.state && b.extra[0] == 0)
    memset(b.extra, 0, sizeof b.extra);
    keep_c = b.c;
    /* the optimizer: another method, or any setting its method reads */
    {
        bp_opt o[6];
        int k;
        for (k = 0; k < 6; k++) o[k] = opt;
        o[0].method = BP_ADAM;
        o[1].momentum = 0.6f;
        o[2].beta2 = 0.999f;
        o[3].eps = 1e-6f;
        o[4].weight_decay = 1e-4f;
        o[5].clip = 1.0f;
        for (k = 0; k < 6; k++) {
            b.c.opt = o[k];
            b.c.state_len = b.ns;
            CHECKF(bp_checkpoint_load(&b.net, &b.c, buf, len) == BP_ERR_OPT_MISMATCH, "setting %d", k);
            CHECK(UNTOUCHED());
        }
        /* settings RMSprop does not read may differ (beta1, nesterov), and so may lr */
        b.c.opt = opt;
        b.c.opt.beta1 = 0.5f;
        b.c.opt.nesterov = 1;
        b.c.opt.lr = 1.0f;
        {
            run t;
            CHECK(run_make(&t, &opt, 4));
            t.c.opt = b.c.opt;
            CHECK(bp_checkpoint_load(&t.net, &t.c, buf, len) == BP_OK && t.c.opt.lr == opt.lr);
            run_free(&t);
        }
        b.c = keep_c;
    }
    b.c.state_len = b.ns - 1;
    CHECK(bp_checkpoint_load(&b.net, &b.c, buf, len) == BP_ERR_STATE_SHORT && UNTOUCHED());
    b.c.state_len = b.ns;
    b.c.n_extra = NX - 1;
    CHECK(bp_checkpoint_load(&b.net, &b.c, buf, len) == BP_ERR_EXTRA && UNTOUCHED());
    b.c.n_extra = NX;
    /* another topology: the same sizes with another activation, and other sizes */
    {
        static const bp_act acts2[] = {BP_SIGMOID, BP_RELU, BP_SOFTMAX};
        static const int sizes2[] = {5, 7, 6, 4};
        const size_t nw = bp_work_size(NL, sizes2, 1);
        float *p = garbage(200), *g = garbage(200), *w = garbage(nw);
        bp_net other;
        CHECK(bp_init(&other, NL, SIZES, acts2, BP_LOSS_CROSS_ENTROPY, 1, p, 200, g, 200, w, nw) == BP_OK);
        CHECK(bp_checkpoint_load(&other, &b.c, buf, len) == BP_ERR_TOPOLOGY);
        CHECK(bp_init(&other, NL, sizes2, ACTS, BP_LOSS_CROSS_ENTROPY, 1, p, 200, g, 200, w, nw) == BP_OK);
        CHECK(bp_checkpoint_load(&other, &b.c, buf, len) == BP_ERR_TOPOLOGY);
        CHECK(bp_init_forward(&other, NL, SIZES, ACTS, BP_LOSS_CROSS_ENTROPY, 1, b.params, b.np, w, nw) == BP_OK);
        CHECK(bp_checkpoint_load(&other, &b.c, buf, len) == BP_ERR_READONLY);
        free(p); free(g); free(w);
    }
    CHECK(UNTOUCHED());
    CHECK(bp_checkpoint_load(&b.net, NULL, buf, len) == BP_ERR_NULL);
    CHECK(bp_checkpoint_load(NULL, &b.c, buf, len) == BP_ERR_NULL);
    CHECK(bp_checkpoint_load(&b.net, &b.c, NULL, len) == BP_ERR_NULL);
    b.c.state = NULL;
    CHECK(bp_checkpoint_load(&b.net, &b.c, buf, len) == BP_ERR_NULL);
    b.c = keep_c;
    CHECK(UNTOUCHED());
    /* saving checks what it is given */
    {
        bp_checkpoint c = a.c;
        c.opt.lr = -1.0f;
        CHECK(bp_checkpoint_save(&a.net, &c, buf, len) == BP_ERR_OPT && bp_checkpoint_size(&a.net, &c) == 0);
        c = a.c; c.state_len = a.ns - 1;
        CHECK(bp_checkpoint_save(&a.net, &c, buf, len) == BP_ERR_STATE_SHORT);
        c = a.c; c.epoch = -1;
        CHECK(bp_checkpoint_save(&a.net, &c, buf, len) == BP_ERR_BATCH);
        c = a.c; c.extra = NULL;
        CHECK(bp_checkpoint_save(&a.net, &c, buf, len) == BP_ERR_NULL);
        CHECK(bp_checkpoint_save(&a.net, NULL, buf, len) == BP_ERR_NULL);
        CHECK(bp_checkpoint_save(&a.net, &a.c, NULL, len) == BP_ERR_NULL);
        CHECK(bp_checkpoint_size(NULL, &a.c) == 0 && bp_checkpoint_size(&a.net, NULL) == 0);
    }
#undef UNTOUCHED
    free(keep_p); free(keep_s); free(buf);
    run_free(&a); run_free(&b);
}

/* Every truncation and every single bit flip is refused, in memory and from a file, and
   refused loads write nothing. Flips with the CRC repaired reach the field checks. */
static void test_damage_refused(void) {
    const bp_opt opt = opt_of(3);
    const char *path = "build/test_ckpt_damage.bpckpt";
    run a, b;
    unsigned char *buf, *bad;
    size_t len, cut, bit;
    int refused = 1, untouched = 1, file_refused = 1, repaired_ok = 0, repaired_refused = 0;
    float *keep;
    CHECK(run_make(&a, &opt, 4) && run_make(&b, &opt, 4));
    run_start(&a, 4);
    CHECK(run_steps(&a, 6));
    len = bp_checkpoint_size(&a.net, &a.c);
    buf = (unsigned char *)malloc(len);
    bad = (unsigned char *)malloc(len);
    CHECK(bp_checkpoint_save(&a.net, &a.c, buf, len) == BP_OK);
    run_start(&b, 1);
    keep = (float *)malloc(b.np * sizeof(float));
    memcpy(keep, b.params, b.np * sizeof(float));
    for (cut = 0; cut < len; cut++) {
        FILE *f;
        refused &= bp_checkpoint_load(&b.net, &b.c, buf, cut) != BP_OK;
        refused &= bp_checkpoint_peek(buf, cut, NULL, NULL, NULL, NULL, NULL) != BP_OK;
        if ((f = fopen(path, "wb")) != NULL) {
            fwrite(buf, 1, cut, f);
            fclose(f);
        }
        file_refused &= bp_checkpoint_load_file(&b.net, &b.c, path) != BP_OK;
    }
    for (bit = 0; bit < 8 * len; bit++) {
        memcpy(bad, buf, len);
        bad[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        refused &= bp_checkpoint_load(&b.net, &b.c, bad, len) != BP_OK;
        if (bit / 8 < len - 4) {             /* the same flip with a valid CRC */
            bp__put32(bad + len - 4, bp__crc32(0, bad, len - 4));
            memcpy(b.params, keep, b.np * sizeof(float));
            if (bp_checkpoint_load(&b.net, &b.c, bad, len) == BP_OK) repaired_ok++;
            else {
                repaired_refused++;
                untouched &= memcmp(keep, b.params, b.np * sizeof(float)) == 0;
            }
        }
        if (bit % 61 == 0) {                 /* a sample of the flips from a file too */
            FILE *f;
            bad[bit / 8] = buf[bit / 8] ^ (unsigned char)(1u << (bit % 8));
            if (bit / 8 < len - 4) bp__put32(bad + len - 4, bp__get32(buf + len - 4));
            if ((f = fopen(path, "wb")) != NULL) {
                fwrite(bad, 1, len, f);
                fclose(f);
            }
            file_refused &= bp_checkpoint_load_file(&b.net, &b.c, path) != BP_OK;
        }
    }
    memcpy(b.params, keep, b.np * sizeof(float));
    CHECK(refused);
    CHECK(file_refused);
    CHECK(untouched);
    /* with the CRC repaired, flips in the header's fields are refused (the counts, the
       settings' ranges, the topology...), flips in most payload floats load (they are data) */
    CHECKF(repaired_refused > 200 && repaired_ok > 1000, "%d refused, %d loaded", repaired_refused,
           repaired_ok);
    /* a non-finite parameter or state float with a valid CRC: not a checkpoint we write */
    {
        const size_t at = len - 4 - 4 * NX - 4;       /* the state's last float */
        memcpy(bad, buf, len);
        bad[at + 3] = 0x7f; bad[at + 2] = 0xc0;        /* a NaN */
        bp__put32(bad + len - 4, bp__crc32(0, bad, len - 4));
        CHECK(bp_checkpoint_load(&b.net, &b.c, bad, len) == BP_ERR_CORRUPT);
        memcpy(bad, buf, len);                         /* extra floats are yours: anything */
        bp__put32(bad + len - 4 - 4 * NX, 0x7f800000u);  /* +inf */
        bp__put32(bad + len - 4, bp__crc32(0, bad, len - 4));
        CHECK(bp_checkpoint_load(&b.net, &b.c, bad, len) == BP_OK && b.extra[0] > FLT_MAX);
    }
    remove(path);
    free(keep); free(buf); free(bad);
    run_free(&a); run_free(&b);
}

static unsigned char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    unsigned char *p;
    long n;
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    p = (unsigned char *)malloc(n > 0 ? (size_t)n : 1);
    *len = fread(p, 1, (size_t)n, f);
    fclose(f);
    return p;
}

/* The fixture written from the specification alone (tests/fixtures/make_fixtures.py): the
   reader gives the fields it was written with, and the writer its very bytes. */
static void test_fixture(void) {
    static const int sizes[] = {2, 3, 2};
    static const bp_act acts[] = {BP_TANH, BP_SOFTMAX};
    float p[17], g[17], w[64], st[35], ex[2];
    size_t len = 0;
    unsigned char *fx = slurp("tests/fixtures/ckpt-2-3-2.bpckpt", &len), *out;
    bp_checkpoint c;
    bp_net net;
    int i, ok = 1;
    CHECK(fx != NULL);
    if (!fx) return;
    CHECK(bp_init(&net, 2, sizes, acts, BP_LOSS_CROSS_ENTROPY, 1, p, 17, g, 17, w,
                  bp_work_size(2, sizes, 1)) == BP_OK && bp_work_size(2, sizes, 1) <= 64);
    memset(&c, 0, sizeof c);
    c.opt = bp_opt_adam(0.1f);
    c.opt.beta1 = 0.75f;
    c.opt.beta2 = 0.875f;
    CHECK(bp_checkpoint_load(&net, &c, fx, len) == BP_ERR_OPT_MISMATCH);    /* eps differs */
    c.opt.eps = 1.0f / 1048576;
    CHECK(bp_checkpoint_load(&net, &c, fx, len) == BP_ERR_NULL);            /* no state given */
    c.state = st;
    c.state_len = 35;
    CHECK(bp_checkpoint_load(&net, &c, fx, len) == BP_ERR_EXTRA);           /* 2 extra floats */
    c.extra = ex;
    c.n_extra = 2;
    CHECK(bp_checkpoint_load(&net, &c, fx, len) == BP_OK);
    CHECK(c.opt.lr == 1.0f / 256 && c.step == 3 && c.epoch == 1 && c.sample == 6
          && c.rng.state == 0x0123456789ABCDEFull);
    for (i = 0; i < 17; i++) {
        ok &= p[i] == (float)(i - 7) / 8;
        ok &= st[i] == (float)i / 16 && st[17 + i] == (float)i / 32;
    }
    CHECK(ok && st[34] == 3.0f && ex[0] == -1.5f && ex[1] == 1024.0f);
    CHECK(bp_checkpoint_size(&net, &c) == len);
    out = (unsigned char *)malloc(len);
    CHECK(bp_checkpoint_save(&net, &c, out, len) == BP_OK && memcmp(out, fx, len) == 0);
    free(out);
    free(fx);
}

/* The file helpers, and the writer stopped at each stage: the target loads, the old
   checkpoint until the rename, the new one after it. */
static void test_files_and_crashes(void) {
    const bp_opt opt = opt_of(2);
    const char *path = "build/test_ckpt.bpckpt", *tmp = "build/test_ckpt.bpckpt.tmp";
    run a, b, c;
    size_t len = 0, len2 = 0;
    unsigned char *mem, *file;
    int stage;
    FILE *f;
    CHECK(run_make(&a, &opt, 4) && run_make(&b, &opt, 4) && run_make(&c, &opt, 4));
    run_start(&a, 6);
    CHECK(run_steps(&a, 3));
    remove(path);
    remove(tmp);
    CHECK(bp_checkpoint_load_file(&b.net, &b.c, path) == BP_ERR_IO);        /* none yet */
    CHECK(bp_checkpoint_save_file(&a.net, &a.c, path) == BP_OK);
    CHECK((f = fopen(tmp, "rb")) == NULL);
    if (f) fclose(f);
    len = bp_checkpoint_size(&a.net, &a.c);
    mem = (unsigned char *)malloc(len);
    CHECK(bp_checkpoint_save(&a.net, &a.c, mem, len) == BP_OK);
    file = slurp(path, &len2);
    CHECK(file && len2 == len && memcmp(file, mem, len) == 0);               /* the same bytes */
    free(file);
    {
        bp_checkpoint p;
        int nl;
        CHECK(bp_checkpoint_peek_file(path, &nl, NULL, NULL, NULL, &p) == BP_OK && nl == NL
              && p.step == 3 && p.n_extra == NX);
    }
    CHECK(bp_checkpoint_load_file(&b.net, &b.c, path) == BP_OK && same_run(&a, &b));
    CHECK(bp_load_file(&c.net, path) == BP_OK);                  /* the parameters, as a model */
    CHECK(memcmp(a.params, c.params, a.np * sizeof(float)) == 0);
    /* a newer run (b trained on), its save interrupted at each stage */
    CHECK(run_steps(&b, 4));
    for (stage = 1; stage <= 6; stage++) {
        run r;
        bp_status st;
        CHECK(bp_checkpoint_save_file(&a.net, &a.c, path) == BP_OK);          /* the old one */
        test_crash_stage = stage;
        st = bp_checkpoint_save_file(&b.net, &b.c, path);
        test_crash_stage = 0;
        CHECKF(st == BP_ERR_IO, "stage %d: %s", stage, bp_strerror(st));
        CHECK(run_make(&r, &opt, 4));
        st = bp_checkpoint_load_file(&r.net, &r.c, path);
        CHECKF(st == BP_OK, "stage %d: the target does not load: %s", stage, bp_strerror(st));
        CHECKF(same_run(stage < 6 ? &a : &b, &r), "stage %d: not the %s checkpoint", stage,
               stage < 6 ? "old" : "new");
        run_free(&r);
        /* the next save goes through, whatever the last one left behind */
        CHECK(bp_checkpoint_save_file(&b.net, &b.c, path) == BP_OK);
        CHECK(run_make(&r, &opt, 4));
        CHECK(bp_checkpoint_load_file(&r.net, &r.c, path) == BP_OK && same_run(&b, &r));
        run_free(&r);
    }
    /* the very first save interrupted before its rename leaves no checkpoint: a new start */
    for (stage = 1; stage <= 5; stage++) {
        remove(path);
        test_crash_stage = stage;
        CHECK(bp_checkpoint_save_file(&a.net, &a.c, path) == BP_ERR_IO);
        test_crash_stage = 0;
        CHECKF(bp_checkpoint_load_file(&c.net, &c.c, path) == BP_ERR_IO, "stage %d", stage);
    }
    /* the same writer serves the models: an interrupted bp_save_file keeps the old model */
    CHECK(bp_save_file(&a.net, path) == BP_OK);
    test_crash_stage = 2;
    CHECK(bp_save_file(&b.net, path) == BP_ERR_IO);
    test_crash_stage = 0;
    CHECK(bp_load_file(&c.net, path) == BP_OK && memcmp(a.params, c.params, a.np * sizeof(float)) == 0);
    CHECK(bp_checkpoint_save_file(&a.net, &a.c, "build/no such dir/ckpt") == BP_ERR_IO);
    CHECK(bp_checkpoint_load_file(&b.net, &b.c, NULL) == BP_ERR_NULL);
    remove(path);
    remove(tmp);
    free(mem);
    run_free(&a); run_free(&b); run_free(&c);
}

int main(void) {
    make_data();
    RUN(test_round_trip);
    RUN(test_fixture);
    RUN(test_resume_same_bits);
    RUN(test_refusals);
    RUN(test_damage_refused);
    RUN(test_files_and_crashes);
    return test_summary();
}
