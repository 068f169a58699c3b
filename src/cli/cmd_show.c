/* cmd_show.c - `mnist show`: look at images of the data set, in the terminal
 * (256-colour half blocks, or ASCII art) or as a PNG. */
#define _POSIX_C_SOURCE 200809L
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli.h"
#include "mnist/draw.h"
#include "mnist/dataset.h"
#include "mnist/png.h"

static const char help[] =
    "Usage: mnist show [options] INDEX...\n"
    "\n"
    "Shows images of the data set with their labels. On a colour terminal each character\n"
    "cell is two pixels (the upper-half block, 256-colour greys); with --ascii, when output\n"
    "is not a terminal, or when NO_COLOR is set, plain ASCII art (two characters a pixel).\n"
    "\n"
    "  --data SOURCE  the data (as for train; default: $MNIST_DATA, else data/mnist)\n"
    "  --set S        test (default; <data>/t10k-*) or train (<data>/train-*)\n"
    "  --ascii        ASCII art even on a colour terminal\n"
    "  --transpose    transpose the images (EMNIST's layout; automatic for EMNIST's names)\n"
    "  --color        half blocks even when not on a terminal\n"
    "  --png FILE     write the images side by side (4x, labelled, 10 a row) to a PNG instead\n";

#define PNG_SCALE 4
#define PNG_PER_ROW 10
#define GAP 2 /* columns between images in the terminal */

/* xterm-256 colour of a grey level: 16 is black, 231 white, 232..255 the
 * ramp 8, 18, ..., 238 in between. */
static int grey256(int v)
{
    if (v < 4) return 16;
    if (v > 246) return 231;
    int k = (v - 8 + 5) / 10;
    return 232 + (k < 0 ? 0 : k > 23 ? 23 : k);
}

static int terminal_columns(void)
{
#ifdef TIOCGWINSZ
    struct winsize ws;
    if (isatty(fileno(stdout)) && ioctl(fileno(stdout), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
#endif
    const char *c = getenv("COLUMNS");
    long v = c ? strtol(c, NULL, 10) : 0;
    return v > 0 && v < 10000 ? (int)v : 80;
}

static void show_terminal(const mn_dataset *ds, const long *idx, int n, int color)
{
    static const char ramp[] = " .:-=+*#%@";
    int tile = color ? ds->w : 2 * ds->w;
    int per_row = (terminal_columns() + GAP) / (tile + GAP);
    if (per_row < 1) per_row = 1;
    for (int first = 0; first < n; first += per_row) {
        int k = n - first < per_row ? n - first : per_row;
        if (first) putchar('\n');
        for (int t = 0; t < k; t++) {
            char cap[64];
            char nm[48];
            snprintf(cap, sizeof cap, "#%ld label %s", idx[first + t],
                     mn_class_name(ds->class_names, ds->n_classes, ds->labels[idx[first + t]], nm, sizeof nm));
            if ((int)strlen(cap) > tile) cap[tile] = 0;
            printf("%-*s", t + 1 < k ? tile + GAP : 0, cap);
        }
        putchar('\n');
        int lines = color ? (ds->h + 1) / 2 : ds->h;
        for (int r = 0; r < lines; r++) {
            for (int t = 0; t < k; t++) {
                const uint8_t *img = mn_dataset_image_u8(ds, (int)idx[first + t]);
                if (t) printf("%*s", GAP, "");
                if (!color) {
                    for (int c = 0; c < ds->w; c++) {
                        char ch = ramp[img[r * ds->w + c] * 10 / 256];
                        putchar(ch), putchar(ch);
                    }
                    continue;
                }
                int fg = -1, bg = -1;
                for (int c = 0; c < ds->w; c++) {
                    int up = grey256(img[2 * r * ds->w + c]);
                    int lo = 2 * r + 1 < ds->h ? grey256(img[(2 * r + 1) * ds->w + c]) : 16;
                    if (up != fg || lo != bg) printf("\033[38;5;%d;48;5;%dm", up, lo), fg = up, bg = lo;
                    fputs("\xe2\x96\x80", stdout); /* U+2580 UPPER HALF BLOCK */
                }
                fputs("\033[0m", stdout);
            }
            putchar('\n');
        }
    }
}

/* The images side by side, PNG_PER_ROW a row, each scaled up with its label
 * (and index, smaller) under it. */
static int show_png(const mn_dataset *ds, const long *idx, int n, const char *path, mn_err *e)
{
    const int M = 8, tw = ds->w * PNG_SCALE, th = ds->h * PNG_SCALE;
    const int cell_h = th + 6 + 7 * 3 + 5 + 7 + M;
    int per_row = n < PNG_PER_ROW ? n : PNG_PER_ROW, rows = (n + per_row - 1) / per_row;
    mn_canvas c;
    if (mn_canvas_init(&c, M + per_row * (tw + M), M + rows * cell_h, 1, 0x383838, e)) {
        mn_err inner = *e;
        return mn_fail(e, "%s: %s", path, inner.msg);
    }
    for (int i = 0; i < n; i++) {
        int x = M + (i % per_row) * (tw + M), y = M + (i / per_row) * cell_h;
        mn_canvas_image(&c, x, y, mn_dataset_image_u8(ds, (int)idx[i]), ds->h, ds->w, PNG_SCALE);
        char s[48];
        mn_class_name(ds->class_names, ds->n_classes, ds->labels[idx[i]], s, sizeof s);
        mn_canvas_text(&c, x + (tw - mn_text_width(s, 3)) / 2, y + th + 6, s, 3, 0xffffff);
        snprintf(s, sizeof s, "#%ld", idx[i]);
        mn_canvas_text(&c, x + (tw - mn_text_width(s, 1)) / 2, y + th + 6 + 21 + 5, s, 1, 0xa0a0a0);
    }
    int rc = mn_png_write(path, c.w, c.h, c.channels, c.px, e);
    mn_canvas_free(&c);
    return rc;
}

int cmd_show(int argc, char **argv)
{
    const char *data = NULL, *set = "test", *png = NULL, *v;
    int ascii = 0, color = 0, n = 0, transpose = 0;
    long *idx = malloc((size_t)argc * sizeof *idx);
    if (!idx) {
        fprintf(stderr, "mnist: out of memory\n");
        return 1;
    }
    int rc = EXIT_USAGE;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        int r;
        if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
            fputs(help, stdout);
            rc = 0;
            goto out;
        }
        if (!strcmp(s, "--ascii")) {
            ascii = 1;
        } else if (!strcmp(s, "--transpose")) {
            transpose = 1;
        } else if (!strcmp(s, "--color") || !strcmp(s, "--colour")) {
            color = 1;
        } else if ((r = cli_opt("show", argc, argv, &i, "--data", &v))) {
            if (r < 0) goto out;
            data = v;
        } else if ((r = cli_opt("show", argc, argv, &i, "--set", &v))) {
            if (r < 0) goto out;
            if (strcmp(v, "test") && strcmp(v, "train")) {
                cli_usage_error("show", "--set must be test or train, not '%s'", v);
                goto out;
            }
            set = v;
        } else if ((r = cli_opt("show", argc, argv, &i, "--png", &v))) {
            if (r < 0) goto out;
            png = v;
        } else if (s[0] == '-' && !(s[1] >= '0' && s[1] <= '9')) {
            cli_usage_error("show", "unknown option '%s'", s);
            goto out;
        } else if (cli_int("show", "INDEX", s, 0, INT_MAX, &idx[n++])) {
            goto out;
        }
    }
    if (!n) {
        cli_usage_error("show", "which images? e.g. mnist show 0 1 2");
        goto out;
    }
    if (ascii && color) {
        cli_usage_error("show", "--ascii and --color exclude each other");
        goto out;
    }
    if (png && (ascii || color)) {
        cli_usage_error("show", "--png writes an image; --ascii and --color are for the terminal");
        goto out;
    }

    rc = 1;
    mn_err e;
    mn_dataset ds = {0};
    const char *dir = cli_data_source(data, stdout), *prefix = strcmp(set, "train") ? "t10k" : "train";
    mn_data_opts dopt = {.transpose = transpose};
    if (mn_data_load_opts(dir, strcmp(set, "train") ? MN_SPLIT_TEST : MN_SPLIT_TRAIN, &dopt, &ds, &e)) {
        cli_fail(&e);
        goto out;
    }
    if (ds.type != MN_PIX_U8 || ds.c != 1) {
        fprintf(stderr, "mnist: %s: show draws one-channel byte images\n", ds.path);
        mn_dataset_free(&ds);
        goto out;
    }
    for (int i = 0; i < n; i++)
        if (idx[i] >= ds.n) {
            fprintf(stderr, "mnist: %s: index %ld is out of range: the %s set (%s-*) has %d images, 0 to %d\n", dir,
                    idx[i], set, prefix, ds.n, ds.n - 1);
            mn_dataset_free(&ds);
            goto out;
        }
    if (png) {
        if (show_png(&ds, idx, n, png, &e)) {
            cli_fail(&e);
            mn_dataset_free(&ds);
            goto out;
        }
        printf("saved %s\n", png);
    } else {
        const char *nc = getenv("NO_COLOR");
        int use_color = color || (!ascii && !(nc && *nc) && isatty(fileno(stdout)));
        show_terminal(&ds, idx, n, use_color);
    }
    mn_dataset_free(&ds);
    rc = 0;
out:
    free(idx);
    return rc;
}
