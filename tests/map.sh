#!/bin/sh
# The map at the top of backprop.h's implementation lists its parts with the lines each runs:
# this checks them against the fences (a part runs from the "/* ====" line above its
# "   PART n. TITLE" through the line before the next part's; the last through
# "#endif /* BACKPROP_IMPLEMENTATION */"; the opening from the map's own first line to Part 1),
# that every part opens with at least two lines on what it adds and relies on, and that the core
# stays what the map promises a learner: Part 1 at most 700 lines, starting before line 1300. Usage: sh tests/map.sh [--write] [FILE]; --write renumbers the map instead
# (make map), and then checks it.
write=0
if [ "${1:-}" = "--write" ]; then write=1; shift; fi
f=${1:-backprop.h}
[ -f "$f" ] || { echo "map: no $f"; echo "0 passed, 1 failed"; exit 1; }

# the true ranges, one "label start end" per line: opening, 1, 2, ...
ranges=$(awk '
    /^\/\* =+$/ { fence = NR }
    /^   IMPLEMENTATION, in parts/ && fence == NR - 1 { map = fence }
    /^   PART [0-9]+\. / && fence == NR - 1 { n++; start[n] = fence; title[n] = NR }
    /^   =+ \*\/$/ && n && !(n in said) { said[n] = NR - title[n] - 1 }
    /^#endif \/\* BACKPROP_IMPLEMENTATION \*\/$/ { last = NR }
    END {
        if (!map || !n || !last) { print "bad"; exit }
        print "opening", map, start[1] - 1, 9
        for (i = 1; i <= n; i++) print i, start[i], (i < n ? start[i + 1] - 1 : last), said[i]
    }' "$f")
if [ "$ranges" = "bad" ]; then
    echo "map: FAIL: no map, no fenced parts, or no end of the implementation in $f"
    echo "0 passed, 1 failed"; exit 1
fi

if [ $write -eq 1 ]; then
    tmp="$f.map.$$"
    echo "$ranges" | awk '
        FNR == NR { r[$1] = $2 "-" $3; next }
        /^     lines    [0-9]+-[0-9]+ / || /^     PART [0-9]+   [0-9]+-[0-9]+ / {
            key = ($1 == "lines") ? "opening" : $2
            if (key in r) {
                head = substr($0, 1, 14); rest = substr($0, 15)
                sub(/^[0-9]+-[0-9]+ */, "", rest)
                $0 = sprintf("%s%-11s%s", head, r[key], rest)
            }
        }
        { print }' - "$f" > "$tmp" && mv "$tmp" "$f"
fi

echo "$ranges" | awk -v file="$f" '
    FNR == NR { s[$1] = $2; e[$1] = $3; d[$1] = $4; if ($1 != "opening") parts = $1; next }
    /^     lines    [0-9]+-[0-9]+ / { split($2, a, "-"); ms["opening"] = a[1]; me["opening"] = a[2]; listed["opening"] = 1 }
    /^     PART [0-9]+   [0-9]+-[0-9]+ / { split($3, a, "-"); ms[$2] = a[1]; me[$2] = a[2]; listed[$2] = 1; nl++ }
    function check(ok, what) {
        if (ok) pass++; else { fail++; print "map: FAIL: " what }
    }
    END {
        for (k in s)
            check((k in listed) && ms[k] == s[k] && me[k] == e[k],
                  (k == "opening" ? "the opening" : "Part " k) " runs " s[k] "-" e[k] \
                  ((k in listed) ? ", the map says " ms[k] "-" me[k] : ", not in the map") \
                  " (make map renumbers it)")
        for (k in s) if (k != "opening")
            check(d[k] >= 2, "Part " k " does not open with what it adds and relies on (" d[k] + 0 " lines under its title)")
        check(nl == parts, "the map lists " nl + 0 " parts, " file " has " parts)
        check(e[1] - s[1] + 1 <= 700, "Part 1 is " e[1] - s[1] + 1 " lines, more than 700")
        check(s[1] < 1300, "Part 1 starts at line " s[1] ", not before 1300")
        printf "map: %d passed, %d failed\n", pass, fail
        exit fail > 0
    }' - "$f"
