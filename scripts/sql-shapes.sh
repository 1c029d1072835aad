#!/usr/bin/env bash
# What the database alone costs for the SQL of one command, beside the one-row INSERT: pgbench runs
# each script of scripts/bench/shapes/ (no HTTP, no service) against a scratch database migrated by
# the service binary. See docs/benchmarks.md, "The database's share of a command".
#
#   scripts/sql-shapes.sh --binary target/release/returns \
#     --admin-url postgres://postgres@127.0.0.1:5432/postgres --seconds 8 --clients "16 64" \
#     --out FILE.md   (the table goes to FILE.md too)
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "$0")/.." && pwd)
say() { echo "sql-shapes: $*" >&2; }
die() { say "$*"; exit 1; }

binary=target/release/returns
admin=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
seconds=8
clients="16 64"
out=""

while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary=${2:?--binary needs a path}; shift 2 ;;
    --admin-url) admin=${2:?--admin-url needs a URL}; shift 2 ;;
    --seconds) seconds=${2:?--seconds needs a number}; shift 2 ;;
    --clients) clients=${2:?--clients needs a list}; shift 2 ;;
    --out) out=${2:?--out needs a file}; shift 2 ;;
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 0 ;;
    *) die "unknown argument: $1" ;;
  esac
done
[[ $seconds =~ ^[1-9][0-9]*$ ]] || die "--seconds must be a whole number above 0, not $seconds"
for tool in pgbench psql; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is missing (Debian: postgresql-client)"
done
[ -x "$binary" ] || die "no service binary at $binary (cargo build --release -p returns-server)"

db="returns_shapes_$$_$RANDOM"
url="${admin%/*}/$db"
cleanup() {
  psql -X -q "$admin" -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 ||
    say "could not drop scratch database $db"
}
trap cleanup EXIT
psql -X -q "$admin" -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$db\"" >/dev/null
DATABASE_URL="$url" "$binary" migrate >/dev/null
psql -X -q "$url" -v ON_ERROR_STOP=1 -f "$here/scripts/bench/shapes/setup.sql" >/dev/null

table="| SQL of | clients | transactions/s | × INSERT |"$'\n'"|---|---:|---:|---:|"
for c in $clients; do
  base=""
  for shape in insert register-executor register-two-statements append-only; do
    tps=$(pgbench -n -M prepared -c "$c" -j 2 -T "$seconds" -f "$here/scripts/bench/shapes/$shape.sql" "$url" 2>/dev/null |
      awk '/^tps/ { printf "%.0f", $3 }')
    [ -n "$tps" ] || die "pgbench failed on $shape"
    [ -n "$base" ] || base=$tps
    ratio=$(awk -v a="$tps" -v b="$base" 'BEGIN { printf "%.2f", a / b }')
    table+=$'\n'"| $shape | $c | $tps | $ratio |"
  done
done
printf '%s\n' "$table"
[ -z "$out" ] || printf '%s\n' "$table" >"$out"
