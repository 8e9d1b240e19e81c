/* Unit and property tests of backprop.h: one program, its tests in one file per part of the
   header (tests/part1_core.c ... part7_format.c; Part 4's are tests/test_seq.c, the
   checkpoints' tests/test_checkpoint.c). This file holds what several parts' tests share,
   then includes them. The closing line is "N passed, M failed". */
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

/* ---- helpers that several parts' tests share -------------------------------------------- */

/* a recurrent net with its arrays, on the heap */
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

#include "part1_core.c"
#include "part2_training.c"
#include "part3_rnet.c"
#include "part5_deploy.c"
#include "part6_kernels.c"
#include "part7_format.c"

int main(void) {
    /* part1_core.c */
    RUN(test_gradients_all_pairings);
    RUN(test_gradcheck_catches_errors);
    RUN(test_known_answer_mazur);
    RUN(test_known_answer_softmax);
    RUN(test_known_answer_relus);
    RUN(test_determinism);
    RUN(test_batch_semantics);
    RUN(test_fused_step_bit_identical);
    RUN(test_training_reduces_loss);
    RUN(test_saturated_cross_entropy);
    RUN(test_activations_extreme);
    RUN(test_extreme_inputs_finite);
    RUN(test_status_paths);
    RUN(test_batch_and_null_paths);
    RUN(test_work_layout);
    /* part2_training.c */
    RUN(test_update_rules);
    RUN(test_optimizers_known_answers);
    RUN(test_rng);
    RUN(test_init_statistics);
    RUN(test_state_alignment);
    RUN(test_train_epoch);
    RUN(test_strerror);
    RUN(test_argmax_and_evaluate);
    RUN(test_nonfinite_pixel);
    RUN(test_update_refuses);
    RUN(test_exploding_lr);
    RUN(test_epoch_stops);
    RUN(test_targets_refused);
    RUN(test_short_arrays);
    RUN(test_bad_arguments);
    RUN(test_shuffled_epoch);
    RUN(test_labels);
    RUN(test_schedules);
    RUN(test_gradcheck_public);
    /* part3_rnet.c */
    RUN(test_rnet_gradients);
    RUN(test_rnet_known_answer);
    RUN(test_rnet_fixed_point);
    RUN(test_rnet_cannot_settle);
    RUN(test_rnet_randomize_settles);
    RUN(test_rnet_status_paths);
    RUN(test_rnet_training);
    RUN(test_rnet_fine_tol);
    /* part5_deploy.c */
    RUN(test_shared_params_threads);
    RUN(test_forward_view);
    RUN(test_int8_against_reference);
    RUN(test_int8_fixture);
    RUN(test_int8_refusals);
    /* part6_kernels.c */
    RUN(test_gemm_against_naive);
    RUN(test_threads_bit_identical);
    /* part7_format.c */
    RUN(test_to_c);
    RUN(test_crc32);
    RUN(test_fixtures);
    RUN(test_save_load_round_trip);
    RUN(test_load_mutations);
    RUN(test_load_statuses);
    RUN(test_file_helpers);
    return test_summary();
}
