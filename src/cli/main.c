/* main.c - `mnist`: dispatch to the commands. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f)
{
    fputs("Usage: mnist <command> [options]\n"
          "\n"
          "Train and evaluate neural networks on MNIST-format data (MNIST, Fashion-MNIST).\n"
          "\n"
          "Commands:\n",
          f);
    for (const cli_command *c = cli_commands; c->name; c++) fprintf(f, "  %-11s %s\n", c->name, c->help);
    fputs("\n"
          "Options:\n"
          "  -h, --help     show this help; 'mnist <command> --help' for a command's options\n"
          "  -V, --version  print the version\n"
          "\n"
          "Data: --data DIR, else $MNIST_DATA, else data/mnist (get it with scripts/fetch_mnist.sh).\n",
          f);
}

int main(int argc, char **argv)
{
    cli_tune_openmp(argv);
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
        printf("mnist %s\n", MNIST_VERSION);
        return 0;
    }
    for (const cli_command *c = cli_commands; c->name; c++)
        if (!strcmp(cmd, c->name)) return c->fn(argc - 1, argv + 1);
    fprintf(stderr, "mnist: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return EXIT_USAGE;
}
