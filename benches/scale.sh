#!/usr/bin/env bash
# HTTP figures on loopback for the codes in Redis and for several instances, with wrk (installed
# from Debian when missing), against release builds of the example server:
#   1. one instance with OTP_STORE=memory, then with OTP_STORE=redis://… (a private redis-server
#      this script starts on a free port, no persistence, so that its CPU is the benchmark's
#      alone): verify-otp with the right code (codes seeded through request-otp with
#      DEV_EXPOSE_OTP=1), and request-otp for made-up pairs (a stand-in written per request);
#   2. two instances on that one Redis, wrk against each at once, summed, against one.
# Each run prints requests/s, p50/p99, and CPU per request of the servers and of Redis (from
# /proc), and how busy the machine's cores were. Finally redis-benchmark's SET rate: Redis's
# ceiling for the simplest command on this machine.
# The two wrk threads and 32 connections are the same in every run: one wrk -t2 -c32 against
# one instance, one wrk -t1 -c16 against each of two.
# Usage: bash benches/scale.sh [SECONDS=10]   (USERS=10000, PHONES=4096 in the environment)
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-10}
USERS=${USERS:-10000}
PHONES=${PHONES:-4096}
SECRET=scale-benchmark-secret-0123456789abcdef

if ! command -v wrk >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
if ! command -v redis-server >/dev/null 2>&1; then
    echo "error: redis-server not found: apt-get install redis-server" >&2
    exit 1
fi
cargo build -q --release -p example-server -p benches --bin example-server --bin seed-data

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_healthy() { until curl -fs "http://127.0.0.1:$1/healthz" >/dev/null 2>&1; do sleep 0.05; done; }
ticks() { local sum=0 pid; for pid in "$@"; do sum=$((sum + $(awk '{print $14 + $15}' "/proc/$pid/stat"))); done; echo "$sum"; }
# Busy and total jiffies of the whole machine.
machine() { awk '/^cpu / {print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8}' /proc/stat; }

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no \
    --maxmemory-policy noeviction --logfile "$work/redis.log" &
redis_pid=$!
pids+=("$redis_pid")
until redis-cli -p "$redis_port" ping >/dev/null 2>&1; do sleep 0.05; done
REDIS_URL=redis://127.0.0.1:$redis_port
echo "machine: $(nproc) cores shared by wrk, the servers and Redis; $(redis-server --version | awk '{print $1, $2, $3}')"

./target/release/seed-data "$work/data.json" "$USERS"

# Starts an instance: start NAME OTP_STORE; sets $port_NAME and $pid_NAME. Each instance has its
# own copy of the data file (a data file takes one server); only the users in it are used.
start() {
    local name=$1 store=$2 port
    port=$(free_port)
    cp "$work/data.json" "$work/$name.json"
    BIND=127.0.0.1 PORT=$port DATA_FILE="$work/$name.json" OTP_STORE=$store OTP_SECRET=$SECRET \
        REDIS_KEY_PREFIX=scale: CLIENT_RATE_LIMIT_PER_MIN=0 OTP_SITE_REQUESTS_PER_MIN=0 \
        OTP_SITE_SENDS_PER_HOUR=0 OTP_MAX_ATTEMPTS=10 DEV_EXPOSE_OTP=1 RUST_LOG=warn \
        ./target/release/example-server >"$work/$name.log" 2>&1 &
    local pid=$!
    pids+=("$pid")
    wait_healthy "$port"
    printf -v "port_$name" %s "$port"
    printf -v "pid_$name" %s "$pid"
}
stop() { local pid_var="pid_$1"; kill "${!pid_var}"; wait "${!pid_var}" 2>/dev/null || true; }

# Asks PHONES users' codes through request-otp (testOTP) on port $1; writes "phone code" lines.
seed_codes() {
    python3 - "$1" "$PHONES" "$USERS" >"$work/codes.txt" <<'PY'
import http.client, json, sys
port, phones, users = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
conn = http.client.HTTPConnection("127.0.0.1", port)
for n in range(phones):
    i = (n * 7919) % users
    phone = f"0812{i:08d}"
    body = json.dumps({"nama": f"Pengguna {i}", "noHp": phone})
    conn.request("POST", "/api/forgot-password/request-otp", body, {"Content-Type": "application/json"})
    answer = json.loads(conn.getresponse().read())
    if "testOTP" not in answer:
        sys.exit(f"request-otp for {phone} gave no code: {answer}")
    print(phone, answer["testOTP"])
PY
}

# run LABEL SCRIPT PATH "SERVER_PIDS" PORT...: wrk against each port at once (the two wrk
# threads and 32 connections split between them); prints the summed rate, each wrk's p50/p99,
# the CPU per request of the servers and of Redis, and how busy the machine was.
run() {
    local label=$1 script=$2 path=$3 servers=$4
    shift 4
    local ports=("$@") threads=$((2 / $#)) connections=$((32 / $#)) i=0 port
    local before_servers before_redis before_machine
    before_servers=$(ticks $servers)
    before_redis=$(ticks "$redis_pid")
    before_machine=$(machine)
    local wrks=()
    for port in "${ports[@]}"; do
        OFFSET=$offset CODES="$work/codes.txt" wrk -t"$threads" -c"$connections" -d"${SECONDS_EACH}s" \
            --latency -s "benches/wrk/$script" "http://127.0.0.1:$port$path" >"$work/wrk-$i.txt" &
        wrks+=($!)
        i=$((i + 1))
        offset=$((offset + threads))
    done
    wait "${wrks[@]}"
    local after_servers after_redis after_machine
    after_servers=$(ticks $servers)
    after_redis=$(ticks "$redis_pid")
    after_machine=$(machine)
    python3 - "$label" "$SECONDS_EACH" "$(getconf CLK_TCK)" "$(nproc)" \
        "$before_servers" "$after_servers" "$before_redis" "$after_redis" \
        "$before_machine" "$after_machine" "$work"/wrk-*.txt <<'PY'
import re, sys
label, seconds, hz, cores = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
s0, s1, r0, r1 = (float(x) for x in sys.argv[5:9])
(b0, t0), (b1, t1) = (map(float, m.split()) for m in sys.argv[9:11])
rates, lines = 0.0, []
for path in sys.argv[11:]:
    text = open(path).read()
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    p50 = re.search(r"\s50%\s+(\S+)", text).group(1)
    p99 = re.search(r"\s99%\s+(\S+)", text).group(1)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = re.search(r"Socket errors: .*", text)
    lines.append(f"{rate:,.0f}/s p50 {p50} p99 {p99}"
                 + (f" NON-2XX {bad.group(1)}" if bad else "")
                 + (f" {errors.group(0)}" if errors else ""))
    rates += rate
total = rates * seconds
server_us = (s1 - s0) / hz / total * 1e6
redis_us = (r1 - r0) / hz / total * 1e6
redis_share = (r1 - r0) / hz / seconds * 100
busy = (b1 - b0) / (t1 - t0) * 100
ceiling = f", Redis ceiling at that cost {1e6 / redis_us:,.0f}/s" if redis_us > 0.05 else ""
print(f"{label}: {rates:,.0f} requests/s  [{' | '.join(lines)}]")
print(f"   CPU per request: servers {server_us:.1f} µs, Redis {redis_us:.1f} µs "
      f"(Redis busy {redis_share:.0f} % of one core{ceiling}); machine busy {busy:.0f} % of {cores} cores")
PY
    rm -f "$work"/wrk-*.txt
}

# The first made-up phone number of the next wrk thread (benches/wrk/made-up.lua), so that no run
# repeats another's pairs on the same Redis (a repeated pair would meet its cooldown).
offset=0

echo "== one instance, codes in memory (OTP_STORE=memory)"
start memory memory
seed_codes "$port_memory"
run "verify-otp, right code, memory" verify-codes.lua /api/forgot-password/verify-otp "$pid_memory" "$port_memory"
run "request-otp, made-up pairs, memory" made-up.lua /api/forgot-password/request-otp "$pid_memory" "$port_memory"
stop memory

echo "== one instance, codes in Redis (OTP_STORE=redis://…)"
start one "$REDIS_URL"
seed_codes "$port_one"
run "verify-otp, right code, Redis, one instance" verify-codes.lua /api/forgot-password/verify-otp "$pid_one" "$port_one"
run "request-otp, made-up pairs, Redis, one instance" made-up.lua /api/forgot-password/request-otp "$pid_one" "$port_one"

echo "== two instances on the same Redis (wrk against each at once, summed)"
start two "$REDIS_URL"
run "verify-otp, right code, Redis, two instances" verify-codes.lua /api/forgot-password/verify-otp "$pid_one $pid_two" "$port_one" "$port_two"
run "request-otp, made-up pairs, Redis, two instances" made-up.lua /api/forgot-password/request-otp "$pid_one $pid_two" "$port_one" "$port_two"
stop one
stop two
echo "   Redis keys at the end: $(redis-cli -p "$redis_port" dbsize), memory $(redis-cli -p "$redis_port" info memory | awk -F: '/^used_memory_human/ {print $2}' | tr -d '\r')"

echo "== Redis's own ceiling on this machine (redis-benchmark, 32 clients)"
redis-benchmark -p "$redis_port" -q -n 200000 -c 32 -t set | tr "\r" "\n" | grep "per second"
redis-benchmark -p "$redis_port" -q -n 400000 -c 32 -P 16 -t set | tr "\r" "\n" | grep "per second" | sed 's/^SET/SET, pipelined 16 deep/'
