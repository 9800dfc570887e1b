#!/usr/bin/env bash
# Soak: holds mixed load on a real `distillguard serve` (plain, streamed, aborted and erroring requests from a few
# accounts) for a configurable time, and prints the server's RSS, open handles, threads and usage-event counters at
# intervals; at the end it stops the server with SIGTERM and checks that every request landed in the usage log once.
#
#   bench/soak.sh [--minutes M] [--interval S] [--clients C] [--port P] [--out FILE]
#
# Needs a Release build of src/DistillGuard.Cli (dotnet build src/DistillGuard.Cli -c Release), curl and sqlite3.
set -euo pipefail

minutes=1
interval=10
clients=4
port=18931
out=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --minutes) minutes="$2"; shift 2 ;;
    --interval) interval="$2"; shift 2 ;;
    --clients) clients="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

root="$(cd "$(dirname "$0")/.." && pwd)"
cli="${DG_CLI:-$root/src/DistillGuard.Cli/bin/Release/net10.0/distillguard}"
[[ -f "$cli" ]] || { echo "build the CLI first: dotnet build src/DistillGuard.Cli -c Release" >&2; exit 2; }
work="$(mktemp -d /tmp/dg-soak.XXXXXX)"
data="$work/data"
base="http://127.0.0.1:$port"
export DISTILLGUARD_ADMIN_TOKEN="soak-admin-token-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
[[ -n "$out" ]] && exec > >(tee "$out")

"$cli" serve --port "$port" --host 127.0.0.1 --data "$data" > "$work/server.log" 2>&1 &
server=$!
cleanup() { kill "$server" 2>/dev/null || true; kill $(jobs -p) 2>/dev/null || true; }
trap cleanup EXIT
for _ in $(seq 1 600); do curl -fs "$base/healthz" > /dev/null 2>&1 && break; sleep 0.5; done
curl -fs "$base/healthz" > /dev/null || { echo "server did not start"; cat "$work/server.log"; exit 1; }

keys=()
for c in $(seq 1 "$clients"); do
  key=$(curl -fs -H "Authorization: Bearer $DISTILLGUARD_ADMIN_TOKEN" -H 'Content-Type: application/json' \
    -d "{\"id\":\"soak-$c\",\"org\":\"soak\",\"tier\":\"enterprise\"}" "$base/admin/v1/accounts" | jq -r .apiKey)
  keys+=("$key")
done

# One client: a loop of the four kinds, counting what it sent.
client() {
  local key="$1" counter="$2" n=0 sent=0
  local chat="$base/v1/chat/completions" auth="Authorization: Bearer $key" json='Content-Type: application/json'
  while [[ ! -f "$work/stop" ]]; do
    n=$((n + 1))
    case $((n % 4)) in
      0) curl -s -o /dev/null -H "$auth" -H "$json" -d '{"model":"dg-teacher","max_tokens":40,"messages":[{"role":"user","content":"Explain the tides in one paragraph."}]}' "$chat" || true ;;
      1) curl -s -N -o /dev/null -H "$auth" -H "$json" -d '{"model":"dg-teacher","stream":true,"max_tokens":60,"messages":[{"role":"user","content":"Tell me about rivers."}]}' "$chat" || true ;;
      2) curl -s -N -o /dev/null --max-time 0.15 -H "$auth" -H "$json" -d '{"model":"dg-teacher","stream":true,"max_tokens":2000,"messages":[{"role":"user","content":"Write at length."}]}' "$chat" || true ;;
      3) curl -s -o /dev/null -H "$auth" -H "$json" -d '{"model":"dg-teacher","messages":[{"role":"user","content":"x"}],"max_tokens":5,"max_completion_tokens":6}' "$chat" || true ;;
    esac
    sent=$((sent + 1))
    echo "$sent" > "$counter"
  done
}

for c in $(seq 1 "$clients"); do client "${keys[$((c - 1))]}" "$work/sent-$c" & done

metric() { curl -fs "$base/metrics" | awk -v name="$1" '$1 == name { print $2 }'; }
printf '| elapsed s | RSS MB | handles | threads | requests sent | events enqueued | written | dropped |\n|---|---|---|---|---|---|---|---|\n'
start=$(date +%s)
end=$((start + minutes * 60))
while (( $(date +%s) < end )); do
  sleep "$interval"
  rss=$(awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$server/status")
  threads=$(awk '/Threads/ { print $2 }' "/proc/$server/status")
  handles=$(ls "/proc/$server/fd" | wc -l)
  sent=$(cat "$work"/sent-* 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
  printf '| %d | %s | %d | %d | %d | %s | %s | %s |\n' $(( $(date +%s) - start )) "$rss" "$handles" "$threads" "$sent" \
    "$(metric distillguard_usage_events_enqueued)" "$(metric distillguard_usage_events_written)" "$(metric distillguard_usage_events_dropped)"
done

touch "$work/stop"
wait $(jobs -p | grep -v "^$server$") 2>/dev/null || true
sent=$(cat "$work"/sent-* | awk '{ s += $1 } END { print s + 0 }')
kill -TERM "$server"
wait "$server" || true
trap - EXIT
logged=$(sqlite3 "$data/usage.db" "SELECT COUNT(*) FROM usage_events WHERE account_id LIKE 'soak-%';")
echo
echo "requests sent: $sent; usage events logged: $logged; lost: $((sent - logged))"
sqlite3 "$data/usage.db" "SELECT status, COUNT(*) FROM usage_events WHERE account_id LIKE 'soak-%' GROUP BY status ORDER BY status;" | sed 's/^/status |/'
rm -rf "$work"
(( sent == logged ))
