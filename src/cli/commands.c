/* commands.c - the list of commands: a new command is one file
 * (src/cli/cmd_<name>.c defining cmd_<name>) plus one line here. */
#include "cli.h"

const cli_command cli_commands[] = {
    {"train", cmd_train, "train a model and save it (mnist train --epochs 5)"},
    {"eval", cmd_eval, "evaluate a saved model on the test set (mnist eval model.bin)"},
    {"summary", cmd_summary, "print a model's layers and parameter counts (mnist summary --arch mlp)"},
    {"show", cmd_show, "draw data set images in the terminal or to a PNG (mnist show 0 1 2)"},
    {"predict", cmd_predict, "classify your own digit images (mnist predict model.bin digit.png)"},
    {"weights", cmd_weights, "draw a layer's weights as pictures (mnist weights model.bin)"},
    {"features", cmd_features, "draw one image's path through the layers (mnist features model.bin --index 0)"},
    {"bench", cmd_bench, "SGEMM GFLOP/s and seconds per training epoch (mnist bench)"},
    {0, 0, 0},
};
