#!/usr/bin/env bash
# gapless's main job on one machine: installs what is missing, builds,
# starts the private PostgreSQL (unless DATABASE_URL or PGHOST names a
# server), applies the migrations, then runs the broker, gapless-sim (the
# embedded data source) and every actor that is built, until Ctrl-C.
#
#   tools/run.sh            run until SIGINT/SIGTERM
#   tools/run.sh --check    start everything, backfill one year of AAPL daily
#                           bars through the scheduler, check it landed, stop
#
# State lives in var/ (database, ipc sockets, logs in var/log/).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
check=0
case "${1:-}" in
  --check) check=1 ;;
  -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  "") ;;
  *) echo "run.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
esac

"$top/tools/setup.sh"
build=${GL_BUILD_DIR:-$top/build}
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null

cd "$top"
mkdir -p var/log
for log in var/log/*.log; do [ -e "$log" ] && : >"$log"; done
pids=()
started_pg=0
stop_all() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "$started_pg" = 1 ]; then tools/pg.sh stop var/pg >/dev/null || true; fi
}
trap stop_all EXIT
trap 'exit 0' INT TERM

# start NAME COMMAND...: runs a daemon with its output in var/log/NAME.log.
start() {
  local name=$1; shift
  "$@" >>"var/log/$name.log" 2>&1 &
  pids+=($!)
  echo "run: started $name (pid $!, log var/log/$name.log)"
}

# wait_for FILE PATTERN WHAT: waits up to 10 s for a line in a log.
wait_for() {
  for _ in $(seq 100); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "run: $3 did not come up; see $1" >&2
  exit 1
}

if [ -z "${DATABASE_URL:-}" ] && [ -z "${PGHOST:-}" ]; then
  tools/pg.sh start var/pg
  started_pg=1
fi
"$build/tools/cli/gapless" migrate

start broker "$build/broker/gapless-broker" --config config/gapless.cfg
wait_for var/log/broker.log "event=broker_started" "the broker"
start sim "$build/tools/sim/gapless-sim" --config config/sim.cfg
wait_for var/log/sim.log "provider=admin" "gapless-sim"
start writer "$build/actors/writer/gapless-writer" --config config/gapless.cfg
wait_for var/log/broker.log "instance_ready address=writer/" "the writer"
start scheduler "$build/actors/scheduler/gapless-scheduler" --config config/gapless.cfg
wait_for var/log/broker.log "instance_ready address=scheduler/" "the scheduler"
start ops "$build/actors/ops/gapless-ops" --config config/gapless.cfg
wait_for var/log/broker.log "instance_ready address=ops/" "ops"
start coverage "$build/actors/coverage/gapless-coverage" --config config/gapless.cfg
wait_for var/log/broker.log "instance_ready address=coverage/" "the coverage tracker"

# One fetcher per provider, pointed at gapless-sim with the sim's keys.
declare -A sim_keys=([polygon]=sim-polygon-key [yahoo]= [tradier]=sim-tradier-token
                     [finnhub]=sim-finnhub-key [alpaca]=sim-alpaca-key-id)
for provider in polygon yahoo tradier finnhub alpaca; do
  upper=${provider^^}
  url=$(grep "listening provider=$provider " var/log/sim.log | sed 's/.*url=//')
  export "GAPLESS_FETCHER_${upper}_BASE_URL=$url"
  export "GAPLESS_FETCHER_${upper}_KEY=${sim_keys[$provider]}"
  [ "$provider" = alpaca ] && export GAPLESS_FETCHER_ALPACA_SECRET=sim-alpaca-secret
  start "fetcher.$provider" "$build/actors/fetcher/gapless-fetcher" --provider "$provider" \
    --config config/gapless.cfg
  wait_for var/log/broker.log "instance_ready address=fetcher.$provider/" "the $provider fetcher"
done

echo "run: gapless is up — broker $(grep -o 'endpoint=[^ ]*' var/log/broker.log | tr '\n' ' ')"
grep "listening" var/log/sim.log | sed 's/^/run: sim /'
gapless=$build/tools/cli/gapless
if [ "$check" = 1 ]; then
  # A fetcher sends nothing in its first rate-limit window (60 s for
  # yahoo's 30/60s): a new member of a shared credential must not push the
  # sum over the limit (protocol/SPEC.md 5.7).
  answer=$("$gapless" enqueue AAPL --timeframe 1d --from 2024-01-01 --to 2025-01-01 --json)
  id=$(echo "$answer" | sed -n 's/.*"backfill_id": \([0-9]*\).*/\1/p')
  [ -n "$id" ] || { echo "run: enqueue failed: $answer" >&2; exit 1; }
  for _ in $(seq 180); do
    "$gapless" status "$id" --json | grep -q '"status": "succeeded"' && break
    sleep 1
  done
  "$gapless" status "$id"
  "$gapless" status "$id" --json | grep -q '"status": "succeeded"' \
    || { echo "run: the check backfill did not finish; see var/log/" >&2; exit 1; }
  echo "run: check passed, stopping"
  exit 0
fi
cat <<EOF
run: Ctrl-C to stop. Try, in another shell:
  $gapless enqueue AAPL,MSFT --timeframe 1h --from 2024-01-01 --to 2024-07-01 --wait
  $gapless status
  $gapless watch                          # live dashboard, q quits
  $gapless providers
  curl -s http://127.0.0.1:9571/metrics   # Prometheus; /health too
  $gapless coverage AAPL 1h --from 2024-01-01 --to 2024-07-01
EOF
wait
