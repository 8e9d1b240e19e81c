#!/bin/sh
# ocr --checkpoint end to end: a training killed with SIGKILL at random moments (mid-epoch,
# mid-write, during start-up) and started again with the same command ends with the bytes and
# the output of a run never interrupted; damaged and foreign checkpoints are refused with a
# message. Usage: tests/checkpoint.sh BUILD_DIR   (run from the repository root; make test does)
B=${1:-build}
T=$B/checkpoint-test
rm -rf "$T"
mkdir -p "$T"
pass=0 fail=0
ok()  { pass=$((pass + 1)); echo "ok   checkpoint: $1"; }
bad() { fail=$((fail + 1)); echo "FAIL checkpoint: $1"; [ -f "$T/err" ] && sed 's/^/     /' "$T/err" | head -5; }
check() { name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
ms() { echo $(( $(date +%s%N) / 1000000 )); }

# early stopping (best-so-far parameters kept in the checkpoint) and augmentation (its draws
# come from the checkpointed generator): everything the loop keeps must come back
loud="--epochs 300 --hidden 256 --shift 1 --patience 40 --seed 3"
run="--quiet $loud"

# kill_run EVERY: SIGKILL the checkpointed run 10 times at random moments, then let it finish
kill_run() {
    every=$1
    rm -f "$T/ck" "$T/ck.tmp" "$T/resumed.bpmodel"
    kills=0 runs=0 delays="" at=""
    # random moments within the first twelfth of the uninterrupted run's time, 1/24 on average
    # (start-up included): ten kills land before the training ends, on any machine
    moments=$(awk -v t="$whole_ms" -v s="$(ms)" 'BEGIN { srand(s % 1000003); for (i = 0; i < 40; i++) printf "%.3f ", rand() * t / 12000 }')
    while [ $runs -lt 40 ] && [ $kills -lt 10 ]; do
        runs=$((runs + 1))
        d=$(echo $moments | cut -d' ' -f$runs)
        "$B/ocr" $loud --checkpoint "$T/ck" --every "$every" --save "$T/resumed.bpmodel" \
            > "$T/resumed.out" 2> "$T/err" &
        pid=$!
        sleep "$d"
        if kill -9 $pid 2> /dev/null; then kills=$((kills + 1)); delays="$delays $d"; fi
        wait $pid 2> /dev/null
        # where it had resumed (it says so at start-up, unless killed before)
        at="$at $(sed -n 's/.*resuming from .* after epoch \([0-9]*\) .*/\1/p' "$T/err")"
        [ -f "$T/resumed.bpmodel" ] && break            # it had finished before the kill
    done
    echo "     --every $every: killed $kills times, after$delays s; they had resumed after epochs$at"
    "$B/ocr" $run --checkpoint "$T/ck" --every "$every" --save "$T/resumed.bpmodel" \
        > "$T/resumed.out" 2> "$T/err"
}

"$B/ocr" $run --save "$T/whole.bpmodel" > "$T/whole.out" 2> "$T/err"; rc=$?
check "ocr $run: the uninterrupted run" [ $rc -eq 0 ]
start=$(ms)
"$B/ocr" $run --checkpoint "$T/whole.ck" --save "$T/whole-ck.bpmodel" > "$T/whole-ck.out" 2> "$T/err"; rc=$?
whole_ms=$(( $(ms) - start ))
check "the same, writing a checkpoint every epoch (${whole_ms} ms): the same bytes and output" \
    sh -c "[ $rc -eq 0 ] && cmp -s '$T/whole.bpmodel' '$T/whole-ck.bpmodel' && cmp -s '$T/whole.out' '$T/whole-ck.out'"

for every in 1 7; do
    kill_run $every; rc=$?
    distinct=$(echo $at | tr ' ' '\n' | sort -u | grep -c .)
    check "ocr --checkpoint --every $every, killed with SIGKILL 10 times and resumed: the model's bytes and the output of the uninterrupted run" \
        sh -c "[ $rc -eq 0 ] && [ $kills -ge 10 ] && cmp -s '$T/whole.bpmodel' '$T/resumed.bpmodel' && cmp -s '$T/whole.out' '$T/resumed.out'"
    # with a checkpoint every epoch the kills land at several epochs: the resume is exercised
    [ "$every" -eq 1 ] && check "--every 1: the runs resumed from $distinct different epochs (at least 2)" [ "$distinct" -ge 2 ]
done

# a finished checkpoint: the same command again trains nothing and prints the same results
"$B/ocr" $run --checkpoint "$T/ck" > "$T/again.out" 2> "$T/err"; rc=$?
check "ocr --checkpoint of a finished run: no training, the same results" \
    sh -c "[ $rc -eq 0 ] && cmp -s '$T/whole.out' '$T/again.out'"
"$B/ocr" --checkpoint "$T/ck" --epochs 300 --hidden 256 --shift 1 --patience 40 --seed 4 > /dev/null 2> "$T/err"; rc=$?
check "ocr --checkpoint written under other settings (--seed): status 1, says so" \
    sh -c "[ $rc -eq 1 ] && grep -q 'other settings' '$T/err'"
"$B/ocr" --checkpoint "$T/ck" --epochs 30 > /dev/null 2> "$T/err"; rc=$?
check "ocr --checkpoint written for another net: status 1, says so" \
    sh -c "[ $rc -eq 1 ] && grep -q 'other settings' '$T/err'"
head -c 1000 "$T/ck" > "$T/cut"
"$B/ocr" $run --checkpoint "$T/cut" > /dev/null 2> "$T/err"; rc=$?
check "ocr --checkpoint of a truncated file: status 1, says truncated, the file is kept" \
    sh -c "[ $rc -eq 1 ] && grep -q 'truncated' '$T/err' && [ \$(wc -c < '$T/cut') -eq 1000 ]"
"$B/ocr" $run --checkpoint "$T/whole.bpmodel" > /dev/null 2> "$T/err"; rc=$?
check "ocr --checkpoint of a model (not a checkpoint): status 1" [ $rc -eq 1 ]
"$B/ocr" --quiet --epochs 2 --checkpoint /nonexistent/dir/ck > /dev/null 2> "$T/err"; rc=$?
check "ocr --checkpoint into a missing directory: status 1 with the reason" \
    sh -c "[ $rc -eq 1 ] && grep -q 'No such file' '$T/err'"
for args in "--every 3" "--checkpoint x --every 0" "--checkpoint x --load y"; do
    "$B/ocr" $args > /dev/null 2> "$T/err"; rc=$?
    check "ocr $args: status 2 with a message" sh -c "[ $rc -eq 2 ] && grep -q '^ocr: ' '$T/err'"
done

echo "checkpoint: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
