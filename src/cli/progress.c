/* progress.c - Keras-style progress lines and a live bar. */
#include "progress.h"

#include <stdio.h>
#include <string.h>

void progress_init(progress_bar *p, int verbose, int live)
{
    memset(p, 0, sizeof *p);
    p->verbose = verbose;
    p->live = live;
}

/* "[==========>...................]" for done/total, 30 wide, as Keras. */
void progress_bar_text(char *buf, int done, int total)
{
    int w = 30, filled = total ? (int)((long long)w * done / total) : w;
    buf[0] = '[';
    for (int i = 0; i < w; i++) buf[1 + i] = i < filled ? '=' : '.';
    if (filled > 0 && filled < w) buf[filled] = '>';
    buf[w + 1] = ']';
    buf[w + 2] = '\0';
}

/* Keras prints per-step time in the largest unit that is >= 1. */
void progress_per_step(char *buf, size_t len, double s)
{
    if (s >= 1.0)
        snprintf(buf, len, "%.0fs/step", s);
    else if (s >= 1e-3)
        snprintf(buf, len, "%.0fms/step", s * 1e3);
    else
        snprintf(buf, len, "%.0fus/step", s * 1e6);
}

int progress_update(const mn_progress *p, void *user)
{
    progress_bar *pb = user;
    if (!pb->verbose) return 0;
    char b[40];
    int width = snprintf(NULL, 0, "%d", p->steps);
    if (p->step == 1) {
        printf("Epoch %d/%d\n", p->epoch, p->epochs);
        fflush(stdout);
    }
    if (!p->epoch_done) {
        if (!pb->live || p->seconds - pb->last_draw < 0.1) return 0;
        pb->last_draw = p->seconds;
        double eta = p->seconds / p->step * (p->steps - p->step);
        progress_bar_text(b, p->step, p->steps);
        fprintf(stderr, "\r%*d/%d %s - ETA: %.0fs - loss: %.4f - accuracy: %.4f\033[K", width, p->step, p->steps, b, eta,
                p->loss, p->acc);
        fflush(stderr);
        return 0;
    }
    if (pb->live) fputs("\r\033[K", stderr), fflush(stderr);
    pb->last_draw = 0;
    char t[32];
    progress_per_step(t, sizeof t, p->seconds / p->steps);
    progress_bar_text(b, p->steps, p->steps);
    printf("%d/%d %s - %.0fs %s - loss: %.4f - accuracy: %.4f", p->steps, p->steps, b, p->seconds, t, p->loss, p->acc);
    if (p->has_val) printf(" - val_loss: %.4f - val_accuracy: %.4f", p->val_loss, p->val_acc);
    printf("\n");
    fflush(stdout);
    return 0;
}
