/* autothreads.c - see include/mnist/autothreads.h. */
#include "mnist/autothreads.h"

#include <stdlib.h>

/* A switch costs a step or two of cold caches (the data moves between
 * cores); those steps are not timed. */
#define WARM_STEPS 2
/* Steps between checks: doubles while the choice holds, back to the start
 * when it changes. At the longest, a check's worse candidates cost about
 * (12 + 2) steps in 3200, under 1% even when they run at half speed. */
#define EVERY_START 400
#define EVERY_MAX 3200
/* ... and never more than this many seconds apart: with 30 ms steps (cnn),
 * 3200 steps would leave a slow choice in place for a minute and a half. */
#define EVERY_MAX_SECONDS 10.0
#define EVERY_MIN 50

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* A candidate whose first timed steps are all this much slower than the
 * current count's median is dropped from the check at once: on a machine
 * where one count runs at a sixth of the other's speed, a full check of the
 * slow one would cost more than the choice gains. */
#define ABORT_AFTER 3
#define ABORT_RATIO 1.25

static void start_probe(mn_autothreads *a, int order)
{
    a->probing = order;
    a->warm = WARM_STEPS;
    a->n_samples = 0;
}

/* Checks time the current count first, then the others in turn. */
static int probe_index(const mn_autothreads *a, int order)
{
    if (order == 0) return a->cur;
    return order <= a->cur ? order - 1 : order;
}

void mn_autothreads_init(mn_autothreads *a, int max_threads)
{
    *a = (mn_autothreads){0};
    if (max_threads < 1) max_threads = 1;
    a->cand[a->n_cand++] = max_threads;
    for (int t = 1; t < max_threads && a->n_cand < MN_AUTO_MAX_CAND; t *= 2) a->cand[a->n_cand++] = t;
    a->every = EVERY_START;
    a->probing = -1;
    if (a->n_cand > 1) start_probe(a, 0);
}

int mn_autothreads_next(const mn_autothreads *a)
{
    return a->cand[a->probing >= 0 ? probe_index(a, a->probing) : a->cur];
}

/* All candidates timed: keep the fastest (the current one on a tie). */
static void decide(mn_autothreads *a)
{
    int best = a->cur;
    for (int k = 0; k < a->n_cand; k++)
        if (a->median[k] < a->median[best]) best = k;
    a->checks++;
    if (best != a->cur) {
        a->switches++;
        a->every = EVERY_START;
    } else if (a->every < EVERY_MAX) {
        a->every *= 2;
    }
    a->cur = best;
    a->probing = -1;
    a->left = a->every;
    double by_time = EVERY_MAX_SECONDS / a->median[best]; /* steps in EVERY_MAX_SECONDS */
    if (a->median[best] > 0 && by_time < a->left) a->left = by_time < EVERY_MIN ? EVERY_MIN : (int)by_time;
}

void mn_autothreads_done(mn_autothreads *a, double seconds)
{
    if (a->n_cand < 2) return;
    if (a->probing < 0) {
        if (--a->left <= 0) start_probe(a, 0);
        return;
    }
    if (a->warm > 0) {
        a->warm--;
        return;
    }
    int k = probe_index(a, a->probing);
    a->samples[a->n_samples++] = seconds;
    int slow = 0;
    if (a->probing > 0 && a->n_samples == ABORT_AFTER) {
        slow = 1;
        for (int i = 0; i < ABORT_AFTER; i++) slow &= a->samples[i] > ABORT_RATIO * a->median[a->cur];
    }
    if (!slow && a->n_samples < MN_AUTO_SAMPLES) return;
    /* the median: one step preempted by another process says nothing */
    qsort(a->samples, (size_t)a->n_samples, sizeof *a->samples, cmp_double);
    a->median[k] = a->samples[a->n_samples / 2];
    if (a->probing + 1 < a->n_cand)
        start_probe(a, a->probing + 1);
    else
        decide(a);
}
