/* Part 6, the kernels: the GEMM against a naive product over every shape and hook, and
   threads to the same bits as one.
   Included by tests/test_backprop.c, which holds the shared helpers: one program. */

/* The batched product against a naive double loop, in all three stride patterns the library
   uses, at sizes that are 1, odd, and just past every block and tile edge (MR 4/6, NR 8/16/32,
   KC 256, NC 512); row-major B is read in place, or packed when its row stride is a multiple
   of 64 floats (128). Each output is a float sum of K products taken in order: within
   K * 2^-24 * sum |terms| of the exact value (the classic bound, with room). Threads split C
   by rows and by columns; with OpenMP, 1 to 4 threads: they share the pack area, and N = 513
   has two column blocks; rows-split threads pack together in a minimal pack area and alone
   in a large one; rows split evenly end on 1 to 5 rows, a short kernel's. A rows_done hook
   is given every row once, also when too few rows make the weight-gradient form split its
   columns instead (cols_ok). Every element must be, to the bit, the sum over k in order by
   the level's multiply-add (whatever the kernel, blocking or thread), at every instruction-set
   level the build has and the CPU runs. The fused SGD step on the weight-gradient
   form (the piece hook, bp__piece) must leave W exactly as the stored product followed by
   bp__step row by row does: each piece given to it once, with the stored values. */
/* A rows_done hook that counts the rows it is given (each must come exactly once). */
static int hook_hits[600];
static void count_rows(const bp__mm *g, int i0, int i1) {
    int i;
    (void)g;
    for (i = i0; i < i1; i++) hook_hits[i]++;
}

static void test_gemm_against_naive(void) {
    static const int dims[] = {1, 3, 7, 17, 33, 128, 257, 513};
    const bp_opt opt = sgd(0.25f, 0.5f, 0.01f, 1);
    bp_rng r = bp_rng_seed(6);
    float *A = (float *)malloc(600 * 600 * sizeof(float)), *B = (float *)malloc(600 * 600 * sizeof(float));
    float *C = (float *)malloc(600 * 600 * sizeof(float)), *W[2], *V[2];
    float *pack = (float *)malloc(4 * 512 * 256 * sizeof(float));
    int mi, ni, ki, form, rows, bad = 0, fused_bad = 0, cases = 0, fused = 0, threads, hook_bad = 0;
    int chain_bad = 0, lv;
    /* BP_TEST_QUICK (tests/cross.sh, under emulation): products up to 2M multiply-adds (every
       block edge still met, by some of the cases) */
    const int quick = getenv("BP_TEST_QUICK") != NULL;
    size_t i;
    for (i = 0; i < 2; i++) {
        W[i] = (float *)malloc(600 * 600 * sizeof(float));
        V[i] = (float *)malloc(600 * 600 * sizeof(float));
    }
    for (i = 0; i < 600 * 600; i++) { A[i] = urand(&r, -1, 1); B[i] = urand(&r, -1, 1); }
    for (lv = BP_LEVEL_BASE; lv < BP_LEVEL_COUNT; lv++) {   /* every level this CPU runs */
    const bp__kern *kern = bp__kern_of((bp_level)lv);
    /* the narrower levels (the same loops, another tile and instruction set) with the quick
       sizes and at most 2 threads: the suite's time */
    const int full = lv == (int)bp__best_level() && !quick;
    if (!kern || lv > (int)bp__best_level()) continue;
    printf("     (level %s: tile %d x %d, %s)\n", bp_level_name((bp_level)lv), kern->mr, kern->nr,
           kern->fused ? "fused" : "not fused");
#ifdef _OPENMP
    for (threads = 1; threads <= (full ? 4 : 2); threads++) {
    omp_set_num_threads(threads);
#else
    for (threads = 1; threads <= 1; threads++) {
#endif
    for (mi = 0; mi < 8; mi++)
        for (ni = 0; ni < 8; ni++)
            for (ki = 0; ki < 8; ki++)
                for (form = 0; form < 3; form++)
                for (rows = 0; rows < 2; rows++) {
                    const int M = dims[mi], N = dims[ni], K = dims[ki];
                    /* form 0: A row-major M x K, B(k, n) = W[n][k] (forward)
                       form 1: A(m, k) = D[k][m], B row-major (weight gradient)
                       form 2: both row-major (input gradient) */
                    size_t rsa = form == 1 ? 1 : (size_t)K, csa = form == 1 ? (size_t)M : 1;
                    size_t rsb = form == 0 ? 1 : (size_t)N, csb = form == 0 ? (size_t)K : 1;
                    int m, n, k;
                    bp__mm g;
                    if ((long)M * N * K > (full ? 40000000L : 2000000L) || (mi + ni + ki + form) % 3)
                        continue;
                    cases++;
                    memset(&g, 0, sizeof g);
                    g.k = kern;
                    g.M = M; g.N = N; g.K = K; g.A = A; g.rsa = rsa; g.csa = csa;
                    g.B = B; g.rsb = rsb; g.csb = csb; g.C = C; g.ldc = (size_t)N;
                    g.pack = pack; g.by_rows = rows;
                    g.pack_n = (mi + ki) % 2 ? 4 * 512 * 256 : 0;   /* 0: as little as allowed */
                    if (rows) {
                        g.rows_done = count_rows;
                        g.cols_ok = form == 1;
                        memset(hook_hits, 0, sizeof hook_hits);
                    }
                    bp__gemm(&g);
                    for (m = 0; m < M && rows; m++) hook_bad += hook_hits[m] != 1;
                    for (m = 0; m < M; m++)
                        for (n = 0; n < N; n++) {
                            double exact = 0, mag = 0;
                            float chain = 0.0f;
                            for (k = 0; k < K; k++) {
                                double t = (double)A[m * rsa + k * csa] * B[k * rsb + n * csb];
                                exact += t;
                                mag += fabs(t);
                                chain = BP__FMA_AT(kern->fused, A[m * rsa + k * csa],
                                                   B[k * rsb + n * csb], chain);
                            }
                            if (fabs(C[(size_t)m * N + n] - exact) > K * 6e-8 * mag + 1e-30) bad++;
                            /* and exactly the documented sum: over k in order, by BP__FMA
                               (not with BP_CBLAS: the BLAS sums as it likes) */
#ifndef BP_CBLAS
                            if (C[(size_t)m * N + n] != chain) chain_bad++;
#endif
                        }
                    if (form == 1) {   /* the fused step against the stored product + bp__step
                                          (the fused call leaves partial sums in C) */
                        for (i = 0; i < (size_t)M * N; i++) {
                            W[0][i] = W[1][i] = urand(&r, -1, 1);
                            V[0][i] = V[1][i] = urand(&r, -1, 1);
                        }
                        bp__rule u;
                        bp__grad_ctx gc;
                        bp__rule_of(&u, kern, &opt, V[0], (size_t)M * N);
                        for (m = 0; m < M; m++)
                            kern->step(W[0] + (size_t)m * N, V[0] + (size_t)m * N, 1.0f, C + (size_t)m * N,
                                       (size_t)N, &u, opt.weight_decay);
                        gc.u = &u; gc.W = W[1]; gc.V = V[1]; gc.late = 0;
                        g.piece = 1; g.ctx = &gc;                  /* the backward pass's step hook */
                        bp__gemm(&g);
                        fused++;
                        if (memcmp(W[0], W[1], (size_t)M * N * sizeof(float))
                            || memcmp(V[0], V[1], (size_t)M * N * sizeof(float))) fused_bad++;
                    }
                }
    CHECKF(bad == 0, "%s, %d threads: %d wrong elements", bp_level_name((bp_level)lv), threads, bad);
    CHECKF(chain_bad == 0, "%s, %d threads: %d elements not the k-ordered chain of the level's multiply-add",
           bp_level_name((bp_level)lv), threads, chain_bad);
    CHECKF(fused_bad == 0, "%s, %d threads: %d of %d fused steps differ", bp_level_name((bp_level)lv),
           threads, fused_bad, fused);
    CHECKF(hook_bad == 0, "%s, %d threads: %d rows not given to rows_done exactly once",
           bp_level_name((bp_level)lv), threads, hook_bad);
    }
    }
    CHECKF(cases > (quick ? 30 : 100) && fused > (quick ? 10 : 50), "only %d cases, %d fused", cases, fused);
    free(A); free(B); free(C); free(pack);
    for (i = 0; i < 2; i++) { free(W[i]); free(V[i]); }
}

/* With OpenMP the batched products split their rows or columns across threads; every element
   keeps one thread and one order of additions, so 1 to 4 threads train to the same bits. In
   the first net a layer wider than a column block (530 > NC) makes the threads reuse the pack
   area; the 10-unit output layer's products are big enough to split (batch 64 x 128 inputs):
   its forward pass by samples, finished row by row, its weight gradient by columns. In the
   second, the 256-unit layer's activations (a row stride of 256 floats) are packed for the
   next weight gradient, which is then split by columns where the panels divide evenly. In the
   third the output layer is the widest and not narrow (its forward product split by
   columns). The losses each step returns must agree to the bit too. */
static void test_threads_bit_identical(void) {
#ifdef _OPENMP
    static const int nets[3][4] = {{300, 530, 128, 10}, {200, 256, 128, 10}, {300, 100, 64, 100}};
    static const bp_act acts[] = {BP_RELU, BP_TANH, BP_SOFTMAX};
    const bp_opt opt = sgd(0.05f, 0.9f, 1e-4f, 0);
    float *x = (float *)malloc(64 * 300 * sizeof(float)), *t = (float *)calloc(64 * 100, sizeof(float));
    float *first = NULL, loss[4], first_loss[4];
    bp_rng r = bp_rng_seed(14);
    int net, threads, step, i;
    for (i = 0; i < 64 * 300; i++) x[i] = urand(&r, -1, 1);
    for (net = 0; net < 3; net++) {
        const int nout = nets[net][3];
        for (i = 0; i < 64 * nout; i++) t[i] = 0.0f;
        for (i = 0; i < 64; i++) t[i * nout + i % nout] = 1;
        for (threads = 1; threads <= 4; threads++) {
            tnet tn;
            omp_set_num_threads(threads);
            CHECK(tnet_make(&tn, 3, nets[net], acts, BP_LOSS_CROSS_ENTROPY, 64) == BP_OK);
            bp_randomize(&tn.net, 14);
            for (step = 0; step < 4; step++) CHECK(bp_train_step(&tn.net, &opt, tn.vel, tn.net.n_params, x, t, 64, &loss[step]) == BP_OK);
            if (threads == 1) {
                free(first);
                first = (float *)malloc(tn.net.n_params * sizeof(float));
                memcpy(first, tn.params, tn.net.n_params * sizeof(float));
                memcpy(first_loss, loss, sizeof loss);
            } else {
                CHECKF(memcmp(first, tn.params, tn.net.n_params * sizeof(float)) == 0, "net %d: %d threads differ",
                       net, threads);
                CHECKF(memcmp(first_loss, loss, sizeof loss) == 0, "net %d: %d threads, losses differ", net, threads);
            }
            tnet_free(&tn);
        }
    }
    printf("     trained with 1, 2, 3 and 4 OpenMP threads (%d available)\n", omp_get_num_procs());
    free(first); free(x); free(t);
#else
    printf("     skip: built without OpenMP (the -fopenmp build in make test runs it)\n");
#endif
}
