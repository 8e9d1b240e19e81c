#!/bin/sh
# The spoken-command recognizer on a Cortex-M4 (issue 29): tests/embedded/commands_m4.c with
# the GRU exported by `commands --export-c` (its header in DIR/commands_model.h), built for
# the host and for QEMU's mps2-an386 (hard float, at -Os and -O2); the M4's predictions on
# data/commands-clips must be the host's. Prints flash, RAM and instructions a second of
# audio. Usage: tests/commands_m4.sh DIR [ARM_CC]   Prints "ok"/"FAIL" lines, exits 1 on a failure,
# 0 with a note where the cross compiler or QEMU is missing.
D=$1
ARM_CC=${2:-arm-none-eabi-gcc}
PRE=${ARM_CC%gcc}
fail=0
say() { echo "$1 commands-m4: $2"; [ "$1" = FAIL ] && fail=1; }
if ! ${CC:-cc} -std=c99 -O2 -Wall -Wextra -Wpedantic -Werror -I"$D" tests/embedded/commands_m4.c -o "$D/cm_host" -lm > "$D/m4.log" 2>&1 \
   || ! "$D/cm_host" > "$D/host.out" 2>> "$D/m4.log"; then
    say FAIL "the recognizer on the host"; sed 's/^/     /' "$D/m4.log" | tail -5; exit 1
fi
say ok "the recognizer on the host: $(head -n 1 "$D/host.out")"
if ! command -v "$ARM_CC" > /dev/null 2>&1 || ! command -v qemu-system-arm > /dev/null 2>&1; then
    echo "skip the recognizer on an emulated Cortex-M4: needs $ARM_CC and qemu-system-arm (apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm)"
    exit 0
fi
FL="-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -ffreestanding -std=c99 -Wall -Wextra -Werror"
LK="-T tests/embedded/mps2_m4.ld -nostartfiles --specs=nano.specs --specs=rdimon.specs -Wl,--gc-sections"
$ARM_CC $FL -Os -DBASELINE $LK tests/embedded/startup.c tests/embedded/commands_m4.c -o "$D/cm_base.elf" > "$D/m4.log" 2>&1 \
    || { say FAIL "the baseline for the Cortex-M4"; sed 's/^/     /' "$D/m4.log" | tail -5; exit 1; }
set -- $(${PRE}size "$D/cm_base.elf" | tail -n 1); bt=$1 br=$(($2 + $3))
for opt in -Os -O2; do
    if $ARM_CC $FL $opt -I"$D" $LK tests/embedded/startup.c tests/embedded/commands_m4.c -o "$D/cm$opt.elf" -lm > "$D/m4.log" 2>&1 \
       && timeout 300 qemu-system-arm -machine mps2-an386 -cpu cortex-m4 -nographic -monitor none -serial none -icount shift=0 \
              -semihosting-config enable=on,target=native -kernel "$D/cm$opt.elf" > "$D/m4$opt.out" 2>> "$D/m4.log" \
       && head -n 1 "$D/m4$opt.out" | cmp -s - "$D/host.out"; then
        set -- $(${PRE}size "$D/cm$opt.elf" | tail -n 1); t=$(($1 - bt)) r=$(($2 + $3 - br))
        m=$(${PRE}nm -S "$D/cm$opt.elf" | awk '$4 == "commands_model_params" { print $2 }')
        # SysTick under -icount against a loop of 20,000 instructions; 12 clips of a second
        ips=$(sed -n 's/^ticks: \([0-9]*\) for 12 seconds of audio, \([0-9]*\) for 20000 instructions$/\1 \2/p' "$D/m4$opt.out" \
              | awk '{ printf "%.1f", $1 * 20000 / $2 / 12 / 1e6 }')
        say ok "on an emulated Cortex-M4 ($opt): the host's predictions; $t bytes of flash (the model $((0x${m:-0}))), $r bytes of RAM, $ips M instructions a second of audio"
    else
        cat "$D/m4$opt.out" >> "$D/m4.log" 2>/dev/null; say FAIL "the recognizer on the emulated Cortex-M4 ($opt)"; sed 's/^/     /' "$D/m4.log" | tail -5
    fi
done
exit $fail
