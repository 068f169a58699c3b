/* isa.c - run-time choice of the kernels' instruction set, and the public
 * kernel functions, which call through the chosen table.
 *
 * The build compiles the kernel sources once per instruction set in
 * MN_ISA_LIST (CMake: MNIST_ISAS; x86-64 default "avx512 avx2 portable",
 * -DMNIST_NATIVE=ON "native", aarch64 "portable"), each as mn_kernels_<isa>
 * (isa_rename.h, isa_table.c). On first use we take the first of them the
 * CPU runs, or the one the environment variable MNIST_ISA names
 * (avx512|avx2|neon|portable); a name this binary does not carry or this CPU
 * cannot run ends the process with a message saying what it has. */
#include "kernels/isa.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#ifdef MN_ISA_SUFFIX /* a library with one portable copy (the fuzz build's) */
#undef MN_ISA_LIST
#define MN_ISA_LIST X(portable)
#endif
#ifndef MN_ISA_LIST
#error "isa.c needs MN_ISA_LIST, e.g. -DMN_ISA_LIST=\"X(avx2) X(portable)\" (CMakeLists.txt)"
#endif

#define X(isa) extern const mn_kernel_table mn_kernels_##isa;
MN_ISA_LIST
#undef X

/* the copies, best first */
static const mn_kernel_table *const all[] = {
#define X(isa) &mn_kernels_##isa,
    MN_ISA_LIST
#undef X
};
#define N_ISA (sizeof all / sizeof all[0])

/* whether this CPU (and its OS, which must save the vector registers) runs
 * the code a table was compiled for: the same features CMake's -m flags
 * enable for it */
static int cpu_runs(const char *name)
{
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
    __builtin_cpu_init();
    if (strcmp(name, "avx512") == 0)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (strcmp(name, "avx2") == 0) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    (void)name;
    /* portable, neon (every aarch64 CPU has Advanced SIMD), and a native
     * build's one copy (compiled for this machine) */
    return 1;
}

static _Atomic(const mn_kernel_table *) chosen;
static char avail[64];

static const mn_kernel_table *choose(void)
{
    avail[0] = 0;
    const mn_kernel_table *best = NULL;
    for (size_t i = 0; i < N_ISA; i++)
        if (cpu_runs(all[i]->name)) {
            if (!best) best = all[i];
            if (avail[0]) strncat(avail, " ", sizeof avail - strlen(avail) - 1);
            strncat(avail, all[i]->name, sizeof avail - strlen(avail) - 1);
        }
    const char *want = getenv("MNIST_ISA");
    if (want && *want) {
        const mn_kernel_table *t = NULL;
        for (size_t i = 0; i < N_ISA; i++)
            if (strcmp(all[i]->name, want) == 0) t = all[i];
        if (!t || !cpu_runs(want)) {
            fprintf(stderr, "mnist: MNIST_ISA=%s: %s; this binary runs here: %s\n", want,
                    !t ? "not an instruction set this binary was built with" : "this CPU does not support it",
                    avail);
            exit(1);
        }
        best = t;
    }
    return best;
}

const mn_kernel_table *mn_kernels(void)
{
    const mn_kernel_table *t = atomic_load_explicit(&chosen, memory_order_acquire);
    if (t) return t;
    t = choose(); /* the same answer if two threads race here */
    atomic_store_explicit(&chosen, t, memory_order_release);
    return t;
}

const char *mn_isa(void) { return mn_kernels()->name; }

const char *mn_isa_available(void)
{
    mn_kernels();
    return avail;
}

int mn_isa_select(const char *name)
{
    mn_kernels();
    for (size_t i = 0; i < N_ISA; i++)
        if (strcmp(all[i]->name, name) == 0 && cpu_runs(name)) {
            atomic_store_explicit(&chosen, all[i], memory_order_release);
            return 0;
        }
    return -1;
}

/* ---- threads (shared by every copy) ------------------------------------- */

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

/* ---- the public names --------------------------------------------------- */

void mn_sgemm(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
              int ldb, float beta, float *C, int ldc)
{
    mn_kernels()->sgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void mn_sgemm_ex(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                 int ldb, float beta, float *C, int ldc, const float *bias, int relu)
{
    mn_kernels()->sgemm_ex(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, relu);
}

void mn_sgemm_then(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                   int ldb, float beta, float *C, int ldc, mn_gemm_done_fn *done, void *ctx)
{
    mn_kernels()->sgemm_then(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, done, ctx);
}

void mn_sgemm_nt_gather(int M, int N, int K, float alpha, const float *A, int lda, const float *base, const int *row,
                        const int *col, float beta, float *C, int ldc)
{
    mn_kernels()->sgemm_nt_gather(M, N, K, alpha, A, lda, base, row, col, beta, C, ldc);
}

/* test switches: set in every copy, so they survive mn_isa_select */
void mn_gemm_use_portable_kernel(int on)
{
    for (size_t i = 0; i < N_ISA; i++) all[i]->use_portable_kernel(on);
}

void mn_gemm_no_direct(int on)
{
    for (size_t i = 0; i < N_ISA; i++) all[i]->no_direct(on);
}

size_t mn_conv_scratch_floats(const mn_conv_geom *g, int B) { return mn_kernels()->conv_scratch_floats(g, B); }

void mn_conv_forward(float *out, const float *in, const float *w, const float *b, int B, const mn_conv_geom *g,
                     float *scratch)
{
    mn_kernels()->conv_forward(out, in, w, b, B, g, scratch);
}

void mn_conv_backward(float *din, float *dw, float *db, const float *dout, const float *in, const float *w, int B,
                      const mn_conv_geom *g, float *scratch)
{
    mn_kernels()->conv_backward(din, dw, db, dout, in, w, B, g, scratch);
}

void mn_conv_forward_fused(float *out, const float *in, const float *w, const float *b, int B, const mn_conv_geom *g,
                           const mn_conv_fuse *f, float *scratch)
{
    mn_kernels()->conv_forward_fused(out, in, w, b, B, g, f, scratch);
}

void mn_conv_backward_fused(float *din, float *dw, float *db, const float *dout, const float *out, const float *in,
                            const float *w, int B, const mn_conv_geom *g, const mn_conv_fuse *f, float *scratch)
{
    mn_kernels()->conv_backward_fused(din, dw, db, dout, out, in, w, B, g, f, scratch);
}

void mn_maxpool_forward(float *out, float *argmax, const float *in, int B, int C, int H, int W, int KH, int KW, int SH,
                        int SW)
{
    mn_kernels()->maxpool_forward(out, argmax, in, B, C, H, W, KH, KW, SH, SW);
}

void mn_maxpool_backward(float *din, const float *dout, const float *argmax, int B, int C, int H, int W, int KH, int KW,
                         int SH, int SW)
{
    mn_kernels()->maxpool_backward(din, dout, argmax, B, C, H, W, KH, KW, SH, SW);
}

void mn_avgpool_forward(float *out, const float *in, int B, int C, int H, int W, int KH, int KW, int SH, int SW)
{
    mn_kernels()->avgpool_forward(out, in, B, C, H, W, KH, KW, SH, SW);
}

void mn_avgpool_backward(float *din, const float *dout, int B, int C, int H, int W, int KH, int KW, int SH, int SW)
{
    mn_kernels()->avgpool_backward(din, dout, B, C, H, W, KH, KW, SH, SW);
}
