/* cmd_features.c - `mnist features`: one image through the network, layer by
 * layer (netpics.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mnist/dataset.h"
#include "mnist/image.h"
#include "mnist/infer.h"
#include "mnist/model.h"
#include "mnist/netpics.h"
#include "mnist/png.h"
#include "mnist/term.h"

static const char help[] =
    "Usage: mnist features MODEL (--index N [--set test|train] [--data DIR] | IMAGE) [options]\n"
    "\n"
    "Runs one image through the model and draws what each layer makes of it: the input,\n"
    "every conv and pooling output as a grid of its channels (each on its own grey\n"
    "scale, black its lowest value, white its highest), dense activations as a row of\n"
    "bars (green positive, red negative), and the class probabilities as a labelled bar\n"
    "chart with the predicted class marked. Each layer is captioned with its name and\n"
    "output shape as in `mnist summary`. IMAGE (PNG or PGM) is prepared as `mnist\n"
    "predict` prepares it; an image with no digit in it (blank, one flat colour) is an\n"
    "error, not a guess.\n"
    "\n"
    "  --index N      a data set image instead of a file\n"
    "  --set S        test (default; <data>/t10k-*) or train (<data>/train-*)\n"
    "  --data DIR     data directory (default: $MNIST_DATA, else data/mnist)\n"
    "  --raw          IMAGE: only convert to grey and resize to 28x28 (as predict --raw)\n"
    "  --png FILE     write the picture to a PNG instead of printing it\n"
    "  --svg FILE     the dense activations' bars and the probability chart as SVG\n"
    "  --ascii        characters even on a colour terminal\n"
    "  --color        half blocks even when output is not a terminal\n";

int cmd_features(int argc, char **argv)
{
    const char *model_path = NULL, *image = NULL, *png = NULL, *svg = NULL, *data = NULL, *set = "test", *v;
    long index = -1;
    int raw = 0, ascii = 0, color = 0, set_given = 0;
    for (int i = 1; i < argc; i++) {
        int r;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(help, stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--ascii")) {
            ascii = 1;
        } else if (!strcmp(argv[i], "--color") || !strcmp(argv[i], "--colour")) {
            color = 1;
        } else if (!strcmp(argv[i], "--raw")) {
            raw = 1;
        } else if ((r = cli_opt("features", argc, argv, &i, "--index", &v))) {
            if (r < 0 || cli_int("features", "--index", v, 0, 0x7FFFFFFFL, &index)) return EXIT_USAGE;
        } else if ((r = cli_opt("features", argc, argv, &i, "--set", &v))) {
            if (r < 0) return EXIT_USAGE;
            if (strcmp(v, "test") && strcmp(v, "train"))
                return cli_usage_error("features", "--set must be test or train, not '%s'", v);
            set = v, set_given = 1;
        } else if ((r = cli_opt("features", argc, argv, &i, "--data", &v))) {
            if (r < 0) return EXIT_USAGE;
            data = v;
        } else if ((r = cli_opt("features", argc, argv, &i, "--png", &v))) {
            if (r < 0) return EXIT_USAGE;
            png = v;
        } else if ((r = cli_opt("features", argc, argv, &i, "--svg", &v))) {
            if (r < 0) return EXIT_USAGE;
            svg = v;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_usage_error("features", "unknown option '%s'", argv[i]);
        } else if (!model_path) {
            model_path = argv[i];
        } else if (!image) {
            image = argv[i];
        } else {
            return cli_usage_error("features", "one image at a time: '%s' and '%s'", image, argv[i]);
        }
    }
    if (!model_path) return cli_usage_error("features", "which model? e.g. mnist features model.bin --index 0");
    if (!image && index < 0)
        return cli_usage_error("features", "which image? e.g. mnist features %s --index 0 (or digit.png)", model_path);
    if (image && index >= 0) return cli_usage_error("features", "an IMAGE or --index, not both");
    if (image && (set_given || data)) return cli_usage_error("features", "--set and --data go with --index");
    if (!image && raw) return cli_usage_error("features", "--raw goes with an IMAGE file");
    if (ascii && color) return cli_usage_error("features", "--ascii and --color exclude each other");
    if (png && (ascii || color))
        return cli_usage_error("features", "--png writes an image; --ascii and --color are for the terminal");

    mn_err e;
    mn_model m;
    /* unfused: the ReLU and pooling outputs a fused conv skips are kept */
    if (mn_model_open_unfused(&m, model_path, 1, &e)) return cli_fail(&e);
    int rc = 1;
    size_t npx = mn_shape_size(m.input_shape);
    uint8_t *x = NULL;
    mn_dataset ds = {0};
    if (m.n_classes < 1) {
        fprintf(stderr, "mnist: %s: not a classifier (no class probabilities to show)\n", model_path);
        goto out;
    }
    if (image) {
        if (m.input_shape.c != 1 || m.input_shape.h != MN_MNIST_SIDE || m.input_shape.w != MN_MNIST_SIDE) {
            fprintf(stderr, "mnist: %s: model expects %dx%dx%d inputs; an image file becomes 1x%dx%d\n", model_path,
                    m.input_shape.c, m.input_shape.h, m.input_shape.w, MN_MNIST_SIDE, MN_MNIST_SIDE);
            goto out;
        }
        mn_image im;
        x = malloc(MN_MNIST_PIXELS);
        if (!x) {
            fprintf(stderr, "mnist: out of memory\n");
            goto out;
        }
        if (mn_image_read(image, &im, &e)) {
            cli_fail(&e);
            goto out;
        }
        int bad = mn_image_prepare(&im, raw, x, &e);
        mn_image_free(&im);
        if (bad) {
            fprintf(stderr, "mnist: %s: %s\n", image, e.msg);
            goto out;
        }
    } else {
        const char *dir = cli_data_source(data, stdout), *prefix = strcmp(set, "train") ? "t10k" : "train";
        if (mn_data_load(dir, strcmp(set, "train") ? MN_SPLIT_TEST : MN_SPLIT_TRAIN, &ds, &e)) {
            cli_fail(&e);
            goto out;
        }
        if (m.input_shape.c != 1 || ds.c != 1 || ds.h != m.input_shape.h || ds.w != m.input_shape.w ||
            !mn_dataset_image_u8(&ds, 0)) {
            fprintf(stderr, "mnist: %s: model expects %dx%dx%d inputs; %s has %dx%dx%d images\n", model_path,
                    m.input_shape.c, m.input_shape.h, m.input_shape.w, dir, ds.c, ds.h, ds.w);
            goto out;
        }
        if (index >= ds.n) {
            rc = cli_usage_error("features", "--index %ld is out of range: the %s set (%s/%s-*) has %d images, 0 to %d",
                                 index, set, dir, prefix, ds.n, ds.n - 1);
            goto out;
        }
        x = malloc(npx);
        if (!x) {
            fprintf(stderr, "mnist: out of memory\n");
            goto out;
        }
        memcpy(x, mn_dataset_image_u8(&ds, (int)index), npx);
        char nm[48];
        printf("%s[%ld], label %s\n", prefix, index,
               mn_class_name(ds.class_names, ds.n_classes, ds.labels[index], nm, sizeof nm));
    }
    float *probs = malloc((size_t)m.n_classes * sizeof *probs);
    if (!probs || mn_predict(&m, x, MN_PIXELS_U8, 1, probs, &e)) {
        free(probs);
        fprintf(stderr, "mnist: %s: %s\n", model_path, probs ? e.msg : "out of memory");
        goto out;
    }
    free(probs);
    if (png) {
        mn_canvas c = {0};
        int bad = mn_features_canvas(&m, &c, &e) || mn_png_write(png, c.w, c.h, c.channels, c.px, &e);
        mn_canvas_free(&c);
        if (bad) {
            mn_err inner = e;
            if (!strstr(inner.msg, png)) mn_fail(&e, "%s: %s", png, inner.msg);
            cli_fail(&e);
            goto out;
        }
        printf("saved %s\n", png);
    }
    if (svg) {
        if (mn_features_svg(&m, svg, &e)) {
            cli_fail(&e);
            goto out;
        }
        printf("saved %s\n", svg);
    }
    if (!png && !svg) {
        mn_term_mode mode = mn_term_mode_for(stdout, color, ascii);
        if (mn_features_print(stdout, &m, mode, mn_term_columns(stdout), &e)) {
            cli_fail(&e);
            goto out;
        }
    } else {
        int p = mn_features_predicted(&m);
        printf("predicted %d (%.1f%%)\n", p, 100.0 * m.probs[p]);
    }
    rc = 0;
out:
    free(x);
    mn_dataset_free(&ds);
    mn_model_free(&m);
    return rc;
}
