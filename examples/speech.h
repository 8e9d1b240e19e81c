/* speech.h - the audio side of the spoken-commands example (examples/commands.c) and of its
   Cortex-M4 build (tests/embedded/commands_m4.c): a WAV reader that refuses what it cannot
   read, a 512-point FFT and MFCC features, all in this file. Part of the example, not of the
   library; no libm, no allocation, no stdio.

   FEATURES (the keyword-spotting literature's, e.g. Zhang et al., "Hello Edge", 2017): 16 kHz
   mono; frames of 30 ms (480 samples) every 10 ms (160), 98 frames a second; each frame
   Hamming-windowed, zero-padded to 512, its power spectrum |FFT|^2; 40 triangular mel bands
   from 20 to 7600 Hz (mel(f) = 1127 ln(1 + f/700)); the natural log of each band's energy
   (+1e-6); the orthonormal DCT-II of the 40 logs, coefficients 0..9. Each coefficient is then
   standardized and stored as a byte (SP_MEAN, SP_SD below): what the net reads, and what the
   bundled data holds (data/commands-*.idx3-ubyte).

   THE SAME BITS ON EVERY MACHINE. The tables are computed from + - * / on doubles (cos, log
   and exp by series here, not libm's, whose last bits differ between C libraries), the frames
   with + - * / on floats and a log of our own: built as ISO C (no contraction of a * b + c
   into one rounding) on a machine that evaluates floats as floats (FLT_EVAL_METHOD 0: x86-64,
   AArch64, Arm with an FPU), a clip's features are the same bytes on the PC and on the
   Cortex-M4. */
#ifndef SPEECH_H
#define SPEECH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SP_RATE   16000
#define SP_CLIP   16000                       /* samples in a clip: one second */
#define SP_WIN    480                         /* 30 ms */
#define SP_HOP    160                         /* 10 ms */
#define SP_FFT    512
#define SP_BINS   (SP_FFT / 2 + 1)
#define SP_MELS   40
#define SP_COEFS  10
#define SP_FRAMES (1 + (SP_CLIP - SP_WIN) / SP_HOP)   /* 98 */
/* the byte of coefficient k is 128 + 32 (c - mean_k) / sd_k, clamped to 0..255 (4 standard
   deviations either side): each coefficient standardized by its mean and standard deviation
   over the frames of 1,800 synthesized clips (make_commands.py, seed 1), fixed here */
static const float SP_MEAN[SP_COEFS] = {-23.44f, 4.87f, 1.60f, 1.22f, -0.38f, 0.13f, 0.46f, -0.07f, 0.42f, 0.05f};
static const float SP_SD[SP_COEFS] = {16.93f, 6.86f, 2.59f, 2.71f, 3.00f, 1.92f, 2.08f, 1.63f, 1.37f, 1.43f};

#if defined(__GNUC__) || defined(__clang__)
#define SP_FN static __attribute__((unused))
#else
#define SP_FN static
#endif

/* ---- WAV ---------------------------------------------------------------------------------
   RIFF "WAVE" with a "fmt " chunk of PCM (format 1, or WAVE_FORMAT_EXTENSIBLE with the PCM
   subformat), one channel, 16 bits, 16,000 samples a second, and a "data" chunk; other chunks
   (LIST, fact, ...) are skipped. Every size is checked against the bytes there are. */
static uint32_t sp__le32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static unsigned sp__le16(const unsigned char *p) { return (unsigned)p[0] | (unsigned)p[1] << 8; }

/* Parses a WAV file's bytes: returns NULL and sets *data and *n (samples, little-endian int16
   at *data), or a sentence saying why the file cannot be read. */
SP_FN const char *sp_wav_parse(const unsigned char *b, size_t len, const unsigned char **data,
                               size_t *n) {
    size_t at = 12, riff;
    int fmt = 0;
    if (len < 12) return "truncated: shorter than a RIFF header (12 bytes)";
    if (memcmp(b, "RIFF", 4) != 0 || memcmp(b + 8, "WAVE", 4) != 0)
        return "not a WAV file (no RIFF/WAVE header)";
    riff = sp__le32(b + 4);
    if (riff < 4) return "corrupt: the RIFF size is smaller than its header";
    if (riff > len - 8) return "truncated: the RIFF size says more bytes than the file has";
    len = riff + 8;                            /* bytes past the RIFF chunk are not ours */
    while (at + 8 <= len) {
        const unsigned char *c = b + at;
        const size_t size = sp__le32(c + 4);
        if (size > len - at - 8) return "truncated: a chunk runs past the end of the file";
        if (memcmp(c, "fmt ", 4) == 0) {
            unsigned tag;
            if (size < 16) return "corrupt: the fmt chunk is shorter than 16 bytes";
            tag = sp__le16(c + 8);
            if (tag == 0xfffe && size >= 40) tag = sp__le16(c + 8 + 24);   /* the subformat */
            if (tag != 1) return "not PCM (only 16-bit PCM is read)";
            if (sp__le16(c + 10) != 1) return "not mono (one channel is read)";
            if (sp__le32(c + 12) != SP_RATE) return "not 16,000 samples a second (resample: sox in.wav -r 16000 out.wav)";
            if (sp__le16(c + 22) != 16) return "not 16 bits a sample";
            if (sp__le16(c + 20) != 2) return "corrupt: block align is not 2 for 16-bit mono";
            fmt = 1;
        } else if (memcmp(c, "data", 4) == 0) {
            if (!fmt) return "corrupt: the data chunk comes before the fmt chunk";
            if (size % 2) return "corrupt: the data chunk holds an odd number of bytes";
            *data = c + 8;
            *n = size / 2;
            return NULL;
        }
        at += 8 + size + (size & 1);           /* chunks are padded to even sizes */
    }
    return fmt ? "no data chunk" : "no fmt chunk";
}

/* The i-th sample of little-endian int16 data as a float in -1..1 */
static float sp__sample(const unsigned char *d, size_t i) {
    const unsigned u = sp__le16(d + 2 * i);
    return (float)((int)u - (u >= 32768u ? 65536 : 0)) * (1.0f / 32768.0f);
}

/* ---- the tables ------------------------------------------------------------------------- */
typedef struct sp_mfcc {
    float window[SP_WIN];                 /* Hamming */
    float cosv[SP_FFT / 2], sinv[SP_FFT / 2];
    uint16_t rev[SP_FFT];                 /* bit reversal */
    int16_t lo[SP_MELS], hi[SP_MELS];     /* each band's bins lo..hi-1 */
    int16_t at[SP_MELS];                  /* where its weights start in weight[] */
    float weight[2 * SP_BINS];            /* a bin is in two bands at most */
    float dct[SP_COEFS][SP_MELS];
} sp_mfcc;

#define SP__PI 3.14159265358979323846
static double sp__cos(double x) {          /* series, |x| reduced to pi at most */
    double t = 1.0, s = 1.0, x2;
    int k;
    while (x > SP__PI) x -= 2.0 * SP__PI;
    while (x < -SP__PI) x += 2.0 * SP__PI;
    x2 = x * x;
    for (k = 1; k < 24; k++) {
        t = -t * x2 / (double)((2 * k - 1) * (2 * k));
        s += t;
    }
    return s;
}
static double sp__ln(double x) {           /* x > 0: halvings to [0.5, 1), then atanh series */
    double e = 0.0, s, s2, t, r = 0.0;
    int k;
    while (x >= 1.0) { x *= 0.5; e += 1.0; }
    while (x < 0.5) { x *= 2.0; e -= 1.0; }
    s = (x - 1.0) / (x + 1.0);
    s2 = s * s;
    t = s;
    for (k = 0; k < 60; k++) {
        r += t / (double)(2 * k + 1);
        t *= s2;
    }
    return 2.0 * r + e * 0.69314718055994530942;
}
static double sp__exp(double x) {          /* x within +-20: squarings of a series at x/1024 */
    double t = 1.0, s = 1.0, y = x / 1024.0;
    int k;
    for (k = 1; k < 20; k++) {
        t *= y / (double)k;
        s += t;
    }
    for (k = 0; k < 10; k++) s *= s;
    return s;
}
static double sp__mel(double f) { return 1127.0 * sp__ln(1.0 + f / 700.0); }
static double sp__hz(double m) { return 700.0 * (sp__exp(m / 1127.0) - 1.0); }

SP_FN void sp_init(sp_mfcc *m) {
    double edge[SP_MELS + 2];
    const double lo = sp__mel(20.0), hi = sp__mel(7600.0);
    int i, j, b, n;
    memset(m, 0, sizeof *m);
    for (i = 0; i < SP_WIN; i++)
        m->window[i] = (float)(0.54 - 0.46 * sp__cos(2.0 * SP__PI * i / (SP_WIN - 1)));
    for (i = 0; i < SP_FFT / 2; i++) {
        m->cosv[i] = (float)sp__cos(2.0 * SP__PI * i / SP_FFT);
        m->sinv[i] = (float)-sp__cos(2.0 * SP__PI * i / SP_FFT + SP__PI / 2.0);   /* -sin */
    }
    for (i = 0; i < SP_FFT; i++) {
        int r = 0, v = i;
        for (j = 0; j < 9; j++, v >>= 1) r = r << 1 | (v & 1);
        m->rev[i] = (uint16_t)r;
    }
    for (i = 0; i < SP_MELS + 2; i++)
        edge[i] = sp__hz(lo + (hi - lo) * i / (SP_MELS + 1)) * SP_FFT / SP_RATE;   /* in bins */
    for (i = 0, n = 0; i < SP_MELS; i++) {
        m->lo[i] = -1;
        m->at[i] = (int16_t)n;
        for (b = 0; b < SP_BINS; b++) {
            double w = 0.0;
            if (b > edge[i] && b < edge[i + 1]) w = (b - edge[i]) / (edge[i + 1] - edge[i]);
            else if (b >= edge[i + 1] && b < edge[i + 2]) w = (edge[i + 2] - b) / (edge[i + 2] - edge[i + 1]);
            if (w > 0.0 && n < 2 * SP_BINS) {
                if (m->lo[i] < 0) m->lo[i] = (int16_t)b;
                m->hi[i] = (int16_t)(b + 1);
                m->weight[n++] = (float)w;
            }
        }
        if (m->lo[i] < 0) m->lo[i] = m->hi[i] = 0;   /* narrower than a bin: empty */
    }
    for (i = 0; i < SP_COEFS; i++)
        for (j = 0; j < SP_MELS; j++)
            m->dct[i][j] = (float)(sp__cos(SP__PI * i * (j + 0.5) / SP_MELS)
                                   * (i == 0 ? 0.15811388300841897 : 0.22360679774997897));   /* sqrt(1/40), sqrt(2/40) */
}

/* ln x for a float x > 0, from + - * / only: x = m 2^e with m in [sqrt(1/2), sqrt(2)) */
static float sp__logf(float x) {
    uint32_t u;
    int e;
    float f, s, s2;
    memcpy(&u, &x, 4);
    e = (int)(u >> 23 & 255) - 127;
    u = (u & 0x7fffffu) | 0x3f800000u;
    memcpy(&f, &u, 4);
    if (f > 1.41421356f) { f *= 0.5f; e++; }
    s = (f - 1.0f) / (f + 1.0f);
    s2 = s * s;
    return 2.0f * s * (1.0f + s2 * (1.0f / 3 + s2 * (1.0f / 5 + s2 * (1.0f / 7 + s2 * (1.0f / 9)))))
           + (float)e * 0.693147181f;
}

/* The features of one frame: SP_WIN samples of little-endian int16 data from sample `at`
   into SP_COEFS bytes. */
SP_FN void sp_frame(const sp_mfcc *m, const unsigned char *d, size_t at, unsigned char *out) {
    float re[SP_FFT], im[SP_FFT], logmel[SP_MELS];
    int i, j, len, k;
    for (i = 0; i < SP_FFT; i++) {
        const int r = m->rev[i];
        re[i] = r < SP_WIN ? sp__sample(d, at + (size_t)r) * m->window[r] : 0.0f;
        im[i] = 0.0f;
    }
    for (len = 2; len <= SP_FFT; len <<= 1) {        /* radix-2, decimation in time */
        const int half = len / 2, step = SP_FFT / len;
        for (i = 0; i < SP_FFT; i += len)
            for (j = 0; j < half; j++) {
                const float wr = m->cosv[j * step], wi = m->sinv[j * step];
                const int a = i + j, b = a + half;
                const float tr = re[b] * wr - im[b] * wi, ti = re[b] * wi + im[b] * wr;
                re[b] = re[a] - tr; im[b] = im[a] - ti;
                re[a] = re[a] + tr; im[a] = im[a] + ti;
            }
    }
    for (i = 0; i < SP_BINS; i++) re[i] = re[i] * re[i] + im[i] * im[i];
    for (i = 0; i < SP_MELS; i++) {
        float e = 1e-6f;
        const float *w = m->weight + m->at[i], *p = re + m->lo[i];
        for (j = 0; j < m->hi[i] - m->lo[i]; j++) e += w[j] * p[j];
        logmel[i] = sp__logf(e);
    }
    for (k = 0; k < SP_COEFS; k++) {
        float c = 0.0f, q;
        for (i = 0; i < SP_MELS; i++) c += m->dct[k][i] * logmel[i];
        q = (c - SP_MEAN[k]) / SP_SD[k] * 32.0f;
        q = q < -128.0f ? -128.0f : q > 127.0f ? 127.0f : q;
        out[k] = (unsigned char)(128 + (int)(q < 0.0f ? q - 0.5f : q + 0.5f));
    }
}

/* A clip's SP_FRAMES x SP_COEFS feature bytes; a clip shorter than a second is padded with
   zeros (silence) at the end, a longer one cut. */
SP_FN void sp_clip(const sp_mfcc *m, const unsigned char *d, size_t n, unsigned char *out) {
    unsigned char pad[2 * SP_CLIP];
    int f;
    if (n < SP_CLIP) {
        memset(pad, 0, sizeof pad);
        memcpy(pad, d, 2 * n);
        d = pad;
    }
    for (f = 0; f < SP_FRAMES; f++) sp_frame(m, d, (size_t)f * SP_HOP, out + f * SP_COEFS);
}

#endif /* SPEECH_H */
