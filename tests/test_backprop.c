/* Unit and property tests of backprop.h. One runner; the closing line is "N passed, M failed". */
#define BACKPROP_IMPLEMENTATION
#define BP_ASSERT(c) assert(c)
#include <assert.h>
#include "../backprop.h"
#include "test.h"

#ifdef _OPENMP
#include <omp.h>
#endif
#include <float.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* A float constant or expression as a float. Where FLT_EVAL_METHOD is 1 (s390x in ISO C
   mode: floats are evaluated in double, and so are float constants, C99 5.2.4.2.2, 6.4.4.2),
   0.1f in an expression is the double nearest 0.1, and a float result compared with it
   differs; the cast rounds it to the float the library stores. */
#define F32(x) ((float)(x))

/* A directory made and removed without a shell (the suite runs on Windows too) */
#ifdef _WIN32
#include <direct.h>
static int make_dir(const char *p) { return _mkdir(p); }
static int remove_dir(const char *p) { return _rmdir(p); }
#else
#include <sys/stat.h>
#include <unistd.h>
static int make_dir(const char *p) { return mkdir(p, 0777); }
static int remove_dir(const char *p) { return rmdir(p); }
#endif

/* ---- a net with its arrays, on the heap ------------------------------------------------- */

typedef struct tnet {
    bp_net net;
    float *params, *grads, *work, *vel;   /* vel: optimizer state, ns floats (any method) */
    size_t ns;
} tnet;

static bp_status tnet_make(tnet *t, int n_layers, const int *sizes, const bp_act *acts,
                           bp_loss loss, int max_batch) {
    size_t np = bp_params_size(n_layers, sizes), nw = bp_work_size(n_layers, sizes, max_batch);
    memset(t, 0, sizeof *t);
    t->params = (float *)calloc(np ? np : 1, sizeof(float));
    t->grads = (float *)calloc(np ? np : 1, sizeof(float));
    t->ns = 2 * np + 1;
    t->vel = (float *)calloc(t->ns, sizeof(float));
    t->work = (float *)calloc(nw ? nw : 1, sizeof(float));
    assert(t->params && t->grads && t->vel && t->work);
    return bp_init(&t->net, n_layers, sizes, acts, loss, max_batch, t->params, np, t->grads, np, t->work, nw);
}

static void tnet_free(tnet *t) {
    free(t->params); free(t->grads); free(t->work); free(t->vel);
}

static float urand(bp_rng *r, float lo, float hi) { return lo + (hi - lo) * bp_rng_float(r); }

/* SGD settings: lr, momentum, weight decay, Nesterov (the rest as bp_opt_sgd leaves them). */
static bp_opt sgd(float lr, float momentum, float weight_decay, int nesterov) {
    bp_opt o = bp_opt_sgd(lr);
    o.momentum = momentum;
    o.weight_decay = weight_decay;
    o.nesterov = nesterov;
    return o;
}

static int all_finite(const float *v, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) if (!isfinite(v[i])) return 0;
    return 1;
}

/* The pack area P of the work layout, from the formula in the header's manual. */
static size_t up(size_t x, size_t m) { return (x + m - 1) / m * m; }
static size_t pack_for(size_t N, size_t K) {
    size_t k = K < 256 ? K : 256;
    return (up(N, 32) < 512 ? up(N, 32) : 512) * k;
}
static size_t pack_area(int n_layers, const int *sizes, int batch) {
    size_t most = 0;
    int l;
    for (l = 0; l < n_layers && batch > 1; l++) {
        size_t ni = (size_t)sizes[l], no = (size_t)sizes[l + 1], b = (size_t)batch;
        size_t nf = b < no ? b : no;
        if (pack_for(nf, ni) > most) most = pack_for(nf, ni);             /* forward */
        if (pack_for(ni, b) > most) most = pack_for(ni, b);               /* weight gradient */
        if (l > 0 && pack_for(ni, no) > most) most = pack_for(ni, no);    /* input gradient */
    }
    return most;
}

/* ---- reference forward pass in double, written from the definitions -------------------- */

static double ref_act(bp_act a, double z) {
    switch (a) {
    case BP_LINEAR: return z;
    case BP_SIGMOID: return 1.0 / (1.0 + exp(-z));
    case BP_TANH: return tanh(z);
    case BP_RELU: return z > 0 ? z : 0;
    case BP_LEAKY_RELU: return z > 0 ? z : (double)BP_LEAKY_SLOPE * z;
    default: abort();
    }
}

/* Mean loss over the batch, parameters p in double, per DESIGN.md section 3. */
static double ref_loss(const bp_net *net, const double *p, const float *x, const float *t, int batch) {
    double a[2][64], total = 0;
    int b, l, o, i, k;
    for (b = 0; b < batch; b++) {
        const double *w = p;
        const float *tb = t + b * net->sizes[net->n_layers];
        int cur = 0, n = net->sizes[net->n_layers];
        for (i = 0; i < net->sizes[0]; i++) a[0][i] = x[b * net->sizes[0] + i];
        for (l = 0; l < net->n_layers; l++) {
            int ni = net->sizes[l], no = net->sizes[l + 1];
            for (o = 0; o < no; o++) {
                double z = w[ni * no + o];
                for (i = 0; i < ni; i++) z += w[o * ni + i] * a[cur][i];
                a[1 - cur][o] = z;   /* pre-activation; activated below */
            }
            if (net->act[l] == BP_SOFTMAX) {
                double m = a[1 - cur][0], s = 0;
                for (o = 1; o < no; o++) if (a[1 - cur][o] > m) m = a[1 - cur][o];
                for (o = 0; o < no; o++) s += exp(a[1 - cur][o] - m);
                for (o = 0; o < no; o++) a[1 - cur][o] = exp(a[1 - cur][o] - m) / s;
            } else {
                for (o = 0; o < no; o++) a[1 - cur][o] = ref_act(net->act[l], a[1 - cur][o]);
            }
            w += (ni + 1) * no;
            cur = 1 - cur;
        }
        for (k = 0; k < n; k++) {
            double y = a[cur][k], tk = tb[k];
            if (net->loss == BP_LOSS_SQUARED) total += 0.5 * (y - tk) * (y - tk);
            else if (net->act[net->n_layers - 1] == BP_SOFTMAX) total -= tk * log(y);
            else total -= tk * log(y) + (1 - tk) * log(1 - y);
        }
    }
    return total / batch;
}

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

/* The batched product against a naive double loop, in all three stride patterns the library
   uses, at sizes that are 1, odd, and just past every block and tile edge (MR 4/6, NR 8/16/32,
   KC 256, NC 512); row-major B is read in place, or packed when its row stride is a multiple
   of 64 floats (128). Each output is a float sum of K products taken in order: within
   K * 2^-24 * sum |terms| of the exact value (the classic bound, with room). Threads split C
   by rows and by columns; with OpenMP, 1 to 4 threads: they share the pack area, and N = 513
   has two column blocks; rows-split threads pack together in a minimal pack area and alone
   in a large one; rows split evenly end on 1 to 5 rows, a short kernel's. A rows_done hook
   is given every row once, also when too few rows make the weight-gradient form split its
   columns instead (cols_ok). Every element must be, to the bit, the sum over k in order by
   the level's multiply-add (whatever the kernel, blocking or thread), at every instruction-set
   level the build has and the CPU runs. The fused SGD step on the weight-gradient
   form (the piece hook, bp__piece) must leave W exactly as the stored product followed by
   bp__step row by row does: each piece given to it once, with the stored values. */
/* A rows_done hook that counts the rows it is given (each must come exactly once). */
static int hook_hits[600];
static void count_rows(const bp__mm *g, int i0, int i1) {
    int i;
    (void)g;
    for (i = i0; i < i1; i++) hook_hits[i]++;
}

static void test_gemm_against_naive(void) {
    static const int dims[] = {1, 3, 7, 17, 33, 128, 257, 513};
    const bp_opt opt = sgd(0.25f, 0.5f, 0.01f, 1);
    bp_rng r = bp_rng_seed(6);
    float *A = (float *)malloc(600 * 600 * sizeof(float)), *B = (float *)malloc(600 * 600 * sizeof(float));
    float *C = (float *)malloc(600 * 600 * sizeof(float)), *W[2], *V[2];
    float *pack = (float *)malloc(4 * 512 * 256 * sizeof(float));
    int mi, ni, ki, form, rows, bad = 0, fused_bad = 0, cases = 0, fused = 0, threads, hook_bad = 0;
    int chain_bad = 0, lv;
    /* BP_TEST_QUICK (tests/cross.sh, under emulation): products up to 2M multiply-adds (every
       block edge still met, by some of the cases) */
    const int quick = getenv("BP_TEST_QUICK") != NULL;
    size_t i;
    for (i = 0; i < 2; i++) {
        W[i] = (float *)malloc(600 * 600 * sizeof(float));
        V[i] = (float *)malloc(600 * 600 * sizeof(float));
    }
    for (i = 0; i < 600 * 600; i++) { A[i] = urand(&r, -1, 1); B[i] = urand(&r, -1, 1); }
    for (lv = BP_LEVEL_BASE; lv < BP_LEVEL_COUNT; lv++) {   /* every level this CPU runs */
    const bp__kern *kern = bp__kern_of((bp_level)lv);
    /* the narrower levels (the same loops, another tile and instruction set) with the quick
       sizes and at most 2 threads: the suite's time */
    const int full = lv == (int)bp__best_level() && !quick;
    if (!kern || lv > (int)bp__best_level()) continue;
    printf("     (level %s: tile %d x %d, %s)\n", bp_level_name((bp_level)lv), kern->mr, kern->nr,
           kern->fused ? "fused" : "not fused");
#ifdef _OPENMP
    for (threads = 1; threads <= (full ? 4 : 2); threads++) {
    omp_set_num_threads(threads);
#else
    for (threads = 1; threads <= 1; threads++) {
#endif
    for (mi = 0; mi < 8; mi++)
        for (ni = 0; ni < 8; ni++)
            for (ki = 0; ki < 8; ki++)
                for (form = 0; form < 3; form++)
                for (rows = 0; rows < 2; rows++) {
                    const int M = dims[mi], N = dims[ni], K = dims[ki];
                    /* form 0: A row-major M x K, B(k, n) = W[n][k] (forward)
                       form 1: A(m, k) = D[k][m], B row-major (weight gradient)
                       form 2: both row-major (input gradient) */
                    size_t rsa = form == 1 ? 1 : (size_t)K, csa = form == 1 ? (size_t)M : 1;
                    size_t rsb = form == 0 ? 1 : (size_t)N, csb = form == 0 ? (size_t)K : 1;
                    int m, n, k;
                    bp__mm g;
                    if ((long)M * N * K > (full ? 40000000L : 2000000L) || (mi + ni + ki + form) % 3)
                        continue;
                    cases++;
                    memset(&g, 0, sizeof g);
                    g.k = kern;
                    g.M = M; g.N = N; g.K = K; g.A = A; g.rsa = rsa; g.csa = csa;
                    g.B = B; g.rsb = rsb; g.csb = csb; g.C = C; g.ldc = (size_t)N;
                    g.pack = pack; g.by_rows = rows;
                    g.pack_n = (mi + ki) % 2 ? 4 * 512 * 256 : 0;   /* 0: as little as allowed */
                    if (rows) {
                        g.rows_done = count_rows;
                        g.cols_ok = form == 1;
                        memset(hook_hits, 0, sizeof hook_hits);
                    }
                    bp__gemm(&g);
                    for (m = 0; m < M && rows; m++) hook_bad += hook_hits[m] != 1;
                    for (m = 0; m < M; m++)
                        for (n = 0; n < N; n++) {
                            double exact = 0, mag = 0;
                            float chain = 0.0f;
                            for (k = 0; k < K; k++) {
                                double t = (double)A[m * rsa + k * csa] * B[k * rsb + n * csb];
                                exact += t;
                                mag += fabs(t);
                                chain = BP__FMA_AT(kern->fused, A[m * rsa + k * csa],
                                                   B[k * rsb + n * csb], chain);
                            }
                            if (fabs(C[(size_t)m * N + n] - exact) > K * 6e-8 * mag + 1e-30) bad++;
                            /* and exactly the documented sum: over k in order, by BP__FMA
                               (not with BP_CBLAS: the BLAS sums as it likes) */
#ifndef BP_CBLAS
                            if (C[(size_t)m * N + n] != chain) chain_bad++;
#endif
                        }
                    if (form == 1) {   /* the fused step against the stored product + bp__step
                                          (the fused call leaves partial sums in C) */
                        for (i = 0; i < (size_t)M * N; i++) {
                            W[0][i] = W[1][i] = urand(&r, -1, 1);
                            V[0][i] = V[1][i] = urand(&r, -1, 1);
                        }
                        bp__rule u;
                        bp__grad_ctx gc;
                        bp__rule_of(&u, kern, &opt, V[0], (size_t)M * N);
                        for (m = 0; m < M; m++)
                            kern->step(W[0] + (size_t)m * N, V[0] + (size_t)m * N, 1.0f, C + (size_t)m * N,
                                       (size_t)N, &u, opt.weight_decay);
                        gc.u = &u; gc.W = W[1]; gc.V = V[1]; gc.late = 0;
                        g.piece = 1; g.ctx = &gc;                  /* the backward pass's step hook */
                        bp__gemm(&g);
                        fused++;
                        if (memcmp(W[0], W[1], (size_t)M * N * sizeof(float))
                            || memcmp(V[0], V[1], (size_t)M * N * sizeof(float))) fused_bad++;
                    }
                }
    CHECKF(bad == 0, "%s, %d threads: %d wrong elements", bp_level_name((bp_level)lv), threads, bad);
    CHECKF(chain_bad == 0, "%s, %d threads: %d elements not the k-ordered chain of the level's multiply-add",
           bp_level_name((bp_level)lv), threads, chain_bad);
    CHECKF(fused_bad == 0, "%s, %d threads: %d of %d fused steps differ", bp_level_name((bp_level)lv),
           threads, fused_bad, fused);
    CHECKF(hook_bad == 0, "%s, %d threads: %d rows not given to rows_done exactly once",
           bp_level_name((bp_level)lv), threads, hook_bad);
    }
    }
    CHECKF(cases > (quick ? 30 : 100) && fused > (quick ? 10 : 50), "only %d cases, %d fused", cases, fused);
    free(A); free(B); free(C); free(pack);
    for (i = 0; i < 2; i++) { free(W[i]); free(V[i]); }
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

/* ---- recurrent net ---------------------------------------------------------------------- */

typedef struct trnet {
    bp_rnet net;
    float *params, *grads, *work;
} trnet;

static bp_status trnet_make(trnet *t, int n, int m, int k, bp_act act) {
    size_t np = bp_rnet_params_size(n, m), nw = bp_rnet_work_size(n, m);
    t->params = (float *)calloc(np ? np : 1, sizeof(float));
    t->grads = (float *)calloc(np ? np : 1, sizeof(float));
    t->work = (float *)calloc(nw ? nw : 1, sizeof(float));
    assert(t->params && t->grads && t->work);
    return bp_rnet_init(&t->net, n, m, k, act, t->params, np, t->grads, np, t->work, nw);
}

static void trnet_free(trnet *t) { free(t->params); free(t->grads); free(t->work); }

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

/* ---- refused steps: non-finite values, short arrays, targets, bad arguments --------------- */

/* A copy of a net's params and optimizer state, to compare bit for bit after a refused call. */
typedef struct snap { float *p, *s; size_t np, ns; } snap;
static snap snap_take(const float *p, size_t np, const float *s, size_t ns) {
    snap k;
    k.np = np; k.ns = ns;
    k.p = (float *)malloc((np ? np : 1) * sizeof(float));
    k.s = (float *)malloc((ns ? ns : 1) * sizeof(float));
    memcpy(k.p, p, np * sizeof(float));
    if (ns) memcpy(k.s, s, ns * sizeof(float));
    return k;
}
static int snap_same(const snap *k, const float *p, const float *s) {
    if (memcmp(k->p, p, k->np * sizeof(float)) != 0) return 0;
    return !k->ns || (s && memcmp(k->s, s, k->ns * sizeof(float)) == 0);
}
static void snap_free(snap *k) { free(k->p); free(k->s); }

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

/* ---- saving and loading ----------------------------------------------------------------- */

static unsigned char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    unsigned char *buf;
    long n;
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    buf = (unsigned char *)malloc((size_t)n + 1);
    *len = fread(buf, 1, (size_t)n, f);
    fclose(f);
    return buf;
}

/* CRC-32 check value from the standard's catalogue: crc32("123456789") = 0xCBF43926. */
static void test_crc32(void) {
    CHECK(bp__crc32(0, (const unsigned char *)"123456789", 9) == 0xCBF43926u);
    CHECK(bp__crc32(bp__crc32(0, (const unsigned char *)"1234", 4), (const unsigned char *)"56789", 5) == 0xCBF43926u);
    CHECK(bp__crc32(0, (const unsigned char *)"", 0) == 0);
}

/* The fixtures were written by tests/fixtures/make_fixtures.py from the format's text alone:
   bp_peek/bp_load read them, and bp_save reproduces them byte for byte. */
static void test_fixtures(void) {
    static const int sizes[] = {2, 3, 2};
    static const bp_act acts[] = {BP_TANH, BP_SOFTMAX};
    int nl = 0, got_sizes[BP_MAX_LAYERS + 1], i, n, m, k;
    bp_act got_acts[BP_MAX_LAYERS], act;
    bp_loss loss = BP_LOSS_COUNT;         /* set by bp_peek (GCC -O3 cannot tell) */
    size_t len, blen;
    unsigned char *ff = slurp("tests/fixtures/ff-2-3-2.bpmodel", &len), *out, *be;
    tnet tn;
    trnet rn;
    CHECK(ff != NULL);
    if (!ff) return;
    CHECK(bp_peek(ff, len, &nl, got_sizes, got_acts, &loss) == BP_OK);
    CHECK(nl == 2 && got_sizes[0] == 2 && got_sizes[1] == 3 && got_sizes[2] == 2);
    CHECK(got_acts[0] == BP_TANH && got_acts[1] == BP_SOFTMAX && loss == BP_LOSS_CROSS_ENTROPY);
    CHECK(tnet_make(&tn, 2, sizes, acts, BP_LOSS_CROSS_ENTROPY, 1) == BP_OK);
    CHECK(bp_load(&tn.net, ff, len) == BP_OK);
    for (i = 0; i < 17; i++) CHECK(tn.params[i] == (float)(i - 7) / 8);
    CHECK(bp_save_size(&tn.net) == len);
    out = (unsigned char *)malloc(len);
    CHECK(bp_save(&tn.net, out, len) == BP_OK && memcmp(out, ff, len) == 0);
    /* the big-endian rendering of the same model is not the format */
    be = slurp("tests/fixtures/ff-2-3-2-bigendian.bpmodel", &blen);
    CHECK(be && blen == len && bp_load(&tn.net, be, blen) == BP_ERR_VERSION);
    free(ff); free(out); free(be);
    tnet_free(&tn);

    ff = slurp("tests/fixtures/rnet-3-2-1.bpmodel", &len);
    CHECK(ff != NULL);
    if (!ff) return;
    CHECK(bp_rnet_peek(ff, len, &n, &m, &k, &act) == BP_OK && n == 3 && m == 2 && k == 1 && act == BP_SIGMOID);
    CHECK(bp_peek(ff, len, &nl, NULL, NULL, NULL) == BP_ERR_KIND);
    {
        float dp[18];
        CHECK(bp_load_params(ff, len, dp, 18) == BP_ERR_KIND);
    }
    CHECK(trnet_make(&rn, 3, 2, 1, BP_SIGMOID) == BP_OK);
    rn.net.tau = 1; rn.net.tol = 0.1f; rn.net.max_iters = 5;
    CHECK(bp_rnet_load(&rn.net, ff, len) == BP_OK);
    CHECK(rn.net.tau == 0.5f && rn.net.tol == 1.0f / 65536 && rn.net.max_iters == 1000);
    for (i = 0; i < 18; i++) CHECK(rn.params[i] == (float)(i % 5 - 2) / 4);
    out = (unsigned char *)malloc(len);
    CHECK(bp_rnet_save_size(&rn.net) == len && bp_rnet_save(&rn.net, out, len) == BP_OK && memcmp(out, ff, len) == 0);
    free(ff); free(out);
    trnet_free(&rn);
}

/* Save, load into a fresh net: the same bits, the same outputs. Both kinds. */
static void test_save_load_round_trip(void) {
    static const int sizes[] = {5, 9, 7, 3};
    static const bp_act acts[] = {BP_LEAKY_RELU, BP_SIGMOID, BP_SOFTMAX};
    const float x[] = {0.1f, -0.2f, 0.3f, 0.9f, -1};
    unsigned char *buf;
    size_t len;
    tnet a, b;
    trnet ra, rb;
    const float in[] = {0.5f, -0.25f};
    float ya[3];
    CHECK(tnet_make(&a, 3, sizes, acts, BP_LOSS_CROSS_ENTROPY, 2) == BP_OK);
    CHECK(tnet_make(&b, 3, sizes, acts, BP_LOSS_CROSS_ENTROPY, 1) == BP_OK);   /* max_batch is not saved */
    bp_randomize(&a.net, 31);
    a.params[a.net.n_params - 1] = -0.0f;     /* signs of zero and tiny values survive */
    a.params[0] = 1e-40f;
    len = bp_save_size(&a.net);
    buf = (unsigned char *)malloc(len);
    CHECK(bp_save(&a.net, buf, len) == BP_OK);
    CHECK(bp_load(&b.net, buf, len) == BP_OK);
    CHECK(memcmp(a.params, b.params, a.net.n_params * sizeof(float)) == 0);
    memcpy(ya, bp_forward(&a.net, x, 1), sizeof ya);
    CHECK(memcmp(ya, bp_forward(&b.net, x, 1), sizeof ya) == 0);
    free(buf);
    tnet_free(&a); tnet_free(&b);

    CHECK(trnet_make(&ra, 7, 2, 3, BP_TANH) == BP_OK);
    CHECK(trnet_make(&rb, 7, 2, 3, BP_TANH) == BP_OK);
    bp_rnet_randomize(&ra.net, 4);
    ra.net.tau = 0.75f;
    len = bp_rnet_save_size(&ra.net);
    buf = (unsigned char *)malloc(len);
    CHECK(bp_rnet_save(&ra.net, buf, len) == BP_OK);
    CHECK(bp_rnet_load(&rb.net, buf, len) == BP_OK && rb.net.tau == 0.75f);
    CHECK(memcmp(ra.params, rb.params, ra.net.n_params * sizeof(float)) == 0);
    CHECK(bp_rnet_settle(&ra.net, in) == BP_OK && bp_rnet_settle(&rb.net, in) == BP_OK);
    CHECK(memcmp(bp_rnet_output(&ra.net), bp_rnet_output(&rb.net), 3 * sizeof(float)) == 0);
    CHECK(bp_load(NULL, buf, len) == BP_ERR_NULL);
    free(buf);
    trnet_free(&ra); trnet_free(&rb);
}

/* A valid model, then many deterministic alterations: every truncation, every single-bit flip,
   1..64 appended bytes, every u32 header field rewritten to a set of values (with the checksum
   recomputed, so only the structure checks stand in the way), and topologies that are valid
   but different. bp_load into the original net refuses each one and leaves params untouched. */
static void test_load_mutations(void) {
    static const int sizes[] = {3, 4, 2};
    static const bp_act acts[] = {BP_RELU, BP_SIGMOID};
    static const uint32_t values[] = {0, 1, 2, 3, 5, 6, 17, 255, 0x7fffffffu, 0x80000000u, 0xffffffffu};
    tnet tn;
    unsigned char *good, *bad;
    float *keep;
    size_t len, i, cut;
    int bit, refused = 0, tried = 0;
    unsigned v;
    CHECK(tnet_make(&tn, 2, sizes, acts, BP_LOSS_SQUARED, 1) == BP_OK);
    bp_randomize(&tn.net, 8);
    len = bp_save_size(&tn.net);
    good = (unsigned char *)malloc(len);
    bad = (unsigned char *)malloc(len + 64);
    keep = (float *)malloc(tn.net.n_params * sizeof(float));
    CHECK(bp_save(&tn.net, good, len) == BP_OK);
    memcpy(keep, tn.params, tn.net.n_params * sizeof(float));
    for (i = 0; i < tn.net.n_params; i++) tn.params[i] = 42;    /* sentinel */
#define EXPECT_REFUSED(buf, n)                                                           \
    do {                                                                                 \
        bp_status st_ = bp_load(&tn.net, (buf), (n));                                    \
        tried++;                                                                         \
        if (st_ != BP_OK) refused++;                                                     \
        else fprintf(stderr, "accepted an altered model (length %zu)\n", (size_t)(n));   \
    } while (0)
    for (cut = 0; cut < len; cut++) {                  /* truncations, in an exact-size copy */
        unsigned char *t = (unsigned char *)malloc(cut ? cut : 1);
        memcpy(t, good, cut);
        EXPECT_REFUSED(t, cut);
        CHECK(bp_load(&tn.net, t, cut) == BP_ERR_TRUNCATED);
        free(t);
    }
    for (i = 0; i < len; i++)                           /* bit flips */
        for (bit = 0; bit < 8; bit++) {
            memcpy(bad, good, len);
            bad[i] ^= (unsigned char)(1 << bit);
            EXPECT_REFUSED(bad, len);
        }
    for (cut = 1; cut <= 64; cut++) {                   /* appended bytes */
        memcpy(bad, good, len);
        memset(bad + len, 0, cut);
        EXPECT_REFUSED(bad, len + cut);
        CHECK(bp_load(&tn.net, bad, len + cut) == BP_ERR_TRAILING);
    }
    for (i = 8; i + 4 <= len - 4 && i < 24 + 4 * 7; i += 4)   /* header fields, CRC made valid */
        for (v = 0; v < sizeof values / sizeof values[0]; v++) {
            memcpy(bad, good, len);
            if (bp__get32(bad + i) == values[v]) continue;
            bp__put32(bad + i, values[v]);
            bp__put32(bad + len - 4, bp__crc32(0, bad, len - 4));
            EXPECT_REFUSED(bad, len);
        }
    /* a stored length that agrees with the buffer but not with the topology */
    memcpy(bad, good, len);
    memset(bad + len, 0, 4);
    bp__put32(bad + 16, (uint32_t)(len + 4));
    bp__put32(bad + len, bp__crc32(0, bad, len));
    CHECK(bp_load(&tn.net, bad, len + 4) == BP_ERR_CORRUPT);
    CHECKF(refused == tried, "%d of %d altered models refused", refused, tried);
    printf("     %d altered models, all refused: %s\n", tried, refused == tried ? "yes" : "no");
    for (i = 0; i < tn.net.n_params; i++) CHECK(tn.params[i] == 42);
    CHECK(bp_load(&tn.net, good, len) == BP_OK);                 /* and the original loads */
    CHECK(memcmp(keep, tn.params, tn.net.n_params * sizeof(float)) == 0);
#undef EXPECT_REFUSED
    free(good); free(bad); free(keep);
    tnet_free(&tn);
}

/* The specific statuses, one cause each. */
static void test_load_statuses(void) {
    static const int sizes[] = {2, 2}, other[] = {2, 3};
    static const bp_act acts[] = {BP_SIGMOID};
    tnet tn, tn2;
    trnet rn;
    unsigned char buf[128], small[8];
    size_t len;
    CHECK(tnet_make(&tn, 1, sizes, acts, BP_LOSS_SQUARED, 1) == BP_OK);
    CHECK(tnet_make(&tn2, 1, other, acts, BP_LOSS_SQUARED, 1) == BP_OK);
    len = bp_save_size(&tn.net);
    CHECK(len == 24 + 4 * 5 + 4 * 6 + 4);
    memset(small, 0xAB, sizeof small);
    CHECK(bp_save(&tn.net, small, 7) == BP_ERR_BUFFER);
    CHECK(small[0] == 0xAB);                                      /* nothing written */
    CHECK(bp_save(&tn.net, NULL, 100) == BP_ERR_NULL && bp_save(NULL, buf, 100) == BP_ERR_NULL);
    CHECK(bp_save_size(NULL) == 0);
    CHECK(bp_save(&tn.net, buf, sizeof buf) == BP_OK);
    CHECK(bp_load(&tn2.net, buf, len) == BP_ERR_TOPOLOGY);
    CHECK(bp_load(&tn.net, NULL, len) == BP_ERR_NULL);
    CHECK(bp_load(&tn.net, buf, 0) == BP_ERR_TRUNCATED);
    CHECK(bp_load(&tn.net, "BPRO", 4) == BP_ERR_TRUNCATED);      /* a prefix of the magic */
    CHECK(bp_load(&tn.net, "PK\3\4", 4) == BP_ERR_BAD_MAGIC);
    buf[0] = 'b';
    CHECK(bp_load(&tn.net, buf, len) == BP_ERR_BAD_MAGIC);
    buf[0] = 'B';
    bp__put32(buf + 8, 2);
    CHECK(bp_load(&tn.net, buf, len) == BP_ERR_VERSION);
    bp__put32(buf + 8, 1);
    buf[40] ^= 1;
    CHECK(bp_load(&tn.net, buf, len) == BP_ERR_CHECKSUM);
    buf[40] ^= 1;
    buf[24] ^= 0x40;          /* n_layers 1 -> 65: in a buffer, damage reads as a checksum error */
    CHECK(bp_load(&tn.net, buf, len) == BP_ERR_CHECKSUM);
    buf[24] ^= 0x40;
    CHECK(bp_load(&tn.net, buf, len) == BP_OK);
    CHECK(trnet_make(&rn, 2, 0, 1, BP_TANH) == BP_OK);
    CHECK(bp_rnet_load(&rn.net, buf, len) == BP_ERR_KIND);
    CHECK(bp_rnet_save(&rn.net, buf, 5) == BP_ERR_BUFFER);
    CHECK(bp_rnet_save(&rn.net, buf, sizeof buf) == BP_OK);
    CHECK(bp_load(&tn.net, buf, bp_rnet_save_size(&rn.net)) == BP_ERR_KIND);
    trnet_free(&rn);
    tnet_free(&tn); tnet_free(&tn2);
}

static void test_file_helpers(void) {
    static const int sizes[] = {4, 6, 3};
    static const bp_act acts[] = {BP_TANH, BP_SOFTMAX};
    const char *path = "build/test_model.bpmodel";
    int nl, sz[BP_MAX_LAYERS + 1];
    tnet a, b;
    trnet ra, rb;
    size_t len = 0;
    unsigned char *bytes;
    FILE *f;
    CHECK(tnet_make(&a, 2, sizes, acts, BP_LOSS_CROSS_ENTROPY, 1) == BP_OK);
    CHECK(tnet_make(&b, 2, sizes, acts, BP_LOSS_CROSS_ENTROPY, 1) == BP_OK);
    bp_randomize(&a.net, 3);
    remove(path);
    CHECK(bp_save_file(&a.net, path) == BP_OK);
    CHECK((f = fopen("build/test_model.bpmodel.tmp", "rb")) == NULL);   /* renamed away */
    if (f) fclose(f);
    bytes = slurp(path, &len);                                          /* the same bytes as bp_save */
    CHECK(bytes && len == bp_save_size(&a.net));
    {
        unsigned char *mem = (unsigned char *)malloc(len);
        CHECK(bp_save(&a.net, mem, len) == BP_OK && memcmp(mem, bytes, len) == 0);
        free(mem);
    }
    CHECK(bp_peek_file(path, &nl, sz, NULL, NULL) == BP_OK && nl == 2 && sz[1] == 6);
    CHECK(bp_load_file(&b.net, path) == BP_OK);
    CHECK(memcmp(a.params, b.params, a.net.n_params * sizeof(float)) == 0);
    /* damaged files: truncated, trailing bytes, a flipped bit; params stay as they were */
    f = fopen("build/test_model_cut.bpmodel", "wb"); fwrite(bytes, 1, len - 3, f); fclose(f);
    CHECK(bp_load_file(&b.net, "build/test_model_cut.bpmodel") == BP_ERR_TRUNCATED);
    f = fopen("build/test_model_long.bpmodel", "wb"); fwrite(bytes, 1, len, f); fputc(0, f); fclose(f);
    CHECK(bp_load_file(&b.net, "build/test_model_long.bpmodel") == BP_ERR_TRAILING);
    bytes[len / 2] ^= 4;
    f = fopen("build/test_model_flip.bpmodel", "wb"); fwrite(bytes, 1, len, f); fclose(f);
    CHECK(bp_load_file(&b.net, "build/test_model_flip.bpmodel") == BP_ERR_CHECKSUM);
    CHECK(memcmp(a.params, b.params, a.net.n_params * sizeof(float)) == 0);
    CHECK(bp_load_file(&b.net, "build/no such model") == BP_ERR_IO);
    CHECK(bp_save_file(&a.net, "build/no such dir/model") == BP_ERR_IO);
    /* a failed save leaves the previous file whole: make the temporary name unusable */
    bp_randomize(&b.net, 4);
    remove("build/test_model.bpmodel.tmp");
    CHECK(make_dir("build/test_model.bpmodel.tmp") == 0);
    CHECK(bp_save_file(&b.net, path) == BP_ERR_IO);
    CHECK(bp_load_file(&b.net, path) == BP_OK);
    CHECK(memcmp(a.params, b.params, a.net.n_params * sizeof(float)) == 0);
    CHECK(remove_dir("build/test_model.bpmodel.tmp") == 0);
    free(bytes);
    /* recurrent */
    CHECK(trnet_make(&ra, 5, 1, 2, BP_SIGMOID) == BP_OK);
    CHECK(trnet_make(&rb, 5, 1, 2, BP_SIGMOID) == BP_OK);
    bp_rnet_randomize(&ra.net, 9);
    ra.net.max_iters = 77;
    CHECK(bp_rnet_save_file(&ra.net, "build/test_rnet.bpmodel") == BP_OK);
    CHECK(bp_rnet_load_file(&rb.net, "build/test_rnet.bpmodel") == BP_OK && rb.net.max_iters == 77);
    CHECK(memcmp(ra.params, rb.params, ra.net.n_params * sizeof(float)) == 0);
    CHECK(bp_load_file(&a.net, "build/test_rnet.bpmodel") == BP_ERR_KIND);
    CHECK(bp_rnet_load_file(&rb.net, path) == BP_ERR_KIND);
    trnet_free(&ra); trnet_free(&rb);
    tnet_free(&a); tnet_free(&b);
}

/* With OpenMP the batched products split their rows or columns across threads; every element
   keeps one thread and one order of additions, so 1 to 4 threads train to the same bits. In
   the first net a layer wider than a column block (530 > NC) makes the threads reuse the pack
   area; the 10-unit output layer's products are big enough to split (batch 64 x 128 inputs):
   its forward pass by samples, finished row by row, its weight gradient by columns. In the
   second, the 256-unit layer's activations (a row stride of 256 floats) are packed for the
   next weight gradient, which is then split by columns where the panels divide evenly. In the
   third the output layer is the widest and not narrow (its forward product split by
   columns). The losses each step returns must agree to the bit too. */
static void test_threads_bit_identical(void) {
#ifdef _OPENMP
    static const int nets[3][4] = {{300, 530, 128, 10}, {200, 256, 128, 10}, {300, 100, 64, 100}};
    static const bp_act acts[] = {BP_RELU, BP_TANH, BP_SOFTMAX};
    const bp_opt opt = sgd(0.05f, 0.9f, 1e-4f, 0);
    float *x = (float *)malloc(64 * 300 * sizeof(float)), *t = (float *)calloc(64 * 100, sizeof(float));
    float *first = NULL, loss[4], first_loss[4];
    bp_rng r = bp_rng_seed(14);
    int net, threads, step, i;
    for (i = 0; i < 64 * 300; i++) x[i] = urand(&r, -1, 1);
    for (net = 0; net < 3; net++) {
        const int nout = nets[net][3];
        for (i = 0; i < 64 * nout; i++) t[i] = 0.0f;
        for (i = 0; i < 64; i++) t[i * nout + i % nout] = 1;
        for (threads = 1; threads <= 4; threads++) {
            tnet tn;
            omp_set_num_threads(threads);
            CHECK(tnet_make(&tn, 3, nets[net], acts, BP_LOSS_CROSS_ENTROPY, 64) == BP_OK);
            bp_randomize(&tn.net, 14);
            for (step = 0; step < 4; step++) CHECK(bp_train_step(&tn.net, &opt, tn.vel, tn.net.n_params, x, t, 64, &loss[step]) == BP_OK);
            if (threads == 1) {
                free(first);
                first = (float *)malloc(tn.net.n_params * sizeof(float));
                memcpy(first, tn.params, tn.net.n_params * sizeof(float));
                memcpy(first_loss, loss, sizeof loss);
            } else {
                CHECKF(memcmp(first, tn.params, tn.net.n_params * sizeof(float)) == 0, "net %d: %d threads differ",
                       net, threads);
                CHECKF(memcmp(first_loss, loss, sizeof loss) == 0, "net %d: %d threads, losses differ", net, threads);
            }
            tnet_free(&tn);
        }
    }
    printf("     trained with 1, 2, 3 and 4 OpenMP threads (%d available)\n", omp_get_num_procs());
    free(first); free(x); free(t);
#else
    printf("     skip: built without OpenMP (the -fopenmp build in make test runs it)\n");
#endif
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

/* bp_to_c and bp_qto_c: the text read back (strtof reads the hexadecimal constants exactly,
   strtol the integers) gives every parameter's bits; the buffer protocol (cap 0 asks the
   length, a buffer one byte short is refused, NUL-terminated otherwise); bad names and
   non-finite parameters refused. The compiled header is tests/c_source.c's business. */
static void test_to_c(void) {
    static const int sizes[] = {3, 5, 2};
    static const bp_act acts[] = {BP_SIGMOID, BP_SOFTMAX};
    float x[20 * 3];
    tnet tn;
    tqnet tq;
    size_t len = 0, len2 = 0, i;
    char *text, *p;
    bp_rng r = bp_rng_seed(6);
    for (i = 0; i < 60; i++) x[i] = urand(&r, -2, 2);
    CHECK(tnet_make(&tn, 2, sizes, acts, BP_LOSS_CROSS_ENTROPY, 1) == BP_OK);
    bp_randomize(&tn.net, 11);
    tn.params[0] = 0.0f; tn.params[1] = -0.0f; tn.params[2] = 1e-45f;      /* the edge cases */
    tn.params[3] = -FLT_MAX; tn.params[4] = 1.17549435e-38f; tn.params[5] = 1.0f;
    CHECK(bp_to_c(&tn.net, "net", NULL, 0, &len) == BP_ERR_BUFFER && len > 0);
    text = (char *)malloc(len + 1);
    CHECK(bp_to_c(&tn.net, "net", text, len, &len2) == BP_ERR_BUFFER && len2 == len);
    CHECK(bp_to_c(&tn.net, "net", text, len + 1, NULL) == BP_OK && strlen(text) == len);
    CHECK(strstr(text, "#define net_N_LAYERS 2\n") && strstr(text, "net_sizes[net_N_LAYERS + 1] = {3, 5, 2};")
          && strstr(text, "{BP_SIGMOID, BP_SOFTMAX};") && strstr(text, "#define net_LOSS BP_LOSS_CROSS_ENTROPY"));
    p = strstr(text, "net_params[net_N_PARAMS] = {");
    CHECK(p != NULL);
    if (p) {
        p = strchr(p, '{') + 1;
        for (i = 0; i < tn.net.n_params; i++) {
            char *end;
            const float f = strtof(p, &end);
            CHECKF(end != p && memcmp(&f, &tn.params[i], 4) == 0, "parameter %lu", (unsigned long)i);
            p = end;
            while (*p == 'f' || *p == ',' || *p == ' ' || *p == '\n') p++;
        }
        CHECK(*p == '}');
    }
    free(text);
    CHECK(bp_to_c(&tn.net, "9net", NULL, 0, &len) == BP_ERR_NAME);
    CHECK(bp_to_c(&tn.net, "", NULL, 0, &len) == BP_ERR_NAME);
    CHECK(bp_to_c(&tn.net, "a-b", NULL, 0, &len) == BP_ERR_NAME);
    CHECK(bp_to_c(&tn.net, NULL, NULL, 0, &len) == BP_ERR_NULL);
    tn.params[7] = INFINITY;
    CHECK(bp_to_c(&tn.net, "net", NULL, 0, &len) == BP_ERR_NONFINITE);
    bp_randomize(&tn.net, 11);
    CHECK(tqnet_make(&tq, &tn.net, x, 20) == BP_OK);
    CHECK(bp_qto_c(&tq.qn, "q_net", NULL, 0, &len) == BP_ERR_BUFFER);
    text = (char *)malloc(len + 1);
    CHECK(bp_qto_c(&tq.qn, "q_net", text, len + 1, NULL) == BP_OK);
    p = strstr(text, "q_net_q[q_net_N_Q] = {");
    CHECK(p != NULL && strstr(text, "q_net_weights[q_net_N_WEIGHTS] = {") != NULL);
    if (p) {
        p = strchr(p, '{') + 1;
        for (i = 0; i < tq.nq; i++) {
            char *end;
            long v = strtol(p, &end, 10);
            if (end == p && *p == '(') v = INT32_MIN, end = strchr(p, ')') + 1;   /* INT32_MIN */
            CHECKF(end != p && v == tq.q[i], "q word %lu", (unsigned long)i);
            p = end;
            while (*p == ',' || *p == ' ' || *p == '\n') p++;
        }
        CHECK(*p == '}');
    }
    free(text);
    tqnet_free(&tq);
    tnet_free(&tn);
}

int main(void) {
    RUN(test_gradients_all_pairings);
    RUN(test_gradcheck_catches_errors);
    RUN(test_known_answer_mazur);
    RUN(test_known_answer_softmax);
    RUN(test_known_answer_relus);
    RUN(test_update_rules);
    RUN(test_optimizers_known_answers);
    RUN(test_rng);
    RUN(test_gemm_against_naive);
    RUN(test_threads_bit_identical);
    RUN(test_determinism);
    RUN(test_init_statistics);
    RUN(test_batch_semantics);
    RUN(test_fused_step_bit_identical);
    RUN(test_state_alignment);
    RUN(test_train_epoch);
    RUN(test_training_reduces_loss);
    RUN(test_saturated_cross_entropy);
    RUN(test_activations_extreme);
    RUN(test_extreme_inputs_finite);
    RUN(test_status_paths);
    RUN(test_batch_and_null_paths);
    RUN(test_strerror);
    RUN(test_argmax_and_evaluate);
    RUN(test_shared_params_threads);
    RUN(test_work_layout);
    RUN(test_rnet_gradients);
    RUN(test_rnet_known_answer);
    RUN(test_rnet_fixed_point);
    RUN(test_rnet_cannot_settle);
    RUN(test_rnet_randomize_settles);
    RUN(test_rnet_status_paths);
    RUN(test_rnet_training);
    RUN(test_nonfinite_pixel);
    RUN(test_update_refuses);
    RUN(test_exploding_lr);
    RUN(test_epoch_stops);
    RUN(test_targets_refused);
    RUN(test_short_arrays);
    RUN(test_bad_arguments);
    RUN(test_shuffled_epoch);
    RUN(test_labels);
    RUN(test_forward_view);
    RUN(test_int8_against_reference);
    RUN(test_int8_fixture);
    RUN(test_int8_refusals);
    RUN(test_to_c);
    RUN(test_schedules);
    RUN(test_gradcheck_public);
    RUN(test_rnet_fine_tol);
    RUN(test_crc32);
    RUN(test_fixtures);
    RUN(test_save_load_round_trip);
    RUN(test_load_mutations);
    RUN(test_load_statuses);
    RUN(test_file_helpers);
    return test_summary();
}
