#!/usr/bin/env bash
# Every check and test of the workspace, from a fresh clone: formatting, lints, docs, tests.
# Installs or starts what the tests need before running them, and fails with a clear message
# when something cannot be had.
set -euo pipefail
cd "$(dirname "$0")/.."

need() {
    command -v "$1" >/dev/null 2>&1 || { echo "error: '$1' is missing: $2" >&2; exit 1; }
}
need cargo "install the Rust toolchain (https://rustup.rs)"
cargo fmt --version >/dev/null 2>&1 || { echo "error: rustfmt is missing: rustup component add rustfmt" >&2; exit 1; }
cargo clippy --version >/dev/null 2>&1 || { echo "error: clippy is missing: rustup component add clippy" >&2; exit 1; }

step() { printf '\n== %s\n' "$*"; }

# The browser tests drive Debian's Chromium; install it when it is missing.
if ! command -v chromium >/dev/null 2>&1; then
    step "installing Debian's chromium for the browser tests"
    if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null 2>&1; then
        echo "error: chromium is missing and this user cannot install it: apt-get install chromium" >&2
        exit 1
    fi
    as_root=""
    [ "$(id -u)" -ne 0 ] && as_root="sudo"
    $as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq chromium >/dev/null
    command -v chromium >/dev/null 2>&1 || { echo "error: installing chromium failed" >&2; exit 1; }
fi

step "formatting (cargo fmt --check)"
cargo fmt --all -- --check

step "lints (cargo clippy -D warnings)"
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings

step "docs (cargo doc -D warnings)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --all-features --locked

step "tests (cargo test)"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
# Every test binary runs even after one fails, so that one run shows every failure.
cargo test --workspace --all-features --locked --no-fail-fast 2>&1 | tee "$log" || status=$?

# One closing line for the whole run: cargo prints a result per test binary, and the last of
# those may be a crate without doctests.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "\ntests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
