#!/usr/bin/env bash
# The live check of the detector: starts `distillguard serve` as shipped (built-in teacher, default policy and
# calibration) on a fresh data directory, replays one simulated scenario through it with the official OpenAI client
# and no min_tokens (answers as long as the teacher makes them), and prints who the gateway flagged, with the reasons
# from its admin API, beside the same events scored offline.
#
# One change from the shipped configuration, on by default: the per-tier rate limits are switched off. The replay
# sends a day of virtual traffic in minutes, so a harvester pacing itself at 40-120 requests an hour would arrive at
# hundreds a minute and the free tier's 20 a minute would refuse most of it — a compression artefact, not a defence
# the real pace meets. RATE_LIMITS=on keeps them (then expect many 429s, and refused requests are not harvest).
#
# Cast (held-out families marked *): a harvester whose reasoning asks avoid the detector's lexicon*, a short-answer
# soft-label harvester* (logprobs, top_logprobs 5, max_tokens 12), a prober within four settings* (n = 4,
# top_logprobs 20), a fleet on one card, one /24 and one template*; and, legitimate, varied human users*, an
# evaluation harness and a student cohort behind one NAT with one assignment prompt.
#
# Usage: bench/live-truth.sh [--json] [extra `distillguard simulate` options]
# Environment: SEED (7), DAYS (1), PORT (18099), MAX_REQUESTS (6000), CONCURRENCY (4), CAST (the list below), RATE_LIMITS (off),
#              DISTILLGUARD (path of a built distillguard; default: build src/DistillGuard.Cli in Release).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cli=${DISTILLGUARD:-$root/src/DistillGuard.Cli/bin/Release/net10.0/distillguard}
if [[ -z ${DISTILLGUARD:-} ]]; then
  dotnet build "$root/src/DistillGuard.Cli/DistillGuard.Cli.csproj" -c Release -v quiet -nologo >&2
fi
seed=${SEED:-7}
days=${DAYS:-1}
port=${PORT:-18099}
cast=${CAST:-plain-spoken-harvester=1,soft-label-harvester=1,four-setting-prober=1,card-fleet=20,varied-human=20,eval-researcher=1,student-cohort=40}
data=$(mktemp -d "${TMPDIR:-/tmp}/dg-live-truth.XXXXXX")
config=()
if [[ ${RATE_LIMITS:-off} == off ]]; then
  echo '{ "rateLimits": { "enabled": false } }' >"$data/gateway.json"
  config=(--config "$data/gateway.json")
fi
"$cli" serve --port "$port" --data "$data" "${config[@]}" >"$data/serve.log" 2>&1 &
serve=$!
trap 'kill "$serve" 2>/dev/null || true; wait "$serve" 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do
  if [[ -s $data/admin-token ]] && curl -fsS "http://localhost:$port/healthz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$serve" 2>/dev/null; then echo "serve exited; see $data/serve.log" >&2; exit 1; fi
  sleep 1
done
echo "serve (pid $serve) on port $port, data $data, rate limits ${RATE_LIMITS:-off}; seed $seed, $days day(s): $cast" >&2
start=$(date -u +%s)
"$cli" simulate --seed "$seed" --days "$days" --held-out --only "$cast" \
  --live "http://localhost:$port/" --admin-token "$(cat "$data/admin-token")" --natural-lengths \
  --max-requests "${MAX_REQUESTS:-6000}" --concurrency "${CONCURRENCY:-4}" "$@"
echo "replay and verdicts took $(( $(date -u +%s) - start )) s on $(nproc) cores, $(date -u +%FT%TZ)" >&2
