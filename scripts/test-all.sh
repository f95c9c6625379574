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

apt_install() {
    if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null 2>&1; then
        echo "error: $1 is missing and this user cannot install it: apt-get install $1" >&2
        exit 1
    fi
    local as_root=""
    [ "$(id -u)" -ne 0 ] && as_root="sudo"
    $as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq "$1" >/dev/null
}
answers() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }
wait_for() {
    for _ in $(seq 1 50); do answers "$1" && return 0; sleep 0.2; done
    echo "error: $2 did not start on 127.0.0.1:$1" >&2
    exit 1
}

# The browser tests drive Debian's Chromium; install it when it is missing.
if ! command -v chromium >/dev/null 2>&1; then
    step "installing Debian's chromium for the browser tests"
    apt_install chromium
    command -v chromium >/dev/null 2>&1 || { echo "error: installing chromium failed" >&2; exit 1; }
fi

# The Redis and PostgreSQL tests run against real servers: the ones named by
# OTP_RESET_TEST_REDIS_URL and OTP_RESET_TEST_DATABASE_URL, by default on loopback's standard
# ports. When nothing answers there, start them from Debian's packages (installed if missing).
if [ -z "${OTP_RESET_TEST_REDIS_URL:-}" ] && ! answers 6379; then
    step "starting Redis on 127.0.0.1:6379 for the Redis tests"
    command -v redis-server >/dev/null 2>&1 || apt_install redis-server
    redis-server --bind 127.0.0.1 --port 6379 --save '' --appendonly no --daemonize yes >/dev/null
    wait_for 6379 "redis-server"
fi

if [ -z "${OTP_RESET_TEST_DATABASE_URL:-}" ] && ! answers 5432; then
    step "starting PostgreSQL on 127.0.0.1:5432 for the PostgreSQL tests"
    compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || apt_install postgresql
    bin=$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)")
    # A throwaway cluster with trust auth on loopback, owned by the postgres account (the server
    # refuses to run as root).
    as_pg=()
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
        as_pg=(runuser -u postgres --)
    fi
    pgdata=$(mktemp -d /tmp/otp-reset-pg.XXXXXX)
    [ "$(id -u)" -eq 0 ] && chown postgres "$pgdata"
    "${as_pg[@]}" "$bin/initdb" -D "$pgdata" -U postgres -A trust >/dev/null
    "${as_pg[@]}" "$bin/pg_ctl" -D "$pgdata" -l "$pgdata/log" -w \
        -o "-c listen_addresses=127.0.0.1 -p 5432 -k $pgdata" start >/dev/null
    wait_for 5432 "PostgreSQL"
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
