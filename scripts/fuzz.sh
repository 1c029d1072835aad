#!/usr/bin/env bash
# Fuzzes the HTTP service from its own /openapi.json with schemathesis (PyPI), as each of the four
# roles: every operation gets generated requests, and the checks fail on any 5xx, any status,
# content type or header the document does not allow, and any body that does not match its schema.
# (Not checked: that the document's schemas are as strict as the service's validation, which
# refuses more than they say, e.g. the characters of ids, the format of If-Match and cursors.)
#
#   scripts/fuzz.sh --binary target/debug/returns \
#     --admin-url postgres://postgres@127.0.0.1:5432/postgres --examples 60
#
# Installs schemathesis with pip when it is missing. The service runs on a scratch database (dropped
# at exit) with the test clock on and rate limits off. Progress and schemathesis' report go to
# standard output; exits non-zero when a check failed.
set -euo pipefail
export LC_ALL=C.UTF-8

say() { echo "fuzz: $*" >&2; }
die() { say "$*"; exit 1; }

binary=target/debug/returns
admin=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
examples=60
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary=${2:?--binary needs a path}; shift 2 ;;
    --admin-url) admin=${2:?--admin-url needs a URL}; shift 2 ;;
    --examples) examples=${2:?--examples needs a number}; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 0 ;;
    *) die "unknown argument: $1" ;;
  esac
done
[ -x "$binary" ] || die "no service binary at $binary (cargo build -p returns-server)"
command -v schemathesis >/dev/null 2>&1 || pip install -q schemathesis || die "cannot install schemathesis"
command -v psql >/dev/null 2>&1 || die "psql is missing (Debian: postgresql-client)"

db="returns_fuzz_$$_$RANDOM"
secret=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
log=$(mktemp)
service_pid=""
# shellcheck disable=SC2317  # run by the trap below
cleanup() {
  [ -z "$service_pid" ] || kill "$service_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  psql -X -q "$admin" -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
  rm -f "$log"
}
trap cleanup EXIT

DATABASE_URL="${admin%/*}/$db" RETURNS_JWT_SECRET="$secret" RETURNS_LISTEN=127.0.0.1:0 \
  RETURNS_TEST_CLOCK=1 RUST_LOG=warn \
  RETURNS_RATE_LIMIT_PARTY_PER_MINUTE=0 RETURNS_RATE_LIMIT_OPERATOR_PER_MINUTE=0 \
  RETURNS_RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE=0 \
  "$binary" serve >"$log" 2>&1 &
service_pid=$!
url=""
for _ in $(seq 1 600); do
  url=$(sed -n 's/^returns service listening on //p' "$log" | head -n1)
  [ -n "$url" ] && break
  kill -0 "$service_pid" 2>/dev/null || die "the service exited: $(cat "$log")"
  sleep 0.1
done
[ -n "$url" ] || die "the service did not start"
say "service at $url"

status=0
for role in platform operator seller buyer; do
  token=$(RETURNS_JWT_SECRET="$secret" "$binary" token --role "$role" --sub "$role-1")
  say "as $role: $examples examples per operation"
  schemathesis run "$url/openapi.json" --url "$url" \
    -H "Authorization: Bearer $token" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
    --max-examples "$examples" --request-timeout 10 \
    --generation-deterministic || status=1
done
# Errors the service logged, other than actix-web's report of a request it could not parse (a
# header schemathesis made malformed on purpose, answered 400 before any handler ran).
errors=$(grep '"level":"ERROR"' "$log" | grep -v 'request parse error' || true)
if [ -n "$errors" ]; then
  say "the service logged errors:"
  echo "$errors" | head -20 >&2
  status=1
fi
exit "$status"
