/* Built without libm, <math.h> and <stdio.h> (BP_NO_STDIO; with -DOLD_SPELLING, 0.2.0's
   BACKPROP_NO_STDIO, which still works until 0.3): every libm and libc function the core uses
   comes through a hook. Linked without -lm; the hooks count their calls. */
#include <stddef.h>

static int calls_exp, calls_log, calls_tanh, calls_sqrt, calls_memset, calls_memcpy;

static float my_exp(float x) {   /* a crude e^x, enough to run: (1 + x/1024)^1024 */
    float y = 1.0f + x / 1024.0f;
    int i;
    calls_exp++;
    if (y <= 0.0f) return 0.0f;
    for (i = 0; i < 10; i++) y *= y;
    return y;
}
static float my_log(float x) {   /* Newton on e^y = x */
    float y = 0.0f;
    int i;
    calls_log++;
    for (i = 0; i < 60; i++) y -= 1.0f - x / my_exp(y);
    return y;
}
static float my_tanh(float x) { float e; calls_tanh++; e = my_exp(-2.0f * (x < 0 ? -x : x)); e = (1 - e) / (1 + e); return x < 0 ? -e : e; }
static float my_sqrt(float x) { float y = x > 1 ? x : 1; int i; calls_sqrt++; for (i = 0; i < 40; i++) y = 0.5f * (y + x / y); return y; }
static void *my_memset(void *p, int c, size_t n) { unsigned char *q = (unsigned char *)p; calls_memset++; while (n--) *q++ = (unsigned char)c; return p; }
static void *my_memcpy(void *d, const void *s, size_t n) { unsigned char *q = (unsigned char *)d; const unsigned char *r = (const unsigned char *)s; calls_memcpy++; while (n--) *q++ = *r++; return d; }

#define BP_EXPF my_exp
#define BP_LOGF my_log
#define BP_TANHF my_tanh
#define BP_SQRTF my_sqrt
#define BP_MEMSET my_memset
#define BP_MEMCPY my_memcpy
#ifdef OLD_SPELLING
#define BACKPROP_NO_STDIO
#else
#define BP_NO_STDIO
#endif
#define BACKPROP_IMPLEMENTATION
#include "../../backprop.h"

#ifdef HUGE_VAL
#error "<math.h> was included although every libm hook is defined"
#endif
#ifdef EOF
#error "<stdio.h> was included under BP_NO_STDIO"
#endif

int main(void) {
    static const int sizes[] = {2, 3, 3, 2};
    static const bp_act acts[] = {BP_TANH, BP_LINEAR, BP_SOFTMAX};
    static const float x[] = {1, -1}, t[] = {0, 1}, x3[] = {1, -1, 0.5f};
    float params[29], grads[29], work[23];  /* bp_params_size, bp_work_size */
    bp_opt opt = bp_opt_sgd(0.1f);
    bp_net net;
    float loss;
    if (bp_params_size(3, sizes) != 29 || bp_work_size(3, sizes, 1) != 23) return 5;
    if (bp_init(&net, 3, sizes, acts, BP_LOSS_CROSS_ENTROPY, 1, params, 29, grads, 29, work, 23) != BP_OK) return 1;
    bp_randomize(&net, 1);
    if (bp_train_step(&net, &opt, NULL, 0, x, t, 1, &loss) != BP_OK) return 2;
    if (!(loss > 0.0f)) return 3;
    /* a linear output layer copies its pre-activations: the memcpy hook */
    if (bp_init(&net, 1, sizes + 2, acts + 1, BP_LOSS_SQUARED, 1, params, 29, grads, 29, work, 23) != BP_OK) return 6;
    if (!bp_forward(&net, x3, 1)) return 7;
    {   /* saving and loading need no stdio either */
        unsigned char model[200];
        if (bp_save_size(&net) > sizeof model || bp_save(&net, model, sizeof model) != BP_OK) return 8;
        if (bp_load(&net, model, bp_save_size(&net)) != BP_OK) return 9;
    }
    return calls_exp && calls_log && calls_tanh && calls_sqrt && calls_memset && calls_memcpy ? 0 : 4;
}
