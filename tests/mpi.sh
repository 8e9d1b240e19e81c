#!/bin/sh
# MPI tests: data-parallel training on 2 ranks gives the parameters 1 rank gives, up to float
# summation order; a full 2-rank run learns the digits. Usage: tests/mpi.sh BUILD_DIR
B=${1:-build}
O=$B/mpi
mkdir -p "$O"
R="mpirun --allow-run-as-root --oversubscribe -n"
pass=0 fail=0
ok()  { pass=$((pass + 1)); echo "ok   mpi: $1"; }
bad() { fail=$((fail + 1)); echo "FAIL mpi: $1"; }
# 20 updates with global batch 32 from the same start, with the defaults (Adam): on 2 ranks
# each global batch is split 16 + 16 and the two shares' gradients are summed by
# MPI_Allreduce, on 1 rank it is one sum over 32. Only the order of the float additions
# differs (a few ulps per gradient, and Adam's step m / sqrt(v) moves by as little); measured
# after 20 steps the parameters (|p| <= 0.5) differ by at most 7e-8. We allow 1e-5. A wrong
# split, a missing share weight, unsynchronised starts or orders move them by ~lr = 3e-3 in a
# single step.
for n in 1 2; do
    rm -f "$O/p$n.bin"
    $R $n "$B/mpi_ocr" --quiet --steps 20 --batch 32 --dump "$O/p$n.bin" > "$O/out$n" 2>&1
done
if [ -s "$O/p1.bin" ] && [ -s "$O/p2.bin" ] && [ "$(wc -c < "$O/p1.bin")" -eq "$(wc -c < "$O/p2.bin")" ]; then
    res=$(od -An -v -f -w4 "$O/p1.bin" > "$O/p1.txt"; od -An -v -f -w4 "$O/p2.bin" > "$O/p2.txt";
          paste "$O/p1.txt" "$O/p2.txt" | awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > m) m = d; n++ }
                                               END { printf "%d %g", n, m; exit !(n > 0 && m <= 1e-5) }')
    if [ $? -eq 0 ]; then ok "1 and 2 ranks agree after 20 updates (params, max |difference|: $res)"
    else bad "1 and 2 ranks differ (params, max |difference|: $res)"; fi
else
    bad "the parameter dumps are missing"; cat "$O/out1" "$O/out2" | head -10
fi
$R 2 "$B/mpi_ocr" --quiet > "$O/full" 2>&1; rc=$?
acc=$(sed -n 's/^test accuracy: \([0-9.]*\)%$/\1/p' "$O/full")
if [ $rc -eq 0 ] && awk -v a="$acc" 'BEGIN { exit !(a != "" && a + 0 >= 97) }'; then
    ok "2 ranks train the bundled digits to ${acc}% with ocr's defaults (at least 97%)"
else
    bad "2-rank training: status $rc, accuracy '${acc}'"; head -5 "$O/full"
fi
$R 2 "$B/mpi_ocr" --quiet --epochs 40 --patience 4 > "$O/pat" 2>&1; rc=$?
if [ $rc -eq 0 ] && grep -q '^test accuracy: ' "$O/pat"; then ok "2 ranks with --patience: every rank stops at the same epoch"
else bad "2 ranks with --patience: status $rc"; head -5 "$O/pat"; fi
# --checkpoint: every process of the 2-rank job killed with SIGKILL (its own session, the
# whole group at once, as a power cut would) three times, then the same command again: the
# parameters of the uninterrupted run, to the byte
ck="--epochs 200 --hidden 512"
rm -f "$O/ck" "$O/ck.tmp" "$O/whole.bin" "$O/resumed.bin"
$R 2 "$B/mpi_ocr" --quiet $ck --dump "$O/whole.bin" > "$O/whole.out" 2>&1
kills=0 at=""
for d in 0.6 0.9 1.2; do
    setsid $R 2 "$B/mpi_ocr" $ck --checkpoint "$O/ck" --dump "$O/resumed.bin" > "$O/resumed.out" 2> "$O/resumed.err" &
    pid=$!
    sleep $d
    kill -9 -$pid 2> /dev/null && kills=$((kills + 1))
    wait $pid 2> /dev/null
    at="$at $(sed -n 's/.*resuming from .* after epoch \([0-9]*\) .*/\1/p' "$O/resumed.err")"
done
$R 2 "$B/mpi_ocr" $ck --checkpoint "$O/ck" --dump "$O/resumed.bin" > "$O/resumed.out" 2> "$O/resumed.err"; rc=$?
at="$at $(sed -n 's/.*resuming from .* after epoch \([0-9]*\) .*/\1/p' "$O/resumed.err")"
echo "     killed $kills times; the runs resumed after epochs$at"
if [ $rc -eq 0 ] && [ $kills -eq 3 ] && [ -s "$O/whole.bin" ] && cmp -s "$O/whole.bin" "$O/resumed.bin" \
   && cmp -s "$O/whole.out" "$O/resumed.out"; then
    ok "2 ranks with --checkpoint, the job killed $kills times and resumed: the uninterrupted run's parameters"
else bad "2 ranks with --checkpoint: status $rc, killed $kills times, parameters or output differ"; head -5 "$O/resumed.err"; fi
$R 2 "$B/mpi_ocr" --epochs 0 > /dev/null 2> "$O/err"; rc=$?
if [ $rc -ne 0 ]; then ok "a bad option ends every rank with a non-zero status"; else bad "a bad option was accepted"; fi
echo "mpi: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
