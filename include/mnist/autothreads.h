/* autothreads.h - choosing the number of threads by timing training steps.
 *
 * The fastest thread count is not a constant of the machine. On a shared
 * machine, or a virtual machine whose virtual CPUs sometimes land on the same
 * physical core, two threads that meet at a barrier in every parallel loop
 * can run a step at half the speed of one thread, and the situation changes
 * while a job runs. Results do not depend on the thread count (threads split
 * outputs, never sums), so the trainer can simply try: now and then it times
 * a few steps with each candidate and runs until the next check with the
 * fastest. A check costs a few steps at a worse count; checks grow rarer
 * (400 to 3200 steps apart) while the answer stays the same, but are never
 * more than 10 seconds apart.
 *
 *   mn_autothreads a;
 *   mn_autothreads_init(&a, mn_get_threads());
 *   for each step:
 *       mn_set_threads(mn_autothreads_next(&a));
 *       ... the step ...
 *       mn_autothreads_done(&a, seconds the step took);
 */
#ifndef MNIST_AUTOTHREADS_H
#define MNIST_AUTOTHREADS_H

#define MN_AUTO_MAX_CAND 8  /* candidate thread counts */
#define MN_AUTO_SAMPLES 12  /* timed steps per candidate and check */

typedef struct {
    int n_cand, cand[MN_AUTO_MAX_CAND]; /* thread counts tried: max, then 1, 2, 4, ... below it */
    int cur;                            /* index of the count in use between checks */
    int probing;                        /* index being timed, or -1 between checks */
    int warm;                           /* untimed steps left after a switch */
    int left;                           /* steps left until the next check (between checks) */
    int every;                          /* steps between checks */
    int n_samples;
    double samples[MN_AUTO_SAMPLES];
    double median[MN_AUTO_MAX_CAND];    /* last check's median step time of each candidate */
    long checks, switches;              /* for reports */
} mn_autothreads;

/* Candidates up to max_threads (1: nothing to choose, always 1). */
void mn_autothreads_init(mn_autothreads *a, int max_threads);

/* Threads to use for the next step. */
int mn_autothreads_next(const mn_autothreads *a);

/* Reports how long the step run with mn_autothreads_next's count took. */
void mn_autothreads_done(mn_autothreads *a, double seconds);

#endif
