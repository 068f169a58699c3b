/* commands.c - the list of commands: a new command is one file
 * (src/cli/cmd_<name>.c defining cmd_<name>) plus one line here. */
#include "cli.h"

const cli_command cli_commands[] = {
    {"train", cmd_train, "train a model and save it (mnist train --epochs 5)"},
    {"eval", cmd_eval, "evaluate a saved model on the test set (mnist eval model.bin)"},
    {"summary", cmd_summary, "print a model's layers and parameter counts (mnist summary --arch mlp)"},
    {"show", cmd_show, "draw data set images in the terminal or to a PNG (mnist show 0 1 2)"},
    {"predict", cmd_predict, "classify your own digit images (mnist predict model.bin digit.png)"},
    {"export", cmd_export, "write a saved model as an ONNX file (mnist export model.bin --onnx model.onnx)"},
    {"convert", cmd_convert, "convert a data set between IDX, npz and CSV (mnist convert data/mnist mnist.npz)"},
    {"bench", cmd_bench, "SGEMM GFLOP/s and seconds per training epoch (mnist bench)"},
    {"gan", cmd_gan, "train a GAN that draws digits (mnist gan --conditional --png samples.png)"},
    {"generate", cmd_generate, "draw new digits with a saved GAN or VAE (mnist generate gan.bin --png d.png)"},
    {"autoencode", cmd_autoencode, "train an autoencoder or a VAE that redraws digits (mnist autoencode --variational)"},
    {0, 0, 0},
};
