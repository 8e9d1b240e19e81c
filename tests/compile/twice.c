/* Included twice, implementation both times: the guards make the second a no-op. */
#define BACKPROP_IMPLEMENTATION
#include "../../backprop.h"
#include "../../backprop.h"

int main(void) {
    static const int sizes[] = {1, 1};
    return bp_work_size(1, sizes, 1) == 1 + 1 + 1 + 1 + 2 ? 0 : 1;   /* A_1, Z, D_1, S, G */
}
