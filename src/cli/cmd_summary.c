/* cmd_summary.c - `mnist summary`: the layer table of an architecture. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "mnist/model.h"

static const char help[] =
    "Usage: mnist summary [--arch ARCH]\n"
    "\n"
    "Prints the layers, output shapes and parameter counts of a model (for 28x28 inputs, 10 classes),\n"
    "and the training recipe of a preset that has one.\n"
    "\n"
    "  --arch ARCH   a preset (mlp, wide, 3b1b, cnn, lenet5, rnn, vit, pytorch-example, speedrun) or\n"
    "                layers such as \"dense:128,relu,dropout:0.2,dense:10\" (default: mlp)\n"
    "\n"
    "Layers: flatten, dense:N, relu, sigmoid, tanh, gelu, dropout:RATE, softmax,\n"
    "  batchnorm                                      batch normalisation (PyTorch's BatchNorm1d on a flat\n"
    "                                                 input, BatchNorm2d on maps; momentum 0.1, eps 1e-5)\n"
    "  conv:F:K[:sS][:same|:valid|:pP][:he|:glorot]   F filters, kernel K (N or NxM), stride S, padding P;\n"
    "                                                 weights He-uniform (default) or Glorot-uniform\n"
    "  maxpool:K[:sS], avgpool:K[:sS]                 pooling windows K, stride S (default K)\n"
    "Sequences (an image C x H x W is H steps of C*W features):\n"
    "  lstm:U[:seq][:cols], gru:U[:seq][:cols]       U units; the last hidden state, or every step's with\n"
    "                                                 seq; cols: the W columns are the steps\n"
    "  layernorm                                      LayerNorm over the last axis (eps 1e-5)\n"
    "  patches:P:D                                    PxP patches (conv stride P) to D features + positions\n"
    "  transformer:D:HEADS:MLP                        pre-norm encoder block: attention, GELU MLP\n"
    "  mean                                           the mean over the steps\n";

int cmd_summary(int argc, char **argv)
{
    const char *arch = "mlp", *v;
    for (int i = 1; i < argc; i++) {
        int r;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(help, stdout);
            return 0;
        }
        if ((r = cli_opt("summary", argc, argv, &i, "--arch", &v))) {
            if (r < 0) return EXIT_USAGE;
            arch = v;
            continue;
        }
        return cli_usage_error("summary", "unknown option '%s'", argv[i]);
    }
    mn_model m;
    mn_err e;
    if (mn_model_build(&m, arch, (mn_shape){1, 28, 28}, 10, &e)) return cli_usage_error("summary", "%s", e.msg);
    mn_model_summary(&m, stdout);
    const char *recipe = mn_preset_recipe(arch);
    if (recipe) printf("Recipe (mnist train uses these flags where none are given):\n  %s\n", recipe);
    return 0;
}
