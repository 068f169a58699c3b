#!/usr/bin/env bash
# End-to-end tests of the generative commands (autoencode, gan, generate) on a
# small synthetic data set: they train, draw and save; the same seed gives
# the same file at 1 and 2 threads; bad flags and wrong model files are
# refused in one line. Usage: generative.sh MNIST SOURCE_DIR WORK_DIR GEN_SYNTHETIC
set -u
MNIST=$1 SRC=$2 WORK=$3 GEN=$4
# shellcheck source=SCRIPTDIR/tools/lib.sh
. "$SRC/tests/tools/lib.sh" || exit 1
work_dir
gen_data data 512 128 5

is_png() { [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ]; }

# --- usage --------------------------------------------------------------
for cmd in autoencode gan generate; do
  expect 0 "$MNIST" $cmd --help;  check "$cmd --help" grep -q "Usage: mnist $cmd" out.txt
done
expect 2 "$MNIST" autoencode --bogus
expect 2 "$MNIST" autoencode --grid g.png                    # a 2-D latent picture without a 2-D VAE
expect 2 "$MNIST" autoencode --arch "dense:8"                # not ENCODER/DECODER
expect 2 "$MNIST" autoencode --arch "dense:8/dense:10" --latent 8 --data data   # the decoder must give 784 values
check "decoder size error" grep -q "784" err.txt
expect 2 "$MNIST" gan --arch "dense:10/dense:1" --data data  # the generator must give 784 values
expect 2 "$MNIST" gan --smooth 0.2
expect 2 "$MNIST" generate
expect 2 "$MNIST" generate nowhere.bin                       # no --png

# --- autoencoder: trains, the test loss falls, pictures, same bits ------
expect 0 "$MNIST" autoencode --epochs 3 --batch-size 32 --data data --png ae.png --output ae.bin
check "autoencode reports val_loss" grep -q "val_loss" out.txt
first=$(grep -o 'val_loss: [0-9.]*' out.txt | head -1 | cut -d' ' -f2)
last=$(grep -o 'val_loss: [0-9.]*' out.txt | tail -1 | cut -d' ' -f2)
check "test reconstruction loss falls ($first -> $last)" awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < a) }'
check "reconstructions drawn" is_png ae.png
OMP_NUM_THREADS=1 "$MNIST" autoencode --epochs 1 --batch-size 32 --noise 0.3 --data data --output t1.bin >/dev/null 2>&1
OMP_NUM_THREADS=2 "$MNIST" autoencode --epochs 1 --batch-size 32 --noise 0.3 --data data --output t2.bin >/dev/null 2>&1
check "denoising autoencoder: same file at 1 and 2 threads" cmp -s t1.bin t2.bin
expect 1 "$MNIST" generate ae.bin --png x.png                # a plain autoencoder does not sample
check "generate refuses a plain autoencoder in one line" one_line_err

# --- VAE: latent pictures, then sampling ---------------------------------
expect 0 "$MNIST" autoencode --arch vae --epochs 1 --batch-size 64 --data data --grid grid.png --scatter sc.png --output vae.bin
check "VAE reports its KL term" grep -q "val_kl" out.txt
check "latent grid drawn" is_png grid.png
check "latent scatter drawn" is_png sc.png
expect 0 "$MNIST" generate vae.bin --png v.png --count 12 --seed 4
check "VAE samples drawn" is_png v.png
expect 2 "$MNIST" generate vae.bin --png v.png --digit 3     # not conditional

# --- conditional GAN -------------------------------------------------------
expect 0 "$MNIST" gan --conditional --epochs 1 --batch-size 32 --data data --png s.png --output gan.bin
check "gan reports both losses" grep -q "d_loss: .* g_loss: " out.txt
check "samples drawn" is_png s.png
expect 0 "$MNIST" generate gan.bin --png g.png --digit 3 --count 5
check "generate draws 5" grep -q "(5 digits)" out.txt
expect 0 "$MNIST" generate gan.bin --png g.png
check "generate: a row per class" grep -q "(100 digits)" out.txt
expect 2 "$MNIST" generate gan.bin --png g.png --digit 10
"$MNIST" generate gan.bin --png a.png --seed 9 >/dev/null && "$MNIST" generate gan.bin --png b.png --seed 9 >/dev/null
check "generate: same seed, same picture" cmp -s a.png b.png
OMP_NUM_THREADS=1 "$MNIST" gan --epochs 1 --batch-size 32 --data data --arch dcgan --output d1.bin >/dev/null 2>&1
OMP_NUM_THREADS=2 "$MNIST" gan --epochs 1 --batch-size 32 --data data --arch dcgan --output d2.bin >/dev/null 2>&1
check "dcgan: same file at 1 and 2 threads" cmp -s d1.bin d2.bin

# a classifier is no generator
expect 0 "$MNIST" train --epochs 1 --data data --output clf.bin
expect 1 "$MNIST" generate clf.bin --png x.png
check "generate refuses a classifier in one line" one_line_err
# the score that needs no human: a classifier's verdict on the samples
expect 0 "$MNIST" generate gan.bin --png g.png --classify clf.bin
check "conditional GAN samples scored" grep -q "of 100 (.*) in the class asked for" out.txt
expect 0 "$MNIST" generate vae.bin --png g.png --count 50 --classify clf.bin --data data
check "VAE samples scored by nearest class centre" grep -q "of 50 (.*) in the class asked for" out.txt
expect 1 "$MNIST" generate gan.bin --png g.png --classify vae.bin
check "a VAE is not a classifier, in one line" one_line_err
finish generative
