/* Part 2, training: the optimizers' update rules against references, the PRNG, initial
   weights, epochs, refused steps (non-finite values, short arrays, targets, bad arguments),
   shuffles, labels, evaluation, schedules, the public gradient check.
   Included by tests/test_backprop.c, which holds the shared helpers: one program. */

/* The update rule on hand-set gradients: w = b = 1, g = 0.5, lr 0.1, momentum 0.9, decay 0.01.
   weight, step 1: g' = 0.5 + 0.01 = 0.51, v = 0.51, w = 1 - 0.051 = 0.949
   weight, step 2: g' = 0.5 + 0.00949 = 0.50949, v = 0.459 + 0.50949 = 0.96849, w = 0.852151
   bias (no decay): v = 0.5, b = 0.95; then v = 0.95, b = 0.855
   Nesterov, step 1: w = 1 - 0.1 (0.51 + 0.9 * 0.51) = 0.9031; bias: 1 - 0.1 (0.5 + 0.45) = 0.905
   Plain SGD with decay: w = 1 - 0.1 * 0.51 = 0.949; bias 0.95. And bp_sgd on 37 elements (two
   blocks of 16 and a tail), with values whose products and differences are exact. */
static void test_update_rules(void) {
    static const int sizes[] = {1, 1};
    static const bp_act acts[] = {BP_LINEAR};
    bp_opt opt = sgd(0.1f, 0.9f, 0.01f, 0);
    tnet tn;
    CHECK(tnet_make(&tn, 1, sizes, acts, BP_LOSS_SQUARED, 1) == BP_OK);
    tn.params[0] = tn.params[1] = 1; tn.grads[0] = tn.grads[1] = 0.5f;
    CHECK(bp_update(&tn.net, &opt, tn.vel, tn.net.n_params) == BP_OK);
    CHECK(fabs(tn.params[0] - 0.949) < 1e-6 && fabs(tn.params[1] - 0.95) < 1e-6);
    CHECK(bp_update(&tn.net, &opt, tn.vel, tn.net.n_params) == BP_OK);
    CHECK(fabs(tn.params[0] - 0.852151) < 1e-6 && fabs(tn.params[1] - 0.855) < 1e-6);
    opt.nesterov = 1;
    tn.params[0] = tn.params[1] = 1; tn.vel[0] = tn.vel[1] = 0;
    CHECK(bp_update(&tn.net, &opt, tn.vel, tn.net.n_params) == BP_OK);
    CHECK(fabs(tn.params[0] - 0.9031) < 1e-6 && fabs(tn.params[1] - 0.905) < 1e-6);
    opt.momentum = 0; opt.nesterov = 0;
    tn.params[0] = tn.params[1] = 1;
    CHECK(bp_update(&tn.net, &opt, NULL, 0) == BP_OK);
    CHECK(fabs(tn.params[0] - 0.949) < 1e-6 && fabs(tn.params[1] - 0.95) < 1e-6);
    tnet_free(&tn);
    {   /* bp_sgd, p -= lr g, over two blocks of 16 and a tail: every element, exact sums */
        float p[37], g[37];
        int i, bad = 0;
        for (i = 0; i < 37; i++) { p[i] = (float)(i - 10); g[i] = (float)(2 * i + 1); }
        bp_sgd(p, g, 37, 0.25f);
        for (i = 0; i < 37; i++) bad += p[i] != (float)(i - 10) - 0.25f * (float)(2 * i + 1);
        CHECKF(bad == 0, "bp_sgd: %d of 37 elements wrong", bad);
    }
}

/* Every optimizer against its published rule computed in double (DESIGN: SGD, momentum,
   Nesterov; Adam, Kingma & Ba 2015, with bias correction; AdamW, Loshchilov & Hutter 2019;
   RMSprop as PyTorch's), each with and without weight decay and global-norm clipping, six
   steps of bp_update on a 3-2 layer with fixed random gradients. The float library and the
   double reference agree to float rounding (2e-6 relative); the state's moments and Adam's
   step count too. Wrong bias correction, decay on the biases or coupled instead of decoupled,
   a missing square, clipping per element: each is off by 1e-3 or more. */
typedef struct ref_opt { double w[8], m[8], v[8], t; } ref_opt;
static void ref_step(ref_opt *s, const bp_opt *o, const float *gf) {
    const double lr = o->lr, mu = o->momentum, b1 = o->beta1, b2 = o->beta2, eps = o->eps;
    double g[8], norm = 0;
    int i;
    for (i = 0; i < 8; i++) { g[i] = gf[i]; norm += g[i] * g[i]; }
    norm = sqrt(norm);
    if (o->clip > 0 && norm > o->clip) for (i = 0; i < 8; i++) g[i] *= o->clip / norm;
    s->t += 1;
    for (i = 0; i < 8; i++) {
        const double wd = i < 6 ? o->weight_decay : 0;     /* W (6), then the biases (2) */
        double gi = g[i], u;
        switch (o->method) {
        case BP_SGD:
            gi += wd * s->w[i];
            s->m[i] = mu * s->m[i] + gi;
            s->w[i] -= lr * (mu == 0 ? gi : o->nesterov ? gi + mu * s->m[i] : s->m[i]);
            break;
        case BP_ADAM: case BP_ADAMW:
            if (o->method == BP_ADAM) gi += wd * s->w[i]; else s->w[i] *= 1 - lr * wd;
            s->m[i] = b1 * s->m[i] + (1 - b1) * gi;
            s->v[i] = b2 * s->v[i] + (1 - b2) * gi * gi;
            s->w[i] -= lr * (s->m[i] / (1 - pow(b1, s->t))) / (sqrt(s->v[i] / (1 - pow(b2, s->t))) + eps);
            break;
        default:
            gi += wd * s->w[i];
            s->v[i] = b2 * s->v[i] + (1 - b2) * gi * gi;
            u = gi / (sqrt(s->v[i]) + eps);
            if (mu > 0) { s->m[i] = mu * s->m[i] + u; u = s->m[i]; }
            s->w[i] -= lr * u;
        }
    }
}

static void test_optimizers_known_answers(void) {
    static const int sizes[] = {3, 2};
    static const bp_act acts[] = {BP_LINEAR};
    int method, variant, step, i, bad = 0;
    for (method = 0; method < BP_METHOD_COUNT; method++)
        for (variant = 0; variant < 8; variant++) {
            bp_opt o = bp_opt_adam(method == BP_SGD ? 0.1f : 0.01f);
            ref_opt ref;
            bp_rng r = bp_rng_seed(40 + (uint64_t)variant);
            tnet tn;
            o.method = (bp_method)method;
            if (method == BP_RMSPROP) o.beta2 = 0.99f;
            o.weight_decay = variant & 1 ? 0.05f : 0.0f;
            o.clip = variant & 2 ? 0.5f : 0.0f;
            if (variant & 4) o.momentum = 0.9f;               /* SGD, RMSprop; Adam ignores it */
            o.nesterov = method == BP_SGD && variant == 7;
            if (variant == 6 && method != BP_SGD) o.beta1 = 0.5f, o.beta2 = 0.75f;
            CHECK(tnet_make(&tn, 1, sizes, acts, BP_LOSS_SQUARED, 1) == BP_OK);
            memset(&ref, 0, sizeof ref);
            for (i = 0; i < 8; i++) ref.w[i] = tn.params[i] = urand(&r, -1, 1);
            for (step = 0; step < 6; step++) {
                for (i = 0; i < 8; i++) tn.grads[i] = urand(&r, -1, 1);
                CHECK(bp_update(&tn.net, &o, tn.vel, bp_opt_state_size(&o, 8)) == BP_OK);
                ref_step(&ref, &o, tn.grads);
            }
            for (i = 0; i < 8; i++) {
                const double m = method == BP_RMSPROP ? ref.v[i] : ref.m[i];
                bad += fabs(tn.params[i] - ref.w[i]) > 2e-6 * (1 + fabs(ref.w[i]));
                if (method != BP_SGD || o.momentum > 0) bad += fabs(tn.vel[i] - m) > 2e-6 * (1 + fabs(m));
                if (method == BP_ADAM || method == BP_ADAMW)
                    bad += fabs(tn.vel[8 + i] - ref.v[i]) > 2e-6 * (1 + fabs(ref.v[i]));
                if (method == BP_RMSPROP && o.momentum > 0)
                    bad += fabs(tn.vel[8 + i] - ref.m[i]) > 2e-6 * (1 + fabs(ref.m[i]));
            }
            if (method == BP_ADAM || method == BP_ADAMW) bad += tn.vel[16] != 6;
            if (bad) {
                fprintf(stderr, "method %d variant %d: w[0] %.9g, reference %.9g\n", method, variant,
                        (double)tn.params[0], ref.w[0]);
                bad = 0;
                test_checks_failed++;
            }
            tnet_free(&tn);
        }
    {   /* settings out of range */
        const float x[3] = {1, 2, 3}, t2[2] = {0, 1};
        bp_opt o = bp_opt_adam(0.01f);
        tnet tn;
        CHECK(tnet_make(&tn, 1, sizes, acts, BP_LOSS_SQUARED, 1) == BP_OK);
        CHECK(bp_opt_state_size(&o, 8) == 17);
        o.beta1 = 1;    CHECK(bp_train_step(&tn.net, &o, tn.vel, tn.ns, x, t2, 1, NULL) == BP_ERR_OPT);
        o.beta1 = 0.9f; o.beta2 = -0.1f; CHECK(bp_train_step(&tn.net, &o, tn.vel, tn.ns, x, t2, 1, NULL) == BP_ERR_OPT);
        o.beta2 = 0.999f; o.eps = 0;     CHECK(bp_train_step(&tn.net, &o, tn.vel, tn.ns, x, t2, 1, NULL) == BP_ERR_OPT);
        o.eps = 1e-8f;
        CHECK(bp_train_step(&tn.net, &o, tn.vel, 16, x, t2, 1, NULL) == BP_ERR_STATE_SHORT);
        CHECK(bp_train_step(&tn.net, &o, tn.vel, 17, x, t2, 1, NULL) == BP_OK && tn.vel[16] == 1);
        o.method = BP_RMSPROP;
        CHECK(bp_opt_state_size(&o, 8) == 8);
        o.momentum = 0.5f;
        CHECK(bp_opt_state_size(&o, 8) == 16);
        tnet_free(&tn);
    }
}

/* ---- properties ------------------------------------------------------------------------- */

/* splitmix64 reference outputs (Vigna's splitmix64.c): seed 0 -> 0xE220A8397B1DCDAF;
   seed 1234567 -> 6457827717110365317, 3203168211198807973, 9817491932198370423, ...
   bp_rng_u32 returns the high 32 bits of each. */
static void test_rng(void) {
    static const uint32_t want[] = {0x599ed017u, 0x2c73f084u, 0x883ebce5u, 0x3fbef740u, 0xe3b83467u};
    bp_rng r = bp_rng_seed(0);
    int i, counts[7] = {0};
    CHECK(bp_rng_u32(&r) == 0xE220A839u);
    r = bp_rng_seed(1234567);
    for (i = 0; i < 5; i++) CHECK(bp_rng_u32(&r) == want[i]);
    for (i = 0; i < 100000; i++) {
        float f = bp_rng_float(&r);
        CHECK(f >= 0.0f && f < 1.0f);
    }
    for (i = 0; i < 70000; i++) counts[bp_rng_below(&r, 7)]++;
    for (i = 0; i < 7; i++) CHECKF(abs(counts[i] - 10000) < 500, "bucket %d: %d", i, counts[i]);
    CHECK(bp_rng_below(&r, 0) == 0 && bp_rng_below(&r, 1) == 0);
    for (i = 0; i < 1000; i++) CHECK(bp_rng_below(&r, 3000000000u) < 3000000000u);
}

/* Xavier: uniform on [-r, r], r = sqrt(6 / (in + out)), variance r^2 / 3 = 2 / (in + out).
   He: r = sqrt(6 / in), variance 2 / in. With 20,000 draws the sample variance is within
   about 1.6% (one standard error ~0.63%) and the mean within 0.02 r; biases are exactly 0. */
static void test_init_statistics(void) {
    static const int sizes[] = {200, 100, 50};
    static const bp_act acts[] = {BP_RELU, BP_SIGMOID};
    tnet tn;
    int l;
    CHECK(tnet_make(&tn, 2, sizes, acts, BP_LOSS_SQUARED, 1) == BP_OK);
    bp_randomize(&tn.net, 7);
    for (l = 0; l < 2; l++) {
        int ni = sizes[l], no = sizes[l + 1], i;
        const float *w = tn.params + (l == 0 ? 0 : 201 * 100);
        double r = l == 0 ? sqrt(6.0 / ni) : sqrt(6.0 / (ni + no)), mean = 0, var = 0;
        for (i = 0; i < ni * no; i++) {
            CHECK(fabs(w[i]) <= r);
            mean += w[i];
        }
        mean /= ni * no;
        for (i = 0; i < ni * no; i++) var += (w[i] - mean) * (w[i] - mean);
        var /= ni * no;
        CHECKF(fabs(mean) < 0.02 * r, "layer %d mean %g", l, mean);
        CHECKF(fabs(var / (r * r / 3) - 1) < 0.03, "layer %d variance ratio %g", l, var / (r * r / 3));
        for (i = 0; i < no; i++) CHECK(w[ni * no + i] == 0.0f);
    }
    tnet_free(&tn);
}

/* The optimizer's state may sit at any float alignment (the README advises 64 bytes for
   speed only): Adam, AdamW and RMSprop with momentum train to the same bits with it moved
   by 1 to 15 floats, on a net whose spans mix blocks of 16 and leftover elements (a kernel
   that peeled to an alignment with other arithmetic, or read past a span, would differ). */
static void test_state_alignment(void) {
    static const int sizes[] = {20, 17, 5};
    static const bp_act acts[] = {BP_TANH, BP_SOFTMAX};
    static const int offs[] = {1, 3, 4, 8, 15};
    bp_opt opts[3];
    float x[4 * 20], t[4 * 5] = {0}, *ref_p, *ref_s, *buf;
    bp_rng r = bp_rng_seed(23);
    int o, k, step, i;
    opts[0] = bp_opt_adam(0.01f);
    opts[1] = bp_opt_adam(0.01f); opts[1].method = BP_ADAMW; opts[1].weight_decay = 0.1f;
    opts[2] = bp_opt_adam(0.01f); opts[2].method = BP_RMSPROP; opts[2].momentum = 0.9f;
    for (i = 0; i < 4 * 20; i++) x[i] = urand(&r, -1, 1);
    for (i = 0; i < 4; i++) t[i * 5 + (i * 3) % 5] = 1;
    for (o = 0; o < 3; o++) {
        tnet a;
        size_t ns;
        CHECK(tnet_make(&a, 2, sizes, acts, BP_LOSS_CROSS_ENTROPY, 4) == BP_OK);
        ns = bp_opt_state_size(&opts[o], a.net.n_params);
        ref_p = (float *)malloc(a.net.n_params * sizeof(float));
        ref_s = (float *)malloc(ns * sizeof(float));
        buf = (float *)malloc((ns + 16) * sizeof(float));
        assert(ref_p && ref_s && buf);
        for (k = -1; k < 5; k++) {              /* -1: the reference, in tnet's own array */
            float *s = k < 0 ? a.vel : buf + offs[k];
            memset(s, 0, ns * sizeof(float));
            bp_randomize(&a.net, 5);
            for (step = 0; step < 4; step++)
                CHECK(bp_train_step(&a.net, &opts[o], s, ns, x, t, 4, NULL) == BP_OK);
            if (k < 0) {
                memcpy(ref_p, a.params, a.net.n_params * sizeof(float));
                memcpy(ref_s, s, ns * sizeof(float));
                continue;
            }
            CHECKF(memcmp(ref_p, a.params, a.net.n_params * sizeof(float)) == 0,
                   "optimizer %d, state moved %d floats", o, offs[k]);
            CHECK(memcmp(ref_s, s, ns * sizeof(float)) == 0);
        }
        free(ref_p); free(ref_s); free(buf);
        tnet_free(&a);
    }
}

/* bp_train_epoch gives the same bits as bp_train_step on each batch in turn: with one sample
   and plain SGD (where it defers each first-layer update into the next forward pass, with
   first-layer widths that exercise both the 4-row and the leftover-row kernels), with
   momentum and decay, and with batches whose last one is short. Its mean loss is the mean of
   the steps' losses. */
static void test_train_epoch(void) {
    static const int sizes[] = {37, 7, 5, 3};
    static const bp_act acts[] = {BP_TANH, BP_LEAKY_RELU, BP_SOFTMAX};
    const bp_opt opts[] = {sgd(0.1f, 0, 0, 0), sgd(0.05f, 0.9f, 1e-3f, 1), sgd(0.2f, 0, 1e-2f, 0)};
    static const int batches[] = {1, 1, 4};
    float x[11 * 37], t[11 * 3] = {0};
    bp_rng r = bp_rng_seed(17);
    int c, i, epoch;
    for (i = 0; i < 11 * 37; i++) x[i] = urand(&r, -1, 1);
    for (i = 0; i < 11; i++) t[i * 3 + i % 3] = 1;
    for (c = 0; c < 3; c++) {
        tnet a, b;
        double sum = 0;
        float mean = -1, l = -1;
        CHECK(tnet_make(&a, 3, sizes, acts, BP_LOSS_CROSS_ENTROPY, batches[c]) == BP_OK);
        CHECK(tnet_make(&b, 3, sizes, acts, BP_LOSS_CROSS_ENTROPY, batches[c]) == BP_OK);
        bp_randomize(&a.net, 3); bp_randomize(&b.net, 3);
        for (epoch = 0; epoch < 3; epoch++) {
            sum = 0;
            for (i = 0; i < 11; i += batches[c]) {
                int n = 11 - i < batches[c] ? 11 - i : batches[c];
                CHECK(bp_train_step(&a.net, &opts[c], a.vel, a.net.n_params, x + i * 37, t + i * 3, n, &l) == BP_OK);
                sum += (double)l * n;
            }
            CHECK(bp_train_epoch(&b.net, &opts[c], b.vel, b.net.n_params, x, t, 11, NULL, &mean, NULL) == BP_OK);
        }
        CHECKF(memcmp(a.params, b.params, a.net.n_params * sizeof(float)) == 0, "case %d", c);
        CHECK(memcmp(a.vel, b.vel, a.net.n_params * sizeof(float)) == 0);
        CHECKF(fabs(mean - sum / 11) < 1e-6, "case %d: mean loss %g, steps %g", c, (double)mean, sum / 11);
        /* and the forward pass afterwards sees the fully updated weights */
        CHECK(memcmp(bp_forward(&a.net, x, 1), bp_forward(&b.net, x, 1), 3 * sizeof(float)) == 0);
        CHECK(bp_train_epoch(&b.net, &opts[c], b.vel, b.net.n_params, x, t, 0, NULL, NULL, NULL) == BP_ERR_BATCH);
        CHECK(bp_train_epoch(&b.net, &opts[c], b.vel, b.net.n_params, NULL, t, 1, NULL, NULL, NULL) == BP_ERR_NULL);
        CHECK(bp_train_epoch(&b.net, NULL, b.vel, b.net.n_params, x, t, 1, NULL, NULL, NULL) == BP_ERR_NULL);
        tnet_free(&a); tnet_free(&b);
    }
    {   /* one weight layer: the deferred first layer is also the output layer */
        static const int one[] = {37, 3};
        static const bp_act soft[] = {BP_SOFTMAX};
        tnet a, b;
        CHECK(tnet_make(&a, 1, one, soft, BP_LOSS_CROSS_ENTROPY, 1) == BP_OK);
        CHECK(tnet_make(&b, 1, one, soft, BP_LOSS_CROSS_ENTROPY, 1) == BP_OK);
        bp_randomize(&a.net, 5); bp_randomize(&b.net, 5);
        for (i = 0; i < 11; i++) CHECK(bp_train_step(&a.net, &opts[0], NULL, 0, x + i * 37, t + i * 3, 1, NULL) == BP_OK);
        CHECK(bp_train_epoch(&b.net, &opts[0], NULL, 0, x, t, 11, NULL, NULL, NULL) == BP_OK);
        CHECK(memcmp(a.params, b.params, a.net.n_params * sizeof(float)) == 0);
        tnet_free(&a); tnet_free(&b);
    }
}

static void test_strerror(void) {
    int s, k;
    for (s = 0; s < BP_STATUS_COUNT; s++) {
        const char *m = bp_strerror((bp_status)s);
        CHECK(m && *m && strcmp(m, "unknown status") != 0);
        for (k = 0; k < s; k++) CHECK(strcmp(m, bp_strerror((bp_status)k)) != 0);
    }
    CHECK(strcmp(bp_strerror(BP_OK), "ok") == 0);
    CHECK(strcmp(bp_strerror(BP_STATUS_COUNT), "unknown status") == 0);
    CHECK(strcmp(bp_strerror((bp_status)-1), "unknown status") == 0);
    CHECK(strcmp(bp_act_name(BP_LEAKY_RELU), "leaky_relu") == 0 && bp_act_name(BP_ACT_COUNT) == NULL);
}

/* ---- helpers ---------------------------------------------------------------------------- */

static void test_argmax_and_evaluate(void) {
    static const float v[] = {0.1f, 0.7f, 0.7f, 0.2f};
    /* a 2-2 linear net with W = identity, b = 0 classifies by the larger input */
    static const int sizes[] = {2, 2};
    static const bp_act acts[] = {BP_LINEAR};
    const float x[] = {1, 0, 0, 1, 2, 1, 1, 3, 0.5f, 0.4f, 0, 1, 1, 0};
    const float t[] = {1, 0, 0, 1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0}; /* 3rd and 6th are wrong */
    float loss = -1, acc = -1;
    tnet tn;
    CHECK(bp_argmax(v, 4) == 1);   /* first of the tie */
    CHECK(bp_argmax(v, 1) == 0);
    CHECK(tnet_make(&tn, 1, sizes, acts, BP_LOSS_SQUARED, 3) == BP_OK);
    tn.params[0] = tn.params[3] = 1;
    CHECK(bp_evaluate(&tn.net, x, t, 7, &loss, &acc) == BP_OK);   /* batches of 3, 3, 1 */
    CHECK(fabs(acc - 5.0f / 7) < 1e-6);
    /* squared losses per sample: 0, 0, .5(4+0)=2, .5(1+4)=2.5, .5(.25+.16)=.205, .5(1+1)=1, 0 */
    CHECK(fabs(loss - (2 + 2.5 + 0.205 + 1) / 7) < 1e-6);
    CHECK(bp_evaluate(&tn.net, x, t, 7, NULL, NULL) == BP_OK);
    tnet_free(&tn);
}

/* One model, many threads: bp_net views share params, each with its own work and grads.
   Each thread's outputs equal the serial ones bit for bit. */
#define VIEWS 4
/* ---- refused steps: non-finite values, short arrays, targets, bad arguments --------------- */

/* One NaN (or infinite) pixel in a batch, a ReLU or tanh hidden layer, softmax + cross-entropy:
   ReLU once mapped the NaN to 0 (finite loss, NaN weights); now every training path refuses
   the step with params and velocity untouched, bp_backward answers NaN with grads untouched,
   bp_evaluate refuses the outputs. Batches of 1 (the one-sample path) and 4 (the GEMM). */
static void test_nonfinite_pixel(void) {
    static const int sizes[] = {6, 8, 7, 3};
    static const bp_act hidden[] = {BP_RELU, BP_TANH, BP_LEAKY_RELU, BP_SIGMOID};
    const float bads[] = {NAN, INFINITY, -INFINITY};
    float x[4 * 6], t[4 * 3] = {0};
    bp_rng r = bp_rng_seed(31);
    int h, batch, v, i;
    for (i = 0; i < 4; i++) t[i * 3 + i % 3] = 1;
    for (h = 0; h < 4; h++)
        for (batch = 1; batch <= 4; batch += 3)
            for (v = 0; v < 3; v++) {
                bp_act acts[3];
                const bp_opt opts[2] = {sgd(0.1f, 0, 0, 0), sgd(0.1f, 0.9f, 1e-3f, 1)};
                float loss = 0, acc = -1;
                int o;
                tnet tn;
                acts[0] = hidden[h]; acts[1] = BP_RELU; acts[2] = BP_SOFTMAX;
                CHECK(tnet_make(&tn, 3, sizes, acts, BP_LOSS_CROSS_ENTROPY, 4) == BP_OK);
                bp_randomize(&tn.net, 31);
                for (i = 0; i < 4 * 6; i++) x[i] = urand(&r, 0, 1);
                for (o = 0; o < 2; o++)     /* a few good steps first: the state is not zero */
                    for (i = 0; i < 3; i++)
                        CHECK(bp_train_step(&tn.net, &opts[o], tn.vel, tn.net.n_params, x, t, batch, NULL) == BP_OK);
                x[(batch - 1) * 6 + 2] = bads[v];
                for (o = 0; o < 2; o++) {
                    snap k = snap_take(tn.params, tn.net.n_params, tn.vel, tn.net.n_params);
                    CHECKF(bp_train_step(&tn.net, &opts[o], tn.vel, tn.net.n_params, x, t, batch, &loss) == BP_ERR_NONFINITE,
                           "%s, batch %d, pixel %g", bp_act_name(acts[0]), batch, (double)bads[v]);
                    CHECK(snap_same(&k, tn.params, tn.vel));
                    snap_free(&k);
                }
                for (i = 0; i < (int)tn.net.n_params; i++) tn.grads[i] = 7;
                bp_forward(&tn.net, x, batch);
                CHECK(isnan(bp_backward(&tn.net, x, t, batch)));
                for (i = 0; i < (int)tn.net.n_params; i++) CHECK(tn.grads[i] == 7);
                CHECK(bp_evaluate(&tn.net, x, t, batch, &loss, &acc) == BP_ERR_NONFINITE && acc == -1);
                CHECK(all_finite(tn.params, tn.net.n_params));
                tnet_free(&tn);
            }
}

/* bp_update with a non-finite or overflowing stored gradient, and a bp_rnet's update alike. */
static void test_update_refuses(void) {
    static const int sizes[] = {3, 4, 2};
    static const bp_act acts[] = {BP_TANH, BP_LINEAR};
    const bp_opt opt = sgd(0.1f, 0.9f, 1e-2f, 0);
    const float bads[] = {NAN, INFINITY, 1e30f};
    tnet tn;
    int v;
    CHECK(tnet_make(&tn, 2, sizes, acts, BP_LOSS_SQUARED, 1) == BP_OK);
    bp_randomize(&tn.net, 2);
    for (v = 0; v < 3; v++) {
        snap k;
        size_t i;
        for (i = 0; i < tn.net.n_params; i++) tn.grads[i] = 0.01f * (float)i;
        CHECK(bp_update(&tn.net, &opt, tn.vel, tn.net.n_params) == BP_OK);
        tn.grads[tn.net.n_params - 1 - (size_t)v] = bads[v];
        k = snap_take(tn.params, tn.net.n_params, tn.vel, tn.net.n_params);
        CHECK(bp_update(&tn.net, &opt, tn.vel, tn.net.n_params) == BP_ERR_NONFINITE);
        CHECK(snap_same(&k, tn.params, tn.vel));
        snap_free(&k);
    }
    tnet_free(&tn);
    {
        trnet rn;
        float vel[3 * 3 + 3 * 2 + 3] = {0};
        snap k;
        CHECK(trnet_make(&rn, 3, 2, 1, BP_TANH) == BP_OK);
        bp_rnet_randomize(&rn.net, 1);
        memset(rn.grads, 0, rn.net.n_params * sizeof(float));
        rn.grads[4] = NAN;
        k = snap_take(rn.params, rn.net.n_params, vel, rn.net.n_params);
        CHECK(bp_rnet_update(&rn.net, &opt, vel, rn.net.n_params) == BP_ERR_NONFINITE);
        CHECK(snap_same(&k, rn.params, vel));
        rn.grads[4] = 0.5f;
        CHECK(bp_rnet_update(&rn.net, &opt, vel, rn.net.n_params) == BP_OK);
        CHECK(!snap_same(&k, rn.params, vel));
        CHECK(bp_rnet_update(&rn.net, &opt, vel, 3) == BP_ERR_STATE_SHORT);
        CHECK(bp_rnet_update(&rn.net, &opt, NULL, 0) == BP_ERR_NULL);
        CHECK(bp_rnet_update(NULL, &opt, vel, rn.net.n_params) == BP_ERR_NULL);
        snap_free(&k);
        trnet_free(&rn);
    }
}

/* Learning rate 100 on squared loss: the weights grow until something overflows. Step after
   step, every call either trains (and leaves every parameter finite) or refuses with
   BP_ERR_NONFINITE and leaves params and velocity as they were; it must come to that. */
static void test_exploding_lr(void) {
    static const int sizes[] = {4, 6, 5, 2};
    static const bp_act acts[] = {BP_LEAKY_RELU, BP_LINEAR, BP_LINEAR};
    float x[4 * 4], t[4 * 2];
    bp_rng r = bp_rng_seed(4);
    int batch, mom, i;
    for (i = 0; i < 16; i++) x[i] = urand(&r, -1, 1);
    for (i = 0; i < 8; i++) t[i] = urand(&r, -1, 1);
    for (batch = 1; batch <= 4; batch += 3)
        for (mom = 0; mom < 2; mom++) {
            const bp_opt opt = sgd(100.0f, mom ? 0.5f : 0.0f, 0, 0);
            tnet tn;
            int step, refused = 0;
            CHECK(tnet_make(&tn, 3, sizes, acts, BP_LOSS_SQUARED, 4) == BP_OK);
            bp_randomize(&tn.net, 4);
            for (step = 0; step < 200 && !refused; step++) {
                snap k = snap_take(tn.params, tn.net.n_params, tn.vel, tn.net.n_params);
                float loss = 0;
                bp_status s = bp_train_step(&tn.net, &opt, tn.vel, tn.net.n_params, x, t, batch, &loss);
                if (s == BP_OK) {
                    CHECK(all_finite(tn.params, tn.net.n_params) && all_finite(tn.vel, tn.net.n_params));
                } else {
                    CHECKF(s == BP_ERR_NONFINITE, "step %d: %s", step, bp_strerror(s));
                    CHECK(snap_same(&k, tn.params, tn.vel));
                    refused = 1;
                }
                snap_free(&k);
            }
            CHECKF(refused, "batch %d, momentum %d: never refused in 200 steps", batch, mom);
            /* the three-call path refuses too: bp_backward says NaN */
            bp_forward(&tn.net, x, batch);
            CHECK(isnan(bp_backward(&tn.net, x, t, batch)));
            tnet_free(&tn);
        }
}

/* bp_train_epoch stops at the offending batch: the batches before stay trained (the same bits
   as feeding them to bp_train_step), *done says where it stopped, and nothing of that batch is
   applied. With one sample and plain SGD (the deferred first-layer update) and with batches. */
static void test_epoch_stops(void) {
    static const int sizes[] = {5, 6, 3};
    static const bp_act acts[] = {BP_RELU, BP_SOFTMAX};
    float x[10 * 5], t[10 * 3] = {0};
    bp_rng r = bp_rng_seed(8);
    int c, i;
    for (i = 0; i < 50; i++) x[i] = urand(&r, -1, 1);
    for (i = 0; i < 10; i++) t[i * 3 + i % 3] = 1;
    for (c = 0; c < 4; c++) {
        const int batch = c < 2 ? 1 : 3, bad_at = 7;
        const bp_opt opt = sgd(0.1f, c % 2 ? 0.9f : 0.0f, 0, 0);
        float xs[10 * 5], ts[10 * 3], mean = -1;
        tnet a, b;
        int done = -1, want = bad_at / batch * batch;
        memcpy(xs, x, sizeof xs);
        memcpy(ts, t, sizeof ts);
        if (c < 3) xs[bad_at * 5 + 1] = NAN; else ts[bad_at * 3] = -1;   /* a bad target, last */
        CHECK(tnet_make(&a, 2, sizes, acts, BP_LOSS_CROSS_ENTROPY, batch) == BP_OK);
        CHECK(tnet_make(&b, 2, sizes, acts, BP_LOSS_CROSS_ENTROPY, batch) == BP_OK);
        bp_randomize(&a.net, 8); bp_randomize(&b.net, 8);
        for (i = 0; i < want; i += batch)
            CHECK(bp_train_step(&a.net, &opt, a.vel, a.net.n_params, xs + i * 5, ts + i * 3, batch, NULL) == BP_OK);
        CHECK(bp_train_epoch(&b.net, &opt, b.vel, b.net.n_params, xs, ts, 10, NULL, &mean, &done)
              == (c < 3 ? BP_ERR_NONFINITE : BP_ERR_TARGET));
        CHECKF(done == want, "case %d: done %d, want %d", c, done, want);
        CHECK(memcmp(a.params, b.params, a.net.n_params * sizeof(float)) == 0);
        CHECK(memcmp(a.vel, b.vel, a.net.n_params * sizeof(float)) == 0);
        CHECK(isfinite(mean) && mean > 0);
        tnet_free(&a); tnet_free(&b);
    }
}

/* Targets out of range are refused before anything runs: NaN, infinite; for cross-entropy
   outside 0..1; for softmax cross-entropy a row not summing to 1 — which is how class labels
   passed where one-hot rows belong show up, as floats (2, 0, 1) or as int bits. Squared loss
   takes any finite target. */
static void test_targets_refused(void) {
    static const int sizes[] = {4, 5, 3};
    static const bp_act soft[] = {BP_TANH, BP_SOFTMAX}, sig[] = {BP_TANH, BP_SIGMOID}, lin[] = {BP_TANH, BP_LINEAR};
    const float x[8] = {0.1f, 0.2f, 0.3f, 0.4f, -1, 0, 1, 0.5f};
    const int labels[6] = {2, 0, 1, 1, 0, 2};
    const float as_floats[6] = {2, 0, 1, 1, 0, 2};
    const float bad_soft[][6] = {{1, 0, 0, 0, NAN, 1}, {1, 0, 0, 0, 1, INFINITY}, {1.5f, -0.5f, 0, 0, 1, 0},
                                 {0.5f, 0.4f, 0, 0, 1, 0}};
    const float good_soft[6] = {0.2f, 0.3f, 0.5f, 0, 0, 1};
    const bp_opt opt = sgd(0.1f, 0, 0, 0);
    tnet a, b, c;
    snap k;
    int i;
    float loss = 5;
    CHECK(tnet_make(&a, 2, sizes, soft, BP_LOSS_CROSS_ENTROPY, 2) == BP_OK);
    CHECK(tnet_make(&b, 2, sizes, sig, BP_LOSS_CROSS_ENTROPY, 2) == BP_OK);
    CHECK(tnet_make(&c, 2, sizes, lin, BP_LOSS_SQUARED, 2) == BP_OK);
    bp_randomize(&a.net, 1); bp_randomize(&b.net, 1); bp_randomize(&c.net, 1);
    k = snap_take(a.params, a.net.n_params, NULL, 0);
    for (i = 0; i < 4; i++)
        CHECKF(bp_train_step(&a.net, &opt, NULL, 0, x, bad_soft[i], 2, &loss) == BP_ERR_TARGET, "row %d", i);
    CHECK(bp_train_step(&a.net, &opt, NULL, 0, x, as_floats, 2, &loss) == BP_ERR_TARGET);
    CHECK(bp_train_step(&a.net, &opt, NULL, 0, x, (const float *)(const void *)labels, 2, &loss) == BP_ERR_TARGET);
    CHECK(bp_train_epoch(&a.net, &opt, NULL, 0, x, as_floats, 2, NULL, NULL, NULL) == BP_ERR_TARGET);
    CHECK(loss == 5 && snap_same(&k, a.params, NULL));
    bp_forward(&a.net, x, 2);
    CHECK(isnan(bp_backward(&a.net, x, as_floats, 2)));
    CHECK(bp_train_step(&a.net, &opt, NULL, 0, x, good_soft, 2, &loss) == BP_OK);
    {   /* sigmoid: each output a probability */
        const float over[6] = {0, 1, 1.25f, 0, 0, 0}, under[6] = {0, 1, 1, 0, -0.5f, 0}, ok[6] = {0, 1, 0.5f, 1, 0, 0.25f};
        CHECK(bp_train_step(&b.net, &opt, NULL, 0, x, over, 2, NULL) == BP_ERR_TARGET);
        CHECK(bp_train_step(&b.net, &opt, NULL, 0, x, under, 2, NULL) == BP_ERR_TARGET);
        CHECK(bp_train_step(&b.net, &opt, NULL, 0, x, ok, 2, NULL) == BP_OK);
    }
    {   /* squared loss: any finite target; NaN and infinities refused */
        const float wide[6] = {-5, 100, 3, 0, -1e10f, 2}, nan_t[6] = {0, 0, 0, 0, 0, NAN};
        CHECK(bp_train_step(&c.net, &opt, NULL, 0, x, wide, 2, NULL) == BP_OK);
        CHECK(bp_train_step(&c.net, &opt, NULL, 0, x, nan_t, 2, NULL) == BP_ERR_TARGET);
    }
    snap_free(&k);
    tnet_free(&a); tnet_free(&b); tnet_free(&c);
}

/* Every caller array one float short, in turn, for both kinds of net: each refused with its own
   status before anything is written (the arrays are exactly that long on the heap, so under
   ASan a write or read past them would stop the test), and the full lengths accepted. */
static void test_short_arrays(void) {
    static const int sizes[] = {7, 9, 4};
    static const bp_act acts[] = {BP_SIGMOID, BP_SOFTMAX};
    const bp_status want[3] = {BP_ERR_PARAMS_SHORT, BP_ERR_GRADS_SHORT, BP_ERR_WORK_SHORT};
    int batch, which, k;
    for (batch = 1; batch <= 5; batch += 4) {
        size_t len[3];
        len[0] = len[1] = bp_params_size(2, sizes);
        len[2] = bp_work_size(2, sizes, batch);
        for (which = 0; which <= 3; which++) {
            float *arr[3];
            bp_net net;
            for (k = 0; k < 3; k++) {
                size_t n = len[k] - (k == which);
                arr[k] = (float *)malloc(n * sizeof(float));
                memset(arr[k], 0x5a, n * sizeof(float));
            }
            if (which < 3) {
                CHECKF(bp_init(&net, 2, sizes, acts, BP_LOSS_CROSS_ENTROPY, batch, arr[0], len[0] - (which == 0),
                               arr[1], len[1] - (which == 1), arr[2], len[2] - (which == 2)) == want[which],
                       "array %d one short", which);
                CHECK(net.params == NULL && net.n_layers == 0);
                for (k = 0; k < 3; k++) {
                    size_t i, n = len[k] - (k == which);
                    for (i = 0; i < n; i++) CHECK(((unsigned char *)arr[k])[i * 4] == 0x5a);
                }
            } else {   /* all long enough: train one step over exactly these arrays */
                float x[5 * 7] = {0}, t[5 * 4] = {0};
                const bp_opt opt = sgd(0.1f, 0, 0, 0);
                for (k = 0; k < 5; k++) t[k * 4 + k % 4] = 1;
                CHECK(bp_init(&net, 2, sizes, acts, BP_LOSS_CROSS_ENTROPY, batch, arr[0], len[0], arr[1], len[1],
                              arr[2], len[2]) == BP_OK);
                CHECK(bp_randomize(&net, 1) == BP_OK);
                CHECK(bp_train_step(&net, &opt, NULL, 0, x, t, batch, NULL) == BP_OK);
            }
            for (k = 0; k < 3; k++) free(arr[k]);
        }
    }
    {   /* recurrent */
        size_t len[3];
        len[0] = len[1] = bp_rnet_params_size(5, 3);
        len[2] = bp_rnet_work_size(5, 3);
        for (which = 0; which < 3; which++) {
            float *arr[3];
            bp_rnet net;
            for (k = 0; k < 3; k++) arr[k] = (float *)malloc((len[k] - (k == which)) * sizeof(float));
            CHECK(bp_rnet_init(&net, 5, 3, 2, BP_TANH, arr[0], len[0] - (which == 0), arr[1], len[1] - (which == 1),
                               arr[2], len[2] - (which == 2)) == want[which]);
            CHECK(net.params == NULL);
            for (k = 0; k < 3; k++) free(arr[k]);
        }
    }
    {   /* the optimizer's state */
        static const int s2[] = {3, 2};
        static const bp_act a2[] = {BP_LINEAR};
        const bp_opt mom = sgd(0.1f, 0.9f, 0, 0);
        const float x[3] = {1, 2, 3}, t[2] = {0, 1};
        tnet tn;
        CHECK(tnet_make(&tn, 1, s2, a2, BP_LOSS_SQUARED, 1) == BP_OK);
        CHECK(bp_opt_state_size(&mom, tn.net.n_params) == tn.net.n_params);
        CHECK(bp_train_step(&tn.net, &mom, tn.vel, tn.net.n_params - 1, x, t, 1, NULL) == BP_ERR_STATE_SHORT);
        CHECK(bp_train_epoch(&tn.net, &mom, tn.vel, 0, x, t, 1, NULL, NULL, NULL) == BP_ERR_STATE_SHORT);
        CHECK(bp_update(&tn.net, &mom, tn.vel, 2) == BP_ERR_STATE_SHORT);
        CHECK(bp_train_step(&tn.net, &mom, NULL, 0, x, t, 1, NULL) == BP_ERR_NULL);
        CHECK(bp_train_step(&tn.net, &mom, tn.vel, tn.net.n_params, x, t, 1, NULL) == BP_OK);
        tnet_free(&tn);
    }
}

/* Every public function reports bad arguments: a status, or its documented sentinel. */
static void test_bad_arguments(void) {
    static const int sizes[] = {2, 3, 2};
    static const bp_act acts[] = {BP_TANH, BP_SIGMOID};
    int order[4];
    bp_rng r = bp_rng_seed(1);
    bp_opt opt = sgd(0.1f, 0, 0, 0);
    tnet tn;
    snap k;
    CHECK(tnet_make(&tn, 2, sizes, acts, BP_LOSS_SQUARED, 1) == BP_OK);
    CHECK(bp_randomize(&tn.net, 1) == BP_OK);
    k = snap_take(tn.params, tn.net.n_params, NULL, 0);
    CHECK(bp_randomize(NULL, 1) == BP_ERR_NULL && bp_rnet_randomize(NULL, 1) == BP_ERR_NULL);
    CHECK(bp_sgd(NULL, tn.grads, 3, 0.1f) == BP_ERR_NULL && bp_sgd(tn.params, NULL, 3, 0.1f) == BP_ERR_NULL);
    CHECK(bp_rng_u32(NULL) == 0 && bp_rng_float(NULL) == 0 && bp_rng_below(NULL, 5) == 0);
    CHECK(bp_shuffle(NULL, 4, &r) == BP_ERR_NULL && bp_shuffle(order, 4, NULL) == BP_ERR_NULL);
    CHECK(bp_shuffle(order, 0, &r) == BP_ERR_BATCH);
    CHECK(bp_opt_state_size(NULL, 10) == 0);
    opt.clip = -1;   CHECK(bp_update(&tn.net, &opt, NULL, 0) == BP_ERR_OPT);
    opt.clip = NAN;  CHECK(bp_update(&tn.net, &opt, NULL, 0) == BP_ERR_OPT);
    opt.clip = 0; opt.method = BP_METHOD_COUNT;  CHECK(bp_update(&tn.net, &opt, NULL, 0) == BP_ERR_OPT);
    opt.method = (bp_method)-1;                   CHECK(bp_update(&tn.net, &opt, NULL, 0) == BP_ERR_OPT);
    CHECK(snap_same(&k, tn.params, NULL));
    snap_free(&k);
    tnet_free(&tn);
}

/* bp_shuffle makes a permutation, the same for the same seed; bp_train_epoch with that order
   gives the same bits as bp_train_step on the batches gathered by hand, for one sample and
   plain SGD (the deferred path), with momentum, and in batches with a short last one. An index
   out of range is refused before anything trains. */
static void test_shuffled_epoch(void) {
    static const int sizes[] = {9, 7, 4};
    static const bp_act acts[] = {BP_TANH, BP_SOFTMAX};
    float x[13 * 9], t[13 * 4] = {0}, xb[4 * 9], tb[4 * 4];
    int order[13], again[13], seen[13] = {0}, c, i, k;
    bp_rng r = bp_rng_seed(5), r2 = bp_rng_seed(5);
    for (i = 0; i < 13 * 9; i++) x[i] = urand(&r, -1, 1);
    for (i = 0; i < 13; i++) t[i * 4 + i % 4] = 1;
    r = bp_rng_seed(99);
    CHECK(bp_shuffle(order, 13, &r) == BP_OK);
    CHECK(bp_shuffle(again, 13, &r2) == BP_OK && memcmp(order, again, sizeof order) != 0);
    r2 = bp_rng_seed(99);
    CHECK(bp_shuffle(again, 13, &r2) == BP_OK && memcmp(order, again, sizeof order) == 0);
    for (i = 0; i < 13; i++) seen[order[i]]++;
    for (i = 0; i < 13; i++) CHECK(seen[i] == 1);
    for (c = 0; c < 3; c++) {
        const int batch = c == 2 ? 4 : 1;
        const bp_opt opt = sgd(0.2f, c == 1 ? 0.9f : 0.0f, 0, 0);
        tnet a, b;
        float mean = 0;
        double sum = 0;
        int done = 0;
        CHECK(tnet_make(&a, 2, sizes, acts, BP_LOSS_CROSS_ENTROPY, batch) == BP_OK);
        CHECK(tnet_make(&b, 2, sizes, acts, BP_LOSS_CROSS_ENTROPY, batch) == BP_OK);
        bp_randomize(&a.net, 6); bp_randomize(&b.net, 6);
        for (i = 0; i < 13; i += batch) {
            int n = 13 - i < batch ? 13 - i : batch;
            float l = 0;
            for (k = 0; k < n; k++) {
                memcpy(xb + k * 9, x + order[i + k] * 9, 9 * sizeof(float));
                memcpy(tb + k * 4, t + order[i + k] * 4, 4 * sizeof(float));
            }
            CHECK(bp_train_step(&a.net, &opt, a.vel, a.net.n_params, xb, tb, n, &l) == BP_OK);
            sum += (double)l * n;
        }
        CHECK(bp_train_epoch(&b.net, &opt, b.vel, b.net.n_params, x, t, 13, order, &mean, &done) == BP_OK);
        CHECKF(memcmp(a.params, b.params, a.net.n_params * sizeof(float)) == 0, "case %d", c);
        CHECK(done == 13 && fabs(mean - sum / 13) < 1e-6);
        order[5] = 13;
        CHECK(bp_train_epoch(&b.net, &opt, b.vel, b.net.n_params, x, t, 13, order, NULL, &done) == BP_ERR_ORDER);
        order[5] = -1;
        CHECK(bp_train_epoch(&b.net, &opt, b.vel, b.net.n_params, x, t, 13, order, NULL, &done) == BP_ERR_ORDER);
        CHECK(done == 0 && memcmp(a.params, b.params, a.net.n_params * sizeof(float)) == 0);
        order[5] = again[5];
        tnet_free(&a); tnet_free(&b);
    }
}

/* Class labels give the same bits as their one-hot rows: bp_train_step_labels against
   bp_train_step, bp_train_epoch_labels (in storage order and shuffled, one sample and in
   batches, SGD and Adam) against bp_train_epoch, bp_evaluate_labels against bp_evaluate; a
   single sigmoid output takes 0 and 1; a label out of range is refused, nothing trained. */
static void test_labels(void) {
    static const int sizes[] = {6, 8, 4}, bin[] = {6, 5, 1};
    static const bp_act acts[] = {BP_RELU, BP_SOFTMAX}, bacts[] = {BP_TANH, BP_SIGMOID};
    float x[11 * 6], t[11 * 4] = {0}, tb[11];
    int labels[11], blabels[11], order[11], i, c;
    bp_rng r = bp_rng_seed(12);
    for (i = 0; i < 66; i++) x[i] = urand(&r, -1, 1);
    for (i = 0; i < 11; i++) {
        labels[i] = (int)bp_rng_below(&r, 4);
        t[i * 4 + labels[i]] = 1;
        blabels[i] = i % 3 == 0;
        tb[i] = (float)blabels[i];
    }
    CHECK(bp_shuffle(order, 11, &r) == BP_OK);
    for (c = 0; c < 6; c++) {
        const int batch = c % 2 ? 4 : 1, binary = c >= 4;
        bp_opt o = c % 4 < 2 ? sgd(0.1f, 0, 0, 0) : bp_opt_adam(0.01f);
        const int *ord = c % 3 == 1 ? order : NULL;
        tnet a, b;
        float la = 0, lb = 0, acc_a = 0, acc_b = 0;
        int done = 0, bad[2];
        CHECK(tnet_make(&a, 2, binary ? bin : sizes, binary ? bacts : acts, BP_LOSS_CROSS_ENTROPY, batch) == BP_OK);
        CHECK(tnet_make(&b, 2, binary ? bin : sizes, binary ? bacts : acts, BP_LOSS_CROSS_ENTROPY, batch) == BP_OK);
        bp_randomize(&a.net, 3); bp_randomize(&b.net, 3);
        CHECK(bp_train_step(&a.net, &o, a.vel, a.ns, x, binary ? tb : t, batch, &la) == BP_OK);
        CHECK(bp_train_step_labels(&b.net, &o, b.vel, b.ns, x, binary ? blabels : labels, batch, &lb) == BP_OK);
        CHECK(la == lb);
        CHECK(bp_train_epoch(&a.net, &o, a.vel, a.ns, x, binary ? tb : t, 11, ord, &la, NULL) == BP_OK);
        CHECK(bp_train_epoch_labels(&b.net, &o, b.vel, b.ns, x, binary ? blabels : labels, 11, ord, &lb, &done) == BP_OK);
        CHECK(la == lb && done == 11);
        CHECKF(memcmp(a.params, b.params, a.net.n_params * sizeof(float)) == 0, "case %d", c);
        CHECK(memcmp(a.vel, b.vel, a.ns * sizeof(float)) == 0);
        CHECK(bp_evaluate(&a.net, x, binary ? tb : t, 11, &la, &acc_a) == BP_OK);
        CHECK(bp_evaluate_labels(&b.net, x, binary ? blabels : labels, 11, &lb, &acc_b) == BP_OK);
        CHECK(la == lb && acc_a == acc_b);
        /* out of range: refused before anything trains */
        memcpy(bad, binary ? blabels : labels, sizeof bad);
        {
            int *lab = binary ? blabels : labels, keep = lab[batch - 1];
            snap k = snap_take(b.params, b.net.n_params, b.vel, b.ns);
            lab[batch - 1] = binary ? 2 : 4;
            CHECK(bp_train_step_labels(&b.net, &o, b.vel, b.ns, x, lab, batch, NULL) == BP_ERR_LABEL);
            CHECK(bp_train_epoch_labels(&b.net, &o, b.vel, b.ns, x, lab, 11, NULL, NULL, &done) == BP_ERR_LABEL && done == 0);
            CHECK(bp_evaluate_labels(&b.net, x, lab, 11, NULL, NULL) == BP_ERR_LABEL);
            lab[batch - 1] = -1;
            CHECK(bp_train_step_labels(&b.net, &o, b.vel, b.ns, x, lab, batch, NULL) == BP_ERR_LABEL);
            CHECK(snap_same(&k, b.params, b.vel));
            lab[batch - 1] = keep;
            snap_free(&k);
        }
        CHECK(bp_train_step_labels(&b.net, &o, b.vel, b.ns, x, NULL, batch, NULL) == BP_ERR_NULL);
        tnet_free(&a); tnet_free(&b);
    }
}

/* The schedules' values against their formulas (cosine against libm's cos in double, at every
   step of a 1000-step run), bad arguments answered with -1, which a training call refuses. */
static void test_schedules(void) {
    int k, bad = 0;
    CHECK(bp_lr_step(0.1f, 0, 10, 0.5f) == F32(0.1f) && bp_lr_step(0.1f, 9, 10, 0.5f) == F32(0.1f));
    CHECK(bp_lr_step(0.1f, 10, 10, 0.5f) == F32(0.05f) && bp_lr_step(0.1f, 25, 10, 0.5f) == F32(0.025f));
    CHECK(bp_lr_warmup(0.1f, 0, 10) == F32(0.01f) && fabs(bp_lr_warmup(0.1f, 4, 10) - 0.05) < 1e-8);
    CHECK(bp_lr_warmup(0.1f, 9, 10) == F32(0.1f) && bp_lr_warmup(0.1f, 10, 10) == F32(0.1f)
          && bp_lr_warmup(0.1f, 3, 0) == F32(0.1f));
    CHECK(bp_lr_cosine(1, 0.1f, 0, 100) == 1 && bp_lr_cosine(1, 0.1f, 100, 100) == F32(0.1f)
          && bp_lr_cosine(1, 0.1f, 500, 100) == F32(0.1f));
    for (k = 0; k < 1000; k++) {
        const double want = 0.01 + (0.5 - 0.01) * 0.5 * (1 + cos(3.14159265358979 * k / 1000));
        bad += fabs(bp_lr_cosine(0.5f, 0.01f, k, 1000) - want) > 1e-6;
    }
    CHECKF(bad == 0, "cosine: %d of 1000 steps off", bad);
    CHECK(bp_lr_step(0.1f, -1, 10, 0.5f) == -1 && bp_lr_step(0.1f, 1, 0, 0.5f) == -1);
    CHECK(bp_lr_cosine(0.1f, 0, -1, 10) == -1 && bp_lr_cosine(0.1f, 0, 1, 0) == -1 && bp_lr_warmup(0.1f, -2, 5) == -1);
    {
        static const int sizes[] = {2, 2};
        static const bp_act acts[] = {BP_LINEAR};
        const float x[2] = {1, 2}, t[2] = {0, 1};
        bp_opt o = sgd(bp_lr_step(0.1f, 1, 0, 0.5f), 0, 0, 0);
        tnet tn;
        CHECK(tnet_make(&tn, 1, sizes, acts, BP_LOSS_SQUARED, 1) == BP_OK);
        CHECK(bp_train_step(&tn.net, &o, NULL, 0, x, t, 1, NULL) == BP_ERR_OPT);
        tnet_free(&tn);
    }
}

/* bp_gradcheck passes the library's own gradient on nets with two hidden layers (every
   hidden activation, both losses), and catches a deliberately wrong one: one component off by
   a tenth of the largest, a sign flipped, a layer's gradient doubled. params come back bit for
   bit. A correct gradient measured 1.7e-4 .. 1.4e-3 here (the largest where a leaky ReLU's kink
   falls inside the 2h step), so 1e-2 passes it with room; each wrong one is 0.1 or more. */
static void test_gradcheck_public(void) {
    static const int sizes[] = {5, 6, 4, 3};
    int h, b, i;
    for (h = 0; h < 5; h++) {
        bp_act acts[3];
        float x[3 * 5], t[3 * 3] = {0}, err = -1;
        bp_rng r = bp_rng_seed(60 + (uint64_t)h);
        tnet tn;
        snap k;
        size_t n;
        acts[0] = hidden_acts[h]; acts[1] = hidden_acts[(h + 2) % 5]; acts[2] = h % 2 ? BP_SOFTMAX : BP_SIGMOID;
        CHECK(tnet_make(&tn, 3, sizes, acts, BP_LOSS_CROSS_ENTROPY, 3) == BP_OK);
        bp_randomize(&tn.net, 60);
        for (i = 0; i < 15; i++) x[i] = urand(&r, -1, 1);
        for (b = 0; b < 3; b++) t[b * 3 + b] = 1;
        k = snap_take(tn.params, tn.net.n_params, NULL, 0);
        n = tn.net.n_params;
        bp_forward(&tn.net, x, 3);
        bp_backward(&tn.net, x, t, 3);
        CHECK(bp_gradcheck(&tn.net, x, t, 3, 0, &err) == BP_OK);
        CHECKF(err < 1e-2f, "%s: correct gradient, error %g", bp_act_name(acts[0]), (double)err);
        CHECK(snap_same(&k, tn.params, NULL));
        {
            float gmax = 0, keep;
            size_t j;
            for (j = 0; j < n; j++) if (fabsf(tn.grads[j]) > gmax) gmax = fabsf(tn.grads[j]);
            keep = tn.grads[n / 2];
            tn.grads[n / 2] += 0.1f * gmax;
            CHECK(bp_gradcheck(&tn.net, x, t, 3, 0, &err) == BP_OK && err > 0.05f);
            tn.grads[n / 2] = keep;
            for (j = 0; j < n; j++) if (fabsf(tn.grads[j]) == gmax) tn.grads[j] = -tn.grads[j];
            CHECK(bp_gradcheck(&tn.net, x, t, 3, 0, &err) == BP_OK && err > 0.5f);
            for (j = 0; j < n; j++) if (fabsf(tn.grads[j]) == gmax) tn.grads[j] = -tn.grads[j];
            for (j = 0; j < (size_t)(5 * 6 + 6); j++) tn.grads[j] *= 2;   /* layer 0 doubled */
            CHECK(bp_gradcheck(&tn.net, x, t, 3, 0, &err) == BP_OK && err > 0.05f);
        }
        CHECK(bp_gradcheck(&tn.net, x, t, 3, -1, &err) == BP_ERR_OPT && bp_gradcheck(&tn.net, x, t, 4, 0, &err) == BP_ERR_BATCH);
        CHECK(bp_gradcheck(&tn.net, x, t, 3, 0, NULL) == BP_ERR_NULL);
        snap_free(&k);
        tnet_free(&tn);
    }
}
