/* omp_env.c - keep OpenMP's idle threads from spinning on a busy machine.
 *
 * libgomp's threads spin (by default for about 300,000 iterations) at the
 * end of every parallel region before they sleep. A training step of the
 * default model is three regions of ~50-100 us, so on an idle machine the
 * spin is what makes 2 threads pay. But when another process wants a core,
 * a spinning thread burns its time slice waiting for a partner that is not
 * running: we measured 26 ms per step instead of 0.3 ms (an epoch of 49 s
 * instead of 0.5 s) with one busy process beside us on 2 cores. A short spin
 * (GOMP_SPINCOUNT=1000, ~1-2 us) then a futex sleep keeps the idle-machine
 * speed within a few percent and makes the contended case about as fast as
 * one thread.
 *
 * libgomp reads its environment once, when it is loaded, before main, so
 * the only way to set it from inside the program is to re-execute
 * ourselves with the variable set (setting it from an ELF .preinit_array
 * function does not work: glibc resets environ after those run). We do that
 * only on Linux, only when the user set neither GOMP_SPINCOUNT nor
 * OMP_WAIT_POLICY (their choice wins), only once (the variable is set in
 * the child), and not under valgrind, whose exec of /proc/self/exe would
 * start valgrind's own tool binary. If anything fails we simply run on with
 * libgomp's defaults.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#if defined(_OPENMP) && defined(__linux__)
#include <unistd.h>

void cli_tune_openmp(char **argv)
{
    if (getenv("GOMP_SPINCOUNT") || getenv("OMP_WAIT_POLICY")) return;
    const char *preload = getenv("LD_PRELOAD");
    if (preload && strstr(preload, "vgpreload")) return; /* valgrind */
    if (setenv("GOMP_SPINCOUNT", "1000", 1) != 0) return;
    execv("/proc/self/exe", argv);
    /* exec failed (no /proc, say): carry on with the defaults; the variable
     * we set is harmless now */
}
#else
void cli_tune_openmp(char **argv) { (void)argv; }
#endif
