/* load_times.c - how long mn_data_load takes for each source given, train
 * and test splits, in one process, turn about (median of ROUNDS rounds),
 * and for CSV sources the parse speed in MB/s of the file. Times are CPU
 * seconds of this process (run it with OMP_NUM_THREADS=1: one core).
 *
 *   cc -O2 -Iinclude scripts/load_times.c build/libmnistlib.a -lm -fopenmp -o /tmp/load_times
 *   /tmp/load_times 5 /work/shared/data/mnist mnist.npz mnist_train.csv
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "mnist/dataset.h"

/* CPU time of this process (the test machine is shared: wall time
 * measures the neighbours) */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: load_times ROUNDS SOURCE...\n");
        return 2;
    }
    int rounds = atoi(argv[1]), ns = argc - 2;
    double *t = calloc((size_t)(rounds * ns), sizeof *t);
    for (int r = 0; r < rounds; r++)
        for (int s = 0; s < ns; s++) {
            mn_dataset a, b;
            mn_err e;
            double t0 = now();
            if (mn_data_load(argv[2 + s], MN_SPLIT_TRAIN, &a, &e) || mn_data_load(argv[2 + s], MN_SPLIT_TEST, &b, &e) < 0) {
                fprintf(stderr, "%s\n", e.msg);
                return 1;
            }
            t[s * rounds + r] = now() - t0;
            mn_dataset_free(&a);
            mn_dataset_free(&b);
        }
    for (int s = 0; s < ns; s++) {
        qsort(t + s * rounds, (size_t)rounds, sizeof *t, cmp);
        double med = t[s * rounds + rounds / 2];
        printf("%-50s %8.3f s CPU (median of %d)", argv[2 + s], med, rounds);
        size_t n = strlen(argv[2 + s]);
        if (n > 4 && !strcmp(argv[2 + s] + n - 4, ".csv")) {
            /* the two files: train and its test sibling */
            struct stat st;
            double bytes = 0;
            char sib[4096];
            if (stat(argv[2 + s], &st) == 0) bytes += (double)st.st_size;
            const char *at = strstr(argv[2 + s], "train");
            if (at) {
                snprintf(sib, sizeof sib, "%.*stest%s", (int)(at - argv[2 + s]), argv[2 + s], at + 5);
                if (stat(sib, &st) == 0) bytes += (double)st.st_size;
            }
            printf("  %.0f MB/s", bytes / med / 1e6);
        }
        printf("\n");
    }
    free(t);
    return 0;
}
