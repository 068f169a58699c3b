/* gen_common.h - what `mnist autoencode` and `mnist gan` share: the flags
 * they have in common, checkpoints of a pair of networks with their
 * optimizers, Ctrl-C, and Keras-style progress lines.
 *
 * A checkpoint is a model-pair file (mn_models_save: both networks under
 * their prefixes, so `mnist generate` reads it as it reads the final file)
 * plus each optimizer's moments ("opt.<prefix>.m", "opt.<prefix>.v"), any
 * extra tensors the command keeps (the GAN's fixed noise batch), and in the
 * metadata the optimizers' step counts, the networks' dropout generators,
 * where the run is (epochs done, steps done in the current one, the
 * epoch's running sums), the shuffle and noise generators, and the recipe
 * ("recipe.<flag>": the flags that decide the training, read back by
 * --resume). Saved at a step boundary, it resumes to the same bytes as a
 * run that never stopped. */
#ifndef MNIST_CLI_GEN_COMMON_H
#define MNIST_CLI_GEN_COMMON_H

#include <signal.h>
#include <stdint.h>

#include "mnist/error.h"
#include "mnist/model.h"
#include "mnist/optim.h"
#include "mnist/rng.h"
#include "mnist/safetensors.h"

/* ---- the shared flags ----------------------------------------------------- */

typedef struct {
    const char *cmd; /* "autoencode" or "gan": named in error messages */
    const char *data, *output, *png, *checkpoint, *resume;
    long epochs, batch, threads; /* threads 0: auto */
    double lr;
    uint64_t seed;
    int epochs_set;
    int recipe_set; /* a flag that decides the training was given (the command sets it for its own) */
} gen_opts;

/* If argv[*i] is one of the shared flags, takes it (and its value, moving
 * *i on) and returns 1; returns 0 for any other argument, -1 after printing
 * a usage error. */
int gen_opt(gen_opts *o, int argc, char **argv, int *i);
/* The shared flags' lines of --help, defaults from d; lr_what and png_what
 * describe --lr and --png for this command. */
void gen_help(FILE *f, const gen_opts *d, const char *lr_what, const char *png_what);
/* After parsing: --resume with a recipe flag is a usage error (the
 * checkpoint's recipe is the run's). Returns 0 or EXIT_USAGE. */
int gen_opts_check(const gen_opts *o);
/* Applies --threads; probes --output and --checkpoint for writability so a
 * long run fails before it starts. Returns 0 or 1 (message printed). */
int gen_prepare(const gen_opts *o);

/* ---- recipe round trip ---------------------------------------------------- */

/* The recipe a checkpoint holds, as argv for the command's own parser:
 * args[0] = cmd, then "--NAME" VALUE for every "recipe.NAME" pair, or just
 * "--NAME" for a boolean flag (one of bools) whose value is "1" (nothing
 * when "0"); NAME must be one of flags or bools (a checkpoint cannot pass
 * --help or any flag outside the recipe). The checkpoint's "kind" must be one of kinds. The strings live
 * in *file until mn_st_free(file); *n gets the count. Returns 0, or -1
 * with e set (and *file freed). */
int gen_recipe_read(const char *path, const char *cmd, const char *const *kinds, int n_kinds,
                    const char *const *flags, int n_flags, const char *const *bools, int n_bools,
                    mn_safetensors *file, char **args, int max_args, int *n,
                    mn_err *e);

/* A command's parser: argv into *args (from its defaults when init, else
 * on top of what args holds); 0, or -1 after a usage error. */
typedef int gen_parse_fn(int argc, char **argv, void *args, int init);
/* Parses the command line with parse; with --resume, the checkpoint's
 * recipe first (gen_recipe_read into *file, which the caller frees with
 * mn_st_free after the run: the strings point into it) and the command
 * line on top, refusing recipe flags with --resume. g is the gen_opts
 * inside args. Returns 0, EXIT_USAGE or 1 (a file error, printed). */
int gen_parse(int argc, char **argv, void *args, gen_opts *g, gen_parse_fn *parse, const char *const *kinds,
              int n_kinds, const char *const *flags, int n_flags, const char *const *bools, int n_bools,
              mn_safetensors *file);

/* ---- where a run is -------------------------------------------------------- */

typedef struct {
    int epoch;      /* epochs completed */
    long step;      /* steps done in the current epoch (0 at a boundary) */
    mn_rng shuffle; /* state before the current epoch's shuffle of 0..n-1 */
    mn_rng draw;    /* the noise of training steps */
    double sums[4]; /* the current epoch's running sums (the command's meaning) */
    long count;     /* and what they are sums over */
} gen_state;

/* This epoch's order: 0..n-1 shuffled by a copy of st->shuffle; the copy,
 * the next epoch's generator, goes to *next. */
void gen_epoch_order(const gen_state *st, int *order, int n, mn_rng *next);

typedef struct {
    const char *prefix; /* MN_AE_ENCODER, ... */
    mn_model *m;
    mn_optim *o;
} gen_part;

/* Writes the checkpoint (atomically, or in place for a device or FIFO):
 * the two parts, the state, extra tensors (names outside the parts'
 * prefixes and "opt."), and metadata pairs (kind, recipe.*, ...). */
int gen_checkpoint_save(const char *path, const gen_part *parts, int n_parts, const gen_state *st,
                        const mn_st_tensor *extra, int n_extra, const char *const *keys, const char *const *vals,
                        int n_meta, mn_err *e);
/* Loads a checkpoint into parts already built and allocated from its
 * recipe; extra[i] (name, shape and data set by the caller) are filled from
 * the file's tensors of the same name and shape. Returns 0 or -1 with e. */
int gen_checkpoint_load(const char *path, const gen_part *parts, int n_parts, gen_state *st, mn_st_tensor *extra,
                        int n_extra, mn_err *e);

/* ---- Ctrl-C -------------------------------------------------------------- */

extern volatile sig_atomic_t gen_interrupted;
/* Installs the handler (a second Ctrl-C ends the process at once) / removes it. */
void gen_sigint_on(void);
void gen_sigint_off(void);
/* After a Ctrl-C: saves the checkpoint with save(user) if o->checkpoint,
 * prints where the run stopped and what was kept; returns 130 (as train). */
int gen_interrupted_exit(const gen_opts *o, const gen_state *st, long steps, int (*save)(void *user, mn_err *e),
                         void *user);

/* ---- progress ------------------------------------------------------------ */

/* Keras's lines, as `mnist train` prints them: "Epoch 3/5", then at the
 * end of the epoch "S/S [====...] - 2s 1ms/step - name: value - ...";
 * while it runs, a live bar on stderr when that is a terminal. */
typedef struct {
    int live;
    double t0, last;
} gen_progress;

void gen_progress_epoch(gen_progress *p, int epoch, long epochs);
/* After step `step` of `steps`; text is the running metrics (" - loss: 0.1"). */
void gen_progress_step(gen_progress *p, long step, long steps, const char *text);
/* The epoch's line: the head; the caller prints the metrics and the newline. */
void gen_progress_done(gen_progress *p, long steps);

#endif
