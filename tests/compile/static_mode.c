/* BACKPROP_STATIC: every function static; unused ones must not warn under -Werror. */
#define BACKPROP_STATIC
#define BACKPROP_IMPLEMENTATION
#include "../../backprop.h"

int main(void) {
    static const int sizes[] = {4, 2};
    return bp_params_size(1, sizes) == 10 ? 0 : 1;
}
