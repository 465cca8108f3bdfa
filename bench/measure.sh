#!/usr/bin/env bash
# Quick foundation measurements with wrk against a release build on 127.0.0.1:
# signups/s with the argon2 pool saturated, note create latency, note read
# latency and throughput. Each run is bounded in time. Usage:
#   bench/measure.sh [DATABASE_URL]      (no argument: SQLite in a temporary directory)
# The full benchmark harness (ceiling ratios, open-loop load) is separate.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 1; }
binary="${CARGO_TARGET_DIR:-target}/release/pengyou"
[ -x "$binary" ] || cargo build --release --locked
port=18181
data=$(mktemp -d)
base="http://127.0.0.1:$port"
if [ $# -gt 0 ]; then export DATABASE_URL="$1"; else unset DATABASE_URL; fi
# All load comes from one address: lift the per-address sign-up and login limits.
PENGYOU_SIGNUPS_PER_HOUR=0 PENGYOU_LOGINS_PER_MINUTE=0 PENGYOU_LISTEN="127.0.0.1:$port" PENGYOU_DATA_DIR="$data" RUST_LOG=warn "$binary" serve &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do curl -fs "$base/healthz" >/dev/null && break; sleep 0.1; done

json() { python3 -c "import sys, json; print(json.load(sys.stdin)['$1'])"; }
app=$(curl -fs -X POST "$base/api/v1/apps" -d client_name=bench -d redirect_uris=urn:ietf:wg:oauth:2.0:oob -d 'scopes=read write')
client_id=$(echo "$app" | json client_id); client_secret=$(echo "$app" | json client_secret)
export APP_TOKEN=$(curl -fs -X POST "$base/oauth/token" -d grant_type=client_credentials -d client_id="$client_id" -d client_secret="$client_secret" -d 'scope=read write' | json access_token)
export USER_TOKEN=$(curl -fs -X POST "$base/api/v1/accounts" -H "Authorization: Bearer $APP_TOKEN" -d username=bencher -d 'password=correct horse battery staple' -d agreement=true | json access_token)
note_id=$(curl -fs -X POST "$base/api/v1/statuses" -H "Authorization: Bearer $USER_TOKEN" -d 'status=读 read me #cat' | json id)

run() { # label, wrk args...
  local label=$1; shift
  printf '%-34s ' "$label"
  wrk "$@" -s bench/wrk/report.lua 2>/dev/null | grep RESULT || true
}
# wrk loads one script; concatenate the request generator with the reporter.
combine() { cat "bench/wrk/$1.lua" bench/wrk/report.lua > "$data/$1.lua"; echo "$data/$1.lua"; }
echo "database: ${DATABASE_URL:-sqlite}"
printf '%-34s ' "signups (16 connections, 15 s)"; wrk -t2 -c16 -d15s -s "$(combine signup)" "$base" | grep RESULT
printf '%-34s ' "note create (1 connection, 10 s)"; wrk -t1 -c1 -d10s -s "$(combine post)" "$base" | grep RESULT
printf '%-34s ' "note create (16 connections, 10 s)"; wrk -t2 -c16 -d10s -s "$(combine post)" "$base" | grep RESULT
run "note read (1 connection, 10 s)" -t1 -c1 -d10s -H "Authorization: Bearer $USER_TOKEN" "$base/api/v1/statuses/$note_id"
run "note read (16 connections, 10 s)" -t2 -c16 -d10s -H "Authorization: Bearer $USER_TOKEN" "$base/api/v1/statuses/$note_id"
