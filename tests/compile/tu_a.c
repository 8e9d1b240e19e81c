/* Two translation units linked together: this one holds the implementation... */
#define BACKPROP_IMPLEMENTATION
#include "../../backprop.h"

int tu_b_check(void);

int main(void) {
    static const int sizes[] = {3, 3};
    if (bp_params_size(1, sizes) != 12) return 1;
    return tu_b_check();
}
