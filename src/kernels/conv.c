/* conv.c - 2-D convolution (Keras Conv2D, PyTorch Conv2d) by im2col + GEMM.
 *
 * With P = OH*OW output positions and KK = C*KH*KW weights per filter, im2col
 * lays receptive fields out as columns, one per output position, so that
 *
 *   forward   out[n] = W[OC][KK] * cols[n] + b      (one GEMM per group of GROUP images)
 *   backward  dW = sum over n of dout[n] * cols[n]^T (one GEMM per chunk of G images)
 *             dcols = W^T * dout[n], col2im into din[n]  (one GEMM per chunk)
 *
 * Forward groups run in parallel, one thread each with its own slice of the
 * scratch buffer; the dW sum runs over chunks (G fixed by the geometry and
 * the batch size, never by the thread count) as GEMMs with K = G*P,
 * accumulated in order, whose threads split the output only. So results are
 * bit-identical for any number of threads.
 *
 * The first conv of an MNIST convnet (one channel, a few taps) has two
 * direct paths instead, where a GEMM with K = 9 would mostly move memory: a
 * 1x3x3 conv + ReLU + 2x2 pool forward (direct_forward, the GEMM path's
 * bits), and the weight gradient when no input gradient is wanted
 * (direct_dw).
 *
 * A ReLU and a non-overlapping max pooling after the conv can be fused in
 * (mn_conv_forward_fused): the forward applies them to each GEMM tile as it
 * leaves the GEMM, and the backward rebuilds the conv's output gradient from
 * the pooled one as it gathers it, so the full-size maps never go through
 * memory.
 */
#include "kernels/isa_rename.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnist/gemm.h"
#include "mnist/kernels.h"
#include "kernels/pool.h"
#include "kernels/simd.h"

#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__AVX512F__) || defined(__AVX__)
#include <immintrin.h>
#endif

/* Target size (floats) of a chunk's column matrix: small enough to stay in
 * L2/L3 between im2col and the GEMM, large enough for good GEMM shapes. */
#ifndef CHUNK_FLOATS
#define CHUNK_FLOATS (256 * 1024)
#endif

/* Images per GEMM in forward and in backward's second pass: a GEMM over
 * 2-4 images' columns runs 20-25% faster than one per image (MNIST's
 * 11x11 maps are only 121 columns). Fixed, so never thread-dependent. */
#define GROUP 4

/* Below this many floats of copying per parallel loop, one thread does it. */
#define PAR_MIN_FLOATS 32768

static int chunk_images(const mn_conv_geom *g, int B)
{
    size_t per = (size_t)g->c * g->kh * g->kw * (size_t)g->oh * g->ow;
    size_t n = per ? CHUNK_FLOATS / per : 1;
    /* a multiple of 4 images where one is near (cnn's second conv: 7.5 -> 8),
     * so that a chunk's per-image work splits evenly among 2 or 4 threads;
     * fixed by the geometry, never by the thread count (the bits depend on it) */
    if (n >= 3) n = (n + 2) / 4 * 4;
    if (n < 1) n = 1;
    if (n > (size_t)B) n = (size_t)(B > 0 ? B : 1);
    return (int)n;
}

size_t mn_conv_scratch_floats(const mn_conv_geom *g, int B)
{
    /* forward and backward's second pass use one KK x P slice per thread (at
     * most B threads), the first pass G <= B images of columns and of dout */
    size_t KK = (size_t)g->c * g->kh * g->kw, P = (size_t)g->oh * g->ow, Bn = (size_t)(B > 0 ? B : 1);
    /* + the offset tables of the gathered weight gradient (KK + G * P ints) */
    return Bn * (KK + (size_t)g->oc) * P + KK + Bn * P;
}

/* The output positions o in [0, n) whose input index o*s + off lies in
 * [0, len): [*lo, *hi). */
static void valid_range(int off, int s, int len, int n, int *lo, int *hi)
{
    int a = off >= 0 ? 0 : (-off + s - 1) / s;
    int b = len - 1 - off >= 0 ? (len - 1 - off) / s + 1 : 0;
    if (a > n) a = n;
    if (b > n) b = n;
    if (b < a) b = a;
    *lo = a;
    *hi = b;
}

/* Short rows (im2col rows are OW floats, often 10-30). Plain loops here get
 * turned into memcpy/memmove calls, which cost more than the copy itself at
 * these lengths, so with AVX-512 / AVX we use masked / overlapping vector
 * moves instead. */
#if defined(__AVX512F__)
static inline __mmask16 tail_mask(int n) { return (__mmask16)((1u << n) - 1u); }

static inline void copy_row(float *restrict d, const float *restrict s, int n)
{
    int i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(d + i, _mm512_loadu_ps(s + i));
    if (i < n) {
        __mmask16 m = tail_mask(n - i);
        _mm512_mask_storeu_ps(d + i, m, _mm512_maskz_loadu_ps(m, s + i));
    }
}

static inline void add_row(float *restrict d, const float *restrict s, int n)
{
    int i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(d + i, _mm512_add_ps(_mm512_loadu_ps(d + i), _mm512_loadu_ps(s + i)));
    if (i < n) {
        __mmask16 m = tail_mask(n - i);
        _mm512_mask_storeu_ps(d + i, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, d + i), _mm512_maskz_loadu_ps(m, s + i)));
    }
}

static inline void zero_row(float *d, int n)
{
    int i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(d + i, _mm512_setzero_ps());
    if (i < n) _mm512_mask_storeu_ps(d + i, tail_mask(n - i), _mm512_setzero_ps());
}
#elif defined(__AVX__)
static inline void copy_row(float *restrict d, const float *restrict s, int n)
{
    if (n < 8) {
        for (int i = 0; i < n; i++) d[i] = s[i];
        return;
    }
    int i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(d + i, _mm256_loadu_ps(s + i));
    if (i < n) _mm256_storeu_ps(d + n - 8, _mm256_loadu_ps(s + n - 8)); /* overlaps: same values */
}

static inline void add_row(float *restrict d, const float *restrict s, int n)
{
    int i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(d + i, _mm256_add_ps(_mm256_loadu_ps(d + i), _mm256_loadu_ps(s + i)));
    for (; i < n; i++) d[i] += s[i];
}

static inline void zero_row(float *d, int n)
{
    int i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(d + i, _mm256_setzero_ps());
    for (; i < n; i++) d[i] = 0.0f;
}
#else
static inline void copy_row(float *restrict d, const float *restrict s, int n)
{
    for (int i = 0; i < n; i++) d[i] = s[i];
}

static inline void add_row(float *restrict d, const float *restrict s, int n)
{
    for (int i = 0; i < n; i++) d[i] += s[i];
}

static inline void zero_row(float *d, int n)
{
    for (int i = 0; i < n; i++) d[i] = 0.0f;
}
#endif

/* Without padding, output position p reads its window from input offset
 * gather_index(p) (plus the tap's own offset). */
static int gather_index(const mn_conv_geom *g, int p) { return p / g->ow * g->sh * g->w + p % g->ow; }

/* No padding on any side and unit column stride: every tap of every window
 * lies in the input, and each output row of a tap's columns is one segment
 * of an input row. im2col's vector copies and the gathered weight gradient
 * need this. */
static int windows_inside(const mn_conv_geom *g)
{
    return !g->pt && !g->pl && g->sw == 1 && (g->oh - 1) * g->sh + g->kh <= g->h && g->ow - 1 + g->kw <= g->w;
}

/* One image's receptive fields into columns of cols (row stride ld). */
static void im2col_generic(float *cols, size_t ld, const float *img, const mn_conv_geom *g)
{
    const int H = g->h, W = g->w, OH = g->oh, OW = g->ow, SH = g->sh, SW = g->sw;
    for (int c = 0; c < g->c; c++) {
        const float *plane = img + (size_t)c * H * W;
        for (int ky = 0; ky < g->kh; ky++) {
            int ylo, yhi;
            valid_range(ky - g->pt, SH, H, OH, &ylo, &yhi);
            for (int kx = 0; kx < g->kw; kx++) {
                float *dst = cols + ((size_t)(c * g->kh + ky) * g->kw + kx) * ld;
                int xlo, xhi, off = kx - g->pl;
                valid_range(off, SW, W, OW, &xlo, &xhi);
                zero_row(dst, ylo * OW);
                for (int oy = ylo; oy < yhi; oy++) {
                    float *d = dst + (size_t)oy * OW;
                    const float *row = plane + (size_t)(oy * SH + ky - g->pt) * W;
                    zero_row(d, xlo);
                    if (SW == 1)
                        copy_row(d + xlo, row + (xlo + off), xhi - xlo); /* xlo + off >= 0 */
                    else
                        for (int ox = xlo; ox < xhi; ox++) d[ox] = row[ox * SW + off];
                    zero_row(d + xhi, OW - xhi);
                }
                zero_row(dst + (size_t)yhi * OW, (OH - yhi) * OW);
            }
        }
    }
}

/* The adjoint of im2col: one image's input gradient from its columns. */
static void col2im_generic(float *img, const float *cols, size_t ld, const mn_conv_geom *g)
{
    const int H = g->h, W = g->w, OW = g->ow, SH = g->sh, SW = g->sw;
    memset(img, 0, (size_t)g->c * H * W * sizeof *img);
    for (int c = 0; c < g->c; c++) {
        float *plane = img + (size_t)c * H * W;
        for (int ky = 0; ky < g->kh; ky++) {
            int ylo, yhi;
            valid_range(ky - g->pt, SH, H, g->oh, &ylo, &yhi);
            for (int kx = 0; kx < g->kw; kx++) {
                const float *src = cols + ((size_t)(c * g->kh + ky) * g->kw + kx) * ld;
                int xlo, xhi, off = kx - g->pl;
                valid_range(off, SW, W, OW, &xlo, &xhi);
                for (int oy = ylo; oy < yhi; oy++) {
                    const float *s = src + (size_t)oy * OW;
                    float *row = plane + (size_t)(oy * SH + ky - g->pt) * W;
                    if (SW == 1) {
                        add_row(row + (xlo + off), s + xlo, xhi - xlo);
                    } else {
                        for (int ox = xlo; ox < xhi; ox++) row[ox * SW + off] += s[ox];
                    }
                }
            }
        }
    }
}

#if defined(__AVX512F__)
/* Fast paths for stride-1 rows of at most 32 floats (every MNIST-sized
 * feature map): an input or output row is one or two vectors, and the shift
 * by kx - pad_left (with the padding's zeros) is a masked two-source permute.
 * col2im then sums every input row in registers, the (ky, kx) terms in the
 * same order as col2im_generic, so the two agree bit for bit; the generic
 * version's overlapping read-modify-writes of short rows stall on store
 * forwarding. */
static int fast_rows(const mn_conv_geom *g) { return g->sw == 1 && g->w <= 32 && g->ow <= 32 && g->kw <= 32; }

static inline __mmask16 lane_mask(int lo, int hi) /* lanes [lo, hi) of 16, clipped */
{
    if (lo < 0) lo = 0;
    if (hi > 16) hi = 16;
    return hi <= lo ? 0 : (__mmask16)(((1u << (hi - lo)) - 1u) << lo);
}

/* out[o] = in[o + shift] for o in [0, n_out) where 0 <= o + shift < n_in,
 * else 0; in and out of up to 32 floats as two vectors each. */
typedef struct {
    __m512i idx0, idx1;
    __mmask16 m0, m1;
} shift_op;

static shift_op make_shift(int shift, int n_in, int n_out)
{
    const __m512i iota = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    shift_op s;
    s.idx0 = _mm512_add_epi32(iota, _mm512_set1_epi32(shift));
    s.idx1 = _mm512_add_epi32(iota, _mm512_set1_epi32(16 + shift));
    int lo = -shift, hi = n_in - shift; /* valid o */
    if (hi > n_out) hi = n_out;
    s.m0 = lane_mask(lo, hi);
    s.m1 = lane_mask(lo - 16, hi - 16);
    return s;
}

static void im2col_fast(float *cols, size_t ld, const float *img, const mn_conv_geom *g)
{
    const int H = g->h, W = g->w, OH = g->oh, OW = g->ow, SH = g->sh;
    const int wide = W > 16 || OW > 16;
    const __mmask16 in0 = lane_mask(0, W), in1 = lane_mask(-16, W - 16);
    const __mmask16 out0 = lane_mask(0, OW), out1 = lane_mask(-16, OW - 16);
    for (int c = 0; c < g->c; c++) {
        const float *plane = img + (size_t)c * H * W;
        for (int ky = 0; ky < g->kh; ky++) {
            int ylo, yhi;
            valid_range(ky - g->pt, SH, H, OH, &ylo, &yhi);
            for (int kx = 0; kx < g->kw; kx++) {
                float *d = cols + ((size_t)(c * g->kh + ky) * g->kw + kx) * ld;
                shift_op sh = make_shift(kx - g->pl, W, OW);
                zero_row(d, ylo * OW);
                zero_row(d + (size_t)yhi * OW, (OH - yhi) * OW);
                if (ylo >= yhi) continue; /* no valid row: don't even form the pointer (it may lie outside) */
                const float *row = plane + (size_t)(ylo * SH + ky - g->pt) * W;
                const size_t step = (size_t)SH * W;
                d += (size_t)ylo * OW;
                if (!wide) {
                    for (int oy = ylo; oy < yhi; oy++, d += OW, row += step) {
                        __m512 a = _mm512_maskz_loadu_ps(in0, row);
                        _mm512_mask_storeu_ps(d, out0, _mm512_maskz_permutexvar_ps(sh.m0, sh.idx0, a));
                    }
                } else {
                    for (int oy = ylo; oy < yhi; oy++, d += OW, row += step) {
                        __m512 a = _mm512_maskz_loadu_ps(in0, row), b = _mm512_maskz_loadu_ps(in1, row + 16);
                        _mm512_mask_storeu_ps(d, out0, _mm512_maskz_permutex2var_ps(sh.m0, a, sh.idx0, b));
                        _mm512_mask_storeu_ps(d + 16, out1, _mm512_maskz_permutex2var_ps(sh.m1, a, sh.idx1, b));
                    }
                }
            }
        }
    }
}

/* Without padding and with unit column stride, every row of one image's
 * columns is the same gather from the input, only shifted: cols[(c, ky,
 * kx)][p] = plane_c[ky * W + kx + idx(p)] with idx(p) = (p / OW) * SH * W +
 * p % OW. So each 16-float piece of a row comes from one window of at most
 * 32 input floats (two masked loads, which never reach past the plane) and
 * one fixed permutation, computed once per call; the row is written with
 * whole vectors in order. The row-by-row copy above stores 11-float pieces
 * (conv2's rows) with masks, and measured store-bound. */
#define GATHER_MAX_VECS 64

typedef struct {
    int nv;
    int lo[GATHER_MAX_VECS];
    __m512i perm[GATHER_MAX_VECS];
    __mmask16 m0[GATHER_MAX_VECS], m1[GATHER_MAX_VECS], last;
} gather_plan;

/* Returns 0 when the geometry does not allow it. */
static int make_gather_plan(gather_plan *gp, const mn_conv_geom *g)
{
    const int P = g->oh * g->ow;
    /* no padding on any side: every tap of every window lies in the input */
    if (!windows_inside(g) || P > 16 * GATHER_MAX_VECS) return 0;
    gp->nv = (P + 15) / 16;
    gp->last = 0;
    for (int v = 0; v < gp->nv; v++) {
        int n = P - 16 * v < 16 ? P - 16 * v : 16, lo = gather_index(g, 16 * v);
        int span = gather_index(g, 16 * v + n - 1) - lo + 1;
        if (span > 32) return 0;
        int32_t idx[16] = {0};
        for (int l = 0; l < n; l++) idx[l] = gather_index(g, 16 * v + l) - lo;
        gp->lo[v] = lo;
        gp->perm[v] = _mm512_loadu_si512(idx);
        gp->m0[v] = lane_mask(0, span);
        gp->m1[v] = lane_mask(-16, span - 16);
        gp->last = lane_mask(0, n);
    }
    return 1;
}

static void im2col_gather(float *cols, size_t ld, const float *img, const mn_conv_geom *g, const gather_plan *gp)
{
    const int H = g->h, W = g->w, nv = gp->nv;
    for (int c = 0; c < g->c; c++)
        for (int ky = 0; ky < g->kh; ky++)
            for (int kx = 0; kx < g->kw; kx++) {
                const float *base = img + ((size_t)c * H + ky) * W + kx;
                float *d = cols + ((size_t)(c * g->kh + ky) * g->kw + kx) * ld;
                for (int v = 0; v < nv; v++) {
                    const float *s = base + gp->lo[v];
                    __m512 a = _mm512_maskz_loadu_ps(gp->m0[v], s), b = _mm512_maskz_loadu_ps(gp->m1[v], s + 16);
                    __m512 r = _mm512_permutex2var_ps(a, gp->perm[v], b);
                    if (v < nv - 1)
                        _mm512_storeu_ps(d + 16 * v, r);
                    else
                        _mm512_mask_storeu_ps(d + 16 * v, gp->last, r);
                }
            }
}

static void col2im_fast(float *img, const float *cols, size_t ld, const mn_conv_geom *g)
{
    const int H = g->h, W = g->w, OH = g->oh, OW = g->ow, SH = g->sh, KH = g->kh, KW = g->kw;
    const int wide = W > 16 || OW > 16;
    const __mmask16 src0 = lane_mask(0, OW), src1 = lane_mask(-16, OW - 16);
    const __mmask16 dst0 = lane_mask(0, W), dst1 = lane_mask(-16, W - 16);
    shift_op sh[32];
    for (int kx = 0; kx < KW; kx++) sh[kx] = make_shift(g->pl - kx, OW, W);
    for (int c = 0; c < g->c; c++)
        for (int iy = 0; iy < H; iy++) {
            __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
            for (int ky = 0; ky < KH; ky++) {
                int t = iy + g->pt - ky; /* = oy * SH */
                if (t < 0 || t % SH || t / SH >= OH) continue;
                const float *s = cols + ((size_t)(c * KH + ky) * KW) * ld + (size_t)(t / SH) * OW;
                if (!wide) {
                    for (int kx = 0; kx < KW; kx++, s += ld)
                        acc0 = _mm512_add_ps(acc0, _mm512_maskz_permutexvar_ps(sh[kx].m0, sh[kx].idx0,
                                                                               _mm512_maskz_loadu_ps(src0, s)));
                } else {
                    for (int kx = 0; kx < KW; kx++, s += ld) {
                        __m512 a = _mm512_maskz_loadu_ps(src0, s), b = _mm512_maskz_loadu_ps(src1, s + 16);
                        acc0 = _mm512_add_ps(acc0, _mm512_maskz_permutex2var_ps(sh[kx].m0, a, sh[kx].idx0, b));
                        acc1 = _mm512_add_ps(acc1, _mm512_maskz_permutex2var_ps(sh[kx].m1, a, sh[kx].idx1, b));
                    }
                }
            }
            float *row = img + ((size_t)c * H + iy) * W;
            _mm512_mask_storeu_ps(row, dst0, acc0);
            if (wide) _mm512_mask_storeu_ps(row + 16, dst1, acc1);
        }
}

#else
typedef struct {
    int nv;
} gather_plan;

static int make_gather_plan(gather_plan *gp, const mn_conv_geom *g)
{
    (void)g;
    gp->nv = 0;
    return 0;
}
#endif

#if !defined(__AVX512F__) && defined(__AVX2__)
/* AVX2's im2col without padding and with unit column stride (AVX2 has no
 * two-source permute for the gather above): every output row of a tap is
 * an input row segment, copied with whole 8-float vectors in order, so a
 * short piece's excess lands where the next row goes and is overwritten;
 * only the tap's very last piece is stored under a mask, and partial loads
 * are masked, so nothing outside the image or the row is touched. */
static int rows_copy_ok(const mn_conv_geom *g) { return g->ow >= 8 && windows_inside(g); }

static void im2col_rows(float *cols, size_t ld, const float *img, const mn_conv_geom *g)
{
    const int H = g->h, W = g->w, OH = g->oh, OW = g->ow, SH = g->sh, tail = OW & 7;
    const __m256i tm = lanes8(0, tail);
    for (int c = 0; c < g->c; c++)
        for (int ky = 0; ky < g->kh; ky++)
            for (int kx = 0; kx < g->kw; kx++) {
                const float *s = img + ((size_t)c * H + ky) * W + kx;
                float *d = cols + ((size_t)(c * g->kh + ky) * g->kw + kx) * ld;
                for (int oy = 0; oy < OH; oy++, s += (size_t)SH * W, d += OW) {
                    int x = 0;
                    for (; x + 8 <= OW; x += 8) _mm256_storeu_ps(d + x, _mm256_loadu_ps(s + x));
                    if (tail) {
                        __m256 v = _mm256_maskload_ps(s + x, tm);
                        if (oy + 1 < OH)
                            _mm256_storeu_ps(d + x, v);
                        else
                            _mm256_maskstore_ps(d + x, tm, v);
                    }
                }
            }
}

/* AVX2's col2im for unit column stride and input rows of at most 16 floats
 * (two vectors): as col2im_fast, every input row is summed in registers,
 * the (ky, kx) terms in col2im_generic's order, each a load of the column
 * row shifted by kx - pad_left under the mask of the lanes it covers (a
 * masked-off lane adds +0, which changes no sum that started at +0), so the
 * two agree bit for bit without col2im_generic's read-modify-writes of
 * short rows. */
static int col2im_rows_ok(const mn_conv_geom *g) { return g->sw == 1 && g->w <= 16 && g->kw <= 16; }

static void col2im_rows(float *img, const float *cols, size_t ld, const mn_conv_geom *g)
{
    const int H = g->h, W = g->w, OH = g->oh, OW = g->ow, SH = g->sh, KH = g->kh, KW = g->kw;
    const __m256i out0 = lanes8(0, W), out1 = lanes8(0, W - 8);
    /* input column x takes output column x - sh (sh = kx - pad_left), where
     * that is in [0, OW): the lanes of each tap, once per call */
    __m256i m0[16], m1[16];
    for (int kx = 0; kx < KW; kx++) {
        const int sh = kx - g->pl;
        m0[kx] = lanes8(sh, OW + sh);
        m1[kx] = lanes8(sh - 8, OW + sh - 8);
    }
    for (int c = 0; c < g->c; c++)
        for (int iy = 0; iy < H; iy++) {
            __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
            for (int ky = 0; ky < KH; ky++) {
                const int t = iy + g->pt - ky; /* = oy * SH */
                if (t < 0 || (SH > 1 && t % SH)) continue;
                const int oy = SH > 1 ? t / SH : t;
                if (oy >= OH) continue;
                const float *s = cols + ((size_t)(c * KH + ky) * KW) * ld + (size_t)oy * OW + g->pl;
                for (int kx = 0; kx < KW; kx++, s += ld) {
                    acc0 = _mm256_add_ps(acc0, _mm256_maskload_ps(s - kx, m0[kx]));
                    if (W > 8) acc1 = _mm256_add_ps(acc1, _mm256_maskload_ps(s + 8 - kx, m1[kx]));
                }
            }
            float *row = img + ((size_t)c * H + iy) * W;
            _mm256_maskstore_ps(row, out0, acc0);
            if (W > 8) _mm256_maskstore_ps(row + 8, out1, acc1);
        }
}
#endif

/* gp: the geometry's gather plan, or NULL when it has none */
static void im2col(float *cols, size_t ld, const float *img, const mn_conv_geom *g, const gather_plan *gp)
{
#if !defined(__AVX512F__) && defined(__AVX2__)
    if (rows_copy_ok(g)) {
        im2col_rows(cols, ld, img, g);
        return;
    }
#endif
#if defined(__AVX512F__)
    if (gp) {
        im2col_gather(cols, ld, img, g, gp);
        return;
    }
    if (fast_rows(g)) {
        im2col_fast(cols, ld, img, g);
        return;
    }
#else
    (void)gp;
#endif
    im2col_generic(cols, ld, img, g);
}

static void col2im(float *img, const float *cols, size_t ld, const mn_conv_geom *g)
{
#if defined(__AVX512F__)
    if (fast_rows(g)) {
        col2im_fast(img, cols, ld, g);
        return;
    }
#elif defined(__AVX2__)
    if (col2im_rows_ok(g)) {
        col2im_rows(img, cols, ld, g);
        return;
    }
#endif
    col2im_generic(img, cols, ld, g);
}

/* Sum of x[0..n) in a fixed order (16 interleaved partial sums, which the
 * compiler can keep in one vector register). */
static float row_sum(const float *x, int n)
{
    float acc[16] = {0};
    int i = 0;
    for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++) acc[j] += x[i + j];
    float s = 0.0f;
    for (int j = 0; j < 16; j++) s += acc[j];
    for (; i < n; i++) s += x[i];
    return s;
}

static int threads_for(size_t floats, int items)
{
    int nt = mn_get_threads();
    if (floats < PAR_MIN_FLOATS) nt = 1;
    return nt < items ? nt : items;
}

#if MN_VL
/* threads_for, when each thread needs its own slice of the B-image scratch
 * (the caller checks that one slice fits; the direct paths below) */
static int threads_with_slices(size_t floats, int items, size_t slice, const mn_conv_geom *g, int B)
{
    int nt = threads_for(floats, items);
    size_t fit = mn_conv_scratch_floats(g, B) / slice;
    return (size_t)nt > fit ? (int)fit : nt;
}
#endif

static int thread_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* Threads for a loop over the groups of B images: at most B / GROUP, so
 * that every thread's slice of GROUP images fits in the B-image scratch. */
static int group_threads(int B, size_t floats)
{
    int groups = (B + GROUP - 1) / GROUP, cap = B / GROUP;
    int nt = threads_for(floats, groups);
    if (cap < 1) cap = 1;
    return nt < cap ? nt : cap;
}

/* One image's output, channel oc, from the GEMM's row t (P floats, which
 * stay in the thread's L2): bias, then the fused ReLU and pooling if any.
 * t is overwritten. Same operations in the same order as the separate
 * layers, so the same bits. */
static void emit(float *out, float *t, float bias, int n, int oc, const mn_conv_geom *g, const mn_conv_fuse *f)
{
    const int P = g->oh * g->ow;
    const int relu = f && f->relu, pool = f && f->pool_h;
    if (!pool) {
        float *o = out + ((size_t)n * g->oc + oc) * P;
        if (relu)
            for (int p = 0; p < P; p++) {
                float v = t[p] + bias;
                o[p] = v > 0.0f ? v : 0.0f;
            }
        else
            for (int p = 0; p < P; p++) o[p] = t[p] + bias;
        return;
    }
    const int PH = f->pool_h, PW = f->pool_w, Q = (g->oh / PH) * (g->ow / PW);
    if (relu)
        for (int p = 0; p < P; p++) {
            float v = t[p] + bias;
            t[p] = v > 0.0f ? v : 0.0f;
        }
    else
        for (int p = 0; p < P; p++) t[p] += bias;
    size_t at = ((size_t)n * g->oc + oc) * Q;
    mn_maxpool_plane_forward(out + at, f->argmax + at, t, g->oh, g->ow, PH, PW, PH, PW);
}

/* The conv's output gradient for image n, channel oc, into dst (P floats):
 * dout itself, or rebuilt from the fused layers' gradient (see emit). */
static void gather(float *dst, const float *dout, const float *out, int n, int oc, const mn_conv_geom *g,
                   const mn_conv_fuse *f)
{
    const int P = g->oh * g->ow;
    const int relu = f && f->relu, pool = f && f->pool_h;
    if (!pool) {
        size_t at = ((size_t)n * g->oc + oc) * P;
        const float *d = dout + at, *o = out + at;
        if (relu)
            for (int p = 0; p < P; p++) dst[p] = o[p] > 0.0f ? d[p] : 0.0f;
        else
            copy_row(dst, d, P);
        return;
    }
    const int PH = f->pool_h, PW = f->pool_w, Q = (g->oh / PH) * (g->ow / PW);
    size_t at = ((size_t)n * g->oc + oc) * Q;
    mn_maxpool_plane_backward(dst, dout + at, f->argmax + at, relu ? out + at : NULL, g->oh, g->ow, PH, PW, PH, PW);
}

#if MN_VL
/* The first block of cnn and of most MNIST convnets, conv 1x3x3 (stride 1,
 * no padding) + ReLU + 2x2 max pooling, computed directly: the GEMM path's
 * K = 9 leaves its micro-kernel mostly writing a 4-image tile that emit
 * then reads back. Here each thread takes whole images. An image's rows are
 * first split into even and odd columns (E, O), so that for 2x2 window j the
 * four conv outputs (rows 2oy and 2oy+1, columns 2j and 2j+1) are each a
 * contiguous vector over j: column 2j + s reads input column 2j + s + kx,
 * which is E[j + u/2] or O[j + u/2] by the parity of u = s + kx. Each conv
 * output is the GEMM's chain, fma over the taps in order from zero, then the
 * bias, ReLU and pooling of emit / pool2_forward (vf_max4_first),
 * so the bits are those of the GEMM path (test_conv checks the fused model
 * against the layers run one by one). */
static int pool_cols(const mn_conv_geom *g) /* E / O row length: window vectors + a vector of overhang */
{
    return ((g->ow / 2 + MN_VL - 1) / MN_VL + 1) * MN_VL;
}

static size_t direct_fwd_floats(const mn_conv_geom *g) { return (size_t)g->h * 2 * pool_cols(g); }

static int direct_fwd_ok(const mn_conv_geom *g, const mn_conv_fuse *f, int B)
{
    return f && f->relu && f->pool_h == 2 && f->pool_w == 2 && g->c == 1 && g->kh == 3 && g->kw == 3 &&
           g->sh == 1 && windows_inside(g) && g->oh >= 2 && g->ow >= 2 &&
           direct_fwd_floats(g) <= mn_conv_scratch_floats(g, B);
}

/* the four conv outputs of windows j0.. of pooled row oy; X(q, u) is input
 * row 2oy + q, column parity and offset u */
static inline void direct_fwd_windows(vf *a, const float *rows, int RW, const vf *w)
{
#define X(q, u) vf_loadu(rows + (size_t)(q) * 2 * RW + ((u) & 1) * RW + (u) / 2)
    vf a00 = vf_zero(), a01 = vf_zero(), a10 = vf_zero(), a11 = vf_zero();
#pragma GCC unroll 3
    for (int ky = 0; ky < 3; ky++)
#pragma GCC unroll 3
        for (int kx = 0; kx < 3; kx++) {
            vf wk = w[ky * 3 + kx];
            a00 = vf_fmadd(wk, X(ky, kx), a00);
            a01 = vf_fmadd(wk, X(ky, kx + 1), a01);
            a10 = vf_fmadd(wk, X(ky + 1, kx), a10);
            a11 = vf_fmadd(wk, X(ky + 1, kx + 1), a11);
        }
#undef X
    a[0] = a00, a[1] = a01, a[2] = a10, a[3] = a11;
}

static void direct_forward(float *out, const float *in, const float *w, const float *b, int B, const mn_conv_geom *g,
                           const mn_conv_fuse *f, float *scratch)
{
    const int H = g->h, W = g->w, OC = g->oc, PH = g->oh / 2, PW = g->ow / 2, RW = pool_cols(g);
    const size_t isz = (size_t)H * W, plane = (size_t)PH * PW, buf = direct_fwd_floats(g);
    int nt = threads_with_slices((size_t)B * OC * g->oh * g->ow, B, buf, g, B);
    (void)nt;
#ifdef _OPENMP
#pragma omp parallel num_threads(nt) if (nt > 1)
#endif
    {
        float *eo = scratch + (size_t)thread_id() * buf;
        memset(eo, 0, buf * sizeof *eo); /* the overhang past each row stays zero */
        const vf zero = vf_zero();
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
        for (int n = 0; n < B; n++) {
            const float *x = in + (size_t)n * isz;
            for (int r = 0; r < H; r++) {
                float *e = eo + (size_t)r * 2 * RW, *o = e + RW;
                for (int c = 0; c < W; c++) (c & 1 ? o : e)[c / 2] = x[(size_t)r * W + c];
            }
            for (int oc = 0; oc < OC; oc++) {
                vf wv[9];
                for (int k = 0; k < 9; k++) wv[k] = vf_set1(w[oc * 9 + k]);
                const vf bias = vf_set1(b[oc]);
                float *po = out + ((size_t)n * OC + oc) * plane, *pa = f->argmax + ((size_t)n * OC + oc) * plane;
                for (int oy = 0; oy < PH; oy++)
                    for (int j0 = 0; j0 < PW; j0 += MN_VL) {
                        vf a[4];
                        direct_fwd_windows(a, eo + (size_t)(2 * oy) * 2 * RW + j0, RW, wv);
                        vf v0 = vf_max(vf_add(a[0], bias), zero), v1 = vf_max(vf_add(a[1], bias), zero);
                        vf v2 = vf_max(vf_add(a[2], bias), zero), v3 = vf_max(vf_add(a[3], bias), zero);
                        vf idx, m4 = vf_max4_first(v0, v1, v2, v3, &idx);
                        /* a partial vector is stored whole (masked stores are slow on
                         * AMD) where its excess lands on this image's later rows or
                         * planes, written after it; near the image's end, masked */
                        size_t at = (size_t)oy * PW + j0;
                        int whole = PW - j0 >= MN_VL || (size_t)(OC - oc) * plane - at >= (size_t)MN_VL;
                        vmask m = vmask_first(PW - j0);
                        (void)whole; /* AVX-512 stores under the mask always */
                        vf_store_lanes(po + at, m, whole, m4);
                        vf_store_lanes(pa + at, m, whole, idx);
                    }
            }
        }
    }
}
#endif

/* Forward: groups of GROUP images run in parallel, each on one thread with
 * its own slice of scratch (which stays in that core's L2): im2col into
 * cols[KK][q*P], one GEMM tmp[OC][q*P] = W * cols, then each row of tmp
 * goes out through emit. The GEMM inside runs on its caller's thread (a
 * nested OpenMP region), so there is no fork/join per group; with a single
 * group (or one thread) the GEMM uses the threads itself. */
void mn_conv_forward_fused(float *out, const float *in, const float *w, const float *b, int B, const mn_conv_geom *g,
                           const mn_conv_fuse *f, float *scratch)
{
    const int P = g->oh * g->ow, KK = g->c * g->kh * g->kw, OC = g->oc, groups = (B + GROUP - 1) / GROUP;
    const size_t isz = (size_t)g->c * g->h * g->w, slice = (size_t)GROUP * (KK + OC) * P;
#if MN_VL
    if (B > 0 && direct_fwd_ok(g, f, B)) {
        direct_forward(out, in, w, b, B, g, f, scratch);
        return;
    }
#endif
    gather_plan gp;
    const gather_plan *plan = make_gather_plan(&gp, g) ? &gp : NULL;
    int nt = group_threads(B, (size_t)B * (KK + OC) * P);
    (void)nt;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
#endif
    for (int gi = 0; gi < groups; gi++) {
        const int n0 = gi * GROUP, q = B - n0 < GROUP ? B - n0 : GROUP, ld = q * P;
        /* within the slice, q images of columns then q images of output: at most
         * the slice, and at most B * (KK + OC) * P from the start in total */
        float *cols = scratch + (size_t)thread_id() * slice, *tmp = cols + (size_t)KK * ld;
        for (int i = 0; i < q; i++) im2col(cols + (size_t)i * P, (size_t)ld, in + (size_t)(n0 + i) * isz, g, plan);
        mn_sgemm(0, 0, OC, ld, KK, 1.0f, w, KK, cols, ld, 0.0f, tmp, ld);
        for (int i = 0; i < q; i++)
            for (int oc = 0; oc < OC; oc++) emit(out, tmp + (size_t)oc * ld + (size_t)i * P, b[oc], n0 + i, oc, g, f);
    }
}

void mn_conv_forward(float *out, const float *in, const float *w, const float *b, int B, const mn_conv_geom *g,
                     float *scratch)
{
    mn_conv_forward_fused(out, in, w, b, B, g, NULL, scratch);
}

#if MN_VL
/* The weight gradient alone (no input gradient: the first layer) of a conv
 * with few taps, stride 1 and every window inside the input: cnn's first
 * conv, 1x3x3 on 28x28. The general path would write the chunk's output
 * gradient (OC x G*P) and columns (KK x G*P), several MB, and read them
 * back for a GEMM with only KK columns. Here each thread takes whole output
 * channels: for each image it rebuilds the channel's gradient plane (gather)
 * into an L1 buffer laid out with the input's row stride W, the last W - OW
 * columns zero, so that output position q meets input position q + off[kk]
 * for tap kk and the plane is one flat run of vectors; it is dotted with the
 * KK shifted views of the input, KK vector sums held in registers. A
 * channel's sums run over images, positions and lanes in one fixed order,
 * so the bits do not depend on the thread count. */
#define DW_MAX_TAPS 16
#define DW_PASS_TAPS 12 /* sums held in registers at once: 12 + 2 of AVX2's 16 */

static inline __attribute__((always_inline)) void dw_pass(const int T, float *acc, const float *t, int Q,
                                                          const float *x, const int *off)
{
    vf a[DW_PASS_TAPS];
#pragma GCC unroll 12
    for (int j = 0; j < T; j++) a[j] = vf_loadu(acc + j * MN_VL);
    const int full = Q / MN_VL * MN_VL;
    for (int q = 0; q < full; q += MN_VL) {
        vf gv = vf_loadu(t + q);
#pragma GCC unroll 12
        for (int j = 0; j < T; j++) a[j] = vf_fmadd(gv, vf_loadu(x + off[j] + q), a[j]);
    }
    if (full < Q) { /* the last lanes: nothing past the plane's last window is read */
        vmask m = vmask_first(Q - full);
        vf gv = vf_maskz_loadu(m, t + full);
#pragma GCC unroll 12
        for (int j = 0; j < T; j++) a[j] = vf_fmadd(gv, vf_maskz_loadu(m, x + off[j] + full), a[j]);
    }
#pragma GCC unroll 12
    for (int j = 0; j < T; j++) vf_storeu(acc + j * MN_VL, a[j]);
}

typedef void dw_pass_fn(float *, const float *, int, const float *, const int *);
#define DW_PASS(T)                                                                                  \
    static void dw_pass_##T(float *acc, const float *t, int Q, const float *x, const int *off) \
    {                                                                                           \
        dw_pass(T, acc, t, Q, x, off);                                                          \
    }
DW_PASS(1) DW_PASS(2) DW_PASS(3) DW_PASS(4) DW_PASS(5) DW_PASS(6)
DW_PASS(7) DW_PASS(8) DW_PASS(9) DW_PASS(10) DW_PASS(11) DW_PASS(12)
static dw_pass_fn *const dw_passes[DW_PASS_TAPS + 1] = {NULL,       dw_pass_1,  dw_pass_2, dw_pass_3, dw_pass_4,
                                                        dw_pass_5,  dw_pass_6,  dw_pass_7, dw_pass_8, dw_pass_9,
                                                        dw_pass_10, dw_pass_11, dw_pass_12};

static int direct_dw_ok(const mn_conv_geom *g, const float *din)
{
    return !din && g->c * g->kh * g->kw <= DW_MAX_TAPS && g->sh == 1 && windows_inside(g);
}

/* scratch: per thread P floats of plane and OH*W of its wide copy */
static void direct_dw(float *dw, float *db, const float *dout, const float *out, const float *in, int B,
                      const mn_conv_geom *g, const mn_conv_fuse *f, float *scratch)
{
    const int P = g->oh * g->ow, KK = g->c * g->kh * g->kw, OC = g->oc, W = g->w, ow = g->ow;
    const int Q = (g->oh - 1) * W + ow; /* wide positions up to the last window */
    const int passes = (KK + DW_PASS_TAPS - 1) / DW_PASS_TAPS, per = (KK + passes - 1) / passes;
    const size_t isz = (size_t)g->c * g->h * W, slice = (size_t)P + (size_t)g->oh * W;
    int off[DW_MAX_TAPS];
    for (int c = 0, kk = 0; c < g->c; c++)
        for (int ky = 0; ky < g->kh; ky++)
            for (int kx = 0; kx < g->kw; kx++) off[kk++] = (c * g->h + ky) * W + kx;
    /* the scratch holds at least one slice: (KK + 1) * P >= P + KW * P >= slice */
    int nt = threads_with_slices((size_t)B * OC * P, OC, slice, g, B);
    (void)nt;
#ifdef _OPENMP
#pragma omp parallel num_threads(nt) if (nt > 1)
#endif
    {
        float *t = scratch + (size_t)thread_id() * slice, *tw = t + P;
        memset(tw, 0, (size_t)g->oh * W * sizeof *tw); /* the columns past OW stay zero */
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
        for (int oc = 0; oc < OC; oc++) {
            float acc[DW_MAX_TAPS * MN_VL] = {0}, bias = 0.0f;
            for (int n = 0; n < B; n++) {
                gather(t, dout, out, n, oc, g, f);
                bias += row_sum(t, P);
                for (int y = 0; y < g->oh; y++) copy_row(tw + (size_t)y * W, t + (size_t)y * ow, ow);
                const float *x = in + (size_t)n * isz;
                for (int k0 = 0; k0 < KK; k0 += per) {
                    int T = KK - k0 < per ? KK - k0 : per;
                    dw_passes[T](acc + k0 * MN_VL, tw, Q, x, off + k0);
                }
            }
            for (int kk = 0; kk < KK; kk++) {
                float s = 0.0f;
                for (int l = 0; l < MN_VL; l++) s += acc[kk * MN_VL + l];
                dw[(size_t)oc * KK + kk] = s;
            }
            db[oc] = bias;
        }
    }
}
#endif

/* Backward, over chunks of G images (G fixed by the geometry and B): gather
 * the output gradient into doutT[OC][G*P] and im2col into cols[KK][G*P]
 * (images in parallel), then dW (+)= doutT * cols^T as one GEMM with
 * K = G*P (chunks accumulate with beta = 1; the GEMM's threads split dW),
 * db from doutT's rows, and, while doutT is still in cache, dcols = W^T *
 * doutT into cols (no longer needed) and col2im into din. */
void mn_conv_backward_fused(float *din, float *dw, float *db, const float *dout, const float *out, const float *in,
                            const float *w, int B, const mn_conv_geom *g, const mn_conv_fuse *f, float *scratch)
{
    const int P = g->oh * g->ow, KK = g->c * g->kh * g->kw, OC = g->oc, G = chunk_images(g, B);
    const size_t isz = (size_t)g->c * g->h * g->w;
    gather_plan gp;
    const gather_plan *plan = make_gather_plan(&gp, g) ? &gp : NULL;
    memset(db, 0, (size_t)OC * sizeof *db);
    if (B <= 0) memset(dw, 0, (size_t)OC * KK * sizeof *dw);
#if MN_VL
    if (B > 0 && direct_dw_ok(g, din)) {
        direct_dw(dw, db, dout, out, in, B, g, f, scratch);
        return;
    }
#endif
    /* Where every window lies inside the input (windows_inside), dW reads
     * the columns straight from it (mn_sgemm_nt_gather), so the backward
     * writes no im2col: tap kk's window starts at row[kk], output position j
     * of the chunk reads at col[j] from there. */
    int *row = (int *)(scratch + (size_t)G * (KK + OC) * P), *col = row + KK;
    if (KK <= 16) plan = NULL; /* mn_sgemm takes its dot-product path there: other sums, other bits */
    if ((double)G * isz >= (double)INT_MAX) plan = NULL; /* offsets are ints */
    /* the gathered GEMM has vector paths only (plain loops otherwise) */
    const int gathered = MN_VL && windows_inside(g) && KK > 16 && (double)G * isz < (double)INT_MAX;
    if (gathered) {
        for (int c = 0, kk = 0; c < g->c; c++)
            for (int ky = 0; ky < g->kh; ky++)
                for (int kx = 0; kx < g->kw; kx++) row[kk++] = (c * g->h + ky) * g->w + kx;
        for (int j = 0; j < G * P; j++) col[j] = (int)((size_t)(j / P) * isz) + gather_index(g, j % P);
    }
    for (int n0 = 0; n0 < B; n0 += G) {
        const int m = B - n0 < G ? B - n0 : G, ld = m * P, items = gathered ? m : 2 * m;
        float *cols = scratch, *doutT = scratch + (size_t)G * KK * P;
        int nt = threads_for((size_t)ld * (KK + OC), items);
        (void)nt;
        /* an image's gather and its im2col are separate items, so that an odd
         * chunk (cnn's conv2: 7 images) still splits evenly between threads */
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
#endif
        for (int it = 0; it < items; it++) {
            const int i = gathered ? it : it / 2;
            if (gathered || it % 2 == 0)
                for (int oc = 0; oc < OC; oc++)
                    gather(doutT + (size_t)oc * ld + (size_t)i * P, dout, out, n0 + i, oc, g, f);
            else
                im2col(cols + (size_t)i * P, (size_t)ld, in + (size_t)(n0 + i) * isz, g, plan);
        }
        for (int oc = 0; oc < OC; oc++) db[oc] += row_sum(doutT + (size_t)oc * ld, ld);
        if (gathered)
            mn_sgemm_nt_gather(OC, KK, ld, 1.0f, doutT, ld, in + (size_t)n0 * isz, row, col, n0 ? 1.0f : 0.0f, dw,
                               KK);
        else
            mn_sgemm(0, 1, OC, KK, ld, 1.0f, doutT, ld, cols, ld, n0 ? 1.0f : 0.0f, dw, KK);
        if (!din) continue;
        /* the chunk's doutT is still in cache, and cols is free again */
        mn_sgemm(1, 0, KK, ld, OC, 1.0f, w, KK, doutT, ld, 0.0f, cols, ld);
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
#endif
        for (int i = 0; i < m; i++) col2im(din + (size_t)(n0 + i) * isz, cols + (size_t)i * P, (size_t)ld, g);
    }
}

void mn_conv_backward(float *din, float *dw, float *db, const float *dout, const float *in, const float *w, int B,
                      const mn_conv_geom *g, float *scratch)
{
    mn_conv_backward_fused(din, dw, db, dout, NULL, in, w, B, g, NULL, scratch);
}
