#!/usr/bin/env bash
# mnist serve's page in headless Chromium (scripts/page_test.js, playwright-
# core): draw a 1 and a 7 with the mouse, read the page's top guess, take
# screenshots (left in WORK_DIR). With real MNIST ($MNIST_DATA, data/mnist or
# ../shared/data/mnist beside the checkout) a model trained for one epoch must read them as 1 and 7;
# otherwise only that the page answers. Skips, saying why, without chromium,
# node or playwright-core (looked for on NODE_PATH, in <build>/pw and in
# npm's global root; `npm install playwright-core` in <build>/pw).
# Usage: serve_page.sh MNIST SOURCE_DIR WORK_DIR GEN_SYNTHETIC
set -u
MNIST=$1 SRC=$2 WORK=$3 GEN=$4
# shellcheck source=SCRIPTDIR/tools/lib.sh
. "$SRC/tests/tools/lib.sh" || exit 1
REAL_DATA=${MNIST_DATA:-}
work_dir
BUILD=$(cd "$(dirname "$GEN")" && pwd)
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
[ -n "$CHROMIUM" ] || { echo "SKIP: no chromium (apt-get install chromium)"; exit 77; }
command -v node >/dev/null || { echo "SKIP: no node"; exit 77; }
NODE_PATH="${NODE_PATH:+$NODE_PATH:}$BUILD/pw/node_modules:$(npm root -g 2>/dev/null || true)"
export NODE_PATH
node -e "require.resolve('playwright-core')" 2>/dev/null ||
  { echo "SKIP: no playwright-core for node (cd $BUILD/pw && npm install playwright-core)"; exit 77; }

real=
# a sanitizer build trains an epoch of real MNIST 20x slower (CI leaves real_mnist out there): synthetic
if grep -qa __asan_init "$MNIST"; then echo "note: a sanitizer build: a synthetic model, guesses not checked"; REAL_DATA=- SRC_REAL=; else SRC_REAL=1; fi
for d in "$REAL_DATA" ${SRC_REAL:+"$SRC/data/mnist" "$SRC/../shared/data/mnist"}; do
  [ "$d" = - ] && break
  if [ -n "$d" ] && ls "$d"/train-images* >/dev/null 2>&1; then real=$d; break; fi
done
if [ -n "$real" ]; then
  expect 0 "$MNIST" train --epochs 1 --data "$real" --output m.bin --verbose 0
else
  echo "note: no real MNIST (MNIST_DATA, data/mnist, ../shared/data/mnist); a synthetic model, so the guesses are not checked"
  gen_data "$WORK/data" 2000 100 3
  expect 0 "$MNIST" train --epochs 1 --data data --output m.bin --verbose 0
fi

"$MNIST" serve m.bin --port 0 --threads 1 >server.out 2>server.err &
SERVER=$!
trap 'kill -9 $SERVER 2>/dev/null' EXIT
PORT=
for _ in $(seq 100); do
  PORT=$(sed -n 's|.* on http://127\.0\.0\.1:\([0-9]*\)/ .*|\1|p' server.out)
  [ -n "$PORT" ] && break
  sleep 0.1
done
[ -n "$PORT" ] || { bad "server did not start: $(cat server.err)"; finish serve_page; exit 1; }

timeout 120 node "$SRC/scripts/page_test.js" "http://127.0.0.1:$PORT/" "$WORK/page" "$CHROMIUM" >result.json 2>page.err
rc=$?
cat result.json page.err
check "the page test ran (exit $rc)" test $rc = 0
check "screenshots taken" test -s "$WORK/page-1.png" -a -s "$WORK/page-7.png"
check "no page errors" grep -q '"errors":\[\]' result.json
check "clear empties the guess" grep -q '"blank_after_clear":true' result.json
check "top 3 shown" grep -qE '"top3_one":"[0-9][0-9.]+%.*\|.*\|' result.json
if [ -n "$real" ]; then
  check "a drawn 1 reads as 1" grep -q '"one":"1"' result.json
  check "a drawn 7 reads as 7" grep -q '"seven":"7"' result.json
fi
kill -TERM $SERVER; wait $SERVER
check "server exits 0 on SIGTERM" test $? = 0
trap - EXIT
finish serve_page
