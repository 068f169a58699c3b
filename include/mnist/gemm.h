/* gemm.h - single-precision matrix multiply, ours.
 *
 *   C = alpha * op(A) * op(B) + beta * C
 *
 * All matrices are row-major. op(A) is M x K, op(B) is K x N, C is M x N.
 * transA / transB nonzero means the stored matrix is the transpose: A is
 * stored K x M (lda >= M) and B is stored N x K (ldb >= K). When beta == 0,
 * C is written without being read (NaNs in C do not propagate).
 *
 * Threads (OpenMP, when built with it) split the output into tiles and never
 * split the K sum, so the result is bit-identical whatever the thread count.
 */
#ifndef MNIST_GEMM_H
#define MNIST_GEMM_H

void mn_sgemm(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc);

/* Same, with a fused epilogue applied as C is written:
 *
 *   C = act(alpha * op(A) * op(B) + beta * C + bias)
 *
 * bias (may be NULL) has N entries, bias[j] is added to column j of every
 * row; act is max(x, 0) when relu is nonzero (NaN stays NaN), the identity
 * otherwise. mn_sgemm is mn_sgemm_ex with bias = NULL, relu = 0. */
void mn_sgemm_ex(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
                 const float *B, int ldb, float beta, float *C, int ldc, const float *bias, int relu);

/* The product handed over in blocks: calls done(ctx, blk, ld, i0, i1, j0,
 * j1) as soon as the block C[i0..i1) x [j0..j1) is final, with its values
 * at blk[(i - i0) * ld + (j - j0)], from the thread that computed it, while
 * the block is still in that core's cache. The blocks partition C, each
 * comes once, in no set order, possibly from several threads at once; the
 * hook must not start parallel regions. C is where the product may be
 * computed: its contents afterwards are unspecified (with beta = 0 and K up
 * to a K block, blocks come from a scratch panel and C is not written).
 * The dense layer hands its weight gradient to the optimizer this way: the
 * update reads the gradient from L1, and the gradient never goes to memory
 * or through a second pass and fork/join. */
typedef void mn_gemm_done_fn(void *ctx, const float *blk, int ld, int i0, int i1, int j0, int j1);
void mn_sgemm_then(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                   int ldb, float beta, float *C, int ldc, mn_gemm_done_fn *done, void *ctx);

/* C = alpha * A * B^T + beta * C where B (N x K) is not stored but gathered:
 * B[j][k] = base[row[j] + col[k]]. A convolution's weight gradient is this
 * product with B the im2col matrix of its input (row: where each tap's
 * window starts, col: where each output position reads), so the columns
 * never have to be written out. For N > 16 the bits are those of
 * mn_sgemm(0, 1, ...) on the materialised B (narrower products go through
 * mn_sgemm's dot-product path, which orders the sums differently). Fast
 * with AVX-512 or AVX2; builds without either use plain loops, correct but
 * slow, and the convolution does not call it there. */
void mn_sgemm_nt_gather(int M, int N, int K, float alpha, const float *A, int lda, const float *base, const int *row,
                        const int *col, float beta, float *C, int ldc);

/* The instruction set the kernels (GEMM, convolution, pooling, the
 * optimizers' arithmetic) run with: "avx512", "avx2", "neon" or "portable".
 * One binary carries several (x86-64: AVX-512, AVX2+FMA, baseline) and takes
 * the best this CPU runs, or the environment's MNIST_ISA (the process ends
 * with a message when this CPU or binary lacks it). mn_isa_available lists
 * those this binary can run here, best first, space-separated.
 * mn_isa_select switches (tests, benchmarks; not while kernels run): 0 on
 * success, -1 if the binary or the CPU lacks it. */
const char *mn_isa(void);
const char *mn_isa_available(void);
int mn_isa_select(const char *name);

/* Number of threads used by mn_sgemm and the other parallel loops.
 * 0 restores the default (OMP_NUM_THREADS, or all cores). */
void mn_set_threads(int n);
int mn_get_threads(void);

/* Benchmark: allocates op(A) M x K, op(B) K x N and C (beta = 0), warms up,
 * then times repeated mn_sgemm calls with the given thread count (0 = the
 * current setting; restored afterwards) for about min_seconds in total and
 * returns the median GFLOP/s (2*M*N*K flops per call) over several timed
 * repetitions. Returns 0 on bad arguments or allocation failure. */
double mn_sgemm_bench_gflops(int transA, int transB, int M, int N, int K, int threads, double min_seconds);

/* Testing hook: nonzero forces the portable C micro-kernel instead of the
 * AVX-512 / AVX2 one chosen at compile time; 0 goes back to the default. */
void mn_gemm_use_portable_kernel(int on);

/* Testing hook: nonzero keeps every product off the direct path (B read in
 * place, no packing; taken when op(B) = B is small or M is), so that tests
 * can check it gives the packed loops' bits; 0 goes back to the default. */
void mn_gemm_no_direct(int on);

#endif
