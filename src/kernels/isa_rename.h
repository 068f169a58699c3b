/* isa_rename.h - gives the kernels' functions one name per instruction set.
 *
 * The kernel sources (gemm.c, conv.c, pool.c, optim_kernels.c and the table
 * in isa_table.c) are compiled once per instruction set the binary carries,
 * each time with -DMN_ISA_SUFFIX=<isa> and that ISA's -m flags (CMake:
 * MNIST_ISAS). Included before any other header, this header renames every
 * function they export, and every one they call in each other, to
 * <name>_<isa>, so the copies link side by side and call only their own
 * kind; isa.c chooses one copy's table (mn_kernels_<isa>) at start and the
 * public names (mn_sgemm, ...) call through it. Without MN_ISA_SUFFIX it
 * does nothing. A function added to these files must be added here and to
 * the table (isa.h), or the link fails with duplicate symbols. */
#ifndef MN_ISA_RENAME_H
#define MN_ISA_RENAME_H

#ifdef MN_ISA_SUFFIX
#define MN_ISA_CAT_(a, b) a##_##b
#define MN_ISA_CAT(a, b) MN_ISA_CAT_(a, b)
#define MN_ISA_SYM(n) MN_ISA_CAT(n, MN_ISA_SUFFIX)

#define mn_sgemm MN_ISA_SYM(mn_sgemm)
#define mn_sgemm_ex MN_ISA_SYM(mn_sgemm_ex)
#define mn_sgemm_then MN_ISA_SYM(mn_sgemm_then)
#define mn_sgemm_nt_gather MN_ISA_SYM(mn_sgemm_nt_gather)
#define mn_gemm_use_portable_kernel MN_ISA_SYM(mn_gemm_use_portable_kernel)
#define mn_gemm_no_direct MN_ISA_SYM(mn_gemm_no_direct)

#define mn_conv_scratch_floats MN_ISA_SYM(mn_conv_scratch_floats)
#define mn_conv_forward MN_ISA_SYM(mn_conv_forward)
#define mn_conv_forward_fused MN_ISA_SYM(mn_conv_forward_fused)
#define mn_conv_backward MN_ISA_SYM(mn_conv_backward)
#define mn_conv_backward_fused MN_ISA_SYM(mn_conv_backward_fused)

#define mn_maxpool_plane_forward MN_ISA_SYM(mn_maxpool_plane_forward)
#define mn_maxpool_plane_backward MN_ISA_SYM(mn_maxpool_plane_backward)
#define mn_maxpool_forward MN_ISA_SYM(mn_maxpool_forward)
#define mn_maxpool_backward MN_ISA_SYM(mn_maxpool_backward)
#define mn_avgpool_forward MN_ISA_SYM(mn_avgpool_forward)
#define mn_avgpool_backward MN_ISA_SYM(mn_avgpool_backward)

#define mn_k_rmsprop MN_ISA_SYM(mn_k_rmsprop)
#define mn_k_adam MN_ISA_SYM(mn_k_adam)
#endif

#endif
