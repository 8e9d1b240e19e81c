/* Writes the bundled digits' test set (ocr's split: 80/20, its fixed seed) as a C header of
   pixels 0..255 and labels, for tests/embedded/digits_m0.c. Usage: samples DATA_DIR > samples.h */
#define BACKPROP_IMPLEMENTATION
#include "../../backprop.h"
#include "../../examples/digits.h"
#include <stdio.h>

int main(int argc, char **argv) {
    dataset all, train, test;
    char img[1024], lab[1024], err[512];
    int i, k;
    if (argc != 2) return 2;
    snprintf(img, sizeof img, "%s/optdigits-images.idx3-ubyte", argv[1]);
    snprintf(lab, sizeof lab, "%s/optdigits-labels.idx1-ubyte", argv[1]);
    if (dataset_load(&all, img, lab, err, sizeof err) || dataset_split(&all, 0.8, 20261127u, &train, &test)) {
        fprintf(stderr, "samples: %s\n", err);
        return 1;
    }
    printf("/* the bundled digits' test set (tests/embedded/samples.c) */\n#define SAMPLES_N %d\n"
           "static const unsigned char samples[SAMPLES_N][64] = {\n", test.n);
    for (i = 0; i < test.n; i++) {
        printf("    {");
        for (k = 0; k < 64; k++)
            printf("%d%s", (int)(test.x[(size_t)i * 64 + (size_t)k] * 255.0f + 0.5f), k < 63 ? "," : "},\n");
    }
    printf("};\nstatic const unsigned char sample_labels[SAMPLES_N] = {");
    for (i = 0; i < test.n; i++) printf("%d%s", test.label[i], i < test.n - 1 ? "," : "};\n");
    dataset_free(&all); dataset_free(&train); dataset_free(&test);
    return 0;
}
