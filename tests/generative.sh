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
check "autoencode: Keras's epoch lines" grep -qE '^Epoch 3/3$' out.txt
check "autoencode: Keras's progress" grep -qE '^16/16 \[=+\] - [0-9]+s [0-9]+(s|ms|us)/step - loss: .* - val_loss: ' out.txt
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
check "the VAE file records its epochs" sh -c 'head -c 4096 vae.bin | grep -aq "\"epochs\":\"1\""'
expect 2 "$MNIST" generate vae.bin --png v.png --digit 3     # not conditional

# --- conditional GAN -------------------------------------------------------
expect 0 "$MNIST" gan --conditional --epochs 1 --batch-size 32 --data data --png s.png --output gan.bin
check "gan reports both losses" grep -q "d_loss: .* g_loss: " out.txt
check "gan: Keras's epoch lines" grep -qE '^16/16 \[=+\] - [0-9]+s [0-9]+(s|ms|us)/step - d_loss: ' out.txt
check "samples drawn" is_png s.png
check "the gan file records its epochs and recipe" sh -c 'head -c 4096 gan.bin | grep -aq "\"epochs\":\"1\"" && head -c 4096 gan.bin | grep -aq "\"recipe.arch\":\"dense\""'
expect 0 "$MNIST" generate gan.bin --png g.png --digit 3 --count 5
check "generate draws 5" grep -q "(5 digits)" out.txt
expect 0 "$MNIST" generate gan.bin --png g.png
check "generate: a row per class" grep -q "(100 digits)" out.txt
# PNG width is bytes 16-19 of the file (IHDR): 10 per row at 28 px + 2 px gaps, whether
# the grid is a row per class (10 each) or, with 100 per class, ten rows of --cols' 10
png_w() { od -An -tu1 -j16 -N4 "$1" | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4 }'; }
w10=$(png_w g.png)
expect 0 "$MNIST" generate gan.bin --png g100.png --count 100
check "generate --count 100 per class: 1000 digits" grep -q "(1000 digits)" out.txt
check "generate --count 100 per class: rows of 10, not 100 ($w10 vs $(png_w g100.png))" test "$(png_w g100.png)" = "$w10"
expect 0 "$MNIST" generate gan.bin --png g5.png --count 100 --cols 5
check "generate: --cols wins ($(png_w g5.png) < $w10)" test "$(png_w g5.png)" -lt "$w10"
expect 2 "$MNIST" generate gan.bin --png g.png --digit 10
"$MNIST" generate gan.bin --png a.png --seed 9 >/dev/null && "$MNIST" generate gan.bin --png b.png --seed 9 >/dev/null
check "generate: same seed, same picture" cmp -s a.png b.png
OMP_NUM_THREADS=1 "$MNIST" gan --epochs 1 --batch-size 32 --data data --arch dcgan --output d1.bin >/dev/null 2>&1
OMP_NUM_THREADS=2 "$MNIST" gan --epochs 1 --batch-size 32 --data data --arch dcgan --output d2.bin >/dev/null 2>&1
check "dcgan: same file at 1 and 2 threads" cmp -s d1.bin d2.bin


# --- checkpoints: 2 epochs straight = 1 epoch, then --resume up to 2 -------
mkdir -p small && gen_data small 128 64 7
# (a small GAN with dropout: the discriminator's dropout generator is restored too)
for spec in "gan --arch dense:128,leakyrelu:0.2,dense:784,tanh/dense:128,leakyrelu:0.2,dropout:0.3,dense:1 --conditional --smooth 0.9" \
            "autoencode --noise 0.3" "autoencode --arch vae"; do
  cmd=${spec%% *}
  rm -f ck.bin straight.bin resumed.bin
  OMP_NUM_THREADS=2 "$MNIST" $spec --batch-size 32 --epochs 2 --data small --output straight.bin >/dev/null 2>&1
  expect 0 env OMP_NUM_THREADS=2 "$MNIST" $spec --batch-size 32 --epochs 1 --data small --checkpoint ck.bin --output one.bin
  check "${spec:0:40}: checkpoint written" test -s ck.bin
  expect 0 env OMP_NUM_THREADS=1 "$MNIST" $cmd --resume ck.bin --epochs 2 --data small --output resumed.bin
  check "${spec:0:40}: resumed run says so" grep -q "resuming ck.bin after epoch 1" out.txt
  check "${spec:0:40}: 1 epoch + resume 1 (at 1 thread) = 2 epochs straight (at 2)" cmp -s straight.bin resumed.bin
done
expect 0 "$MNIST" generate ck.bin --png ckv.png --count 4          # a checkpoint is a model file too
expect 2 "$MNIST" autoencode --resume ck.bin --latent 4             # the recipe is the checkpoint's
expect 2 "$MNIST" gan --resume ck.bin --lr 0.1
expect 1 "$MNIST" gan --resume ck.bin --data small                  # a VAE's checkpoint
check "gan refuses an autoencoder's checkpoint in one line" one_line_err
expect 1 "$MNIST" autoencode --resume vae.bin --data small          # a model file, not a checkpoint
check "a model file is no checkpoint, in one line" one_line_err
expect 1 "$MNIST" autoencode --resume nowhere.ck --data small
check "a missing checkpoint, in one line" one_line_err
expect 1 "$MNIST" gan --checkpoint nodir/ck.bin --data small --epochs 1 --batch-size 32
check "an unwritable --checkpoint fails before training" bash -c '! grep -q "^Epoch" out.txt'
expect 2 "$MNIST" gan --threads 0
expect 0 "$MNIST" autoencode --threads 1 --epochs 1 --batch-size 32 --data small --noise 0.3 --output th.bin
OMP_NUM_THREADS=2 "$MNIST" autoencode --epochs 1 --batch-size 32 --data small --noise 0.3 --output th2.bin >/dev/null 2>&1
check "autoencode --threads 1 = 2 threads" cmp -s th.bin th2.bin

# --- Ctrl-C: finishes the step, saves the checkpoint, exits 130; resuming
# gives the bytes of a run that never stopped (wherever the signal landed) --
rm -f int.ck int.bin int.out
"$MNIST" gan --data data --epochs 1000 --batch-size 32 --checkpoint int.ck --output int.bin >int.out 2>int.err &
pid=$!
# the handler is on once an epoch line is out; wait for the second epoch so a checkpoint exists either way
for _ in $(seq 1 600); do grep -q "^Epoch 2/" int.out 2>/dev/null && break; sleep 0.1; done
kill -INT $pid
wait $pid
code=$?
check "gan: SIGINT exits 130 (got $code)" test $code -eq 130
check "gan: SIGINT says where" grep -qE "interrupted (at|after) epoch [0-9]+.*checkpoint saved to int.ck" int.err
check "gan: no model after SIGINT" test ! -e int.bin
# finish the epoch it stopped in (or the next, when it stopped between two)
upto=$(sed -n 's/.*interrupted at epoch \([0-9]*\), step.*/\1/p; s/.*interrupted after epoch \([0-9]*\);.*/+\1/p' int.err)
case $upto in +*) upto=$((${upto#+} + 1)) ;; esac
expect 0 "$MNIST" gan --resume int.ck --epochs "$upto" --data data --output int.bin
"$MNIST" gan --epochs "$upto" --batch-size 32 --data data --output int2.bin >/dev/null 2>&1
check "gan: interrupted at epoch $upto and resumed = straight run" cmp -s int.bin int2.bin

# --- divergence and collapse: reported in one line, no model written -------
rm -f div.bin
expect 1 "$MNIST" autoencode --arch vae --lr 10 --epochs 2 --batch-size 32 --data small --output div.bin
check "autoencode divergence: one line" one_line_err
check "autoencode divergence: says where" grep -q "diverged at epoch 1, step" err.txt
expect 1 "$MNIST" gan --lr 10 --epochs 2 --batch-size 32 --data small --output div.bin
check "gan divergence: one line" one_line_err
check "gan divergence: says where" grep -q "diverged at epoch 1, step" err.txt
expect 1 "$MNIST" gan --lr 0.01 --epochs 3 --batch-size 32 --data data --output div.bin
check "gan collapse: one line" one_line_err
check "gan collapse: reported" grep -q "gan collapsed at epoch 2" err.txt
check "no model after divergence or collapse" test ! -e div.bin

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
