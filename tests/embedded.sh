#!/bin/sh
# The firmware claim, tested: backprop.h builds for a Cortex-M4 (hard float) with warnings as
# errors, pulls in no allocator and no stdio, and costs what the size table says; the program
# learns XOR on an emulated Cortex-M4 (QEMU) and on the host. A digit reader for a Cortex-M0+
# without an FPU, int8 and float from C source, is measured and run on QEMU's microbit.
# Usage: tests/embedded.sh ARM_CC "ARM_FLAGS" (build/ocr, build/bp2c and build/commands must be built)
ARM_CC=${1:-arm-none-eabi-gcc}
FLAGS=${2:-"-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -Os -ffreestanding -std=c99 -Wall -Wextra -Werror"}
PRE=${ARM_CC%gcc}
O=build/embedded
mkdir -p "$O"
pass=0 fail=0
ok()  { pass=$((pass + 1)); echo "ok   embedded: $1"; }
bad() { fail=$((fail + 1)); echo "FAIL embedded: $1"; [ -f "$O/log" ] && sed 's/^/     /' "$O/log" | tail -15; }

rm -f "$O/xor_m4.o" "$O/xor_m4.su"
if $ARM_CC $FLAGS -fstack-usage -c tests/embedded/xor_m4.c -o "$O/xor_m4.o" > "$O/log" 2>&1; then
    ok "compiles for Cortex-M4 with $FLAGS"
    echo "     largest stack frames (bytes): $(sort -t'	' -k2 -n -r "$O/xor_m4.su" 2>/dev/null | head -n 4 | awk -F'\t' '{n = split($1, p, ":"); printf "%s %s, ", p[n], $2}')"
else
    bad "compile for Cortex-M4"
fi
und=$(${PRE}nm -u "$O/xor_m4.o" 2>/dev/null | awk '{print $2}' | tr '\n' ' ')
echo "     undefined symbols of the trainer: $und"
if [ -f "$O/xor_m4.o" ] && ! echo " $und " | grep -Eq ' (malloc|calloc|realloc|free|printf|puts|fopen|fwrite|fread|abort|exit) '; then
    ok "no allocator, no stdio, no abort among the symbols it needs"
else
    echo "$und" > "$O/log"; bad "it needs an allocator, stdio or abort"
fi
LINK="--specs=nano.specs --specs=nosys.specs -Wl,--gc-sections"
if $ARM_CC $FLAGS $LINK tests/embedded/xor_m4.c -o "$O/xor_m4.elf" -lm > "$O/log" 2>&1 \
   && $ARM_CC $FLAGS $LINK -DBASELINE tests/embedded/xor_m4.c -o "$O/base.elf" -lm >> "$O/log" 2>&1; then
    ok "links with newlib-nano (libm from newlib)"
    ${PRE}size "$O/base.elf" "$O/xor_m4.elf" | sed 's/^/     /'
    set -- $(${PRE}size "$O/base.elf" | tail -n 1) ; bt=$1 bd=$2 bb=$3
    set -- $(${PRE}size "$O/xor_m4.elf" | tail -n 1); ft=$1 fd=$2 fb=$3
    echo "     the library and the libm it uses add $((ft - bt)) bytes of flash (text) and $((fd + fb - bd - bb)) bytes of RAM"
    echo "     (data + bss; of which 264 are the 2-4-1 net's params, grads, velocity and work) to this program"
    if [ $((ft - bt)) -le 10240 ]; then ok "the Cortex-M4 trainer (BP_NO_BATCH) adds at most 10 KB of flash"
    else bad "the Cortex-M4 trainer adds $((ft - bt)) bytes of flash, more than 10 KB"; fi
    if $ARM_CC $FLAGS $LINK -DWITH_BATCHES tests/embedded/xor_m4.c -o "$O/xor_m4_batches.elf" -lm > "$O/log" 2>&1; then
        set -- $(${PRE}size "$O/xor_m4_batches.elf" | tail -n 1)
        echo "     without BP_NO_BATCH (batches by the plain loop): $(($1 - bt)) bytes of flash"
    else
        bad "the trainer with batches does not link"
    fi
else
    bad "link with newlib-nano"
fi
# Training on the target: the same trainer on QEMU's emulated Cortex-M4 board (mps2-an386),
# with a minimal startup (tests/embedded/startup.c) and newlib's semihosting for output and
# the exit status.
if command -v qemu-system-arm > /dev/null 2>&1; then
    if $ARM_CC $FLAGS -DSEMIHOSTING -T tests/embedded/mps2_m4.ld -nostartfiles --specs=nano.specs --specs=rdimon.specs \
           tests/embedded/startup.c tests/embedded/xor_m4.c -o "$O/xor_qemu.elf" -lm > "$O/log" 2>&1 \
       && timeout 120 qemu-system-arm -machine mps2-an386 -cpu cortex-m4 -nographic -monitor none -serial none \
              -semihosting-config enable=on,target=native -kernel "$O/xor_qemu.elf" > "$O/qemu.out" 2>> "$O/log" \
       && grep -Eq '^xor on the target: max error 0\.0[0-9]{3}$' "$O/qemu.out"; then
        ok "trains XOR on an emulated Cortex-M4 (QEMU mps2-an386): $(sed 's/.*: //' "$O/qemu.out")"
    else
        cat "$O/qemu.out" >> "$O/log" 2>/dev/null; bad "training on the emulated Cortex-M4"
    fi
else
    echo "skip the run on an emulated Cortex-M4: qemu-system-arm is not installed (apt-get install qemu-system-arm)"
fi
# --- a digit reader for a Cortex-M0+ without an FPU: int8 from C source in flash (issue 20) ---
# ocr trains the 64-32-10 net on the bundled digits and saves it as floats and as int8; bp2c
# writes both as C headers; tests/embedded/digits_m0.c reads digits with either, built for a
# Cortex-M0+ (soft float) and measured against the same program without library and model.
B=${B:-build}
M0FLAGS="-mcpu=cortex-m0plus -mthumb -Os -ffreestanding -std=c99 -Wall -Wextra -Wpedantic -Werror -Wdouble-promotion -ffunction-sections -fdata-sections"
if "$B/ocr" --quiet --hidden 32 --save "$O/digits.bpmodel" --save-int8 "$O/digits.bpq" > "$O/ocr.out" 2> "$O/log" \
   && "$B/bp2c" --name digits "$O/digits.bpq" > "$O/digits_q.h" 2>> "$O/log" \
   && "$B/bp2c" --name digits "$O/digits.bpmodel" > "$O/digits_f.h" 2>> "$O/log" \
   && ${CC:-cc} -std=c99 -O2 tests/embedded/samples.c -o "$O/samples" -lm >> "$O/log" 2>&1 \
   && "$O/samples" data > "$O/samples.h" 2>> "$O/log"; then
    ok "the 64-32-10 digit reader as C source: $(sed -n 's/^int8 test accuracy: \([0-9.]*%\).*/int8 \1/p' "$O/ocr.out"), float $(sed -n 's/^test accuracy: //p' "$O/ocr.out")"
    if $ARM_CC $M0FLAGS -I"$O" $LINK -DBASELINE tests/embedded/digits_m0.c -o "$O/m0_base.elf" > "$O/log" 2>&1 \
       && $ARM_CC $M0FLAGS -I"$O" $LINK tests/embedded/digits_m0.c -o "$O/m0_int8.elf" -lm >> "$O/log" 2>&1 \
       && $ARM_CC $M0FLAGS -I"$O" $LINK -DFLOAT_MODEL tests/embedded/digits_m0.c -o "$O/m0_float.elf" -lm >> "$O/log" 2>&1; then
        ok "compiles for Cortex-M0+ (soft float) with $M0FLAGS"
        ${PRE}size "$O/m0_base.elf" "$O/m0_int8.elf" "$O/m0_float.elf" | sed 's/^/     /'
        set -- $(${PRE}size "$O/m0_base.elf" | tail -n 1); bt=$1 br=$(($2 + $3))
        set -- $(${PRE}size "$O/m0_int8.elf" | tail -n 1); qt=$(($1 - bt)) qr=$(($2 + $3 - br))
        set -- $(${PRE}size "$O/m0_float.elf" | tail -n 1); ft=$(($1 - bt)) fr=$(($2 + $3 - br))
        qm=0; fm=0     # the model's arrays, from the symbol table (sizes in hex)
        for x in $(${PRE}nm -S "$O/m0_int8.elf" | awk '$4 == "digits_weights" || $4 == "digits_q" { print $2 }'); do qm=$((qm + 0x$x)); done
        for x in $(${PRE}nm -S "$O/m0_float.elf" | awk '$4 == "digits_params" { print $2 }'); do fm=$((fm + 0x$x)); done
        echo "     int8 reader:  $qt bytes of flash (the model $qm of them), $qr bytes of RAM"
        echo "     float reader: $ft bytes of flash (the model $fm of them), $fr bytes of RAM"
        if [ "$qt" -lt "$ft" ]; then ok "the int8 reader takes less flash than the float one"
        else bad "the int8 reader takes $qt bytes of flash, the float one $ft"; fi
    else
        bad "compile the digit reader for Cortex-M0+"
    fi
    if ${CC:-cc} -std=c99 -O2 -I"$O" -DSAMPLES tests/embedded/digits_m0.c -o "$O/digits_host" -lm > "$O/log" 2>&1 \
       && "$O/digits_host" > "$O/host.out" 2>> "$O/log"; then
        ok "the digit reader on the host: $(cat "$O/host.out")"
    else
        bad "the digit reader on the host"
    fi
    if command -v qemu-system-arm > /dev/null 2>&1; then
        for v in int8 float; do
            d=; [ $v = float ] && d=-DFLOAT_MODEL
            if $ARM_CC $M0FLAGS $d -DSAMPLES -I"$O" -T tests/embedded/microbit.ld -nostartfiles --specs=nano.specs \
                   --specs=rdimon.specs -Wl,--gc-sections tests/embedded/startup.c tests/embedded/digits_m0.c \
                   -o "$O/digits_$v.elf" -lm > "$O/log" 2>&1 \
               && timeout 300 qemu-system-arm -machine microbit -nographic -monitor none -serial none -icount shift=0 \
                      -semihosting-config enable=on,target=native -kernel "$O/digits_$v.elf" > "$O/qemu_$v.out" 2>> "$O/log" \
               && head -n 1 "$O/qemu_$v.out" | cmp -s - "$O/host.out"; then
                # SysTick at the core clock under -icount: ticks against a loop of 20,000 instructions
                per=$(sed -n 's/^ticks: \([0-9]*\) for \([0-9]*\) inferences, \([0-9]*\) for 20000 instructions$/\1 \2 \3/p' "$O/qemu_$v.out" \
                      | awk '{ printf "%d", $1 * 20000 / $3 / $2 }')
                ok "$v reader on an emulated Cortex-M0 (QEMU microbit): the host's predictions, about $per instructions an inference"
            else
                cat "$O/qemu_$v.out" >> "$O/log" 2>/dev/null; bad "the $v digit reader on the emulated Cortex-M0"
            fi
        done
    else
        echo "skip the digit reader on an emulated Cortex-M0: qemu-system-arm is not installed (apt-get install qemu-system-arm)"
    fi
else
    bad "train and export the digit reader (ocr, bp2c)"
fi
# --- the spoken-command recognizer as README "Spoken commands" builds it: the default GRU ---
if "$B/commands" --quiet --export-c "$O/commands_model.h" > "$O/commands.out" 2> "$O/log"; then
    line=$(tail -n 1 "$O/commands.out")
    if echo "$line" | awk '{ exit !($1 == "test" && $3 + 0 >= 94) }'; then ok "commands, the default GRU: $line (at least 94%)"
    else bad "commands, the default GRU: $line, below 94%"; fi
    if sh tests/commands_m4.sh "$O" "$ARM_CC" > "$O/m4" 2>&1; then sed 's/^/     /' "$O/m4"; ok "the default recognizer on an emulated Cortex-M4: the host's predictions"
    else sed 's/^/     /' "$O/m4"; bad "the default recognizer on the emulated Cortex-M4"; fi
else
    bad "commands (the default GRU) did not train"
fi
if ${CC:-cc} -std=c99 -O2 tests/embedded/xor_m4.c -o "$O/xor_host" -lm > "$O/log" 2>&1 && "$O/xor_host"; then
    ok "the same trainer learns XOR when run on the host"
else
    bad "the trainer did not learn XOR on the host"
fi
echo "embedded: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
