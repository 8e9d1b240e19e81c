/* Part 7, the format: CRC-32, the bundled fixtures, round trips, every mutation and status
   of the reader, the file helpers, models as C source.
   Included by tests/test_backprop.c, which holds the shared helpers: one program. */

/* ---- saving and loading ----------------------------------------------------------------- */

/* CRC-32 check value from the standard's catalogue: crc32("123456789") = 0xCBF43926. */
static void test_crc32(void) {
    CHECK(bp__crc32(0, (const unsigned char *)"123456789", 9) == 0xCBF43926u);
    CHECK(bp__crc32(bp__crc32(0, (const unsigned char *)"1234", 4), (const unsigned char *)"56789", 5) == 0xCBF43926u);
    CHECK(bp__crc32(0, (const unsigned char *)"", 0) == 0);
}

/* The fixtures were written by tests/fixtures/make_fixtures.py from the format's text alone:
   bp_peek/bp_load read them, and bp_save reproduces them byte for byte. */
static void test_fixtures(void) {
    static const int sizes[] = {2, 3, 2};
    static const bp_act acts[] = {BP_TANH, BP_SOFTMAX};
    int nl = 0, got_sizes[BP_MAX_LAYERS + 1], i, n, m, k;
    bp_act got_acts[BP_MAX_LAYERS], act;
    bp_loss loss = BP_LOSS_COUNT;         /* set by bp_peek (GCC -O3 cannot tell) */
    size_t len, blen;
    unsigned char *ff = slurp("tests/fixtures/ff-2-3-2.bpmodel", &len), *out, *be;
    tnet tn;
    trnet rn;
    CHECK(ff != NULL);
    if (!ff) return;
    CHECK(bp_peek(ff, len, &nl, got_sizes, got_acts, &loss) == BP_OK);
    CHECK(nl == 2 && got_sizes[0] == 2 && got_sizes[1] == 3 && got_sizes[2] == 2);
    CHECK(got_acts[0] == BP_TANH && got_acts[1] == BP_SOFTMAX && loss == BP_LOSS_CROSS_ENTROPY);
    CHECK(tnet_make(&tn, 2, sizes, acts, BP_LOSS_CROSS_ENTROPY, 1) == BP_OK);
    CHECK(bp_load(&tn.net, ff, len) == BP_OK);
    for (i = 0; i < 17; i++) CHECK(tn.params[i] == (float)(i - 7) / 8);
    CHECK(bp_save_size(&tn.net) == len);
    out = (unsigned char *)malloc(len);
    CHECK(bp_save(&tn.net, out, len) == BP_OK && memcmp(out, ff, len) == 0);
    /* the big-endian rendering of the same model is not the format */
    be = slurp("tests/fixtures/ff-2-3-2-bigendian.bpmodel", &blen);
    CHECK(be && blen == len && bp_load(&tn.net, be, blen) == BP_ERR_VERSION);
    free(ff); free(out); free(be);
    tnet_free(&tn);

    ff = slurp("tests/fixtures/rnet-3-2-1.bpmodel", &len);
    CHECK(ff != NULL);
    if (!ff) return;
    CHECK(bp_rnet_peek(ff, len, &n, &m, &k, &act) == BP_OK && n == 3 && m == 2 && k == 1 && act == BP_SIGMOID);
    CHECK(bp_peek(ff, len, &nl, NULL, NULL, NULL) == BP_ERR_KIND);
    {
        float dp[18];
        CHECK(bp_load_params(ff, len, dp, 18) == BP_ERR_KIND);
    }
    CHECK(trnet_make(&rn, 3, 2, 1, BP_SIGMOID) == BP_OK);
    rn.net.tau = 1; rn.net.tol = 0.1f; rn.net.max_iters = 5;
    CHECK(bp_rnet_load(&rn.net, ff, len) == BP_OK);
    CHECK(rn.net.tau == 0.5f && rn.net.tol == 1.0f / 65536 && rn.net.max_iters == 1000);
    for (i = 0; i < 18; i++) CHECK(rn.params[i] == (float)(i % 5 - 2) / 4);
    out = (unsigned char *)malloc(len);
    CHECK(bp_rnet_save_size(&rn.net) == len && bp_rnet_save(&rn.net, out, len) == BP_OK && memcmp(out, ff, len) == 0);
    free(ff); free(out);
    trnet_free(&rn);
}

/* Save, load into a fresh net: the same bits, the same outputs. Both kinds. */
static void test_save_load_round_trip(void) {
    static const int sizes[] = {5, 9, 7, 3};
    static const bp_act acts[] = {BP_LEAKY_RELU, BP_SIGMOID, BP_SOFTMAX};
    const float x[] = {0.1f, -0.2f, 0.3f, 0.9f, -1};
    unsigned char *buf;
    size_t len;
    tnet a, b;
    trnet ra, rb;
    const float in[] = {0.5f, -0.25f};
    float ya[3];
    CHECK(tnet_make(&a, 3, sizes, acts, BP_LOSS_CROSS_ENTROPY, 2) == BP_OK);
    CHECK(tnet_make(&b, 3, sizes, acts, BP_LOSS_CROSS_ENTROPY, 1) == BP_OK);   /* max_batch is not saved */
    bp_randomize(&a.net, 31);
    a.params[a.net.n_params - 1] = -0.0f;     /* signs of zero and tiny values survive */
    a.params[0] = 1e-40f;
    len = bp_save_size(&a.net);
    buf = (unsigned char *)malloc(len);
    CHECK(bp_save(&a.net, buf, len) == BP_OK);
    CHECK(bp_load(&b.net, buf, len) == BP_OK);
    CHECK(memcmp(a.params, b.params, a.net.n_params * sizeof(float)) == 0);
    memcpy(ya, bp_forward(&a.net, x, 1), sizeof ya);
    CHECK(memcmp(ya, bp_forward(&b.net, x, 1), sizeof ya) == 0);
    free(buf);
    tnet_free(&a); tnet_free(&b);

    CHECK(trnet_make(&ra, 7, 2, 3, BP_TANH) == BP_OK);
    CHECK(trnet_make(&rb, 7, 2, 3, BP_TANH) == BP_OK);
    bp_rnet_randomize(&ra.net, 4);
    ra.net.tau = 0.75f;
    len = bp_rnet_save_size(&ra.net);
    buf = (unsigned char *)malloc(len);
    CHECK(bp_rnet_save(&ra.net, buf, len) == BP_OK);
    CHECK(bp_rnet_load(&rb.net, buf, len) == BP_OK && rb.net.tau == 0.75f);
    CHECK(memcmp(ra.params, rb.params, ra.net.n_params * sizeof(float)) == 0);
    CHECK(bp_rnet_settle(&ra.net, in) == BP_OK && bp_rnet_settle(&rb.net, in) == BP_OK);
    CHECK(memcmp(bp_rnet_output(&ra.net), bp_rnet_output(&rb.net), 3 * sizeof(float)) == 0);
    CHECK(bp_load(NULL, buf, len) == BP_ERR_NULL);
    free(buf);
    trnet_free(&ra); trnet_free(&rb);
}

/* A valid model, then many deterministic alterations: every truncation, every single-bit flip,
   1..64 appended bytes, every u32 header field rewritten to a set of values (with the checksum
   recomputed, so only the structure checks stand in the way), and topologies that are valid
   but different. bp_load into the original net refuses each one and leaves params untouched. */
static void test_load_mutations(void) {
    static const int sizes[] = {3, 4, 2};
    static const bp_act acts[] = {BP_RELU, BP_SIGMOID};
    static const uint32_t values[] = {0, 1, 2, 3, 5, 6, 17, 255, 0x7fffffffu, 0x80000000u, 0xffffffffu};
    tnet tn;
    unsigned char *good, *bad;
    float *keep;
    size_t len, i, cut;
    int bit, refused = 0, tried = 0;
    unsigned v;
    CHECK(tnet_make(&tn, 2, sizes, acts, BP_LOSS_SQUARED, 1) == BP_OK);
    bp_randomize(&tn.net, 8);
    len = bp_save_size(&tn.net);
    good = (unsigned char *)malloc(len);
    bad = (unsigned char *)malloc(len + 64);
    keep = (float *)malloc(tn.net.n_params * sizeof(float));
    CHECK(bp_save(&tn.net, good, len) == BP_OK);
    memcpy(keep, tn.params, tn.net.n_params * sizeof(float));
    for (i = 0; i < tn.net.n_params; i++) tn.params[i] = 42;    /* sentinel */
#define EXPECT_REFUSED(buf, n)                                                           \
    do {                                                                                 \
        bp_status st_ = bp_load(&tn.net, (buf), (n));                                    \
        tried++;                                                                         \
        if (st_ != BP_OK) refused++;                                                     \
        else fprintf(stderr, "accepted an altered model (length %zu)\n", (size_t)(n));   \
    } while (0)
    for (cut = 0; cut < len; cut++) {                  /* truncations, in an exact-size copy */
        unsigned char *t = (unsigned char *)malloc(cut ? cut : 1);
        memcpy(t, good, cut);
        EXPECT_REFUSED(t, cut);
        CHECK(bp_load(&tn.net, t, cut) == BP_ERR_TRUNCATED);
        free(t);
    }
    for (i = 0; i < len; i++)                           /* bit flips */
        for (bit = 0; bit < 8; bit++) {
            memcpy(bad, good, len);
            bad[i] ^= (unsigned char)(1 << bit);
            EXPECT_REFUSED(bad, len);
        }
    for (cut = 1; cut <= 64; cut++) {                   /* appended bytes */
        memcpy(bad, good, len);
        memset(bad + len, 0, cut);
        EXPECT_REFUSED(bad, len + cut);
        CHECK(bp_load(&tn.net, bad, len + cut) == BP_ERR_TRAILING);
    }
    for (i = 8; i + 4 <= len - 4 && i < 24 + 4 * 7; i += 4)   /* header fields, CRC made valid */
        for (v = 0; v < sizeof values / sizeof values[0]; v++) {
            memcpy(bad, good, len);
            if (bp__get32(bad + i) == values[v]) continue;
            bp__put32(bad + i, values[v]);
            bp__put32(bad + len - 4, bp__crc32(0, bad, len - 4));
            EXPECT_REFUSED(bad, len);
        }
    /* a stored length that agrees with the buffer but not with the topology */
    memcpy(bad, good, len);
    memset(bad + len, 0, 4);
    bp__put32(bad + 16, (uint32_t)(len + 4));
    bp__put32(bad + len, bp__crc32(0, bad, len));
    CHECK(bp_load(&tn.net, bad, len + 4) == BP_ERR_CORRUPT);
    CHECKF(refused == tried, "%d of %d altered models refused", refused, tried);
    printf("     %d altered models, all refused: %s\n", tried, refused == tried ? "yes" : "no");
    for (i = 0; i < tn.net.n_params; i++) CHECK(tn.params[i] == 42);
    CHECK(bp_load(&tn.net, good, len) == BP_OK);                 /* and the original loads */
    CHECK(memcmp(keep, tn.params, tn.net.n_params * sizeof(float)) == 0);
#undef EXPECT_REFUSED
    free(good); free(bad); free(keep);
    tnet_free(&tn);
}

/* The specific statuses, one cause each. */
static void test_load_statuses(void) {
    static const int sizes[] = {2, 2}, other[] = {2, 3};
    static const bp_act acts[] = {BP_SIGMOID};
    tnet tn, tn2;
    trnet rn;
    unsigned char buf[128], small[8];
    size_t len;
    CHECK(tnet_make(&tn, 1, sizes, acts, BP_LOSS_SQUARED, 1) == BP_OK);
    CHECK(tnet_make(&tn2, 1, other, acts, BP_LOSS_SQUARED, 1) == BP_OK);
    len = bp_save_size(&tn.net);
    CHECK(len == 24 + 4 * 5 + 4 * 6 + 4);
    memset(small, 0xAB, sizeof small);
    CHECK(bp_save(&tn.net, small, 7) == BP_ERR_BUFFER);
    CHECK(small[0] == 0xAB);                                      /* nothing written */
    CHECK(bp_save(&tn.net, NULL, 100) == BP_ERR_NULL && bp_save(NULL, buf, 100) == BP_ERR_NULL);
    CHECK(bp_save_size(NULL) == 0);
    CHECK(bp_save(&tn.net, buf, sizeof buf) == BP_OK);
    CHECK(bp_load(&tn2.net, buf, len) == BP_ERR_TOPOLOGY);
    CHECK(bp_load(&tn.net, NULL, len) == BP_ERR_NULL);
    CHECK(bp_load(&tn.net, buf, 0) == BP_ERR_TRUNCATED);
    CHECK(bp_load(&tn.net, "BPRO", 4) == BP_ERR_TRUNCATED);      /* a prefix of the magic */
    CHECK(bp_load(&tn.net, "PK\3\4", 4) == BP_ERR_BAD_MAGIC);
    buf[0] = 'b';
    CHECK(bp_load(&tn.net, buf, len) == BP_ERR_BAD_MAGIC);
    buf[0] = 'B';
    bp__put32(buf + 8, 2);
    CHECK(bp_load(&tn.net, buf, len) == BP_ERR_VERSION);
    bp__put32(buf + 8, 1);
    buf[40] ^= 1;
    CHECK(bp_load(&tn.net, buf, len) == BP_ERR_CHECKSUM);
    buf[40] ^= 1;
    buf[24] ^= 0x40;          /* n_layers 1 -> 65: in a buffer, damage reads as a checksum error */
    CHECK(bp_load(&tn.net, buf, len) == BP_ERR_CHECKSUM);
    buf[24] ^= 0x40;
    CHECK(bp_load(&tn.net, buf, len) == BP_OK);
    CHECK(trnet_make(&rn, 2, 0, 1, BP_TANH) == BP_OK);
    CHECK(bp_rnet_load(&rn.net, buf, len) == BP_ERR_KIND);
    CHECK(bp_rnet_save(&rn.net, buf, 5) == BP_ERR_BUFFER);
    CHECK(bp_rnet_save(&rn.net, buf, sizeof buf) == BP_OK);
    CHECK(bp_load(&tn.net, buf, bp_rnet_save_size(&rn.net)) == BP_ERR_KIND);
    trnet_free(&rn);
    tnet_free(&tn); tnet_free(&tn2);
}

static void test_file_helpers(void) {
    static const int sizes[] = {4, 6, 3};
    static const bp_act acts[] = {BP_TANH, BP_SOFTMAX};
    const char *path = "build/test_model.bpmodel";
    int nl, sz[BP_MAX_LAYERS + 1];
    tnet a, b;
    trnet ra, rb;
    size_t len = 0;
    unsigned char *bytes;
    FILE *f;
    CHECK(tnet_make(&a, 2, sizes, acts, BP_LOSS_CROSS_ENTROPY, 1) == BP_OK);
    CHECK(tnet_make(&b, 2, sizes, acts, BP_LOSS_CROSS_ENTROPY, 1) == BP_OK);
    bp_randomize(&a.net, 3);
    remove(path);
    CHECK(bp_save_file(&a.net, path) == BP_OK);
    CHECK((f = fopen("build/test_model.bpmodel.tmp", "rb")) == NULL);   /* renamed away */
    if (f) fclose(f);
    bytes = slurp(path, &len);                                          /* the same bytes as bp_save */
    CHECK(bytes && len == bp_save_size(&a.net));
    {
        unsigned char *mem = (unsigned char *)malloc(len);
        CHECK(bp_save(&a.net, mem, len) == BP_OK && memcmp(mem, bytes, len) == 0);
        free(mem);
    }
    CHECK(bp_peek_file(path, &nl, sz, NULL, NULL) == BP_OK && nl == 2 && sz[1] == 6);
    CHECK(bp_load_file(&b.net, path) == BP_OK);
    CHECK(memcmp(a.params, b.params, a.net.n_params * sizeof(float)) == 0);
    /* damaged files: truncated, trailing bytes, a flipped bit; params stay as they were */
    f = fopen("build/test_model_cut.bpmodel", "wb"); fwrite(bytes, 1, len - 3, f); fclose(f);
    CHECK(bp_load_file(&b.net, "build/test_model_cut.bpmodel") == BP_ERR_TRUNCATED);
    f = fopen("build/test_model_long.bpmodel", "wb"); fwrite(bytes, 1, len, f); fputc(0, f); fclose(f);
    CHECK(bp_load_file(&b.net, "build/test_model_long.bpmodel") == BP_ERR_TRAILING);
    bytes[len / 2] ^= 4;
    f = fopen("build/test_model_flip.bpmodel", "wb"); fwrite(bytes, 1, len, f); fclose(f);
    CHECK(bp_load_file(&b.net, "build/test_model_flip.bpmodel") == BP_ERR_CHECKSUM);
    CHECK(memcmp(a.params, b.params, a.net.n_params * sizeof(float)) == 0);
    CHECK(bp_load_file(&b.net, "build/no such model") == BP_ERR_IO);
    CHECK(bp_save_file(&a.net, "build/no such dir/model") == BP_ERR_IO);
    /* a failed save leaves the previous file whole: make the temporary name unusable */
    bp_randomize(&b.net, 4);
    remove("build/test_model.bpmodel.tmp");
    CHECK(make_dir("build/test_model.bpmodel.tmp") == 0);
    CHECK(bp_save_file(&b.net, path) == BP_ERR_IO);
    CHECK(bp_load_file(&b.net, path) == BP_OK);
    CHECK(memcmp(a.params, b.params, a.net.n_params * sizeof(float)) == 0);
    CHECK(remove_dir("build/test_model.bpmodel.tmp") == 0);
    free(bytes);
    /* recurrent */
    CHECK(trnet_make(&ra, 5, 1, 2, BP_SIGMOID) == BP_OK);
    CHECK(trnet_make(&rb, 5, 1, 2, BP_SIGMOID) == BP_OK);
    bp_rnet_randomize(&ra.net, 9);
    ra.net.max_iters = 77;
    CHECK(bp_rnet_save_file(&ra.net, "build/test_rnet.bpmodel") == BP_OK);
    CHECK(bp_rnet_load_file(&rb.net, "build/test_rnet.bpmodel") == BP_OK && rb.net.max_iters == 77);
    CHECK(memcmp(ra.params, rb.params, ra.net.n_params * sizeof(float)) == 0);
    CHECK(bp_load_file(&a.net, "build/test_rnet.bpmodel") == BP_ERR_KIND);
    CHECK(bp_rnet_load_file(&rb.net, path) == BP_ERR_KIND);
    trnet_free(&ra); trnet_free(&rb);
    tnet_free(&a); tnet_free(&b);
}

/* bp_to_c and bp_qto_c: the text read back (strtof reads the hexadecimal constants exactly,
   strtol the integers) gives every parameter's bits; the buffer protocol (cap 0 asks the
   length, a buffer one byte short is refused, NUL-terminated otherwise); bad names and
   non-finite parameters refused. The compiled header is tests/c_source.c's business. */
static void test_to_c(void) {
    static const int sizes[] = {3, 5, 2};
    static const bp_act acts[] = {BP_SIGMOID, BP_SOFTMAX};
    float x[20 * 3];
    tnet tn;
    tqnet tq;
    size_t len = 0, len2 = 0, i;
    char *text, *p;
    bp_rng r = bp_rng_seed(6);
    for (i = 0; i < 60; i++) x[i] = urand(&r, -2, 2);
    CHECK(tnet_make(&tn, 2, sizes, acts, BP_LOSS_CROSS_ENTROPY, 1) == BP_OK);
    bp_randomize(&tn.net, 11);
    tn.params[0] = 0.0f; tn.params[1] = -0.0f; tn.params[2] = 1e-45f;      /* the edge cases */
    tn.params[3] = -FLT_MAX; tn.params[4] = 1.17549435e-38f; tn.params[5] = 1.0f;
    CHECK(bp_to_c(&tn.net, "net", NULL, 0, &len) == BP_ERR_BUFFER && len > 0);
    text = (char *)malloc(len + 1);
    CHECK(bp_to_c(&tn.net, "net", text, len, &len2) == BP_ERR_BUFFER && len2 == len);
    CHECK(bp_to_c(&tn.net, "net", text, len + 1, NULL) == BP_OK && strlen(text) == len);
    CHECK(strstr(text, "#define net_N_LAYERS 2\n") && strstr(text, "net_sizes[net_N_LAYERS + 1] = {3, 5, 2};")
          && strstr(text, "{BP_SIGMOID, BP_SOFTMAX};") && strstr(text, "#define net_LOSS BP_LOSS_CROSS_ENTROPY"));
    p = strstr(text, "net_params[net_N_PARAMS] = {");
    CHECK(p != NULL);
    if (p) {
        p = strchr(p, '{') + 1;
        for (i = 0; i < tn.net.n_params; i++) {
            char *end;
            const float f = strtof(p, &end);
            CHECKF(end != p && memcmp(&f, &tn.params[i], 4) == 0, "parameter %lu", (unsigned long)i);
            p = end;
            while (*p == 'f' || *p == ',' || *p == ' ' || *p == '\n') p++;
        }
        CHECK(*p == '}');
    }
    free(text);
    CHECK(bp_to_c(&tn.net, "9net", NULL, 0, &len) == BP_ERR_NAME);
    CHECK(bp_to_c(&tn.net, "", NULL, 0, &len) == BP_ERR_NAME);
    CHECK(bp_to_c(&tn.net, "a-b", NULL, 0, &len) == BP_ERR_NAME);
    CHECK(bp_to_c(&tn.net, NULL, NULL, 0, &len) == BP_ERR_NULL);
    tn.params[7] = INFINITY;
    CHECK(bp_to_c(&tn.net, "net", NULL, 0, &len) == BP_ERR_NONFINITE);
    bp_randomize(&tn.net, 11);
    CHECK(tqnet_make(&tq, &tn.net, x, 20) == BP_OK);
    CHECK(bp_qto_c(&tq.qn, "q_net", NULL, 0, &len) == BP_ERR_BUFFER);
    text = (char *)malloc(len + 1);
    CHECK(bp_qto_c(&tq.qn, "q_net", text, len + 1, NULL) == BP_OK);
    p = strstr(text, "q_net_q[q_net_N_Q] = {");
    CHECK(p != NULL && strstr(text, "q_net_weights[q_net_N_WEIGHTS] = {") != NULL);
    if (p) {
        p = strchr(p, '{') + 1;
        for (i = 0; i < tq.nq; i++) {
            char *end;
            long v = strtol(p, &end, 10);
            if (end == p && *p == '(') v = INT32_MIN, end = strchr(p, ')') + 1;   /* INT32_MIN */
            CHECKF(end != p && v == tq.q[i], "q word %lu", (unsigned long)i);
            p = end;
            while (*p == ',' || *p == ' ' || *p == '\n') p++;
        }
        CHECK(*p == '}');
    }
    free(text);
    tqnet_free(&tq);
    tnet_free(&tn);
}
