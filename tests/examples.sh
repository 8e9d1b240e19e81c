#!/bin/sh
# End-to-end tests of the example programs: exit statuses, final lines, option errors, bad
# files. Usage: tests/examples.sh BUILD_DIR   (run from the repository root; make test does)
B=${1:-build}
T=$B/examples-test
mkdir -p "$T"
pass=0 fail=0
ok()  { pass=$((pass + 1)); echo "ok   examples: $1"; }
bad() { fail=$((fail + 1)); echo "FAIL examples: $1"; [ -f "$T/err" ] && sed 's/^/     /' "$T/err" | head -5; }
check() { name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }

# --- xor ---
"$B/xor" > "$T/out" 2> "$T/err"; rc=$?
check "xor exits 0" [ $rc -eq 0 ]
check "xor prints the truth table and 'xor: max error E'" \
    sh -c "grep -q ' 1  1 |    0    |' '$T/out' && tail -n 1 '$T/out' | grep -Eq '^xor: max error 0\.[0-9]{4}$'"
n=0
for seed in $(seq 1 100); do "$B/xor" "$seed" > /dev/null 2>&1 && n=$((n + 1)); done
echo "     xor converged for $n of seeds 1..100"
check "xor converges for at least 95 of 100 seeds" [ "$n" -ge 95 ]
"$B/xor" nope > /dev/null 2> "$T/err"; rc=$?
check "xor rejects a bad seed with status 2" [ $rc -eq 2 ]

# --- order: a GRU (and an LSTM, an Elman net) learns which symbol came first ---
for cell in gru lstm elman; do
    "$B/order" --cell $cell --quiet > "$T/out" 2> "$T/err"; rc=$?
    line=$(tail -n 1 "$T/out")
    echo "     order --cell $cell: $line"
    acc=$(echo "$line" | sed -n 's/^test accuracy: \([0-9.]*\)% (dense on the symbol counts: \([0-9.]*\)%)$/\1 \2/p')
    check "order --cell $cell exits 0, at least 97% where the dense net on the counts is within 45..55%" \
        sh -c "[ $rc -eq 0 ] && echo '$acc' | awk '{ exit !(NF == 2 && \$1 >= 97 && \$2 >= 45 && \$2 <= 55) }'"
    # every cell's stream (an LSTM's carry holds c too: a carry sized for h alone printed NaN)
    check "order --cell $cell streams a sequence of each class, its last posterior on the right side of 0.5" \
        sh -c "grep '^streamed .*(A before B)' '$T/out' | awk '{ exit !(\$NF > 0.5) }' && grep '^streamed .*(A after B)' '$T/out' | awk '{ exit !(\$NF < 0.5) }'"
done
"$B/order" --cell tree > /dev/null 2> "$T/err"; rc=$?
check "order refuses an unknown cell with status 2 and says why" sh -c "[ $rc -eq 2 ] && grep -q 'cell takes gru' '$T/err'"
"$B/order" --epochs 0 > /dev/null 2> "$T/err"; rc=$?
check "order refuses --epochs 0 with status 2" [ $rc -eq 2 ]

# --- ocr on the bundled digits, with its defaults ---
"$B/ocr" --plot "$T/plot.svg" > "$T/out" 2> "$T/err"; rc=$?
check "ocr exits 0 with its defaults" [ $rc -eq 0 ]
acc=$(tail -n 1 "$T/out" | sed -n 's/^test accuracy: \([0-9]*\.[0-9][0-9]\)%$/\1/p')
echo "     ocr default test accuracy: ${acc:-none}%"
check "ocr's last line is 'test accuracy: NN.NN%' and it is at least 98% (seed 1)" \
    awk -v a="$acc" 'BEGIN { exit !(a != "" && a + 0 >= 98) }'
check "ocr prints a confusion matrix of 10 rows summing to the 360 test digits" \
    sh -c "grep -A 11 '^confusion matrix' '$T/out' | awk 'NR > 2 { for (i = 2; i <= NF; i++) s += \$i; r++ } END { exit !(r == 10 && s == 360) }'"
check "ocr reports one progress line per epoch on stderr (30 by default)" \
    [ "$(grep -c '^epoch .*loss .*train .*test .*s$' "$T/err")" -eq 30 ]
check "ocr --plot writes an SVG with three series" \
    sh -c "head -c 4 '$T/plot.svg' | grep -q '<svg' && [ \$(grep -c '<polyline' '$T/plot.svg') -eq 3 ] && tail -n 1 '$T/plot.svg' | grep -q '</svg>'"
# the defaults hold for every seed, not just the first (Adam, lr 0.003, batch 32, cosine)
worst=100 worst_seed=0
for seed in $(seq 1 20); do
    a=$("$B/ocr" --quiet --seed "$seed" | sed -n 's/^test accuracy: \([0-9.]*\)%$/\1/p')
    if awk -v a="$a" -v w="$worst" 'BEGIN { exit !(a == "" || a + 0 < w + 0) }'; then worst=${a:-0} worst_seed=$seed; fi
done
echo "     ocr default test accuracy, worst of seeds 1..20: ${worst}% (seed $worst_seed)"
check "ocr's defaults reach at least 97% for every seed 1..20" awk -v a="$worst" 'BEGIN { exit !(a + 0 >= 97) }'
"$B/ocr" --quiet --epochs 2 --hidden 32,16 --act tanh --batch 7 --lr 0.1 --momentum 0.5 --seed 9 \
    --opt momentum --decay 0.001 --schedule step --clip 1 > "$T/out" 2> "$T/err"; rc=$?
check "ocr --quiet with every training option: exit 0, nothing on stderr" [ $rc -eq 0 -a ! -s "$T/err" ]
for opt in sgd momentum adam adamw rmsprop; do
    "$B/ocr" --quiet --epochs 10 --opt "$opt" > "$T/out" 2> "$T/err"; rc=$?
    a=$(sed -n 's/^test accuracy: \([0-9.]*\)%$/\1/p' "$T/out")
    check "ocr --opt $opt learns the digits in 10 epochs (${a}%, at least 90%)" \
        sh -c "[ $rc -eq 0 ] && awk -v a='$a' 'BEGIN { exit !(a != \"\" && a + 0 >= 90) }'"
done
"$B/ocr" --epochs 60 --patience 5 > "$T/out" 2> "$T/err"; rc=$?
check "ocr --patience 5: stops early and keeps the best held-out epoch's parameters" \
    sh -c "[ $rc -eq 0 ] && grep -q '^ocr: kept epoch [0-9]*.s parameters.*stopped early' '$T/err' && [ \$(grep -c '^epoch ' '$T/err') -lt 60 ]"
"$B/ocr" --opt sgd --lr 10 --schedule none --act linear --hidden 64,64 --epochs 3 > /dev/null 2> "$T/err"; rc=$?
check "ocr whose training diverges: status 1, says so and what to try" \
    sh -c "[ $rc -eq 1 ] && grep -q 'infinite or NaN' '$T/err' && grep -q 'smaller --lr' '$T/err'"
"$B/ocr" --quiet --epochs 3 --seed 4 > "$T/a" 2>/dev/null
"$B/ocr" --quiet --epochs 3 --seed 4 > "$T/b" 2>/dev/null
check "ocr is deterministic for a seed" cmp -s "$T/a" "$T/b"
"$B/ocr" --help > "$T/out" 2>&1; rc=$?
check "ocr --help exits 0 and lists the options" sh -c "[ $rc -eq 0 ] && grep -q -- '--train-images' '$T/out'"

# --- saved models: --save, then --load evaluates without training ---
"$B/ocr" --quiet --epochs 5 --save "$T/model.bpmodel" > "$T/a" 2>/dev/null; rc=$?
"$B/ocr" --load "$T/model.bpmodel" > "$T/b" 2> "$T/err"; rc2=$?
check "ocr --save then --load: the same confusion matrix and accuracy, no training" \
    sh -c "[ $rc -eq 0 -a $rc2 -eq 0 ] && cmp -s '$T/a' '$T/b' && ! grep -q '^epoch' '$T/err'"
head -c 100 "$T/model.bpmodel" > "$T/cut.bpmodel"
"$B/ocr" --load "$T/cut.bpmodel" > /dev/null 2> "$T/err"; rc=$?
check "ocr --load of a truncated model: status 1, says truncated" sh -c "[ $rc -eq 1 ] && grep -q 'truncated' '$T/err'"
"$B/ocr" --load tests/fixtures/ff-2-3-2.bpmodel > /dev/null 2> "$T/err"; rc=$?
check "ocr --load of a model that does not fit the data: status 1" sh -c "[ $rc -eq 1 ] && grep -q '2-input' '$T/err'"
"$B/ocr" --quiet --epochs 1 --save /nonexistent/dir/m.bpmodel > /dev/null 2> "$T/err"; rc=$?
check "ocr --save into a missing directory: status 1 with the reason" sh -c "[ $rc -eq 1 ] && grep -q 'No such file' '$T/err'"
"$B/ocr" --load "$T/model.bpmodel" --plot "$T/x.svg" > /dev/null 2> "$T/err"; rc=$?
check "ocr --load with --plot: status 2" [ $rc -eq 2 ]
"$B/ocr" --quiet --epochs 10 --shift 1 > "$T/out" 2> "$T/err"; rc=$?
a=$(sed -n 's/^test accuracy: \([0-9.]*\)%$/\1/p' "$T/out")
check "ocr --shift 1 (augmented batches) learns the digits in 10 epochs (${a}%, at least 85%)" \
    sh -c "[ $rc -eq 0 ] && awk -v a='$a' 'BEGIN { exit !(a != \"\" && a + 0 >= 85) }'"
"$B/ocr" --quiet --epochs 3 --seed 4 --shift 1 --flip > "$T/a" 2>/dev/null
"$B/ocr" --quiet --epochs 3 --seed 4 --shift 1 --flip > "$T/b" 2>/dev/null
"$B/ocr" --quiet --epochs 3 --seed 4 > "$T/c" 2>/dev/null
check "ocr --shift 1 --flip is deterministic for a seed, and changes the training" \
    sh -c "cmp -s '$T/a' '$T/b' && ! cmp -s '$T/a' '$T/c'"

# --- int8: the quantized net's accuracy; a model as C source (bp2c), compiled in ---
for args in "" "--hidden 64,32 --act tanh" "--act leaky_relu"; do
    "$B/ocr" --quiet --int8 $args > "$T/out" 2> "$T/err"; rc=$?
    f=$(sed -n 's/^test accuracy: \([0-9.]*\)%$/\1/p' "$T/out")
    q=$(sed -n 's/^int8 test accuracy: \([0-9.]*\)%.*/\1/p' "$T/out")
    check "ocr --int8 $args: int8 ${q}% within 0.5 points of float ${f}%" \
        sh -c "[ $rc -eq 0 ] && awk -v f='$f' -v q='$q' 'BEGIN { d = f - q; exit !(q != \"\" && d <= 0.5 && d >= -0.5) }'"
done
"$B/ocr" --quiet --epochs 3 --hidden 32 --save "$T/m.bpmodel" --save-int8 "$T/m.bpq" > /dev/null 2> "$T/err"; rc=$?
check "ocr --save-int8 writes a model" sh -c "[ $rc -eq 0 ] && [ -s '$T/m.bpq' ]"
mkdir -p "$T/csrc"
"$B/bp2c" --name mf "$T/m.bpmodel" > "$T/csrc/mf.h" 2> "$T/err" && "$B/bp2c" --name mq "$T/m.bpq" > "$T/csrc/mq.h" 2>> "$T/err"; rc=$?
check "bp2c writes the float and the int8 model as C headers" sh -c "[ $rc -eq 0 ] && grep -q 'static const float mf_params' '$T/csrc/mf.h' && grep -q 'static const int8_t mq_weights' '$T/csrc/mq.h'"
"$B/bp2c" --name mi --int8 data/optdigits-images.idx3-ubyte "$T/m.bpmodel" > "$T/csrc/mi.h" 2> "$T/err"; rc=$?
check "bp2c --int8 IMAGES quantizes a float model" sh -c "[ $rc -eq 0 ] && grep -q 'static const int32_t mi_q' '$T/csrc/mi.h'"
${CC:-cc} -std=c99 -Wall -Wextra -Wpedantic -Werror -I"$T/csrc" -o "$T/csrc/cs" tests/c_source.c -lm > "$T/err" 2>&1 \
    && "$T/csrc/cs" "$T/m.bpmodel" "$T/m.bpq" > "$T/out" 2>> "$T/err"; rc=$?
check "the headers compiled in (C99) run to the bits of the loaded models" sh -c "[ $rc -eq 0 ] && grep -q 'the bits of the loaded' '$T/out'"
if command -v ${CXX:-c++} > /dev/null 2>&1; then
    ${CXX:-c++} -std=c++17 -Wall -Wextra -Wpedantic -Werror -I"$T/csrc" -x c++ -o "$T/csrc/cspp" tests/c_source.c -lm > "$T/err" 2>&1 \
        && "$T/csrc/cspp" "$T/m.bpmodel" "$T/m.bpq" > "$T/out" 2>> "$T/err"; rc=$?
    check "the headers compiled in as C++17 run to the same bits" [ $rc -eq 0 ]
else
    echo "skip the C++17 build of the model headers: no C++ compiler"
fi
# a sequence net as C source (bp_seq_to_c), compiled in, against the same model's file
"$B/test_seq" --write-c "$T/csrc" > /dev/null 2> "$T/err" \
    && ${CC:-cc} -std=c99 -Wall -Wextra -Wpedantic -Werror -I"$T/csrc" -o "$T/csrc/ss" tests/seq_source.c -lm >> "$T/err" 2>&1 \
    && "$T/csrc/ss" "$T/csrc/ms.bpseq" > "$T/out" 2>> "$T/err"; rc=$?
check "a sequence net's header compiled in (C99) streams to the bits of its loaded file" sh -c "[ $rc -eq 0 ] && grep -q 'the bits of the loaded' '$T/out'"
if command -v ${CXX:-c++} > /dev/null 2>&1; then
    ${CXX:-c++} -std=c++17 -Wall -Wextra -Wpedantic -Werror -I"$T/csrc" -x c++ -o "$T/csrc/sspp" tests/seq_source.c -lm > "$T/err" 2>&1 \
        && "$T/csrc/sspp" "$T/csrc/ms.bpseq" > "$T/out" 2>> "$T/err"; rc=$?
    check "the sequence net's header as C++17 streams to the same bits" [ $rc -eq 0 ]
fi
"$B/bp2c" > /dev/null 2>&1; rc=$?
check "bp2c without a model: status 2" [ $rc -eq 2 ]
"$B/bp2c" --name 9lives "$T/m.bpmodel" > /dev/null 2> "$T/err"; rc=$?
check "bp2c --name that is no C identifier: status 1, says so" sh -c "[ $rc -eq 1 ] && grep -q 'C identifier' '$T/err'"
"$B/bp2c" "$T/cut.bpmodel" > /dev/null 2> "$T/err"; rc=$?
check "bp2c of a truncated model: status 1, says truncated" sh -c "[ $rc -eq 1 ] && grep -q 'truncated' '$T/err'"
"$B/bp2c" --int8 data/optdigits-images.idx3-ubyte "$T/m.bpq" > /dev/null 2> "$T/err"; rc=$?
check "bp2c --int8 of an int8 model: status 1" sh -c "[ $rc -eq 1 ] && grep -q 'int8 model already' '$T/err'"
"$B/bp2c" --int8 data/optdigits-labels.idx1-ubyte "$T/m.bpmodel" > /dev/null 2> "$T/err"; rc=$?
check "bp2c --int8 with a file that holds no images: status 1" [ $rc -eq 1 ]

# --- bad options: a message and status 2 ---
for args in "--epochs 0" "--epochs abc" "--epochs" "--hidden 0" "--hidden 12,,3" "--hidden 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16" \
            "--act softmax" "--act nope" "--lr 0" "--lr -1" "--lr nan" "--momentum 1" "--batch 0" \
            "--seed -3" "--decay -1" "--frobnicate" "stray" "--train-images x" "--opt nope" "--schedule x" \
            "--clip -1" "--patience -1" "--shift -1" "--shift 17" "--shift x" "--load x --flip"; do
    "$B/ocr" $args > /dev/null 2> "$T/err"; rc=$?
    check "ocr $args: status 2 with a message" sh -c "[ $rc -eq 2 ] && grep -q '^ocr: ' '$T/err'"
done

# --- recurrent: the associative memory ---
"$B/recurrent" > "$T/out" 2> "$T/err"; rc=$?
check "recurrent exits 0 (recalled digits at least twice as close as the corrupted ones)" [ $rc -eq 0 ]
check "recurrent's last line reports both errors" \
    sh -c "tail -n 1 '$T/out' | grep -Eq '^recurrent: mean squared error per pixel: corrupted 0\.[0-9]{4}, recalled 0\.[0-9]{4}$'"
check "recurrent draws before/after pictures with the relaxation steps" \
    sh -c "[ \$(grep -c 'settled: [0-9]* steps' '$T/out') -eq 4 ]"
check "recurrent reports one line per epoch (8 by default)" [ "$(grep -c '^epoch .*relaxation steps per sample' "$T/err")" -eq 8 ]
"$B/recurrent" --quiet --epochs 1 --seed 3 > "$T/a" 2>&1
"$B/recurrent" --quiet --epochs 1 --seed 3 > "$T/b" 2>&1
check "recurrent is deterministic for a seed" cmp -s "$T/a" "$T/b"
for args in "--epochs 0" "--hidden -1" "--lr 0" "--seed x" "--bogus"; do
    "$B/recurrent" $args > /dev/null 2> "$T/err"; rc=$?
    check "recurrent $args: status 2 with a message" sh -c "[ $rc -eq 2 ] && grep -q '^recurrent: ' '$T/err'"
done

# --- IDX files: the bundled ones given explicitly (also gzipped), then broken ones ---
D=data
I=$D/optdigits-images.idx3-ubyte L=$D/optdigits-labels.idx1-ubyte
"$B/ocr" --quiet --epochs 1 --train-images $I --train-labels $L --test-images $I --test-labels $L > "$T/out" 2> "$T/err"; rc=$?
check "ocr reads IDX files given by path" sh -c "[ $rc -eq 0 ] && tail -n 1 '$T/out' | grep -q '^test accuracy: '"
if command -v gzip > /dev/null 2>&1; then
    gzip -c $I > "$T/i.gz"; gzip -c $L > "$T/l.gz"
    "$B/ocr" --quiet --epochs 1 --train-images "$T/i.gz" --train-labels "$T/l.gz" --test-images $I --test-labels $L > "$T/out2" 2> "$T/err"; rc=$?
    check "ocr reads .gz IDX files, with the same result" sh -c "[ $rc -eq 0 ] && cmp -s '$T/out' '$T/out2'"
else
    echo "skip ocr .gz test: gzip is not installed"
fi
head -c 5000 $I > "$T/trunc"
printf 'garbage, not an IDX file' > "$T/garbage"
cat $I $L > "$T/trailing"
for case in "trunc:truncated" "garbage:not an IDX" "trailing:trailing" "missing:No such file"; do
    f=${case%%:*} want=${case#*:}
    "$B/ocr" --quiet --train-images "$T/$f" --train-labels $L --test-images $I --test-labels $L > /dev/null 2> "$T/err"; rc=$?
    check "ocr with a $f image file: status 1, says '$want'" sh -c "[ $rc -eq 1 ] && grep -q '$want' '$T/err'"
done
"$B/ocr" --quiet --train-images $I --train-labels $I --test-images $I --test-labels $L > /dev/null 2> "$T/err"; rc=$?
check "ocr with images given as labels: status 1" sh -c "[ $rc -eq 1 ] && grep -q 'labels' '$T/err'"
"$B/ocr" --quiet --data /nonexistent > /dev/null 2> "$T/err"; rc=$?
check "ocr without its bundled data: status 1, says where it looked" sh -c "[ $rc -eq 1 ] && grep -q '/nonexistent' '$T/err'"

# --- commands: the spoken-command recognizer, trained on the bundled features ---
"$B/commands" --model dense --quiet > "$T/out" 2> "$T/err"; rc=$?
line=$(tail -n 1 "$T/out"); echo "     commands --model dense: $line"
check "commands --model dense: at least 75% on the held-out voices" \
    sh -c "[ $rc -eq 0 ] && echo '$line' | awk '{ exit !(\$1 == \"test\" && \$3 + 0 >= 75) }'"
"$B/commands" --hidden 64 --epochs 8 --quiet --save "$T/cmd.bpseq" --export-c "$T/commands_model.h" \
    --stream data/commands-stream.wav --marks data/commands-stream.txt > "$T/out" 2> "$T/err"; rc=$?
line=$(tail -n 1 "$T/out"); echo "     commands (a GRU of 64, 8 epochs): $line"; grep '^stream' "$T/out" | sed 's/^/     /'
check "commands, a small GRU: at least 80% on the held-out voices" \
    sh -c "[ $rc -eq 0 ] && echo '$line' | awk '{ exit !(\$1 == \"test\" && \$3 + 0 >= 80) }'"
check "commands prints a confusion matrix of the 480 test clips" \
    sh -c "sed -n '/^confusion/,/_silence_/p' '$T/out' | awk 'NR > 2 { for (i = 2; i <= NF; i++) s += \$i; n++ } END { exit !(n == 12 && s == 480) }'"
check "commands --stream hears at least 12 of the stream's 16 commands with at most 4 false alarms" \
    sh -c "grep '^stream:' '$T/out' | sed 's/.*heard \([0-9]*\) of them ([0-9]* missed), \([0-9]*\) false.*/\1 \2/' | awk '{ exit !(NF == 2 && \$1 >= 12 && \$2 <= 4) }'"
"$B/commands" --load "$T/cmd.bpseq" --quiet > "$T/out2" 2> "$T/err"
check "commands --load gives the saved model's accuracy" sh -c "[ \"\$(tail -n 1 '$T/out2')\" = '$line' ]"
"$B/commands" --model cnn > /dev/null 2> "$T/err"; rc=$?
check "commands refuses --model cnn with status 2 and says why" sh -c "[ $rc -eq 2 ] && grep -q 'gru or dense' '$T/err'"
"$B/commands" --marks x > /dev/null 2> "$T/err"; rc=$?
check "commands refuses --marks without --stream with status 2" [ $rc -eq 2 ]
"$B/commands" --idx /nonexistent > /dev/null 2> "$T/err"; rc=$?
check "commands without its data: status 1, names the file" sh -c "[ $rc -eq 1 ] && grep -q '/nonexistent/commands-train' '$T/err'"
head -c 3000 data/commands-stream.wav > "$T/cut.wav"
"$B/commands" --load "$T/cmd.bpseq" --quiet --stream "$T/cut.wav" > /dev/null 2> "$T/err"; rc=$?
check "commands --stream refuses a truncated WAV with status 1 and says so" sh -c "[ $rc -eq 1 ] && grep -q 'truncated' '$T/err'"
printf 'RIFF\044\0\0\0WAVEfmt \020\0\0\0\001\0\002\0\200\076\0\0\0\372\0\0\004\0\020\0data\0\0\0\0' > "$T/stereo.wav"
"$B/commands" --load "$T/cmd.bpseq" --quiet --stream "$T/stereo.wav" > /dev/null 2> "$T/err"; rc=$?
check "commands --stream refuses a stereo WAV with status 1 and says so" sh -c "[ $rc -eq 1 ] && grep -q 'not mono' '$T/err'"
# the same small GRU as C source, on the host and on an emulated Cortex-M4
if sh tests/commands_m4.sh "$T" > "$T/m4" 2>&1; then cat "$T/m4" | sed 's/^/     /'; ok "the recognizer built for a Cortex-M4 predicts what the host's build does (or skips without the tools)"
else sed 's/^/     /' "$T/m4"; bad "the recognizer on the Cortex-M4"; fi

echo "examples: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
