#!/usr/bin/env bash
# Load benchmark of the console's pages on the demo marketplace; writes a Markdown table.
#
#   scripts/console-bench.sh --binary target/release/returns \
#     --admin-url postgres://postgres@127.0.0.1:5432/postgres --seconds 15 --out FILE.md
#
# `returns demo` fills a scratch database (random name, dropped at exit); the service serves it
# with the rate limits off; each page is driven by `wrk -t2 -c16 -d<seconds>s --latency` with the
# session cookie of the operator or buyer the demo printed. Every answer must be 200.
#
# Progress goes to standard error; the table goes to --out and to standard output.
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "$0")/.." && pwd)
say() { echo "console-bench: $*" >&2; }
die() { say "$*"; exit 1; }

binary=target/release/returns
admin=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
seconds=15
out=target/console-bench.md

while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary=${2:?--binary needs a path}; shift 2 ;;
    --admin-url) admin=${2:?--admin-url needs a URL}; shift 2 ;;
    --seconds) seconds=${2:?--seconds needs a number}; shift 2 ;;
    --out) out=${2:?--out needs a file}; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 0 ;;
    *) die "unknown argument: $1" ;;
  esac
done
[[ $seconds =~ ^[1-9][0-9]*$ ]] || die "--seconds must be a whole number above 0, not $seconds"
abs() { case "$1" in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
binary=$(abs "$binary")
out=$(abs "$out")
[ -x "$binary" ] || die "no executable $binary (cargo build --release -p returns-server --bin returns)"
for tool in wrk psql curl; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed (scripts/http-bench.sh installs it)"
done
mkdir -p "$(dirname "$out")"
cd "$here"

work=$(mktemp -d "${TMPDIR:-/tmp}/console-bench.XXXXXX")
db="returns_consolebench_$(date +%s)_$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
base=${admin%%\?*}
query=${admin#"$base"}
db_url="${base%/*}/$db$query"
service_pid=""

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [ -n "$service_pid" ]; then
    kill -TERM "$service_pid" 2>/dev/null || true
    wait "$service_pid" 2>/dev/null || true
  fi
  psql "$admin" -qAtc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT INT TERM

# A secret of this run only: the tokens the demo prints are signed with it.
secret=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
# shellcheck source=lib/free-port.sh
. "$here/scripts/lib/free-port.sh"
port=$(free_port) || die "no free port found"

say "filling $db with the demo marketplace"
demo_started=$(date +%s%N)
DATABASE_URL="$db_url" RETURNS_JWT_SECRET="$secret" RETURNS_LISTEN="127.0.0.1:$port" \
  "$binary" demo >"$work/demo.out" 2>"$work/demo.err" \
  || { cat "$work/demo.err" >&2; die "returns demo failed"; }
demo_ms=$(( ($(date +%s%N) - demo_started) / 1000000 ))
token_of() { grep -A1 "^$1 " "$work/demo.out" | tail -1; }
operator_token=$(token_of operator)
buyer_token=$(token_of buyer)
buyer_rma=$(grep "^buyer " "$work/demo.out" | grep -o 'RMA-[A-Z0-9]*-[A-Z0-9]*' | head -1)
[ -n "$operator_token" ] && [ -n "$buyer_token" ] && [ -n "$buyer_rma" ] \
  || die "the demo printed no operator, buyer or RMA number"

say "serving it on port $port"
DATABASE_URL="$db_url" RETURNS_JWT_SECRET="$secret" RETURNS_LISTEN="127.0.0.1:$port" \
  RETURNS_RATE_LIMIT_OPERATOR_PER_MINUTE=0 RETURNS_RATE_LIMIT_PARTY_PER_MINUTE=0 \
  RETURNS_RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE=0 RETURNS_LOG=error \
  "$binary" serve >"$work/service.log" 2>&1 &
service_pid=$!
url="http://127.0.0.1:$port"
for _ in $(seq 1 200); do
  curl -fs "$url/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fs "$url/readyz" >/dev/null || die "the service did not become ready (see $work/service.log)"

session_of() { # token -> the session cookie the console sets
  curl -s -o /dev/null -D - -X POST --data-urlencode "token=$1" "$url/console/login" \
    | tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: \(returns_session=[^;]*\).*/\1/p'
}
operator=$(session_of "$operator_token")
buyer=$(session_of "$buyer_token")
[ -n "$operator" ] && [ -n "$buyer" ] || die "signing in to the console failed"
dispute_rma=$(curl -s -b "$operator" "$url/console/disputes" | grep -o 'rma=RMA-[A-Z0-9-]*' | head -1 | cut -d= -f2)
[ -n "$dispute_rma" ] || die "the demo's dispute queue is empty"

{
  echo "| page | who | requests/s | p50 | p99 | non-200 |"
  echo "| --- | --- | --- | --- | --- | --- |"
} >"$work/table.md"

drive() { # label who cookie path
  say "wrk on $4 for ${seconds}s"
  local report
  report=$(wrk -t2 -c16 -d"${seconds}s" --latency -H "Cookie: $3" "$url$4")
  local rate p50 p99 bad
  rate=$(echo "$report" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$report" | awk '$1 == "50%" {print $2}')
  p99=$(echo "$report" | awk '$1 == "99%" {print $2}')
  bad=$(echo "$report" | awk '/Non-2xx/ {print $5}')
  echo "| $1 | $2 | $rate | $p50 | $p99 | ${bad:-0} |" >>"$work/table.md"
}

drive "their returns (\`/console/returns\`)" buyer "$buyer" "/console/returns"
drive "the dispute queue (\`/console/disputes\`)" operator "$operator" "/console/disputes"
drive "a return's page (\`/console/track?rma=\`)" buyer "$buyer" "/console/track?rma=$buyer_rma"
drive "a dispute's page, with the recommendation" operator "$operator" "/console/track?rma=$dispute_rma"

rss_kb=$(ps -o rss= -p "$service_pid" | tr -d ' ')
{
  echo "Console pages on the demo marketplace ($(grep -m1 'days of a marketplace' "$work/demo.out" | sed 's/, 20[0-9-]* to [^:]*:[0-9]* UTC//'));"
  echo "\`wrk -t2 -c16 -d${seconds}s --latency\` per page, this machine, $(date -u +%Y-%m-%d)."
  echo
  cat "$work/table.md"
  echo
  echo "The service's resident memory after the runs: $((rss_kb / 1024)) MB. \`returns demo\` filled the database in $((demo_ms / 1000)).$(printf '%03d' $((demo_ms % 1000))) s."
} | tee "$out"
