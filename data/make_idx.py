#!/usr/bin/env python3
"""Rebuilds the bundled IDX files from ../shared/data/optdigits/digits.csv.gz (run once; the
build never needs Python). Pixels 0..16 become round(p * 255 / 16), so the files read like
MNIST's 0..255 bytes; the order of the digits is kept."""
import gzip, struct, sys

src = sys.argv[1] if len(sys.argv) > 1 else "../../shared/data/optdigits/digits.csv.gz"
rows = [list(map(int, line.split(","))) for line in gzip.open(src, "rt") if line.strip()]
assert all(len(r) == 65 and 0 <= min(r[:64]) and max(r[:64]) <= 16 and 0 <= r[64] <= 9 for r in rows)
with open("optdigits-images.idx3-ubyte", "wb") as f:
    f.write(struct.pack(">IIII", 0x803, len(rows), 8, 8))
    f.write(bytes((p * 255 + 8) // 16 for r in rows for p in r[:64]))
with open("optdigits-labels.idx1-ubyte", "wb") as f:
    f.write(struct.pack(">II", 0x801, len(rows)))
    f.write(bytes(r[64] for r in rows))
print(len(rows), "digits")
