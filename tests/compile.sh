#!/bin/sh
# Compile tests of the header: C99 under gcc and clang with warnings as errors, C++, static
# mode, included twice, two translation units, libm-free hooks, and the manual's own example.
# Each program calls into the library and is run, so an implementation that silently compiled
# to nothing fails to link. Usage: tests/compile.sh MODE [CC] [CXX], MODE one of
#   quick      the builds every user's compiler sees (make test): C99 and C++ with warnings as
#              errors, static mode, two units, the hooks, BP_NO_SIMD picky
#   reference  the plain reference path with the first compiler (make test): the unit tests on
#              BP_NO_SIMD, and each instruction-set level trains to its arithmetic's bits
#   rest       the remaining matrix (make test-all): -O3 -march=native, -ffp-contract, -mavx2,
#              OpenMP, the unit tests at those flags, the reference with the other compilers
mode=${1:-quick}
shift
case $mode in quick|reference|rest) ;; *) echo "usage: tests/compile.sh quick|reference|rest [CC] [CXX]"; exit 2 ;; esac
cd "$(dirname "$0")/.." || exit 1
out=build/compile-$mode
mkdir -p "$out"
STRICT="-std=c99 -Wall -Wextra -Wpedantic -Werror"
PICKY="-Wshadow -Wstrict-prototypes -Wconversion -Wdouble-promotion -Wcast-qual"
pass=0 fail=0

check() {  # name, then a command whose success is the test
    name=$1; shift
    if "$@" >"$out/log" 2>&1; then
        pass=$((pass + 1)); echo "ok   compile: $name"; sed 's/^/     /' "$out/log"
    else
        fail=$((fail + 1)); echo "FAIL compile: $name"; sed 's/^/     /' "$out/log"
    fi
}

# Run-time dispatch (issue 19): a plain -O2 build pinned to each level this CPU runs trains
# tests/same_bits.c's nets to the bytes of the reference of that level's arithmetic (BP_NO_SIMD
# at -O2: no FMA; at -march=native: FMA), and at its default, widest level to the bytes of an
# -O3 -march=native build.
same_levels() {  # cc
    sb="$1 $STRICT -o"
    $sb "$out/sb_o2" -O2 tests/same_bits.c -lm && $sb "$out/sb_ref" -O2 -DBP_NO_SIMD tests/same_bits.c -lm &&
    $sb "$out/sb_nat" -O3 -march=native tests/same_bits.c -lm &&
    $sb "$out/sb_natref" -O3 -march=native -DBP_NO_SIMD tests/same_bits.c -lm &&
    "$out/sb_ref" > "$out/ref.txt" && "$out/sb_natref" > "$out/natref.txt" &&
    "$out/sb_nat" > "$out/nat.txt" || return 1
    for lv in base avx2 avx512; do
        "$out/sb_o2" $lv > "$out/lv.txt"; rc=$?
        if [ $rc = 3 ]; then echo "level $lv: not in this build or not on this CPU"; continue; fi
        [ $rc = 0 ] || return 1
        want="$out/natref.txt"; [ $lv = base ] && want="$out/ref.txt"
        cmp "$out/lv.txt" "$want" || { echo "level $lv: not the bits of $want"; return 1; }
        echo "level $lv: the bits of $want"
    done
    best=$("$out/sb_o2" 2>&1 >"$out/best.txt" | sed -n 's/^same_bits: level //p')
    if [ "$best" = base ]; then echo "widest level base: no FMA here to compare with"; return 0; fi
    cmp "$out/best.txt" "$out/nat.txt" || { echo "-O2 at $best: not the bits of -march=native"; return 1; }
    echo "-O2 at its widest level ($best): the bits of -O3 -march=native"
}

# in MODE (quick, reference, rest), for the compiler $cc: whether this run makes that test
part() {
    case $1 in
        quick) [ "$mode" = quick ] ;;
        reference) { [ "$mode" = reference ] && [ "$cc" = "$first" ]; } || { [ "$mode" = rest ] && [ "$cc" != "$first" ]; } ;;
        rest) [ "$mode" = rest ] ;;
    esac
}

try() {  # name, then the command that builds $out/prog; the program is then run
    name=$1; shift
    rm -f "$out/prog"
    if "$@" >"$out/log" 2>&1 && "$out/prog" >>"$out/log" 2>&1; then
        pass=$((pass + 1)); echo "ok   compile: $name"
    else
        fail=$((fail + 1)); echo "FAIL compile: $name"; sed 's/^/     /' "$out/log"
    fi
}

# the EXAMPLE block of the header's manual, as a program
awk '/^   EXAMPLE/{f=1;next} /^   LOSSES/{f=0} f' backprop.h | sed 's/^         //' > "$out/manual_example.c"

# this CPU runs AVX2 + FMA code (else those builds are skipped)
avx2=$(grep -qw avx2 /proc/cpuinfo 2>/dev/null && grep -qw fma /proc/cpuinfo && echo yes)

ccs="${1:-cc}"
for c in gcc clang; do
    if command -v "$c" >/dev/null 2>&1; then
        # once per compiler: cc is often gcc under another name
        same=""
        for d in $ccs; do
            [ "$(readlink -f "$(command -v "$d")")" = "$(readlink -f "$(command -v "$c")")" ] && same=$d
        done
        if [ -n "$same" ]; then echo "compile tests: $same is $c"; continue; fi
        case " $ccs " in *" $c "*) ;; *) ccs="$ccs $c" ;; esac
    else
        echo "skip compile tests with $c: not installed (apt-get install $c)"
    fi
done
first=""
for cc in $ccs; do command -v "$cc" >/dev/null 2>&1 && [ -z "$first" ] && first=$cc; done
for cc in $ccs; do
    command -v "$cc" >/dev/null 2>&1 || continue
    if part quick; then
    try "$cc c99 manual example" $cc $STRICT $PICKY -o "$out/prog" "$out/manual_example.c" -I. -lm
    try "$cc static mode"        $cc $STRICT $PICKY -o "$out/prog" tests/compile/static_mode.c -lm
    try "$cc included twice"     $cc $STRICT $PICKY -o "$out/prog" tests/compile/twice.c -lm
    try "$cc two units"          $cc $STRICT $PICKY -o "$out/prog" tests/compile/tu_a.c tests/compile/tu_b.c -lm
    try "$cc hooks, no libm"     $cc $STRICT $PICKY -o "$out/prog" tests/compile/hooks.c
    try "$cc hooks, no libm, BACKPROP_NO_STDIO (0.2.0's spelling)" $cc $STRICT $PICKY -DOLD_SPELLING \
        -o "$out/prog" tests/compile/hooks.c
    try "$cc -DBP_NO_SIMD, picky" $cc $STRICT $PICKY -O2 -DBP_NO_SIMD -o "$out/prog" tests/compile/twice.c -lm
    # enums as small unsigned types, as arm-none-eabi has them (a -Wtype-limits regression)
    try "$cc -fshort-enums"      $cc $STRICT $PICKY -Wtype-limits -fshort-enums -o "$out/prog" tests/compile/hooks.c
    fi
    if part rest; then
    # bp_sgd and bp_update stay calls (see update_calls.c), at the optimization that inlines most
    if command -v objdump >/dev/null 2>&1; then
        try "$cc -O3: bp_sgd and bp_update are not inlined into their caller" sh -c \
            "$cc $STRICT -O3 -march=native -D_POSIX_C_SOURCE=200809L -o $out/prog tests/compile/update_calls.c -lm &&
             objdump -d --no-show-raw-insn $out/prog | awk '/<main>:/,/^\$/' > $out/main.s &&
             grep -q 'call.*<bp_sgd>' $out/main.s && grep -q 'call.*<bp_update>' $out/main.s"
    else
        echo "skip compile test of inlining: no objdump (apt-get install binutils)"
    fi
    try "$cc -O3 -march=native"  $cc $STRICT -O3 -march=native -o "$out/prog" tests/compile/twice.c -lm
    # the whole API inlined into its callers at -O3: GCC's -Wmaybe-uninitialized regressions
    try "$cc -O3 -march=native, the unit tests" $cc $STRICT -O3 -march=native -D_POSIX_C_SOURCE=200809L \
        -o "$out/prog" tests/test_backprop.c -lm
    # a libc that declares fmaf fast, with contraction off: the kernels must still fuse exactly
    # where BP__FMA does (clang's vector tile by a pragma): the GEMM test checks every bit
    try "$cc -ffp-contract=off -DFP_FAST_FMAF, the unit tests" $cc $STRICT -O3 -march=native \
        -ffp-contract=off -DFP_FAST_FMAF -D_POSIX_C_SOURCE=200809L -o "$out/prog" tests/test_backprop.c -lm
    # the AVX tile (GCC with FMA 4 x 16, else 6 x 16; -O2 alone gives SSE's 4 x 8,
    # -march=native here AVX-512's 8 x 32)
    if [ -n "$avx2" ]; then
        try "$cc -O2 -mavx2 -mfma, the unit tests" $cc $STRICT -O2 -mavx2 -mfma -D_POSIX_C_SOURCE=200809L \
            -o "$out/prog" tests/test_backprop.c -lm
    else
        echo "skip compile test of $cc -mavx2: this CPU has no AVX2 and FMA"
    fi
    # OpenMP where the compiler has it all (clang's runtime is libomp-dev, not always there)
    printf '#include <omp.h>\nint main(void) { return omp_get_max_threads() < 1; }\n' > "$out/omp.c"
    if $cc -fopenmp -o "$out/omp" "$out/omp.c" 2>/dev/null; then
        try "$cc -O3 -march=native -fopenmp, the unit tests" $cc $STRICT -O3 -march=native -fopenmp \
            -D_POSIX_C_SOURCE=200809L -o "$out/prog" tests/test_backprop.c -lm
    else
        echo "skip compile test of $cc -fopenmp: no OpenMP runtime (apt-get install libomp-dev for clang)"
    fi
    fi
    if part reference; then
    # BP_NO_SIMD, the plain reference path (a triple loop for the products): the unit tests
    # pass on it, and it trains nets to the same bytes as the kernels (tests/same_bits.c) at
    # each instruction set the kernels are built for here
    try "$cc -DBP_NO_SIMD, the unit tests" $cc $STRICT -O2 -DBP_NO_SIMD -D_POSIX_C_SOURCE=200809L \
        -o "$out/prog" tests/test_backprop.c -lm
    # (-O2 and -O3 -march=native against their references: same_levels, below)
    for isa in "-O3 -mavx2 -mfma"; do
        case $isa in *avx2*) [ -n "$avx2" ] || continue ;; esac
        try "$cc $isa: BP_NO_SIMD trains to the same bits as the kernels" sh -c \
            "$cc $STRICT $isa -o $out/sb_kernels tests/same_bits.c -lm &&
             $cc $STRICT $isa -DBP_NO_SIMD -o $out/sb_reference tests/same_bits.c -lm &&
             $out/sb_kernels own > $out/sb_kernels.txt && $out/sb_reference > $out/sb_reference.txt &&
             cmp $out/sb_kernels.txt $out/sb_reference.txt && cp $out/sb_kernels $out/prog"
    done
    check "$cc: each instruction-set level trains to its arithmetic's bits" same_levels "$cc"
    fi
    if part rest; then
    # BP_NO_BATCH refuses batches; one sample at a time it trains to the bits of a build with
    # batches, at -O2 and at -Os (whose smaller kernels keep the arithmetic)
    try "$cc BP_NO_BATCH and -Os: the bits of the build with batches" sh -c \
        "$cc $STRICT $PICKY -O2 -DWITH_BATCHES -o $out/nb_batches tests/compile/no_batch.c -lm &&
         $cc $STRICT $PICKY -O2 -o $out/nb_o2 tests/compile/no_batch.c -lm &&
         $cc $STRICT $PICKY -Os -o $out/nb_os tests/compile/no_batch.c -lm &&
         $out/nb_batches > $out/nb_batches.txt && $out/nb_o2 > $out/nb_o2.txt && $out/nb_os > $out/nb_os.txt &&
         cmp $out/nb_batches.txt $out/nb_o2.txt && cmp $out/nb_batches.txt $out/nb_os.txt && cp $out/nb_os $out/prog"
    fi
done

cxxs="${2:-c++}"
for c in g++ clang++; do
    command -v "$c" >/dev/null 2>&1 && case " $cxxs " in *" $c "*) ;; *) cxxs="$cxxs $c" ;; esac
done
for cxx in $cxxs; do
    command -v "$cxx" >/dev/null 2>&1 || continue
    stds="c++98 c++17"; [ "$mode" = rest ] && stds="c++11"; [ "$mode" = reference ] && stds=""
    for std in $stds; do
        try "$cxx -std=$std" $cxx -std=$std -Wall -Wextra -Wpedantic -Werror -Wno-long-long -o "$out/prog" tests/compile/cpp.cpp
    done
done

echo "compile: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
