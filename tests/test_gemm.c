/* test_gemm.c - mn_sgemm against a naive double-accumulating reference. */
#include "mnist/gemm.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

/* The largest error seen, NaN sticky (a NaN error fails the check, where
 * fmax would drop it). Not fmax: GCC 12 for aarch64 (Debian 12.2) dies with
 * an internal compiler error (vect_transform_reduction) vectorising an
 * fmax reduction of doubles over float data at -O3; this form vectorises
 * there and checks at least as much. */
static inline double worse(double worst, double err) { return (err <= worst || worst != worst) ? worst : err; }

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static float frand(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((double)(rng_state >> 40) / (double)(1u << 24)) * 2.0f - 1.0f;
}

/* Fill a rows x cols matrix with leading dim ld; the padding gets NaN so a
 * read outside the matrix shows up in the result. */
static float *make_matrix(int rows, int cols, int ld)
{
    size_t n = (size_t)(rows > 0 ? rows : 1) * (size_t)(ld > 0 ? ld : 1);
    float *m = malloc(n * sizeof *m);
    for (size_t i = 0; i < n; i++) m[i] = NAN;
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) m[(size_t)r * ld + c] = frand();
    return m;
}

/* Returns the number of mismatching elements (0 = pass). epi: 0 plain
 * mn_sgemm, else mn_sgemm_ex with 1 bias, 2 bias + ReLU, 3 ReLU only. */
static int check_one_epi(int tA, int tB, int M, int N, int K, float alpha, float beta, int pad, int epi)
{
    int arows = tA ? K : M, acols = tA ? M : K;
    int brows = tB ? N : K, bcols = tB ? K : N;
    int lda = acols + pad, ldb = bcols + pad, ldc = N + pad;
    float *A = make_matrix(arows, acols, lda);
    float *B = make_matrix(brows, bcols, ldb);
    float *C = make_matrix(M, N, ldc);
    size_t csize = (size_t)(M > 0 ? M : 1) * (size_t)ldc;
    float *C0 = malloc(csize * sizeof *C0);
    if (beta == 0.0f)
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) C[(size_t)i * ldc + j] = NAN;
    memcpy(C0, C, csize * sizeof *C);

    float *bias = NULL;
    if (epi == 1 || epi == 2) {
        bias = malloc((size_t)(N > 0 ? N : 1) * sizeof *bias);
        for (int j = 0; j < N; j++) bias[j] = frand();
    }
    int relu = epi >= 2;
    if (epi)
        mn_sgemm_ex(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, relu);
    else
        mn_sgemm(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);

    /* reference: op(A), op(B) copied to dense doubles, then i-k-j sums */
    double *oa = malloc(((size_t)M * K + 1) * sizeof *oa), *ob = malloc(((size_t)K * N + 1) * sizeof *ob);
    double *s = malloc((size_t)N * sizeof *s), *mag = malloc((size_t)N * sizeof *mag);
    for (int i = 0; i < M; i++)
        for (int k = 0; k < K; k++) oa[(size_t)i * K + k] = tA ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
    for (int k = 0; k < K; k++)
        for (int j = 0; j < N; j++) ob[(size_t)k * N + j] = tB ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
    int bad = 0;
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) s[j] = mag[j] = 0.0;
        for (int k = 0; k < K; k++) {
            double a = oa[(size_t)i * K + k];
            const double *b = ob + (size_t)k * N;
            for (int j = 0; j < N; j++) {
                s[j] += a * b[j];
                mag[j] += fabs(a * b[j]);
            }
        }
        for (int j = 0; j < ldc; j++) {
            float got = C[(size_t)i * ldc + j];
            if (j >= N) { /* padding must be untouched (it holds NaN) */
                if (!isnan(got)) bad++;
                continue;
            }
            double ref = (double)alpha * s[j];
            double m = fabs((double)alpha) * mag[j];
            if (beta != 0.0f) {
                double c0 = C0[(size_t)i * ldc + j];
                ref += (double)beta * c0;
                m += fabs((double)beta * c0);
            }
            if (bias) {
                ref += bias[j];
                m += fabs((double)bias[j]);
            }
            if (relu && ref < 0.0) ref = 0.0;
            double tol = 2.0 * (K + 4) * FLT_EPSILON * m + 1e-30;
            if (!(fabs((double)got - ref) <= tol)) {
                if (bad < 3)
                    fprintf(stderr, "  tA=%d tB=%d M=%d N=%d K=%d a=%g b=%g: C[%d][%d]=%.9g ref %.9g\n", tA, tB,
                            M, N, K, (double)alpha, (double)beta, i, j, (double)got, ref);
                bad++;
            }
        }
    }
    free(bias);
    free(oa);
    free(ob);
    free(s);
    free(mag);
    free(A);
    free(B);
    free(C);
    free(C0);
    return bad;
}

static int check_one(int tA, int tB, int M, int N, int K, float alpha, float beta, int pad)
{
    return check_one_epi(tA, tB, M, N, K, alpha, beta, pad, 0);
}

static const int sizes[] = {1, 2, 3, 5, 7, 13, 16, 17, 31, 33, 64, 65, 100, 127, 128, 129, 257};
#define NSIZES ((int)(sizeof sizes / sizeof sizes[0]))
static const float alphas[] = {1.0f, 0.5f, -2.0f};
static const float betas[] = {0.0f, 1.0f, 0.3f};

static void sweep(const char *label, int nk)
{
    int combos = 0, failed = 0;
    for (int mi = 0; mi < NSIZES; mi++) {
        for (int ni = 0; ni < NSIZES; ni++) {
            /* two K per (M, N) pair, rotating through the list */
            for (int r = 0; r < nk; r++) {
                int ki = (mi * 5 + ni * 3 + r * 7) % NSIZES;
                int M = sizes[mi], N = sizes[ni], K = sizes[ki];
                /* keep the sweep quick: the largest shapes only now and then */
                if ((long)M * N * K > 2000000L && ((mi + ni + r) % 3)) K = sizes[(ki + 8) % NSIZES];
                for (int t = 0; t < 4; t++) {
                    int idx = combos;
                    float alpha = alphas[idx % 3], beta = betas[(idx / 3) % 3];
                    int pad = (idx % 2) ? 3 : 0;
                    int epi = (idx / 9) % 4; /* a quarter each: plain, bias, bias+ReLU, ReLU */
                    int bad = check_one_epi(t >> 1, t & 1, M, N, K, alpha, beta, pad, epi);
                    combos++;
                    if (bad) failed++;
                }
            }
        }
    }
    CHECK_MSG(failed == 0, "%s: %d of %d combinations wrong", label, failed, combos);
    printf("%s: %d combinations, %d wrong\n", label, combos, failed);
}

static void edge_cases(void)
{
    /* K = 0: C = beta * C, and beta = 0 with NaN in C gives zeros */
    for (int t = 0; t < 4; t++) {
        CHECK(check_one(t >> 1, t & 1, 5, 7, 0, 1.0f, 0.3f, 2) == 0);
        CHECK(check_one(t >> 1, t & 1, 5, 7, 0, 1.0f, 0.0f, 2) == 0);
    }
    /* all alpha/beta combos at a few sizes that cross the blocking */
    static const int big[][3] = {{300, 500, 700}, {33, 1000, 65}, {129, 31, 1100}, {1, 513, 300}};
    for (int s = 0; s < 4; s++)
        for (int t = 0; t < 4; t++)
            CHECK_MSG(check_one(t >> 1, t & 1, big[s][0], big[s][1], big[s][2], alphas[(s + t) % 3],
                                betas[(s + 2 * t) % 3], 3) == 0,
                      "big %dx%dx%d t=%d", big[s][0], big[s][1], big[s][2], t);
    /* the epilogue across several K blocks and thread splits */
    for (int t = 0; t < 4; t++)
        for (int e = 1; e < 4; e++)
            CHECK_MSG(check_one_epi(t >> 1, t & 1, 200, 300, 600, alphas[t % 3], betas[e % 3], 1, e) == 0,
                      "epilogue t=%d e=%d", t, e);
    for (int e = 1; e < 4; e++) /* K = 0: act(beta C + bias) */
        CHECK(check_one_epi(0, 1, 9, 10, 0, 1.0f, betas[e % 3], 1, e) == 0);
    /* M = 0 or N = 0 does nothing */
    float c = 42.0f;
    mn_sgemm(0, 0, 0, 1, 1, 1.0f, &c, 1, &c, 1, 0.0f, &c, 1);
    mn_sgemm(0, 0, 1, 0, 1, 1.0f, &c, 1, &c, 1, 0.0f, &c, 1);
    CHECK(c == 42.0f);
}

/* The direct path (B read in place: few rows, or a small op(B)) must give
 * the packed loops' bits (same FMA order per element), or a model's weights
 * would depend on which path a shape takes: each product, and its first m
 * rows alone, against the packed loops (mn_gemm_no_direct). Both epilogues:
 * alpha, beta, bias and relu, and the plain store of alpha 1, beta 0. */
static void path_invariance(void)
{
    static const int ks[] = {1, 10, 32, 128, 300, 784}, ns[] = {1, 10, 16, 33, 128, 512},
                     ms[] = {1, 3, 8, 10, 14, 40};
    const int MB = 40;
    for (int plain = 0; plain < 2; plain++)
        for (int tA = 0; tA < 2; tA++)
            for (unsigned ki = 0; ki < sizeof ks / sizeof ks[0]; ki++)
                for (unsigned ni = 0; ni < sizeof ns / sizeof ns[0]; ni++) {
                    int K = ks[ki], N = ns[ni], lda = tA ? MB : K;
                    float alpha = plain ? 1.0f : 0.7f, beta = plain ? 0.0f : 0.3f;
                    float *A = make_matrix(tA ? K : MB, lda, lda), *B = make_matrix(K, N, N);
                    float *bias = plain ? NULL : make_matrix(1, N, N);
                    float *Cb = make_matrix(MB, N, N), *Cs = malloc((size_t)MB * N * sizeof *Cs);
                    size_t bytes = (size_t)MB * N * sizeof *Cs;
                    memcpy(Cs, Cb, bytes);
                    mn_gemm_no_direct(1);
                    mn_sgemm_ex(tA, 0, MB, N, K, alpha, A, lda, B, N, beta, Cb, N, bias, !plain);
                    mn_gemm_no_direct(0);
                    for (unsigned mi = 0; mi < sizeof ms / sizeof ms[0]; mi++) {
                        int m = ms[mi];
                        float *C = malloc(bytes);
                        memcpy(C, Cs, bytes);
                        mn_sgemm_ex(tA, 0, m, N, K, alpha, A, lda, B, N, beta, C, N, bias, !plain);
                        CHECK_MSG(memcmp(C, Cb, (size_t)m * N * sizeof *C) == 0,
                                  "rows 0..%d differ from the packed loops' %d: tA=%d N=%d K=%d alpha %g", m, MB, tA,
                                  N, K, (double)alpha);
                        free(C);
                    }
                    free(A);
                    free(B);
                    free(bias);
                    free(Cb);
                    free(Cs);
                }
}

/* C = A * B^T with few rows (X^T fits in SWAP_MAX_FLOATS = 128 Ki floats)
 * takes the swapped path; the same rows inside a product too tall for it
 * take the packed one. Same bits required, with alpha, beta, bias, relu. */
static void swapped_invariance(void)
{
    static const int ks[] = {10, 300, 784}, ns[] = {17, 33, 128, 300}, ms[] = {1, 3, 8, 32, 40};
    for (unsigned ki = 0; ki < sizeof ks / sizeof ks[0]; ki++)
        for (unsigned ni = 0; ni < sizeof ns / sizeof ns[0]; ni++) {
            int K = ks[ki], N = ns[ni], MB = 131072 / K + 64; /* past the swapped path's limit */
            if (K < 100 && N > 33) continue; /* the tall product would take megabytes */
            float *A = make_matrix(MB, K, K), *B = make_matrix(N, K, K), *bias = make_matrix(1, N, N);
            float *Cb = make_matrix(MB, N, N), *Cs = malloc((size_t)MB * N * sizeof *Cs);
            size_t bytes = (size_t)MB * N * sizeof *Cs;
            memcpy(Cs, Cb, bytes);
            mn_sgemm_ex(0, 1, MB, N, K, 0.7f, A, K, B, K, 0.3f, Cb, N, bias, 1);
            for (unsigned mi = 0; mi < sizeof ms / sizeof ms[0]; mi++) {
                int m = ms[mi];
                float *C = malloc(bytes);
                memcpy(C, Cs, bytes);
                mn_sgemm_ex(0, 1, m, N, K, 0.7f, A, K, B, K, 0.3f, C, N, bias, 1);
                CHECK_MSG(memcmp(C, Cb, (size_t)m * N * sizeof *C) == 0,
                          "A * B^T: rows 0..%d alone differ from the same rows of %d: N=%d K=%d", m, MB, N, K);
                memcpy(C, Cs, bytes);
                mn_sgemm(0, 1, m, N, K, 1.0f, A, K, B, K, 0.0f, C, N);
                float *D = malloc(bytes);
                memcpy(D, Cs, bytes);
                mn_sgemm(0, 1, MB, N, K, 1.0f, A, K, B, K, 0.0f, D, N);
                CHECK_MSG(memcmp(C, D, (size_t)m * N * sizeof *C) == 0,
                          "A * B^T, alpha 1, beta 0: rows 0..%d differ: N=%d K=%d", m, N, K);
                free(C);
                free(D);
            }
            free(A);
            free(B);
            free(bias);
            free(Cb);
            free(Cs);
        }
}

/* mn_sgemm_nt_gather: B[j][k] = base[row[j] + col[k]] gives the bits of
 * mn_sgemm(0, 1, ...) on B written out (for N > 16), here with an im2col-
 * like pattern (windows overlapping, positions jumping between rows). */
static void gather_matches_stored(void)
{
    static const int shapes[][3] = {{64, 288, 847}, {5, 17, 33}, {40, 100, 300}, {3, 20, 1}, {32, 40, 520}};
    for (unsigned t = 0; t < sizeof shapes / sizeof shapes[0]; t++)
        for (int th = 1; th <= 2; th++) {
            int M = shapes[t][0], N = shapes[t][1], K = shapes[t][2];
            int *row = malloc((size_t)N * sizeof *row), *col = malloc((size_t)K * sizeof *col);
            for (int j = 0; j < N; j++) row[j] = (j / 9) * 169 + (j % 9 / 3) * 13 + j % 3;
            for (int k = 0; k < K; k++) col[k] = (k / 121) * 5000 + (k % 121 / 11) * 13 + k % 11;
            int span = row[N - 1] + col[K - 1] + 1;
            float *base = make_matrix(1, span, span), *Bs = malloc((size_t)N * K * sizeof *Bs);
            for (int j = 0; j < N; j++)
                for (int k = 0; k < K; k++) Bs[(size_t)j * K + k] = base[row[j] + col[k]];
            float *A = make_matrix(M, K, K), *C1 = make_matrix(M, N, N), *C2 = malloc((size_t)M * N * sizeof *C2);
            memcpy(C2, C1, (size_t)M * N * sizeof *C2);
            mn_set_threads(th);
            mn_sgemm_nt_gather(M, N, K, 0.7f, A, K, base, row, col, 0.3f, C1, N);
            mn_sgemm(0, 1, M, N, K, 0.7f, A, K, Bs, K, 0.3f, C2, N);
            mn_set_threads(0);
#if defined(__AVX512F__)
            CHECK_MSG(memcmp(C1, C2, (size_t)M * N * sizeof *C1) == 0, "gathered B differs from stored: %dx%dx%d, %d threads",
                      M, N, K, th);
#else /* plain loops there: the same sums in another order */
            double worst = 0;
            for (size_t i = 0; i < (size_t)M * N; i++) worst = worse(worst, fabs((double)C1[i] - C2[i]));
            CHECK_MSG(worst < 1e-3 * K, "gathered B differs from stored by %g: %dx%dx%d", worst, M, N, K);
#endif
            free(row), free(col), free(base), free(Bs), free(A), free(C1), free(C2);
        }
}

static void thread_invariance(int full)
{
#ifdef _OPENMP
    static const int shapes[][5] = {
        /* tA, tB, M, N, K */
        {0, 0, 300, 500, 700}, {0, 1, 300, 500, 700}, {1, 0, 300, 500, 700}, {1, 1, 300, 500, 700},
        {0, 1, 32, 128, 784},  {0, 1, 128, 128, 784}, {1, 0, 128, 784, 32},  {1, 0, 128, 784, 128},
        {0, 0, 32, 784, 128},  {0, 0, 128, 784, 128}, {0, 1, 128, 512, 784}, {1, 0, 512, 784, 128},
        {0, 0, 128, 784, 512}, {0, 1, 128, 10, 512},  {1, 0, 10, 512, 128},  {0, 0, 128, 512, 10},
        {0, 0, 1024, 1024, 1024},
    };
    int nshapes = (int)(sizeof shapes / sizeof shapes[0]) - (full ? 0 : 1);
    int saved = mn_get_threads();
    for (int s = 0; s < nshapes; s++) {
        int tA = shapes[s][0], tB = shapes[s][1], M = shapes[s][2], N = shapes[s][3], K = shapes[s][4];
        int lda = tA ? M : K, ldb = tB ? K : N;
        float *A = make_matrix(tA ? K : M, lda, lda);
        float *B = make_matrix(tB ? N : K, ldb, ldb);
        float *C1 = make_matrix(M, N, N);
        size_t cn = (size_t)M * N;
        float *C2 = malloc(cn * sizeof *C2);
        memcpy(C2, C1, cn * sizeof *C1);
        mn_set_threads(1);
        mn_sgemm(tA, tB, M, N, K, 0.7f, A, lda, B, ldb, 0.3f, C1, N);
        mn_set_threads(2);
        mn_sgemm(tA, tB, M, N, K, 0.7f, A, lda, B, ldb, 0.3f, C2, N);
        CHECK_MSG(memcmp(C1, C2, cn * sizeof *C1) == 0, "threads 1 vs 2 differ: tA=%d tB=%d %dx%dx%d", tA, tB,
                  M, N, K);
        free(A);
        free(B);
        free(C1);
        free(C2);
    }
    mn_set_threads(saved);
    CHECK(mn_get_threads() == saved);
    mn_set_threads(0);
    CHECK(mn_get_threads() >= 1);
#else
    (void)full;
    mn_set_threads(2);
    CHECK(mn_get_threads() == 1);
#endif
}

/* mn_sgemm_then hands the product over in blocks: they must cover C exactly
 * once, inside it, with the bits mn_sgemm writes, from the packed and
 * direct loops (scratch panels with one K block and beta = 0, C itself
 * otherwise), the swapped and dot paths and the K = 0 case, on 1 and 2
 * threads. */
typedef struct {
    int M, N;
    const float *ref;
    int ldr;
    int *seen;  /* times each element was handed over */
    int wrong;  /* elements whose value differs from ref's bits */
    int outside;
} then_check;

static void then_hook(void *ctx, const float *blk, int ld, int i0, int i1, int j0, int j1)
{
    then_check *t = ctx;
    if (i0 < 0 || j0 < 0 || i1 > t->M || j1 > t->N || i0 >= i1 || j0 >= j1) {
#ifdef _OPENMP
#pragma omp atomic
#endif
        t->outside++;
        return;
    }
    int wrong = 0;
    for (int i = i0; i < i1; i++)
        for (int j = j0; j < j1; j++) {
            float v = blk[(size_t)(i - i0) * ld + (j - j0)], r = t->ref[(size_t)i * t->ldr + j];
            if (memcmp(&v, &r, sizeof v)) wrong++;
            t->seen[(size_t)i * t->N + j]++; /* blocks are disjoint: no race unless the GEMM is wrong */
        }
#ifdef _OPENMP
#pragma omp atomic
#endif
    t->wrong += wrong;
}

static void then_blocks(void)
{
    static const int shapes[][6] = {
        /* tA, tB, M, N, K, beta != 0 */
        {1, 0, 128, 784, 32, 0}, {1, 0, 128, 784, 128, 0}, {1, 0, 37, 101, 7, 0}, {1, 0, 64, 300, 600, 0},
        {1, 0, 64, 300, 20, 1},  {1, 0, 10, 128, 32, 0},   {0, 1, 32, 128, 784, 0}, {0, 1, 40, 10, 300, 0},
        {0, 0, 50, 70, 0, 1},    {0, 0, 1, 1, 1, 0},       {1, 1, 200, 33, 19, 0},  {1, 0, 10, 200, 600, 0},
        {0, 0, 12, 100, 300, 1}, {0, 0, 32, 128, 10, 0},
    };
    int saved = mn_get_threads();
    for (int th = 1; th <= 2; th++) {
        mn_set_threads(th);
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            int tA = shapes[s][0], tB = shapes[s][1], M = shapes[s][2], N = shapes[s][3], K = shapes[s][4];
            float beta = shapes[s][5] ? 0.5f : 0.0f;
            int lda = tA ? M : K, ldb = tB ? K : N;
            float *A = make_matrix(tA ? (K ? K : 1) : M, lda ? lda : 1, lda ? lda : 1);
            float *B = make_matrix(tB ? N : (K ? K : 1), ldb, ldb);
            float *ref = make_matrix(M, N, N), *C = malloc((size_t)M * N * sizeof *C);
            memcpy(C, ref, (size_t)M * N * sizeof *C);
            mn_sgemm(tA, tB, M, N, K, 0.7f, A, lda, B, ldb, beta, ref, N);
            then_check t = {M, N, ref, N, calloc((size_t)M * N, sizeof(int)), 0, 0};
            mn_sgemm_then(tA, tB, M, N, K, 0.7f, A, lda, B, ldb, beta, C, N, then_hook, &t);
            int once = 1;
            for (size_t i = 0; i < (size_t)M * N; i++) once &= t.seen[i] == 1;
            CHECK_MSG(once && !t.wrong && !t.outside,
                      "sgemm_then %s%s %dx%dx%d beta %g, %d threads: every element once %d, wrong %d, outside %d",
                      tA ? "T" : "N", tB ? "T" : "N", M, N, K, (double)beta, th, once, t.wrong, t.outside);
            free(A), free(B), free(ref), free(C), free(t.seen);
        }
    }
    mn_set_threads(saved);
}

int main(void)
{
    sweep("dispatch kernel", 2);
    edge_cases();
    path_invariance();
    swapped_invariance();
    gather_matches_stored();
    thread_invariance(1);
    then_blocks();
    /* the same hand-over from the packed loops where the direct path would
     * take the shape */
    mn_gemm_no_direct(1);
    then_blocks();
    mn_gemm_no_direct(0);
    /* the portable kernel on a lighter sweep (it is slow under sanitizers) */
    mn_gemm_use_portable_kernel(1);
    sweep("portable kernel", 1);
    edge_cases();
    thread_invariance(0);
    then_blocks();
    mn_gemm_use_portable_kernel(0);
    /* the benchmark entry point runs and reports something positive */
    double gf = mn_sgemm_bench_gflops(0, 1, 32, 10, 128, 1, 0.01);
    CHECK_MSG(gf > 0.0, "bench gave %g GFLOP/s", gf);
    CHECK(mn_sgemm_bench_gflops(0, 0, 0, 5, 5, 1, 0.01) == 0.0);
    return test_summary("test_gemm");
}
