#!/usr/bin/env bash
# test_hosts — gapless across three hosts, for real: Linux network
# namespaces joined by veth pairs on a bridge, with latency and loss
# (tc netem) on the fetchers' link.
#
#   gl-broker  10.77.0.1   broker (CURVE), scheduler, the CLI
#   gl-fetch   10.77.0.2   two polygon fetchers sharing a key, gapless-sim
#   gl-store   10.77.0.3   writer, PostgreSQL (tcp for the scheduler)
#
# A backfill enqueued from gl-broker completes and PostgreSQL holds
# exactly the sim's bars (every column compared); a CLI whose key is not
# in the broker's allow list is refused, logged and counted; every daemon
# stops on SIGTERM with status 0 and leaves nothing running.
#
# Usage: test_hosts.sh BUILD_DIR. Needs root and a kernel that allows
# network namespaces; exits 77 (skipped) with the reason where it cannot.
set -euo pipefail
build=$(cd "$1" && pwd)
work=$(mktemp -d /tmp/gapless-hosts.XXXXXX)
chmod 755 "$work"
pg_bin=/usr/lib/postgresql/15/bin
pids=()

skip() { echo "test_hosts: SKIPPED: $*"; exit 77; }
fail() { echo "test_hosts: FAILED: $*"; for log in "$work"/*.log; do echo "== $log"; tail -5 "$log"; done; exit 1; }

[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, veth, tc)"
command -v ip >/dev/null && command -v tc >/dev/null || skip "needs iproute2 (ip, tc)"
ip netns add gl-probe 2>/dev/null || skip "this kernel or container does not permit network namespaces"
ip netns del gl-probe

cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -f "$work/pg/data/PG_VERSION" ]; then
    runuser -u postgres -- "$pg_bin/pg_ctl" stop -m immediate -D "$work/pg/data" >/dev/null 2>&1 || true
  fi
  remove_network
  rm -rf "$work"
}
remove_network() {
  for ns in gl-broker gl-fetch gl-store; do
    # a process left inside (a killed run's) would keep the namespace alive
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
    ip link del "veth-$ns" 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done
  ip link del gl-br0 2>/dev/null || true
}
remove_network              # what a killed run may have left
trap cleanup EXIT

# The network: a bridge in this namespace, one veth pair per host.
ip link add gl-br0 type bridge
ip link set gl-br0 up
number=1
for ns in gl-broker gl-fetch gl-store; do
  ip netns add "$ns"
  ip link add "veth-$ns" type veth peer name eth0 netns "$ns"
  ip link set "veth-$ns" master gl-br0 up
  ip -n "$ns" addr add "10.77.0.$number/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
  number=$((number + 1))
done
# The fetchers' host is far and lossy, where the kernel has netem
if ip netns exec gl-fetch tc qdisc add dev eth0 root netem delay 20ms 5ms loss 1% 2>/dev/null; then
  link="netem 20 ms 1 % loss"
else
  link="no netem in this kernel: no latency or loss injected"
  echo "test_hosts: $link"
fi
on() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
start() {   # start NS LOG COMMAND...: runs it in the background, remembered
  local ns=$1 log=$2; shift 2
  # exec: the remembered pid is the daemon's (ip netns exec execs too), so
  # cleanup's TERM reaches it and not a subshell that would orphan it
  (exec ip netns exec "$ns" "$@") >"$work/$log" 2>&1 &
  pids+=($!)
}

# Certificates: one pair per process, the stranger's not allowed
gapless=$build/tools/cli/gapless
mkdir -p "$work/certs/allow"
for name in broker scheduler writer fetcher-a fetcher-b cli stranger; do
  "$gapless" keygen "$name" --dir "$work/certs" >/dev/null
done
for name in scheduler writer fetcher-a fetcher-b cli; do cp "$work/certs/$name" "$work/certs/allow/"; done

# PostgreSQL on the store host, reachable over tcp from the others
mkdir -p "$work/pg/socket"
chown -R postgres: "$work/pg"
runuser -u postgres -- "$pg_bin/initdb" -D "$work/pg/data" -U postgres --auth=trust >"$work/initdb.log" 2>&1 \
  || fail "initdb"
echo "host all all 10.77.0.0/24 trust" >>"$work/pg/data/pg_hba.conf"
on gl-store runuser -u postgres -- "$pg_bin/pg_ctl" start -w -D "$work/pg/data" -l "$work/pg/postgres.log" \
  -o "-c listen_addresses=10.77.0.3 -c unix_socket_directories=$work/pg/socket -c fsync=off" >/dev/null \
  || fail "postgres did not start"
database=postgresql://postgres@10.77.0.3:5432/postgres
on gl-broker "$gapless" migrate --database "$database" >"$work/migrate.log" 2>&1 || fail "migrate over tcp"

# The sim on the fetchers' host: polygon with a key and a limit
cat >"$work/sim.cfg" <<EOF
sim
    admin
        port = 18090
    polygon
        port = 18080
        limits = "50/1s"
        keys
            default = "hosts-key"
EOF
start gl-fetch sim.log "$build/tools/sim/gapless-sim" --config "$work/sim.cfg"

export GAPLESS_BROKER_HEARTBEAT_MS=250 GAPLESS_SCHEDULER_DISPATCH_MS=50
export GAPLESS_ACTOR_CURVE_SERVER=$work/certs/broker
start gl-broker broker.log env GAPLESS_BROKER_CURVE_SECRET="$work/certs/broker_secret" \
  GAPLESS_BROKER_CURVE_ALLOW="$work/certs/allow" GAPLESS_BROKER_STATS_MS=500 \
  "$build/broker/gapless-broker" --bind tcp://10.77.0.1:5570
endpoint=tcp://10.77.0.1:5570
start gl-broker scheduler.log env GAPLESS_ACTOR_CURVE_SECRET="$work/certs/scheduler_secret" \
  GAPLESS_FETCHER_POLYGON_LIMITS=50/1s \
  "$build/actors/scheduler/gapless-scheduler" --broker "$endpoint" --database "$database"
start gl-store writer.log env GAPLESS_ACTOR_CURVE_SECRET="$work/certs/writer_secret" \
  "$build/actors/writer/gapless-writer" --broker "$endpoint" --database "$database"
for name in fetcher-a fetcher-b; do
  start gl-fetch "$name.log" env GAPLESS_ACTOR_CURVE_SECRET="$work/certs/${name}_secret" \
    GAPLESS_FETCHER_POLYGON_BASE_URL=http://127.0.0.1:18080 GAPLESS_FETCHER_POLYGON_KEY=hosts-key \
    GAPLESS_FETCHER_POLYGON_LIMITS=50/1s \
    "$build/actors/fetcher/gapless-fetcher" --provider polygon --broker "$endpoint" --instance "$name"
done

cli() { on gl-broker env GAPLESS_ACTOR_CURVE_SECRET="$work/certs/cli_secret" "$gapless" "$@" \
          --broker "$endpoint" --timeout-ms 10000; }
# Both fetchers registered across the lossy link
for _ in $(seq 200); do
  fetchers=$(cli enqueue X --timeframe 1d --from 2024-01-01 --to 2024-02-01 --plan --json 2>/dev/null \
             | python3 -c 'import json,sys; print(json.load(sys.stdin)["fetcher_instances"])' 2>/dev/null || true)
  [ "${fetchers:-0}" = 2 ] && break
  sleep 0.1
done
[ "${fetchers:-0}" = 2 ] || fail "the fetchers did not register through CURVE (saw ${fetchers:-none})"

answer=$(cli enqueue AAPL,MSFT --timeframe 1h --from 2024-01-01 --to 2024-04-01 --json) || fail "enqueue"
field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
backfill=$(echo "$answer" | field backfill_id)
expected_bars=$(echo "$answer" | field bars_expected)
for _ in $(seq 600); do
  status=$(cli status "$backfill" --json | field status)
  [ "$status" = succeeded ] && break
  sleep 0.1
done
[ "$status" = succeeded ] || fail "the backfill ended $status"

# Exactly the sim's bars, every column
on gl-store psql -XAtF, "$database" -c "SELECT symbol, extract(epoch FROM ts)::bigint * 1000, open,
  high, low, close, volume FROM gapless.ohlc_bars WHERE timeframe = '1h' ORDER BY symbol, ts" \
  >"$work/stored.csv"
python3 - "$work/stored.csv" "$expected_bars" <<'EOF' || fail "the stored bars differ from the sim's"
import csv, json, subprocess, sys
stored = [tuple(row) for row in csv.reader(open(sys.argv[1]))]
expected = []
for symbol in ("AAPL", "MSFT"):
    url = ("http://127.0.0.1:18080/v2/aggs/ticker/%s/range/1/hour/2024-01-01/2024-03-31"
           "?adjusted=true&sort=asc&limit=50000&apiKey=hosts-key" % symbol)
    answer = json.loads(subprocess.run(["ip", "netns", "exec", "gl-fetch", "curl", "-s", url],
                                       check=True, capture_output=True).stdout)
    for bar in answer.get("results", []):
        expected.append((symbol, str(bar["t"]), *("%g" % bar[k] for k in ("o", "h", "l", "c", "v"))))
stored = [(row[0], row[1], *("%g" % float(value) for value in row[2:])) for row in stored]
# Every bar the calendar expects is stored (the count the scheduler
# computed at enqueue), once, and each is the sim's in every column; the
# sim may serve more (hours outside the session), which gapless drops.
served = set(expected)
foreign = [bar for bar in stored if bar not in served]
print("test_hosts: %d bars stored, %s expected by the calendar, %d served by the sim,"
      " %d stored bars not the sim's" % (len(stored), sys.argv[2], len(expected), len(foreign)))
sys.exit(1 if foreign or len(stored) != int(sys.argv[2]) or len(set(stored)) != len(stored) else 0)
EOF

# A key not in the allow list is refused, logged and counted
if on gl-broker env GAPLESS_ACTOR_CURVE_SECRET="$work/certs/stranger_secret" "$gapless" status \
     --broker "$endpoint" --timeout-ms 2000 >/dev/null 2>&1; then
  fail "a stranger's key was let in"
fi
grep -q "event=curve_refused" "$work/broker.log" || fail "the refusal was not logged"
sleep 0.6
grep "event=broker_stats" "$work/broker.log" | tail -1 | grep -Eq "curve_refused=[1-9]" \
  || fail "the refusal was not counted"

# Every daemon stops on SIGTERM and exits 0 (a hang here runs into
# ctest's timeout); none is left in the broker's and fetchers' namespaces
# (the store's still holds PostgreSQL, which cleanup stops). A daemon that
# died early is reported by wait with its status, not by kill.
for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
for pid in "${pids[@]}"; do wait "$pid" || fail "a daemon (pid $pid) exited $? on SIGTERM"; done
pids=()
for ns in gl-broker gl-fetch; do
  [ -z "$(ip netns pids "$ns")" ] || fail "processes left in $ns after SIGTERM"
done
echo "test_hosts: passed (backfill $backfill across three namespaces, CURVE, $link)"
