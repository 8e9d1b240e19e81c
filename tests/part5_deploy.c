/* Part 5, deploying: read-only views (alone and shared by threads) and int8 inference
   against a reference written from the definitions, its fixture and its refusals.
   Included by tests/test_backprop.c, which holds the shared helpers: one program. */

typedef struct view_job {
    bp_net net;
    const float *x;
    float out[50 * 3];
} view_job;

static void *run_view(void *arg) {
    view_job *j = (view_job *)arg;
    int rep, s;
    for (rep = 0; rep < 200; rep++)
        for (s = 0; s < 50; s++)
            memcpy(j->out + 3 * s, bp_forward(&j->net, j->x + 8 * s, 1), 3 * sizeof(float));
    return NULL;
}

static void test_shared_params_threads(void) {
    static const int sizes[] = {8, 16, 3};
    static const bp_act acts[] = {BP_RELU, BP_SOFTMAX};
    size_t np = bp_params_size(2, sizes), nw = bp_work_size(2, sizes, 1);
    float *params = (float *)malloc(np * sizeof(float)), x[400];
    float *bufs = (float *)malloc(VIEWS * (np + nw) * sizeof(float));
    view_job jobs[VIEWS];
    pthread_t th[VIEWS];
    bp_rng r = bp_rng_seed(8);
    int v, i;
    for (i = 0; i < 400; i++) x[i] = urand(&r, -1, 1);
    for (v = 0; v < VIEWS; v++) {
        float *grads = bufs + v * (np + nw), *work = grads + np;
        CHECK(bp_init(&jobs[v].net, 2, sizes, acts, BP_LOSS_CROSS_ENTROPY, 1, params, np, grads, np, work, nw) == BP_OK);
        jobs[v].x = x;
    }
    bp_randomize(&jobs[0].net, 8);
    for (v = 0; v < VIEWS; v++) CHECK(pthread_create(&th[v], NULL, run_view, &jobs[v]) == 0);
    for (v = 0; v < VIEWS; v++) pthread_join(th[v], NULL);
    for (i = 0; i < 50; i++) {
        const float *y = bp_forward(&jobs[0].net, x + 8 * i, 1);
        for (v = 0; v < VIEWS; v++) CHECK(memcmp(y, jobs[v].out + 3 * i, 3 * sizeof(float)) == 0);
    }
    free(params); free(bufs);
}

/* A forward view over read-only parameters (issue 20): a trained net's outputs, losses and
   accuracies to the bit, at batch 1 and batched, in a work array bp_forward_work_size sizes
   (smaller than bp_work_size's, and refused if shorter); every call that trains or writes
   parameters refused with BP_ERR_READONLY, the parameters untouched; bp_save the same bytes. */
static void test_forward_view(void) {
    static const int sizes[] = {9, 40, 7, 4};
    static const bp_act acts[] = {BP_TANH, BP_RELU, BP_SOFTMAX};
    float x[37 * 9], t[37 * 4] = {0};
    int labels[37], i, m;
    bp_rng r = bp_rng_seed(20);
    for (i = 0; i < 37 * 9; i++) x[i] = urand(&r, -1, 1);
    for (i = 0; i < 37; i++) t[i * 4 + (labels[i] = (int)bp_rng_below(&r, 4))] = 1;
    for (m = 0; m < 2; m++) {
        const int mb = m ? 16 : 1;
        const size_t nv = bp_forward_work_size(3, sizes, mb), nw = bp_work_size(3, sizes, mb);
        bp_opt o = bp_opt_adam(0.01f);
        tnet a;
        bp_net v;
        float *cp, *work, la = -1, lv = -2, aa = -1, av = -2, err;
        const float *ya, *yv;
        unsigned char *ba, *bv;
        size_t np, ns;
        int b, done = -1;
        CHECK(tnet_make(&a, 3, sizes, acts, BP_LOSS_CROSS_ENTROPY, mb) == BP_OK);
        bp_randomize(&a.net, 4);
        for (i = 0; i < 5; i++)
            CHECK(bp_train_epoch(&a.net, &o, a.vel, a.ns, x, t, 37, NULL, NULL, NULL) == BP_OK);
        np = a.net.n_params;
        cp = (float *)malloc(np * sizeof(float));
        work = (float *)malloc(nv * sizeof(float));
        assert(cp && work);
        memcpy(cp, a.params, np * sizeof(float));
        CHECKF(nv > 0 && nv < nw, "view %lu floats against %lu", (unsigned long)nv, (unsigned long)nw);
        CHECK(bp_forward_work_size(3, sizes, 0) == 0 && bp_forward_work_size(0, sizes, 1) == 0);
        CHECK(bp_init_forward(&v, 3, sizes, acts, BP_LOSS_CROSS_ENTROPY, mb, cp, np, work, nv - 1)
              == BP_ERR_WORK_SHORT);
        CHECK(bp_init_forward(&v, 3, sizes, acts, BP_LOSS_CROSS_ENTROPY, mb, cp, np - 1, work, nv)
              == BP_ERR_PARAMS_SHORT);
        CHECK(bp_init_forward(&v, 3, sizes, acts, BP_LOSS_CROSS_ENTROPY, mb, NULL, np, work, nv)
              == BP_ERR_NULL);
        CHECK(bp_init_forward(&v, 3, sizes, acts, BP_LOSS_CROSS_ENTROPY, mb, cp, np, work, nv) == BP_OK);
        CHECK(v.grads == NULL && v.n_work == nv);
        for (b = 1; b <= mb; b++) {
            ya = bp_forward(&a.net, x, b);
            yv = bp_forward(&v, x, b);
            CHECKF(ya && yv && memcmp(ya, yv, (size_t)b * 4 * sizeof(float)) == 0, "batch %d", b);
            CHECK(bp_loss_value(&a.net, t, b) == bp_loss_value(&v, t, b));
        }
        CHECK(bp_evaluate(&a.net, x, t, 37, &la, &aa) == BP_OK);
        CHECK(bp_evaluate(&v, x, t, 37, &lv, &av) == BP_OK);
        CHECK(la == lv && aa == av);
        CHECK(bp_evaluate_labels(&v, x, labels, 37, &lv, &av) == BP_OK);
        CHECK(la == lv && aa == av);
        /* refused, nothing written */
        ns = bp_opt_state_size(&o, np);
        CHECK(bp_update(&v, &o, a.vel, ns) == BP_ERR_READONLY);
        CHECK(bp_train_step(&v, &o, a.vel, ns, x, t, 1, NULL) == BP_ERR_READONLY);
        CHECK(bp_train_step_labels(&v, &o, a.vel, ns, x, labels, 1, NULL) == BP_ERR_READONLY);
        CHECK(bp_train_epoch(&v, &o, a.vel, ns, x, t, 37, NULL, NULL, &done) == BP_ERR_READONLY
              && done == 0);
        CHECK(bp_train_epoch_labels(&v, &o, a.vel, ns, x, labels, 37, NULL, NULL, NULL)
              == BP_ERR_READONLY);
        CHECK(bp_gradcheck(&v, x, t, 1, 0.0f, &err) == BP_ERR_READONLY);
        CHECK(bp_randomize(&v, 1) == BP_ERR_READONLY);
        CHECK(bp_backward(&v, x, t, 1) == -1.0f);
        ba = (unsigned char *)malloc(bp_save_size(&a.net));
        bv = (unsigned char *)malloc(bp_save_size(&v));
        assert(ba && bv);
        CHECK(bp_save_size(&v) == bp_save_size(&a.net));
        CHECK(bp_save(&a.net, ba, bp_save_size(&a.net)) == BP_OK && bp_save(&v, bv, bp_save_size(&v)) == BP_OK);
        CHECK(memcmp(ba, bv, bp_save_size(&v)) == 0);
        CHECK(bp_load(&v, ba, bp_save_size(&a.net)) == BP_ERR_READONLY);
        {   /* what a view loads from instead: the parameters decoded without a net */
            float *dp = (float *)malloc(np * sizeof(float));
            assert(dp);
            memset(dp, 0, np * sizeof(float));
            CHECK(bp_load_params(ba, bp_save_size(&a.net), dp, np - 1) == BP_ERR_PARAMS_SHORT);
            CHECK(bp_load_params(ba, bp_save_size(&a.net) - 1, dp, np) == BP_ERR_TRUNCATED);
            CHECK(bp_load_params(ba, bp_save_size(&a.net), NULL, np) == BP_ERR_NULL);
            for (i = 0; i < (int)np; i++) CHECK(dp[i] == 0.0f);              /* untouched */
            CHECK(bp_load_params(ba, bp_save_size(&a.net), dp, np) == BP_OK);
            CHECK(memcmp(dp, a.params, np * sizeof(float)) == 0);
            free(dp);
        }
        CHECK(memcmp(cp, a.params, np * sizeof(float)) == 0);
        free(ba); free(bv); free(cp); free(work);
        tnet_free(&a);
    }
}

/* ---- int8 inference (issue 20) ------------------------------------------------------------ */

/* A quantized net with its arrays, on the heap */
typedef struct tqnet {
    bp_qnet qn;
    int8_t *w, *work;
    int32_t *q;
    size_t nw, nq, nk;
} tqnet;

static bp_status tqnet_make(tqnet *t, bp_net *net, const float *x, int n) {
    const int L = net->n_layers;
    bp_status s;
    t->nw = bp_qweights_size(L, net->sizes);
    t->nq = bp_qparams_size(L, net->sizes);
    t->nk = bp_qwork_size(L, net->sizes);
    t->w = (int8_t *)malloc(t->nw);
    t->q = (int32_t *)malloc(t->nq * sizeof(int32_t));
    t->work = (int8_t *)malloc(t->nk);
    assert(t->w && t->q && t->work);
    if ((s = bp_quantize(net, x, n, t->w, t->nw, t->q, t->nq)) != BP_OK) return s;
    return bp_qinit(&t->qn, L, net->sizes, net->act, net->loss, t->w, t->nw, t->q, t->nq, t->work, t->nk);
}

static void tqnet_free(tqnet *t) { free(t->w); free(t->q); free(t->work); }

static float qf(int32_t bits) { float f; uint32_t u = (uint32_t)bits; memcpy(&f, &u, 4); return f; }
static int32_t qclamp(long long v) { return v > 127 ? 127 : v < -127 ? -127 : (int32_t)v; }
static float tsigmoid(float z) { return z >= 0 ? 1.0f / (1.0f + expf(-z)) : expf(z) / (1.0f + expf(z)); }
static float tact(bp_act a, float z) {
    switch (a) {
    case BP_SIGMOID: return tsigmoid(z);
    case BP_TANH: return tanhf(z);
    case BP_RELU: return z < 0 ? 0.0f : z + 0.0f;
    case BP_LEAKY_RELU: return z > 0 ? z : BP_LEAKY_SLOPE * z;
    default: return z;
    }
}

/* The int8 forward pass written out from the manual's INT8 rules, apart from the library's
   code: roundf for rounding, the requantization by division and remainder on exact 64-bit
   products (the library shifts), 64-bit sums checked against the int32 range. z: the output
   layer's pre-activations. Returns 0 if a sum left int32. */
static int qref(const bp_qnet *qn, const float *x, float *z) {
    int8_t a[2][1024];
    const int8_t *W = qn->weights;
    const int32_t *u = qn->q, *sc = qn->q + qn->n_q - (size_t)qn->n_layers;
    int l, o, i, cur = 0;
    for (i = 0; i < qn->sizes[0]; i++) a[0][i] = (int8_t)qclamp((long long)roundf(x[i] / qf(sc[0])));
    for (l = 0; l < qn->n_layers; l++) {
        const int ni = qn->sizes[l], no = qn->sizes[l + 1], last = l == qn->n_layers - 1;
        const int integer = !last && (qn->act[l] == BP_RELU || qn->act[l] == BP_LINEAR);
        for (o = 0; o < no; o++, u += 4, W += ni) {
            long long acc = u[0];
            for (i = 0; i < ni; i++) acc += (long long)W[i] * a[cur][i];
            if (acc > INT32_MAX || acc < INT32_MIN) return 0;
            if (integer) {
                const unsigned long long p = (unsigned long long)(acc < 0 ? -acc : acc) * (unsigned long long)u[1];
                const unsigned long long d = 1ull << u[2];
                long long r = (long long)(p / d) + (2 * (p % d) >= d);
                if (acc < 0) r = -r;
                a[!cur][o] = (int8_t)(qn->act[l] == BP_RELU && acc <= 0 ? 0 : qclamp(r));
            } else {
                const float zz = (float)acc * qf(u[3]);
                if (last) z[o] = zz;
                else a[!cur][o] = (int8_t)qclamp((long long)roundf(tact(qn->act[l], zz) / qf(sc[l + 1])));
            }
        }
        cur = !cur;
    }
    return 1;
}

/* The int8 kernels against qref, on nets with two and three hidden layers and every hidden
   activation (integer and float layer ends), quantized from trained float nets: the output
   pre-activations to the bit (a linear output gives them as bp_qforward's outputs), and
   bp_qpredict against the argmax of the reference's; the quantized outputs near the float
   net's (classes agree on most samples, probabilities within 0.1). */
static void test_int8_against_reference(void) {
    static const int sa[] = {12, 20, 16, 5}, sb[] = {12, 24, 16, 8, 5};
    static const bp_act nets[][4] = {
        {BP_RELU, BP_LINEAR, BP_LINEAR}, {BP_TANH, BP_SIGMOID, BP_LINEAR},
        {BP_LEAKY_RELU, BP_RELU, BP_SOFTMAX}, {BP_RELU, BP_TANH, BP_LINEAR, BP_SOFTMAX},
        {BP_SIGMOID, BP_RELU, BP_RELU, BP_SIGMOID}};
    float x[200 * 12], t[200 * 5] = {0};
    int c, i, k;
    bp_rng r = bp_rng_seed(33);
    for (i = 0; i < 200 * 12; i++) x[i] = urand(&r, -1.5f, 1.5f);
    for (i = 0; i < 200; i++) t[i * 5 + (int)bp_rng_below(&r, 5)] = 1;
    for (c = 0; c < 5; c++) {
        const int L = c < 3 ? 3 : 4, *sizes = c < 3 ? sa : sb;
        const bp_act out = nets[c][L - 1];
        const bp_loss loss = out == BP_LINEAR ? BP_LOSS_SQUARED : BP_LOSS_CROSS_ENTROPY;
        bp_opt o = bp_opt_adam(0.01f);
        tnet a;
        tqnet qa;
        int same = 0, agree = 0, e;
        float worst = 0;
        CHECK(tnet_make(&a, L, sizes, nets[c], loss, 10) == BP_OK);
        bp_randomize(&a.net, (uint64_t)c + 1);
        for (e = 0; e < 20; e++)
            CHECK(bp_train_epoch(&a.net, &o, a.vel, a.ns, x, t, 200, NULL, NULL, NULL) == BP_OK);
        CHECK(tqnet_make(&qa, &a.net, x, 100) == BP_OK);
        for (i = 0; i < 200; i++) {
            float y[8], z[8], f[8], zr[8], m;
            int ok = qref(&qa.qn, x + 12 * i, zr), best = 0;
            CHECK(ok);
            CHECK(bp_qforward(&qa.qn, x + 12 * i, y) == BP_OK);
            {   /* the integer-input forms: the same bits from bp_qquantize_input's values */
                int8_t xq[12];
                float yq[8];
                CHECK(bp_qquantize_input(&qa.qn, x + 12 * i, 12, xq) == BP_OK);
                for (k = 0; k < 12; k++) CHECK(xq[k] == (int8_t)qclamp((long long)roundf(x[12 * i + k] / qf(qa.q[qa.nq - (size_t)L]))));
                CHECK(bp_qforward_q(&qa.qn, xq, yq) == BP_OK && memcmp(yq, y, 5 * sizeof(float)) == 0);
                CHECK(bp_qpredict_q(&qa.qn, xq) == bp_qpredict(&qa.qn, x + 12 * i));
            }
            memcpy(z, y, sizeof z);
            for (k = 0; k < 5; k++) if (zr[k] > zr[best]) best = k;
            if (out == BP_LINEAR) same += memcmp(z, zr, 5 * sizeof(float)) == 0;
            else {                                 /* the activation of the reference's z */
                float ya[8];
                memcpy(ya, zr, sizeof ya);
                if (out == BP_SOFTMAX) {
                    float s = 0;
                    for (m = zr[best], k = 0; k < 5; k++) s += ya[k] = expf(zr[k] - m);
                    for (k = 0; k < 5; k++) ya[k] /= s;
                    same += bp_qpredict(&qa.qn, x + 12 * i) == best;
                } else {
                    for (k = 0; k < 5; k++) ya[k] = tsigmoid(zr[k]);
                    same += bp_qpredict(&qa.qn, x + 12 * i) == bp_argmax(ya, 5);
                }
                for (k = 0; k < 5; k++) if (fabsf(ya[k] - y[k]) > worst) worst = fabsf(ya[k] - y[k]);
            }
            memcpy(f, bp_forward(&a.net, x + 12 * i, 1), 5 * sizeof(float));
            agree += bp_argmax(f, 5) == bp_argmax(y, 5);
            if (out != BP_LINEAR)
                for (k = 0; k < 5; k++) CHECKF(fabsf(f[k] - y[k]) < 0.1f, "net %d: float %g int8 %g", c, (double)f[k], (double)y[k]);
        }
        CHECKF(same == 200, "net %d: %d of 200 samples as the reference", c, same);
        CHECKF(worst <= 1e-6f, "net %d: outputs %g from the reference's", c, (double)worst);
        CHECKF(agree >= 180, "net %d: int8 and float agree on %d of 200 classes", c, agree);
        tqnet_free(&qa);
        tnet_free(&a);
    }
}

/* The known answer from the specification: tests/fixtures/q-2-3-2.bpmodel and its outputs
   were computed by make_fixtures.py from the INT8 and FORMAT text (exact rationals); bp_qload
   reads it, bp_qforward gives those outputs, bp_qsave writes the same bytes, and the readers
   of the other kinds refuse it. */
static void test_int8_fixture(void) {
    static const float x1[] = {0.5f, -0.25f}, x2[] = {1.0f, 0.75f};
    int8_t w[12], work[6];
    int32_t q[22];
    int nl = 0, sizes[BP_MAX_LAYERS + 1];
    bp_act acts[BP_MAX_LAYERS];
    bp_loss loss;
    bp_qnet qn;
    float y[2];
    size_t len;
    unsigned char *b = slurp("tests/fixtures/q-2-3-2.bpmodel", &len), *out;
    tnet tn;
    CHECK(b != NULL);
    if (!b) return;
    CHECK(bp_qpeek(b, len, &nl, sizes, acts, &loss) == BP_OK);
    CHECK(nl == 2 && sizes[0] == 2 && sizes[1] == 3 && sizes[2] == 2 && acts[0] == BP_RELU
          && acts[1] == BP_LINEAR && loss == BP_LOSS_SQUARED);
    CHECK(bp_qweights_size(2, sizes) == 12 && bp_qparams_size(2, sizes) == 22 && bp_qwork_size(2, sizes) == 6);
    CHECK(bp_qload(&qn, b, len, w, 12, q, 21, work, 6) == BP_ERR_PARAMS_SHORT);
    CHECK(bp_qload(&qn, b, len, w, 12, q, 22, work, 5) == BP_ERR_WORK_SHORT);
    CHECK(bp_qload(&qn, b, len, w, 12, q, 22, work, 6) == BP_OK);
    CHECK(w[0] == 64 && w[1] == -32 && w[2] == -127 && w[11] == 3 && q[0] == 100 && q[4] == -3000);
    CHECK(bp_qforward(&qn, x1, y) == BP_OK && y[0] == 2.494140625f && y[1] == -3.9453125f);
    CHECK(bp_qforward(&qn, x2, y) == BP_OK && y[0] == 1.869140625f && y[1] == -3.88671875f);
    CHECK(bp_qpredict(&qn, x1) == 0);
    CHECK(bp_qsave_size(&qn) == len);
    out = (unsigned char *)malloc(len);
    CHECK(bp_qsave(&qn, out, len - 1) == BP_ERR_BUFFER);
    CHECK(bp_qsave(&qn, out, len) == BP_OK && memcmp(out, b, len) == 0);
    CHECK(bp_peek(b, len, NULL, NULL, NULL, NULL) == BP_ERR_KIND);
    CHECK(bp_rnet_peek(b, len, NULL, NULL, NULL, NULL) == BP_ERR_KIND);
    CHECK(tnet_make(&tn, 2, sizes, acts, BP_LOSS_SQUARED, 1) == BP_OK);
    CHECK(bp_load(&tn.net, b, len) == BP_ERR_KIND);
    free(b);
    b = slurp("tests/fixtures/ff-2-3-2.bpmodel", &len);
    CHECK(b && bp_qpeek(b, len, NULL, NULL, NULL, NULL) == BP_ERR_KIND);
    CHECK(b && bp_qload(&qn, b, len, w, 12, q, 22, work, 6) == BP_ERR_KIND);
    free(b); free(out);
    tnet_free(&tn);
}

/* Kind 3 through the alterations of kinds 1 and 2 (every truncation, every bit flip, appended
   bytes, header fields rewritten with the CRC made valid), and its integers made invalid one
   at a time with a valid CRC (a weight of -128, nonzero padding, a shift out of range, a
   multiplier on a float-ended layer, a scale of 0, -1, inf or NaN, a bias that could
   overflow): all refused, the arrays untouched; bp_qinit refuses the same integers
   (BP_ERR_QPARAMS). */
static void test_int8_refusals(void) {
    static const int sizes[] = {5, 6, 4, 3};
    static const bp_act acts[] = {BP_RELU, BP_TANH, BP_SOFTMAX};
    static const uint32_t values[] = {0, 1, 2, 3, 5, 17, 255, 0x7fffffffu, 0x80000000u, 0xffffffffu};
    float x[40 * 5];
    tnet tn;
    tqnet tq;
    bp_qnet qn;
    unsigned char *good, *bad;
    int8_t *w2, *k2;
    int32_t *q2;
    size_t len, i, cut, nwords;
    int bit, refused = 0, tried = 0;
    unsigned v;
    bp_rng r = bp_rng_seed(2);
    for (i = 0; i < 40 * 5; i++) x[i] = urand(&r, -1, 1);
    CHECK(tnet_make(&tn, 3, sizes, acts, BP_LOSS_CROSS_ENTROPY, 4) == BP_OK);
    bp_randomize(&tn.net, 3);
    CHECK(tqnet_make(&tq, &tn.net, x, 40) == BP_OK);
    len = bp_qsave_size(&tq.qn);
    good = (unsigned char *)malloc(len);
    bad = (unsigned char *)malloc(len + 64);
    w2 = (int8_t *)malloc(tq.nw); q2 = (int32_t *)malloc(tq.nq * 4); k2 = (int8_t *)malloc(tq.nk);
    CHECK(bp_qsave(&tq.qn, good, len) == BP_OK);
    memset(w2, 42, tq.nw);
    for (i = 0; i < tq.nq; i++) q2[i] = 42;
#define EXPECT_QREFUSED(buf, n)                                                          \
    do {                                                                                 \
        tried++;                                                                         \
        if (bp_qload(&qn, (buf), (n), w2, tq.nw, q2, tq.nq, k2, tq.nk) != BP_OK) refused++; \
        else fprintf(stderr, "accepted an altered int8 model (length %lu)\n", (unsigned long)(n)); \
    } while (0)
    for (cut = 0; cut < len; cut++) EXPECT_QREFUSED(good, cut);
    for (i = 0; i < len; i++)
        for (bit = 0; bit < 8; bit++) {
            memcpy(bad, good, len);
            bad[i] ^= (unsigned char)(1 << bit);
            EXPECT_QREFUSED(bad, len);
        }
    for (cut = 1; cut <= 64; cut++) {
        memcpy(bad, good, len);
        memset(bad + len, 0, cut);
        EXPECT_QREFUSED(bad, len + cut);
    }
    for (i = 8; i < 24 + 4 * 9; i += 4)   /* header fields: refused, or another valid net */
        for (v = 0; v < sizeof values / sizeof values[0]; v++) {
            int nl, sz[BP_MAX_LAYERS + 1];
            bp_act ac[BP_MAX_LAYERS];
            bp_loss lo;
            memcpy(bad, good, len);
            if (bp__get32(bad + i) == values[v]) continue;
            bp__put32(bad + i, values[v]);
            bp__put32(bad + len - 4, bp__crc32(0, bad, len - 4));
            if (bp_qpeek(bad, len, &nl, sz, ac, &lo) == BP_OK) {  /* a loss or an activation */
                CHECK(i >= 28 && (lo != BP_LOSS_CROSS_ENTROPY || ac[0] != acts[0] || ac[1] != acts[1]
                                  || ac[2] != acts[2]));
                continue;
            }
            EXPECT_QREFUSED(bad, len);
        }
    /* the integers: words of q rewritten, and bytes of the weights and the padding */
    nwords = (len - 4 - (24 + 4 * 9)) / 4;
    {
        const size_t w0 = 24 + 4 * 9, qoff = w0 + 4 * ((tq.nw + 3) / 4);
        static const uint32_t bad_words[] = {0x80000000u, 0xffffffffu, 0u, 63u, 0x7f800000u, 0x7fc00000u, 0xbf800000u, 0x7fffffffu};
        size_t k;
        CHECK(nwords == (tq.nw + 3) / 4 + tq.nq);
        for (k = 0; k < tq.nq; k++)
            for (v = 0; v < sizeof bad_words / sizeof bad_words[0]; v++) {
                const size_t at = qoff + 4 * k, unit = k / 4, f = k % 4;
                const int integer = k < tq.nq - 3 && unit < 6;        /* layer 0's six units */
                const uint32_t val = bad_words[v];
                int invalid;
                memcpy(bad, good, len);
                if (bp__get32(bad + at) == val) continue;
                bp__put32(bad + at, val);
                bp__put32(bad + len - 4, bp__crc32(0, bad, len - 4));
                /* which rewrites the rules forbid */
                if (k >= tq.nq - 3) invalid = !(qf((int32_t)val) > 0 && isfinite(qf((int32_t)val)));
                else if (f == 0) invalid = val == 0x80000000u || val == 0x7fffffffu;
                else if (f == 1) invalid = integer ? val >= 0x80000000u : val != 0;
                else if (f == 2) invalid = integer ? val == 0 || val > 62 : val != 0;
                else invalid = !(qf((int32_t)val) > 0 && isfinite(qf((int32_t)val)));
                if (!invalid) continue;
                EXPECT_QREFUSED(bad, len);
                CHECK(bp_qload(&qn, bad, len, w2, tq.nw, q2, tq.nq, k2, tq.nk) == BP_ERR_CORRUPT);
                /* and bp_qinit over the same integers */
                memcpy(q2, tq.q, tq.nq * 4);
                q2[k] = (int32_t)(val <= 0x7fffffffu ? (int32_t)val : -(int32_t)~val - 1);
                CHECK(bp_qinit(&qn, 3, sizes, acts, BP_LOSS_CROSS_ENTROPY, tq.w, tq.nw, q2, tq.nq, k2, tq.nk) == BP_ERR_QPARAMS);
                for (i = 0; i < tq.nq; i++) q2[i] = 42;
            }
        memcpy(bad, good, len);
        bad[w0 + 3] = 0x80;                                  /* a weight of -128 */
        bp__put32(bad + len - 4, bp__crc32(0, bad, len - 4));
        EXPECT_QREFUSED(bad, len);
        memcpy(w2, tq.w, tq.nw);
        w2[3] = -128;
        CHECK(bp_qinit(&qn, 3, sizes, acts, BP_LOSS_CROSS_ENTROPY, w2, tq.nw, tq.q, tq.nq, k2, tq.nk) == BP_ERR_QPARAMS);
        memset(w2, 42, tq.nw);
        if (tq.nw % 4) {                                     /* nonzero padding */
            memcpy(bad, good, len);
            bad[w0 + tq.nw] = 1;
            bp__put32(bad + len - 4, bp__crc32(0, bad, len - 4));
            EXPECT_QREFUSED(bad, len);
        }
    }
    CHECKF(refused == tried, "%d of %d altered int8 models refused", refused, tried);
    printf("     %d altered int8 models, all refused: %s\n", tried, refused == tried ? "yes" : "no");
    for (i = 0; i < tq.nw; i++) CHECK(w2[i] == 42);
    for (i = 0; i < tq.nq; i++) CHECK(q2[i] == 42);
#undef EXPECT_QREFUSED
    CHECK(bp_qload(&qn, good, len, w2, tq.nw, q2, tq.nq, k2, tq.nk) == BP_OK);
    CHECK(memcmp(w2, tq.w, tq.nw) == 0 && memcmp(q2, tq.q, tq.nq * 4) == 0);
    /* bad arguments */
    CHECK(bp_qinit(NULL, 3, sizes, acts, BP_LOSS_CROSS_ENTROPY, tq.w, tq.nw, tq.q, tq.nq, k2, tq.nk) == BP_ERR_NULL);
    CHECK(bp_qinit(&qn, 3, sizes, acts, BP_LOSS_CROSS_ENTROPY, tq.w, tq.nw - 1, tq.q, tq.nq, k2, tq.nk) == BP_ERR_PARAMS_SHORT);
    CHECK(bp_qinit(&qn, 3, sizes, acts, BP_LOSS_CROSS_ENTROPY, tq.w, tq.nw, tq.q, tq.nq, k2, tq.nk - 1) == BP_ERR_WORK_SHORT);
    CHECK(qn.weights == NULL);                               /* zeroed on error */
    CHECK(bp_qforward(&qn, x, NULL) == BP_ERR_NULL && bp_qpredict(&qn, x) == -1);
    CHECK(bp_qforward_q(&qn, NULL, NULL) == BP_ERR_NULL && bp_qpredict_q(&qn, NULL) == -1);
    CHECK(bp_qquantize_input(&tq.qn, x, -1, k2) == BP_ERR_BATCH && bp_qquantize_input(NULL, x, 1, k2) == BP_ERR_NULL);
    CHECK(bp_quantize(&tn.net, x, 0, w2, tq.nw, q2, tq.nq) == BP_ERR_BATCH);
    CHECK(bp_quantize(&tn.net, x, 40, w2, tq.nw, q2, tq.nq - 1) == BP_ERR_PARAMS_SHORT);
    x[7] = NAN;
    CHECK(bp_quantize(&tn.net, x, 40, w2, tq.nw, q2, tq.nq) == BP_ERR_NONFINITE);
    free(good); free(bad); free(w2); free(q2); free(k2);
    tqnet_free(&tq);
    tnet_free(&tn);
}
