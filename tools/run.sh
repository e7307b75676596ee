#!/usr/bin/env bash
# gapless's main job on one machine: installs what is missing, builds,
# starts the private PostgreSQL (unless DATABASE_URL or PGHOST names a
# server), applies the migrations, runs the broker, gapless-sim (the
# embedded data source, with faults injected), the scheduler, the writer,
# the coverage tracker, ops and a fetcher per provider (two for polygon,
# sharing its key), then backfills four symbols in three timeframes with
# live progress, prints the coverage report and a psql line to see the
# bars, and stays up for more `gapless enqueue` until Ctrl-C.
#
#   tools/run.sh            do the main job, then run until SIGINT/SIGTERM
#   tools/run.sh --check    do the main job and stop: exit 0 only when every
#                           slice succeeded and coverage finds no gap
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
# The demo's weather: Polygon fails a few requests (5xx, cut bodies),
# which the fetchers retry; Yahoo keeps its tight limit.
admin=$(grep "listening provider=admin " var/log/sim.log | sed 's/.*url=//')
curl -fsS -X POST "$admin/admin/faults?provider=polygon&server_error=0.03&truncate=0.02" \
  >/dev/null || { echo "run: cannot set the sim's faults" >&2; exit 1; }
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
  instances=1
  [ "$provider" = polygon ] && instances=2     # two fetchers share one key's limit
  for instance in $(seq "$instances"); do
    start "fetcher.$provider.$instance" "$build/actors/fetcher/gapless-fetcher" \
      --provider "$provider" --instance "$provider-$instance" --config config/gapless.cfg
  done
  wait_for var/log/broker.log "instance_ready address=fetcher.$provider/" "the $provider fetcher"
done

echo "run: gapless is up — broker $(grep -o 'endpoint=[^ ]*' var/log/broker.log | tr '\n' ' ')"
grep "listening" var/log/sim.log | sed 's/^/run: sim /'
gapless=$build/tools/cli/gapless
progress=()
[ -t 1 ] || progress=(--no-progress)
# The main job: four symbols, a week of 1m bars (polygon), half a year of
# 1h (polygon), two years of 1d (yahoo, whose tight limit makes it the
# slow one). A fetcher sends nothing in its first rate-limit window (a
# minute for these limits: protocol/SPEC.md 5.7), so the first bars come
# after it.
symbols=AAPL,MSFT,NVDA,SPY
jobs=("1m 2024-06-03 2024-06-08" "1h 2024-01-01 2024-07-01" "1d 2023-01-01 2025-01-01")
failed=0
for job in "${jobs[@]}"; do
  read -r timeframe from to <<<"$job"
  echo "run: gapless enqueue $symbols --timeframe $timeframe --from $from --to $to --wait"
  "$gapless" enqueue "$symbols" --timeframe "$timeframe" --from "$from" --to "$to" --wait \
    "${progress[@]}" || failed=1
done
# What is stored, against the calendar: every expected bar accounted for.
# A provider that leaves holes (Yahoo sends some bars as nulls) makes the
# coverage tracker refill them from the next provider: wait for that.
coverage_report() {
  local missing=0 timeframe from to symbol report
  for job in "${jobs[@]}"; do
    read -r timeframe from to <<<"$job"
    for symbol in ${symbols//,/ }; do
      report=$("$gapless" coverage "$symbol" "$timeframe" --from "$from" --to "$to" --json) \
        || { echo "run: no coverage answer for $symbol $timeframe" >&2; missing=1; continue; }
      echo "$report" | /usr/bin/python3 -c '
import json, sys
fields = json.load(sys.stdin)
missing = int(fields["not_fetched"]) + int(fields["provider_error"])
if sys.argv[1] == "print" or missing:
    print("run: coverage %-5s %-3s: %6s bars expected, %6s stored, %s no trades, %d missing, %s gaps"
          % (fields["symbol"], fields["timeframe"], fields["expected"], fields["stored"],
             fields["no_trades"], missing, fields["gaps"]))
sys.exit(1 if missing else 0)' "$1" || missing=1
    done
  done
  return "$missing"
}
if ! coverage_report quiet; then
  echo "run: a provider left holes (above); the coverage tracker refills them from the next one"
  for _ in $(seq 45); do
    sleep 2
    coverage_report quiet >/dev/null && break
  done
fi
gaps=0
coverage_report print || gaps=1
database=${DATABASE_URL:-$(cat var/pg/url 2>/dev/null)}
echo "run: the bars are in PostgreSQL; see them with"
echo "  psql \"$database\" -c \"SELECT * FROM gapless.bars WHERE symbol = 'AAPL' AND timeframe = '1h' ORDER BY ts DESC LIMIT 5\""
if [ "$check" = 1 ]; then
  if [ "$failed" = 0 ] && [ "$gaps" = 0 ]; then
    echo "run: check passed: every slice succeeded and coverage finds no gap; stopping"
    exit 0
  fi
  echo "run: check FAILED (a backfill failed: $failed, bars missing: $gaps); see var/log/" >&2
  exit 1
fi
cat <<EOF
run: gapless stays up; Ctrl-C to stop. Try, in another shell:
  $gapless enqueue AAPL,MSFT --timeframe 1h --from 2023-01-01 --to 2024-01-01 --wait
  $gapless status
  $gapless watch                          # live dashboard, q quits
  $gapless providers
  $gapless coverage AAPL 1h --from 2023-01-01 --to 2024-07-01
  curl -s http://127.0.0.1:9571/metrics   # Prometheus; /health too
  /usr/bin/python3 tools/examples/watch.py    # progress from Python (pyzmq, msgpack)
EOF
wait
