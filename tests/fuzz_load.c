/* libFuzzer harness over the model reader: bp_peek + bp_load, bp_rnet_peek + bp_rnet_load,
   bp_qpeek + bp_qload (kind 3, int8), whose accepted nets also run bp_qforward once, and
   bp_checkpoint_peek + bp_checkpoint_load (kind 4, a training checkpoint), and
   bp_seq_peek + bp_seq_load (kind 5, a sequence net), whose accepted nets also stream a step.
   Build and run: make fuzz (FUZZ_SECONDS=60 by default), with
   clang -fsanitize=fuzzer,address,undefined. Besides "no crash, no read outside the buffer",
   it checks a property: whatever the reader accepts loads into a net of the reported topology
   and saves back to the very same bytes. (It calls two private helpers, bp__put32 and
   bp__crc32, to repair lengths and checksums; see below.) */
#define BACKPROP_IMPLEMENTATION
#include "../backprop.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SMALL (1u << 20)    /* nets the harness is willing to allocate, in floats */

static void check_feed_forward(const uint8_t *data, size_t size) {
    int nl, sizes[BP_MAX_LAYERS + 1];
    bp_act acts[BP_MAX_LAYERS];
    bp_loss loss;
    size_t np, nw;
    float *p, *g, *w;
    unsigned char *out;
    bp_net net;
    if (bp_peek(data, size, &nl, sizes, acts, &loss) != BP_OK) return;
    np = bp_params_size(nl, sizes);
    nw = bp_work_size(nl, sizes, 1);
    if (np == 0 || nw == 0 || np > SMALL || nw > SMALL) return;
    p = (float *)malloc(np * sizeof *p); g = (float *)malloc(np * sizeof *g); w = (float *)malloc(nw * sizeof *w);
    out = (unsigned char *)malloc(size);
    if (bp_init(&net, nl, sizes, acts, loss, 1, p, np, g, np, w, nw) != BP_OK) abort();  /* peek said it is valid */
    if (bp_load(&net, data, size) != BP_OK) abort();
    if (bp_checkpoint_peek(data, size, NULL, NULL, NULL, NULL, NULL) != BP_OK     /* kind 1 */
        && (bp_save_size(&net) != size || bp_save(&net, out, size) != BP_OK || memcmp(out, data, size) != 0))
        abort();
    free(p); free(g); free(w); free(out);
}

static void check_checkpoint(const uint8_t *data, size_t size) {
    int nl, sizes[BP_MAX_LAYERS + 1];
    bp_act acts[BP_MAX_LAYERS];
    bp_loss loss;
    bp_checkpoint c;
    size_t np, nw, ns;
    float *p, *g, *w;
    unsigned char *out;
    bp_net net;
    if (bp_checkpoint_peek(data, size, &nl, sizes, acts, &loss, &c) != BP_OK) return;
    np = bp_params_size(nl, sizes);
    nw = bp_work_size(nl, sizes, 1);
    ns = bp_opt_state_size(&c.opt, np);
    if (np == 0 || nw == 0 || np > SMALL || nw > SMALL || ns > 2 * SMALL + 1 || c.n_extra > SMALL) return;
    p = (float *)malloc(np * sizeof *p); g = (float *)malloc(np * sizeof *g); w = (float *)malloc(nw * sizeof *w);
    c.state = (float *)malloc((ns ? ns : 1) * sizeof(float));
    c.state_len = ns;
    c.extra = (float *)malloc((c.n_extra ? c.n_extra : 1) * sizeof(float));
    out = (unsigned char *)malloc(size);
    if (bp_init(&net, nl, sizes, acts, loss, 1, p, np, g, np, w, nw) != BP_OK) abort();  /* peek said it is valid */
    c.opt.lr = 1.0f;                                                  /* lr is not compared */
    if (bp_checkpoint_load(&net, &c, data, size) != BP_OK) abort();
    if (bp_checkpoint_size(&net, &c) != size || bp_checkpoint_save(&net, &c, out, size) != BP_OK
        || memcmp(out, data, size) != 0) abort();
    free(p); free(g); free(w); free(c.state); free(c.extra); free(out);
}

static void check_recurrent(const uint8_t *data, size_t size) {
    int n, m, k;
    bp_act act;
    size_t np, nw;
    float *p, *g, *w;
    unsigned char *out;
    bp_rnet net;
    if (bp_rnet_peek(data, size, &n, &m, &k, &act) != BP_OK) return;
    np = bp_rnet_params_size(n, m);
    nw = bp_rnet_work_size(n, m);
    if (np == 0 || nw == 0 || np > SMALL || nw > SMALL) return;
    p = (float *)malloc(np * sizeof *p); g = (float *)malloc(np * sizeof *g); w = (float *)malloc(nw * sizeof *w);
    out = (unsigned char *)malloc(size);
    if (bp_rnet_init(&net, n, m, k, act, p, np, g, np, w, nw) != BP_OK) abort();
    if (bp_rnet_load(&net, data, size) != BP_OK) abort();
    if (bp_rnet_save_size(&net) != size || bp_rnet_save(&net, out, size) != BP_OK || memcmp(out, data, size) != 0) abort();
    free(p); free(g); free(w); free(out);
}

static void check_int8(const uint8_t *data, size_t size) {
    int nl, sizes[BP_MAX_LAYERS + 1], i;
    bp_act acts[BP_MAX_LAYERS];
    bp_loss loss;
    size_t nw, nq, nk;
    int8_t *w, *k;
    int32_t *q;
    float *x, *y;
    unsigned char *out;
    bp_qnet qn;
    if (bp_qpeek(data, size, &nl, sizes, acts, &loss) != BP_OK) return;
    nw = bp_qweights_size(nl, sizes); nq = bp_qparams_size(nl, sizes); nk = bp_qwork_size(nl, sizes);
    if (nw == 0 || nw > SMALL || nq > SMALL || nk > SMALL || sizes[nl] > (int)SMALL) return;
    w = (int8_t *)malloc(nw); q = (int32_t *)malloc(nq * sizeof *q); k = (int8_t *)malloc(nk);
    x = (float *)calloc((size_t)sizes[0], sizeof *x); y = (float *)malloc((size_t)sizes[nl] * sizeof *y);
    out = (unsigned char *)malloc(size);
    if (bp_qload(&qn, data, size, w, nw, q, nq, k, nk) != BP_OK) abort();        /* peek said valid */
    if (bp_qsave_size(&qn) != size || bp_qsave(&qn, out, size) != BP_OK || memcmp(out, data, size) != 0) abort();
    for (i = 0; i < sizes[0]; i++) x[i] = (float)(i % 7) - 3.0f;
    if (bp_qforward(&qn, x, y) != BP_OK) abort();        /* whatever integers: no overflow (UBSan) */
    free(w); free(q); free(k); free(x); free(y); free(out);
}

static void check_seq(const uint8_t *data, size_t size) {
    bp_seq_spec spec;
    bp_seq q;
    size_t np, nw, nc;
    float *p, *g, *w, *x, *c;
    unsigned char *out;
    int i;
    if (bp_seq_peek(data, size, &spec) != BP_OK) return;
    np = bp_seq_params_size(&spec);
    nw = bp_seq_work_size(&spec, 2, 1);
    nc = bp_seq_carry_size(&spec, 1);
    if (np == 0 || nw == 0 || nc == 0 || np > SMALL || nw > SMALL || nc > SMALL) return;
    p = (float *)malloc(np * sizeof *p); g = (float *)malloc(np * sizeof *g); w = (float *)malloc(nw * sizeof *w);
    x = (float *)calloc((size_t)spec.n_inputs, sizeof *x); c = (float *)calloc(nc, sizeof *c);
    out = (unsigned char *)malloc(size);
    if (bp_seq_init(&q, &spec, 2, 1, p, np, g, np, w, nw) != BP_OK) abort();     /* peek said valid */
    if (bp_seq_load(&q, data, size) != BP_OK) abort();
    if (bp_seq_save_size(&q) != size || bp_seq_save(&q, out, size) != BP_OK || memcmp(out, data, size) != 0) abort();
    for (i = 0; i < spec.n_inputs; i++) x[i] = (float)(i % 5) - 2.0f;
    if (!bp_seq_step(&q, x, c, nc, 1)) abort();
    free(p); free(g); free(w); free(x); free(c); free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    check_feed_forward(data, size);
    check_recurrent(data, size);
    check_int8(data, size);
    check_checkpoint(data, size);
    check_seq(data, size);
    /* Random bytes almost never carry a valid length and CRC, which would leave the topology
       checks behind them unexplored: try each input again with both repaired. */
    if (size >= 28) {
        unsigned char *fixed = (unsigned char *)malloc(size);
        memcpy(fixed, data, size);
        bp__put32(fixed + 16, (uint32_t)size);
        bp__put32(fixed + 20, 0);
        bp__put32(fixed + size - 4, bp__crc32(0, fixed, size - 4));
        check_feed_forward(fixed, size);
        check_recurrent(fixed, size);
        check_int8(fixed, size);
        check_checkpoint(fixed, size);
        check_seq(fixed, size);
        free(fixed);
    }
    return 0;
}
