// The header compiled as C++: implementation and a call, so a slip in the implementation
// macro fails to link instead of compiling nothing.
#define BACKPROP_IMPLEMENTATION
#include "../../backprop.h"
#include <cstdio>

int main() {
    static const int sizes[] = {2, 3, 1};
    if (bp_params_size(2, sizes) != 13) return 1;
    bp_rng r = bp_rng_seed(0);
    if (bp_rng_u32(&r) != 0xE220A839u) return 1;
    std::printf("c++ ok: %s\n", bp_strerror(BP_ERR_NULL));
    return 0;
}
