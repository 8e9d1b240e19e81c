#!/bin/sh
# The test runner behind make test and make test-all: runs the named make targets (the
# stages) JOBS at a time (default: the machine's cores), each one's output into
# build/logs/STAGE.log, and prints one line per stage as it ends: its name, ok / FAIL / skip,
# its checks' count (the "N passed, M failed" lines its programs print, summed) and its time.
# A failed stage's failing lines and the end of its log follow its line, so the deliberate
# error messages the tests provoke stay in the logs. Ends with the total time and the
# closing line "N passed, M failed". V=1 prints every stage's whole log instead.
# Usage: tests/run.sh NAME STAGE...   (from the repository root; the Makefile passes its
# variables through the environment)
cd "$(dirname "$0")/.." || exit 1
name=$1
shift
L=build/logs
mkdir -p "$L"
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
[ "$jobs" -ge 1 ] 2>/dev/null || jobs=1
now() { date +%s; }
t0=$(now)
total_pass=0 total_fail=0 failed_stages="" skipped=0

# The stages share build products (the examples, the test programs): build them once first,
# so that stages running side by side never build the same file at once.
if ! ${MAKE:-make} -s all > "$L/build.log" 2>&1; then
    echo "build          FAIL (the examples and test programs do not build: $L/build.log)"
    sed 's/^/     /' "$L/build.log" | tail -20
    echo "$name: 0 stages in $(( $(now) - t0 )) s"
    echo "0 passed, 1 failed"
    exit 1
fi

# report STAGE: one line from its log and status
report() {
    stage=$1 log="$L/$1.log" rc=$(cat "$L/$1.rc") secs=$(( $(cat "$L/$1.end") - $(cat "$L/$1.start") ))
    counts=$(sed -n 's/^\(.*: \)\{0,1\}\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed.*$/\2 \3/p' "$log" |
             awk '{ p += $1; f += $2; n++ } END { if (n) print p, f }')
    p=${counts% *} f=${counts#* }
    if [ -z "$counts" ]; then
        p=0 f=0
        if [ "$rc" -eq 0 ] && grep -qi '^skip' "$log"; then
            printf '%-14s skip  %s\n' "$stage" "$(grep -i -m1 '^skip' "$log")"
            skipped=$((skipped + 1))
            return
        fi
        [ "$rc" -eq 0 ] || f=1
    fi
    [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1         # a build error, or a crash after counting
    total_pass=$((total_pass + p)) total_fail=$((total_fail + f))
    if [ "$rc" -eq 0 ]; then
        printf '%-14s ok    %4d passed, %d failed  %4d s\n' "$stage" "$p" "$f" "$secs"
    else
        printf '%-14s FAIL  %4d passed, %d failed  %4d s   (log: %s)\n' "$stage" "$p" "$f" "$secs" "$log"
        failed_stages="$failed_stages $stage"
        grep -E '^(FAIL|.*check failed|.*error:)' "$log" | head -20 | sed 's/^/     /'
        echo "     ... the log's last lines:"
        tail -n 8 "$log" | sed 's/^/     /'
    fi
    if [ -n "$V" ] && [ "$V" != 0 ]; then sed 's/^/     | /' "$log"; fi
    grep -i '^skip' "$log" | sed 's/^/     /'
}

running=""
start_stage() {
    rm -f "$L/$1.rc"
    now > "$L/$1.start"
    ( ${MAKE:-make} -s "$1" > "$L/$1.log" 2>&1; echo $? > "$L/$1.rc.tmp"; now > "$L/$1.end"; mv "$L/$1.rc.tmp" "$L/$1.rc" ) &
    running="$running $1"
}
# waits for one running stage to end, reports it and takes it off the list
finish_one() {
    while :; do
        for r in $running; do
            if [ -f "$L/$r.rc" ]; then
                report "$r"
                running=$(echo " $running " | sed "s/ $r / /; s/^ *//; s/ *$//")
                return
            fi
        done
        sleep 0.2
    done
}

count=0
for st in "$@"; do
    set -- $running
    [ $# -ge "$jobs" ] && finish_one
    start_stage "$st"
    count=$((count + 1))
done
while [ -n "$(echo $running)" ]; do finish_one; done
wait

secs=$(( $(now) - t0 ))
echo "$name: $count stages ($skipped skipped) in $secs s, $jobs at a time${failed_stages:+; failed:$failed_stages}"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ] && [ -z "$failed_stages" ]
