/* Tests of the sequence nets (bp_seq: Elman, GRU and LSTM layers trained by backpropagation
   through time): central-difference gradient checks over every cell, 1 and 2 recurrent
   layers, T in {1, 2, 7}, batch 1 and 3, each head input (last state, mean, every step),
   variable lengths and carried state (truncated windows), three activation/loss pairings;
   one GRU and one LSTM step against the documented equations computed here in double; the
   streamed step against the whole-sequence forward, to the bit; refusals (the view's, bad
   arguments, non-finite steps) that leave params, state and carry as they were; every
   optimizer's train step equal to backward + update. The closing line is "N passed, M
   failed". */
#define BACKPROP_IMPLEMENTATION
#include "../backprop.h"
#include "test.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAXT 7
#define MAXB 3
#define NIN 3
static float X[MAXB * MAXT * NIN], TGT[MAXB * MAXT * 2];
static int LAB[MAXB * MAXT];

static void make_data(void) {
    bp_rng r = bp_rng_seed(11);
    int i;
    for (i = 0; i < MAXB * MAXT * NIN; i++) X[i] = 2.0f * bp_rng_float(&r) - 1.0f;
    for (i = 0; i < MAXB * MAXT; i++) {
        LAB[i] = (int)bp_rng_below(&r, 2);
        TGT[2 * i] = bp_rng_float(&r);
        TGT[2 * i + 1] = bp_rng_float(&r);
    }
}

/* A sequence net with its arrays (malloc'd, filled with garbage: nothing may depend on it). */
typedef struct {
    bp_seq q;
    bp_seq_spec s;
    float *p, *g, *w;
    size_t np, nw;
} net;

static float *garbage(size_t n) {
    float *p = (float *)malloc((n ? n : 1) * sizeof *p);
    memset(p, 0xA5, (n ? n : 1) * sizeof *p);
    return p;
}

/* pairing: 0 tanh then softmax + cross-entropy (labels), 1 sigmoid then sigmoid +
   cross-entropy (targets), 2 tanh then linear + squared (targets). (Smooth hidden layers:
   a central difference across a ReLU's kink is no test of anything; the head's ReLUs are
   bp_net's, checked in test_backprop.) */
static bp_seq_spec spec_of(bp_cell cell, int nrec, bp_seq_out out, int pairing) {
    bp_seq_spec s;
    memset(&s, 0, sizeof s);
    s.cell = cell; s.n_inputs = NIN; s.n_rec = nrec; s.hidden[0] = 4; s.hidden[1] = 3;
    s.out = out; s.n_dense = 2; s.dense[0] = 5; s.dense[1] = 2;
    s.act[0] = pairing == 1 ? BP_SIGMOID : BP_TANH;
    s.act[1] = pairing == 0 ? BP_SOFTMAX : pairing == 1 ? BP_SIGMOID : BP_LINEAR;
    s.loss = pairing == 2 ? BP_LOSS_SQUARED : BP_LOSS_CROSS_ENTROPY;
    return s;
}

static int net_make(net *n, const bp_seq_spec *s, int T, int B, uint64_t seed) {
    n->s = *s;
    n->np = bp_seq_params_size(s);
    n->nw = bp_seq_work_size(s, T, B);
    n->p = garbage(n->np);
    n->g = garbage(n->np);
    n->w = garbage(n->nw);
    if (bp_seq_init(&n->q, s, T, B, n->p, n->np, n->g, n->np, n->w, n->nw) != BP_OK) return 0;
    return bp_seq_randomize(&n->q, seed) == BP_OK;
}

static void net_free(net *n) {
    free(n->p);
    free(n->g);
    free(n->w);
}

static bp_seq_data data_of(int pairing, int B, int T, const int *lengths, float *carry,
                           size_t carry_len) {
    bp_seq_data d;
    memset(&d, 0, sizeof d);
    d.x = X; d.n = B; d.steps = T; d.lengths = lengths; d.carry = carry; d.carry_len = carry_len;
    if (pairing == 0) d.labels = LAB;
    else d.target = TGT;
    return d;
}

static void test_gradcheck_grid(void) {
    static const int Ts[] = {1, 2, 7}, Bs[] = {1, 3};
    static const int lens[] = {7, 3, 5}, lens2[] = {2, 1, 2};
    float carry[256];
    bp_rng r = bp_rng_seed(3);
    int cell, nrec, out, ti, bi, pairing, i, count = 0;
    for (i = 0; i < 256; i++) carry[i] = 0.8f * bp_rng_float(&r) - 0.4f;
    for (cell = 0; cell < BP_CELL_COUNT; cell++)
        for (nrec = 1; nrec <= 2; nrec++)
            for (out = 0; out < BP_SEQ_OUT_COUNT; out++)
                for (ti = 0; ti < 3; ti++)
                    for (bi = 0; bi < 2; bi++) {
                        const int T = Ts[ti], B = Bs[bi];
                        bp_seq_spec s;
                        net n;
                        bp_seq_data d;
                        float err = 1.0f, c2[256];
                        bp_status st;
                        pairing = count++ % 3;
                        s = spec_of((bp_cell)cell, nrec, (bp_seq_out)out, pairing);
                        if (!net_make(&n, &s, T, B, 7 + (uint64_t)count)) {
                            CHECK(0);
                            continue;
                        }
                        /* B = 3: lengths (T = 7: 7, 3, 5; T = 2: 2, 1, 2); T = 7, B = 3 and
                           T = 2, B = 1 start from a carried state (a later window) */
                        memcpy(c2, carry, sizeof c2);
                        if (out == BP_SEQ_MEAN) {      /* counts of the steps before: >= 0 */
                            const size_t cs = bp_seq_carry_size(&s, B);
                            for (i = 0; i < B; i++) c2[cs - 1 - (size_t)i] = (float)(i + 1);
                        }
                        d = data_of(pairing, B, T, B == 3 && T > 1 ? (T == 7 ? lens : lens2) : NULL,
                                    (T == 7 && B == 3) || (T == 2 && B == 1) ? c2 : NULL, 256);
                        st = bp_seq_gradcheck(&n.q, &d, 0, B, 1e-2f, &err);
                        CHECKF(st == BP_OK && err < 5e-3f,
                               "cell %d nrec %d out %d T %d B %d pairing %d: %s, err %g", cell,
                               nrec, out, T, B, pairing, bp_strerror(st), (double)err);
                        CHECK(memcmp(c2, carry, 64 * sizeof *c2) == 0 || out == BP_SEQ_MEAN);
                        net_free(&n);
                    }
}

/* bp_seq_backward's gradient against a central difference taken here, outside
   bp_seq_gradcheck (which could share a mistake with it): a weight of W_hh, whose gradient
   runs through every step. */
static void test_gradient_direct(void) {
    bp_seq_spec s = spec_of(BP_CELL_GRU, 1, BP_SEQ_LAST, 1);
    net n;
    bp_seq_data d = data_of(1, 3, 5, NULL, NULL, 0);
    float up, down, num, g;
    const size_t k = 3 * 4 * NIN + 5;             /* a weight of W_hh */
    CHECK(net_make(&n, &s, 5, 3, 9));
    CHECK(bp_seq_backward(&n.q, &d, 0, 3) > 0.0f);
    g = n.g[k];
    n.p[k] += 1e-2f;
    up = bp_seq_backward(&n.q, &d, 0, 3);
    n.p[k] -= 2e-2f;
    down = bp_seq_backward(&n.q, &d, 0, 3);
    num = (up - down) / 2e-2f;
    CHECKF(fabsf(num) > 1e-4f && fabsf(num - g) < 2e-5f, "num %g grad %g",
           (double)num, (double)g);
    net_free(&n);
}

/* One GRU and one LSTM layer of 2 units over 2 steps, hand-set weights, against the
   documented (PyTorch's) equations computed here in double; the head an identity (linear,
   squared loss), so its outputs are h. */
static double sg(double z) { return 1.0 / (1.0 + exp(-z)); }
static void known_answer(bp_cell cell) {
    const int G = cell == BP_CELL_GRU ? 3 : 4, H = 2, I = 2;
    bp_seq_spec s;
    bp_seq q;
    bp_seq_data d;
    float p[4 * 2 * (2 + 2 + 2) + 6], g[sizeof p / sizeof p[0]], w[4096];
    const float x[4] = {0.5f, -1.0f, 1.5f, 0.25f};          /* two steps of 2 inputs */
    double h[2] = {0, 0}, c[2] = {0, 0};
    const float *y;
    int k, j, t;
    size_t np;
    memset(&s, 0, sizeof s);
    s.cell = cell; s.n_inputs = I; s.n_rec = 1; s.hidden[0] = H; s.out = BP_SEQ_LAST;
    s.n_dense = 1; s.dense[0] = H; s.act[0] = BP_LINEAR; s.loss = BP_LOSS_SQUARED;
    np = bp_seq_params_size(&s);
    CHECK(np == (size_t)(G * H * (I + H + 2) + H * H + H));
    if (bp_seq_init(&q, &s, 2, 1, p, np, g, np, w, sizeof w / sizeof w[0]) != BP_OK) {
        CHECK(0);
        return;
    }
    for (k = 0; k < G * H * (I + H + 2); k++) p[k] = 0.1f * (float)((k * 7) % 11 - 5);
    for (k = 0; k < H * H; k++) p[G * H * (I + H + 2) + k] = k % (H + 1) == 0 ? 1.0f : 0.0f;
    for (k = 0; k < H; k++) p[G * H * (I + H + 2) + H * H + k] = 0.0f;
    memset(&d, 0, sizeof d);
    d.x = x; d.n = 1; d.steps = 2;
    y = bp_seq_forward(&q, &d, 0, 1);
    CHECK(y != NULL);
    for (t = 0; t < 2; t++) {
        const float *Wih = p, *Whh = p + G * H * I, *bih = Whh + G * H * H, *bhh = bih + G * H;
        double gi[8], gh[8], hn[2], cn[2];
        for (k = 0; k < G * H; k++) {
            gi[k] = bih[k];
            gh[k] = bhh[k];
            for (j = 0; j < I; j++) gi[k] += (double)Wih[k * I + j] * x[t * I + j];
            for (j = 0; j < H; j++) gh[k] += (double)Whh[k * H + j] * h[j];
        }
        for (j = 0; j < H; j++) {
            if (cell == BP_CELL_GRU) {                  /* rows r, z, n */
                const double r = sg(gi[j] + gh[j]), z = sg(gi[H + j] + gh[H + j]);
                const double n = tanh(gi[2 * H + j] + r * gh[2 * H + j]);
                hn[j] = (1 - z) * n + z * h[j];
            } else {                                    /* rows i, f, g, o */
                const double i = sg(gi[j] + gh[j]), f = sg(gi[H + j] + gh[H + j]);
                const double gg = tanh(gi[2 * H + j] + gh[2 * H + j]);
                const double o = sg(gi[3 * H + j] + gh[3 * H + j]);
                cn[j] = f * c[j] + i * gg;
                hn[j] = o * tanh(cn[j]);
            }
        }
        for (j = 0; j < H; j++) {
            h[j] = hn[j];
            if (cell == BP_CELL_LSTM) c[j] = cn[j];
        }
    }
    if (y)
        for (j = 0; j < H; j++)
            CHECKF(fabs(y[j] - h[j]) < 1e-6, "cell %d unit %d: %.9g, want %.9g", (int)cell, j,
                   (double)y[j], h[j]);
    CHECK(fabs(h[0]) > 0.05 && fabs(h[1]) > 0.05);       /* not a trivial answer */
}
static void test_known_gru(void) { known_answer(BP_CELL_GRU); }
static void test_known_lstm(void) { known_answer(BP_CELL_LSTM); }

/* The cells' own tanh and sigmoid against libm's double, over the range */
static void test_cell_functions(void) {
    double worst_t = 0.0, worst_s = 0.0;
    float x;
    for (x = -20.0f; x < 20.0f; x += 3.1e-4f) {
        const double t = tanh((double)x), sgm = 1.0 / (1.0 + exp(-(double)x));
        const double et = fabs(bp__tanh(x) - t) / (fabs(t) * FLT_EPSILON + 1e-45);
        const double es = fabs(bp__sigm(x) - sgm) / (sgm * FLT_EPSILON + 1e-38);
        if (et > worst_t) worst_t = et;
        if (es > worst_s) worst_s = es;
    }
    CHECKF(worst_t <= 3.0, "tanh: %g ulps", worst_t);
    CHECKF(worst_s <= 3.0, "sigmoid: %g ulps", worst_s);
    CHECK(bp__tanh(0.0f) == 0.0f && bp__tanh(100.0f) == 1.0f && bp__tanh(-100.0f) == -1.0f);
    CHECK(bp__sigm(-200.0f) >= 0.0f && bp__sigm(-200.0f) < 1e-37f && bp__sigm(200.0f) == 1.0f);
    x = bp__nan();
    CHECK(bp__tanh(x) != bp__tanh(x) && bp__sigm(x) != bp__sigm(x));
}

/* The streamed steps (bp_seq_step over a carry, one sample at a time, through a view over
   const params) give the whole-sequence forward's outputs (a batch of 3) to the bit. */
static void test_stream_same_bits(void) {
    int cell, out;
    for (cell = 0; cell < BP_CELL_COUNT; cell++)
        for (out = 0; out < BP_SEQ_OUT_COUNT; out++) {
            bp_seq_spec s = spec_of((bp_cell)cell, 2, (bp_seq_out)out, 0);
            net n;
            bp_seq v;
            bp_seq_data d = data_of(0, 3, MAXT, NULL, NULL, 0);
            float whole[MAXB * MAXT * 2], *vw, carry[64];
            const float *y;
            size_t nvw = bp_seq_forward_work_size(&s, 1, 1), rows;
            int b, t;
            CHECK(net_make(&n, &s, MAXT, 3, 21));
            y = bp_seq_forward(&n.q, &d, 0, 3);
            rows = out == BP_SEQ_EACH ? 3 * MAXT : 3;
            CHECK(y != NULL);
            if (!y) continue;
            memcpy(whole, y, rows * 2 * sizeof *y);
            vw = garbage(nvw);
            CHECK(nvw < bp_seq_work_size(&s, 1, 1));
            CHECK(bp_seq_init_forward(&v, &s, 1, 1, n.p, n.np, vw, nvw) == BP_OK);
            CHECK(bp_seq_carry_size(&s, 1) <= 64);
            for (b = 0; b < 3; b++) {
                memset(carry, 0, sizeof carry);
                for (t = 0; t < MAXT; t++) {
                    y = bp_seq_step(&v, X + ((size_t)b * MAXT + (size_t)t) * NIN, carry, 64, 1);
                    CHECK(y != NULL);
                    if (!y) break;
                    if (out == BP_SEQ_EACH)
                        CHECKF(memcmp(y, whole + ((size_t)b * MAXT + (size_t)t) * 2, 8) == 0,
                               "cell %d each: sample %d step %d", cell, b, t);
                }
                if (y && out != BP_SEQ_EACH)
                    CHECKF(memcmp(y, whole + (size_t)b * 2, 8) == 0, "cell %d out %d sample %d",
                           cell, out, b);
            }
            /* the view refuses training */
            {
                bp_opt o = bp_opt_sgd(0.1f);
                float e;
                CHECK(bp_seq_train_step(&v, &o, NULL, 0, &d, 0, 1, NULL) == BP_ERR_READONLY);
                CHECK(bp_seq_backward(&v, &d, 0, 1) == -1.0f);
                CHECK(bp_seq_update(&v, &o, NULL, 0) == BP_ERR_READONLY);
                CHECK(bp_seq_randomize(&v, 1) == BP_ERR_READONLY);
                CHECK(bp_seq_gradcheck(&v, &d, 0, 1, 0.0f, &e) == BP_ERR_READONLY);
            }
            free(vw);
            net_free(&n);
        }
}

/* Truncated BPTT's forward: a sequence in two windows, the state carried, ends on the bits
   of the whole; training with a carry writes the state after the window. */
static void test_windows(void) {
    int cell;
    for (cell = 0; cell < BP_CELL_COUNT; cell++) {
        bp_seq_spec s = spec_of((bp_cell)cell, 2, BP_SEQ_MEAN, 0);
        net n;
        float xs[MAXB * MAXT * NIN], carry[128], c0[128], whole[6];
        bp_seq_data d = data_of(0, 3, MAXT, NULL, NULL, 0);
        bp_opt o = bp_opt_sgd(0.1f);
        const float *y;
        int b, t;
        size_t cs = bp_seq_carry_size(&s, 3);
        CHECK(cs <= 128 && net_make(&n, &s, MAXT, 3, 5));
        y = bp_seq_forward(&n.q, &d, 0, 3);
        memcpy(whole, y, sizeof whole);
        memset(carry, 0, sizeof carry);
        for (b = 0; b < 3; b++)                        /* steps 0..3, then 4..6 */
            for (t = 0; t < MAXT; t++)
                memcpy(xs + (t < 4 ? (size_t)b * 4 + (size_t)t
                                   : 12 + (size_t)b * 3 + (size_t)(t - 4)) * NIN,
                       X + ((size_t)b * MAXT + (size_t)t) * NIN, NIN * sizeof *xs);
        d.x = xs; d.steps = 4; d.carry = carry; d.carry_len = 128;
        CHECK(bp_seq_forward(&n.q, &d, 0, 3) != NULL);
        d.x = xs + 12 * NIN; d.steps = 3;
        y = bp_seq_forward(&n.q, &d, 0, 3);
        CHECKF(y && memcmp(y, whole, sizeof whole) == 0, "cell %d", cell);
        /* a train step writes the carry after it (the same as a forward's) and steps */
        memcpy(c0, carry, sizeof c0);
        CHECK(bp_seq_forward(&n.q, &d, 0, 3) != NULL);
        {
            float after[128];
            memcpy(after, carry, sizeof after);
            memcpy(carry, c0, sizeof carry);
            CHECK(bp_seq_train_step(&n.q, &o, NULL, 0, &d, 0, 3, NULL) == BP_OK);
            CHECK(memcmp(after, carry, cs * sizeof *carry) == 0);
            CHECK(memcmp(c0, carry, cs * sizeof *carry) != 0);
        }
        net_free(&n);
    }
}

/* Every optimizer, with and without clipping: bp_seq_train_step is bp_seq_backward +
   bp_seq_update to the bit; clipping bounds the step (plain SGD: ||dw|| = lr clip). */
static void test_optimizers(void) {
    int m;
    for (m = 0; m < 7; m++) {
        bp_seq_spec s = spec_of((bp_cell)(m % 3), 2, BP_SEQ_EACH, m % 3);
        net a, b;
        bp_opt o = bp_opt_sgd(0.05f);
        static const int lens[] = {7, 2, 4};
        bp_seq_data d = data_of(m % 3, 3, MAXT, lens, NULL, 0);
        float *sa, *sb, la = 0.0f, lb;
        size_t ns, i;
        int k;
        switch (m) {
        case 1: o.momentum = 0.9f; break;
        case 2: o.momentum = 0.8f; o.nesterov = 1; o.weight_decay = 1e-3f; break;
        case 3: o = bp_opt_adam(3e-3f); break;
        case 4: o = bp_opt_adam(3e-3f); o.method = BP_ADAMW; o.weight_decay = 0.05f; break;
        case 5: o = bp_opt_adam(1e-3f); o.method = BP_RMSPROP; o.beta2 = 0.99f; o.momentum = 0.5f; break;
        case 6: o.clip = 1e-3f; break;
        default: break;
        }
        CHECK(net_make(&a, &s, MAXT, 3, 8) && net_make(&b, &s, MAXT, 3, 8));
        ns = bp_opt_state_size(&o, a.np);
        sa = (float *)calloc(ns + 1, sizeof *sa);
        sb = (float *)calloc(ns + 1, sizeof *sb);
        for (k = 0; k < 4; k++) {
            float *before = (float *)malloc(a.np * sizeof *before);
            memcpy(before, a.p, a.np * sizeof *before);
            CHECK(bp_seq_train_step(&a.q, &o, sa, ns, &d, 0, 3, &la) == BP_OK);
            lb = bp_seq_backward(&b.q, &d, 0, 3);
            CHECK(bp_seq_update(&b.q, &o, sb, ns) == BP_OK);
            CHECK(la == lb && la > 0.0f);
            if (m == 6) {
                double n2 = 0.0;
                for (i = 0; i < a.np; i++) n2 += (double)(a.p[i] - before[i]) * (a.p[i] - before[i]);
                CHECKF(fabs(sqrt(n2) - 0.05 * 1e-3) < 1e-6, "clipped step %g", sqrt(n2));
            }
            free(before);
        }
        CHECKF(memcmp(a.p, b.p, a.np * sizeof *a.p) == 0, "method %d", m);
        CHECK(ns == 0 || memcmp(sa, sb, ns * sizeof *sa) == 0);
        free(sa);
        free(sb);
        net_free(&a);
        net_free(&b);
    }
}

/* A step that would let a NaN in, or overflow, is refused with params, state and carry bit
   for bit as they were; a NaN past a sample's length is never read. */
static void test_nonfinite(void) {
    bp_seq_spec s = spec_of(BP_CELL_LSTM, 2, BP_SEQ_LAST, 0);
    net n;
    bp_opt o = bp_opt_adam(1e-2f);
    float xs[MAXB * MAXT * NIN], *st, *p0, *s0, carry[64], c0[64];
    static const int lens[] = {7, 3, 5};
    bp_seq_data d = data_of(0, 3, MAXT, lens, carry, 64);
    size_t ns;
    int i;
    CHECK(net_make(&n, &s, MAXT, 3, 4));
    ns = bp_opt_state_size(&o, n.np);
    st = (float *)calloc(ns, sizeof *st);
    p0 = (float *)malloc(n.np * sizeof *p0);
    s0 = (float *)malloc(ns * sizeof *s0);
    for (i = 0; i < 64; i++) carry[i] = 0.1f * (float)(i % 5);
    memcpy(xs, X, sizeof xs);
    d.x = xs;
    CHECK(bp_seq_train_step(&n.q, &o, st, ns, &d, 0, 3, NULL) == BP_OK);   /* state not 0 */
    memcpy(p0, n.p, n.np * sizeof *p0);
    memcpy(s0, st, ns * sizeof *s0);
    memcpy(c0, carry, sizeof c0);
    xs[(1 * MAXT + 2) * NIN + 1] = bp__nan();          /* sample 1, step 2: within length 3 */
    CHECK(bp_seq_train_step(&n.q, &o, st, ns, &d, 0, 3, NULL) == BP_ERR_NONFINITE);
    CHECK(memcmp(p0, n.p, n.np * sizeof *p0) == 0 && memcmp(s0, st, ns * sizeof *s0) == 0);
    CHECK(memcmp(c0, carry, sizeof c0) == 0);
    CHECK(bp_seq_backward(&n.q, &d, 0, 3) != bp_seq_backward(&n.q, &d, 0, 3));   /* NaN */
    xs[(1 * MAXT + 2) * NIN + 1] = 0.5f;
    xs[(1 * MAXT + 4) * NIN + 1] = bp__nan();          /* step 4: past the length */
    xs[(2 * MAXT + 6) * NIN] = 1.0f / 0.0f;            /* sample 2, step 6: past 5 */
    CHECK(bp_seq_train_step(&n.q, &o, st, ns, &d, 0, 3, NULL) == BP_OK);
    for (i = 0; i < (int)n.np; i++) CHECK(n.p[i] - n.p[i] == 0.0f);
    /* a step that would overflow (lr 1e38 times a gradient): refused, nothing changed */
    memcpy(p0, n.p, n.np * sizeof *p0);
    memcpy(s0, st, ns * sizeof *s0);
    memcpy(c0, carry, sizeof c0);
    o = bp_opt_sgd(1e38f);
    CHECK(bp_seq_train_step(&n.q, &o, NULL, 0, &d, 0, 3, NULL) == BP_ERR_NONFINITE);
    CHECK(memcmp(p0, n.p, n.np * sizeof *p0) == 0 && memcmp(c0, carry, sizeof c0) == 0);
    /* a NaN in the carry */
    o = bp_opt_sgd(0.1f);
    carry[3] = bp__nan();
    CHECK(bp_seq_train_step(&n.q, &o, NULL, 0, &d, 0, 3, NULL) == BP_ERR_NONFINITE);
    CHECK(memcmp(p0, n.p, n.np * sizeof *p0) == 0);
    free(st); free(p0); free(s0);
    net_free(&n);
}

/* Bad arguments: a status (or the documented sentinel), nothing written. */
static void test_refusals(void) {
    bp_seq_spec s = spec_of(BP_CELL_GRU, 1, BP_SEQ_EACH, 0), bad;
    net n;
    bp_seq q;
    bp_opt o = bp_opt_sgd(0.1f);
    int lens[3] = {7, 0, 2}, order[3] = {0, 1, 3}, labs[MAXB * MAXT];
    float tg[MAXB * MAXT * 2], *p0, e;
    bp_seq_data d = data_of(0, 3, MAXT, NULL, NULL, 0);
    CHECK(net_make(&n, &s, MAXT, 3, 2));
    p0 = (float *)malloc(n.np * sizeof *p0);
    memcpy(p0, n.p, n.np * sizeof *p0);
    bad = s; bad.cell = BP_CELL_COUNT;
    CHECK(bp_seq_init(&q, &bad, 7, 3, n.p, n.np, n.g, n.np, n.w, n.nw) == BP_ERR_CELL);
    CHECK(bp_seq_params_size(&bad) == 0 && bp_seq_work_size(&bad, 7, 3) == 0);
    bad = s; bad.out = (bp_seq_out)7;
    CHECK(bp_seq_init(&q, &bad, 7, 3, n.p, n.np, n.g, n.np, n.w, n.nw) == BP_ERR_CELL);
    bad = s; bad.hidden[0] = 0;
    CHECK(bp_seq_init(&q, &bad, 7, 3, n.p, n.np, n.g, n.np, n.w, n.nw) == BP_ERR_SIZE);
    bad = s; bad.n_rec = 0;
    CHECK(bp_seq_init(&q, &bad, 7, 3, n.p, n.np, n.g, n.np, n.w, n.nw) == BP_ERR_LAYERS);
    bad = s; bad.act[0] = BP_SOFTMAX;
    CHECK(bp_seq_init(&q, &bad, 7, 3, n.p, n.np, n.g, n.np, n.w, n.nw) == BP_ERR_SOFTMAX_HIDDEN);
    bad = s; bad.hidden[0] = 1 << 27;
    CHECK(bp_seq_params_size(&bad) == 0);
    CHECK(bp_seq_init(&q, &s, 0, 3, n.p, n.np, n.g, n.np, n.w, n.nw) == BP_ERR_STEPS);
    CHECK(bp_seq_init(&q, &s, 7, 0, n.p, n.np, n.g, n.np, n.w, n.nw) == BP_ERR_MAX_BATCH);
    CHECK(bp_seq_init(&q, &s, 7, 3, n.p, n.np - 1, n.g, n.np, n.w, n.nw) == BP_ERR_PARAMS_SHORT);
    CHECK(bp_seq_init(&q, &s, 7, 3, n.p, n.np, n.g, n.np - 1, n.w, n.nw) == BP_ERR_GRADS_SHORT);
    CHECK(bp_seq_init(&q, &s, 7, 3, n.p, n.np, n.g, n.np, n.w, n.nw - 1) == BP_ERR_WORK_SHORT);
    CHECK(bp_seq_init(&q, &s, 8, 3, n.p, n.np, n.g, n.np, n.w, n.nw) == BP_ERR_WORK_SHORT);
    CHECK(bp_seq_init(&q, &s, 7, 3, n.p, n.np, NULL, 0, n.w, n.nw) == BP_ERR_NULL);
    CHECK(bp_seq_init(&q, NULL, 7, 3, n.p, n.np, n.g, n.np, n.w, n.nw) == BP_ERR_NULL);
    d.steps = 8;
    CHECK(bp_seq_train_step(&n.q, &o, NULL, 0, &d, 0, 3, NULL) == BP_ERR_STEPS);
    CHECK(bp_seq_forward(&n.q, &d, 0, 3) == NULL);
    d.steps = MAXT; d.lengths = lens;
    CHECK(bp_seq_train_step(&n.q, &o, NULL, 0, &d, 0, 3, NULL) == BP_ERR_STEPS);
    lens[1] = 8;
    CHECK(bp_seq_train_step(&n.q, &o, NULL, 0, &d, 0, 3, NULL) == BP_ERR_STEPS);
    d.lengths = NULL; d.order = order;
    CHECK(bp_seq_train_step(&n.q, &o, NULL, 0, &d, 0, 3, NULL) == BP_ERR_ORDER);
    d.order = NULL;
    CHECK(bp_seq_train_step(&n.q, &o, NULL, 0, &d, 1, 3, NULL) == BP_ERR_BATCH);
    CHECK(bp_seq_train_step(&n.q, &o, NULL, 0, &d, 0, 4, NULL) == BP_ERR_BATCH);
    memcpy(labs, LAB, sizeof labs);
    labs[5] = 2;                                     /* two classes: 0 and 1 */
    d.labels = labs;
    CHECK(bp_seq_train_step(&n.q, &o, NULL, 0, &d, 0, 3, NULL) == BP_ERR_LABEL);
    CHECK(bp_seq_evaluate(&n.q, &d, NULL, &e) == BP_ERR_LABEL);
    memcpy(tg, TGT, sizeof tg);
    d.labels = NULL; d.target = tg;                  /* softmax: rows must sum to 1 */
    CHECK(bp_seq_train_step(&n.q, &o, NULL, 0, &d, 0, 3, NULL) == BP_ERR_TARGET);
    d.target = NULL;
    CHECK(bp_seq_train_step(&n.q, &o, NULL, 0, &d, 0, 3, NULL) == BP_ERR_NULL);
    d.labels = LAB;
    o.lr = -1.0f;
    CHECK(bp_seq_train_step(&n.q, &o, NULL, 0, &d, 0, 3, NULL) == BP_ERR_OPT);
    o = bp_opt_adam(1e-3f);
    CHECK(bp_seq_train_step(&n.q, &o, NULL, 0, &d, 0, 3, NULL) == BP_ERR_NULL);
    CHECK(bp_seq_step(&n.q, X, NULL, 0, 1) == NULL);
    CHECK(memcmp(p0, n.p, n.np * sizeof *p0) == 0);
    free(p0);
    net_free(&n);
}

/* A carry shorter than bp_seq_carry_size (an LSTM's holds c as well as h: a carry sized for h
   alone is the mistake; examples/order.c once made it, overrunning a stack array) is refused by
   every call that takes one, nothing written; the full length is accepted. */
static void test_carry_short(void) {
    bp_seq_spec s = spec_of(BP_CELL_LSTM, 2, BP_SEQ_LAST, 0);
    net n;
    bp_opt o = bp_opt_sgd(0.1f);
    float cy[256], c0[256], *p0;
    bp_seq_data d = data_of(0, 3, MAXT, NULL, cy, 0);
    const size_t cs = bp_seq_carry_size(&s, 3), c1 = bp_seq_carry_size(&s, 1);
    int i;
    CHECK(net_make(&n, &s, MAXT, 3, 5));
    CHECK(cs == 3 * 2 * (size_t)(s.hidden[0] + s.hidden[1]) && cs <= 256 && c1 == cs / 3);
    p0 = (float *)malloc(n.np * sizeof *p0);
    memcpy(p0, n.p, n.np * sizeof *p0);
    for (i = 0; i < 256; i++) cy[i] = 0.25f;
    memcpy(c0, cy, sizeof c0);
    d.carry_len = cs - 1;
    CHECK(bp_seq_train_step(&n.q, &o, NULL, 0, &d, 0, 3, NULL) == BP_ERR_CARRY_SHORT);
    CHECK(bp_seq_forward(&n.q, &d, 0, 3) == NULL);
    CHECK(bp_seq_backward(&n.q, &d, 0, 3) == -1.0f);
    CHECK(bp_seq_step(&n.q, X, cy, c1 - 1, 1) == NULL);
    CHECK(memcmp(c0, cy, sizeof c0) == 0 && memcmp(p0, n.p, n.np * sizeof *p0) == 0);
    CHECK(bp_seq_step(&n.q, X, cy, c1, 1) != NULL);
    CHECK(memcmp(c0, cy, c1 * sizeof *cy) != 0 && memcmp(c0 + c1, cy + c1, (256 - c1) * sizeof *cy) == 0);
    memcpy(cy, c0, sizeof c0);
    d.carry_len = cs;
    CHECK(bp_seq_train_step(&n.q, &o, NULL, 0, &d, 0, 3, NULL) == BP_OK);
    CHECK(memcmp(c0 + cs, cy + cs, (256 - cs) * sizeof *cy) == 0);
    free(p0);
    net_free(&n);
}

/* evaluate counts the rows that count: every step within the lengths (EACH) */
static void test_evaluate(void) {
    bp_seq_spec s = spec_of(BP_CELL_ELMAN, 1, BP_SEQ_EACH, 0);
    net n;
    static const int lens[] = {7, 1, 3};
    bp_seq_data d = data_of(0, 3, MAXT, lens, NULL, 0);
    float loss, acc, l2, a2;
    const float *y;
    int b, t, right = 0;
    CHECK(net_make(&n, &s, MAXT, 2, 6));                  /* batches of 2: 2 + 1 */
    CHECK(bp_seq_evaluate(&n.q, &d, &loss, &acc) == BP_OK);
    for (b = 0; b < 3; b++) {
        y = bp_seq_forward(&n.q, &d, b, 1);
        for (t = 0; t < lens[b]; t++)
            right += bp_argmax(y + (size_t)t * 2, 2) == LAB[b * MAXT + t];
    }
    CHECKF(acc == (float)right / 11.0f, "accuracy %g, want %d/11", (double)acc, right);
    CHECK(loss > 0.0f);
    d.order = lens;                                        /* ignored by evaluate */
    CHECK(bp_seq_evaluate(&n.q, &d, &l2, &a2) == BP_OK && l2 == loss && a2 == acc);
    net_free(&n);
}

/* The kernels of every level this CPU runs that fuse (AVX2, AVX-512) train to the same
   bits; randomize is deterministic. */
static void test_levels(void) {
    bp_seq_spec s = spec_of(BP_CELL_GRU, 2, BP_SEQ_LAST, 0);
    net a, b;
    bp_opt o = bp_opt_adam(1e-2f);
    bp_seq_data d = data_of(0, 3, MAXT, NULL, NULL, 0);
    float *sa, *sb;
    size_t ns;
    int k;
    s.hidden[0] = 37; s.hidden[1] = 20;
    CHECK(net_make(&a, &s, MAXT, 3, 1) && net_make(&b, &s, MAXT, 3, 1));
    CHECK(memcmp(a.p, b.p, a.np * sizeof *a.p) == 0);
    if (bp_seq_set_level(&a.q, BP_LEVEL_AVX2) != BP_OK
        || bp_seq_set_level(&b.q, BP_LEVEL_AVX512) != BP_OK) {
        printf("     (levels: this CPU or build lacks AVX2 or AVX-512; compared nothing)\n");
        net_free(&a);
        net_free(&b);
        return;
    }
    ns = bp_opt_state_size(&o, a.np);
    sa = (float *)calloc(ns, sizeof *sa);
    sb = (float *)calloc(ns, sizeof *sb);
    for (k = 0; k < 3; k++) {
        CHECK(bp_seq_train_step(&a.q, &o, sa, ns, &d, 0, 3, NULL) == BP_OK);
        CHECK(bp_seq_train_step(&b.q, &o, sb, ns, &d, 0, 3, NULL) == BP_OK);
    }
    CHECK(memcmp(a.p, b.p, a.np * sizeof *a.p) == 0);
    free(sa); free(sb);
    net_free(&a);
    net_free(&b);
}

/* The format's kind 5: a round trip to the bits, the spec peeked, every truncation and
   every flipped bit refused with nothing written, the other kinds and specs refused. */
static void test_format(void) {
    bp_seq_spec s = spec_of(BP_CELL_LSTM, 2, BP_SEQ_EACH, 0), got, other;
    net a, b, c;
    unsigned char *buf, *bad;
    size_t len, i;
    int bit, all_refused = 1;
    bp_net dense;
    const int sz[] = {3, 2};
    const bp_act ac[] = {BP_SIGMOID};
    float dp[8], dg[8], dw[64];
    CHECK(net_make(&a, &s, MAXT, 3, 31) && net_make(&b, &s, MAXT, 3, 32));
    len = bp_seq_save_size(&a.q);
    CHECK(len == 24 + 4 * (4 + 2) + 4 * (2 * 2 + 3) + 4 * a.np + 4);
    buf = (unsigned char *)malloc(len);
    bad = (unsigned char *)malloc(len);
    CHECK(bp_seq_save(&a.q, buf, len - 1) == BP_ERR_BUFFER);
    CHECK(bp_seq_save(&a.q, buf, len) == BP_OK);
    CHECK(bp_seq_peek(buf, len, &got) == BP_OK);
    CHECK(got.cell == s.cell && got.out == s.out && got.n_rec == 2 && got.hidden[1] == 3
          && got.n_inputs == NIN && got.n_dense == 2 && got.dense[1] == 2
          && got.act[1] == BP_SOFTMAX && got.loss == s.loss);
    CHECK(bp_seq_load(&b.q, buf, len) == BP_OK);
    CHECK(memcmp(a.p, b.p, a.np * sizeof *a.p) == 0);
    for (i = 0; i < len; i++) {                    /* every truncation */
        if (bp_seq_load(&b.q, buf, i) == BP_OK) all_refused = 0;
    }
    CHECK(all_refused);
    CHECK(bp_seq_randomize(&b.q, 99) == BP_OK);
    memcpy(b.g, b.p, b.np * sizeof *b.p);          /* what b holds before the refusals */
    for (i = 0; i < len; i++)                      /* every bit flipped */
        for (bit = 0; bit < 8; bit++) {
            memcpy(bad, buf, len);
            bad[i] ^= (unsigned char)(1u << bit);
            if (bp_seq_load(&b.q, bad, len) == BP_OK) all_refused = 0;
        }
    CHECK(all_refused);
    CHECK(memcmp(b.g, b.p, b.np * sizeof *b.p) == 0);
    other = s; other.hidden[1] = 4;                /* another spec: refused */
    CHECK(net_make(&c, &other, MAXT, 3, 1));
    CHECK(bp_seq_load(&c.q, buf, len) == BP_ERR_TOPOLOGY);
    net_free(&c);
    other = s; other.cell = BP_CELL_GRU;
    CHECK(net_make(&c, &other, MAXT, 3, 1));
    CHECK(bp_seq_load(&c.q, buf, len) == BP_ERR_TOPOLOGY);
    net_free(&c);
    /* another kind, each way */
    CHECK(bp_init(&dense, 1, sz, ac, BP_LOSS_SQUARED, 1, dp, 8, dg, 8, dw, 64) == BP_OK);
    CHECK(bp_load(&dense, buf, len) == BP_ERR_KIND);
    {
        unsigned char d[256];
        CHECK(bp_save(&dense, d, sizeof d) == BP_OK);
        CHECK(bp_seq_load(&b.q, d, bp_save_size(&dense)) == BP_ERR_KIND);
        CHECK(bp_seq_peek(d, bp_save_size(&dense), &got) == BP_ERR_KIND);
    }
#ifndef BP_NO_STDIO
    {
        const char *path = "build/test_seq.bpseq";
        CHECK(bp_seq_save_file(&a.q, path) == BP_OK);
        CHECK(bp_seq_peek_file(path, &got) == BP_OK && got.hidden[0] == 4);
        CHECK(bp_seq_load_file(&b.q, path) == BP_OK);
        CHECK(memcmp(a.p, b.p, a.np * sizeof *a.p) == 0);
        remove(path);
    }
#endif
    free(buf);
    free(bad);
    net_free(&a);
    net_free(&b);
}

/* bp_seq_to_c: the spec and the parameters as text (the compiled header runs in
   tests/seq_source.c, built by tests/examples.sh); a bad name or a non-finite weight is
   refused. */
static void test_to_c(void) {
    bp_seq_spec s = spec_of(BP_CELL_GRU, 2, BP_SEQ_LAST, 0);
    net a;
    size_t len = 0;
    char *text;
    CHECK(net_make(&a, &s, 1, 1, 3));
    CHECK(bp_seq_to_c(&a.q, "m", NULL, 0, &len) == BP_ERR_BUFFER && len > 100);
    text = (char *)malloc(len + 1);
    CHECK(bp_seq_to_c(&a.q, "m", text, len + 1, &len) == BP_OK);
    CHECK(strstr(text, "static const bp_seq_spec m_spec = {BP_CELL_GRU, 3, 2, {4, 3}, "
                       "BP_SEQ_LAST, 2, {5, 2}, {BP_TANH, BP_SOFTMAX}, "
                       "BP_LOSS_CROSS_ENTROPY};") != NULL);
    CHECK(strstr(text, "#define m_N_PARAMS ") != NULL && strstr(text, "m_CARRY") != NULL);
    CHECK(bp_seq_to_c(&a.q, "9m", text, len + 1, NULL) == BP_ERR_NAME);
    a.p[7] = bp__nan();
    CHECK(bp_seq_to_c(&a.q, "m", text, len + 1, NULL) == BP_ERR_NONFINITE);
    free(text);
    net_free(&a);
}

/* test_seq --write-c DIR: a trained GRU as DIR/ms.h and DIR/ms.bpseq, for seq_source.c */
static int write_c(const char *dir) {
    bp_seq_spec s = spec_of(BP_CELL_GRU, 2, BP_SEQ_EACH, 0);
    net a;
    char path[512];
    bp_opt o = bp_opt_adam(1e-2f);
    bp_seq_data d = data_of(0, 3, MAXT, NULL, NULL, 0);
    float st[4096] = {0};
    int k;
    make_data();
    if (!net_make(&a, &s, MAXT, 3, 3) || bp_opt_state_size(&o, a.np) > 4096) return 1;
    for (k = 0; k < 20; k++)
        if (bp_seq_train_step(&a.q, &o, st, 4096, &d, 0, 3, NULL) != BP_OK) return 1;
    snprintf(path, sizeof path, "%s/ms.h", dir);
    if (bp_seq_to_c_file(&a.q, "ms", path) != BP_OK) return 1;
    snprintf(path, sizeof path, "%s/ms.bpseq", dir);
    if (bp_seq_save_file(&a.q, path) != BP_OK) return 1;
    net_free(&a);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "--write-c")) return write_c(argv[2]);
    make_data();
    RUN(test_gradcheck_grid);
    RUN(test_gradient_direct);
    RUN(test_known_gru);
    RUN(test_known_lstm);
    RUN(test_cell_functions);
    RUN(test_stream_same_bits);
    RUN(test_windows);
    RUN(test_optimizers);
    RUN(test_nonfinite);
    RUN(test_refusals);
    RUN(test_carry_short);
    RUN(test_evaluate);
    RUN(test_levels);
    RUN(test_format);
    RUN(test_to_c);
    return test_summary();
}
