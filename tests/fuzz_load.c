/* libFuzzer harness over the model reader: bp_peek + bp_load, bp_rnet_peek + bp_rnet_load.
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
    if (bp_save_size(&net) != size || bp_save(&net, out, size) != BP_OK || memcmp(out, data, size) != 0) abort();
    free(p); free(g); free(w); free(out);
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    check_feed_forward(data, size);
    check_recurrent(data, size);
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
        free(fixed);
    }
    return 0;
}
