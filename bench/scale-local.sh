#!/usr/bin/env bash
# The scaled-out deployment on one machine: N `distillguard serve` replicas sharing one redis-server (rate limits,
# reservations, in-flight leases) and one PostgreSQL (the usage log). docs/scale.md explains each part.
#
#   bench/scale-local.sh start [--replicas N] [--dir DIR]   start PostgreSQL, redis-server and N replicas (default 3)
#   bench/scale-local.sh account ID [TIER]                   create account ID with one key on every replica; prints the key
#   bench/scale-local.sh status                              what runs, where
#   bench/scale-local.sh stop                                stop the replicas, redis-server and PostgreSQL
#
# Ports: replicas 18101…18100+N, redis-server 16379, PostgreSQL 15432 (all on 127.0.0.1). State lives in DIR
# (default /tmp/dg-scale): one data directory per replica, the PostgreSQL cluster, logs. Needs a Release build of the
# CLI (dotnet build src/DistillGuard.Cli -c Release), redis-server and PostgreSQL 15+ (apt-get install redis-server
# postgresql), curl. Run as root, PostgreSQL runs as the postgres user.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cli="${DG_CLI:-$root/src/DistillGuard.Cli/bin/Release/net10.0/distillguard}"
dir="${DG_SCALE_DIR:-/tmp/dg-scale}"
replicas=3
redis_port=16379
pg_port=15432
base_port=18100
admin_token="${DISTILLGUARD_ADMIN_TOKEN:-scale-local-admin-token-0123456789}"

command="${1:-}"
[[ $# -gt 0 ]] && shift
args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --replicas) replicas="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done

pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
[[ -n "$pg_bin" ]] || pg_bin="$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/initdb)")"
as_postgres() { if [[ $(id -u) -eq 0 ]]; then setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; else "$@"; fi; }
pg_connection="Host=127.0.0.1;Port=$pg_port;Username=dg;Database=distillguard"
redis_configuration="127.0.0.1:$redis_port,abortConnect=false"

start_postgres() {
  [[ -x "$pg_bin/initdb" ]] || { echo "PostgreSQL is not installed: apt-get install -y postgresql" >&2; exit 2; }
  mkdir -p "$dir"
  chmod 0777 "$dir"
  if [[ ! -d "$dir/pg" ]]; then
    as_postgres "$pg_bin/initdb" -D "$dir/pg" -U dg -A trust -E UTF8 --locale=C >"$dir/initdb.log"
  fi
  if ! as_postgres "$pg_bin/pg_ctl" -D "$dir/pg" status >/dev/null 2>&1; then
    # Server defaults for durability (fsync, synchronous_commit on): a COPY that returned is on disk.
    as_postgres "$pg_bin/pg_ctl" -D "$dir/pg" -l "$dir/postgres.log" -w \
      -o "-p $pg_port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
  fi
  "$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U dg -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'distillguard'" | grep -q 1 \
    || "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U dg distillguard
}

start_redis() {
  command -v redis-server >/dev/null || { echo "redis-server is not installed: apt-get install -y redis-server" >&2; exit 2; }
  if ! redis-cli -p "$redis_port" ping >/dev/null 2>&1; then
    # No persistence: a restart forgets counters (docs/scale.md, "When a part fails").
    redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
      --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" >/dev/null
  fi
}

start_replicas() {
  [[ -x "$cli" ]] || { echo "build the CLI first: dotnet build src/DistillGuard.Cli -c Release" >&2; exit 2; }
  for i in $(seq 1 "$replicas"); do
    local port=$((base_port + i)) data="$dir/replica-$i"
    mkdir -p "$data"
    if [[ -f "$data/pid" ]] && kill -0 "$(cat "$data/pid")" 2>/dev/null; then continue; fi
    cat >"$data/gateway.json" <<JSON
{
  "port": $port,
  "dataDirectory": "$data/data",
  "rateLimits": {
    "defaultTier": "standard",
    "tiers": {
      "standard": { "requestsPerMinute": 600, "tokensPerMinute": 400000 },
      "demo": { "requestsPerDay": 20 }
    }
  },
  "sharedState": { "redis": "$redis_configuration", "onUnreachable": "open" },
  "storage": { "postgres": "$pg_connection" }
}
JSON
    DISTILLGUARD_ADMIN_TOKEN="$admin_token" nohup "$cli" serve --config "$data/gateway.json" >"$data/serve.log" 2>&1 &
    echo $! >"$data/pid"
  done
  for i in $(seq 1 "$replicas"); do
    local port=$((base_port + i))
    for _ in $(seq 1 120); do
      curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
      sleep 1
    done
    curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || { echo "replica $i did not start; see $dir/replica-$i/serve.log" >&2; exit 1; }
  done
}

running_replicas() { ls -d "$dir"/replica-* 2>/dev/null | sort -V; }

case "$command" in
  start)
    start_postgres
    start_redis
    start_replicas
    echo "replicas:   $(for i in $(seq 1 "$replicas"); do printf 'http://127.0.0.1:%s/v1 ' $((base_port + i)); done)"
    echo "redis:      $redis_configuration"
    echo "postgres:   $pg_connection"
    echo "admin:      Authorization: Bearer $admin_token"
    echo "next:       $0 account demo-1 demo    (20 requests a day; then send requests to any replica with the printed key)"
    ;;
  account)
    [[ ${#args[@]} -ge 1 ]] || { echo "usage: $0 account ID [TIER]" >&2; exit 2; }
    id="${args[0]}"; tier="${args[1]:-standard}"
    # Accounts live in each replica's data directory: the same id and key go to every replica.
    key="dg-$(head -c 18 /dev/urandom | base64 | tr -d '/+=' | head -c 24)"
    for data in $(running_replicas); do
      port=$(grep -o '"port": [0-9]*' "$data/gateway.json" | grep -o '[0-9]*$')
      curl -fsS -o /dev/null -H "Authorization: Bearer $admin_token" -H 'Content-Type: application/json' \
        -d "{\"id\":\"$id\",\"apiKey\":\"$key\",\"tier\":\"$tier\"}" "http://127.0.0.1:$port/admin/v1/accounts"
    done
    echo "$key"
    ;;
  status)
    for data in $(running_replicas); do
      state=stopped; [[ -f "$data/pid" ]] && kill -0 "$(cat "$data/pid")" 2>/dev/null && state="running (pid $(cat "$data/pid"))"
      echo "$(basename "$data"): $state, $(grep -o '"port": [0-9]*' "$data/gateway.json")"
    done
    redis-cli -p "$redis_port" ping 2>/dev/null | sed 's/^/redis-server: /' || echo "redis-server: down"
    as_postgres "$pg_bin/pg_ctl" -D "$dir/pg" status 2>/dev/null | head -1 | sed 's/^/postgres: /' || echo "postgres: down"
    ;;
  stop)
    for data in $(running_replicas); do
      if [[ -f "$data/pid" ]]; then
        # SIGTERM: the replica stops taking requests and drains its usage log into PostgreSQL before it exits.
        kill "$(cat "$data/pid")" 2>/dev/null || true
        while kill -0 "$(cat "$data/pid")" 2>/dev/null; do sleep 0.2; done
        rm -f "$data/pid"
      fi
    done
    redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
    if [[ -d "$dir/pg" ]]; then as_postgres "$pg_bin/pg_ctl" -D "$dir/pg" -m fast -w stop >/dev/null 2>&1 || true; fi
    echo "stopped; state kept in $dir (rm -rf it to start afresh)"
    ;;
  *)
    sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
