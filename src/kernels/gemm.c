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
 * m x n part (under masks with AVX-512 / AVX2, a temporary tile otherwise).
 *
 * beta is applied by the micro-kernel at the first KC block (C is not read
 * when beta == 0), later KC blocks accumulate with beta = 1; alpha scales the
 * accumulators at write-back.
 *
 * Three paths go around the packed loops (each section below says why),
 * chosen by shape only: dot_rows for N <= 16 with B transposed (the output
 * layer's forward; its sums run in another order, and it is the only path
 * for those shapes), direct_block for B untransposed with few rows or a
 * short K and a small B (that layer's weight and input gradients, mlp's
 * first weight gradient; see use_direct) and swapped_block for A * B^T
 * with few rows of A (the dense forward, conv's weight gradient, also from
 * a gathered B: mn_sgemm_nt_gather); the last two give the packed loops'
 * bits exactly.
 *
 * Threads split the output into rectangles (in whole MR / NR slivers); every
 * thread runs the loops above on its own rectangle with its own packing
 * buffers. The K loop is never split and its blocking does not depend on the
 * thread count, so every element of C sees the same sequence of operations:
 * results are bit-identical for any number of threads.
 */
#include "kernels/isa_rename.h"

#include "mnist/gemm.h"
#include "kernels/simd.h"

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
 * pipes), Zen 5 (what the build box actually is: family 26) two, latency 4:
 * 16 independent chains cover 2 x 4 in flight, and the loads (2 vectors + 8
 * broadcasts per 16 FMAs) stay within the load ports. 8 rows divide our
 * batch sizes (32, 128). 12x32 and 14x32 (24 / 28 accumulators) and 16x32
 * measured no better, within noise, on squares and worse on the
 * training shapes. Reaches ~200 GFLOP/s per core of a ~224 FMA-loop peak.
 * AVX2+FMA: 6 x 16 = 12 ymm accumulators (the classic Haswell shape);
 * on Zen 3 (2 x 256-bit FMA, EPYC family 25 model 1) it reaches 75-80
 * GFLOP/s per core on square 1024, OpenBLAS's speed there; an AVX2 build
 * on Zen 4 runs 1024^3 at 0.98 of OpenBLAS's Haswell kernels (with
 * kloop_avx2 below, which keeps GCC from spilling an accumulator).
 * Portable: 2 x 16, left to the compiler's vectoriser; with plain SSE2
 * (16 xmm, no FMA) it measured best of 2x16, 2x24, 3x8, 4x8, 4x16
 * (about 34 GFLOP/s vs 28 for 4x8 on the Zen box). */
#if defined(__AVX512F__)
#define MR 8
#define NR 32
#elif defined(__AVX2__) && defined(__FMA__)
#define MR 6
#define NR 16
#else
#define MR 2
#define NR 16
#endif

/* ---- cache blocking (Zen 4: L1d 32 KiB, L2 1 MiB per core, L3 shared;
 * Zen 5: L1d 48 KiB, same L2) ----------------------------------------------
 * KC: one B sliver (KC x NR floats = 32 KiB at KC 256, NR 32) is reused by
 *     all MC/MR A slivers from L1 (the BLIS rule: B sliver in L1); an A
 *     sliver (KC x MR = 8 KiB) streams through. KC = 256 keeps the
 *     write-back of C (once per KC block) small next to 256 FMAs per
 *     element. K is cut into equal blocks (784 -> 4 x 196).
 * MC: the packed A block (MC x KC) must stay in L2 next to the B sliver
 *     stream: 192 x 256 x 4 = 192 KiB, a fifth of L2, leaving room for the
 *     B block's hot part and for C.
 * NC: the packed B block (KC x NC) lives in L2/L3: 256 x 2048 x 4 = 2 MiB;
 *     our N never exceeds 784, so for the trainer jc runs once.
 * Measured on the (busy) 2-core box with thread CPU time: KC 192..512 with
 * MC 96..256 all land within noise (+-5%) at 512..1024; 256/192 kept.
 */
#ifndef KC
#define KC 256
#endif
#ifndef MC
#define MC 192
#endif
#ifndef NC
#define NC 2048
#endif

/* Below this many multiply-adds (M*N*K), or with a K this short (the work
 * is then mostly writing C), a single thread does the work: measured on the
 * 2-core Zen box, a fork/join costs 2-4 us, and two threads only start to win
 * around 1M multiply-adds (e.g. 128x128x64: 11.1 us -> 10.0 us, while
 * 64x64x128: 6.0 us -> 7.5 us and 128x784x10: 13.6 us -> 16.8 us). */
#ifndef PAR_THRESHOLD
#define PAR_THRESHOLD (1L << 20)
#endif
#ifndef PAR_MIN_K
#define PAR_MIN_K 32
#endif

/* The K blocks every path uses: K cut into equal blocks of at most KC (784 =
 * 4 x 196, not 3 x 256 + 16: a short last block would pay the C update for
 * little work). The bits of a result depend on this cut, and the direct and
 * swapped paths match the packed loops' bits only because all three take it
 * from here; it depends on K alone, never on the thread split. */
static int k_block(int K)
{
    int nkb = (K + KC - 1) / KC;
    return (K + nkb - 1) / nkb;
}

/* ---- threads: mn_set_threads / mn_get_threads are in isa.c, shared by
 * every instruction set's copy of this file ------------------------------ */

static int g_force_portable;

void mn_gemm_use_portable_kernel(int on)
{
    g_force_portable = on != 0;
}

static int g_no_direct;

void mn_gemm_no_direct(int on)
{
    g_no_direct = on != 0;
}

/* ---- per-thread packing buffers ----------------------------------------- */

/* Each thread keeps its buffer between calls (grown, never shrunk), so a
 * training step allocates nothing. OpenMP may end worker threads (when the
 * team size changes, at exit): a C11 thread-specific key with free() as its
 * destructor releases their buffers then, so nothing leaks. */
static _Thread_local float *tl_buf;
static _Thread_local size_t tl_cap; /* floats */

#if !defined(__STDC_NO_THREADS__)
#include <threads.h>

static tss_t buf_key;
static once_flag buf_key_once = ONCE_FLAG_INIT;
static int buf_key_ok;

static void make_buf_key(void) { buf_key_ok = tss_create(&buf_key, free) == thrd_success; }

static void remember_buffer(float *p)
{
    call_once(&buf_key_once, make_buf_key);
    if (buf_key_ok) tss_set(buf_key, p);
}
#else
static void remember_buffer(float *p) { (void)p; }
#endif

static float *pack_buffer(size_t nfloats)
{
    if (nfloats > tl_cap) {
        free(tl_buf);
        size_t bytes = (nfloats * sizeof(float) + 63) & ~(size_t)63;
        tl_buf = aligned_alloc(64, bytes);
        tl_cap = tl_buf ? bytes / sizeof(float) : 0;
        remember_buffer(tl_buf);
    }
    return tl_buf;
}

/* ---- packing ------------------------------------------------------------ */

#if defined(__AVX512F__)
static inline __m512 unpacklo_pd_ps(__m512 a, __m512 b)
{
    return _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(a), _mm512_castps_pd(b)));
}

static inline __m512 unpackhi_pd_ps(__m512 a, __m512 b)
{
    return _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(a), _mm512_castps_pd(b)));
}

/* Transpose a rows x kcount block (rows, kcount <= 16; row r at src + r*ld)
 * and store column k as dst[k*dstride + 0 .. 16) under wmask. Rows past
 * `rows` read as zero. Three shuffle stages: 32-bit interleave, 64-bit
 * interleave, then a 4 x 4 transpose of 128-bit lanes. */
static void transpose_block(const float *src, size_t ld, int rows, int kcount, float *dst, int dstride,
                            __mmask16 wmask)
{
    __mmask16 km = kcount >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << kcount) - 1u);
    __m512 r[16], t[16], u[16];
    for (int i = 0; i < 16; i++)
        r[i] = i < rows ? _mm512_maskz_loadu_ps(km, src + (size_t)i * ld) : _mm512_setzero_ps();
    for (int p = 0; p < 8; p++) {
        t[2 * p] = _mm512_unpacklo_ps(r[2 * p], r[2 * p + 1]);
        t[2 * p + 1] = _mm512_unpackhi_ps(r[2 * p], r[2 * p + 1]);
    }
    /* u[4*s + q]: lane L holds column 4L+s of rows 4q .. 4q+3 */
    for (int q = 0; q < 4; q++) {
        u[0 + q] = unpacklo_pd_ps(t[4 * q], t[4 * q + 2]);
        u[4 + q] = unpackhi_pd_ps(t[4 * q], t[4 * q + 2]);
        u[8 + q] = unpacklo_pd_ps(t[4 * q + 1], t[4 * q + 3]);
        u[12 + q] = unpackhi_pd_ps(t[4 * q + 1], t[4 * q + 3]);
    }
    for (int s = 0; s < 4; s++) {
        const __m512 *x = u + 4 * s;
        __m512 v0 = _mm512_shuffle_f32x4(x[0], x[1], _MM_SHUFFLE(1, 0, 1, 0));
        __m512 v1 = _mm512_shuffle_f32x4(x[0], x[1], _MM_SHUFFLE(3, 2, 3, 2));
        __m512 v2 = _mm512_shuffle_f32x4(x[2], x[3], _MM_SHUFFLE(1, 0, 1, 0));
        __m512 v3 = _mm512_shuffle_f32x4(x[2], x[3], _MM_SHUFFLE(3, 2, 3, 2));
        __m512 y[4];
        y[0] = _mm512_shuffle_f32x4(v0, v2, _MM_SHUFFLE(2, 0, 2, 0));
        y[1] = _mm512_shuffle_f32x4(v0, v2, _MM_SHUFFLE(3, 1, 3, 1));
        y[2] = _mm512_shuffle_f32x4(v1, v3, _MM_SHUFFLE(2, 0, 2, 0));
        y[3] = _mm512_shuffle_f32x4(v1, v3, _MM_SHUFFLE(3, 1, 3, 1));
        for (int L = 0; L < 4; L++) {
            int c = 4 * L + s;
            if (c < kcount) _mm512_mask_storeu_ps(dst + (size_t)c * dstride, wmask, y[L]);
        }
    }
}
#elif MN_VL == 8
/* The AVX2 transpose of a rows x kcount block (both <= 8): column k goes to
 * dst[k*dstride + 0 .. 8) under wmask. Rows past `rows` read as zero. When
 * dstride < 8 (an A sliver of MR = 6), each column is stored whole but the
 * last, since the next column's store overwrites the excess (vmaskmovps
 * stores are slow on AMD); the last stays within its mask, so nothing past
 * the sliver is touched. */
static void transpose_block(const float *src, size_t ld, int rows, int kcount, float *dst, int dstride, vmask wmask)
{
    vmask km = vmask_first(kcount);
    __m256 r[8], t[8], u[8];
    for (int i = 0; i < 8; i++) r[i] = i < rows ? _mm256_maskload_ps(src + (size_t)i * ld, km) : _mm256_setzero_ps();
    for (int p = 0; p < 4; p++) {
        t[2 * p] = _mm256_unpacklo_ps(r[2 * p], r[2 * p + 1]);
        t[2 * p + 1] = _mm256_unpackhi_ps(r[2 * p], r[2 * p + 1]);
    }
    /* u[4h + s]: column s (low 128 bits) and s + 4 (high) of rows 4h .. 4h+3 */
    for (int h = 0; h < 2; h++) {
        u[4 * h + 0] = _mm256_shuffle_ps(t[4 * h], t[4 * h + 2], _MM_SHUFFLE(1, 0, 1, 0));
        u[4 * h + 1] = _mm256_shuffle_ps(t[4 * h], t[4 * h + 2], _MM_SHUFFLE(3, 2, 3, 2));
        u[4 * h + 2] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], _MM_SHUFFLE(1, 0, 1, 0));
        u[4 * h + 3] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    __m256 y[8]; /* y[c] = column c */
    for (int s = 0; s < 4; s++) {
        y[s] = _mm256_permute2f128_ps(u[s], u[4 + s], 0x20);
        y[s + 4] = _mm256_permute2f128_ps(u[s], u[4 + s], 0x31);
    }
    /* in column order: a whole store's excess lands where the next one writes */
    for (int c = 0; c < kcount; c++)
        vf_store_lanes(dst + (size_t)c * dstride, wmask, dstride >= 8 || c + 1 < kcount, y[c]);
}
#endif

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
#if MN_VL && MR <= MN_VL
            for (int k = 0; k < kc; k += MN_VL)
                transpose_block(src + k, (size_t)lda, m, kc - k < MN_VL ? kc - k : MN_VL, dst + (size_t)k * MR, MR,
                                vmask_low(MR));
            dst += (size_t)kc * MR;
            continue;
#endif
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
#if MN_VL && NR % MN_VL == 0
            for (int jb = 0; jb < NR; jb += MN_VL)
                for (int k = 0; k < kc; k += MN_VL)
                    transpose_block(jb < n ? src + (size_t)jb * ldb + k : src, (size_t)ldb, n - jb,
                                    kc - k < MN_VL ? kc - k : MN_VL, dst + (size_t)k * NR + jb, NR, vmask_first(MN_VL));
            dst += (size_t)kc * NR;
            continue;
#endif
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
 * when beta == 0), then + bias[j] when bias is given, then max(., 0) when
 * relu is set (NaN stays NaN). a: kc x MR, b: kc x NR, both packed. The
 * driver passes bias / relu only with the last K block. */

typedef void kernel_fn(int kc, const float *a, const float *b, float *c, int ldc, int m, int n, float alpha,
                       float beta, const float *bias, int relu);

static void kernel_portable(int kc, const float *a, const float *b, float *c, int ldc, int m, int n, float alpha,
                            float beta, const float *bias, int relu)
{
    /* acc is only ever indexed by constants (the loops are unrolled), so
     * the compiler keeps it in vector registers; the write-back goes
     * through the memory tile t. */
    float acc[MR][NR], t[MR][NR];
#pragma GCC unroll 64
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 64
        for (int j = 0; j < NR; j++) acc[i][j] = 0.0f;
    for (int k = 0; k < kc; k++) {
        const float *ak = a + (size_t)k * MR, *bk = b + (size_t)k * NR;
#pragma GCC unroll 64
        for (int i = 0; i < MR; i++) {
            float av = ak[i];
#pragma GCC unroll 64
            for (int j = 0; j < NR; j++) acc[i][j] += av * bk[j];
        }
    }
#pragma GCC unroll 64
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 64
        for (int j = 0; j < NR; j++) t[i][j] = acc[i][j];
    for (int i = 0; i < m; i++) {
        float *ci = c + (size_t)i * ldc;
        for (int j = 0; j < n; j++) {
            float r = alpha * t[i][j];
            if (beta != 0.0f) r = beta * ci[j] + r;
            if (bias) r = r + bias[j];
            if (relu) r = r < 0.0f ? 0.0f : r;
            ci[j] = r;
        }
    }
}

#if MN_VL
/* One vector of a row of C as the vector paths write it back: alpha * acc,
 * then beta * C as a fused multiply-add (C not read when beta == 0), the bias
 * (when has_bias), then max(0, x) (which keeps NaN). kernel_simd and
 * direct_tile both use it, so their bits agree; swapped_block spreads the
 * same steps over its K blocks. */
/* Asks for the m x n tile of C at the start of a kernel call that will
 * read it (beta != 0: every K block after the first). The tile was last
 * touched a whole pass over C ago, so it comes from L3 or memory, and
 * without this the epilogue waited for it on every call: 10% of an AVX2
 * build's square 1024, where the k loop was 80%. */
static inline void prefetch_tile(const float *c, int ldc, int m, int n)
{
    for (int i = 0; i < m; i++) {
        const char *row = (const char *)(c + (size_t)i * ldc);
        for (size_t off = 0; off < (size_t)n * sizeof(float); off += 64) _mm_prefetch(row + off, _MM_HINT_T0);
        _mm_prefetch(row + (size_t)n * sizeof(float) - 1, _MM_HINT_T0);
    }
}

static inline vf write_back(vf acc, vf va, float beta, const float *c, vmask m, int has_bias, vf bias, int relu)
{
    vf r = vf_mul(va, acc);
    if (beta != 0.0f) r = vf_fmadd(vf_set1(beta), vf_maskz_loadu(m, c), r);
    if (has_bias) r = vf_add(r, bias);
    if (relu) r = vf_max(vf_zero(), r);
    return r;
}
#endif

#if defined(__AVX512F__)
static void kernel_simd(int kc, const float *a, const float *b, float *c, int ldc, int m, int n, float alpha,
                        float beta, const float *bias, int relu)
{
    __m512 c0[MR], c1[MR];
    if (beta != 0.0f) prefetch_tile(c, ldc, m, n);
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
    if (alpha == 1.0f && beta == 0.0f && !bias && !relu && m == MR && n == NR) {
        /* the common full tile: plain stores, and no multiply by alpha (x * 1
         * is exact, so the bits are write_back's); with a short K (the output
         * layer's input gradient, K = 10) the epilogue is a fifth of the tile */
#pragma GCC unroll 16
        for (int i = 0; i < MR; i++) {
            _mm512_storeu_ps(c + (size_t)i * ldc, c0[i]);
            _mm512_storeu_ps(c + (size_t)i * ldc + 16, c1[i]);
        }
        return;
    }
    __m512 va = _mm512_set1_ps(alpha), zero = _mm512_setzero_ps();
    __mmask16 k0 = n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u);
    __mmask16 k1 = n >= 32 ? (__mmask16)0xFFFF : n <= 16 ? (__mmask16)0 : (__mmask16)((1u << (n - 16)) - 1u);
    __m512 bias0 = zero, bias1 = zero;
    if (bias) {
        bias0 = _mm512_maskz_loadu_ps(k0, bias);
        bias1 = _mm512_maskz_loadu_ps(k1, bias + 16);
    }
    /* unrolled with constant i so the accumulators stay in registers */
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
        if (i >= m) break;
        float *ci = c + (size_t)i * ldc;
        _mm512_mask_storeu_ps(ci, k0, write_back(c0[i], va, beta, ci, k0, bias != NULL, bias0, relu));
        _mm512_mask_storeu_ps(ci + 16, k1, write_back(c1[i], va, beta, ci + 16, k1, bias != NULL, bias1, relu));
    }
}
#define HAVE_SIMD_KERNEL 1
#elif defined(__AVX2__) && defined(__FMA__)
/* The k loop on its own, not inlined: it needs 15 of the 16 ymm registers
 * (12 accumulators, 2 B vectors, a broadcast), and inlined into the kernel,
 * whose epilogue wants more, GCC with Haswell/Skylake/generic tuning kept
 * one accumulator on the stack, a load-FMA-store chain on every k: 40
 * against 80 GFLOP/s on square 1024 (Zen 4, an AVX2 build). Here nothing
 * else is live. */
_Static_assert(MR == 6, "kloop_avx2 is written out for 6 rows");
static __attribute__((noinline)) void kloop_avx2(int kc, const float *a, const float *b, __m256 *c0, __m256 *c1)
{
    __m256 x0 = _mm256_setzero_ps(), x1 = x0, x2 = x0, x3 = x0, x4 = x0, x5 = x0;
    __m256 y0 = x0, y1 = x0, y2 = x0, y3 = x0, y4 = x0, y5 = x0;
    for (int k = 0; k < kc; k++) {
        __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
        /* in registers: GCC would fold b1's load into all MR of its FMAs */
        __asm__("" : "+x"(b0), "+x"(b1));
        __m256 av = _mm256_broadcast_ss(a);
        x0 = _mm256_fmadd_ps(av, b0, x0), y0 = _mm256_fmadd_ps(av, b1, y0);
        av = _mm256_broadcast_ss(a + 1);
        x1 = _mm256_fmadd_ps(av, b0, x1), y1 = _mm256_fmadd_ps(av, b1, y1);
        av = _mm256_broadcast_ss(a + 2);
        x2 = _mm256_fmadd_ps(av, b0, x2), y2 = _mm256_fmadd_ps(av, b1, y2);
        av = _mm256_broadcast_ss(a + 3);
        x3 = _mm256_fmadd_ps(av, b0, x3), y3 = _mm256_fmadd_ps(av, b1, y3);
        av = _mm256_broadcast_ss(a + 4);
        x4 = _mm256_fmadd_ps(av, b0, x4), y4 = _mm256_fmadd_ps(av, b1, y4);
        av = _mm256_broadcast_ss(a + 5);
        x5 = _mm256_fmadd_ps(av, b0, x5), y5 = _mm256_fmadd_ps(av, b1, y5);
        a += MR;
        b += NR;
    }
    c0[0] = x0, c0[1] = x1, c0[2] = x2, c0[3] = x3, c0[4] = x4, c0[5] = x5;
    c1[0] = y0, c1[1] = y1, c1[2] = y2, c1[3] = y3, c1[4] = y4, c1[5] = y5;
}

static void kernel_simd(int kc, const float *a, const float *b, float *c, int ldc, int m, int n, float alpha,
                        float beta, const float *bias, int relu)
{
    __m256 c0[MR], c1[MR];
    if (beta != 0.0f) prefetch_tile(c, ldc, m, n);
    kloop_avx2(kc, a, b, c0, c1);
    __m256 va = _mm256_set1_ps(alpha), zero = _mm256_setzero_ps();
    vmask k0 = vmask_first(n), k1 = vmask_first(n - 8);
    __m256 bias0 = zero, bias1 = zero;
    if (bias) {
        bias0 = _mm256_maskload_ps(bias, k0);
        bias1 = _mm256_maskload_ps(bias + 8, k1);
    }
    /* unrolled with constant i so the accumulators stay in registers (an
     * index known only at run time makes GCC keep them in memory, and it
     * then stores them on every k: a third of the speed) */
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
        if (i >= m) break;
        float *ci = c + (size_t)i * ldc;
        vf_store_lanes(ci, k0, n >= 8, write_back(c0[i], va, beta, ci, k0, bias != NULL, bias0, relu));
        vf_store_lanes(ci + 8, k1, n >= 16, write_back(c1[i], va, beta, ci + 8, k1, bias != NULL, bias1, relu));
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


/* ---- small-N path: C = op(A) * B^T as dot products ------------------------
 * For the output layer (N = 10 classes, B stored N x K) packing would pad
 * N up to NR and transpose all of A; instead a DOT_MI x 2 block of C keeps
 * MN_VL vector accumulators (AVX-512: 8 x 2 blocks, 16 zmm; AVX2: 4 x 2, 8
 * ymm) running along K (both A rows and B rows are contiguous in K), then
 * folds them with one transposing reduction. */
#if MN_VL
#define DOT_NJ 2
#define DOT_MI (MN_VL / DOT_NJ)
#define DOT_MAX_N 16
/* K per block: the DOT_MI rows of A (8 KiB with AVX-512) and the B rows
 * stay in L1 while all column pairs pass over them; the pairs'
 * accumulators wait in memory
 * between blocks (same FMA sequence per lane, so the same bits). Without
 * it, a long K (conv1's weight gradient: K = 29,000) re-reads the A rows
 * from L3 once per pair. */
#define DOT_KB 256

/* lane l of the result = sum of the MN_VL lanes of v[l] */
#if defined(__AVX512F__)
static inline __m512 reduce_lanes(const __m512 *v)
{
    __m512 w[8], y[4];
    for (int p = 0; p < 8; p++)
        w[p] = _mm512_add_ps(_mm512_unpacklo_ps(v[2 * p], v[2 * p + 1]), _mm512_unpackhi_ps(v[2 * p], v[2 * p + 1]));
    for (int q = 0; q < 4; q++)
        y[q] = _mm512_add_ps(unpacklo_pd_ps(w[2 * q], w[2 * q + 1]), unpackhi_pd_ps(w[2 * q], w[2 * q + 1]));
    __m512 s01 = _mm512_add_ps(_mm512_shuffle_f32x4(y[0], y[1], _MM_SHUFFLE(1, 0, 1, 0)),
                               _mm512_shuffle_f32x4(y[0], y[1], _MM_SHUFFLE(3, 2, 3, 2)));
    __m512 s23 = _mm512_add_ps(_mm512_shuffle_f32x4(y[2], y[3], _MM_SHUFFLE(1, 0, 1, 0)),
                               _mm512_shuffle_f32x4(y[2], y[3], _MM_SHUFFLE(3, 2, 3, 2)));
    return _mm512_add_ps(_mm512_shuffle_f32x4(s01, s23, _MM_SHUFFLE(2, 0, 2, 0)),
                         _mm512_shuffle_f32x4(s01, s23, _MM_SHUFFLE(3, 1, 3, 1)));
}
#else
static inline __m256 reduce_lanes(const __m256 *v)
{
    __m256 w[4], y[2];
    for (int p = 0; p < 4; p++)
        w[p] = _mm256_add_ps(_mm256_unpacklo_ps(v[2 * p], v[2 * p + 1]), _mm256_unpackhi_ps(v[2 * p], v[2 * p + 1]));
    /* y[q] lane l < 4: v[4q + l] over its low 128 bits, lane 4 + l: its high */
    for (int q = 0; q < 2; q++) {
        __m256d lo = _mm256_unpacklo_pd(_mm256_castps_pd(w[2 * q]), _mm256_castps_pd(w[2 * q + 1]));
        __m256d hi = _mm256_unpackhi_pd(_mm256_castps_pd(w[2 * q]), _mm256_castps_pd(w[2 * q + 1]));
        y[q] = _mm256_add_ps(_mm256_castpd_ps(lo), _mm256_castpd_ps(hi));
    }
    return _mm256_add_ps(_mm256_permute2f128_ps(y[0], y[1], 0x20), _mm256_permute2f128_ps(y[0], y[1], 0x31));
}
#endif

/* rows [i0, i1) of C = alpha * A B^T + beta C, A: M x K (lda), B: N x K (ldb) */
static void dot_rows(int i0, int i1, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
                     float beta, float *C, int ldc, const float *bias, int relu)
{
    int kfull = K & ~(MN_VL - 1);
    const int tail = K & (MN_VL - 1);
    const vmask tailm = vmask_low(tail);
    vf saved[(DOT_MAX_N + DOT_NJ - 1) / DOT_NJ][MN_VL];
    for (int ib = i0; ib < i1; ib += DOT_MI) {
        int mi = i1 - ib < DOT_MI ? i1 - ib : DOT_MI;
        const float *ar[DOT_MI];
        for (int r = 0; r < DOT_MI; r++) ar[r] = A + (size_t)(ib + (r < mi ? r : 0)) * lda;
        for (int k0 = 0; k0 < K; k0 += DOT_KB) {
            int last = K - k0 <= DOT_KB, k1 = last ? kfull : k0 + DOT_KB;
            for (int jb = 0; jb < N; jb += DOT_NJ) {
                int nj = N - jb < DOT_NJ ? N - jb : DOT_NJ;
                const float *b0 = B + (size_t)jb * ldb, *b1 = nj > 1 ? b0 + ldb : b0;
                vf acc[MN_VL], *keep = saved[jb / DOT_NJ];
                for (int r = 0; r < MN_VL; r++) acc[r] = k0 ? keep[r] : vf_zero();
                for (int k = k0; k < k1; k += MN_VL) {
                    vf vb0 = vf_loadu(b0 + k), vb1 = vf_loadu(b1 + k);
#pragma GCC unroll 8
                    for (int r = 0; r < DOT_MI; r++) {
                        vf va = vf_loadu(ar[r] + k);
                        /* one load for both FMAs: compilers otherwise fold the
                         * load into each, and the loads, not the FMAs, bound
                         * the loop (measured 1.30 -> 1.0 us at 32 x 10 x 128) */
                        __asm__("" : "+v"(va));
                        acc[2 * r] = vf_fmadd(va, vb0, acc[2 * r]);
                        acc[2 * r + 1] = vf_fmadd(va, vb1, acc[2 * r + 1]);
                    }
                }
                if (!last) {
                    for (int r = 0; r < MN_VL; r++) keep[r] = acc[r];
                    continue;
                }
                if (tail) {
                    vf vb0 = vf_maskz_loadu(tailm, b0 + kfull), vb1 = vf_maskz_loadu(tailm, b1 + kfull);
#pragma GCC unroll 8
                    for (int r = 0; r < DOT_MI; r++) {
                        vf va = vf_maskz_loadu(tailm, ar[r] + kfull);
                        acc[2 * r] = vf_fmadd(va, vb0, acc[2 * r]);
                        acc[2 * r + 1] = vf_fmadd(va, vb1, acc[2 * r + 1]);
                    }
                }
                /* lane 2r + q is C[ib + r][jb + q]; the epilogue runs on all
                 * MN_VL lanes at once, in the order the kernels use (alpha, beta as a
                 * separate multiply and add, bias, relu), and each row gets its
                 * nj floats back with one small copy */
                vf sum = vf_mul(vf_set1(alpha), reduce_lanes(acc));
                float t[MN_VL];
                if (beta != 0.0f) {
                    for (int r = 0; r < DOT_MI; r++)
                        for (int q = 0; q < DOT_NJ; q++)
                            t[2 * r + q] = r < mi && q < nj ? C[(size_t)(ib + r) * ldc + jb + q] : 0.0f;
                    sum = vf_add(vf_mul(vf_set1(beta), vf_loadu(t)), sum);
                }
                if (bias) {
                    float pair[2] = {bias[jb], nj > 1 ? bias[jb + 1] : 0.0f};
                    sum = vf_add(sum, vf_set1_pair(pair));
                }
                if (relu) sum = vf_max(vf_zero(), sum);
#if defined(__AVX512F__)
                if (nj == DOT_NJ && mi == DOT_MI) { /* each row's pair straight from its 128-bit lane */
                    /* the lane index must be an immediate, also unoptimised */
                    const __m128 x[4] = {_mm512_castps512_ps128(sum), _mm512_extractf32x4_ps(sum, 1),
                                         _mm512_extractf32x4_ps(sum, 2), _mm512_extractf32x4_ps(sum, 3)};
                    for (int q = 0; q < 4; q++) {
                        _mm_storel_pi((__m64 *)(void *)(C + (size_t)(ib + 2 * q) * ldc + jb), x[q]);
                        _mm_storeh_pi((__m64 *)(void *)(C + (size_t)(ib + 2 * q + 1) * ldc + jb), x[q]);
                    }
                    continue;
                }
#endif
                vf_storeu(t, sum);
                for (int r = 0; r < mi; r++) memcpy(C + (size_t)(ib + r) * ldc + jb, t + 2 * r, (size_t)nj * sizeof *t);
            }
        }
    }
}
#endif

/* ---- direct path: B used in place, no packing -----------------------------
 * When op(B) = B (rows contiguous along N) and the product is small in M or
 * K, packing costs more than it saves: for the output layer's weight
 * gradient (M = 10 classes) the packed kernel pads M to 2 x MR = 16 rows, and
 * for its input gradient (K = 10) packing B is as much work as the multiply.
 * Here a tile of R rows (R <= DIR_TILE_MAXR) x V vectors (V = 1, 2)
 * reads B straight from memory (masked at the right edge) and broadcasts A
 * from A itself, stored either way. Every element of C sees
 * exactly the operations of kernel_simd under the same K blocking (an FMA
 * chain over k from zero, alpha, beta, bias, relu in that order), so the
 * choice of path never changes a bit of the result. A tile is at most
 * DIR_TILE_MAXR x 2 vectors: 28 of AVX-512's 32 registers, 12 of AVX2's 16.
 * Up to DIR_MAXR rows are taken at once: on AVX2, 7-12 rows as two tiles of
 * half the rows. (AVX2's tiles were one vector wide, up to 14 rows, which
 * needs a broadcast per FMA, and a 6-row one has too few FMA chains to hide
 * their latency: 6 x 16 tiles ran 128x512x10 1.29x and 128x784x32 1.26x
 * faster, AVX2 builds on Zen 4.) */
#if MN_VL
#if MN_VL == 16
#define DIR_MAXR 14
#define DIR_TILE_MAXR 14
#else
#define DIR_MAXR 12
#define DIR_TILE_MAXR 6
#endif

typedef void direct_fn(int kc, const float *a, size_t ais, size_t aks, const float *b, size_t ldb, float *c, int ldc,
                       int n, float alpha, float beta, const float *bias, int relu);

/* acc[i][v] += the FMA chain over k of a(i, k) * B[k][16 v ..] (8 v with
 * AVX2), B's row masked to n columns when masked. a(i, k) = a[i * ais + k *
 * aks]; R, V and masked are constants after inlining, so the R x V
 * accumulators live in registers. */
static inline __attribute__((always_inline)) void direct_kloop(const int R, const int V, const int masked, int kc,
                                                               const float *a, size_t ais, size_t aks, const float *b,
                                                               size_t ldb, int n, vf (*acc)[2])
{
    const vmask m0 = vmask_first(masked ? n : MN_VL), m1 = vmask_first(masked ? n - MN_VL : MN_VL);
    for (int k = 0; k < kc; k++) {
        vf b0 = masked ? vf_maskz_loadu(m0, b) : vf_loadu(b);
        vf b1 = V < 2 ? vf_zero() : masked ? vf_maskz_loadu(m1, b + MN_VL) : vf_loadu(b + MN_VL);
#pragma GCC unroll 16
        for (int i = 0; i < R; i++) {
            vf av = vf_set1(a[(size_t)k * aks + (size_t)i * ais]);
            acc[i][0] = vf_fmadd(av, b0, acc[i][0]);
            if (V > 1) acc[i][1] = vf_fmadd(av, b1, acc[i][1]);
        }
        b += ldb;
    }
}

/* a(i, k) = a[i * ais + k * aks]; R and V are constants after inlining, so the
 * R x V accumulators live in registers. */
static inline __attribute__((always_inline)) void direct_tile(const int R, const int V, int kc, const float *a,
                                                              size_t ais, size_t aks, const float *b, size_t ldb,
                                                              float *c, int ldc, int n, float alpha, float beta,
                                                              const float *bias, int relu)
{
    vf acc[DIR_TILE_MAXR][2];
#pragma GCC unroll 16
    for (int i = 0; i < R; i++) {
        acc[i][0] = vf_zero();
        acc[i][1] = vf_zero();
    }
    const int full = n >= V * MN_VL;
    /* a full tile's loop apart, with no masks live: AVX2's are ymm
     * registers, and a 6 x 16 tile with them needs 17 of the 16 */
    if (full)
        direct_kloop(R, V, 0, kc, a, ais, aks, b, ldb, n, acc);
    else
        direct_kloop(R, V, 1, kc, a, ais, aks, b, ldb, n, acc);
    const vmask m0 = vmask_first(n), m1 = vmask_first(n - MN_VL);
    if (full && alpha == 1.0f && beta == 0.0f && !bias && !relu) { /* as kernel_simd's full tile */
#pragma GCC unroll 16
        for (int i = 0; i < R; i++)
            for (int v = 0; v < V; v++) vf_storeu(c + (size_t)i * ldc + MN_VL * v, acc[i][v]);
        return;
    }
    vf va = vf_set1(alpha), zero = vf_zero();
    vf bias0 = zero, bias1 = zero;
    if (bias) {
        bias0 = vf_maskz_loadu(m0, bias);
        if (V > 1) bias1 = vf_maskz_loadu(m1, bias + MN_VL);
    }
#pragma GCC unroll 16
    for (int i = 0; i < R; i++) {
        float *ci = c + (size_t)i * ldc;
        for (int v = 0; v < V; v++) {
            vmask mv = v ? m1 : m0;
            vf_store_lanes(ci + MN_VL * v, mv, n >= MN_VL * (v + 1),
                           write_back(acc[i][v], va, beta, ci + MN_VL * v, mv, bias != NULL, v ? bias1 : bias0, relu));
        }
    }
}

#if MN_VL == 16
/* The same for a whole R x 64 block (4 vectors, R <= DIR_WIDE_MAXR; n is
 * always 64 here). Separate from direct_tile so as not to change that one's
 * code: folded into it, its 8 x 32 tiles ran 10-15% slower. */
#define DIR_WIDE_MINR 5
#define DIR_WIDE_MAXR 6
static inline __attribute__((always_inline)) void direct_tile_wide(const int R, int kc, const float *a, size_t ais,
                                                                   size_t aks, const float *b, size_t ldb, float *c,
                                                                   int ldc, float alpha, float beta,
                                                                   const float *bias, int relu)
{
    vf acc[DIR_WIDE_MAXR][4];
#pragma GCC unroll 8
    for (int i = 0; i < R; i++)
        for (int v = 0; v < 4; v++) acc[i][v] = vf_zero();
    for (int k = 0; k < kc; k++) {
        vf bv[4];
        for (int v = 0; v < 4; v++) bv[v] = vf_loadu(b + MN_VL * v);
#pragma GCC unroll 8
        for (int i = 0; i < R; i++) {
            vf av = vf_set1(a[(size_t)i * ais]);
            for (int v = 0; v < 4; v++) acc[i][v] = vf_fmadd(av, bv[v], acc[i][v]);
        }
        a += aks;
        b += ldb;
    }
    const int plain = alpha == 1.0f && beta == 0.0f && !bias && !relu;
    const vf va = vf_set1(alpha);
    const vmask all = vmask_first(MN_VL);
#pragma GCC unroll 8
    for (int i = 0; i < R; i++) {
        float *ci = c + (size_t)i * ldc;
        for (int v = 0; v < 4; v++)
            vf_storeu(ci + MN_VL * v, plain ? acc[i][v]
                                            : write_back(acc[i][v], va, beta, ci + MN_VL * v, all, bias != NULL,
                                                         bias ? vf_loadu(bias + MN_VL * v) : vf_zero(), relu));
    }
}
#endif

#define DIRECT_FN(R, V)                                                                                          \
    static void direct_##R##_##V(int kc, const float *a, size_t ais, size_t aks, const float *b, size_t ldb,     \
                                 float *c, int ldc, int n, float alpha, float beta, const float *bias, int relu)  \
    {                                                                                                            \
        direct_tile(R, V, kc, a, ais, aks, b, ldb, c, ldc, n, alpha, beta, bias, relu);                          \
    }
#define DIRECT_FNS(R) DIRECT_FN(R, 1) DIRECT_FN(R, 2)
#define DIRECT_ROW(R) {direct_##R##_1, direct_##R##_2}
DIRECT_FNS(1) DIRECT_FNS(2) DIRECT_FNS(3) DIRECT_FNS(4) DIRECT_FNS(5) DIRECT_FNS(6)
#if DIR_TILE_MAXR == 14
DIRECT_FNS(7) DIRECT_FNS(8) DIRECT_FNS(9) DIRECT_FNS(10) DIRECT_FNS(11) DIRECT_FNS(12) DIRECT_FNS(13) DIRECT_FNS(14)
#define DIRECT_ROWS_HI                                                                                           \
    , DIRECT_ROW(7), DIRECT_ROW(8), DIRECT_ROW(9), DIRECT_ROW(10), DIRECT_ROW(11), DIRECT_ROW(12), DIRECT_ROW(13), \
        DIRECT_ROW(14)
#else
#define DIRECT_ROWS_HI
#endif
#if MN_VL == 16
/* R x 64 tiles (R x 4 vectors: 24 accumulators at R = 6) for direct_block */
#define DIRECT_WIDE_FN(R)                                                                                        \
    static void direct_##R##_4(int kc, const float *a, size_t ais, size_t aks, const float *b, size_t ldb, float *c, \
                               int ldc, int n, float alpha, float beta, const float *bias, int relu)             \
    {                                                                                                            \
        (void)n;                                                                                                 \
        direct_tile_wide(R, kc, a, ais, aks, b, ldb, c, ldc, alpha, beta, bias, relu);                           \
    }
DIRECT_WIDE_FN(5) DIRECT_WIDE_FN(6)
static direct_fn *const direct_wide[DIR_WIDE_MAXR + 1] = {NULL, NULL, NULL, NULL, NULL, direct_5_4, direct_6_4};
#endif
static direct_fn *const direct_table[DIR_TILE_MAXR + 1][2] = {
    {NULL, NULL},  DIRECT_ROW(1), DIRECT_ROW(2), DIRECT_ROW(3),
    DIRECT_ROW(4), DIRECT_ROW(5), DIRECT_ROW(6) DIRECT_ROWS_HI};
#endif

/* ---- driver --------------------------------------------------------------- */

typedef struct {
    int transA, transB, M, N, K;
    float alpha, beta;
    const float *A, *B;
    float *C;
    int lda, ldb, ldc;
    const float *bias;
    int relu;
    kernel_fn *kernel;
    /* B given by offsets (mn_sgemm_nt_gather): op(B)^T[j][k] =
     * B[brow[j] + bcol[k]]; NULL for a stored B */
    const int *brow, *bcol;
    mn_gemm_done_fn *done; /* mn_sgemm_then's hook, or NULL */
    void *done_ctx;
} gemm_args;

/* Plain loops over [i0, i1) x [j0, j1), used only when the packing buffer
 * cannot be allocated. */
static void gemm_unpacked(const gemm_args *g, int i0, int i1, int j0, int j1)
{
    for (int i = i0; i < i1; i++) {
        float *c = g->C + (size_t)i * g->ldc;
        for (int j = j0; j < j1; j++) {
            float s = 0.0f;
            for (int k = 0; k < g->K; k++) {
                float a = g->transA ? g->A[(size_t)k * g->lda + i] : g->A[(size_t)i * g->lda + k];
                float b = g->bcol     ? g->B[(size_t)g->brow[j] + (size_t)g->bcol[k]]
                          : g->transB ? g->B[(size_t)j * g->ldb + k]
                                      : g->B[(size_t)k * g->ldb + j];
                s += a * b;
            }
            float r = g->alpha * s;
            if (g->beta != 0.0f) r = g->beta * c[j] + r;
            if (g->bias) r = r + g->bias[j];
            if (g->relu) r = r < 0.0f ? 0.0f : r;
            c[j] = r;
        }
    }
}

/* The blocked loops over the output rectangle [i0, i1) x [j0, j1). */
static void gemm_block(const gemm_args *g, int i0, int i1, int j0, int j1)
{
    if (i0 >= i1 || j0 >= j1) return;
    int K = g->K;
    int mcmax = i1 - i0 < MC ? i1 - i0 : MC, ncmax = j1 - j0 < NC ? j1 - j0 : NC;
    int kcmax = k_block(K);
    /* A part rounded up to 16 floats so that Bp is 64-byte aligned too */
    size_t asz = ((size_t)((mcmax + MR - 1) / MR * MR) * kcmax + 15) & ~(size_t)15;
    size_t bsz = (size_t)((ncmax + NR - 1) / NR * NR) * kcmax;
    /* with a hook, one K block and beta = 0, each MR x nc panel is computed
     * into a scratch panel (in L1) and handed over from there: C, the
     * gradient buffer for the dense layer, is never written */
    int scratch = g->done && kcmax >= K && g->beta == 0.0f;
    size_t ssz = scratch ? (size_t)MR * ncmax : 0;
    float *buf = pack_buffer(asz + bsz + ssz);
    if (!buf) { /* out of memory: slow but correct, no packing */
        gemm_unpacked(g, i0, i1, j0, j1);
        if (g->done) g->done(g->done_ctx, g->C + (size_t)i0 * g->ldc + j0, g->ldc, i0, i1, j0, j1);
        return;
    }
    float *Ap = buf, *Bp = buf + asz, *Sp = buf + asz + bsz;
    kernel_fn *kern = g->kernel;

    for (int jc = j0; jc < j1; jc += NC) {
        int nc = j1 - jc < NC ? j1 - jc : NC;
        for (int pc = 0; pc < K; pc += kcmax) {
            int kc = K - pc < kcmax ? K - pc : kcmax;
            int last = pc + kc >= K;
            float beta = pc == 0 ? g->beta : 1.0f;
            int relu = last ? g->relu : 0;
            pack_b(g->transB, g->B, g->ldb, pc, kc, jc, nc, Bp);
            for (int ic = i0; ic < i1; ic += MC) {
                int mc = i1 - ic < MC ? i1 - ic : MC;
                pack_a(g->transA, g->A, g->lda, ic, mc, pc, kc, Ap);
                if (last && g->done) {
                    /* rows first, so that each MR x nc panel is final, and
                     * handed to the hook, while it is in L1 (the order of
                     * the tiles does not change their bits) */
                    for (int ir = 0; ir < mc; ir += MR) {
                        int m = mc - ir < MR ? mc - ir : MR;
                        float *c = scratch ? Sp : g->C + (size_t)(ic + ir) * g->ldc + jc;
                        int ldc = scratch ? nc : g->ldc;
                        for (int jr = 0; jr < nc; jr += NR) {
                            int n = nc - jr < NR ? nc - jr : NR;
                            kern(kc, Ap + (size_t)ir * kc, Bp + (size_t)jr * kc, c + jr, ldc, m, n, g->alpha, beta,
                                 g->bias ? g->bias + jc + jr : NULL, relu);
                        }
                        g->done(g->done_ctx, c, ldc, ic + ir, ic + ir + m, jc, jc + nc);
                    }
                    continue;
                }
                for (int jr = 0; jr < nc; jr += NR) {
                    int n = nc - jr < NR ? nc - jr : NR;
                    const float *bs = Bp + (size_t)jr * kc;
                    const float *bias = last && g->bias ? g->bias + jc + jr : NULL;
                    for (int ir = 0; ir < mc; ir += MR) {
                        int m = mc - ir < MR ? mc - ir : MR;
                        kern(kc, Ap + (size_t)ir * kc, bs, g->C + (size_t)(ic + ir) * g->ldc + jc + jr, g->ldc, m,
                             n, g->alpha, beta, bias, relu);
                    }
                }
            }
        }
    }
}

#if MN_VL
/* Rows per tile while more than DIR_MAXR remain. With AVX-512, 10: two 5 x 64
 * tiles (below), which ran 2-8% faster than 8 x 32 tiles on the output
 * layer's input gradient (32x128x10, 128x512x10; 12 rows as 6 + 6 did no
 * better). */
#if MN_VL == 16
#define DIR_ROWS (2 * DIR_WIDE_MINR)
#else
#define DIR_ROWS MR
#endif

/* The direct path over the output rectangle [i0, i1) x [j0, j1) (op(B) = B).
 * Same K blocks as gemm_block; rows go in tiles of DIR_ROWS, or all at once
 * when at most DIR_MAXR remain. With a hook, each row panel is handed over as
 * soon as it is final: from a scratch panel in L1 when there is one K block
 * and beta = 0 (as gemm_block), else from C after the last K block. */
static void direct_block(const gemm_args *g, int i0, int i1, int j0, int j1)
{
    if (i0 >= i1 || j0 >= j1) return;
    const int K = g->K, kcmax = k_block(K);
    const int scratch = g->done && kcmax >= K && g->beta == 0.0f;
    float *sp = scratch ? pack_buffer((size_t)DIR_MAXR * (size_t)(j1 - j0)) : NULL;
    if (scratch && !sp) {
        gemm_unpacked(g, i0, i1, j0, j1);
        g->done(g->done_ctx, g->C + (size_t)i0 * g->ldc + j0, g->ldc, i0, i1, j0, j1);
        return;
    }
    for (int pc = 0; pc < K; pc += kcmax) {
        int kc = K - pc < kcmax ? K - pc : kcmax;
        int last = pc + kc >= K;
        float beta = pc == 0 ? g->beta : 1.0f;
        /* this K block's rows of B; bias and relu with the last block only */
        const float *bk = g->B + (size_t)pc * g->ldb, *bias = last ? g->bias : NULL;
        const int relu = last ? g->relu : 0;
        for (int ib = i0; ib < i1;) {
            int r = i1 - ib <= DIR_MAXR ? i1 - ib : DIR_ROWS;
            /* op(A)(i, k): A[k][i] (transA) or A[i][k], broadcast in place */
            const float *a = g->transA ? g->A + (size_t)pc * g->lda + ib : g->A + (size_t)ib * g->lda + pc;
            size_t ais = g->transA ? 1 : (size_t)g->lda, aks = g->transA ? (size_t)g->lda : 1;
            float *c = scratch ? sp : g->C + (size_t)ib * g->ldc + j0;
            int ldc = scratch ? j1 - j0 : g->ldc;
            int jb = j0;
#if MN_VL == 16
            if (r >= 2 * DIR_WIDE_MINR && r <= 2 * DIR_WIDE_MAXR) {
                /* 10-12 rows (the output layer's weight gradient, M = 10, and
                 * the DIR_ROWS tiles): two tiles of half the rows and 64
                 * columns, while whole 64-column chunks remain. Per k, 4 loads of B and r/2 broadcasts feed
                 * 2 r FMAs, where one r x 32 tile needs r broadcasts for 2 r:
                 * 10x128x32 0.77 against 0.82 us, 10x512x128 12.0 against
                 * 12.9 us. Tiles of 4 rows lose: 9 rows as 4 + 5 ran 24%
                 * slower, 8 rows as 4 + 4 15-25% slower than 8 x 32. */
                const int h = r / 2;
                for (; jb + 4 * MN_VL <= j1; jb += 4 * MN_VL)
                    for (int part = 0; part < 2; part++) {
                        const int i = part ? h : 0, rr = part ? r - h : h;
                        direct_wide[rr](kc, a + (size_t)i * ais, ais, aks, bk + jb, (size_t)g->ldb,
                                        c + (size_t)i * ldc + (jb - j0), ldc, 4 * MN_VL, g->alpha, beta,
                                        bias ? bias + jb : NULL, relu);
                    }
            }
#endif
            /* more rows than a tile holds (AVX2: 7-12) as two tiles of half the rows */
            const int parts = r > DIR_TILE_MAXR ? 2 : 1;
            for (int part = 0; part < parts; part++) {
                const int i = part ? r / 2 : 0, rr = parts == 1 ? r : part ? r - r / 2 : r / 2;
                for (int j = jb; j < j1; j += 2 * MN_VL) {
                    int n = j1 - j < 2 * MN_VL ? j1 - j : 2 * MN_VL;
                    direct_table[rr][n > MN_VL](kc, a + (size_t)i * ais, ais, aks, bk + j, (size_t)g->ldb,
                                                c + (size_t)i * ldc + (j - j0), ldc, n, g->alpha, beta,
                                                bias ? bias + j : NULL, relu);
                }
            }
            if (last && g->done) g->done(g->done_ctx, c, ldc, ib, ib + r, j0, j1);
            ib += r;
        }
    }
}
#endif

#if MN_VL
/* ---- swapped path for C = op(A) * B^T with few rows of A ---------------------
 * The dense layer's forward pass is X[M x K] * W^T with W stored N x K (out x
 * in), and W changes every step: the packed path transposes all of W into
 * slivers on every call (mlp: 100,352 floats for a 32-row batch). Here the
 * roles swap: tiles of C^T = W * X^T, with 8 rows of W broadcast straight
 * from memory and X^T packed (M x K, a quarter of W's size for mlp) as B
 * slivers. Each element still sees the FMA chain of kernel_simd over the same
 * K blocks, and the same epilogue steps (alpha; beta, or 1 in later blocks,
 * as a fused multiply-add; bias and relu after the last block), with the
 * running value kept in a small tile between blocks; so the bits are those
 * of the packed path. The tile goes to C transposed, once, at the end. */
/* rows of W (columns of C) per tile: 2 x SW_ROWS accumulators, as kernel_simd */
#define SW_ROWS MR
#ifndef SWAP_MAX_FLOATS
#define SWAP_MAX_FLOATS (128 * 1024) /* packed X^T (M x K) of one thread, floats */
#endif

/* acc = the FMA chains of the K block [pc, pc + kc): acc[q][v] lane l = sum
 * over k of w_q(k) * b[k][16 v + l], w_q(k) = wr[q][pc + k] or, gathered,
 * wr[q][col[k]] (col already offset by pc). */
static inline __attribute__((always_inline)) void swapped_kloop(const int gathered, int pc, int kc,
                                                                const float *const *wr, const int *col,
                                                                const float *b, vf (*acc)[2])
{
    const float *w[SW_ROWS];
#pragma GCC unroll 8
    for (int q = 0; q < SW_ROWS; q++) {
        acc[q][0] = acc[q][1] = vf_zero();
        w[q] = wr[q] + (gathered ? 0 : pc);
    }
    for (int k = 0; k < kc; k++) {
        vf b0 = vf_load(b + (size_t)k * NR), b1 = vf_load(b + (size_t)k * NR + MN_VL);
        const size_t off = gathered ? (size_t)col[k] : (size_t)k;
#pragma GCC unroll 8
        for (int q = 0; q < SW_ROWS; q++) {
            vf av = vf_set1(w[q][off]);
            acc[q][0] = vf_fmadd(av, b0, acc[q][0]);
            acc[q][1] = vf_fmadd(av, b1, acc[q][1]);
        }
    }
}

static void swapped_block(const gemm_args *g, int i0, int i1, int j0, int j1)
{
    if (i0 >= i1 || j0 >= j1) return;
    const int K = g->K, kcmax = k_block(K);
    const int mi = i1 - i0, ns = (mi + NR - 1) / NR;
    float *xt = pack_buffer((size_t)ns * NR * K);
    if (!xt) {
        gemm_unpacked(g, i0, i1, j0, j1);
        return;
    }
    /* X^T, block by block of K: block pc holds ns slivers of kc x NR */
    for (int pc = 0; pc < K; pc += kcmax) {
        int kc = K - pc < kcmax ? K - pc : kcmax;
        pack_b(1, g->A, g->lda, pc, kc, i0, mi, xt + (size_t)pc * ns * NR);
    }
    const vf va = vf_set1(g->alpha), one = vf_set1(1.0f), zero = vf_zero();
    for (int jb = j0; jb < j1; jb += SW_ROWS) {
        const int r = j1 - jb < SW_ROWS ? j1 - jb : SW_ROWS;
        const float *wr[SW_ROWS];
        for (int q = 0; q < SW_ROWS; q++) {
            int j = jb + (q < r ? q : r - 1);
            wr[q] = g->B + (g->brow ? (size_t)g->brow[j] : (size_t)j * g->ldb);
        }
        for (int sl = 0; sl < ns; sl++) {
            const int ib = i0 + sl * NR, ni = i1 - ib < NR ? i1 - ib : NR;
            vf st[SW_ROWS][2]; /* the running C^T tile: st[q][v] lane l = C[ib + VL v + l][jb + q] */
            if (g->beta != 0.0f) {
                float t[SW_ROWS][NR];
                for (int q = 0; q < SW_ROWS; q++)
                    for (int i = 0; i < NR; i++)
                        t[q][i] = q < r && i < ni ? g->C[(size_t)(ib + i) * g->ldc + jb + q] : 0.0f;
                for (int q = 0; q < SW_ROWS; q++) {
                    st[q][0] = vf_loadu(t[q]);
                    st[q][1] = vf_loadu(t[q] + MN_VL);
                }
            }
            for (int pc = 0; pc < K; pc += kcmax) {
                const int kc = K - pc < kcmax ? K - pc : kcmax;
                const float *b = xt + (size_t)pc * ns * NR + (size_t)sl * NR * kc;
                vf acc[SW_ROWS][2];
                if (g->bcol)
                    swapped_kloop(1, pc, kc, wr, g->bcol + pc, b, acc);
                else
                    swapped_kloop(0, pc, kc, wr, NULL, b, acc);
                /* kernel_simd's write-back with beta = g->beta in the first block, 1 after */
                const vf vb = pc == 0 ? vf_set1(g->beta) : one;
                const int use_c = pc > 0 || g->beta != 0.0f;
#pragma GCC unroll 8
                for (int q = 0; q < SW_ROWS; q++)
                    for (int v = 0; v < 2; v++) {
                        vf t = vf_mul(va, acc[q][v]);
                        st[q][v] = use_c ? vf_fmadd(vb, st[q][v], t) : t;
                    }
            }
            float t[SW_ROWS][NR];
            for (int q = 0; q < SW_ROWS; q++) {
                vf bq = g->bias && q < r ? vf_set1(g->bias[jb + q]) : zero;
                for (int v = 0; v < 2; v++) {
                    vf x = st[q][v];
                    if (g->bias) x = vf_add(x, bq);
                    if (g->relu) x = vf_max(zero, x);
                    vf_storeu(t[q] + MN_VL * v, x);
                }
            }
            for (int i = 0; i < ni; i++) {
                float *c = g->C + (size_t)(ib + i) * g->ldc + jb;
                for (int q = 0; q < r; q++) c[q] = t[q][i];
            }
        }
    }
}

/* The swapped path where it pays: B transposed (W stored N x K), more
 * columns than the dot path takes, and X^T small enough to pack whole. */
static int use_swapped(int transA, int transB, int M, int N, int K)
{
    if (transA || !transB || N <= DOT_MAX_N || g_force_portable) return 0;
    return (double)((M + NR - 1) / NR * NR) * K <= (double)SWAP_MAX_FLOATS;
}
#endif

/* C = act(beta * C + bias) (C not read when beta == 0): the K == 0 or
 * alpha == 0 case. */
static void scale_c(int M, int N, float beta, float *C, int ldc, const float *bias, int relu)
{
    for (int i = 0; i < M; i++) {
        float *c = C + (size_t)i * ldc;
        if (beta == 0.0f)
            memset(c, 0, (size_t)N * sizeof *c);
        else if (beta != 1.0f)
            for (int j = 0; j < N; j++) c[j] *= beta;
        if (bias)
            for (int j = 0; j < N; j++) c[j] += bias[j];
        if (relu)
            for (int j = 0; j < N; j++) c[j] = c[j] < 0.0f ? 0.0f : c[j];
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

#if MN_VL
/* The direct path where it beats packing. Measured on Zen 4, 1 thread, in
 * one process against the packed loops (same bits):
 *  - a few rows: the output layer's weight gradient (M = 10), which the
 *    packed kernel pads to 16 rows;
 *  - a short K with a small op(B) (K x N at most DIRECT_MAX_B floats, a
 *    quarter of Zen 4's L2), where packing B is a large part of the work
 *    and B stays in cache when read in place: 32x128x10 (the output layer's
 *    input gradient) 0.93 against 1.03 us, 128x512x10 13.6 against 14.0 us,
 *    128x784x32 (mlp's first weight gradient) 59 against 63 us.
 * Longer K loses where M is large: every tile of MR rows reads all of B
 * again, from L2, where the packed loops reuse a B sliver from L1: with
 * its second convolution's input gradient (M = 288, K = 64) on the direct
 * path, cnn's training step ran 6-8% slower, though 256^3 and 512x784x128 ran 4-5% faster; from 512^3
 * (1 MiB of B) the packed loops win outright. */
#ifndef DIRECT_MAX_B
#define DIRECT_MAX_B (128 * 1024)
#endif
#ifndef DIRECT_MAX_K
#define DIRECT_MAX_K 32
#endif
static int use_direct(int transB, int M, int N, int K)
{
    if (transB || g_force_portable || g_no_direct) return 0;
    /* AVX2 builds too: run on Zen 4 (AVX2 build against AVX2 build, in one
     * process), the short-K rule made 32x128x10 1.35x, 128x512x10 1.15x and
     * 128x784x32 1.47x faster, and the training step of mlp 15-18%, lenet5
     * 5%, with wide and cnn unchanged (+-2%); that with the one-vector tiles
     * AVX2 had then */
    return M <= DIR_MAXR || (K <= DIRECT_MAX_K && (double)K * N <= (double)DIRECT_MAX_B);
}
#endif

typedef void block_fn(const gemm_args *, int, int, int, int);

/* Runs block over the output, split into rectangles among the threads when
 * the work pays for them. */
static void run_blocks(const gemm_args *g, block_fn *block)
{
    const int M = g->M, N = g->N, K = g->K;
    int nt = mn_get_threads();
    if ((double)M * N * K < (double)PAR_THRESHOLD || K < PAR_MIN_K) nt = 1;
    int pm = 1, pn = 1;
    if (nt > 1 && g->done) {
        /* with a hook, threads take whole rows: a thread's blocks are then
         * one run of memory, and no cache line of C (or of what the hook
         * updates beside it) is written by two threads. Split by columns,
         * mlp's fused Adam step took 2x as long on 2 threads. */
        int tm = (M + MR - 1) / MR;
        pm = nt < tm ? nt : tm;
    } else if (nt > 1) {
        choose_grid(M, N, K, nt, &pm, &pn);
    }
    nt = pm * pn;
    /* the packed and direct loops call the hook as they go; after the
     * other paths, it gets each thread's whole rectangle */
    int hook_after = g->done && block != gemm_block;
#if MN_VL
    if (block == direct_block) hook_after = 0;
#endif
    if (nt <= 1) {
        block(g, 0, M, 0, N);
        if (hook_after) g->done(g->done_ctx, g->C, g->ldc, 0, M, 0, N);
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
        block(g, i0, i1, j0, j1);
        if (hook_after && i0 < i1 && j0 < j1)
            g->done(g->done_ctx, g->C + (size_t)i0 * g->ldc + j0, g->ldc, i0, i1, j0, j1);
    }
}

static void sgemm(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                  int ldb, float beta, float *C, int ldc, const float *bias, int relu, mn_gemm_done_fn *done,
                  void *ctx)
{
    if (M <= 0 || N <= 0) return;
    relu = relu != 0;
    if (K <= 0 || alpha == 0.0f) {
        scale_c(M, N, beta, C, ldc, bias, relu);
        if (done) done(ctx, C, ldc, 0, M, 0, N);
        return;
    }
#if MN_VL
    if (!transA && transB && N <= DOT_MAX_N && !g_force_portable) {
        int nt = mn_get_threads();
        if ((double)M * N * K < (double)PAR_THRESHOLD || K < PAR_MIN_K || M < 2 * DOT_MI) nt = 1;
        if (nt <= 1) {
            dot_rows(0, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, relu);
            if (done) done(ctx, C, ldc, 0, M, 0, N);
            return;
        }
        int nb = (M + DOT_MI - 1) / DOT_MI;
        if (nt > nb) nt = nb;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static, 1)
#endif
        for (int t = 0; t < nt; t++) {
            int i0 = (int)((long)nb * t / nt) * DOT_MI, i1 = (int)((long)nb * (t + 1) / nt) * DOT_MI;
            dot_rows(i0, i1 < M ? i1 : M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, relu);
            if (done && i0 < (i1 < M ? i1 : M)) done(ctx, C + (size_t)i0 * ldc, ldc, i0, i1 < M ? i1 : M, 0, N);
        }
        return;
    }
#endif
    gemm_args g = {transA, transB, M, N, K, alpha, beta, A, B, C, lda, ldb, ldc, bias, relu, pick_kernel(),
                   NULL, NULL, done, ctx};
    block_fn *block = gemm_block;
#if MN_VL
    if (use_direct(transB, M, N, K)) block = direct_block;
    else if (use_swapped(transA, transB, M, N, K)) block = swapped_block;
#endif
    run_blocks(&g, block);
}

void mn_sgemm_ex(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
                 const float *B, int ldb, float beta, float *C, int ldc, const float *bias, int relu)
{
    sgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, relu, NULL, NULL);
}

void mn_sgemm_then(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                   int ldb, float beta, float *C, int ldc, mn_gemm_done_fn *done, void *ctx)
{
    sgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, NULL, 0, done, ctx);
}

void mn_sgemm_nt_gather(int M, int N, int K, float alpha, const float *A, int lda, const float *base, const int *row,
                        const int *col, float beta, float *C, int ldc)
{
    if (M <= 0 || N <= 0) return;
    if (K <= 0 || alpha == 0.0f) {
        scale_c(M, N, beta, C, ldc, NULL, 0);
        return;
    }
    gemm_args g = {0, 1, M, N, K, alpha, beta, A, base, C, lda, 0, ldc, NULL, 0, pick_kernel(), row, col, NULL, NULL};
#if MN_VL
    if (!g_force_portable) {
        run_blocks(&g, swapped_block);
        return;
    }
#endif
    run_blocks(&g, gemm_unpacked);
}

void mn_sgemm(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc)
{
    mn_sgemm_ex(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, NULL, 0);
}
