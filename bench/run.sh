#!/usr/bin/env bash
# make bench: backprop.h against its peers on the two reference workloads (DESIGN.md section 7),
# side by side in one invocation, every configuration run REPS times in rotation (so noise
# spreads evenly); prints medians and ratios. Peers are skipped with a note when absent:
#   apt-get install -y libfann-dev python3-torch libopenblas-dev dataset-fashion-mnist
set -u
cd "$(dirname "$0")/.."
REPS=${REPS:-5}   # BENCH_ONLY=W1, W2, SEQ, INFER or SGEMM: only that workload's rows
B=build/bench
F=${FASHION:-/usr/share/datasets/fashion-mnist}
mkdir -p "$B"
if [ ! -f "$F/train-images-idx3-ubyte.gz" ]; then
    echo "bench: Fashion-MNIST not found in $F (apt-get install dataset-fashion-mnist, or FASHION=dir)"
    exit 1
fi
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
    [ -f "$B/$f" ] || gzip -dc "$F/$f.gz" > "$B/$f"
done
DATA="$B/train-images-idx3-ubyte $B/train-labels-idx1-ubyte $B/t10k-images-idx3-ubyte $B/t10k-labels-idx1-ubyte"
CC=${CC:-cc}
POSIX=-D_POSIX_C_SOURCE=200809L
# OpenBLAS's core-type override (set on some machines here) slows current kernels: not for us
RUN="env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE"

configs=()   # "name|workload|command"
build() { echo "bench: $*" >&2; "$@" || { echo "bench: build failed: $*"; exit 1; }; }
build $CC -std=c99 -O2 $POSIX bench/bench_bp.c -o $B/bp_O2 -lm
build $CC -std=c99 -O3 -march=native $POSIX bench/bench_bp.c -o $B/bp_O3n -lm
# -O3 alone (CMake's Release): GCC once vectorized the kernel its own way there, at a third of -O2;
# -O2 -march=native: GCC's -O2 vectorizer takes only some loop shapes
build $CC -std=c99 -O3 $POSIX bench/bench_bp.c -o $B/bp_O3 -lm
build $CC -std=c99 -O2 -march=native $POSIX bench/bench_bp.c -o $B/bp_O2n -lm
configs+=("backprop.h -O2, loop|W1|$B/bp_O2 W1 loop" "backprop.h -O2, fused|W1|$B/bp_O2 W1 fused"
          "backprop.h -O3 -march=native, loop|W1|$B/bp_O3n W1 loop" "backprop.h -O3 -march=native, fused|W1|$B/bp_O3n W1 fused"
          "backprop.h -O2, epoch|W1|$B/bp_O2 W1 epoch" "backprop.h -O3 -march=native, epoch|W1|$B/bp_O3n W1 epoch"
          "backprop.h -O2, fused|W2|$B/bp_O2 W2 fused" "backprop.h -O3, fused|W2|$B/bp_O3 W2 fused"
          "backprop.h -O2 -march=native, fused|W2|$B/bp_O2n W2 fused"
          "backprop.h -O3 -march=native, loop|W2|$B/bp_O3n W2 loop" "backprop.h -O3 -march=native, fused|W2|$B/bp_O3n W2 fused"
          "backprop.h -O3 -march=native, fused Adam|W2|$B/bp_O3n W2 adam"
          "backprop.h -O3 -march=native, epoch in file order|W2|$B/bp_O3n W2 epoch"
          "backprop.h -O3 -march=native, epoch shuffled|W2|$B/bp_O3n W2 shuffled"
          "backprop.h -O2, inference: float and int8|INFER|$B/bp_O2 W2 infer")
# run-time dispatch (issue 19): the -O2 rows above run the widest level this CPU has; pinned to
# the flags' own SSE2 kernels (0.2.1's -O2), and to AVX2 (an AVX2 desktop's widest level)
# sequences (issue 28): one training step of a GRU / LSTM (input 40, hidden 128, 50 steps, batch
# 32, Adam), beside PyTorch's nn.GRU / nn.LSTM below
build $CC -std=c99 -O2 $POSIX bench/bench_seq.c -o $B/seq_O2 -lm
build $CC -std=c99 -O3 -march=native $POSIX bench/bench_seq.c -o $B/seq_O3n -lm
for cell in GRU LSTM; do
    lc=$(echo $cell | tr A-Z a-z)
    configs+=("backprop.h -O2, $cell|SEQ $cell|$B/seq_O2 $lc" "backprop.h -O3 -march=native, $cell|SEQ $cell|$B/seq_O3n $lc"
              "backprop.h -O2 pinned base (no dispatch), $cell|SEQ $cell|env BENCH_LEVEL=base $B/seq_O2 $lc")
done
configs+=("backprop.h -O2 pinned base (no dispatch), fused|W2|env BENCH_LEVEL=base $B/bp_O2 W2 fused"
          "backprop.h -O2 pinned base (no dispatch), loop|W1|env BENCH_LEVEL=base $B/bp_O2 W1 loop")
if grep -qw avx2 /proc/cpuinfo 2>/dev/null && grep -qw fma /proc/cpuinfo; then
    configs+=("backprop.h -O2 pinned avx2, fused|W2|env BENCH_LEVEL=avx2 $B/bp_O2 W2 fused")
fi
# an AVX2 machine (most desktops: no AVX-512) runs the AVX kernel; this one can run it too
if grep -qw avx2 /proc/cpuinfo 2>/dev/null && grep -qw fma /proc/cpuinfo; then
    build $CC -std=c99 -O3 -mavx2 -mfma $POSIX bench/bench_bp.c -o $B/bp_avx2 -lm
    configs+=("backprop.h -O3 -mavx2 -mfma (no AVX-512)|W2|$B/bp_avx2 W2 fused")
else
    echo "bench: skip the AVX2 build: this CPU has no AVX2 and FMA"
fi
# the other compiler: code generation differs (clang contracts a * b + c into FMA by default)
if command -v clang >/dev/null 2>&1 && [ "$(basename "$CC")" != clang ]; then
    build clang -std=c99 -O3 -march=native $POSIX bench/bench_bp.c -o $B/bp_clang -lm
    configs+=("backprop.h clang -O3 -march=native, fused|W1|$B/bp_clang W1 fused"
              "backprop.h clang -O3 -march=native, epoch|W1|$B/bp_clang W1 epoch"
              "backprop.h clang -O3 -march=native, fused|W2|$B/bp_clang W2 fused")
else
    echo "bench: skip clang: not installed (apt-get install clang)"
fi
if $CC -fopenmp -x c /dev/null -c -o /dev/null 2>/dev/null; then
    build $CC -std=c99 -O3 -march=native -fopenmp $POSIX bench/bench_bp.c -o $B/bp_omp -lm
    configs+=("backprop.h -O3 -march=native OpenMP, 2 threads|W2|env OMP_NUM_THREADS=2 OMP_WAIT_POLICY=ACTIVE $B/bp_omp W2 fused")
else
    echo "bench: skip OpenMP: $CC has no -fopenmp"
fi
if printf '#include <cblas.h>\nint main(void){return 0;}\n' | $CC -x c - -o /dev/null -lopenblas 2>/dev/null; then
    build $CC -std=c99 -O3 -march=native -DBP_CBLAS $POSIX bench/bench_bp.c -o $B/bp_cblas -lopenblas -lm
    build $CC -O2 bench/bench_sgemm.c -o $B/sgemm -lopenblas
    configs+=("backprop.h BP_CBLAS (OpenBLAS), 1 thread|W2|env OPENBLAS_NUM_THREADS=1 $B/bp_cblas W2 fused"
              "OpenBLAS sgemm, 1 thread|SGEMM|$B/sgemm 1" "OpenBLAS sgemm, 2 threads|SGEMM|$B/sgemm 2")
else
    echo "bench: skip OpenBLAS (sgemm ceiling, BP_CBLAS): apt-get install libopenblas-dev"
fi
if [ -f /usr/include/floatfann.h ]; then
    build $CC -O2 $POSIX bench/bench_fann.c -o $B/fann -lfloatfann -lm
    configs+=("FANN 2.2|W1|$B/fann $DATA")
else
    echo "bench: skip FANN: apt-get install libfann-dev"
fi
PY=/usr/bin/python3
if $PY -c 'import torch' 2>/dev/null; then
    configs+=("PyTorch $($PY -c 'import torch; print(torch.__version__)'), 1 thread|W1|env OMP_NUM_THREADS=1 $PY bench/bench_torch.py W1 1 $DATA"
              "PyTorch, 1 thread|W2|env OMP_NUM_THREADS=1 $PY bench/bench_torch.py W2 1 $DATA"
              "PyTorch, 2 threads|W2|env OMP_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE $PY bench/bench_torch.py W2 2 $DATA"
              "PyTorch nn.GRU, 1 thread|SEQ GRU|env OMP_NUM_THREADS=1 $PY bench/bench_seq_torch.py gru 1"
              "PyTorch nn.LSTM, 1 thread|SEQ LSTM|env OMP_NUM_THREADS=1 $PY bench/bench_seq_torch.py lstm 1")
else
    echo "bench: skip PyTorch: apt-get install python3-torch"
fi

# how far apart the two CPUs are just before each 2-thread run (BENCHMARKS.md, "The VM's two
# states": a shared VM's slow state makes every 2-thread run slower)
if $CC -std=c11 -O2 -pthread bench/probe.c -o $B/probe 2>/dev/null; then probe=$B/probe; else
    probe=""; echo "bench: skip the cross-core probe: $CC cannot build bench/probe.c (C11, pthreads)"; fi

# one-thread runs all on one CPU: on a shared VM the CPUs can differ by 20 % (BENCHMARKS.md, "How
# to run"), and a run that lands on either makes ratios between configurations noisy.
# BENCH_CPU=N picks the CPU, BENCH_CPU=none leaves it to the scheduler.
PIN=""
if [ "${BENCH_CPU:-}" != none ] && command -v taskset >/dev/null 2>&1; then
    cpu=${BENCH_CPU:-$(( $(nproc) - 1 ))}
    if taskset -c "$cpu" true 2>/dev/null; then PIN="taskset -c $cpu"; echo "bench: one-thread runs on CPU $cpu"
    else echo "bench: cannot pin to CPU $cpu: one-thread runs unpinned"; fi
fi
out=$B/results.txt
: > "$out"
for rep in $(seq 1 "$REPS"); do
    for c in "${configs[@]}"; do
        IFS='|' read -r name work cmd <<< "$c"
        case "$work" in ${BENCH_ONLY:-*}*) ;; *) continue ;; esac   # BENCH_ONLY=SEQ: those rows
        case "$cmd" in *"/sgemm "*) args="" ;; *bench_torch.py*|*bench_seq*|*/seq_*) args="" ;; *"/fann "*) args="" ;; *) args=" $DATA" ;; esac
        rt=""
        pin=$PIN
        case "$name" in *"2 threads"*) pin=""; [ -n "$probe" ] && rt=" $($probe | tail -n 1 | sed 's/^probe //')" ;; esac
        line=$($RUN $pin $cmd$args 2>/dev/null | tail -n 1)
        echo "rep $rep | $name | $work | $line$rt" | tee -a "$out" >&2
    done
done

echo
echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; $($CC --version | head -n 1)"
command -v clang >/dev/null 2>&1 && echo "Other compiler: $(clang --version | head -n 1)"
echo "Medians of $REPS runs, one epoch of Fashion-MNIST (60,000 images), training only."
awk -F' [|] ' '
    function ratio(title, num, den,   n, m, a, b, i, r) {
        n = split(sps[num, "W2"], a, " "); m = split(sps[den, "W2"], b, " ")
        if (n == 0 || n != m) return
        r = ""; for (i = 1; i <= n; i++) r = r " " sprintf("%.3f", a[i] / b[i])
        printf "%-52s %12.3f   per run:%s\n", title, median(r), r }
    function median(s,   n, a, i, j, t) { n = split(s, a, " "); for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
                                          return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
    {
        name = $2; work = $3; n = split($4, f, " ")
        if (!(name SUBSEP work in seen)) { seen[name, work] = 1; order[++count] = name SUBSEP work; has[work] = 1 }
        for (i = 1; i < n; i++) {
            if (f[i] == "samples/s" || f[i] == "sequences/s") sps[name, work] = sps[name, work] " " f[i + 1]
            if (f[i] == "accuracy") acc[name, work] = f[i + 1]
            if (f[i] == "gflops_w2") g1[name] = g1[name] " " f[i + 1]
            if (f[i] == "gflops_1024") g2[name] = g2[name] " " f[i + 1]
            if (f[i] == "round_trip_ns") rt[name, work] = rt[name, work] " " f[i + 1]
            if (f[i] == "float1") if1[name] = if1[name] " " f[i + 1]
            if (f[i] == "float64") if64[name] = if64[name] " " f[i + 1]
            if (f[i] == "int8") i8[name] = i8[name] " " f[i + 1]
        }
    }
    END {
        for (k = 1; k <= count; k++) { split(order[k], p, SUBSEP); if (sps[p[1], p[2]] != "") med[p[1], p[2]] = median(sps[p[1], p[2]]) }
        for (k = 1; k <= count; k++) { split(order[k], p, SUBSEP); if (p[1] ~ /^FANN/) fann = med[p[1], p[2]]; if (p[1] ~ /^PyTorch.*1 thread/ && p[2] == "W1") t1 = med[p[1], p[2]]; if (p[1] ~ /^PyTorch.*1 thread/ && p[2] == "W2") t2 = med[p[1], p[2]]; if (p[1] ~ /sgemm, 1 thread/) ceil = median(g1[p[1]]) }
        if (has["W1"]) printf "\n%-52s %12s %8s %8s %9s\n", "W1: 784-128-10 sigmoid, per-sample SGD", "samples/s", "x FANN", "x torch", "accuracy"
        for (k = 1; k <= count; k++) { split(order[k], p, SUBSEP); if (p[2] != "W1") continue
            printf "%-52s %12.0f %8s %8s %9s\n", p[1], med[p[1], p[2]], fann ? sprintf("%.2f", med[p[1], p[2]] / fann) : "-", t1 ? sprintf("%.2f", med[p[1], p[2]] / t1) : "-", acc[p[1], p[2]] }
        if (has["W2"]) printf "\n%-52s %12s %8s %8s %9s %9s\n", "W2: 784-256-128-10 ReLU+softmax, batch 64", "samples/s", "x torch", "GFLOP/s", "x sgemm", "accuracy"
        for (k = 1; k <= count; k++) { split(order[k], p, SUBSEP); if (p[2] != "W2") continue; g = med[p[1], p[2]] * 1007104e-9
            printf "%-52s %12.0f %8s %9.1f %9s %9s\n", p[1], med[p[1], p[2]], t2 ? sprintf("%.2f", med[p[1], p[2]] / t2) : "-", g, ceil ? sprintf("%.2f", g / ceil) : "-", acc[p[1], p[2]] }
        # the two targets of issue 17, from the same run: per-rep ratios (each pair ran in the same
        # rotation) and their median
        ratio("Adam / plain SGD (-O3 -march=native, target >= 0.90)", "backprop.h -O3 -march=native, fused Adam", "backprop.h -O3 -march=native, fused")
        ratio("shuffled / file-order epoch (target >= 0.95)", "backprop.h -O3 -march=native, epoch shuffled", "backprop.h -O3 -march=native, epoch in file order")
        # sequences: each configuration against PyTorch (one thread) per rep of the same rotation
        # (target of issue 28: >= 1.5)
        for (c = 1; c <= 2; c++) { cell = c == 1 ? "GRU" : "LSTM"; w = "SEQ " cell; tn = "PyTorch nn." cell ", 1 thread"
            if (!has[w]) continue
            printf "\n%-52s %12s %8s   per run\n", cell ": input 40, hidden 128, 50 steps, batch 32, Adam", "seq/s", "x torch"
            for (k = 1; k <= count; k++) { split(order[k], p, SUBSEP); if (p[2] != w) continue
                n = split(sps[p[1], w], sa, " "); m = split(sps[tn, w], sb, " "); sr = ""
                if (n == m && p[1] != tn) for (i = 1; i <= n; i++) sr = sr " " sprintf("%.2f", sa[i] / sb[i])
                printf "%-52s %12.0f %8s  %s\n", p[1], med[p[1], w], sr != "" ? sprintf("%.2f", median(sr)) : "-", sr } }
        for (k = 1; k <= count; k++) { split(order[k], p, SUBSEP); if (p[2] != "INFER") continue
            a = median(if1[p[1]]); b = median(if64[p[1]]); c = median(i8[p[1]])
            printf "\n%-52s %12s %12s %12s\n", "Inference, W2 trained one epoch: test images/s", "float b=1", "float b=64", "int8"
            printf "%-52s %12.0f %12.0f %12.0f   int8/float: %.2f (b=1), %.2f (b=64)\n", p[1], a, b, c, c / a, c / b }
        for (k = 1; k <= count; k++) { split(order[k], p, SUBSEP); if (p[2] != "SGEMM") continue
            printf "\n%-52s %s GFLOP/s at 64x256x784, %s GFLOP/s at 1024^3", p[1], median(g1[p[1]]), median(g2[p[1]]) }
        printf "\n"
        for (k = 1; k <= count; k++) { split(order[k], p, SUBSEP); if (rt[p[1], p[2]] == "") continue
            if (!shown++) printf "\nEach 2-thread run, with the cross-core round trip (ns) measured just before it (bench/probe.c;\nabove about 250 ns the VM was in its slow state, see BENCHMARKS.md):\n"
            n = split(rt[p[1], p[2]], r, " "); split(p[2] == "SGEMM" ? g1[p[1]] : sps[p[1], p[2]], v, " "); line = ""
            for (i = 1; i <= n; i++) line = line sprintf(" %s (%s)", p[2] == "SGEMM" ? v[i] : sprintf("%.0f", v[i]), r[i])
            printf "%-52s%s\n", p[1], line }
    }' "$out"
