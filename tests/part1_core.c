/* Part 1, the core: gradient checks of every activation/loss pairing, known answers with
   hand-set weights, batches against single samples, the fused step against the separate calls,
   numerics at the edges, the statuses of bad calls, the work layout.
   Included by tests/test_backprop.c, which holds the shared helpers: one program. */

/* ---- gradient checks -------------------------------------------------------------------- */

static const bp_act hidden_acts[] = {BP_LINEAR, BP_SIGMOID, BP_TANH, BP_RELU, BP_LEAKY_RELU};

/* Builds a net with `hidden` hidden layers, the given output activation and loss; checks the
   library's gradient against central differences of the double reference loss.

   Tolerance. The numeric gradient is taken in double with h = 1e-6: truncation error
   ~h^2 |f'''| ~ 1e-12, rounding ~1e-16 / 1e-6 = 1e-10 — negligible. The library works in float
   (unit roundoff 6e-8); through at most 4 layers of sums of at most 6 terms its gradient is off
   by at most a few hundred ulps of the largest terms involved, well under 1e-4 of the largest
   gradient component. So each component must agree to 1e-3 relative plus 1e-4 of the largest
   component. A wrong derivative, a missing factor, a gradient doubled per layer, a wrong
   batch mean — each makes errors the size of the gradient itself, 10-1000x past this bound. */
static int gradcheck(int hidden, int variant, bp_act out_act, bp_loss loss, int batch, uint64_t seed) {
    int sizes[5], l, b, k, bad = 0;
    bp_act acts[4];
    float x[4 * 4], t[4 * 5];
    double *p, gmax = 0, lib_loss, want_loss;
    tnet tn;
    bp_rng r = bp_rng_seed(seed);
    size_t i;
    int n_layers = hidden + 1;
    sizes[0] = 4;
    for (l = 1; l <= hidden; l++) sizes[l] = 3 + (l + variant) % 3;
    sizes[n_layers] = out_act == BP_SOFTMAX || variant % 2 ? 3 : 2;
    for (l = 0; l < hidden; l++) acts[l] = hidden_acts[(l + variant) % 5];
    acts[hidden] = out_act;
    if (tnet_make(&tn, n_layers, sizes, acts, loss, 4) != BP_OK) return 1;
    bp_randomize(&tn.net, seed);
    for (i = 0; i < tn.net.n_params; i++) tn.params[i] += urand(&r, -0.3f, 0.3f); /* biases too */
    for (i = 0; i < (size_t)(batch * sizes[0]); i++) x[i] = urand(&r, -1, 1);
    for (b = 0; b < batch; b++) {
        int n = sizes[n_layers];
        float sum = 0;
        for (k = 0; k < n; k++) {
            float v = loss == BP_LOSS_SQUARED ? urand(&r, -1, 1) : urand(&r, 0.05f, 1);
            t[b * n + k] = v;
            sum += v;
        }
        if (loss == BP_LOSS_CROSS_ENTROPY && out_act == BP_SOFTMAX)
            for (k = 0; k < n; k++) t[b * n + k] /= sum;  /* a distribution */
    }
    bp_forward(&tn.net, x, batch);
    lib_loss = bp_backward(&tn.net, x, t, batch);
    p = (double *)calloc(tn.net.n_params, sizeof *p);
    for (i = 0; i < tn.net.n_params; i++) p[i] = tn.params[i];
    want_loss = ref_loss(&tn.net, p, x, t, batch);
    if (fabs(lib_loss - want_loss) > 1e-5 * fabs(want_loss) + 1e-6) {
        fprintf(stderr, "loss %g, reference %g\n", lib_loss, want_loss);
        bad++;
    }
    {
        double *num = (double *)malloc(tn.net.n_params * sizeof *num);
        const double h = 1e-6;
        for (i = 0; i < tn.net.n_params; i++) {
            double keep = p[i], up, down;
            p[i] = keep + h; up = ref_loss(&tn.net, p, x, t, batch);
            p[i] = keep - h; down = ref_loss(&tn.net, p, x, t, batch);
            p[i] = keep;
            num[i] = (up - down) / (2 * h);
            if (fabs(num[i]) > gmax) gmax = fabs(num[i]);
        }
        for (i = 0; i < tn.net.n_params; i++) {
            double err = fabs(tn.grads[i] - num[i]);
            if (err > 1e-3 * fabs(num[i]) + 1e-4 * gmax) {
                if (bad < 3)
                    fprintf(stderr, "param %zu: library %.8g, numeric %.8g\n", i, (double)tn.grads[i], num[i]);
                bad++;
            }
        }
        free(num);
    }
    if (bad)
        fprintf(stderr, "gradcheck failed: %d hidden, variant %d, out %s, loss %d, batch %d\n",
                hidden, variant, bp_act_name(out_act), (int)loss, batch);
    free(p);
    tnet_free(&tn);
    return bad;
}

/* Every activation x loss pairing, 0-3 hidden layers, batch 1 and 3, every hidden activation
   at every depth (the variants rotate them). */
static void test_gradients_all_pairings(void) {
    static const bp_act outs[] = {BP_LINEAR, BP_SIGMOID, BP_TANH, BP_RELU, BP_LEAKY_RELU, BP_SOFTMAX};
    int o, ls, hidden, variant, batch, configs = 0;
    uint64_t seed = 1;
    for (ls = 0; ls < 2; ls++)
        for (o = 0; o < 6; o++) {
            if (ls == BP_LOSS_CROSS_ENTROPY && outs[o] != BP_SIGMOID && outs[o] != BP_SOFTMAX) continue;
            for (hidden = 0; hidden <= 3; hidden++)
                for (variant = 0; variant < (hidden ? 5 : 1); variant++)
                    for (batch = 1; batch <= 3; batch += 2) {
                        CHECKF(gradcheck(hidden, variant, outs[o], (bp_loss)ls, batch, seed++) == 0,
                               "see above");
                        configs++;
                    }
        }
    CHECK(configs == 8 * 2 * (1 + 5 * 3));
}

/* The check must be able to fail: a gradient off by 2% in one component is caught. */
static void test_gradcheck_catches_errors(void) {
    static const int sizes[] = {2, 3, 2};
    static const bp_act acts[] = {BP_TANH, BP_LINEAR};
    static const float x[] = {0.3f, -0.7f}, t[] = {0.5f, -0.2f};
    tnet tn;
    double p[32], up, down;
    size_t i;
    CHECK(tnet_make(&tn, 2, sizes, acts, BP_LOSS_SQUARED, 1) == BP_OK);
    bp_randomize(&tn.net, 3);
    bp_forward(&tn.net, x, 1);
    bp_backward(&tn.net, x, t, 1);
    for (i = 0; i < tn.net.n_params; i++) p[i] = tn.params[i];
    p[0] += 1e-6; up = ref_loss(&tn.net, p, x, t, 1);
    p[0] -= 2e-6; down = ref_loss(&tn.net, p, x, t, 1);
    /* the true derivative agrees; the same one scaled by 1.02 does not */
    CHECK(fabs(tn.grads[0] - (up - down) / 2e-6) <= 1e-3 * fabs((up - down) / 2e-6) + 1e-7);
    CHECK(fabs(1.02 * tn.grads[0] - (up - down) / 2e-6) > 1e-3 * fabs((up - down) / 2e-6) + 1e-4 * fabs(tn.grads[0]));
    tnet_free(&tn);
}

/* ---- known answers ---------------------------------------------------------------------- */

/* The 2-2-2 sigmoid net of M. Mazur's published worked example "A Step by Step
   Backpropagation Example": inputs (0.05, 0.10), targets (0.01, 0.99), squared loss, lr 0.5.
     h1 = s(.15*.05 + .20*.10 + .35) = 0.593269992      h2 = s(.25*.05 + .30*.10 + .35) = 0.596884378
     o1 = s(.40*h1 + .45*h2 + .60)  = 0.751365070      o2 = s(.50*h1 + .55*h2 + .60)  = 0.772928465
     E  = .5(o1-.01)^2 + .5(o2-.99)^2 = 0.298371109
     output deltas  d1 = (o1-.01) o1 (1-o1) = 0.138498562    d2 = (o2-.99) o2 (1-o2) = -0.038098237
     hidden deltas  e1 = (d1*.40 + d2*.50) h1 (1-h1) = 0.008771355
                    e2 = (d1*.45 + d2*.55) h2 (1-h2) = 0.009954255
     after one step w -= .5 * d * input:
       w5..w8 = 0.358916480 0.408666186 0.511301270 0.561370121   (Mazur's published values)
       w1..w4 = 0.149780716 0.199561432 0.249751144 0.299502287   (Mazur's published values)
       output biases .60 - .5 d = 0.530750719 0.619049118   hidden biases .35 - .5 e = 0.345614323 0.345022873
   Our layout: layer 0 = [w1 w2; w3 w4], b = [.35 .35]; layer 1 = [w5 w6; w7 w8], b = [.6 .6]. */
static void test_known_answer_mazur(void) {
    static const int sizes[] = {2, 2, 2};
    static const bp_act acts[] = {BP_SIGMOID, BP_SIGMOID};
    static const float x[] = {0.05f, 0.10f}, t[] = {0.01f, 0.99f};
    static const float start[] = {.15f, .20f, .25f, .30f, .35f, .35f, .40f, .45f, .50f, .55f, .60f, .60f};
    static const double after[] = {0.149780716, 0.199561432, 0.249751144, 0.299502287,
                                   0.345614323, 0.345022873,
                                   0.358916480, 0.408666186, 0.511301270, 0.561370121,
                                   0.530750719, 0.619049118};
    const bp_opt opt = sgd(0.5f, 0, 0, 0);
    tnet tn;
    const float *y;
    float loss;
    int i;
    CHECK(tnet_make(&tn, 2, sizes, acts, BP_LOSS_SQUARED, 1) == BP_OK);
    CHECK(tn.net.n_params == 12);
    memcpy(tn.params, start, sizeof start);
    y = bp_forward(&tn.net, x, 1);
    CHECK(fabs(y[0] - 0.751365070) < 1e-6 && fabs(y[1] - 0.772928465) < 1e-6);
    loss = bp_backward(&tn.net, x, t, 1);
    CHECKF(fabs(loss - 0.298371109) < 1e-6, "loss %.9f", (double)loss);
    CHECK(fabs(tn.grads[10] - 0.138498562) < 1e-6 && fabs(tn.grads[11] + 0.038098237) < 1e-6);
    CHECK(fabs(tn.grads[4] - 0.008771355) < 1e-7 && fabs(tn.grads[5] - 0.009954255) < 1e-7);
    bp_sgd(tn.params, tn.grads, tn.net.n_params, 0.5f);
    for (i = 0; i < 12; i++) CHECKF(fabs(tn.params[i] - after[i]) < 1e-6, "param %d = %.9f", i, (double)tn.params[i]);
    /* the fused step from the same start lands on the same numbers, and reports the same loss */
    memcpy(tn.params, start, sizeof start);
    CHECK(bp_train_step(&tn.net, &opt, NULL, 0, x, t, 1, &loss) == BP_OK);
    CHECK(fabs(loss - 0.298371109) < 1e-6);
    for (i = 0; i < 12; i++) CHECK(fabs(tn.params[i] - after[i]) < 1e-6);
    tnet_free(&tn);
}

/* Softmax + cross-entropy with all parameters 0: y = (1/3, 1/3, 1/3), loss = log 3 = 1.0986123,
   output delta y - t = (-2/3, 1/3, 1/3) for t = (1, 0, 0); with x = (1, 2), dW[o][i] = d_o x_i. */
static void test_known_answer_softmax(void) {
    static const int sizes[] = {2, 3};
    static const bp_act acts[] = {BP_SOFTMAX};
    static const float x[] = {1, 2}, t[] = {1, 0, 0};
    static const double want[] = {-2.0 / 3, -4.0 / 3, 1.0 / 3, 2.0 / 3, 1.0 / 3, 2.0 / 3,
                                  -2.0 / 3, 1.0 / 3, 1.0 / 3};
    tnet tn;
    const float *y;
    int i;
    CHECK(tnet_make(&tn, 1, sizes, acts, BP_LOSS_CROSS_ENTROPY, 1) == BP_OK);
    y = bp_forward(&tn.net, x, 1);
    for (i = 0; i < 3; i++) CHECK(fabs(y[i] - 1.0 / 3) < 1e-7);
    CHECK(fabs(bp_backward(&tn.net, x, t, 1) - 1.0986123) < 1e-6);
    for (i = 0; i < 9; i++) CHECK(fabs(tn.grads[i] - want[i]) < 1e-6);
    tnet_free(&tn);
}

/* Leaky ReLU, 1-1 nets with W = 1, b = 0: y = z for z > 0, BP_LEAKY_SLOPE * z below;
   squared loss against t = 0 gives dW = y * f'(y) * x. */
static void test_known_answer_relus(void) {
    static const int sizes[] = {1, 1};
    static const bp_act leaky[] = {BP_LEAKY_RELU}, relu[] = {BP_RELU};
    const float xneg = -2, xpos = 3, t = 0;
    tnet a, b;
    CHECK(tnet_make(&a, 1, sizes, leaky, BP_LOSS_SQUARED, 1) == BP_OK);
    CHECK(tnet_make(&b, 1, sizes, relu, BP_LOSS_SQUARED, 1) == BP_OK);
    a.params[0] = b.params[0] = 1;
    CHECK(bp_forward(&a.net, &xneg, 1)[0] == F32(-2 * BP_LEAKY_SLOPE));
    bp_backward(&a.net, &xneg, &t, 1);
    /* dW = (y - t) * slope * x = (-0.02)(0.01)(-2) = 0.0004 */
    CHECK(fabs(a.grads[0] - 0.0004) < 1e-9);
    CHECK(bp_forward(&b.net, &xneg, 1)[0] == 0);
    bp_backward(&b.net, &xneg, &t, 1);
    CHECK(b.grads[0] == 0 && b.grads[1] == 0);
    CHECK(bp_forward(&b.net, &xpos, 1)[0] == 3);
    bp_backward(&b.net, &xpos, &t, 1);
    CHECK(b.grads[0] == 9 && b.grads[1] == 3);   /* (3 - 0) * 1 * x, and the bias: 3 */
    tnet_free(&a); tnet_free(&b);
}

static void test_determinism(void) {
    static const int sizes[] = {10, 20, 5};
    static const bp_act acts[] = {BP_TANH, BP_SOFTMAX};
    tnet a, b;
    CHECK(tnet_make(&a, 2, sizes, acts, BP_LOSS_CROSS_ENTROPY, 1) == BP_OK);
    CHECK(tnet_make(&b, 2, sizes, acts, BP_LOSS_CROSS_ENTROPY, 1) == BP_OK);
    bp_randomize(&a.net, 99);
    bp_randomize(&b.net, 99);
    CHECK(memcmp(a.params, b.params, a.net.n_params * sizeof(float)) == 0);
    bp_randomize(&b.net, 100);
    CHECK(memcmp(a.params, b.params, 200 * sizeof(float)) != 0);
    tnet_free(&a); tnet_free(&b);
}

/* A batch of 3 gives each row what batch 1 gives it, and the batch gradient is the mean of the
   per-sample gradients — within float rounding: a batch runs through the GEMM, which sums
   each product in order, one sample through 16-lane dot products. */
static void test_batch_semantics(void) {
    static const int sizes[] = {37, 21, 6, 3};
    static const bp_act acts[] = {BP_RELU, BP_TANH, BP_SOFTMAX};
    float x[3 * 37], t[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1}, y3[9], *mean;
    tnet tn;
    bp_rng r = bp_rng_seed(5);
    size_t i;
    int b;
    float loss3, loss1 = 0;
    CHECK(tnet_make(&tn, 3, sizes, acts, BP_LOSS_CROSS_ENTROPY, 3) == BP_OK);
    bp_randomize(&tn.net, 5);
    for (i = 0; i < 3 * 37; i++) x[i] = urand(&r, -1, 1);
    memcpy(y3, bp_forward(&tn.net, x, 3), sizeof y3);
    loss3 = bp_backward(&tn.net, x, t, 3);
    mean = (float *)calloc(tn.net.n_params, sizeof *mean);
    for (b = 0; b < 3; b++) {
        const float *y = bp_forward(&tn.net, x + 37 * b, 1);
        for (i = 0; i < 3; i++) CHECK(fabs(y[i] - y3[3 * b + i]) < 1e-6);
        loss1 += bp_backward(&tn.net, x + 37 * b, t + 3 * b, 1) / 3;
        for (i = 0; i < tn.net.n_params; i++) mean[i] += tn.grads[i] / 3;
    }
    CHECK(fabs(loss3 - loss1) < 1e-6);
    bp_forward(&tn.net, x, 3);
    bp_backward(&tn.net, x, t, 3);
    for (i = 0; i < tn.net.n_params; i++) CHECK(fabs(tn.grads[i] - mean[i]) < 1e-6);
    free(mean);
    tnet_free(&tn);
}

/* The fused step gives the same bits as forward + backward + update, for every optimizer
   setting and batch size, step after step (grads is scratch for the fused step: not compared). */
static void test_fused_step_bit_identical(void) {
    static const int sizes[] = {6, 9, 7, 4};
    static const bp_act acts[] = {BP_LEAKY_RELU, BP_SIGMOID, BP_SOFTMAX};
    bp_opt opts[10];
    float x[24], t[16];
    bp_rng r = bp_rng_seed(11);
    int o, batch, step, i;
    opts[0] = sgd(0.1f, 0, 0, 0); opts[1] = sgd(0.05f, 0.9f, 0, 0); opts[2] = sgd(0.05f, 0.9f, 1e-3f, 1);
    opts[3] = sgd(0.2f, 0, 1e-2f, 0);
    opts[4] = bp_opt_adam(0.01f);
    opts[5] = bp_opt_adam(0.01f); opts[5].method = BP_ADAMW; opts[5].weight_decay = 0.1f;
    opts[6] = bp_opt_adam(0.01f); opts[6].weight_decay = 0.01f;
    opts[7] = bp_opt_adam(0.01f); opts[7].method = BP_RMSPROP; opts[7].beta2 = 0.99f; opts[7].momentum = 0.9f;
    opts[8] = sgd(0.1f, 0.9f, 0, 0); opts[8].clip = 0.05f;
    opts[9] = bp_opt_adam(0.01f); opts[9].clip = 0.05f;
    for (i = 0; i < 24; i++) x[i] = urand(&r, -1, 1);
    for (i = 0; i < 16; i++) t[i] = i % 4 == i / 4 ? 1.0f : 0.0f;
    for (o = 0; o < 10; o++)
        for (batch = 1; batch <= 4; batch += 3) {
            tnet a, b;
            CHECK(tnet_make(&a, 3, sizes, acts, BP_LOSS_CROSS_ENTROPY, 4) == BP_OK);
            CHECK(tnet_make(&b, 3, sizes, acts, BP_LOSS_CROSS_ENTROPY, 4) == BP_OK);
            bp_randomize(&a.net, 1); bp_randomize(&b.net, 1);
            for (step = 0; step < 5; step++) {
                float la = -1, lb = -2;
                bp_forward(&a.net, x, batch);
                la = bp_backward(&a.net, x, t, batch);
                CHECK(bp_update(&a.net, &opts[o], a.vel, a.ns) == BP_OK);
                CHECK(bp_train_step(&b.net, &opts[o], b.vel, b.ns, x, t, batch, &lb) == BP_OK);
                CHECK(la == lb);
            }
            CHECKF(memcmp(a.params, b.params, a.net.n_params * sizeof(float)) == 0, "optimizer %d, batch %d", o, batch);
            CHECK(memcmp(a.vel, b.vel, a.ns * sizeof(float)) == 0);
            tnet_free(&a); tnet_free(&b);
        }
}

/* Training reduces the loss: a 2-hidden-layer net fits 16 random points. */
static void test_training_reduces_loss(void) {
    static const int sizes[] = {3, 16, 16, 2};
    static const bp_act acts[] = {BP_TANH, BP_TANH, BP_LINEAR};
    const bp_opt opt = sgd(0.05f, 0.9f, 0, 0);
    float x[48], t[32], first = 0, last = 0;
    tnet tn;
    bp_rng r = bp_rng_seed(2);
    int i, epoch;
    for (i = 0; i < 48; i++) x[i] = urand(&r, -1, 1);
    for (i = 0; i < 32; i++) t[i] = urand(&r, -1, 1);
    CHECK(tnet_make(&tn, 3, sizes, acts, BP_LOSS_SQUARED, 4) == BP_OK);
    bp_randomize(&tn.net, 2);
    CHECK(bp_evaluate(&tn.net, x, t, 16, &first, NULL) == BP_OK);
    for (epoch = 0; epoch < 500; epoch++)
        for (i = 0; i < 4; i++) bp_train_step(&tn.net, &opt, tn.vel, tn.net.n_params, x + 12 * i, t + 8 * i, 4, NULL);
    CHECK(bp_evaluate(&tn.net, x, t, 16, &last, NULL) == BP_OK);
    CHECKF(last < 0.05f * first, "loss %g -> %g", (double)first, (double)last);
    tnet_free(&tn);
}

/* ---- numerics at the edges -------------------------------------------------------------- */

/* Cross-entropy from pre-activations stays finite and accurate where y rounds to 0 or 1.
   A 1-1 sigmoid net with W = 30: z = 30 at x = 1. With t = 1 the loss is log(1 + e^-30)
   = 9.3576e-14 (the naive -log y gives 0 here, having lost it all); with t = 0 it is
   30 + 9.4e-14 = 30 (naive -log(1 - y) = -log 0 = inf). */
static void test_saturated_cross_entropy(void) {
    static const int sizes[] = {1, 1}, sizes3[] = {1, 3};
    static const bp_act sig[] = {BP_SIGMOID}, soft[] = {BP_SOFTMAX};
    const float x = 1, one = 1, zero = 0, t3[] = {0, 1, 0};
    tnet a, b;
    float loss;
    CHECK(tnet_make(&a, 1, sizes, sig, BP_LOSS_CROSS_ENTROPY, 1) == BP_OK);
    a.params[0] = 30;
    bp_forward(&a.net, &x, 1);
    loss = bp_backward(&a.net, &x, &one, 1);
    CHECKF(fabs(loss - 9.3576230e-14) < 1e-5 * 9.3576230e-14, "loss %g", (double)loss);
    bp_forward(&a.net, &x, 1);
    CHECK(fabs(bp_backward(&a.net, &x, &zero, 1) - 30) < 1e-5);
    /* softmax with z = (1e30, -1e30, 0): y = (1, 0, 0); against t = e_1 the loss is 2e30 */
    CHECK(tnet_make(&b, 1, sizes3, soft, BP_LOSS_CROSS_ENTROPY, 1) == BP_OK);
    b.params[0] = 1e30f; b.params[1] = -1e30f;
    bp_forward(&b.net, &x, 1);
    loss = bp_backward(&b.net, &x, t3, 1);
    CHECK(isfinite(loss) && fabs(loss / 2e30 - 1) < 1e-6);
    CHECK(all_finite(b.grads, b.net.n_params));
    tnet_free(&a); tnet_free(&b);
}

/* Each activation at huge finite pre-activations gives finite outputs in its range. */
static void test_activations_extreme(void) {
    static const float zs[] = {1e30f, -1e30f, FLT_MAX, -FLT_MAX, 88.8f, -88.8f, 0, -0.0f};
    static const int sizes[] = {1, 1};
    int a, i;
    for (a = BP_SIGMOID; a <= BP_TANH; a++) {
        bp_act act = (bp_act)a;
        tnet tn;
        CHECK(tnet_make(&tn, 1, sizes, &act, BP_LOSS_SQUARED, 1) == BP_OK);
        tn.params[0] = 1;
        for (i = 0; i < 8; i++) {
            float y = bp_forward(&tn.net, &zs[i], 1)[0];
            CHECKF(isfinite(y) && y >= (a == BP_TANH ? -1 : 0) && y <= 1, "%s(%g) = %g",
                   bp_act_name(act), (double)zs[i], (double)y);
        }
        tnet_free(&tn);
    }
}

/* Inputs of +-1e30 through sigmoid/tanh hidden layers: for every output and loss, loss and
   gradients are finite. */
static void test_extreme_inputs_finite(void) {
    static const bp_act outs[] = {BP_LINEAR, BP_SIGMOID, BP_TANH, BP_RELU, BP_LEAKY_RELU, BP_SOFTMAX};
    static const int sizes[] = {4, 5, 5, 3};
    static const float x[] = {1e30f, -1e30f, 1e30f, 0, -1e30f, 1e30f, 3, -1e30f};
    static const float t[] = {0, 1, 0, 1, 0, 0};
    int o, ls;
    for (ls = 0; ls < 2; ls++)
        for (o = 0; o < 6; o++) {
            bp_act acts[3] = {BP_SIGMOID, BP_TANH, outs[o]};
            tnet tn;
            float loss;
            if (ls == BP_LOSS_CROSS_ENTROPY && outs[o] != BP_SIGMOID && outs[o] != BP_SOFTMAX) continue;
            CHECK(tnet_make(&tn, 3, sizes, acts, (bp_loss)ls, 2) == BP_OK);
            bp_randomize(&tn.net, 4);
            CHECK(all_finite(bp_forward(&tn.net, x, 2), 6));
            loss = bp_backward(&tn.net, x, t, 2);
            CHECKF(isfinite(loss) && loss >= 0, "%s loss %d: %g", bp_act_name(outs[o]), ls, (double)loss);
            CHECK(all_finite(tn.grads, tn.net.n_params));
            tnet_free(&tn);
        }
}

/* ---- errors ----------------------------------------------------------------------------- */

static void test_status_paths(void) {
    static const int sizes[] = {2, 3, 2}, zero[] = {2, 0, 2}, neg[] = {-1, 3, 2};
    static const bp_act ok[] = {BP_TANH, BP_SIGMOID}, soft_hidden[] = {BP_SOFTMAX, BP_SIGMOID};
    static const bp_act lin_out[] = {BP_TANH, BP_LINEAR}, relu_out[] = {BP_TANH, BP_RELU};
    const int huge[] = {INT_MAX, INT_MAX, INT_MAX};
    bp_act bad_act[2] = {BP_TANH, BP_SIGMOID};
    float p[64], g[64], w[256];
    bp_net net;
    int many[BP_MAX_LAYERS + 2], i;
    for (i = 0; i < BP_MAX_LAYERS + 2; i++) many[i] = 2;
    CHECK(bp_init(NULL, 2, sizes, ok, BP_LOSS_SQUARED, 1, p, 64, g, 64, w, 256) == BP_ERR_NULL);
    CHECK(bp_init(&net, 2, NULL, ok, BP_LOSS_SQUARED, 1, p, 64, g, 64, w, 256) == BP_ERR_NULL);
    CHECK(bp_init(&net, 2, sizes, NULL, BP_LOSS_SQUARED, 1, p, 64, g, 64, w, 256) == BP_ERR_NULL);
    CHECK(bp_init(&net, 2, sizes, ok, BP_LOSS_SQUARED, 1, NULL, 64, g, 64, w, 256) == BP_ERR_NULL);
    CHECK(bp_init(&net, 2, sizes, ok, BP_LOSS_SQUARED, 1, p, 64, NULL, 64, w, 256) == BP_ERR_NULL);
    CHECK(bp_init(&net, 2, sizes, ok, BP_LOSS_SQUARED, 1, p, 64, g, 64, NULL, 256) == BP_ERR_NULL);
    CHECK(bp_init(&net, 0, sizes, ok, BP_LOSS_SQUARED, 1, p, 64, g, 64, w, 256) == BP_ERR_LAYERS);
    CHECK(bp_init(&net, -3, sizes, ok, BP_LOSS_SQUARED, 1, p, 64, g, 64, w, 256) == BP_ERR_LAYERS);
    CHECK(bp_init(&net, BP_MAX_LAYERS + 1, many, ok, BP_LOSS_SQUARED, 1, p, 64, g, 64, w, 256) == BP_ERR_LAYERS);
    CHECK(bp_init(&net, 2, zero, ok, BP_LOSS_SQUARED, 1, p, 64, g, 64, w, 256) == BP_ERR_SIZE);
    CHECK(bp_init(&net, 2, neg, ok, BP_LOSS_SQUARED, 1, p, 64, g, 64, w, 256) == BP_ERR_SIZE);
    bad_act[1] = BP_ACT_COUNT;
    CHECK(bp_init(&net, 2, sizes, bad_act, BP_LOSS_SQUARED, 1, p, 64, g, 64, w, 256) == BP_ERR_ACT);
    bad_act[1] = (bp_act)-1;
    CHECK(bp_init(&net, 2, sizes, bad_act, BP_LOSS_SQUARED, 1, p, 64, g, 64, w, 256) == BP_ERR_ACT);
    CHECK(bp_init(&net, 2, sizes, soft_hidden, BP_LOSS_SQUARED, 1, p, 64, g, 64, w, 256) == BP_ERR_SOFTMAX_HIDDEN);
    CHECK(bp_init(&net, 2, sizes, ok, BP_LOSS_COUNT, 1, p, 64, g, 64, w, 256) == BP_ERR_LOSS);
    CHECK(bp_init(&net, 2, sizes, ok, (bp_loss)-1, 1, p, 64, g, 64, w, 256) == BP_ERR_LOSS);
    CHECK(bp_init(&net, 2, sizes, lin_out, BP_LOSS_CROSS_ENTROPY, 1, p, 64, g, 64, w, 256) == BP_ERR_LOSS_ACT);
    CHECK(bp_init(&net, 2, sizes, relu_out, BP_LOSS_CROSS_ENTROPY, 1, p, 64, g, 64, w, 256) == BP_ERR_LOSS_ACT);
    CHECK(bp_init(&net, 2, sizes, ok, BP_LOSS_SQUARED, 0, p, 64, g, 64, w, 256) == BP_ERR_MAX_BATCH);
    CHECK(bp_init(&net, 2, sizes, ok, BP_LOSS_SQUARED, -5, p, 64, g, 64, w, 256) == BP_ERR_MAX_BATCH);
    /* (2^31)(2^31 - 1) floats per layer, twice: more bytes than a 64-bit size_t holds */
    CHECK(bp_params_size(2, huge) == 0);
    CHECK(bp_init(&net, 2, huge, ok, BP_LOSS_SQUARED, 1, p, 64, g, 64, w, 256) == BP_ERR_OVERFLOW);
    CHECK(bp_work_size(1, huge, INT_MAX) == 0);
    CHECK(net.n_layers == 0 && net.params == NULL);   /* zeroed on error */
    CHECK(bp_params_size(0, sizes) == 0 && bp_params_size(2, NULL) == 0 && bp_work_size(2, sizes, 0) == 0);
    /* and a good one, to be sure the arrays above were big enough */
    /* A_1, A_2, Z, D_1, D_2, S per sample, G (inputs and targets); batches add P */
    CHECK(bp_params_size(2, sizes) == 3 * 3 + 4 * 2 && bp_work_size(2, sizes, 1) == 3 + 2 + 2 + 3 + 2 + 1 + 2 + 2);
    CHECK(bp_work_size(2, sizes, 2) == 2 * (3 + 2 + 2 + 3 + 2 + 1) + 2 * (2 + 2) + pack_area(2, sizes, 2));
    CHECK(pack_area(2, sizes, 2) == 32 * 3);   /* layer 1 forward: N = min(B, out) = 2, K 3 */
    CHECK(bp_init(&net, 2, sizes, ok, BP_LOSS_SQUARED, 2, p, 64, g, 64, w, 256) == BP_OK);
}

static void test_batch_and_null_paths(void) {
    static const int sizes[] = {2, 3, 2};
    static const bp_act acts[] = {BP_TANH, BP_SIGMOID};
    static const float x[6] = {1, 2, 3, 4, 5, 6}, t[6] = {0};
    bp_opt opt = sgd(0.1f, 0, 0, 0);
    float loss = 123;
    tnet tn;
    size_t i;
    CHECK(tnet_make(&tn, 2, sizes, acts, BP_LOSS_SQUARED, 2) == BP_OK);
    bp_randomize(&tn.net, 1);
    CHECK(bp_forward(&tn.net, x, 0) == NULL);
    CHECK(bp_forward(&tn.net, x, 3) == NULL);
    CHECK(bp_forward(&tn.net, NULL, 1) == NULL);
    CHECK(bp_forward(NULL, x, 1) == NULL);
    CHECK(bp_forward(&tn.net, x, 2) != NULL);
    for (i = 0; i < tn.net.n_params; i++) tn.grads[i] = 7;
    CHECK(bp_backward(&tn.net, x, t, 3) < 0);
    CHECK(bp_backward(&tn.net, x, t, 0) < 0);
    CHECK(bp_backward(&tn.net, x, NULL, 1) < 0);
    CHECK(bp_backward(NULL, x, t, 1) < 0);
    for (i = 0; i < tn.net.n_params; i++) CHECK(tn.grads[i] == 7);   /* untouched */
    CHECK(bp_loss_value(&tn.net, t, 3) < 0 && bp_loss_value(&tn.net, NULL, 1) < 0);
    CHECK(bp_train_step(&tn.net, &opt, NULL, 0, x, t, 3, &loss) == BP_ERR_BATCH);
    CHECK(bp_train_step(&tn.net, &opt, NULL, 0, x, t, 0, &loss) == BP_ERR_BATCH);
    CHECK(bp_train_step(&tn.net, &opt, NULL, 0, NULL, t, 1, &loss) == BP_ERR_NULL);
    CHECK(bp_train_step(&tn.net, NULL, NULL, 0, x, t, 1, &loss) == BP_ERR_NULL);
    CHECK(loss == 123);
    opt.lr = 0;            CHECK(bp_update(&tn.net, &opt, NULL, 0) == BP_ERR_OPT);
    opt.lr = -1;           CHECK(bp_update(&tn.net, &opt, NULL, 0) == BP_ERR_OPT);
    opt.lr = NAN;          CHECK(bp_update(&tn.net, &opt, NULL, 0) == BP_ERR_OPT);
    opt.lr = INFINITY;     CHECK(bp_update(&tn.net, &opt, NULL, 0) == BP_ERR_OPT);
    opt.lr = 0.1f; opt.momentum = 1;    CHECK(bp_update(&tn.net, &opt, tn.vel, tn.net.n_params) == BP_ERR_OPT);
    opt.momentum = -0.1f;               CHECK(bp_update(&tn.net, &opt, tn.vel, tn.net.n_params) == BP_ERR_OPT);
    opt.momentum = NAN;                 CHECK(bp_update(&tn.net, &opt, tn.vel, tn.net.n_params) == BP_ERR_OPT);
    opt.momentum = 0.5f;                CHECK(bp_update(&tn.net, &opt, NULL, 0) == BP_ERR_NULL);
    opt.momentum = 0; opt.weight_decay = -1;        CHECK(bp_update(&tn.net, &opt, NULL, 0) == BP_ERR_OPT);
    opt.weight_decay = INFINITY;                    CHECK(bp_update(&tn.net, &opt, NULL, 0) == BP_ERR_OPT);
    opt.weight_decay = 0;  CHECK(bp_update(NULL, &opt, NULL, 0) == BP_ERR_NULL);
    CHECK(bp_evaluate(&tn.net, x, t, 0, NULL, NULL) == BP_ERR_BATCH);
    CHECK(bp_evaluate(&tn.net, NULL, t, 1, NULL, NULL) == BP_ERR_NULL);
    CHECK(bp_argmax(NULL, 3) == -1 && bp_argmax(x, 0) == -1);
    CHECK(bp_sgd(NULL, tn.grads, 3, 0.1f) == BP_ERR_NULL && bp_sgd(tn.params, NULL, 3, 0.1f) == BP_ERR_NULL);
    CHECK(bp_randomize(NULL, 1) == BP_ERR_NULL);
    tnet_free(&tn);
}

/* The libm and libc hooks are what the implementation calls (see tests/compile/hooks.c for a
   build without <math.h>); here: the work layout documented in the manual is the real one. */
static void test_work_layout(void) {
    static const int sizes[] = {3, 5, 4, 2};
    static const bp_act acts[] = {BP_SIGMOID, BP_TANH, BP_SOFTMAX};
    const float x[] = {0.5f, -1, 2, 1, 1, -1};
    tnet tn;
    const float *y;
    CHECK(tnet_make(&tn, 3, sizes, acts, BP_LOSS_CROSS_ENTROPY, 2) == BP_OK);
    bp_randomize(&tn.net, 12);
    y = bp_forward(&tn.net, x, 2);
    /* A_1 (2x5), A_2 (2x4), A_3 (2x2), Z (2x2), D_1 .. D_3 (as the A), S (2), G (2x(3+2)), P */
    CHECK(y == tn.work + 10 + 8);
    CHECK(tn.net.n_work == 10 + 8 + 4 + 4 + 10 + 8 + 4 + 2 + 10 + pack_area(3, sizes, 2));
    CHECK(bp_work_size(3, sizes, 1) == 5 + 4 + 2 + 2 + 5 + 4 + 2 + 1 + 3 + 2);   /* no P for one sample */
    CHECK(fabs(tn.work[0] - 1 / (1 + exp(-(tn.params[0] * 0.5 - tn.params[1] + 2 * tn.params[2] + tn.params[15])))) < 1e-6);
    CHECK(fabs(y[0] + y[1] - 1) < 1e-6 && fabs(y[2] + y[3] - 1) < 1e-6);
    tnet_free(&tn);
}
