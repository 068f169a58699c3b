/* pool.c - max and average pooling (Keras MaxPooling2D / AveragePooling2D,
 * PyTorch MaxPool2d / AvgPool2d), NCHW, one plane at a time. */
#include "kernels/isa_rename.h"

#include <stdio.h>
#include <string.h>

#include "mnist/gemm.h"
#include "mnist/kernels.h"
#include "kernels/pool.h"
#include "kernels/simd.h"

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

/* Planes (one channel of one image) per parallel loop below which one
 * thread does the work. */
#define PAR_MIN_FLOATS 32768

static int pool_threads(size_t floats, long planes)
{
    int nt = mn_get_threads();
    if (floats < PAR_MIN_FLOATS) nt = 1;
    return nt < planes ? nt : (int)planes;
}

/* 2x2 windows with stride 2, the common case, on one plane. Within a window
 * the first maximum in the order (0,0), (0,1), (1,0), (1,1) wins: pairs
 * first (a later element must be strictly greater), then the pairs. */
#if defined(__AVX512F__)
/* Sixteen windows at a time: the even and odd columns of 32 input floats are
 * separated with two-source permutes. */
static void pool2_forward(float *o, float *a, const float *x, int H, int W, int OH, int OW)
{
    (void)H;
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    for (int oy = 0; oy < OH; oy++) {
        const float *r0 = x + (size_t)(2 * oy) * W, *r1 = r0 + W;
        float *oo = o + (size_t)oy * OW, *aa = a ? a + (size_t)oy * OW : NULL;
        for (int ox = 0; ox < OW; ox += 16) {
            int n = OW - ox < 16 ? OW - ox : 16; /* windows; they read 2n floats of each row */
            __mmask16 mo = (__mmask16)((1u << n) - 1u);
            __mmask16 m0 = (__mmask16)(n >= 8 ? 0xFFFFu : (1u << (2 * n)) - 1u);
            __mmask16 m1 = (__mmask16)(n <= 8 ? 0u : (1u << (2 * n - 16)) - 1u);
            const float *p0 = r0 + 2 * ox, *p1 = r1 + 2 * ox;
            __m512 a0 = _mm512_maskz_loadu_ps(m0, p0), a1 = _mm512_maskz_loadu_ps(m1, p0 + 16);
            __m512 b0 = _mm512_maskz_loadu_ps(m0, p1), b1 = _mm512_maskz_loadu_ps(m1, p1 + 16);
            __m512 v0 = _mm512_permutex2var_ps(a0, even, a1), v1 = _mm512_permutex2var_ps(a0, odd, a1);
            __m512 v2 = _mm512_permutex2var_ps(b0, even, b1), v3 = _mm512_permutex2var_ps(b0, odd, b1);
            __m512 idx, m = vf_max4_first(v0, v1, v2, v3, &idx);
            _mm512_mask_storeu_ps(oo + ox, mo, m);
            if (aa) _mm512_mask_storeu_ps(aa + ox, mo, idx);
        }
    }
}

/* din of one plane: each window's gradient to its recorded position, zeros
 * elsewhere (including a last row / column that no window covers). */
static void pool2_backward(float *d, const float *g, const float *a, const float *gate, int H, int W, int OH, int OW)
{
    const __m512i lo = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    const __m512i hi = _mm512_add_epi32(lo, _mm512_set1_epi32(8));
    const __m512 zero = _mm512_setzero_ps(), one = _mm512_set1_ps(1.0f), two = _mm512_set1_ps(2.0f),
                 three = _mm512_set1_ps(3.0f);
    for (int oy = 0; oy < OH; oy++) {
        float *r0 = d + (size_t)(2 * oy) * W, *r1 = r0 + W;
        const float *gg = g + (size_t)oy * OW, *aa = a + (size_t)oy * OW;
        const float *gt = gate ? gate + (size_t)oy * OW : NULL;
        for (int ox = 0; ox < OW; ox += 16) {
            int n = OW - ox < 16 ? OW - ox : 16;
            __mmask16 mo = (__mmask16)((1u << n) - 1u);
            if (gt) mo &= _mm512_cmp_ps_mask(_mm512_maskz_loadu_ps(mo, gt + ox), zero, _CMP_GT_OQ);
            __mmask16 m0 = (__mmask16)(n >= 8 ? 0xFFFFu : (1u << (2 * n)) - 1u);
            __mmask16 m1 = (__mmask16)(n <= 8 ? 0u : (1u << (2 * n - 16)) - 1u);
            __m512 gv = _mm512_maskz_loadu_ps(mo, gg + ox), av = _mm512_maskz_loadu_ps(mo, aa + ox);
            __m512 v0 = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(av, zero, _CMP_EQ_OQ), gv);
            __m512 v1 = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(av, one, _CMP_EQ_OQ), gv);
            __m512 v2 = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(av, two, _CMP_EQ_OQ), gv);
            __m512 v3 = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(av, three, _CMP_EQ_OQ), gv);
            float *p0 = r0 + 2 * ox, *p1 = r1 + 2 * ox;
            _mm512_mask_storeu_ps(p0, m0, _mm512_permutex2var_ps(v0, lo, v1));
            _mm512_mask_storeu_ps(p0 + 16, m1, _mm512_permutex2var_ps(v0, hi, v1));
            _mm512_mask_storeu_ps(p1, m0, _mm512_permutex2var_ps(v2, lo, v3));
            _mm512_mask_storeu_ps(p1 + 16, m1, _mm512_permutex2var_ps(v2, hi, v3));
        }
        if (W > 2 * OW) r0[W - 1] = r1[W - 1] = 0.0f;
    }
    if (H > 2 * OH) memset(d + (size_t)(H - 1) * W, 0, (size_t)W * sizeof *d);
}
#elif MN_VL == 8
/* AVX2 (with FMA, as simd.h's names need): eight windows at a time, the same selections as the scalar loops
 * below (so the same bits): even and odd columns of 16 input floats are
 * separated with in-lane shuffles and a cross-lane 64-bit permute, and
 * interleaved back the same way in the backward pass. A row's partial
 * piece is read and written whole: its excess lanes land in the next rows,
 * which are written afterwards (vmaskmovps stores are slow on AMD); only
 * where a whole piece would leave the plane does it go under masks, so
 * nothing outside a plane is read or written. */
static inline void store8(float *p, int n, __m256 v) /* lanes [0, n) of v */
{
    if (n >= 8)
        _mm256_storeu_ps(p, v);
    else if (n > 0)
        _mm256_maskstore_ps(p, lanes8(0, n), v);
}

static inline __m256 load8(const float *p, int n) /* lanes [0, n), zeros after */
{
    return n >= 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, lanes8(0, n));
}

/* the even and the odd elements of the 16 floats a0, a1 */
static inline void deinterleave(__m256 a0, __m256 a1, __m256 *even, __m256 *odd)
{
    *even = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a0, a1, _MM_SHUFFLE(2, 0, 2, 0))),
                                                   _MM_SHUFFLE(3, 1, 2, 0)));
    *odd = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a0, a1, _MM_SHUFFLE(3, 1, 3, 1))),
                                                  _MM_SHUFFLE(3, 1, 2, 0)));
}

/* Windows a piece at (oy, ox) handles: 8 when the whole vectors it reads
 * (16 floats of input row 2 oy + 1 from 2 ox, or of output row 2 oy + half in
 * the backward; 8 of window row oy from ox) stay within the plane, else only
 * the row's own. */
static inline int piece(int oy, int ox, int row, int H, int W, int OH, int OW)
{
    int whole = (size_t)row * W + 2 * (size_t)ox + 16 <= (size_t)H * W &&
                (size_t)oy * OW + (size_t)ox + 8 <= (size_t)OH * OW;
    return whole || OW - ox >= 8 ? 8 : OW - ox;
}

static void pool2_forward(float *o, float *a, const float *x, int H, int W, int OH, int OW)
{
    for (int oy = 0; oy < OH; oy++) {
        const float *r0 = x + (size_t)(2 * oy) * W, *r1 = r0 + W;
        float *oo = o + (size_t)oy * OW, *aa = a ? a + (size_t)oy * OW : NULL;
        for (int ox = 0; ox < OW; ox += 8) {
            /* windows handled (they read 2n floats of each row) */
            int n = piece(oy, ox, 2 * oy + 1, H, W, OH, OW);
            const float *p0 = r0 + 2 * ox, *p1 = r1 + 2 * ox;
            __m256 v0, v1, v2, v3;
            deinterleave(load8(p0, 2 * n), load8(p0 + 8, 2 * n - 8), &v0, &v1);
            deinterleave(load8(p1, 2 * n), load8(p1 + 8, 2 * n - 8), &v2, &v3);
            __m256 idx, m = vf_max4_first(v0, v1, v2, v3, &idx);
            store8(oo + ox, n, m);
            if (aa) store8(aa + ox, n, idx);
        }
    }
}

/* Row r0 of every window row first, then r1, so that a piece's excess lands
 * where a later store writes. */
static void pool2_backward(float *d, const float *g, const float *a, const float *gate, int H, int W, int OH, int OW)
{
    const __m256 zero = _mm256_setzero_ps();
    for (int oy = 0; oy < OH; oy++) {
        const float *gg = g + (size_t)oy * OW, *aa = a + (size_t)oy * OW;
        const float *gt = gate ? gate + (size_t)oy * OW : NULL;
        for (int half = 0; half < 2; half++) {
            float *r = d + (size_t)(2 * oy + half) * W;
            const __m256 ka = _mm256_set1_ps((float)(2 * half)), kb = _mm256_set1_ps((float)(2 * half + 1));
            for (int ox = 0; ox < OW; ox += 8) {
                int n = piece(oy, ox, 2 * oy + half, H, W, OH, OW);
                __m256 gv = load8(gg + ox, n), av = load8(aa + ox, n);
                if (gt) gv = _mm256_and_ps(gv, _mm256_cmp_ps(load8(gt + ox, n), zero, _CMP_GT_OQ));
                __m256 va = _mm256_and_ps(gv, _mm256_cmp_ps(av, ka, _CMP_EQ_OQ));
                __m256 vb = _mm256_and_ps(gv, _mm256_cmp_ps(av, kb, _CMP_EQ_OQ));
                __m256 lo = _mm256_unpacklo_ps(va, vb), hi = _mm256_unpackhi_ps(va, vb);
                store8(r + 2 * ox, 2 * n, _mm256_permute2f128_ps(lo, hi, 0x20));
                store8(r + 2 * ox + 8, 2 * n - 8, _mm256_permute2f128_ps(lo, hi, 0x31));
            }
            if (W > 2 * OW) r[W - 1] = 0.0f;
        }
    }
    if (H > 2 * OH) memset(d + (size_t)(H - 1) * W, 0, (size_t)W * sizeof *d);
}
#else
static void pool2_forward(float *o, float *a, const float *x, int H, int W, int OH, int OW)
{
    (void)H;
    for (int oy = 0; oy < OH; oy++) {
        const float *r0 = x + (size_t)(2 * oy) * W, *r1 = r0 + W;
        float *oo = o + (size_t)oy * OW;
        for (int ox = 0; ox < OW; ox++) {
            float v0 = r0[2 * ox], v1 = r0[2 * ox + 1], v2 = r1[2 * ox], v3 = r1[2 * ox + 1];
            float m01 = v1 > v0 ? v1 : v0, m23 = v3 > v2 ? v3 : v2;
            float i01 = v1 > v0 ? 1.0f : 0.0f, i23 = v3 > v2 ? 3.0f : 2.0f;
            oo[ox] = m23 > m01 ? m23 : m01;
            if (a) a[(size_t)oy * OW + ox] = m23 > m01 ? i23 : i01;
        }
    }
}

static void pool2_backward(float *d, const float *g, const float *a, const float *gate, int H, int W, int OH, int OW)
{
    for (int oy = 0; oy < OH; oy++) {
        float *r0 = d + (size_t)(2 * oy) * W, *r1 = r0 + W;
        const float *gg = g + (size_t)oy * OW, *aa = a + (size_t)oy * OW;
        for (int ox = 0; ox < OW; ox++) {
            float v = gg[ox], k = aa[ox];
            if (gate && !(gate[(size_t)oy * OW + ox] > 0.0f)) v = 0.0f;
            r0[2 * ox] = k == 0.0f ? v : 0.0f;
            r0[2 * ox + 1] = k == 1.0f ? v : 0.0f;
            r1[2 * ox] = k == 2.0f ? v : 0.0f;
            r1[2 * ox + 1] = k == 3.0f ? v : 0.0f;
        }
        if (W > 2 * OW) r0[W - 1] = r1[W - 1] = 0.0f;
    }
    if (H > 2 * OH) memset(d + (size_t)(H - 1) * W, 0, (size_t)W * sizeof *d);
}
#endif

void mn_maxpool_plane_forward(float *o, float *a, const float *x, int H, int W, int KH, int KW, int SH, int SW)
{
    const int OH = (H - KH) / SH + 1, OW = (W - KW) / SW + 1;
    if (KH == 2 && KW == 2 && SH == 2 && SW == 2) {
        pool2_forward(o, a, x, H, W, OH, OW);
        return;
    }
    for (int oy = 0; oy < OH; oy++)
        for (int ox = 0; ox < OW; ox++) {
            const float *win = x + (size_t)(oy * SH) * W + (size_t)ox * SW;
            float best = win[0];
            int bi = 0;
            for (int ky = 0; ky < KH; ky++)
                for (int kx = 0; kx < KW; kx++) {
                    float v = win[(size_t)ky * W + kx];
                    if (v > best) best = v, bi = ky * KW + kx; /* ties: the first maximum wins */
                }
            o[(size_t)oy * OW + ox] = best;
            if (a) a[(size_t)oy * OW + ox] = (float)bi;
        }
}

void mn_maxpool_plane_backward(float *d, const float *g, const float *a, const float *gate, int H, int W, int KH,
                               int KW, int SH, int SW)
{
    const int OH = (H - KH) / SH + 1, OW = (W - KW) / SW + 1;
    if (KH == 2 && KW == 2 && SH == 2 && SW == 2) {
        pool2_backward(d, g, a, gate, H, W, OH, OW);
        return;
    }
    memset(d, 0, (size_t)H * W * sizeof *d);
    for (int oy = 0; oy < OH; oy++)
        for (int ox = 0; ox < OW; ox++) {
            size_t j = (size_t)oy * OW + ox;
            if (gate && !(gate[j] > 0.0f)) continue;
            int bi = (int)a[j], ky = bi / KW, kx = bi % KW;
            /* += : windows may overlap when the stride is below the size */
            d[(size_t)(oy * SH + ky) * W + (size_t)ox * SW + kx] += g[j];
        }
}

void mn_maxpool_forward(float *out, float *argmax, const float *in, int B, int C, int H, int W, int KH, int KW, int SH,
                        int SW)
{
    const int OH = (H - KH) / SH + 1, OW = (W - KW) / SW + 1;
    const long planes = (long)B * C;
    int nt = pool_threads((size_t)planes * H * W, planes);
    (void)nt;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
#endif
    for (long pl = 0; pl < planes; pl++)
        mn_maxpool_plane_forward(out + (size_t)pl * OH * OW, argmax ? argmax + (size_t)pl * OH * OW : NULL,
                                 in + (size_t)pl * H * W, H, W, KH, KW, SH, SW);
}

void mn_maxpool_backward(float *din, const float *dout, const float *argmax, int B, int C, int H, int W, int KH, int KW,
                         int SH, int SW)
{
    const int OH = (H - KH) / SH + 1, OW = (W - KW) / SW + 1;
    const long planes = (long)B * C;
    int nt = pool_threads((size_t)planes * H * W, planes);
    (void)nt;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
#endif
    for (long pl = 0; pl < planes; pl++)
        mn_maxpool_plane_backward(din + (size_t)pl * H * W, dout + (size_t)pl * OH * OW,
                                  argmax + (size_t)pl * OH * OW, NULL, H, W, KH, KW, SH, SW);
}
void mn_avgpool_forward(float *out, const float *in, int B, int C, int H, int W, int KH, int KW, int SH, int SW)
{
    const int OH = (H - KH) / SH + 1, OW = (W - KW) / SW + 1;
    const long planes = (long)B * C;
    const float n = (float)(KH * KW);
    int nt = pool_threads((size_t)planes * H * W, planes);
    (void)nt;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
#endif
    for (long pl = 0; pl < planes; pl++) {
        const float *x = in + (size_t)pl * H * W;
        float *o = out + (size_t)pl * OH * OW;
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                const float *win = x + (size_t)(oy * SH) * W + (size_t)ox * SW;
                float s = 0.0f;
                for (int ky = 0; ky < KH; ky++)
                    for (int kx = 0; kx < KW; kx++) s += win[(size_t)ky * W + kx];
                o[(size_t)oy * OW + ox] = s / n;
            }
    }
}

void mn_avgpool_backward(float *din, const float *dout, int B, int C, int H, int W, int KH, int KW, int SH, int SW)
{
    const int OH = (H - KH) / SH + 1, OW = (W - KW) / SW + 1;
    const long planes = (long)B * C;
    const float n = (float)(KH * KW);
    int nt = pool_threads((size_t)planes * H * W, planes);
    (void)nt;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
#endif
    for (long pl = 0; pl < planes; pl++) {
        float *d = din + (size_t)pl * H * W;
        const float *g = dout + (size_t)pl * OH * OW;
        memset(d, 0, (size_t)H * W * sizeof *d);
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                float v = g[(size_t)oy * OW + ox] / n;
                float *win = d + (size_t)(oy * SH) * W + (size_t)ox * SW;
                for (int ky = 0; ky < KH; ky++)
                    for (int kx = 0; kx < KW; kx++) win[(size_t)ky * W + kx] += v;
            }
    }
}
