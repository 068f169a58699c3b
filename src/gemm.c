/* gemm.c - single-precision GEMM, BLIS-style.
 *
 *   C = alpha * op(A) * op(B) + beta * C      (row-major)
 *
 * Structure (the five loops around a micro-kernel, after Goto & van de Geijn
 * and the BLIS "anatomy of high-performance GEMM" papers):
 *
 *   for jc in N step NC            (B block lives in L3)
 *     for pc in K step KC
 *       pack op(B)[pc:+KC, jc:+NC] into KC x NR slivers      -> Bp
 *       for ic in M step MC        (A block lives in L2)
 *         pack op(A)[ic:+MC, pc:+KC] into MR x KC slivers    -> Ap
 *         for jr in NC step NR     (one B sliver stays in L1)
 *           for ir in MC step MR
 *             micro-kernel: MR x NR tile of C += Ap sliver * Bp sliver
 *
 * Packing does the transposes, so the micro-kernel sees one layout: an A
 * sliver is KC columns of MR consecutive floats (op(A)[i0..i0+MR)[k]), a B
 * sliver is KC rows of NR consecutive floats (op(B)[k][j0..j0+NR)). Slivers
 * at the edges are zero-padded; the kernel then writes back only the valid
 * m x n part (masked stores with AVX-512, a temporary tile otherwise).
 *
 * beta is applied by the micro-kernel at the first KC block (C is not read
 * when beta == 0), later KC blocks accumulate with beta = 1; alpha scales the
 * accumulators at write-back.
 *
 * Threads split the output into rectangles (in whole MR / NR slivers); every
 * thread runs the loops above on its own rectangle with its own packing
 * buffers. The K loop is never split and its blocking does not depend on the
 * thread count, so every element of C sees the same sequence of operations:
 * results are bit-identical for any number of threads.
 */
#include "mnist/gemm.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
#include <immintrin.h>
#endif

/* ---- register blocking --------------------------------------------------
 * AVX-512: 8 x 32 tile = 16 zmm accumulators, 2 zmm of B per k, A values
 * broadcast from memory. Zen 4 issues one 512-bit FMA per cycle (two 256-bit
 * pipes) with latency 4, so 16 independent chains hide the latency with
 * room to spare and the loads (2 vectors + 8 broadcasts per 16 FMAs) stay
 * below the two load ports. 8 rows divide our batch sizes (32, 128).
 * AVX2+FMA: 6 x 16 = 12 ymm accumulators (the classic Haswell shape).
 * Portable: 4 x 16, left to the compiler's vectoriser. */
#if defined(__AVX512F__)
#define MR 8
#define NR 32
#elif defined(__AVX2__) && defined(__FMA__)
#define MR 6
#define NR 16
#else
#define MR 4
#define NR 16
#endif

/* ---- cache blocking (Zen 4: L1d 32 KiB, L2 1 MiB per core, L3 shared) ----
 * KC: one B sliver (KC x NR floats = 32 KiB at KC 256, NR 32) is reused by
 *     all MC/MR A slivers; an A sliver (KC x MR = 8 KiB) streams through L1.
 *     KC = 256 keeps the write-back of C (once per KC) well amortised.
 * MC: the packed A block (MC x KC) must stay in L2 next to the B sliver
 *     stream: 192 x 256 x 4 = 192 KiB, a fifth of L2, leaving room for B.
 * NC: the packed B block (KC x NC) lives in L2/L3: 256 x 2048 x 4 = 2 MiB.
 */
#define KC 256
#define MC 192
#define NC 2048

/* Below this many multiply-adds (M*N*K) a single thread does the work: the
 * fork/join costs more than it saves. */
#define PAR_THRESHOLD (64L * 64L * 64L)

/* ---- threads ------------------------------------------------------------ */

static int g_threads; /* 0 = not yet set */

static int default_threads(void)
{
#ifdef _OPENMP
    const char *s = getenv("OMP_NUM_THREADS");
    if (s) {
        int n = atoi(s);
        if (n > 0) return n;
    }
    return omp_get_num_procs();
#else
    return 1;
#endif
}

void mn_set_threads(int n)
{
    if (n <= 0) n = default_threads();
    g_threads = n;
#ifdef _OPENMP
    omp_set_num_threads(n);
#endif
}

int mn_get_threads(void)
{
#ifdef _OPENMP
    if (g_threads <= 0) g_threads = default_threads();
    return g_threads;
#else
    return 1;
#endif
}

static int g_force_portable;

void mn_gemm_use_portable_kernel(int on)
{
    g_force_portable = on != 0;
}

/* ---- per-thread packing buffers ----------------------------------------- */

static _Thread_local float *tl_buf;
static _Thread_local size_t tl_cap; /* floats */

static float *pack_buffer(size_t nfloats)
{
    if (nfloats > tl_cap) {
        free(tl_buf);
        size_t bytes = (nfloats * sizeof(float) + 63) & ~(size_t)63;
        tl_buf = aligned_alloc(64, bytes);
        tl_cap = tl_buf ? bytes / sizeof(float) : 0;
    }
    return tl_buf;
}

/* ---- packing ------------------------------------------------------------ */

/* op(A)[i0 .. i0+mc)[p0 .. p0+kc) into ceil(mc/MR) slivers of kc x MR. */
static void pack_a(int transA, const float *A, int lda, int i0, int mc, int p0, int kc, float *dst)
{
    for (int is = 0; is < mc; is += MR) {
        int m = mc - is < MR ? mc - is : MR;
        if (transA) {
            /* A stored K x M: row p holds op(A)[.][p] contiguously */
            const float *src = A + (size_t)p0 * lda + i0 + is;
            if (m == MR) {
                for (int k = 0; k < kc; k++)
                    for (int i = 0; i < MR; i++) dst[k * MR + i] = src[(size_t)k * lda + i];
            } else {
                for (int k = 0; k < kc; k++)
                    for (int i = 0; i < MR; i++) dst[k * MR + i] = i < m ? src[(size_t)k * lda + i] : 0.0f;
            }
        } else {
            const float *src = A + (size_t)(i0 + is) * lda + p0;
            for (int i = 0; i < m; i++) {
                const float *row = src + (size_t)i * lda;
                for (int k = 0; k < kc; k++) dst[k * MR + i] = row[k];
            }
            for (int i = m; i < MR; i++)
                for (int k = 0; k < kc; k++) dst[k * MR + i] = 0.0f;
        }
        dst += (size_t)kc * MR;
    }
}

/* op(B)[p0 .. p0+kc)[j0 .. j0+nc) into ceil(nc/NR) slivers of kc x NR. */
static void pack_b(int transB, const float *B, int ldb, int p0, int kc, int j0, int nc, float *dst)
{
    for (int js = 0; js < nc; js += NR) {
        int n = nc - js < NR ? nc - js : NR;
        if (!transB) {
            const float *src = B + (size_t)p0 * ldb + j0 + js;
            if (n == NR) {
                for (int k = 0; k < kc; k++) memcpy(dst + (size_t)k * NR, src + (size_t)k * ldb, NR * sizeof(float));
            } else {
                for (int k = 0; k < kc; k++) {
                    memcpy(dst + (size_t)k * NR, src + (size_t)k * ldb, (size_t)n * sizeof(float));
                    for (int j = n; j < NR; j++) dst[k * NR + j] = 0.0f;
                }
            }
        } else {
            /* B stored N x K: row j holds op(B)[.][j] contiguously */
            const float *src = B + (size_t)(j0 + js) * ldb + p0;
            for (int j = 0; j < n; j++) {
                const float *row = src + (size_t)j * ldb;
                for (int k = 0; k < kc; k++) dst[k * NR + j] = row[k];
            }
            for (int j = n; j < NR; j++)
                for (int k = 0; k < kc; k++) dst[k * NR + j] = 0.0f;
        }
        dst += (size_t)kc * NR;
    }
}

/* ---- micro-kernels ------------------------------------------------------
 * c[0..m)[0..n) = alpha * sum_k a[k][.] b[k][.] + beta * c   (c not read
 * when beta == 0). a: kc x MR, b: kc x NR, both packed. */

typedef void kernel_fn(int kc, const float *a, const float *b, float *c, int ldc, int m, int n, float alpha,
                       float beta);

static void kernel_portable(int kc, const float *a, const float *b, float *c, int ldc, int m, int n, float alpha,
                            float beta)
{
    float acc[MR][NR];
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < NR; j++) acc[i][j] = 0.0f;
    for (int k = 0; k < kc; k++) {
        const float *ak = a + (size_t)k * MR, *bk = b + (size_t)k * NR;
        for (int i = 0; i < MR; i++) {
            float av = ak[i];
            for (int j = 0; j < NR; j++) acc[i][j] += av * bk[j];
        }
    }
    for (int i = 0; i < m; i++) {
        float *ci = c + (size_t)i * ldc;
        if (beta == 0.0f) {
            for (int j = 0; j < n; j++) ci[j] = alpha * acc[i][j];
        } else {
            for (int j = 0; j < n; j++) ci[j] = alpha * acc[i][j] + beta * ci[j];
        }
    }
}

#if defined(__AVX512F__)
static void kernel_simd(int kc, const float *a, const float *b, float *c, int ldc, int m, int n, float alpha,
                        float beta)
{
    __m512 c0[MR], c1[MR];
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
        c0[i] = _mm512_setzero_ps();
        c1[i] = _mm512_setzero_ps();
    }
    for (int k = 0; k < kc; k++) {
        __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 16
        for (int i = 0; i < MR; i++) {
            __m512 av = _mm512_set1_ps(a[i]);
            c0[i] = _mm512_fmadd_ps(av, b0, c0[i]);
            c1[i] = _mm512_fmadd_ps(av, b1, c1[i]);
        }
        a += MR;
        b += NR;
    }
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    __mmask16 k0 = n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u);
    __mmask16 k1 = n >= 32 ? (__mmask16)0xFFFF : n <= 16 ? (__mmask16)0 : (__mmask16)((1u << (n - 16)) - 1u);
    if (m > MR) m = MR;
    for (int i = 0; i < m; i++) {
        float *ci = c + (size_t)i * ldc;
        __m512 r0 = _mm512_mul_ps(va, c0[i]), r1 = _mm512_mul_ps(va, c1[i]);
        if (beta != 0.0f) {
            r0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(k0, ci), r0);
            r1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(k1, ci + 16), r1);
        }
        _mm512_mask_storeu_ps(ci, k0, r0);
        _mm512_mask_storeu_ps(ci + 16, k1, r1);
    }
}
#define HAVE_SIMD_KERNEL 1
#elif defined(__AVX2__) && defined(__FMA__)
static void kernel_simd(int kc, const float *a, const float *b, float *c, int ldc, int m, int n, float alpha,
                        float beta)
{
    __m256 c0[MR], c1[MR];
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
        c0[i] = _mm256_setzero_ps();
        c1[i] = _mm256_setzero_ps();
    }
    for (int k = 0; k < kc; k++) {
        __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 16
        for (int i = 0; i < MR; i++) {
            __m256 av = _mm256_broadcast_ss(a + i);
            c0[i] = _mm256_fmadd_ps(av, b0, c0[i]);
            c1[i] = _mm256_fmadd_ps(av, b1, c1[i]);
        }
        a += MR;
        b += NR;
    }
    __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    if (m > MR) m = MR;
    if (n == NR) {
        for (int i = 0; i < m; i++) {
            float *ci = c + (size_t)i * ldc;
            __m256 r0 = _mm256_mul_ps(va, c0[i]), r1 = _mm256_mul_ps(va, c1[i]);
            if (beta != 0.0f) {
                r0 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(ci), r0);
                r1 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(ci + 8), r1);
            }
            _mm256_storeu_ps(ci, r0);
            _mm256_storeu_ps(ci + 8, r1);
        }
    } else {
        /* edge: same arithmetic through a temporary tile */
        float t[NR];
        for (int i = 0; i < m; i++) {
            float *ci = c + (size_t)i * ldc;
            __m256 r0 = _mm256_mul_ps(va, c0[i]), r1 = _mm256_mul_ps(va, c1[i]);
            if (beta != 0.0f) {
                for (int j = 0; j < NR; j++) t[j] = j < n ? ci[j] : 0.0f;
                r0 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(t), r0);
                r1 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(t + 8), r1);
            }
            _mm256_storeu_ps(t, r0);
            _mm256_storeu_ps(t + 8, r1);
            for (int j = 0; j < n; j++) ci[j] = t[j];
        }
    }
}
#define HAVE_SIMD_KERNEL 1
#endif

static kernel_fn *pick_kernel(void)
{
#ifdef HAVE_SIMD_KERNEL
    if (!g_force_portable) return kernel_simd;
#endif
    return kernel_portable;
}

/* ---- driver --------------------------------------------------------------- */

typedef struct {
    int transA, transB, M, N, K;
    float alpha, beta;
    const float *A, *B;
    float *C;
    int lda, ldb, ldc;
    kernel_fn *kernel;
} gemm_args;

/* The blocked loops over the output rectangle [i0, i1) x [j0, j1). */
static void gemm_block(const gemm_args *g, int i0, int i1, int j0, int j1)
{
    if (i0 >= i1 || j0 >= j1) return;
    int K = g->K;
    int mcmax = i1 - i0 < MC ? i1 - i0 : MC, ncmax = j1 - j0 < NC ? j1 - j0 : NC;
    int kcmax = K < KC ? K : KC;
    /* A part rounded up to 16 floats so that Bp is 64-byte aligned too */
    size_t asz = ((size_t)((mcmax + MR - 1) / MR * MR) * kcmax + 15) & ~(size_t)15;
    size_t bsz = (size_t)((ncmax + NR - 1) / NR * NR) * kcmax;
    float *buf = pack_buffer(asz + bsz);
    if (!buf) abort();
    float *Ap = buf, *Bp = buf + asz;
    kernel_fn *kern = g->kernel;

    for (int jc = j0; jc < j1; jc += NC) {
        int nc = j1 - jc < NC ? j1 - jc : NC;
        for (int pc = 0; pc < K; pc += KC) {
            int kc = K - pc < KC ? K - pc : KC;
            float beta = pc == 0 ? g->beta : 1.0f;
            pack_b(g->transB, g->B, g->ldb, pc, kc, jc, nc, Bp);
            for (int ic = i0; ic < i1; ic += MC) {
                int mc = i1 - ic < MC ? i1 - ic : MC;
                pack_a(g->transA, g->A, g->lda, ic, mc, pc, kc, Ap);
                for (int jr = 0; jr < nc; jr += NR) {
                    int n = nc - jr < NR ? nc - jr : NR;
                    const float *bs = Bp + (size_t)jr * kc;
                    for (int ir = 0; ir < mc; ir += MR) {
                        int m = mc - ir < MR ? mc - ir : MR;
                        kern(kc, Ap + (size_t)ir * kc, bs, g->C + (size_t)(ic + ir) * g->ldc + jc + jr, g->ldc, m,
                             n, g->alpha, beta);
                    }
                }
            }
        }
    }
}

/* C = beta * C (no read when beta == 0). */
static void scale_c(int M, int N, float beta, float *C, int ldc)
{
    for (int i = 0; i < M; i++) {
        float *c = C + (size_t)i * ldc;
        if (beta == 0.0f)
            memset(c, 0, (size_t)N * sizeof *c);
        else if (beta != 1.0f)
            for (int j = 0; j < N; j++) c[j] *= beta;
    }
}

/* Split the output among nt threads as a pm x pn grid of rectangles; pick
 * the grid that packs the least (each thread packs the A rows and B columns
 * of its rectangle) while giving every thread at least one sliver. */
static void choose_grid(int M, int N, int K, int nt, int *pm, int *pn)
{
    int tm = (M + MR - 1) / MR, tn = (N + NR - 1) / NR;
    double best = -1.0;
    *pm = 1;
    *pn = 1;
    for (int a = 1; a <= nt; a++) {
        if (nt % a) continue;
        int b = nt / a;
        if (a > tm || b > tn) continue;
        double cost = (double)b * M * K + (double)a * K * N;
        /* imbalance: the largest rectangle bounds the time */
        double rows = (double)((tm + a - 1) / a) * MR, cols = (double)((tn + b - 1) / b) * NR;
        cost += rows * cols * (double)K * 0.05;
        if (best < 0 || cost < best) {
            best = cost;
            *pm = a;
            *pn = b;
        }
    }
}

void mn_sgemm(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc)
{
    if (M <= 0 || N <= 0) return;
    if (K <= 0 || alpha == 0.0f) {
        scale_c(M, N, beta, C, ldc);
        return;
    }
    gemm_args g = {transA, transB, M, N, K, alpha, beta, A, B, C, lda, ldb, ldc, pick_kernel()};

    int nt = mn_get_threads();
    if ((double)M * N * K < (double)PAR_THRESHOLD) nt = 1;
    int pm = 1, pn = 1;
    if (nt > 1) choose_grid(M, N, K, nt, &pm, &pn);
    nt = pm * pn;
    if (nt <= 1) {
        gemm_block(&g, 0, M, 0, N);
        return;
    }
    int tm = (M + MR - 1) / MR, tn = (N + NR - 1) / NR;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static, 1)
#endif
    for (int t = 0; t < nt; t++) {
        int a = t / pn, b = t % pn;
        int i0 = (int)((long)tm * a / pm) * MR, i1 = (int)((long)tm * (a + 1) / pm) * MR;
        int j0 = (int)((long)tn * b / pn) * NR, j1 = (int)((long)tn * (b + 1) / pn) * NR;
        if (i1 > M) i1 = M;
        if (j1 > N) j1 = N;
        gemm_block(&g, i0, i1, j0, j1);
    }
}
