/* isa.h - the table of one instruction set's kernels (internal).
 *
 * isa_table.c, compiled once per instruction set with isa_rename.h,
 * defines mn_kernels_<isa>: that copy's functions and its name. isa.c picks
 * one table at start (the best the CPU runs, or MNIST_ISA) and the public
 * names call through it. */
#ifndef MN_KERNELS_ISA_H
#define MN_KERNELS_ISA_H

#include <stddef.h>

#include "mnist/gemm.h"
#include "mnist/kernels.h"

/* The SIMD arithmetic of the optimizers (moved out of src/nn/optim.c so it
 * is compiled per instruction set): one run of n parameters.
 * RMSprop: s = rho s + (1 - rho) g^2; p -= lr g / (sqrt(s) + eps).
 * Adam: m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
 *       p -= alpha m / (sqrt(v) + eps). */
void mn_k_rmsprop(float lr, float rho, float eps, float *restrict p, const float *restrict g, float *restrict s,
                  size_t n);
void mn_k_adam(float alpha, float b1, float b2, float eps, float *restrict p, const float *restrict g,
               float *restrict m, float *restrict v, size_t n);

typedef struct mn_kernel_table {
    const char *name; /* "avx512", "avx2", "neon", "portable" */
    void (*sgemm)(int, int, int, int, int, float, const float *, int, const float *, int, float, float *, int);
    void (*sgemm_ex)(int, int, int, int, int, float, const float *, int, const float *, int, float, float *, int,
                     const float *, int);
    void (*sgemm_then)(int, int, int, int, int, float, const float *, int, const float *, int, float, float *, int,
                       mn_gemm_done_fn *, void *);
    void (*sgemm_nt_gather)(int, int, int, float, const float *, int, const float *, const int *, const int *, float,
                            float *, int);
    void (*use_portable_kernel)(int);
    void (*no_direct)(int);
    size_t (*conv_scratch_floats)(const mn_conv_geom *, int);
    void (*conv_forward)(float *, const float *, const float *, const float *, int, const mn_conv_geom *, float *);
    void (*conv_backward)(float *, float *, float *, const float *, const float *, const float *, int,
                          const mn_conv_geom *, float *);
    void (*conv_forward_fused)(float *, const float *, const float *, const float *, int, const mn_conv_geom *,
                               const mn_conv_fuse *, float *);
    void (*conv_backward_fused)(float *, float *, float *, const float *, const float *, const float *,
                                const float *, int, const mn_conv_geom *, const mn_conv_fuse *, float *);
    void (*maxpool_forward)(float *, float *, const float *, int, int, int, int, int, int, int, int);
    void (*maxpool_backward)(float *, const float *, const float *, int, int, int, int, int, int, int, int);
    void (*avgpool_forward)(float *, const float *, int, int, int, int, int, int, int, int);
    void (*avgpool_backward)(float *, const float *, int, int, int, int, int, int, int, int);
    void (*rmsprop)(float, float, float, float *restrict, const float *restrict, float *restrict, size_t);
    void (*adam)(float, float, float, float, float *restrict, const float *restrict, float *restrict,
                 float *restrict, size_t);
} mn_kernel_table;

/* the table in use (chosen on first use) */
const mn_kernel_table *mn_kernels(void);

#endif
