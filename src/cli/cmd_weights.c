/* cmd_weights.c - `mnist weights`: a layer's weights as pictures (netpics.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mnist/model.h"
#include "mnist/netpics.h"
#include "mnist/png.h"
#include "mnist/term.h"

static const char help[] =
    "Usage: mnist weights MODEL [--layer N] [--png FILE] [--cols C] [--scale layer|unit]\n"
    "\n"
    "Draws a layer's weights: green positive, red negative, darker the closer to zero\n"
    "(black at zero), with a colour bar and the scale's values.\n"
    "  - a dense layer fed by the image: one tile per unit, its weights laid out as the\n"
    "    image (28x28), read as \"this unit looks for ink here, and no ink there\";\n"
    "  - a conv layer: one tile per filter, a small enlarged square per input channel;\n"
    "  - other dense layers: a heat map of the matrix, units down, inputs across.\n"
    "On a colour terminal, half blocks in 24-bit or 256 colours; when output is not a\n"
    "terminal (or NO_COLOR is set, or --ascii), characters: + * # positive (weak to\n"
    "strong), - = % negative.\n"
    "\n"
    "  --layer N      the layer: its number as in the model file's tensor names (N.weight),\n"
    "                 counting the rows of `mnist summary` from 0, or its summary name\n"
    "                 (dense_1, conv); default: the first layer with weights\n"
    "  --png FILE     write a PNG instead of printing\n"
    "  --cols C       tiles a row in the PNG (default: about a square grid)\n"
    "  --scale S      layer (default): one scale for the whole layer, its largest |weight|;\n"
    "                 unit: each tile (each unit or filter; a matrix: each row) its own\n"
    "  --ascii        characters even on a colour terminal\n"
    "  --color        half blocks even when output is not a terminal\n";

/* --layer's value: a number, or a summary name such as "dense_1"; -1 if neither. */
static int find_layer(const mn_model *m, const char *s)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s && !*end) return v >= 0 && v < m->n_layers ? (int)v : -2;
    for (int i = 0; i < m->n_layers; i++) {
        char label[64];
        mn_model_layer_label(m, i, label, sizeof label);
        char *sp = strchr(label, ' ');
        if (sp) *sp = 0;
        if (!strcmp(label, s)) return i;
    }
    return -1;
}

int cmd_weights(int argc, char **argv)
{
    const char *model_path = NULL, *png = NULL, *layer_s = NULL, *v;
    int ascii = 0, color = 0;
    mn_weights_opts o = {0, 0};
    for (int i = 1; i < argc; i++) {
        int r;
        long n;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(help, stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--ascii")) {
            ascii = 1;
        } else if (!strcmp(argv[i], "--color") || !strcmp(argv[i], "--colour")) {
            color = 1;
        } else if ((r = cli_opt("weights", argc, argv, &i, "--layer", &v))) {
            if (r < 0) return EXIT_USAGE;
            layer_s = v;
        } else if ((r = cli_opt("weights", argc, argv, &i, "--png", &v))) {
            if (r < 0) return EXIT_USAGE;
            png = v;
        } else if ((r = cli_opt("weights", argc, argv, &i, "--cols", &v))) {
            if (r < 0 || cli_int("weights", "--cols", v, 1, 4096, &n)) return EXIT_USAGE;
            o.cols = (int)n;
        } else if ((r = cli_opt("weights", argc, argv, &i, "--scale", &v))) {
            if (r < 0) return EXIT_USAGE;
            if (strcmp(v, "layer") && strcmp(v, "unit"))
                return cli_usage_error("weights", "--scale must be layer or unit, not '%s'", v);
            o.unit_scale = !strcmp(v, "unit");
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_usage_error("weights", "unknown option '%s'", argv[i]);
        } else if (!model_path) {
            model_path = argv[i];
        } else {
            return cli_usage_error("weights", "one model at a time: '%s' and '%s'", model_path, argv[i]);
        }
    }
    if (!model_path) return cli_usage_error("weights", "which model? e.g. mnist weights model.bin");
    if (ascii && color) return cli_usage_error("weights", "--ascii and --color exclude each other");
    if (png && (ascii || color))
        return cli_usage_error("weights", "--png writes an image; --ascii and --color are for the terminal");

    mn_model m;
    mn_err e;
    if (mn_model_open(&m, model_path, 1, &e)) return cli_fail(&e);
    int layer = layer_s ? find_layer(&m, layer_s) : mn_weights_first(&m), rc = 0;
    if (layer < 0) {
        if (layer_s && layer == -2)
            rc = cli_usage_error("weights", "--layer %s: %s has layers 0 to %d (see mnist summary)", layer_s,
                                 model_path, m.n_layers - 1);
        else if (layer_s)
            rc = cli_usage_error("weights", "--layer %s: %s has no layer of that name (numbers 0 to %d, or names as "
                                 "mnist summary prints them)", layer_s, model_path, m.n_layers - 1);
        else
            rc = cli_usage_error("weights", "%s has no layer with weights", model_path);
        mn_model_free(&m);
        return rc;
    }
    mn_weights_view wv;
    if (mn_weights_find(&m, layer, &wv, &e)) {
        rc = cli_usage_error("weights", "--layer %s: %s", layer_s, e.msg);
        mn_model_free(&m);
        return rc;
    }
    if (png) {
        mn_canvas c = {0};
        if (mn_weights_canvas(&m, &wv, &o, &c, NULL, &e) || mn_png_write(png, c.w, c.h, c.channels, c.px, &e)) {
            mn_err inner = e;
            if (!strstr(inner.msg, png)) mn_fail(&e, "%s: %s", png, inner.msg);
            rc = cli_fail(&e);
        } else {
            printf("saved %s: %s, %d tile%s\n", png, wv.name, wv.n, wv.n == 1 ? "" : "s");
        }
        mn_canvas_free(&c);
    } else {
        mn_term_mode mode = mn_term_mode_for(stdout, color, ascii);
        if (mn_weights_print(stdout, &m, &wv, &o, mode, mn_term_columns(stdout), &e)) rc = cli_fail(&e);
    }
    mn_model_free(&m);
    return rc;
}
