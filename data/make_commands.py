#!/usr/bin/env python3
"""Makes the spoken-commands data set (examples/commands.c) with espeak-ng and sox, offline
and deterministically from a seed: one-second clips, 16 kHz mono 16-bit WAV, of the ten
command words of Google's Speech Commands (yes no up down left right on off stop go), an
"unknown" class (other words of that set) and "silence" (background noise alone).

A voice is an espeak-ng accent with a variant (en-us+m3, en-gb-scotland+f2, ...); the voices
are shuffled by the seed and split: the test voices are never heard in training. Each voice
says every command word once, one unknown word, and gives one silence clip, at a speed,
pitch, gain and time offset of its own, mixed with white, pink or brown noise at a
signal-to-noise ratio of 5 to 30 dB.

Usage: make_commands.py OUTDIR [--voices N] [--test-fraction F] [--seed S] [--stream]
                        [--part I/K]
Writes OUTDIR/<split>/<label>/<voice>.wav and OUTDIR/index.txt ("split label path" a line);
--stream also writes OUTDIR/stream.wav (test voices' words separated by noise) and
OUTDIR/stream.txt ("start_sample end_sample label" a word). --part I/K makes only the voices
numbered I mod K (run K of them at once on K cores; a voice's clips do not depend on which
part makes them), skips voices whose clips exist, and leaves index.txt to a last run without
--part (which then makes only what is missing). Needs espeak-ng and sox."""
import math, os, random, struct, subprocess, sys, tempfile, wave

COMMANDS = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"]
UNKNOWN = ["bed", "bird", "cat", "dog", "happy", "house", "marvin", "sheila", "tree", "wow"]
LABELS = COMMANDS + ["_unknown_", "_silence_"]
ACCENTS = ["en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan",
           "en-gb-x-gbcwmd", "en-029"]
RATE, N = 16000, 16000


def variants():
    out = subprocess.run(["espeak-ng", "--voices=variant"], capture_output=True, text=True,
                         check=True).stdout.splitlines()[1:]
    names = sorted(line.split()[4].split("/")[-1] for line in out if len(line.split()) >= 5)
    return [v for v in names if "whisper" not in v.lower()]   # whispers: no voicing at all


def speak(voice, word, speed, pitch, tmp):
    """The word by espeak-ng, resampled to 16 kHz by sox: a list of floats in -1..1."""
    raw, res = os.path.join(tmp, "raw.wav"), os.path.join(tmp, "res.wav")
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", raw,
                    word], check=True, capture_output=True)
    subprocess.run(["sox", "-R", raw, "-r", str(RATE), "-b", "16", "-c", "1", res],
                   check=True, capture_output=True)
    with wave.open(res, "rb") as w:
        b = w.readframes(w.getnframes())
    x = [v / 32768.0 for v in struct.unpack("<%dh" % (len(b) // 2), b)]
    peak = max(abs(v) for v in x) if x else 0.0
    if peak == 0.0:
        return []
    keep = [i for i, v in enumerate(x) if abs(v) > 0.02 * peak]     # trim the silences
    return x[keep[0]:keep[-1] + 1]


def noise(rng, kind, n):
    """Unit-variance white, pink (Kellet's filter) or brown (leaky integral) noise."""
    out, b = [], [0.0] * 7
    for _ in range(n):
        w = rng.gauss(0.0, 1.0)
        if kind == "white":
            out.append(w)
        elif kind == "pink":
            b[0] = 0.99886 * b[0] + w * 0.0555179; b[1] = 0.99332 * b[1] + w * 0.0750759
            b[2] = 0.96900 * b[2] + w * 0.1538520; b[3] = 0.86650 * b[3] + w * 0.3104856
            b[4] = 0.55000 * b[4] + w * 0.5329522; b[5] = -0.7616 * b[5] - w * 0.0168980
            out.append(b[0] + b[1] + b[2] + b[3] + b[4] + b[5] + b[6] + w * 0.5362)
            b[6] = w * 0.115926
        else:
            b[0] = 0.995 * b[0] + w
            out.append(b[0])
    rms = math.sqrt(sum(v * v for v in out) / n) or 1.0
    return [v / rms for v in out]


def rms(x):
    return math.sqrt(sum(v * v for v in x) / len(x)) if x else 0.0


def write_wav(path, x):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    pcm = [max(-32768, min(32767, int(round(v * 32767.0)))) for v in x]
    with wave.open(path, "wb") as w:
        w.setnchannels(1); w.setsampwidth(2); w.setframerate(RATE)
        w.writeframes(struct.pack("<%dh" % len(pcm), *pcm))


def clip(rng, voice, label, tmp):
    """One second: the word (or nothing) at a random offset, in noise."""
    x = [0.0] * N
    level = 10 ** (rng.uniform(-18, -3) / 20)                      # the word's peak level
    if label != "_silence_":
        word = rng.choice(UNKNOWN) if label == "_unknown_" else label
        w = speak(voice, word, rng.randint(120, 220), rng.randint(20, 80), tmp)[:N - 800]
        peak = max(abs(v) for v in w)
        off = rng.randint(0, N - len(w))
        for i, v in enumerate(w):
            x[off + i] = v / peak * level
        snr = rng.uniform(5, 30)
        nl = rms(w) / peak * level / 10 ** (snr / 20)
    else:
        nl = level * rng.uniform(0.02, 0.3)
    nz = noise(rng, rng.choice(["white", "pink", "brown"]), N)
    return [v + nl * z for v, z in zip(x, nz)]


def main():
    args = sys.argv[1:]
    if not args or args[0].startswith("-"):
        sys.exit(__doc__)
    out, nvoices, frac, seed, stream, part, parts = args[0], 100, 0.25, 1, False, 0, 1
    i = 1
    while i < len(args):
        if args[i] == "--voices": nvoices = int(args[i + 1]); i += 2
        elif args[i] == "--test-fraction": frac = float(args[i + 1]); i += 2
        elif args[i] == "--seed": seed = int(args[i + 1]); i += 2
        elif args[i] == "--stream": stream = True; i += 1
        elif args[i] == "--part": part, parts = map(int, args[i + 1].split("/")); i += 2
        else: sys.exit("make_commands.py: unknown option " + args[i])
    rng = random.Random(seed)
    voices = [a + "+" + v for a in ACCENTS for v in variants()]
    rng.shuffle(voices)
    voices = voices[:nvoices]
    ntest = max(1, int(round(nvoices * frac)))
    split = {v: ("test" if k < ntest else "train") for k, v in enumerate(voices)}
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        for k, v in enumerate(voices):
            r = random.Random("%d:%s" % (seed, v))
            paths = [os.path.join(split[v], label, v.replace("+", "_") + ".wav") for label in LABELS]
            lines.extend("%s %s %s" % (split[v], label, p) for label, p in zip(LABELS, paths))
            if k % parts != part or all(os.path.exists(os.path.join(out, p)) for p in paths):
                continue
            for label, path in zip(LABELS, paths):
                write_wav(os.path.join(out, path), clip(r, v, label, tmp))
            print("make_commands: voice %d/%d %s (%s)" % (k + 1, len(voices), v, split[v]),
                  file=sys.stderr)
        if stream and part == 0 and not os.path.exists(os.path.join(out, "stream.txt")):
            make_stream(random.Random("%d:stream" % seed), [v for v in voices if split[v] == "test"],
                        out, tmp)
    if parts > 1:
        return
    with open(os.path.join(out, "index.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


def make_stream(rng, voices, out, tmp):
    """Half a minute of test voices' words (commands and unknown words) 0.5 to 1.5 s apart, in
    pink noise at 10 to 30 dB below the words: stream.wav, and stream.txt with each word's
    start and end sample and label."""
    x, marks = [], []
    nz = noise(rng, "pink", 30 * RATE)
    while len(x) < 28 * RATE:
        x.extend([0.0] * rng.randint(RATE // 2, 3 * RATE // 2))
        v = rng.choice(voices)
        word = rng.choice(COMMANDS) if rng.random() < 0.75 else rng.choice(UNKNOWN)
        w = speak(v, word, rng.randint(120, 220), rng.randint(20, 80), tmp)[:N - 800]
        level = 10 ** (rng.uniform(-12, -3) / 20) / max(abs(s) for s in w)
        marks.append((len(x), len(x) + len(w), word if word in COMMANDS else "_unknown_"))
        x.extend(s * level for s in w)
    x = x[:30 * RATE] + [0.0] * max(0, 30 * RATE - len(x))
    nl = 10 ** (-25 / 20) * 0.05
    write_wav(os.path.join(out, "stream.wav"), [s + nl * z for s, z in zip(x, nz)])
    with open(os.path.join(out, "stream.txt"), "w") as f:
        for a, b, lab in marks:
            if b <= 30 * RATE:
                f.write("%d %d %s\n" % (a, b, lab))


if __name__ == "__main__":
    main()
