/* Just enough of a Cortex-M to run tests/embedded/ on QEMU: the vector table, a reset handler
   that turns the FPU on where the build uses one (the Cortex-M4 trainer, hard float, on
   mps2-an386; the Cortex-M0 digit reader on microbit has none), zeroes .bss and opens
   newlib's semihosting, then exits with main's status through semihosting. QEMU loads .data
   where it is linked: nothing to copy. */
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
    (uintptr_t)hang, (uintptr_t)hang, (uintptr_t)hang, (uintptr_t)hang, (uintptr_t)hang
};

void reset_handler(void) {
    uint32_t *p;
#ifdef __ARM_FP
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20;      /* CPACR: CP10, CP11 full access */
    __asm volatile("dsb\n\tisb");
#endif
    for (p = &__bss_start__; p < &__bss_end__; p++) *p = 0;
    initialise_monitor_handles();
    exit(main());
}
