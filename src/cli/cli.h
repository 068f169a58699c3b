/* cli.h - what the command files share: option parsing and error exits.
 *
 * Exit codes: 0 success, 1 a data or file error (one line on stderr:
 * "mnist: <file>: <problem>"), 2 a usage error (bad flag or value). */
#ifndef MNIST_CLI_H
#define MNIST_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "mnist/dataset.h"

#include "mnist/error.h"

#define EXIT_USAGE 2

/* Re-executes the program once with a short OpenMP spin (omp_env.c). */
void cli_tune_openmp(char **argv);

/* A command: `mnist <name> ...` runs fn(argc - 1, argv + 1). The list is
 * commands.c, ended by a zero entry. */
typedef int cli_command_fn(int argc, char **argv);
typedef struct {
    const char *name;
    cli_command_fn *fn;
    const char *help; /* one line for `mnist --help` */
} cli_command;
extern const cli_command cli_commands[];

cli_command_fn cmd_train, cmd_eval, cmd_summary, cmd_show, cmd_predict, cmd_bench, cmd_autoencode, cmd_gan,
    cmd_generate, cmd_export, cmd_convert;

/* Prints "mnist <cmd>: <message>" and a hint to stderr; returns EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Prints "mnist: <e->msg>"; returns 1. */
int cli_fail(const mn_err *e);

/* If argv[*i] is "--name VALUE" or "--name=VALUE", stores VALUE in *val,
 * advances *i past it and returns 1; returns -1 if the value is missing
 * (after printing a usage error), 0 if argv[*i] is another option. */
int cli_opt(const char *cmd, int argc, char **argv, int *i, const char *name, const char **val);

/* Strict number parsing with a range; on failure prints a usage error naming
 * the flag and returns -1. */
int cli_int(const char *cmd, const char *flag, const char *s, long lo, long hi, long *out);
int cli_float(const char *cmd, const char *flag, const char *s, double lo, double hi, double *out);
int cli_u64(const char *cmd, const char *flag, const char *s, uint64_t *out);

/* Seconds on a monotonic clock, for "2s/epoch" style reports. */
double cli_seconds(void);

/* The data source (dataset.h): --data if given, else $MNIST_DATA, else
 * data/mnist, except that when none of these is given and data/mnist does
 * not exist, ~/.keras/datasets/mnist.npz is used if it exists, and a line
 * saying so is printed to note (if not NULL). */
const char *cli_data_source(const char *flag_value, FILE *note);

/* Checks that a test set fits its training set (same sample shape, no more
 * classes; a test set lacking the last classes takes the training set's
 * count and names). Fails naming the test data. */
int cli_data_match(const mn_dataset *train, mn_dataset *test, mn_err *e);

/* The data's class names joined with ',' for a model file's "class_names"
 * metadata (malloc'd), or NULL when it has none. */
char *cli_names_join(const mn_dataset *ds);

/* Splits a model's "class_names" metadata into n strings (*names, freed
 * with cli_names_free), when it has exactly n of them; otherwise *names is
 * NULL. */
void cli_names_of_model(const char *meta, int n, char ***names);
void cli_names_free(char **names, int n);

#endif
