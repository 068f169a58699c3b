/* cmd_export.c - `mnist export`: a saved model in another format (ONNX). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "mnist/atomic.h"
#include "mnist/model.h"
#include "mnist/onnx.h"

static const char help[] =
    "Usage: mnist export MODEL --onnx FILE [--logits] [--part NAME]\n"
    "\n"
    "Writes a saved model as an ONNX file (IR version 8, opset 13), for ONNX Runtime,\n"
    "onnx.checker, Netron and the like. FILE '-' writes to standard output.\n"
    "The graph's input \"input\" is N x 1 x 28 x 28 floats in [0, 1] (pixel / 255; N is\n"
    "any batch size), its output \"probabilities\" N x 10 (a Softmax node after the\n"
    "last layer). Weights are initializers with PyTorch's names (\"0.weight\"); the\n"
    "model file's metadata (arch, training recipe, test accuracy) is kept in\n"
    "metadata_props. Dropout adds no node.\n"
    "\n"
    "  --onnx FILE   the ONNX file to write (atomically: a reader never sees half of it)\n"
    "  --logits      output \"logits\" (the last layer's outputs) instead of probabilities\n"
    "  --part NAME   one network of a file that holds two: generator or discriminator\n"
    "                (mnist gan), encoder or decoder (mnist autoencode). A part that is\n"
    "                no classifier outputs \"output\", its last layer's values as they are\n"
    "                (a decoder's and a discriminator's are logits: apply a sigmoid); a\n"
    "                generator's or decoder's input is N x (its input size)\n";

int cmd_export(int argc, char **argv)
{
    const char *model_path = NULL, *onnx = NULL, *part = NULL, *v;
    int logits = 0;
    for (int i = 1; i < argc; i++) {
        int r;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(help, stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--logits")) {
            logits = 1;
        } else if ((r = cli_opt("export", argc, argv, &i, "--onnx", &v))) {
            if (r < 0) return EXIT_USAGE;
            if (!*v) return cli_usage_error("export", "--onnx needs a file name (or - for standard output)");
            onnx = v;
        } else if ((r = cli_opt("export", argc, argv, &i, "--part", &v))) {
            if (r < 0) return EXIT_USAGE;
            if (!*v) return cli_usage_error("export", "--part needs a name, e.g. --part generator");
            part = v;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_usage_error("export", "unknown option '%s'", argv[i]);
        } else if (model_path) {
            return cli_usage_error("export", "one model file at a time ('%s' and '%s')", model_path, argv[i]);
        } else {
            model_path = argv[i];
        }
    }
    if (!model_path) return cli_usage_error("export", "which model? e.g. mnist export model.bin --onnx model.onnx");
    if (!onnx) return cli_usage_error("export", "which format? e.g. --onnx model.onnx");
    int to_stdout = !strcmp(onnx, "-");
    if (to_stdout && isatty(STDOUT_FILENO))
        return cli_usage_error("export", "standard output is a terminal: redirect it, or give --onnx FILE");

    mn_err e;
    mn_model m;
    if (part ? mn_model_load_part(&m, model_path, part, 1, 0, &e) : mn_model_open(&m, model_path, 1, &e)) {
        if (!part && strstr(e.msg, "metadata lacks")) {
            mn_err inner = e;
            mn_fail(&e, "%s; a file of two networks needs --part (generator, discriminator, encoder, decoder)",
                    inner.msg);
        }
        return cli_fail(&e);
    }
    mn_pb pb = {0};
    int rc = 1;
    if (mn_onnx_export(&m, logits, &pb, &e)) {
        mn_err inner = e;
        mn_fail(&e, "%s: %s", model_path, inner.msg);
        cli_fail(&e);
        goto out;
    }
    if (to_stdout) {
        if (fwrite(pb.data, 1, pb.len, stdout) != pb.len || fflush(stdout)) {
            fprintf(stderr, "mnist: standard output: write failed\n");
            goto out;
        }
    } else {
        char *tmp;
        FILE *f = mn_atomic_open(onnx, &tmp, &e);
        if (!f || mn_atomic_commit(f, onnx, tmp, fwrite(pb.data, 1, pb.len, f) == pb.len, &e)) {
            cli_fail(&e);
            goto out;
        }
        printf("saved %s (%zu bytes, %s)\n", onnx, pb.len,
               !m.n_classes ? "output" : logits ? "logits" : "probabilities");
    }
    rc = 0;
out:
    mn_pb_free(&pb);
    mn_model_free(&m);
    return rc;
}
