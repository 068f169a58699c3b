/* simd.h - the vector operations shared by the kernels, for the two x86
 * vector widths we build for: AVX-512 (16 floats) and AVX2 with FMA (8
 * floats). Code written with these names compiles to the same instructions
 * it would with the intrinsics spelled out, so one loop serves both widths;
 * MN_VL is 0 when neither is available (the portable loops then run).
 *
 * Masks: vmask_first(n) selects lanes [0, n) (none when n <= 0, all when
 * n >= MN_VL); masked loads give 0 in unselected lanes, masked stores leave
 * memory there untouched. */
#ifndef MN_SIMD_H
#define MN_SIMD_H

#if defined(__AVX2__)
#include <immintrin.h>
/* Lanes [lo, hi) of 8 as an AVX2 mask (maskload / maskstore operand), for
 * AVX2 code with or without FMA: all 32 bits set in a selected lane. */
static inline __m256i lanes8(int lo, int hi)
{
    const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_and_si256(_mm256_cmpgt_epi32(_mm256_set1_epi32(hi), iota),
                            _mm256_cmpgt_epi32(iota, _mm256_set1_epi32(lo - 1)));
}
#endif

#if defined(__AVX512F__)
#include <immintrin.h>
#define MN_VL 16
typedef __m512 vf;
typedef __mmask16 vmask;
static inline vmask vmask_first(int n)
{
    return n >= 16 ? (vmask)0xFFFF : n <= 0 ? (vmask)0 : (vmask)((1u << n) - 1u);
}
#define vf_zero() _mm512_setzero_ps()
#define vf_set1(x) _mm512_set1_ps(x)
#define vf_load(p) _mm512_load_ps(p)
#define vf_loadu(p) _mm512_loadu_ps(p)
#define vf_storeu(p, v) _mm512_storeu_ps(p, v)
#define vf_maskz_loadu(m, p) _mm512_maskz_loadu_ps(m, p)
#define vf_mask_storeu(p, m, v) _mm512_mask_storeu_ps(p, m, v)
/* the store of a vector of which lanes m are wanted, full when all are */
#define vf_store_lanes(p, m, full, v) _mm512_mask_storeu_ps(p, m, v)
/* vmask_first for 0 <= n < 16 */
#define vmask_low(n) ((vmask)((1u << (n)) - 1u))
#define vf_add(a, b) _mm512_add_ps(a, b)
#define vf_sub(a, b) _mm512_sub_ps(a, b)
#define vf_mul(a, b) _mm512_mul_ps(a, b)
#define vf_max(a, b) _mm512_max_ps(a, b)
#define vf_fmadd(a, b, c) _mm512_fmadd_ps(a, b, c)
#define vf_fnmadd(a, b, c) _mm512_fnmadd_ps(a, b, c)
/* lane-wise a > b (ordered: false where either is NaN), and blend: the
 * lanes of b where k holds, of a elsewhere */
typedef __mmask16 vcmp;
#define vf_gt(a, b) _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ)
#define vf_blend(k, a, b) _mm512_mask_blend_ps(k, a, b)
/* estimates of 1 / sqrt(x) and 1 / x: relative error below 2^-14 */
#define vf_rsqrt_est(x) _mm512_rsqrt14_ps(x)
#define vf_rcp_est(x) _mm512_rcp14_ps(x)
/* the pair (x[0], x[1]) repeated over all lanes */
static inline vf vf_set1_pair(const float *x)
{
    double d;
    __builtin_memcpy(&d, x, sizeof d);
    return _mm512_castpd_ps(_mm512_set1_pd(d));
}
#elif defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define MN_VL 8
typedef __m256 vf;
typedef __m256i vmask;
static inline vmask vmask_first(int n) { return lanes8(0, n); }
#define vf_zero() _mm256_setzero_ps()
#define vf_set1(x) _mm256_set1_ps(x)
#define vf_load(p) _mm256_load_ps(p)
#define vf_loadu(p) _mm256_loadu_ps(p)
#define vf_storeu(p, v) _mm256_storeu_ps(p, v)
#define vf_maskz_loadu(m, p) _mm256_maskload_ps(p, m)
#define vf_mask_storeu(p, m, v) _mm256_maskstore_ps(p, m, v)
/* a full vector goes out with a plain store: vmaskmovps stores are slow on
 * AMD */
#define vf_store_lanes(p, m, full, v) ((full) ? _mm256_storeu_ps(p, v) : _mm256_maskstore_ps(p, m, v))
#define vmask_low(n) vmask_first(n)
#define vf_add(a, b) _mm256_add_ps(a, b)
#define vf_sub(a, b) _mm256_sub_ps(a, b)
#define vf_mul(a, b) _mm256_mul_ps(a, b)
#define vf_max(a, b) _mm256_max_ps(a, b)
#define vf_fmadd(a, b, c) _mm256_fmadd_ps(a, b, c)
#define vf_fnmadd(a, b, c) _mm256_fnmadd_ps(a, b, c)
typedef __m256 vcmp;
#define vf_gt(a, b) _mm256_cmp_ps(a, b, _CMP_GT_OQ)
#define vf_blend(k, a, b) _mm256_blendv_ps(a, b, k)
static inline vf vf_set1_pair(const float *x)
{
    double d;
    __builtin_memcpy(&d, x, sizeof d);
    return _mm256_castpd_ps(_mm256_set1_pd(d));
}
#else
#define MN_VL 0
#endif

#if MN_VL
/* 2x2 max pooling's selection, lane-wise: the largest of v0..v3 (the first
 * on ties; a later value must be strictly greater, so NaN never displaces
 * an earlier value) and in *idx its index 0..3 as a float. Max pooling and
 * conv's fused first block both take it from here, so their bits agree. */
static inline vf vf_max4_first(vf v0, vf v1, vf v2, vf v3, vf *idx)
{
    vcmp k01 = vf_gt(v1, v0), k23 = vf_gt(v3, v2);
    vf m01 = vf_blend(k01, v0, v1), m23 = vf_blend(k23, v2, v3);
    vcmp k = vf_gt(m23, m01);
    *idx = vf_blend(k, vf_blend(k01, vf_zero(), vf_set1(1.0f)), vf_blend(k23, vf_set1(2.0f), vf_set1(3.0f)));
    return vf_blend(k, m01, m23);
}
#endif

#endif
