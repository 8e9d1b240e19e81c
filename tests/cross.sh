#!/bin/sh
# The unit tests where users build besides this machine (issue 19): aarch64 and big-endian
# s390x under qemu-user, Windows x86-64 (MinGW-w64) under wine, where the OCR example also
# trains on the bundled digits. Each stage says why it skips when a tool is missing
# (.ci/run installs them: gcc-aarch64-linux-gnu gcc-s390x-linux-gnu qemu-user
# gcc-mingw-w64-x86-64 wine wine64). Usage: tests/cross.sh
cd "$(dirname "$0")/.." || exit 1
out=build/cross
mkdir -p "$out"
STRICT="-std=c99 -Wall -Wextra -Wpedantic -Werror -O2 -D_POSIX_C_SOURCE=200809L"
pass=0 fail=0

run() {  # name, then the command; its output is shown on failure
    name=$1; shift
    if "$@" >"$out/log" 2>&1; then
        pass=$((pass + 1)); echo "ok   cross: $name ($(tail -n 1 "$out/log"))"
    else
        fail=$((fail + 1)); echo "FAIL cross: $name"; sed 's/^/     /' "$out/log"
    fi
}

# linux targets under qemu-user: a static build, so no target libraries are needed to run
for t in aarch64:qemu-aarch64 s390x:qemu-s390x; do
    arch=${t%%:*} qemu=${t#*:} cc=${t%%:*}-linux-gnu-gcc
    if ! command -v "$cc" >/dev/null 2>&1 || ! command -v "$qemu" >/dev/null 2>&1; then
        echo "skip cross: $arch: needs $cc and $qemu (apt-get install gcc-$arch-linux-gnu qemu-user)"
        continue
    fi
    run "$arch: build" $cc $STRICT -static -o "$out/test_$arch" tests/test_backprop.c -lm -pthread
    run "$arch: build the examples' tests" $cc $STRICT -static -o "$out/examples_$arch" \
        tests/test_examples.c -lm
    run "$arch: unit tests under $qemu" env BP_TEST_QUICK=1 "$qemu" "$out/test_$arch"
    run "$arch: the examples' tests under $qemu" "$qemu" "$out/examples_$arch"
done

# Windows x86-64: MinGW-w64, run by wine (its first run makes a prefix: WINEPREFIX in build/)
cc=x86_64-w64-mingw32-gcc
if ! command -v $cc >/dev/null 2>&1 || ! command -v wine >/dev/null 2>&1; then
    echo "skip cross: windows: needs $cc and wine (apt-get install gcc-mingw-w64-x86-64 wine wine64)"
else
    export WINEDEBUG=-all WINEPREFIX="$PWD/$out/wine"
    run "windows: build" $cc $STRICT -static -o "$out/test.exe" tests/test_backprop.c -lm -pthread
    run "windows: build the examples' tests" $cc $STRICT -static -o "$out/examples.exe" \
        tests/test_examples.c -lm
    run "windows: build ocr" $cc $STRICT -static -DOCR_DATA_DIR='"data"' -o "$out/ocr.exe" \
        examples/ocr.c -lm
    run "windows: unit tests under wine" wine "$out/test.exe"
    run "windows: the examples' tests under wine" wine "$out/examples.exe"
    # ocr on the bundled digits: learns (above 90 % in 3 epochs), and a bad option is exit 2
    run "windows: ocr trains on the bundled digits" sh -c \
        "wine $out/ocr.exe --epochs 3 > $out/ocr.txt 2>&1 &&
         awk '/test accuracy/ { sub(\"%\", \"\", \$3); ok = \$3 > 90 } END { exit !ok }' $out/ocr.txt &&
         grep 'test accuracy' $out/ocr.txt"
    run "windows: ocr refuses a bad option with status 2" sh -c \
        "wine $out/ocr.exe --epochs x > $out/ocr.txt 2>&1; test \$? = 2 && echo exit 2"
fi

echo "cross: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
