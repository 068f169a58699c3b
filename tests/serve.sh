#!/usr/bin/env bash
# mnist serve (issue 22 part 3): the TF Serving and KServe v2 APIs, a batch of
# 100 test images against `mnist predict`, every error path, hostile bytes
# (tests/tools/serve_check.py, python3's http.client and raw sockets), curl
# with Expect: 100-continue when curl is here, a short keep-alive load run
# (scripts/serve_load.c, 0 errors wanted), SIGTERM finishing the request in
# flight and exiting 0. The server listens on 127.0.0.1 on a free port (it
# prints the port) and is always killed at the end.
# Usage: serve.sh MNIST SOURCE_DIR WORK_DIR GEN_SYNTHETIC
set -u
MNIST=$1 SRC=$2 WORK=$3 GEN=$4
# shellcheck source=SCRIPTDIR/tools/lib.sh
. "$SRC/tests/tools/lib.sh" || exit 1
work_dir
if ! command -v python3 >/dev/null; then echo "SKIP: serve.sh needs python3 (http.client) to build requests and check answers"; exit 77; fi
LOAD=$(dirname "$GEN")/serve_load

gen_data "$WORK/data" 3000 100 7
expect 0 "$MNIST" train --epochs 1 --data data --output m.bin --verbose 0
idx=(); for i in $(seq 0 99); do idx+=(--index "$i"); done
expect 0 "$MNIST" predict m.bin --data data "${idx[@]}"
cp out.txt predict.txt

# --- usage -------------------------------------------------------------------
expect 2 "$MNIST" serve
expect 2 "$MNIST" serve m.bin --port 70000
expect 2 "$MNIST" serve m.bin --bogus
expect 0 "$MNIST" serve --help; check "serve --help lists the endpoints" grep -q "/v2/models/mnist/infer" out.txt
expect 1 "$MNIST" serve nowhere.bin --port 0
check "missing model: one line naming it" bash -c "one_line_err() { [ \$(wc -l <err.txt) -eq 1 ] && grep -q '^mnist: nowhere.bin' err.txt; }; one_line_err"

SERVER=
cleanup() { [ -n "$SERVER" ] && kill -9 "$SERVER" 2>/dev/null; }
trap cleanup EXIT

# start_server ARGS... : runs mnist serve in the background, sets SERVER and PORT
start_server() {
  : >server.out
  "$MNIST" serve "$@" --port 0 >server.out 2>server.err &
  SERVER=$!
  PORT=
  for _ in $(seq 100); do
    PORT=$(sed -n 's|.* on http://127\.0\.0\.1:\([0-9]*\)/ .*|\1|p' server.out)
    [ -n "$PORT" ] && return 0
    kill -0 "$SERVER" 2>/dev/null || break
    sleep 0.1
  done
  bad "server did not start: $(cat server.err)"; finish serve; exit 1
}

start_server m.bin --threads 2 --max-instances 200 --max-body 2000000 --timeout 1500 --verbose
check "listens on 127.0.0.1 by default" grep -q "on http://127.0.0.1:" server.out

if command -v curl >/dev/null; then
  U=http://127.0.0.1:$PORT
  check "curl: GET /v2/health/ready" bash -c "curl -sf --max-time 10 $U/v2/health/ready | grep -q ready"
  python3 -c "import json; print(json.dumps({'instances': [[0.0] * 784] * 50}))" >big.json
  curl -s --max-time 10 -o curl.json -w '%{http_code}' -H 'Content-Type: application/json' --data-binary @big.json \
    "$U/v1/models/mnist:predict" >code.txt
  check "curl: a 50-image body (Expect: 100-continue) gets 200" grep -qx 200 code.txt
  check "curl: 50 predictions" python3 -c "import json; assert len(json.load(open('curl.json'))['predictions']) == 50"
  curl -s --max-time 10 -o /dev/null -w '%{http_code}' --path-as-is "$U/../../etc/passwd" >code.txt
  check "curl: path traversal is 404" grep -qx 404 code.txt
else
  echo "note: no curl; the checks below use python3's http.client only"
fi

# a short load run: 32 keep-alive connections, 0 errors
if [ -x "$LOAD" ]; then
  python3 - <<PY >one.json
import json
d = open("data/t10k-images-idx3-ubyte", "rb").read()
print(json.dumps({"instances": [[b / 255 for b in d[16:16 + 784]]]}))
PY
  expect 0 timeout 100 "$LOAD" -p "$PORT" -c 32 -n 2000 -b one.json -t 90
  cat out.txt
  check "load: 2000 requests, 0 errors" grep -q "requests 2000/2000  errors 0 " out.txt
fi

timeout 120 python3 "$SRC/tests/tools/serve_check.py" "$PORT" data predict.txt "$SERVER" >check.txt 2>&1
rc=$?
cat check.txt
pass=$((pass + $(grep -c '^ok:' check.txt)))
fail=$((fail + $(grep -c '^FAIL:' check.txt)))
[ $rc -eq 0 ] || grep -q '^FAIL:' check.txt || bad "serve_check.py failed ($rc)"

# SIGTERM (sent by serve_check.py): exit 0, quickly
code=
for _ in $(seq 50); do kill -0 "$SERVER" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$SERVER" 2>/dev/null; then bad "server still running 5 s after SIGTERM"; else wait "$SERVER"; code=$?; fi
check "SIGTERM: exit 0 (got $code)" test "$code" = 0
SERVER=
check "--verbose: a log line per request" grep -qE '^127\.0\.0\.1:[0-9]+ "POST /v1/models/mnist:predict" 200 [0-9]+ [0-9.]+ms$' server.err
check "no core, no crash message" bash -c "! grep -qi 'sanitizer\|segmentation' server.err"

# SIGINT on an idle server: exit 0
start_server m.bin --threads 1
kill -INT "$SERVER"
for _ in $(seq 50); do kill -0 "$SERVER" 2>/dev/null || break; sleep 0.1; done
code=
if kill -0 "$SERVER" 2>/dev/null; then bad "server still running 5 s after SIGINT"; else wait "$SERVER"; code=$?; fi
check "SIGINT: exit 0 (got $code)" test "$code" = 0
SERVER=
finish serve
