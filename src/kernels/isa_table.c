/* isa_table.c - this copy's kernels as one table (see isa.h); compiled once
 * per instruction set, as mn_kernels_<MN_ISA_SUFFIX>. */
#include "kernels/isa_rename.h"

#include "kernels/isa.h"
#include "kernels/simd.h"

#ifndef MN_ISA_SUFFIX
#error "isa_table.c is compiled with -DMN_ISA_SUFFIX=<isa> (CMakeLists.txt)"
#endif

/* what the copy was compiled for, whatever its suffix (a -march=native
 * build has the suffix "native") */
#if MN_VL == 16
#define NAME "avx512"
#elif MN_VL == 8
#define NAME "avx2"
#elif defined(MN_NEON)
#define NAME "neon"
#else
#define NAME "portable"
#endif

extern const mn_kernel_table MN_ISA_SYM(mn_kernels);
const mn_kernel_table MN_ISA_SYM(mn_kernels) = {
    NAME,
    mn_sgemm,
    mn_sgemm_ex,
    mn_sgemm_then,
    mn_sgemm_nt_gather,
    mn_gemm_use_portable_kernel,
    mn_gemm_no_direct,
    mn_conv_scratch_floats,
    mn_conv_forward,
    mn_conv_backward,
    mn_conv_forward_fused,
    mn_conv_backward_fused,
    mn_maxpool_forward,
    mn_maxpool_backward,
    mn_avgpool_forward,
    mn_avgpool_backward,
    mn_k_rmsprop,
    mn_k_adam,
};
