/* ...and this one only the declarations, calling into it. */
#include "../../backprop.h"

int tu_b_check(void) {
    return bp_argmax((const float[]){1, 3, 2}, 3) == 1 ? 0 : 1;
}
