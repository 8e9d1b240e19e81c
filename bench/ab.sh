#!/usr/bin/env bash
# make bench-ab BASE=rev: did a change move a benchmark row? Builds make bench's backprop.h rows
# (bench_bp and bench_seq at -O2 and -O3 -march=native) twice, against this tree's backprop.h and
# against the one at git revision BASE (default HEAD), and runs the two in rotation REPS times
# (default 5) on one CPU, so that the machine's drift spreads over both. Prints each row's
# medians, new / base per run and their median, and whether the trained parameters' hashes are
# the same bits. Needs Fashion-MNIST (apt-get install dataset-fashion-mnist, or FASHION=dir).
set -u
cd "$(dirname "$0")/.."
BASE=${BASE:-HEAD}
REPS=${REPS:-5}
B=build/ab
F=${FASHION:-/usr/share/datasets/fashion-mnist}
CC=${CC:-cc}
POSIX=-D_POSIX_C_SOURCE=200809L
[ -f "$F/train-images-idx3-ubyte.gz" ] || { echo "ab: Fashion-MNIST not found in $F"; exit 1; }
mkdir -p "$B/base/bench" "$B/base/examples" "$B/new/bench" "$B/new/examples"
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
    [ -f "$B/$f" ] || gzip -dc "$F/$f.gz" > "$B/$f"
done
DATA="$B/train-images-idx3-ubyte $B/train-labels-idx1-ubyte $B/t10k-images-idx3-ubyte $B/t10k-labels-idx1-ubyte"
# each side gets the same bench sources (this tree's), beside its own header
git show "$BASE:backprop.h" > "$B/base/backprop.h" || { echo "ab: no backprop.h at $BASE"; exit 1; }
cp backprop.h "$B/new/backprop.h"
for side in base new; do
    cp bench/bench_bp.c bench/bench_seq.c "$B/$side/bench/"
    cp examples/digits.h "$B/$side/examples/"
    for o in "O2|-O2" "O3n|-O3 -march=native"; do
        tag=${o%%|*} flags=${o#*|}
        $CC -std=c99 $flags $POSIX "$B/$side/bench/bench_bp.c" -o "$B/$side/bp_$tag" -lm || exit 1
        rm -f "$B/$side/seq_$tag"      # (a BASE before 0.2.4 has no bp_seq: no SEQ rows then)
        $CC -std=c99 $flags $POSIX "$B/$side/bench/bench_seq.c" -o "$B/$side/seq_$tag" -lm 2>/dev/null ||
            echo "ab: bench_seq does not build against $side's header: the SEQ rows are skipped"
    done
done
rows=("W1 loop|bp_O2 W1 loop" "W1 fused|bp_O2 W1 fused" "W1 epoch|bp_O2 W1 epoch"
      "W1 fused -O3n|bp_O3n W1 fused" "W1 epoch -O3n|bp_O3n W1 epoch"
      "W2 fused|bp_O2 W2 fused" "W2 fused -O3n|bp_O3n W2 fused" "W2 adam -O3n|bp_O3n W2 adam"
      "W2 shuffled -O3n|bp_O3n W2 shuffled" "W2 fused base level|env BENCH_LEVEL=base BP_O2 W2 fused"
      "SEQ gru|seq_O2 gru" "SEQ lstm|seq_O2 lstm")
PIN=""
command -v taskset >/dev/null 2>&1 && taskset -c "$(( $(nproc) - 1 ))" true 2>/dev/null && PIN="taskset -c $(( $(nproc) - 1 ))"
out=$B/results.txt
: > "$out"
for rep in $(seq 1 "$REPS"); do
    for r in "${rows[@]}"; do
        name=${r%%|*} cmd=${r#*|}
        case "$cmd" in seq_*) [ -x "$B/base/${cmd%% *}" ] || continue ;; esac
        for side in base new; do
            c=$(echo "$cmd" | sed "s#BP_O2#$B/$side/bp_O2#; s#^bp_#$B/$side/bp_#; s#^seq_#$B/$side/seq_#")
            case "$c" in *seq_*) args="" ;; *) args=" $DATA" ;; esac
            line=$(env -u OPENBLAS_CORETYPE $PIN $c$args 2>/dev/null | tail -n 1)
            echo "$rep|$name|$side|$line" | tee -a "$out" >&2
        done
    done
done
echo
echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; $($CC --version | head -n 1)"
echo "This tree against $BASE ($(git rev-parse --short "$BASE")), medians of $REPS alternated runs:"
awk -F'|' '
    function median(s,   n, a, i, j, t) { n = split(s, a, " "); for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
                                          return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
    {
        if (!($2 in seen)) { seen[$2] = 1; order[++count] = $2 }
        n = split($4, f, " "); v = ""; h = ""
        for (i = 1; i < n; i++) { if (f[i] == "samples/s" || f[i] == "sequences/s") v = f[i + 1]; if (f[i] == "params") h = f[i + 1] }
        val[$2, $3] = val[$2, $3] " " v
        if ($3 == "base") last[$2] = v; else if (last[$2] > 0) r[$2] = r[$2] " " sprintf("%.3f", v / last[$2])
        if (h != "") { if (hash[$2, $3] == "") hash[$2, $3] = h; else if (hash[$2, $3] != h) hash[$2, $3] = "varies" }
    }
    END {
        printf "%-24s %12s %12s %9s   %s\n", "row", "base", "new", "new/base", "hashes"
        for (k = 1; k <= count; k++) { w = order[k]
            hs = hash[w, "base"] == "" ? "-" : (hash[w, "base"] == hash[w, "new"] ? "same " hash[w, "new"] : "DIFFER")
            printf "%-24s %12.0f %12.0f %9.3f   %s   per run:%s\n", w, median(val[w, "base"]), median(val[w, "new"]), median(r[w]), hs, r[w] }
    }' "$out"
