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

/* Number of threads used by mn_sgemm and the other parallel loops.
 * 0 restores the default (OMP_NUM_THREADS, or all cores). */
void mn_set_threads(int n);
int mn_get_threads(void);

#endif
