/* omp_env.c - keep OpenMP's idle threads from spinning on a busy machine.
 *
 * libgomp's threads spin (GOMP_SPINCOUNT, by default 300,000 iterations of
 * a pause loop) at the end of every parallel region before they sleep. A
 * training step of the default model is three regions of ~20-50 us with
 * short serial parts between them, so on an idle machine a spin that lasts
 * across those serial parts is what makes 2 threads pay. But when another
 * process wants a core, a spinning thread burns its time slice waiting for
 * a partner that is not running. Measured here (mlp, 2 threads, 2 cores,
 * microseconds per step; "busy" = one busy-looping process beside us; one
 * thread: 368 idle, 324 busy):
 *
 *   GOMP_SPINCOUNT      idle        busy
 *   300000 (default)    242-640     17,000-26,000
 *   30000               246-293     2,000
 *   1000                636-1000    633
 *
 * 30000 keeps the idle speed and cuts the contended case ~10x; going lower
 * makes every region pay a futex wake-up, slower than one thread even when
 * idle. (Choosing the thread count by measuring would be the real fix.)
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
    if (setenv("GOMP_SPINCOUNT", "30000", 1) != 0) return;
    execv("/proc/self/exe", argv);
    /* exec failed (no /proc, say): carry on with the defaults; the variable
     * we set is harmless now */
}
#else
void cli_tune_openmp(char **argv) { (void)argv; }
#endif
