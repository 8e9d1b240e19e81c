/* Just enough of a Cortex-M0 to run tests/embedded/digits_m0.c on QEMU's microbit board (an
   nRF51: 256 KB of flash at 0, 16 KB of RAM at 0x20000000): the vector table, a reset handler
   that zeroes .bss and opens newlib's semihosting, then exits with main's status through
   semihosting. QEMU loads .data where it is linked: nothing to copy. */
#include <stdint.h>
#include <stdlib.h>

extern int main(void);
extern void initialise_monitor_handles(void);
extern uint32_t __stack_top, __bss_start__, __bss_end__;

void reset_handler(void);
static void hang(void) { for (;;) {} }

__attribute__((section(".vectors"), used))
const uintptr_t vectors[16] = {
    (uintptr_t)&__stack_top, (uintptr_t)reset_handler,
    (uintptr_t)hang, (uintptr_t)hang
};

void reset_handler(void) {
    uint32_t *p;
    for (p = &__bss_start__; p < &__bss_end__; p++) *p = 0;
    initialise_monitor_handles();
    exit(main());
}
