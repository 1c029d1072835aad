#!/usr/bin/env bash
# Takes one return through its whole life against a running service, with curl and tokens from
# the service's own CLI: the commands of docs/walkthrough.md, runnable.
#
#   make run                      # in one terminal
#   scripts/walkthrough.sh        # in another (BASE=http://127.0.0.1:8080 by default)
set -euo pipefail
cd "$(dirname "$0")/.."

BASE=${BASE:-http://127.0.0.1:8080}
export RETURNS_JWT_SECRET=${RETURNS_JWT_SECRET:-$(cat .pg/dev-jwt-secret)}
RETURNS=${RETURNS:-./target/release/returns}
run=$(date +%s)
ORDER="order-$run"

PLATFORM=$($RETURNS token --role platform --sub marketplace)
BUYER=$($RETURNS token --role buyer --sub buyer-1)
SELLER=$($RETURNS token --role seller --sub seller-1)

call() { # METHOD PATH TOKEN [BODY]
  local method=$1 path=$2 token=$3 body=${4:-}
  echo "> $method $path" >&2
  curl -sS --fail-with-body -X "$method" "$BASE$path" \
    -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    ${body:+-d "$body"}
  echo >&2
}
field() { python3 -c 'import json,sys; v=json.load(sys.stdin)
for k in sys.argv[1].split("."): v=v[k]
print(v)' "$1"; }

delivered=$(date -u -d '3 days ago' +%Y-%m-%dT%H:%M:%SZ)
placed=$(date -u -d '6 days ago' +%Y-%m-%dT%H:%M:%SZ)

call PUT /v1/sellers/seller-1/policy "$SELLER" '{"return_window_days": 30, "restocking_fee_percent": 10}' >/dev/null
call POST /v1/orders "$PLATFORM" "{\"order_id\": \"$ORDER\", \"buyer_id\": \"buyer-1\", \"seller_id\": \"seller-1\",
  \"currency\": \"EUR\", \"jurisdiction\": \"DE\", \"placed_at\": \"$placed\", \"delivered_at\": \"$delivered\",
  \"lines\": [{\"line_id\": \"l1\", \"sku\": \"KETTLE-1\", \"title\": \"Kettle\", \"category\": \"kitchen\",
  \"quantity\": 1, \"unit_price_minor\": 4999}]}" >/dev/null

view=$(call POST /v1/returns "$BUYER" "{\"order_id\": \"$ORDER\", \"items\": [{\"line_id\": \"l1\", \"quantity\": 1}],
  \"reason\": \"defective\", \"resolution\": \"refund\"}")
id=$(field id <<<"$view")
echo "return $id, $(field rma <<<"$view"), status $(field status <<<"$view"), rules $(field policy.rules <<<"$view")"

step() { # ACTION TOKEN BODY
  view=$(call POST "/v1/returns/$id/$1" "$2" "$3")
  echo "$1 -> status $(field status <<<"$view"), version $(field version <<<"$view")"
}
step accept "$SELLER" '{"label": {"carrier": "DHL", "tracking_number": "JD0001"}}'
step ship "$BUYER" '{"carrier": "DHL", "tracking_number": "JD0001"}'
step carrier-update "$PLATFORM" "{\"status\": \"delivered\", \"at\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"}"
step inspect "$SELLER" '{"grade": "as_new", "refund_amount_minor": 4999}'
echo "refund due: $(field refund_due_minor <<<"$view")"
step refund "$PLATFORM" '{"amount_minor": 4999, "method": "original_payment", "reference": "psp-123"}'

view=$(call GET "/v1/returns/$id" "$BUYER")
echo "final: status $(field status <<<"$view"), outcome $(field outcome <<<"$view"), refunded $(field refunded_amount_minor <<<"$view")"
call GET "/v1/returns/$id/events" "$BUYER" | python3 -c 'import json,sys
for e in json.load(sys.stdin)["items"]: print(e["version"], e["type"], e["actor"]["role"])'
