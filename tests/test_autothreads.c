/* test_autothreads.c - the thread-count chooser, on simulated step times. */
#include "mnist/autothreads.h"
#include "test.h"

/* Runs n steps where a step on t threads takes cost[t] seconds; returns the
 * steps run on each count through used[] and the count in use at the end. */
static int run(mn_autothreads *a, int n, const double *cost, long *used)
{
    int t = 0;
    for (int i = 0; i < n; i++) {
        t = mn_autothreads_next(a);
        used[t]++;
        mn_autothreads_done(a, cost[t]);
    }
    return mn_autothreads_next(a);
}

int main(void)
{
    mn_autothreads a;
    long used[5] = {0};

    /* one core: nothing to choose */
    mn_autothreads_init(&a, 1);
    double one[2] = {0, 1e-3};
    CHECK(a.n_cand == 1 && run(&a, 100, one, used) == 1 && used[1] == 100 && a.checks == 0);

    /* two threads twice as fast: stays on 2, and checks grow rarer */
    mn_autothreads_init(&a, 2);
    CHECK(a.n_cand == 2 && a.cand[0] == 2 && a.cand[1] == 1 && mn_autothreads_next(&a) == 2);
    double fast2[3] = {0, 2e-3, 1e-3};
    long u[3] = {0};
    CHECK(run(&a, 20000, fast2, u) == 2);
    CHECK(a.switches == 0 && a.checks >= 4 && a.every == 3200);
    /* one-thread steps: the slower count is dropped from each check after 3 timed steps */
    CHECK_MSG(u[1] <= (long)a.checks * 5, "%ld one-thread steps in %ld checks", u[1], a.checks);

    /* the machine changes: one thread becomes 3x faster; the next check switches */
    double fast1[3] = {0, 1e-3, 3e-3};
    long v[3] = {0};
    CHECK(run(&a, 3200 + 100, fast1, v) == 1 && a.switches == 1);
    /* the steps before the switch were at most one check interval */
    CHECK(v[2] <= 3200 + 20);
    /* and back */
    long w[3] = {0};
    CHECK(run(&a, 3200 + 100, fast2, w) == 2 && a.switches == 2);

    /* noise: one preempted step in a check does not decide it (the median) */
    mn_autothreads_init(&a, 2);
    int spike = 0;
    for (int i = 0; i < 40; i++) {
        int t = mn_autothreads_next(&a);
        double s = t == 2 ? 1e-3 : 1.5e-3;
        if (t == 2 && i == 5 && !spike++) s = 1.0; /* one step stalls for a second */
        mn_autothreads_done(&a, s);
    }
    CHECK(mn_autothreads_next(&a) == 2 && a.checks == 1);

    /* slow steps (0.1 s): checks come at most 10 seconds apart, not 3200 steps */
    mn_autothreads_init(&a, 2);
    double slow[3] = {0, 0.2, 0.1};
    long s3[3] = {0};
    run(&a, 2000, slow, s3);
    CHECK_MSG(a.checks >= 15, "%ld checks in 2000 steps of 0.1 s", a.checks);
    CHECK(a.switches == 0 && mn_autothreads_next(&a) == 2);

    /* more cores: candidates max, 1, 2, 4 */
    mn_autothreads_init(&a, 6);
    CHECK(a.n_cand == 4 && a.cand[0] == 6 && a.cand[1] == 1 && a.cand[2] == 2 && a.cand[3] == 4);
    double c6[7] = {0, 6e-3, 3.2e-3, 0, 1.9e-3, 0, 2e-3}; /* 4 threads best */
    long x[7] = {0};
    CHECK(run(&a, 200, c6, x) == 4);
    (void)used;
    return test_summary("test_autothreads");
}
