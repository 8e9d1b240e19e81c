#!/bin/sh
# Consumer tests: install into a scratch DESTDIR, then build and run tests/consumer/main.c
# through pkg-config, through CMake's find_package, and through add_subdirectory; check that
# the header's version, the pkg-config version and the CMake package version agree; uninstall.
# Each tool that is missing is skipped with the reason. Run from the repository root.
D=$PWD/build/consumers
rm -rf "$D"
mkdir -p "$D"
pass=0 fail=0
ok()  { pass=$((pass + 1)); echo "ok   consumers: $1"; }
bad() { fail=$((fail + 1)); echo "FAIL consumers: $1"; sed 's/^/     /' "$D/log" | tail -15; }
V=$(sed -n 's/^#define BACKPROP_VERSION_STRING "\(.*\)"/\1/p' backprop.h)
M=$(sed -n 's/^#define BACKPROP_VERSION_MAJOR \([0-9]*\)/\1/p' backprop.h)
N=$(sed -n 's/^#define BACKPROP_VERSION_MINOR \([0-9]*\)/\1/p' backprop.h)
P=$(sed -n 's/^#define BACKPROP_VERSION_PATCH \([0-9]*\)/\1/p' backprop.h)
if [ "$V" = "$M.$N.$P" ]; then ok "the header's version string $V matches its MAJOR.MINOR.PATCH"
else echo "string $V, numbers $M.$N.$P" > "$D/log"; bad "the header's version macros agree"; fi

if make -s install DESTDIR="$D/root" PREFIX=/usr/local > "$D/log" 2>&1 && [ -f "$D/root/usr/local/include/backprop.h" ]; then
    ok "make install DESTDIR=... PREFIX=/usr/local"
else
    bad "make install"
fi

if command -v pkg-config > /dev/null 2>&1; then
    export PKG_CONFIG_PATH="$D/root/usr/local/share/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$D/root"
    pv=$(pkg-config --modversion backprop 2>"$D/log")
    if [ "$pv" = "$V" ]; then ok "pkg-config --modversion backprop is $V"; else echo "pkg-config says '$pv'" >> "$D/log"; bad "pkg-config version"; fi
    if ${CC:-cc} -std=c99 -Wall -Wextra -Werror -DEXPECT_VERSION="\"$pv\"" tests/consumer/main.c \
           $(pkg-config --cflags --libs backprop) -o "$D/pc" > "$D/log" 2>&1 && "$D/pc" >> "$D/log" 2>&1; then
        ok "a program built with pkg-config --cflags --libs backprop runs"
    else
        bad "pkg-config consumer"
    fi
    unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
else
    echo "skip pkg-config consumer: pkg-config is not installed (apt-get install pkg-config)"
fi

if command -v cmake > /dev/null 2>&1; then
    if cmake -S tests/consumer -B "$D/cm" -DCMAKE_PREFIX_PATH="$D/root/usr/local" > "$D/log" 2>&1 \
       && cmake --build "$D/cm" >> "$D/log" 2>&1 && "$D/cm/consumer" >> "$D/log" 2>&1; then
        ok "a CMake project with find_package(backprop 0.2) builds and runs (package version $V)"
    else
        bad "CMake find_package consumer"
    fi
    if cmake -S tests/consumer_subdir -B "$D/sub" > "$D/log" 2>&1 \
       && cmake --build "$D/sub" --target consumer >> "$D/log" 2>&1 && "$D/sub/consumer" >> "$D/log" 2>&1; then
        ok "a CMake project with add_subdirectory gets backprop::backprop (version $V)"
    else
        bad "CMake add_subdirectory consumer"
    fi
    sed 's/find_package(backprop 0.2 REQUIRED)/find_package(backprop 99 REQUIRED)/' tests/consumer/CMakeLists.txt > "$D/CMakeLists.txt"
    cp tests/consumer/main.c "$D/main.c"
    if cmake -S "$D" -B "$D/cm99" -DCMAKE_PREFIX_PATH="$D/root/usr/local" > "$D/log" 2>&1; then
        bad "find_package(backprop 99) must fail against $V"
    else
        ok "find_package(backprop 99) is refused by the $V package"
    fi
else
    echo "skip CMake consumers: cmake is not installed (apt-get install cmake)"
fi

if make -s uninstall DESTDIR="$D/root" PREFIX=/usr/local > "$D/log" 2>&1 && [ -z "$(find "$D/root" -type f)" ]; then
    ok "make uninstall removes every installed file"
else
    find "$D/root" -type f >> "$D/log"; bad "make uninstall"
fi
echo "consumers: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
