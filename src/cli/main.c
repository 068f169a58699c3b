/* main.c - `mnist`: dispatch to the commands. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "Usage: mnist <command> [options]\n"
    "\n"
    "Train and evaluate neural networks on MNIST-format data (MNIST, Fashion-MNIST).\n"
    "\n"
    "Commands:\n"
    "  train     train a model and save it (mnist train --epochs 5)\n"
    "  eval      evaluate a saved model on the test set (mnist eval model.bin)\n"
    "  summary   print a model's layers and parameter counts (mnist summary --arch mlp)\n"
    "  show      draw data set images in the terminal or to a PNG (mnist show 0 1 2)\n"
    "  predict   classify your own digit images (mnist predict model.bin digit.png)\n"
    "  bench     SGEMM GFLOP/s and seconds per training epoch (mnist bench)\n"
    "\n"
    "Options:\n"
    "  -h, --help     show this help; 'mnist <command> --help' for a command's options\n"
    "  -V, --version  print the version\n"
    "\n"
    "Data: --data DIR, else $MNIST_DATA, else data/mnist (get it with scripts/fetch_mnist.sh).\n";

int main(int argc, char **argv)
{
    cli_tune_openmp(argv);
    if (argc < 2) {
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        fputs(usage, stdout);
        return 0;
    }
    if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
        printf("mnist %s\n", MNIST_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "train")) return cmd_train(argc - 1, argv + 1);
    if (!strcmp(cmd, "eval")) return cmd_eval(argc - 1, argv + 1);
    if (!strcmp(cmd, "summary")) return cmd_summary(argc - 1, argv + 1);
    if (!strcmp(cmd, "show")) return cmd_show(argc - 1, argv + 1);
    if (!strcmp(cmd, "predict")) return cmd_predict(argc - 1, argv + 1);
    if (!strcmp(cmd, "bench")) return cmd_bench(argc - 1, argv + 1);
    fprintf(stderr, "mnist: unknown command '%s'\n\n%s", cmd, usage);
    return EXIT_USAGE;
}
