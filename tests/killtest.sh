#!/usr/bin/env bash
# Short crash-consistency test (10 rounds, ~7 s): SIGKILL `mnist train
# --checkpoint` at random moments; the checkpoint left must always load and
# resume. The full run is scripts/kill_test.sh 200.
# Usage: killtest.sh MNIST SOURCE_DIR WORK_DIR GEN_SYNTHETIC
set -u
MNIST=$1 SRC=$2 WORK=$3 GEN=$4
rm -rf "$WORK" && mkdir -p "$WORK" || exit 1
KILL_WORK=$WORK KILL_SEED=${KILL_SEED:-12345} bash "$SRC/scripts/kill_test.sh" 10 "$MNIST" "$GEN"
