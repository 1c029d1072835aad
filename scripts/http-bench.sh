#!/usr/bin/env bash
# HTTP load benchmark of the returns service, beside pgbench's one-row INSERT on the same server
# and in the same run; writes a Markdown table (see scripts/bench/README.md).
#
#   scripts/http-bench.sh --binary target/release/returns \
#     --admin-url postgres://postgres@127.0.0.1:5432/postgres --seconds 30 --out FILE.md
#
# Optional: --connections "16 64" (the concurrencies), --scenarios "register mix", --projections 0
# (the service runs no projections, webhooks or abuse detection beside the load; 1 by default).
#
# For each concurrency C and scenario S: pgbench (one-row INSERT, C clients, same duration) on the
# scratch database, then `wrk -t C -c C -d <seconds>s --latency -s scripts/bench/S.lua` against
# the service (one connection per wrk thread, so each thread's Lua state drives one connection).
# The service runs in a scratch database (random name) that is dropped at exit.
#
# Progress goes to standard error; the table goes to --out and to standard output.
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "$0")/.." && pwd)
say() { echo "http-bench: $*" >&2; }
die() { say "$*"; exit 1; }

binary=target/release/returns
admin=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
seconds=30
out=target/http-bench.md
connections="16 64"
scenarios="register mix"
projections=1

usage() {
  sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit "${1:-2}"
}

while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary=${2:?--binary needs a path}; shift 2 ;;
    --admin-url) admin=${2:?--admin-url needs a URL}; shift 2 ;;
    --seconds) seconds=${2:?--seconds needs a number}; shift 2 ;;
    --out) out=${2:?--out needs a file}; shift 2 ;;
    --connections) connections=${2:?--connections needs a list}; shift 2 ;;
    --scenarios) scenarios=${2:?--scenarios needs a list}; shift 2 ;;
    --projections) projections=${2:?--projections needs 0 or 1}; shift 2 ;;
    -h|--help) usage 0 ;;
    *) say "unknown argument: $1"; usage ;;
  esac
done

[[ $seconds =~ ^[1-9][0-9]*$ ]] || die "--seconds must be a whole number above 0, not $seconds"
for c in $connections; do
  [[ $c =~ ^[1-9][0-9]*$ ]] || die "--connections must be whole numbers above 0, not $c"
done
for s in $scenarios; do
  [ -f "$here/scripts/bench/$s.lua" ] || die "no scenario scripts/bench/$s.lua"
done

# Paths are the caller's; the script works from the repository root.
abs() { case "$1" in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
binary=$(abs "$binary")
out=$(abs "$out")
[ -x "$binary" ] || die "no executable $binary (cargo build --release -p returns-server --bin returns)"
mkdir -p "$(dirname "$out")"
cd "$here"

# ----- tools -----

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else return 1
  fi
}

install_package() { # package
  say "installing $1"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "$1" >&2 && return 0
  say "apt-get install $1 failed; running apt-get update and trying again"
  as_root apt-get update >&2 || true
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "$1" >&2
}

command -v wrk >/dev/null 2>&1 || install_package wrk || die "cannot install wrk"
if ! command -v pgbench >/dev/null 2>&1 || ! command -v psql >/dev/null 2>&1; then
  install_package postgresql-client || die "cannot install postgresql-client (pgbench, psql)"
fi
for tool in wrk pgbench psql curl; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"
done

# ----- scratch database, service, clean-up -----

work=$(mktemp -d "${TMPDIR:-/tmp}/http-bench.XXXXXX")
db="returns_httpbench_$(date +%s)_$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
base=${admin%%\?*}
query=${admin#"$base"}
db_url="${base%/*}/$db$query"
service_pid=""
child_pid=""
db_created=""

# Runs a command as a child the clean-up can stop: bash runs traps only between foreground
# commands, but does interrupt `wait`.
run() {
  "$@" &
  child_pid=$!
  local status=0
  wait "$child_pid" || status=$?
  child_pid=""
  return "$status"
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [ -n "$child_pid" ]; then
    kill -TERM "$child_pid" 2>/dev/null || true
    wait "$child_pid" 2>/dev/null || true
  fi
  if [ -n "$service_pid" ] && kill -0 "$service_pid" 2>/dev/null; then
    kill -TERM "$service_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$service_pid" 2>/dev/null || break
      sleep 0.2
    done
    kill -KILL "$service_pid" 2>/dev/null || true
    wait "$service_pid" 2>/dev/null || true
  fi
  if [ -n "$db_created" ]; then
    psql -X -q "$admin" -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" \
      >/dev/null 2>&1 ||
      psql -X -q "$admin" -c "DROP DATABASE IF EXISTS \"$db\"" >/dev/null 2>&1 ||
      say "could not drop scratch database $db"
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

psql -X -q "$admin" -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$db\"" >/dev/null ||
  die "cannot create a database on ${admin%%\?*}"
db_created=1
say "scratch database $db"

# shellcheck source=lib/free-port.sh
. "$here/scripts/lib/free-port.sh"

secret=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
port=$(free_port) || die "no free port found"
base_url="http://127.0.0.1:$port"
service_log="$work/service.log"

# The scenarios drive one buyer and one seller token at thousands of requests a second: rate
# limits are off, so that the service's throughput is what is measured.
DATABASE_URL="$db_url" RETURNS_JWT_SECRET="$secret" RETURNS_LISTEN="127.0.0.1:$port" \
  RETURNS_PROJECTIONS="$projections" RETURNS_SCHEDULER_INTERVAL_MS=1000 RUST_LOG=warn \
  RETURNS_RATE_LIMIT_PARTY_PER_MINUTE=0 RETURNS_RATE_LIMIT_OPERATOR_PER_MINUTE=0 \
  RETURNS_RATE_LIMIT_PLATFORM_PER_MINUTE=0 RETURNS_RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE=0 \
  "$binary" serve >"$service_log" 2>&1 &
service_pid=$!

say "starting the service on $base_url (pid $service_pid)"
ready=""
for _ in $(seq 1 120); do
  if ! kill -0 "$service_pid" 2>/dev/null; then
    tail -n 30 "$service_log" >&2 || true
    die "the service exited during start-up"
  fi
  if curl -sf -o /dev/null --max-time 2 "$base_url/readyz"; then
    ready=1
    break
  fi
  sleep 0.5
done
if [ -z "$ready" ]; then
  tail -n 30 "$service_log" >&2 || true
  die "the service did not answer $base_url/readyz within 60 s"
fi

# Tokens outlive the whole run: 2 runs (pgbench, wrk) per row plus settling.
rows=$(( $(wc -w <<<"$connections") * $(wc -w <<<"$scenarios") ))
ttl=$(( 7200 > rows * seconds * 3 + 1800 ? 7200 : rows * seconds * 3 + 1800 ))
token() { # role sub
  RETURNS_JWT_SECRET="$secret" "$binary" token --role "$1" --sub "$2" --ttl "$ttl"
}
# One buyer for the whole bench: a buyer may only open returns on its own orders.
export BENCH_BUYER_ID=buyer-1 BENCH_SELLER_ID=seller-1
BENCH_PLATFORM_TOKEN=$(token platform platform-1)
BENCH_SELLER_TOKEN=$(token seller "$BENCH_SELLER_ID")
BENCH_BUYER_TOKEN=$(token buyer "$BENCH_BUYER_ID")
export BENCH_PLATFORM_TOKEN BENCH_SELLER_TOKEN BENCH_BUYER_TOKEN

# ----- pgbench: one-row INSERT of a ~400-byte JSON payload -----

psql -X -q "$db_url" -v ON_ERROR_STOP=1 \
  -c 'CREATE TABLE IF NOT EXISTS bench_insert (id bigserial PRIMARY KEY, payload jsonb NOT NULL)' \
  >/dev/null
payload='{"type":"return.requested","return_id":"5b0e8a52-3f7c-4c8e-9a61-2d4f7b1c9e30","order_id":"ORD-1-1-0a1b2c3d","buyer_id":"buyer-1","seller_id":"seller-1","items":[{"line_id":"L1","quantity":1,"unit_price_minor":4999}],"reason":"defective","resolution":"refund","description":"stopped working","currency":"EUR","jurisdiction":"DE","requested_amount_minor":4999,"at":"2026-11-03T10:00:00Z","policy_version":0}'
printf "INSERT INTO bench_insert(payload) VALUES ('%s');\n" "$payload" >"$work/insert.sql"

max_connections=$(psql -X -tAc 'show max_connections' "$admin" 2>/dev/null || echo 0)
for c in $connections; do
  # The service keeps its pool (RETURNS_DB_POOL_SIZE, 16 by default) open while pgbench runs.
  if [ "$max_connections" -gt 0 ] && [ $((c + ${RETURNS_DB_POOL_SIZE:-16} + 5)) -gt "$max_connections" ]; then
    say "warning: max_connections is $max_connections; pgbench with $c clients beside the service's pool may be refused"
  fi
done

tps=""
pgbench_tps() { # clients -> sets tps (not a command substitution: the clean-up must see pgbench)
  local c=$1 log="$work/pgbench-$1.$RANDOM.log"
  local jobs=$(( c < 2 ? c : 2 ))
  tps=""
  if ! run pgbench -n -M prepared -c "$c" -j "$jobs" -T "$seconds" -f "$work/insert.sql" "$db_url" \
    >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    return 1
  fi
  tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$log" | head -n 1)
  [ -n "$tps" ] || { tail -n 20 "$log" >&2; return 1; }
}

# Waits until the scratch database has had no active query but ours for 2 samples in a row (the
# projections catching up after the previous run), at most 60 s, so that runs do not overlap.
settle() {
  local quiet=0 n
  for _ in $(seq 1 120); do
    n=$(psql -X -tAc "SELECT count(*) FROM pg_stat_activity WHERE datname = '$db'
          AND state = 'active' AND pid <> pg_backend_pid()" "$admin" 2>/dev/null || echo 1)
    if [ "$n" = 0 ]; then
      quiet=$((quiet + 1))
      [ "$quiet" -ge 2 ] && return 0
    else
      quiet=0
    fi
    sleep 0.5
  done
  say "warning: the scratch database did not go quiet within 60 s"
}

# CPU time (clock ticks, user + system) of the service, and of every PostgreSQL process on this
# machine (the server's backends, the WAL writer and checkpointer included).
cpu_ticks() { # pid -> ticks
  awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0
}
pg_ticks() {
  local p total=0
  for p in $(pgrep -x postgres || true); do
    total=$((total + $(cpu_ticks "$p")))
  done
  echo "$total"
}
ticks_per_s=$(getconf CLK_TCK)

field() { # line key -> value of key=value
  sed -n "s/.*[[:space:]]$2=\([^[:space:]]*\).*/\1/p" <<<"$1"
}

# ----- the runs -----

rows_md=""
wrk_cmds=()
for c in $connections; do
  for s in $scenarios; do
    settle
    say "pgbench one-row INSERT, $c clients, ${seconds}s"
    pgbench_tps "$c" || die "pgbench failed"
    settle
    wrk_cmd="wrk -t $c -c $c -d ${seconds}s --latency -s scripts/bench/$s.lua $base_url"
    wrk_cmds+=("$wrk_cmd")
    say "$wrk_cmd"
    wrk_out="$work/wrk-$s-$c.out"
    wrk_err="$work/wrk-$s-$c.err"
    svc0=$(cpu_ticks "$service_pid")
    pg0=$(pg_ticks)
    if ! run wrk -t "$c" -c "$c" -d "${seconds}s" --latency -s "scripts/bench/$s.lua" "$base_url" \
      >"$wrk_out" 2>"$wrk_err"; then
      cat "$wrk_out" "$wrk_err" >&2
      die "wrk failed ($s, $c connections)"
    fi
    svc1=$(cpu_ticks "$service_pid")
    pg1=$(pg_ticks)
    cat "$wrk_out" >&2
    if [ -s "$wrk_err" ]; then
      say "first error lines of wrk ($s, $c connections):"
      head -n 5 "$wrk_err" >&2
    fi
    kill -0 "$service_pid" 2>/dev/null || {
      tail -n 30 "$service_log" >&2
      die "the service died during $s with $c connections"
    }
    result=$(grep '^RESULT ' "$wrk_out" | tail -n 1) || true
    [ -n "$result" ] || die "no RESULT line from scripts/bench/$s.lua"
    rps=$(field "$result" rps)
    ratio=$(awk -v a="$rps" -v b="$tps" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
    errors=$(field "$result" errors)
    requests=$(field "$result" requests)
    svc_us=$(awk -v t=$((svc1 - svc0)) -v hz="$ticks_per_s" -v n="$requests" \
      'BEGIN { if (n > 0) printf "%.0f", t / hz * 1e6 / n; else print "-" }')
    pg_us=$(awk -v t=$((pg1 - pg0)) -v hz="$ticks_per_s" -v n="$requests" \
      'BEGIN { if (n > 0) printf "%.0f", t / hz * 1e6 / n; else print "-" }')
    rows_md+=$(printf '| %s | %s | %.0f | %.2f | %.2f | %.2f | %s of %s | %.0f | %s | %s | %s |' \
      "$s" "$c" "$rps" "$(field "$result" p50_ms)" "$(field "$result" p95_ms)" \
      "$(field "$result" p99_ms)" "$errors" "$requests" "$tps" "$ratio" "$svc_us" "$pg_us")$'\n'
  done
done

# VmHWM: the service's peak resident set over its whole life, load included.
hwm_kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$service_pid/status" 2>/dev/null || true)
peak_rss=$(awk -v k="${hwm_kb:-0}" 'BEGIN { printf "%.1f", k / 1024 }')

pg_version=$(psql -X -tAc 'show server_version' "$admin")
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
commit=$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git -C "$here" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
  commit="$commit (with uncommitted changes)"
fi

{
  echo "| scenario | connections | requests/s | p50 ms | p95 ms | p99 ms | errors | pgbench INSERT tps | ratio | service CPU µs/request | PostgreSQL CPU µs/request |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  printf '%s' "$rows_md"
  echo
  echo "Service peak RSS (VmHWM over the whole run): ${peak_rss} MB. Projections, webhooks and abuse detection running beside the load: $([ "$projections" = 0 ] && echo no || echo yes)."
  echo
  echo "Run of $(date -u '+%Y-%m-%d %H:%M UTC'), commit $commit; machine: $(nproc) cores${cpu:+ ($cpu)}, PostgreSQL $pg_version."
  echo "Each row: ${seconds} s of \`pgbench -n -M prepared -c C -j 2 -T ${seconds} -f insert.sql <scratch db>\` (one-row INSERT of a ~400-byte jsonb into a bigserial table in the service's database, C = the row's connections), then ${seconds} s of wrk with the scenario's script (tokens in BENCH_*_TOKEN, buyer-1 and seller-1). The wrk commands, in order:"
  echo
  for cmd in "${wrk_cmds[@]}"; do echo "    $cmd"; done
  echo
  echo "Errors: answers other than 201 (register) or 2xx (mix), plus socket errors (connect, read, write, timeout), of all requests. wrk gives latency percentiles from its done() callback. Ratio: requests/s ÷ INSERT tps. CPU per request: user + system time of the service process, and of every \`postgres\` process on the machine (projections, webhooks and the scheduler run in the service and count there), during the wrk run, divided by its requests."
} >"$out"

cat "$out"
say "wrote $out"
