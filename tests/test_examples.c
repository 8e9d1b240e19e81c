/* Tests of the OCR example's data side (examples/digits.h): the IDX reader against valid and
   malformed bytes, the gzip path, the bundled files, the fixed split; and of the spoken
   commands' audio side (examples/speech.h): the WAV reader against every truncation and bad
   header, the series and the log it computes with, known features of silence, the bundled
   clips' features equal to the bundled data's. Closing line "N passed, M failed". Run from
   the repository root (make test does). */
#define BACKPROP_IMPLEMENTATION
#include "../backprop.h"
#include "../examples/digits.h"
#include "../examples/speech.h"
#include "test.h"

#include <float.h>
#include <math.h>

#include <stdlib.h>
#include <string.h>

/* A valid IDX image file in memory: n images of r x c, pixel (i, k) = (i * 31 + k) % 256. */
static size_t make_images(unsigned char *buf, uint32_t n, uint32_t r, uint32_t c) {
    size_t i, len = 16 + (size_t)n * r * c;
    const uint32_t dims[3] = {n, r, c};
    int d;
    buf[0] = 0; buf[1] = 0; buf[2] = 8; buf[3] = 3;
    for (d = 0; d < 3; d++) {
        buf[4 + 4 * d] = (unsigned char)(dims[d] >> 24); buf[5 + 4 * d] = (unsigned char)(dims[d] >> 16);
        buf[6 + 4 * d] = (unsigned char)(dims[d] >> 8);  buf[7 + 4 * d] = (unsigned char)dims[d];
    }
    for (i = 16; i < len; i++) buf[i] = (unsigned char)(((i - 16) / (r * c) * 31 + (i - 16) % (r * c)) % 256);
    return len;
}

static size_t make_labels(unsigned char *buf, uint32_t n) {
    uint32_t i;
    buf[0] = 0; buf[1] = 0; buf[2] = 8; buf[3] = 1;
    buf[4] = (unsigned char)(n >> 24); buf[5] = (unsigned char)(n >> 16);
    buf[6] = (unsigned char)(n >> 8); buf[7] = (unsigned char)n;
    for (i = 0; i < n; i++) buf[8 + i] = (unsigned char)(i % 10);
    return 8 + n;
}

/* ---- WAV ---- */
static void put32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8); p[2] = (unsigned char)(v >> 16); p[3] = (unsigned char)(v >> 24);
}
static void put16(unsigned char *p, unsigned v) { p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8); }

/* A valid WAV of n samples (sample i = i * 1000 - 30000, as int16): RIFF, fmt (16 bytes of
   PCM, or 40 of WAVE_FORMAT_EXTENSIBLE), a LIST chunk of odd size (3 bytes, padded), data.
   Offsets: fmt at 12, its tag at 20; LIST at 20 + fsize; data's header at 32 + fsize. */
static size_t make_wav(unsigned char *b, int n, int extensible) {
    const unsigned fsize = extensible ? 40 : 16;
    size_t at = 12, i;
    memcpy(b, "RIFF", 4); memcpy(b + 8, "WAVE", 4);
    memcpy(b + at, "fmt ", 4); put32(b + at + 4, fsize);
    put16(b + at + 8, extensible ? 0xfffe : 1); put16(b + at + 10, 1); put32(b + at + 12, 16000);
    put32(b + at + 16, 32000); put16(b + at + 20, 2); put16(b + at + 22, 16);
    if (extensible) { memset(b + at + 24, 0, 16); put16(b + at + 24, 22); put16(b + at + 32, 1); }
    at += 8 + fsize;
    memcpy(b + at, "LIST", 4); put32(b + at + 4, 3); memcpy(b + at + 8, "abc", 3); b[at + 11] = 0;
    at += 12;
    memcpy(b + at, "data", 4); put32(b + at + 4, (uint32_t)(2 * n));
    at += 8;
    for (i = 0; i < (size_t)n; i++) put16(b + at + 2 * i, (unsigned)(uint16_t)(int16_t)((int)i * 1000 - 30000));
    at += 2 * (size_t)n;
    put32(b + 4, (uint32_t)(at - 8));
    return at;
}

static void test_wav_valid(void) {
    unsigned char b[200];
    const unsigned char *d;
    size_t n = 0, len;
    int ext;
    for (ext = 0; ext < 2; ext++) {
        len = make_wav(b, 40, ext);
        CHECK(sp_wav_parse(b, len, &d, &n) == NULL && n == 40);
        CHECK(sp__sample(d, 0) == -30000.0f / 32768.0f && sp__sample(d, 39) == 9000.0f / 32768.0f);
    }
    len = make_wav(b, 40, 0);
    b[len] = 0x55;                                    /* a byte past the RIFF chunk: not read */
    CHECK(sp_wav_parse(b, len + 1, &d, &n) == NULL && n == 40);
}

/* every truncation refused; every header field that makes another format refused, each with
   its reason */
static void test_wav_malformed(void) {
    unsigned char good[200], b[200];
    const unsigned char *d;
    size_t n, len = make_wav(good, 40, 0), i;
    const char *e;
    int refused = 0;
    for (i = 0; i < len; i++) refused += sp_wav_parse(good, i, &d, &n) != NULL;
    CHECKF(refused == (int)len, "%d of %d truncations refused", refused, (int)len);
#define BAD(edit, words) do { memcpy(b, good, len); edit; e = sp_wav_parse(b, len, &d, &n); \
        CHECKF(e && strstr(e, words), "%s: %s", #edit, e ? e : "accepted"); } while (0)
    BAD(b[0] = 'X', "not a WAV");
    BAD(b[8] = 'X', "not a WAV");
    BAD(put32(b + 4, 2), "RIFF size");
    BAD(put32(b + 4, (uint32_t)len), "truncated");
    BAD(put16(b + 20, 3), "not PCM");                 /* IEEE float */
    BAD(put16(b + 22, 2), "not mono");
    BAD(put32(b + 24, 44100), "16,000");
    BAD(put16(b + 34, 8), "16 bits");
    BAD(put16(b + 32, 4), "block align");
    BAD(put32(b + 16, 14), "shorter than 16");
    BAD(put32(b + 16, 0x7ffffff0u), "past the end");
    BAD(put32(b + 52, 79), "odd number");
    BAD(memcpy(b + 12, "fmtX", 4), "before the fmt");
    BAD(memcpy(b + 48, "dat_", 4), "no data chunk");
    memcpy(b, good, len);
    memcpy(b + 12, "junk", 4); memcpy(b + 48, "junk", 4);
    CHECK((e = sp_wav_parse(b, len, &d, &n)) && strstr(e, "no fmt chunk"));
    len = make_wav(good, 40, 1);                       /* extensible, float subformat */
    memcpy(b, good, len);
    put16(b + 12 + 8 + 24, 3);
    CHECK((e = sp_wav_parse(b, len, &d, &n)) && strstr(e, "not PCM"));
#undef BAD
}

/* the series and the log the features use, against libm in double */
static void test_speech_math(void) {
    double x, worst = 0.0;
    float f, wf = 0.0f;
    for (x = -10.0; x < 10.0; x += 0.0137) worst = fmax(worst, fabs(sp__cos(x) - cos(x)));
    CHECKF(worst < 1e-12, "cos: %g", worst);
    worst = 0.0;
    for (x = 1e-6; x < 1e6; x *= 1.37) worst = fmax(worst, fabs(sp__ln(x) - log(x)));
    CHECKF(worst < 1e-12, "ln: %g", worst);
    worst = 0.0;
    for (x = -15.0; x < 15.0; x += 0.37) worst = fmax(worst, fabs(sp__exp(x) / exp(x) - 1.0));
    CHECKF(worst < 1e-12, "exp: %g", worst);
    for (f = 1e-7f; f < 1e7f; f *= 1.113f) wf = fmaxf(wf, (float)fabs((double)sp__logf(f) - log((double)f)));
    CHECKF(wf < 4e-6f, "logf: %g", (double)wf);      /* |ln x| up to 16: a few ulps of it */
}

/* Silence (all zeros): every band's energy is the floor 1e-6, so c0 = sqrt(40) ln(1e-6) and
   the other coefficients 0 (the DCT of a constant); standardized and stored as documented */
static void test_features_of_silence(void) {
    static sp_mfcc m;
    static unsigned char z[2 * SP_CLIP], out[SP_FRAMES * SP_COEFS];
    int f, k, wrong = 0;
    sp_init(&m);
    sp_clip(&m, z, SP_CLIP, out);
    for (f = 0; f < SP_FRAMES; f++)
        for (k = 0; k < SP_COEFS; k++) {
            const double c = k == 0 ? sqrt(40.0) * log(1e-6) : 0.0;
            const double q = fmin(127.0, fmax(-128.0, (c - SP_MEAN[k]) / SP_SD[k] * 32.0));
            const int want = 128 + (int)floor(q + 0.5);
            wrong += abs((int)out[f * SP_COEFS + k] - want) > (k == 0 ? 0 : 1);   /* c_k: float rounding of 0 */
        }
    CHECKF(wrong == 0, "%d feature bytes differ", wrong);
    sp_clip(&m, z, 100, out + 0);                      /* a short clip: zeros after it */
    CHECK(out[0] == (unsigned char)(128 + (int)floor(fmax(-128.0, (sqrt(40.0) * log(1e-6) - SP_MEAN[0]) / SP_SD[0] * 32.0) + 0.5)));
}

/* The bundled clips (class k from test voice k) give the bytes of the bundled test features
   (row 12 k + k: the test set is voice after voice, the 12 classes in order) */
static void test_bundled_clips(void) {
    static const char *const names[12] = {"yes", "no", "up", "down", "left", "right", "on",
                                          "off", "stop", "go", "_unknown_", "_silence_"};
    static sp_mfcc m;
    static unsigned char out[SP_FRAMES * SP_COEFS];
    char err[300], path[100];
    unsigned char *feat, *b;
    size_t fl = 0, bl = 0, n;
    uint32_t dims[3];
    const unsigned char *data, *d;
    int k;
    sp_init(&m);
    feat = read_file("data/commands-test-features.idx3-ubyte", &fl, err, sizeof err);
    CHECK(feat && idx_parse(feat, fl, 3, dims, &data, err, sizeof err) == 0 && dims[0] == 480 && dims[1] == SP_FRAMES && dims[2] == SP_COEFS);
    if (!feat) return;
    for (k = 0; k < 12; k++) {
        snprintf(path, sizeof path, "data/commands-clips/%s.wav", names[k]);
        b = read_file(path, &bl, err, sizeof err);
        CHECKF(b && sp_wav_parse(b, bl, &d, &n) == NULL && n == SP_CLIP, "%s", path);
        if (!b) continue;
        sp_clip(&m, d, n, out);
#if FLT_EVAL_METHOD == 0
        CHECKF(memcmp(out, data + (size_t)(12 * k + k) * SP_FRAMES * SP_COEFS, sizeof out) == 0, "%s: features", path);
#else   /* floats evaluated in double (s390x in ISO C): other roundings, a byte apart at most */
        {
            size_t i, off = 0;
            const unsigned char *want = data + (size_t)(12 * k + k) * SP_FRAMES * SP_COEFS;
            for (i = 0; i < sizeof out; i++) off += abs((int)out[i] - (int)want[i]) > 1;
            CHECKF(off == 0, "%s: %d feature bytes more than 1 apart", path, (int)off);
        }
#endif
        free(b);
    }
    free(feat);
}

static void test_idx_valid(void) {
    unsigned char img[16 + 3 * 4 * 5], lab[8 + 3];
    uint32_t dims[3];
    const unsigned char *data;
    char err[200];
    dataset d;
    size_t li = make_images(img, 3, 4, 5), ll = make_labels(lab, 3);
    CHECK(idx_parse(img, li, 3, dims, &data, err, sizeof err) == 0);
    CHECK(dims[0] == 3 && dims[1] == 4 && dims[2] == 5 && data == img + 16);
    CHECK(idx_parse(lab, ll, 1, dims, &data, err, sizeof err) == 0 && dims[0] == 3);
    CHECK(dataset_from_idx(&d, img, li, lab, ll, err, sizeof err) == 0);
    CHECK(d.n == 3 && d.rows == 4 && d.cols == 5);
    /* image 2, pixel 7: (2 * 31 + 7) / 255 */
    CHECK(d.x[2 * 20 + 7] == (float)((float)(2 * 31 + 7) * (1.0f / 255.0f)));   /* (float): see F32 in test_backprop.c */
    CHECK(d.label[2] == 2);
    dataset_free(&d);
}

/* Each malformed input is refused with a message, and nothing is read past the buffer (the
   sanitizer build checks that part). */
static void test_idx_malformed(void) {
    unsigned char good[16 + 2 * 3 * 3], bad[16 + 2 * 3 * 3 + 8], lab[8 + 2];
    uint32_t dims[3];
    const unsigned char *data;
    char err[200];
    dataset d;
    size_t len = make_images(good, 2, 3, 3), k;
    size_t ll = make_labels(lab, 2);
    /* every truncation of a valid file */
    for (k = 0; k < len; k++) {
        unsigned char *copy = (unsigned char *)malloc(k ? k : 1);   /* exact size: ASan sees overreads */
        memcpy(copy, good, k);
        err[0] = 0;
        CHECKF(idx_parse(copy, k, 3, dims, &data, err, sizeof err) == -1 && err[0], "truncated to %zu", k);
        free(copy);
    }
    CHECK(strstr((idx_parse(good, len - 1, 3, dims, &data, err, sizeof err), err), "truncated") != NULL);
    /* trailing bytes */
    memcpy(bad, good, len); bad[len] = 0;
    CHECK(idx_parse(bad, len + 1, 3, dims, &data, err, sizeof err) == -1 && strstr(err, "trailing"));
    /* bad magic, type, dimension count */
    memcpy(bad, good, len); bad[0] = 0x1f;
    CHECK(idx_parse(bad, len, 3, dims, &data, err, sizeof err) == -1 && strstr(err, "not an IDX"));
    memcpy(bad, good, len); bad[2] = 0x0D;        /* float elements */
    CHECK(idx_parse(bad, len, 3, dims, &data, err, sizeof err) == -1 && strstr(err, "type"));
    memcpy(bad, good, len); bad[3] = 2;
    CHECK(idx_parse(bad, len, 3, dims, &data, err, sizeof err) == -1 && strstr(err, "dimensions"));
    CHECK(idx_parse(good, len, 1, dims, &data, err, sizeof err) == -1);   /* images given as labels */
    /* a zero dimension; a count over INT_MAX; huge images; dims whose product overflows 32 bits */
    memcpy(bad, good, len); bad[4] = bad[5] = bad[6] = bad[7] = 0;
    CHECK(idx_parse(bad, len, 3, dims, &data, err, sizeof err) == -1);
    memcpy(bad, good, len); bad[4] = 0x80;
    CHECK(idx_parse(bad, len, 3, dims, &data, err, sizeof err) == -1);
    memcpy(bad, good, len); bad[8] = 0x10; bad[12] = 0x10;
    CHECK(idx_parse(bad, len, 3, dims, &data, err, sizeof err) == -1 && strstr(err, "too large"));
    memcpy(bad, good, len); bad[4] = 0x7f; bad[5] = bad[6] = bad[7] = 0xff; bad[10] = 0x04; bad[14] = 0x00; bad[15] = 0xff;
    CHECK(idx_parse(bad, len, 3, dims, &data, err, sizeof err) == -1);
    /* counts that disagree between images and labels */
    make_labels(lab, 2); lab[7] = 1;
    CHECK(dataset_from_idx(&d, good, len, lab, ll - 1, err, sizeof err) == -1 && strstr(err, "labels"));
    make_labels(lab, 2);
    CHECK(dataset_from_idx(&d, good, len, lab, ll, err, sizeof err) == 0);
    dataset_free(&d);
    /* labels file given where images go */
    CHECK(dataset_from_idx(&d, lab, ll, good, len, err, sizeof err) == -1 && strstr(err, "images"));
}

/* Every single-byte change in the header gives a refusal or a self-consistent result whose
   data lies inside the buffer. */
static void test_idx_header_mutations(void) {
    unsigned char good[16 + 2 * 3 * 3], bad[sizeof good];
    uint32_t dims[3];
    const unsigned char *data;
    char err[200];
    size_t len = make_images(good, 2, 3, 3), pos;
    int v;
    for (pos = 0; pos < 16; pos++)
        for (v = 0; v < 256; v++) {
            memcpy(bad, good, len);
            bad[pos] = (unsigned char)v;
            if (idx_parse(bad, len, 3, dims, &data, err, sizeof err) == 0)
                CHECK(data == bad + 16 && (size_t)dims[0] * dims[1] * dims[2] == len - 16);
        }
}

static void test_files_and_gzip(void) {
    unsigned char img[16 + 5 * 2 * 2], lab[8 + 5], *back;
    char err[400], path[64], gz[64];
    size_t li = make_images(img, 5, 2, 2), ll = make_labels(lab, 5), n = 0;
    FILE *f;
    dataset d;
    strcpy(path, "build/test_idx_images");
    strcpy(gz, "build/test_idx_labels");
    f = fopen(path, "wb"); fwrite(img, 1, li, f); fclose(f);
    f = fopen(gz, "wb"); fwrite(lab, 1, ll, f); fclose(f);
    back = read_file(path, &n, err, sizeof err);
    CHECK(back && n == li && memcmp(back, img, li) == 0);
    free(back);
    CHECK(dataset_load(&d, path, gz, err, sizeof err) == 0 && d.n == 5);
    dataset_free(&d);
    CHECK(read_file("build/no such file", &n, err, sizeof err) == NULL && strstr(err, "No such file"));
    CHECK(dataset_load(&d, path, path, err, sizeof err) == -1 && strstr(err, "labels"));
    if (system("gzip --version >/dev/null 2>&1") != 0) {
        printf("skip gzip round trip: gzip is not installed\n");
        return;
    }
    CHECK(system("gzip -f build/test_idx_labels") == 0);   /* -> build/test_idx_labels.gz */
    strcat(gz, ".gz");
    back = read_file(gz, &n, err, sizeof err);
    CHECK(back && n == ll && memcmp(back, lab, ll) == 0);
    free(back);
    CHECK(dataset_load(&d, path, gz, err, sizeof err) == 0 && d.n == 5 && d.label[4] == 4);
    dataset_free(&d);
    /* a truncated .gz is an error, not a short read taken as data */
    CHECK(system("head -c 20 build/test_idx_labels.gz > build/test_idx_cut.gz") == 0);
    back = read_file("build/test_idx_cut.gz", &n, err, sizeof err);
    CHECK(back == NULL && strstr(err, "gzip"));
    free(back);
    /* a path with a quote and a space goes to gzip intact */
    CHECK(system("cp build/test_idx_labels.gz \"build/it's here.gz\"") == 0);
    back = read_file("build/it's here.gz", &n, err, sizeof err);
    CHECK(back && n == ll);
    free(back);
}

static void test_bundled_data_and_split(void) {
    dataset all, tr, te, tr2, te2, tr3, te3;
    char err[400];
    int counts[10] = {0}, i, j;
    unsigned char *seen;
    CHECK(dataset_load(&all, "data/optdigits-images.idx3-ubyte", "data/optdigits-labels.idx1-ubyte", err, sizeof err) == 0);
    CHECK(all.n == 1797 && all.rows == 8 && all.cols == 8);
    for (i = 0; i < all.n; i++) counts[all.label[i]]++;
    for (i = 0; i < 10; i++) CHECK(counts[i] >= 174 && counts[i] <= 183);   /* per data/README.md */
    for (i = 0; i < all.n * 64; i++) CHECK(all.x[i] >= 0 && all.x[i] <= 1);
    CHECK(dataset_split(&all, 0.8, 20261127u, &tr, &te) == 0);
    CHECK(tr.n == 1437 && te.n == 360);
    /* a partition: every original image lands exactly once (images are matched by content
       and label; count multiplicities so duplicates are handled) */
    seen = (unsigned char *)calloc((size_t)all.n, 1);
    for (i = 0; i < tr.n + te.n; i++) {
        const float *img = i < tr.n ? tr.x + i * 64 : te.x + (i - tr.n) * 64;
        int lab = i < tr.n ? tr.label[i] : te.label[i - tr.n], found = 0;
        for (j = 0; j < all.n && !found; j++)
            if (!seen[j] && all.label[j] == lab && memcmp(all.x + j * 64, img, 64 * sizeof(float)) == 0)
                seen[j] = 1, found = 1;
        CHECK(found);
    }
    free(seen);
    /* the same seed gives the same split; another seed another one */
    CHECK(dataset_split(&all, 0.8, 20261127u, &tr2, &te2) == 0);
    CHECK(memcmp(te.x, te2.x, (size_t)te.n * 64 * sizeof(float)) == 0 && memcmp(te.label, te2.label, (size_t)te.n) == 0);
    CHECK(dataset_split(&all, 0.8, 1u, &tr3, &te3) == 0);
    CHECK(memcmp(te.label, te3.label, (size_t)te.n) != 0);
    dataset_free(&tr3); dataset_free(&te3);
    CHECK(dataset_split(&all, 0.0, 1u, &tr3, &te3) == -1);   /* an empty part is refused */
    dataset_free(&tr); dataset_free(&te); dataset_free(&tr2); dataset_free(&te2); dataset_free(&all);
}

/* augment (ocr's --shift and --flip) against images worked out by hand: a 3 x 4 image whose
   pixel (r, c) is 1 + 4 r + c, moved, mirrored, and both (the move first). */
static void test_augment(void) {
    float src[12], dst[12];
    int i;
    static const float same[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    static const float right_down[12] = {0, 0, 0, 0, 0, 1, 2, 3, 0, 5, 6, 7};   /* dx 1, dy 1 */
    static const float left_up2[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};     /* dy -3: gone */
    static const float up_left[12] = {6, 7, 8, 0, 10, 11, 12, 0, 0, 0, 0, 0};  /* dx -1, dy -1 */
    static const float mirror[12] = {4, 3, 2, 1, 8, 7, 6, 5, 12, 11, 10, 9};
    static const float right_mirror[12] = {3, 2, 1, 0, 7, 6, 5, 0, 11, 10, 9, 0};  /* dx 1, flip */
    for (i = 0; i < 12; i++) src[i] = (float)(i + 1);
    augment(dst, src, 3, 4, 0, 0, 0);
    CHECK(!memcmp(dst, same, sizeof dst));
    augment(dst, src, 3, 4, 1, 1, 0);
    CHECK(!memcmp(dst, right_down, sizeof dst));
    augment(dst, src, 3, 4, 2, -3, 0);
    CHECK(!memcmp(dst, left_up2, sizeof dst));
    augment(dst, src, 3, 4, -1, -1, 0);
    CHECK(!memcmp(dst, up_left, sizeof dst));
    augment(dst, src, 3, 4, 0, 0, 1);
    CHECK(!memcmp(dst, mirror, sizeof dst));
    augment(dst, src, 3, 4, 1, 0, 1);
    CHECK(!memcmp(dst, right_mirror, sizeof dst));
}

static void test_draw(void) {
    float a[4] = {0, 1, 0.5f, -3}, b[4] = {2, 0, 0, 0.95f};
    const float *imgs[2];
    const char *caps[2] = {"first", "second"};
    char out[512];
    FILE *f = fopen("build/test_draw.txt", "w+");
    size_t n;
    imgs[0] = a; imgs[1] = b;
    draw_images(f, imgs, caps, 2, 2, 2);
    rewind(f);
    n = fread(out, 1, sizeof out - 1, f);
    out[n] = 0;
    fclose(f);
    /* ramp " .:-=+*#%@": 0 -> ' ', 1 -> '@', 0.5 -> level 4 '=', 0.95 -> level 9 '@';
       clamped below 0 and above 1; two characters per pixel; images side by side */
    CHECK(strstr(out, "first") && strstr(out, "second"));
    CHECK(strstr(out, "|  @@| |@@  | \n") != NULL);
    CHECK(strstr(out, "|==  | |  @@| \n") != NULL);
}

int main(void) {
    RUN(test_idx_valid);
    RUN(test_idx_malformed);
    RUN(test_idx_header_mutations);
    RUN(test_files_and_gzip);
    RUN(test_bundled_data_and_split);
    RUN(test_draw);
    RUN(test_augment);
    RUN(test_wav_valid);
    RUN(test_wav_malformed);
    RUN(test_speech_math);
    RUN(test_features_of_silence);
    RUN(test_bundled_clips);
    return test_summary();
}
