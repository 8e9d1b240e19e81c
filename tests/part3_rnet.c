/* Part 3, the recurrent net: its gradients against central differences of a double-precision
   reference, known answers, the fixed point, relaxations that cannot settle, training.
   Included by tests/test_backprop.c, which holds the shared helpers: one program. */

/* ---- recurrent net ---------------------------------------------------------------------- */

/* The settled loss in double, relaxed (same damped map) until the residual is below 1e-13. */
static double ref_rnet_loss(const bp_rnet *net, const double *p, const float *in, const float *t) {
    const int n = net->n_units, m = net->n_inputs, k = net->n_outputs;
    double x[16] = {0}, c[16], y[16], loss = 0;
    int o, j, it;
    for (o = 0; o < n; o++) {
        c[o] = p[n * n + n * m + o];
        for (j = 0; j < m; j++) c[o] += p[n * n + o * m + j] * in[j];
    }
    for (it = 0; it < 1000000; it++) {
        double r = 0;
        for (o = 0; o < n; o++) {
            double u = c[o];
            for (j = 0; j < n; j++) u += p[o * n + j] * x[j];
            y[o] = ref_act(net->act, u);
            if (fabs(y[o] - x[o]) > r) r = fabs(y[o] - x[o]);
        }
        if (r < 1e-13) break;
        for (o = 0; o < n; o++) x[o] += net->tau * (y[o] - x[o]);
    }
    assert(it < 1000000);
    for (j = 0; j < k; j++) loss += 0.5 * (y[n - k + j] - t[j]) * (y[n - k + j] - t[j]);
    return loss;
}

/* How many components of the library's gradient (in tn->grads) differ from central
   differences of the double reference, by more than 1e-3 relative plus 2e-4 of the largest
   (see test_rnet_gradients for why). */
static int rnet_grads_bad(const trnet *tn, const float *in, const float *t) {
    double *p = (double *)calloc(tn->net.n_params, sizeof *p), *num = (double *)calloc(tn->net.n_params, sizeof *num);
    double gmax = 0;
    size_t i;
    int bad = 0;
    for (i = 0; i < tn->net.n_params; i++) p[i] = tn->params[i];
    for (i = 0; i < tn->net.n_params; i++) {
        double keep = p[i], up, down;
        p[i] = keep + 1e-6; up = ref_rnet_loss(&tn->net, p, in, t);
        p[i] = keep - 1e-6; down = ref_rnet_loss(&tn->net, p, in, t);
        p[i] = keep;
        num[i] = (up - down) / 2e-6;
        if (fabs(num[i]) > gmax) gmax = fabs(num[i]);
    }
    for (i = 0; i < tn->net.n_params; i++)
        if (fabs(tn->grads[i] - num[i]) > 1e-3 * fabs(num[i]) + 2e-4 * gmax) {
            if (bad < 3) fprintf(stderr, "rnet param %zu: library %.8g, numeric %.8g\n", i, (double)tn->grads[i], num[i]);
            bad++;
        }
    free(p); free(num);
    return bad;
}

/* Random nets: n 1..12 units, m 0..4 inputs, 1..n outputs, every elementwise activation.
   The library settles (and solves the adjoint) in float to tol = 1e-6; the reference settles in
   double to 1e-13 and differentiates with h = 1e-6 (error ~1e-10). With the map a contraction of
   factor q <= ~0.7 (damped, tau 0.5), the library's x* and z are within tol / (1 - q) ~ 4e-6
   of the truth plus float rounding of n-term sums (~1e-6), so each gradient component is within
   ~1e-5 of the largest; we allow 1e-3 relative plus 2e-4 of the largest component. An error in
   the adjoint (W instead of W^T, f' missing, e on the wrong units) is of the order of the
   gradient itself. */
static void test_rnet_gradients(void) {
    static const bp_act acts[] = {BP_LINEAR, BP_SIGMOID, BP_TANH, BP_RELU, BP_LEAKY_RELU};
    bp_rng r = bp_rng_seed(77);
    int trial, bad_trials = 0;
    for (trial = 0; trial < 60; trial++) {
        int n = 1 + (int)bp_rng_below(&r, 12), m = (int)bp_rng_below(&r, 5);
        int k = 1 + (int)bp_rng_below(&r, (uint32_t)n), bad = 0;
        bp_act act = acts[trial % 5];
        float in[4], t[12], loss;
        double *p, want;
        trnet tn;
        size_t i;
        CHECK(trnet_make(&tn, n, m, k, act) == BP_OK);
        bp_rnet_randomize(&tn.net, 100 + (uint64_t)trial);
        for (i = (size_t)(n * n + n * m); i < tn.net.n_params; i++) tn.params[i] = urand(&r, -0.5f, 0.5f);
        for (i = 0; i < 4; i++) in[i] = urand(&r, -1, 1);
        for (i = 0; i < 12; i++) t[i] = urand(&r, -0.5f, 0.9f);
        tn.net.tol = 1e-6f;
        CHECK(bp_rnet_settle(&tn.net, in) == BP_OK);
        CHECK(bp_rnet_backward(&tn.net, in, t, &loss) == BP_OK);
        p = (double *)calloc(tn.net.n_params, sizeof *p);
        for (i = 0; i < tn.net.n_params; i++) p[i] = tn.params[i];
        want = ref_rnet_loss(&tn.net, p, in, t);
        if (fabs(loss - want) > 1e-4 * want + 1e-6) {
            fprintf(stderr, "rnet loss %g, reference %g\n", (double)loss, want);
            bad++;
        }
        bad += rnet_grads_bad(&tn, in, t);
        if (bad) {
            fprintf(stderr, "rnet gradcheck failed: n %d, m %d, k %d, %s\n", n, m, k, bp_act_name(act));
            bad_trials++;
        }
        free(p);
        trnet_free(&tn);
    }
    CHECK(bad_trials == 0);
}

/* One linear unit: x = w x + u i + b settles at x* = (u i + b) / (1 - w). With w = 0.5, u = 1,
   i = 1, b = 0: x* = 2; against t = 1 the loss is 0.5. By hand: dE/dx* = 1,
   d(x*)/dw = (u i + b) / (1 - w)^2 = 4, d(x*)/du = i / (1 - w) = 2, d(x*)/db = 1 / (1 - w) = 2. */
static void test_rnet_known_answer(void) {
    trnet tn;
    const float in = 1, t = 1;
    float loss;
    CHECK(trnet_make(&tn, 1, 1, 1, BP_LINEAR) == BP_OK);
    tn.params[0] = 0.5f; tn.params[1] = 1; tn.params[2] = 0;
    tn.net.tol = 5e-7f;     /* relative past 1: the residual below 1e-6, 4 ulps of 2 */
    CHECK(bp_rnet_settle(&tn.net, &in) == BP_OK);
    CHECK(bp_rnet_output(&tn.net) && fabs(bp_rnet_output(&tn.net)[0] - 2) < 4e-6);
    CHECK(bp_rnet_backward(&tn.net, &in, &t, &loss) == BP_OK);
    /* residual 0.5 |2 - x| < tol puts x within 2e-6 of 2, the loss within ~2e-6 of 0.5; the
       adjoint z (= 2 e) likewise within ~4e-6, so the gradients within ~2e-5 */
    CHECK(fabs(loss - 0.5) < 5e-6);
    CHECKF(fabs(tn.grads[0] - 4) < 3e-5 && fabs(tn.grads[1] - 2) < 3e-5 && fabs(tn.grads[2] - 2) < 3e-5,
           "grads %.8g %.8g %.8g, loss %.8g", (double)tn.grads[0], (double)tn.grads[1], (double)tn.grads[2], (double)loss);
    CHECK(tn.net.iters > 0 && tn.net.adjoint_iters > 0);
    trnet_free(&tn);
}

/* The settled state is a fixed point: max |f(W x + U i + b) - x| <= tol max(1, max |x|),
   recomputed in double from the library's state (float rounding of the library's map adds
   < 1e-6). */
static void test_rnet_fixed_point(void) {
    static const bp_act acts[] = {BP_SIGMOID, BP_TANH, BP_LEAKY_RELU};
    int a, o, j;
    for (a = 0; a < 3; a++) {
        trnet tn;
        float in[5] = {0.3f, -1, 0.8f, 0.1f, -0.4f};
        const int n = 20, m = 5;
        double worst = 0, xmax = 1;
        CHECK(trnet_make(&tn, n, m, 3, acts[a]) == BP_OK);
        bp_rnet_randomize(&tn.net, 5);
        for (j = 0; j < n; j++) tn.params[n * n + n * m + j] = 0.1f * (float)(j % 7) - 0.3f;
        CHECK(bp_rnet_settle(&tn.net, in) == BP_OK);
        for (o = 0; o < n; o++) {
            double u = tn.params[n * n + n * m + o];
            for (j = 0; j < n; j++) u += (double)tn.params[o * n + j] * tn.work[j];
            for (j = 0; j < m; j++) u += (double)tn.params[n * n + o * m + j] * in[j];
            if (fabs(ref_act(acts[a], u) - tn.work[o]) > worst) worst = fabs(ref_act(acts[a], u) - tn.work[o]);
        }
        for (o = 0; o < n; o++) if (fabs(tn.work[o]) > xmax) xmax = fabs(tn.work[o]);
        CHECKF(worst < tn.net.tol * xmax + 1e-6, "%s residual %g, max |x| %g", bp_act_name(acts[a]), worst, xmax);
        CHECK(bp_rnet_output(&tn.net) == tn.work + n - 3);
        trnet_free(&tn);
    }
}

/* x <- tanh(-3 x + 0.5): the fixed point x* ~ 0.13 has slope -3 (1 - x*^2) ~ -2.95, so the
   undamped iteration (tau = 1) falls into a 2-cycle and must say it did not settle. Damping
   (tau = 0.25: slope 0.75 - 0.25 * 2.95 ~ 0.01) settles it. */
static void test_rnet_cannot_settle(void) {
    trnet tn;
    CHECK(trnet_make(&tn, 1, 0, 1, BP_TANH) == BP_OK);
    tn.params[0] = -3; tn.params[1] = 0.5f;
    tn.net.tau = 1;
    CHECK(bp_rnet_settle(&tn.net, NULL) == BP_ERR_NOT_SETTLED);
    CHECK(tn.net.iters == tn.net.max_iters && !tn.net.settled && bp_rnet_output(&tn.net) == NULL);
    CHECK(bp_rnet_backward(&tn.net, NULL, (const float[]){0}, NULL) == BP_ERR_NOT_SETTLED_YET);
    tn.net.tau = 0.25f;
    CHECK(bp_rnet_settle(&tn.net, NULL) == BP_OK);
    CHECK(tn.net.iters < 50 && bp_rnet_output(&tn.net)
          && fabs(bp_rnet_output(&tn.net)[0] - tanh(-3 * bp_rnet_output(&tn.net)[0] + 0.5)) < 1e-5);
    /* the adjoint with too few steps allowed reports it too */
    tn.net.max_iters = 1;
    CHECK(bp_rnet_backward(&tn.net, NULL, (const float[]){0.9f}, NULL) == BP_ERR_ADJOINT_NOT_SETTLED);
    trnet_free(&tn);
    /* x <- 2 x + 1 (linear, undamped) runs off to infinity */
    CHECK(trnet_make(&tn, 1, 0, 1, BP_LINEAR) == BP_OK);
    tn.params[0] = 2; tn.params[1] = 1; tn.net.tau = 1;
    CHECK(bp_rnet_settle(&tn.net, NULL) == BP_ERR_NONFINITE);
    CHECK(!tn.net.settled);
    trnet_free(&tn);
}

/* bp_rnet_randomize's scaling lets the default relaxation settle at typical sizes. */
static void test_rnet_randomize_settles(void) {
    static const bp_act acts[] = {BP_LINEAR, BP_SIGMOID, BP_TANH, BP_RELU, BP_LEAKY_RELU};
    static const int ns[] = {2, 16, 64, 256};
    int a, i, k;
    for (a = 0; a < 5; a++)
        for (i = 0; i < 4; i++) {
            trnet tn, tn2;
            float in[8];
            bp_rng r = bp_rng_seed((uint64_t)(a * 10 + i));
            for (k = 0; k < 8; k++) in[k] = urand(&r, -1, 1);
            CHECK(trnet_make(&tn, ns[i], 8, 1, acts[a]) == BP_OK);
            CHECK(trnet_make(&tn2, ns[i], 8, 1, acts[a]) == BP_OK);
            bp_rnet_randomize(&tn.net, 3);
            bp_rnet_randomize(&tn2.net, 3);
            CHECK(memcmp(tn.params, tn2.params, tn.net.n_params * sizeof(float)) == 0);
            CHECKF(bp_rnet_settle(&tn.net, in) == BP_OK, "%s n=%d: %d steps", bp_act_name(acts[a]), ns[i], tn.net.iters);
            trnet_free(&tn); trnet_free(&tn2);
        }
}

static void test_rnet_status_paths(void) {
    float p[64], g[64], w[64], in[2] = {0, 0};
    bp_rnet net;
    CHECK(bp_rnet_params_size(3, 2) == 9 + 6 + 3 && bp_rnet_work_size(3, 2) == 18);
    CHECK(bp_rnet_params_size(0, 2) == 0 && bp_rnet_params_size(3, -1) == 0 && bp_rnet_work_size(0, 0) == 0);
    /* n (n + m + 1) = 2^31 * 2^32 floats: their bytes overflow a 64-bit size_t */
    CHECK(bp_rnet_params_size(INT_MAX, INT_MAX) == 0);
    CHECK(bp_rnet_init(&net, INT_MAX, INT_MAX, 1, BP_TANH, p, 64, g, 64, w, 64) == BP_ERR_OVERFLOW);
    CHECK(bp_rnet_init(NULL, 3, 2, 1, BP_TANH, p, 64, g, 64, w, 64) == BP_ERR_NULL);
    CHECK(bp_rnet_init(&net, 3, 2, 1, BP_TANH, NULL, 64, g, 64, w, 64) == BP_ERR_NULL);
    CHECK(bp_rnet_init(&net, 3, 2, 1, BP_TANH, p, 64, NULL, 64, w, 64) == BP_ERR_NULL);
    CHECK(bp_rnet_init(&net, 3, 2, 1, BP_TANH, p, 64, g, 64, NULL, 64) == BP_ERR_NULL);
    CHECK(bp_rnet_init(&net, 0, 2, 1, BP_TANH, p, 64, g, 64, w, 64) == BP_ERR_SIZE);
    CHECK(bp_rnet_init(&net, 3, -1, 1, BP_TANH, p, 64, g, 64, w, 64) == BP_ERR_SIZE);
    CHECK(bp_rnet_init(&net, 3, 2, 0, BP_TANH, p, 64, g, 64, w, 64) == BP_ERR_OUTPUTS);
    CHECK(bp_rnet_init(&net, 3, 2, 4, BP_TANH, p, 64, g, 64, w, 64) == BP_ERR_OUTPUTS);
    CHECK(bp_rnet_init(&net, 3, 2, 1, BP_SOFTMAX, p, 64, g, 64, w, 64) == BP_ERR_RNET_ACT);
    CHECK(bp_rnet_init(&net, 3, 2, 1, BP_ACT_COUNT, p, 64, g, 64, w, 64) == BP_ERR_ACT);
    CHECK(net.n_units == 0 && net.params == NULL);
    CHECK(bp_rnet_init(&net, 3, 2, 1, BP_TANH, p, 64, g, 64, w, 64) == BP_OK);
    CHECK(net.tau == 0.5f && net.tol == F32(1e-5f) && net.max_iters == 1000 && !net.settled);
    bp_rnet_randomize(&net, 1);
    CHECK(bp_rnet_settle(&net, NULL) == BP_ERR_NULL);            /* inputs expected */
    CHECK(bp_rnet_settle(NULL, in) == BP_ERR_NULL);
    CHECK(bp_rnet_backward(&net, in, in, NULL) == BP_ERR_NOT_SETTLED_YET);
    net.tau = 0;     CHECK(bp_rnet_settle(&net, in) == BP_ERR_RELAX);
    net.tau = 1.5f;  CHECK(bp_rnet_settle(&net, in) == BP_ERR_RELAX);
    net.tau = NAN;   CHECK(bp_rnet_settle(&net, in) == BP_ERR_RELAX);
    net.tau = 1; net.tol = 0;        CHECK(bp_rnet_settle(&net, in) == BP_ERR_RELAX);
    net.tol = INFINITY;              CHECK(bp_rnet_settle(&net, in) == BP_ERR_RELAX);
    net.tol = 1e-5f; net.max_iters = 0; CHECK(bp_rnet_settle(&net, in) == BP_ERR_RELAX);
    net.max_iters = 100;
    CHECK(bp_rnet_settle(&net, in) == BP_OK);
    CHECK(bp_rnet_backward(&net, in, NULL, NULL) == BP_ERR_NULL);
    CHECK(bp_rnet_output(NULL) == NULL);
}

/* Training through the flat vector with bp_sgd lowers the settled loss: a 6-unit tanh net
   learns to map 4 inputs to 2 outputs. */
static void test_rnet_training(void) {
    trnet tn;
    float in[4][3], t[4][2], first = 0, last = 0, loss;
    bp_rng r = bp_rng_seed(21);
    int i, j, epoch;
    for (i = 0; i < 4; i++) {
        for (j = 0; j < 3; j++) in[i][j] = urand(&r, -1, 1);
        for (j = 0; j < 2; j++) t[i][j] = urand(&r, -0.6f, 0.6f);
    }
    CHECK(trnet_make(&tn, 6, 3, 2, BP_TANH) == BP_OK);
    bp_rnet_randomize(&tn.net, 21);
    for (epoch = 0; epoch < 300; epoch++)
        for (i = 0; i < 4; i++) {
            CHECK(bp_rnet_settle(&tn.net, in[i]) == BP_OK);
            CHECK(bp_rnet_backward(&tn.net, in[i], t[i], &loss) == BP_OK);
            if (epoch == 0) first += loss;
            if (epoch == 299) last += loss;
            bp_sgd(tn.params, tn.grads, tn.net.n_params, 0.1f);
        }
    CHECKF(last < 0.05f * first, "settled loss %g -> %g", (double)first, (double)last);
    trnet_free(&tn);
}

/* A tolerance finer than float resolves: tol = 1e-7 where the adjoint's components exceed 1
   (targets far from the outputs). Under the old absolute test the adjoint could never settle
   (one ulp of 1.77 is 1.2e-7); now both relaxations settle and the gradients match central
   differences of the double reference as in test_rnet_gradients. params are not touched. */
static void test_rnet_fine_tol(void) {
    static const bp_act acts[] = {BP_LINEAR, BP_SIGMOID, BP_TANH, BP_LEAKY_RELU};
    bp_rng r = bp_rng_seed(707);
    int trial, big = 0, bad_trials = 0;
    for (trial = 0; trial < 24; trial++) {
        const int n = 4 + (int)bp_rng_below(&r, 9), m = 1 + (int)bp_rng_below(&r, 4), k = 1 + (int)bp_rng_below(&r, 3);
        const bp_act act = acts[trial % 4];
        float in[4], t[3], loss, zmax;
        trnet tn;
        snap s;
        size_t i;
        CHECK(trnet_make(&tn, n, m, k, act) == BP_OK);
        bp_rnet_randomize(&tn.net, 500 + (uint64_t)trial);
        for (i = 0; i < 4; i++) in[i] = urand(&r, -1, 1);
        for (i = 0; i < 3; i++) t[i] = urand(&r, 0, 1) < 0.5f ? -2.5f : 2.5f;
        tn.net.tol = 1e-7f;
        tn.net.max_iters = 100000;
        s = snap_take(tn.params, tn.net.n_params, NULL, 0);
        CHECKF(bp_rnet_settle(&tn.net, in) == BP_OK, "trial %d: settle, %d steps", trial, tn.net.iters);
        CHECKF(bp_rnet_backward(&tn.net, in, t, &loss) == BP_OK, "trial %d: adjoint, %d steps", trial, tn.net.adjoint_iters);
        CHECK(snap_same(&s, tn.params, NULL) && tn.net.adjoint_iters < 100000);
        zmax = 0;
        for (i = 0; i < (size_t)n; i++) if (fabsf(tn.work[3 * n + (int)i]) > zmax) zmax = fabsf(tn.work[3 * n + (int)i]);
        big += zmax > 1;
        if (rnet_grads_bad(&tn, in, t)) {
            fprintf(stderr, "fine-tol gradcheck failed: n %d, m %d, k %d, %s\n", n, m, k, bp_act_name(act));
            bad_trials++;
        }
        snap_free(&s);
        trnet_free(&tn);
    }
    CHECK(bad_trials == 0);
    CHECKF(big >= 12, "only %d of 24 adjoints exceeded 1", big);
}
