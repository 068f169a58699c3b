"""serve_check.py - the API checks of tests/serve.sh against a running
`mnist serve` (python3's standard library only: http.client and sockets).

    serve_check.py PORT DATA_DIR PREDICT_TXT SERVER_PID

PREDICT_TXT is `mnist predict MODEL --index 0 ... --index 99` output, the
reference for the batch of 100 test images. Prints "ok: ..." / "FAIL: ..."
lines; exits 1 if anything failed."""
import gzip
import http.client
import json
import os
import re
import socket
import sys
import time

port, data_dir, predict_txt = int(sys.argv[1]), sys.argv[2], sys.argv[3]
HOST = "127.0.0.1"  # loopback only
failed = 0


def check(what, cond, detail=""):
    global failed
    if cond:
        print("ok:", what)
    else:
        failed += 1
        print("FAIL:", what, detail)


def read_idx(name):
    for fn in (name, name + ".gz"):
        p = os.path.join(data_dir, fn)
        if os.path.exists(p):
            raw = open(p, "rb").read()
            return gzip.decompress(raw) if fn.endswith(".gz") else raw
    raise SystemExit("no " + name)


imgs = read_idx("t10k-images-idx3-ubyte")
n_img = int.from_bytes(imgs[4:8], "big")
images = [imgs[16 + 784 * i:16 + 784 * (i + 1)] for i in range(min(100, n_img))]

ref = {}
for line in open(predict_txt):
    m = re.match(r"t10k\[(\d+)\]: (\d) \(([\d.]+)%\)", line)
    if m:
        ref[int(m.group(1))] = (int(m.group(2)), float(m.group(3)))
check("reference has 100 predictions", len(ref) == 100, str(len(ref)))

conn = http.client.HTTPConnection(HOST, port, timeout=10)


def req(method, path, body=None, ctype="application/json", headers=None):
    h = dict(headers or {})
    if body is not None and ctype:
        h["Content-Type"] = ctype
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
    conn.request(method, path, body=body, headers=h)
    r = conn.getresponse()
    data = r.read()
    try:
        j = json.loads(data)
    except ValueError:
        j = None
    return r.status, j, data


# --- status, metadata, health -------------------------------------------------
st, j, _ = req("GET", "/v1/models/mnist")
check("GET /v1/models/mnist", st == 200 and j["model_version_status"][0]["state"] == "AVAILABLE", str(j))
st, j, _ = req("GET", "/v1/models/mnist/metadata")
check("GET metadata", st == 200 and "signature_def" in j["metadata"], str(j))
st, j, _ = req("GET", "/v2/health/ready")
check("GET /v2/health/ready", st == 200 and j == {"ready": True}, str(j))
st, j, _ = req("GET", "/v2/models/mnist")
check("GET /v2/models/mnist", st == 200 and j["inputs"][0]["shape"] == [-1, 28, 28], str(j))
st, _, page = req("GET", "/")
check("GET / is the page", st == 200 and b"<canvas" in page and b"<script>" in page and b"src=" not in page)

# --- a batch of 100: TF (28x28), TF inputs (784), v2 FP32, v2 UINT8 ------------
def nested(img):
    return [[img[r * 28 + c] / 255 for c in range(28)] for r in range(28)]


def top(p):
    return max(range(10), key=lambda k: p[k])


def agree(name, preds):
    bad = [i for i in range(100) if top(preds[i]) != ref[i][0] or abs(100 * max(preds[i]) - ref[i][1]) > 0.051]
    check(name + ": 100 predictions equal mnist predict's", len(preds) == 100 and not bad, "differ at %s" % bad[:5])


st, j, _ = req("POST", "/v1/models/mnist:predict", {"instances": [nested(im) for im in images]})
check("TF predict 100: 200", st == 200, str(j)[:200])
tf = j["predictions"] if st == 200 else []
if st == 200:
    agree("TF instances 28x28", tf)
    check("TF: each row sums to 1", all(abs(sum(p) - 1) < 1e-4 for p in tf))
st, j, _ = req("POST", "/v1/models/mnist:predict", {"inputs": [[b / 255 for b in im] for im in images]})
check("TF inputs 784: same as instances", st == 200 and j["predictions"] == tf)
body = {"inputs": [{"name": "input", "shape": [100, 784], "datatype": "FP32",
                    "data": [b / 255 for im in images for b in im]}]}
st, j, _ = req("POST", "/v2/models/mnist/infer", body)
ok = st == 200 and j["outputs"][0]["shape"] == [100, 10]
check("v2 FP32 100: 200, shape [100, 10]", ok, str(j)[:200])
if ok:
    d = j["outputs"][0]["data"]
    check("v2 FP32: same as TF", [d[10 * i:10 * i + 10] for i in range(100)] == tf)
body = {"inputs": [{"name": "input", "shape": [100, 28, 28], "datatype": "UINT8", "data": [list(im) for im in images]}]}
st, j, _ = req("POST", "/v2/models/mnist/infer", body)
check("v2 UINT8 [100, 28, 28]: 200", st == 200, str(j)[:200])
if st == 200:  # bytes are scaled as training scales them (float 1/255), as mnist predict does
    d = j["outputs"][0]["data"]
    agree("v2 UINT8", [d[10 * i:10 * i + 10] for i in range(100)])

# --- the page's endpoint: a drawn 1 ---------------------------------------------
W = 60
grey = [255] * (W * W)
for y in range(8, 52):
    for x in range(27, 33):
        grey[y * W + x] = 0
st, j, _ = req("POST", "/draw", {"width": W, "height": W, "data": grey})
ok = st == 200 and len(j["image"]) == 784 and len(j["predictions"][0]) == 10
check("POST /draw: 200, probabilities and the 28x28 image", ok, str(j)[:200])
if ok:  # prepared as MNIST: the bar is light on black, 20 high, centred
    im = j["image"]
    rows = [r for r in range(28) if any(im[r * 28 + c] for c in range(28))]
    mass = sum(im)
    cy = sum(im[k] * (k // 28) for k in range(784)) / mass
    cx = sum(im[k] * (k % 28) for k in range(784)) / mass
    check("POST /draw: the image is MNIST-style (20 rows of ink, centred: %.1f, %.1f)" % (cy, cx),
          len(rows) == 20 and abs(cy - 14) <= 1 and abs(cx - 14) <= 1 and im[0] == 0)

# --- error paths -------------------------------------------------------------------
def err(name, method, path, body, want, ctype="application/json"):
    st, j, raw = req(method, path, body, ctype)
    check("%s: %d with an error message" % (name, want),
          st == want and isinstance(j, dict) and isinstance(j.get("error"), str) and j["error"], "%s %s" % (st, raw[:200]))


err("unknown path", "GET", "/v1/models/other", None, 404)
err("path traversal", "GET", "/../../../../etc/passwd", None, 404)
err("encoded traversal", "GET", "/%2e%2e/%2e%2e/etc/passwd", None, 404)
err("GET on predict", "GET", "/v1/models/mnist:predict", None, 405)
err("POST on status", "POST", "/v1/models/mnist", "{}", 405)
err("wrong content type", "POST", "/v1/models/mnist:predict", "instances=1", 415, "application/x-www-form-urlencoded")
err("not JSON", "POST", "/v1/models/mnist:predict", "{instances: [", 400)
err("NaN", "POST", "/v1/models/mnist:predict", '{"instances": [[NaN]]}', 400)
err("1e999", "POST", "/v1/models/mnist:predict", '{"instances": [[' + ",".join(["1e999"] * 784) + "]]}", 400)
err("out of [0, 1]", "POST", "/v1/models/mnist:predict", {"instances": [[255] * 784]}, 400)
err("wrong shape 27x28", "POST", "/v1/models/mnist:predict", {"instances": [[[0] * 28] * 27]}, 400)
err("wrong shape 783", "POST", "/v1/models/mnist:predict", {"instances": [[0] * 783]}, 400)
err("ragged", "POST", "/v1/models/mnist:predict", {"instances": [[[0] * 28] * 27 + [[0] * 27]]}, 400)
err("no instances", "POST", "/v1/models/mnist:predict", {"instances": []}, 400)
err("no instances key", "POST", "/v1/models/mnist:predict", {"x": 1}, 400)
err("too many instances", "POST", "/v1/models/mnist:predict", {"instances": [[0] * 784] * 201}, 413)
err("v2 wrong datatype", "POST", "/v2/models/mnist/infer",
    {"inputs": [{"name": "x", "shape": [1, 784], "datatype": "INT64", "data": [0] * 784}]}, 400)
err("v2 data/shape mismatch", "POST", "/v2/models/mnist/infer",
    {"inputs": [{"name": "x", "shape": [2, 784], "datatype": "FP32", "data": [0] * 784}]}, 400)
err("v2 wrong shape", "POST", "/v2/models/mnist/infer",
    {"inputs": [{"name": "x", "shape": [1, 28, 27], "datatype": "FP32", "data": [0] * 756}]}, 400)
err("v2 UINT8 not bytes", "POST", "/v2/models/mnist/infer",
    {"inputs": [{"name": "x", "shape": [1, 784], "datatype": "UINT8", "data": [300] * 784}]}, 400)
st, j, _ = req("GET", "/v1/models/mnist")
check("keep-alive: one connection served all of the above", st == 200 and conn.sock is not None)
conn.close()


# --- raw sockets: hostile bytes -------------------------------------------------------
def raw(data, wait=3.0, shut=False):
    """Sends data, returns (what came back, closed by the server)."""
    s = socket.create_connection((HOST, port), timeout=wait)
    s.sendall(data)
    if shut:
        s.shutdown(socket.SHUT_WR)
    got, closed = b"", False
    t_end = time.time() + wait
    try:
        while time.time() < t_end:
            b = s.recv(65536)
            if not b:
                closed = True
                break
            got += b
    except socket.timeout:
        pass
    except ConnectionResetError:
        closed = True
    s.close()
    return got, closed


def status_of(got):
    m = re.match(rb"HTTP/1\.1 (\d+)", got)
    return int(m.group(1)) if m else None


got, closed = raw(b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
check("oversized header: 431 and closed", status_of(got) == 431 and closed, got[:80])
got, closed = raw(b"POST /v1/models/mnist:predict HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999\r\n\r\n")
check("huge Content-Length: 413 and closed", status_of(got) == 413 and closed, got[:80])
got, closed = raw(b"POST /v1/models/mnist:predict HTTP/1.1\r\nHost: a\r\nContent-Length: 2000001\r\n\r\n")
check("body over --max-body: 413 and closed", status_of(got) == 413 and closed, got[:80])
got, closed = raw(b"POST /v1/models/mnist:predict HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                  b"5\r\n{\"a\":\r\n0\r\n\r\n")
check("chunked: 411 and closed", status_of(got) == 411 and closed, got[:80])
got, closed = raw(b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + os.urandom(64))
check("TLS hello (not HTTP): 400 and closed", status_of(got) == 400 and closed, got[:80])
got, closed = raw(b"\x00\xff\xfe garbage\r\n\r\n")
check("binary garbage: 400 and closed", status_of(got) == 400 and closed, got[:80])
got, closed = raw(b"GET / HTTP/3.0\r\nHost: a\r\n\r\n")
check("HTTP/3.0 request line: 505", status_of(got) == 505, got[:80])
t0 = time.time()
got, closed = raw(b"POST /v1/models/mnist:predict HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n{\"inst", wait=6)
check("body cut short: no answer, dropped after the read timeout (%.1f s)" % (time.time() - t0),
      got == b"" and closed and time.time() - t0 < 5)
got, closed = raw(b"POST /v1/models/mnist:predict HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n{\"i", shut=True)
check("body cut short by EOF: closed without an answer", got == b"" and closed, got[:80])
t0 = time.time()
got, closed = raw(b"GET /v1/models/mni", wait=6)
check("slow client (half a request line): dropped (%.1f s)" % (time.time() - t0), closed and time.time() - t0 < 5)
got, closed = raw(b"GET /v1/models/mnist HTTP/1.1\r\nHost: a\r\n\r\nGET /v2/health/ready HTTP/1.1\r\nHost: a\r\n"
                  b"Connection: close\r\n\r\n")
check("pipelined: two answers, then closed", got.count(b"HTTP/1.1 200 OK") == 2 and closed, got[:200])
got, closed = raw(b"GET /../../etc/passwd HTTP/1.0\r\n\r\n")
check("HTTP/1.0 traversal: 404, no file content, closed", status_of(got) == 404 and b"root:" not in got and closed)

# --- still serving --------------------------------------------------------------------
c2 = http.client.HTTPConnection(HOST, port, timeout=10)
c2.request("POST", "/v1/models/mnist:predict", body=json.dumps({"instances": [nested(images[0])]}),
           headers={"Content-Type": "application/json"})
r = c2.getresponse()
j = json.loads(r.read())
check("after all that: still serving the next client", r.status == 200 and top(j["predictions"][0]) == ref[0][0])
c2.close()

# --- SIGTERM: the request in flight is finished, then exit -------------------------------
s = socket.create_connection((HOST, port), timeout=10)
body = json.dumps({"instances": [nested(im) for im in images]}).encode()
s.sendall(b"POST /v1/models/mnist:predict HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: "
          + str(len(body)).encode() + b"\r\n\r\n" + body)
os.kill(int(sys.argv[4]), 15)
got = b""
try:
    while True:
        b = s.recv(1 << 20)
        if not b:
            break
        got += b
except (socket.timeout, ConnectionResetError):
    pass
s.close()
head, _, rest = got.partition(b"\r\n\r\n")
ok = status_of(got) == 200  # and the server closed the connection after it (recv saw the end)
try:
    ok = ok and len(json.loads(rest)["predictions"]) == 100
except ValueError:
    ok = False
check("SIGTERM during a request: it is answered in full, then the connection closed", ok, got[:120])
sys.exit(1 if failed else 0)
