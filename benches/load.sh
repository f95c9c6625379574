#!/usr/bin/env bash
# HTTP figures on loopback, with wrk (installed from Debian when missing):
#   1. the flow over the in-memory stores (mounted in axum, `memory-server`): verify-otp
#      against the same server's /healthz;
#   2. the example server with its JSON data file: verify-otp (each answer's new reset token
#      written to the journal and synced before the answer) against its /healthz;
# verify-otp goes to PHONES (4096) of the USERS phones in turn (benches/wrk/verify.lua).
#   3. verify-otp p99 alone and while logins hash passwords (argon2id) at full speed;
#   4. the example server's start-up time and resident memory with the data file: first on the
#      original design's file, then again on the file as the store rewrote it.
# Usage: bash benches/load.sh [USERS=100000] [SECONDS=10]
set -euo pipefail
cd "$(dirname "$0")/.."
USERS=${1:-100000}
SECONDS_EACH=${2:-10}
export USERS PHONES=${PHONES:-4096}

if ! command -v wrk >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
cargo build -q --release -p example-server -p benches --bin example-server --bin seed-data --bin memory-server

work=$(mktemp -d)
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_healthy() { until curl -fs "http://127.0.0.1:$1/healthz" >/dev/null 2>&1; do sleep 0.01; done; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$server/stat"; }
# Prints wrk's summary lines and the server's CPU time per request; keeps the rate in $rate.
run() {
    local before
    before=$(cpu_ticks)
    wrk -t2 -c32 -d"${SECONDS_EACH}s" --latency "$@" >"$work/wrk.txt"
    grep -E "Requests/sec|^ +(50|99)%" "$work/wrk.txt"
    rate=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt")
    if [ -n "${CPU_SHOWN-1}" ]; then
        python3 -c "print(f'   server CPU per request: {($(cpu_ticks) - $before) * 1e6 / $(getconf CLK_TCK) / ($rate * $SECONDS_EACH):.1f} µs')"
    fi
}
ratio() { python3 -c "print(f'   => {100 * $1 / $2:.0f} % of /healthz')"; }

echo "== in-memory stores, $USERS users with active codes (the flow mounted in axum)"
port=$(free_port)
./target/release/memory-server "$port" "$USERS" &
server=$!
wait_healthy "$port"
echo "-- /healthz"
run "http://127.0.0.1:$port/healthz"
ceiling=$rate
echo "-- a JSON POST answered without work (what any JSON POST costs here)"
run -s benches/wrk/post-floor.lua "http://127.0.0.1:$port/post-floor"
ratio "$rate" "$ceiling"
echo "-- verify-otp, right code (a new reset token each time)"
run -s benches/wrk/verify.lua "http://127.0.0.1:$port/api/forgot-password/verify-otp"
ratio "$rate" "$ceiling"
kill "$server"; wait "$server" 2>/dev/null || true; server=""

echo "== example server, JSON data file with $USERS users with active codes"
./target/release/seed-data "$work/data.json" "$USERS"
port=$(free_port)
# Starts the example server on the data file and prints how long it took to answer /healthz.
start_server() {
    local started ready
    started=$(date +%s%N)
    BIND=127.0.0.1 PORT=$port DATA_FILE="$work/data.json" CLIENT_RATE_LIMIT_PER_MIN=0 OTP_MAX_ATTEMPTS=10 \
        RUST_LOG=warn ./target/release/example-server >>"$work/server.log" 2>&1 &
    server=$!
    wait_healthy "$port"
    ready=$(date +%s%N)
    echo "start-up with $USERS users, $1: $(( (ready - started) / 1000000 )) ms; resident memory: $(grep VmRSS /proc/$server/status | awk '{print $2, $3}')"
}
start_server "the original design's file (numbers as typed, parsed and validated)"

echo "-- /healthz"
run "http://127.0.0.1:$port/healthz"
ceiling=$rate
echo "-- verify-otp, right code, the new reset token written to the data file before the answer"
run -s benches/wrk/verify.lua "http://127.0.0.1:$port/api/forgot-password/verify-otp"
ratio "$rate" "$ceiling"
echo "-- verify-otp while logins hash passwords at full speed"
wrk -t1 -c8 -d"$((SECONDS_EACH + 2))s" -s benches/wrk/login.lua "http://127.0.0.1:$port/api/auth/login" >"$work/login.txt" &
logins=$!
sleep 1
CPU_SHOWN="" run -s benches/wrk/verify.lua "http://127.0.0.1:$port/api/forgot-password/verify-otp"
wait "$logins" 2>/dev/null || true
echo "   (logins meanwhile: $(grep Requests/sec "$work/login.txt" | awk '{print $2}')/s)"
kill "$server"; wait "$server" 2>/dev/null || true; server=""
start_server "again, on the file as the store rewrote it at shutdown"
