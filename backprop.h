/* backprop.h - v0.2.5 - neural networks trained by backpropagation, one C99 header
   MIT or public domain

   Both kinds of backpropagation, over arrays that you own; the library never allocates:
     static     dense feed-forward nets (bp_net): forward pass, backward pass by the chain rule,
                SGD (momentum, Nesterov, weight decay), Adam, AdamW and RMSprop, gradient
                clipping, a fused train step and a shuffled pass over a whole data set, from
                target rows or class labels; steps that would let an infinity or a NaN into
                the parameters are refused (see ERRORS);
     recurrent  a fully connected recurrent net (bp_rnet) relaxed to a fixed point, its error
                carried back by a second, linear relaxation (Almeida-Pineda): see bp_rnet below.
     sequences  Elman, GRU and LSTM layers under dense layers (bp_seq), trained by
                backpropagation through time, truncated or whole, streamed step by step.
     deploying  a trained net run from read-only parameters (bp_init_forward), quantized to
                int8 for cores without an FPU (bp_qnet: DEPLOYING below), written as C source to
                compile into firmware (bp_to_c, bp_qto_c; examples/bp2c.c).

   READING THE CODE: the implementation, after the declarations, is in seven parts, each
     opening with what it adds and what it relies on; the map at its top lists them with their
     lines. Part 1, the core, is a complete trainer on its own: a dense net's sizes,
     activations, losses, the forward pass, the backward pass and the SGD step.

   ENABLE
     In exactly one C or C++ file:
         #define BACKPROP_IMPLEMENTATION
         #include "backprop.h"
     Everywhere else include it plainly for the declarations.

   MEMORY MODEL (Part 1, as the layouts, the example and the losses below)
     Ask the size, hand in the arrays with their lengths, init:
         size_t np = bp_params_size(n_layers, sizes);          floats of parameters (and of grads)
         size_t nw = bp_work_size(n_layers, sizes, max_batch); floats of scratch
         bp_init(&net, ..., params, np, grads, np, work, nw);   a shorter array is refused
     (bp_rnet_params_size and bp_rnet_work_size for a recurrent net; bp_opt_state_size for an
     optimizer's state, handed to each training call with its length.)
     Static, stack, arena or malloc: your choice. 0 from either means the sizes are invalid.
     Any float alignment works, to the same bits; 64 bytes (a cache line) makes batched
     training a few % faster (malloc gives large blocks 16: rows then straddle lines, and
     threads share the lines where they split a row), and Adam's with the state aligned too.

   PARAMETER LAYOUT (one flat vector; grads and each array of optimizer state have the same layout)
     For each layer l = 0 .. n_layers-1, with in = sizes[l], out = sizes[l+1]:
         W[out][in] row-major, then b[out].
     Unit o of layer l computes act[l]( sum_i W[o][i] * x[i] + b[o] ).

   WORK LAYOUT (scratch; you may read it, the library owns its contents)
     A_1 .. A_L   activations of each layer, max_batch rows of sizes[l] each
     Z            pre-activations of the output layer, max_batch rows of sizes[L]
     D_1 .. D_L   deltas dLoss/dz of each layer, shaped as A_1 .. A_L (all of them are known
                  before any weight changes: see ERRORS)
     S            max_batch floats: the batch's per-sample losses
     G            max_batch rows of sizes[0], then of sizes[L]: a batch gathered by
                  bp_train_epoch in a given order, and the one-hot rows made from labels
     P            when max_batch > 1: scratch of the batched matrix products (Part 6's
                  packing space), at most 131,072 floats; bp_work_size counts it

   EXAMPLE (learns XOR; tests/compile.sh compiles and runs this very text)
         #define BACKPROP_IMPLEMENTATION
         #include "backprop.h"
         #include <stdio.h>
         int main(void) {
             static const int sizes[] = {2, 4, 1};
             static const bp_act acts[] = {BP_TANH, BP_SIGMOID};
             static const float x[] = {0,0, 0,1, 1,0, 1,1}, t[] = {0, 1, 1, 0};
             float params[17], grads[17], work[15];   // bp_params_size, bp_work_size
             bp_opt opt = bp_opt_sgd(0.5f);           // plain SGD, learning rate 0.5
             bp_net net;
             int epoch, i;
             if (bp_init(&net, 2, sizes, acts, BP_LOSS_CROSS_ENTROPY, 1,
                         params, 17, grads, 17, work, 15))
                 return 1;
             bp_randomize(&net, 42);
             for (epoch = 0; epoch < 2000; epoch++)
                 for (i = 0; i < 4; i++)                 // no optimizer state: NULL, 0
                     bp_train_step(&net, &opt, NULL, 0, x + 2 * i, t + i, 1, NULL);
             for (i = 0; i < 4; i++)
                 printf("%.0f xor %.0f = %.3f\n", (double)x[2 * i], (double)x[2 * i + 1],
                        (double)bp_forward(&net, x + 2 * i, 1)[0]);
             return 0;
         }

   LOSSES (per sample; the batch loss is the mean over the batch)
     BP_LOSS_SQUARED        0.5 * sum_k (y_k - t_k)^2, with any output activation.
     BP_LOSS_CROSS_ENTROPY  softmax output:  -sum_k t_k log y_k   (each target row in 0..1,
                                                              summing to 1 within 1e-3)
                            sigmoid output: -sum_k t_k log y_k + (1-t_k) log(1-y_k)  (t in 0..1)
                            Fused with the output activation: the output delta is y - t. The
                            value is computed from the pre-activations (log-sum-exp, softplus),
                            so it stays finite and accurate when y rounds to 0 or 1.

   ERRORS (the training calls' checks: Part 2)
     One rule: every function that can fail returns a bp_status (bp_strerror names it), except
     those whose result is a value, which answer with a sentinel documented at each: sizes 0,
     pointers NULL, losses -1 (bad arguments) or NaN (a refused step), indices -1, the PRNG 0.
     Mistakes the library can see are refused before anything is written: NULL pointers, sizes,
     batches, settings, arrays shorter than their size query (init is told every length),
     malformed model bytes. Lengths it cannot know (the rows of x and target you pass) are
     yours to get right; the declarations say where.
     Non-finite values and divergence. The training calls (bp_train_step, bp_train_epoch,
     bp_update, bp_rnet_update) refuse a step rather than let an infinity or a NaN into the
     parameters or the optimizer state: BP_ERR_NONFINITE, with params and state bit for bit as
     before the call (bp_train_epoch: the batches before stay trained; *done says where it
     stopped). Checked before anything is written: the batch's inputs, every layer's activations
     (ReLU keeps a NaN a NaN), the output's pre-activations, the loss, every layer's deltas
     (O(batch x width) reads beside O(batch x width^2) of products), and a bound on the
     gradients, batch max|delta| max|input| <= 1e18 with lr times it <= 1e30, so that no
     gradient or step can overflow (bp_update checks the stored gradient itself). Targets out
     of range are BP_ERR_TARGET (NaN or infinite; for cross-entropy outside 0..1, and with
     softmax a row not summing to 1: labels passed where one-hot rows belong land here; the
     length of target, though, is yours to get right). bp_backward
     answers NaN in the same cases and bp_evaluate refuses outputs that are not finite.
     A forward view (bp_init_forward) is refused by every call that would write its
     parameters: BP_ERR_READONLY.
     What the checks cannot see: a loss that is finite but growing (a learning rate too high:
     the epoch's mean loss rises instead of falling, then BP_ERR_NONFINITE when it overflows;
     lower lr, or set clip); a wrong but finite target; weight decay or momentum multiplying
     weights that are already beyond about 1e30. bp_sgd is the bare step, unchecked.

   DEPLOYING (Part 5)
     Inference only: bp_init_forward takes const params and no grads, with work of
     bp_forward_work_size floats (activations of one batch; no deltas, no gathered rows, the
     products' scratch only when max_batch > 1): params may live in flash.
     Int8 (bp_quantize, bp_qnet): inference on integers, for cores without an FPU; its
     arithmetic, what is stored and what the reader refuses are set out at the top of Part 5.
     On the bundled digits and Fashion-MNIST the int8 net classifies within 0.5 points of the
     float one (README, "Deploying to a microcontroller").

   INSTRUCTION SETS (Part 6)
     On x86-64 under GCC 8+ (not MinGW, whose stack alignment breaks AVX spills) and clang,
     the kernels are compiled for AVX-512 and for AVX2 + FMA beside what the flags give, and
     bp_init picks the widest the CPU runs (kept in net->level): a plain -O2 build runs as fast
     as -march=native, and to the same bits in ISO C mode. A build whose flags give a level
     (-march=native, -mavx2 -mfma) compiles nothing below it. bp_set_level pins a level;
     BP_NO_DISPATCH compiles only what the flags give. bp_sgd, which has no net, runs the
     widest level (its arithmetic is the same on every level).

   FORMAT (Part 7: bp_save, bp_rnet_save, bp_seq_save, bp_qsave, bp_checkpoint_save): versioned,
     little-endian, checksummed bytes, the same on every host; specified field by field at
     the top of Part 7, where they are written and read.

   OPTIONS (define before the include; all but the first two matter only in the file that
   defines BACKPROP_IMPLEMENTATION)
     BACKPROP_STATIC      every function static, for a private copy per translation unit.
                          Define it in every file that includes the header.
     BP_MAX_LAYERS        maximum number of weight layers (default 16). Same value in every file:
                          it sizes the arrays in bp_net.
     BP_LEAKY_SLOPE       slope of leaky ReLU for z < 0 (default 0.01f).
     BP_EXPF BP_LOGF BP_TANHF BP_SQRTF
                          libm hooks (default expf, logf, tanhf, sqrtf); define all four and
                          <math.h> is not included.
     BP_MEMSET BP_MEMCPY  libc hooks (default memset, memcpy); define both and <string.h> is not
                          included.
     BP_ASSERT(c)         internal invariant checks (default: none). Never used for caller input,
                          which is always checked and answered with a bp_status.
     BP_CBLAS             route the batched matrix products to cblas_sgemm (includes <cblas.h>;
                          link your BLAS, e.g. -lopenblas). Results then match the built-in
                          kernels within float rounding, not bit for bit.
     _OPENMP              (set by -fopenmp) threads in the batched products; results are the
                          same bits for any thread count. A batched bp_train_step is one
                          parallel region whose threads meet at about ten barriers: run with
                          OMP_WAIT_POLICY=ACTIVE so waiting threads spin instead of sleeping
                          (on the 2-core VM we measured, sleeping made 2 threads slower than 1).
                          Called inside a parallel region of yours, its products open nested
                          regions, which OpenMP runs on one thread unless nesting is enabled.
     BP_OMP_MIN           with OpenMP: the fewest floats a loop touches (a product: a quarter
                          of its multiply-adds) for it to run on threads (default 16384).
     BP_NO_FSYNC          the file helpers skip fsync (POSIX) and the directory's sync: faster,
                          and no longer safe against a power cut.
     BP_NO_STDIO          leaves out the file helpers (bp_save_file ...) and <stdio.h>; the rest
                          never touches stdio. (0.2.0's spelling, BACKPROP_NO_STDIO, still
                          works until 0.3.)
     BP_NO_FMA            never use fmaf. By default the kernels use it where it is an
                          instruction (FP_FAST_FMAF, __FMA__), as with -march=native, at the
                          AVX2 and AVX-512 levels, or on a Cortex-M4F; results then differ from
                          a build without FMA in the last bits, as with any BLAS. Nothing else
                          fuses: the implementation turns clang's contraction of a * b + c
                          off, as GCC's ISO C mode has it.
     BP_NO_SIMD           the plain reference path: the batched products by a textbook triple
                          loop (bp__gemm_ref) instead of the packed, tiled kernels, no
                          intrinsics, one thread. Slower, and the same bits as the kernels
                          of the same build (make test checks it). Where a port starts.
     BP_NO_DISPATCH       only the kernels the compiler's flags give (see INSTRUCTION SETS).
     BP_NO_BATCH          one sample at a time, for firmware: bp_work_size answers 0 and
                          bp_init BP_ERR_MAX_BATCH for a max_batch above 1, and the batched
                          products are left out of the build; per-sample training gives the
                          same bits as with batches.
   Firmware: on Arm's M profile (Cortex-M) the batched products always take the plain loop
   of BP_NO_SIMD (the tiles are made for vector registers and would take most of the flash);
   built with -Os, the kernels leave out the copies that are there for speed alone (the same
   bits); with -ffunction-sections -fdata-sections -Wl,--gc-sections, what a program never
   calls (another optimizer's kernel, the epoch's) is not linked. make embedded measures it.

   THREAD SAFETY
     No globals, no hidden state. Functions are reentrant; a bp_net must not be used by two
     threads at once. Several bp_net views may share one read-only params array, each with its
     own work (bp_init_forward: no grads), to serve one model from many threads.

   LIBC / LIBM USED BY THE IMPLEMENTATION
     expf logf tanhf sqrtf memset memcpy, all replaceable by the hooks above; fmaf only where it
     is a single instruction (see BP_NO_FMA; never with the libm hooks); the file helpers
     also use fopen fread fwrite fflush fclose ferror remove rename, and fsync and fileno
     on POSIX (_commit, _fileno and MoveFileExA on Windows; none of them under BP_NO_STDIO,
     no syncs under BP_NO_FSYNC). No malloc, ever. Adam's and RMSprop's square roots go through the
     target's vector square root (<immintrin.h> / <xmmintrin.h> on x86, <arm_neon.h> on
     AArch64: compilers do not vectorize sqrtf), BP_SQRTF elsewhere; the same bits either way.
*/
/* 0.2.0's spelling of an option, kept until 0.3 (options are BP_...; BACKPROP_... says how the
   header is included) */
#if defined(BACKPROP_NO_STDIO) && !defined(BP_NO_STDIO)
#define BP_NO_STDIO
#endif

#ifndef BACKPROP_H
#define BACKPROP_H

#define BACKPROP_VERSION_MAJOR 0
#define BACKPROP_VERSION_MINOR 2
#define BACKPROP_VERSION_PATCH 5
#define BACKPROP_VERSION_STRING "0.2.5"

#include <stddef.h>
#include <stdint.h>

#ifndef BPDEF
#ifdef BACKPROP_STATIC
#if defined(__GNUC__) || defined(__clang__)
#define BPDEF static __attribute__((unused))
#else
#define BPDEF static
#endif
#else
#define BPDEF extern
#endif
#endif

#ifndef BP_MAX_LAYERS
#define BP_MAX_LAYERS 16
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the core (Part 1): a dense net, its sizes, the forward and backward passes, SGD ---------- */
/* Activations. Softmax is for the output layer only. */
typedef enum bp_act {
    BP_LINEAR, BP_SIGMOID, BP_TANH, BP_RELU, BP_LEAKY_RELU, BP_SOFTMAX, BP_ACT_COUNT
} bp_act;

typedef enum bp_loss { BP_LOSS_SQUARED, BP_LOSS_CROSS_ENTROPY, BP_LOSS_COUNT } bp_loss;

/* One list makes both the enum and bp_strerror's texts, so they cannot drift apart. */
#define BP_STATUS_LIST(X) \
    X(BP_OK,                 "ok") \
    X(BP_ERR_NULL,           "a required pointer argument is NULL") \
    X(BP_ERR_LAYERS,         "the number of layers is outside 1..BP_MAX_LAYERS") \
    X(BP_ERR_SIZE,           "a layer size is less than 1") \
    X(BP_ERR_ACT,            "unknown activation") \
    X(BP_ERR_SOFTMAX_HIDDEN, "softmax is only allowed on the output layer") \
    X(BP_ERR_LOSS,           "unknown loss") \
    X(BP_ERR_LOSS_ACT,       "cross-entropy needs a sigmoid or softmax output layer") \
    X(BP_ERR_MAX_BATCH,      "max_batch is less than 1") \
    X(BP_ERR_OVERFLOW,       "the sizes are too large: the float count overflows size_t") \
    X(BP_ERR_PARAMS_SHORT,   "params is shorter than bp_params_size (or bp_rnet_...) says") \
    X(BP_ERR_GRADS_SHORT,    "grads is shorter than bp_params_size (or bp_rnet_...) says") \
    X(BP_ERR_WORK_SHORT,     "work is shorter than bp_work_size (or bp_rnet_work_size) says") \
    X(BP_ERR_STATE_SHORT,    "the optimizer state is shorter than bp_opt_state_size says") \
    X(BP_ERR_BATCH,          "the batch (or sample count) is outside its range") \
    X(BP_ERR_OPT,            "an optimizer setting is out of range (see bp_opt)") \
    X(BP_ERR_TARGET,         "a target is out of range: not finite, or (cross-entropy) outside " \
                             "0..1, or (softmax cross-entropy) a row not summing to 1") \
    X(BP_ERR_ORDER,          "an index in order is outside 0..n-1") \
    X(BP_ERR_LABEL,          "a class label is outside 0..n_outputs-1 (0..1 with one output)") \
    X(BP_ERR_NONFINITE,      "a value became infinite or NaN, or a step would overflow: nothing " \
                             "was updated") \
    X(BP_ERR_OUTPUTS,        "n_outputs is outside 1..n_units") \
    X(BP_ERR_RNET_ACT,       "a recurrent net needs an elementwise activation (not softmax)") \
    X(BP_ERR_RELAX,          "a relaxation setting is out of range (need 0 < tau <= 1, " \
                             "finite tol > 0, max_iters >= 1)") \
    X(BP_ERR_NOT_SETTLED,    "the relaxation did not settle within max_iters") \
    X(BP_ERR_ADJOINT_NOT_SETTLED, "the adjoint relaxation did not settle within max_iters") \
    X(BP_ERR_NOT_SETTLED_YET, "bp_rnet_backward needs a successful bp_rnet_settle first") \
    X(BP_ERR_BUFFER,         "the buffer is too small") \
    X(BP_ERR_BAD_MAGIC,      "not a backprop.h model (bad magic bytes)") \
    X(BP_ERR_VERSION,        "unsupported model format version") \
    X(BP_ERR_KIND,           "the model holds the other kind of net (bp_net vs bp_rnet)") \
    X(BP_ERR_TRUNCATED,      "the model is truncated") \
    X(BP_ERR_TRAILING,       "bytes follow the end of the model") \
    X(BP_ERR_CHECKSUM,       "the model's checksum does not match: it is corrupt") \
    X(BP_ERR_CORRUPT,        "the model's header is invalid or inconsistent: it is corrupt") \
    X(BP_ERR_TOPOLOGY,       "the model's topology differs from the net's") \
    X(BP_ERR_IO,             "a file could not be opened, read or written") \
    X(BP_ERR_LEVEL,          "this build or this CPU cannot run that instruction-set level") \
    X(BP_ERR_READONLY,       "the net is a forward-only view (bp_init_forward): it cannot train " \
                             "or change its parameters") \
    X(BP_ERR_QPARAMS,        "the int8 parameters are not what bp_quantize makes (a weight of " \
                             "-128, a scale not finite and positive, a shift out of range, a " \
                             "bias that could overflow)") \
    X(BP_ERR_NAME,           "the name is not a C identifier of 1..64 characters") \
    X(BP_ERR_OPT_MISMATCH,   "the checkpoint's optimizer differs from the one given (method or " \
                             "a setting other than lr)") \
    X(BP_ERR_EXTRA,          "the checkpoint holds another number of extra floats than given") \
    X(BP_ERR_CELL,           "unknown recurrent cell (bp_cell) or sequence output (bp_seq_out)") \
    X(BP_ERR_STEPS,          "the steps are outside 1..max_steps, or a length outside 1..steps") \
    X(BP_ERR_CARRY_SHORT,    "the carry is shorter than bp_seq_carry_size(spec, batch) floats")

typedef enum bp_status {
#define BP__STATUS_ENUM(name, text) name,
    BP_STATUS_LIST(BP__STATUS_ENUM)
#undef BP__STATUS_ENUM
    BP_STATUS_COUNT
} bp_status;

/* The instruction set the kernels run at (see INSTRUCTION SETS at the top). BP_LEVEL_BASE is
   what the compiler's flags give when they give neither AVX2 + FMA nor AVX-512 (SSE2 at plain
   -O2 on x86-64; every level of other CPUs); BP_LEVEL_AVX2 (with FMA) and BP_LEVEL_AVX512 (F,
   VL, BW, DQ) fuse their multiply-adds and train to the same bits as each other. */
typedef enum bp_level {
    BP_LEVEL_BEST,                /* for bp_set_level: the widest the build and the CPU allow */
    BP_LEVEL_BASE, BP_LEVEL_AVX2, BP_LEVEL_AVX512, BP_LEVEL_COUNT
} bp_level;

typedef struct bp_net {           /* fields are public and documented, but set by bp_init */
    int n_layers;                 /* number of weight layers */
    int sizes[BP_MAX_LAYERS + 1]; /* sizes[0] inputs, sizes[n_layers] outputs */
    bp_act act[BP_MAX_LAYERS];    /* activation of each weight layer */
    bp_loss loss;
    int max_batch;
    float *params; size_t n_params;   /* caller-owned */
    float *grads;                     /* caller-owned, n_params floats, same layout */
    float *work;   size_t n_work;     /* caller-owned: activations and deltas */
    bp_level level;                   /* the kernels' instruction set (bp_set_level) */
} bp_net;

/* Optimizers. */
typedef enum bp_method { BP_SGD, BP_ADAM, BP_ADAMW, BP_RMSPROP, BP_METHOD_COUNT } bp_method;

/* Optimizer settings for bp_update, bp_train_step and bp_train_epoch. bp_opt_sgd and
   bp_opt_adam fill one with the usual defaults; every field is yours to change. Per element,
   with g the gradient (after clipping) and w the weight:
     BP_SGD      g' = g + weight_decay w          (weights only; biases are never decayed)
                 v  = momentum v + g'             (skipped when momentum == 0)
                 w -= lr (nesterov ? g' + momentum v : v)
     BP_ADAM     g' = g + weight_decay w          (Kingma & Ba 2015, with bias correction)
                 m  = beta1 m + (1 - beta1) g'      v = beta2 v + (1 - beta2) g'^2
                 w -= lr (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)
     BP_ADAMW    as Adam with g' = g, then w -= lr weight_decay w first (decoupled weight
                 decay, Loshchilov & Hutter 2019)
     BP_RMSPROP  g' = g + weight_decay w           (Hinton 2012; PyTorch's form)
                 v = beta2 v + (1 - beta2) g'^2     u = g' / (sqrt(v) + eps)
                 b = momentum b + u                w -= lr (momentum > 0 ? b : u)
   clip > 0 first scales the whole gradient by min(1, clip / ||g||_2) over all parameters.
   The state these keep (v; m and v; v and b) is caller-owned: bp_opt_state_size floats. */
typedef struct bp_opt {
    float lr;            /* learning rate, finite, > 0 */
    float momentum;      /* SGD, RMSprop: 0 <= momentum < 1 */
    float weight_decay;  /* finite, >= 0 */
    int nesterov;        /* SGD: nonzero for Nesterov momentum */
    bp_method method;    /* BP_SGD (0), BP_ADAM, BP_ADAMW or BP_RMSPROP */
    float beta1, beta2;  /* Adam: 0 <= beta1 < 1, 0 <= beta2 < 1; RMSprop: beta2 */
    float eps;           /* Adam, RMSprop: finite, > 0 */
    float clip;          /* gradient clipping by global norm: 0 = off, else finite > 0 */
} bp_opt;

/* Plain SGD at lr (momentum, decay 0): { lr, 0, 0, 0, BP_SGD, ... }. */
BPDEF bp_opt bp_opt_sgd(float lr);

/* Floats needed for params (and for grads), for n_layers weight layers and sizes[0..n_layers].
   0 if the arguments are invalid or the count overflows. */
BPDEF size_t bp_params_size(int n_layers, const int *sizes);

/* Floats needed for work at batches of up to max_batch rows. 0 if invalid or overflowing. */
BPDEF size_t bp_work_size(int n_layers, const int *sizes, int max_batch);

/* Checks everything and fills *net. sizes: n_layers+1 ints; acts: n_layers activations.
   params, grads, work: your arrays with their lengths in floats, at least bp_params_size,
   bp_params_size and bp_work_size (longer is fine; a shorter one is refused with
   BP_ERR_PARAMS_SHORT, BP_ERR_GRADS_SHORT or BP_ERR_WORK_SHORT). The three must not overlap.
   Nothing is written to the arrays (call bp_randomize or load parameters). On error *net is
   left zeroed. */
BPDEF bp_status bp_init(bp_net *net, int n_layers, const int *sizes, const bp_act *acts,
                        bp_loss loss, int max_batch, float *params, size_t params_len,
                        float *grads, size_t grads_len, float *work, size_t work_len);

/* The kernels' instruction set, which bp_init sets to the widest the build and this CPU
   allow (INSTRUCTION SETS at the top): pin one, for the same bits on every machine
   (BP_LEVEL_BASE) or to compare; BP_LEVEL_BEST goes back to bp_init's choice. BP_ERR_LEVEL,
   the net unchanged, if the build lacks that level's kernels or the CPU cannot run them.
   bp_level_name: "base", "avx2", "avx512" ("?" for anything else). */
BPDEF bp_status bp_set_level(bp_net *net, bp_level level);
BPDEF const char *bp_level_name(bp_level level);

/* x: batch rows of sizes[0] floats (its length cannot be checked: you vouch for it). Returns
   batch rows of sizes[n_layers] outputs, inside work, valid until the next forward; they are
   what the arithmetic gives (inf or NaN if x holds them: bp_evaluate and the training calls
   check). NULL if net or x is NULL or batch is outside 1..max_batch. */
BPDEF const float *bp_forward(bp_net *net, const float *x, int batch);
/* (Batched and one-sample products add in different orders: a sample's outputs may differ in
   the last bits between batch sizes. The same batch size, level and build give the same bits
   on every run; compare saved models' outputs bit for bit at one batch size.) */

/* Mean loss over the batch of the last bp_forward, against target (batch rows of
   sizes[n_layers]). Negative (-1) on a NULL argument or a batch outside 1..max_batch. */
BPDEF float bp_loss_value(const bp_net *net, const float *target, int batch);

/* After bp_forward on the same x and batch: overwrites grads with the gradient of the
   batch-mean loss and returns that loss. Negative (-1), grads untouched, on a NULL argument
   or a batch outside 1..max_batch. NaN, grads untouched, when a target is out of range (see
   BP_ERR_TARGET) or the step's checks fail (see ERRORS at the top: any non-finite input,
   activation, loss or delta, or a gradient that could overflow): test with isnan(). */
BPDEF float bp_backward(bp_net *net, const float *x, const float *target, int batch);

/* Forward, backward and update in one call, each weight row touched once while it is hot.
   Same bits as bp_forward + bp_backward + bp_update (compiled without -ffp-contract=fast,
   which would let the compiler fuse the two paths' multiply-adds differently). grads is
   scratch here: the weight gradient is applied as it is computed, without being stored (a
   batch stores at most partial sums, and the bias gradient; with clip it stores the whole
   gradient first, as its norm must be known). x: batch rows of sizes[0], target: batch rows
   of sizes[n_layers] (lengths you vouch for). *loss (if loss is not NULL) receives the
   batch-mean loss before the update. Refuses, with params and state bit for bit as they
   were: BP_ERR_TARGET for a target out of range, BP_ERR_NONFINITE when anything the step
   computes is not finite or a gradient could overflow (*loss then says what the loss was). */
BPDEF bp_status bp_train_step(bp_net *net, const bp_opt *opt, float *state, size_t state_len,
                              const float *x, const float *target, int batch, float *loss);

/* ---- training (Part 2): optimizers, updates from a stored gradient, epochs, labels, checks ---- */
/* Adam at lr with beta1 0.9, beta2 0.999, eps 1e-8 (the published defaults); for AdamW set
   method = BP_ADAMW and weight_decay (0.01 is common); for RMSprop use method = BP_RMSPROP
   (beta2 is then its smoothing constant: 0.99 is usual). */
BPDEF bp_opt bp_opt_adam(float lr);

/* Floats of optimizer state opt needs for n_params parameters: 0 for plain SGD (state may then
   be NULL), n_params for SGD with momentum, 2 n_params + 1 for Adam and AdamW (m, v, then
   t, the steps taken, as a float), n_params for RMSprop, 2 n_params with
   momentum (v, then b). Start it at zeros, and keep it with the parameters it belongs to: it
   is laid out like them, so saving or restoring it is a memcpy. 0 as well if opt is NULL. */
BPDEF size_t bp_opt_state_size(const bp_opt *opt, size_t n_params);

/* Weights uniform in [-r, r]: Xavier/Glorot r = sqrt(6 / (in + out)) for linear, sigmoid,
   tanh and softmax layers; He r = sqrt(6 / in) for ReLU and leaky ReLU. Biases 0. The draws
   come from bp_rng seeded with seed, layer by layer, row by row: the same seed gives the same
   bits on every run and host. BP_ERR_NULL if net (or its params) is NULL. */
BPDEF bp_status bp_randomize(bp_net *net, uint64_t seed);

/* params[i] -= lr * grads[i] for i < n: the bare step on any flat vector (a bp_rnet's too),
   unchecked: it does not look for non-finite values (bp_update does). The arrays must not
   overlap. BP_ERR_NULL if either is NULL. */
BPDEF bp_status bp_sgd(float *params, const float *grads, size_t n, float lr);

/* Applies *opt to net->params with the gradient in net->grads. state: state_len floats, at
   least bp_opt_state_size(opt, n_params) (NULL and 0 when that is 0). BP_ERR_NONFINITE, and
   params and state untouched, if a gradient is infinite or NaN or the step could overflow. */
BPDEF bp_status bp_update(bp_net *net, const bp_opt *opt, float *state, size_t state_len);

/* One pass over n samples (rows of x and target) in batches of max_batch (the last one may be
   shorter): the same bits as bp_train_step on each batch in turn. order: NULL for storage
   order, or n indices (bp_shuffle makes a random permutation): batch k then holds samples
   order[k B] .. order[k B + B - 1], gathered into work, nothing copied by you. With max_batch
   1 and plain SGD (no momentum, decay or clip) it is faster: each sample's update of the first
   layer is applied in the same pass as the next sample's forward product, so those weights are
   read once per sample instead of twice; nothing is left pending when it returns.
   *mean_loss (if not NULL): the mean over the samples trained of their loss before their
   update (unchanged if none was). *done (if not NULL): how many samples were trained; n on
   success. On an error in a batch (BP_ERR_TARGET, BP_ERR_NONFINITE) it stops there: the
   batches before it stay trained, that batch changes nothing, and *done is the position in
   the epoch where it starts. BP_ERR_ORDER (nothing trained) if an index is outside 0..n-1.
   n must be >= 1. */
BPDEF bp_status bp_train_epoch(bp_net *net, const bp_opt *opt, float *state, size_t state_len,
                               const float *x, const float *target, int n, const int *order,
                               float *mean_loss, int *done);

/* Index of the largest of v[0..n-1] (the first on ties); -1 if v is NULL or n < 1. */
BPDEF int bp_argmax(const float *v, int n);

/* Runs the n samples of x (rows of sizes[0]) in batches of max_batch, against target.
   *mean_loss: mean loss per sample. *accuracy: the fraction of samples classified right,
   where right means the output's argmax equals the target's argmax or, with one output,
   (y >= 0.5) == (t >= 0.5). Either output pointer may be NULL. n must be >= 1.
   BP_ERR_NONFINITE (outputs untouched) if an input or an output is infinite or NaN: such a
   sample is no prediction (a saturated tanh turns an infinite pixel into a finite output),
   and counting it would hide broken data or a broken net. */
BPDEF bp_status bp_evaluate(bp_net *net, const float *x, const float *target, int n,
                            float *mean_loss, float *accuracy);

/* Classifiers trained and evaluated from class labels (an int per sample, as PyTorch's
   CrossEntropyLoss takes them) instead of target rows: with several outputs label k stands
   for the one-hot row e_k (0 <= k < sizes[n_layers]); with one output (binary: a sigmoid
   output with cross-entropy) for the target 0 or 1. Each is the call above on those rows, the
   same bits, the rows made in work (G); accuracy: argmax == label (one output: y >= 0.5 ==
   label). BP_ERR_LABEL, nothing trained, for a label out of range (bp_train_epoch_labels
   checks all n first). labels: batch (or n) ints, a length you vouch for. */
BPDEF bp_status bp_train_step_labels(bp_net *net, const bp_opt *opt, float *state, size_t state_len,
                                     const float *x, const int *labels, int batch, float *loss);
BPDEF bp_status bp_train_epoch_labels(bp_net *net, const bp_opt *opt, float *state,
                                      size_t state_len,
                                      const float *x, const int *labels, int n, const int *order,
                                      float *mean_loss, int *done);
BPDEF bp_status bp_evaluate_labels(bp_net *net, const float *x, const int *labels, int n,
                                   float *mean_loss, float *accuracy);

/* Learning-rate schedules: pure functions of the step (0, 1, 2, ...) that give the rate to
   put in opt.lr before that step; nothing is kept between calls, so they compose:
   bp_lr_warmup(bp_lr_cosine(lr, 0, step, total), step, 500).
     bp_lr_step(lr, step, every, gamma)     lr gamma^floor(step / every)
     bp_lr_cosine(lr, lr_min, step, total)  lr_min + (lr - lr_min) (1 + cos(pi step / total)) / 2,
                                            then lr_min from step total on
     bp_lr_warmup(lr, step, warmup)         lr (step + 1) / warmup for the first warmup steps,
                                            then lr
   -1 for a bad argument (step < 0, every < 1, total < 1, warmup < 0): set as opt.lr, the next
   training call reports it (BP_ERR_OPT). */
BPDEF float bp_lr_step(float lr, int step, int every, float gamma);
BPDEF float bp_lr_cosine(float lr, float lr_min, int step, int total);
BPDEF float bp_lr_warmup(float lr, int step, int warmup);

/* Checks a gradient by central differences, for students and for anyone changing the
   backward pass. net->grads must hold the gradient of the batch-mean loss at x, target, batch
   (bp_forward then bp_backward leave it there; or put yours). For every parameter w it takes
   (L(w + h) - L(w - h)) / 2h, h = step max(1, |w|) (step 0: 1e-3), w restored bit for bit, and
   *max_err receives max |grads - numeric| / max(max |numeric|, 1e-6): the worst error as a
   fraction of the largest component. A correct backward pass gives about 1e-4 in float (the
   rounding of L over 2h); a wrong one, errors of the order of 1. Two forward passes per
   parameter: use a small net. Writes work, never params (in the end) or grads. */
BPDEF bp_status bp_gradcheck(bp_net *net, const float *x, const float *target, int batch,
                             float step, float *max_err);

/* A sentence naming the status; "unknown status" for a value outside the enum. */
BPDEF const char *bp_strerror(bp_status s);

/* "linear", "sigmoid", ...; NULL for a value outside the enum. */
BPDEF const char *bp_act_name(bp_act a);

/* The PRNG: splitmix64 (Steele, Lea, Flood 2014), 64 bits of state, fully determined by the
   seed. bp_rng_u32 gives the high 32 bits of each output; bp_rng_float a uniform float in
   [0, 1) with 24 random bits; bp_rng_below an unbiased integer in [0, n) (0 if n == 0). With a
   NULL r they return 0. */
typedef struct bp_rng { uint64_t state; } bp_rng;
BPDEF bp_rng   bp_rng_seed(uint64_t seed);
BPDEF uint32_t bp_rng_u32(bp_rng *r);
BPDEF float    bp_rng_float(bp_rng *r);
BPDEF uint32_t bp_rng_below(bp_rng *r, uint32_t n);

/* order[0..n-1] = a random permutation of 0 .. n-1 drawn from *r (Fisher-Yates), for
   bp_train_epoch: keep one bp_rng across epochs and each epoch gets a new order. BP_ERR_NULL,
   BP_ERR_BATCH if n < 1. */
BPDEF bp_status bp_shuffle(int *order, int n, bp_rng *r);

/* ---- recurrent net relaxed to a fixed point (Part 3; Almeida-Pineda backpropagation) -------
   n fully connected units, m external inputs; outputs are the last n_outputs units. Relaxed
   to a fixed point x* = f(W x* + U i + b) (bp_rnet_settle); the error of a squared loss on
   the outputs carried back by a second, linear relaxation (bp_rnet_backward), which gives
   the exact gradients of the settled loss. The algorithm, and when it settles: Part 3. */
typedef struct bp_rnet {
    int n_units, n_inputs, n_outputs; /* outputs are the last n_outputs units */
    bp_act act;                       /* elementwise: sigmoid, tanh, linear, ... (not softmax) */
    float tau, tol; int max_iters;    /* relaxation step, settle tolerance, iteration cap:
                                         defaults set by bp_rnet_init, the caller may change */
    float *params; size_t n_params;   /* W (n x n) row-major, then U (n x m), then b (n) */
    float *grads;                     /* same layout */
    float *work;   size_t n_work;     /* state, f'(u*), adjoint */
    int iters, adjoint_iters;         /* steps the last settle / backward took (read them) */
    int settled;                      /* nonzero after a successful settle (read it) */
    bp_level level;                   /* the kernels' instruction set (bp_rnet_set_level) */
} bp_rnet;

/* Floats of params (and grads): n*n + n*m + n. 0 if n < 1, m < 0 or it overflows. */
BPDEF size_t bp_rnet_params_size(int n_units, int n_inputs);

/* Floats of work: 6n (state x, U i + b, f'(u*), adjoint z, two scratch rows). 0 if invalid. */
BPDEF size_t bp_rnet_work_size(int n_units, int n_inputs);

/* Checks everything and fills *net, with the defaults tau = 0.5, tol = 1e-5, max_iters = 1000.
   n_inputs may be 0. params, grads, work: your arrays with their lengths in floats (at least
   bp_rnet_params_size, bp_rnet_params_size, bp_rnet_work_size; a shorter one is refused with
   BP_ERR_PARAMS_SHORT, BP_ERR_GRADS_SHORT or BP_ERR_WORK_SHORT). On error *net is left
   zeroed. */
BPDEF bp_status bp_rnet_init(bp_rnet *net, int n_units, int n_inputs, int n_outputs, bp_act act,
                             float *params, size_t params_len, float *grads, size_t grads_len,
                             float *work, size_t work_len);

/* bp_set_level for a recurrent net. */
BPDEF bp_status bp_rnet_set_level(bp_rnet *net, bp_level level);

/* W uniform with standard deviation 0.45 / (sqrt(n) max f'): its spectral norm, about
   2 sqrt(n) times that, keeps f(W x + ...) a contraction (about 0.9), so relaxation settles.
   U uniform with variance 1/m, b = 0. Same seed, same bits. BP_ERR_NULL if net is NULL. */
BPDEF bp_status bp_rnet_randomize(bp_rnet *net, uint64_t seed);

/* Relaxes to the fixed point for input (n_inputs floats; may be NULL when n_inputs is 0).
   BP_ERR_NOT_SETTLED after max_iters steps without settling, BP_ERR_NONFINITE if the state
   overflows; net->iters says how many steps it took. */
BPDEF bp_status bp_rnet_settle(bp_rnet *net, const float *input);

/* The last n_outputs units of x*, inside work; NULL unless the last settle succeeded. */
BPDEF const float *bp_rnet_output(const bp_rnet *net);

/* After a successful bp_rnet_settle on the same input: overwrites grads with the gradient of
   the settled loss against target (n_outputs floats) and stores the loss in *loss (loss may
   be NULL). BP_ERR_ADJOINT_NOT_SETTLED if the adjoint does not settle, BP_ERR_NONFINITE if a
   target, the loss, the adjoint or a gradient is infinite or NaN: in both cases grads must
   not be used (params are never touched here). */
BPDEF bp_status bp_rnet_backward(bp_rnet *net, const float *input, const float *target,
                                 float *loss);

/* Applies *opt to net->params with the gradient in net->grads, as bp_update does for a bp_net
   (weight decay on W and U, not on b). Checked the same way: BP_ERR_NONFINITE, params and
   state untouched, if a gradient is not finite or the step could overflow. */
BPDEF bp_status bp_rnet_update(bp_rnet *net, const bp_opt *opt, float *state, size_t state_len);

/* ---- sequences (Part 4): recurrent layers trained by backpropagation through time (bp_seq) 
   A net that reads a sequence of steps, each a row of n_inputs features: one or more
   recurrent layers (every layer the same cell), then dense layers (a bp_net, the "head") on
   top. The equations and the parameter layout are PyTorch's (torch.nn.RNN, GRU, LSTM with
   batch_first=True): its weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k}, copied
   in that order, layer after layer, are a bp_seq's parameters. sigma is the logistic
   sigmoid, * is elementwise, x the layer's input at step t (the layer below's h), h the
   state after step t-1 (0 at the start, or the carry), H the layer's units:
     BP_CELL_ELMAN  h' = tanh(W_ih x + b_ih + W_hh h + b_hh)                    (1 gate)
     BP_CELL_GRU    r  = sigma(W_ir x + b_ir + W_hr h + b_hr)                   (3 gates:
                    z  = sigma(W_iz x + b_iz + W_hz h + b_hz)                    r, z, n)
                    n  = tanh(W_in x + b_in + r * (W_hn h + b_hn))
                    h' = (1 - z) * n + z * h
     BP_CELL_LSTM   i  = sigma(W_ii x + b_ii + W_hi h + b_hi)                   (4 gates:
                    f  = sigma(W_if x + b_if + W_hf h + b_hf)                    i, f, g, o)
                    g  = tanh(W_ig x + b_ig + W_hg h + b_hg)
                    o  = sigma(W_io x + b_io + W_ho h + b_ho)
                    c' = f * c + i * g        h' = o * tanh(c')
   PARAMETERS, for each recurrent layer k (in = n_inputs for k = 0, else hidden[k-1];
   G = gates x hidden[k]; the gates' rows stacked in the order named above):
       W_ih[G][in], W_hh[G][hidden[k]], b_ih[G], b_hh[G]
   then the head's parameters in the bp_net layout (its inputs: hidden[n_rec-1]).
   WHAT THE HEAD SEES (spec.out)
     BP_SEQ_LAST  the top layer's state after a sample's last step: one output row a sample
     BP_SEQ_MEAN  the mean of the top layer's states over the sample's steps: one row a sample
     BP_SEQ_EACH  the top layer's state at every step: an output row per step (sequence
                  labelling, prediction of the next step)
   The loss is the head's (any activation and loss of a bp_net), averaged over the rows that
   count: a sample each (LAST, MEAN), or every step within a sample's length (EACH).
   LENGTHS. A batch may hold sequences of different lengths (data.lengths): after a sample's
   last step its state stays as it is, so LAST reads the state at its own last step; the
   steps beyond take no part in the loss or the gradients, and their inputs are never read
   (padding may hold anything).
   TRUNCATED BPTT AND STREAMING. data.carry (data.carry_len floats, at least
   bp_seq_carry_size: checked) holds the state the batch starts from and, after the call, the
   state it ends in: pass the same array to the next window of a long stream and the state
   runs on while the gradient stops at the window (truncated backpropagation through time).
   Its layout, layer after layer: the layer's h, batch rows of hidden[k] floats, then (LSTM)
   its c the same way; with BP_SEQ_MEAN then the running sums of the top layer's states
   (batch rows) and the batch's counts. Zeros are the start of a sequence (to restart one
   stream of a batch, zero its rows). bp_seq_step runs one step over
   a carry: the same bits as the whole-sequence forward's, whatever the batch.
   CLIPPING. Gradients through many steps can explode (a product of T Jacobians): set
   opt.clip (a global norm, 1 to 5 is usual for recurrent nets), the standard cure; a step
   that would still overflow is refused (BP_ERR_NONFINITE), as for a bp_net. */
typedef enum bp_cell { BP_CELL_ELMAN, BP_CELL_GRU, BP_CELL_LSTM, BP_CELL_COUNT } bp_cell;
typedef enum bp_seq_out { BP_SEQ_LAST, BP_SEQ_MEAN, BP_SEQ_EACH, BP_SEQ_OUT_COUNT } bp_seq_out;

typedef struct bp_seq_spec {       /* what a sequence net is: fill it in, then size and init */
    bp_cell cell;                  /* every recurrent layer's cell */
    int n_inputs;                  /* features a step */
    int n_rec;                     /* recurrent layers, 1 .. BP_MAX_LAYERS */
    int hidden[BP_MAX_LAYERS];     /* their units */
    bp_seq_out out;                /* what feeds the head */
    int n_dense;                   /* the head's layers, 1 .. BP_MAX_LAYERS */
    int dense[BP_MAX_LAYERS];      /* their outputs (the head's sizes[1 ..]) */
    bp_act act[BP_MAX_LAYERS];     /* their activations */
    bp_loss loss;                  /* the head's loss */
} bp_seq_spec;

typedef struct bp_seq {            /* fields are public and documented, but set by bp_seq_init */
    bp_seq_spec spec;
    int max_steps, max_batch;
    float *params; size_t n_params;   /* caller-owned: recurrent layers, then the head's */
    float *grads;                     /* caller-owned, n_params floats (NULL: a forward view) */
    float *work;   size_t n_work;     /* caller-owned */
    bp_level level;                   /* the kernels' instruction set (bp_seq_set_level) */
    bp_net head;                      /* the dense layers, over the tail of params and work */
} bp_seq;

/* A data set of sequences, and what a call reads of it: samples first .. first + batch - 1,
   or, with order, samples order[first .. first + batch - 1] (bp_shuffle: no copying). */
typedef struct bp_seq_data {
    const float *x;       /* n samples x steps rows of n_inputs, sample after sample */
    const float *target;  /* LAST, MEAN: a row of outputs a sample; EACH: steps rows a sample */
    const int *labels;    /* instead of target: a class a sample (EACH: a class a step), as
                             bp_train_step_labels reads them */
    const int *lengths;   /* NULL: every sample is steps long; else each one's 1 .. steps */
    const int *order;     /* NULL, or indices 0 .. n-1 */
    int n;                /* samples in the arrays */
    int steps;            /* steps of each sample in the arrays, 1 .. max_steps */
    float *carry;         /* NULL: each sample starts from zeros; else the state in, and out */
    size_t carry_len;     /* its floats: at least bp_seq_carry_size(spec, batch) */
} bp_seq_data;

/* Floats of params (and grads); of work for training with up to max_steps steps and
   max_batch samples a call; of work for a forward view (bp_seq_init_forward: no deltas); of
   carry for batch rows. 0 if the spec is invalid or a count overflows. */
BPDEF size_t bp_seq_params_size(const bp_seq_spec *spec);
BPDEF size_t bp_seq_work_size(const bp_seq_spec *spec, int max_steps, int max_batch);
BPDEF size_t bp_seq_forward_work_size(const bp_seq_spec *spec, int max_steps, int max_batch);
BPDEF size_t bp_seq_carry_size(const bp_seq_spec *spec, int batch);

/* Checks everything and fills *seq, as bp_init does (BP_ERR_CELL for an unknown cell or
   out; BP_ERR_STEPS for max_steps < 1; a shorter array is refused with its status; on error
   *seq is left zeroed). Nothing is written to the arrays: bp_seq_randomize, or load. */
BPDEF bp_status bp_seq_init(bp_seq *seq, const bp_seq_spec *spec, int max_steps, int max_batch,
                            float *params, size_t params_len, float *grads, size_t grads_len,
                            float *work, size_t work_len);
/* A forward-only view over read-only parameters (flash, a const array): bp_seq_forward,
   bp_seq_step, bp_seq_evaluate and bp_seq_save; the training calls answer BP_ERR_READONLY. */
BPDEF bp_status bp_seq_init_forward(bp_seq *seq, const bp_seq_spec *spec, int max_steps,
                                    int max_batch, const float *params, size_t params_len,
                                    float *work, size_t work_len);
BPDEF bp_status bp_seq_set_level(bp_seq *seq, bp_level level);

/* Recurrent weights and biases uniform in +-1/sqrt(H) (PyTorch's init), the head as
   bp_randomize does. Same seed, same bits. */
BPDEF bp_status bp_seq_randomize(bp_seq *seq, uint64_t seed);

/* The forward pass over a batch of data (see bp_seq_data): the head's outputs, inside work,
   valid until the next call: batch rows (LAST, MEAN) or batch x steps rows, sample after
   sample (EACH; rows past a sample's length are those of its frozen state). data->carry, if
   set, is read and then overwritten with the state after the batch. NULL for bad arguments
   (a status: bp_seq_train_step, bp_seq_evaluate). */
BPDEF const float *bp_seq_forward(bp_seq *seq, const bp_seq_data *data, int first, int batch);

/* One step of batch streams: x is batch rows of n_inputs, carry (carry_len floats, at least
   bp_seq_carry_size(spec, batch), zeros at the start) the streams' state, updated. Returns the
   head's outputs for this step (batch rows; with BP_SEQ_MEAN those of the mean so far), the
   same bits as the whole-sequence forward's at that step. NULL for bad arguments (a carry
   too short among them: nothing is written then). */
BPDEF const float *bp_seq_step(bp_seq *seq, const float *x, float *carry, size_t carry_len,
                               int batch);

/* Forward and backward: overwrites grads with the gradient of the batch's mean loss (through
   every step of the window), returns that loss; data->carry, if set, then holds the state
   after the batch. -1 for bad arguments, NaN if a target is out of range or a check fails
   (inputs, loss and gradients finite; grads must then not be used). */
BPDEF float bp_seq_backward(bp_seq *seq, const bp_seq_data *data, int first, int batch);

/* Applies *opt to the gradient in grads, as bp_update does (weight decay on the W, not on
   the biases); BP_ERR_NONFINITE, params and state untouched, as there. */
BPDEF bp_status bp_seq_update(bp_seq *seq, const bp_opt *opt, float *state, size_t state_len);

/* bp_seq_backward then bp_seq_update, one call, checked as bp_train_step is: BP_ERR_TARGET,
   BP_ERR_LABEL, BP_ERR_STEPS (steps outside 1..max_steps, a length outside 1..steps),
   BP_ERR_CARRY_SHORT (carry_len below bp_seq_carry_size(spec, batch)),
   BP_ERR_BATCH, BP_ERR_ORDER, BP_ERR_NONFINITE; on any error params, state and data->carry
   are bit for bit as they were. *loss (if not NULL): the batch's mean loss before the step. */
BPDEF bp_status bp_seq_train_step(bp_seq *seq, const bp_opt *opt, float *state, size_t state_len,
                                  const bp_seq_data *data, int first, int batch, float *loss);

/* Mean loss and accuracy (argmax against the target's argmax or the label; one output:
   y >= 0.5) over all data->n samples (in order; data->order is not used), in batches of
   max_batch, over the rows that count (EACH: every step within the lengths). data->carry
   must be NULL. BP_ERR_NONFINITE if an output is not finite. */
BPDEF bp_status bp_seq_evaluate(bp_seq *seq, const bp_seq_data *data, float *mean_loss,
                                float *accuracy);

/* bp_gradcheck for a sequence net: computes the gradient of the batch (bp_seq_backward,
   without touching data->carry), then each parameter's central difference (steps as there);
   *max_err as there. Writes grads and work, never params (in the end). */
BPDEF bp_status bp_seq_gradcheck(bp_seq *seq, const bp_seq_data *data, int first, int batch,
                                 float step, float *max_err);

/* A sequence net's model: kind 5 of the format (Part 7), checked as every kind
   is; bp_seq_peek reports its spec (to size and init before loading), bp_seq_load refuses
   another kind (BP_ERR_KIND) or spec (BP_ERR_TOPOLOGY) and writes nothing then. bp_seq_to_c
   writes it as C source (a const bp_seq_spec and the parameters) for bp_seq_init_forward,
   as bp_to_c does for a bp_net. File forms below (bp_seq_save_file ...). */
BPDEF size_t bp_seq_save_size(const bp_seq *seq);
BPDEF bp_status bp_seq_save(const bp_seq *seq, void *buf, size_t cap);
BPDEF bp_status bp_seq_peek(const void *buf, size_t len, bp_seq_spec *spec);
BPDEF bp_status bp_seq_load(bp_seq *seq, const void *buf, size_t len);
BPDEF bp_status bp_seq_to_c(const bp_seq *seq, const char *name, char *buf, size_t cap,
                            size_t *len);

/* ---- deploying (Part 5): a read-only view, and int8 inference (bp_qnet) -------------------- */
/* A forward-only view over read-only parameters: a model in flash, a const array, one compiled
   in from C source (bp_to_c). work is sized for inference alone by bp_forward_work_size (the
   activations of one batch, no deltas, no gradients; the products' scratch only when
   max_batch > 1). bp_forward, bp_loss_value, bp_evaluate, bp_evaluate_labels, bp_save and
   bp_to_c work on it, to the bits of a bp_init net over the same parameters; the calls that
   train or write parameters (bp_update, bp_train_step, bp_train_epoch and their _labels forms,
   bp_gradcheck, bp_randomize, bp_load, bp_load_file) refuse it with BP_ERR_READONLY, and
   bp_backward answers -1 (bp_load_params decodes a model's bytes into an array for a view).
   The library never writes through params (a view has grads NULL: that is how it is known).
   Errors as bp_init. */
BPDEF size_t bp_forward_work_size(int n_layers, const int *sizes, int max_batch);
BPDEF bp_status bp_init_forward(bp_net *net, int n_layers, const int *sizes, const bp_act *acts,
                                bp_loss loss, int max_batch, const float *params,
                                size_t params_len, float *work, size_t work_len);

/* Int8 inference, for cores without a floating-point unit: bp_quantize turns a trained feed-forward net into integers (its arithmetic: Part 5); a bp_qnet
   runs it over read-only arrays (flash, a model compiled in by bp_qto_c), with a
   small int8 work array. Sizes, in elements: */
typedef struct bp_qnet {          /* fields are public and documented, but set by bp_qinit */
    int n_layers;
    int sizes[BP_MAX_LAYERS + 1];
    bp_act act[BP_MAX_LAYERS];
    bp_loss loss;                     /* kept from the float net (the format has it) */
    const int8_t *weights; size_t n_weights;  /* W of each layer, layer after layer, int8 */
    const int32_t *q;      size_t n_q;        /* per unit 4 words, then the layers' scales */
    int8_t *work;          size_t n_work;     /* two rows of the widest input or hidden layer */
    bp_level level;                           /* the instruction set, as a bp_net's */
} bp_qnet;

/* int8 weights: the float parameter count less the biases (one byte each, 4x smaller). */
BPDEF size_t bp_qweights_size(int n_layers, const int *sizes);
/* int32 words of q: 4 per unit of every layer (bias, multiplier, shift, scale), + n_layers. */
BPDEF size_t bp_qparams_size(int n_layers, const int *sizes);
/* int8 elements of work: twice the widest of sizes[0 .. n_layers-1]. */
BPDEF size_t bp_qwork_size(int n_layers, const int *sizes);

/* Quantizes net (trained; a forward view works too) into weights and q, calibrating the
   activations' scales on the n samples of x (rows of sizes[0]: a few hundred typical inputs;
   their range sets the scales, so include the extremes you expect). Uses net's work; writes
   nothing else of the net. BP_ERR_NONFINITE if a parameter or an activation is not finite,
   BP_ERR_OVERFLOW if a layer has more than 133,143 inputs (int32 sums could overflow). */
BPDEF bp_status bp_quantize(bp_net *net, const float *x, int n, int8_t *weights,
                            size_t weights_len, int32_t *q, size_t q_len);

/* Checks everything (the topology as bp_init does, and the integers as the model reader
   does: BP_ERR_QPARAMS if they are not what bp_quantize can make) and fills *qn over your
   arrays, with their lengths in elements. On error *qn is left zeroed. */
BPDEF bp_status bp_qinit(bp_qnet *qn, int n_layers, const int *sizes, const bp_act *acts,
                         bp_loss loss, const int8_t *weights, size_t weights_len,
                         const int32_t *q, size_t q_len, int8_t *work, size_t work_len);

/* One sample: x (sizes[0] floats) quantized by the input scale, the layers in integers, and
   y (sizes[n_layers] floats) the outputs, the output activation applied in float. The same
   bits on every host. BP_ERR_NULL for a NULL argument. */
BPDEF bp_status bp_qforward(bp_qnet *qn, const float *x, float *y);

/* The class of x: as bp_argmax of bp_qforward's outputs (one output: y >= 0.5), except that
   with softmax it takes the argmax of the output's pre-activations, which softmax keeps, and
   needs no expf. -1 for a NULL argument. */
BPDEF int bp_qpredict(bp_qnet *qn, const float *x);

/* The same from inputs already quantized (sizes[0] int8 values), for firmware whose inputs
   are integers: bp_qquantize_input turns n floats into them by the net's input scale, as
   bp_qforward does (round(x / s_0), half away from zero, clamped to -127..127), so that a
   table made once (the quantized value of each possible reading) replaces the float work. */
BPDEF bp_status bp_qquantize_input(const bp_qnet *qn, const float *x, int n, int8_t *xq);
BPDEF bp_status bp_qforward_q(bp_qnet *qn, const int8_t *xq, float *y);
BPDEF int bp_qpredict_q(bp_qnet *qn, const int8_t *xq);

/* A quantized model's bytes (kind 3 of the format: Part 7), as bp_save and
   bp_peek and bp_load for a bp_net: bp_qload checks everything before it writes anything,
   then copies the integers into weights and q and makes *qn over them (as bp_qinit). */
BPDEF size_t    bp_qsave_size(const bp_qnet *qn);
BPDEF bp_status bp_qsave(const bp_qnet *qn, void *buf, size_t cap);
BPDEF bp_status bp_qpeek(const void *buf, size_t len, int *n_layers, int *sizes, bp_act *acts,
                         bp_loss *loss);
BPDEF bp_status bp_qload(bp_qnet *qn, const void *buf, size_t len, int8_t *weights,
                         size_t weights_len, int32_t *q, size_t q_len, int8_t *work,
                         size_t work_len);

/* ---- a model as C source (Part 7) -----------------------------------------------------------
   bp_to_c writes a bp_net (bp_qto_c a bp_qnet) as a C header that compiles the model into a
   program: the topology as constants and the parameters as static const arrays named after
   name (a C identifier), the floats as hexadecimal constants (exact: C99, or C++17), so that
   bp_init_forward (bp_qinit) over them gives the same bits as the loaded model. It writes
   into buf (cap bytes, NUL-terminated) and sets *len (if not NULL) to the length it needs,
   without the NUL: BP_ERR_BUFFER if cap is not more than that (call with cap 0 to ask).
   BP_ERR_NONFINITE for a parameter that is not finite, BP_ERR_NULL for a NULL net or name,
   BP_ERR_NAME for a name that is not an identifier of 1..64 characters. The file forms
   (bp_to_c_file, bp_qto_c_file) write path the way bp_save_file does. */
BPDEF bp_status bp_to_c(const bp_net *net, const char *name, char *buf, size_t cap, size_t *len);
BPDEF bp_status bp_qto_c(const bp_qnet *qn, const char *name, char *buf, size_t cap, size_t *len);

/* ---- saving and loading (Part 7) ---------------------------------------------------------
   A model is bytes in a buffer you own (layout in FORMAT at the top of this file): the
   topology, the parameters as little-endian IEEE-754 floats whatever the host, a CRC-32.
   Reading checks everything before it writes anything: on any error the net is untouched.
   max_batch and the work array are not part of a model: choose them when you bp_init. */

/* Bytes bp_save writes; 0 if net is NULL. */
BPDEF size_t bp_save_size(const bp_net *net);

/* Writes the model into buf (cap bytes; BP_ERR_BUFFER if less than bp_save_size). */
BPDEF bp_status bp_save(const bp_net *net, void *buf, size_t cap);

/* Checks the len bytes at buf completely (magic, version, kind, length, checksum, topology)
   and reports the topology, so you can size the arrays before bp_init. sizes must hold
   BP_MAX_LAYERS + 1 ints and acts BP_MAX_LAYERS entries; any output pointer may be NULL. */
BPDEF bp_status bp_peek(const void *buf, size_t len, int *n_layers, int *sizes, bp_act *acts,
                        bp_loss *loss);

/* Checks like bp_peek, then copies the parameters into net->params. The net must have been
   made by bp_init with the same topology (else BP_ERR_TOPOLOGY). */
BPDEF bp_status bp_load(bp_net *net, const void *buf, size_t len);

/* Checks like bp_peek, then decodes the parameters into params (params_len floats, at least
   bp_params_size of the topology, else BP_ERR_PARAMS_SHORT), without a net: for a forward
   view over them (bp_init_forward), which bp_load refuses. */
BPDEF bp_status bp_load_params(const void *buf, size_t len, float *params, size_t params_len);

/* The same for a recurrent net. The bytes also carry tau, tol and max_iters, which
   bp_rnet_load restores. */
BPDEF size_t    bp_rnet_save_size(const bp_rnet *net);
BPDEF bp_status bp_rnet_save(const bp_rnet *net, void *buf, size_t cap);
BPDEF bp_status bp_rnet_peek(const void *buf, size_t len, int *n_units, int *n_inputs,
                             int *n_outputs, bp_act *act);
BPDEF bp_status bp_rnet_load(bp_rnet *net, const void *buf, size_t len);

/* ---- checkpoints (Part 7): training that resumes to the same bits ------------------------
   A model keeps the parameters; a checkpoint (kind 4 of the format) keeps everything a run
   needs to go on as if it had never stopped: the parameters, the optimizer's settings and
   state (Adam's moments and step count, momentum's velocity), where the run stands (steps,
   epochs, the position in the epoch, your generator) and any floats of yours (a best-so-far
   copy, a loss history). Restored, the next step computes what the uninterrupted run would
   have: the same bits. The pattern (README, "Checkpoints"):
       at an epoch's start   c.rng = rng; bp_shuffle(order, n, &rng);  (the state before the
                             shuffle, so that a resumed run draws the same order again)
       after a step          c.step++, c.sample += batch; every so often save
       after an epoch        c.epoch++, c.sample = 0, c.rng = rng
       at start-up           if the file exists, load it; rng = c.rng; reshuffle if c.sample
                             > 0 and go on from sample c.sample of epoch c.epoch
   The library stores these fields and gives them back; what they mean is the loop's. */
typedef struct bp_checkpoint {
    bp_opt opt;                      /* the optimizer's settings (saved; on load they must
                                        equal the saved ones except lr, which is restored) */
    float *state; size_t state_len;  /* its state: bp_opt_state_size floats, or more */
    uint64_t step;                   /* training steps (batches) taken: the schedules' step */
    int epoch;                       /* epochs completed, >= 0 */
    int sample;                      /* samples of the current epoch trained, >= 0 */
    bp_rng rng;                      /* your generator (shuffling, augmentation) */
    float *extra; size_t n_extra;    /* floats of yours kept with it (NULL and 0: none) */
} bp_checkpoint;

/* Bytes bp_checkpoint_save writes for net, c->opt and c->n_extra; 0 if invalid. */
BPDEF size_t bp_checkpoint_size(const bp_net *net, const bp_checkpoint *c);

/* Writes the checkpoint into buf (cap bytes; BP_ERR_BUFFER if less than bp_checkpoint_size).
   BP_ERR_OPT for settings bp_update would refuse, BP_ERR_STATE_SHORT for a state shorter than
   bp_opt_state_size, BP_ERR_BATCH for a negative epoch or sample. A forward view may be
   saved (its state is yours). */
BPDEF bp_status bp_checkpoint_save(const bp_net *net, const bp_checkpoint *c, void *buf,
                                   size_t cap);

/* Checks the bytes completely and reports what they hold before anything is allocated: the
   topology (as bp_peek; any pointer may be NULL) and, if c is not NULL, the optimizer's
   settings, step, epoch, sample, rng and n_extra (c->state and c->extra are left alone; the
   state's length is bp_opt_state_size(&c->opt, bp_params_size(...))). */
BPDEF bp_status bp_checkpoint_peek(const void *buf, size_t len, int *n_layers, int *sizes,
                                   bp_act *acts, bp_loss *loss, bp_checkpoint *c);

/* Checks everything before it writes anything, then restores net->params, c->state (its
   first bp_opt_state_size floats), c->extra and the fields of c. Refused, nothing written:
   BP_ERR_TOPOLOGY if the net differs, BP_ERR_OPT_MISMATCH if the saved optimizer's method
   or any setting but lr differs from c->opt (resuming with other settings would not be the
   run that was saved), BP_ERR_STATE_SHORT, BP_ERR_EXTRA if c->n_extra is not the saved
   count, BP_ERR_KIND for a model that is not a checkpoint, and the format's statuses. */
BPDEF bp_status bp_checkpoint_load(bp_net *net, bp_checkpoint *c, const void *buf, size_t len);

#ifndef BP_NO_STDIO
/* File helpers (compiled out by BP_NO_STDIO). Saving is crash-safe: it writes path + ".tmp"
   next to the target, flushes it to the disk, renames it over the target and, on POSIX,
   flushes the directory, so at every instant path holds the previous file or the new one,
   whole (README, "Crash-safe files", says what each system guarantees). POSIX: fsync of the
   file and of its directory, rename(2) (atomic). Windows: _commit, then MoveFileExA with
   MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH. Elsewhere: fflush and rename, which
   replace atomically where the C library's rename does. One writer per path at a time.
   Loading makes the checks of bp_load in one pass, decoding the parameters into grads (used
   as scratch) and copying them into params only when everything checked out; a checkpoint
   is read twice, checked, then decoded (a file changed in place between the two reads,
   which these writers never do, answers BP_ERR_IO with the arrays part-written). bp_peek,
   bp_load and their file forms read a checkpoint's parameters too, as a model. Nothing is
   allocated; about 5 KB of stack. BP_ERR_IO when the system refuses (errno says why). */
BPDEF bp_status bp_save_file(const bp_net *net, const char *path);
BPDEF bp_status bp_load_file(bp_net *net, const char *path);
BPDEF bp_status bp_peek_file(const char *path, int *n_layers, int *sizes, bp_act *acts,
                             bp_loss *loss);
BPDEF bp_status bp_rnet_save_file(const bp_rnet *net, const char *path);
BPDEF bp_status bp_rnet_load_file(bp_rnet *net, const char *path);
BPDEF bp_status bp_to_c_file(const bp_net *net, const char *name, const char *path);
BPDEF bp_status bp_qto_c_file(const bp_qnet *qn, const char *name, const char *path);
BPDEF bp_status bp_qsave_file(const bp_qnet *qn, const char *path);  /* read: the bytes, bp_qload */
BPDEF bp_status bp_checkpoint_save_file(const bp_net *net, const bp_checkpoint *c,
                                        const char *path);
BPDEF bp_status bp_seq_save_file(const bp_seq *seq, const char *path);
BPDEF bp_status bp_seq_peek_file(const char *path, bp_seq_spec *spec);
BPDEF bp_status bp_seq_load_file(bp_seq *seq, const char *path);
BPDEF bp_status bp_seq_to_c_file(const bp_seq *seq, const char *name, const char *path);
BPDEF bp_status bp_checkpoint_peek_file(const char *path, int *n_layers, int *sizes,
                                        bp_act *acts, bp_loss *loss, bp_checkpoint *c);
BPDEF bp_status bp_checkpoint_load_file(bp_net *net, bp_checkpoint *c, const char *path);
#endif

#ifdef __cplusplus
}
#endif
#endif /* BACKPROP_H */

/* =============================================================================================
   IMPLEMENTATION, in parts (their lines kept true by tests/map.sh; make map renumbers them)
     lines    995-1292   the opening: helpers, the kernels' table, the batched product's interface
     PART 1   1293-1988  THE CORE: sizes, activations, losses, forward, backward, SGD: a trainer
     PART 2   1989-2769  TRAINING: optimizers, checks, clipping, epochs, labels, schedules
     PART 3   2770-3070  THE RECURRENT NET (bp_rnet), relaxed to a fixed point
     PART 4   3071-4050  SEQUENCES (bp_seq): Elman, GRU, LSTM, backpropagation through time
     PART 5   4051-4422  DEPLOYING: a read-only view, int8 inference (bp_qnet)
     PART 6   4423-5475  PERFORMANCE KERNELS (optional reading): GEMM, levels, threads
     PART 7   5476-6850  THE MODEL FORMAT, models as C source, the file helpers
   ============================================================================================= */

#ifdef BACKPROP_IMPLEMENTATION
#ifndef BACKPROP_IMPLEMENTATION_DONE
#define BACKPROP_IMPLEMENTATION_DONE
/* clang fuses a * b + c where the target has FMA, even in ISO C mode; GCC there never does.
   Off, as GCC has it, so that only what says so fuses (BP__FMA): each level computes the
   same in every build (issue 19). Your code after the include keeps your setting. */
#if defined(__clang__)
#pragma float_control(push)
#pragma clang fp contract(off)
#endif

#if !defined(BP_EXPF) || !defined(BP_LOGF) || !defined(BP_TANHF) || !defined(BP_SQRTF)
#include <math.h>
#endif
#ifndef BP_EXPF
#define BP_EXPF expf
#endif
#ifndef BP_LOGF
#define BP_LOGF logf
#endif
#ifndef BP_TANHF
#define BP_TANHF tanhf
#endif
#ifndef BP_SQRTF
#define BP_SQRTF sqrtf
#endif
#if !defined(BP_MEMSET) || !defined(BP_MEMCPY)
#include <string.h>
#endif
#ifndef BP_MEMSET
#define BP_MEMSET memset
#endif
#ifndef BP_MEMCPY
#define BP_MEMCPY memcpy
#endif
#include <float.h>      /* FLT_MAX, FLT_EPSILON: a freestanding header, no libc needed */
#ifndef BP_ASSERT
#define BP_ASSERT(c) ((void)0)
#endif
#ifndef BP_LEAKY_SLOPE
#define BP_LEAKY_SLOPE 0.01f
#endif

#ifdef __cplusplus
#define BP__RESTRICT __restrict
#else
#define BP__RESTRICT restrict
#endif

#if defined(__GNUC__) || defined(__clang__)
#define BP__PRIVATE static __attribute__((unused))
#else
#define BP__PRIVATE static
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the interface: what every part relies on ---------------------------------------------- */

/* The level the flags give (bp_level's value), and whether wider ones are compiled beside it
   (Part 6): on x86-64 under GCC 8+ and clang; not under MinGW, where GCC cannot align the
   stack for the AVX registers it spills (GCC bug 54412), and the spills crash. */
#define BP__OWN_LEVEL_N 1
#if defined(__AVX512F__)
#undef BP__OWN_LEVEL_N
#define BP__OWN_LEVEL_N 3
#elif defined(__AVX2__) && defined(__FMA__)
#undef BP__OWN_LEVEL_N
#define BP__OWN_LEVEL_N 2
#endif
#if !defined(BP_NO_DISPATCH) && !defined(BP_NO_SIMD) && defined(__x86_64__) && !defined(_WIN32) \
    && (defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 8)) && BP__OWN_LEVEL_N < 3
#define BP__DISPATCH 1
#else
#define BP__DISPATCH 0
#endif

/* Compiler helpers. Each that names a compiler does so for speed alone: the arithmetic, and
   so the bits, are the same without it. (The kernels' own are in Part 6.) */

#if defined(__GNUC__) || defined(__clang__)
#define BP__NOINLINE __attribute__((noinline))
#elif defined(_MSC_VER)
#define BP__NOINLINE __declspec(noinline)
#else
#define BP__NOINLINE
#endif

#if defined(__GNUC__) || defined(__clang__)
#define BP__INLINE inline __attribute__((always_inline))
#else
#define BP__INLINE
#endif

/* The per-sample passes start on a 64-byte line: where their loops landed swung W1's speed at
   -O2 with edits elsewhere in the file (BENCHMARKS.md, "v0.2.0" and "v0.2.1"). */
#if (defined(__GNUC__) || defined(__clang__)) && !defined(__OPTIMIZE_SIZE__)
#define BP__HOT __attribute__((aligned(64)))
#else
#define BP__HOT
#endif

/* Built for size (-Os, as firmware is): the kernels' copies and blocks that are there for
   speed alone are left out, the arithmetic kept (the same bits) */
#ifdef __OPTIMIZE_SIZE__
#define BP__SMALL 1
#else
#define BP__SMALL 0
#endif

/* Runs BODY for i = 0 .. n-1 in blocks of 16 with a fixed inner trip count, then the tail.
   Same arithmetic per element either way; the blocks are what GCC's -O2 vectorizer accepts
   (its "very cheap" model refuses any loop that would need a scalar epilogue). BODY must
   not contain a bare comma (C99 macros, and C++98 has no variadic ones). */
#define BP__EACH(i, n, BODY) do {                                                      \
        size_t bp__b_ = 0, bp__j_, bp__n_ = (size_t)(n);                               \
        for (; !BP__SMALL && bp__b_ + 16 <= bp__n_; bp__b_ += 16)                      \
            for (bp__j_ = 0; bp__j_ < 16; bp__j_++) { i = bp__b_ + bp__j_; BODY }       \
        for (i = bp__b_; i < bp__n_; i++) { BODY }                                      \
    } while (0)

/* The derivative loops plain under clang, which made BP__EACH's blocks slower and vectorizes
   the plain loops at -O2 too (BENCHMARKS.md, "What changed since the first run") */
#if defined(__clang__)
#define BP__EACH_D(i, n, BODY) for (i = 0; i < (n); i++) { BODY }
#else
#define BP__EACH_D(i, n, BODY) BP__EACH(i, n, BODY)
#endif

/* for (i = 0; i < n; i++) STMT, with OpenMP split across threads: by a training step's team,
   or in a region of its own when `work` (floats touched) is worth a fork. Only loops whose
   iterations write disjoint floats, each computed the same way whatever thread runs it, are
   split: results never depend on the thread count. */
#ifdef _OPENMP
#define BP__PRAGMA(x) _Pragma(#x)
#ifndef BP_OMP_MIN
#ifdef BP__OMP_MIN
#define BP_OMP_MIN BP__OMP_MIN      /* 0.2.0's spelling, until 0.3 */
#else
#define BP_OMP_MIN 16384
#endif
#endif
#define BP__FOR(team, work, i, n, STMT) do {                                                \
        if (team) {                                                                         \
            BP__PRAGMA(omp for schedule(static)) for (i = 0; i < (n); i++) { STMT }          \
        } else if ((work) >= BP_OMP_MIN) {                                                 \
            BP__PRAGMA(omp parallel for schedule(static)) for (i = 0; i < (n); i++) { STMT } \
        } else {                 /* not even an if(0) region: it costs a call per sample */ \
            for (i = 0; i < (n); i++) { STMT }                                              \
        }                                                                                   \
    } while (0)
#else
#define BP__FOR(team, work, i, n, STMT) do { for (i = 0; i < (n); i++) { STMT } } while (0)
#endif

/* The kernels of one instruction-set level, compiled per level in Part 6 from the bodies the
   parts write; a net keeps its level. mr x nr is its GEMM tile. */
struct bp__mm_;
struct bp__rule;
typedef struct bp__kern {
    bp_level level;
    int fused;                         /* its multiply-add rule: fused (fmaf) or not */
    int mr, nr;
    void (*gemm_part)(const struct bp__mm_ *g, int t, int nt);
    float (*dot)(const float *a, const float *b, int n);
    void (*axpy)(float *y, float a, const float *x, int n);
    void (*scale)(float *y, float a, const float *x, int n);
    void (*dot4)(const float *w, size_t stride, const float *x, int n, float *out);
    void (*sgd_dot4)(float *w0, float *w1, float *w2, float *w3, const float *gs, const float *ga,
                     float lr, const float *x, int n, float *out);
    void (*step)(float *w, float *s, float gs, const float *ga, size_t n,
                 const struct bp__rule *u, float wd);
    void (*adam)(float *w, float *m, float *v, float gs, const float *ga, size_t n,
                 const struct bp__rule *u, float wd);
    void (*rmsprop)(float *w, float *v, float *b, float gs, const float *ga, size_t n,
                    const struct bp__rule *u, float wd);
    void (*activate)(bp_act act, const float *z, float *y, int rows, int n);
    float (*maxabs)(const float *v, size_t n);
    int32_t (*qdot)(const int8_t *w, const int8_t *a, int n, int32_t acc);   /* int8 inference */
    void (*cell)(bp_cell cell, int H, float *a, const float *q, const float *h, float *hn,
                 float *e, const float *c, float *cn);                     /* sequences */
    void (*cell_back)(bp_cell cell, int H, const float *a, const float *e, const float *h,
                      const float *c, const float *dh, float *dc, float *g, float *gq,
                      float *dir);
} bp__kern;

/* A level's kernels, NULL if this build has none for it (level is not BP_LEVEL_BEST); the
   widest level the build and the CPU allow. */
BP__PRIVATE const bp__kern *bp__kern_of(bp_level level);
BP__PRIVATE bp_level bp__best_level(void);
/* BP_NO_BATCH: one sample at a time, the batched products and their kernels left out */
#ifdef BP_NO_BATCH
#define BP__BATCHES 0
#else
#define BP__BATCHES 1
#endif
/* The batched products by the plain loop (bp__gemm_ref), no tiles: with BP_NO_SIMD, with
   BP_NO_BATCH, and on Arm's M profile, where the vector tiles would take most of the flash */
#if defined(BP_NO_SIMD) || defined(BP_NO_BATCH) \
    || (defined(__ARM_ARCH_PROFILE) && __ARM_ARCH_PROFILE == 'M')
#define BP__REF_GEMM 1
#else
#define BP__REF_GEMM 0
#endif
/* The kernels of a net's level. A build of one level names its table outright: the calls are
   direct, and what a program never reaches is left out (firmware counts its flash). */
#if BP__DISPATCH
#define BP__KERN(level) bp__kern_of(level)
#define BP__RULE_K(u) ((u)->k)
#else
BP__PRIVATE BP__INLINE const bp__kern *bp__kern_flags(void);
#define BP__KERN(level) ((void)(level), bp__kern_flags())
#define BP__RULE_K(u) bp__kern_flags()
#endif

/* One batched product, its operands and what is done with it (see bp__gemm). The product
   knows nothing of what it is for: its caller flags the piece hooks Part 1 defines and may
   pass a hook for finished rows. */
typedef struct bp__mm_ {
    const bp__kern *k;                 /* the level's kernels */
    int M, N, K;
    const float *A, *B;                /* A(m, k) = A[m rsa + k csa], B(k, n) = B[k rsb + n csb] */
    size_t rsa, csa, rsb, csb;
    float *C;                          /* row-major, leading dimension ldc */
    size_t ldc;
    float *pack;                       /* the pack area: at least bp__pack_floats(N, K) */
    size_t pack_n;                     /* floats, all of it (more lets threads pack alone) */
    int by_rows;                       /* threads split C by rows (else by column panels) */
    /* piece: each finished mr x nr piece of C goes to bp__piece (Part 1) instead of being
       stored; stored_piece: it is stored, then bp__stored_piece works on it in C */
    int piece, stored_piece;
    /* if not NULL, called by each thread when its rows i0 .. i1-1 of C are done (split by
       rows), so the work on them stays with the thread and its cache */
    void (*rows_done)(const struct bp__mm_ *g, int i0, int i1);
    const void *ctx;                   /* the hooks' own */
    int cols_ok;                       /* rows_done does not read C: may split the columns */
    int team;                          /* called by every thread of a training step's team */
    int last;                          /* team: the step's last product (its barrier: the region's end) */
} bp__mm;

/* A product with nothing set but its pack area and team: the caller fills in the rest. */
BP__PRIVATE void bp__mm_init(bp__mm *g, const bp__kern *k, float *pack, size_t pack_n,
                             int team) {
    BP_MEMSET(g, 0, sizeof *g);
    g->k = k;
    g->pack = pack;
    g->pack_n = pack_n;
    g->team = team;
}

/* C = A B, then the hooks (Part 6; bp__gemm_ref is its plain form). The piece hooks are
   inline, compiled into each level's tiles: through a pointer GCC kept the tile's
   accumulators in memory (BENCHMARKS.md, "v0.2.1" and "Run-time dispatch"). */
BP__PRIVATE void bp__gemm(const bp__mm *g);
BP__PRIVATE BP__INLINE void bp__piece(const bp__mm *g, int i, int j, int mr, int nr,
                                      const float *out, size_t ldo);
BP__PRIVATE BP__INLINE void bp__stored_piece(const bp__mm *g, int i, int j, int mr, int nr);
/* What a part calls in a later part (other calls between parts are to public functions):
   in Part 6, the products' pack area and arrangements, a level, a step on threads; in Part 2,
   the optimizers' settings and state, the checks, the update from a stored gradient. */
BP__PRIVATE size_t bp__pack_floats(size_t N, size_t K);
BP__PRIVATE size_t bp__pack_size(int n_layers, const int *sizes, int max_batch);
BP__PRIVATE int bp__team_step(bp_net *net, const float *x, const float *target, int batch,
                              const struct bp__rule *u, float *state, float *loss, bp_status *s);
BP__PRIVATE bp_status bp__pick_level(bp_level *level, bp_level want);
BP__PRIVATE bp_status bp__check_opt(const bp_net *net, const bp_opt *opt, float *state,
                                    size_t state_len);
BP__PRIVATE void bp__rule_of(struct bp__rule *u, const bp__kern *k, const bp_opt *opt,
                             const float *state, size_t n);
BP__PRIVATE void bp__rule_done(const struct bp__rule *u, float *state);
BP__PRIVATE int bp__targets_ok(const bp_net *net, const float *t, int batch);
BP__PRIVATE int bp__step_ok(const bp_net *net, const float *x, int batch, float loss,
                            const struct bp__rule *u);
BP__PRIVATE bp_status bp__apply_grads(bp_net *net, const bp_opt *opt, float *state);
BP__PRIVATE float bp__nan(void);
struct bp__fwd_ctx;
BP__PRIVATE int bp__dense_t(bp__mm *g, const struct bp__fwd_ctx *f, const float *W,
                            const float *x, float *zt);
BP__PRIVATE int bp__dense_narrow(bp__mm *g, const struct bp__fwd_ctx *f);
BP__PRIVATE BP__INLINE void bp__dense_pending(const bp__kern *k, float *p, float *bias,
                                              const float *x, float *z, int ni, int no,
                                              const float *pend_d, const float *pend_x,
                                              const struct bp__rule *opt);

/* =============================================================================================
   PART 1. THE CORE
   A net of L layers maps x = A_0 to A_L: layer l computes z = W_l A_{l-1} + b_l, A_l = f(z).
   Training a batch: the forward pass; the loss and its gradient at the output, D_L; the
   backward pass D_l = (D_{l+1} W_{l+1}) * f'(A_l) (the chain rule, layer by layer, with the
   old weights); then each layer's gradient dL/dW_l = D_l^T A_{l-1}, dL/db_l = the column
   sums of D_l, applied by the SGD step. One sample by dot products, a batch by the product
   bp__gemm. In order: sizes and the work layout, activations, the SGD step, the forward pass
   and the loss, the backward pass, the training step. Relies only on the opening (a level's
   kernels, bp__gemm) and on a few calls into Parts 2 and 6 that it names.
   ============================================================================================= */

/* ---- sizes ------------------------------------------------------------------------------ */

#define BP__MAX_FLOATS (((size_t)-1) / sizeof(float))  /* a float count whose bytes fit size_t */

/* a + b * c, or 0 when the result (as a count of floats, in bytes) would not fit size_t. */
BP__PRIVATE size_t bp__muladd(size_t a, size_t b, size_t c) {
    if (c != 0 && b > (BP__MAX_FLOATS - a) / c) return 0;
    return a + b * c;
}

/* An enum value in 0..count-1: one unsigned comparison (a negative value wraps; and no warning
   where enums are unsigned, as arm-none-eabi's short enums are, as `e < 0` would give). */
BP__PRIVATE int bp__valid_enum(unsigned e, unsigned count) { return e < count; }

BP__PRIVATE bp_status bp__check_sizes(int n_layers, const int *sizes) {
    int l;
    if (!sizes) return BP_ERR_NULL;
    if (n_layers < 1 || n_layers > BP_MAX_LAYERS) return BP_ERR_LAYERS;
    for (l = 0; l <= n_layers; l++)
        if (sizes[l] < 1) return BP_ERR_SIZE;
    return BP_OK;
}

BPDEF size_t bp_params_size(int n_layers, const int *sizes) {
    size_t n = 0;
    int l;
    if (bp__check_sizes(n_layers, sizes) != BP_OK) return 0;
    for (l = 0; l < n_layers; l++)
        if ((n = bp__muladd(n, (size_t)sizes[l] + 1, (size_t)sizes[l + 1])) == 0) return 0;
    return n;
}

/* The widest layer after the input: a view's scratch rows T are that wide */
BP__PRIVATE size_t bp__widest(int n_layers, const int *sizes) {
    int l, w = 0;
    for (l = 1; l <= n_layers; l++) if (sizes[l] > w) w = sizes[l];
    return (size_t)w;
}

/* Floats of work, in the layout's order; 0 if invalid or overflowing. A forward view (view)
   has, in place of D_1 .. D_L, one block T that the batched forward product uses as scratch
   (max_batch > 1 only), and of G only the one-hot rows of the labels. */
BP__PRIVATE size_t bp__work_floats(int n_layers, const int *sizes, int max_batch, int view) {
    size_t n = 0, b;
    int l;
    if (bp__check_sizes(n_layers, sizes) != BP_OK || max_batch < 1) return 0;
    b = (size_t)max_batch;
    for (l = 1; l <= n_layers; l++)                                              /* A_l */
        if ((n = bp__muladd(n, b, (size_t)sizes[l])) == 0) return 0;
    if ((n = bp__muladd(n, b, (size_t)sizes[n_layers])) == 0) return 0;           /* Z */
    if (!view) {
        for (l = 1; l <= n_layers; l++)                                          /* D_l */
            if ((n = bp__muladd(n, b, (size_t)sizes[l])) == 0) return 0;
    } else if (max_batch > 1) {                                                   /* T */
        if ((n = bp__muladd(n, b, bp__widest(n_layers, sizes))) == 0) return 0;
    }
    if ((n = bp__muladd(n, b, 1)) == 0) return 0;                                 /* S */
    if ((n = bp__muladd(n, b, (view ? 0 : (size_t)sizes[0]) + (size_t)sizes[n_layers])) == 0)
        return 0;                                                       /* G (a view: one-hot) */
    if (max_batch > 1)                                          /* P: GEMM packing (Part 6) */
        if ((n = bp__muladd(n, 1, bp__pack_size(n_layers, sizes, max_batch))) == 0) return 0;
    return n;
}

/* (BP_NO_BATCH: one row at a time; a sequence net's head may still run rows by the plain
   loop: bp__seq_layout) */
BPDEF size_t bp_work_size(int n_layers, const int *sizes, int max_batch) {
    return max_batch > 1 && !BP__BATCHES ? 0 : bp__work_floats(n_layers, sizes, max_batch, 0);
}

/* Where things sit. Offsets are computed, not stored: at most BP_MAX_LAYERS additions. */
BP__PRIVATE size_t bp__param_offset(const bp_net *net, int l) {
    size_t off = 0;
    int k;
    for (k = 0; k < l; k++) off += ((size_t)net->sizes[k] + 1) * (size_t)net->sizes[k + 1];
    return off;
}

/* Floats of A_1 .. A_{l-1}: where A_l starts, and, past Z, where D_l starts */
BP__PRIVATE size_t bp__rows_before(const bp_net *net, int l) {
    size_t off = 0;
    int k;
    for (k = 1; k < l; k++) off += (size_t)net->max_batch * (size_t)net->sizes[k];
    return off;
}

BP__PRIVATE float *bp__act_buf(const bp_net *net, int l) {  /* A_l for l >= 1; A_{L+1} is Z */
    return net->work + bp__rows_before(net, l);
}

BP__PRIVATE float *bp__z_buf(const bp_net *net) { return bp__act_buf(net, net->n_layers + 1); }

/* D_l: the deltas dLoss/dz of layer l's outputs (l = 1 .. L, D_L the output layer's), the
   same shape as A_l. In the forward pass D_l is scratch for the product that makes A_l.
   A forward view (grads NULL) has instead one block T, which every D_l names. */
BP__PRIVATE float *bp__delta_buf(const bp_net *net, int l) {
    return bp__z_buf(net) + (size_t)net->max_batch * (size_t)net->sizes[net->n_layers]
         + (net->grads ? bp__rows_before(net, l) : 0);
}

BP__PRIVATE float *bp__loss_buf(const bp_net *net) {       /* S: the batch's per-sample losses */
    if (net->grads) return bp__delta_buf(net, net->n_layers + 1);
    return bp__delta_buf(net, 1) + (net->max_batch > 1 ? (size_t)net->max_batch
                                    * bp__widest(net->n_layers, net->sizes) : 0);
}

BP__PRIVATE float *bp__gather_buf(const bp_net *net) {     /* G: a gathered batch, x then t */
    return bp__loss_buf(net) + net->max_batch;
}

/* the one-hot rows made from labels: G's target part (a view has only that part) */
BP__PRIVATE float *bp__onehot_buf(const bp_net *net) {
    return bp__gather_buf(net) + (net->grads ? (size_t)net->max_batch * (size_t)net->sizes[0] : 0);
}

BP__PRIVATE float *bp__pack_buf(const bp_net *net) {  /* P, after G (max_batch > 1 only) */
    return net->max_batch > 1
           ? bp__onehot_buf(net) + (size_t)net->max_batch * (size_t)net->sizes[net->n_layers]
           : NULL;
}
BP__PRIVATE size_t bp__pack_n(const bp_net *net) {     /* its floats: the rest of work */
    return net->max_batch > 1 ? net->n_work - (size_t)(bp__pack_buf(net) - net->work) : 0;
}

/* The rules a feed-forward topology obeys: bp_init enforces them, and so does the reader of a
   model's bytes. */
BP__PRIVATE bp_status bp__check_topology(int n_layers, const int *sizes, const bp_act *acts,
                                         bp_loss loss) {
    bp_status s;
    int l;
    if ((s = bp__check_sizes(n_layers, sizes)) != BP_OK) return s;
    for (l = 0; l < n_layers; l++) {
        if (!bp__valid_enum((unsigned)acts[l], BP_ACT_COUNT)) return BP_ERR_ACT;
        if (acts[l] == BP_SOFTMAX && l != n_layers - 1) return BP_ERR_SOFTMAX_HIDDEN;
    }
    if (!bp__valid_enum((unsigned)loss, BP_LOSS_COUNT)) return BP_ERR_LOSS;
    if (loss == BP_LOSS_CROSS_ENTROPY && acts[n_layers - 1] != BP_SIGMOID
        && acts[n_layers - 1] != BP_SOFTMAX) return BP_ERR_LOSS_ACT;
    return BP_OK;
}

/* bp_init and bp_init_forward (grads NULL, grads_len unused) */
BP__PRIVATE bp_status bp__init(bp_net *net, int n_layers, const int *sizes, const bp_act *acts,
                               bp_loss loss, int max_batch, float *params, size_t params_len,
                               float *grads, size_t grads_len, float *work, size_t work_len) {
    bp_status s;
    size_t np, nw;
    int l;
    if (!net) return BP_ERR_NULL;
    BP_MEMSET(net, 0, sizeof *net);
    if (!sizes || !acts || !params || !work) return BP_ERR_NULL;
    if ((s = bp__check_topology(n_layers, sizes, acts, loss)) != BP_OK) return s;
    if (max_batch < 1 || (max_batch > 1 && !BP__BATCHES)) return BP_ERR_MAX_BATCH;
    np = bp_params_size(n_layers, sizes);
    nw = bp__work_floats(n_layers, sizes, max_batch, !grads);
    if (np == 0 || nw == 0) return BP_ERR_OVERFLOW;
    if (params_len < np) return BP_ERR_PARAMS_SHORT;
    if (grads && grads_len < np) return BP_ERR_GRADS_SHORT;
    if (work_len < nw) return BP_ERR_WORK_SHORT;
    net->n_layers = n_layers;
    for (l = 0; l <= n_layers; l++) net->sizes[l] = sizes[l];
    for (l = 0; l < n_layers; l++) net->act[l] = acts[l];
    net->loss = loss;
    net->max_batch = max_batch;
    net->level = bp__best_level();
    net->params = params;
    net->n_params = np;
    net->grads = grads;
    net->work = work;
    net->n_work = nw;
    return BP_OK;
}

BPDEF bp_status bp_init(bp_net *net, int n_layers, const int *sizes, const bp_act *acts,
                        bp_loss loss, int max_batch, float *params, size_t params_len,
                        float *grads, size_t grads_len, float *work, size_t work_len) {
    if (net && !grads) {
        BP_MEMSET(net, 0, sizeof *net);
        return BP_ERR_NULL;
    }
    return bp__init(net, n_layers, sizes, acts, loss, max_batch, params, params_len, grads,
                    grads_len, work, work_len);
}

/* Calls that write a net's parameters or train it: not on a forward view. */
BP__PRIVATE bp_status bp__writable(const bp_net *net) {
    if (!net || !net->params) return BP_ERR_NULL;
    return net->grads ? BP_OK : BP_ERR_READONLY;
}

/* ---- activations: the function of z, and its derivative from the output y --------------- */

/* sigmoid   y = 1 / (1 + e^-z)             dy/dz = y (1 - y)
   Split at 0 so e^|z| is never formed: no overflow for any finite z. */
BP__PRIVATE float bp__sigmoid(float z) {
    float e;
    if (z >= 0.0f) return 1.0f / (1.0f + BP_EXPF(-z));
    e = BP_EXPF(z);
    return e / (1.0f + e);
}

/* log(1 + x) for x >= 0, accurate where 1 + x rounds (Goldberg's trick, needs only log). */
BP__PRIVATE float bp__log1p(float x) {
    float u = 1.0f + x;
    if (u == 1.0f) return x;
    return BP_LOGF(u) * (x / (u - 1.0f));
}

/* softplus  log(1 + e^z) = max(z, 0) + log(1 + e^-|z|), finite for every finite z */
BP__PRIVATE float bp__softplus(float z) {
    return (z > 0.0f ? z : 0.0f) + bp__log1p(BP_EXPF(z > 0.0f ? -z : z));
}

/* y = act(z) over rows x n (in place allowed). Softmax acts on each row. */
BP__PRIVATE BP__INLINE void bp__activate(bp_act act, const float *z, float *y, int rows, int n) {
    size_t i, count = (size_t)rows * (size_t)n;
    int r, k;
    /* elementwise: on y in place (z copied there first if apart), one array, so that the
       loops vectorize at -O2 too (a ReLU branch per element mispredicted on half of them) */
    if (act != BP_SOFTMAX && y != z) BP_MEMCPY(y, z, count * sizeof *y);
    switch (act) {
    case BP_LINEAR:       /* y = z                         dy/dz = 1 */
        break;
    case BP_SIGMOID:
        BP__EACH(i, count, y[i] = bp__sigmoid(y[i]););
        break;
    case BP_TANH:         /* y = tanh z                    dy/dz = 1 - y^2 */
        BP__EACH(i, count, y[i] = BP_TANHF(y[i]););
        break;
    case BP_RELU:         /* y = max(z, 0)                 dy/dz = [y > 0]
                             written so that NaN stays NaN (y > 0 ? y : 0 made it 0, and hid
                             it from the checks); + 0 turns -0 into +0, as max(-0, 0) is */
        BP__EACH(i, count, y[i] = y[i] < 0.0f ? 0.0f : y[i] + 0.0f;);
        break;
    case BP_LEAKY_RELU:   /* y = z > 0 ? z : s z           dy/dz = y > 0 ? 1 : s */
        BP__EACH(i, count, y[i] = y[i] > 0.0f ? y[i] : BP_LEAKY_SLOPE * y[i];);
        break;
    case BP_SOFTMAX:      /* y_k = e^(z_k - m) / sum_j e^(z_j - m), m = max z: no overflow
                             dy_k/dz_j = y_k ([k == j] - y_j) */
        for (r = 0; r < rows; r++) {
            const float *zr = z + (size_t)r * (size_t)n;
            float *yr = y + (size_t)r * (size_t)n, m = zr[0], sum = 0.0f;
            for (k = 1; k < n; k++) if (zr[k] > m) m = zr[k];
            for (k = 0; k < n; k++) sum += (yr[k] = BP_EXPF(zr[k] - m));
            for (k = 0; k < n; k++) yr[k] /= sum;   /* sum >= 1: the max term is e^0 */
        }
        break;
    default:
        BP_ASSERT(0);
        break;
    }
}

/* d[i] *= dy/dz at y[i], for the elementwise activations (softmax is output-only). */
BP__PRIVATE BP__INLINE void bp__mul_deriv(bp_act act, const float *BP__RESTRICT y,
                                          float *BP__RESTRICT d, size_t count) {
    size_t i;
    switch (act) {
    case BP_SIGMOID:    BP__EACH_D(i, count, d[i] *= y[i] * (1.0f - y[i]);); break;
    case BP_TANH:       BP__EACH_D(i, count, d[i] *= 1.0f - y[i] * y[i];); break;
    case BP_RELU:       BP__EACH_D(i, count, d[i] = y[i] > 0.0f ? d[i] : 0.0f;); break;
    case BP_LEAKY_RELU: BP__EACH_D(i, count, d[i] *= y[i] > 0.0f ? 1.0f : BP_LEAKY_SLOPE;); break;
    default: BP_ASSERT(act == BP_LINEAR); break;
    }
}

/* ---- the SGD step ---------------------------------------------------------------------------- */

/* One update's settings: the bp_opt, and what the step count fixes for this step; the
   kernels that take it. */
typedef struct bp__rule {
    const bp__kern *k;
    const bp_opt *opt;
    size_t plane;      /* floats from one array of the optimizer state to the next: n_params */
    float c1, c2;      /* Adam: 1 / (1 - beta1^t), 1 / (1 - beta2^t), t counting this step */
} bp__rule;

/* The SGD step on n elements (see bp_opt) with the gradient g[i] = gs * ga[i], v the momentum
   buffer (NULL without momentum), wd the decay of this span (0 for biases). A stored
   gradient is gs = 1; a one-sample gradient row is gs = delta, ga = the layer's input, so it
   is never stored. Every optimizer's step goes through the level's k->step (bp__step,
   Part 2), which comes here for SGD; the fused step's pieces come here directly. */
BP__PRIVATE BP__INLINE void bp__sgd_step(float *BP__RESTRICT w, float *BP__RESTRICT v, float gs,
                                         const float *BP__RESTRICT ga, size_t n,
                                         const bp_opt *opt, float wd) {
    const float lr = opt->lr, mu = opt->momentum;
    size_t i;
    if (mu == 0.0f) {
        if (wd == 0.0f) BP__EACH(i, n, { float g = gs * ga[i]; w[i] -= lr * g; });
        else            BP__EACH(i, n, { float g = gs * ga[i]; w[i] -= lr * (g + wd * w[i]); });
    } else if (opt->nesterov) {
        BP__EACH(i, n, {
            float g = gs * ga[i];
            float gi = g + wd * w[i];
            v[i] = mu * v[i] + gi;
            w[i] -= lr * (gi + mu * v[i]);
        });
    } else {
        BP__EACH(i, n, {
            float g = gs * ga[i];
            v[i] = mu * v[i] + (g + wd * w[i]);
            w[i] -= lr * v[i];
        });
    }
}

BPDEF bp_opt bp_opt_sgd(float lr) {
    bp_opt o;
    BP_MEMSET(&o, 0, sizeof o);
    o.lr = lr;
    o.method = BP_SGD;
    o.beta1 = 0.9f;       /* unused by SGD: there so that switching method needs only that */
    o.beta2 = 0.999f;
    o.eps = 1e-8f;
    return o;
}

/* ---- a dense layer: z = W x + b ---------------------------------------------------------------- */

#define BP__NARROW 32      /* a batch's X W^T with fewer units than this is split by samples */

/* What a batched forward product's hooks work on (Part 6) */
typedef struct bp__fwd_ctx { float *z, *a; const float *bias; bp_act act; int batch, no; } bp__fwd_ctx;

/* A batch's z[b][o] = sum_i W[o][i] x[b][i] + bias[o] by the GEMM, as X W^T (Part 6 arranges
   it otherwise for a batch smaller than the layer, or a layer too narrow to split by columns:
   those apply the activation too, and say so). Returns whether it applied the activation. */
BP__PRIVATE int bp__dense_batch(const bp__kern *k, const float *W, const float *bias,
                                const float *x, float *z, int batch, int ni, int no, float *pack,
                                size_t pack_n, float *zt, bp_act act, float *a, int team) {
    bp__mm g;
    bp__fwd_ctx f;
    int b;
    bp__mm_init(&g, k, pack, pack_n, team);
    g.K = ni;
    f.z = z; f.a = a; f.bias = bias; f.act = act; f.batch = batch; f.no = no;
    if (batch < no) return bp__dense_t(&g, &f, W, x, zt);      /* as (W X^T)^T: Part 6 */
    g.M = batch; g.N = no;
    g.A = x; g.rsa = (size_t)ni; g.csa = 1;
    g.B = W; g.rsb = 1; g.csb = (size_t)ni;
    g.C = z; g.ldc = (size_t)no;
    if (no < BP__NARROW) return bp__dense_narrow(&g, &f);       /* by samples: Part 6 */
    bp__gemm(&g);
    BP__FOR(team, (long)batch * no, b, batch,
            int c;
            for (c = 0; c < no; c++) z[(size_t)b * (size_t)no + (size_t)c] += bias[c];);
    return 0;
}

/* z = W x + b: z[o] = sum_i W[o][i] x[i] + bias[o] (a batch: each row of x, by
   bp__dense_batch). One sample by dot products, four rows at a time (bp__dot4, Part 6: the
   same sums as bp__dot). Returns whether it applied the activation too (only a batch may). */
BP__HOT BP__PRIVATE int bp__dense(const bp__kern *k, const float *W, const float *bias,
                                  const float *x, float *z, int batch, int ni, int no,
                                  float *pack, size_t pack_n, float *zt, bp_act act, float *a,
                                  int team) {
    int o, c;
    float r[4];
    if (BP__BATCHES && batch > 1)
        return bp__dense_batch(k, W, bias, x, z, batch, ni, no, pack, pack_n, zt, act, a, team);
    for (o = 0; o + 4 <= no; o += 4) {
        k->dot4(W + (size_t)o * (size_t)ni, (size_t)ni, x, ni, r);
        for (c = 0; c < 4; c++) z[o + c] = r[c] + bias[o + c];
    }
    for (; o < no; o++) z[o] = k->dot(W + (size_t)o * (size_t)ni, x, ni) + bias[o];
    return 0;
}

/* ---- forward and loss ------------------------------------------------------------------- */

/* The forward pass, layer by layer: z = W a + b, then a = f(z) (the output layer keeps its z
   for the loss). pend_d (bp_train_epoch's one-sample SGD, Part 2): the previous sample's
   first-layer deltas, applied to layer 0 in the same pass as this sample's product with it;
   compiled with it (bp__forward_pending) and without (bp__forward), so that a program that
   never runs that epoch does not link its kernel. */
BP__PRIVATE BP__INLINE const float *bp__forward_at(bp_net *net, const float *x, int batch,
                                                   const float *pend_d, const float *pend_x,
                                                   const bp__rule *opt, int team) {
    const bp__kern *k = BP__KERN(net->level);
    const float *in = x;
    float *p = net->params;
    int l;
    for (l = 0; l < net->n_layers; l++) {
        int ni = net->sizes[l], no = net->sizes[l + 1];
        float *a = bp__act_buf(net, l + 1);
        float *z = l == net->n_layers - 1 ? bp__z_buf(net) : a;  /* keep the output's z */
        float *bias = p + (size_t)ni * (size_t)no;
        int b, done = 0;
        if (l == 0 && pend_d)
            bp__dense_pending(k, p, bias, x, z, ni, no, pend_d, pend_x, opt);
        else
            done = bp__dense(k, p, bias, in, z, batch, ni, no, bp__pack_buf(net),
                             bp__pack_n(net), bp__delta_buf(net, l + 1), net->act[l], a, team);
        /* row by row: softmax is per row anyway (and worth threads sooner: exp is dear) */
        if (!done)
            BP__FOR(team, (long)batch * no * (net->act[l] == BP_SOFTMAX ? 32 : 8), b, batch,
                    k->activate(net->act[l], z + (size_t)b * (size_t)no,
                                 a + (size_t)b * (size_t)no, 1, no););
        p += ((size_t)ni + 1) * (size_t)no;
        in = a;
    }
    return in;
}
BP__HOT BP__PRIVATE const float *bp__forward(bp_net *net, const float *x, int batch, int team) {
    return bp__forward_at(net, x, batch, NULL, NULL, NULL, team);
}
BPDEF const float *bp_forward(bp_net *net, const float *x, int batch) {
    if (!net || !x || !net->params || !net->work) return NULL;
    if (batch < 1 || batch > net->max_batch) return NULL;
    return bp__forward(net, x, batch, 0);
}

/* Loss of one sample from its output row y, pre-activations z and target t. */
BP__PRIVATE float bp__sample_loss(const bp_net *net, const float *z, const float *y,
                                  const float *t, int n) {
    float loss = 0.0f;
    int k;
    if (net->loss == BP_LOSS_SQUARED) {            /* 0.5 sum (y - t)^2 */
        for (k = 0; k < n; k++) loss += 0.5f * (y[k] - t[k]) * (y[k] - t[k]);
    } else if (net->act[net->n_layers - 1] == BP_SOFTMAX) {
        /* -sum t_k log y_k = sum t_k (lse(z) - z_k), lse(z) = m + log sum e^(z_j - m) */
        float m = z[0], s, lse;
        for (k = 1; k < n; k++) if (z[k] > m) m = z[k];
        for (s = BP_EXPF(z[0] - m), k = 1; k < n; k++) s += BP_EXPF(z[k] - m);   /* s >= 1 */
        lse = m + BP_LOGF(s);
        for (k = 0; k < n; k++) loss += t[k] * (lse - z[k]);
    } else {
        /* -[t log y + (1-t) log(1-y)], y = sigmoid z: log y = -softplus(-z) and
           log(1-y) = -softplus(z). Two non-negative terms: no cancellation when y rounds to 1
           (the equal form softplus(z) - t z loses it all at z = 30, t = 1). */
        for (k = 0; k < n; k++)
            loss += t[k] * bp__softplus(-z[k]) + (1.0f - t[k]) * bp__softplus(z[k]);
    }
    return loss;
}

BPDEF float bp_loss_value(const bp_net *net, const float *target, int batch) {
    const float *y, *z;
    float sum = 0.0f;
    int b, n;
    if (!net || !target || !net->work) return -1.0f;
    if (batch < 1 || batch > net->max_batch) return -1.0f;
    n = net->sizes[net->n_layers];
    y = bp__act_buf(net, net->n_layers);
    z = bp__z_buf(net);
    for (b = 0; b < batch; b++) {
        size_t off = (size_t)b * (size_t)n;
        sum += bp__sample_loss(net, z + off, y + off, target + off, n);
    }
    return sum / (float)batch;
}

/* ---- backward --------------------------------------------------------------------------- */

/* dLoss/dz of the output layer for one sample, times `scale` (1/batch: the mean). */
BP__PRIVATE void bp__output_delta(const bp_net *net, const float *y, const float *t, float *d,
                                  int n, float scale) {
    bp_act act = net->act[net->n_layers - 1];
    int k;
    if (net->loss == BP_LOSS_CROSS_ENTROPY) {
        /* sigmoid: d = y - t. softmax: d = y sum(t) - t, which is y - t when t sums to 1 */
        float st = 1.0f;
        if (act == BP_SOFTMAX) for (st = 0.0f, k = 0; k < n; k++) st += t[k];
        for (k = 0; k < n; k++) d[k] = scale * (y[k] * st - t[k]);
    } else if (act == BP_SOFTMAX) {
        /* squared loss through the softmax Jacobian: d_k = y_k (e_k - sum_j e_j y_j), e = y - t */
        float dot = 0.0f;
        for (k = 0; k < n; k++) dot += (y[k] - t[k]) * y[k];
        for (k = 0; k < n; k++) d[k] = scale * y[k] * ((y[k] - t[k]) - dot);
    } else {
        for (k = 0; k < n; k++) d[k] = scale * (y[k] - t[k]);    /* e = y - t, then * f'(y) */
        bp__mul_deriv(act, y, d, (size_t)n);
    }
}

/* The weight gradient gW = D^T A by bp__gemm (C = gW, A = D, K = the batch), and its hooks:
   with SGD each finished piece of gW is applied to the same corner of W at once (bp__piece),
   as bp_update would apply it; else gW is stored, and when a thread's rows are done their
   bias gradients are summed and, with a step, the rows stepped (bp__grad_rows). */
typedef struct {
    const bp__rule *u;                 /* the step, or NULL: the gradient is only stored */
    float *W, *V;                      /* the layer's weights (biases after them), its state */
    int late;                          /* step in bp__grad_rows from the stored gradient */
} bp__grad_ctx;

BP__PRIVATE BP__INLINE void bp__piece(const bp__mm *g, int i, int j, int mr, int nr,
                                      const float *out, size_t ldo) {
    const bp__grad_ctx *x = (const bp__grad_ctx *)g->ctx;
    int r;
    for (r = 0; r < mr; r++) {
        const size_t w = (size_t)(i + r) * g->ldc + (size_t)j;
        bp__sgd_step(x->W + w, x->V ? x->V + w : NULL, 1.0f, out + (size_t)r * ldo, (size_t)nr,
                     x->u->opt, x->u->opt->weight_decay);
    }
}

/* Rows o of gW done: their biases' gradient, the column sums of D (each in row order), 16
   columns at a time along the rows of D; then, with a step, the step of those rows (late:
   their weights first, one contiguous span) and of their biases. */
BP__PRIVATE void bp__grad_rows(const bp__mm *g, int i0, int i1) {
    const bp__grad_ctx *x = (const bp__grad_ctx *)g->ctx;
    const size_t no = (size_t)g->M, nw = no * (size_t)g->N;
    int o, s, c;
    if (x->late) {
        const size_t w = (size_t)i0 * (size_t)g->N, n = (size_t)(i1 - i0) * (size_t)g->N;
        BP__RULE_K(x->u)->step(x->W + w, x->V ? x->V + w : NULL, 1.0f, g->C + w, n, x->u,
                               x->u->opt->weight_decay);
    }
    for (o = i0; o < i1; o += 16) {
        const int n = i1 - o < 16 ? i1 - o : 16;
        float *gb = g->C + nw + o;               /* the biases follow W (and gW, and V) */
        for (c = 0; c < n; c++) gb[c] = g->A[o + c];
        for (s = 1; s < g->K; s++)
            for (c = 0; c < n; c++) gb[c] += g->A[(size_t)s * no + (size_t)(o + c)];
        if (x->u)
            BP__RULE_K(x->u)->step(x->W + nw + o, x->V ? x->V + nw + o : NULL, 1.0f, gb,
                                   (size_t)n, x->u, 0.0f);
    }
}

/* The input gradient D_l = (D_{l+1} W) * f'(A_l): each finished piece, stored in C, times the
   derivative at the layer's outputs while still in cache (the stored-piece hook). */
typedef struct { const float *Y; bp_act act; } bp__deriv_ctx;

BP__PRIVATE BP__INLINE void bp__stored_piece(const bp__mm *g, int i, int j, int mr, int nr) {
    const bp__deriv_ctx *x = (const bp__deriv_ctx *)g->ctx;
    int r;
    for (r = 0; r < mr; r++) {
        const size_t at = (size_t)(i + r) * g->ldc + (size_t)j;
        bp__mul_deriv(x->act, x->Y + at, g->C + at, (size_t)nr);
    }
}

/* A batch's input deltas D_l = (D_{l+1} W_l) * f'(A_l): the GEMM with M = batch, N = ni,
   K = no, each finished piece multiplied by f' at once (bp__stored_piece). */
BP__PRIVATE void bp__input_grads(bp_net *net, int l, int batch, int team) {
    const int ni = net->sizes[l], no = net->sizes[l + 1];
    bp__mm g;
    bp__deriv_ctx dc;
    bp__mm_init(&g, BP__KERN(net->level), bp__pack_buf(net), bp__pack_n(net), team);
    g.M = batch; g.N = ni; g.K = no;
    g.A = bp__delta_buf(net, l + 1); g.rsa = (size_t)no; g.csa = 1;
    g.B = net->params + bp__param_offset(net, l); g.rsb = (size_t)ni; g.csb = 1;
    g.C = bp__delta_buf(net, l); g.ldc = (size_t)ni;
    dc.Y = bp__act_buf(net, l); dc.act = net->act[l - 1];
    g.stored_piece = 1; g.ctx = &dc;
    bp__gemm(&g);
}

/* A batch's gradient of layer l (M = no, N = ni, K = batch; A = aprev). With opt, SGD steps
   each finished piece, gW never stored; the other optimizers (a square root and a division a
   weight) step a thread's stored rows at once, faster than a piece at a time (BENCHMARKS.md,
   "Adam from the stored gradient"). */
BP__PRIVATE void bp__weight_grads(bp_net *net, int l, const float *aprev, int batch,
                                  const bp__rule *opt, float *state, int team) {
    const int ni = net->sizes[l], no = net->sizes[l + 1];
    const size_t off = bp__param_offset(net, l);
    bp__mm g;
    bp__grad_ctx gc;
    bp__mm_init(&g, BP__KERN(net->level), bp__pack_buf(net), bp__pack_n(net), team);
    g.M = no; g.N = ni; g.K = batch; g.by_rows = 1;       /* each thread its rows of W */
    g.A = bp__delta_buf(net, l + 1); g.rsa = 1; g.csa = (size_t)no;
    g.B = aprev; g.rsb = (size_t)ni; g.csb = 1;
    g.C = net->grads + off; g.ldc = (size_t)ni;
    gc.u = opt; gc.W = net->params + off; gc.V = state ? state + off : NULL;
    gc.late = opt && opt->opt->method != BP_SGD;
    g.piece = opt && !gc.late;
    g.rows_done = bp__grad_rows;
    g.ctx = &gc;
    g.cols_ok = !gc.late;                                 /* late reads C */
    g.last = l == 0;
    bp__gemm(&g);
}

/* The backward pass, in two phases, so that nothing is written before all is known finite.
   1: every layer's deltas from the output down, with the old weights: D_L = dLoss/dz, then
   D_l = (D_{l+1} W_l) * f'(A_l). Then the checks (bp__step_ok, Part 2). 2: each layer's
   gradient dL/dW_l = D_{l+1}^T A_l, dL/db_l = the column sums of D_{l+1}, applied as it is
   computed with opt (the fused step), else stored in grads. defer0 (bp_train_epoch's
   one-sample SGD): layer 0 is left for the next forward pass, *defer0 its deltas. *loss_out:
   the batch-mean loss. BP_ERR_NONFINITE if a check fails, params, state and grads untouched.
   One sample is written out below; a batch does the same through the GEMM. */
BP__HOT BP__PRIVATE bp_status bp__backprop(bp_net *net, const float *x, const float *target,
                                           int batch, const bp__rule *opt, float *state,
                                           const float **defer0, int team, float *loss_out) {
    const bp__kern *k = BP__KERN(net->level);
    const int L = net->n_layers, nout = net->sizes[L];
    const float *y = bp__act_buf(net, L), *z = bp__z_buf(net);
    float *losses = bp__loss_buf(net), *dout = bp__delta_buf(net, L);
    const float scale = 1.0f / (float)batch;
    float loss = 0.0f;
    int l, b, o;
    /* each sample's loss and output deltas D_L; the losses summed in order */
    BP__FOR(team, (long)batch * nout * 32, b, batch,
            const size_t off = (size_t)b * (size_t)nout;
            losses[b] = bp__sample_loss(net, z + off, y + off, target + off, nout);
            bp__output_delta(net, y + off, target + off, dout + off, nout, scale););
    for (b = 0; b < batch; b++) loss += losses[b];
    *loss_out = loss * scale;
    for (l = L - 1; l >= 1; l--) {          /* 1: D_l = (D_{l+1} W_l) * f'(A_l), old weights */
        const int ni = net->sizes[l], no = net->sizes[l + 1];
        const float *W = net->params + bp__param_offset(net, l), *d = bp__delta_buf(net, l + 1);
        float *dprev = bp__delta_buf(net, l);
        if (BP__BATCHES && batch > 1) {
            bp__input_grads(net, l, batch, team);
            continue;
        }
        BP_MEMSET(dprev, 0, (size_t)ni * sizeof *dprev);
        for (o = 0; o < no; o++) k->axpy(dprev, d[o], W + (size_t)o * (size_t)ni, ni);
        bp__mul_deriv(net->act[l - 1], bp__act_buf(net, l), dprev, (size_t)ni);
    }
    if (!bp__step_ok(net, x, batch, *loss_out, opt)) return BP_ERR_NONFINITE;
    for (l = L - 1; l >= 0; l--) {          /* 2: dL/dW_l = D_{l+1}^T A_l, dL/db_l = sum D_{l+1} */
        const int ni = net->sizes[l], no = net->sizes[l + 1];
        const size_t off = bp__param_offset(net, l), nw = (size_t)ni * (size_t)no;
        float *W = net->params + off, *gW = net->grads + off;
        float *vW = state ? state + off : NULL;
        const float *aprev = l == 0 ? x : bp__act_buf(net, l), *d = bp__delta_buf(net, l + 1);
        if (l == 0 && defer0) {      /* bp_train_epoch applies it in the next forward pass */
            *defer0 = d;
            break;
        }
        if (BP__BATCHES && batch > 1) {
            bp__weight_grads(net, l, aprev, batch, opt, state, team);
            continue;
        }
        /* one sample: row o of the gradient is d[o] aprev, which the fused step applies
           without storing, so each row is read and written once */
        for (o = 0; o < no; o++) {
            const size_t r = (size_t)o * (size_t)ni;
            float gb = d[o];
            if (opt) {
                k->step(W + r, vW ? vW + r : NULL, gb, aprev, (size_t)ni, opt,
                        opt->opt->weight_decay);
                k->step(W + nw + o, vW ? vW + nw + o : NULL, 1.0f, &gb, 1, opt, 0.0f);
            } else {
                k->scale(gW + r, gb, aprev, ni);
                gW[nw + (size_t)o] = gb;
            }
        }
    }
    return BP_OK;
}

BPDEF float bp_backward(bp_net *net, const float *x, const float *target, int batch) {
    float loss = 0.0f;
    if (!net || !x || !target || !net->params || !net->grads || !net->work) return -1.0f;
    if (batch < 1 || batch > net->max_batch) return -1.0f;
    if (!bp__targets_ok(net, target, batch)) return bp__nan();
    if (bp__backprop(net, x, target, batch, NULL, NULL, NULL, 0, &loss) != BP_OK) return bp__nan();
    return loss;
}

/* ---- the training step --------------------------------------------------------------------- */

/* Forward, backward and the step in one pass. Part 2 checks the settings, the state and the
   targets, keeps Adam's step count (bp__rule_of, bp__rule_done) and, with clip, steps from
   the stored gradient (bp__apply_grads), since the norm needs all of it. */
BPDEF bp_status bp_train_step(bp_net *net, const bp_opt *opt, float *state, size_t state_len,
                              const float *x, const float *target, int batch, float *loss) {
    bp_status s = bp__check_opt(net, opt, state, state_len);
    bp__rule u;
    float l = 0.0f;
    if (s != BP_OK) return s;
    if (!x || !target || !net->work) return BP_ERR_NULL;
    if (batch < 1 || batch > net->max_batch) return BP_ERR_BATCH;
    if (!bp__targets_ok(net, target, batch)) return BP_ERR_TARGET;
    if (bp_opt_state_size(opt, net->n_params) == 0) state = NULL;
    if (opt->clip > 0.0f) {   /* as bp_backward, then bp_update */
        bp__forward(net, x, batch, 0);
        s = bp__backprop(net, x, target, batch, NULL, NULL, NULL, 0, &l);
        if (loss) *loss = l;
        return s != BP_OK ? s : bp__apply_grads(net, opt, state);
    }
    bp__rule_of(&u, BP__KERN(net->level), opt, state, net->n_params);
    if (!bp__team_step(net, x, target, batch, &u, state, &l, &s)) {   /* (threads: Part 6) */
        bp__forward(net, x, batch, 0);
        s = bp__backprop(net, x, target, batch, &u, state, NULL, 0, &l);
    }
    if (loss) *loss = l;
    if (s == BP_OK && state) bp__rule_done(&u, state);
    return s;
}

/* =============================================================================================
   PART 2. TRAINING
   What training needs beyond Part 1's SGD step: the step of every optimizer (bp__step) and
   Adam, AdamW, RMSprop; the checks that refuse a non-finite step; updates from a stored
   gradient, with clipping (bp_update); random numbers (initial weights, shuffles); epochs,
   class labels, evaluation, learning-rate schedules, the gradient check. Relies on Part 1.
   ============================================================================================= */

#define BP__LANES 16   /* the one-sample products' partial sums (bp__dot, Part 6) */

/* The compiler helpers this part adds (for speed alone, as the opening's). A hint that a line will be read soon; nothing where the compiler has no such builtin. */
#if defined(__GNUC__) || defined(__clang__)
#define BP__PREFETCH(p) __builtin_prefetch(p)
#else
#define BP__PREFETCH(p) ((void)(p))
#endif
/* GCC 12 at -O3 unrolls a 16-trip loop completely and then fails to vectorize some of them
   (Adam's last loop ran scalar: BENCHMARKS.md, "v0.2.0"); kept a loop, it vectorizes. */
#if defined(__GNUC__) && !defined(__clang__)
#define BP__KEEP_LOOP _Pragma("GCC unroll 1")
#else
#define BP__KEEP_LOOP
#endif
/* Type punning by memcpy, which compilers turn into a plain load (the hook BP_MEMCPY may be a
   function of the user's: not for one float). */
#if defined(__GNUC__) || defined(__clang__)
#define BP__PUN(dst, src) __builtin_memcpy(dst, src, 4)
#else
#define BP__PUN(dst, src) BP_MEMCPY(dst, src, 4)
#endif
/* r[j] = sqrt(r[j]) for 16 floats, by vector instructions where the level has them
   (Part 6). */
BP__PRIVATE BP__INLINE void bp__sqrt16(float *r, bp_level lv);

/* ---- optimizers beyond SGD ------------------------------------------------------------------ */

/* Adam and AdamW share their state (m, v, t) and their update, decay aside. */
BP__PRIVATE int bp__adam_like(bp_method m) { return m == BP_ADAM || m == BP_ADAMW; }

/* Adam and AdamW on n elements (see bp_opt), m and v the two moments: in blocks of 16, whose
   square roots go through bp__sqrt16, then the rest one by one; the same arithmetic either
   way, so a row's bits do not depend on where a call starts. The gradient gs * ga is rounded
   in a statement of its own, as in bp__sgd_step (Part 1): clang fuses a * b + c within an expression,
   and a fused gs * ga would differ from the stored gradient bp_update reads. bare: gs = 1, no
   decay of either kind, whose operations (times 1, plus 0 w, times 1) change no value; the
   caller compiles a copy without them, since the square root and the division already keep
   the divider busy (BENCHMARKS.md, "Adam from the stored gradient"). */
BP__PRIVATE BP__INLINE void bp__adam_n(float *BP__RESTRICT w, float *BP__RESTRICT m,
                                       float *BP__RESTRICT v, float gs,
                                       const float *BP__RESTRICT ga, size_t n, const bp__rule *u,
                                       float wd, int bare, bp_level lv) {
    const bp_opt *o = u->opt;
    const float lr = o->lr, b1 = o->beta1, b2 = o->beta2, a1 = 1.0f - b1, a2 = 1.0f - b2;
    const float eps = o->eps, c1 = u->c1, c2 = u->c2;
    const float l2 = o->method == BP_ADAM ? wd : 0.0f;                 /* Adam: g += wd w */
    const float keep = o->method == BP_ADAMW ? 1.0f - lr * wd : 1.0f;  /* AdamW: w *= 1 - lr wd */
    float r[16];
    size_t i = 0, j;
    for (; !BP__SMALL && i + 16 <= n; i += 16) {
        for (j = 0; j < 16; j++) {
            float g = ga[i + j];
            if (!bare) {
                g *= gs;                 /* its own statement: never fused with what follows */
                g += l2 * w[i + j];
                w[i + j] *= keep;        /* AdamW's decay first, as PyTorch's mul_ */
            }
            m[i + j] = b1 * m[i + j] + a1 * g;
            v[i + j] = b2 * v[i + j] + a2 * (g * g);
            r[j] = v[i + j] * c2;
        }
        bp__sqrt16(r, lv);
        BP__KEEP_LOOP
        for (j = 0; j < 16; j++) w[i + j] -= lr * ((m[i + j] * c1) / (r[j] + eps));
    }
    for (; i < n; i++) {
        float g = gs * ga[i];
        g += l2 * w[i];
        m[i] = b1 * m[i] + a1 * g;
        v[i] = b2 * v[i] + a2 * (g * g);
        w[i] *= keep;
        w[i] -= lr * ((m[i] * c1) / (BP_SQRTF(v[i] * c2) + eps));
    }
}

BP__PRIVATE BP__INLINE void bp__adam(float *BP__RESTRICT w, float *BP__RESTRICT m,
                                     float *BP__RESTRICT v, float gs,
                                     const float *BP__RESTRICT ga, size_t n, const bp__rule *u,
                                     float wd, bp_level lv) {
    if (!BP__SMALL && gs == 1.0f && wd == 0.0f)
        bp__adam_n(w, m, v, 1.0f, ga, n, u, 0.0f, 1, lv);
    else
        bp__adam_n(w, m, v, gs, ga, n, u, wd, 0, lv);
}

/* RMSprop on n elements (see bp_opt): v the mean square, b the momentum buffer (NULL
   without momentum); blocks of 16 as in bp__adam. */
BP__PRIVATE BP__INLINE void bp__rmsprop(float *BP__RESTRICT w, float *BP__RESTRICT v,
                                        float *BP__RESTRICT b, float gs,
                                        const float *BP__RESTRICT ga, size_t n,
                                        const bp__rule *u, float wd, bp_level lv) {
    const bp_opt *o = u->opt;
    const float lr = o->lr, mu = o->momentum, al = o->beta2, a1 = 1.0f - al, eps = o->eps;
    float r[16], g16[16], q;
    size_t i = 0, j;
    for (; !BP__SMALL && i + 16 <= n; i += 16) {
        for (j = 0; j < 16; j++) {
            float g = gs * ga[i + j];    /* its own statement, as in bp__adam */
            g = g16[j] = g + wd * w[i + j];
            v[i + j] = al * v[i + j] + a1 * (g * g);
            r[j] = v[i + j];
        }
        bp__sqrt16(r, lv);
        BP__KEEP_LOOP
        for (j = 0; j < 16; j++) {
            q = g16[j] / (r[j] + eps);
            if (b) {
                b[i + j] = mu * b[i + j] + q;
                q = b[i + j];
            }
            w[i + j] -= lr * q;
        }
    }
    for (; i < n; i++) {
        float g = gs * ga[i];
        g += wd * w[i];
        v[i] = al * v[i] + a1 * (g * g);
        q = g / (BP_SQRTF(v[i]) + eps);
        if (b) {
            b[i] = mu * b[i] + q;
            q = b[i];
        }
        w[i] -= lr * q;
    }
}

/* One step on n elements (see bp_opt) with the gradient g[i] = gs * ga[i]: a stored
   gradient is gs = 1 (exact; or the clipping scale), a one-sample gradient row is gs = delta,
   ga = the layer's input, so the fused step never has to store it. s: this span's optimizer
   state (its further arrays u->plane floats on), NULL for plain SGD. wd is the decay for this
   span (0 for biases). bp_update and bp_train_step both come here (through the level's step),
   which makes them bit-identical. SGD is Part 1's bp__sgd_step; Adam and RMSprop go to the
   level's own copies of the two above. */
BP__PRIVATE BP__INLINE void bp__step(float *BP__RESTRICT w, float *BP__RESTRICT s, float gs,
                                     const float *BP__RESTRICT ga, size_t n, const bp__rule *u,
                                     float wd) {
    const bp_opt *opt = u->opt;
    if (bp__adam_like(opt->method))
        BP__RULE_K(u)->adam(w, s, s + u->plane, gs, ga, n, u, wd);
    else if (opt->method == BP_RMSPROP)
        BP__RULE_K(u)->rmsprop(w, s, opt->momentum != 0.0f ? s + u->plane : NULL, gs, ga, n, u,
                               wd);
    else
        bp__sgd_step(w, s, gs, ga, n, opt, wd);
}

BPDEF bp_opt bp_opt_adam(float lr) {
    bp_opt o = bp_opt_sgd(lr);
    o.method = BP_ADAM;
    return o;
}

BPDEF size_t bp_opt_state_size(const bp_opt *opt, size_t n_params) {
    if (!opt || n_params > BP__MAX_FLOATS / 2 - 1) return 0;
    switch (opt->method) {
    case BP_SGD:     return opt->momentum != 0.0f ? n_params : 0;
    case BP_ADAM:
    case BP_ADAMW:   return 2 * n_params + 1;            /* m, v, then the step count t */
    case BP_RMSPROP: return opt->momentum != 0.0f ? 2 * n_params : n_params;
    default:         return 0;
    }
}

/* finite: written so that NaN fails every comparison; x - x == 0 only for finite x */
BP__PRIVATE int bp__finite(float x) { return x - x == 0.0f; }

BP__PRIVATE int bp__unit(float x) { return x >= 0.0f && x < 1.0f; }   /* 0 <= x < 1, not NaN */

/* The settings' ranges (see bp_opt), apart from any state. */
BP__PRIVATE bp_status bp__check_settings(const bp_opt *opt) {
    if (!bp__valid_enum((unsigned)opt->method, BP_METHOD_COUNT)) return BP_ERR_OPT;
    if (!(opt->lr > 0.0f && bp__finite(opt->lr)) || !bp__unit(opt->momentum)) return BP_ERR_OPT;
    if (!(opt->weight_decay >= 0.0f && bp__finite(opt->weight_decay))) return BP_ERR_OPT;
    if (!(opt->clip >= 0.0f && bp__finite(opt->clip))) return BP_ERR_OPT;
    if (opt->method != BP_SGD && !(bp__unit(opt->beta2) && opt->eps > 0.0f && bp__finite(opt->eps)))
        return BP_ERR_OPT;
    if (bp__adam_like(opt->method) && !bp__unit(opt->beta1)) return BP_ERR_OPT;
    return BP_OK;
}

BP__PRIVATE bp_status bp__check_rule(const bp_opt *opt, float *state, size_t state_len, size_t n) {
    size_t need;
    bp_status st;
    if (!opt) return BP_ERR_NULL;
    if ((st = bp__check_settings(opt)) != BP_OK) return st;
    need = bp_opt_state_size(opt, n);
    if (need > 0 && !state) return BP_ERR_NULL;
    if (state_len < need) return BP_ERR_STATE_SHORT;
    return BP_OK;
}

/* The rule of the step about to be taken; state (checked) may be NULL when none is kept.
   Adam's bias corrections come from the step count t kept after the moments, as
   beta^t = e^(t log beta): accurate at any t, where a running product would drift. */
BP__PRIVATE void bp__rule_of(bp__rule *u, const bp__kern *k, const bp_opt *opt,
                             const float *state, size_t n) {
    u->k = BP__DISPATCH ? k : NULL;     /* (one level: BP__RULE_K names it, see BP__KERN) */
    u->opt = opt;
    u->plane = n;
    u->c1 = u->c2 = 1.0f;
    if (bp__adam_like(opt->method)) {
        const float t = state[2 * n] + 1.0f;
        u->c1 = opt->beta1 > 0.0f ? 1.0f / (1.0f - BP_EXPF(t * BP_LOGF(opt->beta1))) : 1.0f;
        u->c2 = opt->beta2 > 0.0f ? 1.0f / (1.0f - BP_EXPF(t * BP_LOGF(opt->beta2))) : 1.0f;
    }
}

/* After a step that was taken: count it (Adam's t; exact up to 2^24 steps, when beta^t has
   long been 0). */
BP__PRIVATE void bp__rule_done(const bp__rule *u, float *state) {
    if (bp__adam_like(u->opt->method)) state[2 * u->plane] += 1.0f;
}

BP__PRIVATE bp_status bp__check_opt(const bp_net *net, const bp_opt *opt, float *state,
                                    size_t state_len) {
    const bp_status s = bp__writable(net);
    if (s != BP_OK) return s;
    if (!opt) return BP_ERR_NULL;
    return bp__check_rule(opt, state, state_len, net->n_params);
}

/* Targets the loss can use (else BP_ERR_TARGET): finite; for cross-entropy in 0..1, and
   with softmax each row a distribution (its sum within 1e-3 of 1). Class labels passed where
   one-hot rows belong read as rows that do not sum to 1 (labels as floats: 3, 7, ...; as
   int bits: tiny denormals): that mix-up lands here. */
#define BP__SUM_TOL 1e-3f
BP__PRIVATE int bp__targets_ok(const bp_net *net, const float *t, int batch) {
    const int nout = net->sizes[net->n_layers];
    const int ce = net->loss == BP_LOSS_CROSS_ENTROPY;
    const int rows = ce && net->act[net->n_layers - 1] == BP_SOFTMAX;
    const float lo = ce ? 0.0f : -FLT_MAX, hi = ce ? 1.0f : FLT_MAX;
    int b, k, bad = 0;
    for (b = 0; b < batch; b++) {
        const float *r = t + (size_t)b * (size_t)nout;
        float sum = 0.0f;
        for (k = 0; k < nout; k++) {
            bad |= !(r[k] >= lo && r[k] <= hi);
            sum += r[k];
        }
        if (rows) bad |= !(sum >= 1.0f - BP__SUM_TOL && sum <= 1.0f + BP__SUM_TOL);
    }
    return !bad;
}
/* ---- the checks ----------------------------------------------------------------------------- */

/* The largest |v[i]| of n floats, or -1 if any is infinite or NaN: the steps' checks. On the
   bits: with the sign cleared, IEEE floats order as integers, and the infinities and NaNs
   are those from 0x7f800000 up, so one AND and one integer max per element find both (the
   float compares of max|v| made GCC 12 emit slower code than a scalar loop; see
   BENCHMARKS.md, "Checks"). Lanes as in bp__dot, so that it vectorizes. */
BP__PRIVATE BP__INLINE float bp__maxabs(const float *v, size_t n) {
    int32_t m[BP__LANES] = {0}, r = 0;
    size_t i = 0, j;
    float f;
    for (; i + BP__LANES <= n; i += BP__LANES)
        for (j = 0; j < BP__LANES; j++) {
            uint32_t b;
            int32_t a;
            BP__PUN(&b, v + i + j);
            a = (int32_t)(b & 0x7fffffffu);
            m[j] = a > m[j] ? a : m[j];
        }
    for (j = 0; j < BP__LANES; j++) r = m[j] > r ? m[j] : r;
    for (; i < n; i++) {
        uint32_t b;
        int32_t a;
        BP__PUN(&b, v + i);
        a = (int32_t)(b & 0x7fffffffu);
        r = a > r ? a : r;
    }
    if (r >= 0x7f800000) return -1.0f;
    BP__PUN(&f, &r);
    return f;
}

/* A quiet NaN, for the float results that report a refused step. */
BP__PRIVATE float bp__nan(void) {
    const uint32_t bits = 0x7fc00000u;
    float f;
    BP_MEMCPY(&f, &bits, sizeof f);
    return f;
}

/* The largest gradient a step applies, and the largest step lr |g|. Beyond them training has
   diverged anyway; below them nothing overflows: g^2 (Adam's v) stays finite, and so does
   w - lr g for any finite w (it rounds to at most FLT_MAX). */
#define BP__GRAD_LIMIT 1e18f
#define BP__STEP_LIMIT 1e30f

/* Whether a step may apply what it computed (see ERRORS at the top): the batch's inputs x,
   every layer's activations and deltas, the output's pre-activations and the loss are all
   finite, and no gradient can pass BP__GRAD_LIMIT: |dL/dW[o][i]| = |sum_b D[b][o] a[b][i]|
   <= batch max|D| max|a| (the deltas carry the 1/batch; biases: a = 1). These are
   O(batch x width) reads; the step's products are O(batch x width^2). */
BP__PRIVATE int bp__step_ok(const bp_net *net, const float *x, int batch, float loss,
                            const bp__rule *u) {
    const bp__kern *k = BP__KERN(net->level);
    const size_t b = (size_t)batch;
    float ain = k->maxabs(x, b * (size_t)net->sizes[0]);
    int l;
    if (!bp__finite(loss) || ain < 0.0f) return 0;
    if (k->maxabs(bp__z_buf(net), b * (size_t)net->sizes[net->n_layers]) < 0.0f) return 0;
    for (l = 1; l <= net->n_layers; l++) {
        const size_t n = b * (size_t)net->sizes[l];
        const float d = k->maxabs(bp__delta_buf(net, l), n);
        const float a = k->maxabs(bp__act_buf(net, l), n);
        const float bound = (float)batch * d * (ain > 1.0f ? ain : 1.0f);
        if (d < 0.0f || a < 0.0f || !(bound <= BP__GRAD_LIMIT)) return 0;
        if (u && !(u->opt->lr * bound <= BP__STEP_LIMIT)) return 0;
        ain = a;
    }
    return 1;
}

/* ---- updates ---------------------------------------------------------------------------- */

/* bp_sgd and bp_update stay out of line: inlined into a caller that cannot tell its arrays
   apart (pointers from posix_memalign, say), GCC dropped the restrict of bp__step and left
   the update scalar (BENCHMARKS.md, the row "bp_sgd and bp_update never inlined"). */
BP__NOINLINE BPDEF bp_status bp_sgd(float *params, const float *grads, size_t n, float lr) {
    bp_opt o;
    bp__rule u;
    if (!params || !grads) return BP_ERR_NULL;
    /* p[i] -= lr * g[i], by bp__step (g times 1 is exact): its arrays are restrict parameters
       (the two must not overlap: documented), which clang honours and restrict locals it does
       not (with those, clang too left the loop scalar) */
    o = bp_opt_sgd(lr);
    bp__rule_of(&u, BP__KERN(bp__best_level()), &o, NULL, n);
    BP__RULE_K(&u)->step(params, NULL, 1.0f, grads, n, &u, 0.0f);
    return BP_OK;
}

/* The start of every update from a stored gradient g (bp_update, bp_rnet_update, a clipped
   bp_train_step): g checked as bp__step_ok checks a fused step (finite, within the limits),
   *state set to NULL when opt keeps none, the rule of this step, and the gradient's scale
   *gs: with clip, min(1, clip / ||g||_2), the norm summed over (g / max|g|)^2 (each term at
   most 1: no overflow; one fixed order; float, so no soft double on a single-precision FPU),
   else 1. One pass finds max|g| for both. */
BP__PRIVATE bp_status bp__stored_step(const bp__kern *k, const float *g, size_t n,
                                      const bp_opt *opt, float **state, bp__rule *u, float *gs) {
    const float gmax = k->maxabs(g, n);
    float sum = 0.0f;
    size_t i;
    if (!(gmax >= 0.0f && gmax <= BP__GRAD_LIMIT && opt->lr * gmax <= BP__STEP_LIMIT))
        return BP_ERR_NONFINITE;
    if (bp_opt_state_size(opt, n) == 0) *state = NULL;
    bp__rule_of(u, k, opt, *state, n);
    *gs = 1.0f;
    if (opt->clip > 0.0f && gmax > 0.0f) {
        float norm;
        for (i = 0; i < n; i++) {
            const float q = g[i] / gmax;
            sum += q * q;
        }
        norm = gmax * BP_SQRTF(sum);
        if (norm > opt->clip) *gs = opt->clip / norm;
    }
    return BP_OK;
}

/* bp_update after its argument checks: the stored gradient applied layer by layer (weights
   decayed, biases not), the step counted. */
BP__PRIVATE bp_status bp__apply_grads(bp_net *net, const bp_opt *opt, float *state) {
    bp__rule u;
    float gs;
    int l;
    bp_status s = bp__stored_step(BP__KERN(net->level), net->grads, net->n_params, opt, &state,
                                  &u, &gs);
    if (s != BP_OK) return s;
    for (l = 0; l < net->n_layers; l++) {   /* elementwise: the same bits as bp_train_step's rows */
        const size_t off = bp__param_offset(net, l);
        const size_t no = (size_t)net->sizes[l + 1], nw = (size_t)net->sizes[l] * no;
        float *W = net->params + off, *gW = net->grads + off, *vW = state ? state + off : NULL;
        BP__RULE_K(&u)->step(W, vW, gs, gW, nw, &u, opt->weight_decay);               /* weights */
        BP__RULE_K(&u)->step(W + nw, vW ? vW + nw : NULL, gs, gW + nw, no, &u, 0.0f); /* biases */
    }
    if (state) bp__rule_done(&u, state);
    return BP_OK;
}

BP__NOINLINE BPDEF bp_status bp_update(bp_net *net, const bp_opt *opt, float *state,
                                       size_t state_len) {
    bp_status s = bp__check_opt(net, opt, state, state_len);
    return s != BP_OK ? s : bp__apply_grads(net, opt, state);
}

/* ---- epochs, labels, shuffling ---------------------------------------------------------------- */

BPDEF bp_rng bp_rng_seed(uint64_t seed) {
    bp_rng r;
    r.state = seed;
    return r;
}

BPDEF uint32_t bp_rng_u32(bp_rng *r) {  /* splitmix64: add the golden gamma, then mix */
    uint64_t z;
    if (!r) return 0;
    z = (r->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (uint32_t)((z ^ (z >> 31)) >> 32);
}

BPDEF float bp_rng_float(bp_rng *r) {  /* 24 bits: every value exact in a float, never 1 */
    if (!r) return 0.0f;
    return (float)(bp_rng_u32(r) >> 8) * (1.0f / 16777216.0f);
}

BPDEF uint32_t bp_rng_below(bp_rng *r, uint32_t n) {
    /* Reject the lowest 2^32 mod n values: the rest hold each of 0..n-1 equally often. */
    uint32_t threshold, x;
    if (n == 0 || !r) return 0;
    threshold = (uint32_t)(0u - n) % n;
    do x = bp_rng_u32(r); while (x < threshold);
    return x % n;
}

BPDEF bp_status bp_randomize(bp_net *net, uint64_t seed) {
    bp_rng r = bp_rng_seed(seed);
    float *p;
    int l;
    const bp_status s = bp__writable(net);
    if (s != BP_OK) return s;
    p = net->params;
    for (l = 0; l < net->n_layers; l++) {
        size_t ni = (size_t)net->sizes[l], no = (size_t)net->sizes[l + 1], i;
        int he = net->act[l] == BP_RELU || net->act[l] == BP_LEAKY_RELU;
        float range = BP_SQRTF(6.0f / (float)(he ? ni : ni + no));
        for (i = 0; i < ni * no; i++) *p++ = range * (2.0f * bp_rng_float(&r) - 1.0f);
        BP_MEMSET(p, 0, no * sizeof *p);
        p += no;
    }
    return BP_OK;
}

BPDEF bp_status bp_shuffle(int *order, int n, bp_rng *r) {
    int i;
    if (!order || !r) return BP_ERR_NULL;
    if (n < 1) return BP_ERR_BATCH;
    for (i = 0; i < n; i++) order[i] = i;
    for (i = n - 1; i > 0; i--) {            /* Fisher-Yates: order[i] from order[0..i] */
        const int j = (int)bp_rng_below(r, (uint32_t)i + 1u), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    return BP_OK;
}

/* A per-sample SGD epoch's first layer (bp__forward_at with pend_d): the previous sample's
   step W -= lr d x^T, b -= lr d, row by row in the same pass as this sample's z = W x + b
   (bp__sgd_dot4: bp__step's arithmetic, then bp__dot's). */
BP__PRIVATE BP__INLINE void bp__dense_pending(const bp__kern *k, float *p, float *bias,
                                              const float *x, float *z, int ni, int no,
                                              const float *pend_d, const float *pend_x,
                                              const bp__rule *opt) {
    float r[4];
    int o, c;
    for (o = 0; o + 4 <= no; o += 4) {
        float *w = p + (size_t)o * (size_t)ni;
        k->sgd_dot4(w, w + ni, w + 2 * (size_t)ni, w + 3 * (size_t)ni, pend_d + o,
                    pend_x, opt->opt->lr, x, ni, r);
        for (c = 0; c < 4; c++) {
            k->step(bias + o + c, NULL, 1.0f, pend_d + o + c, 1, opt, 0.0f);
            z[o + c] = r[c] + bias[o + c];
        }
    }
    for (; o < no; o++) {
        k->step(p + (size_t)o * (size_t)ni, NULL, pend_d[o], pend_x, (size_t)ni, opt,
                0.0f);
        k->step(bias + o, NULL, 1.0f, pend_d + o, 1, opt, 0.0f);
        z[o] = k->dot(p + (size_t)o * (size_t)ni, x, ni) + bias[o];
    }
}

BP__HOT BP__PRIVATE void bp__forward_pending(bp_net *net, const float *x, const float *pend_d,
                                             const float *pend_x, const bp__rule *opt) {
    bp__forward_at(net, x, 1, pend_d, pend_x, opt, 0);
}

/* The first layer's update that bp_train_epoch left pending: the gradient row o is
   d[o] * x, applied with plain SGD, then the biases. */
BP__PRIVATE void bp__apply_first(bp_net *net, const float *d, const float *x, const bp__rule *opt) {
    const int ni = net->sizes[0], no = net->sizes[1];
    int o;
    for (o = 0; o < no; o++) {
        BP__RULE_K(opt)->step(net->params + (size_t)o * (size_t)ni, NULL, d[o], x, (size_t)ni,
                              opt, 0.0f);
        BP__RULE_K(opt)->step(net->params + (size_t)ni * (size_t)no + o, NULL, 1.0f, d + o, 1,
                              opt, 0.0f);
    }
}

/* Whether every label is a class of the net: 0 .. n_outputs - 1, or 0 and 1 with one output. */
BP__PRIVATE int bp__labels_ok(const bp_net *net, const int *labels, int n) {
    const int nout = net->sizes[net->n_layers], top = nout == 1 ? 2 : nout;
    int i, bad = 0;
    for (i = 0; i < n; i++) bad |= labels[i] < 0 || labels[i] >= top;
    return !bad;
}

/* The target rows of samples at[0 .. count-1] of labels (at NULL: i0 .. i0+count-1) into t. */
BP__PRIVATE void bp__one_hot(const bp_net *net, const int *labels, int i0, const int *at, int count,
                             float *t) {
    const int nout = net->sizes[net->n_layers];
    int k;
    BP_MEMSET(t, 0, (size_t)count * (size_t)nout * sizeof *t);
    for (k = 0; k < count; k++) {
        const int c = labels[at ? at[k] : i0 + k];
        if (nout == 1) t[k] = (float)c;
        else t[(size_t)k * (size_t)nout + (size_t)c] = 1.0f;
    }
}

/* s[0] += v, compensated (Kahan): an epoch's mean loss as accurate as a double sum, in float,
   which a single-precision FPU runs without soft double. Each step a float statement of its
   own, so that excess precision (FLT_EVAL_METHOD 1) is rounded away where Kahan needs it. */
BP__PRIVATE void bp__sum_add(float *s, float v) {
    const float y = v - s[1];
    const float t = s[0] + y;
    const float d = t - s[0];
    s[1] = d - y;
    s[0] = t;
}

/* bp_train_epoch and bp_train_epoch_labels: target rows, or labels made into rows in G. */
BP__PRIVATE bp_status bp__epoch(bp_net *net, const bp_opt *opt, float *state, size_t state_len,
                                const float *x, const float *target, const int *labels, int n,
                                const int *order, float *mean_loss, int *done) {
    bp_status s = bp__check_opt(net, opt, state, state_len);
    size_t nin, nout;
    float sum[2] = {0.0f, 0.0f};             /* the losses' sum and its compensation */
    float *gx, *gt;
    int i, k;
    if (done) *done = 0;
    if (s != BP_OK) return s;
    if (!x || (!target && !labels) || !net->work) return BP_ERR_NULL;
    if (n < 1) return BP_ERR_BATCH;
    if (order)
        for (i = 0; i < n; i++)
            if (order[i] < 0 || order[i] >= n) return BP_ERR_ORDER;
    if (labels && !bp__labels_ok(net, labels, n)) return BP_ERR_LABEL;
    nin = (size_t)net->sizes[0];
    nout = (size_t)net->sizes[net->n_layers];
    gx = bp__gather_buf(net);
    gt = gx + (size_t)net->max_batch * nin;
    if (net->max_batch == 1 && opt->method == BP_SGD && opt->momentum == 0.0f
        && opt->weight_decay == 0.0f && opt->clip == 0.0f) {
        const float *pend_d = NULL, *pend_x = NULL;
        bp__rule u;
        bp__rule_of(&u, BP__KERN(net->level), opt, NULL, net->n_params);
        for (i = 0; i < n; i++) {
            const size_t at = (size_t)(order ? order[i] : i);
            const float *xi = x + at * nin, *ti = target ? target + at * nout : gt;
            float l = 0.0f;
            if (labels) bp__one_hot(net, labels, (int)at, NULL, 1, gt);
            if (!bp__targets_ok(net, ti, 1)) {
                s = BP_ERR_TARGET;
                break;
            }
            bp__forward_pending(net, xi, pend_d, pend_x, &u);
            pend_d = NULL;                                  /* applied */
            if ((s = bp__backprop(net, xi, ti, 1, &u, NULL, &pend_d, 0, &l)) != BP_OK) break;
            bp__sum_add(sum, l);
            pend_x = xi;
        }
        if (pend_d) bp__apply_first(net, pend_d, pend_x, &u);    /* the last sample's */
    } else {
        for (i = 0; i < n; i += net->max_batch) {
            const int b = n - i < net->max_batch ? n - i : net->max_batch;
            const float *xb = x + (size_t)i * nin, *tb = target ? target + (size_t)i * nout : gt;
            float l = 0.0f;
            if (order && b == 1) {
                xb = x + (size_t)order[i] * nin;
                if (target) tb = target + (size_t)order[i] * nout;
            } else if (order) {      /* gather the batch into G: the same bits as a copy */
                for (k = 0; k < b; k++) {
                    BP_MEMCPY(gx + (size_t)k * nin, x + (size_t)order[i + k] * nin,
                              nin * sizeof *gx);
                    if (target)
                        BP_MEMCPY(gt + (size_t)k * nout, target + (size_t)order[i + k] * nout,
                                  nout * sizeof *gt);
                }
                xb = gx;
                tb = target ? gt : tb;
                /* the next batch's rows, fetched while this one trains: scattered rows start
                   cold where the file order streams (BENCHMARKS.md, "Shuffled epochs") */
                for (k = i + b; k < i + b + net->max_batch && k < n; k++) {
                    const float *r = x + (size_t)order[k] * nin;
                    size_t c;
                    for (c = 0; c < nin; c += 16) BP__PREFETCH(r + c);
                }
            }
            if (labels) bp__one_hot(net, labels, i, order ? order + i : NULL, b, gt);
            if ((s = bp_train_step(net, opt, state, state_len, xb, tb, b, &l)) != BP_OK) break;
            bp__sum_add(sum, l * (float)b);
        }
    }
    if (i > n) i = n;
    if (done) *done = i;
    if (mean_loss && i > 0) *mean_loss = sum[0] / (float)i;
    return s;
}

BPDEF bp_status bp_train_epoch(bp_net *net, const bp_opt *opt, float *state, size_t state_len,
                               const float *x, const float *target, int n, const int *order,
                               float *mean_loss, int *done) {
    if (!target) return BP_ERR_NULL;
    return bp__epoch(net, opt, state, state_len, x, target, NULL, n, order, mean_loss, done);
}

BPDEF bp_status bp_train_epoch_labels(bp_net *net, const bp_opt *opt, float *state,
                                      size_t state_len,
                                      const float *x, const int *labels, int n, const int *order,
                                      float *mean_loss, int *done) {
    if (!labels) return BP_ERR_NULL;
    return bp__epoch(net, opt, state, state_len, x, NULL, labels, n, order, mean_loss, done);
}

BPDEF bp_status bp_train_step_labels(bp_net *net, const bp_opt *opt, float *state, size_t state_len,
                                     const float *x, const int *labels, int batch, float *loss) {
    float *gt;
    const bp_status s = bp__writable(net);
    if (s != BP_OK) return s;
    if (!labels || !net->work) return BP_ERR_NULL;
    if (batch < 1 || batch > net->max_batch) return BP_ERR_BATCH;
    if (!bp__labels_ok(net, labels, batch)) return BP_ERR_LABEL;
    gt = bp__onehot_buf(net);
    bp__one_hot(net, labels, 0, NULL, batch, gt);
    return bp_train_step(net, opt, state, state_len, x, gt, batch, loss);
}

/* ---- helpers ---------------------------------------------------------------------------- */

BPDEF int bp_argmax(const float *v, int n) {
    int k, best = 0;
    if (!v || n < 1) return -1;
    for (k = 1; k < n; k++) if (v[k] > v[best]) best = k;
    return best;
}

/* Rows classified right: the output's argmax is the target's, or with one output
   (y >= 0.5) == (t >= 0.5). bp_evaluate's and bp_seq_evaluate's count. */
BP__PRIVATE int bp__right(const float *y, const float *t, int rows, int nout) {
    int r, right = 0;
    for (r = 0; r < rows; r++) {
        const float *yr = y + (size_t)r * (size_t)nout, *tr = t + (size_t)r * (size_t)nout;
        if (nout == 1) right += (yr[0] >= 0.5f) == (tr[0] >= 0.5f);
        else right += bp_argmax(yr, nout) == bp_argmax(tr, nout);
    }
    return right;
}

/* bp_evaluate and bp_evaluate_labels: target rows, or labels made into rows in G. */
BP__PRIVATE bp_status bp__evaluate(bp_net *net, const float *x, const float *target,
                                   const int *labels,
                                   int n, float *mean_loss, float *accuracy) {
    int done = 0, right = 0, nin, nout;
    float loss_sum = 0.0f, *gt;
    const bp__kern *kern;
    if (!net || !x || (!target && !labels) || !net->params || !net->work) return BP_ERR_NULL;
    if (n < 1) return BP_ERR_BATCH;
    if (labels && !bp__labels_ok(net, labels, n)) return BP_ERR_LABEL;
    nin = net->sizes[0];
    nout = net->sizes[net->n_layers];
    gt = bp__onehot_buf(net);
    kern = BP__KERN(net->level);
    while (done < n) {
        int chunk = n - done < net->max_batch ? n - done : net->max_batch;
        const float *xb = x + (size_t)done * (size_t)nin;
        const float *tb = target ? target + (size_t)done * (size_t)nout : gt;
        const float *y = bp_forward(net, xb, chunk);
        if (kern->maxabs(xb, (size_t)chunk * (size_t)nin) < 0.0f
            || kern->maxabs(y, (size_t)chunk * (size_t)nout) < 0.0f)
            return BP_ERR_NONFINITE;
        if (labels) bp__one_hot(net, labels, done, NULL, chunk, gt);
        loss_sum += bp_loss_value(net, tb, chunk) * (float)chunk;
        right += bp__right(y, tb, chunk, nout);
        done += chunk;
    }
    if (mean_loss) *mean_loss = loss_sum / (float)n;
    if (accuracy) *accuracy = (float)right / (float)n;
    return BP_OK;
}

BPDEF bp_status bp_evaluate(bp_net *net, const float *x, const float *target, int n,
                            float *mean_loss, float *accuracy) {
    if (!target) return BP_ERR_NULL;
    return bp__evaluate(net, x, target, NULL, n, mean_loss, accuracy);
}

BPDEF bp_status bp_evaluate_labels(bp_net *net, const float *x, const int *labels, int n,
                                   float *mean_loss, float *accuracy) {
    if (!labels) return BP_ERR_NULL;
    return bp__evaluate(net, x, NULL, labels, n, mean_loss, accuracy);
}

/* cos(pi p) for p in [0, 1], by its Taylor series on [0, pi/2] (truncated below 1e-9, then
   float rounding): the cosine schedule needs no cosf, and libm stays at the four hooks. */
BP__PRIVATE float bp__cos_pi(float p) {
    const int flip = p > 0.5f;
    const float x = 3.14159265f * (flip ? 1.0f - p : p), x2 = x * x;
    float c = 1.0f;
    int k;
    for (k = 14; k >= 2; k -= 2) c = 1.0f - x2 / (float)(k * (k - 1)) * c;
    return flip ? -c : c;
}

BPDEF float bp_lr_step(float lr, int step, int every, float gamma) {
    int k;
    if (step < 0 || every < 1) return -1.0f;
    for (k = step / every; k > 0; k--) lr *= gamma;
    return lr;
}

BPDEF float bp_lr_cosine(float lr, float lr_min, int step, int total) {
    if (step < 0 || total < 1) return -1.0f;
    if (step >= total) return lr_min;
    return lr_min + (lr - lr_min) * 0.5f * (1.0f + bp__cos_pi((float)step / (float)total));
}

BPDEF float bp_lr_warmup(float lr, int step, int warmup) {
    if (step < 0 || warmup < 0) return -1.0f;
    return step < warmup ? lr * (float)(step + 1) / (float)warmup : lr;
}

BPDEF bp_status bp_gradcheck(bp_net *net, const float *x, const float *target, int batch,
                             float step, float *max_err) {
    float nmax = 0.0f, emax = 0.0f;
    size_t i;
    const bp_status s = bp__writable(net);
    if (s != BP_OK) return s;
    if (!x || !target || !max_err || !net->work) return BP_ERR_NULL;
    if (batch < 1 || batch > net->max_batch) return BP_ERR_BATCH;
    if (!(step >= 0.0f && bp__finite(step))) return BP_ERR_OPT;
    if (!bp__targets_ok(net, target, batch)) return BP_ERR_TARGET;
    if (step == 0.0f) step = 1e-3f;
    for (i = 0; i < net->n_params; i++) {
        const float w = net->params[i], h = step * (w < -1.0f ? -w : w > 1.0f ? w : 1.0f);
        float up, down, num, err;
        net->params[i] = w + h;
        bp__forward(net, x, batch, 0);
        up = bp_loss_value(net, target, batch);
        net->params[i] = w - h;
        bp__forward(net, x, batch, 0);
        down = bp_loss_value(net, target, batch);
        net->params[i] = w;
        num = (up - down) / ((w + h) - (w - h));   /* the step as the floats took it */
        if (!bp__finite(num) || !bp__finite(net->grads[i])) return BP_ERR_NONFINITE;
        err = num - net->grads[i];
        if ((num < 0.0f ? -num : num) > nmax) nmax = num < 0.0f ? -num : num;
        if ((err < 0.0f ? -err : err) > emax) emax = err < 0.0f ? -err : err;
    }
    *max_err = emax / (nmax > 1e-6f ? nmax : 1e-6f);
    return BP_OK;
}

BPDEF const char *bp_strerror(bp_status s) {
    switch (s) {
#define BP__STATUS_TEXT(name, text) case name: return text;
    BP_STATUS_LIST(BP__STATUS_TEXT)
#undef BP__STATUS_TEXT
    default: return "unknown status";
    }
}

BPDEF const char *bp_act_name(bp_act a) {
    static const char *const names[BP_ACT_COUNT] = {
        "linear", "sigmoid", "tanh", "relu", "leaky_relu", "softmax"
    };
    return bp__valid_enum((unsigned)a, BP_ACT_COUNT) ? names[a] : NULL;
}

/* =============================================================================================
   PART 3. THE RECURRENT NET (bp_rnet)
   A fully connected recurrent net, trained by recurrent backpropagation (Almeida-Pineda).
   Relies on Part 1's activations and the level's kernels, and on Part 2's optimizers and
   checks for its update. n fully connected units, m external inputs, the outputs the last
   n_outputs units.
   Forward (bp_rnet_settle): from x = 0, repeat  x <- (1 - tau) x + tau f(W x + U i + b)
   until the fixed-point residual r = max_k |f(W x + U i + b)_k - x_k| is settled:
       r <= tol max(1, max_k |x_k|)      the test you set (relative once the state passes 1)
   or, when tol is finer than float can resolve, r within twice the bound on the rounding of
   one evaluation of the map (from the row sums of |W| and the magnitudes of x and U i + b)
   and no longer falling (no new low in 10 steps): the best float can do, so any tol settles,
   as accurately as float allows, instead of running to max_iters. Then
   x* = f(u*), u* = W x* + U i + b.
   Backward (bp_rnet_backward): loss E = 0.5 sum_k (x*_k - t_k)^2 over the output units,
   e = dE/dx*; solve the adjoint  z = e + W^T (f'(u*) . z)  by the same damped iteration (its
   residual settled by the same test, with z for x and the column sums of |W|); with
   delta = f'(u*) . z:  dE/dW = delta x*^T, dE/dU = delta i^T, dE/db = delta. These are the
   exact gradients of the settled loss (implicit function theorem), up to the two tolerances.
   The adjoint converges whenever the forward relaxation converged to a stable fixed point
   (the same spectrum).
   ============================================================================================= */

BPDEF size_t bp_rnet_params_size(int n_units, int n_inputs) {
    size_t n;
    if (n_units < 1 || n_inputs < 0) return 0;
    n = (size_t)n_units;
    return bp__muladd(0, n, n + (size_t)n_inputs + 1);       /* W, U, b: n (n + m + 1) */
}

BPDEF size_t bp_rnet_work_size(int n_units, int n_inputs) {
    if (n_units < 1 || n_inputs < 0) return 0;
    return bp__muladd(0, 6, (size_t)n_units);
}

/* The rules of a recurrent topology and of its relaxation settings: bp_rnet_init and
   bp_rnet_settle enforce them, and so does the reader of a model's bytes. */
BP__PRIVATE bp_status bp__check_rnet_topology(int n_units, int n_inputs, int n_outputs,
                                              bp_act act) {
    if (n_units < 1 || n_inputs < 0) return BP_ERR_SIZE;
    if (n_outputs < 1 || n_outputs > n_units) return BP_ERR_OUTPUTS;
    if (!bp__valid_enum((unsigned)act, BP_ACT_COUNT)) return BP_ERR_ACT;
    if (act == BP_SOFTMAX) return BP_ERR_RNET_ACT;
    return BP_OK;
}

BP__PRIVATE int bp__relax_ok(float tau, float tol, int max_iters) {
    /* written so that NaN fails every comparison; x - x == 0 only for finite x */
    return tau > 0.0f && tau <= 1.0f && tol > 0.0f && tol - tol == 0.0f && max_iters >= 1;
}

BPDEF bp_status bp_rnet_init(bp_rnet *net, int n_units, int n_inputs, int n_outputs, bp_act act,
                             float *params, size_t params_len, float *grads, size_t grads_len,
                             float *work, size_t work_len) {
    bp_status s;
    size_t np, nw;
    if (!net) return BP_ERR_NULL;
    BP_MEMSET(net, 0, sizeof *net);
    if (!params || !grads || !work) return BP_ERR_NULL;
    if ((s = bp__check_rnet_topology(n_units, n_inputs, n_outputs, act)) != BP_OK) return s;
    np = bp_rnet_params_size(n_units, n_inputs);
    nw = bp_rnet_work_size(n_units, n_inputs);
    if (!np || !nw) return BP_ERR_OVERFLOW;
    if (params_len < np) return BP_ERR_PARAMS_SHORT;
    if (grads_len < np) return BP_ERR_GRADS_SHORT;
    if (work_len < nw) return BP_ERR_WORK_SHORT;
    net->n_units = n_units;
    net->n_inputs = n_inputs;
    net->n_outputs = n_outputs;
    net->act = act;
    net->tau = 0.5f;
    net->tol = 1e-5f;
    net->max_iters = 1000;
    net->level = bp__best_level();
    net->params = params;
    net->n_params = np;
    net->grads = grads;
    net->work = work;
    net->n_work = nw;
    return BP_OK;
}

BPDEF bp_status bp_rnet_set_level(bp_rnet *net, bp_level level) {
    return net ? bp__pick_level(&net->level, level) : BP_ERR_NULL;
}

BPDEF bp_status bp_rnet_randomize(bp_rnet *net, uint64_t seed) {
    bp_rng r = bp_rng_seed(seed);
    size_t n, m, i;
    float rw, ru;
    if (!net || !net->params) return BP_ERR_NULL;
    n = (size_t)net->n_units;
    m = (size_t)net->n_inputs;
    /* uniform on [-a, a] has standard deviation a / sqrt(3) */
    rw = 1.7320508f * 0.45f / (BP_SQRTF((float)n) * (net->act == BP_SIGMOID ? 0.25f : 1.0f));
    ru = m ? BP_SQRTF(3.0f / (float)m) : 0.0f;
    for (i = 0; i < n * n; i++) net->params[i] = rw * (2.0f * bp_rng_float(&r) - 1.0f);
    for (i = 0; i < n * m; i++) net->params[n * n + i] = ru * (2.0f * bp_rng_float(&r) - 1.0f);
    BP_MEMSET(net->params + n * n + n * m, 0, n * sizeof(float));
    return BP_OK;
}

BP__PRIVATE bp_status bp__rnet_check(const bp_rnet *net, const float *input) {
    if (!net || !net->params || !net->work || (!input && net->n_inputs > 0)) return BP_ERR_NULL;
    return bp__relax_ok(net->tau, net->tol, net->max_iters) ? BP_OK : BP_ERR_RELAX;
}

/* Work rows: x (state), c (U i + b, then e), fp (f'(u*)), z (adjoint), s and t (scratch). */
#define BP__RNET_ROW(net, k) ((net)->work + (size_t)(k) * (size_t)(net)->n_units)

/* forward map: out = f(W v + c) */
BP__PRIVATE void bp__rnet_forward_map(const bp_rnet *net, const float *v, float *out) {
    const int n = net->n_units;
    const float *c = BP__RNET_ROW(net, 1);
    int o;
    const bp__kern *k = BP__KERN(net->level);
    for (o = 0; o < n; o++) out[o] = k->dot(net->params + (size_t)o * (size_t)n, v, n) + c[o];
    bp__activate(net->act, out, out, 1, n);
}

/* adjoint map: out = e + W^T (f'(u*) . v); W is row-major, so add (f'_o v_o) W[o] per row */
BP__PRIVATE void bp__rnet_adjoint_map(const bp_rnet *net, const float *v, float *out) {
    const int n = net->n_units;
    const float *e = BP__RNET_ROW(net, 1), *fp = BP__RNET_ROW(net, 2);
    int o;
    const bp__kern *k = BP__KERN(net->level);
    BP_MEMCPY(out, e, (size_t)n * sizeof *out);
    for (o = 0; o < n; o++) k->axpy(out, fp[o] * v[o], net->params + (size_t)o * (size_t)n, n);
}

/* How far float rounding can move one evaluation of a relaxation's map g(v): at most
   gw max|v| + gc + gy max|g(v)|. A sum of d rounded terms is off by at most about d u times
   the sum of their magnitudes (u = FLT_EPSILON / 2; Higham, Accuracy and Stability of
   Numerical Algorithms, 3.1), bounded here by a row (or column) sum of |W| times max|v|. */
typedef struct bp__noise { float gw, gc, gy; } bp__noise;

#define BP__STALL 10   /* steps without a new smallest residual: the iteration is at its noise */

/* The damped iteration both relaxations share: v <- v + tau (g(v) - v), map writing g(v)
   into out (left holding g of the final v), until the residual r = max |g(v) - v| passes
   r <= tol max(1, max|v|) (the test you set), or, once r is within what float can resolve
   (twice the map's rounding, plus the rounding of v itself, u max|v| / tau), r has not made
   a new low for BP__STALL steps: float cannot do better, so a tol below its resolution
   settles too instead of running to max_iters. Returns BP_OK, the status not_settled after
   max_iters steps, or BP_ERR_NONFINITE; *steps counts the steps taken. */
BP__PRIVATE bp_status bp__relax(const bp_rnet *net,
                                void (*map)(const bp_rnet *, const float *, float *),
                                const bp__noise *ns, float *v, float *out, bp_status not_settled,
                                int *steps) {
    const int n = net->n_units;
    const float u = 0.5f * FLT_EPSILON;
    float best = FLT_MAX;
    int it, k, since = 0;
    for (it = 0;; it++) {
        float r = 0.0f, vmax = 0.0f, omax = 0.0f;
        map(net, v, out);
        for (k = 0; k < n; k++) {
            const float d = out[k] < v[k] ? v[k] - out[k] : out[k] - v[k];
            const float av = v[k] < 0.0f ? -v[k] : v[k], ao = out[k] < 0.0f ? -out[k] : out[k];
            if (!bp__finite(d)) { *steps = it; return BP_ERR_NONFINITE; }   /* inf or NaN */
            if (d > r) r = d;
            if (av > vmax) vmax = av;
            if (ao > omax) omax = ao;
        }
        if (r <= net->tol * (vmax > 1.0f ? vmax : 1.0f)) break;
        if (r < best) {
            best = r;
            since = 0;
        } else if (++since >= BP__STALL
                   && r <= 2.0f * (ns->gw * vmax + ns->gc + ns->gy * omax) + u / net->tau * vmax) {
            break;
        }
        if (it == net->max_iters) { *steps = it; return not_settled; }
        for (k = 0; k < n; k++) v[k] += net->tau * (out[k] - v[k]);
    }
    *steps = it;
    return BP_OK;
}

/* The largest row (by_rows) or column sum of |W|, n x n. */
BP__PRIVATE float bp__abs_sum_max(const float *W, int n, int by_rows) {
    float most = 0.0f;
    int i, j;
    for (i = 0; i < n; i++) {
        float sum = 0.0f;
        for (j = 0; j < n; j++) {
            const size_t at = by_rows ? (size_t)i * (size_t)n + (size_t)j
                                      : (size_t)j * (size_t)n + (size_t)i;
            const float w = W[at];
            sum += w < 0.0f ? -w : w;
        }
        if (sum > most) most = sum;
    }
    return most * (1.0f + (float)n * FLT_EPSILON);   /* rounding up the rounded sums */
}

BPDEF bp_status bp_rnet_settle(bp_rnet *net, const float *input) {
    bp_status st = bp__rnet_check(net, input);
    int n, m, o, k;
    float *x, *c, *fp, *s, cmax;
    const float *U, *b;
    const bp__kern *kern;
    bp__noise ns;
    if (st != BP_OK) return st;
    kern = BP__KERN(net->level);
    n = net->n_units;
    m = net->n_inputs;
    U = net->params + (size_t)n * (size_t)n;
    b = U + (size_t)n * (size_t)m;
    x = BP__RNET_ROW(net, 0); c = BP__RNET_ROW(net, 1);
    fp = BP__RNET_ROW(net, 2); s = BP__RNET_ROW(net, 4);
    net->settled = 0;
    for (o = 0; o < n; o++)   /* c = U i + b */
        c[o] = b[o] + (m ? kern->dot(U + (size_t)o * (size_t)m, input, m) : 0.0f);
    if ((cmax = bp__maxabs(c, (size_t)n)) < 0.0f) { net->iters = 0; return BP_ERR_NONFINITE; }
    {   /* the map's rounding: bp__dot's depth (lanes of n/16 terms, a tree of 4, a tail of
           up to 15), + c, then f's own few ulps (sigmoid, tanh; leaky ReLU's one product) */
        const int depth = (n >= BP__LANES ? n / BP__LANES + 4 : 0) + n % BP__LANES + 2;
        const float g = (float)depth * 0.5f * FLT_EPSILON;
        ns.gw = g * bp__abs_sum_max(net->params, n, 1);
        ns.gc = g * cmax;
        ns.gy = (net->act == BP_SIGMOID || net->act == BP_TANH ? 4.0f
                 : net->act == BP_LEAKY_RELU ? 1.0f : 0.0f) * 0.5f * FLT_EPSILON;
    }
    BP_MEMSET(x, 0, (size_t)n * sizeof *x);
    st = bp__relax(net, bp__rnet_forward_map, &ns, x, s, BP_ERR_NOT_SETTLED, &net->iters);
    if (st != BP_OK) return st;
    for (k = 0; k < n; k++) fp[k] = 1.0f;       /* f'(u*) from s = f(u*), the last map */
    bp__mul_deriv(net->act, s, fp, (size_t)n);
    net->settled = 1;
    return BP_OK;
}

BPDEF const float *bp_rnet_output(const bp_rnet *net) {
    if (!net || !net->work || !net->settled) return NULL;
    return net->work + (net->n_units - net->n_outputs);
}

BPDEF bp_status bp_rnet_backward(bp_rnet *net, const float *input, const float *target,
                                 float *loss) {
    bp_status st = bp__rnet_check(net, input);
    int n, m, k, o;
    float *x, *e, *fp, *z, *t, *gW, *gU, *gb, sum = 0.0f;
    bp__noise ns;
    if (st != BP_OK) return st;
    if (!target || !net->grads) return BP_ERR_NULL;
    if (!net->settled) return BP_ERR_NOT_SETTLED_YET;
    n = net->n_units;
    m = net->n_inputs;
    x = BP__RNET_ROW(net, 0); e = BP__RNET_ROW(net, 1); fp = BP__RNET_ROW(net, 2);
    z = BP__RNET_ROW(net, 3); t = BP__RNET_ROW(net, 5);
    /* e = dE/dx*: x*_k - t_k on the output units, 0 elsewhere */
    BP_MEMSET(e, 0, (size_t)n * sizeof *e);
    for (k = 0; k < net->n_outputs; k++) {
        float d = x[n - net->n_outputs + k] - target[k];
        e[n - net->n_outputs + k] = d;
        sum += 0.5f * d * d;
    }
    if (loss) *loss = sum;
    if (!bp__finite(sum)) { net->adjoint_iters = 0; return BP_ERR_NONFINITE; }
    {   /* the adjoint map's rounding: out[k] = e[k] + n products added in turn; f' <= 1 */
        const float g = (float)(n + 2) * 0.5f * FLT_EPSILON, fpmax = bp__maxabs(fp, (size_t)n);
        ns.gw = g * bp__abs_sum_max(net->params, n, 0) * fpmax;
        ns.gc = g * bp__maxabs(e, (size_t)n);
        ns.gy = 0.0f;
    }
    BP_MEMCPY(z, e, (size_t)n * sizeof *z);     /* start at e: the first term of the series */
    st = bp__relax(net, bp__rnet_adjoint_map, &ns, z, t, BP_ERR_ADJOINT_NOT_SETTLED,
                   &net->adjoint_iters);
    if (st != BP_OK) return st;
    gW = net->grads;
    gU = gW + (size_t)n * (size_t)n;
    gb = gU + (size_t)n * (size_t)m;
    for (o = 0; o < n; o++) {                  /* delta = f'(u*) . z */
        float d = fp[o] * z[o];
        for (k = 0; k < n; k++) gW[(size_t)o * (size_t)n + (size_t)k] = d * x[k];
        for (k = 0; k < m; k++) gU[(size_t)o * (size_t)m + (size_t)k] = d * input[k];
        gb[o] = d;
    }
    /* O(n (n + m)), against the relaxations' O(n^2) a step: a plain scan */
    return BP__KERN(net->level)->maxabs(net->grads, net->n_params) < 0.0f ? BP_ERR_NONFINITE
                                                                              : BP_OK;
}

BPDEF bp_status bp_rnet_update(bp_rnet *net, const bp_opt *opt, float *state, size_t state_len) {
    bp_status s;
    bp__rule u;
    size_t nw;
    float gs;
    if (!net || !net->params || !net->grads) return BP_ERR_NULL;
    if ((s = bp__check_rule(opt, state, state_len, net->n_params)) != BP_OK) return s;
    s = bp__stored_step(BP__KERN(net->level), net->grads, net->n_params, opt, &state, &u, &gs);
    if (s != BP_OK) return s;
    nw = (size_t)net->n_units * ((size_t)net->n_units + (size_t)net->n_inputs);   /* W and U */
    BP__RULE_K(&u)->step(net->params, state, gs, net->grads, nw, &u, opt->weight_decay);
    BP__RULE_K(&u)->step(net->params + nw, state ? state + nw : NULL, gs, net->grads + nw,
             (size_t)net->n_units, &u, 0.0f);
    if (state) bp__rule_done(&u, state);
    return BP_OK;
}

/* =============================================================================================
   PART 4. SEQUENCES (bp_seq)
   Elman, GRU and LSTM layers under a dense head, trained by backpropagation through time.
   Relies on Part 1 (the head is a bp_net over the tail of the arrays), Part 2 (optimizers,
   checks) and the batched product; its cells are compiled per level in Part 6.
   ============================================================================================= */

/* ---- sequences (bp_seq): recurrent layers trained by backpropagation through time ---------
   A batch runs layer by layer through the whole window: each layer's input projections of all
   steps in one product (x W_ih^T + b_ih, rows t B + b: step-major), then step after step the
   recurrent product h W_hh^T + b_hh and the cell. Every product goes through the GEMM, whose
   every element is the same chain of multiply-adds whatever the rows (Part 6): so a step
   streamed alone has the bits of the same step within a batch. The backward pass runs the
   steps in reverse (the gate deltas, then dh of the step before through W_hh), then each
   layer's weight gradients as two products over all the window's rows. */

BP__PRIVATE int bp__gates(bp_cell c) { return c == BP_CELL_GRU ? 3 : c == BP_CELL_LSTM ? 4 : 1; }

/* The head's sizes: hidden[n_rec-1], then dense[]. */
BP__PRIVATE void bp__seq_head_sizes(const bp_seq_spec *s, int *sizes) {
    int l;
    sizes[0] = s->hidden[s->n_rec - 1];
    for (l = 0; l < s->n_dense; l++) sizes[l + 1] = s->dense[l];
}

BP__PRIVATE int bp__seq_in(const bp_seq_spec *s, int l) { return l ? s->hidden[l - 1] : s->n_inputs; }

/* Units are kept below 2^26, so that 4 gates' rows and their products stay within int. */
#define BP__SEQ_MAX_UNITS (1 << 26)

BP__PRIVATE bp_status bp__seq_check_spec(const bp_seq_spec *s) {
    int l, sizes[BP_MAX_LAYERS + 1];
    if (!s) return BP_ERR_NULL;
    if (!bp__valid_enum((unsigned)s->cell, BP_CELL_COUNT)
        || !bp__valid_enum((unsigned)s->out, BP_SEQ_OUT_COUNT)) return BP_ERR_CELL;
    if (s->n_rec < 1 || s->n_rec > BP_MAX_LAYERS) return BP_ERR_LAYERS;
    if (s->n_dense < 1 || s->n_dense > BP_MAX_LAYERS) return BP_ERR_LAYERS;
    if (s->n_inputs < 1) return BP_ERR_SIZE;
    for (l = 0; l < s->n_rec; l++) if (s->hidden[l] < 1) return BP_ERR_SIZE;
    if (s->n_inputs >= BP__SEQ_MAX_UNITS) return BP_ERR_OVERFLOW;
    for (l = 0; l < s->n_rec; l++) if (s->hidden[l] >= BP__SEQ_MAX_UNITS) return BP_ERR_OVERFLOW;
    bp__seq_head_sizes(s, sizes);
    return bp__check_topology(s->n_dense, sizes, s->act, s->loss);
}

/* Floats of recurrent layer l's parameters: G (in + H) + 2 G. */
BP__PRIVATE size_t bp__seq_layer_params(const bp_seq_spec *s, int l) {
    const size_t g = (size_t)bp__gates(s->cell) * (size_t)s->hidden[l];
    return g * ((size_t)bp__seq_in(s, l) + (size_t)s->hidden[l] + 2);
}

BP__PRIVATE size_t bp__seq_rec_params(const bp_seq_spec *s) {   /* where the head's start */
    size_t n = 0;
    int l;
    for (l = 0; l < s->n_rec; l++) n += bp__seq_layer_params(s, l);
    return n;
}

BPDEF size_t bp_seq_params_size(const bp_seq_spec *spec) {
    int sizes[BP_MAX_LAYERS + 1], l;
    size_t n = 0, h;
    if (bp__seq_check_spec(spec) != BP_OK) return 0;
    for (l = 0; l < spec->n_rec; l++) {      /* each term < 2^28 x 2^27: fits a 64-bit size_t */
        const size_t g = (size_t)bp__gates(spec->cell) * (size_t)spec->hidden[l];
        const size_t w = (size_t)bp__seq_in(spec, l) + (size_t)spec->hidden[l] + 2;
        if ((n = bp__muladd(n, g, w)) == 0) return 0;
    }
    bp__seq_head_sizes(spec, sizes);
    if ((h = bp_params_size(spec->n_dense, sizes)) == 0) return 0;
    return bp__muladd(n, 1, h);
}

/* Where everything sits in work, in floats (see bp__seq_layout); the head's bp_net last. */
typedef struct {
    size_t x;                           /* the input, step-major, T B rows of n_inputs */
    size_t s[BP_MAX_LAYERS];            /* states h, T + 1 blocks of B rows (block 0: start) */
    size_t c[BP_MAX_LAYERS];            /* LSTM: cells c, as s */
    size_t a[BP_MAX_LAYERS];            /* gate values, T B rows of G */
    size_t e[BP_MAX_LAYERS];            /* GRU: W_hn h + b_hn; LSTM: tanh(c'); T B rows of H */
    size_t q, zt, hi, ht, sum, cnt;     /* h W_hh^T + b_hh; products' scratch; the head's input
                                           rows and targets; MEAN: sums and counts */
    size_t dg, dq, dh, dcar, dcc, dir;  /* training: gate deltas (dq: GRU's recurrent ones),
                                           dLoss/dh of every step, carried dh and dc, dh's
                                           direct part */
    size_t pack, pack_n, head, head_n, total;
} bp__seq_lay;

/* a += b c, or fail (*bad) on overflow; returns where the block starts */
BP__PRIVATE size_t bp__seq_take(size_t *a, size_t b, size_t c, int *bad) {
    const size_t at = *a;
    if (c != 0 && b > (BP__MAX_FLOATS - *a) / c) *bad = 1;
    else *a += b * c;
    return at;
}

/* The rows the head runs: a sample each, or a step each (EACH). */
BP__PRIVATE int bp__seq_rows(const bp_seq_spec *s, int T, int B) {
    return s->out == BP_SEQ_EACH ? T * B : B;
}

BP__PRIVATE size_t bp__seq_layout(const bp_seq_spec *s, int T, int B, int view,
                                  bp__seq_lay *o) {
    const int ng = bp__gates(s->cell), lstm = s->cell == BP_CELL_LSTM;
    int sizes[BP_MAX_LAYERS + 1], l, bad = 0, R;
    size_t n = 0, gm = 0, hm = 0, tb, zt = 0, pk = 0, f, hw;
    if (bp__seq_check_spec(s) != BP_OK || T < 1 || B < 1) return 0;
    if ((long)T * (long)B > 2147483647L / 4) return 0;
    tb = (size_t)T * (size_t)B;
    R = bp__seq_rows(s, T, B);
    bp__seq_head_sizes(s, sizes);
    for (l = 0; l < s->n_rec; l++) {
        const size_t H = (size_t)s->hidden[l], G = (size_t)ng * H, in = (size_t)bp__seq_in(s, l);
        if (G > gm) gm = G;
        if (H > hm) hm = H;
        if (in > hm && l > 0) hm = in;
        /* the forward products' scratch for W X^T (fewer rows than units: up to G - 1 rows
           of the batch, whatever its size), and pack areas */
        if ((tb < G ? tb : G) * G > zt) zt = (tb < G ? tb : G) * G;
        if ((f = bp__pack_floats(tb < G ? tb : G, in)) > pk) pk = f;     /* x W_ih^T */
        if ((f = bp__pack_floats((size_t)B < G ? (size_t)B : G, H)) > pk) pk = f;  /* h W_hh^T */
        if (!view) {
            if ((f = bp__pack_floats(H, G)) > pk) pk = f;                   /* dh W_hh */
            if ((f = bp__pack_floats(in, tb)) > pk) pk = f;                 /* dW_ih */
            if ((f = bp__pack_floats(H, tb)) > pk) pk = f;                  /* dW_hh */
            if ((f = bp__pack_floats(in, G)) > pk) pk = f;                  /* dx */
        }
    }
    for (l = 0; l < s->n_dense; l++) {           /* the head's forward products, and dx */
        const size_t ni = (size_t)sizes[l], no = (size_t)sizes[l + 1], r = (size_t)R;
        if ((r < no ? r : no) * no > zt) zt = (r < no ? r : no) * no;
        if ((f = bp__pack_floats(r < no ? r : no, ni)) > pk) pk = f;
    }
    if (!view && (f = bp__pack_floats((size_t)sizes[0], (size_t)sizes[1])) > pk) pk = f;
    if (BP__REF_GEMM) pk = 0;                    /* the plain loop packs nothing */
    o->x = bp__seq_take(&n, tb, (size_t)s->n_inputs, &bad);
    for (l = 0; l < s->n_rec; l++) {
        const size_t H = (size_t)s->hidden[l];
        o->s[l] = bp__seq_take(&n, tb + (size_t)B, H, &bad);
        o->c[l] = bp__seq_take(&n, lstm ? tb + (size_t)B : 0, H, &bad);
        o->a[l] = bp__seq_take(&n, tb, (size_t)ng * H, &bad);
        o->e[l] = bp__seq_take(&n, s->cell != BP_CELL_ELMAN ? tb : 0, H, &bad);
    }
    o->q = bp__seq_take(&n, (size_t)B, gm, &bad);
    o->zt = bp__seq_take(&n, zt, 1, &bad);
    o->hi = bp__seq_take(&n, (size_t)R, (size_t)sizes[0], &bad);
    o->ht = bp__seq_take(&n, (size_t)R, (size_t)sizes[s->n_dense], &bad);
    o->sum = bp__seq_take(&n, s->out == BP_SEQ_MEAN ? (size_t)B : 0, (size_t)sizes[0], &bad);
    o->cnt = bp__seq_take(&n, s->out == BP_SEQ_MEAN ? (size_t)B : 0, 1, &bad);
    o->dg = bp__seq_take(&n, view ? 0 : tb, gm, &bad);
    o->dq = bp__seq_take(&n, view || s->cell != BP_CELL_GRU ? 0 : tb, gm, &bad);
    o->dh = bp__seq_take(&n, view ? 0 : tb, hm, &bad);
    o->dcar = bp__seq_take(&n, view ? 0 : (size_t)B, hm, &bad);
    o->dcc = bp__seq_take(&n, view || !lstm ? 0 : (size_t)B, hm, &bad);
    o->dir = bp__seq_take(&n, view ? 0 : (size_t)B, hm, &bad);
    o->pack = bp__seq_take(&n, pk, 1, &bad);
    o->pack_n = pk;
    hw = bp__work_floats(s->n_dense, sizes, R, view);
    if (hw == 0) return 0;
    o->head = bp__seq_take(&n, hw, 1, &bad);
    o->head_n = hw;
    o->total = n;
    return bad ? 0 : n;
}

BPDEF size_t bp_seq_work_size(const bp_seq_spec *spec, int max_steps, int max_batch) {
    bp__seq_lay o;
    if (!BP__BATCHES && spec && bp__seq_rows(spec, max_steps, max_batch) > 1) return 0;
    return bp__seq_layout(spec, max_steps, max_batch, 0, &o);
}

BPDEF size_t bp_seq_forward_work_size(const bp_seq_spec *spec, int max_steps, int max_batch) {
    bp__seq_lay o;
    return bp__seq_layout(spec, max_steps, max_batch, 1, &o);
}

BPDEF size_t bp_seq_carry_size(const bp_seq_spec *spec, int batch) {
    size_t n = 0;
    int l, bad = 0;
    if (bp__seq_check_spec(spec) != BP_OK || batch < 1) return 0;
    for (l = 0; l < spec->n_rec; l++)
        bp__seq_take(&n, (size_t)batch * (spec->cell == BP_CELL_LSTM ? 2u : 1u),
                     (size_t)spec->hidden[l], &bad);
    if (spec->out == BP_SEQ_MEAN)
        bp__seq_take(&n, (size_t)batch, (size_t)spec->hidden[spec->n_rec - 1] + 1, &bad);
    return bad ? 0 : n;
}

BP__PRIVATE bp_status bp__seq_init(bp_seq *q, const bp_seq_spec *spec, int T, int B,
                                   float *params, size_t params_len, float *grads,
                                   size_t grads_len, float *work, size_t work_len) {
    bp__seq_lay o;
    bp_status st;
    size_t np, nw, nr;
    int sizes[BP_MAX_LAYERS + 1], l, R;
    if (!q) return BP_ERR_NULL;
    BP_MEMSET(q, 0, sizeof *q);
    if (!spec || !params || !work) return BP_ERR_NULL;
    if ((st = bp__seq_check_spec(spec)) != BP_OK) return st;
    if (T < 1) return BP_ERR_STEPS;
    if (B < 1 || (B > 1 && !BP__BATCHES)) return BP_ERR_MAX_BATCH;
    R = (long)T * (long)B > 2147483647L / 4 ? 0 : bp__seq_rows(spec, T, B);
    if (grads && R > 1 && !BP__BATCHES) return BP_ERR_MAX_BATCH;  /* the head trains row by row */
    np = bp_seq_params_size(spec);
    nw = bp__seq_layout(spec, T, B, !grads, &o);
    if (np == 0 || nw == 0) return BP_ERR_OVERFLOW;
    if (params_len < np) return BP_ERR_PARAMS_SHORT;
    if (grads && grads_len < np) return BP_ERR_GRADS_SHORT;
    if (work_len < nw) return BP_ERR_WORK_SHORT;
    q->spec = *spec;
    q->max_steps = T;
    q->max_batch = B;
    q->params = params;
    q->n_params = np;
    q->grads = grads;
    q->work = work;
    q->n_work = nw;
    q->level = bp__best_level();
    /* the head: a bp_net over the tail of params, grads and work, R rows */
    nr = bp__seq_rec_params(spec);
    bp__seq_head_sizes(spec, sizes);
    q->head.n_layers = spec->n_dense;
    for (l = 0; l <= spec->n_dense; l++) q->head.sizes[l] = sizes[l];
    for (l = 0; l < spec->n_dense; l++) q->head.act[l] = spec->act[l];
    q->head.loss = spec->loss;
    q->head.max_batch = R;
    q->head.params = params + nr;
    q->head.n_params = np - nr;
    q->head.grads = grads ? grads + nr : NULL;
    q->head.work = work + o.head;
    q->head.n_work = o.head_n;
    q->head.level = q->level;
    return BP_OK;
}

BPDEF bp_status bp_seq_init(bp_seq *seq, const bp_seq_spec *spec, int max_steps, int max_batch,
                            float *params, size_t params_len, float *grads, size_t grads_len,
                            float *work, size_t work_len) {
    if (seq && !grads) {
        BP_MEMSET(seq, 0, sizeof *seq);
        return BP_ERR_NULL;
    }
    return bp__seq_init(seq, spec, max_steps, max_batch, params, params_len, grads, grads_len,
                        work, work_len);
}

BPDEF bp_status bp_seq_init_forward(bp_seq *seq, const bp_seq_spec *spec, int max_steps,
                                    int max_batch, const float *params, size_t params_len,
                                    float *work, size_t work_len) {
    float *p;
    BP_MEMCPY(&p, &params, sizeof p);          /* as bp_init_forward: never written through */
    return bp__seq_init(seq, spec, max_steps, max_batch, p, params_len, NULL, 0, work, work_len);
}

BPDEF bp_status bp_seq_set_level(bp_seq *seq, bp_level level) {
    bp_status s;
    if (!seq || !seq->params) return BP_ERR_NULL;
    if ((s = bp__pick_level(&seq->level, level)) != BP_OK) return s;
    seq->head.level = seq->level;
    return BP_OK;
}

BPDEF bp_status bp_seq_randomize(bp_seq *seq, uint64_t seed) {
    bp_rng r = bp_rng_seed(seed);
    size_t i, at = 0;
    int l;
    if (!seq || !seq->params) return BP_ERR_NULL;
    if (!seq->grads) return BP_ERR_READONLY;
    for (l = 0; l < seq->spec.n_rec; l++) {
        const size_t n = bp__seq_layer_params(&seq->spec, l);
        const float k = 1.0f / BP_SQRTF((float)seq->spec.hidden[l]);
        for (i = 0; i < n; i++) seq->params[at + i] = k * (2.0f * bp_rng_float(&r) - 1.0f);
        at += n;
    }
    {
        const uint64_t hi = bp_rng_u32(&r), lo = bp_rng_u32(&r);   /* two statements: in order */
        return bp_randomize(&seq->head, hi << 32 | lo);
    }
}

/* The sample at batch row b, and its length. */
BP__PRIVATE int bp__seq_at(const bp_seq_data *d, int first, int b) {
    return d->order ? d->order[first + b] : first + b;
}
BP__PRIVATE int bp__seq_len(const bp_seq_data *d, int first, int b) {
    return d->lengths ? d->lengths[bp__seq_at(d, first, b)] : d->steps;
}

/* The arguments every call checks (need: targets or labels). */
BP__PRIVATE bp_status bp__seq_check_data(const bp_seq *q, const bp_seq_data *d, int first,
                                         int batch, int need) {
    int b;
    if (!q || !q->params || !q->work || !d || !d->x) return BP_ERR_NULL;
    if (need && !d->target && !d->labels) return BP_ERR_NULL;
    if (d->steps < 1 || d->steps > q->max_steps) return BP_ERR_STEPS;
    if (batch < 1 || batch > q->max_batch || first < 0 || d->n < 1 || first > d->n - batch)
        return BP_ERR_BATCH;
    if (d->carry && d->carry_len < bp_seq_carry_size(&q->spec, batch)) return BP_ERR_CARRY_SHORT;
    for (b = 0; b < batch; b++) {
        const int i = bp__seq_at(d, first, b);
        if (i < 0 || i >= d->n) return BP_ERR_ORDER;
        if (d->lengths && (d->lengths[i] < 1 || d->lengths[i] > d->steps)) return BP_ERR_STEPS;
    }
    return BP_OK;
}

/* z = x W^T + bias over rows (a = act(z) too when act is given), by the GEMM at any row
   count: the bits of a row do not depend on how many run with it. */
BP__PRIVATE void bp__seq_dense(const bp_seq *q, const bp__seq_lay *o, const float *W,
                               const float *bias, const float *x, float *z, int rows, int ni,
                               int no, bp_act act, float *a) {
    const bp__kern *k = BP__KERN(q->level);
    int r;
    if (!bp__dense_batch(k, W, bias, x, z, rows, ni, no, q->work + o->pack, o->pack_n,
                         q->work + o->zt, act, a, 0))
        for (r = 0; r < rows; r++)
            k->activate(act, z + (size_t)r * (size_t)no, a + (size_t)r * (size_t)no, 1, no);
}

/* The cells' functions, branch-free so that the loops over a row vectorize (Part 6 compiles
   the cells once per level, as the other kernels): libm's expf and tanhf, one call an
   element, took half of a GRU's training step. GCC vectorizes no float comparison in a loop
   (a ? b : c on floats is control flow to it), so the selects are made on the bits. Only
   +, -, *, / and a float-int conversion: every level computes the same bits (no FMA).
   A non-finite argument gives NaN (the checks then refuse the step); a finite one never does.
   e^x for x <= 0: x = k ln2 + r, k = trunc(x log2 e - 1/2) (|r| <= ln2 / 2 + 1e-7), ln2 in
   two parts (Cody-Waite), e^r by its Taylor series to r^7 (the next term is below 5e-9 of
   it), times 2^k made from its bits; x below -87 is taken as -87 (e^-87 = 1.6e-38: nothing
   that reads it changes). */
BP__PRIVATE BP__INLINE float bp__expn(float x) {
    uint32_t xi, bits;
    float xc, kf, r, p, s;
    int32_t k;
    BP__PUN(&xi, &x);
    xi &= 0x7fffffffu;
    xi = xi < 0x42ae0000u ? xi : 0x42ae0000u;        /* |x| <= 87 (NaN's bits too) */
    xi |= 0x80000000u;
    BP__PUN(&xc, &xi);                                /* -min(|x|, 87) */
    k = (int32_t)(xc * 1.44269504f - 0.5f);           /* -126 .. 0 */
    kf = (float)k;
    r = xc - kf * 0.693145752f;
    r = r - kf * 1.42860677e-6f;
    p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    bits = (uint32_t)(k + 127) << 23;
    BP__PUN(&s, &bits);
    p = p * s;
    return p + (x - x);                               /* x - x: 0, or NaN if x is not finite */
}

/* (a where the mask m is all ones, else b), on the bits */
BP__PRIVATE BP__INLINE float bp__pick(uint32_t m, float a, float b) {
    uint32_t ua, ub;
    float r;
    BP__PUN(&ua, &a);
    BP__PUN(&ub, &b);
    ua = (ua & m) | (ub & ~m);
    BP__PUN(&r, &ua);
    return r;
}

/* sigma(z) = 1 / (1 + e^-z), from e = e^-|z| <= 1: 1 / (1 + e), or e / (1 + e) for z < 0 */
BP__PRIVATE BP__INLINE float bp__sigm(float z) {
    uint32_t zi, ni;
    float nz, e, s;
    BP__PUN(&zi, &z);
    ni = zi | 0x80000000u;
    BP__PUN(&nz, &ni);                                /* -|z| */
    e = bp__expn(nz);
    s = 1.0f / (1.0f + e);
    return bp__pick(0u - (zi >> 31), e * s, s);
}

/* tanh x: |x| < 0.25 by its odd Taylor series to x^11 (the next term is below 1e-9 of it),
   else (1 - e) / (1 + e), e = e^-2|x|; within 3 ulps of tanh (test_seq checks it). */
BP__PRIVATE BP__INLINE float bp__tanh(float x) {
    uint32_t xi, ai;
    float a, a2, e, p, big, t;
    BP__PUN(&xi, &x);
    ai = xi & 0x7fffffffu;
    BP__PUN(&a, &ai);
    a2 = a * a;
    e = bp__expn(-2.0f * a);
    p = -1382.0f / 155925.0f;
    p = p * a2 + 62.0f / 2835.0f;
    p = p * a2 - 17.0f / 315.0f;
    p = p * a2 + 2.0f / 15.0f;
    p = p * a2 - 1.0f / 3.0f;
    p = p * (a * a2);
    p = p + a;
    big = (1.0f - e) / (1.0f + e);
    t = bp__pick(0u - ((ai - 0x3e800000u) >> 31), p, big);    /* |x| < 0.25: the series */
    BP__PUN(&ai, &t);
    ai |= xi & 0x80000000u;                                     /* tanh's sign is x's */
    BP__PUN(&t, &ai);
    return t;
}

/* One step of one row of a layer: the gates a (G floats: the input projection, then their
   values), q = W_hh h + b_hh, h the state before, hn the state after; e, c, cn as in the
   layout. Each gate's row is a pointer of its own, so the compiler knows they do not
   overlap (with offsets n apart from one pointer it did not vectorize). */
#define BP__R BP__RESTRICT
BP__PRIVATE BP__INLINE void bp__gru_row(size_t n, float *BP__R ar, float *BP__R az,
                                        float *BP__R an, const float *BP__R qr,
                                        const float *BP__R qz, const float *BP__R qn,
                                        const float *BP__R h, float *BP__R hn, float *BP__R e) {
    size_t j;
    BP__EACH(j, n, {
        const float r = bp__sigm(ar[j] + qr[j]);
        const float z = bp__sigm(az[j] + qz[j]);
        const float rq = r * qn[j];
        const float nn = bp__tanh(an[j] + rq);
        const float keep = z * h[j];
        ar[j] = r; az[j] = z; an[j] = nn;
        e[j] = qn[j];
        hn[j] = (1.0f - z) * nn + keep;           /* PyTorch's h' = (1 - z) n + z h */
    });
}
BP__PRIVATE BP__INLINE void bp__lstm_row(size_t n, float *BP__R ai, float *BP__R af,
                                         float *BP__R ag, float *BP__R ao, const float *BP__R qi,
                                         const float *BP__R qf, const float *BP__R qg,
                                         const float *BP__R qo, const float *BP__R c,
                                         float *BP__R cn, float *BP__R hn, float *BP__R e) {
    size_t j;
    BP__EACH(j, n, {
        const float i = bp__sigm(ai[j] + qi[j]);
        const float f = bp__sigm(af[j] + qf[j]);
        const float g = bp__tanh(ag[j] + qg[j]);
        const float o = bp__sigm(ao[j] + qo[j]);
        const float fc = f * c[j];
        const float cc = fc + i * g;
        const float tc = bp__tanh(cc);
        ai[j] = i; af[j] = f; ag[j] = g; ao[j] = o;
        cn[j] = cc;
        e[j] = tc;
        hn[j] = o * tc;
    });
}
BP__PRIVATE BP__INLINE void bp__seq_cell(bp_cell cell, int H, float *a, const float *q,
                                         const float *h, float *hn, float *e, const float *c,
                                         float *cn) {
    const size_t n = (size_t)H;
    size_t j;
    if (cell == BP_CELL_ELMAN) {
        float *BP__R ar = a, *BP__R hr = hn;
        const float *BP__R qr = q;
        BP__EACH(j, n, {
            const float v = bp__tanh(ar[j] + qr[j]);
            ar[j] = v;
            hr[j] = v;
        });
    } else if (cell == BP_CELL_GRU) {
        bp__gru_row(n, a, a + n, a + 2 * n, q, q + n, q + 2 * n, h, hn, e);
    } else {
        bp__lstm_row(n, a, a + n, a + 2 * n, a + 3 * n, q, q + n, q + 2 * n, q + 3 * n, c, cn,
                     hn, e);
    }
}

/* One step's gate deltas for a row of a layer (see bp__seq_cell): from dh = dLoss/dh' (and,
   LSTM, the carried dc, updated to dc of the step before), into g (the pre-activations' deltas,
   for W_ih) and gq (for W_hh: GRU's n gate differs), dir the part of dh of the step before
   that bypasses W_hh. */
BP__PRIVATE BP__INLINE void bp__gru_back(size_t n, const float *BP__R ar, const float *BP__R az,
                                         const float *BP__R an, const float *BP__R e,
                                         const float *BP__R h, const float *BP__R dh,
                                         float *BP__R gr, float *BP__R gz, float *BP__R gn,
                                         float *BP__R qr, float *BP__R qz, float *BP__R qn,
                                         float *BP__R dir) {
    size_t j;
    BP__EACH(j, n, {
        const float r = ar[j];
        const float z = az[j];
        const float nn = an[j];
        const float n2 = nn * nn;
        const float dz1 = dh[j] * (1.0f - z);
        const float dn = dz1 * (1.0f - n2);        /* d(W_in x + b_in + r q_n) */
        const float dq = dn * e[j];
        const float r1 = r * (1.0f - r);
        const float z1 = z * (1.0f - z);
        const float dhz = dh[j] * (h[j] - nn);
        const float g_r = dq * r1;                 /* r: dn q_n r (1 - r) */
        const float g_z = dhz * z1;                /* z: dh (h - n) z (1 - z) */
        gr[j] = g_r; qr[j] = g_r;
        gz[j] = g_z; qz[j] = g_z;
        gn[j] = dn;
        qn[j] = dn * r;                            /* d q_n */
        dir[j] = dh[j] * z;
    });
}
BP__PRIVATE BP__INLINE void bp__lstm_back(size_t n, const float *BP__R ai, const float *BP__R af,
                                          const float *BP__R ag, const float *BP__R ao,
                                          const float *BP__R e, const float *BP__R c,
                                          const float *BP__R dh, float *BP__R dc,
                                          float *BP__R gi, float *BP__R gf, float *BP__R gg,
                                          float *BP__R go, float *BP__R dir) {
    size_t j;
    BP__EACH(j, n, {
        const float i = ai[j];
        const float f = af[j];
        const float g = ag[j];
        const float o = ao[j];
        const float tc = e[j];
        const float t2 = tc * tc;
        const float dho = dh[j] * o;
        const float dcc = dc[j] + dho * (1.0f - t2);   /* dLoss/dc' */
        const float i1 = i * (1.0f - i);
        const float f1 = f * (1.0f - f);
        const float o1 = o * (1.0f - o);
        const float g2 = g * g;
        const float di = dcc * g;
        const float df = dcc * c[j];
        const float dg = dcc * i;
        const float dot = dh[j] * tc;
        gi[j] = di * i1;
        gf[j] = df * f1;
        gg[j] = dg * (1.0f - g2);
        go[j] = dot * o1;
        dc[j] = dcc * f;
        dir[j] = 0.0f;
    });
}
BP__PRIVATE BP__INLINE void bp__seq_cell_back(bp_cell cell, int H, const float *a, const float *e,
                                              const float *h, const float *c, const float *dh,
                                              float *dc, float *g, float *gq, float *dir) {
    const size_t n = (size_t)H;
    size_t j;
    if (cell == BP_CELL_ELMAN) {                 /* h' = tanh(u): du = dh (1 - h'^2) */
        const float *BP__R ar = a, *BP__R dr = dh;
        float *BP__R gr = g, *BP__R dd = dir;
        BP__EACH(j, n, {
            const float y2 = ar[j] * ar[j];
            gr[j] = dr[j] * (1.0f - y2);
            dd[j] = 0.0f;
        });
    } else if (cell == BP_CELL_GRU) {
        bp__gru_back(n, a, a + n, a + 2 * n, e, h, dh, g, g + n, g + 2 * n, gq, gq + n,
                     gq + 2 * n, dir);
    } else {
        bp__lstm_back(n, a, a + n, a + 2 * n, a + 3 * n, e, c, dh, dc, g, g + n, g + 2 * n,
                      g + 3 * n, dir);
    }
}
#undef BP__R

/* The forward pass over batch rows of data; train: EACH's head runs only the steps within
   the lengths (else every step). The head's input rows are o->hi (LAST: the last states).
   Returns the head's row count. */
BP__PRIVATE int bp__seq_fwd(bp_seq *q, const bp__seq_lay *o, const bp_seq_data *d, int first,
                            int B, int train) {
    const bp_seq_spec *s = &q->spec;
    const int T = d->steps, ng = bp__gates(s->cell), lstm = s->cell == BP_CELL_LSTM;
    const int I0 = s->n_inputs, Ht = s->hidden[s->n_rec - 1];
    const bp__kern *k = BP__KERN(q->level);
    float *w = q->work, *x = w + o->x, *hi = w + o->hi;
    const float *p = q->params, *in = x, *carry = d->carry;
    int t, b, l, R = 0, L = s->n_dense;
    const float *hin;
    /* the input, step-major; steps past a length are zeros, never read from data */
    for (t = 0; t < T; t++)
        for (b = 0; b < B; b++) {
            float *dst = x + ((size_t)t * (size_t)B + (size_t)b) * (size_t)I0;
            if (t < bp__seq_len(d, first, b))
                BP_MEMCPY(dst, d->x + ((size_t)bp__seq_at(d, first, b) * (size_t)T + (size_t)t)
                                      * (size_t)I0, (size_t)I0 * sizeof *dst);
            else BP_MEMSET(dst, 0, (size_t)I0 * sizeof *dst);
        }
    for (l = 0; l < s->n_rec; l++) {
        const int H = s->hidden[l], G = ng * H, ni = bp__seq_in(s, l);
        const float *Wih = p, *Whh = p + (size_t)G * (size_t)ni;
        const float *bih = Whh + (size_t)G * (size_t)H, *bhh = bih + G;
        float *S = w + o->s[l], *C = w + o->c[l], *A = w + o->a[l], *E = w + o->e[l];
        float *Q = w + o->q;
        const size_t bh = (size_t)B * (size_t)H;
        if (carry) {                                             /* the state to start from */
            for (b = 0; b < B; b++) {
                BP_MEMCPY(S + (size_t)b * (size_t)H, carry + (size_t)b * (size_t)H, (size_t)H * sizeof *S);
                if (lstm) BP_MEMCPY(C + (size_t)b * (size_t)H, carry + bh + (size_t)b * (size_t)H,
                                    (size_t)H * sizeof *C);
            }
            carry += lstm ? 2 * bh : bh;
        } else {
            BP_MEMSET(S, 0, bh * sizeof *S);
            if (lstm) BP_MEMSET(C, 0, bh * sizeof *C);
        }
        /* every step's input projection in one product */
        bp__seq_dense(q, o, Wih, bih, in, A, T * B, ni, G, BP_LINEAR, A);
        for (t = 0; t < T; t++) {
            const size_t r0 = (size_t)t * (size_t)B;
            bp__seq_dense(q, o, Whh, bhh, S + r0 * (size_t)H, Q, B, H, G, BP_LINEAR, Q);
            for (b = 0; b < B; b++) {
                const size_t r = r0 + (size_t)b;
                float *hn = S + (r + (size_t)B) * (size_t)H, *cn = C + (r + (size_t)B) * (size_t)H;
                if (t < bp__seq_len(d, first, b)) {
                    k->cell(s->cell, H, A + r * (size_t)G, Q + (size_t)b * (size_t)G, S + r * (size_t)H, hn,
                            E + r * (size_t)H, C + r * (size_t)H, cn);
                } else {                                 /* past its length: the state stays */
                    BP_MEMCPY(hn, S + r * (size_t)H, (size_t)H * sizeof *hn);
                    if (lstm) BP_MEMCPY(cn, C + r * (size_t)H, (size_t)H * sizeof *cn);
                }
            }
        }
        in = S + bh;
        p = bih + 2 * (size_t)G;
    }
    /* what the head reads */
    {
        const float *St = w + o->s[s->n_rec - 1];
        const size_t bh = (size_t)B * (size_t)Ht;
        int j;
        if (s->out == BP_SEQ_LAST) {
            hin = St + (size_t)T * bh;
            R = B;
        } else if (s->out == BP_SEQ_MEAN) {
            float *sum = w + o->sum, *cnt = w + o->cnt;
            for (b = 0; b < B; b++) {
                const int len = bp__seq_len(d, first, b);
                float *sb = sum + (size_t)b * (size_t)Ht;
                if (carry) {
                    BP_MEMCPY(sb, carry + (size_t)b * (size_t)Ht, (size_t)Ht * sizeof *sb);
                    cnt[b] = carry[bh + (size_t)b];
                } else {
                    BP_MEMSET(sb, 0, (size_t)Ht * sizeof *sb);
                    cnt[b] = 0.0f;
                }
                for (t = 0; t < len; t++) {
                    const float *h = St + ((size_t)(t + 1) * (size_t)B + (size_t)b) * (size_t)Ht;
                    for (j = 0; j < Ht; j++) sb[j] += h[j];
                }
                cnt[b] += (float)len;
                for (j = 0; j < Ht; j++) hi[(size_t)b * (size_t)Ht + (size_t)j] = sb[j] / cnt[b];
            }
            hin = hi;
            R = B;
        } else {                                     /* EACH: rows sample after sample */
            for (b = 0; b < B; b++) {
                const int len = train ? bp__seq_len(d, first, b) : T;
                for (t = 0; t < len; t++, R++)
                    BP_MEMCPY(hi + (size_t)R * (size_t)Ht, St + ((size_t)(t + 1) * (size_t)B + (size_t)b) * (size_t)Ht,
                              (size_t)Ht * sizeof *hi);
            }
            hin = hi;
        }
    }
    /* the head, by the GEMM at any row count (bp__seq_dense) */
    p = q->head.params;
    for (l = 0; l < L; l++) {
        const int ni = q->head.sizes[l], no = q->head.sizes[l + 1];
        float *a = bp__act_buf(&q->head, l + 1);
        float *z = l == L - 1 ? bp__z_buf(&q->head) : a;
        bp__seq_dense(q, o, p, p + (size_t)ni * (size_t)no, hin, z, R, ni, no, q->head.act[l], a);
        p += ((size_t)ni + 1) * (size_t)no;
        hin = a;
    }
    return R;
}

/* The state after the batch into carry (layout: bp_seq_carry_size). */
BP__PRIVATE void bp__seq_carry_out(const bp_seq *q, const bp__seq_lay *o, int T, int B,
                                   float *carry) {
    const bp_seq_spec *s = &q->spec;
    const int lstm = s->cell == BP_CELL_LSTM;
    int l;
    for (l = 0; l < s->n_rec; l++) {
        const size_t bh = (size_t)B * (size_t)s->hidden[l];
        BP_MEMCPY(carry, q->work + o->s[l] + (size_t)T * bh, bh * sizeof *carry);
        carry += bh;
        if (lstm) {
            BP_MEMCPY(carry, q->work + o->c[l] + (size_t)T * bh, bh * sizeof *carry);
            carry += bh;
        }
    }
    if (s->out == BP_SEQ_MEAN) {
        const size_t bh = (size_t)B * (size_t)s->hidden[s->n_rec - 1];
        BP_MEMCPY(carry, q->work + o->sum, bh * sizeof *carry);
        BP_MEMCPY(carry + bh, q->work + o->cnt, (size_t)B * sizeof *carry);
    }
}

BP__PRIVATE void bp__seq_lay_of(const bp_seq *q, bp__seq_lay *o) {
    bp__seq_layout(&q->spec, q->max_steps, q->max_batch, !q->grads, o);
}

BPDEF const float *bp_seq_forward(bp_seq *seq, const bp_seq_data *data, int first, int batch) {
    bp__seq_lay o;
    if (bp__seq_check_data(seq, data, first, batch, 0) != BP_OK) return NULL;
    bp__seq_lay_of(seq, &o);
    bp__seq_fwd(seq, &o, data, first, batch, 0);
    if (data->carry) bp__seq_carry_out(seq, &o, data->steps, batch, data->carry);
    return bp__act_buf(&seq->head, seq->head.n_layers);
}

BPDEF const float *bp_seq_step(bp_seq *seq, const float *x, float *carry, size_t carry_len,
                               int batch) {
    bp_seq_data d;
    if (!carry) return NULL;
    BP_MEMSET(&d, 0, sizeof d);
    d.x = x; d.n = batch; d.steps = 1; d.carry = carry; d.carry_len = carry_len;
    return bp_seq_forward(seq, &d, 0, batch);
}

/* The head's target rows (the rows bp__seq_fwd ran in training) into o->ht: gathered, or
   made from labels. BP_ERR_LABEL, BP_ERR_TARGET. */
BP__PRIVATE bp_status bp__seq_targets(bp_seq *q, const bp__seq_lay *o, const bp_seq_data *d,
                                      int first, int B, int R) {
    const int nout = q->head.sizes[q->head.n_layers], top = nout == 1 ? 2 : nout;
    const int each = q->spec.out == BP_SEQ_EACH;
    float *ht = q->work + o->ht;
    int b, t, r = 0;
    if (d->labels) BP_MEMSET(ht, 0, (size_t)R * (size_t)nout * sizeof *ht);
    for (b = 0; b < B; b++) {
        const int i = bp__seq_at(d, first, b), len = each ? bp__seq_len(d, first, b) : 1;
        for (t = 0; t < len; t++, r++) {
            const size_t at = each ? (size_t)i * (size_t)d->steps + (size_t)t : (size_t)i;
            if (d->labels) {
                const int c = d->labels[at];
                if (c < 0 || c >= top) return BP_ERR_LABEL;
                ht[(size_t)r * (size_t)nout + (nout == 1 ? 0 : (size_t)c)] = nout == 1 ? (float)c : 1.0f;
            } else {
                BP_MEMCPY(ht + (size_t)r * (size_t)nout, d->target + at * (size_t)nout,
                          (size_t)nout * sizeof *ht);
            }
        }
    }
    BP_ASSERT(r == R);
    return bp__targets_ok(&q->head, ht, R) ? BP_OK : BP_ERR_TARGET;
}

/* C(M x N) = A B by the GEMM, with strides (see bp__mm). */
BP__PRIVATE void bp__seq_mm(const bp_seq *q, const bp__seq_lay *o, int M, int N, int K,
                            const float *A, size_t rsa, size_t csa, const float *B, size_t rsb,
                            size_t csb, float *C, size_t ldc) {
    bp__mm g;
    bp__mm_init(&g, BP__KERN(q->level), q->work + o->pack, o->pack_n, 0);
    g.M = M; g.N = N; g.K = K; g.by_rows = 1;
    g.A = A; g.rsa = rsa; g.csa = csa;
    g.B = B; g.rsb = rsb; g.csb = csb;
    g.C = C; g.ldc = ldc;
    bp__gemm(&g);
}

/* Forward, then the gradient of the batch's mean loss into grads. BP_ERR_NONFINITE when an
   input, the loss or a gradient is not finite (grads then unusable; params untouched). */
BP__PRIVATE bp_status bp__seq_backprop(bp_seq *q, const bp__seq_lay *o, const bp_seq_data *d,
                                       int first, int B, float *loss) {
    const bp_seq_spec *s = &q->spec;
    const bp__kern *k = BP__KERN(q->level);
    const int T = d->steps, ng = bp__gates(s->cell), Ht = s->hidden[s->n_rec - 1];
    const size_t tb = (size_t)T * (size_t)B;
    float *w = q->work, *dh = w + o->dh, *hi = w + o->hi;
    bp_status st;
    size_t off;
    int R, l, t, b, j;
    R = bp__seq_fwd(q, o, d, first, B, 1);
    if ((st = bp__seq_targets(q, o, d, first, B, R)) != BP_OK) return st;
    if (k->maxabs(w + o->x, tb * (size_t)s->n_inputs) < 0.0f) return BP_ERR_NONFINITE;
    if (d->carry && k->maxabs(d->carry, bp_seq_carry_size(s, B)) < 0.0f) return BP_ERR_NONFINITE;
    /* the head: its gradient into grads, then dLoss/d(its input) = D_1 W_0 into hi */
    if ((st = bp__backprop(&q->head, s->out == BP_SEQ_LAST
                                     ? w + o->s[s->n_rec - 1] + tb * (size_t)Ht : hi,
                           w + o->ht, R, NULL, NULL, NULL, 0, loss)) != BP_OK) return st;
    bp__seq_mm(q, o, R, Ht, q->head.sizes[1], bp__delta_buf(&q->head, 1),
               (size_t)q->head.sizes[1], 1, q->head.params, (size_t)Ht, 1, hi, (size_t)Ht);
    /* into dLoss/dh of each step of the top layer */
    BP_MEMSET(dh, 0, tb * (size_t)Ht * sizeof *dh);
    if (s->out == BP_SEQ_LAST) {
        BP_MEMCPY(dh + (size_t)(T - 1) * (size_t)B * (size_t)Ht, hi, (size_t)B * (size_t)Ht * sizeof *dh);
    } else if (s->out == BP_SEQ_MEAN) {
        for (b = 0; b < B; b++) {
            const float c = w[o->cnt + (size_t)b];
            for (t = 0; t < bp__seq_len(d, first, b); t++)
                for (j = 0; j < Ht; j++)
                    dh[((size_t)t * (size_t)B + (size_t)b) * (size_t)Ht + (size_t)j] = hi[(size_t)b * (size_t)Ht + (size_t)j] / c;
        }
    } else {
        int r = 0;
        for (b = 0; b < B; b++)
            for (t = 0; t < bp__seq_len(d, first, b); t++, r++)
                BP_MEMCPY(dh + ((size_t)t * (size_t)B + (size_t)b) * (size_t)Ht, hi + (size_t)r * (size_t)Ht,
                          (size_t)Ht * sizeof *dh);
    }
    /* the recurrent layers, top down, each through its steps in reverse */
    off = bp__seq_rec_params(s);
    for (l = s->n_rec - 1; l >= 0; l--) {
        const int H = s->hidden[l], G = ng * H, ni = bp__seq_in(s, l);
        const float *S = w + o->s[l], *C = w + o->c[l], *A = w + o->a[l], *E = w + o->e[l];
        const float *in = l ? w + o->s[l - 1] + (size_t)B * (size_t)ni : w + o->x;
        float *DG = w + o->dg, *DQ = s->cell == BP_CELL_GRU ? w + o->dq : DG;
        float *dcar = w + o->dcar, *dcc = w + o->dcc, *dir = w + o->dir, *tmp = w + o->q;
        float *gW, *gb;
        off -= bp__seq_layer_params(s, l);
        gW = q->grads + off;
        BP_MEMSET(dcar, 0, (size_t)B * (size_t)H * sizeof *dcar);
        if (s->cell == BP_CELL_LSTM) BP_MEMSET(dcc, 0, (size_t)B * (size_t)H * sizeof *dcc);
        for (t = T - 1; t >= 0; t--) {
            for (b = 0; b < B; b++) {
                const size_t r = (size_t)t * (size_t)B + (size_t)b;
                float *dhr = dh + r * (size_t)H, *car = dcar + (size_t)b * (size_t)H;
                k->axpy(dhr, 1.0f, car, H);    /* from above and from t+1 (a = 1: exactly dhr + car) */
                if (t < bp__seq_len(d, first, b)) {
                    k->cell_back(s->cell, H, A + r * (size_t)G, E + r * (size_t)H, S + r * (size_t)H, C + r * (size_t)H,
                                 dhr, dcc + (size_t)b * (size_t)H, DG + r * (size_t)G, DQ + r * (size_t)G,
                                 dir + (size_t)b * (size_t)H);
                } else {                     /* a frozen step passes dh (and dc) through */
                    BP_MEMSET(DG + r * (size_t)G, 0, (size_t)G * sizeof *DG);
                    if (DQ != DG) BP_MEMSET(DQ + r * (size_t)G, 0, (size_t)G * sizeof *DQ);
                    BP_MEMCPY(dir + (size_t)b * (size_t)H, dhr, (size_t)H * sizeof *dir);
                }
            }
            if (t == 0) break;                           /* the window's start: cut there */
            /* dh of step t-1 = DQ_t W_hh + the direct part */
            bp__seq_mm(q, o, B, H, G, DQ + (size_t)t * (size_t)B * (size_t)G, (size_t)G, 1,
                       q->params + off + (size_t)G * (size_t)ni, (size_t)H, 1, tmp, (size_t)H);
            BP_MEMCPY(dcar, dir, (size_t)B * (size_t)H * sizeof *dcar);
            k->axpy(dcar, 1.0f, tmp, B * H);
        }
        /* dW_ih = DG^T x, dW_hh = DQ^T h_prev over all the window's rows; biases: sums */
        bp__seq_mm(q, o, G, ni, (int)tb, DG, 1, (size_t)G, in, (size_t)ni, 1, gW, (size_t)ni);
        bp__seq_mm(q, o, G, H, (int)tb, DQ, 1, (size_t)G, S, (size_t)H, 1,
                   gW + (size_t)G * (size_t)ni, (size_t)H);
        gb = gW + (size_t)G * (size_t)(ni + H);
        BP_MEMSET(gb, 0, 2 * (size_t)G * sizeof *gb);
        for (t = 0; t < (int)tb; t++) {      /* by the kernels' axpy (vectorized at -O2) */
            k->axpy(gb, 1.0f, DG + (size_t)t * (size_t)G, G);
            k->axpy(gb + G, 1.0f, DQ + (size_t)t * (size_t)G, G);
        }
        /* dLoss/dx of the layer below: DG W_ih */
        if (l > 0)
            bp__seq_mm(q, o, (int)tb, ni, G, DG, (size_t)G, 1, q->params + off, (size_t)ni, 1,
                       dh, (size_t)ni);
    }
    if (!bp__finite(*loss) || k->maxabs(q->grads, q->n_params) < 0.0f) return BP_ERR_NONFINITE;
    return BP_OK;
}

/* The stored gradient applied (bp__apply_grads for a sequence net). */
BP__PRIVATE bp_status bp__seq_apply(bp_seq *q, const bp_opt *opt, float *state) {
    const bp_seq_spec *s = &q->spec;
    bp__rule u;
    float gs;
    size_t off = 0;
    int l;
    bp_status st = bp__stored_step(BP__KERN(q->level), q->grads, q->n_params, opt, &state, &u,
                                   &gs);
    if (st != BP_OK) return st;
    for (l = 0; l < s->n_rec + s->n_dense; l++) {
        size_t nw, nb;
        float *W = q->params + off, *g = q->grads + off, *v = state ? state + off : NULL;
        if (l < s->n_rec) {
            const size_t G = (size_t)bp__gates(s->cell) * (size_t)s->hidden[l];
            nw = G * ((size_t)bp__seq_in(s, l) + (size_t)s->hidden[l]);
            nb = 2 * G;
        } else {
            const int h = l - s->n_rec;
            nb = (size_t)q->head.sizes[h + 1];
            nw = (size_t)q->head.sizes[h] * nb;
        }
        BP__RULE_K(&u)->step(W, v, gs, g, nw, &u, opt->weight_decay);
        BP__RULE_K(&u)->step(W + nw, v ? v + nw : NULL, gs, g + nw, nb, &u, 0.0f);
        off += nw + nb;
    }
    if (state) bp__rule_done(&u, state);
    return BP_OK;
}

BP__PRIVATE bp_status bp__seq_writable(const bp_seq *q) {
    if (!q || !q->params) return BP_ERR_NULL;
    return q->grads ? BP_OK : BP_ERR_READONLY;
}

BPDEF float bp_seq_backward(bp_seq *seq, const bp_seq_data *data, int first, int batch) {
    bp__seq_lay o;
    float loss = 0.0f;
    if (bp__seq_writable(seq) != BP_OK) return -1.0f;
    if (bp__seq_check_data(seq, data, first, batch, 1) != BP_OK) return -1.0f;
    bp__seq_lay_of(seq, &o);
    if (bp__seq_backprop(seq, &o, data, first, batch, &loss) != BP_OK) return bp__nan();
    if (data->carry) bp__seq_carry_out(seq, &o, data->steps, batch, data->carry);
    return loss;
}

BPDEF bp_status bp_seq_update(bp_seq *seq, const bp_opt *opt, float *state, size_t state_len) {
    bp_status s = bp__seq_writable(seq);
    if (s != BP_OK) return s;
    if ((s = bp__check_rule(opt, state, state_len, seq->n_params)) != BP_OK) return s;
    return bp__seq_apply(seq, opt, state);
}

BPDEF bp_status bp_seq_train_step(bp_seq *seq, const bp_opt *opt, float *state, size_t state_len,
                                  const bp_seq_data *data, int first, int batch, float *loss) {
    bp__seq_lay o;
    float l = 0.0f;
    bp_status s = bp__seq_writable(seq);
    if (s != BP_OK) return s;
    if ((s = bp__check_rule(opt, state, state_len, seq->n_params)) != BP_OK) return s;
    if ((s = bp__seq_check_data(seq, data, first, batch, 1)) != BP_OK) return s;
    bp__seq_lay_of(seq, &o);
    s = bp__seq_backprop(seq, &o, data, first, batch, &l);
    if (loss) *loss = l;
    if (s == BP_OK) s = bp__seq_apply(seq, opt, state);
    if (s == BP_OK && data->carry) bp__seq_carry_out(seq, &o, data->steps, batch, data->carry);
    return s;
}

BPDEF bp_status bp_seq_evaluate(bp_seq *seq, const bp_seq_data *data, float *mean_loss,
                                float *accuracy) {
    bp__seq_lay o;
    bp_seq_data d;
    const bp__kern *k;
    float sum = 0.0f;
    long rows = 0, right = 0;
    int first, nout;
    bp_status s;
    if (!data) return BP_ERR_NULL;
    if (data->carry) return BP_ERR_NULL;
    d = *data;
    d.order = NULL;
    if ((s = bp__seq_check_data(seq, &d, 0, 1, 1)) != BP_OK) return s;
    bp__seq_lay_of(seq, &o);
    k = BP__KERN(seq->level);
    nout = seq->head.sizes[seq->head.n_layers];
    for (first = 0; first < d.n; first += seq->max_batch) {
        const int B = d.n - first < seq->max_batch ? d.n - first : seq->max_batch;
        const float *y = bp__act_buf(&seq->head, seq->head.n_layers), *ht = seq->work + o.ht;
        int R;
        if ((s = bp__seq_check_data(seq, &d, first, B, 1)) != BP_OK) return s;
        R = bp__seq_fwd(seq, &o, &d, first, B, 1);
        if ((s = bp__seq_targets(seq, &o, &d, first, B, R)) != BP_OK) return s;
        if (k->maxabs(y, (size_t)R * (size_t)nout) < 0.0f) return BP_ERR_NONFINITE;
        sum += bp_loss_value(&seq->head, ht, R) * (float)R;
        right += bp__right(y, ht, R, nout);
        rows += R;
    }
    if (mean_loss) *mean_loss = sum / (float)rows;
    if (accuracy) *accuracy = (float)right / (float)rows;
    return BP_OK;
}

BPDEF bp_status bp_seq_gradcheck(bp_seq *seq, const bp_seq_data *data, int first, int batch,
                                 float step, float *max_err) {
    bp__seq_lay o;
    bp_seq_data d;
    float nmax = 0.0f, emax = 0.0f, loss;
    size_t i;
    int R;
    bp_status s = bp__seq_writable(seq);
    if (s != BP_OK) return s;
    if (!data || !max_err) return BP_ERR_NULL;
    if ((s = bp__seq_check_data(seq, data, first, batch, 1)) != BP_OK) return s;
    if (!(step >= 0.0f && bp__finite(step))) return BP_ERR_OPT;
    if (step == 0.0f) step = 1e-3f;
    bp__seq_lay_of(seq, &o);
    d = *data;                  /* the carry is read, never written */
    if ((s = bp__seq_backprop(seq, &o, &d, first, batch, &loss)) != BP_OK) return s;
    for (i = 0; i < seq->n_params; i++) {
        const float w = seq->params[i], h = step * (w < -1.0f ? -w : w > 1.0f ? w : 1.0f);
        float up, down, num, err;
        seq->params[i] = w + h;
        R = bp__seq_fwd(seq, &o, &d, first, batch, 1);
        up = bp_loss_value(&seq->head, seq->work + o.ht, R);
        seq->params[i] = w - h;
        R = bp__seq_fwd(seq, &o, &d, first, batch, 1);
        down = bp_loss_value(&seq->head, seq->work + o.ht, R);
        seq->params[i] = w;
        num = (up - down) / ((w + h) - (w - h));
        if (!bp__finite(num) || !bp__finite(seq->grads[i])) return BP_ERR_NONFINITE;
        err = num - seq->grads[i];
        if ((num < 0.0f ? -num : num) > nmax) nmax = num < 0.0f ? -num : num;
        if ((err < 0.0f ? -err : err) > emax) emax = err < 0.0f ? -err : err;
    }
    *max_err = emax / (nmax > 1e-6f ? nmax : 1e-6f);
    return BP_OK;
}

/* =============================================================================================
   PART 5. DEPLOYING: A READ-ONLY VIEW AND INT8 INFERENCE
   A trained net run from parameters it never writes (bp_init_forward: a model in flash), and
   the same net quantized to integers for cores without an FPU (bp_quantize, bp_qnet). Relies
   on Part 1 (a view is a bp_net without grads) and on Part 7's byte order for q's words. A net
   written as C source (bp_to_c, bp_qto_c) is in Part 7, beside the format: it writes the same
   model description through the same writer.
   The int8 arithmetic, as bp_qforward computes it and the reader checks it:
     Weights   int8, symmetric, one scale per output row: sw = max_i |W[o][i]| / 127,
               Wq = round(W / sw), in -127..127 (round: half away from zero, as roundf).
     Inputs of each layer l (the net's inputs for l = 0): int8, symmetric, one scale per layer
               s_l = (the largest |value| over the calibration samples) / 127, 1 if all are 0.
     A unit    acc = bq + sum_i Wq[o][i] aq[i] in int32, bq = round(b / zs), zs = sw s_l: the
               value of one step of acc (its pre-activation z = acc zs). bp_quantize keeps
               |bq| + 127^2 n_in within int32, and bp_qinit and the reader refuse what does not.
     Hidden ReLU and linear layers stay in integers: aq' = round(acc M) clamped to -127..127,
               M = zs / s_{l+1} = mult 2^-shift (mult < 2^31, 1 <= shift <= 62: a 64-bit
               product and a shift); ReLU gives 0 for acc <= 0.
     Hidden sigmoid, tanh and leaky ReLU layers end in float: aq' = round(f(acc zs) / s_{l+1}).
     The output layer ends in float: y = f(acc zs) (softmax over the row), so bp_qforward's
               outputs are floats; bp_qpredict takes the argmax of z under softmax (no expf).
     Storage   weights: int8, each layer's W[out][in] in turn (the float layout without the
               biases: bp_qweights_size bytes, a quarter of the floats'); q: int32, per unit of
               every layer in order 4 words {bq, mult, shift, zs as IEEE bits} (mult and shift
               0 on a layer that ends in float), then the n_layers scales s_0 .. s_{L-1} as
               IEEE bits: bp_qparams_size words. The same bits on every host.
   ============================================================================================= */

/* ---- a read-only view (bp_init_forward) ----------------------------------------------------- */

BPDEF size_t bp_forward_work_size(int n_layers, const int *sizes, int max_batch) {
    return max_batch > 1 && !BP__BATCHES ? 0 : bp__work_floats(n_layers, sizes, max_batch, 1);
}

/* The view keeps params in the bp_net's float *: nothing in the library writes through it
   (bp__writable refuses every call that would), so the const is kept in fact. */
BPDEF bp_status bp_init_forward(bp_net *net, int n_layers, const int *sizes, const bp_act *acts,
                                bp_loss loss, int max_batch, const float *params,
                                size_t params_len, float *work, size_t work_len) {
    float *p;
    BP_MEMCPY(&p, &params, sizeof p);          /* drops the const without a cast's warning */
    return bp__init(net, n_layers, sizes, acts, loss, max_batch, p, params_len, NULL, 0, work,
                    work_len);
}

/* ---- int8 inference --------------------------------------------------------------------- */

#define BP__QW 4                     /* words of q per unit: bias, multiplier, shift, scale */
#define BP__QMAX 127                 /* int8's symmetric range: -127 .. 127 */
#define BP__QPROD 16129              /* the largest |weight x activation|, 127 x 127 */

BP__PRIVATE size_t bp__units(int n_layers, const int *sizes) {   /* every layer's outputs */
    size_t n = 0;
    int l;
    for (l = 1; l <= n_layers; l++) n += (size_t)sizes[l];
    return n;
}

BPDEF size_t bp_qweights_size(int n_layers, const int *sizes) {
    const size_t np = bp_params_size(n_layers, sizes);
    return np ? np - bp__units(n_layers, sizes) : 0;
}

BPDEF size_t bp_qparams_size(int n_layers, const int *sizes) {   /* units <= params: fits */
    return bp_params_size(n_layers, sizes) ? BP__QW * bp__units(n_layers, sizes)
                                             + (size_t)n_layers : 0;
}

BPDEF size_t bp_qwork_size(int n_layers, const int *sizes) {
    size_t w = 0;
    int l;
    if (!bp_params_size(n_layers, sizes)) return 0;
    for (l = 0; l < n_layers; l++) if ((size_t)sizes[l] > w) w = (size_t)sizes[l];
    return 2 * w;
}

/* A layer that stays in integers: a hidden ReLU or linear one (see the part's opening). */
BP__PRIVATE int bp__q_integer(int n_layers, const bp_act *acts, int l) {
    return l < n_layers - 1 && (acts[l] == BP_RELU || acts[l] == BP_LINEAR);
}

BP__PRIVATE uint32_t bp__get32(const unsigned char *p);    /* (Part 7: little-endian bytes) */
BP__PRIVATE int32_t bp__i32_of(uint32_t u) {          /* two's complement, portably */
    return u <= 0x7fffffffu ? (int32_t)u : -(int32_t)~u - 1;
}

BP__PRIVATE float bp__f_of(int32_t v) {                    /* a float from its IEEE bits */
    const uint32_t u = (uint32_t)v;
    float f;
    BP_MEMCPY(&f, &u, sizeof f);
    return f;
}
BP__PRIVATE int32_t bp__bits_of(float f) {                 /* and back (f > 0 here: no sign) */
    uint32_t u;
    BP_MEMCPY(&u, &f, sizeof u);
    return (int32_t)(u & 0x7fffffffu);
}

/* round(v), half away from zero (C99's roundf), clamped to -lim .. lim (NaN gives lim).
   (float) rounds a difference to float where the compiler evaluates in double (s390x). */
BP__PRIVATE int32_t bp__qround(float v, int32_t lim) {
    const float a = v < 0.0f ? -v : v;
    int32_t r = lim;
    if (a < (float)lim) {                                      /* a < 2^31: it fits */
        r = (int32_t)a;                                        /* toward zero, then up from */
        if ((float)(a - (float)r) >= 0.5f) r++;                /* .5 (exact below 2^24) */
    }
    if (r > lim) r = lim;
    return v < 0.0f ? -r : r;
}

/* round(acc mult / 2^shift), half away from zero, clamped to -127 .. 127: the whole
   requantization in integers (|acc| mult < 2^62) */
BP__PRIVATE int32_t bp__requant(int32_t acc, int32_t mult, int32_t shift) {
    const uint64_t mag = acc < 0 ? (uint64_t)0 - (uint64_t)(int64_t)acc : (uint64_t)acc;
    const uint64_t r = (mag * (uint64_t)mult + ((uint64_t)1 << (shift - 1))) >> shift;
    const int32_t v = r > BP__QMAX ? BP__QMAX : (int32_t)r;
    return acc < 0 ? -v : v;
}

/* One element's activation in float (the layers that end in float; not softmax) */
BP__PRIVATE float bp__act1(bp_act act, float z) {
    float y = z;
    bp__activate(act, &y, &y, 1, 1);
    return y;
}

/* Whether weights and q hold what bp_quantize makes, so that no sum can overflow: weights in
   -127..127; per unit |bias| <= 2^31 - 1 - 127^2 n_in, a finite positive scale, and on a
   layer that stays in integers 0 <= multiplier, 1 <= shift <= 62 (else both 0); the layers'
   scales finite and positive. From arrays, or (qb not NULL) from a model's little-endian
   bytes: weights at wb, then the words at qb. */
BP__PRIVATE int bp__q_valid(int n_layers, const int *sizes, const bp_act *acts,
                            const int8_t *w, const int32_t *q, const unsigned char *wb,
                            const unsigned char *qb) {
    const size_t nw = bp_qweights_size(n_layers, sizes), nq = bp_qparams_size(n_layers, sizes);
    size_t k = 0, i;
    int l, o;
#define BP__QWORD(k) (qb ? bp__i32_of(bp__get32(qb + 4 * (k))) : q[k])
    for (i = 0; i < nw; i++) if ((wb ? wb[i] : (unsigned char)w[i]) == 0x80) return 0;
    for (l = 0; l < n_layers; l++) {
        int32_t room;
        if (sizes[l] > INT32_MAX / BP__QPROD - 1) return 0;    /* at most 133,143 inputs */
        room = INT32_MAX - BP__QPROD * sizes[l];
        for (o = 0; o < sizes[l + 1]; o++, k += BP__QW) {
            const int32_t b = BP__QWORD(k), m = BP__QWORD(k + 1), sh = BP__QWORD(k + 2);
            const float zs = bp__f_of(BP__QWORD(k + 3));
            if (b > room || b < -room || !(zs > 0.0f && bp__finite(zs))) return 0;
            if (bp__q_integer(n_layers, acts, l) ? m < 0 || sh < 1 || sh > 62 : m || sh) return 0;
        }
    }
    for (; k < nq; k++) {
        const float s = bp__f_of(BP__QWORD(k));
        if (!(s > 0.0f && bp__finite(s))) return 0;
    }
#undef BP__QWORD
    return 1;
}

/* bp_qinit; and bp_qload, whose integers the reader has checked already (checked) */
BP__PRIVATE bp_status bp__qinit(bp_qnet *qn, int n_layers, const int *sizes, const bp_act *acts,
                                bp_loss loss, const int8_t *weights, size_t weights_len,
                                const int32_t *q, size_t q_len, int8_t *work, size_t work_len,
                                int checked) {
    bp_status s;
    size_t nw, nq, nk;
    int l;
    if (!qn) return BP_ERR_NULL;
    BP_MEMSET(qn, 0, sizeof *qn);
    if (!sizes || !acts || !weights || !q || !work) return BP_ERR_NULL;
    if ((s = bp__check_topology(n_layers, sizes, acts, loss)) != BP_OK) return s;
    if (bp_params_size(n_layers, sizes) == 0) return BP_ERR_OVERFLOW;
    nw = bp_qweights_size(n_layers, sizes);
    nq = bp_qparams_size(n_layers, sizes);
    nk = bp_qwork_size(n_layers, sizes);
    if (weights_len < nw || q_len < nq) return BP_ERR_PARAMS_SHORT;
    if (work_len < nk) return BP_ERR_WORK_SHORT;
    if (!checked && !bp__q_valid(n_layers, sizes, acts, weights, q, NULL, NULL))
        return BP_ERR_QPARAMS;
    qn->n_layers = n_layers;
    for (l = 0; l <= n_layers; l++) qn->sizes[l] = sizes[l];
    for (l = 0; l < n_layers; l++) qn->act[l] = acts[l];
    qn->loss = loss;
    qn->weights = weights;
    qn->n_weights = nw;
    qn->q = q;
    qn->n_q = nq;
    qn->work = work;
    qn->n_work = nk;
    qn->level = bp__best_level();
    return BP_OK;
}

BPDEF bp_status bp_qinit(bp_qnet *qn, int n_layers, const int *sizes, const bp_act *acts,
                         bp_loss loss, const int8_t *weights, size_t weights_len,
                         const int32_t *q, size_t q_len, int8_t *work, size_t work_len) {
    return bp__qinit(qn, n_layers, sizes, acts, loss, weights, weights_len, q, q_len, work,
                     work_len, 0);
}

/* bp_quantize: the scales of the layers' inputs, s_l = max |A_l| / 127 over the samples
   (A_0 = x), each into q after the units; 1 where a layer is all zeros. */
BP__PRIVATE bp_status bp__q_scales(bp_net *net, const float *x, int n, float *amax) {
    const int L = net->n_layers;
    int done = 0, l;
    for (l = 0; l < L; l++) amax[l] = 0.0f;
    while (done < n) {
        const int chunk = n - done < net->max_batch ? n - done : net->max_batch;
        const float *xb = x + (size_t)done * (size_t)net->sizes[0];
        bp_forward(net, xb, chunk);
        for (l = 0; l < L; l++) {
            const float *a = l ? bp__act_buf(net, l) : xb;
            const float m = BP__KERN(net->level)->maxabs(a, (size_t)chunk * (size_t)net->sizes[l]);
            if (m < 0.0f) return BP_ERR_NONFINITE;
            if (m > amax[l]) amax[l] = m;
        }
        done += chunk;
    }
    for (l = 0; l < L; l++) amax[l] = amax[l] > 0.0f ? amax[l] / (float)BP__QMAX : 1.0f;
    return BP_OK;
}

BPDEF bp_status bp_quantize(bp_net *net, const float *x, int n, int8_t *weights,
                            size_t weights_len, int32_t *q, size_t q_len) {
    float s[BP_MAX_LAYERS + 1];
    const float *p;
    const bp__kern *k;
    int32_t *u;
    bp_status st;
    int l, o, i;
    if (!net || !x || !weights || !q || !net->params || !net->work) return BP_ERR_NULL;
    k = BP__KERN(net->level);
    if (n < 1) return BP_ERR_BATCH;
    if (weights_len < bp_qweights_size(net->n_layers, net->sizes)
        || q_len < bp_qparams_size(net->n_layers, net->sizes)) return BP_ERR_PARAMS_SHORT;
    for (l = 0; l < net->n_layers; l++)
        if (net->sizes[l] > INT32_MAX / BP__QPROD - 1) return BP_ERR_OVERFLOW;
    if (k->maxabs(net->params, net->n_params) < 0.0f) return BP_ERR_NONFINITE;
    if ((st = bp__q_scales(net, x, n, s)) != BP_OK) return st;
    s[net->n_layers] = 1.0f;                                 /* (the output stays in float) */
    p = net->params;
    u = q;
    for (l = 0; l < net->n_layers; l++) {
        const int ni = net->sizes[l], no = net->sizes[l + 1];
        const int32_t room = INT32_MAX - BP__QPROD * ni;
        const float *b = p + (size_t)ni * (size_t)no;
        for (o = 0; o < no; o++, u += BP__QW) {
            const float *w = p + (size_t)o * (size_t)ni;
            const float wmax = k->maxabs(w, (size_t)ni);     /* finite: checked above */
            float sw, zs, m;
            int e = 0;
            sw = wmax > 0.0f ? wmax / (float)BP__QMAX : 1.0f;
            for (i = 0; i < ni; i++) *weights++ = (int8_t)bp__qround(w[i] / sw, BP__QMAX);
            zs = sw * s[l];                      /* the value of one unit of the int32 sum */
            if (!(zs > 0.0f && bp__finite(zs))) zs = 1.0f;    /* (a scale underflowed) */
            u[0] = bp__qround(b[o] / zs, room);
            u[1] = u[2] = 0;
            u[3] = bp__bits_of(zs);
            if (!bp__q_integer(net->n_layers, net->act, l)) continue;
            /* M = zs / s_{l+1} = m 2^e, 0.5 <= m < 1: multiplier m 2^31, shift 31 - e */
            m = zs / s[l + 1];
            if (!(m > 0.0f && bp__finite(m))) { u[2] = 62; continue; }    /* all to 0 */
            while (m >= 1.0f) { m *= 0.5f; e++; }
            while (m < 0.5f) { m *= 2.0f; e--; }
            u[1] = (int32_t)(m * 2147483648.0f);               /* exact: m has 24 bits */
            u[2] = 31 - e;
            if (u[2] > 62) { u[1] = 0; u[2] = 62; }                /* below 2^-31: 0 */
            if (u[2] < 1) { u[1] = INT32_MAX; u[2] = 1; }          /* saturates anyway */
        }
        p += ((size_t)ni + 1) * (size_t)no;
    }
    for (l = 0; l < net->n_layers; l++) *u++ = bp__bits_of(s[l]);
    return BP_OK;
}

/* acc + sum w[i] a[i]. Integer sums are exact (bp__q_valid: no overflow), so the order is
   free: lanes, which compilers vectorize (Part 6 compiles this per instruction-set level),
   then the rest. A product fits 16 bits (|127 x 127| < 2^15): with AVX2 and AVX-512, 32 lanes
   of 16-bit products, twice as fast as 16 lanes of 32-bit ones, which are faster with SSE2
   (BENCHMARKS.md, "int8 inference"). -Os (a microcontroller) has the plain loop alone, in a
   function of its own, so that its few values stay in registers (on a Cortex-M0, 8
   instructions a term instead of 12). */
BP__PRIVATE BP__INLINE int32_t bp__qdot(const int8_t *BP__RESTRICT w,
                                        const int8_t *BP__RESTRICT a, int n, int32_t acc,
                                        bp_level lv) {
    int32_t s[32] = {0};
    int i = 0, j;
    if (!BP__SMALL && (int)lv >= 2)
        for (; i + 32 <= n; i += 32)
            for (j = 0; j < 32; j++) s[j] += (int16_t)((int16_t)w[i + j] * (int16_t)a[i + j]);
    for (; !BP__SMALL && i + 16 <= n; i += 16)
        for (j = 0; j < 16; j++) s[j] += (int32_t)w[i + j] * (int32_t)a[i + j];
    for (; i < n; i++) acc += (int32_t)w[i] * (int32_t)a[i];
    for (j = 0; !BP__SMALL && j < 32; j++) acc += s[j];
    return acc;
}

/* One sample through the integers (see the part's opening), from its quantized inputs xq. The
   output layer's pre-activations z go to y; or, y NULL (bp_qpredict), the class is found as
   they are made: the argmax of z under softmax, else of the activation's values (one output:
   whether it is >= 0.5). The layers' rows alternate between the two halves of work. */
BP__PRIVATE int bp__qrun(const bp_qnet *qn, const int8_t *xq, float *y) {
    const int L = qn->n_layers;
    const int8_t *W = qn->weights, *in = xq;
    const int32_t *u = qn->q, *scale = qn->q + (qn->n_q - (size_t)L);
    int8_t *out = qn->work;
    const bp__kern *k = BP__KERN(qn->level);
    float best = 0.0f;
    int l, o, cls = 0;
    for (l = 0; l < L; l++) {
        const int ni = qn->sizes[l], no = qn->sizes[l + 1];
        const int integer = bp__q_integer(L, qn->act, l), relu = qn->act[l] == BP_RELU;
        for (o = 0; o < no; o++, u += BP__QW, W += ni) {
            const int32_t acc = k->qdot(W, in, ni, u[0]);   /* bp__q_valid: no overflow */
            if (integer) {
                out[o] = (int8_t)(relu && acc <= 0 ? 0 : bp__requant(acc, u[1], u[2]));
            } else {
                const float z = (float)acc * bp__f_of(u[3]);
                if (l < L - 1) {
                    out[o] = (int8_t)bp__qround(bp__act1(qn->act[l], z)
                                                / bp__f_of(scale[l + 1]), BP__QMAX);
                } else if (y) {
                    y[o] = z;
                } else {
                    const float v = qn->act[l] == BP_SOFTMAX ? z : bp__act1(qn->act[l], z);
                    if (no == 1) cls = v >= 0.5f;
                    else if (o == 0 || v > best) { best = v; cls = o; }
                }
            }
        }
        in = out;
        out = out == qn->work ? qn->work + qn->n_work / 2 : qn->work;
    }
    return cls;
}

BPDEF bp_status bp_qquantize_input(const bp_qnet *qn, const float *x, int n, int8_t *xq) {
    float s0;
    int i;
    if (!qn || !x || !xq || !qn->q) return BP_ERR_NULL;
    if (n < 0) return BP_ERR_BATCH;
    s0 = bp__f_of(qn->q[qn->n_q - (size_t)qn->n_layers]);
    for (i = 0; i < n; i++) xq[i] = (int8_t)bp__qround(x[i] / s0, BP__QMAX);
    return BP_OK;
}

BPDEF bp_status bp_qforward_q(bp_qnet *qn, const int8_t *xq, float *y) {
    if (!qn || !xq || !y || !qn->weights || !qn->q || !qn->work) return BP_ERR_NULL;
    bp__qrun(qn, xq, y);
    bp__activate(qn->act[qn->n_layers - 1], y, y, 1, qn->sizes[qn->n_layers]);
    return BP_OK;
}

BPDEF int bp_qpredict_q(bp_qnet *qn, const int8_t *xq) {
    if (!qn || !xq || !qn->weights || !qn->q || !qn->work) return -1;
    return bp__qrun(qn, xq, NULL);
}

/* The float forms: x quantized into the second half of work, which the first layer reads
   before anything is written there */
BPDEF bp_status bp_qforward(bp_qnet *qn, const float *x, float *y) {
    if (!qn || !x || !y || !qn->weights || !qn->q || !qn->work) return BP_ERR_NULL;
    bp_qquantize_input(qn, x, qn->sizes[0], qn->work + qn->n_work / 2);
    return bp_qforward_q(qn, qn->work + qn->n_work / 2, y);
}

BPDEF int bp_qpredict(bp_qnet *qn, const float *x) {
    if (!qn || !x || !qn->weights || !qn->q || !qn->work) return -1;
    bp_qquantize_input(qn, x, qn->sizes[0], qn->work + qn->n_work / 2);
    return bp__qrun(qn, qn->work + qn->n_work / 2, NULL);
}

/* =============================================================================================
   PART 6. PERFORMANCE KERNELS (optional reading)
   The same arithmetic as the parts above ask for, arranged for the machine: the multiply-add
   rule, the one-sample products, the batched product (tile shape, packing of B, the
   micro-kernel, threads, BLAS; bp__gemm_ref is the plain triple loop the rest must equal),
   vector square roots, and the instruction-set levels: every kernel, and every inline body
   the parts above write (activations, update rules, int8 dots, sequence cells), compiled
   once per level into the table a net calls through (bp__kern, net->level). Every product
   sums k in order, so none of this changes a bit of the results.
   ============================================================================================= */

#ifdef BP_CBLAS
#include <cblas.h>
#endif
#ifdef _OPENMP
#include <omp.h>
#endif

/* ---- the multiply-add rule ----------------------------------------------------------------- */

/* a b + c: one fused multiply-add where the target has a fast one (C99's FP_FAST_FMAF, which
   clang's math.h does not define, so also the compilers' own __FMA__ and __ARM_FEATURE_FMA:
   then fmaf is an instruction, and vectorizes), else a multiply and an add. Compilers do not fuse
   on their own in ISO C mode, and every kernel here is multiply-adds.
   Results of a build with FMA and one without differ in the last bits, as with any BLAS. */
#if (defined(FP_FAST_FMAF) || defined(__FMA__) || defined(__ARM_FEATURE_FMA)) && !defined(BP_NO_FMA)
#if defined(__GNUC__) || defined(__clang__)
#define BP__FMAF __builtin_fmaf  /* the instruction even under -ffreestanding (-fno-builtin), where
                                    fmaf is a call: newlib's computes in soft double */
#else
#define BP__FMAF fmaf
#endif
#define BP__FMA(a, b, c) BP__FMAF(a, b, c)
#define BP__FUSED 1        /* (the tile's vector form under clang fuses a * b + c to match) */
#define BP__OWN_FUSED 1
#else
#define BP__FMA(a, b, c) ((a) * (b) + (c))
#define BP__OWN_FUSED 0
#endif

/* a b + c, fused where the constant `fused` says: the kernels are compiled once per
   instruction-set level (below), and those for AVX2 and AVX-512 fuse as a build for them
   does. Where the flags give no FMA, the fused form is a function compiled for FMA (never a
   call to libm's fmaf, which firmware built without libm lacks), and only those levels,
   which run where the CPU has FMA, take that branch. */
#if BP__OWN_FUSED
#define BP__FMA_AT(fused, a, b, c) ((fused) ? BP__FMAF(a, b, c) : (a) * (b) + (c))
#elif BP__DISPATCH
__attribute__((target("fma"))) static inline float bp__fma_hw(float a, float b, float c) {
    return __builtin_fmaf(a, b, c);
}
#define BP__FMA_AT(fused, a, b, c) ((fused) ? bp__fma_hw(a, b, c) : (a) * (b) + (c))
#else
#define BP__FMA_AT(fused, a, b, c) ((void)(fused), (a) * (b) + (c))
#endif

/* The kernels' compiler helpers (for speed alone: the same arithmetic without them) */
#if defined(__GNUC__) && !defined(__clang__)
#define BP__UNROLL _Pragma("GCC unroll 32")
#elif defined(__clang__)
#define BP__UNROLL _Pragma("clang loop unroll(full)")
#else
#define BP__UNROLL
#endif

/* The GEMM tile's accumulators (below): vectors of the vector extension GCC and clang share,
   or plain float arrays. Vectors under clang, which kept indexed float arrays in memory, and
   under GCC on x86 without a fast FMA, where GCC vectorized the arrays its own, slower way;
   arrays under GCC with a fast FMA, which in ISO C would not fuse the vector form (see
   bp__tile_r, and BENCHMARKS.md, "What changed since the first run"). */
#if defined(__clang__) || (defined(__GNUC__) && !defined(BP__FUSED) && defined(__SSE2__))
#define BP__TILE_VEC 1
#else
#define BP__TILE_VEC 0
#endif
/* The vector tile's a * b + c fused exactly where the flags' multiply-add fuses: under clang
   by this pragma (the implementation is compiled with contract(off), see its top). */
#if defined(__clang__) && defined(BP__FUSED)
#define BP__CONTRACT _Pragma("clang fp contract(fast)")
#else
#define BP__CONTRACT
#endif
/* The transposing pack's 8 x 8 register transposes (bp__transpose8, below) need the vector
   extension's __builtin_shufflevector: clang, and GCC from 12; AVX, or GCC splits the
   8-float vectors into scalar moves. */
#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 12)
#define BP__HAS_SHUFFLE 1
#else
#define BP__HAS_SHUFFLE 0
#endif
#if BP__HAS_SHUFFLE && defined(__AVX__)
#define BP__SHUFFLE 1
#else
#define BP__SHUFFLE 0
#endif

/* ---- one sample's products ---------------------------------------------------------------- */

/* Dot products of one sample. Sixteen independent partial sums (lane j takes elements j,
   j + 16, ...), added in a fixed tree, then the tail in order: the compiler can vectorize this
   without -ffast-math because the order of the additions is written out, not left to
   reassociation. bp__dot, bp__dot4 and bp__sgd_dot4 share exactly this arithmetic; a batch
   goes through the GEMM instead, which sums each product in order.
   These bodies, like the other parts' (update rules, cells), are inline: compiled once per
   instruction-set level into the kernels a net calls (net->level; bp__kern), with `fused`
   the level's multiply-add rule (see BP__FMA_AT) and lv the level. */

/* A macro, not a function: passing the partial sums by address would keep them in memory
   at -O2, where GCC does not always inline. */
#define BP__HSUM(s)                                                                             \
    (((((s)[0] + (s)[8]) + ((s)[4] + (s)[12])) + (((s)[2] + (s)[10]) + ((s)[6] + (s)[14])))      \
     + ((((s)[1] + (s)[9]) + ((s)[5] + (s)[13])) + (((s)[3] + (s)[11]) + ((s)[7] + (s)[15]))))

BP__PRIVATE BP__INLINE float bp__dot(const float *BP__RESTRICT a, const float *BP__RESTRICT b,
                                      int n, const int fused) {
    float s[BP__LANES] = {0}, r;
    int i = 0, j;
    for (; i + BP__LANES <= n; i += BP__LANES)
        for (j = 0; j < BP__LANES; j++) s[j] = BP__FMA_AT(fused, a[i + j], b[i + j], s[j]);
    r = BP__HSUM(s);
    for (; i < n; i++) r = BP__FMA_AT(fused, a[i], b[i], r);
    return r;
}

/* y += a * x */
BP__PRIVATE BP__INLINE void bp__axpy(float *BP__RESTRICT y, float a, const float *BP__RESTRICT x,
                                     int n, const int fused) {
    size_t i;
    BP__EACH(i, n, y[i] = BP__FMA_AT(fused, a, x[i], y[i]););
}

/* y = a * x */
BP__PRIVATE BP__INLINE void bp__scale(float *BP__RESTRICT y, float a,
                                      const float *BP__RESTRICT x, int n) {
    size_t i;
    BP__EACH(i, n, y[i] = a * x[i];);
}

/* Blocking of the batched products (see bp__gemm): B is packed in blocks of KC x NC. */
#define BP__KC 256
#define BP__NC 512         /* multiple of every NR */
#define BP__PAD_N 32       /* pack-area sizes round to this, so they do not depend on NR */

BP__PRIVATE size_t bp__round_up(size_t x, size_t to) { return (x + to - 1) / to * to; }

/* Floats of pack area a product of M x N x K needs (one block of B; M does not matter). */
BP__PRIVATE size_t bp__pack_floats(size_t N, size_t K) {
    size_t kc = K < BP__KC ? K : BP__KC, n = bp__round_up(N, BP__PAD_N);
    return (n < BP__NC ? n : BP__NC) * kc;
}

/* The largest pack area any of the batched products needs (bounded: blocks are small). */
BP__PRIVATE size_t bp__pack_size(int n_layers, const int *sizes, int max_batch) {
    size_t most = 0, f;
    int l;
    for (l = 0; l < n_layers; l++) {
        const size_t ni = (size_t)sizes[l], no = (size_t)sizes[l + 1], b = (size_t)max_batch;
        if ((f = bp__pack_floats(b < no ? b : no, ni)) > most) most = f;  /* forward */
        if ((f = bp__pack_floats(ni, b)) > most) most = f;                /* weight gradient */
        if (l > 0 && (f = bp__pack_floats(ni, no)) > most) most = f;      /* input gradient */
    }
    return most;
}

/* ---- batched products: a packed, register-blocked GEMM --------------------------------------
   C[m][n] = sum_k A(m, k) B(k, n), with A and B given by strides, so one routine serves the
   three products of a layer: the forward pass X W^T (or W X^T), the weight gradient D^T X,
   the input gradient D W. Each element of C is summed over k in order, k = 0, 1, ...,
   whatever the blocking, the tile shape or the thread: results do not depend on them. B, the
   wide operand of the micro-kernel, is copied ("packed") in blocks of KC x NC into panels of
   NR columns in the pack area of work, so it is read contiguously and from cache; A needs
   only MR values per k and is read where it lies. */

/* The tile: MR rows x NR columns of C kept in registers while k runs, chosen by the vector
   registers the instruction set has: NR is two vectors wide, and MR rows of them, plus the
   two of B and a broadcast, fit the register file. AVX-512 (32 registers of 16 floats):
   8 x 32, 16 accumulators (other shapes: BENCHMARKS.md, "What changed since the first run");
   AVX (16 of 8): 6 x 16, 12 accumulators; SSE or none (16 of 4): 4 x 8. GCC's float-array
   tile (see BP__TILE_VEC) spills at AVX's 6 x 16 and takes 4 x 16 there. */
#if defined(__AVX512F__)
#define BP__MR 8
#define BP__NR 32
#elif defined(__AVX__)
#define BP__MR (BP__TILE_VEC ? 6 : 4)
#define BP__NR 16
#else
#define BP__MR 4
#define BP__NR 8
#endif
/* the largest tile of every level compiled (see "instruction-set levels"): the flags' own,
   or AVX-512's 8 x 32 with dispatch (on a small core a tile's arrays are its stack frame) */
#if BP__DISPATCH
#define BP__MR_MAX 8
#define BP__NR_MAX 32
#else
#define BP__MR_MAX BP__MR
#define BP__NR_MAX BP__NR
#endif

/* An 8 x 8 block, 8 rows of src (stride ld) into 8 rows of dst (stride ldd), transposed in
   registers: unpack pairs of rows, then pairs of pairs, then halves (the vector extension's
   shuffles, GCC 12 and clang, with AVX: 24 shuffle instructions for 64 floats). The
   transposing pack ran at about one float a cycle without it: GCC assembled each stored
   vector from scalar loads. With SSE2 alone GCC splits these 8-float vectors into scalar
   moves, so there (and elsewhere) the plain loop stays. */
#if BP__HAS_SHUFFLE
typedef float bp__v8 __attribute__((vector_size(32)));
BP__PRIVATE BP__INLINE void bp__transpose8(const float *src, size_t ld, float *dst, size_t ldd) {
    bp__v8 r[8], t[8], u[8];
    int a;
    for (a = 0; a < 8; a++) BP_MEMCPY(&r[a], src + (size_t)a * ld, sizeof r[a]);
    for (a = 0; a < 8; a += 2) {        /* t[a] = r0[0] r1[0] r0[1] r1[1] | r0[4] r1[4] ... */
        t[a] = __builtin_shufflevector(r[a], r[a + 1], 0, 8, 1, 9, 4, 12, 5, 13);
        t[a + 1] = __builtin_shufflevector(r[a], r[a + 1], 2, 10, 3, 11, 6, 14, 7, 15);
    }
    for (a = 0; a < 8; a += 4) {        /* u[a] = r0[0] r1[0] r2[0] r3[0] | r0[4] ... r3[4] */
        u[a] = __builtin_shufflevector(t[a], t[a + 2], 0, 1, 8, 9, 4, 5, 12, 13);
        u[a + 1] = __builtin_shufflevector(t[a], t[a + 2], 2, 3, 10, 11, 6, 7, 14, 15);
        u[a + 2] = __builtin_shufflevector(t[a + 1], t[a + 3], 0, 1, 8, 9, 4, 5, 12, 13);
        u[a + 3] = __builtin_shufflevector(t[a + 1], t[a + 3], 2, 3, 10, 11, 6, 7, 14, 15);
    }
    for (a = 0; a < 4; a++) {           /* column a, then column a + 4, of all 8 rows */
        const bp__v8 lo = __builtin_shufflevector(u[a], u[a + 4], 0, 1, 2, 3, 8, 9, 10, 11);
        const bp__v8 hi = __builtin_shufflevector(u[a], u[a + 4], 4, 5, 6, 7, 12, 13, 14, 15);
        BP_MEMCPY(dst + (size_t)a * ldd, &lo, sizeof lo);
        BP_MEMCPY(dst + (size_t)(a + 4) * ldd, &hi, sizeof hi);
    }
}
#endif

/* A transposed panel reads NR rows at once, a new line of each every sixteenth k: too many
   streams for the hardware's prefetchers, and the loads waited on memory a few lines at a
   time. Asking for the line two ahead in every row (BP__AHEAD floats) keeps about 2 NR lines
   on their way (BENCHMARKS.md, v0.1.5's row). A pass reading the batch in order first did as
   well; a burst of prefetches for a whole block did nothing. */
#define BP__AHEAD 32   /* (its test stays at the two call sites: moved inside, W2 ran slower) */
BP__PRIVATE BP__INLINE void bp__prefetch_rows(const float *p, size_t cs, const int NR) {
    int j;
    for (j = 0; j < NR; j++) BP__PREFETCH(p + (size_t)j * cs);
}

/* B(k, n) = B[k rs + n cs], the kc x nc block, into panels of NR columns, panel q at
   pb + q ps (panels q0 .. q1-1 only, the first q0 + rot mod their count, then on in a circle;
   columns past nc are zeros). Every product's B has a unit stride: row-major B (cs = 1) is
   copied a row at a time; the transpose of a row-major array (rs = 1: the forward pass's X^T
   or W^T) is read along its rows, NR of them at once. Threads that each pack all of a block
   start at different panels (rot = the thread): each panel comes from memory once, to one of
   them, and to the other from its cache (W2's X^T: two threads 1.02x faster; both in step,
   both waited on memory). */
BP__PRIVATE BP__INLINE void bp__pack_b(const float *B, size_t rs, size_t cs, int kc, int nc,
                                       float *pb, size_t ps, int q0, int q1, int rot, const int NR,
                                       const int shuffle) {
    int i;
    (void)shuffle;
    BP_ASSERT(cs == 1 || rs == 1);
    for (i = 0; i < q1 - q0; i++) {
        const int q = q0 + (i + rot) % (q1 - q0), p = q * NR;
        float *out = pb + (size_t)q * ps;
        int k, j;
        if (cs == 1 && p + NR <= nc) {
            /* a whole panel: fixed-length copies, by memcpy (GCC's -O2 left the loop scalar:
               its cheap cost model does not check for overlap at run time) */
            for (k = 0; k < kc; k++)
                BP_MEMCPY(out + (size_t)k * (size_t)NR, B + (size_t)k * rs + (size_t)p,
                          (size_t)NR * sizeof *out);
        } else if (cs == 1) {
            for (k = 0; k < kc; k++) {
                const float *row = B + (size_t)k * rs + (size_t)p;
                for (j = 0; j < NR; j++)
                    out[(size_t)k * (size_t)NR + (size_t)j] = p + j < nc ? row[j] : 0.0f;
            }
        } else if (p + NR <= nc) {
            /* the transpose of a row-major array, a whole panel: for each k, one float from
               each of NR rows (each row's cache line serves sixteen k in a row), stored as one
               contiguous run */
            const float *col = B + (size_t)p * cs;
            k = 0;
#if BP__HAS_SHUFFLE
            for (; shuffle && k + 8 <= kc; k += 8) {
                if (k % 16 == 0 && k + BP__AHEAD < kc)
                    bp__prefetch_rows(col + k + BP__AHEAD, cs, NR);
                for (j = 0; j < NR; j += 8)
                    bp__transpose8(col + (size_t)j * cs + (size_t)k, cs,
                                   out + (size_t)k * (size_t)NR + (size_t)j, (size_t)NR);
            }
#endif
            for (; k < kc; k++) {
                if (k % 16 == 0 && k + BP__AHEAD < kc)
                    bp__prefetch_rows(col + k + BP__AHEAD, cs, NR);
                for (j = 0; j < NR; j++)
                    out[(size_t)k * (size_t)NR + (size_t)j] = col[(size_t)j * cs + (size_t)k];
            }
        } else {
            /* the last, partial panel of a transpose (a 10-class output layer's W^T): a row
               of the panel at a time, zeros past nc (column by column, every store went to
               another cache line) */
            const float *col = B + (size_t)p * cs;
            for (k = 0; k < kc; k++) {
                float *o = out + (size_t)k * (size_t)NR;
                for (j = 0; j < nc - p; j++) o[j] = col[(size_t)j * cs + (size_t)k];
                for (; j < NR; j++) o[j] = 0.0f;
            }
        }
    }
}

#if defined(__GNUC__) || defined(__clang__)
#define BP__NO_ATTR __attribute__(())   /* (an empty macro argument is not C++98) */
#else
#define BP__NO_ATTR
#endif

/* One R x NW tile of C at row i, column j (R: MR, or fewer for the last rows of a thread;
   NW: NR, or NR/2 for a last, narrow panel): acc = (k0 == 0 ? 0 : C) + the sum over kc values
   of k of A(r, k) b(k, c), b(k, c) = b[k ldb + c]. A is read in place: each k needs only R
   values of it (broadcast), while b, a panel of B (packed, or in place), is the wide operand.
   Rows past mr repeat the last valid row (read, never stored): nothing outside A is touched.
   The valid mr x nr corner goes to C, or, on the last k block of the fused step, is the
   gradient of the same corner of W (row stride ldc too), applied at once by bp__piece, as
   bp_update would apply it; or, with stored_piece, the stored rows are multiplied by f'(Y)
   (the input deltas) while still in cache. Every element is the same chain of multiply-adds
   (fused, or not, as the level's rule says) whatever R: which kernel computes a row does not
   change its bits. */
BP__PRIVATE BP__INLINE void bp__tile_out(const bp__mm *g, int i, int mr, int j, int nr, int k0,
                                         int kc, const float *out, size_t ldo) {
    float *BP__RESTRICT C = g->C + (size_t)i * g->ldc + (size_t)j;
    int r, c;
    if (g->piece && k0 + kc == g->K) {
        bp__piece(g, i, j, mr, nr, out, ldo);
        return;
    }
    for (r = 0; r < mr; r++)
        for (c = 0; c < nr; c++)
            C[(size_t)r * g->ldc + (size_t)c] = out[(size_t)r * ldo + (size_t)c];
    if (g->stored_piece && k0 + kc == g->K) bp__stored_piece(g, i, j, mr, nr);
}

/* The rows' pointers into A (rows past mr repeat the last). */
#define BP__TILE_ROWS(a, R)                                                                    \
    for (r = 0; r < (R); r++)                                                                  \
        a[r] = g->A + (size_t)(i + (r < mr ? r : mr - 1)) * g->rsa + (size_t)k0 * g->csa

/* The accumulators as float arrays, scalarized by the compiler (GCC with a fast FMA). acc
   starts from C only when it holds partial sums: C may be untouched memory (the fused step
   never stores it), and even a masked-off vector load from a page not yet mapped is slow. */
BP__PRIVATE BP__INLINE void bp__tile_r(const bp__mm *g, int i, int mr, int j, int k0, int kc,
                                       const float *BP__RESTRICT b, size_t ldb, const int R,
                                       const int NW, const int fused) {
    const int nr = g->N - j < NW ? g->N - j : NW;
    const float *C = g->C + (size_t)i * g->ldc + (size_t)j;
    float acc[BP__MR_MAX][BP__NR_MAX];
    const float *a[BP__MR_MAX];
    int k, r, c;
    BP__TILE_ROWS(a, R);
    for (r = 0; r < R; r++)
        for (c = 0; c < NW; c++) acc[r][c] = 0.0f;
    if (k0 > 0)
        for (r = 0; r < mr; r++)
            for (c = 0; c < nr; c++) acc[r][c] = C[(size_t)r * g->ldc + (size_t)c];
    for (k = 0; k < kc; k++, b += ldb) {
        BP__UNROLL
        for (r = 0; r < R; r++) {
            const float ar = a[r][(size_t)k * g->csa];
            BP__UNROLL
            for (c = 0; c < NW; c++) acc[r][c] = BP__FMA_AT(fused, ar, b[c], acc[r][c]);
        }
    }
    bp__tile_out(g, i, mr, j, nr, k0, kc, acc[0], BP__NR_MAX);
}

/* The accumulators as vectors of half a tile row, VT (H floats), of the vector extension GCC
   and clang share, the valid corner in and out through io: under clang always, and under GCC
   on x86 without a fast FMA. Written as float arrays, clang kept them in memory when indexed
   under loops to mr or nr, and else copied each one between registers every k, spilling where
   registers are few; GCC's -O3 vectorized the arrays' loops its own way without FMA
   (BENCHMARKS.md, "What changed since the first run", the clang and GCC rows). The vector
   a * b + c is fused exactly where the level fuses (by contract(fast) under clang where the
   instruction set has FMA; else neither is): the same bits. With a fast FMA, GCC makes the
   best of the plain arrays and keeps them: in ISO C it would not fuse the vector form.
   A macro, once for each vector width (C has no other way to make the type a parameter), FN
   its target attribute and MADD(a, b, c) its a b + c: the levels clang compiles beside the
   flags' fuse by intrinsics, since clang fuses by contract(fast) only when it optimizes
   (-O0 and the sanitizers' -O1 did not). */
#define BP__TILE_V(name, VT, H, FN, MADD)                                                      \
    FN BP__PRIVATE BP__INLINE void name(const bp__mm *g, int i, int mr, int j, int k0, int kc,    \
                                     const float *BP__RESTRICT b, size_t ldb, const int R,     \
                                     const int NW) {                                           \
        const int nr = g->N - j < NW ? g->N - j : NW;                                          \
        const float *C = g->C + (size_t)i * g->ldc + (size_t)j;                                \
        float io[BP__MR_MAX][2 * (H)];                                                         \
        VT v[BP__MR_MAX][2];                                                                   \
        const float *a[BP__MR_MAX];                                                            \
        int k, r, c;                                                                           \
        BP__TILE_ROWS(a, R);                                                                   \
        if (k0 > 0) {                                                                          \
            for (r = 0; r < R; r++)                                                            \
                for (c = 0; c < NW; c++) io[r][c] = 0.0f;                                      \
            for (r = 0; r < mr; r++)                                                           \
                for (c = 0; c < nr; c++) io[r][c] = C[(size_t)r * g->ldc + (size_t)c];         \
            for (r = 0; r < R; r++) {                                                          \
                BP_MEMCPY(&v[r][0], io[r], sizeof v[r][0]);                                    \
                if (NW == 2 * (H)) BP_MEMCPY(&v[r][1], io[r] + (H), sizeof v[r][1]);           \
            }                                                                                  \
        } else {                                                                               \
            const VT zero = {0.0f};                                                            \
            for (r = 0; r < R; r++) v[r][0] = v[r][1] = zero;                                  \
        }                                                                                      \
        for (k = 0; k < kc; k++, b += ldb) {                                                   \
            BP__CONTRACT                                                                       \
            VT b0, b1;                                                                         \
            BP_MEMCPY(&b0, b, sizeof b0);                                                      \
            if (NW == 2 * (H)) BP_MEMCPY(&b1, b + (H), sizeof b1);                             \
            BP__UNROLL                                                                         \
            for (r = 0; r < R; r++) {                                                          \
                const float ar = a[r][(size_t)k * g->csa];                                     \
                v[r][0] = MADD(ar, b0, v[r][0]);                                               \
                if (NW == 2 * (H)) v[r][1] = MADD(ar, b1, v[r][1]);                            \
            }                                                                                  \
        }                                                                                      \
        for (r = 0; r < R; r++) {                                                              \
            BP_MEMCPY(io[r], &v[r][0], sizeof v[r][0]);                                        \
            if (NW == 2 * (H)) BP_MEMCPY(io[r] + (H), &v[r][1], sizeof v[r][1]);               \
        }                                                                                      \
        bp__tile_out(g, i, mr, j, nr, k0, kc, io[0], 2 * (H));                                 \
    }
#if (defined(__GNUC__) || defined(__clang__)) && (BP__TILE_VEC || BP__DISPATCH)
typedef float bp__v4 __attribute__((vector_size(16)));
typedef float bp__v8h __attribute__((vector_size(32)));
typedef float bp__v16 __attribute__((vector_size(64)));
#define BP__MADD_V(a, b, c) ((a) * (b) + (c))
BP__TILE_V(bp__tile_v4, bp__v4, 4, BP__NO_ATTR, BP__MADD_V)
BP__TILE_V(bp__tile_v8, bp__v8h, 8, BP__NO_ATTR, BP__MADD_V)
BP__TILE_V(bp__tile_v16, bp__v16, 16, BP__NO_ATTR, BP__MADD_V)
#define BP__TILE_AT(g, i, mr, j, k0, kc, b, ldb, R, NW, NR, fused, vec)                         \
    ((vec) && (NR) == 8    ? bp__tile_v4(g, i, mr, j, k0, kc, b, ldb, R, NW)                    \
     : (vec) && (NR) == 16 ? bp__tile_v8(g, i, mr, j, k0, kc, b, ldb, R, NW)                    \
     : (vec)               ? bp__tile_v16(g, i, mr, j, k0, kc, b, ldb, R, NW)                   \
                           : bp__tile_r(g, i, mr, j, k0, kc, b, ldb, R, NW, fused))
#else
#define BP__TILE_AT(g, i, mr, j, k0, kc, b, ldb, R, NW, NR, fused, vec)                         \
    bp__tile_r(g, i, mr, j, k0, kc, b, ldb, R, NW, fused)
#endif

/* The row tiles of rows i0 .. i1-1 against one panel: MR rows at a time, the last few by a
   shorter kernel; a last panel of at most NR/2 columns (N = 784 ends on 16, a 10-class output
   is 10) by kernels half as wide. ks: the level's kernels (see BP__LEVEL), each a function of
   its own: inlined into the GEMM's loops, GCC 12 at -O2 stopped vectorizing them
   (BENCHMARKS.md). Threads split rows evenly, not by tiles (256 rows in tiles of 6 are 43
   tiles, 22 for one of two threads), so each may end on a short tile, which a 2- or 4-row
   kernel computes in a fraction of a full one's time. */
typedef void (*bp__kernel)(const bp__mm *g, int i, int mr, int j, int k0, int kc,
                           const float *BP__RESTRICT b, size_t ldb);
enum { BP__K_TILE, BP__K_TILE4, BP__K_TILE2, BP__K_HALF, BP__K_HALF4, BP__K_HALF2 };
BP__PRIVATE BP__INLINE void bp__tiles(const bp__mm *g, int i0, int i1, int j, int k0, int kc,
                                      const float *b, size_t ldb, const bp__kernel *ks,
                                      const int MR, const int NR) {
    const int half = g->N - j <= NR / 2;       /* half the work (and registers) for half a panel */
    const bp__kernel k6 = ks[half ? BP__K_HALF : BP__K_TILE];
    const bp__kernel k4 = ks[half ? BP__K_HALF4 : BP__K_TILE4];
    const bp__kernel k2 = ks[half ? BP__K_HALF2 : BP__K_TILE2];
    int i;
    for (i = i0; i + MR <= i1; i += MR) k6(g, i, MR, j, k0, kc, b, ldb);
    if (i1 - i > 4)      k6(g, i, i1 - i, j, k0, kc, b, ldb);
    else if (i1 - i > 2) k4(g, i, i1 - i, j, k0, kc, b, ldb);
    else if (i1 > i)     k2(g, i, i1 - i, j, k0, kc, b, ldb);
}

/* The share of thread t of nt in n items: [n t / nt, n (t+1) / nt), contiguous, sizes
   differing by at most one. */
#define BP__SHARE(n, t, nt) (int)((long)(n) * (t) / (nt))

/* Whether B's panels are read where they lie (see bp__gemm_part): rows contiguous, a panel
   row at least a cache line, and a row stride that is not a multiple of 64 floats. */
#define BP__IN_PLACE(g, NR) ((g)->csb == 1 && (NR) >= 16 && (g)->rsb % 64 != 0)

/* The GEMM's loops, run by thread t of a team of nt (t = 0, nt = 1 without OpenMP), with a
   level's tiles ks, of MR x NR, and its transposes (shuffle: see bp__transpose8). C's
   columns are cut into panels of NR, split between the threads by columns (each a contiguous
   run of panels) or by rows (each an even share of the rows against all panels; asked for,
   or when there are fewer panels than threads). K is cut into blocks of KC.
   When B's rows are contiguous (cs = 1), its panels are read where they lie, with B's row
   stride (unless a panel row is less than a cache line, NR < 16, or the stride is a multiple
   of 64 floats: rows 256 bytes apart share a few cache sets and evict each other; packing
   was faster in both cases): nothing is copied, and no thread waits for another or reads
   another's copy; only a last, partial panel is packed (zero-padded), by each thread that
   needs it, in its own slot.
   Else (B is a transpose) B is packed in blocks of at most NC columns, equal in panels: split
   by columns, each thread packs its own panels, with a barrier between column blocks (which
   reuse the pack area); split by rows, if the pack area holds a copy of a block for every
   thread (with blocks made narrower, up to 4x as many), each packs its own, else they pack
   it together, between two barriers. Every element of C stays with one thread and its order
   of additions: any thread count gives the same bits. */
BP__PRIVATE BP__INLINE void bp__gemm_part(const bp__mm *g, int t, int nt, const bp__kernel *ks,
                                          const int MR, const int NR, const int shuffle) {
    const int np = (g->N + NR - 1) / NR;
    const int rows = g->by_rows || np < nt, full = g->N / NR;
    const size_t ps = (size_t)(g->K < BP__KC ? g->K : BP__KC) * (size_t)NR;   /* floats a panel */
    const int i0 = rows ? BP__SHARE(g->M, t, nt) : 0, i1 = rows ? BP__SHARE(g->M, t + 1, nt) : g->M;
    const int inplace = BP__IN_PLACE(g, NR)
                        && (full == np || !rows || nt == 1 || (size_t)nt * ps <= g->pack_n);
    const int room = (int)(g->pack_n / ps / (size_t)nt);       /* panels a private copy holds */
    int nj = inplace ? 1 : (np + BP__NC / NR - 1) / (BP__NC / NR);
    int alone = inplace || !rows || nt == 1;
    int j, pc, jr, sync = 0;
    float *pack = g->pack + (inplace && rows ? (size_t)t * ps : 0);
    if (!alone && room > 0 && (np + room - 1) / room <= 4 * nj) {
        if ((np + room - 1) / room > nj) nj = (np + room - 1) / room;
        pack += (size_t)t * (size_t)room * ps;
        alone = 1;
    }
    for (j = 0; j < nj; j++) {
        const int b0 = BP__SHARE(np, j, nj), b1 = BP__SHARE(np, j + 1, nj);   /* the block */
        /* the panels this thread packs, and those it computes */
        const int mine0 = rows && alone ? 0 : BP__SHARE(b1 - b0, t, nt);
        const int mine1 = rows && alone ? b1 - b0 : BP__SHARE(b1 - b0, t + 1, nt);
        const int q0 = rows ? 0 : mine0, q1 = rows ? b1 - b0 : mine1;
        const int jc = b0 * NR, nc = (b1 * NR < g->N ? b1 * NR : g->N) - jc;
        for (pc = 0; pc < g->K; pc += BP__KC) {
            const int kc = g->K - pc < BP__KC ? g->K - pc : BP__KC;
            const float *Bk = g->B + (size_t)pc * g->rsb + (size_t)jc * g->csb;
            if (inplace) {
                if (full < q1)          /* the partial panel, zero-padded, into this slot */
                    bp__pack_b(Bk + (size_t)full * (size_t)NR, g->rsb, 1, kc, nc - full * NR,
                               pack, ps, 0, 1, 0, NR, shuffle);
            } else {
#ifdef _OPENMP
                /* a shared block: everyone is done with the last one; split by columns, only
                   a new column block reuses another thread's panels */
                if (nt > 1 && ((rows && !alone) || (!rows && pc == 0))
                    && sync++) { BP__PRAGMA(omp barrier) }
#endif
                bp__pack_b(Bk, g->rsb, g->csb, kc, nc, pack, ps, mine0, mine1, t, NR, shuffle);
#ifdef _OPENMP
                if (!alone) { BP__PRAGMA(omp barrier) }                    /* all packed */
                /* (alone whenever nt == 1: one thread of a team, working for all, meets none) */
#endif
            }
            for (jr = q0 * NR; jr < q1 * NR && jr < nc; jr += NR) {
                const int q = jr / NR;
                const float *b = !inplace ? pack + (size_t)q * ps : q < full ? Bk + jr : pack;
                const size_t ldb = inplace && q < full ? g->rsb : (size_t)NR;
                bp__tiles(g, i0, i1, jc + jr, pc, kc, b, ldb, ks, MR, NR);
            }
        }
    }
    /* split by rows, the thread's own rows; by columns, the same share of rows (the hook is
       C-free then) */
    if (g->rows_done && BP__SHARE(g->M, t, nt) < BP__SHARE(g->M, t + 1, nt))
        g->rows_done(g, BP__SHARE(g->M, t, nt), BP__SHARE(g->M, t + 1, nt));
    (void)sync;
}

/* The reference product, which BP_NO_SIMD builds instead of the kernels: C = A B by the
   textbook triple loop, each element summed over k in order by BP__FMA, the same chain every
   tile computes (so the same bits); then what the product is for, row by row: the fused step
   from the row (bp_update's arithmetic), or C *= f'(Y); then the rows_done hook. This is the
   place a port to a new compiler or instruction set starts from. */
BP__PRIVATE void bp__gemm_ref(const bp__mm *g) {
    int i, j, k;
    for (i = 0; i < g->M; i++) {
        const size_t row = (size_t)i * g->ldc;
        float *c = g->C + row;
        for (j = 0; j < g->N; j++) {
            float acc = 0.0f;
            for (k = 0; k < g->K; k++) {
                const float a = g->A[(size_t)i * g->rsa + (size_t)k * g->csa];
                acc = BP__FMA(a, g->B[(size_t)k * g->rsb + (size_t)j * g->csb], acc);
            }
            c[j] = acc;
        }
        if (g->piece) bp__piece(g, i, 0, 1, g->N, c, g->ldc);
        if (g->stored_piece) bp__stored_piece(g, i, 0, 1, g->N);
    }
    if (g->rows_done) g->rows_done(g, 0, g->M);
}

/* C = A B, or the fused step with it (see bp__mm). */
BP__PRIVATE void bp__gemm(const bp__mm *g) {
#if BP__REF_GEMM
    bp__gemm_ref(g);                        /* (never reached under BP_NO_BATCH) */
#else
#ifdef BP_CBLAS
    {
        /* every stride pattern here has a unit stride: row-major as is (NoTrans), or the
           transpose of a row-major array (Trans). A single row or column may have any
           leading dimension, but BLAS insists on one at least as long as the row. The piece
           hook then gets the stored rows, one at a time. */
        const int ta = g->csa != 1, tb = g->csb != 1;
        int lda = (int)(ta ? g->csa : g->rsa), ldb = (int)(tb ? g->csb : g->rsb), r;
        if (lda < (ta ? g->M : g->K)) lda = ta ? g->M : g->K;
        if (ldb < (tb ? g->K : g->N)) ldb = tb ? g->K : g->N;
        cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                    g->M, g->N, g->K, 1.0f, g->A, lda, g->B, ldb, 0.0f, g->C, (int)g->ldc);
        for (r = 0; r < g->M; r++) {
            float *c = g->C + (size_t)r * g->ldc;
            if (g->piece) bp__piece(g, r, 0, 1, g->N, c, g->ldc);
            if (g->stored_piece) bp__stored_piece(g, r, 0, 1, g->N);
        }
        if (g->rows_done) g->rows_done(g, 0, g->M);
        return;
    }
#endif
#ifdef _OPENMP
    {
        /* worth threads: enough work, and (split by rows) two row tiles a thread; too few
           rows, and the columns may be split instead (cols_ok), a panel a thread at least */
        const int nt = g->team ? omp_get_num_threads() : omp_get_max_threads();
        const int MR = g->k->mr, NR = g->k->nr, np = (g->N + NR - 1) / NR;
        bp__mm h;
        int split;
        /* rows_done free of C: the columns are split instead of the rows when there are too
           few rows, or when B is packed and its panels go evenly to the threads (each then
           packs only its own panels; split by rows, each packs all of B) */
        if (g->by_rows && g->cols_ok && ((g->M < 2 * MR * nt && g->N >= nt * NR)
                                         || (!BP__IN_PLACE(g, NR) && np >= nt && np % nt == 0))) {
            h = *g;
            h.by_rows = 0;
            g = &h;
        }
        split = (long)g->M * g->N * g->K >= 4L * BP_OMP_MIN && (!g->by_rows || g->M >= 2 * MR
                                                                * nt);
        BP_ASSERT(!g->rows_done || g->by_rows || g->cols_ok);
        if (g->team) {       /* the team is there already: split, or leave it to one thread */
            if (split) g->k->gemm_part(g, omp_get_thread_num(), omp_get_num_threads());
            else if (omp_get_thread_num() == 0) g->k->gemm_part(g, 0, 1);
            if (!g->last) { BP__PRAGMA(omp barrier) }
            return;
        }
        BP__PRAGMA(omp parallel if (split))
        g->k->gemm_part(g, omp_get_thread_num(), omp_get_num_threads());
    }
#else
    g->k->gemm_part(g, 0, 1);
#endif
#endif /* BP_NO_SIMD */
}

/* Four rows of W against one x, each with bp__dot's arithmetic; x is loaded once for all four. */
BP__PRIVATE BP__INLINE void bp__dot4(const float *BP__RESTRICT w, size_t stride,
                                     const float *BP__RESTRICT x, int n, float *out,
                                     const int fused) {
    const float *w0 = w, *w1 = w + stride, *w2 = w + 2 * stride, *w3 = w + 3 * stride;
    float s0[BP__LANES] = {0}, s1[BP__LANES] = {0}, s2[BP__LANES] = {0}, s3[BP__LANES] = {0};
    float r0, r1, r2, r3;
    int i = 0, j;
    for (; i + BP__LANES <= n; i += BP__LANES)
        for (j = 0; j < BP__LANES; j++) {
            const float xv = x[i + j];
            s0[j] = BP__FMA_AT(fused, w0[i + j], xv, s0[j]);
            s1[j] = BP__FMA_AT(fused, w1[i + j], xv, s1[j]);
            s2[j] = BP__FMA_AT(fused, w2[i + j], xv, s2[j]);
            s3[j] = BP__FMA_AT(fused, w3[i + j], xv, s3[j]);
        }
    r0 = BP__HSUM(s0); r1 = BP__HSUM(s1); r2 = BP__HSUM(s2); r3 = BP__HSUM(s3);
    for (; i < n; i++) {
        r0 = BP__FMA_AT(fused, w0[i], x[i], r0); r1 = BP__FMA_AT(fused, w1[i], x[i], r1);
        r2 = BP__FMA_AT(fused, w2[i], x[i], r2); r3 = BP__FMA_AT(fused, w3[i], x[i], r3);
    }
    out[0] = r0; out[1] = r1; out[2] = r2; out[3] = r3;
}

/* Four weight rows: first the pending one-sample SGD step w -= lr (gs[r] ga), then the dot
   product of the updated row with x, in one pass. The same arithmetic as bp__step (plain SGD)
   on each row followed by bp__dot4, element for element. */
BP__PRIVATE BP__INLINE void bp__sgd_dot4(float *BP__RESTRICT w0, float *BP__RESTRICT w1,
                                         float *BP__RESTRICT w2, float *BP__RESTRICT w3,
                                         const float *gs, const float *BP__RESTRICT ga, float lr,
                                         const float *BP__RESTRICT x, int n, float *out,
                                         const int fused) {
    /* four restrict row pointers: the rows are distinct, and saying so spares the compiler
       the run-time overlap checks it would otherwise put around the loop */
    const float g0 = gs[0], g1 = gs[1], g2 = gs[2], g3 = gs[3];
    float s0[BP__LANES] = {0}, s1[BP__LANES] = {0}, s2[BP__LANES] = {0}, s3[BP__LANES] = {0};
    float r0, r1, r2, r3, g;
    int i = 0, j;
    for (; i + BP__LANES <= n; i += BP__LANES)
        for (j = 0; j < BP__LANES; j++) {
            const float xv = x[i + j], av = ga[i + j];
            g = g0 * av; w0[i + j] -= lr * g; s0[j] = BP__FMA_AT(fused, w0[i + j], xv, s0[j]);
            g = g1 * av; w1[i + j] -= lr * g; s1[j] = BP__FMA_AT(fused, w1[i + j], xv, s1[j]);
            g = g2 * av; w2[i + j] -= lr * g; s2[j] = BP__FMA_AT(fused, w2[i + j], xv, s2[j]);
            g = g3 * av; w3[i + j] -= lr * g; s3[j] = BP__FMA_AT(fused, w3[i + j], xv, s3[j]);
        }
    r0 = BP__HSUM(s0); r1 = BP__HSUM(s1); r2 = BP__HSUM(s2); r3 = BP__HSUM(s3);
    for (; i < n; i++) {
        g = g0 * ga[i]; w0[i] -= lr * g; r0 = BP__FMA_AT(fused, w0[i], x[i], r0);
        g = g1 * ga[i]; w1[i] -= lr * g; r1 = BP__FMA_AT(fused, w1[i], x[i], r1);
        g = g2 * ga[i]; w2[i] -= lr * g; r2 = BP__FMA_AT(fused, w2[i], x[i], r2);
        g = g3 * ga[i]; w3[i] -= lr * g; r3 = BP__FMA_AT(fused, w3[i], x[i], r3);
    }
    out[0] = r0; out[1] = r1; out[2] = r2; out[3] = r3;
}

/* Square roots of 16 floats in place, by vector instructions where the level has them:
   compilers do not vectorize sqrtf without -fno-math-errno, and Adam takes one per weight.
   IEEE square roots are correctly rounded, so these are the same bits as sqrtf (BP_NO_SIMD's
   plain loop). bp__sqrt16_own: what the build's flags give. */
#if defined(__AVX512F__) && !defined(BP_NO_SIMD)
#include <immintrin.h>
BP__PRIVATE void bp__sqrt16_own(float *r) {
    _mm512_storeu_ps(r, _mm512_sqrt_ps(_mm512_loadu_ps(r)));
}
#elif defined(__AVX__) && !defined(BP_NO_SIMD)
#include <immintrin.h>
BP__PRIVATE void bp__sqrt16_own(float *r) {
    _mm256_storeu_ps(r, _mm256_sqrt_ps(_mm256_loadu_ps(r)));
    _mm256_storeu_ps(r + 8, _mm256_sqrt_ps(_mm256_loadu_ps(r + 8)));
}
#elif (defined(__SSE__) || defined(_M_X64)) && !defined(BP_NO_SIMD)
#include <xmmintrin.h>
BP__PRIVATE void bp__sqrt16_own(float *r) {
    int j;
    for (j = 0; j < 16; j += 4) _mm_storeu_ps(r + j, _mm_sqrt_ps(_mm_loadu_ps(r + j)));
}
#elif defined(__aarch64__) && defined(__ARM_NEON) && !defined(BP_NO_SIMD)
#include <arm_neon.h>
BP__PRIVATE void bp__sqrt16_own(float *r) {
    int j;
    for (j = 0; j < 16; j += 4) vst1q_f32(r + j, vsqrtq_f32(vld1q_f32(r + j)));
}
#else
BP__PRIVATE void bp__sqrt16_own(float *r) {
    int j;
    for (j = 0; j < 16; j++) r[j] = BP_SQRTF(r[j]);
}
#endif

/* ---- instruction-set levels -------------------------------------------------------------------
   Every kernel above, and the bodies the other parts mark inline (activations, the update
   rules), is compiled once per level by BP__LEVEL, into a table (bp__kern) a net points at
   through net->level: the level the build's flags give ("own": BP_LEVEL_BASE, or AVX2 or
   AVX-512 when the flags give them) and, on x86-64 under GCC 8+ or clang (BP__DISPATCH), the
   wider levels the flags do not give, as functions with a target attribute: an inline body
   inlined into such a function is compiled for that target. bp_init picks the widest the CPU
   runs. The levels differ in speed, and in the multiply-add rule only: AVX2 and AVX-512 fuse,
   as a build for them does, so a plain -O2 build trains to the bits of -march=native. */
#if BP__DISPATCH
#include <immintrin.h>
#if defined(__clang__)
#define BP__AVX512_FN __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma"),     \
                                     min_vector_width(512)))
#else   /* GCC's generic tuning would vectorize in halves of 256 bits */
#define BP__AVX512_FN                                                                          \
    __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,prefer-vector-width=512")))
#endif
#define BP__AVX2_FN __attribute__((target("avx2,fma")))
BP__AVX512_FN BP__PRIVATE void bp__sqrt16_avx512(float *r) {
    _mm512_storeu_ps(r, _mm512_sqrt_ps(_mm512_loadu_ps(r)));
}
BP__AVX2_FN BP__PRIVATE void bp__sqrt16_avx2(float *r) {
    _mm256_storeu_ps(r, _mm256_sqrt_ps(_mm256_loadu_ps(r)));
    _mm256_storeu_ps(r + 8, _mm256_sqrt_ps(_mm256_loadu_ps(r + 8)));
}
#endif

BP__PRIVATE BP__INLINE void bp__sqrt16(float *r, bp_level lv) {
#if BP__DISPATCH
    if ((int)lv == 3) { bp__sqrt16_avx512(r); return; }
#if BP__OWN_LEVEL_N < 2
    if ((int)lv == 2) { bp__sqrt16_avx2(r); return; }
#endif
#endif
    (void)lv;
    bp__sqrt16_own(r);
}

/* One level's kernels and their table bp__kern_L: FN its target attribute, LV its level,
   MR x NR its tile, FUSED its multiply-add rule, VEC its tile's form (see bp__tile_r),
   SHUF whether it transposes in registers. */
#define BP__LEVEL(L, FN, LV, MR, NR, FUSED, VEC, SHUF)                                          \
    BP__LEVEL_GEMM(L, FN, MR, NR, FUSED, VEC, SHUF)                                            \
    FN BP__PRIVATE float bp__dot_##L(const float *BP__RESTRICT a, const float *BP__RESTRICT b,  \
                                     int n) {                                                  \
        return bp__dot(a, b, n, FUSED);                                                        \
    }                                                                                          \
    FN BP__PRIVATE void bp__axpy_##L(float *BP__RESTRICT y, float a,                           \
                                     const float *BP__RESTRICT x, int n) {                     \
        bp__axpy(y, a, x, n, FUSED);                                                           \
    }                                                                                          \
    FN BP__PRIVATE void bp__scale_##L(float *BP__RESTRICT y, float a,                          \
                                      const float *BP__RESTRICT x, int n) {                    \
        bp__scale(y, a, x, n);                                                                 \
    }                                                                                          \
    FN BP__PRIVATE void bp__dot4_##L(const float *BP__RESTRICT w, size_t stride,               \
                                     const float *BP__RESTRICT x, int n, float *out) {         \
        int r_;                         /* -Os: one row at a time, the same sums, less flash */ \
        if (!BP__SMALL) bp__dot4(w, stride, x, n, out, FUSED);                                 \
        else for (r_ = 0; r_ < 4; r_++) out[r_] = bp__dot_##L(w + (size_t)r_ * stride, x, n);   \
    }                                                                                          \
    FN BP__PRIVATE void bp__sgd_dot4_##L(float *BP__RESTRICT w0, float *BP__RESTRICT w1,       \
                                         float *BP__RESTRICT w2, float *BP__RESTRICT w3,       \
                                         const float *gs, const float *BP__RESTRICT ga,        \
                                         float lr, const float *BP__RESTRICT x, int n,         \
                                         float *out) {                                         \
        bp__sgd_dot4(w0, w1, w2, w3, gs, ga, lr, x, n, out, FUSED);                            \
    }                                                                                          \
    FN BP__HOT BP__PRIVATE void bp__step_##L(float *BP__RESTRICT w, float *BP__RESTRICT s,     \
                                             float gs, const float *BP__RESTRICT ga, size_t n, \
                                             const bp__rule *u, float wd) {                    \
        bp__step(w, s, gs, ga, n, u, wd);                                                      \
    }                                                                                          \
    FN BP__NOINLINE BP__PRIVATE void bp__adam_##L(float *BP__RESTRICT w, float *BP__RESTRICT m, \
                                                  float *BP__RESTRICT v, float gs,             \
                                                  const float *BP__RESTRICT ga, size_t n,      \
                                                  const bp__rule *u, float wd) {               \
        bp__adam(w, m, v, gs, ga, n, u, wd, LV);                                               \
    }                                                                                          \
    FN BP__NOINLINE BP__PRIVATE void bp__rmsprop_##L(float *BP__RESTRICT w,                    \
                                                     float *BP__RESTRICT v,                    \
                                                     float *BP__RESTRICT b, float gs,          \
                                                     const float *BP__RESTRICT ga, size_t n,   \
                                                     const bp__rule *u, float wd) {            \
        bp__rmsprop(w, v, b, gs, ga, n, u, wd, LV);                                            \
    }                                                                                          \
    FN BP__PRIVATE void bp__activate_##L(bp_act act, const float *z, float *y, int rows,       \
                                         int n) {                                              \
        bp__activate(act, z, y, rows, n);                                                      \
    }                                                                                          \
    FN BP__PRIVATE float bp__maxabs_##L(const float *v, size_t n) { return bp__maxabs(v, n); } \
    FN BP__NOINLINE BP__PRIVATE int32_t bp__qdot_##L(const int8_t *BP__RESTRICT w,              \
                                                     const int8_t *BP__RESTRICT a, int n,      \
                                                     int32_t acc) {                            \
        return bp__qdot(w, a, n, acc, LV);                                                     \
    }                                                                                          \
    FN BP__NOINLINE BP__PRIVATE void bp__cell_##L(bp_cell cell, int H, float *a,               \
                                                  const float *q, const float *h, float *hn,   \
                                                  float *e, const float *c, float *cn) {       \
        bp__seq_cell(cell, H, a, q, h, hn, e, c, cn);                                          \
    }                                                                                          \
    FN BP__NOINLINE BP__PRIVATE void bp__cell_back_##L(bp_cell cell, int H, const float *a,     \
                                                       const float *e, const float *h,         \
                                                       const float *c, const float *dh,        \
                                                       float *dc, float *g, float *gq,         \
                                                       float *dir) {                           \
        bp__seq_cell_back(cell, H, a, e, h, c, dh, dc, g, gq, dir);                            \
    }                                                                                          \
    static const bp__kern bp__kern_##L = {                                                     \
        LV, FUSED, MR, NR, BP__GEMM_PART(L), bp__dot_##L, bp__axpy_##L, bp__scale_##L,        \
        bp__dot4_##L, bp__sgd_dot4_##L, bp__step_##L, bp__adam_##L, bp__rmsprop_##L,           \
        bp__activate_##L, bp__maxabs_##L, bp__qdot_##L, bp__cell_##L, bp__cell_back_##L};
/* The batched product's six tiles and its loops, for a level; not compiled where the plain
   loop (bp__gemm_ref) runs instead, which on a microcontroller saves most of the library's
   flash */
#if BP__REF_GEMM
#define BP__LEVEL_GEMM(L, FN, MR, NR, FUSED, VEC, SHUF)
#define BP__GEMM_PART(L) NULL
#else
#define BP__LEVEL_GEMM(L, FN, MR, NR, FUSED, VEC, SHUF)                                         \
    BP__LEVEL_TILE(L, FN, tile, MR, NR, NR, FUSED, VEC)                                        \
    BP__LEVEL_TILE(L, FN, tile4, 4, NR, NR, FUSED, VEC)                                        \
    BP__LEVEL_TILE(L, FN, tile2, 2, NR, NR, FUSED, VEC)                                        \
    BP__LEVEL_TILE(L, FN, half, MR, NR / 2, NR, FUSED, VEC)                                    \
    BP__LEVEL_TILE(L, FN, half4, 4, NR / 2, NR, FUSED, VEC)                                    \
    BP__LEVEL_TILE(L, FN, half2, 2, NR / 2, NR, FUSED, VEC)                                    \
    FN BP__PRIVATE void bp__gemm_part_##L(const bp__mm *g, int t, int nt) {                    \
        static const bp__kernel ks[6] = {bp__tile_##L, bp__tile4_##L, bp__tile2_##L,            \
                                         bp__half_##L, bp__half4_##L, bp__half2_##L};          \
        bp__gemm_part(g, t, nt, ks, MR, NR, SHUF);                                             \
    }
#define BP__GEMM_PART(L) bp__gemm_part_##L
#endif
#define BP__LEVEL_TILE(L, FN, name, R, NW, NR, FUSED, VEC)                                     \
    FN BP__NOINLINE BP__PRIVATE void bp__##name##_##L(const bp__mm *g, int i, int mr, int j,   \
                                                      int k0, int kc,                          \
                                                      const float *BP__RESTRICT b,             \
                                                      size_t ldb) {                            \
        BP__TILE_##L(g, i, mr, j, k0, kc, b, ldb, R, NW, NR, FUSED, VEC);                      \
    }
/* Each level's tile: the flags' by BP__TILE_AT; under clang the wider levels' vector tiles,
   compiled for their target (see BP__TILE_V) */
#define BP__TILE_own BP__TILE_AT
#if BP__DISPATCH && defined(__clang__) && !defined(BP_NO_FMA)
#define BP__MADD_256(a, b, c) _mm256_fmadd_ps(_mm256_set1_ps(a), b, c)
#define BP__MADD_512(a, b, c) _mm512_fmadd_ps(_mm512_set1_ps(a), b, c)
BP__TILE_V(bp__tile_v8_avx2, bp__v8h, 8, BP__AVX2_FN, BP__MADD_256)
BP__TILE_V(bp__tile_v16_avx512, bp__v16, 16, BP__AVX512_FN, BP__MADD_512)
#define BP__TILE_avx2(g, i, mr, j, k0, kc, b, ldb, R, NW, NR, FUSED, VEC)                        \
    bp__tile_v8_avx2(g, i, mr, j, k0, kc, b, ldb, R, NW)
#define BP__TILE_avx512(g, i, mr, j, k0, kc, b, ldb, R, NW, NR, FUSED, VEC)                      \
    bp__tile_v16_avx512(g, i, mr, j, k0, kc, b, ldb, R, NW)
#else
#define BP__TILE_avx2 BP__TILE_AT
#define BP__TILE_avx512 BP__TILE_AT
#endif

BP__LEVEL(own, BP__NO_ATTR, (bp_level)BP__OWN_LEVEL_N, BP__MR, BP__NR, BP__OWN_FUSED,
          BP__TILE_VEC, BP__SHUFFLE)
#if BP__DISPATCH
/* FMA as the flags' BP__FMA would have it: never with BP_NO_FMA */
#ifdef BP_NO_FMA
#define BP__LEVEL_FUSED 0
#else
#define BP__LEVEL_FUSED 1
#endif
/* the vector tile under clang; GCC's arrays (4 x 16 at AVX2: see BP__MR) */
#if defined(__clang__)
BP__LEVEL(avx512, BP__AVX512_FN, BP_LEVEL_AVX512, 8, 32, BP__LEVEL_FUSED, 1, 1)
#if BP__OWN_LEVEL_N < 2
BP__LEVEL(avx2, BP__AVX2_FN, BP_LEVEL_AVX2, 6, 16, BP__LEVEL_FUSED, 1, 1)
#endif
#else
BP__LEVEL(avx512, BP__AVX512_FN, BP_LEVEL_AVX512, 8, 32, BP__LEVEL_FUSED, !BP__LEVEL_FUSED,
          __GNUC__ >= 12)
#if BP__OWN_LEVEL_N < 2
BP__LEVEL(avx2, BP__AVX2_FN, BP_LEVEL_AVX2, BP__LEVEL_FUSED ? 4 : 6, 16, BP__LEVEL_FUSED,
          !BP__LEVEL_FUSED, __GNUC__ >= 12)
#endif
#endif
#endif

#if !BP__DISPATCH
BP__PRIVATE BP__INLINE const bp__kern *bp__kern_flags(void) { return &bp__kern_own; }
#endif

BP__PRIVATE const bp__kern *bp__kern_of(bp_level level) {
    if ((int)level == BP__OWN_LEVEL_N) return &bp__kern_own;
#if BP__DISPATCH
    if (level == BP_LEVEL_AVX512) return &bp__kern_avx512;
#if BP__OWN_LEVEL_N < 2
    if (level == BP_LEVEL_AVX2) return &bp__kern_avx2;
#endif
#endif
    return NULL;
}

/* The CPU's answer as the C runtime keeps it (read-only after start-up); AVX-512 needs the
   four parts the kernels are compiled for. */
BP__PRIVATE bp_level bp__best_level(void) {
#if BP__DISPATCH
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")
        && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq"))
        return BP_LEVEL_AVX512;
#if BP__OWN_LEVEL_N < 2
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return BP_LEVEL_AVX2;
#endif
#endif
    return (bp_level)BP__OWN_LEVEL_N;
}

/* ---- how a batched forward product is arranged ----------------------------------------------- */

/* The forward pass's (W X^T)^T: rows o of zt = W X^T are done; z[s][o] = zt[o][s] + bias[o]
   16 units at a time (16 rows of zt read along, each row of z written 16 floats at a time:
   a column-by-column copy is 10x slower); then, unless softmax, a = act(z) on those units. */
BP__PRIVATE void bp__fwd_rows(const bp__mm *g, int i0, int i1) {
    const bp__fwd_ctx *f = (const bp__fwd_ctx *)g->ctx;
    int o, s, c;
    for (o = i0; o < i1; o += 16) {
        const int n = i1 - o < 16 ? i1 - o : 16;
        for (s = 0; s < f->batch; s++) {
            const size_t row = (size_t)s * (size_t)f->no + (size_t)o;
            for (c = 0; c < n; c++)
                f->z[row + (size_t)c] = g->C[(size_t)(o + c) * (size_t)f->batch + (size_t)s]
                                        + f->bias[o + c];
        }
    }
    if (f->act != BP_SOFTMAX)
        for (s = 0; s < f->batch; s++) {
            const size_t row = (size_t)s * (size_t)f->no + (size_t)i0;
            g->k->activate(f->act, f->z + row, f->a + row, 1, i1 - i0);
        }
}

/* A batch smaller than its layer: z = (W X^T)^T through the scratch zt, so that the smaller
   operand, X, is the one packed into panels; then, unless softmax, a = act(z) in the same
   pass. Returns whether it applied the activation. */
BP__PRIVATE int bp__dense_t(bp__mm *g, const bp__fwd_ctx *f, const float *W, const float *x,
                            float *zt) {
    const int ni = g->K;
    g->M = f->no; g->N = f->batch; g->by_rows = 1;   /* the threads split W's rows */
    g->A = W; g->rsa = (size_t)ni; g->csa = 1;
    g->B = x; g->rsb = 1; g->csb = (size_t)ni;
    g->C = zt; g->ldc = (size_t)f->batch;
    g->rows_done = bp__fwd_rows; g->ctx = f;
    bp__gemm(g);
    return f->act != BP_SOFTMAX;
}

/* The forward pass's X W^T for a narrow layer (an output layer of a few classes): rows s of z
   are done; z[s] += bias, then a[s] = act(z[s]) (softmax too: a row is a sample). */
BP__PRIVATE void bp__fwd_xw_rows(const bp__mm *g, int i0, int i1) {
    const bp__fwd_ctx *f = (const bp__fwd_ctx *)g->ctx;
    int s, c;
    for (s = i0; s < i1; s++) {
        float *z = f->z + (size_t)s * (size_t)f->no;
        for (c = 0; c < f->no; c++) z[c] += f->bias[c];
        g->k->activate(f->act, z, f->a + (size_t)s * (size_t)f->no, 1, f->no);
    }
}

/* A layer of fewer than BP__NARROW units: too few columns to split, so X W^T is split by
   rows (samples), each finished at once, softmax too. */
BP__PRIVATE int bp__dense_narrow(bp__mm *g, const bp__fwd_ctx *f) {
    g->by_rows = 1;
    g->rows_done = bp__fwd_xw_rows; g->ctx = f;
    bp__gemm(g);
    return 1;
}

/* ---- a training step on threads -------------------------------------------------------------
   With OpenMP, a batch worth threads runs bp_train_step as one parallel region: every thread
   runs the forward and backward passes, splitting their products and loops (barriers, not
   forks, between); each makes the step's checks itself, on the same data, to the same
   verdict. 1 if it ran the step (its status *s, its loss *loss), 0 if the caller should. */
BP__PRIVATE int bp__team_step(bp_net *net, const float *x, const float *target, int batch,
                              const bp__rule *u, float *state, float *loss, bp_status *s) {
#if defined(_OPENMP) && !defined(BP_CBLAS) && !defined(BP_NO_SIMD)
    if (batch > 1 && (long)batch * (long)net->n_params >= 4L * BP_OMP_MIN
        && omp_get_max_threads() > 1 && !omp_in_parallel()) {
        BP__PRAGMA(omp parallel)
        {
            float mine = 0.0f;
            bp_status ms;
            bp__forward(net, x, batch, 1);
            ms = bp__backprop(net, x, target, batch, u, state, NULL, 1, &mine);
            BP__PRAGMA(omp master)
            {
                *loss = mine;
                *s = ms;
            }
        }
        return 1;
    }
#endif
    (void)net; (void)x; (void)target; (void)batch; (void)u; (void)state; (void)loss; (void)s;
    return 0;
}

/* A level's kernels where the build has them and the CPU runs them; BP_LEVEL_BEST: the
   widest. */
BP__PRIVATE bp_status bp__pick_level(bp_level *level, bp_level want) {
    if (want == BP_LEVEL_BEST) want = bp__best_level();
    if (!bp__valid_enum((unsigned)want, BP_LEVEL_COUNT) || !bp__kern_of(want)
        || (unsigned)want > (unsigned)bp__best_level())
        return BP_ERR_LEVEL;
    *level = want;
    return BP_OK;
}

BPDEF bp_status bp_set_level(bp_net *net, bp_level level) {
    return net ? bp__pick_level(&net->level, level) : BP_ERR_NULL;
}

BPDEF const char *bp_level_name(bp_level level) {
    switch (level) {
    case BP_LEVEL_BASE:   return "base";
    case BP_LEVEL_AVX2:   return "avx2";
    case BP_LEVEL_AVX512: return "avx512";
    default:              return "?";
    }
}

/* =============================================================================================
   PART 7. THE MODEL FORMAT, MODELS AS C SOURCE, AND THE FILE HELPERS
   Every kind of net as bytes that hostile input cannot break, its C source for firmware, and
   files written so that a crash leaves the old file or the new one. Relies on the parts above
   for what it saves (their sizes and checks); nothing above relies on it but the int8 net's
   byte order (bp__get32).
   The bytes (version 1 of the format; every integer and float little-endian whatever the
   host, floats IEEE-754 binary32):
     offset  bytes  field
     0       8      magic 42 50 52 4F 50 0D 0A 1A ("BPROP", CR, LF, ^Z: catches text-mode damage)
     8       4      format version, 1
     12      4      kind: 1 = feed-forward bp_net, 2 = recurrent bp_rnet, 3 = int8 bp_qnet,
                    4 = a bp_net's training checkpoint, 5 = a sequence net (bp_seq)
     16      8      total length in bytes, from offset 0 through the CRC
     24      T      topology. kinds 1 and 3: n_layers, loss, sizes[0..n_layers],
                    act[0..n_layers-1] (u32 each, T = 4 (2 n_layers + 3)). kind 5: cell,
                    out, n_rec, n_inputs, hidden[0..n_rec-1], then its head as kind 1
                    (sizes[0] = hidden[n_rec-1]; T = 4 (4 + n_rec) + 4 (2 n_dense + 3)),
                    then its parameters in bp_seq's layout. kind 2: n_units,
                    n_inputs, n_outputs, act (u32), tau, tol (float), max_iters (u32), T = 28
     24+T    4P     the P parameters, in the parameter layout (kind 2: W, U, b). Kind 3: the
                    int8 weights (Part 5: Storage), zero bytes to a multiple of 4, then the
                    int32 words of q. Kind 4 (topology as kind 1) puts 76 bytes first: method,
                    nesterov (0 or 1), then lr, momentum, weight_decay, beta1, beta2, eps,
                    clip (float); step (u64), epoch, sample (u32, < 2^31), rng (u64), the
                    state's float count S (u64, bp_opt_state_size) and the extra floats' E
                    (u64); then the P parameters, the S floats of state and the E extra
                    floats (parameters and state finite)
     end-4   4      CRC-32 (IEEE 802.3, as zlib's crc32) of every byte before it
     Codes: act 0 linear, 1 sigmoid, 2 tanh, 3 relu, 4 leaky_relu, 5 softmax; loss 0 squared,
     1 cross-entropy. A reader refuses, each with its own status: a wrong magic, another
     version, a length other than the buffer's (too few bytes or bytes after the model), a
     checksum mismatch, an out-of-range or inconsistent topology (checked before any size is
     multiplied), the other kind of net, or a topology that differs from the net loaded into;
     kind 3 also int8 values Part 5 rules out (a weight of -128, nonzero padding, a scale not
     finite and positive, a shift out of 1..62 or a multiplier below 0 on an integer layer,
     either not 0 on a float-ended one, a bias that could overflow the sum).
   ============================================================================================= */

#ifndef BP_NO_STDIO
#include <stdio.h>
#if defined(_WIN32)
#include <io.h>          /* _commit: the file helpers flush to the disk */
#elif (defined(__unix__) || defined(__unix) || defined(__APPLE__)) && !defined(BP_NO_FSYNC)
#include <unistd.h>      /* fsync */
#define BP__POSIX_FILES
#endif
#endif

/* ---- saving and loading ----------------------------------------------------------------- */

typedef char bp__float_is_binary32[sizeof(float) == 4 ? 1 : -1];   /* the format assumes it */

#define BP__FORMAT_VERSION 1u
#define BP__HEAD_FIXED 24                       /* magic, version, kind, total length */
#define BP__CKPT_BYTES 76                       /* kind 4 after the topology: the optimizer,
                                                   the progress, the two counts */
#define BP__SEQ_BYTES(n_rec) (4 * (4 + (size_t)(n_rec)))   /* kind 5 before its head */
#define BP__HEAD_MAX (BP__HEAD_FIXED + 4 * (2 + 2 * BP_MAX_LAYERS + 1) + BP__CKPT_BYTES \
                      + BP__SEQ_BYTES(BP_MAX_LAYERS))
static const unsigned char bp__magic[8] = {'B', 'P', 'R', 'O', 'P', '\r', '\n', 0x1a};

/* What a model's bytes say. kind 1: the bp_net fields; kind 2: the bp_rnet fields; kind 4
   (a checkpoint): kind 1's and the training's; kind 5 (a bp_seq): seq, its head in kind 1's
   fields. */
typedef struct bp__model {
    uint32_t kind;
    int n_layers, sizes[BP_MAX_LAYERS + 1];
    bp_act acts[BP_MAX_LAYERS];
    bp_loss loss;
    int n_units, n_inputs, n_outputs, max_iters;
    bp_act act;
    float tau, tol;
    size_t n_params;                  /* kind 3: the payload's words, weights packed 4 a word */
    const bp_qnet *qn;                /* kind 3, writing: where the words come from */
    bp_checkpoint ck;                 /* kind 4: its fields; writing, state and extra too */
    size_t n_state;                   /* kind 4: floats of state after the parameters */
    uint32_t crc;                     /* read: the checksum the bytes carry */
    bp_seq_spec seq;                  /* kind 5 */
} bp__model;

/* A checkpoint holds a feed-forward net's model: where kind 1 is wanted, kind 4 serves. */
BP__PRIVATE uint32_t bp__net_kind(uint32_t kind) { return kind == 4 ? 1u : kind; }

BP__PRIVATE uint32_t bp__get32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
BP__PRIVATE void bp__put32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16); p[3] = (unsigned char)(v >> 24);
}
/* 64-bit fields as two words, the low one first (no shift by 32 on 32-bit size_t) */
BP__PRIVATE uint64_t bp__get64(const unsigned char *p) {
    return (uint64_t)bp__get32(p) | (uint64_t)bp__get32(p + 4) << 32;
}
BP__PRIVATE void bp__put64(unsigned char *p, uint64_t v) {
    bp__put32(p, (uint32_t)v);
    bp__put32(p + 4, (uint32_t)(v >> 32));
}
BP__PRIVATE float bp__getf(const unsigned char *p) {
    uint32_t u = bp__get32(p);
    float f;
    BP_MEMCPY(&f, &u, sizeof f);
    return f;
}
BP__PRIVATE void bp__putf(unsigned char *p, float f) {
    uint32_t u;
    BP_MEMCPY(&u, &f, sizeof u);
    bp__put32(p, u);
}

/* CRC-32 as zlib's crc32 (IEEE 802.3, reflected 0xEDB88320), four bits at a time. */
BP__PRIVATE uint32_t bp__crc32(uint32_t crc, const unsigned char *p, size_t n) {
    static const uint32_t t[16] = {
        0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu, 0x76DC4190u, 0x6B6B51F4u,
        0x4DB26158u, 0x5005713Cu, 0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu,
        0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu};
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        crc = (crc >> 4) ^ t[crc & 15];
        crc = (crc >> 4) ^ t[crc & 15];
    }
    return ~crc;
}

BP__PRIVATE void bp__model_of_net(const bp_net *net, bp__model *m) {
    int l;
    BP_MEMSET(m, 0, sizeof *m);
    m->kind = 1;
    m->n_layers = net->n_layers;
    for (l = 0; l <= net->n_layers; l++) m->sizes[l] = net->sizes[l];
    for (l = 0; l < net->n_layers; l++) m->acts[l] = net->act[l];
    m->loss = net->loss;
    m->n_params = net->n_params;
}

BP__PRIVATE void bp__model_of_rnet(const bp_rnet *net, bp__model *m) {
    BP_MEMSET(m, 0, sizeof *m);
    m->kind = 2;
    m->n_units = net->n_units;
    m->n_inputs = net->n_inputs;
    m->n_outputs = net->n_outputs;
    m->act = net->act;
    m->tau = net->tau;
    m->tol = net->tol;
    m->max_iters = net->max_iters;
    m->n_params = net->n_params;
}

/* Topology bytes after the fixed header: kinds 1 and 3 take 4 (2 + 2 n_layers + 1), kind 2
   takes 28. */
BP__PRIVATE size_t bp__topo_bytes(const bp__model *m) {
    return m->kind == 2 ? 28 : 4 * (2 + 2 * (size_t)m->n_layers + 1)
                               + (m->kind == 5 ? BP__SEQ_BYTES(m->seq.n_rec) : 0);
}

/* Kind 3's payload: the int8 weights 4 to a word (the last word padded with zero bytes), then
   q. Its length in words, and word k as it is stored. */
BP__PRIVATE size_t bp__qwords(int n_layers, const int *sizes) {
    return (bp_qweights_size(n_layers, sizes) + 3) / 4 + bp_qparams_size(n_layers, sizes);
}
BP__PRIVATE uint32_t bp__qword(const bp_qnet *qn, size_t k) {
    const size_t packed = (qn->n_weights + 3) / 4;
    uint32_t w = 0;
    int b;
    if (k >= packed) return (uint32_t)qn->q[k - packed];
    for (b = 3; b >= 0; b--) {
        const size_t at = 4 * k + (size_t)b;
        w = w << 8 | (at < qn->n_weights ? (unsigned char)qn->weights[at] : 0u);
    }
    return w;
}

/* Bytes before the payload's floats (or words): the fixed header, the topology, and a
   checkpoint's fields. */
BP__PRIVATE size_t bp__head_bytes(const bp__model *m) {
    return BP__HEAD_FIXED + bp__topo_bytes(m) + (m->kind == 4 ? BP__CKPT_BYTES : 0);
}

/* Floats (kind 3: words) of the payload: the parameters, and a checkpoint's state and extra
   floats; 0 if the count overflows. */
BP__PRIVATE size_t bp__payload(const bp__model *m) {
    const size_t n = m->n_params, s = m->n_state, e = m->ck.n_extra;
    if (s > BP__MAX_FLOATS - n || e > BP__MAX_FLOATS - n - s) return 0;
    return n + s + e;
}

/* Total bytes of a model, or 0 if they would not fit size_t. */
BP__PRIVATE size_t bp__model_bytes(const bp__model *m) {
    const size_t head = bp__head_bytes(m), n = bp__payload(m);
    if (n == 0 || n > (((size_t)-1) - head - 4) / 4) return 0;
    return head + 4 * n + 4;
}

/* Writes the header (fixed part, topology, a checkpoint's fields) into h; returns its
   length. */
BP__PRIVATE size_t bp__put_head(const bp__model *m, unsigned char *h) {
    size_t k = BP__HEAD_FIXED, total = bp__model_bytes(m);
    int l;
    BP_MEMCPY(h, bp__magic, 8);
    bp__put32(h + 8, BP__FORMAT_VERSION);
    bp__put32(h + 12, m->kind);
    bp__put64(h + 16, (uint64_t)total);
    if (m->kind == 5) {          /* cell, out, n_rec, n_inputs, hidden[]; then the head */
        bp__put32(h + k, (uint32_t)m->seq.cell);
        bp__put32(h + k + 4, (uint32_t)m->seq.out);
        bp__put32(h + k + 8, (uint32_t)m->seq.n_rec);
        bp__put32(h + k + 12, (uint32_t)m->seq.n_inputs);
        for (k += 16, l = 0; l < m->seq.n_rec; l++, k += 4)
            bp__put32(h + k, (uint32_t)m->seq.hidden[l]);
    }
    if (m->kind != 2) {
        bp__put32(h + k, (uint32_t)m->n_layers); k += 4;
        bp__put32(h + k, (uint32_t)m->loss); k += 4;
        for (l = 0; l <= m->n_layers; l++, k += 4) bp__put32(h + k, (uint32_t)m->sizes[l]);
        for (l = 0; l < m->n_layers; l++, k += 4) bp__put32(h + k, (uint32_t)m->acts[l]);
        if (m->kind == 4) {
            const bp_opt *o = &m->ck.opt;
            bp__put32(h + k, (uint32_t)o->method);
            bp__put32(h + k + 4, o->nesterov != 0);
            bp__putf(h + k + 8, o->lr);
            bp__putf(h + k + 12, o->momentum);
            bp__putf(h + k + 16, o->weight_decay);
            bp__putf(h + k + 20, o->beta1);
            bp__putf(h + k + 24, o->beta2);
            bp__putf(h + k + 28, o->eps);
            bp__putf(h + k + 32, o->clip);
            bp__put64(h + k + 36, m->ck.step);
            bp__put32(h + k + 44, (uint32_t)m->ck.epoch);
            bp__put32(h + k + 48, (uint32_t)m->ck.sample);
            bp__put64(h + k + 52, m->ck.rng.state);
            bp__put64(h + k + 60, (uint64_t)m->n_state);
            bp__put64(h + k + 68, (uint64_t)m->ck.n_extra);
            k += BP__CKPT_BYTES;
        }
    } else {
        bp__put32(h + k, (uint32_t)m->n_units);
        bp__put32(h + k + 4, (uint32_t)m->n_inputs);
        bp__put32(h + k + 8, (uint32_t)m->n_outputs);
        bp__put32(h + k + 12, (uint32_t)m->act);
        bp__putf(h + k + 16, m->tau);
        bp__putf(h + k + 20, m->tol);
        bp__put32(h + k + 24, (uint32_t)m->max_iters);
        k += 28;
    }
    return k;
}

/* Where bytes go: a buffer or a file, with the running CRC. */
typedef struct bp__sink {
    unsigned char *mem;
#ifndef BP_NO_STDIO
    FILE *f;
#endif
    uint32_t crc;
    int failed;
    size_t n, cap;            /* text (bp__text): its length so far, the buffer's bytes */
    size_t stop;              /* a model to a file: bytes written; 0, or where to stop */
} bp__sink;

BP__PRIVATE void bp__sink_write(bp__sink *s, const unsigned char *p, size_t n) {
    s->crc = bp__crc32(s->crc, p, n);
    if (s->mem) {
        BP_MEMCPY(s->mem, p, n);
        s->mem += n;
    }
#ifndef BP_NO_STDIO
    else {
        if (s->stop) n = s->stop - s->n < n ? s->stop - s->n : n;   /* a crash test's cut */
        if (fwrite(p, 1, n, s->f) != n) s->failed = 1;
        s->n += n;
    }
#endif
}

BP__PRIVATE void bp__write_model(bp__sink *s, const bp__model *m, const float *params) {
    unsigned char h[BP__HEAD_MAX], b[256];
    const size_t n = bp__payload(m), ns = m->n_params + m->n_state;
    size_t i, j, c;
    bp__sink_write(s, h, bp__put_head(m, h));
    for (i = 0; i < n; i += c) {
        c = n - i < 64 ? n - i : 64;
        for (j = 0; j < c; j++) {
            const size_t at = i + j;          /* the parameters, then the state, then extra */
            if (m->qn) bp__put32(b + 4 * j, bp__qword(m->qn, at));
            else bp__putf(b + 4 * j, at < m->n_params ? params[at]
                                     : at < ns ? m->ck.state[at - m->n_params]
                                     : m->ck.extra[at - ns]);
        }
        bp__sink_write(s, b, 4 * c);
    }
    bp__put32(b, s->crc);
    bp__sink_write(s, b, 4);
}

/* Where bytes come from: a buffer of len bytes, or a file read front to back. */
typedef struct bp__src {
    const unsigned char *mem;
    size_t len, pos;
#ifndef BP_NO_STDIO
    FILE *f;
#endif
    uint32_t crc;
} bp__src;

/* Reads up to n bytes into dst, adding them to the running CRC; returns how many it read. */
BP__PRIVATE size_t bp__src_read(bp__src *s, unsigned char *dst, size_t n) {
    size_t got = 0;
    if (s->mem) {
        got = s->len - s->pos < n ? s->len - s->pos : n;
        BP_MEMCPY(dst, s->mem + s->pos, got);
    }
#ifndef BP_NO_STDIO
    else got = fread(dst, 1, n, s->f);
#endif
    s->pos += got;
    s->crc = bp__crc32(s->crc, dst, got);
    return got;
}

/* Where a parse decodes the payload's floats: the parameters, a checkpoint's state and its
   extra floats; each section only if its pointer is set and its count is the model's. */
typedef struct bp__dst {
    float *p[3];
    size_t n[3];
} bp__dst;

/* A checkpoint's fields after the topology (t: BP__CKPT_BYTES), checked: the optimizer's
   settings as bp_update takes them, the counts those imply. */
BP__PRIVATE bp_status bp__parse_ckpt(const unsigned char *t, bp__model *m) {
    bp_opt *o = &m->ck.opt;
    uint64_t ns, ne;
    if (!bp__valid_enum(bp__get32(t), BP_METHOD_COUNT) || bp__get32(t + 4) > 1u)
        return BP_ERR_CORRUPT;
    o->method = (bp_method)bp__get32(t);
    o->nesterov = (int)bp__get32(t + 4);
    o->lr = bp__getf(t + 8);
    o->momentum = bp__getf(t + 12);
    o->weight_decay = bp__getf(t + 16);
    o->beta1 = bp__getf(t + 20);
    o->beta2 = bp__getf(t + 24);
    o->eps = bp__getf(t + 28);
    o->clip = bp__getf(t + 32);
    m->ck.step = bp__get64(t + 36);
    if (bp__get32(t + 44) > 0x7fffffffu || bp__get32(t + 48) > 0x7fffffffu) return BP_ERR_CORRUPT;
    m->ck.epoch = (int)bp__get32(t + 44);
    m->ck.sample = (int)bp__get32(t + 48);
    m->ck.rng.state = bp__get64(t + 52);
    ns = bp__get64(t + 60);
    ne = bp__get64(t + 68);
    if (bp__check_settings(o) != BP_OK) return BP_ERR_CORRUPT;
    if (ns != (uint64_t)bp_opt_state_size(o, m->n_params) || ne > (uint64_t)BP__MAX_FLOATS)
        return BP_ERR_CORRUPT;
    m->n_state = (size_t)ns;
    m->ck.n_extra = (size_t)ne;
    return BP_OK;
}

/* Reads and checks a whole model: magic, version, length, kind, topology (before any size
   arithmetic), a checkpoint's fields, the payload and the checksum, and that nothing
   follows. With a buffer the checksum is checked first, so damage anywhere reads as
   BP_ERR_CHECKSUM. If d is not NULL, the payload's sections are decoded as bp__dst says.
   A checkpoint's parameters and state must be finite (the training calls never make them
   otherwise). */
BP__PRIVATE bp_status bp__parse(bp__src *s, bp__model *m, const bp__dst *d) {
    unsigned char h[BP__HEAD_MAX], b[256];
    uint64_t total;
    size_t got, i, j, c, n;
    uint32_t crc;
    int k;
    int l, bad = 0;
    size_t o = BP__HEAD_FIXED;                 /* where the feed-forward topology starts */
    BP_MEMSET(m, 0, sizeof *m);
    got = bp__src_read(s, h, BP__HEAD_FIXED);
    for (i = 0; i < 8 && i < got; i++) if (h[i] != bp__magic[i]) return BP_ERR_BAD_MAGIC;
    if (got < BP__HEAD_FIXED) return BP_ERR_TRUNCATED;
    if (bp__get32(h + 8) != BP__FORMAT_VERSION) return BP_ERR_VERSION;
    total = bp__get64(h + 16);
    if (s->mem) {
        if (total > (uint64_t)s->len) return BP_ERR_TRUNCATED;
        if (total < (uint64_t)s->len) return BP_ERR_TRAILING;
        if (bp__crc32(0, s->mem, s->len - 4) != bp__get32(s->mem + s->len - 4))
            return BP_ERR_CHECKSUM;
    }
    m->kind = bp__get32(h + 12);
    if (m->kind == 5) {                 /* a sequence net: its recurrent part, then a head */
        const unsigned char *t = h + BP__HEAD_FIXED;
        if (bp__src_read(s, h + o, 16) < 16) return BP_ERR_TRUNCATED;
        if (!bp__valid_enum(bp__get32(t), BP_CELL_COUNT)
            || !bp__valid_enum(bp__get32(t + 4), BP_SEQ_OUT_COUNT)
            || bp__get32(t + 8) < 1 || bp__get32(t + 8) > BP_MAX_LAYERS
            || bp__get32(t + 12) > 0x7fffffffu) return BP_ERR_CORRUPT;
        m->seq.cell = (bp_cell)bp__get32(t);
        m->seq.out = (bp_seq_out)bp__get32(t + 4);
        m->seq.n_rec = (int)bp__get32(t + 8);
        m->seq.n_inputs = (int)bp__get32(t + 12);
        c = 4 * (size_t)m->seq.n_rec;
        if (bp__src_read(s, h + o + 16, c) < c) return BP_ERR_TRUNCATED;
        for (l = 0; l < m->seq.n_rec; l++) {
            const uint32_t v = bp__get32(t + 16 + 4 * l);
            if (v > 0x7fffffffu) return BP_ERR_CORRUPT;
            m->seq.hidden[l] = (int)v;
        }
        o += BP__SEQ_BYTES(m->seq.n_rec);
    }
    if (m->kind == 1 || m->kind == 3 || m->kind == 4 || m->kind == 5) {
        if (bp__src_read(s, h + o, 8) < 8) return BP_ERR_TRUNCATED;
        if (bp__get32(h + o) < 1 || bp__get32(h + o) > BP_MAX_LAYERS) return BP_ERR_CORRUPT;
        m->n_layers = (int)bp__get32(h + o);
        if (bp__get32(h + o + 4) >= (uint32_t)BP_LOSS_COUNT) return BP_ERR_CORRUPT;
        m->loss = (bp_loss)bp__get32(h + o + 4);
        c = 4 * (2 * (size_t)m->n_layers + 1);
        if (bp__src_read(s, h + o + 8, c) < c) return BP_ERR_TRUNCATED;
        /* range checks so that the conversions below are exact; then bp_init's rules */
        for (l = 0; l <= m->n_layers; l++) {
            uint32_t v = bp__get32(h + o + 8 + 4 * l);
            if (v > 0x7fffffffu) return BP_ERR_CORRUPT;
            m->sizes[l] = (int)v;
        }
        for (l = 0; l < m->n_layers; l++) {
            uint32_t v = bp__get32(h + o + 8 + 4 * (m->n_layers + 1 + l));
            if (!bp__valid_enum(v, BP_ACT_COUNT)) return BP_ERR_CORRUPT;
            m->acts[l] = (bp_act)v;
        }
        if (bp__check_topology(m->n_layers, m->sizes, m->acts,
                               m->loss) != BP_OK) return BP_ERR_CORRUPT;
        m->n_params = m->kind != 3 ? bp_params_size(m->n_layers, m->sizes)
                                   : bp__qwords(m->n_layers, m->sizes);
        if (m->kind == 5) {             /* the head reads the top layer: bp_seq_init's rules */
            m->seq.n_dense = m->n_layers;
            for (l = 0; l < m->n_layers; l++) {
                m->seq.dense[l] = m->sizes[l + 1];
                m->seq.act[l] = m->acts[l];
            }
            m->seq.loss = m->loss;
            if (m->sizes[0] != m->seq.hidden[m->seq.n_rec - 1]) return BP_ERR_CORRUPT;
            m->n_params = bp_seq_params_size(&m->seq);
        }
        if (m->kind == 4) {
            bp_status st;
            if (bp__src_read(s, h + o + 8 + c, BP__CKPT_BYTES) < BP__CKPT_BYTES)
                return BP_ERR_TRUNCATED;
            if (m->n_params == 0) return BP_ERR_CORRUPT;
            if ((st = bp__parse_ckpt(h + o + 8 + c, m)) != BP_OK) return st;
        }
    } else if (m->kind == 2) {
        const unsigned char *t = h + BP__HEAD_FIXED;
        if (bp__src_read(s, h + BP__HEAD_FIXED, 28) < 28) return BP_ERR_TRUNCATED;
        /* range checks so that the conversions below are exact; then bp_rnet_init's rules */
        if (bp__get32(t) > 0x7fffffffu || bp__get32(t + 4) > 0x7fffffffu || bp__get32(t
                + 8) > 0x7fffffffu
            || !bp__valid_enum(bp__get32(t + 12), BP_ACT_COUNT) || bp__get32(t + 24) > 0x7fffffffu)
            return BP_ERR_CORRUPT;
        m->n_units = (int)bp__get32(t);
        m->n_inputs = (int)bp__get32(t + 4);
        m->n_outputs = (int)bp__get32(t + 8);
        m->act = (bp_act)bp__get32(t + 12);
        m->tau = bp__getf(t + 16);
        m->tol = bp__getf(t + 20);
        m->max_iters = (int)bp__get32(t + 24);
        if (bp__check_rnet_topology(m->n_units, m->n_inputs, m->n_outputs, m->act) != BP_OK
            || !bp__relax_ok(m->tau, m->tol, m->max_iters)) return BP_ERR_CORRUPT;
        m->n_params = bp_rnet_params_size(m->n_units, m->n_inputs);
    } else {
        return BP_ERR_CORRUPT;
    }
    /* the sizes are sane: now the arithmetic, then the length they imply */
    if (m->n_params == 0 || bp__model_bytes(m) == 0 || (uint64_t)bp__model_bytes(m) != total)
        return BP_ERR_CORRUPT;
    for (k = 0; k < 3; k++) {          /* the parameters, a checkpoint's state, its extra */
        n = k == 0 ? m->n_params : k == 1 ? m->n_state : m->ck.n_extra;
        for (i = 0; i < n; i += c) {
            c = n - i < 64 ? n - i : 64;
            if (bp__src_read(s, b, 4 * c) < 4 * c) return BP_ERR_TRUNCATED;
            if (m->kind == 4 && k < 2)
                for (j = 0; j < c; j++) bad |= !bp__finite(bp__getf(b + 4 * j));
            if (d && d->p[k] && d->n[k] == n)
                for (j = 0; j < c; j++) d->p[k][i + j] = bp__getf(b + 4 * j);
        }
    }
    crc = s->crc;
    if (bp__src_read(s, b, 4) < 4) return BP_ERR_TRUNCATED;
    if (bp__get32(b) != crc) return BP_ERR_CHECKSUM;
    if (!s->mem && bp__src_read(s, b, 1) != 0) return BP_ERR_TRAILING;
    m->crc = crc;
    return bad ? BP_ERR_CORRUPT : BP_OK;
}

BP__PRIVATE bp_status bp__parse_mem(const void *buf, size_t len, bp__model *m) {
    bp__src s;
    BP_MEMSET(&s, 0, sizeof s);
    if (!buf) return BP_ERR_NULL;
    if (len == 0) return BP_ERR_TRUNCATED;
    s.mem = (const unsigned char *)buf;
    s.len = len;
    return bp__parse(&s, m, NULL);
}

/* Whether two models have the same kind and topology (for kind 2 the relaxation settings are
   not topology: they travel with the parameters). */
BP__PRIVATE int bp__same_topology(const bp__model *a, const bp__model *b) {
    int l;
    if (bp__net_kind(a->kind) != bp__net_kind(b->kind)) return 0;
    if (a->kind == 2)
        return a->n_units == b->n_units && a->n_inputs == b->n_inputs
            && a->n_outputs == b->n_outputs && a->act == b->act;
    if (a->n_layers != b->n_layers || a->loss != b->loss) return 0;
    if (a->kind == 5) {
        if (a->seq.cell != b->seq.cell || a->seq.out != b->seq.out
            || a->seq.n_rec != b->seq.n_rec || a->seq.n_inputs != b->seq.n_inputs) return 0;
        for (l = 0; l < a->seq.n_rec; l++) if (a->seq.hidden[l] != b->seq.hidden[l]) return 0;
    }
    for (l = 0; l <= a->n_layers; l++) if (a->sizes[l] != b->sizes[l]) return 0;
    for (l = 0; l < a->n_layers; l++) if (a->acts[l] != b->acts[l]) return 0;
    return 1;
}

/* Both kinds of net meet here and part again in the public wrappers below. */
BP__PRIVATE bp_status bp__save(const bp__model *m, const float *params, void *buf, size_t cap) {
    bp__sink s;
    if (!buf || (!params && !m->qn)) return BP_ERR_NULL;
    if (bp__model_bytes(m) == 0 || cap < bp__model_bytes(m)) return BP_ERR_BUFFER;
    BP_MEMSET(&s, 0, sizeof s);
    s.mem = (unsigned char *)buf;
    bp__write_model(&s, m, params);
    return BP_OK;
}

/* n floats of checked bytes from byte at on */
BP__PRIVATE void bp__decode(const void *buf, size_t at, size_t n, float *to) {
    const unsigned char *p = (const unsigned char *)buf + at;
    size_t i;
    for (i = 0; i < n; i++) to[i] = bp__getf(p + 4 * i);
}

/* The parameters of checked bytes, which follow the header */
BP__PRIVATE void bp__decode_params(const void *buf, const bp__model *m, float *params) {
    bp__decode(buf, bp__head_bytes(m), m->n_params, params);
}

/* Checks the bytes, that they hold want's kind and topology, then copies the parameters;
   *got receives what the bytes say (the relaxation settings of a recurrent net). */
BP__PRIVATE bp_status bp__load(const bp__model *want, float *params, const void *buf, size_t len,
                               bp__model *got) {
    bp_status st;
    if (!params) return BP_ERR_NULL;
    if ((st = bp__parse_mem(buf, len, got)) != BP_OK) return st;
    if (bp__net_kind(got->kind) != want->kind) return BP_ERR_KIND;
    if (!bp__same_topology(want, got)) return BP_ERR_TOPOLOGY;
    bp__decode_params(buf, got, params);
    return BP_OK;
}

/* Hands a feed-forward model's topology to bp_peek's output pointers (any may be NULL). */
BP__PRIVATE bp_status bp__peek_out(const bp__model *m, int *n_layers, int *sizes, bp_act *acts,
                                   bp_loss *loss) {
    int l;
    if (bp__net_kind(m->kind) != 1) return BP_ERR_KIND;
    if (n_layers) *n_layers = m->n_layers;
    if (sizes) for (l = 0; l <= m->n_layers; l++) sizes[l] = m->sizes[l];
    if (acts) for (l = 0; l < m->n_layers; l++) acts[l] = m->acts[l];
    if (loss) *loss = m->loss;
    return BP_OK;
}

BP__PRIVATE void bp__rnet_settings(bp_rnet *net, const bp__model *m) {
    net->tau = m->tau;
    net->tol = m->tol;
    net->max_iters = m->max_iters;
    net->settled = 0;
}

BPDEF size_t bp_save_size(const bp_net *net) {
    bp__model m;
    if (!net || net->n_layers < 1 || net->n_layers > BP_MAX_LAYERS) return 0;
    bp__model_of_net(net, &m);
    return bp__model_bytes(&m);
}

BPDEF bp_status bp_save(const bp_net *net, void *buf, size_t cap) {
    bp__model m;
    if (!net || !net->params) return BP_ERR_NULL;
    if (bp_save_size(net) == 0) return BP_ERR_BUFFER;
    bp__model_of_net(net, &m);
    return bp__save(&m, net->params, buf, cap);
}

BPDEF bp_status bp_peek(const void *buf, size_t len, int *n_layers, int *sizes, bp_act *acts,
                        bp_loss *loss) {
    bp__model m;
    bp_status st = bp__parse_mem(buf, len, &m);
    return st != BP_OK ? st : bp__peek_out(&m, n_layers, sizes, acts, loss);
}

BPDEF bp_status bp_load(bp_net *net, const void *buf, size_t len) {
    bp__model want, got;
    const bp_status s = bp__writable(net);
    if (s != BP_OK) return s;
    bp__model_of_net(net, &want);
    return bp__load(&want, net->params, buf, len, &got);
}

BPDEF bp_status bp_load_params(const void *buf, size_t len, float *params, size_t params_len) {
    bp__model m;
    bp_status st;
    if (!params) return BP_ERR_NULL;
    if ((st = bp__parse_mem(buf, len, &m)) != BP_OK) return st;
    if (bp__net_kind(m.kind) != 1) return BP_ERR_KIND;
    if (params_len < m.n_params) return BP_ERR_PARAMS_SHORT;
    bp__decode_params(buf, &m, params);
    return BP_OK;
}

BPDEF size_t bp_rnet_save_size(const bp_rnet *net) {
    bp__model m;
    if (!net || net->n_units < 1) return 0;
    bp__model_of_rnet(net, &m);
    return bp__model_bytes(&m);
}

BPDEF bp_status bp_rnet_save(const bp_rnet *net, void *buf, size_t cap) {
    bp__model m;
    if (!net || !net->params) return BP_ERR_NULL;
    if (bp_rnet_save_size(net) == 0) return BP_ERR_BUFFER;
    bp__model_of_rnet(net, &m);
    return bp__save(&m, net->params, buf, cap);
}

BPDEF bp_status bp_rnet_peek(const void *buf, size_t len, int *n_units, int *n_inputs,
                             int *n_outputs, bp_act *act) {
    bp__model m;
    bp_status st = bp__parse_mem(buf, len, &m);
    if (st != BP_OK) return st;
    if (m.kind != 2) return BP_ERR_KIND;
    if (n_units) *n_units = m.n_units;
    if (n_inputs) *n_inputs = m.n_inputs;
    if (n_outputs) *n_outputs = m.n_outputs;
    if (act) *act = m.act;
    return BP_OK;
}

BPDEF bp_status bp_rnet_load(bp_rnet *net, const void *buf, size_t len) {
    bp__model want, got;
    bp_status st;
    if (!net) return BP_ERR_NULL;
    bp__model_of_rnet(net, &want);
    if ((st = bp__load(&want, net->params, buf, len, &got)) == BP_OK) bp__rnet_settings(net, &got);
    return st;
}

/* ---- kind 5: a sequence net (bp_seq) ----------------------------------------------------- */

BP__PRIVATE void bp__model_of_seq(const bp_seq *q, bp__model *m) {
    int l;
    BP_MEMSET(m, 0, sizeof *m);
    m->kind = 5;
    m->seq = q->spec;
    m->n_layers = q->head.n_layers;
    for (l = 0; l <= q->head.n_layers; l++) m->sizes[l] = q->head.sizes[l];
    for (l = 0; l < q->head.n_layers; l++) m->acts[l] = q->head.act[l];
    m->loss = q->head.loss;
    m->n_params = q->n_params;
}

BPDEF size_t bp_seq_save_size(const bp_seq *seq) {
    bp__model m;
    if (!seq || !seq->params) return 0;
    bp__model_of_seq(seq, &m);
    return bp__model_bytes(&m);
}

BPDEF bp_status bp_seq_save(const bp_seq *seq, void *buf, size_t cap) {
    bp__model m;
    if (!seq || !seq->params) return BP_ERR_NULL;
    bp__model_of_seq(seq, &m);
    return bp__save(&m, seq->params, buf, cap);
}

BPDEF bp_status bp_seq_peek(const void *buf, size_t len, bp_seq_spec *spec) {
    bp__model m;
    const bp_status st = bp__parse_mem(buf, len, &m);
    if (st != BP_OK) return st;
    if (m.kind != 5) return BP_ERR_KIND;
    if (spec) *spec = m.seq;
    return BP_OK;
}

BPDEF bp_status bp_seq_load(bp_seq *seq, const void *buf, size_t len) {
    bp__model want, got;
    const bp_status st = bp__seq_writable(seq);
    if (st != BP_OK) return st;
    bp__model_of_seq(seq, &want);
    return bp__load(&want, seq->params, buf, len, &got);
}

/* ---- kind 3: an int8 net ---------------------------------------------------------------- */

BP__PRIVATE void bp__model_of_qnet(const bp_qnet *qn, bp__model *m) {
    int l;
    BP_MEMSET(m, 0, sizeof *m);
    m->kind = 3;
    m->n_layers = qn->n_layers;
    for (l = 0; l <= qn->n_layers; l++) m->sizes[l] = qn->sizes[l];
    for (l = 0; l < qn->n_layers; l++) m->acts[l] = qn->act[l];
    m->loss = qn->loss;
    m->n_params = bp__qwords(qn->n_layers, qn->sizes);
    m->qn = qn;
}

BPDEF size_t bp_qsave_size(const bp_qnet *qn) {
    bp__model m;
    if (!qn || qn->n_layers < 1) return 0;
    bp__model_of_qnet(qn, &m);
    return bp__model_bytes(&m);
}

BPDEF bp_status bp_qsave(const bp_qnet *qn, void *buf, size_t cap) {
    bp__model m;
    if (!qn || !qn->weights || !qn->q) return BP_ERR_NULL;
    bp__model_of_qnet(qn, &m);
    return bp__save(&m, NULL, buf, cap);
}

/* A kind 3 model's bytes, parsed and its integers checked (bp__q_valid, and zero padding):
   *w and *q point at them in buf. */
BP__PRIVATE bp_status bp__qparse(const void *buf, size_t len, bp__model *m,
                                 const unsigned char **w, const unsigned char **q) {
    size_t nw, i;
    const bp_status st = bp__parse_mem(buf, len, m);
    if (st != BP_OK) return st;
    if (m->kind != 3) return BP_ERR_KIND;
    nw = bp_qweights_size(m->n_layers, m->sizes);
    *w = (const unsigned char *)buf + (len - 4 - 4 * m->n_params);
    *q = *w + 4 * ((nw + 3) / 4);
    for (i = nw; i < 4 * ((nw + 3) / 4); i++) if ((*w)[i]) return BP_ERR_CORRUPT;
    if (!bp__q_valid(m->n_layers, m->sizes, m->acts, NULL, NULL, *w, *q)) return BP_ERR_CORRUPT;
    return BP_OK;
}

BPDEF bp_status bp_qpeek(const void *buf, size_t len, int *n_layers, int *sizes, bp_act *acts,
                         bp_loss *loss) {
    bp__model m;
    const unsigned char *w, *q;
    const bp_status st = bp__qparse(buf, len, &m, &w, &q);
    if (st != BP_OK) return st;
    m.kind = 1;                                        /* the topology's form, for peek_out */
    return bp__peek_out(&m, n_layers, sizes, acts, loss);
}

BPDEF bp_status bp_qload(bp_qnet *qn, const void *buf, size_t len, int8_t *weights,
                         size_t weights_len, int32_t *q, size_t q_len, int8_t *work,
                         size_t work_len) {
    bp__model m;
    const unsigned char *wb, *qb;
    size_t i, nw, nq;
    bp_status st;
    if (!qn) return BP_ERR_NULL;
    BP_MEMSET(qn, 0, sizeof *qn);
    if (!weights || !q || !work) return BP_ERR_NULL;
    if ((st = bp__qparse(buf, len, &m, &wb, &qb)) != BP_OK) return st;
    nw = bp_qweights_size(m.n_layers, m.sizes);
    nq = bp_qparams_size(m.n_layers, m.sizes);
    if (weights_len < nw || q_len < nq) return BP_ERR_PARAMS_SHORT;
    if (work_len < bp_qwork_size(m.n_layers, m.sizes)) return BP_ERR_WORK_SHORT;
    for (i = 0; i < nw; i++)                               /* the byte as two's complement */
        weights[i] = (int8_t)bp__i32_of(wb[i] < 0x80 ? wb[i] : wb[i] | 0xffffff00u);
    for (i = 0; i < nq; i++) q[i] = bp__i32_of(bp__get32(qb + 4 * i));
    return bp__qinit(qn, m.n_layers, m.sizes, m.acts, m.loss, weights, weights_len, q, q_len,
                     work, work_len, 1);                     /* bp__qparse checked them */
}

/* ---- kind 4: a training checkpoint ------------------------------------------------------ */

/* Whether two optimizers take the same steps, lr aside: the settings their method reads. */
BP__PRIVATE int bp__same_opt(const bp_opt *a, const bp_opt *b) {
    const bp_method m = a->method;
    if (m != b->method || a->weight_decay != b->weight_decay || a->clip != b->clip) return 0;
    if ((m == BP_SGD || m == BP_RMSPROP) && a->momentum != b->momentum) return 0;
    if (m == BP_SGD && (a->nesterov != 0) != (b->nesterov != 0)) return 0;
    if (bp__adam_like(m) && a->beta1 != b->beta1) return 0;
    return m == BP_SGD || (a->beta2 == b->beta2 && a->eps == b->eps);
}

/* The model a checkpoint of net and c is: kind 4, c's fields, checked as save needs them. */
BP__PRIVATE bp_status bp__model_of_ckpt(const bp_net *net, const bp_checkpoint *c,
                                        bp__model *m) {
    bp_status st;
    if (!net || !net->params || !c) return BP_ERR_NULL;
    if (net->n_layers < 1 || net->n_layers > BP_MAX_LAYERS) return BP_ERR_LAYERS;
    if ((st = bp__check_rule(&c->opt, c->state, c->state_len, net->n_params)) != BP_OK)
        return st;
    if (c->n_extra && !c->extra) return BP_ERR_NULL;
    if (c->epoch < 0 || c->sample < 0) return BP_ERR_BATCH;
    bp__model_of_net(net, m);
    m->kind = 4;
    m->ck = *c;
    m->n_state = bp_opt_state_size(&c->opt, net->n_params);
    return bp__model_bytes(m) ? BP_OK : BP_ERR_OVERFLOW;
}

BPDEF size_t bp_checkpoint_size(const bp_net *net, const bp_checkpoint *c) {
    bp__model m;
    return bp__model_of_ckpt(net, c, &m) == BP_OK ? bp__model_bytes(&m) : 0;
}

BPDEF bp_status bp_checkpoint_save(const bp_net *net, const bp_checkpoint *c, void *buf,
                                   size_t cap) {
    bp__model m;
    const bp_status st = bp__model_of_ckpt(net, c, &m);
    return st != BP_OK ? st : bp__save(&m, net->params, buf, cap);
}

/* A checked checkpoint's fields into c (its state and extra pointers kept). */
BP__PRIVATE void bp__ckpt_out(const bp__model *m, bp_checkpoint *c) {
    c->opt = m->ck.opt;
    c->step = m->ck.step;
    c->epoch = m->ck.epoch;
    c->sample = m->ck.sample;
    c->rng = m->ck.rng;
    c->n_extra = m->ck.n_extra;
}

BPDEF bp_status bp_checkpoint_peek(const void *buf, size_t len, int *n_layers, int *sizes,
                                   bp_act *acts, bp_loss *loss, bp_checkpoint *c) {
    bp__model m;
    const bp_status st = bp__parse_mem(buf, len, &m);
    if (st != BP_OK) return st;
    if (m.kind != 4) return BP_ERR_KIND;
    if (c) bp__ckpt_out(&m, c);
    return bp__peek_out(&m, n_layers, sizes, acts, loss);
}

/* What a checked checkpoint m must agree with before it is restored into net and c. */
BP__PRIVATE bp_status bp__ckpt_fits(const bp_net *net, const bp_checkpoint *c,
                                    const bp__model *m) {
    bp__model want;
    if (m->kind != 4) return BP_ERR_KIND;
    bp__model_of_net(net, &want);
    if (!bp__same_topology(&want, m)) return BP_ERR_TOPOLOGY;
    if (!bp__same_opt(&c->opt, &m->ck.opt)) return BP_ERR_OPT_MISMATCH;
    if (m->n_state && !c->state) return BP_ERR_NULL;
    if (c->state_len < m->n_state) return BP_ERR_STATE_SHORT;
    if (c->n_extra != m->ck.n_extra) return BP_ERR_EXTRA;
    if (c->n_extra && !c->extra) return BP_ERR_NULL;
    return BP_OK;
}

BPDEF bp_status bp_checkpoint_load(bp_net *net, bp_checkpoint *c, const void *buf, size_t len) {
    bp__model m;
    bp_status st = bp__writable(net);
    if (st != BP_OK) return st;
    if (!c) return BP_ERR_NULL;
    if ((st = bp__parse_mem(buf, len, &m)) != BP_OK) return st;
    if ((st = bp__ckpt_fits(net, c, &m)) != BP_OK) return st;
    bp__decode_params(buf, &m, net->params);
    bp__decode(buf, bp__head_bytes(&m) + 4 * m.n_params, m.n_state, c->state);
    bp__decode(buf, bp__head_bytes(&m) + 4 * (m.n_params + m.n_state), m.ck.n_extra, c->extra);
    bp__ckpt_out(&m, c);
    return BP_OK;
}

/* ---- a model as C source ---------------------------------------------------------------- */

/* Text into a sink: a buffer of cap bytes (the count goes on past it, so the caller learns the
   length it needs), or a file. */
BP__PRIVATE void bp__text(bp__sink *s, const char *t) {
    size_t n = 0;
    while (t[n]) n++;
    if (s->mem) {
        if (s->n + n < s->cap) BP_MEMCPY(s->mem + s->n, t, n);
        else s->failed = 1;
        s->n += n;
    }
#ifndef BP_NO_STDIO
    else if (fwrite(t, 1, n, s->f) != n) s->failed = 1;
#endif
}

/* v in decimal (INT32_MIN as an expression: its literal would be unsigned) */
BP__PRIVATE void bp__text_int(bp__sink *s, int32_t v) {
    char d[16], *p = d + sizeof d;
    uint32_t u = v < 0 ? 0u - (uint32_t)v : (uint32_t)v;
    if (v == INT32_MIN) { bp__text(s, "(-2147483647 - 1)"); return; }
    *--p = '\0';
    do { *--p = (char)('0' + u % 10u); u /= 10u; } while (u);
    if (v < 0) *--p = '-';
    bp__text(s, p);
}

/* f as a C99 hexadecimal constant, exact: 0x1.8p-3f, 0x0.000002p-126f, -0x0p+0f */
BP__PRIVATE void bp__text_hexf(bp__sink *s, float f) {
    static const char hex[] = "0123456789abcdef";
    char t[32], *p = t;
    uint32_t u, frac;
    int e, k;
    BP_MEMCPY(&u, &f, sizeof u);
    frac = (u & 0x7fffffu) << 1;                               /* 24 bits: six hex digits */
    e = (int)(u >> 23 & 0xffu);
    if (u >> 31) *p++ = '-';
    *p++ = '0'; *p++ = 'x';
    *p++ = e ? '1' : '0';
    if (frac) {
        *p++ = '.';
        for (k = 5; k >= 0 && frac; k--, frac = frac << 4 & 0xffffffu) *p++ = hex[frac >> 20];
    }
    e = e ? e - 127 : (u & 0x7fffffffu) ? -126 : 0;
    *p++ = 'p';
    *p++ = e < 0 ? '-' : '+';
    if (e < 0) e = -e;
    if (e >= 100) *p++ = (char)('0' + e / 100);
    if (e >= 10) *p++ = (char)('0' + e / 10 % 10);
    *p++ = (char)('0' + e % 10);
    *p++ = 'f';
    *p = '\0';
    bp__text(s, t);
}

/* The activations' names in C source, by bp_act */
static const char *const bp__act_names[] = {"BP_LINEAR", "BP_SIGMOID", "BP_TANH", "BP_RELU",
                                            "BP_LEAKY_RELU", "BP_SOFTMAX"};

/* What bp_to_c and bp_qto_c write: see their declaration. m: kind 1 (params) or 3 (m->qn). */
BP__PRIVATE void bp__write_seq_c(bp__sink *s, const bp__model *m, const float *params,
                                 const char *name);
BP__PRIVATE void bp__write_c(bp__sink *s, const bp__model *m, const float *params,
                             const char *name) {
    static const char *const losses[] = {"BP_LOSS_SQUARED", "BP_LOSS_CROSS_ENTROPY"};
    const int q = m->kind == 3;
    const size_t n = q ? m->qn->n_weights : m->n_params;
    size_t i;
    int l;
    if (m->kind == 5) {
        bp__write_seq_c(s, m, params, name);
        return;
    }
#define BP__NAMED(what) (bp__text(s, name), bp__text(s, what))
    bp__text(s, "/* ");
    bp__text(s, name);
    bp__text(s, q ? ": an int8 feed-forward net for backprop.h " BACKPROP_VERSION_STRING
                    " (bp_qto_c), " : ": a feed-forward net for backprop.h "
                    BACKPROP_VERSION_STRING " (bp_to_c), ");
    for (l = 0; l <= m->n_layers; l++) {
        bp__text_int(s, m->sizes[l]);
        bp__text(s, l < m->n_layers ? "-" : ".\n");
    }
    bp__text(s, "   Include backprop.h first; then run it from these read-only arrays:\n       ");
    if (q) {
        bp__text(s, "static int8_t work["); BP__NAMED("_WORK];\n       bp_qnet qn;\n");
        bp__text(s, "       bp_qinit(&qn, "); BP__NAMED("_N_LAYERS, "); BP__NAMED("_sizes, ");
        BP__NAMED("_acts, "); BP__NAMED("_LOSS,\n                "); BP__NAMED("_weights, ");
        BP__NAMED("_N_WEIGHTS, "); BP__NAMED("_q, "); BP__NAMED("_N_Q, work, ");
        BP__NAMED("_WORK);\n   then bp_qforward or bp_qpredict. */\n");
    } else {
        bp__text(s, "static float work["); BP__NAMED("_WORK];\n       bp_net net;\n");
        bp__text(s, "       bp_init_forward(&net, "); BP__NAMED("_N_LAYERS, ");
        BP__NAMED("_sizes, ");
        BP__NAMED("_acts, "); BP__NAMED("_LOSS, 1,\n                       ");
        BP__NAMED("_params, "); BP__NAMED("_N_PARAMS, work, "); BP__NAMED("_WORK);\n");
        bp__text(s, "   then bp_forward. The floats are hexadecimal constants, exact (C99, "
                    "C++17). */\n");
    }
    bp__text(s, "#ifndef BP_MODEL_"); bp__text(s, name); bp__text(s, "_H\n");
    bp__text(s, "#define BP_MODEL_"); bp__text(s, name); bp__text(s, "_H\n");
    bp__text(s, "#define "); BP__NAMED("_N_LAYERS "); bp__text_int(s, m->n_layers);
    bp__text(s, "\n#define "); BP__NAMED("_LOSS "); bp__text(s, losses[m->loss]);
    bp__text(s, "\n#define "); BP__NAMED(q ? "_N_WEIGHTS " : "_N_PARAMS ");
    bp__text_int(s, (int32_t)n);
    if (q) {
        bp__text(s, "\n#define "); BP__NAMED("_N_Q "); bp__text_int(s, (int32_t)m->qn->n_q);
    }
    bp__text(s, "\n#define "); BP__NAMED("_WORK ");
    bp__text_int(s, (int32_t)(q ? m->qn->n_work : bp_forward_work_size(m->n_layers, m->sizes, 1)));
    bp__text(s, q ? "   /* int8 elements of work */\n" : "   /* floats of work, batches of 1 */\n");
    bp__text(s, "static const int "); BP__NAMED("_sizes["); BP__NAMED("_N_LAYERS + 1] = {");
    for (l = 0; l <= m->n_layers; l++) {
        bp__text_int(s, m->sizes[l]);
        bp__text(s, l < m->n_layers ? ", " : "};\n");
    }
    bp__text(s, "static const bp_act "); BP__NAMED("_acts["); BP__NAMED("_N_LAYERS] = {");
    for (l = 0; l < m->n_layers; l++) {
        bp__text(s, bp__act_names[m->acts[l]]);
        bp__text(s, l < m->n_layers - 1 ? ", " : "};\n");
    }
    bp__text(s, q ? "static const int8_t " : "static const float ");
    BP__NAMED(q ? "_weights[" : "_params["); BP__NAMED(q ? "_N_WEIGHTS] = {" : "_N_PARAMS] = {");
    for (i = 0; i < n; i++) {
        bp__text(s, i % (q ? 16 : 6) ? " " : "\n    ");
        if (q) bp__text_int(s, m->qn->weights[i]);
        else bp__text_hexf(s, params[i]);
        if (i + 1 < n) bp__text(s, ",");
    }
    bp__text(s, "\n};\n");
    if (q) {      /* per unit: bias, multiplier, shift, scale (bits); then the layers' scales */
        bp__text(s, "static const int32_t "); BP__NAMED("_q["); BP__NAMED("_N_Q] = {");
        for (i = 0; i < m->qn->n_q; i++) {
            bp__text(s, i % 8 ? " " : "\n    ");
            bp__text_int(s, m->qn->q[i]);
            if (i + 1 < m->qn->n_q) bp__text(s, ",");
        }
        bp__text(s, "\n};\n");
    }
    bp__text(s, "#endif\n");
#undef BP__NAMED
}

/* A sequence net as C source (bp_seq_to_c): its spec, its parameters, the sizes of one
   stream's work and carry. */
BP__PRIVATE void bp__write_seq_c(bp__sink *s, const bp__model *m, const float *params,
                                 const char *name) {
    static const char *const cells[] = {"BP_CELL_ELMAN", "BP_CELL_GRU", "BP_CELL_LSTM"};
    static const char *const outs[] = {"BP_SEQ_LAST", "BP_SEQ_MEAN", "BP_SEQ_EACH"};
    const bp_seq_spec *q = &m->seq;
    size_t i;
    int l;
#define BP__NAMED(what) (bp__text(s, name), bp__text(s, what))
    bp__text(s, "/* ");
    bp__text(s, name);
    bp__text(s, ": a sequence net for backprop.h " BACKPROP_VERSION_STRING " (bp_seq_to_c), ");
    bp__text(s, cells[q->cell] + 8);
    bp__text(s, " ");
    bp__text_int(s, q->n_inputs);
    for (l = 0; l < q->n_rec; l++) { bp__text(s, "-"); bp__text_int(s, q->hidden[l]); }
    for (l = 0; l < q->n_dense; l++) { bp__text(s, l ? "-" : " then "); bp__text_int(s, q->dense[l]); }
    bp__text(s, ".\n   Include backprop.h first; then stream it from these read-only arrays:\n");
    bp__text(s, "       static float work["); BP__NAMED("_WORK], carry[");
    BP__NAMED("_CARRY];\n       bp_seq seq;\n       bp_seq_init_forward(&seq, &");
    BP__NAMED("_spec, 1, 1, "); BP__NAMED("_params, "); BP__NAMED("_N_PARAMS, work, ");
    BP__NAMED("_WORK);\n   then bp_seq_step(&seq, x, carry, "); BP__NAMED("_CARRY, 1) for each "
              "step (carry zeroed at a start). */\n");
    bp__text(s, "#ifndef BP_MODEL_"); bp__text(s, name); bp__text(s, "_H\n");
    bp__text(s, "#define BP_MODEL_"); bp__text(s, name); bp__text(s, "_H\n");
    bp__text(s, "#define "); BP__NAMED("_N_PARAMS "); bp__text_int(s, (int32_t)m->n_params);
    bp__text(s, "\n#define "); BP__NAMED("_WORK ");
    bp__text_int(s, (int32_t)bp_seq_forward_work_size(q, 1, 1));
    bp__text(s, "   /* floats of work, one stream, a step at a time */\n#define ");
    BP__NAMED("_CARRY "); bp__text_int(s, (int32_t)bp_seq_carry_size(q, 1));
    bp__text(s, "\nstatic const bp_seq_spec "); BP__NAMED("_spec = {");
    bp__text(s, cells[q->cell]); bp__text(s, ", "); bp__text_int(s, q->n_inputs);
    bp__text(s, ", "); bp__text_int(s, q->n_rec); bp__text(s, ", {");
    for (l = 0; l < q->n_rec; l++) { if (l) bp__text(s, ", "); bp__text_int(s, q->hidden[l]); }
    bp__text(s, "}, "); bp__text(s, outs[q->out]); bp__text(s, ", ");
    bp__text_int(s, q->n_dense); bp__text(s, ", {");
    for (l = 0; l < q->n_dense; l++) { if (l) bp__text(s, ", "); bp__text_int(s, q->dense[l]); }
    bp__text(s, "}, {");
    for (l = 0; l < q->n_dense; l++) { if (l) bp__text(s, ", "); bp__text(s, bp__act_names[q->act[l]]); }
    bp__text(s, "}, ");
    bp__text(s, q->loss == BP_LOSS_SQUARED ? "BP_LOSS_SQUARED" : "BP_LOSS_CROSS_ENTROPY");
    bp__text(s, "};\nstatic const float "); BP__NAMED("_params["); BP__NAMED("_N_PARAMS] = {");
    for (i = 0; i < m->n_params; i++) {
        bp__text(s, i % 6 ? " " : "\n    ");
        bp__text_hexf(s, params[i]);
        if (i + 1 < m->n_params) bp__text(s, ",");
    }
    bp__text(s, "\n};\n#endif\n");
#undef BP__NAMED
}

/* The checks both writers make: a name that is a C identifier, finite floats. */
BP__PRIVATE bp_status bp__c_ok(const char *name, const float *params, size_t n) {
    size_t k;
    if (!name) return BP_ERR_NULL;
    for (k = 0; name[k]; k++) {
        const char c = name[k];
        if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (k > 0 && c >= '0' && c <= '9')) || k >= 64) return BP_ERR_NAME;
    }
    if (k == 0) return BP_ERR_NAME;
    for (k = 0; params && k < n; k++) if (!bp__finite(params[k])) return BP_ERR_NONFINITE;
    return BP_OK;
}

BP__PRIVATE bp_status bp__to_c(const bp__model *m, const float *params, const char *name,
                               char *buf, size_t cap, size_t *len) {
    bp__sink s;
    const bp_status st = bp__c_ok(name, params, m->n_params);
    if (st != BP_OK) return st;
    if (!buf && cap) return BP_ERR_NULL;
    BP_MEMSET(&s, 0, sizeof s);
    s.mem = (unsigned char *)buf;
    s.cap = cap;
    if (!buf) { s.mem = (unsigned char *)&s; s.cap = 0; }   /* count only */
    bp__write_c(&s, m, params, name);
    if (len) *len = s.n;
    if (s.failed) return BP_ERR_BUFFER;
    buf[s.n] = '\0';
    return BP_OK;
}

BPDEF bp_status bp_to_c(const bp_net *net, const char *name, char *buf, size_t cap, size_t *len) {
    bp__model m;
    if (!net || !net->params) return BP_ERR_NULL;
    bp__model_of_net(net, &m);
    return bp__to_c(&m, net->params, name, buf, cap, len);
}

BPDEF bp_status bp_qto_c(const bp_qnet *qn, const char *name, char *buf, size_t cap, size_t *len) {
    bp__model m;
    if (!qn || !qn->weights || !qn->q) return BP_ERR_NULL;
    bp__model_of_qnet(qn, &m);
    return bp__to_c(&m, NULL, name, buf, cap, len);
}

BPDEF bp_status bp_seq_to_c(const bp_seq *seq, const char *name, char *buf, size_t cap,
                            size_t *len) {
    bp__model m;
    if (!seq || !seq->params) return BP_ERR_NULL;
    bp__model_of_seq(seq, &m);
    return bp__to_c(&m, seq->params, name, buf, cap, len);
}

#ifndef BP_NO_STDIO
/* Crash-safe replacement of a file (see the file helpers' declaration). BP__CRASH_POINT(k)
   is a test's hook: nonzero makes the writer stop at stage k as if the process died there
   (the temporary closed as it stands, nothing cleaned up): 1 the temporary opened, 2 half
   of it written, 3 all written and flushed, 4 synced, 5 closed, 6 renamed over the target.
   tests/test_backprop.c checks that the target loads at each. */
#ifndef BP__CRASH_POINT
#define BP__CRASH_POINT(k) 0
#endif
#if defined(_WIN32)
__declspec(dllimport) int __stdcall MoveFileExA(const char *from, const char *to,
                                                unsigned long flags);
#define BP__SYNC(f) (_commit(_fileno(f)) == 0)
#elif defined(BP__POSIX_FILES)
#ifndef __cplusplus   /* ISO C mode hides the POSIX declarations: they are these */
int fsync(int fd);
int fileno(FILE *stream);
#endif
#define BP__SYNC(f) (fsync(fileno(f)) == 0)
#define BP__SYNC_DIR 1
#else
#define BP__SYNC(f) 1                    /* no portable way below stdio: fflush is all */
#endif

#ifdef BP__SYNC_DIR
/* fsync of the directory that holds path, so that the rename itself is on the disk (a
   directory opens for reading on POSIX systems, and fsync takes its descriptor). dir: room
   for n + 1 chars (the writer's temporary name, done with: the stack stays at one path). */
BP__PRIVATE int bp__sync_dir(char *dir, const char *path, size_t n) {
    FILE *f;
    int ok;
    while (n > 0 && path[n - 1] != '/') n--;
    if (n == 0) { dir[0] = '.'; n = 1; }
    else BP_MEMCPY(dir, path, n);
    dir[n] = '\0';
    if (!(f = fopen(dir, "r"))) return 0;
    ok = BP__SYNC(f);
    return fclose(f) == 0 && ok;
}
#endif

/* Writes the model (name: as C source) to path + ".tmp", syncs it, renames it over path and
   syncs the directory. */
BP__PRIVATE bp_status bp__save_file(const bp__model *m, const float *params, const char *path,
                                    const char *name) {
    char tmp[4096];
    size_t n;
    bp__sink s;
    if (!path || (!params && !m->qn)) return BP_ERR_NULL;
    if (bp__model_bytes(m) == 0) return BP_ERR_BUFFER;
    if (name) {
        const bp_status st = bp__c_ok(name, params, m->n_params);
        if (st != BP_OK) return st;
    }
    for (n = 0; path[n]; n++) {}
    if (n == 0 || n + 5 > sizeof tmp) return BP_ERR_IO;
    BP_MEMCPY(tmp, path, n);
    BP_MEMCPY(tmp + n, ".tmp", 5);
    BP_MEMSET(&s, 0, sizeof s);
    if (!(s.f = fopen(tmp, "wb"))) return BP_ERR_IO;
#define BP__DIE_AT(k) if (BP__CRASH_POINT(k)) { if (k < 5) fclose(s.f); return BP_ERR_IO; }
    BP__DIE_AT(1)
    if (!name && BP__CRASH_POINT(2)) s.stop = bp__model_bytes(m) / 2;
    if (name) bp__write_c(&s, m, params, name);
    else bp__write_model(&s, m, params);
    BP__DIE_AT(2)
    if (s.failed || fflush(s.f) != 0) {
        fclose(s.f);
        remove(tmp);
        return BP_ERR_IO;
    }
    BP__DIE_AT(3)
    if (!BP__SYNC(s.f)) {
        fclose(s.f);
        remove(tmp);
        return BP_ERR_IO;
    }
    BP__DIE_AT(4)
    if (fclose(s.f) != 0) {
        remove(tmp);
        return BP_ERR_IO;
    }
    BP__DIE_AT(5)
#ifdef _WIN32
    if (!MoveFileExA(tmp, path, 0x1 | 0x8)) {   /* MOVEFILE_REPLACE_EXISTING, _WRITE_THROUGH */
#else
    if (rename(tmp, path) != 0) {               /* POSIX: atomic, the old file or the new */
#endif
        remove(tmp);
        return BP_ERR_IO;
    }
    BP__DIE_AT(6)
#undef BP__DIE_AT
#ifdef BP__SYNC_DIR
    if (!bp__sync_dir(tmp, path, n)) return BP_ERR_IO;
#endif
    return BP_OK;
}

/* Reads and checks the model at path, decoding its payload as d says (d may be NULL). */
BP__PRIVATE bp_status bp__parse_file(const char *path, bp__model *m, const bp__dst *d) {
    bp__src s;
    bp_status st;
    if (!path) return BP_ERR_NULL;
    BP_MEMSET(&s, 0, sizeof s);
    if (!(s.f = fopen(path, "rb"))) return BP_ERR_IO;
    st = bp__parse(&s, m, d);
    if (st == BP_OK && ferror(s.f)) st = BP_ERR_IO;
    fclose(s.f);
    return st;
}

/* One pass: the parameters are decoded into grads (scratch) while the checksum runs, and
   copied into params only when everything, the topology included, checked out. */
BP__PRIVATE bp_status bp__load_file(const bp__model *want, float *params, float *grads,
                                    const char *path, bp__model *got) {
    bp_status st;
    bp__dst d;
    if (!params || !grads) return BP_ERR_NULL;
    BP_MEMSET(&d, 0, sizeof d);
    d.p[0] = grads;
    d.n[0] = want->n_params;
    if ((st = bp__parse_file(path, got, &d)) != BP_OK) return st;
    if (bp__net_kind(got->kind) != want->kind) return BP_ERR_KIND;
    if (!bp__same_topology(want, got)) return BP_ERR_TOPOLOGY;
    BP_MEMCPY(params, grads, want->n_params * sizeof *params);
    return BP_OK;
}

BPDEF bp_status bp_checkpoint_save_file(const bp_net *net, const bp_checkpoint *c,
                                        const char *path) {
    bp__model m;
    const bp_status st = bp__model_of_ckpt(net, c, &m);
    return st != BP_OK ? st : bp__save_file(&m, net->params, path, NULL);
}

BPDEF bp_status bp_checkpoint_peek_file(const char *path, int *n_layers, int *sizes,
                                        bp_act *acts, bp_loss *loss, bp_checkpoint *c) {
    bp__model m;
    const bp_status st = bp__parse_file(path, &m, NULL);
    if (st != BP_OK) return st;
    if (m.kind != 4) return BP_ERR_KIND;
    if (c) bp__ckpt_out(&m, c);
    return bp__peek_out(&m, n_layers, sizes, acts, loss);
}

/* Two passes: the first checks everything, the second decodes into the arrays; the two
   must read the same bytes (the same checksum). */
BPDEF bp_status bp_checkpoint_load_file(bp_net *net, bp_checkpoint *c, const char *path) {
    bp__model m, again;
    bp__dst d;
    bp_status st = bp__writable(net);
    if (st != BP_OK) return st;
    if (!c) return BP_ERR_NULL;
    if ((st = bp__parse_file(path, &m, NULL)) != BP_OK) return st;
    if ((st = bp__ckpt_fits(net, c, &m)) != BP_OK) return st;
    d.p[0] = net->params; d.n[0] = m.n_params;
    d.p[1] = c->state;    d.n[1] = m.n_state;
    d.p[2] = c->extra;    d.n[2] = m.ck.n_extra;
    if (bp__parse_file(path, &again, &d) != BP_OK || again.crc != m.crc) return BP_ERR_IO;
    bp__ckpt_out(&m, c);
    return BP_OK;
}

BPDEF bp_status bp_save_file(const bp_net *net, const char *path) {
    bp__model m;
    if (!net || !net->params) return BP_ERR_NULL;
    bp__model_of_net(net, &m);
    return bp__save_file(&m, net->params, path, NULL);
}

BPDEF bp_status bp_peek_file(const char *path, int *n_layers, int *sizes, bp_act *acts,
                             bp_loss *loss) {
    bp__model m;
    bp_status st = bp__parse_file(path, &m, NULL);
    return st != BP_OK ? st : bp__peek_out(&m, n_layers, sizes, acts, loss);
}

BPDEF bp_status bp_load_file(bp_net *net, const char *path) {
    bp__model want, got;
    const bp_status s = bp__writable(net);
    if (s != BP_OK) return s;
    bp__model_of_net(net, &want);
    return bp__load_file(&want, net->params, net->grads, path, &got);
}

BPDEF bp_status bp_to_c_file(const bp_net *net, const char *name, const char *path) {
    bp__model m;
    if (!net || !net->params) return BP_ERR_NULL;
    bp__model_of_net(net, &m);
    return bp__save_file(&m, net->params, path, name);
}

BPDEF bp_status bp_qto_c_file(const bp_qnet *qn, const char *name, const char *path) {
    bp__model m;
    if (!qn || !qn->weights || !qn->q) return BP_ERR_NULL;
    bp__model_of_qnet(qn, &m);
    return bp__save_file(&m, NULL, path, name);
}

BPDEF bp_status bp_qsave_file(const bp_qnet *qn, const char *path) {
    bp__model m;
    if (!qn || !qn->weights || !qn->q) return BP_ERR_NULL;
    bp__model_of_qnet(qn, &m);
    return bp__save_file(&m, NULL, path, NULL);
}

BPDEF bp_status bp_rnet_save_file(const bp_rnet *net, const char *path) {
    bp__model m;
    if (!net || !net->params) return BP_ERR_NULL;
    bp__model_of_rnet(net, &m);
    return bp__save_file(&m, net->params, path, NULL);
}

BPDEF bp_status bp_rnet_load_file(bp_rnet *net, const char *path) {
    bp__model want, got;
    bp_status st;
    if (!net) return BP_ERR_NULL;
    bp__model_of_rnet(net, &want);
    st = bp__load_file(&want, net->params, net->grads, path, &got);
    if (st == BP_OK) bp__rnet_settings(net, &got);
    return st;
}

BPDEF bp_status bp_seq_save_file(const bp_seq *seq, const char *path) {
    bp__model m;
    if (!seq || !seq->params) return BP_ERR_NULL;
    bp__model_of_seq(seq, &m);
    return bp__save_file(&m, seq->params, path, NULL);
}

BPDEF bp_status bp_seq_peek_file(const char *path, bp_seq_spec *spec) {
    bp__model m;
    const bp_status st = bp__parse_file(path, &m, NULL);
    if (st != BP_OK) return st;
    if (m.kind != 5) return BP_ERR_KIND;
    if (spec) *spec = m.seq;
    return BP_OK;
}

BPDEF bp_status bp_seq_load_file(bp_seq *seq, const char *path) {
    bp__model want, got;
    const bp_status st = bp__seq_writable(seq);
    if (st != BP_OK) return st;
    bp__model_of_seq(seq, &want);
    return bp__load_file(&want, seq->params, seq->grads, path, &got);
}

BPDEF bp_status bp_seq_to_c_file(const bp_seq *seq, const char *name, const char *path) {
    bp__model m;
    if (!seq || !seq->params) return BP_ERR_NULL;
    bp__model_of_seq(seq, &m);
    return bp__save_file(&m, seq->params, path, name);
}
#endif /* BP_NO_STDIO */

#ifdef __cplusplus
}
#endif
#if defined(__clang__)
#pragma float_control(pop)
#endif
#endif /* BACKPROP_IMPLEMENTATION_DONE */
#endif /* BACKPROP_IMPLEMENTATION */

/*
   VERSION HISTORY (one line each; the details: README "Breaking changes", BENCHMARKS.md)
     0.2.5 (2026-12-07)  seven parts, the core first (Part 1, at most 700 lines); a map, checked
     0.2.4 (2026-12-07)  sequences: Elman, GRU, LSTM by BPTT (bp_seq, kind 5); checkpoints (kind 4)
     0.2.3 (2026-12-04)  firmware: bp_init_forward over const params, int8 inference (bp_qnet,
                         model kind 3), models as C source (bp_to_c, bp2c), BP_NO_BATCH
     0.2.2 (2026-12-04)  run-time dispatch: AVX2, AVX-512 kernels at -O2, bp_set_level; clang: no
                         contraction (its bits now GCC's)
     0.2.1 (2026-12-04)  three fenced parts; BP_NO_SIMD, the plain path, same bits; BP_NO_STDIO
     0.2.0 (2026-12-04)  breaking: array lengths; Adam, AdamW, RMSprop, labels; no NaN steps
     0.1.5 (2026-11-28)  the transposing pack prefetches each row's next lines
     0.1.4 (2026-11-28)  AVX-512 tile 8 x 32; 8 x 8 transposes; bp_sgd, bp_update not inlined
     0.1.3 (2026-11-28)  tiles that fit their registers; half-width kernels for a last panel
     0.1.2 (2026-11-28)  threads split rows evenly; narrow layers split by samples
     0.1.1 (2026-11-28)  the weight gradient's step fused into its product; one OpenMP region
     0.1.0 (2026-11-27)  dense and recurrent backpropagation, SGD, save/load, GEMM, OpenMP

   ---------------------------------------------------------------------------------------------
   This software is available under two licenses; choose whichever you prefer.
   ---------------------------------------------------------------------------------------------
   ALTERNATIVE A - MIT License
   Copyright (c) 2026 the backprop.h authors
   Permission is hereby granted, free of charge, to any person obtaining a copy of this software
   and associated documentation files (the "Software"), to deal in the Software without
   restriction, including without limitation the rights to use, copy, modify, merge, publish,
   distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the
   Software is furnished to do so, subject to the following conditions:
   The above copyright notice and this permission notice shall be included in all copies or
   substantial portions of the Software.
   THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING
   BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
   NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,
   DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
   OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
   ---------------------------------------------------------------------------------------------
   ALTERNATIVE B - Public Domain (www.unlicense.org)
   This is free and unencumbered software released into the public domain.
   Anyone is free to copy, modify, publish, use, compile, sell, or distribute this software,
   either in source code form or as a compiled binary, for any purpose, commercial or
   non-commercial, and by any means.
   In jurisdictions that recognize copyright laws, the author or authors of this software
   dedicate any and all copyright interest in the software to the public domain. We make this
   dedication for the benefit of the public at large and to the detriment of our heirs and
   successors. We intend this dedication to be an overt act of relinquishment in perpetuity of
   all present and future rights to this software under copyright law.
   THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING
   BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
   NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
   LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN
   CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
*/
